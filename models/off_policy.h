#ifndef FEDCB_OFF_POLICY_H
#define FEDCB_OFF_POLICY_H

#include "status.h"

/* Off-policy evaluation: the value of a candidate policy pi estimated from
 * interactions (x_i, a_i, p_i, r_i) that another policy logged, with p_i the
 * logging propensity of a_i. With w_i = pi(a_i|x_i) / p_i:
 *   IPS   V = (1/n) sum_i w_i r_i
 *   SNIPS V = sum_i w_i r_i / sum_i w_i
 *   DR    V = (1/n) sum_i [ sum_a pi(a|x_i) q(x_i,a) + w_i (r_i - q(x_i,a_i)) ]
 * where q is a reward model (e.g. the bandit's own regressor). Intervals are
 * normal approximations: the per-row terms' standard error for IPS and DR,
 * the delta method for SNIPS. */

typedef struct {
    int n;                     /* logged rows */
    int k;                     /* actions */
    const int *actions;        /* n: a_i */
    const float *propensities; /* n: p_i > 0 */
    const float *rewards;      /* n: r_i */
    const float *candidate;    /* n x k: pi(.|x_i) */
    const float *reward_model; /* n x k: q(x_i, .); NULL: DR is not computed */
} fcb_ope_log;

typedef struct {
    double value;
    double std_error;
    double lower;              /* value -/+ z * std_error */
    double upper;
} fcb_ope_estimate;

typedef struct {
    fcb_ope_estimate ips;
    fcb_ope_estimate snips;
    fcb_ope_estimate dr;       /* zero when reward_model is NULL */
    double max_weight;         /* largest w_i: how far the candidate strays from the logger */
    double effective_samples;  /* (sum w)^2 / sum w^2 */
} fcb_ope_result;

/* z is the normal quantile of the intervals (1.96 for 95 %). Fails naming the
 * row on a propensity outside (0, 1], an action outside [0, k), a candidate
 * row that is not a distribution, or a non-finite value. */
fcb_status fcb_ope_estimate_all(const fcb_ope_log *log, double z, fcb_ope_result *result);

#endif
