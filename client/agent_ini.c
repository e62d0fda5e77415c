#include "agent_ini.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text_reader.h"

enum { STRING_KEYS = FCB_AGENT_INI_STRINGS, STRING_CAPACITY = FCB_INI_MAX_LINE + 1 };

typedef struct {
    fcb_agent_ini *ini;
    char error[512];
} ini_state;

static int parse_long(const char *value, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end != '\0')
        return 0;
    *out = v;
    return 1;
}

static const char *const string_keys[STRING_KEYS] = {"arch", "policy", "loss", "store_path", "coordinator", "tls_dir"};

static int set_string(ini_state *s, const char *name, const char *value)
{
    for (int i = 0; i < STRING_KEYS; i++) {
        if (strcmp(name, string_keys[i]) != 0)
            continue;
        fcb_agent_options *o = &s->ini->options;
        snprintf(s->ini->strings[i], STRING_CAPACITY, "%s", value);
        const char **slot[STRING_KEYS] = {&o->arch, &o->policy, &o->loss, &o->store_path, &o->coordinator,
                                          &o->tls_dir};
        *slot[i] = s->ini->strings[i];
        return 1;
    }
    return 0;
}

/* 1: set; 0: not a number key; -1: a number key with a bad value. */
static int set_number(ini_state *s, const char *name, const char *value)
{
    fcb_agent_options *o = &s->ini->options;
    struct {
        const char *name;
        int *i;
        long *l;
        float *f;
        double *d;
    } keys[] = {
        {"input_dim", &o->input_dim, NULL, NULL, NULL},   {"num_actions", &o->num_actions, NULL, NULL, NULL},
        {"hidden", &o->hidden, NULL, NULL, NULL},         {"learn_every", &o->learn_every, NULL, NULL, NULL},
        {"local_epochs", &o->local_epochs, NULL, NULL, NULL}, {"batch_size", &o->batch_size, NULL, NULL, NULL},
        {"pending_capacity", &o->pending_capacity, NULL, NULL, NULL},
        {"store_queue", &o->store_queue, NULL, NULL, NULL}, {"store_sync_full", &o->store_sync_full, NULL, NULL, NULL},
        {"insecure", &o->insecure, NULL, NULL, NULL},     {"client_id", &o->client_id, NULL, NULL, NULL},
        {"min_round_events", &o->min_round_events, NULL, NULL, NULL}, {"quiet", &o->quiet, NULL, NULL, NULL},
        {"store_max_rows", NULL, &o->store_max_rows, NULL, NULL},
        {"epsilon", NULL, NULL, &o->epsilon, NULL},       {"temperature", NULL, NULL, &o->temperature, NULL},
        {"igw_gamma", NULL, NULL, &o->igw_gamma, NULL},   {"learning_rate", NULL, NULL, &o->learning_rate, NULL},
        {"feedback_window", NULL, NULL, NULL, &o->feedback_window},
        {"store_max_age", NULL, NULL, NULL, &o->store_max_age},
        {"round_wait", NULL, NULL, NULL, &o->round_wait}, {"give_up", NULL, NULL, NULL, &o->give_up},
    };
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        if (strcmp(name, keys[k].name) != 0)
            continue;
        if (keys[k].i)
            return fcb_parse_int(value, keys[k].i) ? 1 : -1;
        if (keys[k].l)
            return parse_long(value, keys[k].l) ? 1 : -1;
        if (keys[k].f) /* a finite float: 1e39 is refused, not made inf */
            return fcb_parse_float(value, keys[k].f) ? 1 : -1;
        return fcb_parse_double(value, keys[k].d) ? 1 : -1;
    }
    return 0;
}

static int set_u64(ini_state *s, const char *name, const char *value)
{
    if (strcmp(name, "seed") != 0 && strcmp(name, "hash_seed") != 0)
        return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(value, &end, 10);
    if (errno || end == value || *end != '\0' || value[0] == '-')
        return -1;
    if (strcmp(name, "seed") == 0)
        s->ini->options.seed = v;
    else if (v > 0xffffffffull)
        return -1;
    else
        s->ini->options.hash_seed = (uint32_t)v;
    return 1;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
    ini_state *s = user;
    if (strcmp(section, "agent") != 0) {
        snprintf(s->error, sizeof s->error, "section [%s]: the agent reads only [agent]", section);
        return 0;
    }
    if (set_string(s, name, value))
        return 1;
    int r = set_number(s, name, value);
    if (r == 0)
        r = set_u64(s, name, value);
    if (r == 1)
        return 1;
    if (r == 0)
        snprintf(s->error, sizeof s->error, "unknown key agent.%s", name);
    else
        snprintf(s->error, sizeof s->error, "agent.%s = '%s' is not a valid number", name, value);
    return 0;
}

fcb_status fcb_agent_ini_load(const char *path, fcb_agent_ini *ini)
{
    if (!path || !ini)
        return fcb_fail(FCB_ERR_ARG, "agent config: NULL argument");
    memset(ini, 0, sizeof *ini);
    fcb_agent_options_default(&ini->options);
    ini_state s = {.ini = ini, .error = ""};
    FILE *f = fopen(path, "r");
    if (!f)
        return fcb_fail(FCB_ERR_IO, "cannot open agent config %s: %s", path, strerror(errno));
    fcb_status st = fcb_ini_check_lines(f, path);
    if (st == FCB_OK) {
        int rc = ini_parse_file(f, on_key, &s);
        if (rc != 0)
            st = fcb_fail(FCB_ERR_CONFIG, "%s:%d: %s", path, rc, s.error[0] ? s.error : "syntax error");
    }
    fclose(f);
    return st;
}
