#include "checkpoint_io.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char MAGIC[8] = {'F', 'C', 'B', 'C', 'K', 'P', 'T', '3'};
enum { DIGEST = 32, HEADER = 8 + 4, SECTION_HEADER = FCB_CKPT_NAME + 4 + 8 };

_Static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE single and double floats");

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}

/* ---- writing ---- */

static void append(fcb_ckpt_writer *w, const void *src, size_t n)
{
    if (w->failed)
        return;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->len + n)
            cap *= 2;
        unsigned char *grown = realloc(w->data, cap);
        if (!grown) {
            w->failed = 1;
            return;
        }
        w->data = grown;
        w->cap = cap;
    }
    memcpy(w->data + w->len, src, n);
    w->len += n;
}

/* Little-endian bytes of an n-byte value. */
static void append_le(fcb_ckpt_writer *w, const void *value, size_t n)
{
    unsigned char bytes[8];
    memcpy(bytes, value, n);
    if (!host_is_little_endian())
        for (size_t i = 0; i < n / 2; i++) {
            unsigned char t = bytes[i];
            bytes[i] = bytes[n - 1 - i];
            bytes[n - 1 - i] = t;
        }
    append(w, bytes, n);
}

void fcb_ckpt_writer_init(fcb_ckpt_writer *w)
{
    memset(w, 0, sizeof *w);
    append(w, MAGIC, sizeof MAGIC);
    uint32_t placeholder = 0;
    append(w, &placeholder, sizeof placeholder);
}

void fcb_ckpt_writer_free(fcb_ckpt_writer *w)
{
    free(w->data);
    memset(w, 0, sizeof *w);
}

void fcb_ckpt_begin(fcb_ckpt_writer *w, const char *name, uint32_t version)
{
    char padded[FCB_CKPT_NAME] = {0};
    strncpy(padded, name, FCB_CKPT_NAME - 1);
    append(w, padded, sizeof padded);
    fcb_ckpt_put_u32(w, version);
    w->section_start = w->len;
    uint64_t length = 0;
    append_le(w, &length, sizeof length);
}

void fcb_ckpt_put_u32(fcb_ckpt_writer *w, uint32_t v) { append_le(w, &v, sizeof v); }
void fcb_ckpt_put_i64(fcb_ckpt_writer *w, int64_t v) { append_le(w, &v, sizeof v); }
void fcb_ckpt_put_f64(fcb_ckpt_writer *w, double v) { append_le(w, &v, sizeof v); }

void fcb_ckpt_put_f32s(fcb_ckpt_writer *w, const float *v, size_t n)
{
    if (host_is_little_endian()) {
        append(w, v, n * sizeof(float));
        return;
    }
    for (size_t i = 0; i < n; i++)
        append_le(w, &v[i], sizeof(float));
}

void fcb_ckpt_put_f64s(fcb_ckpt_writer *w, const double *v, size_t n)
{
    if (host_is_little_endian()) {
        append(w, v, n * sizeof(double));
        return;
    }
    for (size_t i = 0; i < n; i++)
        append_le(w, &v[i], sizeof(double));
}

void fcb_ckpt_put_text(fcb_ckpt_writer *w, const char *text)
{
    uint32_t n = (uint32_t)strlen(text);
    fcb_ckpt_put_u32(w, n);
    append(w, text, n);
}

fcb_status fcb_ckpt_end(fcb_ckpt_writer *w)
{
    if (w->failed)
        return fcb_fail(FCB_ERR_NOMEM, "checkpoint: out of memory");
    uint64_t length = w->len - w->section_start - sizeof(uint64_t);
    unsigned char bytes[8];
    for (int i = 0; i < 8; i++)
        bytes[i] = (unsigned char)(length >> (8 * i));
    memcpy(w->data + w->section_start, bytes, sizeof bytes);
    w->sections++;
    return FCB_OK;
}

fcb_status fcb_ckpt_writer_finish(fcb_ckpt_writer *w)
{
    if (w->failed)
        return fcb_fail(FCB_ERR_NOMEM, "checkpoint: out of memory");
    unsigned char count[4];
    for (int i = 0; i < 4; i++)
        count[i] = (unsigned char)(w->sections >> (8 * i));
    memcpy(w->data + sizeof MAGIC, count, sizeof count);
    unsigned char digest[DIGEST];
    unsigned int n = 0;
    EVP_Digest(w->data, w->len, digest, &n, EVP_sha256(), NULL);
    append(w, digest, DIGEST);
    return w->failed ? fcb_fail(FCB_ERR_NOMEM, "checkpoint: out of memory") : FCB_OK;
}

/* ---- reading ---- */

static uint64_t read_le(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static fcb_status read_whole(const char *path, unsigned char **data, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return fcb_fail(FCB_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    unsigned char *buf = NULL;
    size_t used = 0, cap = 0, n;
    unsigned char chunk[65536];
    fcb_status st = FCB_OK;
    while (st == FCB_OK && (n = fread(chunk, 1, sizeof chunk, fp)) > 0) {
        if (used + n > cap) {
            cap = cap ? 2 * cap : 1 << 20;
            while (cap < used + n)
                cap *= 2;
            unsigned char *grown = realloc(buf, cap);
            if (!grown) {
                st = fcb_fail(FCB_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
            buf = grown;
        }
        memcpy(buf + used, chunk, n);
        used += n;
    }
    if (st == FCB_OK && ferror(fp))
        st = fcb_fail(FCB_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    fclose(fp);
    if (st != FCB_OK) {
        free(buf);
        return st;
    }
    *data = buf;
    *len = used;
    return FCB_OK;
}

/* Walks the section table: every section's length must fit. */
static fcb_status walk_sections(const fcb_ckpt_reader *r)
{
    const unsigned char *p = r->data + HEADER, *end = r->data + r->len - DIGEST;
    for (uint32_t i = 0; i < r->sections; i++) {
        if ((size_t)(end - p) < SECTION_HEADER)
            return fcb_fail(FCB_ERR_FORMAT, "%s: section %u of %u is cut short", r->path, i + 1, r->sections);
        uint64_t length = read_le(p + FCB_CKPT_NAME + 4, 8);
        p += SECTION_HEADER;
        if (length > (uint64_t)(end - p))
            return fcb_fail(FCB_ERR_FORMAT, "%s: section '%.16s' claims %llu bytes, %zu remain", r->path,
                            (const char *)(p - SECTION_HEADER), (unsigned long long)length, (size_t)(end - p));
        p += length;
    }
    if (p != end)
        return fcb_fail(FCB_ERR_FORMAT, "%s: %zu bytes after the last section", r->path, (size_t)(end - p));
    return FCB_OK;
}

/* A name as fcb_ckpt_begin writes it: 1 to 15 printable characters, then
 * NULs. */
static int is_section_name(const unsigned char *p)
{
    int n = 0;
    while (n < FCB_CKPT_NAME && p[n] > ' ' && p[n] < 0x7f)
        n++;
    if (n == 0 || n == FCB_CKPT_NAME)
        return 0;
    for (int k = n; k < FCB_CKPT_NAME; k++)
        if (p[k] != '\0')
            return 0;
    return 1;
}

/* Whether count sections from p end exactly at end. */
static int table_fits(const unsigned char *p, const unsigned char *end, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        if ((size_t)(end - p) < SECTION_HEADER || !is_section_name(p))
            return 0;
        uint64_t length = read_le(p + FCB_CKPT_NAME + 4, 8);
        if (length > (uint64_t)(end - p - SECTION_HEADER))
            return 0;
        p += SECTION_HEADER + length;
    }
    return p == end;
}

/* The section whose length breaks the table, when one does: with one bad
 * length the sections after it are intact, so it is the first section
 * after whose payload, at some offset, the remaining sections end exactly
 * at the digest. NULL when no single length explains the damage. (Only on
 * the error path: it scans the file once per section.) */
static const unsigned char *bad_length(const fcb_ckpt_reader *r)
{
    const unsigned char *p = r->data + HEADER, *end = r->data + r->len - DIGEST;
    for (uint32_t i = 0; i < r->sections; i++) {
        if ((size_t)(end - p) < SECTION_HEADER || !is_section_name(p))
            return NULL;
        for (const unsigned char *q = p + SECTION_HEADER; q <= end; q++)
            if (table_fits(q, end, r->sections - i - 1))
                return p;
        uint64_t length = read_le(p + FCB_CKPT_NAME + 4, 8);
        if (length > (uint64_t)(end - p - SECTION_HEADER))
            return NULL;
        p += SECTION_HEADER + length;
    }
    return NULL;
}

/* A table that does not add up names the section with the bad length. */
static fcb_status check_sections(const fcb_ckpt_reader *r)
{
    fcb_status st = walk_sections(r);
    const unsigned char *bad = st == FCB_OK ? NULL : bad_length(r);
    if (!bad)
        return st;
    return fcb_fail(FCB_ERR_FORMAT, "%s: section '%.16s': its length of %llu bytes does not fit the section table",
                    r->path, (const char *)bad, (unsigned long long)read_le(bad + FCB_CKPT_NAME + 4, 8));
}

fcb_status fcb_ckpt_reader_open(fcb_ckpt_reader *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    fcb_status st = read_whole(path, &r->data, &r->len);
    if (st != FCB_OK)
        return st;
    if (r->len < HEADER + DIGEST)
        return fcb_fail(FCB_ERR_FORMAT, "%s: truncated (%zu bytes)", path, r->len);
    unsigned char digest[DIGEST];
    unsigned int n = 0;
    EVP_Digest(r->data, r->len - DIGEST, digest, &n, EVP_sha256(), NULL);
    if (memcmp(digest, r->data + r->len - DIGEST, DIGEST) != 0)
        return fcb_fail(FCB_ERR_FORMAT, "%s: checksum mismatch (truncated or damaged)", path);
    if (memcmp(r->data, MAGIC, sizeof MAGIC) != 0)
        return fcb_fail(FCB_ERR_FORMAT, "%s: not a fedcb checkpoint of this version", path);
    r->sections = (uint32_t)read_le(r->data + sizeof MAGIC, 4);
    return check_sections(r);
}

void fcb_ckpt_reader_free(fcb_ckpt_reader *r)
{
    free(r->data);
    memset(r, 0, sizeof *r);
}

static const unsigned char *find_section(const fcb_ckpt_reader *r, const char *name)
{
    const unsigned char *p = r->data + HEADER;
    for (uint32_t i = 0; i < r->sections; i++) {
        uint64_t length = read_le(p + FCB_CKPT_NAME + 4, 8);
        if (strncmp((const char *)p, name, FCB_CKPT_NAME) == 0)
            return p;
        p += SECTION_HEADER + length;
    }
    return NULL;
}

int fcb_ckpt_has_section(const fcb_ckpt_reader *r, const char *name)
{
    return find_section(r, name) != NULL;
}

fcb_status fcb_ckpt_open_section(fcb_ckpt_reader *r, const char *name, uint32_t version)
{
    snprintf(r->section, sizeof r->section, "%s", name);
    const unsigned char *p = find_section(r, name);
    if (!p)
        return fcb_ckpt_fail(r, "missing");
    uint32_t found = (uint32_t)read_le(p + FCB_CKPT_NAME, 4);
    if (found != version)
        return fcb_ckpt_fail(r, "version %u, this fedcb reads version %u", found, version);
    uint64_t length = read_le(p + FCB_CKPT_NAME + 4, 8);
    r->at = p + SECTION_HEADER;
    r->end = r->at + length;
    return FCB_OK;
}

fcb_status fcb_ckpt_fail(const fcb_ckpt_reader *r, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return fcb_fail(FCB_ERR_FORMAT, "%s: section '%s': %s", r->path, r->section, what);
}

static fcb_status take(fcb_ckpt_reader *r, size_t n, const unsigned char **out)
{
    if ((size_t)(r->end - r->at) < n)
        return fcb_ckpt_fail(r, "cut short: %zu more bytes wanted, %zu left", n, (size_t)(r->end - r->at));
    *out = r->at;
    r->at += n;
    return FCB_OK;
}

fcb_status fcb_ckpt_get_u32(fcb_ckpt_reader *r, uint32_t *v)
{
    const unsigned char *p = NULL;
    fcb_status st = take(r, 4, &p);
    if (st == FCB_OK)
        *v = (uint32_t)read_le(p, 4);
    return st;
}

fcb_status fcb_ckpt_get_i64(fcb_ckpt_reader *r, int64_t *v)
{
    const unsigned char *p = NULL;
    fcb_status st = take(r, 8, &p);
    if (st == FCB_OK) {
        uint64_t u = read_le(p, 8);
        memcpy(v, &u, sizeof u);
    }
    return st;
}

fcb_status fcb_ckpt_get_f64(fcb_ckpt_reader *r, double *v)
{
    const unsigned char *p = NULL;
    fcb_status st = take(r, 8, &p);
    if (st == FCB_OK) {
        uint64_t u = read_le(p, 8);
        memcpy(v, &u, sizeof u);
    }
    return st;
}

fcb_status fcb_ckpt_get_f32s(fcb_ckpt_reader *r, float *v, size_t n)
{
    const unsigned char *p = NULL;
    fcb_status st = take(r, n * sizeof(float), &p);
    for (size_t i = 0; st == FCB_OK && i < n; i++) {
        uint32_t u = (uint32_t)read_le(p + 4 * i, 4);
        memcpy(&v[i], &u, sizeof u);
    }
    return st;
}

fcb_status fcb_ckpt_get_f64s(fcb_ckpt_reader *r, double *v, size_t n)
{
    const unsigned char *p = NULL;
    fcb_status st = take(r, n * sizeof(double), &p);
    for (size_t i = 0; st == FCB_OK && i < n; i++) {
        uint64_t u = read_le(p + 8 * i, 8);
        memcpy(&v[i], &u, sizeof u);
    }
    return st;
}

fcb_status fcb_ckpt_get_text(fcb_ckpt_reader *r, char *out, size_t size)
{
    uint32_t n = 0;
    const unsigned char *p = NULL;
    fcb_status st = fcb_ckpt_get_u32(r, &n);
    if (st == FCB_OK && n >= size)
        st = fcb_ckpt_fail(r, "a text of %u bytes, at most %zu expected", n, size - 1);
    if (st == FCB_OK)
        st = take(r, n, &p);
    if (st == FCB_OK) {
        memcpy(out, p, n);
        out[n] = '\0';
    }
    return st;
}

fcb_status fcb_ckpt_close_section(fcb_ckpt_reader *r)
{
    if (r->at != r->end)
        return fcb_ckpt_fail(r, "%zu bytes left over (a different layout)", (size_t)(r->end - r->at));
    return FCB_OK;
}
