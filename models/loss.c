#include "loss.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "name_table.h"

static const fcb_name_entry LOSS_NAMES[] = {
    {"chosen_squared", FCB_LOSS_CHOSEN_SQUARED},
    {"importance_squared", FCB_LOSS_IMPORTANCE_SQUARED},
    {"full_mse", FCB_LOSS_FULL_MSE},
    {"softmax_xent", FCB_LOSS_SOFTMAX_XENT},
    {"doubly_robust", FCB_LOSS_DOUBLY_ROBUST},
};

fcb_status fcb_loss_kind_from_name(const char *name, fcb_loss_kind *out)
{
    int value = 0;
    fcb_status st = fcb_name_lookup(LOSS_NAMES, sizeof LOSS_NAMES / sizeof LOSS_NAMES[0], "loss", name, &value);
    if (st == FCB_OK)
        *out = (fcb_loss_kind)value;
    return st;
}

const char *fcb_loss_kind_name(fcb_loss_kind kind)
{
    return fcb_name_of(LOSS_NAMES, sizeof LOSS_NAMES / sizeof LOSS_NAMES[0], (int)kind);
}

static fcb_status check_shape(const char *fn, const float *scores, int n, int k, float *dscores,
                              const double *loss)
{
    if (scores == NULL || dscores == NULL || loss == NULL)
        return fcb_fail(FCB_ERR_ARG, "%s: NULL argument", fn);
    if (n < 1)
        return fcb_fail(FCB_ERR_ARG, "%s: n = %d rows, need at least 1", fn, n);
    if (k < 1)
        return fcb_fail(FCB_ERR_ARG, "%s: k = %d actions, need at least 1", fn, k);
    return FCB_OK;
}

static fcb_status check_scores_row(const char *fn, const float *row, int i, int k)
{
    for (int a = 0; a < k; a++) {
        if (!isfinite(row[a]))
            return fcb_fail(FCB_ERR_ARG, "%s: score of row %d action %d is not finite (%g)", fn, i,
                            a, (double)row[a]);
    }
    return FCB_OK;
}

static fcb_status check_index(const char *fn, const char *what, int value, int i, int k)
{
    if (value < 0 || value >= k)
        return fcb_fail(FCB_ERR_ARG, "%s: %s %d of row %d is outside [0, %d)", fn, what, value, i,
                        k);
    return FCB_OK;
}

static fcb_status validate_chosen(const float *scores, int n, int k, const int *actions,
                                  const float *rewards, const float *weights)
{
    const char *fn = "fcb_loss_chosen_squared";
    if (actions == NULL || rewards == NULL)
        return fcb_fail(FCB_ERR_ARG, "%s: actions and rewards must not be NULL", fn);
    for (int i = 0; i < n; i++) {
        fcb_status status = check_scores_row(fn, scores + (size_t)i * k, i, k);
        if (status == FCB_OK)
            status = check_index(fn, "action", actions[i], i, k);
        if (status != FCB_OK)
            return status;
        if (!isfinite(rewards[i]))
            return fcb_fail(FCB_ERR_ARG, "%s: reward of row %d is not finite (%g)", fn, i,
                            (double)rewards[i]);
        if (weights != NULL && !(isfinite(weights[i]) && weights[i] >= 0.0f))
            return fcb_fail(FCB_ERR_ARG, "%s: weight of row %d is %g, need finite and >= 0", fn,
                            i, (double)weights[i]);
    }
    return FCB_OK;
}

fcb_status fcb_loss_chosen_squared(const float *scores, int n, int k, const int *actions,
                                   const float *rewards, const float *weights, float *dscores,
                                   double *loss)
{
    fcb_status status = check_shape("fcb_loss_chosen_squared", scores, n, k, dscores, loss);
    if (status == FCB_OK)
        status = validate_chosen(scores, n, k, actions, rewards, weights);
    if (status != FCB_OK)
        return status;

    double inv_n = 1.0 / n;
    double total = 0.0;
    memset(dscores, 0, (size_t)n * (size_t)k * sizeof *dscores);
    for (int i = 0; i < n; i++) {
        size_t cell = (size_t)i * k + (size_t)actions[i];
        double weight = weights != NULL ? weights[i] : 1.0;
        double residual = (double)scores[cell] - rewards[i];
        total += weight * residual * residual;
        dscores[cell] = (float)(2.0 * weight * residual * inv_n);
    }
    *loss = total * inv_n;
    return FCB_OK;
}

fcb_status fcb_loss_full_mse(const float *scores, int n, int k, const float *targets,
                             float *dscores, double *loss)
{
    const char *fn = "fcb_loss_full_mse";
    fcb_status status = check_shape(fn, scores, n, k, dscores, loss);
    if (status != FCB_OK)
        return status;
    if (targets == NULL)
        return fcb_fail(FCB_ERR_ARG, "%s: targets must not be NULL", fn);
    for (int i = 0; i < n; i++) {
        const float *target = targets + (size_t)i * k;
        status = check_scores_row(fn, scores + (size_t)i * k, i, k);
        if (status != FCB_OK)
            return status;
        for (int a = 0; a < k; a++) {
            if (!isfinite(target[a]))
                return fcb_fail(FCB_ERR_ARG, "%s: target of row %d action %d is not finite (%g)",
                                fn, i, a, (double)target[a]);
        }
    }

    double inv_n = 1.0 / n;
    double total = 0.0;
    size_t count = (size_t)n * (size_t)k;
    for (size_t c = 0; c < count; c++) {
        double residual = (double)scores[c] - targets[c];
        total += residual * residual;
        dscores[c] = (float)(2.0 * residual * inv_n);
    }
    *loss = total * inv_n;
    return FCB_OK;
}

fcb_status fcb_loss_softmax_xent(const float *scores, int n, int k, const int *labels,
                                 float *dscores, double *loss)
{
    const char *fn = "fcb_loss_softmax_xent";
    fcb_status status = check_shape(fn, scores, n, k, dscores, loss);
    if (status != FCB_OK)
        return status;
    if (labels == NULL)
        return fcb_fail(FCB_ERR_ARG, "%s: labels must not be NULL", fn);
    for (int i = 0; i < n; i++) {
        status = check_scores_row(fn, scores + (size_t)i * k, i, k);
        if (status == FCB_OK)
            status = check_index(fn, "label", labels[i], i, k);
        if (status != FCB_OK)
            return status;
    }

    double inv_n = 1.0 / n;
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        const float *row = scores + (size_t)i * k;
        float *grad = dscores + (size_t)i * k;
        double max = row[0];
        for (int a = 1; a < k; a++)
            max = row[a] > max ? row[a] : max;
        double sum = 0.0;
        for (int a = 0; a < k; a++)
            sum += exp(row[a] - max);
        double log_sum = log(sum);
        total += max + log_sum - row[labels[i]];
        for (int a = 0; a < k; a++) {
            double prob = exp(row[a] - max - log_sum);
            grad[a] = (float)((prob - (a == labels[i])) * inv_n);
        }
    }
    *loss = total * inv_n;
    return FCB_OK;
}

fcb_status fcb_loss_dr_targets(const float *q, int n, int k, const int *actions, const float *rewards,
                               const float *propensities, float *targets)
{
    for (int i = 0; i < n; i++) {
        int a = actions[i];
        float p = propensities[i];
        if (a < 0 || a >= k || !(p > 0.0f && p <= 1.0f) || !isfinite(rewards[i]))
            return fcb_fail(FCB_ERR_ARG, "fcb_loss_dr_targets: row %d has action %d, propensity %g, reward %g", i, a,
                            (double)p, (double)rewards[i]);
        const float *row = q + (size_t)i * k;
        float *target = targets + (size_t)i * k;
        for (int b = 0; b < k; b++)
            target[b] = row[b];
        target[a] = row[a] + (rewards[i] - row[a]) / p;
    }
    return FCB_OK;
}
