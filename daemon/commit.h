/*
 * commit: the writer thread and its queue. The loop thread fills a batch of store
 * items; the writer commits a whole batch with one store_apply (group commit) and
 * hands it back to the loop thread, which sends the acknowledgements.
 */
#ifndef WM_DAEMON_COMMIT_H
#define WM_DAEMON_COMMIT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "audit.h"
#include "store.h"

/* A batch of writes. Filled by the loop thread, applied by the writer, then read back
 * by the loop thread in the done callback. */
struct commit_batch {
    struct store_item *items; /* owned; items[0..n-1] are queued */
    void **owners;            /* owners[i]: who asked for items[i] (a connection); borrowed */
    char (*principals)[WM_NAME_MAX + 1]; /* PROJECT/PROGRAM: who asked, for the audit log */
    size_t n, cap;
    int rc;            /* store_apply's return (each item's own result says how it went) */
    uint64_t apply_us; /* how long store_apply took, in microseconds */
};

/* Called on the loop thread with each applied batch. The batch is only borrowed: it
 * is reused for later items as soon as the callback returns. */
typedef void (*commit_done_fn)(struct commit_batch *b, void *arg);

struct commit_queue;

/*
 * Create the queue and start the writer thread, which applies batches to st.
 * base must have been created after evthread_use_pthreads(): the writer wakes the loop
 * with event_active(). done runs on the loop thread for every applied batch. With
 * audit_fd >= 0 the writer writes the audit trail of every applied batch to it (see
 * audit.h: accepted events summarised per batch and principal, or one line each with
 * detail AUDIT_DETAIL_EVENT; every other change a line each; refusals counted), naming
 * the principal, never a person value: "info audit ..." on stderr, "<UTC time> audit ..."
 * on any other descriptor (an audit file; the caller may dup2() a reopened file onto it).
 * Returns WM_OK and *out, WM_ENOMEM, or WM_EINTERNAL (no thread).
 */
int commit_queue_new(struct event_base *base, struct store *st, commit_done_fn done, void *arg,
                     int audit_fd, enum audit_detail detail, struct commit_queue **out);

/*
 * Stop the writer thread and free the queue. Call on the loop thread once
 * commit_idle() says nothing is queued or in flight (the loop waits for that at
 * shutdown), else queued items are dropped unapplied. NULL is allowed.
 */
void commit_queue_free(struct commit_queue *q);

/*
 * The next free item of the batch being filled (loop thread only). Its op, admin and
 * outcome fields are reset; the caller fills op and the union, then calls
 * commit_push() to queue it, or simply does not (the item is reused next time).
 * Returns NULL when memory runs out.
 */
struct store_item *commit_next(struct commit_queue *q);

/* Queue the item last returned by commit_next() for owner (loop thread only), on
 * behalf of principal (named in the audit line of registry changes, whose items do not
 * carry one). The hand-off to the writer happens at the end of the current loop
 * iteration, so every connection read meanwhile shares the commit. */
void commit_push(struct commit_queue *q, void *owner, const char *principal);

/* Items queued or being applied (loop thread only). */
size_t commit_pending(const struct commit_queue *q);

/* 1 when nothing is queued and the writer is idle (loop thread only). */
int commit_idle(const struct commit_queue *q);

#endif /* WM_DAEMON_COMMIT_H */
