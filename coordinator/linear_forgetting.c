#include "linear_forgetting.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

fcb_status fcb_linforget_init(fcb_linforget *f, const fcb_linforget_config *config, const fcb_linstats *shape)
{
    memset(f, 0, sizeof *f);
    f->config = *config;
    f->last_round = -1;
    f->a_size = fcb_linstats_a_size(shape);
    f->flat_size = fcb_linstats_flat_size(shape);
    if (config->kind == FCB_FORGET_DISCOUNT && !(config->gamma > 0.0 && config->gamma <= 1.0))
        return fcb_fail(FCB_ERR_CONFIG, "policy.discount = %g: must be in (0, 1]", config->gamma);
    if (config->kind == FCB_FORGET_DISCOUNT && config->keep_tilde) {
        f->tilde = calloc(f->a_size, sizeof *f->tilde);
        if (!f->tilde)
            return fcb_fail(FCB_ERR_NOMEM, "linear forgetting: out of memory");
    }
    if (config->kind != FCB_FORGET_WINDOW)
        return FCB_OK;
    if (config->window < 1)
        return fcb_fail(FCB_ERR_CONFIG, "policy.window = %d: must be >= 1", config->window);
    size_t round_bytes = f->flat_size * sizeof(double);
    if ((size_t)config->window > FCB_LINFORGET_MAX_BYTES / round_bytes)
        return fcb_fail(FCB_ERR_CONFIG,
                        "policy.window = %d: the coordinator keeps one round of statistics per window round "
                        "(%zu KB each, %zu MB in all), above the %zu MB bound; use a smaller window or "
                        "policy.diagonal = true",
                        config->window, round_bytes >> 10, (round_bytes >> 10) * (size_t)config->window >> 10,
                        FCB_LINFORGET_MAX_BYTES >> 20);
    f->ring = calloc((size_t)config->window * f->flat_size, sizeof *f->ring);
    f->sum = calloc(f->flat_size, sizeof *f->sum);
    fcb_status st = f->ring && f->sum ? fcb_linstats_init(&f->delta, shape->num_actions, shape->dim, shape->diagonal)
                                      : fcb_fail(FCB_ERR_NOMEM, "linear forgetting: out of memory for the window");
    if (st != FCB_OK)
        fcb_linforget_free(f);
    return st;
}

void fcb_linforget_free(fcb_linforget *f)
{
    free(f->tilde);
    free(f->ring);
    free(f->sum);
    fcb_linstats_free(&f->delta);
    memset(f, 0, sizeof *f);
}

static fcb_status merge_all(fcb_linstats *dst, const fcb_linstats *updates, const int *slots, int count)
{
    for (int i = 0; i < count; i++) {
        fcb_status st = fcb_linstats_merge(dst, &updates[slots[i]]);
        if (st != FCB_OK)
            return st;
    }
    return FCB_OK;
}

/* gamma^rounds on A and b, gamma^(2 rounds) on A~, then the round's updates. */
static fcb_status merge_discounted(fcb_linforget *f, fcb_linstats *global, const fcb_linstats *updates,
                                   const int *slots, int count, int rounds)
{
    fcb_linstats_scale(global, pow(f->config.gamma, rounds));
    fcb_status st = merge_all(global, updates, slots, count);
    if (st != FCB_OK || !f->tilde)
        return st;
    cblas_dscal((int)f->a_size, pow(f->config.gamma, 2.0 * rounds), f->tilde, 1);
    for (int i = 0; i < count; i++)
        cblas_daxpy((int)f->a_size, 1.0, updates[slots[i]].A, 1, f->tilde, 1);
    return FCB_OK;
}

static void ring_push(fcb_linforget *f, const double *flat)
{
    double *slot = f->ring + (size_t)f->next * f->flat_size;
    if (flat)
        memcpy(slot, flat, f->flat_size * sizeof *slot);
    else
        memset(slot, 0, f->flat_size * sizeof *slot);
    f->next = (f->next + 1) % f->config.window;
    if (f->filled < f->config.window)
        f->filled++;
}

/* rounds - 1 empty rounds, this round's summed update, then the sum of the
 * ring from its oldest delta to its newest. */
static fcb_status merge_window(fcb_linforget *f, fcb_linstats *global, const fcb_linstats *updates,
                               const int *slots, int count, int rounds)
{
    fcb_linstats_zero(&f->delta);
    fcb_status st = merge_all(&f->delta, updates, slots, count);
    if (st != FCB_OK)
        return st;
    int empty = rounds - 1 < f->config.window ? rounds - 1 : f->config.window;
    for (int i = 0; i < empty; i++)
        ring_push(f, NULL);
    fcb_linstats_to_flat(&f->delta, f->sum);
    ring_push(f, f->sum);
    memset(f->sum, 0, f->flat_size * sizeof *f->sum);
    int oldest = f->filled < f->config.window ? 0 : f->next;
    for (int i = 0; i < f->filled; i++) {
        const double *slot = f->ring + (size_t)((oldest + i) % f->config.window) * f->flat_size;
        cblas_daxpy((int)f->flat_size, 1.0, slot, 1, f->sum, 1);
    }
    return fcb_linstats_from_flat(global, f->sum, f->flat_size);
}

fcb_status fcb_linforget_merge(fcb_linforget *f, fcb_linstats *global, const fcb_linstats *updates,
                               const int *slots, int count, int round)
{
    if (round <= f->last_round)
        return fcb_fail(FCB_ERR_STATE, "linear forgetting: round %d merged after round %lld", round + 1,
                        (long long)f->last_round + 1);
    int rounds = f->last_round < 0 ? 1 : (int)(round - f->last_round);
    f->last_round = round;
    switch (f->config.kind) {
    case FCB_FORGET_DISCOUNT:
        return merge_discounted(f, global, updates, slots, count, rounds);
    case FCB_FORGET_WINDOW:
        return merge_window(f, global, updates, slots, count, rounds);
    case FCB_FORGET_NONE:
        break;
    }
    return merge_all(global, updates, slots, count);
}

enum { FORGET_SECTION_VERSION = 1 };

fcb_status fcb_linforget_save(const fcb_linforget *f, const double *deployed_tilde, fcb_ckpt_writer *w)
{
    const fcb_linforget_config *c = &f->config;
    fcb_ckpt_begin(w, "linear_forget", FORGET_SECTION_VERSION);
    fcb_ckpt_put_u32(w, (uint32_t)c->kind);
    fcb_ckpt_put_f64(w, c->gamma);
    fcb_ckpt_put_i64(w, c->window);
    fcb_ckpt_put_u32(w, (uint32_t)(f->tilde != NULL));
    fcb_ckpt_put_i64(w, (int64_t)f->flat_size);
    fcb_ckpt_put_i64(w, f->last_round);
    if (f->tilde) {
        fcb_ckpt_put_f64s(w, f->tilde, f->a_size);
        fcb_ckpt_put_f64s(w, deployed_tilde, f->a_size);
    }
    if (c->kind == FCB_FORGET_WINDOW) {
        fcb_ckpt_put_i64(w, f->next);
        fcb_ckpt_put_i64(w, f->filled);
        fcb_ckpt_put_f64s(w, f->ring, (size_t)f->filled * f->flat_size);
    }
    return fcb_ckpt_end(w);
}

static fcb_status check_finite(const fcb_ckpt_reader *r, const double *v, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return fcb_ckpt_fail(r, "%s value %zu is not finite", what, i);
    return FCB_OK;
}

/* The ring as saved: filled deltas from index 0 (next == filled while not
 * full), or the whole ring. */
static fcb_status load_ring(fcb_linforget *f, fcb_ckpt_reader *r)
{
    int64_t next = 0, filled = 0;
    fcb_status st = fcb_ckpt_get_i64(r, &next);
    if (st == FCB_OK)
        st = fcb_ckpt_get_i64(r, &filled);
    int w = f->config.window;
    if (st == FCB_OK && (filled < 0 || filled > w || next < 0 || next >= w || (filled < w && next != filled % w)))
        st = fcb_ckpt_fail(r, "window ring position %lld with %lld rounds held is not valid for a window of %d",
                           (long long)next, (long long)filled, w);
    if (st == FCB_OK)
        st = fcb_ckpt_get_f64s(r, f->ring, (size_t)filled * f->flat_size);
    if (st == FCB_OK)
        st = check_finite(r, f->ring, (size_t)filled * f->flat_size, "window ring");
    if (st == FCB_OK) {
        f->next = (int)next;
        f->filled = (int)filled;
    }
    return st;
}

fcb_status fcb_linforget_load(fcb_linforget *f, double *deployed_tilde, fcb_ckpt_reader *r)
{
    const fcb_linforget_config *c = &f->config;
    uint32_t kind = 0, has_tilde = 0;
    double gamma = 0.0;
    int64_t window = 0, flat_size = 0, last_round = 0;
    fcb_status st = fcb_ckpt_open_section(r, "linear_forget", FORGET_SECTION_VERSION);
    if (st == FCB_OK)
        st = fcb_ckpt_get_u32(r, &kind);
    if (st == FCB_OK)
        st = fcb_ckpt_get_f64(r, &gamma);
    if (st == FCB_OK)
        st = fcb_ckpt_get_i64(r, &window);
    if (st == FCB_OK)
        st = fcb_ckpt_get_u32(r, &has_tilde);
    if (st == FCB_OK)
        st = fcb_ckpt_get_i64(r, &flat_size);
    if (st == FCB_OK)
        st = fcb_ckpt_get_i64(r, &last_round);
    if (st == FCB_OK && (kind != (uint32_t)c->kind || gamma != c->gamma || window != c->window ||
                         has_tilde != (uint32_t)(f->tilde != NULL) || flat_size != (int64_t)f->flat_size))
        st = fcb_ckpt_fail(r, "forgetting %s (gamma %g, window %lld, %lld statistics) differs from this run's %s "
                              "(gamma %g, window %d, %zu statistics)",
                           fcb_forgetting_name((fcb_forgetting_kind)kind), gamma, (long long)window,
                           (long long)flat_size, fcb_forgetting_name(c->kind), c->gamma, c->window, f->flat_size);
    if (st == FCB_OK && last_round < -1)
        st = fcb_ckpt_fail(r, "last merged round %lld is negative", (long long)last_round);
    if (st == FCB_OK && f->tilde)
        st = fcb_ckpt_get_f64s(r, f->tilde, f->a_size);
    if (st == FCB_OK && f->tilde)
        st = fcb_ckpt_get_f64s(r, deployed_tilde, f->a_size);
    if (st == FCB_OK && f->tilde)
        st = check_finite(r, f->tilde, f->a_size, "A~");
    if (st == FCB_OK && f->tilde)
        st = check_finite(r, deployed_tilde, f->a_size, "deployed A~");
    if (st == FCB_OK && c->kind == FCB_FORGET_WINDOW)
        st = load_ring(f, r);
    if (st == FCB_OK)
        st = fcb_ckpt_close_section(r);
    if (st == FCB_OK)
        f->last_round = last_round;
    return st;
}
