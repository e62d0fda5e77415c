#ifndef FEDCB_PAIRWISE_FEEDBACK_H
#define FEDCB_PAIRWISE_FEEDBACK_H

#include "rng.h"
#include "status.h"

/* Pairwise implicit feedback. For one context the client shows two distinct
 * actions drawn from its policy p without replacement: a1 ~ p, then a2 ~ p
 * restricted to the other actions and renormalised. If every other action
 * has probability 0 (a greedy or saturated policy), a2 is uniform over the
 * other K - 1 actions instead of failing. The simulated user prefers a1
 * with the Bradley-Terry probability sigmoid((u(a1) - u(a2)) / T); T = 0
 * means the higher utility wins and a tie is a fair coin. The stated
 * preference is then reversed with probability flip_rate. The result is
 * the logged pair (a_w, a_l).
 *
 * p need not sum to 1 (it is normalised here) but must be finite, >= 0,
 * with a positive sum; K >= 2. */

typedef struct {
    double temperature; /* Bradley-Terry T >= 0 */
    double flip_rate;   /* in [0, 1] */
} fcb_pairwise_config;

/* Names the first bad field: "pairwise.temperature = -1: must be >= 0".
 * FCB_ERR_CONFIG. */
fcb_status fcb_pairwise_config_validate(const fcb_pairwise_config *config);

/* One context. Draws exactly four uniforms from rng (a1, a2, preference,
 * flip) whatever the outcome, so later draws do not depend on it. */
fcb_status fcb_pairwise_draw(const fcb_pairwise_config *config, const float *probs,
                             const float *utilities, int k, fcb_rng *rng, int *winner,
                             int *loser);

/* The exact probability that fcb_pairwise_draw logs (winner, loser):
 *   [P(a1 = w, a2 = l) + P(a1 = l, a2 = w)] * [(1 - e) q + e (1 - q)],
 * q = P(the user prefers w over l), e = flip_rate. */
fcb_status fcb_pairwise_pair_probability(const fcb_pairwise_config *config, const float *probs,
                                         const float *utilities, int k, int winner, int loser,
                                         double *probability);

/* n contexts: probs and utilities are n x K, winners and losers n (out).
 * Rows are drawn in order from the one rng, four uniforms each; every row
 * is checked before the first draw. */
fcb_status fcb_pairwise_feedback(const fcb_pairwise_config *config, const float *probs,
                                 const float *utilities, int n, int k, fcb_rng *rng,
                                 int *winners, int *losers);

#endif
