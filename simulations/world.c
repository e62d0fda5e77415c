#include "world.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset_cache.h"
#include "local_train.h"
#include "loss.h"
#include "sgd.h"
#include "vec.h"

enum { PRETRAIN_CLIENT_BASE = 1 << 30 };
/* Drift streams of the evaluation sets' label draws: client ids no client has. */
static const uint32_t TEST_LABELS_STREAM = 0xFFFFFFFEu;
static const uint32_t VALIDATION_LABELS_STREAM = 0xFFFFFFFDu;

static fcb_status load_data(const fcb_config *c, fcb_dataset *train, fcb_dataset *test)
{
    if (strcmp(c->data_source, "fashion_mnist") == 0)
        return fcb_dataset_load_fashion_mnist(c->data_path, train, test);
    if (strcmp(c->data_source, "synthetic") == 0) {
        fcb_synthetic_config s = {
            .num_train = c->synthetic_train,
            .num_test = c->synthetic_test,
            .dim = c->synthetic_dim,
            .num_classes = c->synthetic_classes,
            .nonlinear = c->synthetic_nonlinear,
            .noise = (float)c->synthetic_noise,
            .seed = c->seed,
        };
        return fcb_dataset_synthetic(&s, train, test);
    }
    int is_libsvm = strcmp(c->data_source, "libsvm") == 0;
    int is_vw = strcmp(c->data_source, "vw") == 0;
    if (!is_libsvm && !is_vw)
        return fcb_fail(FCB_ERR_CONFIG,
                        "data.source: unknown source '%s' (fashion_mnist, synthetic, libsvm, vw)",
                        c->data_source);
    const char *format = is_libsvm ? "libsvm" : "vw";
    const char *cache = c->data_cache_dir;
    if (c->data_test_path[0]) {
        fcb_status st = fcb_dataset_load_text(format, c->data_path, c->data_dim, c->data_classes, cache, train, NULL);
        if (st != FCB_OK)
            return st;
        int dim = c->data_dim ? c->data_dim : train->d;
        int classes = c->data_classes ? c->data_classes : train->k;
        st = fcb_dataset_load_text(format, c->data_test_path, dim, classes, cache, test, NULL);
        if (st == FCB_OK && (test->d != train->d || test->k > train->k))
            st = fcb_fail(FCB_ERR_FORMAT, "%s has %d features and %d classes, %s has %d and %d",
                          c->data_test_path, test->d, test->k, c->data_path, train->d, train->k);
        if (st == FCB_OK)
            test->k = train->k;
        return st;
    }
    fcb_dataset all = {0};
    fcb_status st = fcb_dataset_load_text(format, c->data_path, c->data_dim, c->data_classes, cache, &all, NULL);
    if (st == FCB_OK)
        st = fcb_dataset_split(&all, c->test_fraction, c->seed, train, test);
    fcb_dataset_free(&all);
    return st;
}

/* Per-feature z-score with the training set's mean and standard deviation
 * (constant features are only centred), applied to train, test and
 * validation. */
static fcb_status standardize(fcb_dataset *train, fcb_dataset *test, fcb_dataset *validation)
{
    int d = train->d;
    double *mean = calloc((size_t)d, sizeof(double));
    double *sq = calloc((size_t)d, sizeof(double));
    if (!mean || !sq) {
        free(mean);
        free(sq);
        return fcb_fail(FCB_ERR_NOMEM, "standardize: out of memory");
    }
    for (int i = 0; i < train->n; i++)
        for (int j = 0; j < d; j++) {
            double v = train->x[(size_t)i * d + j];
            mean[j] += v;
            sq[j] += v * v;
        }
    for (int j = 0; j < d; j++) {
        mean[j] /= train->n;
        double var = sq[j] / train->n - mean[j] * mean[j];
        sq[j] = var > 1e-12 ? 1.0 / sqrt(var) : 1.0; /* now the scale */
    }
    fcb_dataset *sets[3] = {train, test, validation};
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < sets[s]->n; i++)
            for (int j = 0; j < d; j++) {
                float *v = &sets[s]->x[(size_t)i * d + j];
                *v = (float)((*v - mean[j]) * sq[j]);
            }
    free(mean);
    free(sq);
    return FCB_OK;
}

/* Parses "child:parent,child:parent" into the merge map (-1 = unmerged). */
static fcb_status parse_merges(const char *text, int k, int *parent_of)
{
    for (int c = 0; c < k; c++)
        parent_of[c] = -1;
    const char *p = text;
    while (*p) {
        int child, parent, used = 0;
        if (sscanf(p, "%d:%d%n", &child, &parent, &used) != 2)
            return fcb_fail(FCB_ERR_CONFIG, "scenario.merge_classes: expected child:parent pairs, got '%s'", text);
        if (child < 0 || child >= k || parent < 0 || parent >= k || child == parent)
            return fcb_fail(FCB_ERR_CONFIG, "scenario.merge_classes: pair %d:%d is outside the %d classes",
                            child, parent, k);
        parent_of[child] = parent;
        p += used;
        if (*p == ',')
            p++;
    }
    return FCB_OK;
}

static fcb_status configure_environment(fcb_world *w, const fcb_config *c, const int *parent_of)
{
    fcb_environment *env = &w->env;
    fcb_status st = fcb_environment_init(env, w->train.k, c->seed);
    if (st != FCB_OK)
        return st;
    if (strcmp(c->feedback_mode, "click") == 0)
        env->click_feedback = 1;
    else if (strcmp(c->feedback_mode, "exact") != 0)
        return fcb_fail(FCB_ERR_CONFIG, "feedback.mode: unknown mode '%s' (exact, click)", c->feedback_mode);
    env->p_click = (float)c->p_click;
    env->p_false = (float)c->p_false;
    env->noise_spread = (float)c->noise_spread;
    st = fcb_drift_kind_from_name(c->drift, &env->drift);
    if (st != FCB_OK)
        return st;
    env->drift_start = c->drift_start;
    env->drift_duration = c->drift_duration;
    env->drift_period = c->drift_period;
    env->drift_strength = (float)c->drift_strength;
    env->num_late_classes = c->num_late_classes;
    for (int i = 0; i < c->num_late_classes; i++)
        env->late_classes[i] = c->late_classes[i];
    if (w->scenario == FCB_SCENARIO_INIT_SHIFT)
        for (int child = 0; child < w->train.k; child++)
            if (parent_of[child] >= 0) {
                st = fcb_environment_set_partial_reward(env, child, parent_of[child], (float)c->partial_reward);
                if (st != FCB_OK)
                    return st;
            }
    return fcb_environment_validate(env);
}

static fcb_status cnn_config_from(const fcb_config *c, fcb_model_config *mc)
{
    if (c->num_hidden > FCB_MAX_HIDDEN)
        return fcb_fail(FCB_ERR_CONFIG, "model.hidden: a CNN takes 0..%d dense hidden widths", FCB_MAX_HIDDEN);
    if (c->num_conv_channels < 1 || c->num_conv_channels > FCB_MAX_CONV)
        return fcb_fail(FCB_ERR_CONFIG, "model.conv_channels: a CNN needs 1..%d conv layers, got %d", FCB_MAX_CONV,
                        c->num_conv_channels);
    int infer = 1;
    for (int i = 0; i < c->num_image_shape; i++)
        infer = infer && c->image_shape[i] == 0;
    if (!infer && c->num_image_shape != 3)
        return fcb_fail(FCB_ERR_CONFIG, "model.image_shape: expected H,W,C (or 0 / empty), got %d values",
                        c->num_image_shape);
    for (int i = 0; i < 3 && !infer; i++)
        mc->image_shape[i] = c->image_shape[i];
    mc->num_conv = c->num_conv_channels;
    for (int i = 0; i < c->num_conv_channels; i++)
        mc->conv_channels[i] = c->conv_channels[i];
    return FCB_OK;
}

fcb_status fcb_model_config_from(const fcb_config *c, int input_dim, int num_actions, fcb_model_config *mc)
{
    memset(mc, 0, sizeof *mc);
    mc->input_dim = input_dim;
    mc->num_actions = num_actions;
    mc->normalize_input = c->normalize_input;
    fcb_status st = fcb_arch_from_name(c->arch, &mc->arch);
    if (st != FCB_OK || mc->arch == FCB_ARCH_LINEAR)
        return st;
    if (mc->arch == FCB_ARCH_CNN) {
        st = cnn_config_from(c, mc);
        if (st != FCB_OK)
            return st;
    } else if (c->num_hidden < 1 || c->num_hidden > FCB_MAX_HIDDEN)
        return fcb_fail(FCB_ERR_CONFIG, "model.hidden: an MLP needs 1..%d hidden widths", FCB_MAX_HIDDEN);
    mc->num_hidden = c->num_hidden;
    for (int i = 0; i < c->num_hidden; i++)
        mc->hidden[i] = c->hidden[i];
    return FCB_OK;
}

static fcb_status configure_model(fcb_world *w, const fcb_config *c)
{
    fcb_model_config mc;
    fcb_status st = fcb_model_config_from(c, w->train.d, w->train.k, &mc);
    if (st == FCB_OK)
        st = fcb_model_init(&w->model, &mc);
    if (st != FCB_OK)
        return st;
    w->initial_params = calloc(w->model.num_params, sizeof(float));
    if (!w->initial_params)
        return fcb_fail(FCB_ERR_NOMEM, "model: no memory for %zu parameters", w->model.num_params);
    fcb_rng rng;
    fcb_rng_init(&rng, c->seed, FCB_STREAM_MODEL_INIT, 0, 0);
    return fcb_model_init_params(&w->model, w->initial_params, &rng);
}

typedef struct {
    const fcb_world *world;
    const int *parent_of;
    float *targets; /* batch x K */
} pretrain_batch;

/* Full-information MSE against the one-hot label (merged to the parent
 * class in init-shift), so the scores start as reward estimates. */
static fcb_status pretrain_batch_loss(void *context, int epoch, const int *rows, int count, const float *scores,
                                      float *dscores, double *loss)
{
    (void)epoch;
    pretrain_batch *c = context;
    const fcb_world *w = c->world;
    int k = w->model.config.num_actions;
    memset(c->targets, 0, (size_t)count * k * sizeof(float));
    for (int i = 0; i < count; i++) {
        int label = w->train.y[rows[i]];
        if (w->scenario == FCB_SCENARIO_INIT_SHIFT && c->parent_of[label] >= 0)
            label = c->parent_of[label];
        c->targets[(size_t)i * k + label] = 1.0f;
    }
    return fcb_loss_full_mse(scores, count, k, c->targets, dscores, loss);
}

/* Supervised pretraining on the pretraining group with the local-training
 * loop every client uses. */
static fcb_status pretrain(fcb_world *w, const fcb_config *c, const int *parent_of)
{
    const fcb_model *m = &w->model;
    fcb_train_buffers tb = {0};
    fcb_sgd opt = {0};
    fcb_sgd_config sc = {.learning_rate = (float)c->pretrain_learning_rate};
    pretrain_batch context = {w, parent_of, NULL};
    context.targets = malloc((size_t)c->pretrain_batch_size * m->config.num_actions * sizeof(float));
    fcb_status st = context.targets ? FCB_OK : fcb_fail(FCB_ERR_NOMEM, "pretraining: out of memory");
    if (st == FCB_OK)
        st = fcb_train_buffers_init(&tb, m, c->pretrain_batch_size,
                                    w->num_pretrain_rows > 0 ? w->num_pretrain_rows : 1);
    if (st == FCB_OK)
        st = fcb_sgd_init(&opt, &sc, m->num_params);
    fcb_rng rng;
    fcb_rng_init(&rng, c->seed, FCB_STREAM_SHUFFLE, PRETRAIN_CLIENT_BASE, 0);
    fcb_train_job job = {m, c->pretrain_epochs, c->pretrain_batch_size, w->train.x, w->pretrain_rows,
                         w->num_pretrain_rows, pretrain_batch_loss, &context};
    if (st == FCB_OK)
        st = fcb_local_train(&job, &tb, &opt, &rng, w->initial_params, NULL, NULL);
    fcb_train_buffers_free(&tb);
    fcb_sgd_free(&opt);
    free(context.targets);
    if (st != FCB_OK)
        return fcb_fail_context(st, "pretraining");
    return FCB_OK;
}

static fcb_status build_partition(fcb_world *w, const fcb_config *c)
{
    int pretrain_clients = w->scenario == FCB_SCENARIO_SCRATCH ? 0 : c->pretrain_clients;
    int total_clients = c->num_clients + pretrain_clients;
    int n = w->train.n;
    if (n < total_clients)
        return fcb_fail(FCB_ERR_CONFIG, "clients.num_clients: %d clients need at least as many rows, the data has %d",
                        total_clients, n);
    int *rows = malloc((size_t)n * sizeof(int));
    if (!rows)
        return fcb_fail(FCB_ERR_NOMEM, "partition: out of memory");
    for (int i = 0; i < n; i++)
        rows[i] = i;
    fcb_partition all = {0};
    fcb_partition_config pc = {.dirichlet_alpha = c->dirichlet_alpha, .size_sigma = c->size_sigma};
    fcb_status st = fcb_partition_make(&pc, rows, n, w->train.y, w->train.k, total_clients, c->seed, &all);
    free(rows);
    if (st != FCB_OK)
        return st;
    /* Clients [0, pretrain) pretrain; the rest are bandit clients 0..num_clients-1. */
    int pretrain_end = all.offsets[pretrain_clients];
    w->num_pretrain_rows = pretrain_end;
    w->num_bandit_rows = all.offsets[total_clients] - pretrain_end;
    w->pretrain_rows = malloc((size_t)(pretrain_end > 0 ? pretrain_end : 1) * sizeof(int));
    w->clients.num_clients = c->num_clients;
    w->clients.offsets = malloc((size_t)(c->num_clients + 1) * sizeof(int));
    w->clients.indices = malloc((size_t)(w->num_bandit_rows > 0 ? w->num_bandit_rows : 1) * sizeof(int));
    if (!w->pretrain_rows || !w->clients.offsets || !w->clients.indices) {
        fcb_partition_free(&all);
        return fcb_fail(FCB_ERR_NOMEM, "partition: out of memory");
    }
    memcpy(w->pretrain_rows, all.indices, (size_t)pretrain_end * sizeof(int));
    memcpy(w->clients.indices, all.indices + pretrain_end, (size_t)w->num_bandit_rows * sizeof(int));
    for (int i = 0; i <= c->num_clients; i++)
        w->clients.offsets[i] = all.offsets[pretrain_clients + i] - pretrain_end;
    fcb_partition_free(&all);
    return FCB_OK;
}

fcb_status fcb_world_build(fcb_world *w, const fcb_config *c)
{
    memset(w, 0, sizeof *w);
    w->pretrain_accuracy = -1.0;
    fcb_status st = fcb_scenario_from_name(c->scenario, &w->scenario);
    if (st == FCB_OK)
        st = load_data(c, &w->train, &w->test);
    if (st == FCB_OK)
        st = fcb_dataset_carve(&w->train, c->validation_fraction, c->seed, &w->validation);
    if (st == FCB_OK && c->standardize)
        st = standardize(&w->train, &w->test, &w->validation);
    if (st == FCB_OK && c->data_classes > 0 && c->data_classes != w->train.k)
        st = fcb_fail(FCB_ERR_CONFIG, "data.classes = %d does not match the dataset, which has %d classes",
                      c->data_classes, w->train.k);
    if (st == FCB_OK && w->train.k > FCB_MAX_CLASSES)
        st = fcb_fail(FCB_ERR_CONFIG, "data: %d classes exceed the limit of %d", w->train.k, FCB_MAX_CLASSES);
    int *parent_of = NULL;
    if (st == FCB_OK) {
        parent_of = malloc((size_t)w->train.k * sizeof(int));
        if (!parent_of)
            st = fcb_fail(FCB_ERR_NOMEM, "out of memory");
        else if (w->scenario == FCB_SCENARIO_INIT_SHIFT)
            st = parse_merges(c->merge_classes, w->train.k, parent_of);
        else
            for (int label = 0; label < w->train.k; label++)
                parent_of[label] = -1;
    }
    if (st == FCB_OK)
        st = configure_environment(w, c, parent_of);
    if (st == FCB_OK)
        st = configure_model(w, c);
    if (st == FCB_OK)
        st = build_partition(w, c);
    if (st == FCB_OK && w->scenario != FCB_SCENARIO_SCRATCH) {
        st = pretrain(w, c, parent_of);
        fcb_model_scorer scorer;
        if (st == FCB_OK)
            st = fcb_model_scorer_init(&scorer, &w->model, w->initial_params);
        if (st == FCB_OK) {
            st = fcb_world_evaluate(w, fcb_model_scorer_score, &scorer, 0, c->seed,
                                    &w->pretrain_accuracy, NULL, w->pretrain_class_accuracy);
            fcb_model_scorer_free(&scorer);
        }
    }
    free(parent_of);
    if (st != FCB_OK)
        fcb_world_free(w);
    return st;
}

void fcb_world_free(fcb_world *w)
{
    fcb_dataset_free(&w->train);
    fcb_dataset_free(&w->test);
    fcb_dataset_free(&w->validation);
    fcb_partition_free(&w->clients);
    free(w->pretrain_rows);
    fcb_environment_free(&w->env);
    free(w->initial_params);
    memset(w, 0, sizeof *w);
}

static fcb_status evaluate_on(const fcb_world *w, const fcb_dataset *set, uint32_t label_stream, fcb_score_fn score,
                              void *context, int round, uint64_t seed, double *accuracy, double *reward,
                              double *class_accuracy)
{
    int k = w->model.config.num_actions;
    size_t d = (size_t)w->model.config.input_dim;
    float *scores = malloc((size_t)FCB_EVAL_CHUNK * k * sizeof(float));
    long *class_total = calloc((size_t)k, sizeof(long));
    long *class_correct = calloc((size_t)k, sizeof(long));
    fcb_status st = scores && class_total && class_correct
                        ? FCB_OK
                        : fcb_fail(FCB_ERR_NOMEM, "evaluation: out of memory");
    if (st == FCB_OK && set->n < 1)
        st = fcb_fail(FCB_ERR_ARG, "evaluation: the set is empty");
    fcb_rng rng;
    fcb_rng_init(&rng, seed, FCB_STREAM_DRIFT, label_stream, (uint32_t)round);
    long correct = 0;
    double reward_sum = 0.0;
    for (int start = 0; st == FCB_OK && start < set->n; start += FCB_EVAL_CHUNK) {
        int count = set->n - start < FCB_EVAL_CHUNK ? set->n - start : FCB_EVAL_CHUNK;
        st = score(context, set->x + (size_t)start * d, count, scores);
        for (int i = 0; st == FCB_OK && i < count; i++) {
            int best = fcb_argmax(scores + (size_t)i * k, k);
            int label = fcb_environment_label_at(&w->env, set->y[start + i], round, &rng);
            class_total[label]++;
            if (best == label) {
                correct++;
                class_correct[label]++;
            }
            reward_sum += fcb_environment_true_reward(&w->env, label, best);
        }
    }
    if (st == FCB_OK) {
        *accuracy = (double)correct / set->n;
        if (reward)
            *reward = reward_sum / set->n;
        if (class_accuracy)
            for (int a = 0; a < k; a++)
                class_accuracy[a] = class_total[a] ? (double)class_correct[a] / class_total[a] : 0.0;
    }
    free(scores);
    free(class_total);
    free(class_correct);
    return st;
}

fcb_status fcb_world_evaluate(const fcb_world *w, fcb_score_fn score, void *context, int round,
                              uint64_t seed, double *accuracy, double *reward,
                              double *class_accuracy)
{
    return evaluate_on(w, &w->test, TEST_LABELS_STREAM, score, context, round, seed, accuracy, reward,
                       class_accuracy);
}

fcb_status fcb_world_validate(const fcb_world *w, fcb_score_fn score, void *context, int round,
                              uint64_t seed, double *accuracy, double *reward)
{
    return evaluate_on(w, &w->validation, VALIDATION_LABELS_STREAM, score, context, round, seed, accuracy, reward,
                       NULL);
}
