/*
 * storage: the store's memory part. For every person (pseudonym) it holds their live
 * events as compact entries (type, date, project, gemeente, enums, count); per project
 * the persons with a live placement there; the persons placed in two or more
 * projects; the projects' scopes; the number of placed persons; and the in-memory
 * rollup (memroll.c): day cells, cells of every enum combination, and PROGRESS's
 * FIRST/UFIRST cells (placement.c). COUNT distinct=person walks the persons, COUNT
 * reads edge days and multi-enum cells, PROGRESS reads placements and FIRST/UFIRST.
 *
 * Why in memory: every index ordered by person (pseudonyms are random) took a write
 * to a random LMDB page per event, and the day and enum-combination cells about one
 * more: each commit copied and synced one or two pages per event (README,
 * "Performance"). Nothing here is durable: it is derived from the events and
 * retractions and rebuilt by store_people_load when the store opens (and whenever it
 * failed to follow a commit: then it is marked damaged until rebuilt).
 *
 * How a batch reaches it: the writer queues one change per stored event, retraction
 * and scope change (store_people_push) while it does the batch's LMDB work; then, holding
 * the layer's write lock, it submits them to this layer's thread and commits LMDB
 * meanwhile, waits for the thread, and rolls the changes back (undo log) if the commit
 * failed. Readers take the read lock before their read transaction, so they see the
 * layer and LMDB at the same commit; they wait at most for one commit.
 */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_int.h"

#define PEOPLE_ARENA_CHUNK ((size_t)1 << 20)
#define PEOPLE_ARENA_MAX ((size_t)64 << 20)
#define PEOPLE_PE_CLASSES 16 /* = the length of pe_free */

struct store_arena_chunk {
    struct store_arena_chunk *prev;
    size_t used, cap;
    char data[];
};

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

/* len bytes (a multiple of 16 keeps entries aligned) from the arena: chunks from 1
 * MiB doubling to 64 MiB, on huge pages where large enough, freed only with the layer. */
static void *arena_alloc(struct store_people *pl, size_t len)
{
    struct store_arena_chunk *c = pl->arena;
    void *out;

    len = (len + 15) & ~(size_t)15;
    if (!c || c->cap - c->used < len) {
        size_t cap = c && c->cap < PEOPLE_ARENA_MAX ? c->cap * 2 : PEOPLE_ARENA_CHUNK;
        struct store_arena_chunk *n;
        if (c && c->cap >= PEOPLE_ARENA_MAX)
            cap = PEOPLE_ARENA_MAX;
        if (cap < len)
            cap = len;
        n = malloc(sizeof *n + cap);
        if (!n)
            return NULL;
        n->prev = c;
        n->used = 0;
        n->cap = cap;
        store_huge_pages(n->data, cap);
        pl->arena = c = n;
        pl->bytes += cap;
    }
    out = c->data + c->used;
    c->used += len;
    return out;
}

static const char *arena_copy(struct store_people *pl, const char *s)
{
    size_t len = strlen(s) + 1;
    char *out = arena_alloc(pl, len);

    if (out)
        memcpy(out, s, len);
    return out;
}

/* Entry vectors hold 2 << k entries; up to PEOPLE_PE_CLASSES sizes come from the
 * arena, with a free list per size (the first bytes of a free block point to the
 * next), so a walk over persons reads few, huge pages. Larger ones use malloc. */
static int pe_class(uint32_t cap)
{
    int k = 0;

    while ((2u << k) < cap)
        k++;
    return k;
}

static void entries_free(struct store_people *pl, struct store_pentry *e, uint32_t cap)
{
    int k;

    if (!e)
        return;
    k = pe_class(cap);
    if (k >= PEOPLE_PE_CLASSES) {
        free(e);
        return;
    }
    memcpy(e, &pl->pe_free[k], sizeof pl->pe_free[k]);
    pl->pe_free[k] = e;
}

/* Double person p's entry vector. WM_OK or WM_ENOMEM (unchanged). */
static int entries_grow(struct store_people *pl, struct store_person *p)
{
    uint32_t cap = p->cap ? p->cap * 2 : 2;
    int k = pe_class(cap);
    struct store_pentry *ne;

    if (p->cap >= UINT32_MAX / 2)
        return WM_ENOMEM;
    if (k >= PEOPLE_PE_CLASSES) {
        ne = malloc(cap * sizeof *ne);
    } else if (pl->pe_free[k]) {
        ne = pl->pe_free[k];
        memcpy(&pl->pe_free[k], ne, sizeof pl->pe_free[k]);
    } else {
        ne = arena_alloc(pl, cap * sizeof *ne);
    }
    if (!ne)
        return WM_ENOMEM;
    if (p->n)
        memcpy(ne, p->e, p->n * sizeof *ne);
    entries_free(pl, p->e, p->cap);
    p->e = ne;
    p->cap = cap;
    return WM_OK;
}

int store_people_init(struct store_people *pl)
{
    pthread_rwlockattr_t attr;
    int rc;

    memset(pl, 0, sizeof *pl);
    /* Queries must not starve the writer. */
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    rc = pthread_rwlock_init(&pl->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (rc != 0)
        return WM_ENOMEM;
    pthread_mutex_init(&pl->mu, NULL);
    pthread_cond_init(&pl->cv_go, NULL);
    pthread_cond_init(&pl->cv_done, NULL);
    return WM_OK;
}

static void people_clear(struct store_people *pl)
{
    struct store_arena_chunk *c = pl->arena;

    for (uint32_t i = 0; i < pl->n; i++)
        if (pe_class(pl->p[i].cap) >= PEOPLE_PE_CLASSES)
            free(pl->p[i].e); /* the others are in the arena */
    memset(pl->pe_free, 0, sizeof pl->pe_free);
    free(pl->p);
    free(pl->slots);
    for (uint32_t i = 0; i < pl->nproj; i++)
        free(pl->proj[i].v);
    free(pl->proj);
    free(pl->multi.v);
    for (size_t i = 0; i < pl->nty; i++)
        free(pl->ty[i].v);
    free(pl->ty);
    pl->ty = NULL;
    pl->nty = 0;
    free(pl->undo);
    free(pl->regional);
    store_memroll_free(&pl->roll);
    while (c) {
        struct store_arena_chunk *prev = c->prev;
        free(c);
        c = prev;
    }
    pl->p = NULL;
    pl->slots = NULL;
    pl->proj = NULL;
    pl->multi.v = NULL;
    pl->undo = NULL;
    pl->arena = NULL;
    pl->regional = NULL;
    pl->nregional = 0;
    pl->placed_persons = 0;
    pl->damaged = 0;
    pl->n = pl->cap = pl->nproj = 0;
    pl->nslots = pl->nundo = pl->capundo = 0;
    pl->multi.n = pl->multi.cap = 0;
    pl->entries = pl->bytes = 0;
}

void store_people_free(struct store_people *pl)
{
    store_people_stop(pl);
    people_clear(pl);
    free(pl->ops);
    pl->ops = NULL;
    pl->nops = pl->capops = 0;
    pthread_rwlock_destroy(&pl->lock);
    pthread_mutex_destroy(&pl->mu);
    pthread_cond_destroy(&pl->cv_go);
    pthread_cond_destroy(&pl->cv_done);
}

/* Double the name table (or create it), re-placing every person. */
static int slots_grow(struct store_people *pl)
{
    size_t n = pl->nslots ? pl->nslots * 2 : 1024;
    uint64_t *s = calloc(n, sizeof *s);

    if (!s)
        return WM_ENOMEM;
    store_huge_pages(s, n * sizeof *s);
    for (size_t i = 0; i < pl->nslots; i++) {
        uint64_t v = pl->slots[i];
        size_t j;
        if (!v)
            continue;
        for (j = (size_t)(v >> 32) & (n - 1); s[j]; j = (j + 1) & (n - 1))
            ;
        s[j] = v;
    }
    pl->bytes += (n - pl->nslots) * sizeof *s;
    free(pl->slots);
    pl->slots = s;
    pl->nslots = n;
    return WM_OK;
}

int store_people_id(struct store_people *pl, const char *name, int create, uint32_t *pid)
{
    uint32_t h = name_hash(name);
    size_t j;

    if (pl->nslots) {
        for (j = h & (pl->nslots - 1); pl->slots[j]; j = (j + 1) & (pl->nslots - 1)) {
            uint64_t v = pl->slots[j];
            uint32_t id = (uint32_t)v - 1;
            if ((uint32_t)(v >> 32) == h && strcmp(pl->p[id].name, name) == 0) {
                *pid = id;
                return WM_OK;
            }
        }
    }
    if (!create)
        return WM_ENOT_FOUND;
    if (pl->n == UINT32_MAX - 1)
        return WM_ESTORAGE;
    if ((pl->n + 1) * 2 > pl->nslots && slots_grow(pl) != WM_OK)
        return WM_ENOMEM;
    {
        size_t was = pl->cap;
        struct store_person *np = store_array_grow(pl->p, &pl->cap, pl->n + 1u, sizeof *np, 1024);
        if (!np)
            return WM_ENOMEM;
        pl->bytes += (pl->cap - was) * sizeof *np;
        pl->p = np;
    }
    memset(&pl->p[pl->n], 0, sizeof pl->p[0]);
    pl->p[pl->n].name = arena_copy(pl, name);
    if (!pl->p[pl->n].name)
        return WM_ENOMEM;
    for (j = h & (pl->nslots - 1); pl->slots[j]; j = (j + 1) & (pl->nslots - 1))
        ;
    pl->slots[j] = (uint64_t)h << 32 | (pl->n + 1u);
    *pid = pl->n++;
    return WM_OK;
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

/* Room for one more person in l. */
static int plist_reserve(struct store_plist *l)
{
    uint32_t *v = store_array_grow(l->v, &l->cap, l->n + 1, sizeof *v, 16);

    if (!v)
        return WM_ENOMEM;
    l->v = v;
    return WM_OK;
}

/* Room for the lists a new placement in project may join, so lists_update cannot
 * fail on memory once the entry changed. */
static int lists_reserve(struct store_people *pl, uint32_t project)
{
    if (project >= pl->nproj) {
        uint32_t n = project + 16;
        struct store_plist *np = realloc(pl->proj, n * sizeof *np);
        if (!np)
            return WM_ENOMEM;
        memset(np + pl->nproj, 0, (n - pl->nproj) * sizeof *np);
        pl->proj = np;
        pl->nproj = n;
    }
    if (plist_reserve(&pl->proj[project]) != WM_OK || plist_reserve(&pl->multi) != WM_OK)
        return WM_ENOMEM;
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

/* Keep the project's person list and the multi list in step with a placement change
 * of the person: before and after are placed_summary's results. A join needs the
 * room lists_reserve made. */
static int lists_update(struct store_people *pl, uint32_t pid, uint32_t project, uint64_t before,
                        unsigned nbefore, uint64_t after, unsigned nafter)
{
    int ret = WM_OK;

    if (before == 0 && after > 0) {
        if (project >= pl->nproj || pl->proj[project].n == pl->proj[project].cap)
            return WM_EINTERNAL;
        pl->proj[project].v[pl->proj[project].n++] = pid;
    } else if (before > 0 && after == 0) {
        ret = plist_del(&pl->proj[project], pid);
    }
    if (ret == WM_OK && nbefore < 2 && nafter >= 2) {
        if (pl->multi.n == pl->multi.cap)
            return WM_EINTERNAL;
        pl->multi.v[pl->multi.n++] = pid;
    } else if (ret == WM_OK && nbefore >= 2 && nafter < 2) {
        ret = plist_del(&pl->multi, pid);
    }
    return ret;
}

static size_t ty_index(int type, int year)
{
    return (size_t)type * STORE_TY_YEARS + (size_t)(year - STORE_TY_BASE);
}

const struct store_plist *store_people_listed(const struct store_people *pl, int type, int year)
{
    size_t i;

    if (type < 0 || type >= WM_TYPE_COUNT_ || year < STORE_TY_BASE ||
        year >= STORE_TY_BASE + STORE_TY_YEARS)
        return NULL;
    i = ty_index(type, year);
    return i < pl->nty ? &pl->ty[i] : NULL;
}

/* The list of (type, year) with room for one more person, created when missing. */
static struct store_plist *ty_reserve(struct store_people *pl, int type, int year)
{
    size_t i;

    if (type < 0 || type >= WM_TYPE_COUNT_ || year < STORE_TY_BASE ||
        year >= STORE_TY_BASE + STORE_TY_YEARS)
        return NULL;
    i = ty_index(type, year);
    if (i >= pl->nty) {
        size_t n = pl->nty;
        struct store_plist *t = store_array_grow(pl->ty, &n, i + 1, sizeof *t, 64);
        if (!t)
            return NULL;
        memset(t + pl->nty, 0, (n - pl->nty) * sizeof *t);
        pl->ty = t;
        pl->nty = n;
    }
    return plist_reserve(&pl->ty[i]) == WM_OK ? &pl->ty[i] : NULL;
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

/* Add (sign 1) or remove (sign -1) one event's entry and its rollup cells, without
 * the undo log. Either everything changes or (on an error) nothing does. */
static int entry_change(struct store_people *pl, uint32_t pid, const struct store_pentry *in,
                        int sign, int undoing)
{
    struct store_person *p = &pl->p[pid];
    struct store_plist *tylist = NULL;
    uint64_t before = 0, after = 0;
    unsigned nbefore = 0, nafter = 0;
    uint32_t i;
    int ret;

    if (in->type == WM_TYPE_PLACED)
        placed_summary(p, in->project, &before, &nbefore);
    for (i = 0; i < p->n; i++)
        if (same_values(&p->e[i], in))
            break;
    if (sign < 0 && i == p->n)
        return WM_EINTERNAL; /* removing an event the layer never saw */
    if (sign > 0 && i == p->n) {
        /* the person's first entry of this type and year: list them for it */
        int y, m, d;
        proto_date_split(in->date, &y, &m, &d);
        if (!has_type_year(p, in->type, y)) {
            struct store_plist *l = ty_reserve(pl, in->type, y);
            if (!l)
                return WM_ENOMEM;
            tylist = l;
        }
    }
    if (sign > 0 && !undoing) {
        /* every allocation first, so nothing fails once something changed (undoing a
         * removal needs none: nothing shrank) */
        if (i == p->n && p->n == p->cap && entries_grow(pl, p) != WM_OK)
            return WM_ENOMEM;
        ret = store_memroll_prepare(&pl->roll, in);
        if (ret == WM_OK && in->type == WM_TYPE_PLACED)
            ret = lists_reserve(pl, in->project);
        if (ret != WM_OK)
            return ret;
    }
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
        pl->entries++;
    } else if (--p->e[i].count == 0) {
        p->e[i] = p->e[--p->n];
        pl->entries--;
    }
    if (in->type != WM_TYPE_PLACED)
        return WM_OK;
    placed_summary(p, in->project, &after, &nafter);
    return lists_update(pl, pid, in->project, before, nbefore, after, nafter);
}

/* Room for one more undo record (before the change it will record). */
static int undo_reserve(struct store_people *pl)
{
    struct store_pundo *nu;

    if (!pl->logging)
        return WM_OK;
    nu = store_array_grow(pl->undo, &pl->capundo, pl->nundo + 1, sizeof *nu, 1024);
    if (!nu)
        return WM_ENOMEM;
    pl->undo = nu;
    return WM_OK;
}

static void undo_add(struct store_people *pl, int kind, uint32_t person,
                     const struct store_pentry *e, int sign)
{
    struct store_pundo *u;

    if (!pl->logging)
        return;
    u = &pl->undo[pl->nundo++];
    u->kind = (uint8_t)kind;
    u->sign = (int8_t)sign;
    u->person = person;
    if (e)
        u->e = *e;
    else
        memset(&u->e, 0, sizeof u->e);
}

int store_people_change(struct store_people *pl, uint32_t pid, const struct store_pentry *e,
                        int sign)
{
    int ret;

    if (pid >= pl->n)
        return WM_EINTERNAL;
    ret = undo_reserve(pl);
    if (ret == WM_OK)
        ret = entry_change(pl, pid, e, sign, 0);
    if (ret == WM_OK)
        undo_add(pl, STORE_UNDO_ENTRY, pid, e, sign);
    return ret;
}

int store_people_roll(struct store_people *pl, int type, uint32_t project, int32_t date, int sign)
{
    struct store_pentry e;
    int ret = undo_reserve(pl);

    memset(&e, 0, sizeof e);
    e.type = (uint8_t)type;
    e.project = (uint16_t)project;
    e.date = date;
    if (ret == WM_OK && sign > 0)
        ret = store_memroll_prepare(&pl->roll, &e);
    if (ret == WM_OK)
        ret = store_memroll_change(&pl->roll, &e, sign);
    if (ret == WM_OK)
        undo_add(pl, STORE_UNDO_ROLL, 0, &e, sign);
    return ret;
}

int store_people_placed(struct store_people *pl, int sign)
{
    int ret = undo_reserve(pl);

    if (ret != WM_OK)
        return ret;
    pl->placed_persons += (uint64_t)(int64_t)sign;
    undo_add(pl, STORE_UNDO_PLACED, 0, NULL, sign);
    return WM_OK;
}

int store_people_regional(const struct store_people *pl, uint32_t project)
{
    return project < pl->nregional && pl->regional[project];
}

int store_people_set_regional(struct store_people *pl, uint32_t project, int regional)
{
    struct store_pentry e;
    int ret = undo_reserve(pl);

    if (ret != WM_OK)
        return ret;
    if (project >= pl->nregional) {
        size_t n = pl->nregional;
        uint8_t *r = store_array_grow(pl->regional, &n, project + 1u, 1, 64);
        if (!r)
            return WM_ENOMEM;
        memset(r + pl->nregional, 0, n - pl->nregional);
        pl->regional = r;
        pl->nregional = n;
    }
    memset(&e, 0, sizeof e);
    e.project = (uint16_t)project;
    undo_add(pl, STORE_UNDO_REGIONAL, 0, &e, pl->regional[project]);
    pl->regional[project] = (uint8_t) !!regional;
    return WM_OK;
}

void store_people_rollback(struct store_people *pl)
{
    /* In reverse order, each change undone by its opposite; none needs memory. Should
     * one fail anyway, the layer no longer matches the store: the writer rebuilds it. */
    while (pl->nundo > 0) {
        const struct store_pundo *u = &pl->undo[--pl->nundo];
        int ret = WM_OK;
        switch (u->kind) {
        case STORE_UNDO_ENTRY:
            ret = entry_change(pl, u->person, &u->e, -u->sign, 1);
            break;
        case STORE_UNDO_ROLL:
            ret = store_memroll_change(&pl->roll, &u->e, -u->sign);
            break;
        case STORE_UNDO_REGIONAL:
            pl->regional[u->e.project] = (uint8_t)u->sign;
            break;
        case STORE_UNDO_PLACED:
            pl->placed_persons -= (uint64_t)(int64_t)u->sign;
            break;
        }
        if (ret != WM_OK)
            pl->damaged = 1;
    }
}

void store_people_commit(struct store_people *pl)
{
    pl->nundo = 0;
}

/* ---- the batch's changes and their thread ---------------------------------------- */

int store_people_push(struct store_people *pl, int kind, const char *person,
                      const struct store_pentry *e, int regional)
{
    struct store_pop *op = store_array_grow(pl->ops, &pl->capops, pl->nops + 1, sizeof *op, 1024);

    if (!op)
        return WM_ENOMEM;
    pl->ops = op;
    op = &pl->ops[pl->nops++];
    op->kind = (uint8_t)kind;
    op->regional = (uint8_t)regional;
    op->e = *e;
    op->person = person;
    if (kind == STORE_POP_REMOVE && person) {
        snprintf(op->own, sizeof op->own, "%s", person);
        op->person = op->own;
    }
    return WM_OK;
}

void store_people_drop(struct store_people *pl)
{
    pl->nops = 0;
}

/* Apply one change. */
static int op_apply(struct store_people *pl, const struct store_pop *op)
{
    int sign = op->kind == STORE_POP_ADD ? 1 : -1;
    uint32_t pid;
    int ret;

    if (op->kind == STORE_POP_RESCOPE)
        return store_placement_rescope(pl, op->e.project, op->regional);
    ret = store_people_id(pl, op->person, sign > 0, &pid);
    if (ret == WM_ENOT_FOUND)
        return WM_EINTERNAL; /* retracting an event of a person the layer never saw */
    /* PROGRESS's per-project counts: started, completed with success, and (placement.c)
     * first placements */
    if (ret == WM_OK && op->e.type == WM_TYPE_STARTED)
        ret = store_people_roll(pl, STORE_MT_STARTED, op->e.project, op->e.date, sign);
    if (ret == WM_OK && op->e.type == WM_TYPE_COMPLETED && WM_RESULT_SUCCESS(op->e.enums[0]))
        ret = store_people_roll(pl, STORE_MT_COMPLETED, op->e.project, op->e.date, sign);
    if (ret == WM_OK && op->e.type == WM_TYPE_PLACED)
        ret = store_placement_update(pl, pid, op->e.project, op->e.date, sign);
    if (ret == WM_OK)
        ret = store_people_change(pl, pid, &op->e, sign);
    return ret;
}

/* Apply the queued changes in order; stop at the first error. */
static int ops_apply(struct store_people *pl)
{
    int ret = WM_OK;

    for (size_t i = 0; i < pl->nops && ret == WM_OK; i++)
        ret = op_apply(pl, &pl->ops[i]);
    pl->nops = 0;
    return ret;
}

static void *people_main(void *arg)
{
    struct store_people *pl = arg;

    pthread_mutex_lock(&pl->mu);
    for (;;) {
        int ret;
        while (!pl->go && !pl->stop)
            pthread_cond_wait(&pl->cv_go, &pl->mu);
        if (!pl->go)
            break;
        pl->go = 0;
        pthread_mutex_unlock(&pl->mu);
        ret = ops_apply(pl);
        pthread_mutex_lock(&pl->mu);
        pl->result = ret;
        pl->busy = 0;
        pthread_cond_signal(&pl->cv_done);
    }
    pthread_mutex_unlock(&pl->mu);
    return NULL;
}

void store_people_submit(struct store_people *pl)
{
    pl->logging = 1;
    if (!pl->thread_started) {
        pl->result = ops_apply(pl);
        return;
    }
    pthread_mutex_lock(&pl->mu);
    pl->busy = 1;
    pl->go = 1;
    pthread_cond_signal(&pl->cv_go);
    pthread_mutex_unlock(&pl->mu);
}

int store_people_finish(struct store_people *pl)
{
    int ret;

    pthread_mutex_lock(&pl->mu);
    while (pl->busy)
        pthread_cond_wait(&pl->cv_done, &pl->mu);
    ret = pl->result;
    pthread_mutex_unlock(&pl->mu);
    return ret;
}

int store_people_start(struct store_people *pl)
{
    sigset_t all, old;
    int rc;

    /* signals belong to the daemon's loop thread */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&pl->thread, NULL, people_main, pl);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return WM_EINTERNAL;
    pl->thread_started = 1;
    return WM_OK;
}

void store_people_stop(struct store_people *pl)
{
    if (!pl->thread_started)
        return;
    pthread_mutex_lock(&pl->mu);
    pl->stop = 1;
    pthread_cond_signal(&pl->cv_go);
    pthread_mutex_unlock(&pl->mu);
    pthread_join(pl->thread, NULL);
    pl->thread_started = 0;
}

void store_people_scan(const struct store_people *pl, uint32_t pid, uint32_t project, int32_t date,
                       struct store_pscan *ps)
{
    const struct store_person *p = &pl->p[pid];
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

/* ---- rebuilding from the events ------------------------------------------------ */

/* The gemeente id of a name, from the registry's table (a handful of names). */
static uint32_t gem_lookup(const struct store_registry *r, const char *name, uint32_t *cache)
{
    if (*cache < r->ngem && strcmp(r->gem[*cache], name) == 0)
        return *cache;
    for (uint32_t i = 1; i < r->ngem; i++)
        if (strcmp(r->gem[i], name) == 0)
            return *cache = i;
    return 0;
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

int store_people_load(struct store *s, char *err, size_t errlen)
{
    struct store_people *pl = &s->people;
    struct store_registry reg;
    struct wm_event *ev = NULL;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL, *rcur = NULL;
    MDB_val k, v, rk, rv;
    uint32_t gcache = 0;
    struct timespec t0, t1;
    int rc, rrc, ret;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    people_clear(pl);
    ev = malloc(sizeof *ev);
    if (!ev) {
        proto_errf(err, errlen, "out of memory");
        return WM_ENOMEM;
    }
    ret = store_query_begin(s, &txn, &reg, err, errlen);
    if (ret != WM_OK) {
        free(ev);
        return ret;
    }
    pl->logging = 0;
    pl->nops = 0;
    /* the scopes as they are now: replaying the events then gives the same FIRST and
     * UFIRST cells as the live changes and rescopes did */
    for (size_t i = 0; i < reg.nproj && ret == WM_OK; i++)
        ret =
            store_people_set_regional(pl, reg.proj[i].id, reg.proj[i].p.scope == WM_SCOPE_REGIONAL);
    if (ret != WM_OK) {
        proto_errf(err, errlen, "out of memory");
        goto out;
    }
    rc = mdb_cursor_open(txn, s->dbi[STORE_DBI_EVENTS], &cur);
    if (rc == 0)
        rc = mdb_cursor_open(txn, s->dbi[STORE_DBI_RETRACTED], &rcur);
    if (rc != 0)
        goto lmdb_fail;
    /* Both DBIs are in seq order: walk the retracted targets alongside the events. */
    rrc = mdb_cursor_get(rcur, &rk, &rv, MDB_FIRST);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        uint64_t seq = k.mv_size == 8 ? store_get_u64(k.mv_data) : 0;
        const struct store_reg_project *rp = NULL;
        struct store_pentry e;
        uint32_t gem;

        while (rrc == 0 && rk.mv_size == 8 && store_get_u64(rk.mv_data) < seq)
            rrc = mdb_cursor_get(rcur, &rk, &rv, MDB_NEXT);
        if (rrc != 0 && rrc != MDB_NOTFOUND) {
            rc = rrc;
            goto lmdb_fail;
        }
        if (rrc == 0 && rk.mv_size == 8 && store_get_u64(rk.mv_data) == seq)
            continue; /* retracted */
        if (proto_record_kind(v.mv_data, v.mv_size) != PROTO_RECORD_EVENT)
            continue;
        if (proto_event_decode(v.mv_data, v.mv_size, ev) != WM_OK) {
            proto_errf(err, errlen, "event record %llu cannot be read", (unsigned long long)seq);
            ret = WM_EVERSION;
            goto out;
        }
        if (ev->project[0] && !(rp = store_registry_find(&reg, ev->project))) {
            proto_errf(err, errlen, "event %llu names project '%s', which is not in the registry",
                       (unsigned long long)seq, ev->project);
            ret = WM_EVERSION;
            goto out;
        }
        gem = gem_lookup(&reg, ev->gemeente, &gcache);
        if (gem == 0) {
            proto_errf(err, errlen, "event %llu names gemeente '%s', which has no id",
                       (unsigned long long)seq, ev->gemeente);
            ret = WM_EVERSION;
            goto out;
        }
        store_people_entry(ev, rp ? rp->id : 0, gem, &e);
        ret = store_people_push(pl, STORE_POP_ADD, ev->person, &e, 0);
        if (ret == WM_OK)
            ret = ops_apply(pl);
        if (ret != WM_OK) {
            proto_errf(err, errlen, "cannot build the person index: %s", wm_strerror(ret));
            goto out;
        }
    }
    if (rc != MDB_NOTFOUND)
        goto lmdb_fail;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pl->load_ms =
        (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000u + (uint64_t)((t1.tv_nsec - t0.tv_nsec) / 1000000);
    ret = WM_OK;
    goto out;
lmdb_fail:
    ret = store_lmdb_err(rc);
    proto_errf(err, errlen, "cannot read the events: %s", mdb_strerror(rc));
out:
    if (cur)
        mdb_cursor_close(cur);
    if (rcur)
        mdb_cursor_close(rcur);
    store_query_end(s, txn, &reg);
    free(ev);
    return ret;
}
