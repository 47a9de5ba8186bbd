/*
 * storage: the placement indexes behind PROGRESS's people counts. For every (person,
 * project) they keep the live placement dates (pplace), the earliest of them (pfirst
 * and the FIRST counters: "first time this person was counted here"), the persons
 * placed in two or more projects (pmulti) and the global count of placed persons.
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
};

static int scan_person(struct store_wtx *w, uint32_t person, uint32_t project, int32_t date,
                       struct person_scan *ps)
{
    MDB_cursor *cur;
    uint8_t k0[4];
    MDB_val k = {4, k0}, v;
    uint32_t last = UINT32_MAX;
    int rc, ret;

    memset(ps, 0, sizeof *ps);
    ps->first = ps->second = WM_DATE_NONE;
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

int store_placement_update(struct store_wtx *w, uint32_t person, uint32_t project, int32_t date,
                           int sign)
{
    struct person_scan ps;
    uint8_t k[PP_LEN];
    uint64_t cnt;
    int ret = scan_person(w, person, project, date, &ps);

    if (ret != WM_OK)
        return ret;
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
