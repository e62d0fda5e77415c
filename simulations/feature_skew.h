#ifndef FEDCB_FEATURE_SKEW_H
#define FEDCB_FEATURE_SKEW_H

#include <stdint.h>

#include "status.h"

/* Feature-skew heterogeneity: client `client` sees its contexts through its
 * own affine transform x' = s * x + o, with a contrast scale s uniform in
 * [1 - strength, 1 + strength] and an offset o uniform in
 * [-strength / 2, strength / 2], both drawn from the stream
 * (seed, FCB_STREAM_FEATURE_SKEW, client, 0). strength = 0 is the identity;
 * strength must be in [0, 1]. Transforms the n x d row-major x in place. */
fcb_status fcb_feature_skew_apply(float *x, int n, int d, int client, uint64_t seed, float strength);

#endif
