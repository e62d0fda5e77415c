#ifndef FEDCB_INTERACTION_LOG_H
#define FEDCB_INTERACTION_LOG_H

#include <zlib.h>

#include "status.h"

/* The decisions a run logged, for off-policy evaluation: one CSV row per
 * decision, gzip-compressed,
 *   round,client,row,action,propensity,reward
 * with round 1-based, row the index of the context in that client's round
 * data (fcb_round_data_fill recreates the contexts from the config), the
 * action taken, its logging propensity p(a|x) and the observed reward. */

typedef struct {
    int round; /* 1-based */
    int client;
    int row;
    int action;
    float propensity;
    float reward;
} fcb_interaction;

typedef struct {
    gzFile file;
    long rows;
    char path[1024];
} fcb_interaction_writer;

fcb_status fcb_interaction_writer_open(fcb_interaction_writer *w, const char *path);
/* Appends n decisions of client `client` in 0-based round `round`. */
fcb_status fcb_interaction_writer_add(fcb_interaction_writer *w, int round, int client, const int *actions,
                                      const float *propensities, const float *rewards, int n);
/* Flushes and closes; reports a failed write. Safe on an unopened writer. */
fcb_status fcb_interaction_writer_close(fcb_interaction_writer *w);

typedef struct {
    fcb_interaction *rows;
    long n;
} fcb_interaction_log;

/* Reads and checks a log: the header, six fields per line, round >= 1,
 * client, row and action >= 0 with action < num_actions, propensity in
 * (0, 1], a finite reward. Errors name the file and line. */
fcb_status fcb_interaction_log_read(const char *path, int num_actions, fcb_interaction_log *log);
void fcb_interaction_log_free(fcb_interaction_log *log);

#endif
