/*
 * import's CSV reader (RFC 4180 by libcsv): the delimiter (',' ';' or TAB) chosen from
 * the header line, the header's names resolved into columns (import_map.c) and checked
 * as a whole before anything is sent, and each later record into one row for
 * import_row.c. The lines of each record are kept for the rejects file.
 */
#include <stdlib.h>
#include <string.h>

#include "import_int.h"

#define NAMES_SHOWN 12 /* unknown columns named in the message, at most */

/* libcsv's field callback: append the field to the current record. */
static void csv_field_cb(void *data, size_t len, void *arg)
{
    struct imp *im = arg;
    struct imp_csv *cs = &im->csv;

    if (im->fatal)
        return;
    if (cs->nfields == cs->foffcap) {
        size_t ncap = cs->foffcap == 0 ? 32 : cs->foffcap * 2;
        size_t *n = realloc(cs->foff, ncap * sizeof(*n));

        if (n == NULL) {
            imp_fail(im, WM_ENOMEM, "out of memory");
            return;
        }
        cs->foff = n;
        cs->foffcap = ncap;
    }
    if (cs->fcap - cs->flen < len + 1) {
        size_t ncap = (cs->fcap + len + 1) * 2;
        char *n = realloc(cs->fbuf, ncap);

        if (n == NULL) {
            imp_fail(im, WM_ENOMEM, "out of memory");
            return;
        }
        cs->fbuf = n;
        cs->fcap = ncap;
    }
    cs->foff[cs->nfields++] = cs->flen;
    if (len > 0)
        memcpy(cs->fbuf + cs->flen, data, len);
    cs->flen += len;
    cs->fbuf[cs->flen++] = '\0';
}

/* Field i of the current record and its length. */
static const char *field(const struct imp_csv *cs, size_t i, size_t *n)
{
    const char *f = cs->fbuf + cs->foff[i];
    size_t end = i + 1 < cs->nfields ? cs->foff[i + 1] - 1 : cs->flen - 1;

    *n = end - cs->foff[i];
    return f;
}

/* The current record for the rejects file into out: its lines as read without the
 * line end or, for a corrected rejects file, its fields again without regel and fout. */
static void record_copy(struct imp_csv *cs, struct wm_buf *out)
{
    size_t n = cs->rec.len;

    wm_buf_reset(out);
    if (!cs->rewrite) {
        while (n > 0 && (cs->rec.data[n - 1] == '\n' || cs->rec.data[n - 1] == '\r'))
            n--;
        if (n > 0)
            wm_buf_append(out, cs->rec.data, n);
        return;
    }
    for (size_t i = 0, k = 0; i < cs->nfields; i++) {
        size_t fn;
        const char *f = field(cs, i, &fn);

        if (i < cs->ncols && cs->col[i].kind == IMP_COL_REJECT_NOTE)
            continue;
        if (k++ > 0)
            wm_buf_append(out, &cs->delim, 1);
        imp_csv_quote(out, f, fn, cs->delim);
    }
}

/* Header cell i folded, for messages (case kept), into name (size bytes). */
static void cell_name(const struct imp_csv *cs, size_t i, char *name, size_t size)
{
    size_t n;
    const char *f = field(cs, i, &n);

    if (n >= size)
        n = size - 1;
    n = imp_value_fold(name, f, n);
    name[n] = '\0';
}

/* The columns' names into resolved columns; unknown ones listed in unknown. Returns the
 * number of unknown columns. */
static size_t csv_resolve(struct imp *im, struct wm_buf *unknown)
{
    struct imp_csv *cs = &im->csv;
    size_t nunknown = 0;

    for (size_t i = 0; i < cs->ncols; i++) {
        char name[256];
        size_t n;
        const char *f = field(cs, i, &n);

        if (n >= sizeof(name))
            n = sizeof(name) - 1;
        n = imp_name_normalise(name, f, n);
        name[n] = '\0';
        imp_map_column(&im->map, name, im->ignore_unknown, &cs->col[i]);
        cs->rewrite |= cs->col[i].kind == IMP_COL_REJECT_NOTE;
        if (cs->col[i].kind == IMP_COL_UNKNOWN && nunknown++ < NAMES_SHOWN) {
            cell_name(cs, i, name, 64);
            wm_buf_printf(unknown, "%s'%s'", nunknown > 1 ? ", " : "", name);
        }
    }
    return nunknown;
}

/* The check of two columns: none may give what another column or a fixed value gives.
 * Returns 0, or -1 after the fatal error. */
static int csv_check_twice(struct imp *im, size_t i)
{
    struct imp_csv *cs = &im->csv;
    const struct imp_column *c = &cs->col[i];
    char a[64], b[64];

    if (c->kind != IMP_COL_FIELD && c->kind != IMP_COL_TYPE && c->kind != IMP_COL_BSN)
        return 0;
    for (size_t j = 0; j < i; j++) {
        const struct imp_column *d = &cs->col[j];
        int same = strcmp(d->field, c->field) == 0;

        /* a BSN becomes the person: the two cannot both be given */
        same |= (c->kind == IMP_COL_BSN && strcmp(d->field, "person") == 0) ||
                (d->kind == IMP_COL_BSN && strcmp(c->field, "person") == 0);
        if (d->kind != IMP_COL_IGNORE && d->kind != IMP_COL_REJECT_NOTE && same) {
            cell_name(cs, j, a, sizeof(a));
            cell_name(cs, i, b, sizeof(b));
            imp_fail(im, WM_ECONFIG,
                     "%s: columns '%s' and '%s' both give %s (nothing was sent): ignore one "
                     "in a --map profile ([ignore])",
                     im->in.path, a, b, c->kind == IMP_COL_BSN ? "the person" : c->field);
            return -1;
        }
    }
    for (size_t k = 0; k < im->map.nsets; k++) {
        if (strcmp(im->map.sets[k].field, c->field) == 0) {
            cell_name(cs, i, a, sizeof(a));
            imp_fail(im, WM_ECONFIG,
                     "%s: %s is both a column ('%s') and a fixed value (--set, --type or the "
                     "map's [set]); nothing was sent: drop one of them",
                     im->in.path, c->field, a);
            return -1;
        }
    }
    return 0;
}

/* The header as a whole: a type and an id, a key for a bsn column. Returns 0 or -1
 * after the fatal error. */
static int csv_check_header(struct imp *im)
{
    struct imp_csv *cs = &im->csv;
    int have_type = im->fixed_type >= 0, have_id = 0, have_bsn = 0;

    for (size_t i = 0; i < cs->ncols; i++) {
        if (csv_check_twice(im, i) != 0)
            return -1;
        have_type |= cs->col[i].kind == IMP_COL_TYPE;
        have_bsn |= cs->col[i].kind == IMP_COL_BSN;
        have_id |= cs->col[i].kind == IMP_COL_FIELD && strcmp(cs->col[i].field, "id") == 0;
    }
    if (!have_type || !have_id) {
        imp_fail(im, WM_ECONFIG,
                 "%s: the header has no '%s' column (the first line must name the fields, "
                 "with type and id among them%s)",
                 im->in.path, !have_type ? "type" : "id",
                 !have_type ? "; for a file of one type give --type" : "");
        return -1;
    }
    if (have_bsn && !im->have_key) {
        imp_fail(im, WM_ECONFIG,
                 "%s has a bsn column: give --pseudo-key FILE to turn BSNs into pseudonyms "
                 "(a BSN is never sent)",
                 im->in.path);
        return -1;
    }
    return 0;
}

/* The header record: column names resolved, the checks of the whole, its text kept for
 * the rejects file. */
static void csv_header(struct imp *im)
{
    struct imp_csv *cs = &im->csv;
    struct wm_buf unknown;
    size_t nunknown;

    cs->ncols = cs->nfields;
    cs->col = calloc(cs->ncols, sizeof(*cs->col));
    if (cs->col == NULL) {
        imp_fail(im, WM_ENOMEM, "out of memory");
        return;
    }
    wm_buf_init(&unknown);
    nunknown = csv_resolve(im, &unknown);
    if (nunknown > 0) {
        imp_fail(im, WM_ECONFIG,
                 "%s: unknown column%s %.*s%s (nothing was sent): map %s in a "
                 "--map profile ([columns], or [ignore] to skip), or give --ignore-unknown "
                 "to skip every column that is not a field",
                 im->in.path, nunknown > 1 ? "s" : "", (int)unknown.len,
                 unknown.data != NULL ? unknown.data : "", nunknown > NAMES_SHOWN ? ", ..." : "",
                 nunknown > 1 ? "them to fields" : "it to a field");
    } else if (csv_check_header(im) == 0) {
        record_copy(cs, &cs->header);
    }
    wm_buf_free(&unknown);
    cs->header_done = 1;
}

/* A record after the header: one row, or nothing for a record of empty cells. */
static void csv_row(struct imp *im)
{
    struct imp_csv *cs = &im->csv;
    struct imp_slot *s;
    const struct imp_column *tcol = NULL;
    const char *type = NULL;
    size_t type_n = 0, filled = 0;

    /* a record of only empty cells (";;;;" as spreadsheets write it) is a blank line */
    for (size_t i = 0; i < cs->nfields; i++) {
        size_t n;

        field(cs, i, &n);
        filled += n > 0;
    }
    if (filled == 0 || (s = imp_row_new(im, cs->rec_start)) == NULL)
        return;
    record_copy(cs, &s->raw);
    for (size_t i = 0; i < cs->nfields && i < cs->ncols; i++) {
        if (cs->col[i].kind == IMP_COL_TYPE) {
            tcol = &cs->col[i];
            type = field(cs, i, &type_n);
        }
    }
    imp_row_type(im, s, tcol, type, type_n);
    for (size_t i = 0; i < cs->nfields; i++) {
        size_t n;
        const char *v = field(cs, i, &n);

        if (n == 0)
            continue; /* an empty cell is an absent field */
        if (i >= cs->ncols) {
            imp_row_error(s, "row has %zu fields but the header names %zu", cs->nfields, cs->ncols);
            break;
        }
        if (cs->col[i].kind == IMP_COL_UNNAMED)
            imp_row_error(s, "column %zu has a value but no name in the header", i + 1);
        else if (cs->col[i].kind == IMP_COL_FIELD || cs->col[i].kind == IMP_COL_BSN)
            imp_row_value(im, s, &cs->col[i], v, n);
    }
    imp_row_end(im, s);
}

/* libcsv's record callback. */
static void csv_record_cb(int c, void *arg)
{
    struct imp *im = arg;
    struct imp_csv *cs = &im->csv;

    (void)c;
    cs->in_record = 0;
    if (!im->fatal) {
        if (!cs->header_done)
            csv_header(im);
        else
            csv_row(im);
    }
    cs->nfields = 0;
    cs->flen = 0;
    wm_buf_reset(&cs->rec);
}

/* Pick ',' ';' or TAB from the header line: the one that occurs most outside quotes
 * (';' first on a tie, as Dutch Excel writes it). */
static unsigned char detect_delim(const char *s, size_t n)
{
    size_t commas = 0, semis = 0, tabs = 0;
    int quoted = 0;

    for (size_t i = 0; i < n && s[i] != '\n'; i++) {
        if (s[i] == '"')
            quoted = !quoted;
        else if (!quoted && s[i] == ',')
            commas++;
        else if (!quoted && s[i] == ';')
            semis++;
        else if (!quoted && s[i] == '\t')
            tabs++;
    }
    if (semis >= commas && semis >= tabs && semis > 0)
        return ';';
    return tabs > commas ? '\t' : ',';
}

/* Only the space is trimmed around unquoted fields: a TAB may be the delimiter, and
 * the rest of a cell's white space is folded by import_row.c. */
static int csv_is_space(unsigned char c)
{
    return c == ' ';
}

int imp_csv_split_plain(const char *p, size_t n, unsigned char delim,
                        void (*field_cb)(void *, size_t, void *), void (*record_cb)(int, void *),
                        void *arg)
{
    size_t end = n - 1, pos = 0;
    int term = '\n';

    /* only a whole line, and none that libcsv would read otherwise: a quote, or a CR
     * other than the last (libcsv ends a record at a CR) */
    if (n == 0 || p[n - 1] != '\n' || memchr(p, '"', n) != NULL)
        return 0;
    if (end > 0 && p[end - 1] == '\r') {
        end--;
        term = '\r'; /* libcsv ends the record at the CR and skips the LF */
    }
    if (memchr(p, '\r', end) != NULL)
        return 0;
    /* leading spaces, then nothing: a blank line, no record */
    while (pos < end && p[pos] == ' ')
        pos++;
    if (pos == end)
        return 1;
    for (;;) {
        const char *d = memchr(p + pos, delim, end - pos);
        size_t fend = d != NULL ? (size_t)(d - p) : end;

        /* the spaces around an unquoted field are not its (csv_is_space) */
        while (pos < fend && p[pos] == ' ')
            pos++;
        while (fend > pos && p[fend - 1] == ' ')
            fend--;
        field_cb((void *)(p + pos), fend - pos, arg);
        if (d == NULL)
            break;
        pos = (size_t)(d - p) + 1;
    }
    record_cb(term, arg);
    return 1;
}

int imp_csv_begin(struct imp *im, const char *p, size_t n)
{
    struct imp_csv *cs = &im->csv;

    if (csv_init(&cs->parser, CSV_APPEND_NULL) != 0)
        return WM_ENOMEM;
    cs->delim = detect_delim(p, n);
    cs->crlf = n >= 2 && p[n - 1] == '\n' && p[n - 2] == '\r';
    csv_set_delim(&cs->parser, cs->delim);
    csv_set_space_func(&cs->parser, csv_is_space);
    cs->ready = 1;
    return WM_OK;
}

void imp_csv_line(struct imp *im, const char *p, size_t n)
{
    struct imp_csv *cs = &im->csv;
    int open = cs->in_record; /* a record began on an earlier line (a quoted line break) */

    if (!cs->in_record) {
        size_t k = 0;

        while (k < n && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r'))
            k++;
        if (k < n && p[k] != '\n') {
            /* a record starts here: its line number is this line's */
            cs->in_record = 1;
            cs->rec_start = im->in.lineno;
        }
    }
    if (cs->in_record && wm_buf_append(&cs->rec, p, n) != WM_OK)
        imp_fail(im, WM_ENOMEM, "out of memory");
    /* A line that is a whole record without quotes (nearly every line of a system's
     * export) is split here; libcsv, a call and several branches per byte, reads the
     * rest. It may only when no record is open: then libcsv's parser is at rest. A line
     * near IMP_MAX_RECORD goes to libcsv too, so that the check below sees its fields. */
    if (!open && n < IMP_MAX_RECORD / 2 &&
        imp_csv_split_plain(p, n, cs->delim, csv_field_cb, csv_record_cb, im))
        return;
    if (csv_parse(&cs->parser, p, n, csv_field_cb, csv_record_cb, im) != n)
        imp_fail(im, WM_EIO, "%s: line %ld: %s", im->in.path, im->in.lineno,
                 csv_strerror(csv_error(&cs->parser)));
    if (cs->in_record && csv_get_buffer_size(&cs->parser) > IMP_MAX_RECORD)
        imp_fail(im, WM_EIO,
                 "%s: the record starting at line %ld does not end (a quote that never closes?)",
                 im->in.path, cs->rec_start);
}

void imp_csv_end(struct imp *im)
{
    struct imp_csv *cs = &im->csv;

    if (cs->ready) {
        csv_fini(&cs->parser, csv_field_cb, csv_record_cb, im);
        cs->ready = 0;
        csv_free(&cs->parser);
    }
    if (!cs->header_done)
        imp_fail(im, WM_EIO, "%s has no header row (it is empty)", im->in.path);
}

void imp_csv_free(struct imp *im)
{
    struct imp_csv *cs = &im->csv;

    if (cs->ready)
        csv_free(&cs->parser);
    free(cs->col);
    wm_buf_free(&cs->header);
    wm_buf_free(&cs->rec);
    free(cs->fbuf);
    free(cs->foff);
}
