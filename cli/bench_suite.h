#ifndef FEDCB_BENCH_SUITE_H
#define FEDCB_BENCH_SUITE_H

#include "config_file.h"
#include "status.h"

/* A benchmark suite: a grid of scenarios x policies x seeds, read from an
 * INI file (libinih):
 *
 *   [suite]
 *   seeds = 3
 *   [scenario init]
 *   config = ../../simulations/configs/fmnist-init.ini   ; relative to the suite file
 *   set = run.rounds=68; clients.num_clients=100           ; optional overrides
 *   ceiling = 0.880                                        ; optional: supervised ceiling
 *   [policy softmax]
 *   set = policy.kind=softmax; policy.temperature=0.05
 *   family = softmax                                       ; optional: default policy.kind
 *
 * Every cell is `fedcb simulate` of the scenario's config with the
 * scenario's and then the policy's overrides and run.seed = the seed. */

enum { FCB_SUITE_MAX_SCENARIOS = 16, FCB_SUITE_MAX_POLICIES = 48, FCB_SUITE_SET_MAX = 1024,
       FCB_SUITE_NAME_MAX = 64 };

typedef struct {
    char name[FCB_SUITE_NAME_MAX];
    char config[FCB_CONFIG_PATH_MAX];
    char sets[FCB_SUITE_SET_MAX];
    double ceiling; /* < 0: unknown */
} fcb_suite_scenario;

typedef struct {
    char name[FCB_SUITE_NAME_MAX];
    char sets[FCB_SUITE_SET_MAX];
    char family[FCB_SUITE_NAME_MAX]; /* settings compared on validation; "": the cell's policy.kind */
} fcb_suite_policy;

typedef struct {
    char path[FCB_CONFIG_PATH_MAX];
    int seeds;
    int num_scenarios;
    fcb_suite_scenario scenarios[FCB_SUITE_MAX_SCENARIOS];
    int num_policies;
    fcb_suite_policy policies[FCB_SUITE_MAX_POLICIES];
} fcb_suite;

/* Errors name the file, the line and the key. */
fcb_status fcb_suite_load(fcb_suite *suite, const char *path);

/* The config of one cell: the scenario's file, its overrides, the policy's
 * overrides, run.seed = seed and run.threads = 1. */
fcb_status fcb_suite_cell_config(const fcb_suite *suite, int scenario, int policy, int seed, fcb_config *config);

#endif
