#include "run_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defense_config.h"
#include "model_file.h"

fcb_status fcb_plan_client_setup(const fcb_config *c, const fcb_model *model, fcb_client_setup *s)
{
    memset(s, 0, sizeof *s);
    s->model = model;
    s->seed = c->seed;
    s->local_epochs = c->local_epochs;
    s->batch_size = c->batch_size;
    s->sgd.learning_rate = (float)c->learning_rate;
    s->sgd.momentum = (float)c->momentum;
    s->sgd.weight_decay = (float)c->weight_decay;
    s->sgd.clip_norm = (float)c->clip_norm;
    s->max_weight = (float)c->max_weight;
    s->scale_weights = c->scale_weights;
    fcb_status st = fcb_sgd_config_validate(&s->sgd);
    if (st != FCB_OK)
        return fcb_fail_context(st, "[train]");
    st = fcb_loss_kind_from_name(c->loss, &s->loss);
    if (st != FCB_OK)
        return fcb_fail_context(FCB_ERR_CONFIG, "train.loss");
    fcb_policy_kind kind;
    st = fcb_policy_kind_from_name(c->policy, &kind);
    if (st != FCB_OK)
        return fcb_fail_context(FCB_ERR_CONFIG, "policy.kind");
    fcb_policy_config *p = &s->policy;
    fcb_policy_config_default(p, kind);
    p->epsilon = (float)c->epsilon;
    p->temperature = (float)c->temperature;
    p->igw_mu = (float)c->igw_mu;
    p->igw_gamma = (float)c->igw_gamma;
    p->ucb_alpha = (float)c->ucb_alpha;
    p->ts_scale = (float)c->ts_scale;
    p->ridge_lambda = (float)c->ridge_lambda;
    p->diagonal = c->diagonal;
    p->propensity_samples = c->propensity_samples;
    if (fcb_ts_propensity_from_name(c->ts_propensity, &p->ts_propensity) != FCB_OK)
        return fcb_fail_context(FCB_ERR_CONFIG, "policy.propensity");
    if (fcb_ts_sample_from_name(c->ts_sample, &p->ts_sample) != FCB_OK)
        return fcb_fail_context(FCB_ERR_CONFIG, "policy.ts_sample");
    if (fcb_forgetting_from_name(c->forgetting, &p->forgetting) != FCB_OK)
        return fcb_fail_context(FCB_ERR_CONFIG, "policy.forgetting");
    p->discount = c->discount;
    p->window = c->window;
    return fcb_policy_config_validate(p);
}

enum { MAX_REWARD_MODELS = 16 };

static fcb_status load_reward_models(const fcb_config *c, size_t num_params, fcb_preference_setup *s,
                                     float **reward_params)
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
    *reward_params = malloc((size_t)m * num_params * sizeof(float));
    if (!*reward_params)
        return fcb_fail(FCB_ERR_NOMEM, "preference: out of memory for %d reward models", m);
    for (int i = 0; i < m; i++) {
        fcb_status st = fcb_model_file_load(dirs[i], num_params, *reward_params + (size_t)i * num_params);
        if (st != FCB_OK)
            return fcb_fail_context(st, "preference.reward_models");
    }
    s->num_reward_models = m;
    s->reward_params = *reward_params;
    return FCB_OK;
}

static fcb_status read_preference_loss(const fcb_config *c, fcb_preference_params *p)
{
    fcb_preference_kind kind;
    if (fcb_preference_kind_from_name(c->pref_loss, &kind) != FCB_OK)
        return fcb_fail(FCB_ERR_CONFIG, "preference.loss = '%s': must be dpo, ipo, rdpo or distill", c->pref_loss);
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

fcb_status fcb_plan_preference(const fcb_config *c, const fcb_model *model, fcb_preference_setup *s,
                               float **reward_params, int *has_stage)
{
    memset(s, 0, sizeof *s);
    *reward_params = NULL;
    *has_stage = c->pref_rounds > 0;
    if (!*has_stage)
        return FCB_OK;
    fcb_status st = read_preference_loss(c, &s->loss);
    if (st != FCB_OK)
        return st;
    s->learning_rate = (float)c->pref_learning_rate;
    s->local_epochs = c->pref_local_epochs;
    s->reward_scale = (float)c->pref_reward_scale;
    if (s->loss.kind == FCB_PREFERENCE_DISTILL)
        return load_reward_models(c, model->num_params, s, reward_params);
    return FCB_OK;
}

static fcb_status plan_aggregation(const fcb_config *c, fcb_aggregation_config *a)
{
    memset(a, 0, sizeof *a);
    int robust = 0;
    fcb_status st = fcb_agg_weighting_from_name(c->weighting, &a->weighting);
    if (st != FCB_OK)
        return fcb_fail(FCB_ERR_CONFIG, "server.weighting = '%s': must be weighted or unweighted", c->weighting);
    st = fcb_aggregation_from_config(c, &robust, &a->robust);
    if (st != FCB_OK)
        return st;
    a->kind = c->dp_enabled ? FCB_RULE_DP : robust ? FCB_RULE_ROBUST : FCB_RULE_MEAN;
    a->dp = fcb_dp_config_from(c);
    a->dp_delta = fcb_dp_delta(c);
    a->seed = c->seed;
    a->clients_per_round = c->clients_per_round;
    a->num_clients = c->num_clients;
    return FCB_OK;
}

static fcb_status plan_server(const fcb_config *c, fcb_server_opt_config *sc)
{
    fcb_server_opt_kind kind;
    fcb_status st = fcb_server_opt_kind_from_name(c->server_optimizer, &kind);
    if (st != FCB_OK)
        return st;
    *sc = fcb_server_opt_config_defaults(kind);
    if (c->server_learning_rate > 0.0)
        sc->learning_rate = (float)c->server_learning_rate;
    sc->momentum = (float)c->server_momentum;
    sc->beta1 = (float)c->server_beta1;
    sc->beta2 = (float)c->server_beta2;
    sc->tau = (float)c->server_tau;
    sc->bias_correction = c->server_bias_correction;
    return fcb_server_opt_config_validate(sc);
}

fcb_status fcb_plan_federation(const fcb_config *c, const fcb_model *model, const float *initial_params,
                               fcb_federation_config *f)
{
    memset(f, 0, sizeof *f);
    fcb_policy_kind policy;
    fcb_status st = fcb_policy_kind_from_name(c->policy, &policy);
    if (st != FCB_OK)
        return fcb_fail_context(FCB_ERR_CONFIG, "policy.kind");
    f->seed = c->seed;
    f->num_clients = c->num_clients;
    f->clients_per_round = c->clients_per_round;
    f->rounds = c->rounds;
    f->preference_rounds = c->pref_rounds;
    f->deploy_every = c->deploy_every;
    f->eval_every = c->eval_every;
    f->linear = fcb_policy_is_linear(policy);
    if (f->linear && c->pref_rounds > 0)
        return fcb_fail(FCB_ERR_CONFIG, "preference.rounds = %d: the preference stage trains score-based models, "
                                        "not policy.kind = %s", c->pref_rounds, c->policy);
    f->model.model = model;
    f->model.initial_params = initial_params;
    f->model.update_norm_bound = c->update_norm_bound;
    f->model.ridge_lambda = (float)c->ridge_lambda;
    f->model.diagonal = c->diagonal;
    fcb_linforget_config *forget = &f->model.forgetting;
    if (fcb_forgetting_from_name(c->forgetting, &forget->kind) != FCB_OK)
        return fcb_fail_context(FCB_ERR_CONFIG, "policy.forgetting");
    forget->gamma = c->discount;
    forget->window = c->window;
    forget->keep_tilde = policy == FCB_POLICY_LINUCB && forget->kind == FCB_FORGET_DISCOUNT && c->discount < 1.0;
    st = plan_server(c, &f->model.server);
    if (st == FCB_OK)
        st = plan_aggregation(c, &f->model.aggregation);
    return st;
}

fcb_status fcb_plan_client_plan(const fcb_config *c, const fcb_model *model, fcb_client_plan *out)
{
    memset(out, 0, sizeof *out);
    fcb_client_setup setup;
    fcb_status st = fcb_plan_client_setup(c, model, &setup);
    if (st != FCB_OK)
        return st;
    out->model = model->config;
    out->policy = setup.policy;
    out->loss = setup.loss;
    out->local_epochs = setup.local_epochs;
    out->batch_size = setup.batch_size;
    out->sgd = setup.sgd;
    out->seed = setup.seed;
    out->max_weight = setup.max_weight;
    out->scale_weights = setup.scale_weights;
    out->examples_per_round = c->examples_per_round;
    return fcb_client_plan_validate(out);
}

