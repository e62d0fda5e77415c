/* Robust aggregation: closed forms on hand cases, rejection of bad
 * parameters by name, and robustness to 20% sign-flipped, scaled-up rows. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "robust_aggregate.h"

static void assert_message(fcb_status status, fcb_status expected_status, const char *expected)
{
    assert_int_equal(status, expected_status);
    if (strstr(fcb_last_error(), expected) == NULL)
        fail_msg("message '%s' does not contain '%s'", fcb_last_error(), expected);
}

static void test_names_round_trip(void **state)
{
    (void)state;
    const fcb_robust_kind kinds[] = {FCB_ROBUST_MEDIAN, FCB_ROBUST_TRIMMED_MEAN,
                                     FCB_ROBUST_NORM_BOUND};
    const char *names[] = {"median", "trimmed_mean", "norm_bound"};
    for (int i = 0; i < 3; i++) {
        fcb_robust_kind kind;
        assert_string_equal(fcb_robust_kind_name(kinds[i]), names[i]);
        assert_int_equal(fcb_robust_kind_from_name(names[i], &kind), FCB_OK);
        assert_int_equal(kind, kinds[i]);
    }
    fcb_robust_kind kind;
    assert_message(fcb_robust_kind_from_name("krum", &kind), FCB_ERR_CONFIG, "'krum'");
    assert_int_equal(fcb_robust_kind_from_name(NULL, &kind), FCB_ERR_CONFIG);
}

static void test_parameters_rejected_by_name(void **state)
{
    (void)state;
    fcb_robust_config config = fcb_robust_config_defaults(FCB_ROBUST_TRIMMED_MEAN);
    assert_int_equal(fcb_robust_config_validate(&config), FCB_OK);
    config.trim_fraction = 0.5;
    assert_message(fcb_robust_config_validate(&config), FCB_ERR_CONFIG,
                   "aggregation.trim_fraction = 0.5: must be in [0, 0.5)");
    config.trim_fraction = -0.1;
    assert_message(fcb_robust_config_validate(&config), FCB_ERR_CONFIG,
                   "aggregation.trim_fraction = -0.1: must be in [0, 0.5)");
    config.trim_fraction = NAN;
    assert_message(fcb_robust_config_validate(&config), FCB_ERR_CONFIG,
                   "aggregation.trim_fraction");
    config.trim_fraction = 0.0;
    assert_int_equal(fcb_robust_config_validate(&config), FCB_OK);
    config.trim_fraction = 0.499;
    assert_int_equal(fcb_robust_config_validate(&config), FCB_OK);
    config.max_norm = 0.0;
    assert_message(fcb_robust_config_validate(&config), FCB_ERR_CONFIG,
                   "aggregation.max_norm = 0: must be > 0");
    config.max_norm = -3.0;
    assert_message(fcb_robust_config_validate(&config), FCB_ERR_CONFIG,
                   "aggregation.max_norm = -3: must be > 0");

    /* The direct functions reject the same way and write nothing. */
    const float rows[] = {1.0f, 2.0f, 3.0f};
    double scratch[3];
    float out[1] = {42.0f};
    assert_message(fcb_robust_trimmed_mean(rows, 3, 1, 0.5, scratch, out), FCB_ERR_CONFIG,
                   "aggregation.trim_fraction = 0.5: must be in [0, 0.5)");
    assert_message(fcb_robust_norm_bounded_mean(rows, 3, 1, 0.0, scratch, out), FCB_ERR_CONFIG,
                   "aggregation.max_norm = 0");
    assert_true(out[0] == 42.0f);
}

static void test_bad_rows_rejected(void **state)
{
    (void)state;
    const float rows[] = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, INFINITY};
    double scratch[3];
    float out[2];
    assert_message(fcb_robust_median(rows, 3, 2, scratch, out), FCB_ERR_ARG, "row 2 value 1");
    assert_message(fcb_robust_median(rows, 0, 2, scratch, out), FCB_ERR_ARG, "m = 0");
    fcb_robust_config config = fcb_robust_config_defaults(FCB_ROBUST_MEDIAN);
    assert_int_equal(fcb_robust_scratch_size(3, 2), 3);
    assert_int_equal(fcb_robust_scratch_size(3, 7), 7);
    assert_message(fcb_robust_aggregate(&config, rows, 2, 2, scratch, 1, out), FCB_ERR_ARG,
                   "scratch of 1 doubles, need 2");
}

static void test_median_closed_forms(void **state)
{
    (void)state;
    double scratch[4];
    float out[2];
    /* Odd m: the middle value per coordinate. */
    const float odd[] = {1.0f, 5.0f, 3.0f, -2.0f, 2.0f, 0.0f};
    assert_int_equal(fcb_robust_median(odd, 3, 2, scratch, out), FCB_OK);
    assert_true(out[0] == 2.0f && out[1] == 0.0f);
    /* Even m: the mean of the two middle values. Columns {1, 10, 3, 2} and
     * {-1, 4, 4, -1}. */
    const float even[] = {1.0f, -1.0f, 10.0f, 4.0f, 3.0f, 4.0f, 2.0f, -1.0f};
    assert_int_equal(fcb_robust_median(even, 4, 2, scratch, out), FCB_OK);
    assert_true(out[0] == 2.5f && out[1] == 1.5f);
    /* One row: itself. */
    assert_int_equal(fcb_robust_median(odd, 1, 2, scratch, out), FCB_OK);
    assert_true(out[0] == 1.0f && out[1] == 5.0f);
}

static void test_trim_count_is_floor_of_beta_m(void **state)
{
    (void)state;
    assert_int_equal(fcb_robust_trim_count(0.0, 7), 0);
    assert_int_equal(fcb_robust_trim_count(0.1, 5), 0);
    assert_int_equal(fcb_robust_trim_count(0.2, 5), 1);
    assert_int_equal(fcb_robust_trim_count(0.2, 10), 2);
    assert_int_equal(fcb_robust_trim_count(0.29, 10), 2);
    assert_int_equal(fcb_robust_trim_count(0.29, 100), 29);
    assert_int_equal(fcb_robust_trim_count(0.3, 10), 3);
    assert_int_equal(fcb_robust_trim_count(0.49, 3), 1);
    assert_int_equal(fcb_robust_trim_count(0.499, 1000), 499);
}

static void test_trimmed_mean_closed_forms(void **state)
{
    (void)state;
    double scratch[10];
    float out[1];
    /* {1, 2, 3, 4, 100}: beta 0.2 drops 1 and 100 -> 3; beta 0.1 drops
     * nothing -> 22. */
    const float column[] = {4.0f, 100.0f, 1.0f, 3.0f, 2.0f};
    assert_int_equal(fcb_robust_trimmed_mean(column, 5, 1, 0.2, scratch, out), FCB_OK);
    assert_true(out[0] == 3.0f);
    assert_int_equal(fcb_robust_trimmed_mean(column, 5, 1, 0.1, scratch, out), FCB_OK);
    assert_true(out[0] == 22.0f);
    /* Ten values with an outlier on each side: beta 0.2 drops two from each
     * end of -3e7 1 2 3 4 5 6 7 8 1e6 and keeps 2..7, mean 4.5. */
    const float ten[] = {1e6f, 7.0f, 2.0f, 5.0f, 1.0f, 8.0f, -3e7f, 6.0f, 3.0f, 4.0f};
    assert_int_equal(fcb_robust_trimmed_mean(ten, 10, 1, 0.2, scratch, out), FCB_OK);
    assert_true(out[0] == 4.5f);

    /* beta 0 is the plain mean (in double, rounded once). */
    enum { M = 9, DIM = 13 };
    float rows[M * DIM];
    fcb_rng rng;
    fcb_rng_init(&rng, 3, FCB_STREAM_TEST, 0, 0);
    for (int i = 0; i < M * DIM; i++)
        rows[i] = (float)(fcb_rng_normal(&rng) * pow(10.0, (double)(i % 5)));
    float trimmed[DIM];
    assert_int_equal(fcb_robust_trimmed_mean(rows, M, DIM, 0.0, scratch, trimmed), FCB_OK);
    for (int j = 0; j < DIM; j++) {
        double mean = 0.0, magnitude = 0.0;
        for (int i = 0; i < M; i++) {
            mean += rows[i * DIM + j];
            magnitude += fabs(rows[i * DIM + j]);
        }
        mean /= M;
        /* The sorted and the row-order double sums differ by rounding only. */
        assert_true(fabs(trimmed[j] - mean) <= 1e-6 * fabs(mean) + 1e-14 * magnitude);
    }
}

static void test_norm_bound_closed_form(void **state)
{
    (void)state;
    double scratch[2];
    float out[2];
    /* (3, 4) has norm 5 and is scaled to (0.6, 0.8); (0.3, 0.4) stays.
     * Mean (0.45, 0.6). */
    const float rows[] = {3.0f, 4.0f, 0.3f, 0.4f};
    assert_int_equal(fcb_robust_norm_bounded_mean(rows, 2, 2, 1.0, scratch, out), FCB_OK);
    assert_true(fabs(out[0] - 0.45) < 1e-7 && fabs(out[1] - 0.6) < 1e-7);
    /* A bound above every norm: the plain mean. */
    assert_int_equal(fcb_robust_norm_bounded_mean(rows, 2, 2, 100.0, scratch, out), FCB_OK);
    assert_true(fabs(out[0] - 1.65) < 1e-6 && fabs(out[1] - 2.2) < 1e-6);
}

static void test_dispatch_matches_direct_calls(void **state)
{
    (void)state;
    enum { M = 7, DIM = 5 };
    float rows[M * DIM];
    fcb_rng rng;
    fcb_rng_init(&rng, 8, FCB_STREAM_TEST, 0, 0);
    for (int i = 0; i < M * DIM; i++)
        rows[i] = (float)fcb_rng_normal(&rng);
    double scratch[M];
    float direct[DIM], dispatched[DIM];

    fcb_robust_config config = fcb_robust_config_defaults(FCB_ROBUST_MEDIAN);
    assert_int_equal(fcb_robust_median(rows, M, DIM, scratch, direct), FCB_OK);
    assert_int_equal(fcb_robust_aggregate(&config, rows, M, DIM, scratch, M, dispatched), FCB_OK);
    assert_memory_equal(direct, dispatched, sizeof direct);

    config = fcb_robust_config_defaults(FCB_ROBUST_TRIMMED_MEAN);
    config.trim_fraction = 0.3;
    assert_int_equal(fcb_robust_trimmed_mean(rows, M, DIM, 0.3, scratch, direct), FCB_OK);
    assert_int_equal(fcb_robust_aggregate(&config, rows, M, DIM, scratch, M, dispatched), FCB_OK);
    assert_memory_equal(direct, dispatched, sizeof direct);

    config = fcb_robust_config_defaults(FCB_ROBUST_NORM_BOUND);
    config.max_norm = 1.5;
    assert_int_equal(fcb_robust_norm_bounded_mean(rows, M, DIM, 1.5, scratch, direct), FCB_OK);
    assert_int_equal(fcb_robust_aggregate(&config, rows, M, DIM, scratch, M, dispatched), FCB_OK);
    assert_memory_equal(direct, dispatched, sizeof direct);
}

static void insertion_sort(double *v, int n)
{
    for (int i = 1; i < n; i++) {
        double x = v[i];
        int j = i - 1;
        for (; j >= 0 && v[j] > x; j--)
            v[j + 1] = v[j];
        v[j + 1] = x;
    }
}

static void test_large_columns_match_a_reference_sort(void **state)
{
    (void)state;
    /* Hundreds of rows with many ties (values on a 0.5 grid): the median
     * and the trimmed mean equal those of a plain insertion sort, bit for
     * bit (the same sorted values summed in the same order). */
    enum { MAX_M = 301, DIM = 4 };
    static float rows[MAX_M * DIM];
    static double column[MAX_M], scratch[MAX_M];
    const int sizes[] = {301, 300, 2, 129};
    fcb_rng rng;
    fcb_rng_init(&rng, 21, FCB_STREAM_TEST, 0, 0);
    for (int s = 0; s < 4; s++) {
        int m = sizes[s];
        for (int i = 0; i < m * DIM; i++)
            rows[i] = (float)(0.5 * floor(20.0 * fcb_rng_normal(&rng)));
        float median[DIM], trimmed[DIM];
        assert_int_equal(fcb_robust_median(rows, m, DIM, scratch, median), FCB_OK);
        assert_int_equal(fcb_robust_trimmed_mean(rows, m, DIM, 0.23, scratch, trimmed), FCB_OK);
        int k = fcb_robust_trim_count(0.23, m);
        for (int j = 0; j < DIM; j++) {
            for (int i = 0; i < m; i++)
                column[i] = rows[i * DIM + j];
            insertion_sort(column, m);
            double middle = m % 2 ? column[m / 2] : 0.5 * (column[m / 2 - 1] + column[m / 2]);
            assert_true(median[j] == (float)middle);
            double sum = 0.0;
            for (int i = k; i < m - k; i++)
                sum += column[i];
            assert_true(trimmed[j] == (float)(sum / (m - 2 * k)));
        }
    }
}

enum { ATTACK_M = 50, ATTACK_DIM = 20, ATTACKERS = 10 };

/* Clean rows mu + N(0, 0.1^2), |mu_j| in [0.5, 1]; attackers (every fifth
 * row, 20 %) send -1000 times their clean row. */
static void make_attacked_round(float *clean, float *attacked, double *clean_mean)
{
    fcb_rng rng;
    fcb_rng_init(&rng, 77, FCB_STREAM_TEST, 0, 0);
    double mu[ATTACK_DIM];
    for (int j = 0; j < ATTACK_DIM; j++)
        mu[j] = (j % 2 ? -1.0 : 1.0) * (0.5 + 0.5 * fcb_rng_uniform(&rng));
    for (int j = 0; j < ATTACK_DIM; j++)
        clean_mean[j] = 0.0;
    for (int i = 0; i < ATTACK_M; i++) {
        for (int j = 0; j < ATTACK_DIM; j++) {
            int cell = i * ATTACK_DIM + j;
            clean[cell] = (float)(mu[j] + 0.1 * fcb_rng_normal(&rng));
            clean_mean[j] += clean[cell] / (double)ATTACK_M;
            attacked[cell] = i % 5 == 0 ? -1000.0f * clean[cell] : clean[cell];
        }
    }
}

static double max_deviation(const float *estimate, const double *reference)
{
    double worst = 0.0;
    for (int j = 0; j < ATTACK_DIM; j++)
        worst = fmax(worst, fabs(estimate[j] - reference[j]));
    return worst;
}

static void test_robust_to_sign_flipped_outliers(void **state)
{
    (void)state;
    static float clean[ATTACK_M * ATTACK_DIM], attacked[ATTACK_M * ATTACK_DIM];
    double clean_mean[ATTACK_DIM];
    make_attacked_round(clean, attacked, clean_mean);
    double scratch[ATTACK_M];
    float median[ATTACK_DIM], trimmed[ATTACK_DIM], bounded[ATTACK_DIM], plain[ATTACK_DIM];

    assert_int_equal(fcb_robust_median(attacked, ATTACK_M, ATTACK_DIM, scratch, median), FCB_OK);
    assert_int_equal(
        fcb_robust_trimmed_mean(attacked, ATTACK_M, ATTACK_DIM, 0.2, scratch, trimmed), FCB_OK);
    assert_int_equal(fcb_robust_trimmed_mean(attacked, ATTACK_M, ATTACK_DIM, 0.0, scratch, plain),
                     FCB_OK);

    /* The noise is 0.1 per coordinate; the median and the trimmed mean of
     * the honest 80 % are within about half of it of the clean mean, the
     * plain mean is dragged about 200 |mu| away. */
    double median_error = max_deviation(median, clean_mean);
    double trimmed_error = max_deviation(trimmed, clean_mean);
    double plain_error = max_deviation(plain, clean_mean);
    if (!(median_error < 0.1 && trimmed_error < 0.1))
        fail_msg("median off by %g, trimmed mean by %g", median_error, trimmed_error);
    if (!(plain_error > 50.0))
        fail_msg("plain mean off by only %g", plain_error);

    /* Norm bounding at M: each attacker moves the mean by at most
     * (M + its clean norm) / m in L2. */
    double clean_norm_max = 0.0;
    for (int i = 0; i < ATTACK_M; i++) {
        double squares = 0.0;
        for (int j = 0; j < ATTACK_DIM; j++)
            squares += (double)clean[i * ATTACK_DIM + j] * clean[i * ATTACK_DIM + j];
        clean_norm_max = fmax(clean_norm_max, sqrt(squares));
    }
    double bound = 1.2 * clean_norm_max;
    assert_int_equal(
        fcb_robust_norm_bounded_mean(attacked, ATTACK_M, ATTACK_DIM, bound, scratch, bounded),
        FCB_OK);
    double distance = 0.0;
    for (int j = 0; j < ATTACK_DIM; j++)
        distance += (bounded[j] - clean_mean[j]) * (bounded[j] - clean_mean[j]);
    distance = sqrt(distance);
    double limit = ATTACKERS * (bound + clean_norm_max) / ATTACK_M + 1e-5;
    if (!(distance <= limit))
        fail_msg("norm-bounded mean %g from the clean mean, bound %g", distance, limit);
    assert_true(plain_error > 20.0 * limit);
}

static void test_deterministic_and_order_free(void **state)
{
    (void)state;
    static float clean[ATTACK_M * ATTACK_DIM], attacked[ATTACK_M * ATTACK_DIM];
    static float reversed[ATTACK_M * ATTACK_DIM];
    double clean_mean[ATTACK_DIM];
    make_attacked_round(clean, attacked, clean_mean);
    for (int i = 0; i < ATTACK_M; i++)
        memcpy(reversed + i * ATTACK_DIM, attacked + (ATTACK_M - 1 - i) * ATTACK_DIM,
               ATTACK_DIM * sizeof(float));
    double scratch[ATTACK_M];
    float first[ATTACK_DIM], second[ATTACK_DIM];
    /* Median and trimmed mean depend on the values per coordinate only. */
    assert_int_equal(fcb_robust_median(attacked, ATTACK_M, ATTACK_DIM, scratch, first), FCB_OK);
    assert_int_equal(fcb_robust_median(reversed, ATTACK_M, ATTACK_DIM, scratch, second), FCB_OK);
    assert_memory_equal(first, second, sizeof first);
    assert_int_equal(fcb_robust_trimmed_mean(attacked, ATTACK_M, ATTACK_DIM, 0.1, scratch, first),
                     FCB_OK);
    assert_int_equal(fcb_robust_trimmed_mean(reversed, ATTACK_M, ATTACK_DIM, 0.1, scratch, second),
                     FCB_OK);
    assert_memory_equal(first, second, sizeof first);
    /* Norm bounding, called twice on the same rows: the same bytes. */
    assert_int_equal(
        fcb_robust_norm_bounded_mean(attacked, ATTACK_M, ATTACK_DIM, 2.0, scratch, first), FCB_OK);
    assert_int_equal(
        fcb_robust_norm_bounded_mean(attacked, ATTACK_M, ATTACK_DIM, 2.0, scratch, second), FCB_OK);
    assert_memory_equal(first, second, sizeof first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_parameters_rejected_by_name),
        cmocka_unit_test(test_bad_rows_rejected),
        cmocka_unit_test(test_median_closed_forms),
        cmocka_unit_test(test_trim_count_is_floor_of_beta_m),
        cmocka_unit_test(test_trimmed_mean_closed_forms),
        cmocka_unit_test(test_norm_bound_closed_form),
        cmocka_unit_test(test_large_columns_match_a_reference_sort),
        cmocka_unit_test(test_dispatch_matches_direct_calls),
        cmocka_unit_test(test_robust_to_sign_flipped_outliers),
        cmocka_unit_test(test_deterministic_and_order_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
