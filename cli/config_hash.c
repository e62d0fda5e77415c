#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "config_file.h"

static int excluded(const char *section, const char *key)
{
    if (strcmp(section, "network") == 0 || strcmp(section, "client") == 0)
        return 1;
    /* A cache of the parsed data never changes the rows a run sees. */
    if (strcmp(section, "data") == 0 && strcmp(key, "cache_dir") == 0)
        return 1;
    /* The coordinator alone decides how many rounds run, when it evaluates and
     * how it times them, and whether simulate keeps a log; none of these
     * change what a client computes. */
    static const char *const coordinator_only[] = {"rounds", "eval_every", "threads", "wall_clock",
                                                   "log_interactions",
                                                   "log_vw"};
    if (strcmp(section, "run") != 0)
        return 0;
    for (size_t i = 0; i < sizeof coordinator_only / sizeof coordinator_only[0]; i++)
        if (strcmp(key, coordinator_only[i]) == 0)
            return 1;
    return 0;
}

static void hash_key(void *user, const char *section, const char *key, const char *value)
{
    if (excluded(section, key))
        return;
    EVP_MD_CTX *ctx = user;
    EVP_DigestUpdate(ctx, section, strlen(section) + 1);
    EVP_DigestUpdate(ctx, key, strlen(key) + 1);
    EVP_DigestUpdate(ctx, value, strlen(value) + 1);
}

void fcb_config_hash(const fcb_config *config, char hex[65])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    hex[0] = '\0';
    if (!ctx)
        return;
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1) {
        fcb_config_visit(config, hash_key, ctx);
        EVP_DigestFinal_ex(ctx, digest, &len);
    }
    EVP_MD_CTX_free(ctx);
    for (unsigned int i = 0; i < len && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}
