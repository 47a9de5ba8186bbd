/*
 * http: the HTTP read API of proto/HTTP.md, on libevent's evhttp: query answers as JSON
 * or CSV, live totals as server-sent events, /metrics, /healthz and /readyz. It runs on
 * the loop thread beside the line protocol and shares its store, tokens and counters.
 * These are the hooks the server calls; http_int.h is the module's inside.
 */
#ifndef WM_DAEMON_HTTP_H
#define WM_DAEMON_HTTP_H

#include <stddef.h>

struct server;
struct commit_batch;

/*
 * Start the HTTP listeners of srv->cfg->http_listen (with TLS when http_tls, using
 * srv->tls_ctx). Without http-listen nothing is set up and srv->http stays NULL. Needs
 * srv's event base, store and token table. Returns WM_OK, WM_EIO (cannot listen; err
 * names the address and why) or WM_ENOMEM.
 */
int http_init(struct server *srv, char *err, size_t errlen);

/* Shutdown (SIGTERM): stop accepting, end every event stream, and answer any further
 * request 503 with "Connection: close". Does nothing without HTTP. */
void http_stop(struct server *srv);

/* Free the listeners, every HTTP connection and the module (srv->http becomes NULL).
 * Call before the event base is freed. Does nothing without HTTP. */
void http_free(struct server *srv);

/* A batch came back from the writer (loop thread): count it for /metrics and, when a
 * figure changed, schedule a coalesced push to the event streams. Does nothing without
 * HTTP. */
void http_batch_done(struct server *srv, const struct commit_batch *b, int changed);

struct auth_table;

/* SIGHUP loaded table t: end the event stream of every principal that is gone from it or
 * whose token, role or municipality changed, logging which. Requests are judged by
 * their token as they come. Does nothing without HTTP. */
void http_revoke(struct server *srv, const struct auth_table *t);

#endif /* WM_DAEMON_HTTP_H */
