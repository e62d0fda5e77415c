#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "config_file.h"
#include "rpc_client.h"
#include "wire_check.h"

/* The coordinator (the `fedcb coordinator` command) runs in a thread of
 * this test; the test plays its three
 * clients over a real gRPC connection and sends every kind of bad update,
 * checking the status and the reason each gets, then completes the run with
 * one good update and checks that only that one entered the aggregate. */

enum { STATUS_INVALID_ARGUMENT = 3, STATUS_RESOURCE_EXHAUSTED = 8, STATUS_FAILED_PRECONDITION = 9 };
enum { NUM_CLIENTS = 3 };

typedef struct {
    fcb_config config;
    char *argv[16];
    int argc;
    int exit_status;
} coordinator_thread;

static void *run_coordinator(void *arg)
{
    coordinator_thread *ct = arg;
    ct->exit_status = fcb_command_coordinator(ct->argc, ct->argv);
    return NULL;
}

typedef struct {
    fcb_rpc_client *rpc;
    char hash[65];
    size_t num_params;
} test_client;

/* One call; returns the gRPC status and leaves the details in details. */
static int call_raw(test_client *tc, const char *method, const uint8_t *bytes, size_t len, uint8_t **resp,
                    size_t *resp_len, char *details)
{
    fcb_rpc_result result;
    uint8_t *r = NULL;
    size_t rl = 0;
    fcb_rpc_client_call(tc->rpc, method, bytes, len, 20000, 1, &r, &rl, &result);
    snprintf(details, 512, "%s", result.details);
    if (resp) {
        *resp = r;
        *resp_len = rl;
    } else {
        free(r);
    }
    return result.grpc_status;
}

static int call_message(test_client *tc, const char *method, const ProtobufCMessage *m, uint8_t **resp,
                        size_t *resp_len, char *details)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(n + 1);
    protobuf_c_message_pack(m, buf);
    int status = call_raw(tc, method, buf, n, resp, resp_len, details);
    free(buf);
    return status;
}

static int register_client(test_client *tc, uint32_t id, const char *hash, char *details)
{
    Fedcb__RegisterRequest m = FEDCB__REGISTER_REQUEST__INIT;
    m.client_id = id;
    m.protocol_version = FCB_PROTOCOL_VERSION;
    m.config_hash = (char *)hash;
    return call_message(tc, FCB_RPC_REGISTER, &m.base, NULL, NULL, details);
}

/* 1 if the client has a task this round, 0 if told to wait. */
static int has_task(test_client *tc, uint32_t id, uint32_t *round)
{
    Fedcb__TaskRequest m = FEDCB__TASK_REQUEST__INIT;
    m.client_id = id;
    m.config_hash = tc->hash;
    m.wait_ms = 300;
    m.have_deployed_version = -1;
    m.have_current_version = -1;
    uint8_t *resp;
    size_t len;
    char details[512];
    assert_int_equal(call_message(tc, FCB_RPC_GET_TASK, &m.base, &resp, &len, details), 0);
    Fedcb__TaskReply *t = fedcb__task_reply__unpack(NULL, len, resp);
    free(resp);
    assert_non_null(t);
    int train = t->kind == FEDCB__TASK_REPLY__KIND__TRAIN;
    if (train)
        assert_int_equal(t->n_current_params, tc->num_params);
    *round = t->round;
    fedcb__task_reply__free_unpacked(t, NULL);
    return train;
}

static int submit(test_client *tc, uint32_t id, uint32_t round, const float *delta, size_t n, uint64_t examples,
                  char *details)
{
    Fedcb__ClientMetrics metrics = FEDCB__CLIENT_METRICS__INIT;
    Fedcb__UpdateRequest m = FEDCB__UPDATE_REQUEST__INIT;
    m.client_id = id;
    m.round = round;
    m.examples = examples;
    m.n_delta = n;
    m.delta = (float *)delta;
    m.metrics = &metrics;
    m.config_hash = tc->hash;
    return call_message(tc, FCB_RPC_SUBMIT_UPDATE, &m.base, NULL, NULL, details);
}

static void expect(int status, int expected_status, const char *details, const char *needle)
{
    print_message("   status %d: %s\n", status, details);
    assert_int_equal(status, expected_status);
    assert_non_null(strstr(details, needle));
}

static void test_bad_updates_are_refused(void **state)
{
    (void)state;
    char dir[] = "/tmp/fedcb-netco-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char port_file[256], out_dir[256], config_path[256];
    snprintf(port_file, sizeof port_file, "%s/port", dir);
    snprintf(out_dir, sizeof out_dir, "%s/out", dir);
    snprintf(config_path, sizeof config_path, "%s/run.ini", dir);

    coordinator_thread ct;
    memset(&ct, 0, sizeof ct);
    fcb_config_default(&ct.config);
    const char *sets[] = {"run.rounds=1", "run.wall_clock=false", "data.synthetic_train=600",
                          "data.synthetic_test=200", "clients.num_clients=3", "clients.clients_per_round=2",
                          "clients.examples_per_round=20", "server.update_norm_bound=10", "network.min_clients=3",
                          "network.poll_ms=300", "network.linger=0"};
    FILE *ini = fopen(config_path, "w");
    assert_non_null(ini);
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        assert_int_equal(fcb_config_set(&ct.config, sets[i]), FCB_OK);
        const char *dot = strchr(sets[i], '.'), *eq = strchr(sets[i], '=');
        fprintf(ini, "[%.*s]\n%.*s = %s\n", (int)(dot - sets[i]), sets[i], (int)(eq - dot - 1), dot + 1, eq + 1);
    }
    fclose(ini);
    /* Writable copies of the literals: a command takes main's char **argv. */
#define ARG(text) ((char[]){text})
    char *argv[] = {ARG("fedcb"), ARG("coordinator"), ARG("--config"), config_path, ARG("--listen"), ARG("127.0.0.1:0"),
                    ARG("--insecure"), ARG("--out"), out_dir, ARG("--port-file"), port_file};
#undef ARG
    ct.argc = (int)(sizeof argv / sizeof argv[0]);
    memcpy(ct.argv, argv, sizeof argv);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, run_coordinator, &ct), 0);
    int port = 0;
    for (int i = 0; i < 600 && port == 0; i++) {
        FILE *fp = fopen(port_file, "r");
        if (fp) {
            if (fscanf(fp, "%d", &port) != 1)
                port = 0;
            fclose(fp);
        }
        if (port == 0)
            nanosleep(&(struct timespec){0, 100000000}, NULL);
    }
    assert_true(port > 0);

    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    test_client tc = {0};
    tc.num_params = (size_t)(20 * 10 + 10); /* linear, d = 20, K = 10 */
    fcb_config_hash(&ct.config, tc.hash);
    fcb_rpc_client_config cc = {.target = target, .max_message_bytes = 16 << 20};
    assert_int_equal(fcb_rpc_client_open(&cc, &tc.rpc), FCB_OK);
    char details[512];

    expect(call_raw(&tc, FCB_RPC_REGISTER, (const uint8_t *)"\xff\xff\xff", 3, NULL, NULL, details),
           STATUS_INVALID_ARGUMENT, details, "not a RegisterRequest");
    expect(register_client(&tc, 0, "0123", details), STATUS_INVALID_ARGUMENT, details, "config hash");
    expect(register_client(&tc, 7, tc.hash, details), STATUS_INVALID_ARGUMENT, details, "client id 7 is out of range");
    for (uint32_t id = 0; id < NUM_CLIENTS; id++)
        assert_int_equal(register_client(&tc, id, tc.hash, details), 0);

    /* The round opens with all three registered: two are sampled. */
    int sampled[NUM_CLIENTS];
    uint32_t round = 0;
    int other = -1, first = -1, second = -1;
    for (uint32_t id = 0; id < NUM_CLIENTS; id++) {
        sampled[id] = has_task(&tc, id, &round);
        if (!sampled[id])
            other = (int)id;
        else if (first < 0)
            first = (int)id;
        else
            second = (int)id;
    }
    assert_true(other >= 0 && first >= 0 && second >= 0);
    assert_int_equal(round, 0);

    float *delta = calloc(tc.num_params * 10, sizeof(float));
    expect(submit(&tc, (uint32_t)other, 0, delta, tc.num_params, 20, details), STATUS_FAILED_PRECONDITION, details,
           "not sampled");
    expect(submit(&tc, (uint32_t)first, 0, delta, 5, 20, details), STATUS_INVALID_ARGUMENT, details,
           "delta has 5 values, expected 210");
    expect(submit(&tc, (uint32_t)first, 0, delta, tc.num_params * 10, 20, details), STATUS_INVALID_ARGUMENT, details,
           "delta has 2100 values");
    delta[3] = NAN;
    expect(submit(&tc, (uint32_t)first, 0, delta, tc.num_params, 20, details), STATUS_INVALID_ARGUMENT, details,
           "delta[3] is not finite");
    delta[3] = 0.0f;
    expect(submit(&tc, (uint32_t)first, 0, delta, tc.num_params, 21, details), STATUS_INVALID_ARGUMENT, details,
           "exceed examples_per_round");
    expect(submit(&tc, (uint32_t)first, 4, delta, tc.num_params, 20, details), STATUS_FAILED_PRECONDITION, details,
           "stale");
    size_t huge = (size_t)(4 << 20);
    uint8_t *garbage = calloc(huge, 1);
    expect(call_raw(&tc, FCB_RPC_SUBMIT_UPDATE, garbage, huge, NULL, NULL, details), STATUS_RESOURCE_EXHAUSTED,
           details, "");
    free(garbage);
    for (size_t i = 0; i < tc.num_params; i++)
        delta[i] = 1.0f; /* norm sqrt(210) > 10 */
    expect(submit(&tc, (uint32_t)first, 0, delta, tc.num_params, 20, details), STATUS_INVALID_ARGUMENT, details,
           "exceeds bound 10");
    memset(delta, 0, tc.num_params * sizeof(float));
    expect(submit(&tc, (uint32_t)first, 0, delta, tc.num_params, 20, details), STATUS_FAILED_PRECONDITION, details,
           "duplicate");
    /* The one good update completes the round and the run. */
    delta[0] = 0.5f;
    assert_int_equal(submit(&tc, (uint32_t)second, 0, delta, tc.num_params, 20, details), 0);
    free(delta);

    pthread_join(thread, NULL);
    assert_int_equal(ct.exit_status, 0);
    fcb_rpc_client_close(tc.rpc);

    char metrics_path[300], line[2048];
    snprintf(metrics_path, sizeof metrics_path, "%s/metrics.jsonl", out_dir);
    FILE *fp = fopen(metrics_path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(line, sizeof line, fp));
    fclose(fp);
    print_message("metrics: %s", line);
    assert_non_null(strstr(line, "\"clients\":1,"));
    assert_non_null(strstr(line, "\"rejected\":1,"));
    char command[600];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    assert_int_equal(system(command), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_updates_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
