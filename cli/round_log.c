#include "round_log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { MAX_VW_CLIENTS = 256 };

fcb_status fcb_round_log_open(fcb_round_log *log, const char *csv_path, const char *vw_dir, int slots, int capacity,
                              int dim, int num_clients)
{
    memset(log, 0, sizeof *log);
    size_t cells = (size_t)slots * (size_t)capacity;
    log->slots = slots;
    log->capacity = capacity;
    log->dim = dim;
    log->num_clients = num_clients;
    log->counts = calloc((size_t)slots, sizeof(int));
    log->actions = calloc(cells, sizeof(int));
    log->propensities = calloc(cells, sizeof(float));
    log->rewards = calloc(cells, sizeof(float));
    int failed = !log->counts || !log->actions || !log->propensities || !log->rewards;
    if (vw_dir) {
        if (num_clients > MAX_VW_CLIENTS)
            return fcb_fail(FCB_ERR_CONFIG, "run.log_vw keeps a file open per client: at most %d clients, not %d",
                            MAX_VW_CLIENTS, num_clients);
        snprintf(log->vw_dir, sizeof log->vw_dir, "%s", vw_dir);
        log->x = calloc(cells * (size_t)dim, sizeof(float));
        log->vw = calloc((size_t)num_clients, sizeof *log->vw);
        log->vw_open = calloc((size_t)num_clients, 1);
        failed = failed || !log->x || !log->vw || !log->vw_open;
        if (!failed && mkdir(vw_dir, 0777) != 0 && errno != EEXIST)
            return fcb_fail(FCB_ERR_IO, "cannot create %s: %s", vw_dir, strerror(errno));
    }
    if (failed)
        return fcb_fail(FCB_ERR_NOMEM, "interaction log: out of memory for %d x %d decisions", slots, capacity);
    if (!csv_path)
        return FCB_OK;
    log->csv = 1;
    return fcb_interaction_writer_open(&log->writer, csv_path);
}

void fcb_round_log_keep(fcb_round_log *log, int slot, const fcb_slot *sl, const fcb_client_buffers *b,
                        const float *x)
{
    int interacted = sl->state == FCB_SLOT_DONE || sl->state == FCB_SLOT_DROPPED || sl->state == FCB_SLOT_STALE;
    int n = interacted ? sl->result.examples : 0;
    if (n > log->capacity)
        n = log->capacity;
    size_t at = (size_t)slot * (size_t)log->capacity;
    memcpy(log->actions + at, b->actions, (size_t)n * sizeof(int));
    memcpy(log->propensities + at, b->propensities, (size_t)n * sizeof(float));
    memcpy(log->rewards + at, b->rewards, (size_t)n * sizeof(float));
    if (log->x)
        memcpy(log->x + at * (size_t)log->dim, x, (size_t)n * (size_t)log->dim * sizeof(float));
    log->counts[slot] = n;
}

static fcb_status write_vw(fcb_round_log *log, int slot, int client)
{
    if (!log->vw_open[client]) {
        char path[1100];
        snprintf(path, sizeof path, "%s/client-%d.vw", log->vw_dir, client);
        fcb_status st = fcb_cb_log_writer_open(&log->vw[client], path);
        if (st != FCB_OK)
            return st;
        log->vw_open[client] = 1;
    }
    size_t at = (size_t)slot * (size_t)log->capacity;
    for (int i = 0; i < log->counts[slot]; i++) {
        fcb_status st = fcb_cb_log_writer_add(&log->vw[client], log->actions[at + i], log->rewards[at + i],
                                              log->propensities[at + i], log->x + (at + i) * (size_t)log->dim,
                                              log->dim);
        if (st != FCB_OK)
            return st;
    }
    return FCB_OK;
}

fcb_status fcb_round_log_write(fcb_round_log *log, const fcb_federation *f, int round)
{
    for (int s = 0; s < f->num_slots; s++) {
        size_t at = (size_t)s * (size_t)log->capacity;
        fcb_status st = FCB_OK;
        if (log->csv)
            st = fcb_interaction_writer_add(&log->writer, round, f->slots[s].client, log->actions + at,
                                            log->propensities + at, log->rewards + at, log->counts[s]);
        if (st == FCB_OK && log->x && log->counts[s] > 0)
            st = write_vw(log, s, f->slots[s].client);
        if (st != FCB_OK)
            return st;
        log->counts[s] = 0;
    }
    return FCB_OK;
}

fcb_status fcb_round_log_close(fcb_round_log *log)
{
    fcb_status st = log->csv ? fcb_interaction_writer_close(&log->writer) : FCB_OK;
    for (int c = 0; log->vw_open && c < log->num_clients; c++) {
        fcb_status closed = log->vw_open[c] ? fcb_cb_log_writer_close(&log->vw[c]) : FCB_OK;
        st = st == FCB_OK ? closed : st;
    }
    free(log->counts);
    free(log->actions);
    free(log->propensities);
    free(log->rewards);
    free(log->x);
    free(log->vw);
    free(log->vw_open);
    memset(log, 0, sizeof *log);
    return st;
}
