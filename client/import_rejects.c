/*
 * import's rejected rows: written to --rejects FILE in the input's own format (CSV with
 * its header and delimiter, or NDJSON) with two more columns, regel (the line) and fout
 * (every error of the row), so that the file can be corrected and imported again; and
 * counted by reason for the summary.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "import_int.h"

#define REJECTS_SHOWN 10  /* rejected rows told on stderr without --rejects */
#define REASONS_SHOWN 10  /* reasons in the summary */
#define REASONS_MAX 10000 /* distinct reasons counted, at most */

int imp_csv_quote(struct wm_buf *b, const char *v, size_t n, unsigned char delim)
{
    int quote = n > 0 && (v[0] == ' ' || v[n - 1] == ' ');

    for (size_t i = 0; i < n && !quote; i++)
        quote = v[i] == (char)delim || v[i] == '"' || v[i] == '\n' || v[i] == '\r';
    if (!quote)
        return n > 0 ? wm_buf_append(b, v, n) : WM_OK;
    wm_buf_append(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '"')
            wm_buf_append(b, "\"", 1);
        wm_buf_append(b, v + i, 1);
    }
    return wm_buf_append(b, "\"", 1);
}

int imp_rejects_open(struct imp *im, const char *path)
{
    struct imp_rejects *r = &im->rej;
    struct imp_csv *cs = &im->csv;
    struct stat in, out;
    struct wm_buf h;
    const char *eol = cs->crlf ? "\r\n" : "\n";

    if (fstat(im->in.fd, &in) == 0 && stat(path, &out) == 0 && in.st_dev == out.st_dev &&
        in.st_ino == out.st_ino) {
        snprintf(im->fatal_msg, sizeof(im->fatal_msg),
                 "--rejects %s is the file being imported: write the rejects to another file",
                 path);
        return WM_EIO;
    }
    r->path = path;
    r->f = fopen(path, "w");
    if (r->f == NULL) {
        snprintf(im->fatal_msg, sizeof(im->fatal_msg), "cannot write rejects file %s: %s", path,
                 strerror(errno));
        return WM_EIO;
    }
    /* a byte-order mark where the input had one or was converted, so that Excel reads
     * the UTF-8 this file is in */
    if (im->in.had_bom || im->in.raw != NULL)
        fputs("\xEF\xBB\xBF", r->f);
    if (im->in.ndjson)
        return WM_OK;
    wm_buf_init(&h);
    if (cs->header.len > 0)
        wm_buf_append(&h, cs->header.data, cs->header.len);
    wm_buf_printf(&h, "%cregel%cfout%s", cs->delim, cs->delim, eol);
    if (h.oom || fwrite(h.data, 1, h.len, r->f) != h.len) {
        wm_buf_free(&h);
        snprintf(im->fatal_msg, sizeof(im->fatal_msg), "cannot write rejects file %s", path);
        return WM_EIO;
    }
    wm_buf_free(&h);
    return WM_OK;
}

/* FNV-1a of s (n bytes). */
static size_t reason_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return (size_t)h;
}

/* The slot of reason s (n bytes) in a table of cap entries: its own, or a free one. */
static struct imp_reason *reason_slot(struct imp_reason *tab, size_t cap, const char *s, size_t n)
{
    size_t i = reason_hash(s, n) & (cap - 1);

    while (tab[i].text != NULL && (strncmp(tab[i].text, s, n) != 0 || tab[i].text[n] != '\0'))
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

/* Double the reasons' table (or make it). Returns 0 or -1. */
static int reasons_grow(struct imp_rejects *r)
{
    size_t ncap = r->cap == 0 ? 64 : r->cap * 2;
    struct imp_reason *n = calloc(ncap, sizeof(*n));

    if (n == NULL)
        return -1;
    for (size_t i = 0; i < r->cap; i++)
        if (r->tab[i].text != NULL)
            *reason_slot(n, ncap, r->tab[i].text, strlen(r->tab[i].text)) = r->tab[i];
    free(r->tab);
    r->tab = n;
    r->cap = ncap;
    return 0;
}

/*
 * The summary's form of a conflict (s, n bytes, starting "conflict: "), into k (room for
 * n bytes: it only gets shorter): without the id ("id 'hv-12' was retracted" is "id was
 * retracted") and without "(seq N)", so that a re-export's conflicts count as one reason
 * rather than one reason per row. Returns k's length.
 */
static size_t reason_conflict_key(const char *s, size_t n, char *k)
{
    size_t j = 0;

    for (size_t i = 0; i < n;) {
        const char *q =
            n - i > 4 && memcmp(s + i, "id '", 4) == 0 ? memchr(s + i + 4, '\'', n - i - 4) : NULL;
        size_t e = i + 6;

        if (q != NULL) {
            k[j++] = 'i';
            k[j++] = 'd';
            i = (size_t)(q - s) + 1;
            continue;
        }
        if (n - i > 6 && memcmp(s + i, " (seq ", 6) == 0) {
            while (e < n && s[e] >= '0' && s[e] <= '9')
                e++;
            if (e < n && s[e] == ')') {
                i = e + 1;
                continue;
            }
        }
        k[j++] = s[i++];
    }
    return j;
}

/* Count one rejection for reason s (n bytes). */
static void reason_count(struct imp_rejects *r, const char *s, size_t n)
{
    struct imp_reason *e;
    char key[512];

    if (n > 10 && n <= sizeof(key) && memcmp(s, "conflict: ", 10) == 0) {
        n = reason_conflict_key(s, n, key);
        s = key;
    }

    if ((r->used + 1) * 10 > r->cap * 7 && reasons_grow(r) != 0) {
        r->other++;
        return;
    }
    e = reason_slot(r->tab, r->cap, s, n);
    if (e->text == NULL) {
        if (r->used >= REASONS_MAX || (e->text = strndup(s, n)) == NULL) {
            r->other++;
            return;
        }
        r->used++;
    }
    e->n++;
}

/* The NDJSON rejects line: the object with regel and fout set, or the line as it was
 * when it is not an object. */
static void ndjson_reject(struct wm_buf *out, const struct imp_slot *s, const char *fout)
{
    json_t *obj = json_loadb(s->raw.data != NULL ? s->raw.data : "", s->raw.len, 0, NULL);
    char *text;

    if (obj == NULL || !json_is_object(obj)) {
        json_decref(obj);
        if (s->raw.len > 0)
            wm_buf_append(out, s->raw.data, s->raw.len);
        return;
    }
    json_object_del(obj, "regel");
    json_object_del(obj, "fout");
    json_object_set_new(obj, "regel", json_integer(s->lineno));
    json_object_set_new(obj, "fout", json_string(fout));
    text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text != NULL)
        wm_buf_puts(out, text);
    free(text);
    json_decref(obj);
}

/* Write the row to the rejects file: its record, regel and fout. */
static void rejects_write(struct imp *im, const struct imp_slot *s, const char *fout)
{
    struct imp_csv *cs = &im->csv;
    struct wm_buf line;

    wm_buf_init(&line);
    if (im->in.ndjson) {
        ndjson_reject(&line, s, fout);
        wm_buf_append(&line, "\n", 1);
    } else {
        if (s->raw.len > 0)
            wm_buf_append(&line, s->raw.data, s->raw.len);
        wm_buf_printf(&line, "%c%ld%c", cs->delim, s->lineno, cs->delim);
        imp_csv_quote(&line, fout, strlen(fout), cs->delim);
        wm_buf_puts(&line, cs->crlf ? "\r\n" : "\n");
    }
    if (!line.oom)
        fwrite(line.data, 1, line.len, im->rej.f);
    wm_buf_free(&line);
}

void imp_rejects_row(struct imp *im, const struct imp_slot *s, const char *errs, size_t n)
{
    struct imp_rejects *r = &im->rej;
    struct wm_buf fout;

    wm_buf_init(&fout);
    for (size_t i = 0; i < n;) {
        const char *nl = memchr(errs + i, '\n', n - i);
        size_t end = nl != NULL ? (size_t)(nl - errs) : n;

        if (end > i) {
            reason_count(r, errs + i, end - i);
            if (fout.len > 0)
                wm_buf_puts(&fout, "; ");
            wm_buf_append(&fout, errs + i, end - i);
        }
        i = end + 1;
    }
    im->rejected++;
    if (wm_buf_cstr(&fout) == NULL) {
        imp_fail(im, WM_ENOMEM, "out of memory");
    } else if (r->f != NULL) {
        rejects_write(im, s, fout.data != NULL ? fout.data : "");
    } else if (r->shown++ < REJECTS_SHOWN) {
        imp_progress_clear(im);
        fprintf(stderr, "werkmonitor import: line %ld: %s\n", s->lineno,
                fout.data != NULL ? fout.data : "");
    }
    wm_buf_free(&fout);
}

/* Order of the summary: most frequent first, then by text. */
static int reason_cmp(const void *a, const void *b)
{
    const struct imp_reason *x = a, *y = b;

    if (x->n != y->n)
        return x->n > y->n ? -1 : 1;
    return strcmp(x->text, y->text);
}

void imp_rejects_summary(const struct imp *im, FILE *out)
{
    const struct imp_rejects *r = &im->rej;
    struct imp_reason *list = r->used > 0 ? malloc(r->used * sizeof(*list)) : NULL;
    unsigned long rest = r->other, rest_reasons = 0;
    size_t k = 0;
    int width;

    if (list == NULL)
        return;
    for (size_t i = 0; i < r->cap; i++)
        if (r->tab[i].text != NULL)
            list[k++] = r->tab[i];
    qsort(list, k, sizeof(*list), reason_cmp);
    width = snprintf(NULL, 0, "%lu", list[0].n);
    for (size_t i = 0; i < k; i++) {
        if (i < REASONS_SHOWN) {
            fprintf(out, "  %*lu  %s\n", width, list[i].n, list[i].text);
        } else {
            rest += list[i].n;
            rest_reasons++;
        }
    }
    if (rest > 0)
        fprintf(out, "  %*lu  (%lu other reasons%s)\n", width, rest, rest_reasons,
                r->f != NULL ? "; the rejects file has each row's" : "");
    if (r->f == NULL && r->shown > REJECTS_SHOWN)
        fprintf(out,
                "%lu rejected rows were not shown: --rejects FILE keeps them all, with "
                "their line and errors, to be corrected and imported again\n",
                r->shown - REJECTS_SHOWN);
    free(list);
}

int imp_rejects_close(struct imp *im)
{
    struct imp_rejects *r = &im->rej;
    int rc = WM_OK;

    if (r->f != NULL) {
        if (ferror(r->f))
            rc = WM_EIO;
        if (fclose(r->f) != 0)
            rc = WM_EIO;
        r->f = NULL;
    }
    for (size_t i = 0; i < r->cap; i++)
        free(r->tab[i].text);
    free(r->tab);
    r->tab = NULL;
    r->cap = r->used = 0;
    return rc;
}
