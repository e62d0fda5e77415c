#ifndef FEDCB_STATUS_H
#define FEDCB_STATUS_H

/* fcb_status, fcb_last_error and fcb_status_name are public
 * (include/fedcb/status.h); recording a failure is internal. */
#include "fedcb/status.h"

#if defined(__GNUC__)
#define FCB_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define FCB_PRINTF(fmt_index, first_arg)
#endif

/* Records the message for this thread and returns code, so callers write
 * `return fcb_fail(FCB_ERR_ARG, "k = %d must be positive", k);` */
fcb_status fcb_fail(fcb_status code, const char *fmt, ...) FCB_PRINTF(2, 3);

/* Prefixes the current message with context, e.g. the client id. */
fcb_status fcb_fail_context(fcb_status code, const char *fmt, ...) FCB_PRINTF(2, 3);

#endif
