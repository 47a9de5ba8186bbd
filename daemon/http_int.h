/*
 * http_int: what the HTTP module's files share (http.c: connections, limits, auth,
 * routing and replies; http_api.c: the /v1/ answers; http_sse.c: the event streams;
 * http_metrics.c: /metrics, /healthz, /readyz). Loop thread only, like the rest.
 */
#ifndef WM_DAEMON_HTTP_INT_H
#define WM_DAEMON_HTTP_INT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "daemon.h"
#include "http.h"

/* Refused connections (over http-max-connections) that may still be told why with a
 * 503 at the same time; more are closed at once. */
#define HTTP_MAX_REFUSING 64
/* Request bodies are never used; a small one is read so that the method can be
 * answered 405, a larger one gets libevent's 413. */
#define HTTP_MAX_BODY 4096
/* An event stream whose unsent output passes this many bytes misses pushes (the next
 * one supersedes them) instead of growing our memory. */
#define HTTP_OUT_HIGH_WATER (64u << 10)
/* Event streams: a comment every so many seconds, pushes at most every so many ms. */
#define HTTP_SSE_HEARTBEAT_S 15
#define HTTP_SSE_MIN_INTERVAL_MS WATCH_MIN_INTERVAL_MS
/* Failed bearer tokens on one connection before it is closed (as AUTH's three). */
#define HTTP_MAX_AUTH_FAILURES 3

/* Buckets of the /metrics histograms (upper bounds). */
#define HTTP_LAT_NBUCKETS 14 /* commit duration, seconds */
#define HTTP_EPC_NBUCKETS 9  /* events per commit */
/* The statuses counted per code in /metrics; others count under "other". */
#define HTTP_NSTATUS 14

struct http_server;

/* Who sent a request: the token's principal, or "local" admin in open mode. */
struct http_who {
    enum auth_role role;
    char principal[WM_NAME_MAX + 1];
    char gemeente[WM_NAME_MAX + 1]; /* bound to a municipality; "" = any */
    unsigned char token_hash[32];   /* of the token it sent (revocation of streams) */
};

/* One HTTP connection, from its accept until evhttp frees it (http.c). */
struct http_conn {
    struct http_server *h;
    struct bufferevent *bev;         /* made by us, owned by evhttp's connection */
    struct evhttp_connection *evcon; /* NULL until adopted */
    struct http_conn *pending_next;  /* accepted, waiting to be adopted */
    struct event *deadline;          /* a whole request must arrive before this fires */
    struct evhttp_request *stream;   /* an event stream's request, else NULL */
    uint64_t stream_seq;             /* the totals' seq last sent on the stream */
    struct http_who stream_who;      /* who opened the event stream (revocation) */
    struct event *hold;              /* ends a held request (http_on_hold) */
    struct evhttp_request *held;     /* waiting out its address's delay after failed tokens */
    uint8_t refused;                 /* over the limit: every request gets 503 and closes */
    uint8_t auth_failures;
    struct http_conn *hnext;         /* hash chain by bev */
    struct http_conn *prev, *next;   /* every connection */
    struct http_conn *sprev, *snext; /* event streams */
};

/* The request being answered. */
struct http_req {
    struct http_server *h;
    struct evhttp_request *req;
    struct http_conn *hc; /* NULL when the connection is not tracked (out of memory) */
    const char *path;     /* from the request target, up to '?' (not NUL-terminated) */
    size_t path_len;
    const char *query; /* after '?', or NULL when there is none */
    size_t query_len;
    int head;            /* HEAD: headers only */
    int close;           /* answer with "Connection: close" */
    struct http_who who; /* set once authenticated */
};

struct http_server {
    struct server *srv;
    struct evhttp *evh;
    struct evhttp_bound_socket *socks[CONFIG_MAX_LISTEN];
    size_t nsocks;
    int tls;
    int stopping;
    struct event *ev_accept_pause; /* accept failed (EMFILE): listeners resume later */
    struct event *ev_adopt;        /* made active when a connection is accepted */
    struct http_conn *pending;     /* accepted in this loop iteration, not adopted yet */

    struct http_conn *conns;
    struct http_conn **buckets; /* hash of conns by bev; nbuckets is a power of two */
    size_t nbuckets;
    size_t nconns;    /* counted against http-max-connections */
    size_t nrefusing; /* refused ones still being told */

    /* event streams */
    struct http_conn *streams;
    size_t nstreams;
    struct event *ev_push, *ev_heartbeat;
    int push_dirty;
    uint64_t last_push_ms;
    struct reads_shared sse_shared; /* a push's events, by gemeente and protection */

    /* validators: the ETag of an answer names the store's seq, registry changes since
     * the start and the start itself (a restart changes every ETag once) */
    uint64_t registry_gen;

    /* for /metrics and /readyz */
    int last_commit_rc; /* the last batch's store_apply result */
    uint64_t connections_total, connections_refused;
    uint64_t responses[HTTP_NSTATUS + 1]; /* by http_status_codes index; last: other */
    uint64_t events_stored[WM_TYPE_COUNT_], duplicates, retractions_stored;
    uint64_t registry_changes;
    uint64_t lat_bucket[HTTP_LAT_NBUCKETS + 1], lat_count; /* last bucket: +Inf */
    double lat_sum;
    uint64_t epc_bucket[HTTP_EPC_NBUCKETS + 1], epc_count, epc_sum;

    struct wm_buf out;        /* reused for every answer */
    struct wm_buf echo;       /* the parameters of the answer being made, as JSON */
    struct proto_request req; /* its query string, parsed */
};

/* ---- http.c ------------------------------------------------------------- */

/* Monotonic milliseconds. */
uint64_t http_now_ms(void);

/* Send status with body (len bytes of ctype; NULL ctype for none) and the common
 * headers; a HEAD request gets the headers only, with the body's Content-Length. */
void http_reply(struct http_req *r, int status, const char *ctype, const char *body, size_t len);

/*
 * Answer err as {"error":{"code":"<protocol code>","message":"..."}} with its HTTP
 * status (400 syntax/invalid, 401, 403, 404 unknown-project/not-found, 405, 414,
 * 503 unavailable/storage, 500 internal), counted in STATS' errors. Returns err.
 */
int http_reply_err(struct http_req *r, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define HTTP_ETAG_MAX 160

/* The ETag (quoted) of r's answer read at store seq, into out. */
void http_etag(const struct http_req *r, uint64_t seq, char out[HTTP_ETAG_MAX]);

/* With an If-None-Match that matches etag: answer 304 and return 1; else set the
 * ETag header for the answer that follows and return 0. */
int http_not_modified(struct http_req *r, const char *etag);

/* Stop counting r's request against the request deadline: it takes as long as it
 * takes (an event stream). */
void http_conn_forever(struct http_req *r);

/* ---- http_api.c --------------------------------------------------------- */

/* GET /v1/count, /v1/progress, /v1/projects, /v1/totals. */
void http_api_count(struct http_req *r);
void http_api_progress(struct http_req *r);
void http_api_projects(struct http_req *r);
void http_api_totals(struct http_req *r);

/* ---- http_web.c --------------------------------------------------------- */

/* Answer a GET or HEAD of the monitor page ("/") or one of its files, embedded by
 * wmweb, with a Content-Security-Policy that allows nothing from elsewhere. Returns 1
 * when answered, 0 when the path is none of them (nothing sent). No token needed: the
 * page asks for one itself, the data it reads needs it. */
int http_web_serve(struct http_req *r);
/* /v1/notes?period=&project=&category=: NOTES as JSON rows (null for "-"); none for
 * a principal bound to a gemeente. */
void http_api_notes(struct http_req *r);

/* The totals who may see (reads_totals; NULL: the whole store's) as {"seq":...} into out
 * (reset first) and *seq. Returns WM_OK, or an error from the store (logged). */
int http_totals_json(struct server *srv, const struct reader *who, struct wm_buf *out,
                     uint64_t *seq);

/* ---- http_sse.c --------------------------------------------------------- */

/* Create the push and heartbeat timers. Returns WM_OK or WM_ENOMEM. */
int http_sse_init(struct http_server *h);
/* Free them (streams are freed with their connections). */
void http_sse_free(struct http_server *h);
/* GET /v1/totals/stream: start an event stream on r. */
void http_sse_start(struct http_req *r);
/* A figure changed: schedule a coalesced push. */
void http_sse_changed(struct http_server *h);
/* Shutdown: end every stream (the final chunk goes out, then the connection closes). */
void http_sse_stop_all(struct http_server *h);
/* hc's connection is going away: forget its stream. */
void http_sse_closed(struct http_conn *hc);

/* ---- http_metrics.c ----------------------------------------------------- */

/* Count a batch for /metrics. */
void http_metrics_batch(struct http_server *h, const struct commit_batch *b);
/* Count a response status. */
void http_metrics_status(struct http_server *h, int status);
/* GET /metrics, /healthz, /readyz. */
void http_api_metrics(struct http_req *r);
void http_api_healthz(struct http_req *r);
void http_api_readyz(struct http_req *r);

#endif /* WM_DAEMON_HTTP_INT_H */
