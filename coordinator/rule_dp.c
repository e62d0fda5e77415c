#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aggregation_rule.h"

/* DP-FedAvg (McMahan et al. 2018; adaptive clipping of Andrew et al. 2021). */
typedef struct {
    fcb_aggregation_rule base;
    fcb_aggregation_config config;
    size_t dim;
    float *rows;                  /* capacity x dim */
    double *sum;                  /* dim */
    double sum_noise_multiplier;  /* z of the sum: below dp.noise_multiplier with adaptive clipping */
    double sampling_rate;         /* q = clients_per_round / num_clients */
    double clip_norm;             /* C of the next round */
    fcb_dp_accountant accountant; /* one step per aggregated round */
} dp_rule;

/* Clip every row to C, sum them in client-id order, add the Gaussian noise
 * and divide by the expected number of clients, so that one client's
 * update moves the result by at most C / clients_per_round. */
static fcb_status dp_merge(fcb_aggregation_rule *rule, fcb_aggregator *updates, int round, float *mean,
                           fcb_rule_round *report)
{
    dp_rule *r = (dp_rule *)rule;
    size_t p = r->dim;
    int m = updates->count;
    fcb_aggregator_rows_by_client(updates, r->rows);
    report->clip_norm = r->clip_norm;
    memset(r->sum, 0, p * sizeof(double));
    for (int i = 0; i < m; i++) {
        float *row = r->rows + (size_t)i * p;
        int clipped = 0;
        fcb_status st = fcb_dp_clip(row, p, r->clip_norm, NULL, &clipped);
        if (st != FCB_OK)
            return st;
        report->clipped += clipped;
        for (size_t k = 0; k < p; k++)
            r->sum[k] += row[k];
    }
    for (size_t k = 0; k < p; k++)
        mean[k] = (float)r->sum[k];
    fcb_rng rng;
    fcb_rng_init(&rng, r->config.seed, FCB_STREAM_DP_NOISE, 0xFFFFFFFFu, (uint32_t)round);
    fcb_status st = fcb_dp_add_noise(mean, p, r->sum_noise_multiplier, r->clip_norm, &rng);
    if (st != FCB_OK)
        return st;
    float expected_clients = (float)r->config.clients_per_round;
    for (size_t k = 0; k < p; k++)
        mean[k] /= expected_clients;
    st = fcb_dp_accountant_add(&r->accountant, r->sampling_rate, r->config.dp.noise_multiplier, 1);
    if (st != FCB_OK || !r->config.dp.adaptive)
        return st;
    fcb_rng count_rng;
    fcb_rng_init(&count_rng, r->config.seed, FCB_STREAM_DP_NOISE, 0xFFFFFFFEu, (uint32_t)round);
    return fcb_dp_adapt_clip_norm(&r->config.dp, m - report->clipped, r->config.clients_per_round, &count_rng,
                                  &r->clip_norm);
}

static fcb_status dp_privacy(const fcb_aggregation_rule *rule, fcb_privacy_report *out)
{
    const dp_rule *r = (const dp_rule *)rule;
    memset(out, 0, sizeof *out);
    out->epsilon = INFINITY;
    out->delta = r->config.dp_delta;
    out->steps = r->accountant.steps;
    out->sampling_rate = r->sampling_rate;
    out->sum_noise_multiplier = r->sum_noise_multiplier;
    out->clip_norm = r->clip_norm;
    return fcb_dp_accountant_epsilon(&r->accountant, r->config.dp_delta, &out->epsilon, &out->best_order);
}

enum { DP_SECTION_VERSION = 1 };

static fcb_status dp_save(const fcb_aggregation_rule *rule, fcb_ckpt_writer *w)
{
    const dp_rule *r = (const dp_rule *)rule;
    fcb_ckpt_begin(w, "dp", DP_SECTION_VERSION);
    fcb_ckpt_put_f64(w, r->clip_norm);
    fcb_ckpt_put_i64(w, r->accountant.steps);
    fcb_ckpt_put_f64s(w, r->accountant.rdp, FCB_DP_NUM_ORDERS);
    return fcb_ckpt_end(w);
}

static fcb_status dp_load(fcb_aggregation_rule *rule, fcb_ckpt_reader *r)
{
    dp_rule *d = (dp_rule *)rule;
    int64_t steps = 0;
    fcb_status st = fcb_ckpt_open_section(r, "dp", DP_SECTION_VERSION);
    if (st == FCB_OK)
        st = fcb_ckpt_get_f64(r, &d->clip_norm);
    if (st == FCB_OK)
        st = fcb_ckpt_get_i64(r, &steps);
    if (st == FCB_OK)
        st = fcb_ckpt_get_f64s(r, d->accountant.rdp, FCB_DP_NUM_ORDERS);
    if (st == FCB_OK)
        st = fcb_ckpt_close_section(r);
    if (st == FCB_OK && (!(d->clip_norm > 0.0) || !isfinite(d->clip_norm) || steps < 0))
        st = fcb_ckpt_fail(r, "clip norm %g or step count %lld out of range", d->clip_norm, (long long)steps);
    d->accountant.steps = (long)steps;
    return st;
}

static void dp_free(fcb_aggregation_rule *rule)
{
    dp_rule *r = (dp_rule *)rule;
    free(r->rows);
    free(r->sum);
    free(r);
}

static const fcb_aggregation_rule_ops DP_OPS = {dp_merge, dp_privacy, dp_save, dp_load, dp_free};

fcb_status fcb_rule_dp_create(const fcb_aggregation_config *config, size_t dim, int capacity,
                              fcb_aggregation_rule **out)
{
    fcb_status st = fcb_dp_config_validate(&config->dp);
    if (st != FCB_OK)
        return st;
    dp_rule *r = calloc(1, sizeof *r);
    if (!r)
        return fcb_fail(FCB_ERR_NOMEM, "aggregation: out of memory");
    r->base = (fcb_aggregation_rule){&DP_OPS, FCB_RULE_DP, "dp"};
    r->config = *config;
    r->dim = dim;
    r->clip_norm = config->dp.clip_norm;
    r->sampling_rate = (double)config->clients_per_round / config->num_clients;
    fcb_dp_accountant_init(&r->accountant);
    r->rows = malloc((size_t)capacity * dim * sizeof(float));
    r->sum = malloc(dim * sizeof(double));
    st = fcb_dp_sum_noise_multiplier(&config->dp, &r->sum_noise_multiplier);
    if (st == FCB_OK && (!r->rows || !r->sum))
        st = fcb_fail(FCB_ERR_NOMEM, "aggregation: out of memory for %d clients x %zu parameters", capacity, dim);
    if (st != FCB_OK) {
        dp_free(&r->base);
        return st;
    }
    *out = &r->base;
    return FCB_OK;
}
