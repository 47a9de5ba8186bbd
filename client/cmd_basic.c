/*
 * The request/response subcommands: ping, send, retract, count, progress, projects,
 * stats and watch. Each builds one protocol line, sends it after AUTH (when a token
 * is configured) and prints the answer for people or programs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client.h"

static const char common_opts_help[] =
    "\nGlobal options (--host, --port, --token, --token-file, --tls, --ca, --timeout) are\n"
    "accepted here too; see 'werkmonitor --help'.\n";

static const char format_help[] =
    "  --format FMT  table (aligned, with a header; the default), csv (a header row, then\n"
    "                RFC 4180 records) or json (an array of objects; numbers as numbers,\n"
    "                '-' as null). %XX escapes of the server's values are decoded.\n";

enum { OPT_FORMAT = 1, OPT_BSN, OPT_PSEUDO_KEY, OPT_COUNT };

static const struct cli_optdef format_defs[] = {{"format", 0, 1, OPT_FORMAT}};

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

/*
 * Start a command: parse its arguments, print its help when asked, complete the
 * configuration. Returns -1 to go on, else the exit code to return.
 */
static int begin(struct cli_args *a, struct cli_config *cfg, const char *cmd, int argc, char **argv,
                 const struct cli_optdef *defs, size_t ndefs, const char *help)
{
    if (cli_args_parse(a, cmd, argc, argv, defs, ndefs, cfg) != WM_OK)
        return CLI_EXIT_USAGE;
    if (a->help) {
        fputs(help, stdout);
        fputs(common_opts_help, stdout);
        cli_args_free(a);
        return CLI_EXIT_OK;
    }
    if (cli_config_finish(cfg) != WM_OK) {
        cli_args_free(a);
        return CLI_EXIT_USAGE;
    }
    return -1;
}

/* The --format of a command's options; returns WM_OK or WM_ECONFIG (reported). */
static int get_format(const struct cli_args *a, const char *cmd, enum cli_format *fmt)
{
    *fmt = CLI_FMT_TABLE;
    for (size_t i = 0; i < a->nopts; i++) {
        if (a->opts[i].id == OPT_FORMAT && cli_format_parse(a->opts[i].value, fmt) != WM_OK) {
            cli_usage_error(cmd, "--format is table, csv or json, not '%s'", a->opts[i].value);
            return WM_ECONFIG;
        }
    }
    return WM_OK;
}

/* Report a connection that failed during a request. */
static int report_lost(const struct cli_conn *c, int rc)
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

/* The request built in b as a C string, or NULL (said on stderr) when building it ran
 * out of memory. Borrowed from b. */
static const char *request_text(struct wm_buf *b)
{
    const char *text = wm_buf_cstr(b);

    if (text == NULL)
        fprintf(stderr, "werkmonitor: out of memory\n");
    return text;
}

/* Send one request and print its single-line answer: OK/DUP/PONG on stdout (exit 0),
 * ERR on stderr (exit 1). */
static int run_line(struct cli_config *cfg, const char *req)
{
    struct cli_conn c;
    struct cli_reply r = {0};
    int rc, ex;

    if (cli_connect_or_report(&c, cfg) != WM_OK)
        return CLI_EXIT_CONN;
    rc = cli_request(&c, req, &r);
    if (rc != WM_OK) {
        ex = report_lost(&c, rc);
    } else if (cli_reply_is_err(&r)) {
        fprintf(stderr, "%s\n", r.line);
        ex = CLI_EXIT_ERR;
    } else {
        printf("%s\n", r.line);
        ex = CLI_EXIT_OK;
    }
    cli_reply_free(&r);
    cli_conn_close(&c);
    return ex;
}

/* Send one request whose answer is a block of rows and print it as a table. */
static int run_table(struct cli_config *cfg, const char *req, enum cli_format fmt)
{
    struct cli_conn c;
    struct cli_reply r = {0};
    struct cli_table t = {0};
    int rc, ex;

    if (cli_connect_or_report(&c, cfg) != WM_OK)
        return CLI_EXIT_CONN;
    rc = cli_request(&c, req, &r);
    if (rc != WM_OK) {
        ex = report_lost(&c, rc);
        goto out;
    }
    if (cli_reply_is_err(&r)) {
        fprintf(stderr, "%s\n", r.line);
        ex = CLI_EXIT_ERR;
        goto out;
    }
    if (strncmp(r.line, "END ", 4) != 0) {
        fprintf(stderr, "werkmonitor: unexpected answer from %s: %s\n", c.peer, r.line);
        ex = CLI_EXIT_CONN;
        goto out;
    }
    rc = cli_table_build(&t, r.rows, r.nrows);
    if (rc == WM_OK)
        rc = cli_table_print(stdout, &t, fmt, cfg->color);
    if (rc == WM_EPROTOCOL) {
        fprintf(stderr, "werkmonitor: malformed row from %s\n", c.peer);
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
out:
    cli_table_free(&t);
    cli_reply_free(&r);
    cli_conn_close(&c);
    return ex;
}

/* ---- ping ---- */

static const char ping_help[] = "Usage: werkmonitor ping\n"
                                "\n"
                                "Send PING and print the server's PONG (exit 0).\n";

int cli_cmd_ping(struct cli_config *cfg, int argc, char **argv)
{
    struct cli_args a;
    int ex = begin(&a, cfg, "ping", argc, argv, NULL, 0, ping_help);

    if (ex >= 0)
        return ex;
    if (a.npos > 0)
        ex = cli_usage_error("ping", "unexpected argument '%s'", a.pos[0]);
    else
        ex = run_line(cfg, "PING");
    cli_args_free(&a);
    return ex;
}

/* ---- send ---- */

static const char send_help[] =
    "Usage: werkmonitor send <type> key=value... [--bsn BSN --pseudo-key FILE]\n"
    "\n"
    "Store one event. <type> is started, completed, placed or outflow; the fields are\n"
    "those of PROTOCOL.md section 4 (id, person, gemeente, date, project, ...). Values are\n"
    "given as they are: the client escapes spaces and '%' for the wire, so\n"
    "employer='De Hoek' works. Prints the server's answer: 'OK <seq>' (stored) or\n"
    "'DUP <seq>' (stored before under this id) on stdout with exit 0, or the ERR line on\n"
    "stderr with exit 1.\n"
    "\n"
    "Pseudonyms: a BSN never leaves this machine.\n"
    "  --bsn BSN           check BSN with the eleven-test and send person=<pseudonym>,\n"
    "                      HMAC-SHA256 of the BSN under the key (also: bsn=<BSN>)\n"
    "  --pseudo-key FILE   the region's pseudonym key (at least 32 bytes, mode 0600;\n"
    "                      see 'werkmonitor keygen')\n"
    "A person= value of 8 or 9 digits looks like a BSN and is refused before sending.\n"
    "A BSN on the command line is visible to other users of this machine through ps;\n"
    "for many events use 'werkmonitor import' with a bsn column instead.\n"
    "\n"
    "Example:\n"
    "  werkmonitor send placed id=wsp-2021-0042 person=p-7f3a9c21 gemeente=huizen \\\n"
    "      date=2021-09-01 project=zorgstart sector=zorg months=12 employer='De Hoek'\n";

/* Compute person= from a BSN and append it; reports and returns an exit code or -1. */
static int append_pseudonym(struct wm_buf *b, const char *cmd, const char *bsn, const char *keyfile)
{
    struct cli_key k;
    char why[512];
    char pseudo[CLI_PSEUDONYM_LEN + 1];
    int rc;

    if (keyfile == NULL)
        return cli_usage_error(cmd, "a BSN needs --pseudo-key FILE to be turned into a pseudonym");
    if (cli_bsn_check(bsn, why, sizeof(why)) != WM_OK) {
        fprintf(stderr, "werkmonitor %s: refused: %s\n", cmd, why);
        return CLI_EXIT_ERR;
    }
    rc = cli_key_load(&k, keyfile, why, sizeof(why));
    if (rc != WM_OK) {
        fprintf(stderr, "werkmonitor %s: %s\n", cmd, rc == WM_ENOMEM ? "out of memory" : why);
        return CLI_EXIT_CONN;
    }
    rc = cli_pseudonym(&k, bsn, pseudo);
    cli_key_free(&k);
    if (rc != WM_OK) {
        fprintf(stderr, "werkmonitor %s: cannot compute the pseudonym (OpenSSL)\n", cmd);
        return CLI_EXIT_ERR;
    }
    wm_buf_puts(b, " person=");
    wm_buf_puts(b, pseudo);
    return -1;
}

int cli_cmd_send(struct cli_config *cfg, int argc, char **argv)
{
    static const struct cli_optdef defs[] = {{"bsn", 0, 1, OPT_BSN},
                                             {"pseudo-key", 0, 1, OPT_PSEUDO_KEY}};
    struct cli_args a;
    struct wm_buf b;
    const char *bsn = NULL, *keyfile = NULL;
    int has_person = 0;
    int ex = begin(&a, cfg, "send", argc, argv, defs, 2, send_help);

    if (ex >= 0)
        return ex;
    wm_buf_init(&b);
    for (size_t i = 0; i < a.nopts; i++) {
        if (a.opts[i].id == OPT_BSN)
            bsn = a.opts[i].value;
        else if (a.opts[i].id == OPT_PSEUDO_KEY)
            keyfile = a.opts[i].value;
    }
    if (a.npos == 0) {
        ex = cli_usage_error("send", "missing the event type (started, completed, placed, "
                                     "outflow)");
        goto out;
    }
    if (proto_type_lookup(a.pos[0]) < 0) {
        ex = cli_usage_error("send",
                             "unknown event type '%s' (started, completed, placed, "
                             "outflow)",
                             a.pos[0]);
        goto out;
    }
    wm_buf_puts(&b, "EVENT ");
    wm_buf_puts(&b, a.pos[0]);
    for (size_t i = 1; i < a.npos; i++) {
        const char *arg = a.pos[i];

        if (strncmp(arg, "bsn=", 4) == 0) {
            if (bsn != NULL) {
                ex = cli_usage_error("send", "give the BSN once (--bsn or bsn=)");
                goto out;
            }
            bsn = arg + 4;
            continue;
        }
        if (strncmp(arg, "person=", 7) == 0) {
            has_person = 1;
            if (cli_looks_like_bsn(arg + 7, strlen(arg + 7))) {
                fprintf(stderr, "werkmonitor send: refused: the person value looks like a BSN "
                                "(8 or 9 digits) and a BSN must not leave this machine; give it "
                                "with --bsn and --pseudo-key\n");
                ex = CLI_EXIT_ERR;
                goto out;
            }
        }
        if (cli_append_kv(&b, "send", arg) != WM_OK) {
            ex = CLI_EXIT_USAGE;
            goto out;
        }
    }
    if (bsn != NULL) {
        if (has_person) {
            ex = cli_usage_error("send", "give either person= or a BSN, not both");
            goto out;
        }
        ex = append_pseudonym(&b, "send", bsn, keyfile);
        if (ex >= 0)
            goto out;
    } else if (keyfile != NULL) {
        ex = cli_usage_error("send", "--pseudo-key is only used with --bsn");
        goto out;
    }
    if (request_text(&b) == NULL) {
        ex = CLI_EXIT_CONN;
        goto out;
    }
    ex = run_line(cfg, b.data);
out:
    wm_buf_free(&b);
    cli_args_free(&a);
    return ex;
}

/* ---- retract ---- */

static const char retract_help[] =
    "Usage: werkmonitor retract id=<new id> ref=<id> [reason=<text>]\n"
    "       werkmonitor retract id=<new id> seq=<n> [reason=<text>]   (admin)\n"
    "\n"
    "Withdraw one of your own events (ref=, its id) or, as admin, any event by its\n"
    "sequence number. The retraction is stored for the audit trail and the event stops\n"
    "counting. Prints 'OK <seq>' or 'DUP <seq>' (exit 0), or the ERR line (exit 1).\n";

int cli_cmd_retract(struct cli_config *cfg, int argc, char **argv)
{
    struct cli_args a;
    struct wm_buf b;
    int ex = begin(&a, cfg, "retract", argc, argv, NULL, 0, retract_help);

    if (ex >= 0)
        return ex;
    wm_buf_init(&b);
    if (a.npos == 0) {
        ex = cli_usage_error("retract", "missing id=<new id> and ref=<id>");
        goto out;
    }
    wm_buf_puts(&b, "RETRACT");
    for (size_t i = 0; i < a.npos; i++) {
        if (cli_append_kv(&b, "retract", a.pos[i]) != WM_OK) {
            ex = CLI_EXIT_USAGE;
            goto out;
        }
    }
    if (request_text(&b) == NULL) {
        ex = CLI_EXIT_CONN;
        goto out;
    }
    ex = run_line(cfg, b.data);
out:
    wm_buf_free(&b);
    cli_args_free(&a);
    return ex;
}

/* ---- count, progress, projects, stats ---- */

static const char count_help_head[] =
    "Usage: werkmonitor count <type> [key=value...] [--format table|csv|json]\n"
    "\n"
    "Count the events of <type> (started, completed, placed, outflow); retracted events\n"
    "do not count. The arguments are those of the protocol's COUNT:\n"
    "  by=<dim>,<dim>...   one row per group: project, category, scope, gemeente, year,\n"
    "                      quarter, month and the type's own fields (kind, doelgroep,\n"
    "                      benefit, result, sector, contract, durable, reason)\n"
    "  from=, to=          an inclusive date range (YYYY-MM-DD)\n"
    "  distinct=person     count people instead of events\n"
    "  <dim>=<v>[,<v>...]  keep only these values (a comma list is an OR)\n"
    "\n";

static const char count_help_tail[] =
    "\nExample:\n"
    "  werkmonitor count placed by=gemeente,year distinct=person from=2021-01-01\n";

static const char progress_help_head[] =
    "Usage: werkmonitor progress [asof=<date>] [category=<c>] [project=<p>]\n"
    "                            [--format table|csv|json]\n"
    "\n"
    "The traffic-light dashboard: per project and indicator (started, completed, placed)\n"
    "the actual figure, the target, the figure expected by now and the status, then the\n"
    "programme rows (project=*). On a terminal the status is coloured: green (on course),\n"
    "yellow for orange (at risk), red (behind).\n"
    "\n";

static const char projects_help_head[] =
    "Usage: werkmonitor projects [--format table|csv|json]\n"
    "\n"
    "The project registry (name, category, scope, period, targets, title) and the\n"
    "programme (project=*).\n"
    "\n";

static const char stats_help_head[] =
    "Usage: werkmonitor stats [--format table|csv|json]\n"
    "\n"
    "The server's statistics (version, uptime, connections, events, commits, ...).\n"
    "\n";

/* Help of a tabular command: head, the --format text, tail. */
static char *table_help(const char *head, const char *tail)
{
    size_t n = strlen(head) + strlen(format_help) + strlen(tail) + 1;
    char *s = malloc(n);

    if (s != NULL)
        snprintf(s, n, "%s%s%s", head, format_help, tail);
    return s;
}

/*
 * A tabular command: VERB [positional type] key=value... with --format.
 * with_type: 1 when the first argument is an event type; any_args: 0 when the verb
 * takes no arguments.
 */
static int tabular(struct cli_config *cfg, int argc, char **argv, const char *cmd, const char *verb,
                   int with_type, int any_args, const char *head, const char *tail)
{
    struct cli_args a;
    struct wm_buf b;
    enum cli_format fmt;
    char *help = table_help(head, tail);
    int ex;

    if (help == NULL) {
        fprintf(stderr, "werkmonitor: out of memory\n");
        return CLI_EXIT_CONN;
    }
    ex = begin(&a, cfg, cmd, argc, argv, format_defs, 1, help);
    free(help);
    if (ex >= 0)
        return ex;
    wm_buf_init(&b);
    if (get_format(&a, cmd, &fmt) != WM_OK) {
        ex = CLI_EXIT_USAGE;
        goto out;
    }
    wm_buf_puts(&b, verb);
    if (with_type) {
        if (a.npos == 0) {
            ex = cli_usage_error(cmd, "missing the event type (started, completed, placed, "
                                      "outflow)");
            goto out;
        }
        if (proto_type_lookup(a.pos[0]) < 0) {
            ex = cli_usage_error(cmd,
                                 "unknown event type '%s' (started, completed, placed, "
                                 "outflow)",
                                 a.pos[0]);
            goto out;
        }
        wm_buf_puts(&b, " ");
        wm_buf_puts(&b, a.pos[0]);
    }
    for (size_t i = with_type ? 1 : 0; i < a.npos; i++) {
        if (!any_args) {
            ex = cli_usage_error(cmd, "unexpected argument '%s'", a.pos[i]);
            goto out;
        }
        if (cli_append_kv(&b, cmd, a.pos[i]) != WM_OK) {
            ex = CLI_EXIT_USAGE;
            goto out;
        }
    }
    if (request_text(&b) == NULL) {
        ex = CLI_EXIT_CONN;
        goto out;
    }
    ex = run_table(cfg, b.data, fmt);
out:
    wm_buf_free(&b);
    cli_args_free(&a);
    return ex;
}

int cli_cmd_count(struct cli_config *cfg, int argc, char **argv)
{
    return tabular(cfg, argc, argv, "count", "COUNT", 1, 1, count_help_head, count_help_tail);
}

int cli_cmd_progress(struct cli_config *cfg, int argc, char **argv)
{
    return tabular(cfg, argc, argv, "progress", "PROGRESS", 0, 1, progress_help_head,
                   "\nExample:\n  werkmonitor progress asof=2021-12-31 category=scholing\n");
}

int cli_cmd_projects(struct cli_config *cfg, int argc, char **argv)
{
    return tabular(cfg, argc, argv, "projects", "PROJECTS", 0, 0, projects_help_head, "");
}

int cli_cmd_stats(struct cli_config *cfg, int argc, char **argv)
{
    return tabular(cfg, argc, argv, "stats", "STATS", 0, 0, stats_help_head, "");
}

/* ---- watch ---- */

static const char watch_help[] =
    "Usage: werkmonitor watch [--format text|json] [-n COUNT]\n"
    "\n"
    "Send WATCH and print the live totals: the TOTAL line the server pushes at once, after\n"
    "every change (at most about ten a second) and as a heartbeat every 30 s:\n"
    "  TOTAL seq=<n> started=<n> completed=<n> placed=<n> placed.persons=<n> outflow=<n>\n"
    "  --format json   one JSON object per line instead, numbers as numbers\n"
    "  -n, --count N   stop after N totals (default: until interrupted)\n"
    "Ends with exit 2 when the server closes the connection.\n";

/* Print a TOTAL line as one JSON object. */
static int print_total_json(const char *line)
{
    json_t *obj = json_object();
    char *copy = strdup(line);
    char *save = NULL, *tok, *text;
    int rc = WM_ENOMEM;

    if (obj == NULL || copy == NULL)
        goto out;
    strtok_r(copy, " ", &save); /* "TOTAL" */
    while ((tok = strtok_r(NULL, " ", &save)) != NULL) {
        char *eq = strchr(tok, '=');
        size_t dn;

        if (eq == NULL)
            continue;
        *eq = '\0';
        if (proto_unescape(eq + 1, eq + 1, strlen(eq + 1), &dn, NULL, 0) != WM_OK)
            continue;
        if (json_object_set_new(obj, tok, cli_json_value(eq + 1)) != 0)
            goto out;
    }
    text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    if (text == NULL)
        goto out;
    printf("%s\n", text);
    free(text);
    rc = WM_OK;
out:
    json_decref(obj);
    free(copy);
    return rc;
}

int cli_cmd_watch(struct cli_config *cfg, int argc, char **argv)
{
    static const struct cli_optdef defs[] = {{"format", 0, 1, OPT_FORMAT},
                                             {"count", 'n', 1, OPT_COUNT}};
    struct cli_args a;
    struct cli_conn c;
    struct cli_reply r = {0};
    int json = 0;
    long limit = -1, seen = 0;
    int ex = begin(&a, cfg, "watch", argc, argv, defs, 2, watch_help);
    int rc;

    if (ex >= 0)
        return ex;
    for (size_t i = 0; i < a.nopts; i++) {
        const char *v = a.opts[i].value;
        char *end;

        if (a.opts[i].id == OPT_FORMAT) {
            if (strcmp(v, "json") == 0) {
                json = 1;
            } else if (strcmp(v, "text") != 0) {
                ex = cli_usage_error("watch", "--format is text or json, not '%s'", v);
                goto out_args;
            }
        } else if (a.opts[i].id == OPT_COUNT) {
            errno = 0;
            limit = strtol(v, &end, 10);
            if (errno != 0 || end == v || *end != '\0' || limit < 1) {
                ex = cli_usage_error("watch", "--count wants a positive number, not '%s'", v);
                goto out_args;
            }
        }
    }
    if (a.npos > 0) {
        ex = cli_usage_error("watch", "unexpected argument '%s'", a.pos[0]);
        goto out_args;
    }
    if (cli_connect_or_report(&c, cfg) != WM_OK) {
        ex = CLI_EXIT_CONN;
        goto out_args;
    }
    rc = cli_request(&c, "WATCH", &r);
    if (rc != WM_OK) {
        ex = report_lost(&c, rc);
        goto out;
    }
    if (cli_reply_is_err(&r)) {
        fprintf(stderr, "%s\n", r.line);
        ex = CLI_EXIT_ERR;
        goto out;
    }
    if (strncmp(r.line, "OK", 2) != 0) {
        fprintf(stderr, "werkmonitor: unexpected answer to WATCH from %s: %s\n", c.peer, r.line);
        ex = CLI_EXIT_CONN;
        goto out;
    }
    for (;;) {
        char *line;
        size_t len;

        /* no timeout: the server sends a heartbeat, and waiting is the point */
        rc = cli_conn_read_line(&c, -1, &line, &len);
        if (rc != WM_OK) {
            ex = report_lost(&c, rc);
            goto out;
        }
        if (strncmp(line, "TOTAL", 5) != 0) {
            fprintf(stderr, "werkmonitor: unexpected line from %s: %s\n", c.peer, line);
            continue;
        }
        if (json) {
            if (print_total_json(line) != WM_OK) {
                fprintf(stderr, "werkmonitor: out of memory\n");
                ex = CLI_EXIT_CONN;
                goto out;
            }
        } else {
            printf("%s\n", line);
        }
        if (fflush(stdout) != 0) {
            ex = CLI_EXIT_CONN;
            goto out;
        }
        if (limit > 0 && ++seen >= limit) {
            cli_conn_queue(&c, "QUIT\n", 5);
            cli_conn_flush(&c);
            ex = CLI_EXIT_OK;
            goto out;
        }
    }
out:
    cli_reply_free(&r);
    cli_conn_close(&c);
out_args:
    cli_args_free(&a);
    return ex;
}
