#include "conv_layers.h"

#include <cblas.h>
#include <string.h>

enum { PAD = FCB_CONV_KERNEL / 2 };

size_t fcb_conv_col_width(const fcb_conv_geometry *g)
{
    return (size_t)FCB_CONV_KERNEL * FCB_CONV_KERNEL * (size_t)g->c;
}

size_t fcb_conv_image_in(const fcb_conv_geometry *g)
{
    return (size_t)g->h * (size_t)g->w * (size_t)g->c;
}

size_t fcb_conv_image_out(const fcb_conv_geometry *g)
{
    return (size_t)g->h * (size_t)g->w * (size_t)g->out_c;
}

size_t fcb_conv_image_pool(const fcb_conv_geometry *g)
{
    return (size_t)g->pool_h * (size_t)g->pool_w * (size_t)g->out_c;
}

static int max_int(int a, int b)
{
    return a > b ? a : b;
}

static int min_int(int a, int b)
{
    return a < b ? a : b;
}

/* The kernel columns kx in [lo, hi] of output column x fall inside the
 * image; those pixels are contiguous in HWC, so each kernel row is one copy. */
static void kernel_span(int x, int w, int *lo, int *hi)
{
    *lo = max_int(0, PAD - x);
    *hi = min_int(FCB_CONV_KERNEL - 1, w - 1 - x + PAD);
}

void fcb_im2col(const fcb_conv_geometry *g, const float *images, int m, float *col)
{
    const int k = FCB_CONV_KERNEL, c = g->c;
    const size_t width = fcb_conv_col_width(g), image = fcb_conv_image_in(g);
    float *row = col;
    for (int i = 0; i < m; i++) {
        const float *img = images + (size_t)i * image;
        for (int y = 0; y < g->h; y++) {
            for (int x = 0; x < g->w; x++, row += width) {
                int lo, hi;
                kernel_span(x, g->w, &lo, &hi);
                for (int ky = 0; ky < k; ky++) {
                    float *dst = row + (size_t)ky * k * c;
                    int iy = y + ky - PAD;
                    if (iy < 0 || iy >= g->h || lo > hi) {
                        memset(dst, 0, (size_t)k * c * sizeof *dst);
                        continue;
                    }
                    memset(dst, 0, (size_t)lo * c * sizeof *dst);
                    const float *src = img + ((size_t)iy * g->w + (size_t)(x + lo - PAD)) * c;
                    memcpy(dst + (size_t)lo * c, src, (size_t)(hi - lo + 1) * c * sizeof *dst);
                    memset(dst + (size_t)(hi + 1) * c, 0, (size_t)(k - 1 - hi) * c * sizeof *dst);
                }
            }
        }
    }
}

void fcb_col2im(const fcb_conv_geometry *g, const float *col, int m, float *dimages)
{
    const int k = FCB_CONV_KERNEL, c = g->c;
    const size_t width = fcb_conv_col_width(g), image = fcb_conv_image_in(g);
    memset(dimages, 0, (size_t)m * image * sizeof *dimages);
    const float *row = col;
    for (int i = 0; i < m; i++) {
        float *img = dimages + (size_t)i * image;
        for (int y = 0; y < g->h; y++) {
            for (int x = 0; x < g->w; x++, row += width) {
                int lo, hi;
                kernel_span(x, g->w, &lo, &hi);
                for (int ky = 0; ky < k; ky++) {
                    int iy = y + ky - PAD;
                    if (iy < 0 || iy >= g->h)
                        continue;
                    const float *src = row + ((size_t)ky * k + (size_t)lo) * c;
                    float *dst = img + ((size_t)iy * g->w + (size_t)(x + lo - PAD)) * c;
                    size_t count = (size_t)(hi - lo + 1) * c;
                    for (size_t j = 0; j < count; j++)
                        dst[j] += src[j];
                }
            }
        }
    }
}

void fcb_conv_forward(const fcb_conv_geometry *g, const float *col, int m, const float *W, const float *b,
                      float *out)
{
    int rows = m * g->h * g->w, width = (int)fcb_conv_col_width(g);
    for (int r = 0; r < rows; r++)
        memcpy(out + (size_t)r * g->out_c, b, (size_t)g->out_c * sizeof *b);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, g->out_c, width, 1.0f, col, width, W, width, 1.0f,
                out, g->out_c);
}

void fcb_conv_backward(const fcb_conv_geometry *g, const float *dout, const float *col, int m, const float *W,
                       float *dW, float *db, float *dcol)
{
    int rows = m * g->h * g->w, width = (int)fcb_conv_col_width(g), out_c = g->out_c;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out_c, width, rows, 1.0f, dout, out_c, col, width, 1.0f,
                dW, width);
    for (int r = 0; r < rows; r++) {
        const float *d = dout + (size_t)r * out_c;
        for (int o = 0; o < out_c; o++)
            db[o] += d[o];
    }
    if (dcol != NULL)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, width, out_c, 1.0f, dout, out_c, W, width,
                    0.0f, dcol, width);
}

void fcb_maxpool_forward(const fcb_conv_geometry *g, const float *conv, int m, float *pooled, int *argmax)
{
    const int c = g->out_c;
    const size_t image = fcb_conv_image_out(g), pool = fcb_conv_image_pool(g);
    /* Offsets of the window's other three cells from its top-left one. */
    const size_t others[3] = {(size_t)c, (size_t)g->w * c, (size_t)g->w * c + c};
    for (int i = 0; i < m; i++) {
        const float *img = conv + (size_t)i * image;
        float *out = pooled + (size_t)i * pool;
        int *arg = argmax ? argmax + (size_t)i * pool : NULL;
        for (int py = 0; py < g->pool_h; py++) {
            for (int px = 0; px < g->pool_w; px++) {
                size_t base = ((size_t)2 * py * g->w + (size_t)2 * px) * c;
                size_t cell = ((size_t)py * g->pool_w + px) * c;
                for (int ch = 0; ch < c; ch++) {
                    size_t best = base + ch;
                    for (int o = 0; o < 3; o++)
                        if (img[base + others[o] + ch] > img[best])
                            best = base + others[o] + ch;
                    out[cell + ch] = img[best];
                    if (arg)
                        arg[cell + ch] = (int)best;
                }
            }
        }
    }
}

void fcb_maxpool_backward(const fcb_conv_geometry *g, const float *dpooled, const int *argmax, int m,
                          float *dconv)
{
    const size_t image = fcb_conv_image_out(g), pool = fcb_conv_image_pool(g);
    memset(dconv, 0, (size_t)m * image * sizeof *dconv);
    for (int i = 0; i < m; i++) {
        float *img = dconv + (size_t)i * image;
        const float *d = dpooled + (size_t)i * pool;
        const int *arg = argmax + (size_t)i * pool;
        /* Windows do not overlap, so every cell is written by one window at most. */
        for (size_t j = 0; j < pool; j++)
            img[arg[j]] = d[j];
    }
}
