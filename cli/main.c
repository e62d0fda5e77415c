/* fedcb: one binary, one subcommand per job. */
#include <stdio.h>
#include <string.h>

#include "cli_args.h"
#include "commands.h"
#include "process.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    int polls_stop; /* 1: SIGINT/SIGTERM request a clean stop it polls; 0: they end the process */
} command;

static const command COMMANDS[] = {
    {"simulate", fcb_command_simulate, 0}, {"coordinator", fcb_command_coordinator, 1},
    {"client", fcb_command_client, 1},     {"bench", fcb_command_bench, 0},
    {"ope", fcb_command_ope, 0},           {"pretrain", fcb_command_pretrain, 0},
    {"evaluate", fcb_command_evaluate, 0}, {"partition", fcb_command_partition, 0},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "fedcb: missing command (run `fedcb help` for usage)\n");
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "version") == 0 || strcmp(name, "--version") == 0) {
        printf("fedcb %s\n", FEDCB_VERSION);
        return 0;
    }
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        if (argc > 2 && fcb_command_usage(argv[2]))
            return fcb_print_command_help(argv[2]);
        if (argc > 2) {
            fprintf(stderr, "fedcb: help: unknown command '%s' (run `fedcb help` for the list)\n", argv[2]);
            return 2;
        }
        fcb_print_usage();
        return 0;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++) {
        if (strcmp(name, COMMANDS[i].name) != 0)
            continue;
        if (fcb_wants_help(argc, argv))
            return fcb_print_command_help(name);
        fcb_process_setup(COMMANDS[i].polls_stop);
        return COMMANDS[i].run(argc, argv);
    }
    fprintf(stderr, "fedcb: unknown command '%s' (run `fedcb help` for usage)\n", name);
    return 2;
}
