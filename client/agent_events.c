#include "agent_internal.h"

#include <stdlib.h>
#include <string.h>

fcb_status fcb_resolved_init(fcb_resolved_ring *r, int capacity, int dim)
{
    memset(r, 0, sizeof *r);
    r->capacity = capacity;
    r->ids = malloc((size_t)capacity * sizeof *r->ids);
    r->actions = malloc((size_t)capacity * sizeof *r->actions);
    r->propensities = malloc((size_t)capacity * sizeof *r->propensities);
    r->rewards = malloc((size_t)capacity * sizeof *r->rewards);
    r->x = malloc((size_t)capacity * (size_t)dim * sizeof *r->x);
    if (!r->ids || !r->actions || !r->propensities || !r->rewards || !r->x)
        return fcb_fail(FCB_ERR_NOMEM, "agent: out of memory for %d resolved events", capacity);
    return FCB_OK;
}

void fcb_resolved_free(fcb_resolved_ring *r)
{
    free(r->ids);
    free(r->actions);
    free(r->propensities);
    free(r->rewards);
    free(r->x);
    memset(r, 0, sizeof *r);
}

/* Appends a resolved event; when the ring is full the oldest resolved one
 * is dropped from learning (it stays in the store) and counted. */
void fcb_events_resolve(fcb_agent *a, uint64_t id, const float *x, int action, float propensity, float reward)
{
    fcb_resolved_ring *r = &a->resolved;
    int d = a->options.input_dim;
    if (r->count == r->capacity) {
        r->head = (r->head + 1) % r->capacity;
        r->count--;
        atomic_fetch_add(&a->dropped, 1);
    }
    int at = (r->head + r->count) % r->capacity;
    r->ids[at] = id;
    r->actions[at] = action;
    r->propensities[at] = propensity;
    r->rewards[at] = reward;
    memcpy(r->x + (size_t)at * d, x, (size_t)d * sizeof(float));
    r->count++;
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
    int d = b->dim;
    b->n = r->count < b->capacity ? r->count : b->capacity;
    for (int i = 0; i < b->n; i++) {
        int at = (r->head + i) % r->capacity;
        b->ids[i] = r->ids[at];
        b->actions[i] = r->actions[at];
        b->propensities[i] = r->propensities[at];
        b->rewards[i] = r->rewards[at];
        memcpy(b->x + (size_t)i * d, r->x + (size_t)at * d, (size_t)d * sizeof(float));
    }
    r->head = (r->head + b->n) % r->capacity;
    r->count -= b->n;
}
