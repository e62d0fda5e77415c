#include "policy.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "name_table.h"
#include "vec.h"

static const fcb_name_entry POLICY_NAMES[] = {
    {"greedy", FCB_POLICY_GREEDY},   {"epsilon_greedy", FCB_POLICY_EPSILON_GREEDY},
    {"egreedy", FCB_POLICY_EPSILON_GREEDY}, {"softmax", FCB_POLICY_SOFTMAX},
    {"igw", FCB_POLICY_IGW},         {"uniform", FCB_POLICY_UNIFORM},
    {"linucb", FCB_POLICY_LINUCB},   {"thompson", FCB_POLICY_THOMPSON},
};

static int kind_is_known(fcb_policy_kind kind)
{
    return kind >= FCB_POLICY_GREEDY && kind <= FCB_POLICY_THOMPSON;
}

void fcb_policy_config_default(fcb_policy_config *config, fcb_policy_kind kind)
{
    memset(config, 0, sizeof *config);
    config->kind = kind;
    config->epsilon = 0.2f;
    config->temperature = 0.05f;
    config->igw_mu = 0.0f; /* means K */
    config->igw_gamma = 100.0f;
    config->ucb_alpha = 1.0f;
    config->ts_scale = 0.1f;
    config->ridge_lambda = 1.0f;
    config->diagonal = 0;
    config->propensity_samples = 64;
    config->ts_propensity = FCB_TS_PROPENSITY_EXACT;
    config->ts_sample = FCB_TS_SAMPLE_DECISION;
    config->forgetting = FCB_FORGET_NONE;
    config->discount = 1.0;
    config->window = 1;
}

/* Every float field must be finite whatever the kind; the ranges are only
 * checked for the fields the kind uses, so a zeroed config is a valid greedy. */
fcb_status fcb_policy_config_validate(const fcb_policy_config *config)
{
    if (config == NULL)
        return fcb_fail(FCB_ERR_ARG, "policy config: NULL config");
    if (!kind_is_known(config->kind))
        return fcb_fail(FCB_ERR_CONFIG, "policy config: unknown kind %d", (int)config->kind);
    const struct {
        const char *name;
        float value;
    } fields[] = {
        {"epsilon", config->epsilon},         {"temperature", config->temperature},
        {"igw_mu", config->igw_mu},           {"igw_gamma", config->igw_gamma},
        {"ucb_alpha", config->ucb_alpha},     {"ts_scale", config->ts_scale},
        {"ridge_lambda", config->ridge_lambda},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (!isfinite(fields[i].value))
            return fcb_fail(FCB_ERR_CONFIG, "policy config: %s = %g is not finite",
                            fields[i].name, (double)fields[i].value);
    }
    switch (config->kind) {
    case FCB_POLICY_EPSILON_GREEDY:
        if (config->epsilon < 0.0f || config->epsilon > 1.0f)
            return fcb_fail(FCB_ERR_CONFIG, "policy config: epsilon = %g must be in [0, 1]",
                            (double)config->epsilon);
        break;
    case FCB_POLICY_SOFTMAX:
        if (!(config->temperature > 0.0f))
            return fcb_fail(FCB_ERR_CONFIG, "policy config: temperature = %g must be > 0",
                            (double)config->temperature);
        break;
    case FCB_POLICY_IGW:
        if (config->igw_gamma < 0.0f)
            return fcb_fail(FCB_ERR_CONFIG, "policy config: igw_gamma = %g must be >= 0",
                            (double)config->igw_gamma);
        break;
    case FCB_POLICY_LINUCB:
    case FCB_POLICY_THOMPSON:
        if (config->kind == FCB_POLICY_LINUCB && config->ucb_alpha < 0.0f)
            return fcb_fail(FCB_ERR_CONFIG, "policy config: ucb_alpha = %g must be >= 0",
                            (double)config->ucb_alpha);
        if (config->kind == FCB_POLICY_THOMPSON && !(config->ts_scale > 0.0f))
            return fcb_fail(FCB_ERR_CONFIG, "policy config: ts_scale = %g must be > 0",
                            (double)config->ts_scale);
        if (!(config->ridge_lambda > 0.0f))
            return fcb_fail(FCB_ERR_CONFIG, "policy config: ridge_lambda = %g must be > 0",
                            (double)config->ridge_lambda);
        if (config->diagonal != 0 && config->diagonal != 1)
            return fcb_fail(FCB_ERR_CONFIG, "policy config: diagonal = %d must be 0 or 1",
                            config->diagonal);
        if (config->kind == FCB_POLICY_THOMPSON && config->propensity_samples < 1)
            return fcb_fail(FCB_ERR_CONFIG, "policy config: propensity_samples = %d must be >= 1",
                            config->propensity_samples);
        if (config->ts_propensity != FCB_TS_PROPENSITY_EXACT && config->ts_propensity != FCB_TS_PROPENSITY_MONTE_CARLO)
            return fcb_fail(FCB_ERR_CONFIG, "policy config: unknown propensity method %d", (int)config->ts_propensity);
        if (config->ts_sample != FCB_TS_SAMPLE_DECISION && config->ts_sample != FCB_TS_SAMPLE_ROUND)
            return fcb_fail(FCB_ERR_CONFIG, "policy config: unknown ts_sample %d", (int)config->ts_sample);
        if (config->forgetting < FCB_FORGET_NONE || config->forgetting > FCB_FORGET_WINDOW)
            return fcb_fail(FCB_ERR_CONFIG, "policy config: unknown forgetting %d", (int)config->forgetting);
        if (config->forgetting == FCB_FORGET_DISCOUNT && !(config->discount > 0.0 && config->discount <= 1.0))
            return fcb_fail(FCB_ERR_CONFIG, "policy config: discount = %g must be in (0, 1]", config->discount);
        if (config->forgetting == FCB_FORGET_WINDOW && config->window < 1)
            return fcb_fail(FCB_ERR_CONFIG, "policy config: window = %d must be >= 1", config->window);
        break;
    case FCB_POLICY_GREEDY:
    case FCB_POLICY_UNIFORM:
        break;
    }
    return FCB_OK;
}

fcb_status fcb_policy_kind_from_name(const char *name, fcb_policy_kind *out)
{
    int value = 0;
    fcb_status st = fcb_name_lookup(POLICY_NAMES, sizeof POLICY_NAMES / sizeof POLICY_NAMES[0], "policy", name, &value);
    if (st == FCB_OK)
        *out = (fcb_policy_kind)value;
    return st;
}

const char *fcb_policy_kind_name(fcb_policy_kind kind)
{
    return fcb_name_of(POLICY_NAMES, sizeof POLICY_NAMES / sizeof POLICY_NAMES[0], (int)kind);
}

int fcb_policy_is_linear(fcb_policy_kind kind)
{
    return kind == FCB_POLICY_LINUCB || kind == FCB_POLICY_THOMPSON;
}

static const fcb_name_entry FORGETTING_NAMES[] = {
    {"none", FCB_FORGET_NONE}, {"discount", FCB_FORGET_DISCOUNT}, {"window", FCB_FORGET_WINDOW},
};

fcb_status fcb_forgetting_from_name(const char *name, fcb_forgetting_kind *out)
{
    int value = 0;
    fcb_status st = fcb_name_lookup(FORGETTING_NAMES, sizeof FORGETTING_NAMES / sizeof FORGETTING_NAMES[0],
                                    "forgetting", name, &value);
    if (st == FCB_OK)
        *out = (fcb_forgetting_kind)value;
    return st;
}

const char *fcb_forgetting_name(fcb_forgetting_kind kind)
{
    return fcb_name_of(FORGETTING_NAMES, sizeof FORGETTING_NAMES / sizeof FORGETTING_NAMES[0], (int)kind);
}

static const fcb_name_entry TS_PROPENSITY_NAMES[] = {
    {"exact", FCB_TS_PROPENSITY_EXACT}, {"monte_carlo", FCB_TS_PROPENSITY_MONTE_CARLO},
};

static const fcb_name_entry TS_SAMPLE_NAMES[] = {
    {"decision", FCB_TS_SAMPLE_DECISION}, {"round", FCB_TS_SAMPLE_ROUND},
};

fcb_status fcb_ts_propensity_from_name(const char *name, fcb_ts_propensity *out)
{
    int value = 0;
    fcb_status st = fcb_name_lookup(TS_PROPENSITY_NAMES, sizeof TS_PROPENSITY_NAMES / sizeof TS_PROPENSITY_NAMES[0],
                                    "propensity method", name, &value);
    if (st == FCB_OK)
        *out = (fcb_ts_propensity)value;
    return st;
}

const char *fcb_ts_propensity_name(fcb_ts_propensity method)
{
    return fcb_name_of(TS_PROPENSITY_NAMES, sizeof TS_PROPENSITY_NAMES / sizeof TS_PROPENSITY_NAMES[0], (int)method);
}

fcb_status fcb_ts_sample_from_name(const char *name, fcb_ts_sample *out)
{
    int value = 0;
    fcb_status st = fcb_name_lookup(TS_SAMPLE_NAMES, sizeof TS_SAMPLE_NAMES / sizeof TS_SAMPLE_NAMES[0],
                                    "ts_sample", name, &value);
    if (st == FCB_OK)
        *out = (fcb_ts_sample)value;
    return st;
}

const char *fcb_ts_sample_name(fcb_ts_sample mode)
{
    return fcb_name_of(TS_SAMPLE_NAMES, sizeof TS_SAMPLE_NAMES / sizeof TS_SAMPLE_NAMES[0], (int)mode);
}

void fcb_policy_thompson_options(const fcb_policy_config *config, fcb_thompson_options *options)
{
    options->scale = config->ts_scale;
    options->propensity = config->ts_propensity;
    options->propensity_samples = config->propensity_samples;
    options->sample = config->ts_sample;
}

int fcb_policy_uses_tilde(const fcb_policy_config *config)
{
    return config->kind == FCB_POLICY_LINUCB && config->forgetting == FCB_FORGET_DISCOUNT &&
           config->discount < 1.0;
}

/* Index of the first non-finite score, or -1. */
static int first_non_finite(const float *scores, int k)
{
    for (int a = 0; a < k; a++) {
        if (!isfinite(scores[a]))
            return a;
    }
    return -1;
}

static void greedy_probs(const float *scores, int k, float *probs)
{
    int best = fcb_argmax(scores, k);
    for (int a = 0; a < k; a++)
        probs[a] = a == best ? 1.0f : 0.0f;
}

static void epsilon_greedy_probs(double epsilon, const float *scores, int k, float *probs)
{
    int best = fcb_argmax(scores, k);
    double explore = epsilon / k;
    for (int a = 0; a < k; a++)
        probs[a] = (float)(a == best ? 1.0 - epsilon + explore : explore);
}

static void softmax_probs(double temperature, const float *scores, int k, float *probs)
{
    double top = scores[fcb_argmax(scores, k)];
    double total = 0.0;
    for (int a = 0; a < k; a++)
        total += exp(((double)scores[a] - top) / temperature);
    for (int a = 0; a < k; a++)
        probs[a] = (float)(exp(((double)scores[a] - top) / temperature) / total);
}

/* SquareCB / FALCON inverse gap weighting. When the non-greedy masses sum
 * above 1 they are rescaled to sum to exactly 1 and the greedy action gets
 * nothing, as the design specifies. */
static void igw_probs(double mu, double gamma, const float *scores, int k, float *probs)
{
    int best = fcb_argmax(scores, k);
    double top = scores[best];
    if (mu <= 0.0)
        mu = k;
    double others = 0.0;
    for (int a = 0; a < k; a++) {
        if (a == best)
            continue;
        others += 1.0 / (mu + gamma * (top - (double)scores[a]));
    }
    double scale = others > 1.0 ? 1.0 / others : 1.0;
    for (int a = 0; a < k; a++) {
        if (a != best)
            probs[a] = (float)(scale / (mu + gamma * (top - (double)scores[a])));
    }
    probs[best] = others > 1.0 ? 0.0f : (float)(1.0 - others);
}

static void uniform_probs(int k, float *probs)
{
    for (int a = 0; a < k; a++)
        probs[a] = 1.0f / (float)k;
}

/* The config is already validated, k >= 1 and the scores finite. */
static void row_probs(const fcb_policy_config *config, const float *scores, int k, float *probs)
{
    switch (config->kind) {
    case FCB_POLICY_GREEDY:
        greedy_probs(scores, k, probs);
        break;
    case FCB_POLICY_EPSILON_GREEDY:
        epsilon_greedy_probs(config->epsilon, scores, k, probs);
        break;
    case FCB_POLICY_SOFTMAX:
        softmax_probs(config->temperature, scores, k, probs);
        break;
    case FCB_POLICY_IGW:
        igw_probs(config->igw_mu, config->igw_gamma, scores, k, probs);
        break;
    case FCB_POLICY_UNIFORM:
    case FCB_POLICY_LINUCB:
    case FCB_POLICY_THOMPSON:
        uniform_probs(k, probs);
        break;
    }
}

static fcb_status check_score_policy(const fcb_policy_config *config, const char *where)
{
    fcb_status status = fcb_policy_config_validate(config);
    if (status != FCB_OK)
        return fcb_fail_context(status, "%s", where);
    if (fcb_policy_is_linear(config->kind))
        return fcb_fail(FCB_ERR_ARG,
                        "%s: policy '%s' acts on a linear posterior, not on scores "
                        "(use linear_bandit.h)",
                        where, fcb_policy_kind_name(config->kind));
    return FCB_OK;
}

fcb_status fcb_policy_probs(const fcb_policy_config *config, const float *scores, int k,
                            float *probs)
{
    fcb_status status = check_score_policy(config, "policy_probs");
    if (status != FCB_OK)
        return status;
    if (k < 1)
        return fcb_fail(FCB_ERR_ARG, "policy_probs: k = %d actions, need at least 1", k);
    if (scores == NULL || probs == NULL)
        return fcb_fail(FCB_ERR_ARG, "policy_probs: NULL scores or probs");
    int bad = first_non_finite(scores, k);
    if (bad >= 0)
        return fcb_fail(FCB_ERR_ARG, "policy_probs: score of action %d is not finite (%g)", bad,
                        (double)scores[bad]);
    row_probs(config, scores, k, probs);
    return FCB_OK;
}

/* Inverse CDF of one uniform. Float rounding can leave u above the last
 * cumulative sum; then the last action with positive mass is taken, so a
 * zero-probability action is never sampled. */
static int sample_action(const float *probs, int k, double u)
{
    double cumulative = 0.0;
    int last_positive = 0;
    for (int a = 0; a < k; a++) {
        if (probs[a] <= 0.0f)
            continue;
        cumulative += probs[a];
        last_positive = a;
        if (u < cumulative)
            return a;
    }
    return last_positive;
}

fcb_status fcb_policy_act(const fcb_policy_config *config, const float *scores, int n, int k,
                          fcb_rng *rng, float *probs, int *actions, float *propensities)
{
    fcb_status status = check_score_policy(config, "policy_act");
    if (status != FCB_OK)
        return status;
    if (k < 1)
        return fcb_fail(FCB_ERR_ARG, "policy_act: k = %d actions, need at least 1", k);
    if (n < 1)
        return fcb_fail(FCB_ERR_ARG, "policy_act: n = %d rows, need at least 1", n);
    if (scores == NULL || rng == NULL || probs == NULL || actions == NULL || propensities == NULL)
        return fcb_fail(FCB_ERR_ARG, "policy_act: NULL scores, rng or output buffer");
    for (int i = 0; i < n; i++) {
        const float *row_scores = scores + (size_t)i * k;
        float *row = probs + (size_t)i * k;
        int bad = first_non_finite(row_scores, k);
        if (bad >= 0)
            return fcb_fail(FCB_ERR_ARG, "policy_act: row %d: score of action %d is not finite (%g)",
                            i, bad, (double)row_scores[bad]);
        row_probs(config, row_scores, k, row);
        /* Every policy draws exactly one uniform per row, greedy included, so
         * the streams of different policies stay aligned. */
        double u = fcb_rng_uniform(rng);
        int action = sample_action(row, k, u);
        actions[i] = action;
        propensities[i] = row[action];
    }
    return FCB_OK;
}
