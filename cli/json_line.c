#include "json_line.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_DEPTH = 15 };

/* ---- reals ------------------------------------------------------------------ */

/* The fast path scales |x| by an exact power of ten (up to 1e13) into
 * [1e9, 1e10) and rounds to an integer: the ten significant digits printf
 * would give. The product is rounded, but rounding is monotone and every
 * half-integer below 2^34 is a double, so the rounded product lies on the
 * same side of each half as the exact one, or on it; only a product exactly
 * on a half (a tie, or a near-tie the rounding reached) is declined, with
 * every magnitude outside [1e-4, 1e9), where %g may switch to an exponent. */
int fcb_json_real_text_fast(double x, char out[32])
{
    static const double power_of_ten[14] = {1e0, 1e1, 1e2, 1e3, 1e4,  1e5,  1e6,
                                            1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13};
    if (x == 0.0) {
        const char *zero = signbit(x) ? "-0.0" : "0.0";
        strcpy(out, zero);
        return (int)strlen(zero);
    }
    double magnitude = fabs(x);
    if (!(magnitude >= 1e-4 && magnitude < 1e9))
        return -1;
    int exponent = (int)floor(log10(magnitude));
    if (exponent < -4 || exponent > 8)
        return -1;
    double scaled = magnitude * power_of_ten[9 - exponent];
    if (scaled < 1e9 || scaled >= 1e10) /* log10 was off by one next to a power of ten */
        return -1;
    double whole = floor(scaled), fraction = scaled - whole;
    if (fraction == 0.5)
        return -1;
    uint64_t digits = (uint64_t)whole + (fraction > 0.5 ? 1u : 0u);
    if (digits >= UINT64_C(10000000000)) /* rounded up to the next power of ten */
        return -1;
    char d[10];
    for (int i = 9; i >= 0; i--) {
        d[i] = (char)('0' + digits % 10);
        digits /= 10;
    }
    int last = 9; /* the last digit %g keeps (it drops trailing zeros) */
    while (last > 0 && d[last] == '0')
        last--;
    char *p = out;
    if (x < 0.0)
        *p++ = '-';
    if (exponent >= 0) {
        for (int i = 0; i <= exponent; i++)
            *p++ = d[i];
        *p++ = '.';
        if (last > exponent) {
            for (int i = exponent + 1; i <= last; i++)
                *p++ = d[i];
        } else {
            *p++ = '0'; /* a whole number: jansson's ".0" */
        }
    } else {
        *p++ = '0';
        *p++ = '.';
        for (int i = 0; i < -exponent - 1; i++)
            *p++ = '0';
        for (int i = 0; i <= last; i++)
            *p++ = d[i];
    }
    *p = '\0';
    return (int)(p - out);
}

int fcb_json_real_text(double x, char out[32])
{
    int length = fcb_json_real_text_fast(x, out);
    if (length >= 0)
        return length;
    length = snprintf(out, 32, "%.10g", x);
    if (strchr(out, '.') == NULL && strchr(out, 'e') == NULL) {
        out[length++] = '.';
        out[length++] = '0';
        out[length] = '\0';
    }
    char *e = strchr(out, 'e');
    if (e != NULL) { /* "1e+05" -> "1e5", "1e-05" -> "1e-5" */
        char *start = e + 1, *end = e + 2;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, (size_t)(out + length + 1 - end));
            length -= (int)(end - start);
        }
    }
    return length;
}

/* ---- the line ----------------------------------------------------------------- */

static int reserve(fcb_json_line *line, size_t more)
{
    if (line->failed)
        return 0;
    if (line->length + more + 1 <= line->capacity)
        return 1;
    size_t capacity = line->capacity ? line->capacity * 2 : 512;
    while (capacity < line->length + more + 1)
        capacity *= 2;
    char *text = realloc(line->text, capacity);
    if (text == NULL) {
        line->failed = 1;
        return 0;
    }
    line->text = text;
    line->capacity = capacity;
    return 1;
}

/* The text is NUL-terminated by fcb_json_line_end; reserve keeps room. */
static void put(fcb_json_line *line, const char *s, size_t n)
{
    if (!reserve(line, n))
        return;
    memcpy(line->text + line->length, s, n);
    line->length += n;
}

static void put_char(fcb_json_line *line, char c)
{
    if (reserve(line, 1))
        line->text[line->length++] = c;
}

/* A string as jansson escapes it: '"', '\\' and control characters. Keys
 * and most values need none and are copied whole. */
static void put_string(fcb_json_line *line, const char *s)
{
    size_t n = 0;
    while (s[n] != '\0' && s[n] != '"' && s[n] != '\\' && (unsigned char)s[n] >= 0x20)
        n++;
    if (s[n] == '\0' && reserve(line, n + 2)) {
        line->text[line->length++] = '"';
        memcpy(line->text + line->length, s, n);
        line->length += n;
        line->text[line->length++] = '"';
        return;
    }
    put_char(line, '"');
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        const char *escape = NULL;
        switch (*c) {
        case '"': escape = "\\\""; break;
        case '\\': escape = "\\\\"; break;
        case '\b': escape = "\\b"; break;
        case '\f': escape = "\\f"; break;
        case '\n': escape = "\\n"; break;
        case '\r': escape = "\\r"; break;
        case '\t': escape = "\\t"; break;
        default: break;
        }
        char code[8];
        if (escape == NULL && *c < 0x20) {
            snprintf(code, sizeof code, "\\u%04X", *c);
            escape = code;
        }
        if (escape != NULL)
            put(line, escape, strlen(escape));
        else
            put_char(line, (char)*c);
    }
    put_char(line, '"');
}

/* The separator before a value, and its key inside an object. */
static void put_key(fcb_json_line *line, const char *key)
{
    if (line->depth < 1) {
        line->failed = 2;
        return;
    }
    if (line->comma[line->depth])
        put_char(line, ',');
    line->comma[line->depth] = 1;
    if (key != NULL) {
        put_string(line, key);
        put_char(line, ':');
    }
}

static void put_integer(fcb_json_line *line, long long value)
{
    char digits[24];
    int n = 0;
    unsigned long long magnitude = value < 0 ? 0ULL - (unsigned long long)value : (unsigned long long)value;
    do {
        digits[sizeof digits - 1 - n++] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude > 0);
    if (value < 0)
        digits[sizeof digits - 1 - n++] = '-';
    put(line, digits + sizeof digits - n, (size_t)n);
}

void fcb_json_line_free(fcb_json_line *line)
{
    free(line->text);
    memset(line, 0, sizeof *line);
}

void fcb_json_line_begin(fcb_json_line *line)
{
    line->length = 0;
    line->failed = 0;
    line->depth = 1;
    line->comma[1] = 0;
    put_char(line, '{');
}

void fcb_json_line_int(fcb_json_line *line, const char *key, long long value)
{
    put_key(line, key);
    put_integer(line, value);
}

void fcb_json_line_real(fcb_json_line *line, const char *key, double value)
{
    put_key(line, key);
    if (!isfinite(value)) {
        put(line, "null", 4);
        return;
    }
    char text[32];
    int n = fcb_json_real_text(value, text);
    put(line, text, (size_t)n);
}

void fcb_json_line_string(fcb_json_line *line, const char *key, const char *value)
{
    put_key(line, key);
    put_string(line, value);
}

void fcb_json_line_null(fcb_json_line *line, const char *key)
{
    put_key(line, key);
    put(line, "null", 4);
}

void fcb_json_line_open(fcb_json_line *line, const char *key, char bracket)
{
    put_key(line, key);
    if (line->depth >= MAX_DEPTH || (bracket != '{' && bracket != '[')) {
        line->failed = 2;
        return;
    }
    put_char(line, bracket);
    line->comma[++line->depth] = 0;
}

void fcb_json_line_close(fcb_json_line *line, char bracket)
{
    if (line->depth < 2) {
        line->failed = 2;
        return;
    }
    put_char(line, bracket == '{' ? '}' : ']');
    line->depth--;
}

void fcb_json_line_int_array(fcb_json_line *line, const char *key, const int *values, int n)
{
    fcb_json_line_open(line, key, '[');
    for (int i = 0; i < n; i++)
        fcb_json_line_int(line, NULL, values[i]);
    fcb_json_line_close(line, '[');
}

fcb_status fcb_json_line_end(fcb_json_line *line)
{
    if (line->depth != 1 && !line->failed)
        return fcb_fail(FCB_ERR_STATE, "metrics line: %d objects or arrays left open", line->depth - 1);
    put(line, "}\n", 2);
    if (line->text != NULL)
        line->text[line->length] = '\0';
    line->depth = 0;
    if (line->failed == 2)
        return fcb_fail(FCB_ERR_STATE, "metrics line: unbalanced or more than %d nested objects and arrays",
                        MAX_DEPTH - 1);
    if (line->failed)
        return fcb_fail(FCB_ERR_NOMEM, "metrics line: out of memory (%zu bytes)", line->length);
    return FCB_OK;
}
