/*
 * storage: the write path. store_apply runs a whole batch in one LMDB write
 * transaction: idempotency (against the ids index in memory, ids.c), seq assignment,
 * records, registry changes and the whole-store counters, then one durable commit, while
 * the memory part (every rollup cell, the persons, the batch's new ids) follows the batch. On map
 * full the map grows and the whole batch runs again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* The dictionary ids of an event's strings. */
struct store_event_ids {
    uint32_t project; /* 0: none */
    uint32_t gemeente;
};

/* ---- records --------------------------------------------------------------- */

static int store_record(struct store_wtx *w, uint64_t seq)
{
    uint8_t k[8];

    store_put_u64(k, seq);
    /* seqs only grow, so every record is an append: full pages, no splits. */
    return store_wtx_put(w, STORE_DBI_EVENTS, k, 8, w->s->sb.data, w->s->sb.size, MDB_APPEND);
}

/* ---- counters of one event --------------------------------------------------- */

/* Add (sign 1) or remove (sign -1) an event to/from the counters, and queue its
 * change of the memory part (persons and every rollup cell), which follows when LMDB
 * commits. */
static int apply_counts(struct store_wtx *w, const struct wm_event *ev,
                        const struct store_event_ids *ids, const char *person, int sign)
{
    struct store_pentry e;

    switch (ev->type) {
    case WM_TYPE_STARTED:
        w->c.started += (uint64_t)(int64_t)sign;
        break;
    case WM_TYPE_COMPLETED:
        if (WM_RESULT_SUCCESS(ev->enums[0]))
            w->c.completed += (uint64_t)(int64_t)sign;
        break;
    case WM_TYPE_PLACED:
        w->c.placed += (uint64_t)(int64_t)sign;
        break;
    default:
        w->c.outflow += (uint64_t)(int64_t)sign;
        break;
    }
    store_people_entry(ev, ids->project, ids->gemeente, &e);
    return store_people_push(&w->s->people, sign > 0 ? STORE_POP_ADD : STORE_POP_REMOVE, person, &e,
                             0);
}

/* The cache place of a name: a batch names few projects and gemeenten, again and
 * again, and a place costs less than a B-tree lookup. */
static struct store_name_cache *name_cached(struct store_name_cache *cache, const char *name)
{
    uint32_t h = 2166136261u;

    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return &cache[h % STORE_NAME_CACHE];
}

/* The project id of a registered name: WM_OK, WM_EUNKNOWN_PROJECT or an error. */
static int project_id(struct store_wtx *w, const char *name, uint32_t *id)
{
    struct store_name_cache *nc = name_cached(w->projects, name);
    MDB_val v;
    int ret;

    if (nc->id && strcmp(nc->name, name) == 0) {
        *id = nc->id;
        return WM_OK;
    }
    ret = store_wtx_get(w, STORE_DBI_PROJECTS, name, strlen(name), &v);
    if (ret < 0)
        return ret;
    if (ret == 0)
        return WM_EUNKNOWN_PROJECT;
    if (v.mv_size < 4)
        return WM_EVERSION;
    *id = store_get_u32(v.mv_data);
    snprintf(nc->name, sizeof nc->name, "%s", name);
    nc->id = *id;
    return WM_OK;
}

/* Resolve the gemeente id; create it when missing (create=1). */
static int event_ids(struct store_wtx *w, const struct wm_event *ev, int create,
                     struct store_event_ids *ids)
{
    struct store_name_cache *nc = name_cached(w->gemeenten, ev->gemeente);
    int ret;

    if (nc->id && strcmp(nc->name, ev->gemeente) == 0) {
        ids->gemeente = nc->id;
    } else {
        ret = store_gemeente_id(w->s, w->txn, ev->gemeente, create, &w->c, &ids->gemeente);
        if (ret != WM_OK)
            return ret == WM_ENOT_FOUND ? WM_EINTERNAL : ret;
        snprintf(nc->name, sizeof nc->name, "%s", ev->gemeente);
        nc->id = ids->gemeente;
    }
    return WM_OK;
}

/* ---- the operations ---------------------------------------------------------- */

/* The item's id was already used, by the record at seq old: a resend of the same
 * request is DUP, anything else (what says what it was) a conflict. */
static int id_reused(struct store_item *it, const char *id, uint64_t old, int same,
                     const char *what)
{
    if (same) {
        it->result = WM_OK;
        it->dup = 1;
        it->seq = old;
        return WM_OK;
    }
    it->result = WM_ECONFLICT;
    proto_errf(it->err, sizeof it->err, "id '%s' was already used for %s (seq %llu)", id, what,
               (unsigned long long)old);
    return WM_OK;
}

/* An id's verdict as the item's outcome, for every verdict but NEW and REPLACE. */
static void verdict_outcome(struct store_item *it, int verdict, uint64_t old)
{
    if (verdict == STORE_VERDICT_DUP) {
        it->result = WM_OK;
        it->dup = 1;
        it->seq = old;
    } else {
        it->result = WM_ECONFLICT; /* it->err holds the verdict's words */
    }
}

/* The latest record of (principal, id), the batch's changes included: as
 * store_ids_find (ev and rt scratch), with the key's hash into *h and the change that
 * holds it into *chg. */
static int id_find(struct store_wtx *w, const char *principal, const char *id, uint64_t *h,
                   struct wm_event *ev, struct wm_retract *rt, uint64_t *seq, size_t *chg)
{
    struct store_ids *t = &w->s->people.ids;

    *h = store_ids_hash(t, principal, id);
    return store_ids_find(t, w->txn, w->s->dbi[STORE_DBI_EVENTS], 1, *h, principal, id, ev, rt, seq,
                          chg);
}

/* The key (hash h) names seq now, in place of old (the table's or the batch's change
 * chg; old 0: a new key). WM_OK or WM_ENOMEM. */
static int id_set(struct store_wtx *w, uint64_t h, uint64_t seq, uint64_t old, size_t chg)
{
    struct store_ids *t = &w->s->people.ids;

    if (chg != SIZE_MAX) {
        t->chg[chg].seq = seq;
        return WM_OK;
    }
    return store_ids_stage(t, h, seq, old);
}

/* The project id of the item's event: 0 (found, or none named), 1 when it is not
 * registered (the item's result says so), or an error. */
static int event_project(struct store_wtx *w, struct store_item *it, struct store_event_ids *ids)
{
    const struct wm_event *in = &it->u.event;
    int ret;

    if (in->project[0] == '\0')
        return 0;
    ret = project_id(w, in->project, &ids->project);
    if (ret == WM_EUNKNOWN_PROJECT) {
        it->result = ret;
        store_unknown_project(w->s, w->txn, in->project, it->err, sizeof it->err);
        return 1;
    }
    return ret;
}

/* Store in (with ids resolved) as the event at seq, replacing the version at replaces
 * (0: none), and count it. The id's ids entry is the caller's. */
static int event_store(struct store_wtx *w, const struct wm_event *in, struct store_event_ids *ids,
                       uint64_t seq, uint64_t replaces)
{
    struct wm_event *ev = &w->scratch_ev;
    int ret;

    *ev = *in;
    ev->seq = seq;
    ev->replaces = replaces;
    msgpack_sbuffer_clear(&w->s->sb);
    ret = proto_event_encode(ev, &w->s->sb);
    if (ret == WM_OK)
        ret = store_record(w, seq);
    if (ret == WM_OK)
        ret = event_ids(w, ev, 1, ids);
    if (ret == WM_OK)
        ret = apply_counts(w, ev, ids, in->person, 1);
    if (ret != WM_OK)
        return ret;
    w->c.last_seq = seq;
    w->c.events++;
    return WM_OK;
}

static int apply_event(struct store_wtx *w, struct store_item *it)
{
    const struct wm_event *in = &it->u.event;
    struct store_event_ids ids = {0};
    struct store_idver iv;
    uint64_t seq, h, old;
    size_t chg;
    int ret, verdict;

    if ((ret = event_project(w, it, &ids)) != 0)
        return ret < 0 ? ret : WM_OK;
    seq = w->c.last_seq + 1;
    /* a new id costs one probe of the index in memory; a used one reads its record */
    ret = id_find(w, in->principal, in->id, &h, &w->scratch_ev, &w->scratch_rt, &old, &chg);
    if (ret < 0)
        return ret;
    if (ret > 0) {
        memset(&iv, 0, sizeof iv);
        iv.seq = old;
        iv.kind = ret;
        if (ret == PROTO_RECORD_EVENT &&
            (ret = store_retracted_by(w->s, w->txn, old, &iv.retracted_by)) != WM_OK)
            return ret;
        verdict = store_id_verdict(&iv, &w->scratch_ev, in, 0, it->err, sizeof it->err);
        verdict_outcome(it, verdict, iv.seq);
        return WM_OK;
    }
    if ((ret = event_store(w, in, &ids, seq, 0)) != WM_OK)
        return ret;
    if ((ret = store_ids_stage(&w->s->people.ids, h, seq, 0)) != WM_OK)
        return ret;
    it->result = WM_OK;
    it->seq = seq;
    return WM_OK;
}

/* Retract target (the event at tseq) by the retraction rt (its seq and ref_seq set
 * here), stored at seq: its record, the retracted entry, the counters. The ids entry of
 * the retraction's own id is the caller's. */
static int retract_store(struct store_wtx *w, struct wm_retract *rt, const struct wm_event *target,
                         uint64_t tseq, uint64_t seq)
{
    struct store_event_ids ids = {0};
    uint8_t sk[8], rv[8];
    int ret;

    rt->seq = seq;
    rt->ref_seq = tseq;
    msgpack_sbuffer_clear(&w->s->sb);
    ret = proto_retract_encode(rt, &w->s->sb);
    if (ret == WM_OK)
        ret = store_record(w, seq);
    store_put_u64(sk, tseq);
    store_put_u64(rv, seq);
    if (ret == WM_OK)
        ret = store_wtx_put(w, STORE_DBI_RETRACTED, sk, 8, rv, 8, 0);
    if (ret == WM_OK && target->project[0])
        ret = project_id(w, target->project, &ids.project);
    if (ret == WM_OK)
        ret = event_ids(w, target, 0, &ids);
    if (ret == WM_OK)
        ret = apply_counts(w, target, &ids, target->person, -1);
    if (ret != WM_OK)
        return ret == WM_EUNKNOWN_PROJECT ? WM_EINTERNAL : ret;
    w->c.last_seq = seq;
    w->c.retracted++;
    w->c.retractions++;
    return WM_OK;
}

/* REPLACE: a new version of the id; the old one, when live, retracted first. */
static int apply_replace(struct store_wtx *w, struct store_item *it)
{
    const struct wm_event *in = &it->u.event;
    struct wm_retract *rt = &w->scratch_rt;
    struct wm_event *old = &w->scratch_old;
    struct store_event_ids ids = {0};
    struct store_idver iv;
    uint64_t seq, latest, h;
    size_t chg;
    int ret, verdict;

    if ((ret = event_project(w, it, &ids)) != 0)
        return ret < 0 ? ret : WM_OK;
    ret = id_find(w, in->principal, in->id, &h, old, rt, &latest, &chg);
    if (ret >= 0)
        ret = store_id_state(w->s, w->txn, latest, &iv, old);
    if (ret != WM_OK)
        return ret;
    verdict = store_id_verdict(&iv, old, in, 1, it->err, sizeof it->err);
    if (verdict == STORE_VERDICT_DUP || verdict == STORE_VERDICT_CONFLICT) {
        verdict_outcome(it, verdict, iv.seq);
        return WM_OK;
    }
    seq = w->c.last_seq + 1;
    if (verdict == STORE_VERDICT_REPLACE && iv.retracted_by == 0) {
        /* the retraction first, so that the new version is the id's last record */
        memset(rt, 0, sizeof *rt);
        rt->recv_time = in->recv_time;
        memcpy(rt->id, in->id, sizeof rt->id);
        memcpy(rt->ref, in->id, sizeof rt->ref);
        memcpy(rt->principal, in->principal, sizeof rt->principal);
        memcpy(rt->reason, "replaced", sizeof "replaced");
        rt->replaced_by = seq + 1;
        if ((ret = retract_store(w, rt, old, iv.seq, seq)) != WM_OK)
            return ret;
        seq++;
    }
    if ((ret = event_store(w, in, &ids, seq, iv.seq)) != WM_OK)
        return ret;
    if ((ret = id_set(w, h, seq, iv.seq, chg)) != WM_OK)
        return ret;
    it->result = WM_OK;
    it->seq = seq;
    it->replaced = iv.seq;
    return WM_OK;
}

static int same_reference(const struct wm_retract *a, const struct wm_retract *b)
{
    if (a->by_seq != b->by_seq)
        return 0;
    return a->by_seq ? a->ref_seq == b->ref_seq : strcmp(a->ref, b->ref) == 0;
}

/* The event a retraction names, loaded into w->scratch_ev and its seq in *tseq: 0,
 * or 1 when there is none to retract (it->result says why), or an error. */
static int retract_target(struct store_wtx *w, struct store_item *it, uint64_t *tseq)
{
    const struct wm_retract *in = &it->u.retract;
    uint64_t by, h;
    int kind, ret;

    if (in->by_seq) {
        *tseq = in->ref_seq;
    } else {
        ret = id_find(w, in->principal, in->ref, &h, &w->scratch_ev, &w->scratch_rt, tseq, NULL);
        if (ret < 0)
            return ret;
        if (ret == 0) {
            it->result = WM_ENOT_FOUND;
            proto_errf(it->err, sizeof it->err, "no event with id '%s'", in->ref);
            return 1;
        }
    }
    kind = *tseq ? store_record_read(w->s, w->txn, *tseq, &w->scratch_ev, NULL) : 0;
    if (kind < 0)
        return kind;
    if (kind != PROTO_RECORD_EVENT) {
        it->result = WM_ENOT_FOUND;
        if (in->by_seq)
            proto_errf(it->err, sizeof it->err, "no event with seq %llu%s",
                       (unsigned long long)*tseq, kind ? " (it is a retraction)" : "");
        else
            proto_errf(it->err, sizeof it->err, "no event with id '%s' (it is a retraction)",
                       in->ref);
        return 1;
    }
    if ((ret = store_retracted_by(w->s, w->txn, *tseq, &by)) != WM_OK)
        return ret;
    if (by != 0) {
        it->result = WM_ECONFLICT;
        proto_errf(it->err, sizeof it->err, "event seq %llu is already retracted (by seq %llu)",
                   (unsigned long long)*tseq, (unsigned long long)by);
        return 1;
    }
    return 0;
}

static int apply_retract(struct store_wtx *w, struct store_item *it)
{
    const struct wm_retract *in = &it->u.retract;
    struct wm_retract *rt = &w->scratch_rt;
    uint64_t tseq, seq, h, old;
    int kind;
    int ret;

    if (in->by_seq && !it->admin) {
        it->result = WM_EDENIED;
        proto_errf(it->err, sizeof it->err, "retract by seq= needs the admin role; use ref=");
        return WM_OK;
    }
    kind = id_find(w, in->principal, in->id, &h, &w->scratch_ev, rt, &old, NULL);
    if (kind < 0)
        return kind;
    if (kind > 0) {
        return id_reused(it, in->id, old, kind == PROTO_RECORD_RETRACT && same_reference(rt, in),
                         kind == PROTO_RECORD_RETRACT ? "a retraction of another event"
                                                      : "an event");
    }
    ret = retract_target(w, it, &tseq);
    if (ret != 0)
        return ret < 0 ? ret : WM_OK;

    seq = w->c.last_seq + 1;
    *rt = *in;
    ret = retract_store(w, rt, &w->scratch_ev, tseq, seq);
    if (ret == WM_OK)
        ret = store_ids_stage(&w->s->people.ids, h, seq, 0);
    if (ret != WM_OK)
        return ret;
    it->result = WM_OK;
    it->seq = seq;
    return WM_OK;
}

/* Copy the fields a PROJECT/PROGRAM request gave onto p. */
static void project_merge(struct wm_project *p, const struct wm_project *in)
{
    if (in->set_mask & WM_PSET_CATEGORY)
        memcpy(p->category, in->category, sizeof p->category);
    if (in->set_mask & WM_PSET_SCOPE)
        p->scope = in->scope;
    if (in->set_mask & WM_PSET_START)
        p->start = in->start;
    if (in->set_mask & WM_PSET_END)
        p->end = in->end;
    for (int i = 0; i < 3; i++)
        if (in->set_mask & (WM_PSET_TARGET_STARTED << i))
            p->target[i] = in->target[i];
    if (in->set_mask & WM_PSET_TITLE)
        memcpy(p->title, in->title, sizeof p->title);
}

static int period_ok(struct store_item *it, const struct wm_project *p)
{
    if (p->start != WM_DATE_NONE && p->end != WM_DATE_NONE && p->start > p->end) {
        it->result = WM_EINVALID;
        proto_errf(it->err, sizeof it->err, "start after end for %s %s",
                   it->op == STORE_OP_PROGRAM ? "the program" : "project", it->u.project.name);
        return 0;
    }
    return 1;
}

static int apply_project(struct store_wtx *w, struct store_item *it)
{
    const struct wm_project *in = &it->u.project;
    struct wm_project *p = &w->scratch_p;
    const char *name = in->name;
    uint32_t id;
    uint8_t idb[4];
    MDB_val v;
    int ret = store_wtx_get(w, STORE_DBI_PROJECTS, name, strlen(name), &v);

    if (ret < 0)
        return ret;
    if (ret == 1) {
        ret = store_project_value(&v, &id, p);
        if (ret != WM_OK)
            return ret;
    } else {
        if (!(in->set_mask & WM_PSET_CATEGORY)) {
            it->result = WM_EINVALID;
            proto_errf(it->err, sizeof it->err, "missing field category for new project %s", name);
            return WM_OK;
        }
        if (w->c.next_project > 0xffff) {
            it->result = WM_EINVALID;
            proto_errf(it->err, sizeof it->err, "too many projects: cannot create %s", name);
            return WM_OK;
        }
        store_program_default(p);
        memcpy(p->name, name, sizeof p->name);
        p->scope = WM_SCOPE_REGIONAL;
        id = (uint32_t)w->c.next_project;
    }
    project_merge(p, in);
    if (!period_ok(it, p))
        return WM_OK;
    /* A new scope moves the program's placement counts of the project's persons: the
     * person layer does that, in order with the batch's events. */
    {
        struct store_pentry e;
        memset(&e, 0, sizeof e);
        e.project = (uint16_t)id;
        ret = store_people_push(&w->s->people, STORE_POP_RESCOPE, NULL, &e,
                                p->scope == WM_SCOPE_REGIONAL);
        if (ret != WM_OK)
            return ret;
    }
    msgpack_sbuffer_clear(&w->s->sb);
    store_put_u32(idb, id);
    if (msgpack_sbuffer_write(&w->s->sb, (const char *)idb, 4) != 0)
        return WM_ENOMEM;
    ret = proto_project_encode(p, &w->s->sb);
    if (ret == WM_OK)
        ret = store_wtx_put(w, STORE_DBI_PROJECTS, name, strlen(name), w->s->sb.data, w->s->sb.size,
                            0);
    if (ret != WM_OK)
        return ret;
    if (id == w->c.next_project)
        w->c.next_project++;
    it->result = WM_OK;
    return WM_OK;
}

static int apply_program(struct store_wtx *w, struct store_item *it)
{
    struct wm_project *p = &w->scratch_p;
    MDB_val v;
    int ret = store_wtx_get(w, STORE_DBI_META, "program", 7, &v);

    if (ret < 0)
        return ret;
    if (ret == 1) {
        if (proto_project_decode(v.mv_data, v.mv_size, p) != WM_OK)
            return WM_EVERSION;
    } else {
        store_program_default(p);
    }
    project_merge(p, &it->u.project);
    memcpy(p->name, "*", 2);
    if (!period_ok(it, p))
        return WM_OK;
    msgpack_sbuffer_clear(&w->s->sb);
    ret = proto_project_encode(p, &w->s->sb);
    if (ret == WM_OK)
        ret = store_wtx_put(w, STORE_DBI_META, "program", 7, w->s->sb.data, w->s->sb.size, 0);
    if (ret != WM_OK)
        return ret;
    it->result = WM_OK;
    return WM_OK;
}

/* ---- the batch ---------------------------------------------------------------- */

/* Every item as if not yet tried: a batch may run again after the map grew. */
static void items_reset(struct store_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        items[i].result = WM_OK;
        items[i].dup = 0;
        items[i].seq = 0;
        items[i].replaced = 0;
        items[i].err[0] = '\0';
    }
}

/* Rebuild the person layer from the store (under its write lock), after it failed to
 * follow a commit; until that works it is marked damaged and no batch is applied. */
static int people_rebuild(struct store *s)
{
    char err[256];

    if (store_people_load(s, err, sizeof err) != WM_OK) {
        s->people.damaged = 1;
        return WM_EINTERNAL;
    }
    s->people.damaged = 0;
    return WM_OK;
}

/* Run every item of the batch in the transaction; an item's own failure is its
 * result, a failure of the transaction stops the batch. */
static int apply_items(struct store_wtx *w, struct store_item *items, size_t n)
{
    int ret = WM_OK;

    for (size_t i = 0; i < n && ret == WM_OK; i++) {
        switch (items[i].op) {
        case STORE_OP_EVENT:
            ret = apply_event(w, &items[i]);
            break;
        case STORE_OP_RETRACT:
            ret = apply_retract(w, &items[i]);
            break;
        case STORE_OP_REPLACE:
            ret = apply_replace(w, &items[i]);
            break;
        case STORE_OP_PROJECT:
            ret = apply_project(w, &items[i]);
            break;
        case STORE_OP_PROGRAM:
            ret = apply_program(w, &items[i]);
            break;
        case STORE_OP_NOTE:
            ret = store_note_apply(w, &items[i]);
            break;
        default:
            items[i].result = WM_EINVALID;
            proto_errf(items[i].err, sizeof items[i].err, "unknown store operation %d",
                       (int)items[i].op);
            break;
        }
    }
    return ret;
}

/* Commit the transaction while the memory part applies the batch's changes on its own
 * thread; its write lock (held by the caller) keeps readers out until both are done,
 * so a reader sees the same commit in both. */
static int commit_with_people(struct store *s, struct store_wtx *w)
{
    int rc, ret;

    store_people_submit(&s->people);
    rc = mdb_txn_commit(w->txn);
    w->txn = NULL;
    ret = store_people_finish(&s->people);
    if (rc != 0) {
        store_ids_drop(&s->people.ids);
        store_people_rollback(&s->people);
        if (s->people.damaged)
            people_rebuild(s);
        return store_wtx_lmdb(w, rc);
    }
    store_people_commit(&s->people);
    store_ids_merge(&s->people.ids);
    if (ret != WM_OK)
        people_rebuild(s); /* committed, but the layer could not follow */
    return WM_OK;
}

/* One attempt at the batch. Returns WM_OK when committed. */
static int apply_once(struct store *s, struct store_wtx *w, struct store_item *items, size_t n)
{
    int ret;

    items_reset(items, n);
    store_people_drop(&s->people);
    store_ids_drop(&s->people.ids);
    ret = store_wtx_begin(s, w);
    if (ret == WM_OK)
        ret = apply_items(w, items, n);
    if (ret == WM_OK)
        ret = store_wtx_put(w, STORE_DBI_META, "counters", 8, &w->c, sizeof w->c, 0);
    if (ret == WM_OK && pthread_rwlock_wrlock(&s->people.lock) != 0)
        ret = WM_EINTERNAL;
    /* room for the new ids before the commit: once committed they must fit */
    if (ret == WM_OK && store_ids_reserve(&s->people.ids, s->people.ids.nadd) != WM_OK) {
        pthread_rwlock_unlock(&s->people.lock);
        ret = WM_ENOMEM;
    }
    if (ret != WM_OK) {
        store_wtx_abort(w);
        store_people_drop(&s->people);
        store_ids_drop(&s->people.ids);
        return ret;
    }
    ret = commit_with_people(s, w);
    pthread_rwlock_unlock(&s->people.lock);
    return ret;
}

int store_apply(struct store *s, struct store_item *items, size_t n)
{
    struct store_wtx w;
    int ret;

    w.mdb_rc = 0;
    ret = WM_OK;
    if (s->people.damaged) {
        /* only the writer changes it: reading the flag needs no lock */
        if (pthread_rwlock_wrlock(&s->people.lock) != 0)
            return WM_EINTERNAL;
        ret = people_rebuild(s);
        pthread_rwlock_unlock(&s->people.lock);
    }
    while (ret == WM_OK) {
        ret = apply_once(s, &w, items, n);
        if (ret != WM_EMAPFULL)
            break;
        ret = store_grow(s);
        if (ret == WM_OK)
            continue;
    }
    if (ret == WM_OK) {
        /* between batches: the memory part is as it is after this commit */
        store_ckpt_maybe(s, w.c.last_seq);
        return WM_OK;
    }
    /* Nothing was written: every item gets the same storage error. */
    for (size_t i = 0; i < n; i++) {
        items[i].result = WM_ESTORAGE;
        items[i].dup = 0;
        items[i].seq = 0;
        items[i].replaced = 0;
        if (ret == WM_EMAPFULL)
            proto_errf(items[i].err, sizeof items[i].err,
                       "store is full (map at its limit of %zu bytes); nothing was written",
                       s->map_max);
        else
            proto_errf(items[i].err, sizeof items[i].err,
                       "store failed (%s%s%s); nothing was written", wm_strerror(ret),
                       w.mdb_rc ? ": " : "", w.mdb_rc ? mdb_strerror(w.mdb_rc) : "");
    }
    if (ret == WM_EMAPFULL || ret == WM_EIO)
        return ret;
    return WM_ESTORAGE;
}
