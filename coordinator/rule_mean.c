#include <stdlib.h>

#include "aggregation_rule.h"

typedef struct {
    fcb_aggregation_rule base;
    fcb_agg_weighting weighting;
} mean_rule;

static fcb_status mean_merge(fcb_aggregation_rule *rule, fcb_aggregator *updates, int round, float *mean,
                             fcb_rule_round *report)
{
    (void)round;
    (void)report;
    return fcb_aggregator_mean(updates, ((mean_rule *)rule)->weighting, mean);
}

static void mean_free(fcb_aggregation_rule *rule)
{
    free(rule);
}

static const fcb_aggregation_rule_ops MEAN_OPS = {mean_merge, NULL, NULL, NULL, mean_free};

fcb_status fcb_rule_mean_create(const fcb_aggregation_config *config, fcb_aggregation_rule **out)
{
    mean_rule *r = calloc(1, sizeof *r);
    if (!r)
        return fcb_fail(FCB_ERR_NOMEM, "aggregation: out of memory");
    r->base = (fcb_aggregation_rule){&MEAN_OPS, FCB_RULE_MEAN, "mean"};
    r->weighting = config->weighting;
    *out = &r->base;
    return FCB_OK;
}
