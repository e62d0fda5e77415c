#include <stdio.h>
#include <string.h>

#include "cli_args.h"
#include "commands.h"
#include "config_file.h"
#include "ope_run.h"
#include "output_file.h"

static void print_estimate(const char *name, const fcb_ope_estimate *e)
{
    printf("  %-6s %.4f  [%.4f, %.4f]  (se %.4f)\n", name, e->value, e->lower, e->upper, e->std_error);
}

static void print_report(const fcb_ope_report *report)
{
    printf("candidate %s on %ld logged interactions (logger's mean reward %.4f)\n",
           fcb_policy_kind_name(report->candidate.kind), report->interactions, report->logged_value);
    print_estimate("IPS", &report->estimates.ips);
    print_estimate("SNIPS", &report->estimates.snips);
    print_estimate("DR", &report->estimates.dr);
    if (report->has_true_value)
        printf("  true value on these contexts (simulator): %.4f\n", report->true_value);
    printf("  max weight %.1f, effective samples %.0f of %ld\n", report->estimates.max_weight,
           report->estimates.effective_samples, report->interactions);
}

/* The candidate's config: the logging run's with policy.kind and the
 * --candidate-set keys of [policy]. */
static fcb_status write_report_file(const json_t *j, const char *path)
{
    fcb_output_file out;
    fcb_status st = fcb_output_open(&out, path, "w");
    if (st != FCB_OK)
        return st;
    json_dumpf(j, out.f, JSON_INDENT(2));
    return fcb_output_commit(&out);
}

static int candidate_config(const fcb_config *config, const char *candidate, const char *const *sets, int n,
                            fcb_config *out)
{
    *out = *config;
    char assignment[FCB_CONFIG_PATH_MAX];
    snprintf(assignment, sizeof assignment, "policy.kind=%s", candidate);
    fcb_status st = fcb_config_set(out, assignment);
    for (int i = 0; st == FCB_OK && i < n; i++) {
        snprintf(assignment, sizeof assignment, "policy.%s", sets[i]);
        st = fcb_config_set(out, assignment);
    }
    if (st != FCB_OK) {
        fprintf(stderr, "fedcb: ope: candidate: %s\n", fcb_last_error());
        return 1;
    }
    return 0;
}

int fcb_command_ope(int argc, char **argv)
{
    const char *command = "ope";
    fcb_config_args ca = {0};
    fcb_ope_options o = {0};
    const char *candidate = NULL, *out_path = NULL;
    const char *candidate_sets[64];
    int num_candidate_sets = 0;
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        int has_value = i + 1 < argc;
        int taken = fcb_take_config_arg(&ca, argc, argv, &i, command);
        if (taken == 2)
            return 2;
        if (taken)
            continue;
        if (strcmp(arg, "--log") == 0 && has_value)
            o.log_dir = argv[++i];
        else if (strcmp(arg, "--vw-log") == 0 && has_value)
            o.vw_log = argv[++i];
        else if (strcmp(arg, "--model") == 0 && has_value)
            o.model_dir = argv[++i];
        else if (strcmp(arg, "--candidate") == 0 && has_value)
            candidate = argv[++i];
        else if (strcmp(arg, "--candidate-set") == 0 && has_value && num_candidate_sets == 64)
            return fcb_usage_error(command, "more than 64 --candidate-set options");
        else if (strcmp(arg, "--candidate-set") == 0 && has_value)
            candidate_sets[num_candidate_sets++] = argv[++i];
        else if (strcmp(arg, "--out") == 0 && has_value)
            out_path = argv[++i];
        else
            return fcb_usage_error(command, "unknown or incomplete option '%s'", arg);
    }
    if (!o.log_dir == !o.vw_log)
        return fcb_usage_error(command, "give exactly one of --log DIR and --vw-log FILE");
    if (o.vw_log && !o.model_dir)
        return fcb_usage_error(command, "--vw-log needs --model PATH, the model file to evaluate");
    if (!candidate)
        return fcb_usage_error(command, "--candidate KIND is required");
    fcb_config config, candidate_cfg;
    int rc = fcb_load_config(&ca, command, 0, &config);
    if (rc == 0)
        rc = candidate_config(&config, candidate, candidate_sets, num_candidate_sets, &candidate_cfg);
    if (rc != 0)
        return rc;
    o.config = &config;
    o.candidate_config = &candidate_cfg;
    fcb_ope_report report;
    fcb_status st = fcb_ope_run(&o, &report);
    json_t *j = st == FCB_OK ? fcb_ope_report_json(&o, &report) : NULL;
    if (st == FCB_OK && out_path)
        st = write_report_file(j, out_path);
    json_decref(j);
    if (st != FCB_OK) {
        fprintf(stderr, "fedcb: ope: %s\n", fcb_last_error());
        return 1;
    }
    print_report(&report);
    return 0;
}
