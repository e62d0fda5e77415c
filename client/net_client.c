#include "net_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn_check.h"
#include "linear_bandit.h"
#include "log.h"
#include "neural_linear.h"
#include "plan_wire.h"
#include "rpc_client.h"
#include "rpc_common.h"
#include "wall_time.h"
#include "wire_check.h"

/* gRPC status codes the client acts on (grpc/status.h). */
enum { RPC_DEADLINE_EXCEEDED = 4, RPC_UNAVAILABLE = 14 };

struct fcb_net_client {
    fcb_net_client_options options;
    char who[32];               /* "client N", for log lines */
    char run_id[65];            /* the config hash every later request carries */
    fcb_tls_files tls;
    fcb_rpc_client *rpc;
    double unreachable_since;   /* 0 while the coordinator answers */
    int last_grpc_status;       /* of the last call */
    char cause[512];            /* why the coordinator is unreachable (conn_check) */
    int answered_once;          /* a call succeeded: the address and certificates are right */
    /* own data: the plan and initial model from the registration */
    int has_plan;
    fcb_client_plan plan;
    float *initial_params;
    size_t num_params;
    /* rounds */
    const fcb_net_client_work *work;
    fcb_wire_limits limits;
    fcb_client_worker worker;
    int linear;
    size_t stats_size;
    size_t deployed_stats_size;  /* stats_size, plus D-LinUCB's A~ when the policy uses it */
    float *deployed;
    float *current;
    float *reference;
    float *delta;
    fcb_linstats stats;          /* this round's statistics (linear bandits) */
    fcb_linstats deployed_stats;
    float *theta0;
    int64_t deployed_version;    /* -1: none yet */
    int64_t current_version;
    int have_reference;          /* preference stage: the frozen reference arrived */
    int rounds_done;
};

static int stopped(const fcb_net_client *nc)
{
    return nc->options.stop && atomic_load(nc->options.stop);
}

static void sleep_seconds(const fcb_net_client *nc, double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (!stopped(nc) && nanosleep(&ts, &ts) != 0)
        ;
}

enum { CHECK_MS = 3000 };

/* Faults that waiting does not mend: a name that does not resolve, a
 * certificate that does not fit, the wrong protocol. */
static int permanent(fcb_conn_fault fault)
{
    return fault != FCB_CONN_OK && fault != FCB_CONN_REFUSED && fault != FCB_CONN_TIMEOUT &&
           fault != FCB_CONN_UNREACHABLE && fault != FCB_CONN_LOCAL;
}

/* gRPC says only UNAVAILABLE or DEADLINE_EXCEEDED; find out why with a
 * plain connection, and fail at once when retrying cannot help. *reachable
 * (may be NULL) tells whether the connection works. */
static fcb_status diagnose(fcb_net_client *nc, int *reachable)
{
    const fcb_net_client_options *o = &nc->options;
    fcb_conn_fault fault = fcb_conn_check(o->coordinator, o->insecure ? NULL : &nc->tls, CHECK_MS, nc->cause,
                                          sizeof nc->cause);
    if (reachable)
        *reachable = fault == FCB_CONN_OK;
    /* Once the coordinator has answered, a fault is a restart in progress
     * (a half-started server closes connections): keep retrying. */
    if (permanent(fault) && !nc->answered_once)
        return fcb_fail(FCB_ERR_IO, "%s: coordinator %s unreachable: %s", nc->who, o->coordinator, nc->cause);
    if (fault == FCB_CONN_OK)
        snprintf(nc->cause, sizeof nc->cause, "the connection works, but the coordinator did not answer in time");
    return FCB_OK;
}

static void log_unreachable(const fcb_net_client *nc)
{
    fcb_log(nc->who, "coordinator %s unreachable: %s; retrying for up to %.0f s", nc->options.coordinator, nc->cause,
            nc->options.give_up);
}

/* One call; transport failures (coordinator away) are retried with backoff
 * until options.give_up seconds pass without an answer. Each attempt's
 * deadline ends at the give-up time at the latest. */
static fcb_status call(fcb_net_client *nc, const char *method, const ProtobufCMessage *request, int deadline_ms,
                       uint8_t **response, size_t *response_len)
{
    size_t n = protobuf_c_message_get_packed_size(request);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return fcb_fail(FCB_ERR_NOMEM, "%s: out of memory", nc->who);
    protobuf_c_message_pack(request, buf);
    double backoff = 0.1;
    fcb_status st;
    for (;;) {
        double now = fcb_wall_seconds();
        double since = nc->unreachable_since > 0.0 ? nc->unreachable_since : now;
        double left_ms = (nc->options.give_up - (now - since)) * 1000.0;
        int attempt_ms = left_ms < deadline_ms ? (int)(left_ms > 50.0 ? left_ms : 50.0) : deadline_ms;
        fcb_rpc_result result;
        st = fcb_rpc_client_call(nc->rpc, method, buf, n, attempt_ms, 1, response, response_len, &result);
        nc->last_grpc_status = result.grpc_status;
        int transient = result.grpc_status == RPC_UNAVAILABLE || result.grpc_status == RPC_DEADLINE_EXCEEDED;
        if (st == FCB_OK || !transient)
            nc->unreachable_since = 0.0;
        if (st == FCB_OK)
            nc->answered_once = 1;
        if (st == FCB_OK || !transient || stopped(nc))
            break;
        if (nc->unreachable_since == 0.0) {
            nc->unreachable_since = since;
            if ((st = diagnose(nc, NULL)) != FCB_OK)
                break;
            log_unreachable(nc);
        }
        now = fcb_wall_seconds();
        if (now - nc->unreachable_since >= nc->options.give_up) {
            st = fcb_fail(FCB_ERR_IO, "%s: gave up after %g s: coordinator %s unreachable: %s", nc->who,
                          nc->options.give_up, nc->options.coordinator, nc->cause[0] ? nc->cause : result.details);
            break;
        }
        double left = nc->options.give_up - (now - nc->unreachable_since);
        sleep_seconds(nc, backoff < left ? backoff : left);
        backoff = backoff * 2 < 5.0 ? backoff * 2 : 5.0;
    }
    free(buf);
    if (st != FCB_OK && stopped(nc))
        return fcb_fail(FCB_ERR_STATE, "%s: interrupted", nc->who);
    return st;
}

static fcb_status take_registration(fcb_net_client *nc, const Fedcb__RegisterReply *r)
{
    snprintf(nc->run_id, sizeof nc->run_id, "%s", r->run_id);
    nc->num_params = (size_t)r->num_params;
    if (nc->options.config_hash)
        return FCB_OK;
    fcb_status st = fcb_plan_from_wire(r->plan, &nc->plan);
    if (st != FCB_OK)
        return st;
    nc->initial_params = malloc(r->n_initial_params * sizeof(float));
    if (!nc->initial_params)
        return fcb_fail(FCB_ERR_NOMEM, "%s: out of memory for the initial model", nc->who);
    memcpy(nc->initial_params, r->initial_params, r->n_initial_params * sizeof(float));
    nc->has_plan = 1;
    return FCB_OK;
}

static fcb_status register_client(fcb_net_client *nc)
{
    Fedcb__RegisterRequest m = FEDCB__REGISTER_REQUEST__INIT;
    m.client_id = (uint32_t)nc->options.client_id;
    m.protocol_version = FCB_PROTOCOL_VERSION;
    m.config_hash = (char *)(nc->options.config_hash ? nc->options.config_hash : "");
    m.real_data = nc->options.config_hash == NULL;
    uint8_t *resp;
    size_t len;
    fcb_status st = call(nc, FCB_RPC_REGISTER, &m.base, 10000, &resp, &len);
    if (st != FCB_OK)
        return st;
    Fedcb__RegisterReply *r;
    st = fcb_decode_register_reply(resp, len, nc->options.config_hash == NULL, &r);
    free(resp);
    if (st != FCB_OK)
        return fcb_fail_context(st, "%s", nc->who);
    st = take_registration(nc, r);
    if (st == FCB_OK)
        fcb_log(nc->who, "registered with %s: run %.12s, %u rounds, %llu parameters%s", nc->options.coordinator,
                nc->run_id, r->rounds, (unsigned long long)r->num_params,
                nc->has_plan ? ", the coordinator's plan and initial model received" : "");
    fedcb__register_reply__free_unpacked(r, NULL);
    return st;
}

static fcb_status connect_client(fcb_net_client *nc)
{
    const fcb_net_client_options *o = &nc->options;
    char host[256];
    int port;
    fcb_status st = fcb_parse_target(o->coordinator, host, sizeof host, &port);
    if (st != FCB_OK)
        return st;
    if (o->insecure && !fcb_rpc_is_loopback(o->coordinator))
        return fcb_fail(FCB_ERR_ARG, "--insecure is accepted only for a loopback coordinator, not %s; use --tls-dir",
                        o->coordinator);
    if (!o->insecure) {
        char name[64];
        snprintf(name, sizeof name, "client-%d", o->client_id);
        st = fcb_tls_files_load(&nc->tls, o->tls_dir, name);
        if (st != FCB_OK)
            return st;
    }
    fcb_rpc_client_config cc = {
        .target = o->coordinator,
        .tls = o->insecure ? NULL : &nc->tls,
        .max_message_bytes = o->max_message_bytes ? o->max_message_bytes : FCB_WIRE_REGISTER_LIMIT,
    };
    return fcb_rpc_client_open(&cc, &nc->rpc);
}

fcb_status fcb_net_client_open(const fcb_net_client_options *options, fcb_net_client **out)
{
    *out = NULL;
    fcb_net_client *nc = calloc(1, sizeof *nc);
    if (!nc)
        return fcb_fail(FCB_ERR_NOMEM, "client: out of memory");
    nc->options = *options;
    nc->deployed_version = -1;
    nc->current_version = -1;
    snprintf(nc->who, sizeof nc->who, "client %d", options->client_id);
    /* A wrong address or certificate is said at once, not after give_up. */
    int reachable = 0;
    fcb_status st = connect_client(nc);
    if (st == FCB_OK)
        st = diagnose(nc, &reachable);
    if (st == FCB_OK && !reachable) {
        nc->unreachable_since = fcb_wall_seconds();
        log_unreachable(nc);
    }
    if (st == FCB_OK)
        st = register_client(nc);
    if (st != FCB_OK) {
        fcb_net_client_close(nc);
        return st;
    }
    *out = nc;
    return FCB_OK;
}

const fcb_client_plan *fcb_net_client_plan(const fcb_net_client *nc)
{
    return nc->has_plan ? &nc->plan : NULL;
}

const float *fcb_net_client_initial_params(const fcb_net_client *nc)
{
    return nc->initial_params;
}

static fcb_status prepare_rounds(fcb_net_client *nc, const fcb_net_client_work *work)
{
    const fcb_model *m = work->setup->model;
    nc->work = work;
    nc->linear = fcb_policy_is_linear(work->setup->policy.kind);
    if (m->num_params != nc->num_params)
        return fcb_fail(FCB_ERR_ARG, "%s: the coordinator's model has %zu parameters, this client's %zu", nc->who,
                        nc->num_params, m->num_params);
    fcb_status st = fcb_client_worker_init(&nc->worker, work->setup, work->preference, work->examples_per_round);
    if (st != FCB_OK)
        return st;
    size_t p = m->num_params;
    nc->deployed = malloc(p * sizeof(float));
    nc->current = malloc(p * sizeof(float));
    nc->reference = malloc(p * sizeof(float));
    nc->delta = malloc(p * sizeof(float));
    if (!nc->deployed || !nc->current || !nc->reference || !nc->delta)
        return fcb_fail(FCB_ERR_NOMEM, "%s: out of memory", nc->who);
    if (nc->linear) {
        int k = m->config.num_actions, dim = fcb_linear_phi_dim(m);
        st = fcb_linstats_init(&nc->stats, k, dim, work->setup->policy.diagonal);
        if (st == FCB_OK)
            st = fcb_linstats_init(&nc->deployed_stats, k, dim, work->setup->policy.diagonal);
        nc->theta0 = malloc((size_t)k * dim * sizeof(float));
        if (st == FCB_OK && !nc->theta0)
            st = fcb_fail(FCB_ERR_NOMEM, "%s: out of memory", nc->who);
        if (st != FCB_OK)
            return st;
        fcb_linear_prior(m, work->base_params, nc->theta0);
        nc->stats_size = fcb_linstats_flat_size(&nc->stats);
        nc->deployed_stats_size = nc->stats_size;
        if (fcb_policy_uses_tilde(&work->setup->policy))
            nc->deployed_stats_size += fcb_linstats_a_size(&nc->stats);
    }
    nc->limits = (fcb_wire_limits){
        .num_clients = (uint32_t)nc->options.client_id + 1,
        .num_params = p,
        .stats_size = nc->stats_size,
        .deployed_stats_size = nc->deployed_stats_size,
        .linear = nc->linear,
        .max_examples = (uint64_t)work->examples_per_round,
        .config_hash = nc->run_id,
        .real = nc->options.config_hash == NULL,
    };
    return FCB_OK;
}

/* Takes the models a task carries; fails when one the round needs is missing. */
static fcb_status take_models(fcb_net_client *nc, const Fedcb__TaskReply *t)
{
    size_t p = nc->num_params;
    if (t->n_deployed_stats) {
        fcb_status st = fcb_linstats_from_flat(&nc->deployed_stats, t->deployed_stats, nc->stats_size);
        if (st == FCB_OK)
            st = fcb_linposterior_solve(&nc->worker.posterior, &nc->deployed_stats,
                                        nc->work->setup->policy.ridge_lambda, nc->theta0);
        if (st == FCB_OK)
            st = fcb_linposterior_set_tilde(&nc->worker.posterior, nc->deployed_stats_size > nc->stats_size
                                                                        ? t->deployed_stats + nc->stats_size
                                                                        : NULL);
        if (st != FCB_OK)
            return st;
        nc->deployed_version = t->deployed_version;
    }
    if (t->n_current_params) {
        memcpy(nc->current, t->current_params, p * sizeof(float));
        nc->current_version = t->current_version;
    }
    int64_t had = nc->deployed_version;
    if (t->n_deployed_params) {
        memcpy(nc->deployed, t->deployed_params, p * sizeof(float));
        nc->deployed_version = t->deployed_version;
    } else if (!nc->linear && t->deployed_version == t->current_version && nc->current_version == t->current_version) {
        memcpy(nc->deployed, nc->current, p * sizeof(float));
        nc->deployed_version = t->deployed_version;
    }
    if (!nc->linear && nc->deployed_version != had && nc->work->deployed)
        nc->work->deployed(nc->work->deployed_context, nc->deployed_version, nc->deployed);
    if (!nc->linear && nc->current_version != t->current_version)
        return fcb_fail(FCB_ERR_STATE, "%s: task for round %u lacks current model version %lld", nc->who,
                        t->round + 1, (long long)t->current_version);
    if (nc->deployed_version != t->deployed_version)
        return fcb_fail(FCB_ERR_STATE, "%s: task for round %u lacks deployed model version %lld", nc->who,
                        t->round + 1, (long long)t->deployed_version);
    if (t->n_reference_params && nc->work->preference) {
        memcpy(nc->reference, t->reference_params, p * sizeof(float));
        nc->have_reference = 1;
    }
    return FCB_OK;
}

static int is_preference_round(const fcb_net_client *nc, uint32_t round)
{
    return nc->work->preference && (int)round >= nc->work->bandit_rounds;
}

/* Delivers the round's update; a stale or refused update is reported and
 * dropped, an unreachable coordinator retried (the update is kept). */
static fcb_status submit(fcb_net_client *nc, uint32_t round, const fcb_client_result *result, int no_data)
{
    Fedcb__ClientMetrics metrics = FEDCB__CLIENT_METRICS__INIT;
    metrics.reward_sum = result->reward_sum;
    metrics.true_reward_sum = nc->limits.real ? 0.0 : result->true_reward_sum;
    metrics.propensity_sum = result->propensity_sum;
    metrics.loss_sum = result->loss_sum;
    metrics.steps = (uint32_t)result->steps;
    metrics.margin_sum = result->margin_sum;
    Fedcb__UpdateRequest m = FEDCB__UPDATE_REQUEST__INIT;
    m.client_id = (uint32_t)nc->options.client_id;
    m.round = round;
    m.config_hash = nc->run_id;
    m.metrics = &metrics;
    double *flat = NULL;
    if (!no_data) {
        m.examples = (uint64_t)result->examples;
        if (nc->linear) {
            flat = malloc(nc->stats_size * sizeof(double));
            if (!flat)
                return fcb_fail(FCB_ERR_NOMEM, "%s: out of memory", nc->who);
            fcb_linstats_to_flat(&nc->stats, flat);
            m.n_stats = nc->stats_size;
            m.stats = flat;
        } else {
            m.n_delta = nc->num_params;
            m.delta = nc->delta;
        }
    }
    uint8_t *resp = NULL;
    size_t len;
    fcb_status st = call(nc, FCB_RPC_SUBMIT_UPDATE, &m.base, 30000, &resp, &len);
    free(flat);
    free(resp);
    int answered = nc->last_grpc_status != RPC_UNAVAILABLE && nc->last_grpc_status != RPC_DEADLINE_EXCEEDED;
    if (st == FCB_ERR_IO && answered) {
        /* The coordinator answered with an error: report it and go on. */
        fcb_log(nc->who, "round %u update refused: %s", round + 1, fcb_last_error());
        return FCB_OK;
    }
    if (st == FCB_OK)
        nc->rounds_done++;
    return st;
}

static fcb_status run_task(fcb_net_client *nc, const Fedcb__TaskReply *t)
{
    const fcb_net_client_work *w = nc->work;
    int client = nc->options.client_id, round = (int)t->round;
    fcb_status st = take_models(nc, t);
    if (st != FCB_OK)
        return st;
    int preference = is_preference_round(nc, t->round);
    if (preference && !nc->have_reference)
        return fcb_fail(FCB_ERR_STATE, "%s: preference round %u came without the reference model", nc->who,
                        t->round + 1);
    if (w->hooks && w->hooks->absent && w->hooks->absent(w->hooks->context, client, round)) {
        fcb_log(nc->who, "round %d: simulated unavailability, no update sent", round + 1);
        return FCB_OK;
    }
    fcb_round_models models = {nc->deployed, nc->current, w->base_params, nc->reference, preference};
    fcb_update_buffer update = {nc->linear ? NULL : nc->delta, nc->linear ? &nc->stats : NULL};
    fcb_client_result result;
    int no_data = 0;
    st = fcb_client_round_run(w->setup, w->preference, &nc->worker, &models, w->source, client, round, &update,
                              &result, &no_data);
    int drop = 0;
    double delay = 0.0;
    if (st == FCB_OK && !no_data && w->hooks && w->hooks->after_update)
        st = w->hooks->after_update(w->hooks->context, client, round, &update, &drop, &delay);
    if (st != FCB_OK)
        return fcb_fail_context(st, "%s: round %d", nc->who, round + 1);
    if (drop) {
        fcb_log(nc->who, "round %d: simulated dropout, no update sent", round + 1);
        return FCB_OK;
    }
    if (delay > 0.0) {
        /* Real time decides here: the coordinator's round timeout, not the
         * simulated deadline, makes the update late or not. */
        fcb_log(nc->who, "round %d: simulated straggler, sending after %.1f s", round + 1, delay);
        sleep_seconds(nc, delay);
    }
    fcb_log(nc->who, "round %d: %s%d examples, mean reward %.4f; sending the update", round + 1,
            no_data ? "no data, " : "", no_data ? 0 : result.examples,
            result.examples ? result.reward_sum / result.examples : 0.0);
    return submit(nc, t->round, &result, no_data);
}

fcb_status fcb_net_client_run(fcb_net_client *nc, const fcb_net_client_work *work)
{
    fcb_status st = prepare_rounds(nc, work);
    if (st != FCB_OK)
        return st;
    for (;;) {
        if (stopped(nc))
            return fcb_fail(FCB_ERR_STATE, "%s: interrupted", nc->who);
        Fedcb__TaskRequest m = FEDCB__TASK_REQUEST__INIT;
        m.client_id = (uint32_t)nc->options.client_id;
        m.config_hash = nc->run_id;
        m.wait_ms = (uint32_t)nc->options.poll_ms;
        m.have_deployed_version = nc->deployed_version;
        m.have_current_version = nc->current_version;
        m.have_reference = nc->have_reference;
        uint8_t *resp;
        size_t len;
        st = call(nc, FCB_RPC_GET_TASK, &m.base, nc->options.poll_ms + 10000, &resp, &len);
        if (st != FCB_OK)
            return st;
        Fedcb__TaskReply *t;
        st = fcb_decode_task_reply(resp, len, &nc->limits, &t);
        free(resp);
        if (st != FCB_OK)
            return fcb_fail_context(st, "%s", nc->who);
        Fedcb__TaskReply__Kind kind = t->kind;
        if (kind == FEDCB__TASK_REPLY__KIND__TRAIN)
            st = run_task(nc, t);
        fedcb__task_reply__free_unpacked(t, NULL);
        if (st != FCB_OK)
            return st;
        if (kind == FEDCB__TASK_REPLY__KIND__DONE) {
            fcb_log(nc->who, "the coordinator says the run is over after %d updates from this client; stopping",
                    nc->rounds_done);
            return FCB_OK;
        }
    }
}

void fcb_net_client_close(fcb_net_client *nc)
{
    if (!nc)
        return;
    fcb_rpc_client_close(nc->rpc);
    fcb_tls_files_free(&nc->tls);
    fcb_client_worker_free(&nc->worker);
    fcb_linstats_free(&nc->stats);
    fcb_linstats_free(&nc->deployed_stats);
    free(nc->theta0);
    free(nc->deployed);
    free(nc->current);
    free(nc->reference);
    free(nc->delta);
    free(nc->initial_params);
    free(nc);
}
