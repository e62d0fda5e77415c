#include "rpc_server.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "listen_check.h"
#include "log.h"
#include "rpc_common.h"

enum {
    FCB_RPC_DEFAULT_SLOTS = 8,
    FCB_RPC_CATCH_ALL_SLOTS = 2,
    FCB_RPC_MAX_EVENTS_PER_POLL = 64,
    FCB_RPC_SHUTDOWN_GRACE_MS = 1000,
    FCB_RPC_DEFAULT_REQUEST_TIMEOUT_MS = 60000,
    FCB_RPC_SWEEP_INTERVAL_MS = 250,
    FCB_RPC_UNREGISTERED = -1
};

/* Connection limits (docs/deploy.md, "Connection limits", argues each). */
enum {
    FCB_RPC_HANDSHAKE_TIMEOUT_MS = 10000,
    FCB_RPC_KEEPALIVE_TIME_MS = 60000,
    FCB_RPC_KEEPALIVE_TIMEOUT_MS = 20000,
    FCB_RPC_MIN_CLIENT_PING_INTERVAL_MS = 10000,
    FCB_RPC_MAX_PING_STRIKES = 2,
    FCB_RPC_MAX_CONCURRENT_STREAMS = 16,
    FCB_RPC_MAX_CONNECTION_IDLE_MS = 600000
};

typedef enum {
    CALL_WAITING_FOR_CLIENT, /* an armed request slot */
    CALL_READING,            /* accepted; its request message is being received */
    CALL_AWAITING_REPLY,     /* received; the handler owes one reply */
    CALL_REPLYING            /* reply batch in flight */
} call_state;

/* One request slot, then the call it accepted. Its address is the
 * completion-queue tag of both the slot and the reply batch; state tells
 * which event arrived. Every live call is on the server's list. */
struct fcb_rpc_call {
    fcb_rpc_server *server;
    int method_index; /* FCB_RPC_UNREGISTERED for the catch-all slots */
    call_state state;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array request_metadata;
    grpc_call_details details; /* catch-all slots only */
    grpc_byte_buffer *request;
    grpc_byte_buffer *response;
    int cancelled; /* RECV_CLOSE_ON_SERVER output */
    gpr_timespec read_started;
    char address[128]; /* the peer's, kept from the start of the read */
    int read_timed_out; /* cancelled by the sweep; its failed read is not logged again */
    fcb_rpc_call *previous;
    fcb_rpc_call *next;
};

struct fcb_rpc_server {
    grpc_server *server;
    grpc_completion_queue *queue;
    void **registered_methods;
    char **method_names; /* for log lines */
    int num_methods;
    int slots_per_method;
    size_t max_message_bytes; /* 0 = no limit of ours */
    int request_timeout_ms;
    gpr_timespec last_sweep;
    fcb_rpc_handler handler;
    void *context;
    int shutting_down;
    int shutdown_notified;
    int shutdown_tag; /* its address is the tag of grpc_server_shutdown_and_notify */
    fcb_rpc_call *live_calls;
};

struct fcb_rpc_payload {
    grpc_slice bytes;
};

static void link_call(fcb_rpc_server *server, fcb_rpc_call *call)
{
    call->next = server->live_calls;
    if (server->live_calls)
        server->live_calls->previous = call;
    server->live_calls = call;
}

static void free_call(fcb_rpc_call *call)
{
    fcb_rpc_server *server = call->server;
    if (call->previous)
        call->previous->next = call->next;
    else
        server->live_calls = call->next;
    if (call->next)
        call->next->previous = call->previous;
    grpc_metadata_array_destroy(&call->request_metadata);
    if (call->method_index == FCB_RPC_UNREGISTERED)
        grpc_call_details_destroy(&call->details);
    if (call->request)
        grpc_byte_buffer_destroy(call->request);
    if (call->response)
        grpc_byte_buffer_destroy(call->response);
    if (call->call)
        grpc_call_unref(call->call);
    free(call);
}

static fcb_status arm_slot(fcb_rpc_server *server, int method_index)
{
    fcb_rpc_call *call = calloc(1, sizeof *call);
    if (!call)
        return fcb_fail(FCB_ERR_NOMEM, "no memory for a request slot");
    call->server = server;
    call->method_index = method_index;
    call->state = CALL_WAITING_FOR_CLIENT;
    grpc_metadata_array_init(&call->request_metadata);
    if (method_index == FCB_RPC_UNREGISTERED)
        grpc_call_details_init(&call->details);
    link_call(server, call);

    grpc_call_error error;
    if (method_index == FCB_RPC_UNREGISTERED)
        error = grpc_server_request_call(server->server, &call->call, &call->details,
                                         &call->request_metadata, server->queue, server->queue,
                                         call);
    else
        error = grpc_server_request_registered_call(
            server->server, server->registered_methods[method_index], &call->call,
            &call->deadline, &call->request_metadata, NULL, server->queue, server->queue, call);
    if (error != GRPC_CALL_OK) {
        free_call(call);
        return fcb_fail(FCB_ERR_STATE, "cannot arm a request slot for method %d: %s",
                        method_index, grpc_call_error_to_string(error));
    }
    return FCB_OK;
}

/* Starts the one batch that answers the call. Takes ownership of response
 * (may be NULL). On failure the call is freed, which cancels it. */
static fcb_status start_reply(fcb_rpc_call *call, grpc_byte_buffer *response,
                              grpc_status_code status, const char *details)
{
    call->response = response;
    call->state = CALL_REPLYING;
    grpc_slice details_slice = grpc_empty_slice();
    if (details)
        details_slice = grpc_slice_from_copied_string(details);

    grpc_op ops[4];
    memset(ops, 0, sizeof ops);
    size_t count = 0;
    ops[count].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[count].data.send_initial_metadata.count = 0;
    count++;
    if (response) {
        ops[count].op = GRPC_OP_SEND_MESSAGE;
        ops[count].data.send_message.send_message = response;
        count++;
    }
    ops[count].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[count].data.send_status_from_server.trailing_metadata_count = 0;
    ops[count].data.send_status_from_server.status = status;
    ops[count].data.send_status_from_server.status_details = details ? &details_slice : NULL;
    count++;
    ops[count].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[count].data.recv_close_on_server.cancelled = &call->cancelled;
    count++;

    grpc_call_error error = grpc_call_start_batch(call->call, ops, count, call, NULL);
    grpc_slice_unref(details_slice);
    if (error != GRPC_CALL_OK) {
        free_call(call);
        return fcb_fail(FCB_ERR_STATE, "cannot start the reply batch: %s",
                        grpc_call_error_to_string(error));
    }
    return FCB_OK;
}

static fcb_status check_replyable(const fcb_rpc_call *call)
{
    if (!call)
        return fcb_fail(FCB_ERR_ARG, "reply to a NULL call");
    if (call->state != CALL_AWAITING_REPLY)
        return fcb_fail(FCB_ERR_STATE, "the call was already answered");
    return FCB_OK;
}

fcb_status fcb_rpc_reply_error(fcb_rpc_call *call, int code, const char *details)
{
    fcb_status status = check_replyable(call);
    if (status != FCB_OK)
        return status;
    if (code <= GRPC_STATUS_OK || code > GRPC_STATUS_UNAUTHENTICATED) {
        start_reply(call, NULL, GRPC_STATUS_INTERNAL, "server replied with an invalid status");
        return fcb_fail(FCB_ERR_ARG, "grpc status %d is not an error code", code);
    }
    return start_reply(call, NULL, (grpc_status_code)code, details);
}

static fcb_status refuse_oversized(fcb_rpc_call *call, size_t len)
{
    size_t limit = call->server->max_message_bytes;
    start_reply(call, NULL, GRPC_STATUS_RESOURCE_EXHAUSTED,
                "server response exceeds its max_message_bytes");
    return fcb_fail(FCB_ERR_ARG, "response of %zu bytes exceeds max_message_bytes %zu", len,
                    limit);
}

static int too_large(const fcb_rpc_call *call, size_t len)
{
    return call->server->max_message_bytes > 0 && len > call->server->max_message_bytes;
}

fcb_status fcb_rpc_reply(fcb_rpc_call *call, const uint8_t *response, size_t len)
{
    fcb_status status = check_replyable(call);
    if (status != FCB_OK)
        return status;
    if (too_large(call, len))
        return refuse_oversized(call, len);
    grpc_slice slice = grpc_slice_malloc(len);
    if (len > 0)
        memcpy(GRPC_SLICE_START_PTR(slice), response, len);
    grpc_byte_buffer *message = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return start_reply(call, message, GRPC_STATUS_OK, NULL);
}

fcb_status fcb_rpc_reply_payload(fcb_rpc_call *call, fcb_rpc_payload *payload)
{
    fcb_status status = check_replyable(call);
    if (status != FCB_OK)
        return status;
    if (!payload) {
        start_reply(call, NULL, GRPC_STATUS_INTERNAL, "server replied with no payload");
        return fcb_fail(FCB_ERR_ARG, "reply with a NULL payload");
    }
    size_t len = GRPC_SLICE_LENGTH(payload->bytes);
    if (too_large(call, len))
        return refuse_oversized(call, len);
    /* Takes a reference on the slice; the bytes are not copied. */
    grpc_byte_buffer *message = grpc_raw_byte_buffer_create(&payload->bytes, 1);
    return start_reply(call, message, GRPC_STATUS_OK, NULL);
}

fcb_status fcb_rpc_payload_create(size_t len, fcb_rpc_payload **out, uint8_t **write_here)
{
    *out = NULL;
    *write_here = NULL;
    fcb_rpc_payload *payload = malloc(sizeof *payload);
    if (!payload)
        return fcb_fail(FCB_ERR_NOMEM, "no memory for a %zu-byte payload", len);
    /* Small slices are stored inline in the struct, so the write pointer is
     * taken from the heap copy, never from a local. */
    payload->bytes = grpc_slice_malloc(len);
    *write_here = GRPC_SLICE_START_PTR(payload->bytes);
    *out = payload;
    return FCB_OK;
}

size_t fcb_rpc_payload_size(const fcb_rpc_payload *payload)
{
    return GRPC_SLICE_LENGTH(payload->bytes);
}

void fcb_rpc_payload_release(fcb_rpc_payload *payload)
{
    if (!payload)
        return;
    grpc_slice_unref(payload->bytes);
    free(payload);
}

int fcb_rpc_call_deadline_ms(const fcb_rpc_call *call)
{
    if (call->deadline.tv_sec == INT64_MAX)
        return INT_MAX;
    gpr_timespec left = gpr_time_sub(call->deadline, gpr_now(call->deadline.clock_type));
    int32_t ms = gpr_time_to_millis(left);
    if (ms < 0)
        return 0;
    return ms < INT_MAX ? (int)ms : INT_MAX;
}

static void copy_identity(char *destination, size_t capacity, const grpc_auth_property *property)
{
    size_t len = property->value_length < capacity - 1 ? property->value_length : capacity - 1;
    memcpy(destination, property->value, len);
    destination[len] = '\0';
}

static void read_address(grpc_call *call, char *out, size_t capacity)
{
    char *address = grpc_call_get_peer(call);
    snprintf(out, capacity, "%s", address ? address : "unknown peer");
    gpr_free(address);
}

static void read_peer(grpc_call *call, fcb_rpc_peer *peer)
{
    peer->authenticated = 0;
    peer->num_identities = 0;
    read_address(call, peer->address, sizeof peer->address);
    grpc_auth_context *auth = grpc_call_auth_context(call);
    if (!auth)
        return;
    peer->authenticated = grpc_auth_context_peer_is_authenticated(auth) ? 1 : 0;
    if (peer->authenticated) {
        grpc_auth_property_iterator identities = grpc_auth_context_peer_identity(auth);
        const grpc_auth_property *property;
        int capacity = (int)(sizeof peer->identities / sizeof peer->identities[0]);
        while (peer->num_identities < capacity &&
               (property = grpc_auth_property_iterator_next(&identities)) != NULL) {
            copy_identity(peer->identities[peer->num_identities], sizeof peer->identities[0],
                          property);
            peer->num_identities++;
        }
    }
    grpc_auth_context_release(auth);
}

void fcb_rpc_peer_describe(const fcb_rpc_peer *peer, char *out, size_t capacity)
{
    if (peer->num_identities > 0)
        snprintf(out, capacity, "%s (certificate %s)", peer->address, peer->identities[0]);
    else
        snprintf(out, capacity, "%s (%s)", peer->address,
                 peer->authenticated ? "certificate without identity" : "no certificate");
}

/* "SubmitUpdate" of "/fedcb.Coordinator/SubmitUpdate". */
static const char *method_name(const fcb_rpc_call *call)
{
    const char *path = call->server->method_names[call->method_index];
    const char *last = strrchr(path, '/');
    return last ? last + 1 : path;
}

static void answer_unregistered(fcb_rpc_call *call)
{
    char details[512];
    int method_len = (int)GRPC_SLICE_LENGTH(call->details.method);
    snprintf(details, sizeof details, "method %.*s is not served here", method_len,
             (const char *)GRPC_SLICE_START_PTR(call->details.method));
    start_reply(call, NULL, GRPC_STATUS_UNIMPLEMENTED, details);
}

static void dispatch(fcb_rpc_server *server, fcb_rpc_call *call)
{
    uint8_t *request;
    size_t request_len;
    fcb_status status = fcb_rpc_copy_message(call->request, &request, &request_len);
    if (call->request) {
        grpc_byte_buffer_destroy(call->request);
        call->request = NULL;
    }
    if (status != FCB_OK) {
        start_reply(call, NULL, GRPC_STATUS_INTERNAL, fcb_last_error());
        return;
    }
    fcb_rpc_peer peer;
    read_peer(call->call, &peer);
    server->handler(server->context, call, call->method_index, request, request_len, &peer);
    free(request);
}

/* The request message is received by a batch of ours rather than by gRPC
 * before the call is announced, so that a request that never arrives in
 * full (too large, cut off, stalled) is seen, logged with its peer and,
 * if it stalls, cancelled by the sweep. */
static void start_read(fcb_rpc_call *call)
{
    call->state = CALL_READING;
    call->read_started = gpr_now(GPR_CLOCK_MONOTONIC);
    read_address(call->call, call->address, sizeof call->address); /* gRPC forgets it once the call failed */
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &call->request;
    grpc_call_error error = grpc_call_start_batch(call->call, &op, 1, call, NULL);
    if (error != GRPC_CALL_OK) {
        fcb_log("rpc", "%s: cannot start receiving a request: %s", method_name(call),
                grpc_call_error_to_string(error));
        free_call(call);
    }
}

static void log_refused_call(const fcb_rpc_call *call, const char *why)
{
    fcb_rpc_peer peer;
    read_peer(call->call, &peer);
    snprintf(peer.address, sizeof peer.address, "%s", call->address);
    char who[600];
    fcb_rpc_peer_describe(&peer, who, sizeof who);
    fcb_log("coordinator", "%s from %s refused: %s", method_name(call), who, why);
}

static void finish_read(fcb_rpc_server *server, fcb_rpc_call *call, int success)
{
    if (success && call->request) {
        call->state = CALL_AWAITING_REPLY;
        dispatch(server, call);
        return;
    }
    if (call->read_timed_out || server->shutting_down) {
        free_call(call);
        return;
    }
    char why[256];
    if (success) {
        snprintf(why, sizeof why, "the call ended without a request message");
        log_refused_call(call, why);
        call->state = CALL_AWAITING_REPLY;
        start_reply(call, NULL, GRPC_STATUS_INVALID_ARGUMENT, "no request message");
        return;
    }
    if (server->max_message_bytes > 0)
        snprintf(why, sizeof why,
                 "the request message did not arrive: larger than the %zu-byte limit, or cut off "
                 "by the client",
                 server->max_message_bytes);
    else
        snprintf(why, sizeof why, "the request message did not arrive (cut off by the client)");
    log_refused_call(call, why);
    free_call(call); /* gRPC already ended the call; its status went to the client */
}

static void accept_call(fcb_rpc_server *server, fcb_rpc_call *call)
{
    call->state = CALL_AWAITING_REPLY;
    if (call->method_index == FCB_RPC_UNREGISTERED)
        call->deadline = call->details.deadline;
    if (server->shutting_down) {
        start_reply(call, NULL, GRPC_STATUS_UNAVAILABLE, "server shutting down");
        return;
    }
    /* Re-arm before handling so a slow handler never leaves the method
     * without a slot. A failure only lowers the number of slots. */
    arm_slot(server, call->method_index);
    if (call->method_index == FCB_RPC_UNREGISTERED)
        answer_unregistered(call);
    else
        start_read(call);
}

static void handle_event(fcb_rpc_server *server, const grpc_event *event)
{
    if (event->type != GRPC_OP_COMPLETE)
        return;
    if (event->tag == &server->shutdown_tag) {
        server->shutdown_notified = 1;
        return;
    }
    fcb_rpc_call *call = event->tag;
    if (call->state == CALL_READING)
        finish_read(server, call, event->success);
    else if (call->state == CALL_REPLYING || !event->success)
        free_call(call); /* reply done, or a slot returned by shutdown */
    else if (call->state == CALL_WAITING_FOR_CLIENT)
        accept_call(server, call);
}

/* Cancels the calls whose request has not arrived within the request
 * timeout (a client that opened a call and stopped sending). */
static void sweep_stalled_reads(fcb_rpc_server *server)
{
    gpr_timespec now = gpr_now(GPR_CLOCK_MONOTONIC);
    if (gpr_time_to_millis(gpr_time_sub(now, server->last_sweep)) < FCB_RPC_SWEEP_INTERVAL_MS)
        return;
    server->last_sweep = now;
    for (fcb_rpc_call *call = server->live_calls; call; call = call->next) {
        if (call->state != CALL_READING || call->read_timed_out)
            continue;
        if (gpr_time_to_millis(gpr_time_sub(now, call->read_started)) < server->request_timeout_ms)
            continue;
        char why[128];
        snprintf(why, sizeof why, "its request message did not arrive within %.1f s; call cancelled",
                 server->request_timeout_ms / 1000.0);
        log_refused_call(call, why);
        call->read_timed_out = 1;
        grpc_call_cancel_with_status(call->call, GRPC_STATUS_DEADLINE_EXCEEDED,
                                     "request message not received in time", NULL);
    }
}

fcb_status fcb_rpc_server_poll(fcb_rpc_server *server, int timeout_ms)
{
    if (!server)
        return fcb_fail(FCB_ERR_ARG, "poll of a NULL server");
    if (timeout_ms < 0)
        timeout_ms = 0;
    gpr_timespec wait_until = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                           gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
    for (int handled = 0; handled < FCB_RPC_MAX_EVENTS_PER_POLL; handled++) {
        grpc_event event = grpc_completion_queue_next(server->queue, wait_until, NULL);
        if (event.type == GRPC_QUEUE_SHUTDOWN)
            return fcb_fail(FCB_ERR_STATE, "poll of a server that is shut down");
        if (event.type != GRPC_OP_COMPLETE)
            break;
        handle_event(server, &event);
        wait_until = gpr_inf_past(GPR_CLOCK_MONOTONIC);
    }
    sweep_stalled_reads(server);
    return FCB_OK;
}

/* Processes events until *done is set or the deadline passes. */
static void drain_until(fcb_rpc_server *server, const int *done, gpr_timespec deadline)
{
    while (!*done) {
        grpc_event event = grpc_completion_queue_next(server->queue, deadline, NULL);
        if (event.type != GRPC_OP_COMPLETE)
            return;
        handle_event(server, &event);
    }
}

static void drain_until_queue_shutdown(fcb_rpc_server *server)
{
    grpc_event event;
    do {
        event = grpc_completion_queue_next(server->queue, gpr_inf_future(GPR_CLOCK_MONOTONIC),
                                           NULL);
        handle_event(server, &event);
    } while (event.type != GRPC_QUEUE_SHUTDOWN);
}

static void answer_calls_awaiting_reply(fcb_rpc_server *server)
{
    fcb_rpc_call *call = server->live_calls;
    while (call) {
        fcb_rpc_call *next = call->next; /* start_reply may free call */
        if (call->state == CALL_AWAITING_REPLY)
            start_reply(call, NULL, GRPC_STATUS_UNAVAILABLE, "server shutting down");
        call = next;
    }
}

/* Frees what start created, for a server that may never have started. */
static void free_server(fcb_rpc_server *server)
{
    while (server->live_calls)
        free_call(server->live_calls);
    if (server->queue)
        grpc_completion_queue_destroy(server->queue);
    free(server->registered_methods);
    for (int i = 0; server->method_names && i < server->num_methods; i++)
        free(server->method_names[i]);
    free(server->method_names);
    free(server);
    fcb_rpc_global_shutdown();
}

void fcb_rpc_server_destroy(fcb_rpc_server *server)
{
    if (!server)
        return;
    server->shutting_down = 1;
    answer_calls_awaiting_reply(server);
    /* gRPC's order: server shutdown (its tag on our queue), server destroy,
     * then queue shutdown, drained until GRPC_QUEUE_SHUTDOWN. The replies
     * just started get a grace period to reach their clients before the
     * remaining calls are cancelled. */
    grpc_server_shutdown_and_notify(server->server, server->queue, &server->shutdown_tag);
    gpr_timespec grace_end =
        gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                     gpr_time_from_millis(FCB_RPC_SHUTDOWN_GRACE_MS, GPR_TIMESPAN));
    drain_until(server, &server->shutdown_notified, grace_end);
    grpc_server_cancel_all_calls(server->server);
    drain_until(server, &server->shutdown_notified, gpr_inf_future(GPR_CLOCK_MONOTONIC));
    grpc_server_destroy(server->server);
    grpc_completion_queue_shutdown(server->queue);
    drain_until_queue_shutdown(server);
    free_server(server);
}

static fcb_status check_config(const fcb_rpc_server_config *config, fcb_rpc_handler handler)
{
    if (!config || !handler)
        return fcb_fail(FCB_ERR_ARG, "rpc server needs a config and a handler");
    if (!config->listen || !*config->listen)
        return fcb_fail(FCB_ERR_ARG, "rpc server needs a listen address");
    if (config->num_methods < 0 || (config->num_methods > 0 && !config->methods))
        return fcb_fail(FCB_ERR_ARG, "rpc server: bad method list (%d methods)",
                        config->num_methods);
    for (int i = 0; i < config->num_methods; i++)
        if (!config->methods[i] || config->methods[i][0] != '/')
            return fcb_fail(FCB_ERR_ARG, "rpc server: method %d must be a path like /pkg.Svc/Name",
                            i);
    if (config->max_message_bytes > INT_MAX)
        return fcb_fail(FCB_ERR_ARG, "max_message_bytes %zu exceeds %d", config->max_message_bytes,
                        INT_MAX);
    if (config->tls && (!config->tls->ca_pem || !config->tls->cert_pem || !config->tls->key_pem))
        return fcb_fail(FCB_ERR_ARG, "rpc server TLS needs a CA, a certificate and a key");
    return FCB_OK;
}

static grpc_server_credentials *server_credentials(const fcb_tls_files *tls)
{
    if (!tls)
        return grpc_insecure_server_credentials_create();
    grpc_ssl_pem_key_cert_pair identity = {tls->key_pem, tls->cert_pem};
    return grpc_ssl_server_credentials_create_ex(
        tls->ca_pem, &identity, 1, GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY,
        NULL);
}

static void add_int_arg(grpc_arg *args, size_t *count, const char *key, int value)
{
    args[*count].type = GRPC_ARG_INTEGER;
    args[*count].key = (char *)key;
    args[*count].value.integer = value;
    (*count)++;
}

/* Creates the grpc server with its limits, queue and methods; not started. */
static fcb_status create_server(fcb_rpc_server *server, const fcb_rpc_server_config *config)
{
    grpc_arg args_list[16];
    size_t num_args = 0;
    /* The port is this server's alone: without SO_REUSEPORT a second
     * server on it fails to bind instead of sharing the clients. */
    add_int_arg(args_list, &num_args, GRPC_ARG_ALLOW_REUSEPORT, 0);
    if (config->max_message_bytes > 0) {
        add_int_arg(args_list, &num_args, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
                    (int)config->max_message_bytes);
        add_int_arg(args_list, &num_args, GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
                    (int)config->max_message_bytes);
    }
    add_int_arg(args_list, &num_args, GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                FCB_RPC_HANDSHAKE_TIMEOUT_MS);
    add_int_arg(args_list, &num_args, GRPC_ARG_MAX_CONCURRENT_STREAMS,
                FCB_RPC_MAX_CONCURRENT_STREAMS);
    add_int_arg(args_list, &num_args, GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                FCB_RPC_MAX_CONNECTION_IDLE_MS);
    /* Keepalive: ping every connection, busy or not, and drop the ones
     * whose peer does not answer. Pings from clients are accepted down to
     * one per 10 s even between calls (the clients' own keepalive). */
    add_int_arg(args_list, &num_args, GRPC_ARG_KEEPALIVE_TIME_MS, FCB_RPC_KEEPALIVE_TIME_MS);
    add_int_arg(args_list, &num_args, GRPC_ARG_KEEPALIVE_TIMEOUT_MS, FCB_RPC_KEEPALIVE_TIMEOUT_MS);
    add_int_arg(args_list, &num_args, GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    add_int_arg(args_list, &num_args, GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
    add_int_arg(args_list, &num_args, GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                FCB_RPC_MIN_CLIENT_PING_INTERVAL_MS);
    add_int_arg(args_list, &num_args, GRPC_ARG_HTTP2_MAX_PING_STRIKES, FCB_RPC_MAX_PING_STRIKES);
    grpc_channel_args args = {num_args, args_list};
    server->server = grpc_server_create(&args, NULL);
    server->queue = grpc_completion_queue_create_for_next(NULL);
    if (!server->server || !server->queue)
        return fcb_fail(FCB_ERR_NOMEM, "cannot create the grpc server for %s", config->listen);
    grpc_server_register_completion_queue(server->server, server->queue, NULL);
    for (int i = 0; i < config->num_methods; i++) {
        server->registered_methods[i] =
            grpc_server_register_method(server->server, config->methods[i], NULL,
                                        GRPC_SRM_PAYLOAD_NONE, 0);
        if (!server->registered_methods[i])
            return fcb_fail(FCB_ERR_ARG, "cannot register method %s (listed twice?)",
                            config->methods[i]);
    }
    return FCB_OK;
}

static fcb_status bind_port(fcb_rpc_server *server, const fcb_rpc_server_config *config,
                            int *bound_port)
{
    grpc_server_credentials *credentials = server_credentials(config->tls);
    if (!credentials)
        return fcb_fail(FCB_ERR_ARG, "cannot create server credentials for %s", config->listen);
    int port = grpc_server_add_http2_port(server->server, config->listen, credentials);
    grpc_server_credentials_release(credentials);
    if (port == 0 && fcb_listen_check(config->listen) != FCB_OK)
        return FCB_ERR_IO; /* the check's message says why */
    if (port == 0)
        return fcb_fail(FCB_ERR_IO, "cannot listen on %s (gRPC refused the address)", config->listen);
    if (bound_port)
        *bound_port = port;
    return FCB_OK;
}

static fcb_status arm_all_slots(fcb_rpc_server *server)
{
    for (int method = 0; method < server->num_methods; method++)
        for (int slot = 0; slot < server->slots_per_method; slot++)
            if (arm_slot(server, method) != FCB_OK)
                return FCB_ERR_STATE;
    for (int slot = 0; slot < FCB_RPC_CATCH_ALL_SLOTS; slot++)
        if (arm_slot(server, FCB_RPC_UNREGISTERED) != FCB_OK)
            return FCB_ERR_STATE;
    return FCB_OK;
}

fcb_status fcb_rpc_server_start(const fcb_rpc_server_config *config, fcb_rpc_handler handler,
                                void *context, fcb_rpc_server **out, int *bound_port)
{
    if (!out)
        return fcb_fail(FCB_ERR_ARG, "rpc server start needs an output pointer");
    *out = NULL;
    fcb_status status = check_config(config, handler);
    if (status != FCB_OK)
        return status;
    fcb_rpc_server *server = calloc(1, sizeof *server);
    void **methods = calloc((size_t)config->num_methods + 1, sizeof *methods);
    char **names = calloc((size_t)config->num_methods + 1, sizeof *names);
    int names_ok = names != NULL;
    for (int i = 0; names_ok && i < config->num_methods; i++)
        names_ok = (names[i] = strdup(config->methods[i])) != NULL;
    if (!server || !methods || !names_ok) {
        for (int i = 0; names && i < config->num_methods; i++)
            free(names[i]);
        free(names);
        free(server);
        free(methods);
        return fcb_fail(FCB_ERR_NOMEM, "no memory for the rpc server");
    }
    fcb_rpc_global_init();
    server->registered_methods = methods;
    server->method_names = names;
    server->num_methods = config->num_methods;
    server->request_timeout_ms = config->request_timeout_ms > 0 ? config->request_timeout_ms
                                                                 : FCB_RPC_DEFAULT_REQUEST_TIMEOUT_MS;
    server->last_sweep = gpr_now(GPR_CLOCK_MONOTONIC);
    server->slots_per_method =
        config->slots_per_method > 0 ? config->slots_per_method : FCB_RPC_DEFAULT_SLOTS;
    server->max_message_bytes = config->max_message_bytes;
    server->handler = handler;
    server->context = context;

    status = create_server(server, config);
    if (status == FCB_OK)
        status = bind_port(server, config, bound_port);
    if (status != FCB_OK) {
        /* Never started: destroying the server directly is allowed. */
        if (server->server)
            grpc_server_destroy(server->server);
        if (server->queue) {
            grpc_completion_queue_shutdown(server->queue);
            drain_until_queue_shutdown(server);
        }
        free_server(server);
        return status;
    }
    grpc_server_start(server->server);
    status = arm_all_slots(server);
    if (status != FCB_OK) {
        fcb_fail_context(status, "rpc server on %s", config->listen);
        fcb_rpc_server_destroy(server);
        return status;
    }
    *out = server;
    return FCB_OK;
}
