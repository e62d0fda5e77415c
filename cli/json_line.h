#ifndef FEDCB_JSON_LINE_H
#define FEDCB_JSON_LINE_H

#include <stddef.h>

#include "status.h"

/* One compact JSON object written straight into a reusable buffer: the
 * metrics.jsonl line of a round. The bytes are those jansson's json_dumpb
 * with JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10) writes
 * for the same object (tests/test_json_line.c builds both and compares), at
 * a fraction of the cost: no objects, no allocation once the buffer has
 * grown, and reals in the common range formatted without printf. Keys are
 * plain ASCII names. A non-finite real is written as null (jansson would
 * leave the key out). */
typedef struct {
    char *text;               /* length bytes; NUL-terminated after fcb_json_line_end */
    size_t length;
    size_t capacity;
    int depth;                /* open objects and arrays */
    unsigned char comma[16];  /* per depth: a value was written, the next needs a comma */
    int failed;               /* 1: an append ran out of memory; 2: unbalanced or too deep nesting */
} fcb_json_line;

void fcb_json_line_free(fcb_json_line *line);
/* Empties the line and opens its object. */
void fcb_json_line_begin(fcb_json_line *line);
void fcb_json_line_int(fcb_json_line *line, const char *key, long long value);
void fcb_json_line_real(fcb_json_line *line, const char *key, double value);
void fcb_json_line_string(fcb_json_line *line, const char *key, const char *value);
void fcb_json_line_null(fcb_json_line *line, const char *key);
void fcb_json_line_int_array(fcb_json_line *line, const char *key, const int *values, int n);
/* Opens an object ('{') or array ('['), under key inside an object, or as
 * an element (key NULL) inside an array; close with the matching bracket. */
void fcb_json_line_open(fcb_json_line *line, const char *key, char bracket);
void fcb_json_line_close(fcb_json_line *line, char bracket);
/* Closes the top object and ends the line with '\n'; FCB_ERR_NOMEM when an
 * append failed, FCB_ERR_STATE when objects or arrays are still open. */
fcb_status fcb_json_line_end(fcb_json_line *line);

/* A real as jansson writes it at precision 10: "%.10g", then ".0" when the
 * text has neither '.' nor 'e', and the exponent without '+' or leading
 * zeros. x must be finite. out holds 32 chars; returns the length. */
int fcb_json_real_text(double x, char out[32]);
/* The printf-free path alone: -1 when it cannot decide exactly (magnitude
 * outside [1e-4, 1e9), near a power of ten or a rounding tie), which
 * fcb_json_real_text then hands to snprintf. */
int fcb_json_real_text_fast(double x, char out[32]);

#endif
