#include "data_file.h"

#include <string.h>

#include "text_reader.h"

/* The first example line decides: a first token with two ':' is a
 * contextual-bandit label, a '|' makes VW multiclass, else LibSVM. */
static fcb_status sniff(const char *path, fcb_data_format *out)
{
    fcb_line_reader r;
    fcb_status st = fcb_line_reader_open(&r, path);
    int more = 1;
    while (st == FCB_OK && more) {
        st = fcb_line_reader_next(&r, &more);
        if (st != FCB_OK || !more || fcb_is_blank_or_comment(r.line))
            continue;
        char *cursor = r.line;
        const char *first = fcb_next_token(&cursor);
        const char *colon = first ? strchr(first, ':') : NULL;
        if (colon && strchr(colon + 1, ':'))
            *out = FCB_DATA_CB;
        else if (strchr(r.line, '|') || (first && first[0] == '|') || strchr(cursor, '|'))
            *out = FCB_DATA_VW;
        else
            *out = FCB_DATA_LIBSVM;
        fcb_line_reader_close(&r);
        return FCB_OK;
    }
    fcb_line_reader_close(&r);
    if (st != FCB_OK)
        return st;
    return fcb_fail(FCB_ERR_FORMAT, "%s: no example in the file", path);
}

fcb_status fcb_data_format_resolve(const char *name, const char *path, fcb_data_format *out)
{
    if (strcmp(name, "cb") == 0)
        *out = FCB_DATA_CB;
    else if (strcmp(name, "vw") == 0)
        *out = FCB_DATA_VW;
    else if (strcmp(name, "libsvm") == 0)
        *out = FCB_DATA_LIBSVM;
    else if (strcmp(name, "auto") == 0)
        return sniff(path, out);
    else
        return fcb_fail(FCB_ERR_CONFIG, "data format '%s' is unknown (expected auto, cb, vw or libsvm)", name);
    return FCB_OK;
}

fcb_status fcb_data_load_labelled(const char *path, fcb_data_format format, int dim, int num_actions,
                                  fcb_dataset *out)
{
    if (format == FCB_DATA_CB)
        return fcb_fail(FCB_ERR_FORMAT, "%s is a contextual-bandit log, not a labelled file", path);
    fcb_status st = format == FCB_DATA_VW ? fcb_dataset_load_vw(path, dim, num_actions, out)
                                          : fcb_dataset_load_libsvm(path, dim, num_actions, out);
    if (st == FCB_OK && dim > 0 && out->d != dim)
        st = fcb_fail(FCB_ERR_FORMAT, "%s has %d features, the model %d", path, out->d, dim);
    return st;
}
