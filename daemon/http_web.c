/*
 * http_web: the monitor page at GET / and its files (web/, compiled in by wmweb), and
 * the notes beside its figures under /v1/notes (as NOTES on the line protocol).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "http_int.h"
#include "log.h"
#include "web.h"

int http_web_serve(struct http_req *r)
{
    struct evkeyvalq *oh = evhttp_request_get_output_headers(r->req);
    const struct web_file *f;
    char path[64];

    if (r->path_len == 0 || r->path_len >= sizeof(path))
        return 0;
    memcpy(path, r->path, r->path_len);
    path[r->path_len] = '\0';
    f = web_find(path);
    if (f == NULL)
        return 0;
    /* The page loads nothing from another host and runs no inline script: saying so
     * makes a browser refuse whatever might be slipped into it. */
    evhttp_add_header(oh, "Content-Security-Policy",
                      "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                      "base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    evhttp_add_header(oh, "Referrer-Policy", "no-referrer");
    http_reply(r, 200, f->content_type, (const char *)f->data, f->size);
    return 1;
}

/* A note as the JSON of a NOTES row: the same keys in the same order, "-" as null. */
static json_t *note_json(const struct wm_note *n)
{
    char period[8], at[24];

    proto_period_format(n->period, period);
    proto_utc_format(n->time, at);
    return json_pack("{s:s,s:s?,s:s?,s:s,s:I,s:s,s:s,s:s%}", "period", period, "project",
                     n->project[0] ? n->project : NULL, "category",
                     n->category[0] ? n->category : NULL, "light", proto_light_name(n->light),
                     "version", (json_int_t)n->version, "principal", n->principal, "at", at, "text",
                     n->text ? n->text : "", n->text ? n->text_len : 0);
}

void http_api_notes(struct http_req *r)
{
    struct http_server *h = r->h;
    struct proto_request req;
    struct wm_notes_query q;
    struct store_note_list l;
    struct wm_totals t;
    json_t *o = NULL, *query, *rows;
    char err[256], period[8];
    char *body = NULL;
    int rc;

    memset(&l, 0, sizeof(l));
    proto_request_init(&req);
    rc = proto_parse_query(&req, PROTO_VERB_NOTES, r->query ? r->query : "", r->query_len, NULL,
                           err, sizeof(err));
    if (rc == WM_OK)
        rc = proto_notes_build(&req, &q, err, sizeof(err));
    if (rc != WM_OK) {
        http_reply_err(r, rc, "%s", err);
        goto out;
    }
    /* A principal bound to a gemeente reads none: the notes speak of the region. */
    if (r->who.gemeente[0] == '\0' &&
        (rc = store_notes(h->srv->store, &q, &l, err, sizeof(err))) != WM_OK) {
        http_reply_err(r, rc, "%s", err);
        goto out;
    }
    rc = store_totals(h->srv->store, &t);
    query = json_object();
    rows = json_array();
    o = json_pack("{s:o,s:I,s:o}", "query", query, "seq", (json_int_t)(rc == WM_OK ? t.seq : 0),
                  "rows", rows);
    if (o == NULL)
        goto oom;
    if (q.period >= 0) {
        proto_period_format(q.period, period);
        json_object_set_new(query, "period", json_string(period));
    }
    if (q.project[0])
        json_object_set_new(query, "project", json_string(q.project));
    if (q.category[0])
        json_object_set_new(query, "category", json_string(q.category));
    for (size_t i = 0; i < l.n; i++)
        if (json_array_append_new(rows, note_json(&l.v[i])) != 0)
            goto oom;
    body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (body == NULL)
        goto oom;
    wm_buf_reset(&h->out);
    wm_buf_puts(&h->out, body);
    wm_buf_append(&h->out, "\n", 1);
    if (h->out.oom)
        goto oom;
    http_reply(r, 200, "application/json", h->out.data, h->out.len);
    goto out;
oom:
    http_reply_err(r, WM_ENOMEM, "out of memory");
out:
    free(body);
    json_decref(o);
    store_note_list_free(&l);
    proto_request_free(&req);
}
