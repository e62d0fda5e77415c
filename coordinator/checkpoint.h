#ifndef FEDCB_CHECKPOINT_H
#define FEDCB_CHECKPOINT_H

#include "federation.h"
#include "round_close.h"

/* The coordinator's durable state after a completed round, in a state
 * directory: every module's section (checkpoint_io.h) -- the run's config
 * hash, the federation's versions, the global model (parameters and server
 * optimiser, or statistics), the aggregation rule's state (DP clip norm and
 * accountant), the preference reference and the run's tally. The round
 * number is the RNG position: every stream is keyed by (seed, purpose,
 * client, round). Each checkpoint is written to a temporary file, fsynced,
 * renamed to DIR/round-NNNNNN.ckpt and the directory fsynced; the two
 * newest are kept. */

fcb_status fcb_checkpoint_save(const char *dir, const char *config_hash, const fcb_federation *f,
                               const fcb_run_tally *tally);

/* Restores the newest checkpoint in dir that loads completely. Each
 * candidate is decoded into a fresh federation; only when every section
 * loaded and validated does it replace *f and *tally, so a damaged file
 * never leaves a mixed state. Damaged files are reported on stderr (file
 * and section) and the next older one is tried; *found = 0 (nothing
 * changed) when none loads. A checkpoint of another config is an error. */
fcb_status fcb_checkpoint_load_newest(const char *dir, const char *config_hash, fcb_federation *f,
                                      fcb_run_tally *tally, int *found);

#endif
