#include "ini_lines.h"

#include <errno.h>
#include <string.h>

fcb_status fcb_ini_check_lines(FILE *f, const char *path)
{
    int line = 1;
    long length = 0;
    int c;
    while ((c = getc(f)) != EOF) {
        if (c == '\n') {
            line++;
            length = 0;
            continue;
        }
        if (c == '\r')
            continue;
        if (++length > FCB_INI_MAX_LINE)
            return fcb_fail(FCB_ERR_CONFIG,
                            "%s:%d: line longer than %d characters, the INI reader's limit; split it (a suite's "
                            "`set` may be given on several lines)",
                            path, line, FCB_INI_MAX_LINE);
    }
    if (ferror(f))
        return fcb_fail(FCB_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    rewind(f);
    return FCB_OK;
}
