#ifndef FEDCB_DATA_FILE_H
#define FEDCB_DATA_FILE_H

#include "dataset.h"

/* A local data file as a client or an operator names it: a Vowpal Wabbit
 * contextual-bandit log (`action:cost:probability | features`), a VW
 * multiclass file (`label | features`) or LibSVM (`label index:value`),
 * plain or gzip. */

typedef enum { FCB_DATA_CB, FCB_DATA_VW, FCB_DATA_LIBSVM } fcb_data_format;

/* "auto" reads the first example line to tell; "cb", "vw", "libsvm" are
 * taken as they are. Errors name the file. */
fcb_status fcb_data_format_resolve(const char *name, const char *path, fcb_data_format *out);

/* A labelled file (VW multiclass or LibSVM) with the model's shape: dim
 * features and num_actions classes. */
fcb_status fcb_data_load_labelled(const char *path, fcb_data_format format, int dim, int num_actions,
                                  fcb_dataset *out);

#endif
