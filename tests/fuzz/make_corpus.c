/* Writes the seed corpus of fuzz_wire into a directory: one file per seed,
 * a type byte (wire_fixture.h) followed by a packed message, valid or just
 * off (a NaN, a wrong length) for the limits fuzz_wire decodes against.
 * Usage: make_corpus DIR */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "wire_fixture.h"

static int write_seed(const char *dir, const char *name, int type, const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(len + 1);
    if (!buf) {
        fprintf(stderr, "make_corpus: out of memory\n");
        return 1;
    }
    buf[0] = (uint8_t)type;
    protobuf_c_message_pack(m, buf + 1);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int failed = !f || fwrite(buf, 1, len + 1, f) != len + 1;
    if (f && fclose(f) != 0)
        failed = 1;
    free(buf);
    if (failed)
        fprintf(stderr, "make_corpus: cannot write %s\n", path);
    return failed;
}

static int write_requests(const char *dir)
{
    char delta[] = "delta", linstats[] = "linstats";
    char *capabilities[2] = {delta, linstats};
    Fedcb__RegisterRequest reg = FEDCB__REGISTER_REQUEST__INIT;
    reg.client_id = 1;
    reg.protocol_version = FCB_PROTOCOL_VERSION;
    reg.config_hash = (char *)WIRE_HASH;
    reg.n_capabilities = 2;
    reg.capabilities = capabilities;
    Fedcb__TaskRequest task = FEDCB__TASK_REQUEST__INIT;
    task.client_id = 2;
    task.config_hash = (char *)WIRE_HASH;
    task.wait_ms = 1000;
    task.have_deployed_version = -1;
    task.have_current_version = 3;
    Fedcb__StatusRequest status = FEDCB__STATUS_REQUEST__INIT;
    return write_seed(dir, "register", WIRE_REGISTER, &reg.base) ||
           write_seed(dir, "task_request", WIRE_TASK_REQUEST, &task.base) ||
           write_seed(dir, "status", WIRE_STATUS, &status.base);
}

static int write_updates(const char *dir)
{
    float delta[WIRE_NUM_PARAMS];
    double stats[WIRE_STATS_SIZE];
    for (int i = 0; i < WIRE_NUM_PARAMS; i++)
        delta[i] = 0.25f * (float)i - 0.5f;
    for (int i = 0; i < WIRE_STATS_SIZE; i++)
        stats[i] = (double)i + 1.0;
    Fedcb__ClientMetrics metrics = FEDCB__CLIENT_METRICS__INIT;
    metrics.reward_sum = 7.0;
    metrics.true_reward_sum = 6.5;
    metrics.propensity_sum = 12.0;
    metrics.loss_sum = 2.25;
    metrics.steps = 3;
    Fedcb__UpdateRequest u = FEDCB__UPDATE_REQUEST__INIT;
    u.client_id = 3;
    u.round = 1;
    u.examples = 20;
    u.metrics = &metrics;
    u.config_hash = (char *)WIRE_HASH;
    u.n_delta = WIRE_NUM_PARAMS;
    u.delta = delta;
    int failed = write_seed(dir, "update_delta", WIRE_UPDATE, &u.base);
    u.n_delta = 0;
    u.n_stats = WIRE_STATS_SIZE;
    u.stats = stats;
    failed = failed || write_seed(dir, "update_stats", WIRE_UPDATE, &u.base);
    u.examples = 0;
    u.n_stats = 0;
    failed = failed || write_seed(dir, "update_no_data", WIRE_UPDATE, &u.base);
    u.examples = 20;
    u.n_delta = WIRE_NUM_PARAMS;
    delta[2] = NAN;
    failed = failed || write_seed(dir, "update_nan_delta", WIRE_UPDATE, &u.base);
    return failed;
}

static int write_task_replies(const char *dir)
{
    float deployed[WIRE_NUM_PARAMS], current[WIRE_NUM_PARAMS];
    double stats[WIRE_STATS_SIZE];
    for (int i = 0; i < WIRE_NUM_PARAMS; i++) {
        deployed[i] = (float)i;
        current[i] = -(float)i;
    }
    for (int i = 0; i < WIRE_STATS_SIZE; i++)
        stats[i] = 0.5 * (double)i;
    Fedcb__TaskReply wait = FEDCB__TASK_REPLY__INIT;
    Fedcb__TaskReply train = FEDCB__TASK_REPLY__INIT;
    train.kind = FEDCB__TASK_REPLY__KIND__TRAIN;
    train.round = 4;
    train.deployed_version = 2;
    train.current_version = 4;
    train.config_hash = (char *)WIRE_HASH;
    train.n_deployed_params = WIRE_NUM_PARAMS;
    train.deployed_params = deployed;
    train.n_current_params = WIRE_NUM_PARAMS;
    train.current_params = current;
    int failed = write_seed(dir, "task_reply_wait", WIRE_TASK_REPLY, &wait.base) ||
                 write_seed(dir, "task_reply_train", WIRE_TASK_REPLY, &train.base);
    train.n_deployed_params = 0;
    train.n_current_params = 0;
    train.n_deployed_stats = WIRE_STATS_SIZE;
    train.deployed_stats = stats;
    return failed || write_seed(dir, "task_reply_stats", WIRE_TASK_REPLY, &train.base);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus DIR\n");
        return 2;
    }
    if (write_requests(argv[1]) || write_updates(argv[1]) || write_task_replies(argv[1]))
        return 1;
    return 0;
}
