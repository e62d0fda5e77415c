#include "fuzz_labelled.h"

#include <math.h>
#include <string.h>

#include "fuzz_common.h"

/* dim > 0 always: the program passes the model's shape. (With dim = 0, the
 * simulator's "largest index seen", memory grows with the largest index a
 * file names, which is the documented meaning, not a finding.) */
static const int DIMS[8] = {1, 2, 3, 4, 5, 8, 16, 64};
static const int ACTIONS[8] = {0, 2, 3, 4, 5, 10, 100, 1000};

static void check_loaded(const fcb_dataset *ds, int dim, int num_actions)
{
    fuzz_require(ds->n > 0 && ds->d == dim && ds->k > 0);
    fuzz_require(num_actions == 0 || ds->k == num_actions);
    for (int i = 0; i < ds->n; i++)
        fuzz_require(ds->y[i] >= 0 && ds->y[i] < ds->k);
    for (size_t j = 0; j < (size_t)ds->n * (size_t)ds->d; j++)
        fuzz_require(isfinite(ds->x[j]));
}

/* The simulator's path (simulations/world.c, data.source = libsvm or vw):
 * the loader itself, the number of classes from the largest label. */
static void load_direct(const char *path, const char *format_name, int dim)
{
    fcb_dataset ds;
    fcb_status st = strcmp(format_name, "libsvm") == 0 ? fcb_dataset_load_libsvm(path, dim, 0, &ds)
                                                         : fcb_dataset_load_vw(path, dim, 0, &ds);
    if (st != FCB_OK) {
        fuzz_check_failure(st);
        fuzz_require(ds.x == NULL && ds.y == NULL);
        return;
    }
    check_loaded(&ds, dim, 0);
    fcb_dataset_free(&ds);
}

void fuzz_labelled(const uint8_t *data, size_t size, const char *format_name)
{
    static char path[256];
    if (!path[0])
        fuzz_path(path, sizeof path, "data.txt");
    if (size == 0)
        return;
    uint8_t control = data[0];
    int dim = DIMS[(control >> 2) & 7], num_actions = ACTIONS[(control >> 5) & 7];
    fuzz_write(path, data + 1, size - 1, control & 1);
    if (num_actions == 0) {
        load_direct(path, format_name, dim);
        return;
    }
    fcb_data_format format;
    fcb_status st = fcb_data_format_resolve(control & 2 ? "auto" : format_name, path, &format);
    if (st != FCB_OK) {
        fuzz_check_failure(st);
        return;
    }
    fcb_dataset ds = {0};
    st = fcb_data_load_labelled(path, format, dim, num_actions, &ds);
    if (st != FCB_OK) {
        fuzz_check_failure(st);
        fuzz_require(ds.x == NULL && ds.y == NULL);
        return;
    }
    check_loaded(&ds, dim, num_actions);
    fcb_dataset_free(&ds);
}
