/*
 * storage: the in-memory rollup, part of the store's memory part (persons.c calls it
 * for every entry it adds or removes, so it follows commits, rollbacks and the
 * rebuild at open exactly as the persons do). Its cells count live events by
 * (type, granularity, time unit, project, gemeente, every enum value) at year, month
 * and day granularity: the "full" rollup that COUNT reads for edge days and for
 * queries on two or more enumerated fields. Cells are grouped in buckets, one per
 * (type, granularity, unit), so a query reads the buckets of its units.
 *
 * Beside them the VEC cells: per type, year or month, project and gemeente, the count
 * and one counter per value of each enum, which answer COUNT with at most one enum
 * from few cells.
 *
 * Why in memory: in LMDB these cells were the bulk of every commit (a batch of 1,000
 * events touched about 1,300 of the 1,750 pages it wrote: the enum combinations times
 * projects times gemeenten are many, and each event lands on its own cell). The VEC
 * cells were in LMDB until schema 3: a batch whose dates spread over four years still
 * touched ~690 of its ~1,930 pages for them (tests/bench/vs_postgres_profile).
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* The year, month and day units of a date, by granularity. */
static void date_units(int32_t date, int32_t units[3])
{
    int y, mo, d;

    proto_date_split(date, &y, &mo, &d);
    units[STORE_GRAN_YEAR] = y;
    units[STORE_GRAN_MONTH] = y * 12 + mo - 1;
    units[STORE_GRAN_DAY] = date;
}

static uint32_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return (uint32_t)h;
}

static uint32_t bucket_hash(int type, int gran, int32_t unit)
{
    return mix((uint64_t)(uint32_t)unit << 16 | (uint64_t)type << 8 | (uint64_t)gran);
}

static uint32_t cell_hash(const struct store_mcell *c)
{
    uint64_t a = (uint64_t)(uint32_t)c->unit << 32 | (uint64_t)c->project << 16 | c->gemeente;
    uint64_t b = (uint64_t)c->type << 40 | (uint64_t)c->gran << 32 | (uint64_t)c->enums[0] << 16 |
                 (uint64_t)c->enums[1] << 8 | c->enums[2];
    return mix(a ^ (b * 0x9e3779b97f4a7c15ull));
}

static uint32_t vcell_hash(int type, int gran, int32_t unit, uint32_t project, uint32_t gemeente)
{
    return mix(((uint64_t)(uint32_t)unit << 32 | (uint64_t)project << 16 | gemeente) ^
               (((uint64_t)type << 8 | (uint64_t)gran) * 0x9e3779b97f4a7c15ull));
}

static int same_cell(const struct store_mcell *a, const struct store_mcell *b)
{
    /* b is a key: used */
    return a->unit == b->unit && a->project == b->project && a->gemeente == b->gemeente &&
           a->type == b->type && a->gran == b->gran &&
           memcmp(a->enums, b->enums, WM_MAX_ENUMS) == 0;
}

void store_memroll_free(struct store_memroll *m)
{
    /* every bucket the array has room for: past nbuckets they are zero (grown zeroed), or
     * one a checkpoint's reader began and gave up on (a damaged file) */
    for (size_t i = 0; i < m->capbuckets; i++) {
        free(m->buckets[i].cells);
        free(m->buckets[i].vcells);
    }
    free(m->buckets);
    store_itab_free(&m->bindex);
    free(m->cells);
    free(m->vcells);
    store_itab_free(&m->vindex);
    free(m->vec);
    memset(m, 0, sizeof *m);
}

const struct store_mbucket *store_memroll_bucket(const struct store_memroll *m, int type, int gran,
                                                 int32_t unit)
{
    uint32_t h = bucket_hash(type, gran, unit), i;
    size_t pos;

    for (i = store_itab_first(&m->bindex, h, &pos); i != STORE_ITAB_NONE;
         i = store_itab_next(&m->bindex, h, &pos)) {
        const struct store_mbucket *b = &m->buckets[i];
        if (b->unit == unit && b->type == type && b->gran == gran)
            return b;
    }
    return NULL;
}

/* The bucket of (type, gran, unit), created when missing. NULL: out of memory. */
static struct store_mbucket *bucket_get(struct store_memroll *m, int type, int gran, int32_t unit)
{
    struct store_mbucket *b = (struct store_mbucket *)store_memroll_bucket(m, type, gran, unit);

    if (b)
        return b;
    if (store_itab_reserve(&m->bindex, 1, 256) != WM_OK)
        return NULL;
    b = store_array_grow_zero(m->buckets, &m->capbuckets, m->nbuckets + 1, sizeof *b, 256);
    if (!b)
        return NULL;
    m->buckets = b;
    b = &m->buckets[m->nbuckets];
    memset(b, 0, sizeof *b);
    b->type = (uint8_t)type;
    b->gran = (uint8_t)gran;
    b->unit = unit;
    store_itab_add(&m->bindex, bucket_hash(type, gran, unit), (uint32_t)m->nbuckets++);
    return b;
}

/* The place of the cell like key in the table: the cell, or the free place where it
 * would go. Cells live in the table itself, so a lookup usually reads one line, where
 * the shared index table (store_itab, beside a dense array of cells) reads two: on a
 * store of 1,000,000 events (`build/bench_store 0 DIR` on a kept bench_store store,
 * five runs each, alternated) the rebuild took 3.79 s of CPU here and 4.04 s there
 * (+6%), for 16 MiB (9%) less memory. The rebuild is the daemon's start-up, so this
 * table stays. */
static struct store_mcell *cell_find(const struct store_memroll *m, const struct store_mcell *key)
{
    uint32_t j = cell_hash(key) & (m->capcells - 1);

    while (m->cells[j].used && !same_cell(&m->cells[j], key))
        j = (j + 1) & (m->capcells - 1);
    return &m->cells[j];
}

/* Make room for three more cells (one per granularity), so that adding them cannot
 * fail halfway. Growing moves every cell; the buckets' lists name cells by their place,
 * so each old place keeps its cell's new place (in its count, the old table being
 * thrown away) and the lists are renamed through it, needing no bucket lookup. Returns
 * WM_OK (1 when the table moved: places found before are stale) or WM_ENOMEM. */
static int reserve(struct store_memroll *m)
{
    struct store_mcell *old = m->cells, *t;
    size_t oldcap = m->capcells, n;

    if ((m->ncells + 3) * 2 <= m->capcells)
        return WM_OK;
    n = m->capcells ? m->capcells * 2 : 4096;
    if (n > (size_t)UINT32_MAX + 1)
        return WM_ENOMEM; /* the buckets' lists hold places as u32 */
    t = calloc(n, sizeof *t);
    if (!t)
        return WM_ENOMEM;
    store_huge_pages(t, n * sizeof *t);
    m->cells = t;
    m->capcells = n;
    for (size_t i = 0; i < oldcap; i++) {
        struct store_mcell *c;
        if (!old[i].used)
            continue;
        c = cell_find(m, &old[i]);
        *c = old[i];
        old[i].count = (uint32_t)(c - m->cells);
    }
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct store_mbucket *b = &m->buckets[i];
        for (size_t j = 0; j < b->n; j++)
            b->cells[j] = old[b->cells[j]].count;
    }
    free(old);
    return 1;
}

/* Room for one more index in a bucket's list. */
static int list_reserve(uint32_t **v, size_t *cap, size_t n)
{
    uint32_t *nv = store_array_grow(*v, cap, n + 1, sizeof *nv, 8);

    if (!nv)
        return WM_ENOMEM;
    *v = nv;
    return WM_OK;
}

/* The VEC cell of entry e at gran (unit), or NULL when there is none; with create a
 * missing one is added at zero (which counts nothing, so one left behind by a change
 * that fails later is harmless), NULL then meaning out of memory. */
static struct store_vcell *vcell_get(struct store_memroll *m, const struct store_pentry *e,
                                     int gran, int32_t unit, size_t nc, int create)
{
    uint32_t h = vcell_hash(e->type, gran, unit, e->project, e->gemeente), i;
    struct store_mbucket *b;
    struct store_vcell *c;
    uint64_t *v;
    size_t pos;

    for (i = store_itab_first(&m->vindex, h, &pos); i != STORE_ITAB_NONE;
         i = store_itab_next(&m->vindex, h, &pos)) {
        c = &m->vcells[i];
        if (c->unit == unit && c->project == e->project && c->gemeente == e->gemeente &&
            c->type == e->type && c->gran == gran)
            return c;
    }
    if (!create || store_itab_reserve(&m->vindex, 1, 1024) != WM_OK)
        return NULL;
    c = store_array_grow(m->vcells, &m->capvcells, m->nvcells + 1, sizeof *c, 512);
    if (!c)
        return NULL;
    m->vcells = c;
    v = store_array_grow(m->vec, &m->capvec, m->nvec + nc, sizeof *v, 8192);
    if (!v)
        return NULL;
    m->vec = v;
    b = bucket_get(m, e->type, gran, unit);
    if (!b || list_reserve(&b->vcells, &b->capv, b->nv) != WM_OK)
        return NULL;
    c = &m->vcells[m->nvcells];
    c->unit = unit;
    c->project = e->project;
    c->gemeente = e->gemeente;
    c->type = e->type;
    c->gran = (uint8_t)gran;
    c->off = (uint32_t)m->nvec;
    memset(&m->vec[m->nvec], 0, nc * sizeof *m->vec);
    m->nvec += nc;
    store_itab_add(&m->vindex, h, (uint32_t)m->nvcells);
    b->vcells[b->nv++] = (uint32_t)m->nvcells;
    return &m->vcells[m->nvcells++];
}

/* Add the cell like key (count 0) at its free place *c, with room made by reserve. */
static int cell_add(struct store_memroll *m, const struct store_mcell *key, struct store_mcell *c)
{
    struct store_mbucket *b = bucket_get(m, key->type, key->gran, key->unit);

    if (!b || list_reserve(&b->cells, &b->cap, b->n) != WM_OK)
        return WM_ENOMEM;
    *c = *key;
    c->count = 0;
    m->ncells++;
    b->cells[b->n++] = (uint32_t)(c - m->cells);
    return WM_OK;
}

int store_memroll_change(struct store_memroll *m, const struct store_pentry *e, int sign)
{
    const struct proto_type_desc *td = proto_type_desc(e->type);
    struct store_mcell key[3], *c[3];
    size_t nc = 0, idx[1 + WM_MAX_ENUMS], n = 1;
    uint32_t off[2];
    int32_t units[3];
    int missing = 0, ret;

    /* First find (adding, create at zero) every cell the entry counts in, and check
     * that each can take the change; only then change them, so a failure changes no
     * count. Cells are never removed: removing finds them all, and an undo that adds
     * back what it removed allocates nothing. */
    date_units(e->date, units);
    if (td) {
        /* the year and month VEC cells (PROGRESS's pseudo types have none) */
        nc = store_vec_len(td);
        idx[0] = 0;
        for (int i = 0; i < td->nenums; i++) {
            if (e->enums[i] >= td->enums[i]->nvalues)
                return WM_EINTERNAL;
            idx[n++] = store_vec_offset(td, i) + e->enums[i];
        }
        for (int g = STORE_GRAN_YEAR; g <= STORE_GRAN_MONTH; g++) {
            struct store_vcell *vc = vcell_get(m, e, g, units[g], nc, sign > 0);
            if (!vc)
                return sign > 0 ? WM_ENOMEM : WM_EINTERNAL;
            off[g] = vc->off;
            for (size_t j = 0; j < n && sign < 0; j++)
                if (m->vec[off[g] + idx[j]] == 0)
                    return WM_EINTERNAL; /* removing what was never counted */
        }
    }
    for (int g = STORE_GRAN_YEAR; g <= STORE_GRAN_DAY; g++) {
        memset(&key[g], 0, sizeof key[g]);
        key[g].unit = units[g];
        key[g].project = e->project;
        key[g].gemeente = e->gemeente;
        key[g].type = e->type;
        key[g].gran = (uint8_t)g;
        memcpy(key[g].enums, e->enums, WM_MAX_ENUMS);
        key[g].used = 1;
        c[g] = m->capcells ? cell_find(m, &key[g]) : NULL;
        missing |= !c[g] || !c[g]->used;
    }
    if (missing && sign < 0)
        return WM_EINTERNAL; /* removing from a cell that does not exist */
    if (missing) {
        ret = reserve(m);
        if (ret < 0)
            return ret;
        for (int g = STORE_GRAN_YEAR; g <= STORE_GRAN_DAY; g++) {
            /* again where the table moved, or an earlier cell took this one's free
             * place (a free place still free is still the key's: linear probing) */
            if (ret == 1 || !c[g] || (c[g]->used && !same_cell(c[g], &key[g])))
                c[g] = cell_find(m, &key[g]);
            if (!c[g]->used && cell_add(m, &key[g], c[g]) != WM_OK)
                return WM_ENOMEM;
        }
    }
    for (int g = STORE_GRAN_YEAR; g <= STORE_GRAN_DAY; g++)
        if (sign < 0 ? c[g]->count == 0 : c[g]->count == UINT32_MAX)
            return sign < 0 ? WM_EINTERNAL : WM_ESTORAGE;
    for (int g = STORE_GRAN_YEAR; g <= STORE_GRAN_DAY; g++)
        c[g]->count += (uint32_t)sign;
    for (int g = STORE_GRAN_YEAR; g <= STORE_GRAN_MONTH && td; g++)
        for (size_t j = 0; j < n; j++)
            m->vec[off[g] + idx[j]] += (uint64_t)(int64_t)sign;
    if (!m->has_dates) {
        m->min_date = m->max_date = e->date;
        m->has_dates = 1;
    } else {
        if (e->date < m->min_date)
            m->min_date = e->date;
        if (e->date > m->max_date)
            m->max_date = e->date;
    }
    return WM_OK;
}

uint64_t store_memroll_bytes(const struct store_memroll *m)
{
    uint64_t n = (uint64_t)m->capcells * sizeof(struct store_mcell) +
                 (uint64_t)m->capbuckets * sizeof(struct store_mbucket) +
                 store_itab_bytes(&m->bindex) +
                 (uint64_t)m->capvcells * sizeof(struct store_vcell) +
                 store_itab_bytes(&m->vindex) + (uint64_t)m->capvec * sizeof(uint64_t);

    for (uint32_t i = 0; i < m->nbuckets; i++)
        n += ((uint64_t)m->buckets[i].cap + m->buckets[i].capv) * sizeof(uint32_t);
    return n;
}

uint32_t store_memroll_hash_mark(void)
{
    struct store_mcell c;

    memset(&c, 0, sizeof c);
    c.unit = 2024;
    c.project = 3;
    c.gemeente = 5;
    c.type = 2;
    c.gran = STORE_GRAN_MONTH;
    c.enums[0] = 1;
    c.enums[1] = 2;
    return cell_hash(&c) ^ bucket_hash(1, STORE_GRAN_YEAR, 2023) * 3u ^
           vcell_hash(3, STORE_GRAN_MONTH, 24290, 7, 11) * 5u;
}
