#ifndef FEDCB_UPDATE_CHECK_H
#define FEDCB_UPDATE_CHECK_H

#include <stddef.h>

#include "status.h"

/* Validation of one client update before it touches the model, in this
 * order: n == expected_n, num_examples finite and > 0, every value finite,
 * L2 norm <= norm_bound (norm_bound <= 0: no bound; NaN bound is an error).
 * Any failure is FCB_ERR_ARG with a message naming the client and the
 * reason, e.g. "client 7: update has 10 values, model has 12",
 * "client 7: value 3 is NaN", "client 7: update norm 1e+06 exceeds bound 100". */
fcb_status fcb_update_check(const float *delta, size_t n, size_t expected_n, double num_examples,
                            double norm_bound, int client_id);

#endif
