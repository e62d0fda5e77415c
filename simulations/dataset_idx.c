/* IDX files (the MNIST family), gzip-compressed or plain: zlib's gzread
 * passes plain files through unchanged. */
#include "dataset.h"
#include "gz_file.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const uint32_t IDX_MAGIC_IMAGES = 0x00000803u; /* ubyte, 3 dimensions */
static const uint32_t IDX_MAGIC_LABELS = 0x00000801u; /* ubyte, 1 dimension */

enum {
    READ_CHUNK_BYTES = 1 << 20,
    INITIAL_FLOATS = 1 << 20
};

/* One open IDX file. `declared` is the byte count the header promises
 * (header included), `consumed` the bytes read so far. */
typedef struct {
    gzFile file;
    const char *path;
    size_t declared;
    size_t consumed;
} idx_reader;

static fcb_status idx_open(idx_reader *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    return fcb_gz_open(path, &r->file);
}

static void idx_close(idx_reader *r)
{
    if (r->file)
        gzclose(r->file);
    r->file = NULL;
}

static fcb_status idx_read_error(const idx_reader *r)
{
    int errnum = Z_OK;
    const char *message = gzerror(r->file, &errnum);
    if (errnum == Z_ERRNO)
        return fcb_fail(FCB_ERR_IO, "cannot read %s: %s", r->path, strerror(errno));
    return fcb_fail(FCB_ERR_FORMAT, "%s: corrupt compressed data: %s", r->path, message);
}

/* Reads exactly len bytes; a short read means the file is truncated. */
static fcb_status idx_read(idx_reader *r, unsigned char *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        size_t ask = len - done;
        if (ask > READ_CHUNK_BYTES)
            ask = READ_CHUNK_BYTES;
        int got = gzread(r->file, buf + done, (unsigned)ask);
        if (got < 0)
            return idx_read_error(r);
        if (got == 0) {
            if (r->declared > 0)
                return fcb_fail(FCB_ERR_FORMAT, "%s: truncated: the header declares %zu bytes, the file ends after %zu",
                                r->path, r->declared, r->consumed + done);
            return fcb_fail(FCB_ERR_FORMAT, "%s: truncated: the file ends inside the IDX header after %zu bytes",
                            r->path, r->consumed + done);
        }
        done += (size_t)got;
    }
    r->consumed += len;
    return FCB_OK;
}

static uint32_t big_endian_u32(const unsigned char *b)
{
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | (uint32_t)b[3];
}

/* Reads the magic number and the `count` dimensions that follow it. */
static fcb_status idx_read_header(idx_reader *r, uint32_t magic, const char *kind, int count, uint32_t *dims)
{
    unsigned char header[16];
    size_t header_bytes = 4 + 4 * (size_t)count;
    fcb_status st = idx_read(r, header, header_bytes);
    if (st != FCB_OK)
        return st;
    uint32_t found = big_endian_u32(header);
    if (found != magic)
        return fcb_fail(FCB_ERR_FORMAT, "%s: bad magic number 0x%08x, expected 0x%08x (IDX %s)", r->path,
                        (unsigned)found, (unsigned)magic, kind);
    for (int i = 0; i < count; i++) {
        dims[i] = big_endian_u32(header + 4 + 4 * i);
        if (dims[i] == 0 || dims[i] > INT_MAX)
            return fcb_fail(FCB_ERR_FORMAT, "%s: dimension %d of the IDX header is %u, must be in [1, %d]",
                            r->path, i, (unsigned)dims[i], INT_MAX);
    }
    return FCB_OK;
}

/* After the declared payload the file must end. */
static fcb_status idx_expect_end(idx_reader *r)
{
    unsigned char extra;
    int got = gzread(r->file, &extra, 1);
    if (got < 0)
        return idx_read_error(r);
    if (got > 0)
        return fcb_fail(FCB_ERR_FORMAT, "%s: the file holds more than the %zu bytes its header declares",
                        r->path, r->declared);
    return FCB_OK;
}

/* Grows *x to hold at least `needed` of the `total` image floats
 * (doubling), so memory follows the pixels actually present rather than a
 * possibly corrupt header. */
static fcb_status grow_floats(float **x, size_t *capacity, size_t needed, size_t total)
{
    if (needed <= *capacity)
        return FCB_OK;
    size_t next = *capacity > 0 ? *capacity : INITIAL_FLOATS;
    while (next < needed)
        next = next > total / 2 ? total : next * 2;
    if (next > total)
        next = total;
    float *grown = realloc(*x, next * sizeof *grown);
    if (!grown)
        return fcb_fail(FCB_ERR_NOMEM, "cannot allocate %zu image floats", next);
    *x = grown;
    *capacity = next;
    return FCB_OK;
}

static fcb_status read_images(idx_reader *r, int n, int d, float **out_x)
{
    float scale[256];
    for (int v = 0; v < 256; v++)
        scale[v] = (float)v / 255.0f;

    /* Read in chunks of bytes, not of rows: one image may be larger than a
     * chunk, and the header alone must not decide the buffer's size. */
    size_t total = (size_t)n * (size_t)d;
    size_t chunk = total < READ_CHUNK_BYTES ? total : READ_CHUNK_BYTES;
    unsigned char *staging = malloc(chunk);
    if (!staging)
        return fcb_fail(FCB_ERR_NOMEM, "%s: cannot allocate a read buffer", r->path);

    float *x = NULL;
    size_t capacity = 0;
    fcb_status st = FCB_OK;
    for (size_t done = 0; done < total && st == FCB_OK;) {
        size_t bytes = total - done < chunk ? total - done : chunk;
        st = idx_read(r, staging, bytes);
        if (st == FCB_OK)
            st = grow_floats(&x, &capacity, done + bytes, total);
        if (st != FCB_OK)
            break;
        float *dst = x + done;
        for (size_t i = 0; i < bytes; i++)
            dst[i] = scale[staging[i]];
        done += bytes;
    }
    free(staging);
    if (st != FCB_OK) {
        free(x);
        return st;
    }
    *out_x = x;
    return FCB_OK;
}

static fcb_status read_labels(idx_reader *r, int n, int **out_y, int *out_k)
{
    int *y = NULL;
    unsigned char *staging = malloc(READ_CHUNK_BYTES);
    if (!staging)
        return fcb_fail(FCB_ERR_NOMEM, "%s: cannot allocate a read buffer", r->path);
    int capacity = 0;
    int max_label = 0;
    fcb_status st = FCB_OK;
    for (int start = 0; start < n; start += READ_CHUNK_BYTES) {
        int count = n - start < READ_CHUNK_BYTES ? n - start : READ_CHUNK_BYTES;
        st = idx_read(r, staging, (size_t)count);
        if (st != FCB_OK)
            break;
        if (start + count > capacity) {
            int *grown = realloc(y, (size_t)(start + count) * sizeof *grown);
            if (!grown) {
                st = fcb_fail(FCB_ERR_NOMEM, "%s: cannot allocate %d labels", r->path, start + count);
                break;
            }
            y = grown;
            capacity = start + count;
        }
        for (int i = 0; i < count; i++) {
            y[start + i] = staging[i];
            if (staging[i] > max_label)
                max_label = staging[i];
        }
    }
    free(staging);
    if (st != FCB_OK) {
        free(y);
        return st;
    }
    *out_y = y;
    *out_k = max_label + 1;
    return FCB_OK;
}

fcb_status fcb_dataset_load_idx(const char *images_path, const char *labels_path, fcb_dataset *ds)
{
    if (!images_path || !labels_path || !ds)
        return fcb_fail(FCB_ERR_ARG, "load idx: NULL argument");
    memset(ds, 0, sizeof *ds);

    idx_reader images, labels;
    memset(&labels, 0, sizeof labels);
    uint32_t image_dims[3] = {0, 0, 0};
    uint32_t label_dims[1] = {0};
    fcb_status st = idx_open(&images, images_path);
    if (st != FCB_OK)
        return st;
    st = idx_read_header(&images, IDX_MAGIC_IMAGES, "images, ubyte, 3 dimensions", 3, image_dims);
    if (st == FCB_OK)
        st = idx_open(&labels, labels_path);
    if (st == FCB_OK)
        st = idx_read_header(&labels, IDX_MAGIC_LABELS, "labels, ubyte, 1 dimension", 1, label_dims);

    int n = (int)image_dims[0];
    uint64_t d64 = (uint64_t)image_dims[1] * image_dims[2];
    if (st == FCB_OK && d64 > INT_MAX)
        st = fcb_fail(FCB_ERR_FORMAT, "%s: images of %u x %u pixels are too large", images_path,
                      (unsigned)image_dims[1], (unsigned)image_dims[2]);
    if (st == FCB_OK && label_dims[0] != image_dims[0])
        st = fcb_fail(FCB_ERR_FORMAT, "count mismatch: %s holds %u images but %s holds %u labels", images_path,
                      (unsigned)image_dims[0], labels_path, (unsigned)label_dims[0]);
    int d = (int)d64;
    images.declared = 16 + (size_t)n * (size_t)d;
    labels.declared = 8 + (size_t)n;

    float *x = NULL;
    int *y = NULL;
    int k = 0;
    if (st == FCB_OK)
        st = read_images(&images, n, d, &x);
    if (st == FCB_OK)
        st = idx_expect_end(&images);
    if (st == FCB_OK)
        st = read_labels(&labels, n, &y, &k);
    if (st == FCB_OK)
        st = idx_expect_end(&labels);
    idx_close(&images);
    idx_close(&labels);
    if (st != FCB_OK) {
        free(x);
        free(y);
        return st;
    }
    ds->n = n;
    ds->d = d;
    ds->k = k;
    ds->x = x;
    ds->y = y;
    return FCB_OK;
}

static fcb_status join_path(char *out, size_t size, const char *dir, const char *name)
{
    int written = snprintf(out, size, "%s/%s", dir, name);
    if (written < 0 || (size_t)written >= size)
        return fcb_fail(FCB_ERR_ARG, "load fashion-mnist: path %s/%s is too long", dir, name);
    return FCB_OK;
}

fcb_status fcb_dataset_load_fashion_mnist(const char *dir, fcb_dataset *train, fcb_dataset *test)
{
    if (!dir || !train || !test)
        return fcb_fail(FCB_ERR_ARG, "load fashion-mnist: NULL argument");
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    char images[4096], labels[4096];
    fcb_status st = join_path(images, sizeof images, dir, "train-images-idx3-ubyte.gz");
    if (st == FCB_OK)
        st = join_path(labels, sizeof labels, dir, "train-labels-idx1-ubyte.gz");
    if (st == FCB_OK)
        st = fcb_dataset_load_idx(images, labels, train);
    if (st == FCB_OK)
        st = join_path(images, sizeof images, dir, "t10k-images-idx3-ubyte.gz");
    if (st == FCB_OK)
        st = join_path(labels, sizeof labels, dir, "t10k-labels-idx1-ubyte.gz");
    if (st == FCB_OK)
        st = fcb_dataset_load_idx(images, labels, test);
    if (st == FCB_OK && train->d != test->d)
        st = fcb_fail(FCB_ERR_FORMAT, "load fashion-mnist: train images have %d pixels, test images %d",
                      train->d, test->d);
    if (st != FCB_OK) {
        fcb_dataset_free(train);
        fcb_dataset_free(test);
        return st;
    }
    /* Both sides must agree on k even if a class is missing from one. */
    int k = train->k > test->k ? train->k : test->k;
    train->k = k;
    test->k = k;
    return FCB_OK;
}
