#include "simulate.h"

#include <cblas.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_task.h"
#include "federation.h"
#include "round_finish.h"
#include "round_log.h"
#include "run_output.h"
#include "wall_time.h"
#include "world.h"

typedef struct {
    const fcb_config *config;
    fcb_world world;
    fcb_federation fed;
    int num_workers;
    fcb_client_worker *workers;
    atomic_int next_slot;
    int logging;        /* run.log_interactions with an output directory */
    fcb_round_log log;
} simulation;

static void copy_posterior(fcb_linposterior *dst, const fcb_linposterior *src)
{
    size_t kd = (size_t)src->num_actions * src->dim;
    size_t chol = src->diagonal ? kd : kd * src->dim;
    memcpy(dst->chol, src->chol, chol * sizeof(double));
    memcpy(dst->theta, src->theta, kd * sizeof(double));
    dst->lambda = src->lambda;
}

static void share_deployed_posterior(simulation *sim)
{
    for (int i = 0; sim->fed.linear && i < sim->num_workers; i++)
        copy_posterior(&sim->workers[i].posterior, &sim->fed.deployed_posterior);
}

static fcb_status init_simulation(simulation *sim, const fcb_config *config)
{
    memset(sim, 0, sizeof *sim);
    sim->config = config;
    fcb_status st = fcb_world_build(&sim->world, config);
    if (st == FCB_OK)
        st = fcb_federation_init(&sim->fed, config, &sim->world);
    if (st != FCB_OK)
        return st;
    int slots = sim->fed.num_slots;
    sim->num_workers = config->threads < slots ? config->threads : slots;
    sim->workers = calloc((size_t)sim->num_workers, sizeof(fcb_client_worker));
    if (!sim->workers)
        return fcb_fail(FCB_ERR_NOMEM, "simulation: out of memory");
    for (int i = 0; st == FCB_OK && i < sim->num_workers; i++)
        st = fcb_client_worker_init(&sim->workers[i], &sim->fed.setup, &sim->fed.preference, &sim->world, config);
    if (st == FCB_OK)
        share_deployed_posterior(sim);
    return st;
}

static void free_simulation(simulation *sim)
{
    for (int i = 0; sim->workers && i < sim->num_workers; i++)
        fcb_client_worker_free(&sim->workers[i]);
    free(sim->workers);
    fcb_federation_free(&sim->fed);
    fcb_world_free(&sim->world);
}

static fcb_status open_interaction_log(simulation *sim, const char *out_dir)
{
    if (!out_dir)
        return fcb_fail(FCB_ERR_CONFIG, "run.log_interactions = true needs an output directory (--out DIR)");
    char path[FCB_CONFIG_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/interactions.csv.gz", out_dir);
    fcb_status st = fcb_round_log_open(&sim->log, path, sim->fed.num_slots, sim->config->examples_per_round);
    sim->logging = 1; /* close frees whatever open allocated */
    return st;
}

typedef struct {
    simulation *sim;
    fcb_client_worker *w;
} worker_arg;

static void *worker_main(void *arg)
{
    worker_arg *wa = arg;
    simulation *sim = wa->sim;
    fcb_federation *f = &sim->fed;
    fcb_client_task_inputs in = {sim->config, &sim->world, &f->setup, f->deployed, f->current, &f->preference};
    for (;;) {
        int s = atomic_fetch_add(&sim->next_slot, 1);
        if (s >= f->num_slots)
            return NULL;
        fcb_client_task_run(&in, wa->w, f->round, &f->slots[s], f->linear ? NULL : fcb_federation_slot_delta(f, s),
                            f->linear ? &f->slot_stats[s] : NULL);
        if (sim->logging)
            fcb_round_log_keep(&sim->log, s, &f->slots[s], &wa->w->buffers);
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
        fcb_round_totals totals;
        st = fcb_round_finish(&sim->fed, tally, options->out_dir ? out : NULL, round_start, &totals);
        if (st != FCB_OK)
            return st;
        share_deployed_posterior(sim);
        if (options->progress)
            print_progress(sim, tally, fcb_wall_seconds() - start);
    }
    return FCB_OK;
}

fcb_status fcb_simulate(const fcb_config *config, const fcb_simulate_options *options, fcb_simulate_result *result)
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
    fcb_run_tally tally;
    fcb_run_tally_init(&tally);
    st = init_simulation(&sim, config);
    double start = fcb_wall_seconds(); /* the rounds' time: data loading and pretraining excluded */
    if (st == FCB_OK && options->out_dir)
        st = fcb_run_output_open(&out, options->out_dir);
    if (st == FCB_OK && config->log_interactions)
        st = open_interaction_log(&sim, options->out_dir);
    if (st == FCB_OK)
        st = run_rounds(&sim, options, &out, &tally);
    if (st == FCB_OK)
        st = fcb_run_result_fill(&sim.fed, &tally, fcb_wall_seconds() - start, result);
    if (sim.logging) {
        fcb_status closed = fcb_round_log_close(&sim.log);
        st = st == FCB_OK ? closed : st;
    }
    if (st == FCB_OK && options->out_dir && !sim.fed.linear)
        st = fcb_run_output_model(&out, sim.fed.current, sim.fed.num_params);
    if (st == FCB_OK && options->out_dir) {
        json_t *summary = fcb_run_summary_json(&sim.fed, &tally, result);
        st = fcb_run_output_summary(&out, summary);
        json_decref(summary);
    }
    fcb_run_output_close(&out);
    free_simulation(&sim);
    return st;
}
