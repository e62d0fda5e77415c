/* The number parsers of the text formats (client/text_reader.c) against the C
 * library: fcb_parse_double must give strtod's double bit for bit, whether
 * its fast path or strtod answers, and fcb_parse_int strtol's value, on a
 * million generated tokens of every shape the formats meet plus edge cases. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "text_reader.h"

/* What fcb_parse_double accepts: the whole token is a finite strtod number. */
static int reference_double(const char *s, double *out)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

static void check_double(const char *s)
{
    double want = 0.0, got = 0.0;
    int ok_want = reference_double(s, &want);
    int ok_got = fcb_parse_double(s, &got);
    if (ok_want != ok_got)
        fail_msg("'%s': strtod %s it, fcb_parse_double %s it", s, ok_want ? "accepts" : "refuses",
                 ok_got ? "accepts" : "refuses");
    if (ok_want && memcmp(&want, &got, sizeof want) != 0)
        fail_msg("'%s': strtod %.17g, fcb_parse_double %.17g", s, want, got);
}

static void check_int(const char *s)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    int ok_want = !(end == s || *end != '\0' || errno == ERANGE || v < INT_MIN || v > INT_MAX);
    int got = 0;
    int ok_got = fcb_parse_int(s, &got);
    if (ok_want != ok_got || (ok_want && got != (int)v))
        fail_msg("'%s': strtol %s %ld, fcb_parse_int %s %d", s, ok_want ? "accepts" : "refuses", v,
                 ok_got ? "accepts" : "refuses", got);
}

static void test_edge_cases(void **state)
{
    (void)state;
    const char *cases[] = {"0", "-0", "+0", "0.0", "-0.0", ".5", "5.", ".", "-", "+", "", "1e", "1e+", "1e-",
                           "1e22", "1e23", "1e-22", "1e-23", "9007199254740992", "9007199254740993",
                           "9007199254740993.0", "1234567890123456789", "12345678901234567890", "0.1", "0.3",
                           "1.7976931348623157e308", "1e309", "4.9e-324", "1e-400", "0x1p3", "inf", "nan",
                           "1.5e0", "1.5E2", "1..5", "1.5.", "--1", "1-", "00012", "000.000123", "1e0005",
                           "0.00278586964", "-1.60158312", "2.12846732", "1 ", " 1", "1,5"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_double(cases[i]);
        check_int(cases[i]);
    }
    const char *ints[] = {"2147483647", "2147483648", "-2147483648", "-2147483649", "99999999999", "+7",
                          "-0", "007", "999999999999999999999"};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        check_int(ints[i]);
}

/* Random tokens: %.Ng of random doubles of many magnitudes (the form fedcb
 * and most tools write), hand-built decimals with long digit strings,
 * leading zeros and exponents, and random integers. */
static void test_random_tokens(void **state)
{
    (void)state;
    fcb_rng rng;
    fcb_rng_init(&rng, 11, FCB_STREAM_TEST, 0, 0);
    char s[96];
    for (int i = 0; i < 1000000; i++) {
        int kind = (int)(fcb_rng_uniform(&rng) * 4.0);
        if (kind == 0) {
            double v = (fcb_rng_uniform(&rng) - 0.5) * pow(10.0, (int)(fcb_rng_uniform(&rng) * 60.0) - 30);
            snprintf(s, sizeof s, "%.*g", 1 + (int)(fcb_rng_uniform(&rng) * 17.0), v);
        } else if (kind == 1) {
            int n = 0, digits = 1 + (int)(fcb_rng_uniform(&rng) * 24.0);
            if (fcb_rng_uniform(&rng) < 0.3)
                s[n++] = '-';
            int dot_at = (int)(fcb_rng_uniform(&rng) * (digits + 1));
            for (int d = 0; d < digits; d++) {
                if (d == dot_at)
                    s[n++] = '.';
                s[n++] = (char)('0' + (int)(fcb_rng_uniform(&rng) * (d == 0 && fcb_rng_uniform(&rng) < 0.5 ? 1 : 10)));
            }
            if (fcb_rng_uniform(&rng) < 0.3)
                n += snprintf(s + n, sizeof s - (size_t)n, "e%d", (int)(fcb_rng_uniform(&rng) * 70.0) - 35);
            s[n] = '\0';
        } else if (kind == 2) {
            snprintf(s, sizeof s, "%.9g", (double)(float)((fcb_rng_uniform(&rng) - 0.5) * 8.0));
        } else {
            long long v = (long long)((fcb_rng_uniform(&rng) - 0.5) * 1e11);
            snprintf(s, sizeof s, "%lld", v);
            check_int(s);
        }
        check_double(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edge_cases),
        cmocka_unit_test(test_random_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
