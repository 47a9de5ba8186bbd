/*
 * storage: the counters behind PROGRESS's people counts, derived from the person
 * layer (people.c) as it was before each placement changes: per project the FIRST
 * counters ("first time this person was counted here": each (project, person) at its
 * earliest live placement date), the UFIRST counters (each person at their earliest
 * placement in any regional project) and the global count of placed persons. Written
 * in the event's transaction, through retractions and scope changes too.
 */
#include <string.h>

#include "store_int.h"

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

static void scan_person(struct store_wtx *w, uint32_t person, uint32_t project, int32_t date,
                        struct store_pscan *ps)
{
    store_people_scan(&w->s->people, person, project, date, w->regional, w->nregional, ps);
}

/* The earliest placement of (project, person) moves from old to new (either may be
 * WM_DATE_NONE: none). */
static int move_first(struct store_wtx *w, uint32_t project, int32_t old, int32_t new)
{
    int ret = WM_OK;

    if (old != WM_DATE_NONE)
        ret = store_wtx_first_delta(w, project, old, -1);
    if (ret == WM_OK && new != WM_DATE_NONE)
        ret = store_wtx_first_delta(w, project, new, 1);
    return ret;
}

/* The person's number of placed projects goes from before to after. */
static void projects_changed(struct store_wtx *w, unsigned before, unsigned after)
{
    if (before == 0 && after == 1)
        w->c.placed_persons++;
    if (before == 1 && after == 0)
        w->c.placed_persons--;
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
    const struct store_people *pl = &w->s->people;
    int ret = WM_OK;

    if (is_regional(w, project) == !!regional || project >= pl->nproj)
        return WM_OK;
    /* Every person placed in the project, with their earliest date there. */
    for (size_t i = 0; i < pl->proj[project].n && ret == WM_OK; i++) {
        struct store_pscan ps;
        int32_t with;
        scan_person(w, pl->proj[project].v[i], project, WM_DATE_NONE, &ps);
        with = date_min(ps.other, ps.first);
        ret = regional ? move_ufirst(w, ps.other, with) : move_ufirst(w, with, ps.other);
    }
    return ret;
}

int store_placement_update(struct store_wtx *w, uint32_t person, uint32_t project, int32_t date,
                           int sign)
{
    struct store_pscan ps;
    int32_t after;
    int ret;

    scan_person(w, person, project, date, &ps);
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
    if (sign > 0) {
        if (ps.first == WM_DATE_NONE) {
            projects_changed(w, ps.nprojects, ps.nprojects + 1);
            return move_first(w, project, WM_DATE_NONE, date);
        }
        return date < ps.first ? move_first(w, project, ps.first, date) : WM_OK;
    }
    if (ps.count == 0)
        return WM_EINTERNAL; /* retracting a placement the layer never saw */
    if (ps.count > 1 || date != ps.first)
        return WM_OK;
    if (ps.second == WM_DATE_NONE)
        projects_changed(w, ps.nprojects, ps.nprojects - 1);
    return move_first(w, project, date, ps.second);
}
