#ifndef FEDCB_PREFERENCE_STAGE_H
#define FEDCB_PREFERENCE_STAGE_H

#include "config.h"
#include "pairwise_feedback.h"
#include "policy.h"
#include "preference_step.h"
#include "world.h"

/* The optional preference-optimisation stage ([preference] in the config):
 * preference.rounds rounds after the run.rounds bandit rounds (or instead of
 * them with run.rounds = 0). In each, a client shows two distinct actions
 * drawn from the deployed model's policy softmax(f / temperature), the
 * simulated user states a Bradley-Terry preference (flipped at flip_rate),
 * and the client trains the current model on its pairs against the
 * reference: the model as it was when the stage began, frozen. */

typedef struct {
    int first_round;              /* 0-based: config->rounds */
    int rounds;                   /* preference.rounds; 0 = no stage */
    fcb_preference_setup setup;
    fcb_pairwise_config feedback;
    fcb_policy_config policy;     /* softmax at preference.temperature */
    float *reference;             /* num_params */
    float *reward_params;         /* distill: M x num_params, loaded from the reward_models runs */
    size_t num_params;
} fcb_preference_stage;

/* Reads [preference]; loads the distill reward models (model.bin of each
 * comma-separated run directory). No stage when preference.rounds = 0. */
fcb_status fcb_preference_stage_init(fcb_preference_stage *stage, const fcb_config *config,
                                     const fcb_model *model);
void fcb_preference_stage_free(fcb_preference_stage *stage);

/* 1 when 0-based round `round` is a preference round. */
int fcb_preference_stage_owns(const fcb_preference_stage *stage, int round);

/* Freezes params as the reference (at the stage's first round). */
void fcb_preference_stage_begin(fcb_preference_stage *stage, const float *params);

/* On the test set at `round`: the win rate of pi(params) against the
 * reference under the true utilities, and KL(pi || pi_ref). */
fcb_status fcb_preference_stage_evaluate(const fcb_preference_stage *stage, const fcb_world *world,
                                         const float *params, int round, double *win_rate, double *kl);

#endif
