#ifndef FEDCB_MODEL_SCORER_H
#define FEDCB_MODEL_SCORER_H

#include "model.h"

/* Scoring contexts in chunks, for evaluations: a score function fills
 * n <= FCB_EVAL_CHUNK rows of K scores. The coordinator scores with its
 * current model (a parameter vector, or a linear bandit's posterior mean),
 * and whoever holds labelled data (the simulator, a held-out file) calls
 * it. */
enum { FCB_EVAL_CHUNK = 512 };

typedef fcb_status (*fcb_score_fn)(void *context, const float *x, int n, float *scores);

typedef struct {
    fcb_score_fn score;
    void *context;
} fcb_scorer;

/* The score function of a plain model: context is an fcb_model_scorer. */
typedef struct {
    const fcb_model *model;
    const float *params;
    fcb_workspace workspace; /* capacity FCB_EVAL_CHUNK */
} fcb_model_scorer;

fcb_status fcb_model_scorer_init(fcb_model_scorer *scorer, const fcb_model *model, const float *params);
void fcb_model_scorer_free(fcb_model_scorer *scorer);
fcb_status fcb_model_scorer_score(void *context, const float *x, int n, float *scores);
/* {fcb_model_scorer_score, scorer} */
fcb_scorer fcb_model_scorer_as_scorer(fcb_model_scorer *scorer);

#endif
