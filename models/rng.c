#include "rng.h"

#include <math.h>

enum { PHILOX_ROUNDS = 10 };

static const double FCB_TWO_PI = 6.283185307179586476925286766559;

static const uint32_t PHILOX_M0 = 0xD2511F53u;
static const uint32_t PHILOX_M1 = 0xCD9E8D57u;
static const uint32_t PHILOX_W0 = 0x9E3779B9u;
static const uint32_t PHILOX_W1 = 0xBB67AE85u;

static void philox_round(uint32_t ctr[4], const uint32_t key[2])
{
    uint64_t p0 = (uint64_t)PHILOX_M0 * ctr[0];
    uint64_t p1 = (uint64_t)PHILOX_M1 * ctr[2];
    uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    uint32_t next[4] = {hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0};
    ctr[0] = next[0];
    ctr[1] = next[1];
    ctr[2] = next[2];
    ctr[3] = next[3];
}

static void philox_block(const uint32_t counter[4], const uint32_t key_in[2], uint32_t out[4])
{
    uint32_t key[2] = {key_in[0], key_in[1]};
    for (int i = 0; i < 4; i++)
        out[i] = counter[i];
    for (int r = 0; r < PHILOX_ROUNDS; r++) {
        philox_round(out, key);
        key[0] += PHILOX_W0;
        key[1] += PHILOX_W1;
    }
}

void fcb_rng_init(fcb_rng *rng, uint64_t seed, uint32_t purpose, uint32_t client, uint32_t round)
{
    rng->key[0] = (uint32_t)seed;
    rng->key[1] = (uint32_t)(seed >> 32);
    rng->counter[0] = 0;
    rng->counter[1] = purpose;
    rng->counter[2] = client;
    rng->counter[3] = round;
    rng->used = 4;
}

uint32_t fcb_rng_u32(fcb_rng *rng)
{
    if (rng->used == 4) {
        philox_block(rng->counter, rng->key, rng->block);
        rng->counter[0]++;
        rng->used = 0;
    }
    return rng->block[rng->used++];
}

uint64_t fcb_rng_u64(fcb_rng *rng)
{
    uint64_t hi = fcb_rng_u32(rng);
    return (hi << 32) | fcb_rng_u32(rng);
}

double fcb_rng_uniform(fcb_rng *rng)
{
    return (double)(fcb_rng_u64(rng) >> 11) * 0x1.0p-53;
}

uint32_t fcb_rng_below(fcb_rng *rng, uint32_t n)
{
    /* Lemire's multiply-and-reject: unbiased and usually one draw. */
    uint64_t m = (uint64_t)fcb_rng_u32(rng) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (uint64_t)fcb_rng_u32(rng) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

double fcb_rng_normal(fcb_rng *rng)
{
    /* Box-Muller without caching, so a draw never depends on an earlier one. */
    double u1 = 1.0 - fcb_rng_uniform(rng); /* (0, 1] */
    double u2 = fcb_rng_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(FCB_TWO_PI * u2);
}

double fcb_rng_gamma(fcb_rng *rng, double shape)
{
    if (shape < 1.0) {
        /* Boost: Gamma(a) = Gamma(a + 1) * U^(1/a). */
        double u = 1.0 - fcb_rng_uniform(rng);
        return fcb_rng_gamma(rng, shape + 1.0) * pow(u, 1.0 / shape);
    }
    double d = shape - 1.0 / 3.0;
    double c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double z = fcb_rng_normal(rng);
        double v = 1.0 + c * z;
        if (v <= 0.0)
            continue;
        v = v * v * v;
        double u = 1.0 - fcb_rng_uniform(rng);
        if (u < 1.0 - 0.0331 * z * z * z * z)
            return d * v;
        if (log(u) < 0.5 * z * z + d * (1.0 - v + log(v)))
            return d * v;
    }
}

void fcb_rng_shuffle_int(fcb_rng *rng, int *values, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)fcb_rng_below(rng, (uint32_t)(i + 1));
        int t = values[i];
        values[i] = values[j];
        values[j] = t;
    }
}
