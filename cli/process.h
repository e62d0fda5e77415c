#ifndef FEDCB_PROCESS_H
#define FEDCB_PROCESS_H

#include <stdatomic.h>

/* Everything process-wide the fedcb program sets, once, at start (the
 * libraries never do): one OpenBLAS thread (parallelism comes from the
 * client pool, and a fixed summation order keeps results bit-exact),
 * malloc thresholds for multi-megabyte messages, gRPC's log verbosity
 * unless the environment sets it, SIGPIPE ignored, and, for the commands
 * that poll it (polls_stop: the coordinator and the client), SIGINT/SIGTERM
 * turned into a stop request. The other commands keep the default action, so
 * Ctrl-C ends a simulate or a bench at once (a bench resumes from its
 * finished cells). */
void fcb_process_setup(int polls_stop);

/* Set by SIGINT or SIGTERM, in whichever thread the signal lands (gRPC
 * runs threads of its own); read by the thread that polls it. A lock-free
 * atomic, not a volatile sig_atomic_t: both a handler and another thread
 * may touch it. */
extern atomic_int fcb_stop_requested;

#endif
