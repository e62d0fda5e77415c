#ifndef FEDCB_CLIENT_ROUND_H
#define FEDCB_CLIENT_ROUND_H

#include "client_step.h"
#include "data_source.h"
#include "preference_step.h"
#include "update_buffer.h"

/* A client's whole round, bandit or preference, the same wherever the
 * client runs (a worker thread of `fedcb simulate`, a `fedcb client`
 * process): the round's contexts from its data source, then the client
 * step, into the round's update. No transport and no simulation here. */

/* What one client (or one worker thread) reuses across rounds. */
typedef struct {
    fcb_client_buffers buffers;
    fcb_preference_buffers preference; /* with a preference stage only */
    int has_preference;
    fcb_linposterior posterior;        /* linear bandits: the deployed posterior */
    int has_posterior;
} fcb_client_worker;

/* capacity: the most contexts of one round. pref may be NULL (no stage). */
fcb_status fcb_client_worker_init(fcb_client_worker *w, const fcb_client_setup *setup,
                                  const fcb_preference_setup *pref, int capacity);
void fcb_client_worker_free(fcb_client_worker *w);

/* The models a round runs with. Score models: deployed (acts) and current
 * (trained from); linear bandits: the worker's posterior (the deployed one)
 * and base_params, the frozen base network; preference rounds also the
 * frozen reference. */
typedef struct {
    const float *deployed;
    const float *current;
    const float *base_params;
    const float *reference;
    int preference_round;
} fcb_round_models;

/* Runs client `client`'s round `round` with data from source. *no_data = 1
 * (and no update) when the source has no context this round. */
fcb_status fcb_client_round_run(const fcb_client_setup *setup, const fcb_preference_setup *pref,
                                fcb_client_worker *w, const fcb_round_models *models,
                                const fcb_data_source *source, int client, int round, fcb_update_buffer *update,
                                fcb_client_result *result, int *no_data);

/* What a simulated client does around its round, outside the client's
 * control in a real deployment; NULL members do nothing. */
typedef struct {
    void *context;
    /* 1: the client does not take part in this round. */
    int (*absent)(void *context, int client, int round);
    /* After the update is made: may replace it (a simulated attacker), drop
     * it (*drop = 1) or send it late (*delay_seconds). */
    fcb_status (*after_update)(void *context, int client, int round, fcb_update_buffer *update, int *drop,
                               double *delay_seconds);
} fcb_client_hooks;

#endif
