#include "model.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "name_table.h"
#include "vec.h"

static const fcb_name_entry ARCH_NAMES[] = {
    {"linear", FCB_ARCH_LINEAR},
    {"mlp", FCB_ARCH_MLP},
    {"cnn", FCB_ARCH_CNN},
};

fcb_status fcb_arch_from_name(const char *name, fcb_arch *out)
{
    int value = 0;
    fcb_status st = fcb_name_lookup(ARCH_NAMES, sizeof ARCH_NAMES / sizeof ARCH_NAMES[0], "model.arch", name, &value);
    if (st == FCB_OK)
        *out = (fcb_arch)value;
    return st;
}

const char *fcb_arch_name(fcb_arch arch)
{
    return fcb_name_of(ARCH_NAMES, sizeof ARCH_NAMES / sizeof ARCH_NAMES[0], (int)arch);
}

/* How one layer's products are computed. A batch goes through sgemm. A
 * single row (online learning) would pay sgemm's call overhead on a few
 * hundred flops, so it uses sgemv/sger, or plain loops when the layer is
 * tiny. The crossover was measured with bench/bench_models.c (see
 * docs/performance.md): loops win at d = 20, level-2 BLAS at d = 784. */
typedef enum { KERNEL_LOOPS, KERNEL_GEMV, KERNEL_GEMM } kernel_kind;

enum { TINY_LAYER_WEIGHTS = 2048 };

static kernel_kind choose_kernel(int n, int in_dim, int out_dim)
{
    if (n > 1)
        return KERNEL_GEMM;
    return (size_t)in_dim * (size_t)out_dim <= TINY_LAYER_WEIGHTS ? KERNEL_LOOPS : KERNEL_GEMV;
}

static fcb_status validate_config(const fcb_model_config *config)
{
    if (config->arch != FCB_ARCH_LINEAR && config->arch != FCB_ARCH_MLP && config->arch != FCB_ARCH_CNN)
        return fcb_fail(FCB_ERR_ARG, "model: unknown architecture %d", (int)config->arch);
    if (config->input_dim < 1)
        return fcb_fail(FCB_ERR_ARG, "model: input_dim = %d must be >= 1", config->input_dim);
    if (config->num_actions < 1 || config->num_actions > FCB_MAX_ACTIONS)
        return fcb_fail(FCB_ERR_ARG, "model: num_actions = %d must be in [1, %d]", config->num_actions,
                        FCB_MAX_ACTIONS);
    if (config->normalize_input != 0 && config->normalize_input != 1)
        return fcb_fail(FCB_ERR_ARG, "model: normalize_input = %d must be 0 or 1",
                        config->normalize_input);
    if (config->arch == FCB_ARCH_LINEAR && config->num_hidden != 0)
        return fcb_fail(FCB_ERR_ARG,
                        "model: a linear model has no hidden layers, got num_hidden = %d",
                        config->num_hidden);
    if (config->arch == FCB_ARCH_MLP &&
        (config->num_hidden < 1 || config->num_hidden > FCB_MAX_HIDDEN))
        return fcb_fail(FCB_ERR_ARG, "model: an mlp needs 1..%d hidden layers, got num_hidden = %d",
                        FCB_MAX_HIDDEN, config->num_hidden);
    if (config->arch == FCB_ARCH_CNN && (config->num_hidden < 0 || config->num_hidden > FCB_MAX_HIDDEN))
        return fcb_fail(FCB_ERR_ARG, "model: a cnn takes 0..%d dense hidden layers, got num_hidden = %d",
                        FCB_MAX_HIDDEN, config->num_hidden);
    if (config->arch != FCB_ARCH_CNN && config->num_conv != 0)
        return fcb_fail(FCB_ERR_ARG, "model: only a cnn has conv layers, got num_conv = %d for %s",
                        config->num_conv, fcb_arch_name(config->arch));
    for (int i = 0; i < config->num_hidden; i++) {
        if (config->hidden[i] < 1)
            return fcb_fail(FCB_ERR_ARG, "model: hidden[%d] = %d must be >= 1", i,
                            config->hidden[i]);
    }
    return FCB_OK;
}

fcb_status fcb_model_init(fcb_model *model, const fcb_model_config *config)
{
    if (model == NULL || config == NULL)
        return fcb_fail(FCB_ERR_ARG, "fcb_model_init: model and config must not be NULL");
    fcb_status status = validate_config(config);
    if (status != FCB_OK)
        return status;

    memset(model, 0, sizeof *model);
    model->config = *config;
    model->num_layers = config->num_hidden + 1;
    int in = config->input_dim;
    size_t offset = 0;
    if (config->arch == FCB_ARCH_CNN) {
        status = fcb_cnn_layout(model, &offset, &in);
        if (status != FCB_OK)
            return status;
    }
    for (int l = 0; l < model->num_layers; l++) {
        int out = l < config->num_hidden ? config->hidden[l] : config->num_actions;
        model->layer_in[l] = in;
        model->layer_out[l] = out;
        model->weight_offset[l] = offset;
        model->bias_offset[l] = offset + (size_t)out * (size_t)in;
        offset = model->bias_offset[l] + (size_t)out;
        in = out;
    }
    model->num_params = offset;
    return FCB_OK;
}

static void fill_uniform(float *values, size_t count, float bound, fcb_rng *rng)
{
    for (size_t i = 0; i < count; i++)
        values[i] = (float)((2.0 * fcb_rng_uniform(rng) - 1.0) * bound);
}

/* The output layer starts small so the first scores are near zero and the
 * first policy is close to uniform. */
static const double OUTPUT_INIT_SCALE = 0.1;

fcb_status fcb_model_init_params(const fcb_model *model, float *params, fcb_rng *rng)
{
    if (model == NULL || params == NULL)
        return fcb_fail(FCB_ERR_ARG, "fcb_model_init_params: model and params must not be NULL");
    if (model->config.arch != FCB_ARCH_LINEAR && rng == NULL)
        return fcb_fail(FCB_ERR_ARG, "fcb_model_init_params: an %s needs an rng", fcb_arch_name(model->config.arch));
    memset(params, 0, model->num_params * sizeof *params);
    if (model->config.arch == FCB_ARCH_LINEAR)
        return FCB_OK;
    if (model->config.arch == FCB_ARCH_CNN)
        fcb_cnn_init_params(model, params, rng);

    int last = model->num_layers - 1;
    for (int l = 0; l < model->num_layers; l++) {
        double fan_in = model->layer_in[l];
        double fan_out = model->layer_out[l];
        double bound = l < last ? sqrt(6.0 / fan_in)
                                : OUTPUT_INIT_SCALE * sqrt(6.0 / (fan_in + fan_out));
        size_t count = (size_t)model->layer_in[l] * (size_t)model->layer_out[l];
        fill_uniform(params + model->weight_offset[l], count, (float)bound, rng);
    }
    return FCB_OK;
}

int fcb_model_feature_dim(const fcb_model *model)
{
    return model->layer_in[model->num_layers - 1];
}

fcb_status fcb_workspace_init(fcb_workspace *ws, const fcb_model *model, int capacity)
{
    if (ws == NULL || model == NULL)
        return fcb_fail(FCB_ERR_ARG, "fcb_workspace_init: ws and model must not be NULL");
    memset(ws, 0, sizeof *ws);
    if (capacity < 1)
        return fcb_fail(FCB_ERR_ARG, "fcb_workspace_init: capacity = %d must be >= 1", capacity);

    size_t rows = (size_t)capacity;
    ws->capacity = capacity;
    ws->input = calloc(rows * (size_t)model->config.input_dim, sizeof(float));
    ws->input_norm = calloc(rows, sizeof(float));
    int ok = ws->input != NULL && ws->input_norm != NULL;
    /* The output layer writes into the caller's scores and reads its delta
     * from the caller's dscores, so only hidden layers need buffers. */
    for (int l = 0; l < model->config.num_hidden; l++) {
        size_t width = (size_t)model->layer_out[l];
        ws->activation[l] = calloc(rows * width, sizeof(float));
        ws->delta[l] = calloc(rows * width, sizeof(float));
        ok = ok && ws->activation[l] != NULL && ws->delta[l] != NULL;
    }
    if (!ok) {
        fcb_workspace_free(ws);
        return fcb_fail(FCB_ERR_NOMEM, "fcb_workspace_init: cannot allocate buffers for %d rows",
                        capacity);
    }
    ws->dense_input = ws->input;
    if (model->config.arch == FCB_ARCH_CNN) {
        fcb_status status = fcb_cnn_workspace_init(ws, model, capacity);
        if (status != FCB_OK) {
            fcb_workspace_free(ws);
            return status;
        }
    }
    return FCB_OK;
}

void fcb_workspace_free(fcb_workspace *ws)
{
    if (ws == NULL)
        return;
    free(ws->input);
    free(ws->input_norm);
    for (int l = 0; l < FCB_MAX_HIDDEN + 1; l++) {
        free(ws->activation[l]);
        free(ws->delta[l]);
    }
    for (int j = 0; j < FCB_MAX_CONV; j++) {
        free(ws->col[j]);
        free(ws->pooled[j]);
        free(ws->argmax[j]);
    }
    free(ws->conv_out);
    free(ws->dpooled);
    free(ws->dflat);
    memset(ws, 0, sizeof *ws);
}

/* Copies x into ws->input, checking every value; on failure names the cell. */
static fcb_status load_input(const fcb_model *model, const float *x, int n, fcb_workspace *ws)
{
    int d = model->config.input_dim;
    for (int i = 0; i < n; i++) {
        const float *row = x + (size_t)i * d;
        float *dst = ws->input + (size_t)i * d;
        for (int j = 0; j < d; j++) {
            if (!isfinite(row[j]))
                return fcb_fail(FCB_ERR_ARG,
                                "fcb_model_forward: context row %d column %d is not finite (%g)",
                                i, j, (double)row[j]);
            dst[j] = row[j];
        }
    }
    return FCB_OK;
}

/* A zero row stays zero: it has no direction to keep. */
static void normalize_rows(float *input, float *norms, int n, int d)
{
    for (int i = 0; i < n; i++) {
        float *row = input + (size_t)i * d;
        double norm = fcb_l2_norm(row, (size_t)d);
        norms[i] = (float)norm;
        if (norm > 0.0) {
            float scale = (float)(1.0 / norm);
            for (int j = 0; j < d; j++)
                row[j] *= scale;
        }
    }
}

/* y (o) = W (o x i) x (i) + b. */
static void dense_row_loops(const float *x, int in_dim, const float *W, const float *b,
                            int out_dim, float *y)
{
    for (int o = 0; o < out_dim; o++) {
        const float *w = W + (size_t)o * in_dim;
        float sum = b[o];
        for (int j = 0; j < in_dim; j++)
            sum += w[j] * x[j];
        y[o] = sum;
    }
}

/* out (n x o) = in (n x i) W^T + b, W being o x i row-major. */
static void affine_forward(const float *in, int n, int in_dim, const float *W, const float *b,
                           int out_dim, float *out)
{
    switch (choose_kernel(n, in_dim, out_dim)) {
    case KERNEL_LOOPS:
        dense_row_loops(in, in_dim, W, b, out_dim, out);
        return;
    case KERNEL_GEMV:
        memcpy(out, b, (size_t)out_dim * sizeof *b);
        cblas_sgemv(CblasRowMajor, CblasNoTrans, out_dim, in_dim, 1.0f, W, in_dim, in, 1, 1.0f,
                    out, 1);
        return;
    case KERNEL_GEMM:
        for (int r = 0; r < n; r++)
            memcpy(out + (size_t)r * out_dim, b, (size_t)out_dim * sizeof *b);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out_dim, in_dim, 1.0f, in, in_dim,
                    W, in_dim, 1.0f, out, out_dim);
        return;
    }
}

static void relu(float *values, size_t count)
{
    for (size_t i = 0; i < count; i++)
        values[i] = values[i] > 0.0f ? values[i] : 0.0f;
}

static const float *layer_input(const fcb_workspace *ws, int l)
{
    return l == 0 ? ws->dense_input : ws->activation[l - 1];
}

fcb_status fcb_model_forward(const fcb_model *model, const float *params, const float *x, int n,
                             fcb_workspace *ws, float *scores)
{
    if (model == NULL || params == NULL || x == NULL || ws == NULL || scores == NULL)
        return fcb_fail(FCB_ERR_ARG, "fcb_model_forward: NULL argument");
    ws->rows = 0;
    if (n < 1)
        return fcb_fail(FCB_ERR_ARG, "fcb_model_forward: batch of %d rows, need at least 1", n);
    if (n > ws->capacity)
        return fcb_fail(FCB_ERR_ARG,
                        "fcb_model_forward: batch of %d rows exceeds workspace capacity %d", n,
                        ws->capacity);
    fcb_status status = load_input(model, x, n, ws);
    if (status != FCB_OK)
        return status;
    if (model->config.normalize_input)
        normalize_rows(ws->input, ws->input_norm, n, model->config.input_dim);
    if (model->config.arch == FCB_ARCH_CNN)
        fcb_cnn_forward(model, params, n, ws);

    int last = model->num_layers - 1;
    for (int l = 0; l <= last; l++) {
        float *out = l == last ? scores : ws->activation[l];
        affine_forward(layer_input(ws, l), n, model->layer_in[l],
                       params + model->weight_offset[l], params + model->bias_offset[l],
                       model->layer_out[l], out);
        if (l < last)
            relu(out, (size_t)n * (size_t)model->layer_out[l]);
    }
    ws->rows = n;
    return FCB_OK;
}

/* dW (o x i) = delta^T (o x n) in (n x i); db = column sums of delta. */
static void affine_param_grad(const float *delta, const float *in, int n, int in_dim, int out_dim,
                              float *dW, float *db)
{
    switch (choose_kernel(n, in_dim, out_dim)) {
    case KERNEL_LOOPS:
        for (int o = 0; o < out_dim; o++) {
            float *w = dW + (size_t)o * in_dim;
            for (int j = 0; j < in_dim; j++)
                w[j] = delta[o] * in[j];
        }
        break;
    case KERNEL_GEMV:
        memset(dW, 0, (size_t)out_dim * (size_t)in_dim * sizeof *dW);
        cblas_sger(CblasRowMajor, out_dim, in_dim, 1.0f, delta, 1, in, 1, dW, in_dim);
        break;
    case KERNEL_GEMM:
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out_dim, in_dim, n, 1.0f, delta,
                    out_dim, in, in_dim, 0.0f, dW, in_dim);
        break;
    }
    memset(db, 0, (size_t)out_dim * sizeof *db);
    for (int r = 0; r < n; r++) {
        const float *dr = delta + (size_t)r * out_dim;
        for (int o = 0; o < out_dim; o++)
            db[o] += dr[o];
    }
}

/* delta_in (n x i) = delta (n x o) W (o x i), then zero where the ReLU was off. */
static void affine_input_grad(const float *delta, int n, int in_dim, const float *W, int out_dim,
                              const float *activation, float *delta_in)
{
    switch (choose_kernel(n, in_dim, out_dim)) {
    case KERNEL_LOOPS:
        memset(delta_in, 0, (size_t)in_dim * sizeof *delta_in);
        for (int o = 0; o < out_dim; o++) {
            const float *w = W + (size_t)o * in_dim;
            for (int j = 0; j < in_dim; j++)
                delta_in[j] += delta[o] * w[j];
        }
        break;
    case KERNEL_GEMV:
        cblas_sgemv(CblasRowMajor, CblasTrans, out_dim, in_dim, 1.0f, W, in_dim, delta, 1, 0.0f,
                    delta_in, 1);
        break;
    case KERNEL_GEMM:
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in_dim, out_dim, 1.0f, delta,
                    out_dim, W, in_dim, 0.0f, delta_in, in_dim);
        break;
    }
    size_t count = (size_t)n * (size_t)in_dim;
    /* An unconditional store lets the compiler vectorise this without branches. */
    for (size_t i = 0; i < count; i++)
        delta_in[i] = activation[i] > 0.0f ? delta_in[i] : 0.0f;
}

fcb_status fcb_model_backward(const fcb_model *model, const float *params, const float *dscores,
                              fcb_workspace *ws, float *grad)
{
    if (model == NULL || params == NULL || dscores == NULL || ws == NULL || grad == NULL)
        return fcb_fail(FCB_ERR_ARG, "fcb_model_backward: NULL argument");
    if (ws->rows < 1)
        return fcb_fail(FCB_ERR_STATE, "fcb_model_backward: no forward pass on this workspace");

    int n = ws->rows;
    int last = model->num_layers - 1;
    const float *delta = dscores;
    for (int l = last; l >= 0; l--) {
        const float *in = layer_input(ws, l);
        affine_param_grad(delta, in, n, model->layer_in[l], model->layer_out[l],
                          grad + model->weight_offset[l], grad + model->bias_offset[l]);
        if (l == 0 && model->config.arch == FCB_ARCH_CNN) {
            affine_input_grad(delta, n, model->layer_in[0], params + model->weight_offset[0], model->layer_out[0],
                              ws->dense_input, ws->dflat);
            fcb_cnn_backward(model, params, n, ws, grad);
        }
        if (l == 0)
            break;
        affine_input_grad(delta, n, model->layer_in[l], params + model->weight_offset[l],
                          model->layer_out[l], ws->activation[l - 1], ws->delta[l - 1]);
        delta = ws->delta[l - 1];
    }
    return FCB_OK;
}

const float *fcb_model_features(const fcb_model *model, const fcb_workspace *ws)
{
    int num_hidden = model->config.num_hidden;
    return num_hidden == 0 ? ws->dense_input : ws->activation[num_hidden - 1];
}

size_t fcb_model_row_scratch(const fcb_model *model)
{
    size_t n = (size_t)model->config.input_dim;
    if (model->config.arch == FCB_ARCH_CNN)
        n += fcb_cnn_row_scratch(model);
    for (int l = 0; l + 1 < model->num_layers; l++)
        n += (size_t)model->layer_out[l];
    return n;
}

fcb_status fcb_model_score_row(const fcb_model *model, const float *params, const float *x, float *scratch,
                               float *scores)
{
    int d = model->config.input_dim;
    for (int j = 0; j < d; j++)
        if (!isfinite(x[j]))
            return fcb_fail(FCB_ERR_ARG, "context value %d is not finite", j);
    const float *in = x;
    if (model->config.normalize_input) {
        float norm;
        memcpy(scratch, x, (size_t)d * sizeof(float));
        normalize_rows(scratch, &norm, 1, d);
        in = scratch;
    }
    float *next = scratch + d;
    if (model->config.arch == FCB_ARCH_CNN) {
        in = fcb_cnn_row_forward(model, params, in, next);
        next += fcb_cnn_row_scratch(model);
    }
    int last = model->num_layers - 1;
    for (int l = 0; l <= last; l++) {
        float *out = l == last ? scores : next;
        affine_forward(in, 1, model->layer_in[l], params + model->weight_offset[l], params + model->bias_offset[l],
                       model->layer_out[l], out);
        if (l < last) {
            relu(out, (size_t)model->layer_out[l]);
            in = out;
            next = out + model->layer_out[l];
        }
    }
    return FCB_OK;
}
