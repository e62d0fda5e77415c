#include "agent_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "wall_time.h"

static fcb_status batch_contexts(void *context, int client, int round, fcb_round_contexts *out)
{
    (void)client;
    (void)round;
    fcb_agent_batch *b = context;
    out->n = b->n;
    out->x = b->x;
    out->actions = b->actions;
    out->propensities = b->propensities;
    out->rewards = b->rewards;
    return FCB_OK;
}

fcb_data_source fcb_agent_batch_source(fcb_agent_batch *b)
{
    fcb_data_source source = {b, batch_contexts, fcb_no_feedback, NULL, NULL};
    return source;
}

static struct timespec deadline_after(double seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double whole = (double)(long)seconds;
    ts.tv_sec += (time_t)whole;
    ts.tv_nsec += (long)((seconds - whole) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

void fcb_agent_wait_batch(fcb_agent *a, int min_events, double seconds, int partial, fcb_agent_batch *b)
{
    double until = fcb_epoch_seconds() + seconds;
    pthread_mutex_lock(&a->events_lock);
    for (;;) {
        double now = fcb_epoch_seconds();
        fcb_events_expire(a, now);
        if (a->stopping || a->resolved.rows.n >= min_events || now >= until)
            break;
        /* Wake at least every 100 ms: events expire with time, not with calls. */
        double wait = until - now < 0.1 ? until - now : 0.1;
        struct timespec ts = deadline_after(wait);
        int rc = pthread_cond_timedwait(&a->events_changed, &a->events_lock, &ts);
        if (rc != 0 && rc != ETIMEDOUT)
            break;
    }
    b->n = 0;
    if (!a->stopping && (partial || a->resolved.rows.n >= min_events))
        fcb_events_take(a, b);
    pthread_mutex_unlock(&a->events_lock);
}

void fcb_agent_consumed(fcb_agent *a, const fcb_agent_batch *b)
{
    if (!a->store || b->n == 0)
        return;
    if (fcb_agent_store_consume(a->store, b->ids, b->n) != FCB_OK)
        fcb_log("agent", "store: %s", fcb_last_error());
}

/* One local update: train the deciding model on the batch, deploy the result. */
static fcb_status local_round(fcb_agent *a, fcb_client_worker *w, fcb_agent_batch *b, float *current, float *delta,
                              int round)
{
    pthread_rwlock_rdlock(&a->model_lock);
    memcpy(current, a->params, a->model.num_params * sizeof(float));
    int64_t version = a->version;
    pthread_rwlock_unlock(&a->model_lock);
    fcb_client_setup setup;
    fcb_client_setup_from_plan(&a->plan, &a->model, &setup);
    fcb_round_models models = {current, current, NULL, NULL, 0};
    fcb_update_buffer update = {delta, NULL};
    fcb_data_source source = fcb_agent_batch_source(b);
    fcb_client_result result;
    int no_data = 0;
    fcb_status st = fcb_client_round_run(&setup, NULL, w, &models, &source, a->options.client_id, round, &update,
                                         &result, &no_data);
    if (st != FCB_OK || no_data)
        return st;
    for (size_t i = 0; i < a->model.num_params; i++)
        current[i] += delta[i];
    fcb_agent_deploy(a, current, version + 1);
    fcb_agent_consumed(a, b);
    atomic_fetch_add(&a->rounds, 1);
    return FCB_OK;
}

void *fcb_agent_local_learner(void *agent)
{
    fcb_agent *a = agent;
    if (a->options.quiet)
        fcb_log_set_thread_quiet(1);
    int n = a->options.learn_every;
    fcb_client_worker worker;
    fcb_agent_batch batch;
    fcb_client_setup setup;
    fcb_client_setup_from_plan(&a->plan, &a->model, &setup);
    memset(&worker, 0, sizeof worker);
    fcb_status st = fcb_client_worker_init(&worker, &setup, NULL, n);
    if (st == FCB_OK)
        st = fcb_agent_batch_init(&batch, n, a->options.input_dim);
    float *current = malloc(a->model.num_params * sizeof(float));
    float *delta = malloc(a->model.num_params * sizeof(float));
    if (st == FCB_OK && (!current || !delta))
        st = fcb_fail(FCB_ERR_NOMEM, "agent: out of memory for the learner");
    for (int round = 0; st == FCB_OK && !atomic_load(&a->stop); round++) {
        fcb_agent_wait_batch(a, n, 1.0, 0, &batch);
        if (batch.n < n) {
            round--;
            continue;
        }
        st = local_round(a, &worker, &batch, current, delta, round);
    }
    if (st != FCB_OK) {
        fcb_agent_set_learner_error(a, fcb_last_error());
        fcb_log("agent", "the local learner stopped: %s", fcb_last_error());
    }
    free(current);
    free(delta);
    fcb_agent_batch_free(&batch);
    fcb_client_worker_free(&worker);
    atomic_store(&a->learner_running, 0);
    return NULL;
}
