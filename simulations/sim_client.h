#ifndef FEDCB_SIM_CLIENT_H
#define FEDCB_SIM_CLIENT_H

#include "client_round.h"
#include "config.h"
#include "malicious.h"

/* What a simulated client does around its round that a real one does not
 * choose: availability (it takes part with probability participation,
 * drops out after interacting with probability dropout, or straggles:
 * sends straggler_delay seconds late), and, for the malicious clients,
 * an attack on its update. Draws come from (seed, AVAILABILITY, client,
 * round), always three, so they never depend on anything else. */
typedef struct {
    const fcb_config *config;
    size_t num_params;            /* of the deltas an attacker replaces */
    fcb_malicious_config attack;
    unsigned char *is_malicious;  /* num_clients flags; NULL without an attack */
} fcb_sim_client;

/* attack: [malicious] (none for an honest run). */
fcb_status fcb_sim_client_init(fcb_sim_client *sim, const fcb_config *config, const fcb_malicious_config *attack,
                               size_t num_params);
void fcb_sim_client_free(fcb_sim_client *sim);

/* The client hooks (client_round.h) of these behaviours; context = sim. */
fcb_client_hooks fcb_sim_client_hooks(fcb_sim_client *sim);

/* 1 when client is one of the run's malicious clients. */
int fcb_sim_client_is_malicious(const fcb_sim_client *sim, int client);

#endif
