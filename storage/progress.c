/*
 * storage: PROGRESS, the stoplight dashboard, from the store's memory part (people.c):
 * per project, started, completed (with success) and FIRST cells (each (project,
 * person) counted once, at its earliest live placement) of the in-memory rollup, so a
 * project costs a few bucket reads: (years + 2*11 months + 2*30 days) at most, each
 * bucket holding one cell per project.
 *
 * Exactness where a project's start lies after some of its placements (the FIRST
 * counters say whether any does): a person whose earliest placement precedes the start
 * may still have one inside the window, so the project's placed persons (in the
 * in-memory person table, persons.c) are checked one by one; cost grows with the
 * persons placed in the project, and only for such a project (normally none).
 *
 * The program's placed persons are the union over regional projects, each within its
 * own window. Usually (no regional project has a placement dated before its start) a
 * person is in it iff their earliest regional placement is at or before asof: one run
 * over the UFIRST cells, kept by placement.c (and moved when a project's scope
 * changes). Otherwise it is the sum of the projects' counts minus, for every
 * person placed in two or more projects (the person layer keeps them in a list), the
 * number of extra projects that counted them: cost grows with the placements of
 * persons placed in more than one project, nothing else.
 *
 * PROGRESS holds the memory part's read lock, taken before its read transaction (which
 * it needs for the registry).
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

struct prog_ctx {
    struct store *s;
    MDB_txn *txn;
    struct store_registry reg;
    int32_t asof;
};

/* Sum of the in-memory cells of pseudo type (STORE_MT_*) of project
 * over the dates [a, b]: at most five spans of years, months and days. */
static int mem_sum(struct prog_ctx *c, int type, uint32_t project, int32_t a, int32_t b,
                   uint64_t *sum)
{
    const struct store_memroll *m = &c->s->people.roll;
    struct store_span spans[5];
    size_t n = store_decompose(a, b, 0, spans);

    *sum = 0;
    for (size_t i = 0; i < n && m->has_dates; i++) {
        int32_t lo = spans[i].lo, hi = spans[i].hi;
        if (lo < store_time_unit(m->min_date, spans[i].gran))
            lo = store_time_unit(m->min_date, spans[i].gran);
        if (hi > store_time_unit(m->max_date, spans[i].gran))
            hi = store_time_unit(m->max_date, spans[i].gran);
        for (int32_t u = lo; u <= hi; u++) {
            const struct store_mbucket *bk = store_memroll_bucket(m, type, spans[i].gran, u);
            for (size_t j = 0; bk && j < bk->n; j++) {
                const struct store_mcell *cell = &m->cells[bk->cells[j]];
                if (cell->project == project)
                    *sum += cell->count;
            }
        }
    }
    return WM_OK;
}

/* 1 when project has a live placement dated before a (a FIRST count before a),
 * 0 when not, or an error. */
static int placed_before(struct prog_ctx *c, uint32_t project, int32_t a)
{
    uint64_t n = 0;
    int ret;

    if (a <= WM_DATE_MIN)
        return 0;
    ret = mem_sum(c, STORE_MT_FIRST, project, WM_DATE_MIN, a - 1, &n);
    return ret != WM_OK ? ret : n > 0;
}

/* 1 when person has a live placement in project dated within [a, b]; *first gets
 * their earliest live placement date there (WM_DATE_NONE when none). */
static int placed_within(const struct store_person *p, uint32_t project, int32_t a, int32_t b,
                         int32_t *first)
{
    int hit = 0;

    *first = WM_DATE_NONE;
    for (uint32_t i = 0; i < p->n; i++) {
        const struct store_pentry *e = &p->e[i];
        if (e->type != WM_TYPE_PLACED || e->project != project)
            continue;
        if (*first == WM_DATE_NONE || e->date < *first)
            *first = e->date;
        if (e->date >= a && e->date <= b)
            hit = 1;
    }
    return hit;
}

/* Distinct persons with a live placement in project dated within [a, b]. */
static int placed_persons(struct prog_ctx *c, uint32_t project, int32_t a, int32_t b, uint64_t *n)
{
    const struct store_people *pl = &c->s->people;
    int ret = mem_sum(c, STORE_MT_FIRST, project, a, b, n);

    if (ret != WM_OK)
        return ret;
    /* Persons first placed here before a are not in that sum, but may have a later
     * placement inside the window. Only then are the project's persons read. */
    ret = placed_before(c, project, a);
    if (ret <= 0)
        return ret;
    for (size_t i = 0; project < pl->persons.nproj && i < pl->persons.proj[project].n; i++) {
        int32_t first;
        int hit =
            placed_within(&pl->persons.p[pl->persons.proj[project].v[i]], project, a, b, &first);
        if (first != WM_DATE_NONE && first < a)
            *n += (uint64_t)hit;
    }
    return WM_OK;
}

/* The window of a project: from its start (or the beginning) to asof. */
static int32_t window_start(const struct wm_project *p)
{
    return p->start != WM_DATE_NONE && p->start > WM_DATE_MIN ? p->start : WM_DATE_MIN;
}

static int project_actuals(struct prog_ctx *c, const struct store_reg_project *rp, uint64_t act[3])
{
    int32_t a = window_start(&rp->p);
    int ret;

    act[0] = act[1] = act[2] = 0;
    if (a > c->asof)
        return WM_OK;
    ret = mem_sum(c, STORE_MT_STARTED, rp->id, a, c->asof, &act[0]);
    if (ret == WM_OK)
        ret = mem_sum(c, STORE_MT_COMPLETED, rp->id, a, c->asof, &act[1]);
    if (ret == WM_OK)
        ret = placed_persons(c, rp->id, a, c->asof, &act[2]);
    return ret;
}

/* For every person placed in two or more projects, how many extra regional projects
 * counted them (each project within its own window). */
static int union_overcount(struct prog_ctx *c, uint64_t *over)
{
    const struct store_registry *r = &c->reg;
    const struct store_people *pl = &c->s->people;

    *over = 0;
    for (size_t m = 0; m < pl->persons.multi.n; m++) {
        const struct store_person *p = &pl->persons.p[pl->persons.multi.v[m]];
        uint64_t hits = 0;
        for (uint32_t i = 0; i < p->n; i++) {
            const struct store_pentry *e = &p->e[i];
            const struct wm_project *pr;
            int seen = 0;
            if (e->type != WM_TYPE_PLACED || e->project >= r->nid || r->by_id[e->project] < 0)
                continue;
            pr = &r->proj[r->by_id[e->project]].p;
            if (pr->scope != WM_SCOPE_REGIONAL || e->date < window_start(pr) || e->date > c->asof)
                continue;
            /* count each project once: only at its first qualifying entry */
            for (uint32_t j = 0; j < i && !seen; j++) {
                const struct store_pentry *f = &p->e[j];
                seen = f->type == WM_TYPE_PLACED && f->project == e->project &&
                       f->date >= window_start(pr) && f->date <= c->asof;
            }
            hits += !seen;
        }
        if (hits > 1)
            *over += hits - 1;
    }
    return WM_OK;
}

/* With a gemeente filter (gemeente=, and the principals bound to one): the figures of
 * the municipalities' events only, from one walk over the person layer, whose entries
 * carry their gemeente: per project its started and successfully completed events and
 * its distinct persons placed, each within the project's window; the programme's
 * distinct persons placed in a regional project. Exact; its cost grows with the
 * stored entries, which is why the unfiltered dashboard reads counters instead. */
static int actuals_in_gemeenten(struct prog_ctx *c, const struct wm_progress_query *q,
                                uint64_t (*acts)[3], uint64_t *prog_placed)
{
    const struct store_people *pl = &c->s->people;
    const struct store_registry *r = &c->reg;
    uint8_t *gem_ok = calloc(r->ngem ? r->ngem : 1, 1);
    uint32_t *stamp = calloc(r->nproj ? r->nproj : 1, sizeof *stamp);

    *prog_placed = 0;
    if (!gem_ok || !stamp) {
        free(gem_ok);
        free(stamp);
        return WM_ENOMEM;
    }
    for (uint32_t g = 1; g < r->ngem; g++)
        for (size_t k = 0; k < q->ngemeente; k++)
            gem_ok[g] |= strcmp(r->gem[g], q->gemeente[k]) == 0;
    for (uint32_t pid = 0; pid < pl->persons.n; pid++) {
        const struct store_person *p = &pl->persons.p[pid];
        int regional = 0;
        for (uint32_t i = 0; i < p->n; i++) {
            const struct store_pentry *e = &p->e[i];
            const struct store_reg_project *rp;
            size_t idx;
            if (e->gemeente >= r->ngem || !gem_ok[e->gemeente] || e->project == 0 ||
                e->project >= r->nid || r->by_id[e->project] < 0)
                continue;
            idx = (size_t)r->by_id[e->project];
            rp = &r->proj[idx];
            if (e->date < window_start(&rp->p) || e->date > c->asof)
                continue;
            if (e->type == WM_TYPE_STARTED) {
                acts[idx][0] += e->count;
            } else if (e->type == WM_TYPE_COMPLETED && WM_RESULT_SUCCESS(e->enums[0])) {
                acts[idx][1] += e->count;
            } else if (e->type == WM_TYPE_PLACED && e->count > 0) {
                /* a person counts once per project: stamp the project with them */
                if (stamp[idx] != pid + 1) {
                    stamp[idx] = pid + 1;
                    acts[idx][2]++;
                }
                regional |= rp->p.scope == WM_SCOPE_REGIONAL;
            }
        }
        *prog_placed += (uint64_t)regional;
    }
    free(gem_ok);
    free(stamp);
    return WM_OK;
}

static int by_category(const void *pa, const void *pb)
{
    const struct store_reg_project *a = *(const struct store_reg_project *const *)pa;
    const struct store_reg_project *b = *(const struct store_reg_project *const *)pb;
    int d = strcmp(a->p.category, b->p.category);

    return d ? d : strcmp(a->p.name, b->p.name);
}

/* The rows of the projects q shows (sorted by category and name), and the actuals of
 * every regional project summed into prog: the program rows always cover them all,
 * whatever the filter, for they compare the whole programme with its own targets.
 * *nsel gets the number of projects shown. WM_OK or an error. */
static int project_rows(struct prog_ctx *c, const struct wm_progress_query *q,
                        struct wm_progress_result *res, uint64_t prog[3], size_t *nsel)
{
    const struct store_registry *r = &c->reg;
    const struct store_reg_project **sel = malloc((r->nproj ? r->nproj : 1) * sizeof *sel);
    uint64_t(*acts)[3] = calloc(r->nproj ? r->nproj : 1, sizeof *acts);
    uint64_t gem_placed = 0;
    int ret = WM_OK;

    *nsel = 0;
    if (!sel || !acts) {
        ret = WM_ENOMEM;
        goto out;
    }
    if (q->ngemeente > 0 && (ret = actuals_in_gemeenten(c, q, acts, &gem_placed)) != WM_OK)
        goto out;
    for (size_t i = 0; i < r->nproj; i++) {
        const struct store_reg_project *rp = &r->proj[i];
        int shown = (!q->project || strcmp(q->project, rp->p.name) == 0) &&
                    (!q->category || strcmp(q->category, rp->p.category) == 0);
        if (!shown && rp->p.scope != WM_SCOPE_REGIONAL)
            continue;
        if (q->ngemeente == 0 && (ret = project_actuals(c, rp, acts[i])) != WM_OK)
            goto out;
        if (shown)
            sel[(*nsel)++] = rp;
        if (rp->p.scope == WM_SCOPE_REGIONAL)
            for (int ind = 0; ind < 3; ind++)
                prog[ind] += acts[i][ind];
    }
    /* with a gemeente filter the walk counted the programme's persons exactly */
    if (q->ngemeente > 0)
        prog[2] = gem_placed;
    qsort(sel, *nsel, sizeof *sel, by_category);
    for (size_t i = 0; i < *nsel && ret == WM_OK; i++) {
        const uint64_t *act = acts[sel[i] - r->proj];
        for (int ind = 0; ind < 3 && ret == WM_OK; ind++)
            ret = proto_progress_result_add(res, sel[i]->p.name, sel[i]->p.category, ind, act[ind],
                                            sel[i]->p.target[ind], sel[i]->p.start, sel[i]->p.end,
                                            c->asof);
    }
out:
    free(sel);
    free(acts);
    return ret;
}

/* The program's placed persons, exactly; *placed holds the sum of the regional
 * projects' on entry. When no regional project has a placement before its start, a
 * person counts iff their earliest regional placement is at or before asof: one read
 * of the UFIRST counters. Otherwise the sum is corrected by the persons counted in
 * several projects. */
static int program_placed(struct prog_ctx *c, uint64_t *placed)
{
    uint64_t over = 0;
    int ret, pre = 0;

    for (size_t i = 0; i < c->reg.nproj && !pre; i++) {
        const struct store_reg_project *rp = &c->reg.proj[i];
        if (rp->p.scope != WM_SCOPE_REGIONAL)
            continue;
        pre = placed_before(c, rp->id, window_start(&rp->p));
        if (pre < 0)
            return pre;
    }
    if (!pre) {
        *placed = 0;
        return c->asof >= WM_DATE_MIN ? mem_sum(c, STORE_MT_UFIRST, 0, WM_DATE_MIN, c->asof, placed)
                                      : WM_OK;
    }
    ret = union_overcount(c, &over);
    *placed -= over;
    return ret;
}

int store_progress(struct store *s, const struct wm_progress_query *q,
                   struct wm_progress_result *res, char *err, size_t errlen)
{
    struct store_counters cnt;
    struct prog_ctx c;
    uint64_t prog[3] = {0, 0, 0};
    size_t nsel = 0;
    int ret;

    proto_progress_result_reset(res);
    memset(&c, 0, sizeof c);
    c.s = s;
    c.asof = q->asof;
    ret = store_people_read_begin(&s->people, "progress", err, errlen);
    if (ret != WM_OK)
        return ret;
    ret = store_query_begin(s, &c.txn, &c.reg, err, errlen);
    if (ret != WM_OK) {
        store_people_read_end(&s->people);
        return ret;
    }
    if (q->project && !store_registry_find(&c.reg, q->project)) {
        store_unknown_project(s, c.txn, q->project, err, errlen);
        ret = WM_EUNKNOWN_PROJECT;
        goto out;
    }
    if (q->category && (ret = store_registry_category(&c.reg, q->category, err, errlen)) != WM_OK)
        goto out;
    ret = store_counters_get(s, c.txn, &cnt);
    if (ret == WM_OK) {
        res->seq = cnt.last_seq;
        ret = project_rows(&c, q, res, prog, &nsel);
    }
    if (ret == WM_OK && q->ngemeente == 0)
        ret = program_placed(&c, &prog[2]);
    for (int ind = 0; ind < 3 && ret == WM_OK; ind++)
        ret = proto_progress_result_add(res, "*", "*", ind, prog[ind], c.reg.program.target[ind],
                                        c.reg.program.start, c.reg.program.end, c.asof);
    if (ret != WM_OK) {
        res->nrows = 0;
        proto_errf(err, errlen, "progress failed: %s", wm_strerror(ret));
        if (ret != WM_ENOMEM)
            ret = WM_EIO;
    }
out:
    store_query_end(s, c.txn, &c.reg);
    store_people_read_end(&s->people);
    return ret;
}
