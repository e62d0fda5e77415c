#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_file.h"
#include "sim_evaluator.h"
#include "world.h"

/* data.validation_fraction: the validation rows are carved from the
 * training rows before anything else uses them, so they are disjoint from
 * every bandit client, from the init scenario's pretraining group and from
 * the test set; together with the training rows left they are exactly the
 * training rows of the run without a validation set. Synthetic rows are
 * Gaussian, so equal feature vectors mean the same row. */

enum { TRAIN = 3000, TEST = 700 };

static void set(fcb_config *c, const char *assignment)
{
    if (fcb_config_set(c, assignment) != FCB_OK)
        fail_msg("fcb_config_set(\"%s\"): %s", assignment, fcb_last_error());
}

static void init_config(fcb_config *c, const char *fraction)
{
    fcb_config_default(c);
    set(c, "data.source=synthetic");
    set(c, "data.synthetic_train=3000");
    set(c, "data.synthetic_test=700");
    set(c, "data.synthetic_dim=12");
    set(c, "scenario.kind=init");
    set(c, "scenario.pretrain_clients=5");
    set(c, "scenario.pretrain_epochs=1");
    set(c, "clients.num_clients=30");
    set(c, "clients.clients_per_round=5");
    set(c, "clients.dirichlet_alpha=0.5");
    char assignment[64];
    snprintf(assignment, sizeof assignment, "data.validation_fraction=%s", fraction);
    set(c, assignment);
}

static void build(fcb_world *w, const fcb_config *c)
{
    if (fcb_world_build(w, c) != FCB_OK)
        fail_msg("fcb_world_build: %s", fcb_last_error());
}

/* FNV-1a of a row's feature bytes. */
static uint64_t row_hash(const fcb_dataset *ds, int row)
{
    const unsigned char *p = (const unsigned char *)(ds->x + (size_t)row * ds->d);
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < (size_t)ds->d * sizeof(float); i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Hashes of rows[0..n) of ds (all rows when rows is NULL), sorted. */
static uint64_t *sorted_hashes(const fcb_dataset *ds, const int *rows, int n)
{
    uint64_t *h = malloc((size_t)(n > 0 ? n : 1) * sizeof *h);
    assert_non_null(h);
    for (int i = 0; i < n; i++)
        h[i] = row_hash(ds, rows ? rows[i] : i);
    qsort(h, (size_t)n, sizeof *h, compare_u64);
    return h;
}

static int count_common(const uint64_t *a, int na, const uint64_t *b, int nb)
{
    int i = 0, j = 0, common = 0;
    while (i < na && j < nb) {
        if (a[i] < b[j])
            i++;
        else if (a[i] > b[j])
            j++;
        else {
            common++;
            i++;
            j++;
        }
    }
    return common;
}

static void test_split_is_disjoint_from_clients_pretraining_and_test(void **state)
{
    (void)state;
    fcb_config c;
    fcb_world base, w;
    init_config(&c, "0");
    build(&base, &c);
    init_config(&c, "0.1");
    build(&w, &c);

    assert_int_equal(base.validation.n, 0);
    assert_int_equal(w.validation.n, TRAIN / 10);
    assert_int_equal(w.train.n + w.validation.n, TRAIN);
    assert_int_equal(w.num_pretrain_rows + w.num_bandit_rows, w.train.n);
    assert_true(w.num_pretrain_rows > 0);

    int nv = w.validation.n;
    uint64_t *val = sorted_hashes(&w.validation, NULL, nv);
    uint64_t *bandit = sorted_hashes(&w.train, w.clients.indices, w.num_bandit_rows);
    uint64_t *pretrain = sorted_hashes(&w.train, w.pretrain_rows, w.num_pretrain_rows);
    uint64_t *test = sorted_hashes(&w.test, NULL, w.test.n);
    uint64_t *all_train = sorted_hashes(&base.train, NULL, base.train.n);
    for (int i = 1; i < base.train.n; i++)
        assert_true(all_train[i - 1] != all_train[i]); /* the hashes tell rows apart */

    assert_int_equal(count_common(val, nv, bandit, w.num_bandit_rows), 0);
    assert_int_equal(count_common(val, nv, pretrain, w.num_pretrain_rows), 0);
    assert_int_equal(count_common(val, nv, test, w.test.n), 0);
    /* The validation rows come from the training rows, and the rest stay. */
    assert_int_equal(count_common(val, nv, all_train, base.train.n), nv);
    assert_int_equal(count_common(bandit, w.num_bandit_rows, all_train, base.train.n), w.num_bandit_rows);
    assert_int_equal(count_common(pretrain, w.num_pretrain_rows, all_train, base.train.n), w.num_pretrain_rows);
    /* The test set is the same with or without a validation set. */
    assert_int_equal(w.test.n, TEST);
    assert_memory_equal(w.test.x, base.test.x, (size_t)TEST * w.test.d * sizeof(float));

    free(val);
    free(bandit);
    free(pretrain);
    free(test);
    free(all_train);
    fcb_world_free(&base);
    fcb_world_free(&w);
}

static void test_split_is_seeded(void **state)
{
    (void)state;
    fcb_config c;
    fcb_world a, b;
    init_config(&c, "0.2");
    build(&a, &c);
    build(&b, &c);
    assert_int_equal(a.validation.n, b.validation.n);
    assert_memory_equal(a.validation.x, b.validation.x, (size_t)a.validation.n * a.validation.d * sizeof(float));
    assert_memory_equal(a.validation.y, b.validation.y, (size_t)a.validation.n * sizeof(int));
    assert_memory_equal(a.train.x, b.train.x, (size_t)a.train.n * a.train.d * sizeof(float));
    fcb_world_free(&a);
    fcb_world_free(&b);
}

/* Without a validation set the evaluator has no validate member (the
 * coordinator then writes no val_accuracy), with one it scores the
 * validation rows: the initial model's accuracy there is an exact count. */
static void test_evaluator_validates_only_with_a_validation_set(void **state)
{
    (void)state;
    fcb_config c;
    fcb_world w;
    init_config(&c, "0");
    build(&w, &c);
    fcb_sim_evaluator se = {&w, c.seed, 1.0};
    assert_null(fcb_sim_evaluator_make(&se).validate);
    fcb_world_free(&w);

    init_config(&c, "0.15"); /* 450 rows: one scoring chunk */
    build(&w, &c);
    se.world = &w;
    fcb_evaluator e = fcb_sim_evaluator_make(&se);
    assert_non_null(e.validate);
    fcb_model_scorer ms;
    assert_int_equal(fcb_model_scorer_init(&ms, &w.model, w.initial_params), FCB_OK);
    fcb_scorer scorer = fcb_model_scorer_as_scorer(&ms);
    double accuracy = -1.0, reward = -1.0;
    assert_int_equal(e.validate(e.context, &scorer, 0, &accuracy, &reward), FCB_OK);
    int k = w.model.config.num_actions, correct = 0;
    float *scores = malloc((size_t)w.validation.n * k * sizeof(float));
    assert_non_null(scores);
    assert_int_equal(fcb_model_scorer_score(&ms, w.validation.x, w.validation.n, scores), FCB_OK);
    for (int i = 0; i < w.validation.n; i++) {
        int best = 0;
        for (int a = 1; a < k; a++)
            if (scores[(size_t)i * k + a] > scores[(size_t)i * k + best])
                best = a;
        correct += best == w.validation.y[i];
    }
    assert_float_equal(accuracy, (double)correct / w.validation.n, 1e-12);
    assert_float_equal(reward, accuracy, 1e-12); /* 0/1 rewards: reward of the argmax = accuracy */
    assert_true(accuracy > 0.3);                 /* the pretrained model, not chance (0.1) */
    free(scores);
    fcb_model_scorer_free(&ms);
    fcb_world_free(&w);
}

static void test_a_fraction_leaving_no_training_row_fails(void **state)
{
    (void)state;
    fcb_config c;
    fcb_world w;
    init_config(&c, "0.9999");
    assert_int_not_equal(fcb_world_build(&w, &c), FCB_OK);
    assert_non_null(strstr(fcb_last_error(), "data.validation_fraction"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_is_disjoint_from_clients_pretraining_and_test),
        cmocka_unit_test(test_split_is_seeded),
        cmocka_unit_test(test_evaluator_validates_only_with_a_validation_set),
        cmocka_unit_test(test_a_fraction_leaving_no_training_row_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
