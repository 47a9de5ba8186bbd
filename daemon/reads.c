/*
 * reads: the read commands (COUNT, PROGRESS, PROJECTS, the totals) for both front ends,
 * the line protocol (cmd.c) and HTTP (http_api.c): validate the parsed request, read
 * the store into the server's typed result, which each front end then formats. What a
 * principal may see (rows of its own municipality, small counts hidden, answers no
 * larger than max-rows) is decided here, once for both (docs/SECURITY.md #1, #3, #4).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"

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

/* ---- the totals ------------------------------------------------------------------- */

/* The raw totals of gemeente ("" : the region's, which is region, just read) into t. A
 * bound reader's come from srv's totals of every gemeente, read again in one pass when
 * the store's seq (region's) moved past theirs, so a push to any number of bound
 * subscribers, or any number of polls, reads them once per seq. */
static int reads_totals_raw(struct server *srv, const char *gemeente,
                            const struct wm_totals *region, struct wm_totals *t)
{
    size_t n = srv->env.n_gemeenten;
    char err[256];
    int rc;

    if (gemeente[0] == '\0') {
        *t = *region;
        return WM_OK;
    }
    if (!srv->gem_totals_valid || srv->gem_totals_seq != region->seq) {
        srv->gem_totals_valid = 0;
        if (srv->gem_totals == NULL) {
            srv->gem_totals = calloc(n > 0 ? n : 1, sizeof(*srv->gem_totals));
            if (srv->gem_totals == NULL)
                return WM_ENOMEM;
        }
        rc = store_totals_gemeenten(srv->store, srv->env.gemeenten, n, srv->gem_totals,
                                    &srv->gem_totals_seq, err, sizeof(err));
        if (rc != WM_OK) {
            log_msg(LOG_ERROR, "cannot read the totals by gemeente: %s", err);
            return rc;
        }
        srv->gem_totals_valid = 1;
    }
    memset(t, 0, sizeof(*t));
    t->seq = srv->gem_totals_seq; /* a gemeente not configured has no events */
    for (size_t i = 0; i < n; i++)
        if (strcmp(srv->env.gemeenten[i], gemeente) == 0)
            *t = srv->gem_totals[i];
    return WM_OK;
}

int reads_totals(struct server *srv, const struct reader *who, struct wm_totals *t)
{
    struct wm_totals region;
    uint64_t min_count, round;
    int rc = store_totals(srv->store, &region);

    if (rc != WM_OK) {
        log_msg(LOG_ERROR, "cannot read the totals: %s", wm_strerror(rc));
        return rc;
    }
    rc = reads_totals_raw(srv, who != NULL ? who->gemeente : "", &region, t);
    if (rc != WM_OK)
        return rc;
    reads_protection(srv, who, &min_count, &round);
    proto_totals_protect(t, min_count, round);
    return WM_OK;
}

/* Forms kept between pushes at most (a form per gemeente and protection in the token
 * file); beyond it they are made anew. */
#define READS_SHARED_MAX 64

void reads_shared_init(struct reads_shared *sh,
                       int (*format)(const struct wm_totals *t, struct wm_buf *out))
{
    memset(sh, 0, sizeof(*sh));
    sh->format = format;
    sh->region_rc = -1;
}

void reads_shared_free(struct reads_shared *sh)
{
    for (size_t i = 0; i < sh->n; i++)
        wm_buf_free(&sh->e[i].text);
    free(sh->e);
    reads_shared_init(sh, sh->format);
}

void reads_shared_next(struct reads_shared *sh)
{
    sh->gen++;
    sh->region_rc = -1;
    if (sh->n > READS_SHARED_MAX) {
        for (size_t i = 0; i < sh->n; i++)
            wm_buf_free(&sh->e[i].text);
        sh->n = 0;
    }
}

/* sh's entry for (gemeente, min_count, round), added (stale) when new; NULL out of
 * memory. */
static struct reads_shared_entry *reads_shared_entry(struct reads_shared *sh, const char *gemeente,
                                                     uint64_t min_count, uint64_t round)
{
    struct reads_shared_entry *e;

    for (size_t i = 0; i < sh->n; i++) {
        e = &sh->e[i];
        if (e->min_count == min_count && e->round == round && strcmp(e->gemeente, gemeente) == 0)
            return e;
    }
    if (sh->n == sh->cap) {
        size_t ncap = sh->cap > 0 ? sh->cap * 2 : 8;
        e = realloc(sh->e, ncap * sizeof(*e));
        if (e == NULL)
            return NULL;
        sh->e = e;
        sh->cap = ncap;
    }
    e = &sh->e[sh->n++];
    memset(e, 0, sizeof(*e));
    snprintf(e->gemeente, sizeof(e->gemeente), "%s", gemeente);
    e->min_count = min_count;
    e->round = round;
    wm_buf_init(&e->text);
    return e;
}

const struct wm_buf *reads_shared_get(struct server *srv, struct reads_shared *sh,
                                      const struct reader *who, uint64_t *seq)
{
    const char *gemeente = who != NULL ? who->gemeente : "";
    struct reads_shared_entry *e;
    struct wm_totals t;
    uint64_t min_count, round;

    reads_protection(srv, who, &min_count, &round);
    e = reads_shared_entry(sh, gemeente, min_count, round);
    if (e == NULL)
        return NULL;
    if (e->gen != sh->gen) {
        /* the first ask of this form in the push: the region's totals once per push,
         * a gemeente's from srv's, which follow the store's seq */
        e->gen = sh->gen;
        if (sh->region_rc < 0) {
            sh->region_rc = store_totals(srv->store, &sh->region);
            if (sh->region_rc != WM_OK)
                log_msg(LOG_ERROR, "cannot read the totals: %s", wm_strerror(sh->region_rc));
        }
        e->rc = sh->region_rc;
        if (e->rc == WM_OK)
            e->rc = reads_totals_raw(srv, gemeente, &sh->region, &t);
        if (e->rc == WM_OK) {
            proto_totals_protect(&t, min_count, round);
            e->seq = t.seq;
            wm_buf_reset(&e->text);
            e->rc = sh->format(&t, &e->text);
        }
    }
    *seq = e->seq;
    return e->rc == WM_OK ? &e->text : NULL;
}
