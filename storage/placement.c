/*
 * storage: the counts behind PROGRESS's people figures, derived from the person table
 * (persons.c) as it is before each placement changes: per project the FIRST cells
 * ("first time this person was counted here": each (project, person) at its earliest
 * live placement date), the UFIRST cells (each person at their earliest placement in
 * any regional project) and the number of placed persons. All in memory, applied with
 * the rest of the memory part's changes (undo.c), through retractions and scope changes too.
 */
#include <string.h>

#include "store_int.h"

/* The earlier of two dates where WM_DATE_NONE means none. */
static int32_t date_min(int32_t a, int32_t b)
{
    if (a == WM_DATE_NONE)
        return b;
    if (b == WM_DATE_NONE)
        return a;
    return a < b ? a : b;
}

/* A date moves from old to new in the cells of type (either may be WM_DATE_NONE). */
static int move(struct store_people *pl, int type, uint32_t project, int32_t old, int32_t new)
{
    int ret = WM_OK;

    if (old == new)
        return WM_OK;
    if (old != WM_DATE_NONE)
        ret = store_people_roll(pl, type, project, old, -1);
    if (ret == WM_OK && new != WM_DATE_NONE)
        ret = store_people_roll(pl, type, project, new, 1);
    return ret;
}

/* The person's number of placed projects goes from before to after. */
static int projects_changed(struct store_people *pl, unsigned before, unsigned after)
{
    if (before == 0 && after == 1)
        return store_people_placed(pl, 1);
    if (before == 1 && after == 0)
        return store_people_placed(pl, -1);
    return WM_OK;
}

int store_placement_rescope(struct store_people *pl, uint32_t project, int regional)
{
    int ret = WM_OK;

    if (store_people_regional(pl, project) == !!regional)
        return WM_OK;
    /* Every person placed in the project, with their earliest date there. */
    for (size_t i = 0;
         project < pl->persons.nproj && i < pl->persons.proj[project].n && ret == WM_OK; i++) {
        struct store_pscan ps;
        int32_t with;
        store_people_scan(pl, pl->persons.proj[project].v[i], project, WM_DATE_NONE, &ps);
        with = date_min(ps.other, ps.first);
        ret = regional ? move(pl, STORE_MT_UFIRST, 0, ps.other, with)
                       : move(pl, STORE_MT_UFIRST, 0, with, ps.other);
    }
    return ret == WM_OK ? store_people_set_regional(pl, project, regional) : ret;
}

int store_placement_update(struct store_people *pl, uint32_t pid, uint32_t project, int32_t date,
                           int sign)
{
    struct store_pscan ps;
    int32_t after;
    int ret;

    store_people_scan(pl, pid, project, date, &ps);
    /* The project's earliest placement after the change, for UFIRST. */
    if (sign > 0)
        after = date_min(ps.first, date);
    else
        after = ps.count == 1 && date == ps.first ? ps.second : ps.first;
    if (sign < 0 && ps.count == 0)
        return WM_EINTERNAL; /* retracting a placement the layer never saw */
    if (store_people_regional(pl, project)) {
        ret = move(pl, STORE_MT_UFIRST, 0, date_min(ps.other, ps.first), date_min(ps.other, after));
        if (ret != WM_OK)
            return ret;
    }
    ret = move(pl, STORE_MT_FIRST, project, ps.first, after);
    if (ret != WM_OK)
        return ret;
    if (sign > 0 && ps.first == WM_DATE_NONE)
        return projects_changed(pl, ps.nprojects, ps.nprojects + 1);
    if (sign < 0 && after == WM_DATE_NONE)
        return projects_changed(pl, ps.nprojects, ps.nprojects - 1);
    return WM_OK;
}
