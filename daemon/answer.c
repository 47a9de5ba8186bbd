/*
 * answer: the line protocol's answers of many rows (COUNT, PROGRESS, PROJECTS, NOTES),
 * written to their connection a slice at a time, so that an answer's text counts
 * against the connection's output while it is produced and no answer holds the loop
 * for long (docs/SECURITY.md #1).
 *
 * An answer whose rows fit in one slice goes out at once, as any reply. A larger one
 * keeps its typed result (COUNT's packed, a third of its text) on the connection with
 * a cursor; the connection reads no further requests until the END is out, so replies
 * keep their order. The next slice is written when the output has drained to
 * ANSWER_LOW_WATER (the write callback, by the bufferevent's write watermark), or after
 * the loop has polled once when a slice ended on its time budget rather than its
 * bytes. A client that never reads thus costs the typed result and one slice of text.
 */
#include <stdlib.h>
#include <time.h>

#include <event2/buffer.h>

#include "daemon.h"
#include "log.h"

/* Writes row i of src to out. Returns WM_OK or a formatting error. */
typedef int (*answer_row_fn)(const void *src, size_t i, struct wm_buf *out);

enum answer_kind { ANSWER_COUNT, ANSWER_PROGRESS, ANSWER_PROJECTS, ANSWER_NOTES };

struct answer {
    enum answer_kind kind;
    answer_row_fn row;
    const void *src; /* what row reads: &t or &u.notes */
    size_t next;     /* the next row of src to write */
    size_t nrows;    /* rows in src */
    size_t total;    /* rows of the whole answer, for END */
    struct wm_table t;
    union {
        struct wm_count_packed count; /* the rows not yet written, from row 0 */
        struct wm_progress_result progress;
        struct wm_projects_result projects;
        struct store_note_list notes;
    } u;
};

static uint64_t answer_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int answer_row_table(const void *src, size_t i, struct wm_buf *out)
{
    return proto_table_row(src, i, out);
}

static int answer_row_note(const void *src, size_t i, struct wm_buf *out)
{
    const struct store_note_list *l = src;

    return proto_fmt_note(out, &l->v[i]);
}

static size_t answer_output(const struct conn *c)
{
    return evbuffer_get_length(bufferevent_get_output(c->bev));
}

/*
 * Write one slice of src's rows *next..nrows-1 to c: rows in groups of
 * ANSWER_CHECK_ROWS until the slice has added ANSWER_SLICE_BYTES or run ANSWER_SLICE_US,
 * or no row is left. *next advances past what was written; *wrote says whether
 * anything was. Returns WM_OK or the error of a row that could not be formatted (that
 * group is not written).
 */
static int answer_slice(struct conn *c, answer_row_fn row, const void *src, size_t nrows,
                        size_t *next, int *wrote)
{
    struct wm_buf *out = &c->srv->out;
    uint64_t t0 = answer_now_us();
    size_t added = 0;

    *wrote = 0;
    while (*next < nrows) {
        size_t i = *next, end = nrows - i > ANSWER_CHECK_ROWS ? i + ANSWER_CHECK_ROWS : nrows;
        int rc = WM_OK;

        wm_buf_reset(out);
        for (; i < end && rc == WM_OK; i++)
            rc = row(src, i, out);
        if (rc == WM_OK && out->oom)
            rc = WM_ENOMEM;
        if (rc != WM_OK)
            return rc;
        conn_reply(c, out->data, out->len);
        *wrote = 1;
        *next = end;
        added += out->len;
        if (added >= ANSWER_SLICE_BYTES || answer_now_us() - t0 >= ANSWER_SLICE_US)
            break;
    }
    return WM_OK;
}

/* Append END total. Returns WM_OK or WM_ENOMEM. */
static int answer_end(struct conn *c, size_t total)
{
    struct wm_buf *out = &c->srv->out;

    wm_buf_reset(out);
    proto_fmt_end(out, total);
    if (out->oom)
        return WM_ENOMEM;
    conn_reply(c, out->data, out->len);
    return WM_OK;
}

/* A row could not be formatted. Before anything of the answer went out the client gets
 * ERR; after, the connection is closed, so that a cut answer (no END) is never taken for
 * a whole one. */
static void answer_failed(struct conn *c, int rc, int wrote)
{
    if (!wrote) {
        conn_reply_err(c, WM_EINTERNAL, "cannot format the answer: %s", wm_strerror(rc));
        return;
    }
    log_msg(LOG_ERROR, "connection %llu from %s: cannot format the rest of an answer (%s), closing",
            (unsigned long long)c->id, c->peer, wm_strerror(rc));
    conn_drop(c);
}

/*
 * The first slice of an answer of nrows rows of src. Returns 0 when the answer is done
 * (END, or an error, is out), 1 when rows remain from *next on: the caller keeps what
 * they are read from and hands it to answer_keep.
 */
static int answer_first(struct conn *c, answer_row_fn row, const void *src, size_t nrows,
                        size_t *next)
{
    int wrote, rc;

    *next = 0;
    rc = answer_slice(c, row, src, nrows, next, &wrote);
    if (rc == WM_OK && *next == nrows)
        rc = answer_end(c, nrows);
    if (rc != WM_OK) {
        answer_failed(c, rc, wrote);
        return 0;
    }
    return *next < nrows;
}

/* A kept answer, or NULL when there is no memory for one (the connection is closed:
 * part of the answer is out). */
static struct answer *answer_new(struct conn *c, enum answer_kind kind, size_t total)
{
    struct answer *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        answer_failed(c, WM_ENOMEM, 1);
        return NULL;
    }
    a->kind = kind;
    a->total = total;
    return a;
}

/* c holds a from now on and reads no requests until its END is out. */
static void answer_keep(struct conn *c, struct answer *a)
{
    c->answer = a;
    bufferevent_disable(c->bev, EV_READ);
    bufferevent_setwatermark(c->bev, EV_WRITE, ANSWER_LOW_WATER, 0);
    log_msg(LOG_DEBUG, "connection %llu: answer of %zu rows goes out in slices, %zu rows left",
            (unsigned long long)c->id, a->total, a->nrows - a->next);
    if (answer_output(c) < ANSWER_SLICE_BYTES) {
        /* the slice ended on its time: the rest after the loop has polled */
        struct timeval zero = {0, 0};
        evtimer_add(c->ev_slice, &zero);
    }
}

/* The first slice of table t; NULL when that was all (or an error), else a new answer
 * of kind for the rest from *next on, whose result the caller moves in. */
static struct answer *answer_table_begin(struct conn *c, const struct wm_table *t,
                                         enum answer_kind kind, size_t *next)
{
    if (!answer_first(c, answer_row_table, t, t->nrows, next))
        return NULL;
    return answer_new(c, kind, t->nrows);
}

/* Keep a, whose result is in a->t now, from row next of it on. */
static void answer_table_keep(struct conn *c, struct answer *a, size_t next)
{
    a->row = answer_row_table;
    a->src = &a->t;
    a->nrows = a->t.nrows;
    a->next = next;
    answer_keep(c, a);
}

void answer_count(struct conn *c)
{
    struct server *srv = c->srv;
    struct wm_table t;
    struct answer *a;
    size_t next;

    proto_count_table(&srv->count_res, &t);
    if ((a = answer_table_begin(c, &t, ANSWER_COUNT, &next)) == NULL)
        return;
    /* the rows not yet written, packed: they are the packed table's from 0 */
    if (proto_count_pack(&srv->count_res, next, &a->u.count) != WM_OK) {
        free(a);
        answer_failed(c, WM_ENOMEM, 1);
        return;
    }
    proto_count_packed_table(&a->u.count, &a->t);
    answer_table_keep(c, a, 0);
}

void answer_progress(struct conn *c)
{
    struct server *srv = c->srv;
    struct wm_table t;
    struct answer *a;
    size_t next;

    proto_progress_table(&srv->progress_res, &t);
    if ((a = answer_table_begin(c, &t, ANSWER_PROGRESS, &next)) == NULL)
        return;
    /* the server's result moves to the answer; the server starts a new one */
    a->u.progress = srv->progress_res;
    proto_progress_result_init(&srv->progress_res);
    proto_progress_table(&a->u.progress, &a->t);
    answer_table_keep(c, a, next);
}

void answer_projects(struct conn *c)
{
    struct server *srv = c->srv;
    struct wm_table t;
    struct answer *a;
    size_t next;

    proto_projects_table(&srv->projects_res, &t);
    if ((a = answer_table_begin(c, &t, ANSWER_PROJECTS, &next)) == NULL)
        return;
    a->u.projects = srv->projects_res;
    proto_projects_result_init(&srv->projects_res);
    proto_projects_table(&a->u.projects, &a->t);
    answer_table_keep(c, a, next);
}

void answer_notes(struct conn *c, struct store_note_list *l)
{
    struct answer *a;
    size_t next;

    if (!answer_first(c, answer_row_note, l, l->n, &next))
        return;
    if ((a = answer_new(c, ANSWER_NOTES, l->n)) == NULL)
        return;
    a->u.notes = *l;
    l->v = NULL;
    l->n = l->cap = 0;
    a->row = answer_row_note;
    a->src = &a->u.notes;
    a->nrows = a->u.notes.n;
    a->next = next;
    answer_keep(c, a);
}

int answer_more(struct conn *c)
{
    struct answer *a = c->answer;
    int wrote, rc;

    if (a == NULL)
        return 1;
    if (c->bev == NULL || answer_output(c) >= ANSWER_SLICE_BYTES)
        return 0; /* the write callback comes at the low watermark */
    rc = answer_slice(c, a->row, a->src, a->nrows, &a->next, &wrote);
    if (rc == WM_OK && a->next == a->nrows)
        rc = answer_end(c, a->total);
    if (rc != WM_OK) {
        answer_failed(c, rc, 1);
        answer_free(c);
        return -1;
    }
    if (a->next < a->nrows) {
        if (answer_output(c) < ANSWER_SLICE_BYTES) {
            struct timeval zero = {0, 0};
            evtimer_add(c->ev_slice, &zero);
        }
        return 0;
    }
    answer_free(c);
    return 1;
}

void answer_free(struct conn *c)
{
    struct answer *a = c->answer;

    if (a == NULL)
        return;
    c->answer = NULL;
    if (c->ev_slice != NULL)
        evtimer_del(c->ev_slice);
    if (c->bev != NULL)
        bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    switch (a->kind) {
    case ANSWER_COUNT:
        proto_count_packed_free(&a->u.count);
        break;
    case ANSWER_PROGRESS:
        proto_progress_result_free(&a->u.progress);
        break;
    case ANSWER_PROJECTS:
        proto_projects_result_free(&a->u.projects);
        break;
    case ANSWER_NOTES:
        store_note_list_free(&a->u.notes);
        break;
    }
    free(a);
}
