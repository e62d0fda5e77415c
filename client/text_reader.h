#ifndef FEDCB_TEXT_READER_H
#define FEDCB_TEXT_READER_H

#include <stddef.h>
#include <zlib.h>

#include "status.h"

/* Line-oriented text files, gzip-compressed or plain (zlib passes plain
 * files through), and the tokens, numbers and VW features in their lines.
 * Parse errors read "path:line: what". */

typedef struct {
    gzFile file;
    const char *path; /* the caller's; must outlive the reader */
    char *line;       /* the line last read, '\n' included; callers may cut it up in place */
    int number;       /* 1-based number of the line last read */
    /* Lines are read in chunks of 1 MiB (more for a longer line) and handed
     * out in place: line points into buffer, NUL-terminated over the next
     * line's first byte, which is put back on the next call. */
    char *buffer;     /* capacity + 1 bytes */
    size_t capacity;
    size_t start;     /* unread bytes are buffer[start, filled) */
    size_t filled;
    size_t held_at;   /* where the NUL stands in for held, or SIZE_MAX */
    char held;
    int at_end;       /* the file has been read to its end */
} fcb_line_reader;

fcb_status fcb_line_reader_open(fcb_line_reader *r, const char *path);
/* Reads the next whole line (any length) into r->line; *more = 0 at the end. */
fcb_status fcb_line_reader_next(fcb_line_reader *r, int *more);
/* Safe after a failed open. */
void fcb_line_reader_close(fcb_line_reader *r);

/* Calls parse(context, r) on each line of path in turn (r->line, numbered
 * r->number), stopping at the first failure. */
typedef fcb_status (*fcb_line_parser)(void *context, const fcb_line_reader *r);
fcb_status fcb_read_lines(const char *path, fcb_line_parser parse, void *context);

/* Fails with FCB_ERR_FORMAT and "path:line: what" for the line last read. */
fcb_status fcb_line_error(const fcb_line_reader *r, const char *fmt, ...) FCB_PRINTF(2, 3);

/* ---- tokens and numbers ---- */

int fcb_is_space(char c);
/* Only whitespace, or a '#' comment after optional whitespace. */
int fcb_is_blank_or_comment(const char *s);
/* The next whitespace-separated token of *cursor, NUL-terminated in place;
 * NULL at the end. */
char *fcb_next_token(char **cursor);

/* Each returns 1 and sets *out when all of s is the number, 0 otherwise. */
int fcb_parse_int(const char *s, int *out);
/* A finite double; 0 for anything else (including nan and inf). */
int fcb_parse_double(const char *s, double *out);
/* A finite float: as fcb_parse_double, also 0 for what rounds to inf in
 * float ("3.40282347e+38", FLT_MAX as %.9g writes it, is FLT_MAX). */
int fcb_parse_float(const char *s, float *out);
/* An integer label, also written as an integral decimal ("3.0"). */
int fcb_parse_label(const char *s, int *out);

/* ---- VW features ---- */

/* Splits a VW line in place at its first '|': *label is the text before it,
 * *features the text after it. Both are NULL for a blank or '#' comment
 * line. Fails when the line has no '|'. */
fcb_status fcb_vw_split_line(const fcb_line_reader *r, char **label, char **features);

/* Checks a 1-based column as written in the file: >= 1, and <= dim when
 * dim > 0. */
fcb_status fcb_check_column(const fcb_line_reader *r, const char *token, int col, int dim);

/* Receives one feature of the line r last read: its 1-based column and its
 * value; r is there for error messages. */
typedef fcb_status (*fcb_feature_sink)(void *sink, const fcb_line_reader *r, int col, float value);

/* Parses the text after the first '|' of a VW line, cutting it up in
 * place: sections `[namespace[:weight]] name[:value] ...` separated by '|'
 * (a section that starts with whitespace is the default namespace). The
 * value defaults to 1 and is multiplied by the namespace weight. A name
 * that is an integer is its 1-based column; any other name is hashed
 * (32-bit FNV-1a of "namespace^name", or of "name" in the default
 * namespace) into one of dim columns, so dim = 0 (no bound) allows only
 * numeric names. Each feature goes to add(sink, r, col, value) in order. */
fcb_status fcb_vw_parse_features(const fcb_line_reader *r, char *features, int dim, fcb_feature_sink add,
                                 void *sink);

#endif
