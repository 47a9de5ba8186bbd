/*
 * Personal data and credentials on the client side: the BSN eleven-test, pseudonym
 * keys and HMAC-SHA256 pseudonyms (so that no BSN ever leaves the client), new tokens
 * and their SHA-256 line for the daemon's tokens file. OpenSSL is wrapped here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "client.h"

static const char hexdig[] = "0123456789abcdef";

static void to_hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdig[b[i] >> 4];
        out[2 * i + 1] = hexdig[b[i] & 15];
    }
    out[2 * n] = '\0';
}

int cli_bsn_check(const char *bsn, char *err, size_t errlen)
{
    size_t n = strlen(bsn);

    if (n != 9) {
        snprintf(err, errlen, "a BSN has exactly 9 digits (this one has %zu characters)", n);
        return WM_EINVALID;
    }
    for (size_t i = 0; i < 9; i++) {
        if (bsn[i] < '0' || bsn[i] > '9') {
            snprintf(err, errlen, "a BSN has only digits (character %zu is not one)", i + 1);
            return WM_EINVALID;
        }
    }
    if (!proto_bsn_valid(bsn, n)) {
        snprintf(err, errlen, "the BSN fails the eleven-test (elfproef): it has a typing error");
        return WM_EINVALID;
    }
    return WM_OK;
}

int cli_line_check(const char *line, size_t len, char *why, size_t whylen)
{
    struct proto_request req;
    int rc;

    proto_request_init(&req);
    rc = proto_line_check(&req, line, len, why, whylen);
    proto_request_free(&req);
    return rc;
}

/* A key file must be a regular file, private to its owner, of a sane size. Returns
 * WM_OK or WM_ECONFIG with why in err. */
static int key_file_check(const char *path, const struct stat *st, char *err, size_t errlen)
{
    if (!S_ISREG(st->st_mode)) {
        snprintf(err, errlen, "pseudonym key %s is not a regular file", path);
        return WM_ECONFIG;
    }
    if ((st->st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        snprintf(err, errlen,
                 "pseudonym key %s is accessible by group or others (mode %04o); "
                 "refusing to use it: run chmod 600 %s",
                 path, (unsigned)(st->st_mode & 07777), path);
        return WM_ECONFIG;
    }
    if (st->st_size < CLI_KEY_MIN) {
        snprintf(err, errlen, "pseudonym key %s is too short: %lld bytes, at least %d needed", path,
                 (long long)st->st_size, CLI_KEY_MIN);
        return WM_ECONFIG;
    }
    if (st->st_size > CLI_KEY_MAX) {
        snprintf(err, errlen, "pseudonym key %s is too large: at most %d bytes", path, CLI_KEY_MAX);
        return WM_ECONFIG;
    }
    return WM_OK;
}

/* Read the n bytes of the key file fd into k->bytes. Returns WM_OK, WM_ENOMEM, or
 * WM_EIO with why in err. */
static int key_read(struct cli_key *k, int fd, size_t n, const char *path, char *err, size_t errlen)
{
    size_t got = 0;

    k->bytes = malloc(n);
    if (k->bytes == NULL)
        return WM_ENOMEM;
    k->len = n; /* so that a failed read still wipes what it got */
    while (got < n) {
        ssize_t r = read(fd, k->bytes + got, n - got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            snprintf(err, errlen, "cannot read pseudonym key %s: %s", path,
                     r < 0 ? strerror(errno) : "file shrank while reading");
            return WM_EIO;
        }
        got += (size_t)r;
    }
    k->len = got;
    return WM_OK;
}

/* Key HMAC-SHA256 with k->bytes once. Returns WM_OK or WM_EINTERNAL with err. */
static int key_mac_init(struct cli_key *k, char *err, size_t errlen)
{
    OSSL_PARAM params[2];

    params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    k->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    k->mac_ctx = k->mac != NULL ? EVP_MAC_CTX_new(k->mac) : NULL;
    if (k->mac_ctx == NULL || EVP_MAC_init(k->mac_ctx, k->bytes, k->len, params) != 1) {
        snprintf(err, errlen, "cannot set up HMAC-SHA256 (OpenSSL)");
        return WM_EINTERNAL;
    }
    return WM_OK;
}

int cli_key_load(struct cli_key *k, const char *path, char *err, size_t errlen)
{
    struct stat st;
    int fd;
    int rc;

    memset(k, 0, sizeof(*k));
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open pseudonym key %s: %s", path, strerror(errno));
        return WM_ECONFIG;
    }
    if (fstat(fd, &st) < 0) {
        snprintf(err, errlen, "cannot stat pseudonym key %s: %s", path, strerror(errno));
        rc = WM_EIO;
    } else if ((rc = key_file_check(path, &st, err, errlen)) == WM_OK) {
        rc = key_read(k, fd, (size_t)st.st_size, path, err, errlen);
    }
    close(fd);
    if (rc == WM_OK)
        rc = key_mac_init(k, err, errlen);
    if (rc != WM_OK)
        cli_key_free(k);
    return rc;
}

void cli_key_free(struct cli_key *k)
{
    EVP_MAC_CTX_free(k->mac_ctx);
    EVP_MAC_free(k->mac);
    if (k->bytes != NULL) {
        OPENSSL_cleanse(k->bytes, k->len);
        free(k->bytes);
    }
    memset(k, 0, sizeof(*k));
}

int cli_pseudonym(struct cli_key *k, const char *bsn, char out[CLI_PSEUDONYM_LEN + 1])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t maclen = 0;

    /* init with a NULL key restarts the MAC under the key given at load time */
    if (k->mac_ctx == NULL || EVP_MAC_init(k->mac_ctx, NULL, 0, NULL) != 1 ||
        EVP_MAC_update(k->mac_ctx, (const unsigned char *)bsn, strlen(bsn)) != 1 ||
        EVP_MAC_final(k->mac_ctx, mac, &maclen, sizeof(mac)) != 1 ||
        maclen != CLI_PSEUDONYM_LEN / 2)
        return WM_EINTERNAL;
    to_hex(mac, maclen, out);
    return WM_OK;
}

int cli_keygen(const char *path, char *err, size_t errlen)
{
    unsigned char key[CLI_KEY_MIN];
    size_t done = 0;
    int fd;
    int rc = WM_OK;

    if (RAND_bytes(key, sizeof(key)) != 1) {
        snprintf(err, errlen, "no random bytes available from OpenSSL");
        return WM_EINTERNAL;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s%s", path, strerror(errno),
                 errno == EEXIST ? " (refusing to overwrite a key)" : "");
        rc = errno == EEXIST ? WM_ECONFIG : WM_EIO;
        goto out;
    }
    /* the umask may have narrowed 0600 further, never widened it; make it exact */
    if (fchmod(fd, 0600) < 0) {
        snprintf(err, errlen, "cannot set mode 0600 on %s: %s", path, strerror(errno));
        rc = WM_EIO;
    }
    while (rc == WM_OK && done < sizeof(key)) {
        ssize_t w = write(fd, key + done, sizeof(key) - done);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
            rc = WM_EIO;
            break;
        }
        done += (size_t)w;
    }
    if (rc == WM_OK && fsync(fd) < 0) {
        snprintf(err, errlen, "cannot sync %s: %s", path, strerror(errno));
        rc = WM_EIO;
    }
    if (close(fd) < 0 && rc == WM_OK) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        rc = WM_EIO;
    }
    if (rc != WM_OK)
        unlink(path); /* never leave a short or unsynced key behind */
out:
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

int cli_token_new(char out[2 * CLI_TOKEN_BYTES + 1])
{
    unsigned char b[CLI_TOKEN_BYTES];

    if (RAND_bytes(b, sizeof(b)) != 1)
        return WM_EINTERNAL;
    to_hex(b, sizeof(b), out);
    OPENSSL_cleanse(b, sizeof(b));
    return WM_OK;
}

int cli_sha256_hex(const char *s, size_t n, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (EVP_Digest(s, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return WM_EINTERNAL;
    to_hex(md, mdlen, out);
    return WM_OK;
}
