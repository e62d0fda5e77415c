#include "agent_internal.h"

#include <stdlib.h>
#include <string.h>

/* Appends a resolved event; when the ring is full the oldest resolved one
 * is dropped from learning (it stays in the store) and counted. */
void fcb_events_resolve(fcb_agent *a, uint64_t id, const float *x, int action, float propensity, float reward)
{
    fcb_resolved_ring *r = &a->resolved;
    fcb_event_rows *rows = &r->rows;
    int d = rows->dim;
    if (rows->n == rows->capacity) {
        r->head = (r->head + 1) % rows->capacity;
        rows->n--;
        atomic_fetch_add(&a->dropped, 1);
    }
    int at = (r->head + rows->n) % rows->capacity;
    rows->ids[at] = id;
    rows->actions[at] = action;
    rows->propensities[at] = propensity;
    rows->rewards[at] = reward;
    memcpy(rows->x + (size_t)at * d, x, (size_t)d * sizeof(float));
    rows->n++;
    pthread_cond_broadcast(&a->events_changed);
}

void fcb_events_expire(fcb_agent *a, double now)
{
    double cutoff = now - a->options.feedback_window;
    uint64_t p = (uint64_t)a->options.pending_capacity;
    uint64_t lowest = a->next_id > p ? a->next_id - p : 1;
    if (a->oldest_unresolved < lowest)
        a->oldest_unresolved = lowest;
    while (a->oldest_unresolved < a->next_id) {
        uint64_t id = a->oldest_unresolved;
        size_t slot = (size_t)(id % p);
        fcb_event_slot *s = &a->slots[slot];
        if (s->id == id && s->state == FCB_EVENT_PENDING) {
            if (s->time > cutoff)
                return;
            fcb_events_resolve(a, id, a->slot_x + slot * (size_t)a->options.input_dim, s->action, s->propensity,
                               0.0f);
            s->state = FCB_EVENT_EXPIRED;
            atomic_fetch_add(&a->expired, 1);
        }
        a->oldest_unresolved++;
    }
}

fcb_status fcb_agent_batch_init(fcb_agent_batch *b, int capacity, int dim)
{
    memset(b, 0, sizeof *b);
    b->capacity = capacity;
    b->dim = dim;
    b->ids = malloc((size_t)capacity * sizeof *b->ids);
    b->actions = malloc((size_t)capacity * sizeof *b->actions);
    b->propensities = malloc((size_t)capacity * sizeof *b->propensities);
    b->rewards = malloc((size_t)capacity * sizeof *b->rewards);
    b->x = malloc((size_t)capacity * (size_t)dim * sizeof *b->x);
    if (!b->ids || !b->actions || !b->propensities || !b->rewards || !b->x)
        return fcb_fail(FCB_ERR_NOMEM, "agent: out of memory for a batch of %d events", capacity);
    return FCB_OK;
}

void fcb_agent_batch_free(fcb_agent_batch *b)
{
    free(b->ids);
    free(b->actions);
    free(b->propensities);
    free(b->rewards);
    free(b->x);
    memset(b, 0, sizeof *b);
}

void fcb_events_take(fcb_agent *a, fcb_agent_batch *b)
{
    fcb_resolved_ring *r = &a->resolved;
    const fcb_event_rows *rows = &r->rows;
    int d = b->dim;
    b->n = rows->n < b->capacity ? rows->n : b->capacity;
    for (int i = 0; i < b->n; i++) {
        int at = (r->head + i) % rows->capacity;
        b->ids[i] = rows->ids[at];
        b->actions[i] = rows->actions[at];
        b->propensities[i] = rows->propensities[at];
        b->rewards[i] = rows->rewards[at];
        memcpy(b->x + (size_t)i * d, rows->x + (size_t)at * d, (size_t)d * sizeof(float));
    }
    r->head = (r->head + b->n) % rows->capacity;
    r->rows.n -= b->n;
}
