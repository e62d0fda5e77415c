#include "preference_metrics.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "preference_loss.h"
#include "vec.h"

static fcb_status check_shape(const char *fn, int n, int k)
{
    if (n < 1)
        return fcb_fail(FCB_ERR_ARG, "%s: n = %d contexts, need at least 1", fn, n);
    if (k < 1)
        return fcb_fail(FCB_ERR_ARG, "%s: k = %d actions, need at least 1", fn, k);
    return FCB_OK;
}

static fcb_status check_tau(const char *fn, double tau)
{
    if (!(isfinite(tau) && tau > 0.0))
        return fcb_fail(FCB_ERR_ARG, "%s: tau = %g must be finite and > 0", fn, tau);
    return FCB_OK;
}

static fcb_status check_finite(const char *fn, const char *what, const float *values, int n,
                               int k)
{
    size_t count = (size_t)n * (size_t)k;
    for (size_t c = 0; c < count; c++) {
        if (!isfinite(values[c]))
            return fcb_fail(FCB_ERR_ARG, "%s: %s of row %zu action %zu is not finite (%g)", fn,
                            what, c / (size_t)k, c % (size_t)k, (double)values[c]);
    }
    return FCB_OK;
}

/* log softmax(row / tau) into out (k values), the max subtracted. */
static void log_softmax(const float *row, int k, double tau, double *out)
{
    double lse = fcb_logsumexp_scaled(row, k, tau);
    for (int a = 0; a < k; a++)
        out[a] = row[a] / tau - lse;
}

static fcb_status validate_pair_scores(const char *fn, const float *scores,
                                       const float *ref_scores, int n, int k, double tau)
{
    if (scores == NULL || ref_scores == NULL)
        return fcb_fail(FCB_ERR_ARG, "%s: NULL argument", fn);
    fcb_status status = check_shape(fn, n, k);
    if (status == FCB_OK)
        status = check_tau(fn, tau);
    if (status == FCB_OK)
        status = check_finite(fn, "score", scores, n, k);
    if (status == FCB_OK)
        status = check_finite(fn, "reference score", ref_scores, n, k);
    return status;
}

static void softmax(const float *row, int k, double tau, double *out)
{
    log_softmax(row, k, tau, out);
    for (int a = 0; a < k; a++)
        out[a] = exp(out[a]);
}

/* sum_{a,b} p(a) q(b) [1(u_a > u_b) + 0.5 * 1(u_a == u_b)] of one context. */
static double context_win_rate(const double *p, const double *q, const float *u, int k)
{
    double total = 0.0;
    for (int a = 0; a < k; a++) {
        double beaten = 0.0;
        for (int b = 0; b < k; b++) {
            if (u[a] > u[b])
                beaten += q[b];
            else if (u[a] == u[b])
                beaten += 0.5 * q[b];
        }
        total += p[a] * beaten;
    }
    return total;
}

fcb_status fcb_preference_win_rate(const float *scores, const float *ref_scores,
                                   const float *utilities, int n, int k, double tau,
                                   double *win_rate)
{
    const char *fn = "fcb_preference_win_rate";
    if (utilities == NULL || win_rate == NULL)
        return fcb_fail(FCB_ERR_ARG, "%s: NULL argument", fn);
    fcb_status status = validate_pair_scores(fn, scores, ref_scores, n, k, tau);
    if (status == FCB_OK)
        status = check_finite(fn, "utility", utilities, n, k);
    if (status != FCB_OK)
        return status;

    double *p = malloc(2 * (size_t)k * sizeof *p);
    if (p == NULL)
        return fcb_fail(FCB_ERR_NOMEM, "%s: no memory for %d actions", fn, k);
    double *q = p + k;
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        size_t offset = (size_t)i * k;
        softmax(scores + offset, k, tau, p);
        softmax(ref_scores + offset, k, tau, q);
        total += context_win_rate(p, q, utilities + offset, k);
    }
    free(p);
    *win_rate = total / n;
    return FCB_OK;
}

fcb_status fcb_preference_kl(const float *scores, const float *ref_scores, int n, int k,
                             double tau, double *kl)
{
    const char *fn = "fcb_preference_kl";
    if (kl == NULL)
        return fcb_fail(FCB_ERR_ARG, "%s: NULL argument", fn);
    fcb_status status = validate_pair_scores(fn, scores, ref_scores, n, k, tau);
    if (status != FCB_OK)
        return status;

    double *log_p = malloc(2 * (size_t)k * sizeof *log_p);
    if (log_p == NULL)
        return fcb_fail(FCB_ERR_NOMEM, "%s: no memory for %d actions", fn, k);
    double *log_q = log_p + k;
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        size_t offset = (size_t)i * k;
        log_softmax(scores + offset, k, tau, log_p);
        log_softmax(ref_scores + offset, k, tau, log_q);
        double context_kl = 0.0;
        for (int a = 0; a < k; a++)
            context_kl += exp(log_p[a]) * (log_p[a] - log_q[a]);
        total += fmax(context_kl, 0.0);
    }
    free(log_p);
    *kl = total / n;
    return FCB_OK;
}

fcb_status fcb_argmax_accuracy(const float *scores, const int *labels, int n, int k,
                               double *accuracy)
{
    const char *fn = "fcb_argmax_accuracy";
    if (scores == NULL || labels == NULL || accuracy == NULL)
        return fcb_fail(FCB_ERR_ARG, "%s: NULL argument", fn);
    fcb_status status = check_shape(fn, n, k);
    if (status == FCB_OK)
        status = check_finite(fn, "score", scores, n, k);
    if (status != FCB_OK)
        return status;
    for (int i = 0; i < n; i++) {
        if (labels[i] < 0 || labels[i] >= k)
            return fcb_fail(FCB_ERR_ARG, "%s: label %d of row %d is outside [0, %d)", fn,
                            labels[i], i, k);
    }

    int correct = 0;
    for (int i = 0; i < n; i++) {
        correct += fcb_argmax(scores + (size_t)i * k, k) == labels[i];
    }
    *accuracy = (double)correct / n;
    return FCB_OK;
}
