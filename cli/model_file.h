#ifndef FEDCB_MODEL_FILE_H
#define FEDCB_MODEL_FILE_H

#include <stddef.h>

#include "status.h"

/* A model file: a parameter vector as raw little-endian floats, nothing
 * else. read: exactly num_params finite floats (the message names the
 * path and the expected size). write: via a temporary file and rename. */
fcb_status fcb_model_file_read(const char *path, size_t num_params, float *params);
fcb_status fcb_model_file_write(const char *path, const float *params, size_t num_params);

/* Reads DIR/model.bin (the raw float parameter vector a score-based run
 * writes) into params: it must hold exactly num_params floats and hash to
 * the model_sha256 of DIR/summary.json. */
fcb_status fcb_model_file_load(const char *dir, size_t num_params, float *params);

/* A string field of DIR/summary.json (e.g. "config_hash") into out. */
fcb_status fcb_summary_string(const char *dir, const char *key, char *out, size_t size);

#endif
