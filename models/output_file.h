#ifndef FEDCB_OUTPUT_FILE_H
#define FEDCB_OUTPUT_FILE_H

#include <stdio.h>

#include "status.h"

/* A result file written whole or not at all: the bytes go to PATH.tmp, and
 * fcb_output_commit renames it over PATH only when every write, the flush
 * and the close succeeded. A reader (or a resumed bench, which trusts a
 * summary.json it finds) never sees half a file, and every failure names
 * the file and the system's reason (No space left on device, Read-only file
 * system, File too large, ...). */

enum { FCB_OUTPUT_PATH_MAX = 4096 };

typedef struct {
    FILE *f;
    char path[FCB_OUTPUT_PATH_MAX];
    char tmp[FCB_OUTPUT_PATH_MAX + 8];
} fcb_output_file;

/* mode: "w" or "wb". */
fcb_status fcb_output_open(fcb_output_file *o, const char *path, const char *mode);

/* Flushes, closes and renames into place; on any failure removes the
 * temporary file and leaves an earlier PATH as it was. */
fcb_status fcb_output_commit(fcb_output_file *o);

/* Closes and removes the temporary file (after a failed write elsewhere). */
void fcb_output_abandon(fcb_output_file *o);

/* The status of a failed write to path, with errno's reason. */
fcb_status fcb_output_write_error(const char *path);

#endif
