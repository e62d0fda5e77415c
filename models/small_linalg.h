#ifndef FEDCB_SMALL_LINALG_H
#define FEDCB_SMALL_LINALG_H

/* The dense kernels of linear bandits on one action's d x d precision,
 * row-major: its Cholesky factor, the solve for the posterior mean, and the
 * widths |L^-1 x|^2 of a batch of rows. A round refactors every action and
 * scores a few rows, so d is small (21 on the bake-off workload) and the
 * call overhead of LAPACK and BLAS dominates; up to FCB_SMALL_DIM plain
 * loops do the same arithmetic faster (bench/bench_small_linalg at d = 21:
 * 1.6x for the factor, 1.7x for the solve, 2.8x for the widths sixteen rows
 * at a time, 6.5x with AVX2; at d = 64 the solve is slower), above it
 * dpotrf, dtrsv and dtrsm do. The two agree to rounding, not bit for bit;
 * the loops give the same bits with or without AVX2. */
enum { FCB_SMALL_DIM = 48 };

/* a (n x n, symmetric) becomes its lower Cholesky factor L with a = L L^T,
 * the upper triangle zeroed. Returns 0, or j + 1 when the leading
 * (j + 1) x (j + 1) block is not positive definite (as LAPACK's info). */
int fcb_cholesky_lower(double *a, int n);

/* sq_norms[i * actions + a] = |L_a^-1 x_i|^2 = x_i^T (L_a L_a^T)^-1 x_i for
 * the factors L_a (actions of them, n x n each, back to back) and the rows
 * x_i of x (rows x n). work holds max(rows, 32) x n doubles. */
void fcb_lower_solve_norms(const double *L, int actions, int n, const double *x, int rows, double *work,
                           double *sq_norms);

/* x becomes (L L^T)^-1 x: forward then backward substitution, in place
 * (the posterior mean of a linear bandit from its right-hand side). */
void fcb_cholesky_solve(const double *L, int n, double *x);

/* The loop kernels alone, whatever n (for tests and bench/). The widths'
 * loops use AVX2 when use_avx2 is set and the processor has it (the same
 * bits either way); fcb_small_linalg_avx2 says whether it has. */
int fcb_cholesky_lower_loops(double *a, int n);
void fcb_cholesky_solve_loops(const double *L, int n, double *x);
void fcb_lower_solve_norms_loops(const double *L, int actions, int n, const double *x, int rows, double *work,
                                 double *sq_norms, int use_avx2);
int fcb_small_linalg_avx2(void);

/* Up to FCB_LANES actions at once (AVX2, n <= FCB_SMALL_DIM): for each
 * action a < count, L_a = the lower factor of lambda I + A_a (A: count
 * n x n matrices back to back, lower triangles read; L likewise, upper
 * triangles zeroed) and x_a (count vectors of n) becomes (L_a L_a^T)^-1 x_a:
 * exactly the bits of fcb_cholesky_lower_loops and fcb_cholesky_solve_loops
 * on each. work holds FCB_LANES (n x n + n) doubles. Returns 0; -1 when it
 * cannot run here (no AVX2, count or n out of range; nothing written); or,
 * when an action's matrix is not positive definite, the failing column + 1
 * of the first such (L and x then unspecified: use the one-action kernels
 * to say which action). */
enum { FCB_LANES = 4 };
int fcb_cholesky_solve_lanes(const double *A, double lambda, double *L, double *x, int count, int n, double *work);

#endif
