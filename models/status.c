#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { FCB_ERROR_CAPACITY = 1024 };

static _Thread_local char last_error[FCB_ERROR_CAPACITY];

fcb_status fcb_fail(fcb_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return code;
}

fcb_status fcb_fail_context(fcb_status code, const char *fmt, ...)
{
    char previous[FCB_ERROR_CAPACITY];
    char prefix[FCB_ERROR_CAPACITY];
    memcpy(previous, last_error, sizeof previous);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* Truncation of an over-long message is intended. */
    size_t used = strlen(prefix);
    memcpy(last_error, prefix, used + 1);
    if (used + 2 < sizeof last_error) {
        memcpy(last_error + used, ": ", 3);
        used += 2;
        size_t room = sizeof last_error - used - 1;
        size_t len = strlen(previous);
        if (len > room)
            len = room;
        memcpy(last_error + used, previous, len);
        last_error[used + len] = '\0';
    }
    return code;
}

const char *fcb_last_error(void)
{
    return last_error;
}

const char *fcb_status_name(fcb_status code)
{
    switch (code) {
    case FCB_OK: return "ok";
    case FCB_ERR_ARG: return "invalid argument";
    case FCB_ERR_NOMEM: return "out of memory";
    case FCB_ERR_IO: return "i/o error";
    case FCB_ERR_FORMAT: return "malformed input";
    case FCB_ERR_NUMERIC: return "numerical failure";
    case FCB_ERR_CONFIG: return "bad configuration";
    case FCB_ERR_STATE: return "invalid state";
    }
    return "unknown error";
}
