#include "checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char MAGIC[8] = {'F', 'C', 'B', 'C', 'K', 'P', 'T', '2'};
enum { HASH_HEX = 64, DIGEST = 32, KEEP = 2 };

typedef struct {
    char magic[8];
    char config_hash[HASH_HEX];
    int64_t rounds_done;
    int64_t current_version;
    int64_t deployed_version;
    uint64_t num_params;
    uint64_t stats_size;
    uint64_t optimizer_size;
    uint64_t tally_size;
} header;

/* A growable byte buffer the checkpoint is assembled in. */
typedef struct {
    unsigned char *data;
    size_t len, cap;
} bytes;

static int append(bytes *b, const void *src, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *grown = realloc(b->data, cap);
        if (!grown)
            return 0;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, src, n);
    b->len += n;
    return 1;
}

static void sha256(const void *data, size_t n, unsigned char out[DIGEST])
{
    unsigned int len = 0;
    EVP_Digest(data, n, out, &len, EVP_sha256(), NULL);
}

static size_t optimizer_size(const fcb_federation *f)
{
    return f->linear ? 0 : fcb_server_optimizer_state_size(&f->server);
}

/* The preference stage's frozen reference (valid once the stage began). */
static size_t reference_size(const fcb_federation *f)
{
    return f->preference.rounds > 0 ? f->num_params : 0;
}

/* DP-FedAvg's running state: the clip norm (adaptive clipping moves it)
 * and the accountant's totals. */
typedef struct {
    double clip_norm;
    int64_t steps;
    double rdp[FCB_DP_NUM_ORDERS];
} dp_state;

static fcb_status serialize(const fcb_federation *f, const fcb_run_tally *tally, const char *config_hash,
                            bytes *b)
{
    header h = {0};
    memcpy(h.magic, MAGIC, sizeof MAGIC);
    memcpy(h.config_hash, config_hash, HASH_HEX);
    h.rounds_done = tally->rounds_done;
    h.current_version = f->current_version;
    h.deployed_version = f->deployed_version;
    h.num_params = f->num_params;
    h.stats_size = f->linear ? f->stats_size : 0;
    h.optimizer_size = optimizer_size(f);
    h.tally_size = sizeof *tally;
    int ok = append(b, &h, sizeof h) && append(b, tally, sizeof *tally) &&
             append(b, f->current, f->num_params * sizeof(float)) &&
             append(b, f->deployed, f->num_params * sizeof(float)) &&
             (!reference_size(f) || append(b, f->preference.reference, reference_size(f) * sizeof(float)));
    dp_state dp = {f->dp_clip_norm, f->accountant.steps, {0}};
    memcpy(dp.rdp, f->accountant.rdp, sizeof dp.rdp);
    ok = ok && append(b, &dp, sizeof dp);
    if (ok && h.optimizer_size) {
        float *state = malloc(h.optimizer_size * sizeof(float));
        ok = state && fcb_server_optimizer_save(&f->server, state, h.optimizer_size) == FCB_OK &&
             append(b, state, h.optimizer_size * sizeof(float));
        free(state);
    }
    if (ok && f->linear) {
        double *flat = malloc(f->stats_size * sizeof(double));
        if (flat)
            fcb_linstats_to_flat(&f->global_stats, flat);
        ok = flat && append(b, flat, f->stats_size * sizeof(double)) &&
             append(b, f->deployed_stats, f->stats_size * sizeof(double));
        free(flat);
    }
    unsigned char digest[DIGEST];
    if (ok) {
        sha256(b->data, b->len, digest);
        ok = append(b, digest, DIGEST);
    }
    return ok ? FCB_OK : fcb_fail(FCB_ERR_NOMEM, "checkpoint: out of memory");
}

static fcb_status write_durably(const char *dir, const char *name, const bytes *b)
{
    char tmp[4096], path[4096];
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return fcb_fail(FCB_ERR_IO, "checkpoint: cannot create %s: %s", tmp, strerror(errno));
    size_t done = 0;
    while (done < b->len) {
        ssize_t n = write(fd, b->data + done, b->len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return fcb_fail(FCB_ERR_IO, "checkpoint: cannot write %s: %s", tmp, strerror(errno));
        }
        done += (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0)
        return fcb_fail(FCB_ERR_IO, "checkpoint: cannot sync %s: %s", tmp, strerror(errno));
    if (rename(tmp, path) != 0)
        return fcb_fail(FCB_ERR_IO, "checkpoint: cannot rename %s to %s: %s", tmp, path, strerror(errno));
    int dfd = open(dir, O_RDONLY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return FCB_OK;
}

static int newest_first(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x < y) - (x > y);
}

/* Round numbers of the checkpoint files in dir (at most max), newest first. */
static int list_checkpoints(const char *dir, int *rounds, int max)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        int round, end = 0;
        if (sscanf(e->d_name, "round-%d.ckpt%n", &round, &end) == 1 && end > 0 && e->d_name[end] == '\0')
            rounds[n++] = round;
    }
    closedir(d);
    qsort(rounds, (size_t)n, sizeof(int), newest_first);
    return n;
}

fcb_status fcb_checkpoint_save(const char *dir, const char *config_hash, const fcb_federation *f,
                               const fcb_run_tally *tally)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return fcb_fail(FCB_ERR_IO, "checkpoint: cannot create %s: %s", dir, strerror(errno));
    bytes b = {0};
    fcb_status st = serialize(f, tally, config_hash, &b);
    char name[64];
    snprintf(name, sizeof name, "round-%06d.ckpt", tally->rounds_done);
    if (st == FCB_OK)
        st = write_durably(dir, name, &b);
    free(b.data);
    if (st != FCB_OK)
        return st;
    int rounds[64];
    int n = list_checkpoints(dir, rounds, 64);
    for (int i = KEEP; i < n; i++) {
        char old[4096];
        snprintf(old, sizeof old, "%s/round-%06d.ckpt", dir, rounds[i]);
        unlink(old);
    }
    return FCB_OK;
}

static fcb_status read_file(const char *path, bytes *b)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return fcb_fail(FCB_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    unsigned char chunk[65536];
    size_t n;
    int ok = 1;
    while (ok && (n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        ok = append(b, chunk, n);
    fclose(fp);
    return ok ? FCB_OK : fcb_fail(FCB_ERR_NOMEM, "checkpoint: out of memory reading %s", path);
}

/* Checks b against f's shapes and the config hash, then restores it. */
static fcb_status restore(const bytes *b, const char *path, const char *config_hash, fcb_federation *f,
                          fcb_run_tally *tally)
{
    unsigned char digest[DIGEST];
    if (b->len < sizeof(header) + DIGEST)
        return fcb_fail(FCB_ERR_FORMAT, "%s: truncated (%zu bytes)", path, b->len);
    sha256(b->data, b->len - DIGEST, digest);
    if (memcmp(digest, b->data + b->len - DIGEST, DIGEST) != 0)
        return fcb_fail(FCB_ERR_FORMAT, "%s: checksum mismatch", path);
    header h;
    memcpy(&h, b->data, sizeof h);
    if (memcmp(h.magic, MAGIC, sizeof MAGIC) != 0)
        return fcb_fail(FCB_ERR_FORMAT, "%s: not a fedcb checkpoint", path);
    if (memcmp(h.config_hash, config_hash, HASH_HEX) != 0)
        return fcb_fail(FCB_ERR_CONFIG, "%s: made with a different config", path);
    size_t stats = f->linear ? f->stats_size : 0;
    size_t expected = sizeof h + sizeof *tally + (2 * f->num_params + reference_size(f)) * sizeof(float) +
                      sizeof(dp_state) +
                      optimizer_size(f) * sizeof(float) + 2 * stats * sizeof(double) + DIGEST;
    if (h.num_params != f->num_params || h.stats_size != stats || h.optimizer_size != optimizer_size(f) ||
        h.tally_size != sizeof *tally || b->len != expected)
        return fcb_fail(FCB_ERR_FORMAT, "%s: shapes do not match this model", path);
    const unsigned char *p = b->data + sizeof h;
    memcpy(tally, p, sizeof *tally);
    p += sizeof *tally;
    memcpy(f->current, p, f->num_params * sizeof(float));
    p += f->num_params * sizeof(float);
    memcpy(f->deployed, p, f->num_params * sizeof(float));
    p += f->num_params * sizeof(float);
    if (reference_size(f))
        memcpy(f->preference.reference, p, reference_size(f) * sizeof(float));
    p += reference_size(f) * sizeof(float);
    dp_state dp;
    memcpy(&dp, p, sizeof dp);
    p += sizeof dp;
    f->dp_clip_norm = dp.clip_norm;
    f->accountant.steps = (long)dp.steps;
    memcpy(f->accountant.rdp, dp.rdp, sizeof dp.rdp);
    fcb_status st = FCB_OK;
    if (h.optimizer_size) {
        float *state = malloc(h.optimizer_size * sizeof(float));
        if (!state)
            return fcb_fail(FCB_ERR_NOMEM, "checkpoint: out of memory");
        memcpy(state, p, h.optimizer_size * sizeof(float));
        st = fcb_server_optimizer_load(&f->server, state, h.optimizer_size);
        free(state);
        p += h.optimizer_size * sizeof(float);
    }
    if (st == FCB_OK && f->linear) {
        double *flat = malloc(stats * sizeof(double));
        if (!flat)
            return fcb_fail(FCB_ERR_NOMEM, "checkpoint: out of memory");
        memcpy(flat, p, stats * sizeof(double));
        st = fcb_linstats_from_flat(&f->global_stats, flat, stats);
        free(flat);
        p += stats * sizeof(double);
        memcpy(f->deployed_stats, p, stats * sizeof(double));
        if (st == FCB_OK) {
            /* The deployed posterior is solved from the deployed statistics. */
            fcb_linstats deployed;
            st = fcb_linstats_init(&deployed, f->global_stats.num_actions, f->phi_dim, f->global_stats.diagonal);
            if (st == FCB_OK)
                st = fcb_linstats_from_flat(&deployed, f->deployed_stats, stats);
            if (st == FCB_OK)
                st = fcb_linposterior_solve(&f->deployed_posterior, &deployed, f->setup.policy.ridge_lambda,
                                            f->theta0);
            fcb_linstats_free(&deployed);
        }
    }
    f->current_version = h.current_version;
    f->deployed_version = h.deployed_version;
    f->round = tally->rounds_done;
    return st;
}

fcb_status fcb_checkpoint_load_newest(const char *dir, const char *config_hash, fcb_federation *f,
                                      fcb_run_tally *tally, int *found)
{
    *found = 0;
    int rounds[64];
    int n = list_checkpoints(dir, rounds, 64);
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/round-%06d.ckpt", dir, rounds[i]);
        bytes b = {0};
        fcb_status st = read_file(path, &b);
        if (st == FCB_OK)
            st = restore(&b, path, config_hash, f, tally);
        free(b.data);
        if (st == FCB_OK) {
            *found = 1;
            return FCB_OK;
        }
        if (st == FCB_ERR_CONFIG)
            return st;
        fprintf(stderr, "fedcb: skipping checkpoint: %s\n", fcb_last_error());
    }
    return FCB_OK;
}
