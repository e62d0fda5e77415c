/* Closed-form values of the losses on hand-computed cases, and rejection of
 * bad input with a message naming the row. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "loss.h"

static void clear_error(void)
{
    fcb_fail(FCB_OK, "%s", "");
}

static void assert_rejected(fcb_status status, const char *expected_fragment)
{
    assert_int_equal(status, FCB_ERR_ARG);
    const char *message = fcb_last_error();
    assert_true(strlen(message) > 0);
    if (expected_fragment != NULL && strstr(message, expected_fragment) == NULL)
        fail_msg("message '%s' does not mention '%s'", message, expected_fragment);
    clear_error();
}

static void test_names_round_trip(void **state)
{
    (void)state;
    const fcb_loss_kind kinds[] = {FCB_LOSS_CHOSEN_SQUARED, FCB_LOSS_IMPORTANCE_SQUARED,
                                   FCB_LOSS_FULL_MSE, FCB_LOSS_SOFTMAX_XENT};
    const char *names[] = {"chosen_squared", "importance_squared", "full_mse", "softmax_xent"};
    for (int i = 0; i < 4; i++) {
        fcb_loss_kind kind;
        assert_string_equal(fcb_loss_kind_name(kinds[i]), names[i]);
        assert_int_equal(fcb_loss_kind_from_name(names[i], &kind), FCB_OK);
        assert_int_equal(kind, kinds[i]);
    }
    fcb_loss_kind kind;
    assert_int_equal(fcb_loss_kind_from_name("hinge", &kind), FCB_ERR_CONFIG);
    assert_non_null(strstr(fcb_last_error(), "'hinge' (expected chosen_squared"));
    assert_int_equal(fcb_loss_kind_from_name("", &kind), FCB_ERR_CONFIG);
    assert_int_equal(fcb_loss_kind_from_name(NULL, &kind), FCB_ERR_CONFIG);
}

static void test_chosen_squared_closed_form(void **state)
{
    (void)state;
    /* scores [1, 2], action 1, reward 0: (2 - 0)^2 = 4, dL/df = 2 * 2 = 4. */
    float scores[] = {1.0f, 2.0f};
    int action = 1;
    float reward = 0.0f;
    float dscores[2];
    double loss = -1.0;
    assert_int_equal(
        fcb_loss_chosen_squared(scores, 1, 2, &action, &reward, NULL, dscores, &loss), FCB_OK);
    assert_true(loss == 4.0);
    assert_true(dscores[0] == 0.0f);
    assert_true(dscores[1] == 4.0f);

    /* Two rows, mean: row 0 (1 - 1)^2 = 0 on action 0, row 1 (3 - 1)^2 = 4
     * on action 2 -> loss 2; gradient 2 * 2 / 2 = 2 on row 1 action 2. */
    float scores2[] = {1.0f, 5.0f, 7.0f, -1.0f, 0.5f, 3.0f};
    int actions[] = {0, 2};
    float rewards[] = {1.0f, 1.0f};
    float d2[6];
    assert_int_equal(fcb_loss_chosen_squared(scores2, 2, 3, actions, rewards, NULL, d2, &loss),
                     FCB_OK);
    assert_true(loss == 2.0);
    const float expected_d2[] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 2.0f};
    assert_memory_equal(d2, expected_d2, sizeof d2);
}

static void test_importance_weighted_closed_form(void **state)
{
    (void)state;
    /* Weights 1/p with p = 0.25 and 0.5: row 0 4 * (0.5 - 1)^2 = 1,
     * row 1 2 * (2 - 0)^2 = 8; mean 4.5. Gradients 2 w (f - r) / n:
     * 2 * 4 * -0.5 / 2 = -2 and 2 * 2 * 2 / 2 = 4. A zero weight drops a row. */
    float scores[] = {0.5f, 9.0f, 9.0f, 2.0f};
    int actions[] = {0, 1};
    float rewards[] = {1.0f, 0.0f};
    float weights[] = {4.0f, 2.0f};
    float dscores[4];
    double loss = 0.0;
    assert_int_equal(
        fcb_loss_chosen_squared(scores, 2, 2, actions, rewards, weights, dscores, &loss), FCB_OK);
    assert_true(loss == 4.5);
    const float expected[] = {-2.0f, 0.0f, 0.0f, 4.0f};
    assert_memory_equal(dscores, expected, sizeof dscores);

    float zero_weights[] = {0.0f, 2.0f};
    assert_int_equal(
        fcb_loss_chosen_squared(scores, 2, 2, actions, rewards, zero_weights, dscores, &loss),
        FCB_OK);
    assert_true(loss == 4.0);
    assert_true(dscores[0] == 0.0f);
}

static void test_full_mse_closed_form(void **state)
{
    (void)state;
    /* Row 0: scores [1, 2] vs [0, 1]: 1 + 1 = 2. Row 1: [0, 0] vs [0, 3]: 9.
     * Mean 5.5; gradients 2 (f - y) / 2 = f - y. */
    float scores[] = {1.0f, 2.0f, 0.0f, 0.0f};
    float targets[] = {0.0f, 1.0f, 0.0f, 3.0f};
    float dscores[4];
    double loss = 0.0;
    assert_int_equal(fcb_loss_full_mse(scores, 2, 2, targets, dscores, &loss), FCB_OK);
    assert_true(loss == 5.5);
    const float expected[] = {1.0f, 1.0f, 0.0f, -3.0f};
    assert_memory_equal(dscores, expected, sizeof dscores);
}

static void test_softmax_xent_closed_form(void **state)
{
    (void)state;
    /* Equal scores: log K, gradient (1/K - onehot). */
    float equal[] = {0.3f, 0.3f, 0.3f, 0.3f};
    int label = 2;
    float dscores[4];
    double loss = 0.0;
    assert_int_equal(fcb_loss_softmax_xent(equal, 1, 4, &label, dscores, &loss), FCB_OK);
    assert_true(fabs(loss - log(4.0)) < 1e-12);
    for (int a = 0; a < 4; a++)
        assert_true(fabs(dscores[a] - (0.25 - (a == label))) < 1e-7);

    /* General row: log-sum-exp minus the label score, gradient softmax - onehot. */
    float scores[] = {1.0f, -2.0f, 0.5f, 3.0f, 0.0f, 0.0f};
    int labels[] = {0, 1};
    float d2[6];
    assert_int_equal(fcb_loss_softmax_xent(scores, 2, 3, labels, d2, &loss), FCB_OK);
    double lse0 = log(exp(1.0) + exp(-2.0) + exp(0.5));
    double lse1 = log(exp(3.0) + 2.0);
    double expected = ((lse0 - 1.0) + (lse1 - 0.0)) / 2.0;
    assert_true(fabs(loss - expected) < 1e-9);
    double row_sum[2] = {0.0, 0.0};
    for (int c = 0; c < 6; c++) {
        int i = c / 3, a = c % 3;
        double lse = i == 0 ? lse0 : lse1;
        double prob = exp(scores[c] - lse);
        assert_true(fabs(d2[c] - (prob - (a == labels[i])) / 2.0) < 1e-7);
        row_sum[i] += d2[c];
    }
    assert_true(fabs(row_sum[0]) < 1e-7 && fabs(row_sum[1]) < 1e-7);

    /* Large scores stay finite (row max subtracted). */
    float big[] = {1000.0f, 0.0f};
    assert_int_equal(fcb_loss_softmax_xent(big, 1, 2, &labels[0], dscores, &loss), FCB_OK);
    assert_true(fabs(loss) < 1e-12);
    assert_int_equal(fcb_loss_softmax_xent(big, 1, 2, &labels[1], dscores, &loss), FCB_OK);
    assert_true(fabs(loss - 1000.0) < 1e-9);
    assert_true(fabs(dscores[0] - 1.0f) < 1e-7 && fabs(dscores[1] + 1.0f) < 1e-7);
}

static void test_bad_inputs_rejected(void **state)
{
    (void)state;
    float scores[] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
    int actions[] = {0, 1};
    float rewards[] = {1.0f, 0.0f};
    float weights[] = {1.0f, 2.0f};
    float targets[6] = {0};
    float dscores[6];
    double loss = 0.0;
    clear_error();

    /* Shapes. */
    assert_rejected(fcb_loss_chosen_squared(scores, 2, 0, actions, rewards, NULL, dscores, &loss),
                    "k = 0");
    assert_rejected(fcb_loss_chosen_squared(scores, 0, 3, actions, rewards, NULL, dscores, &loss),
                    "n = 0");
    assert_rejected(fcb_loss_full_mse(scores, 2, 0, targets, dscores, &loss), "k = 0");
    assert_rejected(fcb_loss_softmax_xent(scores, 2, -1, actions, dscores, &loss), "k = -1");
    assert_rejected(fcb_loss_chosen_squared(scores, 2, 3, NULL, rewards, NULL, dscores, &loss),
                    NULL);
    assert_rejected(fcb_loss_full_mse(scores, 2, 3, NULL, dscores, &loss), NULL);
    assert_rejected(fcb_loss_softmax_xent(scores, 2, 3, actions, NULL, &loss), NULL);

    /* Out-of-range actions and labels name the row. */
    int bad_actions[] = {0, 3};
    assert_rejected(
        fcb_loss_chosen_squared(scores, 2, 3, bad_actions, rewards, NULL, dscores, &loss),
        "row 1");
    bad_actions[0] = -1;
    assert_rejected(
        fcb_loss_chosen_squared(scores, 2, 3, bad_actions, rewards, NULL, dscores, &loss),
        "row 0");
    assert_rejected(fcb_loss_softmax_xent(scores, 2, 3, bad_actions, dscores, &loss), "row 0");

    /* Non-finite scores, rewards, targets. */
    float nan_scores[] = {0.1f, 0.2f, 0.3f, 0.4f, NAN, 0.6f};
    assert_rejected(
        fcb_loss_chosen_squared(nan_scores, 2, 3, actions, rewards, NULL, dscores, &loss),
        "row 1");
    assert_rejected(fcb_loss_full_mse(nan_scores, 2, 3, targets, dscores, &loss), "row 1");
    assert_rejected(fcb_loss_softmax_xent(nan_scores, 2, 3, actions, dscores, &loss), "row 1");
    float inf_rewards[] = {INFINITY, 0.0f};
    assert_rejected(
        fcb_loss_chosen_squared(scores, 2, 3, actions, inf_rewards, NULL, dscores, &loss),
        "row 0");
    float nan_targets[] = {0, 0, 0, 0, 0, NAN};
    assert_rejected(fcb_loss_full_mse(scores, 2, 3, nan_targets, dscores, &loss), "row 1");

    /* Weights must be finite and non-negative. */
    float negative[] = {1.0f, -0.5f};
    assert_rejected(
        fcb_loss_chosen_squared(scores, 2, 3, actions, rewards, negative, dscores, &loss),
        "row 1");
    float nan_weight[] = {NAN, 1.0f};
    assert_rejected(
        fcb_loss_chosen_squared(scores, 2, 3, actions, rewards, nan_weight, dscores, &loss),
        "row 0");
    float inf_weight[] = {1.0f, INFINITY};
    assert_rejected(
        fcb_loss_chosen_squared(scores, 2, 3, actions, rewards, inf_weight, dscores, &loss),
        "row 1");

    /* The good call still works after the failures. */
    assert_int_equal(
        fcb_loss_chosen_squared(scores, 2, 3, actions, rewards, weights, dscores, &loss), FCB_OK);
}

/* Averaged over the logger's draws of the action (enumerated exactly), the
 * doubly robust target of every action is its true reward, whatever the
 * reward model; a row with a bad propensity is refused. */
static void test_doubly_robust_targets_are_unbiased(void **state)
{
    (void)state;
    enum { K = 4 };
    const float q[K] = {0.3f, -0.2f, 0.9f, 0.1f};         /* a wrong reward model */
    const float truth[K] = {1.0f, 0.0f, 0.25f, 0.5f};     /* expected rewards */
    const float logger[K] = {0.1f, 0.4f, 0.2f, 0.3f};     /* the logging policy */
    double mean[K] = {0};
    for (int a = 0; a < K; a++) {
        float target[K];
        float reward = truth[a];
        assert_int_equal(fcb_loss_dr_targets(q, 1, K, &a, &reward, &logger[a], target), FCB_OK);
        for (int b = 0; b < K; b++) {
            if (b != a)
                assert_true(target[b] == q[b]);
            mean[b] += logger[a] * target[b];
        }
    }
    for (int b = 0; b < K; b++)
        assert_true(fabs(mean[b] - truth[b]) < 1e-6);
    int action = 1;
    float reward = 1.0f, zero = 0.0f, target[K];
    assert_int_equal(fcb_loss_dr_targets(q, 1, K, &action, &reward, &zero, target), FCB_ERR_ARG);
    action = K;
    assert_int_equal(fcb_loss_dr_targets(q, 1, K, &action, &reward, &logger[0], target), FCB_ERR_ARG);
    fcb_loss_kind kind;
    assert_int_equal(fcb_loss_kind_from_name("doubly_robust", &kind), FCB_OK);
    assert_int_equal(kind, FCB_LOSS_DOUBLY_ROBUST);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_chosen_squared_closed_form),
        cmocka_unit_test(test_importance_weighted_closed_form),
        cmocka_unit_test(test_full_mse_closed_form),
        cmocka_unit_test(test_softmax_xent_closed_form),
        cmocka_unit_test(test_bad_inputs_rejected),
        cmocka_unit_test(test_doubly_robust_targets_are_unbiased),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
