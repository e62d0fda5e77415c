#include "checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

enum { KEEP = 2, RUN_SECTION_VERSION = 1 };

static fcb_status write_durably(const char *dir, const char *name, const unsigned char *data, size_t len)
{
    char tmp[4096], path[4096];
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return fcb_fail(FCB_ERR_IO, "checkpoint: cannot create %s: %s", tmp, strerror(errno));
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fcb_status st = fcb_fail(FCB_ERR_IO, "checkpoint: cannot write %s: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            return st;
        }
        done += (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        unlink(tmp);
        return fcb_fail(FCB_ERR_IO, "checkpoint: cannot sync %s: %s", tmp, strerror(errno));
    }
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
    fcb_ckpt_writer w;
    fcb_ckpt_writer_init(&w);
    fcb_ckpt_begin(&w, "run", RUN_SECTION_VERSION);
    fcb_ckpt_put_text(&w, config_hash);
    fcb_status st = fcb_ckpt_end(&w);
    if (st == FCB_OK)
        st = fcb_federation_save(f, &w);
    if (st == FCB_OK)
        st = fcb_run_tally_save(tally, &w);
    if (st == FCB_OK)
        st = fcb_ckpt_writer_finish(&w);
    char name[64];
    snprintf(name, sizeof name, "round-%06d.ckpt", tally->rounds_done);
    if (st == FCB_OK)
        st = write_durably(dir, name, w.data, w.len);
    fcb_ckpt_writer_free(&w);
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

static fcb_status check_run(fcb_ckpt_reader *r, const char *config_hash)
{
    char hash[128];
    fcb_status st = fcb_ckpt_open_section(r, "run", RUN_SECTION_VERSION);
    if (st == FCB_OK)
        st = fcb_ckpt_get_text(r, hash, sizeof hash);
    /* A hash fcb_config_hash wrote; other bytes are damage (and would end
     * up in the message below, a newline too). */
    if (st == FCB_OK && (strlen(hash) != 64 || strspn(hash, "0123456789abcdef") != 64))
        st = fcb_ckpt_fail(r, "the config hash is not 64 hex digits");
    if (st == FCB_OK)
        st = fcb_ckpt_close_section(r);
    if (st == FCB_OK && strcmp(hash, config_hash) != 0)
        return fcb_fail(FCB_ERR_CONFIG, "%s: made with a different config (hash %.12s, this run's %.12s); "
                                        "use another --state-dir or the run's own config",
                        r->path, hash, config_hash);
    return st;
}

/* Decodes path into a fresh federation and tally; on success they are the
 * caller's. */
static fcb_status load_staged(const char *path, const char *config_hash, const fcb_federation *live,
                              fcb_federation *staged, fcb_run_tally *staged_tally)
{
    fcb_ckpt_reader r;
    memset(&r, 0, sizeof r);
    fcb_run_tally_init(staged_tally);
    fcb_status st = fcb_federation_init(staged, &live->config, live->evaluator);
    if (st == FCB_OK)
        st = fcb_ckpt_reader_open(&r, path);
    if (st == FCB_OK)
        st = check_run(&r, config_hash);
    if (st == FCB_OK)
        st = fcb_federation_load(staged, &r);
    if (st == FCB_OK)
        st = fcb_run_tally_load(staged_tally, &r);
    fcb_ckpt_reader_free(&r);
    if (st == FCB_OK) {
        staged->round = staged_tally->rounds_done;
        return FCB_OK;
    }
    fcb_federation_free(staged);
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
        fcb_federation staged;
        fcb_run_tally staged_tally;
        fcb_status st = load_staged(path, config_hash, f, &staged, &staged_tally);
        if (st == FCB_OK) {
            fcb_federation_free(f);
            *f = staged;
            *tally = staged_tally;
            *found = 1;
            return FCB_OK;
        }
        if (st == FCB_ERR_CONFIG)
            return st;
        fcb_log("coordinator", "skipping checkpoint: %s", fcb_last_error());
    }
    return FCB_OK;
}
