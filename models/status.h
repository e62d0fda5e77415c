#ifndef FEDCB_STATUS_H
#define FEDCB_STATUS_H

/* Every fallible fedcb function returns an fcb_status. On failure it also
 * records a one-line message (what was wrong and where) for the calling
 * thread, readable with fcb_last_error(). */
typedef enum {
    FCB_OK = 0,
    FCB_ERR_ARG,      /* bad argument: dimension mismatch, out of range, NaN */
    FCB_ERR_NOMEM,    /* allocation failed */
    FCB_ERR_IO,       /* file missing or unreadable */
    FCB_ERR_FORMAT,   /* malformed file or message */
    FCB_ERR_NUMERIC,  /* numerical failure: not positive definite, overflow */
    FCB_ERR_CONFIG,   /* bad configuration key or value */
    FCB_ERR_STATE     /* operation not valid in the current state */
} fcb_status;

#if defined(__GNUC__)
#define FCB_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define FCB_PRINTF(fmt_index, first_arg)
#endif

/* Records the message for this thread and returns code, so callers write
 * `return fcb_fail(FCB_ERR_ARG, "k = %d must be positive", k);` */
fcb_status fcb_fail(fcb_status code, const char *fmt, ...) FCB_PRINTF(2, 3);

/* The message of the last failure on this thread ("" if none). */
const char *fcb_last_error(void);

/* Prefixes the current message with context, e.g. the client id. */
fcb_status fcb_fail_context(fcb_status code, const char *fmt, ...) FCB_PRINTF(2, 3);

const char *fcb_status_name(fcb_status code);

#endif
