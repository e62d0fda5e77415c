#ifndef FEDCB_NET_COORDINATOR_H
#define FEDCB_NET_COORDINATOR_H

#include <stdatomic.h>

#include "client_plan.h"
#include "round_machine.h"

/* `fedcb coordinator`'s service: the round machine (round_machine.h) served
 * to client processes over gRPC, by default with mutual TLS (each client's
 * certificate must name the client id it claims). One thread polls the
 * completion queue and drives the machine. The caller owns the federation
 * and tally (restored from a checkpoint or fresh) and writes the run's
 * outputs from the machine's hooks. */

typedef struct {
    const char *listen;         /* HOST:PORT (port 0: any free port) */
    const char *tls_dir;        /* ca.crt, server.crt, server.key; NULL with insecure */
    int insecure;               /* plaintext; accepted only on loopback */
    const char *port_file;      /* if set, the bound port is written here once listening */
    const atomic_int *stop;     /* the program's signal handler sets it: shut down cleanly */
    fcb_machine_config machine;
    int poll_ms;                /* longest a task request is held */
    int examples_per_round;     /* the most examples an update may claim */
    /* A deployment where clients bring their own data: what they run and
     * the model they start from (machine.real must be set). NULL otherwise. */
    const fcb_client_plan *plan;
    const float *initial_params;
} fcb_net_coordinator_options;

/* Serves until the run completes (FCB_OK), fails, or *stop is set
 * (FCB_ERR_STATE "interrupted" after a clean shutdown). hooks.answer is the
 * service's own; round_closed and resampled are the caller's. */
fcb_status fcb_net_coordinator_serve(const fcb_net_coordinator_options *options, fcb_federation *fed,
                                     fcb_run_tally *tally, const fcb_machine_hooks *hooks);

#endif
