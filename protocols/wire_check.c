#include "wire_check.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* The start of a hash as it may appear in a log line: hex digits only, so a
 * client cannot write a line of its own into the coordinator's log. */
static void printable_hash(const char *hash, char out[24])
{
    if (!hash || !*hash) {
        snprintf(out, 24, "(none)");
        return;
    }
    size_t n = strspn(hash, "0123456789abcdef");
    if (hash[n] != '\0' || n > 64)
        snprintf(out, 24, "(not a digest)");
    else
        snprintf(out, 24, "%.16s...", hash);
}

static fcb_status check_hash(const char *hash, const fcb_wire_limits *limits, const char *what, uint32_t client)
{
    if (hash && strcmp(hash, limits->config_hash) == 0)
        return FCB_OK;
    char shown[24];
    printable_hash(hash, shown);
    return fcb_fail(FCB_ERR_ARG,
                    "%s from client %u: config hash %s differs from the coordinator's %.16s... "
                    "(every process must use the same config)",
                    what, client, shown, limits->config_hash);
}

static fcb_status check_client(uint32_t client, const fcb_wire_limits *limits, const char *what)
{
    if (client >= limits->num_clients)
        return fcb_fail(FCB_ERR_ARG, "%s: client id %u is out of range [0, %u)", what, client, limits->num_clients);
    return FCB_OK;
}

static fcb_status check_finite_doubles(const double *v, size_t n, const char *field, uint32_t client)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return fcb_fail(FCB_ERR_ARG, "update from client %u: %s[%zu] is not finite", client, field, i);
    return FCB_OK;
}

fcb_status fcb_decode_register(const uint8_t *data, size_t len, const fcb_wire_limits *limits,
                               Fedcb__RegisterRequest **out)
{
    *out = fedcb__register_request__unpack(NULL, len, data);
    if (!*out)
        return fcb_fail(FCB_ERR_FORMAT, "RegisterClient: not a RegisterRequest (%zu bytes)", len);
    const Fedcb__RegisterRequest *m = *out;
    fcb_status st = check_client(m->client_id, limits, "RegisterClient");
    if (st == FCB_OK && m->protocol_version != FCB_PROTOCOL_VERSION)
        st = fcb_fail(FCB_ERR_ARG, "RegisterClient from client %u: protocol version %u, the coordinator speaks %d",
                      m->client_id, m->protocol_version, FCB_PROTOCOL_VERSION);
    if (st == FCB_OK && limits->real && !m->real_data)
        st = fcb_fail(FCB_ERR_ARG, "RegisterClient from client %u: this coordinator runs a deployment where clients "
                                   "bring their own data; start the client with --data FILE", m->client_id);
    if (st == FCB_OK && !limits->real && m->real_data)
        st = fcb_fail(FCB_ERR_ARG, "RegisterClient from client %u: this coordinator runs the simulated world; "
                                   "start the client with the coordinator's --config instead of --data",
                      m->client_id);
    if (st == FCB_OK && !limits->real)
        st = check_hash(m->config_hash, limits, "RegisterClient", m->client_id);
    if (st != FCB_OK) {
        fedcb__register_request__free_unpacked(*out, NULL);
        *out = NULL;
    }
    return st;
}

fcb_status fcb_decode_task_request(const uint8_t *data, size_t len, const fcb_wire_limits *limits,
                                   Fedcb__TaskRequest **out)
{
    *out = fedcb__task_request__unpack(NULL, len, data);
    if (!*out)
        return fcb_fail(FCB_ERR_FORMAT, "GetTask: not a TaskRequest (%zu bytes)", len);
    const Fedcb__TaskRequest *m = *out;
    fcb_status st = check_client(m->client_id, limits, "GetTask");
    if (st == FCB_OK)
        st = check_hash(m->config_hash, limits, "GetTask", m->client_id);
    if (st != FCB_OK) {
        fedcb__task_request__free_unpacked(*out, NULL);
        *out = NULL;
    }
    return st;
}

static fcb_status check_update(const Fedcb__UpdateRequest *m, const fcb_wire_limits *limits)
{
    uint32_t c = m->client_id;
    fcb_status st = check_client(c, limits, "SubmitUpdate");
    if (st == FCB_OK)
        st = check_hash(m->config_hash, limits, "SubmitUpdate", c);
    if (st != FCB_OK)
        return st;
    if (m->examples > limits->max_examples)
        return fcb_fail(FCB_ERR_ARG, "update from client %u: %llu examples exceed examples_per_round %llu", c,
                        (unsigned long long)m->examples, (unsigned long long)limits->max_examples);
    if (!m->metrics)
        return fcb_fail(FCB_ERR_ARG, "update from client %u: metrics are missing", c);
    double metrics[4] = {m->metrics->reward_sum, m->metrics->true_reward_sum, m->metrics->propensity_sum,
                         m->metrics->loss_sum};
    st = check_finite_doubles(metrics, 4, "metrics", c);
    if (st == FCB_OK && !isfinite(m->metrics->margin_sum))
        st = fcb_fail(FCB_ERR_ARG, "update from client %u: metrics.margin_sum is not finite", c);
    if (st != FCB_OK)
        return st;
    /* Rewards and propensities lie in [0, 1] per example. */
    double most = (double)m->examples * (1.0 + 1e-6);
    static const char *const names[3] = {"reward_sum", "true_reward_sum", "propensity_sum"};
    for (int i = 0; i < 3; i++)
        if (metrics[i] < 0.0 || metrics[i] > most)
            return fcb_fail(FCB_ERR_ARG, "update from client %u: metrics.%s = %g is outside [0, %llu examples]", c,
                            names[i], metrics[i], (unsigned long long)m->examples);
    if (metrics[3] < 0.0)
        return fcb_fail(FCB_ERR_ARG, "update from client %u: metrics.loss_sum = %g is negative", c, metrics[3]);
    if (m->metrics->steps > 100000000u)
        return fcb_fail(FCB_ERR_ARG, "update from client %u: metrics.steps = %u is out of range", c,
                        m->metrics->steps);
    size_t expected_delta = 0, expected_stats = 0;
    if (m->examples > 0) {
        expected_delta = limits->linear ? 0 : limits->num_params;
        expected_stats = limits->linear ? limits->stats_size : 0;
    }
    if (m->n_delta != expected_delta)
        return fcb_fail(FCB_ERR_ARG, "update from client %u: delta has %zu values, expected %zu", c, m->n_delta,
                        expected_delta);
    if (m->n_stats != expected_stats)
        return fcb_fail(FCB_ERR_ARG, "update from client %u: stats have %zu values, expected %zu", c, m->n_stats,
                        expected_stats);
    for (size_t i = 0; i < m->n_delta; i++)
        if (!isfinite(m->delta[i]))
            return fcb_fail(FCB_ERR_ARG, "update from client %u: delta[%zu] is not finite", c, i);
    return check_finite_doubles(m->stats, m->n_stats, "stats", c);
}

fcb_status fcb_decode_update(const uint8_t *data, size_t len, const fcb_wire_limits *limits,
                             Fedcb__UpdateRequest **out)
{
    *out = fedcb__update_request__unpack(NULL, len, data);
    if (!*out)
        return fcb_fail(FCB_ERR_FORMAT, "SubmitUpdate: not an UpdateRequest (%zu bytes)", len);
    fcb_status st = check_update(*out, limits);
    if (st != FCB_OK) {
        fedcb__update_request__free_unpacked(*out, NULL);
        *out = NULL;
    }
    return st;
}

fcb_status fcb_decode_status_request(const uint8_t *data, size_t len, Fedcb__StatusRequest **out)
{
    *out = fedcb__status_request__unpack(NULL, len, data);
    if (!*out)
        return fcb_fail(FCB_ERR_FORMAT, "Status: not a StatusRequest (%zu bytes)", len);
    return FCB_OK;
}

size_t fcb_wire_message_limit(size_t model_bytes)
{
    size_t limit = 3 * model_bytes + ((size_t)1 << 20);
    return limit > (size_t)INT_MAX ? (size_t)INT_MAX : limit;
}

static fcb_status check_model_spec(const Fedcb__ModelSpec *m)
{
    if (!m)
        return fcb_fail(FCB_ERR_ARG, "registration: the plan has no model");
    if (!m->arch || (strcmp(m->arch, "linear") != 0 && strcmp(m->arch, "mlp") != 0))
        return fcb_fail(FCB_ERR_ARG, "registration: model architecture '%s' is unknown", m->arch ? m->arch : "");
    if (m->input_dim < 1 || m->input_dim > (1u << 24))
        return fcb_fail(FCB_ERR_ARG, "registration: model input_dim %u is out of range", m->input_dim);
    if (m->num_actions < 2 || m->num_actions > 1024)
        return fcb_fail(FCB_ERR_ARG, "registration: model num_actions %u is out of range [2, 1024]", m->num_actions);
    if (m->n_hidden > 8)
        return fcb_fail(FCB_ERR_ARG, "registration: %zu hidden layers, at most 8", m->n_hidden);
    for (size_t i = 0; i < m->n_hidden; i++)
        if (m->hidden[i] < 1 || m->hidden[i] > (1u << 16))
            return fcb_fail(FCB_ERR_ARG, "registration: hidden width %u is out of range", m->hidden[i]);
    return FCB_OK;
}

static fcb_status check_plan(const Fedcb__ClientPlan *p)
{
    if (!p)
        return fcb_fail(FCB_ERR_ARG, "registration: the coordinator sent no plan (is it a simulated-world run?)");
    fcb_status st = check_model_spec(p->model);
    if (st != FCB_OK)
        return st;
    double values[] = {p->epsilon,       p->temperature, p->igw_mu,   p->igw_gamma,    p->ucb_alpha,
                       p->ts_scale,      p->ridge_lambda, p->learning_rate, p->momentum, p->weight_decay,
                       p->clip_norm,     p->discount};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        if (!isfinite(values[i]))
            return fcb_fail(FCB_ERR_ARG, "registration: a plan value is not finite");
    if (!p->policy || !p->loss)
        return fcb_fail(FCB_ERR_ARG, "registration: the plan names no policy or loss");
    if (p->local_epochs < 1 || p->local_epochs > 10000 || p->batch_size < 1 || p->batch_size > 4096 ||
        p->examples_per_round < 1 || p->examples_per_round > (1u << 24) || p->propensity_samples > (1u << 20))
        return fcb_fail(FCB_ERR_ARG, "registration: plan sizes out of range (epochs %u, batch %u, examples %u)",
                        p->local_epochs, p->batch_size, p->examples_per_round);
    return FCB_OK;
}

/* Parameters of the plan's model, as fcb_model_init counts them. */
static size_t plan_params(const Fedcb__ModelSpec *m)
{
    size_t in = m->input_dim, total = 0;
    for (size_t i = 0; i < m->n_hidden; i++) {
        total += (size_t)m->hidden[i] * in + m->hidden[i];
        in = m->hidden[i];
    }
    return total + (size_t)m->num_actions * in + m->num_actions;
}

fcb_status fcb_decode_register_reply(const uint8_t *data, size_t len, int real, Fedcb__RegisterReply **out)
{
    *out = fedcb__register_reply__unpack(NULL, len, data);
    if (!*out)
        return fcb_fail(FCB_ERR_FORMAT, "registration: the reply is not a RegisterReply (%zu bytes)", len);
    const Fedcb__RegisterReply *m = *out;
    fcb_status st = FCB_OK;
    if (m->protocol_version != FCB_PROTOCOL_VERSION)
        st = fcb_fail(FCB_ERR_ARG, "registration: the coordinator speaks protocol %u, this client %d",
                      m->protocol_version, FCB_PROTOCOL_VERSION);
    else if (!m->run_id || strlen(m->run_id) != 64 || strspn(m->run_id, "0123456789abcdef") != 64)
        st = fcb_fail(FCB_ERR_ARG, "registration: the run id is not a digest");
    if (st == FCB_OK && real)
        st = check_plan(m->plan);
    if (st == FCB_OK && real && m->n_initial_params != plan_params(m->plan->model))
        st = fcb_fail(FCB_ERR_ARG, "registration: the initial model has %zu parameters, its spec %zu",
                      m->n_initial_params, plan_params(m->plan->model));
    for (size_t i = 0; st == FCB_OK && i < m->n_initial_params; i++)
        if (!isfinite(m->initial_params[i]))
            st = fcb_fail(FCB_ERR_ARG, "registration: initial_params[%zu] is not finite", i);
    if (st != FCB_OK) {
        fedcb__register_reply__free_unpacked(*out, NULL);
        *out = NULL;
    }
    return st;
}

static size_t deployed_stats_size(const fcb_wire_limits *limits)
{
    return limits->deployed_stats_size ? limits->deployed_stats_size : limits->stats_size;
}

fcb_status fcb_decode_task_reply(const uint8_t *data, size_t len, const fcb_wire_limits *limits,
                                 Fedcb__TaskReply **out)
{
    *out = fedcb__task_reply__unpack(NULL, len, data);
    if (!*out)
        return fcb_fail(FCB_ERR_FORMAT, "GetTask: the reply is not a TaskReply (%zu bytes)", len);
    const Fedcb__TaskReply *m = *out;
    fcb_status st = FCB_OK;
    if (m->n_deployed_params != 0 && m->n_deployed_params != limits->num_params)
        st = fcb_fail(FCB_ERR_ARG, "task: deployed model has %zu parameters, expected %zu", m->n_deployed_params,
                      limits->num_params);
    else if (m->n_current_params != 0 && m->n_current_params != limits->num_params)
        st = fcb_fail(FCB_ERR_ARG, "task: current model has %zu parameters, expected %zu", m->n_current_params,
                      limits->num_params);
    else if (m->n_reference_params != 0 && m->n_reference_params != limits->num_params)
        st = fcb_fail(FCB_ERR_ARG, "task: reference model has %zu parameters, expected %zu", m->n_reference_params,
                      limits->num_params);
    else if (m->n_deployed_stats != 0 && m->n_deployed_stats != deployed_stats_size(limits))
        st = fcb_fail(FCB_ERR_ARG, "task: statistics have %zu values, expected %zu", m->n_deployed_stats,
                      deployed_stats_size(limits));
    else if (m->kind == FEDCB__TASK_REPLY__KIND__TRAIN && (!m->config_hash || strcmp(m->config_hash, limits->config_hash) != 0))
        st = fcb_fail(FCB_ERR_ARG, "task: the coordinator runs another config (hash differs)");
    for (size_t i = 0; st == FCB_OK && i < m->n_deployed_params; i++)
        if (!isfinite(m->deployed_params[i]))
            st = fcb_fail(FCB_ERR_ARG, "task: deployed_params[%zu] is not finite", i);
    for (size_t i = 0; st == FCB_OK && i < m->n_current_params; i++)
        if (!isfinite(m->current_params[i]))
            st = fcb_fail(FCB_ERR_ARG, "task: current_params[%zu] is not finite", i);
    for (size_t i = 0; st == FCB_OK && i < m->n_reference_params; i++)
        if (!isfinite(m->reference_params[i]))
            st = fcb_fail(FCB_ERR_ARG, "task: reference_params[%zu] is not finite", i);
    for (size_t i = 0; st == FCB_OK && i < m->n_deployed_stats; i++)
        if (!isfinite(m->deployed_stats[i]))
            st = fcb_fail(FCB_ERR_ARG, "task: deployed_stats[%zu] is not finite", i);
    if (st != FCB_OK) {
        fedcb__task_reply__free_unpacked(*out, NULL);
        *out = NULL;
    }
    return st;
}
