#include "round_data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "feature_skew.h"

fcb_status fcb_round_data_init(fcb_round_data *data, const fcb_world *world, int capacity)
{
    memset(data, 0, sizeof *data);
    int largest = 1;
    for (int c = 0; c < world->clients.num_clients; c++) {
        int size = world->clients.offsets[c + 1] - world->clients.offsets[c];
        if (size > largest)
            largest = size;
    }
    data->capacity = capacity;
    data->key_capacity = largest;
    data->env = &world->env;
    data->x = malloc((size_t)capacity * (size_t)world->train.d * sizeof(float));
    data->labels = malloc((size_t)capacity * sizeof(int));
    data->candidates = malloc((size_t)largest * sizeof *data->candidates);
    if (!data->x || !data->labels || !data->candidates) {
        fcb_round_data_free(data);
        return fcb_fail(FCB_ERR_NOMEM, "round data: out of memory for %d rows", capacity);
    }
    return FCB_OK;
}

void fcb_round_data_free(fcb_round_data *data)
{
    free(data->x);
    free(data->labels);
    free(data->candidates);
    memset(data, 0, sizeof *data);
}

/* Decreasing key; ties (measure zero) by row, so the order is total. */
static int compare_keyed_rows(const void *pa, const void *pb)
{
    const struct fcb_keyed_row *a = pa;
    const struct fcb_keyed_row *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? 1 : -1;
    return (a->row > b->row) - (a->row < b->row);
}

fcb_status fcb_round_data_fill(fcb_round_data *data, const fcb_world *world, const fcb_config *config,
                               int client, int round)
{
    const int *local = world->clients.indices + world->clients.offsets[client];
    int local_n = world->clients.offsets[client + 1] - world->clients.offsets[client];
    fcb_rng rng;
    fcb_rng_init(&rng, config->seed, FCB_STREAM_DATA, (uint32_t)client, (uint32_t)round);
    int candidates = 0;
    for (int i = 0; i < local_n; i++) {
        int row = local[i];
        double weight = fcb_environment_class_weight(&world->env, world->train.y[row], round);
        double u = 1.0 - fcb_rng_uniform(&rng); /* drawn for every row, so streams stay aligned */
        if (weight <= 0.0)
            continue;
        data->candidates[candidates].row = row;
        data->candidates[candidates].key = log(u) / weight; /* log of u^(1/w): larger is earlier */
        candidates++;
    }
    int n = candidates < config->examples_per_round ? candidates : config->examples_per_round;
    if (n > data->capacity)
        n = data->capacity;
    if (candidates > config->examples_per_round)
        qsort(data->candidates, (size_t)candidates, sizeof *data->candidates, compare_keyed_rows);
    size_t d = (size_t)world->train.d;
    fcb_rng drift_rng;
    fcb_rng_init(&drift_rng, config->seed, FCB_STREAM_DRIFT, (uint32_t)client, (uint32_t)round);
    for (int i = 0; i < n; i++) {
        int row = data->candidates[i].row;
        memcpy(data->x + (size_t)i * d, world->train.x + (size_t)row * d, d * sizeof(float));
        data->labels[i] = fcb_environment_label_at(&world->env, world->train.y[row], round, &drift_rng);
    }
    data->n = n;
    data->client = client;
    if (n > 0 && config->feature_skew > 0.0)
        return fcb_feature_skew_apply(data->x, n, (int)d, client, config->seed, (float)config->feature_skew);
    return FCB_OK;
}

static float observe(void *context, int row, int action, fcb_rng *rng)
{
    fcb_round_data *data = context;
    return fcb_environment_observe(data->env, data->client, data->labels[row], action, rng);
}

static float true_reward(void *context, int row, int action)
{
    fcb_round_data *data = context;
    return fcb_environment_true_reward(data->env, data->labels[row], action);
}

fcb_feedback fcb_round_data_feedback(fcb_round_data *data)
{
    fcb_feedback feedback = {data, observe, true_reward};
    return feedback;
}
