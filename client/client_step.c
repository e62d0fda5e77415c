#include "client_step.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "neural_linear.h"
#include "vec.h"

static void *alloc_array(size_t count, size_t size, int *failed)
{
    void *p = calloc(count ? count : 1, size);
    if (!p)
        *failed = 1;
    return p;
}

fcb_status fcb_client_buffers_init(fcb_client_buffers *b, const fcb_client_setup *setup, int capacity)
{
    memset(b, 0, sizeof *b);
    if (capacity < 1 || setup->batch_size < 1)
        return fcb_fail(FCB_ERR_ARG, "client buffers: capacity %d and batch size %d must be >= 1",
                        capacity, setup->batch_size);
    const fcb_model *m = setup->model;
    size_t k = (size_t)m->config.num_actions;
    size_t batch = (size_t)setup->batch_size;
    size_t phi_dim = (size_t)fcb_model_feature_dim(m) + 1;
    b->capacity = capacity;
    fcb_status st = fcb_workspace_init(&b->workspace, m, capacity);
    if (st != FCB_OK)
        return st;
    int failed = 0;
    b->scores = alloc_array((size_t)capacity * k, sizeof(float), &failed);
    b->probs = alloc_array((size_t)capacity * k, sizeof(float), &failed);
    b->targets = alloc_array(batch * k, sizeof(float), &failed);
    b->reward_model = alloc_array((size_t)capacity * k, sizeof(float), &failed);
    b->local_params = alloc_array(m->num_params, sizeof(float), &failed);
    b->phi = alloc_array((size_t)capacity * phi_dim, sizeof(float), &failed);
    b->actions = alloc_array((size_t)capacity, sizeof(int), &failed);
    b->propensities = alloc_array((size_t)capacity, sizeof(float), &failed);
    b->rewards = alloc_array((size_t)capacity, sizeof(float), &failed);
    b->weights = alloc_array((size_t)capacity, sizeof(float), &failed);
    b->batch_actions = alloc_array(batch, sizeof(int), &failed);
    b->batch_rewards = alloc_array(batch, sizeof(float), &failed);
    b->batch_weights = alloc_array(batch, sizeof(float), &failed);
    b->batch_propensities = alloc_array(batch, sizeof(float), &failed);
    b->batch_labels = alloc_array(batch, sizeof(int), &failed);
    if (failed) {
        fcb_client_buffers_free(b);
        return fcb_fail(FCB_ERR_NOMEM, "client buffers: out of memory for %d rows", capacity);
    }
    st = fcb_train_buffers_init(&b->train, m, setup->batch_size, capacity);
    if (st == FCB_OK)
        st = fcb_sgd_init(&b->optimizer, &setup->sgd, m->num_params);
    if (st != FCB_OK) {
        fcb_client_buffers_free(b);
        return st;
    }
    return FCB_OK;
}

void fcb_client_buffers_free(fcb_client_buffers *b)
{
    fcb_workspace_free(&b->workspace);
    free(b->scores);
    free(b->probs);
    free(b->targets);
    free(b->reward_model);
    free(b->local_params);
    free(b->phi);
    free(b->actions);
    free(b->propensities);
    free(b->rewards);
    free(b->weights);
    free(b->batch_actions);
    free(b->batch_rewards);
    free(b->batch_weights);
    free(b->batch_propensities);
    free(b->batch_labels);
    fcb_train_buffers_free(&b->train);
    fcb_sgd_free(&b->optimizer);
    memset(b, 0, sizeof *b);
}

static fcb_status check_rows(const fcb_client_buffers *b, int n, int client_id)
{
    if (n < 1 || n > b->capacity)
        return fcb_fail(FCB_ERR_ARG, "client %d: %d rows this round, buffers hold 1..%d", client_id, n,
                        b->capacity);
    return FCB_OK;
}

/* Feedback for every decision taken this round (or the logged rewards of
 * a replayed log), the importance weights and the round totals. */
static void observe_all(const fcb_client_setup *setup, const fcb_round_contexts *in, const fcb_data_source *source,
                        fcb_client_buffers *b, fcb_rng *rng, fcb_client_result *result)
{
    /* Epsilon-greedy's smallest propensity is epsilon / K: scaled by it, no
     * weight exceeds 1 (the reference implementation's normalisation). */
    float scale = setup->scale_weights
                      ? setup->policy.epsilon / (float)setup->model->config.num_actions
                      : 1.0f;
    for (int i = 0; i < in->n; i++) {
        int a = b->actions[i];
        b->rewards[i] = in->actions ? in->rewards[i] : source->feedback(source->context, i, a, rng);
        result->reward_sum += b->rewards[i];
        if (source->true_reward)
            result->true_reward_sum += source->true_reward(source->context, i, a);
        result->propensity_sum += b->propensities[i];
        float w = scale / b->propensities[i];
        b->weights[i] = setup->max_weight > 0.0f && !(w <= setup->max_weight) ? setup->max_weight : w;
    }
    result->examples = in->n;
}

static void take_logged_decisions(const fcb_round_contexts *in, fcb_client_buffers *b)
{
    memcpy(b->actions, in->actions, (size_t)in->n * sizeof(int));
    memcpy(b->propensities, in->propensities, (size_t)in->n * sizeof(float));
}

typedef struct {
    const fcb_client_setup *setup;
    fcb_client_buffers *buffers;
    const fcb_data_source *source;
} bandit_batch;

/* The round's loss over one mini-batch: bandit losses on the logged
 * (action, reward, 1/propensity), full-information ones on true rewards. */
static fcb_status bandit_batch_loss(void *context, int epoch, const int *rows, int count, const float *scores,
                                    float *dscores, double *loss)
{
    (void)epoch;
    bandit_batch *bb = context;
    fcb_client_buffers *b = bb->buffers;
    const fcb_data_source *source = bb->source;
    int k = bb->setup->model->config.num_actions;
    for (int i = 0; i < count; i++) {
        b->batch_actions[i] = b->actions[rows[i]];
        b->batch_rewards[i] = b->rewards[rows[i]];
        b->batch_weights[i] = b->weights[rows[i]];
        b->batch_propensities[i] = b->propensities[rows[i]];
        /* max_weight bounds the doubly robust correction's 1/p too. */
        if (bb->setup->max_weight > 0.0f && b->batch_propensities[i] * bb->setup->max_weight < 1.0f)
            b->batch_propensities[i] = 1.0f / bb->setup->max_weight;
    }
    switch (bb->setup->loss) {
    case FCB_LOSS_CHOSEN_SQUARED:
        return fcb_loss_chosen_squared(scores, count, k, b->batch_actions, b->batch_rewards, NULL, dscores, loss);
    case FCB_LOSS_IMPORTANCE_SQUARED:
        return fcb_loss_chosen_squared(scores, count, k, b->batch_actions, b->batch_rewards, b->batch_weights,
                                       dscores, loss);
    case FCB_LOSS_FULL_MSE:
        for (int i = 0; i < count; i++)
            for (int a = 0; a < k; a++)
                b->targets[(size_t)i * k + a] = source->true_reward(source->context, rows[i], a);
        return fcb_loss_full_mse(scores, count, k, b->targets, dscores, loss);
    case FCB_LOSS_DOUBLY_ROBUST: {
        for (int i = 0; i < count; i++)
            memcpy(b->targets + (size_t)i * k, b->reward_model + (size_t)rows[i] * k, (size_t)k * sizeof(float));
        fcb_status st = fcb_loss_dr_targets(b->targets, count, k, b->batch_actions, b->batch_rewards,
                                            b->batch_propensities, b->targets);
        return st == FCB_OK ? fcb_loss_full_mse(scores, count, k, b->targets, dscores, loss) : st;
    }
    case FCB_LOSS_SOFTMAX_XENT:
        for (int i = 0; i < count; i++) {
            for (int a = 0; a < k; a++)
                b->targets[(size_t)i * k + a] = source->true_reward(source->context, rows[i], a);
            b->batch_labels[i] = fcb_argmax(b->targets + (size_t)i * k, k);
        }
        return fcb_loss_softmax_xent(scores, count, k, b->batch_labels, dscores, loss);
    }
    return fcb_fail(FCB_ERR_ARG, "client: unknown loss %d", (int)bb->setup->loss);
}

static fcb_status train_local(const fcb_client_setup *setup, fcb_client_buffers *b, int client_id,
                              int round, const float *x, int n, const fcb_data_source *source,
                              fcb_client_result *result)
{
    fcb_rng rng;
    fcb_rng_init(&rng, setup->seed, FCB_STREAM_SHUFFLE, (uint32_t)client_id, (uint32_t)round);
    fcb_sgd_reset(&b->optimizer);
    bandit_batch context = {setup, b, source};
    fcb_train_job job = {setup->model, setup->local_epochs, setup->batch_size, x, NULL, n, bandit_batch_loss,
                         &context};
    fcb_status st = fcb_local_train(&job, &b->train, &b->optimizer, &rng, b->local_params, &result->loss_sum,
                                    &result->steps);
    if (st != FCB_OK)
        return fcb_fail_context(st, "client %d round %d", client_id, round + 1);
    return FCB_OK;
}

/* The deployed model's policy over the round's contexts (scores in b). */
static fcb_status decide(const fcb_client_setup *setup, fcb_client_buffers *b, int client_id, int round,
                         const float *deployed, const fcb_round_contexts *in)
{
    const fcb_model *m = setup->model;
    fcb_status st = fcb_model_forward(m, deployed, in->x, in->n, &b->workspace, b->scores);
    if (st != FCB_OK)
        return st;
    fcb_rng policy_rng;
    fcb_rng_init(&policy_rng, setup->seed, FCB_STREAM_POLICY, (uint32_t)client_id, (uint32_t)round);
    return fcb_policy_act(&setup->policy, b->scores, in->n, m->config.num_actions, &policy_rng, b->probs,
                          b->actions, b->propensities);
}

fcb_status fcb_client_round(const fcb_client_setup *setup, fcb_client_buffers *b, int client_id,
                            int round, const float *deployed, const float *current,
                            const fcb_round_contexts *in, const fcb_data_source *source, float *delta,
                            fcb_client_result *result)
{
    memset(result, 0, sizeof *result);
    fcb_status st = check_rows(b, in->n, client_id);
    if (st != FCB_OK)
        return st;
    const fcb_model *m = setup->model;
    if (in->actions)
        take_logged_decisions(in, b);
    else
        st = decide(setup, b, client_id, round, deployed, in);
    if (st != FCB_OK)
        return fcb_fail_context(st, "client %d round %d", client_id, round + 1);

    fcb_rng feedback_rng;
    fcb_rng_init(&feedback_rng, setup->seed, FCB_STREAM_FEEDBACK, (uint32_t)client_id, (uint32_t)round);
    observe_all(setup, in, source, b, &feedback_rng, result);

    /* The doubly robust loss's reward model: the current model before training. */
    if (setup->loss == FCB_LOSS_DOUBLY_ROBUST)
        st = fcb_model_forward(m, current, in->x, in->n, &b->workspace, b->reward_model);
    if (st != FCB_OK)
        return fcb_fail_context(st, "client %d round %d", client_id, round + 1);
    memcpy(b->local_params, current, m->num_params * sizeof(float));
    st = train_local(setup, b, client_id, round, in->x, in->n, source, result);
    if (st != FCB_OK)
        return st;
    memcpy(delta, b->local_params, m->num_params * sizeof(float));
    cblas_saxpy((int)m->num_params, -1.0f, current, 1, delta, 1);
    return FCB_OK;
}

fcb_status fcb_client_features(const fcb_client_setup *setup, fcb_client_buffers *b,
                               const float *base_params, const float *x, int n)
{
    const fcb_model *m = setup->model;
    fcb_status st = fcb_model_forward(m, base_params, x, n, &b->workspace, b->scores);
    if (st != FCB_OK)
        return st;
    fcb_phi_from_features(fcb_model_features(m, &b->workspace), n, fcb_model_feature_dim(m), b->phi);
    return FCB_OK;
}

static fcb_status decide_linear(const fcb_client_setup *setup, fcb_client_buffers *b, int client_id, int round,
                                fcb_linposterior *deployed, int n)
{
    fcb_rng policy_rng;
    fcb_rng_init(&policy_rng, setup->seed, FCB_STREAM_POLICY, (uint32_t)client_id, (uint32_t)round);
    if (setup->policy.kind == FCB_POLICY_LINUCB)
        return fcb_linucb_act(deployed, setup->policy.ucb_alpha, b->phi, n, b->actions, b->propensities, NULL);
    if (setup->policy.kind == FCB_POLICY_THOMPSON) {
        fcb_thompson_options options;
        fcb_policy_thompson_options(&setup->policy, &options);
        return fcb_thompson_act(deployed, &options, b->phi, n, &policy_rng, b->actions, b->propensities);
    }
    return fcb_fail(FCB_ERR_ARG, "policy %s is not a linear bandit policy", fcb_policy_kind_name(setup->policy.kind));
}

fcb_status fcb_client_linear_round(const fcb_client_setup *setup, fcb_client_buffers *b,
                                   int client_id, int round, fcb_linposterior *deployed,
                                   const float *base_params, const fcb_round_contexts *in,
                                   const fcb_data_source *source, fcb_linstats *stats,
                                   fcb_client_result *result)
{
    memset(result, 0, sizeof *result);
    fcb_status st = check_rows(b, in->n, client_id);
    if (st == FCB_OK)
        st = fcb_client_features(setup, b, base_params, in->x, in->n);
    if (st == FCB_OK && in->actions)
        take_logged_decisions(in, b);
    else if (st == FCB_OK)
        st = decide_linear(setup, b, client_id, round, deployed, in->n);
    if (st != FCB_OK)
        return fcb_fail_context(st, "client %d round %d", client_id, round + 1);

    fcb_rng feedback_rng;
    fcb_rng_init(&feedback_rng, setup->seed, FCB_STREAM_FEEDBACK, (uint32_t)client_id, (uint32_t)round);
    observe_all(setup, in, source, b, &feedback_rng, result);
    fcb_linstats_zero(stats);
    st = fcb_linstats_add(stats, b->phi, in->n, b->actions, b->rewards);
    if (st != FCB_OK)
        return fcb_fail_context(st, "client %d round %d", client_id, round + 1);
    return FCB_OK;
}

void fcb_client_setup_from_plan(const fcb_client_plan *plan, const fcb_model *model, fcb_client_setup *s)
{
    memset(s, 0, sizeof *s);
    s->model = model;
    s->policy = plan->policy;
    s->loss = plan->loss;
    s->local_epochs = plan->local_epochs;
    s->batch_size = plan->batch_size;
    s->sgd = plan->sgd;
    s->seed = plan->seed;
    s->max_weight = plan->max_weight;
    s->scale_weights = plan->scale_weights;
}
