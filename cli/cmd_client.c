/* `fedcb client`: one client process. With --data it is a client of a real
 * deployment: it holds only its own file and runs the plan and initial
 * model the coordinator sends. With --config it is one client of the
 * config's simulated world (the reproducibility check). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"
#include "commands.h"
#include "config_file.h"
#include "conn_check.h"
#include "data_file.h"
#include "defense_config.h"
#include "file_users.h"
#include "log.h"
#include "log_source.h"
#include "net_client.h"
#include "neural_linear.h"
#include "process.h"
#include "run_plan.h"
#include "sim_client.h"
#include "sim_source.h"
#include "wire_check.h"

typedef struct {
    fcb_net_client_options options;
    const char *data;
    const char *data_format;
    fcb_config config;
} client_args;

static int parse_args(client_args *a, fcb_config_args *ca, int argc, char **argv)
{
    const char *command = "client";
    long id = -1;
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        int has_value = i + 1 < argc;
        int taken = fcb_take_config_arg(ca, argc, argv, &i, command);
        if (taken == 2)
            return 2;
        if (taken)
            continue;
        if (strcmp(arg, "--coordinator") == 0 && has_value) {
            a->options.coordinator = argv[++i];
        } else if (strcmp(arg, "--client-id") == 0 && has_value) {
            if (!fcb_arg_int(argv[++i], 0, 1000000000, &id))
                return fcb_usage_error(command, "--client-id '%s' is not a client number", argv[i]);
        } else if (strcmp(arg, "--tls-dir") == 0 && has_value) {
            a->options.tls_dir = argv[++i];
        } else if (strcmp(arg, "--insecure") == 0) {
            a->options.insecure = 1;
        } else if (strcmp(arg, "--give-up") == 0 && has_value) {
            if (!fcb_arg_seconds(argv[++i], &a->options.give_up))
                return fcb_usage_error(command, "--give-up '%s' is not a positive number of seconds", argv[i]);
        } else if (strcmp(arg, "--data") == 0 && has_value) {
            a->data = argv[++i];
        } else if (strcmp(arg, "--data-format") == 0 && has_value) {
            a->data_format = argv[++i];
        } else {
            return fcb_usage_error(command, "unknown or incomplete option '%s'", arg);
        }
    }
    a->options.client_id = (int)id;
    if (!a->options.coordinator)
        return fcb_usage_error(command, "--coordinator HOST:PORT is required");
    char host[256];
    int port;
    if (fcb_parse_target(a->options.coordinator, host, sizeof host, &port) != FCB_OK)
        return fcb_usage_error(command, "%s", fcb_last_error());
    if (id < 0)
        return fcb_usage_error(command, "--client-id N is required");
    if (!a->options.tls_dir == !a->options.insecure)
        return fcb_usage_error(command, "give exactly one of --tls-dir DIR and --insecure");
    return 0;
}

/* ---- a client with its own data ---- */

typedef struct {
    fcb_model model;
    fcb_client_setup setup;
    fcb_data_format format;
    fcb_log_source log;
    fcb_file_users users;
    fcb_data_source source;
} own_data;

static fcb_status open_own_data(own_data *d, const client_args *a, const fcb_client_plan *plan)
{
    int dim = plan->model.input_dim, k = plan->model.num_actions;
    char who[32];
    snprintf(who, sizeof who, "client %d", a->options.client_id);
    fcb_status st = fcb_data_format_resolve(a->data_format, a->data, &d->format);
    if (st == FCB_OK && d->format == FCB_DATA_CB) {
        st = fcb_log_source_open(&d->log, a->data, dim, k, plan->examples_per_round);
        d->source = fcb_log_source_as_data_source(&d->log);
        if (st == FCB_OK)
            fcb_log(who, "replaying the %d logged decisions of %s (%d unlabelled lines skipped)", d->log.log.n, a->data,
                    d->log.log.skipped_unlabelled);
        return st;
    }
    fcb_dataset data;
    if (st == FCB_OK)
        st = fcb_data_load_labelled(a->data, d->format, dim, k, &data);
    if (st == FCB_OK)
        st = fcb_file_users_init(&d->users, &data, plan->seed, plan->examples_per_round);
    d->source = fcb_file_users_as_data_source(&d->users);
    if (st == FCB_OK)
        fcb_log(who, "%d labelled examples of %s stand for this client's users", d->users.data.n, a->data);
    return st;
}

static fcb_status run_own_data(client_args *a)
{
    own_data d;
    memset(&d, 0, sizeof d);
    fcb_net_client *nc = NULL;
    a->options.config_hash = NULL;
    fcb_status st = fcb_net_client_open(&a->options, &nc);
    const fcb_client_plan *plan = st == FCB_OK ? fcb_net_client_plan(nc) : NULL;
    if (st == FCB_OK)
        st = fcb_model_init(&d.model, &plan->model);
    if (st == FCB_OK)
        st = open_own_data(&d, a, plan);
    if (st == FCB_OK) {
        fcb_client_setup_from_plan(plan, &d.model, &d.setup);
        fcb_net_client_work work = {&d.setup, NULL, 0, fcb_net_client_initial_params(nc), plan->examples_per_round,
                                    &d.source, NULL, NULL, NULL};
        st = fcb_net_client_run(nc, &work);
    }
    fcb_net_client_close(nc);
    if (d.format == FCB_DATA_CB)
        fcb_log_source_close(&d.log);
    else
        fcb_file_users_free(&d.users);
    return st;
}

/* ---- a client of the simulated world ---- */

static fcb_status run_simulated(client_args *a)
{
    const fcb_config *c = &a->config;
    if (a->options.client_id >= c->num_clients)
        return fcb_fail(FCB_ERR_ARG, "--client-id %d is out of range [0, %d) (clients.num_clients)",
                        a->options.client_id, c->num_clients);
    fcb_world world;
    fcb_client_setup setup;
    fcb_preference_setup preference;
    int has_preference = 0;
    float *reward_params = NULL;
    fcb_malicious_config attack;
    fcb_sim_client sim;
    fcb_sim_source source;
    memset(&sim, 0, sizeof sim);
    memset(&source, 0, sizeof source);
    char hash[65];
    fcb_config_hash(c, hash);
    fcb_net_client *nc = NULL;
    fcb_status st = fcb_world_build(&world, c);
    if (st == FCB_OK)
        st = fcb_plan_client_setup(c, &world.model, &setup);
    if (st == FCB_OK)
        st = fcb_plan_preference(c, &world.model, &preference, &reward_params, &has_preference);
    if (st == FCB_OK)
        st = fcb_malicious_from_config(c, &attack);
    if (st == FCB_OK)
        st = fcb_sim_client_init(&sim, c, &attack, world.model.num_params);
    if (st == FCB_OK)
        st = fcb_sim_source_init(&source, &world, c);
    if (st == FCB_OK) {
        int linear = fcb_policy_is_linear(setup.policy.kind);
        size_t model_bytes = world.model.num_params * sizeof(float);
        if (linear) {
            fcb_linstats probe;
            st = fcb_linstats_init(&probe, world.model.config.num_actions, fcb_linear_phi_dim(&world.model),
                                   setup.policy.diagonal);
            model_bytes = fcb_linstats_flat_size(&probe) * sizeof(double);
            if (fcb_policy_uses_tilde(&setup.policy))
                model_bytes += fcb_linstats_a_size(&probe) * sizeof(double);
            fcb_linstats_free(&probe);
        }
        a->options.config_hash = hash;
        a->options.max_message_bytes = fcb_wire_message_limit(model_bytes);
    }
    if (st == FCB_OK)
        st = fcb_net_client_open(&a->options, &nc);
    if (st == FCB_OK) {
        fcb_data_source data = fcb_sim_source_as_data_source(&source);
        fcb_client_hooks hooks = fcb_sim_client_hooks(&sim);
        fcb_net_client_work work = {&setup, has_preference ? &preference : NULL, c->rounds, world.initial_params,
                                    c->examples_per_round, &data, &hooks, NULL, NULL};
        st = fcb_net_client_run(nc, &work);
    }
    fcb_net_client_close(nc);
    fcb_sim_source_free(&source);
    fcb_sim_client_free(&sim);
    free(reward_params);
    fcb_world_free(&world);
    return st;
}

int fcb_command_client(int argc, char **argv)
{
    client_args a;
    memset(&a, 0, sizeof a);
    a.options.give_up = 300.0;
    a.options.stop = &fcb_stop_requested;
    a.data_format = "auto";
    fcb_config_args ca = {0};
    int rc = parse_args(&a, &ca, argc, argv);
    if (rc != 0)
        return rc;
    rc = fcb_load_config(&ca, "client", 1, &a.config);
    if (rc != 0)
        return rc;
    if (!a.data && a.config.client_data[0])
        a.data = a.config.client_data;
    if (a.data && strcmp(a.data_format, "auto") == 0)
        a.data_format = a.config.client_data_format;
    if (!a.data && !ca.config_path)
        return fcb_usage_error("client", "give --data FILE (your own data) or --config FILE (the simulated world)");
    a.options.poll_ms = a.config.poll_ms;
    fcb_status st = fcb_config_validate(&a.config);
    if (st == FCB_OK)
        st = a.data ? run_own_data(&a) : run_simulated(&a);
    if (st != FCB_OK) {
        fprintf(stderr, "fedcb: %s\n", fcb_last_error());
        return 1;
    }
    return 0;
}
