#include "small_linalg.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* LAPACK Cholesky from OpenBLAS (no lapacke.h on this system). OpenBLAS
 * implements dpotrf_ in C, without the hidden Fortran string-length argument. */
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);

static void zero_upper(double *a, int n)
{
    for (int i = 0; i < n; i++)
        memset(a + (size_t)i * n + i + 1, 0, (size_t)(n - i - 1) * sizeof *a);
}

/* Column by column (left-looking): L_jj = sqrt(a_jj - sum_k L_jk^2), then
 * L_ij = (a_ij - sum_k L_ik L_jk) / L_jj below it. */
int fcb_cholesky_lower_loops(double *a, int n)
{
    for (int j = 0; j < n; j++) {
        double *row_j = a + (size_t)j * n;
        double diagonal = row_j[j];
        for (int k = 0; k < j; k++)
            diagonal -= row_j[k] * row_j[k];
        if (!(diagonal > 0.0))
            return j + 1;
        row_j[j] = sqrt(diagonal);
        double inverse = 1.0 / row_j[j];
        for (int i = j + 1; i < n; i++) {
            double *row_i = a + (size_t)i * n;
            double value = row_i[j];
            for (int k = 0; k < j; k++)
                value -= row_i[k] * row_j[k];
            row_i[j] = value * inverse;
        }
    }
    zero_upper(a, n);
    return 0;
}

int fcb_cholesky_lower(double *a, int n)
{
    if (n <= FCB_SMALL_DIM)
        return fcb_cholesky_lower_loops(a, n);
    /* Row-major lower equals column-major upper, so LAPACK is asked for 'U':
     * P = U^T U in column-major is P = L L^T with L the row-major lower. */
    int info = 0;
    dpotrf_("U", &n, a, &n, &info);
    if (info == 0)
        zero_upper(a, n);
    return info;
}

/* Column-oriented substitutions: once x_j is known it is scattered into the
 * rest, so the inner loops are independent updates rather than one long
 * dot product, and the divisions (one per row) are taken first. */
void fcb_cholesky_solve_loops(const double *L, int n, double *x)
{
    enum { MAX_INLINE = FCB_SMALL_DIM };
    double inverse[MAX_INLINE];
    if (n > MAX_INLINE) { /* not the small path: the kernel alone, for tests */
        for (int j = 0; j < n; j++) {
            x[j] /= L[(size_t)j * n + j];
            for (int i = j + 1; i < n; i++)
                x[i] -= L[(size_t)i * n + j] * x[j];
        }
        for (int j = n - 1; j >= 0; j--) {
            x[j] /= L[(size_t)j * n + j];
            for (int i = 0; i < j; i++)
                x[i] -= L[(size_t)j * n + i] * x[j];
        }
        return;
    }
    for (int j = 0; j < n; j++)
        inverse[j] = 1.0 / L[(size_t)j * n + j];
    for (int j = 0; j < n; j++) { /* L y = x */
        double value = x[j] * inverse[j];
        x[j] = value;
        for (int i = j + 1; i < n; i++)
            x[i] -= L[(size_t)i * n + j] * value;
    }
    for (int j = n - 1; j >= 0; j--) { /* L^T z = y: row j of L updates x[0..j) */
        double value = x[j] * inverse[j];
        x[j] = value;
        const double *row_j = L + (size_t)j * n;
        for (int i = 0; i < j; i++)
            x[i] -= row_j[i] * value;
    }
}

void fcb_cholesky_solve(const double *L, int n, double *x)
{
    if (n <= FCB_SMALL_DIM) {
        fcb_cholesky_solve_loops(L, n, x);
        return;
    }
    cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, n, L, n, x, 1);
    cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, n, L, n, x, 1);
}

/* Forward substitution L z = x for up to FCB_SMALL_TILE rows at once, the
 * tile stored transposed (z[j * TILE + r]) so that the innermost loop runs
 * over the rows and vectorises; missing rows are zeros. Each z_j sums its
 * j terms into two accumulators (even and odd k): one chain of dependent
 * multiply-subtracts was the loop's bound. */
static void solve_norms_tile(const double *L, int n, const double *x, int rows, double *z, double *sq_norms,
                             int stride)
{
    enum { TILE = FCB_SMALL_TILE };
    for (int j = 0; j < n; j++) {
        for (int r = 0; r < TILE; r++)
            z[j * TILE + r] = r < rows ? x[(size_t)r * n + j] : 0.0;
    }
    for (int j = 0; j < n; j++) {
        const double *row_j = L + (size_t)j * n;
        double *z_j = z + j * TILE;
        double even[TILE], odd[TILE];
        for (int r = 0; r < TILE; r++) {
            even[r] = z_j[r];
            odd[r] = 0.0;
        }
        int k = 0;
        for (; k + 1 < j; k += 2) {
            double l_even = row_j[k], l_odd = row_j[k + 1];
            const double *z_even = z + k * TILE, *z_odd = z_even + TILE;
            for (int r = 0; r < TILE; r++) {
                even[r] -= l_even * z_even[r];
                odd[r] -= l_odd * z_odd[r];
            }
        }
        if (k < j) {
            double l = row_j[k];
            const double *z_k = z + k * TILE;
            for (int r = 0; r < TILE; r++)
                even[r] -= l * z_k[r];
        }
        double inverse = 1.0 / row_j[j];
        for (int r = 0; r < TILE; r++)
            z_j[r] = (even[r] + odd[r]) * inverse;
    }
    double sums[TILE] = {0};
    for (int j = 0; j < n; j++) {
        for (int r = 0; r < TILE; r++)
            sums[r] += z[j * TILE + r] * z[j * TILE + r];
    }
    for (int r = 0; r < rows; r++)
        sq_norms[(size_t)r * stride] = sums[r];
}

void fcb_lower_solve_norms_loops(const double *L, int n, const double *x, int rows, double *work, double *sq_norms,
                                 int stride)
{
    for (int start = 0; start < rows; start += FCB_SMALL_TILE) {
        int tile = rows - start < FCB_SMALL_TILE ? rows - start : FCB_SMALL_TILE;
        solve_norms_tile(L, n, x + (size_t)start * n, tile, work, sq_norms + (size_t)start * stride, stride);
    }
}

void fcb_lower_solve_norms(const double *L, int n, const double *x, int rows, double *work, double *sq_norms,
                           int stride)
{
    if (n <= FCB_SMALL_DIM) {
        fcb_lower_solve_norms_loops(L, n, x, rows, work, sq_norms, stride);
        return;
    }
    /* Row i of Z = X L^-T is (L^-1 x_i)^T. */
    memcpy(work, x, (size_t)rows * n * sizeof *work);
    cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, rows, n, 1.0, L, n, work, n);
    for (int i = 0; i < rows; i++) {
        const double *z = work + (size_t)i * n;
        double sum = 0.0;
        for (int j = 0; j < n; j++)
            sum += z[j] * z[j];
        sq_norms[(size_t)i * stride] = sum;
    }
}
