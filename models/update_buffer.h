#ifndef FEDCB_UPDATE_BUFFER_H
#define FEDCB_UPDATE_BUFFER_H

#include "linear_bandit.h"

/* A client's update for one round, the same type at both ends: the delta
 * of a score model's parameters (local minus current), or the sufficient
 * statistics of a linear bandit's round. Exactly one is set. */
typedef struct {
    float *delta;        /* num_params floats */
    fcb_linstats *stats;
} fcb_update_buffer;

#endif
