#ifndef FEDCB_LINEAR_FORGETTING_H
#define FEDCB_LINEAR_FORGETTING_H

#include <stdint.h>

#include "checkpoint_io.h"
#include "linear_bandit.h"
#include "policy.h"

/* Forgetting for a linear bandit's global statistics, one step per
 * federated round (one aggregation: within a round every client acts with
 * the same deployed model, so the round is the unit of time).
 *
 * discount (D-LinUCB, Russac, Vernade, Cappe 2019): with the round's summed
 * update dA_t, db_t,
 *   A_t = gamma A_{t-1} + dA_t,  b_t = gamma b_{t-1} + db_t,
 *   A~_t = gamma^2 A~_{t-1} + dA_t,
 * so V_t = lambda I + A_t and V~_t = lambda I + A~_t are the paper's
 * V_t = gamma V_{t-1} + dA_t + (1 - gamma) lambda I and
 * V~_t = gamma^2 V~_{t-1} + dA_t + (1 - gamma^2) lambda I started at lambda I.
 * A~ is kept only when the policy needs it (LinUCB with gamma < 1).
 * window: the statistics are the sum of the last W rounds' summed updates,
 * kept in a ring of W round deltas and summed oldest first each round.
 *
 * Rounds without an accepted update leave the statistics alone; the next
 * merge applies the rounds in between (gamma^k, or k - 1 empty deltas). */

/* The largest ring a window may keep. */
#define FCB_LINFORGET_MAX_BYTES ((size_t)1 << 30)

typedef struct {
    fcb_forgetting_kind kind;
    double gamma;
    int window;
    int keep_tilde;
} fcb_linforget_config;

typedef struct {
    fcb_linforget_config config;
    size_t a_size;         /* doubles in A */
    size_t flat_size;      /* doubles in the flat statistics */
    double *tilde;         /* keep_tilde: A~ (a_size) */
    double *ring;          /* window: window x flat_size round deltas */
    double *sum;           /* window: flat_size scratch */
    fcb_linstats delta;    /* window: the round's summed update */
    int next;              /* window: ring index the next delta goes to */
    int filled;            /* window: deltas held, <= window */
    int64_t last_round;    /* round of the last merge, -1 before the first */
} fcb_linforget;

/* shape: statistics of the model's shape (K, dim, diagonal). Refuses a
 * ring above FCB_LINFORGET_MAX_BYTES with a line naming policy.window. */
fcb_status fcb_linforget_init(fcb_linforget *f, const fcb_linforget_config *config, const fcb_linstats *shape);
void fcb_linforget_free(fcb_linforget *f);

/* One round's aggregation: updates[slots[i]] for i < count, in client-id
 * order, merged into global with forgetting applied. `round` counts from 0
 * and must be later than the previous merge's. */
fcb_status fcb_linforget_merge(fcb_linforget *f, fcb_linstats *global, const fcb_linstats *updates,
                               const int *slots, int count, int round);

/* The "linear_forget" checkpoint section: the state above and deployed_tilde
 * (a_size values, or NULL without keep_tilde), the A~ of the deployed model. */
fcb_status fcb_linforget_save(const fcb_linforget *f, const double *deployed_tilde, fcb_ckpt_writer *w);
fcb_status fcb_linforget_load(fcb_linforget *f, double *deployed_tilde, fcb_ckpt_reader *r);

#endif
