#include "round_finish.h"

#include <math.h>

static json_t *class_array(const double *values, int k)
{
    json_t *a = json_array();
    for (int i = 0; i < k; i++)
        json_array_append_new(a, json_real(values[i]));
    return a;
}

static json_t *preference_summary(const fcb_federation *f, const fcb_run_tally *tally)
{
    json_t *j = json_object();
    json_object_set_new(j, "loss", json_string(fcb_preference_kind_name(f->preference.setup.loss.kind)));
    json_object_set_new(j, "rounds", json_integer(f->preference.rounds));
    json_object_set_new(j, "reference_accuracy", json_real(tally->reference_accuracy));
    json_object_set_new(j, "test_accuracy", json_real(tally->accuracy));
    json_object_set_new(j, "win_rate", json_real(tally->win_rate));
    json_object_set_new(j, "kl", json_real(tally->kl));
    json_object_set_new(j, "margin", json_real(tally->margin));
    return j;
}

static json_t *privacy_summary(const fcb_federation *f)
{
    const fcb_dp_config *dp = &f->dp_config;
    double epsilon = INFINITY, best_order = 0.0;
    fcb_federation_epsilon(f, &epsilon, &best_order);
    json_t *j = json_object();
    json_object_set_new(j, "mechanism", json_string("DP-FedAvg, Gaussian"));
    json_object_set_new(j, "accountant", json_string("RDP, Poisson-subsampled Gaussian"));
    json_object_set_new(j, "epsilon", fcb_json_epsilon(epsilon));
    json_object_set_new(j, "delta", json_real(f->dp_delta));
    json_object_set_new(j, "best_order", json_real(best_order));
    json_object_set_new(j, "steps", json_integer(f->accountant.steps));
    json_object_set_new(j, "sampling_rate", json_real(f->dp_sampling_rate));
    json_object_set_new(j, "noise_multiplier", json_real(dp->noise_multiplier));
    json_object_set_new(j, "sum_noise_multiplier", json_real(f->dp_sum_noise_multiplier));
    json_object_set_new(j, "adaptive", json_boolean(dp->adaptive));
    json_object_set_new(j, "initial_clip_norm", json_real(dp->clip_norm));
    json_object_set_new(j, "clip_norm", json_real(f->dp_clip_norm));
    return j;
}

static json_t *aggregation_summary(const fcb_federation *f)
{
    const fcb_robust_config *rule = &f->robust_rule;
    json_t *j = json_object();
    json_object_set_new(j, "kind", json_string(fcb_robust_kind_name(rule->kind)));
    if (rule->kind == FCB_ROBUST_TRIMMED_MEAN)
        json_object_set_new(j, "trim_fraction", json_real(rule->trim_fraction));
    if (rule->kind == FCB_ROBUST_NORM_BOUND)
        json_object_set_new(j, "max_norm", json_real(rule->max_norm));
    return j;
}

static json_t *malicious_summary(const fcb_federation *f)
{
    int clients = 0;
    for (int c = 0; c < f->config->num_clients; c++)
        clients += f->is_malicious[c];
    json_t *j = json_object();
    json_object_set_new(j, "kind", json_string(fcb_attack_kind_name(f->malicious.kind)));
    json_object_set_new(j, "fraction", json_real(f->malicious.fraction));
    json_object_set_new(j, "scale", json_real(f->malicious.scale));
    json_object_set_new(j, "clients", json_integer(clients));
    return j;
}

json_t *fcb_run_summary_json(const fcb_federation *f, const fcb_run_tally *tally, const fcb_run_result *r)
{
    int k = f->world->model.config.num_actions;
    json_t *j = json_object();
    json_object_set_new(j, "rounds", json_integer(r->rounds));
    json_object_set_new(j, "interactions", json_integer(r->interactions));
    json_object_set_new(j, "avg_reward", json_real(r->avg_reward));
    json_object_set_new(j, "avg_true_reward", json_real(r->avg_true_reward));
    json_object_set_new(j, "test_accuracy", json_real(r->final_accuracy));
    json_object_set_new(j, "test_reward", json_real(r->final_test_reward));
    json_object_set_new(j, "test_class_accuracy", class_array(tally->class_accuracy, k));
    if (r->pretrain_accuracy >= 0.0) {
        json_object_set_new(j, "pretrain_accuracy", json_real(r->pretrain_accuracy));
        json_object_set_new(j, "pretrain_class_accuracy", class_array(f->world->pretrain_class_accuracy, k));
    }
    json_object_set_new(j, "passes", json_real(r->passes));
    if (f->preference.rounds > 0)
        json_object_set_new(j, "preference", preference_summary(f, tally));
    if (f->dp)
        json_object_set_new(j, "privacy", privacy_summary(f));
    if (f->robust)
        json_object_set_new(j, "aggregation", aggregation_summary(f));
    if (f->is_malicious)
        json_object_set_new(j, "malicious", malicious_summary(f));
    json_object_set_new(j, "policy", json_string(fcb_policy_kind_name(f->setup.policy.kind)));
    json_object_set_new(j, "scenario", json_string(fcb_scenario_name(f->world->scenario)));
    json_object_set_new(j, "num_params", json_integer((json_int_t)f->num_params));
    json_object_set_new(j, "seconds", json_real(f->config->wall_clock ? r->seconds : 0.0));
    json_object_set_new(j, "model_sha256", json_string(r->model_sha256));
    char config_hash[65];
    fcb_config_hash(f->config, config_hash);
    json_object_set_new(j, "config_hash", json_string(config_hash));
    json_object_set_new(j, "config", fcb_config_to_json(f->config));
    return j;
}
