#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent_store.h"
#include "fedcb/fedcb.h"
#include "rng.h"

/* Durability of the agent's store, with real processes: an application
 * (a forked child) decides and gives feedback, flushes now and then and
 * reports over a pipe what each flush acknowledged; it is killed with
 * SIGKILL at 20 moments drawn from a seeded stream, restarted on the same
 * store each time, and after every kill the store holds at least every
 * decision and feedback acknowledged, and the restarted application's
 * event ids continue after them. A corrupt store and a full disk each give
 * their one line. */

enum { D = 20, K = 10, KILLS = 20 };

static char temp_dir[256];

static int make_temp_dir(void **state)
{
    (void)state;
    snprintf(temp_dir, sizeof temp_dir, "/tmp/fedcb_test_agent_durability_XXXXXX");
    return mkdtemp(temp_dir) ? 0 : -1;
}

static int remove_temp_dir(void **state)
{
    (void)state;
    char command[600];
    snprintf(command, sizeof command, "rm -rf '%s'", temp_dir);
    return system(command) == 0 ? 0 : -1;
}

static void options_for(fcb_agent_options *o, const char *store)
{
    fcb_agent_options_default(o);
    o->input_dim = D;
    o->num_actions = K;
    o->learn_every = 0;
    o->store_path = store;
    o->quiet = 1;
}

/* What one flush acknowledged: the decisions and feedback made so far by
 * this run of the application, and its first event id. */
typedef struct {
    uint64_t first_id, decisions, feedback;
} ack;

static void application(const char *store, int out_fd, uint64_t seed)
{
    fcb_agent_options o;
    options_for(&o, store);
    fcb_agent *a;
    if (fcb_agent_open(&o, &a) != FCB_OK) {
        fprintf(stderr, "application: %s\n", fcb_last_error());
        _exit(3);
    }
    fcb_rng rng;
    fcb_rng_init(&rng, seed, FCB_STREAM_TEST, 0, 0);
    ack done = {0, 0, 0};
    float x[D];
    for (uint64_t i = 0;; i++) {
        for (int j = 0; j < D; j++)
            x[j] = (float)fcb_rng_uniform(&rng);
        fcb_decision d;
        if (fcb_agent_decide(a, x, D, &d) != FCB_OK)
            _exit(4);
        if (done.first_id == 0)
            done.first_id = d.event_id;
        done.decisions++;
        if (fcb_rng_uniform(&rng) < 0.5) {
            if (fcb_agent_feedback(a, d.event_id, 1.0f) != FCB_OK)
                _exit(5);
            done.feedback++;
        }
        if (i % 997 == 996) {
            if (fcb_agent_flush(a) != FCB_OK)
                _exit(6);
            if (write(out_fd, &done, sizeof done) != (ssize_t)sizeof done)
                _exit(7);
        }
    }
}

static void store_counts(const char *path, long *decisions, long *feedback, uint64_t *last_id)
{
    fcb_agent_store_options so = {.path = path, .input_dim = D, .num_actions = K, .sync_full = 1};
    fcb_agent_store *s;
    assert_int_equal(fcb_agent_store_open(&so, &s), FCB_OK);
    assert_int_equal(fcb_agent_store_counts(s, decisions, feedback), FCB_OK);
    *last_id = fcb_agent_store_last_event_id(s);
    assert_int_equal(fcb_agent_store_close(s), FCB_OK);
}

static void test_sigkill_loses_nothing_acknowledged(void **state)
{
    (void)state;
    char store[512];
    snprintf(store, sizeof store, "%s/app.db", temp_dir);
    fcb_rng moments;
    fcb_rng_init(&moments, 2026, FCB_STREAM_TEST, 0, 0);
    uint64_t acked_decisions = 0, acked_feedback = 0, last_id = 0;
    for (int kill_number = 1; kill_number <= KILLS; kill_number++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) {
            close(fds[0]);
            application(store, fds[1], (uint64_t)kill_number);
        }
        close(fds[1]);
        /* Kill after 1 to 6 acknowledged flushes plus 0 to 20 ms. */
        int flushes = 1 + (int)fcb_rng_below(&moments, 6);
        long extra_us = (long)fcb_rng_below(&moments, 20000);
        ack got = {0, 0, 0}, last = {0, 0, 0};
        for (int f = 0; f < flushes; f++) {
            assert_int_equal(read(fds[0], &got, sizeof got), (ssize_t)sizeof got);
            last = got;
        }
        struct timespec pause = {0, extra_us * 1000L};
        nanosleep(&pause, NULL);
        kill(child, SIGKILL);
        int status;
        waitpid(child, &status, 0);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        /* Flushes that completed between our last read and the kill count too. */
        while (read(fds[0], &got, sizeof got) == (ssize_t)sizeof got)
            last = got;
        close(fds[0]);
        assert_true(last.first_id > last_id); /* the run continued after the previous kill */
        acked_decisions += last.decisions;
        acked_feedback += last.feedback;
        long decisions, feedback;
        uint64_t stored_last;
        store_counts(store, &decisions, &feedback, &stored_last);
        assert_true((uint64_t)decisions >= acked_decisions);
        assert_true((uint64_t)feedback >= acked_feedback);
        assert_true(stored_last >= last.first_id + last.decisions - 1);
        print_message("kill %2d after %d flushes: acknowledged %llu decisions, %llu feedback; store holds %ld, %ld\n",
                      kill_number, flushes, (unsigned long long)acked_decisions, (unsigned long long)acked_feedback,
                      decisions, feedback);
        last_id = stored_last;
    }
}

static void test_corrupt_store_is_one_line(void **state)
{
    (void)state;
    char store[512];
    snprintf(store, sizeof store, "%s/corrupt.db", temp_dir);
    FILE *f = fopen(store, "wb");
    assert_non_null(f);
    for (int i = 0; i < 8192; i++)
        fputc((i * 131 + 7) & 0xff, f);
    fclose(f);
    fcb_agent_options o;
    options_for(&o, store);
    fcb_agent *a;
    assert_int_equal(fcb_agent_open(&o, &a), FCB_ERR_FORMAT);
    const char *e = fcb_last_error();
    print_message("corrupt store: %s\n", e);
    assert_non_null(strstr(e, store));
    assert_null(strchr(e, '\n'));
}

/* In a child limited to a 256 KiB file size: the store fills up. The
 * error comes back from flush and from every call after it. */
static void test_full_disk_is_one_line(void **state)
{
    (void)state;
    char store[512];
    snprintf(store, sizeof store, "%s/full.db", temp_dir);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(fds[0]);
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit limit = {256 * 1024, 256 * 1024};
        setrlimit(RLIMIT_FSIZE, &limit);
        fcb_agent_options o;
        options_for(&o, store);
        fcb_agent *a;
        char message[1024] = "";
        int code = 10;
        if (fcb_agent_open(&o, &a) == FCB_OK) {
            float x[D] = {0};
            fcb_decision d;
            fcb_status st = FCB_OK;
            for (int i = 0; i < 100000 && st == FCB_OK; i++) {
                st = fcb_agent_decide(a, x, D, &d);
                if (st == FCB_OK && i % 1000 == 999)
                    st = fcb_agent_flush(a);
            }
            snprintf(message, sizeof message, "%s", fcb_last_error());
            code = st == FCB_ERR_IO && fcb_agent_flush(a) == FCB_ERR_IO && fcb_agent_decide(a, x, D, &d) == FCB_ERR_IO
                       ? 0
                       : 11;
            fcb_agent_close(a);
        }
        if (write(fds[1], message, sizeof message) != (ssize_t)sizeof message)
            _exit(12);
        _exit(code);
    }
    close(fds[1]);
    char message[1024];
    assert_int_equal(read(fds[0], message, sizeof message), (ssize_t)sizeof message);
    close(fds[0]);
    int status;
    waitpid(child, &status, 0);
    print_message("full disk: %s\n", message);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_non_null(strstr(message, "disk full"));
    assert_non_null(strstr(message, store));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_loses_nothing_acknowledged),
        cmocka_unit_test(test_corrupt_store_is_one_line),
        cmocka_unit_test(test_full_disk_is_one_line),
    };
    return cmocka_run_group_tests(tests, make_temp_dir, remove_temp_dir);
}
