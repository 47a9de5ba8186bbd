/*
 * werkmonitor import: stream a CSV (libcsv) or NDJSON (jansson) file of events to the
 * daemon. Rows become EVENT lines in a ring of requests; up to --window of them are in
 * flight, answers are matched in order, and a dropped connection is re-opened with
 * backoff and everything not yet acknowledged is sent again (the server's idempotency
 * by id makes that safe). A bsn column is pseudonymised here and never sent.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <csv.h>
#include <jansson.h>

#include "client.h"

#define IMP_CHUNK (256 * 1024)
#define IMP_DEFAULT_WINDOW 8192
#define IMP_MAX_WINDOW 1000000
#define IMP_SEND_HIGH (1024 * 1024)       /* stop producing while this much is unsent */
#define IMP_MAX_RECORD (16 * 1024 * 1024) /* a record this large means a quote never closed */
#define IMP_DEFAULT_RETRY_S 60

static const char import_help[] =
    "Usage: werkmonitor import [--format csv|ndjson] [--pseudo-key FILE] [--rejects FILE]\n"
    "                          [--window N] [--retry SECS] FILE|-\n"
    "\n"
    "Stream the events of FILE (or stdin) to the server, pipelined, and print a summary:\n"
    "  stored N, duplicates N, rejected N\n"
    "\n"
    "CSV (RFC 4180): a header row of field names (case and surrounding spaces ignored)\n"
    "with a 'type' column (started, completed, placed, outflow) and an 'id' column, then\n"
    "one event per record. The delimiter, ',' or ';', is taken from the header; a UTF-8\n"
    "byte-order mark is skipped; quoted fields may hold delimiters, quotes (\"\") and line\n"
    "breaks; an empty cell means the field is absent. A column with an empty header must\n"
    "stay empty. NDJSON: one JSON object per line with the same keys; strings and\n"
    "integers are values, null means absent.\n"
    "\n"
    "A 'bsn' column (instead of 'person') is checked with the eleven-test and replaced\n"
    "by its pseudonym, HMAC-SHA256 under --pseudo-key; the BSN itself is never sent.\n"
    "A person value of 8 or 9 digits looks like a BSN and is rejected unsent.\n"
    "\n"
    "  --format FMT     csv or ndjson (default: ndjson for *.ndjson, *.jsonl, *.json or\n"
    "                   when the data starts with '{', else csv)\n"
    "  --pseudo-key F   the pseudonym key (needed for a bsn column)\n"
    "  --rejects FILE   write each rejected row as '<line number>: <ERR line>' to FILE\n"
    "                   (default: stderr); the line number is where the record starts\n"
    "  --window N       requests in flight at most (default 8192)\n"
    "  --retry SECS     after a lost connection, reconnect with backoff for up to SECS\n"
    "                   without progress (default 60), re-sending what was not\n"
    "                   acknowledged; a re-sent event that was stored counts as duplicate\n"
    "\n"
    "On a terminal a progress bar (rows, rows/s, ETA) is drawn on stderr.\n"
    "Exit 0 when nothing was rejected, 1 when some rows were, 2 when the server cannot\n"
    "be reached (or authentication fails, or reconnecting gave up) or the file cannot be\n"
    "read or used as it is (no header, no type or id column, a bsn column without\n"
    "--pseudo-key).\n";

enum { OPT_FORMAT = 1, OPT_PSEUDO_KEY, OPT_REJECTS, OPT_WINDOW, OPT_RETRY };

/* One row on its way: its request line, or the client's own reason to reject it. */
struct imp_slot {
    long lineno;
    uint64_t end_off;  /* input bytes up to the end of this row, for the progress bar */
    int local;         /* 1: rejected by the client; req holds the ERR line */
    struct wm_buf req; /* "EVENT ...\n", or "ERR ..." when local */
};

/* What a CSV column holds. */
enum col_kind { COL_FIELD, COL_TYPE, COL_BSN, COL_UNNAMED };

struct imp {
    const struct cli_config *cfg;
    struct cli_conn conn;
    int connected;

    /* ring of rows: [head, sent) written on this connection, [sent, tail) not yet;
     * counters grow forever, index = counter % cap */
    struct imp_slot *ring;
    size_t cap;
    unsigned long head, sent, tail;
    size_t window;

    unsigned long stored, dups, rejected;
    FILE *rejects;
    int rejects_owned;
    int64_t lost_since_us; /* when the connection was lost; 0 after an answer since */
    int retry_s;

    /* input */
    int fd;
    const char *path;
    int ndjson;
    int eof;
    char *ib;
    size_t ib_start, ib_len, ib_cap;
    uint64_t bytes_total; /* size of the file; 0: unknown (a pipe) */
    uint64_t fed_end;     /* bytes given to the parser, this line included */
    uint64_t acked_off;   /* end_off of the last answered row */
    long lineno;          /* physical line being read, 1-based */
    int first_chunk;

    /* CSV */
    struct csv_parser csv;
    int csv_ready;
    unsigned char delim;
    int header_done;
    char **colname;
    enum col_kind *colkind;
    size_t ncols;
    char *fbuf; /* the current record's fields, each NUL-terminated */
    size_t flen, fcap;
    size_t *foff;
    size_t nfields, foffcap;
    int in_record;
    long rec_start;

    struct cli_key key;
    int have_key;
    int fatal; /* WM_* error that ends the import */
    char fatal_msg[512];

    /* progress bar */
    int progress;
    int64_t start_us, drawn_us;
};

/* ---- the ring ---- */

static struct imp_slot *slot_at(struct imp *im, unsigned long i)
{
    return &im->ring[i % im->cap];
}

static int ring_grow(struct imp *im)
{
    size_t ncap = im->cap * 2;
    struct imp_slot *n = calloc(ncap, sizeof(*n));

    if (n == NULL)
        return WM_ENOMEM;
    for (unsigned long i = im->head; i < im->tail; i++) {
        n[i % ncap] = im->ring[i % im->cap];
        memset(&im->ring[i % im->cap], 0, sizeof(struct imp_slot));
    }
    for (size_t i = 0; i < im->cap; i++)
        wm_buf_free(&im->ring[i].req);
    free(im->ring);
    im->ring = n;
    im->cap = ncap;
    return WM_OK;
}

/* A fresh slot at the tail for a row that starts at lineno. */
static struct imp_slot *slot_new(struct imp *im, long lineno)
{
    struct imp_slot *s;

    if (im->tail - im->head == im->cap && ring_grow(im) != WM_OK) {
        im->fatal = WM_ENOMEM;
        return NULL;
    }
    s = slot_at(im, im->tail++);
    wm_buf_reset(&s->req);
    s->lineno = lineno;
    s->end_off = im->fed_end;
    s->local = 0;
    return s;
}

/* Turn a slot into a client-side reject with message fmt. */
static void slot_reject(struct imp_slot *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void slot_reject(struct imp_slot *s, const char *fmt, ...)
{
    va_list ap;

    s->local = 1;
    wm_buf_reset(&s->req);
    wm_buf_puts(&s->req, "ERR invalid ");
    va_start(ap, fmt);
    wm_buf_vprintf(&s->req, fmt, ap);
    va_end(ap);
}

static void write_reject(struct imp *im, long lineno, const char *err, size_t n)
{
    if (im->progress)
        fputs("\r\033[K", stderr);
    fprintf(im->rejects, "%ld: %.*s\n", lineno, (int)n, err);
    im->rejected++;
}

/* Pop client-side rejects at the head: they have no answer to wait for. */
static void pop_local(struct imp *im)
{
    while (im->head < im->tail && slot_at(im, im->head)->local) {
        struct imp_slot *s = slot_at(im, im->head);

        write_reject(im, s->lineno, s->req.data, s->req.len);
        im->acked_off = s->end_off;
        if (im->sent == im->head)
            im->sent++;
        im->head++;
    }
}

/* ---- building a request from fields ---- */

/* Append one field, pseudonymising a BSN and refusing BSN-like persons. Returns 0, or
 * -1 after turning the slot into a reject. */
static int add_field(struct imp *im, struct imp_slot *s, const char *name, int is_bsn,
                     const char *v, size_t n)
{
    if (is_bsn) {
        char why[256];
        char pseudo[CLI_PSEUDONYM_LEN + 1];
        char bsn[16];

        if (n >= sizeof(bsn)) {
            slot_reject(s, "bsn is not 9 digits (not sent)");
            return -1;
        }
        memcpy(bsn, v, n);
        bsn[n] = '\0';
        if (cli_bsn_check(bsn, why, sizeof(why)) != WM_OK) {
            slot_reject(s, "bsn refused: %s (not sent)", why);
            return -1;
        }
        if (cli_pseudonym(&im->key, bsn, pseudo) != WM_OK) {
            im->fatal = WM_EINTERNAL;
            snprintf(im->fatal_msg, sizeof(im->fatal_msg), "cannot compute a pseudonym (OpenSSL)");
            return -1;
        }
        wm_buf_puts(&s->req, " person=");
        wm_buf_append(&s->req, pseudo, CLI_PSEUDONYM_LEN);
        return 0;
    }
    if (strcmp(name, "person") == 0 && proto_person_looks_like_bsn(v, n)) {
        slot_reject(s, "person looks like a BSN (8 or 9 digits; not sent): use a bsn column "
                       "and --pseudo-key");
        return -1;
    }
    wm_buf_append(&s->req, " ", 1);
    wm_buf_puts(&s->req, name);
    wm_buf_append(&s->req, "=", 1);
    wm_buf_append_escaped(&s->req, v, n);
    return 0;
}

static void start_event(struct imp_slot *s, const char *type, size_t n)
{
    wm_buf_puts(&s->req, "EVENT ");
    wm_buf_append_escaped(&s->req, type, n);
}

static void finish_event(struct imp *im, struct imp_slot *s)
{
    if (!s->local)
        wm_buf_append(&s->req, "\n", 1);
    if (s->req.oom) {
        im->fatal = WM_ENOMEM;
        snprintf(im->fatal_msg, sizeof(im->fatal_msg), "out of memory");
    }
}

/* ---- CSV ---- */

static int valid_key(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
              *s == '-'))
            return 0;
    return 1;
}

static void csv_field_cb(void *data, size_t len, void *arg)
{
    struct imp *im = arg;

    if (im->fatal)
        return;
    if (im->nfields == im->foffcap) {
        size_t ncap = im->foffcap == 0 ? 32 : im->foffcap * 2;
        size_t *n = realloc(im->foff, ncap * sizeof(*n));

        if (n == NULL) {
            im->fatal = WM_ENOMEM;
            return;
        }
        im->foff = n;
        im->foffcap = ncap;
    }
    if (im->fcap - im->flen < len + 1) {
        size_t ncap = (im->fcap + len + 1) * 2;
        char *n = realloc(im->fbuf, ncap);

        if (n == NULL) {
            im->fatal = WM_ENOMEM;
            return;
        }
        im->fbuf = n;
        im->fcap = ncap;
    }
    im->foff[im->nfields++] = im->flen;
    if (len > 0)
        memcpy(im->fbuf + im->flen, data, len);
    im->flen += len;
    im->fbuf[im->flen++] = '\0';
}

static const char *field(const struct imp *im, size_t i, size_t *n)
{
    const char *f = im->fbuf + im->foff[i];
    size_t end = i + 1 < im->nfields ? im->foff[i + 1] - 1 : im->flen - 1;

    *n = end - im->foff[i];
    return f;
}

/* The header record: column names and what they hold. */
static void csv_header(struct imp *im)
{
    int have_type = 0, have_id = 0, have_person = 0, have_bsn = 0;

    im->colname = calloc(im->nfields, sizeof(*im->colname));
    im->colkind = calloc(im->nfields, sizeof(*im->colkind));
    if (im->colname == NULL || im->colkind == NULL) {
        im->fatal = WM_ENOMEM;
        return;
    }
    im->ncols = im->nfields;
    for (size_t i = 0; i < im->nfields; i++) {
        size_t n;
        const char *f = field(im, i, &n);
        char *name;

        while (n > 0 && (*f == ' ' || *f == '\t')) {
            f++;
            n--;
        }
        while (n > 0 && (f[n - 1] == ' ' || f[n - 1] == '\t'))
            n--;
        name = strndup(f, n);
        if (name == NULL) {
            im->fatal = WM_ENOMEM;
            return;
        }
        for (char *p = name; *p != '\0'; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        im->colname[i] = name;
        if (n == 0) {
            im->colkind[i] = COL_UNNAMED;
            continue;
        }
        if (!valid_key(name)) {
            im->fatal = WM_ECONFIG;
            snprintf(im->fatal_msg, sizeof(im->fatal_msg),
                     "%s: column %zu of the header, '%.64s', is not a field name (a-z, 0-9, "
                     "'.', '_', '-')",
                     im->path, i + 1, name);
            return;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(im->colname[j], name) == 0) {
                im->fatal = WM_ECONFIG;
                snprintf(im->fatal_msg, sizeof(im->fatal_msg),
                         "%s: column '%.64s' appears twice in the header", im->path, name);
                return;
            }
        }
        if (strcmp(name, "type") == 0) {
            im->colkind[i] = COL_TYPE;
            have_type = 1;
        } else if (strcmp(name, "bsn") == 0) {
            im->colkind[i] = COL_BSN;
            have_bsn = 1;
        } else {
            im->colkind[i] = COL_FIELD;
            have_id |= strcmp(name, "id") == 0;
            have_person |= strcmp(name, "person") == 0;
        }
    }
    if (!have_type || !have_id) {
        im->fatal = WM_ECONFIG;
        snprintf(im->fatal_msg, sizeof(im->fatal_msg),
                 "%s: the header has no '%s' column (the first line must name the fields, "
                 "with type and id among them)",
                 im->path, !have_type ? "type" : "id");
    } else if (have_bsn && have_person) {
        im->fatal = WM_ECONFIG;
        snprintf(im->fatal_msg, sizeof(im->fatal_msg),
                 "%s: the header has both a bsn and a person column; give one", im->path);
    } else if (have_bsn && !im->have_key) {
        im->fatal = WM_ECONFIG;
        snprintf(im->fatal_msg, sizeof(im->fatal_msg),
                 "%s has a bsn column: give --pseudo-key FILE to turn BSNs into pseudonyms "
                 "(a BSN is never sent)",
                 im->path);
    }
    im->header_done = 1;
}

static void csv_row(struct imp *im)
{
    struct imp_slot *s;
    const char *type = NULL;
    size_t type_n = 0;
    size_t filled = 0;

    /* a record of only empty cells (";;;;" as spreadsheets write it) is a blank line */
    for (size_t i = 0; i < im->nfields; i++) {
        size_t n;

        field(im, i, &n);
        filled += n > 0;
    }
    if (filled == 0)
        return;
    s = slot_new(im, im->rec_start);
    if (s == NULL)
        return;
    if (im->nfields > im->ncols) {
        slot_reject(s, "row has %zu fields but the header names %zu", im->nfields, im->ncols);
        return;
    }
    for (size_t i = 0; i < im->nfields; i++) {
        if (im->colkind[i] == COL_TYPE) {
            type = field(im, i, &type_n);
            if (type_n == 0)
                type = NULL;
        }
    }
    if (type == NULL) {
        slot_reject(s, "type missing (the type column is empty)");
        return;
    }
    start_event(s, type, type_n);
    for (size_t i = 0; i < im->nfields; i++) {
        size_t n;
        const char *v = field(im, i, &n);

        if (n == 0 || im->colkind[i] == COL_TYPE)
            continue; /* an empty cell is an absent field */
        if (im->colkind[i] == COL_UNNAMED) {
            slot_reject(s, "column %zu has a value but no name in the header", i + 1);
            return;
        }
        if (add_field(im, s, im->colname[i], im->colkind[i] == COL_BSN, v, n) != 0)
            return;
    }
    finish_event(im, s);
}

static void csv_record_cb(int c, void *arg)
{
    struct imp *im = arg;

    (void)c;
    im->in_record = 0;
    if (!im->fatal) {
        if (!im->header_done)
            csv_header(im);
        else
            csv_row(im);
    }
    im->nfields = 0;
    im->flen = 0;
}

/* Pick ',' or ';' from the header line: the one that occurs more outside quotes. */
static unsigned char detect_delim(const char *s, size_t n)
{
    size_t commas = 0, semis = 0;
    int quoted = 0;

    for (size_t i = 0; i < n && s[i] != '\n'; i++) {
        if (s[i] == '"')
            quoted = !quoted;
        else if (!quoted && s[i] == ',')
            commas++;
        else if (!quoted && s[i] == ';')
            semis++;
    }
    return semis > commas ? ';' : ',';
}

/* Feed one physical line (or the last piece of the file) to libcsv. */
static void csv_feed_line(struct imp *im, const char *p, size_t n)
{
    if (!im->in_record) {
        size_t k = 0;

        while (k < n && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r'))
            k++;
        if (k < n && p[k] != '\n') {
            /* a record starts here: its line number is this line's */
            im->in_record = 1;
            im->rec_start = im->lineno;
        }
    }
    if (csv_parse(&im->csv, p, n, csv_field_cb, csv_record_cb, im) != n && !im->fatal) {
        im->fatal = WM_EIO;
        snprintf(im->fatal_msg, sizeof(im->fatal_msg), "%s: line %ld: %s", im->path, im->lineno,
                 csv_strerror(csv_error(&im->csv)));
    }
    if (!im->fatal && im->in_record && csv_get_buffer_size(&im->csv) > IMP_MAX_RECORD) {
        im->fatal = WM_EIO;
        snprintf(im->fatal_msg, sizeof(im->fatal_msg),
                 "%s: the record starting at line %ld does not end (a quote that never closes?)",
                 im->path, im->rec_start);
    }
}

/* ---- NDJSON ---- */

static void ndjson_line(struct imp *im, const char *p, size_t n)
{
    json_error_t jerr;
    json_t *obj;
    struct imp_slot *s;
    const char *key;
    json_t *val;
    json_t *type;
    size_t k = 0;

    while (k < n && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r' || p[k] == '\n'))
        k++;
    if (k == n)
        return; /* blank line */
    s = slot_new(im, im->lineno);
    if (s == NULL)
        return;
    obj = json_loadb(p, n, 0, &jerr);
    if (obj == NULL || !json_is_object(obj)) {
        slot_reject(s, "line is not a JSON object%s%s", obj == NULL ? ": " : "",
                    obj == NULL ? jerr.text : "");
        json_decref(obj);
        return;
    }
    if (json_object_get(obj, "bsn") != NULL && !im->have_key) {
        slot_reject(s, "bsn needs --pseudo-key to become a pseudonym (not sent)");
        goto out;
    }
    if (json_object_get(obj, "bsn") != NULL && json_object_get(obj, "person") != NULL) {
        slot_reject(s, "both bsn and person given");
        goto out;
    }
    type = json_object_get(obj, "type");
    if (!json_is_string(type) || json_string_length(type) == 0) {
        slot_reject(s, "type missing or not a string");
        goto out;
    }
    start_event(s, json_string_value(type), json_string_length(type));
    json_object_foreach(obj, key, val)
    {
        char num[32];
        const char *v;
        size_t vn;

        if (strcmp(key, "type") == 0 || json_is_null(val))
            continue;
        if (!valid_key(key)) {
            slot_reject(s, "key '%.64s' is not a field name", key);
            goto out;
        }
        if (json_is_string(val)) {
            v = json_string_value(val);
            vn = json_string_length(val);
        } else if (json_is_integer(val)) {
            snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(val));
            v = num;
            vn = strlen(num);
        } else {
            slot_reject(s, "%.64s must be a string or an integer", key);
            goto out;
        }
        if (vn == 0)
            continue; /* empty means absent, as in CSV */
        if (add_field(im, s, key, strcmp(key, "bsn") == 0, v, vn) != 0)
            goto out;
    }
    finish_event(im, s);
out:
    json_decref(obj);
}

/* ---- input ---- */

static int send_new(struct imp *im);

/* Read more input into ib. Returns WM_OK (im->eof at the end) or WM_EIO. */
static int input_fill(struct imp *im)
{
    ssize_t r;

    if (im->ib_start > 0) {
        memmove(im->ib, im->ib + im->ib_start, im->ib_len - im->ib_start);
        im->ib_len -= im->ib_start;
        im->ib_start = 0;
    }
    if (im->ib_cap - im->ib_len < IMP_CHUNK) {
        size_t ncap = im->ib_cap == 0 ? 2 * IMP_CHUNK : im->ib_cap * 2;
        char *n = realloc(im->ib, ncap);

        if (n == NULL)
            return WM_ENOMEM;
        im->ib = n;
        im->ib_cap = ncap;
    }
    do {
        r = read(im->fd, im->ib + im->ib_len, im->ib_cap - im->ib_len);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        snprintf(im->fatal_msg, sizeof(im->fatal_msg), "cannot read %s: %s", im->path,
                 strerror(errno));
        return WM_EIO;
    }
    if (r == 0) {
        im->eof = 1;
        return WM_OK;
    }
    im->ib_len += (size_t)r;
    return WM_OK;
}

/*
 * Produce rows into the ring until it holds window rows, the send buffer is full, or
 * the input ends. Returns WM_OK or a fatal error (im->fatal_msg says why).
 */
static int produce(struct imp *im)
{
    while (!im->fatal && im->tail - im->head < im->window &&
           (!im->connected || cli_conn_pending(&im->conn) < IMP_SEND_HIGH)) {
        char *p = im->ib + im->ib_start;
        size_t avail = im->ib_len - im->ib_start;
        char *nl = avail > 0 ? memchr(p, '\n', avail) : NULL;
        size_t n;
        int rc;

        if (im->first_chunk) {
            /* the byte-order mark Excel writes before UTF-8 text */
            if (avail < 3 && !im->eof) {
                rc = input_fill(im);
                if (rc != WM_OK)
                    return rc;
                continue;
            }
            im->first_chunk = 0;
            if (avail >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
                im->ib_start += 3;
            continue;
        }
        if (nl == NULL) {
            if (!im->eof) {
                /* reading may block (a pipe): let what is queued go out first */
                if (im->connected && im->sent < im->tail) {
                    rc = send_new(im);
                    if (rc != WM_OK)
                        return rc;
                    cli_conn_io(&im->conn, 0, NULL);
                }
                rc = input_fill(im);
                if (rc != WM_OK)
                    return rc;
                continue;
            }
            if (avail == 0) {
                /* the end: a last record without a line break */
                if (!im->ndjson && im->csv_ready) {
                    csv_fini(&im->csv, csv_field_cb, csv_record_cb, im);
                    im->csv_ready = 0;
                    csv_free(&im->csv);
                }
                if (!im->ndjson && !im->header_done && !im->fatal) {
                    im->fatal = WM_EIO;
                    snprintf(im->fatal_msg, sizeof(im->fatal_msg),
                             "%s has no header row (it is empty)", im->path);
                }
                break;
            }
            n = avail;
        } else {
            n = (size_t)(nl - p) + 1;
        }
        if (!im->ndjson && !im->csv_ready) {
            if (csv_init(&im->csv, CSV_APPEND_NULL) != 0)
                return WM_ENOMEM;
            im->delim = detect_delim(p, n);
            csv_set_delim(&im->csv, im->delim);
            im->csv_ready = 1;
        }
        im->fed_end += n;
        if (im->ndjson)
            ndjson_line(im, p, nl != NULL ? n - 1 : n);
        else
            csv_feed_line(im, p, n);
        im->ib_start += n;
        if (nl != NULL)
            im->lineno++;
    }
    if (im->fatal)
        return im->fatal;
    return WM_OK;
}

/* ---- the conversation ---- */

/* Queue every produced row that is not on this connection yet. */
static int send_new(struct imp *im)
{
    while (im->sent < im->tail) {
        struct imp_slot *s = slot_at(im, im->sent);

        if (!s->local) {
            int rc = cli_conn_queue(&im->conn, s->req.data, s->req.len);

            if (rc != WM_OK)
                return rc;
        }
        im->sent++;
    }
    return WM_OK;
}

/* The answer to the row at head. Returns WM_OK, WM_EUNAVAILABLE (reconnect and send
 * again), WM_EPROTOCOL (fatal). */
static int take_answer(struct imp *im, const char *line, size_t len)
{
    struct imp_slot *s;

    pop_local(im);
    if (im->head >= im->sent) {
        snprintf(im->fatal_msg, sizeof(im->fatal_msg),
                 "the server sent an answer nobody asked for: %.200s", line);
        return WM_EPROTOCOL;
    }
    s = slot_at(im, im->head);
    if (strncmp(line, "OK ", 3) == 0) {
        im->stored++;
    } else if (strncmp(line, "DUP ", 4) == 0) {
        im->dups++;
    } else if (strncmp(line, "ERR unavailable", 15) == 0) {
        /* shutting down or full: not this row's fault; try again elsewhere in time */
        return WM_EUNAVAILABLE;
    } else if (strncmp(line, "ERR ", 4) == 0) {
        write_reject(im, s->lineno, line, len);
    } else {
        snprintf(im->fatal_msg, sizeof(im->fatal_msg), "unexpected answer to EVENT: %.200s", line);
        return WM_EPROTOCOL;
    }
    im->acked_off = s->end_off;
    im->head++;
    im->lost_since_us = 0;
    pop_local(im);
    return WM_OK;
}

static void draw_progress(struct imp *im, int force)
{
    int64_t now = cli_now_us();
    double secs = (double)(now - im->start_us) / 1e6;
    double rate;
    unsigned long done = im->stored + im->dups + im->rejected;

    if (!im->progress || (!force && now - im->drawn_us < 200000))
        return;
    im->drawn_us = now;
    rate = secs > 0 ? done / secs : 0;
    if (im->bytes_total > 0) {
        double frac = (double)im->acked_off / (double)im->bytes_total;
        int filled;
        char bar[31];
        double eta;

        if (frac > 1)
            frac = 1;
        filled = (int)(frac * 30);
        eta = frac > 0.001 ? secs * (1 - frac) / frac : 0;
        for (int i = 0; i < 30; i++)
            bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
        bar[30] = '\0';
        fprintf(stderr, "\r\033[K%3d%% [%s] %lu rows  %.0f rows/s  ETA %d:%02d", (int)(frac * 100),
                bar, done, rate, (int)eta / 60, (int)eta % 60);
    } else {
        fprintf(stderr, "\r\033[K%lu rows  %.0f rows/s", done, rate);
    }
}

/* Open (again) with backoff until it works or retry_s pass without progress. */
static int reconnect(struct imp *im, const char *why)
{
    int delay_ms = 100;

    if (im->connected) {
        cli_conn_close(&im->conn);
        im->connected = 0;
    }
    if (im->progress)
        fputs("\r\033[K", stderr);
    fprintf(stderr, "werkmonitor import: connection lost (%s); reconnecting\n", why);
    if (im->lost_since_us == 0)
        im->lost_since_us = cli_now_us();
    for (;;) {
        struct timespec ts;
        int rc;

        if (cli_now_us() - im->lost_since_us > (int64_t)im->retry_s * 1000000) {
            snprintf(im->fatal_msg, sizeof(im->fatal_msg),
                     "gave up after %d s without progress: cannot connect to %.80s: %.300s",
                     im->retry_s, im->conn.peer, im->conn.err);
            return WM_ECONNECT;
        }
        ts.tv_sec = delay_ms / 1000;
        ts.tv_nsec = (long)(delay_ms % 1000) * 1000000;
        nanosleep(&ts, NULL);
        rc = cli_conn_open(&im->conn, im->cfg);
        if (rc == WM_OK)
            break;
        if (rc == WM_EAUTH_FAILED) {
            snprintf(im->fatal_msg, sizeof(im->fatal_msg), "authentication failed at %.80s: %.300s",
                     im->conn.peer, im->conn.err);
            cli_conn_close(&im->conn);
            return rc;
        }
        cli_conn_close(&im->conn);
        delay_ms = delay_ms * 2 > 2000 ? 2000 : delay_ms * 2;
    }
    im->connected = 1;
    fprintf(stderr,
            "werkmonitor import: reconnected to %s; sending %lu unacknowledged rows again\n",
            im->conn.peer, im->sent - im->head);
    im->sent = im->head;
    return WM_OK;
}

/* The main loop: produce, send, read answers, until every row is answered. */
static int run(struct imp *im)
{
    int64_t last_io = cli_now_us();
    int rc;

    for (;;) {
        char *line;
        size_t len;
        int lost = 0;
        const char *why = NULL;
        char whybuf[300];

        rc = produce(im);
        if (rc != WM_OK)
            return rc;
        rc = send_new(im);
        if (rc != WM_OK)
            return rc;
        pop_local(im);
        if (im->eof && !im->csv_ready && im->head == im->tail && im->ib_start == im->ib_len)
            return WM_OK;
        rc = cli_conn_io(&im->conn, 100, NULL);
        while (cli_conn_line(&im->conn, &line, &len)) {
            int r = take_answer(im, line, len);

            last_io = cli_now_us();
            if (r == WM_EUNAVAILABLE) {
                snprintf(whybuf, sizeof(whybuf), "%.200s", line);
                why = whybuf;
                lost = 1;
                break;
            }
            if (r != WM_OK)
                return r;
        }
        if (!lost && rc != WM_OK) {
            if (rc == WM_ENOMEM)
                return rc;
            snprintf(whybuf, sizeof(whybuf), "%.200s", im->conn.err);
            why = whybuf;
            lost = 1;
        }
        if (!lost && im->sent > im->head && im->cfg->timeout_ms > 0 &&
            cli_now_us() - last_io > (int64_t)im->cfg->timeout_ms * 1000) {
            why = "no answer within the timeout";
            lost = 1;
        }
        if (lost) {
            rc = reconnect(im, why);
            if (rc != WM_OK)
                return rc;
            last_io = cli_now_us();
        }
        draw_progress(im, 0);
    }
}

int cli_cmd_import(struct cli_config *cfg, int argc, char **argv)
{
    static const struct cli_optdef defs[] = {
        {"format", 0, 1, OPT_FORMAT},   {"pseudo-key", 0, 1, OPT_PSEUDO_KEY},
        {"rejects", 0, 1, OPT_REJECTS}, {"window", 0, 1, OPT_WINDOW},
        {"retry", 0, 1, OPT_RETRY},
    };
    struct cli_args a;
    struct imp im;
    const char *format = NULL, *keyfile = NULL, *rejects = NULL;
    char why[512];
    int ex = CLI_EXIT_OK;
    int rc;

    memset(&im, 0, sizeof(im));
    im.fd = -1;
    if (cli_args_parse(&a, "import", argc, argv, defs, sizeof(defs) / sizeof(defs[0]), cfg) !=
        WM_OK)
        return CLI_EXIT_USAGE;
    if (a.help) {
        fputs(import_help, stdout);
        fputs("\nGlobal options (--host, --port, --token, ...) are accepted too; see "
              "'werkmonitor --help'.\n",
              stdout);
        cli_args_free(&a);
        return CLI_EXIT_OK;
    }
    im.window = IMP_DEFAULT_WINDOW;
    im.retry_s = IMP_DEFAULT_RETRY_S;
    for (size_t i = 0; i < a.nopts; i++) {
        const char *v = a.opts[i].value;
        char *end;
        long n;

        switch (a.opts[i].id) {
        case OPT_FORMAT:
            format = v;
            break;
        case OPT_PSEUDO_KEY:
            keyfile = v;
            break;
        case OPT_REJECTS:
            rejects = v;
            break;
        case OPT_WINDOW:
        case OPT_RETRY:
            errno = 0;
            n = strtol(v, &end, 10);
            if (errno != 0 || end == v || *end != '\0' || n < 1 ||
                n > (a.opts[i].id == OPT_WINDOW ? IMP_MAX_WINDOW : 86400)) {
                ex = cli_usage_error("import", "--%s wants a number from 1 to %d, not '%s'",
                                     a.opts[i].id == OPT_WINDOW ? "window" : "retry",
                                     a.opts[i].id == OPT_WINDOW ? IMP_MAX_WINDOW : 86400, v);
                goto out_args;
            }
            if (a.opts[i].id == OPT_WINDOW)
                im.window = (size_t)n;
            else
                im.retry_s = (int)n;
            break;
        }
    }
    if (format != NULL && strcmp(format, "csv") != 0 && strcmp(format, "ndjson") != 0) {
        ex = cli_usage_error("import", "--format is csv or ndjson, not '%s'", format);
        goto out_args;
    }
    if (a.npos != 1) {
        ex = cli_usage_error("import", a.npos == 0 ? "missing FILE (or - for stdin)"
                                                   : "give exactly one FILE (or -)");
        goto out_args;
    }
    if (cli_config_finish(cfg) != WM_OK) {
        ex = CLI_EXIT_USAGE;
        goto out_args;
    }
    im.cfg = cfg;
    im.path = a.pos[0];
    if (strcmp(im.path, "-") == 0) {
        im.fd = STDIN_FILENO;
        im.path = "stdin";
    } else {
        struct stat st;

        im.fd = open(im.path, O_RDONLY | O_CLOEXEC);
        if (im.fd < 0) {
            fprintf(stderr, "werkmonitor import: cannot open %s: %s\n", im.path, strerror(errno));
            ex = CLI_EXIT_CONN;
            goto out_args;
        }
        if (fstat(im.fd, &st) == 0 && S_ISREG(st.st_mode))
            im.bytes_total = (uint64_t)st.st_size;
    }
    if (keyfile != NULL) {
        rc = cli_key_load(&im.key, keyfile, why, sizeof(why));
        if (rc != WM_OK) {
            fprintf(stderr, "werkmonitor import: %s\n", rc == WM_ENOMEM ? "out of memory" : why);
            ex = CLI_EXIT_CONN;
            goto out;
        }
        im.have_key = 1;
    }
    im.rejects = stderr;
    if (rejects != NULL) {
        im.rejects = fopen(rejects, "w");
        if (im.rejects == NULL) {
            fprintf(stderr, "werkmonitor import: cannot write rejects file %s: %s\n", rejects,
                    strerror(errno));
            im.rejects = stderr;
            ex = CLI_EXIT_CONN;
            goto out;
        }
        im.rejects_owned = 1;
    }
    im.cap = 1024;
    while (im.cap < im.window + 64)
        im.cap *= 2;
    im.ring = calloc(im.cap, sizeof(*im.ring));
    if (im.ring == NULL) {
        fprintf(stderr, "werkmonitor: out of memory\n");
        ex = CLI_EXIT_CONN;
        goto out;
    }
    im.lineno = 1;
    im.first_chunk = 1;
    /* the format: as told, by the name, or by the first byte */
    if (format != NULL) {
        im.ndjson = strcmp(format, "ndjson") == 0;
    } else {
        const char *dot = strrchr(im.path, '.');

        if (dot != NULL && (strcmp(dot, ".ndjson") == 0 || strcmp(dot, ".jsonl") == 0 ||
                            strcmp(dot, ".json") == 0)) {
            im.ndjson = 1;
        } else {
            if (input_fill(&im) != WM_OK) {
                fprintf(stderr, "werkmonitor import: %s\n", im.fatal_msg);
                ex = CLI_EXIT_CONN;
                goto out;
            }
            size_t i0 = im.ib_len >= 3 && memcmp(im.ib, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;

            for (size_t i = i0; i < im.ib_len; i++) {
                if (im.ib[i] == ' ' || im.ib[i] == '\t' || im.ib[i] == '\r' || im.ib[i] == '\n')
                    continue;
                im.ndjson = im.ib[i] == '{';
                break;
            }
        }
    }
    rc = cli_conn_open(&im.conn, cfg);
    if (rc != WM_OK) {
        ex = cli_report_conn_error(&im.conn, rc);
        cli_conn_close(&im.conn);
        goto out;
    }
    im.connected = 1;
    im.progress = isatty(STDERR_FILENO);
    im.start_us = cli_now_us();
    rc = run(&im);
    if (im.progress)
        fputs("\r\033[K", stderr);
    printf("stored %lu, duplicates %lu, rejected %lu\n", im.stored, im.dups, im.rejected);
    if (rc != WM_OK) {
        if (rc == WM_ENOMEM && im.fatal_msg[0] == '\0')
            snprintf(im.fatal_msg, sizeof(im.fatal_msg), "out of memory");
        fprintf(stderr, "werkmonitor import: %s%s\n", im.fatal_msg,
                im.tail > im.head ? "; the rest of the file was not imported" : "");
        ex = CLI_EXIT_CONN;
    } else if (im.rejected > 0) {
        ex = CLI_EXIT_ERR;
    }
out:
    if (im.connected)
        cli_conn_close(&im.conn);
    if (im.csv_ready)
        csv_free(&im.csv);
    if (im.rejects_owned && fclose(im.rejects) != 0 && ex == CLI_EXIT_OK) {
        fprintf(stderr, "werkmonitor import: cannot write rejects file %s\n", rejects);
        ex = CLI_EXIT_CONN;
    }
    if (im.ring != NULL) {
        for (size_t i = 0; i < im.cap; i++)
            wm_buf_free(&im.ring[i].req);
        free(im.ring);
    }
    for (size_t i = 0; i < im.ncols; i++)
        free(im.colname[i]);
    free(im.colname);
    free(im.colkind);
    free(im.fbuf);
    free(im.foff);
    free(im.ib);
    cli_key_free(&im.key);
    if (im.fd > STDIN_FILENO)
        close(im.fd);
out_args:
    cli_args_free(&a);
    return ex;
}
