/* Sparse text formats: LibSVM / SVMlight and VW multiclass. Lines are
 * parsed straight into dense rows, as wide as the first row from the second
 * row on; the width grows (doubling) while larger feature indices appear
 * and is cut to the final dimension at the end when it overshot. Files may
 * be gzip-compressed (zlib passes plain files through). */
#include "dataset.h"
#include "text_reader.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- row store ---- */

typedef struct {
    int rows;
    int row_capacity;
    int *labels;        /* as written in the file */
    int *lines;         /* file line of each row, for error messages */
    float *x;           /* row_capacity x stride; rows beyond `rows` unset */
    int stride;         /* columns allocated per row, >= max_col */
    int max_col;        /* 1-based, 0 when no feature seen */
    int dim;            /* the bound on columns, 0 for none */
} row_store;

static void store_free(row_store *s)
{
    free(s->labels);
    free(s->lines);
    free(s->x);
    memset(s, 0, sizeof *s);
}

static fcb_status store_begin_row(row_store *s, const fcb_line_reader *r, int label)
{
    if (s->rows == INT_MAX - 1)
        return fcb_line_error(r, "too many rows");
    /* Doubling while the first row is read overshoots (20 features give 32
     * columns); most files are as wide on every row as on the first, so the
     * rows are laid out at the first row's width from the second row on,
     * which also leaves nothing to compact at the end. */
    if (s->rows == 1 && s->dim == 0 && s->max_col > 0 && s->stride > s->max_col)
        s->stride = s->max_col;
    if (s->rows == s->row_capacity) {
        int next = s->row_capacity ? (s->row_capacity > INT_MAX / 2 ? INT_MAX - 1 : 2 * s->row_capacity) : 1024;
        int *labels = realloc(s->labels, (size_t)next * sizeof *labels);
        if (labels)
            s->labels = labels;
        int *lines = realloc(s->lines, (size_t)next * sizeof *lines);
        if (lines)
            s->lines = lines;
        float *x = s->stride > 0 ? realloc(s->x, (size_t)next * (size_t)s->stride * sizeof *x) : s->x;
        if (x)
            s->x = x;
        if (!labels || !lines || (s->stride > 0 && !x))
            return fcb_fail(FCB_ERR_NOMEM, "%s: cannot allocate %d rows of %d columns", r->path, next, s->stride);
        s->row_capacity = next;
    }
    s->labels[s->rows] = label;
    s->lines[s->rows] = r->number;
    if (s->stride > 0)
        memset(s->x + (size_t)s->rows * s->stride, 0, (size_t)s->stride * sizeof *s->x);
    s->rows++;
    return FCB_OK;
}

/* Makes room for column col (1-based) in every row, rows read so far
 * copied into the wider layout. */
static fcb_status store_widen(row_store *s, const char *path, int col)
{
    int next = s->dim > 0 ? s->dim : (s->stride > INT_MAX / 2 ? INT_MAX : 2 * s->stride);
    if (next < col)
        next = col;
    if (next < 8 && s->dim == 0)
        next = 8;
    float *x = calloc((size_t)s->row_capacity * (size_t)next, sizeof *x);
    if (!x)
        return fcb_fail(FCB_ERR_NOMEM, "%s: cannot allocate %d rows of %d columns", path, s->row_capacity, next);
    for (int i = 0; s->stride > 0 && i < s->rows; i++)
        memcpy(x + (size_t)i * next, s->x + (size_t)i * s->stride, (size_t)s->stride * sizeof *x);
    free(s->x);
    s->x = x;
    s->stride = next;
    return FCB_OK;
}

/* col is 1-based; repeated features in a row add. */
static fcb_status store_add(row_store *s, const fcb_line_reader *r, int col, float value)
{
    if (col > s->stride) {
        fcb_status st = store_widen(s, r->path, col);
        if (st != FCB_OK)
            return st;
    }
    float *cell = s->x + (size_t)(s->rows - 1) * s->stride + (col - 1);
    *cell += value;
    if (!isfinite(*cell))
        return fcb_line_error(r, "feature column %d adds up beyond the float range", col);
    if (col > s->max_col)
        s->max_col = col;
    return FCB_OK;
}

/* Maps stored labels (label - label_offset must lie in [0, num_classes) when
 * num_classes > 0) and hands the rows, cut to the final width, to ds. */
static fcb_status store_to_dataset(row_store *s, const char *path, int dim, int num_classes, int label_offset,
                                   fcb_dataset *ds)
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
    if (s->stride < d) { /* dim set and no row reached it: every row is still zero past stride */
        fcb_status st = store_widen(s, path, d);
        if (st != FCB_OK)
            return st;
    }
    for (int i = 1; s->stride != d && i < s->rows; i++)
        memmove(s->x + (size_t)i * d, s->x + (size_t)i * s->stride, (size_t)d * sizeof *s->x);
    float *x = realloc(s->x, (size_t)s->rows * (size_t)d * sizeof *x);
    if (x)
        s->x = x;
    ds->y = malloc((size_t)s->rows * sizeof *ds->y);
    if (!x || !ds->y) {
        free(ds->y);
        ds->y = NULL;
        return fcb_fail(FCB_ERR_NOMEM, "%s: cannot allocate a dense %d x %d matrix", path, s->rows, d);
    }
    ds->x = s->x;
    s->x = NULL;
    ds->n = s->rows;
    ds->d = d;
    ds->k = num_classes > 0 ? num_classes : max_label + 1;
    for (int i = 0; i < s->rows; i++)
        ds->y[i] = s->labels[i] - label_offset;
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

static fcb_status parse_libsvm_feature(const fcb_line_reader *r, char *token, int dim, row_store *s)
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
    row_store *s = store;
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
                            fcb_dataset *ds, fcb_line_parser parse, row_store *s)
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
    row_store s;
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
    row_store *s = store;
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
    row_store s;
    fcb_status st = read_rows("vw", path, dim, num_classes, ds, parse_vw_line, &s);
    if (st == FCB_OK)
        st = store_to_dataset(&s, path, dim, num_classes, 1, ds);
    store_free(&s);
    return st;
}
