#include "client_sampling.h"

#include <stdlib.h>

#include "rng.h"

static int compare_int(const void *a, const void *b)
{
    int x = *(const int *)a;
    int y = *(const int *)b;
    return (x > y) - (x < y);
}

/* The Fisher-Yates array of a draw that touches few slots, as a hash map
 * from the slots it moved to the ids they hold (an absent slot holds its own
 * id): keys at table[0..capacity), values at table[capacity..2 capacity). */
typedef struct {
    int *table;
    uint32_t mask;
} sparse_slots;

static int *slot_entry(sparse_slots *m, int slot)
{
    uint32_t i = ((uint32_t)slot * 2654435761u) & m->mask;
    while (m->table[i] != slot && m->table[i] != -1)
        i = (i + 1) & m->mask;
    return &m->table[i];
}

static int slot_get(sparse_slots *m, int slot)
{
    int *key = slot_entry(m, slot);
    return *key == -1 ? slot : key[m->mask + 1];
}

static void slot_set(sparse_slots *m, int slot, int id)
{
    int *key = slot_entry(m, slot);
    *key = slot;
    key[m->mask + 1] = id;
}

fcb_status fcb_sample_clients(uint64_t seed, int round, int population, int count, int *scratch,
                              int *selected)
{
    if (population < 1 || count < 1 || count > population)
        return fcb_fail(FCB_ERR_ARG, "client sampling: cannot pick %d of %d clients", count,
                        population);
    fcb_rng rng;
    fcb_rng_init(&rng, seed, FCB_STREAM_CLIENT_SAMPLING, 0, (uint32_t)round);
    /* Partial Fisher-Yates: the first `count` slots become the sample. A
     * small sample of a large population keeps only the slots it moves (at
     * most 2 count), so a round does not pay for the whole population; both
     * paths make the same swaps and give the same sample. */
    uint32_t capacity = 4;
    while (capacity < 4u * (uint32_t)count)
        capacity *= 2;
    if ((uint64_t)capacity * 2 <= (uint64_t)population) {
        sparse_slots m = {scratch, capacity - 1};
        for (uint32_t i = 0; i < capacity; i++)
            scratch[i] = -1;
        for (int i = 0; i < count; i++) {
            int j = i + (int)fcb_rng_below(&rng, (uint32_t)(population - i));
            int at_i = slot_get(&m, i), at_j = slot_get(&m, j);
            slot_set(&m, i, at_j);
            slot_set(&m, j, at_i);
            selected[i] = at_j;
        }
    } else {
        for (int i = 0; i < population; i++)
            scratch[i] = i;
        for (int i = 0; i < count; i++) {
            int j = i + (int)fcb_rng_below(&rng, (uint32_t)(population - i));
            int t = scratch[i];
            scratch[i] = scratch[j];
            scratch[j] = t;
            selected[i] = scratch[i];
        }
    }
    qsort(selected, (size_t)count, sizeof(int), compare_int);
    return FCB_OK;
}
