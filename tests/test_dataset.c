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
#include <zlib.h>

#include "dataset.h"
#include "status.h"

#define DATA_DIR FEDCB_SOURCE_DIR "/tests/data"

static const char *FASHION_DIR = "/usr/share/datasets/fashion-mnist";

/* ---- temporary files ---- */

enum { MAX_TEMP_FILES = 96 };

static char temp_dir[256];
static char temp_files[MAX_TEMP_FILES][512];
static int num_temp_files;

static int make_temp_dir(void **state)
{
    (void)state;
    snprintf(temp_dir, sizeof temp_dir, "/tmp/fedcb_test_dataset_XXXXXX");
    if (!mkdtemp(temp_dir))
        return -1;
    num_temp_files = 0;
    return 0;
}

static int remove_temp_dir(void **state)
{
    (void)state;
    for (int i = 0; i < num_temp_files; i++)
        unlink(temp_files[i]);
    rmdir(temp_dir);
    return 0;
}

static const char *temp_path(const char *name)
{
    assert_true(num_temp_files < MAX_TEMP_FILES);
    char *path = temp_files[num_temp_files++];
    snprintf(path, sizeof temp_files[0], "%s/%s", temp_dir, name);
    return path;
}

static void write_bytes(const char *path, const unsigned char *bytes, size_t len, int compress)
{
    if (compress) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        if (len > 0)
            assert_int_equal(gzwrite(f, bytes, (unsigned)len), (int)len);
        assert_int_equal(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(bytes, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
    }
}

static const char *write_text(const char *name, const char *text)
{
    const char *path = temp_path(name);
    write_bytes(path, (const unsigned char *)text, strlen(text), 0);
    return path;
}

static void put_u32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

/* An IDX images file: magic, n, rows, cols, then `payload` bytes of pixels
 * (pixel i = (7 * i + 3) mod 256) and `extra` trailing bytes. */
static const char *write_idx_images(const char *name, uint32_t magic, uint32_t n, uint32_t rows, uint32_t cols,
                                    size_t payload, size_t extra, int compress)
{
    size_t len = 16 + payload + extra;
    unsigned char *bytes = malloc(len);
    assert_non_null(bytes);
    put_u32(bytes, magic);
    put_u32(bytes + 4, n);
    put_u32(bytes + 8, rows);
    put_u32(bytes + 12, cols);
    for (size_t i = 0; i < payload + extra; i++)
        bytes[16 + i] = (unsigned char)((7 * i + 3) % 256);
    const char *path = temp_path(name);
    write_bytes(path, bytes, len, compress);
    free(bytes);
    return path;
}

static const char *write_idx_labels(const char *name, uint32_t n, const unsigned char *labels, size_t count,
                                    int compress)
{
    unsigned char bytes[8 + 256];
    assert_true(count <= 256);
    put_u32(bytes, 0x00000801u);
    put_u32(bytes + 4, n);
    memcpy(bytes + 8, labels, count);
    const char *path = temp_path(name);
    write_bytes(path, bytes, 8 + count, compress);
    return path;
}

static void assert_message_contains(const char *needle)
{
    const char *message = fcb_last_error();
    if (!strstr(message, needle))
        fail_msg("error message \"%s\" does not contain \"%s\"", message, needle);
}

/* ---- IDX ---- */

static void check_idx_roundtrip(int compress)
{
    const unsigned char labels[3] = {2, 0, 1};
    const char *images_path = write_idx_images(compress ? "rt-images.gz" : "rt-images", 0x00000803u, 3, 2, 3, 18,
                                               0, compress);
    const char *labels_path = write_idx_labels(compress ? "rt-labels.gz" : "rt-labels", 3, labels, 3, compress);
    fcb_dataset ds;
    assert_int_equal(fcb_dataset_load_idx(images_path, labels_path, &ds), FCB_OK);
    assert_int_equal(ds.n, 3);
    assert_int_equal(ds.d, 6);
    assert_int_equal(ds.k, 3);
    for (int i = 0; i < 18; i++)
        assert_float_equal(ds.x[i], ((7 * i + 3) % 256) / 255.0, 1e-7);
    for (int i = 0; i < 3; i++)
        assert_int_equal(ds.y[i], labels[i]);
    fcb_dataset_free(&ds);
    assert_null(ds.x);
    assert_null(ds.y);
    assert_int_equal(ds.n, 0);
}

static void test_idx_gzip_roundtrip(void **state)
{
    (void)state;
    check_idx_roundtrip(1);
}

static void test_idx_plain_roundtrip(void **state)
{
    (void)state;
    check_idx_roundtrip(0);
}

static void test_idx_full_byte_range(void **state)
{
    (void)state;
    /* 300 pixels cover every byte value 0..255; the extremes map to 0 and 1. */
    const unsigned char labels[1] = {255};
    const char *images_path = write_idx_images("range-images.gz", 0x00000803u, 1, 15, 20, 300, 0, 1);
    const char *labels_path = write_idx_labels("range-labels.gz", 1, labels, 1, 1);
    fcb_dataset ds;
    assert_int_equal(fcb_dataset_load_idx(images_path, labels_path, &ds), FCB_OK);
    assert_int_equal(ds.k, 256);
    float lo = 1.0f, hi = 0.0f;
    for (int i = 0; i < ds.d; i++) {
        lo = fminf(lo, ds.x[i]);
        hi = fmaxf(hi, ds.x[i]);
    }
    assert_true(lo == 0.0f);
    assert_true(hi == 1.0f);
    fcb_dataset_free(&ds);
}

static void test_idx_truncated(void **state)
{
    (void)state;
    const unsigned char labels[3] = {0, 1, 2};
    const char *labels_path = write_idx_labels("tr-labels.gz", 3, labels, 3, 1);
    const char *cases[2] = {write_idx_images("tr-images.gz", 0x00000803u, 3, 2, 3, 17, 0, 1),
                            write_idx_images("tr-images-plain", 0x00000803u, 3, 2, 3, 10, 0, 0)};
    for (int c = 0; c < 2; c++) {
        fcb_dataset ds;
        assert_int_equal(fcb_dataset_load_idx(cases[c], labels_path, &ds), FCB_ERR_FORMAT);
        assert_message_contains(cases[c]);
        assert_message_contains("truncated");
        assert_null(ds.x);
    }
    /* A truncated labels file names the labels file. */
    const char *images_path = write_idx_images("tr2-images.gz", 0x00000803u, 3, 2, 3, 18, 0, 1);
    const char *short_labels = write_idx_labels("tr2-labels.gz", 3, labels, 2, 1);
    fcb_dataset ds;
    assert_int_equal(fcb_dataset_load_idx(images_path, short_labels, &ds), FCB_ERR_FORMAT);
    assert_message_contains(short_labels);
    /* A header cut short too. */
    const char *stub = temp_path("stub.gz");
    const unsigned char magic_only[6] = {0, 0, 8, 3, 0, 0};
    write_bytes(stub, magic_only, sizeof magic_only, 1);
    assert_int_equal(fcb_dataset_load_idx(stub, labels_path, &ds), FCB_ERR_FORMAT);
    assert_message_contains(stub);
}

static void test_idx_trailing_bytes(void **state)
{
    (void)state;
    const unsigned char labels[3] = {0, 1, 2};
    const char *images_path = write_idx_images("tb-images.gz", 0x00000803u, 3, 2, 3, 18, 5, 1);
    const char *labels_path = write_idx_labels("tb-labels.gz", 3, labels, 3, 1);
    fcb_dataset ds;
    assert_int_equal(fcb_dataset_load_idx(images_path, labels_path, &ds), FCB_ERR_FORMAT);
    assert_message_contains(images_path);
}

static void test_idx_bad_magic(void **state)
{
    (void)state;
    const unsigned char labels[3] = {0, 1, 2};
    const char *labels_path = write_idx_labels("bm-labels.gz", 3, labels, 3, 1);
    const char *images_path = write_idx_images("bm-images.gz", 0x00000903u, 3, 2, 3, 18, 0, 1);
    fcb_dataset ds;
    assert_int_equal(fcb_dataset_load_idx(images_path, labels_path, &ds), FCB_ERR_FORMAT);
    assert_message_contains(images_path);
    assert_message_contains("magic");
    /* Images and labels swapped: both magics are wrong, the first is reported. */
    const char *good_images = write_idx_images("bm2-images.gz", 0x00000803u, 3, 2, 3, 18, 0, 1);
    assert_int_equal(fcb_dataset_load_idx(labels_path, good_images, &ds), FCB_ERR_FORMAT);
    assert_message_contains(labels_path);
    assert_int_equal(fcb_dataset_load_idx(good_images, good_images, &ds), FCB_ERR_FORMAT);
    assert_message_contains("magic");
}

static void test_idx_count_mismatch(void **state)
{
    (void)state;
    const unsigned char labels[2] = {0, 1};
    const char *images_path = write_idx_images("cm-images.gz", 0x00000803u, 3, 2, 3, 18, 0, 1);
    const char *labels_path = write_idx_labels("cm-labels.gz", 2, labels, 2, 1);
    fcb_dataset ds;
    assert_int_equal(fcb_dataset_load_idx(images_path, labels_path, &ds), FCB_ERR_FORMAT);
    assert_message_contains(images_path);
    assert_message_contains(labels_path);
}

static void test_idx_missing_file(void **state)
{
    (void)state;
    char missing[512];
    snprintf(missing, sizeof missing, "%s/no-such-file.gz", temp_dir);
    const unsigned char labels[3] = {0, 1, 2};
    const char *labels_path = write_idx_labels("mf-labels.gz", 3, labels, 3, 1);
    const char *images_path = write_idx_images("mf-images.gz", 0x00000803u, 3, 2, 3, 18, 0, 1);
    fcb_dataset ds;
    assert_int_equal(fcb_dataset_load_idx(missing, labels_path, &ds), FCB_ERR_IO);
    assert_message_contains("cannot open");
    assert_message_contains(missing);
    assert_message_contains("No such file");
    assert_int_equal(fcb_dataset_load_idx(images_path, missing, &ds), FCB_ERR_IO);
    assert_message_contains(missing);
    fcb_dataset train, test;
    assert_int_equal(fcb_dataset_load_fashion_mnist(temp_dir, &train, &test), FCB_ERR_IO);
    assert_message_contains("train-images-idx3-ubyte.gz");
}

static void test_fashion_mnist(void **state)
{
    (void)state;
    if (access(FASHION_DIR, R_OK) != 0) {
        print_message("%s not installed (Debian package dataset-fashion-mnist)\n", FASHION_DIR);
        skip();
    }
    fcb_dataset train, test;
    if (fcb_dataset_load_fashion_mnist(FASHION_DIR, &train, &test) != FCB_OK)
        fail_msg("%s", fcb_last_error());
    assert_int_equal(train.n, 60000);
    assert_int_equal(test.n, 10000);
    assert_int_equal(train.d, 784);
    assert_int_equal(test.d, 784);
    assert_int_equal(train.k, 10);
    assert_int_equal(test.k, 10);
    int train_counts[10] = {0}, test_counts[10] = {0};
    for (int i = 0; i < train.n; i++)
        train_counts[train.y[i]]++;
    for (int i = 0; i < test.n; i++)
        test_counts[test.y[i]]++;
    for (int c = 0; c < 10; c++) {
        assert_int_equal(train_counts[c], 6000);
        assert_int_equal(test_counts[c], 1000);
    }
    float lo = 1.0f, hi = 0.0f;
    double sum = 0.0;
    for (size_t i = 0; i < (size_t)train.n * train.d; i++) {
        lo = fminf(lo, train.x[i]);
        hi = fmaxf(hi, train.x[i]);
        sum += train.x[i];
    }
    assert_true(lo == 0.0f);
    assert_true(hi == 1.0f);
    /* Fashion-MNIST's mean pixel is about 0.286. */
    double mean = sum / ((double)train.n * train.d);
    assert_true(mean > 0.25 && mean < 0.32);
    fcb_dataset_free(&train);
    fcb_dataset_free(&test);
}

/* ---- synthetic ---- */

static fcb_synthetic_config synthetic_config(int nonlinear, uint64_t seed)
{
    fcb_synthetic_config c = {.num_train = 3000, .num_test = 600, .dim = 20, .num_classes = 5,
                              .nonlinear = nonlinear, .noise = 0.1f, .seed = seed};
    return c;
}

static int datasets_equal(const fcb_dataset *a, const fcb_dataset *b)
{
    return a->n == b->n && a->d == b->d && a->k == b->k &&
           memcmp(a->x, b->x, (size_t)a->n * a->d * sizeof *a->x) == 0 &&
           memcmp(a->y, b->y, (size_t)a->n * sizeof *a->y) == 0;
}

static void test_synthetic_deterministic(void **state)
{
    (void)state;
    for (int nonlinear = 0; nonlinear <= 1; nonlinear++) {
        fcb_synthetic_config c = synthetic_config(nonlinear, 42);
        fcb_dataset train1, test1, train2, test2, train3, test3;
        assert_int_equal(fcb_dataset_synthetic(&c, &train1, &test1), FCB_OK);
        assert_int_equal(fcb_dataset_synthetic(&c, &train2, &test2), FCB_OK);
        c.seed = 43;
        assert_int_equal(fcb_dataset_synthetic(&c, &train3, &test3), FCB_OK);
        assert_int_equal(train1.n, 3000);
        assert_int_equal(test1.n, 600);
        assert_int_equal(train1.d, 20);
        assert_int_equal(train1.k, 5);
        assert_int_equal(test1.k, 5);
        assert_true(datasets_equal(&train1, &train2));
        assert_true(datasets_equal(&test1, &test2));
        assert_false(datasets_equal(&train1, &train3));
        /* Test rows are new rows, not copies of train rows. */
        assert_true(memcmp(train1.x, test1.x, (size_t)test1.d * sizeof *test1.x) != 0);
        fcb_dataset_free(&train1);
        fcb_dataset_free(&test1);
        fcb_dataset_free(&train2);
        fcb_dataset_free(&test2);
        fcb_dataset_free(&train3);
        fcb_dataset_free(&test3);
    }
}

static void test_synthetic_balanced_and_stable_rows(void **state)
{
    (void)state;
    for (int nonlinear = 0; nonlinear <= 1; nonlinear++) {
        for (uint64_t seed = 1; seed <= 5; seed++) {
            fcb_synthetic_config c = synthetic_config(nonlinear, seed);
            fcb_dataset train, test;
            assert_int_equal(fcb_dataset_synthetic(&c, &train, &test), FCB_OK);
            int counts[5] = {0};
            double mean = 0.0, square = 0.0;
            for (int i = 0; i < train.n; i++)
                counts[train.y[i]]++;
            for (size_t i = 0; i < (size_t)train.n * train.d; i++) {
                mean += train.x[i];
                square += (double)train.x[i] * train.x[i];
            }
            mean /= (double)train.n * train.d;
            square /= (double)train.n * train.d;
            /* Standard normal contexts. */
            assert_true(fabs(mean) < 0.02);
            assert_true(fabs(square - 1.0) < 0.03);
            /* No class below a third of its fair share. */
            for (int k = 0; k < 5; k++)
                if (counts[k] < train.n / 15)
                    fail_msg("nonlinear %d seed %d: class %d has %d of %d rows", nonlinear, (int)seed, k,
                             counts[k], train.n);
            /* Row i does not depend on how many rows were asked for. */
            fcb_synthetic_config smaller = c;
            smaller.num_train = 100;
            fcb_dataset train_small, test_small;
            assert_int_equal(fcb_dataset_synthetic(&smaller, &train_small, &test_small), FCB_OK);
            assert_memory_equal(train_small.x, train.x, (size_t)100 * train.d * sizeof *train.x);
            assert_memory_equal(train_small.y, train.y, (size_t)100 * sizeof *train.y);
            fcb_dataset_free(&train);
            fcb_dataset_free(&test);
            fcb_dataset_free(&train_small);
            fcb_dataset_free(&test_small);
        }
    }
}

static void test_synthetic_noise_hides_the_labelling(void **state)
{
    (void)state;
    /* Noise-free labels are a function of x: two generators sharing the
     * weights label a row identically. Large score noise makes the labels
     * nearly independent of the noise-free ones. */
    fcb_synthetic_config clean = synthetic_config(0, 7);
    clean.noise = 0.0f;
    fcb_synthetic_config noisy = clean;
    noisy.noise = 100.0f;
    fcb_dataset a, at, b, bt;
    assert_int_equal(fcb_dataset_synthetic(&clean, &a, &at), FCB_OK);
    assert_int_equal(fcb_dataset_synthetic(&noisy, &b, &bt), FCB_OK);
    assert_memory_equal(a.x, b.x, (size_t)a.n * a.d * sizeof *a.x);
    int agree = 0;
    for (int i = 0; i < a.n; i++)
        agree += a.y[i] == b.y[i];
    /* Chance agreement is 1/5. */
    assert_true(agree < a.n * 0.3);
    fcb_dataset_free(&a);
    fcb_dataset_free(&at);
    fcb_dataset_free(&b);
    fcb_dataset_free(&bt);
}

static void test_synthetic_rejects_bad_config(void **state)
{
    (void)state;
    fcb_dataset train, test;
    fcb_synthetic_config c = synthetic_config(0, 1);
    c.num_classes = 1;
    assert_int_equal(fcb_dataset_synthetic(&c, &train, &test), FCB_ERR_ARG);
    assert_message_contains("num_classes");
    c = synthetic_config(0, 1);
    c.dim = 0;
    assert_int_equal(fcb_dataset_synthetic(&c, &train, &test), FCB_ERR_ARG);
    assert_message_contains("dim");
    c = synthetic_config(0, 1);
    c.noise = NAN;
    assert_int_equal(fcb_dataset_synthetic(&c, &train, &test), FCB_ERR_ARG);
    assert_message_contains("noise");
    c = synthetic_config(2, 1);
    assert_int_equal(fcb_dataset_synthetic(&c, &train, &test), FCB_ERR_ARG);
    assert_message_contains("nonlinear");
    assert_null(train.x);
}

/* ---- LibSVM / VW ---- */

static void assert_matrix(const fcb_dataset *ds, int n, int d, int k, const float *x, const int *y)
{
    assert_int_equal(ds->n, n);
    assert_int_equal(ds->d, d);
    assert_int_equal(ds->k, k);
    for (int i = 0; i < n; i++) {
        assert_int_equal(ds->y[i], y[i]);
        for (int j = 0; j < d; j++)
            if (ds->x[i * d + j] != x[i * d + j])
                fail_msg("x[%d][%d] = %g, expected %g", i, j, (double)ds->x[i * d + j], (double)x[i * d + j]);
    }
}

static void test_libsvm_dense(void **state)
{
    (void)state;
    const float x[9] = {0.5f, -1.0f, 2.0f, 1.5f, 0.0f, 0.25f, -2.0f, 0.3f, 4.0f};
    const int y[3] = {0, 1, 2};
    fcb_dataset ds;
    assert_int_equal(fcb_dataset_load_libsvm(DATA_DIR "/dense.libsvm", 0, 0, &ds), FCB_OK);
    assert_matrix(&ds, 3, 3, 3, x, y);
    fcb_dataset_free(&ds);
    /* An explicit dim pads with zero columns, num_classes sets k. */
    assert_int_equal(fcb_dataset_load_libsvm(DATA_DIR "/dense.libsvm", 5, 4, &ds), FCB_OK);
    const float padded[15] = {0.5f, -1.0f, 2.0f, 0, 0, 1.5f, 0.0f, 0.25f, 0, 0, -2.0f, 0.3f, 4.0f, 0, 0};
    assert_matrix(&ds, 3, 5, 4, padded, y);
    fcb_dataset_free(&ds);
}

static void test_libsvm_sparse(void **state)
{
    (void)state;
    float x[4 * 7] = {0};
    x[0 * 7 + 1] = 1.5f;
    x[0 * 7 + 6] = -3.0f;
    x[1 * 7 + 0] = 2.0f;
    x[2 * 7 + 4] = 0.125f;
    x[2 * 7 + 6] = 1.0f;
    const int y[4] = {0, 1, 2, 0};
    fcb_dataset ds;
    assert_int_equal(fcb_dataset_load_libsvm(DATA_DIR "/sparse.libsvm", 0, 0, &ds), FCB_OK);
    assert_matrix(&ds, 4, 7, 3, x, y);
    fcb_dataset_free(&ds);
}

static void test_libsvm_gzip(void **state)
{
    (void)state;
    const char *text = "1 1:1\n2.0 2:1 3:-1\n";
    const char *path = temp_path("small.libsvm.gz");
    write_bytes(path, (const unsigned char *)text, strlen(text), 1);
    const float x[6] = {1, 0, 0, 0, 1, -1};
    const int y[2] = {0, 1};
    fcb_dataset ds;
    assert_int_equal(fcb_dataset_load_libsvm(path, 0, 0, &ds), FCB_OK);
    assert_matrix(&ds, 2, 3, 2, x, y);
    fcb_dataset_free(&ds);
}

static void test_vw_dense(void **state)
{
    (void)state;
    const float x[9] = {0.5f, -1.0f, 2.0f, 1.5f, 0.0f, 0.25f, -2.0f, 0.3f, 4.0f};
    const int y[3] = {0, 1, 2};
    fcb_dataset ds;
    assert_int_equal(fcb_dataset_load_vw(DATA_DIR "/dense.vw", 0, 0, &ds), FCB_OK);
    assert_matrix(&ds, 3, 3, 3, x, y);
    fcb_dataset_free(&ds);
}

/* Separators the fused tokenizer must treat alike: tabs, CR LF, runs of
 * spaces, a value ending the line, features without a value (1), a
 * namespace weight, and numbers the fast path leaves to strtod. */
static void test_vw_separators_and_number_forms(void **state)
{
    (void)state;
    const char *text = "1 |\t1:0.5\t2:-1\r\n"
                       "2 |a:2   1:+0.25 3  |b 2:1e-2\n"
                       "3 | 3:0x10 1:12345678901234567890 2:.5";
    const float x[9] = {0.5f, -1.0f, 0.0f, 0.5f, 0.01f, 2.0f, 12345678901234567890.0f, 0.5f, 16.0f};
    const int y[3] = {0, 1, 2};
    fcb_dataset ds;
    assert_int_equal(fcb_dataset_load_vw(write_text("separators.vw", text), 0, 0, &ds), FCB_OK);
    assert_matrix(&ds, 3, 3, 3, x, y);
    fcb_dataset_free(&ds);
    /* Column numbers with leading zeros or a sign, short and past nine digits. */
    const float padded[3] = {2.0f, 3.0f, 4.0f};
    const int one[1] = {0};
    assert_int_equal(fcb_dataset_load_vw(write_text("padded.vw", "1 | 003:4 +1:2 00000000002:3\n"), 0, 0, &ds), FCB_OK);
    assert_matrix(&ds, 1, 3, 1, padded, one);
    fcb_dataset_free(&ds);
}

/* Reference FNV-1a (32 bit), independent of the loader. */
static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void test_vw_hashed(void **state)
{
    (void)state;
    /* Published FNV-1a test vectors check the reference itself. */
    assert_true(fnv1a("") == 0x811c9dc5u);
    assert_true(fnv1a("a") == 0xe40c292cu);
    assert_true(fnv1a("foobar") == 0xbf9cf968u);
    enum { DIM = 8 };
    float x[3 * DIM] = {0};
    x[0 * DIM + fnv1a("a^word") % DIM] += 1.0f;
    x[0 * DIM + fnv1a("a^other") % DIM] += 2.0f;
    x[1 * DIM + fnv1a("b^word") % DIM] += 1.0f;
    x[2 * DIM + 3] += 1.0f;
    x[2 * DIM + 1] += 0.5f;
    const int y[3] = {1, 0, 2};
    fcb_dataset ds;
    assert_int_equal(fcb_dataset_load_vw(DATA_DIR "/hashed.vw", DIM, 0, &ds), FCB_OK);
    assert_matrix(&ds, 3, DIM, 3, x, y);
    fcb_dataset_free(&ds);
    /* Without dim, names cannot be hashed. */
    assert_int_equal(fcb_dataset_load_vw(DATA_DIR "/hashed.vw", 0, 0, &ds), FCB_ERR_FORMAT);
    assert_message_contains(DATA_DIR "/hashed.vw:2:");
    assert_message_contains("word");
}

typedef struct {
    const char *text;
    int dim;
    int num_classes;
    int line;
    const char *what;
} malformed_case;

static void check_malformed(int vw, const malformed_case *cases, int count)
{
    for (int i = 0; i < count; i++) {
        char name[64], expected[600];
        snprintf(name, sizeof name, "%s-bad-%d.txt", vw ? "vw" : "libsvm", i);
        const char *path = write_text(name, cases[i].text);
        fcb_dataset ds;
        fcb_status st = vw ? fcb_dataset_load_vw(path, cases[i].dim, cases[i].num_classes, &ds)
                           : fcb_dataset_load_libsvm(path, cases[i].dim, cases[i].num_classes, &ds);
        if (st != FCB_ERR_FORMAT)
            fail_msg("case %d (%s): status %d, message \"%s\"", i, cases[i].text, (int)st, fcb_last_error());
        snprintf(expected, sizeof expected, "%s:%d:", path, cases[i].line);
        assert_message_contains(expected);
        assert_message_contains(cases[i].what);
        assert_null(ds.x);
        assert_null(ds.y);
    }
}

static void test_libsvm_malformed(void **state)
{
    (void)state;
    const malformed_case cases[] = {
        {"1 1:0.5\nx 2:1\n", 0, 0, 2, "label"},
        {"1 1:0.5\n-2 2:1\n", 0, 0, 2, "label"},
        {"1 1:0.5\n1.5 2:1\n", 0, 0, 2, "label"},
        {"1 1:0.5\n2 0:1\n", 0, 0, 2, "index"},
        {"# c\n1 -3:1\n", 0, 0, 2, "index"},
        {"1 2:abc\n", 0, 0, 1, "value"},
        {"1 2:nan\n", 0, 0, 1, "value"},
        {"1 2:1e999\n", 0, 0, 1, "value"},
        {"1 2\n", 0, 0, 1, "index:value"},
        {"1 x:2\n", 0, 0, 1, "index"},
        {"# c\n1 1:1\n\n5 1:1\n", 0, 3, 4, "out of range"},
        {"1 1:1\n1 4:1\n", 3, 0, 2, "dim"},
        {"0 1:1\n2147483647 1:1\n", 0, 0, 2, "too large"},
        {"1 1:1\n1 1:3e38 2:1 1:3e38\n", 0, 0, 2, "column 1 adds up beyond the float range"},
    };
    check_malformed(0, cases, (int)(sizeof cases / sizeof cases[0]));
}

static void test_vw_malformed(void **state)
{
    (void)state;
    const malformed_case cases[] = {
        {"1 | 1:1\n0 | 1:1\n", 0, 0, 2, "label"},
        {"1 | 1:1\nx | 1:1\n", 0, 0, 2, "label"},
        {"1 1:1\n", 0, 0, 1, "'|'"},
        {"| 1:1\n", 0, 0, 1, "label"},
        {"1 | 2:inf\n", 0, 0, 1, "value"},
        {"1 | 2:zz\n", 0, 0, 1, "value"},
        {"1 | 0:1\n", 0, 0, 1, "index"},
        {"1 | -4:1\n", 0, 0, 1, "index"},
        {"1 | word\n", 0, 0, 1, "word"},
        {"1 | 9:1\n", 4, 0, 1, "dim"},
        {"1 | 123456789:1\n", 4, 0, 1, "dim"},
        {"1 | 000000000009:1\n", 4, 0, 1, "dim"},
        {"1 | 2147483648:1\n", 0, 0, 1, "feature index '2147483648' is out of range"},
        {"1 | 12a:1\n", 0, 0, 1, "feature '12a' is not a column number"},
        {"1 | 1:1\n\n4 | 1:1\n", 0, 3, 3, "out of range"},
        {"1 2 tag extra | 1:1\n", 0, 0, 1, "extra"},
        {"1 |ns:x 1:1\n", 0, 0, 1, "namespace"},
        {"1 |ns:0.5x 1:1\n", 0, 0, 1, "bad weight '0.5x' of namespace 'ns'"},
        {"1 | 1:1.5x\n", 0, 0, 1, "bad value '1.5x' for feature '1'"},
        {"1 | 1:\n", 0, 0, 1, "bad value '' for feature '1'"},
        {"1 | 1:2:3\n", 0, 0, 1, "bad value '2:3' for feature '1'"},
        {"1 | 2:0.5 3:1e39\n", 0, 0, 1, "bad value '1e39' for feature '3'"},
        {"1 | 2:1 :1\n", 0, 0, 1, "empty feature name"},
        {"1 | 1:1\n2 |a 2:-3e38 |b 2:-3e38\n", 0, 0, 2, "column 2 adds up beyond the float range"},
    };
    check_malformed(1, cases, (int)(sizeof cases / sizeof cases[0]));
}

static void test_text_missing_and_empty(void **state)
{
    (void)state;
    char missing[512];
    snprintf(missing, sizeof missing, "%s/absent.libsvm", temp_dir);
    fcb_dataset ds;
    assert_int_equal(fcb_dataset_load_libsvm(missing, 0, 0, &ds), FCB_ERR_IO);
    assert_message_contains(missing);
    assert_int_equal(fcb_dataset_load_vw(missing, 0, 0, &ds), FCB_ERR_IO);
    assert_message_contains(missing);
    const char *empty = write_text("empty.libsvm", "# only a comment\n\n");
    assert_int_equal(fcb_dataset_load_libsvm(empty, 0, 0, &ds), FCB_ERR_FORMAT);
    assert_message_contains(empty);
    assert_int_equal(fcb_dataset_load_libsvm(DATA_DIR "/dense.libsvm", -1, 0, &ds), FCB_ERR_ARG);
}

static void test_text_long_line_without_newline(void **state)
{
    (void)state;
    /* 2000 features on one line longer than any initial buffer, no final newline. */
    enum { FEATURES = 2000 };
    size_t cap = (size_t)FEATURES * 16 + 16;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t used = (size_t)snprintf(text, cap, "2");
    for (int j = 1; j <= FEATURES; j++)
        used += (size_t)snprintf(text + used, cap - used, " %d:%d", j, j % 7);
    const char *path = write_text("long.libsvm", text);
    free(text);
    fcb_dataset ds;
    assert_int_equal(fcb_dataset_load_libsvm(path, 0, 0, &ds), FCB_OK);
    assert_int_equal(ds.n, 1);
    assert_int_equal(ds.d, FEATURES);
    assert_int_equal(ds.y[0], 1); /* labels that do not start at 0 are 1-based */
    for (int j = 0; j < FEATURES; j++)
        assert_true(ds.x[j] == (float)((j + 1) % 7));
    fcb_dataset_free(&ds);
}

/* The reader takes 1 MiB at a time: lines cut by every chunk boundary, a
 * 1.5 MB line (longer than a chunk), the same text gzip-compressed, a bad
 * line numbered past the first chunk, and a truncated gzip file. */
static void test_text_across_read_chunks(void **state)
{
    (void)state;
    enum { ROWS = 40000, LONG_ROW = 20000, REPEATS = 375000 };
    size_t cap = (size_t)ROWS * 48 + (size_t)REPEATS * 6 + 64;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t used = 0;
    for (int i = 0; i < ROWS; i++) {
        used += (size_t)snprintf(text + used, cap - used, "%d | 1:%d.25 2:-%d 3:0.%03d\n", 1 + i % 4, i, i % 97,
                                 i % 1000);
        if (i == LONG_ROW) {
            used += (size_t)snprintf(text + used, cap - used, "2 |");
            for (int r = 0; r < REPEATS; r++)
                used += (size_t)snprintf(text + used, cap - used, " 3:1");
            used += (size_t)snprintf(text + used, cap - used, "\n");
        }
    }
    assert_true(used > 2u << 20); /* three chunks at least */
    const char *plain = temp_path("chunks.vw"), *packed = temp_path("chunks.vw.gz");
    write_bytes(plain, (const unsigned char *)text, used, 0);
    write_bytes(packed, (const unsigned char *)text, used, 1);
    for (int compressed = 0; compressed <= 1; compressed++) {
        fcb_dataset ds;
        assert_int_equal(fcb_dataset_load_vw(compressed ? packed : plain, 0, 0, &ds), FCB_OK);
        assert_int_equal(ds.n, ROWS + 1);
        assert_int_equal(ds.d, 3);
        for (int i = 0; i < ROWS; i++) {
            int row = i <= LONG_ROW ? i : i + 1;
            const float *x = ds.x + (size_t)row * 3;
            if (x[0] != (float)i + 0.25f || x[1] != -(float)(i % 97) || x[2] != (float)((i % 1000) / 1000.0) ||
                ds.y[row] != i % 4)
                fail_msg("%s: row %d (file line %d) reads %g %g %g label %d", compressed ? "gzip" : "plain", row,
                         row + 1, x[0], x[1], x[2], ds.y[row]);
        }
        assert_true(ds.x[(size_t)(LONG_ROW + 1) * 3 + 2] == (float)REPEATS);
        fcb_dataset_free(&ds);
    }
    /* A bad line after the first chunk is named by its number. */
    used += (size_t)snprintf(text + used, cap - used, "1 | 1:x\n");
    const char *bad = temp_path("chunks-bad.vw");
    write_bytes(bad, (const unsigned char *)text, used, 0);
    fcb_dataset ds;
    assert_int_not_equal(fcb_dataset_load_vw(bad, 0, 0, &ds), FCB_OK);
    char where[64];
    snprintf(where, sizeof where, "chunks-bad.vw:%d: bad value 'x'", ROWS + 2);
    assert_message_contains(where);
    /* gzip data cut in the middle is refused as truncated, not read as shorter. */
    FILE *f = fopen(packed, "rb");
    assert_non_null(f);
    unsigned char *bytes = malloc(used);
    assert_non_null(bytes);
    size_t packed_size = fread(bytes, 1, used, f);
    fclose(f);
    const char *cut = temp_path("chunks-cut.vw.gz");
    write_bytes(cut, bytes, packed_size / 2, 0);
    assert_int_not_equal(fcb_dataset_load_vw(cut, 0, 0, &ds), FCB_OK);
    assert_message_contains("chunks-cut.vw.gz: corrupt or truncated compressed data");
    free(bytes);
    free(text);
}

/* Rows are dense while they are read, and widen as larger indices appear:
 * a diagonal file whose width grows with every row, loaded without and with
 * dim, keeps every value in its place and zeros elsewhere. */
static void test_text_rows_widen(void **state)
{
    (void)state;
    enum { N = 3000 };
    size_t cap = (size_t)N * 24;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t used = 0;
    for (int i = 0; i < N; i++)
        used += (size_t)snprintf(text + used, cap - used, "%d %d:%d.5\n", i % 3, i + 1, i);
    const char *path = write_text("diagonal.libsvm", text);
    free(text);
    const int dims[2] = {0, N + 17};
    for (int t = 0; t < 2; t++) {
        fcb_dataset ds;
        assert_int_equal(fcb_dataset_load_libsvm(path, dims[t], 0, &ds), FCB_OK);
        assert_int_equal(ds.n, N);
        assert_int_equal(ds.d, t == 0 ? N : N + 17);
        for (int i = 0; i < N; i++) {
            const float *row = ds.x + (size_t)i * ds.d;
            for (int j = 0; j < ds.d; j++) {
                float want = j == i ? (float)i + 0.5f : 0.0f;
                if (row[j] != want)
                    fail_msg("dim %d: x[%d][%d] = %g, want %g", dims[t], i, j, row[j], want);
            }
            assert_int_equal(ds.y[i], i % 3);
        }
        fcb_dataset_free(&ds);
    }
}

/* Rows take the first row's width from the second row on (the row store
 * LibSVM and VW share): a first row wider, narrower or as wide as the rest
 * each loads with every value in place and the width of the widest row. */
static void test_text_rows_take_the_first_rows_width(void **state)
{
    (void)state;
    static const struct {
        const char *name, *text;
        int d;
        float x[4][7];
    } cases[] = {
        {"first-wider.libsvm", "1 7:7 1:1\n0 2:2\n1 3:3 1:-1\n0 1:4\n", 7,
         {{1, 0, 0, 0, 0, 0, 7}, {0, 2, 0, 0, 0, 0, 0}, {-1, 0, 3, 0, 0, 0, 0}, {4, 0, 0, 0, 0, 0, 0}}},
        {"first-narrower.libsvm", "1 1:1\n0 5:5 2:2\n1 7:7\n0 3:3 1:1\n", 7,
         {{1, 0, 0, 0, 0, 0, 0}, {0, 2, 0, 0, 5, 0, 0}, {0, 0, 0, 0, 0, 0, 7}, {1, 0, 3, 0, 0, 0, 0}}},
        {"same-width.libsvm", "1 1:1 2:2 3:3\n0 1:4 2:5 3:6\n1 1:7 3:9\n0 2:8\n", 3,
         {{1, 2, 3}, {4, 5, 6}, {7, 0, 9}, {0, 8, 0}}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *path = write_text(cases[c].name, cases[c].text);
        fcb_dataset ds;
        assert_int_equal(fcb_dataset_load_libsvm(path, 0, 0, &ds), FCB_OK);
        assert_int_equal(ds.n, 4);
        if (ds.d != cases[c].d)
            fail_msg("%s: %d columns, want %d", cases[c].name, ds.d, cases[c].d);
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < ds.d; j++) {
                if (ds.x[(size_t)i * ds.d + j] != cases[c].x[i][j])
                    fail_msg("%s: x[%d][%d] = %g, want %g", cases[c].name, i, j, ds.x[(size_t)i * ds.d + j],
                             cases[c].x[i][j]);
            }
        }
        fcb_dataset_free(&ds);
    }
}

/* ---- split ---- */

static void make_indexed_dataset(fcb_dataset *ds, int n)
{
    ds->n = n;
    ds->d = 2;
    ds->k = 3;
    ds->x = malloc((size_t)n * 2 * sizeof *ds->x);
    ds->y = malloc((size_t)n * sizeof *ds->y);
    assert_non_null(ds->x);
    assert_non_null(ds->y);
    for (int i = 0; i < n; i++) {
        ds->x[2 * i] = (float)i;
        ds->x[2 * i + 1] = (float)(-i);
        ds->y[i] = i % 3;
    }
}

static void test_split(void **state)
{
    (void)state;
    enum { N = 101 };
    fcb_dataset all;
    make_indexed_dataset(&all, N);
    fcb_dataset train, test, train2, test2, train3, test3;
    assert_int_equal(fcb_dataset_split(&all, 0.3, 5, &train, &test), FCB_OK);
    assert_int_equal(test.n, 30);
    assert_int_equal(train.n, 71);
    assert_int_equal(train.d, 2);
    assert_int_equal(test.k, 3);
    /* Every row lands exactly once, intact. */
    int seen[N] = {0};
    const fcb_dataset *parts[2] = {&train, &test};
    for (int p = 0; p < 2; p++) {
        for (int i = 0; i < parts[p]->n; i++) {
            int row = (int)parts[p]->x[2 * i];
            assert_true(row >= 0 && row < N);
            assert_true(parts[p]->x[2 * i + 1] == (float)(-row));
            assert_int_equal(parts[p]->y[i], row % 3);
            seen[row]++;
        }
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    /* The order is shuffled: the test part is not simply the last rows. */
    int tail = 0;
    for (int i = 0; i < test.n; i++)
        tail += (int)test.x[2 * i] >= N - test.n;
    assert_true(tail < test.n);
    /* The input is unchanged. */
    for (int i = 0; i < N; i++)
        assert_true(all.x[2 * i] == (float)i);
    /* Same seed, same split; another seed, another split. */
    assert_int_equal(fcb_dataset_split(&all, 0.3, 5, &train2, &test2), FCB_OK);
    assert_true(datasets_equal(&train, &train2));
    assert_true(datasets_equal(&test, &test2));
    assert_int_equal(fcb_dataset_split(&all, 0.3, 6, &train3, &test3), FCB_OK);
    assert_false(datasets_equal(&train, &train3));
    fcb_dataset_free(&train);
    fcb_dataset_free(&test);
    fcb_dataset_free(&train2);
    fcb_dataset_free(&test2);
    fcb_dataset_free(&train3);
    fcb_dataset_free(&test3);

    assert_int_equal(fcb_dataset_split(&all, 0.0, 5, &train, &test), FCB_ERR_ARG);
    assert_message_contains("test_fraction");
    assert_int_equal(fcb_dataset_split(&all, 1.0, 5, &train, &test), FCB_ERR_ARG);
    assert_int_equal(fcb_dataset_split(&all, NAN, 5, &train, &test), FCB_ERR_ARG);
    assert_int_equal(fcb_dataset_split(&all, 0.001, 5, &train, &test), FCB_ERR_ARG);
    assert_int_equal(fcb_dataset_split(&all, 0.3, 5, &all, &test), FCB_ERR_ARG);
    fcb_dataset_free(&all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_gzip_roundtrip),
        cmocka_unit_test(test_idx_plain_roundtrip),
        cmocka_unit_test(test_idx_full_byte_range),
        cmocka_unit_test(test_idx_truncated),
        cmocka_unit_test(test_idx_trailing_bytes),
        cmocka_unit_test(test_idx_bad_magic),
        cmocka_unit_test(test_idx_count_mismatch),
        cmocka_unit_test(test_idx_missing_file),
        cmocka_unit_test(test_fashion_mnist),
        cmocka_unit_test(test_synthetic_deterministic),
        cmocka_unit_test(test_synthetic_balanced_and_stable_rows),
        cmocka_unit_test(test_synthetic_noise_hides_the_labelling),
        cmocka_unit_test(test_synthetic_rejects_bad_config),
        cmocka_unit_test(test_libsvm_dense),
        cmocka_unit_test(test_libsvm_sparse),
        cmocka_unit_test(test_libsvm_gzip),
        cmocka_unit_test(test_vw_dense),
        cmocka_unit_test(test_vw_hashed),
        cmocka_unit_test(test_vw_separators_and_number_forms),
        cmocka_unit_test(test_libsvm_malformed),
        cmocka_unit_test(test_vw_malformed),
        cmocka_unit_test(test_text_missing_and_empty),
        cmocka_unit_test(test_text_long_line_without_newline),
        cmocka_unit_test(test_text_across_read_chunks),
        cmocka_unit_test(test_text_rows_widen),
        cmocka_unit_test(test_text_rows_take_the_first_rows_width),
        cmocka_unit_test(test_split),
    };
    return cmocka_run_group_tests(tests, make_temp_dir, remove_temp_dir);
}
