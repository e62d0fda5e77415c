/* The SGD step against its formula, model argument validation, and an
 * end-to-end learning check (linear softmax regression on separable data). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loss.h"
#include "model.h"
#include "rng.h"
#include "sgd.h"

static void clear_error(void)
{
    fcb_fail(FCB_OK, "%s", "");
}

static void assert_failed_with(fcb_status status, fcb_status expected, const char *fragment)
{
    assert_int_equal(status, expected);
    const char *message = fcb_last_error();
    assert_true(strlen(message) > 0);
    if (fragment != NULL && strstr(message, fragment) == NULL)
        fail_msg("message '%s' does not mention '%s'", message, fragment);
    clear_error();
}

static fcb_sgd_config sgd_config(float lr, float momentum, float wd, float clip)
{
    fcb_sgd_config c = {.learning_rate = lr, .momentum = momentum, .weight_decay = wd,
                        .clip_norm = clip};
    return c;
}

static void test_plain_step_matches_formula(void **state)
{
    (void)state;
    fcb_sgd opt;
    fcb_sgd_config c = sgd_config(0.1f, 0.0f, 0.01f, 0.0f);
    assert_int_equal(fcb_sgd_init(&opt, &c, 3), FCB_OK);
    assert_null(opt.velocity);
    float params[] = {1.0f, -2.0f, 0.5f};
    float grad[] = {0.3f, 0.4f, -1.0f};
    double expected[3];
    for (int i = 0; i < 3; i++)
        expected[i] = params[i] - 0.1 * (grad[i] + 0.01 * params[i]);
    assert_int_equal(fcb_sgd_step(&opt, params, grad), FCB_OK);
    for (int i = 0; i < 3; i++)
        assert_true(fabs(params[i] - expected[i]) < 1e-6);
    fcb_sgd_free(&opt);
}

static void test_momentum_two_steps(void **state)
{
    (void)state;
    fcb_sgd opt;
    fcb_sgd_config c = sgd_config(0.5f, 0.9f, 0.0f, 0.0f);
    assert_int_equal(fcb_sgd_init(&opt, &c, 2), FCB_OK);
    assert_non_null(opt.velocity);
    float params[] = {1.0f, 2.0f};
    double p[] = {1.0, 2.0};
    double g1[] = {0.2, -0.4}, g2[] = {1.0, 0.5};
    float grad[2];

    for (int i = 0; i < 2; i++)
        grad[i] = (float)g1[i];
    assert_int_equal(fcb_sgd_step(&opt, params, grad), FCB_OK);
    for (int i = 0; i < 2; i++)
        grad[i] = (float)g2[i];
    assert_int_equal(fcb_sgd_step(&opt, params, grad), FCB_OK);
    /* v1 = g1, p1 = p0 - lr g1; v2 = m g1 + g2, p2 = p1 - lr v2. */
    for (int i = 0; i < 2; i++) {
        double v2 = 0.9 * g1[i] + g2[i];
        double p2 = p[i] - 0.5 * g1[i] - 0.5 * v2;
        assert_true(fabs(params[i] - p2) < 1e-6);
        assert_true(fabs(opt.velocity[i] - v2) < 1e-6);
    }

    /* reset zeroes the velocity: the next step is a plain step. */
    fcb_sgd_reset(&opt);
    float before[] = {params[0], params[1]};
    grad[0] = 1.0f;
    grad[1] = -1.0f;
    assert_int_equal(fcb_sgd_step(&opt, params, grad), FCB_OK);
    assert_true(fabs(params[0] - (before[0] - 0.5)) < 1e-6);
    assert_true(fabs(params[1] - (before[1] + 0.5)) < 1e-6);
    fcb_sgd_free(&opt);
}

static void test_clipping(void **state)
{
    (void)state;
    fcb_sgd opt;
    fcb_sgd_config c = sgd_config(1.0f, 0.0f, 0.0f, 2.0f);
    assert_int_equal(fcb_sgd_init(&opt, &c, 2), FCB_OK);

    /* Norm 5 > 2: the step is the gradient scaled to norm exactly 2. */
    float params[] = {0.0f, 0.0f};
    float grad[] = {3.0f, 4.0f};
    assert_int_equal(fcb_sgd_step(&opt, params, grad), FCB_OK);
    assert_true(fabs(params[0] + 1.2) < 1e-6);
    assert_true(fabs(params[1] + 1.6) < 1e-6);
    assert_true(fabs(hypot(params[0], params[1]) - 2.0) < 1e-6);

    /* Norm 1 < 2: untouched. */
    float params2[] = {0.0f, 0.0f};
    float small[] = {0.6f, -0.8f};
    assert_int_equal(fcb_sgd_step(&opt, params2, small), FCB_OK);
    assert_true(fabs(params2[0] + 0.6) < 1e-7);
    assert_true(fabs(params2[1] - 0.8) < 1e-7);
    fcb_sgd_free(&opt);
}

static void test_non_finite_gradient_rejected(void **state)
{
    (void)state;
    fcb_sgd opt;
    fcb_sgd_config c = sgd_config(0.1f, 0.5f, 0.1f, 1.0f);
    assert_int_equal(fcb_sgd_init(&opt, &c, 4), FCB_OK);
    float params[] = {1.0f, 2.0f, 3.0f, 4.0f};
    float grad[] = {1.0f, 1.0f, 1.0f, 1.0f};
    assert_int_equal(fcb_sgd_step(&opt, params, grad), FCB_OK);
    float params_before[4], velocity_before[4];
    memcpy(params_before, params, sizeof params);
    memcpy(velocity_before, opt.velocity, sizeof velocity_before);

    float nan_grad[] = {0.1f, NAN, 0.2f, 0.3f};
    assert_failed_with(fcb_sgd_step(&opt, params, nan_grad), FCB_ERR_NUMERIC, "not finite");
    assert_memory_equal(params, params_before, sizeof params);
    assert_memory_equal(opt.velocity, velocity_before, sizeof velocity_before);
    float inf_grad[] = {0.1f, 0.2f, 0.3f, -INFINITY};
    assert_failed_with(fcb_sgd_step(&opt, params, inf_grad), FCB_ERR_NUMERIC, "not finite");
    assert_memory_equal(params, params_before, sizeof params);
    fcb_sgd_free(&opt);
}

static void test_bad_sgd_config_rejected(void **state)
{
    (void)state;
    const fcb_sgd_config bad[] = {
        sgd_config(0.0f, 0.0f, 0.0f, 0.0f),      sgd_config(-0.1f, 0.0f, 0.0f, 0.0f),
        sgd_config(NAN, 0.0f, 0.0f, 0.0f),       sgd_config(INFINITY, 0.0f, 0.0f, 0.0f),
        sgd_config(0.1f, 1.0f, 0.0f, 0.0f),      sgd_config(0.1f, -0.1f, 0.0f, 0.0f),
        sgd_config(0.1f, NAN, 0.0f, 0.0f),       sgd_config(0.1f, 0.0f, -1.0f, 0.0f),
        sgd_config(0.1f, 0.0f, NAN, 0.0f),       sgd_config(0.1f, 0.0f, 0.0f, -1.0f),
        sgd_config(0.1f, 0.0f, 0.0f, INFINITY),
    };
    const char *fragments[] = {"learning_rate", "learning_rate", "learning_rate",
                               "learning_rate", "momentum",      "momentum",
                               "momentum",      "weight_decay",  "weight_decay",
                               "clip_norm",     "clip_norm"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fcb_sgd opt;
        assert_failed_with(fcb_sgd_config_validate(&bad[i]), FCB_ERR_CONFIG, fragments[i]);
        assert_failed_with(fcb_sgd_init(&opt, &bad[i], 4), FCB_ERR_CONFIG, fragments[i]);
        fcb_sgd_free(&opt);
    }
    fcb_sgd opt;
    fcb_sgd_config good = sgd_config(0.1f, 0.9f, 0.0f, 0.0f);
    assert_int_equal(fcb_sgd_config_validate(&good), FCB_OK);
    assert_failed_with(fcb_sgd_init(&opt, &good, 0), FCB_ERR_ARG, NULL);
    fcb_sgd_free(&opt);
}

static fcb_model_config model_config(fcb_arch arch, int d, int k, int num_hidden, int width)
{
    fcb_model_config c = {.arch = arch, .input_dim = d, .num_actions = k,
                          .num_hidden = num_hidden};
    for (int i = 0; i < num_hidden && i < FCB_MAX_HIDDEN; i++)
        c.hidden[i] = width;
    return c;
}

static void test_bad_model_config_rejected(void **state)
{
    (void)state;
    fcb_model m;
    fcb_model_config c = model_config(FCB_ARCH_LINEAR, 4, 0, 0, 0);
    assert_failed_with(fcb_model_init(&m, &c), FCB_ERR_ARG, "num_actions");
    c = model_config(FCB_ARCH_LINEAR, 0, 3, 0, 0);
    assert_failed_with(fcb_model_init(&m, &c), FCB_ERR_ARG, "input_dim");
    c = model_config(FCB_ARCH_LINEAR, 4, 3, 1, 8);
    assert_failed_with(fcb_model_init(&m, &c), FCB_ERR_ARG, "num_hidden");
    c = model_config(FCB_ARCH_MLP, 4, 3, 0, 0);
    assert_failed_with(fcb_model_init(&m, &c), FCB_ERR_ARG, "num_hidden");
    c = model_config(FCB_ARCH_MLP, 4, 3, FCB_MAX_HIDDEN, 8);
    c.num_hidden = FCB_MAX_HIDDEN + 1;
    assert_failed_with(fcb_model_init(&m, &c), FCB_ERR_ARG, "num_hidden");
    c = model_config(FCB_ARCH_MLP, 4, 3, 2, 8);
    c.hidden[1] = 0;
    assert_failed_with(fcb_model_init(&m, &c), FCB_ERR_ARG, "hidden[1]");
    c = model_config(FCB_ARCH_LINEAR, 4, 3, 0, 0);
    c.normalize_input = 7;
    assert_failed_with(fcb_model_init(&m, &c), FCB_ERR_ARG, "normalize_input");
    c = model_config((fcb_arch)42, 4, 3, 0, 0);
    assert_failed_with(fcb_model_init(&m, &c), FCB_ERR_ARG, "architecture");
    assert_failed_with(fcb_model_init(&m, NULL), FCB_ERR_ARG, NULL);

    c = model_config(FCB_ARCH_MLP, 4, 3, FCB_MAX_HIDDEN, 2);
    assert_int_equal(fcb_model_init(&m, &c), FCB_OK);
    assert_int_equal(m.num_layers, FCB_MAX_HIDDEN + 1);
    fcb_workspace ws;
    assert_failed_with(fcb_workspace_init(&ws, &m, 0), FCB_ERR_ARG, "capacity");
    fcb_workspace_free(&ws);
}

static void test_bad_model_inputs_rejected(void **state)
{
    (void)state;
    fcb_model m;
    fcb_model_config c = model_config(FCB_ARCH_MLP, 3, 2, 1, 4);
    assert_int_equal(fcb_model_init(&m, &c), FCB_OK);
    float *params = calloc(m.num_params, sizeof *params);
    float *grad = calloc(m.num_params, sizeof *grad);
    assert_non_null(params);
    assert_non_null(grad);
    fcb_rng rng;
    fcb_rng_init(&rng, 1, FCB_STREAM_MODEL_INIT, 0, 0);
    assert_int_equal(fcb_model_init_params(&m, params, &rng), FCB_OK);
    assert_failed_with(fcb_model_init_params(&m, params, NULL), FCB_ERR_ARG, "rng");

    fcb_workspace ws;
    assert_int_equal(fcb_workspace_init(&ws, &m, 4), FCB_OK);
    float x[5 * 3] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f,
                      0.8f, 0.9f, 1.0f, 1.1f, 1.2f, 1.3f, 1.4f, 1.5f};
    float scores[5 * 2], dscores[5 * 2] = {0};

    assert_failed_with(fcb_model_backward(&m, params, dscores, &ws, grad), FCB_ERR_STATE,
                       "forward");
    assert_failed_with(fcb_model_forward(&m, params, x, 5, &ws, scores), FCB_ERR_ARG,
                       "capacity 4");
    assert_failed_with(fcb_model_forward(&m, params, x, 0, &ws, scores), FCB_ERR_ARG, "0 rows");
    assert_failed_with(fcb_model_forward(&m, NULL, x, 2, &ws, scores), FCB_ERR_ARG, NULL);
    assert_failed_with(fcb_model_forward(&m, params, NULL, 2, &ws, scores), FCB_ERR_ARG, NULL);

    x[2 * 3 + 1] = NAN;
    assert_failed_with(fcb_model_forward(&m, params, x, 4, &ws, scores), FCB_ERR_ARG,
                       "row 2 column 1");
    x[2 * 3 + 1] = INFINITY;
    assert_failed_with(fcb_model_forward(&m, params, x, 4, &ws, scores), FCB_ERR_ARG, "row 2");
    /* A failed forward leaves nothing for backward. */
    assert_failed_with(fcb_model_backward(&m, params, dscores, &ws, grad), FCB_ERR_STATE, NULL);
    x[2 * 3 + 1] = 0.0f;
    assert_int_equal(fcb_model_forward(&m, params, x, 4, &ws, scores), FCB_OK);
    assert_int_equal(fcb_model_backward(&m, params, dscores, &ws, grad), FCB_OK);

    fcb_workspace_free(&ws);
    free(params);
    free(grad);
}

enum { TRAIN_ROWS = 300, TRAIN_DIM = 5, TRAIN_CLASSES = 3, TRAIN_BATCH = 30, TRAIN_EPOCHS = 60 };

/* Labels are the argmax of a random linear map, so the data is linearly
 * separable; softmax regression by SGD must fit most of it. */
static void test_linear_softmax_learns_separable_data(void **state)
{
    (void)state;
    fcb_rng rng;
    fcb_rng_init(&rng, 99, FCB_STREAM_TEST, 0, 0);
    float truth[TRAIN_CLASSES * TRAIN_DIM];
    for (int i = 0; i < TRAIN_CLASSES * TRAIN_DIM; i++)
        truth[i] = (float)fcb_rng_normal(&rng);
    static float x[TRAIN_ROWS * TRAIN_DIM];
    static int labels[TRAIN_ROWS];
    int class_count[TRAIN_CLASSES] = {0};
    for (int i = 0; i < TRAIN_ROWS; i++) {
        float *row = x + i * TRAIN_DIM;
        for (int j = 0; j < TRAIN_DIM; j++)
            row[j] = (float)fcb_rng_normal(&rng);
        int best = 0;
        double best_score = -INFINITY;
        for (int a = 0; a < TRAIN_CLASSES; a++) {
            double s = 0.0;
            for (int j = 0; j < TRAIN_DIM; j++)
                s += truth[a * TRAIN_DIM + j] * row[j];
            if (s > best_score) {
                best_score = s;
                best = a;
            }
        }
        labels[i] = best;
        class_count[best]++;
    }
    for (int a = 0; a < TRAIN_CLASSES; a++)
        assert_true(class_count[a] > TRAIN_ROWS / 10); /* a non-trivial problem */

    fcb_model m;
    fcb_model_config c = model_config(FCB_ARCH_LINEAR, TRAIN_DIM, TRAIN_CLASSES, 0, 0);
    assert_int_equal(fcb_model_init(&m, &c), FCB_OK);
    float params[TRAIN_CLASSES * TRAIN_DIM + TRAIN_CLASSES];
    float grad[TRAIN_CLASSES * TRAIN_DIM + TRAIN_CLASSES];
    assert_int_equal(fcb_model_init_params(&m, params, NULL), FCB_OK);
    fcb_sgd opt;
    fcb_sgd_config sc = sgd_config(0.5f, 0.5f, 0.0f, 0.0f);
    assert_int_equal(fcb_sgd_init(&opt, &sc, m.num_params), FCB_OK);
    fcb_workspace ws;
    assert_int_equal(fcb_workspace_init(&ws, &m, TRAIN_ROWS), FCB_OK);
    static float scores[TRAIN_ROWS * TRAIN_CLASSES], dscores[TRAIN_ROWS * TRAIN_CLASSES];

    double first_loss = -1.0, loss = 0.0;
    for (int epoch = 0; epoch < TRAIN_EPOCHS; epoch++) {
        for (int start = 0; start < TRAIN_ROWS; start += TRAIN_BATCH) {
            assert_int_equal(fcb_model_forward(&m, params, x + start * TRAIN_DIM, TRAIN_BATCH,
                                               &ws, scores),
                             FCB_OK);
            assert_int_equal(fcb_loss_softmax_xent(scores, TRAIN_BATCH, TRAIN_CLASSES,
                                                   labels + start, dscores, &loss),
                             FCB_OK);
            if (first_loss < 0.0)
                first_loss = loss;
            assert_int_equal(fcb_model_backward(&m, params, dscores, &ws, grad), FCB_OK);
            assert_int_equal(fcb_sgd_step(&opt, params, grad), FCB_OK);
        }
    }
    assert_true(fabs(first_loss - log((double)TRAIN_CLASSES)) < 1e-6); /* zero init */

    assert_int_equal(fcb_model_forward(&m, params, x, TRAIN_ROWS, &ws, scores), FCB_OK);
    int correct = 0;
    for (int i = 0; i < TRAIN_ROWS; i++) {
        const float *s = scores + i * TRAIN_CLASSES;
        int best = 0;
        for (int a = 1; a < TRAIN_CLASSES; a++)
            best = s[a] > s[best] ? a : best;
        correct += best == labels[i];
    }
    double accuracy = (double)correct / TRAIN_ROWS;
    if (accuracy < 0.9)
        fail_msg("training accuracy %.3f < 0.9", accuracy);
    fcb_workspace_free(&ws);
    fcb_sgd_free(&opt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_step_matches_formula),
        cmocka_unit_test(test_momentum_two_steps),
        cmocka_unit_test(test_clipping),
        cmocka_unit_test(test_non_finite_gradient_rejected),
        cmocka_unit_test(test_bad_sgd_config_rejected),
        cmocka_unit_test(test_bad_model_config_rejected),
        cmocka_unit_test(test_bad_model_inputs_rejected),
        cmocka_unit_test(test_linear_softmax_learns_separable_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
