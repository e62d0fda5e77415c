#include "preference_step.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

fcb_status fcb_preference_buffers_init(fcb_preference_buffers *pb, const fcb_client_setup *setup,
                                       const fcb_preference_setup *pref, int capacity)
{
    memset(pb, 0, sizeof *pb);
    size_t k = (size_t)setup->model->config.num_actions;
    size_t batch = (size_t)setup->batch_size;
    size_t m = (size_t)(pref->num_reward_models > 0 ? pref->num_reward_models : 1);
    pb->capacity = capacity;
    pb->num_reward_models = pref->num_reward_models;
    pb->ref_scores = calloc((size_t)capacity * k, sizeof(float));
    pb->reward_scores = calloc(m * (size_t)capacity * k, sizeof(float));
    pb->batch_ref = calloc(batch * k, sizeof(float));
    pb->batch_reward = calloc(m * batch * k, sizeof(float));
    pb->winners = calloc((size_t)capacity, sizeof(int));
    pb->losers = calloc((size_t)capacity, sizeof(int));
    pb->batch_winners = calloc(batch, sizeof(int));
    pb->batch_losers = calloc(batch, sizeof(int));
    if (!pb->ref_scores || !pb->reward_scores || !pb->batch_ref || !pb->batch_reward || !pb->winners ||
        !pb->losers || !pb->batch_winners || !pb->batch_losers) {
        fcb_preference_buffers_free(pb);
        return fcb_fail(FCB_ERR_NOMEM, "preference buffers: out of memory for %d rows", capacity);
    }
    fcb_sgd_config sgd = setup->sgd;
    sgd.learning_rate = pref->learning_rate;
    fcb_status st = fcb_sgd_init(&pb->optimizer, &sgd, setup->model->num_params);
    if (st != FCB_OK)
        fcb_preference_buffers_free(pb);
    return st;
}

void fcb_preference_buffers_free(fcb_preference_buffers *pb)
{
    free(pb->ref_scores);
    free(pb->reward_scores);
    free(pb->batch_ref);
    free(pb->batch_reward);
    free(pb->winners);
    free(pb->losers);
    free(pb->batch_winners);
    free(pb->batch_losers);
    fcb_sgd_free(&pb->optimizer);
    memset(pb, 0, sizeof *pb);
}

/* Scores that stay fixed through the local epochs: the reference's and
 * the reward models' (scaled). */
static fcb_status fixed_scores(const fcb_client_setup *setup, const fcb_preference_setup *pref,
                               fcb_client_buffers *b, fcb_preference_buffers *pb, const float *reference,
                               const float *x, int n)
{
    const fcb_model *m = setup->model;
    size_t k = (size_t)m->config.num_actions;
    fcb_status st = fcb_model_forward(m, reference, x, n, &b->workspace, pb->ref_scores);
    if (pref->loss.kind != FCB_PREFERENCE_DISTILL)
        return st;
    for (int r = 0; st == FCB_OK && r < pref->num_reward_models; r++) {
        float *out = pb->reward_scores + (size_t)r * n * k;
        st = fcb_model_forward(m, pref->reward_params + (size_t)r * m->num_params, x, n, &b->workspace, out);
        if (st == FCB_OK)
            cblas_sscal((int)((size_t)n * k), pref->reward_scale, out, 1);
    }
    return st;
}

typedef struct {
    const fcb_preference_setup *pref;
    fcb_preference_buffers *pb;
    int n;
    int k;
    double *margin_sum;
} preference_batch;

/* The preference loss of one mini-batch against the reference's (and the
 * reward models') fixed scores; the last epoch's margins are the round's. */
static fcb_status preference_batch_loss(void *context, int epoch, const int *rows, int count, const float *scores,
                                        float *dscores, double *loss)
{
    preference_batch *c = context;
    const fcb_preference_setup *pref = c->pref;
    fcb_preference_buffers *pb = c->pb;
    size_t k = (size_t)c->k;
    for (int i = 0; i < count; i++) {
        int r = rows[i];
        memcpy(pb->batch_ref + (size_t)i * k, pb->ref_scores + (size_t)r * k, k * sizeof(float));
        pb->batch_winners[i] = pb->winners[r];
        pb->batch_losers[i] = pb->losers[r];
        for (int m = 0; pref->loss.kind == FCB_PREFERENCE_DISTILL && m < pref->num_reward_models; m++)
            memcpy(pb->batch_reward + ((size_t)m * count + i) * k, pb->reward_scores + ((size_t)m * c->n + r) * k,
                   k * sizeof(float));
    }
    fcb_preference_batch batch = {count, c->k, scores, pb->batch_ref, pb->batch_winners, pb->batch_losers,
                                  pref->num_reward_models, pb->batch_reward};
    double margin = 0.0;
    fcb_status st = fcb_preference_loss(&pref->loss, &batch, dscores, NULL, &margin, loss);
    if (st == FCB_OK && epoch == pref->local_epochs - 1)
        *c->margin_sum += margin * count;
    return st;
}

fcb_status fcb_client_preference_round(const fcb_client_setup *setup, const fcb_preference_setup *pref,
                                       fcb_client_buffers *b, fcb_preference_buffers *pb, int client_id,
                                       int round, const float *current, const float *reference,
                                       const float *x, int n, float *delta, fcb_client_result *result)
{
    memset(result, 0, sizeof *result);
    const fcb_model *m = setup->model;
    if (n < 1 || n > pb->capacity || n > b->capacity)
        return fcb_fail(FCB_ERR_ARG, "client %d: %d pairs this round, buffers hold 1..%d", client_id, n,
                        pb->capacity);
    fcb_status st = fixed_scores(setup, pref, b, pb, reference, x, n);
    if (st != FCB_OK)
        return fcb_fail_context(st, "client %d round %d", client_id, round + 1);
    memcpy(b->local_params, current, m->num_params * sizeof(float));
    fcb_rng rng;
    fcb_rng_init(&rng, setup->seed, FCB_STREAM_SHUFFLE, (uint32_t)client_id, (uint32_t)round);
    fcb_sgd_reset(&pb->optimizer);
    preference_batch context = {pref, pb, n, m->config.num_actions, &result->margin_sum};
    fcb_train_job job = {m, pref->local_epochs, setup->batch_size, x, NULL, n, preference_batch_loss, &context};
    st = fcb_local_train(&job, &b->train, &pb->optimizer, &rng, b->local_params, &result->loss_sum,
                         &result->steps);
    if (st != FCB_OK)
        return fcb_fail_context(st, "client %d round %d", client_id, round + 1);
    result->examples = n;
    memcpy(delta, b->local_params, m->num_params * sizeof(float));
    cblas_saxpy((int)m->num_params, -1.0f, current, 1, delta, 1);
    return FCB_OK;
}
