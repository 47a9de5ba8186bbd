/*
 * note: the NOTE and NOTES requests (PROTOCOL.md section 6), the words beside the
 * figures. A note's text passes the BSN rule in the parser, as every other value does
 * (personal.c). No I/O.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto.h"

static const char *const lights[] = {"none", "green", "orange", "red"};

const char *proto_light_name(int light)
{
    return light >= 0 && light < 4 ? lights[light] : lights[0];
}

int proto_period_parse(const char *s, size_t len, int32_t *period)
{
    uint64_t year;

    if (len != 7 || s[4] != '-' || s[5] != 'H' || (s[6] != '1' && s[6] != '2') ||
        proto_parse_uint(s, 4, 9999, &year) != WM_OK || year < 2000)
        return WM_EINVALID;
    *period = (int32_t)year * 2 + (s[6] - '1');
    return WM_OK;
}

void proto_period_format(int32_t period, char out[8])
{
    int year = period / 2, half = period % 2 + 1;

    out[0] = (char)('0' + year / 1000 % 10);
    out[1] = (char)('0' + year / 100 % 10);
    out[2] = (char)('0' + year / 10 % 10);
    out[3] = (char)('0' + year % 10);
    out[4] = '-';
    out[5] = 'H';
    out[6] = (char)('0' + half);
    out[7] = '\0';
}

static const struct proto_arg *arg(const struct proto_request *req, const char *key)
{
    for (size_t i = 0; i < req->nargs; i++)
        if (req->args[i].key != NULL && strcmp(req->args[i].key, key) == 0)
            return &req->args[i];
    return NULL;
}

/* Every argument is key=value with a key from allowed. */
static int only_keys(const struct proto_request *req, const char *verb, const char *const *allowed,
                     size_t n, char *err, size_t errlen)
{
    for (size_t i = 0; i < req->nargs; i++) {
        const struct proto_arg *a = &req->args[i];
        size_t j = 0;
        if (a->key == NULL) {
            char q[64];
            proto_quote(q, sizeof(q), a->val, a->val_len);
            proto_errf(err, errlen, "unexpected argument '%s'", q);
            return WM_EINVALID;
        }
        while (j < n && strcmp(allowed[j], a->key) != 0)
            j++;
        if (j == n) {
            proto_errf(err, errlen, "unknown field %s for %s", a->key, verb);
            return WM_EINVALID;
        }
    }
    return WM_OK;
}

static int get_period(const struct proto_request *req, int32_t *period, char *err, size_t errlen)
{
    const struct proto_arg *a = arg(req, "period");
    char q[64];

    if (proto_period_parse(a->val, a->val_len, period) != WM_OK) {
        proto_quote(q, sizeof(q), a->val, a->val_len);
        proto_errf(err, errlen, "period: want YYYY-H1 or YYYY-H2 (from 2000), got '%s'", q);
        return WM_EINVALID;
    }
    return WM_OK;
}

/* An optional project or category name into out ("" when absent). */
static int get_name(const struct proto_request *req, const char *key, char out[WM_NAME_MAX + 1],
                    char *err, size_t errlen)
{
    const struct proto_arg *a = arg(req, key);
    char q[80];

    out[0] = '\0';
    if (a == NULL)
        return WM_OK;
    if (!proto_name_valid(a->val, a->val_len)) {
        proto_quote(q, sizeof(q), a->val, a->val_len);
        proto_errf(err, errlen, "%s: must be 1-64 characters of [a-z0-9-], got '%s'", key, q);
        return WM_EINVALID;
    }
    memcpy(out, a->val, a->val_len + 1);
    return WM_OK;
}

int proto_note_build(const struct proto_request *req, struct wm_note *n, char *err, size_t errlen)
{
    static const char *const keys[] = {"period", "project", "category", "light", "text"};
    const struct proto_arg *a;
    size_t chars = 0;
    int rc;

    memset(n, 0, sizeof *n);
    if ((rc = only_keys(req, "NOTE", keys, 5, err, errlen)) != WM_OK)
        return rc;
    if (arg(req, "period") == NULL) {
        proto_errf(err, errlen, "missing field period");
        return WM_EINVALID;
    }
    if ((rc = get_period(req, &n->period, err, errlen)) != WM_OK ||
        (rc = get_name(req, "project", n->project, err, errlen)) != WM_OK ||
        (rc = get_name(req, "category", n->category, err, errlen)) != WM_OK)
        return rc;
    if (n->project[0] && n->category[0]) {
        proto_errf(err, errlen, "category: a note is for a project or a category, not both");
        return WM_EINVALID;
    }
    if ((a = arg(req, "light")) != NULL) {
        rc = proto_choice("light", lights, 4, a->val, err, errlen);
        if (rc < 0)
            return rc;
        n->light = (uint8_t)rc;
        n->light_given = 1;
    }
    if ((a = arg(req, "text")) == NULL) {
        proto_errf(err, errlen, "missing field text");
        return WM_EINVALID;
    }
    for (size_t i = 0; i < a->val_len; i++)
        chars += ((unsigned char)a->val[i] & 0xC0) != 0x80;
    if (chars > WM_NOTE_MAX) {
        proto_errf(err, errlen, "text: %zu characters, at most %d", chars, WM_NOTE_MAX);
        return WM_EINVALID;
    }
    n->text = malloc(a->val_len + 1);
    if (n->text == NULL) {
        proto_errf(err, errlen, "out of memory");
        return WM_ENOMEM;
    }
    memcpy(n->text, a->val, a->val_len + 1);
    n->text_len = a->val_len;
    return WM_OK;
}

void proto_note_free(struct wm_note *n)
{
    if (n == NULL)
        return;
    free(n->text);
    n->text = NULL;
    n->text_len = 0;
}

int proto_notes_build(const struct proto_request *req, struct wm_notes_query *q, char *err,
                      size_t errlen)
{
    static const char *const keys[] = {"period", "project", "category"};
    int rc;

    memset(q, 0, sizeof *q);
    q->period = -1;
    if ((rc = only_keys(req, "NOTES", keys, 3, err, errlen)) != WM_OK)
        return rc;
    if (arg(req, "period") != NULL && (rc = get_period(req, &q->period, err, errlen)) != WM_OK)
        return rc;
    if ((rc = get_name(req, "project", q->project, err, errlen)) != WM_OK)
        return rc;
    return get_name(req, "category", q->category, err, errlen);
}

void proto_utc_format(int64_t t, char out[24])
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL || strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 24, "-");
}

int proto_fmt_note(struct wm_buf *out, const struct wm_note *n)
{
    char period[8], at[24];

    proto_period_format(n->period, period);
    proto_utc_format(n->time, at);
    wm_buf_puts(out, "ROW");
    proto_fmt_pair(out, "period", period);
    proto_fmt_pair(out, "project", n->project[0] ? n->project : "-");
    proto_fmt_pair(out, "category", n->category[0] ? n->category : "-");
    proto_fmt_pair(out, "light", proto_light_name(n->light));
    proto_fmt_pair_u64(out, "version", n->version);
    proto_fmt_pair(out, "principal", n->principal);
    proto_fmt_pair(out, "at", at);
    wm_buf_puts(out, " text=");
    wm_buf_append_escaped(out, n->text ? n->text : "", n->text_len);
    wm_buf_puts(out, "\n");
    return out->oom ? WM_ENOMEM : WM_OK;
}
