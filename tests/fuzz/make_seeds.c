/* Writes the seed corpus of one fuzz target into a directory, from the
 * shipped files (configs, test data) and from files the code itself writes
 * (a contextual-bandit log, an interaction log, IDX files, checkpoints of
 * small federations, an agent's store), each with the control byte its
 * target reads first.
 * Usage: make_seeds TARGET SOURCE_DIR OUT_DIR */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "agent_store.h"
#include "cb_log.h"
#include "checkpoint_fixture.h"
#include "fedcb/agent.h"
#include "interaction_log.h"
#include "log.h"

typedef struct {
    unsigned char *data;
    size_t len;
} bytes;

static const char *out_dir;
static int seeds;

static void die(const char *what)
{
    fprintf(stderr, "make_seeds: %s\n", what);
    exit(1);
}

static bytes read_all(const char *path, int gunzip)
{
    gzFile f = gunzip ? gzopen(path, "rb") : NULL;
    FILE *plain = gunzip ? NULL : fopen(path, "rb");
    if (!f && !plain)
        die(path);
    bytes b = {NULL, 0};
    size_t cap = 0;
    for (;;) {
        if (cap - b.len < 4096) {
            cap = cap ? 2 * cap : 65536;
            b.data = realloc(b.data, cap);
            if (!b.data)
                die("out of memory");
        }
        int got = f ? gzread(f, b.data + b.len, 4096) : (int)fread(b.data + b.len, 1, 4096, plain);
        if (got < 0)
            die(path);
        if (got == 0)
            break;
        b.len += (size_t)got;
    }
    if (f)
        gzclose(f);
    if (plain)
        fclose(plain);
    return b;
}

/* One seed: an optional prefix (control bytes), then the body. */
static void seed(const void *prefix, size_t prefix_len, const void *body, size_t body_len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/seed-%04d", out_dir, seeds++);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(prefix, 1, prefix_len, f) != prefix_len ||
        (body_len && fwrite(body, 1, body_len, f) != body_len) || fclose(f) != 0)
        die(path);
}

static void seed_file(unsigned char control, const char *path)
{
    bytes b = read_all(path, 0);
    seed(&control, 1, b.data, b.len);
    free(b.data);
}

/* Every *suffix file of dir/sub. */
typedef void (*file_fn)(const char *path);
static void each_file(const char *root, const char *sub, const char *suffix, file_fn fn)
{
    char dir[4096], path[8192];
    snprintf(dir, sizeof dir, "%s/%s", root, sub);
    DIR *d = opendir(dir);
    if (!d)
        die(dir);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t n = strlen(e->d_name), m = strlen(suffix);
        if (n <= m || strcmp(e->d_name + n - m, suffix) != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        fn(path);
    }
    closedir(d);
}

/* ---- config: the INI file, a NUL, --set lines ---- */

static void config_seed(const char *path)
{
    bytes b = read_all(path, 0);
    seed("", 0, b.data, b.len);
    static const char sets[] = "\0run.rounds=3\nclients.num_clients=4\npolicy.kind=linucb\nrun.threads=1";
    seed(b.data, b.len, sets, sizeof sets - 1);
    free(b.data);
}

static void config_seeds(const char *src)
{
    each_file(src, "simulations/configs", ".ini", config_seed);
    each_file(src, "tests/configs", ".ini", config_seed);
    each_file(src, "bench/suites", ".ini", config_seed);
    static const char sets[] = "\0data.synthetic_dim=4\ndp.enabled=true\nmodel.arch=mlp\npreference.rounds=2";
    seed("", 0, sets, sizeof sets - 1);
}

/* ---- labelled files: control byte (fuzz_labelled.h), then the file ---- */

static void labelled_variants(const char *path)
{
    for (int dim = 0; dim < 8; dim++) {
        seed_file((unsigned char)(dim << 2 | 3 << 5), path);           /* named, 4 actions */
        seed_file((unsigned char)(1 << 1 | dim << 2 | 3 << 5), path);  /* sniffed */
        seed_file((unsigned char)(dim << 2), path);                    /* the simulator's path */
    }
}

static void labelled_seeds(const char *src, const char *suffix)
{
    each_file(src, "tests/data", suffix, labelled_variants);
}

static void libsvm_seeds(const char *src)
{
    labelled_seeds(src, ".libsvm");
}

static void vw_seeds(const char *src)
{
    labelled_seeds(src, ".vw");
}

/* ---- logs the code writes ---- */

static char temp_dir[64];

static void temp_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", temp_dir, name);
}

static void cb_log_seeds(const char *src)
{
    (void)src;
    char path[256];
    temp_path(path, sizeof path, "log.vw");
    fcb_cb_log_writer w;
    const float x[4] = {0.5f, 0.0f, -2.0f, 1e-3f};
    fcb_status st = fcb_cb_log_writer_open(&w, path);
    for (int i = 0; i < 6 && st == FCB_OK; i++)
        st = fcb_cb_log_writer_add(&w, i % 3, i % 2 ? 1.0f : 0.0f, 0.25f + 0.1f * (float)i, x, 4);
    if (st == FCB_OK)
        st = fcb_cb_log_writer_close(&w);
    if (st != FCB_OK)
        die(fcb_last_error());
    bytes b = read_all(path, 0);
    unsigned char control = 3 << 1 | 2 << 4; /* dim 4, 3 actions */
    seed(&control, 1, b.data, b.len);
    control |= 1;
    seed(&control, 1, b.data, b.len);
    static const char named[] = "1:0:0.5 |user age:0.3 city |item 2:1\n| unlabelled 1\n# comment\n"
                                "2:1:1 0.5 |a 4:-1\n3:-0.5:0.125 |  1 2 3\n";
    control = 3 << 1 | 2 << 4;
    seed(&control, 1, named, sizeof named - 1);
    free(b.data);
    unlink(path);
}

static void interaction_log_seeds(const char *src)
{
    (void)src;
    char path[256];
    temp_path(path, sizeof path, "interactions.csv.gz");
    fcb_interaction_writer w;
    const int actions[4] = {0, 2, 1, 2};
    const float propensities[4] = {0.5f, 1.0f, 0.125f, 0.75f}, rewards[4] = {1.0f, 0.0f, -0.5f, 1.0f};
    fcb_status st = fcb_interaction_writer_open(&w, path);
    for (int round = 0; round < 2 && st == FCB_OK; round++)
        for (int client = 0; client < 2 && st == FCB_OK; client++)
            st = fcb_interaction_writer_add(&w, round, client, actions, propensities, rewards, 4);
    if (st == FCB_OK)
        st = fcb_interaction_writer_close(&w);
    if (st != FCB_OK)
        die(fcb_last_error());
    unsigned char control = 2 << 1; /* 3 actions */
    bytes gz = read_all(path, 0), text = read_all(path, 1);
    seed(&control, 1, gz.data, gz.len);
    control |= 1;
    seed(&control, 1, text.data, text.len);
    free(gz.data);
    free(text.data);
    unlink(path);
}

/* ---- IDX: control byte, images length (2 bytes), images, labels ---- */

static void idx_seeds(const char *src)
{
    (void)src;
    enum { N = 3, ROWS = 2, COLS = 3 };
    unsigned char images[16 + N * ROWS * COLS], labels[8 + N];
    const unsigned char image_header[16] = {0, 0, 8, 3, 0, 0, 0, N, 0, 0, 0, ROWS, 0, 0, 0, COLS};
    const unsigned char label_header[8] = {0, 0, 8, 1, 0, 0, 0, N};
    memcpy(images, image_header, 16);
    memcpy(labels, label_header, 8);
    for (int i = 0; i < N * ROWS * COLS; i++)
        images[16 + i] = (unsigned char)(i * 37);
    for (int i = 0; i < N; i++)
        labels[8 + i] = (unsigned char)(i * 4 % 10);
    unsigned char pair[3 + sizeof images + sizeof labels];
    pair[1] = (unsigned char)(sizeof images & 0xff);
    pair[2] = (unsigned char)(sizeof images >> 8);
    memcpy(pair + 3, images, sizeof images);
    memcpy(pair + 3 + sizeof images, labels, sizeof labels);
    for (int gzip = 0; gzip < 4; gzip++) {
        pair[0] = (unsigned char)gzip;
        seed("", 0, pair, sizeof pair);
    }
}

/* ---- checkpoints: kind byte, then the file without its digest ---- */

static void checkpoint_seeds(const char *src)
{
    (void)src;
    fcb_log_set_thread_quiet(1);
    for (int kind = 0; kind < CKPT_NUM_KINDS; kind++) {
        ckpt_fixture f;
        if (ckpt_fixture_make(kind, &f) != FCB_OK || ckpt_fixture_save_rounds(&f, temp_dir, 3) != FCB_OK)
            die(fcb_last_error());
        for (int round = 2; round <= 3; round++) {
            char name[64], path[256];
            snprintf(name, sizeof name, "round-%06d.ckpt", round);
            temp_path(path, sizeof path, name);
            bytes b = read_all(path, 0);
            unsigned char control = (unsigned char)kind;
            if (b.len < 32)
                die("checkpoint too short");
            seed(&control, 1, b.data, b.len - 32);
            free(b.data);
            unlink(path);
        }
        ckpt_fixture_free(&f);
    }
}

/* ---- the agent's store: the SQLite file as written ---- */

static void store_seed(const char *path)
{
    bytes b = read_all(path, 0);
    seed("", 0, b.data, b.len);
    free(b.data);
    unlink(path);
}

static void agent_store_seeds(const char *src)
{
    (void)src;
    char path[256];
    temp_path(path, sizeof path, "agent.db");
    fcb_agent_options o;
    fcb_agent_options_default(&o);
    o.input_dim = 3;
    o.num_actions = 2;
    o.learn_every = 0;
    o.quiet = 1;
    o.store_path = path;
    fcb_agent *agent = NULL;
    fcb_status st = fcb_agent_open(&o, &agent);
    const float context[3] = {0.25f, -1.0f, 3.0f};
    for (int i = 0; i < 6 && st == FCB_OK; i++) {
        fcb_decision d;
        st = fcb_agent_decide(agent, context, 3, &d);
        if (st == FCB_OK && i % 2 == 0)
            st = fcb_agent_feedback(agent, d.event_id, 1.0f);
    }
    if (agent && fcb_agent_close(agent) != FCB_OK && st == FCB_OK)
        st = FCB_ERR_IO;
    if (st != FCB_OK)
        die(fcb_last_error());
    store_seed(path);
    /* A store with a model, written through the store itself. */
    fcb_agent_store_options so = {.path = path, .input_dim = 3, .num_actions = 2};
    fcb_agent_store *s = NULL;
    const float params[8] = {0.5f, -0.25f, 1.0f, 0.0f, 2.0f, -1.0f, 0.125f, 3.0f};
    fcb_store_decision d = {.event_id = 7, .time = 1.0e9, .version = 2, .action = 1, .propensity = 0.5f,
                            .context = context};
    st = fcb_agent_store_open(&so, &s);
    if (st == FCB_OK)
        st = fcb_agent_store_put_decision(s, &d);
    if (st == FCB_OK)
        st = fcb_agent_store_save_model(s, 2, params, 8);
    if (s && fcb_agent_store_close(s) != FCB_OK && st == FCB_OK)
        st = FCB_ERR_IO;
    if (st != FCB_OK)
        die(fcb_last_error());
    store_seed(path);
}

/* ---- agent_ini: the [agent] file ---- */

static void agent_ini_seeds(const char *src)
{
    (void)src;
    static const char *const texts[] = {
        "[agent]\ninput_dim = 5\nnum_actions = 3\npolicy = greedy\nquiet = 1\nlearn_every = 0\n",
        "[agent]\ninput_dim = 20\nnum_actions = 5\npolicy = softmax\ntemperature = 0.05\n"
        "learn_every = 200        ; a local update every 200 resolved events\n",
        "[agent]\ninput_dim = 8\nnum_actions = 4\narch = mlp\nhidden = 16\npolicy = igw\nigw_gamma = 50\n"
        "loss = doubly_robust\nlearning_rate = 0.05\nlocal_epochs = 2\nbatch_size = 8\nseed = 7\n"
        "hash_seed = 42\nfeedback_window = 30\npending_capacity = 100\n",
        "[agent]\ninput_dim = 3\nnum_actions = 2\npolicy = epsilon_greedy\nepsilon = 0.1\nstore_queue = 16\n"
        "store_max_rows = 1000\nstore_max_age = 3600\nstore_sync_full = 0\n",
        "[agent]\ninput_dim = 20\nnum_actions = 5\ncoordinator = 127.0.0.1:50051\ntls_dir = /tmp/tls\n"
        "client_id = 0\nmin_round_events = 100\nround_wait = 120\ngive_up = 60\nstore_path = /tmp/x.db\n",
        "[agent]\ninput_dim = five\n",
        "[agent]\ninput_dim = 5\nnum_actoins = 3\n",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        seed("", 0, texts[i], strlen(texts[i]));
}

typedef struct {
    const char *name;
    void (*write)(const char *src);
} target;

static const target TARGETS[] = {
    {"config", config_seeds},       {"libsvm", libsvm_seeds}, {"vw", vw_seeds},
    {"cb_log", cb_log_seeds},       {"idx", idx_seeds},       {"checkpoint", checkpoint_seeds},
    {"interaction_log", interaction_log_seeds}, {"agent_store", agent_store_seeds},
    {"agent_ini", agent_ini_seeds},
};

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: make_seeds TARGET SOURCE_DIR OUT_DIR\n");
        return 2;
    }
    out_dir = argv[3];
    snprintf(temp_dir, sizeof temp_dir, "/tmp/fedcb-seeds-XXXXXX");
    if (!mkdtemp(temp_dir))
        die("mkdtemp");
    int known = 0;
    for (size_t i = 0; i < sizeof TARGETS / sizeof TARGETS[0]; i++)
        if (strcmp(TARGETS[i].name, argv[1]) == 0) {
            TARGETS[i].write(argv[2]);
            known = 1;
        }
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", temp_dir);
    if (system(command) != 0 || !known) {
        fprintf(stderr, "make_seeds: %s\n", known ? "cannot clean up" : "unknown target");
        return 1;
    }
    return 0;
}
