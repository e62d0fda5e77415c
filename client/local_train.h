#ifndef FEDCB_LOCAL_TRAIN_H
#define FEDCB_LOCAL_TRAIN_H

#include "model.h"
#include "rng.h"
#include "sgd.h"

/* The one local-training loop of fedcb: `epochs` passes over n rows of x in
 * a freshly shuffled order each pass, mini-batches of batch_size rows:
 * gather, forward, the caller's loss, backward, one SGD step. The bandit
 * round, the preference round and supervised pretraining differ only in
 * their loss. */

/* The loss of one mini-batch: `rows` are the batch's indices into x (as
 * given in fcb_train_job.rows), scores its count x K scores; writes
 * dL/dscores (count x K) and the batch's mean loss. */
typedef fcb_status (*fcb_batch_loss_fn)(void *context, int epoch, const int *rows, int count,
                                        const float *scores, float *dscores, double *loss);

typedef struct {
    const fcb_model *model;
    int epochs;
    int batch_size;
    const float *x;           /* rows of input_dim floats */
    const int *rows;          /* the n rows of x to train on; NULL = 0 .. n-1 */
    int n;
    fcb_batch_loss_fn loss;
    void *context;
} fcb_train_job;

/* Buffers of the loop, reused across calls: at most `capacity` rows per
 * job, batches of at most batch_size rows. */
typedef struct {
    int capacity;
    int batch_size;
    fcb_workspace workspace;
    float *batch_x;   /* batch_size x d */
    float *scores;    /* batch_size x K */
    float *dscores;   /* batch_size x K */
    float *grad;      /* num_params */
    int *order;       /* capacity */
} fcb_train_buffers;

fcb_status fcb_train_buffers_init(fcb_train_buffers *b, const fcb_model *model, int batch_size, int capacity);
void fcb_train_buffers_free(fcb_train_buffers *b);

/* Trains params in place with opt (the caller resets it when it should
 * start fresh); shuffles with rng. loss_sum and steps (may be NULL) add the
 * batches' mean losses and the number of steps. */
fcb_status fcb_local_train(const fcb_train_job *job, fcb_train_buffers *b, fcb_sgd *opt, fcb_rng *rng,
                           float *params, double *loss_sum, int *steps);

#endif
