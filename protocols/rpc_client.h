#ifndef FEDCB_RPC_CLIENT_H
#define FEDCB_RPC_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "tls_files.h"

/* A unary gRPC client on the C core that moves opaque bytes over one
 * long-lived channel. Each call uses its own completion queue, so one client
 * may be used from several threads at once. */

typedef struct fcb_rpc_client fcb_rpc_client;

typedef struct {
    const char *target;          /* "HOST:PORT"; an IP avoids a c-ares leak */
    const fcb_tls_files *tls;    /* NULL = plaintext; cert_pem/key_pem NULL = no
                                    client certificate */
    const char *tls_target_name; /* NULL = none; else the name checked against the
                                    server certificate's SAN instead of the host */
    size_t max_message_bytes;    /* receive AND send limit; 0 = gRPC defaults
                                    (receive 4 MiB, send unlimited); at most INT_MAX */
} fcb_rpc_client_config;

typedef struct {
    int grpc_status;  /* 0 = OK, 4 = DEADLINE_EXCEEDED, 14 = UNAVAILABLE, ... */
    char details[512];
} fcb_rpc_result;

/* Takes a reference on gRPC (fcb_rpc_global_init) and creates the channel;
 * it connects lazily, on the first call. */
fcb_status fcb_rpc_client_open(const fcb_rpc_client_config *config, fcb_rpc_client **out);

/* One unary call to method (a full path, "/fedcb.Coordinator/Register") with
 * a deadline of deadline_ms > 0. wait_for_ready sets
 * GRPC_INITIAL_METADATA_WAIT_FOR_READY: the call waits (up to the deadline)
 * for the server instead of failing at once with UNAVAILABLE. On grpc status
 * OK returns FCB_OK and *response (malloc'd, never NULL, caller frees; may be
 * len 0). Otherwise returns FCB_ERR_IO with a message naming the method, the
 * status name (UNAVAILABLE, DEADLINE_EXCEEDED, ...) and the details, and
 * sets *response to NULL. result (may be NULL) receives the status and
 * details either way. */
fcb_status fcb_rpc_client_call(fcb_rpc_client *client, const char *method, const uint8_t *request,
                               size_t len, int deadline_ms, int wait_for_ready, uint8_t **response,
                               size_t *response_len, fcb_rpc_result *result);

/* Destroys the channel and drops the gRPC reference; NULL is ignored. No call
 * may be in progress. */
void fcb_rpc_client_close(fcb_rpc_client *client);

#endif
