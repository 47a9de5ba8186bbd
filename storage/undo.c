/*
 * storage: the memory part's changes as a batch makes them, each logged (while the
 * memory part follows a live batch) so that a failed LMDB commit can be undone: in
 * reverse order, each change by its opposite, none needing memory.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* Room for one more undo record (before the change it will record). */
static int undo_reserve(struct store_undo *u)
{
    struct store_pundo *nv;

    if (!u->logging)
        return WM_OK;
    nv = store_array_grow(u->v, &u->cap, u->n + 1, sizeof *nv, 1024);
    if (!nv)
        return WM_ENOMEM;
    u->v = nv;
    return WM_OK;
}

static void undo_add(struct store_undo *u, int kind, uint32_t person, const struct store_pentry *e,
                     int sign)
{
    struct store_pundo *r;

    if (!u->logging)
        return;
    r = &u->v[u->n++];
    r->kind = (uint8_t)kind;
    r->sign = (int8_t)sign;
    r->person = person;
    if (e)
        r->e = *e;
    else
        memset(&r->e, 0, sizeof r->e);
}

int store_people_change(struct store_people *pl, uint32_t pid, const struct store_pentry *e,
                        int sign)
{
    int ret;

    if (pid >= pl->persons.n)
        return WM_EINTERNAL;
    ret = undo_reserve(&pl->undo);
    if (ret == WM_OK)
        ret = store_people_entry_change(pl, pid, e, sign, 0);
    if (ret == WM_OK)
        undo_add(&pl->undo, STORE_UNDO_ENTRY, pid, e, sign);
    return ret;
}

int store_people_roll(struct store_people *pl, int type, uint32_t project, int32_t date, int sign)
{
    struct store_pentry e;
    int ret = undo_reserve(&pl->undo);

    memset(&e, 0, sizeof e);
    e.type = (uint8_t)type;
    e.project = (uint16_t)project;
    e.date = date;
    if (ret == WM_OK)
        ret = store_memroll_change(&pl->roll, &e, sign);
    if (ret == WM_OK)
        undo_add(&pl->undo, STORE_UNDO_ROLL, 0, &e, sign);
    return ret;
}

int store_people_placed(struct store_people *pl, int sign)
{
    int ret = undo_reserve(&pl->undo);

    if (ret != WM_OK)
        return ret;
    pl->persons.placed += (uint64_t)(int64_t)sign;
    undo_add(&pl->undo, STORE_UNDO_PLACED, 0, NULL, sign);
    return WM_OK;
}

int store_people_set_regional(struct store_people *pl, uint32_t project, int regional)
{
    struct store_persons *t = &pl->persons;
    struct store_pentry e;
    int ret = undo_reserve(&pl->undo);

    if (ret != WM_OK)
        return ret;
    if (project >= t->nregional) {
        uint8_t *r = store_array_grow_zero(t->regional, &t->nregional, project + 1u, 1, 64);
        if (!r)
            return WM_ENOMEM;
        t->regional = r;
    }
    memset(&e, 0, sizeof e);
    e.project = (uint16_t)project;
    undo_add(&pl->undo, STORE_UNDO_REGIONAL, 0, &e, t->regional[project]);
    t->regional[project] = (uint8_t) !!regional;
    return WM_OK;
}

void store_people_rollback(struct store_people *pl)
{
    struct store_undo *u = &pl->undo;

    /* Should an undo fail anyway, the memory part no longer matches the store: the
     * writer rebuilds it. */
    while (u->n > 0) {
        const struct store_pundo *r = &u->v[--u->n];
        int ret = WM_OK;
        switch (r->kind) {
        case STORE_UNDO_ENTRY:
            ret = store_people_entry_change(pl, r->person, &r->e, -r->sign, 1);
            break;
        case STORE_UNDO_ROLL:
            ret = store_memroll_change(&pl->roll, &r->e, -r->sign);
            break;
        case STORE_UNDO_REGIONAL:
            pl->persons.regional[r->e.project] = (uint8_t)r->sign;
            break;
        case STORE_UNDO_PLACED:
            pl->persons.placed -= (uint64_t)(int64_t)r->sign;
            break;
        }
        if (ret != WM_OK)
            pl->damaged = 1;
    }
}

void store_people_commit(struct store_people *pl)
{
    pl->undo.n = 0;
}

void store_undo_free(struct store_undo *u)
{
    free(u->v);
    memset(u, 0, sizeof *u);
}
