#ifndef FEDCB_MODEL_FILE_H
#define FEDCB_MODEL_FILE_H

#include <stddef.h>

#include "status.h"

/* Reads DIR/model.bin (the raw float parameter vector a score-based run
 * writes) into params: it must hold exactly num_params floats and hash to
 * the model_sha256 of DIR/summary.json. */
fcb_status fcb_model_file_load(const char *dir, size_t num_params, float *params);

/* A string field of DIR/summary.json (e.g. "config_hash") into out. */
fcb_status fcb_summary_string(const char *dir, const char *key, char *out, size_t size);

#endif
