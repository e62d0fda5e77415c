#include "name_table.h"
#include "world.h"

static const fcb_name_entry SCENARIO_NAMES[] = {
    {"scratch", FCB_SCENARIO_SCRATCH},
    {"init", FCB_SCENARIO_INIT},
    {"init-shift", FCB_SCENARIO_INIT_SHIFT},
    {"init_shift", FCB_SCENARIO_INIT_SHIFT},
};

fcb_status fcb_scenario_from_name(const char *name, fcb_scenario_kind *out)
{
    int value = 0;
    fcb_status st = fcb_name_lookup(SCENARIO_NAMES, sizeof SCENARIO_NAMES / sizeof SCENARIO_NAMES[0],
                                    "scenario.kind", name, &value);
    if (st == FCB_OK)
        *out = (fcb_scenario_kind)value;
    return st;
}

const char *fcb_scenario_name(fcb_scenario_kind kind)
{
    return fcb_name_of(SCENARIO_NAMES, sizeof SCENARIO_NAMES / sizeof SCENARIO_NAMES[0], (int)kind);
}
