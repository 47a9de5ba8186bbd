/*
 * storage: rollup cells. Key encoding, the split of a date range into whole years,
 * whole months and edge days, and the batch's changes, which sum every VEC cell's
 * counter changes of a batch in memory so each cell is written once per transaction.
 */
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

/* ---- the batch's changes ------------------------------------------------------ */

static uint32_t delta_hash(const uint8_t *key)
{
    uint64_t w0 = 0, w1 = 0, h;

    memcpy(&w0, key, 8);
    memcpy(&w1, key + 8, STORE_RK_ENUMS - 8);
    h = (w0 ^ 0x9e3779b97f4a7c15ull) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
    h = (h ^ w1) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    return (uint32_t)h;
}

int store_deltas_add_vec(struct store_deltas *d, const uint8_t *key, const uint8_t *idx, size_t n,
                         int sign)
{
    uint32_t h = delta_hash(key), i;
    struct store_vdelta *v;
    size_t pos;

    for (i = store_itab_first(&d->index, h, &pos); i != STORE_ITAB_NONE;
         i = store_itab_next(&d->index, h, &pos))
        if (memcmp(d->cells[i].key, key, STORE_RK_ENUMS) == 0)
            break;
    if (i == STORE_ITAB_NONE) {
        if (store_itab_reserve(&d->index, 1, 16384) != WM_OK)
            return WM_ENOMEM;
        v = store_array_grow(d->cells, &d->capcells, d->n + 1, sizeof *v, 1024);
        if (!v)
            return WM_ENOMEM;
        d->cells = v;
        i = (uint32_t)d->n++;
        memcpy(d->cells[i].key, key, STORE_RK_ENUMS);
        memset(d->cells[i].d, 0, sizeof d->cells[i].d);
        store_itab_add(&d->index, h, i);
    }
    v = &d->cells[i];
    v->d[0] += sign;
    for (size_t j = 0; j < n; j++)
        if (idx[j] < STORE_VEC_MAX)
            v->d[idx[j]] += sign;
    return WM_OK;
}

void store_deltas_reset(struct store_deltas *d)
{
    /* A batch of one event touches two cells of a table of 16,384 slots (128 KiB):
     * forget those two, newest first, rather than clearing every slot. */
    if (d->n * 64 < d->index.cap) {
        while (d->n > 0) {
            d->n--;
            store_itab_undo(&d->index, delta_hash(d->cells[d->n].key), (uint32_t)d->n);
        }
    } else {
        store_itab_clear(&d->index);
    }
    d->n = 0;
}

void store_deltas_free(struct store_deltas *d)
{
    free(d->cells);
    store_itab_free(&d->index);
    free(d->sort);
    memset(d, 0, sizeof *d);
}
/* A cell's place in the flush order: its key (11 bytes) as two big-endian integers,
 * which is LMDB's key order. Sorted order keeps most LMDB lookups on the cursor's
 * current leaf page. */
struct sort_key {
    uint64_t w[2];
    uint32_t cell;
};

static void sort_key_make(struct sort_key *sk, const struct store_vdelta *v, uint32_t cell)
{
    uint8_t b[16] = {0};
    uint64_t w;

    memcpy(b, v->key, STORE_RK_ENUMS);
    memcpy(&w, b, 8);
    sk->w[0] = __builtin_bswap64(w);
    memcpy(&w, b + 8, 8);
    sk->w[1] = __builtin_bswap64(w);
    sk->cell = cell;
}

static int sort_key_cmp(const void *pa, const void *pb)
{
    const struct sort_key *a = pa, *b = pb;

    if (a->w[0] != b->w[0])
        return a->w[0] < b->w[0] ? -1 : 1;
    if (a->w[1] != b->w[1])
        return a->w[1] < b->w[1] ? -1 : 1;
    return 0;
}

/* Write one VEC cell with its batch's changes: cur is on the rollup DBI. */
static int flush_vec(MDB_cursor *cur, const struct store_vdelta *dv)
{
    const struct proto_type_desc *td = proto_type_desc(dv->key[1]);
    size_t nc = td ? store_vec_len(td) : STORE_VEC_MAX + 1;
    uint64_t vec[STORE_VEC_MAX], total = 0;
    MDB_val k = {STORE_RK_ENUMS, (void *)dv->key}, v;
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
    k.mv_size = STORE_RK_ENUMS;
    k.mv_data = (void *)dv->key;
    v.mv_size = nc * sizeof *vec;
    v.mv_data = vec;
    return mdb_cursor_put(cur, &k, &v, found ? MDB_CURRENT : 0);
}

int store_deltas_flush(struct store *s, MDB_txn *txn)
{
    struct store_deltas *d = &s->deltas;
    MDB_cursor *cur = NULL;
    int rc;

    if (d->n == 0)
        return WM_OK;
    if (d->n > d->sort_cap) {
        struct sort_key *sk = store_array_grow(d->sort, &d->sort_cap, d->n, sizeof *sk, 1024);
        if (!sk)
            return WM_ENOMEM;
        d->sort = sk;
    }
    for (size_t i = 0; i < d->n; i++)
        sort_key_make(&d->sort[i], &d->cells[i], (uint32_t)i);
    qsort(d->sort, d->n, sizeof *d->sort, sort_key_cmp);
    rc = mdb_cursor_open(txn, s->dbi[STORE_DBI_ROLLUP], &cur);
    for (size_t i = 0; i < d->n && rc == 0; i++)
        rc = flush_vec(cur, &d->cells[d->sort[i].cell]);
    if (cur)
        mdb_cursor_close(cur);
    if (rc == -1)
        return WM_EINTERNAL;
    return store_lmdb_err(rc);
}
