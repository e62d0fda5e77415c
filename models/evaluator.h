#ifndef FEDCB_EVALUATOR_H
#define FEDCB_EVALUATOR_H

#include "model_scorer.h"

/* Held-out evaluation of the coordinator's model, by whoever holds labelled
 * data: the simulator (its test set, labels drifting with the rounds) or an
 * operator's held-out file. The coordinator knows only this interface.
 * NULL members are not evaluated. */
typedef struct {
    void *context;
    /* Accuracy (argmax == label) and mean reward of the argmax action at
     * `round`; class_accuracy (K values) may be NULL. */
    fcb_status (*evaluate)(void *context, const fcb_scorer *scorer, int round, double *accuracy, double *reward,
                           double *class_accuracy);
    /* Preference stage: win rate of softmax(params) against the reference
     * under the true utilities, and KL(pi || pi_ref). */
    fcb_status (*preference)(void *context, const float *params, const float *reference, int round,
                             double *win_rate, double *kl);
    /* The same as evaluate on a validation set held apart from the test set,
     * for choosing settings without reading the test set; NULL: none. */
    fcb_status (*validate)(void *context, const fcb_scorer *scorer, int round, double *accuracy, double *reward);
} fcb_evaluator;

#endif
