#include "listen_check.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn_check.h"

fcb_status fcb_listen_check(const char *listen)
{
    char host[256], service[16];
    int port = 0;
    fcb_status st = fcb_parse_target(listen, host, sizeof host, &port);
    if (st != FCB_OK)
        return fcb_fail(FCB_ERR_ARG, "--listen '%s': expected HOST:PORT, e.g. 0.0.0.0:50051", listen);
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints, *found = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int rc = getaddrinfo(host, service, &hints, &found);
    if (rc != 0)
        return fcb_fail(FCB_ERR_IO, "cannot listen on %s: cannot resolve '%s': %s", listen, host, gai_strerror(rc));
    int err = 0;
    for (struct addrinfo *a = found; a && err == 0; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) != 0)
            err = errno;
        close(fd);
    }
    freeaddrinfo(found);
    if (err == EADDRINUSE)
        return fcb_fail(FCB_ERR_IO, "cannot listen on %s: port %d is in use by another process (another "
                                    "coordinator?); stop it or choose another port", listen, port);
    if (err == EADDRNOTAVAIL)
        return fcb_fail(FCB_ERR_IO, "cannot listen on %s: %s is not an address of this machine", listen, host);
    if (err == EACCES)
        return fcb_fail(FCB_ERR_IO, "cannot listen on %s: port %d needs privileges; choose one above 1023", listen,
                        port);
    if (err != 0)
        return fcb_fail(FCB_ERR_IO, "cannot listen on %s: %s", listen, strerror(err));
    return FCB_OK;
}
