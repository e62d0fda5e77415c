#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_file.h"
#include "linear_bandit.h"
#include "linear_forgetting.h"
#include "rng.h"
#include "simulate.h"

/* Forgetting of a linear bandit's statistics (coordinator/linear_forgetting.c)
 * against brute-force recomputations from the rounds' updates, the D-LinUCB
 * width against its closed form, and a synthetic abrupt permutation that
 * LinUCB recovers from only with a discount. */

enum { K = 3, DIM = 4, SLOTS = 2, ROUNDS = 7, MAX_ROWS = 12 };

/* The rounds that aggregate an update (round 4 has none: its discount or its
 * empty window entry is applied at round 5's merge). */
static const int MERGED[] = {0, 1, 2, 3, 5, 6};
enum { MERGES = sizeof MERGED / sizeof MERGED[0] };

typedef struct {
    fcb_linstats updates[MERGES][SLOTS];
} history;

static void random_update(fcb_linstats *s, fcb_rng *rng)
{
    float phi[MAX_ROWS * DIM], rewards[MAX_ROWS];
    int actions[MAX_ROWS];
    for (int i = 0; i < MAX_ROWS; i++) {
        for (int j = 0; j < DIM; j++)
            phi[i * DIM + j] = (float)fcb_rng_normal(rng);
        actions[i] = (int)(fcb_rng_uniform(rng) * K) % K;
        rewards[i] = fcb_rng_uniform(rng) < 0.5 ? 1.0f : 0.0f;
    }
    fcb_linstats_zero(s);
    assert_int_equal(fcb_linstats_add(s, phi, MAX_ROWS, actions, rewards), FCB_OK);
}

static void make_history(history *h, int diagonal)
{
    fcb_rng rng;
    fcb_rng_init(&rng, 7, 0, 0, 0);
    for (int m = 0; m < MERGES; m++)
        for (int s = 0; s < SLOTS; s++) {
            assert_int_equal(fcb_linstats_init(&h->updates[m][s], K, DIM, diagonal), FCB_OK);
            random_update(&h->updates[m][s], &rng);
        }
}

static void free_history(history *h)
{
    for (int m = 0; m < MERGES; m++)
        for (int s = 0; s < SLOTS; s++)
            fcb_linstats_free(&h->updates[m][s]);
}

static const int SLOT_ORDER[SLOTS] = {0, 1};

/* Runs the merges of h through forgetting f into global. */
static void run_rounds(fcb_linforget *f, fcb_linstats *global, const history *h, int merges)
{
    for (int m = 0; m < merges; m++)
        assert_int_equal(fcb_linforget_merge(f, global, h->updates[m], SLOT_ORDER, SLOTS, MERGED[m]), FCB_OK);
}

static void assert_close(const double *x, const double *y, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        double tol = 1e-12 * (1.0 + fabs(y[i]));
        if (fabs(x[i] - y[i]) > tol)
            fail_msg("%s[%zu]: %.17g, brute force %.17g", what, i, x[i], y[i]);
    }
}

static double *flat_of(const fcb_linstats *s)
{
    double *flat = malloc(fcb_linstats_flat_size(s) * sizeof *flat);
    assert_non_null(flat);
    fcb_linstats_to_flat(s, flat);
    return flat;
}

/* V_t = gamma V_{t-1} + dA_t + (1 - gamma) lambda I from V_0 = lambda I,
 * b_t = gamma b_{t-1} + db_t (the paper's recursions, one step per round,
 * empty rounds included), against lambda I + A and b of the forgetting; and
 * V~ with gamma^2 against lambda I + A~. */
static void check_discount(int diagonal)
{
    const double gamma = 0.8, lambda = 1.5;
    history h;
    make_history(&h, diagonal);
    fcb_linstats global, probe;
    assert_int_equal(fcb_linstats_init(&global, K, DIM, diagonal), FCB_OK);
    assert_int_equal(fcb_linstats_init(&probe, K, DIM, diagonal), FCB_OK);
    fcb_linforget f;
    fcb_linforget_config c = {FCB_FORGET_DISCOUNT, gamma, 1, 1};
    assert_int_equal(fcb_linforget_init(&f, &c, &global), FCB_OK);
    run_rounds(&f, &global, &h, MERGES);

    size_t na = fcb_linstats_a_size(&global), nb = (size_t)K * DIM;
    double *V = calloc(na, sizeof *V), *Vt = calloc(na, sizeof *Vt), *b = calloc(nb, sizeof *b);
    assert_true(V && Vt && b);
    for (size_t i = 0; i < na; i++) {
        size_t j = diagonal ? 0 : (i % ((size_t)DIM * DIM));
        int on_diagonal = diagonal || j / DIM == j % DIM;
        V[i] = Vt[i] = on_diagonal ? lambda : 0.0;
    }
    int m = 0;
    for (int t = 0; t <= MERGED[MERGES - 1]; t++) {
        int merged = m < MERGES && MERGED[m] == t;
        for (size_t i = 0; i < na; i++) {
            size_t j = diagonal ? 0 : (i % ((size_t)DIM * DIM));
            int on_diagonal = diagonal || j / DIM == j % DIM;
            double dA = 0.0;
            for (int s = 0; merged && s < SLOTS; s++)
                dA += h.updates[m][s].A[i];
            V[i] = gamma * V[i] + dA + (on_diagonal ? (1.0 - gamma) * lambda : 0.0);
            Vt[i] = gamma * gamma * Vt[i] + dA + (on_diagonal ? (1.0 - gamma * gamma) * lambda : 0.0);
        }
        for (size_t i = 0; i < nb; i++) {
            double db = 0.0;
            for (int s = 0; merged && s < SLOTS; s++)
                db += h.updates[m][s].b[i];
            b[i] = gamma * b[i] + db;
        }
        m += merged;
    }
    /* lambda I + A and lambda I + A~ */
    double *P = malloc(na * sizeof *P), *Pt = malloc(na * sizeof *Pt);
    assert_true(P && Pt);
    for (size_t i = 0; i < na; i++) {
        size_t j = diagonal ? 0 : (i % ((size_t)DIM * DIM));
        int on_diagonal = diagonal || j / DIM == j % DIM;
        P[i] = global.A[i] + (on_diagonal ? lambda : 0.0);
        Pt[i] = f.tilde[i] + (on_diagonal ? lambda : 0.0);
    }
    assert_close(P, V, na, "lambda I + A vs V");
    assert_close(Pt, Vt, na, "lambda I + A~ vs V~");
    assert_close(global.b, b, nb, "b");
    free(P);
    free(Pt);
    free(V);
    free(Vt);
    free(b);
    fcb_linforget_free(&f);
    fcb_linstats_free(&global);
    fcb_linstats_free(&probe);
    free_history(&h);
}

static void test_discount_matches_recursion_full(void **state)
{
    (void)state;
    check_discount(0);
}

static void test_discount_matches_recursion_diagonal(void **state)
{
    (void)state;
    check_discount(1);
}

/* gamma = 1 gives the statistics of plain summation, bit for bit. */
static void test_discount_one_is_no_forgetting(void **state)
{
    (void)state;
    for (int diagonal = 0; diagonal <= 1; diagonal++) {
        history h;
        make_history(&h, diagonal);
        fcb_linstats forgetful, plain;
        assert_int_equal(fcb_linstats_init(&forgetful, K, DIM, diagonal), FCB_OK);
        assert_int_equal(fcb_linstats_init(&plain, K, DIM, diagonal), FCB_OK);
        fcb_linforget f;
        fcb_linforget_config c = {FCB_FORGET_DISCOUNT, 1.0, 1, 0};
        assert_int_equal(fcb_linforget_init(&f, &c, &forgetful), FCB_OK);
        run_rounds(&f, &forgetful, &h, MERGES);
        for (int m = 0; m < MERGES; m++)
            for (int s = 0; s < SLOTS; s++)
                assert_int_equal(fcb_linstats_merge(&plain, &h.updates[m][s]), FCB_OK);
        double *x = flat_of(&forgetful), *y = flat_of(&plain);
        assert_memory_equal(x, y, fcb_linstats_flat_size(&plain) * sizeof *x);
        free(x);
        free(y);
        fcb_linforget_free(&f);
        fcb_linstats_free(&forgetful);
        fcb_linstats_free(&plain);
        free_history(&h);
    }
}

/* The statistics after each merge: the sum of the round deltas of the rounds
 * in (t - W, t], the empty round counting as one. */
static void test_window_is_sum_of_last_rounds(void **state)
{
    (void)state;
    const int W = 3;
    for (int diagonal = 0; diagonal <= 1; diagonal++) {
        history h;
        make_history(&h, diagonal);
        fcb_linstats global, brute;
        assert_int_equal(fcb_linstats_init(&global, K, DIM, diagonal), FCB_OK);
        assert_int_equal(fcb_linstats_init(&brute, K, DIM, diagonal), FCB_OK);
        fcb_linforget f;
        fcb_linforget_config c = {FCB_FORGET_WINDOW, 1.0, W, 0};
        assert_int_equal(fcb_linforget_init(&f, &c, &global), FCB_OK);
        for (int m = 0; m < MERGES; m++) {
            assert_int_equal(fcb_linforget_merge(&f, &global, h.updates[m], SLOT_ORDER, SLOTS, MERGED[m]), FCB_OK);
            fcb_linstats_zero(&brute);
            for (int p = 0; p <= m; p++)
                if (MERGED[p] > MERGED[m] - W)
                    for (int s = 0; s < SLOTS; s++)
                        assert_int_equal(fcb_linstats_merge(&brute, &h.updates[p][s]), FCB_OK);
            double *x = flat_of(&global), *y = flat_of(&brute);
            assert_close(x, y, fcb_linstats_flat_size(&brute), "window statistics");
            free(x);
            free(y);
        }
        fcb_linforget_free(&f);
        fcb_linstats_free(&global);
        fcb_linstats_free(&brute);
        free_history(&h);
    }
}

/* A window above the memory bound is refused with a line naming the key. */
static void test_window_memory_bound(void **state)
{
    (void)state;
    fcb_linstats shape;
    assert_int_equal(fcb_linstats_init(&shape, 10, 785, 0), FCB_OK);
    fcb_linforget f;
    fcb_linforget_config c = {FCB_FORGET_WINDOW, 1.0, 40, 0};
    assert_int_equal(fcb_linforget_init(&f, &c, &shape), FCB_ERR_CONFIG);
    assert_non_null(strstr(fcb_last_error(), "policy.window = 40"));
    fcb_linstats_free(&shape);
}

/* Width of one action on dim 2 against sqrt(phi^T P^-1 V~ P^-1 phi) worked
 * out by hand: P = lambda I + A, V~ = lambda I + A~. */
static void test_width_closed_form(void **state)
{
    (void)state;
    const double lambda = 1.0;
    const float phi[2] = {1.0f, 2.0f};
    /* full: A = [[2, 1], [1, 3]] -> P = [[3, 1], [1, 4]], det 11,
     * P^-1 phi = [4 - 2, -1 + 6] / 11 = [2, 5] / 11;
     * A~ = [[1, 0.5], [0.5, 2]] -> V~ = [[2, 0.5], [0.5, 3]];
     * y^T V~ y = (2 * 4 + 2 * 0.5 * 10 + 3 * 25) / 121 = 93 / 121. */
    fcb_linstats s;
    fcb_linposterior post;
    assert_int_equal(fcb_linstats_init(&s, 1, 2, 0), FCB_OK);
    double A[4] = {2, 1, 1, 3}, At[4] = {1, 0.5, 0.5, 2};
    memcpy(s.A, A, sizeof A);
    assert_int_equal(fcb_linposterior_init(&post, 1, 2, 0), FCB_OK);
    assert_int_equal(fcb_linposterior_solve(&post, &s, lambda, NULL), FCB_OK);
    double mean, width;
    assert_int_equal(fcb_linposterior_predict(&post, phi, 1, &mean, &width), FCB_OK);
    /* plain width: phi^T P^-1 phi = (1 * 2 + 2 * 5) / 11 = 12 / 11 */
    assert_true(fabs(width - sqrt(12.0 / 11.0)) < 1e-12);
    assert_int_equal(fcb_linposterior_set_tilde(&post, At), FCB_OK);
    assert_int_equal(fcb_linposterior_predict(&post, phi, 1, &mean, &width), FCB_OK);
    assert_true(fabs(width - sqrt(93.0 / 121.0)) < 1e-12);
    fcb_linposterior_free(&post);
    fcb_linstats_free(&s);

    /* diagonal: A = [2, 3] -> P = [3, 4]; A~ = [1, 2] -> V~ = [2, 3];
     * sum phi_j^2 V~_j / P_j^2 = 1 * 2 / 9 + 4 * 3 / 16 = 2/9 + 3/4. */
    assert_int_equal(fcb_linstats_init(&s, 1, 2, 1), FCB_OK);
    s.A[0] = 2;
    s.A[1] = 3;
    double Atd[2] = {1, 2};
    assert_int_equal(fcb_linposterior_init(&post, 1, 2, 1), FCB_OK);
    assert_int_equal(fcb_linposterior_solve(&post, &s, lambda, NULL), FCB_OK);
    assert_int_equal(fcb_linposterior_set_tilde(&post, Atd), FCB_OK);
    assert_int_equal(fcb_linposterior_predict(&post, phi, 1, &mean, &width), FCB_OK);
    assert_true(fabs(width - sqrt(2.0 / 9.0 + 3.0 / 4.0)) < 1e-12);
    /* the copy keeps the second matrix */
    fcb_linposterior copy;
    assert_int_equal(fcb_linposterior_init(&copy, 1, 2, 1), FCB_OK);
    assert_int_equal(fcb_linposterior_copy(&copy, &post), FCB_OK);
    double width2;
    assert_int_equal(fcb_linposterior_predict(&copy, phi, 1, &mean, &width2), FCB_OK);
    assert_true(width2 == width);
    fcb_linposterior_free(&copy);
    fcb_linposterior_free(&post);
    fcb_linstats_free(&s);
}

/* The forgetting section written after some rounds and read back into a
 * fresh state continues exactly as the original. */
static void check_checkpoint(fcb_linforget_config c, int diagonal)
{
    history h;
    make_history(&h, diagonal);
    fcb_linstats g1, g2;
    assert_int_equal(fcb_linstats_init(&g1, K, DIM, diagonal), FCB_OK);
    assert_int_equal(fcb_linstats_init(&g2, K, DIM, diagonal), FCB_OK);
    fcb_linforget f1, f2;
    assert_int_equal(fcb_linforget_init(&f1, &c, &g1), FCB_OK);
    assert_int_equal(fcb_linforget_init(&f2, &c, &g2), FCB_OK);
    run_rounds(&f1, &g1, &h, 4);
    size_t na = fcb_linstats_a_size(&g1);
    double *deployed = calloc(na, sizeof *deployed), *restored = calloc(na, sizeof *restored);
    assert_true(deployed && restored);
    deployed[0] = 42.0;
    fcb_ckpt_writer w;
    fcb_ckpt_writer_init(&w);
    assert_int_equal(fcb_linforget_save(&f1, c.keep_tilde ? deployed : NULL, &w), FCB_OK);
    assert_int_equal(fcb_ckpt_writer_finish(&w), FCB_OK);
    char path[] = "/tmp/fedcb-test-forget-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, w.data, w.len), (ssize_t)w.len);
    close(fd);
    fcb_ckpt_writer_free(&w);
    fcb_ckpt_reader r;
    memset(&r, 0, sizeof r);
    assert_int_equal(fcb_ckpt_reader_open(&r, path), FCB_OK);
    assert_int_equal(fcb_linforget_load(&f2, restored, &r), FCB_OK);
    fcb_ckpt_reader_free(&r);
    unlink(path);
    if (c.keep_tilde)
        assert_true(restored[0] == 42.0);
    double *flat = flat_of(&g1);
    assert_int_equal(fcb_linstats_from_flat(&g2, flat, fcb_linstats_flat_size(&g1)), FCB_OK);
    free(flat);
    for (int m = 4; m < MERGES; m++) {
        assert_int_equal(fcb_linforget_merge(&f1, &g1, h.updates[m], SLOT_ORDER, SLOTS, MERGED[m]), FCB_OK);
        assert_int_equal(fcb_linforget_merge(&f2, &g2, h.updates[m], SLOT_ORDER, SLOTS, MERGED[m]), FCB_OK);
    }
    double *x = flat_of(&g1), *y = flat_of(&g2);
    assert_memory_equal(x, y, fcb_linstats_flat_size(&g1) * sizeof *x);
    if (c.keep_tilde)
        assert_memory_equal(f1.tilde, f2.tilde, na * sizeof *f1.tilde);
    free(x);
    free(y);
    free(deployed);
    free(restored);
    fcb_linforget_free(&f1);
    fcb_linforget_free(&f2);
    fcb_linstats_free(&g1);
    fcb_linstats_free(&g2);
    free_history(&h);
}

static void test_checkpoint_round_trip(void **state)
{
    (void)state;
    check_checkpoint((fcb_linforget_config){FCB_FORGET_DISCOUNT, 0.9, 1, 1}, 0);
    check_checkpoint((fcb_linforget_config){FCB_FORGET_DISCOUNT, 0.9, 1, 1}, 1);
    check_checkpoint((fcb_linforget_config){FCB_FORGET_WINDOW, 1.0, 3, 0}, 0);
    check_checkpoint((fcb_linforget_config){FCB_FORGET_WINDOW, 1.0, 2, 0}, 1);
}

/* ---- learning: an abrupt permutation on a tiny synthetic world ----------- */

static void set(fcb_config *c, const char *assignment)
{
    if (fcb_config_set(c, assignment) != FCB_OK)
        fail_msg("fcb_config_set(\"%s\"): %s", assignment, fcb_last_error());
}

/* Mean reward of rounds 1..10 and 21..30 of a LinUCB run with the given
 * forgetting (discount 0.8), read from its metrics.jsonl. */
static void permutation_run(const char *forgetting, double *before, double *after)
{
    fcb_config c;
    fcb_config_default(&c);
    const char *settings[] = {
        "run.seed=1", "run.rounds=30", "run.eval_every=10", "run.threads=1", "run.wall_clock=false",
        "data.source=synthetic", "data.synthetic_train=5000", "data.synthetic_test=2000", "data.synthetic_dim=20",
        "data.synthetic_classes=10", "data.synthetic_noise=0.1", "scenario.kind=init", "scenario.pretrain_clients=10",
        "scenario.pretrain_epochs=5", "scenario.pretrain_learning_rate=0.5", "clients.num_clients=50",
        "clients.clients_per_round=10", "clients.examples_per_round=100", "model.normalize_input=true",
        "policy.kind=linucb", "drift.kind=permutation", "drift.start=10",
    };
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        set(&c, settings[i]);
    set(&c, forgetting);
    set(&c, "policy.discount=0.8");
    char dir[] = "/tmp/fedcb-test-forgetting-XXXXXX";
    assert_non_null(mkdtemp(dir));
    fcb_simulate_options options = {.out_dir = dir, .progress = 0};
    fcb_simulate_result r;
    if (fcb_simulate(&c, &options, &r) != FCB_OK)
        fail_msg("fcb_simulate (%s): %s", forgetting, fcb_last_error());
    char path[256];
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    FILE *in = fopen(path, "r");
    assert_non_null(in);
    char line[4096];
    double sum_before = 0.0, sum_after = 0.0;
    int round = 0;
    while (fgets(line, sizeof line, in)) {
        const char *at = strstr(line, "\"reward\":");
        assert_non_null(at);
        double reward = strtod(at + strlen("\"reward\":"), NULL);
        if (round < 10)
            sum_before += reward;
        else if (round >= 20)
            sum_after += reward;
        round++;
    }
    fclose(in);
    assert_int_equal(round, 30);
    *before = sum_before / 10.0;
    *after = sum_after / 10.0;
    char command[512];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    assert_int_equal(system(command), 0);
}

/* Labels permuted from round 11 on (drift.start = 10). Measured at seed 1:
 * rounds 1..10 average 0.704 (none) and 0.696 (discount 0.8); rounds 21..30
 * average 0.123 without forgetting and 0.795 with a discount of 0.8 (seeds 2
 * and 3: 0.093 / 0.756 and 0.204 / 0.780). The threshold 0.45 lies between
 * the two with a margin on both sides. */
static void test_discount_recovers_from_permutation(void **state)
{
    (void)state;
    double before, none_after, discount_after;
    permutation_run("policy.forgetting=none", &before, &none_after);
    assert_true(before > 0.6);
    permutation_run("policy.forgetting=discount", &before, &discount_after);
    print_message("rounds 21..30: no forgetting %.4f, discount 0.8 %.4f\n", none_after, discount_after);
    assert_true(none_after < 0.45);
    assert_true(discount_after > 0.45);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_discount_matches_recursion_full),
        cmocka_unit_test(test_discount_matches_recursion_diagonal),
        cmocka_unit_test(test_discount_one_is_no_forgetting),
        cmocka_unit_test(test_window_is_sum_of_last_rounds),
        cmocka_unit_test(test_window_memory_bound),
        cmocka_unit_test(test_width_closed_form),
        cmocka_unit_test(test_checkpoint_round_trip),
        cmocka_unit_test(test_discount_recovers_from_permutation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
