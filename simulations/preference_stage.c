#include "preference_stage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_file.h"
#include "preference_metrics.h"

enum { MAX_REWARD_MODELS = 16 };

static fcb_status load_reward_models(fcb_preference_stage *s, const fcb_config *c)
{
    char list[FCB_CONFIG_PATH_MAX];
    snprintf(list, sizeof list, "%s", c->pref_reward_models);
    char *dirs[MAX_REWARD_MODELS];
    int m = 0;
    for (char *save = NULL, *dir = strtok_r(list, ",", &save); dir; dir = strtok_r(NULL, ",", &save)) {
        if (m == MAX_REWARD_MODELS)
            return fcb_fail(FCB_ERR_CONFIG, "preference.reward_models: more than %d runs", MAX_REWARD_MODELS);
        dirs[m++] = dir;
    }
    if (m == 0)
        return fcb_fail(FCB_ERR_CONFIG, "preference.reward_models: distill needs at least one run directory "
                                        "(comma-separated) holding a model.bin");
    s->reward_params = malloc((size_t)m * s->num_params * sizeof(float));
    if (!s->reward_params)
        return fcb_fail(FCB_ERR_NOMEM, "preference: out of memory for %d reward models", m);
    for (int i = 0; i < m; i++) {
        fcb_status st = fcb_model_file_load(dirs[i], s->num_params, s->reward_params + (size_t)i * s->num_params);
        if (st != FCB_OK)
            return fcb_fail_context(st, "preference.reward_models");
    }
    s->setup.num_reward_models = m;
    s->setup.reward_params = s->reward_params;
    return FCB_OK;
}

static fcb_status read_loss(fcb_preference_stage *s, const fcb_config *c)
{
    fcb_preference_kind kind;
    if (fcb_preference_kind_from_name(c->pref_loss, &kind) != FCB_OK)
        return fcb_fail(FCB_ERR_CONFIG, "preference.loss = '%s': must be dpo, ipo, rdpo or distill", c->pref_loss);
    fcb_preference_params *p = &s->setup.loss;
    fcb_preference_params_default(p, kind);
    if (fcb_ensemble_kind_from_name(c->pref_ensemble, &p->ensemble) != FCB_OK)
        return fcb_fail(FCB_ERR_CONFIG, "preference.ensemble = '%s': must be pessimistic or mean", c->pref_ensemble);
    p->temperature = c->pref_temperature;
    p->beta = c->pref_beta;
    p->ipo_tau = c->pref_ipo_tau;
    p->flip_rate = c->pref_rdpo_flip_rate >= 0.0 ? c->pref_rdpo_flip_rate : c->pref_flip_rate;
    if (kind == FCB_PREFERENCE_RDPO && c->pref_rdpo_flip_rate < 0.0 && c->pref_flip_rate >= 0.5)
        return fcb_fail(FCB_ERR_CONFIG, "preference.flip_rate = %g: rdpo needs a flip rate below 0.5 (or set "
                                        "preference.rdpo_flip_rate)", c->pref_flip_rate);
    return fcb_preference_params_validate(p);
}

fcb_status fcb_preference_stage_init(fcb_preference_stage *s, const fcb_config *c, const fcb_model *model)
{
    memset(s, 0, sizeof *s);
    s->first_round = c->rounds;
    s->rounds = c->pref_rounds;
    s->num_params = model->num_params;
    if (s->rounds == 0)
        return FCB_OK;
    fcb_status st = read_loss(s, c);
    if (st != FCB_OK)
        return st;
    s->setup.learning_rate = (float)c->pref_learning_rate;
    s->setup.local_epochs = c->pref_local_epochs;
    s->setup.reward_scale = (float)c->pref_reward_scale;
    s->feedback.temperature = c->pref_bt_temperature;
    s->feedback.flip_rate = c->pref_flip_rate;
    st = fcb_pairwise_config_validate(&s->feedback);
    if (st != FCB_OK)
        return st;
    fcb_policy_config_default(&s->policy, FCB_POLICY_SOFTMAX);
    s->policy.temperature = (float)c->pref_temperature;
    s->reference = calloc(s->num_params, sizeof(float)); /* written to checkpoints before the stage begins */
    if (!s->reference)
        return fcb_fail(FCB_ERR_NOMEM, "preference: out of memory");
    if (s->setup.loss.kind == FCB_PREFERENCE_DISTILL)
        return load_reward_models(s, c);
    return FCB_OK;
}

void fcb_preference_stage_free(fcb_preference_stage *s)
{
    free(s->reference);
    free(s->reward_params);
    memset(s, 0, sizeof *s);
}

int fcb_preference_stage_owns(const fcb_preference_stage *s, int round)
{
    return s->rounds > 0 && round >= s->first_round;
}

void fcb_preference_stage_begin(fcb_preference_stage *s, const float *params)
{
    memcpy(s->reference, params, s->num_params * sizeof(float));
}

fcb_status fcb_preference_stage_evaluate(const fcb_preference_stage *s, const fcb_world *w, const float *params,
                                         int round, double *win_rate, double *kl)
{
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
            st = fcb_model_forward(m, s->reference, x, n, &ws, ref);
        for (int i = 0; st == FCB_OK && i < n; i++) {
            int label = fcb_environment_label_at(&w->env, w->test.y[start + i], round, &rng);
            for (int a = 0; a < k; a++)
                utilities[(size_t)i * k + a] = fcb_environment_true_reward(&w->env, label, a);
        }
        double chunk_win = 0.0, chunk_kl = 0.0;
        if (st == FCB_OK)
            st = fcb_preference_win_rate(scores, ref, utilities, n, k, s->setup.loss.temperature, &chunk_win);
        if (st == FCB_OK)
            st = fcb_preference_kl(scores, ref, n, k, s->setup.loss.temperature, &chunk_kl);
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
