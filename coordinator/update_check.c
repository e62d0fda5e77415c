#include "update_check.h"

#include <math.h>

#include "vec.h"

static const char *non_finite_name(float value)
{
    if (isnan(value))
        return "NaN";
    return value > 0.0f ? "+inf" : "-inf";
}

fcb_status fcb_update_check(const float *delta, size_t n, size_t expected_n, double num_examples,
                            double norm_bound, int client_id)
{
    if (n != expected_n)
        return fcb_fail(FCB_ERR_ARG, "client %d: update has %zu values, model has %zu", client_id, n,
                        expected_n);
    if (!delta && n > 0)
        return fcb_fail(FCB_ERR_ARG, "client %d: update values are missing (NULL)", client_id);
    if (!isfinite(num_examples) || !(num_examples > 0.0))
        return fcb_fail(FCB_ERR_ARG, "client %d: num_examples %g must be > 0 and finite", client_id,
                        num_examples);
    if (isnan(norm_bound))
        return fcb_fail(FCB_ERR_ARG, "client %d: update norm bound is NaN", client_id);
    for (size_t j = 0; j < n; j++) {
        if (!isfinite(delta[j]))
            return fcb_fail(FCB_ERR_ARG, "client %d: value %zu is %s", client_id, j,
                            non_finite_name(delta[j]));
    }
    if (norm_bound > 0.0) {
        double norm = fcb_l2_norm(delta, n);
        if (norm > norm_bound)
            return fcb_fail(FCB_ERR_ARG, "client %d: update norm %g exceeds bound %g", client_id,
                            norm, norm_bound);
    }
    return FCB_OK;
}
