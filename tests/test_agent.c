#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "feature_hash.h"
#include "fedcb/fedcb.h"
#include "model.h"
#include "policy.h"
#include "rng.h"

/* The embeddable agent (include/fedcb/agent.h) in local mode: hashing,
 * decisions against the policy's closed form, determinism across threads,
 * feedback refusals, local learning and resuming from the store. */

enum { D = 5, K = 5 };

static char temp_dir[256];

static int make_temp_dir(void **state)
{
    (void)state;
    snprintf(temp_dir, sizeof temp_dir, "/tmp/fedcb_test_agent_XXXXXX");
    return mkdtemp(temp_dir) ? 0 : -1;
}

static int remove_temp_dir(void **state)
{
    (void)state;
    char command[600];
    snprintf(command, sizeof command, "rm -rf '%s'", temp_dir);
    return system(command) == 0 ? 0 : -1;
}

static void options_for(fcb_agent_options *o)
{
    fcb_agent_options_default(o);
    o->input_dim = D;
    o->num_actions = K;
    o->seed = 7;
    o->learn_every = 0;
    o->quiet = 1;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- hashing ---- */

static void test_murmur3_reference_values(void **state)
{
    (void)state;
    assert_int_equal(fcb_murmur3_32("", 0, 0), 0u);
    assert_int_equal(fcb_murmur3_32("", 0, 1), 0x514e28b7u);
    assert_int_equal(fcb_murmur3_32("hello", 5, 0), 0x248bfa47u);
    const char *fox = "The quick brown fox jumps over the lazy dog";
    assert_int_equal(fcb_murmur3_32(fox, strlen(fox), 0), 0x2e4ff723u);
}

static void test_named_features_hash_and_add(void **state)
{
    (void)state;
    enum { W = 64 };
    float x[W];
    assert_int_equal(fcb_hash_features("user=42 price:0.5  user=42\tflag", 3, x, W), FCB_OK);
    uint32_t user = fcb_murmur3_32("user=42", 7, 3) % W, price = fcb_murmur3_32("price", 5, 3) % W;
    uint32_t flag = fcb_murmur3_32("flag", 4, 3) % W;
    float expect[W] = {0};
    expect[user] += 2.0f;
    expect[price] += 0.5f;
    expect[flag] += 1.0f;
    assert_memory_equal(x, expect, sizeof x);
    assert_int_equal(fcb_hash_features("price:abc", 3, x, W), FCB_ERR_ARG);
    assert_non_null(strstr(fcb_last_error(), "price:abc"));
    assert_int_equal(fcb_hash_features(":3", 3, x, W), FCB_ERR_ARG);
    assert_int_equal(fcb_hash_features("a:inf", 3, x, W), FCB_ERR_ARG);
}

/* ---- the one-row scorer matches the batch forward ---- */

static void check_row_matches_forward(fcb_model_config *config)
{
    fcb_model model;
    assert_int_equal(fcb_model_init(&model, config), FCB_OK);
    float *params = malloc(model.num_params * sizeof(float));
    fcb_rng rng;
    fcb_rng_init(&rng, 5, FCB_STREAM_TEST, 0, 0);
    assert_int_equal(fcb_model_init_params(&model, params, &rng), FCB_OK);
    for (size_t i = 0; i < model.num_params; i++)
        params[i] += (float)(fcb_rng_uniform(&rng) - 0.5);
    fcb_workspace ws;
    assert_int_equal(fcb_workspace_init(&ws, &model, 1), FCB_OK);
    float x[D], batch[K], row[K];
    float *scratch = malloc(fcb_model_row_scratch(&model) * sizeof(float));
    for (int trial = 0; trial < 20; trial++) {
        for (int j = 0; j < D; j++)
            x[j] = (float)(fcb_rng_uniform(&rng) * 4.0 - 2.0);
        assert_int_equal(fcb_model_forward(&model, params, x, 1, &ws, batch), FCB_OK);
        assert_int_equal(fcb_model_score_row(&model, params, x, scratch, row), FCB_OK);
        for (int a = 0; a < K; a++)
            assert_float_equal(row[a], batch[a], 1e-5);
    }
    x[2] = NAN;
    assert_int_equal(fcb_model_score_row(&model, params, x, scratch, row), FCB_ERR_ARG);
    free(scratch);
    fcb_workspace_free(&ws);
    free(params);
}

static void test_score_row_matches_forward(void **state)
{
    (void)state;
    fcb_model_config linear = {.arch = FCB_ARCH_LINEAR, .input_dim = D, .num_actions = K};
    check_row_matches_forward(&linear);
    fcb_model_config mlp = {.arch = FCB_ARCH_MLP, .input_dim = D, .num_actions = K, .num_hidden = 2,
                            .hidden = {7, 4}, .normalize_input = 1};
    check_row_matches_forward(&mlp);
}

/* ---- decisions ---- */

/* A fresh linear agent scores 0 everywhere: softmax is uniform, so every
 * action has propensity 1/K; epsilon-greedy puts 1 - eps + eps/K on action 0. */
static void test_decide_propensities_match_closed_form(void **state)
{
    (void)state;
    fcb_agent_options o;
    options_for(&o);
    fcb_agent *a;
    assert_int_equal(fcb_agent_open(&o, &a), FCB_OK);
    float x[D] = {1, 0, 0, 0, 0};
    int counts[K] = {0};
    enum { N = 20000 };
    for (int i = 0; i < N; i++) {
        fcb_decision d;
        assert_int_equal(fcb_agent_decide(a, x, D, &d), FCB_OK);
        assert_float_equal(d.propensity, 1.0f / K, 1e-6);
        assert_int_equal(d.event_id, (uint64_t)i + 1);
        counts[d.action]++;
    }
    for (int k = 0; k < K; k++)
        assert_true(fabs(counts[k] / (double)N - 1.0 / K) < 0.015);
    fcb_decision d;
    assert_int_equal(fcb_agent_decide(a, x, D - 1, &d), FCB_ERR_ARG);
    assert_non_null(strstr(fcb_last_error(), "context of 4 values"));
    assert_int_equal(fcb_agent_close(a), FCB_OK);

    o.policy = "epsilon_greedy";
    o.epsilon = 0.3f;
    assert_int_equal(fcb_agent_open(&o, &a), FCB_OK);
    int greedy = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(fcb_agent_decide(a, x, D, &d), FCB_OK);
        float expect = d.action == 0 ? 1.0f - 0.3f + 0.3f / K : 0.3f / K;
        assert_float_equal(d.propensity, expect, 1e-6);
        greedy += d.action == 0;
    }
    assert_true(fabs(greedy / (double)N - (0.7 + 0.3 / K)) < 0.015);
    assert_int_equal(fcb_agent_close(a), FCB_OK);

    o.policy = "linucb";
    assert_int_equal(fcb_agent_open(&o, &a), FCB_ERR_CONFIG);
    assert_non_null(strstr(fcb_last_error(), "linucb"));
    o.policy = "softmax";
    o.input_dim = 0;
    assert_int_equal(fcb_agent_open(&o, &a), FCB_ERR_CONFIG);
}

typedef struct {
    fcb_agent *agent;
    const float *contexts;
    int first, count;
    fcb_decision *out;
} decide_job;

static void *decide_many(void *arg)
{
    decide_job *j = arg;
    for (int i = 0; i < j->count; i++)
        if (fcb_agent_decide(j->agent, j->contexts + (size_t)(j->first + i) * D, D, &j->out[j->first + i]) != FCB_OK)
            return arg;
    return NULL;
}

/* Event e's action depends on (seed, e) and the context alone: decisions
 * made by two threads are replayed by one thread in event-id order. */
static void test_decisions_do_not_depend_on_threads(void **state)
{
    (void)state;
    enum { N = 4000 };
    float *contexts = malloc((size_t)N * D * sizeof(float));
    fcb_rng rng;
    fcb_rng_init(&rng, 11, FCB_STREAM_TEST, 0, 0);
    for (int i = 0; i < N * D; i++)
        contexts[i] = (float)fcb_rng_uniform(&rng);
    fcb_agent_options o;
    options_for(&o);
    o.policy = "epsilon_greedy";
    fcb_agent *a;
    assert_int_equal(fcb_agent_open(&o, &a), FCB_OK);
    fcb_decision *made = calloc(N, sizeof *made);
    decide_job jobs[2] = {{a, contexts, 0, N / 2, made}, {a, contexts, N / 2, N / 2, made}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, decide_many, &jobs[i]);
    for (int i = 0; i < 2; i++) {
        void *r;
        pthread_join(t[i], &r);
        assert_null(r);
    }
    assert_int_equal(fcb_agent_close(a), FCB_OK);
    int *context_of = malloc((N + 1) * sizeof(int));
    for (int i = 0; i < N; i++)
        context_of[made[i].event_id] = i;
    assert_int_equal(fcb_agent_open(&o, &a), FCB_OK);
    for (uint64_t e = 1; e <= N; e++) {
        fcb_decision d;
        int i = context_of[e];
        assert_int_equal(fcb_agent_decide(a, contexts + (size_t)i * D, D, &d), FCB_OK);
        assert_int_equal(d.event_id, e);
        assert_int_equal(d.action, made[i].action);
    }
    assert_int_equal(fcb_agent_close(a), FCB_OK);
    free(context_of);
    free(made);
    free(contexts);
}

static void test_feedback_refusals(void **state)
{
    (void)state;
    fcb_agent_options o;
    options_for(&o);
    o.pending_capacity = 2;
    fcb_agent *a;
    assert_int_equal(fcb_agent_open(&o, &a), FCB_OK);
    float x[D] = {0};
    fcb_decision d1, d2, d3;
    assert_int_equal(fcb_agent_decide(a, x, D, &d1), FCB_OK);
    assert_int_equal(fcb_agent_decide(a, x, D, &d2), FCB_OK);
    assert_int_equal(fcb_agent_feedback(a, d2.event_id, 1.0f), FCB_OK);
    assert_int_equal(fcb_agent_feedback(a, d2.event_id, 1.0f), FCB_ERR_ARG);
    assert_non_null(strstr(fcb_last_error(), "already has feedback"));
    assert_int_equal(fcb_agent_feedback(a, 99, 1.0f), FCB_ERR_ARG);
    assert_non_null(strstr(fcb_last_error(), "never issued"));
    assert_int_equal(fcb_agent_feedback(a, d1.event_id, NAN), FCB_ERR_ARG);
    /* A third event takes event 1's place: event 1 counts as reward 0. */
    assert_int_equal(fcb_agent_decide(a, x, D, &d3), FCB_OK);
    assert_int_equal(fcb_agent_feedback(a, d1.event_id, 1.0f), FCB_ERR_ARG);
    assert_non_null(strstr(fcb_last_error(), "past its feedback window"));
    fcb_agent_stats s;
    assert_int_equal(fcb_agent_stats_get(a, &s), FCB_OK);
    assert_int_equal(s.decisions, 3);
    assert_int_equal(s.feedback, 1);
    assert_int_equal(s.expired, 1);
    assert_int_equal(fcb_agent_close(a), FCB_OK);

    /* The window in seconds. */
    o.pending_capacity = 16;
    o.feedback_window = 0.05;
    assert_int_equal(fcb_agent_open(&o, &a), FCB_OK);
    assert_int_equal(fcb_agent_decide(a, x, D, &d1), FCB_OK);
    sleep_ms(120);
    assert_int_equal(fcb_agent_feedback(a, d1.event_id, 1.0f), FCB_ERR_ARG);
    assert_non_null(strstr(fcb_last_error(), "past its feedback window"));
    assert_int_equal(fcb_agent_stats_get(a, &s), FCB_OK);
    assert_int_equal(s.expired, 1);
    assert_int_equal(fcb_agent_close(a), FCB_OK);
}

/* ---- local learning ---- */

/* The user clicks when the action is the context's largest coordinate. */
static int best_action(const float *x)
{
    int best = 0;
    for (int j = 1; j < D; j++)
        if (x[j] > x[best])
            best = j;
    return best;
}

static void wait_rounds(fcb_agent *a, uint64_t rounds)
{
    fcb_agent_stats s;
    for (int i = 0; i < 2000; i++) {
        assert_int_equal(fcb_agent_stats_get(a, &s), FCB_OK);
        if (s.rounds >= rounds)
            return;
        sleep_ms(5);
    }
    fail_msg("the learner did not reach %llu rounds", (unsigned long long)rounds);
}

/* Rewards of `blocks` blocks of learn_every decisions; the learner updates
 * between blocks. Returns the mean reward of the last `tail` blocks. */
static double run_blocks(fcb_agent *a, fcb_rng *rng, int blocks, int per_block, double *first)
{
    double last = 0.0;
    for (int b = 0; b < blocks; b++) {
        int clicks = 0;
        for (int i = 0; i < per_block; i++) {
            float x[D];
            for (int j = 0; j < D; j++)
                x[j] = (float)fcb_rng_uniform(rng);
            fcb_decision d;
            assert_int_equal(fcb_agent_decide(a, x, D, &d), FCB_OK);
            float r = d.action == best_action(x) ? 1.0f : 0.0f;
            clicks += r > 0.0f;
            assert_int_equal(fcb_agent_feedback(a, d.event_id, r), FCB_OK);
        }
        wait_rounds(a, (uint64_t)b + 1);
        double mean = clicks / (double)per_block;
        if (b == 0)
            *first = mean;
        last = mean;
    }
    return last;
}

static void test_local_learning_raises_reward(void **state)
{
    (void)state;
    fcb_agent_options o;
    options_for(&o);
    o.learn_every = 200;
    o.learning_rate = 0.5f;
    o.local_epochs = 2;
    char path[512];
    snprintf(path, sizeof path, "%s/learn.db", temp_dir);
    o.store_path = path;
    fcb_agent *a;
    assert_int_equal(fcb_agent_open(&o, &a), FCB_OK);
    fcb_rng rng;
    fcb_rng_init(&rng, 3, FCB_STREAM_TEST, 0, 0);
    double first;
    double last = run_blocks(a, &rng, 30, 200, &first);
    print_message("local learning: block 1 reward %.3f, block 30 %.3f (uniform 0.2)\n", first, last);
    assert_true(first < 0.3);
    assert_true(last > 0.5);
    int64_t version = fcb_agent_model_version(a);
    assert_int_equal(version, 30);
    assert_int_equal(fcb_agent_close(a), FCB_OK);

    /* The learnt model comes back from the store. */
    assert_int_equal(fcb_agent_open(&o, &a), FCB_OK);
    assert_int_equal(fcb_agent_model_version(a), 30);
    assert_int_equal(fcb_agent_close(a), FCB_OK);
}

/* ---- the store: resume ---- */

static void test_resume_from_store(void **state)
{
    (void)state;
    fcb_agent_options o;
    options_for(&o);
    char path[512];
    snprintf(path, sizeof path, "%s/resume.db", temp_dir);
    o.store_path = path;
    fcb_agent *a;
    assert_int_equal(fcb_agent_open(&o, &a), FCB_OK);
    float x[D] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f};
    fcb_decision d[10];
    for (int i = 0; i < 10; i++)
        assert_int_equal(fcb_agent_decide(a, x, D, &d[i]), FCB_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(fcb_agent_feedback(a, d[i].event_id, 1.0f), FCB_OK);
    assert_int_equal(fcb_agent_flush(a), FCB_OK);
    assert_int_equal(fcb_agent_close(a), FCB_OK);

    assert_int_equal(fcb_agent_open(&o, &a), FCB_OK);
    fcb_decision next;
    assert_int_equal(fcb_agent_decide(a, x, D, &next), FCB_OK);
    assert_int_equal(next.event_id, 11);
    assert_int_equal(fcb_agent_feedback(a, d[7].event_id, 1.0f), FCB_OK); /* pending before the restart */
    assert_int_equal(fcb_agent_feedback(a, d[2].event_id, 1.0f), FCB_ERR_ARG);
    assert_non_null(strstr(fcb_last_error(), "already has feedback"));
    assert_int_equal(fcb_agent_close(a), FCB_OK);

    /* Another shape on the same store is refused. */
    o.num_actions = K + 1;
    assert_int_not_equal(fcb_agent_open(&o, &a), FCB_OK);
    assert_non_null(strstr(fcb_last_error(), "num_actions"));
}

/* ---- INI ---- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_ini(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/agent.ini", temp_dir);
    write_file(path, "[agent]\ninput_dim = 5\nnum_actions = 3\npolicy = greedy\nquiet = 1\nlearn_every = 0\n");
    fcb_agent *a;
    assert_int_equal(fcb_agent_open_ini(path, &a), FCB_OK);
    fcb_decision d;
    float x[5] = {0};
    assert_int_equal(fcb_agent_decide(a, x, 5, &d), FCB_OK);
    assert_float_equal(d.propensity, 1.0f, 0.0f);
    assert_int_equal(fcb_agent_close(a), FCB_OK);

    write_file(path, "[agent]\ninput_dim = 5\nnum_actoins = 3\n");
    assert_int_equal(fcb_agent_open_ini(path, &a), FCB_ERR_CONFIG);
    assert_non_null(strstr(fcb_last_error(), ":3: unknown key agent.num_actoins"));
    write_file(path, "[agent]\ninput_dim = five\n");
    assert_int_equal(fcb_agent_open_ini(path, &a), FCB_ERR_CONFIG);
    assert_non_null(strstr(fcb_last_error(), ":2: agent.input_dim = 'five' is not a valid number"));
    /* A float option beyond the float range is refused, not made infinite. */
    write_file(path, "[agent]\ninput_dim = 5\nnum_actions = 3\ntemperature = 1e39\n");
    assert_int_equal(fcb_agent_open_ini(path, &a), FCB_ERR_CONFIG);
    assert_non_null(strstr(fcb_last_error(), ":4: agent.temperature = '1e39' is not a valid number"));
    write_file(path, "[agent]\ninput_dim = 5\n[learner]\nnum_actions = 3\n");
    assert_int_equal(fcb_agent_open_ini(path, &a), FCB_ERR_CONFIG);
    assert_non_null(strstr(fcb_last_error(), ":4: section [learner]: the agent reads only [agent]"));
    assert_int_equal(fcb_agent_open_ini("/nonexistent/agent.ini", &a), FCB_ERR_IO);
}

static void test_version(void **state)
{
    (void)state;
    assert_string_equal(fcb_version(), FCB_VERSION_STRING);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_murmur3_reference_values),
        cmocka_unit_test(test_named_features_hash_and_add),
        cmocka_unit_test(test_score_row_matches_forward),
        cmocka_unit_test(test_decide_propensities_match_closed_form),
        cmocka_unit_test(test_decisions_do_not_depend_on_threads),
        cmocka_unit_test(test_feedback_refusals),
        cmocka_unit_test(test_local_learning_raises_reward),
        cmocka_unit_test(test_resume_from_store),
        cmocka_unit_test(test_ini),
        cmocka_unit_test(test_version),
    };
    return cmocka_run_group_tests(tests, make_temp_dir, remove_temp_dir);
}
