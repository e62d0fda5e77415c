#ifndef FEDCB_AGENT_STORE_H
#define FEDCB_AGENT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* The agent's local interaction store: one SQLite file in WAL mode holding
 * the decisions, their feedback and the latest model.
 *
 * Puts only copy into a preallocated in-memory queue; a background writer
 * thread drains it in batches, one transaction per batch, and does all the
 * deleting (consume, max_rows, max_age). A flush waits until everything put
 * before it is committed. Once the writer fails (a full disk) the error is
 * sticky: every later put, consume, flush, save_model and close returns it.
 *
 * Threads: puts, consume, flush, save_model and the reads may be called from
 * any number of threads; close must not race with any other call.
 *
 * The file: PRAGMA application_id FCB_AGENT_STORE_APPLICATION_ID, PRAGMA
 * user_version FCB_AGENT_STORE_SCHEMA_VERSION, tables
 *   meta(id = 1, input_dim, num_actions, last_event_id)
 *   decisions(id INTEGER PRIMARY KEY, time, version, action, propensity,
 *             context BLOB of input_dim native-endian floats)
 *   feedback(event_id INTEGER PRIMARY KEY, reward, time)
 *   model(id = 1, version, params BLOB of floats) */

enum {
    FCB_AGENT_STORE_APPLICATION_ID = 0x66636231, /* "fcb1" */
    FCB_AGENT_STORE_SCHEMA_VERSION = 1,
    FCB_AGENT_STORE_DEFAULT_QUEUE = 65536
};

typedef struct fcb_agent_store fcb_agent_store;

typedef struct {
    const char *path;      /* copied */
    int input_dim;         /* recorded in a new file; an existing one must agree */
    int num_actions;
    int sync_full;         /* 1: synchronous=FULL, a flush survives power loss; 0: NORMAL, a process crash */
    long max_rows;         /* 0: unbounded; else after each commit the oldest decisions beyond it go */
    double max_age;        /* seconds, 0: unbounded; else decisions older than now - max_age go */
    int queue_capacity;    /* records (decisions + feedback + consumed ids) the queue holds; 0: the default
                            * FCB_AGENT_STORE_DEFAULT_QUEUE, lowered so its contexts take at most 256 MiB */
} fcb_agent_store_options;

/* time: seconds since the Unix epoch (max_age compares it to the clock).
 * event_id in 1..INT64_MAX; ids are meant to grow with time. */
typedef struct {
    uint64_t event_id;
    double time;
    int64_t version;
    int action;            /* in [0, num_actions) */
    float propensity;      /* in (0, 1] */
    const float *context;  /* input_dim floats */
} fcb_store_decision;

/* Opens or creates the store, applies max_rows/max_age once and starts the
 * writer. Refused with one line naming the path: a file that is not a
 * SQLite database, one of another application, a newer schema, another
 * input_dim or num_actions, a missing directory, a read-only location, a
 * full disk. */
fcb_status fcb_agent_store_open(const fcb_agent_store_options *options, fcb_agent_store **out);

/* Enqueue one record (the context is copied); never touch the disk. They
 * wait only while the queue is full (fcb_agent_store_waits counts the puts
 * that waited). A second decision with the same id, or feedback for an id
 * that already has some, is ignored by the writer; so is feedback for an
 * event whose decision is not in the store (consumed or bounded away). */
fcb_status fcb_agent_store_put_decision(fcb_agent_store *s, const fcb_store_decision *d);
fcb_status fcb_agent_store_put_feedback(fcb_agent_store *s, uint64_t event_id, float reward, double time);

/* These events were used by a learning round: their decisions and feedback
 * are deleted (by the writer, in order with the puts). */
fcb_status fcb_agent_store_consume(fcb_agent_store *s, const uint64_t *event_ids, int n);

/* Waits until everything enqueued before the call is committed (durable as
 * sync_full says); returns the writer's sticky error if any. */
fcb_status fcb_agent_store_flush(fcb_agent_store *s);

/* The model replaces the previous one. The writer writes it after every
 * record put before the call, in one transaction with those not yet
 * committed (a consume and the model learnt from those events survive or
 * vanish together); returns once it is committed. */
fcb_status fcb_agent_store_save_model(fcb_agent_store *s, int64_t version, const float *params, size_t n);

/* The committed model: *found 0 if none. A stored model of another size
 * than n is an error naming both. */
fcb_status fcb_agent_store_load_model(fcb_agent_store *s, int64_t *version, float *params, size_t n, int *found);

/* The largest event id ever committed to the file as of open (0 if none);
 * kept in meta, so it survives consumed and bounded-away rows. */
uint64_t fcb_agent_store_last_event_id(const fcb_agent_store *s);

/* Every committed decision in id order with its feedback if any. The
 * callback's d->context is valid during the call only; a non-OK return
 * stops the scan and is returned. The callback may put but must not call
 * scan, counts or load_model of the same store. */
typedef fcb_status (*fcb_store_row_fn)(void *ctx, const fcb_store_decision *d, int has_feedback, float reward,
                                       double feedback_time);
fcb_status fcb_agent_store_scan(fcb_agent_store *s, fcb_store_row_fn fn, void *ctx);

/* Committed rows. */
fcb_status fcb_agent_store_counts(fcb_agent_store *s, long *decisions, long *feedback);

/* Puts that waited on a full queue since open. */
uint64_t fcb_agent_store_waits(const fcb_agent_store *s);

/* Drains and commits the queue, stops the writer, closes the file and frees
 * s (also on error). Returns the sticky error or the first error closing. */
fcb_status fcb_agent_store_close(fcb_agent_store *s);

#endif
