#ifndef FEDCB_AGENT_INI_H
#define FEDCB_AGENT_INI_H

#include "fedcb/agent.h"
#include "ini_lines.h"

/* The [agent] keys of an INI file: the first half of fcb_agent_open_ini,
 * apart so that the reading can be tested and fuzzed without opening an
 * agent. The options start from fcb_agent_options_default; the string
 * options point into strings (a line holds at most FCB_INI_MAX_LINE
 * characters, so a value always fits). */
enum { FCB_AGENT_INI_STRINGS = 6 };

typedef struct {
    fcb_agent_options options;
    char strings[FCB_AGENT_INI_STRINGS][FCB_INI_MAX_LINE + 1];
} fcb_agent_ini;

/* FCB_ERR_IO when the file cannot be read; FCB_ERR_CONFIG naming the file,
 * line and key for a section other than [agent], an unknown key or a value
 * that is not a number (in range) where one is needed. */
fcb_status fcb_agent_ini_load(const char *path, fcb_agent_ini *ini);

#endif
