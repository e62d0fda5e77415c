#ifndef FEDCB_TESTS_FUZZ_COMMON_H
#define FEDCB_TESTS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "fedcb/agent.h"
#include "status.h"

/* What the file-reading fuzz targets share: a per-process temporary
 * directory (created on first use, removed at exit) to write each input
 * into as the file a loader reads, and the loaders' contract. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* DIR/name in the per-process temporary directory (a static buffer per call
 * site is the caller's: the result is copied into out). */
void fuzz_path(char *out, size_t size, const char *name);

/* Writes len bytes to path, gzip-compressed when gzip is non-zero; aborts
 * when it cannot (the harness, not the loader, failed). */
void fuzz_write(const char *path, const uint8_t *data, size_t len, int gzip);

/* A broken contract is a crash libFuzzer reports with its input. */
void fuzz_require(int condition);

/* A loader's failure: an error status with a one-line message. */
void fuzz_check_failure(fcb_status st);

/* fcb_agent_open(options): the agent, or NULL after checking that the
 * failure kept the contract (a one-line message, no agent handed out). */
fcb_agent *fuzz_open_agent(const fcb_agent_options *options);

#endif
