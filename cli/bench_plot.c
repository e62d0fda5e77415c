#include "bench_plot.h"
#include "output_file.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

double fcb_t_quantile_975(int df)
{
    static const double table[30] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                     2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                     2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
    return df >= 1 && df <= 30 ? table[df - 1] : 1.96;
}

/* Per-round "reward" of one cell's metrics.jsonl into rewards[0..rounds). */
static int read_rewards(const char *cell_dir, double *rewards, int max_rounds)
{
    char path[FCB_CONFIG_PATH_MAX + 300];
    snprintf(path, sizeof path, "%s/metrics.jsonl", cell_dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[4096];
    int n = 0;
    while (n < max_rounds && fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        if (!j)
            break;
        rewards[n++] = json_number_value(json_object_get(j, "reward"));
        json_decref(j);
    }
    fclose(f);
    return n;
}

void fcb_mean_interval(const double *v, int n, double *mean, double *half)
{
    double m = 0.0, ss = 0.0;
    for (int i = 0; i < n; i++)
        m += v[i];
    m /= n;
    for (int i = 0; i < n; i++)
        ss += (v[i] - m) * (v[i] - m);
    *mean = m;
    *half = n > 1 ? fcb_t_quantile_975(n - 1) * sqrt(ss / (n - 1) / n) : 0.0;
}

enum { MAX_ROUNDS = 10000, MAX_SEEDS = 1000 };

static fcb_status write_scenario_data(const fcb_suite *s, int sc, const char *out_dir, int seeds,
                                      const double *accuracy, FILE *reward_dat, FILE *accuracy_dat)
{
    double *rewards = malloc((size_t)seeds * MAX_ROUNDS * sizeof(double));
    double *column = malloc((size_t)seeds * sizeof(double));
    if (!rewards || !column) {
        free(rewards);
        free(column);
        return fcb_fail(FCB_ERR_NOMEM, "bench plot: out of memory");
    }
    for (int p = 0; p < s->num_policies; p++) {
        int rounds = MAX_ROUNDS, ran = 0;
        for (int k = 0; k < seeds; k++) {
            double a = accuracy[((size_t)sc * s->num_policies + p) * seeds + k];
            if (isnan(a))
                continue; /* a failed cell */
            char dir[FCB_CONFIG_PATH_MAX + 200];
            snprintf(dir, sizeof dir, "%s/cells/%s/%s/seed-%d", out_dir, s->scenarios[sc].name, s->policies[p].name,
                     k + 1);
            int n = read_rewards(dir, rewards + (size_t)ran * MAX_ROUNDS, MAX_ROUNDS);
            rounds = n < rounds ? n : rounds;
            column[ran++] = a;
        }
        if (ran == 0) { /* every cell failed: an empty block keeps the other policies' indices */
            fprintf(accuracy_dat, "%s NaN 0\n", s->policies[p].name);
            fprintf(reward_dat, "# %s: every cell failed\n\n\n", s->policies[p].name);
            continue;
        }
        double mean, half;
        fcb_mean_interval(column, ran, &mean, &half);
        fprintf(accuracy_dat, "%s %.6f %.6f\n", s->policies[p].name, mean, half);
        fprintf(reward_dat, "# %s\n", s->policies[p].name);
        for (int r = 0; r < rounds; r++) {
            for (int k = 0; k < ran; k++)
                column[k] = rewards[(size_t)k * MAX_ROUNDS + r];
            fcb_mean_interval(column, ran, &mean, &half);
            fprintf(reward_dat, "%d %.6f %.6f %.6f\n", r + 1, mean, mean - half, mean + half);
        }
        fprintf(reward_dat, "\n\n");
    }
    free(rewards);
    free(column);
    return FCB_OK;
}

static int draw(const fcb_suite *s, int sc, const char *plots)
{
    FILE *gp = popen("gnuplot 2>/dev/null", "w");
    if (!gp)
        return 0;
    const char *name = s->scenarios[sc].name;
    fprintf(gp, "set terminal pngcairo size 900,540\nset grid\nset key bottom right noenhanced\n");
    fprintf(gp, "set output '%s/%s-reward.png'\nset title 'fedcb bench: %s, online reward per round (mean, 95%% band)' noenhanced\n",
            plots, name, name);
    fprintf(gp, "set xlabel 'round'\nset ylabel 'mean observed reward'\nset style fill transparent solid 0.2 noborder\nplot ");
    for (int p = 0; p < s->num_policies; p++)
        fprintf(gp, "%s'%s/%s-reward.dat' index %d using 1:3:4 with filledcurves lc %d notitle, "
                    "'' index %d using 1:2 with lines lw 2 lc %d title '%s'",
                p ? ", " : "", plots, name, p, p + 1, p, p + 1, s->policies[p].name);
    fprintf(gp, "\nset output '%s/%s-accuracy.png'\nset title 'fedcb bench: %s, final test accuracy (mean, 95%% interval)' noenhanced\n",
            plots, name, name);
    fprintf(gp, "unset key\nset xrange [-0.6:%.1f]\n", s->num_policies - 0.4);
    fprintf(gp, "set xlabel 'policy'\nset ylabel 'test accuracy'\nset yrange [0:1]\nset boxwidth 0.6\n"
                "set style fill solid 0.5\nset xtics noenhanced\n"
                "plot '%s/%s-accuracy.dat' using 0:2:3:xtic(1) with boxerrorbars lc 3\n",
            plots, name);
    return pclose(gp) == 0;
}

fcb_status fcb_bench_plot(const fcb_suite *s, const char *out_dir, int seeds, const double *accuracy, int *drawn)
{
    *drawn = 1;
    if (seeds > MAX_SEEDS)
        return fcb_fail(FCB_ERR_ARG, "bench plot: at most %d seeds", MAX_SEEDS);
    char plots[FCB_CONFIG_PATH_MAX + 16];
    snprintf(plots, sizeof plots, "%s/plots", out_dir);
    if (mkdir(plots, 0755) != 0 && errno != EEXIST)
        return fcb_fail(FCB_ERR_IO, "cannot create %s: %s", plots, strerror(errno));
    for (int sc = 0; sc < s->num_scenarios; sc++) {
        char reward_path[FCB_CONFIG_PATH_MAX + 128], accuracy_path[FCB_CONFIG_PATH_MAX + 128];
        snprintf(reward_path, sizeof reward_path, "%s/%s-reward.dat", plots, s->scenarios[sc].name);
        snprintf(accuracy_path, sizeof accuracy_path, "%s/%s-accuracy.dat", plots, s->scenarios[sc].name);
        fcb_output_file rf, af;
        fcb_status st = fcb_output_open(&rf, reward_path, "w");
        if (st != FCB_OK)
            return st;
        st = fcb_output_open(&af, accuracy_path, "w");
        if (st == FCB_OK)
            st = write_scenario_data(s, sc, out_dir, seeds, accuracy, rf.f, af.f);
        if (st == FCB_OK)
            st = fcb_output_commit(&rf);
        if (st == FCB_OK)
            st = fcb_output_commit(&af);
        if (st != FCB_OK) {
            fcb_output_abandon(&rf);
            fcb_output_abandon(&af);
            return st;
        }
        if (*drawn)
            *drawn = draw(s, sc, plots);
    }
    return FCB_OK;
}
