#ifndef FEDCB_CONN_CHECK_H
#define FEDCB_CONN_CHECK_H

#include <stddef.h>

#include "status.h"
#include "tls_files.h"

/* Diagnosis of a client's connection to its coordinator with plain sockets
 * and OpenSSL, for when a gRPC call fails: gRPC's C core reports every
 * connection fault as the same UNAVAILABLE or DEADLINE_EXCEEDED. */

/* Splits a coordinator target into host and port. Accepts HOST:PORT and
 * [IPV6]:PORT, optionally after the gRPC prefixes "dns:///", "ipv4:" or
 * "ipv6:" (then the host must be an address of that family). The port is
 * required and must be 1..65535; the host must not be empty. host gets the
 * host without brackets. Failures are FCB_ERR_ARG with a one-line message
 * that names the --coordinator option and shows the expected form. */
fcb_status fcb_parse_target(const char *target, char *host, size_t host_size, int *port);

typedef enum {
    FCB_CONN_OK,               /* reachable; the handshake and HTTP/2 start looked right */
    FCB_CONN_BAD_TARGET,       /* fcb_parse_target refused the target */
    FCB_CONN_RESOLVE,          /* the host name does not resolve */
    FCB_CONN_REFUSED,          /* TCP connection refused: nothing listens on the port */
    FCB_CONN_TIMEOUT,          /* no TCP answer, or no TLS answer, within the timeout */
    FCB_CONN_UNREACHABLE,      /* no route to the address (network or host unreachable) */
    FCB_CONN_TLS_NAME,         /* the server certificate does not name the host dialled */
    FCB_CONN_TLS_UNKNOWN_CA,   /* the server certificate is not signed by our ca.crt */
    FCB_CONN_TLS_REJECTED,     /* the server refused our client certificate */
    FCB_CONN_TLS_OTHER,        /* any other TLS failure, with OpenSSL's reason */
    FCB_CONN_PLAINTEXT_SERVER, /* we speak TLS, the server speaks plaintext */
    FCB_CONN_TLS_SERVER,       /* we speak plaintext, the server speaks TLS */
    FCB_CONN_NOT_GRPC,         /* the server answered, but not with HTTP/2 */
    FCB_CONN_TLS_FILES,        /* our own CA, certificate or key is unusable */
    FCB_CONN_LOCAL             /* the check could not run: no memory or sockets, bad timeout */
} fcb_conn_fault;

/* Connects to target as a fedcb client would and writes the cause of the
 * first fault found, or a short confirmation for FCB_CONN_OK, as one line
 * without a newline into message (truncated to size; message may be NULL
 * when size is 0).
 *
 * tls NULL checks a plaintext client: after connecting it sends the HTTP/2
 * preface and looks at the first bytes that come back. Otherwise it makes a
 * TLS 1.2+ handshake (ALPN h2, SNI = host unless an IP address) that trusts
 * only tls->ca_pem, presents tls->cert_pem/key_pem when both are set, and
 * checks that the server certificate names the host; then it sends the
 * HTTP/2 preface and waits for the server's SETTINGS frame, because with
 * TLS 1.3 a server refuses a client certificate only after the handshake.
 * A server that answers nothing within about 2 s after a good start counts
 * as FCB_CONN_OK.
 *
 * Some verdicts are inferences, and their messages say "most likely": gRPC's
 * server hangs up without a TLS alert, so a TLS server closing at once on a
 * plaintext client gives FCB_CONN_TLS_SERVER, a plaintext server closing on a
 * ClientHello gives FCB_CONN_PLAINTEXT_SERVER, and a close right after a
 * completed handshake gives FCB_CONN_TLS_REJECTED.
 *
 * timeout_ms (> 0) bounds connecting, the handshake and the wait for an
 * answer together. It does not bound the name lookup, which is
 * getaddrinfo's and takes the system resolver's own time.
 *
 * Never prints, never prompts for a key passphrase, does not touch signals
 * (socket writes use MSG_NOSIGNAL) or the environment, frees everything,
 * and is thread-safe. It leaves the calling thread's OpenSSL error queue
 * empty; for FCB_CONN_BAD_TARGET, fcb_last_error() also holds the message. */
fcb_conn_fault fcb_conn_check(const char *target, const fcb_tls_files *tls, int timeout_ms,
                              char *message, size_t size);

/* A short constant name of the fault ("refused", "tls-name", ...). */
const char *fcb_conn_fault_name(fcb_conn_fault fault);

#endif
