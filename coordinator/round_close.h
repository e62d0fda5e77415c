#ifndef FEDCB_ROUND_CLOSE_H
#define FEDCB_ROUND_CLOSE_H

#include "federation.h"
#include "model.h"

/* What happens once a round's updates are in, the same for `fedcb simulate`
 * and the networked coordinator: aggregate, deploy when due, evaluate when
 * due (through the federation's evaluator), add the round to the run's
 * tally. The tally is part of a coordinator checkpoint. */

typedef struct {
    int rounds_done;
    long interactions;
    double reward_total;
    double true_reward_total;
    double accuracy;        /* last evaluation, -1 before the first (or without an evaluator) */
    double test_reward;
    double class_accuracy[FCB_MAX_ACTIONS];
    double val_accuracy;    /* last evaluation on the validation set, -1 without one */
    double val_reward;
    /* preference stage */
    double reference_accuracy; /* test accuracy of the reference, -1 before the stage */
    double win_rate;           /* last evaluation against the reference, -1 before */
    double kl;
    double margin;             /* mean beta * h of the last preference round */
} fcb_run_tally;

typedef struct {
    int round;                 /* 0-based */
    fcb_round_totals totals;
    int evaluated;             /* the tally's test metrics are this round's */
    int preference;            /* a preference round */
} fcb_round_report;

void fcb_run_tally_init(fcb_run_tally *tally);
fcb_status fcb_run_tally_save(const fcb_run_tally *tally, fcb_ckpt_writer *w);
fcb_status fcb_run_tally_load(fcb_run_tally *tally, fcb_ckpt_reader *r);

/* Closes the federation's current round. */
fcb_status fcb_round_close(fcb_federation *f, fcb_run_tally *tally, fcb_round_report *report);

#endif
