/* fedcb: one binary, one subcommand per job. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_run.h"
#include "config.h"
#include "net_client.h"
#include "net_coordinator.h"
#include "ope_run.h"
#include "simulate.h"

static const char USAGE[] =
    "usage: fedcb <command> [options]\n"
    "\n"
    "commands:\n"
    "  simulate --config FILE [--set section.key=value]... [--out DIR] [--threads N]\n"
    "           run federated bandit rounds in one process; writes DIR/metrics.jsonl and\n"
    "           DIR/summary.json and prints a one-line result\n"
    "  coordinator --config FILE --listen HOST:PORT (--tls-dir DIR | --insecure)\n"
    "           [--state-dir DIR] [--out DIR] [--set section.key=value]... [--port-file FILE]\n"
    "           serve the same rounds to client processes over gRPC (mutual TLS unless\n"
    "           --insecure, which is accepted only on loopback); resumes from the newest\n"
    "           checkpoint in --state-dir\n"
    "  client   --config FILE --coordinator HOST:PORT --client-id N (--tls-dir DIR | --insecure)\n"
    "           [--set section.key=value]... [--give-up SECONDS]\n"
    "           one client process: pulls tasks, runs the client step, submits updates\n"
    "  bench    --suite FILE [--seeds N] [--out DIR] [--jobs N] [--check]\n"
    "           a grid of scenarios x policies x seeds (bench/suites/*.ini), in parallel and\n"
    "           resumable; writes DIR/results.csv, DIR/report.md and DIR/plots (default DIR:\n"
    "           out/bench); --check only loads every config of the grid\n"
    "  ope      --config FILE [--set section.key=value]... --log DIR --candidate KIND\n"
    "           [--candidate-set key=value]... [--model DIR] [--out FILE]\n"
    "           off-policy evaluation: IPS, SNIPS and doubly robust estimates (95% intervals)\n"
    "           of a candidate policy on DIR/model.bin (default: the log's own) from the\n"
    "           decisions a simulate run with run.log_interactions = true logged in DIR;\n"
    "           --config and --set must be the logging run's; --candidate-set sets the\n"
    "           candidate's [policy] keys (temperature, epsilon, igw_gamma, ...)\n"
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

/* --config FILE and --set section.key=value, shared by every command. */
typedef struct {
    const char *config_path;
    const char *sets[256];
    int num_sets;
} config_args;

/* 1 if argv[*i] was a config option (and consumes its value), 0 if not,
 * -1 on an error already reported. */
static int take_config_arg(config_args *ca, int argc, char **argv, int *i, const char *command)
{
    const char *arg = argv[*i];
    if (*i + 1 >= argc)
        return 0;
    if (strcmp(arg, "--config") == 0) {
        ca->config_path = argv[++*i];
        return 1;
    }
    if (strcmp(arg, "--set") == 0) {
        if (ca->num_sets == 256) {
            usage_error("%s: too many --set options", command);
            return -1;
        }
        ca->sets[ca->num_sets++] = argv[++*i];
        return 1;
    }
    return 0;
}

static int load_config(const config_args *ca, const char *command, fcb_config *config)
{
    if (!ca->config_path)
        return usage_error("%s: --config FILE is required", command);
    fcb_config_default(config);
    fcb_status st = fcb_config_load(config, ca->config_path);
    for (int i = 0; st == FCB_OK && i < ca->num_sets; i++)
        st = fcb_config_set(config, ca->sets[i]);
    if (st != FCB_OK) {
        fprintf(stderr, "fedcb: %s\n", fcb_last_error());
        return 1;
    }
    return 0;
}

static int command_coordinator(int argc, char **argv)
{
    config_args ca = {0};
    fcb_coordinator_options o = {0};
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        int has_value = i + 1 < argc;
        int taken = take_config_arg(&ca, argc, argv, &i, "coordinator");
        if (taken < 0)
            return 2;
        if (taken)
            continue;
        if (strcmp(arg, "--listen") == 0 && has_value)
            o.listen = argv[++i];
        else if (strcmp(arg, "--tls-dir") == 0 && has_value)
            o.tls_dir = argv[++i];
        else if (strcmp(arg, "--insecure") == 0)
            o.insecure = 1;
        else if (strcmp(arg, "--state-dir") == 0 && has_value)
            o.state_dir = argv[++i];
        else if (strcmp(arg, "--out") == 0 && has_value)
            o.out_dir = argv[++i];
        else if (strcmp(arg, "--port-file") == 0 && has_value)
            o.port_file = argv[++i];
        else
            return usage_error("coordinator: unknown or incomplete option '%s'", arg);
    }
    if (!o.listen)
        return usage_error("%s: --listen HOST:PORT is required", "coordinator");
    if (!o.tls_dir == !o.insecure)
        return usage_error("%s: give exactly one of --tls-dir DIR and --insecure", "coordinator");
    fcb_config config;
    int rc = load_config(&ca, "coordinator", &config);
    if (rc != 0)
        return rc;
    fcb_run_result result;
    fcb_status st = fcb_coordinator_run(&config, &o, &result);
    if (st != FCB_OK) {
        fprintf(stderr, "fedcb: coordinator: %s\n", fcb_last_error());
        return 1;
    }
    printf("policy=%s rounds=%d interactions=%ld avg_reward=%.4f test_accuracy=%.4f model_sha256=%s\n",
           config.policy, result.rounds, result.interactions, result.avg_reward, result.final_accuracy,
           result.model_sha256);
    return 0;
}

static int command_client(int argc, char **argv)
{
    config_args ca = {0};
    fcb_net_client_options o = {.client_id = -1, .give_up = 300.0};
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        int has_value = i + 1 < argc;
        int taken = take_config_arg(&ca, argc, argv, &i, "client");
        if (taken < 0)
            return 2;
        if (taken)
            continue;
        char *end = NULL;
        if (strcmp(arg, "--coordinator") == 0 && has_value) {
            o.coordinator = argv[++i];
        } else if (strcmp(arg, "--client-id") == 0 && has_value) {
            long id = strtol(argv[++i], &end, 10);
            if (end == argv[i] || *end != '\0' || id < 0 || id > 1000000000)
                return usage_error("client: --client-id '%s' is not a client number", argv[i]);
            o.client_id = (int)id;
        } else if (strcmp(arg, "--tls-dir") == 0 && has_value) {
            o.tls_dir = argv[++i];
        } else if (strcmp(arg, "--insecure") == 0) {
            o.insecure = 1;
        } else if (strcmp(arg, "--give-up") == 0 && has_value) {
            o.give_up = strtod(argv[++i], &end);
            if (end == argv[i] || *end != '\0' || !(o.give_up > 0.0))
                return usage_error("client: --give-up '%s' is not a positive number of seconds", argv[i]);
        } else {
            return usage_error("client: unknown or incomplete option '%s'", arg);
        }
    }
    if (!o.coordinator)
        return usage_error("%s: --coordinator HOST:PORT is required", "client");
    if (o.client_id < 0)
        return usage_error("%s: --client-id N is required", "client");
    if (!o.tls_dir == !o.insecure)
        return usage_error("%s: give exactly one of --tls-dir DIR and --insecure", "client");
    fcb_config config;
    int rc = load_config(&ca, "client", &config);
    if (rc != 0)
        return rc;
    fcb_status st = fcb_net_client_run(&config, &o);
    if (st != FCB_OK) {
        fprintf(stderr, "fedcb: %s\n", fcb_last_error());
        return 1;
    }
    return 0;
}

static int command_bench(int argc, char **argv)
{
    const char *suite_path = NULL;
    int check_only = 0;
    fcb_bench_options o = {.out_dir = "out/bench", .progress = isatty(STDERR_FILENO)};
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        int has_value = i + 1 < argc;
        if (strcmp(arg, "--suite") == 0 && has_value) {
            suite_path = argv[++i];
        } else if (strcmp(arg, "--out") == 0 && has_value) {
            o.out_dir = argv[++i];
        } else if (strcmp(arg, "--seeds") == 0 && has_value) {
            char *end = NULL;
            long n = strtol(argv[++i], &end, 10);
            if (end == argv[i] || *end != '\0' || n < 1 || n > 1000)
                return usage_error("bench: --seeds '%s' is not a count in [1, 1000]", argv[i]);
            o.seeds = (int)n;
        } else if (strcmp(arg, "--check") == 0) {
            check_only = 1;
        } else if (strcmp(arg, "--jobs") == 0 && has_value) {
            if (!parse_positive(argv[++i], &o.jobs))
                return usage_error("bench: --jobs '%s' is not a count in [1, 256]", argv[i]);
        } else {
            return usage_error("bench: unknown or incomplete option '%s'", arg);
        }
    }
    if (!suite_path)
        return usage_error("%s: --suite FILE is required", "bench");
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
    printf("cells=%d skipped=%d results=%s/results.csv report=%s/report.md\n", result.cells, result.skipped,
           o.out_dir, o.out_dir);
    return 0;
}

static int command_simulate(int argc, char **argv)
{
    config_args ca = {0};
    const char *out_dir = NULL;
    int threads = 0;
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        int has_value = i + 1 < argc;
        int taken = take_config_arg(&ca, argc, argv, &i, "simulate");
        if (taken < 0)
            return 2;
        if (taken)
            continue;
        if (strcmp(arg, "--out") == 0 && has_value) {
            out_dir = argv[++i];
        } else if (strcmp(arg, "--threads") == 0 && has_value) {
            if (!parse_positive(argv[++i], &threads))
                return usage_error("--threads: '%s' is not a thread count in [1, 256]", argv[i]);
        } else {
            return usage_error("simulate: unknown or incomplete option '%s'", arg);
        }
    }
    fcb_config config;
    int rc = load_config(&ca, "simulate", &config);
    if (rc != 0)
        return rc;
    if (threads > 0)
        config.threads = threads;
    fcb_simulate_options options = {.out_dir = out_dir, .progress = isatty(STDERR_FILENO)};
    fcb_simulate_result result;
    fcb_status st = fcb_simulate(&config, &options, &result);
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

static void print_estimate(const char *name, const fcb_ope_estimate *e)
{
    printf("  %-6s %.4f  [%.4f, %.4f]  (se %.4f)\n", name, e->value, e->lower, e->upper, e->std_error);
}

static int command_ope(int argc, char **argv)
{
    config_args ca = {0};
    fcb_ope_options o = {0};
    const char *candidate = NULL, *out_path = NULL;
    const char *candidate_sets[64];
    int num_candidate_sets = 0;
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        int has_value = i + 1 < argc;
        int taken = take_config_arg(&ca, argc, argv, &i, "ope");
        if (taken < 0)
            return 2;
        if (taken)
            continue;
        if (strcmp(arg, "--log") == 0 && has_value)
            o.log_dir = argv[++i];
        else if (strcmp(arg, "--model") == 0 && has_value)
            o.model_dir = argv[++i];
        else if (strcmp(arg, "--candidate") == 0 && has_value)
            candidate = argv[++i];
        else if (strcmp(arg, "--candidate-set") == 0 && has_value && num_candidate_sets < 64)
            candidate_sets[num_candidate_sets++] = argv[++i];
        else if (strcmp(arg, "--out") == 0 && has_value)
            out_path = argv[++i];
        else
            return usage_error("ope: unknown or incomplete option '%s'", arg);
    }
    if (!o.log_dir)
        return usage_error("%s: --log DIR is required", "ope");
    if (!candidate)
        return usage_error("%s: --candidate KIND is required", "ope");
    fcb_config config, candidate_config;
    int rc = load_config(&ca, "ope", &config);
    if (rc != 0)
        return rc;
    candidate_config = config;
    char assignment[FCB_CONFIG_PATH_MAX];
    snprintf(assignment, sizeof assignment, "policy.kind=%s", candidate);
    fcb_status st = fcb_config_set(&candidate_config, assignment);
    for (int i = 0; st == FCB_OK && i < num_candidate_sets; i++) {
        snprintf(assignment, sizeof assignment, "policy.%s", candidate_sets[i]);
        st = fcb_config_set(&candidate_config, assignment);
    }
    if (st != FCB_OK) {
        fprintf(stderr, "fedcb: ope: candidate: %s\n", fcb_last_error());
        return 1;
    }
    o.config = &config;
    o.candidate_config = &candidate_config;
    fcb_ope_report report;
    st = fcb_ope_run(&o, &report);
    json_t *j = st == FCB_OK ? fcb_ope_report_json(&o, &report) : NULL;
    if (st == FCB_OK && out_path && json_dump_file(j, out_path, JSON_INDENT(2)) != 0)
        st = fcb_fail(FCB_ERR_IO, "cannot write %s", out_path);
    json_decref(j);
    if (st != FCB_OK) {
        fprintf(stderr, "fedcb: ope: %s\n", fcb_last_error());
        return 1;
    }
    printf("candidate %s on %ld logged interactions (logger's mean reward %.4f)\n",
           fcb_policy_kind_name(report.candidate.kind), report.interactions, report.logged_value);
    print_estimate("IPS", &report.estimates.ips);
    print_estimate("SNIPS", &report.estimates.snips);
    print_estimate("DR", &report.estimates.dr);
    printf("  true value on these contexts (simulator): %.4f\n", report.true_value);
    printf("  max weight %.1f, effective samples %.0f of %ld\n", report.estimates.max_weight,
           report.estimates.effective_samples, report.interactions);
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
    if (strcmp(command, "bench") == 0)
        return command_bench(argc, argv);
    if (strcmp(command, "coordinator") == 0)
        return command_coordinator(argc, argv);
    if (strcmp(command, "ope") == 0)
        return command_ope(argc, argv);
    if (strcmp(command, "client") == 0)
        return command_client(argc, argv);
    return usage_error("unknown command '%s'", command);
}
