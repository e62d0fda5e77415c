#include "local_train.h"

#include <stdlib.h>
#include <string.h>

fcb_status fcb_train_buffers_init(fcb_train_buffers *b, const fcb_model *model, int batch_size, int capacity)
{
    memset(b, 0, sizeof *b);
    if (batch_size < 1 || capacity < 1)
        return fcb_fail(FCB_ERR_ARG, "training buffers: batch size %d and capacity %d must be >= 1", batch_size,
                        capacity);
    size_t k = (size_t)model->config.num_actions;
    size_t d = (size_t)model->config.input_dim;
    size_t batch = (size_t)batch_size;
    b->capacity = capacity;
    b->batch_size = batch_size;
    b->batch_x = malloc(batch * d * sizeof(float));
    b->scores = malloc(batch * k * sizeof(float));
    b->dscores = malloc(batch * k * sizeof(float));
    b->grad = malloc(model->num_params * sizeof(float));
    b->order = malloc((size_t)capacity * sizeof(int));
    fcb_status st = FCB_OK;
    if (!b->batch_x || !b->scores || !b->dscores || !b->grad || !b->order)
        st = fcb_fail(FCB_ERR_NOMEM, "training buffers: out of memory for batches of %d", batch_size);
    if (st == FCB_OK)
        st = fcb_workspace_init(&b->workspace, model, batch_size);
    if (st != FCB_OK)
        fcb_train_buffers_free(b);
    return st;
}

void fcb_train_buffers_free(fcb_train_buffers *b)
{
    fcb_workspace_free(&b->workspace);
    free(b->batch_x);
    free(b->scores);
    free(b->dscores);
    free(b->grad);
    free(b->order);
    memset(b, 0, sizeof *b);
}

fcb_status fcb_local_train(const fcb_train_job *job, fcb_train_buffers *b, fcb_sgd *opt, fcb_rng *rng,
                           float *params, double *loss_sum, int *steps)
{
    const fcb_model *m = job->model;
    size_t d = (size_t)m->config.input_dim;
    int n = job->n;
    if (n < 0 || n > b->capacity || job->batch_size < 1 || job->batch_size > b->batch_size)
        return fcb_fail(FCB_ERR_ARG, "local training: %d rows in batches of %d; buffers hold %d rows, batches of %d",
                        n, job->batch_size, b->capacity, b->batch_size);
    for (int i = 0; i < n; i++)
        b->order[i] = job->rows ? job->rows[i] : i;
    for (int epoch = 0; epoch < job->epochs; epoch++) {
        fcb_rng_shuffle_int(rng, b->order, n);
        for (int start = 0; start < n; start += job->batch_size) {
            int count = n - start < job->batch_size ? n - start : job->batch_size;
            const int *rows = b->order + start;
            for (int i = 0; i < count; i++)
                memcpy(b->batch_x + (size_t)i * d, job->x + (size_t)rows[i] * d, d * sizeof(float));
            double loss = 0.0;
            fcb_status st = fcb_model_forward(m, params, b->batch_x, count, &b->workspace, b->scores);
            if (st == FCB_OK)
                st = job->loss(job->context, epoch, rows, count, b->scores, b->dscores, &loss);
            if (st == FCB_OK)
                st = fcb_model_backward(m, params, b->dscores, &b->workspace, b->grad);
            if (st == FCB_OK)
                st = fcb_sgd_step(opt, params, b->grad);
            if (st != FCB_OK)
                return st;
            if (loss_sum)
                *loss_sum += loss;
            if (steps)
                ++*steps;
        }
    }
    return FCB_OK;
}
