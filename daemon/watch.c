/*
 * watch: live totals for WATCH connections (PROTOCOL.md section 7). Commits that change
 * a figure mark the totals dirty; one timer pushes them to every watcher at most every
 * WATCH_MIN_INTERVAL_MS, and a heartbeat pushes them every WATCH_HEARTBEAT_S anyway.
 */
#include <time.h>

#include <event2/buffer.h>

#include "daemon.h"
#include "log.h"

static uint64_t watch_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* "TOTAL seq=... outflow=...\n" into out: the whole store's totals, the same for
 * every watcher. */
static int watch_format(struct server *srv, struct wm_buf *out)
{
    struct wm_totals t;
    int rc = reads_totals(srv, NULL, &t);

    if (rc != WM_OK) {
        log_msg(LOG_ERROR, "WATCH: cannot read the totals: %s", wm_strerror(rc));
        return rc;
    }
    wm_buf_reset(out);
    return proto_totals_line(&t, out);
}

void watch_start(struct conn *c)
{
    struct server *srv = c->srv;

    c->wprev = NULL;
    c->wnext = srv->watchers;
    if (srv->watchers != NULL)
        srv->watchers->wprev = c;
    srv->watchers = c;
    srv->nwatchers++;
    if (watch_format(srv, &srv->out) == WM_OK)
        conn_reply(c, srv->out.data, srv->out.len);
}

void watch_stop(struct conn *c)
{
    struct server *srv = c->srv;

    if (c->wprev != NULL)
        c->wprev->wnext = c->wnext;
    else
        srv->watchers = c->wnext;
    if (c->wnext != NULL)
        c->wnext->wprev = c->wprev;
    c->wprev = c->wnext = NULL;
    srv->nwatchers--;
}

static void watch_push_all(struct server *srv)
{
    srv->watch_dirty = 0;
    srv->watch_last_push_ms = watch_now_ms();
    if (srv->nwatchers == 0 || watch_format(srv, &srv->out) != WM_OK)
        return;
    for (struct conn *c = srv->watchers, *next; c != NULL; c = next) {
        next = c->wnext; /* a reply that runs out of memory drops c from the list */
        /* a watcher that does not read misses pushes (the next one supersedes them)
         * instead of growing our memory */
        if (evbuffer_get_length(bufferevent_get_output(c->bev)) < CONN_HIGH_WATER)
            conn_reply(c, srv->out.data, srv->out.len);
    }
}

void watch_changed(struct server *srv)
{
    uint64_t now, due;
    struct timeval tv = {0, 0};

    if (srv->nwatchers == 0)
        return; /* a new watcher reads fresh totals when it starts */
    srv->watch_dirty = 1;
    if (event_pending(srv->ev_watch, EV_TIMEOUT, NULL))
        return;
    now = watch_now_ms();
    due = srv->watch_last_push_ms + WATCH_MIN_INTERVAL_MS;
    if (due > now) {
        tv.tv_sec = (time_t)((due - now) / 1000u);
        tv.tv_usec = (suseconds_t)((due - now) % 1000u * 1000u);
    }
    event_add(srv->ev_watch, &tv);
}

void watch_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;

    (void)fd;
    (void)what;
    if (srv->watch_dirty)
        watch_push_all(srv);
}

void watch_on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;

    (void)fd;
    (void)what;
    if (srv->nwatchers > 0)
        watch_push_all(srv);
}
