/*
 * daemon: the server and its connections. The server owns the event loop, the
 * listeners, the store, the commit queue, the token table and the statistics; a
 * connection owns its bufferevent, its identity and its ordered response queue.
 * Everything here runs on the loop thread; only commit.c talks to the writer thread.
 */
#ifndef WM_DAEMON_H
#define WM_DAEMON_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "auth.h"
#include "commit.h"
#include "config.h"
#include "guard.h"
#include "http.h"
#include "proto.h"
#include "store.h"

/* Backpressure: a connection stops being read while its unsent responses pass
 * CONN_HIGH_WATER bytes or it has CONN_MAX_WAITING writes awaiting commit; it is read
 * again once its output has drained and its writes came back (below half). */
#define CONN_HIGH_WATER (1u << 20)
#define CONN_MAX_WAITING 4096
/* All connections together: no more writes are taken while this many are queued. */
#define SERVER_MAX_QUEUED 32768
/* Answers of many rows (answer.c): a slice adds at most ANSWER_SLICE_BYTES to a
 * connection's output and runs at most ANSWER_SLICE_US (checked every ANSWER_CHECK_ROWS
 * rows); the next slice follows once the output has drained to ANSWER_LOW_WATER. */
#define ANSWER_SLICE_BYTES (64u << 10)
#define ANSWER_LOW_WATER (16u << 10)
#define ANSWER_SLICE_US 2000u
#define ANSWER_CHECK_ROWS 32u
/* Seconds a closing connection waits for the peer's EOF after our own shutdown. */
#define CONN_LINGER_SECONDS 2
/* Seconds SIGTERM waits for clients to take their last responses. */
#define SERVER_SHUTDOWN_GRACE 10
/* WATCH: at most one push per this many milliseconds, a heartbeat every so many s. */
#define WATCH_MIN_INTERVAL_MS 100
#define WATCH_HEARTBEAT_S 30
/* Commit latencies kept for STATS percentiles. */
#define STATS_LATENCY_RING 1024
/* Protocol error codes counted in STATS (WM_ESYNTAX .. WM_EINTERNAL). */
#define STATS_NCODES 14

/*
 * The states of a connection (memcached style). This is the one place a connection's
 * stage is kept; every change goes through conn_set_state (conn.c), which undoes
 * what the old state set up (a watcher leaves the list of live watchers) and sets up
 * the new one (joining that list, leaving the connection count).
 */
enum conn_state {
    CONN_READING,     /* reading request lines and answering them, in order */
    CONN_WATCH_START, /* sent WATCH: accepts only QUIT, no idle timeout; its OK waits
                         behind writes still at the writer, and the first TOTAL must
                         follow it, so it becomes CONN_WATCHING when they are back */
    CONN_WATCHING,    /* a live watcher: on the server's list, gets TOTAL pushes,
                         accepts only QUIT; no idle timeout */
    CONN_CLOSING,     /* QUIT, EOF, 3 auth failures, refused at accept (over
                         max-connections: ERR unavailable) or shutdown: no more
                         requests; closes once every response has been written */
    CONN_DROPPING,    /* to be closed at the end of the callback at hand without
                         sending what is queued: HTTP on the protocol port, or out of
                         memory for a response */
    CONN_LINGER,      /* responses written and our side shut down: waiting briefly for
                         the peer's EOF so the last response is not lost to a reset; no
                         longer counted against max-connections */
    CONN_DEAD,        /* socket freed (peer gone, timeout, shutdown) while writes were
                         still with the writer: kept until they come back, then freed */
};

struct server;
struct backup_job;
struct answer;

/*
 * A client connection. Its stage is `state`; the few flags beside it are not stages:
 * each can be set or not in more than one state, independently of it.
 */
struct conn {
    struct server *srv;
    struct bufferevent *bev; /* NULL once CONN_DEAD */
    enum conn_state state;
    uint64_t id;
    size_t *counted_in;     /* the server's counter this connection is counted in until it
                               lingers or dies: &srv->nconns, or &srv->nrefusing when it was
                               refused at accept (so refusals do not crowd out clients) */
    uint8_t tls;            /* a TLS connection: a property of the socket, for life */
    uint8_t paused;         /* backpressure: EV_READ disabled until drained; a reading or a
                               watching connection may be paused, and a closing one stays
                               counted in npaused until it resumes or is freed */
    uint8_t discarding;     /* the line splitter is inside a too-long line, dropping bytes
                               through its LF; any state that reads lines */
    uint8_t saw_line;       /* the first line was seen (the HTTP check is done), once */
    uint8_t stalled;        /* a read request waits in deferred for this connection's
                               writes to be committed (read-your-writes in one pipeline); it
                               must still be answered if the connection starts closing */
    uint8_t auth_held;      /* an AUTH waits in deferred until its address's delay after
                               failed AUTHs has passed (ev_hold); answered as stalled is */
    uint8_t counted_unauth; /* counted among the guard's unauthenticated connections:
                               from accept (with a token file) until AUTH succeeds */
    char peer[64];          /* "127.0.0.1:53422", for logs */

    /* identity */
    enum auth_role role;
    char principal[WM_NAME_MAX + 1]; /* "" before AUTH */
    char gemeente[WM_NAME_MAX + 1];  /* writer bound to a municipality; "" = any */
    unsigned auth_failures;
    unsigned denials_logged;   /* denials logged one by one (cmd.c) */
    uint64_t denials_unlogged; /* the rest, counted; conn_close logs the number */

    /*
     * The response queue. Responses leave in request order. Writes wait for the commit
     * thread; every response that is ready while a write of this connection is still
     * waiting is held back. nwait counts the waiting writes; seg is a ring with one
     * entry per waiting write, the number of held bytes that follow it in `held`. When
     * a write comes back (always the oldest, as batches keep order), its ack goes out,
     * then its seg bytes of held responses.
     */
    size_t nwait;
    uint32_t *seg;
    size_t seg_cap, seg_head;
    struct evbuffer *held;

    struct answer *answer;  /* an answer still going out a slice at a time (answer.c):
                               no further request is read until it is done; NULL else */
    struct event *ev_slice; /* the next slice of answer after the loop polled */

    char *deferred; /* the stalled or held request line (max_line + 1 bytes, allocated
                       once; a connection is never stalled and held at once) */
    size_t deferred_len;

    /* slots (docs/SECURITY.md #2): with a token file, the AUTH deadline counts from
     * accepted_ms; the idle timeout from the last complete request. One timer serves
     * both: it fires at the earlier deadline and checks again (conn_on_timer). */
    struct guard_addr *guard; /* its address (token mode), NULL otherwise or once closed */
    struct event *ev_timer;
    struct event *ev_hold; /* ends a held AUTH */
    uint64_t accepted_ms, last_request_ms;
    unsigned char token_hash[32]; /* of the token it authenticated with (revocation) */

    struct conn *prev, *next;   /* server's connections */
    struct conn *wprev, *wnext; /* server's live watchers (CONN_WATCHING only) */
};

struct server_stats {
    time_t started;
    uint64_t connections_total;
    uint64_t connections_refused;
    uint64_t commits;                  /* store_apply calls */
    uint64_t items_committed;          /* items in those batches */
    uint64_t events_committed;         /* EVENT items in those batches */
    uint64_t errors[STATS_NCODES + 1]; /* by -code, 1..14 */
    uint64_t auth_failures;
    uint64_t auth_timeouts; /* connections closed for no AUTH within auth-timeout */
    uint64_t denials;
    uint32_t latency_us[STATS_LATENCY_RING]; /* recent store_apply durations */
    size_t latency_n, latency_pos;
};

/* One form of the totals in a push (reads.c): for every reader with this gemeente
 * ("" for the region), min-count and round. */
struct reads_shared_entry {
    char gemeente[WM_NAME_MAX + 1];
    uint64_t min_count, round;
    uint64_t gen; /* the push it was made for; older: stale */
    uint64_t seq;
    int rc;             /* WM_OK, or why it could not be read in this push */
    struct wm_buf text; /* the totals formatted */
};

/* The totals every subscriber of one push (WATCH, the event stream) shares: read,
 * protected and formatted once per push for each distinct form, never per subscriber. */
struct reads_shared {
    int (*format)(const struct wm_totals *t, struct wm_buf *out);
    uint64_t gen;            /* the current push, from 1 */
    int region_rc;           /* the region's totals in this push: -1 not read yet */
    struct wm_totals region; /* read once per push */
    struct reads_shared_entry *e;
    size_t n, cap;
};

struct server {
    struct config *cfg;
    struct event_base *base;
    struct store *store;
    struct commit_queue *commit;
    struct auth_table *tokens; /* NULL: open mode (every connection admin "local") */
    int audit_fd;              /* -1: none; 2: stderr; else the audit file */
    SSL_CTX *tls_ctx;

    struct evconnlistener *listeners[2 * CONFIG_MAX_LISTEN];
    size_t nlisteners;
    struct event *ev_sigterm, *ev_sigint, *ev_sighup;
    struct event *ev_grace;        /* shutdown deadline */
    struct event *ev_watch;        /* coalesced WATCH push */
    struct event *ev_heartbeat;    /* WATCH heartbeat */
    struct event *ev_accept_pause; /* accept failed (EMFILE): listeners resume later */

    struct conn *conns; /* every connection not yet freed, dead ones included */
    size_t nconns;      /* counted against max_connections (refused, lingering and dead
                           excluded) */
    size_t nrefusing;   /* refused connections still saying why */
    struct conn *watchers;
    size_t nwatchers;
    size_t npaused; /* connections paused by backpressure (any reason) */
    uint64_t next_conn_id;
    int stopping;
    struct guard guard;        /* per client address: unauthenticated ones, AUTH delays */
    uint64_t refused_log_ms;   /* refusals are logged at most once a second */
    uint64_t refused_unlogged; /* refusals since the last such line */

    /* the request being handled; reused for every line (loop thread only) */
    struct proto_request req;
    char *line; /* max_line + 2 bytes */
    struct wm_buf out;
    struct proto_env env;
    time_t today_at;            /* time() of the last computation of env.today */
    struct wm_event scratch_ev; /* CHECK's event */
    struct store_show show;     /* SHOW's answer, reused */

    /* WATCH */
    int watch_dirty;
    uint64_t watch_last_push_ms;
    struct reads_shared watch_shared; /* a push's totals, by gemeente and protection */

    /* the totals of every configured gemeente, for readers bound to one (reads.c): read
     * in one pass when the store's seq is no longer gem_totals_seq */
    struct wm_totals *gem_totals; /* env.n_gemeenten of them; NULL before the first */
    uint64_t gem_totals_seq;
    int gem_totals_valid;

    struct server_stats stats;

    struct http_server *http; /* the HTTP read API (http.h); NULL without http-listen */

    /* the answers of the read commands, reused (reads.c; loop thread only) */
    struct wm_count_result count_res;
    struct wm_progress_result progress_res;
    struct wm_projects_result projects_res;

    struct backup_job *backup; /* the BACKUP running (backup.c); NULL when none */
};

/* Who asks a read: what an answer may show depends on it. */
struct reader {
    enum auth_role role;
    const char *principal;
    const char *gemeente; /* bound to a municipality; "" = any */
};

/* ---- server.c ----------------------------------------------------------- */

/* Set everything up (store, writer, listeners, signals) for cfg. Returns WM_OK, or an
 * error with err saying what failed (the daemon exits 1). */
int server_init(struct server *srv, struct config *cfg, char *err, size_t errlen);

/* Run the event loop until shutdown; returns the exit code (0 after SIGTERM/SIGINT). */
int server_run(struct server *srv);

/* Free what server_init set up. */
void server_free(struct server *srv);

/* Refresh srv->env.today (the server's local date) when the second changed. Returns
 * the current unix time. */
time_t server_now(struct server *srv);

/* Called when a connection is freed or a batch is done: finishes a shutdown once
 * nothing is left. */
void server_check_stopped(struct server *srv);

/* Log a warning when others may read or enter the data directory dir (a missing one
 * is not an error here: the store creates it, mode 0700). */
void server_check_data_dir(const char *dir);

/* Format an IPv4 or IPv6 socket address as "127.0.0.1:7878" or "[::1]:7878". */
void server_format_addr(const struct sockaddr *sa, char *out, size_t outlen);

/* 1 when every address of every listener of cfg is loopback; else 0, with err naming
 * the first other one. */
int server_listeners_loopback(const struct config *cfg, char *err, size_t errlen);

/* ---- conn.c ------------------------------------------------------------- */

/* Take an accepted socket (TLS when ssl != NULL, owned from here on). ga: the guard's
 * entry of its address when a token file is in use (the connection must AUTH), else
 * NULL. refused: why the connection is over a limit (it gets ERR unavailable with this
 * and is closed), or NULL. */
void conn_accept(struct server *srv, evutil_socket_t fd, const struct sockaddr *sa, int salen,
                 SSL *ssl, struct guard_addr *ga, const char *refused);

/* Queue a ready response (one or more complete lines) behind the earlier ones. */
void conn_reply(struct conn *c, const char *data, size_t len);

/*
 * Format "ERR <code> <message>" for err and queue it, counting it in STATS. Every
 * error response goes through here. Returns err, so a handler can
 * `return conn_reply_err(c, WM_EINVALID, "...")`.
 */
int conn_reply_err(struct conn *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reserve the response slot of a write just queued with commit_push(). */
int conn_wait_write(struct conn *c);

/* A write of c came back from the writer with its outcome: send its response and the
 * ready ones held behind it. May free c (only when nothing else refers to it). */
void conn_write_done(struct conn *c, const struct store_item *it);

/* The oldest slot reserved with conn_wait_write is answered with data (len bytes of
 * whole lines; NULL: nothing, out of memory), and the ready responses held behind it
 * follow. For answers that are not a write's (BACKUP). May free c, as above. */
void conn_wait_done(struct conn *c, const char *data, size_t len);

/* After a batch: resume connections paused for the global queue limit. */
void conn_resume_queue_waiters(struct server *srv);

/* Stop reading c; c closes once its responses are out. */
void conn_begin_close(struct conn *c);

/* Free every connection at once, whatever its state (the writer must be stopped). */
void conn_free_all(struct server *srv);

/* Shutdown: stop reading c and close it as soon as its responses are out. */
void conn_shutdown(struct conn *c);

/* c sent WATCH and its OK is queued: it becomes CONN_WATCH_START (no idle timeout,
 * only QUIT accepted), and CONN_WATCHING, with its first TOTAL, as soon as none of its
 * writes is still at the writer (at once, or in conn_write_done). */
void conn_begin_watch(struct conn *c);

/* 1 when c counts against max-connections now: not refused at accept, neither
 * lingering nor dead. */
int conn_counted(const struct conn *c);

/* 1 when c has sent WATCH (CONN_WATCH_START or CONN_WATCHING): only QUIT is accepted. */
int conn_is_watching(const struct conn *c);

/* Free c now (its socket); a connection with writes still at the writer becomes
 * CONN_DEAD and is freed when they come back. */
void conn_close(struct conn *c);

/* Stall c's input until its writes are committed, keeping line (the request that must
 * see them) to run then. */
void conn_defer(struct conn *c, const char *line, size_t len);

/* Hold c's input for wait_ms, keeping line (an AUTH from an address whose failed AUTHs
 * are being slowed down) to run then. */
void conn_hold(struct conn *c, const char *line, size_t len, uint64_t wait_ms);

/* c authenticated: it leaves the unauthenticated ones and its AUTH deadline. */
void conn_authenticated(struct conn *c);

/* SIGHUP loaded table t: close every connection whose principal is gone from it or
 * whose token, role or municipality changed, logging which and why. */
void conn_revoke(struct server *srv, const struct auth_table *t);

/* Close c at the end of the callback at hand without sending what is queued (part of an
 * answer that cannot be finished). */
void conn_drop(struct conn *c);

/* ---- cmd.c -------------------------------------------------------------- */

/* Handle one request line (no LF, no CR, len > 0) of c. */
void cmd_dispatch(struct conn *c, const char *line, size_t len);

/* ---- answer.c ----------------------------------------------------------- */

/* Send srv->count_res to c as ROW lines and END: what fits in one slice at once, a
 * larger answer packed on c and written a slice at a time (c reads no requests until
 * it is done). A row that cannot be formatted gives ERR internal before any row went
 * out, and closes c after. */
void answer_count(struct conn *c);

/* The same for srv->progress_res; a larger answer takes the result from the server. */
void answer_progress(struct conn *c);

/* The same for srv->projects_res. */
void answer_projects(struct conn *c);

/* The same for NOTES' notes l; a larger answer takes l's notes (l is empty then). */
void answer_notes(struct conn *c, struct store_note_list *l);

/* Write c's next slice if its output has room: returns 0 while rows remain, 1 when no
 * answer is going out any more (the END went out now, or none was), -1 when a row could
 * not be formatted (c is being dropped). */
int answer_more(struct conn *c);

/* Free c's answer, if any (the connection is closing). */
void answer_free(struct conn *c);

/* ---- reads.c ------------------------------------------------------------ */

/*
 * COUNT for who from a parsed request (a request line, or a query string read by
 * proto_parse_query; its filter lists are split in place): validated with today's
 * date, answered into srv->count_res (valid until the next read). Returns WM_OK, or the error
 * (syntax, invalid, unknown-project, storage) with err saying why.
 */
int reads_count(struct server *srv, const struct reader *who, struct proto_request *req, char *err,
                size_t errlen);

/* PROGRESS likewise, into srv->progress_res. */
int reads_progress(struct server *srv, const struct reader *who, const struct proto_request *req,
                   char *err, size_t errlen);

/* PROJECTS into srv->projects_res. Returns WM_OK or the error with err. */
int reads_projects(struct server *srv, const struct reader *who, char *err, size_t errlen);

/*
 * The totals of WATCH and /v1/totals as who may see them, into t: the region's for a
 * principal not bound to a gemeente, its municipality's for a bound one (every
 * gemeente's read in one pass, once per seq of the store), protected by its min-count
 * and round. Returns WM_OK, WM_EIO or WM_ENOMEM (logged).
 */
int reads_totals(struct server *srv, const struct reader *who, struct wm_totals *t);

/* Set sh up for the totals in the form format writes (no allocation). */
void reads_shared_init(struct reads_shared *sh,
                       int (*format)(const struct wm_totals *t, struct wm_buf *out));
/* Free sh's memory. */
void reads_shared_free(struct reads_shared *sh);
/* A new push: what sh read and formatted before is stale. */
void reads_shared_next(struct reads_shared *sh);
/*
 * The totals who may see (as reads_totals) in this push, formatted, and their seq into
 * *seq: read, protected and formatted on the first ask of each (gemeente, min-count,
 * round) in the push, then shared. Borrowed from sh until its next push. NULL when they
 * cannot be read (logged once per push) or out of memory.
 */
const struct wm_buf *reads_shared_get(struct server *srv, struct reads_shared *sh,
                                      const struct reader *who, uint64_t *seq);

/* ---- backup.c ----------------------------------------------------------- */

/* BACKUP (admin): start a hot backup of the store into a new directory under the
 * backup-dir on a thread of its own; c's answer ("OK <dir> seq=.. events=.. bytes=..
 * ms=..", or ERR) takes its place in c's reply order like a write's. One at a time: a
 * second one while it runs gets ERR unavailable. */
void backup_start(struct conn *c);

/* 1 while a BACKUP runs (shutdown waits for it). */
int backup_running(const struct server *srv);

/* Wait for a running BACKUP's thread and free it (server_free; its answer is dropped). */
void backup_free(struct server *srv);

/* ---- watch.c ------------------------------------------------------------ */

/* c enters CONN_WATCHING (called by conn_set_state only): put it on the list of live
 * watchers and push its first TOTAL. */
void watch_start(struct conn *c);

/* c leaves CONN_WATCHING (called by conn_set_state only): take it off the list. */
void watch_stop(struct conn *c);

/* A commit changed a figure: schedule a coalesced push to every live watcher. */
void watch_changed(struct server *srv);

/* The timer callbacks (registered by server_init). */
void watch_on_timer(evutil_socket_t fd, short what, void *arg);
void watch_on_heartbeat(evutil_socket_t fd, short what, void *arg);

/* ---- stats.c ------------------------------------------------------------ */

/* Count an error response by its protocol code. */
void stats_count_error(struct server *srv, int err);

/* Record a finished batch (size, events, store_apply time). */
void stats_commit(struct server *srv, const struct commit_batch *b);

/* Append the STATS rows and END to out. Returns WM_OK or an error with err. */
int stats_format(struct server *srv, struct wm_buf *out, char *err, size_t errlen);

/* ---- tls.c -------------------------------------------------------------- */

/* A server SSL_CTX with the certificate chain and key (TLS 1.2 minimum), TLS 1.2's
 * cipher suites from ciphers (OpenSSL's cipher list syntax; TLS 1.3's stay OpenSSL's).
 * The key must pass auth_file_mode_check. Returns NULL with err naming the file (or
 * the cipher list) and the reason. */
SSL_CTX *tls_ctx_new(const char *cert, const char *key, const char *ciphers, char *err,
                     size_t errlen);

#endif /* WM_DAEMON_H */
