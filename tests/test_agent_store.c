#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent_store.h"
#include "status.h"

/* ---- files in a temporary directory ---- */

static char temp_dir[256];

static int make_temp_dir(void **state)
{
    (void)state;
    snprintf(temp_dir, sizeof temp_dir, "/tmp/fedcb_test_agent_store_XXXXXX");
    if (!mkdtemp(temp_dir))
        return -1;
    /* The read-only test runs a child as another user, who must reach it. */
    return chmod(temp_dir, 0755);
}

static int remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    char path[1024];
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat info;
        if (lstat(path, &info) == 0 && S_ISDIR(info.st_mode)) {
            chmod(path, 0700);
            remove_tree(path);
        } else {
            unlink(path);
        }
    }
    closedir(d);
    return rmdir(dir);
}

static int remove_temp_dir(void **state)
{
    (void)state;
    return remove_tree(temp_dir);
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

static void assert_message_contains(const char *needle)
{
    const char *message = fcb_last_error();
    if (!strstr(message, needle))
        fail_msg("error message \"%s\" does not contain \"%s\"", message, needle);
}

static void assert_one_line(void)
{
    const char *message = fcb_last_error();
    if (message[0] == '\0' || strchr(message, '\n'))
        fail_msg("error message \"%s\" is not one line", message);
}

/* ---- deterministic rows ---- */

enum { DIM = 7, K = 4 };
static const double T0 = 1.7e9;

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Any bit pattern, NaN payloads, infinities and denormals included: the
 * store must give the bytes back. */
static void fill_context(uint64_t id, float *x, int dim)
{
    for (int j = 0; j < dim; j++) {
        uint32_t bits = (uint32_t)mix(id * 1000u + (uint64_t)j);
        memcpy(&x[j], &bits, sizeof bits);
    }
}

static fcb_store_decision make_decision(uint64_t id, float *context, int dim)
{
    fill_context(id, context, dim);
    fcb_store_decision d = {id, T0 + 0.001 * (double)id, (int64_t)id / 10 - 3, (int)(id % K),
                            1.0f / (float)(1 + id % 9), context};
    return d;
}

static float reward_of(uint64_t id)
{
    return (float)(id % 5) * 0.3f - 0.25f;
}

static fcb_agent_store_options store_options(const char *path)
{
    fcb_agent_store_options o = {path, DIM, K, 1, 0, 0.0, 0};
    return o;
}

static fcb_agent_store *open_store(const fcb_agent_store_options *o)
{
    fcb_agent_store *s = NULL;
    fcb_status st = fcb_agent_store_open(o, &s);
    if (st != FCB_OK)
        fail_msg("open %s: %s", o->path, fcb_last_error());
    return s;
}

static void put_decisions(fcb_agent_store *s, uint64_t first, uint64_t last, int dim)
{
    float context[64];
    for (uint64_t id = first; id <= last; id++) {
        fcb_store_decision d = make_decision(id, context, dim);
        assert_int_equal(fcb_agent_store_put_decision(s, &d), FCB_OK);
    }
}

/* What a scan saw. */
typedef struct {
    int n;
    int capacity;
    uint64_t ids[4096];
    int has_feedback[4096];
    int bad; /* rows that differ from make_decision */
    char first_bad[256];
    int dim;
    int check_feedback; /* feedback must be reward_of(id) at time T0 + id */
} scan_result;

static fcb_status collect(void *ctx, const fcb_store_decision *d, int has_feedback, float reward, double time)
{
    scan_result *r = ctx;
    float expected_context[64];
    fcb_store_decision e = make_decision(d->event_id, expected_context, r->dim);
    int same = d->time == e.time && d->version == e.version && d->action == e.action &&
               d->propensity == e.propensity &&
               memcmp(d->context, e.context, (size_t)r->dim * sizeof(float)) == 0;
    if (r->check_feedback && has_feedback)
        same = same && reward == reward_of(d->event_id) && time == T0 + (double)d->event_id;
    if (!same && r->bad++ == 0)
        snprintf(r->first_bad, sizeof r->first_bad, "event %llu differs", (unsigned long long)d->event_id);
    if (r->n < r->capacity) {
        r->ids[r->n] = d->event_id;
        r->has_feedback[r->n] = has_feedback;
    }
    r->n++;
    return FCB_OK;
}

static void scan(fcb_agent_store *s, scan_result *r, int dim)
{
    memset(r, 0, sizeof *r);
    r->capacity = 4096;
    r->dim = dim;
    r->check_feedback = 1;
    assert_int_equal(fcb_agent_store_scan(s, collect, r), FCB_OK);
    if (r->bad)
        fail_msg("%d rows differ, the first: %s", r->bad, r->first_bad);
}

static void assert_counts(fcb_agent_store *s, long decisions, long feedback)
{
    long d = -1, f = -1;
    assert_int_equal(fcb_agent_store_counts(s, &d, &f), FCB_OK);
    assert_int_equal(d, decisions);
    assert_int_equal(f, feedback);
}

/* ---- round trips ---- */

static void test_round_trip(void **state)
{
    (void)state;
    enum { N = 300 };
    fcb_agent_store_options o = store_options(temp_path("round.db"));
    fcb_agent_store *s = open_store(&o);
    assert_int_equal(fcb_agent_store_last_event_id(s), 0);
    put_decisions(s, 1, N, DIM);
    for (uint64_t id = 1; id <= N; id += 3)
        assert_int_equal(fcb_agent_store_put_feedback(s, id, reward_of(id), T0 + (double)id), FCB_OK);
    float params[5] = {1.5f, -0.0f, 3e-42f, 7.0f, -1e30f};
    assert_int_equal(fcb_agent_store_save_model(s, 41, params, 5), FCB_OK);
    float newer[5] = {2.5f, 1.0f, 0.0f, -7.0f, 1e-3f};
    assert_int_equal(fcb_agent_store_save_model(s, 42, newer, 5), FCB_OK);
    assert_int_equal(fcb_agent_store_flush(s), FCB_OK);
    assert_counts(s, N, N / 3);
    assert_int_equal(fcb_agent_store_close(s), FCB_OK);

    s = open_store(&o);
    assert_int_equal(fcb_agent_store_last_event_id(s), N);
    scan_result r;
    scan(s, &r, DIM);
    assert_int_equal(r.n, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(r.ids[i], (uint64_t)i + 1);
        assert_int_equal(r.has_feedback[i], i % 3 == 0);
    }
    int64_t version = 0;
    float loaded[5];
    int found = 0;
    assert_int_equal(fcb_agent_store_load_model(s, &version, loaded, 5, &found), FCB_OK);
    assert_int_equal(found, 1);
    assert_int_equal(version, 42);
    assert_memory_equal(loaded, newer, sizeof newer);
    assert_int_equal(fcb_agent_store_load_model(s, &version, loaded, 4, &found), FCB_ERR_ARG);
    assert_message_contains("5 parameters, expected 4");
    assert_int_equal(fcb_agent_store_close(s), FCB_OK);
}

static void test_new_store_schema(void **state)
{
    (void)state;
    const char *path = temp_path("schema.db");
    fcb_agent_store_options o = store_options(path);
    fcb_agent_store *s = open_store(&o);
    int64_t version = 7;
    float params[2];
    int found = 1;
    assert_int_equal(fcb_agent_store_load_model(s, &version, params, 2, &found), FCB_OK);
    assert_int_equal(found, 0);
    assert_int_equal(fcb_agent_store_close(s), FCB_OK);

    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    const char *pragmas[] = {"PRAGMA application_id", "PRAGMA user_version", "PRAGMA journal_mode"};
    const char *expected[] = {"1717789233", "1", "wal"};
    for (int i = 0; i < 3; i++) {
        sqlite3_stmt *q = NULL;
        assert_int_equal(sqlite3_prepare_v2(db, pragmas[i], -1, &q, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(q), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(q, 0), expected[i]);
        sqlite3_finalize(q);
    }
    sqlite3_close(db);
}

static void test_refuses_bad_puts(void **state)
{
    (void)state;
    fcb_agent_store_options o = store_options(temp_path("bad-puts.db"));
    fcb_agent_store *s = open_store(&o);
    float context[DIM];
    fcb_store_decision d = make_decision(1, context, DIM);
    d.action = K;
    assert_int_equal(fcb_agent_store_put_decision(s, &d), FCB_ERR_ARG);
    assert_message_contains("action 4");
    d = make_decision(1, context, DIM);
    d.propensity = 0.0f;
    assert_int_equal(fcb_agent_store_put_decision(s, &d), FCB_ERR_ARG);
    d = make_decision(0, context, DIM);
    assert_int_equal(fcb_agent_store_put_decision(s, &d), FCB_ERR_ARG);
    assert_int_equal(fcb_agent_store_put_feedback(s, 1, INFINITY, T0), FCB_ERR_ARG);
    uint64_t zero = 0;
    assert_int_equal(fcb_agent_store_consume(s, &zero, 1), FCB_ERR_ARG);
    /* Refused puts do not poison the store. */
    put_decisions(s, 1, 3, DIM);
    assert_int_equal(fcb_agent_store_flush(s), FCB_OK);
    assert_counts(s, 3, 0);
    assert_int_equal(fcb_agent_store_close(s), FCB_OK);

    fcb_agent_store_options bad = o;
    bad.input_dim = 0;
    fcb_agent_store *none = NULL;
    assert_int_equal(fcb_agent_store_open(&bad, &none), FCB_ERR_ARG);
    assert_message_contains("input_dim = 0");
    assert_null(none);
}

/* ---- deleting ---- */

static void test_consume(void **state)
{
    (void)state;
    fcb_agent_store_options o = store_options(temp_path("consume.db"));
    fcb_agent_store *s = open_store(&o);
    put_decisions(s, 1, 10, DIM);
    for (uint64_t id = 1; id <= 10; id++)
        assert_int_equal(fcb_agent_store_put_feedback(s, id, reward_of(id), T0 + (double)id), FCB_OK);
    const uint64_t used[] = {2, 4, 6, 10};
    assert_int_equal(fcb_agent_store_consume(s, used, 4), FCB_OK);
    /* Feedback for a consumed event is dropped; a second one is ignored. */
    assert_int_equal(fcb_agent_store_put_feedback(s, 4, 1.0f, T0), FCB_OK);
    assert_int_equal(fcb_agent_store_put_feedback(s, 3, 9.0f, T0), FCB_OK);
    assert_int_equal(fcb_agent_store_flush(s), FCB_OK);
    assert_counts(s, 6, 6);
    scan_result r;
    scan(s, &r, DIM);
    const uint64_t left[] = {1, 3, 5, 7, 8, 9};
    assert_int_equal(r.n, 6);
    assert_memory_equal(r.ids, left, sizeof left);

    /* Everything consumed, then a model: committed together. The ids
     * still go on from the last one. */
    assert_int_equal(fcb_agent_store_consume(s, left, 6), FCB_OK);
    const float params[3] = {1.0f, 2.0f, 3.0f};
    assert_int_equal(fcb_agent_store_save_model(s, 5, params, 3), FCB_OK);
    assert_counts(s, 0, 0);
    assert_int_equal(fcb_agent_store_close(s), FCB_OK);
    s = open_store(&o);
    assert_counts(s, 0, 0);
    assert_int_equal(fcb_agent_store_last_event_id(s), 10);
    assert_int_equal(fcb_agent_store_close(s), FCB_OK);
}

static void test_max_rows(void **state)
{
    (void)state;
    enum { N = 1000, MAX_ROWS = 100 };
    fcb_agent_store_options o = store_options(temp_path("bounded.db"));
    o.max_rows = MAX_ROWS;
    o.queue_capacity = 64;
    fcb_agent_store *s = open_store(&o);
    for (uint64_t id = 1; id <= N; id++) {
        put_decisions(s, id, id, DIM);
        assert_int_equal(fcb_agent_store_put_feedback(s, id, reward_of(id), T0 + (double)id), FCB_OK);
    }
    assert_int_equal(fcb_agent_store_flush(s), FCB_OK);
    assert_counts(s, MAX_ROWS, MAX_ROWS);
    /* Ignored duplicates do not count towards the bound. */
    put_decisions(s, N, N, DIM);
    put_decisions(s, N, N, DIM);
    assert_int_equal(fcb_agent_store_flush(s), FCB_OK);
    assert_counts(s, MAX_ROWS, MAX_ROWS);
    scan_result r;
    scan(s, &r, DIM);
    assert_int_equal(r.n, MAX_ROWS);
    for (int i = 0; i < MAX_ROWS; i++)
        assert_int_equal(r.ids[i], (uint64_t)(N - MAX_ROWS + 1 + i));
    assert_int_equal(fcb_agent_store_close(s), FCB_OK);

    /* A smaller bound applies at open. */
    o.max_rows = 10;
    s = open_store(&o);
    assert_counts(s, 10, 10);
    assert_int_equal(fcb_agent_store_last_event_id(s), N);
    assert_int_equal(fcb_agent_store_close(s), FCB_OK);
}

static void test_max_age(void **state)
{
    (void)state;
    fcb_agent_store_options o = store_options(temp_path("aged.db"));
    o.max_age = 3600.0;
    fcb_agent_store *s = open_store(&o);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    float context[DIM];
    for (uint64_t id = 1; id <= 20; id++) {
        fcb_store_decision d = make_decision(id, context, DIM);
        d.time = (double)now.tv_sec - (id <= 12 ? 7200.0 : 10.0);
        assert_int_equal(fcb_agent_store_put_decision(s, &d), FCB_OK);
        assert_int_equal(fcb_agent_store_put_feedback(s, id, 1.0f, d.time), FCB_OK);
    }
    assert_int_equal(fcb_agent_store_flush(s), FCB_OK);
    assert_counts(s, 8, 8);
    assert_int_equal(fcb_agent_store_close(s), FCB_OK);
}

/* ---- refused files ---- */

static void test_shape_mismatch(void **state)
{
    (void)state;
    const char *path = temp_path("shape.db");
    fcb_agent_store_options o = store_options(path);
    assert_int_equal(fcb_agent_store_close(open_store(&o)), FCB_OK);
    o.input_dim = DIM + 1;
    fcb_agent_store *s = NULL;
    assert_int_equal(fcb_agent_store_open(&o, &s), FCB_ERR_ARG);
    assert_null(s);
    assert_message_contains(path);
    assert_message_contains("holds input_dim 7 and num_actions 4");
    assert_message_contains("say input_dim 8 and num_actions 4");
    assert_one_line();
    o.input_dim = DIM;
    o.num_actions = K - 1;
    assert_int_equal(fcb_agent_store_open(&o, &s), FCB_ERR_ARG);
    assert_message_contains("num_actions 3");
}

static void write_bytes(const char *path, const unsigned char *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void assert_file_is(const char *path, const unsigned char *bytes, size_t n)
{
    static unsigned char back[16384];
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t got = fread(back, 1, sizeof back, f);
    fclose(f);
    assert_int_equal(got, n);
    assert_memory_equal(back, bytes, n);
}

static void test_corrupt_file(void **state)
{
    (void)state;
    static unsigned char bytes[8192];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (unsigned char)mix(i);
    const char *path = temp_path("random.db");
    write_bytes(path, bytes, sizeof bytes);
    fcb_agent_store_options o = store_options(path);
    fcb_agent_store *s = NULL;
    assert_int_equal(fcb_agent_store_open(&o, &s), FCB_ERR_FORMAT);
    assert_null(s);
    char expected[600];
    snprintf(expected, sizeof expected, "store %s is not a SQLite database (corrupt or foreign file)", path);
    assert_string_equal(fcb_last_error(), expected);
    assert_file_is(path, bytes, sizeof bytes);
}

/* A SQLite file of another application, left as it was. */
static void make_foreign_db(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void test_foreign_sqlite_file(void **state)
{
    (void)state;
    const char *cases[] = {
        "PRAGMA application_id = 305419896; CREATE TABLE notes(id INTEGER PRIMARY KEY, text TEXT);"
        "INSERT INTO notes VALUES (1, 'hello');",
        "CREATE TABLE decisions(id INTEGER PRIMARY KEY);",
    };
    for (int i = 0; i < 2; i++) {
        char name[32];
        snprintf(name, sizeof name, "foreign-%d.db", i);
        const char *path = temp_path(name);
        make_foreign_db(path, cases[i]);
        static unsigned char before[16384];
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        size_t n = fread(before, 1, sizeof before, f);
        fclose(f);
        fcb_agent_store_options o = store_options(path);
        fcb_agent_store *s = NULL;
        assert_int_equal(fcb_agent_store_open(&o, &s), FCB_ERR_FORMAT);
        char expected[600];
        snprintf(expected, sizeof expected, "store %s was not written by fedcb", path);
        assert_message_contains(expected);
        assert_message_contains(i == 0 ? "0x12345678" : "0x00000000");
        assert_one_line();
        assert_file_is(path, before, n);
    }
}

static void test_newer_schema(void **state)
{
    (void)state;
    const char *path = temp_path("newer.db");
    fcb_agent_store_options o = store_options(path);
    assert_int_equal(fcb_agent_store_close(open_store(&o)), FCB_OK);
    make_foreign_db(path, "PRAGMA user_version = 2;");
    fcb_agent_store *s = NULL;
    assert_int_equal(fcb_agent_store_open(&o, &s), FCB_ERR_FORMAT);
    assert_message_contains(path);
    assert_message_contains("schema version 2, newer than this fedcb reads (1)");
}

/* Rows the puts would refuse, written into the file behind the store's
 * back, make a scan or a model load fail naming the path and the event: a
 * reader would index by the action, divide by the propensity and decide
 * with the model. */
static void test_damaged_rows(void **state)
{
    (void)state;
    const char *damage[] = {
        "UPDATE decisions SET action = 4 WHERE id = 2",
        "UPDATE decisions SET action = -1 WHERE id = 2",
        "UPDATE decisions SET propensity = 0 WHERE id = 2",
        "UPDATE decisions SET propensity = 1.5 WHERE id = 2",
        "UPDATE decisions SET time = 1e999 WHERE id = 2",
        "UPDATE feedback SET reward = 1e300 WHERE event_id = 2",
        "UPDATE model SET params = zeroblob(8) || x'0000c07f' || zeroblob(8)",
    };
    const char *expected[] = {"event 2: action 4", "event 2: action -1", "event 2: propensity 0",
                              "event 2: propensity 1.5", "event 2: time", "event 2: reward",
                              "model parameter 2 is not finite"};
    for (size_t i = 0; i < sizeof damage / sizeof damage[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "damaged-%zu.db", i);
        const char *path = temp_path(name);
        fcb_agent_store_options o = store_options(path);
        fcb_agent_store *s = open_store(&o);
        put_decisions(s, 1, 3, DIM);
        assert_int_equal(fcb_agent_store_put_feedback(s, 2, 0.5f, T0), FCB_OK);
        const float params[5] = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f};
        assert_int_equal(fcb_agent_store_save_model(s, 9, params, 5), FCB_OK);
        assert_int_equal(fcb_agent_store_close(s), FCB_OK);
        make_foreign_db(path, damage[i]);
        s = open_store(&o);
        scan_result r;
        memset(&r, 0, sizeof r);
        r.dim = DIM;
        fcb_status scanned = fcb_agent_store_scan(s, collect, &r);
        float loaded[5];
        int64_t version = 0;
        int found = -1;
        fcb_status st = scanned;
        if (st == FCB_OK)
            st = fcb_agent_store_load_model(s, &version, loaded, 5, &found);
        assert_int_equal(st, FCB_ERR_FORMAT);
        assert_message_contains(path);
        assert_message_contains(expected[i]);
        assert_one_line();
        if (scanned == FCB_OK)
            assert_int_equal(found, 0);
        else
            assert_int_equal(r.n, 1); /* the rows before the damaged one */
        assert_int_equal(fcb_agent_store_close(s), FCB_OK);
    }
}

static void test_missing_directory(void **state)
{
    (void)state;
    const char *path = temp_path("no-such-dir/store.db");
    fcb_agent_store_options o = store_options(path);
    fcb_agent_store *s = NULL;
    assert_int_equal(fcb_agent_store_open(&o, &s), FCB_ERR_IO);
    assert_null(s);
    char expected[600];
    snprintf(expected, sizeof expected, "store %s: directory %s/no-such-dir does not exist", path, temp_dir);
    assert_string_equal(fcb_last_error(), expected);
}

/* ---- children: plain checks, a status and a line back to the parent ---- */

typedef struct {
    int status; /* exit code, or 128 + signal */
    char line[1024];
} child_result;

static void child_report(int fd, const char *line)
{
    size_t n = strlen(line);
    ssize_t written = write(fd, line, n);
    (void)written;
}

/* Reads everything the child wrote and waits for it. */
static child_result wait_child(pid_t pid, int fd)
{
    child_result r;
    memset(&r, 0, sizeof r);
    size_t used = 0;
    for (;;) {
        ssize_t n = read(fd, r.line + used, sizeof r.line - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    close(fd);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
}

enum { CHILD_SKIPPED = 77 };

/* The store cannot be written by the user the child becomes: a directory
 * without write permission (a new store) and a store file of another user
 * (an existing one). Root writes everywhere, so a root test process drops
 * to nobody in the child. */
static int read_only_child(const char *new_path, const char *existing_path, int fd)
{
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) {
        child_report(fd, "cannot become nobody");
        return CHILD_SKIPPED;
    }
    const char *paths[] = {new_path, existing_path};
    for (int i = 0; i < 2; i++) {
        fcb_agent_store_options o = store_options(paths[i]);
        fcb_agent_store *s = NULL;
        if (fcb_agent_store_open(&o, &s) != FCB_ERR_IO) {
            child_report(fd, "opened a read-only store");
            fcb_agent_store_close(s);
            return 3;
        }
        child_report(fd, fcb_last_error());
        child_report(fd, "\n");
    }
    return 0;
}

static void test_read_only_location(void **state)
{
    (void)state;
    char dir[512], new_path[600], existing_dir[512], existing_path[600];
    snprintf(dir, sizeof dir, "%s/ro", temp_dir);
    snprintf(new_path, sizeof new_path, "%s/store.db", dir);
    snprintf(existing_dir, sizeof existing_dir, "%s/ro-existing", temp_dir);
    snprintf(existing_path, sizeof existing_path, "%s/store.db", existing_dir);
    assert_int_equal(mkdir(dir, 0555), 0);
    assert_int_equal(mkdir(existing_dir, 0755), 0);
    fcb_agent_store_options o = store_options(existing_path);
    assert_int_equal(fcb_agent_store_close(open_store(&o)), FCB_OK);
    assert_int_equal(chmod(existing_path, 0444), 0);
    assert_int_equal(chmod(existing_dir, 0555), 0);

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        _exit(read_only_child(new_path, existing_path, fds[1]));
    }
    close(fds[1]);
    child_result r = wait_child(pid, fds[0]);
    if (r.status == CHILD_SKIPPED) {
        printf("[ info ] skipped: %s\n", r.line);
        skip();
    }
    if (r.status != 0)
        fail_msg("child status %d: %s", r.status, r.line);
    char expected[700];
    snprintf(expected, sizeof expected, "store %s: read-only location", new_path);
    if (!strstr(r.line, expected))
        fail_msg("\"%s\" does not contain \"%s\"", r.line, expected);
    snprintf(expected, sizeof expected, "store %s: read-only location", existing_path);
    if (!strstr(r.line, expected))
        fail_msg("\"%s\" does not contain \"%s\"", r.line, expected);
    printf("[ info ] %s", r.line);
}

/* ---- threads ---- */

enum { THREADS = 4, PER_THREAD = 20000 };

typedef struct {
    fcb_agent_store *store;
    int thread;
    fcb_status status;
} put_job;

/* Thread t puts ids t+1, t+1+THREADS, ... with feedback on every other. */
static void *put_many(void *arg)
{
    put_job *job = arg;
    float context[DIM];
    for (int i = 0; i < PER_THREAD && job->status == FCB_OK; i++) {
        uint64_t id = (uint64_t)i * THREADS + (uint64_t)job->thread + 1;
        fcb_store_decision d = make_decision(id, context, DIM);
        job->status = fcb_agent_store_put_decision(job->store, &d);
        if (job->status == FCB_OK && id % 2 == 0)
            job->status = fcb_agent_store_put_feedback(job->store, id, reward_of(id), T0 + (double)id);
    }
    return NULL;
}

typedef struct {
    uint64_t next;
    int bad;
    int dim;
    int even_feedback; /* feedback on the even ids, none on the odd */
} order_check;

static fcb_status check_order(void *ctx, const fcb_store_decision *d, int has_feedback, float reward, double time)
{
    order_check *c = ctx;
    float expected[64];
    fcb_store_decision e = make_decision(c->next, expected, c->dim);
    int same = d->event_id == c->next && d->action == e.action && d->time == e.time &&
               memcmp(d->context, e.context, (size_t)c->dim * sizeof(float)) == 0 &&
               has_feedback == (c->even_feedback && d->event_id % 2 == 0);
    if (has_feedback)
        same = same && reward == reward_of(d->event_id) && time == T0 + (double)d->event_id;
    c->bad += !same;
    c->next++;
    return FCB_OK;
}

static void test_concurrent_puts(void **state)
{
    (void)state;
    fcb_agent_store_options o = store_options(temp_path("threads.db"));
    o.queue_capacity = 512;
    fcb_agent_store *s = open_store(&o);
    pthread_t threads[THREADS];
    put_job jobs[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t] = (put_job){s, t, FCB_OK};
        assert_int_equal(pthread_create(&threads[t], NULL, put_many, &jobs[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(pthread_join(threads[t], NULL), 0);
        assert_int_equal(jobs[t].status, FCB_OK);
    }
    assert_int_equal(fcb_agent_store_flush(s), FCB_OK);
    assert_counts(s, THREADS * PER_THREAD, THREADS * PER_THREAD / 2);
    order_check c = {1, 0, DIM, 1};
    assert_int_equal(fcb_agent_store_scan(s, check_order, &c), FCB_OK);
    assert_int_equal(c.bad, 0);
    assert_int_equal(c.next, THREADS * PER_THREAD + 1);
    printf("[ info ] %d threads, queue of 512: %llu puts waited on a full queue\n", THREADS,
           (unsigned long long)fcb_agent_store_waits(s));
    assert_int_equal(fcb_agent_store_close(s), FCB_OK);
}

/* ---- a SIGKILLed process keeps what its flushes acknowledged ---- */

/* The child's messages: FLUSHING | rows when a batch is enqueued and its
 * flush starts, rows alone when the flush returned. */
static const uint64_t FLUSHING = 1ull << 63;

/* Puts batches of rows and flushes each, telling the parent; runs until
 * killed. */
static int kill_child(const char *path, int sync_full, int fd)
{
    fcb_agent_store_options o = store_options(path);
    o.sync_full = sync_full;
    fcb_agent_store *s = NULL;
    if (fcb_agent_store_open(&o, &s) != FCB_OK)
        return 2;
    float context[DIM];
    uint64_t next = 1;
    for (int batch = 0; batch < 100000; batch++) {
        int rows = 1 + (batch * 37) % 400;
        for (int i = 0; i < rows; i++, next++) {
            fcb_store_decision d = make_decision(next, context, DIM);
            if (fcb_agent_store_put_decision(s, &d) != FCB_OK)
                return 3;
        }
        uint64_t message = FLUSHING | (next - 1);
        if (write(fd, &message, sizeof message) != (ssize_t)sizeof message)
            return 4;
        if (fcb_agent_store_flush(s) != FCB_OK)
            return 5;
        message = next - 1;
        if (write(fd, &message, sizeof message) != (ssize_t)sizeof message)
            return 6;
    }
    return 0;
}

/* Kills the child right after its kill_after-th message: after an odd one
 * while a flush commits, after an even one between flushes. */
static void kill_and_check(const char *name, int sync_full, int kill_after)
{
    const char *path = temp_path(name);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        _exit(kill_child(path, sync_full, fds[1]));
    }
    close(fds[1]);
    uint64_t acked = 0, value = 0;
    int messages = 0;
    while (messages < kill_after && read(fds[0], &value, sizeof value) == (ssize_t)sizeof value) {
        acked = value & FLUSHING ? acked : value;
        messages++;
    }
    assert_int_equal(messages, kill_after);
    assert_int_equal(kill(pid, SIGKILL), 0);
    /* Acknowledgements written before the kill count too. */
    while (read(fds[0], &value, sizeof value) == (ssize_t)sizeof value)
        acked = value & FLUSHING ? acked : value;
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    fcb_agent_store_options o = store_options(path);
    fcb_agent_store *s = open_store(&o);
    order_check c = {1, 0, DIM, 0};
    assert_int_equal(fcb_agent_store_scan(s, check_order, &c), FCB_OK);
    assert_int_equal(c.bad, 0);
    uint64_t stored = c.next - 1;
    printf("[ info ] SIGKILL after message %d (sync_full %d): %llu rows acknowledged, %llu in the store\n",
           kill_after, sync_full, (unsigned long long)acked, (unsigned long long)stored);
    assert_true(stored >= acked);
    assert_true(fcb_agent_store_last_event_id(s) >= acked);
    assert_int_equal(fcb_agent_store_close(s), FCB_OK);
}

/* Deterministic kill points in both synchronous modes: during the first
 * commit, between flushes, during later commits. */
static void test_sigkill_keeps_flushed_rows(void **state)
{
    (void)state;
    const int kill_points[] = {1, 14, 81, 240, 399};
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "killed-%d.db", i);
        kill_and_check(name, i % 2 == 0, kill_points[i]);
    }
}

/* ---- a full disk ---- */

/* The file size limit makes writes fail with EFBIG, as a full disk would
 * with ENOSPC. The child puts until the store refuses, flushing every
 * FLUSH_EVERY rows, and reports the acknowledged rows and the errors. */
enum { FLUSH_EVERY = 2000, SIZE_LIMIT = 1 << 20 };

static int disk_full_child(const char *path, int fd)
{
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit = {SIZE_LIMIT, SIZE_LIMIT};
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0)
        return 2;
    fcb_agent_store_options o = store_options(path);
    o.queue_capacity = 1024;
    fcb_agent_store *s = NULL;
    if (fcb_agent_store_open(&o, &s) != FCB_OK) {
        child_report(fd, fcb_last_error());
        return 3;
    }
    float context[DIM];
    uint64_t id = 1, acked = 0;
    fcb_status st = FCB_OK;
    for (; st == FCB_OK && id < 10000000; id++) {
        fcb_store_decision d = make_decision(id, context, DIM);
        st = fcb_agent_store_put_decision(s, &d);
        if (st == FCB_OK && id % FLUSH_EVERY == 0) {
            st = fcb_agent_store_flush(s);
            acked = st == FCB_OK ? id : acked;
        }
    }
    char first[1024];
    snprintf(first, sizeof first, "%s", fcb_last_error());
    char line[2200];
    snprintf(line, sizeof line, "%llu\n%s\n", (unsigned long long)acked, first);
    child_report(fd, line);
    if (st != FCB_ERR_IO)
        return 4;
    /* Sticky: every later call says the same. */
    fcb_store_decision d = make_decision(id, context, DIM);
    if (fcb_agent_store_put_decision(s, &d) != FCB_ERR_IO || strcmp(fcb_last_error(), first) != 0)
        return 5;
    if (fcb_agent_store_put_feedback(s, 1, 1.0f, T0) != FCB_ERR_IO || strcmp(fcb_last_error(), first) != 0)
        return 6;
    if (fcb_agent_store_flush(s) != FCB_ERR_IO || strcmp(fcb_last_error(), first) != 0)
        return 7;
    float params[2] = {1.0f, 2.0f};
    if (fcb_agent_store_save_model(s, 1, params, 2) != FCB_ERR_IO || strcmp(fcb_last_error(), first) != 0)
        return 8;
    if (fcb_agent_store_close(s) != FCB_ERR_IO || strcmp(fcb_last_error(), first) != 0)
        return 9;
    return 0;
}

static void test_disk_full(void **state)
{
    (void)state;
    const char *path = temp_path("full.db");
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        _exit(disk_full_child(path, fds[1]));
    }
    close(fds[1]);
    child_result r = wait_child(pid, fds[0]);
    if (r.status != 0)
        fail_msg("child status %d: %s", r.status, r.line);
    unsigned long long acked = strtoull(r.line, NULL, 10);
    const char *message = strchr(r.line, '\n') + 1;
    char expected[700];
    snprintf(expected, sizeof expected, "store %s: disk full", path);
    if (strncmp(message, expected, strlen(expected)) != 0)
        fail_msg("\"%s\" does not start with \"%s\"", message, expected);
    printf("[ info ] file size limit %d bytes: %llu rows acknowledged, then: %s", SIZE_LIMIT, acked, message);
    assert_true(acked > 0);

    /* Without the limit the store opens with every acknowledged row. */
    fcb_agent_store_options o = store_options(path);
    fcb_agent_store *s = open_store(&o);
    long decisions = 0, feedback = 0;
    assert_int_equal(fcb_agent_store_counts(s, &decisions, &feedback), FCB_OK);
    assert_true((unsigned long long)decisions >= acked);
    put_decisions(s, (uint64_t)decisions + 1, (uint64_t)decisions + 10, DIM);
    assert_int_equal(fcb_agent_store_close(s), FCB_OK);
}

/* ---- throughput, as information ---- */

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void measure(const char *name, int sync_full, int n, int report)
{
    enum { D = 20 };
    fcb_agent_store_options o = store_options(temp_path(name));
    o.input_dim = D;
    o.sync_full = sync_full;
    fcb_agent_store *s = open_store(&o);
    float context[D];
    double start = now_seconds();
    for (int i = 1; i <= n; i++) {
        fcb_store_decision d = make_decision((uint64_t)i, context, D);
        assert_int_equal(fcb_agent_store_put_decision(s, &d), FCB_OK);
    }
    assert_int_equal(fcb_agent_store_flush(s), FCB_OK);
    double seconds = now_seconds() - start;
    if (report)
        printf("[ info ] writer: %d decisions of %d floats, sync_full %d: %.0f rows/s (%llu puts waited)\n", n, D,
           sync_full, n / seconds, (unsigned long long)fcb_agent_store_waits(s));
    assert_counts(s, n, 0);
    assert_int_equal(fcb_agent_store_close(s), FCB_OK);
    unlink(o.path);
}

static void test_throughput(void **state)
{
    (void)state;
    /* The first store of the process is slower (memory first touched). */
    measure("speed-warm-up.db", 0, 100000, 0);
    measure("speed-full.db", 1, 400000, 1);
    measure("speed-normal.db", 0, 400000, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_new_store_schema),
        cmocka_unit_test(test_refuses_bad_puts),
        cmocka_unit_test(test_consume),
        cmocka_unit_test(test_max_rows),
        cmocka_unit_test(test_max_age),
        cmocka_unit_test(test_shape_mismatch),
        cmocka_unit_test(test_corrupt_file),
        cmocka_unit_test(test_foreign_sqlite_file),
        cmocka_unit_test(test_newer_schema),
        cmocka_unit_test(test_damaged_rows),
        cmocka_unit_test(test_missing_directory),
        cmocka_unit_test(test_read_only_location),
        cmocka_unit_test(test_concurrent_puts),
        cmocka_unit_test(test_sigkill_keeps_flushed_rows),
        cmocka_unit_test(test_disk_full),
        cmocka_unit_test(test_throughput),
    };
    return cmocka_run_group_tests(tests, make_temp_dir, remove_temp_dir);
}
