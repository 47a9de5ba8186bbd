/*
 * server: sets up the store, the writer thread, the listeners (TCP and TLS) and the
 * signals, runs the event loop, and shuts down gracefully: stop accepting, commit and
 * acknowledge what is queued, let clients take their responses, close, exit 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <systemd/sd-daemon.h>

#include "bootstrap.h"
#include "daemon.h"
#include "log.h"

/* Refused connections that may still be told why at the same time; more are closed
 * without a word, so a flood cannot make us buffer replies for it. */
#define SERVER_MAX_REFUSING 64

time_t server_now(struct server *srv)
{
    time_t now = time(NULL);

    if (now != srv->today_at) {
        struct tm tm;
        localtime_r(&now, &tm);
        srv->env.today = proto_date_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
        srv->today_at = now;
    }
    return now;
}

static int addr_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        const uint8_t *b = in6->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return 1;
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && b[12] == 127;
    }
    return 0;
}

static int resolve(const struct config_addr *a, struct addrinfo **res, char *err, size_t errlen)
{
    struct addrinfo hints;
    char text[300];
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(a->host, a->port, &hints, res);
    if (rc != 0) {
        config_addr_format(a, text, sizeof(text));
        proto_errf(err, errlen, "cannot resolve %s: %s", text, gai_strerror(rc));
        return WM_ECONFIG;
    }
    return WM_OK;
}

int server_listeners_loopback(const struct config *cfg, char *err, size_t errlen)
{
    for (int kind = 0; kind < 3; kind++) {
        const struct config_addr *list = kind == 0   ? cfg->listen
                                         : kind == 1 ? cfg->tls_listen
                                                     : cfg->http_listen;
        size_t n = kind == 0 ? cfg->n_listen : kind == 1 ? cfg->n_tls_listen : cfg->n_http_listen;
        for (size_t i = 0; i < n; i++) {
            struct addrinfo *res = NULL, *ai;
            char text[300];
            int ok = 1;
            if (resolve(&list[i], &res, err, errlen) != WM_OK)
                return 0;
            for (ai = res; ai != NULL; ai = ai->ai_next)
                ok = ok && addr_is_loopback(ai->ai_addr);
            freeaddrinfo(res);
            if (!ok) {
                config_addr_format(&list[i], text, sizeof(text));
                proto_errf(err, errlen, "%s is not a loopback address", text);
                return 0;
            }
        }
    }
    return 1;
}

void server_format_addr(const struct sockaddr *sa, char *out, size_t outlen)
{
    char host[INET6_ADDRSTRLEN] = "?";

    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(out, outlen, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(out, outlen, "%s:%u", host, ntohs(in->sin_port));
    } else {
        snprintf(out, outlen, "unknown");
    }
}

/*
 * Whether a new connection from sa may take a slot: max-connections in all, and with a
 * token file (every connection must AUTH) at most max-unauthenticated of them (and at
 * most three quarters of max-connections) not yet authenticated, so the rest stays for
 * principals that did, and at most
 * max-per-address from one address. Sets *ga to the guard's entry of the address (token
 * mode only). Returns 0, or 1 with why (the ERR unavailable message).
 */
static int server_admit(struct server *srv, const struct sockaddr *sa, struct guard_addr **ga,
                        char *why, size_t whylen)
{
    const struct config *cfg = srv->cfg;
    unsigned share;

    if (srv->nconns >= cfg->max_connections) {
        snprintf(why, whylen, "too many connections (max-connections %u)", cfg->max_connections);
        return 1;
    }
    if (srv->tokens == NULL)
        return 0;
    *ga = guard_get(&srv->guard, sa);
    /* a quarter of max-connections at least stays for principals that authenticated,
     * however large max-unauthenticated is */
    share = cfg->max_connections - cfg->max_connections / 4;
    if (share == 0)
        share = 1;
    if (cfg->max_unauthenticated < share)
        share = cfg->max_unauthenticated;
    if (srv->guard.unauth >= share) {
        snprintf(why, whylen,
                 "too many connections that have not authenticated (max-unauthenticated %u)",
                 share);
        return 1;
    }
    if ((*ga)->unauth >= cfg->max_per_address) {
        snprintf(why, whylen,
                 "too many connections from %s that have not authenticated (max-per-address %u)",
                 (*ga)->text, cfg->max_per_address);
        return 1;
    }
    return 0;
}

/* A refusal is logged, but a flood of them at most once a second, with their number. */
static void server_log_refusal(struct server *srv, const char *why)
{
    uint64_t now = guard_now_ms();

    srv->refused_unlogged++;
    if (now - srv->refused_log_ms < 1000)
        return;
    log_msg(LOG_WARN, "connection refused: %s%s", why,
            srv->refused_unlogged > 1 ? " (and others since the last such line)" : "");
    srv->refused_log_ms = now;
    srv->refused_unlogged = 0;
}

static void on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg, int tls)
{
    struct server *srv = arg;
    struct guard_addr *ga = NULL;
    SSL *ssl = NULL;
    char why[160];
    int refused;

    (void)lev;
    if (srv->stopping) {
        evutil_closesocket(fd);
        return;
    }
    refused = server_admit(srv, sa, &ga, why, sizeof(why));
    if (refused) {
        server_log_refusal(srv, why);
        if (srv->nrefusing >= SERVER_MAX_REFUSING) {
            srv->stats.connections_refused++;
            evutil_closesocket(fd);
            return;
        }
    }
    if (tls) {
        ssl = SSL_new(srv->tls_ctx);
        if (ssl == NULL) {
            log_msg(LOG_ERROR, "cannot create a TLS session: out of memory");
            evutil_closesocket(fd);
            return;
        }
    }
    conn_accept(srv, fd, sa, salen, ssl, ga, refused ? why : NULL);
}

static void on_accept_plain(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                            int salen, void *arg)
{
    on_accept(lev, fd, sa, salen, arg, 0);
}

static void on_accept_tls(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                          int salen, void *arg)
{
    on_accept(lev, fd, sa, salen, arg, 1);
}

/* Out of file descriptors and the like: pause accepting for a second instead of
 * spinning on the error. */
static void on_accept_error(struct evconnlistener *lev, void *arg)
{
    struct server *srv = arg;
    struct timeval tv = {1, 0};
    int e = EVUTIL_SOCKET_ERROR();

    log_msg(LOG_WARN, "accept failed: %s; pausing new connections for 1 s",
            evutil_socket_error_to_string(e));
    for (size_t i = 0; i < srv->nlisteners; i++)
        evconnlistener_disable(srv->listeners[i]);
    (void)lev;
    event_add(srv->ev_accept_pause, &tv);
}

static void on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;

    (void)fd;
    (void)what;
    if (srv->stopping)
        return;
    for (size_t i = 0; i < srv->nlisteners; i++)
        evconnlistener_enable(srv->listeners[i]);
}

static int server_listen(struct server *srv, const struct config_addr *a, int tls, char *err,
                         size_t errlen)
{
    struct addrinfo *res = NULL;
    struct evconnlistener *lev;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    char text[300];
    unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC;

    if (resolve(a, &res, err, errlen) != WM_OK)
        return WM_ECONFIG;
    if (res->ai_family == AF_INET6)
        flags |= LEV_OPT_BIND_IPV6ONLY;
    lev = evconnlistener_new_bind(srv->base, tls ? on_accept_tls : on_accept_plain, srv, flags, 511,
                                  res->ai_addr, (int)res->ai_addrlen);
    if (lev == NULL) {
        int e = errno;
        config_addr_format(a, text, sizeof(text));
        proto_errf(err, errlen, "cannot listen on %s: %s", text, strerror(e));
        freeaddrinfo(res);
        return WM_EIO;
    }
    freeaddrinfo(res);
    evconnlistener_set_error_cb(lev, on_accept_error);
    srv->listeners[srv->nlisteners++] = lev;
    if (getsockname(evconnlistener_get_fd(lev), (struct sockaddr *)&ss, &sslen) == 0)
        server_format_addr((struct sockaddr *)&ss, text, sizeof(text));
    else
        config_addr_format(a, text, sizeof(text));
    log_msg(LOG_INFO, "listening on %s%s", text, tls ? " (tls)" : "");
    return WM_OK;
}

static void server_close_listeners(struct server *srv)
{
    for (size_t i = 0; i < srv->nlisteners; i++)
        evconnlistener_free(srv->listeners[i]);
    srv->nlisteners = 0;
}

void server_check_stopped(struct server *srv)
{
    if (srv->stopping && srv->commit != NULL && srv->conns == NULL && commit_idle(srv->commit) &&
        !backup_running(srv))
        event_base_loopexit(srv->base, NULL);
}

static void on_batch_done(struct commit_batch *b, void *arg)
{
    struct server *srv = arg;
    int changed = 0;

    stats_commit(srv, b);
    for (size_t i = 0; i < b->n; i++) {
        const struct store_item *it = &b->items[i];
        if (it->result == WM_OK && !it->dup &&
            (it->op == STORE_OP_EVENT || it->op == STORE_OP_RETRACT || it->op == STORE_OP_REPLACE))
            changed = 1;
        conn_write_done(b->owners[i], it);
    }
    if (changed)
        watch_changed(srv);
    http_batch_done(srv, b, changed);
    conn_resume_queue_waiters(srv);
    server_check_stopped(srv);
}

static void on_grace_over(evutil_socket_t fd, short what, void *arg)
{
    struct server *srv = arg;
    struct conn *c, *next;

    (void)fd;
    (void)what;
    log_msg(LOG_WARN, "shutdown: closing connections that did not take their responses");
    for (c = srv->conns; c != NULL; c = next) {
        next = c->next;
        conn_close(c);
    }
    server_check_stopped(srv);
}

static const char *signame(int sig)
{
    return sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "signal";
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
    struct server *srv = arg;
    struct timeval grace = {SERVER_SHUTDOWN_GRACE, 0};
    struct conn *c, *next;

    (void)what;
    if (srv->stopping) {
        log_msg(LOG_INFO, "%s again: still finishing queued writes", signame((int)sig));
        return;
    }
    srv->stopping = 1;
    log_msg(LOG_INFO, "%s: shutting down, committing %zu queued writes", signame((int)sig),
            commit_pending(srv->commit));
    sd_notify(0, "STOPPING=1");
    server_close_listeners(srv);
    http_stop(srv);
    event_del(srv->ev_heartbeat);
    event_del(srv->ev_watch);
    for (c = srv->conns; c != NULL; c = next) {
        next = c->next;
        conn_shutdown(c);
    }
    event_add(srv->ev_grace, &grace);
    server_check_stopped(srv);
}

/* The audit destination: stderr (as info log lines, so only at log level info or
 * debug), none, or a file opened for appending. */
static int server_open_audit(struct server *srv, char *err, size_t errlen)
{
    const char *path = srv->cfg->audit_log;

    srv->audit_fd = -1;
    if (strcmp(path, "none") == 0)
        return WM_OK;
    if (strcmp(path, "stderr") == 0) {
        if (log_enabled(LOG_INFO))
            srv->audit_fd = STDERR_FILENO;
        return WM_OK;
    }
    srv->audit_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (srv->audit_fd < 0) {
        proto_errf(err, errlen, "cannot open the audit log %s: %s", path, strerror(errno));
        return WM_EIO;
    }
    return WM_OK;
}

/* SIGHUP after log rotation: the same descriptor number now writes to a new file, so
 * the writer thread never sees a closed descriptor. */
static void server_reopen_audit(struct server *srv)
{
    const char *path = srv->cfg->audit_log;
    int fd;

    if (srv->audit_fd < 0 || srv->audit_fd == STDERR_FILENO)
        return;
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        log_msg(LOG_ERROR, "SIGHUP: cannot reopen the audit log %s: %s; keeping the old one", path,
                strerror(errno));
        return;
    }
    if (dup2(fd, srv->audit_fd) < 0 || fcntl(srv->audit_fd, F_SETFD, FD_CLOEXEC) < 0)
        log_msg(LOG_ERROR, "SIGHUP: cannot reopen the audit log %s: %s", path, strerror(errno));
    else
        log_msg(LOG_INFO, "SIGHUP: reopened the audit log %s", path);
    close(fd);
}

static void on_reload(evutil_socket_t sig, short what, void *arg)
{
    struct server *srv = arg;
    struct auth_table *t = NULL;
    char err[512];
    int rc;

    (void)sig;
    (void)what;
    server_reopen_audit(srv);
    if (srv->cfg->tokens_file[0] == '\0') {
        log_msg(LOG_INFO, "SIGHUP: open mode, no token file to reload");
        return;
    }
    rc = auth_table_load(srv->cfg->tokens_file, srv->cfg->gemeenten, srv->cfg->n_gemeenten, &t, err,
                         sizeof(err));
    if (rc != WM_OK) {
        log_msg(LOG_ERROR, "SIGHUP: token file refused, keeping the old tokens: %s",
                rc == WM_ENOMEM ? "out of memory" : err);
        return;
    }
    /* a token that is gone, or a principal whose role or municipality changed, stops
     * working at once, also on connections opened before */
    conn_revoke(srv, t);
    http_revoke(srv, t);
    auth_table_free(srv->tokens);
    srv->tokens = t;
    log_msg(LOG_INFO, "SIGHUP: reloaded %zu tokens from %s", t->n, srv->cfg->tokens_file);
}

/* Allow max_connections descriptors plus some for the store and listeners. */
static void server_raise_nofile(const struct config *cfg)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)cfg->max_connections + 64;

    if (cfg->n_http_listen > 0)
        want += (rlim_t)cfg->http_max_connections;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < want)
        log_msg(LOG_WARN,
                "open file limit %llu is below max-connections + 64 (+ http-max-connections)",
                (unsigned long long)rl.rlim_cur);
}

/* The token table, or open mode, which only loopback listeners may use. Returns
 * WM_OK or an error with err. */
static int server_init_tokens(struct server *srv, const struct config *cfg, char *err,
                              size_t errlen)
{
    char msg[512];
    int rc;

    if (cfg->tokens_file[0] == '\0') {
        if (!server_listeners_loopback(cfg, msg, sizeof(msg))) {
            proto_errf(err, errlen,
                       "refusing to start in open mode (no token file: everyone is admin) on a "
                       "non-loopback listener: %s; give --tokens FILE or listen on 127.0.0.1",
                       msg);
            return WM_ECONFIG;
        }
        log_msg(LOG_WARN, "open mode: no token file, every connection is admin (loopback only)");
        return WM_OK;
    }
    rc = auth_table_load(cfg->tokens_file, cfg->gemeenten, cfg->n_gemeenten, &srv->tokens, err,
                         errlen);
    if (rc != WM_OK)
        return rc;
    log_msg(LOG_INFO, "loaded %zu tokens from %s", srv->tokens->n, cfg->tokens_file);
    if (srv->tokens->n == 0)
        log_msg(LOG_WARN, "the token file %s holds no tokens: nobody can authenticate",
                cfg->tokens_file);
    return WM_OK;
}

void server_check_data_dir(const char *dir)
{
    struct stat st;

    /* the store's files are the owner's alone (0600), but a directory others may list
     * or enter tells them what is there and lets a later mistake leak it: say so, as
     * the daemon cannot know whether a group is meant to read it */
    if (stat(dir, &st) == 0 && (st.st_mode & S_IRWXO) != 0)
        log_msg(LOG_WARN,
                "the data directory %s is open to others (mode %04o): it holds every event; "
                "run chmod o-rwx %s",
                dir, (unsigned)(st.st_mode & 07777), dir);
}

/* Open the store (loading its memory part), say what it holds, and apply the
 * registry file when one is given. Returns WM_OK or an error with err. */
static int server_open_store(struct server *srv, const struct config *cfg, char *err, size_t errlen)
{
    struct store_options opt;
    struct store_stats ss;
    char msg[512];
    size_t applied;
    int rc;

    memset(&opt, 0, sizeof(opt));
    opt.dir = cfg->data_dir;
    opt.map_size = cfg->map_size;
    opt.map_max = cfg->map_max;
    opt.checkpoint_every = cfg->checkpoint_every;
    opt.gemeenten = cfg->gemeenten;
    opt.n_gemeenten = cfg->n_gemeenten;
    /* the store's memory part is loaded now: from its checkpoint in seconds, or rebuilt
     * from its events in seconds per few million */
    log_msg(LOG_INFO, "opening the store in %s", cfg->data_dir);
    sd_notify(0, "STATUS=opening the store and loading its memory part");
    rc = store_open(&opt, &srv->store, msg, sizeof(msg));
    if (rc != WM_OK) {
        proto_errf(err, errlen, "cannot open the store in %s: %s", cfg->data_dir,
                   msg[0] ? msg : wm_strerror(rc));
        return rc;
    }
    server_check_data_dir(cfg->data_dir);
    if (store_stats(srv->store, &ss) == WM_OK && ss.checkpoint_rejected)
        log_msg(LOG_WARN, "the memory part's checkpoint in %s was not used, the memory part was %s",
                cfg->data_dir, ss.memory_source);
    if (store_stats(srv->store, &ss) == WM_OK)
        log_msg(LOG_INFO,
                "store opened in %s: %llu events; memory part %s in %llu ms "
                "(%llu persons, %llu rollup cells, %.1f MiB)",
                cfg->data_dir, (unsigned long long)ss.events, ss.memory_source,
                (unsigned long long)ss.memory_load_ms, (unsigned long long)ss.persons,
                (unsigned long long)ss.memory_cells, (double)ss.memory_bytes / 1048576.0);
    else
        log_msg(LOG_INFO, "store opened in %s", cfg->data_dir);
    if (cfg->registry_file[0] == '\0')
        return WM_OK;
    rc = bootstrap_registry_apply(srv->store, cfg->registry_file, cfg->gemeenten, cfg->n_gemeenten,
                                  &applied, msg, sizeof(msg));
    if (rc != WM_OK)
        proto_errf(err, errlen, "registry: %s", msg);
    return rc;
}

/* The signals and timers of the loop. Returns WM_OK or WM_ENOMEM with err. */
static int server_init_events(struct server *srv, char *err, size_t errlen)
{
    struct timeval hb = {WATCH_HEARTBEAT_S, 0};

    srv->ev_sigterm = evsignal_new(srv->base, SIGTERM, on_stop, srv);
    srv->ev_sigint = evsignal_new(srv->base, SIGINT, on_stop, srv);
    srv->ev_sighup = evsignal_new(srv->base, SIGHUP, on_reload, srv);
    srv->ev_grace = evtimer_new(srv->base, on_grace_over, srv);
    srv->ev_watch = evtimer_new(srv->base, watch_on_timer, srv);
    srv->ev_heartbeat = event_new(srv->base, -1, EV_PERSIST, watch_on_heartbeat, srv);
    srv->ev_accept_pause = evtimer_new(srv->base, on_accept_resume, srv);
    if (srv->ev_sigterm == NULL || srv->ev_sigint == NULL || srv->ev_sighup == NULL ||
        srv->ev_grace == NULL || srv->ev_watch == NULL || srv->ev_heartbeat == NULL ||
        srv->ev_accept_pause == NULL) {
        proto_errf(err, errlen, "cannot create events: out of memory");
        return WM_ENOMEM;
    }
    event_add(srv->ev_sigterm, NULL);
    event_add(srv->ev_sigint, NULL);
    event_add(srv->ev_sighup, NULL);
    event_add(srv->ev_heartbeat, &hb);
    return WM_OK;
}

int server_init(struct server *srv, struct config *cfg, char *err, size_t errlen)
{
    int rc;

    memset(srv, 0, sizeof(*srv));
    srv->cfg = cfg;
    srv->audit_fd = -1;
    srv->stats.started = time(NULL);
    proto_request_init(&srv->req);
    wm_buf_init(&srv->out);
    reads_shared_init(&srv->watch_shared, proto_totals_line);
    store_show_init(&srv->show);
    srv->env.gemeenten = cfg->gemeenten;
    srv->env.n_gemeenten = cfg->n_gemeenten;
    server_now(srv);
    srv->line = malloc(cfg->max_line + 2);
    if (srv->line == NULL) {
        proto_errf(err, errlen, "out of memory");
        return WM_ENOMEM;
    }
    if ((rc = server_init_tokens(srv, cfg, err, errlen)) != WM_OK)
        return rc;
    if (cfg->n_tls_listen > 0 || cfg->http_tls) {
        srv->tls_ctx = tls_ctx_new(cfg->tls_cert, cfg->tls_key, cfg->tls_ciphers, err, errlen);
        if (srv->tls_ctx == NULL)
            return WM_ECONFIG;
    }
    server_raise_nofile(cfg);
    srv->base = event_base_new();
    if (srv->base == NULL) {
        proto_errf(err, errlen, "cannot create the event loop");
        return WM_EINTERNAL;
    }
    if ((rc = server_open_store(srv, cfg, err, errlen)) != WM_OK ||
        (rc = server_open_audit(srv, err, errlen)) != WM_OK)
        return rc;
    if (guard_init(&srv->guard, srv->base) != WM_OK) {
        proto_errf(err, errlen, "out of memory");
        return WM_ENOMEM;
    }
    rc = commit_queue_new(srv->base, srv->store, on_batch_done, srv, srv->audit_fd,
                          (enum audit_detail)srv->cfg->audit_detail, &srv->commit);
    if (rc != WM_OK) {
        proto_errf(err, errlen, "cannot start the writer thread: %s", wm_strerror(rc));
        return rc;
    }
    /* the HTTP listener before the protocol's: whoever sees the protocol port accept
     * (a supervisor, a test) may use the HTTP port at once */
    if ((rc = server_init_events(srv, err, errlen)) != WM_OK ||
        (rc = http_init(srv, err, errlen)) != WM_OK)
        return rc;
    for (size_t i = 0; i < cfg->n_listen && rc == WM_OK; i++)
        rc = server_listen(srv, &cfg->listen[i], 0, err, errlen);
    for (size_t i = 0; i < cfg->n_tls_listen && rc == WM_OK; i++)
        rc = server_listen(srv, &cfg->tls_listen[i], 1, err, errlen);
    return rc;
}

int server_run(struct server *srv)
{
    sd_notify(0, "READY=1");
    log_msg(LOG_INFO, "werkmonitord %s ready", WM_VERSION);
    if (event_base_dispatch(srv->base) < 0 || !srv->stopping) {
        log_msg(LOG_ERROR, "the event loop failed");
        return 1;
    }
    log_msg(LOG_INFO, "stopped");
    return 0;
}

void server_free(struct server *srv)
{
    server_close_listeners(srv);
    backup_free(srv);
    /* after a normal shutdown nothing is left; after a failed start or a loop error,
     * stop the writer first so no batch refers to a connection being freed */
    commit_queue_free(srv->commit);
    srv->commit = NULL;
    conn_free_all(srv);
    http_free(srv);
    guard_free(&srv->guard);
    store_close(srv->store);
    srv->store = NULL;
    if (srv->audit_fd > STDERR_FILENO)
        close(srv->audit_fd);
    if (srv->ev_sigterm != NULL)
        event_free(srv->ev_sigterm);
    if (srv->ev_sigint != NULL)
        event_free(srv->ev_sigint);
    if (srv->ev_sighup != NULL)
        event_free(srv->ev_sighup);
    if (srv->ev_grace != NULL)
        event_free(srv->ev_grace);
    if (srv->ev_watch != NULL)
        event_free(srv->ev_watch);
    if (srv->ev_heartbeat != NULL)
        event_free(srv->ev_heartbeat);
    if (srv->ev_accept_pause != NULL)
        event_free(srv->ev_accept_pause);
    if (srv->base != NULL)
        event_base_free(srv->base);
    if (srv->tls_ctx != NULL)
        SSL_CTX_free(srv->tls_ctx);
    auth_table_free(srv->tokens);
    proto_request_free(&srv->req);
    wm_buf_free(&srv->out);
    proto_count_result_free(&srv->count_res);
    proto_progress_result_free(&srv->progress_res);
    proto_projects_result_free(&srv->projects_res);
    reads_shared_free(&srv->watch_shared);
    free(srv->gem_totals);
    store_show_free(&srv->show);
    free(srv->line);
    memset(srv, 0, sizeof(*srv));
}
