/* The binary cache of parsed text datasets (simulations/dataset_cache.c): a
 * cached read gives the rows a parse gives; a source that changed (appended,
 * rewritten in place with its old size and time, or only touched), a cache
 * that is truncated or holds an impossible label, and other load options are
 * never served from the cache; an unwritable cache directory is one error. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset_cache.h"

typedef struct {
    char dir[64];
    char source[128];
    char cache_dir[128];
} fixture;

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/fedcb-cache-XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->source, sizeof fx->source, "%s/train.vw", fx->dir);
    snprintf(fx->cache_dir, sizeof fx->cache_dir, "%s/cache", fx->dir);
    write_text(fx->source, "1 | 1:0.5 2:-1.25\n3 | 2:2 3:0.125\n2 | 1:1e-3\n");
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    char command[256];
    snprintf(command, sizeof command, "rm -rf '%s'", fx->dir);
    int rc = system(command);
    free(fx);
    return rc == 0 ? 0 : -1;
}

/* The single cache file in the cache directory. */
static void the_cache_file(const fixture *fx, char *out, size_t size)
{
    DIR *d = opendir(fx->cache_dir);
    assert_non_null(d);
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".fcbcache") && !strstr(e->d_name, ".tmp")) {
            snprintf(out, size, "%s/%s", fx->cache_dir, e->d_name);
            found++;
        }
    closedir(d);
    assert_int_equal(found, 1);
}

static void load(const fixture *fx, int dim, int expect_from_cache, fcb_dataset *ds)
{
    int from_cache = -1;
    assert_int_equal(fcb_dataset_load_text("vw", fx->source, dim, 0, fx->cache_dir, ds, &from_cache), FCB_OK);
    assert_int_equal(from_cache, expect_from_cache);
}

static void assert_same_rows(const fcb_dataset *a, const fcb_dataset *b)
{
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->d, b->d);
    assert_int_equal(a->k, b->k);
    assert_memory_equal(a->y, b->y, (size_t)a->n * sizeof(int));
    assert_memory_equal(a->x, b->x, (size_t)a->n * a->d * sizeof(float));
}

static void test_cached_read_equals_parse(void **state)
{
    fixture *fx = *state;
    fcb_dataset parsed = {0}, first = {0}, second = {0};
    assert_int_equal(fcb_dataset_load_vw(fx->source, 0, 0, &parsed), FCB_OK);
    load(fx, 0, 0, &first);
    load(fx, 0, 1, &second);
    assert_same_rows(&parsed, &first);
    assert_same_rows(&parsed, &second);
    /* Without a cache directory nothing is cached. */
    fcb_dataset plain = {0};
    int from_cache = -1;
    assert_int_equal(fcb_dataset_load_text("vw", fx->source, 0, 0, "", &plain, &from_cache), FCB_OK);
    assert_int_equal(from_cache, 0);
    assert_same_rows(&parsed, &plain);
    fcb_dataset_free(&parsed), fcb_dataset_free(&first), fcb_dataset_free(&second), fcb_dataset_free(&plain);
}

static void test_changed_source_is_parsed_again(void **state)
{
    fixture *fx = *state;
    fcb_dataset ds = {0}, parsed = {0};
    load(fx, 0, 0, &ds);
    fcb_dataset_free(&ds);
    /* Appended: another size. */
    FILE *f = fopen(fx->source, "a");
    fputs("2 | 3:4\n", f);
    fclose(f);
    load(fx, 0, 0, &ds);
    assert_int_equal(ds.n, 4);
    fcb_dataset_free(&ds);
    load(fx, 0, 1, &ds);
    fcb_dataset_free(&ds);
    /* Rewritten in place: same size, the old modification time put back. */
    struct stat before;
    assert_int_equal(stat(fx->source, &before), 0);
    write_text(fx->source, "1 | 1:0.5 2:-1.25\n3 | 2:2 3:0.125\n2 | 1:9e-3\n2 | 3:4\n");
    struct stat after;
    assert_int_equal(stat(fx->source, &after), 0);
    assert_int_equal(after.st_size, before.st_size);
    struct timespec times[2] = {before.st_atim, before.st_mtim};
    assert_int_equal(utimensat(AT_FDCWD, fx->source, times, 0), 0);
    load(fx, 0, 0, &ds);
    assert_int_equal(fcb_dataset_load_vw(fx->source, 0, 0, &parsed), FCB_OK);
    assert_same_rows(&parsed, &ds);
    assert_true(ds.x[2 * ds.d] == 9e-3f);
    fcb_dataset_free(&ds);
    /* Only touched: parsed again (the rows are the same). */
    struct timespec later[2] = {{0, UTIME_NOW}, {before.st_mtim.tv_sec + 5, 0}};
    assert_int_equal(utimensat(AT_FDCWD, fx->source, later, 0), 0);
    load(fx, 0, 0, &ds);
    assert_same_rows(&parsed, &ds);
    fcb_dataset_free(&ds), fcb_dataset_free(&parsed);
}

static void test_damaged_cache_is_rebuilt(void **state)
{
    fixture *fx = *state;
    fcb_dataset ds = {0}, parsed = {0};
    assert_int_equal(fcb_dataset_load_vw(fx->source, 0, 0, &parsed), FCB_OK);
    load(fx, 0, 0, &ds);
    fcb_dataset_free(&ds);
    char cache[512];
    the_cache_file(fx, cache, sizeof cache);
    struct stat full;
    assert_int_equal(stat(cache, &full), 0);
    /* Truncated by one byte. */
    assert_int_equal(truncate(cache, full.st_size - 1), 0);
    load(fx, 0, 0, &ds);
    assert_same_rows(&parsed, &ds);
    fcb_dataset_free(&ds);
    /* A label beyond k in the first row (labels follow the header). */
    FILE *f = fopen(cache, "r+b");
    int bad = 1000;
    assert_int_equal(fseek(f, (long)(full.st_size - (long)(parsed.n * (1 + parsed.d) * 4)), SEEK_SET), 0);
    assert_int_equal(fwrite(&bad, sizeof bad, 1, f), 1);
    fclose(f);
    load(fx, 0, 0, &ds);
    assert_same_rows(&parsed, &ds);
    fcb_dataset_free(&ds);
    /* Garbage of the right size. */
    f = fopen(cache, "r+b");
    for (long i = 0; i < full.st_size; i++)
        fputc((int)(i * 131 % 251), f);
    fclose(f);
    load(fx, 0, 0, &ds);
    assert_same_rows(&parsed, &ds);
    fcb_dataset_free(&ds);
    load(fx, 0, 1, &ds);
    fcb_dataset_free(&ds), fcb_dataset_free(&parsed);
}

static void test_other_options_other_cache(void **state)
{
    fixture *fx = *state;
    fcb_dataset ds = {0};
    load(fx, 0, 0, &ds);
    assert_int_equal(ds.d, 3);
    fcb_dataset_free(&ds);
    load(fx, 5, 0, &ds);
    assert_int_equal(ds.d, 5);
    fcb_dataset_free(&ds);
    load(fx, 5, 1, &ds);
    fcb_dataset_free(&ds);
    load(fx, 0, 1, &ds);
    assert_int_equal(ds.d, 3);
    fcb_dataset_free(&ds);
}

static void test_unwritable_cache_dir(void **state)
{
    fixture *fx = *state;
    char blocker[160];
    snprintf(blocker, sizeof blocker, "%s/not-a-dir", fx->dir);
    write_text(blocker, "x");
    fcb_dataset ds = {0};
    assert_int_equal(fcb_dataset_load_text("vw", fx->source, 0, 0, blocker, &ds, NULL), FCB_ERR_IO);
    assert_non_null(strstr(fcb_last_error(), "data.cache_dir"));
    assert_non_null(strstr(fcb_last_error(), "not-a-dir"));
    assert_null(ds.x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cached_read_equals_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_source_is_parsed_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_cache_is_rebuilt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_options_other_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_cache_dir, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
