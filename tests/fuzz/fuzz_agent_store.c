/* libFuzzer target for the agent's local store (client/agent_store.c): the
 * input is the bytes of the SQLite file. First an agent opens it through
 * its public API (fcb_agent_open with store_path), which checks the file's
 * identity and schema, loads the model and resumes the stored decisions;
 * either the open fails with a one-line message or the agent works: it
 * decides once and closes. Then the store alone reopens the file and every
 * row its scan hands out, and the model it loads, must satisfy
 * agent_store.h's contract (what its puts accept). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "agent_store.h"
#include "fedcb/agent.h"
#include "fuzz_common.h"

enum { DIM = 3, ACTIONS = 2, PARAMS = (DIM + 1) * ACTIONS };

static void remove_store(const char *path)
{
    static const char *const SIDE[] = {"", "-wal", "-shm", "-journal"};
    char side[300];
    for (size_t i = 0; i < sizeof SIDE / sizeof SIDE[0]; i++) {
        snprintf(side, sizeof side, "%s%s", path, SIDE[i]);
        unlink(side);
    }
}

static void through_agent(const char *path)
{
    fcb_agent_options o;
    fcb_agent_options_default(&o);
    o.input_dim = DIM;
    o.num_actions = ACTIONS;
    o.learn_every = 0;
    o.quiet = 1;
    o.pending_capacity = 64;
    o.store_queue = 64;
    o.store_sync_full = 0;
    o.store_path = path;
    fcb_agent *agent = fuzz_open_agent(&o);
    if (agent == NULL)
        return;
    const float context[DIM] = {0.5f, -1.0f, 2.0f};
    fcb_decision decision;
    fcb_status st = fcb_agent_decide(agent, context, DIM, &decision);
    if (st != FCB_OK) {
        fprintf(stderr, "fuzz_agent_store: the agent opened but cannot decide: %s\n", fcb_last_error());
        abort();
    }
    fuzz_require(decision.action >= 0 && decision.action < ACTIONS);
    st = fcb_agent_close(agent);
    if (st != FCB_OK)
        fuzz_check_failure(st);
}

static fcb_status check_row(void *ctx, const fcb_store_decision *d, int has_feedback, float reward,
                            double feedback_time)
{
    (void)ctx;
    fuzz_require(d->event_id >= 1 && d->event_id <= (uint64_t)INT64_MAX);
    fuzz_require(d->action >= 0 && d->action < ACTIONS);
    fuzz_require(d->propensity > 0.0f && d->propensity <= 1.0f && isfinite(d->time));
    fuzz_require(!has_feedback || (isfinite(reward) && isfinite(feedback_time)));
    return FCB_OK;
}

static void through_store(const char *path)
{
    fcb_agent_store_options so = {.path = path, .input_dim = DIM, .num_actions = ACTIONS, .queue_capacity = 64};
    fcb_agent_store *s = NULL;
    fcb_status st = fcb_agent_store_open(&so, &s);
    if (st != FCB_OK) {
        fuzz_check_failure(st);
        return;
    }
    st = fcb_agent_store_scan(s, check_row, NULL);
    if (st != FCB_OK)
        fuzz_check_failure(st);
    float params[PARAMS];
    int64_t version = 0;
    int found = 0;
    st = fcb_agent_store_load_model(s, &version, params, PARAMS, &found);
    if (st != FCB_OK)
        fuzz_check_failure(st);
    for (int j = 0; found && j < PARAMS; j++)
        fuzz_require(isfinite(params[j]));
    st = fcb_agent_store_close(s);
    if (st != FCB_OK)
        fuzz_check_failure(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[256];
    if (!path[0])
        fuzz_path(path, sizeof path, "agent.db");
    remove_store(path);
    fuzz_write(path, data, size, 0);
    through_agent(path);
    remove_store(path);
    fuzz_write(path, data, size, 0);
    through_store(path);
    return 0;
}
