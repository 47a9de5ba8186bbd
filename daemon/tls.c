/*
 * tls: the OpenSSL server context of the TLS listener. Connections use it through
 * libevent_openssl (conn.c); this file only loads and checks the certificate and key
 * (and the key's permissions) and sets the protocol floor and the cipher suites.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "daemon.h"

static void tls_err(char *err, size_t errlen, const char *what, const char *file)
{
    char reason[256] = "unknown error";
    unsigned long e = ERR_get_error();

    if (e != 0)
        ERR_error_string_n(e, reason, sizeof(reason));
    ERR_clear_error();
    proto_errf(err, errlen, "%s %s: %s", what, file, reason);
}

SSL_CTX *tls_ctx_new(const char *cert, const char *key, const char *ciphers, char *err,
                     size_t errlen)
{
    SSL_CTX *ctx = NULL;
    struct stat st;

    /* checked before OpenSSL reads it: a key others may change or read is refused */
    if (stat(key, &st) != 0) {
        proto_errf(err, errlen, "cannot load private key %s: %s", key, strerror(errno));
        return NULL;
    }
    if (auth_file_mode_check(key, &st, 1, err, errlen) != WM_OK)
        return NULL;
    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        tls_err(err, errlen, "cannot create a TLS context", "");
        return NULL;
    }
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        tls_err(err, errlen, "cannot require TLS 1.2", "");
        goto fail;
    }
    /* TLS 1.2's suites (1.3 has only forward-secret AEAD ones and keeps OpenSSL's list):
     * by default ECDHE with AES-GCM or ChaCha20-Poly1305, so no RSA key exchange (no
     * forward secrecy) and no CBC with SHA-1 */
    if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
        tls_err(err, errlen, "tls-ciphers: no cipher suite matches", ciphers);
        goto fail;
    }
    /* renegotiation only helps attackers on a line protocol */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        tls_err(err, errlen, "cannot load certificate", cert);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        tls_err(err, errlen, "cannot load private key", key);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        tls_err(err, errlen, "private key does not match certificate", cert);
        goto fail;
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}
