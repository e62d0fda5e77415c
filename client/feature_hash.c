#include "feature_hash.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rotl32(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

uint32_t fcb_murmur3_32(const void *data, size_t len, uint32_t seed)
{
    const uint8_t *bytes = data;
    const uint32_t c1 = 0xcc9e2d51u, c2 = 0x1b873593u;
    uint32_t h = seed;
    size_t blocks = len / 4;
    for (size_t i = 0; i < blocks; i++) {
        uint32_t k;
        memcpy(&k, bytes + 4 * i, 4); /* little-endian hosts, as VW */
        k *= c1;
        k = rotl32(k, 15);
        k *= c2;
        h ^= k;
        h = rotl32(h, 13);
        h = h * 5 + 0xe6546b64u;
    }
    const uint8_t *tail = bytes + 4 * blocks;
    uint32_t k = 0;
    switch (len & 3) {
    case 3: k ^= (uint32_t)tail[2] << 16; /* fall through */
    case 2: k ^= (uint32_t)tail[1] << 8;  /* fall through */
    case 1:
        k ^= tail[0];
        k *= c1;
        k = rotl32(k, 15);
        k *= c2;
        h ^= k;
    }
    h ^= (uint32_t)len;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* One token [start, end): its hashed index and value. */
static fcb_status add_token(const char *start, const char *end, uint32_t seed, float *x, int dim)
{
    const char *colon = memchr(start, ':', (size_t)(end - start));
    size_t name_len = colon ? (size_t)(colon - start) : (size_t)(end - start);
    float value = 1.0f;
    if (colon) {
        char number[64];
        size_t n = (size_t)(end - colon - 1);
        if (n == 0 || n >= sizeof number)
            return fcb_fail(FCB_ERR_ARG, "feature '%.*s': expected name:number", (int)(end - start), start);
        memcpy(number, colon + 1, n);
        number[n] = '\0';
        char *rest;
        double v = strtod(number, &rest);
        if (*rest != '\0' || !isfinite(v))
            return fcb_fail(FCB_ERR_ARG, "feature '%.*s': '%s' is not a finite number", (int)(end - start), start,
                            number);
        value = (float)v;
    }
    if (name_len == 0)
        return fcb_fail(FCB_ERR_ARG, "feature '%.*s' has no name", (int)(end - start), start);
    x[fcb_murmur3_32(start, name_len, seed) % (uint32_t)dim] += value;
    return FCB_OK;
}

fcb_status fcb_hash_features(const char *text, uint32_t seed, float *x, int dim)
{
    if (!text || dim < 1)
        return fcb_fail(FCB_ERR_ARG, "named features: no text or width %d", dim);
    memset(x, 0, (size_t)dim * sizeof(float));
    const char *p = text;
    for (;;) {
        while (is_space(*p))
            p++;
        if (*p == '\0')
            return FCB_OK;
        const char *start = p;
        while (*p != '\0' && !is_space(*p))
            p++;
        fcb_status st = add_token(start, p, seed, x, dim);
        if (st != FCB_OK)
            return st;
    }
}
