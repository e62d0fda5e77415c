#include "off_policy.h"

#include <math.h>
#include <string.h>

static fcb_status check_row(const fcb_ope_log *log, int i)
{
    int a = log->actions[i];
    float p = log->propensities[i];
    if (a < 0 || a >= log->k)
        return fcb_fail(FCB_ERR_ARG, "off-policy log row %d: action %d outside [0, %d)", i, a, log->k);
    if (!(p > 0.0f && p <= 1.0f))
        return fcb_fail(FCB_ERR_ARG, "off-policy log row %d: propensity %g outside (0, 1]", i, (double)p);
    if (!isfinite(log->rewards[i]))
        return fcb_fail(FCB_ERR_ARG, "off-policy log row %d: reward is not finite", i);
    const float *pi = log->candidate + (size_t)i * log->k;
    double total = 0.0;
    for (int b = 0; b < log->k; b++) {
        if (!(pi[b] >= 0.0f && pi[b] <= 1.0f))
            return fcb_fail(FCB_ERR_ARG, "off-policy log row %d: candidate probability %g of action %d", i,
                            (double)pi[b], b);
        total += pi[b];
        if (log->reward_model && !isfinite(log->reward_model[(size_t)i * log->k + b]))
            return fcb_fail(FCB_ERR_ARG, "off-policy log row %d: reward model value of action %d is not finite",
                            i, b);
    }
    if (fabs(total - 1.0) > 1e-3)
        return fcb_fail(FCB_ERR_ARG, "off-policy log row %d: candidate probabilities sum to %g, not 1", i, total);
    return FCB_OK;
}

static fcb_ope_estimate interval(double value, double std_error, double z)
{
    fcb_ope_estimate e = {value, std_error, value - z * std_error, value + z * std_error};
    return e;
}

/* Mean and standard error of n per-row terms, accumulated as sums. */
static fcb_ope_estimate mean_estimate(double sum, double sum_sq, int n, double z)
{
    double mean = sum / n;
    double var = n > 1 ? (sum_sq - n * mean * mean) / (n - 1) : 0.0;
    return interval(mean, sqrt(var > 0.0 ? var / n : 0.0), z);
}

fcb_status fcb_ope_estimate_all(const fcb_ope_log *log, double z, fcb_ope_result *r)
{
    memset(r, 0, sizeof *r);
    if (log->n < 1 || log->k < 1)
        return fcb_fail(FCB_ERR_ARG, "off-policy log: n = %d and k = %d must be positive", log->n, log->k);
    if (!(z > 0.0))
        return fcb_fail(FCB_ERR_ARG, "off-policy interval: z = %g must be positive", z);
    double ips = 0.0, ips_sq = 0.0, w_sum = 0.0, w_sq = 0.0, dr = 0.0, dr_sq = 0.0;
    for (int i = 0; i < log->n; i++) {
        fcb_status st = check_row(log, i);
        if (st != FCB_OK)
            return st;
        const float *pi = log->candidate + (size_t)i * log->k;
        int a = log->actions[i];
        double w = pi[a] / (double)log->propensities[i];
        double term = w * log->rewards[i];
        ips += term;
        ips_sq += term * term;
        w_sum += w;
        w_sq += w * w;
        if (w > r->max_weight)
            r->max_weight = w;
        if (log->reward_model) {
            const float *q = log->reward_model + (size_t)i * log->k;
            double direct = 0.0;
            for (int b = 0; b < log->k; b++)
                direct += (double)pi[b] * q[b];
            double d = direct + w * (log->rewards[i] - q[a]);
            dr += d;
            dr_sq += d * d;
        }
    }
    int n = log->n;
    r->ips = mean_estimate(ips, ips_sq, n, z);
    if (log->reward_model)
        r->dr = mean_estimate(dr, dr_sq, n, z);
    r->effective_samples = w_sq > 0.0 ? w_sum * w_sum / w_sq : 0.0;
    if (w_sum <= 0.0) {
        r->snips = interval(0.0, 0.0, z);
        return FCB_OK;
    }
    /* SNIPS standard error by the delta method: var ~ sum w_i^2 (r_i - V)^2 / (sum w)^2. */
    double v = ips / w_sum;
    double resid = 0.0;
    for (int i = 0; i < n; i++) {
        int a = log->actions[i];
        double w = log->candidate[(size_t)i * log->k + a] / (double)log->propensities[i];
        double e = w * (log->rewards[i] - v);
        resid += e * e;
    }
    r->snips = interval(v, sqrt(resid) / w_sum, z);
    return FCB_OK;
}
