#include "tls_files.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { FCB_TLS_MAX_FILE_BYTES = 1 << 20 };

/* Reads the whole file into a NUL-terminated malloc'd string, growing the
 * buffer as needed (PEM files are a few KB). */
static fcb_status read_text_file(const char *path, char **out)
{
    *out = NULL;
    FILE *file = fopen(path, "rb");
    if (!file)
        return fcb_fail(FCB_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    size_t capacity = 4096;
    size_t len = 0;
    char *text = malloc(capacity);
    while (text) {
        len += fread(text + len, 1, capacity - 1 - len, file);
        if (len < capacity - 1 || capacity > FCB_TLS_MAX_FILE_BYTES)
            break;
        capacity *= 2;
        char *grown = realloc(text, capacity);
        if (!grown)
            free(text);
        text = grown;
    }
    int read_error = ferror(file);
    fclose(file);
    if (!text)
        return fcb_fail(FCB_ERR_NOMEM, "no memory to read %s", path);
    if (read_error || len == 0 || len >= FCB_TLS_MAX_FILE_BYTES) {
        free(text);
        if (read_error)
            return fcb_fail(FCB_ERR_IO, "cannot read %s", path);
        if (len == 0)
            return fcb_fail(FCB_ERR_IO, "%s is empty", path);
        return fcb_fail(FCB_ERR_IO, "%s is larger than %d bytes; not a PEM file", path,
                        FCB_TLS_MAX_FILE_BYTES);
    }
    text[len] = '\0';
    *out = text;
    return FCB_OK;
}

static fcb_status read_file_in_dir(const char *dir, const char *file_name, char **out)
{
    char path[4096];
    int written = snprintf(path, sizeof path, "%s/%s", dir, file_name);
    if (written < 0 || (size_t)written >= sizeof path)
        return fcb_fail(FCB_ERR_ARG, "TLS file path %s/%s is too long", dir, file_name);
    return read_text_file(path, out);
}

fcb_status fcb_tls_files_load(fcb_tls_files *out, const char *dir, const char *name)
{
    out->ca_pem = NULL;
    out->cert_pem = NULL;
    out->key_pem = NULL;
    if (!dir || !name || !*name)
        return fcb_fail(FCB_ERR_ARG, "TLS files need a directory and an endpoint name");
    char cert_name[512];
    char key_name[512];
    int cert_len = snprintf(cert_name, sizeof cert_name, "%s.crt", name);
    int key_len = snprintf(key_name, sizeof key_name, "%s.key", name);
    if (cert_len < 0 || key_len < 0 || (size_t)key_len >= sizeof key_name ||
        (size_t)cert_len >= sizeof cert_name)
        return fcb_fail(FCB_ERR_ARG, "TLS endpoint name %s is too long", name);

    fcb_status status = read_file_in_dir(dir, "ca.crt", &out->ca_pem);
    if (status == FCB_OK)
        status = read_file_in_dir(dir, cert_name, &out->cert_pem);
    if (status == FCB_OK)
        status = read_file_in_dir(dir, key_name, &out->key_pem);
    if (status != FCB_OK)
        fcb_tls_files_free(out);
    return status;
}

/* The key should not linger in freed heap memory; a volatile store keeps
 * the compiler from dropping the wipe. */
static void wipe_text(char *text)
{
    volatile char *cursor = text;
    while (*cursor)
        *cursor++ = '\0';
}

void fcb_tls_files_free(fcb_tls_files *files)
{
    if (!files)
        return;
    if (files->key_pem)
        wipe_text(files->key_pem);
    free(files->ca_pem);
    free(files->cert_pem);
    free(files->key_pem);
    files->ca_pem = NULL;
    files->cert_pem = NULL;
    files->key_pem = NULL;
}
