#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linear_bandit.h"
#include "small_linalg.h"

enum { K = 3, DIM = 6, ROWS = 457 };

static fcb_thompson_options thompson_options(double v, fcb_ts_propensity propensity, int samples,
                                             fcb_ts_sample sample)
{
    fcb_thompson_options o = {v, propensity, samples, sample};
    return o;
}

static fcb_thompson_options monte_carlo(double v, int samples)
{
    return thompson_options(v, FCB_TS_PROPENSITY_MONTE_CARLO, samples, FCB_TS_SAMPLE_DECISION);
}

/* A synthetic log: Gaussian features, random actions, linear rewards plus noise. */
typedef struct {
    int n;
    float phi[ROWS * DIM];
    int actions[ROWS];
    float rewards[ROWS];
} bandit_log;

static void make_log(bandit_log *log, int n, uint64_t seed)
{
    fcb_rng rng;
    fcb_rng_init(&rng, seed, FCB_STREAM_TEST, 0, 0);
    log->n = n;
    for (int i = 0; i < n; i++) {
        int a = (int)fcb_rng_below(&rng, K);
        double reward = 0.1 * a;
        for (int j = 0; j < DIM; j++) {
            float x = (float)fcb_rng_normal(&rng);
            log->phi[i * DIM + j] = x;
            reward += x * (0.3 * (j + 1) - 0.5 * a) / DIM;
        }
        log->actions[i] = a;
        log->rewards[i] = (float)(reward + 0.1 * fcb_rng_normal(&rng));
    }
}

static void clear_error(void)
{
    fcb_fail(FCB_OK, "%s", "");
}

static void assert_failed_with_message(fcb_status status)
{
    assert_int_not_equal(status, FCB_OK);
    assert_true(strlen(fcb_last_error()) > 0);
}

static void assert_rel_close(double got, double want, double tolerance)
{
    double scale = fabs(want) > 1.0 ? fabs(want) : 1.0;
    if (!(fabs(got - want) <= tolerance * scale))
        fail_msg("got %.17g, want %.17g (tolerance %g)", got, want, tolerance);
}

/* Independent reference: solves M x = rhs by Gaussian elimination with
 * partial pivoting (M and rhs are overwritten; x ends up in rhs). */
static void gauss_solve(int n, double *M, double *rhs)
{
    for (int col = 0; col < n; col++) {
        int pivot = col;
        for (int r = col + 1; r < n; r++) {
            if (fabs(M[r * n + col]) > fabs(M[pivot * n + col]))
                pivot = r;
        }
        for (int c = 0; c < n; c++) {
            double t = M[col * n + c];
            M[col * n + c] = M[pivot * n + c];
            M[pivot * n + c] = t;
        }
        double t = rhs[col];
        rhs[col] = rhs[pivot];
        rhs[pivot] = t;
        for (int r = col + 1; r < n; r++) {
            double f = M[r * n + col] / M[col * n + col];
            for (int c = col; c < n; c++)
                M[r * n + c] -= f * M[col * n + c];
            rhs[r] -= f * rhs[col];
        }
    }
    for (int r = n - 1; r >= 0; r--) {
        double s = rhs[r];
        for (int c = r + 1; c < n; c++)
            s -= M[r * n + c] * rhs[c];
        rhs[r] = s / M[r * n + r];
    }
}

/* Naive sums over the rows of action a: X^T X, X^T r and the row count. */
static void naive_stats(const bandit_log *log, int first, int last, int a, double *xtx,
                        double *xtr, double *count)
{
    memset(xtx, 0, sizeof(double) * DIM * DIM);
    memset(xtr, 0, sizeof(double) * DIM);
    *count = 0.0;
    for (int i = first; i < last; i++) {
        if (log->actions[i] != a)
            continue;
        const float *x = log->phi + i * DIM;
        for (int p = 0; p < DIM; p++) {
            for (int q = 0; q < DIM; q++)
                xtx[p * DIM + q] += (double)x[p] * x[q];
            xtr[p] += (double)x[p] * log->rewards[i];
        }
        *count += 1.0;
    }
}

/* Ridge solution of action a: (X^T X + lambda I) theta = X^T r + lambda theta0. */
static void ridge_reference(const bandit_log *log, int a, double lambda, const float *theta0,
                            double *theta)
{
    double xtx[DIM * DIM], count;
    naive_stats(log, 0, log->n, a, xtx, theta, &count);
    for (int j = 0; j < DIM; j++) {
        xtx[j * DIM + j] += lambda;
        theta[j] += lambda * (theta0 != NULL ? theta0[a * DIM + j] : 0.0);
    }
    gauss_solve(DIM, xtx, theta);
}

/* sqrt(phi^T (lambda I + A_a)^-1 phi) with A_a from the naive sums. */
static double width_reference(const bandit_log *log, int a, double lambda, const float *phi,
                              int diagonal)
{
    double xtx[DIM * DIM], xtr[DIM], count, solved[DIM];
    naive_stats(log, 0, log->n, a, xtx, xtr, &count);
    for (int j = 0; j < DIM; j++) {
        if (diagonal) {
            for (int q = 0; q < DIM; q++) {
                if (q != j)
                    xtx[j * DIM + q] = 0.0;
            }
        }
        xtx[j * DIM + j] += lambda;
        solved[j] = phi[j];
    }
    gauss_solve(DIM, xtx, solved);
    double quad = 0.0;
    for (int j = 0; j < DIM; j++)
        quad += phi[j] * solved[j];
    return sqrt(quad);
}

static void assert_stats_match_naive(const fcb_linstats *stats, const bandit_log *log)
{
    for (int a = 0; a < K; a++) {
        double xtx[DIM * DIM], xtr[DIM], count;
        naive_stats(log, 0, log->n, a, xtx, xtr, &count);
        assert_rel_close(stats->count[a], count, 0.0);
        for (int p = 0; p < DIM; p++) {
            assert_rel_close(stats->b[a * DIM + p], xtr[p], 1e-9);
            if (stats->diagonal) {
                assert_rel_close(stats->A[a * DIM + p], xtx[p * DIM + p], 1e-9);
                continue;
            }
            for (int q = 0; q < DIM; q++)
                assert_rel_close(stats->A[(a * DIM + p) * DIM + q], xtx[p * DIM + q], 1e-9);
        }
    }
}

static bandit_log LOG;

static int setup_log(void **state)
{
    (void)state;
    make_log(&LOG, ROWS, 2024);
    return 0;
}

static void test_add_matches_naive_sums(void **state)
{
    (void)state;
    for (int diagonal = 0; diagonal <= 1; diagonal++) {
        fcb_linstats stats;
        assert_int_equal(fcb_linstats_init(&stats, K, DIM, diagonal), FCB_OK);
        /* ROWS > the internal block of 256 rows, so blocking is exercised. */
        assert_int_equal(fcb_linstats_add(&stats, LOG.phi, LOG.n, LOG.actions, LOG.rewards),
                         FCB_OK);
        assert_stats_match_naive(&stats, &LOG);
        fcb_linstats_zero(&stats);
        for (size_t i = 0; i < fcb_linstats_flat_size(&stats) - K * DIM - K; i++)
            assert_true(stats.A[i] == 0.0);
        fcb_linstats_free(&stats);
    }
}

/* The update takes loops up to FCB_SMALL_DIM features and dsyrk/dgemv
 * blocks above: both against a plain double sum, on 300 rows (more than one
 * block of 256), A symmetric-complete. */
static void test_add_small_and_blas_paths(void **state)
{
    (void)state;
    enum { N = 300, ACTIONS = 3, MAX_DIM = 60 };
    const int dims[] = {1, FCB_SMALL_DIM, FCB_SMALL_DIM + 1, MAX_DIM};
    static float phi[N * MAX_DIM];
    static double want_A[ACTIONS * MAX_DIM * MAX_DIM];
    double want_b[ACTIONS * MAX_DIM], want_count[ACTIONS];
    int actions[N];
    float rewards[N];
    fcb_rng rng;
    fcb_rng_init(&rng, 31, FCB_STREAM_TEST, 0, 0);
    for (size_t t = 0; t < sizeof dims / sizeof dims[0]; t++) {
        int d = dims[t];
        for (int i = 0; i < N; i++) {
            actions[i] = (int)(fcb_rng_u32(&rng) % ACTIONS);
            rewards[i] = (float)fcb_rng_uniform(&rng);
            for (int j = 0; j < d; j++)
                phi[i * d + j] = (float)(2.0 * fcb_rng_uniform(&rng) - 1.0);
        }
        memset(want_A, 0, sizeof want_A);
        memset(want_b, 0, sizeof want_b);
        memset(want_count, 0, sizeof want_count);
        for (int i = 0; i < N; i++) {
            int a = actions[i];
            for (int p = 0; p < d; p++) {
                for (int q = 0; q < d; q++)
                    want_A[(a * d + p) * d + q] += (double)phi[i * d + p] * phi[i * d + q];
                want_b[a * d + p] += (double)rewards[i] * phi[i * d + p];
            }
            want_count[a] += 1.0;
        }
        fcb_linstats stats;
        assert_int_equal(fcb_linstats_init(&stats, ACTIONS, d, 0), FCB_OK);
        assert_int_equal(fcb_linstats_add(&stats, phi, N, actions, rewards), FCB_OK);
        for (int i = 0; i < ACTIONS * d * d; i++) {
            if (fabs(stats.A[i] - want_A[i]) > 1e-12 * (1.0 + fabs(want_A[i])))
                fail_msg("d = %d: A[%d] = %.17g, plain sum %.17g", d, i, stats.A[i], want_A[i]);
        }
        for (int i = 0; i < ACTIONS * d; i++)
            assert_true(fabs(stats.b[i] - want_b[i]) <= 1e-12 * (1.0 + fabs(want_b[i])));
        for (int a = 0; a < ACTIONS; a++) {
            assert_true(stats.count[a] == want_count[a]);
            for (int p = 0; p < d; p++)
                for (int q = 0; q < p; q++)
                    assert_true(stats.A[(a * d + p) * d + q] == stats.A[(a * d + q) * d + p]);
        }
        fcb_linstats_free(&stats);
    }
}

static void test_merge_of_shards_equals_whole(void **state)
{
    (void)state;
    const int cuts[4] = {0, 100, 400, ROWS};
    for (int diagonal = 0; diagonal <= 1; diagonal++) {
        fcb_linstats whole, total, shard;
        assert_int_equal(fcb_linstats_init(&whole, K, DIM, diagonal), FCB_OK);
        assert_int_equal(fcb_linstats_init(&total, K, DIM, diagonal), FCB_OK);
        assert_int_equal(fcb_linstats_add(&whole, LOG.phi, LOG.n, LOG.actions, LOG.rewards),
                         FCB_OK);
        for (int s = 0; s < 3; s++) {
            int first = cuts[s], rows = cuts[s + 1] - cuts[s];
            assert_int_equal(fcb_linstats_init(&shard, K, DIM, diagonal), FCB_OK);
            assert_int_equal(fcb_linstats_add(&shard, LOG.phi + first * DIM, rows,
                                              LOG.actions + first, LOG.rewards + first),
                             FCB_OK);
            assert_int_equal(fcb_linstats_merge(&total, &shard), FCB_OK);
            fcb_linstats_free(&shard);
        }
        size_t size = fcb_linstats_flat_size(&whole);
        assert_int_equal(size, fcb_linstats_flat_size(&total));
        double *flat_whole = malloc(size * sizeof(double));
        double *flat_total = malloc(size * sizeof(double));
        assert_non_null(flat_whole);
        assert_non_null(flat_total);
        fcb_linstats_to_flat(&whole, flat_whole);
        fcb_linstats_to_flat(&total, flat_total);
        for (size_t i = 0; i < size; i++)
            assert_rel_close(flat_total[i], flat_whole[i], 1e-9);
        assert_stats_match_naive(&total, &LOG);
        free(flat_whole);
        free(flat_total);
        fcb_linstats_free(&whole);
        fcb_linstats_free(&total);
    }
}

static void test_flat_round_trip(void **state)
{
    (void)state;
    for (int diagonal = 0; diagonal <= 1; diagonal++) {
        fcb_linstats stats, copy;
        assert_int_equal(fcb_linstats_init(&stats, K, DIM, diagonal), FCB_OK);
        assert_int_equal(fcb_linstats_init(&copy, K, DIM, diagonal), FCB_OK);
        assert_int_equal(fcb_linstats_add(&stats, LOG.phi, LOG.n, LOG.actions, LOG.rewards),
                         FCB_OK);
        size_t a_size = diagonal ? (size_t)K * DIM : (size_t)K * DIM * DIM;
        size_t size = fcb_linstats_flat_size(&stats);
        assert_int_equal(size, a_size + K * DIM + K);
        double *flat = malloc(size * sizeof(double));
        assert_non_null(flat);
        fcb_linstats_to_flat(&stats, flat);
        /* Layout: A, then b, then count. */
        assert_true(flat[0] == stats.A[0]);
        assert_true(flat[a_size] == stats.b[0]);
        for (int a = 0; a < K; a++)
            assert_true(flat[a_size + K * DIM + a] == stats.count[a]);
        assert_int_equal(fcb_linstats_from_flat(&copy, flat, size), FCB_OK);
        assert_memory_equal(copy.A, stats.A, a_size * sizeof(double));
        assert_memory_equal(copy.b, stats.b, (size_t)K * DIM * sizeof(double));
        assert_memory_equal(copy.count, stats.count, (size_t)K * sizeof(double));
        free(flat);
        fcb_linstats_free(&stats);
        fcb_linstats_free(&copy);
    }
}

static void test_posterior_mean_is_ridge_solution(void **state)
{
    (void)state;
    float theta0[K * DIM];
    for (int i = 0; i < K * DIM; i++)
        theta0[i] = 0.05f * (float)(i % 7) - 0.1f;
    const double lambdas[2] = {1.0, 25.0};
    fcb_linstats stats;
    fcb_linposterior post;
    assert_int_equal(fcb_linstats_init(&stats, K, DIM, 0), FCB_OK);
    assert_int_equal(fcb_linposterior_init(&post, K, DIM, 0), FCB_OK);
    assert_int_equal(fcb_linstats_add(&stats, LOG.phi, LOG.n, LOG.actions, LOG.rewards), FCB_OK);
    for (int l = 0; l < 2; l++) {
        for (int with_prior = 0; with_prior <= 1; with_prior++) {
            const float *prior = with_prior ? theta0 : NULL;
            assert_int_equal(fcb_linposterior_solve(&post, &stats, lambdas[l], prior), FCB_OK);
            for (int a = 0; a < K; a++) {
                double want[DIM];
                ridge_reference(&LOG, a, lambdas[l], prior, want);
                for (int j = 0; j < DIM; j++)
                    assert_rel_close(post.theta[a * DIM + j], want[j], 1e-6);
            }
        }
    }
    /* With no data the posterior mean is the prior. */
    fcb_linstats_zero(&stats);
    assert_int_equal(fcb_linposterior_solve(&post, &stats, 3.0, theta0), FCB_OK);
    for (int i = 0; i < K * DIM; i++)
        assert_rel_close(post.theta[i], theta0[i], 1e-12);
    fcb_linposterior_free(&post);
    fcb_linstats_free(&stats);
}

static void test_diagonal_posterior(void **state)
{
    (void)state;
    float theta0[K * DIM];
    for (int i = 0; i < K * DIM; i++)
        theta0[i] = 0.02f * (float)i;
    fcb_linstats stats;
    fcb_linposterior post;
    assert_int_equal(fcb_linstats_init(&stats, K, DIM, 1), FCB_OK);
    assert_int_equal(fcb_linposterior_init(&post, K, DIM, 1), FCB_OK);
    assert_int_equal(fcb_linstats_add(&stats, LOG.phi, LOG.n, LOG.actions, LOG.rewards), FCB_OK);
    const double lambda = 2.0;
    assert_int_equal(fcb_linposterior_solve(&post, &stats, lambda, theta0), FCB_OK);
    double mean[4 * K], width[4 * K];
    const float *phi = LOG.phi + 10 * DIM;
    assert_int_equal(fcb_linposterior_predict(&post, phi, 4, mean, width), FCB_OK);
    for (int a = 0; a < K; a++) {
        double xtx[DIM * DIM], xtr[DIM], count, theta[DIM];
        naive_stats(&LOG, 0, LOG.n, a, xtx, xtr, &count);
        for (int j = 0; j < DIM; j++) {
            theta[j] = (xtr[j] + lambda * theta0[a * DIM + j]) / (lambda + xtx[j * DIM + j]);
            assert_rel_close(post.theta[a * DIM + j], theta[j], 1e-9);
        }
        for (int i = 0; i < 4; i++) {
            double dot = 0.0;
            for (int j = 0; j < DIM; j++)
                dot += theta[j] * phi[i * DIM + j];
            assert_rel_close(mean[i * K + a], dot, 1e-9);
            assert_rel_close(width[i * K + a], width_reference(&LOG, a, lambda, phi + i * DIM, 1),
                             1e-9);
        }
    }
    fcb_linposterior_free(&post);
    fcb_linstats_free(&stats);
}

static void test_predict_matches_direct(void **state)
{
    (void)state;
    enum { N = 8 };
    fcb_linstats stats;
    fcb_linposterior post;
    assert_int_equal(fcb_linstats_init(&stats, K, DIM, 0), FCB_OK);
    assert_int_equal(fcb_linposterior_init(&post, K, DIM, 0), FCB_OK);
    /* Few rows, so the widths differ clearly between actions. */
    assert_int_equal(fcb_linstats_add(&stats, LOG.phi, 20, LOG.actions, LOG.rewards), FCB_OK);
    bandit_log small = LOG;
    small.n = 20;
    const double lambda = 0.5;
    assert_int_equal(fcb_linposterior_solve(&post, &stats, lambda, NULL), FCB_OK);
    const float *phi = LOG.phi + 300 * DIM;
    double mean[N * K], width[N * K];
    assert_int_equal(fcb_linposterior_predict(&post, phi, N, mean, width), FCB_OK);
    for (int a = 0; a < K; a++) {
        double theta[DIM];
        ridge_reference(&small, a, lambda, NULL, theta);
        for (int i = 0; i < N; i++) {
            double dot = 0.0;
            for (int j = 0; j < DIM; j++)
                dot += theta[j] * phi[i * DIM + j];
            assert_rel_close(mean[i * K + a], dot, 1e-6);
            assert_rel_close(width[i * K + a], width_reference(&small, a, lambda, phi + i * DIM, 0),
                             1e-6);
        }
    }
    fcb_linposterior_free(&post);
    fcb_linstats_free(&stats);
}

static void test_linucb_picks_argmax_of_bound(void **state)
{
    (void)state;
    enum { N = 50 };
    fcb_linstats stats;
    fcb_linposterior post;
    assert_int_equal(fcb_linstats_init(&stats, K, DIM, 0), FCB_OK);
    assert_int_equal(fcb_linposterior_init(&post, K, DIM, 0), FCB_OK);
    assert_int_equal(fcb_linstats_add(&stats, LOG.phi, 30, LOG.actions, LOG.rewards), FCB_OK);
    bandit_log small = LOG;
    small.n = 30;
    const double lambda = 1.0;
    assert_int_equal(fcb_linposterior_solve(&post, &stats, lambda, NULL), FCB_OK);
    const float *phi = LOG.phi + 200 * DIM;
    const double alphas[3] = {0.0, 0.5, 3.0};
    int differs_from_greedy = 0;
    for (int s = 0; s < 3; s++) {
        int actions[N];
        float props[N], scores[N * K];
        assert_int_equal(fcb_linucb_act(&post, alphas[s], phi, N, actions, props, scores), FCB_OK);
        for (int i = 0; i < N; i++) {
            double best_value = -INFINITY, greedy_value = -INFINITY;
            int best = -1, greedy = -1;
            for (int a = 0; a < K; a++) {
                double theta[DIM];
                ridge_reference(&small, a, lambda, NULL, theta);
                double mean = 0.0;
                for (int j = 0; j < DIM; j++)
                    mean += theta[j] * phi[i * DIM + j];
                double value = mean + alphas[s] * width_reference(&small, a, lambda,
                                                                  phi + i * DIM, 0);
                assert_true(fabs(scores[i * K + a] - value) < 1e-5 * (1.0 + fabs(value)));
                if (value > best_value) {
                    best_value = value;
                    best = a;
                }
                if (mean > greedy_value) {
                    greedy_value = mean;
                    greedy = a;
                }
            }
            assert_int_equal(actions[i], best);
            assert_true(props[i] == 1.0f);
            differs_from_greedy += best != greedy;
        }
    }
    /* The bonus matters for some rows, so the test sees more than the mean. */
    assert_true(differs_from_greedy > 0);
    /* The scores output is optional. */
    int action;
    float prop;
    assert_int_equal(fcb_linucb_act(&post, 1.0, phi, 1, &action, &prop, NULL), FCB_OK);
    fcb_linposterior_free(&post);
    fcb_linstats_free(&stats);
}

/* Batched scoring (one product for the means, one triangular solve per
 * action per chunk) equals the per-row predict (dot products, one
 * substitution per action and row) within rounding, for full and diagonal
 * covariance and D-LinUCB's width, over more rows than one chunk; LinUCB's
 * actions on it are those of the per-row values. */
static void test_batched_scores_equal_per_row(void **state)
{
    (void)state;
    enum { N = 150 };
    double mean[N * K], width[N * K], batch_mean[FCB_LINPOST_BATCH * K], batch_width[FCB_LINPOST_BATCH * K];
    for (int variant = 0; variant < 3; variant++) {
        int diagonal = variant == 1;
        fcb_linstats stats;
        fcb_linposterior post;
        assert_int_equal(fcb_linstats_init(&stats, K, DIM, diagonal), FCB_OK);
        assert_int_equal(fcb_linposterior_init(&post, K, DIM, diagonal), FCB_OK);
        assert_int_equal(fcb_linstats_add(&stats, LOG.phi, 120, LOG.actions, LOG.rewards), FCB_OK);
        assert_int_equal(fcb_linposterior_solve(&post, &stats, 0.7, NULL), FCB_OK);
        if (variant == 2) { /* D-LinUCB: tilde = half of A */
            size_t na = fcb_linstats_a_size(&stats);
            double *tilde = malloc(na * sizeof *tilde);
            assert_non_null(tilde);
            for (size_t i = 0; i < na; i++)
                tilde[i] = 0.5 * stats.A[i];
            assert_int_equal(fcb_linposterior_set_tilde(&post, tilde), FCB_OK);
            free(tilde);
        }
        const float *phi = LOG.phi + 150 * DIM;
        assert_int_equal(fcb_linposterior_predict(&post, phi, N, mean, width), FCB_OK);
        for (int start = 0; start < N; start += FCB_LINPOST_BATCH) {
            int rows = N - start < FCB_LINPOST_BATCH ? N - start : FCB_LINPOST_BATCH;
            assert_int_equal(fcb_linposterior_score_batch(&post, phi + start * DIM, rows, batch_mean, batch_width),
                             FCB_OK);
            for (int i = 0; i < rows * K; i++) {
                double m = mean[start * K + i], w = width[start * K + i];
                assert_true(fabs(batch_mean[i] - m) <= 1e-12 * (1.0 + fabs(m)));
                assert_true(fabs(batch_width[i] - w) <= 1e-12 * (1.0 + w));
            }
        }
        int actions[N];
        float props[N];
        assert_int_equal(fcb_linucb_act(&post, 1.3, phi, N, actions, props, NULL), FCB_OK);
        for (int i = 0; i < N; i++) {
            int best = 0;
            for (int a = 1; a < K; a++) {
                if (mean[i * K + a] + 1.3 * width[i * K + a] > mean[i * K + best] + 1.3 * width[i * K + best])
                    best = a;
            }
            assert_int_equal(actions[i], best);
        }
        fcb_linposterior_free(&post);
        fcb_linstats_free(&stats);
    }
}

static double normal_cdf(double x)
{
    return 0.5 * erfc(-x / sqrt(2.0));
}

static void test_thompson_two_action_frequencies(void **state)
{
    (void)state;
    enum { N = 20000, SAMPLES = 64 };
    fcb_linstats stats;
    fcb_linposterior post;
    assert_int_equal(fcb_linstats_init(&stats, 2, DIM, 0), FCB_OK);
    assert_int_equal(fcb_linposterior_init(&post, 2, DIM, 0), FCB_OK);
    int actions2[40];
    for (int i = 0; i < 40; i++)
        actions2[i] = LOG.actions[i] % 2;
    assert_int_equal(fcb_linstats_add(&stats, LOG.phi, 40, actions2, LOG.rewards), FCB_OK);
    assert_int_equal(fcb_linposterior_solve(&post, &stats, 1.0, NULL), FCB_OK);

    const float *context = LOG.phi + 100 * DIM;
    double mean[2], width[2];
    assert_int_equal(fcb_linposterior_predict(&post, context, 1, mean, width), FCB_OK);
    /* Pick v so that the standardised gap is 0.5: P(action 0) is about 0.69 or 0.31. */
    double spread = sqrt(width[0] * width[0] + width[1] * width[1]);
    double v = fabs(mean[0] - mean[1]) / (0.5 * spread);
    double p0 = normal_cdf((mean[0] - mean[1]) / (v * spread));

    float *phi = malloc(sizeof(float) * N * DIM);
    int *actions = malloc(sizeof(int) * N);
    float *props = malloc(sizeof(float) * N);
    assert_non_null(phi);
    assert_non_null(actions);
    assert_non_null(props);
    for (int i = 0; i < N; i++)
        memcpy(phi + i * DIM, context, sizeof(float) * DIM);
    fcb_rng rng;
    fcb_rng_init(&rng, 5, FCB_STREAM_POLICY, 0, 0);
    fcb_thompson_options mc = monte_carlo(v, SAMPLES);
    assert_int_equal(fcb_thompson_act(&post, &mc, phi, N, &rng, actions, props), FCB_OK);
    long zeros = 0;
    double prop_sum[2] = {0.0, 0.0};
    for (int i = 0; i < N; i++) {
        assert_true(actions[i] == 0 || actions[i] == 1);
        assert_true(props[i] >= 1.0f / (2 * SAMPLES) && props[i] <= 1.0f);
        zeros += actions[i] == 0;
        prop_sum[actions[i]] += props[i];
    }
    double freq0 = (double)zeros / N;
    double mean_prop0 = prop_sum[0] / (double)zeros;
    double mean_prop1 = prop_sum[1] / (double)(N - zeros);
    print_message("thompson K=2: closed form %.4f, frequency %.4f, mean MC propensity %.4f / %.4f\n",
                  p0, freq0, mean_prop0, 1.0 - mean_prop1);
    /* Standard error of the frequency is 0.0033. */
    assert_true(fabs(freq0 - p0) < 0.015);
    assert_true(fabs(mean_prop0 - p0) < 0.01);
    assert_true(fabs(mean_prop1 - (1.0 - p0)) < 0.01);

    /* One decision with many propensity draws is close to the closed form. */
    int action;
    float prop;
    mc = monte_carlo(v, 20000);
    assert_int_equal(fcb_thompson_act(&post, &mc, context, 1, &rng, &action, &prop), FCB_OK);
    assert_true(fabs(prop - (action == 0 ? p0 : 1.0 - p0)) < 0.015);

    /* The exact propensity is the closed form, per decision and per round. */
    for (int s = 0; s < 2; s++) {
        fcb_thompson_options exact =
            thompson_options(v, FCB_TS_PROPENSITY_EXACT, 1, s ? FCB_TS_SAMPLE_ROUND : FCB_TS_SAMPLE_DECISION);
        assert_int_equal(fcb_thompson_act(&post, &exact, context, 1, &rng, &action, &prop), FCB_OK);
        assert_true(fabs(prop - (action == 0 ? p0 : 1.0 - p0)) < 1e-6);
    }
    /* theta~ drawn once per call (round): over N calls of one row, action 0
     * comes with the same marginal probability. */
    fcb_thompson_options per_round = thompson_options(v, FCB_TS_PROPENSITY_EXACT, 1, FCB_TS_SAMPLE_ROUND);
    zeros = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(fcb_thompson_act(&post, &per_round, context, 1, &rng, &action, &prop), FCB_OK);
        zeros += action == 0;
    }
    print_message("thompson K=2 per round: closed form %.4f, frequency %.4f\n", p0, (double)zeros / N);
    assert_true(fabs((double)zeros / N - p0) < 0.015);
    free(phi);
    free(actions);
    free(props);
    fcb_linposterior_free(&post);
    fcb_linstats_free(&stats);
}

static void test_thompson_reproducible_and_floored(void **state)
{
    (void)state;
    enum { N = 30 };
    fcb_linstats stats;
    fcb_linposterior post;
    assert_int_equal(fcb_linstats_init(&stats, K, DIM, 1), FCB_OK);
    assert_int_equal(fcb_linposterior_init(&post, K, DIM, 1), FCB_OK);
    assert_int_equal(fcb_linstats_add(&stats, LOG.phi, 60, LOG.actions, LOG.rewards), FCB_OK);
    assert_int_equal(fcb_linposterior_solve(&post, &stats, 1.0, NULL), FCB_OK);
    int first[N], second[N];
    float first_props[N], second_props[N];
    fcb_rng x, y;
    fcb_rng_init(&x, 8, FCB_STREAM_POLICY, 2, 3);
    fcb_rng_init(&y, 8, FCB_STREAM_POLICY, 2, 3);
    fcb_thompson_options mc = monte_carlo(0.3, 1);
    assert_int_equal(fcb_thompson_act(&post, &mc, LOG.phi, N, &x, first, first_props), FCB_OK);
    assert_int_equal(fcb_thompson_act(&post, &mc, LOG.phi, N, &y, second, second_props), FCB_OK);
    assert_memory_equal(first, second, sizeof first);
    assert_memory_equal(first_props, second_props, sizeof first_props);
    /* One propensity draw: either it agrees (1) or the floor 1/2 applies. */
    for (int i = 0; i < N; i++)
        assert_true(first_props[i] == 1.0f || first_props[i] == 0.5f);
    fcb_linposterior_free(&post);
    fcb_linstats_free(&stats);
}

static void test_bad_shapes_and_states(void **state)
{
    (void)state;
    fcb_linstats stats, other;
    fcb_linposterior post;
    clear_error();
    assert_failed_with_message(fcb_linstats_init(&stats, K, 0, 0));
    clear_error();
    assert_failed_with_message(fcb_linstats_init(&stats, 0, DIM, 0));
    clear_error();
    assert_failed_with_message(fcb_linposterior_init(&post, K, -1, 0));

    assert_int_equal(fcb_linstats_init(&stats, K, DIM, 0), FCB_OK);
    const int other_shapes[3][3] = {{K, DIM + 1, 0}, {K + 1, DIM, 0}, {K, DIM, 1}};
    for (int s = 0; s < 3; s++) {
        assert_int_equal(fcb_linstats_init(&other, other_shapes[s][0], other_shapes[s][1],
                                           other_shapes[s][2]),
                         FCB_OK);
        clear_error();
        assert_int_equal(fcb_linstats_merge(&stats, &other), FCB_ERR_ARG);
        assert_true(strlen(fcb_last_error()) > 0);
        fcb_linstats_free(&other);
    }

    size_t size = fcb_linstats_flat_size(&stats);
    double *flat = calloc(size + 1, sizeof(double));
    assert_non_null(flat);
    clear_error();
    assert_int_equal(fcb_linstats_from_flat(&stats, flat, size + 1), FCB_ERR_ARG);
    assert_true(strlen(fcb_last_error()) > 0);
    flat[3] = NAN;
    clear_error();
    assert_failed_with_message(fcb_linstats_from_flat(&stats, flat, size));

    /* A bad row leaves the statistics untouched. */
    int bad_actions[4] = {0, 1, K, 2};
    clear_error();
    assert_int_equal(fcb_linstats_add(&stats, LOG.phi, 4, bad_actions, LOG.rewards), FCB_ERR_ARG);
    assert_non_null(strstr(fcb_last_error(), "row 2"));
    for (int a = 0; a < K; a++)
        assert_true(stats.count[a] == 0.0);
    float bad_phi[2 * DIM];
    memcpy(bad_phi, LOG.phi, sizeof bad_phi);
    bad_phi[DIM + 1] = NAN;
    clear_error();
    assert_failed_with_message(fcb_linstats_add(&stats, bad_phi, 2, LOG.actions, LOG.rewards));
    clear_error();
    assert_failed_with_message(fcb_linstats_add(&stats, LOG.phi, 0, LOG.actions, LOG.rewards));

    assert_int_equal(fcb_linstats_add(&stats, LOG.phi, 50, LOG.actions, LOG.rewards), FCB_OK);
    assert_int_equal(fcb_linposterior_init(&post, K, DIM, 0), FCB_OK);
    double mean[K], width[K];
    int action;
    float prop;
    clear_error();
    assert_int_equal(fcb_linposterior_predict(&post, LOG.phi, 1, mean, width), FCB_ERR_STATE);
    assert_true(strlen(fcb_last_error()) > 0);
    clear_error();
    assert_failed_with_message(fcb_linposterior_solve(&post, &stats, 0.0, NULL));
    clear_error();
    assert_failed_with_message(fcb_linposterior_solve(&post, &stats, -1.0, NULL));
    clear_error();
    assert_failed_with_message(fcb_linposterior_solve(&post, &stats, NAN, NULL));

    fcb_linposterior wrong;
    assert_int_equal(fcb_linposterior_init(&wrong, K, DIM, 1), FCB_OK);
    clear_error();
    assert_int_equal(fcb_linposterior_solve(&wrong, &stats, 1.0, NULL), FCB_ERR_ARG);
    assert_true(strlen(fcb_last_error()) > 0);
    fcb_linposterior_free(&wrong);

    assert_int_equal(fcb_linposterior_solve(&post, &stats, 1.0, NULL), FCB_OK);
    clear_error();
    assert_failed_with_message(fcb_linucb_act(&post, -1.0, LOG.phi, 1, &action, &prop, NULL));
    fcb_rng rng;
    fcb_rng_init(&rng, 1, FCB_STREAM_TEST, 0, 0);
    clear_error();
    fcb_thompson_options bad = monte_carlo(0.0, 8);
    assert_failed_with_message(fcb_thompson_act(&post, &bad, LOG.phi, 1, &rng, &action, &prop));
    clear_error();
    bad = monte_carlo(0.1, 0);
    assert_failed_with_message(fcb_thompson_act(&post, &bad, LOG.phi, 1, &rng, &action, &prop));
    clear_error();
    assert_failed_with_message(fcb_linposterior_predict(&post, bad_phi, 2, mean, width));

    /* A precision that is not positive definite fails numerically, naming the action. */
    memset(flat, 0, size * sizeof(double));
    for (int j = 0; j < DIM; j++)
        flat[(1 * DIM + j) * DIM + j] = -5.0; /* A_1 = -5 I */
    assert_int_equal(fcb_linstats_from_flat(&stats, flat, size), FCB_OK);
    clear_error();
    assert_int_equal(fcb_linposterior_solve(&post, &stats, 1.0, NULL), FCB_ERR_NUMERIC);
    assert_non_null(strstr(fcb_last_error(), "action 1"));
    /* and the failed posterior is not used for decisions. */
    assert_int_equal(fcb_linposterior_predict(&post, LOG.phi, 1, mean, width), FCB_ERR_STATE);

    free(flat);
    fcb_linposterior_free(&post);
    fcb_linstats_free(&stats);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_matches_naive_sums),
        cmocka_unit_test(test_add_small_and_blas_paths),
        cmocka_unit_test(test_merge_of_shards_equals_whole),
        cmocka_unit_test(test_flat_round_trip),
        cmocka_unit_test(test_posterior_mean_is_ridge_solution),
        cmocka_unit_test(test_diagonal_posterior),
        cmocka_unit_test(test_predict_matches_direct),
        cmocka_unit_test(test_linucb_picks_argmax_of_bound),
        cmocka_unit_test(test_batched_scores_equal_per_row),
        cmocka_unit_test(test_thompson_two_action_frequencies),
        cmocka_unit_test(test_thompson_reproducible_and_floored),
        cmocka_unit_test(test_bad_shapes_and_states),
    };
    return cmocka_run_group_tests(tests, setup_log, NULL);
}
