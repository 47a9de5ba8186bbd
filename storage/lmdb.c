/*
 * storage: LMDB, wrapped once. The one translation of LMDB codes into wm_err, read
 * transactions under the resize lock, map growth, the whole-store counters, and the
 * write transaction's calls that keep the first LMDB code for the error message.
 */
#include <errno.h>
#include <string.h>

#include "store_int.h"

int store_lmdb_err(int rc)
{
    switch (rc) {
    case 0:
        return WM_OK;
    case MDB_NOTFOUND:
        return WM_ENOT_FOUND;
    case MDB_KEYEXIST:
        return WM_ECONFLICT;
    case MDB_MAP_FULL:
        return WM_EMAPFULL;
    case MDB_VERSION_MISMATCH:
    case MDB_INVALID:
        return WM_EVERSION;
    case MDB_TXN_FULL:
    case MDB_CURSOR_FULL:
    case MDB_PAGE_FULL:
    case MDB_DBS_FULL:
    case MDB_READERS_FULL:
    case MDB_TLS_FULL:
    case MDB_MAP_RESIZED:
    case MDB_BAD_RSLOT:
    case MDB_BAD_TXN:
    case MDB_BAD_VALSIZE:
    case MDB_BAD_DBI:
        return WM_ESTORAGE;
    case ENOMEM:
        return WM_ENOMEM;
    default:
        /* EIO, ENOSPC, EACCES, MDB_CORRUPTED, MDB_PANIC, ...: the disk failed us. */
        return WM_EIO;
    }
}

/* Another process (the daemon, beside a read-only store) grew the map: adopt its size,
 * which LMDB allows only while this process has no transaction. */
static int adopt_map_size(struct store *s)
{
    MDB_envinfo info;
    int rc;

    if (pthread_rwlock_wrlock(&s->resize_lock) != 0)
        return EINVAL;
    rc = mdb_env_set_mapsize(s->env, 0);
    if (rc == 0 && mdb_env_info(s->env, &info) == 0)
        s->map_size = info.me_mapsize;
    pthread_rwlock_unlock(&s->resize_lock);
    return rc;
}

int store_read_begin(struct store *s, MDB_txn **txn)
{
    int rc;

    for (int tries = 0;; tries++) {
        if (pthread_rwlock_rdlock(&s->resize_lock) != 0)
            return WM_EINTERNAL;
        rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
        if (rc == 0)
            return WM_OK;
        pthread_rwlock_unlock(&s->resize_lock);
        if (rc != MDB_MAP_RESIZED || tries == 3 || (rc = adopt_map_size(s)) != 0)
            return store_lmdb_err(rc);
    }
}

int store_env_copy(struct store *s, const char *path)
{
    int rc;

    for (int tries = 0;; tries++) {
        /* mdb_env_copy2 runs its own read transaction: hold the lock like any reader.
         * Meanwhile the writer goes on; only a map growth waits for the copy to end. */
        if (pthread_rwlock_rdlock(&s->resize_lock) != 0)
            return EINVAL;
        rc = mdb_env_copy2(s->env, path, MDB_CP_COMPACT);
        pthread_rwlock_unlock(&s->resize_lock);
        if (rc != MDB_MAP_RESIZED || tries == 3 || (rc = adopt_map_size(s)) != 0)
            return rc;
    }
}

void store_read_end(struct store *s, MDB_txn *txn)
{
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&s->resize_lock);
}

int store_grow(struct store *s)
{
    size_t next;
    int rc;

    if (s->map_size >= s->map_max)
        return WM_EMAPFULL;
    next = s->map_size > s->map_max / 2 ? s->map_max : s->map_size * 2;
    if (pthread_rwlock_wrlock(&s->resize_lock) != 0)
        return WM_EINTERNAL;
    rc = mdb_env_set_mapsize(s->env, next);
    if (rc == 0)
        s->map_size = next;
    pthread_rwlock_unlock(&s->resize_lock);
    if (rc != 0)
        return store_lmdb_err(rc);
    atomic_fetch_add(&s->map_grows, 1);
    return WM_OK;
}

int store_counters_get(struct store *s, MDB_txn *txn, struct store_counters *c)
{
    MDB_val k = {8, "counters"}, v;
    int rc = mdb_get(txn, s->dbi[STORE_DBI_META], &k, &v);

    memset(c, 0, sizeof *c);
    if (rc == MDB_NOTFOUND)
        return WM_OK;
    if (rc != 0)
        return store_lmdb_err(rc);
    if (v.mv_size != sizeof *c)
        return WM_EVERSION;
    memcpy(c, v.mv_data, sizeof *c);
    return WM_OK;
}

/* ---- the write transaction: each call keeps the first LMDB code in w->mdb_rc ---- */

int store_wtx_lmdb(struct store_wtx *w, int rc)
{
    if (rc == 0)
        return WM_OK;
    if (w->mdb_rc == 0)
        w->mdb_rc = rc;
    return store_lmdb_err(rc);
}

int store_wtx_begin(struct store *s, struct store_wtx *w)
{
    int ret;

    /* every field but the scratch records, which each use fills first: 8 KiB less to
     * clear per batch */
    w->s = s;
    w->txn = NULL;
    w->mdb_rc = 0;
    for (int i = 0; i < STORE_NAME_CACHE; i++)
        w->projects[i].id = w->gemeenten[i].id = 0;
    ret = store_wtx_lmdb(w, mdb_txn_begin(s->env, NULL, 0, &w->txn));
    if (ret != WM_OK) {
        w->txn = NULL;
        return ret;
    }
    ret = store_counters_get(s, w->txn, &w->c);
    if (ret == WM_OK && w->c.next_project == 0)
        w->c.next_project = w->c.next_gemeente = 1; /* a new store */
    return ret;
}

void store_wtx_abort(struct store_wtx *w)
{
    if (w->txn)
        mdb_txn_abort(w->txn);
    w->txn = NULL;
}

int store_wtx_get(struct store_wtx *w, int dbi, const void *key, size_t klen, MDB_val *v)
{
    MDB_val k = {klen, (void *)key};
    int rc = mdb_get(w->txn, w->s->dbi[dbi], &k, v);

    if (rc == 0)
        return 1;
    if (rc == MDB_NOTFOUND)
        return 0;
    return store_wtx_lmdb(w, rc);
}

int store_wtx_put(struct store_wtx *w, int dbi, const void *key, size_t klen, const void *val,
                  size_t vlen, unsigned flags)
{
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};

    return store_wtx_lmdb(w, mdb_put(w->txn, w->s->dbi[dbi], &k, &v, flags));
}

int store_wtx_put_new(struct store_wtx *w, int dbi, const void *key, size_t klen, const void *val,
                      size_t vlen, MDB_val *old)
{
    MDB_val k = {klen, (void *)key};
    int rc;

    /* one B-tree descent both checks and stores: LMDB returns the value it found */
    old->mv_size = vlen;
    old->mv_data = (void *)val;
    rc = mdb_put(w->txn, w->s->dbi[dbi], &k, old, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST)
        return 1;
    return store_wtx_lmdb(w, rc);
}
