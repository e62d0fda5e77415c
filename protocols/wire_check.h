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
    size_t deployed_stats_size; /* deployed statistics (with D-LinUCB's A~); 0 = stats_size */
    int linear;             /* 1: updates carry statistics, else deltas */
    uint64_t max_examples;  /* examples_per_round */
    const char *config_hash;
    int real;               /* clients bring their own data (and no config) */
} fcb_wire_limits;

/* The largest message of a run whose model takes model_bytes on the wire
 * (a task may carry three models: deployed, current and reference); both
 * ends set it as their send and receive limit. */
size_t fcb_wire_message_limit(size_t model_bytes);
/* What a client with its own data accepts before it knows the model. */
enum { FCB_WIRE_REGISTER_LIMIT = 1 << 30 };

fcb_status fcb_decode_register(const uint8_t *data, size_t len, const fcb_wire_limits *limits,
                               Fedcb__RegisterRequest **out);
fcb_status fcb_decode_task_request(const uint8_t *data, size_t len, const fcb_wire_limits *limits,
                                   Fedcb__TaskRequest **out);
fcb_status fcb_decode_update(const uint8_t *data, size_t len, const fcb_wire_limits *limits,
                             Fedcb__UpdateRequest **out);
fcb_status fcb_decode_status_request(const uint8_t *data, size_t len, Fedcb__StatusRequest **out);

/* The client side: a register reply. With its own data (real = 1) the
 * client needs the plan and the initial model: the plan's model and
 * training values are checked for range, initial_params for count (against
 * the plan's model) and finiteness. */
fcb_status fcb_decode_register_reply(const uint8_t *data, size_t len, int real, Fedcb__RegisterReply **out);

/* The client side: a task reply whose arrays have the model's sizes. */
fcb_status fcb_decode_task_reply(const uint8_t *data, size_t len, const fcb_wire_limits *limits,
                                 Fedcb__TaskReply **out);

#endif
