#ifndef FEDCB_AGGREGATION_RULE_H
#define FEDCB_AGGREGATION_RULE_H

#include <stdint.h>

#include "aggregate.h"
#include "checkpoint_io.h"
#include "dp_accountant.h"
#include "dp_clip.h"
#include "robust_aggregate.h"

/* How a round's accepted parameter deltas become one: the FedAvg mean
 * (weighted or not), a robust rule (median, trimmed mean, norm bounding) or
 * DP-FedAvg (each update clipped to C, summed in client-id order, Gaussian
 * noise, divided by the expected number of clients; adaptive C). One
 * interface, three implementations (rule_mean.c, rule_robust.c,
 * rule_dp.c). Updates always come in client-id order. */

typedef enum { FCB_RULE_MEAN, FCB_RULE_ROBUST, FCB_RULE_DP } fcb_rule_kind;

typedef struct {
    fcb_rule_kind kind;
    fcb_agg_weighting weighting; /* mean */
    fcb_robust_config robust;    /* robust */
    fcb_dp_config dp;            /* DP-FedAvg */
    double dp_delta;             /* epsilon is reported at this delta */
    uint64_t seed;               /* DP noise streams */
    int clients_per_round;       /* DP: the expected number of clients, and q's numerator */
    int num_clients;             /* DP: q's denominator */
} fcb_aggregation_config;

/* What a rule says of its round and of the run so far. */
typedef struct {
    int clipped;             /* DP: updates whose norm was above C this round */
    double clip_norm;        /* DP: the C this round's updates were clipped to */
} fcb_rule_round;

typedef struct {
    double epsilon;              /* +inf without noise */
    double best_order;
    double delta;
    long steps;
    double sampling_rate;
    double sum_noise_multiplier;
    double clip_norm;            /* the C of the next round */
} fcb_privacy_report;

typedef struct fcb_aggregation_rule fcb_aggregation_rule;

typedef struct {
    /* mean (dim floats) from the round's updates (at least one). */
    fcb_status (*merge)(fcb_aggregation_rule *rule, fcb_aggregator *updates, int round, float *mean,
                        fcb_rule_round *report);
    /* DP only (else NULL): the privacy spent so far. */
    fcb_status (*privacy)(const fcb_aggregation_rule *rule, fcb_privacy_report *out);
    /* The rule's running state, as a checkpoint section (NULL: stateless). */
    fcb_status (*save)(const fcb_aggregation_rule *rule, fcb_ckpt_writer *w);
    fcb_status (*load)(fcb_aggregation_rule *rule, fcb_ckpt_reader *r);
    void (*free)(fcb_aggregation_rule *rule);
} fcb_aggregation_rule_ops;

struct fcb_aggregation_rule {
    const fcb_aggregation_rule_ops *ops;
    fcb_rule_kind kind;
    const char *name;       /* for reports: "mean", "median", ..., "dp" */
};

/* A rule for updates of dim values, at most capacity per round. */
fcb_status fcb_aggregation_rule_create(const fcb_aggregation_config *config, size_t dim, int capacity,
                                       fcb_aggregation_rule **out);
void fcb_aggregation_rule_destroy(fcb_aggregation_rule *rule);

/* The implementations' constructors (aggregation_rule.c picks one). */
fcb_status fcb_rule_mean_create(const fcb_aggregation_config *config, fcb_aggregation_rule **out);
fcb_status fcb_rule_robust_create(const fcb_aggregation_config *config, size_t dim, int capacity,
                                  fcb_aggregation_rule **out);
fcb_status fcb_rule_dp_create(const fcb_aggregation_config *config, size_t dim, int capacity,
                              fcb_aggregation_rule **out);

#endif
