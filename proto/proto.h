/*
 * proto: the event model and the wire (PROTOCOL.md), pure C with no I/O.
 * Parses a request line into a typed request, validates fields and formats responses.
 * Used by storage, daemon and client; it depends on nothing of theirs. The records
 * that storage keeps on disk have their own header, record.h (msgpack stays there).
 */
#ifndef WM_PROTO_H
#define WM_PROTO_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------- */
/* Errors: the one error space of the project.                               */
/* ------------------------------------------------------------------------- */

/*
 * Every function of every module returns WM_OK (0) or one of these negative codes.
 * The first block maps one-to-one onto the protocol's ERR codes; the second block is
 * internal and maps onto a protocol code through wm_err_code(). Foreign codes (LMDB,
 * libevent, OpenSSL, errno) are translated into these where they are wrapped.
 */
enum wm_err {
    WM_OK = 0,
    WM_ESYNTAX = -1,          /* syntax */
    WM_EUNKNOWN_COMMAND = -2, /* unknown-command */
    WM_EAUTH_REQUIRED = -3,   /* auth-required */
    WM_EAUTH_FAILED = -4,     /* auth-failed */
    WM_EDENIED = -5,          /* denied */
    WM_EINVALID = -6,         /* invalid */
    WM_EUNKNOWN_PROJECT = -7, /* unknown-project */
    WM_ECONFLICT = -8,        /* conflict */
    WM_ENOT_FOUND = -9,       /* not-found */
    WM_ETOO_LONG = -10,       /* too-long */
    WM_ESTORAGE = -11,        /* storage */
    WM_EUNAVAILABLE = -12,    /* unavailable */
    WM_EINTERNAL = -13,       /* internal */
    WM_ETOO_LARGE = -14,      /* too-large */
    /* internal codes, never on the wire as such */
    WM_ENOMEM = -20,    /* out of memory (wire: internal) */
    WM_EIO = -21,       /* I/O error (wire: storage) */
    WM_EMAPFULL = -22,  /* LMDB map full and cannot grow (wire: storage) */
    WM_EVERSION = -23,  /* unknown schema or record version (wire: storage) */
    WM_ECONNECT = -24,  /* client: cannot connect (wire: unavailable) */
    WM_ECLOSED = -25,   /* peer closed the connection (wire: unavailable) */
    WM_EPROTOCOL = -26, /* client: the server's reply cannot be parsed (wire: internal) */
    WM_ECONFIG = -27,   /* bad configuration or command line (wire: invalid) */
};

/* Human-readable text for an error code ("invalid field", ...). Never NULL; static. */
const char *wm_strerror(int err);

/* The protocol's ERR code word for an error ("syntax", "invalid", ...), mapping the
 * internal codes as noted above. WM_OK gives "ok". Never NULL; static. */
const char *wm_err_code(int err);

/* ------------------------------------------------------------------------- */
/* Growable output buffer.                                                    */
/* ------------------------------------------------------------------------- */

/* A byte buffer that grows as needed. After an allocation failure it keeps its
 * content, sets oom and ignores further appends, so callers may check once. */
struct wm_buf {
    char *data; /* owned; not NUL-terminated unless wm_buf_cstr() was called */
    size_t len;
    size_t cap;
    int oom;
};

/* Initialise an empty buffer (no allocation). */
void wm_buf_init(struct wm_buf *b);
/* Free the buffer's memory and reinitialise it. */
void wm_buf_free(struct wm_buf *b);
/* Empty the buffer, keeping its memory. Clears oom. */
void wm_buf_reset(struct wm_buf *b);
/* Append n bytes. Returns WM_OK or WM_ENOMEM. */
int wm_buf_append(struct wm_buf *b, const void *p, size_t n);
/* Append a NUL-terminated string. Returns WM_OK or WM_ENOMEM. */
int wm_buf_puts(struct wm_buf *b, const char *s);
/* Append n in decimal, as printf's %llu writes it. Returns WM_OK or WM_ENOMEM. */
int wm_buf_put_u64(struct wm_buf *b, uint64_t n);
/* Append printf-formatted text. Returns WM_OK or WM_ENOMEM. */
int wm_buf_printf(struct wm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int wm_buf_vprintf(struct wm_buf *b, const char *fmt, va_list ap);
/* Append s (n bytes) escaped for the wire (see proto_escape). Returns WM_OK or WM_ENOMEM. */
int wm_buf_append_escaped(struct wm_buf *b, const char *s, size_t n);
/* NUL-terminate the content (not counted in len) and return data; "" when empty.
 * Returns NULL after an allocation failure. Borrowed until the next change. */
const char *wm_buf_cstr(struct wm_buf *b);

/* ------------------------------------------------------------------------- */
/* Values: escaping and dates.                                                */
/* ------------------------------------------------------------------------- */

/*
 * Decode the %XX escapes of a value in place. src/len is the raw token; the decoded
 * bytes are written to dst (which may equal src; needs len + 1 bytes) and
 * NUL-terminated; *out_len receives the decoded length. Fails with WM_ESYNTAX on a
 * malformed escape, a decoded NUL, a decoded control character (< 0x20 or 0x7f), or a
 * result that is not valid UTF-8 (overlongs and surrogates refused). err (may be NULL)
 * receives a message naming the problem.
 */
int proto_unescape(char *dst, const char *src, size_t len, size_t *out_len, char *err,
                   size_t errlen);
/* As proto_unescape, but a decoded LF is allowed (NOTE's text, the one value that may
 * hold line breaks). */
int proto_unescape_text(char *dst, const char *src, size_t len, size_t *out_len, char *err,
                        size_t errlen);

/*
 * Escape s (n bytes) for the wire: space, '%', and every byte below 0x20 or equal to
 * 0x7f become %XX (upper-case hex); all other bytes, UTF-8 included, pass unchanged.
 * Writes at most dstlen - 1 bytes plus a NUL; returns the length the full result needs
 * (excluding the NUL), like snprintf.
 */
size_t proto_escape(char *dst, size_t dstlen, const char *s, size_t n);

/*
 * Helpers shared by proto's files and useful to its users (additive to the first
 * contract; none of them allocates).
 */

/* 1 when s (n bytes) is valid UTF-8: no overlong forms, no surrogates, nothing above
 * U+10FFFF; else 0. */
int proto_utf8_valid(const char *s, size_t n);

/*
 * Quote s (n bytes, any bytes) for a human message: like proto_escape, but bytes that
 * are not part of valid UTF-8 also become %XX, and a result longer than dstlen - 1
 * bytes is cut at a character boundary and ends in "...". Always NUL-terminates when
 * dstlen > 0. Used to name a value in an error text without breaking the line.
 */
void proto_quote(char *dst, size_t dstlen, const char *s, size_t n);

/* The value of one hexadecimal digit c (0-9, a-f, A-F), or -1 when c is not one. */
int proto_hex_digit(unsigned char c);

/* 1 when s (n bytes) is a registry name, 1-64 bytes of [a-z0-9-] (project, category);
 * else 0. */
int proto_name_valid(const char *s, size_t n);

/* The canonical form of a value as people write it: ASCII letters lowercased, a space
 * turned into '-' ("Gooise Meren" is "gooise-meren"); other bytes unchanged. */
char proto_canon_char(char c);

/* Make s (n bytes, writable) a registry name as users write it, in place, by
 * proto_canon_char ("Taal Werkt" becomes "taal-werkt"). Returns 1 when the result is a
 * registry name (proto_name_valid); else 0 and s is left as given (for the error). */
int proto_name_canon(char *s, size_t n);

/* Parse s (n bytes) as an unsigned decimal: digits only, no sign, at most max (no
 * overflow). Returns WM_OK and *out, or WM_EINVALID. */
int proto_parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out);

/*
 * Look value up in a closed list (values[0..n-1], canonical: lowercase, '-' between
 * words), matching case-insensitively with a space for a '-' (PROTOCOL.md section 4,
 * canonical values): "Zorg" is zorg, "Gooise Meren" gooise-meren. Returns its index
 * (the caller stores values[index], the canonical form), or WM_EINVALID with err =
 * "<field>: unknown value '<value>' (allowed: a, b, ...)".
 */
int proto_choice(const char *field, const char *const *values, size_t n, const char *value,
                 char *err, size_t errlen);

/* Format a message into err like snprintf; does nothing when err is NULL or errlen
 * is 0. */
void proto_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Dates are counted in days since 1970-01-01 (int32_t). */
#define WM_DATE_MIN 10957 /* 2000-01-01 */
#define WM_DATE_NONE INT32_MIN

/* Parse strict YYYY-MM-DD (exactly 10 bytes, a real calendar date, any year 0001-9999)
 * into *days. Returns WM_OK or WM_EINVALID. */
int proto_date_parse(const char *s, size_t len, int32_t *days);
/* Format days as YYYY-MM-DD into out (11 bytes incl. NUL). */
void proto_date_format(int32_t days, char out[11]);
/* Split days into year, month (1-12) and day (1-31). */
void proto_date_split(int32_t days, int *year, int *month, int *day);
/* Days since 1970-01-01 of a (valid) y-m-d. */
int32_t proto_date_from_ymd(int year, int month, int day);
/* Months since year 0 (year * 12 + month - 1) of a date; the month key of rollups. */
int32_t proto_date_month_index(int32_t days);

/* ------------------------------------------------------------------------- */
/* The event model.                                                          */
/* ------------------------------------------------------------------------- */

enum wm_type {
    WM_TYPE_STARTED = 0,
    WM_TYPE_COMPLETED = 1,
    WM_TYPE_PLACED = 2,
    WM_TYPE_OUTFLOW = 3,
    WM_TYPE_COUNT_ = 4
};

#define WM_MAX_ENUMS 3 /* enumerated fields per type at most */
#define WM_ID_MAX 128
#define WM_PERSON_MAX 128
#define WM_NAME_MAX 64      /* project, category, gemeente, principal names */
#define WM_EMPLOYER_MAX 128 /* characters (UTF-8 code points); buffer 4 bytes each */
#define WM_BY_MAX 64        /* characters; buffer 4 bytes each */
#define WM_TEXT_MAX 256     /* reason of a retraction, title of a project */

/* One enumerated field of a type: its name and closed list of values. values[0] is
 * the default when the field is optional and absent. */
struct proto_enum_field {
    const char *name;
    const char *const *values;
    uint8_t nvalues;
    uint8_t required; /* 1: EVENT must give it */
    uint8_t derived;  /* 1: not an input field; computed (placed: durable from months) */
};

/* A type's description: name, its enumerated fields (in dimension order ENUM0..2),
 * and whether project is required. */
struct proto_type_desc {
    const char *name;
    uint8_t nenums;
    const struct proto_enum_field *enums[WM_MAX_ENUMS];
    uint8_t project_required;
};

/* The description of a type (0 .. WM_TYPE_COUNT_-1), or NULL when out of range.
 * Static; never freed. */
const struct proto_type_desc *proto_type_desc(int type);
/* The type index of a name ("started", ...; case-insensitive: "Placed" is placed), or -1. */
int proto_type_lookup(const char *name);
/* Index of value in field's list, or -1. */
int proto_enum_lookup(const struct proto_enum_field *f, const char *value);

/* durable values (placed ENUM2) */
enum { WM_DURABLE_UNKNOWN_IDX = 0, WM_DURABLE_YES_IDX = 1, WM_DURABLE_NO_IDX = 2 };
/* completed.result values that count as successfully completed: diploma, certificaat,
 * afgerond are indexes 0..2; uitgevallen is 3. */
#define WM_RESULT_SUCCESS(idx) ((idx) <= 2)

/*
 * One event as validated and stored. Fixed size, no pointers, so it can be queued and
 * copied without allocation. Strings are NUL-terminated; "" means absent.
 */
struct wm_event {
    uint64_t seq;                /* assigned by storage when stored */
    uint64_t replaces;           /* the seq of the version of this id it replaced (REPLACE),
                                    0 for the first version; set by storage */
    int64_t recv_time;           /* unix seconds when the daemon received it */
    int32_t date;                /* days since epoch */
    int16_t months;              /* placed: contract length 0-120, -1 when absent */
    int16_t hours;               /* placed: 1-60, -1 when absent */
    uint8_t type;                /* enum wm_type */
    uint8_t enums[WM_MAX_ENUMS]; /* value index per enumerated field of the type */
    char id[WM_ID_MAX + 1];
    char person[WM_PERSON_MAX + 1];
    char gemeente[WM_NAME_MAX + 1];
    char project[WM_NAME_MAX + 1]; /* "" = none (outflow only) */
    char principal[WM_NAME_MAX + 1];
    char employer[4 * WM_EMPLOYER_MAX + 1];
    char by[4 * WM_BY_MAX + 1];
};

/* A retraction of an earlier event, stored as its own record for the audit trail. */
struct wm_retract {
    uint64_t seq;      /* assigned by storage */
    int64_t recv_time; /* unix seconds */
    uint64_t ref_seq;  /* by seq (admin): the target's seq; by ref: 0 until resolved */
    uint8_t by_seq;    /* 1 when the request named seq=, 0 when ref= */
    char id[WM_ID_MAX + 1];
    char ref[WM_ID_MAX + 1]; /* the retracted event's id ("" when by seq) */
    char reason[4 * WM_TEXT_MAX + 1];
    char principal[WM_NAME_MAX + 1];
    uint64_t replaced_by; /* written by a REPLACE: the new version's seq (id and ref are
                             then the event's own id); 0 for a RETRACT */
};

enum wm_scope { WM_SCOPE_REGIONAL = 0, WM_SCOPE_LOCAL = 1 };

/* Which fields a PROJECT/PROGRAM request gave (set_mask bits). */
enum {
    WM_PSET_CATEGORY = 1 << 0,
    WM_PSET_SCOPE = 1 << 1,
    WM_PSET_START = 1 << 2,
    WM_PSET_END = 1 << 3,
    WM_PSET_TARGET_STARTED = 1 << 4,
    WM_PSET_TARGET_COMPLETED = 1 << 5,
    WM_PSET_TARGET_PLACED = 1 << 6,
    WM_PSET_TITLE = 1 << 7,
};

/* A project of the registry, or (name "*") the program. Unset values: start/end
 * WM_DATE_NONE, target -1, title "". */
struct wm_project {
    char name[WM_NAME_MAX + 1];
    char category[WM_NAME_MAX + 1];
    uint8_t scope; /* enum wm_scope */
    int32_t start, end;
    int64_t target[3]; /* started, completed, placed */
    char title[4 * WM_TEXT_MAX + 1];
    unsigned set_mask; /* in a request: which fields were given */
};

/* ------------------------------------------------------------------------- */
/* Requests.                                                                  */
/* ------------------------------------------------------------------------- */

enum proto_verb {
    PROTO_VERB_UNKNOWN = 0,
    PROTO_VERB_PING,
    PROTO_VERB_HELLO,
    PROTO_VERB_AUTH,
    PROTO_VERB_QUIT,
    PROTO_VERB_EVENT,
    PROTO_VERB_RETRACT,
    PROTO_VERB_COUNT,
    PROTO_VERB_PROGRESS,
    PROTO_VERB_PROJECT,
    PROTO_VERB_PROGRAM,
    PROTO_VERB_PROJECTS,
    PROTO_VERB_WATCH,
    PROTO_VERB_STATS,
    PROTO_VERB_NOTE,
    PROTO_VERB_NOTES,
    PROTO_VERB_REPLACE,
    PROTO_VERB_CHECK,
    PROTO_VERB_SHOW,
    PROTO_VERB_BACKUP,
};

#define PROTO_MAX_ARGS 40

/* One argument: key=value (key non-NULL) or positional (key NULL). Both point into
 * the request's own buffer, decoded and NUL-terminated. */
struct proto_arg {
    const char *key;
    const char *val;
    size_t val_len;
};

/* A parsed request line. Initialise with proto_request_init, reuse for many lines,
 * release with proto_request_free. */
struct proto_request {
    enum proto_verb verb;
    char verb_text[16];    /* the verb as sent, uppercased, truncated */
    uint8_t refused_value; /* the last parse failed on proto_value_check (a BSN) */
    size_t nargs;
    struct proto_arg args[PROTO_MAX_ARGS];
    uint64_t key_bits; /* the parser's: a bit per key seen, for its duplicate check */
    char *buf;         /* owned; decoded tokens */
    size_t cap;
    /* owned: the values of a COUNT's filter lists (proto_count_build), as many as the
     * lists of the request hold */
    const char **vals;
    int32_t *nums;
    size_t vals_cap;
};

void proto_request_init(struct proto_request *req);
void proto_request_free(struct proto_request *req);

/*
 * Parse one request line (without its LF; a trailing CR must already be removed) into
 * req, reusing req's buffer (grows to len + 1 when needed). Tokens are split on runs
 * of spaces; the verb is matched case-insensitively (unknown verbs give
 * PROTO_VERB_UNKNOWN and WM_OK: the caller answers unknown-command). Arguments with
 * '=' become key/value, others positional; keys must match [a-z0-9._-]+. The arguments
 * of AUTH are always positional (a token may hold '=').
 * Every token (the verb and each value) then goes through proto_value_check: a BSN
 * in any of them refuses the whole line.
 * Returns WM_OK; WM_ESYNTAX for a bad escape, invalid UTF-8, a control character, a
 * NUL byte, a bad key or a key given twice; WM_EINVALID for more than PROTO_MAX_ARGS
 * arguments or a value refused by proto_value_check; WM_ENOMEM. err receives a message
 * naming the token or key (a value only when it may not be personal). An empty line
 * (only spaces) gives WM_OK with verb PROTO_VERB_UNKNOWN and verb_text "" (the caller
 * ignores it).
 */
int proto_parse_line(struct proto_request *req, const char *line, size_t len, char *err,
                     size_t errlen);

/*
 * Parse an HTTP query string (the part after '?', without it) into req as the
 * arguments of verb (proto/HTTP.md). Parameters are separated by '&' (empty ones are
 * skipped) and are key=value, keys as on a request line; values decode as in HTML
 * forms ('+' is a space, %XX a byte, so %2B is a plus) and are checked as in
 * proto_parse_line (valid UTF-8, no control character, proto_value_check). The value
 * of positional_key (NULL: none) becomes the positional argument, so "type=placed"
 * reads as COUNT's "placed". verb_text is the verb's name. Nothing is allocated but
 * req's buffer.
 * Returns WM_OK; WM_ESYNTAX (a parameter without '=', a bad or duplicate key, a bad
 * escape, invalid UTF-8, a control character, a NUL byte); WM_EINVALID (more than
 * PROTO_MAX_ARGS parameters, a value refused by proto_value_check); WM_ENOMEM. err
 * names the parameter and quotes it unless it may be personal.
 */
int proto_parse_query(struct proto_request *req, enum proto_verb verb, const char *query,
                      size_t len, const char *positional_key, char *err, size_t errlen);

/* ------------------------------------------------------------------------- */
/* Personal data (personal.c): no BSN in any value (PROTOCOL.md section 4).   */
/* ------------------------------------------------------------------------- */

/* 1 when s (n bytes) is a BSN by its form: exactly nine ASCII digits, not all zero,
 * passing the eleven-test (elfproef: 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 divisible by
 * 11); else 0. */
int proto_bsn_valid(const char *s, size_t n);

/*
 * 1 when s (n bytes, any bytes) holds a BSN: nine digits passing the eleven-test that
 * stand alone (no digit right before or after them; "bsn:111222333" and "111222333a"
 * do, "20240101123456789" does not) or are grouped 3-3-3 or 4-2-3 with one '.', '-' or
 * ' ' between the groups ("123.456.782", "1234 56 782"); else 0.
 */
int proto_bsn_find(const char *s, size_t n);

/* 1 when a person value v (n bytes) holds digits and nothing but separators ('.', '-',
 * ' ', ':', '_', '/'), whatever its length: a number someone typed (a BSN, perhaps with
 * a leading zero or grouped), never a pseudonym; else 0. The client refuses to send
 * such a value and the server refuses to store it. */
int proto_person_looks_like_bsn(const char *v, size_t n);

/* 1 when the field named key may hold a personal value (person, bsn, and the free
 * texts employer, by, reason, title, text): a message names such a field but never
 * repeats its value; else 0 (NULL key: 0). */
int proto_field_personal(const char *key);

/*
 * The rule every token of every request passes (applied by proto_parse_line and
 * proto_parse_query, so by the daemon and the client alike): WM_EINVALID when val (n
 * bytes, decoded) holds a BSN (proto_bsn_find), or when key is "person" and the value
 * is only digits and separators (proto_person_looks_like_bsn). key is the argument's
 * key, NULL for a positional argument or the verb. Exceptions, documented in
 * proto/PROTOCOL.md: AUTH's token (a secret, never stored), a seq= that is a number
 * (the server's own), and a value of exactly 64 hex digits (a digest: the client's
 * HMAC-SHA256 pseudonyms), which is not searched for nine digits in a row. err names
 * key and never the value. Returns WM_OK or WM_EINVALID.
 */
int proto_value_check(enum proto_verb verb, const char *key, const char *val, size_t n, char *err,
                      size_t errlen);

/*
 * The BSN rule over a request line as a client applies it before sending (the client
 * never sends what the server would refuse for a BSN): WM_EINVALID with err (naming
 * the field, never the value) when proto_parse_line refuses line for one of its values
 * (proto_value_check), or when the line does not parse and its raw bytes hold a BSN
 * (proto_bsn_find; not for AUTH). Otherwise WM_OK, also for a line with other faults:
 * those are the server's to answer. req is scratch space (proto_request_init'ed).
 */
int proto_line_check(struct proto_request *req, const char *line, size_t len, char *err,
                     size_t errlen);

/* The value of key in req, or NULL. Borrowed from req. */
const char *proto_request_get(const struct proto_request *req, const char *key);
/* The i-th positional argument (0-based), or NULL. Borrowed from req. */
const char *proto_request_positional(const struct proto_request *req, size_t i);
/* WM_OK when req has at most `allowed` positional arguments; else WM_EINVALID with
 * err = "unexpected argument '<the first extra one, quoted>'". */
int proto_request_no_extra(const struct proto_request *req, size_t allowed, char *err,
                           size_t errlen);

/* What validation needs to know of the server: its municipalities and today's date. */
struct proto_env {
    const char *const *gemeenten; /* configured municipalities, borrowed */
    size_t n_gemeenten;
    int32_t today; /* server's local date, days since epoch */
};

/* The default municipalities of the region, NULL-terminated; static. */
extern const char *const proto_default_gemeenten[];

/*
 * Build and validate an event from an EVENT request (positional 0 is the type),
 * applying defaults, per PROTOCOL.md section 4: id, person (BSN-like refused),
 * gemeente in env, date in [2000-01-01, today + 1], project name syntax (its existence
 * is checked by storage), type fields and their domains; unknown fields refused;
 * derived fields (durable) computed. ev->principal, seq and recv_time are left zero.
 * Returns WM_OK, WM_ESYNTAX (missing type), WM_EINVALID; err names field and value.
 */
int proto_event_build(const struct proto_request *req, const struct proto_env *env,
                      struct wm_event *ev, char *err, size_t errlen);

/* What an EVENT field holds, for a client that prepares values (import). */
enum proto_field_kind {
    PROTO_FIELD_NONE = 0, /* not a field EVENT accepts */
    PROTO_FIELD_TEXT,     /* id, person, employer, by: text as given */
    PROTO_FIELD_NAME,     /* gemeente, project and the enumerated fields: a name from a list */
    PROTO_FIELD_INT,      /* months, hours: a whole number */
    PROTO_FIELD_DATE,     /* date: YYYY-MM-DD */
};

/*
 * The kind of the field key (NUL-terminated) in an EVENT of type (0 ..
 * WM_TYPE_COUNT_-1), or in an EVENT of any type when type is -1: the same table
 * proto_event_build checks keys against. The derived durable is not a field
 * (PROTO_FIELD_NONE). No errors.
 */
enum proto_field_kind proto_event_field_kind(int type, const char *key);

/* 1 when two events carry the same content (type, every field after defaults),
 * ignoring seq, recv_time and principal; else 0. Used for DUP versus conflict. */
int proto_event_same(const struct wm_event *a, const struct wm_event *b);

/*
 * Build a retraction from RETRACT: id= required, exactly one of ref=<id> or
 * seq=<n> (n >= 1), optional reason= (at most WM_TEXT_MAX bytes). Whether seq= is
 * allowed (admin) is the caller's decision. Returns WM_OK or WM_EINVALID.
 */
int proto_retract_build(const struct proto_request *req, struct wm_retract *rt, char *err,
                        size_t errlen);

/* A validated SHOW request: either id (with principal, "" for the caller's own) or seq. */
struct wm_show_query {
    char id[WM_ID_MAX + 1];          /* "" when by seq */
    char principal[WM_NAME_MAX + 1]; /* principal= as given; "" when absent */
    uint64_t seq;                    /* seq= (admin); 0 when by id */
};

/*
 * Build a SHOW query: exactly one of id=<id> or seq=<n> (n >= 1), and principal=<name>
 * only with id=. Whether seq= and principal= are allowed (admin) is the caller's
 * decision. Returns WM_OK or WM_EINVALID (err names the field).
 */
int proto_show_build(const struct proto_request *req, struct wm_show_query *q, char *err,
                     size_t errlen);

/*
 * Build a project update from PROJECT <name> [...] (section 6). Names and categories
 * [a-z0-9-]{1,64}; scope regional|local; dates as in events but any year >= 2000;
 * targets non-negative integers up to 10^9; title at most WM_TEXT_MAX bytes; start not
 * after end when both given. set_mask tells which fields were given. Whether category
 * is required (creation) is for storage to decide. Returns WM_OK, WM_ESYNTAX (no
 * name), WM_EINVALID.
 */
int proto_project_build(const struct proto_request *req, struct wm_project *p, char *err,
                        size_t errlen);

/* Build a program update from PROGRAM (start, end, targets only); name is "*".
 * Returns WM_OK or WM_EINVALID. */
int proto_program_build(const struct proto_request *req, struct wm_project *p, char *err,
                        size_t errlen);

/* ------------------------------------------------------------------------- */
/* Queries.                                                                   */
/* ------------------------------------------------------------------------- */

/* COUNT dimensions. ENUM0..2 are the query type's enumerated fields, in the order of
 * proto_type_desc(type)->enums. */
enum wm_dim {
    WM_DIM_PROJECT = 0,
    WM_DIM_CATEGORY,
    WM_DIM_SCOPE,
    WM_DIM_GEMEENTE,
    WM_DIM_YEAR,
    WM_DIM_QUARTER,
    WM_DIM_MONTH,
    WM_DIM_HALFYEAR,
    WM_DIM_ENUM0,
    WM_DIM_ENUM1,
    WM_DIM_ENUM2,
    WM_DIM_COUNT_
};

/* Values of one comma list at most (a 4096-byte line holds ~500 months). */
#define WM_MAX_FILTER_VALUES 1024

/* A filter on one dimension: a comma list of values, any of which matches. Its values
 * live in the request it was built from (see proto_count_build). */
struct wm_filter {
    uint8_t active;
    size_t n;
    /* project, category, gemeente: the names, str[0..n-1] */
    const char *const *str;
    /* year: the year; quarter: year * 4 + q - 1; month: year * 12 + m - 1;
     * halfyear: year * 2 + n - 1 (as proto_period_parse); num[0..n-1] */
    const int32_t *num;
    /* scope and ENUM0..2: bit i set when value index i is allowed */
    uint32_t mask;
};

/* A validated COUNT request (a few hundred bytes: its lists stay in the request). */
struct wm_count_query {
    uint8_t type;
    size_t nby;
    uint8_t by[WM_DIM_COUNT_]; /* enum wm_dim, in the order given */
    int32_t from, to;          /* inclusive days; INT32_MIN / INT32_MAX when open */
    uint8_t distinct;          /* 1: distinct=person */
    struct wm_filter filter[WM_DIM_COUNT_];
    size_t max_rows; /* more groups than this: WM_ETOO_LARGE (the server's max-rows); 0: no
                        limit. Not from the request: proto_count_build sets 0. */
};

/* Name of a dimension for a type ("project", ..., "sector"), or NULL. Static. */
const char *proto_dim_name(int type, int dim);
/* The dimension of a name for a type, or -1 ("durable" only for placed, ...). */
int proto_dim_lookup(int type, const char *name);

/*
 * Build a COUNT query (section 5): positional 0 is the type; by= a comma list of
 * dimensions (each at most once); from=, to= dates (from <= to); distinct=person;
 * any other key must be a dimension of the type, whose comma-separated values are
 * validated (gemeente against env, enums against their domain, scope regional|local,
 * year/quarter/month/halfyear syntax, project/category name syntax; at most
 * WM_MAX_FILTER_VALUES a list, duplicates dropped). The filters' values live in req
 * (its buffer and its value arrays, grown here to what its lists hold): the query is
 * valid while req is unchanged. To give each value of a comma list its own
 * NUL-terminated string, the commas are turned into NULs in req's buffer (so
 * proto_request_get then sees only the first element of such a list); building again
 * from the same req gives the same query.
 * Returns WM_OK, WM_ESYNTAX (no type), WM_EINVALID naming the key and value, WM_ENOMEM.
 */
int proto_count_build(struct proto_request *req, const struct proto_env *env,
                      struct wm_count_query *q, char *err, size_t errlen);

/* A validated PROGRESS request. */
#define WM_MAX_PROGRESS_GEMEENTEN 64

struct wm_progress_query {
    int32_t asof;         /* days; env->today when not given */
    const char *category; /* NULL = all; borrowed from the request */
    const char *project;  /* NULL = all; borrowed from the request */
    /* gemeente=: count only these municipalities' events (0: all); the names are the
     * env's configured ones, each once */
    size_t ngemeente;
    const char *gemeente[WM_MAX_PROGRESS_GEMEENTEN];
};

/* Build a PROGRESS query: asof=, category=, project=, gemeente= (a comma list of
 * configured municipalities; all optional). Returns WM_OK or WM_EINVALID. */
int proto_progress_build(const struct proto_request *req, const struct proto_env *env,
                         struct wm_progress_query *q, char *err, size_t errlen);

/* ------------------------------------------------------------------------- */
/* Notes: the words beside the figures (section 6, NOTE and NOTES).           */
/* ------------------------------------------------------------------------- */

#define WM_NOTE_MAX 4000 /* characters (code points) of a note's text */

/* A light of the stoplight model, as judged by the programme manager. */
enum wm_light { WM_LIGHT_NONE = 0, WM_LIGHT_GREEN, WM_LIGHT_ORANGE, WM_LIGHT_RED };

/* "none", "green", "orange", "red"; "none" for an out-of-range value. Static. */
const char *proto_light_name(int light);

/* A half-year as one number: year * 2 + half - 1 (2021-H2 is 4043). */
/* Parse strict YYYY-Hn (n 1 or 2, year 2000-9999) into *period. Returns WM_OK or
 * WM_EINVALID. */
int proto_period_parse(const char *s, size_t len, int32_t *period);
/* Format a period as YYYY-Hn into out (8 bytes incl. NUL). */
void proto_period_format(int32_t period, char out[8]);

/* One note: the text for the programme (project and category ""), a category or a
 * project in one half-year, with the programme manager's light, and who wrote it when. */
struct wm_note {
    int32_t period;                  /* see proto_period_parse */
    char project[WM_NAME_MAX + 1];   /* "" unless the note is a project's */
    char category[WM_NAME_MAX + 1];  /* "" unless the note is a category's */
    uint8_t light;                   /* enum wm_light */
    uint8_t light_given;             /* NOTE: 0 when light= was absent (keep the last) */
    char *text;                      /* owned (malloc), NUL-terminated UTF-8; may hold LF */
    size_t text_len;                 /* bytes, NUL excluded */
    char principal[WM_NAME_MAX + 1]; /* who stored it (set by the daemon) */
    int64_t time;                    /* when, Unix seconds (set by the daemon) */
    uint64_t version;                /* 1, 2, ... per (period, project, category) */
};

/*
 * Build a NOTE request: period= (required, YYYY-Hn), at most one of project= and
 * category= (name syntax; whether they exist is the store's to check), light=
 * green|orange|red|none (absent: the last version's light), text= (required; at most WM_NOTE_MAX
 * characters, UTF-8, LF the only control character; the parser has refused a BSN in it,
 * as in every value: proto_value_check).
 * On WM_OK n->text is a new allocation the caller frees with proto_note_free.
 * Returns WM_OK, WM_EINVALID (a field missing, unknown or out of its domain; the
 * message names it), WM_ENOMEM.
 */
int proto_note_build(const struct proto_request *req, struct wm_note *n, char *err, size_t errlen);
/* Free n->text and set it to NULL (n itself is the caller's). NULL n is allowed. */
void proto_note_free(struct wm_note *n);

/* A validated NOTES request: every filter optional. */
struct wm_notes_query {
    int32_t period;                 /* -1: every period */
    char project[WM_NAME_MAX + 1];  /* "": any */
    char category[WM_NAME_MAX + 1]; /* "": any */
};

/* Build a NOTES request: period=, project=, category= (all optional). Returns WM_OK or
 * WM_EINVALID. */
int proto_notes_build(const struct proto_request *req, struct wm_notes_query *q, char *err,
                      size_t errlen);

/* Format Unix seconds as UTC "YYYY-MM-DDTHH:MM:SSZ" into out ("-" when out of range). */
void proto_utc_format(int64_t t, char out[24]);

/* Append one NOTES row: "ROW period=... project=<p|-> category=<c|-> light=...
 * version=<n> principal=... at=<YYYY-MM-DDTHH:MM:SSZ> text=...\n", values escaped.
 * Returns WM_OK or WM_ENOMEM. */
int proto_fmt_note(struct wm_buf *out, const struct wm_note *n);

/* ------------------------------------------------------------------------- */
/* Responses.                                                                 */
/* ------------------------------------------------------------------------- */

/* Append "ERR <code> <msg>\n" for err (code from wm_err_code). msg must not hold CR or
 * LF (they are replaced by spaces). Returns WM_OK or WM_ENOMEM. */
int proto_fmt_error(struct wm_buf *out, int err, const char *msg);
/* Append "OK <seq>\n" or "DUP <seq>\n". Returns WM_OK or WM_ENOMEM. */
int proto_fmt_ack(struct wm_buf *out, int dup, uint64_t seq);
/* Append REPLACE's "OK <seq> replaced=<old>\n". Returns WM_OK or WM_ENOMEM. */
int proto_fmt_replaced(struct wm_buf *out, uint64_t seq, uint64_t old);
/*
 * Append SHOW's row of one version of an event: "ROW seq=.. type=.. principal=..
 * received=<UTC time> id=.. gemeente=.. date=.. [project=..] <the type's input enums>
 * [months=..] [hours=..] [employer=..] [by=..] replaces=<seq>|- retracted=<seq>|no
 * [reason=<text>|-]\n". The person value is never written. retracted_by is the seq of
 * the retraction (0: live); reason its reason (NULL or "" gives "-"), written only
 * when retracted, as "retracted.reason" for a type with a field reason of its own
 * (outflow), so that no key appears twice. Returns WM_OK, WM_EINTERNAL (ev's type or an enum out of
 * range) or WM_ENOMEM.
 */
int proto_fmt_version(struct wm_buf *out, const struct wm_event *ev, uint64_t retracted_by,
                      const char *reason);
/* Append " key=<escaped value>" (with the leading space). Returns WM_OK or WM_ENOMEM. */
int proto_fmt_pair(struct wm_buf *out, const char *key, const char *val);
/* Append " key=<n>". Returns WM_OK or WM_ENOMEM. */
int proto_fmt_pair_u64(struct wm_buf *out, const char *key, uint64_t n);
/* Append "END <n>\n". Returns WM_OK or WM_ENOMEM. */
int proto_fmt_end(struct wm_buf *out, size_t n);

/* ------------------------------------------------------------------------- */
/* Query results: typed answers, and their forms (result.c).                  */
/* ------------------------------------------------------------------------- */

/*
 * storage fills these (store_count, store_progress, store_projects, store_totals); one
 * formatter turns any of them into the wire's ROW lines, JSON or CSV, for the line
 * protocol, the HTTP API and the client alike. A result is owned by its caller: init
 * once, reuse (the fill functions reset it), free once. A count shown suppressed (a
 * principal's min-count) is a cell flag, so that hiding small cells and limiting rows
 * happen on the typed result in one place, whatever the form.
 */

/* One COUNT group: its dimension values (offsets into the result's pool, in the order
 * of by[]) and its count. */
struct wm_count_row {
    uint32_t val[WM_DIM_COUNT_];
    uint64_t count;
    uint8_t suppressed; /* shown as "<N" (N = suppress_below), JSON null */
};

/* COUNT's answer: one row without by=, else one per group with a non-zero count, in
 * byte order of the values (proto_count_result_sort). */
struct wm_count_result {
    uint8_t type; /* enum wm_type */
    size_t nby;
    uint8_t by[WM_DIM_COUNT_]; /* enum wm_dim, in the order given */
    uint64_t seq;              /* the store's last seq at the read */
    uint64_t suppress_below;   /* the N of a suppressed cell; 0: none suppressed */
    struct wm_count_row *rows; /* owned */
    size_t nrows, cap;
    char *pool; /* owned: the values, NUL-terminated */
    size_t pool_len, pool_cap;
};

/* The traffic light of a PROGRESS row. */
enum wm_status { WM_STATUS_NONE = 0, WM_STATUS_GREEN, WM_STATUS_ORANGE, WM_STATUS_RED };

/* One PROGRESS row; the program's rows have project and category "*". */
struct wm_progress_row {
    char project[WM_NAME_MAX + 1];
    char category[WM_NAME_MAX + 1];
    uint8_t indicator;  /* 0 started, 1 completed, 2 placed */
    uint8_t status;     /* enum wm_status, from the shown actual */
    uint8_t suppressed; /* actual shown as "<N" */
    uint64_t actual;
    int64_t target, expected; /* -1: none ("-") */
};

/* PROGRESS's answer: the project rows, then the three program rows. */
struct wm_progress_result {
    uint64_t seq;
    uint64_t suppress_below;
    struct wm_progress_row *rows; /* owned */
    size_t nrows, cap;
};

/* PROJECTS' answer: the projects by name, then the program (name "*"). */
struct wm_projects_result {
    uint64_t seq;
    struct wm_project *projects; /* owned */
    size_t n, cap;
};

/* The figures of WATCH and /v1/totals, retracted events excluded: the whole store's, or
 * one municipality's. */
struct wm_totals {
    uint64_t seq; /* last seq stored (0 when empty) */
    uint64_t started, completed, placed, placed_persons, outflow;
    uint64_t suppress_below; /* the N of a suppressed figure; 0: none suppressed */
    uint8_t suppressed;      /* WM_TOTAL_* bits: figures shown as "<N" */
};

/* The figures of struct wm_totals, as bits of its suppressed. */
enum wm_total_bit {
    WM_TOTAL_STARTED = 1,
    WM_TOTAL_COMPLETED = 2,
    WM_TOTAL_PLACED = 4,
    WM_TOTAL_PLACED_PERSONS = 8,
    WM_TOTAL_OUTFLOW = 16,
};

/* Initialise an empty result (no allocation). */
void proto_count_result_init(struct wm_count_result *r);
/* Empty r for a new answer to a query of type with the dimensions by[0..nby-1]
 * (copied), keeping its memory; seq and suppress_below become 0. */
void proto_count_result_reset(struct wm_count_result *r, int type, const uint8_t *by, size_t nby);
/* Free r's memory and initialise it again. */
void proto_count_result_free(struct wm_count_result *r);
/* Append a row: vals[0..nby-1] are its dimension values (copied; "-" for none), count
 * its count. Returns WM_OK or WM_ENOMEM (r keeps its earlier rows). */
int proto_count_result_add(struct wm_count_result *r, const char *const *vals, uint64_t count);
/* Sort the rows ascending by their values in by order, in byte order. */
void proto_count_result_sort(struct wm_count_result *r);
/* The d-th value of row i. Borrowed from r until it changes. */
const char *proto_count_result_value(const struct wm_count_result *r, size_t i, size_t d);

void proto_progress_result_init(struct wm_progress_result *r);
void proto_progress_result_reset(struct wm_progress_result *r);
void proto_progress_result_free(struct wm_progress_result *r);
/*
 * Append the row of one indicator (0 started, 1 completed, 2 placed): target -1 for
 * none; expected and status follow from target, the period [start, end] (either
 * WM_DATE_NONE) and asof (PROTOCOL.md section 5). Names are copied (at most
 * WM_NAME_MAX bytes). Returns WM_OK or WM_ENOMEM.
 */
int proto_progress_result_add(struct wm_progress_result *r, const char *project,
                              const char *category, int indicator, uint64_t actual, int64_t target,
                              int32_t start, int32_t end, int32_t asof);
/* expected = round(target x elapsed), elapsed the fraction of [start, end] (inclusive
 * days) passed at asof, clamped to 0..1; 1 without both dates. target must be >= 0. */
int64_t proto_progress_expected(int64_t target, int32_t start, int32_t end, int32_t asof);
/* green when actual >= expected, orange when actual >= 0.8 x expected, else red;
 * none when target < 0. */
enum wm_status proto_progress_status(uint64_t actual, int64_t target, int64_t expected);
/* "none", "green", "orange", "red". Static. */
const char *proto_status_name(int status);

void proto_projects_result_init(struct wm_projects_result *r);
void proto_projects_result_reset(struct wm_projects_result *r);
void proto_projects_result_free(struct wm_projects_result *r);
/* Append a project (copied) or, last, the program (name "*"). Returns WM_OK or
 * WM_ENOMEM. */
int proto_projects_result_add(struct wm_projects_result *r, const struct wm_project *p);

/* ---- small cells: a principal's min-count and round (PROTOCOL.md section 3) ---- */

/* n rounded to the nearest multiple of round (halves up); n itself when round <= 1. */
uint64_t proto_round_count(uint64_t n, uint64_t round);

/* Hide r's counts above 0 and below min_count (suppressed, suppress_below = min_count)
 * and round every other to round (0 or 1: exact). */
void proto_count_result_protect(struct wm_count_result *r, uint64_t min_count, uint64_t round);

/* The same for PROGRESS's actuals, each from its raw value (the program's rows
 * included), with the status computed from the value shown (none when hidden). Where
 * a single project row of an indicator is hidden, the smallest other non-zero one is
 * hidden too, so the program's row minus the others does not give it away. */
void proto_progress_result_protect(struct wm_progress_result *r, uint64_t min_count,
                                   uint64_t round);

/* The same for the five figures of t, each from its own raw value: a figure above 0 and
 * below min_count is suppressed (its bit in t->suppressed, suppress_below = min_count),
 * every other rounded to round. No figure is a sum of others, so none is hidden for
 * another's sake. */
void proto_totals_protect(struct wm_totals *t, uint64_t min_count, uint64_t round);

/* The forms. A result is read through a table of typed cells; the writers below take
 * any table, so every form of every answer is written in one place. */

enum wm_cell_type {
    WM_CELL_NONE = 0,   /* unset: "-" in a ROW, null in JSON, empty in CSV */
    WM_CELL_TEXT,       /* text */
    WM_CELL_NUM,        /* an unsigned integer (num): a JSON number */
    WM_CELL_SUPPRESSED, /* a count below N (num): "<N", JSON null */
    WM_CELL_DECIMAL,    /* text that is a decimal number (digits '.' digits): as is */
};

struct wm_cell {
    uint8_t type;     /* enum wm_cell_type */
    const char *text; /* WM_CELL_TEXT: borrowed from the result, or buf */
    uint64_t num;     /* WM_CELL_NUM and WM_CELL_SUPPRESSED */
    char buf[24];     /* room for text the cell formats itself (a date) */
};

#define WM_TABLE_MAX_COLS 32

struct wm_table {
    size_t nrows, ncols;
    const char *cols[WM_TABLE_MAX_COLS]; /* the keys, as in a ROW line */
    const void *res;                     /* the result the cells come from (borrowed) */
    void (*cell)(const struct wm_table *t, size_t row, size_t col, struct wm_cell *out);
};

/* A result seen as a table; t borrows r, which must outlive it and stay unchanged. */
void proto_count_table(const struct wm_count_result *r, struct wm_table *t);
void proto_progress_table(const struct wm_progress_result *r, struct wm_table *t);
void proto_projects_table(const struct wm_projects_result *r, struct wm_table *t);

/*
 * COUNT's answer packed for keeping while it is sent a slice at a time (daemon): each
 * distinct value once, a row as its nby value offsets and its count. A row of a wide
 * answer takes about a third of its ROW line here, where wm_count_result takes more
 * than the line. Owned by its holder: free with proto_count_packed_free.
 */
struct wm_count_packed {
    uint8_t type;
    size_t nby;
    uint8_t by[WM_DIM_COUNT_];
    uint64_t seq, suppress_below;
    size_t nrows;
    uint32_t *val;       /* owned: nrows * nby offsets into pool, row by row */
    uint64_t *count;     /* owned: nrows */
    uint8_t *suppressed; /* owned: nrows flags, or NULL when no row is suppressed */
    char *pool;          /* owned: the distinct values, NUL-terminated */
    size_t pool_len;
};

/* Pack the rows from..nrows-1 of r (row from becomes row 0) into p (overwritten; r is
 * not changed). Returns WM_OK, or WM_ENOMEM with p empty. */
int proto_count_pack(const struct wm_count_result *r, size_t from, struct wm_count_packed *p);
/* Free p's memory; p is empty afterwards. */
void proto_count_packed_free(struct wm_count_packed *p);
/* The bytes p holds (for logs and limits). */
size_t proto_count_packed_size(const struct wm_count_packed *p);
/* p seen as a table with the same columns and cells as proto_count_table gives for the
 * rows it packed; t borrows p. */
void proto_count_packed_table(const struct wm_count_packed *p, struct wm_table *t);

/* Rows of text as a client reads them off the wire (ROW lines, values unescaped):
 * cells[r * ncols + c], NULL where a row lacks the key. */
struct wm_text_rows {
    const char *const *cells;
    size_t ncols;
    uint8_t by_content; /* STATS: any value of digits (and one '.') is a number */
};

/* 1 when the values of column col of an answer are numbers in its JSON (count, actual,
 * target, expected, target.started, target.completed, target.placed, year, version, and
 * SHOW's seq, months, hours, replaces); else 0. */
int proto_column_numeric(const char *col);

/*
 * src seen as a table with columns cols[0..ncols-1] (at most WM_TABLE_MAX_COLS) and
 * nrows rows, typed as the server types the same answer: "-" is unset; in a numeric
 * column (proto_column_numeric) digits are a number and "<N" a suppressed count; with
 * by_content, digits or a decimal anywhere are a number. t borrows src and cols.
 */
void proto_text_table(const struct wm_text_rows *src, const char *const *cols, size_t ncols,
                      size_t nrows, struct wm_table *t);

/* Append "ROW k=v ...\n" per row (values escaped as PROTOCOL.md section 1 says), no END.
 * Returns WM_OK or WM_ENOMEM. */
int proto_table_rows(const struct wm_table *t, struct wm_buf *out);
/* Append row i alone as such a ROW line (an answer written a slice at a time). Returns
 * WM_OK or WM_ENOMEM. */
int proto_table_row(const struct wm_table *t, size_t i, struct wm_buf *out);
/* Append the rows as a JSON array of objects, a row a line, keys in column order,
 * numbers as numbers, unset as null, a suppressed count as null with "suppressed": true
 * on its row. Returns WM_OK or WM_ENOMEM. */
int proto_table_json(const struct wm_table *t, struct wm_buf *out);
/* Append row i alone as such a JSON object. Returns WM_OK or WM_ENOMEM. */
int proto_table_json_row(const struct wm_table *t, size_t i, struct wm_buf *out);

/* How a CSV is written. */
struct wm_csv_opts {
    char sep;      /* ',' (RFC 4180) or ';' (Dutch Excel) */
    uint8_t bom;   /* start with a UTF-8 byte-order mark (Excel reads UTF-8 then) */
    uint8_t excel; /* a text beginning with = + - @ gets a leading ' so that Excel does
                      not run it as a formula */
};
/* Append the table as CSV (RFC 4180): a header row of the keys, then one record per
 * row, CRLF line ends; a field holding the separator, a quote, CR, LF or an edge space
 * is quoted with quotes doubled. Returns WM_OK or WM_ENOMEM. */
int proto_table_csv(const struct wm_table *t, const struct wm_csv_opts *o, struct wm_buf *out);

/* Append "TOTAL seq=... outflow=...\n" (PROTOCOL.md section 7), a suppressed figure as
 * "<N". Returns WM_OK or WM_ENOMEM. */
int proto_totals_line(const struct wm_totals *t, struct wm_buf *out);
/* Append {"seq":...,"started":...,"completed":...,"placed":...,"placed.persons":...,
 * "outflow":...}, a suppressed figure as null, followed then by "suppressed":true.
 * Returns WM_OK or WM_ENOMEM. */
int proto_totals_json(const struct wm_totals *t, struct wm_buf *out);

/* Append s (n bytes) as a JSON string with its quotes: ", \ and control characters
 * escaped, '<' as \u003c (safe inside an HTML page), bytes that are not UTF-8 as
 * U+FFFD. Returns WM_OK or WM_ENOMEM. */
int proto_json_string(struct wm_buf *out, const char *s, size_t n);

#endif /* WM_PROTO_H */
