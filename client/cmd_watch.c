/*
 * werkmonitor watch: subscribe with WATCH and print every TOTAL line the server
 * pushes, as it comes or as one JSON object per line, until interrupted or -n totals.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

enum { OPT_FORMAT = 1, OPT_COUNT };

static const char watch_help[] =
    "Usage: werkmonitor watch [--format text|json] [-n COUNT]\n"
    "\n"
    "Send WATCH and print the live totals: the TOTAL line the server pushes at once, after\n"
    "every change (at most about ten a second) and as a heartbeat every 30 s:\n"
    "  TOTAL seq=<n> started=<n> completed=<n> placed=<n> placed.persons=<n> outflow=<n>\n"
    "  --format json   one JSON object per line instead, numbers as numbers\n"
    "  -n, --count N   stop after N totals (default: until interrupted)\n"
    "Ends with exit 2 when the server closes the connection.\n";

/* Print a TOTAL line as one JSON object, through proto's formatter (numbers as numbers,
 * every pair kept, so a figure a later server adds comes along). */
static int print_total_json(const char *line)
{
    char *copy = strdup(line);
    char *save = NULL, *tok;
    const char *cols[WM_TABLE_MAX_COLS], *cells[WM_TABLE_MAX_COLS];
    struct wm_text_rows src = {cells, 0, 1};
    struct wm_table t;
    struct wm_buf b;
    size_t n = 0;
    int rc = WM_ENOMEM;

    if (copy == NULL)
        return WM_ENOMEM;
    strtok_r(copy, " ", &save); /* "TOTAL" */
    while ((tok = strtok_r(NULL, " ", &save)) != NULL && n < WM_TABLE_MAX_COLS) {
        char *eq = strchr(tok, '=');
        size_t dn;

        if (eq == NULL)
            continue;
        *eq = '\0';
        if (proto_unescape(eq + 1, eq + 1, strlen(eq + 1), &dn, NULL, 0) != WM_OK)
            continue;
        cols[n] = tok;
        cells[n++] = eq + 1;
    }
    src.ncols = n;
    proto_text_table(&src, cols, n, 1, &t);
    wm_buf_init(&b);
    proto_table_json_row(&t, 0, &b);
    if (!b.oom) {
        printf("%.*s\n", (int)b.len, b.data);
        rc = WM_OK;
    }
    wm_buf_free(&b);
    free(copy);
    return rc;
}

/* watch's options: --format text|json and -n. Returns -1 to go on, else the exit
 * code of a usage error (reported). */
static int watch_options(const struct cli_args *a, int *json, long *limit)
{
    for (size_t i = 0; i < a->nopts; i++) {
        const char *v = a->opts[i].value;
        char *end;

        if (a->opts[i].id == OPT_FORMAT) {
            if (strcmp(v, "json") == 0)
                *json = 1;
            else if (strcmp(v, "text") != 0)
                return cli_usage_error("watch", "--format is text or json, not '%s'", v);
        } else if (a->opts[i].id == OPT_COUNT) {
            errno = 0;
            *limit = strtol(v, &end, 10);
            if (errno != 0 || end == v || *end != '\0' || *limit < 1)
                return cli_usage_error("watch", "--count wants a positive number, not '%s'", v);
        }
    }
    if (a->npos > 0)
        return cli_usage_error("watch", "unexpected argument '%s'", a->pos[0]);
    return -1;
}

/* Print the TOTAL lines of a subscribed connection until limit of them (limit < 1:
 * no limit) or the connection ends. Returns the exit code. */
static int watch_print(struct cli_conn *c, int json, long limit)
{
    long seen = 0;

    for (;;) {
        char *line;
        size_t len;
        /* no timeout: the server sends a heartbeat, and waiting is the point */
        int rc = cli_conn_read_line(c, -1, &line, &len);

        if (rc != WM_OK)
            return cli_report_lost(c, rc);
        if (strncmp(line, "TOTAL", 5) != 0) {
            fprintf(stderr, "werkmonitor: unexpected line from %s: %s\n", c->peer, line);
            continue;
        }
        if (!json) {
            printf("%s\n", line);
        } else if (print_total_json(line) != WM_OK) {
            fprintf(stderr, "werkmonitor: out of memory\n");
            return CLI_EXIT_CONN;
        }
        if (fflush(stdout) != 0)
            return CLI_EXIT_CONN;
        if (limit > 0 && ++seen >= limit) {
            cli_conn_queue(c, "QUIT\n", 5);
            cli_conn_flush(c);
            return CLI_EXIT_OK;
        }
    }
}

int cli_cmd_watch(struct cli_config *cfg, int argc, char **argv)
{
    static const struct cli_optdef defs[] = {{"format", 0, 1, OPT_FORMAT},
                                             {"count", 'n', 1, OPT_COUNT}};
    struct cli_args a;
    struct cli_conn c;
    struct cli_reply r = {0};
    int json = 0;
    long limit = -1;
    int ex = cli_cmd_begin(&a, cfg, "watch", argc, argv, defs, 2, watch_help);

    if (ex >= 0)
        return ex;
    ex = watch_options(&a, &json, &limit);
    cli_args_free(&a);
    if (ex >= 0)
        return ex;
    if ((ex = cli_ask(cfg, "WATCH", &c, &r)) >= 0)
        return ex;
    if (strncmp(r.line, "OK", 2) != 0) {
        fprintf(stderr, "werkmonitor: unexpected answer to WATCH from %s: %s\n", c.peer, r.line);
        ex = CLI_EXIT_CONN;
    } else {
        ex = watch_print(&c, json, limit);
    }
    cli_reply_free(&r);
    cli_conn_close(&c);
    return ex;
}
