/*
 * storage: the store's memory part (struct store_people), its life and its thread.
 * For every person (pseudonym) it holds their live events as compact entries
 * (persons.c, in the arena of arena.c); per project the persons with a live
 * placement there; the persons placed in two or more projects; the projects' scopes;
 * the number of placed persons; and the in-memory rollup (memroll.c): day cells,
 * cells of every enum combination, and PROGRESS's FIRST/UFIRST cells (placement.c).
 * COUNT distinct=person walks the persons, COUNT reads edge days and multi-enum cells,
 * PROGRESS reads placements and FIRST/UFIRST.
 *
 * Why in memory: every index ordered by person (pseudonyms are random) took a write
 * to a random LMDB page per event, and the day and enum-combination cells about one
 * more: each commit copied and synced one or two pages per event (README,
 * "Performance"). Nothing here is durable: it is derived from the events and
 * retractions and rebuilt (rebuild.c) when the store opens, and whenever it failed to
 * follow a commit: then it is marked damaged until rebuilt.
 *
 * How a batch reaches it: the writer queues one change per stored event, retraction
 * and scope change (store_people_push) while it does the batch's LMDB work; then,
 * holding the memory part's write lock, it submits them to this file's thread and
 * commits LMDB meanwhile, waits for the thread, and rolls the changes back (undo.c) if
 * the commit failed. A batch of a few changes is applied on the writer itself before
 * the commit: for it the hand-off costs more than the work. Readers take the read lock before their
 * read transaction, so they see the memory part and LMDB at the same commit; they wait at most for
 * one commit.
 */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

int store_people_init(struct store_people *pl)
{
    struct store_pqueue *q = &pl->queue;
    pthread_rwlockattr_t attr;
    int rc;

    memset(pl, 0, sizeof *pl);
    /* Queries must not starve the writer. */
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    rc = pthread_rwlock_init(&pl->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (rc != 0)
        return WM_ENOMEM;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv_go, NULL);
    pthread_cond_init(&q->cv_done, NULL);
    return WM_OK;
}

void store_people_clear(struct store_people *pl)
{
    store_persons_free(&pl->persons);
    store_arena_free(&pl->arena);
    store_memroll_free(&pl->roll);
    store_undo_free(&pl->undo);
    store_ids_clear(&pl->ids);
    pl->damaged = 0;
}

void store_people_free(struct store_people *pl)
{
    struct store_pqueue *q = &pl->queue;

    store_people_stop(pl);
    store_people_clear(pl);
    store_ids_free(&pl->ids);
    free(q->ops);
    q->ops = NULL;
    q->n = q->cap = 0;
    pthread_rwlock_destroy(&pl->lock);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv_go);
    pthread_cond_destroy(&q->cv_done);
}

uint64_t store_people_bytes(const struct store_people *pl)
{
    return pl->arena.bytes + pl->persons.cap * sizeof(struct store_person) +
           store_itab_bytes(&pl->persons.names) + store_memroll_bytes(&pl->roll) +
           store_ids_bytes(&pl->ids);
}

int store_people_read_begin(struct store_people *pl, const char *what, char *err, size_t errlen)
{
    if (pthread_rwlock_rdlock(&pl->lock) != 0) {
        proto_errf(err, errlen, "%s failed: cannot lock the person layer", what);
        return WM_EIO;
    }
    if (pl->damaged) {
        pthread_rwlock_unlock(&pl->lock);
        proto_errf(err, errlen, "%s failed: the in-memory index is being rebuilt", what);
        return WM_EIO;
    }
    return WM_OK;
}

void store_people_read_end(struct store_people *pl)
{
    pthread_rwlock_unlock(&pl->lock);
}

/* ---- the batch's changes ------------------------------------------------------------ */

int store_people_push(struct store_people *pl, int kind, const char *person,
                      const struct store_pentry *e, int regional)
{
    struct store_pqueue *q = &pl->queue;
    struct store_pop *op = store_array_grow(q->ops, &q->cap, q->n + 1, sizeof *op, 1024);

    if (!op)
        return WM_ENOMEM;
    q->ops = op;
    op = &q->ops[q->n++];
    op->kind = (uint8_t)kind;
    op->regional = (uint8_t)regional;
    op->e = *e;
    op->person = person;
    /* a copy, named by op_person(): a pointer to it would dangle once a later push
     * reallocates the queue (docs/BUGS.md #3) */
    if (kind == STORE_POP_REMOVE && person) {
        snprintf(op->own, sizeof op->own, "%s", person);
        op->person = NULL;
    }
    return WM_OK;
}

void store_people_drop(struct store_people *pl)
{
    pl->queue.n = 0;
}

/* The person of an ADD or REMOVE change. */
static const char *op_person(const struct store_pop *op)
{
    return op->kind == STORE_POP_REMOVE ? op->own : op->person;
}

/* Apply one change. */
static int op_apply(struct store_people *pl, const struct store_pop *op)
{
    int sign = op->kind == STORE_POP_ADD ? 1 : -1;
    uint32_t pid;
    int ret;

    if (op->kind == STORE_POP_RESCOPE)
        return store_placement_rescope(pl, op->e.project, op->regional);
    ret = store_people_id(pl, op_person(op), sign > 0, &pid);
    if (ret == WM_ENOT_FOUND)
        return WM_EINTERNAL; /* retracting an event of a person the layer never saw */
    /* PROGRESS's per-project counts: started, completed with success, and (placement.c)
     * first placements */
    if (ret == WM_OK && op->e.type == WM_TYPE_STARTED)
        ret = store_people_roll(pl, STORE_MT_STARTED, op->e.project, op->e.date, sign);
    if (ret == WM_OK && op->e.type == WM_TYPE_COMPLETED && WM_RESULT_SUCCESS(op->e.enums[0]))
        ret = store_people_roll(pl, STORE_MT_COMPLETED, op->e.project, op->e.date, sign);
    if (ret == WM_OK && op->e.type == WM_TYPE_PLACED)
        ret = store_placement_update(pl, pid, op->e.project, op->e.date, sign);
    if (ret == WM_OK)
        ret = store_people_change(pl, pid, &op->e, sign);
    return ret;
}

int store_people_apply(struct store_people *pl)
{
    struct store_pqueue *q = &pl->queue;
    int ret = WM_OK;

    for (size_t i = 0; i < q->n && ret == WM_OK; i++)
        ret = op_apply(pl, &q->ops[i]);
    q->n = 0;
    return ret;
}

/* ---- the thread ---------------------------------------------------------------------- */

static void *people_main(void *arg)
{
    struct store_people *pl = arg;
    struct store_pqueue *q = &pl->queue;

    pthread_mutex_lock(&q->mu);
    for (;;) {
        int ret;
        while (!q->go && !q->stop)
            pthread_cond_wait(&q->cv_go, &q->mu);
        if (!q->go)
            break;
        q->go = 0;
        pthread_mutex_unlock(&q->mu);
        ret = store_people_apply(pl);
        pthread_mutex_lock(&q->mu);
        q->result = ret;
        q->busy = 0;
        pthread_cond_signal(&q->cv_done);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

void store_people_submit(struct store_people *pl)
{
    struct store_pqueue *q = &pl->queue;

    pl->undo.logging = 1;
    /* A small batch (a client waiting for each acknowledgement) costs the thread more
     * in hand-offs, two wake-ups and a wait, than its few changes cost here. */
    if (!q->started || q->n <= STORE_PEOPLE_INLINE) {
        q->result = store_people_apply(pl);
        return;
    }
    pthread_mutex_lock(&q->mu);
    q->busy = 1;
    q->go = 1;
    pthread_cond_signal(&q->cv_go);
    pthread_mutex_unlock(&q->mu);
}

int store_people_finish(struct store_people *pl)
{
    struct store_pqueue *q = &pl->queue;
    int ret;

    pthread_mutex_lock(&q->mu);
    while (q->busy)
        pthread_cond_wait(&q->cv_done, &q->mu);
    ret = q->result;
    pthread_mutex_unlock(&q->mu);
    return ret;
}

int store_people_start(struct store_people *pl)
{
    struct store_pqueue *q = &pl->queue;
    sigset_t all, old;
    int rc;

    /* signals belong to the daemon's loop thread */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&q->thread, NULL, people_main, pl);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return WM_EINTERNAL;
    q->started = 1;
    return WM_OK;
}

void store_people_stop(struct store_people *pl)
{
    struct store_pqueue *q = &pl->queue;

    if (!q->started)
        return;
    pthread_mutex_lock(&q->mu);
    q->stop = 1;
    pthread_cond_signal(&q->cv_go);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->thread, NULL);
    q->started = 0;
}
