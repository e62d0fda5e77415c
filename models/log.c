#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

void fcb_log_timestamp(char *out, unsigned long size)
{
    struct timespec ts;
    struct tm utc;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &utc);
    char seconds[32];
    strftime(seconds, sizeof seconds, "%Y-%m-%dT%H:%M:%S", &utc);
    int millis = (int)(ts.tv_nsec / 1000000L) % 1000;
    snprintf(out, size, "%.20s.%03dZ", seconds, millis);
}

/* Per thread: an embedding application may silence the threads a library
 * starts without touching any other thread's logging. */
static _Thread_local int thread_quiet;

void fcb_log_set_thread_quiet(int quiet)
{
    thread_quiet = quiet;
}

void fcb_log(const char *who, const char *fmt, ...)
{
    if (thread_quiet)
        return;
    char stamp[40], message[1024];
    fcb_log_timestamp(stamp, sizeof stamp);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    /* One fprintf, so lines of concurrent threads do not interleave. */
    fprintf(stderr, "%s fedcb %s: %s\n", stamp, who, message);
}
