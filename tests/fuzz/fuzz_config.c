/* libFuzzer target for the run config (cli/config_file.c): the input up to
 * its first NUL byte is the INI file, fcb_config_load reads it over the
 * defaults; every line after the NUL is one `--set section.key=value`
 * (fcb_config_set); a config that takes all of them is validated, dumped and
 * hashed. Each step either succeeds or fails with a one-line message. */
#include <stdlib.h>
#include <string.h>

#include "config_file.h"
#include "fuzz_common.h"

static void dump_key(void *user, const char *section, const char *key, const char *value)
{
    size_t *total = user;
    *total += strlen(section) + strlen(key) + strlen(value);
}

static void apply_sets(fcb_config *config, const char *sets)
{
    char *copy = strdup(sets);
    fuzz_require(copy != NULL);
    char *save = NULL;
    fcb_status st = FCB_OK;
    for (char *line = strtok_r(copy, "\n", &save); line && st == FCB_OK; line = strtok_r(NULL, "\n", &save)) {
        st = fcb_config_set(config, line);
        if (st != FCB_OK)
            fuzz_check_failure(st);
    }
    free(copy);
    if (st != FCB_OK)
        return;
    st = fcb_config_validate(config);
    if (st != FCB_OK) {
        fuzz_check_failure(st);
        return;
    }
    size_t total = 0;
    fcb_config_visit(config, dump_key, &total);
    char hex[65];
    fcb_config_hash(config, hex);
    fuzz_require(strlen(hex) == 64);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[256];
    if (!path[0])
        fuzz_path(path, sizeof path, "run.ini");
    const uint8_t *nul = memchr(data, 0, size);
    size_t file_len = nul ? (size_t)(nul - data) : size;
    fuzz_write(path, data, file_len, 0);
    fcb_config *config = malloc(sizeof *config);
    fuzz_require(config != NULL);
    fcb_config_default(config);
    fcb_status st = fcb_config_load(config, path);
    if (st != FCB_OK) {
        fuzz_check_failure(st);
    } else {
        size_t sets_len = nul ? size - file_len - 1 : 0;
        char *sets = malloc(sets_len + 1);
        fuzz_require(sets != NULL);
        if (sets_len)
            memcpy(sets, nul + 1, sets_len);
        sets[sets_len] = '\0';
        apply_sets(config, sets);
        free(sets);
    }
    free(config);
    return 0;
}
