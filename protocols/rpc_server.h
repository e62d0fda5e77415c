#ifndef FEDCB_RPC_SERVER_H
#define FEDCB_RPC_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "tls_files.h"

/* A unary gRPC server on the C core that moves opaque bytes. One completion
 * queue, polled only by the thread that calls fcb_rpc_server_poll; the
 * handler and every fcb_rpc_reply* run on that thread. Calls to a path that
 * is not in config->methods are answered UNIMPLEMENTED at once. */

typedef struct fcb_rpc_server fcb_rpc_server;

/* An accepted call awaiting exactly one reply. */
typedef struct fcb_rpc_call fcb_rpc_call;

/* Packed bytes shared by many replies without copying (the slice is
 * refcounted by gRPC; each reply holds a reference until it is sent). */
typedef struct fcb_rpc_payload fcb_rpc_payload;

typedef struct {
    const char *listen;         /* "HOST:PORT", port 0 = pick a free port */
    const fcb_tls_files *tls;   /* NULL = plaintext; else require client certs
                                   verified against tls->ca_pem */
    const char *const *methods; /* full paths, e.g. "/fedcb.Coordinator/Register" */
    int num_methods;
    size_t max_message_bytes;   /* receive AND send limit; 0 = gRPC defaults
                                   (receive 4 MiB, send unlimited); at most INT_MAX */
    int slots_per_method;       /* outstanding request slots per method; <= 0 = 8 */
    int request_timeout_ms;     /* a call whose request message has not arrived in full
                                   this long after the call began is cancelled
                                   (DEADLINE_EXCEEDED) and logged; <= 0 = 60 s */
} fcb_rpc_server_config;

/* The peer's address as gRPC names it ("ipv4:127.0.0.1:40312") and its x509
 * identities (SAN entries, else the CN), each truncated to 255 bytes, at
 * most 8. authenticated and num_identities are 0 for plaintext. */
typedef struct {
    char address[128];
    int authenticated;
    int num_identities;
    char identities[8][256];
} fcb_rpc_peer;

/* "ADDRESS (certificate IDENTITY)" or "ADDRESS (no certificate)", for log
 * lines that name who was refused. */
void fcb_rpc_peer_describe(const fcb_rpc_peer *peer, char *out, size_t capacity);

/* Called on the polling thread for every new call. request (never NULL, may
 * be empty) and peer are valid only during the callback. The handler must
 * eventually answer with exactly one fcb_rpc_reply* (now, or later from the
 * polling thread, e.g. for a long poll). */
typedef void (*fcb_rpc_handler)(void *context, fcb_rpc_call *call, int method_index,
                                const uint8_t *request, size_t request_len,
                                const fcb_rpc_peer *peer);

/* Takes a reference on gRPC (fcb_rpc_global_init), binds, starts and arms
 * the request slots. *bound_port (may be NULL) receives the port. */
fcb_status fcb_rpc_server_start(const fcb_rpc_server_config *config, fcb_rpc_handler handler,
                                void *context, fcb_rpc_server **out, int *bound_port);

/* Processes completion-queue events for up to timeout_ms; returns earlier
 * once at least one event was processed (it also takes the events that are
 * ready at that moment, at most 64 in all), so a caller's loop sees its stop
 * flag regularly even under load. */
fcb_status fcb_rpc_server_poll(fcb_rpc_server *server, int timeout_ms);

/* Each fcb_rpc_reply* consumes the call, even when it fails: the call is then
 * cancelled or answered with an error status and freed by the server.
 * fcb_rpc_reply copies the bytes; a response over max_message_bytes is
 * answered RESOURCE_EXHAUSTED and gives FCB_ERR_ARG. */
fcb_status fcb_rpc_reply(fcb_rpc_call *call, const uint8_t *response, size_t len);
fcb_status fcb_rpc_reply_payload(fcb_rpc_call *call, fcb_rpc_payload *payload); /* no copy */
/* grpc_status_code must not be 0 (OK); details may be NULL. */
fcb_status fcb_rpc_reply_error(fcb_rpc_call *call, int grpc_status_code, const char *details);

/* Allocates len bytes that the caller fills once through *write_here before
 * the first reply that uses the payload. Not bound to a server or thread. */
fcb_status fcb_rpc_payload_create(size_t len, fcb_rpc_payload **out, uint8_t **write_here);
size_t fcb_rpc_payload_size(const fcb_rpc_payload *payload);
/* Drops the creator's reference; replies still being sent keep the bytes. */
void fcb_rpc_payload_release(fcb_rpc_payload *payload);

/* Milliseconds left of the client's deadline (0 if passed), INT_MAX if none. */
int fcb_rpc_call_deadline_ms(const fcb_rpc_call *call);

/* Call from the polling thread, or after polling stopped. Answers calls still
 * awaiting a reply with UNAVAILABLE "server shutting down", gives replies in
 * flight up to 1 s to reach their clients, cancels what is left, shuts the
 * server and its queue down in gRPC's order, frees everything (call pointers
 * held by the handler become invalid) and drops the gRPC reference. NULL is
 * ignored. */
void fcb_rpc_server_destroy(fcb_rpc_server *server);

#endif
