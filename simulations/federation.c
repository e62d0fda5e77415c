#include "federation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_sampling.h"
#include "defense_config.h"
#include "run_output.h"
#include "update_check.h"

fcb_status fcb_client_setup_from_config(const fcb_config *c, const fcb_model *model, fcb_client_setup *s)
{
    memset(s, 0, sizeof *s);
    s->model = model;
    s->seed = c->seed;
    s->local_epochs = c->local_epochs;
    s->batch_size = c->batch_size;
    s->sgd.learning_rate = (float)c->learning_rate;
    s->sgd.momentum = (float)c->momentum;
    s->sgd.weight_decay = (float)c->weight_decay;
    s->sgd.clip_norm = (float)c->clip_norm;
    fcb_status st = fcb_sgd_config_validate(&s->sgd);
    if (st != FCB_OK)
        return fcb_fail_context(st, "[train]");
    st = fcb_loss_kind_from_name(c->loss, &s->loss);
    if (st != FCB_OK)
        return fcb_fail_context(FCB_ERR_CONFIG, "train.loss");
    fcb_policy_kind kind;
    st = fcb_policy_kind_from_name(c->policy, &kind);
    if (st != FCB_OK)
        return fcb_fail_context(FCB_ERR_CONFIG, "policy.kind");
    fcb_policy_config *p = &s->policy;
    fcb_policy_config_default(p, kind);
    p->epsilon = (float)c->epsilon;
    p->temperature = (float)c->temperature;
    p->igw_mu = (float)c->igw_mu;
    p->igw_gamma = (float)c->igw_gamma;
    p->ucb_alpha = (float)c->ucb_alpha;
    p->ts_scale = (float)c->ts_scale;
    p->ridge_lambda = (float)c->ridge_lambda;
    p->diagonal = c->diagonal;
    p->propensity_samples = c->propensity_samples;
    return fcb_policy_config_validate(p);
}

static fcb_status init_server_optimizer(fcb_federation *f)
{
    const fcb_config *c = f->config;
    fcb_server_opt_kind server_kind;
    fcb_status st = fcb_server_opt_kind_from_name(c->server_optimizer, &server_kind);
    if (st != FCB_OK)
        return st;
    fcb_server_opt_config sc = fcb_server_opt_config_defaults(server_kind);
    if (c->server_learning_rate > 0.0)
        sc.learning_rate = (float)c->server_learning_rate;
    sc.momentum = (float)c->server_momentum;
    sc.beta1 = (float)c->server_beta1;
    sc.beta2 = (float)c->server_beta2;
    sc.tau = (float)c->server_tau;
    st = fcb_server_opt_config_validate(&sc);
    if (st == FCB_OK && fcb_agg_weighting_from_name(c->weighting, &f->weighting) != FCB_OK)
        st = fcb_fail_context(FCB_ERR_CONFIG, "server.weighting");
    if (st == FCB_OK && !f->linear)
        st = fcb_server_optimizer_init(&f->server, &sc, f->num_params);
    return st;
}

/* [aggregation], [malicious] and [dp]; the config was validated, so the
 * policy is score-based whenever any of them is on. */
static fcb_status init_defenses(fcb_federation *f)
{
    const fcb_config *c = f->config;
    fcb_status st = fcb_aggregation_from_config(c, &f->robust, &f->robust_rule);
    if (st == FCB_OK)
        st = fcb_malicious_from_config(c, &f->malicious);
    if (st != FCB_OK)
        return st;
    f->dp = c->dp_enabled;
    f->dp_config = fcb_dp_config_from(c);
    f->dp_clip_norm = f->dp_config.clip_norm;
    f->dp_delta = fcb_dp_delta(c);
    f->dp_sampling_rate = (double)c->clients_per_round / c->num_clients;
    fcb_dp_accountant_init(&f->accountant);
    if (f->dp && (st = fcb_dp_sum_noise_multiplier(&f->dp_config, &f->dp_sum_noise_multiplier)) != FCB_OK)
        return st;
    if (f->malicious.kind != FCB_ATTACK_NONE) {
        f->is_malicious = malloc((size_t)c->num_clients);
        if (!f->is_malicious)
            return fcb_fail(FCB_ERR_NOMEM, "malicious clients: out of memory");
        st = fcb_malicious_choose(&f->malicious, c->seed, c->num_clients, f->is_malicious);
        if (st != FCB_OK)
            return st;
    }
    if (!f->robust && !f->dp)
        return FCB_OK;
    f->rows = malloc((size_t)f->num_slots * f->num_params * sizeof(float));
    f->robust_scratch_size = fcb_robust_scratch_size(f->num_slots, f->num_params);
    f->robust_scratch = malloc(f->robust_scratch_size * sizeof(double));
    if (!f->rows || !f->robust_scratch)
        return fcb_fail(FCB_ERR_NOMEM, "aggregation: out of memory for %d clients x %zu parameters", f->num_slots,
                        f->num_params);
    return FCB_OK;
}

int fcb_linear_phi_dim(const fcb_world *world)
{
    return fcb_model_feature_dim(&world->model) + 1;
}

void fcb_linear_prior(const fcb_world *world, float *theta0)
{
    const fcb_model *m = &world->model;
    int k = m->config.num_actions;
    int f = fcb_model_feature_dim(m);
    int last = m->num_layers - 1;
    const float *w = world->initial_params + m->weight_offset[last];
    const float *b = world->initial_params + m->bias_offset[last];
    for (int a = 0; a < k; a++) {
        memcpy(theta0 + (size_t)a * (f + 1), w + (size_t)a * f, (size_t)f * sizeof(float));
        theta0[(size_t)a * (f + 1) + f] = b[a];
    }
}

static fcb_status init_linear(fcb_federation *f)
{
    int k = f->world->model.config.num_actions;
    f->phi_dim = fcb_linear_phi_dim(f->world);
    size_t stats_bytes = (size_t)k * f->phi_dim * f->phi_dim * sizeof(double);
    size_t round_bytes = stats_bytes * (size_t)(f->num_slots + 1);
    if (!f->setup.policy.diagonal && round_bytes > ((size_t)1 << 30))
        return fcb_fail(FCB_ERR_CONFIG,
                        "policy.diagonal: full covariance over %d features needs %zu MB per client "
                        "(%zu MB for the round); set policy.diagonal = true or use an MLP model "
                        "(neural-linear)",
                        f->phi_dim, stats_bytes >> 20, round_bytes >> 20);
    f->theta0 = malloc((size_t)k * f->phi_dim * sizeof(float));
    f->slot_stats = calloc((size_t)f->num_slots, sizeof(fcb_linstats));
    if (!f->theta0 || !f->slot_stats)
        return fcb_fail(FCB_ERR_NOMEM, "linear bandit: out of memory");
    fcb_linear_prior(f->world, f->theta0);
    int diag = f->setup.policy.diagonal;
    fcb_status st = fcb_linstats_init(&f->global_stats, k, f->phi_dim, diag);
    for (int s = 0; st == FCB_OK && s < f->num_slots; s++)
        st = fcb_linstats_init(&f->slot_stats[s], k, f->phi_dim, diag);
    if (st == FCB_OK)
        st = fcb_linposterior_init(&f->deployed_posterior, k, f->phi_dim, diag);
    if (st == FCB_OK)
        st = fcb_linposterior_init(&f->current_posterior, k, f->phi_dim, diag);
    if (st != FCB_OK)
        return st;
    f->stats_size = fcb_linstats_flat_size(&f->global_stats);
    f->deployed_stats = calloc(f->stats_size, sizeof(double));
    if (!f->deployed_stats)
        return fcb_fail(FCB_ERR_NOMEM, "linear bandit: out of memory");
    return fcb_federation_deploy(f);
}

fcb_status fcb_federation_init(fcb_federation *f, const fcb_config *config, const fcb_world *world)
{
    memset(f, 0, sizeof *f);
    f->config = config;
    f->world = world;
    fcb_status st = fcb_client_setup_from_config(config, &world->model, &f->setup);
    if (st != FCB_OK)
        return st;
    f->linear = fcb_policy_is_linear(f->setup.policy.kind);
    f->num_params = world->model.num_params;
    st = fcb_preference_stage_init(&f->preference, config, &world->model);
    if (st == FCB_OK && f->preference.rounds > 0 && f->linear)
        st = fcb_fail(FCB_ERR_CONFIG, "preference.rounds = %d: the preference stage trains score-based models, "
                                      "not policy.kind = %s", f->preference.rounds, config->policy);
    if (st != FCB_OK)
        return st;
    st = init_server_optimizer(f);
    if (st != FCB_OK)
        return st;
    f->num_slots = config->clients_per_round;
    size_t p = f->num_params;
    f->slots = calloc((size_t)f->num_slots, sizeof(fcb_slot));
    f->sample_scratch = calloc((size_t)config->num_clients, sizeof(int));
    f->selected = calloc((size_t)f->num_slots, sizeof(int));
    f->current = malloc(p * sizeof(float));
    f->deployed = malloc(p * sizeof(float));
    f->mean_delta = malloc(p * sizeof(float));
    if (!f->linear)
        f->deltas = malloc((size_t)f->num_slots * p * sizeof(float));
    if (!f->slots || !f->sample_scratch || !f->selected || !f->current || !f->deployed || !f->mean_delta ||
        (!f->linear && !f->deltas))
        return fcb_fail(FCB_ERR_NOMEM, "federation: out of memory for %d clients x %zu parameters",
                        f->num_slots, p);
    memcpy(f->current, world->initial_params, p * sizeof(float));
    memcpy(f->deployed, world->initial_params, p * sizeof(float));
    if (f->linear)
        return init_linear(f);
    st = fcb_aggregator_init(&f->aggregator, p, f->num_slots);
    if (st == FCB_OK)
        st = init_defenses(f);
    return st;
}

void fcb_federation_free(fcb_federation *f)
{
    for (int s = 0; f->slot_stats && s < f->num_slots; s++)
        fcb_linstats_free(&f->slot_stats[s]);
    free(f->slot_stats);
    fcb_linstats_free(&f->global_stats);
    fcb_linposterior_free(&f->deployed_posterior);
    fcb_linposterior_free(&f->current_posterior);
    free(f->deployed_stats);
    free(f->theta0);
    fcb_aggregator_free(&f->aggregator);
    fcb_server_optimizer_free(&f->server);
    free(f->slots);
    free(f->sample_scratch);
    free(f->selected);
    free(f->deltas);
    free(f->current);
    free(f->deployed);
    free(f->mean_delta);
    free(f->is_malicious);
    free(f->rows);
    free(f->robust_scratch);
    fcb_preference_stage_free(&f->preference);
    memset(f, 0, sizeof *f);
}

fcb_status fcb_federation_sample(fcb_federation *f, int round, int attempt)
{
    const fcb_config *c = f->config;
    f->round = round;
    /* A re-sample after a failed quorum draws from a different seed; attempt 0
     * is the sample of `fedcb simulate`. */
    uint64_t seed = c->seed + (uint64_t)attempt * 0x9E3779B97F4A7C15ull;
    fcb_status st = fcb_sample_clients(seed, round, c->num_clients, c->clients_per_round, f->sample_scratch,
                                       f->selected);
    if (st != FCB_OK)
        return st;
    for (int s = 0; s < f->num_slots; s++) {
        memset(&f->slots[s], 0, sizeof(fcb_slot));
        f->slots[s].client = f->selected[s];
        f->slots[s].state = FCB_SLOT_PENDING;
    }
    if (f->preference.rounds > 0 && round == f->preference.first_round && attempt == 0)
        fcb_preference_stage_begin(&f->preference, f->current);
    return FCB_OK;
}

int fcb_federation_total_rounds(const fcb_federation *f)
{
    return f->config->rounds + f->preference.rounds;
}

float *fcb_federation_slot_delta(fcb_federation *f, int slot)
{
    return f->deltas + (size_t)slot * f->num_params;
}

/* Counts one slot into the totals; returns 1 when its update is to be merged. */
static int count_slot(const fcb_federation *f, const fcb_slot *sl, fcb_round_totals *t)
{
    size_t model_bytes = f->linear ? f->stats_size * sizeof(double) : f->num_params * sizeof(float);
    int copies_down = (!f->linear && f->config->deploy_every > 1) ? 2 : 1;
    t->sampled++;
    if (sl->state == FCB_SLOT_UNAVAILABLE) {
        t->unavailable++;
        return 0;
    }
    t->bytes_down += (double)model_bytes * copies_down;
    if (sl->state == FCB_SLOT_PENDING) {
        t->missing++;
        return 0;
    }
    if (sl->state == FCB_SLOT_REJECTED) {
        t->rejected++;
        return 0;
    }
    if (sl->state == FCB_SLOT_NO_DATA) {
        t->no_data++;
        return 0;
    }
    t->participants++;
    t->examples += sl->result.examples;
    t->reward_sum += sl->result.reward_sum;
    t->true_reward_sum += sl->result.true_reward_sum;
    t->propensity_sum += sl->result.propensity_sum;
    t->loss_sum += sl->result.loss_sum;
    t->margin_sum += sl->result.margin_sum;
    t->steps += sl->result.steps;
    if (sl->state == FCB_SLOT_DROPPED) {
        t->dropped++;
        return 0;
    }
    t->bytes_up += (double)model_bytes;
    if (sl->state == FCB_SLOT_STALE) {
        t->stale++;
        return 0;
    }
    return 1;
}

/* DP-FedAvg: clip every row to C, sum them in client-id order, add the
 * Gaussian noise and divide by the expected number of clients, so that one
 * client's update moves the result by at most C / clients_per_round. */
static fcb_status dp_mean(fcb_federation *f, fcb_round_totals *t)
{
    size_t p = f->num_params;
    int m = f->aggregator.count;
    double *sum = f->aggregator.sum;
    memset(sum, 0, p * sizeof(double));
    for (int i = 0; i < m; i++) {
        float *row = f->rows + (size_t)i * p;
        int clipped = 0;
        fcb_status st = fcb_dp_clip(row, p, f->dp_clip_norm, NULL, &clipped);
        if (st != FCB_OK)
            return st;
        t->clipped += clipped;
        for (size_t k = 0; k < p; k++)
            sum[k] += row[k];
    }
    for (size_t k = 0; k < p; k++)
        f->mean_delta[k] = (float)sum[k];
    fcb_rng rng;
    fcb_rng_init(&rng, f->config->seed, FCB_STREAM_DP_NOISE, 0xFFFFFFFFu, (uint32_t)f->round);
    fcb_status st = fcb_dp_add_noise(f->mean_delta, p, f->dp_sum_noise_multiplier, f->dp_clip_norm, &rng);
    if (st != FCB_OK)
        return st;
    float expected_clients = (float)f->config->clients_per_round;
    for (size_t k = 0; k < p; k++)
        f->mean_delta[k] /= expected_clients;
    st = fcb_dp_accountant_add(&f->accountant, f->dp_sampling_rate, f->dp_config.noise_multiplier, 1);
    if (st != FCB_OK || !f->dp_config.adaptive)
        return st;
    fcb_rng count_rng;
    fcb_rng_init(&count_rng, f->config->seed, FCB_STREAM_DP_NOISE, 0xFFFFFFFEu, (uint32_t)f->round);
    return fcb_dp_adapt_clip_norm(&f->dp_config, m - t->clipped, f->config->clients_per_round, &count_rng,
                                  &f->dp_clip_norm);
}

/* mean_delta from the round's accepted updates (at least one). */
static fcb_status merge_updates(fcb_federation *f, fcb_round_totals *t)
{
    if (!f->robust && !f->dp)
        return fcb_aggregator_mean(&f->aggregator, f->weighting, f->mean_delta);
    /* Client-id order: the networked coordinator adds updates as they arrive. */
    fcb_aggregator_rows_by_client(&f->aggregator, f->rows);
    if (f->dp)
        return dp_mean(f, t);
    return fcb_robust_aggregate(&f->robust_rule, f->rows, f->aggregator.count, f->num_params, f->robust_scratch,
                                f->robust_scratch_size, f->mean_delta);
}

fcb_status fcb_federation_epsilon(const fcb_federation *f, double *epsilon, double *best_order)
{
    return fcb_dp_accountant_epsilon(&f->accountant, f->dp_delta, epsilon, best_order);
}

fcb_status fcb_federation_aggregate(fcb_federation *f, fcb_round_totals *t)
{
    memset(t, 0, sizeof *t);
    if (!f->linear)
        fcb_aggregator_reset(&f->aggregator);
    for (int s = 0; s < f->num_slots; s++) {
        fcb_slot *sl = &f->slots[s];
        if (sl->state == FCB_SLOT_FAILED)
            return fcb_fail(sl->status, "%s", sl->error);
        if (!count_slot(f, sl, t))
            continue;
        fcb_status st;
        if (f->linear) {
            st = fcb_linstats_merge(&f->global_stats, &f->slot_stats[s]);
        } else {
            const float *delta = fcb_federation_slot_delta(f, s);
            st = fcb_update_check(delta, f->num_params, f->num_params, sl->result.examples,
                                  f->config->update_norm_bound, sl->client);
            if (st != FCB_OK) {
                fprintf(stderr, "fedcb: round %d: rejected update: %s\n", f->round + 1, fcb_last_error());
                t->rejected++;
                continue;
            }
            st = fcb_aggregator_add(&f->aggregator, sl->client, delta, sl->result.examples);
        }
        if (st != FCB_OK)
            return st;
        t->updates++;
        t->malicious += f->is_malicious && f->is_malicious[sl->client];
    }
    t->clip_norm = f->dp_clip_norm;
    if (t->updates == 0)
        return FCB_OK;
    f->current_version++;
    if (f->linear)
        return FCB_OK;
    fcb_status st = merge_updates(f, t);
    if (st == FCB_OK)
        st = fcb_server_optimizer_apply(&f->server, f->current, f->mean_delta);
    return st;
}

fcb_status fcb_federation_deploy(fcb_federation *f)
{
    f->deployed_version = f->current_version;
    if (!f->linear) {
        memcpy(f->deployed, f->current, f->num_params * sizeof(float));
        return FCB_OK;
    }
    fcb_linstats_to_flat(&f->global_stats, f->deployed_stats);
    return fcb_linposterior_solve(&f->deployed_posterior, &f->global_stats, f->setup.policy.ridge_lambda,
                                  f->theta0);
}

typedef struct {
    fcb_model_scorer base;
    fcb_linposterior *posterior;
    float *phi;
    double *mean;
    double *width;
} linear_scorer;

static fcb_status linear_score(void *context, const float *x, int n, float *scores)
{
    linear_scorer *ls = context;
    const fcb_model *m = ls->base.model;
    fcb_status st = fcb_model_forward(m, ls->base.params, x, n, &ls->base.workspace, scores);
    if (st != FCB_OK)
        return st;
    fcb_phi_from_features(fcb_model_features(m, &ls->base.workspace), n, fcb_model_feature_dim(m), ls->phi);
    st = fcb_linposterior_predict(ls->posterior, ls->phi, n, ls->mean, ls->width);
    int k = m->config.num_actions;
    for (size_t i = 0; st == FCB_OK && i < (size_t)n * k; i++)
        scores[i] = (float)ls->mean[i];
    return st;
}

fcb_status fcb_federation_evaluate(fcb_federation *f, double *accuracy, double *reward, double *class_accuracy)
{
    const fcb_world *w = f->world;
    if (!f->linear) {
        fcb_model_scorer scorer;
        fcb_status st = fcb_model_scorer_init(&scorer, &w->model, f->current);
        if (st == FCB_OK)
            st = fcb_world_evaluate(w, fcb_model_scorer_score, &scorer, f->round, f->config->seed, accuracy,
                                    reward, class_accuracy);
        fcb_model_scorer_free(&scorer);
        return st;
    }
    int k = w->model.config.num_actions;
    linear_scorer ls = {.posterior = &f->current_posterior};
    fcb_status st = fcb_linposterior_solve(&f->current_posterior, &f->global_stats, f->setup.policy.ridge_lambda,
                                           f->theta0);
    if (st == FCB_OK)
        st = fcb_model_scorer_init(&ls.base, &w->model, w->initial_params);
    ls.phi = malloc((size_t)FCB_EVAL_CHUNK * f->phi_dim * sizeof(float));
    ls.mean = malloc((size_t)FCB_EVAL_CHUNK * k * sizeof(double));
    ls.width = malloc((size_t)FCB_EVAL_CHUNK * k * sizeof(double));
    if (st == FCB_OK && (!ls.phi || !ls.mean || !ls.width))
        st = fcb_fail(FCB_ERR_NOMEM, "evaluation: out of memory");
    if (st == FCB_OK)
        st = fcb_world_evaluate(w, linear_score, &ls, f->round, f->config->seed, accuracy, reward, class_accuracy);
    fcb_model_scorer_free(&ls.base);
    free(ls.phi);
    free(ls.mean);
    free(ls.width);
    return st;
}

fcb_status fcb_federation_digest(const fcb_federation *f, char hex[65])
{
    if (!f->linear)
        return fcb_sha256_hex(f->current, f->num_params * sizeof(float), hex);
    double *flat = malloc(f->stats_size * sizeof(double));
    if (!flat)
        return fcb_fail(FCB_ERR_NOMEM, "digest: out of memory");
    fcb_linstats_to_flat(&f->global_stats, flat);
    fcb_status st = fcb_sha256_hex(flat, f->stats_size * sizeof(double), hex);
    free(flat);
    return st;
}
