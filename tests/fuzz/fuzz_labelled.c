#include "fuzz_labelled.h"

#include "fuzz_common.h"

/* dim > 0 always: the program passes the model's shape. (With dim = 0, the
 * simulator's "largest index seen", memory grows with the largest index a
 * file names, which is the documented meaning, not a finding.) */
static const int DIMS[8] = {1, 2, 3, 4, 5, 8, 16, 64};
static const int ACTIONS[8] = {1, 2, 3, 4, 5, 10, 100, 1000};

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
    fuzz_require(ds.n > 0 && ds.d == dim && ds.k == num_actions);
    for (int i = 0; i < ds.n; i++)
        fuzz_require(ds.y[i] >= 0 && ds.y[i] < ds.k);
    fcb_dataset_free(&ds);
}
