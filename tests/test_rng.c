#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "rng.h"

/* 0.999 quantiles of the chi-square distribution, index = degrees of freedom. */
static const double CHI2_999[] = {0.0,    10.828, 13.816, 16.266, 18.467, 20.515,
                                  22.458, 24.322, 26.124, 27.877, 29.588};

static double chi_square(const long *counts, const double *expected, int cells)
{
    double stat = 0.0;
    for (int i = 0; i < cells; i++) {
        double diff = (double)counts[i] - expected[i];
        stat += diff * diff / expected[i];
    }
    return stat;
}

static void test_same_key_same_sequence(void **state)
{
    (void)state;
    fcb_rng x, y;
    fcb_rng_init(&x, 42, FCB_STREAM_TEST, 3, 7);
    fcb_rng_init(&y, 42, FCB_STREAM_TEST, 3, 7);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(fcb_rng_u32(&x), fcb_rng_u32(&y));
    /* Mixed draw kinds stay aligned too. */
    for (int i = 0; i < 100; i++) {
        assert_true(fcb_rng_uniform(&x) == fcb_rng_uniform(&y));
        assert_true(fcb_rng_normal(&x) == fcb_rng_normal(&y));
        assert_int_equal(fcb_rng_below(&x, 17), fcb_rng_below(&y, 17));
    }
}

/* Number of equal words among the first 64 of two streams. */
static int shared_words(uint64_t seed_a, uint32_t purpose_a, uint32_t client_a, uint32_t round_a,
                        uint64_t seed_b, uint32_t purpose_b, uint32_t client_b, uint32_t round_b)
{
    fcb_rng x, y;
    fcb_rng_init(&x, seed_a, purpose_a, client_a, round_a);
    fcb_rng_init(&y, seed_b, purpose_b, client_b, round_b);
    int same = 0;
    for (int i = 0; i < 64; i++)
        same += fcb_rng_u32(&x) == fcb_rng_u32(&y);
    return same;
}

static void test_different_keys_different_sequences(void **state)
{
    (void)state;
    /* Two independent 32-bit streams share a word with probability 2^-32. */
    assert_true(shared_words(42, FCB_STREAM_TEST, 3, 7, 42, FCB_STREAM_TEST, 4, 7) <= 1);
    assert_true(shared_words(42, FCB_STREAM_TEST, 3, 7, 42, FCB_STREAM_TEST, 3, 8) <= 1);
    assert_true(shared_words(42, FCB_STREAM_TEST, 3, 7, 42, FCB_STREAM_POLICY, 3, 7) <= 1);
    assert_true(shared_words(42, FCB_STREAM_TEST, 3, 7, 43, FCB_STREAM_TEST, 3, 7) <= 1);
    /* The high half of the seed matters as well. */
    assert_true(shared_words(42, FCB_STREAM_TEST, 3, 7, 42 + (1ull << 32), FCB_STREAM_TEST, 3,
                             7) <= 1);
}

static void test_uniform_moments(void **state)
{
    (void)state;
    fcb_rng rng;
    fcb_rng_init(&rng, 1, FCB_STREAM_TEST, 0, 0);
    const int n = 1000000;
    double sum = 0.0, sum_sq = 0.0;
    for (int i = 0; i < n; i++) {
        double u = fcb_rng_uniform(&rng);
        assert_true(u >= 0.0 && u < 1.0);
        sum += u;
        sum_sq += u * u;
    }
    double mean = sum / n;
    double var = sum_sq / n - mean * mean;
    /* Standard errors: 0.00029 for the mean, 0.000075 for the variance. */
    assert_true(fabs(mean - 0.5) < 0.0015);
    assert_true(fabs(var - 1.0 / 12.0) < 0.0004);
}

static void test_below_range_and_uniformity(void **state)
{
    (void)state;
    fcb_rng rng;
    fcb_rng_init(&rng, 2, FCB_STREAM_TEST, 0, 0);
    const uint32_t bounds[] = {1, 2, 7, 1000, 3000000000u};
    for (size_t b = 0; b < sizeof bounds / sizeof bounds[0]; b++) {
        for (int i = 0; i < 20000; i++)
            assert_true(fcb_rng_below(&rng, bounds[b]) < bounds[b]);
    }
    /* A bound near 2^32 rejects often; its upper half must still be hit half the time. */
    long upper = 0;
    for (int i = 0; i < 20000; i++)
        upper += fcb_rng_below(&rng, 3000000000u) >= 1500000000u;
    assert_true(labs(upper - 10000) < 500);

    enum { CELLS = 10 };
    const int n = 100000;
    long counts[CELLS] = {0};
    double expected[CELLS];
    for (int i = 0; i < n; i++)
        counts[fcb_rng_below(&rng, CELLS)]++;
    for (int c = 0; c < CELLS; c++)
        expected[c] = (double)n / CELLS;
    double stat = chi_square(counts, expected, CELLS);
    print_message("below(10): chi-square %.2f (0.999 quantile %.2f)\n", stat, CHI2_999[CELLS - 1]);
    assert_true(stat < CHI2_999[CELLS - 1]);
}

static void test_normal_moments(void **state)
{
    (void)state;
    fcb_rng rng;
    fcb_rng_init(&rng, 3, FCB_STREAM_TEST, 0, 0);
    const int n = 1000000;
    double sum = 0.0, sum_sq = 0.0;
    long within_one = 0;
    for (int i = 0; i < n; i++) {
        double z = fcb_rng_normal(&rng);
        assert_true(isfinite(z));
        sum += z;
        sum_sq += z * z;
        within_one += fabs(z) < 1.0;
    }
    double mean = sum / n;
    double var = sum_sq / n - mean * mean;
    /* Standard errors: 0.001 for the mean, 0.0014 for the variance, 0.00047 for P(|z|<1). */
    assert_true(fabs(mean) < 0.005);
    assert_true(fabs(var - 1.0) < 0.007);
    assert_true(fabs((double)within_one / n - 0.682689) < 0.0025);
}

static void test_gamma_mean(void **state)
{
    (void)state;
    fcb_rng rng;
    fcb_rng_init(&rng, 4, FCB_STREAM_TEST, 0, 0);
    const double shapes[] = {0.3, 1.0, 5.0};
    const int n = 200000;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        double shape = shapes[s];
        double sum = 0.0, sum_sq = 0.0;
        for (int i = 0; i < n; i++) {
            double g = fcb_rng_gamma(&rng, shape);
            assert_true(g >= 0.0 && isfinite(g));
            sum += g;
            sum_sq += g * g;
        }
        double mean = sum / n;
        double var = sum_sq / n - mean * mean;
        /* Gamma(shape, 1) has mean and variance both equal to shape. */
        double se = sqrt(shape / n);
        print_message("gamma(%.1f): mean %.4f var %.4f\n", shape, mean, var);
        assert_true(fabs(mean - shape) < 5.0 * se);
        assert_true(fabs(var - shape) < 0.05 * shape);
    }
}

static void test_shuffle_is_uniform_permutation(void **state)
{
    (void)state;
    fcb_rng rng;
    fcb_rng_init(&rng, 5, FCB_STREAM_TEST, 0, 0);
    enum { N = 100 };
    int values[N];
    int seen[N] = {0};
    for (int i = 0; i < N; i++)
        values[i] = i;
    fcb_rng_shuffle_int(&rng, values, N);
    int fixed = 0;
    for (int i = 0; i < N; i++) {
        assert_true(values[i] >= 0 && values[i] < N);
        seen[values[i]]++;
        fixed += values[i] == i;
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    assert_true(fixed < N / 2);

    /* Where element 0 lands in a 5-shuffle is uniform over the 5 positions. */
    enum { M = 5 };
    const int trials = 50000;
    long counts[M] = {0};
    double expected[M];
    for (int t = 0; t < trials; t++) {
        int small[M] = {0, 1, 2, 3, 4};
        fcb_rng_shuffle_int(&rng, small, M);
        for (int i = 0; i < M; i++) {
            if (small[i] == 0)
                counts[i]++;
        }
    }
    for (int i = 0; i < M; i++)
        expected[i] = (double)trials / M;
    assert_true(chi_square(counts, expected, M) < CHI2_999[M - 1]);

    /* n = 0 and n = 1 are no-ops. */
    int one = 9;
    fcb_rng_shuffle_int(&rng, &one, 1);
    assert_int_equal(one, 9);
    fcb_rng_shuffle_int(&rng, NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_key_same_sequence),
        cmocka_unit_test(test_different_keys_different_sequences),
        cmocka_unit_test(test_uniform_moments),
        cmocka_unit_test(test_below_range_and_uniformity),
        cmocka_unit_test(test_normal_moments),
        cmocka_unit_test(test_gamma_mean),
        cmocka_unit_test(test_shuffle_is_uniform_permutation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
