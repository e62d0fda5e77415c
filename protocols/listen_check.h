#ifndef FEDCB_LISTEN_CHECK_H
#define FEDCB_LISTEN_CHECK_H

#include <stddef.h>

#include "status.h"

/* Why a server cannot listen on "HOST:PORT", found with a plain socket:
 * gRPC only says that it could not. Fails with a one-line cause (the port
 * is in use, the address is not this machine's, the port needs privileges,
 * the name does not resolve), or returns FCB_OK when a plain bind works. */
fcb_status fcb_listen_check(const char *listen);

#endif
