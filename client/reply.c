/*
 * Responses: read one complete response (a line, or ROW lines through END <n>) and
 * decode ROW payloads into a table of columns for output.
 */
#include <stdlib.h>
#include <string.h>

#include "client.h"

void cli_reply_free(struct cli_reply *r)
{
    for (size_t i = 0; i < r->nrows; i++)
        free(r->rows[i]);
    free(r->rows);
    free(r->line);
    memset(r, 0, sizeof(*r));
}

int cli_reply_is_err(const struct cli_reply *r)
{
    return r->line != NULL && strncmp(r->line, "ERR", 3) == 0 &&
           (r->line[3] == ' ' || r->line[3] == '\0');
}

static int reply_add_row(struct cli_reply *r, const char *payload, size_t n)
{
    char *copy;

    if (r->nrows == r->cap) {
        size_t ncap = r->cap == 0 ? 16 : r->cap * 2;
        char **nr = realloc(r->rows, ncap * sizeof(*nr));

        if (nr == NULL)
            return WM_ENOMEM;
        r->rows = nr;
        r->cap = ncap;
    }
    copy = strndup(payload, n);
    if (copy == NULL)
        return WM_ENOMEM;
    r->rows[r->nrows++] = copy;
    return WM_OK;
}

int cli_request(struct cli_conn *c, const char *req, struct cli_reply *r)
{
    int timeout = c->cfg->timeout_ms > 0 ? c->cfg->timeout_ms : -1;
    int rc;

    cli_reply_free(r);
    rc = cli_conn_queue(c, req, strlen(req));
    if (rc == WM_OK)
        rc = cli_conn_queue(c, "\n", 1);
    if (rc != WM_OK)
        return rc;
    for (;;) {
        char *line;
        size_t len;

        rc = cli_conn_read_line(c, timeout, &line, &len);
        if (rc != WM_OK)
            return rc;
        if (strncmp(line, "ROW ", 4) == 0 || strcmp(line, "ROW") == 0) {
            rc = len > 4 ? reply_add_row(r, line + 4, len - 4) : reply_add_row(r, "", 0);
            if (rc != WM_OK)
                return rc;
            continue;
        }
        r->line = strndup(line, len);
        if (r->line == NULL)
            return WM_ENOMEM;
        if (strncmp(line, "END ", 4) == 0) {
            char *end;
            unsigned long long n = strtoull(line + 4, &end, 10);

            if (*end != '\0' || n != r->nrows) {
                snprintf(c->err, sizeof(c->err), "the server said '%s' after %zu rows", line,
                         r->nrows);
                return WM_EPROTOCOL;
            }
        } else if (r->nrows > 0) {
            snprintf(c->err, sizeof(c->err), "the server ended a block of rows with '%s'", line);
            return WM_EPROTOCOL;
        }
        return WM_OK;
    }
}

void cli_table_free(struct cli_table *t)
{
    for (size_t i = 0; i < t->ncols; i++)
        free(t->cols[i]);
    for (size_t i = 0; i < t->ncols * t->nrows; i++)
        free(t->cells[i]);
    free(t->cols);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}

/* Index of column name (n bytes), or -1. */
static long find_col(const struct cli_table *t, const char *name, size_t n)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strlen(t->cols[i]) == n && memcmp(t->cols[i], name, n) == 0)
            return (long)i;
    return -1;
}

/* Call fn for each key=value token of a ROW payload. */
typedef int (*pair_fn)(struct cli_table *t, size_t row, const char *k, size_t kn, const char *v,
                       size_t vn);

static int each_pair(struct cli_table *t, size_t row, const char *p, pair_fn fn)
{
    while (*p != '\0') {
        const char *tok, *eq;
        size_t n;
        int rc;

        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        tok = p;
        while (*p != ' ' && *p != '\0')
            p++;
        n = (size_t)(p - tok);
        eq = memchr(tok, '=', n);
        if (eq == NULL || eq == tok)
            return WM_EPROTOCOL;
        rc = fn(t, row, tok, (size_t)(eq - tok), eq + 1, n - (size_t)(eq - tok) - 1);
        if (rc != WM_OK)
            return rc;
    }
    return WM_OK;
}

static int add_col(struct cli_table *t, size_t row, const char *k, size_t kn, const char *v,
                   size_t vn)
{
    char **nc;

    (void)row;
    (void)v;
    (void)vn;
    if (find_col(t, k, kn) >= 0)
        return WM_OK;
    nc = realloc(t->cols, (t->ncols + 1) * sizeof(*nc));
    if (nc == NULL)
        return WM_ENOMEM;
    t->cols = nc;
    t->cols[t->ncols] = strndup(k, kn);
    if (t->cols[t->ncols] == NULL)
        return WM_ENOMEM;
    t->ncols++;
    return WM_OK;
}

static int set_cell(struct cli_table *t, size_t row, const char *k, size_t kn, const char *v,
                    size_t vn)
{
    long col = find_col(t, k, kn);
    char *dec;
    size_t dn;

    if (col < 0)
        return WM_EINTERNAL;
    dec = malloc(vn + 1);
    if (dec == NULL)
        return WM_ENOMEM;
    if (proto_unescape(dec, v, vn, &dn, NULL, 0) != WM_OK) {
        /* show what the server sent rather than hide the row */
        memcpy(dec, v, vn);
        dec[vn] = '\0';
    }
    free(t->cells[row * t->ncols + (size_t)col]);
    t->cells[row * t->ncols + (size_t)col] = dec;
    return WM_OK;
}

int cli_table_build(struct cli_table *t, char *const *rows, size_t nrows)
{
    int rc;

    memset(t, 0, sizeof(*t));
    /* two passes: the columns first, so that every row has the same layout */
    for (size_t i = 0; i < nrows; i++) {
        rc = each_pair(t, i, rows[i], add_col);
        if (rc != WM_OK)
            goto fail;
    }
    if (t->ncols > 0 && nrows > 0) {
        t->cells = calloc(nrows * t->ncols, sizeof(*t->cells));
        if (t->cells == NULL) {
            rc = WM_ENOMEM;
            goto fail;
        }
    }
    t->nrows = nrows;
    for (size_t i = 0; i < nrows; i++) {
        rc = each_pair(t, i, rows[i], set_cell);
        if (rc != WM_OK)
            goto fail;
    }
    return WM_OK;
fail:
    cli_table_free(t);
    return rc;
}
