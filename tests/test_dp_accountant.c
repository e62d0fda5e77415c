/* The RDP accountant against published reference values, an independent
 * numerical integral, and its structural facts.
 *
 * Reference values and their sources:
 *   [R1] tensorflow/privacy, tensorflow_privacy/privacy/analysis/
 *        rdp_accountant_test.py, test_compute_rdp_sequence:
 *        compute_rdp(q=0.01, z=2.5, steps=50, orders [1.5, 2.5, 5, 50, 100])
 *        = [0.00065, 0.001085, 0.00218075, 0.023846, 167.416307] (+-1e-5).
 *        (dp_accounting's rdp_privacy_accountant_test.py has 6.70579741e-04
 *        at order 1.5: it adds the series' coefficients by absolute value,
 *        an upper bound; we use the signed, exact series, see [R8].)
 *   [R2] same file, test_compute_rdp_scalar: compute_rdp(0.1, 2, 10, 5) = 0.07737.
 *   [R3] same file, test_get_privacy_spent_check_target_delta: orders 2..32,
 *        RDP 1.1 at each, delta 1e-5 -> eps 1.32783806176 at order 32 (tight
 *        conversion); q = 1, z = 4.530877117, orders 0.001 i for
 *        i = 1000..99999, delta 1e-6 -> eps 1 (we start at order 1.001).
 *   [R4] same file, test_check_composition: orders (1.25 ... 256),
 *        compute_rdp(1e-4, 0.4, 40000) + compute_rdp(0.1, 2, 100),
 *        delta 1e-5, classic conversion -> eps 8.509656 at order 2.5.
 *   [R5] tensorflow_privacy/privacy/analysis/compute_dp_sgd_privacy_test.py,
 *        test_compute_dp_sgd_privacy (orders [1.25, 1.5, 1.75, 2, 2.25, 2.5,
 *        3, 3.5, 4, 4.5] + 5..63 + [128, 256, 512], steps = ceil(epochs n /
 *        batch), tight conversion):
 *          Test0 n 60000, batch 150, z 1.3, 15 epochs, delta 1e-5 -> 0.7242234026109595, order 19
 *          Test1 n 100000, batch 100, z 1.0, 30 epochs, delta 1e-7 -> 1.4154988495444842, order 13
 *          Test2 n 1e8, batch 1024, z 0.1, 10 epochs, delta 1e-7 -> 5907982.3113978775, order 1.25
 *   [R6] tensorflow/privacy tutorials/README.md (MNIST DP-SGD, n 60000,
 *        batch 256, steps = epochs x (60000 // 256), orders 1 + x/10 and
 *        12..63 as in mnist_dpsgd_tutorial.py, classic conversion of 2019,
 *        delta 1e-5): z 1.12 -> eps 1.00 after 1 epoch, 1.04 after 2, 2.92
 *        after 60; table: z 0.6, 30 epochs -> 9.74; z 1.2, 10 epochs -> 1.20.
 *   [R7] pytorch/opacus, opacus/tests/accountants_test.py,
 *        test_rdp_accountant: q 0.04, z 1.5, steps int(90 / 0.04) = 2250,
 *        orders 1 + x/10 and 12..63, tight conversion, delta 1e-5
 *        -> 7.32911117143.
 *   [R8] A_alpha = E_{x ~ N(0, z^2)} [((1 - q) + q exp((2x - 1) / (2 z^2)))^alpha]
 *        (Mironov, Talwar, Zhang 2019, Sec. 3), integrated numerically here. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dp_accountant.h"

static void assert_relative(double actual, double expected, double tolerance)
{
    if (!(fabs(actual - expected) <= tolerance * fabs(expected)))
        fail_msg("got %.12g, expected %.12g within %g relative", actual, expected, tolerance);
}

static void assert_rejected(fcb_status status, const char *expected_fragment)
{
    assert_int_equal(status, FCB_ERR_ARG);
    const char *message = fcb_last_error();
    if (strstr(message, expected_fragment) == NULL)
        fail_msg("message '%s' does not mention '%s'", message, expected_fragment);
}

/* TF Privacy's compute_dp_sgd_privacy orders ([R5]). */
static int dp_sgd_lib_orders(double *orders)
{
    static const double small[] = {1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 3.0, 3.5, 4.0, 4.5};
    int k = 0;
    for (int i = 0; i < 10; i++)
        orders[k++] = small[i];
    for (int order = 5; order < 64; order++)
        orders[k++] = order;
    orders[k++] = 128;
    orders[k++] = 256;
    orders[k++] = 512;
    return k;
}

/* The MNIST tutorial's and Opacus' orders ([R6], [R7]). */
static int tutorial_orders(double *orders)
{
    int k = 0;
    for (int x = 1; x < 100; x++)
        orders[k++] = 1.0 + x / 10.0;
    for (int order = 12; order < 64; order++)
        orders[k++] = order;
    return k;
}

static double epsilon_of(double q, double z, long steps, const double *orders, int num_orders,
                         double delta, fcb_dp_conversion conversion, double *best_order)
{
    double rdp[256];
    double epsilon = -1.0;
    assert_int_equal(fcb_dp_compute_rdp(q, z, steps, orders, num_orders, rdp), FCB_OK);
    assert_int_equal(fcb_dp_epsilon(orders, rdp, num_orders, delta, conversion, &epsilon, best_order),
                     FCB_OK);
    return epsilon;
}

static void test_rdp_matches_tf_privacy(void **state)
{
    (void)state;
    /* [R1], to TF's absolute tolerance 1e-5 and to 1e-4 relative on the
     * values given with 6 digits or more. */
    const double orders[] = {1.5, 2.5, 5, 50, 100, INFINITY};
    const double expected[] = {0.00065, 0.001085, 0.00218075, 0.023846, 167.416307};
    double rdp[6];
    assert_int_equal(fcb_dp_compute_rdp(0.01, 2.5, 50, orders, 6, rdp), FCB_OK);
    for (int k = 0; k < 5; k++)
        assert_true(fabs(rdp[k] - expected[k]) <= 1e-5);
    for (int k = 2; k < 5; k++)
        assert_relative(rdp[k], expected[k], 1e-4);
    assert_true(isinf(rdp[5]) && rdp[5] > 0.0);

    /* [R2] */
    double order = 5.0;
    assert_int_equal(fcb_dp_compute_rdp(0.1, 2.0, 10, &order, 1, rdp), FCB_OK);
    assert_true(fabs(rdp[0] - 0.07737) <= 5e-6);
}

static double integrand(double x, double q, double z, double alpha)
{
    double density = exp(-x * x / (2.0 * z * z)) / (z * sqrt(2.0 * 3.14159265358979323846));
    return density * pow((1.0 - q) + q * exp((2.0 * x - 1.0) / (2.0 * z * z)), alpha);
}

/* Simpson's rule over [-40 z, 40 z + 1]: the Gaussian weight is below e^-800
 * outside, far beyond what the polynomial growth of the other factor can
 * lift for these parameters. */
static double a_alpha_by_integration(double q, double z, double alpha)
{
    const int n = 200000;
    double low = -40.0 * z, high = 40.0 * z + 1.0;
    double h = (high - low) / n;
    double sum = integrand(low, q, z, alpha) + integrand(high, q, z, alpha);
    for (int i = 1; i < n; i++)
        sum += (i % 2 ? 4.0 : 2.0) * integrand(low + i * h, q, z, alpha);
    return sum * h / 3.0;
}

static void test_series_match_numerical_integral(void **state)
{
    (void)state;
    /* [R8]: both series against the integral, fractional orders where the
     * signs of the generalised binomial coefficients matter (the first two
     * differ by 0.04 % and 3 % from the absolute-value sum). */
    const double cases[][3] = {
        {1e-4, 1.0, 1.5}, {0.01, 2.5, 1.5}, {0.1, 2.0, 2.5},  {0.5, 0.8, 3.3},
        {0.1, 100.0, 20.5}, {0.01, 1.1, 4.7}, {0.2, 1.0, 7.5}, {0.01, 10.0, 20.0},
        /* Small sigma, moderate q: the series needs thousands of terms. */
        {0.2, 0.5, 1.5}, {0.2, 0.5, 2.5}, {0.2, 0.5, 3.75}, {0.2, 0.3, 1.25}, {0.2, 0.3, 1.75},
        {0.2, 0.3, 2.5}, {0.1, 0.4, 3.5},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double q = cases[c][0], z = cases[c][1], alpha = cases[c][2];
        double exact = log(a_alpha_by_integration(q, z, alpha));
        double series = fcb_dp_log_a_fractional(q, z, alpha);
        /* Simpson's error is about 1e-14 absolute on A near 1. */
        if (!(fabs(series - exact) <= 1e-6 * fabs(exact) + 1e-13))
            fail_msg("q %g z %g alpha %g: series %.12g, integral %.12g", q, z, alpha, series, exact);
        if (alpha == floor(alpha))
            assert_relative(fcb_dp_log_a_integer(q, z, (int)alpha), exact, 1e-6);
    }
}

static void test_integer_and_fractional_paths_agree(void **state)
{
    (void)state;
    /* An integer order run through the two-series method: its binomial
     * coefficients vanish after alpha, and erfc(x) + erfc(-x) = 2 makes the
     * two series add up to the integer sum term by term. */
    const double qs[] = {0.001, 0.01, 0.1, 0.5};
    const double zs[] = {0.7, 1.1, 3.0};
    const int alphas[] = {2, 3, 5, 8, 16, 32, 64};
    for (int a = 0; a < 4; a++) {
        for (int b = 0; b < 3; b++) {
            for (int c = 0; c < 7; c++) {
                double by_sum = fcb_dp_log_a_integer(qs[a], zs[b], alphas[c]);
                double by_series = fcb_dp_log_a_fractional(qs[a], zs[b], alphas[c]);
                assert_relative(by_series, by_sum, 1e-9);
            }
        }
    }
    /* And a fractional order next to an integer one is next to it in value. */
    double at_8 = fcb_dp_log_a_integer(0.01, 1.1, 8);
    assert_relative(fcb_dp_log_a_fractional(0.01, 1.1, 8.0 - 1e-7), at_8, 1e-5);
    assert_relative(fcb_dp_log_a_fractional(0.01, 1.1, 8.0 + 1e-7), at_8, 1e-5);
}

/* The privacy report's fmnist-init setting (q = 0.2, 68 rounds, delta =
 * 100^-1.1) at small noise, where the fractional orders win and their
 * series needs thousands of terms: epsilon against values from an
 * independent numerical integration of A_alpha (34.69 at z = 0.5, 115.40
 * at z = 0.3; the series cut at 1000 terms gave 49.58 and 204.58). */
static void test_epsilon_at_small_noise(void **state)
{
    (void)state;
    const double z[] = {0.5, 0.3}, expected[] = {34.69, 115.40};
    for (int c = 0; c < 2; c++) {
        fcb_dp_accountant acc;
        fcb_dp_accountant_init(&acc);
        assert_int_equal(fcb_dp_accountant_add(&acc, 0.2, z[c], 68), FCB_OK);
        double epsilon, best;
        assert_int_equal(fcb_dp_accountant_epsilon(&acc, pow(100.0, -1.1), &epsilon, &best), FCB_OK);
        if (!(fabs(epsilon - expected[c]) <= 0.005))
            fail_msg("z %g: epsilon %.4f at order %g, expected %.2f", z[c], epsilon, best, expected[c]);
        assert_true(best != floor(best)); /* a fractional order is the best one */
    }
}

static void test_dp_sgd_epsilon_matches_tf_privacy(void **state)
{
    (void)state;
    /* [R5] */
    double orders[128];
    int n = dp_sgd_lib_orders(orders);
    const struct {
        double examples, batch, z, epochs, delta, epsilon, order;
    } cases[] = {
        {60000, 150, 1.3, 15, 1e-5, 0.7242234026109595, 19.0},
        {100000, 100, 1.0, 30, 1e-7, 1.4154988495444842, 13.0},
        {100000000, 1024, 0.1, 10, 1e-7, 5907982.3113978775, 1.25},
    };
    for (int c = 0; c < 3; c++) {
        long steps = (long)ceil(cases[c].epochs * cases[c].examples / cases[c].batch);
        double best_order = 0.0;
        double epsilon = epsilon_of(cases[c].batch / cases[c].examples, cases[c].z, steps, orders, n,
                                    cases[c].delta, FCB_DP_CONVERSION_TIGHT, &best_order);
        assert_relative(epsilon, cases[c].epsilon, 1e-6);
        assert_true(best_order == cases[c].order);
    }
}

static void test_mnist_tutorial_epsilons(void **state)
{
    (void)state;
    /* [R6]: published with 3 digits, so within 1 %. */
    double orders[160];
    int n = tutorial_orders(orders);
    const long steps_per_epoch = 60000 / 256;
    const struct {
        double z;
        long epochs;
        double epsilon;
    } cases[] = {{1.12, 1, 1.00}, {1.12, 2, 1.04}, {1.12, 60, 2.92}, {0.6, 30, 9.74}, {1.2, 10, 1.20}};
    for (int c = 0; c < 5; c++) {
        double classic = epsilon_of(256.0 / 60000.0, cases[c].z, cases[c].epochs * steps_per_epoch,
                                    orders, n, 1e-5, FCB_DP_CONVERSION_CLASSIC, NULL);
        assert_relative(classic, cases[c].epsilon, 0.01);
        /* The tight conversion, same RDP: strictly better. */
        double tight = epsilon_of(256.0 / 60000.0, cases[c].z, cases[c].epochs * steps_per_epoch,
                                  orders, n, 1e-5, FCB_DP_CONVERSION_TIGHT, NULL);
        assert_true(tight < classic);
    }
}

static void test_composition_and_opacus_references(void **state)
{
    (void)state;
    /* [R4]: heterogeneous composition, classic conversion. */
    const double orders[] = {1.25, 1.5, 1.75, 2., 2.5, 3., 4., 5., 6., 7., 8.,
                             10., 12., 14., 16., 20., 24., 28., 32., 64., 256.};
    double first[21], second[21];
    assert_int_equal(fcb_dp_compute_rdp(1e-4, 0.4, 40000, orders, 21, first), FCB_OK);
    assert_int_equal(fcb_dp_compute_rdp(0.1, 2.0, 100, orders, 21, second), FCB_OK);
    for (int k = 0; k < 21; k++)
        first[k] += second[k];
    double epsilon = 0.0, best_order = 0.0;
    assert_int_equal(fcb_dp_epsilon(orders, first, 21, 1e-5, FCB_DP_CONVERSION_CLASSIC, &epsilon,
                                    &best_order),
                     FCB_OK);
    assert_relative(epsilon, 8.509656, 1e-6);
    assert_true(best_order == 2.5);

    /* [R7] */
    double tutorial[160];
    int n = tutorial_orders(tutorial);
    assert_relative(epsilon_of(0.04, 1.5, 2250, tutorial, n, 1e-5, FCB_DP_CONVERSION_TIGHT, NULL),
                    7.32911117143, 1e-6);
}

static void test_conversions_by_hand(void **state)
{
    (void)state;
    /* [R3] first part: constant RDP 1.1 = pure DP, the largest order wins. */
    double orders[31], rdp[31];
    for (int k = 0; k < 31; k++) {
        orders[k] = k + 2;
        rdp[k] = 1.1;
    }
    double epsilon = 0.0, best_order = 0.0;
    assert_int_equal(
        fcb_dp_epsilon(orders, rdp, 31, 1e-5, FCB_DP_CONVERSION_TIGHT, &epsilon, &best_order),
        FCB_OK);
    assert_relative(epsilon, 1.32783806176, 1e-10);
    assert_true(best_order == 32.0);
    /* Classic: 1.1 - log(1e-5) / 31 at order 32. */
    assert_int_equal(
        fcb_dp_epsilon(orders, rdp, 31, 1e-5, FCB_DP_CONVERSION_CLASSIC, &epsilon, &best_order),
        FCB_OK);
    assert_relative(epsilon, 1.1 + log(1e5) / 31.0, 1e-12);
    assert_true(best_order == 32.0);

    /* [R3] second part: the Gaussian mechanism tuned to (1, 1e-6)-DP. */
    enum { FINE = 98999 };
    double *fine = malloc(FINE * sizeof *fine);
    double *fine_rdp = malloc(FINE * sizeof *fine_rdp);
    assert_non_null(fine);
    assert_non_null(fine_rdp);
    for (int i = 0; i < FINE; i++)
        fine[i] = 0.001 * (i + 1001);
    assert_int_equal(fcb_dp_compute_rdp(1.0, 4.530877117, 1, fine, FINE, fine_rdp), FCB_OK);
    assert_int_equal(
        fcb_dp_epsilon(fine, fine_rdp, FINE, 1e-6, FCB_DP_CONVERSION_TIGHT, &epsilon, NULL), FCB_OK);
    assert_true(fabs(epsilon - 1.0) < 1e-6);
    free(fine);
    free(fine_rdp);

    /* A tiny RDP gives epsilon 0 through the KL bound: delta >= sqrt(1 - e^-r). */
    double one_order = 2.0, tiny = 1e-12;
    assert_int_equal(
        fcb_dp_epsilon(&one_order, &tiny, 1, 1e-5, FCB_DP_CONVERSION_TIGHT, &epsilon, NULL), FCB_OK);
    assert_true(epsilon == 0.0);
}

static void test_no_sampling_closed_form(void **state)
{
    (void)state;
    /* q = 1: the Gaussian mechanism, alpha steps / (2 z^2) at every order. */
    double orders[FCB_DP_NUM_ORDERS], rdp[FCB_DP_NUM_ORDERS];
    fcb_dp_default_orders(orders);
    const double zs[] = {0.5, 1.1, 10.0};
    for (int b = 0; b < 3; b++) {
        assert_int_equal(fcb_dp_compute_rdp(1.0, zs[b], 7, orders, FCB_DP_NUM_ORDERS, rdp), FCB_OK);
        for (int k = 0; k < FCB_DP_NUM_ORDERS; k++)
            assert_relative(rdp[k], orders[k] * 7.0 / (2.0 * zs[b] * zs[b]), 1e-15);
    }
    /* TF's test_compute_rdp_no_sampling: compute_rdp(1, 10, 1, 20) = 0.1. */
    double order = 20.0;
    assert_int_equal(fcb_dp_compute_rdp(1.0, 10.0, 1, &order, 1, rdp), FCB_OK);
    assert_relative(rdp[0], 0.1, 1e-15);
}

static void test_degenerate_mechanisms(void **state)
{
    (void)state;
    double orders[FCB_DP_NUM_ORDERS], rdp[FCB_DP_NUM_ORDERS];
    fcb_dp_default_orders(orders);
    /* q = 0: nobody is sampled, no privacy loss, even without noise. */
    assert_int_equal(fcb_dp_compute_rdp(0.0, 0.0, 100, orders, FCB_DP_NUM_ORDERS, rdp), FCB_OK);
    for (int k = 0; k < FCB_DP_NUM_ORDERS; k++)
        assert_true(rdp[k] == 0.0);
    double epsilon = -1.0;
    assert_int_equal(fcb_dp_epsilon(orders, rdp, FCB_DP_NUM_ORDERS, 1e-5, FCB_DP_CONVERSION_TIGHT,
                                    &epsilon, NULL),
                     FCB_OK);
    assert_true(epsilon == 0.0);

    /* z = 0: no noise, no privacy. */
    assert_int_equal(fcb_dp_compute_rdp(0.01, 0.0, 1, orders, FCB_DP_NUM_ORDERS, rdp), FCB_OK);
    for (int k = 0; k < FCB_DP_NUM_ORDERS; k++)
        assert_true(isinf(rdp[k]) && rdp[k] > 0.0);
    assert_int_equal(fcb_dp_epsilon(orders, rdp, FCB_DP_NUM_ORDERS, 1e-5, FCB_DP_CONVERSION_TIGHT,
                                    &epsilon, NULL),
                     FCB_OK);
    assert_true(isinf(epsilon));

    /* Zero steps of a non-private mechanism cost nothing. */
    assert_int_equal(fcb_dp_compute_rdp(0.5, 0.0, 0, orders, FCB_DP_NUM_ORDERS, rdp), FCB_OK);
    assert_true(rdp[0] == 0.0 && rdp[FCB_DP_NUM_ORDERS - 1] == 0.0);
}

static void test_monotone_in_noise_and_steps(void **state)
{
    (void)state;
    double orders[FCB_DP_NUM_ORDERS];
    fcb_dp_default_orders(orders);
    double rdp[FCB_DP_NUM_ORDERS], previous[FCB_DP_NUM_ORDERS];

    /* More noise: smaller RDP at every order, smaller epsilon. */
    const double zs[] = {0.6, 0.8, 1.0, 1.5, 3.0, 8.0};
    double last_epsilon = INFINITY;
    for (int b = 0; b < 6; b++) {
        assert_int_equal(fcb_dp_compute_rdp(0.01, zs[b], 1000, orders, FCB_DP_NUM_ORDERS, rdp),
                         FCB_OK);
        for (int k = 0; b > 0 && k < FCB_DP_NUM_ORDERS; k++) {
            if (!(rdp[k] < previous[k]))
                fail_msg("z %g order %g: RDP %g not below %g", zs[b], orders[k], rdp[k], previous[k]);
        }
        double epsilon = 0.0;
        assert_int_equal(fcb_dp_epsilon(orders, rdp, FCB_DP_NUM_ORDERS, 1e-5,
                                        FCB_DP_CONVERSION_TIGHT, &epsilon, NULL),
                         FCB_OK);
        assert_true(epsilon < last_epsilon);
        last_epsilon = epsilon;
        memcpy(previous, rdp, sizeof rdp);
    }

    /* More steps: RDP grows linearly, epsilon grows. */
    double one[FCB_DP_NUM_ORDERS];
    assert_int_equal(fcb_dp_compute_rdp(0.02, 1.1, 1, orders, FCB_DP_NUM_ORDERS, one), FCB_OK);
    last_epsilon = 0.0;
    const long steps[] = {1, 10, 100, 1000, 10000};
    for (int s = 0; s < 5; s++) {
        assert_int_equal(fcb_dp_compute_rdp(0.02, 1.1, steps[s], orders, FCB_DP_NUM_ORDERS, rdp),
                         FCB_OK);
        for (int k = 0; k < FCB_DP_NUM_ORDERS; k++)
            assert_relative(rdp[k], one[k] * (double)steps[s], 1e-14);
        double epsilon = 0.0;
        assert_int_equal(fcb_dp_epsilon(orders, rdp, FCB_DP_NUM_ORDERS, 1e-5,
                                        FCB_DP_CONVERSION_TIGHT, &epsilon, NULL),
                         FCB_OK);
        assert_true(epsilon > last_epsilon);
        last_epsilon = epsilon;
    }
}

static void test_accountant_accumulates_changing_steps(void **state)
{
    (void)state;
    double orders[FCB_DP_NUM_ORDERS];
    fcb_dp_default_orders(orders);
    fcb_dp_accountant acc;
    fcb_dp_accountant_init(&acc);
    for (int k = 0; k < FCB_DP_NUM_ORDERS; k++)
        assert_true(acc.orders[k] == orders[k]);
    assert_true(orders[0] == 1.1 && orders[98] == 10.9 && orders[99] == 12.0 &&
                orders[150] == 63.0 && orders[153] == 512.0);

    /* Rounds with changing (q, z), and back to an earlier pair. */
    const struct {
        double q, z;
        long steps;
    } rounds[] = {{0.01, 1.1, 3}, {0.02, 0.9, 1}, {0.01, 1.1, 2}, {0.05, 2.0, 4}, {0.0, 0.0, 5}};
    double expected[FCB_DP_NUM_ORDERS] = {0};
    double last_epsilon = 0.0;
    for (int r = 0; r < 5; r++) {
        double part[FCB_DP_NUM_ORDERS];
        assert_int_equal(fcb_dp_compute_rdp(rounds[r].q, rounds[r].z, rounds[r].steps, orders,
                                            FCB_DP_NUM_ORDERS, part),
                         FCB_OK);
        for (int k = 0; k < FCB_DP_NUM_ORDERS; k++)
            expected[k] += part[k];
        assert_int_equal(fcb_dp_accountant_add(&acc, rounds[r].q, rounds[r].z, rounds[r].steps),
                         FCB_OK);
        for (int k = 0; k < FCB_DP_NUM_ORDERS; k++)
            assert_relative(acc.rdp[k], expected[k], 1e-14);

        double epsilon = 0.0, direct = 0.0, best = 0.0;
        assert_int_equal(fcb_dp_accountant_epsilon(&acc, 1e-5, &epsilon, &best), FCB_OK);
        assert_int_equal(fcb_dp_epsilon(orders, expected, FCB_DP_NUM_ORDERS, 1e-5,
                                        FCB_DP_CONVERSION_TIGHT, &direct, NULL),
                         FCB_OK);
        assert_relative(epsilon, direct, 1e-12);
        assert_true(epsilon >= last_epsilon);
        last_epsilon = epsilon;
    }
    assert_int_equal(acc.steps, 15);

    /* [R5] Test0 one round at a time: 6000 steps of q 0.0025, z 1.3; its best
     * order 19 is among the default orders, so epsilon is the same. */
    fcb_dp_accountant_init(&acc);
    for (int step = 0; step < 6000; step++)
        assert_int_equal(fcb_dp_accountant_add(&acc, 150.0 / 60000.0, 1.3, 1), FCB_OK);
    double epsilon = 0.0, best = 0.0;
    assert_int_equal(fcb_dp_accountant_epsilon(&acc, 1e-5, &epsilon, &best), FCB_OK);
    assert_relative(epsilon, 0.7242234026109595, 1e-6);
    assert_true(best == 19.0);
}

static void test_rejects_bad_arguments(void **state)
{
    (void)state;
    double order = 2.0, rdp = 0.0, epsilon = 0.0;
    assert_rejected(fcb_dp_compute_rdp(1.5, 1.0, 1, &order, 1, &rdp), "q = 1.5");
    assert_rejected(fcb_dp_compute_rdp(-0.1, 1.0, 1, &order, 1, &rdp), "q = -0.1");
    assert_rejected(fcb_dp_compute_rdp(NAN, 1.0, 1, &order, 1, &rdp), "q = nan");
    assert_rejected(fcb_dp_compute_rdp(0.1, -1.0, 1, &order, 1, &rdp), "z = -1");
    assert_rejected(fcb_dp_compute_rdp(0.1, 1.0, -3, &order, 1, &rdp), "steps = -3");
    double bad_order = 1.0;
    assert_rejected(fcb_dp_compute_rdp(0.1, 1.0, 1, &bad_order, 1, &rdp), "order 0 is 1");
    assert_rejected(fcb_dp_epsilon(&order, &rdp, 1, 0.0, FCB_DP_CONVERSION_TIGHT, &epsilon, NULL),
                    "delta = 0");
    assert_rejected(fcb_dp_epsilon(&order, &rdp, 1, 1.0, FCB_DP_CONVERSION_TIGHT, &epsilon, NULL),
                    "delta = 1");

    /* A rejected step leaves the accountant as it was. */
    fcb_dp_accountant acc;
    fcb_dp_accountant_init(&acc);
    assert_int_equal(fcb_dp_accountant_add(&acc, 0.01, 1.0, 10), FCB_OK);
    fcb_dp_accountant before = acc;
    assert_rejected(fcb_dp_accountant_add(&acc, 2.0, 1.0, 1), "q = 2");
    assert_rejected(fcb_dp_accountant_add(&acc, 0.01, -0.5, 1), "z = -0.5");
    assert_memory_equal(&acc, &before, sizeof acc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rdp_matches_tf_privacy),
        cmocka_unit_test(test_series_match_numerical_integral),
        cmocka_unit_test(test_integer_and_fractional_paths_agree),
        cmocka_unit_test(test_epsilon_at_small_noise),
        cmocka_unit_test(test_dp_sgd_epsilon_matches_tf_privacy),
        cmocka_unit_test(test_mnist_tutorial_epsilons),
        cmocka_unit_test(test_composition_and_opacus_references),
        cmocka_unit_test(test_conversions_by_hand),
        cmocka_unit_test(test_no_sampling_closed_form),
        cmocka_unit_test(test_degenerate_mechanisms),
        cmocka_unit_test(test_monotone_in_noise_and_steps),
        cmocka_unit_test(test_accountant_accumulates_changing_steps),
        cmocka_unit_test(test_rejects_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
