#ifndef FEDCB_FEEDBACK_H
#define FEDCB_FEEDBACK_H

#include "rng.h"

/* What a client learns from its environment, seen from the client side:
 * the implicit feedback of the action it took, and (for reports and
 * full-information training only) the true expected reward of any action.
 * The simulator implements it over a labelled dataset; a deployment would
 * implement `observe` from real clicks. Rows index the round's contexts. */
typedef struct {
    void *context;
    float (*observe)(void *context, int row, int action, fcb_rng *rng);
    float (*true_reward)(void *context, int row, int action);
} fcb_feedback;

#endif
