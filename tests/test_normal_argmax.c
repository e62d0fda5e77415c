#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "normal_argmax.h"

enum { MAX_K = 10, MC_DRAWS = 1000000 };

static double normal_cdf(double x)
{
    return 0.5 * erfc(-x / sqrt(2.0));
}

static void probs_of(const double *mean, const double *sd, int k, double *probs)
{
    fcb_argmax_rule rule;
    assert_int_equal(fcb_argmax_rule_init(&rule), FCB_OK);
    int active[MAX_K];
    double work[MAX_K + 2];
    fcb_normal_argmax_probs(&rule, mean, sd, k, active, work, probs);
    double sum = 0.0;
    for (int a = 0; a < k; a++) {
        assert_true(probs[a] >= 0.0 && probs[a] <= 1.0);
        sum += probs[a];
    }
    assert_true(fabs(sum - 1.0) < 1e-12);
}

/* The Monte Carlo reference draws from its own generator (splitmix64 and the
 * Box-Muller transform), independent of the code under test. */
typedef struct {
    uint64_t state;
    double spare;
    int has_spare;
} reference_rng;

static double reference_uniform(reference_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) * 0x1.0p-53; /* in (0, 1) */
}

static double reference_normal(reference_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double radius = sqrt(-2.0 * log(reference_uniform(r)));
    double angle = 6.283185307179586 * reference_uniform(r);
    r->spare = radius * sin(angle);
    r->has_spare = 1;
    return radius * cos(angle);
}

/* The argmax rule itself, with ties to the lowest index, over MC_DRAWS draws. */
static void monte_carlo(const double *mean, const double *sd, int k, uint32_t seed, double *freq)
{
    reference_rng rng = {.state = 0x5eed0000ULL + seed};
    long hits[MAX_K] = {0};
    for (int s = 0; s < MC_DRAWS; s++) {
        int best = 0;
        double best_value = 0.0;
        for (int a = 0; a < k; a++) {
            double value = mean[a] + sd[a] * reference_normal(&rng);
            if (a == 0 || value > best_value) {
                best = a;
                best_value = value;
            }
        }
        hits[best]++;
    }
    for (int a = 0; a < k; a++)
        freq[a] = (double)hits[a] / MC_DRAWS;
}

/* |p - freq| <= 4 sqrt(p (1 - p) / N), plus 1e-6 for the quadrature's own error. */
static void assert_matches_monte_carlo(const double *mean, const double *sd, int k, uint32_t seed)
{
    double probs[MAX_K], freq[MAX_K];
    probs_of(mean, sd, k, probs);
    monte_carlo(mean, sd, k, seed, freq);
    for (int a = 0; a < k; a++) {
        double sigma = sqrt(probs[a] * (1.0 - probs[a]) / MC_DRAWS);
        if (!(fabs(probs[a] - freq[a]) <= 4.0 * sigma + 1e-6))
            fail_msg("config %u action %d: quadrature %.7f, Monte Carlo %.7f (4 sigma = %.2g)", seed, a,
                     probs[a], freq[a], 4.0 * sigma);
    }
}

static void test_two_actions_closed_form(void **state)
{
    (void)state;
    const double cases[][4] = {
        {0.0, 1.0, 0.0, 1.0},    {0.3, 0.5, -0.2, 2.0},  {1.0, 0.01, 0.999, 0.02}, {0.0, 1e-9, 1e-10, 1e-9},
        {5.0, 1.0, 0.0, 1.0},    {0.2, 0.0, 0.0, 1.0},   {0.0, 3.0, 0.1, 1e-12},   {-1.0, 40.0, 0.0, 0.01},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double mean[2] = {cases[i][0], cases[i][2]}, sd[2] = {cases[i][1], cases[i][3]}, probs[2];
        probs_of(mean, sd, 2, probs);
        double expected = normal_cdf((mean[0] - mean[1]) / sqrt(sd[0] * sd[0] + sd[1] * sd[1]));
        if (expected < 4e-11) /* below the pruning bound: 0 */
            expected = 0.0;
        if (fabs(probs[0] - expected) > 1e-9)
            fail_msg("case %zu: P(0) = %.12f, closed form %.12f", i, probs[0], expected);
    }
}

/* Equal means and sds: 1/K each (the Gauss-Hermite path). */
static void test_symmetric_actions_share_equally(void **state)
{
    (void)state;
    double mean[MAX_K], sd[MAX_K], probs[MAX_K];
    for (int a = 0; a < MAX_K; a++) {
        mean[a] = 0.25;
        sd[a] = 0.3;
    }
    probs_of(mean, sd, MAX_K, probs);
    for (int a = 0; a < MAX_K; a++)
        assert_true(fabs(probs[a] - 0.1) < 1e-9);
}

static void test_matches_monte_carlo(void **state)
{
    (void)state;
    /* equal sds, spread means (Gauss-Hermite) */
    const double m1[] = {0.0, 0.5, -0.3, 0.2, 0.45}, s1[] = {1.0, 1.0, 1.0, 1.0, 1.0};
    assert_matches_monte_carlo(m1, s1, 5, 1);
    /* near-ties with sds within the Gauss-Hermite ratio */
    const double m2[] = {0.0, 1e-3, -1e-3, 0.0}, s2[] = {1.0, 1.2, 0.9, 1.3};
    assert_matches_monte_carlo(m2, s2, 4, 2);
    /* sds over two decades (adaptive Gauss-Legendre) */
    const double m3[] = {1.0, 0.5, -1.0, 0.9, 0.95}, s3[] = {0.05, 1.0, 3.0, 0.3, 0.01};
    assert_matches_monte_carlo(m3, s3, 5, 3);
    /* a point mass among continuous actions, and one it excludes */
    const double m4[] = {0.2, 0.0, 0.3, 0.2}, s4[] = {0.0, 1.0, 0.5, 0.0};
    assert_matches_monte_carlo(m4, s4, 4, 4);
    /* tiny sds at a near-tie with a wide one */
    const double m5[] = {0.5, 0.5 + 1e-9, 0.5 - 1e-9, 0.0}, s5[] = {1e-9, 2e-9, 1e-8, 0.4};
    assert_matches_monte_carlo(m5, s5, 4, 5);
    /* ten actions as a learning Thompson posterior has them */
    const double m6[] = {0.12, 0.31, 0.29, -0.4, 0.05, 0.3, 0.18, -0.1, 0.27, 0.0};
    const double s6[] = {0.05, 0.02, 0.08, 0.3, 0.1, 0.015, 0.06, 0.2, 0.04, 0.5};
    assert_matches_monte_carlo(m6, s6, 10, 6);
}

/* Point masses: ties to the lowest index, like the argmax rule. */
static void test_point_masses(void **state)
{
    (void)state;
    double probs[4];
    const double m1[] = {0.1, 0.7, 0.7, 0.3}, s1[] = {0.0, 0.0, 0.0, 0.0};
    probs_of(m1, s1, 4, probs);
    assert_true(probs[1] == 1.0 && probs[0] == 0.0 && probs[2] == 0.0 && probs[3] == 0.0);
    /* Two point masses at 0.4 and one N(0, 1): action 1 only wins ties it never gets. */
    const double m2[] = {0.4, 0.4, 0.0}, s2[] = {0.0, 0.0, 1.0};
    probs_of(m2, s2, 3, probs);
    assert_true(probs[1] == 0.0);
    assert_true(fabs(probs[0] - normal_cdf(0.4)) < 1e-12);
    assert_true(fabs(probs[2] - normal_cdf(-0.4)) < 1e-12);
    /* A point mass against two continuous actions: prod Phi((m - m_c) / s_c). */
    const double m3[] = {0.0, 0.1, -0.2}, s3[] = {1.0, 0.0, 0.5};
    probs_of(m3, s3, 3, probs);
    assert_true(fabs(probs[1] - normal_cdf(0.1) * normal_cdf(0.6)) < 1e-6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_actions_closed_form),
        cmocka_unit_test(test_symmetric_actions_share_equally),
        cmocka_unit_test(test_matches_monte_carlo),
        cmocka_unit_test(test_point_masses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
