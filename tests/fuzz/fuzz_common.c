#include "fuzz_common.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static char temp_dir[64];

/* Removes the directory's files (the loaders' side files too, e.g. a
 * SQLite journal) and the directory. */
static void remove_temp_dir(void)
{
    DIR *d = opendir(temp_dir);
    if (d) {
        char path[512];
        for (struct dirent *e; (e = readdir(d)) != NULL;) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", temp_dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(temp_dir);
}

void fuzz_path(char *out, size_t size, const char *name)
{
    if (!temp_dir[0]) {
        snprintf(temp_dir, sizeof temp_dir, "/tmp/fedcb-fuzz-XXXXXX");
        if (!mkdtemp(temp_dir)) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(remove_temp_dir);
    }
    snprintf(out, size, "%s/%s", temp_dir, name);
}

void fuzz_write(const char *path, const uint8_t *data, size_t len, int gzip)
{
    if (gzip) {
        gzFile f = gzopen(path, "wb");
        int failed = !f || (len > 0 && gzwrite(f, data, (unsigned)len) != (int)len);
        if (f && gzclose(f) != Z_OK)
            failed = 1;
        if (failed) {
            fprintf(stderr, "fuzz: cannot write %s\n", path);
            abort();
        }
        return;
    }
    FILE *f = fopen(path, "wb");
    int failed = !f || (len > 0 && fwrite(data, 1, len, f) != len);
    if (f && fclose(f) != 0)
        failed = 1;
    if (failed) {
        fprintf(stderr, "fuzz: cannot write %s\n", path);
        abort();
    }
}

void fuzz_require(int condition)
{
    if (!condition)
        abort();
}

void fuzz_check_failure(fcb_status st)
{
    fuzz_require(st != FCB_OK);
    fuzz_require(fcb_last_error()[0] != '\0');
    fuzz_require(strchr(fcb_last_error(), '\n') == NULL);
}

fcb_agent *fuzz_open_agent(const fcb_agent_options *options)
{
    fcb_agent *agent = NULL;
    fcb_status st = fcb_agent_open(options, &agent);
    if (st == FCB_OK)
        return agent;
    fuzz_check_failure(st);
    fuzz_require(agent == NULL);
    return NULL;
}
