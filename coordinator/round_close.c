#include "round_close.h"

#include <math.h>
#include <string.h>

void fcb_run_tally_init(fcb_run_tally *tally)
{
    memset(tally, 0, sizeof *tally);
    tally->accuracy = -1.0;
    tally->val_accuracy = -1.0;
    tally->reference_accuracy = -1.0;
    tally->win_rate = -1.0;
}

static fcb_status evaluate_current(fcb_federation *f, fcb_run_tally *tally)
{
    fcb_global_model *gm = f->gm;
    fcb_scorer scorer;
    fcb_status st = gm->ops->scorer_open(gm, &scorer);
    if (st == FCB_OK)
        st = f->evaluator->evaluate(f->evaluator->context, &scorer, f->round, &tally->accuracy, &tally->test_reward,
                                    tally->class_accuracy);
    if (st == FCB_OK && f->evaluator->validate)
        st = f->evaluator->validate(f->evaluator->context, &scorer, f->round, &tally->val_accuracy,
                                    &tally->val_reward);
    gm->ops->scorer_close(gm);
    return st;
}

/* The reference's test accuracy, once, in the stage's first round. */
static fcb_status evaluate_reference(fcb_federation *f, fcb_run_tally *tally)
{
    fcb_model_scorer ms;
    double reward = 0.0;
    fcb_status st = fcb_model_scorer_init(&ms, f->config.model.model, f->reference);
    fcb_scorer scorer = fcb_model_scorer_as_scorer(&ms);
    if (st == FCB_OK)
        st = f->evaluator->evaluate(f->evaluator->context, &scorer, f->round, &tally->reference_accuracy, &reward,
                                    NULL);
    fcb_model_scorer_free(&ms);
    return st;
}

static fcb_status evaluate(fcb_federation *f, fcb_run_tally *tally, int eval_round, int preference)
{
    const fcb_evaluator *e = f->evaluator;
    fcb_status st = FCB_OK;
    if (!e || !e->evaluate)
        return FCB_OK;
    if (eval_round)
        st = evaluate_current(f, tally);
    if (st == FCB_OK && preference && f->round == f->config.rounds)
        st = evaluate_reference(f, tally);
    if (st == FCB_OK && preference && eval_round && e->preference)
        st = e->preference(e->context, f->gm->ops->current(f->gm).params, f->reference, f->round, &tally->win_rate,
                           &tally->kl);
    return st;
}

fcb_status fcb_round_close(fcb_federation *f, fcb_run_tally *tally, fcb_round_report *report)
{
    const fcb_federation_config *c = &f->config;
    memset(report, 0, sizeof *report);
    report->round = f->round;
    report->preference = fcb_federation_is_preference_round(f, f->round);
    fcb_round_totals *t = &report->totals;
    fcb_status st = fcb_federation_aggregate(f, t);
    if (st == FCB_OK && (f->round + 1) % c->deploy_every == 0)
        st = fcb_federation_deploy(f);
    int eval_round = (f->round + 1) % c->eval_every == 0 || f->round + 1 == c->rounds ||
                     f->round + 1 == fcb_federation_total_rounds(f);
    if (st == FCB_OK)
        st = evaluate(f, tally, eval_round, report->preference);
    if (st != FCB_OK)
        return fcb_fail_context(st, "round %d", f->round + 1);
    report->evaluated = eval_round && f->evaluator && f->evaluator->evaluate;
    if (report->preference)
        tally->margin = t->examples ? t->margin_sum / (double)t->examples : 0.0;
    tally->rounds_done = f->round + 1;
    tally->reward_total += t->reward_sum;
    tally->true_reward_total += t->true_reward_sum;
    tally->interactions += t->examples;
    return FCB_OK;
}

enum { TALLY_SECTION_VERSION = 1, VALIDATION_SECTION_VERSION = 1 };

fcb_status fcb_run_tally_save(const fcb_run_tally *tally, fcb_ckpt_writer *w)
{
    fcb_ckpt_begin(w, "tally", TALLY_SECTION_VERSION);
    fcb_ckpt_put_i64(w, tally->rounds_done);
    fcb_ckpt_put_i64(w, tally->interactions);
    fcb_ckpt_put_f64(w, tally->reward_total);
    fcb_ckpt_put_f64(w, tally->true_reward_total);
    fcb_ckpt_put_f64(w, tally->accuracy);
    fcb_ckpt_put_f64(w, tally->test_reward);
    fcb_ckpt_put_f64s(w, tally->class_accuracy, FCB_MAX_ACTIONS);
    fcb_ckpt_put_f64(w, tally->reference_accuracy);
    fcb_ckpt_put_f64(w, tally->win_rate);
    fcb_ckpt_put_f64(w, tally->kl);
    fcb_ckpt_put_f64(w, tally->margin);
    fcb_status st = fcb_ckpt_end(w);
    if (st != FCB_OK || tally->val_accuracy < 0.0)
        return st;
    /* A section of its own, written only with a validation set, so runs
     * without one keep their checkpoint bytes and older checkpoints load. */
    fcb_ckpt_begin(w, "validation", VALIDATION_SECTION_VERSION);
    fcb_ckpt_put_f64(w, tally->val_accuracy);
    fcb_ckpt_put_f64(w, tally->val_reward);
    return fcb_ckpt_end(w);
}

fcb_status fcb_run_tally_load(fcb_run_tally *tally, fcb_ckpt_reader *r)
{
    int64_t rounds = 0, interactions = 0;
    fcb_status st = fcb_ckpt_open_section(r, "tally", TALLY_SECTION_VERSION);
    if (st == FCB_OK)
        st = fcb_ckpt_get_i64(r, &rounds);
    if (st == FCB_OK)
        st = fcb_ckpt_get_i64(r, &interactions);
    double *doubles[] = {&tally->reward_total, &tally->true_reward_total, &tally->accuracy, &tally->test_reward};
    for (size_t i = 0; st == FCB_OK && i < sizeof doubles / sizeof doubles[0]; i++)
        st = fcb_ckpt_get_f64(r, doubles[i]);
    if (st == FCB_OK)
        st = fcb_ckpt_get_f64s(r, tally->class_accuracy, FCB_MAX_ACTIONS);
    double *more[] = {&tally->reference_accuracy, &tally->win_rate, &tally->kl, &tally->margin};
    for (size_t i = 0; st == FCB_OK && i < sizeof more / sizeof more[0]; i++)
        st = fcb_ckpt_get_f64(r, more[i]);
    if (st == FCB_OK)
        st = fcb_ckpt_close_section(r);
    tally->val_accuracy = -1.0;
    if (st == FCB_OK && fcb_ckpt_has_section(r, "validation")) {
        st = fcb_ckpt_open_section(r, "validation", VALIDATION_SECTION_VERSION);
        if (st == FCB_OK)
            st = fcb_ckpt_get_f64(r, &tally->val_accuracy);
        if (st == FCB_OK)
            st = fcb_ckpt_get_f64(r, &tally->val_reward);
        if (st == FCB_OK)
            st = fcb_ckpt_close_section(r);
    }
    if (st == FCB_OK && (rounds < 0 || rounds > 1000000000 || interactions < 0 || !isfinite(tally->reward_total)))
        st = fcb_ckpt_fail(r, "rounds %lld or interactions %lld out of range", (long long)rounds,
                           (long long)interactions);
    tally->rounds_done = (int)rounds;
    tally->interactions = (long)interactions;
    return st;
}
