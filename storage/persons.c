/*
 * storage: the person table of the memory part. Pseudonyms to dense person ids, each
 * person's live events as compact entries, and the lists of persons that the queries
 * walk: by project placed in, placed in two or more projects, and by type and year.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* A pseudonym's hash, eight bytes at a time (they are 16 to 128 bytes long). */
static uint32_t name_hash(const char *s)
{
    size_t len = strlen(s);
    uint64_t h = 0x9e3779b97f4a7c15ull ^ len, w;

    for (; len >= 8; s += 8, len -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    w = 0;
    memcpy(&w, s, len);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    return (uint32_t)(h ^ (h >> 32));
}

int store_people_id(struct store_people *pl, const char *name, int create, uint32_t *pid)
{
    struct store_persons *t = &pl->persons;
    uint32_t h = name_hash(name), id;
    size_t pos;
    struct store_person *np;

    for (id = store_itab_first(&t->names, h, &pos); id != STORE_ITAB_NONE;
         id = store_itab_next(&t->names, h, &pos))
        if (strcmp(t->p[id].name, name) == 0) {
            *pid = id;
            return WM_OK;
        }
    if (!create)
        return WM_ENOT_FOUND;
    if (t->n == UINT32_MAX - 1)
        return WM_ESTORAGE;
    if (store_itab_reserve(&t->names, 1, 1024) != WM_OK)
        return WM_ENOMEM;
    np = store_array_grow(t->p, &t->cap, t->n + 1u, sizeof *np, 1024);
    if (!np)
        return WM_ENOMEM;
    t->p = np;
    memset(&t->p[t->n], 0, sizeof t->p[0]);
    t->p[t->n].name = store_arena_copy(&pl->arena, name);
    if (!t->p[t->n].name)
        return WM_ENOMEM;
    store_itab_add(&t->names, h, t->n);
    *pid = t->n++;
    return WM_OK;
}

void store_people_entry(const struct wm_event *ev, uint32_t project, uint32_t gemeente,
                        struct store_pentry *e)
{
    const struct proto_type_desc *td = proto_type_desc(ev->type);

    memset(e, 0, sizeof *e);
    e->date = ev->date;
    e->project = (uint16_t)project;
    e->gemeente = (uint16_t)gemeente;
    e->type = ev->type;
    if (td)
        memcpy(e->enums, ev->enums, td->nenums);
}

static int same_values(const struct store_pentry *a, const struct store_pentry *b)
{
    return a->date == b->date && a->project == b->project && a->gemeente == b->gemeente &&
           a->type == b->type && memcmp(a->enums, b->enums, WM_MAX_ENUMS) == 0;
}

/* The person's live placements in project, and their placed projects (0, 1, 2 or
 * more: counting stops at 3). */
static void placed_summary(const struct store_person *p, uint32_t project, uint64_t *in_project,
                           unsigned *nprojects)
{
    uint32_t seen[2];
    unsigned ns = 0;

    *in_project = 0;
    for (uint32_t i = 0; i < p->n; i++) {
        const struct store_pentry *e = &p->e[i];
        if (e->type != WM_TYPE_PLACED)
            continue;
        if (e->project == project)
            *in_project += e->count;
        if (ns < 3 && (ns < 1 || seen[0] != e->project) && (ns < 2 || seen[1] != e->project)) {
            if (ns < 2)
                seen[ns] = e->project;
            ns++;
        }
    }
    *nprojects = ns;
}

/* 1 when the person has a live placement in gemeente g (an entry at count 0 is gone). */
static int placed_in_gemeente(const struct store_person *p, uint32_t g)
{
    for (uint32_t i = 0; i < p->n; i++)
        if (p->e[i].type == WM_TYPE_PLACED && p->e[i].gemeente == g)
            return 1;
    return 0;
}

/* ---- the lists of persons ---------------------------------------------------------- */

/* Room for one more person in l. */
static int plist_reserve(struct store_plist *l)
{
    uint32_t *v = store_array_grow(l->v, &l->cap, l->n + 1, sizeof *v, 16);

    if (!v)
        return WM_ENOMEM;
    l->v = v;
    return WM_OK;
}

static int plist_del(struct store_plist *l, uint32_t pid)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] == pid) {
            l->v[i] = l->v[--l->n];
            return WM_OK;
        }
    return WM_EINTERNAL;
}

static void plists_free(struct store_plist *l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i].v);
    free(l);
}

/* Room for the lists a new placement in project may join, so lists_update cannot
 * fail on memory once the entry changed. */
static int lists_reserve(struct store_persons *t, uint32_t project)
{
    if (project >= t->nproj) {
        struct store_plist *np =
            store_array_grow_zero(t->proj, &t->nproj, project + 1u, sizeof *np, 16);
        if (!np)
            return WM_ENOMEM;
        t->proj = np;
    }
    if (plist_reserve(&t->proj[project]) != WM_OK || plist_reserve(&t->multi) != WM_OK)
        return WM_ENOMEM;
    return WM_OK;
}

/* Keep the project's person list and the multi list in step with a placement change
 * of the person: before and after are placed_summary's results. A join needs the
 * room lists_reserve made. */
static int lists_update(struct store_persons *t, uint32_t pid, uint32_t project, uint64_t before,
                        unsigned nbefore, uint64_t after, unsigned nafter)
{
    int ret = WM_OK;

    if (before == 0 && after > 0) {
        if (project >= t->nproj || t->proj[project].n == t->proj[project].cap)
            return WM_EINTERNAL;
        t->proj[project].v[t->proj[project].n++] = pid;
    } else if (before > 0 && after == 0) {
        ret = plist_del(&t->proj[project], pid);
    }
    if (ret == WM_OK && nbefore < 2 && nafter >= 2) {
        if (t->multi.n == t->multi.cap)
            return WM_EINTERNAL;
        t->multi.v[t->multi.n++] = pid;
    } else if (ret == WM_OK && nbefore >= 2 && nafter < 2) {
        ret = plist_del(&t->multi, pid);
    }
    return ret;
}

/* The index of (type, year) in the lists by type and year, or SIZE_MAX when out of
 * range. */
static size_t ty_index(int type, int year)
{
    if (type < 0 || type >= WM_TYPE_COUNT_ || year < STORE_TY_BASE ||
        year >= STORE_TY_BASE + STORE_TY_YEARS)
        return SIZE_MAX;
    return (size_t)type * STORE_TY_YEARS + (size_t)(year - STORE_TY_BASE);
}

const struct store_plist *store_people_listed(const struct store_people *pl, int type, int year)
{
    size_t i = ty_index(type, year);

    return i < pl->persons.nty ? &pl->persons.ty[i] : NULL;
}

/* The list of (type, year) with room for one more person, created when missing. */
static struct store_plist *ty_reserve(struct store_persons *t, int type, int year)
{
    size_t i = ty_index(type, year);

    if (i == SIZE_MAX)
        return NULL;
    if (i >= t->nty) {
        struct store_plist *l = store_array_grow_zero(t->ty, &t->nty, i + 1, sizeof *l, 64);
        if (!l)
            return NULL;
        t->ty = l;
    }
    return plist_reserve(&t->ty[i]) == WM_OK ? &t->ty[i] : NULL;
}

/* 1 when the person has an entry of the type dated in the year. */
static int has_type_year(const struct store_person *p, int type, int year)
{
    int32_t first = store_unit_first(STORE_GRAN_YEAR, year);
    int32_t last = store_unit_last(STORE_GRAN_YEAR, year);

    for (uint32_t i = 0; i < p->n; i++)
        if (p->e[i].type == type && p->e[i].date >= first && p->e[i].date <= last)
            return 1;
    return 0;
}

/* ---- one entry changed --------------------------------------------------------------- */

/* Everything adding entry in to person p (whose entry i has the same values, or i is
 * p->n) may allocate, so that nothing fails once something changed: the list by type
 * and year the person joins (*tylist, or NULL), the entry vector, and the lists a
 * placement may join. Undoing a removal needs only the first: nothing else shrank.
 * (The rollup's cells change all or nothing by themselves: store_memroll_change.) */
static int entry_reserve(struct store_people *pl, struct store_person *p, uint32_t i,
                         const struct store_pentry *in, int undoing, struct store_plist **tylist)
{
    int y, m, d;

    *tylist = NULL;
    if (i == p->n) {
        /* the person's first entry of this type and year: list them for it */
        proto_date_split(in->date, &y, &m, &d);
        if (!has_type_year(p, in->type, y) && !(*tylist = ty_reserve(&pl->persons, in->type, y)))
            return WM_ENOMEM;
    }
    if (undoing)
        return WM_OK;
    if (i == p->n && p->n == p->cap && store_arena_entries_grow(&pl->arena, p) != WM_OK)
        return WM_ENOMEM;
    if (in->type != WM_TYPE_PLACED)
        return WM_OK;
    if (in->gemeente >= pl->persons.ngplaced) {
        uint64_t *g = store_array_grow_zero(pl->persons.gplaced, &pl->persons.ngplaced,
                                            in->gemeente + 1u, sizeof *g, 16);
        if (!g)
            return WM_ENOMEM;
        pl->persons.gplaced = g;
    }
    return lists_reserve(&pl->persons, in->project);
}

int store_people_entry_change(struct store_people *pl, uint32_t pid, const struct store_pentry *in,
                              int sign, int undoing)
{
    struct store_persons *t = &pl->persons;
    struct store_person *p = &t->p[pid];
    struct store_plist *tylist = NULL;
    uint64_t before = 0, after = 0;
    unsigned nbefore = 0, nafter = 0;
    int gbefore = 0;
    uint32_t i;
    int ret;

    if (in->type == WM_TYPE_PLACED) {
        placed_summary(p, in->project, &before, &nbefore);
        gbefore = placed_in_gemeente(p, in->gemeente);
    }
    for (i = 0; i < p->n; i++)
        if (same_values(&p->e[i], in))
            break;
    if (sign < 0 && i == p->n)
        return WM_EINTERNAL; /* removing an event the layer never saw */
    if (sign > 0 && (ret = entry_reserve(pl, p, i, in, undoing, &tylist)) != WM_OK)
        return ret;
    if (in->type == WM_TYPE_PLACED && in->gemeente >= t->ngplaced)
        return WM_EINTERNAL; /* a placement never added, or not reserved */
    ret = store_memroll_change(&pl->roll, in, sign);
    if (ret != WM_OK)
        return ret;
    if (tylist)
        tylist->v[tylist->n++] = pid;
    if (sign > 0 && i < p->n) {
        p->e[i].count++;
    } else if (sign > 0) {
        p->e[p->n] = *in;
        p->e[p->n].count = 1;
        p->n++;
        t->entries++;
    } else if (--p->e[i].count == 0) {
        p->e[i] = p->e[--p->n];
        t->entries--;
    }
    if (in->type != WM_TYPE_PLACED)
        return WM_OK;
    if (placed_in_gemeente(p, in->gemeente) != gbefore)
        t->gplaced[in->gemeente] += gbefore ? (uint64_t)-1 : 1;
    placed_summary(p, in->project, &after, &nafter);
    return lists_update(t, pid, in->project, before, nbefore, after, nafter);
}

int store_persons_count_gemeenten(struct store_persons *t)
{
    uint32_t *last, ng = 0; /* last: by gemeente, the last person counted there, plus one */

    for (uint32_t pid = 0; pid < t->n; pid++)
        for (uint32_t i = 0; i < t->p[pid].n; i++)
            if (t->p[pid].e[i].type == WM_TYPE_PLACED && t->p[pid].e[i].gemeente >= ng)
                ng = t->p[pid].e[i].gemeente + 1u;
    last = calloc(ng ? ng : 1, sizeof *last);
    if (!last)
        return WM_ENOMEM;
    if (ng > t->ngplaced) {
        uint64_t *g = store_array_grow_zero(t->gplaced, &t->ngplaced, ng, sizeof *g, 16);
        if (!g) {
            free(last);
            return WM_ENOMEM;
        }
        t->gplaced = g;
    }
    if (t->ngplaced)
        memset(t->gplaced, 0, t->ngplaced * sizeof *t->gplaced);
    for (uint32_t pid = 0; pid < t->n; pid++)
        for (uint32_t i = 0; i < t->p[pid].n; i++) {
            const struct store_pentry *e = &t->p[pid].e[i];
            if (e->type == WM_TYPE_PLACED && last[e->gemeente] != pid + 1) {
                last[e->gemeente] = pid + 1;
                t->gplaced[e->gemeente]++;
            }
        }
    free(last);
    return WM_OK;
}

uint64_t store_people_placed_in(const struct store_people *pl, uint32_t g)
{
    return g < pl->persons.ngplaced ? pl->persons.gplaced[g] : 0;
}

/* ---- reading a person -------------------------------------------------------------- */

int store_people_regional(const struct store_people *pl, uint32_t project)
{
    return project < pl->persons.nregional && pl->persons.regional[project];
}

void store_people_scan(const struct store_people *pl, uint32_t pid, uint32_t project, int32_t date,
                       struct store_pscan *ps)
{
    const struct store_person *p = &pl->persons.p[pid];
    uint64_t in;

    memset(ps, 0, sizeof *ps);
    ps->first = ps->second = ps->other = WM_DATE_NONE;
    placed_summary(p, project, &in, &ps->nprojects);
    for (uint32_t i = 0; i < p->n; i++) {
        const struct store_pentry *e = &p->e[i];
        if (e->type != WM_TYPE_PLACED)
            continue;
        if (e->project != project) {
            if (store_people_regional(pl, e->project) &&
                (ps->other == WM_DATE_NONE || e->date < ps->other))
                ps->other = e->date;
            continue;
        }
        if (e->date == date)
            ps->count += e->count;
        if (ps->first == WM_DATE_NONE || e->date < ps->first) {
            if (ps->first != WM_DATE_NONE)
                ps->second = ps->first;
            ps->first = e->date;
        } else if (e->date != ps->first && (ps->second == WM_DATE_NONE || e->date < ps->second)) {
            ps->second = e->date;
        }
    }
}

void store_persons_free(struct store_persons *t)
{
    for (uint32_t i = 0; i < t->n; i++)
        if (!store_arena_owns(t->p[i].cap))
            free(t->p[i].e); /* the others are in the arena */
    free(t->p);
    store_itab_free(&t->names);
    plists_free(t->proj, t->nproj);
    free(t->multi.v);
    plists_free(t->ty, t->nty);
    free(t->regional);
    free(t->gplaced);
    memset(t, 0, sizeof *t);
}

uint32_t store_persons_hash_mark(void)
{
    return name_hash("0123456789abcdef-a-pseudonym-of-some-length");
}
