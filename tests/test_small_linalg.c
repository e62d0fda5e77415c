/* The linear bandits' small kernels (models/small_linalg.c), both paths
 * (plain loops up to FCB_SMALL_DIM, LAPACK and BLAS above): the Cholesky
 * factor reproduces its matrix, is lower with a positive diagonal, and
 * reports the first column that is not positive definite as LAPACK does;
 * the solve with the factor leaves a residual at rounding level;
 * the widths |L^-1 x|^2 of several actions equal a long-double forward
 * substitution for every row count across the tile size, written only
 * where they belong; the loop kernels give exactly the bits of the plain
 * order of operations, vectorised or not, and four actions to a vector
 * give the bits of one action at a time. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "small_linalg.h"

enum { MAX_N = 70, MAX_ROWS = 20 };

/* lambda I + sum of 2n outer products of uniform(-1, 1) rows: symmetric positive definite. */
static void random_precision(fcb_rng *rng, int n, double *p)
{
    double v[MAX_N];
    memset(p, 0, (size_t)n * n * sizeof *p);
    for (int r = 0; r < 2 * n; r++) {
        for (int i = 0; i < n; i++)
            v[i] = 2.0 * fcb_rng_uniform(rng) - 1.0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++)
                p[(size_t)i * n + j] += v[i] * v[j];
        }
    }
    for (int i = 0; i < n; i++)
        p[(size_t)i * n + i] += 0.5;
}

static void check_factor(const double *p, const double *L, int n)
{
    double scale = 0.0;
    for (int i = 0; i < n * n; i++)
        scale = fmax(scale, fabs(p[i]));
    for (int i = 0; i < n; i++) {
        if (!(L[(size_t)i * n + i] > 0.0))
            fail_msg("n = %d: L[%d][%d] = %g is not positive", n, i, i, L[(size_t)i * n + i]);
        for (int j = 0; j < n; j++) {
            if (j > i && L[(size_t)i * n + j] != 0.0)
                fail_msg("n = %d: upper entry L[%d][%d] = %g is not zero", n, i, j, L[(size_t)i * n + j]);
            long double sum = 0.0L;
            for (int k = 0; k < n; k++)
                sum += (long double)L[(size_t)i * n + k] * L[(size_t)j * n + k];
            if (fabsl(sum - p[(size_t)i * n + j]) > 1e-12L * scale)
                fail_msg("n = %d: (L L^T)[%d][%d] = %.17Lg, the matrix has %.17g", n, i, j, sum, p[(size_t)i * n + j]);
        }
    }
}

static void test_cholesky_reproduces_the_matrix(void **state)
{
    (void)state;
    static double p[MAX_N * MAX_N], L[MAX_N * MAX_N], loops[MAX_N * MAX_N];
    fcb_rng rng;
    fcb_rng_init(&rng, 21, FCB_STREAM_TEST, 0, 0);
    for (int n = 1; n <= MAX_N; n++) {
        random_precision(&rng, n, p);
        memcpy(L, p, (size_t)n * n * sizeof *L);
        memcpy(loops, p, (size_t)n * n * sizeof *loops);
        for (int i = 0; i < n; i++) { /* garbage in the upper triangle must not matter */
            for (int j = i + 1; j < n; j++)
                L[(size_t)i * n + j] = loops[(size_t)i * n + j] = 1e300;
        }
        assert_int_equal(fcb_cholesky_lower(L, n), 0);
        check_factor(p, L, n);
        assert_int_equal(fcb_cholesky_lower_loops(loops, n), 0);
        check_factor(p, loops, n);
    }
}

static void test_cholesky_names_the_failing_column(void **state)
{
    (void)state;
    static double p[MAX_N * MAX_N];
    const int cases[][2] = {{1, 0}, {5, 0}, {5, 3}, {21, 20}, {48, 17}, {60, 0}, {60, 41}, {MAX_N, MAX_N - 1}};
    fcb_rng rng;
    fcb_rng_init(&rng, 22, FCB_STREAM_TEST, 0, 0);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int n = cases[c][0], column = cases[c][1];
        random_precision(&rng, n, p);
        p[(size_t)column * n + column] = -1.0; /* the leading block up to column is the first not positive definite */
        int info = fcb_cholesky_lower(p, n);
        if (info != column + 1)
            fail_msg("n = %d, negative pivot at column %d: returned %d, want %d", n, column, info, column + 1);
    }
    double nan_matrix[4] = {NAN, 0.0, 0.0, 1.0};
    assert_int_equal(fcb_cholesky_lower(nan_matrix, 2), 1);
}

/* P x = b to rounding: |P x - b| <= 1e-12 |P| |x| per row, long double residual. */
static void check_solution(const double *p, int n, const double *x, const double *b, const char *path)
{
    for (int i = 0; i < n; i++) {
        long double residual = -(long double)b[i], scale = 0.0L;
        for (int j = 0; j < n; j++) {
            residual += (long double)p[(size_t)i * n + j] * x[j];
            scale += fabsl((long double)p[(size_t)i * n + j] * x[j]);
        }
        if (fabsl(residual) > 1e-12L * (scale + fabs(b[i])))
            fail_msg("%s, n = %d: row %d of P x - b is %.3Lg (scale %.3Lg)", path, n, i, residual, scale);
    }
}

static void test_cholesky_solve(void **state)
{
    (void)state;
    static double p[MAX_N * MAX_N], L[MAX_N * MAX_N];
    double b[MAX_N], x[MAX_N];
    fcb_rng rng;
    fcb_rng_init(&rng, 24, FCB_STREAM_TEST, 0, 0);
    for (int n = 1; n <= MAX_N; n++) {
        random_precision(&rng, n, p);
        memcpy(L, p, (size_t)n * n * sizeof *L);
        assert_int_equal(fcb_cholesky_lower(L, n), 0);
        for (int i = 0; i < n; i++)
            b[i] = 10.0 * fcb_rng_uniform(&rng) - 5.0;
        memcpy(x, b, (size_t)n * sizeof *x);
        fcb_cholesky_solve(L, n, x);
        check_solution(p, n, x, b, "fcb_cholesky_solve");
        memcpy(x, b, (size_t)n * sizeof *x);
        fcb_cholesky_solve_loops(L, n, x);
        check_solution(p, n, x, b, "fcb_cholesky_solve_loops");
    }
}

static void check_norms(const double *L, int n, const double *x, int rows, const double *got, int stride)
{
    for (int i = 0; i < rows; i++) {
        long double z[MAX_N], sum = 0.0L;
        for (int j = 0; j < n; j++) {
            long double value = x[(size_t)i * n + j];
            for (int k = 0; k < j; k++)
                value -= (long double)L[(size_t)j * n + k] * z[k];
            z[j] = value / L[(size_t)j * n + j];
            sum += z[j] * z[j];
        }
        double value = got[(size_t)i * stride];
        if (fabsl(value - sum) > 1e-12L * sum)
            fail_msg("n = %d, %d rows: row %d: |L^-1 x|^2 = %.17g, forward substitution %.17Lg", n, rows, i, value, sum);
    }
}

enum { ACTIONS = 3 };

static void test_widths_equal_forward_substitution(void **state)
{
    (void)state;
    static double p[ACTIONS * MAX_N * MAX_N], x[MAX_ROWS * MAX_N], work[32 * MAX_N], norms[MAX_ROWS * ACTIONS + 4];
    const int dims[] = {1, 2, 3, 8, 21, FCB_SMALL_DIM, FCB_SMALL_DIM + 1, 64};
    fcb_rng rng;
    fcb_rng_init(&rng, 23, FCB_STREAM_TEST, 0, 0);
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++) {
        int n = dims[d];
        size_t nn = (size_t)n * n;
        for (int a = 0; a < ACTIONS; a++) {
            random_precision(&rng, n, p + a * nn);
            assert_int_equal(fcb_cholesky_lower(p + a * nn, n), 0);
        }
        for (int rows = 1; rows <= MAX_ROWS; rows++) {
            for (int i = 0; i < rows * n; i++)
                x[i] = 4.0 * fcb_rng_uniform(&rng) - 2.0;
            for (int pass = 0; pass < 3; pass++) {
                for (int i = 0; i < MAX_ROWS * ACTIONS + 4; i++)
                    norms[i] = -7.0;
                if (pass == 0)
                    fcb_lower_solve_norms(p, ACTIONS, n, x, rows, work, norms);
                else
                    fcb_lower_solve_norms_loops(p, ACTIONS, n, x, rows, work, norms, pass == 2);
                for (int a = 0; a < ACTIONS; a++)
                    check_norms(p + a * nn, n, x, rows, norms + a, ACTIONS);
                for (int i = rows * ACTIONS; i < MAX_ROWS * ACTIONS + 4; i++) {
                    if (norms[i] != -7.0)
                        fail_msg("n = %d, %d rows: entry %d past the last row was written", n, rows, i);
                }
            }
        }
    }
}

/* The widths of one row in the order both loop kernels promise: z_j's
 * terms summed in two accumulators, even and odd k, each in increasing k,
 * then the squares in increasing j. */
static double widths_in_order(const double *L, int n, const double *x)
{
    double z[MAX_N], sum = 0.0;
    for (int j = 0; j < n; j++) {
        double even = x[j], odd = 0.0;
        for (int k = 0; k < j; k++) {
            if (k % 2 == 0)
                even -= L[(size_t)j * n + k] * z[k];
            else
                odd -= L[(size_t)j * n + k] * z[k];
        }
        z[j] = (even + odd) * (1.0 / L[(size_t)j * n + j]);
        sum += z[j] * z[j];
    }
    return sum;
}

/* A plain left-looking factor, one entry at a time, each sum in increasing k. */
static void cholesky_in_order(double *a, int n)
{
    for (int j = 0; j < n; j++) {
        double *row_j = a + (size_t)j * n;
        double diagonal = row_j[j];
        for (int k = 0; k < j; k++)
            diagonal -= row_j[k] * row_j[k];
        row_j[j] = sqrt(diagonal);
        double inverse = 1.0 / row_j[j];
        for (int i = j + 1; i < n; i++) {
            double value = a[(size_t)i * n + j];
            for (int k = 0; k < j; k++)
                value -= a[(size_t)i * n + k] * row_j[k];
            a[(size_t)i * n + j] = value * inverse;
        }
        for (int i = j + 1; i < n; i++)
            row_j[i] = 0.0;
    }
}

/* The kernels' results do not depend on how they are vectorised: the
 * portable and the AVX2 widths, and the factor two rows at a time, give
 * exactly the bits of the plain order (so a run's decisions are the same
 * on any x86-64). */
static void test_loops_give_the_bits_of_the_plain_order(void **state)
{
    (void)state;
    static double p[ACTIONS * MAX_N * MAX_N], plain[MAX_N * MAX_N], x[MAX_ROWS * MAX_N], work[32 * MAX_N];
    static double portable[MAX_ROWS * ACTIONS], vector[MAX_ROWS * ACTIONS];
    fcb_rng rng;
    fcb_rng_init(&rng, 25, FCB_STREAM_TEST, 0, 0);
    for (int n = 1; n <= FCB_SMALL_DIM; n++) {
        size_t nn = (size_t)n * n;
        for (int a = 0; a < ACTIONS; a++) {
            random_precision(&rng, n, p + a * nn);
            memcpy(plain, p + a * nn, nn * sizeof *plain);
            cholesky_in_order(plain, n);
            assert_int_equal(fcb_cholesky_lower_loops(p + a * nn, n), 0);
            if (memcmp(plain, p + a * nn, nn * sizeof *plain) != 0)
                fail_msg("n = %d: the factor two rows at a time differs from the plain order", n);
        }
        int rows = 1 + n % MAX_ROWS;
        for (int i = 0; i < rows * n; i++)
            x[i] = 4.0 * fcb_rng_uniform(&rng) - 2.0;
        fcb_lower_solve_norms_loops(p, ACTIONS, n, x, rows, work, portable, 0);
        fcb_lower_solve_norms_loops(p, ACTIONS, n, x, rows, work, vector, 1);
        for (int i = 0; i < rows; i++) {
            for (int a = 0; a < ACTIONS; a++) {
                double want = widths_in_order(p + a * nn, n, x + (size_t)i * n);
                if (portable[i * ACTIONS + a] != want || vector[i * ACTIONS + a] != want)
                    fail_msg("n = %d, row %d, action %d: portable %.17g, vector %.17g, plain order %.17g", n, i, a,
                             portable[i * ACTIONS + a], vector[i * ACTIONS + a], want);
            }
        }
    }
    print_message("widths compared with AVX2 %s\n", fcb_small_linalg_avx2() ? "available" : "not available");
}

/* Four actions to a vector: each action's factor and mean are exactly the
 * bits of the one-action loops (lambda I + A factored, then solved), for
 * every n up to FCB_SMALL_DIM and every count of actions; an action that is
 * not positive definite is reported, whichever lane holds it. */
static void test_lanes_give_the_bits_of_one_action_at_a_time(void **state)
{
    (void)state;
    if (!fcb_small_linalg_avx2()) {
        assert_int_equal(fcb_cholesky_solve_lanes(NULL, 1.0, NULL, NULL, 1, 1, NULL), -1);
        print_message("no AVX2 on this processor: the lanes kernel declines (-1), as it must\n");
        return;
    }
    enum { LANES = FCB_LANES };
    static double A[LANES * MAX_N * MAX_N], L[LANES * MAX_N * MAX_N], one[MAX_N * MAX_N];
    static double x[LANES * MAX_N], rhs[LANES * MAX_N], mean[MAX_N], work[LANES * (MAX_N * MAX_N + MAX_N)];
    const double lambda = 0.75;
    fcb_rng rng;
    fcb_rng_init(&rng, 26, FCB_STREAM_TEST, 0, 0);
    for (int n = 1; n <= FCB_SMALL_DIM; n++) {
        size_t nn = (size_t)n * n;
        for (int count = 1; count <= LANES; count++) {
            for (int a = 0; a < count; a++) {
                random_precision(&rng, n, A + a * nn);
                for (int i = 0; i < n; i++)
                    rhs[a * n + i] = 6.0 * fcb_rng_uniform(&rng) - 3.0;
            }
            memcpy(x, rhs, (size_t)count * n * sizeof *x);
            assert_int_equal(fcb_cholesky_solve_lanes(A, lambda, L, x, count, n, work), 0);
            for (int a = 0; a < count; a++) {
                memcpy(one, A + a * nn, nn * sizeof *one);
                for (int j = 0; j < n; j++)
                    one[(size_t)j * n + j] += lambda;
                assert_int_equal(fcb_cholesky_lower_loops(one, n), 0);
                memcpy(mean, rhs + a * n, (size_t)n * sizeof *mean);
                fcb_cholesky_solve_loops(one, n, mean);
                if (memcmp(one, L + a * nn, nn * sizeof *one) != 0)
                    fail_msg("n = %d, %d actions: action %d's factor differs from one action at a time", n, count, a);
                if (memcmp(mean, x + a * n, (size_t)n * sizeof *mean) != 0)
                    fail_msg("n = %d, %d actions: action %d's mean differs from one action at a time", n, count, a);
            }
        }
    }
    for (int bad = 0; bad < LANES; bad++) { /* -lambda - 1 on a diagonal: fails at that column */
        int n = 9, column = 2 + bad;
        size_t nn = (size_t)n * n;
        for (int a = 0; a < LANES; a++)
            random_precision(&rng, n, A + a * nn);
        A[bad * nn + (size_t)column * n + column] = -lambda - 1.0;
        int info = fcb_cholesky_solve_lanes(A, lambda, L, x, LANES, n, work);
        if (info != column + 1)
            fail_msg("not positive definite in lane %d at column %d: returned %d", bad, column, info);
    }
    assert_int_equal(fcb_cholesky_solve_lanes(A, lambda, L, x, 0, 4, work), -1);
    assert_int_equal(fcb_cholesky_solve_lanes(A, lambda, L, x, LANES + 1, 4, work), -1);
    assert_int_equal(fcb_cholesky_solve_lanes(A, lambda, L, x, 1, FCB_SMALL_DIM + 1, work), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cholesky_reproduces_the_matrix),
        cmocka_unit_test(test_cholesky_names_the_failing_column),
        cmocka_unit_test(test_cholesky_solve),
        cmocka_unit_test(test_widths_equal_forward_substitution),
        cmocka_unit_test(test_loops_give_the_bits_of_the_plain_order),
        cmocka_unit_test(test_lanes_give_the_bits_of_one_action_at_a_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
