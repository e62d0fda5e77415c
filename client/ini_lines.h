#ifndef FEDCB_INI_LINES_H
#define FEDCB_INI_LINES_H

#include <stdio.h>

#include "status.h"

/* libinih (Debian's, built with INI_MAX_LINE 200) reads a line of 200 bytes
 * or more as two lines: the rest becomes a key of its own, or is dropped.
 * Every INI reader calls this first: FCB_ERR_CONFIG naming path and line for
 * a line longer than FCB_INI_MAX_LINE characters, FCB_ERR_IO for a read
 * error; f is rewound on success. */
enum { FCB_INI_MAX_LINE = 198 };

fcb_status fcb_ini_check_lines(FILE *f, const char *path);

#endif
