#include "sim_source.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "feature_skew.h"

fcb_status fcb_sim_source_init(fcb_sim_source *s, const fcb_world *world, const fcb_config *config)
{
    memset(s, 0, sizeof *s);
    int largest = 1;
    for (int c = 0; c < world->clients.num_clients; c++) {
        int size = world->clients.offsets[c + 1] - world->clients.offsets[c];
        if (size > largest)
            largest = size;
    }
    int capacity = config->examples_per_round;
    s->world = world;
    s->config = config;
    s->pairwise.temperature = config->pref_bt_temperature;
    s->pairwise.flip_rate = config->pref_flip_rate;
    s->capacity = capacity;
    s->key_capacity = largest;
    s->x = malloc((size_t)capacity * (size_t)world->train.d * sizeof(float));
    s->labels = malloc((size_t)capacity * sizeof(int));
    s->utilities = malloc((size_t)capacity * (size_t)world->train.k * sizeof(float));
    s->candidates = malloc((size_t)largest * sizeof *s->candidates);
    if (!s->x || !s->labels || !s->utilities || !s->candidates) {
        fcb_sim_source_free(s);
        return fcb_fail(FCB_ERR_NOMEM, "round data: out of memory for %d rows", capacity);
    }
    return fcb_pairwise_config_validate(&s->pairwise);
}

void fcb_sim_source_free(fcb_sim_source *s)
{
    free(s->x);
    free(s->labels);
    free(s->utilities);
    free(s->candidates);
    memset(s, 0, sizeof *s);
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

static int comes_before(const struct fcb_keyed_row *a, const struct fcb_keyed_row *b)
{
    return compare_keyed_rows(a, b) < 0;
}

/* Restores the heap below rows[i]: no row comes after its parent. */
static void sift_down(struct fcb_keyed_row *rows, int m, int i)
{
    for (;;) {
        int latest = i, left = 2 * i + 1, right = left + 1;
        if (left < m && comes_before(&rows[latest], &rows[left]))
            latest = left;
        if (right < m && comes_before(&rows[latest], &rows[right]))
            latest = right;
        if (latest == i)
            return;
        struct fcb_keyed_row t = rows[i];
        rows[i] = rows[latest];
        rows[latest] = t;
        i = latest;
    }
}

/* The first m of the n rows in the round's order, in that order, at
 * rows[0..m): a heap of the best m so far whose root is the last of them.
 * O(n log m), where sorting all n rows every round cost O(n log n) (most of
 * a round's time for a client holding many rows). The order is total, so the
 * result is the sort's. */
static void select_first(struct fcb_keyed_row *rows, int n, int m)
{
    for (int i = m / 2 - 1; i >= 0; i--)
        sift_down(rows, m, i);
    for (int i = m; i < n; i++)
        if (comes_before(&rows[i], &rows[0])) {
            rows[0] = rows[i];
            sift_down(rows, m, 0);
        }
    qsort(rows, (size_t)m, sizeof *rows, compare_keyed_rows);
}

/* A client's rows lie anywhere in the training set, so on a large dataset
 * each label and feature row read below is a cache miss. Asking for them
 * ahead lets the misses overlap (docs/performance.md: epsilon-greedy's
 * 62,500 cached rounds of 16, 0.37 -> 0.33 s). */
enum { PREFETCH_AHEAD = 16 };

static void prefetch_feature_row(const fcb_dataset *data, int row)
{
    const char *x = (const char *)(data->x + (size_t)row * data->d);
    size_t bytes = (size_t)data->d * sizeof(float);
    if (bytes == 0)
        return;
    for (size_t offset = 0; offset < bytes; offset += 64)
        __builtin_prefetch(x + offset);
    __builtin_prefetch(x + bytes - 1);
}

fcb_status fcb_sim_source_fill(fcb_sim_source *s, int client, int round)
{
    const fcb_world *world = s->world;
    const fcb_config *config = s->config;
    const int *local = world->clients.indices + world->clients.offsets[client];
    int local_n = world->clients.offsets[client + 1] - world->clients.offsets[client];
    fcb_rng rng;
    fcb_rng_init(&rng, config->seed, FCB_STREAM_DATA, (uint32_t)client, (uint32_t)round);
    int candidates = 0;
    for (int i = 0; i < local_n && i < PREFETCH_AHEAD; i++)
        __builtin_prefetch(&world->train.y[local[i]]);
    for (int i = 0; i < local_n; i++) {
        int row = local[i];
        if (i + PREFETCH_AHEAD < local_n)
            __builtin_prefetch(&world->train.y[local[i + PREFETCH_AHEAD]]);
        double weight = fcb_environment_class_weight(&world->env, world->train.y[row], round);
        double u = 1.0 - fcb_rng_uniform(&rng); /* drawn for every row, so streams stay aligned */
        if (weight <= 0.0)
            continue;
        s->candidates[candidates].row = row;
        s->candidates[candidates].key = log(u) / weight; /* log of u^(1/w): larger is earlier */
        candidates++;
    }
    int n = candidates < config->examples_per_round ? candidates : config->examples_per_round;
    if (n > s->capacity)
        n = s->capacity;
    if (candidates > config->examples_per_round)
        select_first(s->candidates, candidates, n);
    size_t d = (size_t)world->train.d;
    fcb_rng drift_rng;
    fcb_rng_init(&drift_rng, config->seed, FCB_STREAM_DRIFT, (uint32_t)client, (uint32_t)round);
    for (int i = 0; i < n; i++)
        prefetch_feature_row(&world->train, s->candidates[i].row);
    for (int i = 0; i < n; i++) {
        int row = s->candidates[i].row;
        memcpy(s->x + (size_t)i * d, world->train.x + (size_t)row * d, d * sizeof(float));
        s->labels[i] = fcb_environment_label_at(&world->env, world->train.y[row], round, &drift_rng);
    }
    s->n = n;
    s->client = client;
    if (n > 0 && config->feature_skew > 0.0)
        return fcb_feature_skew_apply(s->x, n, (int)d, client, config->seed, (float)config->feature_skew);
    return FCB_OK;
}

static fcb_status contexts(void *context, int client, int round, fcb_round_contexts *out)
{
    fcb_sim_source *s = context;
    fcb_status st = fcb_sim_source_fill(s, client, round);
    memset(out, 0, sizeof *out);
    out->n = s->n;
    out->x = s->x;
    return st;
}

static float feedback(void *context, int row, int action, fcb_rng *rng)
{
    fcb_sim_source *s = context;
    return fcb_environment_observe(&s->world->env, s->client, s->labels[row], action, rng);
}

static float true_reward(void *context, int row, int action)
{
    fcb_sim_source *s = context;
    return fcb_environment_true_reward(&s->world->env, s->labels[row], action);
}

static fcb_status compare(void *context, const float *probs, int n, int k, fcb_rng *rng, int *winners, int *losers,
                          double *shown_utility)
{
    fcb_sim_source *s = context;
    for (int i = 0; i < n; i++)
        for (int a = 0; a < k; a++)
            s->utilities[(size_t)i * k + a] = true_reward(s, i, a);
    fcb_status st = fcb_pairwise_feedback(&s->pairwise, probs, s->utilities, n, k, rng, winners, losers);
    double shown = 0.0;
    for (int i = 0; st == FCB_OK && i < n; i++)
        shown += 0.5 * (s->utilities[(size_t)i * k + winners[i]] + s->utilities[(size_t)i * k + losers[i]]);
    *shown_utility = shown;
    return st;
}

fcb_data_source fcb_sim_source_as_data_source(fcb_sim_source *s)
{
    fcb_data_source source = {s, contexts, feedback, true_reward, compare};
    return source;
}
