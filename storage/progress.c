/*
 * storage: PROGRESS, the stoplight dashboard. Per project, started and completed come
 * from the PROJ rollup and placed persons from the FIRST counters (each (project,
 * person) counted once, at its earliest live placement), so a project costs a few
 * cursor runs over its own cells: (years + 2*11 months + 2*30 days) at most.
 *
 * Exactness where a project's start lies after some of its placements: a person whose
 * earliest placement precedes the start may still have one inside the window, so those
 * persons (pfirst, by date) are checked one by one; cost grows with the persons placed
 * in the project before its start (normally none).
 *
 * The program's placed persons are the union over regional projects, each within its
 * own window. Usually (no regional project has a placement dated before its start) a
 * person is in it iff their earliest regional placement is at or before asof: one run
 * over the UFIRST counters, maintained by the write path (and moved when a project's
 * scope changes). Otherwise it is the sum of the projects' counts minus, for every
 * person placed in two or more projects (pmulti), the number of extra projects that
 * counted them: cost grows with the placements of persons placed in more than one
 * project, nothing else.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

struct prog_ctx {
    struct store *s;
    MDB_txn *txn;
    MDB_cursor *cur; /* rollup */
    struct store_registry reg;
    int32_t asof;
};

/* Sum of a PROJ indicator of project over the dates [a, b]. */
static int proj_sum(struct prog_ctx *c, int ind, uint32_t project, int32_t a, int32_t b,
                    uint64_t *sum)
{
    struct store_span spans[5];
    size_t n = store_decompose(a, b, 0, spans);
    int rc = 0;

    *sum = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t k0[STORE_PK_LEN];
        MDB_val k = {STORE_PK_LEN, k0}, v;
        store_proj_key(k0, ind, project, spans[i].gran, spans[i].lo);
        for (rc = mdb_cursor_get(c->cur, &k, &v, MDB_SET_RANGE); rc == 0;
             rc = mdb_cursor_get(c->cur, &k, &v, MDB_NEXT)) {
            const uint8_t *kb = k.mv_data;
            if (k.mv_size != STORE_PK_LEN || memcmp(kb, k0, 5) != 0 ||
                store_get_time(kb + 5) > spans[i].hi)
                break;
            *sum += store_val_u64(&v);
        }
        if (rc != 0 && rc != MDB_NOTFOUND)
            return store_lmdb_err(rc);
    }
    return WM_OK;
}

/* 1 when person has a live placement in project dated within [a, b]. */
static int placed_within(MDB_cursor *pp, uint32_t person, uint32_t project, int32_t a, int32_t b)
{
    uint8_t k0[10];
    MDB_val k = {10, k0}, v;
    int rc;

    store_put_u32(k0, person);
    store_put_u16(k0 + 4, project);
    store_put_time(k0 + 6, a);
    rc = mdb_cursor_get(pp, &k, &v, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return store_lmdb_err(rc);
    return k.mv_size == 10 && memcmp(k.mv_data, k0, 6) == 0 &&
           store_get_time((const uint8_t *)k.mv_data + 6) <= b;
}

/* Distinct persons with a live placement in project dated within [a, b]. */
static int placed_persons(struct prog_ctx *c, uint32_t project, int32_t a, int32_t b, uint64_t *n)
{
    MDB_cursor *pf = NULL, *pp = NULL;
    uint8_t k0[6];
    MDB_val k = {6, k0}, v;
    int rc, ret = proj_sum(c, STORE_IND_FIRST, project, a, b, n);

    if (ret != WM_OK)
        return ret;
    /* Persons first placed here before a are not in that sum, but may have a later
     * placement inside the window. */
    rc = mdb_cursor_open(c->txn, c->s->dbi[STORE_DBI_PFIRST], &pf);
    if (rc == 0)
        rc = mdb_cursor_open(c->txn, c->s->dbi[STORE_DBI_PPLACE], &pp);
    if (rc != 0) {
        ret = store_lmdb_err(rc);
        goto out;
    }
    store_put_u16(k0, project);
    store_put_time(k0 + 2, INT32_MIN);
    for (rc = mdb_cursor_get(pf, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(pf, &k, &v, MDB_NEXT)) {
        const uint8_t *kb = k.mv_data;
        int hit;
        if (k.mv_size != 10 || store_get_u16(kb) != project || store_get_time(kb + 2) >= a)
            break;
        hit = placed_within(pp, store_get_u32(kb + 6), project, a, b);
        if (hit < 0) {
            ret = hit;
            goto out;
        }
        *n += (uint64_t)hit;
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        ret = store_lmdb_err(rc);
out:
    if (pf)
        mdb_cursor_close(pf);
    if (pp)
        mdb_cursor_close(pp);
    return ret;
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
    ret = proj_sum(c, STORE_IND_STARTED, rp->id, a, c->asof, &act[0]);
    if (ret == WM_OK)
        ret = proj_sum(c, STORE_IND_COMPLETED, rp->id, a, c->asof, &act[1]);
    if (ret == WM_OK)
        ret = placed_persons(c, rp->id, a, c->asof, &act[2]);
    return ret;
}

/* 1 when project has a placement dated before a (its earliest placements are in
 * pfirst by date), or an error. */
static int placed_before(struct prog_ctx *c, uint32_t project, int32_t a)
{
    MDB_cursor *pf;
    uint8_t k0[6];
    MDB_val k = {6, k0}, v;
    int rc = mdb_cursor_open(c->txn, c->s->dbi[STORE_DBI_PFIRST], &pf);

    if (rc != 0)
        return store_lmdb_err(rc);
    store_put_u16(k0, project);
    store_put_time(k0 + 2, INT32_MIN);
    rc = mdb_cursor_get(pf, &k, &v, MDB_SET_RANGE);
    mdb_cursor_close(pf);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return store_lmdb_err(rc);
    return k.mv_size == 10 && store_get_u16(k.mv_data) == project &&
           store_get_time((const uint8_t *)k.mv_data + 2) < a;
}

/* For every person placed in two or more projects, how many extra regional projects
 * counted them (each project within its own window). */
static int union_overcount(struct prog_ctx *c, uint64_t *over)
{
    const struct store_registry *r = &c->reg;
    MDB_cursor *pm = NULL, *pp = NULL;
    MDB_val k, v;
    int rc, ret = WM_OK;

    *over = 0;
    rc = mdb_cursor_open(c->txn, c->s->dbi[STORE_DBI_PMULTI], &pm);
    if (rc == 0)
        rc = mdb_cursor_open(c->txn, c->s->dbi[STORE_DBI_PPLACE], &pp);
    if (rc != 0) {
        ret = store_lmdb_err(rc);
        goto out;
    }
    for (rc = mdb_cursor_get(pm, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(pm, &k, &v, MDB_NEXT)) {
        uint32_t person = store_get_u32(k.mv_data);
        uint64_t hits = 0;
        MDB_val pk = {4, k.mv_data}, pv;
        uint32_t counted = UINT32_MAX;
        int prc;
        for (prc = mdb_cursor_get(pp, &pk, &pv, MDB_SET_RANGE); prc == 0;
             prc = mdb_cursor_get(pp, &pk, &pv, MDB_NEXT)) {
            const uint8_t *kb = pk.mv_data;
            uint32_t pj;
            int32_t d;
            const struct wm_project *p;
            if (pk.mv_size != 10 || store_get_u32(kb) != person)
                break;
            pj = store_get_u16(kb + 4);
            if (pj == counted || pj >= r->nid || r->by_id[pj] < 0)
                continue;
            p = &r->proj[r->by_id[pj]].p;
            d = store_get_time(kb + 6);
            if (p->scope != WM_SCOPE_REGIONAL || d < window_start(p) || d > c->asof)
                continue;
            counted = pj;
            hits++;
        }
        if (prc != 0 && prc != MDB_NOTFOUND) {
            rc = prc;
            break;
        }
        if (hits > 1)
            *over += hits - 1;
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        ret = store_lmdb_err(rc);
out:
    if (pm)
        mdb_cursor_close(pm);
    if (pp)
        mdb_cursor_close(pp);
    return ret;
}

static void emit_row(struct wm_buf *out, const char *project, const char *category,
                     const char *indicator, uint64_t actual, int64_t target, int32_t start,
                     int32_t end, int32_t asof)
{
    wm_buf_puts(out, "ROW");
    proto_fmt_pair(out, "project", project);
    proto_fmt_pair(out, "category", category);
    proto_fmt_pair(out, "indicator", indicator);
    proto_fmt_pair_u64(out, "actual", actual);
    if (target < 0) {
        proto_fmt_pair(out, "target", "-");
        proto_fmt_pair(out, "expected", "-");
        proto_fmt_pair(out, "status", "none");
    } else {
        /* expected = round(target * elapsed), elapsed = passed / total inclusive days,
         * clamped to 0..1; in integers, half rounding up. */
        int64_t expected = target;
        const char *status;
        if (start != WM_DATE_NONE && end != WM_DATE_NONE) {
            int64_t total = (int64_t)end - start + 1;
            int64_t passed = (int64_t)asof - start + 1;
            passed = passed < 0 ? 0 : passed > total ? total : passed;
            expected = (2 * target * passed + total) / (2 * total);
        }
        if ((int64_t)actual >= expected)
            status = "green";
        else if (5 * (int64_t)actual >= 4 * expected)
            status = "orange";
        else
            status = "red";
        proto_fmt_pair_u64(out, "target", (uint64_t)target);
        proto_fmt_pair_u64(out, "expected", (uint64_t)expected);
        proto_fmt_pair(out, "status", status);
    }
    wm_buf_puts(out, "\n");
}

static const char *const indicators[3] = {"started", "completed", "placed"};

static int by_category(const void *pa, const void *pb)
{
    const struct store_reg_project *a = *(const struct store_reg_project *const *)pa;
    const struct store_reg_project *b = *(const struct store_reg_project *const *)pb;
    int d = strcmp(a->p.category, b->p.category);

    return d ? d : strcmp(a->p.name, b->p.name);
}

int store_progress(struct store *s, const struct wm_progress_query *q, struct wm_buf *out,
                   size_t *nrows, char *err, size_t errlen)
{
    struct prog_ctx c;
    const struct store_reg_project **sel = NULL;
    uint64_t(*acts)[3] = NULL;
    size_t nsel = 0;
    uint64_t prog[3] = {0, 0, 0}, over = 0;
    int rc, ret, pre = 0;

    *nrows = 0;
    memset(&c, 0, sizeof c);
    c.s = s;
    c.asof = q->asof;
    ret = store_query_begin(s, &c.txn, &c.reg, err, errlen);
    if (ret != WM_OK)
        return ret;
    if (q->project && !store_registry_find(&c.reg, q->project)) {
        proto_errf(err, errlen, "unknown project '%s'", q->project);
        ret = WM_EUNKNOWN_PROJECT;
        goto out;
    }
    rc = mdb_cursor_open(c.txn, s->dbi[STORE_DBI_ROLLUP], &c.cur);
    if (rc != 0) {
        ret = store_lmdb_err(rc);
        goto fail;
    }
    sel = malloc((c.reg.nproj ? c.reg.nproj : 1) * sizeof *sel);
    acts = calloc(c.reg.nproj ? c.reg.nproj : 1, sizeof *acts);
    if (!sel || !acts) {
        ret = WM_ENOMEM;
        goto fail;
    }
    /* The program rows always cover every regional project, whatever the filter: they
     * compare the whole programme with its own targets. */
    for (size_t i = 0; i < c.reg.nproj; i++) {
        const struct store_reg_project *rp = &c.reg.proj[i];
        int shown = (!q->project || strcmp(q->project, rp->p.name) == 0) &&
                    (!q->category || strcmp(q->category, rp->p.category) == 0);
        if (!shown && rp->p.scope != WM_SCOPE_REGIONAL)
            continue;
        ret = project_actuals(&c, rp, acts[i]);
        if (ret != WM_OK)
            goto fail;
        if (shown)
            sel[nsel++] = rp;
        if (rp->p.scope == WM_SCOPE_REGIONAL)
            for (int ind = 0; ind < 3; ind++)
                prog[ind] += acts[i][ind];
    }
    qsort(sel, nsel, sizeof *sel, by_category);
    for (size_t i = 0; i < nsel; i++) {
        const uint64_t *act = acts[sel[i] - c.reg.proj];
        for (int ind = 0; ind < 3; ind++)
            emit_row(out, sel[i]->p.name, sel[i]->p.category, indicators[ind], act[ind],
                     sel[i]->p.target[ind], sel[i]->p.start, sel[i]->p.end, c.asof);
    }
    /* The program's placed persons, exactly. When no regional project has a placement
     * before its start, a person counts iff their earliest regional placement is at
     * or before asof: one read of the UFIRST counters. Otherwise correct the sum of
     * the projects by the persons counted in several of them. */
    for (size_t i = 0; i < c.reg.nproj && !pre; i++) {
        const struct store_reg_project *rp = &c.reg.proj[i];
        if (rp->p.scope != WM_SCOPE_REGIONAL)
            continue;
        pre = placed_before(&c, rp->id, window_start(&rp->p));
        if (pre < 0) {
            ret = pre;
            goto fail;
        }
    }
    if (!pre) {
        ret = c.asof >= WM_DATE_MIN
                  ? proj_sum(&c, STORE_IND_UFIRST, 0, WM_DATE_MIN, c.asof, &prog[2])
                  : WM_OK;
        if (c.asof < WM_DATE_MIN)
            prog[2] = 0;
    } else {
        ret = union_overcount(&c, &over);
        prog[2] -= over;
    }
    if (ret != WM_OK)
        goto fail;
    for (int ind = 0; ind < 3; ind++)
        emit_row(out, "*", "*", indicators[ind], prog[ind], c.reg.program.target[ind],
                 c.reg.program.start, c.reg.program.end, c.asof);
    *nrows = 3 * nsel + 3;
    if (out->oom) {
        ret = WM_ENOMEM;
        goto fail;
    }
    goto out;
fail:
    proto_errf(err, errlen, "progress failed: %s", wm_strerror(ret));
    if (ret != WM_ENOMEM)
        ret = WM_EIO;
out:
    if (c.cur)
        mdb_cursor_close(c.cur);
    store_query_end(s, c.txn, &c.reg);
    free(sel);
    free(acts);
    return ret;
}
