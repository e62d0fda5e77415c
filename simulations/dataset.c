#include "dataset.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

/* Stream of the split shuffle: purpose DATA, a client id the synthetic
 * generator does not use (it uses 0, 1 and 2). */
enum { SPLIT_STREAM_ID = 3 };
/* The validation carve's: a client id no simulated client has. */
static const uint32_t VALIDATION_STREAM_ID = 0xFFFFFFF0u;

void fcb_dataset_free(fcb_dataset *ds)
{
    if (!ds)
        return;
    free(ds->x);
    free(ds->y);
    memset(ds, 0, sizeof *ds);
}

/* Copies the rows order[0..n) of src into a freshly allocated dst. */
static fcb_status copy_rows(const fcb_dataset *src, const int *order, int n, fcb_dataset *dst)
{
    size_t d = (size_t)src->d;
    dst->x = malloc((size_t)n * d * sizeof *dst->x);
    dst->y = malloc((size_t)n * sizeof *dst->y);
    if (!dst->x || !dst->y) {
        fcb_dataset_free(dst);
        return fcb_fail(FCB_ERR_NOMEM, "dataset split: cannot allocate %d x %d rows", n, src->d);
    }
    dst->n = n;
    dst->d = src->d;
    dst->k = src->k;
    for (int i = 0; i < n; i++) {
        memcpy(dst->x + (size_t)i * d, src->x + (size_t)order[i] * d, d * sizeof *dst->x);
        dst->y[i] = src->y[order[i]];
    }
    return FCB_OK;
}

fcb_status fcb_dataset_split(fcb_dataset *all, double test_fraction, uint64_t seed,
                             fcb_dataset *train, fcb_dataset *test)
{
    if (!all || !train || !test)
        return fcb_fail(FCB_ERR_ARG, "dataset split: NULL argument");
    if (train == all || test == all || train == test)
        return fcb_fail(FCB_ERR_ARG, "dataset split: train, test and all must be distinct datasets");
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (all->n <= 0 || all->d <= 0 || !all->x || !all->y)
        return fcb_fail(FCB_ERR_ARG, "dataset split: input dataset is empty (n = %d, d = %d)", all->n,
                        all->d);
    if (!isfinite(test_fraction) || test_fraction <= 0.0 || test_fraction >= 1.0)
        return fcb_fail(FCB_ERR_ARG, "dataset split: test_fraction = %g must be in (0, 1)", test_fraction);
    int num_test = (int)floor(test_fraction * all->n + 0.5);
    int num_train = all->n - num_test;
    if (num_test < 1 || num_train < 1)
        return fcb_fail(FCB_ERR_ARG,
                        "dataset split: test_fraction = %g of %d rows leaves %d train and %d test rows; "
                        "both need at least 1",
                        test_fraction, all->n, num_train, num_test);

    int *order = malloc((size_t)all->n * sizeof *order);
    if (!order)
        return fcb_fail(FCB_ERR_NOMEM, "dataset split: cannot allocate %d indices", all->n);
    for (int i = 0; i < all->n; i++)
        order[i] = i;
    fcb_rng rng;
    fcb_rng_init(&rng, seed, FCB_STREAM_DATA, SPLIT_STREAM_ID, 0);
    fcb_rng_shuffle_int(&rng, order, all->n);

    fcb_status st = copy_rows(all, order, num_train, train);
    if (st == FCB_OK)
        st = copy_rows(all, order + num_train, num_test, test);
    if (st != FCB_OK)
        fcb_dataset_free(train);
    free(order);
    return st;
}

fcb_status fcb_dataset_carve(fcb_dataset *train, double fraction, uint64_t seed, fcb_dataset *validation)
{
    if (!train || !validation || train == validation)
        return fcb_fail(FCB_ERR_ARG, "validation carve: train and validation must be distinct datasets");
    memset(validation, 0, sizeof *validation);
    if (!isfinite(fraction) || fraction < 0.0 || fraction >= 1.0)
        return fcb_fail(FCB_ERR_ARG, "data.validation_fraction = %g must be in [0, 1)", fraction);
    int num_validation = (int)floor(fraction * train->n + 0.5);
    if (num_validation == 0)
        return FCB_OK;
    if (num_validation >= train->n)
        return fcb_fail(FCB_ERR_CONFIG,
                        "data.validation_fraction = %g of %d training rows leaves no training row", fraction,
                        train->n);
    int *order = malloc((size_t)train->n * sizeof *order);
    char *chosen = calloc((size_t)train->n, 1);
    if (!order || !chosen) {
        free(order);
        free(chosen);
        return fcb_fail(FCB_ERR_NOMEM, "validation carve: cannot allocate %d indices", train->n);
    }
    for (int i = 0; i < train->n; i++)
        order[i] = i;
    fcb_rng rng;
    fcb_rng_init(&rng, seed, FCB_STREAM_DATA, VALIDATION_STREAM_ID, 0);
    fcb_rng_shuffle_int(&rng, order, train->n);
    for (int i = 0; i < num_validation; i++)
        chosen[order[i]] = 1;
    /* Both parts keep the rows in the data's order: the shuffle only picks. */
    int kept = 0, carved = 0;
    for (int i = 0; i < train->n; i++)
        if (chosen[i])
            order[carved++] = i;
    int *rest = order + carved;
    for (int i = 0; i < train->n; i++)
        if (!chosen[i])
            rest[kept++] = i;
    fcb_dataset remaining = {0};
    fcb_status st = copy_rows(train, order, carved, validation);
    if (st == FCB_OK)
        st = copy_rows(train, rest, kept, &remaining);
    free(order);
    free(chosen);
    if (st != FCB_OK) {
        fcb_dataset_free(validation);
        return st;
    }
    fcb_dataset_free(train);
    *train = remaining;
    return FCB_OK;
}
