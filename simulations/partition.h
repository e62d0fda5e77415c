#ifndef FEDCB_PARTITION_H
#define FEDCB_PARTITION_H

#include <stdint.h>

#include "status.h"

/* Assignment of dataset rows to clients: client c owns
 * indices[offsets[c] .. offsets[c+1]). Every row goes to at most one client. */
typedef struct {
    int num_clients;
    int *offsets; /* num_clients + 1 */
    int *indices;
} fcb_partition;

typedef struct {
    double dirichlet_alpha; /* <= 0: IID label mix; > 0: Dirichlet(alpha) label skew */
    double size_sigma;      /* 0: equal sizes; > 0: log-normal(0, sigma) client sizes */
} fcb_partition_config;

void fcb_partition_free(fcb_partition *part);

/* Splits the rows listed in rows[0..n) (labels from labels[row], k classes)
 * among num_clients clients. Deterministic in seed. Every client gets >= 1
 * row when n >= num_clients; fails otherwise. */
fcb_status fcb_partition_make(const fcb_partition_config *config, const int *rows, int n,
                              const int *labels, int k, int num_clients, uint64_t seed,
                              fcb_partition *part);

/* Per-client label histograms (num_clients x k), for tests and reports. */
fcb_status fcb_partition_label_counts(const fcb_partition *part, const int *labels, int k,
                                      int *counts);

#endif
