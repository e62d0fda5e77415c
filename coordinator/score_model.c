/* A score model: clients send parameter deltas; the round's accepted deltas
 * are merged by the aggregation rule, then the server optimiser moves the
 * current parameters. */
#include <stdlib.h>
#include <string.h>

#include "global_model.h"
#include "sha256.h"
#include "update_check.h"

typedef struct {
    fcb_global_model base;
    size_t num_params;
    double update_norm_bound;
    float *current;
    float *deployed;
    float *mean_delta;
    float *deltas;                 /* capacity x num_params: one per slot */
    fcb_aggregator aggregator;
    fcb_aggregation_rule *rule;
    fcb_server_optimizer server;
    fcb_model_scorer scorer;
} score_model;

static fcb_update_buffer score_slot_update(fcb_global_model *gm, int slot)
{
    score_model *s = (score_model *)gm;
    fcb_update_buffer b = {s->deltas + (size_t)slot * s->num_params, NULL};
    return b;
}

static fcb_status score_check(fcb_global_model *gm, int slot, int client, double examples)
{
    score_model *s = (score_model *)gm;
    return fcb_update_check(s->deltas + (size_t)slot * s->num_params, s->num_params, s->num_params, examples,
                            s->update_norm_bound, client);
}

static fcb_status score_merge(fcb_global_model *gm, const int *slots, const int *clients, const double *examples,
                              int count, int round, fcb_merge_report *report)
{
    score_model *s = (score_model *)gm;
    fcb_aggregator_reset(&s->aggregator);
    for (int i = 0; i < count; i++) {
        fcb_status st = fcb_aggregator_add(&s->aggregator, clients[i], s->deltas + (size_t)slots[i] * s->num_params,
                                           examples[i]);
        if (st != FCB_OK)
            return st;
    }
    fcb_rule_round rr = {0, report->clip_norm};
    fcb_status st = s->rule->ops->merge(s->rule, &s->aggregator, round, s->mean_delta, &rr);
    report->clipped = rr.clipped;
    if (st == FCB_OK)
        st = fcb_server_optimizer_apply(&s->server, s->current, s->mean_delta);
    return st;
}

static fcb_status score_deploy(fcb_global_model *gm)
{
    score_model *s = (score_model *)gm;
    memcpy(s->deployed, s->current, s->num_params * sizeof(float));
    return FCB_OK;
}

static fcb_model_view score_deployed(const fcb_global_model *gm)
{
    const score_model *s = (const score_model *)gm;
    fcb_model_view v = {s->deployed, NULL, s->num_params};
    return v;
}

static fcb_model_view score_current(const fcb_global_model *gm)
{
    const score_model *s = (const score_model *)gm;
    fcb_model_view v = {s->current, NULL, s->num_params};
    return v;
}

static fcb_status score_scorer_open(fcb_global_model *gm, fcb_scorer *scorer)
{
    score_model *s = (score_model *)gm;
    fcb_status st = fcb_model_scorer_init(&s->scorer, gm->model, s->current);
    *scorer = fcb_model_scorer_as_scorer(&s->scorer);
    return st;
}

static void score_scorer_close(fcb_global_model *gm)
{
    fcb_model_scorer_free(&((score_model *)gm)->scorer);
}

static fcb_status score_digest(const fcb_global_model *gm, char hex[65])
{
    const score_model *s = (const score_model *)gm;
    return fcb_sha256_hex(s->current, s->num_params * sizeof(float), hex);
}

enum { SCORE_SECTION_VERSION = 1 };

static fcb_status score_save(const fcb_global_model *gm, fcb_ckpt_writer *w)
{
    const score_model *s = (const score_model *)gm;
    size_t n = fcb_server_optimizer_state_size(&s->server);
    float *state = malloc((n ? n : 1) * sizeof(float));
    fcb_status st = state ? fcb_server_optimizer_save(&s->server, state, n)
                          : fcb_fail(FCB_ERR_NOMEM, "checkpoint: out of memory");
    if (st == FCB_OK) {
        fcb_ckpt_begin(w, "score_model", SCORE_SECTION_VERSION);
        fcb_ckpt_put_i64(w, (int64_t)s->num_params);
        fcb_ckpt_put_f32s(w, s->current, s->num_params);
        fcb_ckpt_put_f32s(w, s->deployed, s->num_params);
        fcb_ckpt_put_i64(w, (int64_t)n);
        fcb_ckpt_put_f32s(w, state, n);
        st = fcb_ckpt_end(w);
    }
    free(state);
    if (st == FCB_OK && s->rule->ops->save)
        st = s->rule->ops->save(s->rule, w);
    return st;
}

static fcb_status score_load(fcb_global_model *gm, fcb_ckpt_reader *r)
{
    score_model *s = (score_model *)gm;
    int64_t params = 0, n = 0;
    size_t expected = fcb_server_optimizer_state_size(&s->server);
    float *state = malloc((expected ? expected : 1) * sizeof(float));
    fcb_status st = state ? fcb_ckpt_open_section(r, "score_model", SCORE_SECTION_VERSION)
                          : fcb_fail(FCB_ERR_NOMEM, "checkpoint: out of memory");
    if (st == FCB_OK)
        st = fcb_ckpt_get_i64(r, &params);
    if (st == FCB_OK && params != (int64_t)s->num_params)
        st = fcb_ckpt_fail(r, "%lld parameters, this model has %zu", (long long)params, s->num_params);
    if (st == FCB_OK)
        st = fcb_ckpt_get_f32s(r, s->current, s->num_params);
    if (st == FCB_OK)
        st = fcb_ckpt_get_f32s(r, s->deployed, s->num_params);
    if (st == FCB_OK)
        st = fcb_ckpt_get_i64(r, &n);
    if (st == FCB_OK && n != (int64_t)expected)
        st = fcb_ckpt_fail(r, "server optimiser state of %lld values, this optimiser keeps %zu", (long long)n,
                           expected);
    if (st == FCB_OK)
        st = fcb_ckpt_get_f32s(r, state, expected);
    if (st == FCB_OK)
        st = fcb_ckpt_close_section(r);
    if (st == FCB_OK && fcb_server_optimizer_load(&s->server, state, expected) != FCB_OK)
        st = fcb_ckpt_fail(r, "server optimiser state: %s", fcb_last_error());
    free(state);
    if (st == FCB_OK && s->rule->ops->load)
        st = s->rule->ops->load(s->rule, r);
    return st;
}

static void score_free(fcb_global_model *gm)
{
    score_model *s = (score_model *)gm;
    free(s->current);
    free(s->deployed);
    free(s->mean_delta);
    free(s->deltas);
    fcb_aggregator_free(&s->aggregator);
    fcb_aggregation_rule_destroy(s->rule);
    fcb_server_optimizer_free(&s->server);
    free(s);
}

static const fcb_global_model_ops SCORE_OPS = {
    score_slot_update, score_check,        score_merge,  score_deploy, score_deployed, score_current,
    score_scorer_open, score_scorer_close, score_digest, score_save,   score_load,     score_free,
};

fcb_status fcb_score_model_create(const fcb_global_model_config *c, fcb_global_model **out)
{
    *out = NULL;
    score_model *s = calloc(1, sizeof *s);
    if (!s)
        return fcb_fail(FCB_ERR_NOMEM, "score model: out of memory");
    size_t p = c->model->num_params;
    s->base = (fcb_global_model){&SCORE_OPS, "delta", c->model, p, p * sizeof(float),
                                 p * sizeof(float) * (c->deploy_every > 1 ? 2 : 1), NULL};
    s->num_params = p;
    s->update_norm_bound = c->update_norm_bound;
    s->current = malloc(p * sizeof(float));
    s->deployed = malloc(p * sizeof(float));
    s->mean_delta = malloc(p * sizeof(float));
    s->deltas = malloc((size_t)c->capacity * p * sizeof(float));
    fcb_status st = FCB_OK;
    if (!s->current || !s->deployed || !s->mean_delta || !s->deltas)
        st = fcb_fail(FCB_ERR_NOMEM, "score model: out of memory for %d clients x %zu parameters", c->capacity, p);
    if (st == FCB_OK)
        st = fcb_server_optimizer_init(&s->server, &c->server, p);
    if (st == FCB_OK)
        st = fcb_aggregator_init(&s->aggregator, p, c->capacity);
    if (st == FCB_OK)
        st = fcb_aggregation_rule_create(&c->aggregation, p, c->capacity, &s->rule);
    if (st != FCB_OK) {
        score_free(&s->base);
        return st;
    }
    s->base.rule = s->rule;
    memcpy(s->current, c->initial_params, p * sizeof(float));
    memcpy(s->deployed, c->initial_params, p * sizeof(float));
    *out = &s->base;
    return FCB_OK;
}

void fcb_global_model_destroy(fcb_global_model *gm)
{
    if (gm)
        gm->ops->free(gm);
}
