#ifndef FEDCB_DATASET_H
#define FEDCB_DATASET_H

#include <stdint.h>

#include "status.h"

/* A labelled multiclass dataset held dense in memory: x is n x d row-major
 * float, y holds labels in [0, k). Sparse file formats are densified. */
typedef struct {
    int n;
    int d;
    int k;
    float *x;
    int *y;
} fcb_dataset;

void fcb_dataset_free(fcb_dataset *ds);

/* A gzip (or plain) IDX pair: images (idx3, ubyte) scaled to [0, 1] and
 * labels (idx1, ubyte); k = 1 + max label. Checks magic numbers, sizes and
 * that both files hold the same count, naming the file on failure. */
fcb_status fcb_dataset_load_idx(const char *images_path, const char *labels_path, fcb_dataset *ds);

/* Fashion-MNIST from dir (train-images-idx3-ubyte.gz, ... as Debian's
 * dataset-fashion-mnist installs them under /usr/share/datasets/fashion-mnist). */
fcb_status fcb_dataset_load_fashion_mnist(const char *dir, fcb_dataset *train, fcb_dataset *test);

/* Synthetic multiclass data needing no files. linear: the label is argmax of
 * W x + noise with W, x Gaussian; nonlinear: argmax of a random one-hidden-
 * layer network. Train and test come from the same W, different rows. */
typedef struct {
    int num_train;
    int num_test;
    int dim;
    int num_classes;
    int nonlinear;  /* 0 or 1 */
    float noise;    /* std of Gaussian noise added to the class scores, >= 0 */
    uint64_t seed;
} fcb_synthetic_config;

fcb_status fcb_dataset_synthetic(const fcb_synthetic_config *config, fcb_dataset *train,
                                 fcb_dataset *test);

/* LibSVM / SVMlight: `label idx:value ...` with 1-based indices, '#'
 * comments. VW multiclass: `label | name:value ...` (or `label |ns ...`) with
 * labels 1..K; a feature name that is a number is its 1-based column, other
 * names are hashed into dim columns. dim = 0 means the largest index seen.
 * num_classes = 0 means the largest label seen. LibSVM labels are mapped
 * 1..K -> 0..K-1 when they start at 1, and used as they are when they start
 * at 0. Errors name the file and line. */
fcb_status fcb_dataset_load_libsvm(const char *path, int dim, int num_classes, fcb_dataset *ds);
fcb_status fcb_dataset_load_vw(const char *path, int dim, int num_classes, fcb_dataset *ds);

/* Split off the last fraction of rows (in a seeded random order) as test. */
fcb_status fcb_dataset_split(fcb_dataset *all, double test_fraction, uint64_t seed,
                             fcb_dataset *train, fcb_dataset *test);

/* Moves a seeded random `fraction` of train's rows (rounded) into
 * validation (empty when that rounds to 0); both keep the rows' original
 * order. The random order is its own stream, independent of the test split. */
fcb_status fcb_dataset_carve(fcb_dataset *train, double fraction, uint64_t seed, fcb_dataset *validation);

#endif
