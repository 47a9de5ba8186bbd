/*
 * auth: parses the token file into a table of hashes and answers which role may run
 * which verb. Reloading builds a new table; the caller swaps it in only when the whole
 * file is valid, so a bad edit never locks everybody out.
 */
#include "auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

int auth_file_mode_check(const char *path, const struct stat *st, int secret, char *err,
                         size_t errlen)
{
    unsigned mode = (unsigned)(st->st_mode & 07777);

    if (!S_ISREG(st->st_mode)) {
        proto_errf(err, errlen, "%s: not a regular file", path);
        return WM_ECONFIG;
    }
    /* as ssh does for authorized_keys and private keys: whoever may change the file
     * may make themselves admin (or swap the key); whoever may read a token file may
     * try its hashes offline */
    if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        proto_errf(err, errlen,
                   "%s: writable by group or others (mode %04o); refusing it: run chmod go-w %s",
                   path, mode, path);
        return WM_ECONFIG;
    }
    if (secret && (st->st_mode & S_IROTH) != 0) {
        proto_errf(err, errlen,
                   "%s: readable by others (mode %04o); refusing it: run chmod o-r %s (the "
                   "daemon's group may read it)",
                   path, mode, path);
        return WM_ECONFIG;
    }
    return WM_OK;
}

static int principal_valid(const char *s, size_t n)
{
    if (n == 0 || n > WM_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '@' || c == '-'))
            return 0;
    }
    return 1;
}

/* The value of an optional field "<name>=<v>" (gemeente, min-count, round) of a line
 * into e. Returns WM_OK or WM_ECONFIG with msg. */
static int parse_option(const char *f, const char *const *gemeenten, size_t n_gemeenten,
                        struct auth_entry *e, char *msg, size_t msglen)
{
    const char *eq = strchr(f, '=');
    size_t i;

    if (eq == NULL) {
        proto_errf(msg, msglen, "unexpected field '%.64s'", f);
        return WM_ECONFIG;
    }
    if (strncmp(f, "gemeente=", 9) == 0) {
        if (e->gemeente[0] != '\0') {
            proto_errf(msg, msglen, "gemeente given twice");
            return WM_ECONFIG;
        }
        if (e->role == AUTH_ROLE_ADMIN) {
            proto_errf(msg, msglen, "an admin cannot be bound to a gemeente");
            return WM_ECONFIG;
        }
        for (i = 0; i < n_gemeenten; i++) {
            if (strcmp(gemeenten[i], eq + 1) == 0)
                break;
        }
        if (i == n_gemeenten || eq[1] == '\0') {
            proto_errf(msg, msglen, "gemeente '%.64s' is not configured", eq + 1);
            return WM_ECONFIG;
        }
        memcpy(e->gemeente, eq + 1, strlen(eq + 1) + 1);
        return WM_OK;
    }
    if (strncmp(f, "min-count=", 10) == 0 || strncmp(f, "round=", 6) == 0) {
        unsigned *dst = f[0] == 'm' ? &e->min_count : &e->round;
        const char *name = f[0] == 'm' ? "min-count" : "round";
        char *endp;
        unsigned long v;

        errno = 0;
        v = strtoul(eq + 1, &endp, 10);
        if (eq[1] < '0' || eq[1] > '9' || *endp != '\0' || errno != 0 || v < 1 ||
            v > AUTH_MAX_MIN_COUNT) {
            proto_errf(msg, msglen, "%s must be a whole number from 1 to %d", name,
                       AUTH_MAX_MIN_COUNT);
            return WM_ECONFIG;
        }
        if (*dst != 0) {
            proto_errf(msg, msglen, "%s given twice", name);
            return WM_ECONFIG;
        }
        *dst = (unsigned)v;
        return WM_OK;
    }
    proto_errf(msg, msglen, "unexpected field '%.64s'", f);
    return WM_ECONFIG;
}

/* Parse one non-comment line into e. Returns WM_OK or WM_ECONFIG with msg. */
static int parse_line(char *line, const char *const *gemeenten, size_t n_gemeenten,
                      struct auth_entry *e, char *msg, size_t msglen)
{
    char *tok[AUTH_MAX_FIELDS];
    size_t ntok = 0;
    char *save = NULL;
    const char *hex;

    for (char *t = strtok_r(line, " \t", &save); t != NULL; t = strtok_r(NULL, " \t", &save)) {
        if (ntok == AUTH_MAX_FIELDS) {
            proto_errf(msg, msglen, "too many fields");
            return WM_ECONFIG;
        }
        tok[ntok++] = t;
    }
    if (ntok < 3) {
        proto_errf(msg, msglen,
                   "want '<principal> <role> [gemeente=<g>] [min-count=<n>] "
                   "[round=<r>] sha256:<hex>'");
        return WM_ECONFIG;
    }
    memset(e, 0, sizeof(*e));
    if (!principal_valid(tok[0], strlen(tok[0]))) {
        proto_errf(msg, msglen, "bad principal '%.64s' (1-64 of [A-Za-z0-9._@-])", tok[0]);
        return WM_ECONFIG;
    }
    memcpy(e->principal, tok[0], strlen(tok[0]) + 1);
    if (strcmp(tok[1], "reader") == 0) {
        e->role = AUTH_ROLE_READER;
    } else if (strcmp(tok[1], "writer") == 0) {
        e->role = AUTH_ROLE_WRITER;
    } else if (strcmp(tok[1], "admin") == 0) {
        e->role = AUTH_ROLE_ADMIN;
    } else {
        proto_errf(msg, msglen, "bad role '%.32s' (want reader, writer or admin)", tok[1]);
        return WM_ECONFIG;
    }
    for (size_t k = 2; k + 1 < ntok; k++)
        if (parse_option(tok[k], gemeenten, n_gemeenten, e, msg, msglen) != WM_OK)
            return WM_ECONFIG;
    hex = tok[ntok - 1];
    if (strncmp(hex, "sha256:", 7) != 0 || strlen(hex + 7) != 64) {
        proto_errf(msg, msglen, "the hash must be sha256: and 64 hex digits");
        return WM_ECONFIG;
    }
    hex += 7;
    for (int i = 0; i < 32; i++) {
        int hi = proto_hex_digit((unsigned char)hex[2 * i]);
        int lo = proto_hex_digit((unsigned char)hex[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            proto_errf(msg, msglen, "the hash must be sha256: and 64 hex digits");
            return WM_ECONFIG;
        }
        e->hash[i] = (unsigned char)(hi << 4 | lo);
    }
    return WM_OK;
}

/* Add e to t (cap entries allocated), unless its principal or its token is there
 * already. Returns WM_OK, WM_ECONFIG with msg, WM_ENOMEM. */
static int table_add(struct auth_table *t, size_t *cap, const struct auth_entry *e, char *msg,
                     size_t msglen)
{
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->entries[i].principal, e->principal) == 0) {
            proto_errf(msg, msglen, "principal '%s' given twice", e->principal);
            return WM_ECONFIG;
        }
        if (CRYPTO_memcmp(t->entries[i].hash, e->hash, sizeof(e->hash)) == 0) {
            proto_errf(msg, msglen, "the same token as principal '%s'", t->entries[i].principal);
            return WM_ECONFIG;
        }
    }
    if (t->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        struct auth_entry *ne = realloc(t->entries, ncap * sizeof(*ne));
        if (ne == NULL) {
            proto_errf(msg, msglen, "out of memory");
            return WM_ENOMEM;
        }
        t->entries = ne;
        *cap = ncap;
    }
    t->entries[t->n++] = *e;
    return WM_OK;
}

int auth_table_load(const char *path, const char *const *gemeenten, size_t n_gemeenten,
                    struct auth_table **out, char *err, size_t errlen)
{
    struct auth_table *t = NULL;
    size_t cap = 0;
    FILE *f = NULL;
    struct stat st;
    char line[1024], msg[256];
    unsigned lineno = 0;
    int rc = WM_OK;

    *out = NULL;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return WM_ENOMEM;
    f = fopen(path, "r");
    if (f == NULL) {
        proto_errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        rc = WM_ECONFIG;
        goto fail;
    }
    if (fstat(fileno(f), &st) != 0) {
        proto_errf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
        rc = WM_ECONFIG;
        goto fail;
    }
    if ((rc = auth_file_mode_check(path, &st, 1, err, errlen)) != WM_OK)
        goto fail;
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t n = strlen(line);
        char *p = line;
        struct auth_entry e;

        lineno++;
        if (n == sizeof(line) - 1 && line[n - 1] != '\n') {
            proto_errf(err, errlen, "%s:%u: line too long", path, lineno);
            rc = WM_ECONFIG;
            goto fail;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        if (parse_line(p, gemeenten, n_gemeenten, &e, msg, sizeof(msg)) != WM_OK) {
            proto_errf(err, errlen, "%s:%u: %s", path, lineno, msg);
            rc = WM_ECONFIG;
            goto fail;
        }
        rc = table_add(t, &cap, &e, msg, sizeof(msg));
        if (rc != WM_OK) {
            proto_errf(err, errlen, "%s:%u: %s", path, lineno, msg);
            goto fail;
        }
    }
    if (ferror(f)) {
        proto_errf(err, errlen, "%s: read error", path);
        rc = WM_ECONFIG;
        goto fail;
    }
    fclose(f);
    *out = t;
    return WM_OK;
fail:
    if (f != NULL)
        fclose(f);
    auth_table_free(t);
    return rc;
}

void auth_table_free(struct auth_table *t)
{
    if (t == NULL)
        return;
    /* the hashes are not secrets, but there is no reason to leave them around */
    if (t->entries != NULL)
        OPENSSL_cleanse(t->entries, t->n * sizeof(*t->entries));
    free(t->entries);
    free(t);
}

const struct auth_entry *auth_table_lookup(const struct auth_table *t, const char *token,
                                           size_t len)
{
    unsigned char hash[32];
    unsigned int hlen = 0;
    const struct auth_entry *found = NULL;

    if (t == NULL || EVP_Digest(token, len, hash, &hlen, EVP_sha256(), NULL) != 1 ||
        hlen != sizeof(hash))
        return NULL;
    /* no early exit: the time taken does not depend on which entry matched */
    for (size_t i = 0; i < t->n; i++) {
        if (CRYPTO_memcmp(t->entries[i].hash, hash, sizeof(hash)) == 0)
            found = &t->entries[i];
    }
    OPENSSL_cleanse(hash, sizeof(hash));
    return found;
}

const struct auth_entry *auth_table_find(const struct auth_table *t, const char *principal)
{
    for (size_t i = 0; t != NULL && i < t->n; i++)
        if (strcmp(t->entries[i].principal, principal) == 0)
            return &t->entries[i];
    return NULL;
}

const char *auth_role_name(enum auth_role role)
{
    switch (role) {
    case AUTH_ROLE_READER:
        return "reader";
    case AUTH_ROLE_WRITER:
        return "writer";
    case AUTH_ROLE_ADMIN:
        return "admin";
    case AUTH_ROLE_NONE:
        break;
    }
    return "none";
}

int auth_role_allows(enum auth_role role, enum proto_verb verb)
{
    switch (verb) {
    case PROTO_VERB_UNKNOWN:
    case PROTO_VERB_PING:
    case PROTO_VERB_HELLO:
    case PROTO_VERB_AUTH:
    case PROTO_VERB_QUIT:
        return 1;
    case PROTO_VERB_COUNT:
    case PROTO_VERB_PROGRESS:
    case PROTO_VERB_PROJECTS:
    case PROTO_VERB_WATCH:
    case PROTO_VERB_STATS:
    case PROTO_VERB_NOTES:
        return role >= AUTH_ROLE_READER;
    case PROTO_VERB_EVENT:
    case PROTO_VERB_RETRACT:
    case PROTO_VERB_REPLACE:
    case PROTO_VERB_CHECK:
    case PROTO_VERB_SHOW:
        return role >= AUTH_ROLE_WRITER;
    case PROTO_VERB_PROJECT:
    case PROTO_VERB_PROGRAM:
    case PROTO_VERB_NOTE:
    case PROTO_VERB_BACKUP:
        return role >= AUTH_ROLE_ADMIN;
    }
    return 0;
}
