#ifndef FEDCB_ROUND_DATA_H
#define FEDCB_ROUND_DATA_H

#include "config.h"
#include "feedback.h"
#include "world.h"

/* The contexts a simulated client sees in one round: up to
 * examples_per_round of its own rows, drawn without replacement with the
 * drift schedule's class weights (Efraimidis-Spirakis keys), feature-skewed
 * per client, with their labels as they are at that round. Stateless: the
 * draw depends only on (seed, client, round). Buffers are reused. */
struct fcb_keyed_row {
    double key;
    int row;
};

typedef struct {
    int capacity;     /* rows */
    int key_capacity; /* largest client's row count */
    int n;            /* rows of the last fill */
    int client;
    float *x;         /* capacity x d */
    int *labels;      /* capacity: labels at the round */
    struct fcb_keyed_row *candidates; /* key_capacity */
    const fcb_environment *env;
} fcb_round_data;

fcb_status fcb_round_data_init(fcb_round_data *data, const fcb_world *world, int capacity);
void fcb_round_data_free(fcb_round_data *data);

/* Fills data for (client, round). n may be 0 when drift hides every class
 * the client holds. */
fcb_status fcb_round_data_fill(fcb_round_data *data, const fcb_world *world, const fcb_config *config,
                               int client, int round);

/* The feedback interface over the filled data (context = data). */
fcb_feedback fcb_round_data_feedback(fcb_round_data *data);

#endif
