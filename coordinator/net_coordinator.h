#ifndef FEDCB_NET_COORDINATOR_H
#define FEDCB_NET_COORDINATOR_H

#include "config.h"
#include "round_finish.h"

/* `fedcb coordinator`: the rounds of `fedcb simulate` served to client
 * processes over gRPC. One thread runs an event loop over the completion
 * queue and a round state machine:
 *   waiting for min_clients registrations -> round open (sampled clients get
 *   their task, updates are validated as they arrive) -> all updates in, or
 *   the round timeout passed: with a quorum, aggregate exactly as simulate
 *   does, checkpoint, write metrics, next round; without one, re-sample ->
 *   after the last round, summary.json, then "done" to every client. */

typedef struct {
    const char *listen;     /* HOST:PORT (port 0: any free port) */
    const char *tls_dir;    /* ca.crt, server.crt, server.key; NULL with insecure */
    int insecure;           /* plaintext; accepted only on loopback */
    const char *state_dir;  /* checkpoints; NULL: none */
    const char *out_dir;    /* metrics.jsonl, summary.json; NULL: none */
    const char *port_file;  /* if set, the bound port is written here once listening */
} fcb_coordinator_options;

/* Runs until the run completes (FCB_OK, result filled) or fails, or until
 * SIGINT/SIGTERM (FCB_ERR_STATE "interrupted" after a clean shutdown). */
fcb_status fcb_coordinator_run(const fcb_config *config, const fcb_coordinator_options *options,
                               fcb_run_result *result);

#endif
