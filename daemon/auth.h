/*
 * auth: the token file (principal, role, optional gemeente, SHA-256 of the token) and
 * the roles matrix of PROTOCOL.md section 3. Only hashes are kept in memory; a
 * presented token is hashed and compared in constant time against every entry.
 */
#ifndef WM_DAEMON_AUTH_H
#define WM_DAEMON_AUTH_H

#include <stddef.h>

#include "proto.h"

enum auth_role {
    AUTH_ROLE_NONE = 0,   /* not authenticated: PING, HELLO, AUTH, QUIT only */
    AUTH_ROLE_READER = 1, /* reads: COUNT, PROGRESS, PROJECTS, WATCH, STATS */
    AUTH_ROLE_WRITER = 2, /* a reader that may EVENT and RETRACT its own events */
    AUTH_ROLE_ADMIN = 3,  /* everything, including PROJECT, PROGRAM, RETRACT seq= */
};

/* Fields of a token file line at most; the largest min-count and round. */
#define AUTH_MAX_FIELDS 6
#define AUTH_MAX_MIN_COUNT 1000000

struct auth_entry {
    char principal[WM_NAME_MAX + 1];
    enum auth_role role;
    char gemeente[WM_NAME_MAX + 1]; /* bound to a municipality (reads and writes only its
                                       events); "" = any */
    unsigned min_count;             /* counts above 0 below this are shown suppressed; 0: none */
    unsigned round;                 /* other counts rounded to a multiple of this; 0: exact */
    unsigned char hash[32];         /* SHA-256 of the token */
};

struct auth_table {
    struct auth_entry *entries; /* owned */
    size_t n;
};

/*
 * Load a token file: one "<principal> <role> [gemeente=<g>] [min-count=<n>] [round=<r>]
 * sha256:<64 hex>" per line (the optional fields in any order, each at most once),
 * blank lines and '#' comments ignored. Principals are 1-64 of [A-Za-z0-9._@-] and
 * unique; role is reader, writer or admin; gemeente (not for an admin) must be one of
 * gemeenten; min-count and round are 1..AUTH_MAX_MIN_COUNT. The file must pass auth_file_mode_check
 * (secret). Returns WM_OK and *out (free with auth_table_free), WM_ECONFIG with err =
 * "<file>:<line>: <problem>" (or "<file>: <problem>" for its mode), or WM_ENOMEM.
 */
int auth_table_load(const char *path, const char *const *gemeenten, size_t n_gemeenten,
                    struct auth_table **out, char *err, size_t errlen);

/* Free a table. NULL is allowed. */
void auth_table_free(struct auth_table *t);

struct stat;

/*
 * The permissions a file of secrets must have, as ssh demands of its own (path names
 * it in the message; st is its stat): a regular file that neither group nor others may
 * write, and, when secret (a token file, a private key), that others may not read (the
 * group may: the daemon's group in a packaged install). Returns WM_OK or WM_ECONFIG
 * with err naming the file, its mode and the chmod that fixes it.
 */
int auth_file_mode_check(const char *path, const struct stat *st, int secret, char *err,
                         size_t errlen);

/* The entry whose hash is SHA-256(token), or NULL. Every entry is compared in
 * constant time. Borrowed from t. */
const struct auth_entry *auth_table_lookup(const struct auth_table *t, const char *token,
                                           size_t len);

/* The entry of principal, or NULL. Borrowed from t. */
const struct auth_entry *auth_table_find(const struct auth_table *t, const char *principal);

/* "none", "reader", "writer" or "admin". Static. */
const char *auth_role_name(enum auth_role role);

/* 1 when role may run verb at all (finer checks, like RETRACT seq= for admins only or
 * a writer's gemeente, are the handler's); else 0. PROTO_VERB_UNKNOWN is allowed (it
 * is answered unknown-command). */
int auth_role_allows(enum auth_role role, enum proto_verb verb);

#endif /* WM_DAEMON_AUTH_H */
