/*
 * cmd: one handler per verb. A handler validates through proto (the daemon never
 * parses by hand), checks the role, then either answers at once (reads) or queues a
 * store item for the commit thread (writes), whose response comes in conn_write_done.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "log.h"

/* Room for a validation message from proto or storage. */
#define CMD_ERRLEN 256
#define CMD_DENIALS_LOGGED 3 /* per connection; the rest are counted (conn_close says how many) */

static void cmd_ping(struct conn *c)
{
    conn_reply(c, "PONG\n", 5);
}

static void cmd_hello(struct conn *c)
{
    char line[128];
    int n = snprintf(line, sizeof(line), "OK werkmonitor %s proto=1 role=%s\n", WM_VERSION,
                     auth_role_name(c->role));

    conn_reply(c, line, (size_t)n);
}

static int cmd_auth(struct conn *c, const char *line, size_t len_line)
{
    struct server *srv = c->srv;
    const struct proto_request *req = &srv->req;
    const struct auth_entry *e;
    const char *token = proto_request_positional(req, 0);
    char joined[8192];
    size_t len;
    struct wm_buf *out = &srv->out;

    /* a token holding '=' (base64 padding) parses as key=value: join it again */
    if (token == NULL && req->nargs == 1 && req->args[0].key != NULL) {
        snprintf(joined, sizeof(joined), "%s=%s", req->args[0].key, req->args[0].val);
        token = joined;
    }
    if (token == NULL || req->nargs != 1)
        return conn_reply_err(c, WM_ESYNTAX, "AUTH needs exactly one token");
    len = strlen(token);
    if (srv->tokens == NULL) {
        /* open mode: every connection is already admin */
        conn_reply(c, "OK local role=admin\n", 20);
        return WM_OK;
    }
    /* an address whose AUTHs failed waits before its next one is judged (conn_hold
     * runs this request again then) */
    if (c->guard != NULL) {
        uint64_t now = guard_now_ms(), wait = guard_auth_wait_ms(c->guard, now);
        if (wait > 0) {
            conn_hold(c, line, len_line, wait);
            return WM_OK;
        }
    }
    e = auth_table_lookup(srv->tokens, token, len);
    if (e == NULL) {
        c->auth_failures++;
        srv->stats.auth_failures++;
        log_msg(LOG_DEBUG, "auth failed from %s (%u of 3)", c->peer, c->auth_failures);
        if (c->guard != NULL)
            guard_auth_failed(&srv->guard, c->guard, guard_now_ms(), "AUTH");
        if (c->auth_failures >= 3) {
            conn_reply_err(c, WM_EAUTH_FAILED, "wrong token; closing after 3 failures");
            conn_begin_close(c);
            return WM_EAUTH_FAILED;
        }
        return conn_reply_err(c, WM_EAUTH_FAILED, "wrong token");
    }
    memcpy(c->principal, e->principal, sizeof(c->principal));
    memcpy(c->gemeente, e->gemeente, sizeof(c->gemeente));
    memcpy(c->token_hash, e->hash, sizeof(c->token_hash));
    c->role = e->role;
    conn_authenticated(c);
    log_msg(LOG_INFO, "auth principal=%s role=%s%s%s from %s", c->principal,
            auth_role_name(c->role), c->gemeente[0] ? " gemeente=" : "", c->gemeente, c->peer);
    wm_buf_reset(out);
    wm_buf_puts(out, "OK ");
    wm_buf_puts(out, c->principal);
    proto_fmt_pair(out, "role", auth_role_name(c->role));
    if (c->gemeente[0] != '\0')
        proto_fmt_pair(out, "gemeente", c->gemeente);
    wm_buf_puts(out, "\n");
    if (!out->oom)
        conn_reply(c, out->data, out->len);
    return WM_OK;
}

static void cmd_quit(struct conn *c)
{
    conn_reply(c, "OK bye\n", 7);
    conn_begin_close(c);
}

static void cmd_reply_block(struct conn *c, size_t nrows);

/* Reserve c's response slot and queue it (the item was filled by the caller). */
static int cmd_queue(struct conn *c)
{
    if (conn_wait_write(c) != WM_OK)
        return conn_reply_err(c, WM_EINTERNAL, "out of memory");
    commit_push(c->srv->commit, c, c->principal);
    return WM_OK;
}

static struct store_item *cmd_item(struct conn *c)
{
    struct store_item *it;

    if (c->srv->stopping) {
        conn_reply_err(c, WM_EUNAVAILABLE, "the server is shutting down");
        return NULL;
    }
    it = commit_next(c->srv->commit);
    if (it == NULL)
        conn_reply_err(c, WM_EINTERNAL, "out of memory");
    return it;
}

/* Build the event of an EVENT, REPLACE or CHECK into ev and check that the principal
 * may write it (its municipality), as every one of them does. Returns WM_OK, or the
 * error it answered. */
/* A request refused for the principal's role or municipality: counted in STATS, and
 * logged ("denied: principal=<p> <what>"); past the first CMD_DENIALS_LOGGED of a
 * connection only counted, for the one line conn_close writes, so a bound writer's
 * import of another municipality's rows does not flood the log. */
static void cmd_denied(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cmd_denied(struct conn *c, const char *fmt, ...)
{
    char what[CMD_ERRLEN];
    va_list ap;

    c->srv->stats.denials++;
    if (c->denials_logged >= CMD_DENIALS_LOGGED) {
        c->denials_unlogged++;
        return;
    }
    c->denials_logged++;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    log_msg(LOG_INFO, "denied: principal=%s %s%s", c->principal, what,
            c->denials_logged == CMD_DENIALS_LOGGED
                ? " (further denials on this connection are counted, not logged)"
                : "");
}

static int cmd_event_build(struct conn *c, struct wm_event *ev)
{
    struct server *srv = c->srv;
    char err[CMD_ERRLEN];
    time_t now = server_now(srv);
    int rc;

    rc = proto_event_build(&srv->req, &srv->env, ev, err, sizeof(err));
    if (rc != WM_OK)
        return conn_reply_err(c, rc, "%s", err);
    if (c->gemeente[0] != '\0' && strcmp(ev->gemeente, c->gemeente) != 0) {
        cmd_denied(c, "may not write for gemeente=%s", ev->gemeente);
        return conn_reply_err(c, WM_EDENIED,
                              "gemeente=%s: principal %s writes for gemeente %s only", ev->gemeente,
                              c->principal, c->gemeente);
    }
    memcpy(ev->principal, c->principal, sizeof(ev->principal));
    ev->recv_time = (int64_t)now;
    return WM_OK;
}

/* EVENT and REPLACE: queue the event for the commit thread. */
static int cmd_event(struct conn *c, enum store_op op)
{
    struct store_item *it;
    int rc;

    if ((it = cmd_item(c)) == NULL)
        return WM_EUNAVAILABLE;
    if ((rc = cmd_event_build(c, &it->u.event)) != WM_OK)
        return rc;
    it->op = op;
    return cmd_queue(c);
}

/* CHECK: what EVENT would answer, read from the last commit on this thread; nothing is
 * queued, so nothing waits for a sync. */
static int cmd_check(struct conn *c)
{
    struct wm_event *ev = &c->srv->scratch_ev;
    char err[CMD_ERRLEN];
    int rc;

    if ((rc = cmd_event_build(c, ev)) != WM_OK)
        return rc;
    rc = store_check(c->srv->store, ev, err, sizeof(err));
    if (rc != WM_OK)
        return conn_reply_err(c, rc, "%s", err);
    conn_reply(c, "OK\n", 3);
    return WM_OK;
}

/* SHOW: the versions of an event id, one ROW each, oldest first. */
static int cmd_show(struct conn *c)
{
    struct server *srv = c->srv;
    struct wm_show_query q;
    const char *principal;
    char err[CMD_ERRLEN];
    int rc;

    rc = proto_show_build(&srv->req, &q, err, sizeof(err));
    if (rc != WM_OK)
        return conn_reply_err(c, rc, "%s", err);
    principal = q.principal[0] != '\0' ? q.principal : c->principal;
    if (c->role != AUTH_ROLE_ADMIN && (q.seq != 0 || strcmp(principal, c->principal) != 0)) {
        cmd_denied(c, "may not show another principal's events");
        return conn_reply_err(c, WM_EDENIED,
                              "%s: only an admin may show another principal's events",
                              q.seq != 0 ? "seq" : "principal");
    }
    rc = store_show(srv->store, principal, q.id, q.seq, &srv->show, err, sizeof(err));
    if (rc != WM_OK)
        return conn_reply_err(c, rc, "%s", err);
    wm_buf_reset(&srv->out);
    for (size_t i = 0; i < srv->show.n && rc == WM_OK; i++)
        rc = proto_fmt_version(&srv->out, &srv->show.v[i].ev, srv->show.v[i].retracted_by,
                               srv->show.v[i].reason);
    if (rc != WM_OK)
        return conn_reply_err(c, rc == WM_ENOMEM ? WM_EINTERNAL : rc, "cannot format version: %s",
                              wm_strerror(rc));
    cmd_reply_block(c, srv->show.n);
    return WM_OK;
}

static int cmd_retract(struct conn *c)
{
    struct server *srv = c->srv;
    struct store_item *it;
    struct wm_retract *rt;
    char err[CMD_ERRLEN];
    time_t now = server_now(srv);
    int rc;

    if ((it = cmd_item(c)) == NULL)
        return WM_EUNAVAILABLE;
    rt = &it->u.retract;
    rc = proto_retract_build(&srv->req, rt, err, sizeof(err));
    if (rc != WM_OK)
        return conn_reply_err(c, rc, "%s", err);
    if (rt->by_seq && c->role != AUTH_ROLE_ADMIN) {
        cmd_denied(c, "may not retract by seq");
        return conn_reply_err(c, WM_EDENIED, "seq: only an admin may retract by seq; use ref=<id>");
    }
    memcpy(rt->principal, c->principal, sizeof(rt->principal));
    rt->recv_time = (int64_t)now;
    it->op = STORE_OP_RETRACT;
    it->admin = c->role == AUTH_ROLE_ADMIN;
    return cmd_queue(c);
}

static int cmd_project(struct conn *c, int program)
{
    struct server *srv = c->srv;
    struct store_item *it;
    char err[CMD_ERRLEN];
    int rc;

    if ((it = cmd_item(c)) == NULL)
        return WM_EUNAVAILABLE;
    if (program)
        rc = proto_program_build(&srv->req, &it->u.project, err, sizeof(err));
    else
        rc = proto_project_build(&srv->req, &it->u.project, err, sizeof(err));
    if (rc != WM_OK)
        return conn_reply_err(c, rc, "%s", err);
    it->op = program ? STORE_OP_PROGRAM : STORE_OP_PROJECT;
    return cmd_queue(c);
}

static int cmd_note(struct conn *c)
{
    struct server *srv = c->srv;
    struct store_item *it;
    char err[CMD_ERRLEN];
    int rc;

    if ((it = cmd_item(c)) == NULL)
        return WM_EUNAVAILABLE;
    rc = proto_note_build(&srv->req, &it->u.note, err, sizeof(err));
    if (rc != WM_OK)
        return conn_reply_err(c, rc, "%s", err);
    memcpy(it->u.note.principal, c->principal, sizeof(it->u.note.principal));
    it->u.note.time = (int64_t)server_now(srv);
    it->op = STORE_OP_NOTE;
    return cmd_queue(c);
}

/* Send the block in srv->out after appending END n. */
static void cmd_reply_block(struct conn *c, size_t nrows)
{
    struct wm_buf *out = &c->srv->out;

    proto_fmt_end(out, nrows);
    if (out->oom) {
        conn_reply_err(c, WM_EINTERNAL, "out of memory");
        return;
    }
    conn_reply(c, out->data, out->len);
}

/* The reader a connection is. */
static struct reader cmd_reader(const struct conn *c)
{
    struct reader r = {c->role, c->principal, c->gemeente};

    return r;
}

static int cmd_projects(struct conn *c)
{
    struct server *srv = c->srv;
    struct reader who = cmd_reader(c);
    char err[CMD_ERRLEN];
    int rc;

    rc = reads_projects(srv, &who, err, sizeof(err));
    if (rc != WM_OK)
        return conn_reply_err(c, rc, "%s", err);
    answer_projects(c);
    return WM_OK;
}

/* A principal bound to a gemeente reads that municipality's figures only; the notes
 * speak of the region's, so it gets none. */
static int cmd_notes(struct conn *c)
{
    struct server *srv = c->srv;
    struct wm_notes_query q;
    struct store_note_list l;
    char err[CMD_ERRLEN];
    int rc;

    rc = proto_notes_build(&srv->req, &q, err, sizeof(err));
    if (rc != WM_OK)
        return conn_reply_err(c, rc, "%s", err);
    wm_buf_reset(&srv->out);
    if (c->gemeente[0] != '\0') {
        cmd_reply_block(c, 0);
        return WM_OK;
    }
    rc = store_notes(srv->store, &q, &l, err, sizeof(err));
    if (rc != WM_OK) {
        store_note_list_free(&l);
        return conn_reply_err(c, rc, "%s", err);
    }
    answer_notes(c, &l);
    store_note_list_free(&l);
    return WM_OK;
}

static int cmd_count(struct conn *c)
{
    struct server *srv = c->srv;
    struct reader who = cmd_reader(c);
    char err[CMD_ERRLEN];
    int rc;

    rc = reads_count(srv, &who, &srv->req, err, sizeof(err));
    if (rc != WM_OK)
        return conn_reply_err(c, rc, "%s", err);
    answer_count(c);
    return WM_OK;
}

static int cmd_progress(struct conn *c)
{
    struct server *srv = c->srv;
    struct reader who = cmd_reader(c);
    char err[CMD_ERRLEN];
    int rc;

    rc = reads_progress(srv, &who, &srv->req, err, sizeof(err));
    if (rc != WM_OK)
        return conn_reply_err(c, rc, "%s", err);
    answer_progress(c);
    return WM_OK;
}

static int cmd_stats(struct conn *c)
{
    struct server *srv = c->srv;
    char err[CMD_ERRLEN];
    int rc;

    wm_buf_reset(&srv->out);
    rc = stats_format(srv, &srv->out, err, sizeof(err));
    if (rc != WM_OK)
        return conn_reply_err(c, rc, "%s", err);
    conn_reply(c, srv->out.data, srv->out.len);
    return WM_OK;
}

static void cmd_watch(struct conn *c)
{
    conn_reply(c, "OK watching\n", 12);
    /* the first TOTAL follows every earlier response: at once, or when this
     * connection's last write comes back (conn_write_done) */
    conn_begin_watch(c);
}

/* The verb as sent, quoted for the message. */
static void cmd_unknown(struct conn *c, const char *line, size_t len)
{
    char q[80];
    size_t i = 0, start;

    while (i < len && line[i] == ' ')
        i++;
    start = i;
    while (i < len && line[i] != ' ')
        i++;
    proto_quote(q, sizeof(q), line + start, i - start);
    conn_reply_err(c, WM_EUNKNOWN_COMMAND, "%s", q);
}

/* Queries (and BACKUP) that must see this connection's own earlier writes. */
static int cmd_reads_store(enum proto_verb v)
{
    return v == PROTO_VERB_COUNT || v == PROTO_VERB_PROGRESS || v == PROTO_VERB_PROJECTS ||
           v == PROTO_VERB_STATS || v == PROTO_VERB_NOTES || v == PROTO_VERB_CHECK ||
           v == PROTO_VERB_SHOW || v == PROTO_VERB_BACKUP;
}

/*
 * The checks before a request runs: it parses, only QUIT follows WATCH, the verb is
 * known and allowed to the connection's role, and a query waits for this
 * connection's earlier writes. Returns 1 when it is to run now, 0 when it was answered
 * or deferred.
 */
static int cmd_admit(struct conn *c, const char *line, size_t len)
{
    struct server *srv = c->srv;
    struct proto_request *req = &srv->req;
    char err[CMD_ERRLEN];
    int rc;

    rc = proto_parse_line(req, line, len, err, sizeof(err));
    if (rc != WM_OK) {
        conn_reply_err(c, rc, "%s", err);
        return 0;
    }
    if (req->verb == PROTO_VERB_UNKNOWN && req->verb_text[0] == '\0')
        return 0; /* only spaces: an empty line */
    if (conn_is_watching(c) && req->verb != PROTO_VERB_QUIT) {
        conn_reply_err(c, WM_EINVALID, "only QUIT is accepted after WATCH");
        return 0;
    }
    if (req->verb == PROTO_VERB_UNKNOWN) {
        cmd_unknown(c, line, len);
        return 0;
    }
    if (!auth_role_allows(c->role, req->verb)) {
        if (c->role == AUTH_ROLE_NONE) {
            conn_reply_err(c, WM_EAUTH_REQUIRED, "%s needs AUTH first", req->verb_text);
            return 0;
        }
        cmd_denied(c, "role=%s may not %s", auth_role_name(c->role), req->verb_text);
        conn_reply_err(c, WM_EDENIED, "role %s may not %s", auth_role_name(c->role),
                       req->verb_text);
        return 0;
    }
    /* read-your-writes inside one pipeline: a query waits for this connection's
     * earlier writes to be committed */
    if (c->nwait > 0 && cmd_reads_store(req->verb)) {
        conn_defer(c, line, len);
        return 0;
    }
    return 1;
}

/* Run an admitted request by its verb. */
static void cmd_run(struct conn *c, const char *line, size_t len)
{
    switch (c->srv->req.verb) {
    case PROTO_VERB_PING:
        cmd_ping(c);
        break;
    case PROTO_VERB_HELLO:
        cmd_hello(c);
        break;
    case PROTO_VERB_AUTH:
        cmd_auth(c, line, len);
        break;
    case PROTO_VERB_QUIT:
        cmd_quit(c);
        break;
    case PROTO_VERB_EVENT:
        cmd_event(c, STORE_OP_EVENT);
        break;
    case PROTO_VERB_REPLACE:
        cmd_event(c, STORE_OP_REPLACE);
        break;
    case PROTO_VERB_CHECK:
        cmd_check(c);
        break;
    case PROTO_VERB_SHOW:
        cmd_show(c);
        break;
    case PROTO_VERB_RETRACT:
        cmd_retract(c);
        break;
    case PROTO_VERB_PROJECT:
        cmd_project(c, 0);
        break;
    case PROTO_VERB_PROGRAM:
        cmd_project(c, 1);
        break;
    case PROTO_VERB_PROJECTS:
        cmd_projects(c);
        break;
    case PROTO_VERB_COUNT:
        cmd_count(c);
        break;
    case PROTO_VERB_PROGRESS:
        cmd_progress(c);
        break;
    case PROTO_VERB_WATCH:
        cmd_watch(c);
        break;
    case PROTO_VERB_STATS:
        cmd_stats(c);
        break;
    case PROTO_VERB_NOTE:
        cmd_note(c);
        break;
    case PROTO_VERB_NOTES:
        cmd_notes(c);
        break;
    case PROTO_VERB_BACKUP:
        backup_start(c);
        break;
    case PROTO_VERB_UNKNOWN:
        cmd_unknown(c, line, len);
        break;
    }
}

void cmd_dispatch(struct conn *c, const char *line, size_t len)
{
    if (cmd_admit(c, line, len))
        cmd_run(c, line, len);
}
