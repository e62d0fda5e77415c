/* Sparse text formats: LibSVM / SVMlight and VW multiclass. Lines are
 * parsed into a growing sparse store, then densified into n x d. Files may
 * be gzip-compressed (zlib passes plain files through). */
#include "dataset.h"
#include "gz_file.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum { INITIAL_LINE_BYTES = 256 };

/* ---- line reader ---- */

typedef struct {
    gzFile file;
    const char *path;
    char *line;
    size_t capacity;
    int number; /* 1-based number of the line last read */
} line_reader;

static fcb_status line_reader_open(line_reader *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    return fcb_gz_open(path, &r->file);
}

static void line_reader_close(line_reader *r)
{
    if (r->file)
        gzclose(r->file);
    free(r->line);
    memset(r, 0, sizeof *r);
}

/* Reads the next whole line (any length) into r->line; *more = 0 at the end. */
static fcb_status line_reader_next(line_reader *r, int *more)
{
    size_t used = 0;
    int at_end = 0;
    for (;;) {
        if (r->capacity - used < 2) {
            size_t next = r->capacity ? 2 * r->capacity : INITIAL_LINE_BYTES;
            if (next > INT_MAX)
                return fcb_fail(FCB_ERR_FORMAT, "%s:%d: line too long", r->path, r->number + 1);
            char *grown = realloc(r->line, next);
            if (!grown)
                return fcb_fail(FCB_ERR_NOMEM, "%s:%d: cannot allocate %zu bytes for a line", r->path,
                                r->number + 1, next);
            r->line = grown;
            r->capacity = next;
        }
        if (!gzgets(r->file, r->line + used, (int)(r->capacity - used))) {
            int errnum = Z_OK;
            const char *message = gzerror(r->file, &errnum);
            if (errnum == Z_ERRNO)
                return fcb_fail(FCB_ERR_IO, "cannot read %s: %s", r->path, strerror(errno));
            if (errnum != Z_OK)
                return fcb_fail(FCB_ERR_FORMAT, "%s: corrupt or truncated compressed data: %s", r->path, message);
            at_end = 1;
            break;
        }
        used += strlen(r->line + used);
        if (used > 0 && r->line[used - 1] == '\n')
            break;
    }
    r->line[used] = '\0';
    *more = used > 0 || !at_end;
    if (*more)
        r->number++;
    return FCB_OK;
}

static fcb_status line_error(const line_reader *r, const char *fmt, ...) FCB_PRINTF(2, 3);

static fcb_status line_error(const line_reader *r, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return fcb_fail(FCB_ERR_FORMAT, "%s:%d: %s", r->path, r->number, what);
}

/* ---- tokens and numbers ---- */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Returns the next whitespace-separated token of *cursor (NUL-terminated in
 * place) or NULL at the end. */
static char *next_token(char **cursor)
{
    char *s = *cursor;
    while (is_space(*s))
        s++;
    if (*s == '\0') {
        *cursor = s;
        return NULL;
    }
    char *start = s;
    while (*s && !is_space(*s))
        s++;
    if (*s)
        *s++ = '\0';
    *cursor = s;
    return start;
}

static int parse_int(const char *s, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE || v < INT_MIN || v > INT_MAX)
        return 0;
    *out = (int)v;
    return 1;
}

/* A finite float; 0 for anything else (including nan and inf). */
static int parse_value(const char *s, float *out)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v) || fabs(v) > FLT_MAX)
        return 0;
    *out = (float)v;
    return 1;
}

/* An integer label, also written as an integral decimal ("3.0"). */
static int parse_label(const char *s, int *out)
{
    if (parse_int(s, out))
        return 1;
    float v = 0.0f;
    if (!parse_value(s, &v) || v != floorf(v) || fabsf(v) > 1e9f)
        return 0;
    *out = (int)v;
    return 1;
}

static int is_blank_or_comment(const char *s)
{
    while (is_space(*s))
        s++;
    return *s == '\0' || *s == '#';
}

/* ---- sparse store ---- */

typedef struct {
    int rows;
    int row_capacity;
    int *labels;        /* as written in the file */
    int *lines;         /* file line of each row, for error messages */
    size_t *starts;     /* rows + 1 */
    size_t entries;
    size_t entry_capacity;
    int *cols;          /* 0-based */
    float *values;
    int max_col;        /* 1-based, 0 when no feature seen */
} sparse_store;

static void store_free(sparse_store *s)
{
    free(s->labels);
    free(s->lines);
    free(s->starts);
    free(s->cols);
    free(s->values);
    memset(s, 0, sizeof *s);
}

static fcb_status store_begin_row(sparse_store *s, const line_reader *r, int label)
{
    if (s->rows == INT_MAX - 1)
        return line_error(r, "too many rows");
    if (s->rows + 1 >= s->row_capacity) {
        int next = s->row_capacity ? (s->row_capacity > INT_MAX / 2 ? INT_MAX : 2 * s->row_capacity) : 1024;
        int *labels = realloc(s->labels, (size_t)next * sizeof *labels);
        if (labels)
            s->labels = labels;
        int *lines = realloc(s->lines, (size_t)next * sizeof *lines);
        if (lines)
            s->lines = lines;
        size_t *starts = realloc(s->starts, ((size_t)next + 1) * sizeof *starts);
        if (starts)
            s->starts = starts;
        if (!labels || !lines || !starts)
            return fcb_fail(FCB_ERR_NOMEM, "%s: cannot allocate %d rows", r->path, next);
        s->row_capacity = next;
    }
    s->labels[s->rows] = label;
    s->lines[s->rows] = r->number;
    s->starts[s->rows] = s->entries;
    s->rows++;
    s->starts[s->rows] = s->entries;
    return FCB_OK;
}

/* col is 1-based. */
static fcb_status store_add(sparse_store *s, const line_reader *r, int col, float value)
{
    if (s->entries == s->entry_capacity) {
        size_t next = s->entry_capacity ? 2 * s->entry_capacity : 4096;
        int *cols = realloc(s->cols, next * sizeof *cols);
        if (cols)
            s->cols = cols;
        float *values = realloc(s->values, next * sizeof *values);
        if (values)
            s->values = values;
        if (!cols || !values)
            return fcb_fail(FCB_ERR_NOMEM, "%s: cannot allocate %zu feature entries", r->path, next);
        s->entry_capacity = next;
    }
    s->cols[s->entries] = col - 1;
    s->values[s->entries] = value;
    s->entries++;
    s->starts[s->rows] = s->entries;
    if (col > s->max_col)
        s->max_col = col;
    return FCB_OK;
}

/* Maps stored labels (label - label_offset must lie in [0, num_classes) when
 * num_classes > 0) and densifies into ds. Repeated features in a row add. */
static fcb_status store_to_dataset(const sparse_store *s, const char *path, int dim, int num_classes,
                                   int label_offset, fcb_dataset *ds)
{
    if (s->rows == 0)
        return fcb_fail(FCB_ERR_FORMAT, "%s: no examples", path);
    int d = dim > 0 ? dim : s->max_col;
    if (d == 0)
        return fcb_fail(FCB_ERR_FORMAT, "%s: no features in any example; set dim", path);
    int max_label = 0;
    for (int i = 0; i < s->rows; i++) {
        int label = s->labels[i] - label_offset;
        if (num_classes > 0 && label >= num_classes)
            return fcb_fail(FCB_ERR_FORMAT, "%s:%d: label %d is out of range for %d classes", path, s->lines[i],
                            s->labels[i], num_classes);
        if (label > max_label)
            max_label = label;
    }
    ds->x = calloc((size_t)s->rows * (size_t)d, sizeof *ds->x);
    ds->y = malloc((size_t)s->rows * sizeof *ds->y);
    if (!ds->x || !ds->y) {
        fcb_dataset_free(ds);
        return fcb_fail(FCB_ERR_NOMEM, "%s: cannot allocate a dense %d x %d matrix", path, s->rows, d);
    }
    ds->n = s->rows;
    ds->d = d;
    ds->k = num_classes > 0 ? num_classes : max_label + 1;
    for (int i = 0; i < s->rows; i++) {
        float *row = ds->x + (size_t)i * d;
        for (size_t e = s->starts[i]; e < s->starts[i + 1]; e++)
            row[s->cols[e]] += s->values[e];
        ds->y[i] = s->labels[i] - label_offset;
    }
    return FCB_OK;
}

static fcb_status check_load_args(const char *what, const char *path, int dim, int num_classes, fcb_dataset *ds)
{
    if (!path || !ds)
        return fcb_fail(FCB_ERR_ARG, "load %s: NULL argument", what);
    if (dim < 0)
        return fcb_fail(FCB_ERR_ARG, "load %s %s: dim = %d must be >= 0", what, path, dim);
    if (num_classes < 0)
        return fcb_fail(FCB_ERR_ARG, "load %s %s: num_classes = %d must be >= 0", what, path, num_classes);
    memset(ds, 0, sizeof *ds);
    return FCB_OK;
}

/* A 1-based column index as written in the file. */
static fcb_status check_column(const line_reader *r, const char *token, int col, int dim)
{
    if (col < 1)
        return line_error(r, "feature index %d in '%s' must be >= 1", col, token);
    if (dim > 0 && col > dim)
        return line_error(r, "feature index %d exceeds dim = %d", col, dim);
    return FCB_OK;
}

/* ---- LibSVM / SVMlight ---- */

static fcb_status parse_libsvm_feature(const line_reader *r, char *token, int dim, sparse_store *s)
{
    if (strncmp(token, "qid:", 4) == 0)
        return FCB_OK; /* SVMlight ranking groups carry no feature */
    char *colon = strchr(token, ':');
    if (!colon)
        return line_error(r, "bad feature '%s': expected index:value", token);
    *colon = '\0';
    int col = 0;
    float value = 0.0f;
    if (!parse_int(token, &col))
        return line_error(r, "bad feature index '%s'", token);
    fcb_status st = check_column(r, token, col, dim);
    if (st != FCB_OK)
        return st;
    if (!parse_value(colon + 1, &value))
        return line_error(r, "bad value '%s' for feature %d: not a finite number", colon + 1, col);
    return store_add(s, r, col, value);
}

static fcb_status parse_libsvm_line(const line_reader *r, int dim, sparse_store *s)
{
    char *hash = strchr(r->line, '#');
    if (hash)
        *hash = '\0';
    char *cursor = r->line;
    char *token = next_token(&cursor);
    if (!token)
        return FCB_OK;
    int label = 0;
    if (!parse_label(token, &label) || label < 0)
        return line_error(r, "bad label '%s': expected an integer >= 0", token);
    fcb_status st = store_begin_row(s, r, label);
    while (st == FCB_OK && (token = next_token(&cursor)) != NULL)
        st = parse_libsvm_feature(r, token, dim, s);
    return st;
}

typedef fcb_status (*line_parser)(const line_reader *r, int dim, sparse_store *s);

/* Reads every line of path through parse into s; s is the caller's to free. */
static fcb_status read_rows(const char *format, const char *path, int dim, int num_classes,
                            fcb_dataset *ds, line_parser parse, sparse_store *s)
{
    memset(s, 0, sizeof *s);
    fcb_status st = check_load_args(format, path, dim, num_classes, ds);
    if (st != FCB_OK)
        return st;
    line_reader r;
    st = line_reader_open(&r, path);
    int more = 1;
    while (st == FCB_OK) {
        st = line_reader_next(&r, &more);
        if (st != FCB_OK || !more)
            break;
        st = parse(&r, dim, s);
    }
    line_reader_close(&r);
    return st;
}

fcb_status fcb_dataset_load_libsvm(const char *path, int dim, int num_classes, fcb_dataset *ds)
{
    sparse_store s;
    fcb_status st = read_rows("libsvm", path, dim, num_classes, ds, parse_libsvm_line, &s);
    if (st == FCB_OK) {
        /* Labels 1..K become 0..K-1; labels that start at 0 stay as they are. */
        int min_label = INT_MAX;
        for (int i = 0; i < s.rows; i++)
            if (s.labels[i] < min_label)
                min_label = s.labels[i];
        int offset = min_label >= 1 && min_label != INT_MAX ? 1 : 0;
        st = store_to_dataset(&s, path, dim, num_classes, offset, ds);
    }
    store_free(&s);
    return st;
}

/* ---- VW multiclass ---- */

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

static fcb_status parse_vw_feature(const line_reader *r, const char *ns, float ns_weight, char *token, int dim,
                                   sparse_store *s)
{
    float value = 1.0f;
    char *colon = strchr(token, ':');
    if (colon) {
        *colon = '\0';
        if (!parse_value(colon + 1, &value))
            return line_error(r, "bad value '%s' for feature '%s': not a finite number", colon + 1, token);
    }
    if (*token == '\0')
        return line_error(r, "empty feature name");
    value *= ns_weight;
    if (!isfinite(value))
        return line_error(r, "feature '%s' times its namespace weight is not finite", token);
    int col = 0;
    if (looks_numeric(token)) {
        if (!parse_int(token, &col))
            return line_error(r, "feature index '%s' is out of range", token);
        fcb_status st = check_column(r, token, col, dim);
        if (st != FCB_OK)
            return st;
    } else {
        if (dim == 0)
            return line_error(r, "feature '%s' is not a column number; set dim to hash feature names", token);
        col = (int)(hash_feature(ns, token) % (uint32_t)dim) + 1;
    }
    return store_add(s, r, col, value);
}

/* One `|namespace[:weight] features...` section (the text after a '|'). */
static fcb_status parse_vw_section(const line_reader *r, char *section, int dim, sparse_store *s)
{
    const char *ns = "";
    float ns_weight = 1.0f;
    char *cursor = section;
    if (*section != '\0' && !is_space(*section)) {
        char *name = next_token(&cursor);
        char *colon = strchr(name, ':');
        if (colon) {
            *colon = '\0';
            if (!parse_value(colon + 1, &ns_weight))
                return line_error(r, "bad weight '%s' of namespace '%s'", colon + 1, name);
        }
        ns = name;
    }
    char *token;
    fcb_status st = FCB_OK;
    while (st == FCB_OK && (token = next_token(&cursor)) != NULL)
        st = parse_vw_feature(r, ns, ns_weight, token, dim, s);
    return st;
}

/* `label [importance] [tag]` before the first '|'. */
static fcb_status parse_vw_header(const line_reader *r, char *header, int *label)
{
    char *cursor = header;
    char *token = next_token(&cursor);
    if (!token)
        return line_error(r, "missing label before '|'");
    if (!parse_int(token, label) || *label < 1)
        return line_error(r, "bad label '%s': expected an integer >= 1", token);
    char *second = next_token(&cursor);
    float importance = 0.0f;
    if (second && parse_value(second, &importance)) {
        if (importance < 0.0f)
            return line_error(r, "importance weight %s must be >= 0", second);
        second = next_token(&cursor); /* the tag, if any */
    }
    char *extra = second ? next_token(&cursor) : NULL;
    if (extra)
        return line_error(r, "unexpected '%s' before '|': expected label [importance] [tag]", extra);
    return FCB_OK;
}

static fcb_status parse_vw_line(const line_reader *r, int dim, sparse_store *s)
{
    if (is_blank_or_comment(r->line))
        return FCB_OK;
    char *bar = strchr(r->line, '|');
    if (!bar)
        return line_error(r, "missing '|' between the label and the features");
    *bar = '\0';
    int label = 0;
    fcb_status st = parse_vw_header(r, r->line, &label);
    if (st == FCB_OK)
        st = store_begin_row(s, r, label);
    char *section = bar + 1;
    while (st == FCB_OK && section) {
        char *next_bar = strchr(section, '|');
        if (next_bar)
            *next_bar = '\0';
        st = parse_vw_section(r, section, dim, s);
        section = next_bar ? next_bar + 1 : NULL;
    }
    return st;
}

fcb_status fcb_dataset_load_vw(const char *path, int dim, int num_classes, fcb_dataset *ds)
{
    sparse_store s;
    fcb_status st = read_rows("vw", path, dim, num_classes, ds, parse_vw_line, &s);
    if (st == FCB_OK)
        st = store_to_dataset(&s, path, dim, num_classes, 1, ds);
    store_free(&s);
    return st;
}
