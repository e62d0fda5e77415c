/* libFuzzer target for IDX image/label pairs (simulations/dataset_idx.c),
 * plain or gzip. The first byte: bit 0 gzip-compresses the images file, bit
 * 1 the labels file; the next two bytes (little-endian) are the length of
 * the images file, the rest of the input is the labels file. A pair that
 * loads satisfies dataset.h's contract. */
#include <math.h>

#include "dataset.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char images[256], labels[256];
    if (!images[0]) {
        fuzz_path(images, sizeof images, "images-idx3-ubyte.gz");
        fuzz_path(labels, sizeof labels, "labels-idx1-ubyte.gz");
    }
    if (size < 3)
        return 0;
    size_t images_len = (size_t)data[1] | (size_t)data[2] << 8;
    if (images_len > size - 3)
        images_len = size - 3;
    fuzz_write(images, data + 3, images_len, data[0] & 1);
    fuzz_write(labels, data + 3 + images_len, size - 3 - images_len, data[0] & 2);
    fcb_dataset ds;
    fcb_status st = fcb_dataset_load_idx(images, labels, &ds);
    if (st != FCB_OK) {
        fuzz_check_failure(st);
        fuzz_require(ds.x == NULL && ds.y == NULL);
        return 0;
    }
    fuzz_require(ds.n > 0 && ds.d > 0 && ds.k > 0);
    for (int i = 0; i < ds.n; i++)
        fuzz_require(ds.y[i] >= 0 && ds.y[i] < ds.k);
    for (size_t j = 0; j < (size_t)ds.n * (size_t)ds.d; j++)
        fuzz_require(ds.x[j] >= 0.0f && ds.x[j] <= 1.0f);
    fcb_dataset_free(&ds);
    return 0;
}
