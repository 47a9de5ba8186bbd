/*
 * bootstrap: reads a registry file of PROGRAM/PROJECT lines into store items, proves
 * on a scratch store that the whole file applies, and applies it to a new store in one
 * transaction, so a store gets either the whole registry or none of it.
 */
#define _GNU_SOURCE /* mkdtemp */
#include "bootstrap.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "proto.h"

/* The registry file as store items, with the file line of each. */
struct bootstrap_items {
    struct store_item *items;
    unsigned *lineno;
    size_t n, cap;
};

static void bootstrap_items_free(struct bootstrap_items *b)
{
    free(b->items);
    free(b->lineno);
    memset(b, 0, sizeof(*b));
}

static struct store_item *bootstrap_items_add(struct bootstrap_items *b, unsigned lineno)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        struct store_item *items = realloc(b->items, cap * sizeof(*items));
        unsigned *lines;
        if (items == NULL)
            return NULL;
        b->items = items;
        lines = realloc(b->lineno, cap * sizeof(*lines));
        if (lines == NULL)
            return NULL;
        b->lineno = lines;
        b->cap = cap;
    }
    memset(&b->items[b->n], 0, sizeof(b->items[b->n]));
    b->lineno[b->n] = lineno;
    return &b->items[b->n++];
}

/* One line (terminator removed) into b, unless it is blank or a comment. */
static int bootstrap_parse_line(struct bootstrap_items *b, struct proto_request *req,
                                const char *path, unsigned lineno, const char *line, size_t len,
                                char *err, size_t errlen)
{
    struct store_item *it;
    char msg[256];
    size_t i = 0;
    int rc;

    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i == len || line[i] == '#')
        return WM_OK;
    rc = proto_parse_line(req, line, len, msg, sizeof(msg));
    if (rc == WM_ENOMEM)
        goto nomem;
    if (rc != WM_OK) {
        proto_errf(err, errlen, "%s:%u: %s", path, lineno, msg);
        return WM_ECONFIG;
    }
    if (req->verb != PROTO_VERB_PROJECT && req->verb != PROTO_VERB_PROGRAM) {
        proto_errf(err, errlen, "%s:%u: '%s' is not PROJECT or PROGRAM", path, lineno,
                   req->verb_text);
        return WM_ECONFIG;
    }
    it = bootstrap_items_add(b, lineno);
    if (it == NULL)
        goto nomem;
    if (req->verb == PROTO_VERB_PROGRAM) {
        it->op = STORE_OP_PROGRAM;
        rc = proto_program_build(req, &it->u.project, msg, sizeof(msg));
    } else {
        it->op = STORE_OP_PROJECT;
        rc = proto_project_build(req, &it->u.project, msg, sizeof(msg));
    }
    if (rc != WM_OK) {
        proto_errf(err, errlen, "%s:%u: %s", path, lineno, msg);
        return WM_ECONFIG;
    }
    return WM_OK;
nomem:
    proto_errf(err, errlen, "%s: out of memory", path);
    return WM_ENOMEM;
}

/* Read the whole file into b. */
static int bootstrap_read(const char *path, struct bootstrap_items *b, char *err, size_t errlen)
{
    struct proto_request req;
    FILE *f;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned lineno = 0;
    int rc = WM_OK;

    memset(b, 0, sizeof(*b));
    proto_request_init(&req);
    f = fopen(path, "r");
    if (f == NULL) {
        proto_errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        rc = WM_ECONFIG;
        goto out;
    }
    while ((n = getline(&line, &cap, f)) >= 0) {
        size_t len = (size_t)n;
        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            len--;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (len > BOOTSTRAP_MAX_LINE) {
            proto_errf(err, errlen, "%s:%u: line longer than %d bytes", path, lineno,
                       BOOTSTRAP_MAX_LINE);
            rc = WM_ECONFIG;
            goto out;
        }
        rc = bootstrap_parse_line(b, &req, path, lineno, line, len, err, errlen);
        if (rc != WM_OK)
            goto out;
    }
    if (ferror(f)) {
        proto_errf(err, errlen, "%s: read error: %s", path, strerror(errno));
        rc = WM_ECONFIG;
        goto out;
    }
    if (b->n == 0) {
        proto_errf(err, errlen, "%s: no PROGRAM or PROJECT line", path);
        rc = WM_ECONFIG;
    }
out:
    if (f != NULL)
        fclose(f);
    free(line);
    proto_request_free(&req);
    if (rc != WM_OK)
        bootstrap_items_free(b);
    return rc;
}

/* Apply b to s and turn the first refused item into an error naming its line. */
static int bootstrap_store(struct store *s, struct bootstrap_items *b, const char *path, char *err,
                           size_t errlen)
{
    int rc = store_apply(s, b->items, b->n);

    for (size_t i = 0; i < b->n; i++) {
        if (b->items[i].result != WM_OK) {
            if (rc == WM_OK) {
                proto_errf(err, errlen, "%s:%u: %s", path, b->lineno[i], b->items[i].err);
                return WM_ECONFIG;
            }
            proto_errf(err, errlen, "%s: the store refused the registry: %s", path,
                       b->items[i].err[0] ? b->items[i].err : wm_strerror(rc));
            return rc;
        }
    }
    if (rc != WM_OK)
        proto_errf(err, errlen, "%s: the store refused the registry: %s", path, wm_strerror(rc));
    return rc;
}

/* Remove the scratch directory and the files the store made in it. */
static void bootstrap_remove_dir(const char *dir)
{
    char file[CONFIG_PATH_MAX + 512];
    struct dirent *de;
    DIR *d = opendir(dir);

    if (d != NULL) {
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            if ((size_t)snprintf(file, sizeof(file), "%s/%s", dir, de->d_name) < sizeof(file))
                unlink(file);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* Try b on an empty store in a temporary directory. */
static int bootstrap_try_scratch(struct bootstrap_items *b, const char *path,
                                 const char *const *gemeenten, size_t n_gemeenten, char *err,
                                 size_t errlen)
{
    struct store_options opt;
    struct store *s = NULL;
    const char *tmp = getenv("TMPDIR");
    char dir[CONFIG_PATH_MAX], msg[512];
    int rc;

    snprintf(dir, sizeof(dir), "%s/werkmonitord-registry-XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        proto_errf(err, errlen, "%s: cannot make a scratch directory to check it in %s: %s", path,
                   dir, strerror(errno));
        return WM_EIO;
    }
    memset(&opt, 0, sizeof(opt));
    opt.dir = dir;
    opt.map_size = (size_t)8 << 20;
    opt.map_max = (size_t)64 << 20;
    opt.gemeenten = gemeenten;
    opt.n_gemeenten = n_gemeenten;
    rc = store_open(&opt, &s, msg, sizeof(msg));
    if (rc != WM_OK) {
        proto_errf(err, errlen, "%s: cannot open a scratch store to check it: %s", path,
                   msg[0] ? msg : wm_strerror(rc));
        goto out;
    }
    rc = bootstrap_store(s, b, path, err, errlen);
out:
    store_close(s);
    bootstrap_remove_dir(dir);
    return rc;
}

int bootstrap_registry_check(const char *path, const char *const *gemeenten, size_t n_gemeenten,
                             size_t *nlines, char *err, size_t errlen)
{
    struct bootstrap_items b;
    int rc = bootstrap_read(path, &b, err, errlen);

    if (rc != WM_OK)
        return rc;
    rc = bootstrap_try_scratch(&b, path, gemeenten, n_gemeenten, err, errlen);
    if (rc == WM_OK && nlines != NULL)
        *nlines = b.n;
    bootstrap_items_free(&b);
    return rc;
}

int bootstrap_registry_apply(struct store *s, const char *path, const char *const *gemeenten,
                             size_t n_gemeenten, size_t *applied, char *err, size_t errlen)
{
    struct bootstrap_items b;
    struct wm_projects_result reg;
    size_t nrows;
    int rc;

    *applied = 0;
    proto_projects_result_init(&reg);
    rc = store_projects(s, &reg, err, errlen);
    nrows = reg.n;
    proto_projects_result_free(&reg);
    if (rc != WM_OK)
        return rc;
    /* PROJECTS ends with the program row: more rows mean projects exist */
    if (nrows > 1) {
        log_msg(LOG_INFO, "registry %s not applied: the store already has %zu projects", path,
                nrows - 1);
        return WM_OK;
    }
    rc = bootstrap_read(path, &b, err, errlen);
    if (rc != WM_OK)
        return rc;
    rc = bootstrap_try_scratch(&b, path, gemeenten, n_gemeenten, err, errlen);
    if (rc == WM_OK) {
        /* the scratch store filled in each item's outcome: start again clean */
        for (size_t i = 0; i < b.n; i++) {
            b.items[i].result = WM_OK;
            b.items[i].err[0] = '\0';
        }
        rc = bootstrap_store(s, &b, path, err, errlen);
    }
    if (rc == WM_OK) {
        *applied = b.n;
        log_msg(LOG_INFO, "registry %s applied to the new store: %zu lines", path, b.n);
    }
    bootstrap_items_free(&b);
    return rc;
}
