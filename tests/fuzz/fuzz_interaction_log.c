/* libFuzzer target for the interaction log `fedcb ope` reads
 * (cli/interaction_log.c). The first byte: bit 0 gzip-compresses the file
 * (as the program writes it; plain text is read too), bits 1-3 pick the
 * number of actions; the rest is the file. A log that loads satisfies
 * interaction_log.h's contract. */
#include <math.h>

#include "fuzz_common.h"
#include "interaction_log.h"

static const int ACTIONS[8] = {1, 2, 3, 4, 5, 10, 100, 1000};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[256];
    if (!path[0])
        fuzz_path(path, sizeof path, "interactions.csv.gz");
    if (size == 0)
        return 0;
    int num_actions = ACTIONS[(data[0] >> 1) & 7];
    fuzz_write(path, data + 1, size - 1, data[0] & 1);
    fcb_interaction_log log;
    fcb_status st = fcb_interaction_log_read(path, num_actions, &log);
    if (st != FCB_OK) {
        fuzz_check_failure(st);
        fuzz_require(log.rows == NULL && log.n == 0);
        return 0;
    }
    fuzz_require(log.n > 0);
    for (long i = 0; i < log.n; i++) {
        const fcb_interaction *r = &log.rows[i];
        fuzz_require(r->round >= 1 && r->client >= 0 && r->row >= 0);
        fuzz_require(r->action >= 0 && r->action < num_actions);
        fuzz_require(r->propensity > 0.0f && r->propensity <= 1.0f && isfinite(r->reward));
    }
    fcb_interaction_log_free(&log);
    return 0;
}
