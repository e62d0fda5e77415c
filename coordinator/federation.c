#include "federation.h"

#include <stdlib.h>
#include <string.h>

#include "client_sampling.h"
#include "log.h"

fcb_status fcb_federation_init(fcb_federation *f, const fcb_federation_config *config,
                               const fcb_evaluator *evaluator)
{
    memset(f, 0, sizeof *f);
    f->config = *config;
    f->evaluator = evaluator;
    f->capacity = config->clients_per_round;
    if (config->num_clients < 1 || f->capacity < 1 || f->capacity > config->num_clients)
        return fcb_fail(FCB_ERR_CONFIG, "clients: %d per round of %d clients", f->capacity, config->num_clients);
    if (config->linear && config->preference_rounds > 0)
        return fcb_fail(FCB_ERR_CONFIG, "preference.rounds = %d: the preference stage trains score-based models, "
                                        "not linear bandits", config->preference_rounds);
    f->config.model.capacity = f->capacity;
    f->config.model.deploy_every = config->deploy_every;
    fcb_status st = config->linear ? fcb_linear_model_create(&f->config.model, &f->gm)
                                   : fcb_score_model_create(&f->config.model, &f->gm);
    if (st != FCB_OK)
        return st;
    size_t p = config->model.model->num_params;
    f->slots = calloc((size_t)f->capacity, sizeof(fcb_slot));
    f->sample_scratch = calloc((size_t)config->num_clients, sizeof(int));
    f->selected = calloc((size_t)f->capacity, sizeof(int));
    f->merge_slots = calloc((size_t)f->capacity, sizeof(int));
    f->merge_clients = calloc((size_t)f->capacity, sizeof(int));
    f->merge_examples = calloc((size_t)f->capacity, sizeof(double));
    if (config->preference_rounds > 0)
        f->reference = calloc(p, sizeof(float)); /* written to checkpoints before the stage begins */
    if (!f->slots || !f->sample_scratch || !f->selected || !f->merge_slots || !f->merge_clients ||
        !f->merge_examples || (config->preference_rounds > 0 && !f->reference))
        return fcb_fail(FCB_ERR_NOMEM, "federation: out of memory for %d clients", config->num_clients);
    return FCB_OK;
}

void fcb_federation_free(fcb_federation *f)
{
    fcb_global_model_destroy(f->gm);
    free(f->slots);
    free(f->sample_scratch);
    free(f->selected);
    free(f->merge_slots);
    free(f->merge_clients);
    free(f->merge_examples);
    free(f->reference);
    memset(f, 0, sizeof *f);
}

int fcb_federation_total_rounds(const fcb_federation *f)
{
    return f->config.rounds + f->config.preference_rounds;
}

int fcb_federation_is_preference_round(const fcb_federation *f, int round)
{
    return f->config.preference_rounds > 0 && round >= f->config.rounds;
}

static void open_slots(fcb_federation *f, int round, int attempt, int count)
{
    f->round = round;
    f->attempt = attempt;
    f->num_slots = count;
    for (int s = 0; s < count; s++) {
        memset(&f->slots[s], 0, sizeof(fcb_slot));
        f->slots[s].client = f->selected[s];
        f->slots[s].state = FCB_SLOT_PENDING;
    }
    if (f->reference && round == f->config.rounds && attempt == 0) {
        fcb_model_view current = f->gm->ops->current(f->gm);
        memcpy(f->reference, current.params, current.count * sizeof(float));
    }
}

/* A re-sample after a failed quorum draws from a different seed; attempt 0
 * is the sample of `fedcb simulate`. */
static uint64_t sample_seed(const fcb_federation *f, int attempt)
{
    return f->config.seed + (uint64_t)attempt * 0x9E3779B97F4A7C15ull;
}

fcb_status fcb_federation_sample(fcb_federation *f, int round, int attempt)
{
    fcb_status st = fcb_sample_clients(sample_seed(f, attempt), round, f->config.num_clients, f->capacity,
                                       f->sample_scratch, f->selected);
    if (st != FCB_OK)
        return st;
    open_slots(f, round, attempt, f->capacity);
    return FCB_OK;
}

fcb_status fcb_federation_sample_among(fcb_federation *f, int round, int attempt, const int *among, int n)
{
    int count = n < f->capacity ? n : f->capacity;
    if (count < 1)
        return fcb_fail(FCB_ERR_STATE, "round %d: no client to sample", round + 1);
    fcb_status st = fcb_sample_clients(sample_seed(f, attempt), round, n, count, f->sample_scratch, f->selected);
    if (st != FCB_OK)
        return st;
    for (int s = 0; s < count; s++)
        f->selected[s] = among[f->selected[s]];
    open_slots(f, round, attempt, count);
    return FCB_OK;
}

fcb_update_buffer fcb_federation_slot_update(fcb_federation *f, int slot)
{
    return f->gm->ops->slot_update(f->gm, slot);
}

/* Counts one slot into the totals; returns 1 when its update is to be merged. */
static int count_slot(const fcb_federation *f, const fcb_slot *sl, fcb_round_totals *t)
{
    t->sampled++;
    if (sl->state == FCB_SLOT_UNAVAILABLE) {
        t->unavailable++;
        return 0;
    }
    t->bytes_down += (double)f->gm->download_bytes;
    if (sl->state == FCB_SLOT_PENDING) {
        t->missing++;
        return 0;
    }
    if (sl->state == FCB_SLOT_REJECTED) {
        t->rejected++;
        return 0;
    }
    if (sl->state == FCB_SLOT_NO_DATA) {
        t->no_data++;
        return 0;
    }
    t->participants++;
    t->examples += sl->result.examples;
    t->reward_sum += sl->result.reward_sum;
    t->true_reward_sum += sl->result.true_reward_sum;
    t->propensity_sum += sl->result.propensity_sum;
    t->loss_sum += sl->result.loss_sum;
    t->margin_sum += sl->result.margin_sum;
    t->steps += sl->result.steps;
    if (sl->state == FCB_SLOT_DROPPED) {
        t->dropped++;
        return 0;
    }
    t->bytes_up += (double)f->gm->model_bytes;
    if (sl->state == FCB_SLOT_STALE) {
        t->stale++;
        return 0;
    }
    return 1;
}

fcb_status fcb_federation_privacy(const fcb_federation *f, fcb_privacy_report *report)
{
    const fcb_aggregation_rule *rule = f->gm->rule;
    if (!rule || !rule->ops->privacy)
        return fcb_fail(FCB_ERR_STATE, "privacy: this run aggregates without DP");
    return rule->ops->privacy(rule, report);
}

fcb_status fcb_federation_aggregate(fcb_federation *f, fcb_round_totals *t)
{
    memset(t, 0, sizeof *t);
    int count = 0;
    for (int s = 0; s < f->num_slots; s++) {
        fcb_slot *sl = &f->slots[s];
        sl->aggregated = 0;
        if (sl->state == FCB_SLOT_FAILED)
            return fcb_fail(sl->status, "%s", sl->error);
        if (!count_slot(f, sl, t))
            continue;
        if (f->gm->ops->check(f->gm, s, sl->client, sl->result.examples) != FCB_OK) {
            fcb_log("coordinator", "round %d: rejected update: %s", f->round + 1, fcb_last_error());
            t->rejected++;
            continue;
        }
        f->merge_slots[count] = s;
        f->merge_clients[count] = sl->client;
        f->merge_examples[count] = sl->result.examples;
        count++;
    }
    t->updates = count;
    const fcb_aggregation_rule *rule = f->gm->rule;
    fcb_privacy_report privacy;
    if (rule && rule->ops->privacy && rule->ops->privacy(rule, &privacy) == FCB_OK)
        t->clip_norm = privacy.clip_norm;
    if (count == 0)
        return FCB_OK;
    f->current_version++;
    fcb_merge_report report = {0, t->clip_norm};
    fcb_status st = f->gm->ops->merge(f->gm, f->merge_slots, f->merge_clients, f->merge_examples, count, f->round,
                                      &report);
    t->clipped = report.clipped;
    for (int i = 0; st == FCB_OK && i < count; i++)
        f->slots[f->merge_slots[i]].aggregated = 1;
    return st;
}

fcb_status fcb_federation_deploy(fcb_federation *f)
{
    f->deployed_version = f->current_version;
    return f->gm->ops->deploy(f->gm);
}

fcb_status fcb_federation_digest(const fcb_federation *f, char hex[65])
{
    return f->gm->ops->digest(f->gm, hex);
}

enum { FEDERATION_SECTION_VERSION = 1, PREFERENCE_SECTION_VERSION = 1 };

fcb_status fcb_federation_save(const fcb_federation *f, fcb_ckpt_writer *w)
{
    fcb_ckpt_begin(w, "federation", FEDERATION_SECTION_VERSION);
    fcb_ckpt_put_i64(w, f->current_version);
    fcb_ckpt_put_i64(w, f->deployed_version);
    fcb_status st = fcb_ckpt_end(w);
    if (st == FCB_OK)
        st = f->gm->ops->save(f->gm, w);
    if (st == FCB_OK && f->reference) {
        size_t p = f->config.model.model->num_params;
        fcb_ckpt_begin(w, "preference", PREFERENCE_SECTION_VERSION);
        fcb_ckpt_put_i64(w, (int64_t)p);
        fcb_ckpt_put_f32s(w, f->reference, p);
        st = fcb_ckpt_end(w);
    }
    return st;
}

static fcb_status load_reference(fcb_federation *f, fcb_ckpt_reader *r)
{
    size_t p = f->config.model.model->num_params;
    int64_t n = 0;
    fcb_status st = fcb_ckpt_open_section(r, "preference", PREFERENCE_SECTION_VERSION);
    if (st == FCB_OK)
        st = fcb_ckpt_get_i64(r, &n);
    if (st == FCB_OK && n != (int64_t)p)
        st = fcb_ckpt_fail(r, "a reference of %lld parameters, this model has %zu", (long long)n, p);
    if (st == FCB_OK)
        st = fcb_ckpt_get_f32s(r, f->reference, p);
    if (st == FCB_OK)
        st = fcb_ckpt_close_section(r);
    return st;
}

fcb_status fcb_federation_load(fcb_federation *f, fcb_ckpt_reader *r)
{
    int64_t current = 0, deployed = 0;
    fcb_status st = fcb_ckpt_open_section(r, "federation", FEDERATION_SECTION_VERSION);
    if (st == FCB_OK)
        st = fcb_ckpt_get_i64(r, &current);
    if (st == FCB_OK)
        st = fcb_ckpt_get_i64(r, &deployed);
    if (st == FCB_OK)
        st = fcb_ckpt_close_section(r);
    if (st == FCB_OK && (current < 0 || deployed < 0 || deployed > current))
        st = fcb_ckpt_fail(r, "model versions %lld (current) and %lld (deployed) are inconsistent",
                           (long long)current, (long long)deployed);
    if (st == FCB_OK)
        st = f->gm->ops->load(f->gm, r);
    if (st == FCB_OK && f->reference)
        st = load_reference(f, r);
    if (st != FCB_OK)
        return st;
    f->current_version = current;
    f->deployed_version = deployed;
    return FCB_OK;
}
