#ifndef FEDCB_RNG_H
#define FEDCB_RNG_H

#include <stdint.h>

/* Counter-based random numbers (Philox4x32-10). A stream is fixed by
 * (seed, purpose, client, round): the key is the seed, the 128-bit counter
 * is (block, purpose, client, round). No state is shared between streams,
 * so a draw never depends on thread order or on which other streams ran. */
typedef struct {
    uint32_t key[2];
    uint32_t counter[4];
    uint32_t block[4];
    int used; /* words of block already handed out; 4 = refill */
} fcb_rng;

/* The purposes of the random streams of a run. Appending is fine;
 * renumbering changes every result. */
enum fcb_stream {
    FCB_STREAM_MODEL_INIT = 1,
    FCB_STREAM_CLIENT_SAMPLING,
    FCB_STREAM_POLICY,
    FCB_STREAM_FEEDBACK,
    FCB_STREAM_SHUFFLE,
    FCB_STREAM_DATA,
    FCB_STREAM_PARTITION,
    FCB_STREAM_AVAILABILITY,
    FCB_STREAM_DRIFT,
    FCB_STREAM_FEATURE_SKEW,
    FCB_STREAM_PAIRWISE,
    FCB_STREAM_DP_NOISE,
    FCB_STREAM_MALICIOUS,
    FCB_STREAM_TEST = 100
};

void fcb_rng_init(fcb_rng *rng, uint64_t seed, uint32_t purpose, uint32_t client, uint32_t round);

uint32_t fcb_rng_u32(fcb_rng *rng);
uint64_t fcb_rng_u64(fcb_rng *rng);
/* Uniform in [0, 1) with 53 random bits. */
double fcb_rng_uniform(fcb_rng *rng);
/* Uniform integer in [0, n), unbiased; n must be > 0. */
uint32_t fcb_rng_below(fcb_rng *rng, uint32_t n);
/* Standard normal (Box-Muller, both values used). */
double fcb_rng_normal(fcb_rng *rng);
/* Gamma(shape, 1), shape > 0 (Marsaglia-Tsang). */
double fcb_rng_gamma(fcb_rng *rng, double shape);
/* In-place Fisher-Yates shuffle of n ints. */
void fcb_rng_shuffle_int(fcb_rng *rng, int *values, int n);

#endif
