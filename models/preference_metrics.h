#ifndef FEDCB_PREFERENCE_METRICS_H
#define FEDCB_PREFERENCE_METRICS_H

#include "status.h"

/* Closed-form evaluation of a preference-trained policy pi = softmax(f/tau)
 * against its reference pi_ref = softmax(f_ref/tau) over n contexts of K
 * actions (scores, ref_scores and utilities are n x K rows). No sampling. */

/* Mean over contexts of
 *   sum_{a,b} pi(a) pi_ref(b) [1(u_a > u_b) + 0.5 * 1(u_a == u_b)],
 * the probability that an action drawn from pi beats one drawn from pi_ref
 * under the true utilities u, ties counted half. 0.5 when pi = pi_ref. */
fcb_status fcb_preference_win_rate(const float *scores, const float *ref_scores,
                                   const float *utilities, int n, int k, double tau,
                                   double *win_rate);

/* Mean over contexts of KL(pi || pi_ref) = sum_a pi(a) (log pi(a) - log pi_ref(a)),
 * from log-softmax with the max subtracted; each context's value is clamped
 * at 0 against rounding. */
fcb_status fcb_preference_kl(const float *scores, const float *ref_scores, int n, int k,
                             double tau, double *kl);

/* Fraction of rows whose argmax score (ties to the lowest index) equals the label. */
fcb_status fcb_argmax_accuracy(const float *scores, const int *labels, int n, int k,
                               double *accuracy);

#endif
