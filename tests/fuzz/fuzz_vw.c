/* libFuzzer target for VW multiclass data files (simulations/dataset_text.c
 * and the VW feature parser of client/text_reader.c, through
 * cli/data_file.c); the input layout is fuzz_labelled.h's. */
#include "fuzz_common.h"
#include "fuzz_labelled.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_labelled(data, size, "vw");
    return 0;
}
