#include "agent_federation.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "net_client.h"

/* The learner of a federated agent: one client of the coordinator. When
 * sampled it trains on the events resolved since its last round (waiting
 * up to round_wait for min_round_events of them) and submits the update;
 * each newly deployed model replaces the deciding one. */

typedef struct {
    fcb_agent *agent;
    fcb_agent_batch batch;
} federation_round;

static fcb_status round_contexts(void *context, int client, int round, fcb_round_contexts *out)
{
    (void)client;
    federation_round *f = context;
    fcb_agent *a = f->agent;
    fcb_agent_wait_batch(a, a->options.min_round_events, a->options.round_wait, 1, &f->batch);
    if (f->batch.n > 0) {
        fcb_agent_consumed(a, &f->batch);
        atomic_fetch_add(&a->rounds, 1);
    } else {
        fcb_log("agent", "round %d: no resolved event within %.0f s", round + 1, a->options.round_wait);
    }
    fcb_data_source batch = fcb_agent_batch_source(&f->batch);
    return batch.contexts(batch.context, client, round, out);
}

static void deployed(void *context, int64_t version, const float *params)
{
    fcb_agent_deploy(context, params, version);
}

static fcb_status federate(fcb_agent *a)
{
    fcb_net_client_options o = {
        .coordinator = a->options.coordinator,
        .client_id = a->options.client_id,
        .tls_dir = a->options.tls_dir,
        .insecure = a->options.insecure,
        .give_up = a->options.give_up,
        .stop = &a->stop,
        .config_hash = NULL,
        .poll_ms = 1000,
    };
    fcb_net_client *nc = NULL;
    fcb_status st = fcb_net_client_open(&o, &nc);
    const fcb_client_plan *plan = st == FCB_OK ? fcb_net_client_plan(nc) : NULL;
    if (st == FCB_OK && !plan)
        st = fcb_fail(FCB_ERR_STATE, "the coordinator at %s runs the simulated world, not clients with their own "
                                     "data", a->options.coordinator);
    if (st == FCB_OK)
        st = fcb_agent_adopt_plan(a, plan, fcb_net_client_initial_params(nc), 0);
    federation_round f = {a, {0}};
    if (st == FCB_OK)
        st = fcb_agent_batch_init(&f.batch, plan->examples_per_round, a->options.input_dim);
    if (st == FCB_OK) {
        fcb_client_setup setup;
        fcb_client_setup_from_plan(&a->plan, &a->model, &setup);
        fcb_data_source source = {&f, round_contexts, fcb_no_feedback, NULL, NULL};
        fcb_net_client_work work = {&setup, NULL, 0, fcb_net_client_initial_params(nc), plan->examples_per_round,
                                    &source, NULL, deployed, a};
        st = fcb_net_client_run(nc, &work);
    }
    fcb_agent_batch_free(&f.batch);
    fcb_net_client_close(nc);
    return st;
}

void *fcb_agent_federation_learner(void *agent)
{
    fcb_agent *a = agent;
    if (a->options.quiet)
        fcb_log_set_thread_quiet(1);
    fcb_status st = federate(a);
    if (st != FCB_OK && !atomic_load(&a->stop)) {
        fcb_agent_set_learner_error(a, fcb_last_error());
        fcb_log("agent", "the federated learner stopped: %s", fcb_last_error());
    }
    atomic_store(&a->learner_running, 0);
    return NULL;
}
