#ifndef FEDCB_MODEL_H
#define FEDCB_MODEL_H

#include <stddef.h>

#include "rng.h"
#include "status.h"

#include "conv_layers.h"

/* A model maps a batch of contexts x (n x d, row-major) to one score per
 * action (n x K, row-major). The architecture lives in fcb_model; the
 * parameters live in one contiguous float vector owned by the caller, so a
 * delta, an average or a serialisation is one vector operation. Dense layer
 * l has a weight matrix W_l (out x in, row-major) at weight_offset[l]
 * followed by its bias (out) at bias_offset[l].
 *
 * A CNN reads each context as an H x W x C image (row-major pixels) and
 * runs conv layers (5 x 5, 'same', stride 1, + ReLU, 2 x 2 max-pool) before
 * its dense layers; their parameters come first in the vector, conv layer j
 * at conv_weight_offset[j] (out_c x 5*5*in_c, see conv_layers.h) and
 * conv_bias_offset[j]. The dense layers see the flattened (HWC) last pool. */

enum { FCB_MAX_HIDDEN = 8, FCB_MAX_ACTIONS = 1024, FCB_MAX_CONV = 4 };

typedef enum { FCB_ARCH_LINEAR, FCB_ARCH_MLP, FCB_ARCH_CNN } fcb_arch;

/* "linear" | "mlp" | "cnn". */
fcb_status fcb_arch_from_name(const char *name, fcb_arch *out);
const char *fcb_arch_name(fcb_arch arch);

typedef struct {
    fcb_arch arch;
    int input_dim;       /* d */
    int num_actions;     /* K */
    int num_hidden;      /* hidden layers; 0 for linear, >= 1 for MLP, >= 0 for CNN */
    int hidden[FCB_MAX_HIDDEN];
    int normalize_input; /* 1: scale every context to unit L2 norm first */
    /* CNN only. image_shape = H, W, C with H*W*C = input_dim; all 0: a
     * square single-channel image (fcb_model_init fills it in). */
    int image_shape[3];
    int num_conv; /* 1..FCB_MAX_CONV */
    int conv_channels[FCB_MAX_CONV];
} fcb_model_config;

typedef struct {
    fcb_model_config config;
    int num_layers; /* num_hidden + 1 */
    int layer_in[FCB_MAX_HIDDEN + 1];
    int layer_out[FCB_MAX_HIDDEN + 1];
    size_t weight_offset[FCB_MAX_HIDDEN + 1];
    size_t bias_offset[FCB_MAX_HIDDEN + 1];
    fcb_conv_geometry conv[FCB_MAX_CONV]; /* CNN: config.num_conv layers */
    size_t conv_weight_offset[FCB_MAX_CONV];
    size_t conv_bias_offset[FCB_MAX_CONV];
    size_t num_params;
} fcb_model;

fcb_status fcb_model_init(fcb_model *model, const fcb_model_config *config);

/* Linear: zeros. MLP and CNN: He-uniform conv and hidden weights, zero
 * biases, small output layer; all draws from rng. params has
 * model->num_params floats. */
fcb_status fcb_model_init_params(const fcb_model *model, float *params, fcb_rng *rng);

/* Width of the representation the last layer sees: input_dim for linear,
 * the last hidden width for MLP and CNN (the flattened last pool for a CNN
 * without dense hidden layers). This is phi for neural-linear bandits. */
int fcb_model_feature_dim(const fcb_model *model);

/* Buffers for forward and backward of batches up to `capacity` rows.
 * Allocated once, reused; no allocation per example or per call. */
typedef struct {
    int capacity;
    int rows;            /* rows of the last forward */
    float *input;        /* capacity x d: the (normalised) input */
    float *input_norm;   /* capacity: L2 norms before normalisation */
    float *activation[FCB_MAX_HIDDEN + 1]; /* post-ReLU outputs of hidden layers */
    float *delta[FCB_MAX_HIDDEN + 1];      /* backprop scratch per layer */
    const float *dense_input;              /* input (linear, MLP) or the last pool (CNN); not owned */
    /* CNN only (see cnn.h). */
    int chunk;                      /* images per im2col product */
    int col_chunk;                  /* the chunk whose im2col the col buffers hold; -1: none */
    float *col[FCB_MAX_CONV];       /* chunk x h*w x 5*5*c per conv layer */
    float *conv_out;                /* chunk x the largest h*w*out_c: pre-pool output, its gradient */
    float *pooled[FCB_MAX_CONV];    /* capacity x pool size: post-ReLU pooled maps */
    int *argmax[FCB_MAX_CONV];      /* capacity x pool size: the pool's winners */
    float *dpooled;                 /* chunk x the largest pool size: backprop scratch */
    float *dflat;                   /* capacity x flat width: gradient at the dense input */
} fcb_workspace;

fcb_status fcb_workspace_init(fcb_workspace *ws, const fcb_model *model, int capacity);
void fcb_workspace_free(fcb_workspace *ws);

/* scores = f(x). Fails (FCB_ERR_ARG) on n > capacity, n < 1 or a non-finite
 * context value, naming the row. Keeps what backward needs in ws. */
fcb_status fcb_model_forward(const fcb_model *model, const float *params, const float *x, int n,
                             fcb_workspace *ws, float *scores);

/* grad = dL/dparams given dscores = dL/dscores for the rows of the last
 * forward call on ws. grad is overwritten, not accumulated. */
fcb_status fcb_model_backward(const fcb_model *model, const float *params, const float *dscores,
                              fcb_workspace *ws, float *grad);

/* One row's scores without a workspace, for concurrent callers: scratch
 * holds fcb_model_row_scratch(model) floats owned by the caller. The same
 * arithmetic as fcb_model_forward with n = 1. Fails on a non-finite x. */
size_t fcb_model_row_scratch(const fcb_model *model);
fcb_status fcb_model_score_row(const fcb_model *model, const float *params, const float *x, float *scratch,
                               float *scores);

/* The rows x feature_dim representation phi of the last forward call. */
const float *fcb_model_features(const fcb_model *model, const fcb_workspace *ws);

#endif
