#ifndef FEDCB_NAME_TABLE_H
#define FEDCB_NAME_TABLE_H

#include <stddef.h>

#include "status.h"

/* The names of an enumeration, as written in configs, metrics and on the
 * wire: one table per enum, looked up here so that every enum refuses an
 * unknown name the same way, listing the valid ones. */
typedef struct {
    const char *name;
    int value;
} fcb_name_entry;

/* *value = the entry called name. An unknown (or NULL) name gives
 * FCB_ERR_CONFIG "unknown WHAT 'NAME' (expected a, b or c)". */
fcb_status fcb_name_lookup(const fcb_name_entry *table, size_t count, const char *what, const char *name,
                           int *value);

/* 1 when some entry has value. */
int fcb_name_known(const fcb_name_entry *table, size_t count, int value);

/* The first name of value, or "unknown". */
const char *fcb_name_of(const fcb_name_entry *table, size_t count, int value);

#endif
