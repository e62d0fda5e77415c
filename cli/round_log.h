#ifndef FEDCB_ROUND_LOG_H
#define FEDCB_ROUND_LOG_H

#include "client_step.h"
#include "federation.h"
#include "interaction_log.h"

/* The decisions of one round's clients, kept per slot while workers run in
 * any order, then written to the interaction log in slot (client-id) order,
 * so the file is the same whatever the thread count. */
typedef struct {
    int slots;
    int capacity;        /* decisions per slot */
    int *counts;         /* slots */
    int *actions;        /* slots x capacity */
    float *propensities;
    float *rewards;
    fcb_interaction_writer writer;
} fcb_round_log;

/* Opens path for writing; slots x capacity buffers. */
fcb_status fcb_round_log_open(fcb_round_log *log, const char *path, int slots, int capacity);
/* Called by the worker that ran slot `slot`: keeps the decisions in b when
 * the client interacted (done, dropped or stale), else records none. */
void fcb_round_log_keep(fcb_round_log *log, int slot, const fcb_slot *sl, const fcb_client_buffers *b);
/* Appends the round's kept decisions in slot order and clears them. */
fcb_status fcb_round_log_write(fcb_round_log *log, const fcb_federation *f, int round);
/* Closes the file (reporting a failed write) and frees the buffers. */
fcb_status fcb_round_log_close(fcb_round_log *log);

#endif
