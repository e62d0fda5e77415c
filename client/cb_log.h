#ifndef FEDCB_CB_LOG_H
#define FEDCB_CB_LOG_H

#include <zlib.h>

#include "status.h"

/* A client's logged bandit decisions in Vowpal Wabbit's contextual-bandit
 * (--cb) text format, one decision a line:
 *
 *   action:cost:probability | features
 *   action:cost:probability |ns1 name:value ... |ns2 ...
 *
 * action is 1..K in the file and 0-based in memory; probability is the
 * logging policy's p(action | x), in (0, 1]. The reward is 1 - cost: costs
 * are usually 0 (click) or 1 (no click), rewards then 1 and 0. Any finite
 * cost is accepted as long as its reward is a finite float. Features follow
 * fcb_vw_parse_features (text_reader.h): a numeric name is a 1-based column,
 * any other name is hashed into dim columns, repeated columns add.
 *
 * Blank lines and '#' comment lines are skipped. A line with nothing before
 * its first '|' is an unlabelled example: it is counted, not loaded. A line
 * carries exactly one labelled action; VW's lists of further actions
 * ("1:0:0.25 2 3 | ...") and tags are refused. Files may be gzip-compressed. */

typedef struct {
    int n;               /* labelled examples loaded */
    int dim;
    float *x;            /* n x dim, row-major */
    int *actions;        /* 0-based */
    float *propensities; /* in (0, 1] */
    float *rewards;      /* 1 - cost */
    int skipped_unlabelled;
} fcb_cb_log;

/* dim and num_actions (both > 0) come from the model the coordinator sent.
 * A malformed line (no '|', a bad number, an action outside 1..num_actions,
 * a column beyond dim, a probability outside (0, 1]) fails with
 * "path:line: what"; so does a file without labelled examples. On failure
 * *log is left empty. */
fcb_status fcb_cb_log_load(const char *path, int dim, int num_actions, fcb_cb_log *log);
void fcb_cb_log_free(fcb_cb_log *log);

typedef struct {
    gzFile file;
    int lines;
    char path[1024];
} fcb_cb_log_writer;

/* Creates path: gzip-compressed when it ends in ".gz", plain text otherwise. */
fcb_status fcb_cb_log_writer_open(fcb_cb_log_writer *w, const char *path);
/* Appends one decision: the 0-based action, its reward, the probability
 * the logging policy gave it and the dim features x, of which the non-zero
 * ones are written as "column:value". fcb_cb_log_load gives every value
 * back bit for bit, except that a -0 feature or reward comes back as 0.
 * Refuses (FCB_ERR_ARG) an action < 0, a probability outside (0, 1],
 * non-finite values and a reward that no cost gives back exactly (only
 * possible for 0 < |reward| < 2^-29, e.g. 1e-12). After FCB_ERR_IO the
 * file may end in a partial line. */
fcb_status fcb_cb_log_writer_add(fcb_cb_log_writer *w, int action, float reward, float probability,
                                 const float *x, int dim);
/* Flushes and closes; reports a failed write. Safe on an unopened writer
 * and after a failed add. */
fcb_status fcb_cb_log_writer_close(fcb_cb_log_writer *w);

#endif
