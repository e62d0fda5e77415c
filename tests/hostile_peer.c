/* A hostile peer of `fedcb coordinator`, for tests/cli_hostile.sh (loopback
 * only). Each mode makes a bounded number of attempts, prints one line
 * "MODE: attempts=N refused=N unexpected=N (details)" and exits 0 when every
 * attempt ended as expected (the coordinator refused, closed or timed it
 * out), 1 otherwise. Modes:
 *
 *   idle PORT N SECONDS          N TCP connections that never speak, held
 *                                SECONDS; each one the server closes is
 *                                counted and opened again
 *   half-hello PORT N SECONDS    N connections that send the first half of a
 *                                TLS ClientHello and stall
 *   random PORT N                N connections, each sending 2 KiB of random
 *                                bytes; the server must close every one
 *                                (fewer if the coordinator stops listening)
 *   garbage PORT TLS_DIR ID      random bytes as the body of each method
 *   oversized PORT TLS_DIR ID HASH   a SubmitUpdate over the run's limit
 *   replay PORT TLS_DIR ID HASH  once round 1 is closed, a well-formed
 *                                update for round 1 (index 0)
 *   stall PORT TLS_DIR ID HASH SECONDS   registers, then opens a
 *                                SubmitUpdate call, never sends its message
 *                                and holds it SECONDS
 *
 * The gRPC modes use the certificate TLS_DIR/client-ID.crt of the test CA. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "fedcb.pb-c.h"
#include "rpc_client.h"
#include "rpc_common.h"
#include "tls_files.h"
#include "wire_check.h"

enum { STATUS_INVALID_ARGUMENT = 3, STATUS_RESOURCE_EXHAUSTED = 8, STATUS_FAILED_PRECONDITION = 9 };

static int port;

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void report(const char *mode, int attempts, int refused, int unexpected, const char *details)
{
    printf("%s: attempts=%d refused=%d unexpected=%d (%s)\n", mode, attempts, refused, unexpected, details);
    fflush(stdout);
}

/* ---- raw TCP ---- */

static int connect_loopback(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons((uint16_t)port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        int refused = errno == ECONNREFUSED;
        close(fd);
        return refused ? -2 : -1;
    }
    return fd;
}

/* 1 once the server closed fd (EOF or reset); whatever it sent is read. */
static int closed_by_server(int fd)
{
    char buf[4096];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0)
            return 1;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : 1;
    }
}

/* The first 64 bytes of a TLS 1.2 ClientHello record that announces 512. */
static const unsigned char HALF_HELLO[] = {
    0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
    0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
    0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x00, 0x00, 0x20, 0x13, 0x01,
    0x13, 0x02, 0x13, 0x03, 0xc0, 0x2b, 0xc0, 0x2f, 0xc0, 0x2c, 0xc0, 0x30, 0xcc, 0xa9, 0xcc, 0xa8};

/* Holds n connections for seconds (each sends prefix first); one the
 * server closes is counted and replaced. Ends early once nothing listens
 * on the port any more (the coordinator finished its run). */
static int hold_connections(const char *mode, int n, double seconds, const unsigned char *prefix,
                            size_t prefix_len)
{
    int *fds = malloc((size_t)n * sizeof *fds);
    if (!fds)
        return 1;
    int attempts = 0, closed = 0, failed = 0, listener_gone = 0;
    double start = now_seconds(), end = start + seconds;
    for (int i = 0; i < n; i++)
        fds[i] = -1;
    while (!listener_gone && now_seconds() < end) {
        for (int i = 0; i < n; i++) {
            if (fds[i] >= 0 && closed_by_server(fds[i])) {
                close(fds[i]);
                fds[i] = -1;
                closed++;
            }
            if (fds[i] < 0) {
                attempts++;
                fds[i] = connect_loopback();
                if (fds[i] == -2) {
                    attempts--;
                    listener_gone = 1;
                    break;
                }
                if (fds[i] < 0)
                    failed++;
                else if (prefix_len && send(fds[i], prefix, prefix_len, MSG_NOSIGNAL) < 0)
                    failed++;
            }
        }
        sleep_ms(200);
    }
    int still_open = 0;
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0) {
            still_open++;
            close(fds[i]);
        }
    free(fds);
    char details[200];
    snprintf(details, sizeof details,
             "%d closed by the coordinator, %d still open at the end, %d connect failures; %s after %.1f s", closed,
             still_open, failed, listener_gone ? "the coordinator stopped listening" : "held", now_seconds() - start);
    /* A connect failure means the coordinator stopped accepting. */
    report(mode, attempts, closed, failed, details);
    return failed == 0 ? 0 : 1;
}

static int random_bytes(int n)
{
    unsigned int seed = 12345;
    int closed = 0, unexpected = 0, attempts = 0;
    for (int i = 0; i < n; i++) {
        int fd = connect_loopback();
        if (fd == -2)
            break; /* the coordinator finished its run */
        attempts++;
        if (fd < 0) {
            unexpected++;
            continue;
        }
        unsigned char junk[2048];
        for (size_t j = 0; j < sizeof junk; j++)
            junk[j] = (unsigned char)(rand_r(&seed) >> 7);
        send(fd, junk, sizeof junk, MSG_NOSIGNAL);
        /* The server must close it; 30 s is a hang guard only. */
        struct pollfd p = {fd, POLLIN, 0};
        double end = now_seconds() + 30.0;
        int done = 0;
        while (!done && now_seconds() < end) {
            if (poll(&p, 1, 1000) > 0)
                done = closed_by_server(fd);
        }
        if (done)
            closed++;
        else
            unexpected++;
        close(fd);
    }
    char details[96];
    snprintf(details, sizeof details, "%d closed by the coordinator", closed);
    report("random", attempts, closed, unexpected, details);
    return unexpected == 0 ? 0 : 1;
}

/* ---- gRPC with a client certificate ---- */

typedef struct {
    fcb_tls_files tls;
    fcb_rpc_client *client;
    uint32_t id;
    const char *hash;
} peer;

static int open_peer(peer *p, const char *tls_dir, uint32_t id, const char *hash)
{
    memset(p, 0, sizeof *p);
    p->id = id;
    p->hash = hash;
    char name[32], target[64];
    snprintf(name, sizeof name, "client-%u", id);
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    fcb_rpc_client_config config = {.target = target, .tls = &p->tls};
    if (fcb_tls_files_load(&p->tls, tls_dir, name) != FCB_OK || fcb_rpc_client_open(&config, &p->client) != FCB_OK) {
        fprintf(stderr, "hostile_peer: %s\n", fcb_last_error());
        fcb_tls_files_free(&p->tls);
        return 1;
    }
    return 0;
}

static void close_peer(peer *p)
{
    fcb_rpc_client_close(p->client);
    fcb_tls_files_free(&p->tls);
}

/* One call; returns its gRPC status (0 = OK); *reply (may be NULL) gets the
 * response bytes of an OK call, which the caller frees. */
static int call(peer *p, const char *method, const uint8_t *body, size_t len, uint8_t **reply, size_t *reply_len,
                char *details, size_t details_size)
{
    uint8_t *response = NULL;
    size_t response_len = 0;
    fcb_rpc_result result;
    fcb_rpc_client_call(p->client, method, body, len, 30000, 1, &response, &response_len, &result);
    if (details) {
        size_t n = strnlen(result.details, details_size - 1);
        memcpy(details, result.details, n);
        details[n] = '\0';
    }
    if (reply) {
        *reply = response;
        *reply_len = response_len;
    } else {
        free(response);
    }
    return result.grpc_status;
}

static int pack_and_call(peer *p, const char *method, const ProtobufCMessage *m, uint8_t **reply, size_t *reply_len,
                         char *details, size_t details_size)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *bytes = malloc(n ? n : 1);
    protobuf_c_message_pack(m, bytes);
    int status = call(p, method, bytes, n, reply, reply_len, details, details_size);
    free(bytes);
    return status;
}

/* Registers; *reply_out (may be NULL) receives the decoded reply. */
static int register_peer(peer *p, Fedcb__RegisterReply **reply_out)
{
    Fedcb__RegisterRequest m = FEDCB__REGISTER_REQUEST__INIT;
    m.client_id = p->id;
    m.protocol_version = FCB_PROTOCOL_VERSION;
    m.config_hash = (char *)p->hash;
    uint8_t *reply;
    size_t reply_len;
    char details[256];
    int status = pack_and_call(p, FCB_RPC_REGISTER, &m.base, &reply, &reply_len, details, sizeof details);
    if (status != 0) {
        fprintf(stderr, "hostile_peer: RegisterClient failed: %s %s\n", fcb_rpc_status_name(status), details);
        return 1;
    }
    Fedcb__RegisterReply *r = fedcb__register_reply__unpack(NULL, reply_len, reply);
    free(reply);
    if (!r)
        return 1;
    if (reply_out)
        *reply_out = r;
    else
        fedcb__register_reply__free_unpacked(r, NULL);
    return 0;
}

static int garbage(peer *p)
{
    static const char *const methods[] = {FCB_RPC_REGISTER, FCB_RPC_GET_TASK, FCB_RPC_SUBMIT_UPDATE, FCB_RPC_STATUS};
    unsigned int seed = 777;
    int refused = 0, unexpected = 0, attempts = 0;
    char summary[512] = "";
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        /* 0xff bytes first: a field number 0 with an invalid wire type is
         * never a valid message, whatever follows. */
        uint8_t junk[300];
        junk[0] = 0xff;
        junk[1] = 0xff;
        for (size_t j = 2; j < sizeof junk; j++)
            junk[j] = (uint8_t)(rand_r(&seed) >> 7);
        char details[256];
        int status = call(p, methods[i], junk, sizeof junk, NULL, NULL, details, sizeof details);
        attempts++;
        if (status == STATUS_INVALID_ARGUMENT)
            refused++;
        else
            unexpected++;
        size_t used = strlen(summary);
        snprintf(summary + used, sizeof summary - used, "%s%s %s", i ? "; " : "", strrchr(methods[i], '/') + 1,
                 fcb_rpc_status_name(status));
    }
    report("garbage", attempts, refused, unexpected, summary);
    return unexpected == 0 ? 0 : 1;
}

static int oversized(peer *p)
{
    Fedcb__RegisterReply *r;
    if (register_peer(p, &r) != 0)
        return 1;
    size_t limit = (size_t)r->max_message_bytes;
    fedcb__register_reply__free_unpacked(r, NULL);
    size_t len = limit + (1u << 20);
    uint8_t *big = calloc(len, 1);
    if (!big)
        return 1;
    char details[256], summary[600];
    int status = call(p, FCB_RPC_SUBMIT_UPDATE, big, len, NULL, NULL, details, sizeof details);
    free(big);
    snprintf(summary, sizeof summary, "%zu bytes against a %zu-byte limit: %s %s", len, limit,
             fcb_rpc_status_name(status), details);
    int ok = status == STATUS_RESOURCE_EXHAUSTED;
    report("oversized", 1, ok, !ok, summary);
    return ok ? 0 : 1;
}

static uint32_t rounds_done(peer *p)
{
    Fedcb__StatusRequest m = FEDCB__STATUS_REQUEST__INIT;
    uint8_t *reply;
    size_t reply_len;
    if (pack_and_call(p, FCB_RPC_STATUS, &m.base, &reply, &reply_len, NULL, 0) != 0)
        return 0;
    Fedcb__StatusReply *r = fedcb__status_reply__unpack(NULL, reply_len, reply);
    free(reply);
    uint32_t done = r ? r->round : 0;
    if (r)
        fedcb__status_reply__free_unpacked(r, NULL);
    return done;
}

static int replay(peer *p)
{
    Fedcb__RegisterReply *r;
    if (register_peer(p, &r) != 0)
        return 1;
    size_t num_params = (size_t)r->num_params;
    fedcb__register_reply__free_unpacked(r, NULL);
    double give_up = now_seconds() + 120.0; /* hang guard */
    while (rounds_done(p) < 1 && now_seconds() < give_up)
        sleep_ms(20);
    float *delta = calloc(num_params, sizeof *delta);
    Fedcb__ClientMetrics metrics = FEDCB__CLIENT_METRICS__INIT;
    metrics.reward_sum = 1.0;
    metrics.propensity_sum = 1.0;
    metrics.steps = 1;
    Fedcb__UpdateRequest m = FEDCB__UPDATE_REQUEST__INIT;
    m.client_id = p->id;
    m.round = 0;
    m.examples = 1;
    m.n_delta = num_params;
    m.delta = delta;
    m.metrics = &metrics;
    m.config_hash = (char *)p->hash;
    char details[256], summary[600];
    int status = pack_and_call(p, FCB_RPC_SUBMIT_UPDATE, &m.base, NULL, NULL, details, sizeof details);
    free(delta);
    snprintf(summary, sizeof summary, "round 1 update after round 1 closed: %s %s", fcb_rpc_status_name(status),
             details);
    int ok = status == STATUS_FAILED_PRECONDITION;
    report("replay", 1, ok, !ok, summary);
    return ok ? 0 : 1;
}

/* A SubmitUpdate call with its initial metadata sent and no message, no
 * half-close and no deadline of its own: only the coordinator can end it. */
static int stall(peer *p, double hold_seconds)
{
    if (register_peer(p, NULL) != 0)
        return 1;
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    grpc_channel_credentials *credentials =
        grpc_ssl_credentials_create(p->tls.ca_pem, &(grpc_ssl_pem_key_cert_pair){p->tls.key_pem, p->tls.cert_pem},
                                    NULL, NULL);
    grpc_channel *channel = grpc_channel_create(target, credentials, NULL);
    grpc_channel_credentials_release(credentials);
    grpc_completion_queue *queue = grpc_completion_queue_create_for_pluck(NULL);
    grpc_slice method = grpc_slice_from_static_string(FCB_RPC_SUBMIT_UPDATE);
    grpc_call *c = grpc_channel_create_call(channel, NULL, GRPC_PROPAGATE_DEFAULTS, queue, method, NULL,
                                            gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    grpc_metadata_array initial, trailing;
    grpc_metadata_array_init(&initial);
    grpc_metadata_array_init(&trailing);
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    grpc_op send, receive;
    memset(&send, 0, sizeof send);
    memset(&receive, 0, sizeof receive);
    send.op = GRPC_OP_SEND_INITIAL_METADATA;
    receive.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    receive.data.recv_status_on_client.trailing_metadata = &trailing;
    receive.data.recv_status_on_client.status = &status;
    receive.data.recv_status_on_client.status_details = &details;
    int ended = 0;
    if (grpc_call_start_batch(c, &send, 1, &send, NULL) == GRPC_CALL_OK &&
        grpc_call_start_batch(c, &receive, 1, &receive, NULL) == GRPC_CALL_OK) {
        /* gRPC 1.51's client does not complete this call when the server
         * answers it trailers-only and resets the stream (seen with
         * GRPC_TRACE=http), so the call is held for hold_seconds and the
         * test reads the coordinator's log for its refusal. */
        gpr_timespec guard = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                          gpr_time_from_millis((int64_t)(hold_seconds * 1000), GPR_TIMESPAN));
        grpc_event event = grpc_completion_queue_pluck(queue, &receive, guard, NULL);
        ended = event.type == GRPC_OP_COMPLETE;
        if (!ended)
            grpc_call_cancel(c, NULL);
        else
            grpc_completion_queue_pluck(queue, &send, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (!ended)
            grpc_completion_queue_pluck(queue, &receive, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    }
    char *text = grpc_slice_to_c_string(details);
    char summary[400];
    snprintf(summary, sizeof summary, "SubmitUpdate with no message, held %.0f s: %s %s", hold_seconds,
             ended ? fcb_rpc_status_name(status) : "no status reached this client;", ended ? text : "see the coordinator's log");
    gpr_free(text);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial);
    grpc_metadata_array_destroy(&trailing);
    grpc_call_unref(c);
    grpc_completion_queue_shutdown(queue);
    while (grpc_completion_queue_pluck(queue, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(queue);
    grpc_channel_destroy(channel);
    int unexpected = ended && status != GRPC_STATUS_DEADLINE_EXCEEDED;
    report("stall", 1, ended && !unexpected, unexpected, summary);
    return unexpected ? 1 : 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: hostile_peer idle|half-hello PORT N SECONDS | random PORT N | "
                    "garbage|oversized|replay PORT TLS_DIR ID [HASH] | stall PORT TLS_DIR ID HASH SECONDS\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return usage();
    const char *mode = argv[1];
    port = atoi(argv[2]);
    if (strcmp(mode, "idle") == 0 && argc == 5)
        return hold_connections(mode, atoi(argv[3]), atof(argv[4]), NULL, 0);
    if (strcmp(mode, "half-hello") == 0 && argc == 5)
        return hold_connections(mode, atoi(argv[3]), atof(argv[4]), HALF_HELLO, sizeof HALF_HELLO);
    if (strcmp(mode, "random") == 0)
        return random_bytes(atoi(argv[3]));
    if (argc < 5)
        return usage();
    peer p;
    if (open_peer(&p, argv[3], (uint32_t)atoi(argv[4]), argc > 5 ? argv[5] : "") != 0)
        return 1;
    int rc;
    if (strcmp(mode, "garbage") == 0)
        rc = garbage(&p);
    else if (strcmp(mode, "oversized") == 0)
        rc = oversized(&p);
    else if (strcmp(mode, "replay") == 0)
        rc = replay(&p);
    else if (strcmp(mode, "stall") == 0)
        rc = argc > 6 ? stall(&p, atof(argv[6])) : usage();
    else
        rc = usage();
    close_peer(&p);
    return rc;
}
