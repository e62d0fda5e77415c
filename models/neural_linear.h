#ifndef FEDCB_NEURAL_LINEAR_H
#define FEDCB_NEURAL_LINEAR_H

#include "linear_bandit.h"
#include "model.h"
#include "model_scorer.h"

/* LinUCB and Thompson sampling on top of a frozen base network (the
 * initial model): phi = [features(x), 1], where features are the input of
 * a linear model or the last hidden layer of an MLP, and the prior mean of
 * action a is the base network's output row and bias of a. */

int fcb_linear_phi_dim(const fcb_model *model);

/* theta0 (K x phi_dim) from params' output layer. */
void fcb_linear_prior(const fcb_model *model, const float *params, float *theta0);

/* phi (n x (feature_dim + 1)) = each feature row with a constant 1 appended. */
void fcb_phi_from_features(const float *features, int n, int feature_dim, float *phi);

/* Scores = the posterior mean theta_a . phi(x), in chunks of FCB_EVAL_CHUNK:
 * the greedy view of a linear bandit, for evaluations. */
typedef struct {
    fcb_model_scorer base;       /* the base network, for phi */
    fcb_linposterior *posterior;
    float *phi;                  /* FCB_EVAL_CHUNK x phi_dim */
    double *mean;                /* FCB_EVAL_CHUNK x K */
    double *width;
} fcb_linear_scorer;

fcb_status fcb_linear_scorer_init(fcb_linear_scorer *s, const fcb_model *model, const float *base_params,
                                  fcb_linposterior *posterior);
void fcb_linear_scorer_free(fcb_linear_scorer *s);
fcb_status fcb_linear_scorer_score(void *context, const float *x, int n, float *scores);

#endif
