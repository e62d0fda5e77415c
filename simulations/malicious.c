#include "malicious.h"

#include <math.h>
#include <string.h>

#include "name_table.h"
#include "rng.h"
#include "vec.h"

/* The client id of the stream that picks the malicious set; real clients
 * are ints >= 0, so their noise streams never collide with it. */
#define CHOICE_STREAM_CLIENT 0xFFFFFFFFu

fcb_malicious_config fcb_malicious_config_defaults(void)
{
    fcb_malicious_config config;
    config.kind = FCB_ATTACK_NONE;
    config.fraction = 0.0;
    config.scale = 1.0;
    return config;
}

static const fcb_name_entry KIND_NAMES[] = {
    {"none", FCB_ATTACK_NONE},
    {"sign_flip", FCB_ATTACK_SIGN_FLIP},
    {"scale", FCB_ATTACK_SCALE},
    {"noise", FCB_ATTACK_NOISE},
};

static int known_kind(fcb_attack_kind kind)
{
    return fcb_name_known(KIND_NAMES, sizeof KIND_NAMES / sizeof KIND_NAMES[0], (int)kind);
}

fcb_status fcb_malicious_config_validate(const fcb_malicious_config *config)
{
    if (!known_kind(config->kind))
        return fcb_fail(FCB_ERR_CONFIG, "malicious.kind: unknown kind %d", (int)config->kind);
    if (!(config->fraction >= 0.0 && config->fraction <= 1.0))
        return fcb_fail(FCB_ERR_CONFIG, "malicious.fraction = %g: must be in [0, 1]",
                        config->fraction);
    if (!(config->scale >= 0.0) || !isfinite(config->scale))
        return fcb_fail(FCB_ERR_CONFIG, "malicious.scale = %g: must be finite and >= 0",
                        config->scale);
    return FCB_OK;
}

fcb_status fcb_attack_kind_from_name(const char *name, fcb_attack_kind *out)
{
    int value = 0;
    fcb_status st =
        fcb_name_lookup(KIND_NAMES, sizeof KIND_NAMES / sizeof KIND_NAMES[0], "attack (malicious.kind)", name, &value);
    if (st == FCB_OK)
        *out = (fcb_attack_kind)value;
    return st;
}

const char *fcb_attack_kind_name(fcb_attack_kind kind)
{
    return fcb_name_of(KIND_NAMES, sizeof KIND_NAMES / sizeof KIND_NAMES[0], (int)kind);
}

int fcb_malicious_count(double fraction, int num_clients)
{
    return (int)lround(fraction * num_clients);
}

fcb_status fcb_malicious_choose(const fcb_malicious_config *config, uint64_t seed,
                                int num_clients, unsigned char *is_malicious)
{
    if (config == NULL || is_malicious == NULL)
        return fcb_fail(FCB_ERR_ARG, "malicious choose: NULL argument");
    if (num_clients < 1)
        return fcb_fail(FCB_ERR_ARG, "malicious choose: num_clients = %d must be >= 1", num_clients);
    fcb_status status = fcb_malicious_config_validate(config);
    if (status != FCB_OK)
        return status;
    memset(is_malicious, 0, (size_t)num_clients);
    if (config->kind == FCB_ATTACK_NONE)
        return FCB_OK;

    int count = fcb_malicious_count(config->fraction, num_clients);
    fcb_rng rng;
    fcb_rng_init(&rng, seed, FCB_STREAM_MALICIOUS, CHOICE_STREAM_CLIENT, 0);
    /* Floyd: for j = n-k .. n-1 pick t in [0, j]; take t, or j if t is taken.
     * Every k-subset is equally likely, with k draws and no scratch. */
    for (int j = num_clients - count; j < num_clients; j++) {
        int t = (int)fcb_rng_below(&rng, (uint32_t)j + 1u);
        if (is_malicious[t])
            is_malicious[j] = 1;
        else
            is_malicious[t] = 1;
    }
    return FCB_OK;
}


static void replace_by_noise(float *delta, size_t dim, double target_norm, uint64_t seed,
                             int client, int round)
{
    fcb_rng rng;
    fcb_rng_init(&rng, seed, FCB_STREAM_MALICIOUS, (uint32_t)client, (uint32_t)round);
    for (size_t i = 0; i < dim; i++)
        delta[i] = (float)fcb_rng_normal(&rng);
    double noise_norm = fcb_l2_norm(delta, dim);
    double factor = noise_norm > 0.0 ? target_norm / noise_norm : 0.0;
    for (size_t i = 0; i < dim; i++)
        delta[i] = (float)(delta[i] * factor);
}

fcb_status fcb_malicious_apply(const fcb_malicious_config *config, uint64_t seed, int client,
                               int round, float *delta, size_t dim)
{
    if (config == NULL || (delta == NULL && dim > 0))
        return fcb_fail(FCB_ERR_ARG, "malicious apply: NULL argument");
    if (client < 0 || round < 0)
        return fcb_fail(FCB_ERR_ARG, "malicious apply: client %d, round %d must be >= 0", client,
                        round);
    fcb_status status = fcb_malicious_config_validate(config);
    if (status != FCB_OK)
        return status;

    switch (config->kind) {
    case FCB_ATTACK_NONE:
        break;
    case FCB_ATTACK_SIGN_FLIP:
    case FCB_ATTACK_SCALE: {
        double factor = config->kind == FCB_ATTACK_SIGN_FLIP ? -config->scale : config->scale;
        for (size_t i = 0; i < dim; i++)
            delta[i] = (float)(delta[i] * factor);
        break;
    }
    case FCB_ATTACK_NOISE:
        replace_by_noise(delta, dim, config->scale * fcb_l2_norm(delta, dim), seed, client, round);
        break;
    }
    return FCB_OK;
}
