#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "off_policy.h"
#include "rng.h"

/* A contextual bandit with known click probabilities mu(x, a) =
 * sigmoid(theta_a . x). A logging policy (epsilon-mixed softmax of other
 * weights) logs n interactions; the candidate is a softmax of the true
 * scores. Its true value E_x sum_a pi(a|x) mu(x, a) is computed exactly per
 * context over a large independent sample, and the off-policy intervals are
 * checked to cover it at about their nominal rate over many seeds. */

enum { K = 5, D = 6, LOGGED = 4000, SEEDS = 40, TRUTH_CONTEXTS = 200000 };

typedef struct {
    double theta[K][D];
    double psi[K][D];
} bandit;

static void make_bandit(bandit *b)
{
    fcb_rng rng;
    fcb_rng_init(&rng, 7, FCB_STREAM_TEST, 0, 0);
    for (int a = 0; a < K; a++)
        for (int j = 0; j < D; j++) {
            b->theta[a][j] = fcb_rng_normal(&rng);
            b->psi[a][j] = fcb_rng_normal(&rng);
        }
}

static void context(fcb_rng *rng, double *x)
{
    for (int j = 0; j < D; j++)
        x[j] = fcb_rng_normal(rng) * 0.7;
}

static double dot(const double *w, const double *x)
{
    double s = 0.0;
    for (int j = 0; j < D; j++)
        s += w[j] * x[j];
    return s;
}

static void softmax(const double *s, double temperature, double *p)
{
    double m = s[0], total = 0.0;
    for (int a = 1; a < K; a++)
        m = s[a] > m ? s[a] : m;
    for (int a = 0; a < K; a++) {
        p[a] = exp((s[a] - m) / temperature);
        total += p[a];
    }
    for (int a = 0; a < K; a++)
        p[a] /= total;
}

static void click_probs(const bandit *b, const double *x, double *mu)
{
    for (int a = 0; a < K; a++)
        mu[a] = 1.0 / (1.0 + exp(-dot(b->theta[a], x)));
}

static void candidate_probs(const bandit *b, const double *x, double *pi)
{
    double s[K];
    for (int a = 0; a < K; a++)
        s[a] = dot(b->theta[a], x);
    softmax(s, 0.3, pi);
}

static void logging_probs(const bandit *b, const double *x, double *p)
{
    double s[K];
    for (int a = 0; a < K; a++)
        s[a] = dot(b->psi[a], x);
    softmax(s, 1.0, p);
    for (int a = 0; a < K; a++)
        p[a] = 0.8 * p[a] + 0.2 / K;
}

static double true_value(const bandit *b)
{
    fcb_rng rng;
    fcb_rng_init(&rng, 99, FCB_STREAM_TEST, 1, 0);
    double total = 0.0;
    for (int i = 0; i < TRUTH_CONTEXTS; i++) {
        double x[D], mu[K], pi[K];
        context(&rng, x);
        click_probs(b, x, mu);
        candidate_probs(b, x, pi);
        for (int a = 0; a < K; a++)
            total += pi[a] * mu[a];
    }
    return total / TRUTH_CONTEXTS;
}

typedef struct {
    int actions[LOGGED];
    float propensities[LOGGED];
    float rewards[LOGGED];
    float candidate[LOGGED * K];
    float reward_model[LOGGED * K];
} logged_data;

/* The reward model is deliberately biased (mu + 0.1): DR stays unbiased. */
static void log_interactions(const bandit *b, uint32_t seed, logged_data *out)
{
    fcb_rng rng;
    fcb_rng_init(&rng, seed, FCB_STREAM_TEST, 2, 0);
    for (int i = 0; i < LOGGED; i++) {
        double x[D], mu[K], pi[K], p[K];
        context(&rng, x);
        click_probs(b, x, mu);
        candidate_probs(b, x, pi);
        logging_probs(b, x, p);
        double u = fcb_rng_uniform(&rng), acc = 0.0;
        int a = K - 1;
        for (int c = 0; c < K; c++) {
            acc += p[c];
            if (u < acc) {
                a = c;
                break;
            }
        }
        out->actions[i] = a;
        out->propensities[i] = (float)p[a];
        out->rewards[i] = fcb_rng_uniform(&rng) < mu[a] ? 1.0f : 0.0f;
        for (int c = 0; c < K; c++) {
            out->candidate[i * K + c] = (float)pi[c];
            out->reward_model[i * K + c] = (float)(mu[c] + 0.1);
        }
    }
}

static void test_intervals_cover_the_true_value(void **state)
{
    (void)state;
    bandit b;
    make_bandit(&b);
    double truth = true_value(&b);
    logged_data *data = malloc(sizeof *data);
    assert_non_null(data);
    int covered_ips = 0, covered_snips = 0, covered_dr = 0;
    double sum_ips = 0.0, sum_dr = 0.0, se_ips = 0.0, se_dr = 0.0;
    for (uint32_t seed = 1; seed <= SEEDS; seed++) {
        log_interactions(&b, seed, data);
        fcb_ope_log log = {LOGGED, K, data->actions, data->propensities, data->rewards, data->candidate,
                           data->reward_model};
        fcb_ope_result r;
        assert_int_equal(fcb_ope_estimate_all(&log, 1.96, &r), FCB_OK);
        covered_ips += r.ips.lower <= truth && truth <= r.ips.upper;
        covered_snips += r.snips.lower <= truth && truth <= r.snips.upper;
        covered_dr += r.dr.lower <= truth && truth <= r.dr.upper;
        sum_ips += r.ips.value;
        sum_dr += r.dr.value;
        se_ips += r.ips.std_error;
        se_dr += r.dr.std_error;
        assert_true(r.effective_samples > 0.0 && r.effective_samples <= LOGGED);
    }
    free(data);
    print_message("true value %.4f; 95%% intervals cover it for %d (IPS), %d (SNIPS), %d (DR) of %d seeds; "
                  "mean IPS %.4f (se %.4f), mean DR %.4f (se %.4f)\n",
                  truth, covered_ips, covered_snips, covered_dr, SEEDS, sum_ips / SEEDS, se_ips / SEEDS,
                  sum_dr / SEEDS, se_dr / SEEDS);
    /* 95 % nominal: 34 or more of 40 (P(fewer) < 1 % at 0.95). */
    assert_true(covered_ips >= 34);
    assert_true(covered_snips >= 34);
    assert_true(covered_dr >= 34);
    /* Unbiased: the mean over seeds is within 3 standard errors of that mean. */
    assert_true(fabs(sum_ips / SEEDS - truth) < 3.0 * (se_ips / SEEDS) / sqrt(SEEDS));
    assert_true(fabs(sum_dr / SEEDS - truth) < 3.0 * (se_dr / SEEDS) / sqrt(SEEDS));
    /* A reward model, even a biased one, narrows the interval. */
    assert_true(se_dr < se_ips);
}

static void test_bad_logs_are_refused(void **state)
{
    (void)state;
    int actions[2] = {0, 1};
    float propensities[2] = {0.5f, 0.5f};
    float rewards[2] = {1.0f, 0.0f};
    float candidate[2 * 2] = {0.5f, 0.5f, 1.0f, 0.0f};
    fcb_ope_log log = {2, 2, actions, propensities, rewards, candidate, NULL};
    fcb_ope_result r;
    assert_int_equal(fcb_ope_estimate_all(&log, 1.96, &r), FCB_OK);
    assert_true(fabs(r.ips.value - 0.5) < 1e-9); /* (1 * 1 + 2 * 0) / 2 */
    propensities[1] = 0.0f;
    assert_int_equal(fcb_ope_estimate_all(&log, 1.96, &r), FCB_ERR_ARG);
    assert_non_null(strstr(fcb_last_error(), "row 1: propensity 0"));
    propensities[1] = 0.5f;
    actions[0] = 2;
    assert_int_equal(fcb_ope_estimate_all(&log, 1.96, &r), FCB_ERR_ARG);
    assert_non_null(strstr(fcb_last_error(), "row 0: action 2"));
    actions[0] = 0;
    candidate[3] = 0.5f;
    assert_int_equal(fcb_ope_estimate_all(&log, 1.96, &r), FCB_ERR_ARG);
    assert_non_null(strstr(fcb_last_error(), "row 1: candidate probabilities sum to 1.5"));
    candidate[3] = 0.0f;
    rewards[0] = NAN;
    assert_int_equal(fcb_ope_estimate_all(&log, 1.96, &r), FCB_ERR_ARG);
    assert_non_null(strstr(fcb_last_error(), "row 0: reward"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intervals_cover_the_true_value),
        cmocka_unit_test(test_bad_logs_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
