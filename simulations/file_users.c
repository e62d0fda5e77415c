#include "file_users.h"

#include <stdlib.h>
#include <string.h>

fcb_status fcb_file_users_init(fcb_file_users *u, fcb_dataset *data, uint64_t seed, int examples_per_round)
{
    memset(u, 0, sizeof *u);
    u->data = *data;
    memset(data, 0, sizeof *data);
    u->seed = seed;
    u->examples_per_round = examples_per_round < u->data.n ? examples_per_round : u->data.n;
    u->pool = malloc((size_t)u->data.n * sizeof(int));
    u->x = malloc((size_t)u->examples_per_round * (size_t)u->data.d * sizeof(float));
    u->labels = malloc((size_t)u->examples_per_round * sizeof(int));
    if (!u->pool || !u->x || !u->labels) {
        fcb_file_users_free(u);
        return fcb_fail(FCB_ERR_NOMEM, "local users: out of memory for %d rows", u->examples_per_round);
    }
    return FCB_OK;
}

void fcb_file_users_free(fcb_file_users *u)
{
    fcb_dataset_free(&u->data);
    free(u->pool);
    free(u->x);
    free(u->labels);
    memset(u, 0, sizeof *u);
}

/* The first m entries of a partial Fisher-Yates shuffle of all rows. */
static fcb_status contexts(void *context, int client, int round, fcb_round_contexts *out)
{
    fcb_file_users *u = context;
    fcb_rng rng;
    fcb_rng_init(&rng, u->seed, FCB_STREAM_DATA, (uint32_t)client, (uint32_t)round);
    for (int i = 0; i < u->data.n; i++)
        u->pool[i] = i;
    size_t d = (size_t)u->data.d;
    for (int i = 0; i < u->examples_per_round; i++) {
        int j = i + (int)fcb_rng_below(&rng, (uint32_t)(u->data.n - i));
        int row = u->pool[j];
        u->pool[j] = u->pool[i];
        u->pool[i] = row;
        memcpy(u->x + (size_t)i * d, u->data.x + (size_t)row * d, d * sizeof(float));
        u->labels[i] = u->data.y[row];
    }
    u->n = u->examples_per_round;
    memset(out, 0, sizeof *out);
    out->n = u->n;
    out->x = u->x;
    return FCB_OK;
}

static float click(void *context, int row, int action, fcb_rng *rng)
{
    (void)rng;
    const fcb_file_users *u = context;
    return action == u->labels[row] ? 1.0f : 0.0f;
}

fcb_data_source fcb_file_users_as_data_source(fcb_file_users *u)
{
    fcb_data_source source = {u, contexts, click, NULL, NULL};
    return source;
}
