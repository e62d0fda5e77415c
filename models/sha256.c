#include "sha256.h"

#include <openssl/evp.h>
#include <stdio.h>

fcb_status fcb_sha256_hex(const void *data, size_t n, char hex[65])
{
    unsigned char digest[32];
    unsigned int len = 0;
    if (EVP_Digest(data, n, digest, &len, EVP_sha256(), NULL) != 1 || len != 32)
        return fcb_fail(FCB_ERR_STATE, "sha256 failed");
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return FCB_OK;
}
