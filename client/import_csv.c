/*
 * import's CSV reader (RFC 4180 by libcsv): the delimiter chosen from the header
 * line, the header's names into columns, and each later record into one row of named
 * values for import_row.c. A record of only empty cells is a blank line.
 */
#include <stdlib.h>
#include <string.h>

#include "import_int.h"

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

/* Header cell i, trimmed of spaces and tabs and lowercased, into colname[i]; its kind
 * into colkind[i]. Errors go to im->fatal. */
static void csv_column(struct imp *im, size_t i)
{
    struct imp_csv *cs = &im->csv;
    size_t n;
    const char *f = field(cs, i, &n);
    char *name;

    while (n > 0 && (*f == ' ' || *f == '\t')) {
        f++;
        n--;
    }
    while (n > 0 && (f[n - 1] == ' ' || f[n - 1] == '\t'))
        n--;
    name = strndup(f, n);
    if (name == NULL) {
        imp_fail(im, WM_ENOMEM, "out of memory");
        return;
    }
    for (char *p = name; *p != '\0'; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    cs->colname[i] = name;
    if (n == 0) {
        cs->colkind[i] = IMP_COL_UNNAMED;
        return;
    }
    if (!imp_name_valid(name)) {
        imp_fail(im, WM_ECONFIG,
                 "%s: column %zu of the header, '%.64s', is not a field name (a-z, 0-9, "
                 "'.', '_', '-')",
                 im->in.path, i + 1, name);
        return;
    }
    for (size_t j = 0; j < i; j++) {
        if (strcmp(cs->colname[j], name) == 0) {
            imp_fail(im, WM_ECONFIG, "%s: column '%.64s' appears twice in the header", im->in.path,
                     name);
            return;
        }
    }
    cs->colkind[i] = imp_col_kind(name);
}

/* The header record: column names and what they hold, then the checks of the whole. */
static void csv_header(struct imp *im)
{
    struct imp_csv *cs = &im->csv;
    int have_type = 0, have_id = 0, have_person = 0, have_bsn = 0;

    cs->colname = calloc(cs->nfields, sizeof(*cs->colname));
    cs->colkind = calloc(cs->nfields, sizeof(*cs->colkind));
    if (cs->colname == NULL || cs->colkind == NULL) {
        imp_fail(im, WM_ENOMEM, "out of memory");
        return;
    }
    cs->ncols = cs->nfields;
    for (size_t i = 0; i < cs->nfields && !im->fatal; i++) {
        csv_column(im, i);
        if (im->fatal)
            return;
        have_type |= cs->colkind[i] == IMP_COL_TYPE;
        have_bsn |= cs->colkind[i] == IMP_COL_BSN;
        have_id |= cs->colkind[i] == IMP_COL_FIELD && strcmp(cs->colname[i], "id") == 0;
        have_person |= cs->colkind[i] == IMP_COL_FIELD && strcmp(cs->colname[i], "person") == 0;
    }
    if (!have_type || !have_id)
        imp_fail(im, WM_ECONFIG,
                 "%s: the header has no '%s' column (the first line must name the fields, "
                 "with type and id among them)",
                 im->in.path, !have_type ? "type" : "id");
    else if (have_bsn && have_person)
        imp_fail(im, WM_ECONFIG, "%s: the header has both a bsn and a person column; give one",
                 im->in.path);
    else if (have_bsn && !im->have_key)
        imp_fail(im, WM_ECONFIG,
                 "%s has a bsn column: give --pseudo-key FILE to turn BSNs into pseudonyms "
                 "(a BSN is never sent)",
                 im->in.path);
    cs->header_done = 1;
}

/* A record after the header: one row, or nothing for a record of empty cells. */
static void csv_row(struct imp *im)
{
    struct imp_csv *cs = &im->csv;
    struct imp_slot *s;
    const char *type = NULL;
    size_t type_n = 0;
    size_t filled = 0;

    /* a record of only empty cells (";;;;" as spreadsheets write it) is a blank line */
    for (size_t i = 0; i < cs->nfields; i++) {
        size_t n;

        field(cs, i, &n);
        filled += n > 0;
    }
    if (filled == 0 || (s = imp_row_new(im, cs->rec_start)) == NULL)
        return;
    if (cs->nfields > cs->ncols) {
        imp_row_reject(s, "row has %zu fields but the header names %zu", cs->nfields, cs->ncols);
        return;
    }
    for (size_t i = 0; i < cs->nfields; i++) {
        if (cs->colkind[i] == IMP_COL_TYPE) {
            type = field(cs, i, &type_n);
            if (type_n == 0)
                type = NULL;
        }
    }
    if (type == NULL) {
        imp_row_reject(s, "type missing (the type column is empty)");
        return;
    }
    imp_row_type(s, type, type_n);
    for (size_t i = 0; i < cs->nfields; i++) {
        size_t n;
        const char *v = field(cs, i, &n);

        if (n == 0 || cs->colkind[i] == IMP_COL_TYPE)
            continue; /* an empty cell is an absent field */
        if (cs->colkind[i] == IMP_COL_UNNAMED) {
            imp_row_reject(s, "column %zu has a value but no name in the header", i + 1);
            return;
        }
        if (imp_row_field(im, s, cs->colname[i], cs->colkind[i], v, n) != 0)
            return;
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

int imp_csv_begin(struct imp *im, const char *p, size_t n)
{
    if (csv_init(&im->csv.parser, CSV_APPEND_NULL) != 0)
        return WM_ENOMEM;
    csv_set_delim(&im->csv.parser, detect_delim(p, n));
    im->csv.ready = 1;
    return WM_OK;
}

void imp_csv_line(struct imp *im, const char *p, size_t n)
{
    struct imp_csv *cs = &im->csv;

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
    for (size_t i = 0; i < cs->ncols; i++)
        free(cs->colname[i]);
    free(cs->colname);
    free(cs->colkind);
    free(cs->fbuf);
    free(cs->foff);
}
