#include "preference_loss.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "name_table.h"

static const fcb_name_entry KIND_NAMES[] = {
    {"dpo", FCB_PREFERENCE_DPO},
    {"ipo", FCB_PREFERENCE_IPO},
    {"rdpo", FCB_PREFERENCE_RDPO},
    {"distill", FCB_PREFERENCE_DISTILL},
};

static const fcb_name_entry ENSEMBLE_NAMES[] = {
    {"pessimistic", FCB_ENSEMBLE_PESSIMISTIC},
    {"mean", FCB_ENSEMBLE_MEAN},
};

fcb_status fcb_preference_kind_from_name(const char *name, fcb_preference_kind *out)
{
    int value = 0;
    fcb_status st =
        fcb_name_lookup(KIND_NAMES, sizeof KIND_NAMES / sizeof KIND_NAMES[0], "preference loss", name, &value);
    if (st == FCB_OK)
        *out = (fcb_preference_kind)value;
    return st;
}

const char *fcb_preference_kind_name(fcb_preference_kind kind)
{
    return fcb_name_of(KIND_NAMES, sizeof KIND_NAMES / sizeof KIND_NAMES[0], (int)kind);
}

fcb_status fcb_ensemble_kind_from_name(const char *name, fcb_ensemble_kind *out)
{
    int value = 0;
    fcb_status st =
        fcb_name_lookup(ENSEMBLE_NAMES, sizeof ENSEMBLE_NAMES / sizeof ENSEMBLE_NAMES[0], "ensemble", name, &value);
    if (st == FCB_OK)
        *out = (fcb_ensemble_kind)value;
    return st;
}

const char *fcb_ensemble_kind_name(fcb_ensemble_kind kind)
{
    return fcb_name_of(ENSEMBLE_NAMES, sizeof ENSEMBLE_NAMES / sizeof ENSEMBLE_NAMES[0], (int)kind);
}

void fcb_preference_params_default(fcb_preference_params *params, fcb_preference_kind kind)
{
    params->kind = kind;
    params->temperature = 0.05;
    params->beta = 0.1;
    params->ipo_tau = 0.1;
    params->flip_rate = 0.0;
    params->ensemble = FCB_ENSEMBLE_PESSIMISTIC;
}

static int is_known_kind(fcb_preference_kind kind)
{
    return fcb_name_known(KIND_NAMES, sizeof KIND_NAMES / sizeof KIND_NAMES[0], (int)kind);
}

static int is_known_ensemble(fcb_ensemble_kind kind)
{
    return fcb_name_known(ENSEMBLE_NAMES, sizeof ENSEMBLE_NAMES / sizeof ENSEMBLE_NAMES[0], (int)kind);
}

static fcb_status check_positive(const char *key, double value)
{
    if (!isfinite(value))
        return fcb_fail(FCB_ERR_CONFIG, "preference.%s = %g: must be finite", key, value);
    if (!(value > 0.0))
        return fcb_fail(FCB_ERR_CONFIG, "preference.%s = %g: must be > 0", key, value);
    return FCB_OK;
}

fcb_status fcb_preference_params_validate(const fcb_preference_params *params)
{
    if (params == NULL)
        return fcb_fail(FCB_ERR_ARG, "fcb_preference_params_validate: NULL params");
    if (!is_known_kind(params->kind))
        return fcb_fail(FCB_ERR_CONFIG, "preference.kind = %d: unknown loss", (int)params->kind);
    fcb_status status = check_positive("temperature", params->temperature);
    if (status == FCB_OK)
        status = check_positive("beta", params->beta);
    if (status != FCB_OK)
        return status;
    if (params->kind == FCB_PREFERENCE_IPO)
        return check_positive("ipo_tau", params->ipo_tau);
    if (params->kind == FCB_PREFERENCE_RDPO &&
        !(params->flip_rate >= 0.0 && params->flip_rate < 0.5))
        return fcb_fail(FCB_ERR_CONFIG, "preference.flip_rate = %g: must be in [0, 0.5)",
                        params->flip_rate);
    if (params->kind == FCB_PREFERENCE_DISTILL &&
        !is_known_ensemble(params->ensemble))
        return fcb_fail(FCB_ERR_CONFIG, "preference.ensemble = %d: unknown ensemble",
                        (int)params->ensemble);
    return FCB_OK;
}

static fcb_status check_finite(const char *what, const float *values, size_t count, int k)
{
    for (size_t c = 0; c < count; c++) {
        if (!isfinite(values[c]))
            return fcb_fail(FCB_ERR_ARG,
                            "preference loss: %s of row %zu action %zu is not finite (%g)", what,
                            c / (size_t)k, c % (size_t)k, (double)values[c]);
    }
    return FCB_OK;
}

static fcb_status validate_batch(fcb_preference_kind kind, const fcb_preference_batch *b)
{
    if (b->scores == NULL || b->ref_scores == NULL || b->winners == NULL || b->losers == NULL)
        return fcb_fail(FCB_ERR_ARG, "preference loss: scores, ref_scores, winners and losers "
                                     "must not be NULL");
    if (b->n < 1)
        return fcb_fail(FCB_ERR_ARG, "preference loss: n = %d pairs, need at least 1", b->n);
    if (b->k < 2)
        return fcb_fail(FCB_ERR_ARG, "preference loss: k = %d actions, a pair needs at least 2",
                        b->k);
    size_t cells = (size_t)b->n * (size_t)b->k;
    fcb_status status = check_finite("score", b->scores, cells, b->k);
    if (status == FCB_OK)
        status = check_finite("reference score", b->ref_scores, cells, b->k);
    if (status != FCB_OK)
        return status;
    for (int i = 0; i < b->n; i++) {
        int w = b->winners[i], l = b->losers[i];
        if (w < 0 || w >= b->k || l < 0 || l >= b->k)
            return fcb_fail(FCB_ERR_ARG,
                            "preference loss: pair %d has winner %d and loser %d, need both in "
                            "[0, %d)",
                            i, w, l, b->k);
        if (w == l)
            return fcb_fail(FCB_ERR_ARG, "preference loss: pair %d has winner = loser = %d", i, w);
    }
    if (kind != FCB_PREFERENCE_DISTILL)
        return FCB_OK;
    if (b->num_reward_models < 1 || b->reward_scores == NULL)
        return fcb_fail(FCB_ERR_ARG,
                        "preference loss: distill needs reward_scores of num_reward_models >= 1 "
                        "(got %d)",
                        b->num_reward_models);
    for (int m = 0; m < b->num_reward_models; m++) {
        const float *member = b->reward_scores + (size_t)m * cells;
        for (size_t c = 0; c < cells; c++) {
            if (!isfinite(member[c]))
                return fcb_fail(FCB_ERR_ARG,
                                "preference loss: reward model %d score of row %zu action %zu is "
                                "not finite (%g)",
                                m, c / (size_t)b->k, c % (size_t)b->k, (double)member[c]);
        }
    }
    return FCB_OK;
}

/* softplus(x) = log(1 + e^x) = -log sigmoid(-x), without overflow. */
static double softplus(double x)
{
    return fmax(x, 0.0) + log1p(exp(-fabs(x)));
}

static double sigmoid(double x)
{
    if (x >= 0.0)
        return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

double fcb_logsumexp_scaled(const float *row, int k, double tau)
{
    double max = row[0] / tau;
    for (int a = 1; a < k; a++)
        max = fmax(max, row[a] / tau);
    double sum = 0.0;
    for (int a = 0; a < k; a++)
        sum += exp(row[a] / tau - max);
    return max + log(sum);
}

static double log_prob(const float *row, double lse, double tau, int a)
{
    return row[a] / tau - lse;
}

/* Loss of one pair and its derivative with respect to h. */
typedef struct {
    double loss;
    double dloss_dh;
} pair_loss;

static pair_loss dpo_pair(double beta, double h)
{
    double z = beta * h;
    return (pair_loss){softplus(-z), -beta * sigmoid(-z)};
}

static pair_loss ipo_pair(double ipo_tau, double h)
{
    double residual = h - 1.0 / (2.0 * ipo_tau);
    return (pair_loss){residual * residual, 2.0 * residual};
}

/* Unbiased under flips: (1-e) L(w,l) + e L(l,w) equals the DPO loss of the
 * true pair (Chowdhury et al. 2024). */
static pair_loss rdpo_pair(double beta, double eps, double h)
{
    double z = beta * h;
    double scale = 1.0 / (1.0 - 2.0 * eps);
    double loss = ((1.0 - eps) * softplus(-z) - eps * softplus(z)) * scale;
    double dloss_dz = (-(1.0 - eps) * sigmoid(-z) - eps * sigmoid(z)) * scale;
    return (pair_loss){loss, beta * dloss_dz};
}

static pair_loss distill_pair(const fcb_preference_params *p, const fcb_preference_batch *b,
                              int i, double h)
{
    double z = p->beta * h;
    double worst_residual = 0.0, worst_loss = -1.0, sum_loss = 0.0, sum_residual = 0.0;
    for (int m = 0; m < b->num_reward_models; m++) {
        const float *reward = b->reward_scores + ((size_t)m * b->n + (size_t)i) * b->k;
        double residual = z - ((double)reward[b->winners[i]] - reward[b->losers[i]]);
        double loss = residual * residual;
        sum_loss += loss;
        sum_residual += residual;
        if (loss > worst_loss) {
            worst_loss = loss;
            worst_residual = residual;
        }
    }
    if (p->ensemble == FCB_ENSEMBLE_MEAN) {
        double inv_m = 1.0 / b->num_reward_models;
        return (pair_loss){sum_loss * inv_m, 2.0 * p->beta * sum_residual * inv_m};
    }
    return (pair_loss){worst_loss, 2.0 * p->beta * worst_residual};
}

static pair_loss loss_of_pair(const fcb_preference_params *p, const fcb_preference_batch *b,
                              int i, double h)
{
    switch (p->kind) {
    case FCB_PREFERENCE_IPO:
        return ipo_pair(p->ipo_tau, h);
    case FCB_PREFERENCE_RDPO:
        return rdpo_pair(p->beta, p->flip_rate, h);
    case FCB_PREFERENCE_DISTILL:
        return distill_pair(p, b, i, h);
    case FCB_PREFERENCE_DPO:
    default:
        return dpo_pair(p->beta, h);
    }
}

/* grad = coeff * dh/df for one row, from d log pi(a) / df(b) = (1[a=b] - pi(b)) / tau. */
static void write_row_gradient(const float *row, int k, double tau, double lse, int w, int l,
                               double coeff, float *grad)
{
    for (int a = 0; a < k; a++) {
        double prob = exp(log_prob(row, lse, tau, a));
        double dh = ((a == w) - prob) - ((a == l) - prob);
        grad[a] = (float)(coeff * dh / tau);
    }
}

fcb_status fcb_preference_loss(const fcb_preference_params *params,
                               const fcb_preference_batch *batch, float *dscores, float *margins,
                               double *mean_margin, double *loss)
{
    if (params == NULL || batch == NULL || dscores == NULL || loss == NULL)
        return fcb_fail(FCB_ERR_ARG, "fcb_preference_loss: NULL argument");
    fcb_status status = fcb_preference_params_validate(params);
    if (status == FCB_OK)
        status = validate_batch(params->kind, batch);
    if (status != FCB_OK)
        return status;

    int n = batch->n, k = batch->k;
    double tau = params->temperature;
    double inv_n = 1.0 / n;
    double total_loss = 0.0, total_margin = 0.0;
    for (int i = 0; i < n; i++) {
        const float *row = batch->scores + (size_t)i * k;
        const float *ref = batch->ref_scores + (size_t)i * k;
        int w = batch->winners[i], l = batch->losers[i];
        double lse = fcb_logsumexp_scaled(row, k, tau);
        double ref_lse = fcb_logsumexp_scaled(ref, k, tau);
        double h = (log_prob(row, lse, tau, w) - log_prob(row, lse, tau, l)) -
                   (log_prob(ref, ref_lse, tau, w) - log_prob(ref, ref_lse, tau, l));
        pair_loss pair = loss_of_pair(params, batch, i, h);
        total_loss += pair.loss;
        total_margin += params->beta * h;
        if (margins != NULL)
            margins[i] = (float)(params->beta * h);
        write_row_gradient(row, k, tau, lse, w, l, pair.dloss_dh * inv_n, dscores + (size_t)i * k);
    }
    *loss = total_loss * inv_n;
    if (mean_margin != NULL)
        *mean_margin = total_margin * inv_n;
    return FCB_OK;
}
