/*
 * http_api: the answers of the read API under /v1/ (proto/HTTP.md). Each reads the
 * store like its line-protocol command and writes JSON (or CSV), with an ETag from the
 * store's seq so that a poller that sends If-None-Match gets 304 while nothing changed.
 */
#include <string.h>

#include "http_int.h"
#include "log.h"

int http_totals_json(struct server *srv, struct wm_buf *out, uint64_t *seq)
{
    struct wm_totals t;
    int rc = reads_totals(srv, NULL, &t);

    if (rc != WM_OK) {
        log_msg(LOG_ERROR, "http: cannot read the totals: %s", wm_strerror(rc));
        return rc;
    }
    wm_buf_reset(out);
    *seq = t.seq;
    return proto_totals_json(&t, out);
}

void http_api_totals(struct http_req *r)
{
    struct http_server *h = r->h;
    char etag[64];
    uint64_t seq;
    int rc;

    server_now(h->srv);
    rc = http_totals_json(h->srv, &h->out, &seq);
    if (rc != WM_OK) {
        http_reply_err(r, rc, "cannot read the totals: %s", wm_strerror(rc));
        return;
    }
    http_etag(h, seq, etag);
    if (http_not_modified(r, etag))
        return;
    wm_buf_append(&h->out, "\n", 1);
    if (h->out.oom) {
        http_reply_err(r, WM_ENOMEM, "out of memory");
        return;
    }
    http_reply(r, 200, "application/json", h->out.data, h->out.len);
}
