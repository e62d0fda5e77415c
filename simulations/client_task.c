#include "client_task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defense_config.h"

/* The set of malicious clients, fixed for the run (malicious.h). */
static fcb_status choose_attackers(fcb_client_worker *w, const fcb_config *c)
{
    fcb_status st = fcb_malicious_from_config(c, &w->attack);
    if (st != FCB_OK || w->attack.kind == FCB_ATTACK_NONE)
        return st;
    w->is_malicious = malloc((size_t)c->num_clients);
    if (!w->is_malicious)
        return fcb_fail(FCB_ERR_NOMEM, "malicious clients: out of memory");
    return fcb_malicious_choose(&w->attack, c->seed, c->num_clients, w->is_malicious);
}

fcb_status fcb_client_worker_init(fcb_client_worker *w, const fcb_client_setup *setup,
                                  const fcb_preference_stage *preference, const fcb_world *world,
                                  const fcb_config *config)
{
    memset(w, 0, sizeof *w);
    fcb_status st = fcb_client_buffers_init(&w->buffers, setup, config->examples_per_round);
    if (st == FCB_OK && preference->rounds > 0) {
        st = fcb_preference_buffers_init(&w->preference, setup, &preference->setup, config->examples_per_round);
        w->utilities = malloc((size_t)config->examples_per_round * world->model.config.num_actions * sizeof(float));
        if (st == FCB_OK && !w->utilities)
            st = fcb_fail(FCB_ERR_NOMEM, "client worker: out of memory");
    }
    if (st == FCB_OK)
        st = fcb_round_data_init(&w->data, world, config->examples_per_round);
    if (st == FCB_OK)
        st = choose_attackers(w, config);
    if (st == FCB_OK && fcb_policy_is_linear(setup->policy.kind))
        st = fcb_linposterior_init(&w->posterior, world->model.config.num_actions, fcb_linear_phi_dim(world),
                                   setup->policy.diagonal);
    return st;
}

void fcb_client_worker_free(fcb_client_worker *w)
{
    fcb_client_buffers_free(&w->buffers);
    fcb_preference_buffers_free(&w->preference);
    free(w->utilities);
    free(w->is_malicious);
    fcb_round_data_free(&w->data);
    fcb_linposterior_free(&w->posterior);
}

/* A preference round: pairs shown from the deployed model's policy, the
 * simulated user's preferences, then local training against the reference.
 * The round's reward is the mean true utility of the shown actions. */
static fcb_status preference_round(const fcb_client_task_inputs *in, fcb_client_worker *w, int round, fcb_slot *sl,
                                   float *delta)
{
    const fcb_preference_stage *ps = in->preference;
    const fcb_model *m = in->setup->model;
    fcb_client_buffers *b = &w->buffers;
    int n = w->data.n, k = m->config.num_actions;
    fcb_status st = fcb_model_forward(m, in->deployed, w->data.x, n, &b->workspace, b->scores);
    for (int i = 0; st == FCB_OK && i < n; i++)
        st = fcb_policy_probs(&ps->policy, b->scores + (size_t)i * k, k, b->probs + (size_t)i * k);
    fcb_feedback feedback = fcb_round_data_feedback(&w->data);
    for (int i = 0; i < n; i++)
        for (int a = 0; a < k; a++)
            w->utilities[(size_t)i * k + a] = feedback.true_reward(feedback.context, i, a);
    fcb_rng rng;
    fcb_rng_init(&rng, in->config->seed, FCB_STREAM_PAIRWISE, (uint32_t)sl->client, (uint32_t)round);
    if (st == FCB_OK)
        st = fcb_pairwise_feedback(&ps->feedback, b->probs, w->utilities, n, k, &rng, w->preference.winners,
                                   w->preference.losers);
    if (st != FCB_OK)
        return fcb_fail_context(st, "client %d round %d", sl->client, round + 1);
    st = fcb_client_preference_round(in->setup, &ps->setup, b, &w->preference, sl->client, round, in->current,
                                     ps->reference, w->data.x, n, delta, &sl->result);
    double shown = 0.0;
    for (int i = 0; i < n; i++)
        shown += 0.5 * (w->utilities[(size_t)i * k + w->preference.winners[i]] +
                        w->utilities[(size_t)i * k + w->preference.losers[i]]);
    sl->result.reward_sum = shown;
    sl->result.true_reward_sum = shown;
    return st;
}

/* A malicious client replaces its honest delta by the configured attack. */
static fcb_status attack(const fcb_client_worker *w, const fcb_config *c, int client, int round, float *delta,
                         size_t dim)
{
    if (!w->is_malicious || !w->is_malicious[client])
        return FCB_OK;
    return fcb_malicious_apply(&w->attack, c->seed, client, round, delta, dim);
}

void fcb_client_task_run(const fcb_client_task_inputs *in, fcb_client_worker *w, int round, fcb_slot *sl,
                         float *delta, fcb_linstats *stats)
{
    const fcb_config *c = in->config;
    /* Availability draws come first and are always made, so they never
     * depend on what else happens. */
    fcb_rng availability;
    fcb_rng_init(&availability, c->seed, FCB_STREAM_AVAILABILITY, (uint32_t)sl->client, (uint32_t)round);
    double u_participate = fcb_rng_uniform(&availability);
    double u_dropout = fcb_rng_uniform(&availability);
    double u_straggler = fcb_rng_uniform(&availability);
    if (u_participate >= c->participation) {
        sl->state = FCB_SLOT_UNAVAILABLE;
        return;
    }
    fcb_status st = fcb_round_data_fill(&w->data, in->world, c, sl->client, round);
    if (st == FCB_OK && w->data.n == 0) {
        sl->state = FCB_SLOT_NO_DATA;
        return;
    }
    fcb_feedback feedback = fcb_round_data_feedback(&w->data);
    if (st == FCB_OK && in->preference && fcb_preference_stage_owns(in->preference, round))
        st = preference_round(in, w, round, sl, delta);
    else if (st == FCB_OK && fcb_policy_is_linear(in->setup->policy.kind))
        st = fcb_client_linear_round(in->setup, &w->buffers, sl->client, round, &w->posterior,
                                     in->world->initial_params, w->data.x, w->data.n, &feedback, stats,
                                     &sl->result);
    else if (st == FCB_OK)
        st = fcb_client_round(in->setup, &w->buffers, sl->client, round, in->deployed, in->current, w->data.x,
                              w->data.n, &feedback, delta, &sl->result);
    if (st == FCB_OK && !fcb_policy_is_linear(in->setup->policy.kind))
        st = attack(w, c, sl->client, round, delta, in->setup->model->num_params);
    if (st != FCB_OK) {
        sl->state = FCB_SLOT_FAILED;
        sl->status = st;
        snprintf(sl->error, sizeof sl->error, "%s", fcb_last_error());
        return;
    }
    sl->straggler = u_dropout >= c->dropout && u_straggler < c->straggler_fraction;
    if (u_dropout < c->dropout)
        sl->state = FCB_SLOT_DROPPED;
    else if (sl->straggler && c->straggler_delay > c->round_deadline)
        sl->state = FCB_SLOT_STALE;
    else
        sl->state = FCB_SLOT_DONE;
}
