#include "interaction_log.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gz_file.h"

static const char HEADER[] = "round,client,row,action,propensity,reward";

fcb_status fcb_interaction_writer_open(fcb_interaction_writer *w, const char *path)
{
    memset(w, 0, sizeof *w);
    snprintf(w->path, sizeof w->path, "%s", path);
    fcb_status st = fcb_gz_create(path, 1, &w->file);
    if (st != FCB_OK)
        return st;
    if (gzprintf(w->file, "%s\n", HEADER) <= 0)
        return fcb_gz_write_error(w->file, path);
    return FCB_OK;
}

fcb_status fcb_interaction_writer_add(fcb_interaction_writer *w, int round, int client, const int *actions,
                                      const float *propensities, const float *rewards, int n)
{
    for (int i = 0; i < n; i++) {
        /* %.9g round-trips a float exactly. */
        if (gzprintf(w->file, "%d,%d,%d,%d,%.9g,%.9g\n", round + 1, client, i, actions[i],
                     (double)propensities[i], (double)rewards[i]) <= 0)
            return fcb_gz_write_error(w->file, w->path);
    }
    w->rows += n;
    return FCB_OK;
}

fcb_status fcb_interaction_writer_close(fcb_interaction_writer *w)
{
    return fcb_gz_finish(&w->file, w->path);
}

static int parse_int_field(char **cursor, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(*cursor, &end, 10);
    if (end == *cursor || errno || v < 0 || v > 2147483647L || (*end != ',' && *end != '\0'))
        return 0;
    *out = (int)v;
    *cursor = *end ? end + 1 : end;
    return 1;
}

static int parse_float_field(char **cursor, float *out)
{
    char *end = NULL;
    errno = 0;
    float v = strtof(*cursor, &end);
    if (end == *cursor || errno || !isfinite(v) || (*end != ',' && *end != '\0'))
        return 0;
    *out = v;
    *cursor = *end ? end + 1 : end;
    return 1;
}

static fcb_status parse_row(char *line, int num_actions, fcb_interaction *row, const char *path, long line_no)
{
    char *cursor = line;
    int ok = parse_int_field(&cursor, &row->round) && parse_int_field(&cursor, &row->client) &&
             parse_int_field(&cursor, &row->row) && parse_int_field(&cursor, &row->action) &&
             parse_float_field(&cursor, &row->propensity) && parse_float_field(&cursor, &row->reward) &&
             *cursor == '\0';
    if (!ok)
        return fcb_fail(FCB_ERR_FORMAT, "%s:%ld: expected round,client,row,action,propensity,reward", path,
                        line_no);
    if (row->round < 1)
        return fcb_fail(FCB_ERR_FORMAT, "%s:%ld: round %d must be >= 1", path, line_no, row->round);
    if (row->action >= num_actions)
        return fcb_fail(FCB_ERR_FORMAT, "%s:%ld: action %d outside [0, %d)", path, line_no, row->action,
                        num_actions);
    if (!(row->propensity > 0.0f && row->propensity <= 1.0f))
        return fcb_fail(FCB_ERR_FORMAT, "%s:%ld: propensity %g outside (0, 1]", path, line_no,
                        (double)row->propensity);
    return FCB_OK;
}

static fcb_status append_row(fcb_interaction_log *log, long *capacity, const fcb_interaction *row)
{
    if (log->n == *capacity) {
        long grown = *capacity ? 2 * *capacity : 4096;
        fcb_interaction *rows = realloc(log->rows, (size_t)grown * sizeof *rows);
        if (!rows)
            return fcb_fail(FCB_ERR_NOMEM, "interaction log: out of memory at %ld rows", log->n);
        log->rows = rows;
        *capacity = grown;
    }
    log->rows[log->n++] = *row;
    return FCB_OK;
}

fcb_status fcb_interaction_log_read(const char *path, int num_actions, fcb_interaction_log *log)
{
    memset(log, 0, sizeof *log);
    gzFile file;
    fcb_status st = fcb_gz_open(path, &file);
    if (st != FCB_OK)
        return st;
    char line[256];
    long line_no = 0, capacity = 0;
    while (st == FCB_OK && gzgets(file, line, sizeof line)) {
        line_no++;
        size_t len = strlen(line);
        int err = Z_OK;
        if ((len == 0 || line[len - 1] != '\n') && (gzerror(file, &err), err != Z_OK && err != Z_STREAM_END)) {
            st = fcb_fail(FCB_ERR_FORMAT, "%s:%ld: truncated or damaged gzip data", path, line_no);
            break;
        }
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            st = fcb_fail(FCB_ERR_FORMAT, "%s:%ld: line too long", path, line_no);
            break;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (line_no == 1) {
            if (strcmp(line, HEADER) != 0)
                st = fcb_fail(FCB_ERR_FORMAT, "%s:1: expected the header %s", path, HEADER);
            continue;
        }
        fcb_interaction row;
        st = parse_row(line, num_actions, &row, path, line_no);
        if (st == FCB_OK)
            st = append_row(log, &capacity, &row);
    }
    int err = 0;
    const char *zmsg = gzerror(file, &err);
    if (st == FCB_OK && err != Z_OK && err != Z_STREAM_END)
        st = fcb_fail(FCB_ERR_FORMAT, "%s: %s", path, zmsg);
    gzclose(file);
    if (st == FCB_OK && log->n == 0)
        st = fcb_fail(FCB_ERR_FORMAT, "%s: no logged interactions", path);
    if (st != FCB_OK)
        fcb_interaction_log_free(log);
    return st;
}

void fcb_interaction_log_free(fcb_interaction_log *log)
{
    free(log->rows);
    memset(log, 0, sizeof *log);
}
