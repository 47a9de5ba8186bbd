/*
 * storage: the rebuild of the memory part from LMDB, when the store opens and when
 * the memory part failed to follow a commit: every live event, in seq order, applied
 * as a batch would apply it, with the projects' scopes as they are now.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    uint32_t gcache; /* the last gemeente found */
    char *err;
    size_t errlen;
};

/* Add the live event record v (seq) to the memory part as its batch did. WM_OK, or an
 * error with r->err saying why. */
static int add_event(struct rebuild *r, uint64_t seq, const MDB_val *v)
{
    const struct store_reg_project *rp = NULL;
    struct store_pentry e;
    uint32_t gem;
    int ret;

    if (proto_record_kind(v->mv_data, v->mv_size) != PROTO_RECORD_EVENT)
        return WM_OK;
    if (proto_event_decode(v->mv_data, v->mv_size, &r->ev) != WM_OK) {
        proto_errf(r->err, r->errlen, "event record %llu cannot be read", (unsigned long long)seq);
        return WM_EVERSION;
    }
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
    ret = store_people_push(&r->s->people, STORE_POP_ADD, r->ev.person, &e, 0);
    if (ret == WM_OK)
        ret = store_people_apply(&r->s->people);
    if (ret != WM_OK)
        proto_errf(r->err, r->errlen, "cannot build the person index: %s", wm_strerror(ret));
    return ret;
}

/* Add every event that is not retracted. Both DBIs are in seq order: the retracted
 * targets are walked alongside the events. */
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
        while (rrc == 0 && rk.mv_size == 8 && store_get_u64(rk.mv_data) < seq)
            rrc = mdb_cursor_get(rcur, &rk, &rv, MDB_NEXT);
        if (rrc != 0 && rrc != MDB_NOTFOUND)
            break;
        if (rrc == 0 && rk.mv_size == 8 && store_get_u64(rk.mv_data) == seq)
            continue; /* retracted */
        ret = add_event(r, seq, &v);
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

int store_people_load_txn(struct store *s, MDB_txn *txn, const struct store_registry *reg,
                          char *err, size_t errlen)
{
    struct store_people *pl = &s->people;
    struct rebuild *r;
    struct timespec t0, t1;
    int ret = WM_OK;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    store_people_clear(pl);
    r = calloc(1, sizeof *r);
    if (!r) {
        proto_errf(err, errlen, "out of memory");
        return WM_ENOMEM;
    }
    r->s = s;
    r->txn = txn;
    r->reg = reg;
    r->err = err;
    r->errlen = errlen;
    pl->undo.logging = 0;
    store_people_drop(pl);
    /* the scopes as they are now: replaying the events then gives the same FIRST and
     * UFIRST cells as the live changes and rescopes did */
    for (size_t i = 0; i < reg->nproj && ret == WM_OK; i++)
        ret = store_people_set_regional(pl, reg->proj[i].id,
                                        reg->proj[i].p.scope == WM_SCOPE_REGIONAL);
    if (ret != WM_OK)
        proto_errf(err, errlen, "out of memory");
    else
        ret = add_live_events(r);
    if (ret == WM_OK) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        pl->load_ms = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000u +
                      (uint64_t)((t1.tv_nsec - t0.tv_nsec) / 1000000);
    }
    free(r);
    return ret;
}

int store_people_load(struct store *s, char *err, size_t errlen)
{
    struct store_registry reg;
    MDB_txn *txn;
    int ret = store_query_begin(s, &txn, &reg, err, errlen);

    if (ret != WM_OK)
        return ret;
    ret = store_people_load_txn(s, txn, &reg, err, errlen);
    store_query_end(s, txn, &reg);
    return ret;
}
