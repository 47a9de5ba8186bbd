/*
 * Benchmark of storage: loads N generated events through store_apply in batches of
 * 1000 and times COUNT and PROGRESS. Not a test; CMake builds it as build/bench_store:
 *
 *   build/bench_store [N=1000000] [dir]   (removed after, unless WM_BENCH_KEEP is set)
 *
 * The events look like the region's: 27 projects in 6 categories, 8 gemeenten, four
 * years in roughly chronological order (as they arrive, up to 30 days late), about 4
 * events per person, clustered in time, most of them in one home project, every type,
 * ids sequential per principal, person pseudonyms random hex, and 1% retractions of
 * recent events. WM_BENCH_UNIFORM=1 draws persons uniformly over the whole run instead;
 * WM_BENCH_BATCH=n loads in batches of n instead of 1000. Last, the store is closed
 * (which writes the memory part's checkpoint, timed) and opened again (which loads it,
 * timed). With WM_BENCH_KEEP set the store stays, and `build/bench_store 0 DIR` opens
 * such a kept store and queries it, loading nothing; with WM_BENCH_NOCKPT=1 every open
 * rebuilds the memory part from the events instead: the rebuild alone, for comparing
 * builds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

#define NPROJ 27
#define REPS 41

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t rnd(void)
{
    rng = splitmix(rng);
    return rng;
}

static int rn(int n)
{
    return (int)(rnd() % (uint64_t)n);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static const char *const cats[6] = {"doorstroombanen", "scholing",    "begeleiding", "wsp",
                                    "gemeentelijk",    "interventies"};
static char pnames[NPROJ][32];
static int uniform;
static size_t batch = 1000;

static void die(const char *what, int ret, const char *err)
{
    fprintf(stderr, "%s: %s %s\n", what, wm_strerror(ret), err ? err : "");
    exit(1);
}

static void setup_registry(struct store *s)
{
    struct store_item it[NPROJ + 1];

    memset(it, 0, sizeof it);
    for (int i = 0; i < NPROJ; i++) {
        struct wm_project *p = &it[i].u.project;
        it[i].op = STORE_OP_PROJECT;
        snprintf(pnames[i], sizeof pnames[i], "project-%02d", i);
        snprintf(p->name, sizeof p->name, "%s", pnames[i]);
        snprintf(p->category, sizeof p->category, "%s", cats[i % 6]);
        p->scope = i % 6 == 4 ? WM_SCOPE_LOCAL : WM_SCOPE_REGIONAL;
        p->start = proto_date_from_ymd(2020 + i % 3 / 2, i % 3 == 1 ? 7 : 1, 1);
        p->end = proto_date_from_ymd(2023, 12, 31);
        p->target[0] = 200 + i;
        p->target[1] = 100 + i;
        p->target[2] = 50 + i;
        p->set_mask = WM_PSET_CATEGORY | WM_PSET_SCOPE | WM_PSET_START | WM_PSET_END |
                      WM_PSET_TARGET_STARTED | WM_PSET_TARGET_COMPLETED | WM_PSET_TARGET_PLACED;
    }
    it[NPROJ].op = STORE_OP_PROGRAM;
    snprintf(it[NPROJ].u.project.name, sizeof it[NPROJ].u.project.name, "*");
    it[NPROJ].u.project.start = proto_date_from_ymd(2020, 1, 1);
    it[NPROJ].u.project.end = proto_date_from_ymd(2023, 12, 31);
    it[NPROJ].u.project.target[0] = 1200;
    it[NPROJ].u.project.target[1] = 860;
    it[NPROJ].u.project.target[2] = 500;
    it[NPROJ].u.project.set_mask = WM_PSET_START | WM_PSET_END | WM_PSET_TARGET_STARTED |
                                   WM_PSET_TARGET_COMPLETED | WM_PSET_TARGET_PLACED;
    if (store_apply(s, it, NPROJ + 1) != WM_OK)
        die("registry", it[0].result, it[0].err);
}

static void make_event(struct wm_event *ev, uint64_t i, uint64_t n)
{
    static const int type_pct[4] = {35, 25, 20, 20};
    const struct proto_type_desc *td;
    int32_t d0 = proto_date_from_ymd(2020, 1, 1), span = proto_date_from_ymd(2023, 12, 31) - d0;
    /* A person's events cluster in time (a trajectory lasts months): person k first
     * appears around event 4k and stays active for about 1/16 of the run. With
     * WM_BENCH_UNIFORM set, every event draws from all persons (the worst case). */
    uint64_t np = n / 4 + 1, w = np / 16 + 1;
    uint64_t person = uniform ? rnd() % np : i * np / n + w - 1 - rnd() % w;
    uint64_t h = splitmix(person);
    int r = rn(100), t = 0, g = (int)(h % 8);

    memset(ev, 0, sizeof *ev);
    while (r >= type_pct[t]) {
        r -= type_pct[t];
        t++;
    }
    ev->type = (uint8_t)t;
    td = proto_type_desc(t);
    ev->date = d0 + (int32_t)((double)span * (double)i / (double)n) - rn(30);
    if (ev->date < d0)
        ev->date = d0;
    ev->months = ev->hours = -1;
    for (int k = 0; k < td->nenums; k++)
        ev->enums[k] = (uint8_t)rn(td->enums[k]->nvalues);
    snprintf(ev->person, sizeof ev->person, "%016llx%016llx", (unsigned long long)h,
             (unsigned long long)splitmix(h));
    snprintf(ev->gemeente, sizeof ev->gemeente, "%s", proto_default_gemeenten[g]);
    if (t != WM_TYPE_OUTFLOW || rn(2)) {
        int p = rn(100) < 85 ? (int)((h >> 8) % NPROJ) : rn(NPROJ);
        /* a project's events fall in its period: before a later start, the person was
         * in the sibling project that started in 2020 */
        if (ev->date < proto_date_from_ymd(2020 + p % 3 / 2, p % 3 == 1 ? 7 : 1, 1))
            p -= p % 3;
        snprintf(ev->project, sizeof ev->project, "%s", pnames[p]);
    }
    snprintf(ev->principal, sizeof ev->principal, "%s", proto_default_gemeenten[g]);
    snprintf(ev->id, sizeof ev->id, "%s-%llu", ev->principal, (unsigned long long)i);
}

static double load(struct store *s, uint64_t n, double *lat)
{
    struct store_item *it = calloc(batch, sizeof *it);
    uint64_t i = 0, nb = 0;
    double t0 = now_ms();

    while (i < n) {
        size_t k = 0;
        for (; k < batch && i < n; k++, i++) {
            memset(&it[k], 0, offsetof(struct store_item, u));
            if (i > 1000 && rn(100) == 0) {
                /* retract a recent event by its id (it may be already retracted or be
                 * another principal's: then the item fails, as it would in life) */
                uint64_t t = i - 1 - (uint64_t)rn(900);
                struct wm_retract *rt = &it[k].u.retract;
                int g = rn(8);
                it[k].op = STORE_OP_RETRACT;
                memset(rt, 0, sizeof *rt);
                snprintf(rt->principal, sizeof rt->principal, "%s", proto_default_gemeenten[g]);
                snprintf(rt->id, sizeof rt->id, "rt-%llu", (unsigned long long)i);
                snprintf(rt->ref, sizeof rt->ref, "%s-%llu", rt->principal, (unsigned long long)t);
            } else {
                it[k].op = STORE_OP_EVENT;
                make_event(&it[k].u.event, i, n);
            }
        }
        {
            double b0 = now_ms();
            int ret = store_apply(s, it, k);
            if (ret != WM_OK)
                die("store_apply", ret, it[k - 1].err);
            lat[nb++] = now_ms() - b0;
        }
    }
    free(it);
    return now_ms() - t0;
}

/* The typed answers a query fills, reused from run to run as the daemon does. */
struct answers {
    struct wm_count_result count;
    struct wm_progress_result progress;
};

typedef int (*query_fn)(struct store *s, int rep, struct answers *a, size_t *nrows);

static int run_count(struct store *s, const struct wm_count_query *q, struct answers *a,
                     size_t *nrows)
{
    char err[200];
    int ret = store_count(s, q, &a->count, err, sizeof err);

    *nrows = a->count.nrows;
    return ret;
}

static int q_all(struct store *s, int rep, struct answers *a, size_t *nrows)
{
    struct wm_count_query q;
    memset(&q, 0, sizeof q);
    q.type = (uint8_t)(rep % 4);
    q.from = INT32_MIN;
    q.to = INT32_MAX;
    return run_count(s, &q, a, nrows);
}

static int q_edges(struct store *s, int rep, struct answers *a, size_t *nrows)
{
    struct wm_count_query q;
    memset(&q, 0, sizeof q);
    q.type = WM_TYPE_STARTED;
    q.from = proto_date_from_ymd(2020, 1, 1) + 17 + rep * 7;
    q.to = proto_date_from_ymd(2023, 6, 1) + 13 + rep * 3;
    return run_count(s, &q, a, nrows);
}

static int q_proj_gem(struct store *s, int rep, struct answers *a, size_t *nrows)
{
    struct wm_count_query q;
    (void)rep;
    memset(&q, 0, sizeof q);
    q.type = WM_TYPE_PLACED;
    q.from = INT32_MIN;
    q.to = INT32_MAX;
    q.nby = 2;
    q.by[0] = WM_DIM_PROJECT;
    q.by[1] = WM_DIM_GEMEENTE;
    return run_count(s, &q, a, nrows);
}

static int q_month(struct store *s, int rep, struct answers *a, size_t *nrows)
{
    struct wm_count_query q;
    memset(&q, 0, sizeof q);
    q.type = WM_TYPE_STARTED;
    q.from = proto_date_from_ymd(2020 + rep % 4, 1, 1);
    q.to = proto_date_from_ymd(2020 + rep % 4, 12, 31);
    q.nby = 1;
    q.by[0] = WM_DIM_MONTH;
    return run_count(s, &q, a, nrows);
}

static int q_distinct(struct store *s, int rep, struct answers *a, size_t *nrows)
{
    struct wm_count_query q;
    memset(&q, 0, sizeof q);
    q.type = WM_TYPE_PLACED;
    q.from = proto_date_from_ymd(2020 + rep % 4, 1, 1);
    q.to = proto_date_from_ymd(2020 + rep % 4, 12, 31);
    q.distinct = 1;
    q.nby = 1;
    q.by[0] = WM_DIM_PROJECT;
    return run_count(s, &q, a, nrows);
}

static int q_progress(struct store *s, int rep, struct answers *a, size_t *nrows)
{
    struct wm_progress_query q = {0};
    char err[200];
    int ret;
    q.asof = proto_date_from_ymd(2023, 12, 31) - rep;
    ret = store_progress(s, &q, &a->progress, err, sizeof err);
    *nrows = a->progress.nrows;
    return ret;
}

/* The live totals of every gemeente (WATCH and /v1/totals for principals bound to one):
 * what one push costs while a bound subscriber is there. */
static int q_totals_gemeenten(struct store *s, int rep, struct answers *a, size_t *nrows)
{
    struct wm_totals t[8];
    uint64_t seq;
    char err[200];

    (void)rep;
    (void)a;
    *nrows = 8;
    return store_totals_gemeenten(s, proto_default_gemeenten, 8, t, &seq, err, sizeof err);
}

/* Bytes this process has written with write(2) and friends (LMDB's page writes). */
static double written_mib(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    unsigned long long v = 0;

    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "wchar: %llu", &v) == 1)
            break;
    if (f)
        fclose(f);
    return v / 1048576.0;
}

/* The first run (cold: pages not yet mapped by this process) apart, then REPS runs. */
static void time_query(struct store *s, const char *name, query_fn fn)
{
    double t[REPS], first;
    struct answers a;
    size_t nrows = 0;

    proto_count_result_init(&a.count);
    proto_progress_result_init(&a.progress);
    {
        double t0 = now_ms();
        if (fn(s, 0, &a, &nrows) != WM_OK)
            die(name, WM_EIO, NULL);
        first = now_ms() - t0;
    }
    for (int r = 0; r < REPS; r++) {
        double t0 = now_ms();
        int ret;
        ret = fn(s, r, &a, &nrows);
        t[r] = now_ms() - t0;
        if (ret != WM_OK)
            die(name, ret, NULL);
    }
    qsort(t, REPS, sizeof *t, cmp_double);
    printf("%-44s median %8.3f ms  p99 %8.3f ms  first %8.3f ms  (%zu rows)\n", name, t[REPS / 2],
           t[REPS * 99 / 100], first, nrows);
    proto_count_result_free(&a.count);
    proto_progress_result_free(&a.progress);
}

/* Load n events into the new store s and report the load. */
static void load_and_report(struct store *s, uint64_t n)
{
    size_t nb = (n + batch - 1) / batch;
    double *lat = calloc(nb, sizeof *lat), ms, wr;
    struct store_stats st;
    struct wm_totals tot;

    if (!lat)
        die("calloc", WM_ENOMEM, NULL);
    setup_registry(s);
    wr = written_mib();
    ms = load(s, n, lat);
    wr = written_mib() - wr;
    qsort(lat, nb, sizeof *lat, cmp_double);
    store_stats(s, &st);
    store_totals(s, &tot);
    printf("loaded %llu items in %.1f s: %.0f events/s; batch of %d: median %.2f ms, p99 %.2f "
           "ms\n",
           (unsigned long long)n, ms / 1e3, n / (ms / 1e3), (int)batch, lat[nb / 2],
           lat[nb * 99 / 100]);
    printf("written by commits: %.0f MiB, %.1f KiB per event\n", wr, wr * 1024 / (double)n);
    printf("events %llu retracted %llu, placed persons %llu, db %.0f MiB, map %.0f MiB (%llu "
           "grows)\n",
           (unsigned long long)st.events, (unsigned long long)st.retracted,
           (unsigned long long)tot.placed_persons, st.db_bytes / 1048576.0,
           st.map_bytes / 1048576.0, (unsigned long long)st.map_grows);
    free(lat);
}

/* Open the store (which loads its memory part from the checkpoint, or rebuilds it from
 * the events, on one thread) and report how long that took. */
static struct store *open_and_report(const struct store_options *o)
{
    struct store_stats st;
    struct store *s;
    char err[256];
    double ms = now_ms();
    int ret = store_open(o, &s, err, sizeof err);

    if (ret != WM_OK)
        die("store_open", ret, err);
    ms = now_ms() - ms;
    store_stats(s, &st);
    printf("opened in %.2f s: memory part %s in %.2f s, %.1f MiB, %llu cells\n", ms / 1e3,
           st.memory_source, st.memory_load_ms / 1e3, st.memory_bytes / 1048576.0,
           (unsigned long long)st.memory_cells);
    return s;
}

/* Close the store (which writes the memory part's checkpoint) and report how long that
 * took. */
static void close_and_report(struct store *s)
{
    double ms = now_ms();

    store_close(s);
    printf("closed in %.2f s (the memory part's checkpoint written)\n", (now_ms() - ms) / 1e3);
}

static void time_queries(struct store *s)
{
    time_query(s, "COUNT <type> (all time)", q_all);
    time_query(s, "COUNT started from/to mid-month edges", q_edges);
    time_query(s, "COUNT placed by=project,gemeente", q_proj_gem);
    time_query(s, "COUNT started by=month, one year", q_month);
    time_query(s, "COUNT placed distinct by=project, one year", q_distinct);
    time_query(s, "PROGRESS", q_progress);
    time_query(s, "totals of every gemeente (bound WATCH)", q_totals_gemeenten);
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    char dir[256], cmd[300], err[256];
    struct store_options o = {0};
    struct store *s;
    int ret;

    uniform = getenv("WM_BENCH_UNIFORM") != NULL;
    if (getenv("WM_BENCH_BATCH"))
        batch = strtoul(getenv("WM_BENCH_BATCH"), NULL, 10);
    if (batch == 0)
        batch = 1000;
    if (argc > 2) {
        snprintf(dir, sizeof dir, "%s", argv[2]);
    } else if (n == 0) {
        fprintf(stderr, "bench_store 0 DIR: name the kept store to open\n");
        return 2;
    } else {
        /* mkdtemp's template: the prefix and six X */
        snprintf(dir, sizeof dir, "/tmp/wm-bench-%6s", "");
        memset(dir + strlen(dir) - 6, 'X', 6);
        if (!mkdtemp(dir))
            die("mkdtemp", WM_EIO, dir);
    }
    o.dir = dir;
    o.gemeenten = proto_default_gemeenten;
    o.n_gemeenten = 8;
    /* WM_BENCH_NOCKPT=1: no checkpoint, every open rebuilds (the rebuild timed alone) */
    if (getenv("WM_BENCH_NOCKPT"))
        o.checkpoint_every = STORE_CKPT_OFF;
    if (n == 0) {
        /* a kept store: open it (timed) and query it, nothing more */
        s = open_and_report(&o);
        time_queries(s);
        close_and_report(s);
        return 0;
    }
    ret = store_open(&o, &s, err, sizeof err);
    if (ret != WM_OK)
        die("store_open", ret, err);
    load_and_report(s, n);
    time_queries(s);
    close_and_report(s);
    s = open_and_report(&o);
    time_query(s, "COUNT mid-month edges, after reopening", q_edges);
    close_and_report(s);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (getenv("WM_BENCH_KEEP"))
        printf("kept %s\n", dir);
    else if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
