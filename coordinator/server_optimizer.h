#ifndef FEDCB_SERVER_OPTIMIZER_H
#define FEDCB_SERVER_OPTIMIZER_H

#include <stddef.h>

#include "status.h"

/* Server optimisers of Reddi et al., "Adaptive Federated Optimization"
 * (ICLR 2021), Algorithm 2. Clients send delta = w_local - w_global; the
 * aggregated mean delta D is the negative pseudo-gradient, so every update
 * moves the parameters x along D:
 *
 *   sgd:     x += lr * D                        (momentum 0; lr 1 is FedAvg)
 *            m = momentum * m + D; x += lr * m  (momentum > 0)
 *   adagrad: m = b1 m + (1-b1) D; v = v + D^2;                         x += lr m / (sqrt(v) + tau)
 *   adam:    m = b1 m + (1-b1) D; v = b2 v + (1-b2) D^2;               x += lr m / (sqrt(v) + tau)
 *   yogi:    m = b1 m + (1-b1) D; v = v - (1-b2) D^2 sign(v - D^2);    x += lr m / (sqrt(v) + tau)
 *
 * As in the paper: m starts at 0, v starts at tau^2, and there is no bias
 * correction (unlike Kingma & Ba's Adam), so the first steps of adam and
 * yogi are small, about lr * (1-b1) / sqrt(1-b2) in size.
 *
 * adam with bias_correction is Kingma & Ba's Adam as Keras computes it (the
 * server optimiser of the reference implementation of Agarwal, McMahan, Xu):
 * v starts at 0 and, at step t = 1, 2, ...,
 *            x += lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + tau).
 * The arithmetic is done in double per element; m and v are stored as float. */

typedef enum {
    FCB_SERVER_SGD,
    FCB_SERVER_ADAM,
    FCB_SERVER_YOGI,
    FCB_SERVER_ADAGRAD
} fcb_server_opt_kind;

typedef struct {
    fcb_server_opt_kind kind;
    float learning_rate; /* > 0 */
    float momentum;      /* sgd only, [0, 1) */
    float beta1;         /* adaptive ones, [0, 1) */
    float beta2;         /* adam and yogi, [0, 1) */
    float tau;           /* adaptivity (epsilon) of the adaptive ones, > 0 */
    int bias_correction; /* adam only: 1 = Kingma & Ba / Keras bias correction */
} fcb_server_opt_config;

/* Defaults for a kind: sgd lr 1, momentum 0 (plain FedAvg); the adaptive
 * ones lr 0.01 (to be tuned, as in the paper), beta1 0.9, beta2 0.99,
 * tau 1e-3. Every field is set whatever the kind. */
fcb_server_opt_config fcb_server_opt_config_defaults(fcb_server_opt_kind kind);
/* FCB_ERR_CONFIG naming the bad field, e.g. "server.learning_rate must be > 0 (got 0)".
 * Every field is checked, also those the kind does not use. */
fcb_status fcb_server_opt_config_validate(const fcb_server_opt_config *config);

/* "sgd", "adam", "yogi", "adagrad" (FCB_ERR_CONFIG for anything else). */
fcb_status fcb_server_opt_kind_from_name(const char *name, fcb_server_opt_kind *kind);
const char *fcb_server_opt_kind_name(fcb_server_opt_kind kind);

typedef struct {
    fcb_server_opt_config config;
    size_t dim;
    float *m;   /* dim; NULL for sgd without momentum */
    float *v;   /* dim; NULL for sgd */
    long steps; /* successful applies */
} fcb_server_optimizer;

/* Validates config and allocates the state for dim parameters. */
fcb_status fcb_server_optimizer_init(fcb_server_optimizer *opt, const fcb_server_opt_config *config,
                                     size_t dim);
void fcb_server_optimizer_free(fcb_server_optimizer *opt);

/* One server step: params (dim floats) move along mean_delta (dim floats).
 * A non-finite mean_delta value, or a step whose result does not fit a
 * float, gives FCB_ERR_NUMERIC and leaves params and the state unchanged. */
fcb_status fcb_server_optimizer_apply(fcb_server_optimizer *opt, float *params,
                                      const float *mean_delta);

/* The state as a flat float array (for checkpoints):
 *   [steps mod 2^24, steps / 2^24, m (dim, if any), v (dim, if any)]
 * steps is split in two floats so that it stays exact up to 2^48. */
size_t fcb_server_optimizer_state_size(const fcb_server_optimizer *opt);
fcb_status fcb_server_optimizer_save(const fcb_server_optimizer *opt, float *state, size_t n);
/* opt must be initialised with the same config and dim as the saved one.
 * Checks the size and every value (finite, steps a non-negative integer,
 * v >= 0) before changing anything: FCB_ERR_FORMAT if one is wrong.
 * save: FCB_ERR_ARG if n is not fcb_server_optimizer_state_size. */
fcb_status fcb_server_optimizer_load(fcb_server_optimizer *opt, const float *state, size_t n);

#endif
