#ifndef FEDCB_LOSS_H
#define FEDCB_LOSS_H

#include "status.h"

/* Losses over a batch of n rows of K scores. Each returns the mean loss over
 * the batch in *loss and writes dL/dscores (n x K) into dscores. */

typedef enum {
    FCB_LOSS_CHOSEN_SQUARED,     /* (f(x,a) - r)^2 on the chosen action: the paper's bandit loss */
    FCB_LOSS_IMPORTANCE_SQUARED, /* (f(x,a) - r)^2 / p(a|x) */
    FCB_LOSS_FULL_MSE,           /* sum_a (f(x,a) - y_a)^2 against a full reward vector */
    FCB_LOSS_SOFTMAX_XENT,       /* -log softmax(f(x))_label */
    FCB_LOSS_DOUBLY_ROBUST       /* sum_a (f(x,a) - y_a)^2 against doubly robust targets (fcb_loss_dr_targets) */
} fcb_loss_kind;

fcb_status fcb_loss_kind_from_name(const char *name, fcb_loss_kind *out);
const char *fcb_loss_kind_name(fcb_loss_kind kind);

/* weights: NULL for 1, else per-row weight (1/propensity for importance weighting). */
fcb_status fcb_loss_chosen_squared(const float *scores, int n, int k, const int *actions,
                                   const float *rewards, const float *weights, float *dscores,
                                   double *loss);

/* targets: n x K reward vectors (one-hot labels or partial-reward rows). */
fcb_status fcb_loss_full_mse(const float *scores, int n, int k, const float *targets,
                             float *dscores, double *loss);

/* Doubly robust reward targets of logged decisions: with q the reward
 * model (n x K, the round's starting scores), a the logged action, r its
 * reward and p its propensity, y_b = q_b + [b = a] (r - q_a) / p. Over the
 * logger's draws of a, E[y_b] = the true expected reward of b whenever p > 0
 * for b; for actions not taken, y_b = q_b keeps the model where it was. */
fcb_status fcb_loss_dr_targets(const float *q, int n, int k, const int *actions, const float *rewards,
                               const float *propensities, float *targets);

fcb_status fcb_loss_softmax_xent(const float *scores, int n, int k, const int *labels,
                                 float *dscores, double *loss);

#endif
