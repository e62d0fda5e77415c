#include "process.h"

#include <cblas.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "a signal handler may only set a lock-free atomic");
atomic_int fcb_stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    atomic_store(&fcb_stop_requested, 1);
}

void fcb_process_setup(int polls_stop)
{
    openblas_set_num_threads(1);
    /* glibc otherwise serves each multi-MB message buffer with a fresh mmap
     * (or trims it back), which costs thousands of page faults per message. */
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    setenv("GRPC_VERBOSITY", "ERROR", 0);
    signal(SIGPIPE, SIG_IGN);
    if (!polls_stop)
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}
