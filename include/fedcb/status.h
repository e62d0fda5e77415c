#ifndef FEDCB_PUBLIC_STATUS_H
#define FEDCB_PUBLIC_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Every fallible fedcb function returns an fcb_status. On failure it also
 * records a one-line message (what was wrong and where) for the calling
 * thread, readable with fcb_last_error(). */
typedef enum {
    FCB_OK = 0,
    FCB_ERR_ARG,      /* bad argument: dimension mismatch, out of range, NaN, unknown event */
    FCB_ERR_NOMEM,    /* allocation failed */
    FCB_ERR_IO,       /* file missing or unreadable, disk full, coordinator unreachable */
    FCB_ERR_FORMAT,   /* malformed file or message, foreign or corrupt store */
    FCB_ERR_NUMERIC,  /* numerical failure: not positive definite, overflow */
    FCB_ERR_CONFIG,   /* bad configuration key or value */
    FCB_ERR_STATE     /* operation not valid in the current state */
} fcb_status;

/* The message of the last failure on the calling thread ("" if none). */
const char *fcb_last_error(void);

/* A short name of a status ("invalid argument", ...). */
const char *fcb_status_name(fcb_status code);

#ifdef __cplusplus
}
#endif

#endif
