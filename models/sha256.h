#ifndef FEDCB_SHA256_H
#define FEDCB_SHA256_H

#include <stddef.h>

#include "status.h"

/* Lower-case hex SHA-256 of n bytes (OpenSSL). */
fcb_status fcb_sha256_hex(const void *data, size_t n, char hex[65]);

#endif
