#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_run.h"
#include "cli_args.h"
#include "commands.h"

int fcb_command_bench(int argc, char **argv)
{
    const char *command = "bench";
    const char *suite_path = NULL;
    int check_only = 0;
    long value = 0;
    fcb_bench_options o = {.out_dir = "out/bench", .progress = isatty(STDERR_FILENO)};
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        int has_value = i + 1 < argc;
        if (strcmp(arg, "--suite") == 0 && has_value) {
            suite_path = argv[++i];
        } else if (strcmp(arg, "--out") == 0 && has_value) {
            o.out_dir = argv[++i];
        } else if (strcmp(arg, "--seeds") == 0 && has_value) {
            if (!fcb_arg_int(argv[++i], 1, 1000, &value))
                return fcb_usage_error(command, "--seeds '%s' is not a count in [1, 1000]", argv[i]);
            o.seeds = (int)value;
        } else if (strcmp(arg, "--check") == 0) {
            check_only = 1;
        } else if (strcmp(arg, "--jobs") == 0 && has_value) {
            if (!fcb_arg_int(argv[++i], 1, 256, &value))
                return fcb_usage_error(command, "--jobs '%s' is not a count in [1, 256]", argv[i]);
            o.jobs = (int)value;
        } else {
            return fcb_usage_error(command, "unknown or incomplete option '%s'", arg);
        }
    }
    if (!suite_path)
        return fcb_usage_error(command, "--suite FILE is required");
    fcb_suite *suite = malloc(sizeof *suite);
    if (!suite) {
        fprintf(stderr, "fedcb: out of memory\n");
        return 1;
    }
    fcb_bench_result result;
    fcb_status st = fcb_suite_load(suite, suite_path);
    if (st == FCB_OK && check_only) {
        st = fcb_bench_check(suite);
        if (st == FCB_OK)
            printf("suite %s: %d scenarios x %d policies x %d seeds: every config loads\n", suite_path,
                   suite->num_scenarios, suite->num_policies, o.seeds > 0 ? o.seeds : suite->seeds);
        free(suite);
        if (st != FCB_OK)
            fprintf(stderr, "fedcb: %s\n", fcb_last_error());
        return st == FCB_OK ? 0 : 1;
    }
    if (st == FCB_OK)
        st = fcb_bench_run(suite, &o, &result);
    free(suite);
    if (st != FCB_OK) {
        fprintf(stderr, "fedcb: %s\n", fcb_last_error());
        return 1;
    }
    printf("cells=%d skipped=%d results=%s/results.csv report=%s/report.md\n", result.cells, result.skipped, o.out_dir,
           o.out_dir);
    return 0;
}
