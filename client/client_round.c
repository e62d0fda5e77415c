#include "client_round.h"

#include <string.h>

#include "neural_linear.h"

fcb_status fcb_client_worker_init(fcb_client_worker *w, const fcb_client_setup *setup,
                                  const fcb_preference_setup *pref, int capacity)
{
    memset(w, 0, sizeof *w);
    fcb_status st = fcb_client_buffers_init(&w->buffers, setup, capacity);
    if (st == FCB_OK && pref) {
        st = fcb_preference_buffers_init(&w->preference, setup, pref, capacity);
        w->has_preference = st == FCB_OK;
    }
    if (st == FCB_OK && fcb_policy_is_linear(setup->policy.kind)) {
        st = fcb_linposterior_init(&w->posterior, setup->model->config.num_actions,
                                   fcb_linear_phi_dim(setup->model), setup->policy.diagonal);
        w->has_posterior = st == FCB_OK;
    }
    if (st != FCB_OK)
        fcb_client_worker_free(w);
    return st;
}

void fcb_client_worker_free(fcb_client_worker *w)
{
    fcb_client_buffers_free(&w->buffers);
    if (w->has_preference)
        fcb_preference_buffers_free(&w->preference);
    if (w->has_posterior)
        fcb_linposterior_free(&w->posterior);
    memset(w, 0, sizeof *w);
}

/* Pairs shown from the deployed model's softmax at the stage's temperature,
 * the user's preferences from the source, then local training against the
 * reference. The round's reward is the mean true utility of the shown
 * actions. */
static fcb_status preference_round(const fcb_client_setup *setup, const fcb_preference_setup *pref,
                                   fcb_client_worker *w, const fcb_round_models *models,
                                   const fcb_data_source *source, const fcb_round_contexts *in, int client,
                                   int round, float *delta, fcb_client_result *result)
{
    if (!source->compare || !w->has_preference)
        return fcb_fail(FCB_ERR_STATE, "client %d round %d: a preference round needs pairwise feedback", client,
                        round + 1);
    const fcb_model *m = setup->model;
    fcb_client_buffers *b = &w->buffers;
    int n = in->n, k = m->config.num_actions;
    fcb_policy_config policy;
    fcb_policy_config_default(&policy, FCB_POLICY_SOFTMAX);
    policy.temperature = (float)pref->loss.temperature;
    fcb_status st = fcb_model_forward(m, models->deployed, in->x, n, &b->workspace, b->scores);
    for (int i = 0; st == FCB_OK && i < n; i++)
        st = fcb_policy_probs(&policy, b->scores + (size_t)i * k, k, b->probs + (size_t)i * k);
    fcb_rng rng;
    fcb_rng_init(&rng, setup->seed, FCB_STREAM_PAIRWISE, (uint32_t)client, (uint32_t)round);
    double shown = 0.0;
    if (st == FCB_OK)
        st = source->compare(source->context, b->probs, n, k, &rng, w->preference.winners, w->preference.losers,
                             &shown);
    if (st != FCB_OK)
        return fcb_fail_context(st, "client %d round %d", client, round + 1);
    st = fcb_client_preference_round(setup, pref, b, &w->preference, client, round, models->current,
                                     models->reference, in->x, n, delta, result);
    result->reward_sum = shown;
    result->true_reward_sum = shown;
    return st;
}

fcb_status fcb_client_round_run(const fcb_client_setup *setup, const fcb_preference_setup *pref,
                                fcb_client_worker *w, const fcb_round_models *models,
                                const fcb_data_source *source, int client, int round, fcb_update_buffer *update,
                                fcb_client_result *result, int *no_data)
{
    memset(result, 0, sizeof *result);
    *no_data = 0;
    fcb_round_contexts in;
    memset(&in, 0, sizeof in);
    fcb_status st = source->contexts(source->context, client, round, &in);
    if (st != FCB_OK)
        return fcb_fail_context(st, "client %d round %d", client, round + 1);
    if (in.n == 0) {
        *no_data = 1;
        return FCB_OK;
    }
    if (models->preference_round)
        return preference_round(setup, pref, w, models, source, &in, client, round, update->delta, result);
    if (update->stats)
        return fcb_client_linear_round(setup, &w->buffers, client, round, &w->posterior, models->base_params, &in,
                                       source, update->stats, result);
    return fcb_client_round(setup, &w->buffers, client, round, models->deployed, models->current, &in, source,
                            update->delta, result);
}
