#include "server_optimizer.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "name_table.h"

/* steps is saved as two floats holding 24 bits each (exact in a float). */
enum { STEPS_FLOATS = 2 };
static const long STEPS_RADIX = 1L << 24;

fcb_server_opt_config fcb_server_opt_config_defaults(fcb_server_opt_kind kind)
{
    fcb_server_opt_config config;
    config.kind = kind;
    config.learning_rate = kind == FCB_SERVER_SGD ? 1.0f : 0.01f;
    config.momentum = 0.0f;
    config.beta1 = 0.9f;
    config.beta2 = 0.99f;
    config.tau = 1e-3f;
    config.bias_correction = 0;
    return config;
}

static int in_unit_interval(float value)
{
    return value >= 0.0f && value < 1.0f; /* false for NaN */
}

fcb_status fcb_server_opt_config_validate(const fcb_server_opt_config *config)
{
    if (config->kind != FCB_SERVER_SGD && config->kind != FCB_SERVER_ADAM &&
        config->kind != FCB_SERVER_YOGI && config->kind != FCB_SERVER_ADAGRAD)
        return fcb_fail(FCB_ERR_CONFIG, "server.optimizer: unknown kind %d", (int)config->kind);
    if (!(config->learning_rate > 0.0f) || !isfinite(config->learning_rate))
        return fcb_fail(FCB_ERR_CONFIG, "server.learning_rate must be > 0 and finite (got %g)",
                        (double)config->learning_rate);
    if (!in_unit_interval(config->momentum))
        return fcb_fail(FCB_ERR_CONFIG, "server.momentum must be in [0, 1) (got %g)",
                        (double)config->momentum);
    if (!in_unit_interval(config->beta1))
        return fcb_fail(FCB_ERR_CONFIG, "server.beta1 must be in [0, 1) (got %g)",
                        (double)config->beta1);
    if (!in_unit_interval(config->beta2))
        return fcb_fail(FCB_ERR_CONFIG, "server.beta2 must be in [0, 1) (got %g)",
                        (double)config->beta2);
    if (!(config->tau > 0.0f) || !isfinite(config->tau))
        return fcb_fail(FCB_ERR_CONFIG, "server.tau must be > 0 and finite (got %g)",
                        (double)config->tau);
    if (config->bias_correction != 0 && config->bias_correction != 1)
        return fcb_fail(FCB_ERR_CONFIG, "server.bias_correction must be true or false");
    if (config->bias_correction && config->kind != FCB_SERVER_ADAM)
        return fcb_fail(FCB_ERR_CONFIG, "server.bias_correction applies to optimizer = adam only (got %s)",
                        fcb_server_opt_kind_name(config->kind));
    return FCB_OK;
}

static const fcb_name_entry KIND_NAMES[] = {
    {"sgd", FCB_SERVER_SGD},
    {"adam", FCB_SERVER_ADAM},
    {"yogi", FCB_SERVER_YOGI},
    {"adagrad", FCB_SERVER_ADAGRAD},
};

fcb_status fcb_server_opt_kind_from_name(const char *name, fcb_server_opt_kind *out)
{
    int value = 0;
    fcb_status st =
        fcb_name_lookup(KIND_NAMES, sizeof KIND_NAMES / sizeof KIND_NAMES[0], "server.optimizer", name, &value);
    if (st == FCB_OK)
        *out = (fcb_server_opt_kind)value;
    return st;
}

const char *fcb_server_opt_kind_name(fcb_server_opt_kind kind)
{
    return fcb_name_of(KIND_NAMES, sizeof KIND_NAMES / sizeof KIND_NAMES[0], (int)kind);
}

static int has_first_moment(const fcb_server_opt_config *config)
{
    return config->kind != FCB_SERVER_SGD || config->momentum > 0.0f;
}

static int has_second_moment(const fcb_server_opt_config *config)
{
    return config->kind != FCB_SERVER_SGD;
}

fcb_status fcb_server_optimizer_init(fcb_server_optimizer *opt, const fcb_server_opt_config *config,
                                     size_t dim)
{
    memset(opt, 0, sizeof *opt);
    fcb_status status = fcb_server_opt_config_validate(config);
    if (status != FCB_OK)
        return status;
    if (dim == 0)
        return fcb_fail(FCB_ERR_ARG, "server optimizer: dim must be > 0");

    opt->config = *config;
    opt->dim = dim;
    if (has_first_moment(config))
        opt->m = calloc(dim, sizeof *opt->m);
    if (has_second_moment(config))
        opt->v = malloc(dim * sizeof *opt->v);
    if ((has_first_moment(config) && !opt->m) || (has_second_moment(config) && !opt->v)) {
        fcb_server_optimizer_free(opt);
        return fcb_fail(FCB_ERR_NOMEM, "server optimizer: cannot allocate state for %zu parameters",
                        dim);
    }
    if (opt->v) {
        float tau_squared = config->bias_correction ? 0.0f : config->tau * config->tau;
        for (size_t j = 0; j < dim; j++)
            opt->v[j] = tau_squared;
    }
    return FCB_OK;
}

void fcb_server_optimizer_free(fcb_server_optimizer *opt)
{
    free(opt->m);
    free(opt->v);
    memset(opt, 0, sizeof *opt);
}

typedef struct {
    double x, m, v;
} element_state;

static double sign(double value)
{
    return (double)((value > 0.0) - (value < 0.0));
}

/* Keras' bias-corrected step size at step t = steps + 1; lr without correction. */
static double step_size(const fcb_server_opt_config *c, long steps)
{
    if (!c->bias_correction)
        return c->learning_rate;
    double t = (double)steps + 1.0;
    return c->learning_rate * sqrt(1.0 - pow(c->beta2, t)) / (1.0 - pow(c->beta1, t));
}

/* One parameter's step, in double; m and v are 0 where the kind has none. */
static element_state step_element(const fcb_server_opt_config *c, double lr, element_state s, double d)
{
    double b1 = c->beta1;
    double b2 = c->beta2;
    element_state next = s;
    if (c->kind == FCB_SERVER_SGD) {
        if (c->momentum > 0.0f) {
            next.m = (double)c->momentum * s.m + d;
            next.x = s.x + lr * next.m;
        } else {
            next.x = s.x + lr * d;
        }
        return next;
    }

    next.m = b1 * s.m + (1.0 - b1) * d;
    double d2 = d * d;
    switch (c->kind) {
    case FCB_SERVER_ADAGRAD: next.v = s.v + d2; break;
    case FCB_SERVER_ADAM: next.v = b2 * s.v + (1.0 - b2) * d2; break;
    case FCB_SERVER_YOGI: next.v = s.v - (1.0 - b2) * d2 * sign(s.v - d2); break;
    case FCB_SERVER_SGD: break;
    }
    next.x = s.x + lr * next.m / (sqrt(next.v) + (double)c->tau);
    return next;
}

static int fits_float(double value)
{
    return isfinite(value) && fabs(value) <= FLT_MAX;
}

static element_state load_element(const fcb_server_optimizer *opt, const float *params, size_t j)
{
    element_state s;
    s.x = params[j];
    s.m = opt->m ? opt->m[j] : 0.0;
    s.v = opt->v ? opt->v[j] : 0.0;
    return s;
}

/* Plain SGD (x + lr d, no state), the default: the same arithmetic as
 * step_element in two flat loops, which matter when rounds are tiny. */
static fcb_status apply_plain_sgd(fcb_server_optimizer *opt, float *params, const float *mean_delta, double lr)
{
    int bad = 0;
    for (size_t j = 0; j < opt->dim; j++)
        bad |= !fits_float((double)params[j] + lr * (double)mean_delta[j]);
    if (bad) {
        for (size_t j = 0; j < opt->dim; j++) {
            if (!isfinite(mean_delta[j]))
                return fcb_fail(FCB_ERR_NUMERIC, "server optimizer: mean delta value %zu is %s", j,
                                isnan(mean_delta[j]) ? "NaN" : "infinite");
            if (!fits_float((double)params[j] + lr * (double)mean_delta[j]))
                return fcb_fail(FCB_ERR_NUMERIC,
                                "server optimizer: step overflows at parameter %zu (value %g, delta %g)", j,
                                (double)params[j], (double)mean_delta[j]);
        }
    }
    for (size_t j = 0; j < opt->dim; j++)
        params[j] = (float)((double)params[j] + lr * (double)mean_delta[j]);
    opt->steps++;
    return FCB_OK;
}

fcb_status fcb_server_optimizer_apply(fcb_server_optimizer *opt, float *params,
                                      const float *mean_delta)
{
    if (!params || !mean_delta)
        return fcb_fail(FCB_ERR_ARG, "server optimizer: params or mean_delta is NULL");

    double lr = step_size(&opt->config, opt->steps);
    if (opt->config.kind == FCB_SERVER_SGD && !(opt->config.momentum > 0.0f))
        return apply_plain_sgd(opt, params, mean_delta, lr);
    /* First pass only checks, so that a failure leaves everything unchanged. */
    for (size_t j = 0; j < opt->dim; j++) {
        if (!isfinite(mean_delta[j]))
            return fcb_fail(FCB_ERR_NUMERIC, "server optimizer: mean delta value %zu is %s", j,
                            isnan(mean_delta[j]) ? "NaN" : "infinite");
        element_state next = step_element(&opt->config, lr, load_element(opt, params, j), mean_delta[j]);
        if (!fits_float(next.x) || !fits_float(next.m) || !fits_float(next.v))
            return fcb_fail(FCB_ERR_NUMERIC,
                            "server optimizer: step overflows at parameter %zu (value %g, delta %g)",
                            j, (double)params[j], (double)mean_delta[j]);
    }

    for (size_t j = 0; j < opt->dim; j++) {
        element_state next = step_element(&opt->config, lr, load_element(opt, params, j), mean_delta[j]);
        params[j] = (float)next.x;
        if (opt->m)
            opt->m[j] = (float)next.m;
        if (opt->v)
            opt->v[j] = (float)next.v;
    }
    opt->steps++;
    return FCB_OK;
}

size_t fcb_server_optimizer_state_size(const fcb_server_optimizer *opt)
{
    size_t n = STEPS_FLOATS;
    if (opt->m)
        n += opt->dim;
    if (opt->v)
        n += opt->dim;
    return n;
}

fcb_status fcb_server_optimizer_save(const fcb_server_optimizer *opt, float *state, size_t n)
{
    size_t expected = fcb_server_optimizer_state_size(opt);
    if (!state || n != expected)
        return fcb_fail(FCB_ERR_ARG, "server optimizer save: buffer of %zu floats, state has %zu",
                        state ? n : 0, expected);
    if (opt->steps < 0 || opt->steps / STEPS_RADIX >= STEPS_RADIX)
        return fcb_fail(FCB_ERR_STATE, "server optimizer save: step count %ld out of range",
                        opt->steps);

    state[0] = (float)(opt->steps % STEPS_RADIX);
    state[1] = (float)(opt->steps / STEPS_RADIX);
    float *out = state + STEPS_FLOATS;
    if (opt->m) {
        memcpy(out, opt->m, opt->dim * sizeof *out);
        out += opt->dim;
    }
    if (opt->v)
        memcpy(out, opt->v, opt->dim * sizeof *out);
    return FCB_OK;
}

/* A 24-bit half of the step count; the high half must also fit a long. */
static int is_count_part(float value, long limit)
{
    return value >= 0.0f && value < (float)STEPS_RADIX && (double)value <= (double)limit &&
           floorf(value) == value;
}

fcb_status fcb_server_optimizer_load(fcb_server_optimizer *opt, const float *state, size_t n)
{
    size_t expected = fcb_server_optimizer_state_size(opt);
    if (!state || n != expected)
        return fcb_fail(FCB_ERR_FORMAT,
                        "server optimizer load: state has %zu floats, %s optimizer of %zu parameters needs %zu",
                        state ? n : 0, fcb_server_opt_kind_name(opt->config.kind), opt->dim, expected);
    if (!is_count_part(state[0], LONG_MAX) || !is_count_part(state[1], LONG_MAX / STEPS_RADIX - 1))
        return fcb_fail(FCB_ERR_FORMAT,
                        "server optimizer load: step count (%g, %g) is not two integers in [0, 2^24)",
                        (double)state[0], (double)state[1]);

    const float *m = opt->m ? state + STEPS_FLOATS : NULL;
    const float *v = opt->v ? state + STEPS_FLOATS + (m ? opt->dim : 0) : NULL;
    for (size_t j = 0; m && j < opt->dim; j++) {
        if (!isfinite(m[j]))
            return fcb_fail(FCB_ERR_FORMAT, "server optimizer load: m[%zu] is not finite", j);
    }
    for (size_t j = 0; v && j < opt->dim; j++) {
        if (!isfinite(v[j]) || v[j] < 0.0f)
            return fcb_fail(FCB_ERR_FORMAT, "server optimizer load: v[%zu] = %g must be finite and >= 0",
                            j, (double)v[j]);
    }

    opt->steps = (long)state[0] + (long)state[1] * STEPS_RADIX;
    if (m)
        memcpy(opt->m, m, opt->dim * sizeof *m);
    if (v)
        memcpy(opt->v, v, opt->dim * sizeof *v);
    return FCB_OK;
}
