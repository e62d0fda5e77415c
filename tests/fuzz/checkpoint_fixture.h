#ifndef FEDCB_TESTS_CHECKPOINT_FIXTURE_H
#define FEDCB_TESTS_CHECKPOINT_FIXTURE_H

#include "checkpoint.h"
#include "config_file.h"
#include "sim_evaluator.h"
#include "world.h"

/* Small federations whose checkpoints fuzz_checkpoint decodes (as in
 * tests/test_checkpoint.c): a score model with Adam and adaptive DP, a
 * linear bandit, a run with a preference stage, linear bandits with a
 * forgetting window and with discounting. make_seeds writes their real
 * checkpoints after some rounds. */
enum { CKPT_SCORE, CKPT_LINEAR, CKPT_PREFERENCE, CKPT_WINDOW, CKPT_DISCOUNT, CKPT_NUM_KINDS };

typedef struct {
    fcb_config config;
    fcb_world world;
    fcb_sim_evaluator sim;
    fcb_evaluator evaluator;
    fcb_federation_config fc;
    char hash[65];
} ckpt_fixture;

/* Builds kind's world; the caller frees it with ckpt_fixture_free. */
fcb_status ckpt_fixture_make(int kind, ckpt_fixture *f);
void ckpt_fixture_free(ckpt_fixture *f);

/* Plays `rounds` rounds with made-up client updates, checkpointing each
 * into dir. */
fcb_status ckpt_fixture_save_rounds(const ckpt_fixture *f, const char *dir, int rounds);

#endif
