#ifndef FEDCB_ENVIRONMENT_H
#define FEDCB_ENVIRONMENT_H

#include <stdint.h>

#include "model.h"
#include "rng.h"
#include "status.h"

/* Supervised-to-bandit conversion with implicit feedback and the drift
 * schedules. The true reward of action a on an example of label y is
 * R[y'][a] where y' = the label after drift at that round (permutation) and
 * R is the reward table (identity by default; partial rewards such as 0.5 for
 * a merged parent class). Observed feedback:
 *   exact: r = R[y'][a];
 *   click: r ~ Bernoulli(p_false + (p_click - p_false) * R[y'][a]),
 * with p_click / p_false per client when per-client noise is configured. */

typedef enum {
    FCB_DRIFT_NONE,
    FCB_DRIFT_PRIOR,        /* class priors rotate over rounds: class c weighted by 1 + strength*cos(2 pi (round/period - c/k)) */
    FCB_DRIFT_PERMUTATION,  /* from round `start` the labels are permuted by a seeded permutation */
    FCB_DRIFT_GRADUAL,      /* from `start` to `start + duration` a growing fraction of examples use the permuted labels */
    FCB_DRIFT_LATE_CLASSES  /* classes listed in late_classes are absent before `start` */
} fcb_drift_kind;

/* drift.kind names: none, prior, permutation, gradual, late_classes. */
fcb_status fcb_drift_kind_from_name(const char *name, fcb_drift_kind *out);

enum { FCB_MAX_CLASSES = FCB_MAX_ACTIONS };

typedef struct {
    int num_classes;
    float *reward_table;   /* k x k, row = label, column = action; owned */
    int click_feedback;    /* 0: exact rewards; 1: Bernoulli clicks */
    float p_click;         /* P(click | correct action) */
    float p_false;         /* P(click | wrong action) */
    float noise_spread;    /* per-client noise: p_click and p_false of client c are shifted by a
                              seeded uniform in [-spread, spread], clamped to [0, 1]; 0 = off */
    fcb_drift_kind drift;
    int drift_start;       /* round */
    int drift_duration;    /* rounds, gradual drift */
    int drift_period;      /* rounds, prior drift */
    float drift_strength;  /* prior drift amplitude in [0, 1] */
    int num_late_classes;
    int late_classes[FCB_MAX_CLASSES];
    int permutation[FCB_MAX_CLASSES]; /* label permutation used by drift; filled by init */
    uint64_t seed;
} fcb_environment;

/* Identity reward table, exact feedback, no drift. */
fcb_status fcb_environment_init(fcb_environment *env, int num_classes, uint64_t seed);
void fcb_environment_free(fcb_environment *env);
fcb_status fcb_environment_validate(const fcb_environment *env);

/* Sets R[child][parent] = reward (e.g. 0.5 for Shirt shown T-shirt/top). */
fcb_status fcb_environment_set_partial_reward(fcb_environment *env, int label, int action, float reward);

/* The label an example of original label y carries at `round` (after
 * permutation / gradual drift; the gradual case draws from rng). */
int fcb_environment_label_at(const fcb_environment *env, int y, int round, fcb_rng *rng);

/* The true (expected) reward, and a draw of the observed feedback. */
float fcb_environment_true_reward(const fcb_environment *env, int label_at_round, int action);
/* The expected observed feedback: the true reward with exact feedback, the
 * click probability of this client with click feedback. */
double fcb_environment_click_probability(const fcb_environment *env, int client, int label_at_round, int action);
float fcb_environment_observe(const fcb_environment *env, int client, int label_at_round, int action,
                              fcb_rng *rng);

/* Sampling weight of class c at round (prior drift, late classes); 1 with no drift. */
double fcb_environment_class_weight(const fcb_environment *env, int c, int round);

#endif
