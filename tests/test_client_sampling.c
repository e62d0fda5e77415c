/* fcb_sample_clients (coordinator/client_sampling.c): the sparse path for a
 * small sample of a large population picks exactly the clients the dense
 * Fisher-Yates picks from the same stream, and the draw is uniform. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "client_sampling.h"
#include "rng.h"

static int compare_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* The whole-array partial Fisher-Yates on the same stream. */
static void reference_sample(uint64_t seed, int round, int population, int count, int *selected)
{
    int *slots = malloc((size_t)population * sizeof(int));
    assert_non_null(slots);
    fcb_rng rng;
    fcb_rng_init(&rng, seed, FCB_STREAM_CLIENT_SAMPLING, 0, (uint32_t)round);
    for (int i = 0; i < population; i++)
        slots[i] = i;
    for (int i = 0; i < count; i++) {
        int j = i + (int)fcb_rng_below(&rng, (uint32_t)(population - i));
        int t = slots[i];
        slots[i] = slots[j];
        slots[j] = t;
        selected[i] = slots[i];
    }
    qsort(selected, (size_t)count, sizeof(int), compare_int);
    free(slots);
}

static void test_same_sample_as_full_fisher_yates(void **state)
{
    (void)state;
    const int populations[] = {1, 2, 7, 64, 1000, 62500, 1000000};
    const int counts[] = {1, 2, 3, 16, 64, 100, 999, 1000};
    int *scratch = malloc(1000000 * sizeof(int));
    int *got = malloc(1000 * sizeof(int)), *want = malloc(1000 * sizeof(int));
    assert_true(scratch && got && want);
    for (size_t p = 0; p < sizeof populations / sizeof populations[0]; p++)
        for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
            int population = populations[p], count = counts[c];
            if (count > population)
                continue;
            for (int round = 0; round < 5; round++) {
                assert_int_equal(fcb_sample_clients(17, round, population, count, scratch, got), FCB_OK);
                reference_sample(17, round, population, count, want);
                assert_memory_equal(got, want, (size_t)count * sizeof(int));
                for (int i = 1; i < count; i++)
                    assert_true(got[i - 1] < got[i]);
            }
        }
    free(scratch), free(got), free(want);
}

/* Each of 1000 clients is picked 3 times in 1000 in 100,000 rounds: every
 * count within 5 standard deviations of 300. */
static void test_uniform(void **state)
{
    (void)state;
    enum { POPULATION = 1000, COUNT = 3, ROUNDS = 100000 };
    int *scratch = malloc(POPULATION * sizeof(int));
    int picks[POPULATION] = {0}, selected[COUNT];
    for (int round = 0; round < ROUNDS; round++) {
        assert_int_equal(fcb_sample_clients(5, round, POPULATION, COUNT, scratch, selected), FCB_OK);
        for (int i = 0; i < COUNT; i++)
            picks[selected[i]]++;
    }
    double p = (double)COUNT / POPULATION, mean = ROUNDS * p, sd = sqrt(ROUNDS * p * (1 - p));
    for (int i = 0; i < POPULATION; i++)
        if (fabs(picks[i] - mean) > 5 * sd)
            fail_msg("client %d picked %d times, expected %.0f +- %.1f", i, picks[i], mean, 5 * sd);
    free(scratch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_sample_as_full_fisher_yates),
        cmocka_unit_test(test_uniform),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
