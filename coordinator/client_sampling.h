#ifndef FEDCB_CLIENT_SAMPLING_H
#define FEDCB_CLIENT_SAMPLING_H

#include <stdint.h>

#include "status.h"

/* Picks the round's clients: `count` distinct ids from [0, population),
 * uniformly, from the stream (seed, client sampling, 0, round); returned in
 * increasing order. scratch holds population ints. */
fcb_status fcb_sample_clients(uint64_t seed, int round, int population, int count, int *scratch,
                              int *selected);

#endif
