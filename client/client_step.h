#ifndef FEDCB_CLIENT_STEP_H
#define FEDCB_CLIENT_STEP_H

#include <stdint.h>

#include "data_source.h"
#include "linear_bandit.h"
#include "local_train.h"
#include "loss.h"
#include "model.h"
#include "policy.h"
#include "round_result.h"
#include "sgd.h"

/* One client's round: act on its contexts with the deployed model's policy,
 * observe implicit feedback, log (x, a, p(a|x), r), train the current model
 * on the log and return the update. Score-based policies return a delta
 * (local - current) of the parameter vector; LinUCB and Thompson return the
 * sufficient statistics of their round on phi = [features(x), 1], where
 * features come from the frozen base network. No transport here: the
 * simulator and the networked client both call this. */

typedef struct {
    const fcb_model *model;
    fcb_policy_config policy;
    fcb_loss_kind loss;     /* bandit losses train on the log, full-information ones on true rewards */
    int local_epochs;
    int batch_size;
    fcb_sgd_config sgd;
    uint64_t seed;
    float max_weight;       /* importance weights 1/p: 0 = unclipped, else at most this */
    int scale_weights;      /* epsilon-greedy: weights times epsilon / K, so at most 1 */
} fcb_client_setup;

#include "client_plan.h"

/* The setup of a client that runs the plan a coordinator sent (or an agent
 * built from its options). */
void fcb_client_setup_from_plan(const fcb_client_plan *plan, const fcb_model *model, fcb_client_setup *setup);

/* Buffers one worker reuses across clients and rounds. */
typedef struct {
    int capacity;          /* rows per round this buffer holds */
    fcb_workspace workspace;
    float *scores;         /* capacity x K */
    float *probs;          /* capacity x K */
    float *targets;        /* batch x K */
    float *reward_model;   /* capacity x K: the round's starting scores (doubly robust loss) */
    float *local_params;   /* num_params */
    float *phi;            /* capacity x (feature_dim + 1) */
    int *actions;
    float *propensities;
    float *rewards;
    float *weights;
    int *batch_actions;
    float *batch_rewards;
    float *batch_weights;
    float *batch_propensities;
    int *batch_labels;
    fcb_train_buffers train;
    fcb_sgd optimizer;
} fcb_client_buffers;

fcb_status fcb_client_buffers_init(fcb_client_buffers *b, const fcb_client_setup *setup, int capacity);
void fcb_client_buffers_free(fcb_client_buffers *b);

/* phi = [features(x), 1] of the base network for n rows (n <= capacity). */
fcb_status fcb_client_features(const fcb_client_setup *setup, fcb_client_buffers *b,
                               const float *base_params, const float *x, int n);

/* Score-based round on the contexts in: act with the deployed model's
 * policy and observe source's feedback (or take in's logged decisions),
 * then train; delta (num_params) = locally trained - current. */
fcb_status fcb_client_round(const fcb_client_setup *setup, fcb_client_buffers *b, int client_id,
                            int round, const float *deployed, const float *current,
                            const fcb_round_contexts *in, const fcb_data_source *source, float *delta,
                            fcb_client_result *result);

/* LinUCB / Thompson round: stats (zeroed here) receive the round's
 * statistics; decisions use the deployed posterior. */
fcb_status fcb_client_linear_round(const fcb_client_setup *setup, fcb_client_buffers *b,
                                   int client_id, int round, fcb_linposterior *deployed,
                                   const float *base_params, const fcb_round_contexts *in,
                                   const fcb_data_source *source, fcb_linstats *stats,
                                   fcb_client_result *result);

#endif
