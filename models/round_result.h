#ifndef FEDCB_ROUND_RESULT_H
#define FEDCB_ROUND_RESULT_H

/* What a client reports of its round besides the update, the same at both
 * ends of the wire. */
typedef struct {
    int examples;
    double reward_sum;       /* observed feedback */
    double true_reward_sum;  /* simulated worlds only: expected reward of the chosen actions */
    double propensity_sum;
    double loss_sum;         /* mean training loss summed over steps */
    int steps;
    double margin_sum;       /* preference rounds: beta * h summed over the last epoch's pairs */
} fcb_client_result;

#endif
