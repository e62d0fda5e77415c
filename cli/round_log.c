#include "round_log.h"

#include <stdlib.h>
#include <string.h>

fcb_status fcb_round_log_open(fcb_round_log *log, const char *path, int slots, int capacity)
{
    memset(log, 0, sizeof *log);
    size_t cells = (size_t)slots * (size_t)capacity;
    log->slots = slots;
    log->capacity = capacity;
    log->counts = calloc((size_t)slots, sizeof(int));
    log->actions = calloc(cells, sizeof(int));
    log->propensities = calloc(cells, sizeof(float));
    log->rewards = calloc(cells, sizeof(float));
    if (!log->counts || !log->actions || !log->propensities || !log->rewards) {
        fcb_round_log_close(log);
        return fcb_fail(FCB_ERR_NOMEM, "interaction log: out of memory for %d x %d decisions", slots, capacity);
    }
    return fcb_interaction_writer_open(&log->writer, path);
}

void fcb_round_log_keep(fcb_round_log *log, int slot, const fcb_slot *sl, const fcb_client_buffers *b)
{
    int interacted = sl->state == FCB_SLOT_DONE || sl->state == FCB_SLOT_DROPPED || sl->state == FCB_SLOT_STALE;
    int n = interacted ? sl->result.examples : 0;
    if (n > log->capacity)
        n = log->capacity;
    size_t at = (size_t)slot * (size_t)log->capacity;
    memcpy(log->actions + at, b->actions, (size_t)n * sizeof(int));
    memcpy(log->propensities + at, b->propensities, (size_t)n * sizeof(float));
    memcpy(log->rewards + at, b->rewards, (size_t)n * sizeof(float));
    log->counts[slot] = n;
}

fcb_status fcb_round_log_write(fcb_round_log *log, const fcb_federation *f, int round)
{
    for (int s = 0; s < log->slots; s++) {
        size_t at = (size_t)s * (size_t)log->capacity;
        fcb_status st = fcb_interaction_writer_add(&log->writer, round, f->slots[s].client, log->actions + at,
                                                   log->propensities + at, log->rewards + at, log->counts[s]);
        if (st != FCB_OK)
            return st;
        log->counts[s] = 0;
    }
    return FCB_OK;
}

fcb_status fcb_round_log_close(fcb_round_log *log)
{
    fcb_status st = fcb_interaction_writer_close(&log->writer);
    free(log->counts);
    free(log->actions);
    free(log->propensities);
    free(log->rewards);
    log->counts = NULL;
    log->actions = NULL;
    log->propensities = NULL;
    log->rewards = NULL;
    return st;
}
