#ifndef FEDCB_BENCH_PLOT_H
#define FEDCB_BENCH_PLOT_H

#include "bench_suite.h"

/* The plots of a bench run, drawn with gnuplot: per scenario, the online
 * reward per round of every policy (mean over seeds with its 95 % band) and
 * the final test accuracy per policy (mean with a 95 % error bar), into
 * OUT/plots/SCENARIO-reward.png and SCENARIO-accuracy.png. The data files
 * (.dat) stay beside them. accuracy holds every cell's final test accuracy,
 * indexed ((scenario * policies) + policy) * seeds + seed - 1; NaN marks a
 * failed cell, which is left out. *drawn is 0
 * when gnuplot is not installed (the data files are still written). */
fcb_status fcb_bench_plot(const fcb_suite *suite, const char *out_dir, int seeds, const double *accuracy,
                          int *drawn);

/* 97.5 % quantile of Student's t with df degrees of freedom (1.96 past 30). */
double fcb_t_quantile_975(int df);

/* Mean of n values and the half-width of its 95 % t-interval (0 when n = 1). */
void fcb_mean_interval(const double *v, int n, double *mean, double *half);

#endif
