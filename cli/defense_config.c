#include "defense_config.h"

#include <math.h>
#include <string.h>

#include "policy.h"

fcb_dp_config fcb_dp_config_from(const fcb_config *c)
{
    fcb_dp_config dp = fcb_dp_config_defaults();
    dp.noise_multiplier = c->dp_noise_multiplier;
    dp.clip_norm = c->dp_clip_norm;
    dp.adaptive = c->dp_adaptive;
    dp.target_quantile = c->dp_target_quantile;
    dp.clip_learning_rate = c->dp_clip_learning_rate;
    dp.clipped_count_stddev = c->dp_clipped_count_stddev;
    return dp;
}

double fcb_dp_delta(const fcb_config *c)
{
    if (c->dp_delta > 0.0)
        return c->dp_delta;
    return 1.0 / pow((double)c->num_clients, 1.1);
}

fcb_status fcb_aggregation_from_config(const fcb_config *c, int *robust, fcb_robust_config *rule)
{
    *robust = 0;
    *rule = fcb_robust_config_defaults(FCB_ROBUST_MEDIAN);
    rule->trim_fraction = c->trim_fraction;
    rule->max_norm = c->aggregation_max_norm;
    if (strcmp(c->aggregation, "mean") == 0)
        return FCB_OK;
    if (fcb_robust_kind_from_name(c->aggregation, &rule->kind) != FCB_OK)
        return fcb_fail(FCB_ERR_CONFIG,
                        "aggregation.kind: unknown aggregation '%s' (expected mean, median, trimmed_mean or "
                        "norm_bound)",
                        c->aggregation);
    *robust = 1;
    return FCB_OK;
}

fcb_status fcb_malicious_from_config(const fcb_config *c, fcb_malicious_config *m)
{
    *m = fcb_malicious_config_defaults();
    m->fraction = c->malicious_fraction;
    m->scale = c->malicious_scale;
    return fcb_attack_kind_from_name(c->malicious, &m->kind);
}

/* LinUCB / Thompson; an unknown policy name is left for the run to report. */
static int linear_policy(const fcb_config *c)
{
    fcb_policy_kind kind;
    return fcb_policy_kind_from_name(c->policy, &kind) == FCB_OK && fcb_policy_is_linear(kind);
}

static fcb_status validate_dp(const fcb_config *c)
{
    fcb_dp_config dp = fcb_dp_config_from(c);
    fcb_status st = fcb_dp_config_validate(&dp);
    if (st != FCB_OK)
        return st;
    if (!(c->dp_delta >= 0.0 && c->dp_delta < 1.0))
        return fcb_fail(FCB_ERR_CONFIG, "dp.delta = %g: must be in [0, 1) (0 = 1 / clients.num_clients^1.1)",
                        c->dp_delta);
    if (!c->dp_enabled)
        return FCB_OK;
    if (fcb_dp_delta(c) >= 1.0)
        return fcb_fail(FCB_ERR_CONFIG,
                        "dp.delta = 0 means 1 / clients.num_clients^1.1, which is 1 with one client: set dp.delta "
                        "in (0, 1)");
    if (linear_policy(c))
        return fcb_fail(FCB_ERR_CONFIG,
                        "dp.enabled (dp.noise_multiplier = %g): DP-FedAvg clips and noises model deltas, but "
                        "policy.kind = %s sends exact LinUCB/Thompson statistics; use a score-based policy",
                        c->dp_noise_multiplier, c->policy);
    if (strcmp(c->aggregation, "mean") != 0)
        return fcb_fail(FCB_ERR_CONFIG,
                        "aggregation.kind = %s: DP-FedAvg sums the clipped updates (the accountant's sensitivity); "
                        "use aggregation.kind = mean with dp.enabled",
                        c->aggregation);
    double sum_noise_multiplier;
    return fcb_dp_sum_noise_multiplier(&dp, &sum_noise_multiplier);
}

fcb_status fcb_defense_config_validate(const fcb_config *c)
{
    int robust;
    fcb_robust_config rule;
    fcb_status st = fcb_aggregation_from_config(c, &robust, &rule);
    if (st == FCB_OK)
        st = fcb_robust_config_validate(&rule);
    if (st != FCB_OK)
        return st;
    if (robust && linear_policy(c))
        return fcb_fail(FCB_ERR_CONFIG,
                        "aggregation.kind = %s: policy.kind = %s sums exact LinUCB/Thompson statistics; only "
                        "aggregation.kind = mean applies",
                        c->aggregation, c->policy);
    fcb_malicious_config malicious;
    st = fcb_malicious_from_config(c, &malicious);
    if (st == FCB_OK)
        st = fcb_malicious_config_validate(&malicious);
    if (st != FCB_OK)
        return st;
    if (malicious.kind != FCB_ATTACK_NONE && linear_policy(c))
        return fcb_fail(FCB_ERR_CONFIG,
                        "malicious.kind = %s: attacks change model deltas, and policy.kind = %s sends "
                        "LinUCB/Thompson statistics; use a score-based policy",
                        c->malicious, c->policy);
    return validate_dp(c);
}
