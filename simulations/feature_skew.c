#include "feature_skew.h"

#include <math.h>
#include <stddef.h>

#include "rng.h"

fcb_status fcb_feature_skew_apply(float *x, int n, int d, int client, uint64_t seed, float strength)
{
    if (n < 0 || d < 1)
        return fcb_fail(FCB_ERR_ARG, "feature skew: n = %d, d = %d must be >= 0 and >= 1", n, d);
    if (!x && n > 0)
        return fcb_fail(FCB_ERR_ARG, "feature skew: NULL x");
    if (client < 0)
        return fcb_fail(FCB_ERR_ARG, "feature skew: client = %d must be >= 0", client);
    if (!isfinite(strength) || strength < 0.0f || strength > 1.0f)
        return fcb_fail(FCB_ERR_ARG, "feature skew: strength = %g must be in [0, 1]", (double)strength);
    if (strength == 0.0f || n == 0)
        return FCB_OK;
    fcb_rng rng;
    fcb_rng_init(&rng, seed, FCB_STREAM_FEATURE_SKEW, (uint32_t)client, 0);
    float scale = 1.0f + strength * (float)(2.0 * fcb_rng_uniform(&rng) - 1.0);
    float offset = strength * (float)(fcb_rng_uniform(&rng) - 0.5);
    size_t count = (size_t)n * (size_t)d;
    for (size_t i = 0; i < count; i++)
        x[i] = scale * x[i] + offset;
    return FCB_OK;
}
