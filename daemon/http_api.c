/*
 * http_api: the answers of the read API under /v1/ (proto/HTTP.md). Each runs its
 * line-protocol command through reads.c and writes the typed result with proto's
 * formatter as JSON ({"query", "seq", "rows"}) or CSV, with an ETag from the seq of the
 * read so that a poller that sends If-None-Match gets 304 while nothing changed.
 */
#include <stdio.h>
#include <string.h>

#include "http_int.h"
#include "log.h"

/* How the query string asked for the answer. */
struct http_form {
    int csv;                 /* 0: JSON */
    struct wm_csv_opts opts; /* with csv */
};

static struct reader http_reader(const struct http_req *r)
{
    struct reader w = {r->who.role, r->who.principal, r->who.gemeente};

    return w;
}

/* Remove key's argument from req and return its value (still in req's buffer), or
 * NULL. */
static const char *http_take(struct proto_request *req, const char *key)
{
    for (size_t i = 0; i < req->nargs; i++) {
        if (req->args[i].key != NULL && strcmp(req->args[i].key, key) == 0) {
            const char *v = req->args[i].val;
            memmove(&req->args[i], &req->args[i + 1], (req->nargs - i - 1) * sizeof(req->args[0]));
            req->nargs--;
            return v;
        }
    }
    return NULL;
}

/* format= and sep= into f. Returns WM_OK or the error, answered. */
static int http_form_parse(struct http_req *r, const char *format, const char *sep,
                           struct http_form *f)
{
    static const char *const formats[] = {"json", "csv", "excel"};
    static const char *const seps[] = {"comma", "semicolon", ",", ";"};
    char err[256];
    int fi = 0, si = -1;

    if (format != NULL && (fi = proto_choice("format", formats, 3, format, err, sizeof(err))) < 0)
        return http_reply_err(r, WM_EINVALID, "%s", err);
    if (sep != NULL && (si = proto_choice("sep", seps, 4, sep, err, sizeof(err))) < 0)
        return http_reply_err(r, WM_EINVALID, "%s", err);
    if (fi == 0 && sep != NULL)
        return http_reply_err(r, WM_EINVALID, "sep: only with format=csv or format=excel");
    memset(f, 0, sizeof(*f));
    f->csv = fi != 0;
    /* Dutch Excel splits on ';' and reads UTF-8 only after a byte-order mark; a text it
     * would run as a formula is kept a text */
    f->opts.sep = si < 0 ? (fi == 2 ? ';' : ',') : (si % 2 == 0 ? ',' : ';');
    f->opts.bom = f->opts.excel = fi == 2 || f->opts.sep == ';';
    return WM_OK;
}

/*
 * Read r's query string into h->req as the arguments of verb (the value of positional,
 * if any, as its positional argument), take format= and sep= out into f, and write the
 * other parameters, as given, as a JSON object into h->echo. Returns WM_OK or the error,
 * answered.
 */
static int http_params(struct http_req *r, enum proto_verb verb, const char *positional,
                       struct http_form *f)
{
    struct http_server *h = r->h;
    struct proto_request *req = &h->req;
    const char *format, *sep;
    char err[256];
    int rc;

    rc = proto_parse_query(req, verb, r->query != NULL ? r->query : "", r->query_len, positional,
                           err, sizeof(err));
    if (rc != WM_OK)
        return http_reply_err(r, rc, "%s", err);
    format = http_take(req, "format");
    sep = http_take(req, "sep");
    rc = http_form_parse(r, format, sep, f);
    if (rc != WM_OK)
        return rc;
    /* the echo before the query is built: building splits comma lists in place */
    wm_buf_reset(&h->echo);
    wm_buf_append(&h->echo, "{", 1);
    for (size_t i = 0; i < req->nargs; i++) {
        const char *k = req->args[i].key != NULL ? req->args[i].key : positional;
        if (i > 0)
            wm_buf_append(&h->echo, ",", 1);
        proto_json_string(&h->echo, k, strlen(k));
        wm_buf_append(&h->echo, ":", 1);
        proto_json_string(&h->echo, req->args[i].val, req->args[i].val_len);
    }
    wm_buf_append(&h->echo, "}", 1);
    return WM_OK;
}

/* Send t in form f: the JSON document with the echo and seq, or CSV as a download
 * named name. 304 when the client has this answer (seq) already. */
static void http_answer(struct http_req *r, const struct http_form *f, const struct wm_table *t,
                        uint64_t seq, const char *name)
{
    struct http_server *h = r->h;
    struct wm_buf *out = &h->out;
    char etag[HTTP_ETAG_MAX], disp[160];

    http_etag(r, seq, etag);
    if (http_not_modified(r, etag))
        return;
    wm_buf_reset(out);
    if (f->csv) {
        proto_table_csv(t, &f->opts, out);
        snprintf(disp, sizeof(disp), "attachment; filename=\"%s.csv\"", name);
        evhttp_add_header(evhttp_request_get_output_headers(r->req), "Content-Disposition", disp);
    } else {
        wm_buf_puts(out, "{\"query\":");
        wm_buf_append(out, h->echo.data, h->echo.len);
        wm_buf_printf(out, ",\"seq\":%llu,\"rows\":", (unsigned long long)seq);
        proto_table_json(t, out);
        wm_buf_puts(out, "}\n");
    }
    if (out->oom || h->echo.oom) {
        http_reply_err(r, WM_ENOMEM, "out of memory");
        return;
    }
    http_reply(r, 200, f->csv ? "text/csv; charset=utf-8; header=present" : "application/json",
               out->data, out->len);
}

/* One query endpoint (COUNT, PROGRESS or PROJECTS): read the parameters, run the read
 * as the line protocol does, answer. */
static void http_api_query(struct http_req *r, enum proto_verb verb)
{
    struct http_server *h = r->h;
    struct server *srv = h->srv;
    struct reader who = http_reader(r);
    struct http_form f;
    struct wm_table t;
    char err[256], name[64];
    uint64_t seq;
    int rc;

    if (http_params(r, verb, verb == PROTO_VERB_COUNT ? "type" : NULL, &f) != WM_OK)
        return;
    if (verb == PROTO_VERB_COUNT) {
        rc = reads_count(srv, &who, &h->req, err, sizeof(err));
        proto_count_table(&srv->count_res, &t);
        seq = srv->count_res.seq;
        snprintf(name, sizeof(name), "werkmonitor-count-%s",
                 rc == WM_OK ? proto_type_desc(srv->count_res.type)->name : "");
    } else if (verb == PROTO_VERB_PROGRESS) {
        rc = reads_progress(srv, &who, &h->req, err, sizeof(err));
        proto_progress_table(&srv->progress_res, &t);
        seq = srv->progress_res.seq;
        snprintf(name, sizeof(name), "werkmonitor-progress");
    } else {
        if (h->req.nargs > 0) {
            const struct proto_arg *a = &h->req.args[0];
            char q[80];
            proto_quote(q, sizeof(q), a->key, strlen(a->key));
            http_reply_err(r, WM_EINVALID,
                           "unknown parameter '%s' (projects takes format= and sep=)", q);
            return;
        }
        rc = reads_projects(srv, &who, err, sizeof(err));
        proto_projects_table(&srv->projects_res, &t);
        seq = srv->projects_res.seq;
        snprintf(name, sizeof(name), "werkmonitor-projects");
    }
    if (rc != WM_OK) {
        http_reply_err(r, rc, "%s", err);
        return;
    }
    http_answer(r, &f, &t, seq, name);
}

void http_api_count(struct http_req *r)
{
    http_api_query(r, PROTO_VERB_COUNT);
}

void http_api_progress(struct http_req *r)
{
    http_api_query(r, PROTO_VERB_PROGRESS);
}

void http_api_projects(struct http_req *r)
{
    http_api_query(r, PROTO_VERB_PROJECTS);
}

int http_totals_json(struct server *srv, const struct reader *who, struct wm_buf *out,
                     uint64_t *seq)
{
    struct wm_totals t;
    int rc = reads_totals(srv, who, &t);

    if (rc != WM_OK)
        return rc;
    wm_buf_reset(out);
    *seq = t.seq;
    return proto_totals_json(&t, out);
}

void http_api_totals(struct http_req *r)
{
    struct http_server *h = r->h;
    struct reader who = http_reader(r);
    char etag[HTTP_ETAG_MAX];
    uint64_t seq;
    int rc;

    rc = http_totals_json(h->srv, &who, &h->out, &seq);
    if (rc != WM_OK) {
        http_reply_err(r, rc, "cannot read the totals: %s", wm_strerror(rc));
        return;
    }
    http_etag(r, seq, etag);
    if (http_not_modified(r, etag))
        return;
    wm_buf_append(&h->out, "\n", 1);
    if (h->out.oom) {
        http_reply_err(r, WM_ENOMEM, "out of memory");
        return;
    }
    http_reply(r, 200, "application/json", h->out.data, h->out.len);
}
