/* `fedcb coordinator`: the rounds served to client processes. In the
 * simulated world (network.mode = simulated) the coordinator builds the
 * config's world for its evaluations and its results equal `fedcb
 * simulate`'s; in a real deployment (network.mode = real) it holds no data:
 * the model comes from [model], the clients bring their own data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"
#include "commands.h"
#include "config_file.h"
#include "data_file.h"
#include "defense_config.h"
#include "file_evaluator.h"
#include "log.h"
#include "model_file.h"
#include "net_coordinator.h"
#include "process.h"
#include "run_output.h"
#include "run_plan.h"
#include "run_report.h"
#include "sim_client.h"
#include "sim_evaluator.h"
#include "state_lock.h"
#include "wall_time.h"
#include "checkpoint.h"

enum { MAX_RESAMPLES = 16 };

typedef struct {
    fcb_config config;
    const char *listen, *tls_dir, *state_dir, *out_dir, *port_file, *eval_data;
    int insecure;
    char config_hash[65];
    int real;
    /* the simulated world */
    fcb_world world;
    fcb_sim_client sim;
    fcb_sim_evaluator sim_evaluator;
    fcb_preference_setup preference;
    int has_preference;
    float *reward_params;
    /* a real deployment */
    fcb_model model;
    float *initial_params;
    fcb_client_plan plan;
    fcb_file_evaluator file_evaluator;
    int has_file_evaluator;
    fcb_evaluator evaluator;
    int has_evaluator;
    fcb_federation fed;
    fcb_run_tally tally;
    fcb_run_output out;
    fcb_json_line line;  /* the round's metrics.jsonl line, reused */
    fcb_run_context report;
    fcb_state_lock lock;
    fcb_resample_note resamples[MAX_RESAMPLES];
    int num_resamples;
} coordinator_run;

static int parse_args(coordinator_run *run, fcb_config_args *ca, int argc, char **argv)
{
    const char *command = "coordinator";
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        int has_value = i + 1 < argc;
        int taken = fcb_take_config_arg(ca, argc, argv, &i, command);
        if (taken == 2)
            return 2;
        if (taken)
            continue;
        if (strcmp(arg, "--listen") == 0 && has_value)
            run->listen = argv[++i];
        else if (strcmp(arg, "--tls-dir") == 0 && has_value)
            run->tls_dir = argv[++i];
        else if (strcmp(arg, "--insecure") == 0)
            run->insecure = 1;
        else if (strcmp(arg, "--state-dir") == 0 && has_value)
            run->state_dir = argv[++i];
        else if (strcmp(arg, "--out") == 0 && has_value)
            run->out_dir = argv[++i];
        else if (strcmp(arg, "--port-file") == 0 && has_value)
            run->port_file = argv[++i];
        else if (strcmp(arg, "--eval-data") == 0 && has_value)
            run->eval_data = argv[++i];
        else
            return fcb_usage_error(command, "unknown or incomplete option '%s'", arg);
    }
    if (!run->listen)
        return fcb_usage_error(command, "--listen HOST:PORT is required");
    if (!run->tls_dir == !run->insecure)
        return fcb_usage_error(command, "give exactly one of --tls-dir DIR and --insecure");
    return 0;
}

/* Settings of simulated clients have no meaning where clients are real. */
static fcb_status check_real_config(const fcb_config *c)
{
    struct {
        int ok;
        const char *what;
    } rules[] = {
        {c->model_input_dim >= 1, "model.input_dim must be set: the coordinator holds no data to read it from"},
        {c->model_num_actions >= 2, "model.num_actions must be set (>= 2): the coordinator holds no data"},
        {c->pref_rounds == 0, "preference.rounds needs simulated users to compare actions; set it to 0"},
        {strcmp(c->malicious, "none") == 0, "malicious.kind simulates attackers; real clients are what they are"},
        {c->participation == 1.0 && c->dropout == 0.0 && c->straggler_fraction == 0.0,
         "clients.participation, dropout and straggler_fraction simulate availability; a real deployment's is real"},
        {c->feature_skew == 0.0 && strcmp(c->drift, "none") == 0,
         "clients.feature_skew and drift.kind change the simulated world; real clients' data is their own"},
        {strcmp(c->scenario, "scratch") == 0,
         "scenario.kind pretrains on the simulated world; start from a pretrained model with model.init "
         "(fedcb pretrain) instead"},
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (!rules[i].ok)
            return fcb_fail(FCB_ERR_CONFIG, "network.mode = real: %s", rules[i].what);
    return FCB_OK;
}

/* The model of a real deployment: [model]'s shape, its initial parameters
 * from model.init or from the seed. */
static fcb_status build_real_model(coordinator_run *run)
{
    const fcb_config *c = &run->config;
    fcb_model_config mc;
    fcb_status st = fcb_model_config_from(c, c->model_input_dim, c->model_num_actions, &mc);
    if (st == FCB_OK)
        st = fcb_model_init(&run->model, &mc);
    if (st != FCB_OK)
        return fcb_fail_context(st, "[model]");
    run->initial_params = malloc(run->model.num_params * sizeof(float));
    if (!run->initial_params)
        return fcb_fail(FCB_ERR_NOMEM, "model: out of memory for %zu parameters", run->model.num_params);
    if (c->model_init[0])
        return fcb_model_file_read(c->model_init, run->model.num_params, run->initial_params);
    fcb_rng rng;
    fcb_rng_init(&rng, c->seed, FCB_STREAM_MODEL_INIT, 0, 0);
    return fcb_model_init_params(&run->model, run->initial_params, &rng);
}

static fcb_status build_real(coordinator_run *run)
{
    const fcb_config *c = &run->config;
    fcb_status st = check_real_config(c);
    if (st == FCB_OK)
        st = build_real_model(run);
    if (st == FCB_OK)
        st = fcb_plan_client_plan(c, &run->model, &run->plan);
    const char *eval = run->eval_data ? run->eval_data : c->eval_data[0] ? c->eval_data : NULL;
    if (st != FCB_OK || !eval)
        return st;
    fcb_data_format format;
    fcb_dataset data;
    st = fcb_data_format_resolve("auto", eval, &format);
    if (st == FCB_OK)
        st = fcb_data_load_labelled(eval, format, run->model.config.input_dim, run->model.config.num_actions, &data);
    if (st != FCB_OK)
        return fcb_fail_context(st, "--eval-data");
    fcb_file_evaluator_init(&run->file_evaluator, &data);
    run->has_file_evaluator = 1;
    run->evaluator = fcb_file_evaluator_make(&run->file_evaluator);
    run->has_evaluator = 1;
    fcb_log("coordinator", "evaluating on %d held-out examples of %s", run->file_evaluator.data.n, eval);
    return FCB_OK;
}

static fcb_status build_simulated(coordinator_run *run)
{
    const fcb_config *c = &run->config;
    fcb_malicious_config attack;
    if (run->eval_data)
        return fcb_fail(FCB_ERR_CONFIG, "--eval-data: a simulated-world coordinator evaluates on the world's test "
                                        "set; --eval-data is for network.mode = real");
    fcb_status st = fcb_world_build(&run->world, c);
    if (st == FCB_OK)
        st = fcb_malicious_from_config(c, &attack);
    if (st == FCB_OK)
        st = fcb_sim_client_init(&run->sim, c, &attack, run->world.model.num_params);
    if (st == FCB_OK)
        st = fcb_plan_preference(c, &run->world.model, &run->preference, &run->reward_params, &run->has_preference);
    run->sim_evaluator = (fcb_sim_evaluator){&run->world, c->seed, c->pref_temperature};
    run->evaluator = fcb_sim_evaluator_make(&run->sim_evaluator);
    run->has_evaluator = 1;
    return st;
}

static fcb_status open_outputs(coordinator_run *run)
{
    int found = 0;
    fcb_status st = FCB_OK;
    if (run->state_dir)
        st = fcb_checkpoint_load_newest(run->state_dir, run->config_hash, &run->fed, &run->tally, &found);
    if (st != FCB_OK)
        return st;
    if (found)
        fcb_log("coordinator", "resuming after round %d from %s", run->tally.rounds_done, run->state_dir);
    if (!run->out_dir)
        return FCB_OK;
    st = found ? fcb_run_output_resume(&run->out, run->out_dir, run->tally.rounds_done)
               : fcb_run_output_open(&run->out, run->out_dir);
    run->out.flush_each_round = 1;
    return st;
}

static fcb_status on_round_closed(void *context, const fcb_federation *f, const fcb_round_report *report,
                                  const fcb_run_tally *tally, double round_started)
{
    (void)f;
    coordinator_run *run = context;
    double seconds = run->config.wall_clock ? fcb_wall_seconds() - round_started : 0.0;
    fcb_status st = fcb_round_line(&run->report, report, tally, seconds, run->resamples, run->num_resamples,
                                   &run->line);
    run->num_resamples = 0;
    return st == FCB_OK ? fcb_run_output_round(&run->out, run->line.text, run->line.length) : st;
}

static void on_resampled(void *context, int round, int attempt, const int *missing, int num_missing)
{
    (void)round;
    coordinator_run *run = context;
    if (run->num_resamples == MAX_RESAMPLES)
        return;
    fcb_resample_note *note = &run->resamples[run->num_resamples++];
    note->attempt = attempt;
    note->num_missing = num_missing < 64 ? num_missing : 64;
    memcpy(note->missing, missing, (size_t)note->num_missing * sizeof(int));
}

static fcb_status serve(coordinator_run *run)
{
    const fcb_config *c = &run->config;
    fcb_net_coordinator_options o = {
        .listen = run->listen,
        .tls_dir = run->tls_dir,
        .insecure = run->insecure,
        .port_file = run->port_file,
        .stop = &fcb_stop_requested,
        .machine =
            {
                .round_timeout = c->round_timeout,
                .quorum = c->quorum,
                .min_clients = c->min_clients,
                .max_attempts = c->max_attempts,
                .poll_seconds = c->poll_ms / 1000.0,
                .linger = c->linger,
                .real = run->real,
                .connected_window = c->poll_ms / 1000.0 + 15.0,
                .state_dir = run->state_dir,
                .config_hash = run->config_hash,
            },
        .poll_ms = c->poll_ms,
        .examples_per_round = c->examples_per_round,
        .plan = run->real ? &run->plan : NULL,
        .initial_params = run->initial_params,
    };
    fcb_machine_hooks hooks = {.context = run, .round_closed = on_round_closed, .resampled = on_resampled};
    return fcb_net_coordinator_serve(&o, &run->fed, &run->tally, &hooks);
}

static fcb_status write_results(coordinator_run *run, double seconds, fcb_run_result *result)
{
    fcb_status st = fcb_run_result_fill(&run->report, &run->tally, seconds, result);
    if (st != FCB_OK || !run->out_dir)
        return st;
    fcb_model_view current = run->fed.gm->ops->current(run->fed.gm);
    if (current.params)
        st = fcb_run_output_model(&run->out, current.params, current.count);
    json_t *summary = st == FCB_OK ? fcb_run_summary_json(&run->report, &run->tally, result) : NULL;
    if (summary)
        st = fcb_run_output_summary(&run->out, summary);
    json_decref(summary);
    return st;
}

static fcb_status run_coordinator(coordinator_run *run, fcb_run_result *result)
{
    double start = fcb_wall_seconds();
    fcb_config *c = &run->config;
    fcb_status st = fcb_config_validate(c);
    if (st != FCB_OK)
        return st;
    run->real = strcmp(c->network_mode, "real") == 0;
    fcb_config_hash(c, run->config_hash);
    if (run->state_dir && (st = fcb_state_lock_acquire(&run->lock, run->state_dir)) != FCB_OK)
        return st;
    st = run->real ? build_real(run) : build_simulated(run);
    const fcb_model *model = run->real ? &run->model : &run->world.model;
    const float *initial = run->real ? run->initial_params : run->world.initial_params;
    fcb_federation_config fc;
    if (st == FCB_OK)
        st = fcb_plan_federation(c, model, initial, &fc);
    if (st == FCB_OK)
        st = fcb_federation_init(&run->fed, &fc, run->has_evaluator ? &run->evaluator : NULL);
    run->report = (fcb_run_context){c, &run->fed, run->real ? NULL : &run->world, run->real ? NULL : &run->sim,
                                    run->has_preference ? &run->preference : NULL, run->real};
    fcb_run_tally_init(&run->tally);
    if (st == FCB_OK)
        st = open_outputs(run);
    if (st == FCB_OK)
        st = serve(run);
    if (st == FCB_OK)
        st = write_results(run, fcb_wall_seconds() - start, result);
    return st;
}

static void free_run(coordinator_run *run)
{
    fcb_run_output_close(&run->out);
    fcb_json_line_free(&run->line);
    fcb_federation_free(&run->fed);
    if (run->has_file_evaluator)
        fcb_file_evaluator_free(&run->file_evaluator);
    fcb_sim_client_free(&run->sim);
    fcb_world_free(&run->world);
    free(run->reward_params);
    free(run->initial_params);
    fcb_state_lock_release(&run->lock);
}

int fcb_command_coordinator(int argc, char **argv)
{
    coordinator_run *run = calloc(1, sizeof *run);
    if (!run) {
        fprintf(stderr, "fedcb: coordinator: out of memory\n");
        return 1;
    }
    run->lock.fd = -1;
    fcb_config_args ca = {0};
    int rc = parse_args(run, &ca, argc, argv);
    if (rc == 0)
        rc = fcb_load_config(&ca, "coordinator", 0, &run->config);
    if (rc != 0) {
        free(run);
        return rc;
    }
    fcb_run_result result;
    fcb_status st = run_coordinator(run, &result);
    if (st == FCB_OK) {
        printf("policy=%s rounds=%d interactions=%ld avg_reward=%.4f test_accuracy=%.4f", run->config.policy,
               result.rounds, result.interactions, result.avg_reward, result.final_accuracy);
        if (result.final_val_accuracy >= 0.0)
            printf(" val_accuracy=%.4f", result.final_val_accuracy);
        printf(" seconds=%.2f model_sha256=%s\n", result.seconds, result.model_sha256);
    } else
        fprintf(stderr, "fedcb: coordinator: %s\n", fcb_last_error());
    free_run(run);
    free(run);
    return st == FCB_OK ? 0 : 1;
}
