#ifndef FEDCB_TESTS_WIRE_FIXTURE_H
#define FEDCB_TESTS_WIRE_FIXTURE_H

#include "wire_check.h"

/* The limits fuzz_wire decodes against; make_corpus writes seeds valid for
 * them. The first byte of every fuzz input picks the message type. */
enum {
    WIRE_REGISTER,
    WIRE_TASK_REQUEST,
    WIRE_UPDATE,
    WIRE_STATUS,
    WIRE_TASK_REPLY,
    WIRE_NUM_TYPES
};

enum { WIRE_NUM_CLIENTS = 4, WIRE_NUM_PARAMS = 6, WIRE_STATS_SIZE = 9, WIRE_MAX_EXAMPLES = 50 };

static const char WIRE_HASH[] = "3f7a0c9e5b21d4a8f6e07c3b9d15a2e4c8f03b6d7e91a5c2d4b8e06f1a3c5d79";

static const fcb_wire_limits WIRE_SCORE_LIMITS = {
    .num_clients = WIRE_NUM_CLIENTS,
    .num_params = WIRE_NUM_PARAMS,
    .stats_size = 0,
    .linear = 0,
    .max_examples = WIRE_MAX_EXAMPLES,
    .config_hash = WIRE_HASH,
};

static const fcb_wire_limits WIRE_LINEAR_LIMITS = {
    .num_clients = WIRE_NUM_CLIENTS,
    .num_params = WIRE_NUM_PARAMS,
    .stats_size = WIRE_STATS_SIZE,
    .linear = 1,
    .max_examples = WIRE_MAX_EXAMPLES,
    .config_hash = WIRE_HASH,
};

#endif
