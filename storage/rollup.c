/*
 * storage: rollup cells. Key encoding, the split of a date range into whole years,
 * whole months and edge days, and the batch's delta table, which sums every counter
 * change of a batch in memory so each distinct cell is written once per transaction.
 */
#define _GNU_SOURCE /* qsort_r */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

int store_rollup_kind_for(int nused, int gran)
{
    if (nused >= 2 || gran == STORE_GRAN_DAY)
        return STORE_ROLL_MEM;
    return STORE_ROLL_VEC;
}

size_t store_vec_offset(const struct proto_type_desc *td, int i)
{
    size_t off = 1;

    for (int j = 0; j < i; j++)
        off += td->enums[j]->nvalues;
    return off;
}

size_t store_vec_len(const struct proto_type_desc *td)
{
    return store_vec_offset(td, td->nenums);
}

int32_t store_time_unit(int32_t date, int gran)
{
    int y, m, d;

    if (gran == STORE_GRAN_DAY)
        return date;
    proto_date_split(date, &y, &m, &d);
    return gran == STORE_GRAN_YEAR ? y : y * 12 + m - 1;
}

int32_t store_unit_first(int gran, int32_t unit)
{
    switch (gran) {
    case STORE_GRAN_YEAR:
        return proto_date_from_ymd(unit, 1, 1);
    case STORE_GRAN_MONTH:
        return proto_date_from_ymd(unit / 12, unit % 12 + 1, 1);
    default:
        return unit;
    }
}

int32_t store_unit_last(int gran, int32_t unit)
{
    switch (gran) {
    case STORE_GRAN_YEAR:
        return proto_date_from_ymd(unit, 12, 31);
    case STORE_GRAN_MONTH:
        return store_unit_first(STORE_GRAN_MONTH, unit + 1) - 1;
    default:
        return unit;
    }
}

size_t store_rollup_key(uint8_t *k, int kind, int type, uint32_t project, int gran, int32_t unit,
                        uint32_t gemeente)
{
    k[0] = (uint8_t)kind;
    k[1] = (uint8_t)type;
    k[STORE_RK_GRAN] = (uint8_t)gran;
    store_put_time(k + STORE_RK_TIME, unit);
    store_put_u16(k + STORE_RK_PROJECT, project);
    store_put_u16(k + STORE_RK_GEM, gemeente);
    return STORE_RK_ENUMS;
}

/* Split [a, b] into days, months and the days after them, when month_mode; the
 * month spans are omitted when [a, b] holds no whole month. */
static size_t decompose_months(int32_t a, int32_t b, struct store_span *out)
{
    int32_t m1 = store_time_unit(a, STORE_GRAN_MONTH), m2 = store_time_unit(b, STORE_GRAN_MONTH);
    size_t n = 0;

    if (store_unit_first(STORE_GRAN_MONTH, m1) != a)
        m1++;
    if (store_unit_last(STORE_GRAN_MONTH, m2) != b)
        m2--;
    if (m1 > m2) {
        out[n++] = (struct store_span){STORE_GRAN_DAY, a, b};
        return n;
    }
    if (a < store_unit_first(STORE_GRAN_MONTH, m1))
        out[n++] =
            (struct store_span){STORE_GRAN_DAY, a, store_unit_first(STORE_GRAN_MONTH, m1) - 1};
    out[n++] = (struct store_span){STORE_GRAN_MONTH, m1, m2};
    if (store_unit_last(STORE_GRAN_MONTH, m2) < b)
        out[n++] =
            (struct store_span){STORE_GRAN_DAY, store_unit_last(STORE_GRAN_MONTH, m2) + 1, b};
    return n;
}

size_t store_decompose(int32_t a, int32_t b, int month_mode, struct store_span out[5])
{
    int32_t y1, y2;
    size_t n = 0;
    struct store_span left[3], right[3];
    size_t nl, nr;

    if (a > b)
        return 0;
    if (month_mode)
        return decompose_months(a, b, out);
    y1 = store_time_unit(a, STORE_GRAN_YEAR);
    y2 = store_time_unit(b, STORE_GRAN_YEAR);
    if (store_unit_first(STORE_GRAN_YEAR, y1) != a)
        y1++;
    if (store_unit_last(STORE_GRAN_YEAR, y2) != b)
        y2--;
    if (y1 > y2)
        return decompose_months(a, b, out);
    /* Each edge lies within one year, so it needs at most a day run and a month run. */
    nl = a < store_unit_first(STORE_GRAN_YEAR, y1)
             ? decompose_months(a, store_unit_first(STORE_GRAN_YEAR, y1) - 1, left)
             : 0;
    nr = store_unit_last(STORE_GRAN_YEAR, y2) < b
             ? decompose_months(store_unit_last(STORE_GRAN_YEAR, y2) + 1, b, right)
             : 0;
    for (size_t i = 0; i < nl; i++)
        out[n++] = left[i];
    out[n++] = (struct store_span){STORE_GRAN_YEAR, y1, y2};
    for (size_t i = 0; i < nr; i++)
        out[n++] = right[i];
    return n;
}

/* ---- the batch's delta table ---------------------------------------------- */

static uint64_t delta_hash(int dbi, const uint8_t *key, size_t len)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)dbi ^ ((uint64_t)len << 8);
    uint64_t w;

    while (len >= 8) {
        memcpy(&w, key, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
        key += 8;
        len -= 8;
    }
    w = 0;
    memcpy(&w, key, len);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    return h;
}

static int deltas_resize(struct store_deltas *d, size_t cap)
{
    struct store_delta *slots = calloc(cap, sizeof *slots);
    uint32_t *order = malloc(cap * sizeof *order);

    if (!slots || !order) {
        free(slots);
        free(order);
        return WM_ENOMEM;
    }
    for (size_t i = 0; i < d->used; i++) {
        const struct store_delta *e = &d->slots[d->order[i]];
        size_t j = delta_hash(e->dbi, e->key, e->len) & (cap - 1);
        while (slots[j].len)
            j = (j + 1) & (cap - 1);
        slots[j] = *e;
        order[i] = (uint32_t)j;
    }
    free(d->slots);
    free(d->order);
    d->slots = slots;
    d->order = order;
    d->cap = cap;
    return WM_OK;
}

/* The slot of (dbi, key), taken when new (delta 0, no vector). NULL: out of memory. */
static struct store_delta *delta_slot(struct store_deltas *d, int dbi, const uint8_t *key,
                                      size_t len)
{
    size_t j;

    if ((d->used + 1) * 2 > d->cap && deltas_resize(d, d->cap ? d->cap * 2 : 16384) != WM_OK)
        return NULL;
    j = delta_hash(dbi, key, len) & (d->cap - 1);
    for (;;) {
        struct store_delta *e = &d->slots[j];
        if (!e->len) {
            e->dbi = (uint8_t)dbi;
            e->len = (uint8_t)len;
            memcpy(e->key, key, len);
            e->delta = 0;
            e->vec = 0;
            d->order[d->used++] = (uint32_t)j;
            return e;
        }
        if (e->dbi == dbi && e->len == len && memcmp(e->key, key, len) == 0)
            return e;
        j = (j + 1) & (d->cap - 1);
    }
}

int store_deltas_add(struct store_deltas *d, int dbi, const uint8_t *key, size_t len, int64_t delta)
{
    struct store_delta *e = delta_slot(d, dbi, key, len);

    if (!e)
        return WM_ENOMEM;
    e->delta += delta;
    return WM_OK;
}

int store_deltas_add_vec(struct store_deltas *d, const uint8_t *key, const uint8_t *idx, size_t n,
                         int sign)
{
    struct store_delta *e = delta_slot(d, STORE_DBI_ROLLUP, key, STORE_RK_ENUMS);
    struct store_vdelta *v;

    if (!e)
        return WM_ENOMEM;
    if (!e->vec) {
        v = store_array_grow(d->vecs, &d->capvecs, d->nvecs + 1, sizeof *v, 1024);
        if (!v)
            return WM_ENOMEM;
        d->vecs = v;
        memset(&d->vecs[d->nvecs], 0, sizeof *v);
        e->vec = (uint32_t)++d->nvecs;
    }
    v = &d->vecs[e->vec - 1];
    v->d[0] += sign;
    for (size_t i = 0; i < n; i++)
        if (idx[i] < STORE_VEC_MAX)
            v->d[idx[i]] += sign;
    return WM_OK;
}

void store_deltas_reset(struct store_deltas *d)
{
    for (size_t i = 0; i < d->used; i++)
        d->slots[d->order[i]].len = 0;
    d->used = 0;
    d->nvecs = 0;
}

void store_deltas_free(struct store_deltas *d)
{
    free(d->slots);
    free(d->order);
    free(d->sort);
    free(d->vecs);
    memset(d, 0, sizeof *d);
}

/* A delta's place in the flush order: LMDB's key order, with the DBI and the first 15
 * key bytes as two integers that settle nearly every comparison. Sorted order keeps
 * most LMDB lookups on the cursor's current leaf page. */
struct sort_key {
    uint64_t w[2];
    uint32_t slot;
};

static void sort_key_make(struct sort_key *sk, const struct store_delta *e, uint32_t slot)
{
    uint8_t b[16] = {0};
    uint64_t w;

    b[0] = e->dbi;
    memcpy(b + 1, e->key, e->len < 15 ? e->len : 15);
    memcpy(&w, b, 8);
    sk->w[0] = __builtin_bswap64(w);
    memcpy(&w, b + 8, 8);
    sk->w[1] = __builtin_bswap64(w);
    sk->slot = slot;
}

static int sort_key_cmp(const void *pa, const void *pb, void *arg)
{
    const struct sort_key *a = pa, *b = pb;
    const struct store_delta *slots = arg, *x, *y;
    size_t n;
    int c;

    if (a->w[0] != b->w[0])
        return a->w[0] < b->w[0] ? -1 : 1;
    if (a->w[1] != b->w[1])
        return a->w[1] < b->w[1] ? -1 : 1;
    x = &slots[a->slot];
    y = &slots[b->slot];
    n = x->len < y->len ? x->len : y->len;
    c = memcmp(x->key, y->key, n);
    return c ? c : (int)x->len - (int)y->len;
}

/* Write one counter: cur is on the DBI. */
static int flush_one(MDB_cursor *cur, const struct store_delta *e)
{
    MDB_val k = {e->len, (void *)e->key}, v;
    uint64_t cnt = (uint64_t)e->delta;
    int rc;

    if (e->delta > 0) {
        /* Most cells of a batch are new: try the insert first, one descent. */
        v.mv_size = sizeof cnt;
        v.mv_data = &cnt;
        rc = mdb_cursor_put(cur, &k, &v, MDB_NOOVERWRITE);
        if (rc != MDB_KEYEXIST)
            return rc;
        cnt = store_val_u64(&v) + (uint64_t)e->delta;
        v.mv_size = sizeof cnt;
        v.mv_data = &cnt;
        return mdb_cursor_put(cur, &k, &v, MDB_CURRENT);
    }
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
    if (rc == MDB_NOTFOUND || (rc == 0 && store_val_u64(&v) < (uint64_t)-e->delta))
        return -1; /* a counter below zero: the store is inconsistent */
    if (rc != 0)
        return rc;
    cnt = store_val_u64(&v) - (uint64_t)-e->delta;
    if (cnt == 0)
        return mdb_cursor_del(cur, 0);
    v.mv_size = sizeof cnt;
    v.mv_data = &cnt;
    return mdb_cursor_put(cur, &k, &v, MDB_CURRENT);
}

/* Write one VEC cell with its batch's changes: cur is on the rollup DBI. */
static int flush_vec(MDB_cursor *cur, const struct store_delta *e, const struct store_vdelta *dv)
{
    const struct proto_type_desc *td = proto_type_desc(e->key[1]);
    size_t nc = td ? store_vec_len(td) : STORE_VEC_MAX + 1;
    uint64_t vec[STORE_VEC_MAX], total = 0;
    MDB_val k = {e->len, (void *)e->key}, v;
    int rc, found, changed = 0;

    if (nc > STORE_VEC_MAX)
        return -1;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    found = rc == 0;
    if (found && v.mv_size != nc * sizeof *vec)
        return -1;
    if (found)
        memcpy(vec, v.mv_data, nc * sizeof *vec);
    else
        memset(vec, 0, nc * sizeof *vec);
    for (size_t i = 0; i < STORE_VEC_MAX; i++) {
        if (dv->d[i] == 0)
            continue;
        if (i >= nc || (dv->d[i] < 0 && vec[i] < (uint64_t) - (int64_t)dv->d[i]))
            return -1; /* a counter below zero: the store is inconsistent */
        vec[i] += (uint64_t)(int64_t)dv->d[i];
        changed = 1;
    }
    if (!changed)
        return 0;
    for (size_t i = 0; i < nc; i++)
        total |= vec[i];
    /* the first counter is the cell's count: zero only when all are */
    if ((vec[0] == 0) != (total == 0))
        return -1;
    if (total == 0)
        return found ? mdb_cursor_del(cur, 0) : 0;
    k.mv_size = e->len;
    k.mv_data = (void *)e->key;
    v.mv_size = nc * sizeof *vec;
    v.mv_data = vec;
    return mdb_cursor_put(cur, &k, &v, found ? MDB_CURRENT : 0);
}

int store_deltas_flush(struct store *s, MDB_txn *txn)
{
    struct store_deltas *d = &s->deltas;
    MDB_cursor *cur = NULL;
    int cur_dbi = -1;
    int rc = 0;

    if (d->used > d->sort_cap) {
        struct sort_key *sk = realloc(d->sort, d->cap * sizeof *sk);
        if (!sk)
            return WM_ENOMEM;
        d->sort = sk;
        d->sort_cap = d->cap;
    }
    for (size_t i = 0; i < d->used; i++)
        sort_key_make(&d->sort[i], &d->slots[d->order[i]], d->order[i]);
    /* In key order most lookups stay on the cursor's current leaf page. */
    if (d->used > 1)
        qsort_r(d->sort, d->used, sizeof *d->sort, sort_key_cmp, d->slots);
    for (size_t i = 0; i < d->used && rc == 0; i++) {
        const struct store_delta *e = &d->slots[d->sort[i].slot];
        if (!e->vec && e->delta == 0)
            continue;
        if (e->dbi != cur_dbi) {
            if (cur)
                mdb_cursor_close(cur);
            cur = NULL;
            rc = mdb_cursor_open(txn, s->dbi[e->dbi], &cur);
            if (rc != 0)
                break;
            cur_dbi = e->dbi;
        }
        rc = e->vec ? flush_vec(cur, e, &d->vecs[e->vec - 1]) : flush_one(cur, e);
    }
    if (cur)
        mdb_cursor_close(cur);
    if (rc == -1)
        return WM_EINTERNAL;
    return store_lmdb_err(rc);
}
