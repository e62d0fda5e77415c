#ifndef FEDCB_CLIENT_TASK_H
#define FEDCB_CLIENT_TASK_H

#include "client_step.h"
#include "malicious.h"
#include "config.h"
#include "federation.h"
#include "round_data.h"
#include "world.h"

/* A simulated client's whole round: the availability draws (participation,
 * dropout, straggler), its contexts for the round, then the client step.
 * The in-process driver runs it on a worker thread; the networked client
 * runs it in its own process. Both give the same bytes. */

typedef struct {
    fcb_client_buffers buffers;
    fcb_preference_buffers preference; /* allocated only with a preference stage */
    float *utilities;                  /* preference rounds: examples_per_round x K */
    fcb_malicious_config attack;       /* [malicious] */
    unsigned char *is_malicious;       /* num_clients flags; NULL without an attack */
    fcb_round_data data;
    fcb_linposterior posterior; /* LinUCB / Thompson: the deployed posterior (solve scratch is per worker) */
} fcb_client_worker;

fcb_status fcb_client_worker_init(fcb_client_worker *w, const fcb_client_setup *setup,
                                  const fcb_preference_stage *preference, const fcb_world *world,
                                  const fcb_config *config);
void fcb_client_worker_free(fcb_client_worker *w);

typedef struct {
    const fcb_config *config;
    const fcb_world *world;
    const fcb_client_setup *setup;
    const float *deployed; /* score-based policies: the deployed and current parameters */
    const float *current;
    const fcb_preference_stage *preference; /* its reference is frozen once the stage begins */
} fcb_client_task_inputs;

/* Runs client slot->client's round `round` (a bandit or a preference round). On return slot->state is
 * UNAVAILABLE, NO_DATA, DONE, DROPPED, STALE (the update was made but comes
 * in past the deadline) or FAILED (slot->status and slot->error say why);
 * delta (score-based) or stats (linear) hold the update when one was made. */
void fcb_client_task_run(const fcb_client_task_inputs *in, fcb_client_worker *w, int round, fcb_slot *slot,
                         float *delta, fcb_linstats *stats);

#endif
