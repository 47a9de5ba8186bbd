/*
 * reads: the read commands (COUNT, PROGRESS, PROJECTS, the totals) for both front ends,
 * the line protocol (cmd.c) and HTTP (http_api.c): validate the parsed request, read
 * the store into the server's typed result, which each front end then formats. What a
 * principal may see (rows of its own municipality, small counts hidden, answers no
 * larger than max-rows) is decided here, once for both (docs/SECURITY.md #1, #3, #4).
 */
#include <string.h>

#include "daemon.h"

/* The min-count and round of who's principal, as the token file says now (a SIGHUP may
 * change them; they are read per answer). 0 and 0 in open mode. */
static void reads_protection(const struct server *srv, const struct reader *who,
                             uint64_t *min_count, uint64_t *round)
{
    const struct auth_entry *e =
        srv->tokens != NULL && who != NULL ? auth_table_find(srv->tokens, who->principal) : NULL;

    *min_count = e != NULL ? e->min_count : 0;
    *round = e != NULL ? e->round : 0;
}

/* Names that match no municipality: a bound principal asked only for others. */
static const char *const reads_none[1] = {""};

int reads_count(struct server *srv, const struct reader *who, struct proto_request *req, char *err,
                size_t errlen)
{
    struct wm_count_query q;
    uint64_t min_count, round;
    int rc;

    server_now(srv);
    rc = proto_count_build(req, &srv->env, &q, err, errlen);
    if (rc != WM_OK)
        return rc;
    /* row-level security: a bound principal's query reads its municipality only, as if
     * the store held no other (a filter naming others only matches nothing) */
    if (who != NULL && who->gemeente[0] != '\0') {
        struct wm_filter *f = &q.filter[WM_DIM_GEMEENTE];
        int listed = !f->active;

        for (size_t i = 0; f->active && i < f->n; i++)
            listed |= strcmp(f->str[i], who->gemeente) == 0;
        f->active = 1;
        f->n = 1;
        f->str = listed ? &who->gemeente : reads_none;
    }
    q.max_rows = srv->cfg->max_rows;
    rc = store_count(srv->store, &q, &srv->count_res, err, errlen);
    if (rc == WM_ETOO_LARGE) {
        proto_errf(err, errlen,
                   "the answer has more than %zu groups (max-rows): narrow it with fewer by= "
                   "dimensions, filters such as gemeente= or project=, or from=/to=",
                   srv->cfg->max_rows);
        return rc;
    }
    if (rc != WM_OK)
        return rc;
    reads_protection(srv, who, &min_count, &round);
    proto_count_result_protect(&srv->count_res, min_count, round);
    return WM_OK;
}

int reads_progress(struct server *srv, const struct reader *who, const struct proto_request *req,
                   char *err, size_t errlen)
{
    struct wm_progress_query q;
    uint64_t min_count, round;
    int rc;

    server_now(srv);
    rc = proto_progress_build(req, &srv->env, &q, err, errlen);
    if (rc != WM_OK)
        return rc;
    /* row-level security through PROGRESS's own gemeente= filter */
    if (who != NULL && who->gemeente[0] != '\0') {
        int listed = q.ngemeente == 0;

        for (size_t i = 0; i < q.ngemeente; i++)
            listed |= strcmp(q.gemeente[i], who->gemeente) == 0;
        q.ngemeente = 1;
        q.gemeente[0] = listed ? who->gemeente : reads_none[0];
    }
    rc = store_progress(srv->store, &q, &srv->progress_res, err, errlen);
    if (rc != WM_OK)
        return rc;
    reads_protection(srv, who, &min_count, &round);
    proto_progress_result_protect(&srv->progress_res, min_count, round);
    return WM_OK;
}

int reads_projects(struct server *srv, const struct reader *who, char *err, size_t errlen)
{
    (void)who;
    return store_projects(srv->store, &srv->projects_res, err, errlen);
}

int reads_totals(struct server *srv, const struct reader *who, struct wm_totals *t)
{
    (void)who; /* the region's totals, to every watcher alike (README "Security") */
    return store_totals(srv->store, t);
}
