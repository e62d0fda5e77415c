/* Closed-form preference metrics: the win rate against the reference under
 * true utilities, KL(pi || pi_ref) and argmax accuracy, on hand-computed
 * cases and on the identities they must satisfy. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "preference_metrics.h"
#include "rng.h"

enum { ROWS = 6, MAX_K = 10 };

static void clear_error(void)
{
    fcb_fail(FCB_OK, "%s", "");
}

static void assert_rejected(fcb_status status, const char *fragment)
{
    assert_int_equal(status, FCB_ERR_ARG);
    const char *message = fcb_last_error();
    assert_true(strlen(message) > 0);
    if (fragment != NULL && strstr(message, fragment) == NULL)
        fail_msg("message '%s' does not mention '%s'", message, fragment);
    clear_error();
}

static double win_rate(const float *scores, const float *ref, const float *u, int n, int k,
                       double tau)
{
    double value = NAN;
    if (fcb_preference_win_rate(scores, ref, u, n, k, tau, &value) != FCB_OK)
        fail_msg("win rate failed: %s", fcb_last_error());
    return value;
}

static double kl(const float *scores, const float *ref, int n, int k, double tau)
{
    double value = NAN;
    if (fcb_preference_kl(scores, ref, n, k, tau, &value) != FCB_OK)
        fail_msg("kl failed: %s", fcb_last_error());
    return value;
}

/* Random scores in [-3, 3] and utilities from {0, 1, 2} (so ties occur). */
static void random_rows(fcb_rng *rng, int n, int k, float *scores, float *ref, float *u)
{
    for (int c = 0; c < n * k; c++) {
        scores[c] = (float)(6.0 * fcb_rng_uniform(rng) - 3.0);
        ref[c] = (float)(6.0 * fcb_rng_uniform(rng) - 3.0);
        u[c] = (float)fcb_rng_below(rng, 3);
    }
}

/* Naive double softmax of row / tau, for an independent KL. */
static void naive_softmax(const float *row, int k, double tau, double *out)
{
    double sum = 0.0;
    for (int a = 0; a < k; a++)
        sum += exp(row[a] / tau);
    for (int a = 0; a < k; a++)
        out[a] = exp(row[a] / tau) / sum;
}

static void test_win_rate_half_against_itself(void **state)
{
    (void)state;
    const int ks[] = {1, 2, 5, 10};
    const double taus[] = {0.05, 1.0, 3.0};
    fcb_rng rng;
    fcb_rng_init(&rng, 11, FCB_STREAM_TEST, 1, 0);
    float scores[ROWS * MAX_K], ref[ROWS * MAX_K], u[ROWS * MAX_K];
    for (int ki = 0; ki < 4; ki++) {
        for (int ti = 0; ti < 3; ti++) {
            random_rows(&rng, ROWS, ks[ki], scores, ref, u);
            assert_true(fabs(win_rate(scores, scores, u, ROWS, ks[ki], taus[ti]) - 0.5) < 1e-12);
            /* W(pi, pi_ref) + W(pi_ref, pi) = 1: a draw from each beats,
             * loses or ties, and ties count half to both. */
            double forward = win_rate(scores, ref, u, ROWS, ks[ki], taus[ti]);
            double backward = win_rate(ref, scores, u, ROWS, ks[ki], taus[ti]);
            assert_true(fabs(forward + backward - 1.0) < 1e-12);
        }
    }
}

static void test_win_rate_extremes(void **state)
{
    (void)state;
    /* pi puts all but e^-200 of its mass on the best action 1, pi_ref all
     * but e^-200 on the others: pi always wins. */
    const float u[] = {0.1f, 0.9f, 0.3f, 0.5f};
    const float best[] = {0.0f, 200.0f, 0.0f, 0.0f};
    const float avoid_best[] = {0.0f, -200.0f, 0.0f, 0.0f};
    assert_true(fabs(win_rate(best, avoid_best, u, 1, 4, 1.0) - 1.0) < 1e-12);
    assert_true(fabs(win_rate(avoid_best, best, u, 1, 4, 1.0)) < 1e-12);
    /* All utilities equal: every comparison is a tie. */
    const float flat[] = {2.0f, 2.0f, 2.0f, 2.0f};
    assert_true(fabs(win_rate(best, avoid_best, flat, 1, 4, 1.0) - 0.5) < 1e-15);
}

static void test_win_rate_hand_values(void **state)
{
    (void)state;
    /* pi = (1/4, 3/4), pi_ref = (1/2, 1/2), u = (0, 1):
     * wins 3/4 * 1/2 = 3/8, ties 1/2 * (1/4 * 1/2 + 3/4 * 1/2) = 1/4; 5/8. */
    const float scores[] = {0.0f, (float)log(3.0)};
    const float ref[] = {0.0f, 0.0f};
    const float u[] = {0.0f, 1.0f};
    assert_true(fabs(win_rate(scores, ref, u, 1, 2, 1.0) - 0.625) < 1e-7);

    /* K = 3 with tied utilities u = (1, 1, 0) at tau = 0.5:
     * pi = softmax((0, 0, ln 2) / 0.5) = (1/6, 1/6, 4/6),
     * pi_ref = softmax((ln 2, 0, 0) / 0.5) = (4/6, 1/6, 1/6).
     * Action 0 or 1 against pi_ref: ties 1/2 * (4/6 + 1/6) + win 1/6 = 7/12;
     * action 2: tie 1/2 * 1/6 = 1/12. W = 2 * 1/6 * 7/12 + 4/6 * 1/12 = 1/4.
     * Row 1 is pi = pi_ref (1/2); the mean is (1/4 + 1/2) / 2 = 3/8. */
    const float ln2 = (float)log(2.0);
    const float scores3[] = {0.0f, 0.0f, ln2, 1.0f, 2.0f, 3.0f};
    const float ref3[] = {ln2, 0.0f, 0.0f, 1.0f, 2.0f, 3.0f};
    const float u3[] = {1.0f, 1.0f, 0.0f, 1.0f, 1.0f, 0.0f};
    assert_true(fabs(win_rate(scores3, ref3, u3, 1, 3, 0.5) - 0.25) < 1e-7);
    assert_true(fabs(win_rate(scores3, ref3, u3, 2, 3, 0.5) - 0.375) < 1e-7);
}

static void test_kl(void **state)
{
    (void)state;
    /* Zero for identical rows, positive otherwise, equal to a naive double
     * computation on random rows. */
    fcb_rng rng;
    fcb_rng_init(&rng, 12, FCB_STREAM_TEST, 2, 0);
    float scores[ROWS * MAX_K], ref[ROWS * MAX_K], u[ROWS * MAX_K];
    for (int trial = 0; trial < 10; trial++) {
        int k = 2 + trial % 8;
        double tau = 0.3 + 0.2 * trial;
        random_rows(&rng, ROWS, k, scores, ref, u);
        assert_true(kl(scores, scores, ROWS, k, tau) == 0.0);
        double value = kl(scores, ref, ROWS, k, tau);
        assert_true(value > 0.0);
        double expected = 0.0;
        for (int i = 0; i < ROWS; i++) {
            double p[MAX_K], q[MAX_K];
            naive_softmax(scores + i * k, k, tau, p);
            naive_softmax(ref + i * k, k, tau, q);
            for (int a = 0; a < k; a++)
                expected += p[a] * log(p[a] / q[a]) / ROWS;
        }
        assert_true(fabs(value - expected) < 1e-10);
    }

    /* pi = (1/4, 3/4) at tau = 2 (scores (0, 2 ln 3)), pi_ref uniform:
     * 1/4 ln(1/2) + 3/4 ln(3/2) = 3/4 ln 3 - ln 2. A constant added to a
     * row changes nothing; a second, identical row halves the mean. */
    const float two[] = {0.0f, (float)(2.0 * log(3.0)), 0.0f, 0.0f};
    const float two_ref[] = {1.0f, 1.0f, 0.0f, 0.0f};
    const float shifted[] = {4.0f, (float)(4.0 + 2.0 * log(3.0))};
    double hand = 0.75 * log(3.0) - log(2.0);
    assert_true(fabs(kl(two, two_ref, 1, 2, 2.0) - hand) < 1e-7);
    assert_true(fabs(kl(shifted, two_ref, 1, 2, 2.0) - hand) < 1e-6);
    assert_true(fabs(kl(two, two_ref, 2, 2, 2.0) - hand / 2.0) < 1e-7);
    /* KL is not symmetric: KL(uniform || (1/4, 3/4)) = 1/2 ln(2) + 1/2 ln(2/3). */
    assert_true(fabs(kl(two_ref, two, 1, 2, 2.0) - (0.5 * log(2.0) + 0.5 * log(2.0 / 3.0))) < 1e-7);
}

static void test_argmax_accuracy(void **state)
{
    (void)state;
    /* Argmaxes 1, 0 (tie of 0 and 1 to the lowest), 2, 0 against labels
     * 1, 1, 2, 0: three of four. */
    const float scores[] = {1.0f, 3.0f, 2.0f, 5.0f, 5.0f, 0.0f,
                            0.0f, 0.0f, 7.0f, -1.0f, -2.0f, -3.0f};
    const int labels[] = {1, 1, 2, 0};
    double accuracy = -1.0;
    assert_int_equal(fcb_argmax_accuracy(scores, labels, 4, 3, &accuracy), FCB_OK);
    assert_true(accuracy == 0.75);
    assert_int_equal(fcb_argmax_accuracy(scores, labels, 1, 3, &accuracy), FCB_OK);
    assert_true(accuracy == 1.0);
    assert_int_equal(fcb_argmax_accuracy(scores + 3, labels + 1, 1, 3, &accuracy), FCB_OK);
    assert_true(accuracy == 0.0);
}

static void test_bad_inputs_rejected(void **state)
{
    (void)state;
    const float scores[] = {0.0f, 1.0f, 2.0f, 3.0f};
    const float ref[] = {0.0f, 0.0f, 0.0f, 0.0f};
    float u[] = {0.0f, 1.0f, 0.0f, 1.0f};
    int labels[] = {0, 1};
    double out = 0.0;
    clear_error();
    assert_rejected(fcb_preference_win_rate(scores, ref, u, 2, 2, 0.0, &out), "tau = 0");
    assert_rejected(fcb_preference_kl(scores, ref, 2, 2, -1.0, &out), "tau = -1");
    assert_rejected(fcb_preference_kl(scores, ref, 2, 2, NAN, &out), "tau");
    assert_rejected(fcb_preference_win_rate(scores, ref, u, 0, 2, 1.0, &out), "n = 0");
    assert_rejected(fcb_preference_kl(scores, ref, 2, 0, 1.0, &out), "k = 0");
    assert_rejected(fcb_preference_win_rate(scores, ref, NULL, 2, 2, 1.0, &out), NULL);
    assert_rejected(fcb_preference_kl(scores, NULL, 2, 2, 1.0, &out), NULL);
    u[3] = NAN;
    assert_rejected(fcb_preference_win_rate(scores, ref, u, 2, 2, 1.0, &out),
                    "utility of row 1 action 1");
    const float bad_scores[] = {0.0f, INFINITY, 0.0f, 0.0f};
    assert_rejected(fcb_preference_kl(bad_scores, ref, 2, 2, 1.0, &out), "score of row 0 action 1");
    assert_rejected(fcb_preference_kl(ref, bad_scores, 2, 2, 1.0, &out),
                    "reference score of row 0 action 1");
    labels[1] = 2;
    assert_rejected(fcb_argmax_accuracy(scores, labels, 2, 2, &out), "label 2 of row 1");
    labels[1] = -1;
    assert_rejected(fcb_argmax_accuracy(scores, labels, 2, 2, &out), "row 1");
    assert_rejected(fcb_argmax_accuracy(bad_scores, labels, 2, 2, &out), "row 0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_win_rate_half_against_itself),
        cmocka_unit_test(test_win_rate_extremes),
        cmocka_unit_test(test_win_rate_hand_values),
        cmocka_unit_test(test_kl),
        cmocka_unit_test(test_argmax_accuracy),
        cmocka_unit_test(test_bad_inputs_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
