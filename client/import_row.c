/*
 * import's rows: the named values a reader found in one record become one EVENT line,
 * or the row's reject. What a name means and what a value becomes on the wire are
 * decided here for CSV and NDJSON alike; a BSN is pseudonymised here and never sent.
 */
#include <stdarg.h>
#include <string.h>

#include "import_int.h"

int imp_name_valid(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
              *s == '-'))
            return 0;
    return 1;
}

enum imp_col imp_col_kind(const char *name)
{
    if (strcmp(name, "type") == 0)
        return IMP_COL_TYPE;
    if (strcmp(name, "bsn") == 0)
        return IMP_COL_BSN;
    return IMP_COL_FIELD;
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
    return s;
}

void imp_row_reject(struct imp_slot *s, const char *fmt, ...)
{
    va_list ap;

    s->local = 1;
    wm_buf_reset(&s->req);
    wm_buf_puts(&s->req, "ERR invalid ");
    va_start(ap, fmt);
    wm_buf_vprintf(&s->req, fmt, ap);
    va_end(ap);
}

void imp_row_type(struct imp_slot *s, const char *type, size_t n)
{
    wm_buf_puts(&s->req, "EVENT ");
    wm_buf_append_escaped(&s->req, type, n);
}

/* A BSN (n bytes) checked with the eleven-test and appended as person=<pseudonym>.
 * Returns 0, or -1 after a reject (or im->fatal). */
static int row_bsn(struct imp *im, struct imp_slot *s, const char *v, size_t n)
{
    char why[256];
    char pseudo[CLI_PSEUDONYM_LEN + 1];
    char bsn[16];

    if (n >= sizeof(bsn)) {
        imp_row_reject(s, "bsn is not 9 digits (not sent)");
        return -1;
    }
    memcpy(bsn, v, n);
    bsn[n] = '\0';
    if (cli_bsn_check(bsn, why, sizeof(why)) != WM_OK) {
        imp_row_reject(s, "bsn refused: %s (not sent)", why);
        return -1;
    }
    if (cli_pseudonym(&im->key, bsn, pseudo) != WM_OK) {
        imp_fail(im, WM_EINTERNAL, "cannot compute a pseudonym (OpenSSL)");
        return -1;
    }
    wm_buf_puts(&s->req, " person=");
    wm_buf_append(&s->req, pseudo, CLI_PSEUDONYM_LEN);
    return 0;
}

int imp_row_field(struct imp *im, struct imp_slot *s, const char *name, enum imp_col kind,
                  const char *v, size_t n)
{
    if (kind == IMP_COL_BSN)
        return row_bsn(im, s, v, n);
    if (strcmp(name, "person") == 0 && proto_person_looks_like_bsn(v, n)) {
        imp_row_reject(s, "person looks like a BSN (8 or 9 digits; not sent): use a bsn column "
                          "and --pseudo-key");
        return -1;
    }
    wm_buf_append(&s->req, " ", 1);
    wm_buf_puts(&s->req, name);
    wm_buf_append(&s->req, "=", 1);
    wm_buf_append_escaped(&s->req, v, n);
    return 0;
}

void imp_row_end(struct imp *im, struct imp_slot *s)
{
    if (!s->local)
        wm_buf_append(&s->req, "\n", 1);
    if (s->req.oom)
        imp_fail(im, WM_ENOMEM, "out of memory");
}
