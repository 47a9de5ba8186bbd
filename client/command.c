/*
 * What the subcommands share: starting (arguments, help, configuration), connecting
 * with a clear report, building key=value requests, and running one request to a
 * printed answer and an exit code. The commands themselves live in cmd_*.c.
 */
#include <string.h>

#include "client.h"

/* The end of the help of every command that talks to the server. */
static const char global_opts_help[] =
    "\nGlobal options (--host, --port, --token, --token-file, --tls, --ca, --timeout) are\n"
    "accepted here too; see 'werkmonitor --help'.\n";

int cli_type_arg(const char *cmd, const struct cli_args *a)
{
    if (a->npos == 0)
        return cli_usage_error(cmd, "missing the event type (started, completed, placed, "
                                    "outflow)");
    if (proto_type_lookup(a->pos[0]) < 0)
        return cli_usage_error(cmd,
                               "unknown event type '%s' (started, completed, placed, "
                               "outflow)",
                               a->pos[0]);
    return -1;
}

int cli_report_conn_error(const struct cli_conn *c, int err)
{
    switch (err) {
    case WM_ECONNECT:
        fprintf(stderr, "werkmonitor: cannot connect to %s: %s\n", c->peer, c->err);
        break;
    case WM_EAUTH_FAILED:
        fprintf(stderr, "werkmonitor: authentication failed at %s: %s\n", c->peer, c->err);
        break;
    case WM_ENOMEM:
        fprintf(stderr, "werkmonitor: out of memory\n");
        break;
    default:
        fprintf(stderr, "werkmonitor: connection to %s failed: %s\n", c->peer,
                c->err[0] != '\0' ? c->err : wm_strerror(err));
        break;
    }
    return CLI_EXIT_CONN;
}

int cli_connect_or_report(struct cli_conn *c, const struct cli_config *cfg)
{
    int rc = cli_conn_open(c, cfg);

    if (rc != WM_OK) {
        cli_report_conn_error(c, rc);
        cli_conn_close(c);
        return CLI_EXIT_CONN;
    }
    return WM_OK;
}

int cli_report_lost(const struct cli_conn *c, int rc)
{
    if (rc == WM_ENOMEM)
        fprintf(stderr, "werkmonitor: out of memory\n");
    else if (rc == WM_EPROTOCOL)
        fprintf(stderr, "werkmonitor: unexpected answer from %s: %s\n", c->peer, c->err);
    else
        fprintf(stderr, "werkmonitor: connection to %s lost: %s%s\n", c->peer,
                c->err[0] != '\0' ? c->err : wm_strerror(rc),
                rc == WM_ECLOSED && !c->cfg->tls ? " (a TLS port? then use --tls)" : "");
    return CLI_EXIT_CONN;
}

int cli_append_kv(struct wm_buf *b, const char *cmd, const char *arg)
{
    const char *eq = strchr(arg, '=');

    if (eq == NULL || eq == arg) {
        cli_usage_error(cmd, "expected key=value, got '%s'", arg);
        return WM_ECONFIG;
    }
    for (const char *p = arg; p < eq; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
              *p == '-')) {
            cli_usage_error(cmd, "'%.*s' is not a field name (lowercase a-z, 0-9, '.', '_', '-')",
                            (int)(eq - arg), arg);
            return WM_ECONFIG;
        }
    }
    wm_buf_append(b, " ", 1);
    wm_buf_append(b, arg, (size_t)(eq - arg) + 1);
    return wm_buf_append_escaped(b, eq + 1, strlen(eq + 1));
}

int cli_cmd_begin(struct cli_args *a, struct cli_config *cfg, const char *cmd, int argc,
                  char **argv, const struct cli_optdef *defs, size_t ndefs, const char *help)
{
    int ex = cli_args_begin(a, cmd, argc, argv, defs, ndefs, cfg, help);

    if (ex == CLI_EXIT_OK) /* the help was asked for and printed */
        fputs(global_opts_help, stdout);
    if (ex >= 0)
        return ex;
    if (cli_config_finish(cfg) != WM_OK) {
        cli_args_free(a);
        return CLI_EXIT_USAGE;
    }
    return -1;
}

int cli_ask(struct cli_config *cfg, const char *req, struct cli_conn *c, struct cli_reply *r)
{
    char why[256];
    int rc, ex = -1;

    if (req == NULL) {
        fprintf(stderr, "werkmonitor: out of memory\n");
        return CLI_EXIT_CONN;
    }
    if (cli_line_check(req, strlen(req), why, sizeof(why)) != WM_OK) {
        fprintf(stderr, "werkmonitor: refused, nothing sent: %s\n", why);
        return CLI_EXIT_ERR;
    }
    if (cli_connect_or_report(c, cfg) != WM_OK)
        return CLI_EXIT_CONN;
    rc = cli_request(c, req, r);
    if (rc != WM_OK) {
        ex = cli_report_lost(c, rc);
    } else if (cli_reply_is_err(r)) {
        fprintf(stderr, "%s\n", r->line);
        ex = CLI_EXIT_ERR;
    }
    if (ex >= 0) {
        cli_reply_free(r);
        cli_conn_close(c);
    }
    return ex;
}

int cli_run_line(struct cli_config *cfg, struct wm_buf *req)
{
    struct cli_conn c;
    struct cli_reply r = {0};
    int ex = cli_ask(cfg, wm_buf_cstr(req), &c, &r);

    if (ex >= 0)
        return ex;
    printf("%s\n", r.line);
    cli_reply_free(&r);
    cli_conn_close(&c);
    return CLI_EXIT_OK;
}

/* Print the rows of a block answer as a table; returns the exit code. */
static int print_rows(const struct cli_conn *c, const struct cli_reply *r,
                      const struct cli_output *o)
{
    struct cli_table t = {0};
    int rc, ex;

    rc = cli_table_build(&t, r->rows, r->nrows);
    if (rc == WM_OK)
        rc = cli_table_print(stdout, &t, o, c->cfg->color);
    if (rc == WM_EPROTOCOL) {
        fprintf(stderr, "werkmonitor: malformed row from %s\n", c->peer);
        ex = CLI_EXIT_CONN;
    } else if (rc == WM_EIO) {
        fprintf(stderr, "werkmonitor: cannot write to standard output\n");
        ex = CLI_EXIT_CONN;
    } else if (rc != WM_OK) {
        fprintf(stderr, "werkmonitor: %s\n", wm_strerror(rc));
        ex = CLI_EXIT_CONN;
    } else {
        ex = CLI_EXIT_OK;
    }
    cli_table_free(&t);
    return ex;
}

int cli_run_table(struct cli_config *cfg, struct wm_buf *req, const struct cli_output *o)
{
    struct cli_conn c;
    struct cli_reply r = {0};
    int ex = cli_ask(cfg, wm_buf_cstr(req), &c, &r);

    if (ex >= 0)
        return ex;
    if (strncmp(r.line, "END ", 4) != 0) {
        fprintf(stderr, "werkmonitor: unexpected answer from %s: %s\n", c.peer, r.line);
        ex = CLI_EXIT_CONN;
    } else {
        ex = print_rows(&c, &r, o);
    }
    cli_reply_free(&r);
    cli_conn_close(&c);
    return ex;
}
