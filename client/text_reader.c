#include "text_reader.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gz_file.h"

enum { READ_CHUNK_BYTES = 1 << 20 };

/* ---- line reader ---- */

fcb_status fcb_line_reader_open(fcb_line_reader *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->held_at = SIZE_MAX;
    return fcb_gz_open(path, &r->file);
}

void fcb_line_reader_close(fcb_line_reader *r)
{
    if (r->file)
        gzclose(r->file);
    free(r->buffer);
    memset(r, 0, sizeof *r);
}

/* Moves the unread bytes to the front, grows the buffer when they fill it,
 * and reads the next chunk after them. */
static fcb_status read_chunk(fcb_line_reader *r)
{
    if (r->start > 0) {
        memmove(r->buffer, r->buffer + r->start, r->filled - r->start);
        r->filled -= r->start;
        r->start = 0;
    }
    if (r->filled == r->capacity) {
        size_t next = r->capacity ? 2 * r->capacity : READ_CHUNK_BYTES;
        if (next > INT_MAX)
            return fcb_fail(FCB_ERR_FORMAT, "%s:%d: line too long", r->path, r->number + 1);
        char *grown = realloc(r->buffer, next + 1);
        if (!grown)
            return fcb_fail(FCB_ERR_NOMEM, "%s:%d: cannot allocate %zu bytes for a line", r->path, r->number + 1,
                            next);
        r->buffer = grown;
        r->capacity = next;
    }
    int n = gzread(r->file, r->buffer + r->filled, (unsigned)(r->capacity - r->filled));
    int errnum = Z_OK;
    const char *message = gzerror(r->file, &errnum);
    if (n < 0 || errnum != Z_OK) {
        if (errnum == Z_ERRNO)
            return fcb_fail(FCB_ERR_IO, "cannot read %s: %s", r->path, strerror(errno));
        return fcb_fail(FCB_ERR_FORMAT, "%s: corrupt or truncated compressed data: %s", r->path, message);
    }
    if (n == 0)
        r->at_end = 1;
    r->filled += (size_t)n;
    return FCB_OK;
}

fcb_status fcb_line_reader_next(fcb_line_reader *r, int *more)
{
    if (r->held_at != SIZE_MAX) {
        r->buffer[r->held_at] = r->held;
        r->held_at = SIZE_MAX;
    }
    *more = 0;
    for (;;) {
        char *newline = r->buffer ? memchr(r->buffer + r->start, '\n', r->filled - r->start) : NULL;
        if (newline || (r->at_end && r->filled > r->start)) {
            size_t end = newline ? (size_t)(newline - r->buffer) + 1 : r->filled;
            r->line = r->buffer + r->start;
            r->held = r->buffer[end];
            r->held_at = end;
            r->buffer[end] = '\0';
            r->start = end;
            r->number++;
            *more = 1;
            return FCB_OK;
        }
        if (r->at_end)
            return FCB_OK;
        fcb_status st = read_chunk(r);
        if (st != FCB_OK)
            return st;
    }
}

fcb_status fcb_read_lines(const char *path, fcb_line_parser parse, void *context)
{
    fcb_line_reader r;
    fcb_status st = fcb_line_reader_open(&r, path);
    int more = 1;
    while (st == FCB_OK) {
        st = fcb_line_reader_next(&r, &more);
        if (st != FCB_OK || !more)
            break;
        st = parse(context, &r);
    }
    fcb_line_reader_close(&r);
    return st;
}

fcb_status fcb_line_error(const fcb_line_reader *r, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return fcb_fail(FCB_ERR_FORMAT, "%s:%d: %s", r->path, r->number, what);
}

/* ---- tokens and numbers ---- */

int fcb_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

int fcb_is_blank_or_comment(const char *s)
{
    while (fcb_is_space(*s))
        s++;
    return *s == '\0' || *s == '#';
}

char *fcb_next_token(char **cursor)
{
    char *s = *cursor;
    while (fcb_is_space(*s))
        s++;
    if (*s == '\0') {
        *cursor = s;
        return NULL;
    }
    char *start = s;
    while (*s && !fcb_is_space(*s))
        s++;
    if (*s)
        *s++ = '\0';
    *cursor = s;
    return start;
}

/* [+-]digits, the common case of fcb_parse_int, without strtol. */
static int parse_plain_int(const char *s, int *out)
{
    const char *p = s;
    int negative = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    long long v = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 12; p++, digits++)
        v = v * 10 + (*p - '0');
    if (digits == 0 || digits == 12 || *p != '\0')
        return 0;
    v = negative ? -v : v;
    if (v < INT_MIN || v > INT_MAX)
        return 0;
    *out = (int)v;
    return 1;
}

int fcb_parse_int(const char *s, int *out)
{
    if (parse_plain_int(s, out))
        return 1;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE || v < INT_MIN || v > INT_MAX)
        return 0;
    *out = (int)v;
    return 1;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* *m = *m * 10^k + the k digits at p; returns the first non-digit. Two
 * digits a step halve the multiply-add chain; p[1] is read only after p[0]
 * was a digit, so never past the string's end. */
static const char *accumulate_digits(const char *p, uint64_t *m)
{
    uint64_t value = *m;
    while (is_digit(p[0]) && is_digit(p[1])) {
        value = value * 100 + (uint64_t)((p[0] - '0') * 10 + (p[1] - '0'));
        p += 2;
    }
    if (is_digit(*p))
        value = value * 10 + (uint64_t)(*p++ - '0');
    *m = value;
    return p;
}

/* Clinger's fast path: a decimal whose significant digits form an integer
 * m <= 2^53, scaled by 10^e with |e| <= 22, is m * 10^e or m / 10^-e: one
 * correctly rounded operation on two exact doubles, so it is exactly what
 * strtod gives. Returns the first character after the number, or NULL for
 * other input (more digits, larger exponents, hex, inf, nan, anything
 * malformed), which goes to strtod. */
static const char *parse_decimal_prefix(const char *s, double *out)
{
    static const double powers[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *p = s;
    int negative = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    /* The integer part, then the fraction; leading zeros are not
     * significant. m wraps past 19 digits, and is not used then. */
    const char *first = p;
    while (*p == '0')
        p++;
    const char *digits = p;
    uint64_t m = 0;
    p = accumulate_digits(p, &m);
    long significant = p - digits, fraction = 0;
    int any = p > first;
    if (*p == '.') {
        const char *point = ++p;
        if (m == 0) {
            while (*p == '0')
                p++;
        }
        digits = p;
        p = accumulate_digits(p, &m);
        significant += p - digits;
        fraction = p - point;
        any |= p > point;
    }
    if (!any || significant > 19 || fraction > 400)
        return NULL;
    int exponent = -(int)fraction;
    if (*p == 'e' || *p == 'E') {
        p++;
        int exponent_negative = *p == '-';
        if (*p == '-' || *p == '+')
            p++;
        int e = 0, exponent_digits = 0;
        for (; is_digit(*p) && exponent_digits < 4; p++, exponent_digits++)
            e = e * 10 + (*p - '0');
        if (exponent_digits == 0 || exponent_digits == 4)
            return NULL;
        exponent += exponent_negative ? -e : e;
    }
    if (m > (UINT64_C(1) << 53) || exponent < -22 || exponent > 22)
        return NULL;
    double v = (double)m;
    v = exponent < 0 ? v / powers[-exponent] : v * powers[exponent];
    *out = negative ? -v : v;
    return p;
}

static int parse_decimal_fast(const char *s, double *out)
{
    const char *end = parse_decimal_prefix(s, out);
    return end != NULL && *end == '\0';
}

int fcb_parse_double(const char *s, double *out)
{
    if (parse_decimal_fast(s, out))
        return 1;
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

/* Halfway between FLT_MAX and 2^128: from here on a double rounds to inf. */
static const double FLOAT_OVERFLOW = 0x1.ffffffp127;

int fcb_parse_float(const char *s, float *out)
{
    double v = 0.0;
    if (!fcb_parse_double(s, &v) || fabs(v) >= FLOAT_OVERFLOW)
        return 0;
    *out = (float)v;
    return 1;
}

int fcb_parse_label(const char *s, int *out)
{
    if (fcb_parse_int(s, out))
        return 1;
    float v = 0.0f;
    if (!fcb_parse_float(s, &v) || v != floorf(v) || fabsf(v) > 1e9f)
        return 0;
    *out = (int)v;
    return 1;
}

/* ---- VW features ---- */

fcb_status fcb_vw_split_line(const fcb_line_reader *r, char **label, char **features)
{
    *label = NULL;
    *features = NULL;
    if (fcb_is_blank_or_comment(r->line))
        return FCB_OK;
    char *bar = strchr(r->line, '|');
    if (!bar)
        return fcb_line_error(r, "missing '|' between the label and the features");
    *bar = '\0';
    *label = r->line;
    *features = bar + 1;
    return FCB_OK;
}

fcb_status fcb_check_column(const fcb_line_reader *r, const char *token, int col, int dim)
{
    if (col < 1)
        return fcb_line_error(r, "feature index %d in '%s' must be >= 1", col, token);
    if (dim > 0 && col > dim)
        return fcb_line_error(r, "feature index %d exceeds dim = %d", col, dim);
    return FCB_OK;
}

/* FNV-1a over "namespace^name" (just "name" in the default namespace). */
static uint32_t hash_feature(const char *ns, const char *name)
{
    uint32_t h = 2166136261u;
    if (ns && *ns) {
        for (const char *p = ns; *p; p++)
            h = (h ^ (unsigned char)*p) * 16777619u;
        h = (h ^ (unsigned char)'^') * 16777619u;
    }
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h;
}

static int looks_numeric(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

enum { PLAIN_INDEX_DIGITS = 9 };

/* The next feature token of *cursor, "name" or "name:value", split in place
 * in one pass: returns the name (NULL at the end) and *value, 1 without a
 * value. A value the decimal fast path reads is parsed as it is scanned;
 * any other is cut out and read by fcb_parse_float. *value_text is the
 * value's text (NULL without one), for messages. A name of one to nine
 * plain digits is its column number, which *index gets while the name is
 * scanned; any other name gives -1 and goes through looks_numeric and
 * fcb_parse_int, which agree on those names. */
static char *next_feature(char **cursor, float *value, const char **value_text, int *bad_value, int *index)
{
    char *s = *cursor;
    while (fcb_is_space(*s))
        s++;
    if (*s == '\0') {
        *cursor = s;
        return NULL;
    }
    char *name = s;
    int plain = 0;
    while (is_digit(*s) && s - name < PLAIN_INDEX_DIGITS)
        plain = plain * 10 + (*s++ - '0');
    *index = s > name && (*s == '\0' || *s == ':' || fcb_is_space(*s)) ? plain : -1;
    while (*s != '\0' && *s != ':' && !fcb_is_space(*s))
        s++;
    *value = 1.0f;
    *value_text = NULL;
    *bad_value = 0;
    if (*s != ':') {
        if (*s != '\0')
            *s++ = '\0';
        *cursor = s;
        return name;
    }
    *s++ = '\0';
    *value_text = s;
    double v = 0.0;
    const char *end = parse_decimal_prefix(s, &v);
    int fast = end != NULL && (*end == '\0' || fcb_is_space(*end));
    if (fast) {
        *value = (float)v; /* at most 2^53 * 10^22, about 9e37: within the float range */
        s = (char *)end;
    } else { /* cut the token out for fcb_parse_float */
        while (*s != '\0' && !fcb_is_space(*s))
            s++;
    }
    if (*s != '\0')
        *s++ = '\0';
    *cursor = s;
    if (!fast)
        *bad_value = !fcb_parse_float(*value_text, value);
    return name;
}

static fcb_status parse_feature(const fcb_line_reader *r, const char *ns, float ns_weight, const char *token,
                                int index, float value, int dim, fcb_feature_sink add, void *sink)
{
    if (*token == '\0')
        return fcb_line_error(r, "empty feature name");
    value *= ns_weight;
    if (!isfinite(value))
        return fcb_line_error(r, "feature '%s' times its namespace weight is not finite", token);
    int col = 0;
    if (index >= 0) {
        fcb_status st = fcb_check_column(r, token, index, dim);
        if (st != FCB_OK)
            return st;
        col = index;
    } else if (looks_numeric(token)) {
        if (!fcb_parse_int(token, &col))
            return fcb_line_error(r, "feature index '%s' is out of range", token);
        fcb_status st = fcb_check_column(r, token, col, dim);
        if (st != FCB_OK)
            return st;
    } else {
        if (dim == 0)
            return fcb_line_error(r, "feature '%s' is not a column number; set dim to hash feature names", token);
        col = (int)(hash_feature(ns, token) % (uint32_t)dim) + 1;
    }
    return add(sink, r, col, value);
}

/* One `namespace[:weight] features...` section (the text after a '|'). */
static fcb_status parse_section(const fcb_line_reader *r, char *section, int dim, fcb_feature_sink add,
                                void *sink)
{
    const char *ns = "";
    float ns_weight = 1.0f, value = 1.0f;
    const char *value_text = NULL;
    char *cursor = section;
    int bad_value = 0, index = -1;
    if (*section != '\0' && !fcb_is_space(*section)) {
        char *name = next_feature(&cursor, &ns_weight, &value_text, &bad_value, &index);
        if (bad_value)
            return fcb_line_error(r, "bad weight '%s' of namespace '%s'", value_text, name);
        ns = name;
    }
    char *token;
    fcb_status st = FCB_OK;
    while (st == FCB_OK && (token = next_feature(&cursor, &value, &value_text, &bad_value, &index)) != NULL) {
        if (bad_value)
            return fcb_line_error(r, "bad value '%s' for feature '%s': not a finite number", value_text, token);
        st = parse_feature(r, ns, ns_weight, token, index, value, dim, add, sink);
    }
    return st;
}

fcb_status fcb_vw_parse_features(const fcb_line_reader *r, char *features, int dim, fcb_feature_sink add,
                                 void *sink)
{
    fcb_status st = FCB_OK;
    char *section = features;
    while (st == FCB_OK && section) {
        char *next_bar = strchr(section, '|');
        if (next_bar)
            *next_bar = '\0';
        st = parse_section(r, section, dim, add, sink);
        section = next_bar ? next_bar + 1 : NULL;
    }
    return st;
}
