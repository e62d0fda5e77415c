#include "client_task.h"

#include <stdio.h>
#include <string.h>

fcb_status fcb_client_worker_init(fcb_client_worker *w, const fcb_client_setup *setup, const fcb_world *world,
                                  const fcb_config *config)
{
    memset(w, 0, sizeof *w);
    fcb_status st = fcb_client_buffers_init(&w->buffers, setup, config->examples_per_round);
    if (st == FCB_OK)
        st = fcb_round_data_init(&w->data, world, config->examples_per_round);
    if (st == FCB_OK && fcb_policy_is_linear(setup->policy.kind))
        st = fcb_linposterior_init(&w->posterior, world->model.config.num_actions, fcb_linear_phi_dim(world),
                                   setup->policy.diagonal);
    return st;
}

void fcb_client_worker_free(fcb_client_worker *w)
{
    fcb_client_buffers_free(&w->buffers);
    fcb_round_data_free(&w->data);
    fcb_linposterior_free(&w->posterior);
}

void fcb_client_task_run(const fcb_client_task_inputs *in, fcb_client_worker *w, int round, fcb_slot *sl,
                         float *delta, fcb_linstats *stats)
{
    const fcb_config *c = in->config;
    /* Availability draws come first and are always made, so they never
     * depend on what else happens. */
    fcb_rng availability;
    fcb_rng_init(&availability, c->seed, FCB_STREAM_AVAILABILITY, (uint32_t)sl->client, (uint32_t)round);
    double u_participate = fcb_rng_uniform(&availability);
    double u_dropout = fcb_rng_uniform(&availability);
    double u_straggler = fcb_rng_uniform(&availability);
    if (u_participate >= c->participation) {
        sl->state = FCB_SLOT_UNAVAILABLE;
        return;
    }
    fcb_status st = fcb_round_data_fill(&w->data, in->world, c, sl->client, round);
    if (st == FCB_OK && w->data.n == 0) {
        sl->state = FCB_SLOT_NO_DATA;
        return;
    }
    fcb_feedback feedback = fcb_round_data_feedback(&w->data);
    if (st == FCB_OK && fcb_policy_is_linear(in->setup->policy.kind))
        st = fcb_client_linear_round(in->setup, &w->buffers, sl->client, round, &w->posterior,
                                     in->world->initial_params, w->data.x, w->data.n, &feedback, stats,
                                     &sl->result);
    else if (st == FCB_OK)
        st = fcb_client_round(in->setup, &w->buffers, sl->client, round, in->deployed, in->current, w->data.x,
                              w->data.n, &feedback, delta, &sl->result);
    if (st != FCB_OK) {
        sl->state = FCB_SLOT_FAILED;
        sl->status = st;
        snprintf(sl->error, sizeof sl->error, "%s", fcb_last_error());
        return;
    }
    sl->straggler = u_dropout >= c->dropout && u_straggler < c->straggler_fraction;
    if (u_dropout < c->dropout)
        sl->state = FCB_SLOT_DROPPED;
    else if (sl->straggler && c->straggler_delay > c->round_deadline)
        sl->state = FCB_SLOT_STALE;
    else
        sl->state = FCB_SLOT_DONE;
}
