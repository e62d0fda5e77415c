#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "vec.h"
#include "rng.h"
#include "server_optimizer.h"
#include "update_check.h"

enum { DIM = 24, STEPS = 3 };

/* ---- independent double-precision reference (Reddi et al. 2021, Alg. 2) ---- */

typedef struct {
    double x[DIM], m[DIM], v[DIM];
    double m_scale[DIM]; /* same recursion on |terms|: the size float rounding is relative to */
    double v_scale[DIM];
    int yogi_grew, yogi_shrank;
    int t; /* steps taken */
} reference;

static void reference_init(reference *ref, const float *x0, const fcb_server_opt_config *c)
{
    memset(ref, 0, sizeof *ref);
    double v0 = c->bias_correction ? 0.0 : (double)c->tau * c->tau;
    for (int j = 0; j < DIM; j++) {
        ref->x[j] = x0[j];
        ref->v[j] = v0;
        ref->v_scale[j] = v0;
    }
}

static void reference_step(reference *ref, const fcb_server_opt_config *c, const float *delta)
{
    double lr = c->learning_rate, b1 = c->beta1, b2 = c->beta2, tau = c->tau, mu = c->momentum;
    ref->t++;
    if (c->bias_correction) /* Keras: lr_t = lr sqrt(1 - b2^t) / (1 - b1^t) */
        lr = lr * sqrt(1.0 - pow(b2, ref->t)) / (1.0 - pow(b1, ref->t));
    for (int j = 0; j < DIM; j++) {
        double d = delta[j];
        if (c->kind == FCB_SERVER_SGD) {
            if (mu == 0.0) {
                ref->x[j] += lr * d;
            } else {
                ref->m[j] = mu * ref->m[j] + d;
                ref->m_scale[j] = mu * ref->m_scale[j] + fabs(d);
                ref->x[j] += lr * ref->m[j];
            }
            continue;
        }
        ref->m[j] = b1 * ref->m[j] + (1 - b1) * d;
        ref->m_scale[j] = b1 * ref->m_scale[j] + (1 - b1) * fabs(d);
        if (c->kind == FCB_SERVER_ADAGRAD) {
            ref->v[j] = ref->v[j] + d * d;
        } else if (c->kind == FCB_SERVER_ADAM) {
            ref->v[j] = b2 * ref->v[j] + (1 - b2) * d * d;
        } else {
            if (ref->v[j] > d * d) {
                ref->v[j] = ref->v[j] - (1 - b2) * d * d;
                ref->yogi_shrank++;
            } else if (ref->v[j] < d * d) {
                ref->v[j] = ref->v[j] + (1 - b2) * d * d;
                ref->yogi_grew++;
            }
        }
        ref->v_scale[j] += d * d;
        ref->x[j] += lr * ref->m[j] / (sqrt(ref->v[j]) + tau);
    }
}

/* x0 in [1, 2]; steps of size ~0.5, except that the last step is tiny on
 * the even coordinates so that Yogi's v also shrinks there. */
static void make_data(float *x0, float deltas[STEPS][DIM], uint32_t stream)
{
    fcb_rng rng;
    fcb_rng_init(&rng, 99, FCB_STREAM_TEST, stream, 0);
    for (int j = 0; j < DIM; j++)
        x0[j] = (float)(1.0 + fcb_rng_uniform(&rng));
    for (int t = 0; t < STEPS; t++) {
        for (int j = 0; j < DIM; j++) {
            double scale = (t == STEPS - 1 && j % 2 == 0) ? 1e-3 : 0.5;
            deltas[t][j] = (float)(scale * fcb_rng_normal(&rng));
        }
    }
}

static void check_against_reference(const fcb_server_opt_config *config, uint32_t stream)
{
    float x0[DIM], deltas[STEPS][DIM], params[DIM];
    make_data(x0, deltas, stream);
    memcpy(params, x0, sizeof params);

    fcb_server_optimizer opt;
    assert_int_equal(fcb_server_optimizer_init(&opt, config, DIM), FCB_OK);
    reference ref;
    reference_init(&ref, x0, config);
    for (int t = 0; t < STEPS; t++) {
        assert_int_equal(fcb_server_optimizer_apply(&opt, params, deltas[t]), FCB_OK);
        reference_step(&ref, config, deltas[t]);
    }
    assert_int_equal(opt.steps, STEPS);

    double moved = 0.0;
    for (int j = 0; j < DIM; j++) {
        assert_true(fabs(params[j] - ref.x[j]) <= 1e-6 * fabs(ref.x[j]));
        moved = fmax(moved, fabs(ref.x[j] - x0[j]));
        if (opt.m)
            assert_true(fabs(opt.m[j] - ref.m[j]) <= 1e-6 * ref.m_scale[j]);
        if (opt.v)
            assert_true(fabs(opt.v[j] - ref.v[j]) <= 1e-6 * ref.v_scale[j]);
    }
    /* The comparison is meaningful: the steps moved x far beyond the tolerance. */
    assert_true(moved > 1e-2);
    if (config->kind == FCB_SERVER_YOGI)
        assert_true(ref.yogi_grew > 0 && ref.yogi_shrank > 0);
    fcb_server_optimizer_free(&opt);
}

static fcb_server_opt_config config_for(fcb_server_opt_kind kind)
{
    fcb_server_opt_config config = fcb_server_opt_config_defaults(kind);
    config.learning_rate = 0.1f;
    return config;
}

static void test_sgd_matches_reference(void **state)
{
    (void)state;
    fcb_server_opt_config config = fcb_server_opt_config_defaults(FCB_SERVER_SGD);
    config.learning_rate = 0.7f;
    check_against_reference(&config, 1);
    config.momentum = 0.9f;
    check_against_reference(&config, 2);
}

static void test_adam_matches_reference(void **state)
{
    (void)state;
    fcb_server_opt_config config = config_for(FCB_SERVER_ADAM);
    check_against_reference(&config, 3);
}

static void test_bias_corrected_adam_matches_reference(void **state)
{
    (void)state;
    fcb_server_opt_config config = config_for(FCB_SERVER_ADAM);
    config.bias_correction = 1;
    check_against_reference(&config, 6);
}

/* A constant delta d gives m_t = (1 - b1^t) d and v_t = (1 - b2^t) d^2, so
 * each bias-corrected step is exactly lr d / (|d| + tau / sqrt(1 - b2^t)):
 * about lr in size from the first step on, where the uncorrected first step is
 * lr (1 - b1) d / (sqrt(1 - b2) |d| + tau): 3.16 lr at b1 0.9, b2 0.999. */
static void test_bias_corrected_adam_constant_delta_closed_form(void **state)
{
    (void)state;
    fcb_server_opt_config config = fcb_server_opt_config_defaults(FCB_SERVER_ADAM);
    config.learning_rate = 0.01f;
    config.beta2 = 0.999f;
    config.tau = 1e-7f;
    config.bias_correction = 1;
    const double d = -0.3;
    float x = 2.0f, delta = (float)d;
    double expected = 2.0;
    fcb_server_optimizer opt;
    assert_int_equal(fcb_server_optimizer_init(&opt, &config, 1), FCB_OK);
    for (int t = 1; t <= 50; t++) {
        float before = x;
        assert_int_equal(fcb_server_optimizer_apply(&opt, &x, &delta), FCB_OK);
        double step = (double)config.learning_rate * (double)delta /
                      (fabs((double)delta) + (double)config.tau / sqrt(1.0 - pow(config.beta2, t)));
        expected += step;
        assert_true(fabs(((double)x - (double)before) - step) <= 1e-6 * fabs(step) + 4e-7);
        assert_true(fabs(step + (double)config.learning_rate) < 1e-4); /* about -lr every step */
    }
    assert_true(fabs((double)x - expected) <= 1e-5);
    fcb_server_optimizer_free(&opt);

    config.bias_correction = 0;
    x = 2.0f;
    assert_int_equal(fcb_server_optimizer_init(&opt, &config, 1), FCB_OK);
    assert_int_equal(fcb_server_optimizer_apply(&opt, &x, &delta), FCB_OK);
    double uncorrected = (double)config.learning_rate * (1.0 - config.beta1) * d /
                         (sqrt(1.0 - (double)config.beta2) * fabs(d) + (double)config.tau);
    assert_true(fabs(((double)x - 2.0) - uncorrected) <= 1e-6);
    assert_true(fabs(uncorrected) > 3.0 * config.learning_rate);
    fcb_server_optimizer_free(&opt);
}

static void test_yogi_matches_reference(void **state)
{
    (void)state;
    fcb_server_opt_config config = config_for(FCB_SERVER_YOGI);
    check_against_reference(&config, 4);
}

static void test_adagrad_matches_reference(void **state)
{
    (void)state;
    fcb_server_opt_config config = config_for(FCB_SERVER_ADAGRAD);
    check_against_reference(&config, 5);
}

static void test_sgd_lr1_is_fedavg(void **state)
{
    (void)state;
    float x0[DIM], deltas[STEPS][DIM], params[DIM];
    make_data(x0, deltas, 6);
    memcpy(params, x0, sizeof params);
    fcb_server_opt_config config = fcb_server_opt_config_defaults(FCB_SERVER_SGD);
    assert_true(config.learning_rate == 1.0f && config.momentum == 0.0f);
    fcb_server_optimizer opt;
    assert_int_equal(fcb_server_optimizer_init(&opt, &config, DIM), FCB_OK);
    assert_int_equal(fcb_server_optimizer_apply(&opt, params, deltas[0]), FCB_OK);
    for (int j = 0; j < DIM; j++) {
        float want = x0[j] + deltas[0][j];
        assert_memory_equal(&params[j], &want, sizeof want);
    }

    /* Through the aggregator: the new global model is the example-weighted
     * mean of the client models w + delta_i. */
    enum { CLIENTS = 3 };
    const double examples[CLIENTS] = {10, 30, 60};
    fcb_aggregator agg;
    assert_int_equal(fcb_aggregator_init(&agg, DIM, CLIENTS), FCB_OK);
    for (int i = 0; i < CLIENTS; i++)
        assert_int_equal(fcb_aggregator_add(&agg, 10 - i, deltas[i], examples[i]), FCB_OK);
    float mean[DIM], before[DIM];
    memcpy(before, params, sizeof before);
    assert_int_equal(fcb_aggregator_mean(&agg, FCB_AGG_WEIGHTED, mean), FCB_OK);
    assert_int_equal(fcb_server_optimizer_apply(&opt, params, mean), FCB_OK);
    for (int j = 0; j < DIM; j++) {
        double model_mean = 0.0;
        for (int i = 0; i < CLIENTS; i++)
            model_mean += examples[i] * ((double)before[j] + deltas[i][j]);
        model_mean /= 100.0;
        assert_true(fabs(params[j] - model_mean) <= 1e-6 * fabs(model_mean));
    }
    fcb_aggregator_free(&agg);
    fcb_server_optimizer_free(&opt);
}

static void save_state(const fcb_server_optimizer *opt, float **state, size_t *n)
{
    *n = fcb_server_optimizer_state_size(opt);
    *state = malloc(*n * sizeof **state);
    assert_non_null(*state);
    assert_int_equal(fcb_server_optimizer_save(opt, *state, *n), FCB_OK);
}

static void round_trip(const fcb_server_opt_config *config, uint32_t stream)
{
    float x0[DIM], deltas[STEPS][DIM], a_params[DIM], b_params[DIM];
    make_data(x0, deltas, stream);
    memcpy(a_params, x0, sizeof a_params);
    fcb_server_optimizer a, b;
    assert_int_equal(fcb_server_optimizer_init(&a, config, DIM), FCB_OK);
    assert_int_equal(fcb_server_optimizer_apply(&a, a_params, deltas[0]), FCB_OK);
    assert_int_equal(fcb_server_optimizer_apply(&a, a_params, deltas[1]), FCB_OK);

    float *saved;
    size_t n;
    save_state(&a, &saved, &n);
    assert_int_equal(fcb_server_optimizer_init(&b, config, DIM), FCB_OK);
    assert_int_equal(fcb_server_optimizer_load(&b, saved, n), FCB_OK);
    assert_int_equal(b.steps, 2);
    memcpy(b_params, a_params, sizeof b_params);

    assert_int_equal(fcb_server_optimizer_apply(&a, a_params, deltas[2]), FCB_OK);
    assert_int_equal(fcb_server_optimizer_apply(&b, b_params, deltas[2]), FCB_OK);
    assert_memory_equal(a_params, b_params, sizeof a_params);
    float *a_after, *b_after;
    size_t na, nb;
    save_state(&a, &a_after, &na);
    save_state(&b, &b_after, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(a_after, b_after, na * sizeof *a_after);
    /* The third step changed the state, so the comparison covers it. */
    assert_memory_not_equal(saved, a_after, n * sizeof *saved);

    free(saved);
    free(a_after);
    free(b_after);
    fcb_server_optimizer_free(&a);
    fcb_server_optimizer_free(&b);
}

static void test_state_round_trip(void **state)
{
    (void)state;
    fcb_server_opt_config sgd = fcb_server_opt_config_defaults(FCB_SERVER_SGD);
    round_trip(&sgd, 7);
    sgd.momentum = 0.5f;
    round_trip(&sgd, 8);
    const fcb_server_opt_kind adaptive[3] = {FCB_SERVER_ADAM, FCB_SERVER_YOGI, FCB_SERVER_ADAGRAD};
    for (int k = 0; k < 3; k++) {
        fcb_server_opt_config config = config_for(adaptive[k]);
        round_trip(&config, 9 + (uint32_t)k);
    }
}

static void test_state_sizes_and_bad_state(void **state)
{
    (void)state;
    fcb_server_opt_config config = config_for(FCB_SERVER_ADAM);
    fcb_server_optimizer opt;
    assert_int_equal(fcb_server_optimizer_init(&opt, &config, DIM), FCB_OK);
    assert_int_equal(fcb_server_optimizer_state_size(&opt), 2 + 2 * DIM);

    /* A step count beyond float precision survives the round trip. */
    opt.steps = (1L << 40) + 12345;
    opt.m[3] = -0.25f;
    float *saved;
    size_t n;
    save_state(&opt, &saved, &n);
    fcb_server_optimizer fresh;
    assert_int_equal(fcb_server_optimizer_init(&fresh, &config, DIM), FCB_OK);
    assert_int_equal(fcb_server_optimizer_load(&fresh, saved, n), FCB_OK);
    assert_true(fresh.steps == (1L << 40) + 12345);
    assert_true(fresh.m[3] == -0.25f);

    /* Bad states are refused and change nothing. */
    fcb_server_optimizer_free(&fresh);
    assert_int_equal(fcb_server_optimizer_init(&fresh, &config, DIM), FCB_OK);
    assert_int_equal(fcb_server_optimizer_load(&fresh, saved, n - 1), FCB_ERR_FORMAT);
    saved[2 + DIM + 4] = -1.0f; /* v[4] */
    assert_int_equal(fcb_server_optimizer_load(&fresh, saved, n), FCB_ERR_FORMAT);
    assert_non_null(strstr(fcb_last_error(), "v[4]"));
    saved[2 + DIM + 4] = 1.0f;
    saved[2 + 5] = NAN; /* m[5] */
    assert_int_equal(fcb_server_optimizer_load(&fresh, saved, n), FCB_ERR_FORMAT);
    assert_non_null(strstr(fcb_last_error(), "m[5]"));
    saved[2 + 5] = 0.0f;
    saved[0] = 1.5f;
    assert_int_equal(fcb_server_optimizer_load(&fresh, saved, n), FCB_ERR_FORMAT);
    assert_int_equal(fresh.steps, 0);
    assert_true(fresh.m[3] == 0.0f);
    assert_true(fresh.v[4] == config.tau * config.tau);
    assert_int_equal(fcb_server_optimizer_save(&fresh, saved, n + 1), FCB_ERR_ARG);

    /* SGD without momentum keeps only the step count. */
    fcb_server_opt_config sgd = fcb_server_opt_config_defaults(FCB_SERVER_SGD);
    fcb_server_optimizer plain;
    assert_int_equal(fcb_server_optimizer_init(&plain, &sgd, DIM), FCB_OK);
    assert_int_equal(fcb_server_optimizer_state_size(&plain), 2);
    assert_int_equal(fcb_server_optimizer_load(&plain, saved, n), FCB_ERR_FORMAT);

    free(saved);
    fcb_server_optimizer_free(&plain);
    fcb_server_optimizer_free(&fresh);
    fcb_server_optimizer_free(&opt);
}

static void expect_config_error(const fcb_server_opt_config *config, const char *field)
{
    assert_int_equal(fcb_server_opt_config_validate(config), FCB_ERR_CONFIG);
    assert_non_null(strstr(fcb_last_error(), field));
    fcb_server_optimizer opt;
    assert_int_equal(fcb_server_optimizer_init(&opt, config, DIM), FCB_ERR_CONFIG);
    fcb_server_optimizer_free(&opt);
}

static void test_bad_config_rejected(void **state)
{
    (void)state;
    const fcb_server_opt_kind kinds[4] = {FCB_SERVER_SGD, FCB_SERVER_ADAM, FCB_SERVER_YOGI,
                                          FCB_SERVER_ADAGRAD};
    for (int k = 0; k < 4; k++) {
        fcb_server_opt_config good = fcb_server_opt_config_defaults(kinds[k]);
        assert_int_equal(fcb_server_opt_config_validate(&good), FCB_OK);

        fcb_server_opt_config bad = good;
        bad.learning_rate = 0.0f;
        expect_config_error(&bad, "server.learning_rate must be > 0");
        bad.learning_rate = NAN;
        expect_config_error(&bad, "server.learning_rate");
        bad = good;
        bad.beta1 = 1.0f;
        expect_config_error(&bad, "server.beta1");
        bad = good;
        bad.beta2 = 1.0f;
        expect_config_error(&bad, "server.beta2");
        bad = good;
        bad.tau = 0.0f;
        expect_config_error(&bad, "server.tau");
        bad.tau = -1e-3f;
        expect_config_error(&bad, "server.tau");
        bad = good;
        bad.momentum = 1.0f;
        expect_config_error(&bad, "server.momentum");
        bad.momentum = -0.1f;
        expect_config_error(&bad, "server.momentum");
        bad = good;
        bad.bias_correction = 1;
        if (kinds[k] == FCB_SERVER_ADAM)
            assert_int_equal(fcb_server_opt_config_validate(&bad), FCB_OK);
        else
            expect_config_error(&bad, "server.bias_correction applies to optimizer = adam only");
    }

    fcb_server_opt_kind kind = FCB_SERVER_SGD;
    assert_int_equal(fcb_server_opt_kind_from_name("adamw", &kind), FCB_ERR_CONFIG);
    assert_non_null(strstr(fcb_last_error(), "adamw"));
    assert_int_equal(fcb_server_opt_kind_from_name("", &kind), FCB_ERR_CONFIG);
    assert_int_equal(fcb_server_opt_kind_from_name(NULL, &kind), FCB_ERR_CONFIG);
    assert_int_equal(kind, FCB_SERVER_SGD);
    for (int k = 0; k < 4; k++) {
        const char *name = fcb_server_opt_kind_name(kinds[k]);
        assert_int_equal(fcb_server_opt_kind_from_name(name, &kind), FCB_OK);
        assert_int_equal(kind, kinds[k]);
    }
    assert_string_equal(fcb_server_opt_kind_name(FCB_SERVER_YOGI), "yogi");

    fcb_server_opt_config good = fcb_server_opt_config_defaults(FCB_SERVER_ADAM);
    fcb_server_optimizer opt;
    assert_int_equal(fcb_server_optimizer_init(&opt, &good, 0), FCB_ERR_ARG);
}

static void test_non_finite_delta_leaves_everything_unchanged(void **state)
{
    (void)state;
    const fcb_server_opt_kind kinds[4] = {FCB_SERVER_SGD, FCB_SERVER_ADAM, FCB_SERVER_YOGI,
                                          FCB_SERVER_ADAGRAD};
    for (int k = 0; k < 4; k++) {
        fcb_server_opt_config config = config_for(kinds[k]);
        config.momentum = kinds[k] == FCB_SERVER_SGD ? 0.5f : 0.0f;
        float x0[DIM], deltas[STEPS][DIM], params[DIM], params_before[DIM];
        make_data(x0, deltas, 20 + (uint32_t)k);
        memcpy(params, x0, sizeof params);
        fcb_server_optimizer opt;
        assert_int_equal(fcb_server_optimizer_init(&opt, &config, DIM), FCB_OK);
        assert_int_equal(fcb_server_optimizer_apply(&opt, params, deltas[0]), FCB_OK);

        float *state_before, *state_after;
        size_t n, n_after;
        save_state(&opt, &state_before, &n);
        memcpy(params_before, params, sizeof params);

        /* The bad value is late, so a one-pass update would already have
         * written the first coordinates. */
        deltas[1][DIM - 2] = NAN;
        assert_int_equal(fcb_server_optimizer_apply(&opt, params, deltas[1]), FCB_ERR_NUMERIC);
        assert_non_null(strstr(fcb_last_error(), "value 22 is NaN"));
        deltas[1][DIM - 2] = -INFINITY;
        assert_int_equal(fcb_server_optimizer_apply(&opt, params, deltas[1]), FCB_ERR_NUMERIC);
        assert_non_null(strstr(fcb_last_error(), "infinite"));

        assert_memory_equal(params, params_before, sizeof params);
        save_state(&opt, &state_after, &n_after);
        assert_memory_equal(state_before, state_after, n * sizeof *state_before);
        assert_int_equal(opt.steps, 1);
        free(state_before);
        free(state_after);
        fcb_server_optimizer_free(&opt);
    }
}

static void test_overflowing_step_leaves_params_unchanged(void **state)
{
    (void)state;
    fcb_server_opt_config config = fcb_server_opt_config_defaults(FCB_SERVER_SGD);
    fcb_server_optimizer opt;
    assert_int_equal(fcb_server_optimizer_init(&opt, &config, 4), FCB_OK);
    float params[4] = {1.0f, 2.0f, 3.0f, 3e38f};
    float delta[4] = {1.0f, 1.0f, 1.0f, 3e38f};
    const float before[4] = {1.0f, 2.0f, 3.0f, 3e38f};
    assert_int_equal(fcb_server_optimizer_apply(&opt, params, delta), FCB_ERR_NUMERIC);
    assert_non_null(strstr(fcb_last_error(), "parameter 3"));
    assert_memory_equal(params, before, sizeof before);
    assert_int_equal(opt.steps, 0);
    fcb_server_optimizer_free(&opt);
}

/* ---- update_check ---- */

static void test_update_check_accepts_good_update(void **state)
{
    (void)state;
    const float delta[4] = {3.0f, 0.0f, -4.0f, 0.0f}; /* norm 5 */
    assert_int_equal(fcb_update_check(delta, 4, 4, 12.0, 5.0, 7), FCB_OK);
    assert_int_equal(fcb_update_check(delta, 4, 4, 12.0, 0.0, 7), FCB_OK);
    assert_int_equal(fcb_update_check(delta, 4, 4, 12.0, -1.0, 7), FCB_OK);
    assert_true(fcb_l2_norm(delta, 4) == 5.0);
}

static void test_update_check_rejects_each_reason(void **state)
{
    (void)state;
    float delta[12] = {0};
    delta[0] = 1.0f;

    assert_int_equal(fcb_update_check(delta, 10, 12, 5.0, 0.0, 7), FCB_ERR_ARG);
    assert_string_equal(fcb_last_error(), "client 7: update has 10 values, model has 12");

    delta[3] = NAN;
    assert_int_equal(fcb_update_check(delta, 12, 12, 5.0, 0.0, 7), FCB_ERR_ARG);
    assert_string_equal(fcb_last_error(), "client 7: value 3 is NaN");
    delta[3] = INFINITY;
    assert_int_equal(fcb_update_check(delta, 12, 12, 5.0, 0.0, 7), FCB_ERR_ARG);
    assert_string_equal(fcb_last_error(), "client 7: value 3 is +inf");
    delta[3] = -INFINITY;
    assert_int_equal(fcb_update_check(delta, 12, 12, 5.0, 0.0, 7), FCB_ERR_ARG);
    assert_string_equal(fcb_last_error(), "client 7: value 3 is -inf");
    delta[3] = 0.0f;

    delta[5] = 1e6f;
    assert_int_equal(fcb_update_check(delta, 12, 12, 5.0, 100.0, 7), FCB_ERR_ARG);
    assert_non_null(strstr(fcb_last_error(), "client 7: update norm"));
    assert_non_null(strstr(fcb_last_error(), "exceeds bound 100"));
    /* Just above the bound fails, just at it passes: the norm is sqrt(1 + 1e12). */
    double norm = sqrt(1.0 + 1e12);
    assert_int_equal(fcb_update_check(delta, 12, 12, 5.0, norm, 7), FCB_OK);
    assert_int_equal(fcb_update_check(delta, 12, 12, 5.0, norm * (1 - 1e-12), 7), FCB_ERR_ARG);
    assert_int_equal(fcb_update_check(delta, 12, 12, 5.0, NAN, 7), FCB_ERR_ARG);
    delta[5] = 0.0f;

    const double bad_counts[4] = {0.0, -3.0, NAN, INFINITY};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(fcb_update_check(delta, 12, 12, bad_counts[i], 0.0, 31), FCB_ERR_ARG);
        assert_non_null(strstr(fcb_last_error(), "client 31: num_examples"));
    }
    assert_int_equal(fcb_update_check(NULL, 12, 12, 5.0, 0.0, 2), FCB_ERR_ARG);
    assert_non_null(strstr(fcb_last_error(), "client 2"));
    assert_int_equal(fcb_update_check(delta, 12, 12, 5.0, 0.0, 7), FCB_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_matches_reference),
        cmocka_unit_test(test_adam_matches_reference),
        cmocka_unit_test(test_bias_corrected_adam_matches_reference),
        cmocka_unit_test(test_bias_corrected_adam_constant_delta_closed_form),
        cmocka_unit_test(test_yogi_matches_reference),
        cmocka_unit_test(test_adagrad_matches_reference),
        cmocka_unit_test(test_sgd_lr1_is_fedavg),
        cmocka_unit_test(test_state_round_trip),
        cmocka_unit_test(test_state_sizes_and_bad_state),
        cmocka_unit_test(test_bad_config_rejected),
        cmocka_unit_test(test_non_finite_delta_leaves_everything_unchanged),
        cmocka_unit_test(test_overflowing_step_leaves_params_unchanged),
        cmocka_unit_test(test_update_check_accepts_good_update),
        cmocka_unit_test(test_update_check_rejects_each_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
