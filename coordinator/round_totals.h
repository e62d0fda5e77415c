#ifndef FEDCB_ROUND_TOTALS_H
#define FEDCB_ROUND_TOTALS_H

/* What a closed round adds up to, over its sampled clients. */
typedef struct {
    int sampled, participants, updates, unavailable, no_data, dropped, stale, rejected, missing;
    long examples;
    double reward_sum, true_reward_sum, propensity_sum, loss_sum;
    double margin_sum;          /* preference rounds: beta * h over the updates' pairs */
    int steps;
    double bytes_up, bytes_down;
    double clip_norm;           /* DP: the C this round's updates were clipped to */
    int clipped;                /* DP: aggregated updates whose norm was above C */
} fcb_round_totals;

#endif
