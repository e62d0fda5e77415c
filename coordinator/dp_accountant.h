#ifndef FEDCB_DP_ACCOUNTANT_H
#define FEDCB_DP_ACCOUNTANT_H

#include "status.h"

/* Rényi-DP accountant of the sampled Gaussian mechanism (Mironov, Talwar,
 * Zhang 2019, "Rényi Differential Privacy of the Sampled Gaussian
 * Mechanism"), computed as TensorFlow Privacy's rdp_accountant /
 * dp_accounting does. One step: each unit is in the sample with probability
 * q, the sum of the sampled contributions (each of L2 norm <= C) gets
 * N(0, (z C)^2) noise per coordinate; z is the noise multiplier.
 *
 * RDP at order alpha is log(A_alpha) / (alpha - 1), where A_alpha is:
 *   integer alpha:    the binomial sum over i = 0..alpha, in log space;
 *   fractional alpha: the two series split at z0 = z^2 log(1/q - 1) + 1/2
 *                     (Section 3.3 of the paper) with the signed generalised
 *                     binomial coefficients, as TF Privacy's rdp_accountant
 *                     and Opacus do, summed until the terms are e^-30 of the
 *                     total. This is the exact A_alpha. (dp_accounting since
 *                     2022 adds the coefficients' absolute values, an upper
 *                     bound up to a few % higher at orders below 3.) An order
 *                     whose series has not converged after 1000 terms gets
 *                     RDP +inf, so it never decides epsilon.
 * q = 0 gives 0; q = 1 gives alpha / (2 z^2); z = 0 (and q > 0) gives +inf. */

/* Conversion of RDP (alpha, r) to (epsilon, delta)-DP, minimised over the
 * orders. Both bounds hold; at every order above 1.01 the tight one is
 * the smaller. */
typedef enum {
    /* The default. Balle et al. 2020 (Hypothesis testing interpretations
     * and Rényi DP, Prop. 12) / Canonne, Kamath, Steinke 2020:
     *   eps = r + log1p(-1/alpha) - (log(delta) + log(alpha)) / (alpha - 1)
     * for alpha > 1.01, and eps = 0 where delta >= sqrt(1 - exp(-r)) (the
     * KL bound), as TF Privacy does since 2020. */
    FCB_DP_CONVERSION_TIGHT = 0,
    /* Mironov 2017, Prop. 3: eps = r - log(delta) / (alpha - 1). */
    FCB_DP_CONVERSION_CLASSIC
} fcb_dp_conversion;

/* rdp[k] = steps x RDP of one step at orders[k]. q in [0, 1], z finite and
 * >= 0, steps >= 0, every order > 1 (+inf allowed: RDP +inf unless q = 0). */
fcb_status fcb_dp_compute_rdp(double q, double noise_multiplier, long steps, const double *orders,
                              int num_orders, double *rdp);

/* log(A_alpha) of one step for 0 < q < 1, z > 0, by each method (exposed so
 * that tests can run an integer order through both). alpha must be an
 * integer >= 2 for the first and > 1 for the second; the second returns
 * +inf when its series does not converge. */
double fcb_dp_log_a_integer(double q, double noise_multiplier, int alpha);
double fcb_dp_log_a_fractional(double q, double noise_multiplier, double alpha);

/* The smallest epsilon over the orders at which the RDP curve gives
 * (epsilon, delta)-DP, and the order that attains it (the first one on
 * ties; +inf epsilon if every order gives +inf). 0 < delta < 1. */
fcb_status fcb_dp_epsilon(const double *orders, const double *rdp, int num_orders, double delta,
                          fcb_dp_conversion conversion, double *epsilon, double *best_order);

/* Writes TF Privacy's default orders, FCB_DP_NUM_ORDERS values:
 * 1 + x/10 for x = 1..99, then 12..63, 128, 256, 512. */
enum { FCB_DP_NUM_ORDERS = 99 + 52 + 3 };
void fcb_dp_default_orders(double *orders);

/* Running total of a training run's RDP at the default orders. Steps may
 * change q and z from one round to the next (adaptive sampling, a noise
 * schedule); composition adds the RDP order by order. */
typedef struct {
    double orders[FCB_DP_NUM_ORDERS]; /* the default orders */
    double rdp[FCB_DP_NUM_ORDERS];    /* total so far at orders[k] */
    long steps;                    /* steps added so far */
    /* The one-step RDP of the last (q, z) seen: a run with fixed q and z
     * computes the series once, not once per round. */
    int cached;
    double cached_q;
    double cached_noise_multiplier;
    double cached_step_rdp[FCB_DP_NUM_ORDERS];
} fcb_dp_accountant;

void fcb_dp_accountant_init(fcb_dp_accountant *acc);
/* Composes `steps` steps of sampling rate q and noise multiplier z (the
 * argument rules of fcb_dp_compute_rdp). On error nothing is added. */
fcb_status fcb_dp_accountant_add(fcb_dp_accountant *acc, double q, double noise_multiplier,
                                 long steps);
/* Epsilon at delta of everything added so far, with the tight (default)
 * conversion; best_order may be NULL. */
fcb_status fcb_dp_accountant_epsilon(const fcb_dp_accountant *acc, double delta, double *epsilon,
                                     double *best_order);

#endif
