#include "simulate.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_round.h"
#include "config_file.h"
#include "defense_config.h"
#include "federation.h"
#include "linear_model.h"
#include "round_close.h"
#include "round_log.h"
#include "run_output.h"
#include "run_plan.h"
#include "sim_client.h"
#include "sim_evaluator.h"
#include "sim_source.h"
#include "wall_time.h"
#include "world.h"

typedef struct {
    fcb_client_worker client;
    fcb_sim_source source;
} worker;

typedef struct {
    const fcb_config *config;
    fcb_world world;
    fcb_client_setup setup;
    fcb_preference_setup preference;
    int has_preference;
    float *reward_params;
    fcb_sim_client sim;
    fcb_client_hooks hooks;
    fcb_sim_evaluator sim_evaluator;
    fcb_evaluator evaluator;
    fcb_federation fed;
    fcb_run_context report;
    int num_workers;
    worker *workers;
    atomic_int next_slot;
    int logging;        /* run.log_interactions or run.log_vw, with an output directory */
    fcb_round_log log;
    fcb_json_line line; /* the round's metrics.jsonl line, reused */
} simulation;

/* Linear bandits: every worker decides with the coordinator's deployed
 * posterior, copied rather than solved again. */
static fcb_status share_deployed_posterior(simulation *sim)
{
    const fcb_linposterior *src = fcb_linear_model_posterior(sim->fed.gm);
    fcb_status st = FCB_OK;
    for (int i = 0; src && st == FCB_OK && i < sim->num_workers; i++)
        st = fcb_linposterior_copy(&sim->workers[i].client.posterior, src);
    return st;
}

static fcb_status init_clients(simulation *sim)
{
    const fcb_config *c = sim->config;
    const fcb_model *model = &sim->world.model;
    fcb_malicious_config attack;
    fcb_status st = fcb_plan_client_setup(c, model, &sim->setup);
    if (st == FCB_OK)
        st = fcb_plan_preference(c, model, &sim->preference, &sim->reward_params, &sim->has_preference);
    if (st == FCB_OK)
        st = fcb_malicious_from_config(c, &attack);
    if (st == FCB_OK)
        st = fcb_sim_client_init(&sim->sim, c, &attack, model->num_params);
    sim->hooks = fcb_sim_client_hooks(&sim->sim);
    return st;
}

static fcb_status init_workers(simulation *sim)
{
    int slots = sim->fed.capacity;
    sim->num_workers = sim->config->threads < slots ? sim->config->threads : slots;
    sim->workers = calloc((size_t)sim->num_workers, sizeof(worker));
    if (!sim->workers)
        return fcb_fail(FCB_ERR_NOMEM, "simulation: out of memory");
    fcb_status st = FCB_OK;
    for (int i = 0; st == FCB_OK && i < sim->num_workers; i++) {
        st = fcb_client_worker_init(&sim->workers[i].client, &sim->setup,
                                    sim->has_preference ? &sim->preference : NULL, sim->config->examples_per_round);
        if (st == FCB_OK)
            st = fcb_sim_source_init(&sim->workers[i].source, &sim->world, sim->config);
    }
    if (st == FCB_OK)
        st = share_deployed_posterior(sim);
    return st;
}

static fcb_status init_simulation(simulation *sim, const fcb_config *config)
{
    memset(sim, 0, sizeof *sim);
    sim->config = config;
    fcb_federation_config fc;
    fcb_status st = fcb_world_build(&sim->world, config);
    if (st == FCB_OK)
        st = init_clients(sim);
    sim->sim_evaluator = (fcb_sim_evaluator){&sim->world, config->seed, config->pref_temperature};
    sim->evaluator = fcb_sim_evaluator_make(&sim->sim_evaluator);
    if (st == FCB_OK)
        st = fcb_plan_federation(config, &sim->world.model, sim->world.initial_params, &fc);
    if (st == FCB_OK)
        st = fcb_federation_init(&sim->fed, &fc, &sim->evaluator);
    if (st == FCB_OK)
        st = init_workers(sim);
    sim->report = (fcb_run_context){config, &sim->fed, &sim->world, &sim->sim,
                                    sim->has_preference ? &sim->preference : NULL, 0};
    return st;
}

static void free_simulation(simulation *sim)
{
    for (int i = 0; sim->workers && i < sim->num_workers; i++) {
        fcb_client_worker_free(&sim->workers[i].client);
        fcb_sim_source_free(&sim->workers[i].source);
    }
    free(sim->workers);
    fcb_json_line_free(&sim->line);
    fcb_federation_free(&sim->fed);
    fcb_sim_client_free(&sim->sim);
    free(sim->reward_params);
    fcb_world_free(&sim->world);
}

static fcb_status open_interaction_log(simulation *sim, const char *out_dir)
{
    const fcb_config *c = sim->config;
    if (!out_dir)
        return fcb_fail(FCB_ERR_CONFIG, "run.%s = true needs an output directory (--out DIR)",
                        c->log_interactions ? "log_interactions" : "log_vw");
    char csv[FCB_CONFIG_PATH_MAX + 32], vw[FCB_CONFIG_PATH_MAX + 32];
    snprintf(csv, sizeof csv, "%s/interactions.csv.gz", out_dir);
    snprintf(vw, sizeof vw, "%s/logs", out_dir);
    fcb_status st = fcb_round_log_open(&sim->log, c->log_interactions ? csv : NULL, c->log_vw ? vw : NULL,
                                       sim->fed.capacity, c->examples_per_round, sim->world.model.config.input_dim,
                                       c->num_clients);
    sim->logging = 1; /* close frees whatever open allocated */
    return st;
}

/* One simulated client's round into its slot. */
static void run_slot(simulation *sim, worker *w, int s)
{
    fcb_federation *f = &sim->fed;
    fcb_slot *sl = &f->slots[s];
    const fcb_config *c = sim->config;
    int client = sl->client, round = f->round;
    if (sim->hooks.absent(sim->hooks.context, client, round)) {
        sl->state = FCB_SLOT_UNAVAILABLE;
        return;
    }
    fcb_model_view deployed = f->gm->ops->deployed(f->gm), current = f->gm->ops->current(f->gm);
    fcb_round_models models = {deployed.params, current.params, sim->world.initial_params, f->reference,
                               fcb_federation_is_preference_round(f, round)};
    fcb_update_buffer update = fcb_federation_slot_update(f, s);
    fcb_data_source source = fcb_sim_source_as_data_source(&w->source);
    int no_data = 0, drop = 0;
    double delay = 0.0;
    fcb_status st = fcb_client_round_run(&sim->setup, sim->has_preference ? &sim->preference : NULL, &w->client,
                                         &models, &source, client, round, &update, &sl->result, &no_data);
    if (st == FCB_OK && !no_data)
        st = sim->hooks.after_update(sim->hooks.context, client, round, &update, &drop, &delay);
    if (st != FCB_OK) {
        sl->state = FCB_SLOT_FAILED;
        sl->status = st;
        snprintf(sl->error, sizeof sl->error, "%s", fcb_last_error());
    } else if (no_data) {
        sl->state = FCB_SLOT_NO_DATA;
    } else if (drop) {
        sl->state = FCB_SLOT_DROPPED;
    } else {
        sl->state = delay > c->round_deadline ? FCB_SLOT_STALE : FCB_SLOT_DONE;
    }
}

typedef struct {
    simulation *sim;
    worker *w;
} worker_arg;

static void *worker_main(void *arg)
{
    worker_arg *wa = arg;
    simulation *sim = wa->sim;
    for (;;) {
        int s = atomic_fetch_add(&sim->next_slot, 1);
        if (s >= sim->fed.num_slots)
            return NULL;
        run_slot(sim, wa->w, s);
        if (sim->logging)
            fcb_round_log_keep(&sim->log, s, &sim->fed.slots[s], &wa->w->client.buffers, wa->w->source.x);
    }
}

static void run_clients(simulation *sim)
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
}

static void print_progress(const simulation *sim, const fcb_run_tally *tally, double elapsed)
{
    int done = tally->rounds_done;
    int total = fcb_federation_total_rounds(&sim->fed);
    double eta = elapsed / done * (total - done);
    double avg_reward = tally->interactions ? tally->reward_total / tally->interactions : 0.0;
    double accuracy = tally->accuracy;
    fprintf(stderr, "\rround %d/%d  avg reward %.3f  test acc %s%.3f  ETA %.0fs   ", done, total, avg_reward,
            accuracy < 0 ? "-" : "", accuracy < 0 ? 0.0 : accuracy, eta);
    if (done == total)
        fputc('\n', stderr);
}

static fcb_status write_round(simulation *sim, fcb_run_output *out, const fcb_round_report *report,
                              const fcb_run_tally *tally, double round_start)
{
    double seconds = sim->config->wall_clock ? fcb_wall_seconds() - round_start : 0.0;
    fcb_status st = fcb_round_line(&sim->report, report, tally, seconds, NULL, 0, &sim->line);
    return st == FCB_OK ? fcb_run_output_round(out, sim->line.text, sim->line.length) : st;
}

static fcb_status run_rounds(simulation *sim, const fcb_simulate_options *options, fcb_run_output *out,
                             fcb_run_tally *tally)
{
    double start = fcb_wall_seconds();
    for (int round = 0; round < fcb_federation_total_rounds(&sim->fed); round++) {
        double round_start = fcb_wall_seconds();
        fcb_status st = fcb_federation_sample(&sim->fed, round, 0);
        if (st != FCB_OK)
            return fcb_fail_context(st, "round %d", round + 1);
        run_clients(sim);
        if (sim->logging && (st = fcb_round_log_write(&sim->log, &sim->fed, round)) != FCB_OK)
            return st;
        fcb_round_report report;
        st = fcb_round_close(&sim->fed, tally, &report);
        if (st == FCB_OK && options->out_dir)
            st = write_round(sim, out, &report, tally, round_start);
        if (st != FCB_OK)
            return st;
        if ((st = share_deployed_posterior(sim)) != FCB_OK)
            return st;
        if (options->progress)
            print_progress(sim, tally, fcb_wall_seconds() - start);
    }
    return FCB_OK;
}

static fcb_status write_results(simulation *sim, fcb_run_output *out, const fcb_run_tally *tally,
                                const fcb_simulate_result *result)
{
    fcb_model_view current = sim->fed.gm->ops->current(sim->fed.gm);
    fcb_status st = FCB_OK;
    if (current.params)
        st = fcb_run_output_model(out, current.params, current.count);
    if (st != FCB_OK)
        return st;
    json_t *summary = fcb_run_summary_json(&sim->report, tally, result);
    st = fcb_run_output_summary(out, summary);
    json_decref(summary);
    return st;
}

fcb_status fcb_simulate(const fcb_config *config, const fcb_simulate_options *options, fcb_simulate_result *result)
{
    memset(result, 0, sizeof *result);
    fcb_status st = fcb_config_validate(config);
    if (st != FCB_OK)
        return st;
    simulation sim;
    fcb_run_output out = {0};
    fcb_run_tally tally;
    fcb_run_tally_init(&tally);
    st = init_simulation(&sim, config);
    double start = fcb_wall_seconds(); /* the rounds' time: data loading and pretraining excluded */
    if (st == FCB_OK && options->out_dir)
        st = fcb_run_output_open(&out, options->out_dir);
    if (st == FCB_OK && (config->log_interactions || config->log_vw))
        st = open_interaction_log(&sim, options->out_dir);
    if (st == FCB_OK)
        st = run_rounds(&sim, options, &out, &tally);
    if (st == FCB_OK)
        st = fcb_run_result_fill(&sim.report, &tally, fcb_wall_seconds() - start, result);
    if (sim.logging) {
        fcb_status closed = fcb_round_log_close(&sim.log);
        st = st == FCB_OK ? closed : st;
    }
    if (st == FCB_OK)
        st = fcb_run_output_flush(&out); /* a metrics.jsonl that failed to write leaves no summary */
    if (st == FCB_OK && options->out_dir)
        st = write_results(&sim, &out, &tally, result);
    fcb_run_output_close(&out);
    free_simulation(&sim);
    return st;
}
