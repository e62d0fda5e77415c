#include <string.h>

#include "world.h"

fcb_status fcb_scenario_from_name(const char *name, fcb_scenario_kind *out)
{
    if (strcmp(name, "scratch") == 0)
        *out = FCB_SCENARIO_SCRATCH;
    else if (strcmp(name, "init") == 0)
        *out = FCB_SCENARIO_INIT;
    else if (strcmp(name, "init-shift") == 0 || strcmp(name, "init_shift") == 0)
        *out = FCB_SCENARIO_INIT_SHIFT;
    else
        return fcb_fail(FCB_ERR_CONFIG,
                        "scenario.kind: unknown scenario '%s' (scratch, init, init-shift)", name);
    return FCB_OK;
}

const char *fcb_scenario_name(fcb_scenario_kind kind)
{
    switch (kind) {
    case FCB_SCENARIO_SCRATCH: return "scratch";
    case FCB_SCENARIO_INIT: return "init";
    case FCB_SCENARIO_INIT_SHIFT: return "init-shift";
    }
    return "unknown";
}
