#ifndef FEDCB_FEDERATION_H
#define FEDCB_FEDERATION_H

#include "aggregate.h"
#include "client_step.h"
#include "config.h"
#include "dp_accountant.h"
#include "dp_clip.h"
#include "linear_bandit.h"
#include "malicious.h"
#include "preference_stage.h"
#include "robust_aggregate.h"
#include "server_optimizer.h"
#include "world.h"

/* The coordinator's side of federated rounds, without transport: the round's
 * slots (one per sampled client), the current and deployed models (or, for
 * LinUCB/Thompson, the aggregated statistics and posteriors), aggregation in
 * slot order (client-id order), the server optimiser and the deployment
 * delay. `fedcb simulate` fills the slots from in-process client steps, the
 * networked coordinator from validated network updates; both then call the
 * same functions, which is what makes their results bit-identical. */

typedef enum {
    FCB_SLOT_PENDING,     /* sampled; nothing known yet (network: no update arrived) */
    FCB_SLOT_UNAVAILABLE, /* did not answer the call this round */
    FCB_SLOT_NO_DATA,     /* drift hides every row the client holds */
    FCB_SLOT_DONE,        /* update delivered in time */
    FCB_SLOT_DROPPED,     /* interacted, then dropped out before submitting */
    FCB_SLOT_STALE,       /* straggler: the update arrived after the round deadline */
    FCB_SLOT_REJECTED,    /* network: the update failed validation on arrival */
    FCB_SLOT_FAILED
} fcb_slot_state;

typedef struct {
    int client;
    fcb_slot_state state;
    int straggler;        /* simulated: the update is sent clients.straggler_delay late */
    fcb_client_result result;
    fcb_status status;
    char error[512];
} fcb_slot;

typedef struct {
    int sampled, participants, updates, unavailable, no_data, dropped, stale, rejected, missing;
    long examples;
    double reward_sum, true_reward_sum, propensity_sum, loss_sum;
    double margin_sum;          /* preference rounds: beta * h over the updates' pairs */
    int steps;
    double bytes_up, bytes_down;
    int malicious;              /* aggregated updates that came from malicious clients */
    double clip_norm;           /* DP: the C this round's updates were clipped to */
    int clipped;                /* DP: aggregated updates whose norm was above C */
} fcb_round_totals;

typedef struct {
    const fcb_config *config;
    const fcb_world *world;
    fcb_client_setup setup;
    int linear;                 /* LinUCB / Thompson: statistics instead of deltas */
    size_t num_params;
    int round;                  /* 0-based index of the round in progress */
    int num_slots;
    fcb_slot *slots;
    int *sample_scratch;
    int *selected;              /* num_slots: the sample, client-id order */
    float *deltas;              /* num_slots x num_params (score-based policies) */
    float *current;
    float *deployed;
    float *mean_delta;
    long current_version;       /* rounds aggregated into current */
    long deployed_version;      /* current_version when deployed was last refreshed */
    fcb_aggregator aggregator;
    fcb_agg_weighting weighting;
    fcb_server_optimizer server;
    int phi_dim;
    float *theta0;              /* K x phi_dim prior mean from the base network's output layer */
    fcb_linstats *slot_stats;   /* num_slots */
    fcb_linstats global_stats;
    double *deployed_stats;     /* global statistics (flat) at the last deployment */
    size_t stats_size;          /* doubles in a flat fcb_linstats */
    fcb_linposterior deployed_posterior;
    fcb_linposterior current_posterior;
    fcb_preference_stage preference; /* [preference]: rounds after the bandit rounds */
    /* [aggregation], [malicious] and [dp] (score-based policies only) */
    int robust;                      /* a robust rule replaces the mean */
    fcb_robust_config robust_rule;
    fcb_malicious_config malicious;
    unsigned char *is_malicious;     /* num_clients flags; NULL without an attack */
    int dp;                          /* dp.enabled: DP-FedAvg instead of the mean */
    fcb_dp_config dp_config;
    double dp_sum_noise_multiplier;  /* z of the sum: below dp.noise_multiplier with adaptive clipping */
    double dp_sampling_rate;         /* q = clients_per_round / num_clients, for the accountant */
    double dp_delta;                 /* epsilon is reported at this delta */
    double dp_clip_norm;             /* C of the next aggregation (moves with adaptive clipping) */
    fcb_dp_accountant accountant;    /* one step per aggregated round */
    float *rows;                     /* num_slots x num_params: a round's updates in client-id order */
    double *robust_scratch;
    size_t robust_scratch_size;
} fcb_federation;

/* The client side's setup (model, policy, loss, SGD) from a config. */
fcb_status fcb_client_setup_from_config(const fcb_config *config, const fcb_model *model,
                                        fcb_client_setup *setup);

/* LinUCB / Thompson: phi = [base features, 1]; theta0 (K x phi_dim) is the
 * base network's output row and bias of each action, so init scenarios start
 * from the pretrained model. */
int fcb_linear_phi_dim(const fcb_world *world);
void fcb_linear_prior(const fcb_world *world, float *theta0);

fcb_status fcb_federation_init(fcb_federation *f, const fcb_config *config, const fcb_world *world);
void fcb_federation_free(fcb_federation *f);

/* Samples the clients of round `round` (seeded by round and attempt) into the
 * slots, all FCB_SLOT_PENDING. Attempt 0 is the sample simulate uses. The
 * first preference round freezes the current model as the reference. */
fcb_status fcb_federation_sample(fcb_federation *f, int round, int attempt);

float *fcb_federation_slot_delta(fcb_federation *f, int slot);

/* Validates and merges the slots in order, applies the server optimiser and
 * fills totals. A slot still PENDING counts as missing. The merge is the
 * FedAvg mean (server.weighting), a robust rule (aggregation.kind) or
 * DP-FedAvg (dp.enabled): each update clipped to C, the sum in client-id
 * order plus N(0, (z_sum C)^2) per coordinate from the stream
 * (seed, FCB_STREAM_DP_NOISE, 0xFFFFFFFF, round), divided by
 * clients_per_round; then one accountant step and, when adaptive, the
 * clip-norm update. */
fcb_status fcb_federation_aggregate(fcb_federation *f, fcb_round_totals *totals);

/* DP runs: epsilon at f->dp_delta of the rounds aggregated so far (+inf
 * with dp.noise_multiplier = 0), and the Renyi order that gives it (may be
 * NULL). */
fcb_status fcb_federation_epsilon(const fcb_federation *f, double *epsilon, double *best_order);

/* Refreshes the deployed model (or posterior) from the current one. */
fcb_status fcb_federation_deploy(fcb_federation *f);

/* Test accuracy and reward of the current model at the current round. */
fcb_status fcb_federation_evaluate(fcb_federation *f, double *accuracy, double *reward,
                                   double *class_accuracy);

/* Rounds of the whole run: bandit rounds plus preference rounds. */
int fcb_federation_total_rounds(const fcb_federation *f);

/* SHA-256 of the final model's bytes (statistics for linear bandits). */
fcb_status fcb_federation_digest(const fcb_federation *f, char hex[65]);

#endif
