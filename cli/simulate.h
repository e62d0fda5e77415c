#ifndef FEDCB_SIMULATE_H
#define FEDCB_SIMULATE_H

#include "config.h"
#include "run_report.h"
#include "status.h"

/* The in-process federated driver behind `fedcb simulate`: rounds of seeded
 * client sampling, client rounds on a thread pool, validation, aggregation
 * in client-id order, the server optimiser and the deployment delay.
 * Results do not depend on the thread count. */

typedef struct {
    const char *out_dir; /* NULL: write no files */
    int progress;        /* 1: a progress line on stderr */
} fcb_simulate_options;

typedef fcb_run_result fcb_simulate_result;

fcb_status fcb_simulate(const fcb_config *config, const fcb_simulate_options *options,
                        fcb_simulate_result *result);

#endif
