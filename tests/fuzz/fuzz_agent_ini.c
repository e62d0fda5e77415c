/* libFuzzer target for the agent's INI file (client/agent_ini.c): the input
 * is the file. Reading it either fails with a one-line message or gives
 * options whose strings are held in the result and fit a line. When those
 * options are small and touch nothing outside the process (no store path,
 * no coordinator; dimensions up to 64, queues up to their defaults), an agent
 * is opened with them: it opens and decides, or fails with a one-line
 * message. Larger options are only read: opening them would measure the
 * allocator, not the reader. */
#include <stdlib.h>
#include <string.h>

#include "agent_ini.h"
#include "fuzz_common.h"

enum { SMALL_DIM = 64, SMALL_QUEUE = 65536 }; /* the defaults of the queues are 65536 */

static int held(const fcb_agent_ini *ini, const char *value)
{
    if (value == NULL)
        return 1;
    for (int i = 0; i < FCB_AGENT_INI_STRINGS; i++) {
        if (value == ini->strings[i])
            return strlen(value) <= FCB_INI_MAX_LINE;
    }
    return 0;
}

static int small_and_local(const fcb_agent_options *o)
{
    return o->store_path == NULL && o->coordinator == NULL && o->tls_dir == NULL && o->input_dim <= SMALL_DIM &&
           o->num_actions <= SMALL_DIM && o->hidden <= SMALL_DIM && o->pending_capacity <= SMALL_QUEUE &&
           o->store_queue <= SMALL_QUEUE && o->batch_size <= SMALL_QUEUE && o->learn_every <= SMALL_QUEUE;
}

static void open_and_decide(const fcb_agent_options *options)
{
    fcb_agent_options o = *options;
    o.quiet = 1;
    fcb_agent *agent = fuzz_open_agent(&o);
    if (agent == NULL)
        return;
    float context[SMALL_DIM] = {0.5f, -1.0f, 2.0f};
    fcb_decision decision;
    fcb_status st = fcb_agent_decide(agent, context, o.input_dim, &decision);
    fuzz_require(st == FCB_OK && decision.action >= 0 && decision.action < o.num_actions);
    fuzz_require(decision.propensity > 0.0f && decision.propensity <= 1.0f);
    st = fcb_agent_close(agent);
    if (st != FCB_OK)
        fuzz_check_failure(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[512];
    fuzz_path(path, sizeof path, "agent.ini");
    fuzz_write(path, data, size, 0);
    static fcb_agent_ini ini;
    fcb_status st = fcb_agent_ini_load(path, &ini);
    if (st != FCB_OK) {
        fuzz_check_failure(st);
        return 0;
    }
    const fcb_agent_options *o = &ini.options;
    fuzz_require(held(&ini, o->store_path) && held(&ini, o->coordinator) && held(&ini, o->tls_dir));
    if (small_and_local(o))
        open_and_decide(o);
    return 0;
}
