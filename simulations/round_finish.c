#include "round_finish.h"

#include <math.h>
#include <string.h>

#include "wall_time.h"

void fcb_run_tally_init(fcb_run_tally *tally)
{
    memset(tally, 0, sizeof *tally);
    tally->accuracy = -1.0;
    tally->reference_accuracy = -1.0;
    tally->win_rate = -1.0;
}

static json_t *round_json(int round, const fcb_round_totals *t, double avg_reward, double seconds)
{
    double interactions = t->examples > 0 ? (double)t->examples : 1.0;
    json_t *j = json_object();
    json_object_set_new(j, "round", json_integer(round + 1));
    json_object_set_new(j, "reward", json_real(t->reward_sum / interactions));
    json_object_set_new(j, "avg_reward", json_real(avg_reward));
    json_object_set_new(j, "true_reward", json_real(t->true_reward_sum / interactions));
    json_object_set_new(j, "prob", json_real(t->propensity_sum / interactions));
    json_object_set_new(j, "clients", json_integer(t->updates));
    json_object_set_new(j, "sampled", json_integer(t->sampled));
    json_object_set_new(j, "unavailable", json_integer(t->unavailable));
    json_object_set_new(j, "no_data", json_integer(t->no_data));
    json_object_set_new(j, "dropped", json_integer(t->dropped));
    json_object_set_new(j, "stale", json_integer(t->stale));
    json_object_set_new(j, "rejected", json_integer(t->rejected));
    if (t->missing > 0)
        json_object_set_new(j, "missing", json_integer(t->missing));
    json_object_set_new(j, "examples", json_integer(t->examples));
    json_object_set_new(j, "loss", json_real(t->steps ? t->loss_sum / t->steps : 0.0));
    json_object_set_new(j, "bytes_up", json_integer((json_int_t)t->bytes_up));
    json_object_set_new(j, "bytes_down", json_integer((json_int_t)t->bytes_down));
    json_object_set_new(j, "seconds", json_real(seconds));
    return j;
}

/* The reference's test accuracy, once, in the stage's first round. */
static fcb_status evaluate_reference(fcb_federation *f, fcb_run_tally *tally)
{
    fcb_model_scorer scorer;
    double reward = 0.0;
    fcb_status st = fcb_model_scorer_init(&scorer, &f->world->model, f->preference.reference);
    if (st == FCB_OK)
        st = fcb_world_evaluate(f->world, fcb_model_scorer_score, &scorer, f->round, f->config->seed,
                                &tally->reference_accuracy, &reward, NULL);
    fcb_model_scorer_free(&scorer);
    return st;
}

static void add_preference_metrics(json_t *line, const fcb_run_tally *tally, int eval_round)
{
    json_object_set_new(line, "stage", json_string("preference"));
    json_object_set_new(line, "margin", json_real(tally->margin));
    if (eval_round) {
        json_object_set_new(line, "win_rate", json_real(tally->win_rate));
        json_object_set_new(line, "kl", json_real(tally->kl));
    }
}

/* epsilon is +inf with dp.noise_multiplier = 0, which JSON writes as null. */
json_t *fcb_json_epsilon(double epsilon)
{
    return isfinite(epsilon) ? json_real(epsilon) : json_null();
}

static fcb_status add_defense_metrics(json_t *line, const fcb_federation *f, const fcb_round_totals *t)
{
    if (f->malicious.kind != FCB_ATTACK_NONE)
        json_object_set_new(line, "malicious", json_integer(t->malicious));
    if (!f->dp)
        return FCB_OK;
    double epsilon;
    fcb_status st = fcb_federation_epsilon(f, &epsilon, NULL);
    if (st != FCB_OK)
        return st;
    json_object_set_new(line, "epsilon", fcb_json_epsilon(epsilon));
    json_object_set_new(line, "delta", json_real(f->dp_delta));
    json_object_set_new(line, "clip_norm", json_real(t->clip_norm));
    json_object_set_new(line, "clipped_fraction", json_real(t->updates ? (double)t->clipped / t->updates : 0.0));
    return FCB_OK;
}

fcb_status fcb_round_finish(fcb_federation *f, fcb_run_tally *tally, fcb_run_output *out, double round_start,
                            fcb_round_totals *t)
{
    const fcb_config *c = f->config;
    int preference = fcb_preference_stage_owns(&f->preference, f->round);
    fcb_status st = fcb_federation_aggregate(f, t);
    if (st == FCB_OK && (f->round + 1) % c->deploy_every == 0)
        st = fcb_federation_deploy(f);
    int eval_round = (f->round + 1) % c->eval_every == 0 || f->round + 1 == c->rounds ||
                     f->round + 1 == fcb_federation_total_rounds(f);
    if (st == FCB_OK && eval_round)
        st = fcb_federation_evaluate(f, &tally->accuracy, &tally->test_reward, tally->class_accuracy);
    if (st == FCB_OK && preference && f->round == f->preference.first_round)
        st = evaluate_reference(f, tally);
    if (st == FCB_OK && preference && eval_round)
        st = fcb_preference_stage_evaluate(&f->preference, f->world, f->current, f->round, &tally->win_rate,
                                           &tally->kl);
    if (st != FCB_OK)
        return fcb_fail_context(st, "round %d", f->round + 1);
    if (preference)
        tally->margin = t->examples ? t->margin_sum / (double)t->examples : 0.0;
    tally->rounds_done = f->round + 1;
    tally->reward_total += t->reward_sum;
    tally->true_reward_total += t->true_reward_sum;
    tally->interactions += t->examples;
    double avg_reward = tally->interactions ? tally->reward_total / tally->interactions : 0.0;
    if (!out)
        return FCB_OK;
    double seconds = c->wall_clock ? fcb_wall_seconds() - round_start : 0.0;
    json_t *line = round_json(f->round, t, avg_reward, seconds);
    if (eval_round) {
        json_object_set_new(line, "test_accuracy", json_real(tally->accuracy));
        json_object_set_new(line, "test_reward", json_real(tally->test_reward));
    }
    if (preference)
        add_preference_metrics(line, tally, eval_round);
    st = add_defense_metrics(line, f, t);
    if (st == FCB_OK)
        st = fcb_run_output_round(out, line);
    json_decref(line);
    return st;
}

fcb_status fcb_run_result_fill(const fcb_federation *f, const fcb_run_tally *tally, double seconds,
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
    r->pretrain_accuracy = f->world->pretrain_accuracy;
    r->passes = f->world->num_bandit_rows ? (double)n / f->world->num_bandit_rows : 0.0;
    r->seconds = seconds;
    return fcb_federation_digest(f, r->model_sha256);
}
