#include "model_file.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "run_output.h"
#include "output_file.h"

enum { MODEL_PATH_MAX = FCB_CONFIG_PATH_MAX + 32 };

fcb_status fcb_summary_string(const char *dir, const char *key, char *out, size_t size)
{
    char path[MODEL_PATH_MAX];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    json_error_t error;
    json_t *j = json_load_file(path, 0, &error);
    if (!j)
        return fcb_fail(FCB_ERR_IO, "%s: %s", path, error.text);
    const char *value = json_string_value(json_object_get(j, key));
    fcb_status st = FCB_OK;
    if (!value)
        st = fcb_fail(FCB_ERR_FORMAT, "%s: no \"%s\" (made by an older fedcb?)", path, key);
    else
        snprintf(out, size, "%s", value);
    json_decref(j);
    return st;
}

fcb_status fcb_model_file_read(const char *path, size_t num_params, float *params)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fcb_fail(FCB_ERR_IO, "cannot open %s: %s (score-based runs write model.bin; LinUCB and Thompson "
                                    "runs do not)", path, strerror(errno));
    size_t got = fread(params, sizeof(float), num_params, f);
    int extra = fgetc(f) != EOF;
    fclose(f);
    if (got != num_params || extra)
        return fcb_fail(FCB_ERR_FORMAT, "%s: not a model of this config's shape (%zu parameters, %zu bytes expected)",
                        path, num_params, num_params * sizeof(float));
    for (size_t i = 0; i < num_params; i++)
        if (!isfinite(params[i]))
            return fcb_fail(FCB_ERR_FORMAT, "%s: parameter %zu is not finite", path, i);
    return FCB_OK;
}

fcb_status fcb_model_file_write(const char *path, const float *params, size_t num_params)
{
    fcb_output_file out;
    fcb_status st = fcb_output_open(&out, path, "wb");
    if (st != FCB_OK)
        return st;
    fwrite(params, sizeof(float), num_params, out.f);
    return fcb_output_commit(&out);
}

/* model.bin must hold exactly num_params floats and match the model_sha256
 * of the summary.json beside it. */
fcb_status fcb_model_file_load(const char *dir, size_t num_params, float *params)
{
    char path[MODEL_PATH_MAX];
    snprintf(path, sizeof path, "%s/model.bin", dir);
    fcb_status st = fcb_model_file_read(path, num_params, params);
    if (st != FCB_OK)
        return st;
    char expected[128], actual[65];
    st = fcb_summary_string(dir, "model_sha256", expected, sizeof expected);
    if (st == FCB_OK)
        st = fcb_sha256_hex(params, num_params * sizeof(float), actual);
    if (st == FCB_OK && strcmp(expected, actual) != 0)
        st = fcb_fail(FCB_ERR_FORMAT, "%s: SHA-256 %.12s differs from model_sha256 %.12s in its summary.json",
                      path, actual, expected);
    return st;
}
