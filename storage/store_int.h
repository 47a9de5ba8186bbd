/*
 * storage internals: the store's state, the LMDB layout and the binary key encodings
 * shared by storage's files. Nothing here is visible outside storage/.
 *
 * The files, bottom up, and this header in the same order. A file calls only files
 * before it in this list, never one after it, so each can be read knowing only what
 * precedes it:
 *
 *   crc.c          CRC-32C, for the files storage writes beside LMDB
 *   mem.c          array growth, huge pages, the index table (find by key)
 *   lmdb.c         LMDB wrapped once: error translation, read transactions under the
 *                  resize lock, map growth, the counters, the write transaction's calls
 *   ids.c          the ids index, in memory: (principal, id) -> its latest record
 *   rollup.c       what rollup cells mean: kinds, VEC counters, time units, date
 *                  ranges split into spans
 *   registry.c     projects and gemeenten as queries see them; PROJECTS
 *   memroll.c      the memory part's rollup: year and month VEC cells, cells of
 *                  every enum combination, PROGRESS's per-project counts
 *   arena.c        the memory part's arena: pseudonyms and entry vectors
 *   persons.c      the person table: ids, entries, the lists of persons
 *   undo.c         the memory part's changes, logged, and their undo
 *   placement.c    PROGRESS's FIRST/UFIRST cells and the placed persons
 *   people.c       the memory part's life, and the thread that applies a batch
 *   checkpoint.c   the memory part saved to a file and read back; the child process
 *                  that writes it while the store runs
 *   rebuild.c      the memory part loaded at open (checkpoint and the records after
 *                  it, or every record), and rebuilt when it failed to follow
 *   versions.c     the versions of an event id: what EVENT, REPLACE and CHECK make of
 *                  an id, CHECK, SHOW
 *   write.c        the write path: a batch in one transaction
 *   count.c        COUNT
 *   progress.c     PROGRESS
 *   backup.c       the store copied whole (hot backup)
 *   export.c       every record and the registry, walked in one snapshot
 *   verify.c       everything derived from the records, recomputed and compared
 *                  with LMDB (verify_mem.c: with the memory part)
 *   store.c        the top: open (schema, the memory part's rebuild), close, totals,
 *                  statistics
 *
 * LMDB layout, one named DBI per concern. Integers in keys are big-endian so that
 * LMDB's byte order is numeric order; dates and time units are stored as
 * u32(value XOR 0x80000000) so that signed order survives. Counter values are u64 in
 * host order (an LMDB file is not portable across byte orders anyway).
 *
 *   meta       "schema" -> u32 version; "counters" -> struct store_counters;
 *              "program" -> program record (proto_project_encode); "idkey" -> the 16
 *              bytes of the ids index's hash key (ids.c)
 *   events     seq u64 -> msgpack record (event or retraction)
 *   retracted  target seq u64 -> retraction seq u64
 *
 * The ids index ((principal, id) -> the seq of the id's latest record; events and
 * retractions share it) is in memory since schema 4 (ids.c), rebuilt from the records
 * in seq order. Versions (REPLACE): the new version's record carries "replaces" = the
 * seq of the version it replaced, so SHOW walks from the index's seq back to the first
 * version. When the old version was live, a retraction record (reason "replaced", id
 * and ref the event's own id, "replaced_by" = the new seq) is written just before the
 * new version, at the seq below it, and retracted maps the old seq to it; the index
 * names the new version, as a rebuild from the records in seq order ends on it.
 *   projects   name -> u32 project id + project record (ids are dense, from 1)
 *   names      0x01 gemeente -> u32 id; 0x02 u32 id -> gemeente (ids from 1)
 *   notes      period, category, project, version -> note record (notes.c)
 *
 * Everything else is the store's memory part (people.c and the files around it),
 * loaded when the store opens from its checkpoint (memory.ckpt beside data.mdb,
 * checkpoint.c) and the records after it, or rebuilt from the events and retractions:
 * the persons (for
 * distinct=person and PROGRESS), and the in-memory rollup (memroll.c): year and month
 * VEC cells (per type, project and gemeente the count and one counter per enum value),
 * day cells, cells of every enum combination, and PROGRESS's per-project counts. In
 * LMDB, updated in every commit, they were most of the pages a commit wrote, the more
 * the more its events' dates and persons were spread. Older schemas had them in LMDB:
 * schema 1 the person DBIs (persons, pidx, pplace, pfirst, pmulti) and a rollup DBI
 * with every kind of cell, schema 2 the rollup DBI with the VEC cells alone (key
 * [1][type][gran][time u32][project u16][gemeente u16]), schema 1-3 the ids DBI
 * (principal NUL id -> seq u64); opening such a store drops them (store.c).
 */
#ifndef WM_STORE_INT_H
#define WM_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/types.h>

#include <lmdb.h>
#include <msgpack.h>

#include "record.h"
#include "store.h"

/* ---- CRC-32C (crc.c) ------------------------------------------------------------ */

/* The CRC-32C of n bytes at data, continuing crc (0 to start): crc(a + b) is
 * store_crc32c(store_crc32c(0, a), b). Any thread. */
uint32_t store_crc32c(uint32_t crc, const void *data, size_t n);
/* The same without the CPU's instruction (tests compare the two). */
uint32_t store_crc32c_soft(uint32_t crc, const void *data, size_t n);

/* ---- memory helpers (mem.c) ----------------------------------------------------- */

/* Whether the memory part may use transparent huge pages: 1 unless a store with
 * periodic checkpoints is open (store_open sets it). A checkpoint's child is forked, and
 * the parent's first write to a shared huge page splits it to copy 4 KiB: on this
 * project's benchmark machine the memory part's thread then spent 23-26 us per event on
 * an import of 3M events, against 3.4 without checkpoints, and 6.3 with checkpoints and
 * 4 KiB pages from the start (docs/PERFORMANCE.md; Redis disables huge pages for its
 * fork-based saves for the same reason). */
extern int store_huge_pages_allowed;
/* Advise the kernel on the whole 2 MiB pages inside [p, p + len) of a large table of
 * the memory part: transparent huge pages when store_huge_pages_allowed (the memory part
 * is read at random, and with 4 KiB pages nearly every read also misses the TLB), none
 * otherwise. */
#define STORE_HUGE ((size_t)2 << 20)
void store_huge_pages(void *p, size_t len);

/* store_array_grow when v lacks room: v reallocated with *cap doubled (from first)
 * until it has room for need elements (large arrays get store_huge_pages' advice). NULL when out of
 * memory (v and *cap unchanged). */
void *store_array_regrow(void *v, size_t *cap, size_t need, size_t size, size_t first);
/* Room for need elements of size bytes in the array v of *cap: v itself when it has
 * it, else as store_array_regrow. Inline: the memory part asks several times per event,
 * and nearly always has the room. */
static inline void *store_array_grow(void *v, size_t *cap, size_t need, size_t size, size_t first)
{
    return need <= *cap ? v : store_array_regrow(v, cap, need, size, first);
}

/* store_array_grow, and the new elements zeroed. */
void *store_array_grow_zero(void *v, size_t *cap, size_t need, size_t size, size_t first);

/* The index table: finds an element of a dense array by its key. It holds each
 * element's index with its key's 32-bit hash, never the key, so it grows without
 * looking at keys and a probe compares a key only when the hashes match. Linear
 * probing, at most half full; nothing is removed (store_itab_clear forgets all). The
 * caller keeps the keys, and compares them:
 *
 *     size_t pos;
 *     for (uint32_t i = store_itab_first(t, h, &pos); i != STORE_ITAB_NONE;
 *          i = store_itab_next(t, h, &pos))
 *         if (same_key(&array[i], key))
 *             return &array[i];
 *     (absent: store_itab_reserve, then append to the array, then store_itab_add)
 */
struct store_itab {
    uint64_t *slots; /* hash << 32 | (index + 1); 0: free */
    size_t cap;      /* slots: a power of two, or 0 */
    size_t n;        /* indexes held */
};
#define STORE_ITAB_NONE UINT32_MAX

/* The next index from *pos on whose hash is h, *pos moved past it; NONE at a free slot. */
static inline uint32_t store_itab_scan(const struct store_itab *t, uint32_t h, size_t *pos)
{
    for (uint64_t v; (v = t->slots[*pos]) != 0;) {
        *pos = (*pos + 1) & (t->cap - 1);
        if ((uint32_t)(v >> 32) == h)
            return (uint32_t)v - 1;
    }
    return STORE_ITAB_NONE;
}
/* The first index whose hash is h, or STORE_ITAB_NONE; *pos is for store_itab_next. */
static inline uint32_t store_itab_first(const struct store_itab *t, uint32_t h, size_t *pos)
{
    if (t->cap == 0)
        return STORE_ITAB_NONE;
    *pos = h & (t->cap - 1);
    return store_itab_scan(t, h, pos);
}
/* The next index whose hash is h after the one store_itab_first or _next gave. */
static inline uint32_t store_itab_next(const struct store_itab *t, uint32_t h, size_t *pos)
{
    return store_itab_scan(t, h, pos);
}
/* Room for more indexes: the table doubles (or starts with first slots, a power of
 * two) until they fit at most half full. WM_OK or WM_ENOMEM (t unchanged). */
int store_itab_reserve(struct store_itab *t, size_t more, size_t first);
/* Add index i (below STORE_ITAB_NONE) with hash h, after store_itab_reserve. */
static inline void store_itab_add(struct store_itab *t, uint32_t h, uint32_t i)
{
    size_t j = h & (t->cap - 1);

    while (t->slots[j])
        j = (j + 1) & (t->cap - 1);
    t->slots[j] = (uint64_t)h << 32 | ((uint64_t)i + 1);
    t->n++;
}
/* Forget every index, keeping the memory. */
void store_itab_clear(struct store_itab *t);
void store_itab_free(struct store_itab *t);
static inline uint64_t store_itab_bytes(const struct store_itab *t)
{
    return (uint64_t)t->cap * sizeof *t->slots;
}

/* ---- key encoding ------------------------------------------------------------- */

static inline void store_put_u16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void store_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void store_put_u64(uint8_t *p, uint64_t v)
{
    store_put_u32(p, (uint32_t)(v >> 32));
    store_put_u32(p + 4, (uint32_t)v);
}
static inline uint32_t store_get_u16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}
static inline uint32_t store_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t store_get_u64(const uint8_t *p)
{
    return (uint64_t)store_get_u32(p) << 32 | store_get_u32(p + 4);
}
/* A signed day or time unit as an order-preserving u32. */
static inline void store_put_time(uint8_t *p, int32_t t)
{
    store_put_u32(p, (uint32_t)t ^ 0x80000000u);
}
static inline int32_t store_get_time(const uint8_t *p)
{
    return (int32_t)(store_get_u32(p) ^ 0x80000000u);
}

/* ---- LMDB, wrapped once (lmdb.c) ------------------------------------------------- */

enum store_dbi_id {
    STORE_DBI_META,
    STORE_DBI_EVENTS,
    STORE_DBI_RETRACTED,
    STORE_DBI_PROJECTS,
    STORE_DBI_NAMES,
    STORE_DBI_NOTES,
    STORE_DBI_COUNT_
};

/* Whole-store counters, kept under meta "counters" and rewritten once per batch. */
struct store_counters {
    uint64_t last_seq;
    uint64_t events, retracted, retractions;
    uint64_t started, completed, placed, outflow;
    uint64_t unused_placed; /* schema 1: placed persons (in memory since schema 2) */
    uint64_t unused;        /* schema 1: the next person id */
    uint64_t next_project, next_gemeente;
};

/* Translate an LMDB (or errno) code into wm_err: the one place that does it. */
int store_lmdb_err(int rc);

/* Begin/end a read transaction under the shared resize lock. store_read_begin
 * returns WM_OK and *txn, or a wm_err (nothing held). */
int store_read_begin(struct store *s, MDB_txn **txn);
void store_read_end(struct store *s, MDB_txn *txn);

/* mdb_env_copy2 (compacting) of the environment into path under the resize lock,
 * adopting a map another process grew. Returns LMDB's code (0: copied). */
int store_env_copy(struct store *s, const char *path);

/* Double the map (up to map_max). WM_OK, WM_EMAPFULL (at the limit) or WM_EIO. */
int store_grow(struct store *s);

/* Read the counters (all zero on a fresh store). */
int store_counters_get(struct store *s, MDB_txn *txn, struct store_counters *c);

/* A name's id as this transaction saw it (projects and gemeenten are never renamed
 * or removed, so within one transaction an id found stays right). */
struct store_name_cache {
    char name[WM_NAME_MAX + 1];
    uint32_t id; /* 0: empty */
};
#define STORE_NAME_CACHE 32

/* One attempt at a batch: the transaction, the counters as they will be committed,
 * the first LMDB error seen, and scratch records (kept here, not on the stack, so a
 * batch allocates nothing per event). */
struct store_wtx {
    struct store *s;
    MDB_txn *txn;
    struct store_counters c;
    int mdb_rc;
    struct wm_event scratch_ev;
    struct wm_event scratch_old; /* REPLACE: the version replaced */
    struct wm_retract scratch_rt;
    struct wm_project scratch_p;
    /* project and gemeente ids looked up, by a hash of the name */
    struct store_name_cache projects[STORE_NAME_CACHE], gemeenten[STORE_NAME_CACHE];
};

/* The write transaction's LMDB calls. Each records the first LMDB code in w->mdb_rc,
 * for the error message, and returns a wm_err. */
/* Begin a write transaction and read the counters into w->c (w is reset first).
 * WM_OK, or an error with w->txn still to abort (store_wtx_abort). */
int store_wtx_begin(struct store *s, struct store_wtx *w);
/* Abort w's transaction, if any. */
void store_wtx_abort(struct store_wtx *w);
/* Look key up: 1 (found, *v borrowed until the transaction ends), 0 (absent) or an
 * error. */
int store_wtx_get(struct store_wtx *w, int dbi, const void *key, size_t klen, MDB_val *v);
/* Store key -> val (LMDB put flags). WM_OK or an error. */
int store_wtx_put(struct store_wtx *w, int dbi, const void *key, size_t klen, const void *val,
                  size_t vlen, unsigned flags);
/* Store key -> val unless key exists: WM_OK (stored), 1 (it exists: *old is its
 * value, borrowed like store_wtx_get's) or an error. */
int store_wtx_put_new(struct store_wtx *w, int dbi, const void *key, size_t klen, const void *val,
                      size_t vlen, MDB_val *old);
/* Record and translate the result of any other LMDB call (0 gives WM_OK). */
int store_wtx_lmdb(struct store_wtx *w, int rc);

/* Apply a NOTE item (notes.c): checks its project or category against the registry
 * (the item's result says when not) and stores the next version, setting it->seq.
 * Returns WM_OK or an error that fails the batch. */
int store_note_apply(struct store_wtx *w, struct store_item *it);

/* Pass every version of every note in txn to fn as STORE_EXPORT_NOTE items, in key
 * order (store_export). Returns WM_OK, fn's non-zero return, WM_EVERSION (a note that
 * cannot be read; err says so), WM_EIO or WM_ENOMEM. */
int store_notes_export(struct store *s, MDB_txn *txn, store_export_fn fn, void *arg, char *err,
                       size_t errlen);

/* ---- the ids index, in memory (ids.c) ------------------------------------------- */

/* (principal, id) -> the seq of the id's latest record: events and retractions share it;
 * after a REPLACE it names the new version. In LMDB (schema 1-3: DBI ids) each random id
 * cost a write to a random B-tree leaf, about one page per event per commit; here it is
 * a slot. A slot holds the low 32 bits of the key's SipHash-2-4 under the store's own
 * random key (meta "idkey", so clients cannot choose colliding ids) and the seq, 12
 * bytes (16 with the whole hash: a quarter of the memory part's bytes went to this
 * table); equal hashes may hold several seqs, and the record at a seq decides
 * (store_ids_find): at 1M ids about a hundred share their 32 bits with another, each
 * costing that one more record read when looked up. Part of the memory
 * part: rebuilt from the records at open (rebuild.c), read under its lock.
 *
 * The writer's batch changes go to chg (looked up first, by the writer alone) and reach
 * the table only after the batch's commit, under the memory part's write lock, so a
 * reader sees the table at the commit of its read transaction; a failed commit drops
 * them. */
struct store_ids_slot {
    uint32_t h;   /* the hash's low 32 bits */
    uint64_t seq; /* 0: free */
} __attribute__((packed));
struct store_ids_change {
    uint64_t h;
    uint64_t seq; /* the key's latest record now */
    uint64_t old; /* the table's seq it replaces; 0: a new key */
};
struct store_ids {
    struct store_ids_slot *slots; /* a power of two, at most three quarters full */
    size_t cap, n;
    uint8_t key[16];
    struct store_ids_change *chg; /* the batch's changes, in order (writer only) */
    size_t nchg, capchg, nadd;    /* nadd: changes that add a key */
    struct store_itab chgtab;     /* the changes by their hash's low 32 bits */
};

/* Test hook: every hash is ANDed with it (UINT64_MAX). A unit test makes it small to
 * force collisions, so the comparison with the record runs. */
extern uint64_t store_ids_hash_mask;

/* SipHash-2-4 of data under key (the reference algorithm's 64-bit output). */
uint64_t store_siphash(const uint8_t key[16], const void *data, size_t len);
/* The hash of (principal, id) in t: of the ids key (store_id_key) under t->key. */
uint64_t store_ids_hash(const struct store_ids *t, const char *principal, const char *id);
/* The ids key of (principal, id) into k (WM_NAME_MAX + WM_ID_MAX + 2 bytes); its length. */
size_t store_id_key(uint8_t *k, const char *principal, const char *id);
/* Load the store's hash key from meta in txn into t. WM_OK, WM_EVERSION (none: a store
 * not opened for writing by schema 4 yet) or an LMDB error. */
int store_ids_key_load(struct store_ids *t, struct store *s, MDB_txn *txn);
/* Give the store a random hash key in the write transaction txn unless it has one.
 * WM_OK, WM_EIO (no random bytes) or an LMDB error. */
int store_ids_key_init(struct store *s, MDB_txn *txn);

/* The next seq from *pos on whose hash is h, *pos moved past it; 0 at a free slot. */
static inline uint64_t store_ids_next(const struct store_ids *t, uint64_t h, size_t *pos)
{
    for (const struct store_ids_slot *sl; (sl = &t->slots[*pos])->seq != 0;) {
        *pos = (*pos + 1) & (t->cap - 1);
        if (sl->h == (uint32_t)h)
            return sl->seq;
    }
    return 0;
}
/* The first seq whose hash is h, or 0; *pos is for store_ids_next. */
static inline uint64_t store_ids_first(const struct store_ids *t, uint64_t h, size_t *pos)
{
    if (t->cap == 0)
        return 0;
    *pos = (uint32_t)h & (t->cap - 1);
    return store_ids_next(t, h, pos);
}
/* Room for more keys in the table. WM_OK or WM_ENOMEM (t unchanged). */
int store_ids_reserve(struct store_ids *t, size_t more);
/* Add (h, seq) to the table, after store_ids_reserve. */
void store_ids_add(struct store_ids *t, uint64_t h, uint64_t seq);
/* The latest record of (principal, id), whose hash is h: its PROTO_RECORD_* kind with
 * *seq, the record decoded into ev or rt by its kind; 0 (and *seq 0) when the index names
 * none; WM_EVERSION (a record cannot be decoded) or an LMDB error. changes: 1 (the writer
 * only) to look at the batch's changes first; *chg (may be NULL) is then the change's
 * index, SIZE_MAX when the entry is the table's. ev and rt are scratch: principal and id
 * must not point into them. Readers hold the memory part's read lock. */
int store_ids_find(const struct store_ids *t, MDB_txn *txn, MDB_dbi events, int changes, uint64_t h,
                   const char *principal, const char *id, struct wm_event *ev,
                   struct wm_retract *rt, uint64_t *seq, size_t *chg);
/* The rebuild's step: the record at seq (principal, id) is now its key's latest, in the
 * table. ev and rt as for store_ids_find. WM_OK, WM_ENOMEM or as store_ids_find. */
int store_ids_upsert(struct store_ids *t, MDB_txn *txn, MDB_dbi events, uint64_t seq,
                     const char *principal, const char *id, struct wm_event *ev,
                     struct wm_retract *rt);
/* Stage a change of the batch: (h) names seq now, replacing the table's old (0: a new
 * key). WM_OK or WM_ENOMEM. */
int store_ids_stage(struct store_ids *t, uint64_t h, uint64_t seq, uint64_t old);
/* Forget the batch's changes (its commit failed, or it runs again). */
void store_ids_drop(struct store_ids *t);
/* Move the committed batch's changes into the table (store_ids_reserve(t, t->nadd)
 * first: this cannot fail), under the memory part's write lock. */
void store_ids_merge(struct store_ids *t);
/* Empty the table (the key stays); free it all. */
void store_ids_clear(struct store_ids *t);
void store_ids_free(struct store_ids *t);
uint64_t store_ids_bytes(const struct store_ids *t);

/* ---- rollups (rollup.c) ---------------------------------------------------------- */

#define STORE_VEC_MAX 64 /* counters of a VEC cell at most */

/* The two kinds of cells of the in-memory rollup (memroll.c); the numbers were
 * rollup key prefixes in LMDB (0, 4 and 5: schema 1; 1: schema 1 and 2). */
enum store_rollup_kind {
    STORE_ROLL_VEC = 1, /* year and month cells: the count and per-enum-value counts */
    STORE_ROLL_MEM = 9, /* cells of every enum combination, years, months and days */
};
enum store_gran { STORE_GRAN_YEAR = 0, STORE_GRAN_MONTH = 1, STORE_GRAN_DAY = 2 };

/* The kind whose cells answer a query using nused of the type's enums at gran. */
int store_rollup_kind_for(int nused, int gran);
/* Counters in a VEC cell of the type: the count and one per value of each enum. */
size_t store_vec_len(const struct proto_type_desc *td);
/* Index of enum i's first value counter in a VEC cell. */
size_t store_vec_offset(const struct proto_type_desc *td, int i);

/* The time unit of a date at a granularity: year, month index or the date itself. */
int32_t store_time_unit(int32_t date, int gran);
/* The first and last date of a time unit. */
int32_t store_unit_first(int gran, int32_t unit);
int32_t store_unit_last(int gran, int32_t unit);

/* One run of whole time units [lo, hi] of a granularity. */
struct store_span {
    int gran;
    int32_t lo, hi;
};
/* Split the dates [a, b] (a <= b) into at most 5 spans: single days at the edges, whole
 * months, whole years in the middle (no years when month_mode: grouping or filtering
 * by month or quarter needs month cells). Returns the number of spans. */
size_t store_decompose(int32_t a, int32_t b, int month_mode, struct store_span out[5]);

/* ---- registry (registry.c) ------------------------------------------------------ */

/* A project as a query sees it. */
struct store_reg_project {
    uint32_t id;
    uint32_t cat; /* index into the registry's cats */
    struct wm_project p;
};

/* The registry and gemeente names read in one read transaction. */
struct store_registry {
    struct store_reg_project *proj; /* by name */
    size_t nproj;
    int32_t *by_id; /* project id -> index into proj, or -1; nid entries */
    uint32_t nid;
    const char **cats; /* distinct categories, sorted; borrowed from proj */
    size_t ncats;
    struct wm_project program;
    char (*gem)[WM_NAME_MAX + 1]; /* gemeente name by id ("" unused); ngem entries */
    size_t ngem;
};

/* Load the registry. WM_OK, WM_ENOMEM, WM_EIO, WM_EVERSION (bad record). */
int store_registry_load(struct store *s, MDB_txn *txn, struct store_registry *r);
void store_registry_free(struct store_registry *r);
/* Begin a query: a read transaction and the registry loaded in it. On failure nothing
 * is held and err says why. Returns WM_OK, WM_EIO or WM_ENOMEM. */
int store_query_begin(struct store *s, MDB_txn **txn, struct store_registry *r, char *err,
                      size_t errlen);
/* End what store_query_begin began. */
void store_query_end(struct store *s, MDB_txn *txn, struct store_registry *r);
/* The project named name, or NULL. */
const struct store_reg_project *store_registry_find(const struct store_registry *r,
                                                    const char *name);
/* err = "unknown project '<name>'" (name canonical), with "(did you mean '<near>'?)"
 * when a registered project's name is a few edits away (the nearest; the first in name
 * order on a tie). Reads the project names in txn; on an LMDB error the suggestion is
 * left out. For the failure paths only: it reads every project. */
void store_unknown_project(struct store *s, MDB_txn *txn, const char *name, char *err,
                           size_t errlen);
/* WM_OK when some project of r has category, else WM_EINVALID with err naming the
 * known categories ("category: unknown value 'x' (allowed: a, b)"). */
int store_registry_category(const struct store_registry *r, const char *category, char *err,
                            size_t errlen);
/* The program record when none was set: everything unset. */
void store_program_default(struct wm_project *p);

/* A project record's value: u32 id then the msgpack record. */
int store_project_value(const MDB_val *v, uint32_t *id, struct wm_project *p);

/* The id of a gemeente (names DBI). Returns WM_OK and *id, WM_ENOT_FOUND, or an
 * LMDB error. With create, a missing name gets the next id (counter in c). */
int store_gemeente_id(struct store *s, MDB_txn *txn, const char *name, int create,
                      struct store_counters *c, uint32_t *id);

/* ---- the memory part: its entries, and its rollup (memroll.c) ------------------ */

/* One person's live events with exactly these values: a compact entry. */
struct store_pentry {
    int32_t date;
    uint16_t project; /* 0: none */
    uint16_t gemeente;
    uint8_t type;
    uint8_t enums[WM_MAX_ENUMS]; /* unused enums 0 */
    uint32_t count;              /* live events with these values */
};

/* Pseudo types of in-memory rollup cells for PROGRESS, by project and date: started
 * events; completed events with a successful result; persons at their earliest live
 * placement in the project (FIRST); persons at their earliest placement in any
 * regional project (UFIRST, project 0). */
#define STORE_MT_STARTED 6
#define STORE_MT_COMPLETED 7
#define STORE_MT_FIRST 8
#define STORE_MT_UFIRST 9

/* A cell of the in-memory rollup (memroll.c): live events with exactly these values
 * in one time unit. 16 bytes, four to a cache line: the table holds about 1.6 cells
 * per event (most of them day cells) at most half full, so at 24 bytes it was the
 * largest part of the memory part. The count fits 32 bits as a person's entry's does:
 * an increment that would overflow it fails (WM_ESTORAGE) and changes nothing. */
struct store_mcell {
    int32_t unit; /* year, month index or date, by gran */
    uint16_t project, gemeente;
    unsigned type : 4; /* a WM_TYPE_* or STORE_MT_* */
    unsigned gran : 2;
    unsigned used : 1; /* 0: a free place in the table */
    uint8_t enums[WM_MAX_ENUMS];
    uint32_t count;
};
_Static_assert(sizeof(struct store_mcell) == 16, "a rollup cell is 16 bytes");
_Static_assert(STORE_MT_UFIRST < 16 && WM_TYPE_COUNT_ <= 16, "types fit a cell's 4 bits");

/* A VEC cell of the in-memory rollup: the live events of one type in one year or
 * month, by project and gemeente, with the count (vec[off]) and then one counter per
 * value of each of the type's enums (store_vec_len counters in all). COUNT without an
 * enum or with one reads these: one cell per (project, gemeente), where the cells of
 * every enum combination are many more. */
struct store_vcell {
    int32_t unit; /* year or month index, by gran */
    uint16_t project, gemeente;
    uint8_t type, gran;
    uint32_t off; /* its first counter in the rollup's vec */
};

/* The cells of one (type, gran, unit): places in the cell table, and VEC cells (year
 * and month buckets of real types) by index. */
struct store_mbucket {
    int32_t unit;
    uint8_t type, gran;
    uint32_t *cells;
    size_t n, cap;
    uint32_t *vcells;
    size_t nv, capv;
};

struct store_memroll {
    /* open-addressing table of capcells places (a power of two), ncells used; a
     * cell is never removed: at zero it counts nothing. Not the shared index table
     * (store_itab): memroll.c says why. */
    struct store_mcell *cells;
    size_t ncells, capcells;
    struct store_mbucket *buckets;
    size_t nbuckets, capbuckets;
    struct store_itab bindex;   /* finds a bucket by (type, gran, unit) */
    int32_t min_date, max_date; /* of every event ever counted, when has_dates */
    int has_dates;
    /* the VEC cells, dense (never removed: at zero they count nothing), found by key
     * through vindex; their counters in vec */
    struct store_vcell *vcells;
    size_t nvcells, capvcells;
    struct store_itab vindex;
    uint64_t *vec;
    size_t nvec, capvec;
};

/* Count entry e in (sign 1) or out (sign -1) of its year, month and day cells, and (a
 * real type) of its year and month VEC cells: all of them or, on an error, none. WM_OK;
 * WM_ENOMEM (adding; cells it created may remain, at zero: they count nothing);
 * WM_ESTORAGE (a cell's count would overflow); WM_EINTERNAL when removing what was
 * never counted. Removing, or adding back what was removed, allocates nothing (cells
 * are never removed), so an undo cannot fail for memory. */
int store_memroll_change(struct store_memroll *m, const struct store_pentry *e, int sign);
/* The bucket of (type, gran, unit), or NULL when it has no cells. Read lock held. */
const struct store_mbucket *store_memroll_bucket(const struct store_memroll *m, int type, int gran,
                                                 int32_t unit);
/* The count of the cell with key's values (its count and used ignored), 0 when none. */
uint64_t store_memroll_count(const struct store_memroll *m, const struct store_mcell *key);
/* The counters of the VEC cell with key's values (off ignored), or NULL when none. */
const uint64_t *store_memroll_vec(const struct store_memroll *m, const struct store_vcell *key);
/* The hashes of a few fixed keys by the rollup's hash functions: the checkpoint stores
 * its tables as they are, so a build that hashes otherwise must not read them. */
uint32_t store_memroll_hash_mark(void);
/* Bytes the rollup holds. */
uint64_t store_memroll_bytes(const struct store_memroll *m);
void store_memroll_free(struct store_memroll *m);

/* ---- the memory part: arena, persons, undo log, queue (the files below) ----------- */

struct store_person {
    struct store_pentry *e; /* unordered */
    uint32_t n;
    uint32_t cap;
    const char *name; /* the pseudonym, in the arena */
};

#define STORE_TY_BASE 2000  /* the first year of WM_DATE_MIN */
#define STORE_TY_YEARS 8000 /* through 9999 */

/* A set of person ids, unordered. */
struct store_plist {
    uint32_t *v;
    size_t n, cap;
};

/* One change of the current batch, for store_people_rollback. */
enum store_undo_kind {
    STORE_UNDO_ENTRY,    /* a person's entry (and its rollup cells) */
    STORE_UNDO_ROLL,     /* a FIRST or UFIRST cell alone */
    STORE_UNDO_REGIONAL, /* e.project's scope flag; sign holds the old flag */
    STORE_UNDO_PLACED,   /* the placed persons changed by sign */
};
struct store_pundo {
    uint8_t kind; /* enum store_undo_kind */
    int8_t sign;
    uint32_t person;
    struct store_pentry e;
};

/* One change a batch asks of the memory part, applied in order after the batch's
 * LMDB work, while LMDB commits (people.c). */
enum store_pop_kind {
    STORE_POP_ADD,     /* a new event: person, e */
    STORE_POP_REMOVE,  /* a retracted event: person, e */
    STORE_POP_RESCOPE, /* project e.project becomes regional (1) or not (0) */
};
struct store_pop {
    uint8_t kind;                /* enum store_pop_kind */
    uint8_t regional;            /* RESCOPE */
    const char *person;          /* ADD: the batch's event's (borrowed); REMOVE: NULL */
    char own[WM_PERSON_MAX + 1]; /* REMOVE: a copy (the target's record is gone by then) */
    struct store_pentry e;
};

struct store_arena_chunk;
#define STORE_PE_CLASSES 16 /* entry vector sizes the arena keeps: 2 << k entries */

/* The arena (arena.c): pseudonyms and entry vectors. */
struct store_arena {
    struct store_arena_chunk *chunk;             /* the newest; each points back */
    struct store_pentry *free[STORE_PE_CLASSES]; /* free vectors of 2 << k entries */
    uint64_t bytes;
};

/* The person table (persons.c). */
struct store_persons {
    struct store_person *p; /* by person id, dense from 0 */
    uint32_t n;
    size_t cap;
    struct store_itab names;  /* pseudonym -> person id */
    struct store_plist *proj; /* by project id: persons with a live placement there */
    size_t nproj;
    struct store_plist multi; /* persons with live placements in two or more projects */
    /* by type and year (index type * STORE_TY_YEARS + year - STORE_TY_BASE): persons
     * who have had an entry of that type dated in that year. A person is listed once
     * when the first such entry arrives and stays listed when it goes (a retraction):
     * readers check the entries, and skip a person seen before. */
    struct store_plist *ty;
    size_t nty;
    uint8_t *regional; /* scope flags by project id, as the applied changes left them */
    size_t nregional;
    uint64_t placed;  /* persons with a live placement */
    uint64_t entries; /* entries held */
    /* by gemeente id: persons with a live placement there (COUNT placed distinct=person
     * by=gemeente of all time, which WATCH by gemeente sends on every change: a walk of
     * the placed persons took 24 ms at 1M events). Derived from the entries, so not in
     * the checkpoint: store_persons_count_gemeenten sets it after reading one. */
    uint64_t *gplaced;
    size_t ngplaced;
};

/* The undo log of the current batch (undo.c). */
struct store_undo {
    struct store_pundo *v;
    size_t n, cap;
    int logging; /* changes are logged (a live batch, not the rebuild) */
};

/* The batch's changes, and the thread that applies them (people.c). The writer fills
 * ops, then hands them over (go) and waits (busy) under mu. */
struct store_pqueue {
    struct store_pop *ops;
    size_t n, cap;
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv_go, cv_done;
    int go, busy, stop, result;
};

/* The store's memory part. */
struct store_people {
    pthread_rwlock_t lock; /* writer: a whole batch; readers: a whole query */
    struct store_arena arena;
    struct store_persons persons;
    struct store_memroll roll; /* the full rollup, in memory (memroll.c) */
    struct store_undo undo;
    struct store_pqueue queue;
    struct store_ids ids; /* changed by the writer alone (ids.c) */
    uint64_t load_ms;     /* the last load or rebuild took */
    char load_note[192];  /* how it was loaded: from the checkpoint, or rebuilt and why */
    int damaged;          /* a rollback could not complete: wrong until rebuilt */
};
/* The checkpoint of the memory part (checkpoint.c). */
#define STORE_UUID_LEN 16
struct store_ckpt {
    char *path, *tmp, *dir; /* dir/memory.ckpt, dir/memory.ckpt.tmp, dir */
    uint8_t uuid[STORE_UUID_LEN];
    uint64_t every;       /* events between checkpoints while running; 0: at close only */
    int off;              /* no checkpoint at all (store_options.checkpoint_every < 0) */
    uint64_t seq;         /* the file on disk covers the records up to this seq */
    uint64_t tried;       /* the last seq a child was started for */
    pid_t child;          /* a child writing one, or 0 */
    uint64_t child_seq;   /* the seq it covers */
    int stopping;         /* the child is being killed on purpose */
    uint64_t written;     /* by children, since open */
    uint64_t failures;    /* children that failed or could not start */
    uint64_t loaded_seq;  /* the checkpoint read at open covered this seq (0: none read) */
    int rejected;         /* there was one at open, but it was not used */
    char last_error[160]; /* why the last one was not written ("" none failed) */
};

struct store {
    MDB_env *env;
    MDB_dbi dbi[STORE_DBI_COUNT_];
    /* Readers hold it shared for the life of their read transaction; the writer takes
     * it exclusively only around mdb_env_set_mapsize, which LMDB allows only while no
     * transaction of this process is active. */
    pthread_rwlock_t resize_lock;
    size_t map_size; /* current map size; changed by the writer under resize_lock */
    size_t map_max;
    _Atomic uint64_t map_grows;
    char *data_path; /* dir/data.mdb, for db_bytes */
    int read_only;   /* opened with STORE_OPEN_READONLY: no writes, no memory part */
    unsigned schema; /* the store's schema version (older ones only when read_only) */
    int no_notes;    /* read_only: a store from before notes has no notes DBI (none to read) */
    /* writer thread only */
    msgpack_sbuffer sb;
    struct store_people people;
    struct store_ckpt ckpt;
    int lock_fd; /* dir/lock, held (flock) while the store is open */
    int opened;  /* store_open succeeded */
};

/* ---- the arena (arena.c) -------------------------------------------------------- */

/* len bytes aligned to align (a power of two) from the arena, freed only with it.
 * NULL when out of memory. */
void *store_arena_alloc(struct store_arena *a, size_t len, size_t align);
/* A copy of s in the arena (byte-aligned: a pseudonym of 64 characters took 80 bytes
 * when every piece was rounded to 16), or NULL. */
const char *store_arena_copy(struct store_arena *a, const char *s);
/* Double person p's entry vector (from the arena's free lists or chunks; from malloc
 * when too large for them). WM_OK or WM_ENOMEM (p unchanged). */
int store_arena_entries_grow(struct store_arena *a, struct store_person *p);
/* Give person p (without entries) a new vector with room for n (> 0) entries. WM_OK
 * or WM_ENOMEM. */
int store_arena_entries_new(struct store_arena *a, struct store_person *p, uint32_t n);
/* 1 when an entry vector of cap entries is the arena's (else malloc's: free it). */
int store_arena_owns(uint32_t cap);
/* Free every chunk: every name and arena vector goes with them. */
void store_arena_free(struct store_arena *a);

/* ---- the person table (persons.c) ------------------------------------------------ */

/* The id of the person with pseudonym name. WM_OK and *pid, WM_ENOT_FOUND (absent and
 * create 0), WM_ENOMEM, WM_ESTORAGE (2^32 persons). A created person stays even when
 * its batch fails: it has no entries, so it counts nowhere. Writer only. */
int store_people_id(struct store_people *pl, const char *name, int create, uint32_t *pid);
/* The entry of an event whose project and gemeente ids are known. */
void store_people_entry(const struct wm_event *ev, uint32_t project, uint32_t gemeente,
                        struct store_pentry *e);
/* Add (sign 1) or remove (sign -1) one event's entry of person pid and its cells in
 * the in-memory rollup, unlogged: either all changes or (on an error) nothing does.
 * undoing: re-adding what the undo log removed, which needs no memory. WM_OK,
 * WM_ENOMEM, or WM_EINTERNAL (removing an event the person does not have). */
int store_people_entry_change(struct store_people *pl, uint32_t pid, const struct store_pentry *e,
                              int sign, int undoing);
/* 1 when project is regional as far as the applied changes go. */
int store_people_regional(const struct store_people *pl, uint32_t project);
/* The persons listed for (type, year), or NULL when none. */
const struct store_plist *store_people_listed(const struct store_people *pl, int type, int year);
/* A person's placements as the write path and PROGRESS need them. */
struct store_pscan {
    unsigned nprojects; /* projects with a live placement: 0, 1, 2, or 3 for more */
    int32_t first;      /* earliest date in the project, WM_DATE_NONE when none */
    int32_t second;     /* next date in the project after first, WM_DATE_NONE */
    uint64_t count;     /* live placements on exactly (project, date) */
    int32_t other;      /* earliest date in the other regional projects, or NONE */
};
/* Scan person pid's placements around (project, date). */
/* Set the persons' gplaced from their entries (after a checkpoint is read). WM_OK or
 * WM_ENOMEM. */
int store_persons_count_gemeenten(struct store_persons *t);
/* Persons with a live placement in gemeente g (its id). Read lock held. */
uint64_t store_people_placed_in(const struct store_people *pl, uint32_t g);
void store_people_scan(const struct store_people *pl, uint32_t pid, uint32_t project, int32_t date,
                       struct store_pscan *ps);
/* The hash of a fixed pseudonym (as store_memroll_hash_mark, for the name index). */
uint32_t store_persons_hash_mark(void);
/* Free every person, list and flag (the entry vectors the arena does not own too). */
void store_persons_free(struct store_persons *t);
/* ---- the logged changes (undo.c) -------------------------------------------------- */

/* Add (sign 1) or remove (sign -1) one event of person pid, logged for rollback while
 * pl->undo.logging. WM_OK, WM_ENOMEM, or WM_EINTERNAL (removing an event the memory
 * part does not hold). Under the write lock. */
int store_people_change(struct store_people *pl, uint32_t pid, const struct store_pentry *e,
                        int sign);
/* Change FIRST/UFIRST cell (type STORE_MT_*, project, date) by sign, logged like
 * store_people_change. */
int store_people_roll(struct store_people *pl, int type, uint32_t project, int32_t date, int sign);
/* Change the placed persons by sign, logged. WM_OK or WM_ENOMEM. */
int store_people_placed(struct store_people *pl, int sign);
/* Set a project's scope flag, logged. WM_OK or WM_ENOMEM. */
int store_people_set_regional(struct store_people *pl, uint32_t project, int regional);
/* Undo every logged change since the last store_people_commit, newest first; should
 * one fail, pl->damaged is set. */
void store_people_rollback(struct store_people *pl);
/* Forget the logged changes: their batch is committed. */
void store_people_commit(struct store_people *pl);
void store_undo_free(struct store_undo *u);
/* ---- PROGRESS's placement counts (placement.c) ----------------------------------- */

/* Keep the FIRST and UFIRST cells and placed_persons in step with one placement of
 * person pid added (sign 1) or retracted (sign -1): call before the entry changes.
 * WM_OK or an error (the batch's changes fail). placement.c. */
int store_placement_update(struct store_people *pl, uint32_t pid, uint32_t project, int32_t date,
                           int sign);
/* Project becomes regional (1) or not (0): move the UFIRST cells of its persons and set
 * its flag. WM_OK or an error. */
int store_placement_rescope(struct store_people *pl, uint32_t project, int regional);

/* ---- the memory part's life and thread (people.c), its rebuild (rebuild.c) -------- */

/* Set up an empty memory part. WM_OK or WM_ENOMEM. */
int store_people_init(struct store_people *pl);
/* Free everything the memory part holds (its thread stopped first). */
void store_people_free(struct store_people *pl);
/* Empty it (the locks, the queue and the thread stay). */
void store_people_clear(struct store_people *pl);
/* Bytes it holds, for STATS. */
uint64_t store_people_bytes(const struct store_people *pl);
/* Take the read lock for a query that reads the memory part: before its read
 * transaction, as every reader does (never inside one, or the writer could wait for
 * that transaction while holding the lock), so both show the same commit. WM_OK, or
 * WM_EIO with err saying why ("<what> failed: ...") and nothing held. */
int store_people_read_begin(struct store_people *pl, const char *what, char *err, size_t errlen);
void store_people_read_end(struct store_people *pl);

/* Queue a change for the batch (the writer, under the write lock, before submitting).
 * person is copied for REMOVE, borrowed for ADD. WM_OK or WM_ENOMEM. */
int store_people_push(struct store_people *pl, int kind, const char *person,
                      const struct store_pentry *e, int regional);
/* Forget the queued changes (the batch's LMDB work failed before they ran). */
void store_people_drop(struct store_people *pl);
/* Apply the queued changes in order on this thread, stopping at the first error; the
 * queue is empty afterwards. WM_OK or that error. */
int store_people_apply(struct store_people *pl);
/* Start applying the queued changes on the memory part's thread (logged); the writer
 * goes on to commit meanwhile. At most STORE_PEOPLE_INLINE changes are applied at once
 * on the caller's thread instead. */
#define STORE_PEOPLE_INLINE 32
void store_people_submit(struct store_people *pl);
/* Wait for the submitted changes; the queue is empty afterwards. Returns their
 * outcome: WM_OK, or the first error (the changes before it stay applied and logged). */
int store_people_finish(struct store_people *pl);
/* Start and stop the memory part's thread. */
int store_people_start(struct store_people *pl);
void store_people_stop(struct store_people *pl);

/* ---- the checkpoint (checkpoint.c) -------------------------------------------------- */

/* Write the memory part pl, as it is after the record at seq (whose CRC-32C is
 * rec_crc), to ck->path: through ck->tmp, synced, renamed, the directory synced. buf
 * is a 1 MiB buffer (the caller's: a forked child must not allocate). WM_OK or WM_EIO
 * with err saying why (ck->tmp removed). */
int store_ckpt_write(const struct store_people *pl, const struct store_ckpt *ck, uint64_t seq,
                     uint32_t rec_crc, uint8_t *buf, char *err, size_t errlen);
/* Read ck->path into the empty memory part pl. WM_OK with *seq and *rec_crc from its
 * header; WM_ENOT_FOUND (no file); WM_EVERSION (another format, build or store, or
 * damaged), WM_ENOMEM or WM_EIO, with err saying why and pl cleared. */
int store_ckpt_read(struct store_people *pl, const struct store_ckpt *ck, uint64_t *seq,
                    uint32_t *rec_crc, char *err, size_t errlen);
/* The CRC-32C of the record at seq (0 for seq 0), read in txn (NULL: a read transaction
 * of its own). WM_OK, or an error (WM_ENOT_FOUND: no such record). */
int store_record_crc(struct store *s, MDB_txn *txn, uint64_t seq, uint32_t *crc);
/* The records between two periodic checkpoints: every (the configured interval), or as
 * many as the last checkpoint covers (covered, its seq) when that is more, so that the
 * checkpoints' total cost stays proportional to the events. */
uint64_t store_ckpt_interval(uint64_t every, uint64_t covered);
/* On the writer between batches, the memory part being as it is after seq: reap a
 * finished child, and start one writing a checkpoint when store_ckpt_interval records
 * passed since the last one. */
void store_ckpt_maybe(struct store *s, uint64_t seq);
/* Kill and reap a child still writing (its temp file is left: the next write truncates
 * it, the next open removes it). */
void store_ckpt_stop(struct store *s);
void store_ckpt_free(struct store_ckpt *ck);

/* ---- loading and rebuilding (rebuild.c) --------------------------------------------- */

/* A checkpoint read for a load: read first, then checked against the snapshot it is
 * loaded in (which then holds at least the records it covers). */
struct store_ckpt_load {
    int status;         /* WM_OK: the memory part holds it; else none (why says so) */
    uint64_t seq;       /* it covers the records up to this seq */
    uint32_t rec_crc;   /* the CRC-32C of the record at seq, when written */
    int used;           /* store_people_load_from loaded it (else rebuilt) */
    int rejected;       /* there was one, but it was not used */
    char why[160];      /* not used: why */
    struct timespec t0; /* when reading it began (the load's time counts from there) */
};
/* Read the checkpoint file (unless checkpoints are off) into the emptied memory part,
 * before the snapshot it is loaded in begins. */
void store_people_ckpt_read(struct store *s, struct store_ckpt_load *ld);
/* Load the memory part in the snapshot txn (reg its registry): from the checkpoint ld
 * holds when it matches the snapshot (the store's uuid, its record at the seq it covers,
 * the scopes) with the records after it replayed, as their batches applied them, and
 * then adding up to the store's counters; else (none, or anything does not match)
 * rebuilt from every live event. pl->load_note says which and why; ld->used too. No
 * writer may run. WM_OK, or WM_ENOMEM, WM_EIO, WM_EVERSION with err saying why. */
int store_people_load_from(struct store *s, MDB_txn *txn, const struct store_registry *reg,
                           struct store_ckpt_load *ld, char *err, size_t errlen);
/* Load the memory part at open (store_people_ckpt_read, store_people_load_from), and
 * remove a checkpoint that did not match. WM_OK or an error, err saying why. */
int store_people_open(struct store *s, char *err, size_t errlen);
/* Rebuild the memory part from the store's live events (the writer, under the write
 * lock, after it failed to follow a commit). WM_OK, or WM_ENOMEM, WM_EIO, WM_EVERSION
 * with err saying why. */
int store_people_load(struct store *s, char *err, size_t errlen);

/* ---- the versions of an event id (versions.c) ----------------------------------- */

/* Read the record at seq in txn: decoded into ev or rt by its kind (either may be NULL
 * when that kind is not wanted). Returns its PROTO_RECORD_* kind, 0 when there is none,
 * WM_EVERSION (it cannot be decoded) or an LMDB error. */
int store_record_read(struct store *s, MDB_txn *txn, uint64_t seq, struct wm_event *ev,
                      struct wm_retract *rt);
/* The seq of the retraction of the event at seq into *by, 0 when it is live. WM_OK or
 * an error. */
int store_retracted_by(struct store *s, MDB_txn *txn, uint64_t seq, uint64_t *by);
/* The seq of the latest record under (principal, id) into *seq: 1 (found), 0 (the id
 * is unused, *seq 0) or an error. */
int store_id_lookup(struct store *s, MDB_txn *txn, const char *principal, const char *id,
                    uint64_t *seq);

/* What an id names now: its latest record. */
struct store_idver {
    uint64_t seq;          /* the latest record under the id; 0: the id is unused */
    int kind;              /* PROTO_RECORD_EVENT or _RETRACT; 0 when unused */
    uint64_t retracted_by; /* an event: its retraction's seq; 0 while live */
};
/* The state of the id whose latest record is seq (0: unused) into *iv, and that record
 * into *ev when it is an event. WM_OK, WM_EVERSION (ids names a missing or unreadable
 * record) or an LMDB error. */
int store_id_state(struct store *s, MDB_txn *txn, uint64_t seq, struct store_idver *iv,
                   struct wm_event *ev);

enum store_verdict {
    STORE_VERDICT_NEW = 0,  /* the id is unused: store */
    STORE_VERDICT_DUP,      /* the same live event: DUP of iv->seq */
    STORE_VERDICT_REPLACE,  /* REPLACE of a different or retracted version iv->seq */
    STORE_VERDICT_CONFLICT, /* err says why */
};
/* What a write of event in (EVENT: replace 0; REPLACE: 1) makes of its id, whose state
 * is iv and latest record latest (an event when iv->kind says so). A retracted event is
 * never a DUP: EVENT gets a conflict that says to send REPLACE. */
int store_id_verdict(const struct store_idver *iv, const struct wm_event *latest,
                     const struct wm_event *in, int replace, char *err, size_t errlen);

/* ---- verify (verify.c, verify_mem.c) -------------------------------------------------- */

/* A map from byte-string keys to fixed-size values, for verify's recomputed figures: a
 * dense array of entries (key offset and length, a seen flag, the value), found through
 * the index table; keys are kept in one growing byte array. Values are zeroed when
 * created; a pointer to one is good until the next store_vmap_put. */
struct store_vent {
    uint64_t koff;
    uint32_t klen;
    uint32_t seen; /* set by the comparisons: matched with the store's own */
};
struct store_vmap {
    uint8_t *ent; /* n entries of esize bytes: struct store_vent, then the value */
    size_t n, cap, esize, vsize;
    uint8_t *keys;
    size_t nkeys, capkeys;
    struct store_itab index;
};
void store_vmap_init(struct store_vmap *m, size_t vsize);
void store_vmap_free(struct store_vmap *m);
/* The value under key, created (zeroed) when absent. WM_OK and *val, or WM_ENOMEM. */
int store_vmap_put(struct store_vmap *m, const void *key, size_t klen, void **val);
/* The index of key's entry, or SIZE_MAX when absent. */
size_t store_vmap_find(const struct store_vmap *m, const void *key, size_t klen);
static inline struct store_vent *store_vmap_ent(const struct store_vmap *m, size_t i)
{
    return (struct store_vent *)(m->ent + i * m->esize);
}
static inline void *store_vmap_val(const struct store_vmap *m, size_t i)
{
    return m->ent + i * m->esize + sizeof(struct store_vent);
}
static inline const uint8_t *store_vmap_key(const struct store_vmap *m, size_t i)
{
    return m->keys + store_vmap_ent(m, i)->koff;
}

/* A memory rollup cell's key as verify packs it (type, gran, unit, project, gemeente,
 * enums): STORE_VKEY_LEN bytes. VEC cells use the same with enums zero. */
#define STORE_VKEY_LEN 14
void store_vkey_pack(uint8_t *k, int type, int gran, int32_t unit, uint32_t project,
                     uint32_t gemeente, const uint8_t *enums);

/* A person's entry as verify packs it: the person's index in the recomputation, then
 * date, project, gemeente, type and enums: STORE_VENTRY_LEN bytes. */
#define STORE_VENTRY_LEN 16
void store_ventry_pack(uint8_t *k, uint32_t person, const struct store_pentry *e);

/* What the records give, recomputed by verify.c from the events and retractions alone
 * (nothing of the store's own derived state is read to make it). */
struct store_vexpect {
    const struct store_registry *reg;
    struct store_vmap vec;     /* VEC cells: vkey -> u64[STORE_VEC_MAX] */
    struct store_vmap mcells;  /* memory rollup cells (PROGRESS's too): vkey -> u64 */
    struct store_vmap persons; /* pseudonym -> struct store_vperson */
    struct store_vmap entries; /* ventry -> u64 live events */
    struct store_vmap placed;  /* (person u32, project u32) -> struct store_vplaced */
    uint64_t placed_persons;   /* persons with a live placement */
    size_t *person_ent;        /* by person index: its entry in persons */
};
struct store_vperson {
    uint32_t index;     /* in the recomputation, dense from 0 */
    uint32_t nprojects; /* projects with a live placement */
    uint64_t seq;       /* one of its events: how a report names the person */
};
struct store_vplaced {
    int32_t first; /* earliest live placement's date */
    uint32_t n;    /* live placements */
};

/* Where verify's differences go. */
struct store_vreport {
    store_verify_fn fn;
    void *arg;
    uint64_t max_lines;
    struct store_verify_result *res;
};
/* Count one difference and pass its line (printf-style) on. */
void store_vreport(struct store_vreport *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Describe a rollup cell for a report ("placed month 2023-05 project=zorgstart
 * gemeente=huizen sector=zorg ..."; enums NULL: a VEC cell) into buf. */
void store_vcell_describe(char *buf, size_t len, const struct store_registry *reg, int type,
                          int gran, int32_t unit, uint32_t project, uint32_t gemeente,
                          const uint8_t *enums);
/* Compare a VEC cell the store holds (n counters at vals) with the recomputation,
 * marking it seen. */
void store_verify_vec_cell(struct store_vreport *r, struct store_vexpect *x, int type, int gran,
                           int32_t unit, uint32_t project, uint32_t gemeente, const uint64_t *vals,
                           size_t n);
/* Report the recomputed VEC cells no store cell matched (after every store cell was
 * passed to store_verify_vec_cell). */
void store_verify_vec_missing(struct store_vreport *r, struct store_vexpect *x);

/* The memory part compared with the recomputation: the one entry point that checks
 * what the memory part holds (verify_mem.c), whatever it holds. Under its read lock,
 * or on a memory part no one else uses. Returns WM_OK (differences went to r) or
 * WM_ENOMEM. */
int store_people_verify(struct store_people *pl, struct store_vexpect *x, struct store_vreport *r);
#endif /* WM_STORE_INT_H */
