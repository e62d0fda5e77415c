/* Sparse text formats: LibSVM / SVMlight and VW multiclass. Lines are
 * parsed into a growing sparse store, then densified into n x d. Files may
 * be gzip-compressed (zlib passes plain files through). */
#include "dataset.h"
#include "text_reader.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
    int dim;            /* the bound on columns, 0 for none */
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

static fcb_status store_begin_row(sparse_store *s, const fcb_line_reader *r, int label)
{
    if (s->rows == INT_MAX - 1)
        return fcb_line_error(r, "too many rows");
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
static fcb_status store_add(sparse_store *s, const fcb_line_reader *r, int col, float value)
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
        if (label == INT_MAX) /* the number of classes, label + 1, would not be an int */
            return fcb_fail(FCB_ERR_FORMAT, "%s:%d: label %d is too large", path, s->lines[i], s->labels[i]);
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
        for (size_t e = s->starts[i]; e < s->starts[i + 1]; e++) {
            row[s->cols[e]] += s->values[e];
            if (!isfinite(row[s->cols[e]])) {
                fcb_dataset_free(ds);
                return fcb_fail(FCB_ERR_FORMAT, "%s:%d: feature column %d adds up beyond the float range", path,
                                s->lines[i], s->cols[e] + 1);
            }
        }
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

/* ---- LibSVM / SVMlight ---- */

static fcb_status parse_libsvm_feature(const fcb_line_reader *r, char *token, int dim, sparse_store *s)
{
    if (strncmp(token, "qid:", 4) == 0)
        return FCB_OK; /* SVMlight ranking groups carry no feature */
    char *colon = strchr(token, ':');
    if (!colon)
        return fcb_line_error(r, "bad feature '%s': expected index:value", token);
    *colon = '\0';
    int col = 0;
    float value = 0.0f;
    if (!fcb_parse_int(token, &col))
        return fcb_line_error(r, "bad feature index '%s'", token);
    fcb_status st = fcb_check_column(r, token, col, dim);
    if (st != FCB_OK)
        return st;
    if (!fcb_parse_float(colon + 1, &value))
        return fcb_line_error(r, "bad value '%s' for feature %d: not a finite number", colon + 1, col);
    return store_add(s, r, col, value);
}

static fcb_status parse_libsvm_line(void *store, const fcb_line_reader *r)
{
    sparse_store *s = store;
    char *hash = strchr(r->line, '#');
    if (hash)
        *hash = '\0';
    char *cursor = r->line;
    char *token = fcb_next_token(&cursor);
    if (!token)
        return FCB_OK;
    int label = 0;
    if (!fcb_parse_label(token, &label) || label < 0)
        return fcb_line_error(r, "bad label '%s': expected an integer >= 0", token);
    fcb_status st = store_begin_row(s, r, label);
    while (st == FCB_OK && (token = fcb_next_token(&cursor)) != NULL)
        st = parse_libsvm_feature(r, token, s->dim, s);
    return st;
}

/* Reads every line of path through parse into s; s is the caller's to free. */
static fcb_status read_rows(const char *format, const char *path, int dim, int num_classes,
                            fcb_dataset *ds, fcb_line_parser parse, sparse_store *s)
{
    memset(s, 0, sizeof *s);
    fcb_status st = check_load_args(format, path, dim, num_classes, ds);
    if (st != FCB_OK)
        return st;
    s->dim = dim;
    return fcb_read_lines(path, parse, s);
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

static fcb_status add_to_store(void *store, const fcb_line_reader *r, int col, float value)
{
    return store_add(store, r, col, value);
}

/* `label [importance] [tag]` before the first '|'. */
static fcb_status parse_vw_header(const fcb_line_reader *r, char *header, int *label)
{
    char *cursor = header;
    char *token = fcb_next_token(&cursor);
    if (!token)
        return fcb_line_error(r, "missing label before '|'");
    if (!fcb_parse_int(token, label) || *label < 1)
        return fcb_line_error(r, "bad label '%s': expected an integer >= 1", token);
    char *second = fcb_next_token(&cursor);
    float importance = 0.0f;
    if (second && fcb_parse_float(second, &importance)) {
        if (importance < 0.0f)
            return fcb_line_error(r, "importance weight %s must be >= 0", second);
        second = fcb_next_token(&cursor); /* the tag, if any */
    }
    char *extra = second ? fcb_next_token(&cursor) : NULL;
    if (extra)
        return fcb_line_error(r, "unexpected '%s' before '|': expected label [importance] [tag]", extra);
    return FCB_OK;
}

static fcb_status parse_vw_line(void *store, const fcb_line_reader *r)
{
    sparse_store *s = store;
    char *header, *features;
    fcb_status st = fcb_vw_split_line(r, &header, &features);
    if (st != FCB_OK || !header)
        return st;
    int label = 0;
    st = parse_vw_header(r, header, &label);
    if (st == FCB_OK)
        st = store_begin_row(s, r, label);
    if (st == FCB_OK)
        st = fcb_vw_parse_features(r, features, s->dim, add_to_store, s);
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
