#ifndef FEDCB_POLICY_H
#define FEDCB_POLICY_H

#include "linear_bandit.h"
#include "rng.h"
#include "status.h"

/* Exploration policies over K scores. Every decision returns the sampled
 * action and its propensity p(a|x). LinUCB and Thompson sampling act on the
 * linear posterior of linear_bandit.h rather than on scores. */

typedef enum {
    FCB_POLICY_GREEDY,
    FCB_POLICY_EPSILON_GREEDY,
    FCB_POLICY_SOFTMAX,
    FCB_POLICY_IGW,
    FCB_POLICY_UNIFORM,
    FCB_POLICY_LINUCB,
    FCB_POLICY_THOMPSON
} fcb_policy_kind;

/* How a linear bandit's statistics fade (coordinator side; a client only
 * needs to know whether the deployed statistics carry D-LinUCB's second
 * matrix, fcb_policy_uses_tilde). */
typedef enum { FCB_FORGET_NONE, FCB_FORGET_DISCOUNT, FCB_FORGET_WINDOW } fcb_forgetting_kind;

typedef struct {
    fcb_policy_kind kind;
    float epsilon;     /* epsilon-greedy, [0, 1]; paper default 0.2 */
    float temperature; /* softmax, > 0; paper default 0.05 */
    float igw_mu;      /* IGW mu, > 0; <= 0 means K */
    float igw_gamma;   /* IGW gamma, >= 0; default 100 */
    float ucb_alpha;   /* LinUCB bonus scale, >= 0 */
    float ts_scale;    /* Thompson v: theta ~ N(theta_hat, v^2 A^-1), > 0 */
    float ridge_lambda;      /* LinUCB / Thompson ridge, > 0 */
    int diagonal;            /* LinUCB / Thompson: 1 = diagonal A */
    int propensity_samples;  /* Thompson Monte Carlo propensity draws, >= 1 */
    fcb_ts_propensity ts_propensity; /* Thompson: exact (default) or Monte Carlo */
    fcb_ts_sample ts_sample;         /* Thompson: theta~ per decision (default) or per round */
    fcb_forgetting_kind forgetting; /* LinUCB / Thompson */
    double discount;         /* forgetting = discount: gamma per round, (0, 1] */
    int window;              /* forgetting = window: rounds kept, >= 1 */
} fcb_policy_config;

/* Paper defaults: epsilon 0.2, temperature 0.05, mu = K, gamma 100,
 * alpha 1, v 0.1, lambda 1, full covariance, 64 propensity draws. */
void fcb_policy_config_default(fcb_policy_config *config, fcb_policy_kind kind);
fcb_status fcb_policy_config_validate(const fcb_policy_config *config);

fcb_status fcb_policy_kind_from_name(const char *name, fcb_policy_kind *out);
const char *fcb_policy_kind_name(fcb_policy_kind kind);
/* 1 for LinUCB and Thompson, whose decisions use a linear posterior. */
int fcb_policy_is_linear(fcb_policy_kind kind);
fcb_status fcb_forgetting_from_name(const char *name, fcb_forgetting_kind *out);
const char *fcb_forgetting_name(fcb_forgetting_kind kind);
fcb_status fcb_ts_propensity_from_name(const char *name, fcb_ts_propensity *out);
const char *fcb_ts_propensity_name(fcb_ts_propensity method);
fcb_status fcb_ts_sample_from_name(const char *name, fcb_ts_sample *out);
const char *fcb_ts_sample_name(fcb_ts_sample mode);
/* Thompson's options from a policy config. */
void fcb_policy_thompson_options(const fcb_policy_config *config, fcb_thompson_options *options);
/* 1 when the deployed statistics carry D-LinUCB's second matrix A~ (LinUCB
 * with discount gamma < 1; with gamma = 1, A~ = A and the width is LinUCB's). */
int fcb_policy_uses_tilde(const fcb_policy_config *config);

/* The distribution p(.|x) of a score-based policy for one row of K scores.
 * Ties for the argmax go to the lowest index. Fails on non-finite scores. */
fcb_status fcb_policy_probs(const fcb_policy_config *config, const float *scores, int k,
                            float *probs);

/* A batch of n decisions: probs (n x K, out) holds each row's distribution,
 * actions and propensities (n each, out) the sampled action and p(a|x).
 * Draws exactly one uniform per row from rng. */
fcb_status fcb_policy_act(const fcb_policy_config *config, const float *scores, int n, int k,
                          fcb_rng *rng, float *probs, int *actions, float *propensities);

#endif
