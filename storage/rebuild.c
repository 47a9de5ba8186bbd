/*
 * storage: the memory part loaded when the store opens: from the checkpoint
 * (checkpoint.c) and the records after it, applied as their batches applied them; or
 * rebuilt from every live event, in seq order, with the projects' scopes as they are
 * now, when there is no checkpoint or anything about it does not match. Also the
 * rebuild after the memory part failed to follow a commit, and verify's load. The ids
 * index follows every record (events and retractions alike), the last of a key winning.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store_int.h"

/* The gemeente id of a name, from the registry's table (a handful of names). */
static uint32_t gem_lookup(const struct store_registry *r, const char *name, uint32_t *cache)
{
    if (*cache < r->ngem && strcmp(r->gem[*cache], name) == 0)
        return *cache;
    for (uint32_t i = 1; i < r->ngem; i++)
        if (strcmp(r->gem[i], name) == 0)
            return *cache = i;
    return 0;
}

/* One rebuild: its read transaction and registry, a scratch event, where errors go. */
struct rebuild {
    struct store *s;
    MDB_txn *txn;
    const struct store_registry *reg;
    struct wm_event ev;
    struct wm_retract rt;
    struct wm_event cmp_ev; /* the ids index's comparisons */
    struct wm_retract cmp_rt;
    uint32_t gcache; /* the last gemeente found */
    char *err;
    size_t errlen;
};

/* Decode the event record v (seq) into r->ev. WM_OK or WM_EVERSION (err says so). */
static int decode_event(struct rebuild *r, uint64_t seq, const MDB_val *v)
{
    if (proto_event_decode(v->mv_data, v->mv_size, &r->ev) != WM_OK) {
        proto_errf(r->err, r->errlen, "event record %llu cannot be read", (unsigned long long)seq);
        return WM_EVERSION;
    }
    return WM_OK;
}

/* Add (sign 1) or remove (sign -1) the event r->ev (record seq) to or from the memory
 * part as its batch did. WM_OK, or an error with r->err saying why. */
static int change_event(struct rebuild *r, uint64_t seq, int sign)
{
    const struct store_reg_project *rp = NULL;
    struct store_pentry e;
    uint32_t gem;
    int ret;

    if (r->ev.project[0] && !(rp = store_registry_find(r->reg, r->ev.project))) {
        proto_errf(r->err, r->errlen, "event %llu names project '%s', which is not in the registry",
                   (unsigned long long)seq, r->ev.project);
        return WM_EVERSION;
    }
    gem = gem_lookup(r->reg, r->ev.gemeente, &r->gcache);
    if (gem == 0) {
        proto_errf(r->err, r->errlen, "event %llu names gemeente '%s', which has no id",
                   (unsigned long long)seq, r->ev.gemeente);
        return WM_EVERSION;
    }
    store_people_entry(&r->ev, rp ? rp->id : 0, gem, &e);
    ret = store_people_push(&r->s->people, sign > 0 ? STORE_POP_ADD : STORE_POP_REMOVE,
                            r->ev.person, &e, 0);
    if (ret == WM_OK)
        ret = store_people_apply(&r->s->people);
    if (ret != WM_OK)
        proto_errf(r->err, r->errlen, "cannot build the memory part at record %llu: %s",
                   (unsigned long long)seq, wm_strerror(ret));
    return ret;
}

/* The record at seq, of (principal, id), is now its key's latest in the ids index.
 * WM_OK, or an error with r->err saying why. */
static int note_id(struct rebuild *r, uint64_t seq, const char *principal, const char *id)
{
    int ret = store_ids_upsert(&r->s->people.ids, r->txn, r->s->dbi[STORE_DBI_EVENTS], seq,
                               principal, id, &r->cmp_ev, &r->cmp_rt);

    if (ret != WM_OK)
        proto_errf(r->err, r->errlen, "cannot build the ids index at record %llu: %s",
                   (unsigned long long)seq, wm_strerror(ret));
    return ret;
}

/* The record v (seq) into the ids index, and into r->ev (an event) or r->rt (a
 * retraction): its PROTO_RECORD_* kind, or an error with r->err saying why. */
static int add_id(struct rebuild *r, uint64_t seq, const MDB_val *v)
{
    int kind = proto_record_kind(v->mv_data, v->mv_size), ret;

    if (kind == PROTO_RECORD_EVENT) {
        ret = decode_event(r, seq, v);
        if (ret == WM_OK)
            ret = note_id(r, seq, r->ev.principal, r->ev.id);
        return ret == WM_OK ? kind : ret;
    }
    if (kind == PROTO_RECORD_RETRACT &&
        proto_retract_decode(v->mv_data, v->mv_size, &r->rt) == WM_OK) {
        ret = note_id(r, seq, r->rt.principal, r->rt.id);
        return ret == WM_OK ? kind : ret;
    }
    proto_errf(r->err, r->errlen, "record %llu cannot be read", (unsigned long long)seq);
    return WM_EVERSION;
}

/* Add every record to the ids index, and every event that is not retracted to the rest.
 * Both DBIs are in seq order: the retracted targets are walked alongside the events. */
static int add_live_events(struct rebuild *r)
{
    MDB_cursor *cur = NULL, *rcur = NULL;
    MDB_val k, v, rk, rv;
    int rc, rrc = 0, ret = WM_OK;

    rc = mdb_cursor_open(r->txn, r->s->dbi[STORE_DBI_EVENTS], &cur);
    if (rc == 0)
        rc = mdb_cursor_open(r->txn, r->s->dbi[STORE_DBI_RETRACTED], &rcur);
    if (rc == 0)
        rrc = mdb_cursor_get(rcur, &rk, &rv, MDB_FIRST);
    for (rc = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && ret == WM_OK;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        uint64_t seq = k.mv_size == 8 ? store_get_u64(k.mv_data) : 0;
        int kind = add_id(r, seq, &v);
        if (kind < 0) {
            ret = kind;
            break;
        }
        if (kind != PROTO_RECORD_EVENT)
            continue;
        while (rrc == 0 && rk.mv_size == 8 && store_get_u64(rk.mv_data) < seq)
            rrc = mdb_cursor_get(rcur, &rk, &rv, MDB_NEXT);
        if (rrc != 0 && rrc != MDB_NOTFOUND)
            break;
        if (rrc == 0 && rk.mv_size == 8 && store_get_u64(rk.mv_data) == seq)
            continue; /* retracted */
        ret = change_event(r, seq, 1);
    }
    if (rrc != 0 && rrc != MDB_NOTFOUND)
        rc = rrc;
    if (ret == WM_OK && rc != MDB_NOTFOUND) {
        ret = store_lmdb_err(rc);
        proto_errf(r->err, r->errlen, "cannot read the events: %s", mdb_strerror(rc));
    }
    if (cur)
        mdb_cursor_close(cur);
    if (rcur)
        mdb_cursor_close(rcur);
    return ret;
}

/* Replay every record after seq onto the memory part, as their batches applied them:
 * an event adds its entry, a retraction (a RETRACT's, or a REPLACE's of the version it
 * replaced) removes its target's. *n counts the records. */
static int replay_after(struct rebuild *r, uint64_t seq, uint64_t *n)
{
    MDB_cursor *cur = NULL;
    uint8_t kb[8], tb[8];
    MDB_val k = {8, kb}, v, tk = {8, tb}, tv;
    int rc, ret = WM_OK;

    *n = 0;
    store_put_u64(kb, seq + 1);
    rc = mdb_cursor_open(r->txn, r->s->dbi[STORE_DBI_EVENTS], &cur);
    for (rc = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && ret == WM_OK;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        uint64_t rseq = k.mv_size == 8 ? store_get_u64(k.mv_data) : 0;
        int kind = proto_record_kind(v.mv_data, v.mv_size);
        (*n)++;
        if (kind == PROTO_RECORD_EVENT) {
            ret = decode_event(r, rseq, &v);
            if (ret == WM_OK)
                ret = note_id(r, rseq, r->ev.principal, r->ev.id);
            if (ret == WM_OK)
                ret = change_event(r, rseq, 1);
            continue;
        }
        if (kind != PROTO_RECORD_RETRACT ||
            proto_retract_decode(v.mv_data, v.mv_size, &r->rt) != WM_OK) {
            proto_errf(r->err, r->errlen, "record %llu cannot be read", (unsigned long long)rseq);
            ret = WM_EVERSION;
            break;
        }
        if ((ret = note_id(r, rseq, r->rt.principal, r->rt.id)) != WM_OK)
            break;
        store_put_u64(tb, r->rt.ref_seq);
        rc = mdb_get(r->txn, r->s->dbi[STORE_DBI_EVENTS], &tk, &tv);
        if (rc != 0 || proto_record_kind(tv.mv_data, tv.mv_size) != PROTO_RECORD_EVENT) {
            proto_errf(r->err, r->errlen, "retraction %llu names no event",
                       (unsigned long long)rseq);
            ret = WM_EVERSION;
            break;
        }
        ret = decode_event(r, r->rt.ref_seq, &tv);
        if (ret == WM_OK)
            ret = change_event(r, rseq, -1);
    }
    if (ret == WM_OK && rc != MDB_NOTFOUND && rc != 0) {
        ret = store_lmdb_err(rc);
        proto_errf(r->err, r->errlen, "cannot read the records: %s", mdb_strerror(rc));
    }
    if (cur)
        mdb_cursor_close(cur);
    return ret;
}

/* 1 when the year VEC cells add up to the store's counters: live events in all, and per
 * type (completed: those with a successful result). A cheap check of a memory part
 * that was not built from every record. */
static int totals_match(const struct store_memroll *m, const struct store_counters *c)
{
    uint64_t by_type[WM_TYPE_COUNT_] = {0}, all = 0, success = 0;
    const struct proto_type_desc *ctd = proto_type_desc(WM_TYPE_COMPLETED);

    for (size_t i = 0; i < m->nvcells; i++) {
        const struct store_vcell *vc = &m->vcells[i];
        const uint64_t *vec = &m->vec[vc->off];
        if (vc->gran != STORE_GRAN_YEAR || vc->type >= WM_TYPE_COUNT_)
            continue;
        by_type[vc->type] += vec[0];
        all += vec[0];
        if (vc->type == WM_TYPE_COMPLETED)
            for (uint32_t x = 0; x < ctd->enums[0]->nvalues; x++)
                if (WM_RESULT_SUCCESS(x))
                    success += vec[store_vec_offset(ctd, 0) + x];
    }
    return all == c->events - c->retracted && by_type[WM_TYPE_STARTED] == c->started &&
           by_type[WM_TYPE_PLACED] == c->placed && by_type[WM_TYPE_OUTFLOW] == c->outflow &&
           success == c->completed;
}

/* The scopes of the registry on the checkpoint's memory part. A project whose scope
 * changed after the checkpoint, with persons placed in it then, would need its
 * placement cells moved (as PROJECT's rescope does live): that is left to a rebuild,
 * which starts from today's scopes. A project without such persons (new since, say)
 * just takes its flag. WM_OK, or WM_EVERSION with why saying which project. */
static int ckpt_scopes(struct rebuild *r, char *why, size_t whylen)
{
    struct store_people *pl = &r->s->people;

    for (size_t i = 0; i < r->reg->nproj; i++) {
        const struct store_reg_project *rp = &r->reg->proj[i];
        int regional = rp->p.scope == WM_SCOPE_REGIONAL;
        if (store_people_regional(pl, rp->id) == regional)
            continue;
        if (rp->id < pl->persons.nproj && pl->persons.proj[rp->id].n > 0) {
            proto_errf(why, whylen, "project '%s' changed its scope after the checkpoint",
                       rp->p.name);
            return WM_EVERSION;
        }
        if (store_people_set_regional(pl, rp->id, regional) != WM_OK) {
            proto_errf(why, whylen, "out of memory");
            return WM_ENOMEM;
        }
    }
    return WM_OK;
}

/* The checkpoint ld read into the memory part, checked against txn's records (c its
 * counters) and brought up to them. WM_OK, or an error with why saying what did not
 * match (the caller rebuilds). */
static int from_checkpoint(struct rebuild *r, const struct store_ckpt_load *ld,
                           const struct store_counters *c, uint64_t *replayed, char *why,
                           size_t whylen)
{
    struct store_people *pl = &r->s->people;
    struct store_ids key;
    uint32_t got;
    int ret;

    if (ld->seq > c->last_seq) {
        proto_errf(why, whylen,
                   "the checkpoint covers seq %llu, the store ends at %llu (the store was put "
                   "back from an older copy?)",
                   (unsigned long long)ld->seq, (unsigned long long)c->last_seq);
        return WM_EVERSION;
    }
    if (store_record_crc(r->s, r->txn, ld->seq, &got) != WM_OK || got != ld->rec_crc) {
        proto_errf(why, whylen, "the checkpoint's record %llu differs from the store's",
                   (unsigned long long)ld->seq);
        return WM_EVERSION;
    }
    ret = ckpt_scopes(r, why, whylen);
    if (ret != WM_OK)
        return ret;
    if (store_ids_key_load(&key, r->s, r->txn) != WM_OK ||
        memcmp(key.key, pl->ids.key, sizeof key.key) != 0) {
        proto_errf(why, whylen, "the checkpoint's ids index has another hash key than the store");
        return WM_EVERSION;
    }
    ret = replay_after(r, ld->seq, replayed);
    if (ret != WM_OK) {
        proto_errf(why, whylen, "replaying the records after the checkpoint failed: %s", r->err);
        return ret;
    }
    if (!totals_match(&pl->roll, c)) {
        proto_errf(why, whylen,
                   "the checkpoint and the records after it do not add up to the store's "
                   "counters");
        return WM_EVERSION;
    }
    return WM_OK;
}

/* Room in the ids index for a key per record, so that it is not rehashed on the way. */
static int ids_presize(struct store *s, MDB_txn *txn)
{
    MDB_stat st;

    if (mdb_stat(txn, s->dbi[STORE_DBI_EVENTS], &st) != 0)
        return WM_OK; /* the walk will say why */
    return store_ids_reserve(&s->people.ids, st.ms_entries);
}

/* Every record into the ids index and every live event, with the scopes as they are
 * now, into the emptied memory part. */
static int rebuild_all(struct rebuild *r)
{
    struct store_people *pl = &r->s->people;
    int ret = WM_OK;

    store_people_clear(pl);
    /* the scopes as they are now: replaying the events then gives the same FIRST and
     * UFIRST cells as the live changes and rescopes did */
    for (size_t i = 0; i < r->reg->nproj && ret == WM_OK; i++)
        ret = store_people_set_regional(pl, r->reg->proj[i].id,
                                        r->reg->proj[i].p.scope == WM_SCOPE_REGIONAL);
    if (ret != WM_OK) {
        proto_errf(r->err, r->errlen, "out of memory");
        return ret;
    }
    if ((ret = store_ids_key_load(&pl->ids, r->s, r->txn)) != WM_OK) {
        proto_errf(r->err, r->errlen, "the store has no ids key (meta idkey): %s",
                   wm_strerror(ret));
        return ret;
    }
    if ((ret = ids_presize(r->s, r->txn)) != WM_OK) {
        proto_errf(r->err, r->errlen, "out of memory for the ids index");
        return ret;
    }
    return add_live_events(r);
}

void store_people_ckpt_read(struct store *s, struct store_ckpt_load *ld)
{
    memset(ld, 0, sizeof *ld);
    clock_gettime(CLOCK_MONOTONIC, &ld->t0);
    store_people_clear(&s->people);
    if (s->ckpt.off) {
        ld->status = WM_ENOT_FOUND;
        proto_errf(ld->why, sizeof ld->why, "checkpoints are off");
        return;
    }
    ld->status =
        store_ckpt_read(&s->people, &s->ckpt, &ld->seq, &ld->rec_crc, ld->why, sizeof ld->why);
    /* what the checkpoint does not hold: derived from what it does */
    if (ld->status == WM_OK && store_persons_count_gemeenten(&s->people.persons) != WM_OK) {
        ld->status = WM_ENOMEM;
        proto_errf(ld->why, sizeof ld->why, "out of memory");
        store_people_clear(&s->people);
    }
    if (ld->status == WM_ENOT_FOUND)
        proto_errf(ld->why, sizeof ld->why, "no checkpoint");
}

int store_people_load_from(struct store *s, MDB_txn *txn, const struct store_registry *reg,
                           struct store_ckpt_load *ld, char *err, size_t errlen)
{
    struct store_people *pl = &s->people;
    struct store_counters c;
    struct rebuild *r;
    struct timespec t0, t1;
    uint64_t replayed = 0;
    int ret;

    t0 = ld->t0;
    if (t0.tv_sec == 0 && t0.tv_nsec == 0)
        clock_gettime(CLOCK_MONOTONIC, &t0);
    r = calloc(1, sizeof *r);
    if (!r) {
        proto_errf(err, errlen, "out of memory");
        store_people_clear(pl);
        return WM_ENOMEM;
    }
    r->s = s;
    r->txn = txn;
    r->reg = reg;
    r->err = err;
    r->errlen = errlen;
    pl->undo.logging = 0;
    store_people_drop(pl);
    ret = store_counters_get(s, txn, &c);
    if (ret != WM_OK) {
        proto_errf(err, errlen, "cannot read the store's counters");
        store_people_clear(pl);
        free(r);
        return ret;
    }
    ld->used = 0;
    if (ld->status == WM_OK &&
        from_checkpoint(r, ld, &c, &replayed, ld->why, sizeof ld->why) == WM_OK) {
        ld->used = 1;
        proto_errf(pl->load_note, sizeof pl->load_note,
                   "loaded from the checkpoint of seq %llu, %llu records after it replayed",
                   (unsigned long long)ld->seq, (unsigned long long)replayed);
    } else {
        ld->rejected = ld->status != WM_ENOT_FOUND;
        ret = rebuild_all(r);
        if (ret == WM_OK)
            proto_errf(pl->load_note, sizeof pl->load_note, "rebuilt from the records (%s)",
                       ld->why);
    }
    if (ret == WM_OK) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        pl->load_ms = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000u +
                      (uint64_t)((t1.tv_nsec - t0.tv_nsec) / 1000000);
    }
    free(r);
    return ret;
}

int store_people_open(struct store *s, char *err, size_t errlen)
{
    struct store_ckpt_load ld;
    struct store_registry reg;
    MDB_txn *txn;
    int ret;

    store_people_ckpt_read(s, &ld);
    ret = store_query_begin(s, &txn, &reg, err, errlen);
    if (ret != WM_OK) {
        store_people_clear(&s->people);
        return ret;
    }
    ret = store_people_load_from(s, txn, &reg, &ld, err, errlen);
    store_query_end(s, txn, &reg);
    s->ckpt.seq = s->ckpt.loaded_seq = ld.used ? ld.seq : 0;
    s->ckpt.rejected = ld.rejected;
    /* a checkpoint that does not fit is of no further use (and the next one replaces
     * it); one that could not be read for a passing reason stays */
    if (ret == WM_OK && ld.rejected && ld.status != WM_EIO && ld.status != WM_ENOMEM)
        unlink(s->ckpt.path);
    return ret;
}

int store_people_load(struct store *s, char *err, size_t errlen)
{
    struct store_ckpt_load ld;
    struct store_registry reg;
    MDB_txn *txn;
    int ret = store_query_begin(s, &txn, &reg, err, errlen);

    if (ret != WM_OK)
        return ret;
    memset(&ld, 0, sizeof ld);
    ld.status = WM_ENOT_FOUND;
    proto_errf(ld.why, sizeof ld.why, "it had failed to follow a commit");
    ret = store_people_load_from(s, txn, &reg, &ld, err, errlen);
    store_query_end(s, txn, &reg);
    return ret;
}
