#include <stdlib.h>

#include "aggregation_rule.h"

typedef struct {
    fcb_aggregation_rule base;
    fcb_robust_config config;
    size_t dim;
    float *rows;          /* capacity x dim: the updates in client-id order */
    double *scratch;
    size_t scratch_size;
} robust_rule;

static fcb_status robust_merge(fcb_aggregation_rule *rule, fcb_aggregator *updates, int round, float *mean,
                               fcb_rule_round *report)
{
    (void)round;
    (void)report;
    robust_rule *r = (robust_rule *)rule;
    fcb_aggregator_rows_by_client(updates, r->rows);
    return fcb_robust_aggregate(&r->config, r->rows, updates->count, r->dim, r->scratch, r->scratch_size, mean);
}

static void robust_free(fcb_aggregation_rule *rule)
{
    robust_rule *r = (robust_rule *)rule;
    free(r->rows);
    free(r->scratch);
    free(r);
}

static const fcb_aggregation_rule_ops ROBUST_OPS = {robust_merge, NULL, NULL, NULL, robust_free};

fcb_status fcb_rule_robust_create(const fcb_aggregation_config *config, size_t dim, int capacity,
                                  fcb_aggregation_rule **out)
{
    fcb_status st = fcb_robust_config_validate(&config->robust);
    if (st != FCB_OK)
        return st;
    robust_rule *r = calloc(1, sizeof *r);
    if (!r)
        return fcb_fail(FCB_ERR_NOMEM, "aggregation: out of memory");
    r->base = (fcb_aggregation_rule){&ROBUST_OPS, FCB_RULE_ROBUST, fcb_robust_kind_name(config->robust.kind)};
    r->config = config->robust;
    r->dim = dim;
    r->rows = malloc((size_t)capacity * dim * sizeof(float));
    r->scratch_size = fcb_robust_scratch_size(capacity, dim);
    r->scratch = malloc(r->scratch_size * sizeof(double));
    if (!r->rows || !r->scratch) {
        robust_free(&r->base);
        return fcb_fail(FCB_ERR_NOMEM, "aggregation: out of memory for %d clients x %zu parameters", capacity, dim);
    }
    *out = &r->base;
    return FCB_OK;
}
