#ifndef FEDCB_TLS_FILES_H
#define FEDCB_TLS_FILES_H

#include "status.h"

/* The PEM texts of one endpoint's mutual-TLS identity, NUL-terminated and
 * owned by the struct. A client may leave cert_pem and key_pem NULL to
 * connect without a client certificate (a server requiring one refuses it). */
typedef struct {
    char *ca_pem;   /* the CA that signs both sides */
    char *cert_pem; /* this endpoint's certificate chain */
    char *key_pem;  /* this endpoint's private key */
} fcb_tls_files;

/* Reads DIR/ca.crt, DIR/<name>.crt and DIR/<name>.key, where name is
 * "server" or "client-<id>" (as certs/make-dev-certs.sh writes them).
 * A missing, unreadable or empty file gives FCB_ERR_IO naming its path;
 * *out is then left all NULL. */
fcb_status fcb_tls_files_load(fcb_tls_files *out, const char *dir, const char *name);

/* Wipes the private key, frees all three texts and sets them to NULL. */
void fcb_tls_files_free(fcb_tls_files *files);

#endif
