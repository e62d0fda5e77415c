#ifndef FEDCB_OPE_RUN_H
#define FEDCB_OPE_RUN_H

#include <jansson.h>

#include "config_file.h"
#include "off_policy.h"
#include "policy.h"

/* `fedcb ope`: the value of a candidate policy estimated from the decisions
 * another policy logged in a simulate run (run.log_interactions = true).
 * The contexts are recreated from the logging run's config (its hash must
 * match the log's summary.json); the candidate is a score-based policy on a
 * model.bin (the logging run's own, or another run's of the same shape). The
 * model's scores clipped to [0, 1] are the reward model of the doubly robust
 * estimate. Because the simulator knows every context's click probability,
 * the candidate's true value on the logged contexts is reported too. */

typedef struct {
    const fcb_config *config;           /* the logging run's config */
    const fcb_config *candidate_config; /* the same with the candidate's [policy] */
    const char *log_dir;                /* holds interactions.csv.gz and summary.json; NULL with vw_log */
    const char *vw_log;                 /* a VW contextual-bandit log with its contexts; NULL with log_dir */
    const char *model_dir;              /* log_dir: a run directory holding model.bin (NULL: log_dir);
                                           vw_log: the model file itself */
} fcb_ope_options;

typedef struct {
    long interactions;
    double logged_value;     /* mean observed reward of the logger */
    double true_value;       /* candidate's expected reward on the logged contexts (simulated logs) */
    int has_true_value;
    fcb_policy_config candidate;
    fcb_ope_result estimates; /* 95 % intervals */
} fcb_ope_report;

fcb_status fcb_ope_run(const fcb_ope_options *options, fcb_ope_report *report);

json_t *fcb_ope_report_json(const fcb_ope_options *options, const fcb_ope_report *report);

#endif
