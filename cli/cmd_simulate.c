#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli_args.h"
#include "commands.h"
#include "simulate.h"

int fcb_command_simulate(int argc, char **argv)
{
    const char *command = "simulate";
    fcb_config_args ca = {0};
    const char *out_dir = NULL;
    long threads = 0;
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        int has_value = i + 1 < argc;
        int taken = fcb_take_config_arg(&ca, argc, argv, &i, command);
        if (taken == 2)
            return 2;
        if (taken)
            continue;
        if (strcmp(arg, "--out") == 0 && has_value) {
            out_dir = argv[++i];
        } else if (strcmp(arg, "--threads") == 0 && has_value) {
            if (!fcb_arg_int(argv[++i], 1, 256, &threads))
                return fcb_usage_error(command, "--threads: '%s' is not a thread count in [1, 256]", argv[i]);
        } else {
            return fcb_usage_error(command, "unknown or incomplete option '%s'", arg);
        }
    }
    fcb_config config;
    int rc = fcb_load_config(&ca, command, 0, &config);
    if (rc != 0)
        return rc;
    if (threads > 0)
        config.threads = (int)threads;
    fcb_simulate_options options = {.out_dir = out_dir, .progress = isatty(STDERR_FILENO)};
    fcb_simulate_result result;
    fcb_status st = fcb_simulate(&config, &options, &result);
    if (st != FCB_OK) {
        fprintf(stderr, "fedcb: %s\n", fcb_last_error());
        return 1;
    }
    printf("policy=%s rounds=%d interactions=%ld passes=%.2f avg_reward=%.4f test_accuracy=%.4f", config.policy,
           result.rounds, result.interactions, result.passes, result.avg_reward, result.final_accuracy);
    if (result.pretrain_accuracy >= 0.0)
        printf(" pretrain_accuracy=%.4f", result.pretrain_accuracy);
    if (result.final_val_accuracy >= 0.0)
        printf(" val_accuracy=%.4f", result.final_val_accuracy);
    printf(" seconds=%.2f model_sha256=%s\n", result.seconds, result.model_sha256);
    return 0;
}
