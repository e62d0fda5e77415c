#ifndef FEDCB_DP_CLIP_H
#define FEDCB_DP_CLIP_H

#include <stddef.h>

#include "rng.h"
#include "status.h"

/* The pieces of DP-FedAvg (McMahan, Ramage, Talwar, Zhang 2018, "Learning
 * Differentially Private Recurrent Language Models"): every client update is
 * clipped to L2 norm C, the coordinator sums the clipped updates and adds
 * N(0, (z C)^2) to every coordinate of the sum, where z is the noise
 * multiplier that the accountant (dp_accountant.h) charges for.
 *
 * Adaptive clipping (Andrew, Thakkar, McMahan, Ramaswamy 2021,
 * "Differentially Private Learning with Adaptive Clipping"): each round the
 * coordinator also counts the m clients whose update norm was <= C, releases
 * the noisy fraction b = (count + N(0, sigma_b^2)) / m and moves C
 * geometrically towards the target quantile gamma of the norms:
 *   C <- C exp(-eta (b - gamma)).
 * The count is a second private release: with it the sum must use the
 * smaller noise multiplier of fcb_dp_sum_noise_multiplier for the pair to
 * cost what the accountant charges for z. */

typedef struct {
    double noise_multiplier;   /* z >= 0; 0 clips without noise */
    double clip_norm;          /* C > 0; the starting C when adaptive */
    int adaptive;              /* 1: adapt C each round */
    double target_quantile;    /* gamma in [0, 1]: fraction of updates to leave unclipped */
    double clip_learning_rate; /* eta >= 0 */
    double clipped_count_stddev; /* sigma_b >= 0: noise on the unclipped count */
} fcb_dp_config;

/* z 1, C 1, not adaptive, gamma 0.5, eta 0.2, sigma_b 0 (Andrew et al. use
 * gamma 0.5, eta 0.2 and sigma_b = m / 20 for m clients per round). */
fcb_dp_config fcb_dp_config_defaults(void);
/* FCB_ERR_CONFIG naming the field, e.g. "dp.noise_multiplier = -1: must be >= 0".
 * Every field is checked, also those that adaptive = 0 does not use. */
fcb_status fcb_dp_config_validate(const fcb_dp_config *config);

/* Scales update (dim floats) in place to L2 norm clip_norm (up to float
 * rounding) if its norm is larger; shorter updates are left as they are. *norm = the norm before,
 * *clipped = 1 if the update was scaled (both may be NULL). A non-finite
 * value in update: FCB_ERR_ARG, update unchanged. */
fcb_status fcb_dp_clip(float *update, size_t dim, double clip_norm, double *norm, int *clipped);

/* sum[i] += N(0, (z C)^2) for i < dim, drawn in index order from rng (the
 * caller seeds it, e.g. (seed, FCB_STREAM_DP_NOISE, 0, round)). */
fcb_status fcb_dp_add_noise(float *sum, size_t dim, double noise_multiplier, double clip_norm,
                            fcb_rng *rng);

/* b = (unclipped_count + N(0, sigma_b^2)) / num_clients; one normal draw
 * from rng when sigma_b > 0, none otherwise. 0 <= unclipped_count <=
 * num_clients, num_clients >= 1. b may fall outside [0, 1] by the noise. */
fcb_status fcb_dp_noisy_unclipped_fraction(int unclipped_count, int num_clients,
                                           double clipped_count_stddev, fcb_rng *rng,
                                           double *fraction);

/* C exp(-eta (b - gamma)). */
double fcb_dp_next_clip_norm(double clip_norm, double unclipped_fraction, double target_quantile,
                             double learning_rate);

/* One adaptive round: the noisy fraction of the config's sigma_b, then the
 * geometric step with its gamma and eta. *clip_norm is updated in place. */
fcb_status fcb_dp_adapt_clip_norm(const fcb_dp_config *config, int unclipped_count,
                                  int num_clients, fcb_rng *rng, double *clip_norm);

/* The noise multiplier for the sum when the count is released too (Andrew
 * et al., Sec. 3.1): z_sum = (z^-2 - (2 sigma_b)^-2)^(-1/2), so that sum and
 * count together cost noise multiplier z. Not adaptive, or z = 0: z_sum = z.
 * Adaptive with 2 sigma_b <= z: FCB_ERR_CONFIG (the count alone would
 * cost more than z). */
fcb_status fcb_dp_sum_noise_multiplier(const fcb_dp_config *config, double *sum_noise_multiplier);

#endif
