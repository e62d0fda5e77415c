#ifndef FEDCB_LOG_H
#define FEDCB_LOG_H

#include "status.h"

/* One line on stderr, stamped with UTC time to the millisecond:
 *   2026-12-05T12:34:56.789Z fedcb WHO: message
 * for the events an operator follows (a client registered, a round closed,
 * why a process stopped). Results go to files, never here. */
void fcb_log(const char *who, const char *fmt, ...) FCB_PRINTF(2, 3);

/* 1: fcb_log on the calling thread writes nothing (an agent's learner
 * thread when the application asks for quiet). */
void fcb_log_set_thread_quiet(int quiet);

/* The stamp alone ("2026-12-05T12:34:56.789Z"), into out (at least 25 bytes). */
void fcb_log_timestamp(char *out, unsigned long size);

#endif
