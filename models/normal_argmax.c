#include "normal_argmax.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* Symmetric tridiagonal eigenproblem from OpenBLAS's LAPACK. The trailing
 * length of the character argument is passed for Fortran builds; a C build
 * ignores it. */
void dstev_(const char *jobz, const int *n, double *d, double *e, double *z, const int *ldz, double *work,
            int *info, size_t jobz_len);

#define PRUNE_Z 6.5          /* Phi(-6.5) = 4.0e-11 */
#define TAIL_Z 8.5           /* Phi(-8.5) = 9.5e-18: the integration range */
#define ADAPTIVE_TOL 1e-10   /* absolute, per integral */
#define MAX_DEPTH 40
#define STEP_RATIO 1e-7      /* sd_c / sd_a below this: factor c is a step in a's integral */
#define MAX_PANELS 20000     /* per integral: a bound on the work whatever the input */
#define SQRT_HALF 0.70710678118654752440

static double normal_cdf(double x)
{
    return 0.5 * erfc(-x * SQRT_HALF);
}

static double normal_pdf(double x)
{
    return 0.39894228040143267794 * exp(-0.5 * x * x);
}

/* Golub-Welsch: the nodes of the orthogonal polynomials of a weight of total
 * mass 1 are the eigenvalues of their Jacobi matrix (zero diagonal,
 * off-diagonal offdiag[j]); the weights the squared first components of the
 * unit eigenvectors. */
static fcb_status golub_welsch(int n, double *offdiag, double *nodes, double *weights)
{
    double vectors[FCB_ARGMAX_GH_NODES * FCB_ARGMAX_GH_NODES];
    double work[2 * FCB_ARGMAX_GH_NODES];
    int info = 0;
    memset(nodes, 0, (size_t)n * sizeof *nodes);
    dstev_("V", &n, nodes, offdiag, vectors, &n, work, &info, 1);
    if (info != 0)
        return fcb_fail(FCB_ERR_NUMERIC, "argmax rule: dstev failed (info %d) for %d nodes", info, n);
    for (int j = 0; j < n; j++)
        weights[j] = vectors[(size_t)j * n] * vectors[(size_t)j * n];
    return FCB_OK;
}

fcb_status fcb_argmax_rule_init(fcb_argmax_rule *rule)
{
    double offdiag[FCB_ARGMAX_GH_NODES];
    for (int j = 0; j < FCB_ARGMAX_GH_NODES - 1; j++)
        offdiag[j] = sqrt(j + 1.0); /* He_{j+1} = z He_j - j He_{j-1} */
    fcb_status st = golub_welsch(FCB_ARGMAX_GH_NODES, offdiag, rule->gh_z, rule->gh_w);
    if (st != FCB_OK)
        return st;
    for (int j = 0; j < FCB_ARGMAX_GL_NODES - 1; j++) {
        double m = j + 1.0;
        offdiag[j] = m / sqrt(4.0 * m * m - 1.0);
    }
    st = golub_welsch(FCB_ARGMAX_GL_NODES, offdiag, rule->gl_x, rule->gl_w);
    for (int j = 0; j < FCB_ARGMAX_GL_NODES; j++)
        rule->gl_w[j] *= 2.0; /* Legendre weight 1 on [-1, 1] has mass 2 */
    return st;
}

/* One integral: action a against the other active actions. */
typedef struct {
    const double *mean;
    const double *sd;
    const int *active;
    int count;
    int a;
} argmax_integrand;

/* prod over the other active continuous actions of P(X_c < mean_a + sd_a z).
 * The means are subtracted before sd_a z is added: (mean_a + sd_a z) - mean_c
 * would cancel, and its rounding noise, divided by a tiny sd_c, is noise in
 * the integrand that no panel size can bring under the tolerance. */
static double beats_others(const argmax_integrand *f, double z)
{
    double offset = f->sd[f->a] * z;
    double product = 1.0;
    for (int i = 0; i < f->count; i++) {
        int c = f->active[i];
        if (c == f->a || f->sd[c] == 0.0)
            continue;
        double gap = f->mean[f->a] - f->mean[c] + offset;
        /* A factor that switches within STEP_RATIO of a's scale is a step:
         * integrate_steep puts a panel edge at the switch, so the step is
         * exact there, and replacing Phi by it moves the integral by at most
         * 0.4 * 0.8 * STEP_RATIO. Evaluated as Phi, its argument would carry
         * the rounding of gap (1e-16 of the means) times sd_a / sd_c. */
        if (f->sd[c] < STEP_RATIO * f->sd[f->a])
            product *= gap > 0.0 ? 1.0 : 0.0;
        else
            product *= normal_cdf(gap / f->sd[c]);
    }
    return product;
}

static double gauss_hermite(const fcb_argmax_rule *rule, const argmax_integrand *f)
{
    double sum = 0.0;
    for (int j = 0; j < FCB_ARGMAX_GH_NODES; j++)
        sum += rule->gh_w[j] * beats_others(f, rule->gh_z[j]);
    return sum;
}

static double legendre_panel(const fcb_argmax_rule *rule, const argmax_integrand *f, double lo, double hi)
{
    double half = 0.5 * (hi - lo), mid = 0.5 * (hi + lo), sum = 0.0;
    for (int j = 0; j < FCB_ARGMAX_GL_NODES; j++) {
        double z = mid + half * rule->gl_x[j];
        sum += rule->gl_w[j] * normal_pdf(z) * beats_others(f, z);
    }
    return half * sum;
}

typedef struct {
    double lo, hi, whole;
    int depth;
} panel;

/* Adaptive Gauss-Legendre over [lo, hi]: a panel is accepted when its two
 * halves agree with it within its share of the tolerance. Depth first, so
 * the stack never holds more than MAX_DEPTH + 1 panels. */
static double adaptive_legendre(const fcb_argmax_rule *rule, const argmax_integrand *f, double lo, double hi,
                                double tolerance_per_unit)
{
    panel stack[MAX_DEPTH + 2];
    int top = 0, panels = 0;
    stack[top++] = (panel){lo, hi, legendre_panel(rule, f, lo, hi), 0};
    double total = 0.0;
    while (top > 0) {
        panel p = stack[--top];
        double mid = 0.5 * (p.lo + p.hi);
        double left = legendre_panel(rule, f, p.lo, mid);
        double right = legendre_panel(rule, f, mid, p.hi);
        panels++;
        if (p.depth >= MAX_DEPTH || panels >= MAX_PANELS ||
            fabs(left + right - p.whole) <= tolerance_per_unit * (p.hi - p.lo)) {
            total += left + right;
            continue;
        }
        stack[top++] = (panel){mid, p.hi, right, p.depth + 1};
        stack[top++] = (panel){p.lo, mid, left, p.depth + 1};
    }
    return total;
}

/* Steep factors (sd_c much below sd_a) switch from 0 to 1 around
 * z = (mean_c - mean_a) / sd_a; the integration range [lo, hi] is split
 * there so no panel hides a switch between its nodes. points: k + 2. */
static double integrate_steep(const fcb_argmax_rule *rule, const argmax_integrand *f, double lo, double hi,
                              double *points)
{
    int n = 0;
    points[n++] = lo;
    double sd_a = f->sd[f->a];
    for (int i = 0; i < f->count; i++) {
        int c = f->active[i];
        if (c == f->a || !(sd_a > FCB_ARGMAX_GH_RATIO * f->sd[c]))
            continue;
        double z = (f->mean[c] - f->mean[f->a]) / sd_a;
        if (z > lo && z < hi)
            points[n++] = z;
    }
    points[n++] = hi;
    for (int i = 1; i < n; i++) { /* insertion sort: n is small */
        double v = points[i];
        int j = i - 1;
        for (; j >= 0 && points[j] > v; j--)
            points[j + 1] = points[j];
        points[j + 1] = v;
    }
    double tolerance_per_unit = ADAPTIVE_TOL / (hi - lo);
    double total = 0.0;
    for (int i = 0; i + 1 < n; i++) {
        if (points[i + 1] > points[i])
            total += adaptive_legendre(rule, f, points[i], points[i + 1], tolerance_per_unit);
    }
    return total;
}

/* P(a is the argmax) among count >= 3 active actions, of which at most one
 * (point_mass, or -1) has sd 0. */
static double argmax_probability(const fcb_argmax_rule *rule, const argmax_integrand *f, int point_mass,
                                 double *points)
{
    const double *mean = f->mean, *sd = f->sd;
    int a = f->a;
    if (sd[a] == 0.0) /* the point mass: every continuous action below it */
        return beats_others(f, 0.0);
    double lo = -TAIL_Z, hi = TAIL_Z;
    if (point_mass >= 0) /* above the point mass */
        lo = fmax(lo, (mean[point_mass] - mean[a]) / sd[a]);
    if (!(lo < hi))
        return 0.0;
    int smooth = point_mass < 0;
    for (int i = 0; smooth && i < f->count; i++)
        smooth = sd[a] <= FCB_ARGMAX_GH_RATIO * sd[f->active[i]];
    return smooth ? gauss_hermite(rule, f) : integrate_steep(rule, f, lo, hi, points);
}

/* The leader: the largest mean, lowest index first. Point masses other than
 * the first one with the largest mean can never be the argmax. */
static int leader_and_point_mass(const double *mean, const double *sd, int k, int *point_mass)
{
    int leader = 0;
    *point_mass = -1;
    for (int a = 0; a < k; a++) {
        if (mean[a] > mean[leader])
            leader = a;
        if (sd[a] == 0.0 && (*point_mass < 0 || mean[a] > mean[*point_mass]))
            *point_mass = a;
    }
    return leader;
}

/* Whether action a can beat the leader with probability above Phi(-PRUNE_Z). */
static int may_win(const double *mean, const double *sd, int a, int leader)
{
    if (a == leader)
        return 1;
    double spread = hypot(sd[a], sd[leader]);
    return mean[leader] - mean[a] <= PRUNE_Z * spread;
}

void fcb_normal_argmax_probs(const fcb_argmax_rule *rule, const double *mean, const double *sd, int k,
                             int *active, double *work, double *probs)
{
    int point_mass;
    int leader = leader_and_point_mass(mean, sd, k, &point_mass);
    int count = 0;
    for (int a = 0; a < k; a++) {
        probs[a] = 0.0;
        int excluded_mass = sd[a] == 0.0 && a != point_mass;
        if (!excluded_mass && may_win(mean, sd, a, leader))
            active[count++] = a;
    }
    if (count == 1) {
        probs[active[0]] = 1.0;
        return;
    }
    if (count == 2) {
        int a = active[0], b = active[1];
        double spread = hypot(sd[a], sd[b]);
        probs[a] = normal_cdf((mean[a] - mean[b]) / spread);
        probs[b] = normal_cdf((mean[b] - mean[a]) / spread);
    } else {
        int active_mass = point_mass >= 0 && may_win(mean, sd, point_mass, leader) ? point_mass : -1;
        argmax_integrand f = {mean, sd, active, count, 0};
        for (int i = 0; i < count; i++) {
            f.a = active[i];
            probs[f.a] = argmax_probability(rule, &f, active_mass, work);
        }
    }
    double sum = 0.0;
    for (int i = 0; i < count; i++)
        sum += probs[active[i]];
    for (int i = 0; i < count; i++)
        probs[active[i]] /= sum;
}
