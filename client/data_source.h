#ifndef FEDCB_DATA_SOURCE_H
#define FEDCB_DATA_SOURCE_H

#include "rng.h"
#include "status.h"

/* Where a client's data comes from, seen from the client: the contexts of a
 * round and the feedback of the actions it took. A deployment implements it
 * over its own data (a log of past decisions, an application's events); the
 * simulator over its simulated world. Nothing of a client's data leaves the
 * client through it: the client step reads it and sends only its update. */

/* The contexts of one round. When `actions` is set the decisions were made
 * already (a replayed log): the client trains on the logged action,
 * propensity and reward instead of deciding. */
typedef struct {
    int n;                      /* rows; 0 = no data this round */
    const float *x;             /* n x input_dim */
    const int *actions;         /* n logged actions in [0, K), or NULL */
    const float *propensities;  /* n, in (0, 1], with actions */
    const float *rewards;       /* n, with actions */
} fcb_round_contexts;

typedef struct {
    void *context;
    /* Fills out for (client, round); the arrays stay valid until the next call. */
    fcb_status (*contexts)(void *context, int client, int round, fcb_round_contexts *out);
    /* The implicit feedback of taking `action` on row `row` of the last
     * contexts (a click is 1, nothing 0); rng is the round's feedback stream. */
    float (*feedback)(void *context, int row, int action, fcb_rng *rng);
    /* Simulated worlds only, else NULL: the expected reward of any action
     * (full-information losses, oracle reports). */
    float (*true_reward)(void *context, int row, int action);
    /* Simulated users only, else NULL (no preference rounds): for each row,
     * two distinct actions are drawn from probs (n x K) and the user says
     * which is preferred; *shown_utility sums the mean true utility of the
     * two shown actions. */
    fcb_status (*compare)(void *context, const float *probs, int n, int k, fcb_rng *rng, int *winners,
                          int *losers, double *shown_utility);
} fcb_data_source;

/* The feedback function of a source whose every row carries its logged
 * reward (replayed logs, an application's resolved events): never asked;
 * returns 0. */
float fcb_no_feedback(void *context, int row, int action, fcb_rng *rng);

#endif
