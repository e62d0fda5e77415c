#ifndef FEDCB_CONV_LAYERS_H
#define FEDCB_CONV_LAYERS_H

#include <stddef.h>

/* The building blocks of the CNN on batches of images stored row-major as
 * H x W x C (NHWC for a batch): a k x k convolution with 'same' zero padding
 * and stride 1 as im2col + sgemm, and a 2 x 2 stride-2 max-pool.
 *
 * im2col turns m images into a (m*H*W) x (k*k*C) matrix whose row is the
 * receptive field of one output pixel, columns ordered (ky, kx, c). The
 * weights of a conv layer are out_c x (k*k*in_c) row-major in the same
 * column order, so the layer is one product col * W^T and its output is
 * (m*H*W) x out_c, which is NHWC again. */

enum { FCB_CONV_KERNEL = 5 };

typedef struct {
    int h, w, c; /* input image */
    int out_c;   /* filters */
    int pool_h, pool_w; /* after the 2 x 2 pool: floor(h/2) x floor(w/2) */
} fcb_conv_geometry;

size_t fcb_conv_col_width(const fcb_conv_geometry *g);  /* k*k*c */
size_t fcb_conv_image_in(const fcb_conv_geometry *g);   /* h*w*c */
size_t fcb_conv_image_out(const fcb_conv_geometry *g);  /* h*w*out_c, before pooling */
size_t fcb_conv_image_pool(const fcb_conv_geometry *g); /* pool_h*pool_w*out_c */

void fcb_im2col(const fcb_conv_geometry *g, const float *images, int m, float *col);
/* The adjoint of im2col: dimages (m x h*w*c) = the sum of every column
 * block back onto the pixel it was copied from (overwrites dimages). */
void fcb_col2im(const fcb_conv_geometry *g, const float *col, int m, float *dimages);

/* out (m*h*w x out_c) = col W^T + b. */
void fcb_conv_forward(const fcb_conv_geometry *g, const float *col, int m, const float *W, const float *b,
                      float *out);
/* dW (out_c x k*k*c) and db (out_c) are accumulated (+=) from dout
 * (m*h*w x out_c) and the layer's col; dcol = dout W when dcol != NULL. */
void fcb_conv_backward(const fcb_conv_geometry *g, const float *dout, const float *col, int m, const float *W,
                       float *dW, float *db, float *dcol);

/* pooled (m x pool size) = max over each 2 x 2 window of conv (m x h*w*out_c);
 * with an odd h or w the last row or column is dropped (floor). argmax, when
 * not NULL, gets the winning index inside its image (first maximum on ties). */
void fcb_maxpool_forward(const fcb_conv_geometry *g, const float *conv, int m, float *pooled, int *argmax);
/* dconv (m x h*w*out_c) = dpooled scattered to the argmax positions, zero elsewhere. */
void fcb_maxpool_backward(const fcb_conv_geometry *g, const float *dpooled, const int *argmax, int m,
                          float *dconv);

#endif
