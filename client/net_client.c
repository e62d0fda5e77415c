#include "net_client.h"

#include <cblas.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client_task.h"
#include "federation.h"
#include "rpc_client.h"
#include "rpc_common.h"
#include "wall_time.h"
#include "wire_check.h"
#include "world.h"

/* gRPC status codes the client acts on (grpc/status.h). */
enum { RPC_DEADLINE_EXCEEDED = 4, RPC_UNAVAILABLE = 14 };

typedef struct {
    const fcb_config *config;
    const fcb_net_client_options *options;
    char config_hash[65];
    fcb_world world;
    fcb_client_setup setup;
    int linear;
    size_t num_params;
    size_t stats_size;
    fcb_wire_limits limits;
    fcb_client_worker worker;
    fcb_preference_stage preference;
    float *deployed;
    float *current;
    float *delta;
    fcb_linstats stats;        /* this round's statistics (linear bandits) */
    fcb_linstats deployed_stats;
    float *theta0;
    int64_t deployed_version;  /* -1: none yet */
    int64_t current_version;
    int have_reference;        /* preference stage: the frozen reference arrived */
    fcb_rpc_client *rpc;
    double unreachable_since;  /* 0 while the coordinator answers */
    int last_grpc_status;      /* of the last call */
} net_client;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void sleep_seconds(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (!stop_requested && nanosleep(&ts, &ts) != 0)
        ;
}

/* One call; transport failures (coordinator away) are retried with backoff
 * until options->give_up seconds pass without an answer. */
static fcb_status call(net_client *nc, const char *method, const ProtobufCMessage *request, int deadline_ms,
                       uint8_t **response, size_t *response_len)
{
    size_t n = protobuf_c_message_get_packed_size(request);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return fcb_fail(FCB_ERR_NOMEM, "client %d: out of memory", nc->options->client_id);
    protobuf_c_message_pack(request, buf);
    double backoff = 0.1;
    fcb_status st;
    for (;;) {
        fcb_rpc_result result;
        st = fcb_rpc_client_call(nc->rpc, method, buf, n, deadline_ms, 1, response, response_len, &result);
        nc->last_grpc_status = result.grpc_status;
        int transient = result.grpc_status == RPC_UNAVAILABLE || result.grpc_status == RPC_DEADLINE_EXCEEDED;
        if (st == FCB_OK || !transient)
            nc->unreachable_since = 0.0;
        if (st == FCB_OK || !transient || stop_requested)
            break;
        double now = fcb_wall_seconds();
        if (nc->unreachable_since == 0.0) {
            nc->unreachable_since = now;
            fprintf(stderr, "fedcb client %d: coordinator unreachable (%s); retrying\n", nc->options->client_id,
                    fcb_last_error());
        }
        if (now - nc->unreachable_since > nc->options->give_up) {
            st = fcb_fail(FCB_ERR_IO, "client %d: coordinator %s unreachable for %.0f s: %s", nc->options->client_id,
                          nc->options->coordinator, nc->options->give_up, result.details);
            break;
        }
        sleep_seconds(backoff);
        backoff = backoff * 2 < 5.0 ? backoff * 2 : 5.0;
    }
    free(buf);
    if (st != FCB_OK && stop_requested)
        return fcb_fail(FCB_ERR_STATE, "client %d: interrupted", nc->options->client_id);
    return st;
}

static fcb_status register_client(net_client *nc)
{
    Fedcb__RegisterRequest m = FEDCB__REGISTER_REQUEST__INIT;
    char *capabilities[1] = {nc->linear ? "linstats" : "delta"};
    m.client_id = (uint32_t)nc->options->client_id;
    m.protocol_version = FCB_PROTOCOL_VERSION;
    m.config_hash = nc->config_hash;
    m.n_capabilities = 1;
    m.capabilities = capabilities;
    uint8_t *resp;
    size_t len;
    fcb_status st = call(nc, FCB_RPC_REGISTER, &m.base, 10000, &resp, &len);
    if (st != FCB_OK)
        return st;
    Fedcb__RegisterReply *r = fedcb__register_reply__unpack(NULL, len, resp);
    free(resp);
    if (!r)
        return fcb_fail(FCB_ERR_FORMAT, "client %d: malformed RegisterReply", nc->options->client_id);
    if (r->num_params != nc->num_params)
        st = fcb_fail(FCB_ERR_ARG, "client %d: the coordinator's model has %llu parameters, this client's %zu",
                      nc->options->client_id, (unsigned long long)r->num_params, nc->num_params);
    fedcb__register_reply__free_unpacked(r, NULL);
    return st;
}

/* Takes the models a task carries; fails when one the round needs is missing. */
static fcb_status take_models(net_client *nc, const Fedcb__TaskReply *t)
{
    int id = nc->options->client_id;
    if (nc->linear) {
        if (t->n_deployed_stats) {
            fcb_status st = fcb_linstats_from_flat(&nc->deployed_stats, t->deployed_stats, t->n_deployed_stats);
            if (st == FCB_OK)
                st = fcb_linposterior_solve(&nc->worker.posterior, &nc->deployed_stats,
                                            nc->setup.policy.ridge_lambda, nc->theta0);
            if (st != FCB_OK)
                return st;
            nc->deployed_version = t->deployed_version;
        }
    } else {
        if (t->n_current_params) {
            memcpy(nc->current, t->current_params, nc->num_params * sizeof(float));
            nc->current_version = t->current_version;
        }
        if (t->n_deployed_params) {
            memcpy(nc->deployed, t->deployed_params, nc->num_params * sizeof(float));
            nc->deployed_version = t->deployed_version;
        } else if (t->deployed_version == t->current_version && nc->current_version == t->current_version) {
            memcpy(nc->deployed, nc->current, nc->num_params * sizeof(float));
            nc->deployed_version = t->deployed_version;
        }
        if (nc->current_version != t->current_version)
            return fcb_fail(FCB_ERR_STATE, "client %d: task for round %u lacks current model version %lld", id,
                            t->round + 1, (long long)t->current_version);
    }
    if (nc->deployed_version != t->deployed_version)
        return fcb_fail(FCB_ERR_STATE, "client %d: task for round %u lacks deployed model version %lld", id,
                        t->round + 1, (long long)t->deployed_version);
    if (t->n_reference_params && nc->preference.rounds > 0) {
        fcb_preference_stage_begin(&nc->preference, t->reference_params);
        nc->have_reference = 1;
    }
    if (fcb_preference_stage_owns(&nc->preference, (int)t->round) && !nc->have_reference)
        return fcb_fail(FCB_ERR_STATE, "client %d: preference round %u came without the reference model", id,
                        t->round + 1);
    return FCB_OK;
}

/* Delivers the round's update; a stale or refused update is reported and
 * dropped, an unreachable coordinator retried (the update is kept). */
static fcb_status submit(net_client *nc, uint32_t round, const fcb_slot *slot)
{
    Fedcb__ClientMetrics metrics = FEDCB__CLIENT_METRICS__INIT;
    metrics.reward_sum = slot->result.reward_sum;
    metrics.true_reward_sum = slot->result.true_reward_sum;
    metrics.propensity_sum = slot->result.propensity_sum;
    metrics.loss_sum = slot->result.loss_sum;
    metrics.steps = (uint32_t)slot->result.steps;
    metrics.margin_sum = slot->result.margin_sum;
    Fedcb__UpdateRequest m = FEDCB__UPDATE_REQUEST__INIT;
    m.client_id = (uint32_t)nc->options->client_id;
    m.round = round;
    m.config_hash = nc->config_hash;
    m.metrics = &metrics;
    double *flat = NULL;
    if (slot->state != FCB_SLOT_NO_DATA) {
        m.examples = (uint64_t)slot->result.examples;
        if (nc->linear) {
            flat = malloc(nc->stats_size * sizeof(double));
            if (!flat)
                return fcb_fail(FCB_ERR_NOMEM, "client %d: out of memory", nc->options->client_id);
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
        fprintf(stderr, "fedcb client %d: round %u update refused: %s\n", nc->options->client_id, round + 1,
                fcb_last_error());
        return FCB_OK;
    }
    return st;
}

static fcb_status run_task(net_client *nc, const Fedcb__TaskReply *t)
{
    fcb_status st = take_models(nc, t);
    if (st != FCB_OK)
        return st;
    fcb_client_task_inputs in = {nc->config, &nc->world, &nc->setup, nc->deployed, nc->current, &nc->preference};
    fcb_slot slot;
    memset(&slot, 0, sizeof slot);
    slot.client = nc->options->client_id;
    fcb_client_task_run(&in, &nc->worker, (int)t->round, &slot, nc->delta, nc->linear ? &nc->stats : NULL);
    switch (slot.state) {
    case FCB_SLOT_FAILED:
        return fcb_fail(slot.status, "client %d: round %u: %s", slot.client, t->round + 1, slot.error);
    case FCB_SLOT_UNAVAILABLE:
    case FCB_SLOT_DROPPED:
        fprintf(stderr, "fedcb client %d: round %u: simulated %s, no update sent\n", slot.client, t->round + 1,
                slot.state == FCB_SLOT_DROPPED ? "dropout" : "unavailability");
        return FCB_OK;
    default:
        break;
    }
    if (slot.straggler) {
        /* Real time decides here: the coordinator's round timeout, not
         * clients.round_deadline, makes the update late or not. */
        fprintf(stderr, "fedcb client %d: round %u: simulated straggler, sending after %.1f s\n", slot.client,
                t->round + 1, nc->config->straggler_delay);
        sleep_seconds(nc->config->straggler_delay);
    }
    return submit(nc, t->round, &slot);
}

static fcb_status poll_tasks(net_client *nc)
{
    for (;;) {
        if (stop_requested)
            return fcb_fail(FCB_ERR_STATE, "client %d: interrupted", nc->options->client_id);
        Fedcb__TaskRequest m = FEDCB__TASK_REQUEST__INIT;
        m.client_id = (uint32_t)nc->options->client_id;
        m.config_hash = nc->config_hash;
        m.wait_ms = (uint32_t)nc->config->poll_ms;
        m.have_deployed_version = nc->deployed_version;
        m.have_current_version = nc->current_version;
        m.have_reference = nc->have_reference;
        uint8_t *resp;
        size_t len;
        fcb_status st = call(nc, FCB_RPC_GET_TASK, &m.base, nc->config->poll_ms + 10000, &resp, &len);
        if (st != FCB_OK)
            return st;
        Fedcb__TaskReply *t;
        st = fcb_decode_task_reply(resp, len, &nc->limits, &t);
        free(resp);
        if (st != FCB_OK)
            return st;
        Fedcb__TaskReply__Kind kind = t->kind;
        if (kind == FEDCB__TASK_REPLY__KIND__TRAIN)
            st = run_task(nc, t);
        fedcb__task_reply__free_unpacked(t, NULL);
        if (st != FCB_OK)
            return st;
        if (kind == FEDCB__TASK_REPLY__KIND__DONE)
            return FCB_OK;
    }
}

static fcb_status init_client(net_client *nc, const fcb_config *config, const fcb_net_client_options *o)
{
    memset(nc, 0, sizeof *nc);
    nc->config = config;
    nc->options = o;
    nc->deployed_version = -1;
    nc->current_version = -1;
    fcb_config_hash(config, nc->config_hash);
    if (o->client_id < 0 || o->client_id >= config->num_clients)
        return fcb_fail(FCB_ERR_ARG, "--client-id %d is out of range [0, %d) (clients.num_clients)", o->client_id,
                        config->num_clients);
    if (o->insecure && !fcb_rpc_is_loopback(o->coordinator))
        return fcb_fail(FCB_ERR_ARG, "--insecure is accepted only for a loopback coordinator, not %s; use --tls-dir",
                        o->coordinator);
    fcb_status st = fcb_world_build(&nc->world, config);
    if (st == FCB_OK)
        st = fcb_client_setup_from_config(config, &nc->world.model, &nc->setup);
    if (st == FCB_OK)
        st = fcb_preference_stage_init(&nc->preference, config, &nc->world.model);
    if (st == FCB_OK)
        st = fcb_client_worker_init(&nc->worker, &nc->setup, &nc->preference, &nc->world, config);
    if (st != FCB_OK)
        return st;
    nc->linear = fcb_policy_is_linear(nc->setup.policy.kind);
    nc->num_params = nc->world.model.num_params;
    nc->deployed = malloc(nc->num_params * sizeof(float));
    nc->current = malloc(nc->num_params * sizeof(float));
    nc->delta = malloc(nc->num_params * sizeof(float));
    if (!nc->deployed || !nc->current || !nc->delta)
        return fcb_fail(FCB_ERR_NOMEM, "client %d: out of memory", o->client_id);
    if (nc->linear) {
        int k = nc->world.model.config.num_actions, dim = fcb_linear_phi_dim(&nc->world);
        st = fcb_linstats_init(&nc->stats, k, dim, nc->setup.policy.diagonal);
        if (st == FCB_OK)
            st = fcb_linstats_init(&nc->deployed_stats, k, dim, nc->setup.policy.diagonal);
        nc->theta0 = malloc((size_t)k * dim * sizeof(float));
        if (st == FCB_OK && !nc->theta0)
            st = fcb_fail(FCB_ERR_NOMEM, "client %d: out of memory", o->client_id);
        if (st != FCB_OK)
            return st;
        fcb_linear_prior(&nc->world, nc->theta0);
        nc->stats_size = fcb_linstats_flat_size(&nc->stats);
    }
    nc->limits = (fcb_wire_limits){
        .num_clients = (uint32_t)config->num_clients,
        .num_params = nc->num_params,
        .stats_size = nc->stats_size,
        .linear = nc->linear,
        .max_examples = (uint64_t)config->examples_per_round,
        .config_hash = nc->config_hash,
    };
    return FCB_OK;
}

static fcb_status connect_client(net_client *nc, fcb_tls_files *tls)
{
    const fcb_net_client_options *o = nc->options;
    if (!o->insecure) {
        char name[64];
        snprintf(name, sizeof name, "client-%d", o->client_id);
        fcb_status st = fcb_tls_files_load(tls, o->tls_dir, name);
        if (st != FCB_OK)
            return st;
    }
    size_t model_bytes = nc->linear ? nc->stats_size * sizeof(double) : nc->num_params * sizeof(float);
    fcb_rpc_client_config cc = {
        .target = o->coordinator,
        .tls = o->insecure ? NULL : tls,
        .max_message_bytes = 3 * model_bytes + (1 << 20), /* deployed, current and reference */
    };
    return fcb_rpc_client_open(&cc, &nc->rpc);
}

static void free_client(net_client *nc)
{
    fcb_rpc_client_close(nc->rpc);
    fcb_client_worker_free(&nc->worker);
    fcb_preference_stage_free(&nc->preference);
    fcb_linstats_free(&nc->stats);
    fcb_linstats_free(&nc->deployed_stats);
    free(nc->theta0);
    free(nc->deployed);
    free(nc->current);
    free(nc->delta);
    fcb_world_free(&nc->world);
}

fcb_status fcb_net_client_run(const fcb_config *config, const fcb_net_client_options *options)
{
    fcb_status st = fcb_config_validate(config);
    if (st != FCB_OK)
        return st;
    openblas_set_num_threads(1);
    stop_requested = 0;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    net_client nc;
    fcb_tls_files tls = {0};
    st = init_client(&nc, config, options);
    if (st == FCB_OK)
        st = connect_client(&nc, &tls);
    if (st == FCB_OK)
        st = register_client(&nc);
    if (st == FCB_OK)
        st = poll_tasks(&nc);
    free_client(&nc);
    fcb_tls_files_free(&tls);
    return st;
}
