/*
 * storage: the ids index, in memory. (principal, id) -> the seq of the id's latest record, as
 * an open-addressing table of (64-bit keyed hash, seq); the batch's changes are kept apart
 * until its commit. A hash only names candidates: the record at a candidate's seq decides.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "store_int.h"

uint64_t store_ids_hash_mask = UINT64_MAX;

size_t store_id_key(uint8_t *k, const char *principal, const char *id)
{
    size_t pl = strlen(principal), il = strlen(id);

    memcpy(k, principal, pl);
    k[pl] = '\0';
    memcpy(k + pl + 1, id, il);
    return pl + 1 + il;
}

/* ---- SipHash-2-4 --------------------------------------------------------------- */

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

#define SIP_ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIP_ROUND                                                                                  \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = SIP_ROTL(v1, 13);                                                                     \
        v1 ^= v0;                                                                                  \
        v0 = SIP_ROTL(v0, 32);                                                                     \
        v2 += v3;                                                                                  \
        v3 = SIP_ROTL(v3, 16);                                                                     \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = SIP_ROTL(v3, 21);                                                                     \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = SIP_ROTL(v1, 17);                                                                     \
        v1 ^= v2;                                                                                  \
        v2 = SIP_ROTL(v2, 32);                                                                     \
    } while (0)

uint64_t store_siphash(const uint8_t key[16], const void *data, size_t len)
{
    uint64_t k0 = le64(key), k1 = le64(key + 8);
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
    const uint8_t *p = data, *end = p + (len - len % 8);
    uint64_t m, b = (uint64_t)len << 56;

    for (; p != end; p += 8) {
        m = le64(p);
        v3 ^= m;
        SIP_ROUND;
        SIP_ROUND;
        v0 ^= m;
    }
    for (size_t i = 0; i < len % 8; i++)
        b |= (uint64_t)p[i] << (8 * i);
    v3 ^= b;
    SIP_ROUND;
    SIP_ROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIP_ROUND;
    SIP_ROUND;
    SIP_ROUND;
    SIP_ROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t store_ids_hash(const struct store_ids *t, const char *principal, const char *id)
{
    uint8_t k[WM_NAME_MAX + WM_ID_MAX + 2];

    return store_siphash(t->key, k, store_id_key(k, principal, id)) & store_ids_hash_mask;
}

int store_ids_key_load(struct store_ids *t, struct store *s, MDB_txn *txn)
{
    MDB_val k = {5, "idkey"}, v;
    int rc = mdb_get(txn, s->dbi[STORE_DBI_META], &k, &v);

    if (rc == MDB_NOTFOUND || (rc == 0 && v.mv_size != sizeof t->key))
        return WM_EVERSION;
    if (rc != 0)
        return store_lmdb_err(rc);
    memcpy(t->key, v.mv_data, sizeof t->key);
    return WM_OK;
}

int store_ids_key_init(struct store *s, MDB_txn *txn)
{
    uint8_t key[16];
    MDB_val k = {5, "idkey"}, v = {sizeof key, key};
    int rc = mdb_get(txn, s->dbi[STORE_DBI_META], &k, &v);

    if (rc == 0 && v.mv_size == sizeof key)
        return WM_OK;
    if (rc != 0 && rc != MDB_NOTFOUND)
        return store_lmdb_err(rc);
    /* the key keeps clients from choosing ids that collide: it must not be guessable */
    if (getrandom(key, sizeof key, 0) != (ssize_t)sizeof key)
        return WM_EIO;
    v.mv_size = sizeof key;
    v.mv_data = key;
    rc = mdb_put(txn, s->dbi[STORE_DBI_META], &k, &v, 0);
    return rc == 0 ? WM_OK : store_lmdb_err(rc);
}

/* ---- the table ------------------------------------------------------------------ */

int store_ids_reserve(struct store_ids *t, size_t more)
{
    size_t cap = t->cap ? t->cap : 1024;
    struct store_ids_slot *slots;

    /* at most three quarters full */
    if ((t->n + more) * 4 <= t->cap * 3)
        return WM_OK;
    while ((t->n + more) * 4 > cap * 3)
        cap *= 2;
    slots = calloc(cap, sizeof *slots);
    if (!slots)
        return WM_ENOMEM;
    if (cap * sizeof *slots >= 2 * STORE_HUGE)
        store_huge_pages(slots, cap * sizeof *slots);
    /* the slots hold the hashes: placing them again needs no record */
    for (size_t i = 0; i < t->cap; i++) {
        size_t j;
        if (t->slots[i].seq == 0)
            continue;
        for (j = t->slots[i].h & (cap - 1); slots[j].seq; j = (j + 1) & (cap - 1))
            ;
        slots[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return WM_OK;
}

void store_ids_add(struct store_ids *t, uint64_t h, uint64_t seq)
{
    size_t j = (uint32_t)h & (t->cap - 1);

    while (t->slots[j].seq)
        j = (j + 1) & (t->cap - 1);
    t->slots[j].h = (uint32_t)h;
    t->slots[j].seq = seq;
    t->n++;
}

/* The slot holding (h, seq), or NULL. */
static struct store_ids_slot *slot_of(const struct store_ids *t, uint64_t h, uint64_t seq)
{
    size_t pos;

    for (uint64_t s = store_ids_first(t, h, &pos); s; s = store_ids_next(t, h, &pos))
        if (s == seq)
            return &t->slots[(pos - 1) & (t->cap - 1)];
    return NULL;
}

void store_ids_clear(struct store_ids *t)
{
    free(t->slots);
    t->slots = NULL;
    t->cap = t->n = 0;
    store_ids_drop(t);
}

void store_ids_free(struct store_ids *t)
{
    store_ids_clear(t);
    free(t->chg);
    store_itab_free(&t->chgtab);
    memset(t, 0, sizeof *t);
}

uint64_t store_ids_bytes(const struct store_ids *t)
{
    return (uint64_t)t->cap * sizeof *t->slots + t->capchg * sizeof *t->chg +
           store_itab_bytes(&t->chgtab);
}

/* ---- the batch's changes --------------------------------------------------------- */

int store_ids_stage(struct store_ids *t, uint64_t h, uint64_t seq, uint64_t old)
{
    struct store_ids_change *c = store_array_grow(t->chg, &t->capchg, t->nchg + 1, sizeof *c, 256);

    if (!c || store_itab_reserve(&t->chgtab, 1, 512) != WM_OK)
        return WM_ENOMEM;
    t->chg = c;
    c = &t->chg[t->nchg];
    c->h = h;
    c->seq = seq;
    c->old = old;
    store_itab_add(&t->chgtab, (uint32_t)h, (uint32_t)t->nchg);
    t->nchg++;
    if (old == 0)
        t->nadd++;
    return WM_OK;
}

void store_ids_drop(struct store_ids *t)
{
    /* clear only the slots the changes took: a batch of one event must not pay for a
     * table that a large one grew */
    for (size_t i = 0; i < t->nchg; i++) {
        size_t j = (uint32_t)t->chg[i].h & (t->chgtab.cap - 1);
        uint64_t want = (uint64_t)(uint32_t)t->chg[i].h << 32 | ((uint64_t)i + 1);
        while (t->chgtab.slots[j] != want)
            j = (j + 1) & (t->chgtab.cap - 1);
        t->chgtab.slots[j] = 0;
    }
    t->chgtab.n = 0;
    t->nchg = t->nadd = 0;
}

void store_ids_merge(struct store_ids *t)
{
    for (size_t i = 0; i < t->nchg; i++) {
        const struct store_ids_change *c = &t->chg[i];
        struct store_ids_slot *sl = c->old ? slot_of(t, c->h, c->old) : NULL;
        if (sl)
            sl->seq = c->seq;
        else
            store_ids_add(t, c->h, c->seq); /* room reserved before the commit */
    }
    store_ids_drop(t);
}

/* ---- lookups --------------------------------------------------------------------- */

/* The record at seq when it is (principal, id)'s: its kind, decoded into ev or rt; 0 when
 * it is another key's or absent; or an error. */
static int record_is(MDB_txn *txn, MDB_dbi events, uint64_t seq, const char *principal,
                     const char *id, struct wm_event *ev, struct wm_retract *rt)
{
    uint8_t k[8];
    MDB_val key = {8, k}, v;
    int kind, rc;

    store_put_u64(k, seq);
    rc = mdb_get(txn, events, &key, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return store_lmdb_err(rc);
    kind = proto_record_kind(v.mv_data, v.mv_size);
    if (kind == PROTO_RECORD_EVENT) {
        if (proto_event_decode(v.mv_data, v.mv_size, ev) != WM_OK)
            return WM_EVERSION;
        return strcmp(ev->principal, principal) == 0 && strcmp(ev->id, id) == 0 ? kind : 0;
    }
    if (kind == PROTO_RECORD_RETRACT) {
        if (proto_retract_decode(v.mv_data, v.mv_size, rt) != WM_OK)
            return WM_EVERSION;
        return strcmp(rt->principal, principal) == 0 && strcmp(rt->id, id) == 0 ? kind : 0;
    }
    return WM_EVERSION;
}

int store_ids_find(const struct store_ids *t, MDB_txn *txn, MDB_dbi events, int changes, uint64_t h,
                   const char *principal, const char *id, struct wm_event *ev,
                   struct wm_retract *rt, uint64_t *seq, size_t *chg)
{
    size_t pos;
    int kind;

    *seq = 0;
    if (chg)
        *chg = SIZE_MAX;
    /* the batch's changes first: they are newer than the table's entry of their key */
    if (changes)
        for (uint32_t i = store_itab_first(&t->chgtab, (uint32_t)h, &pos); i != STORE_ITAB_NONE;
             i = store_itab_next(&t->chgtab, (uint32_t)h, &pos)) {
            if (t->chg[i].h != h)
                continue;
            kind = record_is(txn, events, t->chg[i].seq, principal, id, ev, rt);
            if (kind != 0) {
                *seq = kind > 0 ? t->chg[i].seq : 0;
                if (chg)
                    *chg = i;
                return kind;
            }
        }
    for (uint64_t s = store_ids_first(t, h, &pos); s; s = store_ids_next(t, h, &pos)) {
        kind = record_is(txn, events, s, principal, id, ev, rt);
        if (kind != 0) {
            *seq = kind > 0 ? s : 0;
            return kind;
        }
    }
    return 0;
}

int store_ids_upsert(struct store_ids *t, MDB_txn *txn, MDB_dbi events, uint64_t seq,
                     const char *principal, const char *id, struct wm_event *ev,
                     struct wm_retract *rt)
{
    uint64_t h = store_ids_hash(t, principal, id), old;
    int kind = store_ids_find(t, txn, events, 0, h, principal, id, ev, rt, &old, NULL);
    struct store_ids_slot *sl;

    if (kind < 0)
        return kind;
    if (kind > 0 && (sl = slot_of(t, h, old)) != NULL) {
        sl->seq = seq;
        return WM_OK;
    }
    if (store_ids_reserve(t, 1) != WM_OK)
        return WM_ENOMEM;
    store_ids_add(t, h, seq);
    return WM_OK;
}
