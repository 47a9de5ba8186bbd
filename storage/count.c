/*
 * storage: COUNT. Event counts come from the in-memory rollup's cells (memroll.c),
 * never from events: the query reads the smallest kind that holds its dimensions (no
 * enum or one: VEC cells for years and months; edge days, or two or more enums: the
 * cells of every enum combination) over at most five runs of time units (edge days,
 * edge months, whole years), each a run of buckets. Cost: the cells in those runs, i.e.
 * (years + up to 2*11 months + up to 2*30 days) x the projects x gemeenten that occur
 * (x the enum combinations that occur, for the full cells); it does not grow with the
 * number of events, only with the variety of their values (an all-time query without
 * month/quarter reads year cells). LMDB gives only the registry.
 *
 * distinct=person walks the in-memory person table (persons.c): the persons listed for
 * the type in the years the range touches, each person's entries together, so each
 * counts once per group without a set of (group, person). Cost: one memory read per
 * such person plus their entries (about one per distinct live event of theirs); it
 * grows with the persons active in those years, not with the whole store, and reads
 * no LMDB page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define DATE_MAX_DAYS 2932896 /* 9999-12-31 */

/* One group of the answer: its dimension values (ids, indexes or time units). */
struct group {
    uint32_t vals[WM_DIM_COUNT_];
    uint64_t count;
    uint64_t stamp; /* distinct: the last person counted in this group */
};

struct count_ctx {
    struct store *s;
    MDB_txn *txn;
    const struct wm_count_query *q;
    const struct proto_type_desc *td;
    struct store_registry reg;
    uint8_t *proj_ok; /* by project id (reg.nid) */
    uint8_t *gem_ok;  /* by gemeente id (reg.ngem); NULL: every gemeente */
    uint32_t enum_mask[WM_MAX_ENUMS];
    int32_t a, b;    /* dates, clamped */
    struct group *g; /* in the order first counted */
    size_t ng, gcap;
    struct store_itab gindex; /* finds a group by its values */
};

/* ---- groups ------------------------------------------------------------------- */

static uint32_t group_hash(const uint32_t *v, size_t n)
{
    uint64_t h = 0x84222325cbf29ce4ull;

    for (size_t i = 0; i < n; i++)
        h = (h ^ v[i]) * 0x100000001b3ull;
    return (uint32_t)(h ^ (h >> 31));
}

/* Add n to the group vals. With stamp != 0 (distinct) a group counts each stamp (a
 * person) once. */
static int group_add(struct count_ctx *c, const uint32_t *vals, uint64_t n, uint64_t stamp)
{
    size_t nby = c->q->nby, pos;
    uint32_t h = group_hash(vals, nby), i;
    struct group *g;

    for (i = store_itab_first(&c->gindex, h, &pos); i != STORE_ITAB_NONE;
         i = store_itab_next(&c->gindex, h, &pos))
        if (memcmp(c->g[i].vals, vals, nby * sizeof *vals) == 0)
            break;
    if (i == STORE_ITAB_NONE) {
        /* stop at once: the answer would be refused, and its groups take memory */
        if (c->q->max_rows > 0 && c->ng >= c->q->max_rows)
            return WM_ETOO_LARGE;
        if (store_itab_reserve(&c->gindex, 1, 128) != WM_OK)
            return WM_ENOMEM;
        g = store_array_grow(c->g, &c->gcap, c->ng + 1, sizeof *g, 64);
        if (!g)
            return WM_ENOMEM;
        c->g = g;
        i = (uint32_t)c->ng++;
        memcpy(c->g[i].vals, vals, nby * sizeof *vals);
        c->g[i].count = 0;
        c->g[i].stamp = 0;
        store_itab_add(&c->gindex, h, i);
    }
    g = &c->g[i];
    if (stamp == 0 || g->stamp != stamp)
        g->count += n;
    g->stamp = stamp;
    return WM_OK;
}

/* ---- filters -------------------------------------------------------------------- */

static int resolve_filters(struct count_ctx *c, char *err, size_t errlen)
{
    const struct wm_count_query *q = c->q;
    const struct store_registry *r = &c->reg;
    const struct wm_filter *f;

    c->proj_ok = malloc(r->nid);
    if (!c->proj_ok)
        return WM_ENOMEM;
    for (uint32_t id = 0; id < r->nid; id++)
        c->proj_ok[id] = id == 0 || r->by_id[id] >= 0;

    f = &q->filter[WM_DIM_PROJECT];
    if (f->active) {
        memset(c->proj_ok, 0, r->nid);
        for (size_t i = 0; i < f->n; i++) {
            const struct store_reg_project *p = store_registry_find(r, f->str[i]);
            if (p) {
                c->proj_ok[p->id] = 1;
            } else if (strcmp(f->str[i], "-") == 0) {
                c->proj_ok[0] = 1; /* the group of events without a project */
            } else {
                store_unknown_project(c->s, c->txn, f->str[i], err, errlen);
                return WM_EUNKNOWN_PROJECT;
            }
        }
    }
    f = &q->filter[WM_DIM_CATEGORY];
    if (f->active) {
        /* a category no project has is a mistake, not an empty answer */
        for (size_t i = 0; i < f->n; i++) {
            int ret = strcmp(f->str[i], "-") == 0
                          ? WM_OK
                          : store_registry_category(r, f->str[i], err, errlen);
            if (ret != WM_OK)
                return ret;
        }
        for (uint32_t id = 0; id < r->nid; id++) {
            const char *cat = id == 0             ? "-"
                              : r->by_id[id] >= 0 ? r->proj[r->by_id[id]].p.category
                                                  : NULL;
            int hit = 0;
            for (size_t i = 0; cat && i < f->n && !hit; i++)
                hit = strcmp(cat, f->str[i]) == 0;
            if (!hit)
                c->proj_ok[id] = 0;
        }
    }
    f = &q->filter[WM_DIM_SCOPE];
    if (f->active) {
        c->proj_ok[0] = 0;
        for (uint32_t id = 1; id < r->nid; id++)
            if (r->by_id[id] >= 0 && !(f->mask & (1u << r->proj[r->by_id[id]].p.scope)))
                c->proj_ok[id] = 0;
    }
    f = &q->filter[WM_DIM_GEMEENTE];
    if (f->active) {
        c->gem_ok = calloc(r->ngem ? r->ngem : 1, 1);
        if (!c->gem_ok)
            return WM_ENOMEM;
        for (size_t i = 0; i < f->n; i++)
            for (uint32_t id = 1; id < r->ngem; id++)
                if (strcmp(r->gem[id], f->str[i]) == 0)
                    c->gem_ok[id] = 1;
    }
    for (int i = 0; i < WM_MAX_ENUMS; i++) {
        f = &q->filter[WM_DIM_ENUM0 + i];
        c->enum_mask[i] = f->active ? f->mask : UINT32_MAX;
    }
    return WM_OK;
}

/* Narrow [a, b] to the periods a year, quarter, month or half-year filter allows. */
static void narrow_dates(struct count_ctx *c)
{
    static const int dims[4] = {WM_DIM_YEAR, WM_DIM_QUARTER, WM_DIM_MONTH, WM_DIM_HALFYEAR};

    for (int d = 0; d < 4; d++) {
        const struct wm_filter *f = &c->q->filter[dims[d]];
        int32_t lo = INT32_MAX, hi = INT32_MIN;
        if (!f->active)
            continue;
        for (size_t i = 0; i < f->n; i++) {
            int32_t first, last, v = f->num[i];
            if (d == 0) {
                first = store_unit_first(STORE_GRAN_YEAR, v);
                last = store_unit_last(STORE_GRAN_YEAR, v);
            } else if (d == 1) {
                first = store_unit_first(STORE_GRAN_MONTH, v / 4 * 12 + v % 4 * 3);
                last = store_unit_last(STORE_GRAN_MONTH, v / 4 * 12 + v % 4 * 3 + 2);
            } else if (d == 3) {
                first = store_unit_first(STORE_GRAN_MONTH, v / 2 * 12 + v % 2 * 6);
                last = store_unit_last(STORE_GRAN_MONTH, v / 2 * 12 + v % 2 * 6 + 5);
            } else {
                first = store_unit_first(STORE_GRAN_MONTH, v);
                last = store_unit_last(STORE_GRAN_MONTH, v);
            }
            lo = first < lo ? first : lo;
            hi = last > hi ? last : hi;
        }
        c->a = lo > c->a ? lo : c->a;
        c->b = hi < c->b ? hi : c->b;
    }
}

static int num_in(const struct wm_filter *f, int32_t v)
{
    if (!f->active)
        return 1;
    for (size_t i = 0; i < f->n; i++)
        if (f->num[i] == v)
            return 1;
    return 0;
}

/* The period of a cell or entry: year, quarter index, month index and half-year index
 * (-1 when the unit is coarser). */
struct period {
    int32_t year, quarter, month, halfyear;
};

static struct period unit_period(int gran, int32_t unit)
{
    struct period p = {unit, -1, -1, -1};

    if (gran == STORE_GRAN_DAY)
        unit = store_time_unit(unit, STORE_GRAN_MONTH);
    if (gran != STORE_GRAN_YEAR) {
        p.year = unit / 12;
        p.month = unit;
        p.quarter = p.year * 4 + unit % 12 / 3;
        p.halfyear = p.year * 2 + unit % 12 / 6;
    }
    return p;
}

static int period_ok(const struct count_ctx *c, const struct period *p)
{
    const struct wm_count_query *q = c->q;

    return num_in(&q->filter[WM_DIM_YEAR], p->year) &&
           num_in(&q->filter[WM_DIM_QUARTER], p->quarter) &&
           num_in(&q->filter[WM_DIM_MONTH], p->month) &&
           num_in(&q->filter[WM_DIM_HALFYEAR], p->halfyear);
}

/* Filters on project (incl. category, scope), gemeente and enums. */
static int dims_ok(const struct count_ctx *c, uint32_t project, uint32_t gem, const uint8_t *enums)
{
    if (project >= c->reg.nid || !c->proj_ok[project])
        return 0;
    if (c->gem_ok && (gem >= c->reg.ngem || !c->gem_ok[gem]))
        return 0;
    for (int i = 0; i < c->td->nenums; i++)
        if (!(c->enum_mask[i] & (1u << enums[i])))
            return 0;
    return 1;
}

static void group_vals(const struct count_ctx *c, uint32_t project, uint32_t gem,
                       const uint8_t *enums, const struct period *p, uint32_t *vals)
{
    const struct store_registry *r = &c->reg;
    int32_t idx = project ? r->by_id[project] : -1;

    for (size_t i = 0; i < c->q->nby; i++) {
        switch (c->q->by[i]) {
        case WM_DIM_PROJECT:
            vals[i] = project;
            break;
        case WM_DIM_CATEGORY:
            vals[i] = idx >= 0 ? r->proj[idx].cat + 1 : 0;
            break;
        case WM_DIM_SCOPE:
            vals[i] = idx >= 0 ? r->proj[idx].p.scope + 1u : 0;
            break;
        case WM_DIM_GEMEENTE:
            vals[i] = gem;
            break;
        case WM_DIM_YEAR:
            vals[i] = (uint32_t)p->year;
            break;
        case WM_DIM_QUARTER:
            vals[i] = (uint32_t)p->quarter;
            break;
        case WM_DIM_MONTH:
            vals[i] = (uint32_t)p->month;
            break;
        case WM_DIM_HALFYEAR:
            vals[i] = (uint32_t)p->halfyear;
            break;
        default:
            vals[i] = enums[c->q->by[i] - WM_DIM_ENUM0];
            break;
        }
    }
}

/* ---- counting from rollups ------------------------------------------------------- */

static int uses_dim(const struct wm_count_query *q, int dim)
{
    if (q->filter[dim].active)
        return 1;
    for (size_t i = 0; i < q->nby; i++)
        if (q->by[i] == dim)
            return 1;
    return 0;
}

/* Count one cell (or one value of a VEC cell). */
static int count_cell(struct count_ctx *c, uint32_t pj, uint32_t gem, const uint8_t *enums,
                      const struct period *p, uint64_t n)
{
    uint32_t vals[WM_DIM_COUNT_];

    if (n == 0 || !dims_ok(c, pj, gem, enums) || !period_ok(c, p))
        return WM_OK;
    group_vals(c, pj, gem, enums, p, vals);
    return group_add(c, vals, n, 0);
}

/* The enums of the type the query groups or filters by: how many, and the last. */
static int enums_used(const struct count_ctx *c, int *used)
{
    int nused = 0;

    *used = -1;
    for (int i = 0; i < c->td->nenums; i++)
        if (uses_dim(c->q, WM_DIM_ENUM0 + i)) {
            nused++;
            *used = i;
        }
    return nused;
}

/* The units of span sp within the dates ever counted: [*lo, *hi], empty when none. */
static void span_units(const struct store_memroll *m, const struct store_span *sp, int32_t *lo,
                       int32_t *hi)
{
    *lo = sp->lo;
    *hi = sp->hi;
    if (!m->has_dates) {
        *hi = *lo - 1;
        return;
    }
    if (*lo < store_time_unit(m->min_date, sp->gran))
        *lo = store_time_unit(m->min_date, sp->gran);
    if (*hi > store_time_unit(m->max_date, sp->gran))
        *hi = store_time_unit(m->max_date, sp->gran);
}

/* One span from the cells of every enum combination: the buckets of its units, every
 * cell of each. The caller holds the memory part's read lock. */
static int count_mem_span(struct count_ctx *c, const struct store_span *sp)
{
    const struct store_memroll *m = &c->s->people.roll;
    int32_t lo, hi;

    span_units(m, sp, &lo, &hi);
    for (int32_t unit = lo; unit <= hi; unit++) {
        const struct store_mbucket *b = store_memroll_bucket(m, c->q->type, sp->gran, unit);
        struct period p = unit_period(sp->gran, unit);
        for (uint32_t i = 0; b && i < b->n; i++) {
            const struct store_mcell *cell = &m->cells[b->cells[i]];
            int ret = count_cell(c, cell->project, cell->gemeente, cell->enums, &p, cell->count);
            if (ret != WM_OK)
                return ret;
        }
    }
    return WM_OK;
}

/* One span from the VEC cells: per unit one cell per (project, gemeente), its count
 * or (one enum used) the counters of that enum's values. Read lock held. */
static int count_vec_span(struct count_ctx *c, const struct store_span *sp, int used)
{
    const struct store_memroll *m = &c->s->people.roll;
    uint8_t enums[WM_MAX_ENUMS] = {0};
    size_t off = used >= 0 ? store_vec_offset(c->td, used) : 0;
    int32_t lo, hi;
    int ret = WM_OK;

    span_units(m, sp, &lo, &hi);
    for (int32_t unit = lo; unit <= hi && ret == WM_OK; unit++) {
        const struct store_mbucket *b = store_memroll_bucket(m, c->q->type, sp->gran, unit);
        struct period p = unit_period(sp->gran, unit);
        for (uint32_t i = 0; b && i < b->nv && ret == WM_OK; i++) {
            const struct store_vcell *cell = &m->vcells[b->vcells[i]];
            const uint64_t *vec = &m->vec[cell->off];
            if (used < 0) {
                ret = count_cell(c, cell->project, cell->gemeente, enums, &p, vec[0]);
                continue;
            }
            for (uint8_t x = 0; x < c->td->enums[used]->nvalues && ret == WM_OK; x++) {
                enums[used] = x;
                ret = count_cell(c, cell->project, cell->gemeente, enums, &p, vec[off + x]);
            }
        }
    }
    return ret;
}

static int count_rollups(struct count_ctx *c)
{
    struct store_span spans[5];
    size_t nspans;
    int used, nused = enums_used(c, &used);
    int month_mode = uses_dim(c->q, WM_DIM_MONTH) || uses_dim(c->q, WM_DIM_QUARTER) ||
                     uses_dim(c->q, WM_DIM_HALFYEAR);
    int ret = WM_OK;

    nspans = store_decompose(c->a, c->b, month_mode, spans);
    for (size_t si = 0; si < nspans && ret == WM_OK; si++) {
        if (store_rollup_kind_for(nused, spans[si].gran) == STORE_ROLL_MEM)
            ret = count_mem_span(c, &spans[si]);
        else
            ret = count_vec_span(c, &spans[si], used);
    }
    return ret;
}

/* ---- distinct persons from the person layer ---------------------------------------- */

/* Count one person's matching entries: a person's entries come together, so a group
 * counts a person once without a set of (group, person): the group remembers the
 * last person it counted. */
static int distinct_person(struct count_ctx *c, uint32_t pid, int timed)
{
    const struct store_person *p = &c->s->people.persons.p[pid];

    for (uint32_t i = 0; i < p->n; i++) {
        const struct store_pentry *e = &p->e[i];
        uint32_t vals[WM_DIM_COUNT_];
        struct period per = {0, 0, 0, 0};
        int ret;
        if (e->type != c->q->type || e->date < c->a || e->date > c->b ||
            !dims_ok(c, e->project, e->gemeente, e->enums))
            continue;
        /* the entry's year, quarter, month and half-year, when the query uses them */
        if (timed) {
            per = unit_period(STORE_GRAN_DAY, e->date);
            if (!period_ok(c, &per))
                continue;
        }
        group_vals(c, e->project, e->gemeente, e->enums, &per, vals);
        ret = group_add(c, vals, 1, (uint64_t)pid + 1);
        if (ret != WM_OK)
            return ret;
    }
    return WM_OK;
}

/* Walk the persons listed for the type in the years [a, b] touches (persons.c), each
 * once (a bitmap of those seen), reading their entries. The caller holds the layer's
 * read lock. */
static int count_distinct(struct count_ctx *c)
{
    const struct store_people *pl = &c->s->people;
    int y1 = store_time_unit(c->a, STORE_GRAN_YEAR), y2 = store_time_unit(c->b, STORE_GRAN_YEAR);
    int timed = uses_dim(c->q, WM_DIM_YEAR) || uses_dim(c->q, WM_DIM_QUARTER) ||
                uses_dim(c->q, WM_DIM_MONTH) || uses_dim(c->q, WM_DIM_HALFYEAR);
    uint8_t *seen;
    int ret = WM_OK;

    if (y1 < STORE_TY_BASE)
        y1 = STORE_TY_BASE;
    seen = calloc(pl->persons.n / 8 + 1, 1);
    if (!seen)
        return WM_ENOMEM;
    for (int y = y1; y <= y2 && ret == WM_OK; y++) {
        const struct store_plist *l = store_people_listed(pl, c->q->type, y);
        if (!l) {
            if ((size_t)c->q->type * STORE_TY_YEARS + (size_t)(y - STORE_TY_BASE) >=
                pl->persons.nty)
                break; /* no later year is listed either */
            continue;
        }
        for (size_t i = 0; i < l->n && ret == WM_OK; i++) {
            uint32_t pid = l->v[i];
            /* each person's entries are a separate allocation: ask for them well
             * ahead, so the memory reads overlap instead of queueing one by one */
            if (i + 8 < l->n)
                __builtin_prefetch(pl->persons.p[l->v[i + 8]].e);
            if (i + 16 < l->n)
                __builtin_prefetch(&pl->persons.p[l->v[i + 16]]);
            if (seen[pid / 8] & (1u << (pid % 8)))
                continue;
            seen[pid / 8] |= (uint8_t)(1u << (pid % 8));
            ret = distinct_person(c, pid, timed);
        }
    }
    free(seen);
    return ret;
}

/* ---- the answer ------------------------------------------------------------------- */

static const char *dim_text(const struct count_ctx *c, int dim, uint32_t val, char *buf)
{
    const struct store_registry *r = &c->reg;

    switch (dim) {
    case WM_DIM_PROJECT:
        return val == 0 ? "-" : r->proj[r->by_id[val]].p.name;
    case WM_DIM_CATEGORY:
        return val == 0 ? "-" : r->cats[val - 1];
    case WM_DIM_SCOPE:
        return val == 0 ? "-" : val == 1 + WM_SCOPE_LOCAL ? "local" : "regional";
    case WM_DIM_GEMEENTE:
        return val < r->ngem && r->gem[val][0] ? r->gem[val] : "-";
    case WM_DIM_YEAR:
        snprintf(buf, 16, "%04u", val);
        return buf;
    case WM_DIM_QUARTER:
        snprintf(buf, 16, "%04u-Q%u", val / 4, val % 4 + 1);
        return buf;
    case WM_DIM_MONTH:
        snprintf(buf, 16, "%04u-%02u", val / 12, val % 12 + 1);
        return buf;
    case WM_DIM_HALFYEAR:
        snprintf(buf, 16, "%04u-H%u", val / 2, val % 2 + 1);
        return buf;
    default: {
        const struct proto_enum_field *f = c->td->enums[dim - WM_DIM_ENUM0];
        return val < f->nvalues ? f->values[val] : "-";
    }
    }
}

/* The groups with a count into res, with their values as the wire writes them. */
static int emit_rows(struct count_ctx *c, struct wm_count_result *res)
{
    size_t nby = c->q->nby;
    const char *vals[WM_DIM_COUNT_];
    char buf[WM_DIM_COUNT_][16];
    int ret = WM_OK;

    if (nby == 0) {
        uint64_t total = 0;
        for (size_t i = 0; i < c->ng; i++)
            total = c->g[i].count;
        return proto_count_result_add(res, vals, total);
    }
    for (size_t i = 0; i < c->ng && ret == WM_OK; i++) {
        const struct group *g = &c->g[i];
        if (g->count == 0)
            continue;
        for (size_t d = 0; d < nby; d++)
            vals[d] = dim_text(c, c->q->by[d], g->vals[d], buf[d]);
        ret = proto_count_result_add(res, vals, g->count);
    }
    proto_count_result_sort(res);
    return ret;
}

/* Free what one count on c allocated, keeping its read (txn, registry) for another. */
static void count_ctx_clear(struct count_ctx *c)
{
    free(c->proj_ok);
    free(c->gem_ok);
    free(c->g);
    store_itab_free(&c->gindex);
    c->proj_ok = c->gem_ok = NULL;
    c->g = NULL;
    c->ng = c->gcap = 0;
    memset(&c->gindex, 0, sizeof c->gindex);
}

int store_count(struct store *s, const struct wm_count_query *q, struct wm_count_result *res,
                char *err, size_t errlen)
{
    struct store_counters cnt;
    struct count_ctx c;
    int ret;

    proto_count_result_reset(res, q->type, q->by, q->nby);
    memset(&c, 0, sizeof c);
    c.s = s;
    c.q = q;
    c.td = proto_type_desc(q->type);
    if (!c.td) {
        proto_errf(err, errlen, "unknown type %d", (int)q->type);
        return WM_EINVALID;
    }
    c.a = q->from > WM_DATE_MIN ? q->from : WM_DATE_MIN;
    c.b = q->to < DATE_MAX_DAYS ? q->to : DATE_MAX_DAYS;
    /* every cell is in memory, read under the memory part's lock, taken before the read
     * transaction (for the registry), so both show the same commit */
    ret = store_people_read_begin(&s->people, "count", err, errlen);
    if (ret != WM_OK)
        return ret;
    ret = store_query_begin(s, &c.txn, &c.reg, err, errlen);
    if (ret != WM_OK) {
        store_people_read_end(&s->people);
        return ret;
    }
    ret = store_counters_get(s, c.txn, &cnt);
    if (ret != WM_OK) {
        proto_errf(err, errlen, "count failed: %s", wm_strerror(ret));
        goto out;
    }
    res->seq = cnt.last_seq;
    ret = resolve_filters(&c, err, errlen);
    if (ret != WM_OK)
        goto out;
    narrow_dates(&c);
    if (c.a <= c.b)
        ret = q->distinct ? count_distinct(&c) : count_rollups(&c);
    if (ret == WM_OK)
        ret = emit_rows(&c, res);
    if (ret != WM_OK)
        proto_errf(err, errlen, "count failed: %s", wm_strerror(ret));
out:
    store_query_end(s, c.txn, &c.reg);
    store_people_read_end(&s->people);
    count_ctx_clear(&c);
    if (ret != WM_OK) {
        res->nrows = 0;
        /* an unknown project or category, too many rows: the request's; the rest the store's */
        if (ret != WM_EUNKNOWN_PROJECT && ret != WM_EINVALID && ret != WM_ENOMEM &&
            ret != WM_ETOO_LARGE)
            ret = WM_EIO;
    }
    return ret;
}

/* ---- totals by municipality --------------------------------------------------------- */

/* The field of figure fig (0 started .. 4 outflow, the wire's order) of t. */
static uint64_t *totals_field(struct wm_totals *t, int fig)
{
    uint64_t *f[5] = {&t->started, &t->completed, &t->placed, &t->placed_persons, &t->outflow};

    return f[fig];
}

/* Figure fig of every gemeente: q (by gemeente, all time) on c's read; each group's
 * count goes to the out[i] whose gemeente id is ids[i]. */
static int totals_figure(struct count_ctx *c, const struct wm_count_query *q, int fig,
                         const uint32_t *ids, size_t n, struct wm_totals *out, char *err,
                         size_t errlen)
{
    int ret;

    count_ctx_clear(c);
    c->q = q;
    c->td = proto_type_desc(q->type);
    c->a = WM_DATE_MIN;
    c->b = DATE_MAX_DAYS;
    ret = resolve_filters(c, err, errlen);
    if (ret == WM_OK)
        ret = q->distinct ? count_distinct(c) : count_rollups(c);
    for (size_t gi = 0; ret == WM_OK && gi < c->ng; gi++)
        for (size_t i = 0; i < n; i++)
            if (ids[i] != 0 && c->g[gi].vals[0] == ids[i])
                *totals_field(&out[i], fig) += c->g[gi].count;
    return ret;
}

int store_totals_gemeenten(struct store *s, const char *const *names, size_t n,
                           struct wm_totals *out, uint64_t *seq, char *err, size_t errlen)
{
    /* the figures as COUNT gives them: type, distinct=person, the results counted */
    static const struct {
        uint8_t type, distinct, success_only;
    } figs[5] = {{WM_TYPE_STARTED, 0, 0},
                 {WM_TYPE_COMPLETED, 0, 1},
                 {WM_TYPE_PLACED, 0, 0},
                 {WM_TYPE_PLACED, 1, 0},
                 {WM_TYPE_OUTFLOW, 0, 0}};
    struct store_counters cnt;
    struct wm_count_query q;
    struct count_ctx c;
    uint32_t *ids;
    int ret;

    if (n > 0)
        memset(out, 0, n * sizeof *out);
    *seq = 0;
    memset(&c, 0, sizeof c);
    c.s = s;
    ids = calloc(n ? n : 1, sizeof *ids);
    if (!ids) {
        proto_errf(err, errlen, "totals by gemeente: %s", wm_strerror(WM_ENOMEM));
        return WM_ENOMEM;
    }
    /* one read for all five figures, as store_count takes it, so they and the seq agree */
    ret = store_people_read_begin(&s->people, "totals", err, errlen);
    if (ret != WM_OK) {
        free(ids);
        return ret;
    }
    ret = store_query_begin(s, &c.txn, &c.reg, err, errlen);
    if (ret != WM_OK) {
        store_people_read_end(&s->people);
        free(ids);
        return ret;
    }
    ret = store_counters_get(s, c.txn, &cnt);
    for (size_t i = 0; i < n; i++)
        for (uint32_t id = 1; id < c.reg.ngem && ids[i] == 0; id++)
            if (strcmp(c.reg.gem[id], names[i]) == 0)
                ids[i] = id;
    for (int fig = 0; fig < 5 && ret == WM_OK; fig++) {
        memset(&q, 0, sizeof q);
        q.type = figs[fig].type;
        q.nby = 1;
        q.by[0] = WM_DIM_GEMEENTE;
        q.from = INT32_MIN;
        q.to = INT32_MAX;
        q.distinct = figs[fig].distinct;
        if (figs[fig].success_only) {
            const struct proto_enum_field *f = proto_type_desc(q.type)->enums[0];
            q.filter[WM_DIM_ENUM0].active = 1;
            for (int v = 0; v < f->nvalues; v++)
                if (WM_RESULT_SUCCESS(v))
                    q.filter[WM_DIM_ENUM0].mask |= 1u << v;
        }
        if (q.distinct) {
            /* kept per gemeente by the memory part: no walk over the placed persons */
            for (size_t i = 0; i < n; i++)
                out[i].placed_persons = ids[i] ? store_people_placed_in(&s->people, ids[i]) : 0;
            continue;
        }
        ret = totals_figure(&c, &q, fig, ids, n, out, err, errlen);
    }
    store_query_end(s, c.txn, &c.reg);
    store_people_read_end(&s->people);
    count_ctx_clear(&c);
    free(ids);
    if (ret != WM_OK) {
        if (n > 0)
            memset(out, 0, n * sizeof *out);
        proto_errf(err, errlen, "totals by gemeente: %s", wm_strerror(ret));
        return ret == WM_ENOMEM ? ret : WM_EIO;
    }
    *seq = cnt.last_seq;
    for (size_t i = 0; i < n; i++)
        out[i].seq = cnt.last_seq;
    return WM_OK;
}
