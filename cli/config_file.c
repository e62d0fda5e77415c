#include "config_file.h"
#include "ini_lines.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defense_config.h"

typedef enum { KEY_INT, KEY_U64, KEY_DOUBLE, KEY_BOOL, KEY_NAME, KEY_PATH, KEY_INT_LIST } key_type;

typedef struct {
    const char *section;
    const char *key;
    key_type type;
    size_t offset;
    size_t count_offset; /* KEY_INT_LIST: where the list length lives */
} config_key;

#define FIELD(section, key, type, field) {section, key, type, offsetof(fcb_config, field), 0}
#define LIST(section, key, field, count) \
    {section, key, KEY_INT_LIST, offsetof(fcb_config, field), offsetof(fcb_config, count)}

static const config_key KEYS[] = {
    FIELD("run", "seed", KEY_U64, seed),
    FIELD("run", "rounds", KEY_INT, rounds),
    FIELD("run", "threads", KEY_INT, threads),
    FIELD("run", "eval_every", KEY_INT, eval_every),
    FIELD("run", "wall_clock", KEY_BOOL, wall_clock),
    FIELD("run", "log_interactions", KEY_BOOL, log_interactions),
    FIELD("run", "log_vw", KEY_BOOL, log_vw),
    FIELD("data", "source", KEY_NAME, data_source),
    FIELD("data", "path", KEY_PATH, data_path),
    FIELD("data", "test_path", KEY_PATH, data_test_path),
    FIELD("data", "cache_dir", KEY_PATH, data_cache_dir),
    FIELD("data", "test_fraction", KEY_DOUBLE, test_fraction),
    FIELD("data", "validation_fraction", KEY_DOUBLE, validation_fraction),
    FIELD("data", "standardize", KEY_BOOL, standardize),
    FIELD("data", "dim", KEY_INT, data_dim),
    FIELD("data", "classes", KEY_INT, data_classes),
    FIELD("data", "synthetic_train", KEY_INT, synthetic_train),
    FIELD("data", "synthetic_test", KEY_INT, synthetic_test),
    FIELD("data", "synthetic_dim", KEY_INT, synthetic_dim),
    FIELD("data", "synthetic_classes", KEY_INT, synthetic_classes),
    FIELD("data", "synthetic_nonlinear", KEY_BOOL, synthetic_nonlinear),
    FIELD("data", "synthetic_noise", KEY_DOUBLE, synthetic_noise),
    FIELD("scenario", "kind", KEY_NAME, scenario),
    FIELD("scenario", "pretrain_clients", KEY_INT, pretrain_clients),
    FIELD("scenario", "pretrain_epochs", KEY_INT, pretrain_epochs),
    FIELD("scenario", "pretrain_learning_rate", KEY_DOUBLE, pretrain_learning_rate),
    FIELD("scenario", "pretrain_batch_size", KEY_INT, pretrain_batch_size),
    FIELD("scenario", "partial_reward", KEY_DOUBLE, partial_reward),
    FIELD("scenario", "merge_classes", KEY_NAME, merge_classes),
    FIELD("clients", "num_clients", KEY_INT, num_clients),
    FIELD("clients", "clients_per_round", KEY_INT, clients_per_round),
    FIELD("clients", "examples_per_round", KEY_INT, examples_per_round),
    FIELD("clients", "dirichlet_alpha", KEY_DOUBLE, dirichlet_alpha),
    FIELD("clients", "size_sigma", KEY_DOUBLE, size_sigma),
    FIELD("clients", "feature_skew", KEY_DOUBLE, feature_skew),
    FIELD("clients", "participation", KEY_DOUBLE, participation),
    FIELD("clients", "dropout", KEY_DOUBLE, dropout),
    FIELD("clients", "straggler_fraction", KEY_DOUBLE, straggler_fraction),
    FIELD("clients", "straggler_delay", KEY_DOUBLE, straggler_delay),
    FIELD("clients", "round_deadline", KEY_DOUBLE, round_deadline),
    FIELD("model", "arch", KEY_NAME, arch),
    LIST("model", "hidden", hidden, num_hidden),
    LIST("model", "image_shape", image_shape, num_image_shape),
    LIST("model", "conv_channels", conv_channels, num_conv_channels),
    FIELD("model", "normalize_input", KEY_BOOL, normalize_input),
    FIELD("model", "input_dim", KEY_INT, model_input_dim),
    FIELD("model", "num_actions", KEY_INT, model_num_actions),
    FIELD("model", "init", KEY_PATH, model_init),
    FIELD("policy", "kind", KEY_NAME, policy),
    FIELD("policy", "epsilon", KEY_DOUBLE, epsilon),
    FIELD("policy", "temperature", KEY_DOUBLE, temperature),
    FIELD("policy", "igw_mu", KEY_DOUBLE, igw_mu),
    FIELD("policy", "igw_gamma", KEY_DOUBLE, igw_gamma),
    FIELD("policy", "ucb_alpha", KEY_DOUBLE, ucb_alpha),
    FIELD("policy", "ts_scale", KEY_DOUBLE, ts_scale),
    FIELD("policy", "ridge_lambda", KEY_DOUBLE, ridge_lambda),
    FIELD("policy", "diagonal", KEY_BOOL, diagonal),
    FIELD("policy", "propensity_samples", KEY_INT, propensity_samples),
    FIELD("policy", "propensity", KEY_NAME, ts_propensity),
    FIELD("policy", "ts_sample", KEY_NAME, ts_sample),
    FIELD("policy", "deploy_every", KEY_INT, deploy_every),
    FIELD("policy", "forgetting", KEY_NAME, forgetting),
    FIELD("policy", "discount", KEY_DOUBLE, discount),
    FIELD("policy", "window", KEY_INT, window),
    FIELD("train", "loss", KEY_NAME, loss),
    FIELD("train", "local_epochs", KEY_INT, local_epochs),
    FIELD("train", "batch_size", KEY_INT, batch_size),
    FIELD("train", "learning_rate", KEY_DOUBLE, learning_rate),
    FIELD("train", "max_weight", KEY_DOUBLE, max_weight),
    FIELD("train", "scale_weights", KEY_BOOL, scale_weights),
    FIELD("train", "momentum", KEY_DOUBLE, momentum),
    FIELD("train", "weight_decay", KEY_DOUBLE, weight_decay),
    FIELD("train", "clip_norm", KEY_DOUBLE, clip_norm),
    FIELD("server", "optimizer", KEY_NAME, server_optimizer),
    FIELD("server", "learning_rate", KEY_DOUBLE, server_learning_rate),
    FIELD("server", "momentum", KEY_DOUBLE, server_momentum),
    FIELD("server", "beta1", KEY_DOUBLE, server_beta1),
    FIELD("server", "beta2", KEY_DOUBLE, server_beta2),
    FIELD("server", "tau", KEY_DOUBLE, server_tau),
    FIELD("server", "bias_correction", KEY_BOOL, server_bias_correction),
    FIELD("server", "weighting", KEY_NAME, weighting),
    FIELD("server", "update_norm_bound", KEY_DOUBLE, update_norm_bound),
    FIELD("feedback", "mode", KEY_NAME, feedback_mode),
    FIELD("feedback", "p_click", KEY_DOUBLE, p_click),
    FIELD("feedback", "p_false", KEY_DOUBLE, p_false),
    FIELD("feedback", "noise_spread", KEY_DOUBLE, noise_spread),
    FIELD("drift", "kind", KEY_NAME, drift),
    FIELD("drift", "start", KEY_INT, drift_start),
    FIELD("drift", "duration", KEY_INT, drift_duration),
    FIELD("drift", "period", KEY_INT, drift_period),
    FIELD("drift", "strength", KEY_DOUBLE, drift_strength),
    LIST("drift", "late_classes", late_classes, num_late_classes),
    FIELD("preference", "rounds", KEY_INT, pref_rounds),
    FIELD("preference", "loss", KEY_NAME, pref_loss),
    FIELD("preference", "temperature", KEY_DOUBLE, pref_temperature),
    FIELD("preference", "beta", KEY_DOUBLE, pref_beta),
    FIELD("preference", "ipo_tau", KEY_DOUBLE, pref_ipo_tau),
    FIELD("preference", "rdpo_flip_rate", KEY_DOUBLE, pref_rdpo_flip_rate),
    FIELD("preference", "bt_temperature", KEY_DOUBLE, pref_bt_temperature),
    FIELD("preference", "flip_rate", KEY_DOUBLE, pref_flip_rate),
    FIELD("preference", "learning_rate", KEY_DOUBLE, pref_learning_rate),
    FIELD("preference", "local_epochs", KEY_INT, pref_local_epochs),
    FIELD("preference", "reward_models", KEY_PATH, pref_reward_models),
    FIELD("preference", "ensemble", KEY_NAME, pref_ensemble),
    FIELD("preference", "reward_scale", KEY_DOUBLE, pref_reward_scale),
    FIELD("dp", "enabled", KEY_BOOL, dp_enabled),
    FIELD("dp", "noise_multiplier", KEY_DOUBLE, dp_noise_multiplier),
    FIELD("dp", "clip_norm", KEY_DOUBLE, dp_clip_norm),
    FIELD("dp", "adaptive", KEY_BOOL, dp_adaptive),
    FIELD("dp", "target_quantile", KEY_DOUBLE, dp_target_quantile),
    FIELD("dp", "clip_learning_rate", KEY_DOUBLE, dp_clip_learning_rate),
    FIELD("dp", "clipped_count_stddev", KEY_DOUBLE, dp_clipped_count_stddev),
    FIELD("dp", "delta", KEY_DOUBLE, dp_delta),
    FIELD("aggregation", "kind", KEY_NAME, aggregation),
    FIELD("aggregation", "trim_fraction", KEY_DOUBLE, trim_fraction),
    FIELD("aggregation", "max_norm", KEY_DOUBLE, aggregation_max_norm),
    FIELD("malicious", "kind", KEY_NAME, malicious),
    FIELD("malicious", "fraction", KEY_DOUBLE, malicious_fraction),
    FIELD("malicious", "scale", KEY_DOUBLE, malicious_scale),
    FIELD("network", "round_timeout", KEY_DOUBLE, round_timeout),
    FIELD("network", "quorum", KEY_DOUBLE, quorum),
    FIELD("network", "min_clients", KEY_INT, min_clients),
    FIELD("network", "max_attempts", KEY_INT, max_attempts),
    FIELD("network", "poll_ms", KEY_INT, poll_ms),
    FIELD("network", "linger", KEY_DOUBLE, linger),
    FIELD("network", "mode", KEY_NAME, network_mode),
    FIELD("network", "eval_data", KEY_PATH, eval_data),
    FIELD("client", "data", KEY_PATH, client_data),
    FIELD("client", "data_format", KEY_NAME, client_data_format),
};

enum { NUM_KEYS = sizeof KEYS / sizeof KEYS[0] };

void fcb_config_default(fcb_config *c)
{
    memset(c, 0, sizeof *c);
    c->seed = 1;
    c->rounds = 20;
    c->threads = 1;
    c->eval_every = 5;
    c->wall_clock = 1;
    strcpy(c->data_source, "synthetic");
    strcpy(c->data_path, "/usr/share/datasets/fashion-mnist");
    c->test_fraction = 0.2;
    c->synthetic_train = 20000;
    c->synthetic_test = 5000;
    c->synthetic_dim = 20;
    c->synthetic_classes = 10;
    c->synthetic_noise = 0.1;
    strcpy(c->scenario, "scratch");
    c->pretrain_clients = 10;
    c->pretrain_epochs = 5;
    c->pretrain_learning_rate = 0.05;
    c->pretrain_batch_size = 32;
    c->partial_reward = 0.5;
    c->round_timeout = 60.0;
    c->quorum = 1.0;
    c->max_attempts = 5;
    c->poll_ms = 2000;
    c->linger = 3.0;
    strcpy(c->merge_classes, "6:0,2:4,7:9"); /* Shirt, Pullover, Sneaker */
    c->num_clients = 100;
    c->clients_per_round = 10;
    c->examples_per_round = 100;
    c->participation = 1.0;
    c->straggler_delay = 2.0;
    c->round_deadline = 1.0;
    strcpy(c->arch, "linear");
    c->hidden[0] = 64;
    c->num_hidden = 1;
    c->conv_channels[0] = 32; /* the EMNIST CNN of Agarwal, McMahan, Xu (2023) */
    c->conv_channels[1] = 64;
    c->num_conv_channels = 2;
    strcpy(c->policy, "softmax");
    c->epsilon = 0.2;
    c->temperature = 0.05;
    c->igw_mu = 0.0;
    c->igw_gamma = 100.0;
    c->ucb_alpha = 1.0;
    c->ts_scale = 0.1;
    c->ridge_lambda = 1.0;
    c->propensity_samples = 64;
    strcpy(c->ts_propensity, "exact");
    strcpy(c->ts_sample, "decision");
    c->deploy_every = 1;
    strcpy(c->forgetting, "none");
    c->discount = 0.95;
    c->window = 20;
    strcpy(c->loss, "chosen_squared");
    c->local_epochs = 1;
    c->batch_size = 16;
    c->learning_rate = 0.05;
    strcpy(c->server_optimizer, "sgd");
    c->server_learning_rate = 0.0; /* the optimiser's own default */
    c->server_beta1 = 0.9;
    c->server_beta2 = 0.99;
    c->server_tau = 1e-3;
    strcpy(c->weighting, "weighted");
    strcpy(c->feedback_mode, "exact");
    c->p_click = 1.0;
    c->p_false = 0.0;
    strcpy(c->drift, "none");
    c->drift_duration = 10;
    c->drift_period = 20;
    c->drift_strength = 0.5;
    strcpy(c->pref_loss, "dpo");
    c->pref_temperature = 0.05;
    c->pref_beta = 0.1;
    c->pref_ipo_tau = 0.1;
    c->pref_rdpo_flip_rate = -1.0; /* the environment's flip_rate */
    c->pref_bt_temperature = 0.1;
    c->pref_learning_rate = 0.01;
    c->pref_local_epochs = 1;
    strcpy(c->pref_ensemble, "pessimistic");
    c->dp_noise_multiplier = 1.0;
    c->dp_clip_norm = 1.0;
    c->dp_target_quantile = 0.5;
    c->dp_clip_learning_rate = 0.2;
    strcpy(c->aggregation, "mean");
    c->trim_fraction = 0.1;
    c->aggregation_max_norm = 1.0;
    strcpy(c->malicious, "none");
    c->malicious_scale = 1.0;
    c->pref_reward_scale = 1.0;
    strcpy(c->network_mode, "simulated");
    strcpy(c->client_data_format, "auto");
}

static const config_key *find_key(const char *section, const char *key)
{
    for (int i = 0; i < NUM_KEYS; i++)
        if (strcmp(KEYS[i].section, section) == 0 && strcmp(KEYS[i].key, key) == 0)
            return &KEYS[i];
    return NULL;
}

static int section_exists(const char *section)
{
    for (int i = 0; i < NUM_KEYS; i++)
        if (strcmp(KEYS[i].section, section) == 0)
            return 1;
    return 0;
}

static fcb_status parse_long(const char *text, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno != 0)
        return fcb_fail(FCB_ERR_CONFIG, "'%s' is not an integer", text);
    if (v < min || v > max)
        return fcb_fail(FCB_ERR_CONFIG, "%ld is out of range [%ld, %ld]", v, min, max);
    *out = v;
    return FCB_OK;
}

static fcb_status parse_int_list(const char *text, int *values, int *count)
{
    char buffer[FCB_CONFIG_PATH_MAX];
    if (strlen(text) >= sizeof buffer)
        return fcb_fail(FCB_ERR_CONFIG, "list is too long");
    strcpy(buffer, text);
    int n = 0;
    char *save = NULL;
    for (char *item = strtok_r(buffer, ", ", &save); item; item = strtok_r(NULL, ", ", &save)) {
        if (n == FCB_CONFIG_LIST_MAX)
            return fcb_fail(FCB_ERR_CONFIG, "list has more than %d items", FCB_CONFIG_LIST_MAX);
        long v = 0;
        fcb_status st = parse_long(item, 0, INT_MAX, &v);
        if (st != FCB_OK)
            return st;
        values[n++] = (int)v;
    }
    *count = n;
    return FCB_OK;
}

static fcb_status assign(fcb_config *config, const config_key *k, const char *value)
{
    char *field = (char *)config + k->offset;
    long v = 0;
    fcb_status st = FCB_OK;
    switch (k->type) {
    case KEY_INT:
        st = parse_long(value, INT_MIN, INT_MAX, &v);
        if (st == FCB_OK)
            *(int *)field = (int)v;
        return st;
    case KEY_U64: {
        char *end = NULL;
        errno = 0;
        unsigned long long u = strtoull(value, &end, 10);
        if (end == value || *end != '\0' || errno != 0 || value[0] == '-')
            return fcb_fail(FCB_ERR_CONFIG, "'%s' is not a non-negative integer", value);
        *(uint64_t *)field = (uint64_t)u;
        return FCB_OK;
    }
    case KEY_DOUBLE: {
        char *end = NULL;
        errno = 0;
        double d = strtod(value, &end);
        if (end == value || *end != '\0' || errno != 0 || !isfinite(d))
            return fcb_fail(FCB_ERR_CONFIG, "'%s' is not a finite number", value);
        *(double *)field = d;
        return FCB_OK;
    }
    case KEY_BOOL:
        if (strcmp(value, "1") == 0 || strcmp(value, "true") == 0 || strcmp(value, "yes") == 0)
            *(int *)field = 1;
        else if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0 || strcmp(value, "no") == 0)
            *(int *)field = 0;
        else
            return fcb_fail(FCB_ERR_CONFIG, "'%s' is not a boolean (true/false)", value);
        return FCB_OK;
    case KEY_NAME:
    case KEY_PATH: {
        size_t cap = k->type == KEY_NAME ? FCB_CONFIG_NAME_MAX : FCB_CONFIG_PATH_MAX;
        if (strlen(value) >= cap)
            return fcb_fail(FCB_ERR_CONFIG, "value is longer than %zu characters", cap - 1);
        strcpy(field, value);
        return FCB_OK;
    }
    case KEY_INT_LIST:
        return parse_int_list(value, (int *)field, (int *)((char *)config + k->count_offset));
    }
    return fcb_fail(FCB_ERR_CONFIG, "internal: unknown key type");
}

static fcb_status set_value(fcb_config *config, const char *section, const char *key,
                            const char *value)
{
    if (!section_exists(section))
        return fcb_fail(FCB_ERR_CONFIG, "unknown section [%s]", section);
    const config_key *k = find_key(section, key);
    if (!k)
        return fcb_fail(FCB_ERR_CONFIG, "unknown key '%s' in [%s]", key, section);
    fcb_status st = assign(config, k, value);
    if (st != FCB_OK)
        return fcb_fail_context(st, "%s.%s", section, key);
    return FCB_OK;
}

typedef struct {
    fcb_config *config;
    fcb_status status;
    char message[1024];
} load_context;

static int handle_ini_entry(void *user, const char *section, const char *name, const char *value)
{
    load_context *ctx = user;
    fcb_status st = set_value(ctx->config, section, name, value);
    if (st == FCB_OK)
        return 1;
    ctx->status = st;
    snprintf(ctx->message, sizeof ctx->message, "%s", fcb_last_error());
    return 0;
}

fcb_status fcb_config_load(fcb_config *config, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return fcb_fail(FCB_ERR_IO, "cannot open config %s: %s", path, strerror(errno));
    fcb_status lines = fcb_ini_check_lines(f, path);
    if (lines != FCB_OK) {
        fclose(f);
        return lines;
    }
    load_context ctx = {config, FCB_OK, ""};
    int line = ini_parse_file(f, handle_ini_entry, &ctx);
    /* inih reads a failed read as the end of the file (e.g. a directory). */
    int read_error = ferror(f) ? errno : 0;
    fclose(f);
    if (line == 0 && read_error)
        return fcb_fail(FCB_ERR_IO, "cannot read config %s: %s", path, strerror(read_error));
    if (line == 0)
        return FCB_OK;
    if (line < 0)
        return fcb_fail(FCB_ERR_IO, "cannot read config %s", path);
    if (ctx.status != FCB_OK)
        return fcb_fail(ctx.status, "%s:%d: %s", path, line, ctx.message);
    return fcb_fail(FCB_ERR_CONFIG, "%s:%d: malformed line (expected `key = value` or `[section]`)",
                    path, line);
}

fcb_status fcb_config_set(fcb_config *config, const char *assignment)
{
    const char *dot = strchr(assignment, '.');
    const char *eq = strchr(assignment, '=');
    if (!dot || !eq || dot > eq || dot == assignment || eq == dot + 1)
        return fcb_fail(FCB_ERR_CONFIG, "--set '%s': expected section.key=value", assignment);
    char section[FCB_CONFIG_NAME_MAX];
    char key[FCB_CONFIG_NAME_MAX];
    size_t section_len = (size_t)(dot - assignment);
    size_t key_len = (size_t)(eq - dot - 1);
    if (section_len >= sizeof section || key_len >= sizeof key)
        return fcb_fail(FCB_ERR_CONFIG, "--set '%s': name too long", assignment);
    memcpy(section, assignment, section_len);
    section[section_len] = '\0';
    memcpy(key, dot + 1, key_len);
    key[key_len] = '\0';
    fcb_status st = set_value(config, section, key, eq + 1);
    if (st != FCB_OK)
        return fcb_fail_context(st, "--set");
    return FCB_OK;
}

static void format_value(const fcb_config *config, const config_key *k, char *out, size_t cap)
{
    const char *field = (const char *)config + k->offset;
    switch (k->type) {
    case KEY_INT:
    case KEY_BOOL:
        snprintf(out, cap, "%d", *(const int *)field);
        return;
    case KEY_U64:
        snprintf(out, cap, "%llu", (unsigned long long)*(const uint64_t *)field);
        return;
    case KEY_DOUBLE:
        snprintf(out, cap, "%.17g", *(const double *)field);
        return;
    case KEY_NAME:
    case KEY_PATH:
        snprintf(out, cap, "%s", field);
        return;
    case KEY_INT_LIST: {
        const int *values = (const int *)field;
        int count = *(const int *)((const char *)config + k->count_offset);
        size_t used = 0;
        out[0] = '\0';
        for (int i = 0; i < count && used < cap; i++)
            used += (size_t)snprintf(out + used, cap - used, i ? ",%d" : "%d", values[i]);
        return;
    }
    }
}

void fcb_config_visit(const fcb_config *config, fcb_config_visit_fn visit, void *user)
{
    char value[FCB_CONFIG_PATH_MAX + 32];
    for (int i = 0; i < NUM_KEYS; i++) {
        format_value(config, &KEYS[i], value, sizeof value);
        visit(user, KEYS[i].section, KEYS[i].key, value);
    }
}

static fcb_status require(int ok, const char *key, const char *rule)
{
    if (ok)
        return FCB_OK;
    return fcb_fail(FCB_ERR_CONFIG, "%s must be %s", key, rule);
}

static int is_probability(double p)
{
    return p >= 0.0 && p <= 1.0;
}

fcb_status fcb_config_validate(const fcb_config *c)
{
    struct {
        int ok;
        const char *key;
        const char *rule;
    } rules[] = {
        {c->rounds >= 1 || (c->rounds == 0 && c->pref_rounds >= 1), "run.rounds",
         ">= 1 (0 only with preference.rounds >= 1)"},
        {c->pref_rounds >= 0, "preference.rounds", ">= 0 (0 = no preference stage)"},
        {c->pref_local_epochs >= 1, "preference.local_epochs", ">= 1"},
        {c->pref_learning_rate > 0.0, "preference.learning_rate", "> 0"},
        {c->pref_bt_temperature >= 0.0, "preference.bt_temperature", ">= 0 (0 = deterministic preferences)"},
        {is_probability(c->pref_flip_rate), "preference.flip_rate", "in [0, 1]"},
        {c->pref_rdpo_flip_rate < 0.5, "preference.rdpo_flip_rate", "< 0.5 (negative = preference.flip_rate)"},
        {c->pref_reward_scale > 0.0, "preference.reward_scale", "> 0"},
        {c->threads >= 1 && c->threads <= 256, "run.threads", "in [1, 256]"},
        {c->eval_every >= 1, "run.eval_every", ">= 1"},
        {c->test_fraction > 0.0 && c->test_fraction < 1.0, "data.test_fraction", "in (0, 1)"},
        {c->validation_fraction >= 0.0 && c->validation_fraction < 1.0, "data.validation_fraction",
         "in [0, 1) (0 = no validation set)"},
        {c->data_dim >= 0, "data.dim", ">= 0"},
        {c->data_classes >= 0, "data.classes", ">= 0"},
        {c->synthetic_train >= 1, "data.synthetic_train", ">= 1"},
        {c->synthetic_test >= 1, "data.synthetic_test", ">= 1"},
        {c->synthetic_dim >= 1, "data.synthetic_dim", ">= 1"},
        {c->synthetic_classes >= 2, "data.synthetic_classes", ">= 2"},
        {c->synthetic_noise >= 0.0, "data.synthetic_noise", ">= 0"},
        {c->pretrain_clients >= 1, "scenario.pretrain_clients", ">= 1"},
        {c->pretrain_epochs >= 1, "scenario.pretrain_epochs", ">= 1"},
        {c->pretrain_learning_rate > 0.0, "scenario.pretrain_learning_rate", "> 0"},
        {c->pretrain_batch_size >= 1, "scenario.pretrain_batch_size", ">= 1"},
        {is_probability(c->partial_reward), "scenario.partial_reward", "in [0, 1]"},
        {c->num_clients >= 1, "clients.num_clients", ">= 1"},
        {c->clients_per_round >= 1, "clients.clients_per_round", ">= 1"},
        {c->clients_per_round <= c->num_clients, "clients.clients_per_round",
         "<= clients.num_clients (the number of clients)"},
        {c->examples_per_round >= 1, "clients.examples_per_round", ">= 1"},
        {c->dirichlet_alpha >= 0.0, "clients.dirichlet_alpha", ">= 0 (0 = IID)"},
        {c->size_sigma >= 0.0, "clients.size_sigma", ">= 0"},
        {is_probability(c->feature_skew), "clients.feature_skew", "in [0, 1]"},
        {c->participation > 0.0 && c->participation <= 1.0, "clients.participation", "in (0, 1]"},
        {c->dropout >= 0.0 && c->dropout < 1.0, "clients.dropout", "in [0, 1)"},
        {is_probability(c->straggler_fraction), "clients.straggler_fraction", "in [0, 1]"},
        {c->straggler_delay >= 0.0, "clients.straggler_delay", ">= 0"},
        {c->round_deadline > 0.0, "clients.round_deadline", "> 0"},
        {c->propensity_samples >= 1, "policy.propensity_samples", ">= 1"},
        {strcmp(c->ts_propensity, "exact") == 0 || strcmp(c->ts_propensity, "monte_carlo") == 0,
         "policy.propensity", "exact or monte_carlo"},
        {strcmp(c->ts_sample, "decision") == 0 || strcmp(c->ts_sample, "round") == 0, "policy.ts_sample",
         "decision or round"},
        {c->deploy_every >= 1, "policy.deploy_every", ">= 1"},
        {strcmp(c->forgetting, "none") == 0 || strcmp(c->forgetting, "discount") == 0 ||
             strcmp(c->forgetting, "window") == 0,
         "policy.forgetting", "none, discount or window"},
        {strcmp(c->forgetting, "none") == 0 || strcmp(c->policy, "linucb") == 0 || strcmp(c->policy, "thompson") == 0,
         "policy.forgetting", "none unless policy.kind is linucb or thompson"},
        {c->discount > 0.0 && c->discount <= 1.0, "policy.discount", "in (0, 1]"},
        {c->window >= 1, "policy.window", ">= 1"},
        {c->local_epochs >= 1, "train.local_epochs", ">= 1"},
        {c->max_weight >= 0.0, "train.max_weight", ">= 0 (0 = unclipped)"},
        {!c->scale_weights || strcmp(c->policy, "epsilon_greedy") == 0, "train.scale_weights",
         "only with policy.kind = epsilon_greedy"},
        {c->batch_size >= 1 && c->batch_size <= 4096, "train.batch_size", "in [1, 4096]"},
        {c->server_learning_rate >= 0.0, "server.learning_rate", ">= 0 (0 = the optimiser's default)"},
        {c->update_norm_bound >= 0.0, "server.update_norm_bound", ">= 0 (0 = no bound)"},
        {is_probability(c->p_click), "feedback.p_click", "in [0, 1]"},
        {is_probability(c->p_false), "feedback.p_false", "in [0, 1]"},
        {c->noise_spread >= 0.0 && c->noise_spread <= 0.5, "feedback.noise_spread", "in [0, 0.5]"},
        {c->drift_start >= 0, "drift.start", ">= 0"},
        {c->drift_duration >= 1, "drift.duration", ">= 1"},
        {c->drift_period >= 1, "drift.period", ">= 1"},
        {is_probability(c->drift_strength), "drift.strength", "in [0, 1]"},
        {c->round_timeout > 0.0, "network.round_timeout", "> 0"},
        {c->quorum > 0.0 && c->quorum <= 1.0, "network.quorum", "in (0, 1]"},
        {c->min_clients >= 0 && c->min_clients <= c->num_clients, "network.min_clients",
         "in [0, clients.num_clients]"},
        {c->max_attempts >= 1, "network.max_attempts", ">= 1"},
        {c->poll_ms >= 10 && c->poll_ms <= 600000, "network.poll_ms", "in [10, 600000]"},
        {c->linger >= 0.0, "network.linger", ">= 0"},
        {strcmp(c->network_mode, "simulated") == 0 || strcmp(c->network_mode, "real") == 0, "network.mode",
         "simulated or real"},
        {c->model_input_dim >= 0, "model.input_dim", ">= 0 (0 = the data's)"},
        {c->model_num_actions == 0 || c->model_num_actions >= 2, "model.num_actions", ">= 2 (0 = the data's classes)"},
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        fcb_status st = require(rules[i].ok, rules[i].key, rules[i].rule);
        if (st != FCB_OK)
            return st;
    }
    for (int i = 0; i < c->num_hidden; i++)
        if (c->hidden[i] < 1)
            return fcb_fail(FCB_ERR_CONFIG, "model.hidden: layer %d has width %d; widths must be >= 1",
                            i + 1, c->hidden[i]);
    return fcb_defense_config_validate(c);
}
