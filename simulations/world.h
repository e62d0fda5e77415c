#ifndef FEDCB_WORLD_H
#define FEDCB_WORLD_H

#include "config.h"
#include "dataset.h"
#include "environment.h"
#include "model.h"
#include "model_scorer.h"
#include "partition.h"

/* Everything a simulated run starts from, built from the config: the data,
 * the bandit clients' partition, the disjoint pretraining group, the
 * implicit-feedback environment, the model and its initial parameters
 * (random, or pretrained with labels for the init scenarios). */

typedef enum { FCB_SCENARIO_SCRATCH, FCB_SCENARIO_INIT, FCB_SCENARIO_INIT_SHIFT } fcb_scenario_kind;

typedef struct {
    fcb_scenario_kind scenario;
    fcb_dataset train;
    fcb_dataset test;
    fcb_dataset validation;     /* carved from the training rows (data.validation_fraction); n = 0: none */
    fcb_partition clients;      /* bandit clients 0..num_clients-1 */
    int *pretrain_rows;         /* rows of the pretraining group (init scenarios) */
    int num_pretrain_rows;
    int num_bandit_rows;
    fcb_environment env;
    fcb_model model;
    float *initial_params;      /* model.num_params */
    double pretrain_accuracy;   /* test accuracy after pretraining, -1 if none */
    double pretrain_class_accuracy[FCB_MAX_CLASSES]; /* per class, valid when pretrain_accuracy >= 0 */
} fcb_world;

fcb_status fcb_scenario_from_name(const char *name, fcb_scenario_kind *out);
const char *fcb_scenario_name(fcb_scenario_kind kind);

fcb_status fcb_world_build(fcb_world *world, const fcb_config *config);

/* [model] (arch, hidden, normalize_input) for contexts of input_dim and
 * num_actions actions. */
fcb_status fcb_model_config_from(const fcb_config *config, int input_dim, int num_actions, fcb_model_config *out);
void fcb_world_free(fcb_world *world);

/* Test accuracy (argmax == label at `round`) and mean true reward of the
 * argmax action, scoring the test set in chunks. When class_accuracy is not
 * NULL it receives K per-class accuracies. */
fcb_status fcb_world_evaluate(const fcb_world *world, fcb_score_fn score, void *context, int round,
                              uint64_t seed, double *accuracy, double *reward,
                              double *class_accuracy);

/* The same on the validation set (which must not be empty), with its own
 * label draws under gradual drift. */
fcb_status fcb_world_validate(const fcb_world *world, fcb_score_fn score, void *context, int round,
                              uint64_t seed, double *accuracy, double *reward);

#endif
