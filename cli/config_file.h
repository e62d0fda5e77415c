#ifndef FEDCB_CONFIG_FILE_H
#define FEDCB_CONFIG_FILE_H

#include "config.h"

/* Reading a run's config: the defaults, an INI file (libinih), `--set
 * section.key=value` overrides, validation, and the key table's dump and
 * hash. */

void fcb_config_default(fcb_config *config);

/* Reads an INI file over the current values. Errors name the file, the line
 * and the key: "smoke.ini:12: unknown key 'tempreature' in [policy]". */
fcb_status fcb_config_load(fcb_config *config, const char *path);

/* Applies "section.key=value". */
fcb_status fcb_config_set(fcb_config *config, const char *assignment);

/* Checks ranges and cross-field rules; the message names the key. */
fcb_status fcb_config_validate(const fcb_config *config);

/* Writes every key as `section.key = value` lines into a callback, in table
 * order; used for the summary dump and the config hash. */
typedef void (*fcb_config_visit_fn)(void *user, const char *section, const char *key,
                                    const char *value);
void fcb_config_visit(const fcb_config *config, fcb_config_visit_fn visit, void *user);

/* Hex SHA-256 over every key that changes what a client computes (all but
 * run.rounds, run.eval_every, run.threads, run.wall_clock and [network]):
 * the processes of one networked run must agree on it. */
void fcb_config_hash(const fcb_config *config, char hex[65]);

#endif
