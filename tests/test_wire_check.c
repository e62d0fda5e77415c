#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire_check.h"

/* Decoding and structural validation of every message the coordinator (and,
 * for TaskReply, the client) takes off the wire: valid messages decode,
 * malformed bytes are FCB_ERR_FORMAT naming the message type, fields out of
 * range are FCB_ERR_ARG naming the field and the client, and a failed decode
 * leaves *out NULL (ASan/LSan check that nothing leaks). */

static const char HASH[] = "3f7a0c9e5b21d4a8f6e07c3b9d15a2e4c8f03b6d7e91a5c2d4b8e06f1a3c5d79";
static const char OTHER_HASH[] = "0000000000000000000000000000000000000000000000000000000000000000";

enum {
    NUM_CLIENTS = 4,
    CLIENT = 3,
    NUM_PARAMS = 6,
    STATS_SIZE = 9,
    MAX_EXAMPLES = 50,
    BIG_PARAMS = 10000
};

static const fcb_wire_limits SCORE_LIMITS = {
    .num_clients = NUM_CLIENTS,
    .num_params = NUM_PARAMS,
    .stats_size = 0,
    .linear = 0,
    .max_examples = MAX_EXAMPLES,
    .config_hash = HASH,
};

/* A linear bandit still has a model (its num_params), but its updates carry
 * statistics only. */
static const fcb_wire_limits LINEAR_LIMITS = {
    .num_clients = NUM_CLIENTS,
    .num_params = NUM_PARAMS,
    .stats_size = STATS_SIZE,
    .linear = 1,
    .max_examples = MAX_EXAMPLES,
    .config_hash = HASH,
};

/* ------------------------------------------------------------------ */
/* One decoder per message type, behind one signature.                 */

typedef enum { MSG_REGISTER, MSG_TASK_REQUEST, MSG_UPDATE, MSG_STATUS, MSG_TASK_REPLY, NUM_MSG } msg_kind;

static const char *const MSG_NAME[NUM_MSG] = {"RegisterRequest", "TaskRequest", "UpdateRequest", "StatusRequest",
                                              "TaskReply"};

/* Stored in *out before each decode, so a decoder that leaves *out alone on
 * failure is caught. */
static max_align_t not_decoded;

static fcb_status decode_any(msg_kind kind, const uint8_t *data, size_t len, const fcb_wire_limits *limits,
                             ProtobufCMessage **out)
{
    fcb_status st = FCB_ERR_STATE;
    if (kind == MSG_REGISTER) {
        Fedcb__RegisterRequest *m = (void *)&not_decoded;
        st = fcb_decode_register(data, len, limits, &m);
        *out = m ? &m->base : NULL;
    } else if (kind == MSG_TASK_REQUEST) {
        Fedcb__TaskRequest *m = (void *)&not_decoded;
        st = fcb_decode_task_request(data, len, limits, &m);
        *out = m ? &m->base : NULL;
    } else if (kind == MSG_UPDATE) {
        Fedcb__UpdateRequest *m = (void *)&not_decoded;
        st = fcb_decode_update(data, len, limits, &m);
        *out = m ? &m->base : NULL;
    } else if (kind == MSG_STATUS) {
        Fedcb__StatusRequest *m = (void *)&not_decoded;
        st = fcb_decode_status_request(data, len, &m);
        *out = m ? &m->base : NULL;
    } else {
        Fedcb__TaskReply *m = (void *)&not_decoded;
        st = fcb_decode_task_reply(data, len, limits, &m);
        *out = m ? &m->base : NULL;
    }
    return st;
}

/* ------------------------------------------------------------------ */
/* Packing and checking.                                               */

typedef struct {
    uint8_t *data;
    size_t len;
} packed;

static packed pack(const ProtobufCMessage *m)
{
    packed p;
    p.len = protobuf_c_message_get_packed_size(m);
    p.data = malloc(p.len ? p.len : 1);
    assert_non_null(p.data);
    assert_int_equal(protobuf_c_message_pack(m, p.data), p.len);
    return p;
}

static void assert_message_names(const char *what)
{
    const char *msg = fcb_last_error();
    if (!strstr(msg, what))
        fail_msg("message \"%s\" does not name \"%s\"", msg, what);
}

/* The failure the decoder must give: the code, *out NULL, a one-line message
 * naming `field` and, when given, `client`. */
static void assert_rejected(fcb_status st, const ProtobufCMessage *out, fcb_status code, const char *field,
                            const char *client)
{
    if (st != code)
        fail_msg("status %d (%s), expected %d; message \"%s\"", st, fcb_status_name(st), code, fcb_last_error());
    assert_null(out);
    assert_message_names(field);
    if (client)
        assert_message_names(client);
    assert_null(strchr(fcb_last_error(), '\n'));
}

static void assert_format_error(msg_kind kind, const uint8_t *data, size_t len, const fcb_wire_limits *limits)
{
    ProtobufCMessage *out;
    fcb_status st = decode_any(kind, data, len, limits, &out);
    assert_rejected(st, out, FCB_ERR_FORMAT, MSG_NAME[kind], NULL);
}

/* ------------------------------------------------------------------ */
/* Valid messages of each type.                                        */

static Fedcb__RegisterRequest valid_register(char **capabilities)
{
    Fedcb__RegisterRequest m = FEDCB__REGISTER_REQUEST__INIT;
    m.client_id = CLIENT;
    m.protocol_version = FCB_PROTOCOL_VERSION;
    m.config_hash = (char *)HASH;
    m.n_capabilities = 1;
    m.capabilities = capabilities;
    return m;
}

static Fedcb__TaskRequest valid_task_request(void)
{
    Fedcb__TaskRequest m = FEDCB__TASK_REQUEST__INIT;
    m.client_id = CLIENT;
    m.config_hash = (char *)HASH;
    m.wait_ms = 2000;
    m.have_deployed_version = 5;
    m.have_current_version = -1; /* the last field: a ten-byte varint */
    return m;
}

/* An update whose arrays point into itself: initialise in place, never copy. */
typedef struct {
    Fedcb__UpdateRequest m;
    Fedcb__ClientMetrics metrics;
    float delta[NUM_PARAMS];
    double stats[STATS_SIZE];
} update_msg;

static void update_init(update_msg *u, const fcb_wire_limits *limits)
{
    memset(u, 0, sizeof *u);
    u->metrics = (Fedcb__ClientMetrics)FEDCB__CLIENT_METRICS__INIT;
    u->metrics.reward_sum = 12.5;
    u->metrics.true_reward_sum = 11.0;
    u->metrics.propensity_sum = 19.25;
    u->metrics.loss_sum = 3.75;
    u->metrics.steps = 4;
    u->m = (Fedcb__UpdateRequest)FEDCB__UPDATE_REQUEST__INIT;
    u->m.client_id = CLIENT;
    u->m.round = 2;
    u->m.examples = 20;
    u->m.metrics = &u->metrics;
    u->m.config_hash = (char *)HASH;
    for (size_t i = 0; i < NUM_PARAMS; i++)
        u->delta[i] = 0.125f * (float)i - 0.25f;
    for (size_t i = 0; i < STATS_SIZE; i++)
        u->stats[i] = 1.5 * (double)i;
    if (limits->linear) {
        u->m.n_stats = STATS_SIZE;
        u->m.stats = u->stats;
    } else {
        u->m.n_delta = NUM_PARAMS;
        u->m.delta = u->delta;
    }
}

static fcb_status decode_update_msg(const update_msg *u, const fcb_wire_limits *limits, ProtobufCMessage **out)
{
    packed p = pack(&u->m.base);
    fcb_status st = decode_any(MSG_UPDATE, p.data, p.len, limits, out);
    free(p.data);
    return st;
}

static void assert_update_rejected(const update_msg *u, const fcb_wire_limits *limits, const char *field)
{
    ProtobufCMessage *out;
    fcb_status st = decode_update_msg(u, limits, &out);
    assert_rejected(st, out, FCB_ERR_ARG, field, "client 3");
}

typedef struct {
    Fedcb__TaskReply m;
    float deployed[NUM_PARAMS];
    float current[NUM_PARAMS];
    double stats[STATS_SIZE];
} task_reply_msg;

static void task_reply_init(task_reply_msg *t)
{
    memset(t, 0, sizeof *t);
    t->m = (Fedcb__TaskReply)FEDCB__TASK_REPLY__INIT;
    t->m.kind = FEDCB__TASK_REPLY__KIND__TRAIN;
    t->m.round = 2;
    t->m.deployed_version = 1;
    t->m.current_version = 2;
    t->m.config_hash = (char *)HASH;
    for (size_t i = 0; i < NUM_PARAMS; i++) {
        t->deployed[i] = (float)i;
        t->current[i] = -(float)i;
    }
    for (size_t i = 0; i < STATS_SIZE; i++)
        t->stats[i] = 0.5 * (double)i;
    t->m.n_deployed_params = NUM_PARAMS;
    t->m.deployed_params = t->deployed;
    t->m.n_current_params = NUM_PARAMS; /* the last field: packed floats */
    t->m.current_params = t->current;
}

static packed pack_valid(msg_kind kind)
{
    char delta[] = "delta";
    char *capabilities[1] = {delta};
    if (kind == MSG_REGISTER) {
        Fedcb__RegisterRequest m = valid_register(capabilities);
        return pack(&m.base);
    }
    if (kind == MSG_TASK_REQUEST) {
        Fedcb__TaskRequest m = valid_task_request();
        return pack(&m.base);
    }
    if (kind == MSG_UPDATE) {
        update_msg u;
        update_init(&u, &SCORE_LIMITS);
        return pack(&u.m.base);
    }
    if (kind == MSG_STATUS) {
        Fedcb__StatusRequest m = FEDCB__STATUS_REQUEST__INIT;
        return pack(&m.base);
    }
    task_reply_msg t;
    task_reply_init(&t);
    return pack(&t.m.base);
}

/* ------------------------------------------------------------------ */
/* Valid messages decode.                                              */

static void test_valid_register_decodes(void **state)
{
    (void)state;
    char delta[] = "delta";
    char *capabilities[1] = {delta};
    Fedcb__RegisterRequest m = valid_register(capabilities);
    packed p = pack(&m.base);
    Fedcb__RegisterRequest *out = NULL;
    assert_int_equal(fcb_decode_register(p.data, p.len, &SCORE_LIMITS, &out), FCB_OK);
    assert_non_null(out);
    assert_int_equal(out->client_id, CLIENT);
    assert_int_equal(out->protocol_version, FCB_PROTOCOL_VERSION);
    assert_string_equal(out->config_hash, HASH);
    assert_int_equal(out->n_capabilities, 1);
    assert_string_equal(out->capabilities[0], "delta");
    fedcb__register_request__free_unpacked(out, NULL);
    free(p.data);
}

static void test_valid_task_request_decodes(void **state)
{
    (void)state;
    Fedcb__TaskRequest m = valid_task_request();
    packed p = pack(&m.base);
    Fedcb__TaskRequest *out = NULL;
    assert_int_equal(fcb_decode_task_request(p.data, p.len, &SCORE_LIMITS, &out), FCB_OK);
    assert_non_null(out);
    assert_int_equal(out->client_id, CLIENT);
    assert_string_equal(out->config_hash, HASH);
    assert_int_equal(out->wait_ms, 2000);
    assert_int_equal(out->have_deployed_version, 5);
    assert_int_equal(out->have_current_version, -1);
    fedcb__task_request__free_unpacked(out, NULL);
    free(p.data);
}

static void test_valid_score_update_decodes(void **state)
{
    (void)state;
    update_msg u;
    update_init(&u, &SCORE_LIMITS);
    packed p = pack(&u.m.base);
    Fedcb__UpdateRequest *out = NULL;
    assert_int_equal(fcb_decode_update(p.data, p.len, &SCORE_LIMITS, &out), FCB_OK);
    assert_non_null(out);
    assert_int_equal(out->client_id, CLIENT);
    assert_int_equal(out->round, 2);
    assert_int_equal(out->examples, 20);
    assert_int_equal(out->n_delta, NUM_PARAMS);
    assert_memory_equal(out->delta, u.delta, sizeof u.delta);
    assert_int_equal(out->n_stats, 0);
    assert_non_null(out->metrics);
    assert_true(out->metrics->reward_sum == 12.5);
    assert_true(out->metrics->loss_sum == 3.75);
    assert_int_equal(out->metrics->steps, 4);
    fedcb__update_request__free_unpacked(out, NULL);
    free(p.data);
}

static void test_valid_linear_update_decodes(void **state)
{
    (void)state;
    update_msg u;
    update_init(&u, &LINEAR_LIMITS);
    packed p = pack(&u.m.base);
    Fedcb__UpdateRequest *out = NULL;
    assert_int_equal(fcb_decode_update(p.data, p.len, &LINEAR_LIMITS, &out), FCB_OK);
    assert_non_null(out);
    assert_int_equal(out->n_delta, 0);
    assert_int_equal(out->n_stats, STATS_SIZE);
    assert_memory_equal(out->stats, u.stats, sizeof u.stats);
    fedcb__update_request__free_unpacked(out, NULL);
    free(p.data);
}

/* A client that saw no data this round sends examples 0 and no arrays. */
static void test_update_without_data_decodes(void **state)
{
    (void)state;
    const fcb_wire_limits *both[2] = {&SCORE_LIMITS, &LINEAR_LIMITS};
    for (int i = 0; i < 2; i++) {
        update_msg u;
        update_init(&u, both[i]);
        u.m.examples = 0;
        u.m.n_delta = 0;
        u.m.n_stats = 0;
        u.metrics.reward_sum = 0.0;
        u.metrics.true_reward_sum = 0.0;
        u.metrics.propensity_sum = 0.0;
        ProtobufCMessage *out;
        assert_int_equal(decode_update_msg(&u, both[i], &out), FCB_OK);
        assert_non_null(out);
        protobuf_c_message_free_unpacked(out, NULL);
    }
}

static void test_valid_status_request_decodes(void **state)
{
    (void)state;
    packed p = pack_valid(MSG_STATUS);
    assert_int_equal(p.len, 0);
    Fedcb__StatusRequest *out = NULL;
    assert_int_equal(fcb_decode_status_request(p.data, p.len, &out), FCB_OK);
    assert_non_null(out);
    fedcb__status_request__free_unpacked(out, NULL);
    free(p.data);
}

static void test_valid_task_reply_decodes(void **state)
{
    (void)state;
    task_reply_msg t;
    task_reply_init(&t);
    packed p = pack(&t.m.base);
    Fedcb__TaskReply *out = NULL;
    assert_int_equal(fcb_decode_task_reply(p.data, p.len, &SCORE_LIMITS, &out), FCB_OK);
    assert_non_null(out);
    assert_int_equal(out->kind, FEDCB__TASK_REPLY__KIND__TRAIN);
    assert_int_equal(out->round, 2);
    assert_int_equal(out->n_deployed_params, NUM_PARAMS);
    assert_memory_equal(out->deployed_params, t.deployed, sizeof t.deployed);
    assert_int_equal(out->n_current_params, NUM_PARAMS);
    assert_memory_equal(out->current_params, t.current, sizeof t.current);
    fedcb__task_reply__free_unpacked(out, NULL);
    free(p.data);

    /* A linear run's reply carries the statistics instead. */
    task_reply_init(&t);
    t.m.n_deployed_params = 0;
    t.m.n_current_params = 0;
    t.m.n_deployed_stats = STATS_SIZE;
    t.m.deployed_stats = t.stats;
    p = pack(&t.m.base);
    out = NULL;
    assert_int_equal(fcb_decode_task_reply(p.data, p.len, &LINEAR_LIMITS, &out), FCB_OK);
    assert_int_equal(out->n_deployed_stats, STATS_SIZE);
    assert_memory_equal(out->deployed_stats, t.stats, sizeof t.stats);
    fedcb__task_reply__free_unpacked(out, NULL);
    free(p.data);
}

/* ------------------------------------------------------------------ */
/* Malformed bytes: FCB_ERR_FORMAT naming the message type.            */

static void test_truncated_messages_are_format_errors(void **state)
{
    (void)state;
    /* Each valid message ends inside a string, a packed array or a ten-byte
     * varint, so dropping its last byte cannot leave a shorter valid one.
     * StatusRequest has no fields: it packs to zero bytes. */
    const msg_kind kinds[] = {MSG_REGISTER, MSG_TASK_REQUEST, MSG_UPDATE, MSG_TASK_REPLY};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        packed p = pack_valid(kinds[k]);
        assert_true(p.len > 2);
        assert_format_error(kinds[k], p.data, p.len - 1, &SCORE_LIMITS);
        assert_format_error(kinds[k], p.data, p.len / 2 + 1, &SCORE_LIMITS);
        free(p.data);
    }
}

static void test_garbage_is_a_format_error(void **state)
{
    (void)state;
    /* A tag varint longer than any tag, an invalid wire type (7), a group
     * (wire type 3, which proto3 does not have) and ASCII text ('n' is field
     * 13 with wire type 6). */
    static const uint8_t long_tag[12] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    static const uint8_t bad_wire_type[2] = {0x0f, 0x00};
    static const uint8_t group[2] = {0x0b, 0x0c};
    static const char text[] = "not a protobuf message";
    for (int k = 0; k < NUM_MSG; k++) {
        assert_format_error((msg_kind)k, long_tag, sizeof long_tag, &SCORE_LIMITS);
        assert_format_error((msg_kind)k, bad_wire_type, sizeof bad_wire_type, &SCORE_LIMITS);
        assert_format_error((msg_kind)k, group, sizeof group, &SCORE_LIMITS);
        assert_format_error((msg_kind)k, (const uint8_t *)text, strlen(text), &SCORE_LIMITS);
    }
}

typedef struct {
    msg_kind kind;
    const char *what;
    uint8_t bytes[12];
    size_t len;
} wrong_wire_type;

static void test_wrong_wire_types_are_format_errors(void **state)
{
    (void)state;
    static const wrong_wire_type cases[] = {
        {MSG_REGISTER, "client_id as a length-delimited field", {0x0a, 0x01, 0x00}, 3},
        {MSG_REGISTER, "config_hash as a varint", {0x18, 0x05}, 2},
        {MSG_TASK_REQUEST, "config_hash as a varint", {0x10, 0x01}, 2},
        {MSG_TASK_REQUEST, "have_deployed_version as fixed32", {0x25, 0x01, 0x00, 0x00, 0x00}, 5},
        {MSG_UPDATE, "metrics as a varint", {0x30, 0x01}, 2},
        {MSG_UPDATE, "delta as a varint", {0x20, 0x01}, 2},
        {MSG_UPDATE, "stats as fixed32", {0x2d, 0x00, 0x00, 0x80, 0x3f}, 5},
        {MSG_UPDATE, "examples as fixed64", {0x19, 1, 0, 0, 0, 0, 0, 0, 0}, 9},
        {MSG_STATUS, "a field with wire type 6", {0x0e, 0x00}, 2},
        {MSG_TASK_REPLY, "kind as a length-delimited field", {0x0a, 0x00}, 2},
        {MSG_TASK_REPLY, "deployed_params as a varint", {0x30, 0x01}, 2},
        {MSG_TASK_REPLY, "deployed_stats as fixed32", {0x45, 0x00, 0x00, 0x80, 0x3f}, 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const wrong_wire_type *c = &cases[i];
        ProtobufCMessage *out;
        fcb_status st = decode_any(c->kind, c->bytes, c->len, &SCORE_LIMITS, &out);
        if (st != FCB_ERR_FORMAT)
            fail_msg("%s with %s: status %d, expected FCB_ERR_FORMAT (\"%s\")", MSG_NAME[c->kind], c->what, st,
                     fcb_last_error());
        assert_rejected(st, out, FCB_ERR_FORMAT, MSG_NAME[c->kind], NULL);
    }
}

/* Deterministic random bytes: whatever decodes or not, a failure leaves *out
 * NULL, and no request carrying a config hash can pass without it (64 random
 * bytes cannot hold the hash and its tag). */
static void test_random_bytes_never_pass_validation(void **state)
{
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15u;
    uint8_t buf[64];
    for (int iter = 0; iter < 4000; iter++) {
        size_t len = (size_t)(iter % (int)sizeof buf);
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[i] = (uint8_t)x;
        }
        msg_kind kind = (msg_kind)(iter % NUM_MSG);
        const fcb_wire_limits *limits = (iter / NUM_MSG) % 2 ? &LINEAR_LIMITS : &SCORE_LIMITS;
        ProtobufCMessage *out;
        fcb_status st = decode_any(kind, buf, len, limits, &out);
        if (st != FCB_OK) {
            assert_null(out);
            assert_true(st == FCB_ERR_FORMAT || st == FCB_ERR_ARG);
            continue;
        }
        assert_true(kind == MSG_STATUS || kind == MSG_TASK_REPLY);
        protobuf_c_message_free_unpacked(out, NULL);
    }
}

/* The config hash is the update's last field: every proper prefix of a valid
 * update is malformed or lacks it. */
static void test_every_prefix_of_an_update_is_rejected(void **state)
{
    (void)state;
    packed p = pack_valid(MSG_UPDATE);
    for (size_t len = 0; len < p.len; len++) {
        ProtobufCMessage *out;
        fcb_status st = decode_any(MSG_UPDATE, p.data, len, &SCORE_LIMITS, &out);
        assert_true(st == FCB_ERR_FORMAT || st == FCB_ERR_ARG);
        assert_null(out);
    }
    free(p.data);
}

/* ------------------------------------------------------------------ */
/* RegisterRequest and TaskRequest fields.                             */

static void assert_register_rejected(const Fedcb__RegisterRequest *m, const char *field, const char *client)
{
    packed p = pack(&m->base);
    ProtobufCMessage *out;
    fcb_status st = decode_any(MSG_REGISTER, p.data, p.len, &SCORE_LIMITS, &out);
    free(p.data);
    assert_rejected(st, out, FCB_ERR_ARG, field, client);
}

static void test_register_field_errors(void **state)
{
    (void)state;
    char delta[] = "delta";
    char *capabilities[1] = {delta};
    Fedcb__RegisterRequest m = valid_register(capabilities);
    m.client_id = NUM_CLIENTS;
    assert_register_rejected(&m, "RegisterClient", "client id 4");
    assert_message_names("out of range");

    m = valid_register(capabilities);
    m.client_id = UINT32_MAX;
    assert_register_rejected(&m, "out of range", "client id 4294967295");

    m = valid_register(capabilities);
    m.protocol_version = FCB_PROTOCOL_VERSION + 1;
    assert_register_rejected(&m, "protocol version 2", "client 3");

    m = valid_register(capabilities);
    m.protocol_version = 0; /* absent on the wire */
    assert_register_rejected(&m, "protocol version 0", "client 3");

    m = valid_register(capabilities);
    m.config_hash = (char *)OTHER_HASH;
    assert_register_rejected(&m, "config hash 0000", "client 3");

    m = valid_register(capabilities);
    m.config_hash = (char *)"";
    assert_register_rejected(&m, "config hash (none)", "client 3");

    /* The coordinator's hash as a prefix is not the hash. */
    char longer[sizeof HASH + 1];
    memcpy(longer, HASH, sizeof HASH - 1);
    memcpy(longer + sizeof HASH - 1, "0", 2);
    m = valid_register(capabilities);
    m.config_hash = longer;
    assert_register_rejected(&m, "config hash", "client 3");
}

static void assert_task_request_rejected(const Fedcb__TaskRequest *m, const char *field, const char *client)
{
    packed p = pack(&m->base);
    ProtobufCMessage *out;
    fcb_status st = decode_any(MSG_TASK_REQUEST, p.data, p.len, &SCORE_LIMITS, &out);
    free(p.data);
    assert_rejected(st, out, FCB_ERR_ARG, field, client);
}

static void test_task_request_field_errors(void **state)
{
    (void)state;
    Fedcb__TaskRequest m = valid_task_request();
    m.client_id = NUM_CLIENTS + 7;
    assert_task_request_rejected(&m, "GetTask", "client id 11");
    assert_message_names("out of range");

    m = valid_task_request();
    m.config_hash = (char *)OTHER_HASH;
    assert_task_request_rejected(&m, "config hash 0000", "client 3");

    m = valid_task_request();
    m.config_hash = (char *)"";
    assert_task_request_rejected(&m, "config hash (none)", "client 3");
}

/* ------------------------------------------------------------------ */
/* UpdateRequest fields.                                               */

static void test_update_identity_errors(void **state)
{
    (void)state;
    update_msg u;
    ProtobufCMessage *out;

    update_init(&u, &SCORE_LIMITS);
    u.m.client_id = NUM_CLIENTS;
    fcb_status st = decode_update_msg(&u, &SCORE_LIMITS, &out);
    assert_rejected(st, out, FCB_ERR_ARG, "SubmitUpdate", "client id 4");

    update_init(&u, &SCORE_LIMITS);
    u.m.config_hash = (char *)OTHER_HASH;
    assert_update_rejected(&u, &SCORE_LIMITS, "config hash 0000");

    update_init(&u, &SCORE_LIMITS);
    u.m.config_hash = (char *)"";
    assert_update_rejected(&u, &SCORE_LIMITS, "config hash (none)");
}

static void test_update_examples_beyond_the_round(void **state)
{
    (void)state;
    update_msg u;
    update_init(&u, &SCORE_LIMITS);
    u.m.examples = MAX_EXAMPLES + 1;
    assert_update_rejected(&u, &SCORE_LIMITS, "51 examples exceed examples_per_round 50");

    update_init(&u, &SCORE_LIMITS);
    u.m.examples = UINT64_MAX;
    assert_update_rejected(&u, &SCORE_LIMITS, "examples");

    update_init(&u, &SCORE_LIMITS);
    u.m.examples = MAX_EXAMPLES;
    ProtobufCMessage *out;
    assert_int_equal(decode_update_msg(&u, &SCORE_LIMITS, &out), FCB_OK);
    protobuf_c_message_free_unpacked(out, NULL);
}

static void test_update_metrics_missing_or_not_finite(void **state)
{
    (void)state;
    update_msg u;
    update_init(&u, &SCORE_LIMITS);
    u.m.metrics = NULL;
    assert_update_rejected(&u, &SCORE_LIMITS, "metrics are missing");

    const double bad[3] = {NAN, INFINITY, -INFINITY};
    for (int field = 0; field < 4; field++)
        for (int b = 0; b < 3; b++) {
            update_init(&u, &SCORE_LIMITS);
            double *values[4] = {&u.metrics.reward_sum, &u.metrics.true_reward_sum, &u.metrics.propensity_sum,
                                 &u.metrics.loss_sum};
            *values[field] = bad[b];
            char expected[32];
            snprintf(expected, sizeof expected, "metrics[%d] is not finite", field);
            assert_update_rejected(&u, &SCORE_LIMITS, expected);
        }
}

static void test_update_delta_of_the_wrong_length(void **state)
{
    (void)state;
    update_msg u;
    update_init(&u, &SCORE_LIMITS);
    u.m.n_delta = NUM_PARAMS - 1;
    assert_update_rejected(&u, &SCORE_LIMITS, "delta has 5 values, expected 6");

    update_init(&u, &SCORE_LIMITS);
    u.m.n_delta = 0;
    assert_update_rejected(&u, &SCORE_LIMITS, "delta has 0 values, expected 6");

    /* Statistics are not a delta. */
    update_init(&u, &SCORE_LIMITS);
    u.m.n_stats = STATS_SIZE;
    u.m.stats = u.stats;
    assert_update_rejected(&u, &SCORE_LIMITS, "stats have 9 values, expected 0");
}

static void test_update_stats_of_the_wrong_length(void **state)
{
    (void)state;
    update_msg u;
    update_init(&u, &LINEAR_LIMITS);
    u.m.n_stats = STATS_SIZE - 2;
    assert_update_rejected(&u, &LINEAR_LIMITS, "stats have 7 values, expected 9");

    update_init(&u, &LINEAR_LIMITS);
    u.m.n_stats = 0;
    assert_update_rejected(&u, &LINEAR_LIMITS, "stats have 0 values, expected 9");
}

static void test_update_delta_in_a_linear_run(void **state)
{
    (void)state;
    update_msg u;
    update_init(&u, &LINEAR_LIMITS);
    u.m.n_delta = NUM_PARAMS;
    u.m.delta = u.delta;
    assert_update_rejected(&u, &LINEAR_LIMITS, "delta has 6 values, expected 0");

    update_init(&u, &LINEAR_LIMITS);
    u.m.n_stats = 0;
    u.m.n_delta = NUM_PARAMS;
    u.m.delta = u.delta;
    assert_update_rejected(&u, &LINEAR_LIMITS, "delta has 6 values, expected 0");
}

static void test_update_non_finite_delta_and_stats(void **state)
{
    (void)state;
    const float bad_float[3] = {NAN, INFINITY, -INFINITY};
    const double bad_double[3] = {NAN, INFINITY, -INFINITY};
    update_msg u;
    for (int b = 0; b < 3; b++) {
        update_init(&u, &SCORE_LIMITS);
        u.delta[4] = bad_float[b];
        assert_update_rejected(&u, &SCORE_LIMITS, "delta[4] is not finite");

        update_init(&u, &LINEAR_LIMITS);
        u.stats[7] = bad_double[b];
        assert_update_rejected(&u, &LINEAR_LIMITS, "stats[7] is not finite");
    }
    /* The first and the last values are checked too. */
    update_init(&u, &SCORE_LIMITS);
    u.delta[0] = NAN;
    assert_update_rejected(&u, &SCORE_LIMITS, "delta[0] is not finite");
    update_init(&u, &SCORE_LIMITS);
    u.delta[NUM_PARAMS - 1] = -INFINITY;
    assert_update_rejected(&u, &SCORE_LIMITS, "delta[5] is not finite");
    update_init(&u, &LINEAR_LIMITS);
    u.stats[0] = NAN;
    assert_update_rejected(&u, &LINEAR_LIMITS, "stats[0] is not finite");
    update_init(&u, &LINEAR_LIMITS);
    u.stats[STATS_SIZE - 1] = INFINITY;
    assert_update_rejected(&u, &LINEAR_LIMITS, "stats[8] is not finite");
}

/* An update with examples 0 carries no arrays (and no rewards). */
static void no_examples(update_msg *u)
{
    u->m.examples = 0;
    u->metrics.reward_sum = 0.0;
    u->metrics.true_reward_sum = 0.0;
    u->metrics.propensity_sum = 0.0;
}

static void test_update_without_examples_carries_no_arrays(void **state)
{
    (void)state;
    update_msg u;
    update_init(&u, &SCORE_LIMITS);
    no_examples(&u);
    assert_update_rejected(&u, &SCORE_LIMITS, "delta has 6 values, expected 0");

    update_init(&u, &SCORE_LIMITS);
    no_examples(&u);
    u.m.n_delta = 1;
    assert_update_rejected(&u, &SCORE_LIMITS, "delta has 1 values, expected 0");

    update_init(&u, &LINEAR_LIMITS);
    no_examples(&u);
    assert_update_rejected(&u, &LINEAR_LIMITS, "stats have 9 values, expected 0");
}

/* Ten times the model's length: refused by its length, in a model big enough
 * that reading past the expected length would be noticed by ASan. */
static void test_oversized_delta_is_rejected_by_length(void **state)
{
    (void)state;
    fcb_wire_limits limits = SCORE_LIMITS;
    limits.num_params = BIG_PARAMS;
    size_t n = 10 * (size_t)BIG_PARAMS;
    float *delta = malloc(n * sizeof *delta);
    assert_non_null(delta);
    for (size_t i = 0; i < n; i++)
        delta[i] = i % 2 ? 1.0f : -1.0f;
    update_msg u;
    update_init(&u, &limits);
    u.m.n_delta = n;
    u.m.delta = delta;
    ProtobufCMessage *out;
    fcb_status st = decode_update_msg(&u, &limits, &out);
    assert_rejected(st, out, FCB_ERR_ARG, "delta has 100000 values, expected 10000", "client 3");

    /* The same bytes with a NaN past the expected length: still the length. */
    delta[n - 1] = NAN;
    st = decode_update_msg(&u, &limits, &out);
    assert_rejected(st, out, FCB_ERR_ARG, "delta has 100000 values, expected 10000", "client 3");

    u.m.n_delta = BIG_PARAMS;
    delta[n - 1] = 1.0f;
    assert_int_equal(decode_update_msg(&u, &limits, &out), FCB_OK);
    protobuf_c_message_free_unpacked(out, NULL);
    free(delta);
}

/* ------------------------------------------------------------------ */
/* TaskReply (client side).                                            */

/* A reply has no client id: the message names the array only. */
static void assert_task_reply_rejected(const task_reply_msg *t, const fcb_wire_limits *limits, const char *field)
{
    packed p = pack(&t->m.base);
    ProtobufCMessage *out;
    fcb_status st = decode_any(MSG_TASK_REPLY, p.data, p.len, limits, &out);
    free(p.data);
    assert_rejected(st, out, FCB_ERR_ARG, field, NULL);
}

static void test_task_reply_array_lengths(void **state)
{
    (void)state;
    task_reply_msg t;
    ProtobufCMessage *out;

    task_reply_init(&t);
    t.m.n_deployed_params = NUM_PARAMS - 1;
    assert_task_reply_rejected(&t, &SCORE_LIMITS, "deployed model has 5 parameters, expected 6");

    task_reply_init(&t);
    t.m.n_current_params = 1;
    assert_task_reply_rejected(&t, &SCORE_LIMITS, "current model has 1 parameters, expected 6");

    task_reply_init(&t);
    t.m.n_deployed_params = 0;
    t.m.n_current_params = 0;
    t.m.n_deployed_stats = STATS_SIZE - 1;
    t.m.deployed_stats = t.stats;
    assert_task_reply_rejected(&t, &LINEAR_LIMITS, "statistics have 8 values, expected 9");

    /* WAIT and DONE replies carry no arrays. */
    Fedcb__TaskReply wait = FEDCB__TASK_REPLY__INIT;
    packed p = pack(&wait.base);
    assert_int_equal(decode_any(MSG_TASK_REPLY, p.data, p.len, &SCORE_LIMITS, &out), FCB_OK);
    assert_int_equal(((Fedcb__TaskReply *)out)->kind, FEDCB__TASK_REPLY__KIND__WAIT);
    protobuf_c_message_free_unpacked(out, NULL);
    free(p.data);
}

/* Sums that no round of examples can produce, and a hash that would write a
 * line of its own into the coordinator's log. */
static void test_update_metrics_out_of_range_and_hash_text(void **state)
{
    (void)state;
    update_msg u;
    update_init(&u, &SCORE_LIMITS);
    u.metrics.reward_sum = (double)u.m.examples + 1.0;
    assert_update_rejected(&u, &SCORE_LIMITS, "metrics.reward_sum");
    update_init(&u, &SCORE_LIMITS);
    u.metrics.propensity_sum = -1.0;
    assert_update_rejected(&u, &SCORE_LIMITS, "metrics.propensity_sum");
    update_init(&u, &SCORE_LIMITS);
    u.metrics.loss_sum = -0.5;
    assert_update_rejected(&u, &SCORE_LIMITS, "metrics.loss_sum");
    update_init(&u, &SCORE_LIMITS);
    u.m.config_hash = (char *)"3\nfedcb coordinator: forged line";
    assert_update_rejected(&u, &SCORE_LIMITS, "config hash (not a digest)");
    assert_null(strchr(fcb_last_error(), '\n'));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_update_metrics_out_of_range_and_hash_text),
        cmocka_unit_test(test_valid_register_decodes),
        cmocka_unit_test(test_valid_task_request_decodes),
        cmocka_unit_test(test_valid_score_update_decodes),
        cmocka_unit_test(test_valid_linear_update_decodes),
        cmocka_unit_test(test_update_without_data_decodes),
        cmocka_unit_test(test_valid_status_request_decodes),
        cmocka_unit_test(test_valid_task_reply_decodes),
        cmocka_unit_test(test_truncated_messages_are_format_errors),
        cmocka_unit_test(test_garbage_is_a_format_error),
        cmocka_unit_test(test_wrong_wire_types_are_format_errors),
        cmocka_unit_test(test_random_bytes_never_pass_validation),
        cmocka_unit_test(test_every_prefix_of_an_update_is_rejected),
        cmocka_unit_test(test_register_field_errors),
        cmocka_unit_test(test_task_request_field_errors),
        cmocka_unit_test(test_update_identity_errors),
        cmocka_unit_test(test_update_examples_beyond_the_round),
        cmocka_unit_test(test_update_metrics_missing_or_not_finite),
        cmocka_unit_test(test_update_delta_of_the_wrong_length),
        cmocka_unit_test(test_update_stats_of_the_wrong_length),
        cmocka_unit_test(test_update_delta_in_a_linear_run),
        cmocka_unit_test(test_update_non_finite_delta_and_stats),
        cmocka_unit_test(test_update_without_examples_carries_no_arrays),
        cmocka_unit_test(test_oversized_delta_is_rejected_by_length),
        cmocka_unit_test(test_task_reply_array_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
