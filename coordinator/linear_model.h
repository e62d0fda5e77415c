#ifndef FEDCB_LINEAR_MODEL_H
#define FEDCB_LINEAR_MODEL_H

#include "global_model.h"
#include "linear_bandit.h"

/* The deployed posterior of a linear bandit's global model (NULL for a
 * score model), for in-process clients that share it instead of solving
 * it again from the statistics. */
const fcb_linposterior *fcb_linear_model_posterior(const fcb_global_model *gm);

#endif
