#include "aggregate.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "name_table.h"

fcb_status fcb_aggregator_init(fcb_aggregator *agg, size_t dim, int capacity)
{
    memset(agg, 0, sizeof *agg);
    if (dim == 0)
        return fcb_fail(FCB_ERR_ARG, "aggregator: dim must be > 0");
    if (capacity <= 0)
        return fcb_fail(FCB_ERR_ARG, "aggregator: capacity %d must be > 0", capacity);
    if (dim > SIZE_MAX / sizeof(float) / (size_t)capacity)
        return fcb_fail(FCB_ERR_ARG, "aggregator: %d updates of %zu values overflow size_t",
                        capacity, dim);

    agg->dim = dim;
    agg->capacity = capacity;
    agg->client_ids = malloc((size_t)capacity * sizeof *agg->client_ids);
    agg->weights = malloc((size_t)capacity * sizeof *agg->weights);
    agg->deltas = malloc((size_t)capacity * dim * sizeof *agg->deltas);
    agg->order = malloc((size_t)capacity * sizeof *agg->order);
    agg->sum = malloc(dim * sizeof *agg->sum);
    if (!agg->client_ids || !agg->weights || !agg->deltas || !agg->order || !agg->sum) {
        fcb_aggregator_free(agg);
        return fcb_fail(FCB_ERR_NOMEM, "aggregator: cannot allocate %d updates of %zu values",
                        capacity, dim);
    }
    return FCB_OK;
}

void fcb_aggregator_reset(fcb_aggregator *agg)
{
    agg->count = 0;
}

void fcb_aggregator_free(fcb_aggregator *agg)
{
    free(agg->client_ids);
    free(agg->weights);
    free(agg->deltas);
    free(agg->order);
    free(agg->sum);
    memset(agg, 0, sizeof *agg);
}

fcb_status fcb_aggregator_add(fcb_aggregator *agg, int client_id, const float *delta,
                              double num_examples)
{
    if (!delta)
        return fcb_fail(FCB_ERR_ARG, "aggregator: client %d: delta is NULL", client_id);
    if (!isfinite(num_examples) || num_examples < 0.0)
        return fcb_fail(FCB_ERR_ARG, "aggregator: client %d: num_examples %g must be finite and >= 0",
                        client_id, num_examples);
    for (int i = 0; i < agg->count; i++) {
        if (agg->client_ids[i] == client_id)
            return fcb_fail(FCB_ERR_STATE, "aggregator: client %d already sent an update this round",
                            client_id);
    }
    if (agg->count == agg->capacity)
        return fcb_fail(FCB_ERR_STATE, "aggregator: client %d: round is full (%d updates)",
                        client_id, agg->capacity);

    int slot = agg->count;
    agg->client_ids[slot] = client_id;
    agg->weights[slot] = num_examples;
    memcpy(agg->deltas + (size_t)slot * agg->dim, delta, agg->dim * sizeof *delta);
    agg->count++;
    return FCB_OK;
}

/* order[0..count) = the slots sorted by client id. Insertion sort: a round
 * has at most a few thousand clients and ids are unique, so the result is
 * a single well-defined permutation. */
static void sort_slots_by_client_id(fcb_aggregator *agg)
{
    for (int i = 0; i < agg->count; i++) {
        int slot = i;
        int j = i;
        while (j > 0 && agg->client_ids[agg->order[j - 1]] > agg->client_ids[slot]) {
            agg->order[j] = agg->order[j - 1];
            j--;
        }
        agg->order[j] = slot;
    }
}

void fcb_aggregator_rows_by_client(fcb_aggregator *agg, float *rows)
{
    sort_slots_by_client_id(agg);
    for (int k = 0; k < agg->count; k++)
        memcpy(rows + (size_t)k * agg->dim, agg->deltas + (size_t)agg->order[k] * agg->dim,
               agg->dim * sizeof(float));
}

fcb_status fcb_aggregator_mean(fcb_aggregator *agg, fcb_agg_weighting weighting,
                               float *mean_delta)
{
    if (weighting != FCB_AGG_WEIGHTED && weighting != FCB_AGG_UNWEIGHTED)
        return fcb_fail(FCB_ERR_ARG, "aggregator: unknown weighting %d", (int)weighting);
    if (!mean_delta)
        return fcb_fail(FCB_ERR_ARG, "aggregator: mean_delta is NULL");
    if (agg->count == 0)
        return fcb_fail(FCB_ERR_STATE, "aggregator: no client update this round");

    sort_slots_by_client_id(agg);
    size_t dim = agg->dim;
    double total = 0.0;
    memset(agg->sum, 0, dim * sizeof *agg->sum);
    for (int k = 0; k < agg->count; k++) {
        int slot = agg->order[k];
        double w = weighting == FCB_AGG_WEIGHTED ? agg->weights[slot] : 1.0;
        const float *delta = agg->deltas + (size_t)slot * dim;
        total += w;
        for (size_t j = 0; j < dim; j++)
            agg->sum[j] += w * (double)delta[j];
    }
    if (!(total > 0.0))
        return fcb_fail(FCB_ERR_STATE, "aggregator: total weight of %d updates is %g",
                        agg->count, total);

    for (size_t j = 0; j < dim; j++)
        mean_delta[j] = (float)(agg->sum[j] / total);
    return FCB_OK;
}

static const fcb_name_entry WEIGHTING_NAMES[] = {
    {"weighted", FCB_AGG_WEIGHTED},
    {"unweighted", FCB_AGG_UNWEIGHTED},
};

fcb_status fcb_agg_weighting_from_name(const char *name, fcb_agg_weighting *weighting)
{
    int value = 0;
    fcb_status st = fcb_name_lookup(WEIGHTING_NAMES, sizeof WEIGHTING_NAMES / sizeof WEIGHTING_NAMES[0],
                                    "server.weighting", name, &value);
    if (st == FCB_OK)
        *weighting = (fcb_agg_weighting)value;
    return st;
}

const char *fcb_agg_weighting_name(fcb_agg_weighting weighting)
{
    return fcb_name_of(WEIGHTING_NAMES, sizeof WEIGHTING_NAMES / sizeof WEIGHTING_NAMES[0], (int)weighting);
}
