/*
 * werkmonitor bench: a load generator in the spirit of redis-benchmark. -c threads,
 * each with its own connection, keep -P EVENT requests in flight until -n events in
 * all are acknowledged; a realistic mix (four types, the region's 27 projects, eight
 * gemeenten, repeat persons, four years of dates). Reports durable events/s and the
 * acknowledgement latency from a log-linear histogram.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "client.h"

static const char bench_help[] =
    "Usage: werkmonitor bench [-c CLIENTS] [-n EVENTS] [-P PIPELINE] [--seed N]\n"
    "                         [--days N] [--no-setup]\n"
    "\n"
    "Load the server with EVENT requests and report durable events per second and the\n"
    "acknowledgement latency (p50, p99, max; from sending a request to its OK/DUP).\n"
    "  -c, --clients N    connections, one thread each (default 8)\n"
    "  -n, --events N     events in all (default 100000)\n"
    "  -P, --pipeline N   requests in flight per connection (default 64)\n"
    "  --seed N           seed of the event mix (default: from the clock); the ids are\n"
    "                     new on every run, so every event is stored\n"
    "  --days N           spread the event dates over the last N days of 2023 (default\n"
    "                     30, a live month as the WSP and gemeenten send it; 1461 is a\n"
    "                     four-year backfill, the slowest case for the rollups)\n"
    "  --no-setup         do not create the benchmark's projects first (they must exist)\n"
    "\n"
    "The mix: started 40%, completed 25%, placed 20%, outflow 15%; 27 projects in six\n"
    "categories (created with PROJECT when missing, which needs an admin token), the\n"
    "eight gemeenten of the region, persons drawn from a pool so they repeat, dates in\n"
    "the last --days days of 2023. Run it against a test server: it writes real events.\n";

enum { OPT_CLIENTS = 1, OPT_EVENTS, OPT_PIPELINE, OPT_SEED, OPT_DAYS, OPT_NO_SETUP };

struct bench_project {
    const char *name, *category, *scope, *title;
};

/* Projects shaped like the region's (data/gooi-en-vechtstreek.wm): six categories,
 * municipal ones local. */
static const struct bench_project projects[] = {
    {"doorstroombanen-zorg", "doorstroombanen", "regional", "Doorstroombanen zorg"},
    {"doorstroombanen-groen", "doorstroombanen", "regional", "Doorstroombanen groen"},
    {"doorstroombanen-techniek", "doorstroombanen", "regional", "Doorstroombanen techniek"},
    {"zorgstart", "scholing", "regional", "ZorgStart"},
    {"wijkleerbedrijf", "scholing", "regional", "Wijkleerbedrijf"},
    {"taal-werkt", "scholing", "regional", "Taal werkt"},
    {"techniek-academie", "scholing", "regional", "Techniek academie"},
    {"bouwplaats-opleiding", "scholing", "regional", "Opleiding op de bouwplaats"},
    {"horeca-leerroute", "scholing", "regional", "Leerroute horeca"},
    {"ggz-traject", "begeleiding", "regional", "Werk en psychische klachten"},
    {"jongeren-specialist", "begeleiding", "regional", "Jongerenspecialist"},
    {"statushouders-werk", "begeleiding", "regional", "Statushouders aan het werk"},
    {"vijftig-plus", "begeleiding", "regional", "50-plussers"},
    {"arbeidsfit", "begeleiding", "regional", "Arbeidsfit"},
    {"gvw-werkt-door", "wsp", "regional", "Gooi en Vechtstreek Werkt Door"},
    {"werkgeversservicepunt", "wsp", "regional", "Werkgeversservicepunt"},
    {"banenmarkt", "wsp", "regional", "Banenmarkt"},
    {"leerwerkbanen", "wsp", "regional", "Leerwerkbanen"},
    {"hilversum-werkt", "gemeentelijk", "local", "Hilversum werkt"},
    {"huizen-aan-de-slag", "gemeentelijk", "local", "Huizen aan de slag"},
    {"gooise-meren-perspectief", "gemeentelijk", "local", "Perspectief Gooise Meren"},
    {"weesp-werkt", "gemeentelijk", "local", "Weesp werkt"},
    {"wijdemeren-werk", "gemeentelijk", "local", "Werk in Wijdemeren"},
    {"innovatiefonds", "interventies", "regional", "Innovatiefonds"},
    {"jongerenvouchers", "interventies", "regional", "Jongerenvouchers"},
    {"schoon-thuis", "interventies", "regional", "Schoon Thuis"},
    {"mobiliteitsbudget", "interventies", "regional", "Mobiliteitsbudget"},
};
#define NPROJECTS (sizeof(projects) / sizeof(projects[0]))

static const char *const gemeenten[] = {"blaricum", "eemnes", "gooise-meren", "hilversum",
                                        "huizen",   "laren",  "weesp",        "wijdemeren"};
static const char *const kinds[] = {"overig", "scholing", "begeleiding", "werkervaring", "taal"};
static const char *const doelgroepen[] = {"overig", "jongeren",         "statushouders",
                                          "50plus", "arbeidsbeperking", "ggz"};
static const char *const benefits[] = {"onbekend", "pw", "ww", "wajong", "wia", "wao", "geen"};
static const char *const results[] = {"diploma", "certificaat", "afgerond", "uitgevallen"};
static const char *const sectors[] = {"zorg",   "techniek", "bouw",      "ict",    "media",
                                      "horeca", "vervoer",  "onderwijs", "handel", "overig"};
static const char *const out_benefits[] = {"pw", "ww", "wajong", "wia", "wao"};
static const char *const reasons[] = {"werk", "scholing", "verhuizing", "overig"};
#define PICK(rng, arr) (arr[bench_rand(rng) % (sizeof(arr) / sizeof(arr[0]))])

/* Latency histogram: 1 us resolution below 1024 us, then 64 steps per power of two
 * (under 2% error), up to 2^40 us. */
#define HIST_LINEAR 1024
#define HIST_SUB 64
#define HIST_BUCKETS (HIST_LINEAR + 31 * HIST_SUB)

static size_t hist_index(uint64_t us)
{
    int e;

    if (us < HIST_LINEAR)
        return (size_t)us;
    e = 63 - __builtin_clzll(us); /* >= 10 */
    if (e > 40)
        return HIST_BUCKETS - 1;
    return HIST_LINEAR + (size_t)(e - 10) * HIST_SUB + ((us >> (e - 6)) & (HIST_SUB - 1));
}

/* The middle of a bucket, in us. */
static double hist_value(size_t i)
{
    size_t e, sub;
    double lo, width;

    if (i < HIST_LINEAR)
        return (double)i + 0.5;
    e = (i - HIST_LINEAR) / HIST_SUB + 10;
    sub = (i - HIST_LINEAR) % HIST_SUB;
    width = (double)(1ULL << (e - 6));
    lo = (double)(1ULL << e) + (double)sub * width;
    return lo + width / 2;
}

struct bench_opts {
    long clients, events, pipeline;
    long days; /* dates spread over the last days of 2023 */
    uint64_t seed;
    int no_setup;
    char runid[17];
    unsigned long persons; /* pool size */
};

/* Threads wait here until every connection is open, so the clock starts once. */
struct bench_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state; /* 0 wait, 1 go, -1 abort */
};

static int gate_wait(struct bench_gate *g)
{
    int state;

    pthread_mutex_lock(&g->mu);
    while (g->state == 0)
        pthread_cond_wait(&g->cv, &g->mu);
    state = g->state;
    pthread_mutex_unlock(&g->mu);
    return state;
}

static void gate_open(struct bench_gate *g, int state)
{
    pthread_mutex_lock(&g->mu);
    g->state = state;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

struct bench_thread {
    pthread_t th;
    int idx;
    const struct cli_config *cfg;
    const struct bench_opts *bo;
    struct bench_gate *gate;
    unsigned long n;
    unsigned long ok, dup, err;
    char first_err[256];
    uint64_t *hist;
    uint64_t max_us;
    int fail;
    char fail_msg[600];
    struct cli_conn conn;
    int connected;
    uint64_t rng;
};

static uint64_t bench_rand(uint64_t *s)
{
    /* splitmix64: small, fast and good enough for a workload */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Append one EVENT line for event k of this thread. */
static void bench_event(struct bench_thread *t, unsigned long k, struct wm_buf *b)
{
    int32_t last = proto_date_from_ymd(2023, 12, 31);
    uint64_t r = bench_rand(&t->rng);
    unsigned type = (unsigned)(r % 100);
    const struct bench_project *p = &projects[bench_rand(&t->rng) % NPROJECTS];
    uint64_t person = bench_rand(&t->rng) % t->bo->persons;
    uint64_t ps = t->bo->seed ^ (person * 0x9E3779B97F4A7C15ULL);
    char date[11];

    proto_date_format(last - (int32_t)(bench_rand(&t->rng) % (uint64_t)t->bo->days), date);
    ps = bench_rand(&ps) & 0xFFFFFFFFFFFFFFULL;
    /* two groups of hex of at most 8 characters: nine digits in a row could be a BSN
     * by chance, which the server refuses (PROTOCOL.md section 4) */
    wm_buf_printf(b, "EVENT %s id=b%s-%d-%lu person=bp%06llx-%08llx gemeente=%s date=%s",
                  type < 40   ? "started"
                  : type < 65 ? "completed"
                  : type < 85 ? "placed"
                              : "outflow",
                  t->bo->runid, t->idx, k, (unsigned long long)(ps >> 32),
                  (unsigned long long)(ps & 0xFFFFFFFFULL), PICK(&t->rng, gemeenten), date);
    if (type < 40) {
        wm_buf_printf(b, " project=%s kind=%s doelgroep=%s benefit=%s\n", p->name,
                      PICK(&t->rng, kinds), PICK(&t->rng, doelgroepen), PICK(&t->rng, benefits));
    } else if (type < 65) {
        wm_buf_printf(b, " project=%s result=%s\n", p->name, PICK(&t->rng, results));
    } else if (type < 85) {
        wm_buf_printf(b, " project=%s sector=%s contract=%s months=%u hours=%u by=am%u\n", p->name,
                      PICK(&t->rng, sectors), bench_rand(&t->rng) % 4 == 0 ? "leerwerk" : "betaald",
                      (unsigned)(bench_rand(&t->rng) % 25),
                      (unsigned)(8 + bench_rand(&t->rng) % 33),
                      (unsigned)(bench_rand(&t->rng) % 12));
    } else {
        if (bench_rand(&t->rng) % 2 == 0)
            wm_buf_printf(b, " project=%s", p->name);
        wm_buf_printf(b, " benefit=%s reason=%s\n", PICK(&t->rng, out_benefits),
                      PICK(&t->rng, reasons));
    }
}

static void *bench_run(void *arg)
{
    struct bench_thread *t = arg;
    int64_t *sent_at = NULL;
    unsigned long sent = 0, acked = 0;
    size_t P = (size_t)t->bo->pipeline;
    struct wm_buf line;

    wm_buf_init(&line);
    sent_at = calloc(P, sizeof(*sent_at));
    if (sent_at == NULL) {
        t->fail = 1;
        snprintf(t->fail_msg, sizeof(t->fail_msg), "out of memory");
    }
    if (gate_wait(t->gate) < 0)
        t->fail = 1;
    while (!t->fail && t->connected && acked < t->n) {
        char *l;
        size_t len;
        int rc;

        while (sent < t->n && sent - acked < P) {
            wm_buf_reset(&line);
            bench_event(t, sent, &line);
            if (line.oom || cli_conn_queue(&t->conn, line.data, line.len) != WM_OK) {
                t->fail = 1;
                snprintf(t->fail_msg, sizeof(t->fail_msg), "out of memory");
                break;
            }
            sent_at[sent % P] = cli_now_us();
            sent++;
        }
        rc = cli_conn_io(&t->conn, t->cfg->timeout_ms > 0 ? t->cfg->timeout_ms : -1, NULL);
        while (cli_conn_line(&t->conn, &l, &len)) {
            int64_t lat = cli_now_us() - sent_at[acked % P];
            uint64_t us = lat > 0 ? (uint64_t)lat : 0;

            t->hist[hist_index(us)]++;
            if (us > t->max_us)
                t->max_us = us;
            if (strncmp(l, "OK ", 3) == 0) {
                t->ok++;
            } else if (strncmp(l, "DUP ", 4) == 0) {
                t->dup++;
            } else {
                if (t->err++ == 0)
                    snprintf(t->first_err, sizeof(t->first_err), "%.200s", l);
            }
            acked++;
        }
        if (rc != WM_OK && acked < t->n) {
            t->fail = 1;
            snprintf(t->fail_msg, sizeof(t->fail_msg), "connection %d to %.80s: %.300s", t->idx,
                     t->conn.peer, t->conn.err);
        }
    }
    wm_buf_free(&line);
    free(sent_at);
    return NULL;
}

/* Create the benchmark's projects that the registry lacks. Returns an exit code or -1. */
static int bench_setup(const struct cli_config *cfg)
{
    struct cli_conn c;
    struct cli_reply r = {0};
    struct cli_table t = {0};
    struct wm_buf b;
    int ex = -1;
    int created = 0;
    int rc;

    wm_buf_init(&b);
    if (cli_connect_or_report(&c, cfg) != WM_OK)
        return CLI_EXIT_CONN;
    rc = cli_request(&c, "PROJECTS", &r);
    if (rc == WM_OK && !cli_reply_is_err(&r))
        rc = cli_table_build(&t, r.rows, r.nrows);
    if (rc != WM_OK || cli_reply_is_err(&r)) {
        fprintf(stderr, "werkmonitor bench: cannot list the projects: %s\n",
                rc != WM_OK ? c.err : r.line);
        ex = rc != WM_OK ? CLI_EXIT_CONN : CLI_EXIT_ERR;
        goto out;
    }
    for (size_t i = 0; i < NPROJECTS; i++) {
        int exists = 0;

        for (size_t row = 0; row < t.nrows && !exists; row++)
            for (size_t col = 0; col < t.ncols; col++)
                if (strcmp(t.cols[col], "project") == 0 && t.cells[row * t.ncols + col] != NULL &&
                    strcmp(t.cells[row * t.ncols + col], projects[i].name) == 0)
                    exists = 1;
        if (exists)
            continue;
        wm_buf_reset(&b);
        wm_buf_printf(&b,
                      "PROJECT %s category=%s scope=%s start=2020-01-01 end=2023-12-31 "
                      "target.started=%u target.completed=%u target.placed=%u title=",
                      projects[i].name, projects[i].category, projects[i].scope,
                      (unsigned)(40 + 7 * i), (unsigned)(30 + 5 * i), (unsigned)(20 + 3 * i));
        wm_buf_append_escaped(&b, projects[i].title, strlen(projects[i].title));
        if (wm_buf_cstr(&b) == NULL) {
            ex = CLI_EXIT_CONN;
            goto out;
        }
        rc = cli_request(&c, b.data, &r);
        if (rc != WM_OK || cli_reply_is_err(&r)) {
            fprintf(stderr, "werkmonitor bench: cannot create project %s: %s%s\n", projects[i].name,
                    rc != WM_OK ? c.err : r.line,
                    rc == WM_OK ? " (creating projects needs an admin token; or use --no-setup)"
                                : "");
            ex = rc != WM_OK ? CLI_EXIT_CONN : CLI_EXIT_ERR;
            goto out;
        }
        created++;
    }
    if (created > 0)
        fprintf(stderr, "werkmonitor bench: created %d projects\n", created);
out:
    wm_buf_free(&b);
    cli_table_free(&t);
    cli_reply_free(&r);
    cli_conn_close(&c);
    return ex;
}

static int parse_count(const char *opt, const char *v, long max, long *out)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < 1 || n > max) {
        cli_usage_error("bench", "%s wants a number from 1 to %ld, not '%s'", opt, max, v);
        return WM_ECONFIG;
    }
    *out = n;
    return WM_OK;
}

/* "1234567" as "1,234,567" */
static void with_commas(double v, char *out, size_t n)
{
    char digits[32];
    size_t len, o = 0;

    snprintf(digits, sizeof(digits), "%.0f", v);
    len = strlen(digits);
    for (size_t i = 0; i < len && o + 2 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

/* The options into bo, defaults first. Returns -1 to go on, else the exit code of a
 * usage error (reported). */
static int bench_options(const struct cli_args *a, struct bench_opts *bo, int *seed_given)
{
    memset(bo, 0, sizeof(*bo));
    bo->clients = 8;
    bo->events = 100000;
    bo->pipeline = 64;
    bo->days = 30;
    for (size_t i = 0; i < a->nopts; i++) {
        const char *v = a->opts[i].value;
        long n = 0;
        int rc = WM_OK;

        switch (a->opts[i].id) {
        case OPT_CLIENTS:
            rc = parse_count("-c", v, 1000, &bo->clients);
            break;
        case OPT_EVENTS:
            rc = parse_count("-n", v, 1000000000L, &bo->events);
            break;
        case OPT_PIPELINE:
            rc = parse_count("-P", v, 100000, &bo->pipeline);
            break;
        case OPT_SEED:
            rc = parse_count("--seed", v, 2000000000L, &n);
            bo->seed = (uint64_t)n;
            *seed_given = 1;
            break;
        case OPT_DAYS:
            rc = parse_count("--days", v, 1461, &bo->days);
            break;
        case OPT_NO_SETUP:
            bo->no_setup = 1;
            break;
        }
        if (rc != WM_OK)
            return CLI_EXIT_USAGE;
    }
    if (a->npos > 0)
        return cli_usage_error("bench", "unexpected argument '%s'", a->pos[0]);
    return -1;
}

/* What follows from the options: the run's id, the seed when not given, the pool of
 * persons, no more clients than events. */
static void bench_prepare(struct bench_opts *bo, int seed_given)
{
    unsigned char rnd[8];

    if (bo->clients > bo->events)
        bo->clients = bo->events;
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        uint64_t x = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

        memcpy(rnd, &x, sizeof(rnd));
    }
    /* ids are new every run, whatever the seed, so that a run stores every event */
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(bo->runid + 2 * i, 3, "%02x", rnd[i]);
    if (!seed_given)
        bo->seed = (uint64_t)time(NULL);
    bo->persons = (unsigned long)(bo->events / 4 > 1000 ? bo->events / 4 : 1000);
}

/* Set up each thread's share of the events and open its connection. Returns -1, or
 * the exit code after saying why not. */
static int bench_connect(struct bench_thread *th, const struct bench_opts *bo,
                         const struct cli_config *cfg, struct bench_gate *gate)
{
    for (long i = 0; i < bo->clients; i++) {
        struct bench_thread *t = &th[i];
        int rc;

        t->idx = (int)i;
        t->cfg = cfg;
        t->bo = bo;
        t->gate = gate;
        t->n = (unsigned long)(bo->events / bo->clients + (i < bo->events % bo->clients ? 1 : 0));
        t->rng = bo->seed * 1000003ULL + (uint64_t)i;
        t->hist = calloc(HIST_BUCKETS, sizeof(*t->hist));
        if (t->hist == NULL) {
            fprintf(stderr, "werkmonitor: out of memory\n");
            return CLI_EXIT_CONN;
        }
        rc = cli_conn_open(&t->conn, cfg);
        if (rc != WM_OK) {
            cli_report_conn_error(&t->conn, rc);
            cli_conn_close(&t->conn);
            return CLI_EXIT_CONN;
        }
        t->connected = 1;
    }
    return -1;
}

/* Start the threads, open the gate for all at once and wait for them; *secs is the
 * time from the gate to the last one's end. Returns -1, or the exit code when a
 * thread could not start (the started ones are told to stop). */
static int bench_run_all(struct bench_thread *th, const struct bench_opts *bo,
                         struct bench_gate *gate, double *secs)
{
    long started = 0;
    int64_t t0;

    for (; started < bo->clients; started++) {
        if (pthread_create(&th[started].th, NULL, bench_run, &th[started]) != 0) {
            fprintf(stderr, "werkmonitor bench: cannot start thread %ld\n", started);
            break;
        }
    }
    fprintf(stderr, "werkmonitor bench: %ld events, %ld clients, pipeline %ld, seed %llu, run %s\n",
            bo->events, bo->clients, bo->pipeline, (unsigned long long)bo->seed, bo->runid);
    t0 = cli_now_us();
    gate_open(gate, started == bo->clients ? 1 : -1);
    for (long i = 0; i < started; i++)
        pthread_join(th[i].th, NULL);
    *secs = (double)(cli_now_us() - t0) / 1e6;
    return started == bo->clients ? -1 : CLI_EXIT_CONN;
}

/* The latency below which num/den of the total answers came, from the merged
 * histogram (the middle of its bucket, at most max_us). */
static double hist_quantile(const uint64_t *hist, unsigned long total, unsigned num, unsigned den,
                            uint64_t max_us)
{
    uint64_t seen = 0;
    double v = 0;

    for (size_t k = 0; k < HIST_BUCKETS && total > 0; k++) {
        seen += hist[k];
        if (seen * den >= (uint64_t)total * num) {
            v = hist_value(k);
            break;
        }
    }
    return v > (double)max_us ? (double)max_us : v;
}

/* Sum the threads' counts and histograms, print the figures and the first failure or
 * error. Returns the exit code. */
static int bench_report(const struct bench_thread *th, const struct bench_opts *bo, double secs,
                        uint64_t *hist)
{
    unsigned long ok = 0, dup = 0, err = 0, total;
    uint64_t max_us = 0;
    int ex = CLI_EXIT_OK;
    char rate[40];

    for (long i = 0; i < bo->clients; i++) {
        ok += th[i].ok;
        dup += th[i].dup;
        err += th[i].err;
        if (th[i].max_us > max_us)
            max_us = th[i].max_us;
        for (size_t k = 0; k < HIST_BUCKETS; k++)
            hist[k] += th[i].hist[k];
        if (th[i].fail) {
            fprintf(stderr, "werkmonitor bench: %s\n", th[i].fail_msg);
            ex = CLI_EXIT_CONN;
        }
    }
    total = ok + dup + err;
    with_commas(secs > 0 ? (double)(ok + dup) / secs : 0, rate, sizeof(rate));
    printf("%lu acknowledged in %.2f s (%lu stored, %lu duplicates, %lu errors)\n", total, secs, ok,
           dup, err);
    printf("durable events/s: %s\n", rate);
    printf("ack latency ms: p50 %.3f, p99 %.3f, max %.3f\n",
           hist_quantile(hist, total, 1, 2, max_us) / 1000,
           hist_quantile(hist, total, 99, 100, max_us) / 1000, (double)max_us / 1000);
    for (long i = 0; i < bo->clients && err > 0; i++) {
        if (th[i].err > 0) {
            fprintf(stderr, "werkmonitor bench: first error: %s\n", th[i].first_err);
            break;
        }
    }
    if (err > 0 && ex == CLI_EXIT_OK)
        ex = CLI_EXIT_ERR;
    return ex;
}

int cli_cmd_bench(struct cli_config *cfg, int argc, char **argv)
{
    static const struct cli_optdef defs[] = {
        {"clients", 'c', 1, OPT_CLIENTS},   {"events", 'n', 1, OPT_EVENTS},
        {"pipeline", 'P', 1, OPT_PIPELINE}, {"seed", 0, 1, OPT_SEED},
        {"days", 0, 1, OPT_DAYS},           {"no-setup", 0, 0, OPT_NO_SETUP},
    };
    struct cli_args a;
    struct bench_opts bo;
    struct bench_thread *th = NULL;
    struct bench_gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    uint64_t *hist = NULL;
    double secs = 0;
    int seed_given = 0;
    int ex;

    if ((ex = cli_args_begin(&a, "bench", argc, argv, defs, sizeof(defs) / sizeof(defs[0]), cfg,
                             bench_help)) >= 0)
        return ex;
    ex = bench_options(&a, &bo, &seed_given);
    cli_args_free(&a);
    if (ex >= 0)
        return ex;
    if (cli_config_finish(cfg) != WM_OK)
        return CLI_EXIT_USAGE;
    bench_prepare(&bo, seed_given);
    if (!bo.no_setup && (ex = bench_setup(cfg)) >= 0)
        return ex;
    th = calloc((size_t)bo.clients, sizeof(*th));
    hist = calloc(HIST_BUCKETS, sizeof(*hist));
    if (th == NULL || hist == NULL) {
        fprintf(stderr, "werkmonitor: out of memory\n");
        ex = CLI_EXIT_CONN;
    } else if ((ex = bench_connect(th, &bo, cfg, &gate)) < 0 &&
               (ex = bench_run_all(th, &bo, &gate, &secs)) < 0) {
        ex = bench_report(th, &bo, secs, hist);
    }
    for (long i = 0; th != NULL && i < bo.clients; i++) {
        if (th[i].connected)
            cli_conn_close(&th[i].conn);
        free(th[i].hist);
    }
    free(th);
    free(hist);
    return ex;
}
