#ifndef FEDCB_DATASET_CACHE_H
#define FEDCB_DATASET_CACHE_H

#include "dataset.h"

/* A LibSVM or VW multiclass file through a binary cache of its parsed rows,
 * like Vowpal Wabbit's --cache_file. With cache_dir empty the file is parsed
 * as fcb_dataset_load_libsvm / _vw do. Otherwise the first read parses the
 * text and writes CACHE_DIR/<name>.fcbcache (the file's name and a digest of
 * its absolute path, format, dim and classes); later reads load the rows
 * from there when the cache still describes the source: same size, same
 * modification time to the nanosecond, and the same SHA-256 over the
 * source's first and last MiB and 64 blocks of 4 KiB spread evenly between.
 * A cache that does not match, is truncated, or holds a label or value that
 * cannot be is parsed again from the text and rewritten; the cache never
 * changes the rows a run sees. *from_cache (may be NULL) tells which
 * happened. format: "libsvm" or "vw". */
fcb_status fcb_dataset_load_text(const char *format, const char *path, int dim, int num_classes,
                                 const char *cache_dir, fcb_dataset *ds, int *from_cache);

#endif
