#include "conn_check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

enum {
    EXAMPLE_PORT = 50051,
    HOST_MAX = 256,
    SHOWN_MAX = 160,       /* user text quoted in a message is cut to this */
    ANSWER_WAIT_MS = 2000, /* wait for the server's first HTTP/2 bytes */
    IO_CHUNK = 16384,
    NAMES_MAX = 512
};

/* The HTTP/2 client connection preface and an empty SETTINGS frame. */
static const char H2_CLIENT_START[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                                      "\x00\x00\x00\x04\x00\x00\x00\x00\x00";
#define H2_CLIENT_START_LEN (sizeof H2_CLIENT_START - 1)

/* ------------------------------------------------------------------ */
/* Target parsing                                                      */

/* Copies user text for quoting in a message: non-printable bytes become
 * '?', so the message stays one line, and long text is cut with "...". */
static void show_text(const char *text, size_t len, char *out, size_t size)
{
    size_t keep = len < size - 1 ? len : size - 1;
    int cut = keep < len;
    if (cut && keep >= 3)
        keep -= 3;
    for (size_t i = 0; i < keep; i++) {
        unsigned char ch = (unsigned char)text[i];
        out[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    out[keep] = '\0';
    if (cut && size >= 4)
        memcpy(out + keep, "...", 4);
}

static int is_alnum(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static int is_host_char(char ch)
{
    return is_alnum(ch) || ch == '-' || ch == '.' || ch == '_';
}

/* 1 if text is an IPv4 or IPv6 address; an IPv6 zone ("%eth0") is ignored. */
static int is_ip_address(const char *text)
{
    unsigned char binary[sizeof(struct in6_addr)];
    char address[INET6_ADDRSTRLEN + 1];
    size_t len = strcspn(text, "%");
    if (len >= sizeof address)
        return 0;
    memcpy(address, text, len);
    address[len] = '\0';
    return inet_pton(AF_INET, address, binary) == 1 || inet_pton(AF_INET6, address, binary) == 1;
}

/* Skips a gRPC scheme; *family is the address family the scheme demands.
 * NULL for "dns://SERVER/...", which names its own DNS server. */
static const char *skip_scheme(const char *target, int *family)
{
    *family = AF_UNSPEC;
    if (strncmp(target, "ipv4:", 5) == 0) {
        *family = AF_INET;
        return target + 5;
    }
    if (strncmp(target, "ipv6:", 5) == 0) {
        *family = AF_INET6;
        return target + 5;
    }
    if (strncmp(target, "dns:", 4) != 0)
        return target;
    if (strncmp(target + 4, "//", 2) != 0)
        return target + 4;
    return target[6] == '/' ? target + 7 : NULL;
}

typedef struct {
    const char *shown;  /* the whole target, printable */
    const char *prefix; /* the scheme prefix as written */
    int prefix_len;
    const char *host;
    size_t host_len;
    const char *port; /* NULL when there is no ':' after the host */
    int bracketed;
} target_parts;

static fcb_status split_host_port(const char *rest, target_parts *parts)
{
    if (rest[0] == '[') {
        const char *close = strchr(rest, ']');
        if (!close)
            return fcb_fail(FCB_ERR_ARG, "--coordinator '%s' has '[' without ']'", parts->shown);
        parts->host = rest + 1;
        parts->host_len = (size_t)(close - rest - 1);
        parts->bracketed = 1;
        if (close[1] == ':')
            parts->port = close + 2;
        else if (close[1] != '\0')
            return fcb_fail(FCB_ERR_ARG, "--coordinator '%s' has text after ']' that is not :PORT",
                            parts->shown);
        return FCB_OK;
    }
    const char *colon = strchr(rest, ':');
    parts->host = rest;
    parts->host_len = colon ? (size_t)(colon - rest) : strlen(rest);
    if (colon && strchr(colon + 1, ':'))
        return fcb_fail(FCB_ERR_ARG,
                        "--coordinator '%s' has more than one ':'; write an IPv6 address in "
                        "brackets, e.g. [::1]:%d",
                        parts->shown, EXAMPLE_PORT);
    if (colon)
        parts->port = colon + 1;
    return FCB_OK;
}

static fcb_status check_host(const target_parts *parts, const char *host, int family)
{
    for (const char *ch = host; *ch; ch++) {
        int allowed = is_host_char(*ch) || (parts->bracketed && (*ch == ':' || *ch == '%'));
        if (!allowed)
            return fcb_fail(FCB_ERR_ARG,
                            "--coordinator '%s': the host may hold only letters, digits, '-', "
                            "'.' and '_' (or an IPv6 address in brackets)",
                            parts->shown);
    }
    if (parts->bracketed && (!strchr(host, ':') || !is_ip_address(host)))
        return fcb_fail(FCB_ERR_ARG, "--coordinator '%s': '[%s]' is not an IPv6 address",
                        parts->shown, host);
    unsigned char binary[sizeof(struct in_addr)];
    if (family == AF_INET && (parts->bracketed || inet_pton(AF_INET, host, binary) != 1))
        return fcb_fail(FCB_ERR_ARG,
                        "--coordinator '%s': the host after ipv4: must be an IPv4 address",
                        parts->shown);
    if (family == AF_INET6 && !parts->bracketed)
        return fcb_fail(FCB_ERR_ARG,
                        "--coordinator '%s': the address after ipv6: must be in brackets, e.g. "
                        "ipv6:[::1]:%d",
                        parts->shown, EXAMPLE_PORT);
    return FCB_OK;
}

static fcb_status check_port(const target_parts *parts, const char *host, int *port)
{
    if (!parts->port || !parts->port[0])
        return fcb_fail(FCB_ERR_ARG,
                        "--coordinator '%s' has no port; write HOST:PORT, e.g. %.*s%s%s%s:%d",
                        parts->shown, parts->prefix_len, parts->prefix, parts->bracketed ? "[" : "",
                        host, parts->bracketed ? "]" : "", EXAMPLE_PORT);
    long value = 0;
    size_t digits = strspn(parts->port, "0123456789");
    if (digits == strlen(parts->port) && digits <= 5)
        value = strtol(parts->port, NULL, 10);
    if (value < 1 || value > 65535) {
        char shown_port[SHOWN_MAX];
        show_text(parts->port, strlen(parts->port), shown_port, sizeof shown_port);
        return fcb_fail(FCB_ERR_ARG,
                        "--coordinator '%s': port '%s' is not a number from 1 to 65535",
                        parts->shown, shown_port);
    }
    *port = (int)value;
    return FCB_OK;
}

fcb_status fcb_parse_target(const char *target, char *host, size_t host_size, int *port)
{
    if (!host || host_size == 0 || !port)
        return fcb_fail(FCB_ERR_ARG, "fcb_parse_target needs room for the host and the port");
    host[0] = '\0';
    *port = 0;
    if (!target || !target[0])
        return fcb_fail(FCB_ERR_ARG, "--coordinator is empty; write HOST:PORT, e.g. localhost:%d",
                        EXAMPLE_PORT);
    char shown[SHOWN_MAX];
    show_text(target, strlen(target), shown, sizeof shown);
    int family;
    const char *rest = skip_scheme(target, &family);
    if (!rest)
        return fcb_fail(FCB_ERR_ARG,
                        "--coordinator '%s' names a DNS server (dns://SERVER/...), which is not "
                        "supported; write HOST:PORT or dns:///HOST:PORT",
                        shown);
    if (strchr(rest, ','))
        return fcb_fail(FCB_ERR_ARG,
                        "--coordinator '%s' lists several addresses; give one HOST:PORT", shown);
    target_parts parts = {.shown = shown, .prefix = target, .prefix_len = (int)(rest - target)};
    fcb_status status = split_host_port(rest, &parts);
    if (status != FCB_OK)
        return status;
    if (parts.host_len == 0)
        return fcb_fail(FCB_ERR_ARG,
                        "--coordinator '%s' has no host; write HOST:PORT, e.g. localhost:%d", shown,
                        EXAMPLE_PORT);
    if (parts.host_len >= host_size)
        return fcb_fail(FCB_ERR_ARG, "--coordinator '%s': the host is longer than %zu characters",
                        shown, host_size - 1);
    memcpy(host, parts.host, parts.host_len);
    host[parts.host_len] = '\0';
    status = check_host(&parts, host, family);
    if (status == FCB_OK)
        status = check_port(&parts, host, port);
    if (status != FCB_OK) {
        host[0] = '\0';
        *port = 0;
    }
    return status;
}

/* ------------------------------------------------------------------ */
/* The state of one check, messages and clocks                         */

typedef struct {
    char host[HOST_MAX];
    int port;
    int host_is_ip;
    char endpoint[HOST_MAX + 16];       /* HOST:PORT or [V6]:PORT */
    char address[INET6_ADDRSTRLEN + 4]; /* " (ADDRESS)" for a host name, else "" */
    char seconds[32];                   /* the timeout as text */
    int64_t deadline;                   /* CLOCK_MONOTONIC milliseconds */
    int fd;
    char *message;
    size_t size;
} conn_check;

static fcb_conn_fault say(conn_check *c, fcb_conn_fault fault, const char *fmt, ...)
    FCB_PRINTF(3, 4);

static fcb_conn_fault say(conn_check *c, fcb_conn_fault fault, const char *fmt, ...)
{
    if (!c->message || c->size == 0)
        return fault;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->message, c->size, fmt, ap);
    va_end(ap);
    for (char *ch = c->message; *ch; ch++) {
        if (*ch == '\n' || *ch == '\r')
            *ch = ' ';
    }
    return fault;
}

static const char *errno_text(int err, char *buf, size_t size)
{
    if (strerror_r(err, buf, size) != 0)
        snprintf(buf, size, "error %d", err);
    return buf;
}

static int64_t now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static int ms_until(int64_t deadline)
{
    int64_t left = deadline - now_ms();
    if (left < 0)
        return 0;
    return left > INT_MAX ? INT_MAX : (int)left;
}

/* Waits for events on fd until deadline: 1 ready, 0 timed out, -1 error. */
static int wait_for(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd entry = {.fd = fd, .events = events};
        int ready = poll(&entry, 1, ms_until(deadline));
        if (ready > 0)
            return 1;
        if (ready == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

/* Sends all of data; 0 or an errno value (ETIMEDOUT at the deadline). */
static int send_all(int fd, const void *data, size_t len, int64_t deadline)
{
    const char *next = data;
    while (len > 0) {
        ssize_t sent = send(fd, next, len, MSG_NOSIGNAL);
        if (sent > 0) {
            next += sent;
            len -= (size_t)sent;
            continue;
        }
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return errno;
        int ready = wait_for(fd, POLLOUT, deadline);
        if (ready <= 0)
            return ready == 0 ? ETIMEDOUT : errno;
    }
    return 0;
}

/* The moment to stop waiting for the server's first answer. */
static int64_t answer_deadline(const conn_check *c)
{
    int64_t soon = now_ms() + ANSWER_WAIT_MS;
    return soon < c->deadline ? soon : c->deadline;
}

/* ------------------------------------------------------------------ */
/* Name resolution and TCP                                             */

static fcb_conn_fault resolve(conn_check *c, struct addrinfo **out)
{
    char port_text[8];
    snprintf(port_text, sizeof port_text, "%d", c->port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_NUMERICSERV;
    *out = NULL;
    int rc = getaddrinfo(c->host, port_text, &hints, out);
    if (rc == 0)
        return FCB_CONN_OK;
    *out = NULL;
    char text[128];
    if (rc == EAI_MEMORY)
        return say(c, FCB_CONN_LOCAL, "cannot resolve '%s': out of memory", c->host);
    if (rc == EAI_SYSTEM)
        return say(c, FCB_CONN_RESOLVE, "cannot resolve '%s': %s", c->host,
                   errno_text(errno, text, sizeof text));
    return say(c, FCB_CONN_RESOLVE, "cannot resolve '%s': %s", c->host, gai_strerror(rc));
}

/* Waits for a non-blocking connect to finish; 0 or an errno value. */
static int finish_connect(int fd, int64_t deadline)
{
    int ready = wait_for(fd, POLLOUT, deadline);
    if (ready == 0)
        return ETIMEDOUT;
    if (ready < 0)
        return errno;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return errno;
    return err;
}

/* Connects to one address before deadline; 0 with *fd_out, or an errno
 * value (ETIMEDOUT when the deadline passed). */
static int connect_address(const struct addrinfo *ai, int64_t deadline, int *fd_out)
{
    *fd_out = -1;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return errno;
    int err = 0;
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
        err = errno;
    else if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0)
        err = errno == EINPROGRESS || errno == EINTR ? finish_connect(fd, deadline) : errno;
    if (err != 0) {
        close(fd);
        return err;
    }
    *fd_out = fd;
    return 0;
}

/* Which failure to report when every address failed: the one that says
 * most about the server. */
static int connect_error_rank(int err)
{
    if (err == ECONNREFUSED)
        return 3;
    if (err == ETIMEDOUT)
        return 2;
    if (err == ENETUNREACH || err == EHOSTUNREACH)
        return 1;
    return 0;
}

static void note_address(conn_check *c, const struct addrinfo *ai)
{
    char text[INET6_ADDRSTRLEN];
    c->address[0] = '\0';
    if (!c->host_is_ip &&
        getnameinfo(ai->ai_addr, ai->ai_addrlen, text, sizeof text, NULL, 0, NI_NUMERICHOST) == 0)
        snprintf(c->address, sizeof c->address, " (%s)", text);
}

static fcb_conn_fault connect_fault(conn_check *c, int err)
{
    char text[128];
    errno_text(err, text, sizeof text);
    switch (err) {
    case ECONNREFUSED:
        return say(c, FCB_CONN_REFUSED,
                   "connection refused by %s%s: nothing listens there (is the coordinator "
                   "running, is the port right?)",
                   c->endpoint, c->address);
    case ETIMEDOUT:
        return say(c, FCB_CONN_TIMEOUT,
                   "no answer from %s%s within %s s (host down, or a firewall drops the packets)",
                   c->endpoint, c->address, c->seconds);
    case ENETUNREACH:
    case EHOSTUNREACH:
        return say(c, FCB_CONN_UNREACHABLE, "cannot reach %s%s: %s (no route from this machine)",
                   c->endpoint, c->address, text);
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
        return say(c, FCB_CONN_LOCAL, "cannot open a connection to %s: %s", c->endpoint, text);
    default:
        return say(c, FCB_CONN_UNREACHABLE, "cannot connect to %s%s: %s", c->endpoint, c->address,
                   text);
    }
}

/* Tries the addresses in turn, each with an equal share of the time left,
 * and keeps the first connection. */
static fcb_conn_fault connect_any(conn_check *c, const struct addrinfo *list)
{
    int remaining = 0;
    for (const struct addrinfo *ai = list; ai; ai = ai->ai_next)
        remaining++;
    int best_err = 0;
    int best_rank = -1;
    char best_address[sizeof c->address] = "";
    for (const struct addrinfo *ai = list; ai; ai = ai->ai_next, remaining--) {
        int64_t share = now_ms() + ms_until(c->deadline) / remaining;
        int err = connect_address(ai, share, &c->fd);
        note_address(c, ai);
        if (err == 0)
            return FCB_CONN_OK;
        if (connect_error_rank(err) > best_rank) {
            best_rank = connect_error_rank(err);
            best_err = err;
            memcpy(best_address, c->address, sizeof best_address);
        }
    }
    memcpy(c->address, best_address, sizeof c->address);
    return connect_fault(c, best_err);
}

static fcb_conn_fault reach(conn_check *c, int timeout_ms)
{
    struct addrinfo *list = NULL;
    fcb_conn_fault fault = resolve(c, &list);
    if (fault != FCB_CONN_OK)
        return fault;
    /* The timeout starts after the name lookup, which getaddrinfo bounds. */
    c->deadline = now_ms() + timeout_ms;
    fault = connect_any(c, list);
    freeaddrinfo(list);
    return fault;
}

/* ------------------------------------------------------------------ */
/* What the server says first                                          */

static int looks_like_tls(const unsigned char *bytes, size_t len)
{
    return len >= 2 && bytes[0] >= 0x14 && bytes[0] <= 0x17 && bytes[1] == 0x03;
}

/* The server's HTTP/2 connection preface starts with a SETTINGS frame
 * (type 4) on stream 0. */
static int looks_like_settings(const unsigned char *bytes, size_t len)
{
    if (len < 4 || bytes[3] != 0x04)
        return 0;
    return len < 9 || ((bytes[5] & 0x7f) == 0 && bytes[6] == 0 && bytes[7] == 0 && bytes[8] == 0);
}

typedef enum { RECV_FULL, RECV_TIMEOUT, RECV_CLOSED } recv_result;

/* Reads until want bytes arrived, the peer closed or the deadline passed. */
static recv_result receive_some(int fd, unsigned char *buf, size_t want, size_t *got,
                                int64_t deadline)
{
    *got = 0;
    while (*got < want) {
        int ready = wait_for(fd, POLLIN, deadline);
        if (ready == 0)
            return RECV_TIMEOUT;
        if (ready < 0)
            return RECV_CLOSED;
        ssize_t n = recv(fd, buf + *got, want - *got, 0);
        if (n > 0)
            *got += (size_t)n;
        else if (n == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK))
            return RECV_CLOSED;
    }
    return RECV_FULL;
}

static fcb_conn_fault check_plaintext(conn_check *c)
{
    /* A send error means the server already hung up; what it sent before
     * that is still worth reading. */
    (void)send_all(c->fd, H2_CLIENT_START, H2_CLIENT_START_LEN, c->deadline);
    unsigned char answer[9];
    size_t got = 0;
    recv_result result = receive_some(c->fd, answer, sizeof answer, &got, answer_deadline(c));
    if (looks_like_tls(answer, got))
        return say(c, FCB_CONN_TLS_SERVER,
                   "the coordinator at %s speaks TLS; use --tls-dir instead of --insecure",
                   c->endpoint);
    if (got == 0 && result == RECV_CLOSED)
        return say(c, FCB_CONN_TLS_SERVER,
                   "the coordinator at %s closed the connection without answering HTTP/2: it most "
                   "likely speaks TLS; use --tls-dir instead of --insecure",
                   c->endpoint);
    if (got == 0)
        return say(c, FCB_CONN_OK, "connected to %s (plaintext); no answer yet within %s s",
                   c->endpoint, c->seconds);
    if (!looks_like_settings(answer, got))
        return say(c, FCB_CONN_NOT_GRPC,
                   "the server at %s answered, but not with HTTP/2: it is not a fedcb coordinator "
                   "(wrong host or port?)",
                   c->endpoint);
    return say(c, FCB_CONN_OK, "the coordinator at %s answers plaintext HTTP/2", c->endpoint);
}

/* ------------------------------------------------------------------ */
/* TLS context from the PEM texts                                      */

/* Makes an encrypted key fail to load instead of prompting on the tty. */
static int no_passphrase(char *buf, int size, int rwflag, void *userdata)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)userdata;
    return 0;
}

static const char *openssl_reason(unsigned long err)
{
    const char *reason = err ? ERR_reason_error_string(err) : NULL;
    return reason ? reason : "no reason given";
}

static fcb_conn_fault files_fault(conn_check *c, const char *what)
{
    unsigned long err = ERR_peek_last_error();
    return say(c, FCB_CONN_TLS_FILES, "TLS: %s (%s)", what, openssl_reason(err));
}

static fcb_conn_fault load_trust(conn_check *c, SSL_CTX *ctx, const char *ca_pem)
{
    BIO *bio = BIO_new_mem_buf(ca_pem, -1);
    if (!bio)
        return say(c, FCB_CONN_LOCAL, "TLS: out of memory");
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    int count = 0;
    int failed = 0;
    X509 *cert;
    while (!failed && (cert = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) != NULL) {
        failed = X509_STORE_add_cert(store, cert) != 1;
        count++;
        X509_free(cert);
    }
    BIO_free(bio);
    if (failed)
        return files_fault(c, "cannot use the CA certificate in ca.crt");
    if (count == 0)
        return files_fault(c, "ca.crt holds no PEM certificate");
    /* Reading past the last certificate leaves a "no start line" error. */
    ERR_clear_error();
    return FCB_CONN_OK;
}

static fcb_conn_fault load_certificate_chain(conn_check *c, SSL_CTX *ctx, const char *cert_pem)
{
    BIO *bio = BIO_new_mem_buf(cert_pem, -1);
    if (!bio)
        return say(c, FCB_CONN_LOCAL, "TLS: out of memory");
    X509 *leaf = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
    int ok = leaf && SSL_CTX_use_certificate(ctx, leaf) == 1;
    X509_free(leaf);
    X509 *issuer;
    while (ok && (issuer = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) != NULL) {
        ok = SSL_CTX_add0_chain_cert(ctx, issuer) == 1;
        if (!ok)
            X509_free(issuer);
    }
    BIO_free(bio);
    if (!ok)
        return files_fault(c, "cannot use this client's certificate");
    ERR_clear_error();
    return FCB_CONN_OK;
}

static fcb_conn_fault load_key(conn_check *c, SSL_CTX *ctx, const char *key_pem)
{
    BIO *bio = BIO_new_mem_buf(key_pem, -1);
    if (!bio)
        return say(c, FCB_CONN_LOCAL, "TLS: out of memory");
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    if (!key)
        return files_fault(
            c, "cannot read this client's private key (an encrypted key is not supported)");
    int ok = SSL_CTX_use_PrivateKey(ctx, key) == 1;
    EVP_PKEY_free(key);
    if (!ok || SSL_CTX_check_private_key(ctx) != 1)
        return files_fault(c, "this client's certificate and private key do not belong together");
    return FCB_CONN_OK;
}

static fcb_conn_fault make_context(conn_check *c, const fcb_tls_files *tls, SSL_CTX **out)
{
    *out = NULL;
    if (!tls->ca_pem)
        return say(c, FCB_CONN_TLS_FILES,
                   "TLS: no CA certificate (ca.crt) to check the coordinator against");
    if (!tls->cert_pem != !tls->key_pem)
        return say(
            c, FCB_CONN_TLS_FILES,
            "TLS: this client has a certificate without a key or a key without a certificate");
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return say(c, FCB_CONN_LOCAL, "TLS: cannot create a context (%s)",
                   openssl_reason(ERR_peek_last_error()));
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    fcb_conn_fault fault = load_trust(c, ctx, tls->ca_pem);
    if (fault == FCB_CONN_OK && tls->cert_pem)
        fault = load_certificate_chain(c, ctx, tls->cert_pem);
    if (fault == FCB_CONN_OK && tls->key_pem)
        fault = load_key(c, ctx, tls->key_pem);
    if (fault != FCB_CONN_OK) {
        SSL_CTX_free(ctx);
        return fault;
    }
    *out = ctx;
    return FCB_CONN_OK;
}

/* ------------------------------------------------------------------ */
/* A TLS session driven over memory BIOs, so every socket operation is  */
/* ours: poll() bounds it and send() uses MSG_NOSIGNAL.                 */

typedef struct {
    SSL *ssl;
    BIO *in;    /* socket -> OpenSSL; owned by ssl */
    BIO *out;   /* OpenSSL -> socket; owned by ssl */
    int closed; /* the server closed or reset the connection */
    int presented_cert;
    unsigned char first[2]; /* the first bytes the server sent */
    size_t first_len;
} tls_link;

static fcb_conn_fault set_peer_name(conn_check *c, SSL *ssl)
{
    if (!c->host_is_ip) {
        if (SSL_set_tlsext_host_name(ssl, c->host) == 1 && SSL_set1_host(ssl, c->host) == 1)
            return FCB_CONN_OK;
        return say(c, FCB_CONN_LOCAL, "TLS: cannot set the server name '%s'", c->host);
    }
    char address[HOST_MAX];
    size_t len = strcspn(c->host, "%");
    memcpy(address, c->host, len);
    address[len] = '\0';
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), address) == 1)
        return FCB_CONN_OK;
    return say(c, FCB_CONN_LOCAL, "TLS: cannot set the server address '%s'", address);
}

static fcb_conn_fault make_link(conn_check *c, SSL_CTX *ctx, tls_link *link)
{
    BIO *in = BIO_new(BIO_s_mem());
    BIO *out = BIO_new(BIO_s_mem());
    SSL *ssl = in && out ? SSL_new(ctx) : NULL;
    if (!ssl) {
        BIO_free(in);
        BIO_free(out);
        return say(c, FCB_CONN_LOCAL, "TLS: out of memory");
    }
    /* An empty input BIO means "wait for more", not end of stream. */
    BIO_set_mem_eof_return(in, -1);
    SSL_set_bio(ssl, in, out);
    SSL_set_connect_state(ssl);
    link->ssl = ssl;
    link->in = in;
    link->out = out;
    link->presented_cert = SSL_CTX_get0_certificate(ctx) != NULL;
    static const unsigned char alpn_h2[] = {2, 'h', '2'};
    if (SSL_set_alpn_protos(ssl, alpn_h2, sizeof alpn_h2) != 0)
        return say(c, FCB_CONN_LOCAL, "TLS: cannot offer ALPN h2");
    return set_peer_name(c, ssl);
}

/* Sends what OpenSSL wrote. When the server has hung up the bytes are
 * dropped: what it sent before (an alert) is still to be read. */
static void flush_output(conn_check *c, tls_link *link, int64_t deadline)
{
    char chunk[IO_CHUNK];
    int n;
    int failed = 0;
    while ((n = BIO_read(link->out, chunk, sizeof chunk)) > 0) {
        if (!failed)
            failed = send_all(c->fd, chunk, (size_t)n, deadline) != 0;
    }
}

/* Moves what the server sent into OpenSSL: 1 bytes came, 0 timed out,
 * -1 the connection ended (OpenSSL then sees the end of the stream). */
static int receive_input(conn_check *c, tls_link *link, int64_t deadline)
{
    unsigned char chunk[IO_CHUNK];
    for (;;) {
        int ready = wait_for(c->fd, POLLIN, deadline);
        if (ready == 0)
            return 0;
        ssize_t n = ready > 0 ? recv(c->fd, chunk, sizeof chunk, 0) : -1;
        if (n < 0 && ready > 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n <= 0 || BIO_write(link->in, chunk, (int)n) != (int)n) {
            link->closed = 1;
            BIO_set_mem_eof_return(link->in, 0);
            return -1;
        }
        for (ssize_t i = 0; i < n && link->first_len < sizeof link->first; i++)
            link->first[link->first_len++] = chunk[i];
        return 1;
    }
}

typedef enum { STEP_HANDSHAKE, STEP_WRITE, STEP_READ } tls_step;

static int call_step(SSL *ssl, tls_step step, void *buf, int len)
{
    if (step == STEP_HANDSHAKE)
        return SSL_do_handshake(ssl);
    if (step == STEP_WRITE)
        return SSL_write(ssl, buf, len);
    return SSL_read(ssl, buf, len);
}

/* Runs one OpenSSL operation to its end: its positive result, 0 when it
 * failed (the error queue and link->closed tell why) or -1 at the
 * deadline. */
static int run_step(conn_check *c, tls_link *link, tls_step step, void *buf, int len,
                    int64_t deadline)
{
    for (;;) {
        int result = call_step(link->ssl, step, buf, len);
        int error = result > 0 ? SSL_ERROR_NONE : SSL_get_error(link->ssl, result);
        flush_output(c, link, deadline);
        if (result > 0)
            return result;
        if (error == SSL_ERROR_ZERO_RETURN)
            link->closed = 1; /* close_notify */
        if (error != SSL_ERROR_WANT_READ || link->closed)
            return 0;
        if (receive_input(c, link, deadline) == 0)
            return -1;
    }
}

/* ------------------------------------------------------------------ */
/* Classifying a TLS failure                                           */

/* Appends the SAN entries (DNS names and IP addresses) of cert, or its CN
 * when it has none, as "a, b, c". */
static void list_names(X509 *cert, char *out, size_t size)
{
    out[0] = '\0';
    size_t used = 0;
    GENERAL_NAMES *names = cert ? X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL) : NULL;
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);
        char text[SHOWN_MAX];
        text[0] = '\0';
        if (name->type == GEN_DNS)
            show_text((const char *)ASN1_STRING_get0_data(name->d.dNSName),
                      (size_t)ASN1_STRING_length(name->d.dNSName), text, sizeof text);
        else if (name->type == GEN_IPADD && ASN1_STRING_length(name->d.iPAddress) == 4)
            inet_ntop(AF_INET, ASN1_STRING_get0_data(name->d.iPAddress), text, sizeof text);
        else if (name->type == GEN_IPADD && ASN1_STRING_length(name->d.iPAddress) == 16)
            inet_ntop(AF_INET6, ASN1_STRING_get0_data(name->d.iPAddress), text, sizeof text);
        if (text[0] && used < size)
            used += (size_t)snprintf(out + used, size - used, "%s%s", used ? ", " : "", text);
    }
    GENERAL_NAMES_free(names);
    if (out[0] || !cert)
        return;
    char common_name[SHOWN_MAX];
    int len = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, common_name,
                                        sizeof common_name);
    if (len > 0) {
        char shown[SHOWN_MAX];
        show_text(common_name, (size_t)len, shown, sizeof shown);
        snprintf(out, size, "CN=%s", shown);
    }
}

/* The server's certificate; OpenSSL keeps the chain it received even when
 * verifying it failed. */
static X509 *server_certificate(SSL *ssl)
{
    X509 *cert = SSL_get0_peer_certificate(ssl);
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
    if (!cert && chain && sk_X509_num(chain) > 0)
        cert = sk_X509_value(chain, 0);
    return cert;
}

static int is_unknown_issuer(long verify)
{
    switch (verify) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE: return 1;
    default: return 0;
    }
}

static fcb_conn_fault verify_fault(conn_check *c, tls_link *link, long verify)
{
    const char *reason = X509_verify_cert_error_string(verify);
    if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        char names[NAMES_MAX];
        list_names(server_certificate(link->ssl), names, sizeof names);
        return say(
            c, FCB_CONN_TLS_NAME,
            "TLS: the coordinator's certificate does not name '%s' (it names: %s); dial one of "
            "those names or remake the server certificate with certs/make-dev-certs.sh --names",
            c->host, names[0] ? names : "nothing");
    }
    if (is_unknown_issuer(verify))
        return say(c, FCB_CONN_TLS_UNKNOWN_CA,
                   "TLS: the coordinator's certificate is not signed by the CA in ca.crt (%s)",
                   reason);
    return say(c, FCB_CONN_TLS_OTHER, "TLS: the coordinator's certificate is not acceptable (%s)",
               reason);
}

/* The alerts a server sends when it refuses the client's certificate. */
static int is_client_cert_alert(int alert, int presented_cert)
{
    switch (alert) {
    case SSL_AD_BAD_CERTIFICATE:
    case SSL_AD_UNSUPPORTED_CERTIFICATE:
    case SSL_AD_CERTIFICATE_REVOKED:
    case SSL_AD_CERTIFICATE_EXPIRED:
    case SSL_AD_CERTIFICATE_UNKNOWN:
    case SSL_AD_UNKNOWN_CA:
    case SSL_AD_ACCESS_DENIED:
    case SSL_AD_CERTIFICATE_REQUIRED: return 1;
    case SSL_AD_HANDSHAKE_FAILURE:
        /* What a TLS 1.2 server sends when the client sent no certificate. */
        return !presented_cert;
    default: return 0;
    }
}

typedef struct {
    unsigned long first; /* the first error queued, 0 if none */
    unsigned long alert; /* the error for an alert from the server, 0 if none */
} tls_errors;

/* Empties this thread's OpenSSL error queue into *errors. */
static void take_errors(tls_errors *errors)
{
    errors->first = 0;
    errors->alert = 0;
    unsigned long err;
    while ((err = ERR_get_error()) != 0) {
        if (!errors->first)
            errors->first = err;
        int reason = ERR_GET_REASON(err);
        if (!ERR_SYSTEM_ERROR(err) && ERR_GET_LIB(err) == ERR_LIB_SSL && !errors->alert &&
            reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256)
            errors->alert = err;
    }
}

static int alert_of(unsigned long err)
{
    return ERR_GET_REASON(err) - SSL_AD_REASON_OFFSET;
}

static fcb_conn_fault rejected(conn_check *c, unsigned long alert)
{
    return say(
        c, FCB_CONN_TLS_REJECTED,
        "TLS: the coordinator refused this client's certificate (%s): it is not signed by the "
        "coordinator's CA, expired, or missing",
        openssl_reason(alert));
}

static fcb_conn_fault plaintext_server(conn_check *c, const char *how)
{
    return say(
        c, FCB_CONN_PLAINTEXT_SERVER,
        "the coordinator at %s %s plaintext (started with --insecure); use --insecure on this "
        "client too, or restart the coordinator with --tls-dir",
        c->endpoint, how);
}

static fcb_conn_fault handshake_fault(conn_check *c, tls_link *link, int result)
{
    if (link->first_len > 0 && !looks_like_tls(link->first, link->first_len))
        return plaintext_server(c, "speaks");
    if (result < 0)
        return say(c, FCB_CONN_TIMEOUT,
                   "%s accepted the connection but did not finish the TLS handshake within %s s",
                   c->endpoint, c->seconds);
    long verify = SSL_get_verify_result(link->ssl);
    if (verify != X509_V_OK)
        return verify_fault(c, link, verify);
    tls_errors errors;
    take_errors(&errors);
    if (errors.alert && is_client_cert_alert(alert_of(errors.alert), link->presented_cert))
        return rejected(c, errors.alert);
    if (link->closed && link->first_len == 0)
        return plaintext_server(
            c, "closed the connection without answering the TLS handshake: it most likely speaks");
    if (link->closed && !errors.alert)
        return say(c, FCB_CONN_TLS_OTHER,
                   "TLS: the coordinator at %s closed the connection during the handshake without "
                   "saying why (it may have refused this client's certificate)",
                   c->endpoint);
    return say(c, FCB_CONN_TLS_OTHER, "TLS: the handshake with %s failed (%s)", c->endpoint,
               openssl_reason(errors.alert ? errors.alert : errors.first));
}

/* After the handshake: with TLS 1.3 the server judges the client's
 * certificate only now, and says so with an alert or by hanging up. */
static fcb_conn_fault after_handshake_fault(conn_check *c, tls_link *link)
{
    tls_errors errors;
    take_errors(&errors);
    if (errors.alert && is_client_cert_alert(alert_of(errors.alert), link->presented_cert))
        return rejected(c, errors.alert);
    if (errors.alert)
        return say(c, FCB_CONN_TLS_OTHER,
                   "TLS: the coordinator at %s ended the connection after the handshake (%s)",
                   c->endpoint, openssl_reason(errors.alert));
    if (link->closed)
        return say(c, FCB_CONN_TLS_REJECTED,
                   "TLS: the coordinator at %s closed the connection right after the handshake "
                   "without saying why: most likely it refused this client's certificate (not "
                   "signed by the coordinator's CA, expired, or missing)",
                   c->endpoint);
    return say(c, FCB_CONN_TLS_OTHER, "TLS: the connection to %s failed after the handshake (%s)",
               c->endpoint, openssl_reason(errors.first));
}

static int negotiated_h2(SSL *ssl)
{
    const unsigned char *protocol = NULL;
    unsigned int len = 0;
    SSL_get0_alpn_selected(ssl, &protocol, &len);
    return len == 2 && memcmp(protocol, "h2", 2) == 0;
}

/* Sends the HTTP/2 preface and reads the server's first frame. */
static fcb_conn_fault tls_answer(conn_check *c, tls_link *link)
{
    int64_t until = answer_deadline(c);
    unsigned char answer[9];
    /* SSL_write only reads the buffer; run_step shares one for both ways. */
    int result =
        run_step(c, link, STEP_WRITE, (void *)H2_CLIENT_START, (int)H2_CLIENT_START_LEN, until);
    if (result > 0)
        result = run_step(c, link, STEP_READ, answer, sizeof answer, until);
    if (result == 0)
        return after_handshake_fault(c, link);
    if (!negotiated_h2(link->ssl))
        return say(c, FCB_CONN_NOT_GRPC,
                   "TLS: the server at %s did not agree to HTTP/2 (ALPN h2): it is not a fedcb "
                   "coordinator (wrong host or port?)",
                   c->endpoint);
    if (result < 0)
        return say(c, FCB_CONN_OK, "TLS to %s is fine; the coordinator has not answered HTTP/2 yet",
                   c->endpoint);
    if (!looks_like_settings(answer, (size_t)result))
        return say(c, FCB_CONN_NOT_GRPC,
                   "TLS: the server at %s answered, but not with HTTP/2: it is not a fedcb "
                   "coordinator (wrong host or port?)",
                   c->endpoint);
    return say(c, FCB_CONN_OK, "TLS to %s is fine and the coordinator answers HTTP/2", c->endpoint);
}

static fcb_conn_fault check_tls(conn_check *c, SSL_CTX *ctx)
{
    tls_link link;
    memset(&link, 0, sizeof link);
    fcb_conn_fault fault = make_link(c, ctx, &link);
    if (fault == FCB_CONN_OK) {
        int result = run_step(c, &link, STEP_HANDSHAKE, NULL, 0, c->deadline);
        if (result <= 0)
            fault = handshake_fault(c, &link, result);
    }
    if (fault == FCB_CONN_OK)
        fault = tls_answer(c, &link);
    SSL_free(link.ssl);
    return fault;
}

/* ------------------------------------------------------------------ */
/* The check                                                           */

static fcb_conn_fault start(conn_check *c, const char *target, int timeout_ms)
{
    if (timeout_ms <= 0)
        return say(c, FCB_CONN_LOCAL, "the connection check needs a positive timeout, not %d ms",
                   timeout_ms);
    if (fcb_parse_target(target, c->host, sizeof c->host, &c->port) != FCB_OK)
        return say(c, FCB_CONN_BAD_TARGET, "%s", fcb_last_error());
    c->host_is_ip = is_ip_address(c->host);
    snprintf(c->endpoint, sizeof c->endpoint, strchr(c->host, ':') ? "[%s]:%d" : "%s:%d", c->host,
             c->port);
    snprintf(c->seconds, sizeof c->seconds, "%g", timeout_ms / 1000.0);
    return FCB_CONN_OK;
}

fcb_conn_fault fcb_conn_check(const char *target, const fcb_tls_files *tls, int timeout_ms,
                              char *message, size_t size)
{
    conn_check c;
    memset(&c, 0, sizeof c);
    c.fd = -1;
    c.message = message;
    c.size = size;
    if (message && size > 0)
        message[0] = '\0';
    SSL_CTX *ctx = NULL;
    fcb_conn_fault fault = start(&c, target, timeout_ms);
    if (fault == FCB_CONN_OK && tls)
        fault = make_context(&c, tls, &ctx);
    if (fault == FCB_CONN_OK)
        fault = reach(&c, timeout_ms);
    if (fault == FCB_CONN_OK)
        fault = ctx ? check_tls(&c, ctx) : check_plaintext(&c);
    if (c.fd >= 0)
        close(c.fd);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return fault;
}

const char *fcb_conn_fault_name(fcb_conn_fault fault)
{
    switch (fault) {
    case FCB_CONN_OK: return "ok";
    case FCB_CONN_BAD_TARGET: return "bad-target";
    case FCB_CONN_RESOLVE: return "resolve";
    case FCB_CONN_REFUSED: return "refused";
    case FCB_CONN_TIMEOUT: return "timeout";
    case FCB_CONN_UNREACHABLE: return "unreachable";
    case FCB_CONN_TLS_NAME: return "tls-name";
    case FCB_CONN_TLS_UNKNOWN_CA: return "tls-unknown-ca";
    case FCB_CONN_TLS_REJECTED: return "tls-rejected";
    case FCB_CONN_TLS_OTHER: return "tls-other";
    case FCB_CONN_PLAINTEXT_SERVER: return "plaintext-server";
    case FCB_CONN_TLS_SERVER: return "tls-server";
    case FCB_CONN_NOT_GRPC: return "not-grpc";
    case FCB_CONN_TLS_FILES: return "tls-files";
    case FCB_CONN_LOCAL: return "local";
    }
    return "unknown";
}
