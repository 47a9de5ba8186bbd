/*
 * audit: the audit trail's lines, built for ingest speed: a prefix formatted once a
 * second, values proto has validated to plain charsets appended as they are, numbers by
 * hand, one line per batch and principal for accepted events, one write(2) per batch.
 */
#include "audit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Rejections are counted for this many (principal, operation, error) kinds; more kinds
 * are counted together ("rejected.other"). */
#define AUDIT_REJECT_KINDS 32
/* Principals summarised at once in a batch; a batch with more writes the lines so far
 * and starts again, so the memory stays bounded. */
#define AUDIT_GROUPS 64
/* Seq ranges in one summary line: a principal with more gets another line, so a line
 * stays well below what a log reader takes (journald: 48 KiB). */
#define AUDIT_RANGES_MAX 1000

struct audit_reject {
    char principal[WM_NAME_MAX + 1];
    const char *op;
    int code;
    uint64_t n;
};

/* The accepted events of one principal in the batch being formatted. */
struct audit_group {
    const char *principal; /* borrowed from the batch's items */
    uint64_t ok, dup;
    uint64_t first, last; /* the open seq range; first == 0: none yet */
    size_t nranges;       /* ranges in `ranges` plus the open one */
    struct wm_buf ranges; /* the closed ranges, "a..b," or "a," each */
};

struct audit {
    int fd;
    enum audit_detail detail;
    struct wm_buf out; /* the pending lines */
    /* "info audit" on stderr, "<UTC time> audit" in a file; remade when the second changes */
    char prefix[48];
    size_t prefix_len;
    time_t prefix_time;
    uint64_t next_seq; /* the seq the store gives next */
    struct audit_group groups[AUDIT_GROUPS];
    size_t ngroups;
    struct audit_reject rejects[AUDIT_REJECT_KINDS];
    size_t nrejects;
    uint64_t rejects_other;
    time_t rejects_since;
};

int audit_detail_parse(const char *s)
{
    if (strcmp(s, "batch") == 0)
        return AUDIT_DETAIL_BATCH;
    if (strcmp(s, "event") == 0)
        return AUDIT_DETAIL_EVENT;
    return -1;
}

const char *audit_detail_name(enum audit_detail d)
{
    return d == AUDIT_DETAIL_EVENT ? "event" : "batch";
}

int audit_new(int fd, enum audit_detail detail, uint64_t last_seq, struct audit **out)
{
    struct audit *a = calloc(1, sizeof *a);

    *out = NULL;
    if (a == NULL)
        return WM_ENOMEM;
    a->fd = fd;
    a->detail = detail;
    a->next_seq = last_seq + 1;
    a->prefix_time = (time_t)-1;
    wm_buf_init(&a->out);
    for (size_t i = 0; i < AUDIT_GROUPS; i++)
        wm_buf_init(&a->groups[i].ranges);
    *out = a;
    return WM_OK;
}

void audit_free(struct audit *a)
{
    if (a == NULL)
        return;
    audit_rejects_flush(a, time(NULL));
    wm_buf_free(&a->out);
    for (size_t i = 0; i < AUDIT_GROUPS; i++)
        wm_buf_free(&a->groups[i].ranges);
    free(a);
}

/* ---- formatting --------------------------------------------------------------------- */

static void put(struct wm_buf *b, const char *s, size_t n)
{
    wm_buf_append(b, s, n);
}

#define PUT_LIT(b, lit) put((b), (lit), sizeof(lit) - 1)

/* v in decimal, without printf. */
static void put_u64(struct wm_buf *b, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof tmp;

    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    put(b, tmp + i, sizeof tmp - i);
}

/* A value: ids, principals, gemeenten and registry names hold only characters the
 * protocol needs no escape for (proto validated them), so they go in as they are;
 * anything else is escaped as the protocol escapes it. */
static void put_value(struct wm_buf *b, const char *s)
{
    size_t n = 0;
    int plain = 1;

    for (; s[n] != '\0'; n++) {
        unsigned char c = (unsigned char)s[n];
        if (c <= 0x20 || c == '%' || c == 0x7f)
            plain = 0;
    }
    if (plain)
        put(b, s, n);
    else
        wm_buf_append_escaped(b, s, n);
}

/* " key=value" */
static void put_pair(struct wm_buf *b, const char *key, size_t keylen, const char *val)
{
    put(b, key, keylen);
    put_value(b, val);
}

#define PUT_PAIR(b, lit, val) put_pair((b), (lit), sizeof(lit) - 1, (val))

static void put_pair_u64(struct wm_buf *b, const char *key, size_t keylen, uint64_t v)
{
    put(b, key, keylen);
    put_u64(b, v);
}

#define PUT_PAIR_U64(b, lit, v) put_pair_u64((b), (lit), sizeof(lit) - 1, (v))

/* The line's start; the time in it is formatted once a second. */
static void put_prefix(struct audit *a, time_t now)
{
    if (now != a->prefix_time) {
        struct tm tm;
        size_t n = 0;

        a->prefix_time = now;
        if (a->fd == STDERR_FILENO)
            n = (size_t)snprintf(a->prefix, sizeof a->prefix, "info audit");
        else if (gmtime_r(&now, &tm) != NULL)
            n = strftime(a->prefix, sizeof a->prefix, "%Y-%m-%dT%H:%M:%SZ audit", &tm);
        if (n == 0)
            n = (size_t)snprintf(a->prefix, sizeof a->prefix, "- audit");
        a->prefix_len = n;
    }
    put(&a->out, a->prefix, a->prefix_len);
}

/* The operation and principal of item i. */
static const char *item_op(const struct store_item *it, char (*principals)[WM_NAME_MAX + 1],
                           size_t i, const char **principal)
{
    *principal = "";
    switch (it->op) {
    case STORE_OP_EVENT:
        *principal = it->u.event.principal;
        return "event";
    case STORE_OP_REPLACE:
        *principal = it->u.event.principal;
        return "replace";
    case STORE_OP_RETRACT:
        *principal = it->u.retract.principal;
        return "retract";
    case STORE_OP_PROJECT:
        *principal = principals != NULL ? principals[i] : "";
        return "project";
    case STORE_OP_PROGRAM:
        *principal = principals != NULL ? principals[i] : "";
        return "program";
    case STORE_OP_NOTE:
        *principal = it->u.note.principal;
        return "note";
    }
    return "?";
}

/* One line for one item: who changed what, never a person value. retraction_seq: the
 * seq of the retraction a REPLACE wrote before its new version (0: none). */
static void put_item(struct audit *a, const struct store_item *it, const char *principal,
                     const char *op, uint64_t retraction_seq, time_t now)
{
    struct wm_buf *b = &a->out;

    put_prefix(a, now);
    PUT_PAIR(b, " principal=", principal);
    PUT_PAIR(b, " op=", op);
    if (it->op == STORE_OP_EVENT || it->op == STORE_OP_REPLACE) {
        const struct proto_type_desc *td = proto_type_desc(it->u.event.type);
        PUT_PAIR(b, " type=", td != NULL ? td->name : "?");
        PUT_PAIR(b, " id=", it->u.event.id);
        PUT_PAIR(b, " gemeente=", it->u.event.gemeente);
    } else if (it->op == STORE_OP_RETRACT) {
        PUT_PAIR(b, " id=", it->u.retract.id);
        if (it->u.retract.by_seq)
            PUT_PAIR_U64(b, " ref.seq=", it->u.retract.ref_seq);
        else
            PUT_PAIR(b, " ref=", it->u.retract.ref);
    } else if (it->op == STORE_OP_PROJECT) {
        PUT_PAIR(b, " project=", it->u.project.name);
    } else if (it->op == STORE_OP_NOTE) {
        char period[8];
        proto_period_format(it->u.note.period, period);
        PUT_PAIR(b, " period=", period);
        if (it->u.note.project[0])
            PUT_PAIR(b, " project=", it->u.note.project);
        if (it->u.note.category[0])
            PUT_PAIR(b, " category=", it->u.note.category);
        if (it->result == WM_OK)
            PUT_PAIR_U64(b, " version=", it->seq);
    }
    if (it->result == WM_OK &&
        (it->op == STORE_OP_EVENT || it->op == STORE_OP_RETRACT || it->op == STORE_OP_REPLACE))
        PUT_PAIR_U64(b, " seq=", it->seq);
    if (it->result == WM_OK && it->replaced != 0)
        PUT_PAIR_U64(b, " replaced=", it->replaced);
    if (retraction_seq != 0)
        PUT_PAIR_U64(b, " retraction.seq=", retraction_seq);
    if (it->result != WM_OK) {
        PUT_PAIR(b, " result=", wm_err_code(it->result));
        PUT_LIT(b, "\n");
    } else if (it->dup) {
        PUT_LIT(b, " result=dup\n");
    } else {
        PUT_LIT(b, " result=ok\n");
    }
}

/* ---- the summary of accepted events --------------------------------------------- */

static void put_range(struct wm_buf *b, uint64_t first, uint64_t last)
{
    put_u64(b, first);
    if (last != first) {
        PUT_LIT(b, "..");
        put_u64(b, last);
    }
}

/* The group's line; the group is empty afterwards (its principal kept). */
static void group_line(struct audit *a, struct audit_group *g, time_t now)
{
    struct wm_buf *b = &a->out;

    if (g->ok + g->dup == 0)
        return;
    put_prefix(a, now);
    PUT_PAIR(b, " principal=", g->principal);
    PUT_PAIR_U64(b, " op=event n=", g->ok + g->dup);
    PUT_PAIR_U64(b, " ok=", g->ok);
    PUT_PAIR_U64(b, " dup=", g->dup);
    PUT_LIT(b, " seq=");
    if (g->first == 0) {
        PUT_LIT(b, "-\n");
    } else {
        put(b, g->ranges.data, g->ranges.len);
        put_range(b, g->first, g->last);
        PUT_LIT(b, "\n");
    }
    g->ok = g->dup = 0;
    g->first = g->last = 0;
    g->nranges = 0;
    wm_buf_reset(&g->ranges);
}

static void groups_flush(struct audit *a, time_t now)
{
    for (size_t k = 0; k < a->ngroups; k++)
        group_line(a, &a->groups[k], now);
    a->ngroups = 0;
}

/* The group of principal, made when new; *last caches the previous item's group, since
 * a batch holds runs of one connection's items. */
static struct audit_group *group_of(struct audit *a, const char *principal, time_t now,
                                    struct audit_group **last)
{
    struct audit_group *g;

    if (*last != NULL && strcmp((*last)->principal, principal) == 0)
        return *last;
    for (size_t k = 0; k < a->ngroups; k++)
        if (strcmp(a->groups[k].principal, principal) == 0)
            return *last = &a->groups[k];
    if (a->ngroups == AUDIT_GROUPS)
        groups_flush(a, now);
    g = &a->groups[a->ngroups++];
    g->principal = principal;
    g->ok = g->dup = 0;
    g->first = g->last = 0;
    g->nranges = 0;
    wm_buf_reset(&g->ranges);
    return *last = g;
}

/* Count an accepted event in its principal's group. */
static void group_add(struct audit *a, struct audit_group *g, const struct store_item *it,
                      time_t now)
{
    if (it->dup) {
        g->dup++;
        return;
    }
    g->ok++;
    if (g->first != 0 && it->seq == g->last + 1) {
        g->last = it->seq;
        return;
    }
    if (g->first != 0) {
        if (g->nranges == AUDIT_RANGES_MAX) {
            g->ok--; /* this one starts the next line */
            group_line(a, g, now);
            g->ok = 1;
        } else {
            put_range(&g->ranges, g->first, g->last);
            PUT_LIT(&g->ranges, ",");
        }
    }
    g->first = g->last = it->seq;
    g->nranges++;
}

/* ---- rejections ------------------------------------------------------------------ */

static void reject_add(struct audit *a, const char *principal, const char *op, int code, time_t now)
{
    size_t k;

    if (a->nrejects == 0 && a->rejects_other == 0)
        a->rejects_since = now;
    for (k = 0; k < a->nrejects; k++) {
        struct audit_reject *r = &a->rejects[k];
        if (r->code == code && r->op == op && strcmp(r->principal, principal) == 0) {
            r->n++;
            return;
        }
    }
    if (a->nrejects == AUDIT_REJECT_KINDS) {
        a->rejects_other++;
        return;
    }
    snprintf(a->rejects[k].principal, sizeof a->rejects[k].principal, "%s", principal);
    a->rejects[k].op = op;
    a->rejects[k].code = code;
    a->rejects[k].n = 1;
    a->nrejects++;
}

int audit_rejects_waiting(const struct audit *a)
{
    return a->nrejects > 0 || a->rejects_other > 0;
}

int audit_rejects_due(const struct audit *a, time_t now, time_t every_s)
{
    return audit_rejects_waiting(a) && now - a->rejects_since >= every_s;
}

void audit_rejects_flush(struct audit *a, time_t now)
{
    struct wm_buf *b = &a->out;

    if (!audit_rejects_waiting(a))
        return;
    wm_buf_reset(b);
    for (size_t k = 0; k < a->nrejects; k++) {
        put_prefix(a, now);
        PUT_PAIR(b, " principal=", a->rejects[k].principal);
        PUT_PAIR(b, " op=", a->rejects[k].op);
        PUT_PAIR(b, " result=", wm_err_code(a->rejects[k].code));
        PUT_PAIR_U64(b, " rejected=", a->rejects[k].n);
        PUT_LIT(b, "\n");
    }
    if (a->rejects_other > 0) {
        put_prefix(a, now);
        PUT_PAIR_U64(b, " rejected.other=", a->rejects_other);
        PUT_LIT(b, "\n");
    }
    audit_write_pending(a);
    a->nrejects = 0;
    a->rejects_other = 0;
}

/* ---- a batch ----------------------------------------------------------------------- */

void audit_batch(struct audit *a, const struct store_item *items,
                 char (*principals)[WM_NAME_MAX + 1], size_t n, int rc, time_t now)
{
    struct audit_group *last = NULL;

    wm_buf_reset(&a->out);
    a->ngroups = 0;
    if (a->fd < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        const struct store_item *it = &items[i];
        const char *principal, *op = item_op(it, principals, i, &principal);
        uint64_t retraction_seq = 0;
        int seqd;

        if (rc != WM_OK) {
            /* nothing was stored: a line per item with its error, as the client heard */
            put_item(a, it, principal, op, 0, now);
            continue;
        }
        if (it->result != WM_OK) {
            reject_add(a, principal, op, it->result, now);
            continue;
        }
        /* the seqs this item took: a REPLACE of a live version took two, its retraction
         * of the old version first */
        seqd = !it->dup && (it->op == STORE_OP_EVENT || it->op == STORE_OP_RETRACT ||
                            it->op == STORE_OP_REPLACE);
        if (seqd) {
            if (it->op == STORE_OP_REPLACE && it->replaced != 0 && it->seq == a->next_seq + 1)
                retraction_seq = a->next_seq;
            a->next_seq = it->seq + 1;
        }
        if (it->op == STORE_OP_EVENT && a->detail == AUDIT_DETAIL_BATCH)
            group_add(a, group_of(a, principal, now, &last), it, now);
        else
            put_item(a, it, principal, op, retraction_seq, now);
    }
    groups_flush(a, now);
}

void audit_write_pending(struct audit *a)
{
    const char *p = a->out.data;
    size_t len = a->out.len;

    if (a->fd < 0 || a->out.oom) {
        wm_buf_reset(&a->out);
        return;
    }
    while (len > 0) {
        ssize_t w = write(a->fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            log_msg(LOG_ERROR, "cannot write the audit log: %s", strerror(errno));
            break;
        }
        p += w;
        len -= (size_t)w;
    }
    wm_buf_reset(&a->out);
}
