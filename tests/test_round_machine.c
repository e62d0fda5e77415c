/* The networked coordinator's round machine (coordinator/round_machine.c)
 * without a network: the test is the transport, with its own clock (`now`),
 * and records the hooks' calls. Checked against the federation's own
 * sampling and aggregation: when rounds open, who gets a task, when held
 * requests are answered, refused updates, quorums and re-samples, the
 * connected clients of a real deployment, arrival order. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_file.h"
#include "round_machine.h"
#include "run_plan.h"
#include "world.h"

enum { CLIENTS = 5, PER_ROUND = 3, ROUNDS = 3, MAX_EVENTS = 256, MAX_RESAMPLES = 8 };

typedef struct {
    fcb_config config;
    fcb_world world;
    fcb_federation fed;
    fcb_federation ref; /* the same config: the samples a round must have */
    fcb_run_tally tally;
    fcb_round_machine m;
    struct {
        int client;
        fcb_answer kind;
    } answers[MAX_EVENTS]; /* what the answer hook said, in order */
    int num_answers;
    int num_closed, closed_round[ROUNDS], tally_at_close[ROUNDS]; /* the round_closed hook's calls */
    fcb_round_totals totals[ROUNDS];
    int num_resampled, resampled_round[MAX_RESAMPLES], resampled_attempt[MAX_RESAMPLES]; /* the resampled hook's */
    int missing[MAX_RESAMPLES][CLIENTS], num_missing[MAX_RESAMPLES];
} fixture;

static void on_answer(void *context, int client, fcb_answer kind)
{
    fixture *fx = context;
    assert_true(fx->num_answers < MAX_EVENTS);
    assert_true(kind == FCB_ANSWER_TASK || kind == FCB_ANSWER_WAIT || kind == FCB_ANSWER_DONE);
    fx->answers[fx->num_answers].client = client;
    fx->answers[fx->num_answers++].kind = kind;
}

static fcb_status on_closed(void *context, const fcb_federation *f, const fcb_round_report *report,
                            const fcb_run_tally *tally, double round_started)
{
    (void)round_started;
    fixture *fx = context;
    assert_ptr_equal(f, &fx->fed);
    assert_true(fx->num_closed < ROUNDS);
    fx->closed_round[fx->num_closed] = report->round;
    fx->tally_at_close[fx->num_closed] = tally->rounds_done;
    fx->totals[fx->num_closed] = report->totals;
    fx->num_closed++;
    return FCB_OK;
}

static void on_resampled(void *context, int round, int attempt, const int *missing, int num_missing)
{
    fixture *fx = context;
    assert_true(fx->num_resampled < MAX_RESAMPLES && num_missing <= CLIENTS);
    int i = fx->num_resampled++;
    fx->resampled_round[i] = round;
    fx->resampled_attempt[i] = attempt;
    fx->num_missing[i] = num_missing;
    memcpy(fx->missing[i], missing, (size_t)num_missing * sizeof(int));
}

static void set(fcb_config *c, const char *assignment)
{
    if (fcb_config_set(c, assignment) != FCB_OK)
        fail_msg("fcb_config_set(\"%s\"): %s", assignment, fcb_last_error());
}

static fcb_machine_config machine_config(void)
{
    fcb_machine_config mc = {.round_timeout = 60.0, .quorum = 1.0, .min_clients = CLIENTS, .max_attempts = 3,
                             .poll_seconds = 2.0, .linger = 3.0, .real = 0, .connected_window = 10.0,
                             .state_dir = NULL, .config_hash = "test"};
    return mc;
}

/* Synthetic data, 5 clients, 3 per round, 3 rounds; extra: more settings. */
static fixture *make(const fcb_machine_config *mc, const char *extra)
{
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fcb_config *c = &fx->config;
    fcb_config_default(c);
    const char *settings[] = {"run.wall_clock=false",         "data.synthetic_train=400",
                              "data.synthetic_test=100",      "data.synthetic_dim=4",
                              "data.synthetic_classes=3",     "clients.num_clients=5",
                              "clients.clients_per_round=3",  "clients.examples_per_round=10",
                              "run.rounds=3"};
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        set(c, settings[i]);
    if (extra)
        set(c, extra);
    if (fcb_config_validate(c) != FCB_OK || fcb_world_build(&fx->world, c) != FCB_OK)
        fail_msg("world: %s", fcb_last_error());
    fcb_federation_config fc;
    if (fcb_plan_federation(c, &fx->world.model, fx->world.initial_params, &fc) != FCB_OK ||
        fcb_federation_init(&fx->fed, &fc, NULL) != FCB_OK || fcb_federation_init(&fx->ref, &fc, NULL) != FCB_OK)
        fail_msg("federation: %s", fcb_last_error());
    fcb_run_tally_init(&fx->tally);
    fcb_machine_hooks hooks = {.answer = on_answer, .answer_context = fx, .context = fx,
                               .round_closed = on_closed, .resampled = on_resampled};
    if (fcb_machine_init(&fx->m, mc, &hooks, &fx->fed, &fx->tally) != FCB_OK)
        fail_msg("machine: %s", fcb_last_error());
    return fx;
}

static void destroy(fixture *fx)
{
    fcb_machine_free(&fx->m);
    fcb_federation_free(&fx->fed);
    fcb_federation_free(&fx->ref);
    fcb_world_free(&fx->world);
    free(fx);
}

static size_t num_params(const fixture *fx)
{
    return fx->fed.config.model.model->num_params;
}

static int is_sampled(const fcb_federation *f, int client)
{
    for (int s = 0; s < f->num_slots; s++)
        if (f->slots[s].client == client)
            return 1;
    return 0;
}

/* The round the machine opened has exactly ref's sample (same clients, same
 * slot order). */
static void expect_same_sample(const fixture *fx)
{
    assert_int_equal(fx->fed.num_slots, fx->ref.num_slots);
    for (int s = 0; s < fx->ref.num_slots; s++)
        assert_int_equal(fx->fed.slots[s].client, fx->ref.slots[s].client);
    for (int c = 0; c < CLIENTS; c++)
        assert_int_equal(fcb_machine_has_task(&fx->m, c), is_sampled(&fx->ref, c));
}

/* ... as fcb_federation_sample(round, attempt), or _sample_among(round, 0,
 * among, n) when among is not NULL. */
static void expect_sample(fixture *fx, int round, int attempt, const int *among, int n)
{
    fcb_status st = among ? fcb_federation_sample_among(&fx->ref, round, 0, among, n)
                          : fcb_federation_sample(&fx->ref, round, attempt);
    assert_int_equal(st, FCB_OK);
    expect_same_sample(fx);
}

/* The hook's answers to client since event `from`: none (kind HOLD) or
 * exactly one, of that kind. */
static void expect_answer(const fixture *fx, int client, int from, fcb_answer kind)
{
    int n = 0;
    for (int i = from; i < fx->num_answers; i++)
        if (fx->answers[i].client == client) {
            n++;
            assert_int_equal(fx->answers[i].kind, kind);
        }
    assert_int_equal(n, kind == FCB_ANSWER_HOLD ? 0 : 1);
}

/* Client c's update in round r: magnitudes that differ by powers of ten, so
 * that sums in another order round differently. */
static void fill_delta(float *delta, size_t n, int client, int round)
{
    for (size_t k = 0; k < n; k++)
        delta[k] = (float)(sin(1.3 * client + 0.71 * (double)k + 0.37 * round) * pow(10.0, client % 3 - 2));
}

static fcb_client_result result_of(int client)
{
    fcb_client_result r = {.examples = 10 + client, .reward_sum = 3.0 + client, .steps = 1};
    return r;
}

static fcb_status submit(fixture *fx, int client, int round, double now)
{
    float delta[64];
    assert_true(num_params(fx) <= 64);
    fill_delta(delta, num_params(fx), client, round);
    fcb_client_result result = result_of(client);
    fcb_update_values values = {delta, num_params(fx), NULL, 0};
    return fcb_machine_submit(&fx->m, client, round, &result, &values, now);
}

static void submit_ok(fixture *fx, int client, int round, double now)
{
    if (submit(fx, client, round, now) != FCB_OK)
        fail_msg("client %d, round %d: %s", client, round, fcb_last_error());
}

static void tick(fixture *fx, double now)
{
    if (fcb_machine_tick(&fx->m, now) != FCB_OK)
        fail_msg("tick at %g: %s", now, fcb_last_error());
}

/* Status want, with a message naming "client <client>" and part (either may
 * be missing: client -1, part NULL). */
static void expect_error(fcb_status got, fcb_status want, int client, const char *part)
{
    assert_int_equal(got, want);
    char who[32];
    snprintf(who, sizeof who, "client %d", client);
    const char *message = fcb_last_error();
    if ((client >= 0 && !strstr(message, who)) || (part && !strstr(message, part)))
        fail_msg("error \"%s\" does not name %s and \"%s\"", message, client >= 0 ? who : "-", part ? part : "-");
}

/* The (r + 1)-th round_closed call was round r's, with r + 1 rounds in the
 * tally, these updates and missing clients. */
static void expect_closed(const fixture *fx, int r, int updates, int missing)
{
    assert_int_equal(fx->num_closed, r + 1);
    assert_int_equal(fx->closed_round[r], r);
    assert_int_equal(fx->tally_at_close[r], r + 1);
    assert_int_equal(fx->totals[r].updates, updates);
    assert_int_equal(fx->totals[r].missing, missing);
}

/* The resampled hook's call i (of i + 1 so far): round, attempt, and the
 * missing clients a and b (b -1: only a). */
static void expect_resampled(const fixture *fx, int i, int round, int attempt, int a, int b)
{
    assert_int_equal(fx->num_resampled, i + 1);
    assert_int_equal(fx->resampled_round[i], round);
    assert_int_equal(fx->resampled_attempt[i], attempt);
    assert_int_equal(fx->num_missing[i], b < 0 ? 1 : 2);
    assert_int_equal(fx->missing[i][0], a);
    if (b >= 0)
        assert_int_equal(fx->missing[i][1], b);
}

static void register_all(fixture *fx, double now)
{
    for (int c = 0; c < CLIENTS; c++)
        fcb_machine_register(&fx->m, c, now);
}

static void test_simulated_rounds_open_close_and_finish(void **state)
{
    (void)state;
    fcb_machine_config mc = machine_config();
    mc.min_clients = 4;
    fixture *fx = make(&mc, NULL);
    fcb_round_machine *m = &fx->m;
    /* Three clients ask for a task before there is a round: held. */
    for (int c = 0; c < 3; c++)
        assert_int_equal(fcb_machine_poll(m, c, 1000.0, 0.0), FCB_ANSWER_HOLD);
    tick(fx, 1.0);
    assert_int_equal(m->phase, FCB_PHASE_WAITING);
    fcb_machine_register(m, 3, 2.0);
    assert_int_equal(m->phase, FCB_PHASE_WAITING); /* only a tick opens a round */
    assert_int_equal(fx->num_answers, 0);
    int held[CLIENTS] = {1, 1, 1, 0, 0};
    double now = 2.0;
    int mark = fx->num_answers;
    tick(fx, now); /* 4 registered: round 1 opens */
    for (int r = 0; r < ROUNDS; r++) {
        assert_true(m->phase == FCB_PHASE_OPEN && m->round == r);
        expect_sample(fx, r, 0, NULL, 0);
        assert_int_equal(fx->fed.num_slots, PER_ROUND); /* and every sampled client got TASK, the others WAIT */
        for (int c = 0; c < CLIENTS; c++) {
            int sampled = is_sampled(&fx->fed, c);
            /* a held request of a sampled client was answered TASK as the round opened */
            expect_answer(fx, c, mark, held[c] && sampled ? FCB_ANSWER_TASK : FCB_ANSWER_HOLD);
            if (held[c] && !sampled) { /* still held; a new request replaces it: WAIT to both */
                assert_true(m->clients[c].waiting);
                int before = fx->num_answers;
                assert_int_equal(fcb_machine_poll(m, c, 0.0, now), FCB_ANSWER_WAIT);
                expect_answer(fx, c, before, FCB_ANSWER_WAIT);
            } else if (!held[c]) {
                assert_int_equal(fcb_machine_poll(m, c, 0.0, now), sampled ? FCB_ANSWER_TASK : FCB_ANSWER_WAIT);
            }
        }
        for (int s = 0; s < PER_ROUND; s++) {
            tick(fx, now + 0.5); /* an update missing: the round stays open */
            assert_int_equal(fx->num_closed, r);
            submit_ok(fx, fx->fed.slots[s].client, r, now + 1.0);
        }
        /* Everyone waits for the next task. */
        for (int c = 0; c < CLIENTS; c++) {
            held[c] = 1;
            assert_int_equal(fcb_machine_poll(m, c, 1000.0, now + 1.0), FCB_ANSWER_HOLD);
        }
        if (r == ROUNDS - 1)
            fcb_machine_forget(m, 4); /* client 4's call ended: it is not told, yet */
        assert_false(fcb_machine_finished(m, now + 1.0));
        mark = fx->num_answers;
        now += 2.0;
        tick(fx, now);
        expect_closed(fx, r, PER_ROUND, 0);
        assert_int_equal(fx->tally.rounds_done, r + 1);
        assert_int_equal(fx->fed.current_version, r + 1);
    }
    /* The run is over: every held request got DONE, a new one gets DONE. */
    assert_int_equal(m->phase, FCB_PHASE_DONE);
    for (int c = 0; c < CLIENTS; c++)
        expect_answer(fx, c, mark, c < 4 ? FCB_ANSWER_DONE : FCB_ANSWER_HOLD);
    assert_false(fcb_machine_finished(m, now)); /* client 4 was not told */
    assert_true(fcb_machine_finished(m, now + mc.linger)); /* unless linger passed */
    assert_int_equal(fcb_machine_poll(m, 4, 1000.0, now), FCB_ANSWER_DONE);
    assert_true(fcb_machine_finished(m, now));
    assert_int_equal(fcb_machine_poll(m, 0, 1000.0, now), FCB_ANSWER_DONE);
    tick(fx, now + 100.0);
    assert_int_equal(fx->num_closed, ROUNDS);
    destroy(fx);
}

static void test_held_poll_gets_wait_then_task(void **state)
{
    (void)state;
    fcb_machine_config mc = machine_config();
    fixture *fx = make(&mc, NULL);
    fcb_round_machine *m = &fx->m;
    register_all(fx, 0.0);
    tick(fx, 0.0);
    assert_int_equal(m->phase, FCB_PHASE_OPEN);
    assert_int_equal(fcb_federation_sample(&fx->ref, 1, 0), FCB_OK);
    int c = -1;
    for (int k = 0; k < CLIENTS && c < 0; k++)
        if (!is_sampled(&fx->fed, k) && is_sampled(&fx->ref, k))
            c = k;
    assert_true(c >= 0); /* sampled in round 2, not in round 1 */
    int mark = fx->num_answers;
    assert_int_equal(fcb_machine_poll(m, c, 5.0, 10.0), FCB_ANSWER_HOLD);
    tick(fx, 14.5);
    expect_answer(fx, c, mark, FCB_ANSWER_HOLD);
    tick(fx, 15.0); /* its wait time passed */
    expect_answer(fx, c, mark, FCB_ANSWER_WAIT);
    assert_false(m->clients[c].waiting);
    /* A newer request replaces a held one, which is answered WAIT. */
    assert_int_equal(fcb_machine_poll(m, c, 30.0, 16.0), FCB_ANSWER_HOLD);
    mark = fx->num_answers;
    assert_int_equal(fcb_machine_poll(m, c, 30.0, 16.5), FCB_ANSWER_HOLD);
    expect_answer(fx, c, mark, FCB_ANSWER_WAIT);
    for (int s = 0; s < fx->fed.num_slots; s++)
        submit_ok(fx, fx->fed.slots[s].client, 0, 17.0);
    mark = fx->num_answers;
    tick(fx, 17.0); /* round 2 opens and samples c: the held request gets its task */
    assert_int_equal(m->round, 1);
    expect_same_sample(fx);
    expect_answer(fx, c, mark, FCB_ANSWER_TASK);
    assert_true(fcb_machine_has_task(m, c));
    assert_false(m->clients[c].waiting);
    destroy(fx);
}

static void test_submit_errors(void **state)
{
    (void)state;
    fcb_machine_config mc = machine_config();
    fixture *fx = make(&mc, NULL);
    fcb_round_machine *m = &fx->m;
    register_all(fx, 0.0);
    tick(fx, 0.0);
    int unsampled = -1;
    for (int c = 0; c < CLIENTS && unsampled < 0; c++)
        if (!is_sampled(&fx->fed, c))
            unsampled = c;
    expect_error(submit(fx, unsampled, 0, 1.0), FCB_ERR_STATE, unsampled, "not sampled");
    int s0 = fx->fed.slots[0].client, s1 = fx->fed.slots[1].client, s2 = fx->fed.slots[2].client;
    expect_error(submit(fx, s0, 1, 1.0), FCB_ERR_STATE, s0, "is stale");
    expect_error(submit(fx, s0, -1, 1.0), FCB_ERR_STATE, s0, "is stale");
    assert_int_equal(m->arrived, 0);
    submit_ok(fx, s0, 0, 1.0);
    expect_error(submit(fx, s0, 0, 1.5), FCB_ERR_STATE, s0, "duplicate");
    assert_int_equal(m->arrived, 1);

    size_t p = num_params(fx);
    float *delta = calloc(p, sizeof(float));
    assert_non_null(delta);
    fcb_client_result result = result_of(s1);
    fcb_update_values short_update = {delta, p - 1, NULL, 0};
    expect_error(fcb_machine_submit(m, s1, 0, &result, &short_update, 2.0), FCB_ERR_ARG, s1, NULL);
    assert_int_equal(fx->fed.slots[1].state, FCB_SLOT_REJECTED);
    assert_int_equal(m->arrived, 2);
    assert_false(fcb_machine_has_task(m, s1));
    expect_error(submit(fx, s1, 0, 2.5), FCB_ERR_STATE, s1, "duplicate");

    delta[3] = NAN;
    fcb_update_values nan_update = {delta, p, NULL, 0};
    result = result_of(s2);
    expect_error(fcb_machine_submit(m, s2, 0, &result, &nan_update, 3.0), FCB_ERR_ARG, s2, "NaN");
    assert_int_equal(fx->fed.slots[2].state, FCB_SLOT_REJECTED);
    assert_int_equal(m->arrived, 3);
    free(delta);

    tick(fx, 4.0); /* every slot arrived: the round closes with one update */
    expect_closed(fx, 0, 1, 0);
    assert_int_equal(fx->totals[0].rejected, 2);
    assert_int_equal(m->round, 1);
    expect_error(submit(fx, s0, 0, 5.0), FCB_ERR_STATE, s0, "is stale");
    destroy(fx);
}

static void test_quorum_resamples_then_fails(void **state)
{
    (void)state;
    fcb_machine_config mc = machine_config();
    mc.max_attempts = 2;
    fixture *fx = make(&mc, NULL);
    fcb_round_machine *m = &fx->m;
    register_all(fx, 0.0);
    tick(fx, 0.0);
    int silent = fx->fed.slots[2].client;
    submit_ok(fx, fx->fed.slots[0].client, 0, 1.0);
    submit_ok(fx, fx->fed.slots[1].client, 0, 1.0);
    tick(fx, 59.5);
    assert_int_equal(fx->num_resampled, 0);
    assert_int_equal(m->attempt, 0);
    tick(fx, 60.0); /* the timeout, 2 of 3 updates, quorum 3: sampled again */
    expect_resampled(fx, 0, 0, 1, silent, -1);
    assert_true(fx->tally.rounds_done == 0 && fx->fed.current_version == 0); /* nothing closed */
    assert_true(m->phase == FCB_PHASE_OPEN && m->round == 0 && m->attempt == 1 && m->arrived == 0);
    expect_sample(fx, 0, 1, NULL, 0);
    /* Attempt 2: two clients silent; at the timeout the run fails. */
    int a = fx->fed.slots[0].client, b = fx->fed.slots[1].client;
    submit_ok(fx, fx->fed.slots[2].client, 0, 61.0);
    fcb_status st = fcb_machine_tick(m, 120.0);
    char missing[64];
    snprintf(missing, sizeof missing, "clients %d, %d", a, b);
    expect_error(st, FCB_ERR_STATE, -1, missing);
    expect_error(st, FCB_ERR_STATE, -1, "round 1:");
    expect_resampled(fx, 1, 0, 2, a, b);
    assert_int_equal(fx->num_closed, 0);
    destroy(fx);
}

static void test_quorum_half_closes_with_missing(void **state)
{
    (void)state;
    fcb_machine_config mc = machine_config();
    mc.quorum = 0.5;
    fixture *fx = make(&mc, NULL);
    register_all(fx, 0.0);
    tick(fx, 0.0);
    submit_ok(fx, fx->fed.slots[0].client, 0, 1.0);
    submit_ok(fx, fx->fed.slots[1].client, 0, 1.0);
    tick(fx, 30.0); /* a quorum, but the round waits for the rest until the timeout */
    assert_int_equal(fx->num_closed, 0);
    tick(fx, 60.0);
    expect_closed(fx, 0, 2, 1);
    assert_int_equal(fx->num_resampled, 0);
    assert_int_equal(fx->totals[0].sampled, PER_ROUND);
    assert_true(fx->tally.rounds_done == 1 && fx->m.round == 1 && fx->m.attempt == 0);
    expect_sample(fx, 1, 0, NULL, 0);
    /* One of three is below the quorum of 2: sampled again. */
    int silent1 = fx->fed.slots[1].client, silent2 = fx->fed.slots[2].client;
    submit_ok(fx, fx->fed.slots[0].client, 1, 61.0);
    tick(fx, 120.0);
    assert_int_equal(fx->num_closed, 1);
    expect_resampled(fx, 0, 1, 1, silent1, silent2);
    expect_sample(fx, 1, 1, NULL, 0);
    destroy(fx);
}

static void test_real_mode_samples_connected_clients(void **state)
{
    (void)state;
    fcb_machine_config mc = machine_config();
    mc.real = 1;
    mc.connected_window = 10.0;
    mc.min_clients = 2;
    fixture *fx = make(&mc, NULL);
    fcb_round_machine *m = &fx->m;
    fcb_machine_register(m, 4, 0.0); /* then silent */
    fcb_machine_register(m, 0, 20.0);
    tick(fx, 20.0); /* client 4 is gone: 1 connected of the 2 wanted */
    assert_int_equal(m->phase, FCB_PHASE_WAITING);
    fcb_machine_register(m, 1, 21.0);
    tick(fx, 21.0); /* 2 connected: a round of 2 */
    assert_int_equal(m->phase, FCB_PHASE_OPEN);
    assert_int_equal(fx->fed.num_slots, 2);
    expect_sample(fx, 0, 0, (const int[]){0, 1}, 2);
    fcb_machine_register(m, 3, 22.0);
    submit_ok(fx, 0, 0, 23.0);
    submit_ok(fx, 1, 0, 23.0);
    tick(fx, 23.0); /* round 2 among 0, 1 and 3 */
    assert_true(fx->num_closed == 1 && m->round == 1);
    expect_sample(fx, 1, 0, (const int[]){0, 1, 3}, 3);
    for (int s = 0; s < fx->fed.num_slots; s++)
        submit_ok(fx, fx->fed.slots[s].client, 1, 25.0);
    assert_int_equal(fcb_machine_poll(m, 4, 100.0, 25.0), FCB_ANSWER_HOLD);
    /* At 40 clients 0, 1 and 3 were silent for 15 s: only client 4, whose
     * request is held, is connected. */
    tick(fx, 40.0);
    assert_int_equal(fx->num_closed, 2);
    assert_true(m->round == 2 && m->phase == FCB_PHASE_WAITING);
    assert_int_equal(fcb_machine_poll(m, 0, 0.0, 41.0), FCB_ANSWER_WAIT);
    int mark = fx->num_answers;
    tick(fx, 41.0);
    assert_int_equal(m->phase, FCB_PHASE_OPEN);
    expect_sample(fx, 2, 0, (const int[]){0, 4}, 2); /* not 1 or 3 */
    expect_answer(fx, 4, mark, FCB_ANSWER_TASK);
    destroy(fx);
}

static void test_arrival_order_does_not_change_the_model(void **state)
{
    (void)state;
    fcb_machine_config mc = machine_config();
    fixture *a = make(&mc, "server.optimizer=adam");
    fixture *b = make(&mc, "server.optimizer=adam");
    fcb_federation *direct = &a->ref; /* the same rounds, filled by hand as in `fedcb simulate` */
    fcb_run_tally direct_tally;
    fcb_run_tally_init(&direct_tally);
    char initial[65], ha[65], hb[65], hd[65];
    assert_int_equal(fcb_federation_digest(&a->fed, initial), FCB_OK);
    register_all(a, 0.0);
    register_all(b, 0.0);
    tick(a, 0.0);
    tick(b, 0.0);
    for (int r = 0; r < ROUNDS; r++) {
        int n = a->fed.num_slots;
        assert_int_equal(b->fed.num_slots, n);
        for (int s = 0; s < n; s++) {
            submit_ok(a, a->fed.slots[s].client, r, 1.0 + r * 10 + s);
            submit_ok(b, b->fed.slots[n - 1 - s].client, r, 1.0 + r * 10 + s);
            tick(b, 1.0 + r * 10 + s); /* b also ticks between updates */
        }
        tick(a, 5.0 + r * 10);
        tick(b, 9.0 + r * 10);
        expect_closed(a, r, PER_ROUND, 0);
        expect_closed(b, r, PER_ROUND, 0);
        assert_int_equal(fcb_federation_sample(direct, r, 0), FCB_OK);
        for (int s = 0; s < direct->num_slots; s++) {
            fcb_slot *sl = &direct->slots[s];
            fill_delta(fcb_federation_slot_update(direct, s).delta, num_params(a), sl->client, r);
            sl->result = result_of(sl->client);
            sl->state = FCB_SLOT_DONE;
        }
        fcb_round_report report;
        assert_int_equal(fcb_round_close(direct, &direct_tally, &report), FCB_OK);
        assert_int_equal(fcb_federation_digest(&a->fed, ha) | fcb_federation_digest(&b->fed, hb) |
                             fcb_federation_digest(direct, hd),
                         FCB_OK);
        assert_string_equal(ha, hb);
        assert_string_equal(ha, hd);
        assert_memory_equal(&a->totals[r], &report.totals, sizeof report.totals);
    }
    assert_string_not_equal(ha, initial);
    assert_true(a->m.phase == FCB_PHASE_DONE && b->m.phase == FCB_PHASE_DONE);
    assert_true(a->tally.reward_total == b->tally.reward_total);
    assert_int_equal(a->tally.interactions, direct_tally.interactions);
    destroy(a);
    destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simulated_rounds_open_close_and_finish),
        cmocka_unit_test(test_held_poll_gets_wait_then_task),
        cmocka_unit_test(test_submit_errors),
        cmocka_unit_test(test_quorum_resamples_then_fails),
        cmocka_unit_test(test_quorum_half_closes_with_missing),
        cmocka_unit_test(test_real_mode_samples_connected_clients),
        cmocka_unit_test(test_arrival_order_does_not_change_the_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
