/* news_page: a small application that embeds libfedcb.
 *
 * It stands for a news page that shows one of K stories to each visitor.
 * The visitors come from a local labelled file (Vowpal Wabbit multiclass
 * "label | index:value ..." or LibSVM "label index:value ..."): a visitor is
 * one line, the label the story they would click. For each visitor the page
 * asks the agent which story to show, shows it, and tells the agent whether
 * the visitor clicked. Visitors arrive in blocks; after each block the page
 * prints the block's click rate and the model version it was served with.
 * With a coordinator, the page waits after each block until a newer model
 * is deployed, so its blocks line up with the federation's rounds.
 *
 * Build (from an installed libfedcb):
 *   cc news_page.c $(pkg-config --cflags --libs fedcb) -o news_page
 * Run:
 *   news_page --agent agent.ini --data visitors.vw --blocks 30 --block-size 100 [--max-wait S] [--seed N]
 * With a coordinator the page stops early when the federation is over.
 * Output: one line per block on stdout, "block B version V clicks C/N rate R". */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fedcb/fedcb.h>

typedef struct {
    int n, dim;
    int *labels; /* 0-based */
    float *x;    /* n x dim */
} visitors;

#define USAGE "usage: news_page --agent INI --data FILE [--blocks N] [--block-size N] [--max-wait S] [--seed N]"

static int fail(const char *what)
{
    fprintf(stderr, "news_page: %s\n", what);
    return 1;
}

/* One line: "label | i:v i:v" or "label i:v i:v", indices 1-based. */
static int parse_line(char *line, int dim, float *x, int *label)
{
    char *p = line;
    long l = strtol(p, &p, 10);
    if (p == line || l < 1)
        return 0;
    *label = (int)l - 1;
    memset(x, 0, (size_t)dim * sizeof(float));
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '|')
            p++;
        if (*p == '\0' || *p == '\n' || *p == '\r')
            return 1;
        char *start = p;
        long index = strtol(p, &p, 10);
        if (p == start || *p != ':' || index < 1 || index > dim)
            return 0;
        start = ++p;
        double value = strtod(p, &p);
        if (p == start)
            return 0;
        x[index - 1] = (float)value;
    }
}

static int load_visitors(const char *path, int dim, int num_actions, visitors *v)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "news_page: cannot open %s: %s\n", path, strerror(errno));
        return 0;
    }
    int capacity = 1024;
    v->n = 0;
    v->dim = dim;
    v->labels = malloc((size_t)capacity * sizeof(int));
    v->x = malloc((size_t)capacity * (size_t)dim * sizeof(float));
    char line[65536];
    int line_number = 0, ok = v->labels && v->x;
    while (ok && fgets(line, sizeof line, f)) {
        line_number++;
        if (line[0] == '\n' || line[0] == '#')
            continue;
        if (v->n == capacity) {
            capacity *= 2;
            int *labels = realloc(v->labels, (size_t)capacity * sizeof(int));
            float *x = realloc(v->x, (size_t)capacity * (size_t)dim * sizeof(float));
            if (labels)
                v->labels = labels;
            if (x)
                v->x = x;
            ok = labels && x;
            if (!ok)
                break;
        }
        if (!parse_line(line, dim, v->x + (size_t)v->n * dim, &v->labels[v->n]) || v->labels[v->n] >= num_actions) {
            fprintf(stderr, "news_page: %s:%d: not a labelled example with labels 1..%d and indices 1..%d\n", path,
                    line_number, num_actions, dim);
            ok = 0;
            break;
        }
        v->n++;
    }
    fclose(f);
    if (ok && v->n == 0)
        fprintf(stderr, "news_page: %s has no example\n", path);
    return ok && v->n > 0;
}

/* The page's own randomness: which visitor comes next. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* With a coordinator: waits until a model newer than `version` is deployed,
 * the federation is over (returns 0), or max_wait seconds pass (0: no
 * limit). A page never stops serving: after max_wait it goes on with the
 * model it has, as it would while the coordinator is unreachable. */
static int wait_for_new_model(fcb_agent *agent, int64_t version, double max_wait)
{
    for (int waited_ms = 0; max_wait <= 0.0 || waited_ms < max_wait * 1000.0; waited_ms += 20) {
        fcb_agent_stats s;
        fcb_agent_stats_get(agent, &s);
        if (s.model_version > version)
            return 1;
        if (!s.learner_running)
            return 0;
        sleep_ms(20);
    }
    return 1;
}

int main(int argc, char **argv)
{
    const char *agent_ini = NULL, *data = NULL;
    int blocks = 30, block_size = 100;
    uint64_t seed = 1;
    double max_wait = 0.0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--agent") == 0)
            agent_ini = argv[i + 1];
        else if (strcmp(argv[i], "--data") == 0)
            data = argv[i + 1];
        else if (strcmp(argv[i], "--blocks") == 0)
            blocks = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--block-size") == 0)
            block_size = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--max-wait") == 0)
            max_wait = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--seed") == 0)
            seed = strtoull(argv[i + 1], NULL, 10);
        else
            return fail(USAGE);
    }
    if (!agent_ini || !data || blocks < 1 || block_size < 1 || argc % 2 == 0)
        return fail(USAGE);

    fcb_agent *agent;
    if (fcb_agent_open_ini(agent_ini, &agent) != FCB_OK) {
        fprintf(stderr, "news_page: %s\n", fcb_last_error());
        return 1;
    }
    fcb_agent_stats stats;
    fcb_agent_stats_get(agent, &stats);
    int dim = fcb_agent_input_dim(agent), actions = fcb_agent_num_actions(agent);
    visitors v;
    if (!load_visitors(data, dim, actions, &v)) {
        fcb_agent_close(agent);
        return 1;
    }
    printf("# news_page %s (library %s): %d visitors of %s\n", FCB_VERSION_STRING, fcb_version(), v.n, data);
    uint64_t state = seed;
    int status = 0;
    for (int b = 0; b < blocks && status == 0; b++) {
        int64_t served = fcb_agent_model_version(agent);
        int clicks = 0;
        for (int i = 0; i < block_size; i++) {
            int who = (int)(next_random(&state) % (uint64_t)v.n);
            fcb_decision d;
            if (fcb_agent_decide(agent, v.x + (size_t)who * dim, dim, &d) != FCB_OK ||
                fcb_agent_feedback(agent, d.event_id, d.action == v.labels[who] ? 1.0f : 0.0f) != FCB_OK) {
                fprintf(stderr, "news_page: %s\n", fcb_last_error());
                status = 1;
                break;
            }
            clicks += d.action == v.labels[who];
        }
        if (status == 0 && fcb_agent_flush(agent) != FCB_OK) {
            fprintf(stderr, "news_page: %s\n", fcb_last_error());
            status = 1;
        }
        if (status != 0)
            break;
        printf("block %d version %lld clicks %d/%d rate %.4f\n", b + 1, (long long)served, clicks, block_size,
               clicks / (double)block_size);
        fflush(stdout);
        if (stats.federated && !wait_for_new_model(agent, served, max_wait))
            break;
    }
    const char *learner = fcb_agent_learner_error(agent);
    if (learner[0]) {
        fprintf(stderr, "news_page: the agent's learner stopped: %s\n", learner);
        status = 1;
    }
    /* A failed store fails the close with the same error: say it once. */
    if (fcb_agent_close(agent) != FCB_OK && status == 0) {
        fprintf(stderr, "news_page: %s\n", fcb_last_error());
        status = 1;
    }
    free(v.labels);
    free(v.x);
    return status;
}
