#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "rng.h"

enum { DIM = 37, CLIENTS = 9 };

/* Test data: CLIENTS updates with distinct, unsorted ids, values spread over
 * many orders of magnitude so that float sums depend on their order. */
typedef struct {
    int ids[CLIENTS];
    double examples[CLIENTS];
    float deltas[CLIENTS][DIM];
} round_data;

static void make_round(round_data *data, uint32_t round)
{
    static const int ids[CLIENTS] = {17, 3, 250, 42, 8, 99, 0, 61, 5};
    fcb_rng rng;
    fcb_rng_init(&rng, 2024, FCB_STREAM_TEST, 1, round);
    for (int i = 0; i < CLIENTS; i++) {
        data->ids[i] = ids[i];
        data->examples[i] = 1 + fcb_rng_below(&rng, 500);
        for (int j = 0; j < DIM; j++) {
            double scale = pow(10.0, (double)fcb_rng_below(&rng, 9) - 4.0);
            data->deltas[i][j] = (float)(scale * fcb_rng_normal(&rng));
        }
    }
}

static void test_hand_computed_means(void **state)
{
    (void)state;
    fcb_aggregator agg;
    assert_int_equal(fcb_aggregator_init(&agg, 2, 4), FCB_OK);
    const float a[2] = {1.0f, 2.0f};
    const float b[2] = {3.0f, 6.0f};
    assert_int_equal(fcb_aggregator_add(&agg, 5, a, 1.0), FCB_OK);
    assert_int_equal(fcb_aggregator_add(&agg, 2, b, 3.0), FCB_OK);
    float mean[2];
    /* weighted: (1*1 + 3*3) / 4, (1*2 + 3*6) / 4 */
    assert_int_equal(fcb_aggregator_mean(&agg, FCB_AGG_WEIGHTED, mean), FCB_OK);
    assert_true(mean[0] == 2.5f);
    assert_true(mean[1] == 5.0f);
    assert_int_equal(fcb_aggregator_mean(&agg, FCB_AGG_UNWEIGHTED, mean), FCB_OK);
    assert_true(mean[0] == 2.0f);
    assert_true(mean[1] == 4.0f);
    fcb_aggregator_free(&agg);
}

static void test_means_match_double_reference(void **state)
{
    (void)state;
    round_data data;
    make_round(&data, 1);
    fcb_aggregator agg;
    assert_int_equal(fcb_aggregator_init(&agg, DIM, CLIENTS), FCB_OK);
    for (int i = 0; i < CLIENTS; i++)
        assert_int_equal(fcb_aggregator_add(&agg, data.ids[i], data.deltas[i], data.examples[i]),
                         FCB_OK);

    float weighted[DIM], unweighted[DIM];
    assert_int_equal(fcb_aggregator_mean(&agg, FCB_AGG_WEIGHTED, weighted), FCB_OK);
    assert_int_equal(fcb_aggregator_mean(&agg, FCB_AGG_UNWEIGHTED, unweighted), FCB_OK);

    /* Reference in long double, in arrival order. The aggregator's double
     * sum may be off by about 1e-15 of the sum of magnitudes (cancellation),
     * and the final float rounding by 6e-8 of the result. */
    long double total = 0.0L;
    for (int i = 0; i < CLIENTS; i++)
        total += data.examples[i];
    for (int j = 0; j < DIM; j++) {
        long double wsum = 0.0L, wabs = 0.0L, sum = 0.0L, abs_sum = 0.0L;
        for (int i = 0; i < CLIENTS; i++) {
            long double d = data.deltas[i][j];
            wsum += data.examples[i] * d;
            wabs += data.examples[i] * fabsl(d);
            sum += d;
            abs_sum += fabsl(d);
        }
        double want_w = (double)(wsum / total);
        double want_u = (double)(sum / CLIENTS);
        assert_true(fabs(weighted[j] - want_w) <= 1e-6 * fabs(want_w) + 1e-12 * (double)(wabs / total));
        assert_true(fabs(unweighted[j] - want_u) <= 1e-6 * fabs(want_u) + 1e-12 * (double)(abs_sum / CLIENTS));
    }
    fcb_aggregator_free(&agg);
}

static void mean_in_order(const round_data *data, const int *order, fcb_agg_weighting weighting,
                          float *mean)
{
    fcb_aggregator agg;
    assert_int_equal(fcb_aggregator_init(&agg, DIM, CLIENTS), FCB_OK);
    for (int k = 0; k < CLIENTS; k++) {
        int i = order[k];
        assert_int_equal(fcb_aggregator_add(&agg, data->ids[i], data->deltas[i], data->examples[i]),
                         FCB_OK);
    }
    assert_int_equal(fcb_aggregator_mean(&agg, weighting, mean), FCB_OK);
    fcb_aggregator_free(&agg);
}

/* Plain float sum in the given order: what a naive aggregator would do. */
static float naive_float_sum(const round_data *data, const int *order, int j)
{
    float sum = 0.0f;
    for (int k = 0; k < CLIENTS; k++)
        sum += data->deltas[order[k]][j];
    return sum;
}

static void test_arrival_order_does_not_change_bytes(void **state)
{
    (void)state;
    int naive_differs = 0;
    for (uint32_t round = 0; round < 5; round++) {
        round_data data;
        make_round(&data, 100 + round);
        int forward[CLIENTS], shuffled[CLIENTS];
        for (int i = 0; i < CLIENTS; i++)
            forward[i] = shuffled[i] = i;
        fcb_rng rng;
        fcb_rng_init(&rng, 7, FCB_STREAM_TEST, 2, round);
        fcb_rng_shuffle_int(&rng, shuffled, CLIENTS);
        for (int j = 0; j < DIM; j++)
            naive_differs += naive_float_sum(&data, forward, j) != naive_float_sum(&data, shuffled, j);

        for (int w = 0; w < 2; w++) {
            fcb_agg_weighting weighting = w == 0 ? FCB_AGG_WEIGHTED : FCB_AGG_UNWEIGHTED;
            float a[DIM], b[DIM];
            mean_in_order(&data, forward, weighting, a);
            mean_in_order(&data, shuffled, weighting, b);
            assert_memory_equal(a, b, sizeof a);
        }
    }
    /* The data is order sensitive: a naive float sum would fail the test. */
    assert_true(naive_differs > 0);
}

/* 1e17 + 1 == 1e17 in double, so the sum depends on the order; the
 * aggregator must give the increasing-id result (0), whatever the
 * arrival order (arrival order 3, 1, 2 would give 1/3). */
static void test_sums_in_client_id_order(void **state)
{
    (void)state;
    const float big[1] = {1e17f};
    const float one[1] = {1.0f};
    const float minus_big[1] = {-1e17f};
    const int arrival_orders[3][3] = {{1, 2, 3}, {3, 1, 2}, {2, 3, 1}};
    for (int o = 0; o < 3; o++) {
        fcb_aggregator agg;
        assert_int_equal(fcb_aggregator_init(&agg, 1, 3), FCB_OK);
        for (int k = 0; k < 3; k++) {
            int id = arrival_orders[o][k];
            const float *delta = id == 1 ? big : id == 2 ? one : minus_big;
            assert_int_equal(fcb_aggregator_add(&agg, id, delta, 1.0), FCB_OK);
        }
        float mean[1];
        assert_int_equal(fcb_aggregator_mean(&agg, FCB_AGG_UNWEIGHTED, mean), FCB_OK);
        assert_true(mean[0] == 0.0f);
        fcb_aggregator_free(&agg);
    }
    /* The data really is order sensitive: */
    volatile double in_arrival_order = -1e17;
    in_arrival_order += 1e17;
    in_arrival_order += 1.0;
    assert_true(in_arrival_order == 1.0);
}

static void test_duplicate_client_rejected(void **state)
{
    (void)state;
    fcb_aggregator agg;
    assert_int_equal(fcb_aggregator_init(&agg, 2, 4), FCB_OK);
    const float a[2] = {1.0f, 1.0f};
    const float b[2] = {100.0f, 100.0f};
    assert_int_equal(fcb_aggregator_add(&agg, 7, a, 2.0), FCB_OK);
    assert_int_equal(fcb_aggregator_add(&agg, 7, b, 2.0), FCB_ERR_STATE);
    assert_non_null(strstr(fcb_last_error(), "client 7"));
    assert_int_equal(agg.count, 1);
    float mean[2];
    assert_int_equal(fcb_aggregator_mean(&agg, FCB_AGG_WEIGHTED, mean), FCB_OK);
    assert_true(mean[0] == 1.0f && mean[1] == 1.0f);

    /* A new round accepts the client again, and forgets the old update. */
    fcb_aggregator_reset(&agg);
    assert_int_equal(fcb_aggregator_add(&agg, 7, b, 2.0), FCB_OK);
    assert_int_equal(fcb_aggregator_mean(&agg, FCB_AGG_WEIGHTED, mean), FCB_OK);
    assert_true(mean[0] == 100.0f && mean[1] == 100.0f);
    fcb_aggregator_free(&agg);
}

static void test_empty_and_zero_weight_rejected(void **state)
{
    (void)state;
    fcb_aggregator agg;
    assert_int_equal(fcb_aggregator_init(&agg, 2, 3), FCB_OK);
    float mean[2] = {42.0f, 42.0f};
    assert_int_equal(fcb_aggregator_mean(&agg, FCB_AGG_WEIGHTED, mean), FCB_ERR_STATE);
    assert_int_equal(fcb_aggregator_mean(&agg, FCB_AGG_UNWEIGHTED, mean), FCB_ERR_STATE);
    assert_true(mean[0] == 42.0f);

    const float a[2] = {1.0f, 3.0f};
    const float b[2] = {3.0f, 5.0f};
    assert_int_equal(fcb_aggregator_add(&agg, 1, a, 0.0), FCB_OK);
    assert_int_equal(fcb_aggregator_add(&agg, 2, b, 0.0), FCB_OK);
    assert_int_equal(fcb_aggregator_mean(&agg, FCB_AGG_WEIGHTED, mean), FCB_ERR_STATE);
    assert_non_null(strstr(fcb_last_error(), "total weight"));
    /* Unweighted does not look at the example counts. */
    assert_int_equal(fcb_aggregator_mean(&agg, FCB_AGG_UNWEIGHTED, mean), FCB_OK);
    assert_true(mean[0] == 2.0f && mean[1] == 4.0f);

    assert_int_equal(fcb_aggregator_add(&agg, 3, a, NAN), FCB_ERR_ARG);
    assert_int_equal(fcb_aggregator_add(&agg, 3, a, -1.0), FCB_ERR_ARG);
    assert_int_equal(fcb_aggregator_add(&agg, 3, a, INFINITY), FCB_ERR_ARG);
    assert_int_equal(fcb_aggregator_add(&agg, 3, NULL, 1.0), FCB_ERR_ARG);
    assert_int_equal(agg.count, 2);
    fcb_aggregator_free(&agg);
}

static void test_capacity_respected(void **state)
{
    (void)state;
    fcb_aggregator agg;
    assert_int_equal(fcb_aggregator_init(&agg, 3, 3), FCB_OK);
    const float delta[3] = {1.0f, 2.0f, 3.0f};
    for (int round = 0; round < 2; round++) {
        fcb_aggregator_reset(&agg);
        for (int id = 10; id < 13; id++)
            assert_int_equal(fcb_aggregator_add(&agg, id, delta, 1.0), FCB_OK);
        assert_int_equal(fcb_aggregator_add(&agg, 13, delta, 1.0), FCB_ERR_STATE);
        assert_non_null(strstr(fcb_last_error(), "full"));
        assert_int_equal(agg.count, 3);
        float mean[3];
        assert_int_equal(fcb_aggregator_mean(&agg, FCB_AGG_WEIGHTED, mean), FCB_OK);
        assert_memory_equal(mean, delta, sizeof delta);
    }
    fcb_aggregator_free(&agg);

    assert_int_equal(fcb_aggregator_init(&agg, 0, 3), FCB_ERR_ARG);
    assert_int_equal(fcb_aggregator_init(&agg, 3, 0), FCB_ERR_ARG);
    fcb_aggregator_free(&agg); /* safe after a failed init */
}

static void test_weighting_names(void **state)
{
    (void)state;
    fcb_agg_weighting w = FCB_AGG_UNWEIGHTED;
    assert_int_equal(fcb_agg_weighting_from_name("weighted", &w), FCB_OK);
    assert_int_equal(w, FCB_AGG_WEIGHTED);
    assert_int_equal(fcb_agg_weighting_from_name("unweighted", &w), FCB_OK);
    assert_int_equal(w, FCB_AGG_UNWEIGHTED);
    assert_string_equal(fcb_agg_weighting_name(FCB_AGG_WEIGHTED), "weighted");
    assert_string_equal(fcb_agg_weighting_name(FCB_AGG_UNWEIGHTED), "unweighted");
    assert_int_equal(fcb_agg_weighting_from_name("median", &w), FCB_ERR_CONFIG);
    assert_non_null(strstr(fcb_last_error(), "median"));
    assert_int_equal(fcb_agg_weighting_from_name(NULL, &w), FCB_ERR_CONFIG);
    assert_int_equal(w, FCB_AGG_UNWEIGHTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_computed_means),
        cmocka_unit_test(test_means_match_double_reference),
        cmocka_unit_test(test_arrival_order_does_not_change_bytes),
        cmocka_unit_test(test_sums_in_client_id_order),
        cmocka_unit_test(test_duplicate_client_rejected),
        cmocka_unit_test(test_empty_and_zero_weight_rejected),
        cmocka_unit_test(test_capacity_respected),
        cmocka_unit_test(test_weighting_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
