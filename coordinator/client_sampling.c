#include "client_sampling.h"

#include <stdlib.h>

#include "rng.h"

static int compare_int(const void *a, const void *b)
{
    int x = *(const int *)a;
    int y = *(const int *)b;
    return (x > y) - (x < y);
}

fcb_status fcb_sample_clients(uint64_t seed, int round, int population, int count, int *scratch,
                              int *selected)
{
    if (population < 1 || count < 1 || count > population)
        return fcb_fail(FCB_ERR_ARG, "client sampling: cannot pick %d of %d clients", count,
                        population);
    fcb_rng rng;
    fcb_rng_init(&rng, seed, FCB_STREAM_CLIENT_SAMPLING, 0, (uint32_t)round);
    for (int i = 0; i < population; i++)
        scratch[i] = i;
    /* Partial Fisher-Yates: the first `count` slots become the sample. */
    for (int i = 0; i < count; i++) {
        int j = i + (int)fcb_rng_below(&rng, (uint32_t)(population - i));
        int t = scratch[i];
        scratch[i] = scratch[j];
        scratch[j] = t;
        selected[i] = scratch[i];
    }
    qsort(selected, (size_t)count, sizeof(int), compare_int);
    return FCB_OK;
}
