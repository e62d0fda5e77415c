#include "rpc_client.h"

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

#include "rpc_common.h"

struct fcb_rpc_client {
    grpc_channel *channel;
    char target[256]; /* for messages */
};

/* Everything one unary call owns until it is finished. */
typedef struct {
    grpc_completion_queue *queue;
    grpc_call *call;
    grpc_byte_buffer *request;
    grpc_byte_buffer *response;
    grpc_metadata_array initial_metadata;
    grpc_metadata_array trailing_metadata;
    grpc_status_code status;
    grpc_slice details;
    const char *error_string;
} unary_call;

static fcb_status check_client_config(const fcb_rpc_client_config *config)
{
    if (!config || !config->target || !*config->target)
        return fcb_fail(FCB_ERR_ARG, "rpc client needs a target");
    if (config->max_message_bytes > INT_MAX)
        return fcb_fail(FCB_ERR_ARG, "max_message_bytes %zu exceeds %d", config->max_message_bytes,
                        INT_MAX);
    const fcb_tls_files *tls = config->tls;
    if (tls && !tls->ca_pem)
        return fcb_fail(FCB_ERR_ARG, "rpc client TLS for %s needs a CA", config->target);
    if (tls && (!tls->cert_pem) != (!tls->key_pem))
        return fcb_fail(FCB_ERR_ARG,
                        "rpc client TLS for %s needs both a certificate and a key, or neither",
                        config->target);
    return FCB_OK;
}

static grpc_channel_credentials *client_credentials(const fcb_tls_files *tls)
{
    if (!tls)
        return grpc_insecure_credentials_create();
    if (!tls->cert_pem)
        return grpc_ssl_credentials_create(tls->ca_pem, NULL, NULL, NULL);
    grpc_ssl_pem_key_cert_pair identity = {tls->key_pem, tls->cert_pem};
    return grpc_ssl_credentials_create(tls->ca_pem, &identity, NULL, NULL);
}

fcb_status fcb_rpc_client_open(const fcb_rpc_client_config *config, fcb_rpc_client **out)
{
    if (!out)
        return fcb_fail(FCB_ERR_ARG, "rpc client open needs an output pointer");
    *out = NULL;
    fcb_status status = check_client_config(config);
    if (status != FCB_OK)
        return status;
    fcb_rpc_client *client = calloc(1, sizeof *client);
    if (!client)
        return fcb_fail(FCB_ERR_NOMEM, "no memory for the rpc client of %s", config->target);
    snprintf(client->target, sizeof client->target, "%s", config->target);

    grpc_arg args[7];
    size_t num_args = 0;
    /* Keepalive (docs/deploy.md, "Connection limits"): a ping every 30 s,
     * also while the client trains between calls, and a connection whose
     * coordinator does not answer one within 10 s is dropped (the next call
     * reconnects). 30 s stays above the coordinator's 10 s floor for client
     * pings, so it never counts them as abuse. */
    static const struct {
        const char *key;
        int value;
    } keepalive[] = {{GRPC_ARG_KEEPALIVE_TIME_MS, 30000},
                     {GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000},
                     {GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1},
                     {GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0}};
    for (size_t i = 0; i < sizeof keepalive / sizeof keepalive[0]; i++) {
        args[num_args].type = GRPC_ARG_INTEGER;
        args[num_args].key = (char *)keepalive[i].key;
        args[num_args].value.integer = keepalive[i].value;
        num_args++;
    }
    if (config->max_message_bytes > 0) {
        args[num_args].type = GRPC_ARG_INTEGER;
        args[num_args].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
        args[num_args].value.integer = (int)config->max_message_bytes;
        num_args++;
        args[num_args] = args[num_args - 1];
        args[num_args].key = (char *)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
        num_args++;
    }
    if (config->tls && config->tls_target_name) {
        args[num_args].type = GRPC_ARG_STRING;
        args[num_args].key = (char *)GRPC_SSL_TARGET_NAME_OVERRIDE_ARG;
        args[num_args].value.string = (char *)config->tls_target_name;
        num_args++;
    }
    grpc_channel_args channel_args = {num_args, args};

    fcb_rpc_global_init();
    grpc_channel_credentials *credentials = client_credentials(config->tls);
    if (credentials)
        client->channel = grpc_channel_create(config->target, credentials, &channel_args);
    if (credentials)
        grpc_channel_credentials_release(credentials);
    if (!client->channel) {
        free(client);
        fcb_rpc_global_shutdown();
        return fcb_fail(FCB_ERR_IO, "cannot create a channel to %s", config->target);
    }
    *out = client;
    return FCB_OK;
}

void fcb_rpc_client_close(fcb_rpc_client *client)
{
    if (!client)
        return;
    grpc_channel_destroy(client->channel);
    free(client);
    fcb_rpc_global_shutdown();
}

static grpc_byte_buffer *message_from_bytes(const uint8_t *bytes, size_t len)
{
    grpc_slice slice = grpc_slice_malloc(len);
    if (len > 0)
        memcpy(GRPC_SLICE_START_PTR(slice), bytes, len);
    grpc_byte_buffer *message = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return message;
}

static void finish_unary_call(unary_call *unary)
{
    if (unary->request)
        grpc_byte_buffer_destroy(unary->request);
    if (unary->response)
        grpc_byte_buffer_destroy(unary->response);
    grpc_metadata_array_destroy(&unary->initial_metadata);
    grpc_metadata_array_destroy(&unary->trailing_metadata);
    grpc_slice_unref(unary->details);
    gpr_free((void *)unary->error_string);
    if (unary->call)
        grpc_call_unref(unary->call);
    grpc_completion_queue_shutdown(unary->queue);
    while (grpc_completion_queue_pluck(unary->queue, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
               .type != GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(unary->queue);
}

/* Sends the request and waits for the status; the deadline bounds the wait. */
static fcb_status run_unary_call(fcb_rpc_client *client, unary_call *unary, const char *method,
                                 int deadline_ms, int wait_for_ready)
{
    gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                         gpr_time_from_millis(deadline_ms, GPR_TIMESPAN));
    grpc_slice method_slice = grpc_slice_from_copied_string(method);
    unary->call = grpc_channel_create_call(client->channel, NULL, GRPC_PROPAGATE_DEFAULTS,
                                           unary->queue, method_slice, NULL, deadline, NULL);
    grpc_slice_unref(method_slice);
    if (!unary->call)
        return fcb_fail(FCB_ERR_IO, "cannot create call %s on %s", method, client->target);

    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = 0;
    ops[0].flags = GRPC_INITIAL_METADATA_WAIT_FOR_READY_EXPLICITLY_SET;
    if (wait_for_ready)
        ops[0].flags |= GRPC_INITIAL_METADATA_WAIT_FOR_READY;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = unary->request;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &unary->initial_metadata;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &unary->response;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &unary->trailing_metadata;
    ops[5].data.recv_status_on_client.status = &unary->status;
    ops[5].data.recv_status_on_client.status_details = &unary->details;
    ops[5].data.recv_status_on_client.error_string = &unary->error_string;

    grpc_call_error error = grpc_call_start_batch(unary->call, ops, 6, unary, NULL);
    if (error != GRPC_CALL_OK)
        return fcb_fail(FCB_ERR_IO, "cannot start call %s on %s: %s", method, client->target,
                        grpc_call_error_to_string(error));
    grpc_event event = grpc_completion_queue_pluck(unary->queue, unary,
                                                   gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (event.type != GRPC_OP_COMPLETE)
        return fcb_fail(FCB_ERR_IO, "call %s on %s did not complete", method, client->target);
    return FCB_OK;
}

static void fill_result(fcb_rpc_result *result, int grpc_status, const grpc_slice *details)
{
    result->grpc_status = grpc_status;
    size_t len = details ? GRPC_SLICE_LENGTH(*details) : 0;
    if (len > sizeof result->details - 1)
        len = sizeof result->details - 1;
    if (len > 0)
        memcpy(result->details, GRPC_SLICE_START_PTR(*details), len);
    result->details[len] = '\0';
}

fcb_status fcb_rpc_client_call(fcb_rpc_client *client, const char *method, const uint8_t *request,
                               size_t len, int deadline_ms, int wait_for_ready, uint8_t **response,
                               size_t *response_len, fcb_rpc_result *result)
{
    fcb_rpc_result local_result;
    if (!result)
        result = &local_result;
    result->grpc_status = GRPC_STATUS_UNKNOWN;
    result->details[0] = '\0';
    if (response)
        *response = NULL;
    if (response_len)
        *response_len = 0;
    if (!client || !method || method[0] != '/' || !response || !response_len ||
        (!request && len > 0))
        return fcb_fail(FCB_ERR_ARG, "rpc call %s: bad arguments", method ? method : "(null)");
    if (deadline_ms <= 0)
        return fcb_fail(FCB_ERR_ARG, "rpc call %s: deadline %d ms must be positive", method,
                        deadline_ms);

    unary_call unary;
    memset(&unary, 0, sizeof unary);
    unary.queue = grpc_completion_queue_create_for_pluck(NULL);
    unary.request = message_from_bytes(request, len);
    unary.status = GRPC_STATUS_UNKNOWN;
    unary.details = grpc_empty_slice();
    grpc_metadata_array_init(&unary.initial_metadata);
    grpc_metadata_array_init(&unary.trailing_metadata);

    fcb_status status = run_unary_call(client, &unary, method, deadline_ms, wait_for_ready);
    if (status == FCB_OK) {
        fill_result(result, unary.status, &unary.details);
        if (unary.status == GRPC_STATUS_OK)
            status = fcb_rpc_copy_message(unary.response, response, response_len);
        else
            status = fcb_fail(FCB_ERR_IO, "rpc %s to %s failed: %s: %s", method, client->target,
                              fcb_rpc_status_name(unary.status), result->details);
    }
    finish_unary_call(&unary);
    return status;
}
