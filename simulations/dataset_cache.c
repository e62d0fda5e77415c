#include "dataset_cache.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output_file.h"
#include "sha256.h"

static const char MAGIC[8] = {'F', 'C', 'B', 'C', 'A', 'C', 'H', 'E'};
enum { CACHE_VERSION = 1, EDGE_BYTES = 1 << 20, SAMPLE_BLOCKS = 64, SAMPLE_BYTES = 4096 };

/* What a cache must match: the source as it is now and the load's options. */
typedef struct {
    char magic[8];
    uint32_t version;
    uint32_t format;        /* 0 libsvm, 1 vw */
    int32_t dim, classes;   /* the options of the load, not the result */
    uint64_t source_size;
    int64_t mtime_sec, mtime_nsec;
    char source_digest[65]; /* hex SHA-256 of the sampled bytes */
    char pad[7];
    int32_t n, d, k;        /* the parsed dataset */
} cache_header;

/* The sampled bytes of the source: first and last EDGE_BYTES and
 * SAMPLE_BLOCKS blocks spread evenly between (the whole file when small). */
static fcb_status source_digest(const char *path, uint64_t size, char hex[65])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fcb_fail(FCB_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    size_t capacity = 2 * EDGE_BYTES + SAMPLE_BLOCKS * SAMPLE_BYTES;
    unsigned char *buffer = malloc(capacity);
    if (!buffer) {
        fclose(f);
        return fcb_fail(FCB_ERR_NOMEM, "%s: out of memory for the cache check", path);
    }
    size_t used = 0;
    int ok = 1;
    if (size <= capacity) {
        used = fread(buffer, 1, (size_t)size, f);
        ok = used == size;
    } else {
        uint64_t offsets[SAMPLE_BLOCKS + 2];
        size_t lengths[SAMPLE_BLOCKS + 2];
        int blocks = 0;
        offsets[blocks] = 0, lengths[blocks++] = EDGE_BYTES;
        uint64_t middle = size - 2 * (uint64_t)EDGE_BYTES - SAMPLE_BYTES;
        for (int i = 0; i < SAMPLE_BLOCKS; i++)
            offsets[blocks] = EDGE_BYTES + middle * (uint64_t)i / (SAMPLE_BLOCKS - 1), lengths[blocks++] = SAMPLE_BYTES;
        offsets[blocks] = size - EDGE_BYTES, lengths[blocks++] = EDGE_BYTES;
        for (int i = 0; ok && i < blocks; i++) {
            ok = fseeko(f, (off_t)offsets[i], SEEK_SET) == 0 && fread(buffer + used, 1, lengths[i], f) == lengths[i];
            used += lengths[i];
        }
    }
    fclose(f);
    fcb_status st = ok ? fcb_sha256_hex(buffer, used, hex) : fcb_fail(FCB_ERR_IO, "cannot read %s", path);
    free(buffer);
    return st;
}

static fcb_status describe_source(const char *format, const char *path, int dim, int num_classes, cache_header *h)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return fcb_fail(FCB_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    memset(h, 0, sizeof *h);
    memcpy(h->magic, MAGIC, sizeof MAGIC);
    h->version = CACHE_VERSION;
    h->format = strcmp(format, "vw") == 0;
    h->dim = dim;
    h->classes = num_classes;
    h->source_size = (uint64_t)st.st_size;
    h->mtime_sec = (int64_t)st.st_mtim.tv_sec;
    h->mtime_nsec = (int64_t)st.st_mtim.tv_nsec;
    return source_digest(path, h->source_size, h->source_digest);
}

/* CACHE_DIR/<file name>-<16 hex digits of SHA-256(device, inode, format, dim,
 * classes)>.fcbcache: one cache per source file and load options. */
static fcb_status cache_path(const char *cache_dir, const char *format, const char *path, int dim, int num_classes,
                             char *out, size_t size)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return fcb_fail(FCB_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    char key[160], hex[65];
    int len = snprintf(key, sizeof key, "%llu\n%llu\n%s\n%d\n%d", (unsigned long long)st.st_dev,
                       (unsigned long long)st.st_ino, format, dim, num_classes);
    fcb_status status = fcb_sha256_hex(key, (size_t)len, hex);
    if (status != FCB_OK)
        return status;
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    hex[16] = '\0';
    if ((size_t)snprintf(out, size, "%s/%.200s-%s.fcbcache", cache_dir, name, hex) >= size)
        return fcb_fail(FCB_ERR_ARG, "data.cache_dir %s: path too long", cache_dir);
    return FCB_OK;
}

/* 1 when the cache at path matches want and its rows were read into ds. */
static int read_cache(const char *path, const cache_header *want, fcb_dataset *ds)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    cache_header h;
    int ok = fread(&h, sizeof h, 1, f) == 1 && memcmp(h.magic, want->magic, sizeof h.magic) == 0 &&
             h.version == want->version && h.format == want->format && h.dim == want->dim &&
             h.classes == want->classes && h.source_size == want->source_size && h.mtime_sec == want->mtime_sec &&
             h.mtime_nsec == want->mtime_nsec && memcmp(h.source_digest, want->source_digest, 64) == 0 &&
             h.n > 0 && h.d > 0 && h.k > 0 && (int64_t)h.n * h.d <= INT32_MAX;
    struct stat st;
    ok = ok && fstat(fileno(f), &st) == 0 &&
         (uint64_t)st.st_size == sizeof h + (uint64_t)h.n * sizeof(int32_t) + (uint64_t)h.n * h.d * sizeof(float);
    if (ok) {
        ds->n = h.n, ds->d = h.d, ds->k = h.k;
        ds->y = malloc((size_t)h.n * sizeof(int));
        ds->x = malloc((size_t)h.n * h.d * sizeof(float));
        ok = ds->x && ds->y && fread(ds->y, sizeof(int), (size_t)h.n, f) == (size_t)h.n &&
             fread(ds->x, sizeof(float), (size_t)h.n * h.d, f) == (size_t)h.n * h.d;
        for (int i = 0; ok && i < h.n; i++)
            ok = ds->y[i] >= 0 && ds->y[i] < h.k;
        for (size_t i = 0; ok && i < (size_t)h.n * h.d; i++)
            ok = isfinite(ds->x[i]);
        if (!ok)
            fcb_dataset_free(ds);
    }
    fclose(f);
    return ok;
}

static fcb_status write_cache(const char *path, const cache_header *source, const fcb_dataset *ds)
{
    fcb_output_file out;
    fcb_status st = fcb_output_open(&out, path, "wb");
    if (st != FCB_OK)
        return fcb_fail_context(st, "data.cache_dir");
    cache_header h = *source;
    h.n = ds->n, h.d = ds->d, h.k = ds->k;
    fwrite(&h, sizeof h, 1, out.f);
    fwrite(ds->y, sizeof(int), (size_t)ds->n, out.f);
    fwrite(ds->x, sizeof(float), (size_t)ds->n * ds->d, out.f);
    st = fcb_output_commit(&out);
    return st == FCB_OK ? st : fcb_fail_context(st, "data.cache_dir");
}

static fcb_status parse_text(const char *format, const char *path, int dim, int num_classes, fcb_dataset *ds)
{
    return strcmp(format, "vw") == 0 ? fcb_dataset_load_vw(path, dim, num_classes, ds)
                                     : fcb_dataset_load_libsvm(path, dim, num_classes, ds);
}

fcb_status fcb_dataset_load_text(const char *format, const char *path, int dim, int num_classes,
                                 const char *cache_dir, fcb_dataset *ds, int *from_cache)
{
    if (from_cache)
        *from_cache = 0;
    if (!cache_dir || !cache_dir[0])
        return parse_text(format, path, dim, num_classes, ds);
    memset(ds, 0, sizeof *ds);
    cache_header source;
    char cache[PATH_MAX + 300];
    fcb_status st = describe_source(format, path, dim, num_classes, &source);
    if (st == FCB_OK)
        st = cache_path(cache_dir, format, path, dim, num_classes, cache, sizeof cache);
    if (st != FCB_OK)
        return st;
    if (read_cache(cache, &source, ds)) {
        if (from_cache)
            *from_cache = 1;
        return FCB_OK;
    }
    st = parse_text(format, path, dim, num_classes, ds);
    if (st != FCB_OK)
        return st;
    if (mkdir(cache_dir, 0777) != 0 && errno != EEXIST)
        st = fcb_fail(FCB_ERR_IO, "data.cache_dir: cannot create %s: %s", cache_dir, strerror(errno));
    if (st == FCB_OK)
        st = write_cache(cache, &source, ds);
    if (st != FCB_OK)
        fcb_dataset_free(ds);
    return st;
}
