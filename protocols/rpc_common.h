#ifndef FEDCB_RPC_COMMON_H
#define FEDCB_RPC_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

struct grpc_byte_buffer;

/* Process-wide setup shared by the gRPC server and client layers. */

/* Takes one reference on the gRPC library (the first calls grpc_init).
 * Servers and clients take their own reference; a process may take one more
 * to keep gRPC up between them. Thread-safe. Process-wide settings (gRPC's
 * log verbosity, malloc thresholds for large messages) are the program's,
 * not this library's. */
void fcb_rpc_global_init(void);

/* Drops one reference; the last one shuts gRPC down. Every gRPC object
 * (server, client, payload still being sent) must be gone by then. */
void fcb_rpc_global_shutdown(void);

/* 1 if the host of "HOST:PORT", "[V6]:PORT", "HOST" or a bare IPv6 address
 * is a loopback address (127.0.0.0/8, ::1, ::ffff:127.x.y.z) or the name
 * "localhost"; 0 otherwise, including NULL and malformed text. gRPC URI
 * prefixes "dns:///", "ipv4:" and "ipv6:" are skipped. */
int fcb_rpc_is_loopback(const char *host_port);

/* The canonical name of a gRPC status code ("UNAVAILABLE", ...), or
 * "UNKNOWN_STATUS" for a code outside 0..16. */
const char *fcb_rpc_status_name(int grpc_status_code);

/* For the rpc layer itself: copies a received message (possibly many
 * slices, possibly compressed) into one malloc'd array the caller frees.
 * A NULL buffer is an empty message. *bytes is never NULL on FCB_OK. */
fcb_status fcb_rpc_copy_message(struct grpc_byte_buffer *message, uint8_t **bytes, size_t *len);

#endif
