/* Coordinator checkpoints (coordinator/checkpoint.c, checkpoint_io.c):
 * three kinds of federation (a score model with Adam and adaptive DP, a
 * linear bandit, a run with a preference stage) are checkpointed after each
 * round; a restore reproduces the saved state byte for byte and continues
 * exactly as the original. Then the newest file is damaged section by
 * section -- cut short, a bit flipped (the SHA-256 recomputed, so that the
 * damage reaches the section decoders), a wrong version or length, bytes
 * added, the section removed, values out of range -- and a restore must
 * fall back to the previous checkpoint or, with no good candidate, leave
 * the live federation as it was: never a mix. A state is compared as the
 * bytes a checkpoint of it has, which covers every section. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "config_file.h"
#include "run_plan.h"
#include "sim_evaluator.h"
#include "world.h"

enum { KIND_SCORE, KIND_LINEAR, KIND_PREFERENCE, NUM_KINDS };
enum { SAVED_ROUNDS = 3, HEADER = 12, SECTION_HEADER = 28, DIGEST = 32, MAX_SECTIONS = 8 };

static const char *const KIND_SETTINGS[NUM_KINDS][5] = {
    {"server.optimizer=adam", "dp.enabled=true", "dp.adaptive=true", "dp.clipped_count_stddev=1", NULL},
    {"policy.kind=linucb", NULL},
    {"preference.rounds=2", "run.rounds=2", NULL},
};
static const char *const KIND_SECTIONS[NUM_KINDS][7] = {
    {"run", "federation", "score_model", "dp", "tally", NULL},
    {"run", "federation", "linear_model", "tally", NULL},
    {"run", "federation", "score_model", "preference", "tally", NULL},
};

typedef struct {
    unsigned char *data;
    size_t len;
} bytes;

typedef struct {
    char name[FCB_CKPT_NAME + 1];
    size_t at, payload, length; /* offsets of the header and the payload; payload bytes */
} section_info;

typedef struct {
    fcb_config config;
    fcb_world world;
    fcb_sim_evaluator sim;
    fcb_evaluator evaluator;
    fcb_federation_config fc;
    char hash[65];
    char dir[64];     /* the run's state directory */
    char alone[80];   /* a damaged file as the only candidate */
    char capture[96]; /* stderr during a restore */
    bytes saved[SAVED_ROUNDS + 1]; /* the checkpoint file after round r (1-based) */
    section_info sections[MAX_SECTIONS];
    int num_sections;
} world_fixture;

typedef struct {
    fcb_federation fed;
    fcb_run_tally tally;
} run_state;

#define F64_BITS(x) (((union { double d; uint64_t u; }){.d = (x)}).u)
#define F32_BITS(x) ((uint64_t)((union { float f; uint32_t u; }){.f = (x)}).u)

static void set(fcb_config *c, const char *assignment)
{
    if (fcb_config_set(c, assignment) != FCB_OK)
        fail_msg("fcb_config_set(\"%s\"): %s", assignment, fcb_last_error());
}

static void state_init(const world_fixture *wf, run_state *rs)
{
    if (fcb_federation_init(&rs->fed, &wf->fc, &wf->evaluator) != FCB_OK)
        fail_msg("federation: %s", fcb_last_error());
    fcb_run_tally_init(&rs->tally);
}

/* Exactly what fcb_checkpoint_save writes for this state. */
static bytes state_bytes(const world_fixture *wf, const run_state *rs)
{
    fcb_ckpt_writer w;
    fcb_ckpt_writer_init(&w);
    fcb_ckpt_begin(&w, "run", 1);
    fcb_ckpt_put_text(&w, wf->hash);
    fcb_status st = fcb_ckpt_end(&w);
    if (st == FCB_OK)
        st = fcb_federation_save(&rs->fed, &w);
    if (st == FCB_OK)
        st = fcb_run_tally_save(&rs->tally, &w);
    if (st == FCB_OK)
        st = fcb_ckpt_writer_finish(&w);
    if (st != FCB_OK)
        fail_msg("state bytes: %s", fcb_last_error());
    return (bytes){w.data, w.len};
}

static int same_bytes(bytes a, bytes b)
{
    return a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
}

static int state_is(const world_fixture *wf, const run_state *rs, bytes expected)
{
    bytes b = state_bytes(wf, rs);
    int same = same_bytes(b, expected);
    free(b.data);
    return same;
}

/* The file's bytes, with a NUL after them (texts are strings). */
static bytes read_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp || fseek(fp, 0, SEEK_END) != 0)
        fail_msg("cannot read %s", path);
    bytes b = {NULL, (size_t)ftell(fp)};
    b.data = malloc(b.len + 1);
    assert_non_null(b.data);
    rewind(fp);
    assert_int_equal(fread(b.data, 1, b.len, fp), b.len);
    fclose(fp);
    b.data[b.len] = 0;
    return b;
}

static void write_file(const char *path, bytes b)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b.data, 1, b.len, fp), b.len);
    assert_int_equal(fclose(fp), 0);
}

static void ckpt_path(char *out, size_t size, const char *dir, int round)
{
    snprintf(out, size, "%s/round-%06d.ckpt", dir, round);
}

/* Client c's update in round r, written where the network would put it. */
static void fill_slot(fcb_federation *f, int s, int round)
{
    fcb_slot *sl = &f->slots[s];
    int c = sl->client;
    fcb_update_buffer b = fcb_federation_slot_update(f, s);
    for (size_t k = 0; b.delta && k < f->config.model.model->num_params; k++)
        b.delta[k] = (float)(0.3 * sin(1.1 * c + 0.53 * (double)k + 0.7 * round));
    if (b.stats) { /* A positive definite (diagonally dominant), b, counts */
        fcb_linstats *st = b.stats;
        int K = st->num_actions, d = st->dim, cols = st->diagonal ? 1 : d;
        size_t n = fcb_linstats_flat_size(st), na = (size_t)K * d * cols;
        double *flat = calloc(n, sizeof(double));
        assert_non_null(flat);
        for (size_t k = 0; k < na; k++)
            flat[k] = st->diagonal || k / d % d == k % d ? 2.0 + 0.1 * c : 0.01 * (c + 1) * (round + 1);
        for (size_t k = na; k < n; k++)
            flat[k] = k < n - (size_t)K ? sin(0.9 * c + 0.41 * (double)k + round) : 1 + c;
        assert_int_equal(fcb_linstats_from_flat(st, flat, n), FCB_OK);
        free(flat);
    }
    sl->result = (fcb_client_result){.examples = 10 + c, .reward_sum = 4.0 + c, .true_reward_sum = 5.0, .steps = 1};
    sl->state = FCB_SLOT_DONE;
}

static void play_round(run_state *rs, int round)
{
    if (fcb_federation_sample(&rs->fed, round, 0) != FCB_OK)
        fail_msg("sample: %s", fcb_last_error());
    for (int s = 0; s < rs->fed.num_slots; s++)
        fill_slot(&rs->fed, s, round);
    fcb_round_report report;
    if (fcb_round_close(&rs->fed, &rs->tally, &report) != FCB_OK)
        fail_msg("round %d: %s", round + 1, fcb_last_error());
}

static uint64_t get_le(bytes b, size_t at, int n)
{
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; k--)
        v = v << 8 | b.data[at + k];
    return v;
}

static void put_le(bytes b, size_t at, uint64_t v, int n)
{
    assert_true(at + (size_t)n <= b.len - DIGEST);
    for (int k = 0; k < n; k++)
        b.data[at + k] = (unsigned char)(v >> (8 * k));
}

/* The federation of a kind after SAVED_ROUNDS rounds (in *rs), each
 * checkpointed; the newest file's sections. */
static world_fixture *make(int kind, run_state *rs)
{
    world_fixture *wf = calloc(1, sizeof *wf);
    assert_non_null(wf);
    fcb_config *c = &wf->config;
    fcb_config_default(c);
    const char *settings[] = {"run.wall_clock=false",        "data.synthetic_train=400", "data.synthetic_test=100",
                              "data.synthetic_dim=4",        "data.synthetic_classes=3", "clients.num_clients=5",
                              "clients.clients_per_round=3", "clients.examples_per_round=10",
                              "run.rounds=4",                "run.eval_every=1"};
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        set(c, settings[i]);
    for (int i = 0; KIND_SETTINGS[kind][i]; i++)
        set(c, KIND_SETTINGS[kind][i]);
    if (fcb_config_validate(c) != FCB_OK || fcb_world_build(&wf->world, c) != FCB_OK)
        fail_msg("world: %s", fcb_last_error());
    wf->sim = (fcb_sim_evaluator){&wf->world, c->seed, c->pref_temperature};
    wf->evaluator = fcb_sim_evaluator_make(&wf->sim);
    if (fcb_plan_federation(c, &wf->world.model, wf->world.initial_params, &wf->fc) != FCB_OK)
        fail_msg("plan: %s", fcb_last_error());
    fcb_config_hash(c, wf->hash);
    snprintf(wf->dir, sizeof wf->dir, "/tmp/fedcb-ckpt-XXXXXX");
    assert_non_null(mkdtemp(wf->dir));
    snprintf(wf->alone, sizeof wf->alone, "%s/alone", wf->dir);
    snprintf(wf->capture, sizeof wf->capture, "%s/stderr.txt", wf->dir);
    assert_int_equal(mkdir(wf->alone, 0700), 0);
    state_init(wf, rs);
    char path[160];
    for (int r = 1; r <= SAVED_ROUNDS; r++) {
        play_round(rs, r - 1);
        if (fcb_checkpoint_save(wf->dir, wf->hash, &rs->fed, &rs->tally) != FCB_OK)
            fail_msg("save: %s", fcb_last_error());
        ckpt_path(path, sizeof path, wf->dir, r);
        wf->saved[r] = read_file(path);
        assert_true(state_is(wf, rs, wf->saved[r])); /* state_bytes is what was saved */
    }
    ckpt_path(path, sizeof path, wf->dir, 1);
    assert_int_equal(access(path, F_OK), -1); /* the two newest are kept */
    bytes b = wf->saved[SAVED_ROUNDS];
    size_t p = HEADER;
    for (int i = 0; i < (int)get_le(b, 8, 4); i++) {
        section_info *si = &wf->sections[wf->num_sections++];
        *si = (section_info){.at = p, .payload = p + SECTION_HEADER, .length = get_le(b, p + 20, 8)};
        memcpy(si->name, b.data + p, FCB_CKPT_NAME);
        assert_string_equal(si->name, KIND_SECTIONS[kind][i]);
        p = si->payload + si->length;
    }
    assert_null(KIND_SECTIONS[kind][wf->num_sections]);
    assert_int_equal(p + DIGEST, b.len);
    return wf;
}

static void destroy(world_fixture *wf)
{
    char path[160];
    for (int r = 0; r <= SAVED_ROUNDS; r++) {
        free(wf->saved[r].data);
        ckpt_path(path, sizeof path, wf->dir, r);
        unlink(path);
    }
    unlink(wf->capture);
    rmdir(wf->alone);
    rmdir(wf->dir);
    fcb_world_free(&wf->world);
    free(wf);
}

static const section_info *section(const world_fixture *wf, const char *name)
{
    for (int i = 0; i < wf->num_sections; i++)
        if (strcmp(wf->sections[i].name, name) == 0)
            return &wf->sections[i];
    fail_msg("no section '%s'", name);
    return NULL;
}

/* Restores dir into *rs; stderr meanwhile into *log (caller frees). */
static fcb_status restore(world_fixture *wf, const char *dir, const char *hash, run_state *rs, int *found,
                          char **log)
{
    fflush(stderr);
    int saved = dup(2), fd = open(wf->capture, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    *found = -1;
    fcb_status st = fcb_checkpoint_load_newest(dir, hash, &rs->fed, &rs->tally, found);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    *log = (char *)read_file(wf->capture).data;
    return st;
}

static void expect_names(const char *text, const char *path, const char *section_name, const char *what)
{
    char quoted[64];
    snprintf(quoted, sizeof quoted, "section '%s'", section_name ? section_name : "");
    if (!strstr(text, path) || (section_name && !strstr(text, quoted)))
        fail_msg("%s: \"%s\" does not name %s %s", what, text, path, section_name ? quoted : "");
}

/* Restores with `bad` as the newest checkpoint: with the previous one beside
 * it, the restore must fall back to that one (or, unless must_fail, take the
 * whole damaged state: a flipped bit may decode to another valid value);
 * as the only candidate, nothing may change. A refusal names the file and
 * section_name (NULL: none), except that a flipped bit in the run section's
 * config hash makes it another config's checkpoint (FCB_ERR_CONFIG). */
static void check_damaged(world_fixture *wf, bytes bad, int must_fail, const char *section_name, const char *what)
{
    char newest[160], only[160], *log = NULL;
    ckpt_path(newest, sizeof newest, wf->dir, SAVED_ROUNDS);
    ckpt_path(only, sizeof only, wf->alone, SAVED_ROUNDS);
    int config_allowed = !must_fail && section_name && strcmp(section_name, "run") == 0;
    write_file(newest, bad);
    run_state rs;
    state_init(wf, &rs);
    int found;
    fcb_status st = restore(wf, wf->dir, wf->hash, &rs, &found, &log);
    if (st == FCB_ERR_CONFIG && config_allowed) {
        assert_int_equal(found, 0);
        expect_names(fcb_last_error(), newest, NULL, what);
    } else if (st != FCB_OK || found != 1) {
        fail_msg("%s: status %d, found %d: %s", what, st, found, fcb_last_error());
    } else if (state_is(wf, &rs, wf->saved[SAVED_ROUNDS - 1])) {
        assert_int_equal(rs.tally.rounds_done, SAVED_ROUNDS - 1);
        expect_names(log, newest, NULL, what); /* the skipped file, on stderr */
    } else if (must_fail || !state_is(wf, &rs, bad)) {
        fail_msg("%s: restored neither the previous checkpoint nor the whole damaged one", what);
    }
    free(log);
    fcb_federation_free(&rs.fed);
    write_file(newest, wf->saved[SAVED_ROUNDS]);

    write_file(only, bad);
    run_state live; /* a fresh federation: unlike either checkpoint */
    state_init(wf, &live);
    bytes before = state_bytes(wf, &live);
    char digest_before[65], digest_after[65];
    assert_int_equal(fcb_federation_digest(&live.fed, digest_before), FCB_OK);
    const fcb_global_model *gm_before = live.fed.gm;
    st = restore(wf, wf->alone, wf->hash, &live, &found, &log);
    if (st == FCB_OK && found == 1 && !must_fail) {
        assert_true(state_is(wf, &live, bad)); /* the whole damaged state, or nothing */
    } else {
        if (!(st == FCB_OK || (st == FCB_ERR_CONFIG && config_allowed)) || found != 0)
            fail_msg("%s: status %d, found %d: %s", what, st, found, fcb_last_error());
        expect_names(fcb_last_error(), only, st == FCB_ERR_CONFIG ? NULL : section_name, what);
        assert_true(state_is(wf, &live, before));
        assert_ptr_equal(live.fed.gm, gm_before);
        assert_int_equal(fcb_federation_digest(&live.fed, digest_after), FCB_OK);
        assert_string_equal(digest_before, digest_after);
        assert_int_equal(live.tally.rounds_done, 0);
        assert_int_equal(live.fed.current_version, 0);
    }
    free(log);
    free(before.data);
    fcb_federation_free(&live.fed);
    unlink(only);
}

/* The newest file with `cut` bytes at `at` replaced by `add` zero bytes, then
 * edited by the caller through *b before check(). */
static bytes splice(const world_fixture *wf, size_t at, size_t cut, size_t add)
{
    bytes good = wf->saved[SAVED_ROUNDS];
    bytes b = {calloc(good.len + add + 1, 1), good.len - cut + add};
    assert_non_null(b.data);
    memcpy(b.data, good.data, at);
    memcpy(b.data + at + add, good.data + at + cut, good.len - at - cut);
    return b;
}

/* Checks b as damaged (section_name: see check_damaged) and frees it. Its
 * digest is recomputed first, so that the damage reaches the decoders, unless
 * section_name is NULL (the file was cut: the digest is the damage). */
static void check(world_fixture *wf, bytes b, int must_fail, const char *section_name, const char *fmt, ...)
    FCB_PRINTF(5, 6);
/* Damaged checkpoints tried, for the closing line of each test. */
static int damaged_tried;

static void check(world_fixture *wf, bytes b, int must_fail, const char *section_name, const char *fmt, ...)
{
    damaged_tried++;
    unsigned int n = 0;
    if (section_name)
        assert_int_equal(EVP_Digest(b.data, b.len - DIGEST, b.data + b.len - DIGEST, &n, EVP_sha256(), NULL), 1);
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    check_damaged(wf, b, must_fail, section_name, what);
    free(b.data);
}

/* n bytes at payload offset `at` of section name set to v: refused. */
static void check_value(world_fixture *wf, const char *name, size_t at, uint64_t v, int n, const char *what)
{
    bytes b = splice(wf, 0, 0, 0);
    put_le(b, section(wf, name)->payload + at, v, n);
    check(wf, b, 1, name, "section '%s', %s", name, what);
}

static void test_restore_is_identical_and_continues_identically(void **state)
{
    (void)state;
    for (int kind = 0; kind < NUM_KINDS; kind++) {
        run_state original, restored;
        world_fixture *wf = make(kind, &original);
        state_init(wf, &restored);
        int found;
        char *log = NULL, a[65], b[65];
        assert_int_equal(restore(wf, wf->dir, wf->hash, &restored, &found, &log), FCB_OK);
        free(log);
        assert_int_equal(found, 1);
        assert_int_equal(fcb_federation_digest(&original.fed, a) | fcb_federation_digest(&restored.fed, b), FCB_OK);
        assert_string_equal(a, b);
        assert_int_equal(restored.fed.current_version, original.fed.current_version);
        assert_int_equal(restored.fed.deployed_version, original.fed.deployed_version);
        assert_int_equal(restored.fed.round, SAVED_ROUNDS);
        const fcb_run_tally *t = &original.tally, *u = &restored.tally;
        assert_true(u->rounds_done == SAVED_ROUNDS && u->interactions == t->interactions);
        assert_true(u->reward_total == t->reward_total && u->true_reward_total == t->true_reward_total);
        assert_true(t->accuracy >= 0.0 && u->accuracy == t->accuracy && u->test_reward == t->test_reward);
        assert_memory_equal(u->class_accuracy, t->class_accuracy, sizeof t->class_accuracy);
        assert_true(u->reference_accuracy == t->reference_accuracy && u->win_rate == t->win_rate);
        assert_true(u->kl == t->kl && u->margin == t->margin);
        assert_true(kind != KIND_PREFERENCE || (t->reference_accuracy >= 0.0 && t->win_rate >= 0.0));
        if (kind == KIND_SCORE) {
            fcb_privacy_report p, q;
            assert_int_equal(fcb_federation_privacy(&original.fed, &p), FCB_OK);
            assert_int_equal(fcb_federation_privacy(&restored.fed, &q), FCB_OK);
            assert_int_equal(p.steps, SAVED_ROUNDS);
            assert_int_equal(q.steps, p.steps);
            assert_true(q.epsilon == p.epsilon && q.clip_norm == p.clip_norm && p.clip_norm != 1.0);
        }
        assert_true(state_is(wf, &restored, wf->saved[SAVED_ROUNDS]));
        play_round(&original, SAVED_ROUNDS);
        play_round(&restored, SAVED_ROUNDS);
        bytes next = state_bytes(wf, &original);
        assert_false(same_bytes(next, wf->saved[SAVED_ROUNDS]));
        assert_true(state_is(wf, &restored, next));
        free(next.data);
        fcb_federation_free(&original.fed);
        fcb_federation_free(&restored.fed);
        destroy(wf);
    }
}

static void test_damaged_sections_fall_back_or_change_nothing(void **state)
{
    (void)state;
    for (int kind = 0; kind < NUM_KINDS; kind++) {
        run_state original;
        world_fixture *wf = make(kind, &original);
        fcb_federation_free(&original.fed);
        size_t len = wf->saved[SAVED_ROUNDS].len;
        for (int i = 0; i < wf->num_sections; i++) {
            const section_info *si = &wf->sections[i];
            bytes b = splice(wf, 0, 0, 0);
            put_le(b, si->at + 16, 2, 4);
            check(wf, b, 1, si->name, "section '%s' of version 2", si->name);
            const int64_t changes[] = {1, -1, 8, -8, 4096, -(int64_t)si->length, (int64_t)1 << 40};
            for (size_t k = 0; k < sizeof changes / sizeof changes[0]; k++) {
                if (changes[k] < 0 && (size_t)-changes[k] > si->length)
                    continue;
                b = splice(wf, 0, 0, 0);
                put_le(b, si->at + 20, (uint64_t)((int64_t)si->length + changes[k]), 8);
                check(wf, b, 1, si->name, "section '%s' with length %+lld", si->name, (long long)changes[k]);
            }
            /* 8 bytes more, length and table consistent: not this version's layout */
            b = splice(wf, si->payload + si->length, 0, 8);
            put_le(b, si->at + 20, si->length + 8, 8);
            check(wf, b, 1, si->name, "section '%s' with 8 bytes more", si->name);
            b = splice(wf, si->at, SECTION_HEADER + si->length, 0);
            put_le(b, 8, (uint64_t)(wf->num_sections - 1), 4);
            check(wf, b, 1, si->name, "section '%s' removed", si->name);
            /* A bit flipped in each of the payload's first 64 bytes, then in
             * about 128 bytes spread over the rest. Bits 0-6: a sign bit
             * turns a step count of 0.0 into -0.0, the same state, which is
             * saved back as +0.0 (bytes no longer equal the file's). */
            size_t stride = si->length > 192 ? (si->length - 64) / 128 : 1;
            for (size_t off = 0; off < si->length; off += off < 64 ? 1 : stride) {
                b = splice(wf, 0, 0, 0);
                b.data[si->payload + off] ^= (unsigned char)(1u << (off % 7));
                check(wf, b, 0, si->name, "section '%s', bit %zu of payload byte %zu", si->name, off % 7, off);
            }
        }
        /* cut short anywhere: the digest no longer matches */
        const size_t cuts[] = {0, 7, HEADER, HEADER + DIGEST, len / 2, len - DIGEST - 1, len - DIGEST, len - 1};
        for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++)
            check(wf, splice(wf, cuts[k], len - cuts[k], 0), 1, NULL, "cut at %zu of %zu bytes", cuts[k], len);
        destroy(wf);
    }
    print_message("%d damaged checkpoints: each refused naming file and section, or fell back; none mixed\n",
                  damaged_tried);
    damaged_tried = 0;
}

/* Values a decoder must refuse although the file is well formed. */
static void test_out_of_range_values_name_file_and_section(void **state)
{
    (void)state;
    for (int kind = 0; kind < NUM_KINDS; kind++) {
        run_state original;
        world_fixture *wf = make(kind, &original);
        size_t p = original.fed.config.model.model->num_params;
        fcb_federation_free(&original.fed);
        bytes good = wf->saved[SAVED_ROUNDS];
        const uint64_t minus_one = (uint64_t)-1;
        check_value(wf, "run", 0, 1000, 4, "a config hash of 1000 bytes");
        check_value(wf, "run", 0, 65, 4, "a config hash longer than the section");
        check_value(wf, "federation", 0, minus_one, 8, "a negative model version");
        uint64_t current = get_le(good, section(wf, "federation")->payload, 8);
        check_value(wf, "federation", 8, current + 1, 8, "deployed newer than current");
        check_value(wf, "tally", 0, minus_one, 8, "negative rounds");
        check_value(wf, "tally", 8, (uint64_t)-5, 8, "negative interactions");
        check_value(wf, "tally", 16, F64_BITS(NAN), 8, "a NaN reward total");
        if (kind == KIND_LINEAR) {
            size_t n = (size_t)get_le(good, section(wf, "linear_model")->payload, 8);
            check_value(wf, "linear_model", 0, n + 1, 8, "one statistic too many");
            check_value(wf, "linear_model", 8, F64_BITS(NAN), 8, "a NaN statistic");
            check_value(wf, "linear_model", 8 + 8 * n, F64_BITS(INFINITY), 8, "an infinite deployed statistic");
            destroy(wf);
            continue;
        }
        size_t state_at = 16 + 8 * p; /* after the count, current, deployed and the state's count */
        size_t n = (size_t)get_le(good, section(wf, "score_model")->payload + state_at - 8, 8);
        check_value(wf, "score_model", 0, p + 1, 8, "one parameter too many");
        check_value(wf, "score_model", state_at - 8, n + 1, 8, "a longer optimiser state");
        if (kind == KIND_SCORE) {
            assert_int_equal(n, 2 + 2 * p); /* Adam: steps, m, v */
            check_value(wf, "score_model", state_at, F32_BITS(-1.0f), 4, "a negative Adam step count");
            check_value(wf, "score_model", state_at, F32_BITS(2.5f), 4, "a fractional Adam step count");
            check_value(wf, "score_model", state_at + 8, F32_BITS(NAN), 4, "a NaN first moment");
            check_value(wf, "score_model", state_at + 8 + 4 * p, F32_BITS(-1.0f), 4, "a negative second moment");
            check_value(wf, "dp", 0, F64_BITS(-1.0), 8, "a negative clip norm");
            check_value(wf, "dp", 0, F64_BITS(INFINITY), 8, "an infinite clip norm");
            check_value(wf, "dp", 8, minus_one, 8, "a negative step count");
        } else {
            check_value(wf, "preference", 0, p - 1, 8, "a reference of one parameter less");
        }
        destroy(wf);
    }
    print_message("%d well-formed checkpoints with a value out of range: each refused naming file and section\n",
                  damaged_tried);
    damaged_tried = 0;
}

static void test_other_config_is_refused(void **state)
{
    (void)state;
    run_state original, live;
    world_fixture *wf = make(KIND_SCORE, &original);
    fcb_federation_free(&original.fed);
    state_init(wf, &live);
    play_round(&live, 0);
    bytes before = state_bytes(wf, &live);
    char other[65], *log = NULL, newest[160];
    memset(other, 'f', 64);
    other[64] = '\0';
    int found;
    fcb_status st = restore(wf, wf->dir, other, &live, &found, &log);
    free(log);
    assert_int_equal(st, FCB_ERR_CONFIG);
    assert_int_equal(found, 0);
    ckpt_path(newest, sizeof newest, wf->dir, SAVED_ROUNDS);
    expect_names(fcb_last_error(), newest, NULL, "another config");
    assert_non_null(strstr(fcb_last_error(), "different config"));
    assert_true(state_is(wf, &live, before));
    free(before.data);
    fcb_federation_free(&live.fed);
    destroy(wf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restore_is_identical_and_continues_identically),
        cmocka_unit_test(test_damaged_sections_fall_back_or_change_nothing),
        cmocka_unit_test(test_out_of_range_values_name_file_and_section),
        cmocka_unit_test(test_other_config_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
