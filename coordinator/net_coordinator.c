#include "net_coordinator.h"

#include <cblas.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "federation.h"
#include "rpc_common.h"
#include "rpc_server.h"
#include "run_output.h"
#include "update_check.h"
#include "wall_time.h"
#include "wire_check.h"
#include "world.h"

enum { METHOD_REGISTER, METHOD_GET_TASK, METHOD_SUBMIT, METHOD_STATUS, NUM_METHODS };
static const char *const METHODS[NUM_METHODS] = {FCB_RPC_REGISTER, FCB_RPC_GET_TASK, FCB_RPC_SUBMIT_UPDATE,
                                                  FCB_RPC_STATUS};

/* gRPC status codes used here (grpc/status.h). */
enum { RPC_INVALID_ARGUMENT = 3, RPC_FAILED_PRECONDITION = 9, RPC_PERMISSION_DENIED = 7, RPC_INTERNAL = 13 };

typedef enum { PHASE_WAITING_FOR_CLIENTS, PHASE_ROUND_OPEN, PHASE_DONE } phase;

typedef struct {
    int registered;
    fcb_rpc_call *waiting;  /* a held GetTask long poll */
    double wait_until;
    int64_t have_deployed;  /* versions named in the held request */
    int64_t have_current;
    int have_reference;     /* preference stage: holds the frozen reference */
    int told_done;
} client_state;

typedef struct {
    const fcb_config *config;
    const fcb_coordinator_options *options;
    char config_hash[65];
    fcb_world world;
    fcb_federation fed;
    fcb_run_tally tally;
    fcb_run_output out;
    fcb_rpc_server *server;
    fcb_wire_limits limits;
    client_state *clients;
    int registered;
    int *slot_of_client;        /* num_clients: slot index this round, -1 if not sampled */
    int arrived;                /* slots no longer pending */
    phase phase;
    int round;
    int attempt;
    double round_started;
    double done_at;
    double last_waiting_note;
    fcb_rpc_payload *task_payload[2][2][2]; /* [with deployed][with current][with reference], open round */
    fcb_status fatal;           /* first failure inside a handler that must stop the run */
} coordinator;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* With TLS, the client id a request claims must be the one its certificate
 * names: no client can speak for another. */
static int identity_matches(const coordinator *co, const fcb_rpc_peer *peer, uint32_t client)
{
    if (co->options->insecure)
        return 1;
    char expected[64];
    snprintf(expected, sizeof expected, "fedcb-client-%u", client);
    for (int i = 0; i < peer->num_identities; i++)
        if (strcmp(peer->identities[i], expected) == 0)
            return 1;
    return 0;
}

static void reply_message(fcb_rpc_call *call, const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        fcb_rpc_reply_error(call, RPC_INTERNAL, "coordinator out of memory");
        return;
    }
    protobuf_c_message_pack(m, buf);
    fcb_rpc_reply(call, buf, n);
    free(buf);
}

static void reject(fcb_rpc_call *call, int code, const char *method)
{
    fprintf(stderr, "fedcb coordinator: %s refused: %s\n", method, fcb_last_error());
    fcb_rpc_reply_error(call, code, fcb_last_error());
}

static void release_task_payloads(coordinator *co)
{
    for (int d = 0; d < 2; d++)
        for (int c = 0; c < 2; c++)
            for (int r = 0; r < 2; r++) {
                fcb_rpc_payload_release(co->task_payload[d][c][r]);
                co->task_payload[d][c][r] = NULL;
            }
}

/* The TRAIN reply of the open round; one packed copy per variant, shared by
 * every client that needs it. Linear bandits send the deployed statistics
 * in the "with deployed" variants; score-based policies skip the deployed
 * model when it equals the current one (the client copies it). */
static fcb_status task_payload(coordinator *co, int with_deployed, int with_current, int with_reference,
                               fcb_rpc_payload **out)
{
    fcb_federation *f = &co->fed;
    if (f->linear)
        with_current = 0;
    else if (f->deployed_version == f->current_version)
        with_deployed = 0;
    if (!fcb_preference_stage_owns(&f->preference, co->round))
        with_reference = 0;
    fcb_rpc_payload **slot = &co->task_payload[with_deployed][with_current][with_reference];
    if (!*slot) {
        Fedcb__TaskReply m = FEDCB__TASK_REPLY__INIT;
        m.kind = FEDCB__TASK_REPLY__KIND__TRAIN;
        m.round = (uint32_t)co->round;
        m.deployed_version = f->deployed_version;
        m.current_version = f->current_version;
        m.config_hash = co->config_hash;
        if (with_deployed && f->linear) {
            m.n_deployed_stats = f->stats_size;
            m.deployed_stats = f->deployed_stats;
        } else if (with_deployed) {
            m.n_deployed_params = f->num_params;
            m.deployed_params = f->deployed;
        }
        if (with_current) {
            m.n_current_params = f->num_params;
            m.current_params = f->current;
        }
        if (with_reference) {
            m.n_reference_params = f->num_params;
            m.reference_params = f->preference.reference;
        }
        uint8_t *bytes;
        size_t n = protobuf_c_message_get_packed_size(&m.base);
        fcb_status st = fcb_rpc_payload_create(n, slot, &bytes);
        if (st != FCB_OK)
            return st;
        protobuf_c_message_pack(&m.base, bytes);
    }
    *out = *slot;
    return FCB_OK;
}

static void reply_kind(coordinator *co, fcb_rpc_call *call, Fedcb__TaskReply__Kind kind)
{
    Fedcb__TaskReply m = FEDCB__TASK_REPLY__INIT;
    m.kind = kind;
    m.round = (uint32_t)co->round;
    m.config_hash = co->config_hash;
    reply_message(call, &m.base);
}

/* A sampled client whose update is still pending gets its task. */
static int has_task(const coordinator *co, int client)
{
    if (co->phase != PHASE_ROUND_OPEN)
        return 0;
    int s = co->slot_of_client[client];
    return s >= 0 && co->fed.slots[s].state == FCB_SLOT_PENDING;
}

static void send_task(coordinator *co, fcb_rpc_call *call, int64_t have_deployed, int64_t have_current,
                      int have_reference)
{
    const fcb_federation *f = &co->fed;
    fcb_rpc_payload *payload;
    fcb_status st = task_payload(co, have_deployed != f->deployed_version, have_current != f->current_version,
                                 !have_reference, &payload);
    if (st != FCB_OK) {
        reject(call, RPC_INTERNAL, "GetTask");
        return;
    }
    fcb_rpc_reply_payload(call, payload);
}

static void answer_waiting(coordinator *co, int client, int force_wait)
{
    client_state *cs = &co->clients[client];
    if (!cs->waiting)
        return;
    fcb_rpc_call *call = cs->waiting;
    cs->waiting = NULL;
    if (co->phase == PHASE_DONE) {
        cs->told_done = 1;
        reply_kind(co, call, FEDCB__TASK_REPLY__KIND__DONE);
    } else if (!force_wait && has_task(co, client)) {
        send_task(co, call, cs->have_deployed, cs->have_current, cs->have_reference);
    } else {
        reply_kind(co, call, FEDCB__TASK_REPLY__KIND__WAIT);
    }
}

static void mark_registered(coordinator *co, uint32_t id)
{
    if (co->clients[id].registered)
        return;
    co->clients[id].registered = 1;
    co->registered++;
    fprintf(stderr, "fedcb coordinator: client %u registered (%d of %d)\n", id, co->registered,
            co->config->num_clients);
}

static void handle_register(coordinator *co, fcb_rpc_call *call, const uint8_t *req, size_t len,
                            const fcb_rpc_peer *peer)
{
    Fedcb__RegisterRequest *m;
    if (fcb_decode_register(req, len, &co->limits, &m) != FCB_OK) {
        reject(call, RPC_INVALID_ARGUMENT, "RegisterClient");
        return;
    }
    uint32_t id = m->client_id;
    fedcb__register_request__free_unpacked(m, NULL);
    if (!identity_matches(co, peer, id)) {
        fcb_fail(FCB_ERR_ARG, "RegisterClient: the certificate does not name client %u", id);
        reject(call, RPC_PERMISSION_DENIED, "RegisterClient");
        return;
    }
    mark_registered(co, id);
    Fedcb__RegisterReply r = FEDCB__REGISTER_REPLY__INIT;
    r.protocol_version = FCB_PROTOCOL_VERSION;
    r.run_id = co->config_hash;
    r.rounds = (uint32_t)fcb_federation_total_rounds(&co->fed);
    r.num_params = co->fed.num_params;
    reply_message(call, &r.base);
}

static void handle_get_task(coordinator *co, fcb_rpc_call *call, const uint8_t *req, size_t len,
                            const fcb_rpc_peer *peer)
{
    Fedcb__TaskRequest *m;
    if (fcb_decode_task_request(req, len, &co->limits, &m) != FCB_OK) {
        reject(call, RPC_INVALID_ARGUMENT, "GetTask");
        return;
    }
    uint32_t id = m->client_id;
    int64_t have_deployed = m->have_deployed_version, have_current = m->have_current_version;
    int have_reference = m->have_reference;
    uint32_t wait_ms = m->wait_ms;
    fedcb__task_request__free_unpacked(m, NULL);
    if (!identity_matches(co, peer, id)) {
        fcb_fail(FCB_ERR_ARG, "GetTask: the certificate does not name client %u", id);
        reject(call, RPC_PERMISSION_DENIED, "GetTask");
        return;
    }
    client_state *cs = &co->clients[id];
    mark_registered(co, id); /* a task request registers too, e.g. after a coordinator restart */
    answer_waiting(co, (int)id, 1); /* a newer poll replaces an older one */
    if (co->phase == PHASE_DONE) {
        cs->told_done = 1;
        reply_kind(co, call, FEDCB__TASK_REPLY__KIND__DONE);
        return;
    }
    if (has_task(co, (int)id)) {
        send_task(co, call, have_deployed, have_current, have_reference);
        return;
    }
    int deadline = fcb_rpc_call_deadline_ms(call);
    double wait = (wait_ms < (uint32_t)co->config->poll_ms ? wait_ms : (uint32_t)co->config->poll_ms) / 1000.0;
    if (deadline < (int)(wait * 1000.0) + 200)
        wait = deadline > 200 ? (deadline - 200) / 1000.0 : 0.0;
    cs->waiting = call;
    cs->wait_until = fcb_wall_seconds() + wait;
    cs->have_deployed = have_deployed;
    cs->have_current = have_current;
    cs->have_reference = have_reference;
}

static fcb_status accept_update(coordinator *co, int s, const Fedcb__UpdateRequest *m)
{
    fcb_federation *f = &co->fed;
    fcb_slot *sl = &f->slots[s];
    sl->result.examples = (int)m->examples;
    sl->result.reward_sum = m->metrics->reward_sum;
    sl->result.true_reward_sum = m->metrics->true_reward_sum;
    sl->result.propensity_sum = m->metrics->propensity_sum;
    sl->result.loss_sum = m->metrics->loss_sum;
    sl->result.steps = (int)m->metrics->steps;
    sl->result.margin_sum = m->metrics->margin_sum;
    if (m->examples == 0) {
        sl->state = FCB_SLOT_NO_DATA;
        return FCB_OK;
    }
    if (f->linear) {
        fcb_status st = fcb_linstats_from_flat(&f->slot_stats[s], m->stats, m->n_stats);
        if (st != FCB_OK) {
            sl->state = FCB_SLOT_REJECTED;
            return st;
        }
    } else {
        fcb_status st = fcb_update_check(m->delta, m->n_delta, f->num_params, (double)m->examples,
                                         co->config->update_norm_bound, sl->client);
        if (st != FCB_OK) {
            sl->state = FCB_SLOT_REJECTED;
            return st;
        }
        memcpy(fcb_federation_slot_delta(f, s), m->delta, f->num_params * sizeof(float));
    }
    sl->state = FCB_SLOT_DONE;
    return FCB_OK;
}

static void handle_submit(coordinator *co, fcb_rpc_call *call, const uint8_t *req, size_t len,
                          const fcb_rpc_peer *peer)
{
    Fedcb__UpdateRequest *m;
    if (fcb_decode_update(req, len, &co->limits, &m) != FCB_OK) {
        reject(call, RPC_INVALID_ARGUMENT, "SubmitUpdate");
        return;
    }
    uint32_t id = m->client_id;
    fcb_status st = FCB_OK;
    int code = RPC_FAILED_PRECONDITION;
    int s = co->slot_of_client[id];
    if (!identity_matches(co, peer, id)) {
        st = fcb_fail(FCB_ERR_ARG, "SubmitUpdate: the certificate does not name client %u", id);
        code = RPC_PERMISSION_DENIED;
    } else if (co->phase != PHASE_ROUND_OPEN || m->round != (uint32_t)co->round) {
        st = fcb_fail(FCB_ERR_STATE, "update from client %u for round %u is stale: %s", id, m->round + 1,
                      co->phase == PHASE_DONE ? "the run is over" : "that round is closed");
    } else if (s < 0) {
        st = fcb_fail(FCB_ERR_STATE, "update from client %u: the client was not sampled in round %d", id,
                      co->round + 1);
    } else if (co->fed.slots[s].state != FCB_SLOT_PENDING) {
        st = fcb_fail(FCB_ERR_STATE, "update from client %u: duplicate for round %d", id, co->round + 1);
    } else {
        st = accept_update(co, s, m);
        code = RPC_INVALID_ARGUMENT;
        co->arrived++;
    }
    fedcb__update_request__free_unpacked(m, NULL);
    if (st != FCB_OK) {
        reject(call, code, "SubmitUpdate");
        return;
    }
    Fedcb__UpdateReply r = FEDCB__UPDATE_REPLY__INIT;
    r.accepted = 1;
    reply_message(call, &r.base);
}

static void handle_status(coordinator *co, fcb_rpc_call *call, const uint8_t *req, size_t len)
{
    Fedcb__StatusRequest *m;
    if (fcb_decode_status_request(req, len, &m) != FCB_OK) {
        reject(call, RPC_INVALID_ARGUMENT, "Status");
        return;
    }
    fedcb__status_request__free_unpacked(m, NULL);
    Fedcb__StatusReply r = FEDCB__STATUS_REPLY__INIT;
    r.round = (uint32_t)co->tally.rounds_done;
    r.rounds = (uint32_t)fcb_federation_total_rounds(&co->fed);
    r.done = co->phase == PHASE_DONE;
    r.registered_clients = (uint32_t)co->registered;
    r.avg_reward = co->tally.interactions ? co->tally.reward_total / co->tally.interactions : 0.0;
    r.test_accuracy = co->tally.accuracy;
    reply_message(call, &r.base);
}

static void on_call(void *context, fcb_rpc_call *call, int method, const uint8_t *req, size_t len,
                    const fcb_rpc_peer *peer)
{
    coordinator *co = context;
    switch (method) {
    case METHOD_REGISTER: handle_register(co, call, req, len, peer); break;
    case METHOD_GET_TASK: handle_get_task(co, call, req, len, peer); break;
    case METHOD_SUBMIT: handle_submit(co, call, req, len, peer); break;
    default: handle_status(co, call, req, len); break;
    }
}

static fcb_status open_round(coordinator *co)
{
    fcb_federation *f = &co->fed;
    fcb_status st = fcb_federation_sample(f, co->round, co->attempt);
    if (st != FCB_OK)
        return st;
    release_task_payloads(co);
    for (int c = 0; c < co->config->num_clients; c++)
        co->slot_of_client[c] = -1;
    for (int s = 0; s < f->num_slots; s++)
        co->slot_of_client[f->slots[s].client] = s;
    co->arrived = 0;
    co->phase = PHASE_ROUND_OPEN;
    co->round_started = fcb_wall_seconds();
    for (int s = 0; s < f->num_slots; s++)
        answer_waiting(co, f->slots[s].client, 0);
    return FCB_OK;
}

static fcb_status finish_run(coordinator *co)
{
    co->phase = PHASE_DONE;
    co->done_at = fcb_wall_seconds();
    release_task_payloads(co);
    for (int c = 0; c < co->config->num_clients; c++)
        answer_waiting(co, c, 0);
    if (!co->options->out_dir)
        return FCB_OK;
    fcb_run_result r;
    fcb_status st = fcb_run_result_fill(&co->fed, &co->tally, 0.0, &r);
    if (st != FCB_OK)
        return st;
    json_t *summary = fcb_run_summary_json(&co->fed, &co->tally, &r);
    st = fcb_run_output_summary(&co->out, summary);
    json_decref(summary);
    return st;
}

static fcb_status close_round(coordinator *co)
{
    const fcb_config *c = co->config;
    fcb_federation *f = &co->fed;
    int needed = (int)ceil(c->quorum * f->num_slots - 1e-9);
    if (co->arrived < needed) {
        fprintf(stderr, "fedcb coordinator: round %d: %d of %d updates by the %.0f s timeout, quorum %d; "
                        "sampling again\n", co->round + 1, co->arrived, f->num_slots, c->round_timeout, needed);
        co->attempt++;
        if (co->attempt >= c->max_attempts)
            return fcb_fail(FCB_ERR_STATE, "round %d: no quorum in %d attempts", co->round + 1, c->max_attempts);
        return open_round(co);
    }
    fcb_round_totals totals;
    fcb_status st = fcb_round_finish(f, &co->tally, co->options->out_dir ? &co->out : NULL, co->round_started,
                                     &totals);
    if (st == FCB_OK && co->options->state_dir)
        st = fcb_checkpoint_save(co->options->state_dir, co->config_hash, f, &co->tally);
    if (st != FCB_OK)
        return st;
    fprintf(stderr, "fedcb coordinator: round %d/%d: %d updates, reward %.4f%s\n", co->round + 1,
            fcb_federation_total_rounds(f),
            totals.updates, totals.examples ? totals.reward_sum / totals.examples : 0.0,
            totals.missing ? " (some sampled clients missing)" : "");
    co->round++;
    co->attempt = 0;
    if (co->round == fcb_federation_total_rounds(f))
        return finish_run(co);
    return open_round(co);
}

static int min_clients(const fcb_config *c)
{
    return c->min_clients > 0 ? c->min_clients : c->clients_per_round;
}

static fcb_status step(coordinator *co)
{
    double now = fcb_wall_seconds();
    for (int c = 0; c < co->config->num_clients; c++)
        if (co->clients[c].waiting && now >= co->clients[c].wait_until)
            answer_waiting(co, c, 1);
    if (co->phase == PHASE_WAITING_FOR_CLIENTS && co->registered >= min_clients(co->config))
        return open_round(co);
    if (co->phase == PHASE_WAITING_FOR_CLIENTS && now - co->last_waiting_note >= 30.0) {
        /* It waits as long as it takes; say so now and then. */
        if (co->last_waiting_note > 0.0)
            fprintf(stderr, "fedcb coordinator: still waiting: %d of %d clients registered (network.min_clients)\n",
                    co->registered, min_clients(co->config));
        co->last_waiting_note = now;
    }
    if (co->phase == PHASE_ROUND_OPEN &&
        (co->arrived == co->fed.num_slots || now - co->round_started >= co->config->round_timeout))
        return close_round(co);
    return FCB_OK;
}

static int finished(const coordinator *co)
{
    if (co->phase != PHASE_DONE)
        return 0;
    if (fcb_wall_seconds() - co->done_at >= co->config->linger)
        return 1;
    for (int c = 0; c < co->config->num_clients; c++)
        if (co->clients[c].registered && !co->clients[c].told_done)
            return 0;
    return 1;
}

static fcb_status write_port_file(const char *path, int port)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *fp = fopen(tmp, "w");
    if (!fp || fprintf(fp, "%d\n", port) < 0 || fclose(fp) != 0 || rename(tmp, path) != 0)
        return fcb_fail(FCB_ERR_IO, "cannot write the port to %s", path);
    return FCB_OK;
}

static fcb_status resume(coordinator *co)
{
    const fcb_coordinator_options *o = co->options;
    int found = 0;
    fcb_status st = FCB_OK;
    if (o->state_dir)
        st = fcb_checkpoint_load_newest(o->state_dir, co->config_hash, &co->fed, &co->tally, &found);
    if (st != FCB_OK)
        return st;
    co->round = found ? co->tally.rounds_done : 0;
    if (found)
        fprintf(stderr, "fedcb coordinator: resuming after round %d from %s\n", co->round, o->state_dir);
    if (!o->out_dir)
        return FCB_OK;
    return found ? fcb_run_output_resume(&co->out, o->out_dir, co->round) : fcb_run_output_open(&co->out, o->out_dir);
}

static fcb_status start_server(coordinator *co, fcb_tls_files *tls)
{
    const fcb_coordinator_options *o = co->options;
    if (o->insecure && !fcb_rpc_is_loopback(o->listen))
        return fcb_fail(FCB_ERR_ARG, "--insecure is accepted only on a loopback address, not %s; "
                                     "use --tls-dir", o->listen);
    if (!o->insecure) {
        fcb_status st = fcb_tls_files_load(tls, o->tls_dir, "server");
        if (st != FCB_OK)
            return st;
    } else {
        fprintf(stderr, "fedcb coordinator: --insecure: plaintext on loopback %s, no client authentication\n",
                o->listen);
    }
    size_t model_bytes = co->fed.linear ? co->fed.stats_size * sizeof(double) : co->fed.num_params * sizeof(float);
    fcb_rpc_server_config sc = {
        .listen = o->listen,
        .tls = o->insecure ? NULL : tls,
        .methods = METHODS,
        .num_methods = NUM_METHODS,
        .max_message_bytes = 3 * model_bytes + (1 << 20), /* deployed, current and reference */
        .slots_per_method = 8,
    };
    int port = 0;
    fcb_status st = fcb_rpc_server_start(&sc, on_call, co, &co->server, &port);
    if (st == FCB_OK)
        fprintf(stderr, "fedcb coordinator: listening on %s (port %d, %s), %d rounds, config %.12s\n", o->listen,
                port, o->insecure ? "plaintext" : "mutual TLS", fcb_federation_total_rounds(&co->fed), co->config_hash);
    if (st == FCB_OK && o->port_file)
        st = write_port_file(o->port_file, port);
    return st;
}

static fcb_status init_coordinator(coordinator *co, const fcb_config *config, const fcb_coordinator_options *o)
{
    memset(co, 0, sizeof *co);
    co->config = config;
    co->options = o;
    fcb_config_hash(config, co->config_hash);
    fcb_run_tally_init(&co->tally);
    fcb_status st = fcb_world_build(&co->world, config);
    if (st == FCB_OK)
        st = fcb_federation_init(&co->fed, config, &co->world);
    if (st != FCB_OK)
        return st;
    co->clients = calloc((size_t)config->num_clients, sizeof(client_state));
    co->slot_of_client = malloc((size_t)config->num_clients * sizeof(int));
    if (!co->clients || !co->slot_of_client)
        return fcb_fail(FCB_ERR_NOMEM, "coordinator: out of memory");
    for (int c = 0; c < config->num_clients; c++)
        co->slot_of_client[c] = -1;
    co->limits = (fcb_wire_limits){
        .num_clients = (uint32_t)config->num_clients,
        .num_params = co->fed.num_params,
        .stats_size = co->fed.stats_size,
        .linear = co->fed.linear,
        .max_examples = (uint64_t)config->examples_per_round,
        .config_hash = co->config_hash,
    };
    return resume(co);
}

static void free_coordinator(coordinator *co)
{
    if (co->server) {
        for (int c = 0; co->clients && c < co->config->num_clients; c++)
            co->clients[c].waiting = NULL; /* answered by the server's shutdown */
        fcb_rpc_server_destroy(co->server);
    }
    release_task_payloads(co);
    fcb_run_output_close(&co->out);
    free(co->clients);
    free(co->slot_of_client);
    fcb_federation_free(&co->fed);
    fcb_world_free(&co->world);
}

static fcb_status serve(coordinator *co)
{
    if (co->round >= fcb_federation_total_rounds(&co->fed)) {
        fcb_status st = finish_run(co);
        if (st != FCB_OK)
            return st;
    }
    while (!stop_requested) {
        fcb_status st = fcb_rpc_server_poll(co->server, 50);
        if (st == FCB_OK)
            st = step(co);
        if (st != FCB_OK)
            return st;
        if (finished(co))
            return FCB_OK;
    }
    return fcb_fail(FCB_ERR_STATE, "interrupted after round %d; the next start resumes from the checkpoint",
                    co->tally.rounds_done);
}

fcb_status fcb_coordinator_run(const fcb_config *config, const fcb_coordinator_options *options,
                               fcb_run_result *result)
{
    memset(result, 0, sizeof *result);
    fcb_status st = fcb_config_validate(config);
    if (st != FCB_OK)
        return st;
    openblas_set_num_threads(1);
    stop_requested = 0;
    install_signal_handlers();
    double start = fcb_wall_seconds();
    coordinator co;
    fcb_tls_files tls = {0};
    st = init_coordinator(&co, config, options);
    if (st == FCB_OK)
        st = start_server(&co, &tls);
    if (st == FCB_OK)
        st = serve(&co);
    if (st == FCB_OK)
        st = fcb_run_result_fill(&co.fed, &co.tally, fcb_wall_seconds() - start, result);
    free_coordinator(&co);
    fcb_tls_files_free(&tls);
    return st;
}
