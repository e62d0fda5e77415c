#include "robust_aggregate.h"

#include <math.h>
#include <string.h>

#include "name_table.h"
#include "vec.h"

fcb_robust_config fcb_robust_config_defaults(fcb_robust_kind kind)
{
    fcb_robust_config config;
    config.kind = kind;
    config.trim_fraction = 0.1;
    config.max_norm = 1.0;
    return config;
}

static fcb_status check_trim_fraction(double trim_fraction)
{
    if (!(trim_fraction >= 0.0 && trim_fraction < 0.5))
        return fcb_fail(FCB_ERR_CONFIG, "aggregation.trim_fraction = %g: must be in [0, 0.5)",
                        trim_fraction);
    return FCB_OK;
}

static fcb_status check_max_norm(double max_norm)
{
    if (!(max_norm > 0.0) || !isfinite(max_norm))
        return fcb_fail(FCB_ERR_CONFIG, "aggregation.max_norm = %g: must be > 0", max_norm);
    return FCB_OK;
}

static const fcb_name_entry KIND_NAMES[] = {
    {"median", FCB_ROBUST_MEDIAN},
    {"trimmed_mean", FCB_ROBUST_TRIMMED_MEAN},
    {"norm_bound", FCB_ROBUST_NORM_BOUND},
};

fcb_status fcb_robust_config_validate(const fcb_robust_config *config)
{
    if (config->kind != FCB_ROBUST_MEDIAN && config->kind != FCB_ROBUST_TRIMMED_MEAN &&
        config->kind != FCB_ROBUST_NORM_BOUND)
        return fcb_fail(FCB_ERR_CONFIG, "aggregation.kind: unknown kind %d", (int)config->kind);
    fcb_status status = check_trim_fraction(config->trim_fraction);
    if (status == FCB_OK)
        status = check_max_norm(config->max_norm);
    return status;
}

fcb_status fcb_robust_kind_from_name(const char *name, fcb_robust_kind *out)
{
    int value = 0;
    fcb_status st =
        fcb_name_lookup(KIND_NAMES, sizeof KIND_NAMES / sizeof KIND_NAMES[0], "robust aggregation", name, &value);
    if (st == FCB_OK)
        *out = (fcb_robust_kind)value;
    return st;
}

const char *fcb_robust_kind_name(fcb_robust_kind kind)
{
    return fcb_name_of(KIND_NAMES, sizeof KIND_NAMES / sizeof KIND_NAMES[0], (int)kind);
}

size_t fcb_robust_scratch_size(int m, size_t dim)
{
    size_t rows = m > 0 ? (size_t)m : 0;
    return rows > dim ? rows : dim;
}

int fcb_robust_trim_count(double trim_fraction, int m)
{
    return (int)floor(trim_fraction * m + 1e-9);
}

static fcb_status check_rows(const char *fn, const float *rows, int m, size_t dim,
                             const double *scratch, const float *out)
{
    if (rows == NULL || scratch == NULL || out == NULL)
        return fcb_fail(FCB_ERR_ARG, "%s: NULL argument", fn);
    if (m < 1)
        return fcb_fail(FCB_ERR_ARG, "%s: m = %d updates, need at least 1", fn, m);
    if (dim == 0)
        return fcb_fail(FCB_ERR_ARG, "%s: dim must be > 0", fn);
    for (int i = 0; i < m; i++) {
        const float *row = rows + (size_t)i * dim;
        for (size_t j = 0; j < dim; j++) {
            if (!isfinite(row[j]))
                return fcb_fail(FCB_ERR_ARG, "%s: row %d value %zu is not finite (%g)", fn, i, j,
                                (double)row[j]);
        }
    }
    return FCB_OK;
}

static void sift_down(double *values, size_t root, size_t count)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= count)
            return;
        if (child + 1 < count && values[child + 1] > values[child])
            child++;
        if (!(values[child] > values[root]))
            return;
        double t = values[root];
        values[root] = values[child];
        values[child] = t;
        root = child;
    }
}

/* In-place heapsort, ascending. Not qsort: glibc's may allocate a buffer
 * on every call, and this runs once per coordinate. */
static void sort_doubles(double *values, size_t count)
{
    for (size_t i = count / 2; i-- > 0;)
        sift_down(values, i, count);
    for (size_t end = count; end-- > 1;) {
        double t = values[0];
        values[0] = values[end];
        values[end] = t;
        sift_down(values, 0, end);
    }
}

/* scratch[0..m) = coordinate j of every row, sorted. */
static void sorted_column(const float *rows, int m, size_t dim, size_t j, double *scratch)
{
    for (int i = 0; i < m; i++)
        scratch[i] = rows[(size_t)i * dim + j];
    sort_doubles(scratch, (size_t)m);
}

fcb_status fcb_robust_median(const float *rows, int m, size_t dim, double *scratch, float *out)
{
    fcb_status status = check_rows("robust median", rows, m, dim, scratch, out);
    if (status != FCB_OK)
        return status;
    for (size_t j = 0; j < dim; j++) {
        sorted_column(rows, m, dim, j, scratch);
        double middle = m % 2 ? scratch[m / 2] : 0.5 * (scratch[m / 2 - 1] + scratch[m / 2]);
        out[j] = (float)middle;
    }
    return FCB_OK;
}

fcb_status fcb_robust_trimmed_mean(const float *rows, int m, size_t dim, double trim_fraction,
                                   double *scratch, float *out)
{
    fcb_status status = check_trim_fraction(trim_fraction);
    if (status == FCB_OK)
        status = check_rows("robust trimmed mean", rows, m, dim, scratch, out);
    if (status != FCB_OK)
        return status;
    int trim = fcb_robust_trim_count(trim_fraction, m);
    int kept = m - 2 * trim;
    for (size_t j = 0; j < dim; j++) {
        sorted_column(rows, m, dim, j, scratch);
        double sum = 0.0;
        for (int i = trim; i < m - trim; i++)
            sum += scratch[i];
        out[j] = (float)(sum / kept);
    }
    return FCB_OK;
}

fcb_status fcb_robust_norm_bounded_mean(const float *rows, int m, size_t dim, double max_norm,
                                        double *scratch, float *out)
{
    fcb_status status = check_max_norm(max_norm);
    if (status == FCB_OK)
        status = check_rows("robust norm bound", rows, m, dim, scratch, out);
    if (status != FCB_OK)
        return status;
    double *sum = scratch;
    memset(sum, 0, dim * sizeof *sum);
    for (int i = 0; i < m; i++) {
        const float *row = rows + (size_t)i * dim;
        double norm = fcb_l2_norm(row, dim);
        double factor = norm > max_norm ? max_norm / norm : 1.0;
        for (size_t j = 0; j < dim; j++)
            sum[j] += factor * row[j];
    }
    for (size_t j = 0; j < dim; j++)
        out[j] = (float)(sum[j] / m);
    return FCB_OK;
}

fcb_status fcb_robust_aggregate(const fcb_robust_config *config, const float *rows, int m,
                                size_t dim, double *scratch, size_t scratch_size, float *out)
{
    if (config == NULL)
        return fcb_fail(FCB_ERR_ARG, "robust aggregate: config is NULL");
    fcb_status status = fcb_robust_config_validate(config);
    if (status != FCB_OK)
        return status;
    if (scratch_size < fcb_robust_scratch_size(m, dim))
        return fcb_fail(FCB_ERR_ARG, "robust aggregate: scratch of %zu doubles, need %zu",
                        scratch_size, fcb_robust_scratch_size(m, dim));
    switch (config->kind) {
    case FCB_ROBUST_MEDIAN:
        return fcb_robust_median(rows, m, dim, scratch, out);
    case FCB_ROBUST_TRIMMED_MEAN:
        return fcb_robust_trimmed_mean(rows, m, dim, config->trim_fraction, scratch, out);
    case FCB_ROBUST_NORM_BOUND:
        return fcb_robust_norm_bounded_mean(rows, m, dim, config->max_norm, scratch, out);
    }
    return fcb_fail(FCB_ERR_CONFIG, "aggregation.kind: unknown kind %d", (int)config->kind);
}
