#ifndef FEDCB_CHECKPOINT_IO_H
#define FEDCB_CHECKPOINT_IO_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* The byte layout of a coordinator checkpoint: named, versioned sections,
 * each written and read by the module that owns the state, value by value
 * (little-endian integers and IEEE floats, never a raw struct), then a
 * SHA-256 of everything before it.
 *
 *   "FCBCKPT3"  u32 section count
 *   per section: name (16 bytes, NUL-padded), u32 version, u64 length, payload
 *   32-byte SHA-256
 *
 * Writers never fail midway (memory is checked once at fcb_ckpt_writer_finish);
 * readers name the file and the section in every error. */

enum { FCB_CKPT_NAME = 16 };

typedef struct {
    unsigned char *data;
    size_t len, cap;
    int failed;              /* out of memory at some append */
    size_t section_start;    /* offset of the open section's length field */
    uint32_t sections;
} fcb_ckpt_writer;

void fcb_ckpt_writer_init(fcb_ckpt_writer *w);
void fcb_ckpt_writer_free(fcb_ckpt_writer *w);
void fcb_ckpt_begin(fcb_ckpt_writer *w, const char *name, uint32_t version);
void fcb_ckpt_put_u32(fcb_ckpt_writer *w, uint32_t v);
void fcb_ckpt_put_i64(fcb_ckpt_writer *w, int64_t v);
void fcb_ckpt_put_f64(fcb_ckpt_writer *w, double v);
void fcb_ckpt_put_f32s(fcb_ckpt_writer *w, const float *v, size_t n);
void fcb_ckpt_put_f64s(fcb_ckpt_writer *w, const double *v, size_t n);
void fcb_ckpt_put_text(fcb_ckpt_writer *w, const char *text);
fcb_status fcb_ckpt_end(fcb_ckpt_writer *w);
/* Appends the header's count and the digest; the bytes are then w->data. */
fcb_status fcb_ckpt_writer_finish(fcb_ckpt_writer *w);

/* A checkpoint file read into memory and checked (magic, digest, section
 * table); sections are then opened by name in any order. */
typedef struct {
    const char *path;
    unsigned char *data;
    size_t len;
    uint32_t sections;
    /* the open section */
    char section[FCB_CKPT_NAME + 1];
    const unsigned char *at;
    const unsigned char *end;
} fcb_ckpt_reader;

/* Reads and checks path; a bad file is FCB_ERR_FORMAT naming it. */
fcb_status fcb_ckpt_reader_open(fcb_ckpt_reader *r, const char *path);
void fcb_ckpt_reader_free(fcb_ckpt_reader *r);
/* Opens section name, which must have version `version`. */
fcb_status fcb_ckpt_open_section(fcb_ckpt_reader *r, const char *name, uint32_t version);
int fcb_ckpt_has_section(const fcb_ckpt_reader *r, const char *name);
fcb_status fcb_ckpt_get_u32(fcb_ckpt_reader *r, uint32_t *v);
fcb_status fcb_ckpt_get_i64(fcb_ckpt_reader *r, int64_t *v);
fcb_status fcb_ckpt_get_f64(fcb_ckpt_reader *r, double *v);
fcb_status fcb_ckpt_get_f32s(fcb_ckpt_reader *r, float *v, size_t n);
fcb_status fcb_ckpt_get_f64s(fcb_ckpt_reader *r, double *v, size_t n);
/* A text of at most size - 1 bytes into out. */
fcb_status fcb_ckpt_get_text(fcb_ckpt_reader *r, char *out, size_t size);
/* Fails when the section has bytes left: its layout is not this version's. */
fcb_status fcb_ckpt_close_section(fcb_ckpt_reader *r);
/* FCB_ERR_FORMAT "PATH: section NAME: what". */
fcb_status fcb_ckpt_fail(const fcb_ckpt_reader *r, const char *fmt, ...) FCB_PRINTF(2, 3);

#endif
