#ifndef FEDCB_PREFERENCE_LOSS_H
#define FEDCB_PREFERENCE_LOSS_H

#include "status.h"

/* Preference losses over a batch of n logged pairs (a_w preferred over a_l).
 * The policy is pi(a|x) = softmax(f(x) / tau)_a over K scores f, the
 * reference pi_ref(a|x) = softmax(f_ref(x) / tau)_a from a frozen model. Per
 * pair, with log pi(a) = f(a)/tau - logsumexp(f/tau),
 *   h = [log pi(a_w) - log pi_ref(a_w)] - [log pi(a_l) - log pi_ref(a_l)]
 * and z = beta h (the implicit reward margin):
 *   dpo      -log sigmoid(z)                                  Rafailov et al. 2023
 *   ipo      (h - 1/(2 ipo_tau))^2                            Azar et al. 2023
 *   rdpo     [(1-e)(-log sigmoid(z)) - e(-log sigmoid(-z))] / (1-2e), e = flip_rate
 *                                                             Chowdhury et al. 2024
 *   distill  (z - (r_m(a_w) - r_m(a_l)))^2 for M reward models r_m, combined per
 *            pair by the worst member (pessimistic) or the mean   Fisch et al. 2024
 * The loss is the mean over pairs; the gradient is with respect to the
 * policy scores f only (the reference is frozen). */

typedef enum {
    FCB_PREFERENCE_DPO,
    FCB_PREFERENCE_IPO,
    FCB_PREFERENCE_RDPO,
    FCB_PREFERENCE_DISTILL
} fcb_preference_kind;

/* How distill combines the reward models of one pair. Fisch et al. take the
 * worst member of the whole objective; here the worst member is chosen per
 * pair (an upper bound of theirs), and its gradient is the pair's gradient. */
typedef enum {
    FCB_ENSEMBLE_PESSIMISTIC, /* max over members; ties to the lowest member */
    FCB_ENSEMBLE_MEAN         /* mean over members */
} fcb_ensemble_kind;

typedef struct {
    fcb_preference_kind kind;
    double temperature;         /* policy tau, > 0 */
    double beta;                /* > 0; for ipo it only scales the reported margin */
    double ipo_tau;             /* ipo, > 0: the loss is minimised at h = 1/(2 ipo_tau) */
    double flip_rate;           /* rdpo, in [0, 0.5): known probability a label is flipped */
    fcb_ensemble_kind ensemble; /* distill */
} fcb_preference_params;

typedef struct {
    int n;                     /* pairs, >= 1 */
    int k;                     /* actions, >= 2 */
    const float *scores;       /* n x K policy scores f(x, .) */
    const float *ref_scores;   /* n x K reference scores f_ref(x, .) */
    const int *winners;        /* n preferred actions a_w */
    const int *losers;         /* n rejected actions a_l, != a_w */
    int num_reward_models;     /* distill: M >= 1 */
    const float *reward_scores; /* distill: M x n x K, r_m(x_i, a) at [(m * n + i) * K + a] */
} fcb_preference_batch;

/* temperature 0.05 (the softmax policy's paper default), beta 0.1,
 * ipo_tau 0.1, flip_rate 0, pessimistic ensemble. */
void fcb_preference_params_default(fcb_preference_params *params, fcb_preference_kind kind);

/* Checks the fields the kind uses (temperature and beta always), naming the
 * first bad one: "preference.beta = 0: must be > 0". FCB_ERR_CONFIG. */
fcb_status fcb_preference_params_validate(const fcb_preference_params *params);

/* "dpo", "ipo", "rdpo", "distill". */
fcb_status fcb_preference_kind_from_name(const char *name, fcb_preference_kind *out);
const char *fcb_preference_kind_name(fcb_preference_kind kind);

/* "pessimistic", "mean". */
fcb_status fcb_ensemble_kind_from_name(const char *name, fcb_ensemble_kind *out);
const char *fcb_ensemble_kind_name(fcb_ensemble_kind kind);

/* logsumexp(row / tau) over k scores, computed with the max subtracted. */
double fcb_logsumexp_scaled(const float *row, int k, double tau);

/* The loss of params->kind: mean over pairs in *loss, dL/df (n x K) in
 * dscores. margins (n, may be NULL) receives beta h per pair and
 * mean_margin (may be NULL) its mean. Fails, writing nothing, on bad
 * params, non-finite scores, actions outside [0, K) or a_w == a_l. */
fcb_status fcb_preference_loss(const fcb_preference_params *params,
                               const fcb_preference_batch *batch, float *dscores, float *margins,
                               double *mean_margin, double *loss);

#endif
