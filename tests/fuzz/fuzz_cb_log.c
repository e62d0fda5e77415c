/* libFuzzer target for a client's VW contextual-bandit log as `fedcb client
 * --data` and `fedcb ope --vw-log` read it (client/log_source.c over
 * client/cb_log.c). The first byte: bit 0 gzip-compresses the file, bits 1-3
 * pick dim, bits 4-6 the number of actions; the rest is the file. A loaded
 * log satisfies cb_log.h's contract. */
#include <math.h>

#include "fuzz_common.h"
#include "log_source.h"

static const int DIMS[8] = {1, 2, 3, 4, 5, 8, 16, 64};
static const int ACTIONS[8] = {1, 2, 3, 4, 5, 10, 100, 1000};

static void check_log(const fcb_cb_log *log, int dim, int num_actions)
{
    fuzz_require(log->n > 0 && log->dim == dim);
    for (int i = 0; i < log->n; i++) {
        fuzz_require(log->actions[i] >= 0 && log->actions[i] < num_actions);
        fuzz_require(log->propensities[i] > 0.0f && log->propensities[i] <= 1.0f);
        fuzz_require(isfinite(log->rewards[i]));
    }
    for (size_t k = 0; k < (size_t)log->n * (size_t)dim; k++)
        fuzz_require(isfinite(log->x[k]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[256];
    if (!path[0])
        fuzz_path(path, sizeof path, "log.vw");
    if (size == 0)
        return 0;
    uint8_t control = data[0];
    int dim = DIMS[(control >> 1) & 7], num_actions = ACTIONS[(control >> 4) & 7];
    fuzz_write(path, data + 1, size - 1, control & 1);
    fcb_log_source source;
    fcb_status st = fcb_log_source_open(&source, path, dim, num_actions, 4);
    if (st != FCB_OK) {
        fuzz_check_failure(st);
        fuzz_require(source.log.x == NULL && source.log.n == 0);
        return 0;
    }
    check_log(&source.log, dim, num_actions);
    fcb_log_source_close(&source);
    return 0;
}
