#ifndef FEDCB_NORMAL_ARGMAX_H
#define FEDCB_NORMAL_ARGMAX_H

#include "status.h"

/* P(a = argmax_b X_b) for K independent normals X_b ~ N(mean_b, sd_b^2):
 * the exact propensity of Thompson sampling, whose sampled values theta~_a . phi
 * are such normals. For sd_a > 0,
 *   P(a) = integral phi(z) prod_{b != a} Phi((mean_a + sd_a z - mean_b) / sd_b) dz.
 *
 * How it is computed (absolute error target 1e-6 per probability):
 * - An action whose value exceeds the leader's (largest mean) with
 *   probability below Phi(-6.5) = 4e-11 gets 0. Dropping it changes every
 *   other probability by at most that much.
 * - One action left: 1. Two: the closed form Phi((m_a - m_b) / sqrt(s_a^2 + s_b^2)).
 * - Three or more, all sd within a factor FCB_ARGMAX_GH_RATIO of each other:
 *   FCB_ARGMAX_GH_NODES-point Gauss-Hermite. For one factor
 *   E Phi(r Z + c) with r <= 1.5 the rule's error is at most 1.6e-8 over
 *   c in [-12, 12] (2.4e-5 at r = 2, 1.5e-3 at r = 3: Gauss-Hermite cannot
 *   resolve a factor much steeper than the weight).
 * - Otherwise (steeper factors, zero or tiny sd): adaptive 8-point
 *   Gauss-Legendre on [-8.5, 8.5] split at the steep factors' midpoints,
 *   absolute tolerance 1e-10 per integral, at most 20,000 panels (a bound
 *   on the time whatever the input). A factor narrower than 1e-7 of a's
 *   scale is taken as the step it is at that scale (error at most 3.2e-8);
 *   computed as Phi its rounding noise would defeat any tolerance.
 * - Zero sd is a point mass. Ties go to the lowest index, like the argmax
 *   rule: among point masses only the lowest-index one with the largest mean
 *   can win; it wins with prod Phi((m - m_c) / s_c) over the others, and a
 *   continuous action only above it.
 * The probabilities are finally divided by their sum. */

enum { FCB_ARGMAX_GH_NODES = 24, FCB_ARGMAX_GL_NODES = 8 };
#define FCB_ARGMAX_GH_RATIO 1.5

typedef struct {
    double gh_z[FCB_ARGMAX_GH_NODES]; /* probabilists' Hermite nodes: sum w f(z) ~ E f(Z), Z ~ N(0, 1) */
    double gh_w[FCB_ARGMAX_GH_NODES];
    double gl_x[FCB_ARGMAX_GL_NODES]; /* Legendre nodes on [-1, 1] */
    double gl_w[FCB_ARGMAX_GL_NODES];
} fcb_argmax_rule;

/* The nodes and weights (Golub-Welsch with LAPACK dstev). */
fcb_status fcb_argmax_rule_init(fcb_argmax_rule *rule);

/* probs (k, out) for means and standard deviations (k each, finite, sd >= 0).
 * active (k ints) and work (k + 2 doubles) are scratch. */
void fcb_normal_argmax_probs(const fcb_argmax_rule *rule, const double *mean, const double *sd, int k,
                             int *active, double *work, double *probs);

#endif
