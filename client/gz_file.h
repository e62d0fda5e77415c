#ifndef FEDCB_GZ_FILE_H
#define FEDCB_GZ_FILE_H

#include <zlib.h>

#include "status.h"

/* Opens a gzip or plain file for reading with a large zlib buffer; the
 * error names the path. */
fcb_status fcb_gz_open(const char *path, gzFile *file);

/* Creates (truncates) path for writing through zlib: gzip-compressed when
 * compress is non-zero, plain text otherwise. The error names the path. */
fcb_status fcb_gz_create(const char *path, int compress, gzFile *file);

/* Closes a file opened for writing and sets *file to NULL; fails when the
 * data could not all be written. Does nothing when *file is NULL. */
fcb_status fcb_gz_finish(gzFile *file, const char *path);

/* The status of a failed write to a file open for writing: zlib's reason,
 * or the system's (No space left on device, ...) when zlib's is a system
 * error. */
fcb_status fcb_gz_write_error(gzFile file, const char *path);

#endif
