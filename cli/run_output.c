#include "run_output.h"

#include <errno.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model_file.h"
#include "output_file.h"

enum { JSON_FLAGS = JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10) };

fcb_status fcb_make_dirs(const char *dir)
{
    char path[FCB_CONFIG_PATH_MAX];
    if (strlen(dir) >= sizeof path)
        return fcb_fail(FCB_ERR_ARG, "output directory path is too long");
    strcpy(path, dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return fcb_fail(FCB_ERR_IO, "cannot create %s: %s", path, strerror(errno));
        *p = '/';
    }
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return fcb_fail(FCB_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    return FCB_OK;
}

/* Opens dir/metrics.jsonl keeping its first keep_rounds lines (0: empty). */
static fcb_status open_metrics(fcb_run_output *out, const char *dir, int keep_rounds)
{
    memset(out, 0, sizeof *out);
    fcb_status st = fcb_make_dirs(dir);
    if (st != FCB_OK)
        return st;
    snprintf(out->dir, sizeof out->dir, "%s", dir);
    char path[FCB_CONFIG_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    out->metrics = keep_rounds > 0 ? fopen(path, "r+") : fopen(path, "w");
    if (!out->metrics)
        return fcb_fail(FCB_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    setvbuf(out->metrics, NULL, _IOFBF, 1 << 16);
    int lines = 0, ch;
    while (lines < keep_rounds && (ch = fgetc(out->metrics)) != EOF)
        if (ch == '\n')
            lines++;
    if (lines < keep_rounds)
        return fcb_fail(FCB_ERR_FORMAT, "%s has %d rounds, the checkpoint %d", path, lines, keep_rounds);
    long keep = ftell(out->metrics);
    if (keep < 0 || fflush(out->metrics) != 0 || ftruncate(fileno(out->metrics), keep) != 0 ||
        fseek(out->metrics, keep, SEEK_SET) != 0)
        return fcb_fail(FCB_ERR_IO, "cannot truncate %s: %s", path, strerror(errno));
    return FCB_OK;
}

fcb_status fcb_run_output_open(fcb_run_output *out, const char *dir)
{
    return open_metrics(out, dir, 0);
}

fcb_status fcb_run_output_resume(fcb_run_output *out, const char *dir, int keep_rounds)
{
    return open_metrics(out, dir, keep_rounds);
}

fcb_status fcb_run_output_round(fcb_run_output *out, const char *text, size_t length)
{
    if (!out->metrics)
        return FCB_OK;
    if (fwrite(text, 1, length, out->metrics) != length)
        return fcb_fail(FCB_ERR_IO, "cannot write %s/metrics.jsonl: %s", out->dir, strerror(errno));
    return out->flush_each_round ? fcb_run_output_flush(out) : FCB_OK;
}

fcb_status fcb_run_output_flush(fcb_run_output *out)
{
    if (out->metrics && (fflush(out->metrics) != 0 || ferror(out->metrics)))
        return fcb_fail(FCB_ERR_IO, "cannot write %s/metrics.jsonl: %s", out->dir, strerror(errno));
    return FCB_OK;
}

fcb_status fcb_run_output_summary(fcb_run_output *out, const json_t *summary)
{
    if (!out->dir[0])
        return FCB_OK;
    char path[FCB_CONFIG_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/summary.json", out->dir);
    fcb_output_file file;
    fcb_status st = fcb_output_open(&file, path, "w");
    if (st != FCB_OK)
        return st;
    json_dumpf(summary, file.f, (JSON_FLAGS & ~JSON_COMPACT) | JSON_INDENT(2));
    return fcb_output_commit(&file);
}

fcb_status fcb_run_output_model(fcb_run_output *out, const float *params, size_t num_params)
{
    if (!out->dir[0])
        return FCB_OK;
    char path[FCB_CONFIG_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/model.bin", out->dir);
    return fcb_model_file_write(path, params, num_params);
}

void fcb_run_output_close(fcb_run_output *out)
{
    if (out->metrics)
        fclose(out->metrics);
    out->metrics = NULL;
}

static void add_config_entry(void *user, const char *section, const char *key, const char *value)
{
    json_t *root = user;
    json_t *sec = json_object_get(root, section);
    if (!sec) {
        sec = json_object();
        json_object_set_new(root, section, sec);
    }
    json_object_set_new(sec, key, json_string(value));
}

json_t *fcb_config_to_json(const fcb_config *config)
{
    json_t *root = json_object();
    fcb_config_visit(config, add_config_entry, root);
    return root;
}
