#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "conn_check.h"
#include "rpc_server.h"
#include "tls_files.h"

/* fcb_conn_check against small servers of our own (plain sockets and
 * OpenSSL, one connection each) and against the project's gRPC server: each
 * connection fault gives its own code and message. Certificates come from
 * certs/make-dev-certs.sh: CA 1 signs the servers, CA 2 is a stranger. */

enum {
    TIMEOUT_MS = 4000,
    SHORT_TIMEOUT_MS = 300, /* for the cases that must wait the timeout out */
    ACCEPT_WAIT_MS = 5000,
    MESSAGE_SIZE = 1024
};

static const char H2_SETTINGS[9] = {0, 0, 0, 4, 0, 0, 0, 0, 0};
static const char HTTP1_REPLY[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
/* A TLS record holding a fatal protocol_version alert. */
static const char TLS_ALERT[7] = {0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46};

static char ca1_dir[64];
static char ca2_dir[64];

/* ------------------------------------------------------------------ */
/* Certificates                                                        */

static int make_certs(char *dir, size_t capacity)
{
    snprintf(dir, capacity, "/tmp/fedcb-test-conn-XXXXXX");
    if (!mkdtemp(dir))
        return 0;
    char command[512];
    snprintf(command, sizeof command,
             "bash '%s/certs/make-dev-certs.sh' --out '%s' --clients 2 > /dev/null",
             FEDCB_SOURCE_DIR, dir);
    return system(command) == 0;
}

static void remove_dir(const char *dir)
{
    if (!dir[0])
        return;
    char command[256];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    if (system(command) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static fcb_tls_files load_tls(const char *dir, const char *name)
{
    fcb_tls_files files;
    if (fcb_tls_files_load(&files, dir, name) != FCB_OK)
        fail_msg("loading %s from %s: %s", name, dir, fcb_last_error());
    return files;
}

/* A client identity from identity_dir that trusts the CA of ca_dir. */
static fcb_tls_files client_tls(const char *ca_dir, const char *identity_dir)
{
    fcb_tls_files files = load_tls(identity_dir, "client-0");
    fcb_tls_files trust = load_tls(ca_dir, "client-0");
    char *ca = files.ca_pem;
    files.ca_pem = trust.ca_pem;
    trust.ca_pem = ca;
    fcb_tls_files_free(&trust);
    return files;
}

/* Trusts the CA of ca_dir and has no client certificate. */
static fcb_tls_files anonymous_tls(const char *ca_dir)
{
    fcb_tls_files loaded = load_tls(ca_dir, "client-0");
    fcb_tls_files files = {.ca_pem = loaded.ca_pem};
    loaded.ca_pem = NULL;
    fcb_tls_files_free(&loaded);
    return files;
}

static int group_setup(void **state)
{
    (void)state;
    if (!make_certs(ca1_dir, sizeof ca1_dir) || !make_certs(ca2_dir, sizeof ca2_dir)) {
        fprintf(stderr, "certs/make-dev-certs.sh failed\n");
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    remove_dir(ca1_dir);
    remove_dir(ca2_dir);
    return 0;
}

/* ------------------------------------------------------------------ */
/* One-connection servers                                              */

typedef enum { SERVE_TLS, SERVE_PLAINTEXT, SERVE_SILENT } serve_mode;

typedef struct {
    serve_mode mode;
    SSL_CTX *ctx;      /* SERVE_TLS */
    const char *reply; /* sent at once (plaintext) or after the handshake (TLS) */
    size_t reply_len;
    int listen_fd;
    int port;
    pthread_t thread;
} test_server;

static int select_h2(SSL *ssl, const unsigned char **out, unsigned char *out_len,
                     const unsigned char *in, unsigned int in_len, void *arg)
{
    (void)ssl;
    (void)arg;
    static const unsigned char h2[] = {2, 'h', '2'};
    unsigned char *chosen = NULL;
    if (SSL_select_next_proto(&chosen, out_len, h2, sizeof h2, in, in_len) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

/* Serves CA 1's server certificate and requires a client certificate
 * signed by CA 1. */
static SSL_CTX *server_context(int alpn, int max_version)
{
    char cert[128], key[128], ca[128];
    snprintf(cert, sizeof cert, "%s/server.crt", ca1_dir);
    snprintf(key, sizeof key, "%s/server.key", ca1_dir);
    snprintf(ca, sizeof ca, "%s/ca.crt", ca1_dir);
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    assert_non_null(ctx);
    assert_int_equal(SSL_CTX_use_certificate_chain_file(ctx, cert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM), 1);
    assert_int_equal(SSL_CTX_load_verify_locations(ctx, ca, NULL), 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    if (alpn)
        SSL_CTX_set_alpn_select_cb(ctx, select_h2, NULL);
    if (max_version)
        SSL_CTX_set_max_proto_version(ctx, max_version);
    return ctx;
}

/* Reads until the client hangs up (or 2 s pass, see SO_RCVTIMEO). */
static void drain(int fd)
{
    char buf[512];
    while (recv(fd, buf, sizeof buf, 0) > 0)
        continue;
}

static void serve_tls(test_server *server, int fd)
{
    SSL *ssl = SSL_new(server->ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
        SSL_write(ssl, server->reply, (int)server->reply_len);
        char buf[512];
        while (SSL_read(ssl, buf, sizeof buf) > 0)
            continue;
    }
    SSL_free(ssl);
    ERR_clear_error();
}

static void *serve_one(void *arg)
{
    test_server *server = arg;
    struct pollfd entry = {.fd = server->listen_fd, .events = POLLIN};
    if (poll(&entry, 1, ACCEPT_WAIT_MS) != 1)
        return NULL;
    int fd = accept(server->listen_fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    struct timeval limit = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    if (server->mode == SERVE_TLS) {
        serve_tls(server, fd);
    } else {
        if (server->mode == SERVE_PLAINTEXT)
            send(fd, server->reply, server->reply_len, 0);
        drain(fd);
    }
    close(fd);
    return NULL;
}

static int listen_on(const char *address, int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, address, &addr.sin_addr), 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(fd, 8), 0);
    socklen_t len = sizeof addr;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    *port = ntohs(addr.sin_port);
    return fd;
}

static void start_server(test_server *server, const char *address, serve_mode mode, SSL_CTX *ctx,
                         const char *reply, size_t reply_len)
{
    server->mode = mode;
    server->ctx = ctx;
    server->reply = reply;
    server->reply_len = reply_len;
    server->listen_fd = listen_on(address, &server->port);
    assert_int_equal(pthread_create(&server->thread, NULL, serve_one, server), 0);
}

static void stop_server(test_server *server)
{
    pthread_join(server->thread, NULL);
    close(server->listen_fd);
    SSL_CTX_free(server->ctx);
}

/* ------------------------------------------------------------------ */
/* Checking                                                            */

static void expect_fault(const char *target, const fcb_tls_files *tls, int timeout_ms,
                         fcb_conn_fault want, const char *part)
{
    char message[MESSAGE_SIZE];
    fcb_conn_fault got = fcb_conn_check(target, tls, timeout_ms, message, sizeof message);
    print_message("    %-16s %s\n", fcb_conn_fault_name(got), message);
    if (got != want || !strstr(message, part))
        fail_msg("%s: got %s \"%s\"; want %s with \"%s\"", target, fcb_conn_fault_name(got),
                 message, fcb_conn_fault_name(want), part);
    assert_null(strchr(message, '\n'));
    assert_int_equal(ERR_peek_error(), 0);
}

/* Checks target against a fresh one-connection server on 127.0.0.1 (or the
 * address given). */
static void expect_with_server(const char *listen_address, const char *dial_host, serve_mode mode,
                               SSL_CTX *ctx, const char *reply, size_t reply_len,
                               const fcb_tls_files *tls, int timeout_ms, fcb_conn_fault want,
                               const char *part)
{
    test_server server;
    start_server(&server, listen_address, mode, ctx, reply, reply_len);
    char target[128];
    snprintf(target, sizeof target, "%s:%d", dial_host, server.port);
    expect_fault(target, tls, timeout_ms, want, part);
    stop_server(&server);
}

static void expect_tls(const fcb_tls_files *tls, SSL_CTX *ctx, fcb_conn_fault want,
                       const char *part)
{
    expect_with_server("127.0.0.1", "127.0.0.1", SERVE_TLS, ctx, H2_SETTINGS, sizeof H2_SETTINGS,
                       tls, TIMEOUT_MS, want, part);
}

/* ------------------------------------------------------------------ */
/* Target parsing                                                      */

static void expect_target(const char *target, const char *host, int port)
{
    char got_host[256];
    int got_port = -1;
    if (fcb_parse_target(target, got_host, sizeof got_host, &got_port) != FCB_OK)
        fail_msg("%s: %s", target, fcb_last_error());
    assert_string_equal(got_host, host);
    assert_int_equal(got_port, port);
}

static void expect_bad_target(const char *target, const char *part)
{
    char host[256] = "x";
    int port = -1;
    assert_int_equal(fcb_parse_target(target, host, sizeof host, &port), FCB_ERR_ARG);
    if (!strstr(fcb_last_error(), part))
        fail_msg("%s: message \"%s\" lacks \"%s\"", target ? target : "NULL", fcb_last_error(),
                 part);
    assert_string_equal(host, "");
    assert_int_equal(port, 0);
}

static void test_parse_target(void **state)
{
    (void)state;
    expect_target("localhost:50051", "localhost", 50051);
    expect_target("coord.example.org:1", "coord.example.org", 1);
    expect_target("127.0.0.1:65535", "127.0.0.1", 65535);
    expect_target("[::1]:8080", "::1", 8080);
    expect_target("[fe80::1%eth0]:9", "fe80::1%eth0", 9);
    expect_target("dns:///coord.example.org:443", "coord.example.org", 443);
    expect_target("dns:coord:5", "coord", 5);
    expect_target("ipv4:10.0.0.1:7", "10.0.0.1", 7);
    expect_target("ipv6:[2001:db8::2]:7", "2001:db8::2", 7);

    expect_bad_target("coord.example.org",
                      "--coordinator 'coord.example.org' has no port; write HOST:PORT, e.g. "
                      "coord.example.org:50051");
    expect_bad_target("10.0.0.1", "has no port; write HOST:PORT, e.g. 10.0.0.1:50051");
    expect_bad_target("[::1]", "has no port; write HOST:PORT, e.g. [::1]:50051");
    expect_bad_target("dns:///coord", "e.g. dns:///coord:50051");
    expect_bad_target("coord:", "has no port");
    expect_bad_target("coord:0", "port '0' is not a number from 1 to 65535");
    expect_bad_target("coord:65536", "port '65536' is not a number from 1 to 65535");
    expect_bad_target("coord:-1", "port '-1'");
    expect_bad_target("coord:5x", "port '5x'");
    expect_bad_target("coord:000050051", "port '000050051'");
    expect_bad_target(":50051", "has no host");
    expect_bad_target("[]:50051", "has no host");
    expect_bad_target("", "--coordinator is empty");
    expect_bad_target(NULL, "--coordinator is empty");
    expect_bad_target("::1", "write an IPv6 address in brackets");
    expect_bad_target("::1:50051", "write an IPv6 address in brackets");
    expect_bad_target("[::1:50051", "'[' without ']'");
    expect_bad_target("[::1]50051", "text after ']'");
    expect_bad_target("[coord]:5", "is not an IPv6 address");
    expect_bad_target("ipv4:coord:5", "must be an IPv4 address");
    expect_bad_target("ipv6:coord:5", "must be in brackets");
    expect_bad_target("dns://8.8.8.8/coord:5", "names a DNS server");
    expect_bad_target("a:1,b:2", "lists several addresses");
    expect_bad_target("co ord:5", "the host may hold only");
    expect_bad_target("coord\n:5", "'coord?:5'");

    char tiny[4];
    int port;
    assert_int_equal(fcb_parse_target("coord:5", tiny, sizeof tiny, &port), FCB_ERR_ARG);
    assert_non_null(strstr(fcb_last_error(), "longer than 3 characters"));
}

static void test_bad_target_and_arguments(void **state)
{
    (void)state;
    expect_fault("coord.example.org", NULL, TIMEOUT_MS, FCB_CONN_BAD_TARGET, "has no port");
    expect_fault("localhost:99999", NULL, TIMEOUT_MS, FCB_CONN_BAD_TARGET, "port '99999'");
    expect_fault("localhost:1", NULL, 0, FCB_CONN_LOCAL, "positive timeout");
    /* A tiny buffer is cut, and none at all is allowed. */
    char small[8];
    assert_int_equal(fcb_conn_check("coord", NULL, TIMEOUT_MS, small, sizeof small),
                     FCB_CONN_BAD_TARGET);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_int_equal(fcb_conn_check("coord", NULL, TIMEOUT_MS, NULL, 0), FCB_CONN_BAD_TARGET);
    assert_string_equal(fcb_conn_fault_name(FCB_CONN_TLS_REJECTED), "tls-rejected");
}

/* ------------------------------------------------------------------ */
/* Name lookup and TCP                                                 */

static void test_resolve(void **state)
{
    (void)state;
    expect_fault("no-such-host.invalid:50051", NULL, TIMEOUT_MS, FCB_CONN_RESOLVE,
                 "cannot resolve 'no-such-host.invalid': ");
}

static int unused_port(void)
{
    int port;
    int fd = listen_on("127.0.0.1", &port);
    close(fd);
    return port;
}

static void test_refused(void **state)
{
    (void)state;
    char target[64];
    int port = unused_port();
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    char want[96];
    snprintf(want, sizeof want, "connection refused by 127.0.0.1:%d: nothing listens there", port);
    expect_fault(target, NULL, TIMEOUT_MS, FCB_CONN_REFUSED, want);
    /* localhost has two addresses here; both refuse. */
    snprintf(target, sizeof target, "localhost:%d", port);
    expect_fault(target, NULL, TIMEOUT_MS, FCB_CONN_REFUSED, "connection refused by localhost:");
    snprintf(target, sizeof target, "[::1]:%d", port);
    snprintf(want, sizeof want, "by [::1]:%d: nothing", port);
    expect_fault(target, NULL, TIMEOUT_MS, FCB_CONN_REFUSED, want);
}

/* A listener whose accept queue is full drops new SYNs, so the connection
 * neither succeeds nor is refused. */
static void test_connect_timeout(void **state)
{
    (void)state;
    int port;
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(listener, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(listener, 0), 0);
    socklen_t len = sizeof addr;
    getsockname(listener, (struct sockaddr *)&addr, &len);
    port = ntohs(addr.sin_port);
    int fillers[3];
    for (int i = 0; i < 3; i++) {
        fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fillers[i], (struct sockaddr *)&addr, sizeof addr);
    }
    nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    expect_fault(target, NULL, SHORT_TIMEOUT_MS, FCB_CONN_TIMEOUT,
                 "within 0.3 s (host down, or a firewall");
    for (int i = 0; i < 3; i++)
        close(fillers[i]);
    close(listener);
}

/* ------------------------------------------------------------------ */
/* TLS against an OpenSSL server                                       */

static void test_tls_ok(void **state)
{
    (void)state;
    fcb_tls_files tls = client_tls(ca1_dir, ca1_dir);
    expect_tls(&tls, server_context(1, 0), FCB_CONN_OK, "answers HTTP/2");
    /* localhost: ::1 refuses (the server listens on IPv4 only), 127.0.0.1 answers. */
    expect_with_server("127.0.0.1", "localhost", SERVE_TLS, server_context(1, 0), H2_SETTINGS,
                       sizeof H2_SETTINGS, &tls, TIMEOUT_MS, FCB_CONN_OK, "answers HTTP/2");
    fcb_tls_files_free(&tls);
}

static void test_tls_name_mismatch(void **state)
{
    (void)state;
    fcb_tls_files tls = client_tls(ca1_dir, ca1_dir);
    expect_with_server(
        "0.0.0.0", "127.0.0.2", SERVE_TLS, server_context(1, 0), H2_SETTINGS, sizeof H2_SETTINGS,
        &tls, TIMEOUT_MS, FCB_CONN_TLS_NAME,
        "TLS: the coordinator's certificate does not name '127.0.0.2' (it names: localhost, "
        "127.0.0.1, ::1); dial one of those names or remake the server certificate with "
        "certs/make-dev-certs.sh --names");
    fcb_tls_files_free(&tls);
}

static void test_tls_unknown_ca(void **state)
{
    (void)state;
    fcb_tls_files tls = client_tls(ca2_dir, ca1_dir);
    expect_tls(&tls, server_context(1, 0), FCB_CONN_TLS_UNKNOWN_CA,
               "TLS: the coordinator's certificate is not signed by the CA in ca.crt (");
    fcb_tls_files_free(&tls);
}

static void test_tls_client_rejected(void **state)
{
    (void)state;
    fcb_tls_files foreign = client_tls(ca1_dir, ca2_dir);
    const char *part = "TLS: the coordinator refused this client's certificate (";
    /* TLS 1.3: the server's alert comes after the client's handshake ended. */
    expect_tls(&foreign, server_context(1, 0), FCB_CONN_TLS_REJECTED, part);
    expect_tls(&foreign, server_context(1, TLS1_2_VERSION), FCB_CONN_TLS_REJECTED, part);
    fcb_tls_files_free(&foreign);

    fcb_tls_files anonymous = anonymous_tls(ca1_dir);
    expect_tls(&anonymous, server_context(1, 0), FCB_CONN_TLS_REJECTED, "certificate required");
    expect_tls(&anonymous, server_context(1, TLS1_2_VERSION), FCB_CONN_TLS_REJECTED, part);
    fcb_tls_files_free(&anonymous);
}

static void test_protocol_mismatch(void **state)
{
    (void)state;
    fcb_tls_files tls = client_tls(ca1_dir, ca1_dir);
    expect_with_server("127.0.0.1", "127.0.0.1", SERVE_PLAINTEXT, NULL, H2_SETTINGS,
                       sizeof H2_SETTINGS, &tls, TIMEOUT_MS, FCB_CONN_PLAINTEXT_SERVER,
                       "speaks plaintext (started with --insecure)");
    expect_tls(NULL, server_context(1, 0), FCB_CONN_TLS_SERVER,
               "use --tls-dir instead of --insecure");
    expect_with_server("127.0.0.1", "127.0.0.1", SERVE_PLAINTEXT, NULL, TLS_ALERT, sizeof TLS_ALERT,
                       NULL, TIMEOUT_MS, FCB_CONN_TLS_SERVER,
                       "speaks TLS; use --tls-dir instead of --insecure");
    expect_with_server("127.0.0.1", "127.0.0.1", SERVE_PLAINTEXT, NULL, H2_SETTINGS,
                       sizeof H2_SETTINGS, NULL, TIMEOUT_MS, FCB_CONN_OK,
                       "answers plaintext HTTP/2");
    fcb_tls_files_free(&tls);
}

static void test_not_grpc(void **state)
{
    (void)state;
    fcb_tls_files tls = client_tls(ca1_dir, ca1_dir);
    expect_with_server("127.0.0.1", "127.0.0.1", SERVE_PLAINTEXT, NULL, HTTP1_REPLY,
                       strlen(HTTP1_REPLY), NULL, TIMEOUT_MS, FCB_CONN_NOT_GRPC,
                       "answered, but not with HTTP/2");
    expect_tls(&tls, server_context(0, 0), FCB_CONN_NOT_GRPC, "did not agree to HTTP/2 (ALPN h2)");
    expect_with_server("127.0.0.1", "127.0.0.1", SERVE_TLS, server_context(1, 0), HTTP1_REPLY,
                       strlen(HTTP1_REPLY), &tls, TIMEOUT_MS, FCB_CONN_NOT_GRPC,
                       "answered, but not with HTTP/2");
    fcb_tls_files_free(&tls);
}

/* A server that accepts and then says nothing. */
static void test_silent_server(void **state)
{
    (void)state;
    fcb_tls_files tls = client_tls(ca1_dir, ca1_dir);
    expect_with_server("127.0.0.1", "127.0.0.1", SERVE_SILENT, NULL, NULL, 0, &tls,
                       SHORT_TIMEOUT_MS, FCB_CONN_TIMEOUT,
                       "accepted the connection but did not finish the TLS handshake within 0.3 s");
    expect_with_server("127.0.0.1", "127.0.0.1", SERVE_SILENT, NULL, NULL, 0, NULL,
                       SHORT_TIMEOUT_MS, FCB_CONN_OK, "no answer yet");
    fcb_tls_files_free(&tls);
}

static void test_unusable_tls_files(void **state)
{
    (void)state;
    fcb_tls_files tls = client_tls(ca1_dir, ca1_dir);
    fcb_tls_files other = load_tls(ca1_dir, "client-1");
    char *key = tls.key_pem;
    tls.key_pem = other.key_pem;
    other.key_pem = key;
    expect_fault("127.0.0.1:1", &tls, TIMEOUT_MS, FCB_CONN_TLS_FILES,
                 "this client's certificate and private key do not belong together");
    char *ca = tls.ca_pem;
    tls.ca_pem = (char *)"not a certificate";
    expect_fault("127.0.0.1:1", &tls, TIMEOUT_MS, FCB_CONN_TLS_FILES,
                 "ca.crt holds no PEM certificate");
    tls.ca_pem = NULL;
    expect_fault("127.0.0.1:1", &tls, TIMEOUT_MS, FCB_CONN_TLS_FILES, "no CA certificate");
    tls.ca_pem = ca;
    char *cert = tls.cert_pem;
    tls.cert_pem = (char *)"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    expect_fault("127.0.0.1:1", &tls, TIMEOUT_MS, FCB_CONN_TLS_FILES,
                 "cannot use this client's certificate");
    tls.cert_pem = cert;
    fcb_tls_files_free(&other);
    fcb_tls_files_free(&tls);
}

/* ------------------------------------------------------------------ */
/* Against the project's gRPC server (gRPC C core's own TLS handling)  */

typedef struct {
    fcb_rpc_server *server;
    pthread_t thread;
    atomic_int stop;
    int port;
} grpc_server;

static void refuse_all(void *context, fcb_rpc_call *call, int method_index, const uint8_t *request,
                       size_t request_len, const fcb_rpc_peer *peer)
{
    (void)context;
    (void)method_index;
    (void)request;
    (void)request_len;
    (void)peer;
    fcb_rpc_reply_error(call, 12 /* UNIMPLEMENTED */, "test server");
}

static void *poll_grpc(void *arg)
{
    grpc_server *server = arg;
    while (!atomic_load(&server->stop))
        fcb_rpc_server_poll(server->server, 20);
    return NULL;
}

static void start_grpc(grpc_server *server, const fcb_tls_files *tls)
{
    static const char *const methods[] = {"/fedcb.Test/Nothing"};
    fcb_rpc_server_config config = {
        .listen = "127.0.0.1:0", .tls = tls, .methods = methods, .num_methods = 1};
    atomic_init(&server->stop, 0);
    if (fcb_rpc_server_start(&config, refuse_all, NULL, &server->server, &server->port) != FCB_OK)
        fail_msg("gRPC server: %s", fcb_last_error());
    assert_int_equal(pthread_create(&server->thread, NULL, poll_grpc, server), 0);
}

static void stop_grpc(grpc_server *server)
{
    atomic_store(&server->stop, 1);
    pthread_join(server->thread, NULL);
    fcb_rpc_server_destroy(server->server);
}

enum { CHECK_THREADS = 4 };

typedef struct {
    const char *target;
    const fcb_tls_files *good;
    const fcb_tls_files *foreign;
    fcb_conn_fault good_fault;
    fcb_conn_fault foreign_fault;
} parallel_check;

static void *check_twice(void *arg)
{
    parallel_check *check = arg;
    char message[MESSAGE_SIZE];
    check->good_fault =
        fcb_conn_check(check->target, check->good, TIMEOUT_MS, message, sizeof message);
    check->foreign_fault =
        fcb_conn_check(check->target, check->foreign, TIMEOUT_MS, message, sizeof message);
    return NULL;
}

/* Checks from several threads at once do not disturb each other. */
static void expect_parallel_checks(const char *target, const fcb_tls_files *good,
                                   const fcb_tls_files *foreign)
{
    parallel_check checks[CHECK_THREADS];
    pthread_t threads[CHECK_THREADS];
    for (int i = 0; i < CHECK_THREADS; i++) {
        checks[i] = (parallel_check){.target = target, .good = good, .foreign = foreign};
        assert_int_equal(pthread_create(&threads[i], NULL, check_twice, &checks[i]), 0);
    }
    for (int i = 0; i < CHECK_THREADS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(checks[i].good_fault, FCB_CONN_OK);
        assert_int_equal(checks[i].foreign_fault, FCB_CONN_TLS_REJECTED);
    }
}

static void test_grpc_tls_server(void **state)
{
    (void)state;
    fcb_tls_files server_tls = load_tls(ca1_dir, "server");
    fcb_tls_files good = client_tls(ca1_dir, ca1_dir);
    fcb_tls_files foreign = client_tls(ca1_dir, ca2_dir);
    grpc_server server;
    start_grpc(&server, &server_tls);
    char target[64];
    snprintf(target, sizeof target, "localhost:%d", server.port);
    expect_fault(target, &good, TIMEOUT_MS, FCB_CONN_OK, "answers HTTP/2");
    expect_fault(target, &foreign, TIMEOUT_MS, FCB_CONN_TLS_REJECTED,
                 "refused this client's certificate");
    expect_fault(target, NULL, TIMEOUT_MS, FCB_CONN_TLS_SERVER,
                 "use --tls-dir instead of --insecure");
    expect_parallel_checks(target, &good, &foreign);
    stop_grpc(&server);
    fcb_tls_files_free(&foreign);
    fcb_tls_files_free(&good);
    fcb_tls_files_free(&server_tls);
}

static void test_grpc_plaintext_server(void **state)
{
    (void)state;
    fcb_tls_files good = client_tls(ca1_dir, ca1_dir);
    grpc_server server;
    start_grpc(&server, NULL);
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", server.port);
    expect_fault(target, NULL, TIMEOUT_MS, FCB_CONN_OK, "answers plaintext HTTP/2");
    expect_fault(target, &good, TIMEOUT_MS, FCB_CONN_PLAINTEXT_SERVER,
                 "plaintext (started with --insecure)");
    stop_grpc(&server);
    fcb_tls_files_free(&good);
}

int main(void)
{
    /* The test's servers write to clients that may have hung up. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_target),
        cmocka_unit_test(test_bad_target_and_arguments),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_connect_timeout),
        cmocka_unit_test(test_tls_ok),
        cmocka_unit_test(test_tls_name_mismatch),
        cmocka_unit_test(test_tls_unknown_ca),
        cmocka_unit_test(test_tls_client_rejected),
        cmocka_unit_test(test_protocol_mismatch),
        cmocka_unit_test(test_not_grpc),
        cmocka_unit_test(test_silent_server),
        cmocka_unit_test(test_unusable_tls_files),
        cmocka_unit_test(test_grpc_tls_server),
        cmocka_unit_test(test_grpc_plaintext_server),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
