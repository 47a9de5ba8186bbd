/*
 * format: the response lines of PROTOCOL.md sections 1-2 (ERR, OK/DUP, ROW pairs, END)
 * appended to a wm_buf. Values in pairs are escaped so one response stays one line.
 */
#include <string.h>
#include <time.h>

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
    /* the answer to every event: appended piece by piece, without printf */
    wm_buf_append(out, dup ? "DUP " : "OK ", dup ? 4 : 3);
    wm_buf_put_u64(out, seq);
    return wm_buf_append(out, "\n", 1);
}

int proto_fmt_replaced(struct wm_buf *out, uint64_t seq, uint64_t old)
{
    return wm_buf_printf(out, "OK %llu replaced=%llu\n", (unsigned long long)seq,
                         (unsigned long long)old);
}

/* " key=<seq>" for a seq, " key=<none>" for 0. */
static void fmt_seq_or(struct wm_buf *out, const char *key, uint64_t seq, const char *none)
{
    if (seq != 0)
        proto_fmt_pair_u64(out, key, seq);
    else
        proto_fmt_pair(out, key, none);
}

/* 1 when the type has an input field of that name (outflow's reason). */
static int type_has_field(const struct proto_type_desc *td, const char *name)
{
    for (size_t i = 0; i < td->nenums; i++)
        if (strcmp(td->enums[i]->name, name) == 0)
            return 1;
    return 0;
}

int proto_fmt_version(struct wm_buf *out, const struct wm_event *ev, uint64_t retracted_by,
                      const char *reason)
{
    const struct proto_type_desc *td = proto_type_desc(ev->type);
    char date[11], when[32];
    time_t t = (time_t)ev->recv_time;
    struct tm tm;

    if (td == NULL)
        return WM_EINTERNAL;
    for (size_t i = 0; i < td->nenums; i++)
        if (ev->enums[i] >= td->enums[i]->nvalues)
            return WM_EINTERNAL;
    if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        memcpy(when, "-", 2);
    proto_date_format(ev->date, date);
    wm_buf_puts(out, "ROW");
    proto_fmt_pair_u64(out, "seq", ev->seq);
    proto_fmt_pair(out, "type", td->name);
    proto_fmt_pair(out, "principal", ev->principal);
    proto_fmt_pair(out, "received", when);
    proto_fmt_pair(out, "id", ev->id);
    /* never ev->person: no answer holds a person value */
    proto_fmt_pair(out, "gemeente", ev->gemeente);
    proto_fmt_pair(out, "date", date);
    if (ev->project[0] != '\0')
        proto_fmt_pair(out, "project", ev->project);
    for (size_t i = 0; i < td->nenums; i++)
        if (!td->enums[i]->derived)
            proto_fmt_pair(out, td->enums[i]->name, td->enums[i]->values[ev->enums[i]]);
    if (ev->months >= 0)
        proto_fmt_pair_u64(out, "months", (uint64_t)ev->months);
    if (ev->hours >= 0)
        proto_fmt_pair_u64(out, "hours", (uint64_t)ev->hours);
    if (ev->employer[0] != '\0')
        proto_fmt_pair(out, "employer", ev->employer);
    if (ev->by[0] != '\0')
        proto_fmt_pair(out, "by", ev->by);
    fmt_seq_or(out, "replaces", ev->replaces, "-");
    fmt_seq_or(out, "retracted", retracted_by, "no");
    if (retracted_by != 0)
        proto_fmt_pair(out, type_has_field(td, "reason") ? "retracted.reason" : "reason",
                       reason != NULL && reason[0] != '\0' ? reason : "-");
    wm_buf_puts(out, "\n");
    return out->oom ? WM_ENOMEM : WM_OK;
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
    wm_buf_append(out, " ", 1);
    wm_buf_puts(out, key);
    wm_buf_append(out, "=", 1);
    return wm_buf_put_u64(out, n);
}

int proto_fmt_end(struct wm_buf *out, size_t n)
{
    return wm_buf_printf(out, "END %zu\n", n);
}
