#ifndef FEDCB_SIM_EVALUATOR_H
#define FEDCB_SIM_EVALUATOR_H

#include "evaluator.h"
#include "world.h"

/* The simulated world's test set as the coordinator's evaluator: accuracy
 * and true reward of the argmax action with labels as they are at the
 * round (drift), and for the preference stage the win rate of
 * softmax(f / temperature) against the reference and the KL between them.
 * With a validation set, accuracy and reward on it as well. */
typedef struct {
    const fcb_world *world;
    uint64_t seed;
    double temperature;   /* preference.temperature */
} fcb_sim_evaluator;

/* {context = e, ...}; e must outlive the evaluator's use. */
fcb_evaluator fcb_sim_evaluator_make(fcb_sim_evaluator *e);

#endif
