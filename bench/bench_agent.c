/* Throughput and latency of the embeddable agent's decide
 * (include/fedcb/agent.h), K = 10 actions, linear model, softmax policy
 * (temperature 0.05), learn_every = 0 (no learning during the bench):
 *
 *   - inputs: a dense context of d = 20 floats (fcb_agent_decide), and 30
 *     named features ("f0=v17 f1:0.372 ...", fcb_agent_decide_features)
 *     hashed into d = 20 and into d = 1024;
 *   - logging off (store_path NULL), and on (a SQLite store in a temporary
 *     directory, store_sync_full 1 and 0, the default queue of 65536);
 *   - 1 and 2 application threads calling decide on one agent, as fast as
 *     they can, or paced (dense d = 20 at the target of 300,000/s in all:
 *     batches of PACE_BATCH calls, sleeping until the schedule between);
 *   - the d = 1024 rows again with OpenBLAS on one thread.
 *
 * Each cell: a warm-up run (then a flush), then a measured run of a fixed
 * duration. decisions/s = decisions / the run's time. With logging on,
 * sustained/s = decisions / (the run's time + the final flush), the flush
 * being the time the writer needs to commit what the run left in the queue;
 * store waits are the decisions that waited on a full queue
 * (fcb_agent_stats.store_waits), and the rows of the file are counted after
 * the flush through a connection of our own (committed with the store's
 * synchronous setting); the bench fails unless they equal the decisions.
 * The agent decides with a fixed model of N(0, 0.1^2) weights (deployed
 * with fcb_agent_deploy, so the policy is not uniform) and gets no feedback.
 *
 * Latency: a random 1 in SAMPLE_EVERY of each thread's calls is timed with
 * two clock_gettime(CLOCK_MONOTONIC) calls (the clock's cost is printed).
 * Random, not every 32nd call: the store hands queue slots back 1024 at a
 * time and the paced runs sleep every 64 calls, and a fixed stride would
 * time the same phase of those cycles every time.
 *
 * Baseline, in the same run: the bare arithmetic of one decision (a d x K
 * dot-product loop + bias, a double-precision softmax, one uniform from a
 * hash of the event id, inverse-CDF sampling) in a tight loop over the same
 * contexts, measured just before each row on the same number of threads;
 * each row's rate is divided by it.
 *
 * Then the parts of one decision, each in its own tight loop on one thread
 * (ns per call), for "where the time goes" in docs/performance.md.
 *
 * No timing is asserted. Usage: see usage() (bench/agent.sh runs it all).
 * Prints markdown. */
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "agent_internal.h" /* fcb_agent_deploy: a non-uniform model to decide with */
#include "agent_store.h"
#include "feature_hash.h"
#include "fedcb/agent.h"
#include "model.h"
#include "policy.h"
#include "rng.h"

void openblas_set_num_threads(int num_threads);

enum {
    K = 10,
    DENSE_D = 20,
    WIDE_D = 1024,
    NAMED_FEATURES = 30,
    POOL = 4096,
    FEATURE_CHARS = 512,
    SAMPLE_EVERY = 32,
    MAX_SAMPLES = 1 << 20,
    MAX_THREADS = 2,
    PACE_BATCH = 64
};

static double measure_seconds = 2.0;
static const double WARMUP_SECONDS = 0.5;
static const double PART_SECONDS = 0.3;
static const double BASELINE_SECONDS = 0.5;

static void sleep_seconds(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void die_on_error(fcb_status status, const char *what)
{
    if (status != FCB_OK) {
        fprintf(stderr, "bench_agent: %s failed: %s\n", what, fcb_last_error());
        exit(1);
    }
}

static void *checked_calloc(size_t count, size_t size)
{
    void *p = calloc(count, size);
    if (!p) {
        fprintf(stderr, "bench_agent: out of memory\n");
        exit(1);
    }
    return p;
}

/* ---- inputs ---- */

static float *dense_pool;   /* POOL x DENSE_D, ||x|| about 1 */
static char *feature_pool;  /* POOL strings of FEATURE_CHARS */
static float *model_params; /* K x WIDE_D weights then K biases, the first K x d used for d */

static void make_inputs(void)
{
    fcb_rng rng;
    fcb_rng_init(&rng, 7, FCB_STREAM_DATA, 0, 0);
    dense_pool = checked_calloc((size_t)POOL * DENSE_D, sizeof(float));
    double scale = 1.0 / sqrt((double)DENSE_D);
    for (size_t i = 0; i < (size_t)POOL * DENSE_D; i++)
        dense_pool[i] = (float)(scale * fcb_rng_normal(&rng));
    /* Even features are categories (100 values each), odd ones numbers. */
    feature_pool = checked_calloc((size_t)POOL, FEATURE_CHARS);
    for (int r = 0; r < POOL; r++) {
        char *s = feature_pool + (size_t)r * FEATURE_CHARS;
        int n = 0;
        for (int f = 0; f < NAMED_FEATURES; f++) {
            if (f % 2 == 0)
                n += snprintf(s + n, (size_t)(FEATURE_CHARS - n), "%sf%d=v%d", f ? " " : "", f,
                              (int)fcb_rng_below(&rng, 100));
            else
                n += snprintf(s + n, (size_t)(FEATURE_CHARS - n), " f%d:%.3f", f, fcb_rng_uniform(&rng));
        }
    }
    model_params = checked_calloc((size_t)K * WIDE_D + K, sizeof(float));
    fcb_rng_init(&rng, 7, FCB_STREAM_MODEL_INIT, 0, 0);
    for (size_t p = 0; p < (size_t)K * WIDE_D + K; p++)
        model_params[p] = (float)(0.1 * fcb_rng_normal(&rng));
}

/* The linear model of width d: K x d weights, then K biases. */
static void model_of_width(int d, float *params)
{
    memcpy(params, model_params, (size_t)K * d * sizeof(float));
    memcpy(params + (size_t)K * d, model_params + (size_t)K * WIDE_D, K * sizeof(float));
}

/* ---- the baseline: one decision's bare arithmetic ---- */

static uint64_t mix64(uint64_t seed, uint64_t id)
{
    uint64_t z = seed * 0x9e3779b97f4a7c15ull + id;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int bare_decision(const float *W, const float *b, const float *x, uint64_t id)
{
    float scores[K];
    double e[K], total = 0.0;
    float top = -INFINITY;
    for (int a = 0; a < K; a++) {
        const float *w = W + (size_t)a * DENSE_D;
        float s = b[a];
        for (int j = 0; j < DENSE_D; j++)
            s += w[j] * x[j];
        scores[a] = s;
        top = s > top ? s : top;
    }
    for (int a = 0; a < K; a++) {
        e[a] = exp(((double)scores[a] - top) / 0.05);
        total += e[a];
    }
    double u = (double)(mix64(1, id) >> 11) * (1.0 / 9007199254740992.0) * total, c = 0.0;
    for (int a = 0; a < K; a++) {
        c += e[a];
        if (u < c)
            return a;
    }
    return K - 1;
}

typedef struct {
    pthread_barrier_t *start;
    atomic_int *stop;
    long calls;
    long checksum;
    int thread;
} baseline_worker;

static void *baseline_main(void *arg)
{
    baseline_worker *w = arg;
    float params[K * DENSE_D + K];
    model_of_width(DENSE_D, params);
    pthread_barrier_wait(w->start);
    long calls = 0, sum = 0;
    uint64_t id = (uint64_t)w->thread << 40;
    while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
        const float *x = dense_pool + (size_t)(calls & (POOL - 1)) * DENSE_D;
        sum += bare_decision(params, params + K * DENSE_D, x, ++id);
        calls++;
    }
    w->calls = calls;
    w->checksum = sum;
    return NULL;
}

static double baseline_rate(int threads, double seconds)
{
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    atomic_int stop = 0;
    baseline_worker w[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    for (int t = 0; t < threads; t++) {
        w[t] = (baseline_worker){&start, &stop, 0, 0, t};
        pthread_create(&tid[t], NULL, baseline_main, &w[t]);
    }
    pthread_barrier_wait(&start);
    double t0 = now_seconds();
    sleep_seconds(seconds);
    atomic_store(&stop, 1);
    long calls = 0, sum = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        calls += w[t].calls;
        sum += w[t].checksum;
    }
    double elapsed = now_seconds() - t0;
    pthread_barrier_destroy(&start);
    if (sum < 0) /* never: keeps the loop's result alive */
        printf("checksum %ld\n", sum);
    return (double)calls / elapsed;
}

/* ---- the agent ---- */

typedef enum { INPUT_DENSE, INPUT_FEATURES } input_kind;
typedef enum { LOG_OFF, LOG_FULL, LOG_NORMAL } log_mode;
static const char *const LOG_NAMES[] = {"off", "on, sync FULL", "on, sync NORMAL"};

typedef struct {
    fcb_agent *agent;
    input_kind input;
    int dim;
    pthread_barrier_t *start;
    atomic_int *stop;
    int thread;
    int sample; /* time a random 1 in SAMPLE_EVERY calls */
    double pace; /* decisions/s of this thread, 0: as fast as it can */
    long calls;
    uint32_t *lat_ns;
    long samples;
} agent_worker;

static void *agent_main(void *arg)
{
    agent_worker *w = arg;
    fcb_decision out;
    prctl(PR_SET_NAME, "fcb-decide"); /* for perf; the store's writer keeps the program's name */
    pthread_barrier_wait(w->start);
    long calls = 0;
    /* Each thread walks the pool from its own offset. */
    long row = (long)w->thread * (POOL / 2);
    uint64_t pick = 0x9e3779b97f4a7c15ull * (uint64_t)(w->thread + 1);
    double begin = now_seconds();
    while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
        /* Paced: after every PACE_BATCH calls, sleep until the schedule
         * (an application idle between requests, not spinning). */
        if (w->pace > 0.0 && calls % PACE_BATCH == 0) {
            double ahead = begin + (double)calls / w->pace - now_seconds();
            if (ahead > 0.0)
                sleep_seconds(ahead);
        }
        int r = (int)(row++ & (POOL - 1));
        pick ^= pick << 13; /* xorshift64 */
        pick ^= pick >> 7;
        pick ^= pick << 17;
        int timed = w->sample && (pick >> 58) % SAMPLE_EVERY == 0 && w->samples < MAX_SAMPLES;
        uint64_t t0 = timed ? now_ns() : 0;
        fcb_status st = w->input == INPUT_DENSE
                            ? fcb_agent_decide(w->agent, dense_pool + (size_t)r * DENSE_D, DENSE_D, &out)
                            : fcb_agent_decide_features(w->agent, feature_pool + (size_t)r * FEATURE_CHARS, &out);
        if (timed)
            w->lat_ns[w->samples++] = (uint32_t)(now_ns() - t0);
        die_on_error(st, "decide");
        calls++;
    }
    w->calls = calls;
    return NULL;
}

/* Runs `threads` deciders for `seconds`; returns the decisions and the
 * elapsed time from the start to the last thread's end. */
static long run_deciders(fcb_agent *agent, input_kind input, int dim, int threads, double seconds, int sample,
                         double pace, uint32_t **lat, long *samples, double *elapsed)
{
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    atomic_int stop = 0;
    agent_worker w[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    for (int t = 0; t < threads; t++) {
        w[t] = (agent_worker){agent, input, dim, &start, &stop, t, sample, pace / threads, 0, lat ? lat[t] : NULL, 0};
        pthread_create(&tid[t], NULL, agent_main, &w[t]);
    }
    pthread_barrier_wait(&start);
    double t0 = now_seconds();
    sleep_seconds(seconds);
    atomic_store(&stop, 1);
    long calls = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        calls += w[t].calls;
        if (samples)
            samples[t] = w[t].samples;
    }
    *elapsed = now_seconds() - t0;
    pthread_barrier_destroy(&start);
    return calls;
}

static int compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static long count_rows(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    long n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT count(*) FROM decisions", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        n = (long)sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
}

typedef struct {
    double rate, p50_us, p99_us, p999_us;
    double sustained, flush_s;
    uint64_t waits;
    long decisions, rows;
} cell_result;

static char temp_dir[256];

/* A store's file and its WAL and shared-memory files. */
static void remove_store(const char *path)
{
    char file[600];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(file, sizeof file, "%s%s", path, suffix[i]);
        unlink(file);
    }
}

static cell_result run_cell(input_kind input, int dim, log_mode mode, int threads, double pace, uint32_t **lat)
{
    static int store_number = 0;
    char path[512];
    fcb_agent_options o;
    fcb_agent_options_default(&o);
    o.input_dim = dim;
    o.num_actions = K;
    o.seed = 1;
    o.learn_every = 0;
    o.quiet = 1;
    if (mode != LOG_OFF) {
        snprintf(path, sizeof path, "%s/store-%d.db", temp_dir, ++store_number);
        o.store_path = path;
        o.store_sync_full = mode == LOG_FULL;
    }
    fcb_agent *agent = NULL;
    die_on_error(fcb_agent_open(&o, &agent), "fcb_agent_open");
    float *params = checked_calloc((size_t)K * dim + K, sizeof(float));
    model_of_width(dim, params);
    fcb_agent_deploy(agent, params, 1);
    free(params);

    double elapsed = 0.0;
    run_deciders(agent, input, dim, threads, WARMUP_SECONDS, 0, pace, NULL, NULL, &elapsed);
    die_on_error(fcb_agent_flush(agent), "flush after the warm-up");
    fcb_agent_stats before, after;
    die_on_error(fcb_agent_stats_get(agent, &before), "stats");

    cell_result r = {0};
    long samples[MAX_THREADS] = {0};
    r.decisions = run_deciders(agent, input, dim, threads, measure_seconds, 1, pace, lat, samples, &elapsed);
    r.rate = (double)r.decisions / elapsed;
    double f0 = now_seconds();
    die_on_error(fcb_agent_flush(agent), "flush");
    r.flush_s = now_seconds() - f0;
    r.sustained = (double)r.decisions / (elapsed + r.flush_s);
    die_on_error(fcb_agent_stats_get(agent, &after), "stats");
    r.waits = after.store_waits - before.store_waits;
    r.rows = mode == LOG_OFF ? -1 : count_rows(path);
    if (mode != LOG_OFF && r.rows != (long)after.decisions) {
        fprintf(stderr, "bench_agent: the store holds %ld decisions after the flush, the agent made %llu\n", r.rows,
                (unsigned long long)after.decisions);
        exit(1);
    }
    die_on_error(fcb_agent_close(agent), "close");
    if (mode != LOG_OFF)
        remove_store(path);

    /* Both threads' samples, pooled. */
    long n = 0;
    for (int t = 0; t < threads; t++) {
        if (t > 0)
            memmove(lat[0] + n, lat[t], (size_t)samples[t] * sizeof(uint32_t));
        n += samples[t];
    }
    qsort(lat[0], (size_t)n, sizeof(uint32_t), compare_u32);
    r.p50_us = n ? lat[0][n / 2] / 1e3 : 0.0;
    r.p99_us = n ? lat[0][(long)(0.99 * (double)n)] / 1e3 : 0.0;
    r.p999_us = n ? lat[0][(long)(0.999 * (double)n)] / 1e3 : 0.0;
    return r;
}

/* ---- the parts of one decision ---- */

/* ns per iteration of body over a fixed time. */
#define TIME_PART(result, body)                                                                                   \
    do {                                                                                                          \
        long iterations_ = 0;                                                                                     \
        double start_ = now_seconds(), elapsed_ = 0.0;                                                            \
        while (elapsed_ < PART_SECONDS) {                                                                         \
            for (int rep_ = 0; rep_ < 1024; rep_++, iterations_++) {                                              \
                body;                                                                                             \
            }                                                                                                     \
            elapsed_ = now_seconds() - start_;                                                                    \
        }                                                                                                         \
        (result) = 1e9 * elapsed_ / (double)iterations_;                                                          \
    } while (0)

static volatile long sink;

static void print_parts(void)
{
    double ns;
    long acc = 0;
    struct timespec ts;
    printf("| part of one decision (d = 20, K = 10, one thread, no contention) | ns per call |\n");
    printf("|---|---:|\n");

    TIME_PART(ns, clock_gettime(CLOCK_MONOTONIC, &ts); acc += ts.tv_nsec);
    printf("| clock_gettime(CLOCK_MONOTONIC) (the latency probe; two per timed call) | %.1f |\n", ns);
    TIME_PART(ns, clock_gettime(CLOCK_REALTIME, &ts); acc += ts.tv_nsec);
    printf("| clock_gettime(CLOCK_REALTIME) (decide's timestamp, fcb_epoch_seconds) | %.1f |\n", ns);

    float params[K * DENSE_D + K];
    model_of_width(DENSE_D, params);
    uint64_t id = 0;
    TIME_PART(ns, acc += bare_decision(params, params + K * DENSE_D,
                                       dense_pool + (size_t)(iterations_ & (POOL - 1)) * DENSE_D, ++id));
    printf("| baseline: bare arithmetic (dot products + softmax + uniform + sampling) | %.1f |\n", ns);

    fcb_model_config config = {.arch = FCB_ARCH_LINEAR, .input_dim = DENSE_D, .num_actions = K};
    fcb_model model;
    die_on_error(fcb_model_init(&model, &config), "model init");
    float scratch[64], scores[K], probs[K];
    TIME_PART(ns, fcb_model_score_row(&model, params, dense_pool + (size_t)(iterations_ & (POOL - 1)) * DENSE_D,
                                      scratch, scores);
              acc += scores[0] > 0.0f);
    printf("| fcb_model_score_row (finite check + 200 multiply-adds) | %.1f |\n", ns);
    fcb_policy_config policy;
    fcb_policy_config_default(&policy, FCB_POLICY_SOFTMAX);
    fcb_model_score_row(&model, params, dense_pool, scratch, scores);
    TIME_PART(ns, scores[0] += 1e-7f; fcb_policy_probs(&policy, scores, K, probs); acc += probs[0] > 0.5f);
    printf("| fcb_policy_probs, softmax (validation + 2 x 10 exp) | %.1f |\n", ns);

    pthread_rwlock_t rw;
    pthread_rwlock_init(&rw, NULL);
    TIME_PART(ns, pthread_rwlock_rdlock(&rw); acc++; pthread_rwlock_unlock(&rw));
    printf("| pthread_rwlock_rdlock + unlock (the model lock) | %.1f |\n", ns);
    pthread_rwlock_destroy(&rw);
    pthread_mutex_t mu;
    pthread_mutex_init(&mu, NULL);
    TIME_PART(ns, pthread_mutex_lock(&mu); acc++; pthread_mutex_unlock(&mu));
    printf("| pthread_mutex_lock + unlock (the events lock, the store's lock) | %.1f |\n", ns);
    pthread_mutex_destroy(&mu);
    atomic_uint_fast64_t counter = 0;
    TIME_PART(ns, atomic_fetch_add(&counter, 1));
    printf("| atomic_fetch_add (the decisions counter) | %.1f |\n", ns);

    float x[WIDE_D];
    TIME_PART(ns, die_on_error(fcb_hash_features(feature_pool + (size_t)(iterations_ & (POOL - 1)) * FEATURE_CHARS,
                                                 0, x, DENSE_D),
                               "hash");
              acc += x[0] > 0.0f);
    printf("| fcb_hash_features, 30 named features into d = 20 | %.1f |\n", ns);
    TIME_PART(ns, die_on_error(fcb_hash_features(feature_pool + (size_t)(iterations_ & (POOL - 1)) * FEATURE_CHARS,
                                                 0, x, WIDE_D),
                               "hash");
              acc += x[0] > 0.0f);
    printf("| fcb_hash_features, 30 named features into d = 1024 | %.1f |\n", ns);

    /* The store's put alone, its writer running: the first 60,000 puts of a
     * fresh store (below the queue's 65,536, so none waits). */
    char path[512];
    snprintf(path, sizeof path, "%s/put.db", temp_dir);
    fcb_agent_store_options so = {.path = path, .input_dim = DENSE_D, .num_actions = K, .sync_full = 1,
                                  .queue_capacity = 65536};
    fcb_agent_store *store = NULL;
    die_on_error(fcb_agent_store_open(&so, &store), "store open");
    enum { PUTS = 60000 };
    double t0 = now_seconds();
    for (int i = 0; i < PUTS; i++) {
        fcb_store_decision d = {(uint64_t)i + 1, 1.7e9, 1, i % K, 0.1f,
                                dense_pool + (size_t)(i & (POOL - 1)) * DENSE_D};
        die_on_error(fcb_agent_store_put_decision(store, &d), "put");
    }
    ns = 1e9 * (now_seconds() - t0) / PUTS;
    uint64_t waits = fcb_agent_store_waits(store);
    t0 = now_seconds();
    die_on_error(fcb_agent_store_flush(store), "store flush");
    double flush = now_seconds() - t0;
    die_on_error(fcb_agent_store_close(store), "store close");
    printf("| fcb_agent_store_put_decision, its writer running (first %d puts, %llu waited) | %.1f |\n", PUTS,
           (unsigned long long)waits, ns);
    printf("| the writer alone: those %d rows committed, sync FULL, per row (put phase + flush %.3f s) | %.1f |\n",
           PUTS, flush, 1e9 * (PUTS * ns * 1e-9 + flush) / PUTS);

    /* A put that finds the writer idle wakes it: put one record, flush
     * (the writer commits and goes back to sleep), repeat. */
    enum { WAKES = 5000 };
    so.sync_full = 0;
    remove_store(path);
    die_on_error(fcb_agent_store_open(&so, &store), "store open");
    uint32_t *wake_ns = checked_calloc(WAKES, sizeof(uint32_t));
    for (int i = 0; i < WAKES; i++) {
        fcb_store_decision d = {(uint64_t)i + 1, 1.7e9, 1, i % K, 0.1f,
                                dense_pool + (size_t)(i & (POOL - 1)) * DENSE_D};
        uint64_t p0 = now_ns();
        die_on_error(fcb_agent_store_put_decision(store, &d), "put");
        wake_ns[i] = (uint32_t)(now_ns() - p0);
        die_on_error(fcb_agent_store_flush(store), "store flush");
    }
    die_on_error(fcb_agent_store_close(store), "store close");
    qsort(wake_ns, WAKES, sizeof(uint32_t), compare_u32);
    printf("| fcb_agent_store_put_decision that wakes the idle writer, median of %d (p99 %.0f ns) | %.1f |\n", WAKES,
           (double)wake_ns[(int)(0.99 * WAKES)], (double)wake_ns[WAKES / 2]);
    free(wake_ns);
    remove_store(path);
    sink = acc;
}

static void print_cpu_model(void)
{
    char line[256];
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            printf("cpu:%s", strchr(line, ':') + 1);
            break;
        }
    }
    if (f)
        fclose(f);
}

/* The targets, dense d = 20. */
static const double TARGET_OFF_RATE = 1e6;
static const double TARGET_OFF_P99_US = 20.0;
static const double TARGET_ON_SUSTAINED = 3e5;

typedef struct {
    input_kind input;
    int dim;
    const char *name;
    const char *key; /* on the command line */
} input_case;

static const input_case INPUTS[] = {
    {INPUT_DENSE, DENSE_D, "dense", "dense20"},
    {INPUT_FEATURES, DENSE_D, "30 named", "named20"},
    {INPUT_FEATURES, WIDE_D, "30 named", "named1024"},
};
static const char *const LOG_KEYS[] = {"off", "full", "normal"};

/* One row: the baseline of its thread count measured just before it. */
static int with_baseline = 1;

static cell_result print_cell(const input_case *in, log_mode mode, int threads, double pace, uint32_t **lat)
{
    double base = with_baseline ? baseline_rate(threads, BASELINE_SECONDS) : NAN;
    cell_result r = run_cell(in->input, in->dim, mode, threads, pace, lat);
    char load[32] = "max", baseline[32] = "-", ratio[32] = "-";
    if (pace > 0.0)
        snprintf(load, sizeof load, "%.0f/s", pace);
    if (with_baseline) {
        snprintf(baseline, sizeof baseline, "%.0f", base);
        snprintf(ratio, sizeof ratio, "%.3f", r.rate / base);
    }
    printf("| %s | %d | %s | %d | %s | %s | %.0f | %s | %.2f | %.2f | %.2f |", in->name, in->dim, LOG_NAMES[mode],
           threads, load, baseline, r.rate, ratio, r.p50_us, r.p99_us, r.p999_us);
    if (mode == LOG_OFF)
        printf(" | | |\n");
    else
        printf(" %.0f | %.3f | %llu |\n", r.sustained, r.flush_s, (unsigned long long)r.waits);
    fflush(stdout);
    return r;
}

static void print_header(void)
{
    printf("| input | d | logging | threads | offered | baseline/s | decisions/s | / baseline | p50 µs | p99 µs | "
           "p99.9 µs | sustained/s | final flush s | store waits |\n");
    printf("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_agent [SECONDS [dense20|named20|named1024 off|full|normal THREADS [PACE]]]\n"
                    "       bench_agent SECONDS parts   (the parts of one decision only)\n"
                    "  SECONDS per measured run (default 2); with a cell, runs that cell only, without the\n"
                    "  baseline (for perf); PACE: decisions/s offered, over all threads\n"
                    "  (default: as many as it can)\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        measure_seconds = atof(argv[1]);
    int parts_only = argc == 3 && strcmp(argv[2], "parts") == 0;
    if (!(measure_seconds > 0.0) || (argc > 2 && argc < 5 && !parts_only) || argc > 6)
        return usage();
    snprintf(temp_dir, sizeof temp_dir, "/tmp/fedcb_bench_agent_XXXXXX");
    if (!mkdtemp(temp_dir)) {
        perror("bench_agent: mkdtemp");
        return 1;
    }
    make_inputs();
    uint32_t *lat[MAX_THREADS];
    for (int t = 0; t < MAX_THREADS; t++)
        lat[t] = checked_calloc(MAX_SAMPLES, sizeof(uint32_t));

    if (parts_only) {
        print_parts();
    } else if (argc > 2) { /* one cell */
        const input_case *in = NULL;
        int mode = -1, threads = atoi(argv[4]);
        for (size_t i = 0; i < sizeof INPUTS / sizeof INPUTS[0]; i++)
            if (strcmp(argv[2], INPUTS[i].key) == 0)
                in = &INPUTS[i];
        for (int m = LOG_OFF; m <= LOG_NORMAL; m++)
            if (strcmp(argv[3], LOG_KEYS[m]) == 0)
                mode = m;
        double pace = argc > 5 ? atof(argv[5]) : 0.0;
        if (!in || mode < 0 || threads < 1 || threads > MAX_THREADS || pace < 0.0)
            return usage();
        with_baseline = 0; /* the cell alone in a profile */
        print_header();
        print_cell(in, (log_mode)mode, threads, pace, lat);
    } else {
        print_cpu_model();
        printf("cores: %ld; SQLite %s; stores in %s; %.1f s per measured run after a %.1f s warm-up; "
               "baseline runs of %.1f s\n",
               sysconf(_SC_NPROCESSORS_ONLN), sqlite3_libversion(), temp_dir, measure_seconds, WARMUP_SECONDS,
               BASELINE_SECONDS);
        printf("named features, e.g.: \"%.60s ...\"\n\n", feature_pool);
        print_header();
        cell_result dense_off1 = {0}, dense_on[MAX_THREADS + 1] = {{0}}, paced[MAX_THREADS + 1] = {{0}};
        for (size_t i = 0; i < sizeof INPUTS / sizeof INPUTS[0]; i++)
            for (int mode = LOG_OFF; mode <= LOG_NORMAL; mode++)
                for (int threads = 1; threads <= MAX_THREADS; threads++) {
                    cell_result r = print_cell(&INPUTS[i], (log_mode)mode, threads, 0.0, lat);
                    if (i == 0 && mode == LOG_OFF && threads == 1)
                        dense_off1 = r;
                    if (i == 0 && mode == LOG_FULL)
                        dense_on[threads] = r;
                }
        /* The target rate offered, not more: the writer keeps up without a
         * wait, and the latency is that of an unsaturated store; logging off
         * at the same rate for comparison. */
        for (int mode = LOG_OFF; mode <= LOG_NORMAL; mode++)
            for (int threads = 1; threads <= MAX_THREADS; threads++) {
                cell_result r = print_cell(&INPUTS[0], (log_mode)mode, threads, TARGET_ON_SUSTAINED, lat);
                if (mode == LOG_FULL)
                    paced[threads] = r;
            }
        /* d = 1024 scores through cblas_sgemv, which OpenBLAS runs on all
         * cores by default (what an application gets); the same rows with
         * OpenBLAS on one thread, as bench_models runs it. */
        openblas_set_num_threads(1);
        printf("\nThe same with OpenBLAS set to 1 thread (openblas_set_num_threads(1)):\n\n");
        print_header();
        for (int mode = LOG_OFF; mode <= LOG_FULL; mode++)
            for (int threads = 1; threads <= MAX_THREADS; threads++)
                print_cell(&INPUTS[2], (log_mode)mode, threads, 0.0, lat);
        printf("\n");
        print_parts();

        printf("\nTargets, dense d = 20: logging off, 1 thread: %.2f M/s (>= %.1f M/s: %s), p99 %.2f µs "
               "(< %.0f µs: %s); logging on (sync FULL), sustained: %.0f /s on 1 thread, %.0f /s on 2 "
               "(>= %.0f /s: %s); offered %.0f /s: %.0f and %.0f /s sustained, %llu and %llu store waits\n",
               dense_off1.rate / 1e6, TARGET_OFF_RATE / 1e6, dense_off1.rate >= TARGET_OFF_RATE ? "met" : "MISSED",
               dense_off1.p99_us, TARGET_OFF_P99_US, dense_off1.p99_us < TARGET_OFF_P99_US ? "met" : "MISSED",
               dense_on[1].sustained, dense_on[2].sustained, TARGET_ON_SUSTAINED,
               dense_on[1].sustained >= TARGET_ON_SUSTAINED && dense_on[2].sustained >= TARGET_ON_SUSTAINED
                   ? "met"
                   : "MISSED",
               TARGET_ON_SUSTAINED, paced[1].sustained, paced[2].sustained, (unsigned long long)paced[1].waits,
               (unsigned long long)paced[2].waits);
    }
    for (int t = 0; t < MAX_THREADS; t++)
        free(lat[t]);
    free(dense_pool);
    free(feature_pool);
    free(model_params);
    rmdir(temp_dir);
    return 0;
}
