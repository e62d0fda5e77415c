#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

enum { K = 5 };

/* Fixed scores with a unique argmax at index 1 and moderate gaps. */
static const float SCORES[K] = {0.10f, 0.30f, 0.25f, 0.00f, 0.28f};

/* 0.999 quantiles of the chi-square distribution, index = degrees of freedom. */
static const double CHI2_999[] = {0.0, 10.828, 13.816, 16.266, 18.467, 20.515};

static void clear_error(void)
{
    fcb_fail(FCB_OK, "%s", "");
}

static void assert_failed_with_message(fcb_status status)
{
    assert_int_not_equal(status, FCB_OK);
    assert_true(strlen(fcb_last_error()) > 0);
}

static fcb_policy_config config_of(fcb_policy_kind kind)
{
    fcb_policy_config config;
    fcb_policy_config_default(&config, kind);
    return config;
}

static void assert_sums_to_one(const float *probs, int k)
{
    double total = 0.0;
    for (int a = 0; a < k; a++) {
        assert_true(probs[a] >= 0.0f && probs[a] <= 1.0f);
        total += probs[a];
    }
    assert_true(fabs(total - 1.0) < 1e-6);
}

static void assert_probs_near(const float *probs, const double *expected, int k)
{
    for (int a = 0; a < k; a++)
        assert_true(fabs(probs[a] - expected[a]) < 1e-6);
}

static void test_names(void **state)
{
    (void)state;
    const struct {
        const char *name;
        fcb_policy_kind kind;
    } cases[] = {
        {"greedy", FCB_POLICY_GREEDY},     {"epsilon_greedy", FCB_POLICY_EPSILON_GREEDY},
        {"egreedy", FCB_POLICY_EPSILON_GREEDY}, {"softmax", FCB_POLICY_SOFTMAX},
        {"igw", FCB_POLICY_IGW},           {"uniform", FCB_POLICY_UNIFORM},
        {"linucb", FCB_POLICY_LINUCB},     {"thompson", FCB_POLICY_THOMPSON},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fcb_policy_kind kind = FCB_POLICY_UNIFORM;
        assert_int_equal(fcb_policy_kind_from_name(cases[i].name, &kind), FCB_OK);
        assert_int_equal(kind, cases[i].kind);
        /* The canonical name parses back to the same kind. */
        fcb_policy_kind again = FCB_POLICY_UNIFORM;
        assert_int_equal(fcb_policy_kind_from_name(fcb_policy_kind_name(kind), &again), FCB_OK);
        assert_int_equal(again, kind);
        assert_int_equal(fcb_policy_is_linear(kind),
                         kind == FCB_POLICY_LINUCB || kind == FCB_POLICY_THOMPSON);
    }
    assert_string_equal(fcb_policy_kind_name(FCB_POLICY_EPSILON_GREEDY), "epsilon_greedy");

    clear_error();
    fcb_policy_kind kind;
    assert_int_equal(fcb_policy_kind_from_name("sofmax", &kind), FCB_ERR_CONFIG);
    assert_non_null(strstr(fcb_last_error(), "sofmax"));
    assert_non_null(strstr(fcb_last_error(), "softmax"));
    assert_non_null(strstr(fcb_last_error(), "thompson"));
    clear_error();
    assert_failed_with_message(fcb_policy_kind_from_name(NULL, &kind));
}

static void test_defaults_and_validation(void **state)
{
    (void)state;
    fcb_policy_config config = config_of(FCB_POLICY_IGW);
    assert_int_equal(config.kind, FCB_POLICY_IGW);
    assert_true(config.epsilon == 0.2f);
    assert_true(config.temperature == 0.05f);
    assert_true(config.igw_mu <= 0.0f); /* means K */
    assert_true(config.igw_gamma == 100.0f);
    assert_true(config.ucb_alpha == 1.0f);
    assert_true(config.ts_scale == 0.1f);
    assert_true(config.ridge_lambda == 1.0f);
    assert_int_equal(config.diagonal, 0);
    assert_int_equal(config.propensity_samples, 64);
    for (int kind = FCB_POLICY_GREEDY; kind <= FCB_POLICY_THOMPSON; kind++) {
        config = config_of((fcb_policy_kind)kind);
        assert_int_equal(fcb_policy_config_validate(&config), FCB_OK);
    }

    struct {
        fcb_policy_kind kind;
        const char *field;
        float value;
    } bad[] = {
        {FCB_POLICY_SOFTMAX, "temperature", -0.1f},
        {FCB_POLICY_SOFTMAX, "temperature", 0.0f},
        {FCB_POLICY_SOFTMAX, "temperature", NAN},
        {FCB_POLICY_EPSILON_GREEDY, "epsilon", 1.5f},
        {FCB_POLICY_EPSILON_GREEDY, "epsilon", -0.1f},
        {FCB_POLICY_IGW, "igw_gamma", -1.0f},
        {FCB_POLICY_IGW, "igw_mu", INFINITY},
        {FCB_POLICY_LINUCB, "ridge_lambda", 0.0f},
        {FCB_POLICY_LINUCB, "ucb_alpha", -1.0f},
        {FCB_POLICY_THOMPSON, "ts_scale", 0.0f},
        {FCB_POLICY_THOMPSON, "ridge_lambda", -1.0f},
        {FCB_POLICY_GREEDY, "epsilon", NAN}, /* non-finite is rejected for every kind */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        config = config_of(bad[i].kind);
        if (strcmp(bad[i].field, "temperature") == 0)
            config.temperature = bad[i].value;
        else if (strcmp(bad[i].field, "epsilon") == 0)
            config.epsilon = bad[i].value;
        else if (strcmp(bad[i].field, "igw_gamma") == 0)
            config.igw_gamma = bad[i].value;
        else if (strcmp(bad[i].field, "igw_mu") == 0)
            config.igw_mu = bad[i].value;
        else if (strcmp(bad[i].field, "ridge_lambda") == 0)
            config.ridge_lambda = bad[i].value;
        else if (strcmp(bad[i].field, "ucb_alpha") == 0)
            config.ucb_alpha = bad[i].value;
        else if (strcmp(bad[i].field, "ts_scale") == 0)
            config.ts_scale = bad[i].value;
        clear_error();
        fcb_status status = fcb_policy_config_validate(&config);
        assert_int_equal(status, FCB_ERR_CONFIG);
        assert_non_null(strstr(fcb_last_error(), bad[i].field));
    }
    config = config_of(FCB_POLICY_THOMPSON);
    config.propensity_samples = 0;
    assert_failed_with_message(fcb_policy_config_validate(&config));
    config = config_of(FCB_POLICY_SOFTMAX);
    config.kind = (fcb_policy_kind)42;
    assert_failed_with_message(fcb_policy_config_validate(&config));
}

static void test_closed_forms(void **state)
{
    (void)state;
    float probs[K];
    double expected[K];

    fcb_policy_config config = config_of(FCB_POLICY_GREEDY);
    assert_int_equal(fcb_policy_probs(&config, SCORES, K, probs), FCB_OK);
    for (int a = 0; a < K; a++)
        expected[a] = a == 1 ? 1.0 : 0.0;
    assert_probs_near(probs, expected, K);

    config = config_of(FCB_POLICY_EPSILON_GREEDY);
    config.epsilon = 0.2f;
    assert_int_equal(fcb_policy_probs(&config, SCORES, K, probs), FCB_OK);
    assert_sums_to_one(probs, K);
    for (int a = 0; a < K; a++)
        expected[a] = a == 1 ? 0.84 : 0.04;
    assert_probs_near(probs, expected, K);

    config = config_of(FCB_POLICY_SOFTMAX);
    config.temperature = 0.1f;
    assert_int_equal(fcb_policy_probs(&config, SCORES, K, probs), FCB_OK);
    assert_sums_to_one(probs, K);
    double total = 0.0;
    for (int a = 0; a < K; a++)
        total += exp((double)SCORES[a] / 0.1);
    for (int a = 0; a < K; a++)
        expected[a] = exp((double)SCORES[a] / 0.1) / total;
    assert_probs_near(probs, expected, K);

    config = config_of(FCB_POLICY_UNIFORM);
    assert_int_equal(fcb_policy_probs(&config, SCORES, K, probs), FCB_OK);
    for (int a = 0; a < K; a++)
        expected[a] = 0.2;
    assert_probs_near(probs, expected, K);
}

static void test_igw_closed_forms(void **state)
{
    (void)state;
    float probs[K];
    double expected[K];

    /* Not rescaled: mu = K (igw_mu <= 0), gamma = 10; the others sum below 1. */
    fcb_policy_config config = config_of(FCB_POLICY_IGW);
    config.igw_mu = 0.0f;
    config.igw_gamma = 10.0f;
    assert_int_equal(fcb_policy_probs(&config, SCORES, K, probs), FCB_OK);
    assert_sums_to_one(probs, K);
    double others = 0.0;
    for (int a = 0; a < K; a++) {
        if (a == 1)
            continue;
        expected[a] = 1.0 / (5.0 + 10.0 * ((double)SCORES[1] - SCORES[a]));
        others += expected[a];
    }
    assert_true(others < 1.0);
    expected[1] = 1.0 - others;
    assert_probs_near(probs, expected, K);

    /* Rescaled: gamma = 0, mu = 2 gives 0.5 to each of 4 others (sum 2):
     * rescaled to 0.25 each and the greedy action gets 0. */
    config.igw_mu = 2.0f;
    config.igw_gamma = 0.0f;
    assert_int_equal(fcb_policy_probs(&config, SCORES, K, probs), FCB_OK);
    assert_sums_to_one(probs, K);
    for (int a = 0; a < K; a++)
        expected[a] = a == 1 ? 0.0 : 0.25;
    assert_probs_near(probs, expected, K);
    assert_true(probs[1] == 0.0f);

    /* Rescaled with distinct gaps: mu = 1, gamma = 1. */
    config.igw_mu = 1.0f;
    config.igw_gamma = 1.0f;
    assert_int_equal(fcb_policy_probs(&config, SCORES, K, probs), FCB_OK);
    assert_sums_to_one(probs, K);
    others = 0.0;
    double raw[K];
    for (int a = 0; a < K; a++) {
        raw[a] = a == 1 ? 0.0 : 1.0 / (1.0 + ((double)SCORES[1] - SCORES[a]));
        others += raw[a];
    }
    assert_true(others > 1.0);
    for (int a = 0; a < K; a++)
        expected[a] = raw[a] / others;
    assert_probs_near(probs, expected, K);

    /* K = 1: the only action gets everything. */
    config = config_of(FCB_POLICY_IGW);
    float one = 0.7f;
    assert_int_equal(fcb_policy_probs(&config, &one, 1, probs), FCB_OK);
    assert_true(fabs(probs[0] - 1.0f) < 1e-7);
}

static void test_ties_and_extremes(void **state)
{
    (void)state;
    const float tied[4] = {1.0f, 3.0f, 3.0f, 2.0f};
    float probs[4];
    fcb_policy_config config = config_of(FCB_POLICY_GREEDY);
    assert_int_equal(fcb_policy_probs(&config, tied, 4, probs), FCB_OK);
    assert_true(probs[1] == 1.0f && probs[2] == 0.0f);

    config = config_of(FCB_POLICY_EPSILON_GREEDY);
    config.epsilon = 0.4f;
    assert_int_equal(fcb_policy_probs(&config, tied, 4, probs), FCB_OK);
    assert_true(fabs(probs[1] - 0.7) < 1e-6 && fabs(probs[2] - 0.1) < 1e-6);

    /* IGW: the tied runner-up has gap 0 and gets 1/mu. */
    config = config_of(FCB_POLICY_IGW);
    assert_int_equal(fcb_policy_probs(&config, tied, 4, probs), FCB_OK);
    assert_sums_to_one(probs, 4);
    assert_true(fabs(probs[2] - 0.25) < 1e-6);
    assert_true(fabs(probs[0] - 1.0 / (4.0 + 200.0)) < 1e-6);
    assert_true(fabs(probs[3] - 1.0 / (4.0 + 100.0)) < 1e-6);

    /* Softmax stays finite on huge score gaps. */
    const float extreme[3] = {1000.0f, -1000.0f, 999.99f};
    config = config_of(FCB_POLICY_SOFTMAX);
    assert_int_equal(fcb_policy_probs(&config, extreme, 3, probs), FCB_OK);
    assert_sums_to_one(probs, 3);
    assert_true(probs[1] == 0.0f);
    double gap = ((double)extreme[0] - extreme[2]) / config.temperature;
    assert_true(fabs(probs[0] - 1.0 / (1.0 + exp(-gap))) < 1e-6);
}

static void test_linear_kinds_rejected(void **state)
{
    (void)state;
    float probs[K], props[K];
    int actions[K];
    fcb_rng rng;
    fcb_rng_init(&rng, 1, FCB_STREAM_TEST, 0, 0);
    for (int kind = FCB_POLICY_LINUCB; kind <= FCB_POLICY_THOMPSON; kind++) {
        fcb_policy_config config = config_of((fcb_policy_kind)kind);
        clear_error();
        assert_int_equal(fcb_policy_probs(&config, SCORES, K, probs), FCB_ERR_ARG);
        assert_non_null(strstr(fcb_last_error(), "linear_bandit.h"));
        clear_error();
        assert_int_equal(fcb_policy_act(&config, SCORES, 1, K, &rng, probs, actions, props),
                         FCB_ERR_ARG);
        assert_true(strlen(fcb_last_error()) > 0);
    }
}

/* 1e5 decisions over the fixed scores: chi-square of the action counts
 * against the returned propensities, over the cells with positive mass. */
static void check_frequencies(const fcb_policy_config *config, const char *label, uint32_t seed)
{
    enum { BATCH = 1000, BATCHES = 100 };
    float *scores = malloc(sizeof(float) * BATCH * K);
    float *probs = malloc(sizeof(float) * BATCH * K);
    int *actions = malloc(sizeof(int) * BATCH);
    float *props = malloc(sizeof(float) * BATCH);
    assert_non_null(scores);
    assert_non_null(probs);
    assert_non_null(actions);
    assert_non_null(props);
    for (int i = 0; i < BATCH; i++)
        memcpy(scores + (size_t)i * K, SCORES, sizeof SCORES);
    fcb_rng rng;
    fcb_rng_init(&rng, seed, FCB_STREAM_TEST, 0, 0);
    long counts[K] = {0};
    float reference[K];
    assert_int_equal(fcb_policy_probs(config, SCORES, K, reference), FCB_OK);
    for (int b = 0; b < BATCHES; b++) {
        assert_int_equal(fcb_policy_act(config, scores, BATCH, K, &rng, probs, actions, props),
                         FCB_OK);
        for (int i = 0; i < BATCH; i++) {
            const float *row = probs + (size_t)i * K;
            assert_true(actions[i] >= 0 && actions[i] < K);
            assert_true(props[i] == row[actions[i]]);
            assert_true(props[i] > 0.0f);
            assert_memory_equal(row, reference, sizeof reference);
            counts[actions[i]]++;
        }
    }
    const double total = (double)BATCH * BATCHES;
    double stat = 0.0;
    int cells = 0;
    for (int a = 0; a < K; a++) {
        if (reference[a] <= 0.0f) {
            assert_int_equal(counts[a], 0);
            continue;
        }
        double expected = total * reference[a];
        stat += ((double)counts[a] - expected) * ((double)counts[a] - expected) / expected;
        cells++;
    }
    int dof = cells - 1;
    print_message("%-18s chi-square %7.2f, dof %d, 0.999 quantile %6.2f\n", label, stat, dof,
                  CHI2_999[dof]);
    /* With one positive cell (greedy) the zero-count checks above are the test. */
    if (dof > 0)
        assert_true(stat < CHI2_999[dof]);
    free(scores);
    free(probs);
    free(actions);
    free(props);
}

static void test_empirical_frequencies(void **state)
{
    (void)state;
    fcb_policy_config config = config_of(FCB_POLICY_GREEDY);
    check_frequencies(&config, "greedy", 11);
    config = config_of(FCB_POLICY_EPSILON_GREEDY);
    check_frequencies(&config, "epsilon_greedy 0.2", 12);
    config = config_of(FCB_POLICY_SOFTMAX);
    config.temperature = 0.1f;
    check_frequencies(&config, "softmax 0.1", 13);
    config = config_of(FCB_POLICY_IGW);
    config.igw_gamma = 10.0f;
    check_frequencies(&config, "igw mu=K gamma=10", 14);
    config.igw_mu = 1.0f;
    config.igw_gamma = 1.0f;
    check_frequencies(&config, "igw rescaled", 15);
    config = config_of(FCB_POLICY_UNIFORM);
    check_frequencies(&config, "uniform", 16);
}

/* Exactly one uniform per row, and the action is its inverse CDF: a second
 * generator on the same stream reproduces every decision. */
static void test_one_uniform_per_row(void **state)
{
    (void)state;
    enum { N = 64 };
    float scores[N * K], probs[N * K], props[N];
    int actions[N];
    fcb_rng data;
    fcb_rng_init(&data, 7, FCB_STREAM_DATA, 0, 0);
    for (int i = 0; i < N * K; i++)
        scores[i] = (float)fcb_rng_normal(&data) * 0.2f;
    for (int kind = FCB_POLICY_GREEDY; kind <= FCB_POLICY_UNIFORM; kind++) {
        fcb_policy_config config = config_of((fcb_policy_kind)kind);
        config.temperature = 0.1f;
        fcb_rng rng, replay;
        fcb_rng_init(&rng, 99, FCB_STREAM_POLICY, 1, 2);
        fcb_rng_init(&replay, 99, FCB_STREAM_POLICY, 1, 2);
        assert_int_equal(fcb_policy_act(&config, scores, N, K, &rng, probs, actions, props), FCB_OK);
        for (int i = 0; i < N; i++) {
            const float *row = probs + (size_t)i * K;
            assert_sums_to_one(row, K);
            double u = fcb_rng_uniform(&replay);
            double cumulative = 0.0;
            int expected = -1;
            for (int a = 0; a < K && expected < 0; a++) {
                cumulative += row[a];
                if (u < cumulative && row[a] > 0.0f)
                    expected = a;
            }
            assert_true(expected >= 0);
            assert_int_equal(actions[i], expected);
        }
        /* Both generators are at the same position afterwards. */
        assert_int_equal(fcb_rng_u32(&rng), fcb_rng_u32(&replay));
    }
}

static void test_bad_inputs(void **state)
{
    (void)state;
    enum { N = 4 };
    float scores[N * K], probs[N * K], props[N];
    int actions[N];
    for (int i = 0; i < N * K; i++)
        scores[i] = (float)i * 0.01f;
    fcb_rng rng;
    fcb_rng_init(&rng, 1, FCB_STREAM_TEST, 0, 0);
    fcb_policy_config config = config_of(FCB_POLICY_SOFTMAX);

    clear_error();
    assert_int_equal(fcb_policy_act(&config, scores, N, 0, &rng, probs, actions, props),
                     FCB_ERR_ARG);
    assert_true(strlen(fcb_last_error()) > 0);
    clear_error();
    assert_int_equal(fcb_policy_probs(&config, scores, 0, probs), FCB_ERR_ARG);
    assert_true(strlen(fcb_last_error()) > 0);
    clear_error();
    assert_failed_with_message(fcb_policy_act(&config, scores, 0, K, &rng, probs, actions, props));
    clear_error();
    assert_failed_with_message(fcb_policy_act(&config, NULL, N, K, &rng, probs, actions, props));
    clear_error();
    assert_failed_with_message(fcb_policy_act(&config, scores, N, K, NULL, probs, actions, props));

    scores[3 * K + 2] = NAN;
    clear_error();
    assert_int_equal(fcb_policy_act(&config, scores, N, K, &rng, probs, actions, props),
                     FCB_ERR_ARG);
    assert_non_null(strstr(fcb_last_error(), "row 3"));
    clear_error();
    assert_int_equal(fcb_policy_probs(&config, scores + 3 * K, K, probs), FCB_ERR_ARG);
    assert_true(strlen(fcb_last_error()) > 0);
    scores[3 * K + 2] = INFINITY;
    clear_error();
    assert_failed_with_message(fcb_policy_act(&config, scores, N, K, &rng, probs, actions, props));
    scores[3 * K + 2] = 0.0f;

    config.temperature = -1.0f;
    clear_error();
    assert_failed_with_message(fcb_policy_act(&config, scores, N, K, &rng, probs, actions, props));
    clear_error();
    assert_failed_with_message(fcb_policy_probs(&config, scores, K, probs));

    config = config_of(FCB_POLICY_EPSILON_GREEDY);
    config.epsilon = 1.5f;
    clear_error();
    assert_failed_with_message(fcb_policy_act(&config, scores, N, K, &rng, probs, actions, props));

    fcb_policy_kind kind;
    clear_error();
    assert_failed_with_message(fcb_policy_kind_from_name("best_arm", &kind));
    clear_error();
    assert_failed_with_message(fcb_policy_probs(NULL, scores, K, probs));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_defaults_and_validation),
        cmocka_unit_test(test_closed_forms),
        cmocka_unit_test(test_igw_closed_forms),
        cmocka_unit_test(test_ties_and_extremes),
        cmocka_unit_test(test_linear_kinds_rejected),
        cmocka_unit_test(test_empirical_frequencies),
        cmocka_unit_test(test_one_uniform_per_row),
        cmocka_unit_test(test_bad_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
