#ifndef FEDCB_NET_CLIENT_H
#define FEDCB_NET_CLIENT_H

#include <stdatomic.h>
#include <stddef.h>

#include "client_plan.h"
#include "client_round.h"

/* One client of a networked run: it registers, long-polls for tasks, runs
 * its round (client_round.h) on its own data and submits the update, until
 * the coordinator says the run is over. When the coordinator is away it
 * retries with backoff, keeps an update it has not yet delivered, and gives
 * up after `give_up` seconds without an answer.
 *
 * Two kinds of client: one of the simulated world shares the coordinator's
 * config (config_hash) and brings its own setup; one with its own data has
 * no config and runs the plan and initial model the coordinator sends at
 * registration. */

typedef struct {
    const char *coordinator;      /* HOST:PORT */
    int client_id;
    const char *tls_dir;          /* ca.crt, client-<id>.crt, client-<id>.key; NULL with insecure */
    int insecure;                 /* plaintext; accepted only on loopback */
    double give_up;               /* seconds without reaching the coordinator before failing */
    const atomic_int *stop;       /* the program's signal handler or the embedding agent sets it */
    const char *config_hash;      /* simulated world: the shared config's hash; NULL: own data */
    size_t max_message_bytes;     /* simulated world: fcb_wire_message_limit of the model */
    int poll_ms;                  /* long-poll wait of a task request */
} fcb_net_client_options;

typedef struct fcb_net_client fcb_net_client;

/* Connects and registers (retrying while the coordinator is unreachable). */
fcb_status fcb_net_client_open(const fcb_net_client_options *options, fcb_net_client **out);

/* Own data: the plan and initial model received at registration. */
const fcb_client_plan *fcb_net_client_plan(const fcb_net_client *client);
const float *fcb_net_client_initial_params(const fcb_net_client *client);

/* What the client runs its rounds with. */
typedef struct {
    const fcb_client_setup *setup;
    const fcb_preference_setup *preference; /* NULL: no preference stage */
    int bandit_rounds;                      /* preference rounds come after these */
    const float *base_params;               /* linear bandits: the frozen base network */
    int examples_per_round;
    const fcb_data_source *source;
    const fcb_client_hooks *hooks;          /* simulated clients only; may be NULL */
    /* Score models, may be NULL: called when a task brings a newly deployed
     * model (params valid during the call only). */
    void (*deployed)(void *context, int64_t version, const float *params);
    void *deployed_context;
} fcb_net_client_work;

/* Rounds until the coordinator says the run is over (FCB_OK). */
fcb_status fcb_net_client_run(fcb_net_client *client, const fcb_net_client_work *work);

void fcb_net_client_close(fcb_net_client *client);

#endif
