/*
 * The offline subcommands for credentials and personal data: token new, keygen and
 * pseudonym. None of them talks to the server.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "client.h"

enum { OPT_PSEUDO_KEY = 1 };

static int bad_name(const char *s, int allow_upper)
{
    size_t n = strlen(s);

    if (n == 0 || n > WM_NAME_MAX)
        return 1;
    for (; *s != '\0'; s++) {
        char ch = *s;

        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
              (allow_upper && ((ch >= 'A' && ch <= 'Z') || ch == '.' || ch == '_'))))
            return 1;
    }
    return 0;
}

/* ---- token new ---- */

static const char token_help[] =
    "Usage: werkmonitor token new <principal> <role> [gemeente=<g>] [min-count=<n>] [round=<r>]\n"
    "\n"
    "Make a new access token: 32 random bytes as 64 hex characters. Prints two lines on\n"
    "stdout: the token (give it to the principal, e.g. in a file for --token-file), then\n"
    "the line for the daemon's tokens file, which holds only the token's SHA-256:\n"
    "  <principal> <role> [options] sha256:<64 hex>\n"
    "<role> is reader, writer or admin. gemeente=<g> binds a reader or writer to one\n"
    "municipality: it writes and reads only that one's events. min-count=<n> shows its\n"
    "counts above 0 and below n as suppressed (<n); round=<r> rounds its other counts to\n"
    "a multiple of r (for published figures, e.g. min-count=10 round=5).\n"
    "<principal> is 1-64 characters of A-Z a-z 0-9 . _ -.\n";

/* 1 when s is a whole number from 1 to 1000000 (a token's min-count or round). */
static int token_count_ok(const char *s)
{
    size_t n = strspn(s, "0123456789");

    return n > 0 && n <= 7 && s[n] == '\0' && s[0] != '0' && atol(s) <= 1000000;
}

int cli_cmd_token(struct cli_config *cfg, int argc, char **argv)
{
    struct cli_args a;
    char token[2 * CLI_TOKEN_BYTES + 1];
    char hash[65];
    const char *gemeente = NULL, *min_count = NULL, *round = NULL;
    const char *role;
    int ex;

    if ((ex = cli_args_begin(&a, "token", argc, argv, NULL, 0, cfg, token_help)) >= 0)
        return ex;
    if (a.npos == 0) {
        ex = cli_usage_error("token", "missing the action: token new <principal> <role>");
        goto out;
    }
    if (strcmp(a.pos[0], "new") != 0) {
        ex = cli_usage_error("token", "unknown action '%s' (only 'new')", a.pos[0]);
        goto out;
    }
    if (a.npos < 3 || a.npos > 6) {
        ex = cli_usage_error("token", "usage: token new <principal> <role> [gemeente=<g>] "
                                      "[min-count=<n>] [round=<r>]");
        goto out;
    }
    if (bad_name(a.pos[1], 1)) {
        ex = cli_usage_error("token", "principal '%s' must be 1-64 characters of A-Z a-z 0-9 . _ -",
                             a.pos[1]);
        goto out;
    }
    role = a.pos[2];
    if (strcmp(role, "reader") != 0 && strcmp(role, "writer") != 0 && strcmp(role, "admin") != 0) {
        ex = cli_usage_error("token", "role is reader, writer or admin, not '%s'", role);
        goto out;
    }
    for (size_t i = 3; i < a.npos; i++) {
        const char *o = a.pos[i];
        if (strncmp(o, "gemeente=", 9) == 0 && !bad_name(o + 9, 0) && gemeente == NULL) {
            if (strcmp(role, "admin") == 0) {
                ex = cli_usage_error("token", "an admin cannot be bound to a gemeente");
                goto out;
            }
            gemeente = o + 9;
        } else if ((strncmp(o, "min-count=", 10) == 0 && min_count == NULL &&
                    token_count_ok(o + 10)) ||
                   (strncmp(o, "round=", 6) == 0 && round == NULL && token_count_ok(o + 6))) {
            if (o[0] == 'm')
                min_count = o;
            else
                round = o;
        } else {
            ex = cli_usage_error("token",
                                 "expected gemeente=<name> (a-z 0-9 -), min-count=<n> or round=<r> "
                                 "(1-1000000), each once, not '%s'",
                                 o);
            goto out;
        }
    }
    if (cli_token_new(token) != WM_OK || cli_sha256_hex(token, strlen(token), hash) != WM_OK) {
        fprintf(stderr, "werkmonitor token: no random bytes or SHA-256 from OpenSSL\n");
        ex = CLI_EXIT_ERR;
        goto out;
    }
    printf("%s\n", token);
    printf("%s %s%s%s%s%s%s%s sha256:%s\n", a.pos[1], role, gemeente != NULL ? " gemeente=" : "",
           gemeente != NULL ? gemeente : "", min_count != NULL ? " " : "",
           min_count != NULL ? min_count : "", round != NULL ? " " : "", round != NULL ? round : "",
           hash);
    if (isatty(STDERR_FILENO))
        fprintf(stderr, "# line 1: the token, for the principal only; line 2: add it to the "
                        "daemon's tokens file and reload it (SIGHUP)\n");
    OPENSSL_cleanse(token, sizeof(token));
    ex = CLI_EXIT_OK;
out:
    cli_args_free(&a);
    return ex;
}

/* ---- keygen ---- */

static const char keygen_help[] =
    "Usage: werkmonitor keygen FILE\n"
    "\n"
    "Write a new pseudonym key: 32 random bytes, to a new FILE with mode 0600. An\n"
    "existing file is never overwritten. Every client of the region must use the same\n"
    "key so that a person gets the same pseudonym everywhere: make it once, keep it\n"
    "secret, distribute it safely.\n";

int cli_cmd_keygen(struct cli_config *cfg, int argc, char **argv)
{
    struct cli_args a;
    char why[512];
    int rc, ex;

    if ((ex = cli_args_begin(&a, "keygen", argc, argv, NULL, 0, cfg, keygen_help)) >= 0)
        return ex;
    if (a.npos != 1) {
        ex = cli_usage_error("keygen", a.npos == 0 ? "missing FILE" : "give exactly one FILE");
        goto out;
    }
    rc = cli_keygen(a.pos[0], why, sizeof(why));
    if (rc != WM_OK) {
        fprintf(stderr, "werkmonitor keygen: %s\n", why);
        ex = rc == WM_ECONFIG ? CLI_EXIT_ERR : CLI_EXIT_CONN;
        goto out;
    }
    printf("wrote a %d-byte pseudonym key to %s (mode 0600)\n", CLI_KEY_MIN, a.pos[0]);
    ex = CLI_EXIT_OK;
out:
    cli_args_free(&a);
    return ex;
}

/* ---- pseudonym ---- */

static const char pseudonym_help[] =
    "Usage: werkmonitor pseudonym --pseudo-key FILE <BSN>\n"
    "       werkmonitor pseudonym --pseudo-key FILE -    (BSNs from stdin, one per line)\n"
    "\n"
    "Print the pseudonym of a BSN: HMAC-SHA256 of the 9 digits under the key, as 64\n"
    "lowercase hex characters; this is the person= value 'send --bsn' and 'import' send.\n"
    "The BSN is checked with the eleven-test (elfproef) first and refused when it fails.\n"
    "With '-', one pseudonym per input line; a refused line is reported on stderr with its\n"
    "line number, its output line is left empty, and the exit status is 1.\n"
    "A BSN on the command line is visible to other users of this machine through ps;\n"
    "'-' avoids that.\n";

/* Pseudonymise BSNs from stdin. */
static int pseudonym_stream(struct cli_key *k)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    int ex = CLI_EXIT_OK;

    while ((n = getline(&line, &cap, stdin)) >= 0) {
        char pseudo[CLI_PSEUDONYM_LEN + 1];
        char why[256];
        char *s = line;

        lineno++;
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
            s[--n] = '\0';
        while (*s == ' ')
            s++;
        if (*s == '\0') {
            putchar('\n'); /* keep the output in step with the input */
            continue;
        }
        if (cli_bsn_check(s, why, sizeof(why)) != WM_OK) {
            fprintf(stderr, "werkmonitor pseudonym: line %ld refused: %s\n", lineno, why);
            putchar('\n');
            ex = CLI_EXIT_ERR;
            continue;
        }
        if (cli_pseudonym(k, s, pseudo) != WM_OK) {
            fprintf(stderr, "werkmonitor pseudonym: cannot compute the pseudonym (OpenSSL)\n");
            ex = CLI_EXIT_ERR;
            break;
        }
        printf("%s\n", pseudo);
    }
    if (line != NULL) {
        OPENSSL_cleanse(line, cap);
        free(line);
    }
    return ex;
}

int cli_cmd_pseudonym(struct cli_config *cfg, int argc, char **argv)
{
    static const struct cli_optdef defs[] = {{"pseudo-key", 0, 1, OPT_PSEUDO_KEY}};
    struct cli_args a;
    struct cli_key k = {0};
    const char *keyfile = NULL;
    char why[512];
    char pseudo[CLI_PSEUDONYM_LEN + 1];
    int rc, ex;

    if ((ex = cli_args_begin(&a, "pseudonym", argc, argv, defs, 1, cfg, pseudonym_help)) >= 0)
        return ex;
    for (size_t i = 0; i < a.nopts; i++)
        if (a.opts[i].id == OPT_PSEUDO_KEY)
            keyfile = a.opts[i].value;
    if (keyfile == NULL) {
        ex = cli_usage_error("pseudonym", "missing --pseudo-key FILE");
        goto out;
    }
    if (a.npos != 1) {
        ex = cli_usage_error("pseudonym", a.npos == 0 ? "missing the BSN (or - for stdin)"
                                                      : "give exactly one BSN (or -)");
        goto out;
    }
    if (strcmp(a.pos[0], "-") != 0 && cli_bsn_check(a.pos[0], why, sizeof(why)) != WM_OK) {
        fprintf(stderr, "werkmonitor pseudonym: refused: %s\n", why);
        ex = CLI_EXIT_ERR;
        goto out;
    }
    rc = cli_key_load(&k, keyfile, why, sizeof(why));
    if (rc != WM_OK) {
        fprintf(stderr, "werkmonitor pseudonym: %s\n", rc == WM_ENOMEM ? "out of memory" : why);
        ex = CLI_EXIT_CONN;
        goto out;
    }
    if (strcmp(a.pos[0], "-") == 0) {
        ex = pseudonym_stream(&k);
    } else if (cli_pseudonym(&k, a.pos[0], pseudo) != WM_OK) {
        fprintf(stderr, "werkmonitor pseudonym: cannot compute the pseudonym (OpenSSL)\n");
        ex = CLI_EXIT_ERR;
    } else {
        printf("%s\n", pseudo);
        ex = CLI_EXIT_OK;
    }
out:
    cli_key_free(&k);
    cli_args_free(&a);
    return ex;
}
