/* Client partitions: IID or Dirichlet(alpha) label skew, with equal or
 * log-normal client sizes.
 *
 * Both recipes first put the rows in some order (`ordered`) and give each
 * position an owner client (`owner`); the partition then lists each client's
 * rows in that order and shuffles them, so a client's first rows are a random
 * sample of its data. */
#include "partition.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

/* The `round` field of the PARTITION streams names the step; the `client`
 * field the class or client the step works on. */
enum {
    STEP_SIZE_WEIGHTS = 0,
    STEP_IID_SHUFFLE = 1,
    STEP_CLASS_SHUFFLE = 2,
    STEP_CLASS_PROPORTIONS = 3,
    STEP_CLIENT_SHUFFLE = 4
};

void fcb_partition_free(fcb_partition *part)
{
    if (!part)
        return;
    free(part->offsets);
    free(part->indices);
    memset(part, 0, sizeof *part);
}

/* Relative client sizes: 1 each, or exp(sigma * N(0, 1)). */
static void size_weights(double sigma, int num_clients, uint64_t seed, double *weights)
{
    fcb_rng rng;
    fcb_rng_init(&rng, seed, FCB_STREAM_PARTITION, 0, STEP_SIZE_WEIGHTS);
    for (int c = 0; c < num_clients; c++)
        weights[c] = sigma > 0.0 ? exp(sigma * fcb_rng_normal(&rng)) : 1.0;
}

/* Client sizes summing to n, each >= 1, proportional to weights by the
 * largest-remainder method (ties to the lower client id). */
static void sizes_from_weights(const double *weights, int num_clients, int n, int *sizes, double *remainders)
{
    double total = 0.0;
    for (int c = 0; c < num_clients; c++)
        total += weights[c];
    int spare = n - num_clients;
    int given = 0;
    for (int c = 0; c < num_clients; c++) {
        double share = spare * weights[c] / total;
        int whole = (int)floor(share);
        sizes[c] = 1 + whole;
        remainders[c] = share - whole;
        given += whole;
    }
    for (; given < spare; given++) {
        int best = 0;
        for (int c = 1; c < num_clients; c++)
            if (remainders[c] > remainders[best])
                best = c;
        sizes[best]++;
        remainders[best] = -1.0;
    }
}

/* IID: a shuffled order dealt out in consecutive blocks. */
static fcb_status assign_iid(const fcb_partition_config *config, const int *rows, int n, int num_clients,
                             uint64_t seed, int *ordered, int *owner)
{
    double *weights = malloc((size_t)num_clients * sizeof *weights);
    double *remainders = malloc((size_t)num_clients * sizeof *remainders);
    int *sizes = malloc((size_t)num_clients * sizeof *sizes);
    if (!weights || !remainders || !sizes) {
        free(weights);
        free(remainders);
        free(sizes);
        return fcb_fail(FCB_ERR_NOMEM, "partition: cannot allocate %d client sizes", num_clients);
    }
    size_weights(config->size_sigma, num_clients, seed, weights);
    sizes_from_weights(weights, num_clients, n, sizes, remainders);

    memcpy(ordered, rows, (size_t)n * sizeof *ordered);
    fcb_rng rng;
    fcb_rng_init(&rng, seed, FCB_STREAM_PARTITION, 0, STEP_IID_SHUFFLE);
    fcb_rng_shuffle_int(&rng, ordered, n);
    int position = 0;
    for (int c = 0; c < num_clients; c++)
        for (int i = 0; i < sizes[c]; i++)
            owner[position++] = c;
    free(weights);
    free(remainders);
    free(sizes);
    return FCB_OK;
}

/* Proportions q ~ Dir(alpha) over clients, times the size weights,
 * normalized. All-zero gamma draws (tiny alpha) fall back to one client. */
static void class_proportions(double alpha, const double *weights, int num_clients, fcb_rng *rng, double *q)
{
    double total = 0.0;
    for (int j = 0; j < num_clients; j++) {
        q[j] = fcb_rng_gamma(rng, alpha) * weights[j];
        total += q[j];
    }
    if (!(total > 0.0) || !isfinite(total)) {
        int chosen = (int)fcb_rng_below(rng, (uint32_t)num_clients);
        for (int j = 0; j < num_clients; j++)
            q[j] = j == chosen ? 1.0 : 0.0;
        return;
    }
    for (int j = 0; j < num_clients; j++)
        q[j] /= total;
}

/* Dirichlet label skew: rows grouped by class, each class's shuffled rows cut
 * at the cumulative proportions round(n_c * (q_0 + ... + q_j)). */
static fcb_status assign_dirichlet(const fcb_partition_config *config, const int *rows, int n, const int *labels,
                                   int k, int num_clients, uint64_t seed, int *ordered, int *owner)
{
    double *weights = malloc((size_t)num_clients * sizeof *weights);
    double *q = malloc((size_t)num_clients * sizeof *q);
    int *class_start = calloc((size_t)k + 1, sizeof *class_start);
    if (!weights || !q || !class_start) {
        free(weights);
        free(q);
        free(class_start);
        return fcb_fail(FCB_ERR_NOMEM, "partition: cannot allocate buffers for %d clients and %d classes",
                        num_clients, k);
    }
    size_weights(config->size_sigma, num_clients, seed, weights);

    /* Counting sort by class, keeping the given order within a class. */
    for (int i = 0; i < n; i++)
        class_start[labels[rows[i]] + 1]++;
    for (int c = 0; c < k; c++)
        class_start[c + 1] += class_start[c];
    for (int i = 0; i < n; i++)
        ordered[class_start[labels[rows[i]]]++] = rows[i];
    for (int c = k; c > 0; c--)
        class_start[c] = class_start[c - 1];
    class_start[0] = 0;

    for (int c = 0; c < k; c++) {
        int begin = class_start[c], count = class_start[c + 1] - class_start[c];
        if (count == 0)
            continue;
        fcb_rng rng;
        fcb_rng_init(&rng, seed, FCB_STREAM_PARTITION, (uint32_t)c, STEP_CLASS_SHUFFLE);
        fcb_rng_shuffle_int(&rng, ordered + begin, count);
        fcb_rng_init(&rng, seed, FCB_STREAM_PARTITION, (uint32_t)c, STEP_CLASS_PROPORTIONS);
        class_proportions(config->dirichlet_alpha, weights, num_clients, &rng, q);
        double cumulative = 0.0;
        int cut_begin = 0;
        for (int j = 0; j < num_clients; j++) {
            cumulative += q[j];
            int cut_end = j == num_clients - 1 ? count : (int)floor(cumulative * count + 0.5);
            if (cut_end > count)
                cut_end = count;
            for (int i = cut_begin; i < cut_end; i++)
                owner[begin + i] = j;
            if (cut_end > cut_begin)
                cut_begin = cut_end;
        }
    }
    free(weights);
    free(q);
    free(class_start);
    return FCB_OK;
}

/* Gives each empty client the last position of the currently largest client
 * (lowest id on ties), so every client has >= 1 row when n >= num_clients. */
static void fill_empty_clients(int n, int num_clients, int *owner, int *sizes)
{
    for (int e = 0; e < num_clients; e++) {
        if (sizes[e] > 0)
            continue;
        int largest = 0;
        for (int c = 1; c < num_clients; c++)
            if (sizes[c] > sizes[largest])
                largest = c;
        for (int i = n - 1; i >= 0; i--) {
            if (owner[i] == largest) {
                owner[i] = e;
                break;
            }
        }
        sizes[largest]--;
        sizes[e]++;
    }
}

static fcb_status build_partition(const int *ordered, const int *owner, int n, int num_clients, uint64_t seed,
                                  int *sizes, fcb_partition *part)
{
    part->offsets = malloc(((size_t)num_clients + 1) * sizeof *part->offsets);
    part->indices = malloc((size_t)n * sizeof *part->indices);
    if (!part->offsets || !part->indices) {
        fcb_partition_free(part);
        return fcb_fail(FCB_ERR_NOMEM, "partition: cannot allocate %d indices", n);
    }
    part->num_clients = num_clients;
    part->offsets[0] = 0;
    for (int c = 0; c < num_clients; c++)
        part->offsets[c + 1] = part->offsets[c] + sizes[c];
    /* sizes becomes the fill cursor of each client. */
    for (int c = 0; c < num_clients; c++)
        sizes[c] = part->offsets[c];
    for (int i = 0; i < n; i++)
        part->indices[sizes[owner[i]]++] = ordered[i];
    for (int c = 0; c < num_clients; c++) {
        fcb_rng rng;
        fcb_rng_init(&rng, seed, FCB_STREAM_PARTITION, (uint32_t)c, STEP_CLIENT_SHUFFLE);
        fcb_rng_shuffle_int(&rng, part->indices + part->offsets[c], part->offsets[c + 1] - part->offsets[c]);
    }
    return FCB_OK;
}

static fcb_status check_arguments(const fcb_partition_config *config, const int *rows, int n, const int *labels,
                                  int k, int num_clients, const fcb_partition *part)
{
    if (!config || !rows || !labels || !part)
        return fcb_fail(FCB_ERR_ARG, "partition: NULL argument");
    if (num_clients < 1)
        return fcb_fail(FCB_ERR_ARG, "partition: num_clients = %d must be >= 1", num_clients);
    if (n < num_clients)
        return fcb_fail(FCB_ERR_ARG, "partition: %d rows cannot give each of %d clients at least one row", n,
                        num_clients);
    if (k < 1)
        return fcb_fail(FCB_ERR_ARG, "partition: k = %d must be >= 1", k);
    if (!isfinite(config->dirichlet_alpha))
        return fcb_fail(FCB_ERR_ARG, "partition: dirichlet_alpha = %g must be finite", config->dirichlet_alpha);
    if (!isfinite(config->size_sigma) || config->size_sigma < 0.0 || config->size_sigma > 10.0)
        return fcb_fail(FCB_ERR_ARG, "partition: size_sigma = %g must be in [0, 10]", config->size_sigma);
    for (int i = 0; i < n; i++) {
        if (rows[i] < 0)
            return fcb_fail(FCB_ERR_ARG, "partition: rows[%d] = %d is negative", i, rows[i]);
        int label = labels[rows[i]];
        if (label < 0 || label >= k)
            return fcb_fail(FCB_ERR_ARG, "partition: row %d has label %d outside [0, %d)", rows[i], label, k);
    }
    return FCB_OK;
}

fcb_status fcb_partition_make(const fcb_partition_config *config, const int *rows, int n, const int *labels, int k,
                              int num_clients, uint64_t seed, fcb_partition *part)
{
    if (part)
        memset(part, 0, sizeof *part);
    fcb_status st = check_arguments(config, rows, n, labels, k, num_clients, part);
    if (st != FCB_OK)
        return st;
    int *ordered = malloc((size_t)n * sizeof *ordered);
    int *owner = malloc((size_t)n * sizeof *owner);
    int *sizes = calloc((size_t)num_clients, sizeof *sizes);
    if (!ordered || !owner || !sizes) {
        st = fcb_fail(FCB_ERR_NOMEM, "partition: cannot allocate buffers for %d rows", n);
    } else if (config->dirichlet_alpha > 0.0) {
        st = assign_dirichlet(config, rows, n, labels, k, num_clients, seed, ordered, owner);
    } else {
        st = assign_iid(config, rows, n, num_clients, seed, ordered, owner);
    }
    if (st == FCB_OK) {
        for (int i = 0; i < n; i++)
            sizes[owner[i]]++;
        fill_empty_clients(n, num_clients, owner, sizes);
        st = build_partition(ordered, owner, n, num_clients, seed, sizes, part);
    }
    free(ordered);
    free(owner);
    free(sizes);
    return st;
}

fcb_status fcb_partition_label_counts(const fcb_partition *part, const int *labels, int k, int *counts)
{
    if (!part || !labels || !counts || !part->offsets || (!part->indices && part->num_clients > 0))
        return fcb_fail(FCB_ERR_ARG, "partition label counts: NULL argument");
    if (k < 1)
        return fcb_fail(FCB_ERR_ARG, "partition label counts: k = %d must be >= 1", k);
    memset(counts, 0, (size_t)part->num_clients * (size_t)k * sizeof *counts);
    for (int c = 0; c < part->num_clients; c++) {
        for (int i = part->offsets[c]; i < part->offsets[c + 1]; i++) {
            int row = part->indices[i];
            int label = labels[row];
            if (label < 0 || label >= k)
                return fcb_fail(FCB_ERR_ARG, "partition label counts: row %d has label %d outside [0, %d)", row,
                                label, k);
            counts[(size_t)c * k + label]++;
        }
    }
    return FCB_OK;
}
