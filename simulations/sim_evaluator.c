#include "sim_evaluator.h"

#include <stdlib.h>

#include "preference_metrics.h"

static fcb_status evaluate(void *context, const fcb_scorer *scorer, int round, double *accuracy, double *reward,
                           double *class_accuracy)
{
    const fcb_sim_evaluator *e = context;
    return fcb_world_evaluate(e->world, scorer->score, scorer->context, round, e->seed, accuracy, reward,
                              class_accuracy);
}

static fcb_status validate(void *context, const fcb_scorer *scorer, int round, double *accuracy, double *reward)
{
    const fcb_sim_evaluator *e = context;
    return fcb_world_validate(e->world, scorer->score, scorer->context, round, e->seed, accuracy, reward);
}

/* On the test set at `round`: the win rate of pi(params) against the
 * reference under the true utilities, and KL(pi || pi_ref). */
static fcb_status preference(void *context, const float *params, const float *reference, int round, double *win_rate,
                             double *kl)
{
    const fcb_sim_evaluator *e = context;
    const fcb_world *w = e->world;
    const fcb_model *m = &w->model;
    int k = m->config.num_actions;
    size_t d = (size_t)m->config.input_dim;
    size_t chunk = (size_t)FCB_EVAL_CHUNK * k;
    float *scores = malloc(chunk * sizeof(float));
    float *ref = malloc(chunk * sizeof(float));
    float *utilities = malloc(chunk * sizeof(float));
    fcb_workspace ws = {0};
    fcb_status st = scores && ref && utilities ? fcb_workspace_init(&ws, m, FCB_EVAL_CHUNK)
                                               : fcb_fail(FCB_ERR_NOMEM, "preference evaluation: out of memory");
    fcb_rng rng; /* gradual drift: the same label draws as fcb_world_evaluate */
    fcb_rng_init(&rng, w->env.seed, FCB_STREAM_DRIFT, 0xFFFFFFFEu, (uint32_t)round);
    double win_sum = 0.0, kl_sum = 0.0;
    for (int start = 0; st == FCB_OK && start < w->test.n; start += FCB_EVAL_CHUNK) {
        int n = w->test.n - start < FCB_EVAL_CHUNK ? w->test.n - start : FCB_EVAL_CHUNK;
        const float *x = w->test.x + (size_t)start * d;
        st = fcb_model_forward(m, params, x, n, &ws, scores);
        if (st == FCB_OK)
            st = fcb_model_forward(m, reference, x, n, &ws, ref);
        for (int i = 0; st == FCB_OK && i < n; i++) {
            int label = fcb_environment_label_at(&w->env, w->test.y[start + i], round, &rng);
            for (int a = 0; a < k; a++)
                utilities[(size_t)i * k + a] = fcb_environment_true_reward(&w->env, label, a);
        }
        double chunk_win = 0.0, chunk_kl = 0.0;
        if (st == FCB_OK)
            st = fcb_preference_win_rate(scores, ref, utilities, n, k, e->temperature, &chunk_win);
        if (st == FCB_OK)
            st = fcb_preference_kl(scores, ref, n, k, e->temperature, &chunk_kl);
        win_sum += chunk_win * n;
        kl_sum += chunk_kl * n;
    }
    if (st == FCB_OK) {
        *win_rate = win_sum / w->test.n;
        *kl = kl_sum / w->test.n;
    }
    fcb_workspace_free(&ws);
    free(scores);
    free(ref);
    free(utilities);
    return st;
}

fcb_evaluator fcb_sim_evaluator_make(fcb_sim_evaluator *e)
{
    fcb_evaluator evaluator = {e, evaluate, preference, e->world->validation.n > 0 ? validate : NULL};
    return evaluator;
}
