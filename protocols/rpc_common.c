#include "rpc_common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/slice.h>

static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
static int global_references;

void fcb_rpc_global_init(void)
{
    pthread_mutex_lock(&global_lock);
    if (global_references == 0)
        grpc_init();
    global_references++;
    pthread_mutex_unlock(&global_lock);
}

void fcb_rpc_global_shutdown(void)
{
    pthread_mutex_lock(&global_lock);
    if (global_references > 0) {
        global_references--;
        if (global_references == 0)
            grpc_shutdown_blocking();
    }
    pthread_mutex_unlock(&global_lock);
}

static const char *skip_uri_prefix(const char *target)
{
    static const char *const prefixes[] = {"dns:///", "ipv4:", "ipv6:"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t len = strlen(prefixes[i]);
        if (strncmp(target, prefixes[i], len) == 0)
            return target + len;
    }
    return target;
}

/* Copies the host part of "HOST:PORT", "[V6]:PORT", "[V6]", "HOST" or a bare
 * IPv6 address into host; 0 if malformed or too long. */
static int extract_host(const char *target, char *host, size_t capacity)
{
    const char *start = target;
    size_t len;
    if (*target == '[') {
        const char *close = strchr(target, ']');
        if (!close || (close[1] != '\0' && close[1] != ':'))
            return 0;
        start = target + 1;
        len = (size_t)(close - start);
    } else {
        const char *first_colon = strchr(target, ':');
        int bare_ipv6 = first_colon && strchr(first_colon + 1, ':');
        len = (first_colon && !bare_ipv6) ? (size_t)(first_colon - target) : strlen(target);
    }
    if (len == 0 || len >= capacity)
        return 0;
    memcpy(host, start, len);
    host[len] = '\0';
    return 1;
}

static int ipv6_is_loopback(const struct in6_addr *address)
{
    static const unsigned char loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const unsigned char v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(address->s6_addr, loopback, 16) == 0)
        return 1;
    return memcmp(address->s6_addr, v4_mapped_prefix, 12) == 0 && address->s6_addr[12] == 127;
}

int fcb_rpc_is_loopback(const char *host_port)
{
    if (!host_port)
        return 0;
    char host[256];
    if (!extract_host(skip_uri_prefix(host_port), host, sizeof host))
        return 0;
    if (strcasecmp(host, "localhost") == 0)
        return 1;
    struct in_addr v4;
    if (inet_pton(AF_INET, host, &v4) == 1)
        return ((const unsigned char *)&v4.s_addr)[0] == 127;
    struct in6_addr v6;
    if (inet_pton(AF_INET6, host, &v6) == 1)
        return ipv6_is_loopback(&v6);
    return 0;
}

const char *fcb_rpc_status_name(int grpc_status_code)
{
    static const char *const names[] = {
        "OK",           "CANCELLED",         "UNKNOWN",          "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED", "NOT_FOUND",    "ALREADY_EXISTS",   "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",  "OUT_OF_RANGE",
        "UNIMPLEMENTED", "INTERNAL",         "UNAVAILABLE",      "DATA_LOSS",
        "UNAUTHENTICATED"};
    if (grpc_status_code < 0 || grpc_status_code >= (int)(sizeof names / sizeof names[0]))
        return "UNKNOWN_STATUS";
    return names[grpc_status_code];
}

static int append_slice(uint8_t **bytes, size_t *len, size_t *capacity, grpc_slice slice)
{
    size_t slice_len = GRPC_SLICE_LENGTH(slice);
    if (*len + slice_len > *capacity) {
        size_t grown = *capacity * 2 > *len + slice_len ? *capacity * 2 : *len + slice_len;
        uint8_t *larger = realloc(*bytes, grown);
        if (!larger)
            return 0;
        *bytes = larger;
        *capacity = grown;
    }
    if (slice_len > 0)
        memcpy(*bytes + *len, GRPC_SLICE_START_PTR(slice), slice_len);
    *len += slice_len;
    return 1;
}

fcb_status fcb_rpc_copy_message(struct grpc_byte_buffer *message, uint8_t **bytes, size_t *len)
{
    *bytes = NULL;
    *len = 0;
    /* The wire length; a compressed message grows as it is read. */
    size_t capacity = message ? grpc_byte_buffer_length(message) : 0;
    if (capacity == 0)
        capacity = 1;
    uint8_t *copy = malloc(capacity);
    if (!copy)
        return fcb_fail(FCB_ERR_NOMEM, "no memory for a %zu-byte message", capacity);
    if (!message) {
        *bytes = copy;
        return FCB_OK;
    }
    grpc_byte_buffer_reader reader;
    if (!grpc_byte_buffer_reader_init(&reader, message)) {
        free(copy);
        return fcb_fail(FCB_ERR_FORMAT, "cannot decompress a received message");
    }
    size_t used = 0;
    int ok = 1;
    grpc_slice slice;
    while (ok && grpc_byte_buffer_reader_next(&reader, &slice)) {
        ok = append_slice(&copy, &used, &capacity, slice);
        grpc_slice_unref(slice);
    }
    grpc_byte_buffer_reader_destroy(&reader);
    if (!ok) {
        free(copy);
        return fcb_fail(FCB_ERR_NOMEM, "no memory to copy a received message");
    }
    *bytes = copy;
    *len = used;
    return FCB_OK;
}
