#include "neural_linear.h"

#include <stdlib.h>
#include <string.h>

int fcb_linear_phi_dim(const fcb_model *model)
{
    return fcb_model_feature_dim(model) + 1;
}

void fcb_linear_prior(const fcb_model *m, const float *params, float *theta0)
{
    int k = m->config.num_actions;
    int f = fcb_model_feature_dim(m);
    int last = m->num_layers - 1;
    const float *w = params + m->weight_offset[last];
    const float *b = params + m->bias_offset[last];
    for (int a = 0; a < k; a++) {
        memcpy(theta0 + (size_t)a * (f + 1), w + (size_t)a * f, (size_t)f * sizeof(float));
        theta0[(size_t)a * (f + 1) + f] = b[a];
    }
}

void fcb_phi_from_features(const float *features, int n, int feature_dim, float *phi)
{
    size_t f = (size_t)feature_dim;
    for (size_t i = 0; i < (size_t)n; i++) {
        memcpy(phi + i * (f + 1), features + i * f, f * sizeof(float));
        phi[i * (f + 1) + f] = 1.0f;
    }
}

fcb_status fcb_linear_scorer_init(fcb_linear_scorer *s, const fcb_model *model, const float *base_params,
                                  fcb_linposterior *posterior)
{
    memset(s, 0, sizeof *s);
    s->posterior = posterior;
    size_t k = (size_t)model->config.num_actions;
    s->phi = malloc((size_t)FCB_EVAL_CHUNK * (size_t)fcb_linear_phi_dim(model) * sizeof(float));
    s->mean = malloc((size_t)FCB_EVAL_CHUNK * k * sizeof(double));
    s->width = malloc((size_t)FCB_EVAL_CHUNK * k * sizeof(double));
    fcb_status st = fcb_model_scorer_init(&s->base, model, base_params);
    if (st == FCB_OK && (!s->phi || !s->mean || !s->width))
        st = fcb_fail(FCB_ERR_NOMEM, "linear scorer: out of memory");
    if (st != FCB_OK)
        fcb_linear_scorer_free(s);
    return st;
}

void fcb_linear_scorer_free(fcb_linear_scorer *s)
{
    fcb_model_scorer_free(&s->base);
    free(s->phi);
    free(s->mean);
    free(s->width);
    memset(s, 0, sizeof *s);
}

fcb_status fcb_linear_scorer_score(void *context, const float *x, int n, float *scores)
{
    fcb_linear_scorer *s = context;
    const fcb_model *m = s->base.model;
    fcb_status st = fcb_model_forward(m, s->base.params, x, n, &s->base.workspace, scores);
    if (st != FCB_OK)
        return st;
    fcb_phi_from_features(fcb_model_features(m, &s->base.workspace), n, fcb_model_feature_dim(m), s->phi);
    st = fcb_linposterior_predict(s->posterior, s->phi, n, s->mean, s->width);
    size_t k = (size_t)m->config.num_actions;
    for (size_t i = 0; st == FCB_OK && i < (size_t)n * k; i++)
        scores[i] = (float)s->mean[i];
    return st;
}
