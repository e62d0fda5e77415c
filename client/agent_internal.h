#ifndef FEDCB_AGENT_INTERNAL_H
#define FEDCB_AGENT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "agent_store.h"
#include "client_plan.h"
#include "client_round.h"
#include "fedcb/agent.h"
#include "model.h"
#include "policy.h"

/* The agent's state, shared by its modules: agent.c (open, decide,
 * feedback, close), agent_events.c (events awaiting feedback and resolved
 * ones), agent_learn.c (the local learner and the round a learner runs) and
 * agent_federation.c (the learner of a federation). Each group of fields
 * says which lock guards it. */

enum { FCB_EVENT_EMPTY, FCB_EVENT_PENDING, FCB_EVENT_REWARDED, FCB_EVENT_EXPIRED };

typedef struct {
    uint64_t id;
    double time;              /* wall clock, seconds since the epoch */
    int64_t version;
    int action;
    float propensity;
    int state;                /* FCB_EVENT_* */
} fcb_event_slot;

/* Rows of resolved events: an event id, its context, the action taken, its
 * propensity and its reward (given, or 0 when the window passed). */
typedef struct {
    int capacity, n, dim;
    uint64_t *ids;
    int *actions;
    float *propensities;
    float *rewards;
    float *x;                 /* capacity x dim */
} fcb_event_rows;

/* Resolved events awaiting a round: rows used as a ring from head, n of them. */
typedef struct {
    fcb_event_rows rows;
    int head;
} fcb_resolved_ring;

/* The background learner: local, or a federation's (agent_federation.c). */
typedef struct fcb_agent fcb_agent;
typedef void *(*fcb_learner_main)(void *agent);

struct fcb_agent {
    fcb_agent_options options;     /* strings point into the copies below */
    char *arch, *policy_name, *loss_name, *store_path, *coordinator, *tls_dir;

    /* The deciding model; model_lock (decide reads, a learner writes). */
    pthread_rwlock_t model_lock;
    fcb_model model;
    float *params;
    int64_t version;
    fcb_policy_config policy;

    /* The learning plan (the options' in local mode, the coordinator's in
     * a federation); only the learner thread uses it after open. */
    fcb_client_plan plan;

    /* Events; events_lock. Slot id % pending_capacity holds event id. */
    pthread_mutex_t events_lock;
    pthread_cond_t events_changed;
    uint64_t next_id;
    uint64_t oldest_unresolved;    /* ids below are resolved or gone */
    fcb_event_slot *slots;
    float *slot_x;                 /* pending_capacity x input_dim */
    fcb_resolved_ring resolved;
    int stopping;

    atomic_uint_fast64_t decisions, feedback, expired, rounds, dropped;

    fcb_agent_store *store;        /* NULL: no store */

    pthread_t learner;
    int learner_started;
    atomic_int stop;               /* close sets it; the learner thread and its client read it */
    atomic_int learner_running;
    int federated;
    char learner_error[512];       /* written by the learner before it stops running */
};

/* agent.c */
fcb_status fcb_agent_open_with(const fcb_agent_options *options, fcb_learner_main federation, fcb_agent **out);
/* Replaces the deciding model (a learner's new one); shapes must agree. */
void fcb_agent_deploy(fcb_agent *a, const float *params, int64_t version);
/* Replaces the model's shape, policy and parameters (a federation's plan). */
fcb_status fcb_agent_adopt_plan(fcb_agent *a, const fcb_client_plan *plan, const float *params, int64_t version);
void fcb_agent_set_learner_error(fcb_agent *a, const char *message);

/* agent_events.c; all called with events_lock held. */
void fcb_events_resolve(fcb_agent *a, uint64_t id, const float *x, int action, float propensity, float reward);
/* Events older than the feedback window count as 0. */
void fcb_events_expire(fcb_agent *a, double now);

/* A learner's batch of resolved events, taken out of the ring. */
typedef fcb_event_rows fcb_agent_batch;

fcb_status fcb_agent_batch_init(fcb_agent_batch *b, int capacity, int dim);
void fcb_agent_batch_free(fcb_agent_batch *b);
/* Moves up to b->capacity of the oldest resolved events into b (events_lock held). */
void fcb_events_take(fcb_agent *a, fcb_agent_batch *b);

/* agent_learn.c */
void *fcb_agent_local_learner(void *agent);
/* The batch as a data source of logged decisions (one round's contexts). */
fcb_data_source fcb_agent_batch_source(fcb_agent_batch *b);
/* Waits (events_lock not held) until at least min_events are resolved, or
 * `seconds` pass, or the agent stops; then takes a batch: with partial,
 * whatever is there; without, nothing unless min_events are. */
void fcb_agent_wait_batch(fcb_agent *a, int min_events, double seconds, int partial, fcb_agent_batch *b);
/* After a round trained on b: the store may delete those rows. */
void fcb_agent_consumed(fcb_agent *a, const fcb_agent_batch *b);

#endif
