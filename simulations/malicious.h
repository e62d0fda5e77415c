#ifndef FEDCB_MALICIOUS_H
#define FEDCB_MALICIOUS_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* Malicious clients for robustness experiments. A fixed set of clients,
 * chosen once per run, replaces its honest update delta before sending it:
 *   sign_flip: delta <- -scale * delta
 *   scale:     delta <- scale * delta
 *   noise:     delta <- Gaussian noise of L2 norm scale * ||delta||, drawn
 *              from (seed, FCB_STREAM_MALICIOUS, client, round)
 *   none:      no attack, nobody is malicious. */

typedef enum {
    FCB_ATTACK_NONE,
    FCB_ATTACK_SIGN_FLIP,
    FCB_ATTACK_SCALE,
    FCB_ATTACK_NOISE
} fcb_attack_kind;

typedef struct {
    fcb_attack_kind kind;
    double fraction; /* of all clients, [0, 1] */
    double scale;    /* finite, >= 0 */
} fcb_malicious_config;

/* none, fraction 0, scale 1. */
fcb_malicious_config fcb_malicious_config_defaults(void);
/* FCB_ERR_CONFIG naming the field, e.g. "malicious.fraction = 1.5: must be in [0, 1]". */
fcb_status fcb_malicious_config_validate(const fcb_malicious_config *config);

/* "none", "sign_flip", "scale", "noise" (FCB_ERR_CONFIG for anything else). */
fcb_status fcb_attack_kind_from_name(const char *name, fcb_attack_kind *kind);
const char *fcb_attack_kind_name(fcb_attack_kind kind);

/* round(fraction * num_clients), halves away from zero. */
int fcb_malicious_count(double fraction, int num_clients);

/* is_malicious[c] = 1 for exactly fcb_malicious_count(fraction, num_clients)
 * clients c in [0, num_clients) (none for kind none), 0 for the others: a
 * uniform choice (Floyd's algorithm) from the stream
 * (seed, FCB_STREAM_MALICIOUS, 0xFFFFFFFF, 0), so fixed for the run. */
fcb_status fcb_malicious_choose(const fcb_malicious_config *config, uint64_t seed,
                                int num_clients, unsigned char *is_malicious);

/* Replaces delta (dim floats) in place by the configured attack of client
 * `client` in round `round` (both >= 0). The caller applies it to the
 * clients fcb_malicious_choose marked. */
fcb_status fcb_malicious_apply(const fcb_malicious_config *config, uint64_t seed, int client,
                               int round, float *delta, size_t dim);

#endif
