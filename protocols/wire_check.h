#ifndef FEDCB_WIRE_CHECK_H
#define FEDCB_WIRE_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "fedcb.pb-c.h"
#include "status.h"

/* Decoding and structural validation of every request the coordinator
 * receives, before any of it is used. What needs the round's state (the
 * round id, whether the client was sampled, duplicates, the norm bound) is
 * checked by the coordinator afterwards. Failures are FCB_ERR_FORMAT (not a
 * message of that type) or FCB_ERR_ARG (a field out of range), with a
 * one-line message naming the field and the client. */

enum { FCB_PROTOCOL_VERSION = 1 };

#define FCB_RPC_REGISTER "/fedcb.Coordinator/RegisterClient"
#define FCB_RPC_GET_TASK "/fedcb.Coordinator/GetTask"
#define FCB_RPC_SUBMIT_UPDATE "/fedcb.Coordinator/SubmitUpdate"
#define FCB_RPC_STATUS "/fedcb.Coordinator/Status"

typedef struct {
    uint32_t num_clients;
    size_t num_params;      /* delta length of score-based policies */
    size_t stats_size;      /* statistics length of linear bandits */
    int linear;             /* 1: updates carry statistics, else deltas */
    uint64_t max_examples;  /* examples_per_round */
    const char *config_hash;
} fcb_wire_limits;

fcb_status fcb_decode_register(const uint8_t *data, size_t len, const fcb_wire_limits *limits,
                               Fedcb__RegisterRequest **out);
fcb_status fcb_decode_task_request(const uint8_t *data, size_t len, const fcb_wire_limits *limits,
                                   Fedcb__TaskRequest **out);
fcb_status fcb_decode_update(const uint8_t *data, size_t len, const fcb_wire_limits *limits,
                             Fedcb__UpdateRequest **out);
fcb_status fcb_decode_status_request(const uint8_t *data, size_t len, Fedcb__StatusRequest **out);

/* The client side: a task reply whose arrays have the model's sizes. */
fcb_status fcb_decode_task_reply(const uint8_t *data, size_t len, const fcb_wire_limits *limits,
                                 Fedcb__TaskReply **out);

#endif
