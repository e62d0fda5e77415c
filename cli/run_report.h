#ifndef FEDCB_RUN_REPORT_H
#define FEDCB_RUN_REPORT_H

#include <jansson.h>

#include "config.h"
#include "json_line.h"
#include "preference_step.h"
#include "round_close.h"
#include "sim_client.h"
#include "world.h"

/* A run's results as JSON: one metrics.jsonl line per round and
 * summary.json at the end, the same for `fedcb simulate` and the networked
 * coordinator. Oracle values (true rewards, the scenario's pretraining,
 * the malicious clients) appear only when the run is simulated. */

typedef struct {
    const fcb_config *config;
    const fcb_federation *fed;
    const fcb_world *world;                 /* the simulated world; NULL when clients bring their own data */
    const fcb_sim_client *sim;              /* simulated clients' attacks; may be NULL */
    const fcb_preference_setup *preference; /* NULL without a preference stage */
    int list_clients;                       /* real deployments: who was sampled, answered, missing */
} fcb_run_context;

/* A round sampled again before it closed (network only). */
typedef struct {
    int attempt;
    int num_missing;
    int missing[64];
} fcb_resample_note;

/* The metrics.jsonl line of a closed round, into line (begun and ended here). */
fcb_status fcb_round_line(const fcb_run_context *ctx, const fcb_round_report *report, const fcb_run_tally *tally,
                          double seconds, const fcb_resample_note *resamples, int num_resamples, fcb_json_line *line);

typedef struct {
    int rounds;
    long interactions;
    double avg_reward;        /* mean observed feedback over all interactions */
    double avg_true_reward;   /* simulated: mean expected reward of the chosen actions */
    double final_accuracy;    /* -1 without an evaluation */
    double final_test_reward;
    double final_val_accuracy; /* -1 without a validation set */
    double final_val_reward;
    double pretrain_accuracy; /* -1 without pretraining */
    double passes;            /* simulated: interactions / rows held by bandit clients */
    double seconds;
    char model_sha256[65];
} fcb_run_result;

fcb_status fcb_run_result_fill(const fcb_run_context *ctx, const fcb_run_tally *tally, double seconds,
                               fcb_run_result *result);

/* summary.json: final metrics, the resolved config and model_sha256. */
json_t *fcb_run_summary_json(const fcb_run_context *ctx, const fcb_run_tally *tally, const fcb_run_result *r);

/* epsilon as JSON: a number, or null when it is infinite (no noise). */
json_t *fcb_json_epsilon(double epsilon);

#endif
