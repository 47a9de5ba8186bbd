/*
 * stats: the daemon's counters and the STATS response (PROTOCOL.md section 7).
 * Counters live in the server and are touched on the loop thread only; commit
 * latencies are kept in a ring of the most recent STATS_LATENCY_RING batches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"

void stats_count_error(struct server *srv, int err)
{
    const char *code = wm_err_code(err);

    for (int i = 1; i <= STATS_NCODES; i++) {
        if (strcmp(code, wm_err_code(-i)) == 0) {
            srv->stats.errors[i]++;
            return;
        }
    }
}

void stats_commit(struct server *srv, const struct commit_batch *b)
{
    struct server_stats *st = &srv->stats;
    uint64_t events = 0;

    for (size_t i = 0; i < b->n; i++) {
        if (b->items[i].op == STORE_OP_EVENT || b->items[i].op == STORE_OP_REPLACE)
            events++;
    }
    st->commits++;
    st->items_committed += b->n;
    st->events_committed += events;
    st->latency_us[st->latency_pos] = b->apply_us > UINT32_MAX ? UINT32_MAX : (uint32_t)b->apply_us;
    st->latency_pos = (st->latency_pos + 1) % STATS_LATENCY_RING;
    if (st->latency_n < STATS_LATENCY_RING)
        st->latency_n++;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

static void row_u64(struct wm_buf *out, size_t *n, const char *name, uint64_t v)
{
    wm_buf_puts(out, "ROW");
    proto_fmt_pair(out, "stat", name);
    proto_fmt_pair_u64(out, "value", v);
    wm_buf_puts(out, "\n");
    (*n)++;
}

static void row_str(struct wm_buf *out, size_t *n, const char *name, const char *v)
{
    wm_buf_puts(out, "ROW");
    proto_fmt_pair(out, "stat", name);
    proto_fmt_pair(out, "value", v);
    wm_buf_puts(out, "\n");
    (*n)++;
}

static void row_ratio(struct wm_buf *out, size_t *n, const char *name, uint64_t num, uint64_t den)
{
    char v[32];

    snprintf(v, sizeof(v), "%.2f", den ? (double)num / (double)den : 0.0);
    row_str(out, n, name, v);
}

int stats_format(struct server *srv, struct wm_buf *out, char *err, size_t errlen)
{
    const struct server_stats *st = &srv->stats;
    struct store_stats ss;
    uint32_t lat[STATS_LATENCY_RING];
    uint64_t p50 = 0, p99 = 0;
    size_t n = 0;
    int rc;

    rc = store_stats(srv->store, &ss);
    if (rc != WM_OK) {
        proto_errf(err, errlen, "cannot read the store's statistics: %s", wm_strerror(rc));
        return rc;
    }
    if (st->latency_n > 0) {
        memcpy(lat, st->latency_us, st->latency_n * sizeof(lat[0]));
        qsort(lat, st->latency_n, sizeof(lat[0]), cmp_u32);
        p50 = lat[(st->latency_n - 1) * 50 / 100];
        p99 = lat[(st->latency_n - 1) * 99 / 100];
    }
    row_str(out, &n, "version", WM_VERSION);
    row_u64(out, &n, "uptime_s", (uint64_t)(time(NULL) - st->started));
    row_u64(out, &n, "connections", srv->nconns);
    row_u64(out, &n, "connections_total", st->connections_total);
    row_u64(out, &n, "connections_refused", st->connections_refused);
    row_u64(out, &n, "watchers", srv->nwatchers);
    row_u64(out, &n, "events", ss.events);
    row_u64(out, &n, "retracted", ss.retracted);
    row_u64(out, &n, "retractions", ss.retractions);
    row_u64(out, &n, "last_seq", ss.last_seq);
    row_u64(out, &n, "commits", st->commits);
    row_ratio(out, &n, "batch_avg", st->items_committed, st->commits);
    row_ratio(out, &n, "events_per_commit", st->events_committed, st->commits);
    row_u64(out, &n, "commit_p50_us", p50);
    row_u64(out, &n, "commit_p99_us", p99);
    row_u64(out, &n, "queued", commit_pending(srv->commit));
    row_u64(out, &n, "db_bytes", ss.db_bytes);
    row_u64(out, &n, "map_bytes", ss.map_bytes);
    row_u64(out, &n, "map_grows", ss.map_grows);
    row_u64(out, &n, "persons", ss.persons);
    row_u64(out, &n, "memory_cells", ss.memory_cells);
    row_u64(out, &n, "memory_bytes", ss.memory_bytes);
    row_u64(out, &n, "memory_load_ms", ss.memory_load_ms);
    row_u64(out, &n, "checkpoint_seq", ss.checkpoint_seq);
    row_u64(out, &n, "checkpoints_written", ss.checkpoints_written);
    row_u64(out, &n, "checkpoint_failures", ss.checkpoint_failures);
    row_u64(out, &n, "unauthenticated", srv->guard.unauth);
    row_u64(out, &n, "auth_failures", st->auth_failures);
    row_u64(out, &n, "auth_timeouts", st->auth_timeouts);
    row_u64(out, &n, "denials", st->denials);
    for (int i = 1; i <= STATS_NCODES; i++) {
        char name[48];
        snprintf(name, sizeof(name), "errors.%s", wm_err_code(-i));
        row_u64(out, &n, name, st->errors[i]);
    }
    proto_fmt_end(out, n);
    if (out->oom) {
        proto_errf(err, errlen, "out of memory");
        return WM_ENOMEM;
    }
    return WM_OK;
}
