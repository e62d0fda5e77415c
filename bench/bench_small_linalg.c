/* The linear bandits' two small kernels (models/small_linalg.c) against
 * LAPACK and BLAS, in the same run, for d from 8 to 128: the Cholesky factor
 * of a d x d precision (plain loops vs dpotrf) and the widths |L^-1 x|^2 of
 * a round's 16 rows (loops over tiles of 16 rows, portable and AVX2, vs one
 * dtrsm per action), and the factor with the mean's solve one action at a
 * time against four actions to an AVX2 vector (d <= FCB_SMALL_DIM). Each cell is
 * the median of 5 timings of K = 10 actions, as one round does them, with
 * the solve for the posterior mean (loops vs two dtrsv) between them. The
 * ratio (BLAS time / loops time) backs FCB_SMALL_DIM: loops below it, BLAS
 * above. Prints a markdown table (docs/performance.md, "Small kernels"). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rng.h"
#include "small_linalg.h"

void openblas_set_num_threads(int num_threads);
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);

enum { ACTIONS = 10, ROWS = 16, REPEATS = 5 };

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    int d;
    double *precision; /* ACTIONS x d x d */
    double *factor;    /* ACTIONS x d x d */
    double *rows;      /* ROWS x d */
    double *work;      /* ROWS x d */
    double *norms;     /* ROWS x ACTIONS */
    double *lanes;     /* FCB_LANES x (d x d + d) */
} bench_case;

static void *checked_malloc(size_t bytes)
{
    void *p = malloc(bytes);
    if (p == NULL) {
        fprintf(stderr, "bench_small_linalg: out of memory\n");
        exit(1);
    }
    return p;
}

/* lambda I + the sum of 200 outer products of uniform(-0.5, 0.5) rows. */
static void case_init(bench_case *c, int d)
{
    size_t dd = (size_t)d * d;
    c->d = d;
    c->precision = checked_malloc(ACTIONS * dd * sizeof(double));
    c->factor = checked_malloc(ACTIONS * dd * sizeof(double));
    c->rows = checked_malloc((size_t)ROWS * d * sizeof(double));
    c->work = checked_malloc((size_t)(ROWS > 32 ? ROWS : 32) * d * sizeof(double));
    c->norms = checked_malloc((size_t)ROWS * ACTIONS * sizeof(double));
    c->lanes = checked_malloc((size_t)FCB_LANES * ((size_t)d * d + d) * sizeof(double));
    double *v = checked_malloc((size_t)d * sizeof(double));
    fcb_rng rng;
    fcb_rng_init(&rng, 3, FCB_STREAM_TEST, (uint32_t)d, 0);
    memset(c->precision, 0, ACTIONS * dd * sizeof(double));
    for (int a = 0; a < ACTIONS; a++) {
        double *p = c->precision + a * dd;
        for (int r = 0; r < 200; r++) {
            for (int i = 0; i < d; i++)
                v[i] = fcb_rng_uniform(&rng) - 0.5;
            cblas_dsyr(CblasRowMajor, CblasLower, d, 1.0, v, 1, p, d);
        }
        for (int i = 0; i < d; i++) {
            p[(size_t)i * d + i] += 1.0;
            for (int j = 0; j < i; j++)
                p[(size_t)j * d + i] = p[(size_t)i * d + j];
        }
    }
    for (int i = 0; i < ROWS * d; i++)
        c->rows[i] = fcb_rng_uniform(&rng);
    free(v);
}

static void case_free(bench_case *c)
{
    free(c->precision);
    free(c->factor);
    free(c->rows);
    free(c->work);
    free(c->norms);
    free(c->lanes);
}

static void factor_loops(bench_case *c)
{
    size_t dd = (size_t)c->d * c->d;
    memcpy(c->factor, c->precision, ACTIONS * dd * sizeof(double));
    for (int a = 0; a < ACTIONS; a++) {
        if (fcb_cholesky_lower_loops(c->factor + a * dd, c->d) != 0) {
            fprintf(stderr, "bench_small_linalg: d = %d: not positive definite\n", c->d);
            exit(1);
        }
    }
}

static void factor_lapack(bench_case *c)
{
    size_t dd = (size_t)c->d * c->d;
    memcpy(c->factor, c->precision, ACTIONS * dd * sizeof(double));
    for (int a = 0; a < ACTIONS; a++) {
        int info = 0;
        dpotrf_("U", &c->d, c->factor + a * dd, &c->d, &info);
    }
}

static void solve_loops(bench_case *c)
{
    size_t dd = (size_t)c->d * c->d;
    for (int a = 0; a < ACTIONS; a++) {
        memcpy(c->work, c->rows, (size_t)c->d * sizeof(double));
        fcb_cholesky_solve_loops(c->factor + a * dd, c->d, c->work);
    }
}

static void solve_blas(bench_case *c)
{
    size_t dd = (size_t)c->d * c->d;
    for (int a = 0; a < ACTIONS; a++) {
        memcpy(c->work, c->rows, (size_t)c->d * sizeof(double));
        cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, c->d, c->factor + a * dd, c->d, c->work,
                    1);
        cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, c->d, c->factor + a * dd, c->d, c->work, 1);
    }
}

/* The factor and the mean's solve of all K actions, as a solve of the
 * posterior does them: one action at a time, and four to a vector. */
static void factor_solve_single(bench_case *c)
{
    size_t dd = (size_t)c->d * c->d;
    memcpy(c->factor, c->precision, ACTIONS * dd * sizeof(double));
    for (int a = 0; a < ACTIONS; a++) {
        fcb_cholesky_lower_loops(c->factor + a * dd, c->d);
        memcpy(c->work + (size_t)a * c->d, c->rows, (size_t)c->d * sizeof(double));
        fcb_cholesky_solve_loops(c->factor + a * dd, c->d, c->work + (size_t)a * c->d);
    }
}

static void factor_solve_lanes(bench_case *c)
{
    size_t dd = (size_t)c->d * c->d;
    for (int a = 0; a < ACTIONS; a += FCB_LANES) {
        int count = ACTIONS - a < FCB_LANES ? ACTIONS - a : FCB_LANES;
        for (int i = a; i < a + count; i++)
            memcpy(c->work + (size_t)i * c->d, c->rows, (size_t)c->d * sizeof(double));
        if (fcb_cholesky_solve_lanes(c->precision + a * dd, 0.0, c->factor + a * dd, c->work + (size_t)a * c->d,
                                     count, c->d, c->lanes) != 0) {
            fprintf(stderr, "bench_small_linalg: d = %d: lanes kernel failed\n", c->d);
            exit(1);
        }
    }
}

static void widths_loops(bench_case *c)
{
    fcb_lower_solve_norms_loops(c->factor, ACTIONS, c->d, c->rows, ROWS, c->work, c->norms, 1);
}

static void widths_portable(bench_case *c)
{
    fcb_lower_solve_norms_loops(c->factor, ACTIONS, c->d, c->rows, ROWS, c->work, c->norms, 0);
}

static void widths_blas(bench_case *c)
{
    size_t dd = (size_t)c->d * c->d;
    for (int a = 0; a < ACTIONS; a++) {
        memcpy(c->work, c->rows, (size_t)ROWS * c->d * sizeof(double));
        cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, ROWS, c->d, 1.0,
                    c->factor + a * dd, c->d, c->work, c->d);
        for (int i = 0; i < ROWS; i++)
            c->norms[i * ACTIONS + a] = cblas_ddot(c->d, c->work + (size_t)i * c->d, 1, c->work + (size_t)i * c->d, 1);
    }
}

/* Median microseconds per round (K actions) of fn over REPEATS timings. */
static double median_us(bench_case *c, void (*fn)(bench_case *), int rounds)
{
    double t[REPEATS];
    for (int r = 0; r < REPEATS; r++) {
        double start = now_seconds();
        for (int i = 0; i < rounds; i++)
            fn(c);
        t[r] = (now_seconds() - start) / rounds * 1e6;
    }
    qsort(t, REPEATS, sizeof t[0], compare_doubles);
    return t[REPEATS / 2];
}

int main(void)
{
    openblas_set_num_threads(1);
    const int dims[] = {8, 16, 21, 32, 48, 64, 96, 128};
    printf("| d | factor: dpotrf (µs) | factor: loops (µs) | dpotrf / loops | solve: 2 dtrsv (µs) | solve: loops (µs) "
           "| dtrsv / loops | factor + solve: one action at a time (µs) | factor + solve: four lanes (µs) "
           "| one / lanes | widths: dtrsm (µs) | widths: loops, portable (µs) | widths: loops, AVX2 (µs) "
           "| dtrsm / best loops | kernels used |\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        bench_case c;
        case_init(&c, dims[i]);
        int rounds = (int)(2e8 / ((double)dims[i] * dims[i] * dims[i] * ACTIONS)) + 20;
        int small = dims[i] <= FCB_SMALL_DIM, lanes = small && fcb_small_linalg_avx2();
        double lapack = median_us(&c, factor_lapack, rounds), loops = median_us(&c, factor_loops, rounds);
        double trsv = median_us(&c, solve_blas, rounds), solve = median_us(&c, solve_loops, rounds);
        double single = median_us(&c, factor_solve_single, rounds);
        double four = lanes ? median_us(&c, factor_solve_lanes, rounds) : 0.0;
        double blas = median_us(&c, widths_blas, rounds), portable = median_us(&c, widths_portable, rounds);
        double vector = fcb_small_linalg_avx2() ? median_us(&c, widths_loops, rounds) : portable;
        char four_text[32] = "", ratio_text[32] = ""; /* blank where the lanes do not run */
        if (lanes) {
            snprintf(four_text, sizeof four_text, "%.2f", four);
            snprintf(ratio_text, sizeof ratio_text, "%.2f", single / four);
        }
        printf("| %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %s | %s | %.2f | %.2f | %.2f | %.2f | %s |\n",
               dims[i], lapack, loops, lapack / loops, trsv, solve, trsv / solve, single, four_text, ratio_text, blas,
               portable, vector, blas / vector, small ? "loops" : "LAPACK / BLAS");
        case_free(&c);
    }
    if (!fcb_small_linalg_avx2())
        printf("\n(no AVX2 on this processor: the AVX2 column repeats the portable one, no lanes)\n");
    return 0;
}
