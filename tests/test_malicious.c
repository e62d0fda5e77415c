/* The malicious-client simulator: names and validation, the exact and
 * uniform seeded choice of the malicious set, and each attack's effect. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "malicious.h"

static void assert_config_rejected(const fcb_malicious_config *config, const char *expected)
{
    assert_int_equal(fcb_malicious_config_validate(config), FCB_ERR_CONFIG);
    if (strcmp(fcb_last_error(), expected) != 0)
        fail_msg("message '%s', expected '%s'", fcb_last_error(), expected);
}

static fcb_malicious_config attack(fcb_attack_kind kind, double fraction, double scale)
{
    fcb_malicious_config config = fcb_malicious_config_defaults();
    config.kind = kind;
    config.fraction = fraction;
    config.scale = scale;
    return config;
}

static double norm_of(const float *v, size_t dim)
{
    double squares = 0.0;
    for (size_t i = 0; i < dim; i++)
        squares += (double)v[i] * v[i];
    return sqrt(squares);
}

static void test_names_round_trip(void **state)
{
    (void)state;
    const fcb_attack_kind kinds[] = {FCB_ATTACK_NONE, FCB_ATTACK_SIGN_FLIP, FCB_ATTACK_SCALE,
                                     FCB_ATTACK_NOISE};
    const char *names[] = {"none", "sign_flip", "scale", "noise"};
    for (int i = 0; i < 4; i++) {
        fcb_attack_kind kind;
        assert_string_equal(fcb_attack_kind_name(kinds[i]), names[i]);
        assert_int_equal(fcb_attack_kind_from_name(names[i], &kind), FCB_OK);
        assert_int_equal(kind, kinds[i]);
    }
    fcb_attack_kind kind;
    assert_int_equal(fcb_attack_kind_from_name("backdoor", &kind), FCB_ERR_CONFIG);
    assert_non_null(strstr(fcb_last_error(), "'backdoor'"));
    assert_int_equal(fcb_attack_kind_from_name(NULL, &kind), FCB_ERR_CONFIG);
}

static void test_validation_names_the_field(void **state)
{
    (void)state;
    fcb_malicious_config defaults = fcb_malicious_config_defaults();
    assert_int_equal(defaults.kind, FCB_ATTACK_NONE);
    assert_int_equal(fcb_malicious_config_validate(&defaults), FCB_OK);

    fcb_malicious_config c = attack(FCB_ATTACK_SIGN_FLIP, 1.5, 1.0);
    assert_config_rejected(&c, "malicious.fraction = 1.5: must be in [0, 1]");
    c.fraction = -0.1;
    assert_config_rejected(&c, "malicious.fraction = -0.1: must be in [0, 1]");
    c.fraction = NAN;
    assert_int_equal(fcb_malicious_config_validate(&c), FCB_ERR_CONFIG);
    assert_non_null(strstr(fcb_last_error(), "malicious.fraction"));
    c = attack(FCB_ATTACK_SCALE, 0.2, -2.0);
    assert_config_rejected(&c, "malicious.scale = -2: must be finite and >= 0");
    c.scale = INFINITY;
    assert_config_rejected(&c, "malicious.scale = inf: must be finite and >= 0");
    c = attack((fcb_attack_kind)17, 0.2, 1.0);
    assert_int_equal(fcb_malicious_config_validate(&c), FCB_ERR_CONFIG);
    assert_non_null(strstr(fcb_last_error(), "malicious.kind"));

    c = attack(FCB_ATTACK_NOISE, 1.0, 0.0);
    assert_int_equal(fcb_malicious_config_validate(&c), FCB_OK);
    c.fraction = 0.0;
    assert_int_equal(fcb_malicious_config_validate(&c), FCB_OK);
}

static void test_count_rounds_fraction_times_clients(void **state)
{
    (void)state;
    assert_int_equal(fcb_malicious_count(0.2, 50), 10);
    assert_int_equal(fcb_malicious_count(0.0, 7), 0);
    assert_int_equal(fcb_malicious_count(1.0, 7), 7);
    assert_int_equal(fcb_malicious_count(0.3, 10), 3);
    assert_int_equal(fcb_malicious_count(0.25, 10), 3); /* 2.5, half away from zero */
    assert_int_equal(fcb_malicious_count(0.24, 10), 2);
    assert_int_equal(fcb_malicious_count(0.05, 10), 1);
    assert_int_equal(fcb_malicious_count(0.01, 10), 0);
}

static int count_flags(const unsigned char *flags, int n)
{
    int total = 0;
    for (int i = 0; i < n; i++) {
        assert_true(flags[i] == 0 || flags[i] == 1);
        total += flags[i];
    }
    return total;
}

static void test_choice_exact_count_and_deterministic(void **state)
{
    (void)state;
    enum { MAX_CLIENTS = 200 };
    unsigned char first[MAX_CLIENTS], second[MAX_CLIENTS];
    const double fractions[] = {0.0, 0.05, 0.1, 0.2, 0.25, 0.5, 0.73, 1.0};
    const int populations[] = {1, 3, 10, 57, 200};
    for (int f = 0; f < 8; f++) {
        for (int p = 0; p < 5; p++) {
            int n = populations[p];
            fcb_malicious_config config = attack(FCB_ATTACK_SIGN_FLIP, fractions[f], 1.0);
            assert_int_equal(fcb_malicious_choose(&config, 42, n, first), FCB_OK);
            assert_int_equal(count_flags(first, n), fcb_malicious_count(fractions[f], n));
            /* Same seed, same set; the attack kind does not change it. */
            config.kind = FCB_ATTACK_NOISE;
            assert_int_equal(fcb_malicious_choose(&config, 42, n, second), FCB_OK);
            assert_memory_equal(first, second, (size_t)n);
        }
    }
    /* Another seed, another set of 40 of 200. */
    fcb_malicious_config config = attack(FCB_ATTACK_SCALE, 0.2, 10.0);
    assert_int_equal(fcb_malicious_choose(&config, 1, MAX_CLIENTS, first), FCB_OK);
    assert_int_equal(fcb_malicious_choose(&config, 2, MAX_CLIENTS, second), FCB_OK);
    assert_int_equal(count_flags(first, MAX_CLIENTS), 40);
    assert_int_equal(count_flags(second, MAX_CLIENTS), 40);
    assert_true(memcmp(first, second, MAX_CLIENTS) != 0);

    /* No attack, nobody malicious whatever the fraction. */
    config = attack(FCB_ATTACK_NONE, 0.5, 1.0);
    assert_int_equal(fcb_malicious_choose(&config, 1, MAX_CLIENTS, first), FCB_OK);
    assert_int_equal(count_flags(first, MAX_CLIENTS), 0);

    config = attack(FCB_ATTACK_SCALE, 2.0, 1.0);
    assert_int_equal(fcb_malicious_choose(&config, 1, 10, first), FCB_ERR_CONFIG);
    config.fraction = 0.5;
    assert_int_equal(fcb_malicious_choose(&config, 1, 0, first), FCB_ERR_ARG);
}

static void test_choice_is_uniform_over_clients(void **state)
{
    (void)state;
    /* 3 of 10 over 3000 seeds: each client is picked 900 times in
     * expectation. Against the chi-square(9) 0.999 quantile 27.877; the
     * counts have variance 0.7 e and a fixed sum, so the statistic is about
     * 7/9 of a chi-square(9) and the threshold is conservative. */
    enum { N = 10, SEEDS = 3000 };
    long counts[N] = {0};
    fcb_malicious_config config = attack(FCB_ATTACK_SIGN_FLIP, 0.3, 1.0);
    unsigned char flags[N];
    for (int seed = 0; seed < SEEDS; seed++) {
        assert_int_equal(fcb_malicious_choose(&config, (uint64_t)seed, N, flags), FCB_OK);
        for (int c = 0; c < N; c++)
            counts[c] += flags[c];
    }
    double expected = SEEDS * 3.0 / N, statistic = 0.0;
    for (int c = 0; c < N; c++)
        statistic += (counts[c] - expected) * (counts[c] - expected) / expected;
    if (!(statistic < 27.877))
        fail_msg("chi-square %g over clients", statistic);
}

static void test_sign_flip_and_scale(void **state)
{
    (void)state;
    const float honest[4] = {1.0f, -2.0f, 0.5f, 0.0f};
    float delta[4];

    memcpy(delta, honest, sizeof delta);
    fcb_malicious_config config = attack(FCB_ATTACK_SIGN_FLIP, 0.2, 2.0);
    assert_int_equal(fcb_malicious_apply(&config, 7, 3, 0, delta, 4), FCB_OK);
    const float flipped[4] = {-2.0f, 4.0f, -1.0f, -0.0f};
    assert_memory_equal(delta, flipped, sizeof delta);
    assert_true(fabs(norm_of(delta, 4) - 2.0 * norm_of(honest, 4)) < 1e-12);

    memcpy(delta, honest, sizeof delta);
    config = attack(FCB_ATTACK_SIGN_FLIP, 0.2, 1.0);
    assert_int_equal(fcb_malicious_apply(&config, 7, 3, 0, delta, 4), FCB_OK);
    for (int i = 0; i < 4; i++)
        assert_true(delta[i] == -honest[i]);

    memcpy(delta, honest, sizeof delta);
    config = attack(FCB_ATTACK_SCALE, 0.2, 10.0);
    assert_int_equal(fcb_malicious_apply(&config, 7, 3, 0, delta, 4), FCB_OK);
    const float scaled[4] = {10.0f, -20.0f, 5.0f, 0.0f};
    assert_memory_equal(delta, scaled, sizeof delta);

    memcpy(delta, honest, sizeof delta);
    config = attack(FCB_ATTACK_NONE, 0.2, 10.0);
    assert_int_equal(fcb_malicious_apply(&config, 7, 3, 0, delta, 4), FCB_OK);
    assert_memory_equal(delta, honest, sizeof delta);

    assert_int_equal(fcb_malicious_apply(&config, 7, -1, 0, delta, 4), FCB_ERR_ARG);
    assert_int_equal(fcb_malicious_apply(&config, 7, 0, -1, delta, 4), FCB_ERR_ARG);
}

static void make_honest(float *delta, int dim)
{
    for (int i = 0; i < dim; i++)
        delta[i] = (float)(0.01 * (i % 7) - 0.02);
}

static void test_noise_attack(void **state)
{
    (void)state;
    enum { DIM = 2000 };
    static float honest[DIM], first[DIM], second[DIM];
    make_honest(honest, DIM);
    double honest_norm = norm_of(honest, DIM);
    fcb_malicious_config config = attack(FCB_ATTACK_NOISE, 0.2, 3.0);

    memcpy(first, honest, sizeof first);
    assert_int_equal(fcb_malicious_apply(&config, 5, 12, 4, first, DIM), FCB_OK);
    /* The norm is scale times the honest norm. */
    assert_true(fabs(norm_of(first, DIM) - 3.0 * honest_norm) < 1e-6 * honest_norm);
    /* It is noise: no longer aligned with the honest update (|cos| of two
     * independent directions in 2000 dimensions is about 1/sqrt(2000)), with
     * mean about 0 (standard error 3 |delta| / 2000 per coordinate). */
    double dot = 0.0, sum = 0.0;
    for (int i = 0; i < DIM; i++) {
        dot += (double)first[i] * honest[i];
        sum += first[i];
    }
    assert_true(fabs(dot / (norm_of(first, DIM) * honest_norm)) < 5.0 / sqrt((double)DIM));
    double per_coordinate_sd = 3.0 * honest_norm / sqrt((double)DIM);
    assert_true(fabs(sum / DIM) < 5.0 * per_coordinate_sd / sqrt((double)DIM));

    /* The same (seed, client, round): the same bytes. */
    memcpy(second, honest, sizeof second);
    assert_int_equal(fcb_malicious_apply(&config, 5, 12, 4, second, DIM), FCB_OK);
    assert_memory_equal(first, second, sizeof first);
    /* Another round, client or seed: other noise. */
    const int variants[3][3] = {{5, 12, 5}, {5, 13, 4}, {6, 12, 4}};
    for (int v = 0; v < 3; v++) {
        memcpy(second, honest, sizeof second);
        assert_int_equal(fcb_malicious_apply(&config, (uint64_t)variants[v][0], variants[v][1],
                                             variants[v][2], second, DIM),
                         FCB_OK);
        assert_true(memcmp(first, second, sizeof first) != 0);
        assert_true(fabs(norm_of(second, DIM) - 3.0 * honest_norm) < 1e-6 * honest_norm);
    }

    /* A zero update stays zero. */
    float zero[5] = {0};
    assert_int_equal(fcb_malicious_apply(&config, 5, 1, 1, zero, 5), FCB_OK);
    for (int i = 0; i < 5; i++)
        assert_true(zero[i] == 0.0f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_validation_names_the_field),
        cmocka_unit_test(test_count_rounds_fraction_times_clients),
        cmocka_unit_test(test_choice_exact_count_and_deterministic),
        cmocka_unit_test(test_choice_is_uniform_over_clients),
        cmocka_unit_test(test_sign_flip_and_scale),
        cmocka_unit_test(test_noise_attack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
