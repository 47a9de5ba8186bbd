/*
 * storage: verify's comparison of the memory part with what the records give
 * (verify.c recomputes that). It reads the memory part's own structures, as queries
 * do: the rollup's cells and buckets, each person's entries, the person lists, the
 * placed persons and the scope flags. Whatever the memory part comes to hold, this is
 * where it is compared.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* The rollup: every cell against the recomputation, and every bucket's list of cells
 * (COUNT finds cells through them). */
static void verify_cells(const struct store_memroll *m, struct store_vexpect *x,
                         struct store_vreport *r)
{
    uint8_t key[STORE_VKEY_LEN];
    char cell[256];
    size_t used = 0, listed = 0;

    for (size_t i = 0; i < m->nbuckets; i++) {
        const struct store_mbucket *b = &m->buckets[i];
        listed += b->n;
        for (size_t j = 0; j < b->n; j++) {
            uint32_t c = b->cells[j];
            if (c < m->capcells && m->cells[c].used && m->cells[c].type == b->type &&
                m->cells[c].gran == b->gran && m->cells[c].unit == b->unit)
                continue;
            store_vcell_describe(cell, sizeof cell, x->reg, b->type, b->gran, b->unit, 0, 0, NULL);
            store_vreport(r, "memory rollup: the bucket of %s lists place %u, not one of its cells",
                          cell, (unsigned)c);
        }
    }
    for (size_t i = 0; i < m->capcells; i++) {
        const struct store_mcell *c = &m->cells[i];
        uint64_t want = 0;
        size_t k;

        if (!c->used)
            continue;
        used++;
        r->res->cells++;
        store_vkey_pack(key, c->type, c->gran, c->unit, c->project, c->gemeente, c->enums);
        k = store_vmap_find(&x->mcells, key, sizeof key);
        if (k != SIZE_MAX) {
            store_vmap_ent(&x->mcells, k)->seen = 1;
            want = *(const uint64_t *)store_vmap_val(&x->mcells, k);
        }
        if (c->count == want)
            continue;
        store_vcell_describe(cell, sizeof cell, x->reg, c->type, c->gran, c->unit, c->project,
                             c->gemeente, c->enums);
        store_vreport(r, "memory cell %s: %llu, the events give %llu", cell,
                      (unsigned long long)c->count, (unsigned long long)want);
    }
    if (used != m->ncells || listed != m->ncells)
        store_vreport(r, "memory rollup: counts %zu cells, holds %zu, its buckets list %zu",
                      m->ncells, used, listed);
    for (size_t k = 0; k < x->mcells.n; k++) {
        const uint8_t *p = store_vmap_key(&x->mcells, k);
        uint64_t want = *(const uint64_t *)store_vmap_val(&x->mcells, k);
        if (store_vmap_ent(&x->mcells, k)->seen || want == 0)
            continue;
        store_vcell_describe(cell, sizeof cell, x->reg, p[0], p[1], store_get_time(p + 2),
                             store_get_u16(p + 6), store_get_u16(p + 8), p + 10);
        store_vreport(r, "memory cell %s: missing, the events give %llu", cell,
                      (unsigned long long)want);
    }
}

/* The year and month VEC cells (in memory since schema 3): each against the
 * recomputation, and every bucket's list of them (COUNT without an enum reads
 * through it). */
static void verify_vcells(const struct store_memroll *m, struct store_vexpect *x,
                          struct store_vreport *r)
{
    char cell[256];
    size_t listed = 0;

    for (size_t i = 0; i < m->nbuckets; i++) {
        const struct store_mbucket *b = &m->buckets[i];
        listed += b->nv;
        for (size_t j = 0; j < b->nv; j++) {
            uint32_t c = b->vcells[j];
            if (c < m->nvcells && m->vcells[c].type == b->type && m->vcells[c].gran == b->gran &&
                m->vcells[c].unit == b->unit)
                continue;
            store_vcell_describe(cell, sizeof cell, x->reg, b->type, b->gran, b->unit, 0, 0, NULL);
            store_vreport(r,
                          "memory rollup: the bucket of %s lists VEC cell %u, not one of its cells",
                          cell, (unsigned)c);
        }
    }
    if (listed != m->nvcells)
        store_vreport(r, "memory rollup: holds %zu VEC cells, its buckets list %zu", m->nvcells,
                      listed);
    for (size_t i = 0; i < m->nvcells; i++) {
        const struct store_vcell *c = &m->vcells[i];
        const struct proto_type_desc *td = proto_type_desc(c->type);
        size_t n = td ? store_vec_len(td) : 0;

        if (c->off > m->nvec || n > m->nvec - c->off) {
            store_vcell_describe(cell, sizeof cell, x->reg, c->type, c->gran, c->unit, c->project,
                                 c->gemeente, NULL);
            store_vreport(r, "memory rollup: VEC cell %s has its counters outside the vector",
                          cell);
            continue;
        }
        store_verify_vec_cell(r, x, c->type, c->gran, c->unit, c->project, c->gemeente,
                              &m->vec[c->off], n);
    }
    store_verify_vec_missing(r, x);
}

/* Describe a person's entry (no person value: the caller names the person). */
static void entry_describe(char *buf, size_t len, const struct store_registry *reg,
                           const struct store_pentry *e)
{
    store_vcell_describe(buf, len, reg, e->type, STORE_GRAN_DAY, e->date, e->project, e->gemeente,
                         e->enums);
}

/* The seq naming recomputed person index i in reports. */
static unsigned long long person_seq(const struct store_vexpect *x, uint32_t i)
{
    return (unsigned long long)((const struct store_vperson *)store_vmap_val(&x->persons,
                                                                             x->person_ent[i]))
        ->seq;
}

/* Each person's entries, both ways; mem_of[i] gets the memory part's id of recomputed
 * person i (UINT32_MAX when it has none). */
static void verify_entries(struct store_people *pl, struct store_vexpect *x,
                           struct store_vreport *r, uint32_t *mem_of)
{
    const struct store_persons *t = &pl->persons;
    uint8_t key[STORE_VENTRY_LEN];
    uint64_t entries = 0;
    char desc[256];

    for (uint32_t pid = 0; pid < t->n; pid++) {
        const struct store_person *p = &t->p[pid];
        const struct store_vperson *vp;
        uint32_t found;
        size_t k;

        entries += p->n;
        if (store_people_id(pl, p->name, 0, &found) != WM_OK || found != pid)
            store_vreport(r, "memory part: person #%u cannot be found by its pseudonym",
                          (unsigned)pid);
        if (p->n == 0)
            continue;
        k = store_vmap_find(&x->persons, p->name, strlen(p->name));
        if (k == SIZE_MAX) {
            store_vreport(r, "memory part: person #%u holds %u entries, but no event names them",
                          (unsigned)pid, (unsigned)p->n);
            continue;
        }
        vp = store_vmap_val(&x->persons, k);
        mem_of[vp->index] = pid;
        r->res->persons++;
        for (uint32_t j = 0; j < p->n; j++) {
            uint64_t want = 0;
            size_t e;
            store_ventry_pack(key, vp->index, &p->e[j]);
            e = store_vmap_find(&x->entries, key, sizeof key);
            if (e != SIZE_MAX) {
                store_vmap_ent(&x->entries, e)->seen = 1;
                want = *(const uint64_t *)store_vmap_val(&x->entries, e);
            }
            if (p->e[j].count == want)
                continue;
            entry_describe(desc, sizeof desc, x->reg, &p->e[j]);
            store_vreport(r,
                          "memory part: the person of event %llu has %u of %s, the events give "
                          "%llu",
                          (unsigned long long)vp->seq, (unsigned)p->e[j].count, desc,
                          (unsigned long long)want);
        }
    }
    if (entries != t->entries)
        store_vreport(r, "memory part: counts %llu entries, its persons hold %llu",
                      (unsigned long long)t->entries, (unsigned long long)entries);
    for (size_t e = 0; e < x->entries.n; e++) {
        const uint8_t *k = store_vmap_key(&x->entries, e);
        uint64_t want = *(const uint64_t *)store_vmap_val(&x->entries, e);
        struct store_pentry pe;
        if (store_vmap_ent(&x->entries, e)->seen || want == 0)
            continue;
        memset(&pe, 0, sizeof pe);
        pe.date = store_get_time(k + 4);
        pe.project = (uint16_t)store_get_u16(k + 8);
        pe.gemeente = (uint16_t)store_get_u16(k + 10);
        pe.type = k[12];
        memcpy(pe.enums, k + 13, WM_MAX_ENUMS);
        entry_describe(desc, sizeof desc, x->reg, &pe);
        store_vreport(r, "memory part: the person of event %llu lacks %s (the events give %llu)",
                      person_seq(x, store_get_u32(k)), desc, (unsigned long long)want);
    }
}

/* The recomputed index of memory person pid, or UINT32_MAX. */
static uint32_t expected_index(const struct store_people *pl, const struct store_vexpect *x,
                               uint32_t pid)
{
    const char *name;
    size_t k;

    if (pid >= pl->persons.n)
        return UINT32_MAX;
    name = pl->persons.p[pid].name;
    k = store_vmap_find(&x->persons, name, strlen(name));
    return k == SIZE_MAX ? UINT32_MAX
                         : ((const struct store_vperson *)store_vmap_val(&x->persons, k))->index;
}

/* The persons placed in each project, and in two or more. */
static int verify_placed_lists(const struct store_people *pl, struct store_vexpect *x,
                               struct store_vreport *r)
{
    const struct store_persons *t = &pl->persons;
    size_t nproj = t->nproj > x->reg->nid ? t->nproj : x->reg->nid;
    uint64_t *want = calloc(nproj + 1, sizeof *want), multi = 0;
    char pb[80];

    if (!want)
        return WM_ENOMEM;
    for (size_t i = 0; i < x->placed.n; i++) {
        uint32_t p = store_get_u32(store_vmap_key(&x->placed, i) + 4);
        if (p < nproj)
            want[p]++;
    }
    for (size_t p = 0; p < nproj; p++) {
        const struct store_plist *l = p < t->nproj ? &t->proj[p] : NULL;
        size_t n = l ? l->n : 0;
        snprintf(pb, sizeof pb, "%s",
                 p < x->reg->nid && x->reg->by_id[p] >= 0 ? x->reg->proj[x->reg->by_id[p]].p.name
                                                          : "-");
        for (size_t j = 0; j < n; j++) {
            uint32_t i = expected_index(pl, x, l->v[j]);
            uint8_t pk[8];
            size_t k = SIZE_MAX;
            if (i != UINT32_MAX) {
                store_put_u32(pk, i);
                store_put_u32(pk + 4, (uint32_t)p);
                k = store_vmap_find(&x->placed, pk, sizeof pk);
            }
            if (k == SIZE_MAX)
                store_vreport(r,
                              "memory part: project %s lists person #%u as placed, who has no "
                              "live placement there",
                              pb, (unsigned)l->v[j]);
            else if (store_vmap_ent(&x->placed, k)->seen++)
                store_vreport(r, "memory part: project %s lists the person of event %llu twice", pb,
                              person_seq(x, i));
        }
        if (n != want[p])
            store_vreport(r,
                          "memory part: project %s lists %zu placed persons, the events give %llu",
                          pb, n, (unsigned long long)want[p]);
    }
    free(want);
    for (size_t i = 0; i < x->persons.n; i++)
        multi += ((const struct store_vperson *)store_vmap_val(&x->persons, i))->nprojects >= 2;
    for (size_t j = 0; j < t->multi.n; j++) {
        uint32_t i = expected_index(pl, x, t->multi.v[j]);
        if (i == UINT32_MAX ||
            ((const struct store_vperson *)store_vmap_val(&x->persons, x->person_ent[i]))
                    ->nprojects < 2)
            store_vreport(r,
                          "memory part: person #%u is listed as placed in several projects, but "
                          "is not",
                          (unsigned)t->multi.v[j]);
    }
    if (t->multi.n != multi)
        store_vreport(r,
                      "memory part: lists %zu persons placed in several projects, the events give "
                      "%llu",
                      t->multi.n, (unsigned long long)multi);
    if (t->placed != x->placed_persons)
        store_vreport(r, "memory part: placed persons is %llu, the events give %llu",
                      (unsigned long long)t->placed, (unsigned long long)x->placed_persons);
    return WM_OK;
}

/* The placed persons by gemeente (WATCH by gemeente reads them): from the recomputed
 * entries, each (person, gemeente) with a live placement once. */
static int verify_gemeente_placed(const struct store_people *pl, struct store_vexpect *x,
                                  struct store_vreport *r)
{
    const struct store_persons *t = &pl->persons;
    struct store_vmap seen;
    uint64_t *want;
    size_t ng = t->ngplaced;
    int ret = WM_OK;

    for (size_t i = 0; i < x->entries.n; i++) {
        const uint8_t *k = store_vmap_key(&x->entries, i);
        if (k[12] == WM_TYPE_PLACED && store_get_u16(k + 10) >= ng)
            ng = store_get_u16(k + 10) + 1u;
    }
    want = calloc(ng ? ng : 1, sizeof *want);
    if (!want)
        return WM_ENOMEM;
    store_vmap_init(&seen, 0);
    for (size_t i = 0; i < x->entries.n && ret == WM_OK; i++) {
        const uint8_t *k = store_vmap_key(&x->entries, i);
        uint8_t pg[6];
        void *v;
        size_t before = seen.n;
        if (k[12] != WM_TYPE_PLACED || *(const uint64_t *)store_vmap_val(&x->entries, i) == 0)
            continue;
        memcpy(pg, k, 4);          /* the person */
        memcpy(pg + 4, k + 10, 2); /* the gemeente */
        ret = store_vmap_put(&seen, pg, sizeof pg, &v);
        if (ret == WM_OK && seen.n > before)
            want[store_get_u16(k + 10)]++;
    }
    for (size_t g = 0; g < ng && ret == WM_OK; g++) {
        uint64_t have = g < t->ngplaced ? t->gplaced[g] : 0;
        if (have != want[g])
            store_vreport(r,
                          "memory part: gemeente %s has %llu placed persons, the events give %llu",
                          g < x->reg->ngem && x->reg->gem[g][0] ? x->reg->gem[g] : "-",
                          (unsigned long long)have, (unsigned long long)want[g]);
    }
    store_vmap_free(&seen);
    free(want);
    return ret;
}

/* The lists by type and year (distinct=person walks them): each person with a live
 * entry of a type in a year must be on its list (a list may hold more: readers check
 * the entries). */
static int verify_year_lists(const struct store_people *pl, struct store_vexpect *x,
                             struct store_vreport *r, const uint32_t *mem_of)
{
    const struct store_persons *t = &pl->persons;
    struct store_vmap listed;
    uint8_t k[9];
    void *unused;
    int ret = WM_OK;

    store_vmap_init(&listed, 0);
    for (size_t i = 0; i < t->nty && ret == WM_OK; i++)
        for (size_t j = 0; j < t->ty[i].n && ret == WM_OK; j++) {
            store_put_u32(k, t->ty[i].v[j]);
            k[4] = (uint8_t)(i / STORE_TY_YEARS);
            store_put_u32(k + 5, (uint32_t)(i % STORE_TY_YEARS));
            ret = store_vmap_put(&listed, k, sizeof k, &unused);
        }
    for (size_t e = 0; e < x->entries.n && ret == WM_OK; e++) {
        const uint8_t *ek = store_vmap_key(&x->entries, e);
        uint32_t i = store_get_u32(ek);
        int y, m, d;
        if (*(const uint64_t *)store_vmap_val(&x->entries, e) == 0 || mem_of[i] == UINT32_MAX)
            continue; /* a person the memory part lacks is reported already */
        proto_date_split(store_get_time(ek + 4), &y, &m, &d);
        store_put_u32(k, mem_of[i]);
        k[4] = ek[12];
        store_put_u32(k + 5, (uint32_t)(y - STORE_TY_BASE));
        if (store_vmap_find(&listed, k, sizeof k) == SIZE_MAX) {
            const struct proto_type_desc *td = proto_type_desc(ek[12]);
            store_vreport(r,
                          "memory part: the person of event %llu is not listed for %s in %d "
                          "(distinct=person would miss them)",
                          person_seq(x, i), td ? td->name : "?", y);
        }
    }
    store_vmap_free(&listed);
    return ret;
}

int store_people_verify(struct store_people *pl, struct store_vexpect *x, struct store_vreport *r)
{
    size_t npersons = x->persons.n;
    uint32_t *mem_of;
    int ret;

    verify_cells(&pl->roll, x, r);
    verify_vcells(&pl->roll, x, r);
    mem_of = malloc((npersons + 1) * sizeof *mem_of);
    if (!mem_of)
        return WM_ENOMEM;
    for (size_t i = 0; i < npersons; i++)
        mem_of[i] = UINT32_MAX;
    verify_entries(pl, x, r, mem_of);
    ret = verify_placed_lists(pl, x, r);
    if (ret == WM_OK)
        ret = verify_gemeente_placed(pl, x, r);
    if (ret == WM_OK)
        ret = verify_year_lists(pl, x, r, mem_of);
    for (size_t i = 0; i < x->reg->nproj && ret == WM_OK; i++) {
        const struct store_reg_project *rp = &x->reg->proj[i];
        int want = rp->p.scope == WM_SCOPE_REGIONAL;
        if (store_people_regional(pl, rp->id) != want)
            store_vreport(r, "memory part: project %s counts as %s, the registry says %s",
                          rp->p.name, want ? "local" : "regional", want ? "regional" : "local");
    }
    free(mem_of);
    return ret;
}
