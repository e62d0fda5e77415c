#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rpc_client.h"
#include "rpc_common.h"
#include "rpc_server.h"
#include "tls_files.h"

/* gRPC status codes, spelled out so the test does not need gRPC headers. */
enum {
    STATUS_OK = 0,
    STATUS_INVALID_ARGUMENT = 3,
    STATUS_DEADLINE_EXCEEDED = 4,
    STATUS_RESOURCE_EXHAUSTED = 8,
    STATUS_UNIMPLEMENTED = 12,
    STATUS_UNAVAILABLE = 14
};

enum {
    METHOD_ECHO,
    METHOD_DEFERRED,
    METHOD_SHARED,
    METHOD_NEVER,
    METHOD_WHOAMI,
    METHOD_FAIL,
    METHOD_TOO_BIG,
    NUM_METHODS
};

static const char *const METHODS[NUM_METHODS] = {
    "/fedcb.Test/Echo",   "/fedcb.Test/Deferred", "/fedcb.Test/Shared", "/fedcb.Test/Never",
    "/fedcb.Test/WhoAmI", "/fedcb.Test/Fail",     "/fedcb.Test/TooBig"};

enum {
    SERVER_MAX_MESSAGE = 64 * 1024,
    CLIENT_MAX_MESSAGE = 1024 * 1024,
    SHARED_PAYLOAD_BYTES = 50 * 1000,
    DEADLINE_MS = 5000,
    SLOTS_PER_METHOD = 2
};

/* ------------------------------------------------------------------ */
/* A server polled by its own thread, with an echo-ish handler.        */

typedef struct {
    fcb_rpc_server *server;
    pthread_t thread;
    atomic_int stop;
    int port;
    char target[64];
    fcb_rpc_payload *shared;
    const uint8_t *shared_bytes;

    /* Server thread only. */
    fcb_rpc_call *deferred;
    char deferred_request[128];

    /* Written by the server thread, read by the test under lock. */
    pthread_mutex_t lock;
    int deferred_deadline_ms;
    int never_calls;
    int whoami_calls;
    fcb_rpc_peer last_peer;
    int too_big_status; /* an fcb_status */
} test_server;

static void handle_deferred(test_server *ts, fcb_rpc_call *call, const uint8_t *request,
                            size_t len)
{
    if (ts->deferred || len >= sizeof ts->deferred_request) {
        fcb_rpc_reply_error(call, 10 /* ABORTED */, "one short deferred call at a time");
        return;
    }
    memcpy(ts->deferred_request, request, len);
    ts->deferred_request[len] = '\0';
    ts->deferred = call;
    pthread_mutex_lock(&ts->lock);
    ts->deferred_deadline_ms = fcb_rpc_call_deadline_ms(call);
    pthread_mutex_unlock(&ts->lock);
}

static void handle_whoami(test_server *ts, fcb_rpc_call *call, const fcb_rpc_peer *peer)
{
    pthread_mutex_lock(&ts->lock);
    ts->last_peer = *peer;
    ts->whoami_calls++;
    pthread_mutex_unlock(&ts->lock);
    const char *identity = peer->num_identities > 0 ? peer->identities[0] : "";
    fcb_rpc_reply(call, (const uint8_t *)identity, strlen(identity));
}

static void handle_too_big(test_server *ts, fcb_rpc_call *call)
{
    uint8_t *big = calloc(SERVER_MAX_MESSAGE + 1, 1);
    /* Locked across the reply so the test, which reads after the client got
     * the answer, sees the stored status. */
    pthread_mutex_lock(&ts->lock);
    ts->too_big_status = (int)fcb_rpc_reply(call, big, SERVER_MAX_MESSAGE + 1);
    pthread_mutex_unlock(&ts->lock);
    free(big);
}

static void test_handler(void *context, fcb_rpc_call *call, int method_index,
                         const uint8_t *request, size_t request_len, const fcb_rpc_peer *peer)
{
    test_server *ts = context;
    switch (method_index) {
    case METHOD_ECHO:
        fcb_rpc_reply(call, request, request_len);
        break;
    case METHOD_DEFERRED:
        handle_deferred(ts, call, request, request_len);
        break;
    case METHOD_SHARED:
        fcb_rpc_reply_payload(call, ts->shared);
        break;
    case METHOD_NEVER:
        pthread_mutex_lock(&ts->lock);
        ts->never_calls++;
        pthread_mutex_unlock(&ts->lock);
        break;
    case METHOD_WHOAMI:
        handle_whoami(ts, call, peer);
        break;
    case METHOD_FAIL:
        fcb_rpc_reply_error(call, STATUS_INVALID_ARGUMENT, "request rejected by test");
        break;
    case METHOD_TOO_BIG:
        handle_too_big(ts, call);
        break;
    default:
        fcb_rpc_reply_error(call, 13 /* INTERNAL */, "unexpected method index");
    }
}

/* Answers the deferred call on the poll after the one that stored it. */
static void answer_deferred(test_server *ts)
{
    if (!ts->deferred)
        return;
    char reply[160];
    int len = snprintf(reply, sizeof reply, "deferred:%s", ts->deferred_request);
    fcb_rpc_reply(ts->deferred, (const uint8_t *)reply, (size_t)len);
    ts->deferred = NULL;
}

static void *server_thread(void *arg)
{
    test_server *ts = arg;
    while (!atomic_load(&ts->stop)) {
        fcb_rpc_server_poll(ts->server, 20);
        answer_deferred(ts);
    }
    return NULL;
}

static fcb_status start_server_with_limit(test_server *ts, const char *listen,
                                          const fcb_tls_files *tls, size_t max_message_bytes)
{
    memset(ts, 0, sizeof *ts);
    pthread_mutex_init(&ts->lock, NULL);
    atomic_init(&ts->stop, 0);
    ts->too_big_status = FCB_OK;
    uint8_t *write_here;
    fcb_status status = fcb_rpc_payload_create(SHARED_PAYLOAD_BYTES, &ts->shared, &write_here);
    if (status != FCB_OK)
        return status;
    for (int i = 0; i < SHARED_PAYLOAD_BYTES; i++)
        write_here[i] = (uint8_t)(i * 7 + 3);
    ts->shared_bytes = write_here;

    fcb_rpc_server_config config = {
        .listen = listen,
        .tls = tls,
        .methods = METHODS,
        .num_methods = NUM_METHODS,
        .max_message_bytes = max_message_bytes,
        .slots_per_method = SLOTS_PER_METHOD,
    };
    status = fcb_rpc_server_start(&config, test_handler, ts, &ts->server, &ts->port);
    if (status != FCB_OK) {
        fcb_rpc_payload_release(ts->shared);
        return status;
    }
    snprintf(ts->target, sizeof ts->target, "127.0.0.1:%d", ts->port);
    pthread_create(&ts->thread, NULL, server_thread, ts);
    return FCB_OK;
}

static fcb_status start_test_server(test_server *ts, const char *listen,
                                    const fcb_tls_files *tls)
{
    return start_server_with_limit(ts, listen, tls, SERVER_MAX_MESSAGE);
}

static void stop_test_server(test_server *ts)
{
    atomic_store(&ts->stop, 1);
    pthread_join(ts->thread, NULL);
    fcb_rpc_server_destroy(ts->server);
    fcb_rpc_payload_release(ts->shared);
    pthread_mutex_destroy(&ts->lock);
}

static int locked_read(test_server *ts, const int *field)
{
    pthread_mutex_lock(&ts->lock);
    int value = *field;
    pthread_mutex_unlock(&ts->lock);
    return value;
}

static void sleep_ms(long ms)
{
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}

/* Waits (up to 10 s) for the server to have seen `wanted` Never calls. */
static int wait_for_never_calls(test_server *ts, int wanted)
{
    for (int i = 0; i < 1000 && locked_read(ts, &ts->never_calls) < wanted; i++)
        sleep_ms(10);
    return locked_read(ts, &ts->never_calls);
}

/* ------------------------------------------------------------------ */
/* Certificates made by certs/make-dev-certs.sh in temp dirs.          */

static char trusted_dir[64];
static char foreign_dir[64];

static int make_certs(char *dir, size_t capacity)
{
    snprintf(dir, capacity, "/tmp/fedcb-test-rpc-XXXXXX");
    if (!mkdtemp(dir))
        return 0;
    char command[512];
    snprintf(command, sizeof command,
             "bash '%s/certs/make-dev-certs.sh' --out '%s' --clients 2 > /dev/null",
             FEDCB_SOURCE_DIR, dir);
    return system(command) == 0;
}

static void remove_dir(const char *dir)
{
    if (!dir[0])
        return;
    char command[256];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    if (system(command) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static int group_setup(void **state)
{
    (void)state;
    fcb_rpc_global_init();
    if (!make_certs(trusted_dir, sizeof trusted_dir) ||
        !make_certs(foreign_dir, sizeof foreign_dir)) {
        fprintf(stderr, "certs/make-dev-certs.sh failed\n");
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    remove_dir(trusted_dir);
    remove_dir(foreign_dir);
    fcb_rpc_global_shutdown();
    return 0;
}

static fcb_tls_files load_tls(const char *dir, const char *name)
{
    fcb_tls_files files;
    fcb_status status = fcb_tls_files_load(&files, dir, name);
    if (status != FCB_OK)
        fail_msg("loading %s from %s: %s", name, dir, fcb_last_error());
    return files;
}

/* ------------------------------------------------------------------ */
/* Fixtures and client helpers.                                        */

typedef struct {
    test_server server;
    fcb_tls_files server_tls;
    int tls;
} fixture;

static int setup_plaintext(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (start_test_server(&f->server, "127.0.0.1:0", NULL) != FCB_OK) {
        fprintf(stderr, "server start: %s\n", fcb_last_error());
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int setup_tls(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->tls = 1;
    if (fcb_tls_files_load(&f->server_tls, trusted_dir, "server") != FCB_OK ||
        start_test_server(&f->server, "127.0.0.1:0", &f->server_tls) != FCB_OK) {
        fprintf(stderr, "TLS server start: %s\n", fcb_last_error());
        fcb_tls_files_free(&f->server_tls);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown_server(void **state)
{
    fixture *f = *state;
    stop_test_server(&f->server);
    fcb_tls_files_free(&f->server_tls);
    free(f);
    return 0;
}

static fcb_rpc_client *open_client_with_limit(const char *target, const fcb_tls_files *tls,
                                              size_t max_message_bytes)
{
    fcb_rpc_client_config config = {
        .target = target, .tls = tls, .tls_target_name = NULL,
        .max_message_bytes = max_message_bytes};
    fcb_rpc_client *client = NULL;
    if (fcb_rpc_client_open(&config, &client) != FCB_OK)
        fail_msg("client open %s: %s", target, fcb_last_error());
    return client;
}

static fcb_rpc_client *open_client(const char *target, const fcb_tls_files *tls)
{
    return open_client_with_limit(target, tls, CLIENT_MAX_MESSAGE);
}

typedef struct {
    fcb_status status;
    fcb_rpc_result result;
    uint8_t *bytes;
    size_t len;
    char error[1024];
} call_outcome;

static call_outcome call_method(fcb_rpc_client *client, const char *method, const void *request,
                                size_t len, int deadline_ms, int wait_for_ready)
{
    call_outcome out;
    memset(&out, 0, sizeof out);
    out.status = fcb_rpc_client_call(client, method, request, len, deadline_ms, wait_for_ready,
                                     &out.bytes, &out.len, &out.result);
    snprintf(out.error, sizeof out.error, "%s", out.status == FCB_OK ? "" : fcb_last_error());
    return out;
}

static call_outcome call_text(fcb_rpc_client *client, const char *method, const char *text)
{
    return call_method(client, method, text, strlen(text), DEADLINE_MS, 0);
}

static void assert_reply_text(call_outcome *out, const char *expected)
{
    if (out->status != FCB_OK)
        fail_msg("call failed: %s", out->error);
    assert_int_equal(out->result.grpc_status, STATUS_OK);
    assert_int_equal(out->len, strlen(expected));
    assert_memory_equal(out->bytes, expected, out->len);
    free(out->bytes);
    out->bytes = NULL;
}

static void assert_failed_with(const call_outcome *out, int grpc_status, const char *method)
{
    assert_int_equal(out->status, FCB_ERR_IO);
    assert_null(out->bytes);
    assert_int_equal(out->result.grpc_status, grpc_status);
    assert_non_null(strstr(out->error, method));
    assert_non_null(strstr(out->error, fcb_rpc_status_name(grpc_status)));
}

/* ------------------------------------------------------------------ */
/* Plaintext behaviour.                                                */

static void test_plaintext_round_trip(void **state)
{
    fixture *f = *state;
    fcb_rpc_client *client = open_client(f->server.target, NULL);

    call_outcome out = call_text(client, METHODS[METHOD_ECHO], "hello fedcb");
    assert_reply_text(&out, "hello fedcb");

    out = call_text(client, METHODS[METHOD_ECHO], "");
    assert_int_equal(out.status, FCB_OK);
    assert_non_null(out.bytes);
    assert_int_equal(out.len, 0);
    free(out.bytes);

    /* Large enough to arrive in several slices. */
    size_t len = 60000;
    uint8_t *request = malloc(len);
    for (size_t i = 0; i < len; i++)
        request[i] = (uint8_t)(i * 31 + 1);
    out = call_method(client, METHODS[METHOD_ECHO], request, len, DEADLINE_MS, 0);
    assert_int_equal(out.status, FCB_OK);
    assert_int_equal(out.len, len);
    assert_memory_equal(out.bytes, request, len);
    free(out.bytes);
    free(request);

    out = call_text(client, METHODS[METHOD_WHOAMI], "");
    assert_reply_text(&out, "");
    pthread_mutex_lock(&f->server.lock);
    assert_int_equal(f->server.last_peer.authenticated, 0);
    assert_int_equal(f->server.last_peer.num_identities, 0);
    pthread_mutex_unlock(&f->server.lock);

    fcb_rpc_client_close(client);
}

static void test_error_status_reaches_client(void **state)
{
    fixture *f = *state;
    fcb_rpc_client *client = open_client(f->server.target, NULL);
    call_outcome out = call_text(client, METHODS[METHOD_FAIL], "x");
    assert_failed_with(&out, STATUS_INVALID_ARGUMENT, METHODS[METHOD_FAIL]);
    assert_string_equal(out.result.details, "request rejected by test");
    assert_non_null(strstr(out.error, "request rejected by test"));
    fcb_rpc_client_close(client);
}

static void test_unknown_method_is_unimplemented(void **state)
{
    fixture *f = *state;
    fcb_rpc_client *client = open_client(f->server.target, NULL);
    /* More calls than catch-all slots: each slot must be re-armed. */
    for (int i = 0; i < 4; i++) {
        call_outcome out = call_text(client, "/fedcb.Test/NoSuchMethod", "?");
        assert_failed_with(&out, STATUS_UNIMPLEMENTED, "/fedcb.Test/NoSuchMethod");
        assert_non_null(strstr(out.result.details, "/fedcb.Test/NoSuchMethod"));
    }
    call_outcome out = call_text(client, METHODS[METHOD_ECHO], "still here");
    assert_reply_text(&out, "still here");
    fcb_rpc_client_close(client);
}

static void test_deferred_reply(void **state)
{
    fixture *f = *state;
    fcb_rpc_client *client = open_client(f->server.target, NULL);
    call_outcome out = call_text(client, METHODS[METHOD_DEFERRED], "later");
    assert_reply_text(&out, "deferred:later");
    int deadline_ms = locked_read(&f->server, &f->server.deferred_deadline_ms);
    assert_in_range(deadline_ms, 1, DEADLINE_MS);
    fcb_rpc_client_close(client);
}

typedef struct {
    fcb_rpc_client *client;
    const char *method;
    int calls;
    const void *request;
    size_t request_len;
    int wait_for_ready;
    int failures;
    call_outcome last; /* of the last call */
} caller_args;

static void *caller_thread(void *arg)
{
    caller_args *args = arg;
    for (int i = 0; i < args->calls; i++) {
        free(args->last.bytes);
        args->last = call_method(args->client, args->method, args->request, args->request_len,
                                 args->wait_for_ready ? 4 * DEADLINE_MS : DEADLINE_MS,
                                 args->wait_for_ready);
        if (args->last.status != FCB_OK)
            args->failures++;
    }
    return NULL;
}

static void test_shared_payload_to_three_calls(void **state)
{
    fixture *f = *state;
    fcb_rpc_client *client = open_client(f->server.target, NULL);
    caller_args callers[3];
    pthread_t threads[3];
    for (int i = 0; i < 3; i++) {
        callers[i] = (caller_args){
            .client = client, .method = METHODS[METHOD_SHARED], .calls = 1, .request = ""};
        pthread_create(&threads[i], NULL, caller_thread, &callers[i]);
    }
    for (int i = 0; i < 3; i++)
        pthread_join(threads[i], NULL);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(callers[i].failures, 0);
        assert_int_equal(callers[i].last.len, SHARED_PAYLOAD_BYTES);
        assert_memory_equal(callers[i].last.bytes, f->server.shared_bytes, SHARED_PAYLOAD_BYTES);
        free(callers[i].last.bytes);
    }
    assert_int_equal(fcb_rpc_payload_size(f->server.shared), SHARED_PAYLOAD_BYTES);
    fcb_rpc_client_close(client);
}

static void test_concurrent_calls_beyond_slots(void **state)
{
    fixture *f = *state;
    fcb_rpc_client *client = open_client(f->server.target, NULL);
    enum { THREADS = 4, CALLS = 25 };
    caller_args callers[THREADS];
    pthread_t threads[THREADS];
    char requests[THREADS][16];
    for (int i = 0; i < THREADS; i++) {
        snprintf(requests[i], sizeof requests[i], "caller-%d", i);
        callers[i] = (caller_args){.client = client,
                                   .method = METHODS[METHOD_ECHO],
                                   .calls = CALLS,
                                   .request = requests[i],
                                   .request_len = strlen(requests[i])};
        pthread_create(&threads[i], NULL, caller_thread, &callers[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(callers[i].failures, 0);
        assert_reply_text(&callers[i].last, requests[i]);
    }
    fcb_rpc_client_close(client);
}

static void test_oversized_messages_are_refused(void **state)
{
    fixture *f = *state;
    fcb_rpc_client *client = open_client(f->server.target, NULL);

    size_t len = SERVER_MAX_MESSAGE + 1;
    uint8_t *request = calloc(len, 1);
    call_outcome out = call_method(client, METHODS[METHOD_ECHO], request, len, DEADLINE_MS, 0);
    free(request);
    assert_failed_with(&out, STATUS_RESOURCE_EXHAUSTED, METHODS[METHOD_ECHO]);

    out = call_text(client, METHODS[METHOD_TOO_BIG], "");
    assert_failed_with(&out, STATUS_RESOURCE_EXHAUSTED, METHODS[METHOD_TOO_BIG]);
    assert_int_equal(locked_read(&f->server, &f->server.too_big_status), FCB_ERR_ARG);

    out = call_text(client, METHODS[METHOD_ECHO], "small is fine");
    assert_reply_text(&out, "small is fine");
    fcb_rpc_client_close(client);
}

/* Above gRPC's 4 MiB receive default, so both sides must apply the limit. */
static void test_large_messages_with_raised_limits(void **state)
{
    (void)state;
    size_t limit = 16u << 20;
    size_t len = 6u << 20;
    test_server ts;
    assert_int_equal(start_server_with_limit(&ts, "127.0.0.1:0", NULL, limit), FCB_OK);
    fcb_rpc_client *client = open_client_with_limit(ts.target, NULL, limit);
    uint8_t *request = malloc(len);
    for (size_t i = 0; i < len; i++)
        request[i] = (uint8_t)(i ^ (i >> 8));
    call_outcome out = call_method(client, METHODS[METHOD_ECHO], request, len, 4 * DEADLINE_MS, 0);
    if (out.status != FCB_OK)
        fail_msg("6 MiB echo: %s", out.error);
    assert_int_equal(out.len, len);
    assert_memory_equal(out.bytes, request, len);
    free(out.bytes);
    free(request);
    fcb_rpc_client_close(client);
    stop_test_server(&ts);
}

static void test_deadline_on_unanswered_call(void **state)
{
    fixture *f = *state;
    fcb_rpc_client *client = open_client(f->server.target, NULL);
    call_outcome out = call_method(client, METHODS[METHOD_NEVER], "z", 1, 1000, 0);
    assert_failed_with(&out, STATUS_DEADLINE_EXCEEDED, METHODS[METHOD_NEVER]);
    /* The server holds the call until teardown destroys it (LSan checks it
     * is freed) and keeps serving meanwhile. */
    assert_int_equal(wait_for_never_calls(&f->server, 1), 1);
    out = call_text(client, METHODS[METHOD_ECHO], "after the deadline");
    assert_reply_text(&out, "after the deadline");
    fcb_rpc_client_close(client);
}

static void test_destroy_answers_waiting_call(void **state)
{
    (void)state;
    test_server ts;
    assert_int_equal(start_test_server(&ts, "127.0.0.1:0", NULL), FCB_OK);
    fcb_rpc_client *client = open_client(ts.target, NULL);
    caller_args caller = {
        .client = client, .method = METHODS[METHOD_NEVER], .calls = 1, .request = "w",
        .request_len = 1};
    pthread_t thread;
    pthread_create(&thread, NULL, caller_thread, &caller);
    assert_int_equal(wait_for_never_calls(&ts, 1), 1);
    stop_test_server(&ts);
    pthread_join(thread, NULL);
    assert_failed_with(&caller.last, STATUS_UNAVAILABLE, METHODS[METHOD_NEVER]);
    assert_string_equal(caller.last.result.details, "server shutting down");
    fcb_rpc_client_close(client);
}

static void test_wait_for_ready(void **state)
{
    (void)state;
    /* Learn a free port, then close it again. */
    test_server ts;
    assert_int_equal(start_test_server(&ts, "127.0.0.1:0", NULL), FCB_OK);
    char target[64];
    snprintf(target, sizeof target, "%s", ts.target);
    stop_test_server(&ts);

    /* Fail-fast by default: no server, UNAVAILABLE at once (not a deadline). */
    fcb_rpc_client *client = open_client(target, NULL);
    call_outcome out = call_method(client, METHODS[METHOD_ECHO], "a", 1, DEADLINE_MS, 0);
    assert_failed_with(&out, STATUS_UNAVAILABLE, METHODS[METHOD_ECHO]);

    /* A waiting call started before the server comes up still succeeds. */
    caller_args caller = {.client = client,
                          .method = METHODS[METHOD_ECHO],
                          .calls = 1,
                          .request = "waited",
                          .request_len = 6,
                          .wait_for_ready = 1};
    pthread_t thread;
    pthread_create(&thread, NULL, caller_thread, &caller);
    sleep_ms(300); /* lets the call start first; the assertions hold either way */
    if (start_test_server(&ts, target, NULL) != FCB_OK)
        fail_msg("restart on %s: %s", target, fcb_last_error());
    pthread_join(thread, NULL);
    stop_test_server(&ts);
    assert_int_equal(caller.failures, 0);
    assert_reply_text(&caller.last, "waited");
    fcb_rpc_client_close(client);
}

/* ------------------------------------------------------------------ */
/* Mutual TLS.                                                         */

static void test_mtls_client_identity(void **state)
{
    fixture *f = *state;
    fcb_tls_files client_tls = load_tls(trusted_dir, "client-1");
    fcb_rpc_client *client = open_client(f->server.target, &client_tls);
    call_outcome out = call_text(client, METHODS[METHOD_WHOAMI], "");
    assert_reply_text(&out, "fedcb-client-1");
    pthread_mutex_lock(&f->server.lock);
    assert_int_equal(f->server.last_peer.authenticated, 1);
    assert_int_equal(f->server.last_peer.num_identities, 1);
    assert_string_equal(f->server.last_peer.identities[0], "fedcb-client-1");
    pthread_mutex_unlock(&f->server.lock);
    fcb_rpc_client_close(client);
    fcb_tls_files_free(&client_tls);
}

static void expect_refused(const char *target, const fcb_tls_files *tls)
{
    fcb_rpc_client *client = open_client(target, tls);
    call_outcome out = call_text(client, METHODS[METHOD_WHOAMI], "");
    assert_failed_with(&out, STATUS_UNAVAILABLE, METHODS[METHOD_WHOAMI]);
    fcb_rpc_client_close(client);
}

static void test_mtls_refuses_unauthenticated_clients(void **state)
{
    fixture *f = *state;
    fcb_tls_files trusted = load_tls(trusted_dir, "client-1");
    fcb_tls_files foreign = load_tls(foreign_dir, "client-1");

    fcb_tls_files no_certificate = {trusted.ca_pem, NULL, NULL};
    expect_refused(f->server.target, &no_certificate);

    /* Trusts the server's CA but presents a certificate of another CA. */
    fcb_tls_files foreign_certificate = {trusted.ca_pem, foreign.cert_pem, foreign.key_pem};
    expect_refused(f->server.target, &foreign_certificate);

    expect_refused(f->server.target, NULL);
    assert_int_equal(locked_read(&f->server, &f->server.whoami_calls), 0);

    fcb_tls_files other_client = load_tls(trusted_dir, "client-0");
    fcb_rpc_client *client = open_client(f->server.target, &other_client);
    call_outcome out = call_text(client, METHODS[METHOD_WHOAMI], "");
    assert_reply_text(&out, "fedcb-client-0");
    fcb_rpc_client_close(client);

    fcb_tls_files_free(&other_client);
    fcb_tls_files_free(&trusted);
    fcb_tls_files_free(&foreign);
}

/* ------------------------------------------------------------------ */
/* Without a server.                                                   */

static void test_tls_files_load_names_missing_path(void **state)
{
    (void)state;
    fcb_tls_files files;
    assert_int_equal(fcb_tls_files_load(&files, "/nonexistent/fedcb-certs", "server"),
                     FCB_ERR_IO);
    assert_non_null(strstr(fcb_last_error(), "/nonexistent/fedcb-certs/ca.crt"));
    assert_null(files.ca_pem);
    assert_null(files.cert_pem);
    assert_null(files.key_pem);

    /* A present CA and certificate but an empty key. */
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/fedcb-test-rpc-XXXXXX");
    assert_non_null(mkdtemp(dir));
    const char *names[] = {"ca.crt", "server.crt", "server.key"};
    for (int i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *file = fopen(path, "w");
        assert_non_null(file);
        if (i < 2)
            fputs("-----BEGIN CERTIFICATE-----\n", file);
        fclose(file);
    }
    assert_int_equal(fcb_tls_files_load(&files, dir, "server"), FCB_ERR_IO);
    assert_non_null(strstr(fcb_last_error(), "server.key"));
    assert_non_null(strstr(fcb_last_error(), "empty"));
    assert_null(files.ca_pem);
    remove_dir(dir);

    assert_int_equal(fcb_tls_files_load(&files, trusted_dir, "client-7"), FCB_ERR_IO);
    assert_non_null(strstr(fcb_last_error(), "client-7.crt"));
}

static void test_is_loopback(void **state)
{
    (void)state;
    const char *loopback[] = {"127.0.0.1:50051", "127.1.2.3:9", "[::1]:50051", "::1",
                              "localhost:50051", "localhost", "LocalHost:1", "ipv4:127.0.0.1:5",
                              "dns:///localhost:7", "[::ffff:127.0.0.1]:8"};
    const char *remote[] = {"0.0.0.0:50051", "10.0.0.1:5", "128.0.0.1:1", "[::]:5", "::",
                            "example.com:443", "localhost.example.com:1", "[::1", "[::1]x", "",
                            ":50051", "[2001:db8::1]:5"};
    for (size_t i = 0; i < sizeof loopback / sizeof loopback[0]; i++)
        if (!fcb_rpc_is_loopback(loopback[i]))
            fail_msg("%s should be loopback", loopback[i]);
    for (size_t i = 0; i < sizeof remote / sizeof remote[0]; i++)
        if (fcb_rpc_is_loopback(remote[i]))
            fail_msg("%s should not be loopback", remote[i]);
    assert_false(fcb_rpc_is_loopback(NULL));
}

static void test_server_start_errors(void **state)
{
    (void)state;
    const char *duplicated[] = {"/fedcb.Test/A", "/fedcb.Test/A"};
    fcb_rpc_server_config config = {.listen = "127.0.0.1:0", .methods = duplicated,
                                    .num_methods = 2};
    fcb_rpc_server *server = NULL;
    assert_int_equal(fcb_rpc_server_start(&config, test_handler, NULL, &server, NULL),
                     FCB_ERR_ARG);
    assert_null(server);
    assert_non_null(strstr(fcb_last_error(), "/fedcb.Test/A"));

    config.num_methods = 1;
    config.listen = "192.0.2.1:0";
    assert_int_equal(fcb_rpc_server_start(&config, test_handler, NULL, &server, NULL),
                     FCB_ERR_IO);
    assert_non_null(strstr(fcb_last_error(), "192.0.2.1:0"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_loopback),
        cmocka_unit_test(test_tls_files_load_names_missing_path),
        cmocka_unit_test(test_server_start_errors),
        cmocka_unit_test_setup_teardown(test_plaintext_round_trip, setup_plaintext,
                                        teardown_server),
        cmocka_unit_test_setup_teardown(test_error_status_reaches_client, setup_plaintext,
                                        teardown_server),
        cmocka_unit_test_setup_teardown(test_unknown_method_is_unimplemented, setup_plaintext,
                                        teardown_server),
        cmocka_unit_test_setup_teardown(test_deferred_reply, setup_plaintext, teardown_server),
        cmocka_unit_test_setup_teardown(test_shared_payload_to_three_calls, setup_plaintext,
                                        teardown_server),
        cmocka_unit_test_setup_teardown(test_concurrent_calls_beyond_slots, setup_plaintext,
                                        teardown_server),
        cmocka_unit_test_setup_teardown(test_oversized_messages_are_refused, setup_plaintext,
                                        teardown_server),
        cmocka_unit_test(test_large_messages_with_raised_limits),
        cmocka_unit_test_setup_teardown(test_deadline_on_unanswered_call, setup_plaintext,
                                        teardown_server),
        cmocka_unit_test(test_destroy_answers_waiting_call),
        cmocka_unit_test(test_wait_for_ready),
        cmocka_unit_test_setup_teardown(test_mtls_client_identity, setup_tls, teardown_server),
        cmocka_unit_test_setup_teardown(test_mtls_refuses_unauthenticated_clients, setup_tls,
                                        teardown_server),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
