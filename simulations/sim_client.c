#include "sim_client.h"

#include <stdlib.h>
#include <string.h>

fcb_status fcb_sim_client_init(fcb_sim_client *sim, const fcb_config *c, const fcb_malicious_config *attack,
                               size_t num_params)
{
    memset(sim, 0, sizeof *sim);
    sim->config = c;
    sim->num_params = num_params;
    sim->attack = *attack;
    if (sim->attack.kind == FCB_ATTACK_NONE)
        return FCB_OK;
    sim->is_malicious = malloc((size_t)c->num_clients);
    if (!sim->is_malicious)
        return fcb_fail(FCB_ERR_NOMEM, "malicious clients: out of memory");
    return fcb_malicious_choose(&sim->attack, c->seed, c->num_clients, sim->is_malicious);
}

void fcb_sim_client_free(fcb_sim_client *sim)
{
    free(sim->is_malicious);
    memset(sim, 0, sizeof *sim);
}

int fcb_sim_client_is_malicious(const fcb_sim_client *sim, int client)
{
    return sim->is_malicious && sim->is_malicious[client];
}

typedef struct {
    double participate, dropout, straggler;
} availability_draws;

static availability_draws draw(const fcb_config *c, int client, int round)
{
    fcb_rng rng;
    fcb_rng_init(&rng, c->seed, FCB_STREAM_AVAILABILITY, (uint32_t)client, (uint32_t)round);
    availability_draws d;
    d.participate = fcb_rng_uniform(&rng);
    d.dropout = fcb_rng_uniform(&rng);
    d.straggler = fcb_rng_uniform(&rng);
    return d;
}

static int absent(void *context, int client, int round)
{
    const fcb_sim_client *sim = context;
    return draw(sim->config, client, round).participate >= sim->config->participation;
}

static fcb_status after_update(void *context, int client, int round, fcb_update_buffer *update, int *drop,
                               double *delay_seconds)
{
    const fcb_sim_client *sim = context;
    const fcb_config *c = sim->config;
    fcb_status st = FCB_OK;
    if (update->delta && fcb_sim_client_is_malicious(sim, client))
        st = fcb_malicious_apply(&sim->attack, c->seed, client, round, update->delta, sim->num_params);
    availability_draws d = draw(c, client, round);
    *drop = d.dropout < c->dropout;
    *delay_seconds = !*drop && d.straggler < c->straggler_fraction ? c->straggler_delay : 0.0;
    return st;
}

fcb_client_hooks fcb_sim_client_hooks(fcb_sim_client *sim)
{
    fcb_client_hooks hooks = {sim, absent, after_update};
    return hooks;
}
