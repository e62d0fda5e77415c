#ifndef FEDCB_ROUND_LOG_H
#define FEDCB_ROUND_LOG_H

#include "cb_log.h"
#include "client_step.h"
#include "federation.h"
#include "interaction_log.h"

/* The decisions of one round's clients, kept per slot while workers run in
 * any order, then written in slot (client-id) order, so the files are the
 * same whatever the thread count:
 *   - run.log_interactions: DIR/interactions.csv.gz (round, client, row,
 *     action, propensity, reward; the config recreates the contexts);
 *   - run.log_vw: DIR/logs/client-N.vw, each client's decisions with their
 *     contexts in Vowpal Wabbit's contextual-bandit format, the log a real
 *     client would keep (fedcb client --data replays it). */
typedef struct {
    int slots;
    int capacity;        /* decisions per slot */
    int dim;             /* context features (VW logs) */
    int *counts;         /* slots */
    int *actions;        /* slots x capacity */
    float *propensities;
    float *rewards;
    float *x;            /* slots x capacity x dim; VW logs only */
    int csv;             /* the interaction log is open */
    fcb_interaction_writer writer;
    char vw_dir[1024];   /* "" without VW logs */
    int num_clients;
    fcb_cb_log_writer *vw;     /* num_clients, opened at a client's first decision */
    unsigned char *vw_open;
} fcb_round_log;

/* csv_path and vw_dir may each be NULL (not written); slots x capacity
 * buffers. VW logs keep one file per client open: at most 256 clients. */
fcb_status fcb_round_log_open(fcb_round_log *log, const char *csv_path, const char *vw_dir, int slots, int capacity,
                              int dim, int num_clients);
/* Called by the worker that ran slot `slot`: keeps the decisions in b (and
 * the contexts x) when the client interacted (done, dropped or stale),
 * else records none. */
void fcb_round_log_keep(fcb_round_log *log, int slot, const fcb_slot *sl, const fcb_client_buffers *b,
                        const float *x);
/* Appends the round's kept decisions in slot order and clears them. */
fcb_status fcb_round_log_write(fcb_round_log *log, const fcb_federation *f, int round);
/* Closes the files (reporting a failed write) and frees the buffers. */
fcb_status fcb_round_log_close(fcb_round_log *log);

#endif
