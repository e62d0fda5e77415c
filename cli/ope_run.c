#include "ope_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cb_log.h"
#include "config_file.h"
#include "interaction_log.h"
#include "model_scorer.h"
#include "model_file.h"
#include "run_output.h"
#include "run_plan.h"
#include "sim_source.h"
#include "world.h"

enum { PATH_MAX_OPE = FCB_CONFIG_PATH_MAX + 32 };

static fcb_status check_log_config(const fcb_ope_options *o)
{
    char logged[128], ours[65];
    fcb_status st = fcb_summary_string(o->log_dir, "config_hash", logged, sizeof logged);
    if (st != FCB_OK)
        return st;
    fcb_config_hash(o->config, ours);
    if (strcmp(logged, ours) != 0)
        return fcb_fail(FCB_ERR_CONFIG,
                        "%s was logged with another config (hash %.12s, this config %.12s): give the "
                        "--config and --set options of the logging run",
                        o->log_dir, logged, ours);
    return FCB_OK;
}

typedef struct {
    fcb_ope_log log;
    int *actions;
    float *propensities;
    float *rewards;
    float *candidate;
    float *reward_model;
} ope_arrays;

static fcb_status arrays_init(ope_arrays *a, long n, int k)
{
    memset(a, 0, sizeof *a);
    if (n > 2147483647L / k)
        return fcb_fail(FCB_ERR_ARG, "ope: %ld logged interactions is too many", n);
    a->actions = malloc((size_t)n * sizeof(int));
    a->propensities = malloc((size_t)n * sizeof(float));
    a->rewards = malloc((size_t)n * sizeof(float));
    a->candidate = malloc((size_t)n * k * sizeof(float));
    a->reward_model = malloc((size_t)n * k * sizeof(float));
    if (!a->actions || !a->propensities || !a->rewards || !a->candidate || !a->reward_model)
        return fcb_fail(FCB_ERR_NOMEM, "ope: out of memory for %ld interactions", n);
    a->log = (fcb_ope_log){(int)n, k, a->actions, a->propensities, a->rewards, a->candidate, a->reward_model};
    return FCB_OK;
}

static void arrays_free(ope_arrays *a)
{
    free(a->actions);
    free(a->propensities);
    free(a->rewards);
    free(a->candidate);
    free(a->reward_model);
}

typedef struct {
    const fcb_config *config;
    const fcb_world *world;
    const fcb_policy_config *candidate;
    const float *params;
    fcb_sim_source data;
    fcb_workspace workspace;
    float *scores;      /* examples_per_round x K */
    int round, client;  /* of the data filled; round 0-based, -1 = none */
} context_source;

/* Recreates (and scores) the contexts of (client, round) unless they are
 * the ones already filled. */
static fcb_status fill_contexts(context_source *cs, int client, int round, const char *where)
{
    if (cs->round == round && cs->client == client)
        return FCB_OK;
    if (client >= cs->config->num_clients)
        return fcb_fail(FCB_ERR_FORMAT, "%s: client %d, the config has %d", where, client, cs->config->num_clients);
    fcb_status st = fcb_sim_source_fill(&cs->data, client, round);
    if (st == FCB_OK && cs->data.n > 0)
        st = fcb_model_forward(&cs->world->model, cs->params, cs->data.x, cs->data.n, &cs->workspace, cs->scores);
    if (st != FCB_OK)
        return st;
    cs->round = round;
    cs->client = client;
    return FCB_OK;
}

static float clamp_unit(float v)
{
    return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
}

/* Fills row i of the arrays from logged decision r and returns the
 * candidate's expected reward on that context. */
static fcb_status score_row(context_source *cs, const fcb_interaction *r, long i, ope_arrays *a, const char *path,
                            double *true_value)
{
    char where[PATH_MAX_OPE + 64];
    snprintf(where, sizeof where, "%s: interaction %ld (round %d, client %d)", path, i + 1, r->round, r->client);
    fcb_status st = fill_contexts(cs, r->client, r->round - 1, where);
    if (st != FCB_OK)
        return st;
    if (r->row >= cs->data.n)
        return fcb_fail(FCB_ERR_FORMAT, "%s: row %d, that round has %d contexts", where, r->row, cs->data.n);
    int k = a->log.k;
    const float *scores = cs->scores + (size_t)r->row * k;
    float *pi = a->candidate + (size_t)i * k;
    st = fcb_policy_probs(cs->candidate, scores, k, pi);
    if (st != FCB_OK)
        return fcb_fail_context(st, "%s", where);
    int label = cs->data.labels[r->row];
    double value = 0.0;
    for (int b = 0; b < k; b++) {
        a->reward_model[(size_t)i * k + b] = clamp_unit(scores[b]);
        value += pi[b] * fcb_environment_click_probability(&cs->world->env, r->client, label, b);
    }
    a->actions[i] = r->action;
    a->propensities[i] = r->propensity;
    a->rewards[i] = r->reward;
    *true_value = value;
    return FCB_OK;
}

static fcb_status evaluate(const fcb_ope_options *o, const fcb_world *world, const fcb_policy_config *candidate,
                           const float *params, fcb_ope_report *report)
{
    char path[PATH_MAX_OPE];
    snprintf(path, sizeof path, "%s/interactions.csv.gz", o->log_dir);
    int k = world->model.config.num_actions;
    fcb_interaction_log log;
    fcb_status st = fcb_interaction_log_read(path, k, &log);
    if (st != FCB_OK)
        return st;
    ope_arrays a;
    context_source cs = {.config = o->config, .world = world, .candidate = candidate, .params = params,
                         .round = -1, .client = -1};
    int capacity = o->config->examples_per_round;
    st = arrays_init(&a, log.n, k);
    if (st == FCB_OK)
        st = fcb_sim_source_init(&cs.data, world, o->config);
    if (st == FCB_OK)
        st = fcb_workspace_init(&cs.workspace, &world->model, capacity);
    if (st == FCB_OK && !(cs.scores = malloc((size_t)capacity * k * sizeof(float))))
        st = fcb_fail(FCB_ERR_NOMEM, "ope: out of memory");
    double true_sum = 0.0, logged_sum = 0.0;
    for (long i = 0; st == FCB_OK && i < log.n; i++) {
        double value = 0.0;
        st = score_row(&cs, &log.rows[i], i, &a, path, &value);
        true_sum += value;
        logged_sum += log.rows[i].reward;
    }
    if (st == FCB_OK)
        st = fcb_ope_estimate_all(&a.log, 1.96, &report->estimates);
    if (st == FCB_OK) {
        report->interactions = log.n;
        report->true_value = true_sum / (double)log.n;
        report->has_true_value = 1;
        report->logged_value = logged_sum / (double)log.n;
    }
    free(cs.scores);
    fcb_workspace_free(&cs.workspace);
    fcb_sim_source_free(&cs.data);
    arrays_free(&a);
    fcb_interaction_log_free(&log);
    return st;
}

/* Candidate probabilities and the clipped reward model of every logged
 * context, scored in chunks. */
static fcb_status score_logged_contexts(const fcb_model *model, const float *params, const fcb_policy_config *candidate,
                                       const fcb_cb_log *log, ope_arrays *a)
{
    int k = model->config.num_actions;
    fcb_model_scorer ms;
    float *scores = malloc((size_t)FCB_EVAL_CHUNK * k * sizeof(float));
    fcb_status st = scores ? fcb_model_scorer_init(&ms, model, params) : fcb_fail(FCB_ERR_NOMEM, "ope: out of memory");
    for (int start = 0; st == FCB_OK && start < log->n; start += FCB_EVAL_CHUNK) {
        int count = log->n - start < FCB_EVAL_CHUNK ? log->n - start : FCB_EVAL_CHUNK;
        st = fcb_model_scorer_score(&ms, log->x + (size_t)start * log->dim, count, scores);
        for (int i = 0; st == FCB_OK && i < count; i++) {
            size_t row = (size_t)(start + i);
            st = fcb_policy_probs(candidate, scores + (size_t)i * k, k, a->candidate + row * k);
            for (int b = 0; b < k; b++)
                a->reward_model[row * k + b] = clamp_unit(scores[(size_t)i * k + b]);
        }
    }
    if (scores)
        fcb_model_scorer_free(&ms);
    free(scores);
    return st;
}

/* A VW contextual-bandit log carries its contexts: no world to recreate,
 * and no true value to compare with. */
static fcb_status ope_vw_log(const fcb_ope_options *o, fcb_ope_report *report)
{
    const fcb_config *c = o->config;
    if (c->model_input_dim < 1 || c->model_num_actions < 2)
        return fcb_fail(FCB_ERR_CONFIG, "--vw-log: set model.input_dim and model.num_actions (the model's shape)");
    fcb_model model;
    fcb_model_config mc;
    fcb_client_setup setup;
    fcb_cb_log log;
    memset(&log, 0, sizeof log);
    ope_arrays a;
    memset(&a, 0, sizeof a);
    float *params = NULL;
    fcb_status st = fcb_model_config_from(c, c->model_input_dim, c->model_num_actions, &mc);
    if (st == FCB_OK)
        st = fcb_model_init(&model, &mc);
    if (st == FCB_OK)
        st = fcb_plan_client_setup(o->candidate_config, &model, &setup);
    if (st == FCB_OK && fcb_policy_is_linear(setup.policy.kind))
        st = fcb_fail(FCB_ERR_CONFIG, "the candidate must be a score-based policy, not %s",
                      fcb_policy_kind_name(setup.policy.kind));
    if (st == FCB_OK && !(params = malloc(model.num_params * sizeof(float))))
        st = fcb_fail(FCB_ERR_NOMEM, "ope: out of memory");
    if (st == FCB_OK)
        st = fcb_model_file_read(o->model_dir, model.num_params, params);
    if (st == FCB_OK)
        st = fcb_cb_log_load(o->vw_log, model.config.input_dim, model.config.num_actions, &log);
    if (st == FCB_OK)
        st = arrays_init(&a, log.n, model.config.num_actions);
    if (st == FCB_OK)
        st = score_logged_contexts(&model, params, &setup.policy, &log, &a);
    double logged_sum = 0.0;
    for (int i = 0; st == FCB_OK && i < log.n; i++) {
        a.actions[i] = log.actions[i];
        a.propensities[i] = log.propensities[i];
        a.rewards[i] = log.rewards[i];
        logged_sum += log.rewards[i];
    }
    if (st == FCB_OK)
        st = fcb_ope_estimate_all(&a.log, 1.96, &report->estimates);
    if (st == FCB_OK) {
        report->candidate = setup.policy;
        report->interactions = log.n;
        report->logged_value = logged_sum / log.n;
    }
    arrays_free(&a);
    fcb_cb_log_free(&log);
    free(params);
    return st;
}

fcb_status fcb_ope_run(const fcb_ope_options *o, fcb_ope_report *report)
{
    memset(report, 0, sizeof *report);
    if (o->vw_log)
        return fcb_config_validate(o->candidate_config) == FCB_OK ? ope_vw_log(o, report) : FCB_ERR_CONFIG;
    fcb_status st = fcb_config_validate(o->config);
    if (st == FCB_OK)
        st = fcb_config_validate(o->candidate_config);
    if (st == FCB_OK)
        st = check_log_config(o);
    if (st != FCB_OK)
        return st;
    fcb_world world;
    st = fcb_world_build(&world, o->config);
    if (st != FCB_OK) {
        fcb_world_free(&world);
        return st;
    }
    fcb_client_setup setup;
    float *params = NULL;
    st = fcb_plan_client_setup(o->candidate_config, &world.model, &setup);
    if (st == FCB_OK && fcb_policy_is_linear(setup.policy.kind))
        st = fcb_fail(FCB_ERR_CONFIG, "the candidate must be a score-based policy (greedy, epsilon_greedy, "
                                      "softmax, igw or uniform), not %s", fcb_policy_kind_name(setup.policy.kind));
    if (st == FCB_OK && !(params = malloc(world.model.num_params * sizeof(float))))
        st = fcb_fail(FCB_ERR_NOMEM, "ope: out of memory");
    if (st == FCB_OK)
        st = fcb_model_file_load(o->model_dir ? o->model_dir : o->log_dir, world.model.num_params, params);
    if (st == FCB_OK) {
        report->candidate = setup.policy;
        st = evaluate(o, &world, &setup.policy, params, report);
    }
    free(params);
    fcb_world_free(&world);
    return st;
}

static json_t *estimate_json(const fcb_ope_estimate *e)
{
    return json_pack("{s:f, s:f, s:f, s:f}", "value", e->value, "std_error", e->std_error, "lower", e->lower,
                     "upper", e->upper);
}

static json_t *candidate_json(const fcb_policy_config *p)
{
    json_t *j = json_object();
    json_object_set_new(j, "kind", json_string(fcb_policy_kind_name(p->kind)));
    if (p->kind == FCB_POLICY_EPSILON_GREEDY)
        json_object_set_new(j, "epsilon", json_real(p->epsilon));
    if (p->kind == FCB_POLICY_SOFTMAX)
        json_object_set_new(j, "temperature", json_real(p->temperature));
    if (p->kind == FCB_POLICY_IGW) {
        json_object_set_new(j, "igw_mu", json_real(p->igw_mu));
        json_object_set_new(j, "igw_gamma", json_real(p->igw_gamma));
    }
    return j;
}

json_t *fcb_ope_report_json(const fcb_ope_options *o, const fcb_ope_report *r)
{
    json_t *j = json_object();
    json_object_set_new(j, "log", json_string(o->log_dir ? o->log_dir : o->vw_log));
    json_object_set_new(j, "model", json_string(o->model_dir ? o->model_dir : o->log_dir));
    json_object_set_new(j, "candidate", candidate_json(&r->candidate));
    json_object_set_new(j, "interactions", json_integer(r->interactions));
    json_object_set_new(j, "logged_value", json_real(r->logged_value));
    if (r->has_true_value)
        json_object_set_new(j, "true_value", json_real(r->true_value));
    json_object_set_new(j, "ips", estimate_json(&r->estimates.ips));
    json_object_set_new(j, "snips", estimate_json(&r->estimates.snips));
    json_object_set_new(j, "dr", estimate_json(&r->estimates.dr));
    json_object_set_new(j, "max_weight", json_real(r->estimates.max_weight));
    json_object_set_new(j, "effective_samples", json_real(r->estimates.effective_samples));
    return j;
}
