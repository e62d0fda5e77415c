#ifndef FEDCB_CNN_H
#define FEDCB_CNN_H

#include <stddef.h>

#include "model.h"

/* The convolutional part of an FCB_ARCH_CNN model (model.c runs its dense
 * layers). Conv layers run on chunks of at most FCB_CNN_CHUNK images: the
 * im2col buffers stay bounded whatever the workspace capacity, and a small
 * product stays in cache. Training the paper's CNN at batch 64 ran faster
 * with chunks of 8 images than with one product over the batch (64) or 16
 * (bench_models, docs/results/cnn.md). */

enum { FCB_CNN_CHUNK = 8 };

/* Checks the CNN keys of model->config, fills in an inferred image_shape,
 * the conv geometry and parameter offsets from *offset (advanced past
 * them); *flat_width = the size of the flattened last pool. */
fcb_status fcb_cnn_layout(fcb_model *model, size_t *offset, int *flat_width);

/* He-uniform conv weights, zero biases. */
void fcb_cnn_init_params(const fcb_model *model, float *params, fcb_rng *rng);

/* The CNN buffers of ws (freed by fcb_workspace_free). */
fcb_status fcb_cnn_workspace_init(fcb_workspace *ws, const fcb_model *model, int capacity);

/* ws->input (n rows) -> ws->pooled[last], which ws->dense_input points at. */
void fcb_cnn_forward(const fcb_model *model, const float *params, int n, fcb_workspace *ws);

/* The conv parameters' block of grad (overwritten) from ws->dflat, the
 * gradient at the dense input of the n rows of the last forward. */
void fcb_cnn_backward(const fcb_model *model, const float *params, int n, fcb_workspace *ws, float *grad);

/* One image through the conv layers with fcb_cnn_row_scratch(model) floats
 * of caller scratch; returns the flattened last pool (inside scratch). */
size_t fcb_cnn_row_scratch(const fcb_model *model);
const float *fcb_cnn_row_forward(const fcb_model *model, const float *params, const float *image, float *scratch);

#endif
