/*
 * werkmonitor: entry point. Parses the global options, picks the subcommand and
 * hands it the rest of the command line. Global help and exit codes live here.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

#ifndef WM_VERSION
#define WM_VERSION "0"
#endif

static const char global_help[] =
    "Usage: werkmonitor [options] <command> [arguments]\n"
    "\n"
    "The command-line client of werkmonitord, the event store of the labour-market\n"
    "monitor of Gooi en Vechtstreek. It speaks the line protocol (PROTOCOL.md).\n"
    "\n"
    "Commands:\n"
    "  ping                          check that the server answers\n"
    "  send <type> key=value...      store one event (started, completed, placed, outflow)\n"
    "  retract id=<id> ref=<id>      withdraw one of your own events\n"
    "  count <type> [key=value...]   count events (by=, from=, to=, distinct=person, filters)\n"
    "  progress [key=value...]       the traffic-light dashboard (asof= or --asof, category=,\n"
    "                                project=, gemeente=)\n"
    "  projects                      the project registry and the programme\n"
    "  stats                         server statistics\n"
    "  watch                         live totals, one line per change\n"
    "  show id=<id>                  every version of one of your events\n"
    "  import FILE|-                 stream a CSV or NDJSON file of events, pipelined\n"
    "  raw                           protocol lines from stdin, responses to stdout\n"
    "  bench                         load generator (-c clients, -n events, -P pipeline)\n"
    "  token new <principal> <role>  make an access token and its tokens-file line\n"
    "  keygen FILE                   make a pseudonym key (32 random bytes, mode 0600)\n"
    "  pseudonym <BSN>|-             print the pseudonym of a BSN (--pseudo-key FILE)\n"
    "  note --period P FILE          store the words of the monitor for a half-year (admin)\n"
    "  report -o FILE                write the monitor as one self-contained HTML file\n"
    "  help [command]                this text, or a command's\n"
    "\n"
    "Options (accepted before the command and after it):\n"
    "  --host HOST        server name or address (default 127.0.0.1, env WERKMONITOR_HOST)\n"
    "  --port PORT        server port (default 7878, env WERKMONITOR_PORT)\n"
    "  --token TOKEN      authenticate (AUTH) before anything else. Beware: a token on the\n"
    "                     command line is visible to other users of this machine through\n"
    "                     ps and /proc; prefer --token-file or WERKMONITOR_TOKEN\n"
    "  --token-file FILE  read the token from the first line of FILE\n"
    "  --tls              use TLS (1.2 or newer), verifying the server's certificate and\n"
    "                     that it names HOST\n"
    "  --ca FILE          trust the CA certificate(s) in FILE (default: the system's)\n"
    "  --timeout SECS     limit for connecting and for each response (default 30, 0: none)\n"
    "  -h, --help         help; 'werkmonitor <command> --help' explains a command\n"
    "  --version          print the version\n"
    "\n"
    "Environment: WERKMONITOR_HOST, WERKMONITOR_PORT, WERKMONITOR_TOKEN (used when neither\n"
    "--token nor --token-file is given), NO_COLOR (no colour in tables).\n"
    "\n"
    "Exit status:\n"
    "  0   success\n"
    "  1   the server answered ERR, rows were rejected, or the client refused input\n"
    "      (a BSN failing the eleven-test, a person value that looks like a BSN)\n"
    "  2   cannot connect or authenticate, the connection was lost, or a file cannot be\n"
    "      read or written (key, token, import file)\n"
    "  64  usage error (unknown option, missing argument)\n";

struct command {
    const char *name;
    int (*run)(struct cli_config *cfg, int argc, char **argv);
};

static const struct command commands[] = {
    {"ping", cli_cmd_ping},     {"send", cli_cmd_send},           {"retract", cli_cmd_retract},
    {"count", cli_cmd_count},   {"progress", cli_cmd_progress},   {"projects", cli_cmd_projects},
    {"stats", cli_cmd_stats},   {"watch", cli_cmd_watch},         {"import", cli_cmd_import},
    {"raw", cli_cmd_raw},       {"bench", cli_cmd_bench},         {"token", cli_cmd_token},
    {"keygen", cli_cmd_keygen}, {"pseudonym", cli_cmd_pseudonym}, {"note", cli_cmd_note},
    {"report", cli_cmd_report}, {"show", cli_cmd_show},
};

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* Number of argv words the global option at argv[0] takes (1 or 2). */
static int global_words(const char *arg)
{
    static const char *const with_value[] = {"--host",       "--port", "--token",
                                             "--token-file", "--ca",   "--timeout"};

    for (size_t i = 0; i < sizeof(with_value) / sizeof(with_value[0]); i++)
        if (strcmp(arg, with_value[i]) == 0)
            return 2;
    return 1;
}

int main(int argc, char **argv)
{
    struct cli_config cfg;
    struct cli_args a;
    const struct command *cmd;
    int first = 1;
    int rc;

    memset(&cfg, 0, sizeof(cfg));
    cfg.timeout_ms = 30000;
    /* a server that closes while we write must give an error, not kill us */
    signal(SIGPIPE, SIG_IGN);

    while (first < argc && argv[first][0] == '-' && argv[first][1] != '\0') {
        if (strcmp(argv[first], "--version") == 0) {
            printf("werkmonitor %s (protocol 1)\n", WM_VERSION);
            return CLI_EXIT_OK;
        }
        first += global_words(argv[first]);
    }
    if (first > argc)
        first = argc; /* "--host" without its value: the parser below says so */
    if (cli_args_parse(&a, NULL, first - 1, argv + 1, NULL, 0, &cfg) != WM_OK)
        return CLI_EXIT_USAGE;
    if (a.npos > 0) {
        rc = cli_usage_error(NULL, "unexpected argument '%s'", a.pos[0]);
        cli_args_free(&a);
        return rc;
    }
    if (a.help || first >= argc) {
        int asked = a.help;

        cli_args_free(&a);
        if (!asked) {
            fputs(global_help, stderr);
            return CLI_EXIT_USAGE;
        }
        fputs(global_help, stdout);
        return CLI_EXIT_OK;
    }
    cli_args_free(&a);

    if (strcmp(argv[first], "help") == 0) {
        char help_arg[] = "--help";
        char *sub[] = {help_arg, NULL};

        if (first + 1 >= argc) {
            fputs(global_help, stdout);
            return CLI_EXIT_OK;
        }
        cmd = find_command(argv[first + 1]);
        if (cmd == NULL)
            return cli_usage_error(NULL, "unknown command '%s'", argv[first + 1]);
        return cmd->run(&cfg, 1, sub);
    }
    cmd = find_command(argv[first]);
    if (cmd == NULL)
        return cli_usage_error(NULL, "unknown command '%s'", argv[first]);
    rc = cmd->run(&cfg, argc - first - 1, argv + first + 1);
    free(cfg.token);
    if (fflush(stdout) != 0 && rc == CLI_EXIT_OK) {
        fprintf(stderr, "werkmonitor: cannot write to standard output\n");
        rc = CLI_EXIT_CONN;
    }
    return rc;
}
