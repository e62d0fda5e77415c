#ifndef FEDCB_ROBUST_AGGREGATE_H
#define FEDCB_ROBUST_AGGREGATE_H

#include <stddef.h>

#include "status.h"

/* Byzantine-robust replacements for the mean of a round's updates. Input is
 * m rows of dim floats, row-major, the rows in increasing client-id order
 * (the caller sorts; fcb_aggregator keeps them so). Results are
 * deterministic: they depend on the multiset of values per coordinate (and,
 * for norm bounding, on the row order, which is fixed) and are accumulated
 * in double. The caller provides the scratch; nothing is allocated.
 *
 *   median:       per coordinate, the middle value; for even m the mean of
 *                 the two middle values (Yin et al. 2018, coordinate-wise
 *                 median).
 *   trimmed mean: per coordinate, drop the k = floor(beta m) smallest and k
 *                 largest values and average the rest (Yin et al. 2018);
 *                 beta in [0, 0.5), so at least one value remains.
 *   norm bound:   scale every row to L2 norm <= M, then average (Sun et
 *                 al. 2019, "Can You Really Backdoor Federated Learning?"). */

typedef enum {
    FCB_ROBUST_MEDIAN,
    FCB_ROBUST_TRIMMED_MEAN,
    FCB_ROBUST_NORM_BOUND
} fcb_robust_kind;

typedef struct {
    fcb_robust_kind kind;
    double trim_fraction; /* beta, trimmed mean only: [0, 0.5) */
    double max_norm;      /* M, norm bound only: > 0 */
} fcb_robust_config;

/* median, trim_fraction 0.1, max_norm 1. */
fcb_robust_config fcb_robust_config_defaults(fcb_robust_kind kind);
/* FCB_ERR_CONFIG naming the field, e.g.
 * "aggregation.trim_fraction = 0.5: must be in [0, 0.5)". Every field is
 * checked, also those the kind does not use. */
fcb_status fcb_robust_config_validate(const fcb_robust_config *config);

/* "median", "trimmed_mean", "norm_bound" (FCB_ERR_CONFIG for anything else). */
fcb_status fcb_robust_kind_from_name(const char *name, fcb_robust_kind *kind);
const char *fcb_robust_kind_name(fcb_robust_kind kind);

/* Doubles of scratch that fcb_robust_aggregate needs: max(m, dim). */
size_t fcb_robust_scratch_size(int m, size_t dim);

/* out (dim floats) = the configured aggregate of rows (m x dim). m >= 1;
 * every value finite (FCB_ERR_ARG naming the row and index otherwise);
 * scratch holds at least fcb_robust_scratch_size(m, dim) doubles. */
fcb_status fcb_robust_aggregate(const fcb_robust_config *config, const float *rows, int m,
                                size_t dim, double *scratch, size_t scratch_size, float *out);

/* The three, directly; scratch: m doubles for the first two, dim for the third. */
fcb_status fcb_robust_median(const float *rows, int m, size_t dim, double *scratch, float *out);
fcb_status fcb_robust_trimmed_mean(const float *rows, int m, size_t dim, double trim_fraction,
                                   double *scratch, float *out);
fcb_status fcb_robust_norm_bounded_mean(const float *rows, int m, size_t dim, double max_norm,
                                        double *scratch, float *out);

/* k = floor(beta m): the values dropped from each side. beta m is rounded
 * to 1e-9 first, so that 0.29 of 100 (28.999999999999996) trims 29. */
int fcb_robust_trim_count(double trim_fraction, int m);

#endif
