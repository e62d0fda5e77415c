/* Throughput of the neural models on one core: decisions per second
 * (forward + softmax policy sample) and learned interactions per second
 * (forward + sample + chosen-action squared loss + backward + SGD step),
 * next to the machine's single-thread sgemm GFLOP/s as a baseline.
 * Prints a markdown table (docs/performance.md, "Models"), then the paper's
 * CNN (28x28x1, conv 32 and 64, dense 512, K = 10): forward and
 * forward + backward examples per second and their share of the sgemm peak
 * (docs/results/cnn.md). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cnn.h"
#include "loss.h"
#include "model.h"
#include "policy.h"
#include "rng.h"
#include "sgd.h"

void openblas_set_num_threads(int num_threads);

enum { NUM_ACTIONS = 10, POOL_ROWS = 4096, DECISION_BATCH = 256, HIDDEN_WIDTH = 64 };

/* Each measurement runs for about this long after a short warm-up. */
static const double MEASURE_SECONDS = 0.4;
static const double WARMUP_SECONDS = 0.05;

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void die_on_error(fcb_status status, const char *what)
{
    if (status != FCB_OK) {
        fprintf(stderr, "bench_models: %s failed: %s\n", what, fcb_last_error());
        exit(1);
    }
}

static double sgemm_gflops(int size)
{
    size_t count = (size_t)size * (size_t)size;
    float *a = malloc(count * sizeof *a), *b = malloc(count * sizeof *b),
          *c = malloc(count * sizeof *c);
    if (a == NULL || b == NULL || c == NULL) {
        fprintf(stderr, "bench_models: out of memory\n");
        exit(1);
    }
    fcb_rng rng;
    fcb_rng_init(&rng, 1, FCB_STREAM_TEST, 0, 0);
    for (size_t i = 0; i < count; i++) {
        a[i] = (float)fcb_rng_uniform(&rng);
        b[i] = (float)fcb_rng_uniform(&rng);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, size, size, size, 1.0f, a, size, b,
                size, 0.0f, c, size); /* warm-up */
    long calls = 0;
    double start = now_seconds(), elapsed = 0.0;
    while (elapsed < 2.0 * MEASURE_SECONDS) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, size, size, size, 1.0f, a, size,
                    b, size, 0.0f, c, size);
        calls++;
        elapsed = now_seconds() - start;
    }
    free(a);
    free(b);
    free(c);
    return 2.0 * (double)size * size * size * (double)calls / elapsed / 1e9;
}

/* One model under test with every buffer its loops need. */
typedef struct {
    const char *name;
    fcb_model model;
    float *params;
    float *grad;
    float *contexts; /* POOL_ROWS x d */
    int *best_action; /* POOL_ROWS: the action that pays 1 */
    fcb_workspace ws;
    fcb_policy_config policy;
    fcb_rng rng;
    float scores[DECISION_BATCH * NUM_ACTIONS];
    float dscores[DECISION_BATCH * NUM_ACTIONS];
    float probs[DECISION_BATCH * NUM_ACTIONS];
    int actions[DECISION_BATCH];
    float propensities[DECISION_BATCH];
    float rewards[DECISION_BATCH];
} bench_case;

static void *checked_calloc(size_t count, size_t size)
{
    void *p = calloc(count, size);
    if (p == NULL) {
        fprintf(stderr, "bench_models: out of memory\n");
        exit(1);
    }
    return p;
}

static void case_init(bench_case *bc, const char *name, fcb_arch arch, int d)
{
    memset(bc, 0, sizeof *bc);
    bc->name = name;
    fcb_model_config config = {.arch = arch, .input_dim = d, .num_actions = NUM_ACTIONS};
    if (arch == FCB_ARCH_MLP) {
        config.num_hidden = 1;
        config.hidden[0] = HIDDEN_WIDTH;
    }
    die_on_error(fcb_model_init(&bc->model, &config), "fcb_model_init");
    bc->params = checked_calloc(bc->model.num_params, sizeof(float));
    bc->grad = checked_calloc(bc->model.num_params, sizeof(float));
    fcb_rng_init(&bc->rng, 7, FCB_STREAM_MODEL_INIT, 0, 0);
    die_on_error(fcb_model_init_params(&bc->model, bc->params, &bc->rng), "init_params");
    /* Non-zero linear weights so the policy is not uniform. */
    if (arch == FCB_ARCH_LINEAR) {
        for (size_t p = 0; p < bc->model.num_params; p++)
            bc->params[p] = (float)(0.1 * fcb_rng_normal(&bc->rng));
    }
    bc->contexts = checked_calloc((size_t)POOL_ROWS * d, sizeof(float));
    bc->best_action = checked_calloc(POOL_ROWS, sizeof(int));
    fcb_rng_init(&bc->rng, 7, FCB_STREAM_DATA, 0, 0);
    /* Scaled so ||x|| is about 1 whatever d: one learning rate fits all. */
    double scale = 1.0 / sqrt((double)d);
    for (size_t i = 0; i < (size_t)POOL_ROWS * d; i++)
        bc->contexts[i] = (float)(scale * fcb_rng_normal(&bc->rng));
    for (int i = 0; i < POOL_ROWS; i++)
        bc->best_action[i] = (int)fcb_rng_below(&bc->rng, NUM_ACTIONS);
    die_on_error(fcb_workspace_init(&bc->ws, &bc->model, DECISION_BATCH), "workspace_init");
    fcb_policy_config_default(&bc->policy, FCB_POLICY_SOFTMAX); /* temperature 0.05 */
    fcb_rng_init(&bc->rng, 7, FCB_STREAM_POLICY, 0, 0);
}

static void case_free(bench_case *bc)
{
    fcb_workspace_free(&bc->ws);
    free(bc->params);
    free(bc->grad);
    free(bc->contexts);
    free(bc->best_action);
}

/* Forward + sample for `batch` rows starting at pool row `start`. */
static void decide(bench_case *bc, int start, int batch)
{
    const float *x = bc->contexts + (size_t)start * bc->model.config.input_dim;
    die_on_error(fcb_model_forward(&bc->model, bc->params, x, batch, &bc->ws, bc->scores),
                 "forward");
    die_on_error(fcb_policy_act(&bc->policy, bc->scores, batch, NUM_ACTIONS, &bc->rng, bc->probs,
                                bc->actions, bc->propensities),
                 "policy_act");
}

static void learn(bench_case *bc, fcb_sgd *opt, int start, int batch)
{
    decide(bc, start, batch);
    for (int i = 0; i < batch; i++)
        bc->rewards[i] = bc->actions[i] == bc->best_action[start + i] ? 1.0f : 0.0f;
    double loss = 0.0;
    die_on_error(fcb_loss_chosen_squared(bc->scores, batch, NUM_ACTIONS, bc->actions, bc->rewards,
                                         NULL, bc->dscores, &loss),
                 "loss");
    die_on_error(fcb_model_backward(&bc->model, bc->params, bc->dscores, &bc->ws, bc->grad),
                 "backward");
    die_on_error(fcb_sgd_step(opt, bc->params, bc->grad), "sgd_step");
}

static void run_once(bench_case *bc, fcb_sgd *opt, int *start, int batch)
{
    if (*start + batch > POOL_ROWS)
        *start = 0;
    if (opt != NULL)
        learn(bc, opt, *start, batch);
    else
        decide(bc, *start, batch);
    *start += batch;
}

/* Rows per second of decide (opt == NULL) or learn, after a warm-up. */
static double rows_per_second(bench_case *bc, fcb_sgd *opt, int batch)
{
    int start = 0;
    double warmup_end = now_seconds() + WARMUP_SECONDS;
    while (now_seconds() < warmup_end)
        run_once(bc, opt, &start, batch);

    long rows = 0;
    double begin = now_seconds(), elapsed = 0.0;
    while (elapsed < MEASURE_SECONDS) {
        run_once(bc, opt, &start, batch);
        rows += batch;
        elapsed = now_seconds() - begin;
    }
    return (double)rows / elapsed;
}

/* Flops of one row: 2 per multiply-add. Backward computes every layer's
 * weight gradient and, above the first layer, the gradient of its input. */
static double forward_flops_per_row(const fcb_model *m)
{
    double flops = 0.0;
    for (int l = 0; l < m->num_layers; l++)
        flops += 2.0 * m->layer_in[l] * m->layer_out[l];
    return flops;
}

static double backward_flops_per_row(const fcb_model *m)
{
    double flops = 0.0;
    for (int l = 0; l < m->num_layers; l++)
        flops += (l > 0 ? 4.0 : 2.0) * m->layer_in[l] * m->layer_out[l];
    return flops;
}

static void print_cpu_model(void)
{
    char line[256];
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "model name", 10) == 0) {
            printf("cpu:%s", strchr(line, ':') + 1);
            break;
        }
    }
    if (f != NULL)
        fclose(f);
}

/* ---- the paper's CNN ---------------------------------------------------- */

/* Multiply-adds count 2 flops. Forward: every conv (h*w*out_c*k*k*c per
 * image) and dense layer. Backward: every weight gradient, and the input
 * gradient of every layer but the first conv (nothing needs the image's). */
static void cnn_flops_per_example(const fcb_model *m, double *forward, double *backward)
{
    *forward = 0.0;
    *backward = 0.0;
    for (int j = 0; j < m->config.num_conv; j++) {
        const fcb_conv_geometry *g = &m->conv[j];
        double product = 2.0 * (double)g->h * g->w * g->out_c * (double)fcb_conv_col_width(g);
        *forward += product;
        *backward += (j > 0 ? 2.0 : 1.0) * product;
    }
    for (int l = 0; l < m->num_layers; l++) {
        double product = 2.0 * m->layer_in[l] * m->layer_out[l];
        *forward += product;
        *backward += 2.0 * product;
    }
}

/* Examples per second of forward (train == 0) or forward + backward. */
static double cnn_examples_per_second(const fcb_model *m, const float *params, float *grad, const float *images,
                                      int pool_rows, fcb_workspace *ws, int batch, int train, float *scores,
                                      const float *dscores)
{
    int start = 0;
    long rows = 0;
    double warmup_end = now_seconds() + WARMUP_SECONDS, begin = 0.0, elapsed = 0.0;
    for (int measuring = 0; measuring < 2; measuring++) {
        if (measuring)
            begin = now_seconds();
        while (measuring ? elapsed < MEASURE_SECONDS : now_seconds() < warmup_end) {
            if (start + batch > pool_rows)
                start = 0;
            const float *x = images + (size_t)start * m->config.input_dim;
            die_on_error(fcb_model_forward(m, params, x, batch, ws, scores), "cnn forward");
            if (train)
                die_on_error(fcb_model_backward(m, params, dscores, ws, grad), "cnn backward");
            start += batch;
            if (measuring) {
                rows += batch;
                elapsed = now_seconds() - begin;
            }
        }
    }
    return (double)rows / elapsed;
}

enum { CNN_SIDE = 28, CNN_POOL_ROWS = 1024, CNN_MAX_BATCH = 64 };

static void bench_cnn(double baseline)
{
    fcb_model_config config = {.arch = FCB_ARCH_CNN, .input_dim = CNN_SIDE * CNN_SIDE, .num_actions = NUM_ACTIONS,
                               .num_hidden = 1, .hidden = {512}, .num_conv = 2, .conv_channels = {32, 64}};
    fcb_model m;
    die_on_error(fcb_model_init(&m, &config), "cnn model_init");
    float *params = checked_calloc(m.num_params, sizeof(float));
    float *grad = checked_calloc(m.num_params, sizeof(float));
    float *images = checked_calloc((size_t)CNN_POOL_ROWS * config.input_dim, sizeof(float));
    float *scores = checked_calloc((size_t)CNN_MAX_BATCH * NUM_ACTIONS, sizeof(float));
    float *dscores = checked_calloc((size_t)CNN_MAX_BATCH * NUM_ACTIONS, sizeof(float));
    fcb_rng rng;
    fcb_rng_init(&rng, 7, FCB_STREAM_MODEL_INIT, 0, 0);
    die_on_error(fcb_model_init_params(&m, params, &rng), "cnn init_params");
    fcb_rng_init(&rng, 7, FCB_STREAM_DATA, 0, 0);
    for (size_t i = 0; i < (size_t)CNN_POOL_ROWS * config.input_dim; i++)
        images[i] = (float)fcb_rng_normal(&rng);
    for (int i = 0; i < CNN_MAX_BATCH * NUM_ACTIONS; i++)
        dscores[i] = (float)(0.1 * fcb_rng_normal(&rng));
    double fwd, bwd;
    cnn_flops_per_example(&m, &fwd, &bwd);

    printf("\nCNN 28x28x1, conv 5x5 32 + pool, conv 5x5 64 + pool, dense 512, K = %d (%zu parameters, im2col "
           "chunk %d images): %.1f MFLOP forward, %.1f MFLOP backward per example\n\n",
           NUM_ACTIONS, m.num_params, FCB_CNN_CHUNK, fwd / 1e6, bwd / 1e6);
    printf("| measure | batch | examples/s | GFLOP/s | share of sgemm peak |\n|---|---:|---:|---:|---:|\n");
    struct {
        const char *measure;
        int batch, train;
    } runs[] = {{"forward", 16, 0}, {"forward", 64, 0}, {"forward + backward", 16, 1}, {"forward + backward", 64, 1}};
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        fcb_workspace ws;
        die_on_error(fcb_workspace_init(&ws, &m, runs[r].batch), "cnn workspace_init");
        double rate = cnn_examples_per_second(&m, params, grad, images, CNN_POOL_ROWS, &ws, runs[r].batch,
                                              runs[r].train, scores, dscores);
        double gflops = rate * (runs[r].train ? fwd + bwd : fwd) / 1e9;
        printf("| %s | %d | %.0f | %.2f | %.1f%% |\n", runs[r].measure, runs[r].batch, rate, gflops,
               100.0 * gflops / baseline);
        fcb_workspace_free(&ws);
    }
    free(params);
    free(grad);
    free(images);
    free(scores);
    free(dscores);
}

/* The project's targets for the linear model at d = 20 on one core. */
static const double TARGET_DECISIONS = 1e6;
static const double TARGET_LEARNED = 5e5;

int main(void)
{
    openblas_set_num_threads(1);
    print_cpu_model();
    double gflops_512 = sgemm_gflops(512);
    double gflops_1024 = sgemm_gflops(1024);
    double gflops_2048 = sgemm_gflops(2048);
    double baseline = fmax(gflops_512, fmax(gflops_1024, gflops_2048));

    printf("sgemm, 1 thread: 512^3 %.1f GFLOP/s, 1024^3 %.1f GFLOP/s, 2048^3 %.1f GFLOP/s (peak, the baseline "
           "%.1f)\n\n",
           gflops_512, gflops_1024, gflops_2048, baseline);
    printf("| model | d | measure | batch | per second | per second / sgemm GFLOP/s | "
           "model GFLOP/s | share of sgemm |\n");
    printf("|---|---:|---|---:|---:|---:|---:|---:|\n");

    struct {
        const char *name;
        fcb_arch arch;
        int d;
    } cases[] = {
        {"linear", FCB_ARCH_LINEAR, 20},
        {"linear", FCB_ARCH_LINEAR, 784},
        {"mlp h64", FCB_ARCH_MLP, 20},
        {"mlp h64", FCB_ARCH_MLP, 784},
    };
    fcb_sgd_config sgd_config = {.learning_rate = 0.05f};
    double linear20_rates[3] = {0.0, 0.0, 0.0}; /* decisions, learned b32, learned b1 */
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        bench_case *bc = checked_calloc(1, sizeof *bc);
        case_init(bc, cases[c].name, cases[c].arch, cases[c].d);
        fcb_sgd opt;
        die_on_error(fcb_sgd_init(&opt, &sgd_config, bc->model.num_params), "sgd_init");
        double fwd = forward_flops_per_row(&bc->model);
        double learn_flops = fwd + backward_flops_per_row(&bc->model);

        struct {
            const char *measure;
            int batch;
            fcb_sgd *opt;
            double flops_per_row;
        } runs[] = {
            {"decisions", DECISION_BATCH, NULL, fwd},
            {"learned interactions", 32, &opt, learn_flops},
            {"learned interactions", 1, &opt, learn_flops},
        };
        for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
            double rate = rows_per_second(bc, runs[r].opt, runs[r].batch);
            double model_gflops = rate * runs[r].flops_per_row / 1e9;
            printf("| %s | %d | %s | %d | %.0f | %.0f | %.2f | %.1f%% |\n", bc->name,
                   cases[c].d, runs[r].measure, runs[r].batch, rate, rate / baseline,
                   model_gflops, 100.0 * model_gflops / baseline);
            if (c == 0)
                linear20_rates[r] = rate;
        }
        fcb_sgd_free(&opt);
        case_free(bc);
        free(bc);
    }

    printf("\nTargets, linear d = 20, one core: decisions %.2fM/s (>= %.1fM/s: %s), "
           "learned interactions %.2fM/s at batch 32 and %.2fM/s at batch 1 (>= %.1fM/s: %s)\n",
           linear20_rates[0] / 1e6, TARGET_DECISIONS / 1e6,
           linear20_rates[0] >= TARGET_DECISIONS ? "met" : "MISSED", linear20_rates[1] / 1e6,
           linear20_rates[2] / 1e6, TARGET_LEARNED / 1e6,
           linear20_rates[1] >= TARGET_LEARNED && linear20_rates[2] >= TARGET_LEARNED ? "met"
                                                                                     : "MISSED");
    bench_cnn(baseline);
    return 0;
}
