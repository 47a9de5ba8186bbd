/*
 * storage: the top of the module. The store's life (open with the schema check and
 * the rebuild of its memory part, close) and the cheap whole-store reads: totals and
 * statistics.
 */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "store_int.h"

#define STORE_DEFAULT_MAP ((size_t)1 << 30)
#define STORE_DEFAULT_MAP_MAX ((size_t)64 << 30)

static const char *const dbi_names[STORE_DBI_COUNT_] = {
    [STORE_DBI_META] = "meta",           [STORE_DBI_EVENTS] = "events",
    [STORE_DBI_RETRACTED] = "retracted", [STORE_DBI_PROJECTS] = "projects",
    [STORE_DBI_NAMES] = "names",         [STORE_DBI_NOTES] = "notes",
};

/* DBIs of older schemas whose content is in memory now, rebuilt from the events:
 * schema 1's person layer, the rollup cells (schema 1 and 2; day, full and PROGRESS
 * cells left it with schema 2, the year and month VEC cells with 3), and the ids index
 * (schema 1-3; in memory with schema 4, ids.c). */
static const char *const old_dbis[] = {"persons", "pidx",   "pplace", "pfirst",
                                       "pmulti",  "rollup", "ids"};

/* Upgrade a schema 1, 2 or 3 store in txn: drop the DBIs that are in memory now.
 * Everything else is the same (the ids index's hash key is written by the caller). */
static int store_upgrade(MDB_txn *txn)
{
    int rc = 0;

    for (size_t i = 0; i < sizeof old_dbis / sizeof old_dbis[0] && rc == 0; i++) {
        MDB_dbi dbi;
        rc = mdb_dbi_open(txn, old_dbis[i], 0, &dbi);
        if (rc == MDB_NOTFOUND) {
            rc = 0;
            continue;
        }
        if (rc == 0)
            rc = mdb_drop(txn, dbi, 1);
    }
    return rc;
}

/* An LMDB failure while initialising: err says so. Returns the translated code. */
static int init_fail(const struct store_options *opt, int rc, char *err, size_t errlen)
{
    proto_errf(err, errlen, "cannot initialise store in %s: %s", opt->dir, mdb_strerror(rc));
    return store_lmdb_err(rc);
}

/* The schema version in txn into *ver: 0 for a new store, else a version this build
 * reads (1 .. STORE_SCHEMA_VERSION). A newer one is refused naming both versions. */
static int schema_read(struct store *s, MDB_txn *txn, const struct store_options *opt,
                       uint32_t *ver, char *err, size_t errlen)
{
    MDB_val k = {6, "schema"}, v;
    int rc = mdb_get(txn, s->dbi[STORE_DBI_META], &k, &v);

    *ver = 0;
    if (rc == MDB_NOTFOUND)
        return WM_OK;
    if (rc != 0)
        return init_fail(opt, rc, err, errlen);
    if (v.mv_size != sizeof *ver) {
        proto_errf(err, errlen, "store in %s: malformed schema version", opt->dir);
        return WM_EVERSION;
    }
    memcpy(ver, v.mv_data, sizeof *ver);
    if (*ver < 1 || *ver > STORE_SCHEMA_VERSION) {
        proto_errf(err, errlen,
                   "store in %s has schema version %u, but this werkmonitord (%s) knows schema "
                   "versions 1 to %d only: run a werkmonitord that knows schema %u, or export the "
                   "store with that one and restore the export with this one (README, "
                   "\"Operations\")",
                   opt->dir, (unsigned)*ver, WM_VERSION, STORE_SCHEMA_VERSION, (unsigned)*ver);
        return WM_EVERSION;
    }
    return WM_OK;
}

/* Check the schema version in txn, upgrade an older store, and write the version of a
 * new or upgraded one. */
static int schema_check(struct store *s, MDB_txn *txn, const struct store_options *opt, char *err,
                        size_t errlen)
{
    MDB_val k = {6, "schema"}, v;
    uint32_t ver;
    int rc, ret = schema_read(s, txn, opt, &ver, err, errlen);

    if (ret != WM_OK)
        return ret;
    if (ver >= 1 && ver < STORE_SCHEMA_VERSION && (rc = store_upgrade(txn)) != 0)
        return init_fail(opt, rc, err, errlen);
    s->schema = STORE_SCHEMA_VERSION;
    if (ver == STORE_SCHEMA_VERSION)
        return WM_OK;
    ver = STORE_SCHEMA_VERSION;
    v.mv_size = sizeof ver;
    v.mv_data = &ver;
    rc = mdb_put(txn, s->dbi[STORE_DBI_META], &k, &v, 0);
    return rc == 0 ? WM_OK : init_fail(opt, rc, err, errlen);
}

/* Give the configured municipalities their ids (new names the next ones) in txn. */
static int register_gemeenten(struct store *s, MDB_txn *txn, const struct store_options *opt,
                              char *err, size_t errlen)
{
    struct store_counters c;
    MDB_val k = {8, "counters"}, v = {sizeof c, &c};
    int rc, ret = store_counters_get(s, txn, &c);

    if (ret != WM_OK) {
        proto_errf(err, errlen, "store in %s: cannot read counters", opt->dir);
        return ret;
    }
    if (c.next_project == 0)
        c.next_project = c.next_gemeente = 1;
    for (size_t i = 0; i < opt->n_gemeenten; i++) {
        uint32_t id;
        ret = store_gemeente_id(s, txn, opt->gemeenten[i], 1, &c, &id);
        if (ret != WM_OK) {
            proto_errf(err, errlen, "store in %s: cannot register gemeente '%s': %s", opt->dir,
                       opt->gemeenten[i], wm_strerror(ret));
            return ret;
        }
    }
    rc = mdb_put(txn, s->dbi[STORE_DBI_META], &k, &v, 0);
    return rc == 0 ? WM_OK : init_fail(opt, rc, err, errlen);
}

/* The store's uuid (meta "uuid"), made when missing: it ties the files beside LMDB
 * (the memory part's checkpoint) to this store. */
static int store_uuid(struct store *s, MDB_txn *txn, const struct store_options *opt, char *err,
                      size_t errlen)
{
    MDB_val k = {4, "uuid"}, v;
    int rc = mdb_get(txn, s->dbi[STORE_DBI_META], &k, &v);

    if (rc == 0 && v.mv_size == STORE_UUID_LEN) {
        memcpy(s->ckpt.uuid, v.mv_data, STORE_UUID_LEN);
        return WM_OK;
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        return init_fail(opt, rc, err, errlen);
    if (s->read_only) {
        /* a store no daemon of this build has opened: it has no checkpoint either */
        memset(s->ckpt.uuid, 0, STORE_UUID_LEN);
        return WM_OK;
    }
    if (getrandom(s->ckpt.uuid, STORE_UUID_LEN, 0) != STORE_UUID_LEN) {
        proto_errf(err, errlen, "store in %s: no random bytes for its uuid: %s", opt->dir,
                   strerror(errno));
        return WM_EIO;
    }
    v.mv_size = STORE_UUID_LEN;
    v.mv_data = s->ckpt.uuid;
    rc = mdb_put(txn, s->dbi[STORE_DBI_META], &k, &v, 0);
    return rc == 0 ? WM_OK : init_fail(opt, rc, err, errlen);
}

/* Create the named DBIs, write or check the schema version, make the uuid and register
 * the configured municipalities, in one write transaction. */
static int store_init_txn(struct store *s, const struct store_options *opt, char *err,
                          size_t errlen)
{
    MDB_txn *txn = NULL;
    int rc, ret;

    rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc != 0)
        return init_fail(opt, rc, err, errlen);
    for (int i = 0; i < STORE_DBI_COUNT_ && rc == 0; i++)
        rc = mdb_dbi_open(txn, dbi_names[i], MDB_CREATE, &s->dbi[i]);
    ret = rc != 0 ? init_fail(opt, rc, err, errlen) : schema_check(s, txn, opt, err, errlen);
    if (ret == WM_OK && (ret = store_ids_key_init(s, txn)) != WM_OK)
        proto_errf(err, errlen, "cannot initialise store in %s: no key for the ids index: %s",
                   opt->dir, wm_strerror(ret));
    if (ret == WM_OK)
        ret = store_uuid(s, txn, opt, err, errlen);
    if (ret == WM_OK)
        ret = register_gemeenten(s, txn, opt, err, errlen);
    if (ret != WM_OK) {
        mdb_txn_abort(txn);
        return ret;
    }
    rc = mdb_txn_commit(txn);
    return rc == 0 ? WM_OK : init_fail(opt, rc, err, errlen);
}

/* Open the named DBIs and read the schema version in a read transaction: a read-only
 * store changes nothing. */
static int store_init_readonly(struct store *s, const struct store_options *opt, char *err,
                               size_t errlen)
{
    MDB_txn *txn = NULL;
    uint32_t ver = 0;
    int rc, ret;

    rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return init_fail(opt, rc, err, errlen);
    for (int i = 0; i < STORE_DBI_COUNT_ && rc == 0; i++) {
        rc = mdb_dbi_open(txn, dbi_names[i], 0, &s->dbi[i]);
        /* notes came later within schema 2: a read-write open creates the DBI, a
         * read-only one reads an older store as having no notes */
        if (rc == MDB_NOTFOUND && i == STORE_DBI_NOTES) {
            s->no_notes = 1;
            rc = 0;
        }
    }
    if (rc == MDB_NOTFOUND) {
        proto_errf(err, errlen, "%s holds no werkmonitor store (an LMDB file without its tables)",
                   opt->dir);
        ret = WM_EVERSION;
    } else {
        ret =
            rc != 0 ? init_fail(opt, rc, err, errlen) : schema_read(s, txn, opt, &ver, err, errlen);
    }
    if (ret == WM_OK && ver == 0) {
        proto_errf(err, errlen, "%s holds no werkmonitor store (no schema version)", opt->dir);
        ret = WM_EVERSION;
    }
    if (ret == WM_OK)
        ret = store_uuid(s, txn, opt, err, errlen);
    if (ret != WM_OK) {
        mdb_txn_abort(txn);
        return ret;
    }
    s->schema = ver;
    /* committed, not aborted: the DBI handles stay open for later transactions */
    rc = mdb_txn_commit(txn);
    return rc == 0 ? WM_OK : init_fail(opt, rc, err, errlen);
}

/* A store with its locks and buffers, no environment yet. WM_OK and *out, or
 * WM_ENOMEM with err saying why. */
static int store_new(const struct store_options *opt, struct store **out, char *err, size_t errlen)
{
    struct store *s = calloc(1, sizeof *s);
    pthread_rwlockattr_t attr;
    size_t plen;
    int rc;

    *out = NULL;
    if (!s) {
        proto_errf(err, errlen, "out of memory");
        return WM_ENOMEM;
    }
    atomic_init(&s->map_grows, 0);
    msgpack_sbuffer_init(&s->sb);
    if (store_people_init(&s->people) != WM_OK) {
        free(s);
        proto_errf(err, errlen, "cannot create lock");
        return WM_ENOMEM;
    }
    /* A queue of readers must not starve the writer waiting to grow the map. */
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    rc = pthread_rwlock_init(&s->resize_lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (rc != 0) {
        store_people_free(&s->people);
        free(s);
        proto_errf(err, errlen, "cannot create lock: %s", strerror(rc));
        return WM_ENOMEM;
    }
    s->lock_fd = -1;
    s->ckpt.off = opt->checkpoint_every <= STORE_CKPT_OFF;
    s->ckpt.every = opt->checkpoint_every > 0    ? (uint64_t)opt->checkpoint_every
                    : opt->checkpoint_every == 0 ? STORE_CKPT_DEFAULT
                                                 : 0;
    /* huge pages and a forked child do not mix (store_int.h) */
    store_huge_pages_allowed = s->ckpt.every == 0;
    plen = strlen(opt->dir) + sizeof "/memory.ckpt.tmp";
    s->data_path = malloc(plen);
    s->ckpt.path = malloc(plen);
    s->ckpt.tmp = malloc(plen);
    s->ckpt.dir = strdup(opt->dir);
    if (!s->data_path || !s->ckpt.path || !s->ckpt.tmp || !s->ckpt.dir) {
        proto_errf(err, errlen, "out of memory");
        store_close(s);
        return WM_ENOMEM;
    }
    snprintf(s->data_path, plen, "%s/data.mdb", opt->dir);
    snprintf(s->ckpt.path, plen, "%s/memory.ckpt", opt->dir);
    snprintf(s->ckpt.tmp, plen, "%s/memory.ckpt.tmp", opt->dir);
    *out = s;
    return WM_OK;
}

/* Take the store's lock (dir/lock, flock): one process at a time writes the files
 * beside data.mdb, which LMDB's own locking does not cover. WM_OK or WM_EIO. */
static int store_lock(struct store *s, const struct store_options *opt, char *err, size_t errlen)
{
    size_t plen = strlen(opt->dir) + sizeof "/lock";
    char *path = malloc(plen);

    if (!path) {
        proto_errf(err, errlen, "out of memory");
        return WM_ENOMEM;
    }
    snprintf(path, plen, "%s/lock", opt->dir);
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd < 0) {
        proto_errf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        free(path);
        return WM_EIO;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            proto_errf(err, errlen, "store in %s is in use by another process (%s is locked)",
                       opt->dir, path);
        else
            proto_errf(err, errlen, "cannot lock %s: %s", path, strerror(errno));
        free(path);
        return WM_EIO;
    }
    free(path);
    return WM_OK;
}

/* Create the directory and open the LMDB environment in it. WM_OK, or WM_EIO,
 * WM_EVERSION, WM_ENOMEM with err saying why. */
static int env_open(struct store *s, const struct store_options *opt, char *err, size_t errlen)
{
    MDB_envinfo info;
    int rc, ret;

    struct stat sb;
    unsigned flags = MDB_NOTLS;

    if (s->read_only) {
        /* never create anything: a mistyped directory is an error, not a new store */
        if (stat(s->data_path, &sb) != 0) {
            proto_errf(err, errlen, "no store in %s: %s: %s", opt->dir, s->data_path,
                       strerror(errno));
            return WM_EIO;
        }
        flags |= MDB_RDONLY;
    } else if (mkdir(opt->dir, 0700) != 0 && errno != EEXIST) {
        proto_errf(err, errlen, "cannot create directory %s: %s", opt->dir, strerror(errno));
        return WM_EIO;
    }
    if (!s->read_only) {
        ret = store_lock(s, opt, err, errlen);
        if (ret != WM_OK)
            return ret;
        /* a checkpoint being written when the process died */
        unlink(s->ckpt.tmp);
    }
    s->map_size = opt->map_size ? opt->map_size : STORE_DEFAULT_MAP;
    s->map_max = opt->map_max ? opt->map_max : STORE_DEFAULT_MAP_MAX;
    if (s->map_max < s->map_size)
        s->map_max = s->map_size;
    rc = mdb_env_create(&s->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(s->env, STORE_DBI_COUNT_ + 4);
    if (rc == 0)
        rc = mdb_env_set_maxreaders(s->env, 1022);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->env, s->map_size);
    /* MDB_NOTLS: read transactions belong to the transaction, not the thread, so any
     * thread may read. No MDB_NOSYNC/NOMETASYNC: a commit is durable when it returns. */
    if (rc == 0)
        rc = mdb_env_open(s->env, opt->dir, flags, 0600);
    if (rc != 0) {
        ret = store_lmdb_err(rc);
        proto_errf(err, errlen, "cannot open store in %s: %s", opt->dir, mdb_strerror(rc));
        return ret == WM_EVERSION || ret == WM_ENOMEM ? ret : WM_EIO;
    }
    /* An existing store may be larger than the size asked for: LMDB keeps its size. */
    if (mdb_env_info(s->env, &info) == 0 && info.me_mapsize > s->map_size)
        s->map_size = info.me_mapsize;
    if (s->map_max < s->map_size)
        s->map_max = s->map_size;
    return WM_OK;
}

/* The seq of the last record. WM_OK or an error. */
static int store_last_seq(struct store *s, uint64_t *seq)
{
    struct store_counters c;
    MDB_txn *txn;
    int ret = store_read_begin(s, &txn);

    *seq = 0;
    if (ret != WM_OK)
        return ret;
    ret = store_counters_get(s, txn, &c);
    store_read_end(s, txn);
    if (ret == WM_OK)
        *seq = c.last_seq;
    return ret;
}

int store_open(const struct store_options *opt, struct store **out, char *err, size_t errlen)
{
    uint64_t last;
    struct store *s;
    int ret = store_new(opt, &s, err, errlen);

    *out = NULL;
    if (ret != WM_OK)
        return ret;
    s->read_only = (opt->flags & STORE_OPEN_READONLY) != 0;
    ret = env_open(s, opt, err, errlen);
    if (ret == WM_OK && s->read_only) {
        ret = store_init_readonly(s, opt, err, errlen);
        if (ret != WM_OK) {
            store_close(s);
            return ret;
        }
        *out = s;
        return WM_OK;
    }
    while (ret == WM_OK) {
        ret = store_init_txn(s, opt, err, errlen);
        if (ret != WM_EMAPFULL)
            break;
        ret = store_grow(s);
        if (ret != WM_OK) {
            proto_errf(err, errlen, "store in %s: map full at %zu bytes", opt->dir, s->map_size);
            if (ret == WM_EMAPFULL)
                ret = WM_EIO;
        }
    }
    if (ret == WM_OK)
        ret = store_people_open(s, err, errlen);
    if (ret == WM_OK && (ret = store_people_start(&s->people)) != WM_OK)
        proto_errf(err, errlen, "cannot start the person layer's thread");
    if (ret != WM_OK) {
        store_close(s);
        return ret;
    }
    s->opened = 1;
    /* after a rebuild (or with a checkpoint far behind), a new one is written at once */
    if (!s->ckpt.off && store_last_seq(s, &last) == WM_OK)
        store_ckpt_maybe(s, last);
    *out = s;
    return WM_OK;
}

unsigned store_schema(const struct store *s)
{
    return s->schema;
}

/* At close: the memory part to its checkpoint, unless the file already holds it (or it
 * is damaged, or checkpoints are off). Failing costs the next open a rebuild, nothing
 * else. */
static void store_ckpt_close(struct store *s)
{
    uint64_t seq;
    uint32_t crc;
    uint8_t *buf;
    char err[256];

    store_ckpt_stop(s);
    if (!s->opened || s->ckpt.off || s->people.damaged || store_last_seq(s, &seq) != WM_OK ||
        seq == s->ckpt.seq || store_record_crc(s, NULL, seq, &crc) != WM_OK)
        return;
    buf = malloc((size_t)1 << 20);
    if (buf && store_ckpt_write(&s->people, &s->ckpt, seq, crc, buf, err, sizeof err) == WM_OK)
        s->ckpt.seq = seq;
    free(buf);
}

void store_close(struct store *s)
{
    if (!s)
        return;
    /* the memory part's thread is idle between batches; the checkpoint reads the memory
     * part from this thread */
    store_ckpt_close(s);
    if (s->env)
        mdb_env_close(s->env);
    pthread_rwlock_destroy(&s->resize_lock);
    store_people_free(&s->people);
    msgpack_sbuffer_destroy(&s->sb);
    store_ckpt_free(&s->ckpt);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    free(s->data_path);
    free(s);
}

int store_totals(struct store *s, struct wm_totals *t)
{
    struct store_counters c;
    MDB_txn *txn;
    int ret;

    memset(t, 0, sizeof *t);
    /* placed persons are in the person layer: its lock, then the read transaction */
    if (pthread_rwlock_rdlock(&s->people.lock) != 0)
        return WM_EIO;
    t->placed_persons = s->people.persons.placed;
    ret = s->people.damaged ? WM_EIO : store_read_begin(s, &txn);
    if (ret == WM_OK) {
        ret = store_counters_get(s, txn, &c);
        store_read_end(s, txn);
    }
    pthread_rwlock_unlock(&s->people.lock);
    if (ret != WM_OK)
        return WM_EIO;
    t->seq = c.last_seq;
    t->started = c.started;
    t->completed = c.completed;
    t->placed = c.placed;
    t->outflow = c.outflow;
    return WM_OK;
}

void store_ckpt_stats(const struct store *s, struct store_stats *st)
{
    memset(st, 0, sizeof *st);
    st->checkpoint_seq = s->ckpt.seq;
    st->checkpoints_written = s->ckpt.written;
    st->checkpoint_failures = s->ckpt.failures;
    snprintf(st->checkpoint_error, sizeof st->checkpoint_error, "%s", s->ckpt.last_error);
}

int store_stats(struct store *s, struct store_stats *st)
{
    struct store_counters c;
    struct stat sb;
    MDB_txn *txn;
    int ret;

    memset(st, 0, sizeof *st);
    /* The person layer's lock first, as every reader takes it: never inside a read
     * transaction, or the writer could wait for one while holding it. */
    if (pthread_rwlock_rdlock(&s->people.lock) != 0)
        return WM_EIO;
    st->persons = s->people.persons.n;
    st->person_entries = s->people.persons.entries;
    st->memory_cells = s->people.roll.ncells + s->people.roll.nvcells;
    st->memory_bytes = store_people_bytes(&s->people);
    st->memory_load_ms = s->people.load_ms;
    snprintf(st->memory_source, sizeof st->memory_source, "%s", s->people.load_note);
    st->checkpoint_seq = s->ckpt.seq;
    st->checkpoints_written = s->ckpt.written;
    st->checkpoint_failures = s->ckpt.failures;
    st->checkpoint_rejected = s->ckpt.rejected;
    snprintf(st->checkpoint_error, sizeof st->checkpoint_error, "%s", s->ckpt.last_error);
    pthread_rwlock_unlock(&s->people.lock);
    ret = store_read_begin(s, &txn);
    if (ret != WM_OK)
        return WM_EIO;
    ret = store_counters_get(s, txn, &c);
    /* Read under the lock: the writer changes map_size only while holding it. */
    st->map_bytes = s->map_size;
    store_read_end(s, txn);
    if (ret != WM_OK)
        return WM_EIO;
    st->events = c.events;
    st->retracted = c.retracted;
    st->retractions = c.retractions;
    st->last_seq = c.last_seq;
    st->map_grows = atomic_load(&s->map_grows);
    if (stat(s->data_path, &sb) == 0)
        st->db_bytes = (uint64_t)sb.st_size;
    return WM_OK;
}
