#include <stdlib.h>

#include "agent_federation.h"
#include "agent_ini.h"

/* The public entry points: an agent that can join a federation. */

fcb_status fcb_agent_open(const fcb_agent_options *options, fcb_agent **out)
{
    if (!out)
        return fcb_fail(FCB_ERR_ARG, "fcb_agent_open: NULL out");
    return fcb_agent_open_with(options, fcb_agent_federation_learner, out);
}

fcb_status fcb_agent_open_ini(const char *path, fcb_agent **out)
{
    if (!path || !out)
        return fcb_fail(FCB_ERR_ARG, "fcb_agent_open_ini: NULL argument");
    *out = NULL;
    fcb_agent_ini *ini = calloc(1, sizeof *ini);
    if (!ini)
        return fcb_fail(FCB_ERR_NOMEM, "fcb_agent_open_ini: out of memory");
    fcb_status st = fcb_agent_ini_load(path, ini);
    if (st == FCB_OK) {
        st = fcb_agent_open(&ini->options, out);
        if (st != FCB_OK)
            fcb_fail_context(st, "%s", path);
    }
    free(ini);
    return st;
}
