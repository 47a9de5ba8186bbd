/*
 * reads: the read commands (COUNT, PROGRESS, PROJECTS, the totals) for both front ends,
 * the line protocol (cmd.c) and HTTP (http_api.c): validate the parsed request, read
 * the store into the server's typed result, which each front end then formats. What a
 * principal may see (rows of its own municipality, small counts hidden) is decided
 * here, once for both.
 */
#include "daemon.h"

int reads_count(struct server *srv, const struct reader *who, struct proto_request *req, char *err,
                size_t errlen)
{
    struct wm_count_query q;
    int rc;

    (void)who; /* every reader sees the whole store (PROTOCOL.md section 3) */
    server_now(srv);
    rc = proto_count_build(req, &srv->env, &q, err, errlen);
    if (rc != WM_OK)
        return rc;
    return store_count(srv->store, &q, &srv->count_res, err, errlen);
}

int reads_progress(struct server *srv, const struct reader *who, const struct proto_request *req,
                   char *err, size_t errlen)
{
    struct wm_progress_query q;
    int rc;

    (void)who;
    server_now(srv);
    rc = proto_progress_build(req, &srv->env, &q, err, errlen);
    if (rc != WM_OK)
        return rc;
    return store_progress(srv->store, &q, &srv->progress_res, err, errlen);
}

int reads_projects(struct server *srv, const struct reader *who, char *err, size_t errlen)
{
    (void)who;
    return store_projects(srv->store, &srv->projects_res, err, errlen);
}

int reads_totals(struct server *srv, const struct reader *who, struct wm_totals *t)
{
    (void)who;
    return store_totals(srv->store, t);
}
