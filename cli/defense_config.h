#ifndef FEDCB_DEFENSE_CONFIG_H
#define FEDCB_DEFENSE_CONFIG_H

#include "config_file.h"
#include "dp_clip.h"
#include "malicious.h"
#include "robust_aggregate.h"

/* The [dp], [aggregation] and [malicious] sections of a config as the
 * building blocks' own structs (dp_clip.h, robust_aggregate.h,
 * malicious.h), and the rules that tie them to the rest of the config. */

/* [dp] without dp.enabled and dp.delta. */
fcb_dp_config fcb_dp_config_from(const fcb_config *config);

/* The delta epsilon is reported at: dp.delta, or 1 / num_clients^1.1 when
 * it is 0. */
double fcb_dp_delta(const fcb_config *config);

/* aggregation.kind: *robust = 0 for mean (FedAvg, server.weighting), 1 and
 * the rule for median, trimmed_mean or norm_bound. */
fcb_status fcb_aggregation_from_config(const fcb_config *config, int *robust, fcb_robust_config *rule);

fcb_status fcb_malicious_from_config(const fcb_config *config, fcb_malicious_config *malicious);

/* Every key of the three sections through the blocks' validate functions
 * (also when DP is off or the kind does not use the key), then the cross-key
 * rules: DP, a robust rule and attacks need a score-based policy (LinUCB and
 * Thompson sum exact statistics); DP-FedAvg aggregates with the mean; with
 * adaptive clipping the count noise must leave room for the sum's noise.
 * Messages name the key. */
fcb_status fcb_defense_config_validate(const fcb_config *config);

#endif
