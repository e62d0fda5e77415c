/* libFuzzer target for coordinator checkpoints (coordinator/checkpoint.c,
 * checkpoint_io.c and every section decoder). The first byte picks one of
 * five federations (checkpoint_fixture.h); the rest is a checkpoint file
 * without its trailing SHA-256, which the target appends, so that the input
 * reaches the section decoders instead of stopping at the digest (a wrong
 * digest is one comparison). The file becomes the only checkpoint of a
 * state directory and fcb_checkpoint_load_newest restores it into a fresh
 * federation: it loads, or is skipped (found = 0), or fails with a
 * one-line message; the live federation is freed either way. */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint_fixture.h"
#include "fuzz_common.h"
#include "log.h"

static ckpt_fixture fixtures[CKPT_NUM_KINDS];
static int made[CKPT_NUM_KINDS];

static const ckpt_fixture *fixture(int kind)
{
    if (!made[kind]) {
        if (ckpt_fixture_make(kind, &fixtures[kind]) != FCB_OK) {
            fprintf(stderr, "fuzz_checkpoint: fixture: %s\n", fcb_last_error());
            abort();
        }
        made[kind] = 1;
    }
    return &fixtures[kind];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dir[256], path[300];
    if (!dir[0]) {
        fuzz_path(path, sizeof path, "round-000001.ckpt");
        fuzz_path(dir, sizeof dir, "");
        fcb_log_set_thread_quiet(1); /* the skipped-file line of every damaged input */
    }
    if (size == 0)
        return 0;
    const ckpt_fixture *f = fixture(data[0] % CKPT_NUM_KINDS);
    size_t body = size - 1;
    uint8_t *file = malloc(body + 32);
    fuzz_require(file != NULL);
    if (body)
        memcpy(file, data + 1, body);
    unsigned int digest_len = 0;
    fuzz_require(EVP_Digest(file, body, file + body, &digest_len, EVP_sha256(), NULL) == 1 && digest_len == 32);
    fuzz_write(path, file, body + 32, 0);
    free(file);
    fcb_federation fed;
    fuzz_require(fcb_federation_init(&fed, &f->fc, &f->evaluator) == FCB_OK);
    fcb_run_tally tally;
    fcb_run_tally_init(&tally);
    int found = -1;
    fcb_status st = fcb_checkpoint_load_newest(dir, f->hash, &fed, &tally, &found);
    if (st != FCB_OK)
        fuzz_check_failure(st);
    else
        fuzz_require(found == 0 || found == 1);
    fcb_federation_free(&fed);
    return 0;
}
