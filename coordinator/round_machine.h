#ifndef FEDCB_ROUND_MACHINE_H
#define FEDCB_ROUND_MACHINE_H

#include <stdint.h>

#include "federation.h"
#include "round_close.h"

/* The networked coordinator's rounds as a state machine, with no transport
 * in it (the gRPC handlers of net_coordinator.c feed it; tests feed it
 * directly, with their own clock):
 *
 *   waiting for clients -> round open (sampled clients get their task as
 *   they ask; updates are stored as they arrive) -> every update in, or the
 *   round timeout: with a quorum the round closes exactly as in
 *   `fedcb simulate`, is checkpointed and reported, and the next opens;
 *   without one the round is sampled again -> after the last round, done.
 *
 * In the simulated world every client id takes part and a round samples
 * among all of them (the samples of `fedcb simulate`). In a real deployment
 * clients come and go: a round samples among the clients connected now
 * (registered and heard from within the connection window), waits for
 * network.min_clients of them, and names the clients that did not answer. */

typedef enum { FCB_ANSWER_WAIT, FCB_ANSWER_TASK, FCB_ANSWER_DONE, FCB_ANSWER_HOLD } fcb_answer;

typedef struct {
    double round_timeout;     /* seconds a round waits for its updates */
    double quorum;            /* fraction of the sampled clients that makes a round */
    int min_clients;          /* connected clients before a round opens */
    int max_attempts;         /* samples of one round before the run fails */
    double poll_seconds;      /* longest a task request is held */
    double linger;            /* seconds of answering "done" after the last round */
    int real;                 /* sample among connected clients */
    double connected_window;  /* real: a client not heard from for this long is gone */
    const char *state_dir;    /* checkpoints; NULL: none */
    const char *config_hash;
} fcb_machine_config;

typedef struct {
    /* Answers client's held task request (kind TASK, WAIT or DONE): the
     * transport's. */
    void (*answer)(void *answer_context, int client, fcb_answer kind);
    void *answer_context;
    /* The run's outputs: the program's. */
    void *context;
    /* A round closed (after its checkpoint): results for the run's outputs. */
    fcb_status (*round_closed)(void *context, const fcb_federation *f, const fcb_round_report *report,
                               const fcb_run_tally *tally, double round_started);
    /* A round was sampled again: attempt is the new attempt, missing the
     * sampled clients that had not answered. */
    void (*resampled)(void *context, int round, int attempt, const int *missing, int num_missing);
} fcb_machine_hooks;

typedef struct {
    int registered;
    double last_seen;
    int waiting;              /* a task request is held */
    double wait_until;
    int told_done;
} fcb_machine_client;

typedef enum { FCB_PHASE_WAITING, FCB_PHASE_OPEN, FCB_PHASE_DONE } fcb_machine_phase;

typedef struct {
    fcb_machine_config config;
    fcb_machine_hooks hooks;
    fcb_federation *fed;
    fcb_run_tally *tally;
    fcb_machine_client *clients;  /* num_clients */
    int *slot_of_client;          /* -1 when not sampled this round */
    int *scratch;                 /* num_clients */
    int registered;
    int arrived;                  /* slots no longer pending */
    fcb_machine_phase phase;
    int round;
    int attempt;
    double round_started;
    double done_at;
    double last_note;
} fcb_round_machine;

/* Takes fed and tally (restored from a checkpoint or fresh) at round
 * tally->rounds_done. */
fcb_status fcb_machine_init(fcb_round_machine *m, const fcb_machine_config *config, const fcb_machine_hooks *hooks,
                            fcb_federation *fed, fcb_run_tally *tally);
void fcb_machine_free(fcb_round_machine *m);

/* A client introduced itself (or asked for a task, after a restart). */
void fcb_machine_register(fcb_round_machine *m, int client, double now);

/* A task request: TASK, DONE or WAIT to answer at once, or HOLD (the
 * machine answers later through hooks.answer, at the latest after
 * wait_seconds). A newer request replaces a held one, which is answered
 * WAIT first. */
fcb_answer fcb_machine_poll(fcb_round_machine *m, int client, double wait_seconds, double now);

/* The held request of client is gone (its call ended): forget it. */
void fcb_machine_forget(fcb_round_machine *m, int client);

/* An update: delta (score models) or stats (linear bandits), with the
 * client's metrics. A client that was not sampled, a closed round, a
 * duplicate: FCB_ERR_STATE; an update that fails validation: FCB_ERR_ARG
 * (the slot is REJECTED). Messages name the client and the round. */
typedef struct {
    const float *delta;
    size_t delta_count;
    const double *stats;
    size_t stats_count;
} fcb_update_values;

fcb_status fcb_machine_submit(fcb_round_machine *m, int client, int round, const fcb_client_result *result,
                              const fcb_update_values *values, double now);

/* Timeouts, opening and closing rounds. */
fcb_status fcb_machine_tick(fcb_round_machine *m, double now);

/* 1 once the run is over and every registered client was told so (or
 * linger passed). */
int fcb_machine_finished(const fcb_round_machine *m, double now);

/* The task of client: 1 while it is sampled and its update is pending. */
int fcb_machine_has_task(const fcb_round_machine *m, int client);

#endif
