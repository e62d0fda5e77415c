#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cb_log.h"
#include "dataset.h"
#include "status.h"

/* ---- files in a temporary directory ---- */

static char temp_dir[256];

static int make_temp_dir(void **state)
{
    (void)state;
    snprintf(temp_dir, sizeof temp_dir, "/tmp/fedcb_test_cb_log_XXXXXX");
    return mkdtemp(temp_dir) ? 0 : -1;
}

static int remove_temp_dir(void **state)
{
    (void)state;
    DIR *dir = opendir(temp_dir);
    if (!dir)
        return -1;
    char path[512];
    for (struct dirent *e = readdir(dir); e; e = readdir(dir)) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", temp_dir, e->d_name);
        unlink(path);
    }
    closedir(dir);
    return rmdir(temp_dir);
}

/* The path of name in the temporary directory, in one of a few rotating
 * buffers so that a test can hold several at once. */
static const char *temp_path(const char *name)
{
    static char paths[4][512];
    static int next;
    char *path = paths[next++ % 4];
    snprintf(path, sizeof paths[0], "%s/%s", temp_dir, name);
    return path;
}

static const char *write_text(const char *name, const char *text)
{
    const char *path = temp_path(name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    return path;
}

static void read_text(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t len = fread(buf, 1, size - 1, f);
    buf[len] = '\0';
    assert_int_equal(fclose(f), 0);
}

static void assert_message_contains(const char *needle)
{
    const char *message = fcb_last_error();
    if (!strstr(message, needle))
        fail_msg("error message \"%s\" does not contain \"%s\"", message, needle);
}

static void assert_log_empty(const fcb_cb_log *log)
{
    assert_int_equal(log->n, 0);
    assert_null(log->x);
    assert_null(log->actions);
    assert_null(log->propensities);
    assert_null(log->rewards);
}

/* Reference FNV-1a (32 bit), independent of the reader. */
static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* ---- round trips ---- */

enum { RT_N = 40, RT_DIM = 9, RT_K = 5 };

typedef struct {
    float x[RT_N * RT_DIM];
    int actions[RT_N];
    float propensities[RT_N];
    float rewards[RT_N];
} examples;

/* Values that exercise the formatting: zeros (not written), denormals, the
 * float extremes, rewards that are not short decimals and 0/1 clicks. */
static void make_examples(examples *e)
{
    const float rewards[] = {1.0f, 0.0f, 0.3f, -2.5f, 123.456f, 1e-3f, 0x1p-29f, 0.1f, 7e20f, -1e-7f};
    const float odd_values[] = {1e-40f, FLT_MAX, -FLT_MAX, 0.1f, FLT_MIN, -3.3333333f, 16777217.0f};
    memset(e, 0, sizeof *e);
    for (int i = 0; i < RT_N; i++) {
        e->actions[i] = i % RT_K;
        e->rewards[i] = rewards[i % 10];
        e->propensities[i] = i % 7 == 0 ? 1.0f : 1.0f / (float)(i + 2);
        for (int j = 0; j < RT_DIM; j++) {
            if ((i + j) % 3 == 0)
                continue;
            e->x[i * RT_DIM + j] = (i + j) % 5 == 0 ? odd_values[(i + j) / 5 % 7] : sinf((float)(i * RT_DIM + j));
        }
    }
    e->propensities[3] = 1e-6f;
}

static void write_examples(const char *path, const examples *e)
{
    fcb_cb_log_writer w;
    assert_int_equal(fcb_cb_log_writer_open(&w, path), FCB_OK);
    for (int i = 0; i < RT_N; i++)
        assert_int_equal(fcb_cb_log_writer_add(&w, e->actions[i], e->rewards[i], e->propensities[i],
                                               e->x + i * RT_DIM, RT_DIM),
                         FCB_OK);
    assert_int_equal(w.lines, RT_N);
    assert_int_equal(fcb_cb_log_writer_close(&w), FCB_OK);
}

static void assert_same_examples(const fcb_cb_log *log, const examples *e)
{
    assert_int_equal(log->n, RT_N);
    assert_int_equal(log->dim, RT_DIM);
    assert_int_equal(log->skipped_unlabelled, 0);
    assert_memory_equal(log->x, e->x, sizeof e->x);
    assert_memory_equal(log->actions, e->actions, sizeof e->actions);
    assert_memory_equal(log->propensities, e->propensities, sizeof e->propensities);
    assert_memory_equal(log->rewards, e->rewards, sizeof e->rewards);
}

static void check_round_trip(const char *name, int gzip)
{
    examples e;
    make_examples(&e);
    const char *path = temp_path(name);
    write_examples(path, &e);
    unsigned char magic[2] = {0, 0};
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(magic, 1, 2, f), 2);
    fclose(f);
    assert_int_equal(magic[0] == 0x1f && magic[1] == 0x8b, gzip);
    fcb_cb_log log;
    assert_int_equal(fcb_cb_log_load(path, RT_DIM, RT_K, &log), FCB_OK);
    assert_same_examples(&log, &e);
    fcb_cb_log_free(&log);
    assert_log_empty(&log);
}

static void test_round_trip_plain(void **state)
{
    (void)state;
    check_round_trip("rt.txt", 0);
}

static void test_round_trip_gzip(void **state)
{
    (void)state;
    check_round_trip("rt.txt.gz", 1);
}

static void test_written_text(void **state)
{
    (void)state;
    const float x[4] = {0.5f, 0.0f, -2.0f, 0.1f};
    const float zeros[4] = {0};
    const char *path = temp_path("text.vw");
    fcb_cb_log_writer w;
    assert_int_equal(fcb_cb_log_writer_open(&w, path), FCB_OK);
    assert_int_equal(fcb_cb_log_writer_add(&w, 1, 1.0f, 0.25f, x, 4), FCB_OK);
    assert_int_equal(fcb_cb_log_writer_add(&w, 0, 0.0f, 1.0f, zeros, 4), FCB_OK);
    assert_int_equal(fcb_cb_log_writer_add(&w, 3, 0.3f, 0.5f, x, 2), FCB_OK);
    assert_int_equal(fcb_cb_log_writer_close(&w), FCB_OK);
    char text[256];
    read_text(path, text, sizeof text);
    assert_string_equal(text, "2:0:0.25 | 1:0.5 3:-2 4:0.100000001\n"
                              "1:1:1 |\n"
                              "4:0.7:0.5 | 1:0.5\n");
}

/* ---- features ---- */

/* The same features as a VW multiclass file and as a cb log land in the
 * same columns. */
static void test_hashed_names_match_vw_multiclass(void **state)
{
    (void)state;
    enum { DIM = 16 };
    const char *features[] = {"|a word other:2", "|b word", "| 4 7:0.5 name", "|a 4 |b 2:0.5 word:3"};
    enum { N = sizeof features / sizeof features[0] };
    char vw[512] = "", cb[512] = "";
    for (int i = 0; i < N; i++) {
        size_t v = strlen(vw), c = strlen(cb);
        snprintf(vw + v, sizeof vw - v, "1 %s\n", features[i]);
        snprintf(cb + c, sizeof cb - c, "1:0:0.5 %s\n", features[i]);
    }
    fcb_dataset ds;
    fcb_cb_log log;
    assert_int_equal(fcb_dataset_load_vw(write_text("multi.vw", vw), DIM, 0, &ds), FCB_OK);
    assert_int_equal(fcb_cb_log_load(write_text("multi.cb", cb), DIM, 1, &log), FCB_OK);
    assert_int_equal(log.n, N);
    assert_int_equal(ds.n, N);
    assert_memory_equal(log.x, ds.x, sizeof(float) * N * DIM);
    /* And where an independent FNV-1a puts them. */
    assert_true(log.x[0 * DIM + fnv1a("a^word") % DIM] >= 1.0f);
    assert_true(log.x[1 * DIM + fnv1a("b^word") % DIM] == 1.0f);
    assert_true(log.x[2 * DIM + fnv1a("name") % DIM] >= 1.0f);
    fcb_dataset_free(&ds);
    fcb_cb_log_free(&log);
}

static void test_namespaces(void **state)
{
    (void)state;
    enum { DIM = 1000 };
    const char *path = write_text("ns.cb", "3:1:0.5 |user age:2 |item 3:0.5 |user:2 color | 10\n");
    fcb_cb_log log;
    assert_int_equal(fcb_cb_log_load(path, DIM, 3, &log), FCB_OK);
    float x[DIM] = {0};
    x[fnv1a("user^age") % DIM] += 2.0f;
    x[2] += 0.5f;
    x[fnv1a("user^color") % DIM] += 2.0f;
    x[9] += 1.0f;
    assert_int_equal(log.n, 1);
    assert_memory_equal(log.x, x, sizeof x);
    assert_int_equal(log.actions[0], 2);
    assert_true(log.rewards[0] == 0.0f);
    assert_true(log.propensities[0] == 0.5f);
    fcb_cb_log_free(&log);
}

/* ---- what is skipped, what is refused ---- */

static void test_unlabelled_counted(void **state)
{
    (void)state;
    const char *path = write_text("unlabelled.cb", "# a comment | 1:1\n"
                                                   "| 1:1\n"
                                                   "\n"
                                                   "1:0:0.5 | 2:1\r\n"
                                                   "  |ns a b\n"
                                                   "2:1:1 |ns 1:3");
    fcb_cb_log log;
    assert_int_equal(fcb_cb_log_load(path, 2, 2, &log), FCB_OK);
    assert_int_equal(log.n, 2);
    assert_int_equal(log.skipped_unlabelled, 2);
    const float x[4] = {0.0f, 1.0f, 3.0f, 0.0f};
    assert_memory_equal(log.x, x, sizeof x);
    fcb_cb_log_free(&log);

    path = write_text("only-unlabelled.cb", "| 1:1\n|a b\n");
    assert_int_equal(fcb_cb_log_load(path, 2, 2, &log), FCB_ERR_FORMAT);
    assert_message_contains(path);
    assert_message_contains("2 unlabelled");
    assert_log_empty(&log);
}

typedef struct {
    const char *text;
    int line;
    const char *what;
} malformed_case;

static void test_malformed(void **state)
{
    (void)state;
    enum { DIM = 4, K = 3 };
    const malformed_case cases[] = {
        {"1:0:0.5 | 1:1\n2:0:0.5 1:1\n", 2, "'|'"},
        {"# c\n0:0:0.5 | 1:1\n", 2, "action"},
        {"4:0:0.5 | 1:1\n", 1, "1..3"},
        {"x:0:0.5 | 1:1\n", 1, "action"},
        {"1.5:0:0.5 | 1:1\n", 1, "action"},
        {"1:abc:0.5 | 1:1\n", 1, "cost"},
        {"1:nan:0.5 | 1:1\n", 1, "cost"},
        {"1:inf:0.5 | 1:1\n", 1, "cost"},
        {"1:1e300:0.5 | 1:1\n", 1, "float range"},
        {"1:0:0 | 1:1\n", 1, "probability"},
        {"1:0:1.5 | 1:1\n", 1, "probability"},
        {"1:0:-0.25 | 1:1\n", 1, "probability"},
        {"1:0:zz | 1:1\n", 1, "probability"},
        {"1:0: | 1:1\n", 1, "probability"},
        {"1:0 | 1:1\n", 1, "action:cost:probability"},
        {"1 | 1:1\n", 1, "action:cost:probability"},
        {"1:0:0.5:2 | 1:1\n", 1, "action:cost:probability"},
        {"1:0:0.25 2 3 | 1:1\n", 1, "unexpected '2'"},
        {"1:0:0.5 'tag | 1:1\n", 1, "unexpected"},
        {"\n1:0:0.5 | 5:1\n", 2, "dim"},
        {"1:0:0.5 | 0:1\n", 1, "index"},
        {"1:0:0.5 | 1:inf\n", 1, "value"},
        {"1:0:0.5 | 1:3e38 1:3e38\n", 1, "float range"},
        {"1:0:0.5 |ns:x 1:1\n", 1, "namespace"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[32], expected[600];
        snprintf(name, sizeof name, "bad-%zu.cb", i);
        const char *path = write_text(name, cases[i].text);
        fcb_cb_log log;
        fcb_status st = fcb_cb_log_load(path, DIM, K, &log);
        if (st != FCB_ERR_FORMAT)
            fail_msg("case %zu (%s): status %d, message \"%s\"", i, cases[i].text, (int)st, fcb_last_error());
        snprintf(expected, sizeof expected, "%s:%d: ", path, cases[i].line);
        assert_message_contains(expected);
        assert_message_contains(cases[i].what);
        assert_log_empty(&log);
    }
}

static void test_arguments_required(void **state)
{
    (void)state;
    const char *path = write_text("args.cb", "1:0:0.5 | 1:1\n");
    fcb_cb_log log;
    assert_int_equal(fcb_cb_log_load(path, 0, 2, &log), FCB_ERR_ARG);
    assert_message_contains("dim");
    assert_int_equal(fcb_cb_log_load(path, -3, 2, &log), FCB_ERR_ARG);
    assert_int_equal(fcb_cb_log_load(path, 2, 0, &log), FCB_ERR_ARG);
    assert_message_contains("num_actions");
    assert_log_empty(&log);
    assert_int_equal(fcb_cb_log_load(NULL, 2, 2, &log), FCB_ERR_ARG);
    const char *missing = temp_path("absent.cb");
    assert_int_equal(fcb_cb_log_load(missing, 2, 2, &log), FCB_ERR_IO);
    assert_message_contains(missing);
    assert_log_empty(&log);
}

static void test_writer_refuses(void **state)
{
    (void)state;
    const float x[2] = {1.0f, 2.0f};
    const float bad_x[2] = {1.0f, NAN};
    const char *path = temp_path("refused.cb");
    fcb_cb_log_writer w;
    assert_int_equal(fcb_cb_log_writer_open(&w, path), FCB_OK);
    assert_int_equal(fcb_cb_log_writer_add(&w, -1, 1.0f, 0.5f, x, 2), FCB_ERR_ARG);
    assert_int_equal(fcb_cb_log_writer_add(&w, 0, 1.0f, 0.0f, x, 2), FCB_ERR_ARG);
    assert_int_equal(fcb_cb_log_writer_add(&w, 0, 1.0f, 1.5f, x, 2), FCB_ERR_ARG);
    assert_int_equal(fcb_cb_log_writer_add(&w, 0, INFINITY, 0.5f, x, 2), FCB_ERR_ARG);
    assert_int_equal(fcb_cb_log_writer_add(&w, 0, 1.0f, 0.5f, bad_x, 2), FCB_ERR_ARG);
    assert_int_equal(fcb_cb_log_writer_add(&w, 0, 1.0f, 0.5f, NULL, 2), FCB_ERR_ARG);
    assert_int_equal(fcb_cb_log_writer_add(&w, 0, 1e-12f, 0.5f, x, 2), FCB_ERR_ARG);
    assert_message_contains("cannot be written exactly");
    assert_int_equal(fcb_cb_log_writer_add(&w, 1, 1.0f, 0.5f, x, 2), FCB_OK);
    assert_int_equal(fcb_cb_log_writer_close(&w), FCB_OK);
    assert_int_equal(fcb_cb_log_writer_close(&w), FCB_OK);
    char text[64];
    read_text(path, text, sizeof text);
    assert_string_equal(text, "2:0:0.5 | 1:1 2:2\n");

    char dir_path[300];
    snprintf(dir_path, sizeof dir_path, "%s/no-such-dir/log.cb", temp_dir);
    assert_int_equal(fcb_cb_log_writer_open(&w, dir_path), FCB_ERR_IO);
    assert_message_contains(dir_path);
    assert_int_equal(fcb_cb_log_writer_close(&w), FCB_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_plain),
        cmocka_unit_test(test_round_trip_gzip),
        cmocka_unit_test(test_written_text),
        cmocka_unit_test(test_hashed_names_match_vw_multiclass),
        cmocka_unit_test(test_namespaces),
        cmocka_unit_test(test_unlabelled_counted),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_arguments_required),
        cmocka_unit_test(test_writer_refuses),
    };
    return cmocka_run_group_tests(tests, make_temp_dir, remove_temp_dir);
}
