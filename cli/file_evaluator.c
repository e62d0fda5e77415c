#include "file_evaluator.h"

#include <stdlib.h>
#include <string.h>

#include "vec.h"

void fcb_file_evaluator_init(fcb_file_evaluator *e, fcb_dataset *data)
{
    e->data = *data;
    memset(data, 0, sizeof *data);
}

void fcb_file_evaluator_free(fcb_file_evaluator *e)
{
    fcb_dataset_free(&e->data);
}

fcb_status fcb_labelled_accuracy(const fcb_dataset *data, const fcb_scorer *scorer, double *accuracy,
                                 double *class_accuracy)
{
    int k = data->k;
    size_t d = (size_t)data->d;
    float *scores = malloc((size_t)FCB_EVAL_CHUNK * k * sizeof(float));
    long *total = calloc((size_t)k, sizeof(long));
    long *correct = calloc((size_t)k, sizeof(long));
    fcb_status st = scores && total && correct ? FCB_OK : fcb_fail(FCB_ERR_NOMEM, "evaluation: out of memory");
    long right = 0;
    for (int start = 0; st == FCB_OK && start < data->n; start += FCB_EVAL_CHUNK) {
        int count = data->n - start < FCB_EVAL_CHUNK ? data->n - start : FCB_EVAL_CHUNK;
        st = scorer->score(scorer->context, data->x + (size_t)start * d, count, scores);
        for (int i = 0; st == FCB_OK && i < count; i++) {
            int label = data->y[start + i];
            int hit = fcb_argmax(scores + (size_t)i * k, k) == label;
            total[label]++;
            correct[label] += hit;
            right += hit;
        }
    }
    if (st == FCB_OK) {
        *accuracy = data->n ? (double)right / data->n : 0.0;
        for (int a = 0; class_accuracy && a < k; a++)
            class_accuracy[a] = total[a] ? (double)correct[a] / total[a] : 0.0;
    }
    free(scores);
    free(total);
    free(correct);
    return st;
}

static fcb_status evaluate(void *context, const fcb_scorer *scorer, int round, double *accuracy, double *reward,
                           double *class_accuracy)
{
    (void)round;
    const fcb_file_evaluator *e = context;
    fcb_status st = fcb_labelled_accuracy(&e->data, scorer, accuracy, class_accuracy);
    if (st == FCB_OK && reward)
        *reward = *accuracy;
    return st;
}

fcb_evaluator fcb_file_evaluator_make(fcb_file_evaluator *e)
{
    fcb_evaluator evaluator = {e, evaluate, NULL, NULL};
    return evaluator;
}
