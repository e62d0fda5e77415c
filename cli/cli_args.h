#ifndef FEDCB_CLI_ARGS_H
#define FEDCB_CLI_ARGS_H

#include "config.h"

/* What every fedcb command shares: its usage text, refusing bad arguments
 * with one line, `--help`, and --config FILE with --set section.key=value. */

/* The usage of one command ("simulate", ...), or NULL if unknown. */
const char *fcb_command_usage(const char *command);

/* Prints the whole program's usage to stdout. */
void fcb_print_usage(void);

/* "fedcb: COMMAND: <message> (run `fedcb COMMAND --help` for usage)" on
 * stderr; returns the exit status 2. */
int fcb_usage_error(const char *command, const char *fmt, ...) FCB_PRINTF(2, 3);

/* 1 if an argument after the command is --help or -h. */
int fcb_wants_help(int argc, char **argv);

/* Prints the command's usage; returns 0 (the exit status). */
int fcb_print_command_help(const char *command);

enum { FCB_MAX_SETS = 256 };

typedef struct {
    const char *config_path;
    const char *sets[FCB_MAX_SETS];
    int num_sets;
} fcb_config_args;

/* 1 if argv[*i] was --config or --set (its value consumed), 0 if not, 2 on
 * an error already reported (the exit status). */
int fcb_take_config_arg(fcb_config_args *ca, int argc, char **argv, int *i, const char *command);

/* Defaults, then the file (when given; required unless optional), then the
 * --set overrides. 0, or the exit status after a one-line message. */
int fcb_load_config(const fcb_config_args *ca, const char *command, int optional, fcb_config *config);

/* An option that takes one value: `flag VALUE` stores VALUE in *value. */
typedef struct {
    const char *flag;
    const char **value;
} fcb_value_option;

/* Parses --config/--set and the given value options; anything else is a
 * usage error. 0, or the exit status after a one-line message. */
int fcb_parse_value_options(int argc, char **argv, const char *command, fcb_config_args *ca,
                            const fcb_value_option *options, int count);

/* Commands of the form `--config FILE [--set ...] --out PATH`: parses,
 * loads and validates the config. 0, or the exit status after a one-line
 * message. out_what names PATH in the usage error ("DIR", "FILE"). */
int fcb_parse_config_out(int argc, char **argv, const char *command, const char *out_what, fcb_config *config,
                         const char **out);

/* A whole number in [min, max]; 0 on anything else. */
int fcb_arg_int(const char *text, long min, long max, long *out);

/* A finite number > 0; 0 on anything else. */
int fcb_arg_seconds(const char *text, double *out);

#endif
