#include "log_source.h"

#include <string.h>

fcb_status fcb_log_source_open(fcb_log_source *s, const char *path, int dim, int num_actions,
                               int examples_per_round)
{
    memset(s, 0, sizeof *s);
    s->examples_per_round = examples_per_round;
    return fcb_cb_log_load(path, dim, num_actions, &s->log);
}

void fcb_log_source_close(fcb_log_source *s)
{
    fcb_cb_log_free(&s->log);
    memset(s, 0, sizeof *s);
}

static fcb_status contexts(void *context, int client, int round, fcb_round_contexts *out)
{
    (void)client;
    (void)round;
    fcb_log_source *s = context;
    if (s->next >= s->log.n)
        s->next = 0;
    int start = s->next, left = s->log.n - start;
    out->n = left < s->examples_per_round ? left : s->examples_per_round;
    out->x = s->log.x + (size_t)start * s->log.dim;
    out->actions = s->log.actions + start;
    out->propensities = s->log.propensities + start;
    out->rewards = s->log.rewards + start;
    s->next = start + out->n;
    return FCB_OK;
}

fcb_data_source fcb_log_source_as_data_source(fcb_log_source *s)
{
    fcb_data_source source = {s, contexts, fcb_no_feedback, NULL, NULL};
    return source;
}
