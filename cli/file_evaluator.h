#ifndef FEDCB_FILE_EVALUATOR_H
#define FEDCB_FILE_EVALUATOR_H

#include "dataset.h"
#include "evaluator.h"

/* An operator's labelled held-out file as the coordinator's evaluator:
 * accuracy of the argmax action, its reward (1 when it is the label) and
 * per-class accuracy. */
typedef struct {
    fcb_dataset data;
} fcb_file_evaluator;

/* Takes ownership of data. */
void fcb_file_evaluator_init(fcb_file_evaluator *e, fcb_dataset *data);
void fcb_file_evaluator_free(fcb_file_evaluator *e);
fcb_evaluator fcb_file_evaluator_make(fcb_file_evaluator *e);

/* The same measure, once: accuracy of a scorer on a labelled dataset. */
fcb_status fcb_labelled_accuracy(const fcb_dataset *data, const fcb_scorer *scorer, double *accuracy,
                                 double *class_accuracy);

#endif
