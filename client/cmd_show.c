/*
 * werkmonitor show: every version of one event (SHOW), so that a writer can see what
 * the server holds under an id of theirs, what replaced it and what was retracted.
 */
#include <string.h>

#include "client.h"

static const char show_help[] =
    "Usage: werkmonitor show id=<id>|<id> [--format table|csv|json]\n"
    "       werkmonitor show seq=<n>            (admin)\n"
    "       werkmonitor show id=<id> principal=<p>   (admin: another's event)\n"
    "\n"
    "Every version of one of your own events, oldest first: its seq, type, principal,\n"
    "when it was received and its fields (never the person), then replaces=<seq> (the\n"
    "version it replaced, REPLACE or 'import --replace') and retracted=<seq>|no with the\n"
    "reason (retract's reason=, or 'replaced' when a newer version took its place).\n"
    "A word without '=' is the id. An unknown id answers ERR not-found (exit 1).\n"
    "\n"
    "  --format FMT  table (the default), csv or json\n"
    "\nExample:\n"
    "  werkmonitor show id=wsp-2024-0017\n";

enum { OPT_FORMAT = 1 };

int cli_cmd_show(struct cli_config *cfg, int argc, char **argv)
{
    static const struct cli_optdef defs[] = {{"format", 0, 1, OPT_FORMAT}};
    struct cli_output o = {.fmt = CLI_FMT_TABLE, .csv = {.sep = ','}};
    struct cli_args a;
    struct wm_buf b;
    int ex = cli_cmd_begin(&a, cfg, "show", argc, argv, defs, 1, show_help);

    if (ex >= 0)
        return ex;
    wm_buf_init(&b);
    wm_buf_puts(&b, "SHOW");
    for (size_t i = 0; i < a.nopts && ex < 0; i++)
        if (cli_format_parse(a.opts[i].value, &o.fmt) != WM_OK)
            ex = cli_usage_error("show", "--format is table, csv or json, not '%s'",
                                 a.opts[i].value);
    if (ex < 0 && a.npos == 0)
        ex = cli_usage_error("show", "missing id=<id> (or seq=<n>)");
    for (size_t i = 0; i < a.npos && ex < 0; i++) {
        if (strchr(a.pos[i], '=') == NULL) {
            wm_buf_puts(&b, " id=");
            wm_buf_append_escaped(&b, a.pos[i], strlen(a.pos[i]));
        } else if (cli_append_kv(&b, "show", a.pos[i]) != WM_OK) {
            ex = CLI_EXIT_USAGE;
        }
    }
    if (ex < 0)
        ex = cli_run_table(cfg, &b, &o);
    wm_buf_free(&b);
    cli_args_free(&a);
    return ex;
}
