#ifndef FEDCB_CHECKPOINT_H
#define FEDCB_CHECKPOINT_H

#include "federation.h"
#include "round_finish.h"

/* The coordinator's durable state after a completed round: the current and
 * deployed models (or statistics), the preference stage's reference, the
 * DP clip norm and privacy accountant, the server optimiser's state, the model
 * versions and the run's tally. The round number is the RNG position: every
 * stream is keyed by (seed, purpose, client, round). Each checkpoint is
 * written to a temporary file, fsynced, renamed to DIR/round-NNNNNN.ckpt and
 * the directory fsynced; a SHA-256 trailer guards it. The two newest are
 * kept. */

fcb_status fcb_checkpoint_save(const char *dir, const char *config_hash, const fcb_federation *f,
                               const fcb_run_tally *tally);

/* Restores the newest checkpoint in dir that is complete, intact and made
 * with the same config hash. *found = 0 (and nothing changes) when there is
 * none; damaged files are reported on stderr and skipped. */
fcb_status fcb_checkpoint_load_newest(const char *dir, const char *config_hash, fcb_federation *f,
                                      fcb_run_tally *tally, int *found);

#endif
