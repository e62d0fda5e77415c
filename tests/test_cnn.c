/* The CNN (model.arch = cnn) against an independent double-precision
 * reference written here with direct loops (no im2col): forward values,
 * every parameter block's gradient and the gradient at each layer's input
 * against central finite differences, the one-row scorer, batches that span
 * several im2col chunks, and the refusal of a non-square input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "config_file.h"
#include "conv_layers.h"
#include "model.h"
#include "rng.h"
#include "world.h"

static const double FD_STEP = 1e-6;
static const double GRAD_TOLERANCE = 1e-4;
/* The real 28x28 shape sums thousands of float products per gradient entry. */
static const double LARGE_GRAD_TOLERANCE = 1e-3;
/* A ReLU input or a pool runner-up closer than this to its kink could land
 * on the other side in float than in double; such data is redrawn. */
static const double KINK_MARGIN = 1e-4;
enum { KERNEL = FCB_CONV_KERNEL, PAD = FCB_CONV_KERNEL / 2 };

static double uniform(fcb_rng *rng, double lo, double hi)
{
    return lo + (hi - lo) * fcb_rng_uniform(rng);
}

static void *checked_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size);
    assert_non_null(p);
    return p;
}

/* ---- double-precision reference ---------------------------------------- */

typedef struct {
    double min_relu_input; /* smallest |x| fed to a ReLU */
    double min_pool_gap;   /* smallest gap between a window's best and runner-up */
    int negative, positive;
} kink_report;

static void kink_reset(kink_report *k)
{
    k->min_relu_input = INFINITY;
    k->min_pool_gap = INFINITY;
    k->negative = k->positive = 0;
}

static double relu_noted(double v, kink_report *k)
{
    if (k) {
        k->min_relu_input = fmin(k->min_relu_input, fabs(v));
        k->negative += v < 0.0;
        k->positive += v > 0.0;
    }
    return v > 0.0 ? v : 0.0;
}

/* out (h*w*out_c) = 'same' 5x5 convolution of in (h*w*c), W out_c x (ky,kx,c). */
static void ref_conv(const fcb_conv_geometry *g, const double *W, const double *b, const double *in, double *out)
{
    for (int y = 0; y < g->h; y++)
        for (int x = 0; x < g->w; x++)
            for (int o = 0; o < g->out_c; o++) {
                double sum = b[o];
                for (int ky = 0; ky < KERNEL; ky++)
                    for (int kx = 0; kx < KERNEL; kx++) {
                        int iy = y + ky - PAD, ix = x + kx - PAD;
                        if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w)
                            continue;
                        for (int c = 0; c < g->c; c++)
                            sum += W[(size_t)o * KERNEL * KERNEL * g->c + (size_t)(ky * KERNEL + kx) * g->c + c] *
                                   in[((size_t)iy * g->w + ix) * g->c + c];
                    }
                out[((size_t)y * g->w + x) * g->out_c + o] = sum;
            }
}

/* pooled = 2x2 stride-2 max of conv (floor on odd sizes), then ReLU when relu. */
static void ref_pool(const fcb_conv_geometry *g, const double *conv, double *pooled, int relu, kink_report *k)
{
    for (int py = 0; py < g->pool_h; py++)
        for (int px = 0; px < g->pool_w; px++)
            for (int o = 0; o < g->out_c; o++) {
                double best = -INFINITY, second = -INFINITY;
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++) {
                        double v = conv[((size_t)(2 * py + dy) * g->w + (2 * px + dx)) * g->out_c + o];
                        if (v > best) {
                            second = best;
                            best = v;
                        } else if (v > second) {
                            second = v;
                        }
                    }
                if (k)
                    k->min_pool_gap = fmin(k->min_pool_gap, best - second);
                size_t cell = ((size_t)py * g->pool_w + px) * g->out_c + o;
                pooled[cell] = relu ? relu_noted(best, k) : best;
            }
}

static size_t largest_image(const fcb_model *m)
{
    size_t most = (size_t)m->config.input_dim;
    for (int j = 0; j < m->config.num_conv; j++)
        if (fcb_conv_image_out(&m->conv[j]) > most)
            most = fcb_conv_image_out(&m->conv[j]);
    return most;
}

/* The flattened last pool of one row x. */
static void ref_conv_part(const fcb_model *m, const double *params, const float *x, double *flat, kink_report *k)
{
    size_t size = largest_image(m), d = (size_t)m->config.input_dim;
    double *current = checked_calloc(size, sizeof(double)), *conv = checked_calloc(size, sizeof(double));
    double norm = 0.0;
    for (size_t j = 0; j < d; j++) {
        current[j] = x[j];
        norm += current[j] * current[j];
    }
    norm = sqrt(norm);
    if (m->config.normalize_input && norm > 0.0)
        for (size_t j = 0; j < d; j++)
            current[j] /= norm;
    for (int j = 0; j < m->config.num_conv; j++) {
        const fcb_conv_geometry *g = &m->conv[j];
        ref_conv(g, params + m->conv_weight_offset[j], params + m->conv_bias_offset[j], current, conv);
        ref_pool(g, conv, current, 1, k);
    }
    memcpy(flat, current, (size_t)m->layer_in[0] * sizeof(double));
    free(current);
    free(conv);
}

/* Scores (K) from the flattened last pool. */
static void ref_dense_part(const fcb_model *m, const double *params, const double *flat, double *scores,
                           kink_report *k)
{
    int widest = m->layer_in[0];
    for (int l = 0; l < m->num_layers; l++)
        widest = widest > m->layer_out[l] ? widest : m->layer_out[l];
    double *current = checked_calloc((size_t)widest, sizeof(double));
    double *next = checked_calloc((size_t)widest, sizeof(double));
    memcpy(current, flat, (size_t)m->layer_in[0] * sizeof(double));
    for (int l = 0; l < m->num_layers; l++) {
        const double *W = params + m->weight_offset[l], *b = params + m->bias_offset[l];
        int in = m->layer_in[l], out = m->layer_out[l], hidden = l < m->num_layers - 1;
        for (int o = 0; o < out; o++) {
            double sum = b[o];
            for (int j = 0; j < in; j++)
                sum += W[(size_t)o * in + j] * current[j];
            next[o] = hidden ? relu_noted(sum, k) : sum;
        }
        memcpy(current, next, (size_t)out * sizeof(double));
    }
    memcpy(scores, current, (size_t)m->config.num_actions * sizeof(double));
    free(current);
    free(next);
}

/* L = sum over rows and actions of scores * R: its gradient is backward(R). */
static double ref_loss(const fcb_model *m, const double *params, const float *x, int n, const float *R,
                       kink_report *k)
{
    int K = m->config.num_actions, d = m->config.input_dim;
    double *flat = checked_calloc((size_t)m->layer_in[0], sizeof(double));
    double *scores = checked_calloc((size_t)K, sizeof(double));
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        ref_conv_part(m, params, x + (size_t)i * d, flat, k);
        ref_dense_part(m, params, flat, scores, k);
        for (int a = 0; a < K; a++)
            total += scores[a] * R[i * K + a];
    }
    free(flat);
    free(scores);
    return total;
}

/* ---- helpers ------------------------------------------------------------ */

static fcb_model make_cnn(int h, int w, int c, const int *channels, int num_conv, const int *hidden, int num_hidden,
                          int K, int normalize)
{
    fcb_model_config config = {.arch = FCB_ARCH_CNN, .input_dim = h * w * c, .num_actions = K,
                               .num_hidden = num_hidden, .normalize_input = normalize, .num_conv = num_conv,
                               .image_shape = {h, w, c}};
    for (int i = 0; i < num_hidden; i++)
        config.hidden[i] = hidden[i];
    for (int i = 0; i < num_conv; i++)
        config.conv_channels[i] = channels[i];
    fcb_model m;
    assert_int_equal(fcb_model_init(&m, &config), FCB_OK);
    return m;
}

/* He-scale weights and clearly non-zero biases so every bias shows. */
static void random_params(const fcb_model *m, float *params, fcb_rng *rng)
{
    for (int j = 0; j < m->config.num_conv; j++) {
        const fcb_conv_geometry *g = &m->conv[j];
        double scale = 1.5 / sqrt((double)fcb_conv_col_width(g));
        for (size_t i = 0; i < (size_t)g->out_c * fcb_conv_col_width(g); i++)
            params[m->conv_weight_offset[j] + i] = (float)uniform(rng, -scale, scale);
        for (int o = 0; o < g->out_c; o++)
            params[m->conv_bias_offset[j] + o] = (float)uniform(rng, -0.3, 0.3);
    }
    for (int l = 0; l < m->num_layers; l++) {
        double scale = 1.5 / sqrt((double)m->layer_in[l]);
        for (size_t i = 0; i < (size_t)m->layer_in[l] * m->layer_out[l]; i++)
            params[m->weight_offset[l] + i] = (float)uniform(rng, -scale, scale);
        for (int o = 0; o < m->layer_out[l]; o++)
            params[m->bias_offset[l] + o] = (float)uniform(rng, -0.3, 0.3);
    }
}

static void random_values(float *v, size_t count, double lo, double hi, fcb_rng *rng)
{
    for (size_t i = 0; i < count; i++)
        v[i] = (float)uniform(rng, lo, hi);
}

/* Draws params, x and R until no ReLU input or pool runner-up is near a kink. */
static void draw_away_from_kinks(const fcb_model *m, float *params, double *dparams, float *x, int n, float *R,
                                 uint32_t case_id)
{
    kink_report k;
    int found = 0;
    for (uint32_t attempt = 0; attempt < 200 && !found; attempt++) {
        fcb_rng rng;
        fcb_rng_init(&rng, 2025, FCB_STREAM_TEST, case_id, attempt);
        random_params(m, params, &rng);
        random_values(x, (size_t)n * m->config.input_dim, -1.0, 1.0, &rng);
        random_values(R, (size_t)n * m->config.num_actions, -1.0, 1.0, &rng);
        for (size_t p = 0; p < m->num_params; p++)
            dparams[p] = params[p];
        kink_reset(&k);
        ref_loss(m, dparams, x, n, R, &k);
        found = k.min_relu_input > KINK_MARGIN && k.min_pool_gap > KINK_MARGIN;
    }
    assert_true(found);
    /* Both ReLU branches must be exercised for the check to mean much. */
    assert_true(k.negative > 0);
    assert_true(k.positive > 0);
}

static double central_difference(const fcb_model *m, double *dparams, size_t p, const float *x, int n,
                                 const float *R)
{
    double saved = dparams[p], h = FD_STEP * fmax(1.0, fabs(saved));
    dparams[p] = saved + h;
    double up = ref_loss(m, dparams, x, n, R, NULL);
    dparams[p] = saved - h;
    double down = ref_loss(m, dparams, x, n, R, NULL);
    dparams[p] = saved;
    return (up - down) / (2.0 * h);
}

/* max |a - b| / max(max |a|, max |b|, 1e-8) over the listed entries. */
static double relative_error(const float *analytic, const double *numeric, const size_t *index, size_t count)
{
    double diff = 0.0, scale = 1e-8;
    for (size_t i = 0; i < count; i++) {
        size_t p = index[i];
        diff = fmax(diff, fabs(analytic[p] - numeric[p]));
        scale = fmax(scale, fmax(fabs(analytic[p]), fabs(numeric[p])));
    }
    return diff / scale;
}

typedef struct {
    const char *name;
    size_t begin, end;
} param_block;

/* Every parameter block: each conv's weights and bias, each dense layer's. */
static int param_blocks(const fcb_model *m, param_block *blocks)
{
    static const char *conv_names[2][FCB_MAX_CONV] = {{"conv1 W", "conv2 W", "conv3 W", "conv4 W"},
                                                       {"conv1 b", "conv2 b", "conv3 b", "conv4 b"}};
    static const char *dense_names[2][FCB_MAX_HIDDEN + 1] = {
        {"dense1 W", "dense2 W", "dense3 W", "dense4 W", "dense5 W", "dense6 W", "dense7 W", "dense8 W", "dense9 W"},
        {"dense1 b", "dense2 b", "dense3 b", "dense4 b", "dense5 b", "dense6 b", "dense7 b", "dense8 b", "dense9 b"}};
    int count = 0;
    for (int j = 0; j < m->config.num_conv; j++) {
        blocks[count++] = (param_block){conv_names[0][j], m->conv_weight_offset[j], m->conv_bias_offset[j]};
        blocks[count++] = (param_block){conv_names[1][j], m->conv_bias_offset[j],
                                        m->conv_bias_offset[j] + (size_t)m->conv[j].out_c};
    }
    for (int l = 0; l < m->num_layers; l++) {
        blocks[count++] = (param_block){dense_names[0][l], m->weight_offset[l], m->bias_offset[l]};
        blocks[count++] = (param_block){dense_names[1][l], m->bias_offset[l],
                                        m->bias_offset[l] + (size_t)m->layer_out[l]};
    }
    return count;
}

/* Forward + backward(R) with the library; checks the scores against the reference. */
static void library_gradient(const fcb_model *m, const float *params, const double *dparams, const float *x, int n,
                             const float *R, fcb_workspace *ws, float *grad)
{
    int K = m->config.num_actions;
    float *scores = checked_calloc((size_t)n * K, sizeof(float));
    double *flat = checked_calloc((size_t)m->layer_in[0], sizeof(double));
    double *ref = checked_calloc((size_t)K, sizeof(double));
    assert_int_equal(fcb_model_forward(m, params, x, n, ws, scores), FCB_OK);
    for (int i = 0; i < n; i++) {
        ref_conv_part(m, dparams, x + (size_t)i * m->config.input_dim, flat, NULL);
        ref_dense_part(m, dparams, flat, ref, NULL);
        for (int a = 0; a < K; a++)
            if (fabs(scores[i * K + a] - ref[a]) > 1e-5 * (1.0 + fabs(ref[a])))
                fail_msg("row %d action %d: score %.9g, reference %.9g", i, a, (double)scores[i * K + a], ref[a]);
    }
    assert_int_equal(fcb_model_backward(m, params, R, ws, grad), FCB_OK);
    free(scores);
    free(flat);
    free(ref);
}

/* ---- every parameter and the dense input, small shapes ----------------- */

static void check_all_gradients(const fcb_model *m, int n, uint32_t case_id)
{
    size_t np = m->num_params, flat_width = (size_t)m->layer_in[0];
    int K = m->config.num_actions, d = m->config.input_dim;
    float *params = checked_calloc(np, sizeof(float)), *grad = checked_calloc(np, sizeof(float));
    double *dparams = checked_calloc(np, sizeof(double)), *numeric = checked_calloc(np, sizeof(double));
    float *x = checked_calloc((size_t)n * d, sizeof(float)), *R = checked_calloc((size_t)n * K, sizeof(float));
    draw_away_from_kinks(m, params, dparams, x, n, R, case_id);

    fcb_workspace ws;
    assert_int_equal(fcb_workspace_init(&ws, m, n), FCB_OK);
    library_gradient(m, params, dparams, x, n, R, &ws, grad);
    for (size_t p = 0; p < np; p++)
        numeric[p] = central_difference(m, dparams, p, x, n, R);

    param_block blocks[2 * (FCB_MAX_CONV + FCB_MAX_HIDDEN + 1)];
    int num_blocks = param_blocks(m, blocks);
    size_t *index = checked_calloc(np, sizeof(size_t));
    for (int b = 0; b < num_blocks; b++) {
        size_t count = blocks[b].end - blocks[b].begin;
        for (size_t i = 0; i < count; i++)
            index[i] = blocks[b].begin + i;
        double err = relative_error(grad, numeric, index, count);
        print_message("case %u, %s (%zu values): relative error %.2e\n", case_id, blocks[b].name, count, err);
        if (err > GRAD_TOLERANCE)
            fail_msg("case %u, %s: relative error %.3g > %.1g", case_id, blocks[b].name, err, GRAD_TOLERANCE);
    }
    free(index);

    /* The dense input (the flattened last pool, after its ReLU mask): ws.dflat
     * against differences of the dense part alone. */
    double *flat = checked_calloc(flat_width, sizeof(double)), *scores = checked_calloc((size_t)K, sizeof(double));
    double worst = 0.0, scale = 1e-8;
    for (int i = 0; i < n; i++) {
        ref_conv_part(m, dparams, x + (size_t)i * d, flat, NULL);
        for (size_t j = 0; j < flat_width; j++) {
            double saved = flat[j], h = FD_STEP, total[2];
            for (int s = 0; s < 2; s++) {
                flat[j] = saved + (s == 0 ? h : -h);
                ref_dense_part(m, dparams, flat, scores, NULL);
                total[s] = 0.0;
                for (int a = 0; a < K; a++)
                    total[s] += scores[a] * R[i * K + a];
            }
            flat[j] = saved;
            /* A pool output held at 0 by its ReLU passes no gradient down. */
            double fd = saved > 0.0 ? (total[0] - total[1]) / (2.0 * h) : 0.0;
            double got = ws.dflat[(size_t)i * flat_width + j];
            worst = fmax(worst, fabs(got - fd));
            scale = fmax(scale, fmax(fabs(got), fabs(fd)));
        }
    }
    print_message("case %u, dense input: relative error %.2e\n", case_id, worst / scale);
    assert_true(worst / scale < GRAD_TOLERANCE);

    fcb_workspace_free(&ws);
    free(flat);
    free(scores);
    free(params);
    free(grad);
    free(dparams);
    free(numeric);
    free(x);
    free(R);
}

static void test_small_cnn_gradients(void **state)
{
    (void)state;
    const int channels[] = {3, 4}, hidden[] = {5};
    fcb_model m = make_cnn(8, 8, 2, channels, 2, hidden, 1, 3, 0);
    check_all_gradients(&m, 3, 1);
    fcb_model normalized = make_cnn(8, 8, 2, channels, 2, hidden, 1, 3, 1);
    check_all_gradients(&normalized, 3, 2);
}

/* Odd sizes pool by floor: 7x9 -> 3x4 -> 1x2; no dense hidden layer. */
static void test_odd_shape_cnn_gradients(void **state)
{
    (void)state;
    const int channels[] = {2, 3};
    fcb_model m = make_cnn(7, 9, 1, channels, 2, NULL, 0, 4, 0);
    assert_int_equal(m.conv[0].pool_h, 3);
    assert_int_equal(m.conv[0].pool_w, 4);
    assert_int_equal(m.conv[1].pool_h, 1);
    assert_int_equal(m.conv[1].pool_w, 2);
    assert_int_equal(fcb_model_feature_dim(&m), 1 * 2 * 3);
    check_all_gradients(&m, 2, 3);
}

/* ---- the real shape: a few random coordinates per block ---------------- */

static void test_paper_cnn_gradients(void **state)
{
    (void)state;
    const int channels[] = {32, 64}, hidden[] = {512};
    fcb_model m = make_cnn(28, 28, 1, channels, 2, hidden, 1, 10, 0);
    assert_int_equal(m.layer_in[0], 7 * 7 * 64);
    assert_int_equal(fcb_model_feature_dim(&m), 512);
    size_t np = m.num_params;
    /* 32*25+32 + 64*800+64 + 512*3136+512 + 10*512+10 */
    assert_int_equal(np, 832 + 51264 + 1606144 + 5130);
    const int n = 2, K = 10, d = 784, per_block = 3;
    float *params = checked_calloc(np, sizeof(float)), *grad = checked_calloc(np, sizeof(float));
    double *dparams = checked_calloc(np, sizeof(double)), *numeric = checked_calloc(np, sizeof(double));
    float x[2 * 784], R[2 * 10];
    fcb_rng rng;
    fcb_rng_init(&rng, 2025, FCB_STREAM_TEST, 100, 0);
    random_params(&m, params, &rng);
    random_values(x, (size_t)n * d, 0.0, 1.0, &rng);
    random_values(R, (size_t)n * K, -1.0, 1.0, &rng);
    for (size_t p = 0; p < np; p++)
        dparams[p] = params[p];

    fcb_workspace ws;
    assert_int_equal(fcb_workspace_init(&ws, &m, n), FCB_OK);
    library_gradient(&m, params, dparams, x, n, R, &ws, grad);

    param_block blocks[8];
    int num_blocks = param_blocks(&m, blocks);
    assert_int_equal(num_blocks, 8);
    for (int b = 0; b < num_blocks; b++) {
        /* Two random entries and the largest one: a random pick alone may
         * land on units the ReLUs switched off, where both sides are 0. */
        size_t index[3], size = blocks[b].end - blocks[b].begin;
        index[0] = blocks[b].begin;
        for (size_t p = blocks[b].begin; p < blocks[b].end; p++)
            if (fabs(grad[p]) > fabs(grad[index[0]]))
                index[0] = p;
        for (int i = 1; i < per_block; i++)
            index[i] = blocks[b].begin + (size_t)fcb_rng_below(&rng, (uint32_t)size);
        for (int i = 0; i < per_block; i++)
            numeric[index[i]] = central_difference(&m, dparams, index[i], x, n, R);
        assert_true(fabs(numeric[index[0]]) > 0.0);
        double err = relative_error(grad, numeric, index, per_block);
        print_message("28x28x1 / 32,64 / 512, %s (%d of %zu values): relative error %.2e\n", blocks[b].name,
                      per_block, blocks[b].end - blocks[b].begin, err);
        if (err > LARGE_GRAD_TOLERANCE)
            fail_msg("%s: relative error %.3g > %.1g", blocks[b].name, err, LARGE_GRAD_TOLERANCE);
    }
    fcb_workspace_free(&ws);
    free(params);
    free(grad);
    free(dparams);
    free(numeric);
}

/* ---- layers alone: the gradient at the conv and pool inputs ------------ */

static void test_conv_layer_input_gradient(void **state)
{
    (void)state;
    const fcb_conv_geometry g = {.h = 6, .w = 5, .c = 2, .out_c = 3, .pool_h = 3, .pool_w = 2};
    const int m = 2;
    size_t in = fcb_conv_image_in(&g), out = fcb_conv_image_out(&g), width = fcb_conv_col_width(&g);
    size_t nw = (size_t)g.out_c * width;
    float *x = checked_calloc(m * in, sizeof(float)), *W = checked_calloc(nw, sizeof(float));
    float b[3], db[3] = {0}, *R = checked_calloc(m * out, sizeof(float));
    float *col = checked_calloc((size_t)m * g.h * g.w * width, sizeof(float));
    float *dcol = checked_calloc((size_t)m * g.h * g.w * width, sizeof(float));
    float *y = checked_calloc(m * out, sizeof(float)), *dW = checked_calloc(nw, sizeof(float));
    float *dx = checked_calloc(m * in, sizeof(float));
    double *dxd = checked_calloc(in, sizeof(double)), *Wd = checked_calloc(nw, sizeof(double));
    double bd[3], *yd = checked_calloc(out, sizeof(double));
    fcb_rng rng;
    fcb_rng_init(&rng, 2025, FCB_STREAM_TEST, 200, 0);
    random_values(x, m * in, -1.0, 1.0, &rng);
    random_values(W, nw, -0.5, 0.5, &rng);
    random_values(b, 3, -0.5, 0.5, &rng);
    random_values(R, m * out, -1.0, 1.0, &rng);
    for (size_t i = 0; i < nw; i++)
        Wd[i] = W[i];
    for (int o = 0; o < 3; o++)
        bd[o] = b[o];

    fcb_im2col(&g, x, m, col);
    fcb_conv_forward(&g, col, m, W, b, y);
    fcb_conv_backward(&g, R, col, m, W, dW, db, dcol);
    fcb_col2im(&g, dcol, m, dx);

    double worst_y = 0.0, worst_dx = 0.0, worst_dw = 0.0, scale_dx = 1e-8, scale_dw = 1e-8;
    double *dW_fd = checked_calloc(nw, sizeof(double));
    for (int i = 0; i < m; i++) {
        for (size_t j = 0; j < in; j++)
            dxd[j] = x[i * in + j];
        ref_conv(&g, Wd, bd, dxd, yd);
        for (size_t j = 0; j < out; j++)
            worst_y = fmax(worst_y, fabs(y[i * out + j] - yd[j]));
        /* L = sum y * R is linear in x and W: differences are exact up to rounding. */
        for (size_t j = 0; j < in; j++) {
            double total[2];
            for (int s = 0; s < 2; s++) {
                dxd[j] = x[i * in + j] + (s == 0 ? FD_STEP : -FD_STEP);
                ref_conv(&g, Wd, bd, dxd, yd);
                total[s] = 0.0;
                for (size_t k = 0; k < out; k++)
                    total[s] += yd[k] * R[i * out + k];
            }
            dxd[j] = x[i * in + j];
            double fd = (total[0] - total[1]) / (2.0 * FD_STEP);
            worst_dx = fmax(worst_dx, fabs(dx[i * in + j] - fd));
            scale_dx = fmax(scale_dx, fabs(fd));
        }
        for (size_t p = 0; p < nw; p++) {
            double total[2];
            for (int s = 0; s < 2; s++) {
                Wd[p] = W[p] + (s == 0 ? FD_STEP : -FD_STEP);
                ref_conv(&g, Wd, bd, dxd, yd);
                total[s] = 0.0;
                for (size_t k = 0; k < out; k++)
                    total[s] += yd[k] * R[i * out + k];
            }
            Wd[p] = W[p];
            dW_fd[p] += (total[0] - total[1]) / (2.0 * FD_STEP);
        }
    }
    for (size_t p = 0; p < nw; p++) {
        worst_dw = fmax(worst_dw, fabs(dW[p] - dW_fd[p]));
        scale_dw = fmax(scale_dw, fabs(dW_fd[p]));
    }
    for (int o = 0; o < 3; o++) {
        double sum = 0.0;
        for (int r = 0; r < m * g.h * g.w; r++)
            sum += R[r * 3 + o];
        assert_true(fabs(db[o] - sum) < 1e-4 * (1.0 + fabs(sum)));
    }
    print_message("conv layer: forward max error %.2e, input relative error %.2e, weights %.2e\n", worst_y,
                  worst_dx / scale_dx, worst_dw / scale_dw);
    assert_true(worst_y < 1e-5);
    assert_true(worst_dx / scale_dx < GRAD_TOLERANCE);
    assert_true(worst_dw / scale_dw < GRAD_TOLERANCE);
    free(x);
    free(W);
    free(R);
    free(col);
    free(dcol);
    free(y);
    free(dW);
    free(dx);
    free(dxd);
    free(Wd);
    free(yd);
    free(dW_fd);
}

static void test_maxpool_input_gradient(void **state)
{
    (void)state;
    /* Odd sizes: the last row and column are dropped and get no gradient. */
    const fcb_conv_geometry g = {.h = 5, .w = 7, .c = 1, .out_c = 3, .pool_h = 2, .pool_w = 3};
    size_t in = fcb_conv_image_out(&g), pool = fcb_conv_image_pool(&g);
    float conv[105], pooled[18], R[18], dconv[105];
    int argmax[18];
    double convd[105] = {0}, ref[18];
    kink_report k;
    kink_reset(&k);
    fcb_rng rng;
    fcb_rng_init(&rng, 2025, FCB_STREAM_TEST, 300, 0);
    random_values(conv, in, -1.0, 1.0, &rng);
    random_values(R, pool, -1.0, 1.0, &rng);
    for (size_t j = 0; j < in; j++)
        convd[j] = conv[j];
    ref_pool(&g, convd, ref, 0, &k);
    assert_true(k.min_pool_gap > KINK_MARGIN);
    fcb_maxpool_forward(&g, conv, 1, pooled, argmax);
    for (size_t j = 0; j < pool; j++)
        assert_true(pooled[j] == (float)ref[j]);
    fcb_maxpool_backward(&g, R, argmax, 1, dconv);
    for (size_t j = 0; j < in; j++) {
        double total[2];
        for (int s = 0; s < 2; s++) {
            convd[j] = conv[j] + (s == 0 ? FD_STEP : -FD_STEP);
            ref_pool(&g, convd, ref, 0, NULL);
            total[s] = 0.0;
            for (size_t c = 0; c < pool; c++)
                total[s] += ref[c] * R[c];
        }
        convd[j] = conv[j];
        double fd = (total[0] - total[1]) / (2.0 * FD_STEP);
        assert_true(fabs(dconv[j] - fd) < 1e-6);
    }
    /* Row 4 (the fifth) and column 6 (the seventh) are outside every window. */
    for (int x = 0; x < g.w; x++)
        for (int c = 0; c < 3; c++)
            assert_true(dconv[(4 * g.w + x) * 3 + c] == 0.0f);
    for (int y = 0; y < g.h; y++)
        for (int c = 0; c < 3; c++)
            assert_true(dconv[(y * g.w + 6) * 3 + c] == 0.0f);
}

/* ---- one row, chunks, refusal ------------------------------------------ */

static void test_score_row_equals_forward(void **state)
{
    (void)state;
    const int channels[] = {3, 4}, hidden[] = {5};
    for (int normalize = 0; normalize < 2; normalize++) {
        fcb_model m = make_cnn(8, 8, 2, channels, 2, hidden, 1, 3, normalize);
        float *params = checked_calloc(m.num_params, sizeof(float));
        float x[3 * 128], batch_scores[9], one[3], row[3];
        fcb_rng rng;
        fcb_rng_init(&rng, 2025, FCB_STREAM_TEST, 400, (uint64_t)normalize);
        random_params(&m, params, &rng);
        random_values(x, 3 * 128, -1.0, 1.0, &rng);
        float *scratch = checked_calloc(fcb_model_row_scratch(&m), sizeof(float));
        fcb_workspace ws1, ws3;
        assert_int_equal(fcb_workspace_init(&ws1, &m, 1), FCB_OK);
        assert_int_equal(fcb_workspace_init(&ws3, &m, 3), FCB_OK);
        assert_int_equal(fcb_model_forward(&m, params, x, 3, &ws3, batch_scores), FCB_OK);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(fcb_model_score_row(&m, params, x + i * 128, scratch, row), FCB_OK);
            assert_int_equal(fcb_model_forward(&m, params, x + i * 128, 1, &ws1, one), FCB_OK);
            /* The same arithmetic as a forward of one row: equal to the bit. */
            assert_memory_equal(row, one, sizeof row);
            for (int a = 0; a < 3; a++)
                assert_true(fabs(row[a] - batch_scores[i * 3 + a]) < 1e-5 * (1.0 + fabs(row[a])));
        }
        fcb_workspace_free(&ws1);
        fcb_workspace_free(&ws3);
        free(scratch);
        free(params);
    }
}

/* A batch larger than FCB_CNN_CHUNK runs its convs in several products and
 * recomputes im2col in backward: the same as row by row. */
static void test_batch_spanning_chunks(void **state)
{
    (void)state;
    const int channels[] = {3, 4}, hidden[] = {5}, n = FCB_CNN_CHUNK + 6, d = 128, K = 3;
    fcb_model m = make_cnn(8, 8, 2, channels, 2, hidden, 1, K, 0);
    size_t np = m.num_params;
    float *params = checked_calloc(np, sizeof(float)), *grad = checked_calloc(np, sizeof(float));
    float *row_grad = checked_calloc(np, sizeof(float));
    double *sum = checked_calloc(np, sizeof(double));
    float *x = checked_calloc((size_t)n * d, sizeof(float)), *R = checked_calloc((size_t)n * K, sizeof(float));
    float *scores = checked_calloc((size_t)n * K, sizeof(float)), one[3];
    fcb_rng rng;
    fcb_rng_init(&rng, 2025, FCB_STREAM_TEST, 500, 0);
    random_params(&m, params, &rng);
    random_values(x, (size_t)n * d, -1.0, 1.0, &rng);
    random_values(R, (size_t)n * K, -1.0, 1.0, &rng);
    fcb_workspace ws, ws1;
    assert_int_equal(fcb_workspace_init(&ws, &m, n), FCB_OK);
    assert_int_equal(fcb_workspace_init(&ws1, &m, 1), FCB_OK);
    assert_int_equal(ws.chunk, FCB_CNN_CHUNK);
    assert_int_equal(fcb_model_forward(&m, params, x, n, &ws, scores), FCB_OK);
    assert_int_equal(fcb_model_backward(&m, params, R, &ws, grad), FCB_OK);
    for (int i = 0; i < n; i++) {
        assert_int_equal(fcb_model_forward(&m, params, x + (size_t)i * d, 1, &ws1, one), FCB_OK);
        for (int a = 0; a < K; a++)
            assert_true(fabs(one[a] - scores[i * K + a]) < 1e-5 * (1.0 + fabs(one[a])));
        assert_int_equal(fcb_model_backward(&m, params, R + i * K, &ws1, row_grad), FCB_OK);
        for (size_t p = 0; p < np; p++)
            sum[p] += row_grad[p];
    }
    size_t *index = checked_calloc(np, sizeof(size_t));
    for (size_t p = 0; p < np; p++)
        index[p] = p;
    double err = relative_error(grad, sum, index, np);
    print_message("batch of %d over two chunks vs row by row: relative error %.2e\n", n, err);
    assert_true(err < GRAD_TOLERANCE);
    /* A second backward after the col buffers were overwritten gives the same. */
    assert_int_equal(fcb_model_backward(&m, params, R, &ws, row_grad), FCB_OK);
    assert_memory_equal(grad, row_grad, np * sizeof(float));
    fcb_workspace_free(&ws);
    fcb_workspace_free(&ws1);
    free(index);
    free(params);
    free(grad);
    free(row_grad);
    free(sum);
    free(x);
    free(R);
    free(scores);
}

static void test_non_square_input_refused(void **state)
{
    (void)state;
    fcb_config c;
    fcb_config_default(&c);
    strcpy(c.arch, "cnn");
    fcb_model_config mc;
    assert_int_equal(fcb_model_config_from(&c, 780, 10, &mc), FCB_OK);
    fcb_model m;
    assert_int_equal(fcb_model_init(&m, &mc), FCB_ERR_ARG);
    assert_non_null(strstr(fcb_last_error(), "input_dim = 780 is not a square"));
    assert_non_null(strstr(fcb_last_error(), "model.image_shape"));

    /* The inferred square: 784 = 28 x 28 x 1, the paper's shape by default. */
    assert_int_equal(fcb_model_config_from(&c, 784, 10, &mc), FCB_OK);
    assert_int_equal(fcb_model_init(&m, &mc), FCB_OK);
    assert_int_equal(m.config.image_shape[0], 28);
    assert_int_equal(m.config.image_shape[2], 1);
    assert_int_equal(m.config.num_conv, 2);
    assert_int_equal(m.conv[1].out_c, 64);

    /* An explicit shape must multiply to input_dim. */
    c.image_shape[0] = 26;
    c.image_shape[1] = 30;
    c.image_shape[2] = 1;
    c.num_image_shape = 3;
    assert_int_equal(fcb_model_config_from(&c, 780, 10, &mc), FCB_OK);
    assert_int_equal(fcb_model_init(&m, &mc), FCB_OK);
    assert_int_equal(fcb_model_config_from(&c, 784, 10, &mc), FCB_OK);
    assert_int_equal(fcb_model_init(&m, &mc), FCB_ERR_ARG);
    /* Too small for the second pool: 3x3 -> 1x1 cannot be pooled again. */
    c.image_shape[0] = 3;
    c.image_shape[1] = 3;
    assert_int_equal(fcb_model_config_from(&c, 9, 10, &mc), FCB_OK);
    assert_int_equal(fcb_model_init(&m, &mc), FCB_ERR_ARG);
    assert_non_null(strstr(fcb_last_error(), "too small"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_layer_input_gradient),
        cmocka_unit_test(test_maxpool_input_gradient),
        cmocka_unit_test(test_small_cnn_gradients),
        cmocka_unit_test(test_odd_shape_cnn_gradients),
        cmocka_unit_test(test_paper_cnn_gradients),
        cmocka_unit_test(test_score_row_equals_forward),
        cmocka_unit_test(test_batch_spanning_chunks),
        cmocka_unit_test(test_non_square_input_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
