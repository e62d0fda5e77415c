#include "gz_file.h"

#include <errno.h>
#include <string.h>

enum { GZ_BUFFER_BYTES = 1 << 18 };

fcb_status fcb_gz_open(const char *path, gzFile *file)
{
    errno = 0;
    *file = gzopen(path, "rb");
    if (!*file)
        return fcb_fail(FCB_ERR_IO, "cannot open %s: %s", path,
                        errno ? strerror(errno) : "out of memory");
    gzbuffer(*file, GZ_BUFFER_BYTES);
    return FCB_OK;
}

fcb_status fcb_gz_create(const char *path, int compress, gzFile *file)
{
    errno = 0;
    /* "T" makes zlib write the bytes through unchanged. */
    *file = gzopen(path, compress ? "wb" : "wbT");
    if (!*file)
        return fcb_fail(FCB_ERR_IO, "cannot create %s: %s", path,
                        errno ? strerror(errno) : "out of memory");
    return FCB_OK;
}

fcb_status fcb_gz_finish(gzFile *file, const char *path)
{
    if (!*file)
        return FCB_OK;
    errno = 0;
    int rc = gzclose(*file);
    *file = NULL;
    if (rc == Z_ERRNO)
        return fcb_fail(FCB_ERR_IO, "cannot write %s: %s", path, errno ? strerror(errno) : "write failed");
    if (rc != Z_OK)
        return fcb_fail(FCB_ERR_IO, "cannot finish %s (zlib error %d)", path, rc);
    return FCB_OK;
}

fcb_status fcb_gz_write_error(gzFile file, const char *path)
{
    int code = Z_OK;
    const char *reason = gzerror(file, &code);
    if (code == Z_ERRNO)
        reason = errno ? strerror(errno) : "write failed";
    return fcb_fail(FCB_ERR_IO, "cannot write %s: %s", path, reason && reason[0] ? reason : "write failed");
}
