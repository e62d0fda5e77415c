/* Preference losses: gradients against central finite differences, closed
 * forms on hand cases, the DPO-versus-IPO/distill minimiser contrast, and
 * rejection of bad parameters and pairs with a message naming them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "preference_loss.h"
#include "rng.h"

enum { MAX_PAIRS = 4, MAX_K = 7, MAX_MEMBERS = 3 };

/* Scores are multiples of 2^-8 in [-2, 2] and the step is 2^-14, so every
 * perturbed score is an exact float and the loss (accumulated in double)
 * is evaluated at exactly score +- step: the central difference is then
 * accurate to ~1e-9, far below the tolerance on the float gradient. */
static const double FD_STEP = 1.0 / 16384.0;
static const double FD_ABS_TOL = 1e-7;
static const double FD_REL_TOL = 1e-5;

typedef struct {
    int n, k, m;
    float scores[MAX_PAIRS * MAX_K];
    float ref[MAX_PAIRS * MAX_K];
    float rewards[MAX_MEMBERS * MAX_PAIRS * MAX_K];
    int winners[MAX_PAIRS];
    int losers[MAX_PAIRS];
} pair_data;

static void clear_error(void)
{
    fcb_fail(FCB_OK, "%s", "");
}

static void assert_rejected(fcb_status status, fcb_status expected, const char *fragment)
{
    assert_int_equal(status, expected);
    const char *message = fcb_last_error();
    assert_true(strlen(message) > 0);
    if (fragment != NULL && strstr(message, fragment) == NULL)
        fail_msg("message '%s' does not mention '%s'", message, fragment);
    clear_error();
}

static fcb_preference_batch batch_of(const pair_data *d)
{
    return (fcb_preference_batch){.n = d->n,
                                  .k = d->k,
                                  .scores = d->scores,
                                  .ref_scores = d->ref,
                                  .winners = d->winners,
                                  .losers = d->losers,
                                  .num_reward_models = d->m,
                                  .reward_scores = d->m > 0 ? d->rewards : NULL};
}

static fcb_preference_params params_of(fcb_preference_kind kind, double tau, double beta)
{
    fcb_preference_params p;
    fcb_preference_params_default(&p, kind);
    p.temperature = tau;
    p.beta = beta;
    return p;
}

static double run_loss(const fcb_preference_params *p, const pair_data *d, float *dscores,
                       float *margins, double *mean_margin)
{
    fcb_preference_batch batch = batch_of(d);
    double loss = NAN;
    fcb_status status = fcb_preference_loss(p, &batch, dscores, margins, mean_margin, &loss);
    if (status != FCB_OK)
        fail_msg("fcb_preference_loss failed: %s", fcb_last_error());
    return loss;
}

static float grid_score(fcb_rng *rng)
{
    return (float)((int)fcb_rng_below(rng, 1025) - 512) / 256.0f;
}

static void random_pairs(pair_data *d, fcb_rng *rng, int n, int k, int m)
{
    memset(d, 0, sizeof *d);
    d->n = n;
    d->k = k;
    d->m = m;
    for (int c = 0; c < n * k; c++) {
        d->scores[c] = grid_score(rng);
        d->ref[c] = grid_score(rng);
    }
    for (int c = 0; c < m * n * k; c++)
        d->rewards[c] = (float)(2.0 * fcb_rng_uniform(rng) - 1.0);
    for (int i = 0; i < n; i++) {
        d->winners[i] = (int)fcb_rng_below(rng, (uint32_t)k);
        d->losers[i] = (d->winners[i] + 1 + (int)fcb_rng_below(rng, (uint32_t)k - 1)) % k;
    }
}

/* h from the cancelled form, independent of the library's log-softmax. */
static double reference_h(const pair_data *d, int i, double tau)
{
    const float *f = d->scores + i * d->k, *r = d->ref + i * d->k;
    int w = d->winners[i], l = d->losers[i];
    return (((double)f[w] - f[l]) - ((double)r[w] - r[l])) / tau;
}

static double member_residual(const pair_data *d, int m, int i, double z)
{
    const float *r = d->rewards + (m * d->n + i) * d->k;
    return z - ((double)r[d->winners[i]] - r[d->losers[i]]);
}

/* Every member's residual moves by the same change of beta h, so the worst
 * member of a pair cannot switch under a finite-difference step if the two
 * largest |residual| differ by more than that change (<= 1.2e-3 here). */
static int pessimistic_is_clear(const pair_data *d, double tau, double beta)
{
    for (int i = 0; i < d->n; i++) {
        double z = beta * reference_h(d, i, tau);
        double best = -1.0, second = -1.0;
        for (int m = 0; m < d->m; m++) {
            double size = fabs(member_residual(d, m, i, z));
            if (size > best) {
                second = best;
                best = size;
            } else if (size > second) {
                second = size;
            }
        }
        if (best - second < 1e-2)
            return 0;
    }
    return 1;
}

static void check_gradient(const fcb_preference_params *p, pair_data *d)
{
    float analytic[MAX_PAIRS * MAX_K], scratch[MAX_PAIRS * MAX_K];
    run_loss(p, d, analytic, NULL, NULL);
    for (int c = 0; c < d->n * d->k; c++) {
        float saved = d->scores[c];
        d->scores[c] = (float)(saved + FD_STEP);
        assert_true((double)d->scores[c] == (double)saved + FD_STEP);
        double up = run_loss(p, d, scratch, NULL, NULL);
        d->scores[c] = (float)(saved - FD_STEP);
        double down = run_loss(p, d, scratch, NULL, NULL);
        d->scores[c] = saved;
        double numeric = (up - down) / (2.0 * FD_STEP);
        double error = fabs(analytic[c] - numeric);
        if (error > FD_ABS_TOL + FD_REL_TOL * fabs(numeric))
            fail_msg("%s K=%d tau=%g beta=%g: cell %d analytic %.10g numeric %.10g",
                     fcb_preference_kind_name(p->kind), d->k, p->temperature, p->beta, c,
                     (double)analytic[c], numeric);
    }
}

static void test_names_round_trip(void **state)
{
    (void)state;
    const fcb_preference_kind kinds[] = {FCB_PREFERENCE_DPO, FCB_PREFERENCE_IPO,
                                         FCB_PREFERENCE_RDPO, FCB_PREFERENCE_DISTILL};
    const char *names[] = {"dpo", "ipo", "rdpo", "distill"};
    for (int i = 0; i < 4; i++) {
        fcb_preference_kind kind;
        assert_string_equal(fcb_preference_kind_name(kinds[i]), names[i]);
        assert_int_equal(fcb_preference_kind_from_name(names[i], &kind), FCB_OK);
        assert_int_equal(kind, kinds[i]);
    }
    fcb_ensemble_kind ensemble;
    assert_int_equal(fcb_ensemble_kind_from_name("mean", &ensemble), FCB_OK);
    assert_int_equal(ensemble, FCB_ENSEMBLE_MEAN);
    assert_int_equal(fcb_ensemble_kind_from_name("pessimistic", &ensemble), FCB_OK);
    assert_int_equal(ensemble, FCB_ENSEMBLE_PESSIMISTIC);
    assert_string_equal(fcb_ensemble_kind_name(FCB_ENSEMBLE_MEAN), "mean");

    fcb_preference_kind kind;
    assert_rejected(fcb_preference_kind_from_name("kto", &kind), FCB_ERR_CONFIG, "kto");
    assert_rejected(fcb_preference_kind_from_name(NULL, &kind), FCB_ERR_CONFIG, NULL);
    assert_rejected(fcb_ensemble_kind_from_name("max", &ensemble), FCB_ERR_CONFIG, "max");
}

static void test_gradients_match_finite_differences(void **state)
{
    (void)state;
    const int ks[] = {2, 3, 7};
    const double taus[] = {0.1, 0.5, 2.0};
    const double betas[] = {0.1, 1.0, 3.0};
    const double flip_rates[] = {0.0, 0.1, 0.3, 0.45};
    fcb_rng rng;
    fcb_rng_init(&rng, 2024, FCB_STREAM_TEST, 1, 0);
    pair_data d;
    int checked = 0;
    for (int ki = 0; ki < 3; ki++) {
        for (int ti = 0; ti < 3; ti++) {
            for (int bi = 0; bi < 3; bi++) {
                int k = ks[ki];
                double tau = taus[ti], beta = betas[bi];
                random_pairs(&d, &rng, MAX_PAIRS, k, 0);
                fcb_preference_params p = params_of(FCB_PREFERENCE_DPO, tau, beta);
                check_gradient(&p, &d);

                p = params_of(FCB_PREFERENCE_IPO, tau, beta);
                p.ipo_tau = beta; /* reuse the grid: ipo_tau in {0.1, 1, 3} */
                check_gradient(&p, &d);

                p = params_of(FCB_PREFERENCE_RDPO, tau, beta);
                for (int e = 0; e < 4; e++) {
                    p.flip_rate = flip_rates[e];
                    check_gradient(&p, &d);
                }

                /* Distill keeps beta h moderate so the squared loss is well scaled. */
                double distill_beta = beta > 1.0 ? 1.0 : beta;
                for (int mean = 0; mean < 2; mean++) {
                    p = params_of(FCB_PREFERENCE_DISTILL, tau, distill_beta);
                    p.ensemble = mean ? FCB_ENSEMBLE_MEAN : FCB_ENSEMBLE_PESSIMISTIC;
                    do {
                        random_pairs(&d, &rng, MAX_PAIRS, k, MAX_MEMBERS);
                    } while (!pessimistic_is_clear(&d, tau, distill_beta));
                    check_gradient(&p, &d);
                }
                checked++;
            }
        }
    }
    assert_int_equal(checked, 27);
}

/* Two members with targets 0 and 2 on the pair (0 over 1), tau = beta = 1,
 * reference 0: the worst member is 1 below h = 1 and 0 above. Pair 0 sits
 * at h = 0.25 (residuals 0.25, -1.75), pair 1 at h = 1.75 (1.75, -0.25),
 * both far from the kink. */
static void test_pessimistic_member_switch(void **state)
{
    (void)state;
    pair_data d;
    memset(&d, 0, sizeof d);
    d.n = 2;
    d.k = 3;
    d.m = 2;
    d.scores[0] = 0.25f;
    d.scores[3] = 1.75f;
    d.winners[0] = d.winners[1] = 0;
    d.losers[0] = d.losers[1] = 1;
    /* member 0: r = 0 everywhere; member 1: r(x, 0) = 2 on both rows. */
    d.rewards[(1 * 2 + 0) * 3 + 0] = 2.0f;
    d.rewards[(1 * 2 + 1) * 3 + 0] = 2.0f;

    fcb_preference_params p = params_of(FCB_PREFERENCE_DISTILL, 1.0, 1.0);
    float grad[6], margins[2];
    double mean_margin = 0.0;
    double loss = run_loss(&p, &d, grad, margins, &mean_margin);
    assert_true(fabs(loss - (1.75 * 1.75 + 1.75 * 1.75) / 2.0) < 1e-12);
    /* dL/df_w = 2 beta residual / (n tau): pair 0 pulls h up, pair 1 pushes it down. */
    assert_true(fabs(grad[0] - 2.0 * -1.75 / 2.0) < 1e-6);
    assert_true(fabs(grad[1] - 2.0 * 1.75 / 2.0) < 1e-6);
    assert_true(fabs(grad[3] - 2.0 * 1.75 / 2.0) < 1e-6);
    assert_true(fabs(grad[4] - 2.0 * -1.75 / 2.0) < 1e-6);
    assert_true(fabs(grad[2]) < 1e-7 && fabs(grad[5]) < 1e-7);
    assert_true(margins[0] == 0.25f && margins[1] == 1.75f);
    assert_true(fabs(mean_margin - 1.0) < 1e-12);
    check_gradient(&p, &d);

    /* The pessimistic gradient of each pair is exactly its worst member's. */
    pair_data single = d;
    single.n = 1;
    single.m = 1;
    float member_grad[3];
    memcpy(single.rewards, &d.rewards[(1 * 2 + 0) * 3], 3 * sizeof(float)); /* pair 0, member 1 */
    run_loss(&p, &single, member_grad, NULL, NULL);
    for (int a = 0; a < 3; a++)
        assert_true(fabs(member_grad[a] - 2.0f * grad[a]) < 1e-6);
    memcpy(single.scores, &d.scores[3], 3 * sizeof(float));
    memset(single.rewards, 0, 3 * sizeof(float)); /* pair 1, member 0 */
    run_loss(&p, &single, member_grad, NULL, NULL);
    for (int a = 0; a < 3; a++)
        assert_true(fabs(member_grad[a] - 2.0f * grad[3 + a]) < 1e-6);

    /* At the kink h = 1 the residuals tie at +1 and -1: the lowest member
     * (target 0, residual +1) is taken, so the gradient pushes h down. */
    single = d;
    single.n = 1;
    single.scores[0] = 1.0f;
    single.rewards[0 * 3 + 0] = 0.0f;
    single.rewards[1 * 3 + 0] = 2.0f;
    assert_true(fabs(run_loss(&p, &single, member_grad, NULL, NULL) - 1.0) < 1e-12);
    assert_true(fabs(member_grad[0] - 2.0f) < 1e-6);

    /* The mean over members: residuals (0.25, -1.75) and (1.75, -0.25). */
    p.ensemble = FCB_ENSEMBLE_MEAN;
    loss = run_loss(&p, &d, grad, NULL, NULL);
    double expected = ((0.0625 + 3.0625) / 2.0 + (3.0625 + 0.0625) / 2.0) / 2.0;
    assert_true(fabs(loss - expected) < 1e-12);
    assert_true(fabs(grad[0] - 2.0 * (0.25 - 1.75) / 2.0 / 2.0) < 1e-6);
    check_gradient(&p, &d);
}

static void test_closed_forms(void **state)
{
    (void)state;
    pair_data d;
    memset(&d, 0, sizeof d);
    d.n = 1;
    d.k = 3;
    d.winners[0] = 2;
    d.losers[0] = 0;
    float grad[3];
    double mean_margin = -1.0;

    /* h = 0 (policy = reference): DPO = log 2, dL/dh = -beta/2, so
     * dL/df = -beta/(2 tau) on the winner and +beta/(2 tau) on the loser. */
    d.scores[0] = 0.5f, d.scores[1] = -1.0f, d.scores[2] = 1.5f;
    memcpy(d.ref, d.scores, sizeof d.scores);
    fcb_preference_params p = params_of(FCB_PREFERENCE_DPO, 0.5, 0.2);
    double loss = run_loss(&p, &d, grad, NULL, &mean_margin);
    assert_true(fabs(loss - log(2.0)) < 1e-15);
    assert_true(mean_margin == 0.0);
    assert_true(fabs(grad[2] + 0.2) < 1e-7 && fabs(grad[0] - 0.2) < 1e-7 && grad[1] == 0.0f);

    /* rDPO at h = 0 is log 2 for any flip rate. */
    p = params_of(FCB_PREFERENCE_RDPO, 0.5, 0.2);
    p.flip_rate = 0.3;
    assert_true(fabs(run_loss(&p, &d, grad, NULL, NULL) - log(2.0)) < 1e-14);

    /* h = 2 with tau = 1, beta = 1: DPO = log(1 + e^-2). */
    memset(d.ref, 0, sizeof d.ref);
    d.scores[0] = 0.0f, d.scores[1] = 0.0f, d.scores[2] = 2.0f;
    p = params_of(FCB_PREFERENCE_DPO, 1.0, 1.0);
    float margin = 0.0f;
    loss = run_loss(&p, &d, grad, &margin, &mean_margin);
    assert_true(fabs(loss - log1p(exp(-2.0))) < 1e-14);
    assert_true(margin == 2.0f && fabs(mean_margin - 2.0) < 1e-14);
    double sig = 1.0 / (1.0 + exp(2.0));
    assert_true(fabs(grad[2] + sig) < 1e-7 && fabs(grad[0] - sig) < 1e-7);

    /* rDPO with eps = 0 is DPO, bit for bit. */
    float dpo_grad[3];
    memcpy(dpo_grad, grad, sizeof grad);
    p = params_of(FCB_PREFERENCE_RDPO, 1.0, 1.0);
    p.flip_rate = 0.0;
    assert_true(run_loss(&p, &d, grad, NULL, NULL) == loss);
    assert_memory_equal(grad, dpo_grad, sizeof grad);

    /* rDPO by hand at z = 2, eps = 0.2: [0.8 softplus(-2) - 0.2 softplus(2)] / 0.6. */
    p.flip_rate = 0.2;
    double expected = (0.8 * log1p(exp(-2.0)) - 0.2 * log1p(exp(2.0))) / 0.6;
    assert_true(fabs(run_loss(&p, &d, grad, NULL, NULL) - expected) < 1e-14);

    /* IPO: minimised at h = 1/(2 ipo_tau) = 2 for ipo_tau = 0.25; at h = 0.5,
     * (0.5 - 2)^2 = 2.25 with dL/dh = -3. */
    p = params_of(FCB_PREFERENCE_IPO, 1.0, 1.0);
    p.ipo_tau = 0.25;
    loss = run_loss(&p, &d, grad, NULL, NULL);
    assert_true(loss < 1e-28);
    for (int a = 0; a < 3; a++)
        assert_true(fabs(grad[a]) < 1e-12);
    d.scores[2] = 0.5f;
    loss = run_loss(&p, &d, grad, NULL, NULL);
    assert_true(fabs(loss - 2.25) < 1e-14);
    assert_true(fabs(grad[2] + 3.0) < 1e-6 && fabs(grad[0] - 3.0) < 1e-6);

    /* Distill: beta = 0.5, h = 2, members' targets 0.25 and 1.5: residuals
     * 0.75 and -0.5; pessimistic 0.5625 with dL/dh = 2 * 0.5 * 0.75; mean
     * (0.5625 + 0.25) / 2 = 0.40625 with dL/dh = 2 * 0.5 * 0.125. */
    d.scores[2] = 2.0f;
    d.m = 2;
    d.rewards[2] = 0.25f;         /* member 0: r(a_w) - r(a_l) = 0.25 */
    d.rewards[3 + 2] = 1.0f;      /* member 1: 1 - (-0.5) = 1.5 */
    d.rewards[3 + 0] = -0.5f;
    p = params_of(FCB_PREFERENCE_DISTILL, 1.0, 0.5);
    loss = run_loss(&p, &d, grad, &margin, NULL);
    assert_true(fabs(loss - 0.5625) < 1e-14);
    assert_true(margin == 1.0f);
    assert_true(fabs(grad[2] - 0.75) < 1e-7 && fabs(grad[0] + 0.75) < 1e-7);
    p.ensemble = FCB_ENSEMBLE_MEAN;
    loss = run_loss(&p, &d, grad, NULL, NULL);
    assert_true(fabs(loss - 0.40625) < 1e-14);
    assert_true(fabs(grad[2] - 0.125) < 1e-7 && fabs(grad[0] + 0.125) < 1e-7);
}

/* Chowdhury et al.'s unbiasedness: averaging rDPO over the flip,
 * (1 - e) L(w, l) + e L(l, w), gives the clean DPO loss and gradient. */
static void test_rdpo_unbiased_under_flips(void **state)
{
    (void)state;
    fcb_rng rng;
    fcb_rng_init(&rng, 7, FCB_STREAM_TEST, 2, 0);
    for (int trial = 0; trial < 20; trial++) {
        pair_data d, swapped;
        random_pairs(&d, &rng, MAX_PAIRS, 5, 0);
        swapped = d;
        memcpy(swapped.winners, d.losers, sizeof d.losers);
        memcpy(swapped.losers, d.winners, sizeof d.winners);
        double eps = 0.05 + 0.4 * fcb_rng_uniform(&rng);
        fcb_preference_params dpo = params_of(FCB_PREFERENCE_DPO, 0.7, 1.3);
        fcb_preference_params rdpo = dpo;
        rdpo.kind = FCB_PREFERENCE_RDPO;
        rdpo.flip_rate = eps;
        float g_clean[MAX_PAIRS * 5], g_kept[MAX_PAIRS * 5], g_flipped[MAX_PAIRS * 5];
        double clean = run_loss(&dpo, &d, g_clean, NULL, NULL);
        double kept = run_loss(&rdpo, &d, g_kept, NULL, NULL);
        double flipped = run_loss(&rdpo, &swapped, g_flipped, NULL, NULL);
        assert_true(fabs((1.0 - eps) * kept + eps * flipped - clean) < 1e-12);
        for (int c = 0; c < MAX_PAIRS * 5; c++)
            assert_true(fabs((1.0 - eps) * g_kept[c] + eps * g_flipped[c] - g_clean[c]) < 1e-6);
    }
}

/* One separable pair (0 over 1), K = 2, tau = 1, reference 0, so h = f_0 - f_1.
 * dL/df_0 < 0 means gradient descent raises h. DPO's does so at every h;
 * IPO's and distill's change sign at their finite minimiser. */
static void test_dpo_unbounded_ipo_distill_bounded(void **state)
{
    (void)state;
    pair_data d;
    memset(&d, 0, sizeof d);
    d.n = 1;
    d.k = 2;
    d.m = 1;
    d.winners[0] = 0;
    d.losers[0] = 1;
    d.rewards[0] = 1.5f; /* distill target r(a_w) - r(a_l) = 1.5 */
    fcb_preference_params dpo = params_of(FCB_PREFERENCE_DPO, 1.0, 1.0);
    fcb_preference_params ipo = params_of(FCB_PREFERENCE_IPO, 1.0, 1.0);
    ipo.ipo_tau = 0.25; /* minimiser h = 2 */
    fcb_preference_params distill = params_of(FCB_PREFERENCE_DISTILL, 1.0, 0.5); /* h = 3 */
    const float hs[] = {-2.0f, 0.0f, 1.0f, 2.0f, 3.0f, 5.0f, 10.0f, 20.0f, 40.0f};
    float grad[2];
    for (int i = 0; i < 9; i++) {
        d.scores[0] = hs[i];
        run_loss(&dpo, &d, grad, NULL, NULL);
        assert_true(grad[0] < 0.0f && grad[1] > 0.0f);
        run_loss(&ipo, &d, grad, NULL, NULL);
        assert_true(hs[i] < 2.0f   ? grad[0] < 0.0f
                    : hs[i] > 2.0f ? grad[0] > 0.0f
                                   : fabs(grad[0]) < 1e-12);
        run_loss(&distill, &d, grad, NULL, NULL);
        assert_true(hs[i] < 3.0f   ? grad[0] < 0.0f
                    : hs[i] > 3.0f ? grad[0] > 0.0f
                                   : fabs(grad[0]) < 1e-12);
    }

    /* Gradient descent from h = 0: IPO and distill settle at 2 and 3, DPO
     * passes both and is still climbing at the end. */
    const fcb_preference_params *losses[] = {&dpo, &ipo, &distill};
    double final_h[3];
    for (int which = 0; which < 3; which++) {
        d.scores[0] = d.scores[1] = 0.0f;
        double previous = 0.0;
        for (int step = 0; step < 2000; step++) {
            run_loss(losses[which], &d, grad, NULL, NULL);
            d.scores[0] -= 0.1f * grad[0];
            d.scores[1] -= 0.1f * grad[1];
            double h = (double)d.scores[0] - d.scores[1];
            if (which == 0 && !(h > previous))
                fail_msg("DPO stopped raising h at step %d (h = %g)", step, h);
            previous = h;
        }
        final_h[which] = previous;
    }
    assert_true(final_h[0] > 4.0);
    assert_true(fabs(final_h[1] - 2.0) < 1e-5);
    assert_true(fabs(final_h[2] - 3.0) < 1e-5);
}

static void test_extreme_scores_stay_finite(void **state)
{
    (void)state;
    pair_data d;
    memset(&d, 0, sizeof d);
    d.n = 1;
    d.k = 2;
    d.m = 1;
    d.winners[0] = 0;
    d.losers[0] = 1;
    /* h = -2000: softplus(2000) = 2000, dL/dh = -1 in the saturated tail. */
    d.scores[0] = -1000.0f;
    d.scores[1] = 1000.0f;
    float grad[2];
    fcb_preference_params p = params_of(FCB_PREFERENCE_DPO, 1.0, 1.0);
    assert_true(fabs(run_loss(&p, &d, grad, NULL, NULL) - 2000.0) < 1e-9);
    assert_true(grad[0] == -1.0f && grad[1] == 1.0f);
    /* Large scores at a small temperature: exp never overflows. */
    d.scores[0] = 1e4f;
    d.scores[1] = -1e4f;
    d.ref[1] = 3e4f;
    const fcb_preference_kind kinds[] = {FCB_PREFERENCE_DPO, FCB_PREFERENCE_IPO,
                                         FCB_PREFERENCE_RDPO, FCB_PREFERENCE_DISTILL};
    for (int i = 0; i < 4; i++) {
        p = params_of(kinds[i], 0.05, 0.1);
        p.flip_rate = 0.2;
        double loss = run_loss(&p, &d, grad, NULL, NULL);
        assert_true(isfinite(loss) && isfinite(grad[0]) && isfinite(grad[1]));
    }
}

static void test_bad_inputs_rejected(void **state)
{
    (void)state;
    pair_data d;
    memset(&d, 0, sizeof d);
    d.n = 2;
    d.k = 3;
    d.winners[0] = 0, d.losers[0] = 1;
    d.winners[1] = 2, d.losers[1] = 1;
    fcb_preference_batch batch = batch_of(&d);
    float grad[6];
    double loss = 0.0;
    clear_error();

    fcb_preference_params p = params_of(FCB_PREFERENCE_DPO, 1.0, 0.0);
    assert_rejected(fcb_preference_loss(&p, &batch, grad, NULL, NULL, &loss), FCB_ERR_CONFIG,
                    "preference.beta = 0: must be > 0");
    p = params_of(FCB_PREFERENCE_RDPO, 1.0, 0.1);
    p.flip_rate = 0.5;
    assert_rejected(fcb_preference_loss(&p, &batch, grad, NULL, NULL, &loss), FCB_ERR_CONFIG,
                    "preference.flip_rate = 0.5: must be in [0, 0.5)");
    p.flip_rate = -0.1;
    assert_rejected(fcb_preference_params_validate(&p), FCB_ERR_CONFIG, "preference.flip_rate");
    p = params_of(FCB_PREFERENCE_IPO, 1.0, 0.1);
    p.ipo_tau = -1.0;
    assert_rejected(fcb_preference_params_validate(&p), FCB_ERR_CONFIG,
                    "preference.ipo_tau = -1: must be > 0");
    p = params_of(FCB_PREFERENCE_DPO, 0.0, 0.1);
    assert_rejected(fcb_preference_params_validate(&p), FCB_ERR_CONFIG,
                    "preference.temperature = 0: must be > 0");
    p = params_of(FCB_PREFERENCE_DPO, 1.0, NAN);
    assert_rejected(fcb_preference_params_validate(&p), FCB_ERR_CONFIG, "preference.beta");
    p = params_of(FCB_PREFERENCE_DPO, INFINITY, 0.1);
    assert_rejected(fcb_preference_params_validate(&p), FCB_ERR_CONFIG, "must be finite");
    p = params_of((fcb_preference_kind)42, 1.0, 0.1);
    assert_rejected(fcb_preference_params_validate(&p), FCB_ERR_CONFIG, "preference.kind");
    /* Parameters of other kinds are not checked. */
    p = params_of(FCB_PREFERENCE_DPO, 1.0, 0.1);
    p.flip_rate = 0.9;
    p.ipo_tau = 0.0;
    assert_int_equal(fcb_preference_params_validate(&p), FCB_OK);

    /* Pairs: winner == loser, out-of-range actions, non-finite scores. */
    grad[0] = 123.0f;
    d.losers[1] = 2;
    batch = batch_of(&d);
    assert_rejected(fcb_preference_loss(&p, &batch, grad, NULL, NULL, &loss), FCB_ERR_ARG,
                    "pair 1 has winner = loser = 2");
    assert_true(grad[0] == 123.0f); /* nothing written */
    d.losers[1] = 3;
    assert_rejected(fcb_preference_loss(&p, &batch, grad, NULL, NULL, &loss), FCB_ERR_ARG,
                    "pair 1");
    d.losers[1] = 1;
    d.winners[0] = -1;
    assert_rejected(fcb_preference_loss(&p, &batch, grad, NULL, NULL, &loss), FCB_ERR_ARG,
                    "pair 0");
    d.winners[0] = 0;
    d.scores[4] = NAN;
    assert_rejected(fcb_preference_loss(&p, &batch, grad, NULL, NULL, &loss), FCB_ERR_ARG,
                    "score of row 1 action 1");
    d.scores[4] = 0.0f;
    d.ref[2] = INFINITY;
    assert_rejected(fcb_preference_loss(&p, &batch, grad, NULL, NULL, &loss), FCB_ERR_ARG,
                    "reference score of row 0 action 2");
    d.ref[2] = 0.0f;

    /* Shapes and missing arrays. */
    batch.k = 1;
    assert_rejected(fcb_preference_loss(&p, &batch, grad, NULL, NULL, &loss), FCB_ERR_ARG,
                    "k = 1");
    batch = batch_of(&d);
    batch.n = 0;
    assert_rejected(fcb_preference_loss(&p, &batch, grad, NULL, NULL, &loss), FCB_ERR_ARG,
                    "n = 0");
    batch = batch_of(&d);
    batch.losers = NULL;
    assert_rejected(fcb_preference_loss(&p, &batch, grad, NULL, NULL, &loss), FCB_ERR_ARG, NULL);
    batch = batch_of(&d);
    assert_rejected(fcb_preference_loss(&p, &batch, NULL, NULL, NULL, &loss), FCB_ERR_ARG, NULL);

    /* Distill needs reward models, all finite. */
    p = params_of(FCB_PREFERENCE_DISTILL, 1.0, 0.1);
    assert_rejected(fcb_preference_loss(&p, &batch, grad, NULL, NULL, &loss), FCB_ERR_ARG,
                    "num_reward_models");
    d.m = 1;
    d.rewards[5] = NAN;
    batch = batch_of(&d);
    assert_rejected(fcb_preference_loss(&p, &batch, grad, NULL, NULL, &loss), FCB_ERR_ARG,
                    "reward model 0 score of row 1 action 2");
    d.rewards[5] = 0.0f;
    assert_int_equal(fcb_preference_loss(&p, &batch, grad, NULL, NULL, &loss), FCB_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_gradients_match_finite_differences),
        cmocka_unit_test(test_pessimistic_member_switch),
        cmocka_unit_test(test_closed_forms),
        cmocka_unit_test(test_rdpo_unbiased_under_flips),
        cmocka_unit_test(test_dpo_unbounded_ipo_distill_bounded),
        cmocka_unit_test(test_extreme_scores_stay_finite),
        cmocka_unit_test(test_bad_inputs_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
