/* A linear bandit (LinUCB, Thompson): clients send the sufficient
 * statistics of their round, which add up exactly; the deployed and current
 * posteriors are solved from the summed statistics with the base network's
 * output layer as prior mean. */
#include <stdlib.h>
#include <string.h>

#include "global_model.h"
#include "linear_forgetting.h"
#include "linear_model.h"
#include "neural_linear.h"
#include "sha256.h"

typedef struct {
    fcb_global_model base;
    int phi_dim;
    double ridge_lambda;
    const float *base_params;
    float *theta0;                 /* K x phi_dim prior mean */
    fcb_linstats *slot_stats;      /* capacity */
    int capacity;
    fcb_linstats global_stats;
    double *deployed_stats;        /* flat global statistics at the last deployment, then A~ if kept */
    size_t stats_size;
    size_t deployed_size;          /* stats_size, plus A~'s size when LinUCB forgets by discount */
    fcb_linforget forget;
    fcb_linposterior deployed_posterior;
    fcb_linposterior current_posterior;
    fcb_linear_scorer scorer;
} linear_model;

static fcb_update_buffer linear_slot_update(fcb_global_model *gm, int slot)
{
    linear_model *l = (linear_model *)gm;
    fcb_update_buffer b = {NULL, &l->slot_stats[slot]};
    return b;
}

/* Statistics are checked as they are decoded (fcb_linstats_from_flat). */
static fcb_status linear_check(fcb_global_model *gm, int slot, int client, double examples)
{
    (void)gm;
    (void)slot;
    (void)client;
    (void)examples;
    return FCB_OK;
}

static fcb_status linear_merge(fcb_global_model *gm, const int *slots, const int *clients, const double *examples,
                               int count, int round, fcb_merge_report *report)
{
    (void)clients;
    (void)examples;
    (void)report;
    linear_model *l = (linear_model *)gm;
    if (l->forget.config.kind != FCB_FORGET_NONE)
        return fcb_linforget_merge(&l->forget, &l->global_stats, l->slot_stats, slots, count, round);
    for (int i = 0; i < count; i++) {
        fcb_status st = fcb_linstats_merge(&l->global_stats, &l->slot_stats[slots[i]]);
        if (st != FCB_OK)
            return st;
    }
    return FCB_OK;
}

/* The D-LinUCB width's A~ of the deployed model, when kept. */
static const double *deployed_tilde(const linear_model *l)
{
    return l->forget.tilde ? l->deployed_stats + l->stats_size : NULL;
}

static fcb_status solve_deployed(linear_model *l)
{
    fcb_linstats deployed;
    fcb_status st = fcb_linstats_init(&deployed, l->global_stats.num_actions, l->phi_dim, l->global_stats.diagonal);
    if (st == FCB_OK)
        st = fcb_linstats_from_flat(&deployed, l->deployed_stats, l->stats_size);
    if (st == FCB_OK)
        st = fcb_linposterior_solve(&l->deployed_posterior, &deployed, l->ridge_lambda, l->theta0);
    if (st == FCB_OK)
        st = fcb_linposterior_set_tilde(&l->deployed_posterior, deployed_tilde(l));
    fcb_linstats_free(&deployed);
    return st;
}

static fcb_status linear_deploy(fcb_global_model *gm)
{
    linear_model *l = (linear_model *)gm;
    fcb_linstats_to_flat(&l->global_stats, l->deployed_stats);
    if (l->forget.tilde)
        memcpy(l->deployed_stats + l->stats_size, l->forget.tilde, l->forget.a_size * sizeof(double));
    fcb_status st = fcb_linposterior_solve(&l->deployed_posterior, &l->global_stats, l->ridge_lambda, l->theta0);
    if (st == FCB_OK)
        st = fcb_linposterior_set_tilde(&l->deployed_posterior, deployed_tilde(l));
    return st;
}

static fcb_model_view linear_deployed(const fcb_global_model *gm)
{
    const linear_model *l = (const linear_model *)gm;
    fcb_model_view v = {NULL, l->deployed_stats, l->deployed_size};
    return v;
}

/* Clients decide with the deployed posterior only. */
static fcb_model_view linear_current(const fcb_global_model *gm)
{
    (void)gm;
    fcb_model_view v = {NULL, NULL, 0};
    return v;
}

static fcb_status linear_scorer_open(fcb_global_model *gm, fcb_scorer *scorer)
{
    linear_model *l = (linear_model *)gm;
    fcb_status st = fcb_linposterior_solve(&l->current_posterior, &l->global_stats, l->ridge_lambda, l->theta0);
    if (st == FCB_OK)
        st = fcb_linear_scorer_init(&l->scorer, gm->model, l->base_params, &l->current_posterior);
    scorer->score = fcb_linear_scorer_score;
    scorer->context = &l->scorer;
    return st;
}

static void linear_scorer_close(fcb_global_model *gm)
{
    fcb_linear_scorer_free(&((linear_model *)gm)->scorer);
}

static fcb_status linear_digest(const fcb_global_model *gm, char hex[65])
{
    const linear_model *l = (const linear_model *)gm;
    double *flat = malloc(l->stats_size * sizeof(double));
    if (!flat)
        return fcb_fail(FCB_ERR_NOMEM, "digest: out of memory");
    fcb_linstats_to_flat(&l->global_stats, flat);
    fcb_status st = fcb_sha256_hex(flat, l->stats_size * sizeof(double), hex);
    free(flat);
    return st;
}

enum { LINEAR_SECTION_VERSION = 1 };

static fcb_status linear_save(const fcb_global_model *gm, fcb_ckpt_writer *w)
{
    const linear_model *l = (const linear_model *)gm;
    double *flat = malloc(l->stats_size * sizeof(double));
    if (!flat)
        return fcb_fail(FCB_ERR_NOMEM, "checkpoint: out of memory");
    fcb_linstats_to_flat(&l->global_stats, flat);
    fcb_ckpt_begin(w, "linear_model", LINEAR_SECTION_VERSION);
    fcb_ckpt_put_i64(w, (int64_t)l->stats_size);
    fcb_ckpt_put_f64s(w, flat, l->stats_size);
    fcb_ckpt_put_f64s(w, l->deployed_stats, l->stats_size);
    free(flat);
    fcb_status st = fcb_ckpt_end(w);
    if (st == FCB_OK && l->forget.config.kind != FCB_FORGET_NONE)
        st = fcb_linforget_save(&l->forget, deployed_tilde(l), w);
    return st;
}

static fcb_status linear_load(fcb_global_model *gm, fcb_ckpt_reader *r)
{
    linear_model *l = (linear_model *)gm;
    int64_t size = 0;
    double *flat = malloc(l->stats_size * sizeof(double));
    fcb_status st = flat ? fcb_ckpt_open_section(r, "linear_model", LINEAR_SECTION_VERSION)
                         : fcb_fail(FCB_ERR_NOMEM, "checkpoint: out of memory");
    if (st == FCB_OK)
        st = fcb_ckpt_get_i64(r, &size);
    if (st == FCB_OK && size != (int64_t)l->stats_size)
        st = fcb_ckpt_fail(r, "%lld statistics, this model keeps %zu", (long long)size, l->stats_size);
    if (st == FCB_OK)
        st = fcb_ckpt_get_f64s(r, flat, l->stats_size);
    if (st == FCB_OK)
        st = fcb_ckpt_get_f64s(r, l->deployed_stats, l->stats_size);
    if (st == FCB_OK)
        st = fcb_ckpt_close_section(r);
    if (st == FCB_OK && fcb_linstats_from_flat(&l->global_stats, flat, l->stats_size) != FCB_OK)
        st = fcb_ckpt_fail(r, "statistics: %s", fcb_last_error());
    int has_forget = fcb_ckpt_has_section(r, "linear_forget");
    if (st == FCB_OK && has_forget != (l->forget.config.kind != FCB_FORGET_NONE))
        st = fcb_ckpt_fail(r, "%s forgetting state, this run has policy.forgetting = %s",
                           has_forget ? "holds" : "lacks", fcb_forgetting_name(l->forget.config.kind));
    if (st == FCB_OK && has_forget)
        st = fcb_linforget_load(&l->forget, l->deployed_stats + l->stats_size, r);
    if (st == FCB_OK && solve_deployed(l) != FCB_OK)
        st = fcb_ckpt_fail(r, "deployed statistics: %s", fcb_last_error());
    free(flat);
    return st;
}

static void linear_free(fcb_global_model *gm)
{
    linear_model *l = (linear_model *)gm;
    for (int s = 0; l->slot_stats && s < l->capacity; s++)
        fcb_linstats_free(&l->slot_stats[s]);
    free(l->slot_stats);
    fcb_linstats_free(&l->global_stats);
    fcb_linposterior_free(&l->deployed_posterior);
    fcb_linposterior_free(&l->current_posterior);
    free(l->deployed_stats);
    free(l->theta0);
    fcb_linforget_free(&l->forget);
    free(l);
}

static const fcb_global_model_ops LINEAR_OPS = {
    linear_slot_update, linear_check,        linear_merge,  linear_deploy, linear_deployed, linear_current,
    linear_scorer_open, linear_scorer_close, linear_digest, linear_save,   linear_load,     linear_free,
};

static fcb_status check_memory(int phi_dim, int k, int capacity, int diagonal)
{
    size_t stats_bytes = (size_t)k * phi_dim * phi_dim * sizeof(double);
    size_t round_bytes = stats_bytes * (size_t)(capacity + 1);
    if (!diagonal && round_bytes > ((size_t)1 << 30))
        return fcb_fail(FCB_ERR_CONFIG,
                        "policy.diagonal: full covariance over %d features needs %zu MB per client "
                        "(%zu MB for the round); set policy.diagonal = true or use an MLP model "
                        "(neural-linear)",
                        phi_dim, stats_bytes >> 20, round_bytes >> 20);
    return FCB_OK;
}

fcb_status fcb_linear_model_create(const fcb_global_model_config *c, fcb_global_model **out)
{
    *out = NULL;
    const fcb_model *m = c->model;
    int k = m->config.num_actions, phi_dim = fcb_linear_phi_dim(m);
    fcb_status st = check_memory(phi_dim, k, c->capacity, c->diagonal);
    if (st != FCB_OK)
        return st;
    linear_model *l = calloc(1, sizeof *l);
    if (!l)
        return fcb_fail(FCB_ERR_NOMEM, "linear bandit: out of memory");
    l->base = (fcb_global_model){&LINEAR_OPS, "linstats", m, 0, 0, 0, NULL};
    l->phi_dim = phi_dim;
    l->ridge_lambda = c->ridge_lambda;
    l->base_params = c->initial_params;
    l->capacity = c->capacity;
    l->theta0 = malloc((size_t)k * phi_dim * sizeof(float));
    l->slot_stats = calloc((size_t)c->capacity, sizeof(fcb_linstats));
    if (!l->theta0 || !l->slot_stats)
        st = fcb_fail(FCB_ERR_NOMEM, "linear bandit: out of memory");
    if (st == FCB_OK)
        st = fcb_linstats_init(&l->global_stats, k, phi_dim, c->diagonal);
    for (int s = 0; st == FCB_OK && s < c->capacity; s++)
        st = fcb_linstats_init(&l->slot_stats[s], k, phi_dim, c->diagonal);
    if (st == FCB_OK)
        st = fcb_linposterior_init(&l->deployed_posterior, k, phi_dim, c->diagonal);
    if (st == FCB_OK)
        st = fcb_linposterior_init(&l->current_posterior, k, phi_dim, c->diagonal);
    if (st == FCB_OK)
        st = fcb_linforget_init(&l->forget, &c->forgetting, &l->global_stats);
    if (st == FCB_OK) {
        l->stats_size = fcb_linstats_flat_size(&l->global_stats);
        l->deployed_size = l->stats_size + (l->forget.tilde ? l->forget.a_size : 0);
        l->deployed_stats = calloc(l->deployed_size, sizeof(double));
        if (!l->deployed_stats)
            st = fcb_fail(FCB_ERR_NOMEM, "linear bandit: out of memory");
    }
    if (st == FCB_OK) {
        fcb_linear_prior(m, c->initial_params, l->theta0);
        l->base.update_size = l->stats_size;
        l->base.model_bytes = l->stats_size * sizeof(double);
        l->base.download_bytes = l->deployed_size * sizeof(double);
        st = linear_deploy(&l->base);
    }
    if (st != FCB_OK) {
        linear_free(&l->base);
        return st;
    }
    *out = &l->base;
    return FCB_OK;
}

const fcb_linposterior *fcb_linear_model_posterior(const fcb_global_model *gm)
{
    return gm->ops == &LINEAR_OPS ? &((const linear_model *)gm)->deployed_posterior : NULL;
}
