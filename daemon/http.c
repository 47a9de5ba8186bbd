/*
 * http: the HTTP listeners on evhttp and what every request goes through: connection
 * tracking and limits (http-max-connections, a deadline for a whole request against
 * slow senders, bounded buffers), GET and HEAD only, bearer tokens against the token
 * table, routing, and the reply, error and ETag handling the endpoints share.
 */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "http_int.h"
#include "log.h"

uint64_t http_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- connections ---------------------------------------------------------- */

/*
 * evhttp owns its connections; what we keep per connection (its count against
 * http-max-connections, its request deadline, an event stream) hangs on evhttp's close
 * callback, the one place every connection passes when it goes. That callback is set on
 * the evhttp_connection, which does not exist yet when evhttp asks us for the
 * bufferevent (http_on_connection): the connection is adopted a moment later, in the
 * same loop iteration, from the bufferevent's callback argument, which evhttp sets to
 * its connection. A bufferevent that evhttp already freed (out of memory) has no
 * callbacks left and is simply forgotten. A request finds its connection by its
 * bufferevent in a small hash.
 */

static size_t http_hash(const struct http_server *h, const void *p)
{
    uint64_t v = (uint64_t)(uintptr_t)p;

    v ^= v >> 17;
    v *= 0x9E3779B97F4A7C15ull;
    return (size_t)(v >> 32) & (h->nbuckets - 1);
}

static struct http_conn *http_conn_find(struct http_server *h, struct bufferevent *bev)
{
    struct http_conn *hc;

    for (hc = h->buckets[http_hash(h, bev)]; hc != NULL; hc = hc->hnext) {
        if (hc->bev == bev)
            return hc;
    }
    return NULL;
}

static void http_conn_link(struct http_server *h, struct http_conn *hc)
{
    size_t b = http_hash(h, hc->bev);

    hc->hnext = h->buckets[b];
    h->buckets[b] = hc;
    hc->prev = NULL;
    hc->next = h->conns;
    if (h->conns != NULL)
        h->conns->prev = hc;
    h->conns = hc;
    if (hc->refused)
        h->nrefusing++;
    else
        h->nconns++;
}

/* Forget hc and free it (its connection is gone or going). */
static void http_conn_drop(struct http_conn *hc)
{
    struct http_server *h = hc->h;
    struct http_conn **pp = &h->buckets[http_hash(h, hc->bev)];

    while (*pp != NULL && *pp != hc)
        pp = &(*pp)->hnext;
    if (*pp == hc)
        *pp = hc->hnext;
    if (hc->prev != NULL)
        hc->prev->next = hc->next;
    else
        h->conns = hc->next;
    if (hc->next != NULL)
        hc->next->prev = hc->prev;
    if (hc->refused)
        h->nrefusing--;
    else
        h->nconns--;
    event_free(hc->deadline);
    event_free(hc->hold);
    free(hc);
}

/* evhttp frees hc's connection: the peer left, a timeout, an error, a close after the
 * response, or the module's end. */
static void http_conn_closed(struct evhttp_connection *evcon, void *arg)
{
    struct http_conn *hc = arg;
    struct evhttp_request *req = hc->stream;

    (void)evcon;
    if (req != NULL) {
        http_sse_closed(hc);
        /* A stream whose peer left has been handed to us (it has no connection any
         * more) and is freed by ending it; one still on its connection goes with it. */
        if (evhttp_request_get_connection(req) == NULL)
            evhttp_send_reply_end(req);
    }
    http_conn_drop(hc);
}

/* Adopt the connections accepted in this loop iteration (see the comment above). */
static void http_on_adopt(evutil_socket_t fd, short what, void *arg)
{
    struct http_server *h = arg;
    struct http_conn *hc, *next;

    (void)fd;
    (void)what;
    for (hc = h->pending; hc != NULL; hc = next) {
        void *cbarg = NULL;
        bufferevent_event_cb errcb = NULL;
        next = hc->pending_next;
        hc->pending_next = NULL;
        bufferevent_getcb(hc->bev, NULL, NULL, &errcb, &cbarg);
        if (errcb == NULL || cbarg == NULL) {
            http_conn_drop(hc);
            continue;
        }
        hc->evcon = cbarg;
        evhttp_connection_set_closecb(hc->evcon, http_conn_closed, hc);
    }
    h->pending = NULL;
}

static void http_on_hold(evutil_socket_t fd, short what, void *arg);

/* The request deadline passed (or a refused connection beyond HTTP_MAX_REFUSING):
 * close the connection. */
static void http_on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct http_conn *hc = arg;

    (void)fd;
    (void)what;
    log_msg(LOG_DEBUG, "http: closing a connection: no complete request within %u s",
            hc->h->srv->cfg->http_timeout);
    if (hc->evcon != NULL) {
        evhttp_connection_free(hc->evcon); /* frees hc through http_conn_closed */
    } else {
        evutil_socket_t s = bufferevent_getfd(hc->bev);
        if (s >= 0)
            shutdown(s, SHUT_RDWR); /* evhttp reads EOF and frees it */
    }
}

static void http_arm_deadline(struct http_conn *hc, unsigned seconds)
{
    struct timeval tv = {(time_t)seconds, 0};

    evtimer_add(hc->deadline, &tv);
}

/* evhttp's bevcb: a connection was accepted; make its bufferevent. Returning NULL (out
 * of memory) lets evhttp make a plain one, which http_on_request does not find and
 * answers 503. */
static struct bufferevent *http_on_connection(struct event_base *base, void *arg)
{
    struct http_server *h = arg;
    const struct config *cfg = h->srv->cfg;
    struct bufferevent *bev = NULL;
    struct http_conn *hc;

    h->connections_total++;
    h->srv->stats.connections_total++;
    hc = calloc(1, sizeof(*hc));
    if (hc == NULL)
        goto fail;
    hc->h = h;
    hc->deadline = evtimer_new(base, http_on_deadline, hc);
    hc->hold = evtimer_new(base, http_on_hold, hc);
    if (hc->deadline == NULL || hc->hold == NULL)
        goto fail;
    if (h->tls) {
        SSL *ssl = SSL_new(h->srv->tls_ctx);
        if (ssl == NULL)
            goto fail;
        bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                             BEV_OPT_CLOSE_ON_FREE);
        if (bev == NULL) {
            SSL_free(ssl);
            goto fail;
        }
        /* a browser may close without close_notify: that is an end, not an error */
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    } else {
        bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
        if (bev == NULL)
            goto fail;
    }
    /* a peer that sends without end stops being read once a request's worth waits */
    bufferevent_setwatermark(bev, EV_READ, 0, cfg->http_max_header + HTTP_MAX_BODY + 1);
    hc->bev = bev;
    hc->refused = h->nconns >= cfg->http_max_connections;
    http_conn_link(h, hc);
    hc->pending_next = h->pending;
    h->pending = hc;
    event_active(h->ev_adopt, EV_TIMEOUT, 0);
    if (hc->refused) {
        h->connections_refused++;
        h->srv->stats.connections_refused++;
        log_msg(LOG_WARN, "http: connection refused: %zu connections open (http-max-connections)",
                h->nconns);
        /* a flood is closed at once instead of being answered */
        http_arm_deadline(hc, h->nrefusing > HTTP_MAX_REFUSING ? 0 : cfg->http_timeout);
    } else {
        http_arm_deadline(hc, cfg->http_timeout);
    }
    return bev;
fail:
    log_msg(LOG_ERROR, "http: cannot set up a connection: out of memory");
    if (hc != NULL) {
        if (hc->deadline != NULL)
            event_free(hc->deadline);
        if (hc->hold != NULL)
            event_free(hc->hold);
        free(hc);
    }
    return NULL;
}

/* A response went out completely: the next request has its own deadline. */
static void http_on_complete(struct evhttp_request *req, void *arg)
{
    struct http_conn *hc = arg;

    (void)req;
    if (hc->stream == NULL && !hc->h->stopping)
        http_arm_deadline(hc, hc->h->srv->cfg->http_timeout);
}

void http_conn_forever(struct http_req *r)
{
    struct timeval wr = {(time_t)r->h->srv->cfg->http_timeout, 0};

    if (r->hc == NULL)
        return;
    evtimer_del(r->hc->deadline);
    /* silent by design: no read timeout; a peer that stops reading still times out */
    bufferevent_set_timeouts(r->hc->bev, NULL, &wr);
}

/* ---- replies ------------------------------------------------------------- */

static const char *http_peer(struct http_req *r, char *out, size_t outlen)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(r->req);
    char *addr = NULL;
    ev_uint16_t port = 0;

    if (evcon != NULL)
        evhttp_connection_get_peer(evcon, &addr, &port);
    snprintf(out, outlen, "%s:%u", addr != NULL ? addr : "?", (unsigned)port);
    return out;
}

void http_reply(struct http_req *r, int status, const char *ctype, const char *body, size_t len)
{
    struct evkeyvalq *oh = evhttp_request_get_output_headers(r->req);
    char n[32];

    if (ctype != NULL)
        evhttp_add_header(oh, "Content-Type", ctype);
    if (r->close)
        evhttp_add_header(oh, "Connection", "close");
    if (r->head || status == 304) {
        /* evhttp sends no body for these; HEAD still says how long GET's would be */
        if (ctype != NULL) {
            snprintf(n, sizeof(n), "%zu", len);
            evhttp_add_header(oh, "Content-Length", n);
        }
    } else if (len > 0 && evbuffer_add(evhttp_request_get_output_buffer(r->req), body, len) != 0) {
        log_msg(LOG_ERROR, "http: out of memory for a %zu-byte answer", len);
        evhttp_remove_header(oh, "Content-Type");
        status = 500;
        r->close = 1;
        evhttp_add_header(oh, "Connection", "close");
    }
    http_metrics_status(r->h, status);
    if (log_enabled(LOG_DEBUG)) {
        char peer[80];
        log_msg(LOG_DEBUG, "http: %s %.*s %d from %s principal=%s", r->head ? "HEAD" : "GET",
                (int)(r->path_len > 200 ? 200 : r->path_len), r->path ? r->path : "", status,
                http_peer(r, peer, sizeof(peer)), r->who.principal[0] ? r->who.principal : "-");
    }
    evhttp_send_reply(r->req, status, NULL, NULL);
}

static int http_status_of(int err)
{
    switch (err) {
    case WM_ESYNTAX:
    case WM_EINVALID:
    case WM_ECONFIG:
        return 400;
    case WM_EAUTH_REQUIRED:
    case WM_EAUTH_FAILED:
        return 401;
    case WM_EDENIED:
        return 403;
    case WM_EUNKNOWN_PROJECT:
    case WM_ENOT_FOUND:
        return 404;
    case WM_EUNKNOWN_COMMAND:
        return 405;
    case WM_ECONFLICT:
        return 409;
    case WM_ETOO_LONG:
        return 414;
    case WM_ETOO_LARGE:
        return 413;
    case WM_EUNAVAILABLE:
    case WM_ESTORAGE:
    case WM_EIO:
    case WM_EMAPFULL:
    case WM_EVERSION:
        return 503;
    default:
        return 500;
    }
}

int http_reply_err(struct http_req *r, int err, const char *fmt, ...)
{
    char msg[512];
    char *body = NULL;
    json_t *o;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    stats_count_error(r->h->srv, err);
    /* messages are valid UTF-8 (proto quotes what it names), so this only fails when
     * memory runs out */
    o = json_pack("{s:{s:s,s:s}}", "error", "code", wm_err_code(err), "message", msg);
    if (o != NULL)
        body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (body != NULL) {
        size_t n = strlen(body);
        body[n] = '\n'; /* json_dumps' NUL: the body's last byte, never sent as text */
        http_reply(r, http_status_of(err), "application/json", body, n + 1);
        free(body);
    } else {
        static const char fallback[] = "{\"error\":{\"code\":\"internal\",\"message\":\"out of "
                                       "memory\"}}\n";
        http_reply(r, 500, "application/json", fallback, sizeof(fallback) - 1);
    }
    return err;
}

/* ---- validators ------------------------------------------------------------ */

void http_etag(const struct http_req *r, uint64_t seq, char out[HTTP_ETAG_MAX])
{
    const struct http_server *h = r->h;
    struct server *srv = h->srv;

    /* today too: PROGRESS without asof= changes with the date alone; the principal,
     * whose answers may differ from another's (a gemeente-bound one) */
    server_now(srv);
    snprintf(out, HTTP_ETAG_MAX, "\"%llu-%llx-%llu-%ld-%s\"", (unsigned long long)seq,
             (unsigned long long)srv->stats.started, (unsigned long long)h->registry_gen,
             (long)srv->env.today, r->who.principal);
}

/* 1 when the If-None-Match list holds etag or "*" (weak comparison, so W/ is ignored). */
static int http_etag_match(const char *list, const char *etag)
{
    size_t elen = strlen(etag);
    const char *p = list;

    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            return 0;
        if (*p == '*')
            return 1;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        if (*p == '"') {
            const char *end = strchr(p + 1, '"');
            if (end == NULL)
                return 0;
            if ((size_t)(end + 1 - p) == elen && memcmp(p, etag, elen) == 0)
                return 1;
            p = end + 1;
        } else {
            while (*p != '\0' && *p != ',')
                p++;
        }
    }
}

int http_not_modified(struct http_req *r, const char *etag)
{
    const char *inm = evhttp_find_header(evhttp_request_get_input_headers(r->req), "If-None-Match");

    evhttp_add_header(evhttp_request_get_output_headers(r->req), "ETag", etag);
    if (inm == NULL || !http_etag_match(inm, etag))
        return 0;
    http_reply(r, 304, NULL, NULL, 0);
    return 1;
}

/* ---- auth ------------------------------------------------------------------ */

/* The guard's entry of r's peer address, or NULL when it cannot be told. */
static struct guard_addr *http_guard(struct http_req *r)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(r->req);
    const struct sockaddr *sa = evcon != NULL ? evhttp_connection_get_addr(evcon) : NULL;

    return sa != NULL ? guard_get(&r->h->srv->guard, sa) : NULL;
}

/* Set r->who from the Authorization header (or open mode). Returns WM_OK, or the error
 * already answered (401, or 403 for a role that may not read). *held is set to 1 when
 * the request waits out its address's delay after failed tokens (r->hc holds it). */
static int http_auth(struct http_req *r, int *held)
{
    struct server *srv = r->h->srv;
    struct evkeyvalq *oh = evhttp_request_get_output_headers(r->req);
    const struct auth_entry *e;
    struct guard_addr *ga;
    const char *hdr, *tok;
    char peer[80];
    uint64_t now, wait;
    size_t len;

    if (srv->tokens == NULL) {
        /* open mode, as on the line protocol: every request is admin "local" */
        r->who.role = AUTH_ROLE_ADMIN;
        snprintf(r->who.principal, sizeof(r->who.principal), "local");
        return WM_OK;
    }
    hdr = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Authorization");
    tok = hdr;
    if (tok != NULL) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        if (strncasecmp(tok, "Bearer", 6) == 0 && (tok[6] == ' ' || tok[6] == '\t'))
            tok += 6;
        else
            tok = NULL;
    }
    if (tok != NULL)
        while (*tok == ' ' || *tok == '\t')
            tok++;
    len = tok != NULL ? strlen(tok) : 0;
    while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
        len--;
    if (len == 0) {
        evhttp_add_header(oh, "WWW-Authenticate", "Bearer realm=\"werkmonitor\"");
        return http_reply_err(r, WM_EAUTH_REQUIRED,
                              hdr == NULL ? "send 'Authorization: Bearer <token>'"
                                          : "the Authorization header must be 'Bearer <token>'");
    }
    /* an address whose tokens failed waits before the next is judged, as an AUTH on the
     * line protocol does: the request is held (http_on_hold runs it again then) */
    ga = http_guard(r);
    now = guard_now_ms();
    if (ga != NULL && (wait = guard_auth_wait_ms(ga, now)) > 0) {
        struct timeval tv = {(time_t)(wait / 1000u), (suseconds_t)(wait % 1000u * 1000u)};

        r->hc->held = r->req;
        evtimer_add(r->hc->hold, &tv);
        *held = 1;
        return WM_OK;
    }
    e = auth_table_lookup(srv->tokens, tok, len);
    if (e == NULL) {
        unsigned n = r->hc != NULL ? ++r->hc->auth_failures : 1;
        srv->stats.auth_failures++;
        log_msg(LOG_DEBUG, "http: auth failed from %s (%u of %d)", http_peer(r, peer, sizeof(peer)),
                n, HTTP_MAX_AUTH_FAILURES);
        if (ga != NULL)
            guard_auth_failed(&srv->guard, ga, now, "a bearer token (http)");
        if (n >= HTTP_MAX_AUTH_FAILURES)
            r->close = 1;
        evhttp_add_header(oh, "WWW-Authenticate",
                          "Bearer realm=\"werkmonitor\", error=\"invalid_token\"");
        return http_reply_err(r, WM_EAUTH_FAILED, "wrong token");
    }
    r->who.role = e->role;
    memcpy(r->who.principal, e->principal, sizeof(r->who.principal));
    memcpy(r->who.gemeente, e->gemeente, sizeof(r->who.gemeente));
    memcpy(r->who.token_hash, e->hash, sizeof(r->who.token_hash));
    if (e->role < AUTH_ROLE_READER) {
        srv->stats.denials++;
        return http_reply_err(r, WM_EDENIED, "role %s may not read", auth_role_name(e->role));
    }
    return WM_OK;
}

/* ---- routing --------------------------------------------------------------- */

static const struct http_route {
    const char *path;
    int auth; /* 1: needs a token of a reader or more (except in open mode) */
    void (*fn)(struct http_req *r);
} http_routes[] = {
    {"/healthz", 0, http_api_healthz},      {"/readyz", 0, http_api_readyz},
    {"/metrics", 1, http_api_metrics},      {"/v1/count", 1, http_api_count},
    {"/v1/progress", 1, http_api_progress}, {"/v1/projects", 1, http_api_projects},
    {"/v1/totals", 1, http_api_totals},     {"/v1/totals/stream", 1, http_sse_start},
    {"/v1/notes", 1, http_api_notes},
};

static const char *http_method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_TRACE:
        return "TRACE";
    case EVHTTP_REQ_CONNECT:
        return "CONNECT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    }
    return "?";
}

static void http_on_request(struct evhttp_request *req, void *arg)
{
    struct http_server *h = arg;
    const struct config *cfg = h->srv->cfg;
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    const char *uri = evhttp_request_get_uri(req), *q;
    char path[80];
    size_t ulen = strlen(uri);
    struct http_req r;

    memset(&r, 0, sizeof(r));
    r.h = h;
    r.req = req;
    r.head = m == EVHTTP_REQ_HEAD;
    if (evcon != NULL)
        r.hc = http_conn_find(h, evhttp_connection_get_bufferevent(evcon));
    if (r.hc != NULL) {
        evtimer_del(r.hc->deadline);
        evhttp_request_set_on_complete_cb(req, http_on_complete, r.hc);
    }
    evhttp_add_header(oh, "Cache-Control", "no-cache");
    evhttp_add_header(oh, "X-Content-Type-Options", "nosniff");
    if (r.hc == NULL || r.hc->refused) {
        r.close = 1;
        if (r.hc == NULL)
            http_reply_err(&r, WM_EUNAVAILABLE, "out of memory");
        else
            http_reply_err(&r, WM_EUNAVAILABLE, "too many connections (http-max-connections %u)",
                           cfg->http_max_connections);
        return;
    }
    if (h->stopping) {
        r.close = 1;
        http_reply_err(&r, WM_EUNAVAILABLE, "the server is shutting down");
        return;
    }
    if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
        evhttp_add_header(oh, "Allow", "GET, HEAD");
        http_reply_err(&r, WM_EUNKNOWN_COMMAND, "method %s: the API is read-only (GET and HEAD)",
                       http_method_name(m));
        return;
    }
    if (ulen > cfg->http_max_uri) {
        http_reply_err(&r, WM_ETOO_LONG,
                       "the request target is %zu bytes, longer than http-max-uri (%zu)", ulen,
                       cfg->http_max_uri);
        return;
    }
    r.path = uri;
    q = memchr(uri, '?', ulen);
    r.path_len = q != NULL ? (size_t)(q - uri) : ulen;
    if (q != NULL) {
        r.query = q + 1;
        r.query_len = ulen - r.path_len - 1;
    }
    for (size_t i = 0; i < sizeof(http_routes) / sizeof(http_routes[0]); i++) {
        const struct http_route *rt = &http_routes[i];
        if (strlen(rt->path) != r.path_len || memcmp(rt->path, uri, r.path_len) != 0)
            continue;
        if (rt->auth) {
            int held = 0;
            if (http_auth(&r, &held) != WM_OK || held)
                return;
            /* answers differ by principal (a gemeente-bound one sees its own) */
            evhttp_add_header(oh, "Vary", "Authorization");
        }
        rt->fn(&r);
        return;
    }
    if (http_web_serve(&r))
        return;
    proto_quote(path, sizeof(path), uri, r.path_len);
    http_reply_err(&r, WM_ENOT_FOUND, "no such path '%s' (see proto/HTTP.md)", path);
}

/* A request held for its address's delay after failed tokens: judge it now, from the
 * start (its headers so far are dropped, http_on_request sets them again). */
static void http_on_hold(evutil_socket_t fd, short what, void *arg)
{
    struct http_conn *hc = arg;
    struct evhttp_request *req = hc->held;

    (void)fd;
    (void)what;
    if (req == NULL)
        return;
    hc->held = NULL;
    evhttp_clear_headers(evhttp_request_get_output_headers(req));
    http_on_request(req, hc->h);
}

/* ---- listeners ------------------------------------------------------------- */

/* Out of file descriptors and the like: stop accepting for a second rather than spin. */
static void http_on_accept_error(struct evconnlistener *lev, void *arg)
{
    struct http_server *h = arg;
    struct timeval tv = {1, 0};
    int e = EVUTIL_SOCKET_ERROR();

    (void)lev;
    log_msg(LOG_WARN, "http: accept failed: %s; pausing new connections for 1 s",
            evutil_socket_error_to_string(e));
    for (size_t i = 0; i < h->nsocks; i++)
        evconnlistener_disable(evhttp_bound_socket_get_listener(h->socks[i]));
    event_add(h->ev_accept_pause, &tv);
}

static void http_on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
    struct http_server *h = arg;

    (void)fd;
    (void)what;
    for (size_t i = 0; i < h->nsocks; i++)
        evconnlistener_enable(evhttp_bound_socket_get_listener(h->socks[i]));
}

static int http_listen(struct http_server *h, const struct config_addr *a, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    struct evconnlistener *lev;
    struct evhttp_bound_socket *bs;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC;
    char text[300];
    int rc;

    config_addr_format(a, text, sizeof(text));
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(a->host, a->port, &hints, &res);
    if (rc != 0) {
        proto_errf(err, errlen, "cannot resolve %s: %s", text, gai_strerror(rc));
        return WM_ECONFIG;
    }
    if (res->ai_family == AF_INET6)
        flags |= LEV_OPT_BIND_IPV6ONLY;
    /* a backlog like the line protocol's: a thousand event streams may connect at once */
    lev = evconnlistener_new_bind(h->srv->base, NULL, NULL, flags, 511, res->ai_addr,
                                  (int)res->ai_addrlen);
    if (lev == NULL) {
        int e = errno;
        proto_errf(err, errlen, "cannot listen on %s (http): %s", text, strerror(e));
        freeaddrinfo(res);
        return WM_EIO;
    }
    freeaddrinfo(res);
    bs = evhttp_bind_listener(h->evh, lev);
    if (bs == NULL) {
        evconnlistener_free(lev);
        proto_errf(err, errlen, "cannot listen on %s (http): out of memory", text);
        return WM_ENOMEM;
    }
    evconnlistener_set_error_cb(lev, http_on_accept_error);
    h->socks[h->nsocks++] = bs;
    if (getsockname(evconnlistener_get_fd(lev), (struct sockaddr *)&ss, &sslen) == 0)
        server_format_addr((struct sockaddr *)&ss, text, sizeof(text));
    log_msg(LOG_INFO, "listening on %s (%s)", text, h->tls ? "https" : "http");
    return WM_OK;
}

int http_init(struct server *srv, char *err, size_t errlen)
{
    const struct config *cfg = srv->cfg;
    struct http_server *h;
    size_t want;
    int rc;

    srv->http = NULL;
    if (cfg->n_http_listen == 0)
        return WM_OK;
    h = calloc(1, sizeof(*h));
    if (h == NULL)
        goto oom;
    srv->http = h;
    h->srv = srv;
    h->tls = cfg->http_tls;
    h->last_commit_rc = WM_OK;
    wm_buf_init(&h->out);
    wm_buf_init(&h->echo);
    proto_request_init(&h->req);
    want = 2 * ((size_t)cfg->http_max_connections + HTTP_MAX_REFUSING);
    for (h->nbuckets = 64; h->nbuckets < want; h->nbuckets *= 2)
        ;
    h->buckets = calloc(h->nbuckets, sizeof(*h->buckets));
    h->evh = evhttp_new(srv->base);
    h->ev_accept_pause = evtimer_new(srv->base, http_on_accept_resume, h);
    h->ev_adopt = event_new(srv->base, -1, 0, http_on_adopt, h);
    if (h->buckets == NULL || h->evh == NULL || h->ev_accept_pause == NULL || h->ev_adopt == NULL ||
        http_sse_init(h) != WM_OK)
        goto oom;
    /* every method reaches http_on_request, which answers 405 with a JSON body */
    evhttp_set_allowed_methods(h->evh, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                           EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                           EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
                                           EVHTTP_REQ_PATCH);
    evhttp_set_max_headers_size(h->evh, (ev_ssize_t)cfg->http_max_header);
    evhttp_set_max_body_size(h->evh, HTTP_MAX_BODY);
    evhttp_set_timeout(h->evh, (int)cfg->http_timeout);
    evhttp_set_bevcb(h->evh, http_on_connection, h);
    evhttp_set_gencb(h->evh, http_on_request, h);
    for (size_t i = 0; i < cfg->n_http_listen; i++) {
        rc = http_listen(h, &cfg->http_listen[i], err, errlen);
        if (rc != WM_OK)
            return rc;
    }
    return WM_OK;
oom:
    proto_errf(err, errlen, "cannot set up the HTTP listener: out of memory");
    return WM_ENOMEM;
}

void http_stop(struct server *srv)
{
    struct http_server *h = srv->http;

    if (h == NULL)
        return;
    h->stopping = 1;
    event_del(h->ev_accept_pause);
    for (size_t i = 0; i < h->nsocks; i++)
        evhttp_del_accept_socket(h->evh, h->socks[i]);
    h->nsocks = 0;
    http_sse_stop_all(h);
}

void http_free(struct server *srv)
{
    struct http_server *h = srv->http;

    if (h == NULL)
        return;
    http_sse_free(h);
    /* every connection goes, each through http_conn_closed */
    if (h->evh != NULL)
        evhttp_free(h->evh);
    /* accepted in this very iteration and not adopted: their bufferevents went with
     * evhttp's connections */
    while (h->pending != NULL) {
        struct http_conn *hc = h->pending;
        h->pending = hc->pending_next;
        http_conn_drop(hc);
    }
    if (h->ev_adopt != NULL)
        event_free(h->ev_adopt);
    if (h->ev_accept_pause != NULL)
        event_free(h->ev_accept_pause);
    free(h->buckets);
    wm_buf_free(&h->out);
    wm_buf_free(&h->echo);
    proto_request_free(&h->req);
    free(h);
    srv->http = NULL;
}

void http_batch_done(struct server *srv, const struct commit_batch *b, int changed)
{
    struct http_server *h = srv->http;

    if (h == NULL)
        return;
    http_metrics_batch(h, b);
    if (changed)
        http_sse_changed(h);
}
