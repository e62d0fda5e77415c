#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "feature_skew.h"
#include "partition.h"
#include "rng.h"
#include "status.h"

enum { K = 10 };

/* Labels of `total` rows: every class equally often, in a scrambled order. */
static int *make_labels(int total, uint64_t seed)
{
    int *labels = malloc((size_t)total * sizeof *labels);
    assert_non_null(labels);
    for (int i = 0; i < total; i++)
        labels[i] = i % K;
    fcb_rng rng;
    fcb_rng_init(&rng, seed, FCB_STREAM_TEST, 0, 0);
    fcb_rng_shuffle_int(&rng, labels, total);
    return labels;
}

static int *identity_rows(int n)
{
    int *rows = malloc((size_t)n * sizeof *rows);
    assert_non_null(rows);
    for (int i = 0; i < n; i++)
        rows[i] = i;
    return rows;
}

/* Each row of rows[0..n) appears exactly once, no other row appears, and
 * every client has at least one row. */
static void assert_exact_cover(const fcb_partition *part, const int *rows, int n, int total)
{
    int *seen = calloc((size_t)total, sizeof *seen);
    char *listed = calloc((size_t)total, 1);
    assert_non_null(seen);
    assert_non_null(listed);
    for (int i = 0; i < n; i++)
        listed[rows[i]] = 1;
    assert_int_equal(part->offsets[0], 0);
    assert_int_equal(part->offsets[part->num_clients], n);
    for (int c = 0; c < part->num_clients; c++) {
        assert_true(part->offsets[c + 1] > part->offsets[c]);
        for (int i = part->offsets[c]; i < part->offsets[c + 1]; i++) {
            int row = part->indices[i];
            assert_true(row >= 0 && row < total);
            assert_true(listed[row]);
            seen[row]++;
        }
    }
    for (int i = 0; i < total; i++)
        assert_int_equal(seen[i], listed[i] ? 1 : 0);
    free(seen);
    free(listed);
}

static int partitions_equal(const fcb_partition *a, const fcb_partition *b)
{
    return a->num_clients == b->num_clients &&
           memcmp(a->offsets, b->offsets, ((size_t)a->num_clients + 1) * sizeof *a->offsets) == 0 &&
           memcmp(a->indices, b->indices, (size_t)a->offsets[a->num_clients] * sizeof *a->indices) == 0;
}

static int client_size(const fcb_partition *part, int c)
{
    return part->offsets[c + 1] - part->offsets[c];
}

static void test_every_row_once_and_deterministic(void **state)
{
    (void)state;
    /* Partition the odd rows of 4001 only: even rows must stay unassigned. */
    enum { TOTAL = 4001 };
    int *labels = make_labels(TOTAL, 1);
    int rows[TOTAL / 2];
    int n = 0;
    for (int i = 1; i < TOTAL; i += 2)
        rows[n++] = i;
    const fcb_partition_config configs[] = {{0.0, 0.0}, {0.0, 1.0}, {0.1, 0.0}, {0.5, 0.5}, {100.0, 0.0},
                                            {0.01, 2.0}};
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        fcb_partition a, b, c;
        assert_int_equal(fcb_partition_make(&configs[i], rows, n, labels, K, 13, 99, &a), FCB_OK);
        assert_int_equal(a.num_clients, 13);
        assert_exact_cover(&a, rows, n, TOTAL);
        assert_int_equal(fcb_partition_make(&configs[i], rows, n, labels, K, 13, 99, &b), FCB_OK);
        assert_true(partitions_equal(&a, &b));
        assert_int_equal(fcb_partition_make(&configs[i], rows, n, labels, K, 13, 100, &c), FCB_OK);
        assert_false(partitions_equal(&a, &c));
        fcb_partition_free(&a);
        fcb_partition_free(&b);
        fcb_partition_free(&c);
        assert_null(a.indices);
        assert_int_equal(a.num_clients, 0);
    }
    free(labels);
}

static void test_equal_sizes_without_quantity_skew(void **state)
{
    (void)state;
    enum { N = 1003, CLIENTS = 7 };
    int *labels = make_labels(N, 2);
    int *rows = identity_rows(N);
    fcb_partition_config config = {0.0, 0.0};
    fcb_partition part;
    assert_int_equal(fcb_partition_make(&config, rows, N, labels, K, CLIENTS, 5, &part), FCB_OK);
    for (int c = 0; c < CLIENTS; c++) {
        assert_true(client_size(&part, c) >= N / CLIENTS);
        assert_true(client_size(&part, c) <= N / CLIENTS + 1);
    }
    fcb_partition_free(&part);
    free(rows);
    free(labels);
}

static void size_extremes(const fcb_partition *part, int *min, int *max)
{
    *min = client_size(part, 0);
    *max = *min;
    for (int c = 1; c < part->num_clients; c++) {
        int s = client_size(part, c);
        *min = s < *min ? s : *min;
        *max = s > *max ? s : *max;
    }
}

static void test_quantity_skew(void **state)
{
    (void)state;
    enum { N = 10000, CLIENTS = 50 };
    int *labels = make_labels(N, 3);
    int *rows = identity_rows(N);
    for (int dirichlet = 0; dirichlet <= 1; dirichlet++) {
        fcb_partition_config config = {dirichlet ? 100.0 : 0.0, 1.0};
        fcb_partition part;
        assert_int_equal(fcb_partition_make(&config, rows, N, labels, K, CLIENTS, 11, &part), FCB_OK);
        int min, max;
        size_extremes(&part, &min, &max);
        if ((double)max / min <= 3.0)
            fail_msg("dirichlet %d: sizes %d..%d not spread by sigma = 1", dirichlet, min, max);
        /* Log-normal(0, 1) proportions: the median client holds well under the mean. */
        int below_mean = 0;
        for (int c = 0; c < CLIENTS; c++)
            below_mean += client_size(&part, c) < N / CLIENTS;
        assert_true(below_mean > CLIENTS / 2);
        fcb_partition_free(&part);
    }
    free(rows);
    free(labels);
}

/* Average over clients of the number of classes holding >= 5% of the
 * client's rows; and the largest total-variation distance between a client's
 * label distribution and the uniform global one, over clients with >= 200 rows. */
static void label_skew_stats(const fcb_partition *part, const int *labels, double *classes_held, double *max_tv)
{
    int *counts = malloc((size_t)part->num_clients * K * sizeof *counts);
    assert_non_null(counts);
    assert_int_equal(fcb_partition_label_counts(part, labels, K, counts), FCB_OK);
    double held = 0.0;
    *max_tv = 0.0;
    for (int c = 0; c < part->num_clients; c++) {
        int size = client_size(part, c);
        double tv = 0.0;
        for (int k = 0; k < K; k++) {
            double share = (double)counts[c * K + k] / size;
            held += share >= 0.05;
            tv += 0.5 * fabs(share - 1.0 / K);
        }
        if (size >= 200 && tv > *max_tv)
            *max_tv = tv;
    }
    *classes_held = held / part->num_clients;
    free(counts);
}

static void test_dirichlet_label_skew_follows_alpha(void **state)
{
    (void)state;
    enum { N = 12000, CLIENTS = 20 };
    int *labels = make_labels(N, 4);
    int *rows = identity_rows(N);
    for (uint64_t seed = 1; seed <= 3; seed++) {
        fcb_partition_config skewed = {0.1, 0.0}, mild = {100.0, 0.0};
        fcb_partition a, b;
        assert_int_equal(fcb_partition_make(&skewed, rows, N, labels, K, CLIENTS, seed, &a), FCB_OK);
        assert_int_equal(fcb_partition_make(&mild, rows, N, labels, K, CLIENTS, seed, &b), FCB_OK);
        double held_skewed, held_mild, tv_skewed, tv_mild;
        label_skew_stats(&a, labels, &held_skewed, &tv_skewed);
        label_skew_stats(&b, labels, &held_mild, &tv_mild);
        if (held_skewed > 3.0)
            fail_msg("alpha 0.1, seed %d: %.2f classes held per client", (int)seed, held_skewed);
        if (held_mild < 9.5)
            fail_msg("alpha 100, seed %d: %.2f classes held per client", (int)seed, held_mild);
        if (tv_mild >= 0.15)
            fail_msg("alpha 100, seed %d: total variation %.3f from the global mix", (int)seed, tv_mild);
        assert_true(tv_skewed > 0.5);
        fcb_partition_free(&a);
        fcb_partition_free(&b);
    }
    free(rows);
    free(labels);
}

static void test_iid_labels_match_global_mix(void **state)
{
    (void)state;
    /* Chi-square test of independence of client and label; df = 9 * 9 = 81,
     * so the statistic is about 81 +- 13 under IID assignment. Two-sided: a
     * partition that deals labels out evenly (a statistic near 0) is not
     * IID sampling either. */
    enum { N = 20000, CLIENTS = 10 };
    int *labels = make_labels(N, 5);
    int *rows = identity_rows(N);
    fcb_partition_config config = {0.0, 0.0};
    fcb_partition part;
    assert_int_equal(fcb_partition_make(&config, rows, N, labels, K, CLIENTS, 21, &part), FCB_OK);
    int counts[CLIENTS * K];
    assert_int_equal(fcb_partition_label_counts(&part, labels, K, counts), FCB_OK);
    double chi2 = 0.0;
    for (int c = 0; c < CLIENTS; c++) {
        for (int k = 0; k < K; k++) {
            double expected = (double)client_size(&part, c) / K;
            double diff = counts[c * K + k] - expected;
            chi2 += diff * diff / expected;
        }
    }
    print_message("IID partition: chi-square %.1f (df 81)\n", chi2);
    if (chi2 > 81.0 + 4.0 * 12.7)
        fail_msg("chi-square %.1f too large for IID", chi2);
    if (chi2 < 81.0 - 4.0 * 12.7)
        fail_msg("chi-square %.1f too small for IID: labels dealt out too evenly", chi2);
    fcb_partition_free(&part);
    free(rows);
    free(labels);
}

static void test_client_rows_are_shuffled(void **state)
{
    (void)state;
    /* With mild skew a client holds all classes; its first 40 rows must mix
     * many classes rather than run through them class by class. */
    enum { N = 6000, CLIENTS = 5 };
    int *labels = make_labels(N, 6);
    int *rows = identity_rows(N);
    fcb_partition_config config = {100.0, 0.0};
    fcb_partition part;
    assert_int_equal(fcb_partition_make(&config, rows, N, labels, K, CLIENTS, 8, &part), FCB_OK);
    for (int c = 0; c < CLIENTS; c++) {
        int present[K] = {0}, distinct = 0;
        for (int i = 0; i < 40; i++)
            present[labels[part.indices[part.offsets[c] + i]]] = 1;
        for (int k = 0; k < K; k++)
            distinct += present[k];
        assert_true(distinct >= 7);
    }
    fcb_partition_free(&part);
    free(rows);
    free(labels);
}

static void test_label_counts_sum_to_global(void **state)
{
    (void)state;
    enum { N = 3000, CLIENTS = 9 };
    int *labels = make_labels(N, 7);
    int *rows = identity_rows(N);
    fcb_partition_config config = {0.3, 0.5};
    fcb_partition part;
    assert_int_equal(fcb_partition_make(&config, rows, N, labels, K, CLIENTS, 3, &part), FCB_OK);
    int counts[CLIENTS * K];
    assert_int_equal(fcb_partition_label_counts(&part, labels, K, counts), FCB_OK);
    for (int c = 0; c < CLIENTS; c++) {
        int manual[K] = {0}, total = 0;
        for (int i = part.offsets[c]; i < part.offsets[c + 1]; i++)
            manual[labels[part.indices[i]]]++;
        for (int k = 0; k < K; k++) {
            assert_int_equal(counts[c * K + k], manual[k]);
            total += counts[c * K + k];
        }
        assert_int_equal(total, client_size(&part, c));
    }
    for (int k = 0; k < K; k++) {
        int sum = 0;
        for (int c = 0; c < CLIENTS; c++)
            sum += counts[c * K + k];
        assert_int_equal(sum, N / K);
    }
    /* Labels outside [0, k) are reported. */
    assert_int_equal(fcb_partition_label_counts(&part, labels, 5, counts), FCB_ERR_ARG);
    fcb_partition_free(&part);
    free(rows);
    free(labels);
}

static void test_as_many_clients_as_rows(void **state)
{
    (void)state;
    /* Tiny alpha leaves most clients empty before the repair step. */
    enum { N = 30 };
    int *labels = make_labels(N, 8);
    int *rows = identity_rows(N);
    const fcb_partition_config configs[] = {{0.01, 0.0}, {0.0, 3.0}, {0.01, 3.0}};
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        fcb_partition part;
        assert_int_equal(fcb_partition_make(&configs[i], rows, N, labels, K, N, 1, &part), FCB_OK);
        assert_exact_cover(&part, rows, N, N);
        for (int c = 0; c < N; c++)
            assert_int_equal(client_size(&part, c), 1);
        fcb_partition_free(&part);
    }
    free(rows);
    free(labels);
}

static void test_rejects_bad_arguments(void **state)
{
    (void)state;
    enum { N = 20 };
    int *labels = make_labels(N, 9);
    int *rows = identity_rows(N);
    fcb_partition_config config = {0.5, 0.0};
    fcb_partition part;
    assert_int_equal(fcb_partition_make(&config, rows, N, labels, K, N + 1, 1, &part), FCB_ERR_ARG);
    assert_non_null(strstr(fcb_last_error(), "21 clients"));
    assert_null(part.indices);
    assert_int_equal(fcb_partition_make(&config, rows, N, labels, K, 0, 1, &part), FCB_ERR_ARG);
    assert_int_equal(fcb_partition_make(&config, rows, N, labels, 5, 4, 1, &part), FCB_ERR_ARG);
    assert_non_null(strstr(fcb_last_error(), "label"));
    fcb_partition_config bad_alpha = {NAN, 0.0};
    assert_int_equal(fcb_partition_make(&bad_alpha, rows, N, labels, K, 4, 1, &part), FCB_ERR_ARG);
    assert_non_null(strstr(fcb_last_error(), "dirichlet_alpha"));
    fcb_partition_config bad_sigma = {0.0, -1.0};
    assert_int_equal(fcb_partition_make(&bad_sigma, rows, N, labels, K, 4, 1, &part), FCB_ERR_ARG);
    assert_non_null(strstr(fcb_last_error(), "size_sigma"));
    rows[3] = -1;
    assert_int_equal(fcb_partition_make(&config, rows, N, labels, K, 4, 1, &part), FCB_ERR_ARG);
    assert_non_null(strstr(fcb_last_error(), "rows[3]"));
    free(rows);
    free(labels);
}

/* Rows 0 and 1 of a probe are all zeros and all ones: after the transform
 * they read the client's offset o and scale + offset s + o. */
static void skew_probe(int client, uint64_t seed, float strength, float *scale, float *offset)
{
    enum { D = 5 };
    float x[2 * D];
    for (int j = 0; j < D; j++) {
        x[j] = 0.0f;
        x[D + j] = 1.0f;
    }
    assert_int_equal(fcb_feature_skew_apply(x, 2, D, client, seed, strength), FCB_OK);
    for (int j = 1; j < D; j++) {
        assert_true(x[j] == x[0]);
        assert_true(x[D + j] == x[D]);
    }
    *offset = x[0];
    *scale = x[D] - x[0];
}

static void test_feature_skew(void **state)
{
    (void)state;
    /* strength 0 is the identity. */
    float x[6] = {0.25f, -1.0f, 3.0f, 0.0f, 1.0f, 0.5f};
    float copy[6];
    memcpy(copy, x, sizeof x);
    assert_int_equal(fcb_feature_skew_apply(x, 2, 3, 4, 9, 0.0f), FCB_OK);
    assert_memory_equal(x, copy, sizeof x);

    const float strength = 0.6f;
    float min_scale = 2.0f, max_scale = 0.0f, min_offset = 1.0f, max_offset = -1.0f;
    for (int client = 0; client < 40; client++) {
        float scale, offset, again_scale, again_offset;
        skew_probe(client, 9, strength, &scale, &offset);
        skew_probe(client, 9, strength, &again_scale, &again_offset);
        assert_true(scale == again_scale && offset == again_offset);
        assert_true(scale >= 1.0f - strength - 1e-6f && scale <= 1.0f + strength + 1e-6f);
        assert_true(offset >= -strength / 2 - 1e-6f && offset <= strength / 2 + 1e-6f);
        min_scale = fminf(min_scale, scale);
        max_scale = fmaxf(max_scale, scale);
        min_offset = fminf(min_offset, offset);
        max_offset = fmaxf(max_offset, offset);
    }
    /* 40 clients spread over most of the allowed ranges. */
    assert_true(max_scale - min_scale > strength);
    assert_true(max_offset - min_offset > strength / 2);

    /* The transform is affine: x' = s x + o for arbitrary x. */
    float scale, offset;
    skew_probe(3, 9, strength, &scale, &offset);
    assert_int_equal(fcb_feature_skew_apply(x, 2, 3, 3, 9, strength), FCB_OK);
    for (int i = 0; i < 6; i++)
        assert_float_equal(x[i], scale * copy[i] + offset, 1e-6);

    assert_int_equal(fcb_feature_skew_apply(x, 2, 3, 3, 9, 1.5f), FCB_ERR_ARG);
    assert_non_null(strstr(fcb_last_error(), "strength"));
    assert_int_equal(fcb_feature_skew_apply(x, 2, 3, 3, 9, NAN), FCB_ERR_ARG);
    assert_int_equal(fcb_feature_skew_apply(x, 2, 3, 3, 9, -0.1f), FCB_ERR_ARG);
    assert_int_equal(fcb_feature_skew_apply(NULL, 2, 3, 3, 9, 0.5f), FCB_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_row_once_and_deterministic),
        cmocka_unit_test(test_equal_sizes_without_quantity_skew),
        cmocka_unit_test(test_quantity_skew),
        cmocka_unit_test(test_dirichlet_label_skew_follows_alpha),
        cmocka_unit_test(test_iid_labels_match_global_mix),
        cmocka_unit_test(test_client_rows_are_shuffled),
        cmocka_unit_test(test_label_counts_sum_to_global),
        cmocka_unit_test(test_as_many_clients_as_rows),
        cmocka_unit_test(test_rejects_bad_arguments),
        cmocka_unit_test(test_feature_skew),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
