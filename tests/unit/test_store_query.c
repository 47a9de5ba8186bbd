/*
 * Unit tests of storage's queries: COUNT (every dimension, filters, date edges,
 * distinct) and PROGRESS are compared with a brute-force computation over the same
 * random events (repeat persons, retractions, a re-categorised project), on a real
 * LMDB in a temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

#define NPERSONS 60
#define NEVENTS 2500

struct tproj {
    const char *name;
    const char *category;
    int scope;
    int32_t start, end;
    int64_t target[3];
};

struct tev {
    struct wm_event ev;
    uint64_t seq;
    int live;
};

static struct tproj projects[6];
static struct wm_project program;
static struct tev *evs;
static size_t nev;
static const char *const gems[5] = {"blaricum", "hilversum", "huizen", "weesp", "laren"};
static char dir[64];
static struct store *st;
static uint64_t rng = 88172645463325252ull;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int rn(int n)
{
    return (int)(rnd() % (uint64_t)n);
}

static int32_t day(int y, int m, int d)
{
    return proto_date_from_ymd(y, m, d);
}

static void fill_project(struct wm_project *p, const struct tproj *t)
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", t->name);
    snprintf(p->category, sizeof p->category, "%s", t->category);
    p->scope = (uint8_t)t->scope;
    p->start = t->start;
    p->end = t->end;
    memcpy(p->target, t->target, sizeof p->target);
    p->set_mask = WM_PSET_CATEGORY | WM_PSET_SCOPE | WM_PSET_START | WM_PSET_END |
                  WM_PSET_TARGET_STARTED | WM_PSET_TARGET_COMPLETED | WM_PSET_TARGET_PLACED;
}

static void apply_ok(struct store_item *it, size_t n)
{
    assert_int_equal(store_apply(st, it, n), WM_OK);
    for (size_t i = 0; i < n; i++) {
        if (it[i].result != WM_OK)
            fail_msg("item %zu: %s", i, it[i].err);
    }
}

static void make_event(struct wm_event *ev, size_t n)
{
    const struct proto_type_desc *td;

    memset(ev, 0, sizeof *ev);
    ev->type = (uint8_t)rn(4);
    td = proto_type_desc(ev->type);
    ev->date = day(2019, 6, 1) + rn(day(2022, 8, 31) - day(2019, 6, 1) + 1);
    ev->months = ev->hours = -1;
    for (int i = 0; i < td->nenums; i++)
        ev->enums[i] = (uint8_t)rn(td->enums[i]->nvalues);
    snprintf(ev->id, sizeof ev->id, "ev-%zu", n);
    snprintf(ev->person, sizeof ev->person, "person-%04d", rn(NPERSONS));
    snprintf(ev->gemeente, sizeof ev->gemeente, "%s", gems[rn(5)]);
    if (ev->type != WM_TYPE_OUTFLOW || rn(5) < 3)
        snprintf(ev->project, sizeof ev->project, "%s", projects[rn(6)].name);
    snprintf(ev->principal, sizeof ev->principal, "%s", rn(2) ? "wsp" : "huizen");
}

/* Apply total random items (events and retractions of earlier events) in random
 * batches, recording the events in evs. */
static void add_events(struct store_item *items, size_t total)
{
    size_t done = 0;

    while (done < total) {
        size_t n = 1 + (size_t)rn(150), k = 0;
        size_t first = nev;
        while (k < n && done < total) {
            struct store_item *it = &items[k];
            memset(it, 0, sizeof *it);
            if (first > 10 && rn(100) < 15) {
                /* retract a random live event of an earlier batch (its seq is known), by
                 * ref or (as admin) by seq */
                size_t t = (size_t)rn((int)first);
                if (!evs[t].live)
                    continue;
                it->op = STORE_OP_RETRACT;
                snprintf(it->u.retract.id, sizeof it->u.retract.id, "rt-%zu-%zu", nev, done);
                if (rn(2)) {
                    snprintf(it->u.retract.principal, sizeof it->u.retract.principal, "%s",
                             evs[t].ev.principal);
                    snprintf(it->u.retract.ref, sizeof it->u.retract.ref, "%s", evs[t].ev.id);
                } else {
                    snprintf(it->u.retract.principal, sizeof it->u.retract.principal, "admin");
                    it->admin = 1;
                    it->u.retract.by_seq = 1;
                    it->u.retract.ref_seq = evs[t].seq;
                }
                evs[t].live = 0;
            } else {
                it->op = STORE_OP_EVENT;
                make_event(&it->u.event, nev);
                evs[nev].ev = it->u.event;
                evs[nev].live = 1;
                nev++;
            }
            k++;
            done++;
        }
        apply_ok(items, k);
        for (size_t i = 0; i < k; i++)
            if (items[i].op == STORE_OP_EVENT)
                evs[first++].seq = items[i].seq;
    }
}

/* Load the registry and NEVENTS random events with retractions, in random batches. */
static int setup(void **state)
{
    struct store_options o = {0};
    struct store_item *items = calloc(200, sizeof *items);
    char err[256];

    (void)state;
    /* mkdtemp's template: the prefix and six X */
    snprintf(dir, sizeof dir, "/tmp/wmquery-%6s", "");
    memset(dir + strlen(dir) - 6, 'X', 6);
    assert_non_null(mkdtemp(dir));
    o.dir = dir;
    o.gemeenten = proto_default_gemeenten;
    o.n_gemeenten = 8;
    assert_int_equal(store_open(&o, &st, err, sizeof err), WM_OK);

    projects[0] = (struct tproj){"alpha",         "scholing",        WM_SCOPE_REGIONAL,
                                 day(2020, 1, 1), day(2021, 12, 31), {50, 30, 20}};
    projects[1] = (struct tproj){"beta",       "scholing",   WM_SCOPE_REGIONAL,
                                 WM_DATE_NONE, WM_DATE_NONE, {40, -1, -1}};
    projects[2] = (struct tproj){"gamma",          "wsp",       WM_SCOPE_REGIONAL, day(2020, 7, 15),
                                 day(2022, 3, 31), {60, 25, 15}};
    projects[3] = (struct tproj){"delta",         "gemeente",       WM_SCOPE_LOCAL,
                                 day(2019, 9, 1), day(2022, 6, 30), {10, 10, 10}};
    projects[4] = (struct tproj){"eps",           "wsp",        WM_SCOPE_REGIONAL,
                                 day(2021, 2, 1), WM_DATE_NONE, {-1, -1, 12}};
    projects[5] = (struct tproj){"zeta-2",     "begeleiding", WM_SCOPE_REGIONAL,
                                 WM_DATE_NONE, WM_DATE_NONE,  {-1, -1, -1}};
    for (int i = 0; i < 6; i++) {
        items[i].op = STORE_OP_PROJECT;
        /* beta starts in another category: COUNT must follow the registry as it is now */
        fill_project(&items[i].u.project, &projects[i]);
        if (i == 1)
            snprintf(items[i].u.project.category, sizeof items[i].u.project.category, "oud");
    }
    items[6].op = STORE_OP_PROGRAM;
    memset(&program, 0, sizeof program);
    program.start = day(2020, 1, 1);
    program.end = day(2023, 12, 31);
    program.target[0] = 120;
    program.target[1] = 80;
    program.target[2] = 50;
    program.set_mask = WM_PSET_START | WM_PSET_END | WM_PSET_TARGET_STARTED |
                       WM_PSET_TARGET_COMPLETED | WM_PSET_TARGET_PLACED;
    items[6].u.project = program;
    snprintf(items[6].u.project.name, sizeof items[6].u.project.name, "*");
    apply_ok(items, 7);

    evs = calloc(NEVENTS + 1000, sizeof *evs);
    add_events(items, NEVENTS);
    /* now the category that queries must see */
    memset(items, 0, sizeof *items);
    items[0].op = STORE_OP_PROJECT;
    snprintf(items[0].u.project.name, sizeof items[0].u.project.name, "beta");
    snprintf(items[0].u.project.category, sizeof items[0].u.project.category, "scholing");
    items[0].u.project.set_mask = WM_PSET_CATEGORY;
    apply_ok(items, 1);
    free(items);
    return 0;
}

static int teardown(void **state)
{
    char path[128];

    (void)state;
    store_close(st);
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    unlink(path);
    rmdir(dir);
    free(evs);
    return 0;
}

static const struct tproj *find_project(const char *name)
{
    for (int i = 0; i < 6; i++)
        if (strcmp(projects[i].name, name) == 0)
            return &projects[i];
    return NULL;
}

/* ---- brute-force COUNT ------------------------------------------------------------- */

static int str_in(const struct wm_filter *f, const char *s)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->str[i], s) == 0)
            return 1;
    return 0;
}

static int num_in(const struct wm_filter *f, int32_t v)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->num[i] == v)
            return 1;
    return 0;
}

/* The text of an event's value of dim (into buf). */
static const char *ev_dim(const struct wm_event *ev, int dim, char *buf)
{
    const struct tproj *p = ev->project[0] ? find_project(ev->project) : NULL;
    int y, m, d;

    proto_date_split(ev->date, &y, &m, &d);
    switch (dim) {
    case WM_DIM_PROJECT:
        return p ? p->name : "-";
    case WM_DIM_CATEGORY:
        return p ? p->category : "-";
    case WM_DIM_SCOPE:
        return p ? (p->scope == WM_SCOPE_LOCAL ? "local" : "regional") : "-";
    case WM_DIM_GEMEENTE:
        return ev->gemeente;
    case WM_DIM_YEAR:
        sprintf(buf, "%04d", y);
        return buf;
    case WM_DIM_QUARTER:
        sprintf(buf, "%04d-Q%d", y, (m - 1) / 3 + 1);
        return buf;
    case WM_DIM_MONTH:
        sprintf(buf, "%04d-%02d", y, m);
        return buf;
    case WM_DIM_HALFYEAR:
        sprintf(buf, "%04d-H%d", y, m <= 6 ? 1 : 2);
        return buf;
    default:
        return proto_type_desc(ev->type)
            ->enums[dim - WM_DIM_ENUM0]
            ->values[ev->enums[dim - WM_DIM_ENUM0]];
    }
}

static int ev_matches(const struct wm_event *ev, const struct wm_count_query *q)
{
    const struct tproj *p = ev->project[0] ? find_project(ev->project) : NULL;
    char buf[16];
    int y, m, d;

    if (ev->type != q->type || ev->date < q->from || ev->date > q->to)
        return 0;
    proto_date_split(ev->date, &y, &m, &d);
    for (int dim = 0; dim < WM_DIM_COUNT_; dim++) {
        const struct wm_filter *f = &q->filter[dim];
        if (!f->active)
            continue;
        switch (dim) {
        case WM_DIM_PROJECT:
        case WM_DIM_CATEGORY:
        case WM_DIM_GEMEENTE:
            if (!str_in(f, ev_dim(ev, dim, buf)))
                return 0;
            break;
        case WM_DIM_SCOPE:
            if (!p || !(f->mask & (1u << p->scope)))
                return 0;
            break;
        case WM_DIM_YEAR:
            if (!num_in(f, y))
                return 0;
            break;
        case WM_DIM_QUARTER:
            if (!num_in(f, y * 4 + (m - 1) / 3))
                return 0;
            break;
        case WM_DIM_MONTH:
            if (!num_in(f, y * 12 + m - 1))
                return 0;
            break;
        case WM_DIM_HALFYEAR:
            if (!num_in(f, y * 2 + (m > 6)))
                return 0;
            break;
        default:
            if (!(f->mask & (1u << ev->enums[dim - WM_DIM_ENUM0])))
                return 0;
        }
    }
    return 1;
}

struct bgroup {
    char vals[WM_DIM_COUNT_][24];
    uint64_t count;
    char persons[NPERSONS][WM_PERSON_MAX + 1];
    size_t npersons;
};

static size_t cmp_nby;
static int bgroup_cmp(const void *pa, const void *pb)
{
    const struct bgroup *a = pa, *b = pb;

    for (size_t i = 0; i < cmp_nby; i++) {
        int d = strcmp(a->vals[i], b->vals[i]);
        if (d)
            return d;
    }
    return 0;
}

/* What COUNT must answer, worked out from the events, into want (sorted here, not by
 * the code under test). */
static void brute_count(const struct wm_count_query *q, struct wm_count_result *want)
{
    static struct bgroup groups[4096];
    const char *vals[WM_DIM_COUNT_];
    size_t ng = 0;

    proto_count_result_reset(want, q->type, q->by, q->nby);
    for (size_t i = 0; i < nev; i++) {
        const struct wm_event *ev = &evs[i].ev;
        struct bgroup key;
        size_t g;
        char buf[16];
        if (!evs[i].live || !ev_matches(ev, q))
            continue;
        for (size_t d = 0; d < q->nby; d++)
            snprintf(key.vals[d], sizeof key.vals[d], "%s", ev_dim(ev, q->by[d], buf));
        cmp_nby = q->nby;
        for (g = 0; g < ng; g++)
            if (bgroup_cmp(&groups[g], &key) == 0)
                break;
        if (g == ng) {
            assert_true(ng < 4096);
            memcpy(groups[g].vals, key.vals, sizeof key.vals);
            groups[g].count = 0;
            groups[g].npersons = 0;
            ng++;
        }
        if (q->distinct) {
            size_t k;
            for (k = 0; k < groups[g].npersons; k++)
                if (strcmp(groups[g].persons[k], ev->person) == 0)
                    break;
            if (k < groups[g].npersons)
                continue;
            strcpy(groups[g].persons[groups[g].npersons++], ev->person);
        }
        groups[g].count++;
    }
    if (q->nby == 0) {
        assert_int_equal(proto_count_result_add(want, vals, ng ? groups[0].count : 0), WM_OK);
        return;
    }
    cmp_nby = q->nby;
    qsort(groups, ng, sizeof *groups, bgroup_cmp);
    for (size_t g = 0; g < ng; g++) {
        for (size_t d = 0; d < q->nby; d++)
            vals[d] = groups[g].vals[d];
        assert_int_equal(proto_count_result_add(want, vals, groups[g].count), WM_OK);
    }
}

/* 1 when two COUNT results hold the same rows in the same order. */
static int count_same(const struct wm_count_result *a, const struct wm_count_result *b)
{
    if (a->nrows != b->nrows || a->nby != b->nby)
        return 0;
    for (size_t i = 0; i < a->nrows; i++) {
        if (a->rows[i].count != b->rows[i].count)
            return 0;
        for (size_t d = 0; d < a->nby; d++)
            if (strcmp(proto_count_result_value(a, i, d), proto_count_result_value(b, i, d)) != 0)
                return 0;
    }
    return 1;
}

/* A COUNT result as ROW lines, for a failure message. */
static const char *count_text(const struct wm_count_result *r, struct wm_buf *b)
{
    struct wm_table t;

    wm_buf_reset(b);
    proto_count_table(r, &t);
    proto_table_rows(&t, b);
    return wm_buf_cstr(b);
}

/* ---- random queries ------------------------------------------------------------------- */

/* "oud", beta's first category, is no project's now: a filter on it is refused
 * (test_count_fixed) */
static const char *const cat_names[] = {"scholing", "wsp", "gemeente", "begeleiding", "-"};
static const char *const proj_filter_names[] = {"alpha", "beta",   "gamma", "delta",
                                                "eps",   "zeta-2", "-"};

static int32_t random_date(void)
{
    int32_t lo = day(2019, 1, 1), hi = day(2023, 1, 31);

    switch (rn(4)) {
    case 0: /* a year boundary */
        return rn(2) ? day(2019 + rn(4), 1, 1) : day(2019 + rn(4), 12, 31);
    case 1: { /* a month boundary */
        int32_t d = day(2019 + rn(4), 1 + rn(12), 1);
        return rn(2) ? d : d - 1;
    }
    default:
        return lo + rn(hi - lo + 1);
    }
}

static void random_query(struct wm_count_query *q)
{
    const struct proto_type_desc *td;
    int ndims, nfilters;

    memset(q, 0, sizeof *q);
    q->type = (uint8_t)rn(4);
    td = proto_type_desc(q->type);
    ndims = WM_DIM_ENUM0 + td->nenums;
    q->from = INT32_MIN;
    q->to = INT32_MAX;
    if (rn(10) < 7) {
        int32_t a = random_date(), b = random_date();
        if (rn(4) == 0)
            b = a + rn(70);
        q->from = a < b ? a : b;
        q->to = a < b ? b : a;
        if (rn(5) == 0)
            q->from = INT32_MIN;
        else if (rn(5) == 0)
            q->to = INT32_MAX;
    }
    q->distinct = rn(3) == 0;
    for (int n = rn(4); n > 0; n--) {
        int dim = rn(ndims), dup = 0;
        for (size_t i = 0; i < q->nby; i++)
            dup |= q->by[i] == dim;
        if (!dup)
            q->by[q->nby++] = (uint8_t)dim;
    }
    for (nfilters = rn(3); nfilters > 0; nfilters--) {
        /* the filters' values live beside the query, as they live in a request */
        static const char *strs[WM_DIM_COUNT_][2];
        static int32_t nums[WM_DIM_COUNT_][2];
        int dim = rn(ndims);
        struct wm_filter *f = &q->filter[dim];
        int nv = 1 + rn(2);
        f->active = 1;
        f->n = 0;
        f->mask = 0;
        f->str = strs[dim];
        f->num = nums[dim];
        for (int v = 0; v < nv; v++) {
            int y = 2019 + rn(4);
            switch (dim) {
            case WM_DIM_PROJECT:
                strs[dim][f->n++] = proj_filter_names[rn(7)];
                break;
            case WM_DIM_CATEGORY:
                strs[dim][f->n++] = cat_names[rn(5)];
                break;
            case WM_DIM_SCOPE:
                f->mask |= 1u << rn(2);
                break;
            case WM_DIM_GEMEENTE:
                strs[dim][f->n++] = rn(6) ? gems[rn(5)] : "eemnes";
                break;
            case WM_DIM_YEAR:
                nums[dim][f->n++] = y;
                break;
            case WM_DIM_QUARTER:
                nums[dim][f->n++] = y * 4 + rn(4);
                break;
            case WM_DIM_MONTH:
                nums[dim][f->n++] = y * 12 + rn(12);
                break;
            case WM_DIM_HALFYEAR:
                nums[dim][f->n++] = y * 2 + rn(2);
                break;
            default:
                f->mask |= 1u << rn(td->enums[dim - WM_DIM_ENUM0]->nvalues);
            }
        }
    }
}

static void test_count_random(void **state)
{
    struct wm_count_result got, want;
    struct wm_buf a, b;
    char err[256];

    (void)state;
    proto_count_result_init(&got);
    proto_count_result_init(&want);
    wm_buf_init(&a);
    wm_buf_init(&b);
    for (int i = 0; i < 1500; i++) {
        struct wm_count_query q;
        random_query(&q);
        assert_int_equal(store_count(st, &q, &got, err, sizeof err), WM_OK);
        brute_count(&q, &want);
        if (!count_same(&got, &want)) {
            fprintf(stderr, "query %d: type %d nby %zu distinct %d from %d to %d\n", i, q.type,
                    q.nby, q.distinct, q.from, q.to);
            for (int d = 0; d < WM_DIM_COUNT_; d++)
                if (q.filter[d].active)
                    fprintf(stderr, "  filter %d\n", d);
            fprintf(stderr, "got:\n%s\nwant:\n%s\n", count_text(&got, &a), count_text(&want, &b));
            fail();
        }
    }
    proto_count_result_free(&got);
    proto_count_result_free(&want);
    wm_buf_free(&a);
    wm_buf_free(&b);
}

static void test_count_fixed(void **state)
{
    struct wm_count_query q;
    struct wm_count_result r, want;
    struct wm_buf b;
    struct store_stats ss;
    char err[256];

    (void)state;
    proto_count_result_init(&r);
    proto_count_result_init(&want);
    wm_buf_init(&b);
    /* an unknown project in a filter */
    memset(&q, 0, sizeof q);
    q.type = WM_TYPE_PLACED;
    q.from = INT32_MIN;
    q.to = INT32_MAX;
    q.filter[WM_DIM_PROJECT].active = 1;
    q.filter[WM_DIM_PROJECT].n = 2;
    q.filter[WM_DIM_PROJECT].str = (const char *const[]){"alpha", "nope"};
    assert_int_equal(store_count(st, &q, &r, err, sizeof err), WM_EUNKNOWN_PROJECT);
    assert_string_equal(err, "unknown project 'nope'");
    assert_int_equal(r.nrows, 0);
    /* a near name is suggested: one edit, a swap, a third of a long name */
    q.filter[WM_DIM_PROJECT].str = (const char *const[]){"alpha", "alpah"};
    assert_int_equal(store_count(st, &q, &r, err, sizeof err), WM_EUNKNOWN_PROJECT);
    assert_string_equal(err, "unknown project 'alpah' (did you mean 'alpha'?)");
    q.filter[WM_DIM_PROJECT].str = (const char *const[]){"alpha", "zeta2"};
    assert_int_equal(store_count(st, &q, &r, err, sizeof err), WM_EUNKNOWN_PROJECT);
    assert_string_equal(err, "unknown project 'zeta2' (did you mean 'zeta-2'?)");
    q.filter[WM_DIM_PROJECT].str = (const char *const[]){"alpha", "gamma-delta"};
    assert_int_equal(store_count(st, &q, &r, err, sizeof err), WM_EUNKNOWN_PROJECT);
    assert_string_equal(err, "unknown project 'gamma-delta'");
    /* a category no project has (any more: beta left "oud") names the known ones */
    memset(&q, 0, sizeof q);
    q.type = WM_TYPE_STARTED;
    q.from = INT32_MIN;
    q.to = INT32_MAX;
    q.filter[WM_DIM_CATEGORY].active = 1;
    q.filter[WM_DIM_CATEGORY].n = 2;
    q.filter[WM_DIM_CATEGORY].str = (const char *const[]){"-", "oud"};
    assert_int_equal(store_count(st, &q, &r, err, sizeof err), WM_EINVALID);
    assert_string_equal(
        err, "category: unknown value 'oud' (allowed: begeleiding, gemeente, scholing, wsp)");
    assert_int_equal(r.nrows, 0);
    q.filter[WM_DIM_CATEGORY].n = 1;
    assert_int_equal(store_count(st, &q, &r, err, sizeof err), WM_OK);
    /* no match: exactly one row with count 0; with by: no rows; the seq of the read */
    memset(&q, 0, sizeof q);
    q.type = WM_TYPE_STARTED;
    q.from = day(2030, 1, 1);
    q.to = day(2030, 12, 31);
    assert_int_equal(store_count(st, &q, &r, err, sizeof err), WM_OK);
    assert_int_equal(r.nrows, 1);
    assert_int_equal(r.rows[0].count, 0);
    assert_int_equal(store_stats(st, &ss), WM_OK);
    assert_int_equal(r.seq, ss.last_seq);
    assert_true(r.seq > 0);
    assert_string_equal(count_text(&r, &b), "ROW count=0\n");
    q.nby = 1;
    q.by[0] = WM_DIM_PROJECT;
    assert_int_equal(store_count(st, &q, &r, err, sizeof err), WM_OK);
    assert_int_equal(r.nrows, 0);
    assert_int_equal(r.nby, 1);
    assert_int_equal(r.by[0], WM_DIM_PROJECT);
    /* every dimension of every type at once, all time, both ways */
    for (int t = 0; t < WM_TYPE_COUNT_; t++) {
        memset(&q, 0, sizeof q);
        q.type = (uint8_t)t;
        q.from = INT32_MIN;
        q.to = INT32_MAX;
        for (int d = 0; d < WM_DIM_ENUM0 + proto_type_desc(t)->nenums; d++)
            q.by[q.nby++] = (uint8_t)d;
        for (int distinct = 0; distinct < 2; distinct++) {
            q.distinct = (uint8_t)distinct;
            assert_int_equal(store_count(st, &q, &r, err, sizeof err), WM_OK);
            brute_count(&q, &want);
            assert_true(count_same(&r, &want));
        }
    }
    proto_count_result_free(&r);
    proto_count_result_free(&want);
    wm_buf_free(&b);
}

/* ---- brute-force PROGRESS ---------------------------------------------------------- */

static int64_t expected_of(int64_t target, int32_t start, int32_t end, int32_t asof)
{
    int64_t total, passed;

    if (start == WM_DATE_NONE || end == WM_DATE_NONE)
        return target;
    total = end - start + 1;
    passed = asof - start + 1;
    if (passed < 0)
        passed = 0;
    if (passed > total)
        passed = total;
    /* round(target * elapsed): halves are exact in double at these sizes */
    return (int64_t)((double)(target * passed) / (double)total + 0.5);
}

/* One PROGRESS row as the brute force works it out (its own arithmetic, in doubles). */
struct brow {
    const char *project, *category;
    int indicator;
    uint64_t actual;
    int64_t target, expected;
    const char *status;
};

static void brute_row(struct brow *out, const char *p, const char *c, int ind, uint64_t actual,
                      int64_t target, int32_t start, int32_t end, int32_t asof)
{
    out->project = p;
    out->category = c;
    out->indicator = ind;
    out->actual = actual;
    out->target = target < 0 ? -1 : target;
    out->expected = target < 0 ? -1 : expected_of(target, start, end, asof);
    out->status = target < 0                                      ? "none"
                  : (double)actual >= (double)out->expected       ? "green"
                  : (double)actual >= 0.8 * (double)out->expected ? "orange"
                                                                  : "red";
}

static int in_window(const struct tproj *p, int32_t d, int32_t asof)
{
    return (p->start == WM_DATE_NONE || d >= p->start) && d <= asof;
}

/* The project's three actuals. */
static void brute_actuals(const struct tproj *p, int32_t asof, uint64_t act[3])
{
    char seen[NPERSONS] = {0};

    act[0] = act[1] = act[2] = 0;
    for (size_t i = 0; i < nev; i++) {
        const struct wm_event *ev = &evs[i].ev;
        if (!evs[i].live || strcmp(ev->project, p->name) != 0 || !in_window(p, ev->date, asof))
            continue;
        if (ev->type == WM_TYPE_STARTED)
            act[0]++;
        if (ev->type == WM_TYPE_COMPLETED && ev->enums[0] <= 2)
            act[1]++;
        if (ev->type == WM_TYPE_PLACED && !seen[atoi(ev->person + 7)]) {
            seen[atoi(ev->person + 7)] = 1;
            act[2]++;
        }
    }
}

static int tproj_cmp(const void *pa, const void *pb)
{
    const struct tproj *a = *(const struct tproj *const *)pa, *b = *(const struct tproj *const *)pb;
    int d = strcmp(a->category, b->category);

    return d ? d : strcmp(a->name, b->name);
}

/* The rows PROGRESS must answer into out (at most 21), their number into *n. */
static void brute_progress(const struct wm_progress_query *q, struct brow *out, size_t *n)
{
    const struct tproj *sel[6];
    size_t nsel = 0;
    uint64_t prog[3] = {0, 0, 0};
    char seen[NPERSONS] = {0};

    for (int i = 0; i < 6; i++)
        if ((!q->project || strcmp(q->project, projects[i].name) == 0) &&
            (!q->category || strcmp(q->category, projects[i].category) == 0))
            sel[nsel++] = &projects[i];
    qsort(sel, nsel, sizeof *sel, tproj_cmp);
    *n = 0;
    for (size_t i = 0; i < nsel; i++) {
        uint64_t act[3];
        brute_actuals(sel[i], q->asof, act);
        for (int k = 0; k < 3; k++)
            brute_row(&out[(*n)++], sel[i]->name, sel[i]->category, k, act[k], sel[i]->target[k],
                      sel[i]->start, sel[i]->end, q->asof);
    }
    for (int i = 0; i < 6; i++) {
        uint64_t act[3];
        if (projects[i].scope != WM_SCOPE_REGIONAL)
            continue;
        brute_actuals(&projects[i], q->asof, act);
        prog[0] += act[0];
        prog[1] += act[1];
    }
    for (size_t i = 0; i < nev; i++) {
        const struct wm_event *ev = &evs[i].ev;
        const struct tproj *p = ev->project[0] ? find_project(ev->project) : NULL;
        if (evs[i].live && ev->type == WM_TYPE_PLACED && p && p->scope == WM_SCOPE_REGIONAL &&
            in_window(p, ev->date, q->asof) && !seen[atoi(ev->person + 7)]) {
            seen[atoi(ev->person + 7)] = 1;
            prog[2]++;
        }
    }
    for (int k = 0; k < 3; k++)
        brute_row(&out[(*n)++], "*", "*", k, prog[k], program.target[k], program.start, program.end,
                  q->asof);
}

/* 1 when the store's PROGRESS rows are the brute force's. */
static int progress_same(const struct wm_progress_result *got, const struct brow *want, size_t n)
{
    if (got->nrows != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const struct wm_progress_row *g = &got->rows[i];
        if (strcmp(g->project, want[i].project) != 0 ||
            strcmp(g->category, want[i].category) != 0 || g->indicator != want[i].indicator ||
            g->actual != want[i].actual || g->target != want[i].target ||
            g->expected != want[i].expected ||
            strcmp(proto_status_name(g->status), want[i].status) != 0)
            return 0;
    }
    return 1;
}

/* Both sides of a PROGRESS comparison, for a failure message. */
static void progress_dump(const struct wm_progress_result *got, const struct brow *want, size_t n)
{
    struct wm_table t;
    struct wm_buf b;

    wm_buf_init(&b);
    proto_progress_table(got, &t);
    proto_table_rows(&t, &b);
    fprintf(stderr, "got:\n%s\nwant:\n", wm_buf_cstr(&b));
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s %s %d actual=%llu target=%lld expected=%lld %s\n", want[i].project,
                want[i].category, want[i].indicator, (unsigned long long)want[i].actual,
                (long long)want[i].target, (long long)want[i].expected, want[i].status);
    wm_buf_free(&b);
}

static void test_progress(void **state)
{
    static const char *const cats[] = {"scholing", "wsp", "gemeente"};
    struct wm_progress_result got;
    struct brow want[21];
    size_t n;
    char err[256];

    (void)state;
    proto_progress_result_init(&got);
    for (int i = 0; i < 300; i++) {
        struct wm_progress_query q = {0};
        q.asof = rn(3) ? day(2019, 5, 1) + rn(day(2023, 2, 1) - day(2019, 5, 1)) : random_date();
        if (rn(4) == 0)
            q.category = cats[rn(3)];
        if (rn(4) == 0)
            q.project = projects[rn(6)].name;
        assert_int_equal(store_progress(st, &q, &got, err, sizeof err), WM_OK);
        brute_progress(&q, want, &n);
        if (!progress_same(&got, want, n)) {
            fprintf(stderr, "asof %d category %s project %s\n", q.asof,
                    q.category ? q.category : "", q.project ? q.project : "");
            progress_dump(&got, want, n);
            fail();
        }
    }
    {
        struct wm_progress_query q = {0};
        q.asof = day(2022, 1, 1);
        q.project = "nope";
        assert_int_equal(store_progress(st, &q, &got, err, sizeof err), WM_EUNKNOWN_PROJECT);
        assert_int_equal(got.nrows, 0);
        q.project = "detla";
        assert_int_equal(store_progress(st, &q, &got, err, sizeof err), WM_EUNKNOWN_PROJECT);
        assert_string_equal(err, "unknown project 'detla' (did you mean 'delta'?)");
        q.project = NULL;
        q.category = "nothing";
        assert_int_equal(store_progress(st, &q, &got, err, sizeof err), WM_EINVALID);
        assert_string_equal(
            err,
            "category: unknown value 'nothing' (allowed: begeleiding, gemeente, scholing, wsp)");
        assert_int_equal(got.nrows, 0);
    }
    proto_progress_result_free(&got);
}

/* Totals agree with the events. */
static void test_totals(void **state)
{
    struct wm_totals t;
    uint64_t n[4] = {0, 0, 0, 0}, persons = 0;
    char seen[NPERSONS] = {0};

    (void)state;
    for (size_t i = 0; i < nev; i++) {
        const struct wm_event *ev = &evs[i].ev;
        if (!evs[i].live)
            continue;
        if (ev->type != WM_TYPE_COMPLETED || ev->enums[0] <= 2)
            n[ev->type]++;
        if (ev->type == WM_TYPE_PLACED && !seen[atoi(ev->person + 7)]) {
            seen[atoi(ev->person + 7)] = 1;
            persons++;
        }
    }
    assert_int_equal(store_totals(st, &t), WM_OK);
    assert_int_equal(t.started, n[0]);
    assert_int_equal(t.completed, n[1]);
    assert_int_equal(t.placed, n[2]);
    assert_int_equal(t.outflow, n[3]);
    assert_int_equal(t.placed_persons, persons);
}

/* Each gemeente's totals agree with its events, they add up to the store's, and a
 * gemeente without events (or unknown) has zeros, all at the store's seq. */
static void test_totals_gemeenten(void **state)
{
    const char *names[7] = {"blaricum", "hilversum", "huizen", "weesp",
                            "laren",    "eemnes",    "nergens"};
    struct wm_totals got[7], all;
    uint64_t want[7][5], seq, sum[5] = {0, 0, 0, 0, 0};
    char seen[7][NPERSONS], err[256];

    (void)state;
    memset(want, 0, sizeof want);
    memset(seen, 0, sizeof seen);
    for (size_t i = 0; i < nev; i++) {
        const struct wm_event *ev = &evs[i].ev;
        size_t g = 0;
        if (!evs[i].live)
            continue;
        while (strcmp(names[g], ev->gemeente) != 0)
            g++;
        if (ev->type == WM_TYPE_PLACED && !seen[g][atoi(ev->person + 7)]) {
            seen[g][atoi(ev->person + 7)] = 1;
            want[g][3]++;
        }
        if (ev->type != WM_TYPE_COMPLETED || ev->enums[0] <= 2)
            want[g][ev->type == WM_TYPE_OUTFLOW ? 4 : ev->type]++;
    }
    assert_int_equal(store_totals(st, &all), WM_OK);
    assert_int_equal(store_totals_gemeenten(st, names, 7, got, &seq, err, sizeof err), WM_OK);
    assert_int_equal(seq, all.seq);
    for (size_t g = 0; g < 7; g++) {
        const uint64_t v[5] = {got[g].started, got[g].completed, got[g].placed,
                               got[g].placed_persons, got[g].outflow};
        assert_int_equal(got[g].seq, all.seq);
        assert_int_equal(got[g].suppressed, 0);
        for (int f = 0; f < 5; f++) {
            assert_int_equal(v[f], want[g][f]);
            sum[f] += v[f];
        }
    }
    assert_int_equal(want[5][0] + want[6][0] + want[6][3], 0);
    assert_true(want[1][0] > 0 && want[1][3] > 0);
    assert_int_equal(sum[0], all.started);
    assert_int_equal(sum[1], all.completed);
    assert_int_equal(sum[2], all.placed);
    assert_int_equal(sum[4], all.outflow);
    /* a person placed in two gemeenten counts in each, once in the store's */
    assert_true(sum[3] >= all.placed_persons);
    /* none asked: nothing read but the seq */
    assert_int_equal(store_totals_gemeenten(st, NULL, 0, got, &seq, err, sizeof err), WM_OK);
    assert_int_equal(seq, all.seq);
}

static void compare_progress(int n)
{
    static const char *const cats[] = {"scholing", "wsp", "gemeente"};
    struct wm_progress_result got;
    struct brow want[21];
    size_t nw;
    char err[256];

    proto_progress_result_init(&got);
    for (int i = 0; i < n; i++) {
        struct wm_progress_query q = {0};
        q.asof = day(2019, 5, 1) + rn(day(2023, 2, 1) - day(2019, 5, 1));
        if (rn(4) == 0)
            q.category = cats[rn(3)];
        assert_int_equal(store_progress(st, &q, &got, err, sizeof err), WM_OK);
        brute_progress(&q, want, &nw);
        if (!progress_same(&got, want, nw)) {
            fprintf(stderr, "asof %d\n", q.asof);
            progress_dump(&got, want, nw);
            fail();
        }
    }
    proto_progress_result_free(&got);
}

/* Change project i's start and scope in the store and in the brute-force registry. */
static void update_project(struct store_item *it, int i, int32_t start, int scope)
{
    memset(it, 0, sizeof *it);
    it->op = STORE_OP_PROJECT;
    snprintf(it->u.project.name, sizeof it->u.project.name, "%s", projects[i].name);
    it->u.project.start = start;
    it->u.project.scope = (uint8_t)scope;
    it->u.project.set_mask = WM_PSET_START | WM_PSET_SCOPE;
    projects[i].start = start;
    projects[i].scope = scope;
}

/* PROGRESS's program count without placements before any start (its fast path), through
 * scope changes and later events; then with them again. Runs last: it changes the data. */
static void test_progress_rescoped(void **state)
{
    struct store_item *items = calloc(200, sizeof *items);

    (void)state;
    for (int i = 0; i < 6; i++)
        update_project(&items[i], i, day(2019, 1, 1), projects[i].scope);
    apply_ok(items, 6);
    compare_progress(100);
    /* delta becomes regional, alpha local: the program's counters follow */
    update_project(&items[0], 3, day(2019, 1, 1), WM_SCOPE_REGIONAL);
    update_project(&items[1], 0, day(2019, 1, 1), WM_SCOPE_LOCAL);
    apply_ok(items, 2);
    compare_progress(100);
    add_events(items, 800);
    compare_progress(100);
    update_project(&items[0], 0, day(2019, 1, 1), WM_SCOPE_REGIONAL);
    update_project(&items[1], 5, day(2019, 1, 1), WM_SCOPE_LOCAL);
    apply_ok(items, 2);
    add_events(items, 200);
    compare_progress(100);
    /* a start after some placements: the exact slow path */
    update_project(&items[0], 2, day(2021, 3, 1), WM_SCOPE_REGIONAL);
    apply_ok(items, 1);
    compare_progress(100);
    free(items);
}

/* Close and reopen the store: the person layer is rebuilt from the events, and every
 * answer stays what the brute force says. */
static void test_reopen(void **state)
{
    struct store_options o = {0};
    char err[256];

    store_close(st);
    st = NULL;
    o.dir = dir;
    o.gemeenten = proto_default_gemeenten;
    o.n_gemeenten = 8;
    assert_int_equal(store_open(&o, &st, err, sizeof err), WM_OK);
    test_count_random(state);
    compare_progress(100);
    test_totals(state);
    test_totals_gemeenten(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_fixed),
        cmocka_unit_test(test_count_random),
        cmocka_unit_test(test_progress),
        cmocka_unit_test(test_totals),
        cmocka_unit_test(test_progress_rescoped),
        cmocka_unit_test(test_totals),
        cmocka_unit_test(test_totals_gemeenten),
        cmocka_unit_test(test_count_random),
        cmocka_unit_test(test_reopen),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
