#include "dp_clip.h"

#include <math.h>

#include "vec.h"

fcb_dp_config fcb_dp_config_defaults(void)
{
    fcb_dp_config config;
    config.noise_multiplier = 1.0;
    config.clip_norm = 1.0;
    config.adaptive = 0;
    config.target_quantile = 0.5;
    config.clip_learning_rate = 0.2;
    config.clipped_count_stddev = 0.0;
    return config;
}

static fcb_status reject(const char *field, double value, const char *rule)
{
    return fcb_fail(FCB_ERR_CONFIG, "dp.%s = %g: must be %s", field, value, rule);
}

fcb_status fcb_dp_config_validate(const fcb_dp_config *config)
{
    if (!(config->noise_multiplier >= 0.0) || !isfinite(config->noise_multiplier))
        return reject("noise_multiplier", config->noise_multiplier, ">= 0");
    if (!(config->clip_norm > 0.0) || !isfinite(config->clip_norm))
        return reject("clip_norm", config->clip_norm, "> 0");
    if (config->adaptive != 0 && config->adaptive != 1)
        return reject("adaptive", config->adaptive, "0 or 1");
    if (!(config->target_quantile >= 0.0 && config->target_quantile <= 1.0))
        return reject("target_quantile", config->target_quantile, "in [0, 1]");
    if (!(config->clip_learning_rate >= 0.0) || !isfinite(config->clip_learning_rate))
        return reject("clip_learning_rate", config->clip_learning_rate, ">= 0");
    if (!(config->clipped_count_stddev >= 0.0) || !isfinite(config->clipped_count_stddev))
        return reject("clipped_count_stddev", config->clipped_count_stddev, ">= 0");
    return FCB_OK;
}

fcb_status fcb_dp_clip(float *update, size_t dim, double clip_norm, double *norm, int *clipped)
{
    if (update == NULL && dim > 0)
        return fcb_fail(FCB_ERR_ARG, "dp clip: update is NULL");
    if (!(clip_norm > 0.0) || !isfinite(clip_norm))
        return fcb_fail(FCB_ERR_ARG, "dp clip: clip norm %g must be > 0 and finite", clip_norm);
    for (size_t i = 0; i < dim; i++) {
        if (!isfinite(update[i]))
            return fcb_fail(FCB_ERR_ARG, "dp clip: update[%zu] = %g is not finite", i,
                            (double)update[i]);
    }
    double length = fcb_l2_norm(update, dim);
    int scale_down = length > clip_norm;
    if (scale_down) {
        double factor = clip_norm / length;
        for (size_t i = 0; i < dim; i++)
            update[i] = (float)(update[i] * factor);
    }
    if (norm != NULL)
        *norm = length;
    if (clipped != NULL)
        *clipped = scale_down;
    return FCB_OK;
}

fcb_status fcb_dp_add_noise(float *sum, size_t dim, double noise_multiplier, double clip_norm,
                            fcb_rng *rng)
{
    if ((sum == NULL && dim > 0) || rng == NULL)
        return fcb_fail(FCB_ERR_ARG, "dp noise: NULL argument");
    if (!(noise_multiplier >= 0.0) || !isfinite(noise_multiplier))
        return fcb_fail(FCB_ERR_ARG, "dp noise: noise multiplier %g must be >= 0 and finite",
                        noise_multiplier);
    if (!(clip_norm > 0.0) || !isfinite(clip_norm))
        return fcb_fail(FCB_ERR_ARG, "dp noise: clip norm %g must be > 0 and finite", clip_norm);
    double stddev = noise_multiplier * clip_norm;
    for (size_t i = 0; i < dim; i++)
        sum[i] = (float)(sum[i] + stddev * fcb_rng_normal(rng));
    return FCB_OK;
}

fcb_status fcb_dp_noisy_unclipped_fraction(int unclipped_count, int num_clients,
                                           double clipped_count_stddev, fcb_rng *rng,
                                           double *fraction)
{
    if (fraction == NULL)
        return fcb_fail(FCB_ERR_ARG, "dp adaptive clip: fraction is NULL");
    if (num_clients < 1 || unclipped_count < 0 || unclipped_count > num_clients)
        return fcb_fail(FCB_ERR_ARG, "dp adaptive clip: %d unclipped of %d clients", unclipped_count,
                        num_clients);
    if (!(clipped_count_stddev >= 0.0) || !isfinite(clipped_count_stddev))
        return fcb_fail(FCB_ERR_ARG, "dp adaptive clip: count stddev %g must be >= 0 and finite",
                        clipped_count_stddev);
    double count = unclipped_count;
    if (clipped_count_stddev > 0.0) {
        if (rng == NULL)
            return fcb_fail(FCB_ERR_ARG, "dp adaptive clip: a noisy count needs an rng");
        count += clipped_count_stddev * fcb_rng_normal(rng);
    }
    *fraction = count / num_clients;
    return FCB_OK;
}

double fcb_dp_next_clip_norm(double clip_norm, double unclipped_fraction, double target_quantile,
                             double learning_rate)
{
    return clip_norm * exp(-learning_rate * (unclipped_fraction - target_quantile));
}

fcb_status fcb_dp_adapt_clip_norm(const fcb_dp_config *config, int unclipped_count,
                                  int num_clients, fcb_rng *rng, double *clip_norm)
{
    if (config == NULL || clip_norm == NULL)
        return fcb_fail(FCB_ERR_ARG, "dp adaptive clip: NULL argument");
    double fraction = 0.0;
    fcb_status status = fcb_dp_noisy_unclipped_fraction(
        unclipped_count, num_clients, config->clipped_count_stddev, rng, &fraction);
    if (status != FCB_OK)
        return status;
    *clip_norm = fcb_dp_next_clip_norm(*clip_norm, fraction, config->target_quantile,
                                       config->clip_learning_rate);
    return FCB_OK;
}

fcb_status fcb_dp_sum_noise_multiplier(const fcb_dp_config *config, double *sum_noise_multiplier)
{
    if (config == NULL || sum_noise_multiplier == NULL)
        return fcb_fail(FCB_ERR_ARG, "dp sum noise multiplier: NULL argument");
    double z = config->noise_multiplier;
    if (!config->adaptive || z == 0.0) {
        *sum_noise_multiplier = z;
        return FCB_OK;
    }
    double count_scale = 2.0 * config->clipped_count_stddev;
    if (!(count_scale > z))
        return fcb_fail(FCB_ERR_CONFIG,
                        "dp.clipped_count_stddev = %g: must be > dp.noise_multiplier / 2 = %g with "
                        "adaptive clipping",
                        config->clipped_count_stddev, z / 2.0);
    *sum_noise_multiplier = 1.0 / sqrt(1.0 / (z * z) - 1.0 / (count_scale * count_scale));
    return FCB_OK;
}
