#ifndef FEDCB_PUBLIC_AGENT_H
#define FEDCB_PUBLIC_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "fedcb/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A contextual-bandit agent inside an application. The application gives a
 * context and gets an action (decide), shows it, and later says what the
 * user did (feedback). The agent logs both to a local SQLite store and
 * learns in the background: alone (local mode) or as one client of a
 * federation (a coordinator address), where its contexts and feedback never
 * leave the host; only model updates do.
 *
 * Threads: decide, feedback and the read-only queries may be called from any
 * number of threads at once. decide never waits on the disk or the network;
 * it waits only when the store's write queue is full (the disk is slower
 * than the decisions for longer than the queue holds). flush and close must
 * not race with each other or with calls on a closed agent. */

typedef struct fcb_agent fcb_agent;

/* Options. Fill with fcb_agent_options_default, then set what you need.
 * Strings are copied by fcb_agent_open. */
typedef struct {
    /* The model. In a federation the coordinator's plan replaces these
     * (the agent checks input_dim and num_actions agree). */
    int input_dim;            /* context width; named features hash into it */
    int num_actions;          /* K */
    const char *arch;         /* "linear" (default) or "mlp" ("cnn" is refused) */
    int hidden;               /* mlp hidden units */
    const char *policy;       /* "softmax" (default), "epsilon_greedy", "igw", "greedy", "uniform" */
    float epsilon;            /* epsilon_greedy */
    float temperature;        /* softmax */
    float igw_gamma;          /* igw */
    uint64_t seed;            /* decisions: event e draws from (seed, e), whatever the thread */

    /* Local learning (no coordinator): every learn_every resolved events
     * the agent trains on them; 0 never learns. */
    int learn_every;
    float learning_rate;
    int local_epochs;
    int batch_size;
    const char *loss;         /* "chosen_squared" (default), "importance_squared", "doubly_robust" */

    /* Named features ("user=42 price:0.7"): hashed into input_dim with
     * this seed; every client of a federation must use the same. */
    uint32_t hash_seed;

    /* Implicit feedback: an event with no feedback within this many seconds
     * counts as reward 0 (no click is a signal). */
    double feedback_window;
    int pending_capacity;     /* the most events awaiting feedback; the oldest counts as 0 beyond */

    /* The local interaction store (SQLite, WAL). NULL: no store (nothing
     * logged, nothing survives a restart). */
    const char *store_path;
    long store_max_rows;      /* 0: unbounded; else the oldest rows go first */
    double store_max_age;     /* seconds; 0: unbounded */
    int store_queue;          /* write queue capacity in events */
    int store_sync_full;      /* 1 (default): a flush survives power loss; 0: survives a crash of the process */

    /* Federation. NULL coordinator: local mode. */
    const char *coordinator;  /* HOST:PORT */
    const char *tls_dir;      /* ca.crt, client-<id>.crt, client-<id>.key */
    int insecure;             /* plaintext, loopback only */
    int client_id;
    int min_round_events;     /* a sampled round waits for this many resolved events */
    double round_wait;        /* ... at most this many seconds, then trains on what it has */
    double give_up;           /* seconds without reaching the coordinator before the learner stops */
    int quiet;                /* 1: no log lines on stderr */
} fcb_agent_options;

void fcb_agent_options_default(fcb_agent_options *options);

/* Opens an agent: validates the options, opens (or creates) the store and
 * resumes from it, and starts the background writer and learner. In a
 * federation it returns at once and registers in the background; until a
 * model arrives decide uses the initial model of the options (or the one in
 * the store). */
fcb_status fcb_agent_open(const fcb_agent_options *options, fcb_agent **out);

/* The same from an INI file: [agent] keys named as the options
 * (input_dim = 20, policy = softmax, store_path = ..., coordinator = ...).
 * A key it does not know is an error naming file, line and key. */
fcb_status fcb_agent_open_ini(const char *path, fcb_agent **out);

/* One decision. */
typedef struct {
    int action;               /* in [0, num_actions) */
    float propensity;         /* p(action | context) under the policy */
    uint64_t event_id;        /* give it to fcb_agent_feedback */
    int64_t model_version;    /* the model that decided; grows when a new one is deployed */
} fcb_decision;

/* A dense context of input_dim floats. */
fcb_status fcb_agent_decide(fcb_agent *agent, const float *context, int dim, fcb_decision *out);

/* Named features, space-separated: "name=value" (a category, value 1) or
 * "name:number" (a number), e.g. "user=42 hour=13 price:0.7". */
fcb_status fcb_agent_decide_features(fcb_agent *agent, const char *features, fcb_decision *out);

/* The reward of an event (a click 1, none 0; any finite value). Refused:
 * an event id never issued, one that already has feedback, or one whose
 * window has passed (it counted as 0). */
fcb_status fcb_agent_feedback(fcb_agent *agent, uint64_t event_id, float reward);

/* Waits until every decision and feedback acknowledged before the call is
 * in the store on disk; returns the store's error if writing failed (a full
 * disk), which every later call returns too. */
fcb_status fcb_agent_flush(fcb_agent *agent);

/* Flushes, stops the learner (leaving the federation) and frees the agent.
 * Returns the first error of the flush or the learner. */
fcb_status fcb_agent_close(fcb_agent *agent);

/* What the agent has done; safe from any thread. */
typedef struct {
    int64_t model_version;
    uint64_t decisions;       /* since open */
    uint64_t feedback;        /* since open */
    uint64_t expired;         /* events that counted as 0 */
    uint64_t rounds;          /* local updates, or federated rounds submitted */
    uint64_t store_waits;     /* decisions that waited on a full write queue */
    int federated;            /* 1 with a coordinator */
    int learner_running;      /* 0 once the federation is over or gave up */
} fcb_agent_stats;

fcb_status fcb_agent_stats_get(const fcb_agent *agent, fcb_agent_stats *out);

/* The context width and number of actions the agent was opened with. */
int fcb_agent_input_dim(const fcb_agent *agent);
int fcb_agent_num_actions(const fcb_agent *agent);

/* Convenience: the model version decide uses now. */
int64_t fcb_agent_model_version(const fcb_agent *agent);

/* The learner's error, if it stopped on one ("" if none): e.g. the
 * coordinator refused this client. */
const char *fcb_agent_learner_error(const fcb_agent *agent);

#ifdef __cplusplus
}
#endif

#endif
