#ifndef FEDCB_LOG_SOURCE_H
#define FEDCB_LOG_SOURCE_H

#include "cb_log.h"
#include "data_source.h"

/* A client's own log of past decisions (VW contextual-bandit text) as its
 * data source: each round the client is sampled in, it trains on the next
 * examples_per_round logged decisions, in file order, starting over at the
 * end of the file. The decisions are the logger's, so the client replays
 * them (action, propensity, reward) instead of deciding. */
typedef struct {
    fcb_cb_log log;
    int examples_per_round;
    int next;   /* first row of the next round */
} fcb_log_source;

fcb_status fcb_log_source_open(fcb_log_source *s, const char *path, int dim, int num_actions,
                               int examples_per_round);
void fcb_log_source_close(fcb_log_source *s);
fcb_data_source fcb_log_source_as_data_source(fcb_log_source *s);

#endif
