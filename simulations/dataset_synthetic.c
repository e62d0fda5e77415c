/* Synthetic multiclass data: Gaussian contexts labelled by the argmax of a
 * random linear map or a random one-hidden-layer tanh network, plus Gaussian
 * score noise. */
#include "dataset.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

/* Streams (purpose DATA): the `client` field separates the weights, the
 * train rows and the test rows; the `round` field is the row index, so row
 * i is the same whatever num_train is. */
enum {
    WEIGHTS_STREAM_ID = 0,
    TRAIN_STREAM_ID = 1,
    TEST_STREAM_ID = 2
};

/* A generator: scores = W2 tanh(W1 x) (nonlinear) or W x (linear). */
typedef struct {
    int dim;
    int num_classes;
    int hidden;      /* 0 for linear */
    float *first;    /* hidden x dim (nonlinear only) */
    float *output;   /* k x (hidden or dim), unit-norm rows */
} labeller;

static const double SYNTHETIC_TWO_PI = 6.283185307179586476925286766559;

/* Gaussian fill using both Box-Muller values of each pair of uniforms:
 * half the cost of fcb_rng_normal per value, which matters for large n x d. */
static void fill_normal(fcb_rng *rng, float *v, size_t count, float scale)
{
    size_t i = 0;
    for (; i + 1 < count; i += 2) {
        double radius = sqrt(-2.0 * log(1.0 - fcb_rng_uniform(rng))) * scale;
        double angle = SYNTHETIC_TWO_PI * fcb_rng_uniform(rng);
        v[i] = (float)(radius * cos(angle));
        v[i + 1] = (float)(radius * sin(angle));
    }
    if (i < count)
        v[i] = (float)fcb_rng_normal(rng) * scale;
}

/* Unit-norm rows give every class score the same variance, which keeps
 * the classes roughly balanced. */
static void normalize_rows(float *m, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        float *row = m + (size_t)r * cols;
        float norm = cblas_snrm2(cols, row, 1);
        if (norm > 0.0f)
            cblas_sscal(cols, 1.0f / norm, row, 1);
    }
}

static fcb_status labeller_init(labeller *l, const fcb_synthetic_config *config)
{
    memset(l, 0, sizeof *l);
    l->dim = config->dim;
    l->num_classes = config->num_classes;
    l->hidden = config->nonlinear ? 4 * config->num_classes : 0;
    int output_cols = config->nonlinear ? l->hidden : l->dim;
    l->output = malloc((size_t)l->num_classes * output_cols * sizeof *l->output);
    if (config->nonlinear)
        l->first = malloc((size_t)l->hidden * l->dim * sizeof *l->first);
    if (!l->output || (config->nonlinear && !l->first)) {
        free(l->output);
        free(l->first);
        return fcb_fail(FCB_ERR_NOMEM, "synthetic dataset: cannot allocate the generator weights");
    }
    fcb_rng rng;
    fcb_rng_init(&rng, config->seed, FCB_STREAM_DATA, WEIGHTS_STREAM_ID, 0);
    if (config->nonlinear) {
        /* Pre-activations of unit variance: tanh is then clearly nonlinear. */
        fill_normal(&rng, l->first, (size_t)l->hidden * l->dim, 1.0f / sqrtf((float)l->dim));
    }
    fill_normal(&rng, l->output, (size_t)l->num_classes * output_cols, 1.0f);
    normalize_rows(l->output, l->num_classes, output_cols);
    return FCB_OK;
}

static void labeller_free(labeller *l)
{
    free(l->first);
    free(l->output);
    memset(l, 0, sizeof *l);
}

/* Draws n rows from stream `stream_id` into ds (allocated here). */
static fcb_status draw_rows(const labeller *l, const fcb_synthetic_config *config, int stream_id, int n,
                            fcb_dataset *ds)
{
    int d = l->dim, k = l->num_classes;
    ds->x = malloc((size_t)n * d * sizeof *ds->x);
    ds->y = malloc((size_t)n * sizeof *ds->y);
    float *scores = malloc((size_t)n * k * sizeof *scores);
    float *hidden = l->hidden ? malloc((size_t)n * l->hidden * sizeof *hidden) : NULL;
    if (!ds->x || !ds->y || !scores || (l->hidden && !hidden)) {
        free(scores);
        free(hidden);
        fcb_dataset_free(ds);
        return fcb_fail(FCB_ERR_NOMEM, "synthetic dataset: cannot allocate %d x %d rows", n, d);
    }
    ds->n = n;
    ds->d = d;
    ds->k = k;

    /* Each row's context and score noise come from the row's own stream. */
    for (int i = 0; i < n; i++) {
        fcb_rng rng;
        fcb_rng_init(&rng, config->seed, FCB_STREAM_DATA, (uint32_t)stream_id, (uint32_t)i);
        fill_normal(&rng, ds->x + (size_t)i * d, (size_t)d, 1.0f);
        fill_normal(&rng, scores + (size_t)i * k, (size_t)k, config->noise);
    }

    if (l->hidden) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, l->hidden, d, 1.0f, ds->x, d, l->first, d, 0.0f,
                    hidden, l->hidden);
        for (size_t i = 0; i < (size_t)n * l->hidden; i++)
            hidden[i] = tanhf(hidden[i]);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, k, l->hidden, 1.0f, hidden, l->hidden, l->output,
                    l->hidden, 1.0f, scores, k);
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, k, d, 1.0f, ds->x, d, l->output, d, 1.0f, scores,
                    k);
    }

    for (int i = 0; i < n; i++) {
        const float *row = scores + (size_t)i * k;
        int best = 0;
        for (int c = 1; c < k; c++)
            if (row[c] > row[best])
                best = c;
        ds->y[i] = best;
    }
    free(scores);
    free(hidden);
    return FCB_OK;
}

static fcb_status check_config(const fcb_synthetic_config *c)
{
    if (c->num_train < 1)
        return fcb_fail(FCB_ERR_ARG, "synthetic dataset: num_train = %d must be >= 1", c->num_train);
    if (c->num_test < 1)
        return fcb_fail(FCB_ERR_ARG, "synthetic dataset: num_test = %d must be >= 1", c->num_test);
    if (c->dim < 1)
        return fcb_fail(FCB_ERR_ARG, "synthetic dataset: dim = %d must be >= 1", c->dim);
    if (c->num_classes < 2)
        return fcb_fail(FCB_ERR_ARG, "synthetic dataset: num_classes = %d must be >= 2", c->num_classes);
    if (c->nonlinear != 0 && c->nonlinear != 1)
        return fcb_fail(FCB_ERR_ARG, "synthetic dataset: nonlinear = %d must be 0 or 1", c->nonlinear);
    if (!isfinite(c->noise) || c->noise < 0.0f)
        return fcb_fail(FCB_ERR_ARG, "synthetic dataset: noise = %g must be finite and >= 0", (double)c->noise);
    /* Keep every n x d and n x hidden product within int and sane memory. */
    int widest = c->dim > 4 * c->num_classes ? c->dim : 4 * c->num_classes;
    if (c->num_classes > (1 << 20) || (double)c->num_train * widest > 1e10 || (double)c->num_test * widest > 1e10)
        return fcb_fail(FCB_ERR_ARG, "synthetic dataset: %d/%d rows x %d columns is too large", c->num_train,
                        c->num_test, widest);
    return FCB_OK;
}

fcb_status fcb_dataset_synthetic(const fcb_synthetic_config *config, fcb_dataset *train, fcb_dataset *test)
{
    if (!config || !train || !test)
        return fcb_fail(FCB_ERR_ARG, "synthetic dataset: NULL argument");
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    fcb_status st = check_config(config);
    if (st != FCB_OK)
        return st;
    labeller l;
    st = labeller_init(&l, config);
    if (st != FCB_OK)
        return st;
    st = draw_rows(&l, config, TRAIN_STREAM_ID, config->num_train, train);
    if (st == FCB_OK)
        st = draw_rows(&l, config, TEST_STREAM_ID, config->num_test, test);
    if (st != FCB_OK) {
        fcb_dataset_free(train);
        fcb_dataset_free(test);
    }
    labeller_free(&l);
    return st;
}
