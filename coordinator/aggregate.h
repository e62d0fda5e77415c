#ifndef FEDCB_AGGREGATE_H
#define FEDCB_AGGREGATE_H

#include <stddef.h>

#include "status.h"

/* FedAvg of the client deltas of one round. Updates may arrive in any order
 * (threads, network); the mean is always summed in increasing client-id
 * order with double accumulators, so the result bytes depend only on the
 * set of updates, never on their arrival order.
 *
 * Updates are not validated here beyond their weight: run
 * fcb_update_check (update_check.h) before fcb_aggregator_add. */

typedef enum {
    FCB_AGG_WEIGHTED,  /* weight = the client's example count */
    FCB_AGG_UNWEIGHTED /* every client weighs 1 */
} fcb_agg_weighting;

typedef struct {
    size_t dim;       /* values per update */
    int capacity;     /* most updates per round */
    int count;        /* updates added this round */
    int *client_ids;  /* capacity, in arrival order */
    double *weights;  /* capacity: the example counts as given */
    float *deltas;    /* capacity x dim, row i belongs to client_ids[i] */
    int *order;       /* capacity: rows sorted by client id (scratch of mean) */
    double *sum;      /* dim: accumulator (scratch of mean) */
} fcb_aggregator;

/* Allocates every buffer; dim > 0, capacity > 0. */
fcb_status fcb_aggregator_init(fcb_aggregator *agg, size_t dim, int capacity);
/* Starts a round: forgets the updates, keeps the buffers. */
void fcb_aggregator_reset(fcb_aggregator *agg);
/* Copies delta (dim floats). num_examples must be finite and >= 0.
 * A client id already added this round, or a full aggregator: FCB_ERR_STATE,
 * and nothing is added. */
fcb_status fcb_aggregator_add(fcb_aggregator *agg, int client_id, const float *delta,
                              double num_examples);
/* mean_delta (dim floats) = sum_i w_i delta_i / sum_i w_i over the round's
 * updates in increasing client-id order. No update, or a total weight of 0:
 * FCB_ERR_STATE. Does not change the added updates; may be called again. */
fcb_status fcb_aggregator_mean(fcb_aggregator *agg, fcb_agg_weighting weighting,
                               float *mean_delta);
/* rows (count x dim floats) = the round's updates in increasing client-id
 * order, for aggregation rules other than the mean. */
void fcb_aggregator_rows_by_client(fcb_aggregator *agg, float *rows);
void fcb_aggregator_free(fcb_aggregator *agg);

/* "weighted" / "unweighted" (FCB_ERR_CONFIG for anything else). */
fcb_status fcb_agg_weighting_from_name(const char *name, fcb_agg_weighting *weighting);
const char *fcb_agg_weighting_name(fcb_agg_weighting weighting);

#endif
