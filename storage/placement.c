/*
 * storage: the placement indexes behind PROGRESS's people counts. For every (person,
 * project) they keep the live placement dates (pplace), the earliest of them (pfirst
 * and the FIRST counters: "first time this person was counted here"), the persons
 * placed in two or more projects (pmulti), each person's earliest placement in any
 * regional project (UFIRST counters) and the global count of placed persons.
 * Maintained in the event's transaction, through retractions too.
 */
#include <string.h>

#include "store_int.h"

#define PP_LEN 10 /* [person u32][project u16][date] */
#define PF_LEN 10 /* [project u16][date][person u32] */

static void pplace_key(uint8_t *k, uint32_t person, uint32_t project, int32_t date)
{
    store_put_u32(k, person);
    store_put_u16(k + 4, project);
    store_put_time(k + 6, date);
}

static void pfirst_key(uint8_t *k, uint32_t project, int32_t date, uint32_t person)
{
    store_put_u16(k, project);
    store_put_time(k + 2, date);
    store_put_u32(k + 6, person);
}

/* What the person's placements look like before the change. */
struct person_scan {
    unsigned nprojects; /* projects with at least one live placement */
    int32_t first;      /* earliest date in the project, WM_DATE_NONE when none */
    int32_t second;     /* next date in the project after first, WM_DATE_NONE */
    uint64_t count;     /* live placements on exactly (project, date) */
    int32_t other;      /* earliest date in the other regional projects, or NONE */
};

static int is_regional(const struct store_wtx *w, uint32_t project)
{
    return project < w->nregional && w->regional[project];
}

/* The earlier of two dates where WM_DATE_NONE means none. */
static int32_t date_min(int32_t a, int32_t b)
{
    if (a == WM_DATE_NONE)
        return b;
    if (b == WM_DATE_NONE)
        return a;
    return a < b ? a : b;
}

static int scan_person(struct store_wtx *w, uint32_t person, uint32_t project, int32_t date,
                       struct person_scan *ps)
{
    MDB_cursor *cur;
    uint8_t k0[4];
    MDB_val k = {4, k0}, v;
    uint32_t last = UINT32_MAX;
    int rc, ret;

    memset(ps, 0, sizeof *ps);
    ps->first = ps->second = ps->other = WM_DATE_NONE;
    ret = store_wtx_cursor(w, STORE_DBI_PPLACE, &cur);
    if (ret != WM_OK)
        return ret;
    store_put_u32(k0, person);
    /* A person has few placements: reading them all is cheaper than separate lookups. */
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *kb = k.mv_data;
        uint32_t pj;
        int32_t d;
        if (k.mv_size != PP_LEN || store_get_u32(kb) != person)
            break;
        pj = store_get_u16(kb + 4);
        d = store_get_time(kb + 6);
        if (pj != last) {
            ps->nprojects++;
            last = pj;
            /* dates ascend within a project: its first entry is its earliest */
            if (pj != project && is_regional(w, pj))
                ps->other = date_min(ps->other, d);
        }
        if (pj != project)
            continue;
        if (ps->first == WM_DATE_NONE)
            ps->first = d;
        else if (ps->second == WM_DATE_NONE)
            ps->second = d;
        if (d == date)
            ps->count = store_val_u64(&v);
    }
    mdb_cursor_close(cur);
    return rc == 0 || rc == MDB_NOTFOUND ? WM_OK : store_wtx_lmdb(w, rc);
}

/* The earliest placement of (project, person) moves from old to new (either may be
 * WM_DATE_NONE: none). */
static int move_first(struct store_wtx *w, uint32_t person, uint32_t project, int32_t old,
                      int32_t new)
{
    uint8_t k[PF_LEN];
    int ret = WM_OK;

    if (old != WM_DATE_NONE) {
        pfirst_key(k, project, old, person);
        ret = store_wtx_del(w, STORE_DBI_PFIRST, k, PF_LEN);
        if (ret == WM_OK)
            ret = store_wtx_first_delta(w, project, old, -1);
    }
    if (ret == WM_OK && new != WM_DATE_NONE) {
        pfirst_key(k, project, new, person);
        ret = store_wtx_put(w, STORE_DBI_PFIRST, k, PF_LEN, "", 0, 0);
        if (ret == WM_OK)
            ret = store_wtx_first_delta(w, project, new, 1);
    }
    return ret;
}

/* The person's number of placed projects goes from before to after. */
static int projects_changed(struct store_wtx *w, uint32_t person, unsigned before, unsigned after)
{
    uint8_t k[4];

    store_put_u32(k, person);
    if (before == 0 && after == 1)
        w->c.placed_persons++;
    if (before == 1 && after == 0)
        w->c.placed_persons--;
    if (before == 1 && after == 2)
        return store_wtx_put(w, STORE_DBI_PMULTI, k, 4, "", 0, 0);
    if (before == 2 && after == 1)
        return store_wtx_del(w, STORE_DBI_PMULTI, k, 4);
    return WM_OK;
}

/* The person's earliest regional placement moves from old to new: UFIRST follows. */
static int move_ufirst(struct store_wtx *w, int32_t old, int32_t new)
{
    uint8_t k[STORE_PK_LEN];
    int ret = WM_OK;

    if (old == new)
        return WM_OK;
    for (int g = STORE_GRAN_YEAR; g <= STORE_GRAN_DAY && ret == WM_OK; g++) {
        if (old != WM_DATE_NONE) {
            store_proj_key(k, STORE_IND_UFIRST, 0, g, store_time_unit(old, g));
            ret = store_deltas_add(&w->s->deltas, STORE_DBI_ROLLUP, k, STORE_PK_LEN, -1);
        }
        if (ret == WM_OK && new != WM_DATE_NONE) {
            store_proj_key(k, STORE_IND_UFIRST, 0, g, store_time_unit(new, g));
            ret = store_deltas_add(&w->s->deltas, STORE_DBI_ROLLUP, k, STORE_PK_LEN, 1);
        }
    }
    return ret;
}

int store_placement_rescope(struct store_wtx *w, uint32_t project, int regional)
{
    MDB_cursor *cur;
    uint8_t k0[2];
    MDB_val k = {2, k0}, v;
    int rc, ret;

    if (is_regional(w, project) == !!regional)
        return WM_OK;
    ret = store_wtx_cursor(w, STORE_DBI_PFIRST, &cur);
    if (ret != WM_OK)
        return ret;
    store_put_u16(k0, project);
    /* Every person placed in the project, with their earliest date there. */
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && ret == WM_OK;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *kb = k.mv_data;
        struct person_scan ps;
        int32_t first, with;
        if (k.mv_size != PF_LEN || store_get_u16(kb) != project)
            break;
        first = store_get_time(kb + 2);
        ret = scan_person(w, store_get_u32(kb + 6), project, first, &ps);
        with = date_min(ps.other, first);
        if (ret == WM_OK)
            ret = regional ? move_ufirst(w, ps.other, with) : move_ufirst(w, with, ps.other);
    }
    mdb_cursor_close(cur);
    if (ret != WM_OK)
        return ret;
    return rc == 0 || rc == MDB_NOTFOUND ? WM_OK : store_wtx_lmdb(w, rc);
}

int store_placement_update(struct store_wtx *w, uint32_t person, uint32_t project, int32_t date,
                           int sign)
{
    struct person_scan ps;
    uint8_t k[PP_LEN];
    uint64_t cnt;
    int32_t after;
    int ret = scan_person(w, person, project, date, &ps);

    if (ret != WM_OK)
        return ret;
    /* The project's earliest placement after the change, for UFIRST. */
    if (sign > 0)
        after = date_min(ps.first, date);
    else
        after = ps.count == 1 && date == ps.first ? ps.second : ps.first;
    if (is_regional(w, project)) {
        ret = move_ufirst(w, date_min(ps.other, ps.first), date_min(ps.other, after));
        if (ret != WM_OK)
            return ret;
    }
    pplace_key(k, person, project, date);
    if (sign > 0) {
        cnt = ps.count + 1;
        ret = store_wtx_put(w, STORE_DBI_PPLACE, k, PP_LEN, &cnt, sizeof cnt, 0);
        if (ret != WM_OK)
            return ret;
        if (ps.first == WM_DATE_NONE) {
            ret = move_first(w, person, project, WM_DATE_NONE, date);
            if (ret == WM_OK)
                ret = projects_changed(w, person, ps.nprojects, ps.nprojects + 1);
        } else if (date < ps.first) {
            ret = move_first(w, person, project, ps.first, date);
        }
        return ret;
    }

    if (ps.count == 0)
        return WM_EINTERNAL; /* retracting a placement the index never saw */
    if (ps.count > 1) {
        cnt = ps.count - 1;
        return store_wtx_put(w, STORE_DBI_PPLACE, k, PP_LEN, &cnt, sizeof cnt, 0);
    }
    ret = store_wtx_del(w, STORE_DBI_PPLACE, k, PP_LEN);
    if (ret != WM_OK || date != ps.first)
        return ret;
    ret = move_first(w, person, project, date, ps.second);
    if (ret == WM_OK && ps.second == WM_DATE_NONE)
        ret = projects_changed(w, person, ps.nprojects, ps.nprojects - 1);
    return ret;
}
