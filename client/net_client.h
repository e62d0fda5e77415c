#ifndef FEDCB_NET_CLIENT_H
#define FEDCB_NET_CLIENT_H

#include "config.h"

/* `fedcb client`: one client process. It builds the same simulated world as
 * the coordinator from the shared config, registers, long-polls for tasks,
 * runs the very client step `fedcb simulate` runs on its own partition and
 * submits the update, until the coordinator says the run is over. When the
 * coordinator is away it retries with backoff and keeps an update it has
 * not yet delivered. */

typedef struct {
    const char *coordinator; /* HOST:PORT */
    int client_id;
    const char *tls_dir;     /* ca.crt, client-<id>.crt, client-<id>.key; NULL with insecure */
    int insecure;            /* plaintext; accepted only on loopback */
    double give_up;          /* seconds without reaching the coordinator before failing */
} fcb_net_client_options;

fcb_status fcb_net_client_run(const fcb_config *config, const fcb_net_client_options *options);

#endif
