#include "sgd.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

fcb_status fcb_sgd_config_validate(const fcb_sgd_config *config)
{
    if (config == NULL)
        return fcb_fail(FCB_ERR_ARG, "fcb_sgd_config_validate: config must not be NULL");
    if (!(isfinite(config->learning_rate) && config->learning_rate > 0.0f))
        return fcb_fail(FCB_ERR_CONFIG, "sgd: learning_rate = %g must be finite and > 0",
                        (double)config->learning_rate);
    if (!(config->momentum >= 0.0f && config->momentum < 1.0f))
        return fcb_fail(FCB_ERR_CONFIG, "sgd: momentum = %g must be in [0, 1)",
                        (double)config->momentum);
    if (!(isfinite(config->weight_decay) && config->weight_decay >= 0.0f))
        return fcb_fail(FCB_ERR_CONFIG, "sgd: weight_decay = %g must be finite and >= 0",
                        (double)config->weight_decay);
    if (!(isfinite(config->clip_norm) && config->clip_norm >= 0.0f))
        return fcb_fail(FCB_ERR_CONFIG, "sgd: clip_norm = %g must be finite and >= 0 (0 = off)",
                        (double)config->clip_norm);
    return FCB_OK;
}

fcb_status fcb_sgd_init(fcb_sgd *opt, const fcb_sgd_config *config, size_t n)
{
    if (opt == NULL)
        return fcb_fail(FCB_ERR_ARG, "fcb_sgd_init: opt must not be NULL");
    memset(opt, 0, sizeof *opt);
    fcb_status status = fcb_sgd_config_validate(config);
    if (status != FCB_OK)
        return status;
    /* BLAS lengths are int. */
    if (n < 1 || n > (size_t)INT_MAX)
        return fcb_fail(FCB_ERR_ARG, "fcb_sgd_init: %zu parameters, need 1..%d", n, INT_MAX);
    opt->config = *config;
    opt->n = n;
    if (config->momentum > 0.0f) {
        opt->velocity = calloc(n, sizeof *opt->velocity);
        if (opt->velocity == NULL)
            return fcb_fail(FCB_ERR_NOMEM, "fcb_sgd_init: cannot allocate velocity of %zu floats",
                            n);
    }
    return FCB_OK;
}

void fcb_sgd_reset(fcb_sgd *opt)
{
    if (opt != NULL && opt->velocity != NULL)
        memset(opt->velocity, 0, opt->n * sizeof *opt->velocity);
}

void fcb_sgd_free(fcb_sgd *opt)
{
    if (opt == NULL)
        return;
    free(opt->velocity);
    memset(opt, 0, sizeof *opt);
}

/* sdot is several times faster than snrm2 on small vectors (measured); the
 * overflow-safe scaling of snrm2 is only needed when the squares overflow. */
static float gradient_norm(int n, const float *grad)
{
    float sum_squares = cblas_sdot(n, grad, 1, grad, 1);
    if (isfinite(sum_squares))
        return sqrtf(sum_squares);
    return cblas_snrm2(n, grad, 1);
}

fcb_status fcb_sgd_step(fcb_sgd *opt, float *params, float *grad)
{
    if (opt == NULL || params == NULL || grad == NULL)
        return fcb_fail(FCB_ERR_ARG, "fcb_sgd_step: NULL argument");
    if (opt->n == 0)
        return fcb_fail(FCB_ERR_STATE, "fcb_sgd_step: optimiser is not initialised");

    const fcb_sgd_config *c = &opt->config;
    int n = (int)opt->n;
    float norm = gradient_norm(n, grad);
    if (!isfinite(norm))
        return fcb_fail(FCB_ERR_NUMERIC, "fcb_sgd_step: gradient norm is not finite (%g)",
                        (double)norm);
    if (c->clip_norm > 0.0f && norm > c->clip_norm)
        cblas_sscal(n, c->clip_norm / norm, grad, 1);
    if (c->weight_decay > 0.0f)
        cblas_saxpy(n, c->weight_decay, params, 1, grad, 1);
    if (opt->velocity != NULL) {
        cblas_sscal(n, c->momentum, opt->velocity, 1);
        cblas_saxpy(n, 1.0f, grad, 1, opt->velocity, 1);
        cblas_saxpy(n, -c->learning_rate, opt->velocity, 1, params, 1);
    } else {
        cblas_saxpy(n, -c->learning_rate, grad, 1, params, 1);
    }
    return FCB_OK;
}
