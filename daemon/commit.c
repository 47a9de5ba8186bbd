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
#define REJECT_IDLE_S 1
#define REJECT_EVERY_S 10

struct commit_queue {
    struct event_base *base;
    struct store *store;
    commit_done_fn done_fn;
    void *done_arg;
    struct audit *audit; /* writer thread only (and commit_queue_free after the join) */

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
    time_t failures_logged_at; /* writer thread only */
    uint64_t failures_suppressed;
    /* the memory part's checkpoints as last seen (writer thread only) */
    uint64_t ckpt_written, ckpt_failures;
    uint64_t ckpt_failing; /* failures since the last one written (0: none failing) */
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

/* The memory part's checkpoint is written by a child process that store_apply starts
 * and reaps; the store counts how each ended and says why the last one failed (STATS
 * shows it). Log the first failure with its reason and what it costs, stay quiet while
 * the retries fail too, and say when one is written again. Within one store_apply a
 * child is reaped before the next is started, so a success comes before a failure. */
static void commit_watch_checkpoint(struct commit_queue *q)
{
    struct store_stats st;

    store_ckpt_stats(q->store, &st);
    if (st.checkpoints_written > q->ckpt_written && q->ckpt_failing) {
        log_msg(LOG_INFO, "checkpoint: written again, covering seq %llu (%llu failed before it)",
                (unsigned long long)st.checkpoint_seq, (unsigned long long)q->ckpt_failing);
        q->ckpt_failing = 0;
    }
    if (st.checkpoint_failures > q->ckpt_failures) {
        if (!q->ckpt_failing && st.checkpoint_seq > 0)
            log_msg(LOG_WARN,
                    "checkpoint: %s; until one is written, the next start replays the events "
                    "after seq %llu, the last good checkpoint",
                    st.checkpoint_error, (unsigned long long)st.checkpoint_seq);
        else if (!q->ckpt_failing)
            log_msg(LOG_WARN,
                    "checkpoint: %s; until one is written, the next start rebuilds the memory "
                    "part from every event (there is no good checkpoint)",
                    st.checkpoint_error);
        q->ckpt_failing += st.checkpoint_failures - q->ckpt_failures;
    }
    q->ckpt_written = st.checkpoints_written;
    q->ckpt_failures = st.checkpoint_failures;
}

/* Under q->mu: wait for work or stop; while rejections wait to be summarised, wake to
 * write the summary once the writer has been idle for REJECT_IDLE_S. */
static void writer_wait(struct commit_queue *q)
{
    while (q->work == NULL && !q->stop) {
        struct timespec until;
        if (!audit_rejects_waiting(q->audit)) {
            pthread_cond_wait(&q->cv, &q->mu);
            continue;
        }
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += REJECT_IDLE_S;
        if (pthread_cond_timedwait(&q->cv, &q->mu, &until) == ETIMEDOUT && q->work == NULL) {
            pthread_mutex_unlock(&q->mu);
            audit_rejects_flush(q->audit, time(NULL));
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

        audit_batch(q->audit, b->items, b->principals, b->n, b->rc, time(NULL));

        pthread_mutex_lock(&q->mu);
        q->done = b;
        pthread_mutex_unlock(&q->mu);
        event_active(q->ev_done, EV_READ, 0);

        /* written after the hand-back so the log never delays an acknowledgement
         * (b is the loop thread's now: audit_batch took what it needs) */
        audit_write_pending(q->audit);
        commit_watch_checkpoint(q);
        if (audit_rejects_due(q->audit, time(NULL), REJECT_EVERY_S))
            audit_rejects_flush(q->audit, time(NULL));
    }
    audit_rejects_flush(q->audit, time(NULL));
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
                     int audit_fd, enum audit_detail detail, struct commit_queue **out)
{
    struct commit_queue *q;
    struct store_stats st_now;
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
    /* the audit trail names a REPLACE's retraction by the seqs it follows from here */
    if (store_stats(st, &st_now) != WM_OK)
        memset(&st_now, 0, sizeof(st_now));
    q->ckpt_written = st_now.checkpoints_written;
    q->ckpt_failures = st_now.checkpoint_failures;
    if (audit_new(audit_fd, detail, st_now.last_seq, &q->audit) != WM_OK) {
        free(q);
        return WM_ENOMEM;
    }
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
    audit_free(q->audit);
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
