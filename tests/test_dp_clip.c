/* DP-FedAvg clipping and noise, and adaptive clipping: closed forms, the
 * moments of the noise within their sampling error, and convergence of the
 * clip norm to the target quantile of a known distribution of norms. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dp_clip.h"
#include "rng.h"

static void assert_config_rejected(const fcb_dp_config *config, const char *expected_message)
{
    assert_int_equal(fcb_dp_config_validate(config), FCB_ERR_CONFIG);
    if (strcmp(fcb_last_error(), expected_message) != 0)
        fail_msg("message '%s', expected '%s'", fcb_last_error(), expected_message);
}

static void test_config_validation_names_the_field(void **state)
{
    (void)state;
    fcb_dp_config defaults = fcb_dp_config_defaults();
    assert_int_equal(fcb_dp_config_validate(&defaults), FCB_OK);

    fcb_dp_config c = defaults;
    c.noise_multiplier = -1.0;
    assert_config_rejected(&c, "dp.noise_multiplier = -1: must be >= 0");
    c = defaults;
    c.clip_norm = 0.0;
    assert_config_rejected(&c, "dp.clip_norm = 0: must be > 0");
    c = defaults;
    c.clip_norm = -2.5;
    assert_config_rejected(&c, "dp.clip_norm = -2.5: must be > 0");
    c = defaults;
    c.target_quantile = 1.5;
    assert_config_rejected(&c, "dp.target_quantile = 1.5: must be in [0, 1]");
    c = defaults;
    c.target_quantile = -0.25;
    assert_config_rejected(&c, "dp.target_quantile = -0.25: must be in [0, 1]");
    c = defaults;
    c.target_quantile = NAN;
    assert_int_equal(fcb_dp_config_validate(&c), FCB_ERR_CONFIG);
    assert_non_null(strstr(fcb_last_error(), "dp.target_quantile"));
    c = defaults;
    c.clip_learning_rate = -0.1;
    assert_config_rejected(&c, "dp.clip_learning_rate = -0.1: must be >= 0");
    c = defaults;
    c.clipped_count_stddev = -2.0;
    assert_config_rejected(&c, "dp.clipped_count_stddev = -2: must be >= 0");
    c = defaults;
    c.adaptive = 2;
    assert_config_rejected(&c, "dp.adaptive = 2: must be 0 or 1");

    /* The edges are allowed. */
    c = defaults;
    c.noise_multiplier = 0.0;
    c.target_quantile = 1.0;
    c.clip_learning_rate = 0.0;
    assert_int_equal(fcb_dp_config_validate(&c), FCB_OK);
    c.target_quantile = 0.0;
    assert_int_equal(fcb_dp_config_validate(&c), FCB_OK);
}

static double norm_of(const float *v, size_t dim)
{
    double squares = 0.0;
    for (size_t i = 0; i < dim; i++)
        squares += (double)v[i] * v[i];
    return sqrt(squares);
}

static void test_clip_scales_long_updates_to_the_norm(void **state)
{
    (void)state;
    /* (3, 4) has norm 5; clipped to 1 it is (0.6, 0.8). */
    float v[2] = {3.0f, 4.0f};
    double norm = 0.0;
    int clipped = 0;
    assert_int_equal(fcb_dp_clip(v, 2, 1.0, &norm, &clipped), FCB_OK);
    assert_true(norm == 5.0);
    assert_int_equal(clipped, 1);
    assert_true(fabs(v[0] - 0.6) < 1e-7 && fabs(v[1] - 0.8) < 1e-7);

    /* A random long update keeps its direction: every coordinate is scaled
     * by the same C / norm. */
    enum { DIM = 257 };
    float update[DIM], original[DIM];
    fcb_rng rng;
    fcb_rng_init(&rng, 11, FCB_STREAM_TEST, 0, 0);
    for (int i = 0; i < DIM; i++)
        original[i] = update[i] = (float)(3.0 * fcb_rng_normal(&rng));
    double before = norm_of(original, DIM);
    assert_int_equal(fcb_dp_clip(update, DIM, 2.5, &norm, &clipped), FCB_OK);
    assert_int_equal(clipped, 1);
    assert_true(fabs(norm - before) <= 1e-12 * before);
    assert_true(fabs(norm_of(update, DIM) - 2.5) < 2.5e-6);
    double dot = 0.0;
    for (int i = 0; i < DIM; i++) {
        dot += (double)update[i] * original[i];
        assert_true(fabs(update[i] - original[i] * (2.5 / before)) <= 1e-6 * fabs(original[i]) + 1e-30);
    }
    assert_true(fabs(dot / (2.5 * before) - 1.0) < 1e-6); /* cosine 1 */
}

static void test_clip_leaves_short_updates_alone(void **state)
{
    (void)state;
    float v[3] = {0.1f, -0.2f, 0.3f};
    const float original[3] = {0.1f, -0.2f, 0.3f};
    double norm = 0.0;
    int clipped = 1;
    assert_int_equal(fcb_dp_clip(v, 3, 1.0, &norm, &clipped), FCB_OK);
    assert_memory_equal(v, original, sizeof v);
    assert_int_equal(clipped, 0);
    assert_true(fabs(norm - sqrt(0.01 + 0.04 + 0.09)) < 1e-7);

    /* Exactly at the norm: not clipped. (3, 4) / 5 * 5 = (3, 4). */
    float edge[2] = {3.0f, 4.0f};
    assert_int_equal(fcb_dp_clip(edge, 2, 5.0, &norm, &clipped), FCB_OK);
    assert_int_equal(clipped, 0);
    assert_true(edge[0] == 3.0f && edge[1] == 4.0f);

    /* The zero update. */
    float zero[4] = {0};
    assert_int_equal(fcb_dp_clip(zero, 4, 1.0, &norm, &clipped), FCB_OK);
    assert_true(norm == 0.0 && clipped == 0);

    /* Bad input changes nothing. */
    float bad[3] = {10.0f, NAN, 10.0f};
    assert_int_equal(fcb_dp_clip(bad, 3, 1.0, &norm, &clipped), FCB_ERR_ARG);
    assert_non_null(strstr(fcb_last_error(), "update[1]"));
    assert_true(bad[0] == 10.0f && bad[2] == 10.0f);
    assert_int_equal(fcb_dp_clip(v, 3, 0.0, NULL, NULL), FCB_ERR_ARG);
}

static void test_noise_has_the_right_moments(void **state)
{
    (void)state;
    /* z 1.5, C 2: N(0, 3^2) per coordinate, added to a sum of 1.25s.
     * With n draws the sample mean has standard error 3 / sqrt(n) and the
     * sample variance 9 sqrt(2 / n); we allow 5 standard errors. */
    enum { N = 40000 };
    float *sum = malloc(N * sizeof *sum);
    float *again = malloc(N * sizeof *again);
    assert_non_null(sum);
    assert_non_null(again);
    for (int i = 0; i < N; i++)
        sum[i] = again[i] = 1.25f;
    fcb_rng rng;
    fcb_rng_init(&rng, 2024, FCB_STREAM_DP_NOISE, 0, 3);
    assert_int_equal(fcb_dp_add_noise(sum, N, 1.5, 2.0, &rng), FCB_OK);

    double mean = 0.0;
    for (int i = 0; i < N; i++)
        mean += sum[i] - 1.25;
    mean /= N;
    double variance = 0.0;
    long within_one_sd = 0;
    for (int i = 0; i < N; i++) {
        double d = sum[i] - 1.25 - mean;
        variance += d * d;
        within_one_sd += fabs(sum[i] - 1.25) <= 3.0;
    }
    variance /= N - 1;
    assert_true(fabs(mean) < 5.0 * 3.0 / sqrt(N));
    assert_true(fabs(variance - 9.0) < 5.0 * 9.0 * sqrt(2.0 / N));
    /* Gaussian shape: P(|X| <= sigma) = 0.682689, binomial standard error. */
    double p = 0.682689492;
    assert_true(fabs((double)within_one_sd / N - p) < 5.0 * sqrt(p * (1.0 - p) / N));

    /* Same stream, same noise; z = 0 adds nothing. */
    fcb_rng_init(&rng, 2024, FCB_STREAM_DP_NOISE, 0, 3);
    assert_int_equal(fcb_dp_add_noise(again, N, 1.5, 2.0, &rng), FCB_OK);
    assert_memory_equal(sum, again, N * sizeof *sum);
    for (int i = 0; i < N; i++)
        again[i] = 1.25f;
    assert_int_equal(fcb_dp_add_noise(again, N, 0.0, 2.0, &rng), FCB_OK);
    for (int i = 0; i < N; i++)
        assert_true(again[i] == 1.25f);
    assert_int_equal(fcb_dp_add_noise(again, N, -1.0, 2.0, &rng), FCB_ERR_ARG);
    free(sum);
    free(again);
}

static void test_noisy_fraction_moments(void **state)
{
    (void)state;
    double fraction = -1.0;
    assert_int_equal(fcb_dp_noisy_unclipped_fraction(37, 100, 0.0, NULL, &fraction), FCB_OK);
    assert_true(fraction == 0.37);

    /* sigma_b 5 on m = 100: b ~ N(0.37, 0.05^2). */
    enum { DRAWS = 20000 };
    fcb_rng rng;
    fcb_rng_init(&rng, 5, FCB_STREAM_TEST, 0, 0);
    double total = 0.0, squares = 0.0;
    for (int i = 0; i < DRAWS; i++) {
        assert_int_equal(fcb_dp_noisy_unclipped_fraction(37, 100, 5.0, &rng, &fraction), FCB_OK);
        total += fraction;
        squares += fraction * fraction;
    }
    double mean = total / DRAWS;
    double variance = squares / DRAWS - mean * mean;
    assert_true(fabs(mean - 0.37) < 5.0 * 0.05 / sqrt(DRAWS));
    assert_true(fabs(variance - 0.0025) < 5.0 * 0.0025 * sqrt(2.0 / DRAWS));

    assert_int_equal(fcb_dp_noisy_unclipped_fraction(101, 100, 0.0, NULL, &fraction), FCB_ERR_ARG);
    assert_int_equal(fcb_dp_noisy_unclipped_fraction(1, 0, 0.0, NULL, &fraction), FCB_ERR_ARG);
    assert_int_equal(fcb_dp_noisy_unclipped_fraction(1, 10, 1.0, NULL, &fraction), FCB_ERR_ARG);
}

static void test_geometric_update_closed_form(void **state)
{
    (void)state;
    /* Too many unclipped: C shrinks by exp(-eta (b - gamma)). */
    assert_true(fabs(fcb_dp_next_clip_norm(2.0, 0.8, 0.5, 0.2) - 2.0 * exp(-0.06)) < 1e-15);
    /* Too few: C grows. On target: C stays. */
    assert_true(fabs(fcb_dp_next_clip_norm(2.0, 0.1, 0.5, 0.2) - 2.0 * exp(0.08)) < 1e-15);
    assert_true(fcb_dp_next_clip_norm(2.0, 0.5, 0.5, 0.2) == 2.0);
    assert_true(fcb_dp_next_clip_norm(2.0, 0.0, 0.5, 0.0) == 2.0);
}

/* One round: m updates of dimension 3 with the given norms, clipped at C;
 * returns how many were not clipped. */
static int count_unclipped(const double *norms, int m, double clip_norm)
{
    int unclipped = 0;
    for (int i = 0; i < m; i++) {
        /* A fixed direction (2, -1, 2) / 3 scaled to the norm. */
        float update[3] = {(float)(norms[i] * 2.0 / 3.0), (float)(-norms[i] / 3.0),
                           (float)(norms[i] * 2.0 / 3.0)};
        double norm = 0.0;
        int clipped = 0;
        assert_int_equal(fcb_dp_clip(update, 3, clip_norm, &norm, &clipped), FCB_OK);
        unclipped += !clipped;
    }
    return unclipped;
}

static void test_adaptive_clip_reaches_the_target_quantile(void **state)
{
    (void)state;
    /* Norms spread evenly over [0, 10] (the midpoints of 100 equal cells):
     * the gamma quantile is 10 gamma. From C = 0.1, no noise, eta 0.2: about
     * 40 rounds to climb to 5, then it stays within one cell. */
    enum { M = 100 };
    double grid[M];
    for (int i = 0; i < M; i++)
        grid[i] = (i + 0.5) / 10.0;
    const double targets[] = {0.5, 0.9, 0.2};
    for (int t = 0; t < 3; t++) {
        fcb_dp_config config = fcb_dp_config_defaults();
        config.adaptive = 1;
        config.clip_norm = 0.1;
        config.target_quantile = targets[t];
        double clip_norm = config.clip_norm;
        for (int round = 0; round < 400; round++) {
            int unclipped = count_unclipped(grid, M, clip_norm);
            assert_int_equal(fcb_dp_adapt_clip_norm(&config, unclipped, M, NULL, &clip_norm), FCB_OK);
            if (round >= 200 && fabs(clip_norm - 10.0 * targets[t]) > 0.15)
                fail_msg("target %g, round %d: C = %g", targets[t], round, clip_norm);
        }
    }

    /* Fresh norms uniform on [0, 10] every round and a noisy count
     * (sigma_b = m / 20, as Andrew et al.): the average C over the last 1000
     * of 1500 rounds is near the median 5. */
    fcb_dp_config config = fcb_dp_config_defaults();
    config.adaptive = 1;
    config.clip_norm = 0.1;
    config.clipped_count_stddev = M / 20.0;
    double clip_norm = config.clip_norm, late_total = 0.0;
    for (int round = 0; round < 1500; round++) {
        fcb_rng norms_rng, count_rng;
        fcb_rng_init(&norms_rng, 9, FCB_STREAM_TEST, 0, (uint32_t)round);
        fcb_rng_init(&count_rng, 9, FCB_STREAM_DP_NOISE, 0, (uint32_t)round);
        double norms[M];
        for (int i = 0; i < M; i++)
            norms[i] = 10.0 * fcb_rng_uniform(&norms_rng);
        int unclipped = count_unclipped(norms, M, clip_norm);
        assert_int_equal(fcb_dp_adapt_clip_norm(&config, unclipped, M, &count_rng, &clip_norm),
                         FCB_OK);
        if (round >= 500)
            late_total += clip_norm;
    }
    double late_mean = late_total / 1000.0;
    if (fabs(late_mean - 5.0) > 0.25)
        fail_msg("mean C over rounds 500..1499 = %g, expected near 5", late_mean);
}

static void test_sum_noise_multiplier_accounts_for_the_count(void **state)
{
    (void)state;
    fcb_dp_config config = fcb_dp_config_defaults();
    double z_sum = 0.0;
    /* Fixed clipping: the sum gets z itself. */
    assert_int_equal(fcb_dp_sum_noise_multiplier(&config, &z_sum), FCB_OK);
    assert_true(z_sum == 1.0);

    /* Adaptive, z 1, sigma_b 5: (1 - 1/100)^(-1/2). */
    config.adaptive = 1;
    config.clipped_count_stddev = 5.0;
    assert_int_equal(fcb_dp_sum_noise_multiplier(&config, &z_sum), FCB_OK);
    assert_true(fabs(z_sum - 1.0 / sqrt(0.99)) < 1e-14);
    /* Composition check: 1/z^2 = 1/z_sum^2 + 1/(2 sigma_b)^2. */
    assert_true(fabs(1.0 / (z_sum * z_sum) + 1.0 / 100.0 - 1.0) < 1e-14);

    /* 2 sigma_b <= z: the count alone costs more than the budget. */
    config.clipped_count_stddev = 0.5;
    assert_int_equal(fcb_dp_sum_noise_multiplier(&config, &z_sum), FCB_ERR_CONFIG);
    assert_non_null(strstr(fcb_last_error(), "dp.clipped_count_stddev = 0.5"));
    /* No noise at all: nothing to split. */
    config.noise_multiplier = 0.0;
    assert_int_equal(fcb_dp_sum_noise_multiplier(&config, &z_sum), FCB_OK);
    assert_true(z_sum == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_validation_names_the_field),
        cmocka_unit_test(test_clip_scales_long_updates_to_the_norm),
        cmocka_unit_test(test_clip_leaves_short_updates_alone),
        cmocka_unit_test(test_noise_has_the_right_moments),
        cmocka_unit_test(test_noisy_fraction_moments),
        cmocka_unit_test(test_geometric_update_closed_form),
        cmocka_unit_test(test_adaptive_clip_reaches_the_target_quantile),
        cmocka_unit_test(test_sum_noise_multiplier_accounts_for_the_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
