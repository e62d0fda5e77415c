#ifndef FEDCB_ROUND_FINISH_H
#define FEDCB_ROUND_FINISH_H

#include <jansson.h>

#include "federation.h"
#include "run_output.h"

/* What happens once a round's updates are in, the same for `fedcb simulate`
 * and the networked coordinator: aggregate, deploy when due, evaluate when
 * due, append the round's line to metrics.jsonl. The tally carries the run's
 * running totals (and is part of a coordinator checkpoint). */

typedef struct {
    int rounds_done;
    long interactions;
    double reward_total;
    double true_reward_total;
    double accuracy;        /* last evaluation, -1 before the first */
    double test_reward;
    double class_accuracy[FCB_MAX_CLASSES];
    /* preference stage */
    double reference_accuracy; /* test accuracy of the reference, -1 before the stage */
    double win_rate;           /* last evaluation against the reference, -1 before */
    double kl;
    double margin;             /* mean beta * h of the last preference round */
} fcb_run_tally;

typedef struct {
    int rounds;
    long interactions;
    double avg_reward;        /* mean observed feedback over all interactions */
    double avg_true_reward;   /* mean expected reward of the chosen actions */
    double final_accuracy;
    double final_test_reward;
    double pretrain_accuracy; /* -1 without pretraining */
    double passes;            /* interactions / rows held by bandit clients */
    double seconds;
    char model_sha256[65];
} fcb_run_result;

void fcb_run_tally_init(fcb_run_tally *tally);

/* Aggregates the federation's slots for its current round, deploys and
 * evaluates when due, and writes the metrics line (out may be NULL), whose
 * "seconds" run from round_start (fcb_wall_seconds) to now, evaluation
 * included (0 when run.wall_clock is off). */
fcb_status fcb_round_finish(fcb_federation *f, fcb_run_tally *tally, fcb_run_output *out, double round_start,
                            fcb_round_totals *totals);

fcb_status fcb_run_result_fill(const fcb_federation *f, const fcb_run_tally *tally, double seconds,
                               fcb_run_result *result);

/* epsilon as JSON: a number, or null when it is infinite (no noise). */
json_t *fcb_json_epsilon(double epsilon);

/* summary.json (run_summary.c): final metrics, the resolved config and model_sha256. */
json_t *fcb_run_summary_json(const fcb_federation *f, const fcb_run_tally *tally, const fcb_run_result *r);

#endif
