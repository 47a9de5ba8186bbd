/*
 * The commands that ask: ping, and count, progress, projects and stats, which send one
 * query and print its rows as a table, CSV or JSON (--format). Each builds one
 * protocol line from its arguments; command.c sends it and prints the answer.
 */
#include <string.h>

#include "client.h"

/* The --format text of every tabular command's help. */
#define FORMAT_HELP                                                                                \
    "  --format FMT  table (aligned, with a header; the default), csv (a header row, then\n"       \
    "                RFC 4180 records) or json (an array of objects; numbers as numbers,\n"        \
    "                '-' as null). %XX escapes of the server's values are decoded. CSV and\n"      \
    "                JSON are those of the HTTP API (proto/HTTP.md).\n"                            \
    "  --sep SEP     with --format csv: ',' (the default) or ';' (also comma, semicolon);\n"       \
    "                ';' adds a UTF-8 byte-order mark, for Dutch Excel\n"                          \
    "  --excel       CSV for a double click in Dutch Excel: --format csv --sep ';', a\n"           \
    "                byte-order mark, and a text that Excel would run as a formula\n"              \
    "                (=, +, -, @ first) kept a text\n"

enum { OPT_FORMAT = 1, OPT_SEP, OPT_EXCEL, OPT_FIELD };

static const struct cli_optdef format_defs[] = {
    {"format", 0, 1, OPT_FORMAT}, {"sep", 0, 1, OPT_SEP}, {"excel", 0, 0, OPT_EXCEL}};
#define NFORMAT_DEFS (sizeof(format_defs) / sizeof(format_defs[0]))

/* progress takes its fields as options too (--asof DATE as asof=DATE), as report does:
 * the option's id is OPT_FIELD plus its index in progress_fields. */
static const char *const progress_fields[] = {"asof", "category", "project", "gemeente"};
static const struct cli_optdef progress_defs[] = {
    {"format", 0, 1, OPT_FORMAT},      {"sep", 0, 1, OPT_SEP},
    {"excel", 0, 0, OPT_EXCEL},        {"asof", 0, 1, OPT_FIELD},
    {"category", 0, 1, OPT_FIELD + 1}, {"project", 0, 1, OPT_FIELD + 2},
    {"gemeente", 0, 1, OPT_FIELD + 3}};

static const char ping_help[] = "Usage: werkmonitor ping\n"
                                "\n"
                                "Send PING and print the server's PONG (exit 0).\n";

int cli_cmd_ping(struct cli_config *cfg, int argc, char **argv)
{
    struct cli_args a;
    struct wm_buf b;
    int ex = cli_cmd_begin(&a, cfg, "ping", argc, argv, NULL, 0, ping_help);

    if (ex >= 0)
        return ex;
    wm_buf_init(&b);
    wm_buf_puts(&b, "PING");
    if (a.npos > 0)
        ex = cli_usage_error("ping", "unexpected argument '%s'", a.pos[0]);
    else
        ex = cli_run_line(cfg, &b);
    wm_buf_free(&b);
    cli_args_free(&a);
    return ex;
}

static const char count_help[] =
    "Usage: werkmonitor count <type> [key=value...] [--format table|csv|json] [--sep SEP]\n"
    "                         [--excel]\n"
    "\n"
    "Count the events of <type> (started, completed, placed, outflow); retracted events\n"
    "do not count. The arguments are those of the protocol's COUNT:\n"
    "  by=<dim>,<dim>...   one row per group: project, category, scope, gemeente, year,\n"
    "                      halfyear, quarter, month and the type's own fields (kind, doelgroep,\n"
    "                      benefit, result, sector, contract, durable, reason)\n"
    "  from=, to=          an inclusive date range (YYYY-MM-DD)\n"
    "  distinct=person     count people instead of events\n"
    "  <dim>=<v>[,<v>...]  keep only these values (a comma list is an OR)\n"
    "\n" FORMAT_HELP "\nExample:\n"
    "  werkmonitor count placed by=gemeente,year distinct=person from=2021-01-01\n";

static const char progress_help[] =
    "Usage: werkmonitor progress [asof=<date>] [category=<c>] [project=<p>]\n"
    "                            [gemeente=<g>[,<g>...]] [--format table|csv|json]\n"
    "                            [--sep SEP] [--excel]\n"
    "\n"
    "The traffic-light dashboard: per project and indicator (started, completed, placed)\n"
    "the actual figure, the target, the figure expected by now and the status, then the\n"
    "programme rows (project=*). On a terminal the status is coloured: green (on course),\n"
    "yellow for orange (at risk), red (behind).\n"
    "\n"
    "  --asof DATE   the same as asof=DATE (and --category, --project, --gemeente)\n" FORMAT_HELP
    "\nExample:\n"
    "  werkmonitor progress asof=2021-12-31 category=scholing\n"
    "  werkmonitor progress --asof 2021-12-31 --format json\n";

static const char projects_help[] =
    "Usage: werkmonitor projects [--format table|csv|json] [--sep SEP] [--excel]\n"
    "\n"
    "The project registry (name, category, scope, period, targets, title) and the\n"
    "programme (project=*).\n"
    "\n" FORMAT_HELP;

static const char stats_help[] =
    "Usage: werkmonitor stats [--format table|csv|json] [--sep SEP] [--excel]\n"
    "\n"
    "The server's statistics (version, uptime, connections, events, commits, ...).\n"
    "\n" FORMAT_HELP;

/* --format, --sep and --excel of a command's options into o; returns WM_OK or
 * WM_ECONFIG (reported). */
static int get_output(const struct cli_args *a, const char *cmd, struct cli_output *o)
{
    const char *sep = NULL;
    int format_given = 0, excel = 0;

    memset(o, 0, sizeof(*o));
    o->fmt = CLI_FMT_TABLE;
    for (size_t i = 0; i < a->nopts; i++) {
        const char *v = a->opts[i].value;
        if (a->opts[i].id == OPT_FORMAT) {
            format_given = 1;
            if (cli_format_parse(v, &o->fmt) != WM_OK) {
                cli_usage_error(cmd, "--format is table, csv or json, not '%s'", v);
                return WM_ECONFIG;
            }
        } else if (a->opts[i].id == OPT_SEP) {
            sep = v;
        } else if (a->opts[i].id == OPT_EXCEL) {
            excel = 1;
        }
    }
    if (excel && format_given && o->fmt != CLI_FMT_CSV) {
        cli_usage_error(cmd, "--excel writes CSV, not --format %s",
                        o->fmt == CLI_FMT_JSON ? "json" : "table");
        return WM_ECONFIG;
    }
    if (excel)
        o->fmt = CLI_FMT_CSV;
    if (sep != NULL && o->fmt != CLI_FMT_CSV) {
        cli_usage_error(cmd, "--sep goes with --format csv or --excel");
        return WM_ECONFIG;
    }
    o->csv.sep = excel ? ';' : ',';
    if (sep != NULL) {
        if (strcmp(sep, ",") == 0 || strcmp(sep, "comma") == 0) {
            o->csv.sep = ',';
        } else if (strcmp(sep, ";") == 0 || strcmp(sep, "semicolon") == 0) {
            o->csv.sep = ';';
        } else {
            cli_usage_error(cmd, "--sep is ',' or ';', not '%s'", sep);
            return WM_ECONFIG;
        }
    }
    /* as the HTTP API's format=excel and sep=semicolon */
    o->csv.bom = o->csv.excel = excel || o->csv.sep == ';';
    return WM_OK;
}

/*
 * Build "VERB [type] key=value..." from a's positional arguments into b, then from its
 * field options (OPT_FIELD + i: fields[i]=value). with_type: the first argument is an
 * event type; any_args: 0 when the verb takes no arguments. Returns -1 when built, else
 * the exit code of a usage error (reported).
 */
static int build_query(struct wm_buf *b, const struct cli_args *a, const char *cmd,
                       const char *verb, int with_type, int any_args, const char *const *fields)
{
    int ex;

    wm_buf_puts(b, verb);
    if (with_type) {
        if ((ex = cli_type_arg(cmd, a)) >= 0)
            return ex;
        wm_buf_puts(b, " ");
        wm_buf_puts(b, a->pos[0]);
    }
    for (size_t i = with_type ? 1 : 0; i < a->npos; i++) {
        if (!any_args)
            return cli_usage_error(cmd, "unexpected argument '%s'", a->pos[i]);
        if (cli_append_kv(b, cmd, a->pos[i]) != WM_OK)
            return CLI_EXIT_USAGE;
    }
    for (size_t i = 0; i < a->nopts; i++) {
        if (a->opts[i].id < OPT_FIELD || fields == NULL)
            continue;
        wm_buf_printf(b, " %s=", fields[a->opts[i].id - OPT_FIELD]);
        wm_buf_append_escaped(b, a->opts[i].value, strlen(a->opts[i].value));
    }
    return -1;
}

/* A tabular command: parse, build its query (see build_query), run it, print the rows.
 * defs (n of them) are its options: --format, and OPT_FIELD + i for fields[i]. */
static int tabular(struct cli_config *cfg, int argc, char **argv, const char *cmd, const char *verb,
                   int with_type, int any_args, const char *help, const struct cli_optdef *defs,
                   size_t n, const char *const *fields)
{
    struct cli_args a;
    struct wm_buf b;
    struct cli_output o;
    int ex = cli_cmd_begin(&a, cfg, cmd, argc, argv, defs, n, help);

    if (ex >= 0)
        return ex;
    wm_buf_init(&b);
    if (get_output(&a, cmd, &o) != WM_OK) {
        ex = CLI_EXIT_USAGE;
    } else if ((ex = build_query(&b, &a, cmd, verb, with_type, any_args, fields)) < 0) {
        o.by_content = strcmp(verb, "STATS") == 0; /* its values are of every kind */
        ex = cli_run_table(cfg, &b, &o);
    }
    wm_buf_free(&b);
    cli_args_free(&a);
    return ex;
}

int cli_cmd_count(struct cli_config *cfg, int argc, char **argv)
{
    return tabular(cfg, argc, argv, "count", "COUNT", 1, 1, count_help, format_defs, NFORMAT_DEFS,
                   NULL);
}

int cli_cmd_progress(struct cli_config *cfg, int argc, char **argv)
{
    return tabular(cfg, argc, argv, "progress", "PROGRESS", 0, 1, progress_help, progress_defs,
                   sizeof(progress_defs) / sizeof(progress_defs[0]), progress_fields);
}

int cli_cmd_projects(struct cli_config *cfg, int argc, char **argv)
{
    return tabular(cfg, argc, argv, "projects", "PROJECTS", 0, 0, projects_help, format_defs,
                   NFORMAT_DEFS, NULL);
}

int cli_cmd_stats(struct cli_config *cfg, int argc, char **argv)
{
    return tabular(cfg, argc, argv, "stats", "STATS", 0, 0, stats_help, format_defs, NFORMAT_DEFS,
                   NULL);
}
