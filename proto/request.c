/*
 * request: one request line into a struct proto_request (PROTOCOL.md section 1):
 * tokens split on runs of spaces, a case-insensitive verb, key=value or positional
 * arguments with %XX-decoded, UTF-8-checked values, each through the BSN rule
 * (personal.c). No I/O and no other semantics here.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

static const struct {
    const char *name;
    enum proto_verb verb;
} verbs[] = {
    {"PING", PROTO_VERB_PING},         {"HELLO", PROTO_VERB_HELLO},
    {"AUTH", PROTO_VERB_AUTH},         {"QUIT", PROTO_VERB_QUIT},
    {"EVENT", PROTO_VERB_EVENT},       {"RETRACT", PROTO_VERB_RETRACT},
    {"COUNT", PROTO_VERB_COUNT},       {"PROGRESS", PROTO_VERB_PROGRESS},
    {"PROJECT", PROTO_VERB_PROJECT},   {"PROGRAM", PROTO_VERB_PROGRAM},
    {"PROJECTS", PROTO_VERB_PROJECTS}, {"WATCH", PROTO_VERB_WATCH},
    {"STATS", PROTO_VERB_STATS},       {"NOTE", PROTO_VERB_NOTE},
    {"NOTES", PROTO_VERB_NOTES},       {"REPLACE", PROTO_VERB_REPLACE},
    {"CHECK", PROTO_VERB_CHECK},       {"SHOW", PROTO_VERB_SHOW},
    {"BACKUP", PROTO_VERB_BACKUP},
};

void proto_request_init(struct proto_request *req)
{
    memset(req, 0, sizeof(*req));
    req->verb = PROTO_VERB_UNKNOWN;
}

void proto_request_free(struct proto_request *req)
{
    free(req->buf);
    free(req->vals);
    free(req->nums);
    proto_request_init(req);
}

/* The bytes of a key: [a-z0-9._-]. A table, one load per byte, where the tests were up
 * to seven comparisons: every key of every request passes here. */
static const unsigned char key_chars[256] = {
    ['-'] = 1, ['.'] = 1, ['_'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
    ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,
    ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1,
    ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1,
    ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1};

static char upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Quote a raw token for a syntax message as the client typed it: like proto_quote, but
 * a literal '%' stays '%' (the token's own escapes are what the message is about). */
static void quote_raw(char *dst, size_t dstlen, const char *tok, size_t n)
{
    size_t i, o = 0;

    proto_quote(dst, dstlen, tok, n);
    for (i = 0; dst[i] != '\0'; i++) {
        dst[o++] = dst[i];
        if (dst[i] == '%' && dst[i + 1] == '2' && dst[i + 2] == '5')
            i += 2; /* proto_quote writes "%25" only for a literal '%' */
    }
    dst[o] = '\0';
}

/* 1 when a verb token (raw: verbs are not decoded) holds a BSN as sent or as its
 * %XX escapes decode. */
static int verb_holds_bsn(const char *tok, size_t n)
{
    char *dec;
    size_t dn;
    int found = proto_bsn_find(tok, n);

    if (found || memchr(tok, '%', n) == NULL)
        return found;
    dec = malloc(n + 1);
    if (dec == NULL)
        return 0;
    if (proto_unescape(dec, tok, n, &dn, NULL, 0) == WM_OK)
        found = proto_bsn_find(dec, dn);
    free(dec);
    return found;
}

/* Set verb and verb_text from the first token (raw, not decoded: verbs are words). */
static int parse_verb(struct proto_request *req, const char *tok, size_t n, char *err,
                      size_t errlen)
{
    char q[64];
    size_t i, keep;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)tok[i];
        if (c < 0x20 || c == 0x7f)
            break;
    }
    if (i < n || !proto_utf8_valid(tok, n)) {
        quote_raw(q, sizeof(q), tok, n);
        proto_errf(err, errlen, "bad command '%s': control character or invalid UTF-8", q);
        return WM_ESYNTAX;
    }
    /* the verb is a token like any other: an unknown one is echoed in the answer */
    if (verb_holds_bsn(tok, n)) {
        req->refused_value = 1;
        proto_errf(err, errlen,
                   "the command holds a number that looks like a BSN (not repeated here); a "
                   "BSN must never be sent");
        return WM_EINVALID;
    }
    /* Truncate at a character boundary so verb_text stays valid UTF-8. */
    keep = n < sizeof(req->verb_text) - 1 ? n : sizeof(req->verb_text) - 1;
    while (keep > 0 && keep < n && ((unsigned char)tok[keep] & 0xC0) == 0x80)
        keep--;
    for (i = 0; i < keep; i++)
        req->verb_text[i] = upper(tok[i]);
    req->verb_text[keep] = '\0';
    req->verb = PROTO_VERB_UNKNOWN;
    if (keep == n) {
        for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
            if (verbs[i].name[0] == req->verb_text[0] &&
                strcmp(verbs[i].name, req->verb_text) == 0) {
                req->verb = verbs[i].verb;
                break;
            }
        }
    }
    return WM_OK;
}

/* Decode one argument token in place (tok points into req->buf, the byte after it is
 * a space or the end, so the terminating NUL always fits) and append it to args. raw
 * is the same token in the caller's line, quoted in messages because decoding in place
 * overwrites tok. */
static int parse_arg(struct proto_request *req, char *tok, const char *raw, size_t n, char *err,
                     size_t errlen)
{
    struct proto_arg *a;
    char q[64], why[96];
    char *eq, *val = tok;
    size_t vlen = n, klen, i, vdec;
    uint64_t bit;
    int rc;

    if (req->nargs >= PROTO_MAX_ARGS) {
        proto_errf(err, errlen, "too many arguments (at most %d)", PROTO_MAX_ARGS);
        return WM_EINVALID;
    }
    a = &req->args[req->nargs];
    a->key = NULL;
    /* The key's characters are checked on the way to its '=' (the first one; '=' is no
     * key character, so the scan stops there or before): i is the first byte that is
     * none, and a key is bad when that comes before the '='. */
    for (i = 0; i < n && key_chars[(unsigned char)tok[i]]; i++)
        ;
    eq = i < n && tok[i] == '=' ? tok + i : memchr(tok + i, '=', n - i);
    /* AUTH's argument is positional by the contract, and a token may hold '='. */
    if (req->verb == PROTO_VERB_AUTH)
        eq = NULL;
    if (eq != NULL) {
        klen = (size_t)(eq - tok);
        if (klen == 0 || i < klen) {
            quote_raw(q, sizeof(q), tok, klen);
            if (klen == 0)
                proto_errf(err, errlen, "empty key in argument %zu", req->nargs + 1);
            else
                proto_errf(err, errlen, "bad key '%s' (keys are [a-z0-9._-])", q);
            return WM_ESYNTAX;
        }
        if (proto_bsn_find(tok, klen)) {
            req->refused_value = 1;
            proto_errf(err, errlen,
                       "argument %zu: its key holds a number that looks like a BSN (not "
                       "repeated here); a BSN must never be sent",
                       req->nargs + 1);
            return WM_EINVALID;
        }
        *eq = '\0';
        /* Equal keys have equal bits, so only a key whose bit an earlier key set can
         * be a duplicate; the keys of an EVENT of any one type have bits of their own,
         * so its arguments are not compared pairwise. */
        bit = 1ull << (((unsigned char)tok[0] + 12 * klen) & 63);
        for (i = 0; (req->key_bits & bit) && i < req->nargs; i++) {
            if (req->args[i].key != NULL && strcmp(req->args[i].key, tok) == 0) {
                proto_errf(err, errlen, "duplicate key '%s'", tok);
                return WM_ESYNTAX;
            }
        }
        req->key_bits |= bit;
        a->key = tok;
        val = eq + 1;
        vlen = n - klen - 1;
    }
    /* NOTE's text is the one value that may hold line breaks. */
    if (req->verb == PROTO_VERB_NOTE && a->key != NULL && strcmp(a->key, "text") == 0)
        rc = proto_unescape_text(val, val, vlen, &vdec, why, sizeof(why));
    else
        rc = proto_unescape(val, val, vlen, &vdec, why, sizeof(why));
    if (rc != WM_OK) {
        const char *rawval = raw + (val - tok);

        quote_raw(q, sizeof(q), rawval, vlen);
        /* Never echo a secret, a personal value or a BSN, not even a broken one. */
        if (req->verb == PROTO_VERB_AUTH)
            proto_errf(err, errlen, "token: %s", why);
        else if (proto_field_personal(a->key) || proto_bsn_find(rawval, vlen))
            proto_errf(err, errlen, "%s: %s", a->key != NULL ? a->key : "argument", why);
        else if (a->key != NULL)
            proto_errf(err, errlen, "%s: %s in '%s'", a->key, why, q);
        else
            proto_errf(err, errlen, "argument %zu: %s in '%s'", req->nargs + 1, why, q);
        return rc;
    }
    rc = proto_value_check(req->verb, a->key, val, vdec, err, errlen);
    if (rc != WM_OK) {
        req->refused_value = 1;
        return rc;
    }
    a->val = val;
    a->val_len = vdec;
    req->nargs++;
    return WM_OK;
}

/* Copy src (len bytes, what: "line" or "query" for the message) into req's buffer,
 * NUL-terminated, refusing a NUL byte. */
static int request_copy(struct proto_request *req, const char *src, size_t len, const char *what,
                        char *err, size_t errlen)
{
    char *nb;

    req->nargs = 0;
    req->key_bits = 0;
    req->refused_value = 0;
    if (len > 0 && memchr(src, '\0', len) != NULL) {
        proto_errf(err, errlen, "NUL byte in %s", what);
        return WM_ESYNTAX;
    }
    if (req->cap < len + 1) {
        nb = realloc(req->buf, len + 1);
        if (nb == NULL) {
            proto_errf(err, errlen, "out of memory");
            return WM_ENOMEM;
        }
        req->buf = nb;
        req->cap = len + 1;
    }
    if (len > 0)
        memcpy(req->buf, src, len);
    req->buf[len] = '\0';
    return WM_OK;
}

int proto_parse_line(struct proto_request *req, const char *line, size_t len, char *err,
                     size_t errlen)
{
    const char *sp;
    size_t i, start;
    int rc, have_verb = 0;

    req->verb = PROTO_VERB_UNKNOWN;
    req->verb_text[0] = '\0';
    rc = request_copy(req, line, len, "line", err, errlen);
    if (rc != WM_OK)
        return rc;

    i = 0;
    for (;;) {
        while (i < len && req->buf[i] == ' ')
            i++;
        if (i >= len)
            break;
        start = i;
        /* memchr rather than a loop per byte: a line is mostly its tokens' bytes */
        sp = memchr(req->buf + i, ' ', len - i);
        i = sp != NULL ? (size_t)(sp - req->buf) : len;
        /* The space after the token (or the final NUL) becomes its terminator. */
        req->buf[i] = '\0';
        if (!have_verb) {
            rc = parse_verb(req, req->buf + start, i - start, err, errlen);
            have_verb = 1;
        } else {
            rc = parse_arg(req, req->buf + start, line + start, i - start, err, errlen);
        }
        if (rc != WM_OK) {
            req->nargs = 0;
            return rc;
        }
        if (i < len)
            i++;
    }
    return WM_OK;
}

int proto_parse_query(struct proto_request *req, enum proto_verb verb, const char *query,
                      size_t len, const char *positional_key, char *err, size_t errlen)
{
    size_t i, start;
    char q[64];
    int rc;

    req->verb = verb;
    req->verb_text[0] = '\0';
    for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        if (verbs[i].verb == verb)
            memcpy(req->verb_text, verbs[i].name, strlen(verbs[i].name) + 1);
    }
    rc = request_copy(req, query, len, "query", err, errlen);
    if (rc != WM_OK)
        return rc;
    /* '+' is a space in a query string (HTML forms); a literal plus comes as %2B. A
     * decoded space is allowed in a value, as %20 is on a request line. */
    for (i = 0; i < len; i++) {
        if (req->buf[i] == '+')
            req->buf[i] = ' ';
    }

    i = 0;
    while (i < len) {
        start = i;
        while (i < len && req->buf[i] != '&')
            i++;
        /* The '&' after the parameter (or the final NUL) becomes its terminator. */
        req->buf[i] = '\0';
        if (i > start) {
            if (memchr(req->buf + start, '=', i - start) == NULL) {
                quote_raw(q, sizeof(q), query + start, i - start);
                proto_errf(err, errlen, "parameter '%s' has no value (want key=value)", q);
                req->nargs = 0;
                return WM_ESYNTAX;
            }
            rc = parse_arg(req, req->buf + start, query + start, i - start, err, errlen);
            if (rc != WM_OK) {
                req->nargs = 0;
                return rc;
            }
            if (positional_key != NULL &&
                strcmp(req->args[req->nargs - 1].key, positional_key) == 0) {
                if (proto_request_positional(req, 0) != NULL) {
                    proto_errf(err, errlen, "duplicate key '%s'", positional_key);
                    req->nargs = 0;
                    return WM_ESYNTAX;
                }
                req->args[req->nargs - 1].key = NULL;
            }
        }
        i++;
    }
    return WM_OK;
}

int proto_line_check(struct proto_request *req, const char *line, size_t len, char *err,
                     size_t errlen)
{
    int rc = proto_parse_line(req, line, len, err, errlen);

    if (rc == WM_OK || req->refused_value)
        return rc == WM_OK ? WM_OK : WM_EINVALID;
    /* a line the server will refuse for another fault must not carry a BSN there
     * either; AUTH's token is nobody's number */
    if (req->verb != PROTO_VERB_AUTH && proto_bsn_find(line, len)) {
        proto_errf(err, errlen,
                   "the line holds a number that looks like a BSN (not repeated here); a BSN "
                   "must never be sent");
        return WM_EINVALID;
    }
    return WM_OK;
}

const char *proto_request_get(const struct proto_request *req, const char *key)
{
    size_t i;

    for (i = 0; i < req->nargs; i++)
        if (req->args[i].key != NULL && strcmp(req->args[i].key, key) == 0)
            return req->args[i].val;
    return NULL;
}

const char *proto_request_positional(const struct proto_request *req, size_t i)
{
    size_t k;

    for (k = 0; k < req->nargs; k++) {
        if (req->args[k].key == NULL) {
            if (i == 0)
                return req->args[k].val;
            i--;
        }
    }
    return NULL;
}

int proto_request_no_extra(const struct proto_request *req, size_t allowed, char *err,
                           size_t errlen)
{
    const char *extra = proto_request_positional(req, allowed);
    char q[72];

    if (extra == NULL)
        return WM_OK;
    proto_quote(q, sizeof(q), extra, strlen(extra));
    proto_errf(err, errlen, "unexpected argument '%s'", q);
    return WM_EINVALID;
}
