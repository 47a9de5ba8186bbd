/*
 * commit: the hand-off between the loop thread and the writer thread.
 *
 * The loop thread alone owns the batch `filling` and appends to it
 * without locking. When the writer is idle (`busy` == 0, a loop-thread variable) and
 * `filling` holds items, the loop thread hands it over: under the mutex it stores the
 * batch in `work` and signals the condition variable, then takes an empty batch as
 * its new `filling`. The writer takes `work`, runs store_apply once for the whole
 * batch, and under the mutex stores it in `done`, then calls event_active() on
 * `ev_done`. The loop thread's ev_done callback takes `done`, first hands over whatever
 * accumulated meanwhile, then sends the acks and keeps the batch for reuse. So while the
 * writer syncs one batch to disk, the next one fills up: one fsync serves every
 * connection (group commit), with one lock round trip per batch, no malloc per item.
 * At most three batches exist: one filling, one with the writer, one whose acks the
 * loop thread is sending; emptied batches wait in a small pool for reuse.
 */
#include "commit.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Rejected writes change nothing, so the audit trail summarises them instead of a line
 * each (an import of a file with a million bad rows must not flood the terminal): one
 * line per principal, operation and error with the count, written when the writer
 * has been idle for a second or at the latest every 10 seconds. */
#define REJECT_KINDS 32
#define REJECT_IDLE_S 1
#define REJECT_EVERY_S 10

struct reject_count {
    char principal[WM_NAME_MAX + 1];
    const char *op;
    int code;
    uint64_t n;
};

struct commit_queue {
    struct event_base *base;
    struct store *store;
    commit_done_fn done_fn;
    void *done_arg;
    int audit_fd; /* -1: no audit lines */

    /* loop thread only */
    struct commit_batch *filling;
    struct commit_batch *pool[2]; /* empty batches for reuse */
    size_t npool;
    int busy;      /* a batch is with the writer */
    size_t busy_n; /* its item count */
    struct event *ev_kick;
    struct event *ev_done;

    /* shared, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct commit_batch *work; /* loop -> writer */
    struct commit_batch *done; /* writer -> loop */
    int stop;

    pthread_t thread;
    int thread_started;
    struct wm_buf audit_buf; /* writer thread only */
    /* rejections not yet summarised (writer thread only) */
    struct reject_count rejects[REJECT_KINDS];
    size_t nrejects;
    uint64_t rejects_other;    /* beyond REJECT_KINDS kinds: counted without a line of their own */
    time_t rejects_since;      /* when the oldest unsummarised rejection came */
    time_t failures_logged_at; /* writer thread only */
    uint64_t failures_suppressed;
};

static struct commit_batch *batch_new(void)
{
    return calloc(1, sizeof(struct commit_batch));
}

static void batch_free(struct commit_batch *b)
{
    if (b == NULL)
        return;
    free(b->items);
    free(b->owners);
    free(b->principals);
    free(b);
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The operation and principal of item i, for the audit trail. */
static const char *audit_op(const struct commit_batch *b, size_t i, const char **principal)
{
    const struct store_item *it = &b->items[i];
    const char *op = "?";

    *principal = "";
    switch (it->op) {
    case STORE_OP_EVENT:
        op = "event";
        *principal = it->u.event.principal;
        break;
    case STORE_OP_REPLACE:
        op = "replace";
        *principal = it->u.event.principal;
        break;
    case STORE_OP_RETRACT:
        op = "retract";
        *principal = it->u.retract.principal;
        break;
    case STORE_OP_PROJECT:
        op = "project";
        *principal = b->principals[i];
        break;
    case STORE_OP_PROGRAM:
        op = "program";
        *principal = b->principals[i];
        break;
    case STORE_OP_NOTE:
        op = "note";
        *principal = it->u.note.principal;
        break;
    }
    return op;
}

/* One audit line per applied item: who changed what, never a person value. */
static void audit_format(struct wm_buf *out, const char *prefix, const struct commit_batch *b,
                         size_t i)
{
    const struct store_item *it = &b->items[i];
    const char *principal, *op = audit_op(b, i, &principal);
    char result[32];

    if (it->result != WM_OK)
        snprintf(result, sizeof(result), "%s", wm_err_code(it->result));
    else
        snprintf(result, sizeof(result), "%s", it->dup ? "dup" : "ok");
    wm_buf_puts(out, prefix);
    proto_fmt_pair(out, "principal", principal);
    proto_fmt_pair(out, "op", op);
    if (it->op == STORE_OP_EVENT || it->op == STORE_OP_REPLACE) {
        proto_fmt_pair(out, "type", proto_type_desc(it->u.event.type)->name);
        proto_fmt_pair(out, "id", it->u.event.id);
        proto_fmt_pair(out, "gemeente", it->u.event.gemeente);
    } else if (it->op == STORE_OP_RETRACT) {
        proto_fmt_pair(out, "id", it->u.retract.id);
        if (it->u.retract.by_seq)
            proto_fmt_pair_u64(out, "ref.seq", it->u.retract.ref_seq);
        else
            proto_fmt_pair(out, "ref", it->u.retract.ref);
    } else if (it->op == STORE_OP_PROJECT) {
        proto_fmt_pair(out, "project", it->u.project.name);
    } else if (it->op == STORE_OP_NOTE) {
        char period[8];
        proto_period_format(it->u.note.period, period);
        proto_fmt_pair(out, "period", period);
        if (it->u.note.project[0])
            proto_fmt_pair(out, "project", it->u.note.project);
        if (it->u.note.category[0])
            proto_fmt_pair(out, "category", it->u.note.category);
        if (it->result == WM_OK)
            proto_fmt_pair_u64(out, "version", it->seq);
    }
    if (it->result == WM_OK &&
        (it->op == STORE_OP_EVENT || it->op == STORE_OP_RETRACT || it->op == STORE_OP_REPLACE))
        proto_fmt_pair_u64(out, "seq", it->seq);
    if (it->result == WM_OK && it->replaced != 0)
        proto_fmt_pair_u64(out, "replaced", it->replaced);
    proto_fmt_pair(out, "result", result);
    wm_buf_puts(out, "\n");
}

/* On stderr the line is a log line ("info audit ..."; journald adds the time); in an
 * audit file it starts with the UTC time instead. */
static void audit_prefix(const struct commit_queue *q, char *out, size_t outlen)
{
    time_t now;
    struct tm tm;

    if (q->audit_fd == STDERR_FILENO) {
        snprintf(out, outlen, "info audit");
        return;
    }
    now = time(NULL);
    gmtime_r(&now, &tm);
    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ audit", &tm);
}

static void audit_write(int fd, const char *data, size_t len)
{
    if (fd < 0)
        return;
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_msg(LOG_ERROR, "cannot write the audit log: %s", strerror(errno));
            return;
        }
        data += n;
        len -= (size_t)n;
    }
}

/* A full disk fails every commit: say so once, then at most every 10 seconds. */
static void commit_log_failure(struct commit_queue *q, const struct commit_batch *b)
{
    time_t now = time(NULL);

    if (q->failures_logged_at != 0 && now - q->failures_logged_at < 10) {
        q->failures_suppressed++;
        return;
    }
    log_msg(LOG_ERROR, "commit of %zu items failed: %s (%llu more failures since the last report)",
            b->n, wm_strerror(b->rc), (unsigned long long)q->failures_suppressed);
    q->failures_logged_at = now;
    q->failures_suppressed = 0;
}

/* Count a rejected item i for the next summary. */
static void reject_add(struct commit_queue *q, const struct commit_batch *b, size_t i, time_t now)
{
    const char *principal, *op = audit_op(b, i, &principal);
    int code = b->items[i].result;
    size_t k;

    if (q->nrejects == 0 && q->rejects_other == 0)
        q->rejects_since = now;
    for (k = 0; k < q->nrejects; k++) {
        struct reject_count *r = &q->rejects[k];
        if (r->code == code && r->op == op && strcmp(r->principal, principal) == 0) {
            r->n++;
            return;
        }
    }
    if (q->nrejects == REJECT_KINDS) {
        q->rejects_other++;
        return;
    }
    snprintf(q->rejects[k].principal, sizeof(q->rejects[k].principal), "%s", principal);
    q->rejects[k].op = op;
    q->rejects[k].code = code;
    q->rejects[k].n = 1;
    q->nrejects++;
}

/* Write the summary of the rejections counted so far and start counting afresh. */
static void reject_flush(struct commit_queue *q)
{
    char prefix[64];

    if (q->nrejects == 0 && q->rejects_other == 0)
        return;
    wm_buf_reset(&q->audit_buf);
    audit_prefix(q, prefix, sizeof(prefix));
    for (size_t k = 0; k < q->nrejects; k++) {
        wm_buf_puts(&q->audit_buf, prefix);
        proto_fmt_pair(&q->audit_buf, "principal", q->rejects[k].principal);
        proto_fmt_pair(&q->audit_buf, "op", q->rejects[k].op);
        proto_fmt_pair(&q->audit_buf, "result", wm_err_code(q->rejects[k].code));
        proto_fmt_pair_u64(&q->audit_buf, "rejected", q->rejects[k].n);
        wm_buf_puts(&q->audit_buf, "\n");
    }
    if (q->rejects_other > 0) {
        wm_buf_puts(&q->audit_buf, prefix);
        proto_fmt_pair_u64(&q->audit_buf, "rejected.other", q->rejects_other);
        wm_buf_puts(&q->audit_buf, "\n");
    }
    if (!q->audit_buf.oom)
        audit_write(q->audit_fd, q->audit_buf.data, q->audit_buf.len);
    wm_buf_reset(&q->audit_buf);
    q->nrejects = 0;
    q->rejects_other = 0;
}

/* Under q->mu: wait for work or stop; while rejections wait to be summarised, wake to
 * write the summary once the writer has been idle for REJECT_IDLE_S. */
static void writer_wait(struct commit_queue *q)
{
    while (q->work == NULL && !q->stop) {
        struct timespec until;
        if (q->nrejects == 0 && q->rejects_other == 0) {
            pthread_cond_wait(&q->cv, &q->mu);
            continue;
        }
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += REJECT_IDLE_S;
        if (pthread_cond_timedwait(&q->cv, &q->mu, &until) == ETIMEDOUT && q->work == NULL) {
            pthread_mutex_unlock(&q->mu);
            reject_flush(q);
            pthread_mutex_lock(&q->mu);
        }
    }
}

static void *writer_main(void *arg)
{
    struct commit_queue *q = arg;

    for (;;) {
        struct commit_batch *b;
        uint64_t t0;

        pthread_mutex_lock(&q->mu);
        writer_wait(q);
        b = q->work;
        q->work = NULL;
        pthread_mutex_unlock(&q->mu);
        if (b == NULL)
            break; /* stop, and nothing left to apply */

        t0 = now_us();
        b->rc = store_apply(q->store, b->items, b->n);
        b->apply_us = now_us() - t0;
        if (b->rc != WM_OK)
            commit_log_failure(q, b);

        wm_buf_reset(&q->audit_buf);
        if (q->audit_fd >= 0) {
            char prefix[64];
            time_t now = time(NULL);
            audit_prefix(q, prefix, sizeof(prefix));
            for (size_t i = 0; i < b->n; i++) {
                /* a failed commit (logged above) keeps a line per item, as before */
                if (b->rc == WM_OK && b->items[i].result != WM_OK)
                    reject_add(q, b, i, now);
                else
                    audit_format(&q->audit_buf, prefix, b, i);
            }
        }

        pthread_mutex_lock(&q->mu);
        q->done = b;
        pthread_mutex_unlock(&q->mu);
        event_active(q->ev_done, EV_READ, 0);

        /* written after the hand-back so the log never delays an acknowledgement */
        if (q->audit_buf.len > 0 && !q->audit_buf.oom)
            audit_write(q->audit_fd, q->audit_buf.data, q->audit_buf.len);
        if (q->nrejects + q->rejects_other > 0 && time(NULL) - q->rejects_since >= REJECT_EVERY_S)
            reject_flush(q);
    }
    reject_flush(q);
    return NULL;
}

/* Loop thread: give the filling batch to the writer when it is idle. */
static void commit_handoff(struct commit_queue *q)
{
    struct commit_batch *b, *next;

    if (q->busy || q->filling->n == 0)
        return;
    next = q->npool > 0 ? q->pool[--q->npool] : batch_new();
    if (next == NULL)
        return; /* out of memory: keep filling; the next commit retries */
    b = q->filling;
    q->filling = next;
    q->busy = 1;
    q->busy_n = b->n;
    pthread_mutex_lock(&q->mu);
    q->work = b;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    commit_handoff(arg);
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
    struct commit_queue *q = arg;
    struct commit_batch *b;

    (void)fd;
    (void)what;
    pthread_mutex_lock(&q->mu);
    b = q->done;
    q->done = NULL;
    pthread_mutex_unlock(&q->mu);
    if (b == NULL)
        return;
    q->busy = 0;
    q->busy_n = 0;
    /* hand over what accumulated during the commit before sending acks, so the
     * writer syncs the next batch while this thread writes to sockets */
    commit_handoff(q);
    q->done_fn(b, q->done_arg);
    for (size_t i = 0; i < b->n; i++)
        store_item_release(&b->items[i]);
    b->n = 0;
    if (q->npool < 2)
        q->pool[q->npool++] = b;
    else
        batch_free(b);
    /* the callback may have queued more (a resumed connection) */
    commit_handoff(q);
}

int commit_queue_new(struct event_base *base, struct store *st, commit_done_fn done, void *arg,
                     int audit_fd, struct commit_queue **out)
{
    struct commit_queue *q;
    sigset_t all, old;
    int rc = WM_ENOMEM;

    *out = NULL;
    q = calloc(1, sizeof(*q));
    if (q == NULL)
        return WM_ENOMEM;
    q->base = base;
    q->store = st;
    q->done_fn = done;
    q->done_arg = arg;
    q->audit_fd = audit_fd;
    wm_buf_init(&q->audit_buf);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    q->filling = batch_new();
    q->ev_kick = event_new(base, -1, 0, on_kick, q);
    q->ev_done = event_new(base, -1, 0, on_done, q);
    if (q->filling == NULL || q->ev_kick == NULL || q->ev_done == NULL)
        goto fail;

    /* signals belong to the loop thread */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&q->thread, NULL, writer_main, q);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        rc = WM_EINTERNAL;
        goto fail;
    }
    q->thread_started = 1;
    *out = q;
    return WM_OK;
fail:
    commit_queue_free(q);
    return rc;
}

void commit_queue_free(struct commit_queue *q)
{
    if (q == NULL)
        return;
    if (q->thread_started) {
        pthread_mutex_lock(&q->mu);
        q->stop = 1;
        pthread_cond_signal(&q->cv);
        pthread_mutex_unlock(&q->mu);
        pthread_join(q->thread, NULL);
    }
    /* a batch the writer handed back after the loop stopped */
    batch_free(q->done);
    if (q->ev_kick != NULL)
        event_free(q->ev_kick);
    if (q->ev_done != NULL)
        event_free(q->ev_done);
    batch_free(q->filling);
    for (size_t i = 0; i < q->npool; i++)
        batch_free(q->pool[i]);
    wm_buf_free(&q->audit_buf);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

struct store_item *commit_next(struct commit_queue *q)
{
    struct commit_batch *b = q->filling;
    struct store_item *it;

    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 256;
        struct store_item *ni = realloc(b->items, ncap * sizeof(*ni));
        void **no;
        char(*np)[WM_NAME_MAX + 1];
        if (ni == NULL)
            return NULL;
        b->items = ni;
        no = realloc(b->owners, ncap * sizeof(*no));
        if (no == NULL)
            return NULL;
        b->owners = no;
        np = realloc(b->principals, ncap * sizeof(*np));
        if (np == NULL)
            return NULL;
        b->principals = np;
        b->cap = ncap;
    }
    it = &b->items[b->n];
    it->op = 0;
    it->admin = 0;
    it->result = WM_OK;
    it->dup = 0;
    it->seq = 0;
    it->replaced = 0;
    it->err[0] = '\0';
    return it;
}

void commit_push(struct commit_queue *q, void *owner, const char *principal)
{
    struct commit_batch *b = q->filling;
    struct store_item *it = &b->items[b->n];

    if (it->op == STORE_OP_PROJECT || it->op == STORE_OP_PROGRAM)
        snprintf(b->principals[b->n], sizeof(b->principals[0]), "%s", principal ? principal : "");
    b->owners[b->n++] = owner;
    if (!q->busy)
        event_active(q->ev_kick, EV_READ, 0);
}

size_t commit_pending(const struct commit_queue *q)
{
    return q->filling->n + q->busy_n;
}

int commit_idle(const struct commit_queue *q)
{
    return !q->busy && q->filling->n == 0;
}
