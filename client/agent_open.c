#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ini_lines.h"

#include "agent_federation.h"
#include "text_reader.h"

/* The public entry points: an agent that can join a federation. */

fcb_status fcb_agent_open(const fcb_agent_options *options, fcb_agent **out)
{
    if (!out)
        return fcb_fail(FCB_ERR_ARG, "fcb_agent_open: NULL out");
    return fcb_agent_open_with(options, fcb_agent_federation_learner, out);
}

/* ---- [agent] keys of an INI file ---- */

enum { STRING_KEYS = 6, STRING_CAPACITY = 1024 };

typedef struct {
    const char *path;
    fcb_agent_options options;
    char strings[STRING_KEYS][STRING_CAPACITY];
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
        snprintf(s->strings[i], STRING_CAPACITY, "%s", value);
        const char **slot[STRING_KEYS] = {&s->options.arch, &s->options.policy, &s->options.loss,
                                          &s->options.store_path, &s->options.coordinator, &s->options.tls_dir};
        *slot[i] = s->strings[i];
        return 1;
    }
    return 0;
}

/* 1: set; 0: not a number key; -1: a number key with a bad value. */
static int set_number(ini_state *s, const char *name, const char *value)
{
    fcb_agent_options *o = &s->options;
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
        double d;
        if (keys[k].i)
            return fcb_parse_int(value, keys[k].i) ? 1 : -1;
        if (keys[k].l)
            return parse_long(value, keys[k].l) ? 1 : -1;
        if (!fcb_parse_double(value, &d))
            return -1;
        if (keys[k].f)
            *keys[k].f = (float)d;
        else
            *keys[k].d = d;
        return 1;
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
        s->options.seed = v;
    else if (v > 0xffffffffull)
        return -1;
    else
        s->options.hash_seed = (uint32_t)v;
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

fcb_status fcb_agent_open_ini(const char *path, fcb_agent **out)
{
    if (!path || !out)
        return fcb_fail(FCB_ERR_ARG, "fcb_agent_open_ini: NULL argument");
    *out = NULL;
    ini_state *s = calloc(1, sizeof *s);
    if (!s)
        return fcb_fail(FCB_ERR_NOMEM, "fcb_agent_open_ini: out of memory");
    s->path = path;
    fcb_agent_options_default(&s->options);
    FILE *f = fopen(path, "r");
    fcb_status st = FCB_OK;
    if (!f) {
        st = fcb_fail(FCB_ERR_IO, "cannot open agent config %s: %s", path, strerror(errno));
    } else if ((st = fcb_ini_check_lines(f, path)) != FCB_OK) {
        fclose(f);
    } else {
        int rc = ini_parse_file(f, on_key, s);
        fclose(f);
        if (rc != 0)
            st = fcb_fail(FCB_ERR_CONFIG, "%s:%d: %s", path, rc, s->error[0] ? s->error : "syntax error");
    }
    if (st == FCB_OK) {
        st = fcb_agent_open(&s->options, out);
        if (st != FCB_OK)
            fcb_fail_context(st, "%s", path);
    }
    free(s);
    return st;
}
