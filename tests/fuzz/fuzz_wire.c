/* libFuzzer target for protocols/wire_check.c: the first byte picks the
 * message type, the rest is decoded against fixed limits, once for a
 * score-based run and once for a linear one. Besides the sanitizers, every
 * outcome is checked against the decoder's contract: a failure leaves *out
 * NULL with a message; a success satisfies every limit. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire_fixture.h"

/* A broken contract is a crash libFuzzer reports with its input. */
static void require(int condition)
{
    if (!condition)
        abort();
}

static void check_failure(fcb_status st, const void *out)
{
    require(st == FCB_ERR_FORMAT || st == FCB_ERR_ARG);
    require(out == NULL);
    require(fcb_last_error()[0] != '\0');
    require(strchr(fcb_last_error(), '\n') == NULL); /* one log line, whatever the input */
}

static int all_finite_floats(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return 0;
    return 1;
}

static int all_finite_doubles(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return 0;
    return 1;
}

static void fuzz_register(const uint8_t *data, size_t len, const fcb_wire_limits *limits)
{
    Fedcb__RegisterRequest *m = NULL;
    fcb_status st = fcb_decode_register(data, len, limits, &m);
    if (st != FCB_OK) {
        check_failure(st, m);
        return;
    }
    require(m->client_id < limits->num_clients);
    require(m->protocol_version == FCB_PROTOCOL_VERSION);
    require(strcmp(m->config_hash, limits->config_hash) == 0);
    fedcb__register_request__free_unpacked(m, NULL);
}

static void fuzz_task_request(const uint8_t *data, size_t len, const fcb_wire_limits *limits)
{
    Fedcb__TaskRequest *m = NULL;
    fcb_status st = fcb_decode_task_request(data, len, limits, &m);
    if (st != FCB_OK) {
        check_failure(st, m);
        return;
    }
    require(m->client_id < limits->num_clients);
    require(strcmp(m->config_hash, limits->config_hash) == 0);
    fedcb__task_request__free_unpacked(m, NULL);
}

static void check_update(const Fedcb__UpdateRequest *m, const fcb_wire_limits *limits)
{
    require(m->client_id < limits->num_clients);
    require(strcmp(m->config_hash, limits->config_hash) == 0);
    require(m->examples <= limits->max_examples);
    require(m->metrics != NULL);
    const Fedcb__ClientMetrics *x = m->metrics;
    require(isfinite(x->reward_sum) && isfinite(x->true_reward_sum) && isfinite(x->propensity_sum) &&
            isfinite(x->loss_sum));
    size_t want_delta = m->examples > 0 && !limits->linear ? limits->num_params : 0;
    size_t want_stats = m->examples > 0 && limits->linear ? limits->stats_size : 0;
    require(m->n_delta == want_delta);
    require(m->n_stats == want_stats);
    require(all_finite_floats(m->delta, m->n_delta));
    require(all_finite_doubles(m->stats, m->n_stats));
}

static void fuzz_update(const uint8_t *data, size_t len, const fcb_wire_limits *limits)
{
    Fedcb__UpdateRequest *m = NULL;
    fcb_status st = fcb_decode_update(data, len, limits, &m);
    if (st != FCB_OK) {
        check_failure(st, m);
        return;
    }
    check_update(m, limits);
    fedcb__update_request__free_unpacked(m, NULL);
}

static void fuzz_status_request(const uint8_t *data, size_t len)
{
    Fedcb__StatusRequest *m = NULL;
    fcb_status st = fcb_decode_status_request(data, len, &m);
    if (st != FCB_OK) {
        check_failure(st, m);
        return;
    }
    fedcb__status_request__free_unpacked(m, NULL);
}

static void fuzz_task_reply(const uint8_t *data, size_t len, const fcb_wire_limits *limits)
{
    Fedcb__TaskReply *m = NULL;
    fcb_status st = fcb_decode_task_reply(data, len, limits, &m);
    if (st != FCB_OK) {
        check_failure(st, m);
        return;
    }
    require(m->n_deployed_params == 0 || m->n_deployed_params == limits->num_params);
    require(m->n_current_params == 0 || m->n_current_params == limits->num_params);
    require(m->n_deployed_stats == 0 || m->n_deployed_stats == limits->stats_size);
    fedcb__task_reply__free_unpacked(m, NULL);
}

static void fuzz_one(int type, const uint8_t *data, size_t len, const fcb_wire_limits *limits)
{
    switch (type) {
    case WIRE_REGISTER: fuzz_register(data, len, limits); break;
    case WIRE_TASK_REQUEST: fuzz_task_request(data, len, limits); break;
    case WIRE_UPDATE: fuzz_update(data, len, limits); break;
    case WIRE_STATUS: fuzz_status_request(data, len); break;
    default: fuzz_task_reply(data, len, limits); break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int type = data[0] % WIRE_NUM_TYPES;
    fuzz_one(type, data + 1, size - 1, &WIRE_SCORE_LIMITS);
    fuzz_one(type, data + 1, size - 1, &WIRE_LINEAR_LIMITS);
    return 0;
}
