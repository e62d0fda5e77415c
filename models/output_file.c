#include "output_file.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

fcb_status fcb_output_write_error(const char *path)
{
    return fcb_fail(FCB_ERR_IO, "cannot write %s: %s", path, errno ? strerror(errno) : "write failed");
}

fcb_status fcb_output_open(fcb_output_file *o, const char *path, const char *mode)
{
    memset(o, 0, sizeof *o);
    if (strlen(path) >= sizeof o->path)
        return fcb_fail(FCB_ERR_ARG, "output path too long: %.100s...", path);
    snprintf(o->path, sizeof o->path, "%s", path);
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp", path);
    o->f = fopen(o->tmp, mode);
    if (!o->f)
        return fcb_fail(FCB_ERR_IO, "cannot create %s: %s", o->tmp, strerror(errno));
    /* A write that fails leaves its reason in errno for fcb_output_commit. */
    errno = 0;
    return FCB_OK;
}

fcb_status fcb_output_commit(fcb_output_file *o)
{
    int failed = fflush(o->f) != 0 || ferror(o->f);
    int reason = errno;
    if (fclose(o->f) != 0 && !failed) {
        failed = 1;
        reason = errno;
    }
    o->f = NULL;
    if (failed) {
        unlink(o->tmp);
        errno = reason;
        return fcb_output_write_error(o->path);
    }
    if (rename(o->tmp, o->path) != 0) {
        fcb_status st = fcb_fail(FCB_ERR_IO, "cannot rename %s to %s: %s", o->tmp, o->path, strerror(errno));
        unlink(o->tmp);
        return st;
    }
    return FCB_OK;
}

void fcb_output_abandon(fcb_output_file *o)
{
    if (o->f)
        fclose(o->f);
    o->f = NULL;
    if (o->tmp[0])
        unlink(o->tmp);
}
