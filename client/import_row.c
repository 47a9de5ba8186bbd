/*
 * import's rows: the values a reader found in one record, each with its resolved
 * column, become one request line (EVENT, REPLACE or CHECK), or the row's errors. What
 * a value becomes on the wire is decided here for CSV and NDJSON alike; a BSN is
 * pseudonymised here and never sent.
 */
#include <stdarg.h>
#include <string.h>

#include "import_int.h"

/* Lowercase ASCII letters in place. */
static void lower_ascii(char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 'A' && s[i] <= 'Z')
            s[i] = (char)(s[i] - 'A' + 'a');
}

/* The type index of a type's name (n bytes, any case), or -1. */
static int type_lookup(const char *v, size_t n)
{
    char name[16];

    if (n == 0 || n >= sizeof(name))
        return -1;
    memcpy(name, v, n);
    name[n] = '\0';
    lower_ascii(name, n);
    return proto_type_lookup(name);
}

int imp_rows_prepare(struct imp *im)
{
    const struct imp_map *m = &im->map;

    im->verb = im->dry_run ? "CHECK" : im->replace ? "REPLACE" : "EVENT";
    im->fixed_type = -1;
    wm_buf_init(&im->fixed);
    wm_buf_init(&im->scratch);
    for (size_t i = 0; i < m->nsets; i++) {
        if (strcmp(m->sets[i].field, "type") == 0) {
            im->fixed_type = type_lookup(m->sets[i].value, strlen(m->sets[i].value));
            if (im->fixed_type < 0) {
                imp_fail(im, WM_ECONFIG,
                         "the fixed type '%.64s' is not one of started, completed, placed, "
                         "outflow",
                         m->sets[i].value);
                return WM_ECONFIG;
            }
            continue;
        }
        wm_buf_printf(&im->fixed, " %s=", m->sets[i].field);
        wm_buf_append_escaped(&im->fixed, m->sets[i].value, strlen(m->sets[i].value));
    }
    return im->fixed.oom ? WM_ENOMEM : WM_OK;
}

struct imp_slot *imp_row_new(struct imp *im, long lineno)
{
    struct imp_slot *s = imp_window_push(&im->win);

    if (s == NULL) {
        imp_fail(im, WM_ENOMEM, "out of memory");
        return NULL;
    }
    s->lineno = lineno;
    s->end_off = im->in.fed_end;
    s->nerr = 0;
    wm_buf_reset(&s->errs);
    wm_buf_reset(&s->raw);
    return s;
}

void imp_row_error(struct imp_slot *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    wm_buf_vprintf(&s->errs, fmt, ap);
    va_end(ap);
    wm_buf_append(&s->errs, "\n", 1);
    s->nerr++;
}

/* v (n bytes) folded into the scratch buffer and translated by the profile: the value
 * to send, borrowed until the next call; *vn its length (0: the cell is empty). */
static const char *row_prepare(struct imp *im, const struct imp_column *c, const char *v, size_t n,
                               size_t *vn)
{
    const char *t;

    wm_buf_reset(&im->scratch);
    if (wm_buf_append(&im->scratch, v, n) != WM_OK || wm_buf_append(&im->scratch, "", 1) != WM_OK) {
        imp_fail(im, WM_ENOMEM, "out of memory");
        *vn = 0;
        return "";
    }
    *vn = imp_value_fold(im->scratch.data, v, n);
    if (*vn > 0 && c->nxlat > 0 && (t = imp_xlat_find(c, im->scratch.data, *vn)) != NULL) {
        *vn = strlen(t);
        return t;
    }
    return im->scratch.data;
}

void imp_row_type(struct imp *im, struct imp_slot *s, const struct imp_column *c, const char *v,
                  size_t n)
{
    const char *t;
    size_t tn;
    int type = im->fixed_type;

    wm_buf_puts(&s->req, im->verb);
    if (type < 0) {
        t = v != NULL ? row_prepare(im, c, v, n, &tn) : "";
        if (v == NULL || tn == 0) {
            imp_row_error(s, "type: missing (the type column is empty)");
            return;
        }
        type = type_lookup(t, tn);
        if (type < 0) {
            imp_row_error(s,
                          "type: unknown value '%.*s' (started, completed, placed, outflow; or "
                          "translate it in the map's [values type])",
                          (int)(tn > 40 ? 40 : tn), t);
            return;
        }
    }
    wm_buf_puts(&s->req, " ");
    wm_buf_puts(&s->req, proto_type_desc(type)->name);
}

/* A BSN checked with the eleven-test and appended as person=<pseudonym>; a problem is
 * an error of the row. */
static void row_bsn(struct imp *im, struct imp_slot *s, const char *v, size_t n)
{
    char why[256];
    char pseudo[CLI_PSEUDONYM_LEN + 1];
    char bsn[10];

    if (imp_bsn_prepare(v, n, bsn, why, sizeof(why)) != WM_OK) {
        imp_row_error(s, "%s", why);
        return;
    }
    if (cli_bsn_check(bsn, why, sizeof(why)) != WM_OK) {
        imp_row_error(s, "bsn: %s (not sent)", why);
        return;
    }
    if (cli_pseudonym(&im->key, bsn, pseudo) != WM_OK) {
        imp_fail(im, WM_EINTERNAL, "cannot compute a pseudonym (OpenSSL)");
        return;
    }
    wm_buf_puts(&s->req, " person=");
    wm_buf_append(&s->req, pseudo, CLI_PSEUDONYM_LEN);
}

void imp_row_value(struct imp *im, struct imp_slot *s, const struct imp_column *c, const char *v,
                   size_t n)
{
    char date[11], why[256];
    size_t vn;

    v = row_prepare(im, c, v, n, &vn);
    if (vn == 0)
        return; /* an empty cell is an absent field */
    if (c->kind == IMP_COL_BSN) {
        row_bsn(im, s, v, vn);
        return;
    }
    if (c->vkind == PROTO_FIELD_DATE) {
        if (imp_date_parse(im->date_format, v, vn, date, why, sizeof(why)) != WM_OK) {
            imp_row_error(s, "%s", why);
            return;
        }
        v = date;
        vn = 10;
    } else if (c->vkind == PROTO_FIELD_INT) {
        vn = imp_int_normalise(v, vn);
    }
    /* the server's rule, applied here so that a BSN never leaves this machine */
    if (proto_value_check(PROTO_VERB_EVENT, c->field, v, vn, why, sizeof(why)) != WM_OK) {
        imp_row_error(s, "%s (not sent)%s", why,
                      strcmp(c->field, "person") == 0 ? ": use a bsn column and --pseudo-key" : "");
        return;
    }
    wm_buf_append(&s->req, " ", 1);
    wm_buf_puts(&s->req, c->field);
    wm_buf_append(&s->req, "=", 1);
    wm_buf_append_escaped(&s->req, v, vn);
}

void imp_row_end(struct imp *im, struct imp_slot *s)
{
    if (s->nerr > 0) {
        s->local = 1;
    } else {
        if (im->fixed.len > 0)
            wm_buf_append(&s->req, im->fixed.data, im->fixed.len);
        wm_buf_append(&s->req, "\n", 1);
    }
    if (s->req.oom || s->errs.oom || s->raw.oom)
        imp_fail(im, WM_ENOMEM, "out of memory");
}
