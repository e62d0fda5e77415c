/* The metrics line writer (cli/json_line.c) against jansson itself: every
 * real prints as json_dumps prints it at precision 10, whether the printf-
 * free path or snprintf answers, and whole lines (integers, reals, strings
 * with escapes, nested arrays and objects) are byte for byte what
 * json_dumpb writes for the same object with the flags metrics.jsonl used. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_line.h"
#include "rng.h"

enum { LINE_FLAGS = JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10) };

static long fast_decided, fast_declined;

static void check_real(double x)
{
    json_t *j = json_real(x);
    char *want = json_dumps(j, JSON_ENCODE_ANY | LINE_FLAGS);
    char got[32], fast[32];
    int n = fcb_json_real_text(x, got);
    if (want == NULL || strcmp(want, got) != 0 || (size_t)n != strlen(got))
        fail_msg("%.17g: jansson '%s', fcb_json_real_text '%s' (length %d)", x, want ? want : "(null)", got, n);
    if (fcb_json_real_text_fast(x, fast) >= 0) {
        fast_decided++;
        if (strcmp(fast, want) != 0)
            fail_msg("%.17g: jansson '%s', fast path '%s'", x, want, fast);
    } else {
        fast_declined++;
    }
    free(want);
    json_decref(j);
}

static double random_bits_double(fcb_rng *rng)
{
    for (;;) {
        uint64_t bits = fcb_rng_u64(rng);
        double x;
        memcpy(&x, &bits, sizeof x);
        if (isfinite(x))
            return x;
    }
}

static void test_reals_match_jansson(void **state)
{
    (void)state;
    fcb_rng rng;
    fcb_rng_init(&rng, 11, 0, 0, 0);
    const double fixed[] = {0.0, -0.0, 1.0, -1.0, 0.5, 0.125, 0.0625, 1e-4, 1e-5, 9.9999999995e-5, 1e9, 999999999.5,
                            999999999.4999, 9999999999.0, 1e10, 1e22, 1e-300, 5e-324, 1.7976931348623157e308, 0.1,
                            0.2, 0.3, 2.0 / 3.0, 1.0 / 3.0, 123456789.0, 0.123456789012345, 100.0, 1e8, 12.5, 0.875};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        check_real(fixed[i]);
    fast_decided = fast_declined = 0;
    /* Uniform in every decade of the fast range: the path must decide almost all. */
    for (int i = 0; i < 200000; i++) {
        int decade = -4 + (int)(fcb_rng_u32(&rng) % 13);
        double x = (1.0 + 9.0 * fcb_rng_uniform(&rng)) * pow(10.0, decade);
        check_real(fcb_rng_u32(&rng) & 1 ? -x : x);
    }
    if (fast_declined * 1000 > fast_decided)
        fail_msg("the fast path declined %ld of %ld values in [1e-4, 1e10)", fast_declined,
                 fast_decided + fast_declined);
    /* What metrics carry: averages of 0/1 rewards k / n and ratios of counts. */
    for (int i = 0; i < 100000; i++) {
        int n = 1 + (int)(fcb_rng_u32(&rng) % 1000000);
        int k = (int)(fcb_rng_u32(&rng) % ((uint32_t)n + 1));
        check_real((double)k / n);
    }
    /* Exact ties: m / 2^(k+1) with m odd is N + 1/2 after scaling by 10^k
     * when 5^k divides m; printf rounds them to even. */
    const double exact_ties[] = {123456789.25, 123456789.75, 12345678.125, 12345678.375, 1.0009765625,
                                 -1.0009765625, 2.0029296875, 0.5009765625};
    for (size_t i = 0; i < sizeof exact_ties / sizeof exact_ties[0]; i++)
        check_real(exact_ties[i]);
    for (int k = 1; k <= 9; k++) {
        double five_k = pow(5.0, k), scale = ldexp(1.0, -(k + 1));
        for (int i = 0; i < 2000; i++) {
            double m = five_k * (double)(2 * (fcb_rng_u64(&rng) % 2000000000u) + 1);
            check_real(m * scale);
        }
    }
    /* Next to rounding ties and powers of ten, and any bit pattern. */
    for (int i = 0; i < 50000; i++) {
        int e = -6 + (int)(fcb_rng_u32(&rng) % 18);
        double digits = 1e9 + (double)(fcb_rng_u64(&rng) % 9000000000u);
        double tie = (digits + 0.5) * pow(10.0, e - 9);
        double power = pow(10.0, e);
        double below = tie, above = tie;
        check_real(tie);
        for (int step = 0; step < 8; step++) { /* a tie's neighbours, one ulp at a time */
            below = nextafter(below, 0.0);
            above = nextafter(above, INFINITY);
            check_real(below);
            check_real(above);
        }
        check_real(power);
        check_real(nextafter(power, 0.0));
        check_real(nextafter(power, INFINITY));
        check_real(random_bits_double(&rng));
    }
}

/* One random line built twice: through fcb_json_line and as a jansson object. */
static void build_random_line(fcb_rng *rng, fcb_json_line *line, json_t *object)
{
    static const char *strings[] = {"preference", "", "quote \" backslash \\", "tab\tnew\nline\r\b\f",
                                    "control \x01\x1f", "utf-8 \xc3\xa9"};
    char key[32];
    int fields = 1 + (int)(fcb_rng_u32(rng) % 30);
    fcb_json_line_begin(line);
    for (int i = 0; i < fields; i++) {
        snprintf(key, sizeof key, "key_%d", i);
        switch (fcb_rng_u32(rng) % 5) {
        case 0: {
            long long v = (long long)fcb_rng_u64(rng) >> (fcb_rng_u32(rng) % 64);
            fcb_json_line_int(line, key, v);
            json_object_set_new(object, key, json_integer(v));
            break;
        }
        case 1: {
            double v = fcb_rng_u32(rng) % 4 == 0 ? random_bits_double(rng)
                                                  : (fcb_rng_uniform(rng) - 0.3) * pow(10.0, (int)(fcb_rng_u32(rng) % 16) - 6);
            fcb_json_line_real(line, key, v);
            json_object_set_new(object, key, json_real(v));
            break;
        }
        case 2: {
            const char *s = strings[fcb_rng_u32(rng) % (sizeof strings / sizeof strings[0])];
            fcb_json_line_string(line, key, s);
            json_object_set_new(object, key, json_string(s));
            break;
        }
        case 3: {
            int values[40], n = (int)(fcb_rng_u32(rng) % 40);
            json_t *a = json_array();
            for (int v = 0; v < n; v++) {
                values[v] = (int)fcb_rng_u32(rng);
                json_array_append_new(a, json_integer(values[v]));
            }
            fcb_json_line_int_array(line, key, values, n);
            json_object_set_new(object, key, a);
            break;
        }
        default: { /* an array of objects, as the coordinator's "resampled" */
            int n = (int)(fcb_rng_u32(rng) % 4);
            json_t *a = json_array();
            fcb_json_line_open(line, key, '[');
            for (int v = 0; v < n; v++) {
                json_t *o = json_object();
                fcb_json_line_open(line, NULL, '{');
                fcb_json_line_int(line, "attempt", v + 1);
                json_object_set_new(o, "attempt", json_integer(v + 1));
                fcb_json_line_null(line, "nothing");
                json_object_set_new(o, "nothing", json_null());
                fcb_json_line_close(line, '{');
                json_array_append_new(a, o);
            }
            fcb_json_line_close(line, '[');
            json_object_set_new(object, key, a);
            break;
        }
        }
    }
}

static void test_lines_match_jansson(void **state)
{
    (void)state;
    fcb_rng rng;
    fcb_rng_init(&rng, 12, 0, 0, 0);
    fcb_json_line line = {0};
    for (int i = 0; i < 5000; i++) {
        json_t *object = json_object();
        build_random_line(&rng, &line, object);
        assert_int_equal(fcb_json_line_end(&line), FCB_OK);
        char *want = json_dumps(object, LINE_FLAGS);
        assert_non_null(want);
        size_t n = strlen(want);
        if (line.length != n + 1 || memcmp(line.text, want, n) != 0 || line.text[n] != '\n')
            fail_msg("line %d:\njansson: %s\nfcb:     %.*s", i, want, (int)line.length, line.text);
        free(want);
        json_decref(object);
    }
    fcb_json_line_free(&line);
}

static void test_edge_cases(void **state)
{
    (void)state;
    fcb_json_line line = {0};
    fcb_json_line_begin(&line);
    fcb_json_line_real(&line, "nan", NAN);
    fcb_json_line_real(&line, "inf", -INFINITY);
    fcb_json_line_int(&line, "min", INT64_MIN);
    assert_int_equal(fcb_json_line_end(&line), FCB_OK);
    assert_string_equal(line.text, "{\"nan\":null,\"inf\":null,\"min\":-9223372036854775808}\n");
    /* An empty object, and the buffer reused for a shorter line. */
    fcb_json_line_begin(&line);
    assert_int_equal(fcb_json_line_end(&line), FCB_OK);
    assert_string_equal(line.text, "{}\n");
    /* An array left open is an error, not a truncated line. */
    fcb_json_line_begin(&line);
    fcb_json_line_open(&line, "open", '[');
    assert_int_not_equal(fcb_json_line_end(&line), FCB_OK);
    /* Deeper nesting than the writer tracks fails instead of writing wrong commas. */
    fcb_json_line_begin(&line);
    for (int i = 0; i < 20; i++)
        fcb_json_line_open(&line, i == 0 ? "deep" : NULL, '[');
    assert_int_not_equal(fcb_json_line_end(&line), FCB_OK);
    /* A long line grows the buffer. */
    fcb_json_line_begin(&line);
    char key[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        fcb_json_line_real(&line, key, i * 0.25);
    }
    assert_int_equal(fcb_json_line_end(&line), FCB_OK);
    assert_true(line.length > 20000);
    assert_non_null(strstr(line.text, "\"k1999\":499.75}\n"));
    fcb_json_line_free(&line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reals_match_jansson),
        cmocka_unit_test(test_lines_match_jansson),
        cmocka_unit_test(test_edge_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
