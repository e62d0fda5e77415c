#include "simulate.h"

#include <cblas.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aggregate.h"
#include "client_sampling.h"
#include "client_step.h"
#include "round_data.h"
#include "run_output.h"
#include "server_optimizer.h"
#include "update_check.h"
#include "world.h"

typedef enum {
    SLOT_UNAVAILABLE, /* did not answer the call this round */
    SLOT_NO_DATA,     /* drift hides every row the client holds */
    SLOT_DONE,        /* update delivered in time */
    SLOT_DROPPED,     /* interacted, then dropped out before submitting */
    SLOT_STALE,       /* straggler: the update arrived after the round deadline */
    SLOT_FAILED
} slot_state;

typedef struct {
    int client;
    slot_state state;
    fcb_client_result result;
    fcb_status status;
    char error[512];
} slot;

typedef struct {
    fcb_client_buffers buffers;
    fcb_round_data data;
    fcb_linposterior posterior; /* private copy of the deployed posterior (its solve scratch is per thread) */
} worker;

typedef struct {
    const fcb_config *config;
    fcb_world world;
    fcb_client_setup setup;
    int linear;
    size_t num_params;
    int num_slots;
    slot *slots;
    int *selected;
    int *sample_scratch;
    float *deltas;          /* num_slots x num_params */
    float *current;
    float *deployed;
    float *mean_delta;
    fcb_aggregator aggregator;
    fcb_agg_weighting weighting;
    fcb_server_optimizer server;
    int phi_dim;
    float *theta0;          /* K x phi_dim prior mean from the base network's output layer */
    fcb_linstats *slot_stats;
    fcb_linstats global_stats;
    fcb_linposterior deployed_posterior;
    fcb_linposterior current_posterior;
    int num_workers;
    worker *workers;
    int round;
    atomic_int next_slot;
} simulation;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static fcb_status resolve_setup(simulation *sim)
{
    const fcb_config *c = sim->config;
    fcb_client_setup *s = &sim->setup;
    s->model = &sim->world.model;
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
    st = fcb_policy_config_validate(p);
    if (st != FCB_OK)
        return st;
    sim->linear = fcb_policy_is_linear(kind);

    fcb_server_opt_kind server_kind;
    st = fcb_server_opt_kind_from_name(c->server_optimizer, &server_kind);
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
    if (st == FCB_OK && fcb_agg_weighting_from_name(c->weighting, &sim->weighting) != FCB_OK)
        st = fcb_fail_context(FCB_ERR_CONFIG, "server.weighting");
    if (st == FCB_OK && !sim->linear)
        st = fcb_server_optimizer_init(&sim->server, &sc, sim->world.model.num_params);
    return st;
}

/* LinUCB / Thompson: phi = [base features, 1]; the prior mean of action a is
 * the base network's output row a and bias, so init scenarios start from the
 * pretrained model. */
static fcb_status init_linear(simulation *sim)
{
    const fcb_model *m = &sim->world.model;
    int k = m->config.num_actions;
    int f = fcb_model_feature_dim(m);
    sim->phi_dim = f + 1;
    size_t stats_bytes = (size_t)k * sim->phi_dim * sim->phi_dim * sizeof(double);
    size_t round_bytes = stats_bytes * (size_t)(sim->num_slots + 1);
    if (!sim->setup.policy.diagonal && round_bytes > ((size_t)1 << 30))
        return fcb_fail(FCB_ERR_CONFIG,
                        "policy.diagonal: full covariance over %d features needs %zu MB per client "
                        "(%zu MB for the round); set policy.diagonal = true or use an MLP model "
                        "(neural-linear)",
                        sim->phi_dim, stats_bytes >> 20, round_bytes >> 20);
    sim->theta0 = malloc((size_t)k * sim->phi_dim * sizeof(float));
    sim->slot_stats = calloc((size_t)sim->num_slots, sizeof(fcb_linstats));
    if (!sim->theta0 || !sim->slot_stats)
        return fcb_fail(FCB_ERR_NOMEM, "linear bandit: out of memory");
    int last = m->num_layers - 1;
    const float *w = sim->world.initial_params + m->weight_offset[last];
    const float *b = sim->world.initial_params + m->bias_offset[last];
    for (int a = 0; a < k; a++) {
        memcpy(sim->theta0 + (size_t)a * sim->phi_dim, w + (size_t)a * f, (size_t)f * sizeof(float));
        sim->theta0[(size_t)a * sim->phi_dim + f] = b[a];
    }
    int diag = sim->setup.policy.diagonal;
    fcb_status st = fcb_linstats_init(&sim->global_stats, k, sim->phi_dim, diag);
    for (int s = 0; st == FCB_OK && s < sim->num_slots; s++)
        st = fcb_linstats_init(&sim->slot_stats[s], k, sim->phi_dim, diag);
    if (st == FCB_OK)
        st = fcb_linposterior_init(&sim->deployed_posterior, k, sim->phi_dim, diag);
    if (st == FCB_OK)
        st = fcb_linposterior_init(&sim->current_posterior, k, sim->phi_dim, diag);
    for (int i = 0; st == FCB_OK && i < sim->num_workers; i++)
        st = fcb_linposterior_init(&sim->workers[i].posterior, k, sim->phi_dim, diag);
    return st;
}

static void copy_posterior(fcb_linposterior *dst, const fcb_linposterior *src)
{
    size_t kd = (size_t)src->num_actions * src->dim;
    size_t chol = src->diagonal ? kd : kd * src->dim;
    memcpy(dst->chol, src->chol, chol * sizeof(double));
    memcpy(dst->theta, src->theta, kd * sizeof(double));
    dst->lambda = src->lambda;
}

static fcb_status deploy(simulation *sim)
{
    if (!sim->linear) {
        memcpy(sim->deployed, sim->current, sim->num_params * sizeof(float));
        return FCB_OK;
    }
    fcb_status st = fcb_linposterior_solve(&sim->deployed_posterior, &sim->global_stats,
                                           sim->setup.policy.ridge_lambda, sim->theta0);
    for (int i = 0; st == FCB_OK && i < sim->num_workers; i++)
        copy_posterior(&sim->workers[i].posterior, &sim->deployed_posterior);
    return st;
}

static fcb_status init_simulation(simulation *sim, const fcb_config *config)
{
    memset(sim, 0, sizeof *sim);
    sim->config = config;
    fcb_status st = fcb_world_build(&sim->world, config);
    if (st != FCB_OK)
        return st;
    st = resolve_setup(sim);
    if (st != FCB_OK)
        return st;
    sim->num_params = sim->world.model.num_params;
    sim->num_slots = config->clients_per_round;
    sim->num_workers = config->threads < sim->num_slots ? config->threads : sim->num_slots;
    size_t p = sim->num_params;
    sim->slots = calloc((size_t)sim->num_slots, sizeof(slot));
    sim->selected = calloc((size_t)sim->num_slots, sizeof(int));
    sim->sample_scratch = calloc((size_t)config->num_clients, sizeof(int));
    sim->current = malloc(p * sizeof(float));
    sim->deployed = malloc(p * sizeof(float));
    sim->mean_delta = malloc(p * sizeof(float));
    sim->workers = calloc((size_t)sim->num_workers, sizeof(worker));
    if (!sim->linear)
        sim->deltas = malloc((size_t)sim->num_slots * p * sizeof(float));
    if (!sim->slots || !sim->selected || !sim->sample_scratch || !sim->current || !sim->deployed ||
        !sim->mean_delta || !sim->workers || (!sim->linear && !sim->deltas))
        return fcb_fail(FCB_ERR_NOMEM, "simulation: out of memory for %d clients x %zu parameters",
                        sim->num_slots, p);
    memcpy(sim->current, sim->world.initial_params, p * sizeof(float));
    memcpy(sim->deployed, sim->world.initial_params, p * sizeof(float));
    for (int i = 0; i < sim->num_workers; i++) {
        st = fcb_client_buffers_init(&sim->workers[i].buffers, &sim->setup, config->examples_per_round);
        if (st == FCB_OK)
            st = fcb_round_data_init(&sim->workers[i].data, &sim->world, config->examples_per_round);
        if (st != FCB_OK)
            return st;
    }
    if (sim->linear) {
        st = init_linear(sim);
        if (st == FCB_OK)
            st = deploy(sim);
        return st;
    }
    return fcb_aggregator_init(&sim->aggregator, p, sim->num_slots);
}

static void free_simulation(simulation *sim)
{
    for (int i = 0; sim->workers && i < sim->num_workers; i++) {
        fcb_client_buffers_free(&sim->workers[i].buffers);
        fcb_round_data_free(&sim->workers[i].data);
        fcb_linposterior_free(&sim->workers[i].posterior);
    }
    for (int s = 0; sim->slot_stats && s < sim->num_slots; s++)
        fcb_linstats_free(&sim->slot_stats[s]);
    free(sim->slot_stats);
    fcb_linstats_free(&sim->global_stats);
    fcb_linposterior_free(&sim->deployed_posterior);
    fcb_linposterior_free(&sim->current_posterior);
    free(sim->theta0);
    fcb_aggregator_free(&sim->aggregator);
    fcb_server_optimizer_free(&sim->server);
    free(sim->workers);
    free(sim->slots);
    free(sim->selected);
    free(sim->sample_scratch);
    free(sim->deltas);
    free(sim->current);
    free(sim->deployed);
    free(sim->mean_delta);
    fcb_world_free(&sim->world);
}

/* One client's round on one worker. Availability draws come first and are
 * always made, so they never depend on what else happens. */
static void run_slot(simulation *sim, worker *w, int index)
{
    const fcb_config *c = sim->config;
    slot *sl = &sim->slots[index];
    fcb_rng availability;
    fcb_rng_init(&availability, c->seed, FCB_STREAM_AVAILABILITY, (uint32_t)sl->client, (uint32_t)sim->round);
    double u_participate = fcb_rng_uniform(&availability);
    double u_dropout = fcb_rng_uniform(&availability);
    double u_straggler = fcb_rng_uniform(&availability);
    if (u_participate >= c->participation) {
        sl->state = SLOT_UNAVAILABLE;
        return;
    }
    fcb_status st = fcb_round_data_fill(&w->data, &sim->world, c, sl->client, sim->round);
    if (st == FCB_OK && w->data.n == 0) {
        sl->state = SLOT_NO_DATA;
        return;
    }
    fcb_feedback feedback = fcb_round_data_feedback(&w->data);
    if (st == FCB_OK && sim->linear)
        st = fcb_client_linear_round(&sim->setup, &w->buffers, sl->client, sim->round, &w->posterior,
                                     sim->world.initial_params, w->data.x, w->data.n, &feedback,
                                     &sim->slot_stats[index], &sl->result);
    else if (st == FCB_OK)
        st = fcb_client_round(&sim->setup, &w->buffers, sl->client, sim->round, sim->deployed,
                              sim->current, w->data.x, w->data.n, &feedback,
                              sim->deltas + (size_t)index * sim->num_params, &sl->result);
    if (st != FCB_OK) {
        sl->state = SLOT_FAILED;
        sl->status = st;
        snprintf(sl->error, sizeof sl->error, "%s", fcb_last_error());
        return;
    }
    if (u_dropout < c->dropout)
        sl->state = SLOT_DROPPED;
    else if (u_straggler < c->straggler_fraction && c->straggler_delay > c->round_deadline)
        sl->state = SLOT_STALE;
    else
        sl->state = SLOT_DONE;
}

typedef struct {
    simulation *sim;
    worker *w;
} worker_arg;

static void *worker_main(void *arg)
{
    worker_arg *wa = arg;
    for (;;) {
        int index = atomic_fetch_add(&wa->sim->next_slot, 1);
        if (index >= wa->sim->num_slots)
            return NULL;
        run_slot(wa->sim, wa->w, index);
    }
}

static fcb_status run_clients(simulation *sim)
{
    atomic_store(&sim->next_slot, 0);
    worker_arg args[256];
    pthread_t threads[256];
    int started = 0;
    for (int i = 0; i < sim->num_workers; i++)
        args[i] = (worker_arg){sim, &sim->workers[i]};
    for (int i = 1; i < sim->num_workers; i++) {
        if (pthread_create(&threads[i], NULL, worker_main, &args[i]) != 0)
            break;
        started = i;
    }
    worker_main(&args[0]);
    for (int i = 1; i <= started; i++)
        pthread_join(threads[i], NULL);
    return FCB_OK;
}

typedef struct {
    int sampled, participants, updates, unavailable, no_data, dropped, stale, rejected;
    long examples;
    double reward_sum, true_reward_sum, propensity_sum, loss_sum;
    int steps;
    double bytes_up, bytes_down;
} round_totals;

static fcb_status aggregate_round(simulation *sim, round_totals *t)
{
    size_t model_bytes = sim->linear ? fcb_linstats_flat_size(&sim->global_stats) * sizeof(double)
                                     : sim->num_params * sizeof(float);
    int copies_down = (!sim->linear && sim->config->deploy_every > 1) ? 2 : 1;
    if (!sim->linear)
        fcb_aggregator_reset(&sim->aggregator);
    for (int s = 0; s < sim->num_slots; s++) {
        slot *sl = &sim->slots[s];
        t->sampled++;
        if (sl->state == SLOT_FAILED)
            return fcb_fail(sl->status, "%s", sl->error);
        if (sl->state == SLOT_UNAVAILABLE) {
            t->unavailable++;
            continue;
        }
        t->bytes_down += (double)model_bytes * copies_down;
        if (sl->state == SLOT_NO_DATA) {
            t->no_data++;
            continue;
        }
        t->participants++;
        t->examples += sl->result.examples;
        t->reward_sum += sl->result.reward_sum;
        t->true_reward_sum += sl->result.true_reward_sum;
        t->propensity_sum += sl->result.propensity_sum;
        t->loss_sum += sl->result.loss_sum;
        t->steps += sl->result.steps;
        if (sl->state == SLOT_DROPPED) {
            t->dropped++;
            continue;
        }
        t->bytes_up += (double)model_bytes;
        if (sl->state == SLOT_STALE) {
            t->stale++;
            continue;
        }
        fcb_status st;
        if (sim->linear) {
            st = fcb_linstats_merge(&sim->global_stats, &sim->slot_stats[s]);
        } else {
            const float *delta = sim->deltas + (size_t)s * sim->num_params;
            st = fcb_update_check(delta, sim->num_params, sim->num_params, sl->result.examples,
                                  sim->config->update_norm_bound, sl->client);
            if (st != FCB_OK) {
                fprintf(stderr, "fedcb: round %d: rejected update: %s\n", sim->round + 1, fcb_last_error());
                t->rejected++;
                continue;
            }
            st = fcb_aggregator_add(&sim->aggregator, sl->client, delta, sl->result.examples);
        }
        if (st != FCB_OK)
            return st;
        t->updates++;
    }
    if (sim->linear || t->updates == 0)
        return FCB_OK;
    fcb_status st = fcb_aggregator_mean(&sim->aggregator, sim->weighting, sim->mean_delta);
    if (st == FCB_OK)
        st = fcb_server_optimizer_apply(&sim->server, sim->current, sim->mean_delta);
    return st;
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

static fcb_status evaluate(simulation *sim, double *accuracy, double *reward, double *class_accuracy)
{
    const fcb_world *w = &sim->world;
    if (!sim->linear) {
        fcb_model_scorer scorer;
        fcb_status st = fcb_model_scorer_init(&scorer, &w->model, sim->current);
        if (st == FCB_OK)
            st = fcb_world_evaluate(w, fcb_model_scorer_score, &scorer, sim->round, sim->config->seed,
                                    accuracy, reward, class_accuracy);
        fcb_model_scorer_free(&scorer);
        return st;
    }
    int k = w->model.config.num_actions;
    linear_scorer ls = {.posterior = &sim->current_posterior};
    fcb_status st = fcb_linposterior_solve(&sim->current_posterior, &sim->global_stats,
                                           sim->setup.policy.ridge_lambda, sim->theta0);
    if (st == FCB_OK)
        st = fcb_model_scorer_init(&ls.base, &w->model, w->initial_params);
    ls.phi = malloc((size_t)FCB_EVAL_CHUNK * sim->phi_dim * sizeof(float));
    ls.mean = malloc((size_t)FCB_EVAL_CHUNK * k * sizeof(double));
    ls.width = malloc((size_t)FCB_EVAL_CHUNK * k * sizeof(double));
    if (st == FCB_OK && (!ls.phi || !ls.mean || !ls.width))
        st = fcb_fail(FCB_ERR_NOMEM, "evaluation: out of memory");
    if (st == FCB_OK)
        st = fcb_world_evaluate(w, linear_score, &ls, sim->round, sim->config->seed, accuracy, reward,
                                class_accuracy);
    fcb_model_scorer_free(&ls.base);
    free(ls.phi);
    free(ls.mean);
    free(ls.width);
    return st;
}

static fcb_status model_digest(simulation *sim, char hex[65])
{
    if (!sim->linear)
        return fcb_sha256_hex(sim->current, sim->num_params * sizeof(float), hex);
    size_t n = fcb_linstats_flat_size(&sim->global_stats);
    double *flat = malloc(n * sizeof(double));
    if (!flat)
        return fcb_fail(FCB_ERR_NOMEM, "digest: out of memory");
    fcb_linstats_to_flat(&sim->global_stats, flat);
    fcb_status st = fcb_sha256_hex(flat, n * sizeof(double), hex);
    free(flat);
    return st;
}

static json_t *round_json(const simulation *sim, const round_totals *t, double avg_reward, double seconds)
{
    double interactions = t->examples > 0 ? (double)t->examples : 1.0;
    json_t *j = json_object();
    json_object_set_new(j, "round", json_integer(sim->round + 1));
    json_object_set_new(j, "reward", json_real(t->reward_sum / interactions));
    json_object_set_new(j, "avg_reward", json_real(avg_reward));
    json_object_set_new(j, "true_reward", json_real(t->true_reward_sum / interactions));
    json_object_set_new(j, "prob", json_real(t->propensity_sum / interactions));
    json_object_set_new(j, "clients", json_integer(t->updates));
    json_object_set_new(j, "sampled", json_integer(t->sampled));
    json_object_set_new(j, "unavailable", json_integer(t->unavailable));
    json_object_set_new(j, "no_data", json_integer(t->no_data));
    json_object_set_new(j, "dropped", json_integer(t->dropped));
    json_object_set_new(j, "stale", json_integer(t->stale));
    json_object_set_new(j, "rejected", json_integer(t->rejected));
    json_object_set_new(j, "examples", json_integer(t->examples));
    json_object_set_new(j, "loss", json_real(t->steps ? t->loss_sum / t->steps : 0.0));
    json_object_set_new(j, "bytes_up", json_integer((json_int_t)t->bytes_up));
    json_object_set_new(j, "bytes_down", json_integer((json_int_t)t->bytes_down));
    json_object_set_new(j, "seconds", json_real(seconds));
    return j;
}

static json_t *summary_json(const simulation *sim, const fcb_simulate_result *r, const double *class_accuracy)
{
    json_t *j = json_object();
    json_object_set_new(j, "rounds", json_integer(r->rounds));
    json_object_set_new(j, "interactions", json_integer(r->interactions));
    json_object_set_new(j, "avg_reward", json_real(r->avg_reward));
    json_object_set_new(j, "avg_true_reward", json_real(r->avg_true_reward));
    json_object_set_new(j, "test_accuracy", json_real(r->final_accuracy));
    json_object_set_new(j, "test_reward", json_real(r->final_test_reward));
    json_t *classes = json_array();
    for (int a = 0; a < sim->world.model.config.num_actions; a++)
        json_array_append_new(classes, json_real(class_accuracy[a]));
    json_object_set_new(j, "test_class_accuracy", classes);
    if (r->pretrain_accuracy >= 0.0) {
        json_object_set_new(j, "pretrain_accuracy", json_real(r->pretrain_accuracy));
        json_t *pretrain_classes = json_array();
        for (int a = 0; a < sim->world.model.config.num_actions; a++)
            json_array_append_new(pretrain_classes, json_real(sim->world.pretrain_class_accuracy[a]));
        json_object_set_new(j, "pretrain_class_accuracy", pretrain_classes);
    }
    json_object_set_new(j, "passes", json_real(r->passes));
    json_object_set_new(j, "policy", json_string(fcb_policy_kind_name(sim->setup.policy.kind)));
    json_object_set_new(j, "scenario", json_string(fcb_scenario_name(sim->world.scenario)));
    json_object_set_new(j, "num_params", json_integer((json_int_t)sim->num_params));
    json_object_set_new(j, "seconds", json_real(sim->config->wall_clock ? r->seconds : 0.0));
    json_object_set_new(j, "model_sha256", json_string(r->model_sha256));
    json_object_set_new(j, "config", fcb_config_to_json(sim->config));
    return j;
}

static void print_progress(const simulation *sim, double avg_reward, double accuracy, double elapsed)
{
    int done = sim->round + 1;
    int total = sim->config->rounds;
    double eta = elapsed / done * (total - done);
    fprintf(stderr, "\rround %d/%d  avg reward %.3f  test acc %s%.3f  ETA %.0fs   ", done, total,
            avg_reward, accuracy < 0 ? "-" : "", accuracy < 0 ? 0.0 : accuracy, eta);
    if (done == total)
        fputc('\n', stderr);
}

static fcb_status run_rounds(simulation *sim, const fcb_simulate_options *options, fcb_run_output *out,
                             fcb_simulate_result *result, double *class_accuracy)
{
    const fcb_config *c = sim->config;
    double start = now_seconds();
    double reward_total = 0.0, true_reward_total = 0.0;
    long interactions = 0;
    double accuracy = -1.0, test_reward = 0.0;
    for (sim->round = 0; sim->round < c->rounds; sim->round++) {
        double round_start = now_seconds();
        fcb_status st = fcb_sample_clients(c->seed, sim->round, c->num_clients, c->clients_per_round,
                                           sim->sample_scratch, sim->selected);
        for (int s = 0; st == FCB_OK && s < sim->num_slots; s++) {
            memset(&sim->slots[s], 0, sizeof(slot));
            sim->slots[s].client = sim->selected[s];
        }
        if (st == FCB_OK)
            st = run_clients(sim);
        round_totals totals = {0};
        if (st == FCB_OK)
            st = aggregate_round(sim, &totals);
        if (st == FCB_OK && (sim->round + 1) % c->deploy_every == 0)
            st = deploy(sim);
        int eval_round = (sim->round + 1) % c->eval_every == 0 || sim->round + 1 == c->rounds;
        if (st == FCB_OK && eval_round)
            st = evaluate(sim, &accuracy, &test_reward, class_accuracy);
        if (st != FCB_OK)
            return fcb_fail_context(st, "round %d", sim->round + 1);
        reward_total += totals.reward_sum;
        true_reward_total += totals.true_reward_sum;
        interactions += totals.examples;
        double avg_reward = interactions ? reward_total / interactions : 0.0;
        double seconds = c->wall_clock ? now_seconds() - round_start : 0.0;
        json_t *line = round_json(sim, &totals, avg_reward, seconds);
        if (eval_round) {
            json_object_set_new(line, "test_accuracy", json_real(accuracy));
            json_object_set_new(line, "test_reward", json_real(test_reward));
        }
        st = fcb_run_output_round(out, line);
        json_decref(line);
        if (st != FCB_OK)
            return st;
        if (options->progress)
            print_progress(sim, avg_reward, accuracy, now_seconds() - start);
    }
    result->rounds = c->rounds;
    result->interactions = interactions;
    result->avg_reward = interactions ? reward_total / interactions : 0.0;
    result->avg_true_reward = interactions ? true_reward_total / interactions : 0.0;
    result->final_accuracy = accuracy;
    result->final_test_reward = test_reward;
    result->pretrain_accuracy = sim->world.pretrain_accuracy;
    result->passes = sim->world.num_bandit_rows ? (double)interactions / sim->world.num_bandit_rows : 0.0;
    result->seconds = now_seconds() - start;
    return model_digest(sim, result->model_sha256);
}

fcb_status fcb_simulate(const fcb_config *config, const fcb_simulate_options *options,
                        fcb_simulate_result *result)
{
    memset(result, 0, sizeof *result);
    fcb_status st = fcb_config_validate(config);
    if (st != FCB_OK)
        return st;
    /* Parallelism comes from the client pool; one BLAS thread per worker
     * keeps every product's summation order fixed. */
    openblas_set_num_threads(1);
    simulation sim;
    fcb_run_output out = {0};
    st = init_simulation(&sim, config);
    double *class_accuracy = NULL;
    if (st == FCB_OK) {
        class_accuracy = calloc((size_t)sim.world.model.config.num_actions, sizeof(double));
        if (!class_accuracy)
            st = fcb_fail(FCB_ERR_NOMEM, "out of memory");
    }
    if (st == FCB_OK && options->out_dir)
        st = fcb_run_output_open(&out, options->out_dir);
    if (st == FCB_OK)
        st = run_rounds(&sim, options, &out, result, class_accuracy);
    if (st == FCB_OK && options->out_dir) {
        json_t *summary = summary_json(&sim, result, class_accuracy);
        st = fcb_run_output_summary(&out, summary);
        json_decref(summary);
    }
    fcb_run_output_close(&out);
    free(class_accuracy);
    free_simulation(&sim);
    return st;
}
