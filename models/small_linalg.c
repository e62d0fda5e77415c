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
 * L_ij = (a_ij - sum_k L_ik L_jk) / L_jj below it. Each of those sums is a
 * chain of dependent subtractions; two rows at a time run two chains side by
 * side (each sum still in the order k = 0, 1, ..., so the factor is the same
 * to the bit). */
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
        int i = j + 1;
        for (; i + 1 < n; i += 2) {
            double *row_i = a + (size_t)i * n, *row_next = row_i + n;
            double value = row_i[j], value_next = row_next[j];
            for (int k = 0; k < j; k++) {
                value -= row_i[k] * row_j[k];
                value_next -= row_next[k] * row_j[k];
            }
            row_i[j] = value * inverse;
            row_next[j] = value_next * inverse;
        }
        if (i < n) {
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

/* The widths' kernels work on a tile of up to TILE rows stored transposed
 * (xt[j * TILE + r], zeros past the last row), so that the innermost loops
 * run over rows and vectorise. Each z_j = (x_j - sum_k L_jk z_k) / L_jj sums
 * its terms into two accumulators, even and odd k: one chain of dependent
 * subtractions was the loop's bound. Both kernels below do exactly this
 * arithmetic in this order for every row, so they give the same bits. */
enum { TILE = 16, HALF = 8 };

/* Any x86-64 (SSE2): eight rows at a time, four registers per accumulator
 * (the second eight only when the tile has more than eight rows). */
static void solve_tile_portable(const double *L, int n, const double *xt, int rows, double *z, double *sq_norms)
{
    for (int half = 0; half < rows; half += HALF) {
        double total[HALF] = {0};
        for (int j = 0; j < n; j++) {
            const double *row_j = L + (size_t)j * n;
            double even[HALF], odd[HALF];
            for (int r = 0; r < HALF; r++) {
                even[r] = xt[j * TILE + half + r];
                odd[r] = 0.0;
            }
            int k = 0;
            for (; k + 1 < j; k += 2) {
                double l_even = row_j[k], l_odd = row_j[k + 1];
                const double *z_even = z + k * TILE + half, *z_odd = z_even + TILE;
                for (int r = 0; r < HALF; r++) {
                    even[r] -= l_even * z_even[r];
                    odd[r] -= l_odd * z_odd[r];
                }
            }
            if (k < j) {
                double l = row_j[k];
                const double *z_k = z + k * TILE + half;
                for (int r = 0; r < HALF; r++)
                    even[r] -= l * z_k[r];
            }
            double inverse = 1.0 / row_j[j];
            for (int r = 0; r < HALF; r++) {
                double value = (even[r] + odd[r]) * inverse;
                z[j * TILE + half + r] = value;
                total[r] += value * value;
            }
        }
        for (int r = 0; r < HALF; r++)
            sq_norms[half + r] = total[r];
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#define FCB_HAVE_AVX2_KERNEL 1
/* The whole tile in AVX2 registers, four rows to a vector: GCC's vector
 * extension, whose operators act lane by lane with the scalar rounding.
 * The unaligned vector type reads doubles at any 8-byte boundary. */
typedef double lanes4 __attribute__((vector_size(32)));
typedef double lanes4_unaligned __attribute__((vector_size(32), aligned(8)));
enum { VECTORS = TILE / 4 };

__attribute__((target("avx2"))) static void solve_tile_avx2(const double *L, int n, const double *xt, double *z,
                                                             double *sq_norms)
{
    lanes4 total[VECTORS];
    for (int q = 0; q < VECTORS; q++)
        total[q] = (lanes4){0.0, 0.0, 0.0, 0.0};
    for (int j = 0; j < n; j++) {
        const double *row_j = L + (size_t)j * n;
        lanes4 even[VECTORS], odd[VECTORS];
        for (int q = 0; q < VECTORS; q++) {
            even[q] = *(const lanes4_unaligned *)(xt + j * TILE + 4 * q);
            odd[q] = (lanes4){0.0, 0.0, 0.0, 0.0};
        }
        int k = 0;
        for (; k + 1 < j; k += 2) {
            double l_even = row_j[k], l_odd = row_j[k + 1];
            const double *z_even = z + k * TILE, *z_odd = z_even + TILE;
            for (int q = 0; q < VECTORS; q++) {
                even[q] -= l_even * *(const lanes4_unaligned *)(z_even + 4 * q);
                odd[q] -= l_odd * *(const lanes4_unaligned *)(z_odd + 4 * q);
            }
        }
        if (k < j) {
            double l = row_j[k];
            const double *z_k = z + k * TILE;
            for (int q = 0; q < VECTORS; q++)
                even[q] -= l * *(const lanes4_unaligned *)(z_k + 4 * q);
        }
        double inverse = 1.0 / row_j[j];
        for (int q = 0; q < VECTORS; q++) {
            lanes4 value = (even[q] + odd[q]) * inverse;
            *(lanes4_unaligned *)(z + j * TILE + 4 * q) = value;
            total[q] += value * value;
        }
    }
    for (int q = 0; q < VECTORS; q++)
        *(lanes4_unaligned *)(sq_norms + 4 * q) = total[q];
}
/* Four actions at once, one to a lane: the factor of each action's
 * lambda I + A and the solve for its mean, in the order of
 * fcb_cholesky_lower_loops and fcb_cholesky_solve_loops. One action's
 * factor is a chain of dependent steps (each column's sum, square root and
 * division waits for the column before), so a lane per action runs four
 * chains in the time of one. P holds the lanes' matrices interleaved
 * (P[i * n + j] = entry (i, j) of each), x their right-hand sides. */
__attribute__((target("avx2"))) static int factor_solve_lanes_avx2(int n, lanes4_unaligned *P, lanes4_unaligned *x)
{
    for (int j = 0; j < n; j++) {
        lanes4_unaligned *row_j = P + (size_t)j * n;
        lanes4 diagonal = row_j[j];
        for (int k = 0; k < j; k++)
            diagonal -= row_j[k] * row_j[k];
        if (!(diagonal[0] > 0.0 && diagonal[1] > 0.0 && diagonal[2] > 0.0 && diagonal[3] > 0.0))
            return j + 1;
        lanes4 root;
        for (int lane = 0; lane < 4; lane++)
            root[lane] = sqrt(diagonal[lane]);
        row_j[j] = root;
        lanes4 inverse = 1.0 / root;
        int i = j + 1;
        for (; i + 1 < n; i += 2) {
            lanes4_unaligned *row_i = P + (size_t)i * n, *row_next = row_i + n;
            lanes4 value = row_i[j], value_next = row_next[j];
            for (int k = 0; k < j; k++) {
                value -= row_i[k] * row_j[k];
                value_next -= row_next[k] * row_j[k];
            }
            row_i[j] = value * inverse;
            row_next[j] = value_next * inverse;
        }
        if (i < n) {
            lanes4_unaligned *row_i = P + (size_t)i * n;
            lanes4 value = row_i[j];
            for (int k = 0; k < j; k++)
                value -= row_i[k] * row_j[k];
            row_i[j] = value * inverse;
        }
    }
    for (int j = 0; j < n; j++) { /* L y = x */
        lanes4 value = x[j] * (1.0 / P[(size_t)j * n + j]);
        x[j] = value;
        for (int i = j + 1; i < n; i++)
            x[i] -= P[(size_t)i * n + j] * value;
    }
    for (int j = n - 1; j >= 0; j--) { /* L^T z = y */
        lanes4 value = x[j] * (1.0 / P[(size_t)j * n + j]);
        x[j] = value;
        for (int i = 0; i < j; i++)
            x[i] -= P[(size_t)j * n + i] * value;
    }
    return 0;
}

/* Interleaves up to four actions' lambda I + A and right-hand sides into
 * lanes (lanes past count repeat the last action, computed and dropped),
 * factors and solves them, and writes each action's factor and mean back. */
__attribute__((target("avx2"))) static int cholesky_solve_lanes_avx2(const double *A, double lambda, double *L,
                                                                       double *x, int count, int n, double *work)
{
    lanes4_unaligned *P = (lanes4_unaligned *)work, *rhs = P + (size_t)n * n;
    size_t nn = (size_t)n * n;
    const double *matrix[FCB_LANES], *vector[FCB_LANES];
    for (int lane = 0; lane < FCB_LANES; lane++) {
        int action = lane < count ? lane : count - 1;
        matrix[lane] = A + action * nn;
        vector[lane] = x + (size_t)action * n;
    }
    for (int i = 0; i < n; i++) {
        size_t row = (size_t)i * n;
        for (int j = 0; j <= i; j++)
            P[row + j] = (lanes4){matrix[0][row + j], matrix[1][row + j], matrix[2][row + j], matrix[3][row + j]};
        P[row + i] += lambda;
        rhs[i] = (lanes4){vector[0][i], vector[1][i], vector[2][i], vector[3][i]};
    }
    int info = factor_solve_lanes_avx2(n, P, rhs);
    if (info != 0)
        return info;
    for (int lane = 0; lane < count; lane++) {
        double *factor = L + lane * nn;
        for (int i = 0; i < n; i++) {
            size_t row = (size_t)i * n;
            for (int j = 0; j <= i; j++)
                factor[row + j] = P[row + j][lane];
            for (int j = i + 1; j < n; j++)
                factor[row + j] = 0.0;
            x[(size_t)lane * n + i] = rhs[i][lane];
        }
    }
    return 0;
}
#else
#define FCB_HAVE_AVX2_KERNEL 0
#endif

int fcb_small_linalg_avx2(void)
{
#if FCB_HAVE_AVX2_KERNEL
    return __builtin_cpu_supports("avx2") != 0;
#else
    return 0;
#endif
}

int fcb_cholesky_solve_lanes(const double *A, double lambda, double *L, double *x, int count, int n, double *work)
{
#if FCB_HAVE_AVX2_KERNEL
    if (count < 1 || count > FCB_LANES || n > FCB_SMALL_DIM || !fcb_small_linalg_avx2())
        return -1;
    return cholesky_solve_lanes_avx2(A, lambda, L, x, count, n, work);
#else
    (void)A, (void)lambda, (void)L, (void)x, (void)count, (void)n, (void)work;
    return -1;
#endif
}

/* One action's tile with the AVX2 kernel or the portable one (same bits). */
static void solve_tile(const double *L, int n, const double *xt, int rows, double *z, double *sq_norms,
                       int use_avx2)
{
#if FCB_HAVE_AVX2_KERNEL
    if (use_avx2) {
        solve_tile_avx2(L, n, xt, z, sq_norms);
        return;
    }
#endif
    (void)use_avx2;
    solve_tile_portable(L, n, xt, rows, z, sq_norms);
}

static void solve_norms_small(const double *L, int actions, int n, const double *x, int rows, double *work,
                              double *sq_norms, int use_avx2)
{
    double *xt = work, *z = work + (size_t)n * TILE;
    double tile_norms[TILE];
    size_t factor_size = (size_t)n * n;
    for (int start = 0; start < rows; start += TILE) {
        int tile = rows - start < TILE ? rows - start : TILE;
        for (int j = 0; j < n; j++) {
            for (int r = 0; r < tile; r++)
                xt[j * TILE + r] = x[(size_t)(start + r) * n + j];
            for (int r = tile; r < TILE; r++)
                xt[j * TILE + r] = 0.0;
        }
        for (int a = 0; a < actions; a++) {
            solve_tile(L + a * factor_size, n, xt, tile, z, tile_norms, use_avx2);
            for (int r = 0; r < tile; r++)
                sq_norms[(size_t)(start + r) * actions + a] = tile_norms[r];
        }
    }
}

void fcb_lower_solve_norms_loops(const double *L, int actions, int n, const double *x, int rows, double *work,
                                 double *sq_norms, int use_avx2)
{
    solve_norms_small(L, actions, n, x, rows, work, sq_norms, use_avx2 && fcb_small_linalg_avx2());
}

void fcb_lower_solve_norms(const double *L, int actions, int n, const double *x, int rows, double *work,
                           double *sq_norms)
{
    if (n <= FCB_SMALL_DIM) {
        solve_norms_small(L, actions, n, x, rows, work, sq_norms, fcb_small_linalg_avx2());
        return;
    }
    /* Row i of Z = X L^-T is (L^-1 x_i)^T. */
    for (int a = 0; a < actions; a++) {
        memcpy(work, x, (size_t)rows * n * sizeof *work);
        cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, rows, n, 1.0,
                    L + (size_t)a * n * n, n, work, n);
        for (int i = 0; i < rows; i++) {
            const double *z = work + (size_t)i * n;
            double sum = 0.0;
            for (int j = 0; j < n; j++)
                sum += z[j] * z[j];
            sq_norms[(size_t)i * actions + a] = sum;
        }
    }
}
