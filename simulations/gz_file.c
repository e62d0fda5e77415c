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
