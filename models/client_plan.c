#include "client_plan.h"

fcb_status fcb_client_plan_validate(const fcb_client_plan *p)
{
    fcb_model model;
    fcb_status st = fcb_model_init(&model, &p->model);
    if (st == FCB_OK)
        st = fcb_policy_config_validate(&p->policy);
    if (st == FCB_OK)
        st = fcb_sgd_config_validate(&p->sgd);
    if (st == FCB_OK && (p->local_epochs < 1 || p->batch_size < 1 || p->examples_per_round < 1))
        st = fcb_fail(FCB_ERR_CONFIG, "plan: local_epochs %d, batch_size %d and examples_per_round %d must be >= 1",
                      p->local_epochs, p->batch_size, p->examples_per_round);
    if (st == FCB_OK && (p->loss == FCB_LOSS_FULL_MSE || p->loss == FCB_LOSS_SOFTMAX_XENT))
        st = fcb_fail(FCB_ERR_CONFIG, "train.loss = %s needs the true reward of every action, which a client with "
                                      "its own data does not know; use chosen_squared or importance_squared",
                      fcb_loss_kind_name(p->loss));
    if (st == FCB_OK && !(p->max_weight >= 0.0f))
        st = fcb_fail(FCB_ERR_CONFIG, "plan: max_weight %g must be >= 0", p->max_weight);
    if (st == FCB_OK && p->scale_weights && p->policy.kind != FCB_POLICY_EPSILON_GREEDY)
        st = fcb_fail(FCB_ERR_CONFIG, "plan: scale_weights applies to epsilon_greedy only");
    return st;
}
