#include "run_report.h"

#include <math.h>
#include <string.h>

#include "config_file.h"
#include "run_output.h"

json_t *fcb_json_epsilon(double epsilon)
{
    return isfinite(epsilon) ? json_real(epsilon) : json_null();
}

static json_t *class_array(const double *values, int k)
{
    json_t *a = json_array();
    for (int i = 0; i < k; i++)
        json_array_append_new(a, json_real(values[i]));
    return a;
}

static void put_totals(fcb_json_line *line, const fcb_run_context *ctx, int round, const fcb_round_totals *t,
                       double avg_reward, double seconds)
{
    double interactions = t->examples > 0 ? (double)t->examples : 1.0;
    fcb_json_line_int(line, "round", round + 1);
    fcb_json_line_real(line, "reward", t->reward_sum / interactions);
    fcb_json_line_real(line, "avg_reward", avg_reward);
    if (ctx->world)
        fcb_json_line_real(line, "true_reward", t->true_reward_sum / interactions);
    fcb_json_line_real(line, "prob", t->propensity_sum / interactions);
    fcb_json_line_int(line, "clients", t->updates);
    fcb_json_line_int(line, "sampled", t->sampled);
    fcb_json_line_int(line, "unavailable", t->unavailable);
    fcb_json_line_int(line, "no_data", t->no_data);
    fcb_json_line_int(line, "dropped", t->dropped);
    fcb_json_line_int(line, "stale", t->stale);
    fcb_json_line_int(line, "rejected", t->rejected);
    if (t->missing > 0)
        fcb_json_line_int(line, "missing", t->missing);
    fcb_json_line_int(line, "examples", t->examples);
    fcb_json_line_real(line, "loss", t->steps ? t->loss_sum / t->steps : 0.0);
    fcb_json_line_int(line, "bytes_up", (long long)t->bytes_up);
    fcb_json_line_int(line, "bytes_down", (long long)t->bytes_down);
    fcb_json_line_real(line, "seconds", seconds);
}

/* Real deployments: the sampled clients, those that answered (an update,
 * no data, or a rejected update) and those that did not, by id. */
static void put_client_lists(fcb_json_line *line, const fcb_federation *f, const fcb_resample_note *resamples,
                             int n)
{
    int sampled[1024], answered[1024], missing[1024];
    int ns = 0, na = 0, nm = 0;
    for (int s = 0; s < f->num_slots && s < 1024; s++) {
        const fcb_slot *sl = &f->slots[s];
        sampled[ns++] = sl->client;
        if (sl->state == FCB_SLOT_PENDING)
            missing[nm++] = sl->client;
        else
            answered[na++] = sl->client;
    }
    fcb_json_line_int_array(line, "sampled_ids", sampled, ns);
    fcb_json_line_int_array(line, "answered_ids", answered, na);
    fcb_json_line_int_array(line, "missing_ids", missing, nm);
    if (n == 0)
        return;
    fcb_json_line_open(line, "resampled", '[');
    for (int i = 0; i < n; i++) {
        fcb_json_line_open(line, NULL, '{');
        fcb_json_line_int(line, "attempt", resamples[i].attempt);
        fcb_json_line_int_array(line, "missing_ids", resamples[i].missing, resamples[i].num_missing);
        fcb_json_line_close(line, '{');
    }
    fcb_json_line_close(line, '[');
}

static void put_preference_metrics(fcb_json_line *line, const fcb_run_tally *tally, int evaluated)
{
    fcb_json_line_string(line, "stage", "preference");
    fcb_json_line_real(line, "margin", tally->margin);
    if (evaluated) {
        fcb_json_line_real(line, "win_rate", tally->win_rate);
        fcb_json_line_real(line, "kl", tally->kl);
    }
}

static int aggregated_malicious(const fcb_run_context *ctx)
{
    int n = 0;
    for (int s = 0; s < ctx->fed->num_slots; s++)
        n += ctx->fed->slots[s].aggregated && fcb_sim_client_is_malicious(ctx->sim, ctx->fed->slots[s].client);
    return n;
}

static fcb_status put_defense_metrics(fcb_json_line *line, const fcb_run_context *ctx, const fcb_round_totals *t)
{
    if (ctx->sim && ctx->sim->attack.kind != FCB_ATTACK_NONE)
        fcb_json_line_int(line, "malicious", aggregated_malicious(ctx));
    fcb_privacy_report privacy;
    if (!ctx->config->dp_enabled)
        return FCB_OK;
    fcb_status st = fcb_federation_privacy(ctx->fed, &privacy);
    if (st != FCB_OK)
        return st;
    fcb_json_line_real(line, "epsilon", privacy.epsilon); /* null when infinite (no noise) */
    fcb_json_line_real(line, "delta", privacy.delta);
    fcb_json_line_real(line, "clip_norm", t->clip_norm);
    fcb_json_line_real(line, "clipped_fraction", t->updates ? (double)t->clipped / t->updates : 0.0);
    return FCB_OK;
}

fcb_status fcb_round_line(const fcb_run_context *ctx, const fcb_round_report *report, const fcb_run_tally *tally,
                          double seconds, const fcb_resample_note *resamples, int num_resamples, fcb_json_line *line)
{
    double avg_reward = tally->interactions ? tally->reward_total / tally->interactions : 0.0;
    fcb_json_line_begin(line);
    put_totals(line, ctx, report->round, &report->totals, avg_reward, seconds);
    if (report->evaluated) {
        fcb_json_line_real(line, "test_accuracy", tally->accuracy);
        fcb_json_line_real(line, "test_reward", tally->test_reward);
        if (tally->val_accuracy >= 0.0) {
            fcb_json_line_real(line, "val_accuracy", tally->val_accuracy);
            fcb_json_line_real(line, "val_reward", tally->val_reward);
        }
    }
    if (report->preference)
        put_preference_metrics(line, tally, report->evaluated);
    fcb_status st = put_defense_metrics(line, ctx, &report->totals);
    if (st != FCB_OK)
        return st;
    if (ctx->list_clients)
        put_client_lists(line, ctx->fed, resamples, num_resamples);
    return fcb_json_line_end(line);
}

fcb_status fcb_run_result_fill(const fcb_run_context *ctx, const fcb_run_tally *tally, double seconds,
                               fcb_run_result *r)
{
    memset(r, 0, sizeof *r);
    long n = tally->interactions;
    r->rounds = tally->rounds_done;
    r->interactions = n;
    r->avg_reward = n ? tally->reward_total / n : 0.0;
    r->avg_true_reward = n ? tally->true_reward_total / n : 0.0;
    r->final_accuracy = tally->accuracy;
    r->final_test_reward = tally->test_reward;
    r->final_val_accuracy = tally->val_accuracy;
    r->final_val_reward = tally->val_reward;
    r->pretrain_accuracy = ctx->world ? ctx->world->pretrain_accuracy : -1.0;
    r->passes = ctx->world && ctx->world->num_bandit_rows ? (double)n / ctx->world->num_bandit_rows : 0.0;
    r->seconds = seconds;
    return fcb_federation_digest(ctx->fed, r->model_sha256);
}

static json_t *preference_summary(const fcb_run_context *ctx, const fcb_run_tally *tally)
{
    json_t *j = json_object();
    json_object_set_new(j, "loss", json_string(fcb_preference_kind_name(ctx->preference->loss.kind)));
    json_object_set_new(j, "rounds", json_integer(ctx->fed->config.preference_rounds));
    json_object_set_new(j, "reference_accuracy", json_real(tally->reference_accuracy));
    json_object_set_new(j, "test_accuracy", json_real(tally->accuracy));
    json_object_set_new(j, "win_rate", json_real(tally->win_rate));
    json_object_set_new(j, "kl", json_real(tally->kl));
    json_object_set_new(j, "margin", json_real(tally->margin));
    return j;
}

static json_t *privacy_summary(const fcb_run_context *ctx)
{
    const fcb_aggregation_config *a = &ctx->fed->config.model.aggregation;
    fcb_privacy_report p;
    fcb_federation_privacy(ctx->fed, &p);
    json_t *j = json_object();
    json_object_set_new(j, "mechanism", json_string("DP-FedAvg, Gaussian"));
    json_object_set_new(j, "accountant", json_string("RDP, Poisson-subsampled Gaussian"));
    json_object_set_new(j, "epsilon", fcb_json_epsilon(p.epsilon));
    json_object_set_new(j, "delta", json_real(p.delta));
    json_object_set_new(j, "best_order", json_real(p.best_order));
    json_object_set_new(j, "steps", json_integer(p.steps));
    json_object_set_new(j, "sampling_rate", json_real(p.sampling_rate));
    json_object_set_new(j, "noise_multiplier", json_real(a->dp.noise_multiplier));
    json_object_set_new(j, "sum_noise_multiplier", json_real(p.sum_noise_multiplier));
    json_object_set_new(j, "adaptive", json_boolean(a->dp.adaptive));
    json_object_set_new(j, "initial_clip_norm", json_real(a->dp.clip_norm));
    json_object_set_new(j, "clip_norm", json_real(p.clip_norm));
    return j;
}

static json_t *aggregation_summary(const fcb_run_context *ctx)
{
    const fcb_robust_config *rule = &ctx->fed->config.model.aggregation.robust;
    json_t *j = json_object();
    json_object_set_new(j, "kind", json_string(fcb_robust_kind_name(rule->kind)));
    if (rule->kind == FCB_ROBUST_TRIMMED_MEAN)
        json_object_set_new(j, "trim_fraction", json_real(rule->trim_fraction));
    if (rule->kind == FCB_ROBUST_NORM_BOUND)
        json_object_set_new(j, "max_norm", json_real(rule->max_norm));
    return j;
}

static json_t *malicious_summary(const fcb_run_context *ctx)
{
    const fcb_sim_client *sim = ctx->sim;
    int clients = 0;
    for (int c = 0; c < ctx->config->num_clients; c++)
        clients += fcb_sim_client_is_malicious(sim, c);
    json_t *j = json_object();
    json_object_set_new(j, "kind", json_string(fcb_attack_kind_name(sim->attack.kind)));
    json_object_set_new(j, "fraction", json_real(sim->attack.fraction));
    json_object_set_new(j, "scale", json_real(sim->attack.scale));
    json_object_set_new(j, "clients", json_integer(clients));
    return j;
}

json_t *fcb_run_summary_json(const fcb_run_context *ctx, const fcb_run_tally *tally, const fcb_run_result *r)
{
    const fcb_federation *f = ctx->fed;
    int k = f->config.model.model->config.num_actions;
    json_t *j = json_object();
    json_object_set_new(j, "rounds", json_integer(r->rounds));
    json_object_set_new(j, "interactions", json_integer(r->interactions));
    json_object_set_new(j, "avg_reward", json_real(r->avg_reward));
    if (ctx->world)
        json_object_set_new(j, "avg_true_reward", json_real(r->avg_true_reward));
    json_object_set_new(j, "test_accuracy", json_real(r->final_accuracy));
    json_object_set_new(j, "test_reward", json_real(r->final_test_reward));
    json_object_set_new(j, "test_class_accuracy", class_array(tally->class_accuracy, k));
    if (r->final_val_accuracy >= 0.0) {
        json_object_set_new(j, "val_accuracy", json_real(r->final_val_accuracy));
        json_object_set_new(j, "val_reward", json_real(r->final_val_reward));
    }
    if (r->pretrain_accuracy >= 0.0) {
        json_object_set_new(j, "pretrain_accuracy", json_real(r->pretrain_accuracy));
        json_object_set_new(j, "pretrain_class_accuracy", class_array(ctx->world->pretrain_class_accuracy, k));
    }
    if (ctx->world)
        json_object_set_new(j, "passes", json_real(r->passes));
    if (ctx->preference)
        json_object_set_new(j, "preference", preference_summary(ctx, tally));
    if (ctx->config->dp_enabled)
        json_object_set_new(j, "privacy", privacy_summary(ctx));
    if (f->gm->rule && f->gm->rule->kind == FCB_RULE_ROBUST)
        json_object_set_new(j, "aggregation", aggregation_summary(ctx));
    if (ctx->sim && ctx->sim->is_malicious)
        json_object_set_new(j, "malicious", malicious_summary(ctx));
    fcb_policy_kind policy = FCB_POLICY_GREEDY;
    fcb_policy_kind_from_name(ctx->config->policy, &policy);
    json_object_set_new(j, "policy", json_string(fcb_policy_kind_name(policy)));
    if (ctx->world)
        json_object_set_new(j, "scenario", json_string(fcb_scenario_name(ctx->world->scenario)));
    else
        json_object_set_new(j, "mode", json_string("real"));
    json_object_set_new(j, "num_params", json_integer((json_int_t)f->config.model.model->num_params));
    json_object_set_new(j, "seconds", json_real(ctx->config->wall_clock ? r->seconds : 0.0));
    json_object_set_new(j, "model_sha256", json_string(r->model_sha256));
    char config_hash[65];
    fcb_config_hash(ctx->config, config_hash);
    json_object_set_new(j, "config_hash", json_string(config_hash));
    json_object_set_new(j, "config", fcb_config_to_json(ctx->config));
    return j;
}
