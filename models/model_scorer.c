#include "model_scorer.h"

fcb_status fcb_model_scorer_init(fcb_model_scorer *scorer, const fcb_model *model, const float *params)
{
    scorer->model = model;
    scorer->params = params;
    return fcb_workspace_init(&scorer->workspace, model, FCB_EVAL_CHUNK);
}

void fcb_model_scorer_free(fcb_model_scorer *scorer)
{
    fcb_workspace_free(&scorer->workspace);
}

fcb_status fcb_model_scorer_score(void *context, const float *x, int n, float *scores)
{
    fcb_model_scorer *scorer = context;
    return fcb_model_forward(scorer->model, scorer->params, x, n, &scorer->workspace, scores);
}

fcb_scorer fcb_model_scorer_as_scorer(fcb_model_scorer *scorer)
{
    fcb_scorer s = {fcb_model_scorer_score, scorer};
    return s;
}
