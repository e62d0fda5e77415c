#ifndef FEDCB_BENCH_RUN_H
#define FEDCB_BENCH_RUN_H

#include "bench_suite.h"

/* `fedcb bench`: runs every cell of a suite (scenario x policy x seed) on a
 * pool of worker threads, each cell a one-thread `fedcb simulate` into
 * OUT/cells/SCENARIO/POLICY/seed-N. A cell whose summary.json exists is
 * skipped, so a rerun resumes. Then writes OUT/results.csv (one row per cell)
 * and OUT/report.md (per scenario: mean and 95 % t-interval of online reward
 * and final accuracy per policy, the gap to the ceiling, the wall time, the
 * best policy marked; paired differences to the best; per policy family the
 * setting with the best mean validation accuracy). A cell that fails does
 * not stop the others: the outputs are still written, with the failed cells
 * listed and left out of every statistic, and the run returns an error. */

typedef struct {
    const char *out_dir;
    int seeds;      /* 0: the suite's */
    int jobs;       /* worker threads; 0: the number of cores */
    int progress;   /* 1: one progress bar on stderr */
} fcb_bench_options;

typedef struct {
    int cells;
    int skipped;    /* already done by an earlier run */
    int failed;     /* cells whose run failed: listed in the report, left out of its statistics */
} fcb_bench_result;

/* Loads every scenario x policy config and checks its policy, loss and
 * optimiser settings, without running anything. */
fcb_status fcb_bench_check(const fcb_suite *suite);

fcb_status fcb_bench_run(const fcb_suite *suite, const fcb_bench_options *options, fcb_bench_result *result);

#endif
