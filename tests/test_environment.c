#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "environment.h"
#include "rng.h"
#include "status.h"

enum { K = 10, DRAWS = 100000 };

static void assert_message_contains(const char *needle)
{
    const char *message = fcb_last_error();
    if (!strstr(message, needle))
        fail_msg("error message \"%s\" does not contain \"%s\"", message, needle);
}

/* Fraction of `draws` observations equal to 1 (and none other than 0 or 1). */
static double click_rate(const fcb_environment *env, int client, int label, int action, int draws, uint32_t stream)
{
    fcb_rng rng;
    fcb_rng_init(&rng, 1234, FCB_STREAM_TEST, (uint32_t)client, stream);
    int clicks = 0;
    for (int i = 0; i < draws; i++) {
        float r = fcb_environment_observe(env, client, label, action, &rng);
        assert_true(r == 0.0f || r == 1.0f);
        clicks += r == 1.0f;
    }
    return (double)clicks / draws;
}

static void test_init_defaults(void **state)
{
    (void)state;
    fcb_environment env;
    assert_int_equal(fcb_environment_init(&env, K, 7), FCB_OK);
    assert_int_equal(env.num_classes, K);
    assert_int_equal(env.click_feedback, 0);
    assert_true(env.p_click == 1.0f);
    assert_true(env.p_false == 0.0f);
    assert_int_equal(env.drift, FCB_DRIFT_NONE);
    for (int y = 0; y < K; y++)
        for (int a = 0; a < K; a++)
            assert_true(env.reward_table[y * K + a] == (y == a ? 1.0f : 0.0f));
    assert_int_equal(fcb_environment_validate(&env), FCB_OK);
    fcb_environment_free(&env);
    assert_null(env.reward_table);

    assert_int_equal(fcb_environment_init(&env, 0, 7), FCB_ERR_ARG);
    assert_int_equal(fcb_environment_init(&env, FCB_MAX_CLASSES + 1, 7), FCB_ERR_ARG);
    assert_null(env.reward_table);
}

static void test_permutation_is_seeded_derangement(void **state)
{
    (void)state;
    int differs = 0;
    for (int k = 1; k <= 20; k++) {
        for (uint64_t seed = 0; seed < 20; seed++) {
            fcb_environment env, again, other;
            assert_int_equal(fcb_environment_init(&env, k, seed), FCB_OK);
            assert_int_equal(fcb_environment_init(&again, k, seed), FCB_OK);
            assert_int_equal(fcb_environment_init(&other, k, seed + 100), FCB_OK);
            int seen[20] = {0};
            for (int y = 0; y < k; y++) {
                int p = env.permutation[y];
                assert_true(p >= 0 && p < k);
                assert_int_equal(seen[p], 0);
                seen[p] = 1;
                if (k >= 2)
                    assert_int_not_equal(p, y);
                else
                    assert_int_equal(p, y);
                assert_int_equal(again.permutation[y], p);
            }
            if (k >= 4)
                differs += memcmp(env.permutation, other.permutation, (size_t)k * sizeof(int)) != 0;
            fcb_environment_free(&env);
            fcb_environment_free(&again);
            fcb_environment_free(&other);
        }
    }
    /* Seeds matter: nearly every pair of seeds gives another derangement. */
    assert_true(differs > 17 * 20 - 10);
}

static void test_exact_feedback_returns_table(void **state)
{
    (void)state;
    fcb_environment env;
    assert_int_equal(fcb_environment_init(&env, K, 3), FCB_OK);
    assert_int_equal(fcb_environment_set_partial_reward(&env, 6, 0, 0.5f), FCB_OK);
    fcb_rng rng;
    fcb_rng_init(&rng, 1, FCB_STREAM_TEST, 0, 0);
    for (int y = 0; y < K; y++) {
        for (int a = 0; a < K; a++) {
            float expected = env.reward_table[y * K + a];
            assert_true(fcb_environment_true_reward(&env, y, a) == expected);
            assert_true(fcb_environment_observe(&env, 3, y, a, &rng) == expected);
        }
    }
    assert_true(fcb_environment_observe(&env, 0, 6, 0, &rng) == 0.5f);
    assert_true(fcb_environment_observe(&env, 0, 0, 6, &rng) == 0.0f);
    /* Out-of-range labels or actions earn nothing rather than crash. */
    assert_true(fcb_environment_true_reward(&env, K, 0) == 0.0f);
    assert_true(fcb_environment_true_reward(&env, 0, -1) == 0.0f);
    fcb_environment_free(&env);
}

static void test_click_noise_rates(void **state)
{
    (void)state;
    fcb_environment env;
    assert_int_equal(fcb_environment_init(&env, K, 3), FCB_OK);
    env.click_feedback = 1;
    env.p_click = 0.8f;
    env.p_false = 0.1f;
    assert_int_equal(fcb_environment_validate(&env), FCB_OK);
    double correct = click_rate(&env, 0, 4, 4, DRAWS, 0);
    double wrong = click_rate(&env, 0, 4, 7, DRAWS, 1);
    if (fabs(correct - 0.8) > 0.01 || fabs(wrong - 0.1) > 0.01)
        fail_msg("click rates %.4f (correct) and %.4f (wrong), expected 0.8 and 0.1", correct, wrong);
    fcb_environment_free(&env);
}

static void test_partial_reward_click_rate(void **state)
{
    (void)state;
    fcb_environment env;
    assert_int_equal(fcb_environment_init(&env, K, 3), FCB_OK);
    env.click_feedback = 1;
    env.p_click = 0.8f;
    env.p_false = 0.1f;
    assert_int_equal(fcb_environment_set_partial_reward(&env, 6, 0, 0.5f), FCB_OK);
    assert_true(fcb_environment_true_reward(&env, 6, 0) == 0.5f);
    assert_true(fcb_environment_true_reward(&env, 0, 6) == 0.0f);
    double partial = click_rate(&env, 0, 6, 0, DRAWS, 2);
    double reverse = click_rate(&env, 0, 0, 6, DRAWS, 3);
    double exact = click_rate(&env, 0, 6, 6, DRAWS, 4);
    if (fabs(partial - (0.1 + 0.7 * 0.5)) > 0.01)
        fail_msg("partial reward click rate %.4f, expected 0.45", partial);
    assert_true(fabs(reverse - 0.1) < 0.01);
    assert_true(fabs(exact - 0.8) < 0.01);

    assert_int_equal(fcb_environment_set_partial_reward(&env, K, 0, 0.5f), FCB_ERR_ARG);
    assert_message_contains("label");
    assert_int_equal(fcb_environment_set_partial_reward(&env, 0, -1, 0.5f), FCB_ERR_ARG);
    assert_message_contains("action");
    assert_int_equal(fcb_environment_set_partial_reward(&env, 0, 1, 2.0f), FCB_ERR_ARG);
    assert_message_contains("reward");
    assert_int_equal(fcb_environment_set_partial_reward(&env, 0, 1, NAN), FCB_ERR_ARG);
    fcb_environment_free(&env);
}

static void test_permutation_drift(void **state)
{
    (void)state;
    fcb_environment env;
    assert_int_equal(fcb_environment_init(&env, K, 5), FCB_OK);
    env.drift = FCB_DRIFT_PERMUTATION;
    env.drift_start = 5;
    assert_int_equal(fcb_environment_validate(&env), FCB_OK);
    fcb_rng rng;
    fcb_rng_init(&rng, 1, FCB_STREAM_TEST, 0, 0);
    for (int round = 0; round < 12; round++) {
        int histogram[K] = {0};
        for (int y = 0; y < K; y++) {
            int label = fcb_environment_label_at(&env, y, round, &rng);
            if (round < 5)
                assert_int_equal(label, y);
            else
                assert_int_equal(label, env.permutation[y]);
            histogram[label]++;
        }
        /* A permutation moves labels around without changing their mix. */
        for (int c = 0; c < K; c++)
            assert_int_equal(histogram[c], 1);
    }
    /* With the permuted label, the reward goes to the new class. */
    int moved = fcb_environment_label_at(&env, 2, 5, &rng);
    assert_true(fcb_environment_true_reward(&env, moved, 2) == 0.0f);
    assert_true(fcb_environment_true_reward(&env, moved, env.permutation[2]) == 1.0f);
    for (int c = 0; c < K; c++)
        assert_true(fcb_environment_class_weight(&env, c, 7) == 1.0);
    fcb_environment_free(&env);
}

static void test_gradual_drift(void **state)
{
    (void)state;
    enum { START = 10, DURATION = 20, PER_ROUND = 4000 };
    fcb_environment env;
    assert_int_equal(fcb_environment_init(&env, K, 5), FCB_OK);
    env.drift = FCB_DRIFT_GRADUAL;
    env.drift_start = START;
    env.drift_duration = DURATION;
    assert_int_equal(fcb_environment_validate(&env), FCB_OK);
    for (int round = 0; round < START + DURATION + 5; round++) {
        fcb_rng rng;
        fcb_rng_init(&rng, 9, FCB_STREAM_TEST, 0, (uint32_t)round);
        int permuted = 0;
        for (int i = 0; i < PER_ROUND; i++) {
            int y = i % K;
            int label = fcb_environment_label_at(&env, y, round, &rng);
            assert_true(label == y || label == env.permutation[y]);
            permuted += label != y;
        }
        double expected = (double)(round - START + 1) / DURATION;
        expected = expected < 0.0 ? 0.0 : (expected > 1.0 ? 1.0 : expected);
        double observed = (double)permuted / PER_ROUND;
        if (fabs(observed - expected) > 0.03)
            fail_msg("round %d: %.3f of labels permuted, expected %.3f", round, observed, expected);
    }
    /* One uniform per call whatever the round, so streams stay aligned. */
    fcb_rng before, after;
    fcb_rng_init(&before, 9, FCB_STREAM_TEST, 1, 0);
    fcb_rng_init(&after, 9, FCB_STREAM_TEST, 1, 0);
    for (int i = 0; i < 3; i++) {
        fcb_environment_label_at(&env, i, 0, &before);
        fcb_environment_label_at(&env, i, START + DURATION + 50, &after);
    }
    assert_int_equal(fcb_rng_u32(&before), fcb_rng_u32(&after));
    fcb_environment_free(&env);
}

static void test_prior_drift(void **state)
{
    (void)state;
    enum { PERIOD = 20 };
    fcb_environment env;
    assert_int_equal(fcb_environment_init(&env, K, 5), FCB_OK);
    env.drift = FCB_DRIFT_PRIOR;
    env.drift_period = PERIOD;
    env.drift_strength = 0.8f;
    assert_int_equal(fcb_environment_validate(&env), FCB_OK);
    double time_average[K] = {0};
    for (int round = 0; round < PERIOD; round++) {
        double mean = 0.0;
        int heaviest = 0;
        for (int c = 0; c < K; c++) {
            double w = fcb_environment_class_weight(&env, c, round);
            assert_true(w >= 1.0 - 0.8 - 1e-6 && w <= 1.0 + 0.8 + 1e-6);
            assert_float_equal(w, fcb_environment_class_weight(&env, c, round + PERIOD), 1e-9);
            if (w > fcb_environment_class_weight(&env, heaviest, round))
                heaviest = c;
            mean += w / K;
            time_average[c] += w / PERIOD;
        }
        /* The total weight is conserved: priors rotate, they do not grow. */
        assert_float_equal(mean, 1.0, 1e-9);
        /* The favoured class moves with the round: class c peaks at round c * PERIOD / K. */
        if (round % (PERIOD / K) == 0)
            assert_int_equal(heaviest, round / (PERIOD / K));
    }
    for (int c = 0; c < K; c++)
        assert_float_equal(time_average[c], 1.0, 1e-9);
    /* The mix really changes across rounds. */
    double w0 = fcb_environment_class_weight(&env, 0, 0), w10 = fcb_environment_class_weight(&env, 0, PERIOD / 2);
    assert_float_equal(w0, 1.8, 1e-6);
    assert_float_equal(w10, 0.2, 1e-6);
    /* Labels are untouched by prior drift. */
    fcb_rng rng;
    fcb_rng_init(&rng, 1, FCB_STREAM_TEST, 0, 0);
    assert_int_equal(fcb_environment_label_at(&env, 3, 100, &rng), 3);
    fcb_environment_free(&env);
}

static void test_late_classes(void **state)
{
    (void)state;
    fcb_environment env;
    assert_int_equal(fcb_environment_init(&env, K, 5), FCB_OK);
    env.drift = FCB_DRIFT_LATE_CLASSES;
    env.drift_start = 7;
    env.num_late_classes = 2;
    env.late_classes[0] = 2;
    env.late_classes[1] = 5;
    assert_int_equal(fcb_environment_validate(&env), FCB_OK);
    for (int round = 0; round < 15; round++) {
        for (int c = 0; c < K; c++) {
            double w = fcb_environment_class_weight(&env, c, round);
            int late = c == 2 || c == 5;
            assert_true(w == (late && round < 7 ? 0.0 : 1.0));
        }
    }
    fcb_environment_free(&env);
}

static void test_no_drift_weights_and_labels(void **state)
{
    (void)state;
    fcb_environment env;
    assert_int_equal(fcb_environment_init(&env, K, 5), FCB_OK);
    fcb_rng rng;
    fcb_rng_init(&rng, 1, FCB_STREAM_TEST, 0, 0);
    for (int round = 0; round < 50; round += 7)
        for (int c = 0; c < K; c++) {
            assert_true(fcb_environment_class_weight(&env, c, round) == 1.0);
            assert_int_equal(fcb_environment_label_at(&env, c, round, &rng), c);
        }
    fcb_environment_free(&env);
}

static void test_per_client_noise(void **state)
{
    (void)state;
    enum { CLIENTS = 12, PER_CLIENT = 20000 };
    const double spread = 0.15;
    fcb_environment env;
    assert_int_equal(fcb_environment_init(&env, K, 77), FCB_OK);
    env.click_feedback = 1;
    env.p_click = 0.6f;
    env.p_false = 0.2f;
    env.noise_spread = (float)spread;
    assert_int_equal(fcb_environment_validate(&env), FCB_OK);
    double lo = 1.0, hi = 0.0;
    for (int c = 0; c < CLIENTS; c++) {
        double correct = click_rate(&env, c, 1, 1, PER_CLIENT, 10);
        double wrong = click_rate(&env, c, 1, 2, PER_CLIENT, 11);
        if (correct < 0.6 - spread - 0.02 || correct > 0.6 + spread + 0.02)
            fail_msg("client %d: correct click rate %.3f outside 0.6 +- %.2f", c, correct, spread);
        if (wrong < 0.2 - spread - 0.02 || wrong > 0.2 + spread + 0.02)
            fail_msg("client %d: wrong click rate %.3f outside 0.2 +- %.2f", c, wrong, spread);
        /* Both rates move together by the client's shift. */
        assert_true(fabs((correct - wrong) - 0.4) < 0.03);
        /* The client's rates are a property of the client, not of the stream. */
        assert_true(fabs(click_rate(&env, c, 1, 1, PER_CLIENT, 12) - correct) < 0.03);
        lo = fmin(lo, correct);
        hi = fmax(hi, correct);
    }
    /* Clients differ: uniform shifts over +-0.15 spread 12 clients widely. */
    assert_true(hi - lo > 0.1);

    /* Shifts past the ends clamp: with p_click 0.9 some clients click always. */
    env.p_click = 0.9f;
    env.p_false = 0.0f;
    env.noise_spread = 0.3f;
    int always = 0;
    for (int c = 0; c < 40; c++)
        always += click_rate(&env, c, 1, 1, 2000, 13) == 1.0;
    assert_true(always > 0);

    /* Without spread every client clicks at the configured rate. */
    env.p_click = 0.6f;
    env.p_false = 0.2f;
    env.noise_spread = 0.0f;
    for (int c = 0; c < 5; c++)
        assert_true(fabs(click_rate(&env, c, 1, 1, PER_CLIENT, 14) - 0.6) < 0.02);
    fcb_environment_free(&env);
}

static void test_validation_names_the_field(void **state)
{
    (void)state;
    fcb_environment env;
    assert_int_equal(fcb_environment_init(&env, K, 5), FCB_OK);

    env.p_click = 1.5f;
    assert_int_equal(fcb_environment_validate(&env), FCB_ERR_CONFIG);
    assert_message_contains("p_click");
    env.p_click = 0.8f;

    env.p_false = -0.1f;
    assert_int_equal(fcb_environment_validate(&env), FCB_ERR_CONFIG);
    assert_message_contains("p_false");
    /* p_false above p_click is allowed (adversarial users). */
    env.p_false = 0.9f;
    assert_int_equal(fcb_environment_validate(&env), FCB_OK);
    env.p_false = 0.1f;

    env.noise_spread = NAN;
    assert_int_equal(fcb_environment_validate(&env), FCB_ERR_CONFIG);
    assert_message_contains("noise_spread");
    env.noise_spread = 0.0f;

    env.reward_table[3 * K + 1] = 2.0f;
    assert_int_equal(fcb_environment_validate(&env), FCB_ERR_CONFIG);
    assert_message_contains("reward_table[3][1]");
    env.reward_table[3 * K + 1] = 0.0f;

    env.drift = FCB_DRIFT_LATE_CLASSES;
    env.num_late_classes = 1;
    env.late_classes[0] = K;
    assert_int_equal(fcb_environment_validate(&env), FCB_ERR_CONFIG);
    assert_message_contains("late_classes[0]");
    env.late_classes[0] = -1;
    assert_int_equal(fcb_environment_validate(&env), FCB_ERR_CONFIG);
    env.late_classes[0] = 1;
    env.num_late_classes = K + 1;
    assert_int_equal(fcb_environment_validate(&env), FCB_ERR_CONFIG);
    assert_message_contains("num_late_classes");
    env.num_late_classes = 1;
    assert_int_equal(fcb_environment_validate(&env), FCB_OK);

    env.drift_start = -1;
    assert_int_equal(fcb_environment_validate(&env), FCB_ERR_CONFIG);
    assert_message_contains("drift_start");
    env.drift_start = 0;

    env.drift = FCB_DRIFT_GRADUAL;
    env.drift_duration = 0;
    assert_int_equal(fcb_environment_validate(&env), FCB_ERR_CONFIG);
    assert_message_contains("drift_duration");
    env.drift_duration = 5;

    env.drift = FCB_DRIFT_PRIOR;
    env.drift_period = 0;
    assert_int_equal(fcb_environment_validate(&env), FCB_ERR_CONFIG);
    assert_message_contains("drift_period");
    env.drift_period = 10;
    env.drift_strength = 1.5f;
    assert_int_equal(fcb_environment_validate(&env), FCB_ERR_CONFIG);
    assert_message_contains("drift_strength");
    env.drift_strength = 0.5f;

    env.drift = FCB_DRIFT_PERMUTATION;
    env.permutation[1] = env.permutation[0];
    assert_int_equal(fcb_environment_validate(&env), FCB_ERR_CONFIG);
    assert_message_contains("permutation");

    env.drift = (fcb_drift_kind)42;
    assert_int_equal(fcb_environment_validate(&env), FCB_ERR_CONFIG);
    assert_message_contains("drift");

    assert_int_equal(fcb_environment_validate(NULL), FCB_ERR_ARG);
    fcb_environment_free(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_defaults),
        cmocka_unit_test(test_permutation_is_seeded_derangement),
        cmocka_unit_test(test_exact_feedback_returns_table),
        cmocka_unit_test(test_click_noise_rates),
        cmocka_unit_test(test_partial_reward_click_rate),
        cmocka_unit_test(test_permutation_drift),
        cmocka_unit_test(test_gradual_drift),
        cmocka_unit_test(test_prior_drift),
        cmocka_unit_test(test_late_classes),
        cmocka_unit_test(test_no_drift_weights_and_labels),
        cmocka_unit_test(test_per_client_noise),
        cmocka_unit_test(test_validation_names_the_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
