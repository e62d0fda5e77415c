#include "plan_wire.h"

#include <stdint.h>
#include <string.h>

void fcb_plan_to_wire(const fcb_client_plan *p, Fedcb__ClientPlan *m, Fedcb__ModelSpec *spec,
                      fcb_model_spec_lists *lists)
{
    fedcb__model_spec__init(spec);
    spec->arch = (char *)fcb_arch_name(p->model.arch);
    spec->input_dim = (uint32_t)p->model.input_dim;
    spec->num_actions = (uint32_t)p->model.num_actions;
    for (int i = 0; i < p->model.num_hidden; i++)
        lists->hidden[i] = (uint32_t)p->model.hidden[i];
    spec->n_hidden = (size_t)p->model.num_hidden;
    spec->hidden = lists->hidden;
    spec->normalize_input = p->model.normalize_input;
    if (p->model.arch == FCB_ARCH_CNN) {
        for (int i = 0; i < 3; i++)
            lists->image_shape[i] = (uint32_t)p->model.image_shape[i];
        spec->n_image_shape = 3;
        spec->image_shape = lists->image_shape;
        for (int i = 0; i < p->model.num_conv; i++)
            lists->conv_channels[i] = (uint32_t)p->model.conv_channels[i];
        spec->n_conv_channels = (size_t)p->model.num_conv;
        spec->conv_channels = lists->conv_channels;
    }
    fedcb__client_plan__init(m);
    m->model = spec;
    m->policy = (char *)fcb_policy_kind_name(p->policy.kind);
    m->epsilon = p->policy.epsilon;
    m->temperature = p->policy.temperature;
    m->igw_mu = p->policy.igw_mu;
    m->igw_gamma = p->policy.igw_gamma;
    m->ucb_alpha = p->policy.ucb_alpha;
    m->ts_scale = p->policy.ts_scale;
    m->ridge_lambda = p->policy.ridge_lambda;
    m->diagonal = p->policy.diagonal;
    m->propensity_samples = (uint32_t)p->policy.propensity_samples;
    m->loss = (char *)fcb_loss_kind_name(p->loss);
    m->local_epochs = (uint32_t)p->local_epochs;
    m->batch_size = (uint32_t)p->batch_size;
    m->learning_rate = p->sgd.learning_rate;
    m->momentum = p->sgd.momentum;
    m->weight_decay = p->sgd.weight_decay;
    m->clip_norm = p->sgd.clip_norm;
    m->seed = p->seed;
    m->examples_per_round = (uint32_t)p->examples_per_round;
    m->max_weight = p->max_weight;
    m->scale_weights = p->scale_weights;
    m->forgetting = (char *)fcb_forgetting_name(p->policy.forgetting);
    m->discount = p->policy.discount;
    m->window = (uint32_t)p->policy.window;
    m->ts_propensity = (char *)fcb_ts_propensity_name(p->policy.ts_propensity);
    m->ts_sample = (char *)fcb_ts_sample_name(p->policy.ts_sample);
}

fcb_status fcb_plan_from_wire(const Fedcb__ClientPlan *m, fcb_client_plan *p)
{
    memset(p, 0, sizeof *p);
    const Fedcb__ModelSpec *spec = m->model;
    if (!spec || spec->n_hidden > FCB_MAX_HIDDEN || spec->n_conv_channels > FCB_MAX_CONV ||
        (spec->n_image_shape != 0 && spec->n_image_shape != 3))
        return fcb_fail(FCB_ERR_ARG, "registration: the plan's model is missing, too deep or has a malformed image shape");
    fcb_status st = fcb_arch_from_name(spec->arch, &p->model.arch);
    if (st != FCB_OK)
        return fcb_fail_context(FCB_ERR_ARG, "registration: plan");
    p->model.input_dim = (int)spec->input_dim;
    p->model.num_actions = (int)spec->num_actions;
    p->model.num_hidden = (int)spec->n_hidden;
    for (size_t i = 0; i < spec->n_hidden; i++)
        p->model.hidden[i] = (int)spec->hidden[i];
    p->model.normalize_input = spec->normalize_input;
    for (size_t i = 0; i < spec->n_image_shape; i++)
        p->model.image_shape[i] = (int)spec->image_shape[i];
    p->model.num_conv = (int)spec->n_conv_channels;
    for (size_t i = 0; i < spec->n_conv_channels; i++)
        p->model.conv_channels[i] = (int)spec->conv_channels[i];
    st = fcb_policy_kind_from_name(m->policy, &p->policy.kind);
    if (st == FCB_OK)
        st = fcb_loss_kind_from_name(m->loss, &p->loss);
    fcb_forgetting_kind forgetting = FCB_FORGET_NONE;
    if (st == FCB_OK && m->forgetting && m->forgetting[0])
        st = fcb_forgetting_from_name(m->forgetting, &forgetting);
    fcb_ts_propensity ts_propensity = FCB_TS_PROPENSITY_EXACT;
    fcb_ts_sample ts_sample = FCB_TS_SAMPLE_DECISION;
    if (st == FCB_OK && m->ts_propensity && m->ts_propensity[0])
        st = fcb_ts_propensity_from_name(m->ts_propensity, &ts_propensity);
    if (st == FCB_OK && m->ts_sample && m->ts_sample[0])
        st = fcb_ts_sample_from_name(m->ts_sample, &ts_sample);
    if (st != FCB_OK)
        return fcb_fail_context(FCB_ERR_ARG, "registration: plan");
    fcb_policy_config_default(&p->policy, p->policy.kind);
    p->policy.forgetting = forgetting;
    p->policy.ts_propensity = ts_propensity;
    p->policy.ts_sample = ts_sample;
    if (forgetting != FCB_FORGET_NONE) {
        p->policy.discount = m->discount;
        p->policy.window = m->window > INT32_MAX ? INT32_MAX : (int)m->window;
    }
    p->policy.epsilon = (float)m->epsilon;
    p->policy.temperature = (float)m->temperature;
    p->policy.igw_mu = (float)m->igw_mu;
    p->policy.igw_gamma = (float)m->igw_gamma;
    p->policy.ucb_alpha = (float)m->ucb_alpha;
    p->policy.ts_scale = (float)m->ts_scale;
    p->policy.ridge_lambda = (float)m->ridge_lambda;
    p->policy.diagonal = m->diagonal;
    p->policy.propensity_samples = (int)m->propensity_samples;
    p->local_epochs = (int)m->local_epochs;
    p->batch_size = (int)m->batch_size;
    p->sgd.learning_rate = (float)m->learning_rate;
    p->sgd.momentum = (float)m->momentum;
    p->sgd.weight_decay = (float)m->weight_decay;
    p->sgd.clip_norm = (float)m->clip_norm;
    p->seed = m->seed;
    p->max_weight = (float)m->max_weight;
    p->scale_weights = m->scale_weights;
    p->examples_per_round = (int)m->examples_per_round;
    st = fcb_client_plan_validate(p);
    if (st != FCB_OK)
        return fcb_fail_context(FCB_ERR_ARG, "registration: plan");
    return FCB_OK;
}
