#include "round_machine.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "log.h"

fcb_status fcb_machine_init(fcb_round_machine *m, const fcb_machine_config *config, const fcb_machine_hooks *hooks,
                            fcb_federation *fed, fcb_run_tally *tally)
{
    memset(m, 0, sizeof *m);
    m->config = *config;
    m->hooks = *hooks;
    m->fed = fed;
    m->tally = tally;
    int n = fed->config.num_clients;
    m->clients = calloc((size_t)n, sizeof *m->clients);
    m->slot_of_client = malloc((size_t)n * sizeof(int));
    m->scratch = malloc((size_t)n * sizeof(int));
    if (!m->clients || !m->slot_of_client || !m->scratch) {
        fcb_machine_free(m);
        return fcb_fail(FCB_ERR_NOMEM, "coordinator: out of memory for %d clients", n);
    }
    for (int c = 0; c < n; c++)
        m->slot_of_client[c] = -1;
    m->round = tally->rounds_done;
    m->phase = m->round >= fcb_federation_total_rounds(fed) ? FCB_PHASE_DONE : FCB_PHASE_WAITING;
    return FCB_OK;
}

void fcb_machine_free(fcb_round_machine *m)
{
    free(m->clients);
    free(m->slot_of_client);
    free(m->scratch);
    memset(m, 0, sizeof *m);
}

static int num_clients(const fcb_round_machine *m)
{
    return m->fed->config.num_clients;
}

int fcb_machine_has_task(const fcb_round_machine *m, int client)
{
    if (m->phase != FCB_PHASE_OPEN)
        return 0;
    int s = m->slot_of_client[client];
    return s >= 0 && m->fed->slots[s].state == FCB_SLOT_PENDING;
}

static void answer(fcb_round_machine *m, int client, fcb_answer kind)
{
    fcb_machine_client *mc = &m->clients[client];
    if (!mc->waiting)
        return;
    mc->waiting = 0;
    if (kind == FCB_ANSWER_DONE)
        mc->told_done = 1;
    m->hooks.answer(m->hooks.answer_context, client, kind);
}

/* What a held (or new) request gets now. */
static fcb_answer answer_for(const fcb_round_machine *m, int client)
{
    if (m->phase == FCB_PHASE_DONE)
        return FCB_ANSWER_DONE;
    return fcb_machine_has_task(m, client) ? FCB_ANSWER_TASK : FCB_ANSWER_WAIT;
}

void fcb_machine_register(fcb_round_machine *m, int client, double now)
{
    fcb_machine_client *mc = &m->clients[client];
    mc->last_seen = now;
    if (mc->registered)
        return;
    mc->registered = 1;
    m->registered++;
    fcb_log("coordinator", "client %d registered (%d of %d)", client, m->registered, num_clients(m));
}

fcb_answer fcb_machine_poll(fcb_round_machine *m, int client, double wait_seconds, double now)
{
    fcb_machine_register(m, client, now); /* a task request registers too, e.g. after a coordinator restart */
    answer(m, client, FCB_ANSWER_WAIT);   /* a newer request replaces an older one */
    fcb_machine_client *mc = &m->clients[client];
    fcb_answer now_answer = answer_for(m, client);
    if (now_answer != FCB_ANSWER_WAIT) {
        if (now_answer == FCB_ANSWER_DONE)
            mc->told_done = 1;
        return now_answer;
    }
    if (wait_seconds <= 0.0)
        return FCB_ANSWER_WAIT;
    mc->waiting = 1;
    mc->wait_until = now + wait_seconds;
    return FCB_ANSWER_HOLD;
}

void fcb_machine_forget(fcb_round_machine *m, int client)
{
    m->clients[client].waiting = 0;
}

static int connected(const fcb_round_machine *m, int client, double now)
{
    const fcb_machine_client *mc = &m->clients[client];
    return mc->registered && (mc->waiting || now - mc->last_seen <= m->config.connected_window);
}

/* Connected clients (real deployments) into m->scratch, increasing. */
static int list_connected(fcb_round_machine *m, double now)
{
    int n = 0;
    for (int c = 0; c < num_clients(m); c++)
        if (connected(m, c, now))
            m->scratch[n++] = c;
    return n;
}

static int min_clients(const fcb_round_machine *m)
{
    int wanted = m->config.min_clients > 0 ? m->config.min_clients : m->fed->capacity;
    return wanted;
}

static fcb_status open_round(fcb_round_machine *m, double now)
{
    fcb_federation *f = m->fed;
    fcb_status st;
    if (m->config.real) {
        int n = list_connected(m, now);
        if (n < min_clients(m)) {
            m->phase = FCB_PHASE_WAITING;
            return FCB_OK;
        }
        st = fcb_federation_sample_among(f, m->round, m->attempt, m->scratch, n);
    } else {
        st = fcb_federation_sample(f, m->round, m->attempt);
    }
    if (st != FCB_OK)
        return st;
    for (int c = 0; c < num_clients(m); c++)
        m->slot_of_client[c] = -1;
    for (int s = 0; s < f->num_slots; s++)
        m->slot_of_client[f->slots[s].client] = s;
    m->arrived = 0;
    m->phase = FCB_PHASE_OPEN;
    m->round_started = now;
    for (int s = 0; s < f->num_slots; s++)
        answer(m, f->slots[s].client, FCB_ANSWER_TASK);
    return FCB_OK;
}

static void finish_run(fcb_round_machine *m, double now)
{
    m->phase = FCB_PHASE_DONE;
    m->done_at = now;
    for (int c = 0; c < num_clients(m); c++)
        answer(m, c, FCB_ANSWER_DONE);
}

/* The sampled clients whose update did not arrive, into m->scratch. */
static int list_missing(fcb_round_machine *m, char *text, size_t size)
{
    int n = 0;
    size_t used = 0;
    text[0] = '\0';
    for (int s = 0; s < m->fed->num_slots; s++) {
        if (m->fed->slots[s].state != FCB_SLOT_PENDING)
            continue;
        int client = m->fed->slots[s].client;
        m->scratch[n++] = client;
        if (used < size)
            used += (size_t)snprintf(text + used, size - used, n == 1 ? "%d" : ", %d", client);
    }
    return n;
}

static fcb_status resample(fcb_round_machine *m, int needed, double now)
{
    char missing[512];
    int num_missing = list_missing(m, missing, sizeof missing);
    fcb_log("coordinator", "round %d: %d of %d updates by the %.0f s timeout, quorum %d; no update from client%s %s; "
                           "sampling again",
            m->round + 1, m->arrived, m->fed->num_slots, m->config.round_timeout, needed, num_missing == 1 ? "" : "s",
            missing);
    m->attempt++;
    if (m->hooks.resampled)
        m->hooks.resampled(m->hooks.context, m->round, m->attempt, m->scratch, num_missing);
    if (m->attempt >= m->config.max_attempts)
        return fcb_fail(FCB_ERR_STATE, "round %d: no quorum in %d attempts; last missing: client%s %s", m->round + 1,
                        m->config.max_attempts, num_missing == 1 ? "" : "s", missing);
    return open_round(m, now);
}

static fcb_status close_round(fcb_round_machine *m, double now)
{
    fcb_federation *f = m->fed;
    int needed = (int)ceil(m->config.quorum * f->num_slots - 1e-9);
    if (m->arrived < needed)
        return resample(m, needed, now);
    char missing[512];
    int num_missing = list_missing(m, missing, sizeof missing);
    fcb_round_report report;
    fcb_status st = fcb_round_close(f, m->tally, &report);
    if (st == FCB_OK && m->hooks.round_closed)
        st = m->hooks.round_closed(m->hooks.context, f, &report, m->tally, m->round_started);
    if (st == FCB_OK && m->config.state_dir)
        st = fcb_checkpoint_save(m->config.state_dir, m->config.config_hash, f, m->tally);
    if (st != FCB_OK)
        return st;
    const fcb_round_totals *t = &report.totals;
    fcb_log("coordinator", "round %d/%d: %d updates, reward %.4f%s%s%s", m->round + 1, fcb_federation_total_rounds(f),
            t->updates, t->examples ? t->reward_sum / t->examples : 0.0,
            num_missing ? " (some sampled clients missing: " : "", missing, num_missing ? ")" : "");
    m->round++;
    m->attempt = 0;
    if (m->round == fcb_federation_total_rounds(f)) {
        finish_run(m, now);
        return FCB_OK;
    }
    return open_round(m, now);
}

fcb_status fcb_machine_tick(fcb_round_machine *m, double now)
{
    for (int c = 0; c < num_clients(m); c++)
        if (m->clients[c].waiting && now >= m->clients[c].wait_until)
            answer(m, c, FCB_ANSWER_WAIT);
    if (m->phase == FCB_PHASE_DONE)
        return FCB_OK;
    if (m->phase == FCB_PHASE_WAITING) {
        int have = m->config.real ? list_connected(m, now) : m->registered;
        if (have >= min_clients(m))
            return open_round(m, now);
        if (now - m->last_note >= 30.0) {
            /* It waits as long as it takes; say so now and then. */
            if (m->last_note > 0.0)
                fcb_log("coordinator", "still waiting: %d of %d clients %s (network.min_clients)", have,
                        min_clients(m), m->config.real ? "connected" : "registered");
            m->last_note = now;
        }
        return FCB_OK;
    }
    if (m->arrived == m->fed->num_slots || now - m->round_started >= m->config.round_timeout)
        return close_round(m, now);
    return FCB_OK;
}

int fcb_machine_finished(const fcb_round_machine *m, double now)
{
    if (m->phase != FCB_PHASE_DONE)
        return 0;
    if (now - m->done_at >= m->config.linger)
        return 1;
    for (int c = 0; c < num_clients(m); c++)
        if (m->clients[c].registered && !m->clients[c].told_done)
            return 0;
    return 1;
}

/* Stores values into slot s's update buffer; FCB_ERR_ARG when they do not
 * fit the model or fail validation. */
static fcb_status store_update(fcb_federation *f, int s, int client, const fcb_update_values *v, double examples)
{
    fcb_update_buffer b = fcb_federation_slot_update(f, s);
    fcb_global_model *gm = f->gm;
    if (b.stats) {
        if (v->delta_count)
            return fcb_fail(FCB_ERR_ARG, "client %d: a parameter delta for a linear bandit", client);
        return fcb_linstats_from_flat(b.stats, v->stats, v->stats_count);
    }
    if (v->stats_count || v->delta_count != gm->update_size)
        return fcb_fail(FCB_ERR_ARG, "client %d: update has %zu values, model has %zu", client, v->delta_count,
                        gm->update_size);
    memcpy(b.delta, v->delta, gm->update_size * sizeof(float));
    return gm->ops->check(gm, s, client, examples);
}

fcb_status fcb_machine_submit(fcb_round_machine *m, int client, int round, const fcb_client_result *result,
                              const fcb_update_values *values, double now)
{
    m->clients[client].last_seen = now;
    int s = m->slot_of_client[client];
    if (m->phase != FCB_PHASE_OPEN || round != m->round)
        return fcb_fail(FCB_ERR_STATE, "update from client %d for round %d is stale: %s", client, round + 1,
                        m->phase == FCB_PHASE_DONE ? "the run is over" : "that round is closed");
    if (s < 0)
        return fcb_fail(FCB_ERR_STATE, "update from client %d: the client was not sampled in round %d", client,
                        m->round + 1);
    fcb_slot *sl = &m->fed->slots[s];
    if (sl->state != FCB_SLOT_PENDING)
        return fcb_fail(FCB_ERR_STATE, "update from client %d: duplicate for round %d", client, m->round + 1);
    m->arrived++;
    sl->result = *result;
    if (result->examples == 0) {
        sl->state = FCB_SLOT_NO_DATA;
        return FCB_OK;
    }
    fcb_status st = store_update(m->fed, s, client, values, result->examples);
    sl->state = st == FCB_OK ? FCB_SLOT_DONE : FCB_SLOT_REJECTED;
    return st;
}
