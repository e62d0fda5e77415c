#include "cli_args.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_file.h"

typedef struct {
    const char *name;
    const char *usage;
} command_usage;

static const command_usage COMMANDS[] = {
    {"simulate",
     "simulate --config FILE [--set section.key=value]... [--out DIR] [--threads N]\n"
     "      run federated bandit rounds over the simulated world in one process; writes\n"
     "      DIR/metrics.jsonl, DIR/summary.json and DIR/model.bin and prints a one-line result\n"},
    {"coordinator",
     "coordinator --config FILE --listen HOST:PORT (--tls-dir DIR | --insecure)\n"
     "      [--state-dir DIR] [--out DIR] [--set section.key=value]... [--port-file FILE]\n"
     "      [--eval-data FILE]\n"
     "      serve the rounds to client processes over gRPC, mutual TLS unless --insecure\n"
     "      (accepted only on loopback). network.mode = real: the clients bring their own data,\n"
     "      the coordinator needs none (the model is [model] input_dim, num_actions, arch,\n"
     "      and model.init may name a model.bin to start from); --eval-data names an optional\n"
     "      labelled file to report test accuracy on. network.mode = simulated (default):\n"
     "      every process shares the config's simulated world, and the run equals\n"
     "      `fedcb simulate` byte for byte. Resumes from the newest checkpoint in --state-dir,\n"
     "      which it keeps locked; writes DIR/metrics.jsonl, summary.json and model.bin\n"},
    {"client",
     "client --coordinator HOST:PORT --client-id N (--tls-dir DIR | --insecure)\n"
     "      (--data FILE [--data-format auto|cb|vw|libsvm] | --config FILE [--set section.key=value]...)\n"
     "      [--give-up SECONDS]\n"
     "      one client process. With --data (or [client] data in a --config) it trains on its\n"
     "      own file only and gets the model and plan from the coordinator: a Vowpal Wabbit\n"
     "      contextual-bandit log (action:cost:probability | features) is replayed, a labelled\n"
     "      LibSVM or VW multiclass file becomes a stream of simulated users; a --config then\n"
     "      only supplies [client] and network.poll_ms. Without data it is client N of the\n"
     "      --config's simulated world. Gives up after --give-up seconds (default 300) without\n"
     "      reaching the coordinator\n"},
    {"bench",
     "bench --suite FILE [--seeds N] [--out DIR] [--jobs N] [--check]\n"
     "      a grid of scenarios x policies x seeds (bench/suites/*.ini), in parallel and\n"
     "      resumable; writes DIR/results.csv, DIR/report.md and DIR/plots (default DIR:\n"
     "      out/bench); --check only loads every config of the grid\n"},
    {"ope",
     "ope --config FILE [--set section.key=value]... (--log DIR | --vw-log FILE) --candidate KIND\n"
     "      [--candidate-set key=value]... [--model PATH] [--out FILE]\n"
     "      off-policy evaluation: IPS, SNIPS and doubly robust estimates (95% intervals) of a\n"
     "      candidate policy on a model. --log DIR: the decisions a simulate run with\n"
     "      run.log_interactions = true logged in DIR (--config and --set must be that run's;\n"
     "      --model PATH is a run directory, by default DIR, whose model.bin is evaluated).\n"
     "      --vw-log FILE: a Vowpal Wabbit contextual-bandit log (action:cost:probability |\n"
     "      features) with its contexts; --model PATH is the model file itself, and [model]\n"
     "      input_dim, num_actions and arch give its shape. --candidate-set sets the\n"
     "      candidate's [policy] keys (temperature, epsilon, igw_gamma, ...)\n"},
    {"pretrain",
     "pretrain --config FILE [--set section.key=value]... --out FILE\n"
     "      supervised pretraining of the config's scenario (init or init-shift) on the data\n"
     "      the operator may use; writes the model's parameters to FILE (raw floats, the\n"
     "      format of model.bin) for a coordinator's model.init\n"},
    {"evaluate",
     "evaluate --model FILE --data FILE [--config FILE] [--set section.key=value]...\n"
     "      [--data-format auto|vw|libsvm]\n"
     "      test accuracy of a model.bin on a labelled LibSVM or VW multiclass file; the\n"
     "      model's shape comes from [model] (input_dim and num_actions default to the data's)\n"},
    {"partition",
     "partition --config FILE [--set section.key=value]... --out DIR\n"
     "      writes the simulated world's data as each bandit client would hold it, one VW\n"
     "      multiclass file per client (DIR/client-N.vw), and its test set (DIR/test.vw),\n"
     "      for trying a deployment where every client owns its data\n"},
    {"version", "version\n      print the version\n"},
    {"help", "help [COMMAND]\n      this text, or one command's\n"},
};

enum { NUM_COMMANDS = sizeof COMMANDS / sizeof COMMANDS[0] };

const char *fcb_command_usage(const char *command)
{
    for (int i = 0; i < NUM_COMMANDS; i++)
        if (strcmp(COMMANDS[i].name, command) == 0)
            return COMMANDS[i].usage;
    return NULL;
}

void fcb_print_usage(void)
{
    fputs("usage: fedcb <command> [options]\n\ncommands:\n", stdout);
    for (int i = 0; i < NUM_COMMANDS; i++)
        printf("  %s\n", COMMANDS[i].usage);
    fputs("Example configs: simulations/configs/*.ini in the source tree (share/fedcb/configs when\n"
          "installed); every key is documented in docs/config.md, deployments in docs/deploy.md\n"
          "(share/doc/fedcb), and `man fedcb` has it all.\n",
          stdout);
}

int fcb_usage_error(const char *command, const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    fprintf(stderr, "fedcb: %s: %s (run `fedcb %s --help` for usage)\n", command, message, command);
    return 2;
}

int fcb_wants_help(int argc, char **argv)
{
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

int fcb_print_command_help(const char *command)
{
    printf("usage: fedcb %s", fcb_command_usage(command));
    return 0;
}

int fcb_take_config_arg(fcb_config_args *ca, int argc, char **argv, int *i, const char *command)
{
    const char *arg = argv[*i];
    int is_config = strcmp(arg, "--config") == 0, is_set = strcmp(arg, "--set") == 0;
    if (!is_config && !is_set)
        return 0;
    if (*i + 1 >= argc)
        return fcb_usage_error(command, "%s needs a value", arg);
    if (is_config) {
        ca->config_path = argv[++*i];
        return 1;
    }
    if (ca->num_sets == FCB_MAX_SETS)
        return fcb_usage_error(command, "more than %d --set options", FCB_MAX_SETS);
    ca->sets[ca->num_sets++] = argv[++*i];
    return 1;
}

int fcb_parse_value_options(int argc, char **argv, const char *command, fcb_config_args *ca,
                            const fcb_value_option *options, int count)
{
    for (int i = 2; i < argc; i++) {
        int taken = fcb_take_config_arg(ca, argc, argv, &i, command);
        if (taken == 2)
            return 2;
        for (int o = 0; !taken && o < count; o++)
            if (strcmp(argv[i], options[o].flag) == 0 && i + 1 < argc) {
                *options[o].value = argv[++i];
                taken = 1;
            }
        if (!taken)
            return fcb_usage_error(command, "unknown or incomplete option '%s'", argv[i]);
    }
    return 0;
}

int fcb_parse_config_out(int argc, char **argv, const char *command, const char *out_what, fcb_config *config,
                         const char **out)
{
    fcb_config_args ca = {0};
    *out = NULL;
    fcb_value_option options[] = {{"--out", out}};
    int rc = fcb_parse_value_options(argc, argv, command, &ca, options, 1);
    if (rc == 0 && !*out)
        rc = fcb_usage_error(command, "--out %s is required", out_what);
    if (rc == 0)
        rc = fcb_load_config(&ca, command, 0, config);
    if (rc == 0 && fcb_config_validate(config) != FCB_OK) {
        fprintf(stderr, "fedcb: %s: %s\n", command, fcb_last_error());
        rc = 1;
    }
    return rc;
}

int fcb_load_config(const fcb_config_args *ca, const char *command, int optional, fcb_config *config)
{
    if (!ca->config_path && !optional)
        return fcb_usage_error(command, "--config FILE is required");
    fcb_config_default(config);
    fcb_status st = ca->config_path ? fcb_config_load(config, ca->config_path) : FCB_OK;
    for (int i = 0; st == FCB_OK && i < ca->num_sets; i++)
        st = fcb_config_set(config, ca->sets[i]);
    if (st != FCB_OK) {
        fprintf(stderr, "fedcb: %s: %s\n", command, fcb_last_error());
        return 1;
    }
    return 0;
}

int fcb_arg_int(const char *text, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno != 0 || v < min || v > max)
        return 0;
    *out = v;
    return 1;
}

int fcb_arg_seconds(const char *text, double *out)
{
    char *end = NULL;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || !isfinite(v) || !(v > 0.0))
        return 0;
    *out = v;
    return 1;
}
