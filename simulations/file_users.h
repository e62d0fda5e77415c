#ifndef FEDCB_FILE_USERS_H
#define FEDCB_FILE_USERS_H

#include "data_source.h"
#include "dataset.h"

/* A labelled local file turned into a stream of simulated users, for
 * trying a deployment without an application: each round a client draws
 * examples_per_round of its rows uniformly without replacement (from
 * (seed, DATA, client, round)), and a user clicks exactly when the action
 * is the row's label. The labels stay inside the source: the client sees
 * only the click of the action it took. */
typedef struct {
    fcb_dataset data;      /* owned */
    uint64_t seed;
    int examples_per_round;
    int n;                 /* rows of the last round */
    int *pool;             /* data.n row indices, shuffled partially each round */
    float *x;              /* examples_per_round x d */
    int *labels;           /* examples_per_round */
} fcb_file_users;

/* Takes ownership of data (its rows are the client's). */
fcb_status fcb_file_users_init(fcb_file_users *u, fcb_dataset *data, uint64_t seed, int examples_per_round);
void fcb_file_users_free(fcb_file_users *u);
fcb_data_source fcb_file_users_as_data_source(fcb_file_users *u);

#endif
