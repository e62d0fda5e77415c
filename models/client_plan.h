#ifndef FEDCB_CLIENT_PLAN_H
#define FEDCB_CLIENT_PLAN_H

#include <stdint.h>

#include "loss.h"
#include "model.h"
#include "policy.h"
#include "sgd.h"

/* What a client runs in a deployment where it brings its own data: the
 * coordinator's config describes it, the coordinator sends it at
 * registration, and the client needs nothing else but its data. */
typedef struct {
    fcb_model_config model;
    fcb_policy_config policy;
    fcb_loss_kind loss;
    int local_epochs;
    int batch_size;
    fcb_sgd_config sgd;
    uint64_t seed;            /* the client's random streams: (seed, purpose, client, round) */
    float max_weight;         /* importance weights: 0 = unclipped, else at most this */
    int scale_weights;        /* epsilon-greedy: weights times epsilon / K */
    int examples_per_round;   /* the most contexts a client trains on per round */
} fcb_client_plan;

/* Every value in range (the model's shape, the policy's and the optimiser's
 * own checks); the message names the field. */
fcb_status fcb_client_plan_validate(const fcb_client_plan *plan);

#endif
