#include "net_coordinator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "plan_wire.h"
#include "rpc_common.h"
#include "rpc_server.h"
#include "wall_time.h"
#include "wire_check.h"

enum { METHOD_REGISTER, METHOD_GET_TASK, METHOD_SUBMIT, METHOD_STATUS, NUM_METHODS };
static const char *const METHODS[NUM_METHODS] = {FCB_RPC_REGISTER, FCB_RPC_GET_TASK, FCB_RPC_SUBMIT_UPDATE,
                                                  FCB_RPC_STATUS};

/* gRPC status codes used here (grpc/status.h). */
enum { RPC_INVALID_ARGUMENT = 3, RPC_FAILED_PRECONDITION = 9, RPC_PERMISSION_DENIED = 7, RPC_INTERNAL = 13 };

typedef struct {
    fcb_rpc_call *call;     /* a held task request */
    int64_t have_deployed;  /* versions it names */
    int64_t have_current;
    int have_reference;
} held_request;

typedef struct {
    const fcb_net_coordinator_options *options;
    fcb_federation *fed;
    fcb_round_machine machine;
    fcb_rpc_server *server;
    fcb_wire_limits limits;
    held_request *held;          /* num_clients */
    fcb_rpc_payload *task_payload[2][2][2]; /* [with deployed][with current][with reference], this round */
    int payload_round;
    int payload_attempt;
} service;

/* With TLS, the client id a request claims must be the one its certificate
 * names: no client can speak for another. */
static int identity_matches(const service *sv, const fcb_rpc_peer *peer, uint32_t client)
{
    if (sv->options->insecure)
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

/* One log line per refused call, naming the peer (address and
 * certificate) when the call is being handled, and the reason. */
static void reject(fcb_rpc_call *call, int code, const char *method, const fcb_rpc_peer *peer)
{
    char who[600] = "";
    if (peer) {
        char described[580];
        fcb_rpc_peer_describe(peer, described, sizeof described);
        snprintf(who, sizeof who, " from %s", described);
    }
    fcb_log("coordinator", "%s%s refused: %s", method, who, fcb_last_error());
    fcb_rpc_reply_error(call, code, fcb_last_error());
}

static void release_task_payloads(service *sv)
{
    for (int d = 0; d < 2; d++)
        for (int c = 0; c < 2; c++)
            for (int r = 0; r < 2; r++) {
                fcb_rpc_payload_release(sv->task_payload[d][c][r]);
                sv->task_payload[d][c][r] = NULL;
            }
}

/* The TRAIN reply of the open round; one packed copy per variant, shared by
 * every client that needs it. A deployed model equal to the current one is
 * sent once (the client copies it). */
static fcb_status task_payload(service *sv, int with_deployed, int with_current, int with_reference,
                               fcb_rpc_payload **out)
{
    fcb_federation *f = sv->fed;
    fcb_model_view deployed = f->gm->ops->deployed(f->gm), current = f->gm->ops->current(f->gm);
    if (current.count == 0)
        with_current = 0;
    else if (f->deployed_version == f->current_version)
        with_deployed = 0;
    if (!fcb_federation_is_preference_round(f, f->round))
        with_reference = 0;
    if (sv->payload_round != f->round || sv->payload_attempt != f->attempt) {
        release_task_payloads(sv);
        sv->payload_round = f->round;
        sv->payload_attempt = f->attempt;
    }
    fcb_rpc_payload **slot = &sv->task_payload[with_deployed][with_current][with_reference];
    if (!*slot) {
        Fedcb__TaskReply m = FEDCB__TASK_REPLY__INIT;
        m.kind = FEDCB__TASK_REPLY__KIND__TRAIN;
        m.round = (uint32_t)f->round;
        m.deployed_version = f->deployed_version;
        m.current_version = f->current_version;
        m.config_hash = (char *)sv->options->machine.config_hash;
        if (with_deployed) {
            m.n_deployed_stats = deployed.stats ? deployed.count : 0;
            m.deployed_stats = (double *)deployed.stats;
            m.n_deployed_params = deployed.params ? deployed.count : 0;
            m.deployed_params = (float *)deployed.params;
        }
        if (with_current) {
            m.n_current_params = current.count;
            m.current_params = (float *)current.params;
        }
        if (with_reference) {
            m.n_reference_params = current.count;
            m.reference_params = f->reference;
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

static void reply_kind(service *sv, fcb_rpc_call *call, Fedcb__TaskReply__Kind kind)
{
    Fedcb__TaskReply m = FEDCB__TASK_REPLY__INIT;
    m.kind = kind;
    m.round = (uint32_t)sv->fed->round;
    m.config_hash = (char *)sv->options->machine.config_hash;
    reply_message(call, &m.base);
}

static void send_task(service *sv, fcb_rpc_call *call, const held_request *h)
{
    const fcb_federation *f = sv->fed;
    fcb_rpc_payload *payload;
    fcb_status st = task_payload(sv, h->have_deployed != f->deployed_version, h->have_current != f->current_version,
                                 !h->have_reference, &payload);
    if (st != FCB_OK) {
        reject(call, RPC_INTERNAL, "GetTask", NULL);
        return;
    }
    fcb_rpc_reply_payload(call, payload);
}

static void reply_answer(service *sv, fcb_rpc_call *call, const held_request *h, fcb_answer kind)
{
    if (kind == FCB_ANSWER_TASK)
        send_task(sv, call, h);
    else if (kind == FCB_ANSWER_DONE)
        reply_kind(sv, call, FEDCB__TASK_REPLY__KIND__DONE);
    else
        reply_kind(sv, call, FEDCB__TASK_REPLY__KIND__WAIT);
}

/* The machine answers a held request. */
static void on_answer(void *context, int client, fcb_answer kind)
{
    service *sv = context;
    held_request *h = &sv->held[client];
    if (!h->call)
        return;
    fcb_rpc_call *call = h->call;
    h->call = NULL;
    reply_answer(sv, call, h, kind);
}

static void handle_register(service *sv, fcb_rpc_call *call, const uint8_t *req, size_t len,
                            const fcb_rpc_peer *peer)
{
    Fedcb__RegisterRequest *m;
    if (fcb_decode_register(req, len, &sv->limits, &m) != FCB_OK) {
        reject(call, RPC_INVALID_ARGUMENT, "RegisterClient", peer);
        return;
    }
    uint32_t id = m->client_id;
    fedcb__register_request__free_unpacked(m, NULL);
    if (!identity_matches(sv, peer, id)) {
        fcb_fail(FCB_ERR_ARG, "RegisterClient: the certificate does not name client %u", id);
        reject(call, RPC_PERMISSION_DENIED, "RegisterClient", peer);
        return;
    }
    fcb_machine_register(&sv->machine, (int)id, fcb_wall_seconds());
    const fcb_net_coordinator_options *o = sv->options;
    Fedcb__RegisterReply r = FEDCB__REGISTER_REPLY__INIT;
    Fedcb__ClientPlan plan;
    Fedcb__ModelSpec spec;
    fcb_model_spec_lists lists;
    r.protocol_version = FCB_PROTOCOL_VERSION;
    r.run_id = (char *)o->machine.config_hash;
    r.rounds = (uint32_t)fcb_federation_total_rounds(sv->fed);
    r.num_params = sv->fed->config.model.model->num_params;
    r.max_message_bytes = fcb_wire_message_limit(sv->fed->gm->model_bytes);
    if (o->plan) {
        fcb_plan_to_wire(o->plan, &plan, &spec, &lists);
        r.plan = &plan;
        r.n_initial_params = r.num_params;
        r.initial_params = (float *)o->initial_params;
    }
    reply_message(call, &r.base);
}

static void handle_get_task(service *sv, fcb_rpc_call *call, const uint8_t *req, size_t len,
                            const fcb_rpc_peer *peer)
{
    Fedcb__TaskRequest *m;
    if (fcb_decode_task_request(req, len, &sv->limits, &m) != FCB_OK) {
        reject(call, RPC_INVALID_ARGUMENT, "GetTask", peer);
        return;
    }
    uint32_t id = m->client_id;
    held_request request = {call, m->have_deployed_version, m->have_current_version, m->have_reference};
    uint32_t wait_ms = m->wait_ms;
    fedcb__task_request__free_unpacked(m, NULL);
    if (!identity_matches(sv, peer, id)) {
        fcb_fail(FCB_ERR_ARG, "GetTask: the certificate does not name client %u", id);
        reject(call, RPC_PERMISSION_DENIED, "GetTask", peer);
        return;
    }
    int deadline = fcb_rpc_call_deadline_ms(call);
    uint32_t poll_ms = (uint32_t)sv->options->poll_ms;
    double wait = (wait_ms < poll_ms ? wait_ms : poll_ms) / 1000.0;
    if (deadline < (int)(wait * 1000.0) + 200)
        wait = deadline > 200 ? (deadline - 200) / 1000.0 : 0.0;
    fcb_answer a = fcb_machine_poll(&sv->machine, (int)id, wait, fcb_wall_seconds());
    if (a == FCB_ANSWER_HOLD) {
        sv->held[id] = request;
        return;
    }
    reply_answer(sv, call, &request, a);
}

static void handle_submit(service *sv, fcb_rpc_call *call, const uint8_t *req, size_t len,
                          const fcb_rpc_peer *peer)
{
    Fedcb__UpdateRequest *m;
    if (fcb_decode_update(req, len, &sv->limits, &m) != FCB_OK) {
        reject(call, RPC_INVALID_ARGUMENT, "SubmitUpdate", peer);
        return;
    }
    uint32_t id = m->client_id;
    fcb_status st;
    int code;
    if (!identity_matches(sv, peer, id)) {
        st = fcb_fail(FCB_ERR_ARG, "SubmitUpdate: the certificate does not name client %u", id);
        code = RPC_PERMISSION_DENIED;
    } else {
        fcb_client_result result = {
            .examples = (int)m->examples,
            .reward_sum = m->metrics->reward_sum,
            /* An oracle value exists only in the simulated world. */
            .true_reward_sum = sv->limits.real ? 0.0 : m->metrics->true_reward_sum,
            .propensity_sum = m->metrics->propensity_sum,
            .loss_sum = m->metrics->loss_sum,
            .steps = (int)m->metrics->steps,
            .margin_sum = m->metrics->margin_sum,
        };
        fcb_update_values values = {m->delta, m->n_delta, m->stats, m->n_stats};
        st = fcb_machine_submit(&sv->machine, (int)id, (int)m->round, &result, &values, fcb_wall_seconds());
        code = st == FCB_ERR_STATE ? RPC_FAILED_PRECONDITION : RPC_INVALID_ARGUMENT;
    }
    fedcb__update_request__free_unpacked(m, NULL);
    if (st != FCB_OK) {
        reject(call, code, "SubmitUpdate", peer);
        return;
    }
    Fedcb__UpdateReply r = FEDCB__UPDATE_REPLY__INIT;
    r.accepted = 1;
    reply_message(call, &r.base);
}

static void handle_status(service *sv, fcb_rpc_call *call, const uint8_t *req, size_t len,
                          const fcb_rpc_peer *peer)
{
    Fedcb__StatusRequest *m;
    if (fcb_decode_status_request(req, len, &m) != FCB_OK) {
        reject(call, RPC_INVALID_ARGUMENT, "Status", peer);
        return;
    }
    fedcb__status_request__free_unpacked(m, NULL);
    const fcb_run_tally *t = sv->machine.tally;
    Fedcb__StatusReply r = FEDCB__STATUS_REPLY__INIT;
    r.round = (uint32_t)t->rounds_done;
    r.rounds = (uint32_t)fcb_federation_total_rounds(sv->fed);
    r.done = sv->machine.phase == FCB_PHASE_DONE;
    r.registered_clients = (uint32_t)sv->machine.registered;
    r.avg_reward = t->interactions ? t->reward_total / t->interactions : 0.0;
    r.test_accuracy = t->accuracy;
    reply_message(call, &r.base);
}

static void on_call(void *context, fcb_rpc_call *call, int method, const uint8_t *req, size_t len,
                    const fcb_rpc_peer *peer)
{
    service *sv = context;
    switch (method) {
    case METHOD_REGISTER: handle_register(sv, call, req, len, peer); break;
    case METHOD_GET_TASK: handle_get_task(sv, call, req, len, peer); break;
    case METHOD_SUBMIT: handle_submit(sv, call, req, len, peer); break;
    default: handle_status(sv, call, req, len, peer); break;
    }
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

static int request_timeout_ms(double round_timeout)
{
    double ms = round_timeout * 1000.0;
    if (ms < 1000.0)
        return 1000;
    return ms < 3600000.0 ? (int)ms : 3600000;
}

static fcb_status start_server(service *sv, fcb_tls_files *tls)
{
    const fcb_net_coordinator_options *o = sv->options;
    if (o->insecure && !fcb_rpc_is_loopback(o->listen))
        return fcb_fail(FCB_ERR_ARG, "--insecure is accepted only on a loopback address, not %s; "
                                     "use --tls-dir", o->listen);
    if (!o->insecure) {
        fcb_status st = fcb_tls_files_load(tls, o->tls_dir, "server");
        if (st != FCB_OK)
            return st;
    } else {
        fcb_log("coordinator", "--insecure: plaintext on loopback %s, no client authentication", o->listen);
    }
    fcb_rpc_server_config sc = {
        .listen = o->listen,
        .tls = o->insecure ? NULL : tls,
        .methods = METHODS,
        .num_methods = NUM_METHODS,
        .max_message_bytes = fcb_wire_message_limit(sv->fed->gm->model_bytes),
        .slots_per_method = 8,
        /* A request still arriving after a round's timeout is of no use. */
        .request_timeout_ms = request_timeout_ms(o->machine.round_timeout),
    };
    int port = 0;
    fcb_status st = fcb_rpc_server_start(&sc, on_call, sv, &sv->server, &port);
    if (st == FCB_OK)
        fcb_log("coordinator", "listening on %s (port %d, %s), %d rounds, %s, config %.12s", o->listen, port,
                o->insecure ? "plaintext" : "mutual TLS", fcb_federation_total_rounds(sv->fed),
                o->machine.real ? "clients bring their own data" : "simulated world", o->machine.config_hash);
    if (st == FCB_OK && o->port_file)
        st = write_port_file(o->port_file, port);
    return st;
}

static fcb_status serve(service *sv)
{
    while (!atomic_load(sv->options->stop)) {
        fcb_status st = fcb_rpc_server_poll(sv->server, 50);
        double now = fcb_wall_seconds();
        if (st == FCB_OK)
            st = fcb_machine_tick(&sv->machine, now);
        if (st != FCB_OK)
            return st;
        if (fcb_machine_finished(&sv->machine, now))
            return FCB_OK;
    }
    return fcb_fail(FCB_ERR_STATE, "interrupted after round %d; the next start resumes from the checkpoint",
                    sv->machine.tally->rounds_done);
}

fcb_status fcb_net_coordinator_serve(const fcb_net_coordinator_options *o, fcb_federation *fed,
                                     fcb_run_tally *tally, const fcb_machine_hooks *hooks)
{
    service sv;
    memset(&sv, 0, sizeof sv);
    sv.options = o;
    sv.fed = fed;
    sv.payload_round = -1;
    fcb_machine_hooks machine_hooks = *hooks;
    machine_hooks.answer = on_answer;
    machine_hooks.answer_context = &sv;
    sv.held = calloc((size_t)fed->config.num_clients, sizeof *sv.held);
    if (!sv.held)
        return fcb_fail(FCB_ERR_NOMEM, "coordinator: out of memory");
    sv.limits = (fcb_wire_limits){
        .num_clients = (uint32_t)fed->config.num_clients,
        .num_params = fed->config.linear ? 0 : fed->gm->update_size,
        .stats_size = fed->config.linear ? fed->gm->update_size : 0,
        .linear = fed->config.linear,
        .max_examples = (uint64_t)o->examples_per_round,
        .config_hash = o->machine.config_hash,
        .real = o->machine.real,
    };
    fcb_tls_files tls = {0};
    fcb_status st = fcb_machine_init(&sv.machine, &o->machine, &machine_hooks, fed, tally);
    if (st == FCB_OK)
        st = start_server(&sv, &tls);
    if (st == FCB_OK && sv.machine.phase == FCB_PHASE_DONE)
        fcb_log("coordinator", "the run is already complete (%d rounds); telling clients it is done",
                tally->rounds_done);
    if (st == FCB_OK)
        st = serve(&sv);
    if (sv.server) {
        for (int c = 0; c < fed->config.num_clients; c++)
            sv.held[c].call = NULL; /* answered by the server's shutdown */
        fcb_rpc_server_destroy(sv.server);
    }
    release_task_payloads(&sv);
    fcb_machine_free(&sv.machine);
    free(sv.held);
    fcb_tls_files_free(&tls);
    return st;
}
