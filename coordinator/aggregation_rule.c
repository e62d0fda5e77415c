#include "aggregation_rule.h"

fcb_status fcb_aggregation_rule_create(const fcb_aggregation_config *config, size_t dim, int capacity,
                                       fcb_aggregation_rule **out)
{
    *out = NULL;
    switch (config->kind) {
    case FCB_RULE_MEAN: return fcb_rule_mean_create(config, out);
    case FCB_RULE_ROBUST: return fcb_rule_robust_create(config, dim, capacity, out);
    case FCB_RULE_DP: return fcb_rule_dp_create(config, dim, capacity, out);
    }
    return fcb_fail(FCB_ERR_CONFIG, "aggregation: unknown rule %d", (int)config->kind);
}

void fcb_aggregation_rule_destroy(fcb_aggregation_rule *rule)
{
    if (rule)
        rule->ops->free(rule);
}
