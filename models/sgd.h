#ifndef FEDCB_SGD_H
#define FEDCB_SGD_H

#include <stddef.h>

#include "status.h"

/* The client optimiser: SGD with optional momentum, decoupled-from-nothing
 * L2 weight decay (added to the gradient) and global-norm gradient clipping. */
typedef struct {
    float learning_rate; /* > 0 */
    float momentum;      /* [0, 1) */
    float weight_decay;  /* >= 0 */
    float clip_norm;     /* 0 = off, else clip the gradient's global L2 norm */
} fcb_sgd_config;

typedef struct {
    fcb_sgd_config config;
    size_t n;
    float *velocity; /* n floats, NULL when momentum == 0 */
} fcb_sgd;

fcb_status fcb_sgd_config_validate(const fcb_sgd_config *config);
fcb_status fcb_sgd_init(fcb_sgd *opt, const fcb_sgd_config *config, size_t n);
void fcb_sgd_reset(fcb_sgd *opt); /* zero the velocity */
void fcb_sgd_free(fcb_sgd *opt);
/* params -= lr * (clipped grad + wd * params), with momentum. grad may be modified. */
fcb_status fcb_sgd_step(fcb_sgd *opt, float *params, float *grad);

#endif
