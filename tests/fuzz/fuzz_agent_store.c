/* libFuzzer target for the agent's local store (client/agent_store.c): the
 * input is the bytes of the SQLite file an agent opens through its public
 * API (fcb_agent_open with store_path), which checks the file's identity
 * and schema, loads the model and resumes the stored decisions; then the
 * agent is closed. Either the open fails with a one-line message or the
 * agent works: it decides once and closes cleanly. */
#include <stdio.h>
#include <unistd.h>

#include "fedcb/agent.h"
#include "fuzz_common.h"

enum { DIM = 3, ACTIONS = 2 };

static void remove_store(const char *path)
{
    static const char *const SIDE[] = {"", "-wal", "-shm", "-journal"};
    char side[300];
    for (size_t i = 0; i < sizeof SIDE / sizeof SIDE[0]; i++) {
        snprintf(side, sizeof side, "%s%s", path, SIDE[i]);
        unlink(side);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[256];
    if (!path[0])
        fuzz_path(path, sizeof path, "agent.db");
    remove_store(path);
    fuzz_write(path, data, size, 0);
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
    fcb_agent *agent = NULL;
    fcb_status st = fcb_agent_open(&o, &agent);
    if (st != FCB_OK) {
        fuzz_check_failure(st);
        fuzz_require(agent == NULL);
        return 0;
    }
    const float context[DIM] = {0.5f, -1.0f, 2.0f};
    fcb_decision decision;
    fuzz_require(fcb_agent_decide(agent, context, DIM, &decision) == FCB_OK);
    fuzz_require(decision.action >= 0 && decision.action < ACTIONS);
    st = fcb_agent_close(agent);
    if (st != FCB_OK)
        fuzz_check_failure(st);
    return 0;
}
