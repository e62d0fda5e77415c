#include "checkpoint_fixture.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "run_plan.h"

static const char *const KIND_SETTINGS[CKPT_NUM_KINDS][5] = {
    {"server.optimizer=adam", "dp.enabled=true", "dp.adaptive=true", "dp.clipped_count_stddev=1", NULL},
    {"policy.kind=linucb", NULL},
    {"preference.rounds=2", "run.rounds=2", NULL},
    {"policy.kind=linucb", "policy.forgetting=window", "policy.window=2", NULL},
    {"policy.kind=thompson", "policy.forgetting=discount", "policy.discount=0.9", NULL},
};

static const char *const COMMON_SETTINGS[] = {
    "run.wall_clock=false",      "data.synthetic_train=200",   "data.synthetic_test=50",
    "data.synthetic_dim=4",      "data.synthetic_classes=3",   "clients.num_clients=5",
    "clients.clients_per_round=3", "clients.examples_per_round=10", "run.rounds=4",
    "run.eval_every=1",          NULL};

fcb_status ckpt_fixture_make(int kind, ckpt_fixture *f)
{
    memset(f, 0, sizeof *f);
    fcb_config *c = &f->config;
    fcb_config_default(c);
    fcb_status st = FCB_OK;
    for (int i = 0; COMMON_SETTINGS[i] && st == FCB_OK; i++)
        st = fcb_config_set(c, COMMON_SETTINGS[i]);
    for (int i = 0; KIND_SETTINGS[kind][i] && st == FCB_OK; i++)
        st = fcb_config_set(c, KIND_SETTINGS[kind][i]);
    if (st == FCB_OK)
        st = fcb_config_validate(c);
    if (st == FCB_OK)
        st = fcb_world_build(&f->world, c);
    if (st != FCB_OK)
        return st;
    f->sim = (fcb_sim_evaluator){&f->world, c->seed, c->pref_temperature};
    f->evaluator = fcb_sim_evaluator_make(&f->sim);
    st = fcb_plan_federation(c, &f->world.model, f->world.initial_params, &f->fc);
    if (st != FCB_OK) {
        fcb_world_free(&f->world);
        return st;
    }
    fcb_config_hash(c, f->hash);
    return FCB_OK;
}

void ckpt_fixture_free(ckpt_fixture *f)
{
    fcb_world_free(&f->world);
}

/* Client c's update in round r, where the network would put it: a score
 * delta, or linear statistics (positive definite, diagonally dominant). */
static fcb_status fill_slot(fcb_federation *fed, int s, int round)
{
    fcb_slot *sl = &fed->slots[s];
    int c = sl->client;
    fcb_update_buffer b = fcb_federation_slot_update(fed, s);
    for (size_t k = 0; b.delta && k < fed->config.model.model->num_params; k++)
        b.delta[k] = (float)(0.3 * sin(1.1 * c + 0.53 * (double)k + 0.7 * round));
    if (b.stats) {
        fcb_linstats *st = b.stats;
        int K = st->num_actions, d = st->dim, cols = st->diagonal ? 1 : d;
        size_t n = fcb_linstats_flat_size(st), na = (size_t)K * d * cols;
        double *flat = calloc(n, sizeof(double));
        if (!flat)
            return fcb_fail(FCB_ERR_NOMEM, "fixture: out of memory");
        for (size_t k = 0; k < na; k++)
            flat[k] = st->diagonal || k / d % d == k % d ? 2.0 + 0.1 * c : 0.01 * (c + 1) * (round + 1);
        for (size_t k = na; k < n; k++)
            flat[k] = k < n - (size_t)K ? sin(0.9 * c + 0.41 * (double)k + round) : 1 + c;
        fcb_status status = fcb_linstats_from_flat(st, flat, n);
        free(flat);
        if (status != FCB_OK)
            return status;
    }
    sl->result = (fcb_client_result){.examples = 10 + c, .reward_sum = 4.0 + c, .true_reward_sum = 5.0, .steps = 1};
    sl->state = FCB_SLOT_DONE;
    return FCB_OK;
}

fcb_status ckpt_fixture_save_rounds(const ckpt_fixture *f, const char *dir, int rounds)
{
    fcb_federation fed;
    fcb_run_tally tally;
    fcb_status st = fcb_federation_init(&fed, &f->fc, &f->evaluator);
    if (st != FCB_OK)
        return st;
    fcb_run_tally_init(&tally);
    for (int r = 0; r < rounds && st == FCB_OK; r++) {
        st = fcb_federation_sample(&fed, r, 0);
        for (int s = 0; st == FCB_OK && s < fed.num_slots; s++)
            st = fill_slot(&fed, s, r);
        fcb_round_report report;
        if (st == FCB_OK)
            st = fcb_round_close(&fed, &tally, &report);
        if (st == FCB_OK)
            st = fcb_checkpoint_save(dir, f->hash, &fed, &tally);
    }
    fcb_federation_free(&fed);
    return st;
}
