/* fedcb: one binary, one subcommand per job. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "simulate.h"

static const char USAGE[] =
    "usage: fedcb <command> [options]\n"
    "\n"
    "commands:\n"
    "  simulate --config FILE [--set section.key=value]... [--out DIR] [--threads N]\n"
    "           run federated bandit rounds in one process; writes DIR/metrics.jsonl and\n"
    "           DIR/summary.json and prints a one-line result\n"
    "  version  print the version\n"
    "  help     this text\n"
    "\n"
    "Configs: simulations/configs/*.ini; every key is documented in docs/config.md.\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "fedcb: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (run `fedcb help` for usage)\n");
    return 2;
}

static int parse_positive(const char *text, int *out)
{
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || v < 1 || v > 256)
        return 0;
    *out = (int)v;
    return 1;
}

static int command_simulate(int argc, char **argv)
{
    const char *config_path = NULL;
    const char *out_dir = NULL;
    int threads = 0;
    const char *sets[256];
    int num_sets = 0;
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        int has_value = i + 1 < argc;
        if (strcmp(arg, "--config") == 0 && has_value) {
            config_path = argv[++i];
        } else if (strcmp(arg, "--out") == 0 && has_value) {
            out_dir = argv[++i];
        } else if (strcmp(arg, "--threads") == 0 && has_value) {
            if (!parse_positive(argv[++i], &threads))
                return usage_error("--threads: '%s' is not a thread count in [1, 256]", argv[i]);
        } else if (strcmp(arg, "--set") == 0 && has_value) {
            if (num_sets == 256)
                return usage_error("%s: too many --set options", "simulate");
            sets[num_sets++] = argv[++i];
        } else {
            return usage_error("simulate: unknown or incomplete option '%s'", arg);
        }
    }
    if (!config_path)
        return usage_error("%s: --config FILE is required", "simulate");
    fcb_config config;
    fcb_config_default(&config);
    fcb_status st = fcb_config_load(&config, config_path);
    for (int i = 0; st == FCB_OK && i < num_sets; i++)
        st = fcb_config_set(&config, sets[i]);
    if (st == FCB_OK && threads > 0)
        config.threads = threads;
    if (st != FCB_OK) {
        fprintf(stderr, "fedcb: %s\n", fcb_last_error());
        return 1;
    }
    fcb_simulate_options options = {.out_dir = out_dir, .progress = isatty(STDERR_FILENO)};
    fcb_simulate_result result;
    st = fcb_simulate(&config, &options, &result);
    if (st != FCB_OK) {
        fprintf(stderr, "fedcb: %s\n", fcb_last_error());
        return 1;
    }
    printf("policy=%s rounds=%d interactions=%ld passes=%.2f avg_reward=%.4f test_accuracy=%.4f",
           config.policy, result.rounds, result.interactions, result.passes, result.avg_reward,
           result.final_accuracy);
    if (result.pretrain_accuracy >= 0.0)
        printf(" pretrain_accuracy=%.4f", result.pretrain_accuracy);
    printf(" seconds=%.2f model_sha256=%s\n", result.seconds, result.model_sha256);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("%s", "missing command");
    const char *command = argv[1];
    if (strcmp(command, "version") == 0 || strcmp(command, "--version") == 0) {
        printf("fedcb %s\n", FEDCB_VERSION);
        return 0;
    }
    if (strcmp(command, "help") == 0 || strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (strcmp(command, "simulate") == 0)
        return command_simulate(argc, argv);
    return usage_error("unknown command '%s'", command);
}
