#ifndef FEDCB_SIM_SOURCE_H
#define FEDCB_SIM_SOURCE_H

#include "config.h"
#include "data_source.h"
#include "pairwise_feedback.h"
#include "world.h"

/* The simulated world as a client's data source: the contexts a client sees
 * in one round (up to examples_per_round of its own rows, drawn without
 * replacement with the drift schedule's class weights by
 * Efraimidis-Spirakis keys, feature-skewed per client, labelled as they are
 * at that round), the environment's implicit feedback, the true rewards and
 * a simulated user's Bradley-Terry preferences. Stateless across rounds: a
 * draw depends only on (seed, client, round). One per worker thread. */

struct fcb_keyed_row {
    double key;
    int row;
};

typedef struct {
    const fcb_world *world;
    const fcb_config *config;
    fcb_pairwise_config pairwise; /* [preference] user model */
    int capacity;                 /* rows */
    int key_capacity;             /* largest client's row count */
    int n;                        /* rows of the last round */
    int client;
    float *x;                     /* capacity x d */
    int *labels;                  /* capacity: labels at the round */
    float *utilities;             /* capacity x K (pairwise comparisons) */
    struct fcb_keyed_row *candidates;
} fcb_sim_source;

fcb_status fcb_sim_source_init(fcb_sim_source *s, const fcb_world *world, const fcb_config *config);
void fcb_sim_source_free(fcb_sim_source *s);

/* Fills the source with (client, round); n may be 0 when drift hides every
 * class the client holds. */
fcb_status fcb_sim_source_fill(fcb_sim_source *s, int client, int round);

/* The client's view: contexts (fcb_sim_source_fill), feedback, true rewards
 * and pairwise preferences. context = s. */
fcb_data_source fcb_sim_source_as_data_source(fcb_sim_source *s);

#endif
