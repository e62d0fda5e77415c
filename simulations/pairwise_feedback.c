#include "pairwise_feedback.h"

#include <math.h>
#include <stddef.h>

fcb_status fcb_pairwise_config_validate(const fcb_pairwise_config *config)
{
    if (config == NULL)
        return fcb_fail(FCB_ERR_ARG, "fcb_pairwise_config_validate: NULL config");
    if (!isfinite(config->temperature))
        return fcb_fail(FCB_ERR_CONFIG, "pairwise.temperature = %g: must be finite",
                        config->temperature);
    if (!(config->temperature >= 0.0))
        return fcb_fail(FCB_ERR_CONFIG, "pairwise.temperature = %g: must be >= 0",
                        config->temperature);
    if (!(config->flip_rate >= 0.0 && config->flip_rate <= 1.0))
        return fcb_fail(FCB_ERR_CONFIG, "pairwise.flip_rate = %g: must be in [0, 1]",
                        config->flip_rate);
    return FCB_OK;
}

static fcb_status validate_row(const float *probs, const float *utilities, int k, int row)
{
    double total = 0.0;
    for (int a = 0; a < k; a++) {
        if (!(isfinite(probs[a]) && probs[a] >= 0.0f))
            return fcb_fail(FCB_ERR_ARG,
                            "pairwise feedback: probability of row %d action %d is %g, need "
                            "finite and >= 0",
                            row, a, (double)probs[a]);
        if (!isfinite(utilities[a]))
            return fcb_fail(FCB_ERR_ARG,
                            "pairwise feedback: utility of row %d action %d is not finite (%g)",
                            row, a, (double)utilities[a]);
        total += probs[a];
    }
    if (!(total > 0.0))
        return fcb_fail(FCB_ERR_ARG, "pairwise feedback: probabilities of row %d sum to 0", row);
    return FCB_OK;
}

static fcb_status validate_call(const fcb_pairwise_config *config, const float *probs,
                                const float *utilities, int k)
{
    if (config == NULL || probs == NULL || utilities == NULL)
        return fcb_fail(FCB_ERR_ARG, "pairwise feedback: NULL argument");
    if (k < 2)
        return fcb_fail(FCB_ERR_ARG, "pairwise feedback: k = %d actions, a pair needs at least 2",
                        k);
    return fcb_pairwise_config_validate(config);
}

/* Sum of probs over every action but skip (-1: none). */
static double mass_without(const float *probs, int k, int skip)
{
    double total = 0.0;
    for (int a = 0; a < k; a++) {
        if (a != skip)
            total += probs[a];
    }
    return total;
}

/* An action != skip drawn with probability probs[a] / mass_without(skip);
 * uniform over the K - 1 others when that mass is 0 (never for skip = -1). */
static int sample_without(const float *probs, int k, int skip, double uniform)
{
    double total = mass_without(probs, k, skip);
    if (total <= 0.0) {
        int index = (int)(uniform * (k - 1));
        index = index < k - 2 ? index : k - 2;
        return index >= skip ? index + 1 : index;
    }
    double target = uniform * total, cumulative = 0.0;
    int last = -1;
    for (int a = 0; a < k; a++) {
        if (a == skip || probs[a] <= 0.0f)
            continue;
        cumulative += probs[a];
        last = a;
        if (target < cumulative)
            return a;
    }
    return last; /* rounding put target at the very end */
}

static double sigmoid(double x)
{
    if (x >= 0.0)
        return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

/* P(the user prefers a over b), before any flip. */
static double prefer_probability(double temperature, const float *utilities, int a, int b)
{
    double gap = (double)utilities[a] - utilities[b];
    if (temperature == 0.0)
        return gap > 0.0 ? 1.0 : gap < 0.0 ? 0.0 : 0.5;
    return sigmoid(gap / temperature);
}

/* P(a1 = first, a2 = second) of the draw without replacement. */
static double ordered_pair_probability(const float *probs, int k, int first, int second)
{
    double rest = mass_without(probs, k, first);
    double p_second = rest > 0.0 ? probs[second] / rest : 1.0 / (k - 1);
    return probs[first] / mass_without(probs, k, -1) * p_second;
}

static void draw_row(const fcb_pairwise_config *config, const float *probs,
                     const float *utilities, int k, fcb_rng *rng, int *winner, int *loser)
{
    double u_first = fcb_rng_uniform(rng);
    double u_second = fcb_rng_uniform(rng);
    double u_prefer = fcb_rng_uniform(rng);
    double u_flip = fcb_rng_uniform(rng);
    int first = sample_without(probs, k, -1, u_first);
    int second = sample_without(probs, k, first, u_second);
    int first_wins = u_prefer < prefer_probability(config->temperature, utilities, first, second);
    if (u_flip < config->flip_rate)
        first_wins = !first_wins;
    *winner = first_wins ? first : second;
    *loser = first_wins ? second : first;
}

fcb_status fcb_pairwise_draw(const fcb_pairwise_config *config, const float *probs,
                             const float *utilities, int k, fcb_rng *rng, int *winner,
                             int *loser)
{
    if (rng == NULL || winner == NULL || loser == NULL)
        return fcb_fail(FCB_ERR_ARG, "fcb_pairwise_draw: NULL argument");
    fcb_status status = validate_call(config, probs, utilities, k);
    if (status == FCB_OK)
        status = validate_row(probs, utilities, k, 0);
    if (status != FCB_OK)
        return status;
    draw_row(config, probs, utilities, k, rng, winner, loser);
    return FCB_OK;
}

fcb_status fcb_pairwise_pair_probability(const fcb_pairwise_config *config, const float *probs,
                                         const float *utilities, int k, int winner, int loser,
                                         double *probability)
{
    if (probability == NULL)
        return fcb_fail(FCB_ERR_ARG, "fcb_pairwise_pair_probability: NULL argument");
    fcb_status status = validate_call(config, probs, utilities, k);
    if (status == FCB_OK)
        status = validate_row(probs, utilities, k, 0);
    if (status != FCB_OK)
        return status;
    if (winner < 0 || winner >= k || loser < 0 || loser >= k || winner == loser)
        return fcb_fail(FCB_ERR_ARG,
                        "fcb_pairwise_pair_probability: winner %d and loser %d must be distinct "
                        "and in [0, %d)",
                        winner, loser, k);

    double shown = ordered_pair_probability(probs, k, winner, loser) +
                   ordered_pair_probability(probs, k, loser, winner);
    double prefer = prefer_probability(config->temperature, utilities, winner, loser);
    double eps = config->flip_rate;
    *probability = shown * ((1.0 - eps) * prefer + eps * (1.0 - prefer));
    return FCB_OK;
}

fcb_status fcb_pairwise_feedback(const fcb_pairwise_config *config, const float *probs,
                                 const float *utilities, int n, int k, fcb_rng *rng,
                                 int *winners, int *losers)
{
    if (rng == NULL || winners == NULL || losers == NULL)
        return fcb_fail(FCB_ERR_ARG, "fcb_pairwise_feedback: NULL argument");
    if (n < 1)
        return fcb_fail(FCB_ERR_ARG, "fcb_pairwise_feedback: n = %d contexts, need at least 1",
                        n);
    fcb_status status = validate_call(config, probs, utilities, k);
    for (int i = 0; i < n && status == FCB_OK; i++)
        status = validate_row(probs + (size_t)i * k, utilities + (size_t)i * k, k, i);
    if (status != FCB_OK)
        return status;
    for (int i = 0; i < n; i++) {
        size_t offset = (size_t)i * k;
        draw_row(config, probs + offset, utilities + offset, k, rng, &winners[i], &losers[i]);
    }
    return FCB_OK;
}
