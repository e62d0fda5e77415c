#include "linear_bandit.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "small_linalg.h"

/* Rows gathered per action before one dsyrk/dgemv update in fcb_linstats_add. */
enum { LINSTATS_ADD_BLOCK = 256 };

/* ---- sufficient statistics ------------------------------------------------ */

static size_t a_size(int num_actions, int dim, int diagonal)
{
    return diagonal ? (size_t)num_actions * dim : (size_t)num_actions * dim * dim;
}

fcb_status fcb_linstats_init(fcb_linstats *stats, int num_actions, int dim, int diagonal)
{
    if (stats == NULL)
        return fcb_fail(FCB_ERR_ARG, "linstats_init: NULL stats");
    memset(stats, 0, sizeof *stats);
    if (num_actions < 1 || dim < 1)
        return fcb_fail(FCB_ERR_ARG, "linstats_init: num_actions = %d and dim = %d must be >= 1",
                        num_actions, dim);
    if (diagonal != 0 && diagonal != 1)
        return fcb_fail(FCB_ERR_ARG, "linstats_init: diagonal = %d must be 0 or 1", diagonal);
    stats->num_actions = num_actions;
    stats->dim = dim;
    stats->diagonal = diagonal;
    stats->A = calloc(a_size(num_actions, dim, diagonal), sizeof *stats->A);
    stats->b = calloc((size_t)num_actions * dim, sizeof *stats->b);
    stats->count = calloc((size_t)num_actions, sizeof *stats->count);
    if (stats->A == NULL || stats->b == NULL || stats->count == NULL) {
        fcb_linstats_free(stats);
        return fcb_fail(FCB_ERR_NOMEM, "linstats_init: cannot allocate %d x %d statistics",
                        num_actions, dim);
    }
    return FCB_OK;
}

void fcb_linstats_free(fcb_linstats *stats)
{
    if (stats == NULL)
        return;
    free(stats->A);
    free(stats->b);
    free(stats->count);
    memset(stats, 0, sizeof *stats);
}

void fcb_linstats_zero(fcb_linstats *stats)
{
    if (stats == NULL || stats->A == NULL)
        return;
    memset(stats->A, 0, a_size(stats->num_actions, stats->dim, stats->diagonal) * sizeof *stats->A);
    memset(stats->b, 0, (size_t)stats->num_actions * stats->dim * sizeof *stats->b);
    memset(stats->count, 0, (size_t)stats->num_actions * sizeof *stats->count);
}

/* Copies the lower triangle of a row-major dim x dim matrix onto the upper. */
static void mirror_lower(double *m, int dim)
{
    for (int i = 0; i < dim; i++) {
        for (int j = 0; j < i; j++)
            m[(size_t)j * dim + i] = m[(size_t)i * dim + j];
    }
}

/* A_a += X^T X (lower triangle) and b_a += X^T r for a block of m rows. */
static void add_full_block(fcb_linstats *stats, int action, const double *rows,
                           const double *rewards, int m)
{
    int dim = stats->dim;
    double *A = stats->A + (size_t)action * dim * dim;
    double *b = stats->b + (size_t)action * dim;
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, dim, m, 1.0, rows, dim, 1.0, A, dim);
    cblas_dgemv(CblasRowMajor, CblasTrans, m, dim, 1.0, rows, dim, rewards, 1, 1.0, b, 1);
}

/* Up to FCB_SMALL_DIM features loops beat the BLAS calls (models/small_linalg.h):
 * each row goes straight from phi into its action's lower triangle of A and
 * into b, in row order, with no buffer. */
static void add_full_rows_small(fcb_linstats *stats, const float *phi, int n, const int *actions,
                                const float *rewards)
{
    int dim = stats->dim;
    for (int i = 0; i < n; i++) {
        int a = actions[i];
        const float *x = phi + (size_t)i * dim;
        double *A = stats->A + (size_t)a * dim * dim, *b = stats->b + (size_t)a * dim;
        double reward = rewards[i];
        for (int p = 0; p < dim; p++) {
            double x_p = x[p];
            double *A_p = A + (size_t)p * dim;
            for (int q = 0; q <= p; q++)
                A_p[q] += x_p * (double)x[q];
            b[p] += reward * x_p;
        }
        stats->count[a] += 1.0;
    }
    for (int a = 0; a < stats->num_actions; a++) { /* only the actions taken changed */
        for (int i = 0; i < n; i++) {
            if (actions[i] == a) {
                mirror_lower(stats->A + (size_t)a * dim * dim, dim);
                break;
            }
        }
    }
}

static void add_diagonal_row(fcb_linstats *stats, int action, const float *row, double reward)
{
    int dim = stats->dim;
    double *A = stats->A + (size_t)action * dim;
    double *b = stats->b + (size_t)action * dim;
    for (int j = 0; j < dim; j++) {
        double x = row[j];
        A[j] += x * x;
        b[j] += reward * x;
    }
}

static fcb_status check_add_inputs(const fcb_linstats *stats, const float *phi, int n,
                                   const int *actions, const float *rewards)
{
    if (n < 1)
        return fcb_fail(FCB_ERR_ARG, "linstats_add: n = %d rows, need at least 1", n);
    if (phi == NULL || actions == NULL || rewards == NULL)
        return fcb_fail(FCB_ERR_ARG, "linstats_add: NULL phi, actions or rewards");
    for (int i = 0; i < n; i++) {
        if (actions[i] < 0 || actions[i] >= stats->num_actions)
            return fcb_fail(FCB_ERR_ARG, "linstats_add: row %d: action %d outside [0, %d)", i,
                            actions[i], stats->num_actions);
        if (!isfinite(rewards[i]))
            return fcb_fail(FCB_ERR_ARG, "linstats_add: row %d: reward is not finite", i);
        const float *row = phi + (size_t)i * stats->dim;
        for (int j = 0; j < stats->dim; j++) {
            if (!isfinite(row[j]))
                return fcb_fail(FCB_ERR_ARG, "linstats_add: row %d: phi[%d] is not finite", i, j);
        }
    }
    return FCB_OK;
}

/* Above FCB_SMALL_DIM the full-covariance update gathers each action's
 * rows, converted to double, into blocks of LINSTATS_ADD_BLOCK rows and
 * applies one dsyrk per block. The struct has no scratch field, so the
 * block buffer is allocated once per call (not per row). All inputs are
 * checked first, so a failing call leaves the statistics unchanged. A is
 * kept symmetric-complete: both triangles hold the same values, in memory
 * and in the flat form. */
fcb_status fcb_linstats_add(fcb_linstats *stats, const float *phi, int n, const int *actions,
                            const float *rewards)
{
    if (stats == NULL || stats->A == NULL)
        return fcb_fail(FCB_ERR_ARG, "linstats_add: stats not initialised");
    fcb_status status = check_add_inputs(stats, phi, n, actions, rewards);
    if (status != FCB_OK)
        return status;
    int dim = stats->dim;
    if (stats->diagonal) {
        for (int i = 0; i < n; i++) {
            add_diagonal_row(stats, actions[i], phi + (size_t)i * dim, rewards[i]);
            stats->count[actions[i]] += 1.0;
        }
        return FCB_OK;
    }
    if (dim <= FCB_SMALL_DIM) {
        add_full_rows_small(stats, phi, n, actions, rewards);
        return FCB_OK;
    }
    int block = n < LINSTATS_ADD_BLOCK ? n : LINSTATS_ADD_BLOCK;
    double *rows = malloc((size_t)block * dim * sizeof *rows);
    double *block_rewards = malloc((size_t)block * sizeof *block_rewards);
    if (rows == NULL || block_rewards == NULL) {
        free(rows);
        free(block_rewards);
        return fcb_fail(FCB_ERR_NOMEM, "linstats_add: cannot allocate a %d x %d block", block, dim);
    }
    for (int a = 0; a < stats->num_actions; a++) {
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (actions[i] != a)
                continue;
            const float *row = phi + (size_t)i * dim;
            for (int j = 0; j < dim; j++)
                rows[(size_t)m * dim + j] = row[j];
            block_rewards[m++] = rewards[i];
            if (m == block) {
                add_full_block(stats, a, rows, block_rewards, m);
                stats->count[a] += m;
                m = 0;
            }
        }
        if (m > 0) {
            add_full_block(stats, a, rows, block_rewards, m);
            stats->count[a] += m;
        }
        mirror_lower(stats->A + (size_t)a * dim * dim, dim);
    }
    free(rows);
    free(block_rewards);
    return FCB_OK;
}

static int same_shape(const fcb_linstats *x, const fcb_linstats *y)
{
    return x->num_actions == y->num_actions && x->dim == y->dim && x->diagonal == y->diagonal;
}

fcb_status fcb_linstats_merge(fcb_linstats *dst, const fcb_linstats *src)
{
    if (dst == NULL || src == NULL || dst->A == NULL || src->A == NULL)
        return fcb_fail(FCB_ERR_ARG, "linstats_merge: NULL or uninitialised statistics");
    if (!same_shape(dst, src))
        return fcb_fail(FCB_ERR_ARG,
                        "linstats_merge: shape mismatch: dst K=%d dim=%d diagonal=%d, "
                        "src K=%d dim=%d diagonal=%d",
                        dst->num_actions, dst->dim, dst->diagonal, src->num_actions, src->dim,
                        src->diagonal);
    int k = dst->num_actions;
    cblas_daxpy((int)a_size(k, dst->dim, dst->diagonal), 1.0, src->A, 1, dst->A, 1);
    cblas_daxpy(k * dst->dim, 1.0, src->b, 1, dst->b, 1);
    cblas_daxpy(k, 1.0, src->count, 1, dst->count, 1);
    return FCB_OK;
}

void fcb_linstats_scale(fcb_linstats *stats, double factor)
{
    if (factor == 1.0)
        return;
    int k = stats->num_actions;
    cblas_dscal((int)a_size(k, stats->dim, stats->diagonal), factor, stats->A, 1);
    cblas_dscal(k * stats->dim, factor, stats->b, 1);
    cblas_dscal(k, factor, stats->count, 1);
}

size_t fcb_linstats_a_size(const fcb_linstats *stats)
{
    return a_size(stats->num_actions, stats->dim, stats->diagonal);
}

size_t fcb_linstats_flat_size(const fcb_linstats *stats)
{
    size_t k = (size_t)stats->num_actions;
    return a_size(stats->num_actions, stats->dim, stats->diagonal) + k * stats->dim + k;
}

void fcb_linstats_to_flat(const fcb_linstats *stats, double *flat)
{
    size_t na = a_size(stats->num_actions, stats->dim, stats->diagonal);
    size_t nb = (size_t)stats->num_actions * stats->dim;
    memcpy(flat, stats->A, na * sizeof *flat);
    memcpy(flat + na, stats->b, nb * sizeof *flat);
    memcpy(flat + na + nb, stats->count, (size_t)stats->num_actions * sizeof *flat);
}

fcb_status fcb_linstats_from_flat(fcb_linstats *stats, const double *flat, size_t n)
{
    if (stats == NULL || stats->A == NULL || flat == NULL)
        return fcb_fail(FCB_ERR_ARG, "linstats_from_flat: NULL or uninitialised argument");
    size_t expected = fcb_linstats_flat_size(stats);
    if (n != expected)
        return fcb_fail(FCB_ERR_ARG, "linstats_from_flat: %zu values, expected %zu (K=%d dim=%d%s)",
                        n, expected, stats->num_actions, stats->dim,
                        stats->diagonal ? " diagonal" : "");
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(flat[i]))
            return fcb_fail(FCB_ERR_FORMAT, "linstats_from_flat: value %zu is not finite", i);
    }
    size_t na = a_size(stats->num_actions, stats->dim, stats->diagonal);
    size_t nb = (size_t)stats->num_actions * stats->dim;
    memcpy(stats->A, flat, na * sizeof *flat);
    memcpy(stats->b, flat + na, nb * sizeof *flat);
    memcpy(stats->count, flat + na + nb, (size_t)stats->num_actions * sizeof *flat);
    return FCB_OK;
}

/* ---- posterior -------------------------------------------------------------- */

/* The batch buffer of fcb_linposterior (see linear_bandit.h for its parts). */
static size_t batch_size(int num_actions, int dim)
{
    size_t k = (size_t)num_actions, d = (size_t)dim, rows = FCB_LINPOST_BATCH;
    return 2 * rows * d + 3 * rows * k + k * d + 2 * k + 2;
}

typedef struct {
    double *x, *z;             /* rows x dim */
    double *mean, *width;      /* rows x K */
    double *sampled;           /* rows x K */
    double *theta_sample;      /* K x dim */
    double *probs, *work;      /* K, K + 2 */
} batch_parts;

static batch_parts batch_of(const fcb_linposterior *post)
{
    size_t k = (size_t)post->num_actions, d = (size_t)post->dim, rows = FCB_LINPOST_BATCH;
    batch_parts p;
    p.x = post->batch;
    p.z = p.x + rows * d;
    p.mean = p.z + rows * d;
    p.width = p.mean + rows * k;
    p.sampled = p.width + rows * k;
    p.theta_sample = p.sampled + rows * k;
    p.probs = p.theta_sample + k * d;
    p.work = p.probs + k;
    return p;
}

/* post->scratch holds 2 dim doubles for the per-row solves followed
 * by 2 K doubles for the per-row means and widths of Thompson sampling, so
 * no decision allocates. post->lambda stays 0 until the first solve. */
fcb_status fcb_linposterior_init(fcb_linposterior *post, int num_actions, int dim, int diagonal)
{
    if (post == NULL)
        return fcb_fail(FCB_ERR_ARG, "linposterior_init: NULL posterior");
    memset(post, 0, sizeof *post);
    if (num_actions < 1 || dim < 1)
        return fcb_fail(FCB_ERR_ARG,
                        "linposterior_init: num_actions = %d and dim = %d must be >= 1",
                        num_actions, dim);
    if (diagonal != 0 && diagonal != 1)
        return fcb_fail(FCB_ERR_ARG, "linposterior_init: diagonal = %d must be 0 or 1", diagonal);
    post->num_actions = num_actions;
    post->dim = dim;
    post->diagonal = diagonal;
    post->chol = calloc(a_size(num_actions, dim, diagonal), sizeof *post->chol);
    post->theta = calloc((size_t)num_actions * dim, sizeof *post->theta);
    post->scratch = calloc(2 * (size_t)dim + 2 * (size_t)num_actions, sizeof *post->scratch);
    post->batch = calloc(batch_size(num_actions, dim), sizeof *post->batch);
    post->active = calloc((size_t)num_actions, sizeof *post->active);
    int lanes = !diagonal && dim <= FCB_SMALL_DIM && num_actions > 1 && fcb_small_linalg_avx2();
    if (lanes)
        post->lanes = malloc((size_t)FCB_LANES * ((size_t)dim * dim + dim) * sizeof *post->lanes);
    if (post->chol == NULL || post->theta == NULL || post->scratch == NULL || post->batch == NULL ||
        post->active == NULL || (lanes && post->lanes == NULL)) {
        fcb_linposterior_free(post);
        return fcb_fail(FCB_ERR_NOMEM, "linposterior_init: cannot allocate %d x %d posterior",
                        num_actions, dim);
    }
    fcb_status status = fcb_argmax_rule_init(&post->rule);
    if (status != FCB_OK)
        fcb_linposterior_free(post);
    return status;
}

void fcb_linposterior_free(fcb_linposterior *post)
{
    if (post == NULL)
        return;
    free(post->chol);
    free(post->theta);
    free(post->scratch);
    free(post->batch);
    free(post->active);
    free(post->tilde);
    free(post->lanes);
    memset(post, 0, sizeof *post);
}

/* rhs_a = b_a + lambda theta0_a into theta_a. */
static void load_rhs(fcb_linposterior *post, const fcb_linstats *stats, int action,
                     const float *theta0)
{
    int dim = post->dim;
    double *theta = post->theta + (size_t)action * dim;
    const double *b = stats->b + (size_t)action * dim;
    for (int j = 0; j < dim; j++) {
        double prior = theta0 != NULL ? theta0[(size_t)action * dim + j] : 0.0;
        theta[j] = b[j] + post->lambda * prior;
    }
}

static fcb_status solve_full_action(fcb_linposterior *post, const fcb_linstats *stats, int action)
{
    int dim = post->dim;
    double *L = post->chol + (size_t)action * dim * dim;
    memcpy(L, stats->A + (size_t)action * dim * dim, (size_t)dim * dim * sizeof *L);
    for (int j = 0; j < dim; j++)
        L[(size_t)j * dim + j] += post->lambda;
    int info = fcb_cholesky_lower(L, dim);
    if (info != 0)
        return fcb_fail(FCB_ERR_NUMERIC,
                        "linposterior_solve: action %d: precision lambda I + A is not positive "
                        "definite (Cholesky fails at column %d)",
                        action, info);
    fcb_cholesky_solve(L, dim, post->theta + (size_t)action * dim);
    return FCB_OK;
}

static fcb_status solve_diagonal_action(fcb_linposterior *post, const fcb_linstats *stats,
                                        int action)
{
    int dim = post->dim;
    double *precision = post->chol + (size_t)action * dim;
    double *theta = post->theta + (size_t)action * dim;
    const double *A = stats->A + (size_t)action * dim;
    for (int j = 0; j < dim; j++) {
        precision[j] = post->lambda + A[j];
        if (!(precision[j] > 0.0))
            return fcb_fail(FCB_ERR_NUMERIC,
                            "linposterior_solve: action %d: diagonal precision %d is %g, not "
                            "positive",
                            action, j, precision[j]);
        theta[j] /= precision[j];
    }
    return FCB_OK;
}

fcb_status fcb_linposterior_solve(fcb_linposterior *post, const fcb_linstats *stats, double lambda,
                                  const float *theta0)
{
    if (post == NULL || post->chol == NULL || stats == NULL || stats->A == NULL)
        return fcb_fail(FCB_ERR_ARG, "linposterior_solve: NULL or uninitialised argument");
    if (post->num_actions != stats->num_actions || post->dim != stats->dim ||
        post->diagonal != stats->diagonal)
        return fcb_fail(FCB_ERR_ARG,
                        "linposterior_solve: posterior K=%d dim=%d diagonal=%d does not match "
                        "statistics K=%d dim=%d diagonal=%d",
                        post->num_actions, post->dim, post->diagonal, stats->num_actions,
                        stats->dim, stats->diagonal);
    if (!(lambda > 0.0) || !isfinite(lambda))
        return fcb_fail(FCB_ERR_ARG, "linposterior_solve: ridge lambda = %g must be finite and > 0",
                        lambda);
    if (theta0 != NULL) {
        size_t total = (size_t)post->num_actions * post->dim;
        for (size_t i = 0; i < total; i++) {
            if (!isfinite(theta0[i]))
                return fcb_fail(FCB_ERR_ARG,
                                "linposterior_solve: prior theta0 of action %zu, coordinate %zu "
                                "is not finite",
                                i / (size_t)post->dim, i % (size_t)post->dim);
        }
    }
    post->lambda = lambda;
    int first_single = 0; /* actions from here on are solved one at a time */
    size_t dd = (size_t)post->dim * post->dim;
    for (int a = 0; post->lanes != NULL && a < post->num_actions; a += FCB_LANES) {
        int count = post->num_actions - a < FCB_LANES ? post->num_actions - a : FCB_LANES;
        for (int i = a; i < a + count; i++)
            load_rhs(post, stats, i, theta0);
        if (fcb_cholesky_solve_lanes(stats->A + a * dd, lambda, post->chol + a * dd,
                                     post->theta + (size_t)a * post->dim, count, post->dim, post->lanes) != 0) {
            first_single = a; /* not positive definite: the single path names the action */
            break;
        }
        first_single = a + count;
    }
    for (int a = first_single; a < post->num_actions; a++) {
        load_rhs(post, stats, a, theta0);
        fcb_status status = post->diagonal ? solve_diagonal_action(post, stats, a)
                                           : solve_full_action(post, stats, a);
        if (status != FCB_OK) {
            post->lambda = 0.0; /* the posterior is unusable until a successful solve */
            return status;
        }
    }
    return FCB_OK;
}

fcb_status fcb_linposterior_set_tilde(fcb_linposterior *post, const double *tilde_a)
{
    if (post == NULL || post->chol == NULL)
        return fcb_fail(FCB_ERR_ARG, "linposterior_set_tilde: NULL or uninitialised posterior");
    if (tilde_a == NULL) {
        free(post->tilde);
        post->tilde = NULL;
        return FCB_OK;
    }
    if (!(post->lambda > 0.0))
        return fcb_fail(FCB_ERR_STATE, "linposterior_set_tilde: posterior not solved (call fcb_linposterior_solve)");
    int dim = post->dim;
    size_t n = a_size(post->num_actions, dim, post->diagonal);
    if (post->tilde == NULL && (post->tilde = malloc(n * sizeof *post->tilde)) == NULL)
        return fcb_fail(FCB_ERR_NOMEM, "linposterior_set_tilde: cannot allocate %zu values", n);
    memcpy(post->tilde, tilde_a, n * sizeof *post->tilde);
    for (int a = 0; a < post->num_actions; a++) {
        double *t = post->tilde + (post->diagonal ? (size_t)a * dim : (size_t)a * dim * dim);
        for (int j = 0; j < dim; j++)
            t[post->diagonal ? (size_t)j : (size_t)j * dim + j] += post->lambda;
    }
    return FCB_OK;
}

fcb_status fcb_linposterior_copy(fcb_linposterior *dst, const fcb_linposterior *src)
{
    if (dst == NULL || src == NULL || dst->chol == NULL || src->chol == NULL)
        return fcb_fail(FCB_ERR_ARG, "linposterior_copy: NULL or uninitialised posterior");
    if (dst->num_actions != src->num_actions || dst->dim != src->dim || dst->diagonal != src->diagonal)
        return fcb_fail(FCB_ERR_ARG, "linposterior_copy: shapes differ (K=%d dim=%d diagonal=%d vs K=%d dim=%d "
                        "diagonal=%d)", dst->num_actions, dst->dim, dst->diagonal, src->num_actions, src->dim,
                        src->diagonal);
    size_t n = a_size(src->num_actions, src->dim, src->diagonal);
    memcpy(dst->chol, src->chol, n * sizeof *dst->chol);
    memcpy(dst->theta, src->theta, (size_t)src->num_actions * src->dim * sizeof *dst->theta);
    dst->lambda = src->lambda;
    if (src->tilde == NULL) {
        free(dst->tilde);
        dst->tilde = NULL;
        return FCB_OK;
    }
    if (dst->tilde == NULL && (dst->tilde = malloc(n * sizeof *dst->tilde)) == NULL)
        return fcb_fail(FCB_ERR_NOMEM, "linposterior_copy: cannot allocate %zu values", n);
    memcpy(dst->tilde, src->tilde, n * sizeof *dst->tilde);
    return FCB_OK;
}

/* phi^T P^-1 V~ P^-1 phi for one action, x = phi in scratch[0..dim),
 * scratch[dim..2 dim) as the product buffer. */
static double tilde_quad(fcb_linposterior *post, int action, double *x)
{
    int dim = post->dim;
    if (post->diagonal) {
        const double *precision = post->chol + (size_t)action * dim;
        const double *t = post->tilde + (size_t)action * dim;
        double quad = 0.0;
        for (int j = 0; j < dim; j++) {
            double y = x[j] / precision[j];
            quad += y * y * t[j];
        }
        return quad;
    }
    const double *L = post->chol + (size_t)action * dim * dim;
    cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, dim, L, dim, x, 1);
    cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, dim, L, dim, x, 1);
    double *z = x + dim;
    cblas_dsymv(CblasRowMajor, CblasLower, dim, 1.0, post->tilde + (size_t)action * dim * dim, dim, x, 1, 0.0, z,
                1);
    return cblas_ddot(dim, x, 1, z, 1);
}

/* Mean and width of one action for one row of phi; uses post->scratch[0..2 dim). */
static void predict_one(fcb_linposterior *post, const float *phi, int action, double *mean,
                        double *width)
{
    int dim = post->dim;
    double *x = post->scratch;
    for (int j = 0; j < dim; j++)
        x[j] = phi[j];
    *mean = cblas_ddot(dim, post->theta + (size_t)action * dim, 1, x, 1);
    if (post->tilde != NULL) {
        double quad = tilde_quad(post, action, x);
        *width = quad > 0.0 ? sqrt(quad) : 0.0;
        return;
    }
    if (post->diagonal) {
        const double *precision = post->chol + (size_t)action * dim;
        double quad = 0.0;
        for (int j = 0; j < dim; j++)
            quad += x[j] * x[j] / precision[j];
        *width = sqrt(quad);
        return;
    }
    /* phi^T P^-1 phi = |L^-1 phi|^2 with P = L L^T. */
    const double *L = post->chol + (size_t)action * dim * dim;
    cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, dim, L, dim, x, 1);
    *width = cblas_dnrm2(dim, x, 1);
}

static fcb_status check_predict_inputs(const fcb_linposterior *post, const float *phi, int n,
                                       const char *where)
{
    if (post == NULL || post->chol == NULL)
        return fcb_fail(FCB_ERR_ARG, "%s: NULL or uninitialised posterior", where);
    if (!(post->lambda > 0.0))
        return fcb_fail(FCB_ERR_STATE, "%s: posterior not solved (call fcb_linposterior_solve)",
                        where);
    if (n < 1)
        return fcb_fail(FCB_ERR_ARG, "%s: n = %d rows, need at least 1", where, n);
    if (phi == NULL)
        return fcb_fail(FCB_ERR_ARG, "%s: NULL phi", where);
    size_t total = (size_t)n * post->dim;
    for (size_t i = 0; i < total; i++) {
        if (!isfinite(phi[i]))
            return fcb_fail(FCB_ERR_ARG, "%s: row %zu: phi[%zu] is not finite", where,
                            i / (size_t)post->dim, i % (size_t)post->dim);
    }
    return FCB_OK;
}

fcb_status fcb_linposterior_predict(fcb_linposterior *post, const float *phi, int n, double *mean,
                                    double *width)
{
    fcb_status status = check_predict_inputs(post, phi, n, "linposterior_predict");
    if (status != FCB_OK)
        return status;
    if (mean == NULL || width == NULL)
        return fcb_fail(FCB_ERR_ARG, "linposterior_predict: NULL mean or width");
    int k = post->num_actions;
    for (int i = 0; i < n; i++) {
        const float *row = phi + (size_t)i * post->dim;
        for (int a = 0; a < k; a++)
            predict_one(post, row, a, &mean[(size_t)i * k + a], &width[(size_t)i * k + a]);
    }
    return FCB_OK;
}

/* Widths of one chunk: the rows are in x (rows x dim, double). */
static void chunk_widths(fcb_linposterior *post, const batch_parts *p, int rows, double *width)
{
    int dim = post->dim, k = post->num_actions;
    if (post->tilde != NULL) { /* D-LinUCB's width: per row, as predict_one */
        for (int i = 0; i < rows; i++) {
            for (int a = 0; a < k; a++) {
                memcpy(post->scratch, p->x + (size_t)i * dim, (size_t)dim * sizeof *p->x);
                double quad = tilde_quad(post, a, post->scratch);
                width[(size_t)i * k + a] = quad > 0.0 ? sqrt(quad) : 0.0;
            }
        }
        return;
    }
    if (post->diagonal) {
        for (int i = 0; i < rows; i++) {
            const double *x = p->x + (size_t)i * dim;
            for (int a = 0; a < k; a++) {
                const double *precision = post->chol + (size_t)a * dim;
                double quad = 0.0;
                for (int j = 0; j < dim; j++)
                    quad += x[j] * x[j] / precision[j];
                width[(size_t)i * k + a] = sqrt(quad);
            }
        }
        return;
    }
    /* phi^T P_a^-1 phi = |L_a^-1 phi|^2, the rows of a chunk and all actions at once. */
    fcb_lower_solve_norms(post->chol, k, dim, p->x, rows, p->z, width);
    for (int i = 0; i < rows * k; i++)
        width[i] = sqrt(width[i]);
}

/* Means and widths of rows <= FCB_LINPOST_BATCH rows of phi, inputs checked. */
static void score_chunk(fcb_linposterior *post, const batch_parts *p, const float *phi, int rows, double *mean,
                        double *width)
{
    int dim = post->dim, k = post->num_actions;
    size_t block = (size_t)rows * dim;
    for (size_t i = 0; i < block; i++)
        p->x[i] = phi[i];
    if (dim > FCB_SMALL_DIM) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, k, dim, 1.0, p->x, dim, post->theta, dim, 0.0,
                    mean, k);
    } else { /* a few thousand products: loops beat dgemm's call and buffer lock */
        for (int i = 0; i < rows; i++) {
            const double *x = p->x + (size_t)i * dim;
            for (int a = 0; a < k; a++) {
                const double *t = post->theta + (size_t)a * dim;
                double sum = 0.0;
                for (int j = 0; j < dim; j++)
                    sum += x[j] * t[j];
                mean[(size_t)i * k + a] = sum;
            }
        }
    }
    chunk_widths(post, p, rows, width);
}

fcb_status fcb_linposterior_score_batch(fcb_linposterior *post, const float *phi, int rows, double *mean,
                                        double *width)
{
    fcb_status status = check_predict_inputs(post, phi, rows, "linposterior_score_batch");
    if (status != FCB_OK)
        return status;
    if (rows > FCB_LINPOST_BATCH || mean == NULL || width == NULL)
        return fcb_fail(FCB_ERR_ARG, "linposterior_score_batch: %d rows (at most %d) or NULL mean or width", rows,
                        FCB_LINPOST_BATCH);
    batch_parts p = batch_of(post);
    score_chunk(post, &p, phi, rows, mean, width);
    return FCB_OK;
}

/* argmax of k values, ties to the lowest index. */
static int argmax_double(const double *values, int k)
{
    int best = 0;
    for (int a = 1; a < k; a++) {
        if (values[a] > values[best])
            best = a;
    }
    return best;
}

fcb_status fcb_linucb_act(fcb_linposterior *post, double alpha, const float *phi, int n,
                          int *actions, float *propensities, float *scores)
{
    fcb_status status = check_predict_inputs(post, phi, n, "linucb_act");
    if (status != FCB_OK)
        return status;
    if (!(alpha >= 0.0) || !isfinite(alpha))
        return fcb_fail(FCB_ERR_ARG, "linucb_act: alpha = %g must be finite and >= 0", alpha);
    if (actions == NULL || propensities == NULL)
        return fcb_fail(FCB_ERR_ARG, "linucb_act: NULL actions or propensities");
    int k = post->num_actions;
    batch_parts p = batch_of(post);
    for (int start = 0; start < n; start += FCB_LINPOST_BATCH) {
        int rows = n - start < FCB_LINPOST_BATCH ? n - start : FCB_LINPOST_BATCH;
        score_chunk(post, &p, phi + (size_t)start * post->dim, rows, p.mean, p.width);
        for (int i = 0; i < rows; i++) {
            double *value = p.sampled + (size_t)i * k;
            for (int a = 0; a < k; a++)
                value[a] = p.mean[(size_t)i * k + a] + alpha * p.width[(size_t)i * k + a];
            if (scores != NULL) {
                for (int a = 0; a < k; a++)
                    scores[(size_t)(start + i) * k + a] = (float)value[a];
            }
            actions[start + i] = argmax_double(value, k);
            propensities[start + i] = 1.0f;
        }
    }
    return FCB_OK;
}

/* argmax_a mean_a + v width_a z_a over K fresh normals (ties to the lowest). */
static int thompson_draw(const double *mean, const double *width, int k, double v, fcb_rng *rng)
{
    int best = 0;
    double best_value = 0.0;
    for (int a = 0; a < k; a++) {
        double value = mean[a] + v * width[a] * fcb_rng_normal(rng);
        if (a == 0 || value > best_value) {
            best = a;
            best_value = value;
        }
    }
    return best;
}

/* theta~_a = theta_a + v L_a^-T z_a (diagonal: z_j / sqrt(precision_j)),
 * whose covariance is v^2 P_a^-1; K x dim normals, action by action. */
static void sample_theta(fcb_linposterior *post, double v, fcb_rng *rng, double *theta_sample)
{
    int dim = post->dim;
    for (int a = 0; a < post->num_actions; a++) {
        double *t = theta_sample + (size_t)a * dim;
        for (int j = 0; j < dim; j++)
            t[j] = fcb_rng_normal(rng);
        if (post->diagonal) {
            for (int j = 0; j < dim; j++)
                t[j] /= sqrt(post->chol[(size_t)a * dim + j]);
        } else {
            cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, dim,
                        post->chol + (size_t)a * dim * dim, dim, t, 1);
        }
        const double *theta = post->theta + (size_t)a * dim;
        for (int j = 0; j < dim; j++)
            t[j] = theta[j] + v * t[j];
    }
}

static fcb_status check_thompson_options(const fcb_thompson_options *o)
{
    if (o == NULL)
        return fcb_fail(FCB_ERR_ARG, "thompson_act: NULL options");
    if (!(o->scale > 0.0) || !isfinite(o->scale))
        return fcb_fail(FCB_ERR_ARG, "thompson_act: scale v = %g must be finite and > 0", o->scale);
    if (o->propensity != FCB_TS_PROPENSITY_EXACT && o->propensity != FCB_TS_PROPENSITY_MONTE_CARLO)
        return fcb_fail(FCB_ERR_ARG, "thompson_act: unknown propensity method %d", (int)o->propensity);
    if (o->propensity == FCB_TS_PROPENSITY_MONTE_CARLO && o->propensity_samples < 1)
        return fcb_fail(FCB_ERR_ARG, "thompson_act: propensity_samples = %d must be >= 1",
                        o->propensity_samples);
    if (o->sample != FCB_TS_SAMPLE_DECISION && o->sample != FCB_TS_SAMPLE_ROUND)
        return fcb_fail(FCB_ERR_ARG, "thompson_act: unknown sampling mode %d", (int)o->sample);
    return FCB_OK;
}

/* p(action | x) for one row's means and widths. The Monte Carlo estimate
 * draws from rng right after the row's decision. */
static float thompson_propensity(fcb_linposterior *post, const batch_parts *p, const fcb_thompson_options *o,
                                 const double *mean, const double *width, int action, fcb_rng *rng)
{
    int k = post->num_actions;
    if (o->propensity == FCB_TS_PROPENSITY_MONTE_CARLO) {
        int hits = 0;
        for (int s = 0; s < o->propensity_samples; s++) {
            if (thompson_draw(mean, width, k, o->scale, rng) == action)
                hits++;
        }
        double propensity = (double)hits / o->propensity_samples;
        double floor_value = 1.0 / (2.0 * o->propensity_samples);
        return (float)(propensity > floor_value ? propensity : floor_value);
    }
    double *sd = p->work; /* the first K of its K + 2; the rest is the argmax's work */
    for (int a = 0; a < k; a++)
        sd[a] = o->scale * width[a];
    fcb_normal_argmax_probs(&post->rule, mean, sd, k, post->active, post->scratch, p->probs);
    double propensity = p->probs[action];
    return (float)(propensity > 1e-10 ? propensity : 1e-10);
}

/* Per row the rng is used in a fixed order: the row's decision (K normals,
 * or none when theta~ was drawn for the round), then the Monte Carlo
 * propensity's draws. */
fcb_status fcb_thompson_act(fcb_linposterior *post, const fcb_thompson_options *options, const float *phi,
                            int n, fcb_rng *rng, int *actions, float *propensities)
{
    fcb_status status = check_predict_inputs(post, phi, n, "thompson_act");
    if (status == FCB_OK)
        status = check_thompson_options(options);
    if (status != FCB_OK)
        return status;
    if (rng == NULL || actions == NULL || propensities == NULL)
        return fcb_fail(FCB_ERR_ARG, "thompson_act: NULL rng, actions or propensities");
    int k = post->num_actions;
    batch_parts p = batch_of(post);
    int per_round = options->sample == FCB_TS_SAMPLE_ROUND;
    if (per_round)
        sample_theta(post, options->scale, rng, p.theta_sample);
    for (int start = 0; start < n; start += FCB_LINPOST_BATCH) {
        int rows = n - start < FCB_LINPOST_BATCH ? n - start : FCB_LINPOST_BATCH;
        score_chunk(post, &p, phi + (size_t)start * post->dim, rows, p.mean, p.width);
        if (per_round)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, k, post->dim, 1.0, p.x, post->dim,
                        p.theta_sample, post->dim, 0.0, p.sampled, k);
        for (int i = 0; i < rows; i++) {
            const double *mean = p.mean + (size_t)i * k, *width = p.width + (size_t)i * k;
            int action = per_round ? argmax_double(p.sampled + (size_t)i * k, k)
                                   : thompson_draw(mean, width, k, options->scale, rng);
            actions[start + i] = action;
            propensities[start + i] = thompson_propensity(post, &p, options, mean, width, action, rng);
        }
    }
    return FCB_OK;
}
