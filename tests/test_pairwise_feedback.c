/* Pairwise implicit feedback: exact pair probabilities on hand cases,
 * empirical pair frequencies of seeded draws against them (per-cell
 * binomial bounds and a chi-square statistic), the observed flip rate,
 * determinism at T = 0, and the stream contract (four uniforms a context). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pairwise_feedback.h"
#include "rng.h"

enum { K = 4, CELLS = K * K };

/* Upper 0.1 % point of chi-square with 11 degrees of freedom (12 ordered
 * pairs of 4 actions, one constraint). */
static const double CHI2_11_999 = 31.264;
/* Per-cell bound in binomial standard errors. */
static const double CELL_SIGMAS = 5.0;

static void clear_error(void)
{
    fcb_fail(FCB_OK, "%s", "");
}

static void assert_rejected(fcb_status status, fcb_status expected, const char *fragment)
{
    assert_int_equal(status, expected);
    const char *message = fcb_last_error();
    assert_true(strlen(message) > 0);
    if (fragment != NULL && strstr(message, fragment) == NULL)
        fail_msg("message '%s' does not mention '%s'", message, fragment);
    clear_error();
}

static double pair_probability(const fcb_pairwise_config *config, const float *p, const float *u,
                               int k, int w, int l)
{
    double value = NAN;
    if (fcb_pairwise_pair_probability(config, p, u, k, w, l, &value) != FCB_OK)
        fail_msg("pair probability failed: %s", fcb_last_error());
    return value;
}

static double sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

static void test_exact_probabilities_sum_to_one(void **state)
{
    (void)state;
    const float u[K] = {0.0f, 1.0f, 0.5f, 1.0f};
    const float policies[][K] = {
        {0.4f, 0.3f, 0.2f, 0.1f},
        {0.7f, 0.0f, 0.3f, 0.0f},
        {0.0f, 1.0f, 0.0f, 0.0f}, /* one action: the second is uniform over the rest */
        {2.0f, 1.0f, 1.0f, 4.0f}, /* unnormalised */
    };
    const double temperatures[] = {0.0, 0.3, 2.0};
    const double flip_rates[] = {0.0, 0.2, 1.0};
    for (int pi = 0; pi < 4; pi++) {
        for (int ti = 0; ti < 3; ti++) {
            for (int ei = 0; ei < 3; ei++) {
                fcb_pairwise_config config = {temperatures[ti], flip_rates[ei]};
                double total = 0.0;
                for (int w = 0; w < K; w++) {
                    for (int l = 0; l < K; l++) {
                        if (w != l)
                            total += pair_probability(&config, policies[pi], u, K, w, l);
                    }
                }
                assert_true(fabs(total - 1.0) < 1e-12);
            }
        }
    }
}

static void test_exact_probabilities_hand_values(void **state)
{
    (void)state;
    /* p = (0.5, 0.3, 0.2), u = (1, 0, 0). Shown {0, 1}: 0.5 * 0.3/0.5 +
     * 0.3 * 0.5/0.7 = 0.3 + 3/14; shown {1, 2}: 0.3 * 0.2/0.7 + 0.2 * 0.3/0.8
     * = 3/35 + 3/40, a tie, so each order half of it. */
    const float p[] = {0.5f, 0.3f, 0.2f};
    const float u[] = {1.0f, 0.0f, 0.0f};
    double shown01 = 0.3 + 3.0 / 14.0, shown12 = 3.0 / 35.0 + 3.0 / 40.0;
    fcb_pairwise_config exact = {0.0, 0.0};
    assert_true(fabs(pair_probability(&exact, p, u, 3, 0, 1) - shown01) < 1e-7);
    assert_true(pair_probability(&exact, p, u, 3, 1, 0) == 0.0);
    assert_true(fabs(pair_probability(&exact, p, u, 3, 1, 2) - shown12 / 2.0) < 1e-7);
    assert_true(fabs(pair_probability(&exact, p, u, 3, 2, 1) - shown12 / 2.0) < 1e-7);

    fcb_pairwise_config flipped = {0.0, 0.25};
    assert_true(fabs(pair_probability(&flipped, p, u, 3, 1, 0) - 0.25 * shown01) < 1e-7);
    assert_true(fabs(pair_probability(&flipped, p, u, 3, 0, 1) - 0.75 * shown01) < 1e-7);

    /* Bradley-Terry at T = 0.5: sigmoid((1 - 0) / 0.5) = sigmoid(2); with
     * flips e = 0.1: 0.9 sigmoid(2) + 0.1 sigmoid(-2). */
    fcb_pairwise_config bt = {0.5, 0.1};
    double prefer = 0.9 * sigmoid(2.0) + 0.1 * sigmoid(-2.0);
    assert_true(fabs(pair_probability(&bt, p, u, 3, 0, 1) - shown01 * prefer) < 1e-7);

    /* p = (0, 1, 0, 0): action 1 is always shown, with a uniform partner. */
    const float one_hot[] = {0.0f, 1.0f, 0.0f, 0.0f};
    const float ranked[] = {3.0f, 2.0f, 1.0f, 0.0f};
    assert_true(fabs(pair_probability(&exact, one_hot, ranked, K, 1, 2) - 1.0 / 3.0) < 1e-15);
    assert_true(fabs(pair_probability(&exact, one_hot, ranked, K, 0, 1) - 1.0 / 3.0) < 1e-15);
    assert_true(pair_probability(&exact, one_hot, ranked, K, 0, 2) == 0.0);
}

/* N draws of one context from a seeded stream; counts[w * K + l]. */
static void count_draws(const fcb_pairwise_config *config, const float *p, const float *u, int n,
                        uint32_t round, int *counts)
{
    fcb_rng rng;
    fcb_rng_init(&rng, 20240, FCB_STREAM_PAIRWISE, 3, round);
    memset(counts, 0, CELLS * sizeof *counts);
    for (int i = 0; i < n; i++) {
        int w = -1, l = -1;
        assert_int_equal(fcb_pairwise_draw(config, p, u, K, &rng, &w, &l), FCB_OK);
        assert_true(w >= 0 && w < K && l >= 0 && l < K && w != l);
        counts[w * K + l]++;
    }
}

/* Every cell within CELL_SIGMAS binomial standard errors of its exact
 * probability, cells of probability 0 never seen, and the chi-square
 * statistic over the possible cells below its 99.9 % point. */
static void check_frequencies(const fcb_pairwise_config *config, const float *p, const float *u,
                              int n, uint32_t round)
{
    int counts[CELLS];
    count_draws(config, p, u, n, round, counts);
    double chi2 = 0.0;
    int possible = 0;
    for (int w = 0; w < K; w++) {
        for (int l = 0; l < K; l++) {
            if (w == l)
                continue;
            double exact = pair_probability(config, p, u, K, w, l);
            int count = counts[w * K + l];
            if (exact == 0.0) {
                assert_int_equal(count, 0);
                continue;
            }
            double frequency = (double)count / n;
            double sigma = sqrt(exact * (1.0 - exact) / n);
            if (fabs(frequency - exact) > CELL_SIGMAS * sigma)
                fail_msg("pair (%d, %d): frequency %.5f, exact %.5f, sigma %.5f", w, l, frequency,
                         exact, sigma);
            chi2 += pow(count - n * exact, 2) / (n * exact);
            possible++;
        }
    }
    if (possible == CELLS - K && chi2 > CHI2_11_999)
        fail_msg("chi-square %.2f over 11 degrees of freedom exceeds %.2f", chi2, CHI2_11_999);
}

static void test_empirical_frequencies_match_exact(void **state)
{
    (void)state;
    const float p[K] = {0.4f, 0.3f, 0.2f, 0.1f};
    const float u[K] = {0.0f, 1.0f, 0.5f, 0.8f};
    fcb_pairwise_config bradley_terry = {0.5, 0.2};
    check_frequencies(&bradley_terry, p, u, 200000, 1);
    fcb_pairwise_config hard = {0.0, 0.1};
    check_frequencies(&hard, p, u, 200000, 2);

    /* Zero-probability actions are never shown; a one-action policy gets a
     * uniform partner. */
    const float sparse[K] = {0.7f, 0.0f, 0.3f, 0.0f};
    check_frequencies(&bradley_terry, sparse, u, 50000, 3);
    const float one_hot[K] = {0.0f, 1.0f, 0.0f, 0.0f};
    check_frequencies(&bradley_terry, one_hot, u, 50000, 4);
}

/* T = 0, distinct utilities in random order: the logged winner has the
 * lower utility exactly when the preference was flipped. */
static double observed_flip_rate(double flip_rate, int n)
{
    float *p = malloc((size_t)n * K * sizeof *p);
    float *u = malloc((size_t)n * K * sizeof *u);
    int *winners = malloc((size_t)n * sizeof *winners);
    int *losers = malloc((size_t)n * sizeof *losers);
    assert_non_null(p);
    assert_non_null(u);
    assert_non_null(winners);
    assert_non_null(losers);
    fcb_rng data;
    fcb_rng_init(&data, 5, FCB_STREAM_TEST, 0, 0);
    for (int i = 0; i < n; i++) {
        int order[K] = {0, 1, 2, 3};
        fcb_rng_shuffle_int(&data, order, K);
        for (int a = 0; a < K; a++) {
            p[i * K + a] = (float)(0.05 + fcb_rng_uniform(&data));
            u[i * K + a] = (float)order[a];
        }
    }
    fcb_pairwise_config config = {0.0, flip_rate};
    fcb_rng rng;
    fcb_rng_init(&rng, 99, FCB_STREAM_PAIRWISE, 1, 2);
    assert_int_equal(fcb_pairwise_feedback(&config, p, u, n, K, &rng, winners, losers), FCB_OK);
    int flipped = 0;
    for (int i = 0; i < n; i++)
        flipped += u[i * K + winners[i]] < u[i * K + losers[i]];
    free(p);
    free(u);
    free(winners);
    free(losers);
    return (double)flipped / n;
}

static void test_flip_rate_observed(void **state)
{
    (void)state;
    const int n = 100000;
    double rate = observed_flip_rate(0.15, n);
    assert_true(fabs(rate - 0.15) < CELL_SIGMAS * sqrt(0.15 * 0.85 / n));
    assert_true(observed_flip_rate(0.0, 2000) == 0.0);
    assert_true(observed_flip_rate(1.0, 2000) == 1.0);
}

static void test_zero_temperature_is_deterministic(void **state)
{
    (void)state;
    /* Distinct utilities, no flips: the higher utility always wins. */
    const float p[K] = {0.25f, 0.25f, 0.25f, 0.25f};
    const float u[K] = {0.3f, -1.0f, 2.0f, 0.31f};
    fcb_pairwise_config config = {0.0, 0.0};
    int counts[CELLS];
    count_draws(&config, p, u, 20000, 5, counts);
    for (int w = 0; w < K; w++) {
        for (int l = 0; l < K; l++) {
            if (u[w] < u[l])
                assert_int_equal(counts[w * K + l], 0);
        }
    }
    /* A tie is a fair coin. */
    const float tied[K] = {1.0f, 1.0f, 1.0f, 1.0f};
    const int n = 20000;
    count_draws(&config, p, tied, n, 6, counts);
    int first_wins = 0;
    for (int w = 0; w < K; w++) {
        for (int l = w + 1; l < K; l++)
            first_wins += counts[w * K + l];
    }
    assert_true(fabs((double)first_wins / n - 0.5) < CELL_SIGMAS * sqrt(0.25 / n));
}

static void test_stream_contract(void **state)
{
    (void)state;
    enum { N = 500 };
    float p[N * K], u[N * K];
    fcb_rng data;
    fcb_rng_init(&data, 8, FCB_STREAM_TEST, 0, 0);
    for (int c = 0; c < N * K; c++) {
        p[c] = (float)fcb_rng_uniform(&data);
        u[c] = (float)fcb_rng_normal(&data);
    }
    fcb_pairwise_config config = {0.7, 0.1};

    /* The batch equals row-by-row draws from the same stream. */
    int winners[N], losers[N], again_w[N], again_l[N];
    fcb_rng batch_rng, single_rng, counter_rng;
    fcb_rng_init(&batch_rng, 42, FCB_STREAM_PAIRWISE, 9, 3);
    fcb_rng_init(&single_rng, 42, FCB_STREAM_PAIRWISE, 9, 3);
    assert_int_equal(fcb_pairwise_feedback(&config, p, u, N, K, &batch_rng, winners, losers),
                     FCB_OK);
    for (int i = 0; i < N; i++) {
        int w, l;
        assert_int_equal(fcb_pairwise_draw(&config, p + i * K, u + i * K, K, &single_rng, &w, &l),
                         FCB_OK);
        assert_int_equal(w, winners[i]);
        assert_int_equal(l, losers[i]);
    }

    /* Exactly four uniforms per context, whatever the outcomes. */
    fcb_rng_init(&counter_rng, 42, FCB_STREAM_PAIRWISE, 9, 3);
    for (int i = 0; i < 4 * N; i++)
        fcb_rng_uniform(&counter_rng);
    uint64_t next = fcb_rng_u64(&counter_rng);
    assert_true(fcb_rng_u64(&batch_rng) == next);

    /* Same stream, same pairs; another round, other pairs. */
    fcb_rng_init(&batch_rng, 42, FCB_STREAM_PAIRWISE, 9, 3);
    assert_int_equal(fcb_pairwise_feedback(&config, p, u, N, K, &batch_rng, again_w, again_l),
                     FCB_OK);
    assert_memory_equal(winners, again_w, sizeof winners);
    assert_memory_equal(losers, again_l, sizeof losers);
    fcb_rng_init(&batch_rng, 42, FCB_STREAM_PAIRWISE, 9, 4);
    assert_int_equal(fcb_pairwise_feedback(&config, p, u, N, K, &batch_rng, again_w, again_l),
                     FCB_OK);
    assert_true(memcmp(winners, again_w, sizeof winners) != 0);
}

static void test_bad_inputs_rejected(void **state)
{
    (void)state;
    float p[2 * K] = {0.25f, 0.25f, 0.25f, 0.25f, 0.1f, 0.2f, 0.3f, 0.4f};
    float u[2 * K] = {0.0f, 1.0f, 2.0f, 3.0f, 0.0f, 1.0f, 2.0f, 3.0f};
    int winners[2] = {-7, -7}, losers[2];
    double probability;
    fcb_rng rng;
    fcb_rng_init(&rng, 1, FCB_STREAM_PAIRWISE, 0, 0);
    clear_error();

    fcb_pairwise_config config = {-1.0, 0.0};
    assert_rejected(fcb_pairwise_config_validate(&config), FCB_ERR_CONFIG,
                    "pairwise.temperature = -1: must be >= 0");
    config.temperature = INFINITY;
    assert_rejected(fcb_pairwise_draw(&config, p, u, K, &rng, &winners[0], &losers[0]),
                    FCB_ERR_CONFIG, "pairwise.temperature = inf: must be finite");
    config = (fcb_pairwise_config){0.5, 1.5};
    assert_rejected(fcb_pairwise_pair_probability(&config, p, u, K, 0, 1, &probability),
                    FCB_ERR_CONFIG, "pairwise.flip_rate = 1.5: must be in [0, 1]");
    config.flip_rate = NAN;
    assert_rejected(fcb_pairwise_config_validate(&config), FCB_ERR_CONFIG, "pairwise.flip_rate");
    config.flip_rate = 0.1;

    assert_rejected(fcb_pairwise_draw(&config, p, u, 1, &rng, &winners[0], &losers[0]),
                    FCB_ERR_ARG, "k = 1");
    assert_rejected(fcb_pairwise_pair_probability(&config, p, u, K, 2, 2, &probability),
                    FCB_ERR_ARG, "winner 2 and loser 2");
    assert_rejected(fcb_pairwise_pair_probability(&config, p, u, K, 0, K, &probability),
                    FCB_ERR_ARG, "loser 4");

    /* A bad row anywhere in the batch: rejected before any draw. */
    fcb_rng untouched;
    fcb_rng_init(&untouched, 1, FCB_STREAM_PAIRWISE, 0, 0);
    p[K + 2] = -0.3f;
    assert_rejected(fcb_pairwise_feedback(&config, p, u, 2, K, &rng, winners, losers),
                    FCB_ERR_ARG, "row 1 action 2");
    assert_int_equal(winners[0], -7);
    assert_true(fcb_rng_u64(&rng) == fcb_rng_u64(&untouched));
    p[K + 2] = NAN;
    assert_rejected(fcb_pairwise_feedback(&config, p, u, 2, K, &rng, winners, losers),
                    FCB_ERR_ARG, "row 1 action 2");
    p[K + 2] = 0.3f;
    u[1] = INFINITY;
    assert_rejected(fcb_pairwise_feedback(&config, p, u, 2, K, &rng, winners, losers),
                    FCB_ERR_ARG, "utility of row 0 action 1");
    u[1] = 1.0f;
    const float zeros[K] = {0.0f, 0.0f, 0.0f, 0.0f};
    assert_rejected(fcb_pairwise_draw(&config, zeros, u, K, &rng, &winners[0], &losers[0]),
                    FCB_ERR_ARG, "sum to 0");
    assert_rejected(fcb_pairwise_feedback(&config, p, u, 0, K, &rng, winners, losers),
                    FCB_ERR_ARG, "n = 0");
    assert_rejected(fcb_pairwise_feedback(&config, p, u, 2, K, NULL, winners, losers),
                    FCB_ERR_ARG, NULL);
    assert_int_equal(fcb_pairwise_feedback(&config, p, u, 2, K, &rng, winners, losers), FCB_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_probabilities_sum_to_one),
        cmocka_unit_test(test_exact_probabilities_hand_values),
        cmocka_unit_test(test_empirical_frequencies_match_exact),
        cmocka_unit_test(test_flip_rate_observed),
        cmocka_unit_test(test_zero_temperature_is_deterministic),
        cmocka_unit_test(test_stream_contract),
        cmocka_unit_test(test_bad_inputs_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
