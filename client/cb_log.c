#include "cb_log.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gz_file.h"
#include "text_reader.h"

enum { INITIAL_ROWS = 1024, MAX_COST_DIGITS = 17 };

/* ---- loading ---- */

typedef struct {
    fcb_cb_log *log;
    int capacity; /* rows allocated */
    int num_actions;
} log_builder;

typedef struct {
    int action; /* 0-based */
    float reward;
    float probability;
} cb_label;

static fcb_status out_of_memory(const char *path, int rows, int dim)
{
    return fcb_fail(FCB_ERR_NOMEM, "%s: cannot allocate %d examples of dim %d", path, rows, dim);
}

/* Makes room for one more example; the arrays stay valid on failure. */
static fcb_status grow(log_builder *b, const char *path)
{
    fcb_cb_log *log = b->log;
    if (log->n < b->capacity)
        return FCB_OK;
    if (b->capacity > INT_MAX / 2)
        return fcb_fail(FCB_ERR_NOMEM, "%s: too many examples", path);
    int next = b->capacity ? 2 * b->capacity : INITIAL_ROWS;
    if ((size_t)next > SIZE_MAX / sizeof *log->x / (size_t)log->dim)
        return out_of_memory(path, next, log->dim);
    float *x = realloc(log->x, (size_t)next * (size_t)log->dim * sizeof *x);
    if (!x)
        return out_of_memory(path, next, log->dim);
    log->x = x;
    int *actions = realloc(log->actions, (size_t)next * sizeof *actions);
    if (!actions)
        return out_of_memory(path, next, log->dim);
    log->actions = actions;
    float *propensities = realloc(log->propensities, (size_t)next * sizeof *propensities);
    if (!propensities)
        return out_of_memory(path, next, log->dim);
    log->propensities = propensities;
    float *rewards = realloc(log->rewards, (size_t)next * sizeof *rewards);
    if (!rewards)
        return out_of_memory(path, next, log->dim);
    log->rewards = rewards;
    b->capacity = next;
    return FCB_OK;
}

/* The reward of a cost, 1 - cost, when that is a finite float. The writer
 * uses it too, to check that the cost it writes gives the reward back. */
static int reward_of_cost(double cost, float *reward)
{
    double r = 1.0 - cost;
    if (!(fabs(r) <= FLT_MAX))
        return 0;
    *reward = (float)r;
    return 1;
}

/* `action:cost:probability`, cut up in place. */
static fcb_status parse_label(const fcb_line_reader *r, char *text, int num_actions, cb_label *label)
{
    char *cost_text = strchr(text, ':');
    char *probability_text = cost_text ? strchr(cost_text + 1, ':') : NULL;
    if (!probability_text || strchr(probability_text + 1, ':'))
        return fcb_line_error(r, "bad label '%s': expected action:cost:probability", text);
    *cost_text++ = '\0';
    *probability_text++ = '\0';
    int action = 0;
    if (!fcb_parse_int(text, &action) || action < 1 || action > num_actions)
        return fcb_line_error(r, "bad action '%s': expected an integer in 1..%d", text, num_actions);
    double cost = 0.0;
    float reward = 0.0f;
    if (!fcb_parse_double(cost_text, &cost))
        return fcb_line_error(r, "bad cost '%s': not a finite number", cost_text);
    if (!reward_of_cost(cost, &reward))
        return fcb_line_error(r, "cost %s gives a reward 1 - cost beyond the float range", cost_text);
    float probability = 0.0f;
    if (!fcb_parse_float(probability_text, &probability))
        return fcb_line_error(r, "bad probability '%s': not a finite number", probability_text);
    if (!(probability > 0.0f && probability <= 1.0f))
        return fcb_line_error(r, "probability %s is outside (0, 1]", probability_text);
    label->action = action - 1;
    label->reward = reward;
    label->probability = probability;
    return FCB_OK;
}

static fcb_status add_to_row(void *row, const fcb_line_reader *r, int col, float value)
{
    float *x = row;
    float sum = x[col - 1] + value;
    if (!isfinite(sum))
        return fcb_line_error(r, "feature column %d adds up beyond the float range", col);
    x[col - 1] = sum;
    return FCB_OK;
}

static fcb_status add_example(log_builder *b, const fcb_line_reader *r, const cb_label *label, char *features)
{
    fcb_status st = grow(b, r->path);
    if (st != FCB_OK)
        return st;
    fcb_cb_log *log = b->log;
    float *row = log->x + (size_t)log->n * (size_t)log->dim;
    memset(row, 0, (size_t)log->dim * sizeof *row);
    st = fcb_vw_parse_features(r, features, log->dim, add_to_row, row);
    if (st != FCB_OK)
        return st;
    log->actions[log->n] = label->action;
    log->rewards[log->n] = label->reward;
    log->propensities[log->n] = label->probability;
    log->n++;
    return FCB_OK;
}

static fcb_status parse_line(void *builder, const fcb_line_reader *r)
{
    log_builder *b = builder;
    char *header, *features;
    fcb_status st = fcb_vw_split_line(r, &header, &features);
    if (st != FCB_OK || !header)
        return st;
    char *cursor = header;
    char *text = fcb_next_token(&cursor);
    if (!text) {
        b->log->skipped_unlabelled++;
        return FCB_OK;
    }
    char *extra = fcb_next_token(&cursor);
    if (extra)
        return fcb_line_error(r, "unexpected '%s' after the label '%s': expected one action:cost:probability "
                                 "before '|'", extra, text);
    cb_label label = {0, 0.0f, 0.0f};
    st = parse_label(r, text, b->num_actions, &label);
    if (st != FCB_OK)
        return st;
    return add_example(b, r, &label, features);
}

fcb_status fcb_cb_log_load(const char *path, int dim, int num_actions, fcb_cb_log *log)
{
    if (!path || !log)
        return fcb_fail(FCB_ERR_ARG, "load cb log: NULL argument");
    memset(log, 0, sizeof *log);
    if (dim <= 0)
        return fcb_fail(FCB_ERR_ARG, "load cb log %s: dim = %d must be > 0", path, dim);
    if (num_actions <= 0)
        return fcb_fail(FCB_ERR_ARG, "load cb log %s: num_actions = %d must be > 0", path, num_actions);
    log->dim = dim;
    log_builder b = {log, 0, num_actions};
    fcb_status st = fcb_read_lines(path, parse_line, &b);
    if (st == FCB_OK && log->n == 0)
        st = fcb_fail(FCB_ERR_FORMAT, "%s: no labelled examples (%d unlabelled skipped)", path,
                      log->skipped_unlabelled);
    if (st != FCB_OK)
        fcb_cb_log_free(log);
    return st;
}

void fcb_cb_log_free(fcb_cb_log *log)
{
    free(log->x);
    free(log->actions);
    free(log->propensities);
    free(log->rewards);
    memset(log, 0, sizeof *log);
}

/* ---- writing ---- */

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

fcb_status fcb_cb_log_writer_open(fcb_cb_log_writer *w, const char *path)
{
    memset(w, 0, sizeof *w);
    if (!path)
        return fcb_fail(FCB_ERR_ARG, "cb log writer: NULL path");
    snprintf(w->path, sizeof w->path, "%s", path);
    return fcb_gz_create(path, ends_with(path, ".gz"), &w->file);
}

/* The shortest decimal cost from which the reader's (float)(1 - cost) gives
 * reward back; 0 when even 17 digits do not. */
static int format_cost(float reward, char *buf, size_t size)
{
    double cost = 1.0 - (double)reward;
    for (int digits = 1; digits <= MAX_COST_DIGITS; digits++) {
        snprintf(buf, size, "%.*g", digits, cost);
        float back = 0.0f;
        if (reward_of_cost(strtod(buf, NULL), &back) && back == reward)
            return 1;
    }
    return 0;
}

static fcb_status check_example(const fcb_cb_log_writer *w, int action, float reward, float probability,
                                const float *x, int dim)
{
    if (!w->file || !x || dim <= 0)
        return fcb_fail(FCB_ERR_ARG, "cb log %s: not open, NULL x or dim = %d <= 0", w->path, dim);
    if (action < 0)
        return fcb_fail(FCB_ERR_ARG, "cb log %s: action %d must be >= 0", w->path, action);
    if (!(probability > 0.0f && probability <= 1.0f))
        return fcb_fail(FCB_ERR_ARG, "cb log %s: probability %g is outside (0, 1]", w->path, (double)probability);
    if (!isfinite(reward))
        return fcb_fail(FCB_ERR_ARG, "cb log %s: reward %g is not finite", w->path, (double)reward);
    for (int j = 0; j < dim; j++)
        if (!isfinite(x[j]))
            return fcb_fail(FCB_ERR_ARG, "cb log %s: feature %d is %g", w->path, j + 1, (double)x[j]);
    return FCB_OK;
}

fcb_status fcb_cb_log_writer_add(fcb_cb_log_writer *w, int action, float reward, float probability,
                                 const float *x, int dim)
{
    fcb_status st = check_example(w, action, reward, probability, x, dim);
    if (st != FCB_OK)
        return st;
    char cost[32];
    if (!format_cost(reward, cost, sizeof cost))
        return fcb_fail(FCB_ERR_ARG, "cb log %s: reward %.9g cannot be written exactly as a cost 1 - reward",
                        w->path, (double)reward);
    /* %.9g round-trips a float exactly. */
    int ok = gzprintf(w->file, "%d:%s:%.9g |", action + 1, cost, (double)probability) > 0;
    for (int j = 0; ok && j < dim; j++)
        if (x[j] != 0.0f)
            ok = gzprintf(w->file, " %d:%.9g", j + 1, (double)x[j]) > 0;
    if (!ok || gzputc(w->file, '\n') != '\n')
        return fcb_gz_write_error(w->file, w->path);
    w->lines++;
    return FCB_OK;
}

fcb_status fcb_cb_log_writer_close(fcb_cb_log_writer *w)
{
    return fcb_gz_finish(&w->file, w->path);
}
