#ifndef FEDCB_FEATURE_HASH_H
#define FEDCB_FEATURE_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* Named features hashed into a dense context, as Vowpal Wabbit hashes
 * feature names: MurmurHash3 (x86, 32 bit) of the name with a seed, taken
 * modulo the width. Space-separated tokens:
 *   name=value   a category: the whole token is hashed, value 1
 *   name:number  a number: the name is hashed, value number
 *   name         a flag: value 1
 * Values of colliding names add up. Every client of a federation must use
 * the same seed and width, or their models mean different things. */

uint32_t fcb_murmur3_32(const void *data, size_t len, uint32_t seed);

/* Zeroes x (dim floats) and adds the features of text. Fails on a token
 * whose number does not parse or is not finite, naming the token. */
fcb_status fcb_hash_features(const char *text, uint32_t seed, float *x, int dim);

#endif
