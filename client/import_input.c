/*
 * import's input: bytes of the file (or stdin) read in chunks into one buffer, a
 * UTF-8 byte-order mark skipped, and each line handed to the reader of the format.
 * Every byte read passes input_fill, the place for a conversion of encodings.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "import_int.h"

void imp_fail(struct imp *im, int err, const char *fmt, ...)
{
    va_list ap;

    if (im->fatal)
        return;
    im->fatal = err;
    va_start(ap, fmt);
    vsnprintf(im->fatal_msg, sizeof(im->fatal_msg), fmt, ap);
    va_end(ap);
}

int imp_input_fill(struct imp *im)
{
    struct imp_input *in = &im->in;
    ssize_t r;

    if (in->start > 0) {
        memmove(in->buf, in->buf + in->start, in->len - in->start);
        in->len -= in->start;
        in->start = 0;
    }
    if (in->cap - in->len < IMP_CHUNK) {
        size_t ncap = in->cap == 0 ? 2 * IMP_CHUNK : in->cap * 2;
        char *n = realloc(in->buf, ncap);

        if (n == NULL)
            return WM_ENOMEM;
        in->buf = n;
        in->cap = ncap;
    }
    do {
        r = read(in->fd, in->buf + in->len, in->cap - in->len);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        snprintf(im->fatal_msg, sizeof(im->fatal_msg), "cannot read %s: %s", in->path,
                 strerror(errno));
        return WM_EIO;
    }
    if (r == 0) {
        in->eof = 1;
        return WM_OK;
    }
    in->len += (size_t)r;
    return WM_OK;
}

/* 1 when the buffer starts with the byte-order mark Excel writes before UTF-8 text. */
static int input_has_bom(const struct imp_input *in)
{
    return in->len - in->start >= 3 && memcmp(in->buf + in->start, "\xEF\xBB\xBF", 3) == 0;
}

int imp_input_sniff(struct imp *im, const char *format)
{
    struct imp_input *in = &im->in;
    const char *dot = strrchr(in->path, '.');
    int rc;

    if (format != NULL) {
        in->ndjson = strcmp(format, "ndjson") == 0;
        return WM_OK;
    }
    if (dot != NULL &&
        (strcmp(dot, ".ndjson") == 0 || strcmp(dot, ".jsonl") == 0 || strcmp(dot, ".json") == 0)) {
        in->ndjson = 1;
        return WM_OK;
    }
    if ((rc = imp_input_fill(im)) != WM_OK)
        return rc;
    for (size_t i = input_has_bom(in) ? 3 : 0; i < in->len; i++) {
        char c = in->buf[i];

        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        in->ndjson = c == '{';
        break;
    }
    return WM_OK;
}

int imp_input_done(const struct imp *im)
{
    return im->in.eof && !im->csv.ready && im->in.start == im->in.len;
}

/* Hand one line (n bytes, its LF included when has_lf) to the format's reader. */
static int input_feed(struct imp *im, const char *p, size_t n, int has_lf)
{
    int rc;

    im->in.fed_end += n;
    if (im->in.ndjson) {
        imp_ndjson_line(im, p, has_lf ? n - 1 : n);
        return WM_OK;
    }
    if (!im->csv.ready && (rc = imp_csv_begin(im, p, n)) != WM_OK)
        return rc;
    imp_csv_line(im, p, n);
    return WM_OK;
}

/* No complete line is buffered and more input may come: read it, letting what is
 * queued go out first, as reading may block (a pipe). */
static int input_wait(struct imp *im)
{
    int rc;

    if (im->connected && im->win.sent < im->win.tail) {
        if ((rc = imp_window_send(im)) != WM_OK)
            return rc;
        cli_conn_io(&im->conn, 0, NULL);
    }
    return imp_input_fill(im);
}

int imp_produce(struct imp *im)
{
    struct imp_input *in = &im->in;

    while (!im->fatal && imp_window_unanswered(&im->win) < im->win.max &&
           (!im->connected || cli_conn_pending(&im->conn) < IMP_SEND_HIGH)) {
        /* no buffer before the first read: NULL + 0 is undefined behaviour (fuzz finding) */
        char *p = in->buf != NULL ? in->buf + in->start : NULL;
        size_t avail = in->len - in->start;
        char *nl = avail > 0 ? memchr(p, '\n', avail) : NULL;
        size_t n;
        int rc = WM_OK;

        if (in->first_chunk) {
            if (avail < 3 && !in->eof) {
                rc = imp_input_fill(im);
            } else {
                in->first_chunk = 0;
                if (input_has_bom(in))
                    in->start += 3;
            }
        } else if (nl == NULL && !in->eof) {
            rc = input_wait(im);
        } else if (nl == NULL && avail == 0) {
            /* the end: a last record without a line break is finished */
            if (!in->ndjson)
                imp_csv_end(im);
            break;
        } else {
            n = nl != NULL ? (size_t)(nl - p) + 1 : avail;
            rc = input_feed(im, p, n, nl != NULL);
            in->start += n;
            if (nl != NULL)
                in->lineno++;
        }
        if (rc != WM_OK)
            return rc;
    }
    return im->fatal ? im->fatal : WM_OK;
}
