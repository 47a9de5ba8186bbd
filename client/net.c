/*
 * The client's connection: TCP (IPv4/IPv6) or TLS, non-blocking underneath so that
 * pipelining commands (raw, import, bench) can write and read in one poll loop, with
 * blocking helpers for the simple commands. OpenSSL and errno are translated here.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "client.h"

#define NET_READ_CHUNK (64 * 1024)
#define NET_MAX_LINE (1024 * 1024)    /* a server line longer than this is a protocol error */
#define NET_IN_HIGH (8 * 1024 * 1024) /* stop reading while this much is unconsumed */

int64_t cli_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Milliseconds left until deadline_us (0: none, gives -1), never below 0. */
static int ms_left(int64_t deadline_us)
{
    int64_t left;

    if (deadline_us == 0)
        return -1;
    left = (deadline_us - cli_now_us() + 999) / 1000;
    return left < 0 ? 0 : (int)(left > 1000000000 ? 1000000000 : left);
}

static int64_t deadline_after(int timeout_ms)
{
    return timeout_ms > 0 ? cli_now_us() + (int64_t)timeout_ms * 1000 : 0;
}

/* The queue of the last OpenSSL errors as one line into buf. */
static void ssl_errors(char *buf, size_t len)
{
    unsigned long e;
    size_t used = 0;

    buf[0] = '\0';
    while ((e = ERR_get_error()) != 0) {
        const char *reason = ERR_reason_error_string(e);
        int n;

        if (reason == NULL)
            reason = "unknown TLS error";
        n = snprintf(buf + used, len - used, "%s%s", used > 0 ? "; " : "", reason);
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
    if (buf[0] == '\0')
        snprintf(buf, len, "TLS error");
}

static void conn_fail(struct cli_conn *c)
{
    if (c->ssl != NULL) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->ssl_ctx != NULL) {
        SSL_CTX_free(c->ssl_ctx);
        c->ssl_ctx = NULL;
    }
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
}

/* Connect one address with a timeout. Returns the socket or -1 with errno set. */
static int connect_addr(const struct addrinfo *ai, int timeout_ms)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    int one = 1;
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    struct pollfd p;
    int rc;

    if (fd < 0)
        return -1;
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
        goto fail;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        goto ok;
    if (errno != EINPROGRESS)
        goto fail;
    p.fd = fd;
    p.events = POLLOUT;
    do {
        rc = poll(&p, 1, timeout_ms > 0 ? timeout_ms : -1);
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) {
        errno = ETIMEDOUT;
        goto fail;
    }
    if (rc < 0)
        goto fail;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        goto fail;
    if (soerr != 0) {
        errno = soerr;
        goto fail;
    }
ok:
    /* requests are small lines: do not let Nagle hold them back */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
fail:
    rc = errno;
    close(fd);
    errno = rc;
    return -1;
}

/* 1 when host is an IPv4 or IPv6 literal. */
static int is_ip_literal(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* TLS handshake on c->fd with verification of the certificate and of host. */
static int tls_start(struct cli_conn *c, const char *host, int64_t deadline)
{
    const struct cli_config *cfg = c->cfg;
    char why[256];

    ERR_clear_error();
    c->ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (c->ssl_ctx == NULL)
        goto ssl_fail;
    if (SSL_CTX_set_min_proto_version(c->ssl_ctx, TLS1_2_VERSION) != 1)
        goto ssl_fail;
    SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_PEER, NULL);
    if (cfg->ca != NULL) {
        if (SSL_CTX_load_verify_locations(c->ssl_ctx, cfg->ca, NULL) != 1) {
            ssl_errors(why, sizeof(why));
            snprintf(c->err, sizeof(c->err), "cannot load CA file %s: %s", cfg->ca, why);
            return WM_ECONNECT;
        }
    } else if (SSL_CTX_set_default_verify_paths(c->ssl_ctx) != 1) {
        goto ssl_fail;
    }
    c->ssl = SSL_new(c->ssl_ctx);
    if (c->ssl == NULL)
        goto ssl_fail;
    SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (is_ip_literal(host)) {
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), host) != 1)
            goto ssl_fail;
    } else {
        if (SSL_set1_host(c->ssl, host) != 1 || SSL_set_tlsext_host_name(c->ssl, host) != 1)
            goto ssl_fail;
    }
    if (SSL_set_fd(c->ssl, c->fd) != 1)
        goto ssl_fail;
    for (;;) {
        int rc = SSL_connect(c->ssl);
        struct pollfd p;
        int e;

        if (rc == 1)
            return WM_OK;
        e = SSL_get_error(c->ssl, rc);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            long vr = SSL_get_verify_result(c->ssl);

            if (vr != X509_V_OK) {
                snprintf(c->err, sizeof(c->err), "TLS certificate verification failed: %s",
                         X509_verify_cert_error_string(vr));
            } else if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
                snprintf(c->err, sizeof(c->err), "TLS handshake failed: %s",
                         errno != 0 ? strerror(errno) : "connection closed by server");
            } else {
                ssl_errors(why, sizeof(why));
                snprintf(c->err, sizeof(c->err), "TLS handshake failed: %s", why);
            }
            return WM_ECONNECT;
        }
        p.fd = c->fd;
        p.events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        rc = poll(&p, 1, ms_left(deadline));
        if (rc == 0) {
            snprintf(c->err, sizeof(c->err), "TLS handshake timed out");
            return WM_ECONNECT;
        }
        if (rc < 0 && errno != EINTR) {
            snprintf(c->err, sizeof(c->err), "%s", strerror(errno));
            return WM_ECONNECT;
        }
    }
ssl_fail:
    ssl_errors(why, sizeof(why));
    snprintf(c->err, sizeof(c->err), "TLS set-up failed: %s", why);
    return WM_ECONNECT;
}

/* The host to resolve (without the brackets of "[::1]") into host, and "host:port"
 * for messages into c->peer. */
static void conn_names(struct cli_conn *c, const struct cli_config *cfg, char *host, size_t hostlen)
{
    size_t hl = strlen(cfg->host);

    /* accept "[::1]" as well as "::1" */
    if (hl >= 2 && cfg->host[0] == '[' && cfg->host[hl - 1] == ']')
        snprintf(host, hostlen, "%.*s", (int)(hl - 2), cfg->host + 1);
    else
        snprintf(host, hostlen, "%s", cfg->host);
    if (strchr(host, ':') != NULL)
        snprintf(c->peer, sizeof(c->peer), "[%s]:%s", host, cfg->port);
    else
        snprintf(c->peer, sizeof(c->peer), "%s:%s", host, cfg->port);
}

/* Connect c->fd to the first address of host that answers. Returns WM_OK or
 * WM_ECONNECT (c->err says why). */
static int conn_connect(struct cli_conn *c, const char *host, const struct cli_config *cfg)
{
    struct addrinfo hints, *res = NULL, *ai;
    int gai, last_errno = 0;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    /* no AI_ADDRCONFIG: on a loopback-only machine it would hide ::1 */
    gai = getaddrinfo(host, cfg->port, &hints, &res);
    if (gai != 0) {
        snprintf(c->err, sizeof(c->err), "%s",
                 gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
        return WM_ECONNECT;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        c->fd = connect_addr(ai, cfg->timeout_ms);
        if (c->fd >= 0)
            break;
        last_errno = errno;
    }
    freeaddrinfo(res);
    if (c->fd < 0) {
        snprintf(c->err, sizeof(c->err), "%s",
                 last_errno == ETIMEDOUT ? "connection timed out" : strerror(last_errno));
        return WM_ECONNECT;
    }
    return WM_OK;
}

/* 1 when the connected socket's peer is a loopback address (127.0.0.0/8, ::1, or
 * ::ffff:127.x); else 0, also when it cannot be told. */
static int peer_is_loopback(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss.ss_family == AF_INET6) {
        const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return 0;
}

/* A token sent without TLS to another machine can be read by anyone on the way: say
 * so on stderr, once per run (an import that reconnects warns once). */
static void warn_clear_token(const struct cli_conn *c)
{
    static int warned;

    if (warned || peer_is_loopback(c->fd))
        return;
    warned = 1;
    fprintf(stderr,
            "werkmonitor: warning: sending the token in clear text to %s, which is not this "
            "machine; anyone on the network path can read it: use --tls (and --ca)\n",
            c->peer);
}

/* Send AUTH with cfg->token and wait for its OK. Returns WM_OK, WM_ECONNECT (no
 * answer, or the server is unavailable), WM_EAUTH_FAILED (c->err holds the ERR line),
 * WM_ENOMEM. */
static int conn_auth(struct cli_conn *c, const struct cli_config *cfg)
{
    char *line;
    size_t len;
    int rc = wm_buf_puts(&c->out, "AUTH ");

    if (rc == WM_OK)
        rc = wm_buf_append_escaped(&c->out, cfg->token, strlen(cfg->token));
    if (rc == WM_OK)
        rc = wm_buf_puts(&c->out, "\n");
    if (rc != WM_OK)
        return rc;
    rc = cli_conn_read_line(c, cfg->timeout_ms > 0 ? cfg->timeout_ms : -1, &line, &len);
    if (rc != WM_OK) {
        char why[200];

        snprintf(why, sizeof(why), "%.190s", c->err);
        snprintf(c->err, sizeof(c->err), "no answer to AUTH: %s",
                 rc == WM_ECLOSED ? "connection closed by server" : why);
        return WM_ECONNECT;
    }
    if (strncmp(line, "OK", 2) != 0) {
        snprintf(c->err, sizeof(c->err), "%.500s", line);
        /* a server at its limit or shutting down refuses before it judges the token */
        return strncmp(line, "ERR unavailable", 15) == 0 ? WM_ECONNECT : WM_EAUTH_FAILED;
    }
    return WM_OK;
}

int cli_conn_open(struct cli_conn *c, const struct cli_config *cfg)
{
    char host[256];
    int rc;

    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->cfg = cfg;
    wm_buf_init(&c->out);
    conn_names(c, cfg, host, sizeof(host));
    rc = conn_connect(c, host, cfg);
    if (rc != WM_OK)
        return rc;
    if (cfg->tls)
        rc = tls_start(c, host, deadline_after(cfg->timeout_ms));
    if (rc == WM_OK && cfg->token != NULL) {
        if (!cfg->tls)
            warn_clear_token(c);
        rc = conn_auth(c, cfg);
    }
    if (rc != WM_OK)
        conn_fail(c);
    return rc;
}

void cli_conn_close(struct cli_conn *c)
{
    if (c->ssl != NULL && !c->eof)
        SSL_shutdown(c->ssl); /* best effort close_notify; the socket is non-blocking */
    conn_fail(c);
    free(c->in);
    c->in = NULL;
    c->in_start = c->in_end = c->in_cap = c->in_scan = 0;
    wm_buf_free(&c->out);
    c->out_pos = 0;
}

int cli_conn_queue(struct cli_conn *c, const void *p, size_t n)
{
    return wm_buf_append(&c->out, p, n);
}

size_t cli_conn_pending(const struct cli_conn *c)
{
    return c->out.len - c->out_pos;
}

/* Write queued bytes until the socket would block. */
static int conn_write(struct cli_conn *c)
{
    c->ssl_want_write = 0;
    while (c->out_pos < c->out.len) {
        size_t n = c->out.len - c->out_pos;
        ssize_t w;

        if (c->ssl != NULL) {
            int r = SSL_write(c->ssl, c->out.data + c->out_pos, n > INT32_MAX ? INT32_MAX : (int)n);

            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);

                if (e == SSL_ERROR_WANT_WRITE) {
                    c->ssl_want_write = 1;
                    return WM_OK;
                }
                if (e == SSL_ERROR_WANT_READ)
                    return WM_OK;
                if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
                    snprintf(c->err, sizeof(c->err), "send failed: %s",
                             errno != 0 ? strerror(errno) : "connection closed");
                } else {
                    char why[256];

                    ssl_errors(why, sizeof(why));
                    snprintf(c->err, sizeof(c->err), "TLS send failed: %s", why);
                }
                return WM_EIO;
            }
            w = r;
        } else {
            w = send(c->fd, c->out.data + c->out_pos, n, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    return WM_OK;
                if (errno == EINTR)
                    continue;
                snprintf(c->err, sizeof(c->err), "send failed: %s", strerror(errno));
                return errno == EPIPE || errno == ECONNRESET ? WM_ECLOSED : WM_EIO;
            }
        }
        c->out_pos += (size_t)w;
    }
    wm_buf_reset(&c->out);
    c->out_pos = 0;
    return WM_OK;
}

/* Make room for at least NET_READ_CHUNK bytes after in_end. */
static int in_reserve(struct cli_conn *c)
{
    if (c->in_start > 0 && (c->in_start == c->in_end || c->in_cap - c->in_end < NET_READ_CHUNK)) {
        memmove(c->in, c->in + c->in_start, c->in_end - c->in_start);
        c->in_end -= c->in_start;
        c->in_start = 0;
    }
    if (c->in_cap - c->in_end < NET_READ_CHUNK) {
        size_t ncap = c->in_cap == 0 ? 4 * NET_READ_CHUNK : c->in_cap * 2;
        char *n = realloc(c->in, ncap);

        if (n == NULL)
            return WM_ENOMEM;
        c->in = n;
        c->in_cap = ncap;
    }
    return WM_OK;
}

/* Read until the socket would block (or the buffer is full enough). */
static int conn_read(struct cli_conn *c)
{
    while (!c->eof && c->in_end - c->in_start < NET_IN_HIGH) {
        size_t room;
        ssize_t r;
        int rc = in_reserve(c);

        if (rc != WM_OK)
            return rc;
        room = c->in_cap - c->in_end;
        if (c->ssl != NULL) {
            int n = SSL_read(c->ssl, c->in + c->in_end, room > INT32_MAX ? INT32_MAX : (int)room);

            if (n <= 0) {
                int e = SSL_get_error(c->ssl, n);

                if (e == SSL_ERROR_WANT_READ)
                    return WM_OK;
                if (e == SSL_ERROR_WANT_WRITE) {
                    c->ssl_want_write = 1;
                    return WM_OK;
                }
                if (e == SSL_ERROR_ZERO_RETURN ||
                    (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 &&
                     (errno == 0 || errno == ECONNRESET))) {
                    c->eof = 1;
                    return WM_OK;
                }
                {
                    char why[256];

                    ssl_errors(why, sizeof(why));
                    snprintf(c->err, sizeof(c->err), "TLS receive failed: %s", why);
                }
                return WM_EIO;
            }
            r = n;
        } else {
            r = recv(c->fd, c->in + c->in_end, room, 0);
            if (r < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    return WM_OK;
                if (errno == EINTR)
                    continue;
                if (errno == ECONNRESET) {
                    c->eof = 1;
                    snprintf(c->err, sizeof(c->err), "connection reset by server");
                    return WM_OK;
                }
                snprintf(c->err, sizeof(c->err), "receive failed: %s", strerror(errno));
                return WM_EIO;
            }
            if (r == 0) {
                c->eof = 1;
                return WM_OK;
            }
        }
        c->in_end += (size_t)r;
        if (c->ssl == NULL && (size_t)r < room)
            return WM_OK; /* drained: the next read would only say EAGAIN */
    }
    return WM_OK;
}

int cli_conn_io(struct cli_conn *c, int timeout_ms, struct pollfd *extra)
{
    struct pollfd p[2];
    nfds_t n = 0;
    int rc;

    if ((c->fd < 0 || c->eof) && extra == NULL)
        return WM_ECLOSED;
    if (c->fd >= 0) {
        p[n].fd = c->fd;
        p[n].events = 0;
        if (!c->eof && c->in_end - c->in_start < NET_IN_HIGH)
            p[n].events |= POLLIN;
        if (cli_conn_pending(c) > 0 || c->ssl_want_write)
            p[n].events |= POLLOUT;
        p[n].revents = 0;
        n++;
    }
    if (extra != NULL) {
        extra->revents = 0;
        p[n++] = *extra;
    }
    if (c->ssl != NULL && SSL_pending(c->ssl) > 0)
        timeout_ms = 0;
    rc = poll(p, n, timeout_ms);
    if (rc < 0) {
        if (errno == EINTR)
            return WM_OK;
        snprintf(c->err, sizeof(c->err), "poll failed: %s", strerror(errno));
        return WM_EIO;
    }
    if (extra != NULL)
        extra->revents = p[n - 1].revents;
    if (c->fd < 0)
        return WM_OK;
    /* read first: a server that closed may have sent responses we still need */
    if (p[0].revents & (POLLIN | POLLERR | POLLHUP) || (c->ssl != NULL && SSL_pending(c->ssl))) {
        rc = conn_read(c);
        if (rc != WM_OK)
            return rc;
    }
    if (!c->eof && (p[0].revents & (POLLOUT | POLLERR | POLLHUP) || c->ssl_want_write)) {
        rc = conn_write(c);
        if (rc == WM_ECLOSED)
            c->eof = 1;
        else if (rc != WM_OK)
            return rc;
    }
    if (c->in_end - c->in_start > NET_MAX_LINE &&
        memchr(c->in + c->in_start, '\n', c->in_end - c->in_start) == NULL) {
        snprintf(c->err, sizeof(c->err), "the server sent a line longer than %d bytes",
                 NET_MAX_LINE);
        return WM_EPROTOCOL;
    }
    if (c->eof) {
        if (c->err[0] == '\0')
            snprintf(c->err, sizeof(c->err), "connection closed by server");
        return WM_ECLOSED;
    }
    return WM_OK;
}

int cli_conn_line(struct cli_conn *c, char **line, size_t *len)
{
    char *start = c->in + c->in_start;
    char *nl;
    size_t n;

    if (c->in_end == c->in_start)
        return 0;
    nl = memchr(start + c->in_scan, '\n', c->in_end - c->in_start - c->in_scan);
    if (nl == NULL) {
        c->in_scan = c->in_end - c->in_start;
        return 0;
    }
    n = (size_t)(nl - start);
    *nl = '\0';
    c->in_start += n + 1;
    c->in_scan = 0;
    if (n > 0 && start[n - 1] == '\r')
        start[--n] = '\0';
    *line = start;
    *len = n;
    return 1;
}

int cli_conn_flush(struct cli_conn *c)
{
    int64_t deadline = deadline_after(c->cfg->timeout_ms);

    while (cli_conn_pending(c) > 0) {
        int rc;

        if (deadline != 0 && cli_now_us() >= deadline) {
            snprintf(c->err, sizeof(c->err), "timed out sending to the server");
            return WM_EIO;
        }
        rc = cli_conn_io(c, ms_left(deadline), NULL);
        if (rc != WM_OK)
            return rc;
    }
    return WM_OK;
}

int cli_conn_read_line(struct cli_conn *c, int timeout_ms, char **line, size_t *len)
{
    int64_t deadline = deadline_after(timeout_ms);

    for (;;) {
        int rc;

        if (cli_conn_line(c, line, len))
            return WM_OK;
        if (c->eof) {
            if (c->err[0] == '\0')
                snprintf(c->err, sizeof(c->err), "connection closed by server");
            return WM_ECLOSED;
        }
        if (deadline != 0 && cli_now_us() >= deadline) {
            snprintf(c->err, sizeof(c->err), "timed out after %.1f s waiting for the server",
                     timeout_ms / 1000.0);
            return WM_EIO;
        }
        rc = cli_conn_io(c, ms_left(deadline), NULL);
        if (rc == WM_ECLOSED)
            continue; /* take the lines that arrived before the close */
        if (rc != WM_OK)
            return rc;
    }
}
