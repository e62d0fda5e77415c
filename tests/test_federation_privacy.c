/* DP-FedAvg, robust aggregation and malicious clients inside the federation's
 * rounds (coordinator/federation.c and its aggregation rules,
 * simulations/sim_client.c): the aggregate of
 * hand-made updates against the definitions, the noise's scale, the
 * accountant's epsilon against a direct computation, the adaptive clip norm
 * against its geometric rule, independence of the arrival order, the attack
 * applied to exactly the malicious clients, and bad configs rejected by name. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_round.h"
#include "config_file.h"
#include "defense_config.h"
#include "federation.h"
#include "run_plan.h"
#include "sim_client.h"
#include "sim_source.h"
#include "world.h"

enum { CLIENTS = 10, PER_ROUND = 4 };

typedef struct {
    fcb_config config;
    fcb_world world;
    fcb_federation fed;
    fcb_sim_client sim;
} fixture;

static size_t num_params(const fcb_federation *f)
{
    return f->config.model.model->num_params;
}

static float *slot_delta(fcb_federation *f, int s)
{
    return fcb_federation_slot_update(f, s).delta;
}

static const float *current(const fcb_federation *f)
{
    return f->gm->ops->current(f->gm).params;
}

static fcb_privacy_report privacy(const fcb_federation *f)
{
    fcb_privacy_report p;
    if (fcb_federation_privacy(f, &p) != FCB_OK)
        fail_msg("privacy: %s", fcb_last_error());
    return p;
}

static void assert_close(double got, double want, double tolerance)
{
    if (!(fabs(got - want) <= tolerance))
        fail_msg("got %.17g, want %.17g (tolerance %g)", got, want, tolerance);
}

static void set(fcb_config *c, const char *assignment)
{
    if (fcb_config_set(c, assignment) != FCB_OK)
        fail_msg("fcb_config_set(\"%s\"): %s", assignment, fcb_last_error());
}

/* Synthetic data, 10 clients, 4 per round, a linear model of
 * classes x (dim + 1) parameters. */
static void base_config(fcb_config *c, int dim, int classes)
{
    fcb_config_default(c);
    char assignment[64];
    set(c, "run.wall_clock=false");
    set(c, "data.synthetic_train=400");
    set(c, "data.synthetic_test=100");
    snprintf(assignment, sizeof assignment, "data.synthetic_dim=%d", dim);
    set(c, assignment);
    snprintf(assignment, sizeof assignment, "data.synthetic_classes=%d", classes);
    set(c, assignment);
    set(c, "clients.num_clients=10");
    set(c, "clients.clients_per_round=4");
    set(c, "clients.examples_per_round=20");
}

static void build(fixture *fx)
{
    if (fcb_config_validate(&fx->config) != FCB_OK)
        fail_msg("config: %s", fcb_last_error());
    if (fcb_world_build(&fx->world, &fx->config) != FCB_OK)
        fail_msg("world: %s", fcb_last_error());
    fcb_federation_config fc;
    if (fcb_plan_federation(&fx->config, &fx->world.model, fx->world.initial_params, &fc) != FCB_OK ||
        fcb_federation_init(&fx->fed, &fc, NULL) != FCB_OK)
        fail_msg("federation: %s", fcb_last_error());
    fcb_malicious_config attack;
    if (fcb_malicious_from_config(&fx->config, &attack) != FCB_OK ||
        fcb_sim_client_init(&fx->sim, &fx->config, &attack, fx->world.model.num_params) != FCB_OK)
        fail_msg("simulated clients: %s", fcb_last_error());
}

static void destroy(fixture *fx)
{
    fcb_sim_client_free(&fx->sim);
    fcb_federation_free(&fx->fed);
    fcb_world_free(&fx->world);
}

/* Slot s's update: value(client, k) at coordinate k, examples 10 + s. */
typedef float (*delta_fn)(int client, size_t k);

static void fill_round(fcb_federation *f, int round, delta_fn value)
{
    if (fcb_federation_sample(f, round, 0) != FCB_OK)
        fail_msg("sample: %s", fcb_last_error());
    for (int s = 0; s < f->num_slots; s++) {
        fcb_slot *sl = &f->slots[s];
        sl->state = FCB_SLOT_DONE;
        sl->result.examples = 10 + s;
        float *delta = slot_delta(f, s);
        for (size_t k = 0; k < num_params(f); k++)
            delta[k] = value(sl->client, k);
    }
}

static void aggregate(fcb_federation *f, fcb_round_totals *t)
{
    if (fcb_federation_aggregate(f, t) != FCB_OK)
        fail_msg("aggregate: %s", fcb_last_error());
}

/* current - initial, in double. */
static void applied_update(const fixture *fx, double *out)
{
    for (size_t k = 0; k < num_params(&fx->fed); k++)
        out[k] = (double)current(&fx->fed)[k] - fx->world.initial_params[k];
}

static double norm(const float *v, size_t n)
{
    double s = 0.0;
    for (size_t k = 0; k < n; k++)
        s += (double)v[k] * v[k];
    return sqrt(s);
}

/* Client c's update: 0.45 (c + 1) times the unit vector (0.6, 0.8, 0, ...),
 * so clients 0 and 1 are inside C = 1 and the others outside. */
static float growing_delta(int client, size_t k)
{
    double length = 0.45 * (client + 1);
    return (float)(k == 0 ? 0.6 * length : k == 1 ? 0.8 * length : 0.0);
}

static float zero_delta(int client, size_t k)
{
    (void)client;
    (void)k;
    return 0.0f;
}

/* A different value per client and coordinate, so that medians and trims
 * pick different rows at different coordinates. */
static float mixed_delta(int client, size_t k)
{
    return (float)sin(1.7 * client + 0.37 * (double)k) * (1.0f + (float)(client % 3));
}

static void test_dp_clips_each_update_and_divides_by_the_expected_count(void **state)
{
    (void)state;
    fixture fx;
    base_config(&fx.config, 2, 2); /* 6 parameters */
    set(&fx.config, "dp.enabled=true");
    set(&fx.config, "dp.noise_multiplier=0");
    set(&fx.config, "dp.clip_norm=1");
    build(&fx);
    fcb_federation *f = &fx.fed;
    fill_round(f, 0, growing_delta);
    f->slots[2].state = FCB_SLOT_UNAVAILABLE; /* three updates, four expected */
    fcb_round_totals t;
    aggregate(f, &t);
    double expected[6] = {0};
    int clipped = 0;
    for (int s = 0; s < f->num_slots; s++) {
        if (s == 2)
            continue;
        float row[6];
        for (size_t k = 0; k < 6; k++)
            row[k] = growing_delta(f->slots[s].client, k);
        double n = norm(row, 6), scale = n > 1.0 ? 1.0 / n : 1.0;
        clipped += n > 1.0;
        for (size_t k = 0; k < 6; k++)
            expected[k] += row[k] * scale / PER_ROUND;
    }
    double got[6];
    applied_update(&fx, got);
    for (size_t k = 0; k < 6; k++)
        assert_close(got[k], expected[k], 1e-6);
    assert_int_equal(t.updates, 3);
    assert_int_equal(t.clipped, clipped);
    assert_true(clipped >= 1);
    assert_close(t.clip_norm, 1.0, 0.0);
    destroy(&fx);
}

static void test_dp_noise_has_standard_deviation_z_c_over_clients(void **state)
{
    (void)state;
    fixture fx;
    base_config(&fx.config, 50, 10); /* 510 parameters */
    set(&fx.config, "dp.enabled=true");
    set(&fx.config, "dp.noise_multiplier=2");
    set(&fx.config, "dp.clip_norm=0.5");
    build(&fx);
    fcb_federation *f = &fx.fed;
    size_t p = num_params(f);
    double sum = 0.0, sum2 = 0.0;
    long n = 0;
    float *before = malloc(p * sizeof(float));
    for (int round = 0; round < 4; round++) {
        memcpy(before, current(f), p * sizeof(float));
        fill_round(f, round, zero_delta);
        fcb_round_totals t;
        aggregate(f, &t);
        for (size_t k = 0; k < p; k++) {
            double d = (double)current(f)[k] - before[k];
            sum += d;
            sum2 += d * d;
            n++;
        }
    }
    free(before);
    double sd = 2.0 * 0.5 / PER_ROUND; /* z C / clients_per_round */
    double mean = sum / n;
    double sample_sd = sqrt(sum2 / n - mean * mean);
    /* 2040 draws: the sample sd is within 10 % of sd far beyond 4 sigma
     * (its relative error is about 1.6 %), the mean within 4 sd / sqrt(n). */
    assert_true(fabs(sample_sd / sd - 1.0) < 0.1);
    assert_true(fabs(mean) < 4.0 * sd / sqrt((double)n));
    destroy(&fx);
}

/* A federation whose round-0 slots arrive in reverse client-id order, as
 * they may over the network. */
static void reverse_slots(fcb_federation *f)
{
    size_t p = num_params(f);
    float *tmp = malloc(p * sizeof(float));
    for (int a = 0, b = f->num_slots - 1; a < b; a++, b--) {
        fcb_slot slot = f->slots[a];
        f->slots[a] = f->slots[b];
        f->slots[b] = slot;
        memcpy(tmp, slot_delta(f, a), p * sizeof(float));
        memcpy(slot_delta(f, a), slot_delta(f, b), p * sizeof(float));
        memcpy(slot_delta(f, b), tmp, p * sizeof(float));
    }
    free(tmp);
}

/* Clients 0 and 2 send +-10^12 g, clients 1 and 3 small values: the sum in
 * double keeps different low bits of the small ones in a different order
 * ((B + a) - B + b against (b - B) + a + B), so only a fixed (client-id)
 * order gives fixed bytes. */
static float wide_delta(int client, size_t k)
{
    float big = 1e12f * (float)(1.0 + 0.1 * (double)k);
    if (client == 0)
        return big;
    if (client == 2)
        return -big;
    return mixed_delta(client, k);
}

/* fill_round, then clients 0..3 in the slots instead of the sample. */
static void fill_fixed_round(fcb_federation *f, int round, delta_fn value)
{
    fill_round(f, round, value);
    for (int s = 0; s < f->num_slots; s++) {
        f->slots[s].client = s;
        float *delta = slot_delta(f, s);
        for (size_t k = 0; k < num_params(f); k++)
            delta[k] = value(s, k);
    }
}

static void check_order_independence(const char *const *assignments, int count, delta_fn value)
{
    fixture in_order, reversed;
    base_config(&in_order.config, 8, 4);
    for (int i = 0; i < count; i++)
        set(&in_order.config, assignments[i]);
    reversed.config = in_order.config;
    build(&in_order);
    build(&reversed);
    fcb_round_totals t;
    for (int round = 0; round < 3; round++) {
        fill_fixed_round(&in_order.fed, round, value);
        fill_fixed_round(&reversed.fed, round, value);
        reverse_slots(&reversed.fed);
        aggregate(&in_order.fed, &t);
        aggregate(&reversed.fed, &t);
    }
    size_t bytes = num_params(&in_order.fed) * sizeof(float);
    if (memcmp(current(&in_order.fed), current(&reversed.fed), bytes) != 0)
        fail_msg("%s: the model depends on the order the updates arrived in", assignments[0]);
    assert_memory_not_equal(current(&in_order.fed), in_order.world.initial_params, bytes);
    destroy(&in_order);
    destroy(&reversed);
}

static void test_aggregation_does_not_depend_on_arrival_order(void **state)
{
    (void)state;
    const char *dp[] = {"dp.enabled=true", "dp.noise_multiplier=1", "dp.clip_norm=2"};
    const char *adaptive[] = {"dp.enabled=true", "dp.adaptive=true", "dp.clipped_count_stddev=1", "dp.clip_norm=0.5"};
    const char *median[] = {"aggregation.kind=median"};
    const char *trimmed[] = {"aggregation.kind=trimmed_mean", "aggregation.trim_fraction=0.25"};
    const char *bounded[] = {"aggregation.kind=norm_bound", "aggregation.max_norm=1.5"};
    const char *dp_wide[] = {"dp.enabled=true", "dp.noise_multiplier=0", "dp.clip_norm=1e30"};
    const char *bounded_wide[] = {"aggregation.kind=norm_bound", "aggregation.max_norm=1e30"};
    check_order_independence(dp, 3, mixed_delta);
    check_order_independence(adaptive, 4, mixed_delta);
    check_order_independence(median, 1, mixed_delta);
    check_order_independence(trimmed, 2, mixed_delta);
    check_order_independence(bounded, 2, mixed_delta);
    check_order_independence(dp_wide, 3, wide_delta);
    check_order_independence(bounded_wide, 2, wide_delta);
}

static void check_robust_rule(const char *kind, const char *parameter, fcb_robust_kind rule_kind)
{
    fixture fx;
    base_config(&fx.config, 8, 4);
    set(&fx.config, kind);
    if (parameter)
        set(&fx.config, parameter);
    build(&fx);
    fcb_federation *f = &fx.fed;
    size_t p = num_params(f);
    fill_round(f, 0, mixed_delta);
    fcb_round_totals t;
    aggregate(f, &t);
    /* The same rule on the rows in client-id order (the slots are). */
    float *rows = malloc((size_t)PER_ROUND * p * sizeof(float));
    float *out = malloc(p * sizeof(float));
    size_t scratch_size = fcb_robust_scratch_size(PER_ROUND, p);
    double *scratch = malloc(scratch_size * sizeof(double));
    for (int s = 0; s < PER_ROUND; s++)
        memcpy(rows + (size_t)s * p, slot_delta(f, s), p * sizeof(float));
    const fcb_robust_config *rule = &f->config.model.aggregation.robust;
    assert_int_equal(f->gm->rule->kind, FCB_RULE_ROBUST);
    assert_int_equal(rule->kind, rule_kind);
    assert_int_equal(fcb_robust_aggregate(rule, rows, PER_ROUND, p, scratch, scratch_size, out), FCB_OK);
    double *got = malloc(p * sizeof(double));
    applied_update(&fx, got);
    for (size_t k = 0; k < p; k++)
        assert_close(got[k], out[k], 1e-6);
    free(rows);
    free(out);
    free(scratch);
    free(got);
    destroy(&fx);
}

static void test_robust_rules_replace_the_weighted_mean(void **state)
{
    (void)state;
    check_robust_rule("aggregation.kind=median", NULL, FCB_ROBUST_MEDIAN);
    check_robust_rule("aggregation.kind=trimmed_mean", "aggregation.trim_fraction=0.25", FCB_ROBUST_TRIMMED_MEAN);
    check_robust_rule("aggregation.kind=norm_bound", "aggregation.max_norm=0.7", FCB_ROBUST_NORM_BOUND);
}

/* The default (no [aggregation] section) is FedAvg weighted by examples. */
static void test_default_is_weighted_fedavg(void **state)
{
    (void)state;
    fixture fx;
    base_config(&fx.config, 8, 4);
    build(&fx);
    fcb_federation *f = &fx.fed;
    size_t p = num_params(f);
    fill_round(f, 0, mixed_delta);
    fcb_round_totals t;
    aggregate(f, &t);
    double *got = malloc(p * sizeof(double));
    applied_update(&fx, got);
    for (size_t k = 0; k < p; k++) {
        double sum = 0.0, weight = 0.0;
        for (int s = 0; s < PER_ROUND; s++) {
            sum += (10.0 + s) * mixed_delta(f->slots[s].client, k);
            weight += 10.0 + s;
        }
        assert_close(got[k], sum / weight, 1e-6);
    }
    assert_int_equal(f->gm->rule->kind, FCB_RULE_MEAN);
    assert_null(fx.sim.is_malicious);
    free(got);
    destroy(&fx);
}

static void test_accountant_charges_one_step_per_aggregated_round(void **state)
{
    (void)state;
    fixture fx;
    base_config(&fx.config, 2, 2);
    set(&fx.config, "dp.enabled=true");
    set(&fx.config, "dp.noise_multiplier=1.1");
    build(&fx);
    fcb_federation *f = &fx.fed;
    /* dp.delta = 0: 1 / num_clients^1.1 */
    assert_close(privacy(f).delta, pow(10.0, -1.1), 1e-15);
    assert_close(privacy(f).sampling_rate, 0.4, 0.0);
    double previous = 0.0;
    fcb_round_totals t;
    for (int round = 0; round < 6; round++) {
        fill_round(f, round, growing_delta);
        if (round == 3) /* nobody answers: nothing is released, nothing is charged */
            for (int s = 0; s < f->num_slots; s++)
                f->slots[s].state = FCB_SLOT_UNAVAILABLE;
        aggregate(f, &t);
        double epsilon = privacy(f).epsilon;
        if (round == 3)
            assert_close(epsilon, previous, 0.0);
        else
            assert_true(epsilon > previous);
        previous = epsilon;
    }
    assert_int_equal(privacy(f).steps, 5);
    double orders[FCB_DP_NUM_ORDERS], rdp[FCB_DP_NUM_ORDERS], expected, expected_order, best_order, epsilon;
    fcb_dp_default_orders(orders);
    assert_int_equal(fcb_dp_compute_rdp(0.4, 1.1, 5, orders, FCB_DP_NUM_ORDERS, rdp), FCB_OK);
    assert_int_equal(fcb_dp_epsilon(orders, rdp, FCB_DP_NUM_ORDERS, pow(10.0, -1.1), FCB_DP_CONVERSION_TIGHT,
                                    &expected, &expected_order),
                     FCB_OK);
    epsilon = privacy(f).epsilon;
    best_order = privacy(f).best_order;
    assert_close(epsilon, expected, 1e-12 * expected);
    assert_close(best_order, expected_order, 0.0);
    destroy(&fx);
}

/* Client c's update has norm 0.25 (c + 1): clients 0..3 are at or below
 * C = 1, the others above. */
static float norm_by_client(int client, size_t k)
{
    return k == 0 ? 0.25f * (float)(client + 1) : 0.0f;
}

static void test_adaptive_clip_norm_moves_geometrically(void **state)
{
    (void)state;
    fixture fx;
    base_config(&fx.config, 2, 2);
    set(&fx.config, "dp.enabled=true");
    set(&fx.config, "dp.noise_multiplier=0");
    set(&fx.config, "dp.adaptive=true");
    set(&fx.config, "dp.clip_norm=1");
    set(&fx.config, "dp.target_quantile=0.5");
    set(&fx.config, "dp.clip_learning_rate=0.2");
    build(&fx);
    fcb_federation *f = &fx.fed;
    double c = 1.0;
    fcb_round_totals t;
    for (int round = 0; round < 5; round++) {
        fill_round(f, round, norm_by_client);
        int unclipped = 0;
        for (int s = 0; s < f->num_slots; s++)
            unclipped += 0.25 * (f->slots[s].client + 1) <= c;
        aggregate(f, &t);
        assert_close(t.clip_norm, c, 1e-12);
        assert_int_equal(t.clipped, PER_ROUND - unclipped);
        c *= exp(-0.2 * ((double)unclipped / PER_ROUND - 0.5));
        assert_close(privacy(f).clip_norm, c, 1e-12);
    }
    destroy(&fx);

    /* With the count released too, the sum's noise multiplier is
     * (z^-2 - (2 sigma_b)^-2)^(-1/2): z = 1, sigma_b = 1 gives 2 / sqrt(3). */
    base_config(&fx.config, 2, 2);
    set(&fx.config, "dp.enabled=true");
    set(&fx.config, "dp.adaptive=true");
    set(&fx.config, "dp.clipped_count_stddev=1");
    build(&fx);
    assert_close(privacy(&fx.fed).sum_noise_multiplier, 2.0 / sqrt(3.0), 1e-12);
    destroy(&fx);
}

/* Runs client `client`'s round 0 under the fixture's config into delta,
 * with the simulated clients' hooks (the attack among them). */
static void client_delta(fixture *fx, int client, float *delta)
{
    fcb_client_setup setup;
    fcb_client_worker w;
    fcb_sim_source source;
    if (fcb_plan_client_setup(&fx->config, &fx->world.model, &setup) != FCB_OK ||
        fcb_client_worker_init(&w, &setup, NULL, fx->config.examples_per_round) != FCB_OK ||
        fcb_sim_source_init(&source, &fx->world, &fx->config) != FCB_OK)
        fail_msg("worker: %s", fcb_last_error());
    fcb_round_models models = {current(&fx->fed), current(&fx->fed), fx->world.initial_params, NULL, 0};
    fcb_update_buffer update = {delta, NULL};
    fcb_data_source data = fcb_sim_source_as_data_source(&source);
    fcb_client_hooks hooks = fcb_sim_client_hooks(&fx->sim);
    fcb_client_result result;
    int no_data = 0, drop = 0;
    double delay = 0.0;
    if (fcb_client_round_run(&setup, NULL, &w, &models, &data, client, 0, &update, &result, &no_data) != FCB_OK ||
        no_data || hooks.after_update(hooks.context, client, 0, &update, &drop, &delay) != FCB_OK)
        fail_msg("client %d: %s", client, fcb_last_error());
    fcb_sim_source_free(&source);
    fcb_client_worker_free(&w);
}

static void test_attack_replaces_the_deltas_of_malicious_clients_only(void **state)
{
    (void)state;
    fixture honest, attacked;
    base_config(&honest.config, 8, 4);
    attacked.config = honest.config;
    set(&attacked.config, "malicious.kind=sign_flip");
    set(&attacked.config, "malicious.fraction=0.3");
    set(&attacked.config, "malicious.scale=3");
    build(&honest);
    build(&attacked);
    assert_non_null(attacked.sim.is_malicious);
    assert_null(honest.sim.is_malicious);
    size_t p = num_params(&honest.fed);
    float *a = malloc(p * sizeof(float));
    float *b = malloc(p * sizeof(float));
    int malicious = 0;
    for (int client = 0; client < CLIENTS; client++) {
        client_delta(&honest, client, a);
        client_delta(&attacked, client, b);
        assert_true(norm(a, p) > 0.0);
        if (!fcb_sim_client_is_malicious(&attacked.sim, client)) {
            assert_memory_equal(a, b, p * sizeof(float));
            continue;
        }
        malicious++;
        for (size_t k = 0; k < p; k++)
            assert_true(b[k] == (float)(a[k] * -3.0));
    }
    assert_int_equal(malicious, 3); /* round(0.3 x 10) */
    /* Every delivered update is merged, the malicious ones too (the rule,
     * not the coordinator's knowledge, has to resist them). */
    fill_round(&attacked.fed, 0, zero_delta);
    fcb_round_totals t;
    aggregate(&attacked.fed, &t);
    for (int s = 0; s < PER_ROUND; s++)
        assert_true(attacked.fed.slots[s].aggregated);
    free(a);
    free(b);
    destroy(&honest);
    destroy(&attacked);
}

static void expect_rejected(const char *const *assignments, int count, const char *expected)
{
    fcb_config c;
    base_config(&c, 2, 2);
    for (int i = 0; i < count; i++)
        set(&c, assignments[i]);
    assert_int_equal(fcb_config_validate(&c), FCB_ERR_CONFIG);
    if (strstr(fcb_last_error(), expected) == NULL)
        fail_msg("message '%s' does not contain '%s'", fcb_last_error(), expected);
}

static void test_bad_configs_are_rejected_by_name(void **state)
{
    (void)state;
    const char *z[] = {"dp.noise_multiplier=-1"};
    expect_rejected(z, 1, "dp.noise_multiplier = -1: must be >= 0");
    const char *z_on[] = {"dp.enabled=true", "dp.noise_multiplier=-0.5"};
    expect_rejected(z_on, 2, "dp.noise_multiplier = -0.5");
    const char *clip[] = {"dp.clip_norm=0"};
    expect_rejected(clip, 1, "dp.clip_norm = 0: must be > 0");
    const char *clip_negative[] = {"dp.enabled=true", "dp.clip_norm=-2"};
    expect_rejected(clip_negative, 2, "dp.clip_norm = -2");
    const char *quantile[] = {"dp.target_quantile=1.5"};
    expect_rejected(quantile, 1, "dp.target_quantile");
    const char *delta[] = {"dp.delta=1"};
    expect_rejected(delta, 1, "dp.delta = 1");
    const char *count[] = {"dp.enabled=true", "dp.adaptive=true", "dp.noise_multiplier=1"};
    expect_rejected(count, 3, "dp.clipped_count_stddev = 0");
    const char *trim[] = {"aggregation.kind=trimmed_mean", "aggregation.trim_fraction=0.5"};
    expect_rejected(trim, 2, "aggregation.trim_fraction = 0.5: must be in [0, 0.5)");
    const char *max_norm[] = {"aggregation.max_norm=0"};
    expect_rejected(max_norm, 1, "aggregation.max_norm = 0");
    const char *kind[] = {"aggregation.kind=krum"};
    expect_rejected(kind, 1, "aggregation.kind: unknown aggregation 'krum'");
    const char *attack[] = {"malicious.kind=backdoor"};
    expect_rejected(attack, 1, "malicious.kind");
    const char *fraction[] = {"malicious.fraction=1.5"};
    expect_rejected(fraction, 1, "malicious.fraction = 1.5");
    const char *dp_linucb[] = {"dp.enabled=true", "policy.kind=linucb"};
    expect_rejected(dp_linucb, 2, "dp.noise_multiplier");
    const char *median_thompson[] = {"aggregation.kind=median", "policy.kind=thompson"};
    expect_rejected(median_thompson, 2, "aggregation.kind = median");
    const char *attack_linucb[] = {"malicious.kind=sign_flip", "policy.kind=linucb"};
    expect_rejected(attack_linucb, 2, "malicious.kind = sign_flip");
    const char *dp_median[] = {"dp.enabled=true", "aggregation.kind=median"};
    expect_rejected(dp_median, 2, "aggregation.kind = median");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dp_clips_each_update_and_divides_by_the_expected_count),
        cmocka_unit_test(test_dp_noise_has_standard_deviation_z_c_over_clients),
        cmocka_unit_test(test_aggregation_does_not_depend_on_arrival_order),
        cmocka_unit_test(test_robust_rules_replace_the_weighted_mean),
        cmocka_unit_test(test_default_is_weighted_fedavg),
        cmocka_unit_test(test_accountant_charges_one_step_per_aggregated_round),
        cmocka_unit_test(test_adaptive_clip_norm_moves_geometrically),
        cmocka_unit_test(test_attack_replaces_the_deltas_of_malicious_clients_only),
        cmocka_unit_test(test_bad_configs_are_rejected_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
