#ifndef FEDCB_RUN_PLAN_H
#define FEDCB_RUN_PLAN_H

#include "client_plan.h"
#include "client_step.h"
#include "config.h"
#include "federation.h"
#include "preference_step.h"

/* A run's config translated into the libraries' own structs: the client
 * and coordinator libraries never see an fcb_config. */

/* [policy] and [train] for a model. */
fcb_status fcb_plan_client_setup(const fcb_config *config, const fcb_model *model, fcb_client_setup *setup);

/* [preference]; the distill reward models (model.bin of each run directory
 * in preference.reward_models) are loaded into *reward_params, which the
 * caller frees. No stage (preference.rounds = 0): *has_stage = 0. */
fcb_status fcb_plan_preference(const fcb_config *config, const fcb_model *model, fcb_preference_setup *setup,
                               float **reward_params, int *has_stage);

/* The coordinator's rounds: [run], [clients], [policy], [server],
 * [aggregation], [dp], for a model starting from initial_params (which
 * must outlive the federation). */
fcb_status fcb_plan_federation(const fcb_config *config, const fcb_model *model, const float *initial_params,
                               fcb_federation_config *out);

/* What a client with its own data runs (sent at registration). */
fcb_status fcb_plan_client_plan(const fcb_config *config, const fcb_model *model, fcb_client_plan *out);


#endif
