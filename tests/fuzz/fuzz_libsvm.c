/* libFuzzer target for LibSVM data files (simulations/dataset_text.c through
 * cli/data_file.c); the input layout is fuzz_labelled.h's. */
#include "fuzz_common.h"
#include "fuzz_labelled.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_labelled(data, size, "libsvm");
    return 0;
}
