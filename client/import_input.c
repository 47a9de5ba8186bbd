/*
 * import's input: bytes of the file (or stdin) read in chunks into one buffer of UTF-8
 * and each line handed to the reader of the format. The encoding is settled first: a
 * byte-order mark (UTF-8 skipped, UTF-16 converted), or --encoding through glibc's
 * iconv; plain UTF-8 is checked before anything is sent, so that a Windows-1252 file
 * is refused with the option that reads it.
 */
#define _GNU_SOURCE /* memrchr */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "import_int.h"

#define NO_ICONV ((iconv_t)-1)

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

/* Room for at least need more bytes at the end of the buffer, consumed bytes dropped.
 * Returns WM_OK or WM_ENOMEM. */
static int input_room(struct imp_input *in, size_t need)
{
    if (in->start > 0) {
        memmove(in->buf, in->buf + in->start, in->len - in->start);
        in->len -= in->start;
        in->start = 0;
    }
    if (in->cap - in->len < need) {
        size_t ncap = in->cap == 0 ? 2 * IMP_CHUNK : in->cap * 2;
        char *n;

        while (ncap - in->len < need)
            ncap *= 2;
        if ((n = realloc(in->buf, ncap)) == NULL)
            return WM_ENOMEM;
        in->buf = n;
        in->cap = ncap;
    }
    return WM_OK;
}

/* read() into dst, retried on EINTR. Returns the bytes read, 0 at the end, or -1 with
 * fatal_msg set. */
static ssize_t input_read(struct imp *im, char *dst, size_t n)
{
    ssize_t r;

    do {
        r = read(im->in.fd, dst, n);
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        snprintf(im->fatal_msg, sizeof(im->fatal_msg), "cannot read %s: %s", im->in.path,
                 strerror(errno));
    else
        im->in.raw_read += (uint64_t)r;
    return r;
}

/* The line number the next converted byte belongs to: the reader's line plus the line
 * ends buffered ahead of it. */
static long input_line_ahead(const struct imp_input *in)
{
    long line = in->lineno;

    for (size_t i = in->start; i < in->len; i++)
        line += in->buf[i] == '\n';
    return line;
}

/* Convert what raw holds into the buffer; an incomplete character at the end waits
 * for more bytes. Returns WM_OK, WM_ECONFIG (bytes that are not of the encoding;
 * fatal_msg names the line), WM_ENOMEM. */
static int input_convert(struct imp *im)
{
    struct imp_input *in = &im->in;
    char *src = in->raw;
    size_t left = in->rawlen;

    while (left > 0) {
        char *dst;
        size_t room, r;

        /* one input byte becomes at most three of UTF-8 (four for a UTF-16 pair) */
        if (input_room(in, 2 * left + 16) != WM_OK)
            return WM_ENOMEM;
        dst = in->buf + in->len;
        room = in->cap - in->len;
        r = iconv(in->cd, &src, &left, &dst, &room);
        in->len = (size_t)(dst - in->buf);
        if (r != (size_t)-1 || errno == E2BIG)
            continue;
        if (errno == EINVAL)
            break; /* an incomplete character: the rest comes with the next read */
        snprintf(im->fatal_msg, sizeof(im->fatal_msg),
                 "%s: line %ld holds bytes that are not %s text (nothing after it was sent): "
                 "give --encoding with the file's encoding (cp1252 for a Windows or Excel "
                 "file, utf-8, utf-16)",
                 in->path, input_line_ahead(in), in->enc);
        return WM_ECONFIG;
    }
    memmove(in->raw, src, left);
    in->rawlen = left;
    return WM_OK;
}

int imp_input_fill(struct imp *im)
{
    struct imp_input *in = &im->in;
    ssize_t r;
    int rc;

    if (in->cd == NO_ICONV) {
        if ((rc = input_room(in, IMP_CHUNK)) != WM_OK)
            return rc;
        r = input_read(im, in->buf + in->len, in->cap - in->len);
        if (r < 0)
            return WM_EIO;
        in->len += (size_t)r;
        in->eof = r == 0;
        return WM_OK;
    }
    /* raw keeps at most a few bytes of an incomplete character between reads */
    r = input_read(im, in->raw + in->rawlen, IMP_CHUNK);
    if (r < 0)
        return WM_EIO;
    in->rawlen += (size_t)r;
    if (r == 0) {
        in->eof = 1;
        if (in->rawlen > 0) {
            snprintf(im->fatal_msg, sizeof(im->fatal_msg),
                     "%s ends in the middle of a %s character", in->path, in->enc);
            return WM_ECONFIG;
        }
        return WM_OK;
    }
    return input_convert(im);
}

/* 1 when p (n bytes) is all ASCII, tested a word at a time. */
static int all_ascii(const char *p, size_t n)
{
    size_t i = 0;
    uint64_t acc = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t w;

        memcpy(&w, p + i, 8);
        acc |= w;
    }
    for (; i < n; i++)
        acc |= (unsigned char)p[i];
    return (acc & 0x8080808080808080ULL) == 0;
}

/* The line of p[0, n) (whole lines) that is not UTF-8: its index from 0, or -1 when
 * all are. */
static long first_bad_line(const char *p, size_t n)
{
    long line = 0;

    if (all_ascii(p, n))
        return -1;
    for (size_t i = 0; i < n;) {
        const char *nl = memchr(p + i, '\n', n - i);
        size_t end = nl != NULL ? (size_t)(nl - p) + 1 : n;

        if (!all_ascii(p + i, end - i) && !proto_utf8_valid(p + i, end - i))
            return line;
        line++;
        i = end;
    }
    return -1;
}

static int utf8_refused(struct imp *im, long line, int sent)
{
    snprintf(im->fatal_msg, sizeof(im->fatal_msg),
             "%s: line %ld is not UTF-8 (%s): a file saved by Excel as CSV is usually in "
             "Windows-1252; give --encoding cp1252",
             im->in.path, line, sent ? "the import stops here" : "nothing was sent");
    return WM_ECONFIG;
}

/* Check a regular file in UTF-8 to its end before anything is sent, reading it apart
 * from the stream (pread). Returns WM_OK, WM_ECONFIG (fatal_msg), WM_EIO, WM_ENOMEM. */
static int input_prescan(struct imp *im, off_t from)
{
    size_t cap = 4 * IMP_CHUNK, have = 0;
    char *b = malloc(cap);
    long lines = 1;
    int rc = WM_OK;

    if (b == NULL)
        return WM_ENOMEM;
    for (;;) {
        ssize_t r = pread(im->in.fd, b + have, cap - have, from);
        size_t whole;
        long bad;
        char *last;

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(im->fatal_msg, sizeof(im->fatal_msg), "cannot read %s: %s", im->in.path,
                     strerror(errno));
            rc = WM_EIO;
            break;
        }
        from += r;
        have += (size_t)r;
        last = memrchr(b, '\n', have);
        whole = r == 0 ? have : last != NULL ? (size_t)(last - b) + 1 : 0;
        if ((bad = first_bad_line(b, whole)) >= 0) {
            rc = utf8_refused(im, lines + bad, 0);
            break;
        }
        if (r == 0)
            break;
        for (const char *q = b; (q = memchr(q, '\n', (size_t)(b + whole - q))) != NULL; q++)
            lines++;
        memmove(b, b + whole, have - whole);
        have -= whole;
        if (have == cap) {
            char *n = realloc(b, cap * 2);

            if (n == NULL) {
                rc = WM_ENOMEM;
                break;
            }
            b = n;
            cap *= 2;
        }
    }
    free(b);
    return rc;
}

/* Open the converter from enc (the name as iconv knows it) to UTF-8 and move what was
 * read so far (after skip bytes) to be converted. Returns WM_OK, WM_ECONFIG, WM_ENOMEM. */
static int input_convert_from(struct imp *im, const char *enc, size_t skip)
{
    struct imp_input *in = &im->in;
    size_t n = in->len - in->start - skip;

    in->cd = iconv_open("UTF-8", enc);
    if (in->cd == NO_ICONV) {
        snprintf(im->fatal_msg, sizeof(im->fatal_msg),
                 "unknown encoding '%.64s' (cp1252, latin1, utf-16, ...; 'iconv -l' lists "
                 "them all)",
                 enc);
        return WM_ECONFIG;
    }
    in->enc = enc;
    in->raw = malloc(IMP_CHUNK + n + 16);
    if (in->raw == NULL)
        return WM_ENOMEM;
    memcpy(in->raw, in->buf + in->start + skip, n);
    in->rawlen = n;
    in->start = in->len = 0;
    return input_convert(im);
}

/* 1 when name says UTF-8 (no conversion needed). */
static int is_utf8_name(const char *name)
{
    return strcasecmp(name, "utf-8") == 0 || strcasecmp(name, "utf8") == 0;
}

int imp_input_begin(struct imp *im, const char *encoding)
{
    struct imp_input *in = &im->in;
    const unsigned char *p;
    struct stat st;
    int rc;

    in->cd = NO_ICONV;
    in->enc = "UTF-8";
    while (!in->eof && in->len - in->start < 4)
        if ((rc = imp_input_fill(im)) != WM_OK)
            return rc;
    p = (const unsigned char *)in->buf + in->start;
    if (in->len - in->start >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
        in->had_bom = 1;
        in->start += 3;
    } else if (in->len - in->start >= 2 &&
               ((p[0] == 0xFF && p[1] == 0xFE) || (p[0] == 0xFE && p[1] == 0xFF))) {
        /* Excel's "Unicode text": UTF-16 with its byte-order mark */
        in->had_bom = 1;
        return input_convert_from(im, p[0] == 0xFF ? "UTF-16LE" : "UTF-16BE", 2);
    } else if (encoding != NULL && !is_utf8_name(encoding)) {
        return input_convert_from(im, encoding, 0);
    }
    if (fstat(in->fd, &st) == 0 && S_ISREG(st.st_mode))
        return input_prescan(im, (off_t)(in->raw_read - (in->len - in->start)));
    in->check_utf8 = 1;
    return WM_OK;
}

int imp_input_sniff(struct imp *im, const char *format)
{
    struct imp_input *in = &im->in;
    const char *dot = strrchr(in->path, '.');

    if (format != NULL) {
        in->ndjson = strcmp(format, "ndjson") == 0;
        return WM_OK;
    }
    if (dot != NULL &&
        (strcmp(dot, ".ndjson") == 0 || strcmp(dot, ".jsonl") == 0 || strcmp(dot, ".json") == 0)) {
        in->ndjson = 1;
        return WM_OK;
    }
    for (size_t i = in->start; i < in->len; i++) {
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

double imp_input_fraction(const struct imp *im, uint64_t off)
{
    const struct imp_input *in = &im->in;
    double produced = (double)(in->fed_end + (in->len - in->start));

    if (in->bytes_total == 0)
        return -1;
    if (in->cd != NO_ICONV && produced > 0)
        return (double)off * ((double)in->raw_read / produced) / (double)in->bytes_total;
    return (double)off / (double)in->bytes_total;
}

void imp_input_free(struct imp *im)
{
    if (im->in.cd != NO_ICONV && im->in.cd != (iconv_t)0)
        iconv_close(im->in.cd);
    im->in.cd = NO_ICONV;
    free(im->in.raw);
    free(im->in.buf);
}

/* Hand one line (n bytes, its LF included when has_lf) to the format's reader. */
static int input_feed(struct imp *im, const char *p, size_t n, int has_lf)
{
    int rc;

    if (im->in.check_utf8 && first_bad_line(p, n) >= 0)
        return utf8_refused(im, im->in.lineno, 1);
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

/* 1 while producing should go on: no error, room in the window and the send buffer,
 * and, while opening, no row yet. */
static int produce_more(const struct imp *im)
{
    if (im->fatal || imp_window_unanswered(&im->win) >= im->win.max)
        return 0;
    if (im->opening)
        return !im->csv.header_done && im->win.tail == 0;
    return !im->connected || cli_conn_pending(&im->conn) < IMP_SEND_HIGH;
}

int imp_produce(struct imp *im)
{
    struct imp_input *in = &im->in;

    while (produce_more(im)) {
        /* no buffer before the first read: NULL + 0 is undefined behaviour (fuzz finding) */
        char *p = in->buf != NULL ? in->buf + in->start : NULL;
        size_t avail = in->len - in->start;
        char *nl = avail > 0 ? memchr(p, '\n', avail) : NULL;
        size_t n;
        int rc = WM_OK;

        if (nl == NULL && !in->eof) {
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
        if (rc != WM_OK) {
            if (!im->fatal) {
                im->fatal = rc;
                if (rc == WM_ENOMEM)
                    snprintf(im->fatal_msg, sizeof(im->fatal_msg), "out of memory");
            }
            return rc;
        }
    }
    return im->fatal ? im->fatal : WM_OK;
}
