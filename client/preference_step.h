#ifndef FEDCB_PREFERENCE_STEP_H
#define FEDCB_PREFERENCE_STEP_H

#include "client_step.h"
#include "preference_loss.h"

/* One client's preference round, after the environment logged its pairs
 * (x_i, a_w, a_l): E local epochs of SGD on the preference loss of
 * pi_theta = softmax(f_theta / tau) against the frozen reference, starting
 * from the current model; the update is the delta, aggregated like a
 * bandit round's. For distill, the reward models' scores (times
 * reward_scale) are the targets. */

typedef struct {
    fcb_preference_params loss;
    float learning_rate;         /* local SGD step of the stage */
    int local_epochs;
    float reward_scale;          /* distill: target = reward_scale * (r_m(a_w) - r_m(a_l)) */
    int num_reward_models;       /* distill: M */
    const float *reward_params;  /* distill: M x num_params */
} fcb_preference_setup;

/* Buffers of the stage, reused across rounds (capacity rows). */
typedef struct {
    int capacity;
    int num_reward_models;
    float *ref_scores;      /* capacity x K */
    float *reward_scores;   /* M x capacity x K */
    float *batch_ref;       /* batch x K */
    float *batch_reward;    /* M x batch x K */
    int *winners;           /* capacity */
    int *losers;
    int *batch_winners;     /* batch */
    int *batch_losers;
    fcb_sgd optimizer;      /* the stage's learning rate */
} fcb_preference_buffers;

fcb_status fcb_preference_buffers_init(fcb_preference_buffers *pb, const fcb_client_setup *setup,
                                       const fcb_preference_setup *pref, int capacity);
void fcb_preference_buffers_free(fcb_preference_buffers *pb);

/* Trains on the n pairs in pb->winners / pb->losers over contexts x.
 * result: examples = n, loss_sum / steps as in bandit rounds, margin_sum =
 * the sum over the last epoch's pairs of beta * h. */
fcb_status fcb_client_preference_round(const fcb_client_setup *setup, const fcb_preference_setup *pref,
                                       fcb_client_buffers *b, fcb_preference_buffers *pb, int client_id,
                                       int round, const float *current, const float *reference,
                                       const float *x, int n, float *delta, fcb_client_result *result);

#endif
