/*
 * conn: a client connection. Splits the input into lines (bounded by max_line),
 * hands each to cmd_dispatch, keeps the responses in request order while writes wait
 * for the commit thread, applies backpressure, and closes connections gracefully.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "daemon.h"
#include "log.h"

static void conn_readcb(struct bufferevent *bev, void *arg);
static void conn_writecb(struct bufferevent *bev, void *arg);
static void conn_eventcb(struct bufferevent *bev, short what, void *arg);
static void conn_settle(struct conn *c);
static void conn_try_resume(struct conn *c);
static void conn_on_hold(evutil_socket_t fd, short what, void *arg);
static void conn_on_slice(evutil_socket_t fd, short what, void *arg);
static void conn_answer_step(struct conn *c);
static void conn_continue(struct conn *c);
static int conn_keep_line(struct conn *c, const char *line, size_t len);

/*
 * Every change of c->state goes through here, so that leaving a state undoes what
 * entering it did: a live watcher leaves the watchers' list, and a connection that
 * lingers or dies stops counting against the limit it was counted in.
 */
static void conn_set_state(struct conn *c, enum conn_state s)
{
    enum conn_state old = c->state;

    if (old == s)
        return;
    c->state = s;
    if (old == CONN_WATCHING)
        watch_stop(c);
    if (s == CONN_WATCHING)
        watch_start(c);
    if ((s == CONN_LINGER || s == CONN_DEAD) && old != CONN_LINGER)
        (*c->counted_in)--;
}

int conn_is_watching(const struct conn *c)
{
    return c->state == CONN_WATCH_START || c->state == CONN_WATCHING;
}

int conn_counted(const struct conn *c)
{
    return c->counted_in == &c->srv->nconns && c->state != CONN_LINGER && c->state != CONN_DEAD;
}

/* 1 in the states that read request lines. */
static int conn_takes_lines(const struct conn *c)
{
    return c->state == CONN_READING || conn_is_watching(c);
}

static size_t conn_unsent(const struct conn *c)
{
    size_t n = evbuffer_get_length(bufferevent_get_output(c->bev));

    if (c->held != NULL)
        n += evbuffer_get_length(c->held);
    return n;
}

/* 1 when c must not take more requests now; with half set, the lower thresholds at
 * which a paused connection is read again. */
static int conn_over_limit(const struct conn *c, int half)
{
    size_t pending = commit_pending(c->srv->commit);

    if (half)
        return conn_unsent(c) >= CONN_HIGH_WATER / 2 || c->nwait >= CONN_MAX_WAITING / 2 ||
               pending >= SERVER_MAX_QUEUED / 2;
    return conn_unsent(c) >= CONN_HIGH_WATER || c->nwait >= CONN_MAX_WAITING ||
           pending >= SERVER_MAX_QUEUED;
}

static void conn_pause(struct conn *c)
{
    if (!c->paused) {
        c->paused = 1;
        c->srv->npaused++;
    }
    bufferevent_disable(c->bev, EV_READ);
}

/* The earlier of c's AUTH deadline and its idle deadline (monotonic ms), or
 * UINT64_MAX when neither applies. */
static uint64_t conn_deadline(const struct conn *c)
{
    const struct config *cfg = c->srv->cfg;
    uint64_t d = UINT64_MAX;

    if (c->counted_unauth && cfg->auth_timeout > 0)
        d = c->accepted_ms + (uint64_t)cfg->auth_timeout * 1000u;
    /* a watcher is silent by design */
    if (cfg->idle_timeout > 0 && c->state == CONN_READING) {
        uint64_t idle = c->last_request_ms + (uint64_t)cfg->idle_timeout * 1000u;
        if (idle < d)
            d = idle;
    }
    return d;
}

/* (Re)arm c's timer for its nearest deadline. Requests only move last_request_ms; the
 * timer finds out when it fires, so the heap is not touched for every line. */
static void conn_arm_timer(struct conn *c)
{
    uint64_t d = conn_deadline(c), now = guard_now_ms();
    struct timeval tv;

    if (c->ev_timer == NULL)
        return;
    if (d == UINT64_MAX) {
        evtimer_del(c->ev_timer);
        return;
    }
    d = d > now ? d - now : 0;
    tv.tv_sec = (time_t)(d / 1000u);
    tv.tv_usec = (suseconds_t)(d % 1000u * 1000u + 1000u); /* never early */
    evtimer_add(c->ev_timer, &tv);
}

/* A peer that does not take its responses is dropped after the idle timeout; the
 * deadlines on requests are conn_on_timer's. */
static void conn_set_timeouts(struct conn *c)
{
    struct timeval tv = {(time_t)c->srv->cfg->idle_timeout, 0};

    bufferevent_set_timeouts(c->bev, NULL, c->srv->cfg->idle_timeout > 0 ? &tv : NULL);
    conn_arm_timer(c);
}

/* 1 while c is busy on something it asked for: answers still going out, writes at the
 * writer, a request waiting. Not idle, whatever the clock says. */
static int conn_busy(const struct conn *c)
{
    return conn_unsent(c) > 0 || c->nwait > 0 || c->stalled || c->auth_held || c->answer != NULL;
}

static void conn_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    const struct config *cfg = c->srv->cfg;
    uint64_t now = guard_now_ms();

    (void)fd;
    (void)what;
    if (c->state != CONN_READING)
        return;
    if (c->counted_unauth && cfg->auth_timeout > 0 &&
        now >= c->accepted_ms + (uint64_t)cfg->auth_timeout * 1000u) {
        log_msg(LOG_INFO, "closing connection %llu from %s: no AUTH within %u s",
                (unsigned long long)c->id, c->peer, cfg->auth_timeout);
        c->srv->stats.auth_timeouts++;
        conn_reply_err(c, WM_EAUTH_REQUIRED, "no AUTH within %u s (auth-timeout); closing",
                       cfg->auth_timeout);
        conn_shutdown(c);
        return;
    }
    if (cfg->idle_timeout > 0 && now >= c->last_request_ms + (uint64_t)cfg->idle_timeout * 1000u) {
        if (!conn_busy(c)) {
            log_msg(LOG_DEBUG, "connection %llu from %s: idle timeout", (unsigned long long)c->id,
                    c->peer);
            conn_close(c);
            return;
        }
        c->last_request_ms = now; /* busy: it gets its time again once done */
    }
    conn_arm_timer(c);
}

void conn_accept(struct server *srv, evutil_socket_t fd, const struct sockaddr *sa, int salen,
                 SSL *ssl, struct guard_addr *ga, const char *refused)
{
    struct conn *c;
    int one = 1;

    (void)salen;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        goto fail;
    /* acks are small and latency matters: no Nagle delay behind a delayed ACK */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (ssl != NULL) {
        c->bev = bufferevent_openssl_socket_new(srv->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                BEV_OPT_CLOSE_ON_FREE);
        if (c->bev == NULL)
            goto fail;
        ssl = NULL; /* owned by the bufferevent now, and fd with it */
        fd = -1;
        bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
        c->tls = 1;
    } else {
        c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
        if (c->bev == NULL)
            goto fail;
        fd = -1;
    }
    c->srv = srv;
    c->id = ++srv->next_conn_id;
    c->state = CONN_READING;
    c->counted_in = refused ? &srv->nrefusing : &srv->nconns;
    c->accepted_ms = c->last_request_ms = guard_now_ms();
    server_format_addr(sa, c->peer, sizeof(c->peer));
    if (srv->tokens == NULL) {
        c->role = AUTH_ROLE_ADMIN;
        snprintf(c->principal, sizeof(c->principal), "local");
    }
    c->ev_timer = evtimer_new(srv->base, conn_on_timer, c);
    c->ev_hold = evtimer_new(srv->base, conn_on_hold, c);
    c->ev_slice = evtimer_new(srv->base, conn_on_slice, c);
    if (c->ev_timer == NULL || c->ev_hold == NULL || c->ev_slice == NULL) {
        bufferevent_free(c->bev);
        c->bev = NULL;
        goto fail;
    }
    if (ga != NULL && refused == NULL) {
        c->guard = ga;
        c->counted_unauth = 1;
        guard_conn_open(&srv->guard, ga, 1);
    }
    c->next = srv->conns;
    if (srv->conns != NULL)
        srv->conns->prev = c;
    srv->conns = c;
    (*c->counted_in)++; /* until conn_set_state(LINGER or DEAD) */
    if (refused)
        srv->stats.connections_refused++;
    else
        srv->stats.connections_total++;
    bufferevent_setcb(c->bev, conn_readcb, conn_writecb, conn_eventcb, c);
    conn_set_timeouts(c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    log_msg(LOG_DEBUG, "connection %llu from %s%s%s%s", (unsigned long long)c->id, c->peer,
            c->tls ? " (tls)" : "", refused ? " refused: " : "", refused ? refused : "");
    if (refused) {
        conn_reply_err(c, WM_EUNAVAILABLE, "%s", refused);
        conn_begin_close(c);
    }
    return;
fail:
    log_msg(LOG_ERROR, "cannot set up a connection: out of memory");
    if (c != NULL && c->bev != NULL)
        bufferevent_free(c->bev);
    if (c != NULL && c->ev_timer != NULL)
        event_free(c->ev_timer);
    if (c != NULL && c->ev_hold != NULL)
        event_free(c->ev_hold);
    if (c != NULL && c->ev_slice != NULL)
        event_free(c->ev_slice);
    free(c);
    if (ssl != NULL)
        SSL_free(ssl);
    if (fd >= 0)
        evutil_closesocket(fd);
}

/* Unlink and free the struct (socket already gone, nothing at the writer). */
static void conn_free_struct(struct conn *c)
{
    struct server *srv = c->srv;

    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    if (c->held != NULL)
        evbuffer_free(c->held);
    free(c->seg);
    free(c->deferred);
    free(c);
    server_check_stopped(srv);
}

/* The socket is going: stop the timers and give back c's place in its address's
 * counts. */
static void conn_release(struct conn *c)
{
    answer_free(c);
    if (c->ev_slice != NULL) {
        event_free(c->ev_slice);
        c->ev_slice = NULL;
    }
    if (c->ev_timer != NULL) {
        event_free(c->ev_timer);
        c->ev_timer = NULL;
    }
    if (c->ev_hold != NULL) {
        event_free(c->ev_hold);
        c->ev_hold = NULL;
    }
    c->auth_held = 0;
    if (c->guard != NULL) {
        guard_conn_close(&c->srv->guard, c->guard, c->counted_unauth);
        c->guard = NULL;
        c->counted_unauth = 0;
    }
}

void conn_close(struct conn *c)
{
    struct server *srv = c->srv;

    if (c->state == CONN_DEAD)
        return;
    conn_set_state(c, CONN_DEAD);
    if (c->paused) {
        c->paused = 0;
        srv->npaused--;
    }
    if (c->denials_unlogged > 0)
        log_msg(LOG_INFO, "denied: principal=%s %llu more times on the connection from %s",
                c->principal, (unsigned long long)c->denials_unlogged, c->peer);
    log_msg(LOG_DEBUG, "connection %llu closed", (unsigned long long)c->id);
    conn_release(c);
    bufferevent_free(c->bev);
    c->bev = NULL;
    if (c->nwait > 0) {
        /* its writes are still committed; their acks have nowhere to go */
        c->stalled = 0;
        if (c->held != NULL) {
            evbuffer_free(c->held);
            c->held = NULL;
        }
        return;
    }
    conn_free_struct(c);
}

void conn_free_all(struct server *srv)
{
    struct conn *c, *next;

    for (c = srv->conns; c != NULL; c = next) {
        next = c->next;
        conn_set_state(c, CONN_DEAD);
        conn_release(c);
        if (c->bev != NULL)
            bufferevent_free(c->bev);
        if (c->held != NULL)
            evbuffer_free(c->held);
        free(c->seg);
        free(c->deferred);
        free(c);
    }
    srv->conns = NULL;
    srv->nconns = 0;
    srv->nrefusing = 0;
    srv->npaused = 0;
}

void conn_begin_close(struct conn *c)
{
    if (c->state == CONN_CLOSING || c->state == CONN_DROPPING || c->state == CONN_LINGER ||
        c->state == CONN_DEAD)
        return;
    conn_set_state(c, CONN_CLOSING);
    bufferevent_disable(c->bev, EV_READ);
    evbuffer_drain(bufferevent_get_input(c->bev),
                   evbuffer_get_length(bufferevent_get_input(c->bev)));
}

/* Every response is out: shut our side and wait briefly for the peer's EOF, so that
 * closing with unread input does not reset the connection before the peer has read
 * our last line. */
static void conn_linger(struct conn *c)
{
    struct timeval tv = {CONN_LINGER_SECONDS, 0};
    evutil_socket_t fd;

    if (c->tls) {
        /* send close_notify so the peer sees a clean end, not a truncation */
        SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
        if (ssl != NULL && SSL_shutdown(ssl) < 0)
            ERR_clear_error();
        conn_close(c);
        return;
    }
    fd = bufferevent_getfd(c->bev);
    if (fd < 0 || shutdown(fd, SHUT_WR) != 0) {
        conn_close(c);
        return;
    }
    /* A client that read its last reply may reconnect at once: its slot is free now
     * (docs/BUGS.md #2). */
    conn_set_state(c, CONN_LINGER);
    bufferevent_set_timeouts(c->bev, &tv, NULL);
    bufferevent_enable(c->bev, EV_READ);
}

/* End of every callback that touched c: close it when its time has come. */
static void conn_settle(struct conn *c)
{
    if (c->state == CONN_DEAD || c->state == CONN_LINGER)
        return;
    if (c->state == CONN_DROPPING) {
        conn_close(c);
        return;
    }
    if (c->state == CONN_CLOSING && c->nwait == 0 && !c->stalled && !c->auth_held &&
        c->answer == NULL && conn_unsent(c) == 0)
        conn_linger(c);
}

void conn_shutdown(struct conn *c)
{
    conn_begin_close(c);
    conn_settle(c);
}

void conn_begin_watch(struct conn *c)
{
    conn_set_state(c, CONN_WATCH_START);
    conn_arm_timer(c); /* no idle deadline for a watcher */
    if (c->nwait == 0)
        conn_set_state(c, CONN_WATCHING);
}

/* "GET ", "POST ", "HEAD " as the first bytes: a web browser or scanner. */
static int conn_looks_http(struct evbuffer *in)
{
    char head[5];
    ev_ssize_t n = evbuffer_copyout(in, head, sizeof(head));

    return (n >= 4 && memcmp(head, "GET ", 4) == 0) ||
           (n >= 5 && (memcmp(head, "POST ", 5) == 0 || memcmp(head, "HEAD ", 5) == 0));
}

/* The offset of the first LF among in's first lim bytes, or -1 when there is none. A
 * line nearly always lies in the buffer's first chunk: memchr looks there first, and
 * libevent's search across chunks runs only when the chunk ends before lim. */
static ev_ssize_t conn_find_lf(struct evbuffer *in, size_t lim)
{
    struct evbuffer_iovec v;
    struct evbuffer_ptr end, lf;

    if (evbuffer_peek(in, 1, NULL, &v, 1) == 1) {
        const char *nl = memchr(v.iov_base, '\n', v.iov_len < lim ? v.iov_len : lim);

        if (nl != NULL)
            return nl - (const char *)v.iov_base;
        if (v.iov_len >= lim)
            return -1;
    }
    evbuffer_ptr_set(in, &end, lim, EVBUFFER_PTR_SET);
    lf = evbuffer_search_range(in, "\n", 1, NULL, &end);
    return lf.pos;
}

static void conn_process_input(struct conn *c)
{
    struct server *srv = c->srv;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t max = srv->cfg->max_line;

    /* an answer still going out comes first: the next request waits for its END */
    while (conn_takes_lines(c) && !c->stalled && !c->auth_held && c->answer == NULL) {
        size_t avail = evbuffer_get_length(in), lim, len;
        ev_ssize_t lf;

        if (avail == 0)
            break;
        if (conn_over_limit(c, 0)) {
            conn_pause(c);
            break;
        }
        /* a LF can only matter within max_line + CR + LF bytes */
        lim = avail < max + 2 ? avail : max + 2;
        lf = conn_find_lf(in, lim);
        if (c->discarding) {
            if (lf < 0) {
                evbuffer_drain(in, lim);
                continue;
            }
            evbuffer_drain(in, (size_t)lf + 1);
            c->discarding = 0;
            conn_reply_err(c, WM_ETOO_LONG, "line exceeds %zu bytes", max);
            continue;
        }
        if (lf < 0 && avail <= max + 1)
            break; /* an incomplete line that may still fit: wait for more */
        if (!c->saw_line) {
            c->saw_line = 1;
            if (conn_looks_http(in)) {
                log_msg(LOG_INFO, "closing connection from %s: HTTP request on the protocol port",
                        c->peer);
                conn_set_state(c, CONN_DROPPING);
                break;
            }
        }
        if (lf < 0) {
            /* too long already; drop it through its LF, however it arrives */
            c->discarding = 1;
            evbuffer_drain(in, lim);
            continue;
        }
        len = (size_t)lf;
        evbuffer_remove(in, srv->line, len + 1);
        if (len > 0 && srv->line[len - 1] == '\r')
            len--;
        if (len > max) {
            conn_reply_err(c, WM_ETOO_LONG, "line exceeds %zu bytes", max);
            continue;
        }
        if (len == 0)
            continue;
        /* a complete request: the idle timeout counts from here, never from a byte */
        c->last_request_ms = guard_now_ms();
        srv->line[len] = '\0';
        cmd_dispatch(c, srv->line, len);
    }
}

/* Read c again if it was paused and has come below the low thresholds. */
static void conn_try_resume(struct conn *c)
{
    if (!c->paused || c->stalled || c->auth_held || c->answer != NULL || conn_over_limit(c, 1))
        return;
    c->paused = 0;
    c->srv->npaused--;
    conn_process_input(c);
    if (!c->paused && !c->stalled && !c->auth_held && c->answer == NULL && conn_takes_lines(c))
        bufferevent_enable(c->bev, EV_READ);
}

static void conn_readcb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    if (!conn_takes_lines(c)) {
        evbuffer_drain(in, evbuffer_get_length(in));
        /* a lingering peer that keeps talking: its data is read, so closing now
         * sends no reset, and it cannot hold the connection open by trickling */
        if (c->state == CONN_LINGER)
            conn_close(c);
        return;
    }
    conn_process_input(c);
    conn_settle(c);
}

/* The output buffer has drained completely, or to ANSWER_LOW_WATER while an answer
 * goes out in slices. */
static void conn_writecb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;

    (void)bev;
    if (c->answer != NULL)
        conn_answer_step(c);
    conn_try_resume(c);
    conn_settle(c);
}

/* The next slice of c's answer; once its END is out, c reads requests again (those
 * that came meanwhile first). */
static void conn_answer_step(struct conn *c)
{
    if (answer_more(c) == 1)
        conn_continue(c);
}

static void conn_on_slice(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;

    (void)fd;
    (void)what;
    if (c->bev == NULL)
        return;
    conn_answer_step(c);
    conn_try_resume(c);
    conn_settle(c);
}

void conn_drop(struct conn *c)
{
    conn_set_state(c, CONN_DROPPING);
}

static void conn_eventcb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;

    (void)bev;
    if (what & BEV_EVENT_CONNECTED)
        return; /* TLS handshake done */
    if (c->state == CONN_LINGER) {
        conn_close(c);
        return;
    }
    if (what & BEV_EVENT_ERROR) {
        if (c->tls) {
            unsigned long e = bufferevent_get_openssl_error(c->bev);
            if (e != 0) {
                char buf[256];
                ERR_error_string_n(e, buf, sizeof(buf));
                log_msg(LOG_INFO, "tls connection from %s failed: %s", c->peer, buf);
            }
        }
        conn_close(c);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        /* the write timeout: a peer that takes nothing of its answers for idle-timeout */
        log_msg(LOG_DEBUG, "connection %llu from %s: write timeout", (unsigned long long)c->id,
                c->peer);
        conn_close(c);
        return;
    }
    if (what & BEV_EVENT_EOF) {
        /* the peer will send no more; answer what it sent, then close */
        if (conn_takes_lines(c))
            conn_begin_close(c);
        conn_settle(c);
    }
}

void conn_reply(struct conn *c, const char *data, size_t len)
{
    if (c->bev == NULL)
        return;
    if (c->nwait == 0) {
        evbuffer_add(bufferevent_get_output(c->bev), data, len);
        return;
    }
    if (c->held == NULL) {
        c->held = evbuffer_new();
        if (c->held == NULL) {
            log_msg(LOG_ERROR, "connection %llu: out of memory, closing",
                    (unsigned long long)c->id);
            conn_set_state(c, CONN_DROPPING);
            return;
        }
    }
    evbuffer_add(c->held, data, len);
    c->seg[(c->seg_head + c->nwait - 1) % c->seg_cap] += (uint32_t)len;
}

/* Format "ERR ..." into out (reset first) and count it. */
static void conn_format_err(struct server *srv, struct wm_buf *out, int err, const char *msg)
{
    wm_buf_reset(out);
    proto_fmt_error(out, err, msg);
    stats_count_error(srv, err);
}

int conn_reply_err(struct conn *c, int err, const char *fmt, ...)
{
    struct server *srv = c->srv;
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    conn_format_err(srv, &srv->out, err, msg);
    if (!srv->out.oom)
        conn_reply(c, srv->out.data, srv->out.len);
    return err;
}

int conn_wait_write(struct conn *c)
{
    if (c->nwait == c->seg_cap) {
        size_t ncap = c->seg_cap ? c->seg_cap * 2 : 64;
        uint32_t *ns = malloc(ncap * sizeof(*ns));
        if (ns == NULL)
            return WM_ENOMEM;
        /* unwrap the ring into the new array, oldest first */
        for (size_t i = 0; i < c->nwait; i++)
            ns[i] = c->seg[(c->seg_head + i) % c->seg_cap];
        free(c->seg);
        c->seg = ns;
        c->seg_cap = ncap;
        c->seg_head = 0;
    }
    c->seg[(c->seg_head + c->nwait) % c->seg_cap] = 0;
    c->nwait++;
    return WM_OK;
}

void conn_defer(struct conn *c, const char *line, size_t len)
{
    if (conn_keep_line(c, line, len) != WM_OK)
        return;
    c->stalled = 1;
    bufferevent_disable(c->bev, EV_READ);
}

/* Keep line in c->deferred (allocated once). Returns WM_OK or WM_ENOMEM (answered). */
static int conn_keep_line(struct conn *c, const char *line, size_t len)
{
    if (c->deferred == NULL) {
        c->deferred = malloc(c->srv->cfg->max_line + 1);
        if (c->deferred == NULL) {
            conn_reply_err(c, WM_EINTERNAL, "out of memory");
            return WM_ENOMEM;
        }
    }
    memcpy(c->deferred, line, len);
    c->deferred[len] = '\0';
    c->deferred_len = len;
    return WM_OK;
}

/* Read c's input again after a stalled or held request ran, unless something else
 * keeps it from reading. */
static void conn_continue(struct conn *c)
{
    if (!c->paused && conn_takes_lines(c)) {
        conn_process_input(c);
        if (!c->paused && !c->stalled && !c->auth_held && c->answer == NULL && conn_takes_lines(c))
            bufferevent_enable(c->bev, EV_READ);
    }
}

static void conn_on_hold(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;

    (void)fd;
    (void)what;
    if (!c->auth_held || c->bev == NULL)
        return;
    c->auth_held = 0;
    cmd_dispatch(c, c->deferred, c->deferred_len);
    conn_continue(c);
    conn_try_resume(c);
    conn_settle(c);
}

void conn_hold(struct conn *c, const char *line, size_t len, uint64_t wait_ms)
{
    struct timeval tv = {(time_t)(wait_ms / 1000u), (suseconds_t)(wait_ms % 1000u * 1000u)};

    if (conn_keep_line(c, line, len) != WM_OK)
        return;
    c->auth_held = 1;
    bufferevent_disable(c->bev, EV_READ);
    evtimer_add(c->ev_hold, &tv);
}

void conn_authenticated(struct conn *c)
{
    if (c->counted_unauth && c->guard != NULL) {
        guard_conn_authenticated(&c->srv->guard, c->guard);
        c->counted_unauth = 0;
    }
    conn_arm_timer(c);
}

/* Why t no longer lets c's principal in as c was let in, or NULL when it still does
 * (min-count and round may change: they are re-read per answer). */
static const char *conn_revoked(const struct conn *c, const struct auth_table *t)
{
    const struct auth_entry *e = auth_table_find(t, c->principal);

    if (e == NULL)
        return "principal removed";
    if (CRYPTO_memcmp(e->hash, c->token_hash, sizeof(e->hash)) != 0)
        return "token changed";
    if (e->role != c->role)
        return "role changed";
    if (strcmp(e->gemeente, c->gemeente) != 0)
        return "gemeente changed";
    return NULL;
}

void conn_revoke(struct server *srv, const struct auth_table *t)
{
    struct conn *c, *next;

    for (c = srv->conns; c != NULL; c = next) {
        const char *why;

        next = c->next;
        if (c->role == AUTH_ROLE_NONE || c->state == CONN_DEAD || c->state == CONN_LINGER ||
            c->state == CONN_DROPPING)
            continue;
        why = conn_revoked(c, t);
        if (why == NULL)
            continue;
        log_msg(LOG_WARN, "SIGHUP: closing connection %llu of principal=%s from %s: %s",
                (unsigned long long)c->id, c->principal, c->peer, why);
        /* no more of its requests are read; what it sent before is answered, and its
         * writes already queued are committed (they were allowed when sent) */
        c->role = AUTH_ROLE_NONE;
        conn_shutdown(c);
    }
}

void conn_wait_done(struct conn *c, const char *data, size_t len)
{
    struct evbuffer *out;
    uint32_t seg;

    seg = c->seg[c->seg_head];
    c->seg_head = (c->seg_head + 1) % c->seg_cap;
    c->nwait--;
    if (c->state == CONN_DEAD) {
        if (c->nwait == 0)
            conn_free_struct(c);
        return;
    }
    out = bufferevent_get_output(c->bev);
    if (data != NULL)
        evbuffer_add(out, data, len);
    if (seg > 0)
        evbuffer_remove_buffer(c->held, out, seg);

    if (c->nwait == 0) {
        if (c->stalled) {
            c->stalled = 0;
            cmd_dispatch(c, c->deferred, c->deferred_len);
            conn_continue(c);
        }
        if (c->state == CONN_WATCH_START)
            conn_set_state(c, CONN_WATCHING);
    }
    conn_try_resume(c);
    conn_settle(c);
}

void conn_write_done(struct conn *c, const struct store_item *it)
{
    struct server *srv = c->srv;

    if (c->state == CONN_DEAD) {
        conn_wait_done(c, NULL, 0);
        return;
    }
    wm_buf_reset(&srv->out);
    if (it->result != WM_OK)
        conn_format_err(srv, &srv->out, it->result, it->err);
    else if (it->op == STORE_OP_REPLACE && it->replaced != 0)
        proto_fmt_replaced(&srv->out, it->seq, it->replaced);
    else if (it->op == STORE_OP_EVENT || it->op == STORE_OP_RETRACT || it->op == STORE_OP_NOTE ||
             it->op == STORE_OP_REPLACE)
        proto_fmt_ack(&srv->out, it->dup, it->seq);
    else
        wm_buf_puts(&srv->out, "OK\n");
    conn_wait_done(c, srv->out.oom ? NULL : srv->out.data, srv->out.len);
}

void conn_resume_queue_waiters(struct server *srv)
{
    struct conn *c, *next;

    if (srv->npaused == 0)
        return;
    for (c = srv->conns; c != NULL; c = next) {
        next = c->next;
        if (c->paused) {
            conn_try_resume(c);
            conn_settle(c);
        }
    }
}
