#include "cnn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static fcb_status resolve_image_shape(fcb_model_config *c)
{
    int *shape = c->image_shape;
    if (shape[0] == 0 && shape[1] == 0 && shape[2] == 0) {
        int side = (int)lround(sqrt((double)c->input_dim));
        if (side * side != c->input_dim)
            return fcb_fail(FCB_ERR_ARG,
                            "model: arch = cnn reads a context as a square single-channel image, but input_dim = %d "
                            "is not a square; set model.image_shape = H,W,C",
                            c->input_dim);
        shape[0] = side;
        shape[1] = side;
        shape[2] = 1;
        return FCB_OK;
    }
    if (shape[0] < 1 || shape[1] < 1 || shape[2] < 1 ||
        (long long)shape[0] * shape[1] * shape[2] != (long long)c->input_dim)
        return fcb_fail(FCB_ERR_ARG, "model: image_shape = %d,%d,%d must be positive with H*W*C = input_dim = %d",
                        shape[0], shape[1], shape[2], c->input_dim);
    return FCB_OK;
}

fcb_status fcb_cnn_layout(fcb_model *model, size_t *offset, int *flat_width)
{
    fcb_model_config *c = &model->config;
    if (c->num_conv < 1 || c->num_conv > FCB_MAX_CONV)
        return fcb_fail(FCB_ERR_ARG, "model: a cnn needs 1..%d conv layers (model.conv_channels), got %d",
                        FCB_MAX_CONV, c->num_conv);
    fcb_status st = resolve_image_shape(c);
    if (st != FCB_OK)
        return st;
    int h = c->image_shape[0], w = c->image_shape[1], ch = c->image_shape[2];
    for (int j = 0; j < c->num_conv; j++) {
        if (c->conv_channels[j] < 1)
            return fcb_fail(FCB_ERR_ARG, "model: conv_channels[%d] = %d must be >= 1", j, c->conv_channels[j]);
        if (h < 2 || w < 2)
            return fcb_fail(FCB_ERR_ARG,
                            "model: conv layer %d sees a %dx%d image, too small for its 2x2 max-pool "
                            "(image_shape %d,%d,%d, %d conv layers)",
                            j + 1, h, w, c->image_shape[0], c->image_shape[1], c->image_shape[2], c->num_conv);
        fcb_conv_geometry *g = &model->conv[j];
        *g = (fcb_conv_geometry){.h = h, .w = w, .c = ch, .out_c = c->conv_channels[j], .pool_h = h / 2,
                                 .pool_w = w / 2};
        model->conv_weight_offset[j] = *offset;
        model->conv_bias_offset[j] = *offset + (size_t)g->out_c * fcb_conv_col_width(g);
        *offset = model->conv_bias_offset[j] + (size_t)g->out_c;
        h = g->pool_h;
        w = g->pool_w;
        ch = g->out_c;
    }
    *flat_width = h * w * ch;
    return FCB_OK;
}

void fcb_cnn_init_params(const fcb_model *model, float *params, fcb_rng *rng)
{
    for (int j = 0; j < model->config.num_conv; j++) {
        const fcb_conv_geometry *g = &model->conv[j];
        size_t fan_in = fcb_conv_col_width(g);
        double bound = sqrt(6.0 / (double)fan_in);
        float *W = params + model->conv_weight_offset[j];
        for (size_t i = 0; i < (size_t)g->out_c * fan_in; i++)
            W[i] = (float)((2.0 * fcb_rng_uniform(rng) - 1.0) * bound);
    }
}

static size_t max_size(size_t a, size_t b)
{
    return a > b ? a : b;
}

fcb_status fcb_cnn_workspace_init(fcb_workspace *ws, const fcb_model *model, int capacity)
{
    int chunk = capacity < FCB_CNN_CHUNK ? capacity : FCB_CNN_CHUNK;
    ws->chunk = chunk;
    ws->col_chunk = -1;
    size_t rows = (size_t)capacity, conv_out = 0, dpooled = 0;
    int ok = 1;
    for (int j = 0; j < model->config.num_conv; j++) {
        const fcb_conv_geometry *g = &model->conv[j];
        size_t pool = fcb_conv_image_pool(g);
        ws->col[j] = malloc((size_t)chunk * g->h * g->w * fcb_conv_col_width(g) * sizeof(float));
        ws->pooled[j] = calloc(rows * pool, sizeof(float));
        ws->argmax[j] = calloc(rows * pool, sizeof(int));
        ok = ok && ws->col[j] && ws->pooled[j] && ws->argmax[j];
        conv_out = max_size(conv_out, fcb_conv_image_out(g));
        if (j > 0)
            dpooled = max_size(dpooled, fcb_conv_image_in(g));
    }
    int last = model->config.num_conv - 1;
    ws->conv_out = malloc((size_t)chunk * conv_out * sizeof(float));
    ws->dpooled = malloc(max_size((size_t)chunk * dpooled, 1) * sizeof(float));
    ws->dflat = calloc(rows * fcb_conv_image_pool(&model->conv[last]), sizeof(float));
    ws->dense_input = ws->pooled[last];
    if (!ok || !ws->conv_out || !ws->dpooled || !ws->dflat)
        return fcb_fail(FCB_ERR_NOMEM, "fcb_workspace_init: cannot allocate the cnn buffers for %d rows", capacity);
    return FCB_OK;
}

static void relu_in_place(float *values, size_t count)
{
    for (size_t i = 0; i < count; i++)
        values[i] = values[i] > 0.0f ? values[i] : 0.0f;
}

/* The input of conv layer j for the images from `first` on. */
static const float *conv_input(const fcb_model *model, const fcb_workspace *ws, int j, int first)
{
    if (j == 0)
        return ws->input + (size_t)first * (size_t)model->config.input_dim;
    return ws->pooled[j - 1] + (size_t)first * fcb_conv_image_pool(&model->conv[j - 1]);
}

void fcb_cnn_forward(const fcb_model *model, const float *params, int n, fcb_workspace *ws)
{
    int chunks = (n + ws->chunk - 1) / ws->chunk;
    for (int k = 0; k < chunks; k++) {
        int first = k * ws->chunk;
        int count = n - first < ws->chunk ? n - first : ws->chunk;
        for (int j = 0; j < model->config.num_conv; j++) {
            const fcb_conv_geometry *g = &model->conv[j];
            size_t pool = fcb_conv_image_pool(g);
            fcb_im2col(g, conv_input(model, ws, j, first), count, ws->col[j]);
            fcb_conv_forward(g, ws->col[j], count, params + model->conv_weight_offset[j],
                             params + model->conv_bias_offset[j], ws->conv_out);
            float *pooled = ws->pooled[j] + (size_t)first * pool;
            /* max-pool then ReLU equals ReLU then max-pool (ReLU is monotone) on a quarter of the values. */
            fcb_maxpool_forward(g, ws->conv_out, count, pooled, ws->argmax[j] + (size_t)first * pool);
            relu_in_place(pooled, (size_t)count * pool);
        }
    }
    ws->col_chunk = chunks - 1;
}

void fcb_cnn_backward(const fcb_model *model, const float *params, int n, fcb_workspace *ws, float *grad)
{
    int num_conv = model->config.num_conv;
    size_t conv_params = model->conv_bias_offset[num_conv - 1] + (size_t)model->conv[num_conv - 1].out_c;
    memset(grad, 0, conv_params * sizeof *grad); /* conv_backward accumulates */
    int chunks = (n + ws->chunk - 1) / ws->chunk;
    size_t flat = fcb_conv_image_pool(&model->conv[num_conv - 1]);
    /* Last chunk first: the forward left its im2col in the col buffers. */
    for (int k = chunks - 1; k >= 0; k--) {
        int first = k * ws->chunk;
        int count = n - first < ws->chunk ? n - first : ws->chunk;
        const float *dpool = ws->dflat + (size_t)first * flat;
        for (int j = num_conv - 1; j >= 0; j--) {
            const fcb_conv_geometry *g = &model->conv[j];
            fcb_maxpool_backward(g, dpool, ws->argmax[j] + (size_t)first * fcb_conv_image_pool(g), count,
                                 ws->conv_out);
            if (k != ws->col_chunk)
                fcb_im2col(g, conv_input(model, ws, j, first), count, ws->col[j]);
            /* Above the first layer the col buffer, once read for dW, takes dcol. */
            float *dcol = j > 0 ? ws->col[j] : NULL;
            fcb_conv_backward(g, ws->conv_out, ws->col[j], count, params + model->conv_weight_offset[j],
                              grad + model->conv_weight_offset[j], grad + model->conv_bias_offset[j], dcol);
            if (j == 0)
                break;
            fcb_col2im(g, dcol, count, ws->dpooled);
            const float *below = conv_input(model, ws, j, first);
            size_t cells = (size_t)count * fcb_conv_image_in(g);
            for (size_t i = 0; i < cells; i++)
                ws->dpooled[i] = below[i] > 0.0f ? ws->dpooled[i] : 0.0f;
            dpool = ws->dpooled;
        }
        ws->col_chunk = -1;
    }
}

static size_t largest(const fcb_model *model, size_t (*size)(const fcb_conv_geometry *))
{
    size_t most = 0;
    for (int j = 0; j < model->config.num_conv; j++)
        most = max_size(most, size(&model->conv[j]));
    return most;
}

static size_t col_size(const fcb_conv_geometry *g)
{
    return (size_t)g->h * g->w * fcb_conv_col_width(g);
}

size_t fcb_cnn_row_scratch(const fcb_model *model)
{
    return largest(model, col_size) + largest(model, fcb_conv_image_out) + 2 * largest(model, fcb_conv_image_pool);
}

const float *fcb_cnn_row_forward(const fcb_model *model, const float *params, const float *image, float *scratch)
{
    float *col = scratch;
    float *conv_out = col + largest(model, col_size);
    float *pools[2] = {conv_out + largest(model, fcb_conv_image_out), NULL};
    pools[1] = pools[0] + largest(model, fcb_conv_image_pool);
    const float *in = image;
    for (int j = 0; j < model->config.num_conv; j++) {
        const fcb_conv_geometry *g = &model->conv[j];
        float *out = pools[j % 2];
        fcb_im2col(g, in, 1, col);
        fcb_conv_forward(g, col, 1, params + model->conv_weight_offset[j], params + model->conv_bias_offset[j],
                         conv_out);
        fcb_maxpool_forward(g, conv_out, 1, out, NULL);
        relu_in_place(out, fcb_conv_image_pool(g));
        in = out;
    }
    return in;
}
