#include "bench_run.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_plot.h"
#include "output_file.h"
#include "run_plan.h"
#include "simulate.h"
#include "wall_time.h"

typedef struct {
    int scenario, policy, seed;
    int skipped;
    fcb_status status;
    char error[1024];
    double avg_reward, accuracy, seconds;
    double val_accuracy; /* -1: the cell has no validation set */
} cell;

typedef struct {
    const fcb_suite *suite;
    const fcb_bench_options *options;
    cell *cells;
    int num_cells;
    atomic_int next;
    pthread_mutex_t lock;
    int done;
    double started;
} grid;

static void cell_dir(const grid *g, const cell *c, char *out, size_t size)
{
    snprintf(out, size, "%s/cells/%s/%s/seed-%d", g->options->out_dir, g->suite->scenarios[c->scenario].name,
             g->suite->policies[c->policy].name, c->seed);
}

static int read_summary(const char *dir, cell *c)
{
    char path[FCB_CONFIG_PATH_MAX + 300];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    json_t *j = json_load_file(path, 0, NULL);
    if (!j)
        return 0;
    c->avg_reward = json_number_value(json_object_get(j, "avg_reward"));
    c->accuracy = json_number_value(json_object_get(j, "test_accuracy"));
    c->seconds = json_number_value(json_object_get(j, "seconds"));
    json_t *val = json_object_get(j, "val_accuracy");
    c->val_accuracy = val ? json_number_value(val) : -1.0;
    json_decref(j);
    return 1;
}

static void show_progress(grid *g)
{
    if (!g->options->progress)
        return;
    int width = 30, filled = g->done * width / g->num_cells;
    double elapsed = fcb_wall_seconds() - g->started;
    double eta = g->done ? elapsed / g->done * (g->num_cells - g->done) : 0.0;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\rbench [%s] %d/%d cells  ETA %.0fs   ", bar, g->done, g->num_cells, eta);
    if (g->done == g->num_cells)
        fputc('\n', stderr);
}

static void run_cell(grid *g, cell *c)
{
    char dir[FCB_CONFIG_PATH_MAX + 200];
    cell_dir(g, c, dir, sizeof dir);
    if (read_summary(dir, c)) {
        c->skipped = 1;
        return;
    }
    fcb_config config;
    c->status = fcb_suite_cell_config(g->suite, c->scenario, c->policy, c->seed, &config);
    fcb_simulate_options so = {.out_dir = dir, .progress = 0};
    fcb_simulate_result r;
    if (c->status == FCB_OK)
        c->status = fcb_simulate(&config, &so, &r);
    if (c->status != FCB_OK) {
        snprintf(c->error, sizeof c->error, "%s", fcb_last_error());
        return;
    }
    c->avg_reward = r.avg_reward;
    c->accuracy = r.final_accuracy;
    c->seconds = r.seconds;
    c->val_accuracy = r.final_val_accuracy;
}

static void *worker(void *arg)
{
    grid *g = arg;
    for (;;) {
        int i = atomic_fetch_add(&g->next, 1);
        if (i >= g->num_cells)
            return NULL;
        run_cell(g, &g->cells[i]);
        pthread_mutex_lock(&g->lock);
        g->done++;
        show_progress(g);
        pthread_mutex_unlock(&g->lock);
    }
}

typedef struct {
    double mean, half; /* mean and half-width of the 95 % interval (0 with one seed) */
} summary_stat;

static summary_stat stat_of(const double *v, int n)
{
    summary_stat s;
    fcb_mean_interval(v, n, &s.mean, &s.half);
    return s;
}

static int cell_ok(const cell *c)
{
    return c->status == FCB_OK;
}

/* A CSV field in double quotes, inner quotes doubled, newlines as spaces. */
static void write_csv_field(FILE *f, const char *text)
{
    fputc('"', f);
    for (const char *t = text; *t; t++) {
        if (*t == '"')
            fputc('"', f);
        fputc(*t == '\n' || *t == '\r' ? ' ' : *t, f);
    }
    fputc('"', f);
}

static fcb_status write_csv(const grid *g)
{
    char path[FCB_CONFIG_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/results.csv", g->options->out_dir);
    fcb_output_file out;
    fcb_status st = fcb_output_open(&out, path, "w");
    if (st != FCB_OK)
        return st;
    FILE *f = out.f;
    fprintf(f, "scenario,policy,seed,avg_reward,test_accuracy,seconds,val_accuracy,error\n");
    for (int i = 0; i < g->num_cells; i++) {
        const cell *c = &g->cells[i];
        fprintf(f, "%s,%s,%d,", g->suite->scenarios[c->scenario].name, g->suite->policies[c->policy].name, c->seed);
        if (!cell_ok(c)) {
            fputs(",,,,", f);
            write_csv_field(f, c->error);
            fputc('\n', f);
            continue;
        }
        fprintf(f, "%.6f,%.6f,%.3f,", c->avg_reward, c->accuracy, c->seconds);
        if (c->val_accuracy >= 0.0)
            fprintf(f, "%.6f", c->val_accuracy);
        fputs(",\n", f);
    }
    return fcb_output_commit(&out);
}

static const cell *cell_at(const grid *g, int s, int p, int seed_index, int seeds)
{
    return &g->cells[((size_t)s * g->suite->num_policies + p) * seeds + seed_index];
}

typedef enum { METRIC_REWARD, METRIC_TEST, METRIC_VAL } metric;

static double metric_of(const cell *c, metric m)
{
    return m == METRIC_REWARD ? c->avg_reward : m == METRIC_TEST ? c->accuracy : c->val_accuracy;
}

/* The metric over policy p's cells that did not fail; *n is how many. */
static summary_stat policy_stat_n(const grid *g, int s, int p, int seeds, metric m, int *n)
{
    double v[1000];
    *n = 0;
    for (int k = 0; k < seeds; k++) {
        const cell *c = cell_at(g, s, p, k, seeds);
        if (cell_ok(c))
            v[(*n)++] = metric_of(c, m);
    }
    summary_stat none = {NAN, 0.0};
    return *n ? stat_of(v, *n) : none;
}

static summary_stat policy_stat(const grid *g, int s, int p, int seeds, metric m)
{
    int n;
    return policy_stat_n(g, s, p, seeds, m, &n);
}

/* Mean and 95 % t-interval of policy p's metric minus policy q's, seed by
 * seed, over the seeds where neither cell failed. */
static summary_stat paired_stat(const grid *g, int s, int p, int q, int seeds, metric m, int *n)
{
    double d[1000];
    *n = 0;
    for (int k = 0; k < seeds; k++) {
        const cell *a = cell_at(g, s, p, k, seeds), *b = cell_at(g, s, q, k, seeds);
        if (cell_ok(a) && cell_ok(b))
            d[(*n)++] = metric_of(a, m) - metric_of(b, m);
    }
    summary_stat none = {NAN, 0.0};
    return *n ? stat_of(d, *n) : none;
}

/* A policy's family: its `family` key, else the policy.kind of its cell. */
static void family_of(const grid *g, int s, int p, char *out, size_t size)
{
    const fcb_suite_policy *policy = &g->suite->policies[p];
    fcb_config config;
    if (policy->family[0])
        snprintf(out, size, "%s", policy->family);
    else if (fcb_suite_cell_config(g->suite, s, p, 1, &config) == FCB_OK)
        snprintf(out, size, "%s", config.policy);
    else
        snprintf(out, size, "%s", policy->name);
}

/* Per family, the setting with the highest mean validation accuracy, and
 * what it gives online and on the test set. */
static void report_selection(const grid *g, int s, int seeds, FILE *f)
{
    int np = g->suite->num_policies;
    for (int p = 0; p < np; p++)
        for (int k = 0; k < seeds; k++)
            if (cell_ok(cell_at(g, s, p, k, seeds)) && cell_at(g, s, p, k, seeds)->val_accuracy < 0.0) {
                fprintf(f, "Selected on validation: not possible, the cells have no validation set "
                           "(data.validation_fraction = 0).\n\n");
                return;
            }
    fprintf(f, "### Selected on validation\n\nPer family, the setting with the highest mean validation accuracy "
               "over seeds (data.validation_fraction rows held out of the training data). The test accuracy was "
               "not used to choose.\n\n");
    fprintf(f, "| family | selected | settings compared | validation accuracy | avg online reward | "
               "final test accuracy |\n|---|---|---:|---:|---:|---:|\n");
    char families[FCB_SUITE_MAX_POLICIES][FCB_SUITE_NAME_MAX];
    for (int p = 0; p < np; p++)
        family_of(g, s, p, families[p], sizeof families[p]);
    for (int p = 0; p < np; p++) {
        int first = 1;
        for (int q = 0; q < p && first; q++)
            first = strcmp(families[q], families[p]) != 0;
        if (!first)
            continue;
        int chosen = -1, compared = 0;
        for (int q = p; q < np; q++) {
            int n;
            double val = policy_stat_n(g, s, q, seeds, METRIC_VAL, &n).mean;
            if (strcmp(families[q], families[p]) != 0 || n == 0)
                continue;
            compared++;
            if (chosen < 0 || val > policy_stat(g, s, chosen, seeds, METRIC_VAL).mean)
                chosen = q;
        }
        if (chosen < 0) {
            fprintf(f, "| %s | every cell failed | 0 | | | |\n", families[p]);
            continue;
        }
        summary_stat val = policy_stat(g, s, chosen, seeds, METRIC_VAL);
        summary_stat reward = policy_stat(g, s, chosen, seeds, METRIC_REWARD);
        summary_stat test = policy_stat(g, s, chosen, seeds, METRIC_TEST);
        fprintf(f, "| %s | %s | %d | %.4f ± %.4f | %.4f ± %.4f | %.4f ± %.4f |\n", families[p],
                g->suite->policies[chosen].name, compared, val.mean, val.half, reward.mean, reward.half, test.mean,
                test.half);
    }
    fputc('\n', f);
}

/* Every policy against the best, seed by seed: the seeds share data,
 * partition and pretraining, so paired differences are tighter than the
 * per-policy intervals. */
static void report_paired(const grid *g, int s, int seeds, int best, FILE *f)
{
    const fcb_suite *suite = g->suite;
    fprintf(f, "### Paired differences to %s\n\nThe ± above are unpaired: each policy's seeds on their own. "
               "Here they are paired: for each seed, the policy's value minus %s's on the same seed, then the mean "
               "and the 95 %% t-interval of those differences.\n\n",
            suite->policies[best].name, suite->policies[best].name);
    fprintf(f, "| policy | online reward − best's | test accuracy − best's |\n|---|---:|---:|\n");
    int separated = 0, unseparated = 0;
    char names[2][2048] = {"", ""};
    for (int p = 0; p < suite->num_policies; p++) {
        if (p == best)
            continue;
        int n;
        summary_stat r = paired_stat(g, s, p, best, seeds, METRIC_REWARD, &n);
        summary_stat a = paired_stat(g, s, p, best, seeds, METRIC_TEST, &n);
        if (n == 0) {
            fprintf(f, "| %s | no seed where both ran | |\n", suite->policies[p].name);
            continue;
        }
        char only[64] = "";
        if (n < seeds)
            snprintf(only, sizeof only, " (the %d seeds where both ran)", n);
        fprintf(f, "| %s%s | %+.4f ± %.4f | %+.4f ± %.4f |\n", suite->policies[p].name, only, r.mean, r.half, a.mean,
                a.half);
        int apart = n > 1 && fabs(r.mean) > r.half;
        int *count = apart ? &separated : &unseparated;
        char *list = names[apart ? 0 : 1];
        size_t used = strlen(list);
        snprintf(list + used, sizeof names[0] - used, "%s%s", *count ? ", " : "", suite->policies[p].name);
        (*count)++;
    }
    if (seeds < 2)
        fprintf(f, "\nWith one seed there is no interval.\n\n");
    else
        fprintf(f, "\nPaired, the online reward interval excludes 0 for: %s; it contains 0 for: %s.\n\n",
                separated ? names[0] : "none", unseparated ? names[1] : "none");
}

/* A policy row of the scenario table; a policy whose cells all failed says so. */
static void report_policy_row(const grid *g, int s, int p, int seeds, int best, FILE *f)
{
    const fcb_suite *suite = g->suite;
    const fcb_suite_scenario *sc = &suite->scenarios[s];
    int n;
    summary_stat reward = policy_stat_n(g, s, p, seeds, METRIC_REWARD, &n);
    summary_stat accuracy = policy_stat(g, s, p, seeds, METRIC_TEST);
    if (n == 0) {
        fprintf(f, "| %s | failed (%d of %d seeds) | | | |\n", suite->policies[p].name, seeds, seeds);
        return;
    }
    double seconds = 0.0;
    for (int k = 0; k < seeds; k++)
        if (cell_ok(cell_at(g, s, p, k, seeds)))
            seconds += cell_at(g, s, p, k, seeds)->seconds / n;
    char gap[32] = "n/a", failed[64] = "";
    if (sc->ceiling > 0.0)
        snprintf(gap, sizeof gap, "%.1f", 100.0 * (sc->ceiling - accuracy.mean));
    if (n < seeds)
        snprintf(failed, sizeof failed, " (%d of %d seeds failed)", seeds - n, seeds);
    fprintf(f, "| %s%s%s%s | %.4f ± %.4f | %.4f ± %.4f | %s | %.2f |\n", p == best ? "**" : "",
            suite->policies[p].name, p == best ? "** (best)" : "", failed, reward.mean, reward.half, accuracy.mean,
            accuracy.half, gap, seconds);
}

static void report_scenario(const grid *g, int s, int seeds, FILE *f)
{
    const fcb_suite *suite = g->suite;
    const fcb_suite_scenario *sc = &suite->scenarios[s];
    int np = suite->num_policies;
    summary_stat reward[FCB_SUITE_MAX_POLICIES];
    int ran[FCB_SUITE_MAX_POLICIES];
    int best = -1;
    for (int p = 0; p < np; p++) {
        reward[p] = policy_stat_n(g, s, p, seeds, METRIC_REWARD, &ran[p]);
        if (ran[p] && (best < 0 || reward[p].mean > reward[best].mean))
            best = p;
    }
    fprintf(f, "## %s\n\n`%s`%s%s\n\n", sc->name, sc->config, sc->sets[0] ? " with " : "", sc->sets);
    fprintf(f, "| policy | avg online reward | final test accuracy | gap to ceiling (points) | seconds |\n");
    fprintf(f, "|---|---:|---:|---:|---:|\n");
    for (int p = 0; p < np; p++)
        report_policy_row(g, s, p, seeds, best, f);
    if (best < 0) {
        fprintf(f, "\nEvery cell of this scenario failed; see Failed cells.\n\n");
        return;
    }
    int overlaps = 0;
    for (int p = 0; p < np; p++)
        if (p != best && ran[p] && reward[p].mean + reward[p].half >= reward[best].mean - reward[best].half) {
            fprintf(f, "%s%s", overlaps ? ", " : "\nNot separated from the best at 95 %: ", suite->policies[p].name);
            overlaps = 1;
        }
    fprintf(f, overlaps ? ".\n\n" : "\n%s wins by average online reward; its interval overlaps no other policy's.\n\n",
            suite->policies[best].name);
    if (np > 1)
        report_paired(g, s, seeds, best, f);
    report_selection(g, s, seeds, f);
}

/* Every failed cell with its error; failed cells are left out of every
 * mean, interval and selection above. */
static void report_failed(const grid *g, FILE *f)
{
    int failed = 0;
    for (int i = 0; i < g->num_cells; i++)
        failed += !cell_ok(&g->cells[i]);
    if (failed == 0)
        return;
    fprintf(f, "## Failed cells\n\n%d of %d cells failed and are left out of every mean, interval and selection "
               "above. A rerun of the same command retries them.\n\n| scenario | policy | seed | error |\n"
               "|---|---|---:|---|\n",
            failed, g->num_cells);
    for (int i = 0; i < g->num_cells; i++) {
        const cell *c = &g->cells[i];
        if (cell_ok(c))
            continue;
        fprintf(f, "| %s | %s | %d | ", g->suite->scenarios[c->scenario].name, g->suite->policies[c->policy].name,
                c->seed);
        for (const char *t = c->error; *t; t++)
            fputc(*t == '|' ? '/' : *t == '\n' ? ' ' : *t, f);
        fprintf(f, " |\n");
    }
    fputc('\n', f);
}

static fcb_status write_report(const grid *g, int seeds, int drawn)
{
    char path[FCB_CONFIG_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/report.md", g->options->out_dir);
    fcb_output_file out;
    fcb_status st = fcb_output_open(&out, path, "w");
    if (st != FCB_OK)
        return st;
    FILE *f = out.f;
    fprintf(f, "# fedcb bench: %s\n\n", g->suite->path);
    fprintf(f, "%d scenarios x %d policies x %d seeds. Each value is the mean over seeds ± the half-width of its "
               "95 %% t-interval. Per-cell results: results.csv.\n\n",
            g->suite->num_scenarios, g->suite->num_policies, seeds);
    for (int s = 0; s < g->suite->num_scenarios; s++) {
        report_scenario(g, s, seeds, f);
        const char *name = g->suite->scenarios[s].name;
        if (drawn)
            fprintf(f, "![%s: reward per round](plots/%s-reward.png)\n![%s: final accuracy](plots/%s-accuracy.png)\n\n",
                    name, name, name, name);
    }
    report_failed(g, f);
    if (!drawn)
        fprintf(f, "gnuplot is not installed: the plot data is in plots/*.dat, the plots were not drawn.\n");
    return fcb_output_commit(&out);
}

fcb_status fcb_bench_check(const fcb_suite *suite)
{
    for (int sc = 0; sc < suite->num_scenarios; sc++)
        for (int p = 0; p < suite->num_policies; p++) {
            fcb_config config;
            fcb_client_setup setup;
            fcb_model model = {0};
            fcb_status st = fcb_suite_cell_config(suite, sc, p, 1, &config);
            if (st == FCB_OK)
                st = fcb_plan_client_setup(&config, &model, &setup);
            if (st != FCB_OK)
                return fcb_fail_context(st, "%s: [scenario %s] with [policy %s]", suite->path,
                                        suite->scenarios[sc].name, suite->policies[p].name);
        }
    return FCB_OK;
}

fcb_status fcb_bench_run(const fcb_suite *suite, const fcb_bench_options *o, fcb_bench_result *result)
{
    memset(result, 0, sizeof *result);
    int seeds = o->seeds > 0 ? o->seeds : suite->seeds;
    if (seeds > 1000)
        return fcb_fail(FCB_ERR_ARG, "--seeds %d: at most 1000", seeds);
    fcb_status checked = fcb_bench_check(suite);
    if (checked != FCB_OK)
        return checked;
    grid g = {.suite = suite, .options = o, .started = fcb_wall_seconds()};
    g.num_cells = suite->num_scenarios * suite->num_policies * seeds;
    g.cells = calloc((size_t)g.num_cells, sizeof(cell));
    if (!g.cells)
        return fcb_fail(FCB_ERR_NOMEM, "bench: out of memory");
    for (int i = 0; i < g.num_cells; i++) {
        g.cells[i].scenario = i / (suite->num_policies * seeds);
        g.cells[i].policy = (i / seeds) % suite->num_policies;
        g.cells[i].seed = i % seeds + 1;
    }
    pthread_mutex_init(&g.lock, NULL);
    int jobs = o->jobs > 0 ? o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (jobs < 1)
        jobs = 1;
    if (jobs > 64)
        jobs = 64;
    pthread_t threads[64];
    int started = 0;
    for (int i = 0; i < jobs && pthread_create(&threads[i], NULL, worker, &g) == 0; i++)
        started++;
    if (started == 0)
        worker(&g);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    pthread_mutex_destroy(&g.lock);
    int failed = 0, first_failed = -1;
    for (int i = 0; i < g.num_cells; i++) {
        result->skipped += g.cells[i].skipped;
        if (!cell_ok(&g.cells[i])) {
            failed++;
            if (first_failed < 0)
                first_failed = i;
        }
    }
    result->failed = failed;
    fcb_status st = FCB_OK;
    result->cells = g.num_cells;
    if (st == FCB_OK)
        st = write_csv(&g);
    int drawn = 0;
    double *accuracy = malloc((size_t)g.num_cells * sizeof(double));
    if (st == FCB_OK && !accuracy)
        st = fcb_fail(FCB_ERR_NOMEM, "bench: out of memory");
    for (int i = 0; st == FCB_OK && i < g.num_cells; i++)
        accuracy[i] = cell_ok(&g.cells[i]) ? g.cells[i].accuracy : NAN; /* same scenario, policy, seed order */
    if (st == FCB_OK)
        st = fcb_bench_plot(suite, o->out_dir, seeds, accuracy, &drawn);
    free(accuracy);
    if (st == FCB_OK)
        st = write_report(&g, seeds, drawn);
    if (st == FCB_OK && failed) {
        const cell *c = &g.cells[first_failed];
        st = fcb_fail(c->status, "%d of %d cells failed (the first: %s / %s / seed %d: %s); results.csv and report.md "
                      "hold the others and list the failures",
                      failed, g.num_cells, suite->scenarios[c->scenario].name, suite->policies[c->policy].name, c->seed,
                      c->error);
    }
    free(g.cells);
    return st;
}
