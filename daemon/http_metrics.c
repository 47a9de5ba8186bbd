/*
 * http_metrics: GET /metrics in the Prometheus text exposition format 0.0.4 (names and
 * units per Prometheus' conventions), and the probes /healthz (the process answers)
 * and /readyz (the store is open and takes writes), which say nothing about the data.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http_int.h"
#include "log.h"

/* Upper bounds of the commit-duration buckets (seconds) and events-per-commit buckets. */
static const double http_lat_bounds[HTTP_LAT_NBUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
};
static const double http_epc_bounds[HTTP_EPC_NBUCKETS] = {1,    4,    16,    64,   256,
                                                          1024, 4096, 16384, 65536};
/* The statuses counted one by one; the rest count as "other". */
static const int http_status_codes[HTTP_NSTATUS] = {200, 304, 400, 401, 403, 404, 405,
                                                    409, 413, 414, 500, 503, 408, 431};

void http_metrics_status(struct http_server *h, int status)
{
    size_t i;

    for (i = 0; i < HTTP_NSTATUS && http_status_codes[i] != status; i++)
        ;
    h->responses[i]++;
}

void http_metrics_batch(struct http_server *h, const struct commit_batch *b)
{
    double secs = (double)b->apply_us / 1e6;
    uint64_t events = 0;
    size_t k;

    h->last_commit_rc = b->rc;
    for (size_t i = 0; i < b->n; i++) {
        const struct store_item *it = &b->items[i];
        if (it->op == STORE_OP_EVENT || it->op == STORE_OP_REPLACE)
            events++;
        if (it->result != WM_OK)
            continue;
        if (it->dup) {
            h->duplicates++;
        } else if ((it->op == STORE_OP_EVENT || it->op == STORE_OP_REPLACE) &&
                   it->u.event.type < WM_TYPE_COUNT_) {
            h->events_stored[it->u.event.type]++;
        } else if (it->op == STORE_OP_RETRACT) {
            h->retractions_stored++;
        } else if (it->op == STORE_OP_PROJECT || it->op == STORE_OP_PROGRAM) {
            h->registry_changes++;
            h->registry_gen++;
        }
    }
    for (k = 0; k < HTTP_LAT_NBUCKETS && secs > http_lat_bounds[k]; k++)
        ;
    h->lat_bucket[k]++;
    h->lat_count++;
    h->lat_sum += secs;
    for (k = 0; k < HTTP_EPC_NBUCKETS && (double)events > http_epc_bounds[k]; k++)
        ;
    h->epc_bucket[k]++;
    h->epc_count++;
    h->epc_sum += events;
}

/* "# HELP" and "# TYPE" of a metric family. */
static void m_family(struct wm_buf *o, const char *name, const char *type, const char *help)
{
    wm_buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void m_u64(struct wm_buf *o, const char *name, const char *type, const char *help,
                  uint64_t v)
{
    m_family(o, name, type, help);
    wm_buf_printf(o, "%s %llu\n", name, (unsigned long long)v);
}

/* One sample with one label. */
static void m_labelled(struct wm_buf *o, const char *name, const char *label, const char *value,
                       uint64_t v)
{
    wm_buf_printf(o, "%s{%s=\"%s\"} %llu\n", name, label, value, (unsigned long long)v);
}

/* A counter of both protocols together (all) of which http are HTTP's. */
static void m_by_protocol(struct wm_buf *o, const char *name, const char *help, uint64_t all,
                          uint64_t http)
{
    m_family(o, name, "counter", help);
    m_labelled(o, name, "protocol", "line", all - http);
    m_labelled(o, name, "protocol", "http", http);
}

/* A histogram from per-bucket counts (bucket[n] is above the last bound). */
static void m_histogram(struct wm_buf *o, const char *name, const char *help, const double *bounds,
                        const uint64_t *bucket, int n, uint64_t count, double sum)
{
    uint64_t cum = 0;

    m_family(o, name, "histogram", help);
    for (int k = 0; k < n; k++) {
        cum += bucket[k];
        wm_buf_printf(o, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[k], (unsigned long long)cum);
    }
    wm_buf_printf(o, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)count);
    wm_buf_printf(o, "%s_sum %.9g\n", name, sum);
    wm_buf_printf(o, "%s_count %llu\n", name, (unsigned long long)count);
}

static void m_line_connections(const struct server *srv, uint64_t *plain, uint64_t *tls)
{
    *plain = *tls = 0;
    for (const struct conn *c = srv->conns; c != NULL; c = c->next) {
        if (!conn_counted(c))
            continue;
        if (c->tls)
            (*tls)++;
        else
            (*plain)++;
    }
}

/* The process: build, start time, uptime. */
static void metrics_process(struct wm_buf *o, const struct server_stats *st)
{
    m_family(o, "werkmonitor_build_info", "gauge", "Version of werkmonitord; the value is 1.");
    wm_buf_printf(o, "werkmonitor_build_info{version=\"%s\",protocol=\"1\"} 1\n", WM_VERSION);
    m_u64(o, "werkmonitor_start_time_seconds", "gauge",
          "When werkmonitord started, in seconds since the Unix epoch.", (uint64_t)st->started);
    m_u64(o, "werkmonitor_uptime_seconds", "gauge", "Seconds since werkmonitord started.",
          (uint64_t)(time(NULL) - st->started));
}

/* The store as it is now: records, totals, file, map and memory part. */
static void metrics_store(struct wm_buf *o, const struct store_stats *ss, const struct wm_totals *t)
{
    m_u64(o, "werkmonitor_last_seq", "gauge",
          "Sequence number of the last event or retraction stored.", ss->last_seq);
    m_u64(o, "werkmonitor_store_events", "gauge",
          "Event records in the store, retracted ones included.", ss->events);
    m_u64(o, "werkmonitor_store_retracted_events", "gauge",
          "Events in the store that are retracted.", ss->retracted);
    m_u64(o, "werkmonitor_store_retractions", "gauge", "Retraction records in the store.",
          ss->retractions);
    m_family(o, "werkmonitor_totals", "gauge",
             "The live totals of WATCH and /v1/totals: events (completed: with a diploma, "
             "certificaat or afgerond result) and distinct persons placed, retracted excluded.");
    m_labelled(o, "werkmonitor_totals", "figure", "started", t->started);
    m_labelled(o, "werkmonitor_totals", "figure", "completed", t->completed);
    m_labelled(o, "werkmonitor_totals", "figure", "placed", t->placed);
    m_labelled(o, "werkmonitor_totals", "figure", "placed.persons", t->placed_persons);
    m_labelled(o, "werkmonitor_totals", "figure", "outflow", t->outflow);
    m_u64(o, "werkmonitor_store_bytes", "gauge", "Size of the LMDB data file.", ss->db_bytes);
    m_u64(o, "werkmonitor_store_map_bytes", "gauge", "Size of the LMDB map.", ss->map_bytes);
    m_u64(o, "werkmonitor_store_map_grows_total", "counter",
          "Times the LMDB map grew since the store was opened.", ss->map_grows);
    m_u64(o, "werkmonitor_memory_part_bytes", "gauge",
          "Bytes held by the store's memory part (persons, day and enum-combination cells).",
          ss->memory_bytes);
    m_u64(o, "werkmonitor_memory_part_cells", "gauge", "Rollup cells in the store's memory part.",
          ss->memory_cells);
    m_u64(o, "werkmonitor_memory_part_persons", "gauge",
          "Persons known to the memory part (how many, never who).", ss->persons);
    m_family(o, "werkmonitor_memory_part_load_seconds", "gauge",
             "Time the memory part took to rebuild from the events when the store opened.");
    wm_buf_printf(o, "werkmonitor_memory_part_load_seconds %.3f\n",
                  (double)ss->memory_load_ms / 1e3);
}

/* Writes since the start: what was stored, the commits and their histograms. */
static void metrics_writes(struct wm_buf *o, const struct http_server *h)
{
    static const char *const type_names[WM_TYPE_COUNT_] = {"started", "completed", "placed",
                                                           "outflow"};
    const struct server_stats *st = &h->srv->stats;

    m_family(o, "werkmonitor_events_stored_total", "counter",
             "Events stored since werkmonitord started (duplicates excluded), by type.");
    for (int i = 0; i < WM_TYPE_COUNT_; i++)
        m_labelled(o, "werkmonitor_events_stored_total", "type", type_names[i],
                   h->events_stored[i]);
    m_u64(o, "werkmonitor_duplicates_total", "counter",
          "Events and retractions answered DUP (already stored) since the start.", h->duplicates);
    m_u64(o, "werkmonitor_retractions_total", "counter", "Retractions stored since the start.",
          h->retractions_stored);
    m_u64(o, "werkmonitor_registry_changes_total", "counter",
          "PROJECT and PROGRAM changes stored since the start.", h->registry_changes);
    m_u64(o, "werkmonitor_commits_total", "counter",
          "Write transactions committed (one serves every write queued meanwhile).", st->commits);
    m_u64(o, "werkmonitor_committed_items_total", "counter",
          "Writes (events, retractions, registry changes) in those commits.", st->items_committed);
    m_u64(o, "werkmonitor_commit_queue_items", "gauge", "Writes queued or being committed now.",
          commit_pending(h->srv->commit));

    m_histogram(o, "werkmonitor_commit_duration_seconds",
                "Time a commit took: the LMDB transaction, synced to disk.", http_lat_bounds,
                h->lat_bucket, HTTP_LAT_NBUCKETS, h->lat_count, h->lat_sum);
    m_histogram(o, "werkmonitor_events_per_commit", "Events in one commit.", http_epc_bounds,
                h->epc_bucket, HTTP_EPC_NBUCKETS, h->epc_count, (double)h->epc_sum);
}

/* Errors by code, refused tokens and denials. */
static void metrics_access(struct wm_buf *o, const struct server_stats *st)
{
    m_family(o, "werkmonitor_errors_total", "counter",
             "Error replies by protocol code, line protocol and HTTP together.");
    for (int i = 1; i <= STATS_NCODES; i++)
        m_labelled(o, "werkmonitor_errors_total", "code", wm_err_code(-i), st->errors[i]);
    m_u64(o, "werkmonitor_auth_failures_total", "counter", "Tokens refused (AUTH and HTTP).",
          st->auth_failures);
    m_u64(o, "werkmonitor_denials_total", "counter",
          "Requests refused for the principal's role or municipality.", st->denials);
}

/* Connections by listener and protocol, watchers, streams, HTTP responses by status. */
static void metrics_connections(struct wm_buf *o, const struct http_server *h)
{
    const struct server *srv = h->srv;
    const struct server_stats *st = &srv->stats;
    uint64_t plain, tls;
    char code[16];

    m_line_connections(srv, &plain, &tls);
    m_family(o, "werkmonitor_connections", "gauge", "Open connections by listener.");
    m_labelled(o, "werkmonitor_connections", "listener", "tcp", plain);
    m_labelled(o, "werkmonitor_connections", "listener", "tls", tls);
    m_labelled(o, "werkmonitor_connections", "listener", h->tls ? "https" : "http", h->nconns);
    /* the server counts both protocols; HTTP's share is the module's own count */
    m_by_protocol(o, "werkmonitor_connections_accepted_total",
                  "Connections accepted since the start, by protocol.", st->connections_total,
                  h->connections_total);
    m_by_protocol(o, "werkmonitor_connections_refused_total",
                  "Connections refused at max-connections or http-max-connections, by protocol.",
                  st->connections_refused, h->connections_refused);
    m_u64(o, "werkmonitor_watchers", "gauge", "WATCH connections receiving TOTAL pushes.",
          srv->nwatchers);
    m_u64(o, "werkmonitor_http_streams", "gauge", "Open /v1/totals/stream event streams.",
          h->nstreams);
    m_family(o, "werkmonitor_http_responses_total", "counter", "HTTP responses by status code.");
    for (int i = 0; i < HTTP_NSTATUS; i++) {
        snprintf(code, sizeof(code), "%d", http_status_codes[i]);
        m_labelled(o, "werkmonitor_http_responses_total", "code", code, h->responses[i]);
    }
    m_labelled(o, "werkmonitor_http_responses_total", "code", "other", h->responses[HTTP_NSTATUS]);
}

/* The whole exposition into o, in the order Prometheus users read it: process, store,
 * writes, access, connections. Reads the store's statistics and totals first, so that
 * a store that cannot be read gives its error and no half page. */
static int http_metrics_format(struct http_server *h, struct wm_buf *o)
{
    struct server *srv = h->srv;
    struct store_stats ss;
    struct wm_totals t;
    int rc;

    rc = store_stats(srv->store, &ss);
    if (rc == WM_OK)
        rc = store_totals(srv->store, &t);
    if (rc != WM_OK)
        return rc;
    wm_buf_reset(o);
    metrics_process(o, &srv->stats);
    metrics_store(o, &ss, &t);
    metrics_writes(o, h);
    metrics_access(o, &srv->stats);
    metrics_connections(o, h);
    return o->oom ? WM_ENOMEM : WM_OK;
}

void http_api_metrics(struct http_req *r)
{
    struct http_server *h = r->h;
    const struct auth_entry *e =
        h->srv->tokens != NULL ? auth_table_find(h->srv->tokens, r->who.principal) : NULL;
    int rc;

    /* region-wide figures are for principals not bound to a municipality */
    if (r->who.gemeente[0] != '\0') {
        h->srv->stats.denials++;
        log_msg(LOG_INFO, "http: denied: principal=%s (gemeente=%s) may not read /metrics",
                r->who.principal, r->who.gemeente);
        http_reply_err(r, WM_EDENIED,
                       "/metrics holds region-wide figures: for principals not bound to a "
                       "gemeente (%s is bound to %s)",
                       r->who.principal, r->who.gemeente);
        return;
    }
    /* its exact totals are not for a principal whose counts are protected (min-count) */
    if (e != NULL && (e->min_count > 0 || e->round > 1)) {
        h->srv->stats.denials++;
        log_msg(LOG_INFO,
                "http: denied: principal=%s (min-count=%llu round=%llu) may not read "
                "/metrics",
                r->who.principal, (unsigned long long)e->min_count, (unsigned long long)e->round);
        http_reply_err(r, WM_EDENIED,
                       "/metrics holds exact figures: for principals without min-count or "
                       "round (%s has them)",
                       r->who.principal);
        return;
    }
    rc = http_metrics_format(h, &h->out);
    if (rc != WM_OK) {
        http_reply_err(r, rc, "cannot read the store's statistics: %s", wm_strerror(rc));
        return;
    }
    http_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", h->out.data, h->out.len);
}

void http_api_healthz(struct http_req *r)
{
    static const char ok[] = "{\"status\":\"ok\"}\n";

    http_reply(r, 200, "application/json", ok, sizeof(ok) - 1);
}

void http_api_readyz(struct http_req *r)
{
    static const char ready[] = "{\"status\":\"ready\"}\n";
    struct http_server *h = r->h;
    struct wm_totals t;
    int rc;

    if (h->stopping) {
        http_reply_err(r, WM_EUNAVAILABLE, "not ready: the server is shutting down");
        return;
    }
    rc = store_totals(h->srv->store, &t);
    if (rc != WM_OK) {
        http_reply_err(r, WM_EUNAVAILABLE, "not ready: the store cannot be read: %s",
                       wm_strerror(rc));
        return;
    }
    if (h->last_commit_rc != WM_OK) {
        http_reply_err(r, WM_EUNAVAILABLE,
                       "not ready: the last commit failed (%s); writes get ERR storage",
                       wm_strerror(h->last_commit_rc));
        return;
    }
    if (commit_pending(h->srv->commit) >= SERVER_MAX_QUEUED) {
        http_reply_err(r, WM_EUNAVAILABLE, "not ready: the commit queue is full (%d writes)",
                       SERVER_MAX_QUEUED);
        return;
    }
    http_reply(r, 200, "application/json", ready, sizeof(ready) - 1);
}
