#include "bench_suite.h"
#include "ini_lines.h"

#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    fcb_suite *suite;
    fcb_status status;
    char error[1200];
} parse_state;

/* Records what is wrong with the current line (inih returns its number). */
static int parse_fail(parse_state *ps, const char *fmt, ...) FCB_PRINTF(2, 3);
static int parse_fail(parse_state *ps, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->error, sizeof ps->error, fmt, ap);
    va_end(ap);
    ps->status = FCB_ERR_CONFIG;
    return 0;
}

static int copy_text(char *dst, size_t size, const char *value)
{
    if (strlen(value) >= size)
        return 0;
    strcpy(dst, value);
    return 1;
}

/* The entry for section "kind name", created on first sight. */
static void *entry_for(fcb_suite *s, const char *section, int *is_scenario)
{
    const char *name = strchr(section, ' ');
    if (!name || !name[1] || strlen(name + 1) >= FCB_SUITE_NAME_MAX)
        return NULL;
    name++;
    *is_scenario = strncmp(section, "scenario ", 9) == 0;
    if (*is_scenario) {
        for (int i = 0; i < s->num_scenarios; i++)
            if (strcmp(s->scenarios[i].name, name) == 0)
                return &s->scenarios[i];
        if (s->num_scenarios == FCB_SUITE_MAX_SCENARIOS)
            return NULL;
        fcb_suite_scenario *sc = &s->scenarios[s->num_scenarios++];
        strcpy(sc->name, name);
        sc->ceiling = -1.0;
        return sc;
    }
    if (strncmp(section, "policy ", 7) != 0)
        return NULL;
    for (int i = 0; i < s->num_policies; i++)
        if (strcmp(s->policies[i].name, name) == 0)
            return &s->policies[i];
    if (s->num_policies == FCB_SUITE_MAX_POLICIES)
        return NULL;
    fcb_suite_policy *p = &s->policies[s->num_policies++];
    strcpy(p->name, name);
    return p;
}

static int handle_entry(void *user, const char *section, const char *key, const char *value)
{
    parse_state *ps = user;
    fcb_suite *s = ps->suite;
    if (strcmp(section, "suite") == 0) {
        char *end;
        long seeds = strtol(value, &end, 10);
        if (strcmp(key, "seeds") != 0)
            return parse_fail(ps, "unknown key '%s' in [%s]", key, section);
        if (end == value || *end || seeds < 1 || seeds > 1000)
            return parse_fail(ps, "suite.seeds: '%s' is not a count in [1, 1000]", value);
        s->seeds = (int)seeds;
        return 1;
    }
    int is_scenario = 0;
    void *entry = entry_for(s, section, &is_scenario);
    if (!entry)
        return parse_fail(ps, "section [%s] is not [suite], [scenario NAME] or [policy NAME] (or too many of them)",
                              section);
    if (strcmp(key, "set") == 0) {
        /* Several `set` lines in a section add up, so that long overrides can be split. */
        char *sets = is_scenario ? ((fcb_suite_scenario *)entry)->sets : ((fcb_suite_policy *)entry)->sets;
        size_t used = strlen(sets);
        int n = snprintf(sets + used, FCB_SUITE_SET_MAX - used, "%s%s", used ? "; " : "", value);
        if (n < 0 || (size_t)n >= FCB_SUITE_SET_MAX - used)
            return parse_fail(ps, "[%s] set: overrides longer than %d bytes", section, FCB_SUITE_SET_MAX - 1);
        return 1;
    }
    if (!is_scenario && strcmp(key, "family") == 0) {
        if (!value[0] || !copy_text(((fcb_suite_policy *)entry)->family, FCB_SUITE_NAME_MAX, value))
            return parse_fail(ps, "[%s] family: '%s' is not a name of 1 to 63 bytes", section, value);
        return 1;
    }
    if (is_scenario && strcmp(key, "config") == 0) {
        fcb_suite_scenario *sc = entry;
        char dir[FCB_CONFIG_PATH_MAX];
        snprintf(dir, sizeof dir, "%s", s->path);
        char *slash = strrchr(dir, '/');
        int n = value[0] == '/' || !slash ? snprintf(sc->config, sizeof sc->config, "%s", value)
                                          : (*slash = '\0', snprintf(sc->config, sizeof sc->config, "%s/%s", dir, value));
        if (n < 0 || (size_t)n >= sizeof sc->config)
            return parse_fail(ps, "[%s] config: path too long", section);
        return 1;
    }
    if (is_scenario && strcmp(key, "ceiling") == 0) {
        char *end;
        double c = strtod(value, &end);
        if (end == value || *end || !(c > 0.0 && c <= 1.0))
            return parse_fail(ps, "[%s] ceiling: '%s' is not an accuracy in (0, 1]", section, value);
        ((fcb_suite_scenario *)entry)->ceiling = c;
        return 1;
    }
    return parse_fail(ps, "unknown key '%s' in [%s]", key, section);
}

fcb_status fcb_suite_load(fcb_suite *s, const char *path)
{
    memset(s, 0, sizeof *s);
    s->seeds = 3;
    if (strlen(path) >= sizeof s->path)
        return fcb_fail(FCB_ERR_ARG, "suite path too long");
    strcpy(s->path, path);
    FILE *f = fopen(path, "r");
    if (!f)
        return fcb_fail(FCB_ERR_IO, "cannot open suite %s", path);
    fcb_status lines = fcb_ini_check_lines(f, path);
    if (lines != FCB_OK) {
        fclose(f);
        return lines;
    }
    parse_state ps = {s, FCB_OK, ""};
    int line = ini_parse_file(f, handle_entry, &ps);
    fclose(f);
    if (ps.status != FCB_OK)
        return fcb_fail(ps.status, "%s:%d: %s", path, line, ps.error);
    if (line != 0)
        return fcb_fail(FCB_ERR_CONFIG, "%s:%d: malformed line", path, line);
    if (s->num_scenarios == 0 || s->num_policies == 0)
        return fcb_fail(FCB_ERR_CONFIG, "%s: a suite needs at least one [scenario NAME] and one [policy NAME]", path);
    for (int i = 0; i < s->num_scenarios; i++)
        if (!s->scenarios[i].config[0])
            return fcb_fail(FCB_ERR_CONFIG, "%s: [scenario %s] has no config", path, s->scenarios[i].name);
    return FCB_OK;
}

/* Applies "a=b; c=d" overrides. */
static fcb_status apply_sets(fcb_config *c, const char *sets, const char *where)
{
    char copy[FCB_SUITE_SET_MAX];
    snprintf(copy, sizeof copy, "%s", sets);
    char *save = NULL;
    for (char *item = strtok_r(copy, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
        while (*item == ' ' || *item == '\t')
            item++;
        size_t n = strlen(item);
        while (n > 0 && (item[n - 1] == ' ' || item[n - 1] == '\t'))
            item[--n] = '\0';
        if (n == 0)
            continue;
        fcb_status st = fcb_config_set(c, item);
        if (st != FCB_OK)
            return fcb_fail_context(st, "%s", where);
    }
    return FCB_OK;
}

fcb_status fcb_suite_cell_config(const fcb_suite *s, int scenario, int policy, int seed, fcb_config *c)
{
    const fcb_suite_scenario *sc = &s->scenarios[scenario];
    const fcb_suite_policy *p = &s->policies[policy];
    fcb_config_default(c);
    fcb_status st = fcb_config_load(c, sc->config);
    char where[FCB_CONFIG_PATH_MAX + 200];
    snprintf(where, sizeof where, "%s [scenario %s]", s->path, sc->name);
    if (st == FCB_OK)
        st = apply_sets(c, sc->sets, where);
    snprintf(where, sizeof where, "%s [policy %s]", s->path, p->name);
    if (st == FCB_OK)
        st = apply_sets(c, p->sets, where);
    if (st != FCB_OK)
        return st;
    c->seed = (uint64_t)seed;
    c->threads = 1;
    return fcb_config_validate(c);
}
