/* `fedcb partition`: the simulated world's data as its bandit clients hold
 * it, one file per client, so that a deployment where every client owns
 * its data can be tried on the same partition `fedcb simulate` uses. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli_args.h"
#include "commands.h"
#include "config_file.h"
#include "output_file.h"
#include "run_output.h"
#include "world.h"

/* One example as VW multiclass text: the 1-based label, then the non-zero
 * features as 1-based columns, floats written to round-trip exactly. */
static int write_row(FILE *f, const float *x, int d, int label)
{
    if (fprintf(f, "%d |", label + 1) < 0)
        return 0;
    for (int j = 0; j < d; j++)
        if (x[j] != 0.0f && fprintf(f, " %d:%.9g", j + 1, (double)x[j]) < 0)
            return 0;
    return fputc('\n', f) != EOF;
}

static fcb_status write_rows(const char *path, const fcb_dataset *data, const int *rows, int n)
{
    fcb_output_file out;
    fcb_status st = fcb_output_open(&out, path, "w");
    if (st != FCB_OK)
        return st;
    int ok = 1;
    for (int i = 0; ok && i < n; i++) {
        int row = rows ? rows[i] : i;
        ok = write_row(out.f, data->x + (size_t)row * data->d, data->d, data->y[row]);
    }
    if (!ok) {
        st = fcb_output_write_error(path);
        fcb_output_abandon(&out);
        return st;
    }
    return fcb_output_commit(&out);
}

static fcb_status write_partition(const fcb_world *w, const char *dir)
{
    fcb_status st = fcb_make_dirs(dir);
    char path[4096];
    for (int c = 0; st == FCB_OK && c < w->clients.num_clients; c++) {
        snprintf(path, sizeof path, "%s/client-%d.vw", dir, c);
        int start = w->clients.offsets[c];
        st = write_rows(path, &w->train, w->clients.indices + start, w->clients.offsets[c + 1] - start);
    }
    snprintf(path, sizeof path, "%s/test.vw", dir);
    if (st == FCB_OK)
        st = write_rows(path, &w->test, NULL, w->test.n);
    return st;
}

int fcb_command_partition(int argc, char **argv)
{
    const char *command = "partition";
    const char *out;
    fcb_config config;
    int rc = fcb_parse_config_out(argc, argv, command, "DIR", &config, &out);
    if (rc != 0)
        return rc;
    fcb_world world;
    fcb_status st = fcb_world_build(&world, &config);
    if (st == FCB_OK) {
        st = write_partition(&world, out);
        if (st == FCB_OK)
            printf("clients=%d features=%d classes=%d test=%d dir=%s\n", world.clients.num_clients, world.train.d,
                   world.train.k, world.test.n, out);
        fcb_world_free(&world);
    }
    if (st != FCB_OK) {
        fprintf(stderr, "fedcb: partition: %s\n", fcb_last_error());
        return 1;
    }
    return 0;
}
