#ifndef FEDCB_LINEAR_BANDIT_H
#define FEDCB_LINEAR_BANDIT_H

#include <stddef.h>

#include "normal_argmax.h"
#include "rng.h"
#include "status.h"

/* Sufficient statistics of per-action ridge regression on a feature map phi
 * (the raw input for linear models, the last hidden layer for neural-linear):
 * A_a = sum phi phi^T and b_a = sum r phi over the rows where action a was
 * taken. They add up exactly across clients, so the federated aggregate of
 * LinUCB / Thompson is a sum. Stored in double: sums of many rows. */
typedef struct {
    int num_actions;
    int dim;
    int diagonal;   /* 1: A keeps only its diagonal */
    double *A;      /* full: K x dim x dim; diagonal: K x dim */
    double *b;      /* K x dim */
    double *count;  /* K: rows per action */
} fcb_linstats;

fcb_status fcb_linstats_init(fcb_linstats *stats, int num_actions, int dim, int diagonal);
void fcb_linstats_free(fcb_linstats *stats);
void fcb_linstats_zero(fcb_linstats *stats);
/* Accumulate n rows of phi (n x dim floats) with their actions and rewards. */
fcb_status fcb_linstats_add(fcb_linstats *stats, const float *phi, int n, const int *actions,
                            const float *rewards);
/* dst += src; fails on shape mismatch. */
fcb_status fcb_linstats_merge(fcb_linstats *dst, const fcb_linstats *src);
/* A, b and count times factor (discounting); factor 1 leaves them as they are. */
void fcb_linstats_scale(fcb_linstats *stats, double factor);
/* Doubles in A alone (K x dim x dim, or K x dim diagonal). */
size_t fcb_linstats_a_size(const fcb_linstats *stats);
/* Number of doubles in A, b and count together, and flat copies in that
 * order (for checkpoints and the wire). */
size_t fcb_linstats_flat_size(const fcb_linstats *stats);
void fcb_linstats_to_flat(const fcb_linstats *stats, double *flat);
fcb_status fcb_linstats_from_flat(fcb_linstats *stats, const double *flat, size_t n);

/* The posterior used for decisions: precision P_a = lambda I + A_a and mean
 * theta_a = P_a^-1 (b_a + lambda theta0_a), theta0 being an optional prior
 * mean (e.g. the pretrained model's output layer; NULL means 0). Full
 * covariance keeps the lower Cholesky factor of P_a (LAPACK dpotrf). */
typedef struct {
    int num_actions;
    int dim;
    int diagonal;
    double lambda;
    double *chol;  /* full: K x dim x dim lower factor; diagonal: K x dim of P_a's diagonal */
    double *theta; /* K x dim */
    double *scratch; /* 2 dim + 2 K: per-row solve buffers, Thompson's means and widths */
    /* Batched scoring of up to FCB_LINPOST_BATCH rows at a time, so acting
     * allocates nothing: rows and solves (2 x batch x dim), means, widths and
     * sampled values (3 x batch x K), Thompson's per-round theta~ (K x dim),
     * argmax probabilities (K) and their work space (K + 2). */
    double *batch;
    int *active;   /* K: the exact propensity's active actions */
    double *lanes; /* NULL, or FCB_LANES (dim x dim + dim): four actions' factors at once (full, dim <= 48) */
    fcb_argmax_rule rule;
    /* NULL, or the D-LinUCB second matrix V~_a = lambda I + A~_a (same layout
     * as A) that turns the width into sqrt(phi^T P_a^-1 V~_a P_a^-1 phi). */
    double *tilde;
} fcb_linposterior;

fcb_status fcb_linposterior_init(fcb_linposterior *post, int num_actions, int dim, int diagonal);
void fcb_linposterior_free(fcb_linposterior *post);
/* theta0: NULL or K x dim floats (row a = prior mean of action a). */
fcb_status fcb_linposterior_solve(fcb_linposterior *post, const fcb_linstats *stats, double lambda,
                                  const float *theta0);

/* After a solve: tilde_a (the A layout of the statistics, K x dim x dim or
 * K x dim) gives V~_a = lambda I + tilde_a, and the width becomes
 * sqrt(phi^T P_a^-1 V~_a P_a^-1 phi) (D-LinUCB). NULL returns to the plain
 * width. The first call allocates the matrix. */
fcb_status fcb_linposterior_set_tilde(fcb_linposterior *post, const double *tilde_a);
/* dst becomes a copy of src (same shape), the second matrix included. */
fcb_status fcb_linposterior_copy(fcb_linposterior *dst, const fcb_linposterior *src);

/* Per row and action: mean = theta_a . phi and width = sqrt(phi^T P_a^-1 phi)
 * (or the D-LinUCB width above).
 * mean and width are n x K. */
fcb_status fcb_linposterior_predict(fcb_linposterior *post, const float *phi, int n, double *mean,
                                    double *width);

enum { FCB_LINPOST_BATCH = 64 };

/* Mean and width of every action for rows phi (rows <= FCB_LINPOST_BATCH),
 * batched: the means one product of the rows with all actions' means, the
 * widths one triangular solve per action on the rows' matrix with the
 * Cholesky factor the solve cached (loops up to FCB_SMALL_DIM; above it
 * dgemm for the means and dtrsm for the widths).
 * Equal to fcb_linposterior_predict up to rounding. mean and width: rows x K. */
fcb_status fcb_linposterior_score_batch(fcb_linposterior *post, const float *phi, int rows, double *mean,
                                        double *width);

/* LinUCB: argmax mean + alpha * width (ties to the lowest index);
 * propensity 1. scores (n x K, out, may be NULL) receives the UCB values. */
fcb_status fcb_linucb_act(fcb_linposterior *post, double alpha, const float *phi, int n,
                          int *actions, float *propensities, float *scores);

typedef enum { FCB_TS_PROPENSITY_EXACT, FCB_TS_PROPENSITY_MONTE_CARLO } fcb_ts_propensity;
typedef enum { FCB_TS_SAMPLE_DECISION, FCB_TS_SAMPLE_ROUND } fcb_ts_sample;

typedef struct {
    double scale;                 /* v */
    fcb_ts_propensity propensity;
    int propensity_samples;       /* monte_carlo: draws per decision, >= 1 */
    fcb_ts_sample sample;
} fcb_thompson_options;

/* Thompson sampling. For one context the sampled values theta~_a . phi are
 * independent N(mean_a, v^2 width_a^2).
 * - sample = decision: a decision draws K normals and takes the argmax.
 * - sample = round: theta~_a = theta_a + v L_a^-T z_a is drawn once per call
 *   (K x dim normals first), and every row acts greedily on it.
 * The propensity is the marginal p(a|x) of that draw, the same in both modes:
 * - exact: fcb_normal_argmax_probs (floored at 1e-10, its pruning bound);
 * - monte_carlo: after each row's decision, propensity_samples x K further
 *   normals; the frequency of the chosen action, floored at
 *   1 / (2 * propensity_samples). */
fcb_status fcb_thompson_act(fcb_linposterior *post, const fcb_thompson_options *options, const float *phi,
                            int n, fcb_rng *rng, int *actions, float *propensities);

#endif
