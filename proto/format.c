/*
 * format: the response lines of PROTOCOL.md sections 1-2 (ERR, OK/DUP, ROW pairs, END)
 * appended to a wm_buf. Values in pairs are escaped so one response stays one line.
 */
#include <string.h>

#include "proto.h"

int proto_fmt_error(struct wm_buf *out, int err, const char *msg)
{
    size_t start, i;

    if (msg == NULL || msg[0] == '\0')
        msg = wm_strerror(err);
    wm_buf_puts(out, "ERR ");
    wm_buf_puts(out, wm_err_code(err));
    wm_buf_puts(out, " ");
    start = out->len;
    wm_buf_puts(out, msg);
    if (out->oom)
        return WM_ENOMEM;
    /* A message may quote anything; a control character must never split the line. */
    for (i = start; i < out->len; i++) {
        unsigned char c = (unsigned char)out->data[i];
        if (c < 0x20 || c == 0x7f)
            out->data[i] = ' ';
    }
    return wm_buf_append(out, "\n", 1);
}

int proto_fmt_ack(struct wm_buf *out, int dup, uint64_t seq)
{
    return wm_buf_printf(out, "%s %llu\n", dup ? "DUP" : "OK", (unsigned long long)seq);
}

int proto_fmt_pair(struct wm_buf *out, const char *key, const char *val)
{
    wm_buf_append(out, " ", 1);
    wm_buf_puts(out, key);
    wm_buf_append(out, "=", 1);
    if (val != NULL)
        wm_buf_append_escaped(out, val, strlen(val));
    return out->oom ? WM_ENOMEM : WM_OK;
}

int proto_fmt_pair_u64(struct wm_buf *out, const char *key, uint64_t n)
{
    return wm_buf_printf(out, " %s=%llu", key, (unsigned long long)n);
}

int proto_fmt_end(struct wm_buf *out, size_t n)
{
    return wm_buf_printf(out, "END %zu\n", n);
}
