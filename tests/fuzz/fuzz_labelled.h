#ifndef FEDCB_TESTS_FUZZ_LABELLED_H
#define FEDCB_TESTS_FUZZ_LABELLED_H

#include <stddef.h>
#include <stdint.h>

#include "data_file.h"

/* fuzz_libsvm and fuzz_vw: a labelled data file as `fedcb evaluate` and
 * `fedcb client` read it (cli/data_file.c). The first input byte picks how:
 * bit 0 gzip-compresses the file, bit 1 lets the format be sniffed ("auto")
 * instead of named, bits 2-4 the model's dim, bits 5-7 its number of
 * actions, where 0 stands for the simulator's path instead (the loader of
 * simulations/dataset_text.c itself, classes from the largest label); the
 * rest is the file. */
void fuzz_labelled(const uint8_t *data, size_t size, const char *format_name);

#endif
