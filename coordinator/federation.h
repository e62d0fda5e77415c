#ifndef FEDCB_FEDERATION_H
#define FEDCB_FEDERATION_H

#include <stdint.h>

#include "checkpoint_io.h"
#include "evaluator.h"
#include "global_model.h"
#include "round_result.h"
#include "round_totals.h"

/* The coordinator's side of federated rounds, with no transport and no data
 * in it: the round's slots (one per sampled client), sampling, the global
 * model (current and deployed), the deployment delay, the preference
 * stage's frozen reference, aggregation in client-id order. `fedcb
 * simulate` fills the slots from in-process clients, the networked
 * coordinator from validated network updates; both then call the same
 * functions, which is what makes their results bit-identical. */

typedef enum {
    FCB_SLOT_PENDING,     /* sampled; nothing known yet (network: no update arrived) */
    FCB_SLOT_UNAVAILABLE, /* did not take part this round */
    FCB_SLOT_NO_DATA,     /* the client had no context this round */
    FCB_SLOT_DONE,        /* update delivered in time */
    FCB_SLOT_DROPPED,     /* interacted, then dropped out before submitting */
    FCB_SLOT_STALE,       /* straggler: the update arrived after the round deadline */
    FCB_SLOT_REJECTED,    /* the update failed validation */
    FCB_SLOT_FAILED       /* in-process client failed: the run stops */
} fcb_slot_state;

typedef struct {
    int client;
    fcb_slot_state state;
    fcb_client_result result;
    int aggregated;       /* set by fcb_federation_aggregate: the update went into the model */
    fcb_status status;    /* FAILED */
    char error[512];
} fcb_slot;

typedef struct {
    uint64_t seed;
    int num_clients;          /* client ids are 0 .. num_clients - 1 */
    int clients_per_round;
    int rounds;               /* bandit rounds */
    int preference_rounds;    /* rounds of the preference stage after them */
    int deploy_every;
    int eval_every;
    int linear;               /* LinUCB / Thompson: statistics instead of deltas */
    fcb_global_model_config model; /* capacity and deploy_every are filled in by init */
} fcb_federation_config;

typedef struct {
    fcb_federation_config config;
    fcb_global_model *gm;
    const fcb_evaluator *evaluator; /* may be NULL: no evaluation */
    int round;                /* 0-based index of the round in progress */
    int attempt;
    int capacity;             /* clients_per_round */
    int num_slots;            /* sampled this round (fewer than capacity when fewer clients are connected) */
    fcb_slot *slots;          /* capacity, client-id order */
    int *sample_scratch;      /* num_clients */
    int *selected;            /* capacity */
    int *merge_slots;         /* capacity */
    int *merge_clients;
    double *merge_examples;
    long current_version;     /* rounds aggregated into current */
    long deployed_version;    /* current_version when deployed was last refreshed */
    float *reference;         /* preference stage: the model frozen when it began */
} fcb_federation;

fcb_status fcb_federation_init(fcb_federation *f, const fcb_federation_config *config,
                               const fcb_evaluator *evaluator);
void fcb_federation_free(fcb_federation *f);

/* Samples round `round` (seeded by round and attempt; attempt 0 is the
 * sample of `fedcb simulate`) among all clients, or among the n client ids
 * in `among` (increasing; fewer than clients_per_round samples them all).
 * Every slot starts FCB_SLOT_PENDING. The preference stage's first round
 * freezes the current model as the reference. */
fcb_status fcb_federation_sample(fcb_federation *f, int round, int attempt);
fcb_status fcb_federation_sample_among(fcb_federation *f, int round, int attempt, const int *among, int n);

/* Where slot s's update goes. */
fcb_update_buffer fcb_federation_slot_update(fcb_federation *f, int slot);

/* Counts the slots into totals, validates the delivered updates and merges
 * them in client-id order into the current model. A slot still PENDING
 * counts as missing; a FAILED one stops the run with its error. */
fcb_status fcb_federation_aggregate(fcb_federation *f, fcb_round_totals *totals);

/* The current model becomes the deployed one. */
fcb_status fcb_federation_deploy(fcb_federation *f);

int fcb_federation_total_rounds(const fcb_federation *f);
int fcb_federation_is_preference_round(const fcb_federation *f, int round);

/* SHA-256 of the current model's bytes (statistics for linear bandits). */
fcb_status fcb_federation_digest(const fcb_federation *f, char hex[65]);

/* DP runs: the privacy spent so far; FCB_ERR_STATE without DP. */
fcb_status fcb_federation_privacy(const fcb_federation *f, fcb_privacy_report *report);

/* Checkpoint sections of the federation, its global model (and rule) and
 * the preference reference. */
fcb_status fcb_federation_save(const fcb_federation *f, fcb_ckpt_writer *w);
fcb_status fcb_federation_load(fcb_federation *f, fcb_ckpt_reader *r);

#endif
