/*
 * storage: the whole store walked in one read transaction, for export: the registry
 * (program, projects and gemeenten by id), then every record by seq with its
 * retraction beside it, then the notes. The caller formats (daemon/export.c); nothing here
 * allocates per record.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* One export: its transaction, callback and scratch records. */
struct export
{
    struct store *s;
    MDB_txn *txn;
    store_export_fn fn;
    void *arg;
    int live_only;
    struct wm_event ev;
    struct wm_retract rt;
    char *err;
    size_t errlen;
};

static int export_registry(struct export *x, const struct store_registry *reg)
{
    struct store_export_item it;
    int ret;

    memset(&it, 0, sizeof it);
    it.kind = STORE_EXPORT_PROGRAM;
    it.u.project = &reg->program;
    if ((ret = x->fn(x->arg, &it)) != 0)
        return ret;
    /* by id: a restore that creates them in this order gives them the same ids */
    for (uint32_t id = 1; id < reg->nid; id++) {
        if (reg->by_id[id] < 0)
            continue;
        it.kind = STORE_EXPORT_PROJECT;
        it.id = id;
        it.u.project = &reg->proj[reg->by_id[id]].p;
        if ((ret = x->fn(x->arg, &it)) != 0)
            return ret;
    }
    for (size_t id = 1; id < reg->ngem; id++) {
        if (reg->gem[id][0] == '\0')
            continue;
        it.kind = STORE_EXPORT_GEMEENTE;
        it.id = (uint32_t)id;
        it.u.gemeente = reg->gem[id];
        if ((ret = x->fn(x->arg, &it)) != 0)
            return ret;
    }
    return WM_OK;
}

/* Pass the record v stored under seq, retracted by rby (0: live). */
static int export_record(struct export *x, uint64_t seq, const MDB_val *v, uint64_t rby)
{
    struct store_export_item it;
    int kind = proto_record_kind(v->mv_data, v->mv_size), ret = WM_EVERSION;

    memset(&it, 0, sizeof it);
    if (kind == PROTO_RECORD_EVENT) {
        if (x->live_only && rby != 0)
            return WM_OK;
        ret = proto_event_decode(v->mv_data, v->mv_size, &x->ev);
        it.kind = STORE_EXPORT_EVENT;
        it.retracted_by = rby;
        it.u.event = &x->ev;
    } else if (kind == PROTO_RECORD_RETRACT) {
        if (x->live_only)
            return WM_OK;
        ret = proto_retract_decode(v->mv_data, v->mv_size, &x->rt);
        it.kind = STORE_EXPORT_RETRACT;
        it.u.retract = &x->rt;
    }
    if (ret != WM_OK) {
        proto_errf(x->err, x->errlen, "record %llu cannot be read (%s)", (unsigned long long)seq,
                   wm_strerror(ret));
        return ret == WM_ENOMEM ? WM_ENOMEM : WM_EVERSION;
    }
    return x->fn(x->arg, &it);
}

/* Every record by seq; the retracted DBI, also by seq, is walked alongside. */
static int export_records(struct export *x)
{
    MDB_cursor *cur = NULL, *rcur = NULL;
    MDB_val k, v, rk, rv;
    int rc, rrc = MDB_NOTFOUND, ret = WM_OK;

    rc = mdb_cursor_open(x->txn, x->s->dbi[STORE_DBI_EVENTS], &cur);
    if (rc == 0)
        rc = mdb_cursor_open(x->txn, x->s->dbi[STORE_DBI_RETRACTED], &rcur);
    if (rc == 0)
        rrc = mdb_cursor_get(rcur, &rk, &rv, MDB_FIRST);
    for (rc = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && ret == WM_OK;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        uint64_t seq, rby = 0;
        if (k.mv_size != 8) {
            proto_errf(x->err, x->errlen, "a record key of %zu bytes (not a seq)", k.mv_size);
            ret = WM_EVERSION;
            break;
        }
        seq = store_get_u64(k.mv_data);
        while (rrc == 0 && rk.mv_size == 8 && store_get_u64(rk.mv_data) < seq)
            rrc = mdb_cursor_get(rcur, &rk, &rv, MDB_NEXT);
        if (rrc != 0 && rrc != MDB_NOTFOUND)
            break;
        if (rrc == 0 && rk.mv_size == 8 && store_get_u64(rk.mv_data) == seq && rv.mv_size == 8)
            rby = store_get_u64(rv.mv_data);
        ret = export_record(x, seq, &v, rby);
    }
    if (rrc != 0 && rrc != MDB_NOTFOUND)
        rc = rrc;
    if (ret == WM_OK && rc != MDB_NOTFOUND) {
        ret = store_lmdb_err(rc);
        proto_errf(x->err, x->errlen, "cannot read the records: %s", mdb_strerror(rc));
    }
    if (cur)
        mdb_cursor_close(cur);
    if (rcur)
        mdb_cursor_close(rcur);
    return ret;
}

int store_export(struct store *s, int live_only, store_export_fn fn, void *arg, char *err,
                 size_t errlen)
{
    struct store_registry reg;
    struct store_counters c;
    struct store_export_item it;
    struct export *x;
    int ret;

    x = calloc(1, sizeof *x);
    if (!x) {
        proto_errf(err, errlen, "out of memory");
        return WM_ENOMEM;
    }
    ret = store_query_begin(s, &x->txn, &reg, err, errlen);
    if (ret != WM_OK) {
        free(x);
        return ret;
    }
    x->s = s;
    x->fn = fn;
    x->arg = arg;
    x->live_only = live_only;
    x->err = err;
    x->errlen = errlen;
    ret = store_counters_get(s, x->txn, &c);
    if (ret != WM_OK) {
        proto_errf(err, errlen, "cannot read the counters: %s", wm_strerror(ret));
    } else {
        memset(&it, 0, sizeof it);
        it.kind = STORE_EXPORT_HEADER;
        it.u.header.schema = s->schema;
        it.u.header.last_seq = c.last_seq;
        it.u.header.events = c.events;
        it.u.header.retracted = c.retracted;
        it.u.header.retractions = c.retractions;
        ret = fn(arg, &it);
    }
    if (ret == WM_OK)
        ret = export_registry(x, &reg);
    if (ret == WM_OK)
        ret = export_records(x);
    if (ret == WM_OK && !live_only)
        ret = store_notes_export(s, x->txn, fn, arg, err, errlen);
    store_query_end(s, x->txn, &reg);
    free(x);
    return ret;
}
