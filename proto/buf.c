/*
 * buf: the growable output buffer (struct wm_buf) used for responses. An allocation
 * failure is sticky (oom) so a caller may append many pieces and check once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

void wm_buf_init(struct wm_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->oom = 0;
}

void wm_buf_free(struct wm_buf *b)
{
    free(b->data);
    wm_buf_init(b);
}

void wm_buf_reset(struct wm_buf *b)
{
    b->len = 0;
    b->oom = 0;
}

/* Make room for extra more bytes plus a NUL, growing geometrically. */
static int buf_reserve(struct wm_buf *b, size_t extra)
{
    size_t need, ncap;
    char *p;

    if (b->oom)
        return WM_ENOMEM;
    if (extra > SIZE_MAX - b->len - 1)
        goto fail;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return WM_OK;
    ncap = b->cap ? b->cap : 64;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) {
            ncap = need;
            break;
        }
        ncap *= 2;
    }
    p = realloc(b->data, ncap);
    if (p == NULL)
        goto fail;
    b->data = p;
    b->cap = ncap;
    return WM_OK;
fail:
    b->oom = 1;
    return WM_ENOMEM;
}

int wm_buf_append(struct wm_buf *b, const void *p, size_t n)
{
    /* room for n and the NUL already, as for nearly every append once the buffer has
     * grown: no call (responses and import's request lines are many small appends) */
    if ((b->oom || b->cap - b->len <= n) && buf_reserve(b, n) != WM_OK)
        return WM_ENOMEM;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return WM_OK;
}

int wm_buf_puts(struct wm_buf *b, const char *s)
{
    return wm_buf_append(b, s, strlen(s));
}

int wm_buf_put_u64(struct wm_buf *b, uint64_t n)
{
    char tmp[20]; /* UINT64_MAX has 20 digits */
    size_t i = sizeof(tmp);

    /* by hand rather than printf: every acknowledgement and row carries such a number,
     * and vsnprintf's format parsing costs several times the digits */
    do {
        tmp[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n != 0);
    return wm_buf_append(b, tmp + i, sizeof(tmp) - i);
}

int wm_buf_vprintf(struct wm_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    if (b->oom)
        return WM_ENOMEM;
    /* First try in the space we have; most responses fit. */
    va_copy(ap2, ap);
    n = vsnprintf(b->cap > b->len ? b->data + b->len : NULL, b->cap - b->len, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return WM_EINTERNAL;
    if ((size_t)n >= b->cap - b->len) {
        if (buf_reserve(b, (size_t)n) != WM_OK)
            return WM_ENOMEM;
        va_copy(ap2, ap);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
        va_end(ap2);
    }
    b->len += (size_t)n;
    return WM_OK;
}

int wm_buf_printf(struct wm_buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = wm_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int wm_buf_append_escaped(struct wm_buf *b, const char *s, size_t n)
{
    size_t need;

    /* The escaped form is at most three times as long; reserve once, escape once. */
    if (n > (SIZE_MAX - 1) / 3) {
        b->oom = 1;
        return WM_ENOMEM;
    }
    if (buf_reserve(b, n * 3) != WM_OK)
        return WM_ENOMEM;
    need = proto_escape(b->data + b->len, b->cap - b->len, s, n);
    b->len += need;
    return WM_OK;
}

const char *wm_buf_cstr(struct wm_buf *b)
{
    if (b->oom)
        return NULL;
    if (b->data == NULL)
        return "";
    /* buf_reserve always leaves room for the NUL. */
    b->data[b->len] = '\0';
    return b->data;
}
