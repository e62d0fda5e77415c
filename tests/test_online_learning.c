#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linear_bandit.h"
#include "loss.h"
#include "model.h"
#include "policy.h"
#include "sgd.h"

/* One learner on a synthetic linear problem: contexts x ~ N(0, I_d), a fixed
 * Gaussian weight matrix W, reward 1 when the action is argmax_a (W x)_a.
 * Every learner sees the same context sequence (same data stream). */
enum { K = 10, D = 20, BATCH = 32, INTERACTIONS = 200000, STEPS = INTERACTIONS / BATCH };

static const uint64_t SEED = 20240611;

typedef struct {
    float W[K * D];
    fcb_rng data;
    float x[BATCH * D];
    int best[BATCH];
} problem;

static void problem_init(problem *p)
{
    fcb_rng weights;
    fcb_rng_init(&weights, SEED, FCB_STREAM_MODEL_INIT, 0, 0);
    for (int i = 0; i < K * D; i++)
        p->W[i] = (float)fcb_rng_normal(&weights);
    fcb_rng_init(&p->data, SEED, FCB_STREAM_DATA, 0, 0);
}

/* The next BATCH contexts and their best actions. */
static void problem_next(problem *p)
{
    for (int i = 0; i < BATCH * D; i++)
        p->x[i] = (float)fcb_rng_normal(&p->data);
    for (int i = 0; i < BATCH; i++) {
        int best = 0;
        double best_value = -INFINITY;
        for (int a = 0; a < K; a++) {
            double value = 0.0;
            for (int j = 0; j < D; j++)
                value += (double)p->W[a * D + j] * p->x[i * D + j];
            if (value > best_value) {
                best_value = value;
                best = a;
            }
        }
        p->best[i] = best;
    }
}

static double reward_of(const problem *p, int row, int action)
{
    return action == p->best[row] ? 1.0 : 0.0;
}

/* Act with the current model on BATCH contexts, then one SGD step on those
 * BATCH logged interactions (bandit loss on the chosen action). Returns the
 * mean of all observed rewards. */
static double run_score_learner(const fcb_policy_config *policy, float learning_rate)
{
    fcb_model_config model_config = {.arch = FCB_ARCH_LINEAR,
                                      .input_dim = D,
                                      .num_actions = K,
                                      .normalize_input = 1};
    fcb_model model;
    assert_int_equal(fcb_model_init(&model, &model_config), FCB_OK);
    float *params = calloc(model.num_params, sizeof(float));
    float *grad = calloc(model.num_params, sizeof(float));
    assert_non_null(params);
    assert_non_null(grad);
    fcb_rng init_rng, policy_rng;
    fcb_rng_init(&init_rng, SEED, FCB_STREAM_MODEL_INIT, 1, 0);
    fcb_rng_init(&policy_rng, SEED, FCB_STREAM_POLICY, 0, 0);
    assert_int_equal(fcb_model_init_params(&model, params, &init_rng), FCB_OK);
    fcb_workspace ws;
    assert_int_equal(fcb_workspace_init(&ws, &model, BATCH), FCB_OK);
    fcb_sgd_config sgd_config = {.learning_rate = learning_rate};
    fcb_sgd sgd;
    assert_int_equal(fcb_sgd_init(&sgd, &sgd_config, model.num_params), FCB_OK);

    problem p;
    problem_init(&p);
    float scores[BATCH * K], probs[BATCH * K], dscores[BATCH * K];
    float propensities[BATCH], rewards[BATCH];
    int actions[BATCH];
    double reward_sum = 0.0;
    for (int step = 0; step < STEPS; step++) {
        problem_next(&p);
        assert_int_equal(fcb_model_forward(&model, params, p.x, BATCH, &ws, scores), FCB_OK);
        assert_int_equal(fcb_policy_act(policy, scores, BATCH, K, &policy_rng, probs, actions,
                                        propensities),
                         FCB_OK);
        for (int i = 0; i < BATCH; i++) {
            rewards[i] = (float)reward_of(&p, i, actions[i]);
            reward_sum += rewards[i];
        }
        double loss;
        assert_int_equal(fcb_loss_chosen_squared(scores, BATCH, K, actions, rewards, NULL,
                                                 dscores, &loss),
                         FCB_OK);
        assert_int_equal(fcb_model_backward(&model, params, dscores, &ws, grad), FCB_OK);
        assert_int_equal(fcb_sgd_step(&sgd, params, grad), FCB_OK);
    }
    fcb_sgd_free(&sgd);
    fcb_workspace_free(&ws);
    free(params);
    free(grad);
    return reward_sum / ((double)STEPS * BATCH);
}

/* LinUCB (thompson_v = 0) or Thompson sampling on phi = x: solve the
 * posterior, act on BATCH contexts, add them to the statistics. */
static double run_linear(double alpha, double thompson_v, double lambda)
{
    fcb_linstats stats;
    fcb_linposterior post;
    assert_int_equal(fcb_linstats_init(&stats, K, D, 0), FCB_OK);
    assert_int_equal(fcb_linposterior_init(&post, K, D, 0), FCB_OK);
    fcb_rng policy_rng;
    fcb_rng_init(&policy_rng, SEED, FCB_STREAM_POLICY, 0, 0);
    problem p;
    problem_init(&p);
    float propensities[BATCH], rewards[BATCH];
    int actions[BATCH];
    double reward_sum = 0.0;
    for (int step = 0; step < STEPS; step++) {
        problem_next(&p);
        assert_int_equal(fcb_linposterior_solve(&post, &stats, lambda, NULL), FCB_OK);
        fcb_thompson_options thompson = {thompson_v, FCB_TS_PROPENSITY_MONTE_CARLO, 1, FCB_TS_SAMPLE_DECISION};
        if (thompson_v > 0.0)
            assert_int_equal(fcb_thompson_act(&post, &thompson, p.x, BATCH, &policy_rng, actions, propensities),
                             FCB_OK);
        else
            assert_int_equal(
                fcb_linucb_act(&post, alpha, p.x, BATCH, actions, propensities, NULL), FCB_OK);
        for (int i = 0; i < BATCH; i++) {
            rewards[i] = (float)reward_of(&p, i, actions[i]);
            reward_sum += rewards[i];
        }
        assert_int_equal(fcb_linstats_add(&stats, p.x, BATCH, actions, rewards), FCB_OK);
    }
    fcb_linposterior_free(&post);
    fcb_linstats_free(&stats);
    return reward_sum / ((double)STEPS * BATCH);
}

static void test_online_rewards(void **state)
{
    (void)state;
    fcb_policy_config uniform, greedy, softmax, igw;
    fcb_policy_config_default(&uniform, FCB_POLICY_UNIFORM);
    fcb_policy_config_default(&greedy, FCB_POLICY_GREEDY);
    fcb_policy_config_default(&softmax, FCB_POLICY_SOFTMAX);
    softmax.temperature = 0.05f;
    fcb_policy_config_default(&igw, FCB_POLICY_IGW);
    igw.igw_mu = 0.0f; /* K */
    igw.igw_gamma = 300.0f;
    /* Tuned on unit-norm inputs: lr 0.2 learns too slowly for 0.75, lr 2 diverges.
     * With seeds 1, 2, 3 instead of SEED softmax gave 0.788-0.795, IGW 0.781-0.797. */
    const float learning_rate = 0.5f;

    double uniform_reward = run_score_learner(&uniform, learning_rate);
    double greedy_reward = run_score_learner(&greedy, learning_rate);
    double softmax_reward = run_score_learner(&softmax, learning_rate);
    double igw_reward = run_score_learner(&igw, learning_rate);
    double linucb_reward = run_linear(1.0, 0.0, 1.0);
    double thompson_reward = run_linear(0.0, 0.1, 1.0);

    print_message("online average reward over %d interactions (K=%d, d=%d, batch %d):\n",
                  INTERACTIONS, K, D, BATCH);
    print_message("  %-28s %.4f\n", "uniform", uniform_reward);
    print_message("  %-28s %.4f\n", "greedy", greedy_reward);
    print_message("  %-28s %.4f\n", "softmax tau=0.05", softmax_reward);
    print_message("  %-28s %.4f\n", "igw mu=K gamma=300", igw_reward);
    print_message("  %-28s %.4f\n", "linucb alpha=1 lambda=1", linucb_reward);
    print_message("  %-28s %.4f\n", "thompson v=0.1 lambda=1", thompson_reward);

    /* Uniform: 1/K with a standard error of 0.0007. */
    assert_true(fabs(uniform_reward - 0.1) < 0.005);
    /* Greedy learns too (0.747 with SEED): far above uniform, short of the
     * explorers it is not asked to beat. */
    assert_true(greedy_reward >= 0.6);
    assert_true(softmax_reward >= 0.75);
    assert_true(igw_reward >= 0.75);
    assert_true(linucb_reward >= 0.75);
    /* Thompson sampling learns as LinUCB does (0.912 with SEED). */
    assert_true(thompson_reward >= 0.75);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_online_rewards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
