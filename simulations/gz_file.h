#ifndef FEDCB_GZ_FILE_H
#define FEDCB_GZ_FILE_H

#include <zlib.h>

#include "status.h"

/* Opens a gzip or plain file for reading with a large zlib buffer; the
 * error names the path. */
fcb_status fcb_gz_open(const char *path, gzFile *file);

#endif
