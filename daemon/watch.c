/*
 * watch: live totals for WATCH connections (PROTOCOL.md section 7). Commits that change
 * a figure mark the totals dirty; one timer pushes them to every watcher at most every
 * WATCH_MIN_INTERVAL_MS, and a heartbeat pushes them every WATCH_HEARTBEAT_S anyway.
 * A watcher bound to a gemeente gets that municipality's totals, one with min-count or
 * round protected ones (reads.c), each form made once per push.
 */
#include <time.h>

#include <event2/buffer.h>

#include "daemon.h"

static uint64_t watch_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Who watches on c: its totals depend on its municipality and protection. */
static struct reader watch_reader(const struct conn *c)
{
    struct reader w = {c->role, c->principal, c->gemeente};

    return w;
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
    {
        struct reader who = watch_reader(c);
        struct wm_totals t;

        wm_buf_reset(&srv->out);
        if (reads_totals(srv, &who, &t) == WM_OK && proto_totals_line(&t, &srv->out) == WM_OK)
            conn_reply(c, srv->out.data, srv->out.len);
    }
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
    if (srv->nwatchers == 0)
        return;
    /* each watcher gets the totals it may see; every distinct form of them (gemeente,
     * min-count, round) is read and formatted once in this push */
    reads_shared_next(&srv->watch_shared);
    for (struct conn *c = srv->watchers, *next; c != NULL; c = next) {
        struct reader who = watch_reader(c);
        const struct wm_buf *line;
        uint64_t seq;

        next = c->wnext; /* a reply that runs out of memory drops c from the list */
        /* a watcher that does not read misses pushes (the next one supersedes them)
         * instead of growing our memory */
        if (evbuffer_get_length(bufferevent_get_output(c->bev)) >= CONN_HIGH_WATER)
            continue;
        line = reads_shared_get(srv, &srv->watch_shared, &who, &seq);
        if (line != NULL)
            conn_reply(c, line->data, line->len);
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
