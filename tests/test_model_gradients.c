/* Finite-difference checks of the model's backward pass combined with every
 * loss. The reference is an independent double-precision forward written
 * here, so central differences are accurate to ~1e-10 and the comparison
 * measures the float32 analytic gradient, not the finite-difference noise. */
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

enum { ROWS = 5, DIM = 6, ACTIONS = 4, MAX_WIDTH = 16 };

static const double FD_STEP = 1e-6;
static const double GRAD_TOLERANCE = 1e-4;
/* A pre-activation closer than this to 0 could flip its ReLU under a
 * finite-difference step or float rounding; such data is redrawn. */
static const double KINK_MARGIN = 1e-3;

typedef struct {
    int actions[ROWS];
    float rewards[ROWS];
    float weights[ROWS];
    float targets[ROWS * ACTIONS];
} batch_labels;

/* ---- double-precision reference ---------------------------------------- */

/* scores (n x K) of the model at params, in double. Records the smallest
 * |pre-activation| of any hidden unit and how many were negative/positive. */
typedef struct {
    double min_abs_preact;
    int negative;
    int positive;
} kink_report;

static void ref_forward(const fcb_model *m, const double *params, const float *x, int n,
                        double *scores, double *features, kink_report *kinks)
{
    const fcb_model_config *c = &m->config;
    if (kinks != NULL) {
        kinks->min_abs_preact = INFINITY;
        kinks->negative = 0;
        kinks->positive = 0;
    }
    for (int i = 0; i < n; i++) {
        double current[MAX_WIDTH], next[MAX_WIDTH];
        double norm = 0.0;
        for (int j = 0; j < c->input_dim; j++) {
            current[j] = x[i * c->input_dim + j];
            norm += current[j] * current[j];
        }
        norm = sqrt(norm);
        if (c->normalize_input && norm > 0.0) {
            for (int j = 0; j < c->input_dim; j++)
                current[j] /= norm;
        }
        for (int l = 0; l < m->num_layers; l++) {
            const double *W = params + m->weight_offset[l];
            const double *b = params + m->bias_offset[l];
            int in = m->layer_in[l], out = m->layer_out[l];
            int hidden = l < m->num_layers - 1;
            if (!hidden && features != NULL) {
                for (int j = 0; j < in; j++)
                    features[i * in + j] = current[j];
            }
            for (int o = 0; o < out; o++) {
                double sum = b[o];
                for (int j = 0; j < in; j++)
                    sum += W[o * in + j] * current[j];
                if (hidden && kinks != NULL) {
                    kinks->min_abs_preact = fmin(kinks->min_abs_preact, fabs(sum));
                    kinks->negative += sum < 0.0;
                    kinks->positive += sum > 0.0;
                }
                next[o] = hidden ? fmax(sum, 0.0) : sum;
            }
            memcpy(current, next, sizeof next);
        }
        for (int a = 0; a < m->layer_out[m->num_layers - 1]; a++)
            scores[i * ACTIONS + a] = current[a];
    }
}

static double ref_loss(fcb_loss_kind kind, const double *scores, int n, const batch_labels *y)
{
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        const double *s = scores + i * ACTIONS;
        int a = y->actions[i];
        switch (kind) {
        case FCB_LOSS_CHOSEN_SQUARED:
            total += (s[a] - y->rewards[i]) * (s[a] - y->rewards[i]);
            break;
        case FCB_LOSS_IMPORTANCE_SQUARED:
            total += y->weights[i] * (s[a] - y->rewards[i]) * (s[a] - y->rewards[i]);
            break;
        case FCB_LOSS_FULL_MSE:
        case FCB_LOSS_DOUBLY_ROBUST: /* a full-vector MSE against its targets */
            for (int b = 0; b < ACTIONS; b++) {
                double r = s[b] - y->targets[i * ACTIONS + b];
                total += r * r;
            }
            break;
        case FCB_LOSS_SOFTMAX_XENT: {
            double max = s[0], sum = 0.0;
            for (int b = 1; b < ACTIONS; b++)
                max = fmax(max, s[b]);
            for (int b = 0; b < ACTIONS; b++)
                sum += exp(s[b] - max);
            total += max + log(sum) - s[a]; /* the label is stored in actions */
            break;
        }
        }
    }
    return total / n;
}

/* ---- library side ------------------------------------------------------ */

static fcb_status lib_loss(fcb_loss_kind kind, const float *scores, int n, const batch_labels *y,
                           float *dscores, double *loss)
{
    switch (kind) {
    case FCB_LOSS_CHOSEN_SQUARED:
        return fcb_loss_chosen_squared(scores, n, ACTIONS, y->actions, y->rewards, NULL, dscores,
                                       loss);
    case FCB_LOSS_IMPORTANCE_SQUARED:
        return fcb_loss_chosen_squared(scores, n, ACTIONS, y->actions, y->rewards, y->weights,
                                       dscores, loss);
    case FCB_LOSS_FULL_MSE:
    case FCB_LOSS_DOUBLY_ROBUST:
        return fcb_loss_full_mse(scores, n, ACTIONS, y->targets, dscores, loss);
    case FCB_LOSS_SOFTMAX_XENT:
        return fcb_loss_softmax_xent(scores, n, ACTIONS, y->actions, dscores, loss);
    }
    return FCB_ERR_ARG;
}

static double uniform(fcb_rng *rng, double lo, double hi)
{
    return lo + (hi - lo) * fcb_rng_uniform(rng);
}

/* Weights of scale ~1/sqrt(fan_in) and clearly non-zero biases, so every
 * layer contributes to the gradient and bias bugs show. */
static void random_params(const fcb_model *m, float *params, fcb_rng *rng)
{
    for (int l = 0; l < m->num_layers; l++) {
        int in = m->layer_in[l], out = m->layer_out[l];
        double scale = 1.5 / sqrt((double)in);
        for (int i = 0; i < out * in; i++)
            params[m->weight_offset[l] + i] = (float)uniform(rng, -scale, scale);
        for (int o = 0; o < out; o++)
            params[m->bias_offset[l] + o] = (float)uniform(rng, -0.5, 0.5);
    }
}

static void random_batch(float *x, batch_labels *y, fcb_rng *rng)
{
    for (int i = 0; i < ROWS * DIM; i++)
        x[i] = (float)uniform(rng, -2.0, 2.0);
    for (int i = 0; i < ROWS; i++) {
        y->actions[i] = (int)fcb_rng_below(rng, ACTIONS);
        y->rewards[i] = (float)uniform(rng, 0.0, 1.0);
        y->weights[i] = (float)uniform(rng, 0.5, 3.0);
        for (int a = 0; a < ACTIONS; a++)
            y->targets[i * ACTIONS + a] = (float)uniform(rng, 0.0, 1.0);
    }
}

static fcb_model make_model(fcb_arch arch, int normalize, int num_hidden, const int *hidden)
{
    fcb_model_config config = {0};
    config.arch = arch;
    config.input_dim = DIM;
    config.num_actions = ACTIONS;
    config.num_hidden = num_hidden;
    for (int i = 0; i < num_hidden; i++)
        config.hidden[i] = hidden[i];
    config.normalize_input = normalize;
    fcb_model m;
    assert_int_equal(fcb_model_init(&m, &config), FCB_OK);
    return m;
}

/* max |a - b| / max(max|a|, max|b|, 1e-8) over [begin, end). */
static double relative_error(const float *analytic, const double *numeric, size_t begin,
                             size_t end)
{
    double diff = 0.0, scale = 1e-8;
    for (size_t p = begin; p < end; p++) {
        diff = fmax(diff, fabs(analytic[p] - numeric[p]));
        scale = fmax(scale, fmax(fabs(analytic[p]), fabs(numeric[p])));
    }
    return diff / scale;
}

static void check_gradients(const fcb_model *m, fcb_loss_kind kind, uint32_t case_id)
{
    size_t np = m->num_params;
    float *params = calloc(np, sizeof *params);
    float *grad = calloc(np, sizeof *grad);
    double *dparams = calloc(np, sizeof *dparams);
    double *numeric = calloc(np, sizeof *numeric);
    assert_non_null(params);
    assert_non_null(grad);
    assert_non_null(dparams);
    assert_non_null(numeric);
    float x[ROWS * DIM];
    batch_labels y;
    double ref_scores[ROWS * ACTIONS];

    /* Draw until no hidden unit sits on a ReLU kink. */
    int found = 0;
    kink_report kinks = {0};
    for (uint32_t attempt = 0; attempt < 100 && !found; attempt++) {
        fcb_rng rng;
        fcb_rng_init(&rng, 2024, FCB_STREAM_TEST, case_id, attempt);
        random_params(m, params, &rng);
        random_batch(x, &y, &rng);
        for (size_t p = 0; p < np; p++)
            dparams[p] = params[p];
        ref_forward(m, dparams, x, ROWS, ref_scores, NULL, &kinks);
        found = kinks.min_abs_preact > KINK_MARGIN;
    }
    assert_true(found);
    if (m->config.num_hidden > 0) {
        /* Both ReLU branches must be exercised for the check to mean much. */
        assert_true(kinks.negative > 0);
        assert_true(kinks.positive > 0);
    }

    fcb_workspace ws;
    float scores[ROWS * ACTIONS], dscores[ROWS * ACTIONS];
    double loss = 0.0;
    assert_int_equal(fcb_workspace_init(&ws, m, ROWS), FCB_OK);
    assert_int_equal(fcb_model_forward(m, params, x, ROWS, &ws, scores), FCB_OK);
    for (int c = 0; c < ROWS * ACTIONS; c++)
        assert_true(fabs(scores[c] - ref_scores[c]) < 1e-5 * (1.0 + fabs(ref_scores[c])));
    assert_int_equal(lib_loss(kind, scores, ROWS, &y, dscores, &loss), FCB_OK);
    double expected_loss = ref_loss(kind, ref_scores, ROWS, &y);
    assert_true(fabs(loss - expected_loss) < 1e-5 * (1.0 + fabs(expected_loss)));
    assert_int_equal(fcb_model_backward(m, params, dscores, &ws, grad), FCB_OK);

    for (size_t p = 0; p < np; p++) {
        double saved = dparams[p];
        double h = FD_STEP * fmax(1.0, fabs(saved));
        dparams[p] = saved + h;
        ref_forward(m, dparams, x, ROWS, ref_scores, NULL, NULL);
        double up = ref_loss(kind, ref_scores, ROWS, &y);
        dparams[p] = saved - h;
        ref_forward(m, dparams, x, ROWS, ref_scores, NULL, NULL);
        double down = ref_loss(kind, ref_scores, ROWS, &y);
        dparams[p] = saved;
        numeric[p] = (up - down) / (2.0 * h);
    }

    /* Per layer, so a small layer's error is not hidden by a large one. */
    for (int l = 0; l < m->num_layers; l++) {
        size_t begin = m->weight_offset[l];
        size_t end = m->bias_offset[l] + (size_t)m->layer_out[l];
        double err_w = relative_error(grad, numeric, begin, m->bias_offset[l]);
        double err_b = relative_error(grad, numeric, m->bias_offset[l], end);
        if (err_w > GRAD_TOLERANCE || err_b > GRAD_TOLERANCE)
            fail_msg("%s, loss %s, layer %d: relative error weights %.3g, bias %.3g",
                     m->config.arch == FCB_ARCH_LINEAR ? "linear" : "mlp",
                     fcb_loss_kind_name(kind), l, err_w, err_b);
    }
    assert_true(relative_error(grad, numeric, 0, np) < GRAD_TOLERANCE);

    fcb_workspace_free(&ws);
    free(params);
    free(grad);
    free(dparams);
    free(numeric);
}

static const fcb_loss_kind ALL_LOSSES[] = {FCB_LOSS_CHOSEN_SQUARED, FCB_LOSS_IMPORTANCE_SQUARED,
                                           FCB_LOSS_FULL_MSE, FCB_LOSS_SOFTMAX_XENT};

static void check_all_losses(const fcb_model *m, uint32_t case_id)
{
    for (int i = 0; i < 4; i++)
        check_gradients(m, ALL_LOSSES[i], case_id * 10 + (uint32_t)i);
}

static void test_linear_gradients(void **state)
{
    (void)state;
    fcb_model m = make_model(FCB_ARCH_LINEAR, 0, 0, NULL);
    check_all_losses(&m, 1);
}

static void test_linear_normalized_gradients(void **state)
{
    (void)state;
    fcb_model m = make_model(FCB_ARCH_LINEAR, 1, 0, NULL);
    check_all_losses(&m, 2);
}

static void test_mlp_one_hidden_gradients(void **state)
{
    (void)state;
    int hidden[] = {7};
    fcb_model m = make_model(FCB_ARCH_MLP, 0, 1, hidden);
    check_all_losses(&m, 3);
    fcb_model normalized = make_model(FCB_ARCH_MLP, 1, 1, hidden);
    check_all_losses(&normalized, 4);
}

static void test_mlp_two_hidden_gradients(void **state)
{
    (void)state;
    int hidden[] = {8, 5};
    fcb_model m = make_model(FCB_ARCH_MLP, 0, 2, hidden);
    check_all_losses(&m, 5);
}

/* dL/dscores of each loss against central differences of the library's own
 * loss value (computed in double from the float scores). */
static void test_loss_gradients_wrt_scores(void **state)
{
    (void)state;
    fcb_rng rng;
    fcb_rng_init(&rng, 7, FCB_STREAM_TEST, 0, 0);
    float scores[ROWS * ACTIONS];
    float dscores[ROWS * ACTIONS], scratch[ROWS * ACTIONS];
    float x[ROWS * DIM];
    batch_labels y;
    random_batch(x, &y, &rng);
    for (int c = 0; c < ROWS * ACTIONS; c++)
        scores[c] = (float)uniform(&rng, -3.0, 3.0);

    for (int li = 0; li < 4; li++) {
        fcb_loss_kind kind = ALL_LOSSES[li];
        double loss = 0.0;
        assert_int_equal(lib_loss(kind, scores, ROWS, &y, dscores, &loss), FCB_OK);
        double max_err = 0.0, scale = 1e-8;
        for (int c = 0; c < ROWS * ACTIONS; c++) {
            float saved = scores[c];
            float up_value = saved + 1e-2f, down_value = saved - 1e-2f;
            double up = 0.0, down = 0.0;
            scores[c] = up_value;
            assert_int_equal(lib_loss(kind, scores, ROWS, &y, scratch, &up), FCB_OK);
            scores[c] = down_value;
            assert_int_equal(lib_loss(kind, scores, ROWS, &y, scratch, &down), FCB_OK);
            scores[c] = saved;
            double numeric = (up - down) / ((double)up_value - (double)down_value);
            max_err = fmax(max_err, fabs(numeric - dscores[c]));
            scale = fmax(scale, fmax(fabs(numeric), fabs(dscores[c])));
        }
        if (max_err / scale > 1e-4)
            fail_msg("loss %s: dscores relative error %.3g", fcb_loss_kind_name(kind),
                     max_err / scale);
    }
}

/* A batch's forward equals each row's forward alone, and the batch
 * gradient (of the mean loss) equals the mean of single-row gradients.
 * Single rows take other code paths than batches (plain loops for tiny
 * layers, sgemv/sger for larger ones), so the shapes cover both. */
static void test_batch_matches_single_rows(void **state)
{
    (void)state;
    const fcb_model_config configs[] = {
        {.arch = FCB_ARCH_LINEAR, .input_dim = DIM, .num_actions = ACTIONS, .normalize_input = 1},
        {.arch = FCB_ARCH_MLP, .input_dim = DIM, .num_actions = ACTIONS, .num_hidden = 2,
         .hidden = {9, 6}},
        {.arch = FCB_ARCH_LINEAR, .input_dim = 700, .num_actions = ACTIONS},
        {.arch = FCB_ARCH_MLP, .input_dim = 40, .num_actions = ACTIONS, .num_hidden = 2,
         .hidden = {64, 48}},
    };
    for (int mi = 0; mi < 4; mi++) {
        fcb_model model;
        assert_int_equal(fcb_model_init(&model, &configs[mi]), FCB_OK);
        const fcb_model *m = &model;
        int d = m->config.input_dim;
        size_t np = m->num_params;
        float *params = calloc(np, sizeof *params);
        float *grad = calloc(np, sizeof *grad);
        float *row_grad = calloc(np, sizeof *row_grad);
        double *mean_grad = calloc(np, sizeof *mean_grad);
        float *x = calloc((size_t)ROWS * d, sizeof *x);
        assert_non_null(params);
        assert_non_null(grad);
        assert_non_null(row_grad);
        assert_non_null(mean_grad);
        assert_non_null(x);
        fcb_rng rng;
        fcb_rng_init(&rng, 11, FCB_STREAM_TEST, (uint32_t)mi, 0);
        random_params(m, params, &rng);
        float unused_x[ROWS * DIM];
        batch_labels y;
        random_batch(unused_x, &y, &rng);
        for (int c = 0; c < ROWS * d; c++)
            x[c] = (float)uniform(&rng, -1.0, 1.0);

        fcb_workspace ws;
        float scores[ROWS * ACTIONS], dscores[ROWS * ACTIONS];
        float row_scores[ACTIONS], row_dscores[ACTIONS];
        double loss = 0.0;
        assert_int_equal(fcb_workspace_init(&ws, m, ROWS), FCB_OK);
        assert_int_equal(fcb_model_forward(m, params, x, ROWS, &ws, scores), FCB_OK);
        assert_int_equal(fcb_loss_chosen_squared(scores, ROWS, ACTIONS, y.actions, y.rewards,
                                                 y.weights, dscores, &loss),
                         FCB_OK);
        assert_int_equal(fcb_model_backward(m, params, dscores, &ws, grad), FCB_OK);

        for (int i = 0; i < ROWS; i++) {
            assert_int_equal(fcb_model_forward(m, params, x + (size_t)i * d, 1, &ws, row_scores),
                             FCB_OK);
            for (int a = 0; a < ACTIONS; a++)
                assert_true(fabs(row_scores[a] - scores[i * ACTIONS + a]) <
                            1e-5 * (1.0 + fabs(scores[i * ACTIONS + a])));
            assert_int_equal(fcb_loss_chosen_squared(row_scores, 1, ACTIONS, &y.actions[i],
                                                     &y.rewards[i], &y.weights[i], row_dscores,
                                                     &loss),
                             FCB_OK);
            assert_int_equal(fcb_model_backward(m, params, row_dscores, &ws, row_grad), FCB_OK);
            for (size_t p = 0; p < np; p++)
                mean_grad[p] += row_grad[p] / (double)ROWS;
        }
        double err = relative_error(grad, mean_grad, 0, np);
        if (err > 1e-5)
            fail_msg("model %d: batch vs single-row gradient relative error %.3g", mi, err);

        fcb_workspace_free(&ws);
        free(params);
        free(grad);
        free(row_grad);
        free(mean_grad);
        free(x);
    }
}

static void test_features(void **state)
{
    (void)state;
    int hidden[] = {7, 5};
    fcb_model linear = make_model(FCB_ARCH_LINEAR, 1, 0, NULL);
    fcb_model mlp = make_model(FCB_ARCH_MLP, 1, 2, hidden);
    assert_int_equal(fcb_model_feature_dim(&linear), DIM);
    assert_int_equal(fcb_model_feature_dim(&mlp), 5);

    fcb_rng rng;
    fcb_rng_init(&rng, 13, FCB_STREAM_TEST, 0, 0);
    float x[ROWS * DIM];
    batch_labels y;
    random_batch(x, &y, &rng);
    for (int j = 0; j < DIM; j++)
        x[2 * DIM + j] = 0.0f; /* a zero context stays zero */

    const fcb_model *models[] = {&linear, &mlp};
    for (int mi = 0; mi < 2; mi++) {
        const fcb_model *m = models[mi];
        int fd = fcb_model_feature_dim(m);
        float *params = calloc(m->num_params, sizeof *params);
        double *dparams = calloc(m->num_params, sizeof *dparams);
        assert_non_null(params);
        assert_non_null(dparams);
        random_params(m, params, &rng);
        for (size_t p = 0; p < m->num_params; p++)
            dparams[p] = params[p];
        double ref_scores[ROWS * ACTIONS], ref_features[ROWS * MAX_WIDTH];
        ref_forward(m, dparams, x, ROWS, ref_scores, ref_features, NULL);

        fcb_workspace ws;
        float scores[ROWS * ACTIONS];
        assert_int_equal(fcb_workspace_init(&ws, m, ROWS), FCB_OK);
        assert_int_equal(fcb_model_forward(m, params, x, ROWS, &ws, scores), FCB_OK);
        assert_int_equal(ws.rows, ROWS);
        const float *phi = fcb_model_features(m, &ws);
        for (int c = 0; c < ROWS * fd; c++)
            assert_true(fabs(phi[c] - ref_features[c]) < 1e-5);
        for (int i = 0; i < ROWS; i++) {
            double norm = 0.0;
            for (int j = 0; j < DIM; j++)
                norm += (double)x[i * DIM + j] * x[i * DIM + j];
            assert_true(fabs(ws.input_norm[i] - sqrt(norm)) < 1e-5 * (1.0 + sqrt(norm)));
        }
        for (int j = 0; j < DIM; j++)
            assert_true(ws.input[2 * DIM + j] == 0.0f);
        fcb_workspace_free(&ws);
        free(params);
        free(dparams);
    }
}

static void test_init_params(void **state)
{
    (void)state;
    fcb_model linear = make_model(FCB_ARCH_LINEAR, 0, 0, NULL);
    float lin_params[DIM * ACTIONS + ACTIONS];
    assert_int_equal((int)linear.num_params, DIM * ACTIONS + ACTIONS);
    for (int p = 0; p < (int)linear.num_params; p++)
        lin_params[p] = 1.0f;
    fcb_rng rng;
    fcb_rng_init(&rng, 3, FCB_STREAM_MODEL_INIT, 0, 0);
    assert_int_equal(fcb_model_init_params(&linear, lin_params, &rng), FCB_OK);
    for (int p = 0; p < (int)linear.num_params; p++)
        assert_true(lin_params[p] == 0.0f);

    /* 40 -> 64 -> 10: layout and initial distribution. */
    fcb_model_config config = {.arch = FCB_ARCH_MLP, .input_dim = 40, .num_actions = 10,
                               .num_hidden = 1, .hidden = {64}};
    fcb_model mlp;
    assert_int_equal(fcb_model_init(&mlp, &config), FCB_OK);
    assert_int_equal(mlp.num_layers, 2);
    assert_int_equal((int)mlp.weight_offset[0], 0);
    assert_int_equal((int)mlp.bias_offset[0], 64 * 40);
    assert_int_equal((int)mlp.weight_offset[1], 64 * 40 + 64);
    assert_int_equal((int)mlp.bias_offset[1], 64 * 40 + 64 + 10 * 64);
    assert_int_equal((int)mlp.num_params, 64 * 40 + 64 + 10 * 64 + 10);

    float *a = calloc(mlp.num_params, sizeof *a);
    float *b = calloc(mlp.num_params, sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    fcb_rng_init(&rng, 3, FCB_STREAM_MODEL_INIT, 0, 0);
    assert_int_equal(fcb_model_init_params(&mlp, a, &rng), FCB_OK);
    fcb_rng_init(&rng, 3, FCB_STREAM_MODEL_INIT, 0, 0);
    assert_int_equal(fcb_model_init_params(&mlp, b, &rng), FCB_OK);
    assert_memory_equal(a, b, mlp.num_params * sizeof *a);

    double bounds[2] = {sqrt(6.0 / 40.0), 0.1 * sqrt(6.0 / (64.0 + 10.0))};
    for (int l = 0; l < 2; l++) {
        size_t count = (size_t)mlp.layer_in[l] * mlp.layer_out[l];
        const float *w = a + mlp.weight_offset[l];
        double max_abs = 0.0, sum = 0.0, sum_sq = 0.0;
        for (size_t i = 0; i < count; i++) {
            max_abs = fmax(max_abs, fabs(w[i]));
            sum += w[i];
            sum_sq += (double)w[i] * w[i];
        }
        double mean = sum / count, var = sum_sq / count - mean * mean;
        double expected_var = bounds[l] * bounds[l] / 3.0;
        assert_true(max_abs <= bounds[l]);
        assert_true(max_abs > 0.9 * bounds[l]);
        assert_true(fabs(mean) < 0.1 * bounds[l]);
        assert_true(fabs(var - expected_var) < 0.2 * expected_var);
        for (int o = 0; o < mlp.layer_out[l]; o++)
            assert_true(a[mlp.bias_offset[l] + o] == 0.0f);
    }

    fcb_rng_init(&rng, 4, FCB_STREAM_MODEL_INIT, 0, 0);
    assert_int_equal(fcb_model_init_params(&mlp, b, &rng), FCB_OK);
    assert_true(memcmp(a, b, mlp.num_params * sizeof *a) != 0);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_gradients),
        cmocka_unit_test(test_linear_normalized_gradients),
        cmocka_unit_test(test_mlp_one_hidden_gradients),
        cmocka_unit_test(test_mlp_two_hidden_gradients),
        cmocka_unit_test(test_loss_gradients_wrt_scores),
        cmocka_unit_test(test_batch_matches_single_rows),
        cmocka_unit_test(test_features),
        cmocka_unit_test(test_init_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
