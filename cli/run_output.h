#ifndef FEDCB_RUN_OUTPUT_H
#define FEDCB_RUN_OUTPUT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "config_file.h"
#include "sha256.h"
#include "status.h"

/* The result files of a run in --out DIR: metrics.jsonl (one JSON object per
 * round) and summary.json (written atomically at the end). The coordinator
 * flushes every line as it is written, since its checkpoints count them;
 * simulate writes through a 64 KiB buffer and flushes before the summary. */
typedef struct {
    char dir[FCB_CONFIG_PATH_MAX];
    FILE *metrics;
    int flush_each_round;
} fcb_run_output;

/* Creates dir and its missing parents (like mkdir -p). */
fcb_status fcb_make_dirs(const char *dir);

/* Creates dir (and parents) and truncates dir/metrics.jsonl. */
fcb_status fcb_run_output_open(fcb_run_output *out, const char *dir);
/* Reopens dir/metrics.jsonl after a restart keeping its first keep_rounds
 * lines (the rounds a checkpoint covers), then appends. */
fcb_status fcb_run_output_resume(fcb_run_output *out, const char *dir, int keep_rounds);
/* Appends one line (text ending in '\n'), e.g. from fcb_round_line. */
fcb_status fcb_run_output_round(fcb_run_output *out, const char *text, size_t length);
/* Writes out what is buffered; the error names metrics.jsonl. */
fcb_status fcb_run_output_flush(fcb_run_output *out);
/* Writes dir/summary.json via a temporary file and rename. */
fcb_status fcb_run_output_summary(fcb_run_output *out, const json_t *summary);
/* Writes dir/model.bin: the parameter vector's raw float bytes (the bytes
 * summary.json's model_sha256 covers), via a temporary file and rename. */
fcb_status fcb_run_output_model(fcb_run_output *out, const float *params, size_t num_params);
void fcb_run_output_close(fcb_run_output *out);

/* The resolved config as {"section": {"key": "value", ...}, ...}. */
json_t *fcb_config_to_json(const fcb_config *config);

#endif
