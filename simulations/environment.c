/* Supervised-to-bandit environment: reward table, implicit (click) feedback
 * with optional per-client noise, and the drift schedules. */
#include "environment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "name_table.h"

static const fcb_name_entry DRIFT_NAMES[] = {
    {"none", FCB_DRIFT_NONE},       {"prior", FCB_DRIFT_PRIOR},
    {"permutation", FCB_DRIFT_PERMUTATION}, {"gradual", FCB_DRIFT_GRADUAL},
    {"late_classes", FCB_DRIFT_LATE_CLASSES},
};

fcb_status fcb_drift_kind_from_name(const char *name, fcb_drift_kind *out)
{
    int value = 0;
    fcb_status st = fcb_name_lookup(DRIFT_NAMES, sizeof DRIFT_NAMES / sizeof DRIFT_NAMES[0], "drift.kind", name,
                                    &value);
    if (st == FCB_OK)
        *out = (fcb_drift_kind)value;
    return st;
}

static const double FCB_ENV_TWO_PI = 6.283185307179586476925286766559;

/* The per-client noise stream: (seed, FEEDBACK, client, NOISE_ROUND). Round
 * numbers never reach it, so it is disjoint from the per-round streams. */
static const uint32_t NOISE_ROUND = 0xFFFFFFFFu;

static int has_fixed_point(const int *permutation, int k)
{
    for (int i = 0; i < k; i++)
        if (permutation[i] == i)
            return 1;
    return 0;
}

/* A uniformly random derangement by rejection (about e tries on average). */
static void draw_derangement(int *permutation, int k, uint64_t seed)
{
    for (int i = 0; i < FCB_MAX_CLASSES; i++)
        permutation[i] = i;
    if (k < 2)
        return;
    fcb_rng rng;
    fcb_rng_init(&rng, seed, FCB_STREAM_DRIFT, 0, 0);
    do {
        for (int i = 0; i < k; i++)
            permutation[i] = i;
        fcb_rng_shuffle_int(&rng, permutation, k);
    } while (has_fixed_point(permutation, k));
}

fcb_status fcb_environment_init(fcb_environment *env, int num_classes, uint64_t seed)
{
    if (!env)
        return fcb_fail(FCB_ERR_ARG, "environment init: NULL environment");
    memset(env, 0, sizeof *env);
    if (num_classes < 1 || num_classes > FCB_MAX_CLASSES)
        return fcb_fail(FCB_ERR_ARG, "environment init: num_classes = %d must be in [1, %d]", num_classes,
                        FCB_MAX_CLASSES);
    size_t k = (size_t)num_classes;
    env->reward_table = calloc(k * k, sizeof *env->reward_table);
    if (!env->reward_table)
        return fcb_fail(FCB_ERR_NOMEM, "environment init: cannot allocate a %d x %d reward table", num_classes,
                        num_classes);
    for (size_t c = 0; c < k; c++)
        env->reward_table[c * k + c] = 1.0f;
    env->num_classes = num_classes;
    env->click_feedback = 0;
    env->p_click = 1.0f;
    env->p_false = 0.0f;
    env->noise_spread = 0.0f;
    env->drift = FCB_DRIFT_NONE;
    env->drift_start = 0;
    env->drift_duration = 1;
    env->drift_period = 1;
    env->drift_strength = 0.0f;
    env->num_late_classes = 0;
    env->seed = seed;
    draw_derangement(env->permutation, num_classes, seed);
    return FCB_OK;
}

void fcb_environment_free(fcb_environment *env)
{
    if (!env)
        return;
    free(env->reward_table);
    env->reward_table = NULL;
}

static int in_unit_interval(float v)
{
    return isfinite(v) && v >= 0.0f && v <= 1.0f;
}

static fcb_status check_probability(const char *field, float value)
{
    if (!in_unit_interval(value))
        return fcb_fail(FCB_ERR_CONFIG, "environment: %s = %g must be in [0, 1]", field, (double)value);
    return FCB_OK;
}

static fcb_status check_reward_table(const fcb_environment *env)
{
    int k = env->num_classes;
    if (!env->reward_table)
        return fcb_fail(FCB_ERR_CONFIG, "environment: reward_table is NULL");
    for (int y = 0; y < k; y++) {
        for (int a = 0; a < k; a++) {
            float v = env->reward_table[(size_t)y * k + a];
            if (!in_unit_interval(v))
                return fcb_fail(FCB_ERR_CONFIG, "environment: reward_table[%d][%d] = %g must be in [0, 1]", y, a,
                                (double)v);
        }
    }
    return FCB_OK;
}

static fcb_status check_permutation(const fcb_environment *env)
{
    int seen[FCB_MAX_CLASSES] = {0};
    for (int i = 0; i < env->num_classes; i++) {
        int p = env->permutation[i];
        if (p < 0 || p >= env->num_classes || seen[p])
            return fcb_fail(FCB_ERR_CONFIG, "environment: permutation[%d] = %d does not make a permutation of [0, %d)",
                            i, p, env->num_classes);
        seen[p] = 1;
    }
    return FCB_OK;
}

static fcb_status check_drift(const fcb_environment *env)
{
    switch (env->drift) {
    case FCB_DRIFT_NONE:
    case FCB_DRIFT_LATE_CLASSES:
        return FCB_OK;
    case FCB_DRIFT_PERMUTATION:
        return check_permutation(env);
    case FCB_DRIFT_GRADUAL:
        if (env->drift_duration <= 0)
            return fcb_fail(FCB_ERR_CONFIG, "environment: drift_duration = %d must be > 0 for gradual drift",
                            env->drift_duration);
        return check_permutation(env);
    case FCB_DRIFT_PRIOR:
        if (env->drift_period <= 0)
            return fcb_fail(FCB_ERR_CONFIG, "environment: drift_period = %d must be > 0 for prior drift",
                            env->drift_period);
        return check_probability("drift_strength", env->drift_strength);
    }
    return fcb_fail(FCB_ERR_CONFIG, "environment: drift = %d is not a known drift kind", (int)env->drift);
}

fcb_status fcb_environment_validate(const fcb_environment *env)
{
    if (!env)
        return fcb_fail(FCB_ERR_ARG, "environment validate: NULL environment");
    if (env->num_classes < 1 || env->num_classes > FCB_MAX_CLASSES)
        return fcb_fail(FCB_ERR_CONFIG, "environment: num_classes = %d must be in [1, %d]", env->num_classes,
                        FCB_MAX_CLASSES);
    fcb_status st = check_reward_table(env);
    if (st != FCB_OK)
        return st;
    if (env->click_feedback != 0 && env->click_feedback != 1)
        return fcb_fail(FCB_ERR_CONFIG, "environment: click_feedback = %d must be 0 or 1", env->click_feedback);
    if ((st = check_probability("p_click", env->p_click)) != FCB_OK)
        return st;
    if ((st = check_probability("p_false", env->p_false)) != FCB_OK)
        return st;
    if ((st = check_probability("noise_spread", env->noise_spread)) != FCB_OK)
        return st;
    if (env->drift_start < 0)
        return fcb_fail(FCB_ERR_CONFIG, "environment: drift_start = %d must be >= 0", env->drift_start);
    if (env->num_late_classes < 0 || env->num_late_classes > env->num_classes)
        return fcb_fail(FCB_ERR_CONFIG, "environment: num_late_classes = %d must be in [0, %d]",
                        env->num_late_classes, env->num_classes);
    for (int i = 0; i < env->num_late_classes; i++) {
        int c = env->late_classes[i];
        if (c < 0 || c >= env->num_classes)
            return fcb_fail(FCB_ERR_CONFIG, "environment: late_classes[%d] = %d is not a class in [0, %d)", i, c,
                            env->num_classes);
    }
    return check_drift(env);
}

fcb_status fcb_environment_set_partial_reward(fcb_environment *env, int label, int action, float reward)
{
    if (!env || !env->reward_table)
        return fcb_fail(FCB_ERR_ARG, "environment set_partial_reward: environment not initialised");
    if (label < 0 || label >= env->num_classes)
        return fcb_fail(FCB_ERR_ARG, "environment set_partial_reward: label = %d outside [0, %d)", label,
                        env->num_classes);
    if (action < 0 || action >= env->num_classes)
        return fcb_fail(FCB_ERR_ARG, "environment set_partial_reward: action = %d outside [0, %d)", action,
                        env->num_classes);
    if (!in_unit_interval(reward))
        return fcb_fail(FCB_ERR_ARG, "environment set_partial_reward: reward = %g must be in [0, 1]",
                        (double)reward);
    env->reward_table[(size_t)label * env->num_classes + action] = reward;
    return FCB_OK;
}

/* Fraction of examples carrying the permuted label at `round` under
 * gradual drift: 1/duration at `start`, 1 from start + duration - 1. */
static double gradual_fraction(const fcb_environment *env, int round)
{
    if (env->drift_duration <= 0)
        return round >= env->drift_start ? 1.0 : 0.0;
    double f = (double)(round - env->drift_start + 1) / env->drift_duration;
    return f < 0.0 ? 0.0 : (f > 1.0 ? 1.0 : f);
}

int fcb_environment_label_at(const fcb_environment *env, int y, int round, fcb_rng *rng)
{
    if (!env || y < 0 || y >= env->num_classes)
        return y;
    switch (env->drift) {
    case FCB_DRIFT_PERMUTATION:
        return round >= env->drift_start ? env->permutation[y] : y;
    case FCB_DRIFT_GRADUAL: {
        /* Always one draw, so the stream stays aligned before, during and after the drift. */
        double u = rng ? fcb_rng_uniform(rng) : 0.5;
        return u < gradual_fraction(env, round) ? env->permutation[y] : y;
    }
    case FCB_DRIFT_NONE:
    case FCB_DRIFT_PRIOR:
    case FCB_DRIFT_LATE_CLASSES:
        return y;
    }
    return y;
}

float fcb_environment_true_reward(const fcb_environment *env, int label_at_round, int action)
{
    if (!env || !env->reward_table || label_at_round < 0 || label_at_round >= env->num_classes || action < 0 ||
        action >= env->num_classes)
        return 0.0f;
    return env->reward_table[(size_t)label_at_round * env->num_classes + action];
}

static double clamp_unit(double v)
{
    return v < 0.0 ? 0.0 : (v > 1.0 ? 1.0 : v);
}

double fcb_environment_click_probability(const fcb_environment *env, int client, int label_at_round, int action)
{
    float reward = fcb_environment_true_reward(env, label_at_round, action);
    if (!env || !env->click_feedback)
        return reward;
    double p_click = env->p_click, p_false = env->p_false;
    if (env->noise_spread > 0.0f) {
        /* Recomputed per call: one Philox block, cheaper than a per-client table. */
        fcb_rng noise;
        fcb_rng_init(&noise, env->seed, FCB_STREAM_FEEDBACK, (uint32_t)client, NOISE_ROUND);
        double shift = env->noise_spread * (2.0 * fcb_rng_uniform(&noise) - 1.0);
        p_click = clamp_unit(p_click + shift);
        p_false = clamp_unit(p_false + shift);
    }
    return p_false + (p_click - p_false) * reward;
}

float fcb_environment_observe(const fcb_environment *env, int client, int label_at_round, int action, fcb_rng *rng)
{
    if (!env || !env->click_feedback)
        return fcb_environment_true_reward(env, label_at_round, action);
    double p = fcb_environment_click_probability(env, client, label_at_round, action);
    double u = rng ? fcb_rng_uniform(rng) : 0.5;
    return u < p ? 1.0f : 0.0f;
}

double fcb_environment_class_weight(const fcb_environment *env, int c, int round)
{
    if (!env || c < 0 || c >= env->num_classes)
        return 0.0;
    switch (env->drift) {
    case FCB_DRIFT_PRIOR:
        if (env->drift_period <= 0)
            return 1.0;
        return 1.0 + env->drift_strength * cos(FCB_ENV_TWO_PI * ((double)round / env->drift_period -
                                                                 (double)c / env->num_classes));
    case FCB_DRIFT_LATE_CLASSES:
        if (round >= env->drift_start)
            return 1.0;
        for (int i = 0; i < env->num_late_classes && i < FCB_MAX_CLASSES; i++)
            if (env->late_classes[i] == c)
                return 0.0;
        return 1.0;
    case FCB_DRIFT_NONE:
    case FCB_DRIFT_PERMUTATION:
    case FCB_DRIFT_GRADUAL:
        return 1.0;
    }
    return 1.0;
}
