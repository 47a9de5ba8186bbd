/*
 * http_sse: GET /v1/totals/stream, the live totals as server-sent events: one
 * "id: <seq>" + "data: <totals JSON>" event per change, coalesced as WATCH's pushes
 * are (at most one per HTTP_SSE_MIN_INTERVAL_MS), and a comment every
 * HTTP_SSE_HEARTBEAT_S seconds so that proxies and clients see the stream is alive.
 * Each stream carries the totals its principal may see (reads.c).
 */
#include <string.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>

#include "http_int.h"
#include "log.h"

static void http_sse_on_push(evutil_socket_t fd, short what, void *arg);
static void http_sse_on_heartbeat(evutil_socket_t fd, short what, void *arg);

/* "id: <seq>\ndata: <totals JSON>\n\n": one event of the stream. */
static int http_sse_format(const struct wm_totals *t, struct wm_buf *ev)
{
    wm_buf_printf(ev, "id: %llu\ndata: ", (unsigned long long)t->seq);
    proto_totals_json(t, ev);
    wm_buf_puts(ev, "\n\n");
    return ev->oom ? WM_ENOMEM : WM_OK;
}

int http_sse_init(struct http_server *h)
{
    struct timeval hb = {HTTP_SSE_HEARTBEAT_S, 0};

    reads_shared_init(&h->sse_shared, http_sse_format);

    h->ev_push = evtimer_new(h->srv->base, http_sse_on_push, h);
    h->ev_heartbeat = event_new(h->srv->base, -1, EV_PERSIST, http_sse_on_heartbeat, h);
    if (h->ev_push == NULL || h->ev_heartbeat == NULL)
        return WM_ENOMEM;
    event_add(h->ev_heartbeat, &hb);
    return WM_OK;
}

void http_sse_free(struct http_server *h)
{
    reads_shared_free(&h->sse_shared);
    if (h->ev_push != NULL)
        event_free(h->ev_push);
    if (h->ev_heartbeat != NULL)
        event_free(h->ev_heartbeat);
    h->ev_push = h->ev_heartbeat = NULL;
}

void http_sse_closed(struct http_conn *hc)
{
    struct http_server *h = hc->h;

    if (hc->stream == NULL)
        return;
    if (hc->sprev != NULL)
        hc->sprev->snext = hc->snext;
    else
        h->streams = hc->snext;
    if (hc->snext != NULL)
        hc->snext->sprev = hc->sprev;
    hc->sprev = hc->snext = NULL;
    hc->stream = NULL;
    h->nstreams--;
}

/* Bytes written to the connection that the peer has not taken yet. */
static size_t http_sse_unsent(const struct http_conn *hc)
{
    return evbuffer_get_length(bufferevent_get_output(hc->bev));
}

/* Send len bytes of data on hc's stream, through tmp (left empty). */
static void http_sse_send(struct http_conn *hc, struct evbuffer *tmp, const char *data, size_t len)
{
    if (evbuffer_add(tmp, data, len) != 0)
        return;
    evhttp_send_reply_chunk(hc->stream, tmp);
    evbuffer_drain(tmp, evbuffer_get_length(tmp));
}

/* The event of who's totals into ev, and their seq. */
static int http_sse_event(struct http_server *h, const struct http_who *w, struct wm_buf *ev,
                          uint64_t *seq)
{
    struct reader who = {w->role, w->principal, w->gemeente};
    struct wm_totals t;
    int rc = reads_totals(h->srv, &who, &t);

    if (rc != WM_OK)
        return rc;
    *seq = t.seq;
    wm_buf_reset(ev);
    return http_sse_format(&t, ev);
}

void http_sse_start(struct http_req *r)
{
    struct http_server *h = r->h;
    struct http_conn *hc = r->hc;
    struct evkeyvalq *oh = evhttp_request_get_output_headers(r->req);
    const char *last =
        evhttp_find_header(evhttp_request_get_input_headers(r->req), "Last-Event-ID");
    struct evbuffer *tmp;
    struct wm_buf ev;
    uint64_t seq, last_seq = 0;
    int have_last, rc;

    if (r->head) {
        http_reply(r, 200, "text/event-stream; charset=utf-8", NULL, 0);
        return;
    }
    /* Last-Event-ID resumes: the totals are a state, not a log, so a client that saw
     * the current seq gets nothing until the next change, any other the current state */
    have_last =
        last != NULL && proto_parse_uint(last, strlen(last), UINT64_MAX, &last_seq) == WM_OK;
    wm_buf_init(&ev);
    tmp = evbuffer_new();
    rc = tmp != NULL ? http_sse_event(h, &r->who, &ev, &seq) : WM_ENOMEM;
    if (rc != WM_OK) {
        http_reply_err(r, rc, "cannot read the totals: %s", wm_strerror(rc));
        goto out;
    }
    evhttp_add_header(oh, "Content-Type", "text/event-stream; charset=utf-8");
    /* nginx would otherwise hold the events back */
    evhttp_add_header(oh, "X-Accel-Buffering", "no");
    http_conn_forever(r);
    http_metrics_status(h, 200);
    evhttp_send_reply_start(r->req, 200, "OK");
    hc->stream = r->req;
    hc->stream_who = r->who;
    hc->sprev = NULL;
    hc->snext = h->streams;
    if (h->streams != NULL)
        h->streams->sprev = hc;
    h->streams = hc;
    h->nstreams++;
    http_sse_send(hc, tmp, "retry: 3000\n\n", 13);
    hc->stream_seq = seq;
    if (!have_last || last_seq != seq)
        http_sse_send(hc, tmp, ev.data, ev.len);
    log_msg(LOG_DEBUG, "http: event stream opened by %s (%zu streams)", r->who.principal,
            h->nstreams);
out:
    if (tmp != NULL)
        evbuffer_free(tmp);
    wm_buf_free(&ev);
}

/* Push the totals to every stream that has not seen them (each stream those its
 * principal may see, every distinct form made once in the push); with heartbeat, a
 * comment to those that have. A stream whose peer does not read misses pushes
 * (stream_seq stays behind, so it gets the totals once it drains) instead of growing
 * our memory. */
static void http_sse_push_all(struct http_server *h, int heartbeat)
{
    struct http_conn *hc, *next;
    struct evbuffer *tmp;

    h->push_dirty = 0;
    h->last_push_ms = http_now_ms();
    if (h->nstreams == 0)
        return;
    tmp = evbuffer_new();
    if (tmp == NULL)
        return;
    reads_shared_next(&h->sse_shared);
    for (hc = h->streams; hc != NULL; hc = next) {
        const struct http_who *w = &hc->stream_who;
        struct reader who = {w->role, w->principal, w->gemeente};
        const struct wm_buf *ev;
        uint64_t seq;

        next = hc->snext; /* a failed write may close hc's stream at once */
        if (http_sse_unsent(hc) >= HTTP_OUT_HIGH_WATER)
            continue;
        ev = reads_shared_get(h->srv, &h->sse_shared, &who, &seq);
        if (ev != NULL && hc->stream_seq != seq) {
            hc->stream_seq = seq;
            http_sse_send(hc, tmp, ev->data, ev->len);
        } else if (heartbeat) {
            http_sse_send(hc, tmp, ": heartbeat\n\n", 13);
        }
    }
    evbuffer_free(tmp);
}

void http_sse_changed(struct http_server *h)
{
    uint64_t now, due;
    struct timeval tv = {0, 0};

    if (h->nstreams == 0 || h->stopping)
        return; /* a new stream reads fresh totals when it starts */
    h->push_dirty = 1;
    if (event_pending(h->ev_push, EV_TIMEOUT, NULL))
        return;
    now = http_now_ms();
    due = h->last_push_ms + HTTP_SSE_MIN_INTERVAL_MS;
    if (due > now) {
        tv.tv_sec = (time_t)((due - now) / 1000u);
        tv.tv_usec = (suseconds_t)((due - now) % 1000u * 1000u);
    }
    event_add(h->ev_push, &tv);
}

static void http_sse_on_push(evutil_socket_t fd, short what, void *arg)
{
    struct http_server *h = arg;

    (void)fd;
    (void)what;
    if (h->push_dirty)
        http_sse_push_all(h, 0);
}

static void http_sse_on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
    struct http_server *h = arg;

    (void)fd;
    (void)what;
    if (h->nstreams > 0 && !h->stopping)
        http_sse_push_all(h, 1);
}

void http_revoke(struct server *srv, const struct auth_table *t)
{
    struct http_server *h = srv->http;
    struct http_conn *hc, *next;

    if (h == NULL)
        return;
    /* a request is judged by its token when it comes; only a stream outlives that */
    for (hc = h->streams; hc != NULL; hc = next) {
        const struct http_who *w = &hc->stream_who;
        const struct auth_entry *e = auth_table_find(t, w->principal);
        const char *why = e == NULL ? "principal removed"
                          : CRYPTO_memcmp(e->hash, w->token_hash, sizeof(e->hash)) != 0
                              ? "token changed"
                          : e->role != w->role               ? "role changed"
                          : strcmp(e->gemeente, w->gemeente) ? "gemeente changed"
                                                             : NULL;
        struct evhttp_request *req = hc->stream;

        next = hc->snext;
        if (why == NULL)
            continue;
        log_msg(LOG_WARN, "SIGHUP: ending the event stream of principal=%s: %s", w->principal, why);
        http_sse_closed(hc);
        evhttp_send_reply_end(req);
    }
}

void http_sse_stop_all(struct http_server *h)
{
    struct http_conn *hc;

    event_del(h->ev_push);
    event_del(h->ev_heartbeat);
    while ((hc = h->streams) != NULL) {
        struct evhttp_request *req = hc->stream;
        http_sse_closed(hc);
        /* the final chunk; the connection then answers 503 and closes */
        evhttp_send_reply_end(req);
    }
}
