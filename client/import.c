/*
 * werkmonitor import: stream a CSV or NDJSON file of events to the daemon, pipelined,
 * re-opening a dropped connection with backoff. This file is the command and its
 * steps (options, open the input, run, report); import_int.h lists the other parts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "import_int.h"

static const char import_help[] =
    "Usage: werkmonitor import [options] FILE|-\n"
    "\n"
    "Stream the events of FILE (or stdin), a municipality's export as it comes out of\n"
    "Excel or a case system, to the server, pipelined, and print a summary:\n"
    "  stored N, duplicates N, rejected N\n"
    "followed by the rejections counted by reason, most frequent first.\n"
    "\n"
    "Columns. CSV (RFC 4180) starts with a header row; its names are matched without\n"
    "regard to case and spaces. A name is a protocol field (type, id, person, gemeente,\n"
    "date, project, kind, doelgroep, benefit, result, sector, contract, months, hours,\n"
    "employer, by), or bsn, or one of the Dutch names datum, soort (type), resultaat,\n"
    "uitkering, reden, maanden, uren, werkgever, persoon, accountmanager, kenmerk (id),\n"
    "gemeente, project, sector, bsn; a --map profile names the rest. Any other column\n"
    "stops the import before anything is sent (exit 2): map it, or give\n"
    "--ignore-unknown. NDJSON: one JSON object per line whose keys are resolved the\n"
    "same way (an unknown key stops the import at its line); null means absent.\n"
    "\n"
    "Values as spreadsheets write them. White space at the ends of a cell goes, and\n"
    "line breaks and tabs inside it fold to one space; an empty cell is an absent field.\n"
    "Dates: YYYY-MM-DD, or day first as Dutch Excel writes them (D-M-YYYY, DD-MM-YYYY,\n"
    "DD/MM/YYYY), a time part (' 00:00:00') ignored; another form needs --date-format. A\n"
    "two-digit year, a day that does not exist or a spreadsheet's day number rejects\n"
    "the row: a date is never guessed. Whole numbers written 12,0 or 12.0 are 12. Names\n"
    "of municipalities, projects and enumerated values may be in any case ('Gooise\n"
    "Meren', 'Zorg'): the server matches them. The delimiter, ',' ';' or TAB, is taken\n"
    "from the header; quoted cells may hold delimiters, quotes (\"\") and line breaks.\n"
    "\n"
    "Encodings. UTF-8 with or without a byte-order mark, UTF-16 (Excel's 'Unicode\n"
    "text') by its byte-order mark; anything else through --encoding. A file that is\n"
    "not UTF-8 is refused before anything is sent, naming the line.\n"
    "\n"
    "BSNs. A 'bsn' column is checked with the eleven-test and replaced by its\n"
    "pseudonym, HMAC-SHA256 under --pseudo-key; the BSN itself is never sent. Eight\n"
    "digits get back the leading zero Excel dropped; a BSN Excel turned into a number\n"
    "(1,11222E+08) is rejected. A person value of only digits and separators looks like\n"
    "a BSN, and so do nine digits passing the eleven-test in any value: such a row is\n"
    "rejected unsent.\n"
    "\n"
    "  --type T         every row is of type T (started, completed, placed, outflow);\n"
    "                   the file needs no type column\n"
    "  --set F=V        field F is V in every row (gemeente=hilversum); repeatable\n"
    "  --map FILE       a mapping profile: the file's columns to fields, translations\n"
    "                   of values, fixed values, columns to ignore, options (see the\n"
    "                   README, 'Importing a municipality's export', and\n"
    "                   data/import-map.example)\n"
    "  --ignore-unknown skip every column that is not a field (instead of stopping)\n"
    "  --date-format P  dates of the form P, made of YYYY (or YY), MM (or M), DD (or D)\n"
    "                   and separators: MM/DD/YYYY, D.M.YYYY, YYYYMMDD\n"
    "  --encoding E     the file's encoding when it has no byte-order mark: cp1252\n"
    "                   (Windows, Excel's 'CSV'), latin1, utf-16, ... ('iconv -l')\n"
    "  --dry-run        check every row against the server's rules (CHECK: registry,\n"
    "                   municipality, domains, ids taken) and store nothing\n"
    "  --replace        send each row as REPLACE: a row whose id was stored with other\n"
    "                   values (a corrected re-export) replaces it; the old version is\n"
    "                   retracted with reason 'replaced' ('werkmonitor show id=...')\n"
    "  --format FMT     csv or ndjson (default: ndjson for *.ndjson, *.jsonl, *.json or\n"
    "                   when the data starts with '{', else csv)\n"
    "  --pseudo-key F   the pseudonym key (needed for a bsn column)\n"
    "  --rejects FILE   write the rejected rows to FILE in the input's own format and\n"
    "                   header, with two more columns: regel (the line in the input) and\n"
    "                   fout (every error of the row). Correct the rows and import FILE\n"
    "                   again: regel and fout are ignored. Without it the first rejected\n"
    "                   rows are told on stderr\n"
    "  --window N       requests in flight at most (default 8192)\n"
    "  --retry SECS     after a lost connection, reconnect with backoff for up to SECS\n"
    "                   without progress (default 60), re-sending what was not\n"
    "                   acknowledged; a re-sent event that was stored counts as duplicate\n"
    "\n"
    "On a terminal a progress bar (rows, rows/s, ETA) is drawn on stderr.\n"
    "Exit 0 when nothing was rejected, 1 when some rows were, 2 when the server cannot\n"
    "be reached (or authentication fails, or reconnecting gave up) or the file cannot be\n"
    "read or used as it is (no header, no type or id column, an unknown column, a bsn\n"
    "column without --pseudo-key, a line that is not in its encoding, a bad map).\n"
    "\n"
    "Examples:\n"
    "  werkmonitor import --dry-run --map hilversum.map export.csv\n"
    "  werkmonitor import --map hilversum.map --rejects fouten.csv export.csv\n"
    "  werkmonitor import --map hilversum.map fouten.csv          # corrected\n"
    "  werkmonitor import --replace --map hilversum.map export-maart.csv\n"
    "\nGlobal options (--host, --port, --token, ...) are accepted too; see "
    "'werkmonitor --help'.\n";

enum {
    OPT_FORMAT = 1,
    OPT_PSEUDO_KEY,
    OPT_REJECTS,
    OPT_WINDOW,
    OPT_RETRY,
    OPT_TYPE,
    OPT_SET,
    OPT_MAP,
    OPT_IGNORE_UNKNOWN,
    OPT_DATE_FORMAT,
    OPT_ENCODING,
    OPT_DRY_RUN,
    OPT_REPLACE,
};

/* --window or --retry: a whole number from 1 to max. Returns 0, or -1 after the
 * usage error. */
static int opt_number(const char *name, const char *v, long max, long *out)
{
    char *end;

    errno = 0;
    *out = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || *out < 1 || *out > max) {
        cli_usage_error("import", "--%s wants a number from 1 to %ld, not '%s'", name, max, v);
        return -1;
    }
    return 0;
}

/* --set F=V: F a field (or type). Returns 0, or -1 after the usage error. */
static int opt_set(const char *v)
{
    const char *eq = strchr(v, '=');
    char field[64];

    if (eq == NULL || eq == v || (size_t)(eq - v) >= sizeof(field)) {
        cli_usage_error("import", "--set wants field=value, not '%s'", v);
        return -1;
    }
    memcpy(field, v, (size_t)(eq - v));
    field[eq - v] = '\0';
    if (!imp_target_valid(field) || strcmp(field, "bsn") == 0) {
        cli_usage_error("import", "--set: '%s' is not a field", field);
        return -1;
    }
    return 0;
}

/* The checks of options whose values have a form: --type, --date-format, --encoding,
 * --format. Returns -1, or CLI_EXIT_USAGE after the usage error. */
static int opts_check(const struct imp_opts *o)
{
    char why[512];
    iconv_t cd;

    if (o->format != NULL && strcmp(o->format, "csv") != 0 && strcmp(o->format, "ndjson") != 0)
        return cli_usage_error("import", "--format is csv or ndjson, not '%s'", o->format);
    snprintf(why, sizeof(why), "%s", o->type != NULL ? o->type : "");
    for (char *p = why; *p != '\0'; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    if (o->type != NULL && proto_type_lookup(why) < 0)
        return cli_usage_error(
            "import", "--type is started, completed, placed or outflow, not '%s'", o->type);
    if (o->date_format != NULL && imp_date_pattern_check(o->date_format, why, sizeof(why)) != WM_OK)
        return cli_usage_error("import", "%s", why);
    if (o->encoding != NULL) {
        if ((cd = iconv_open("UTF-8", o->encoding)) == (iconv_t)-1)
            return cli_usage_error("import",
                                   "--encoding: unknown encoding '%s' (cp1252, latin1, utf-16, "
                                   "...; 'iconv -l' lists them all)",
                                   o->encoding);
        iconv_close(cd);
    }
    return -1;
}

/* One option into o. Returns -1, or CLI_EXIT_USAGE after the usage error. */
static int opts_one(struct imp_opts *o, const struct cli_opt *opt)
{
    const char *v = opt->value;
    long n;

    switch (opt->id) {
    case OPT_FORMAT:
        o->format = v;
        break;
    case OPT_PSEUDO_KEY:
        o->keyfile = v;
        break;
    case OPT_REJECTS:
        o->rejects = v;
        break;
    case OPT_WINDOW:
        if (opt_number("window", v, IMP_MAX_WINDOW, &n) != 0)
            return CLI_EXIT_USAGE;
        o->window = (size_t)n;
        break;
    case OPT_RETRY:
        if (opt_number("retry", v, IMP_MAX_RETRY_S, &n) != 0)
            return CLI_EXIT_USAGE;
        o->retry_s = (int)n;
        break;
    case OPT_TYPE:
        o->type = v;
        break;
    case OPT_SET:
        if (opt_set(v) != 0)
            return CLI_EXIT_USAGE;
        o->sets[o->nsets++] = v;
        break;
    case OPT_MAP:
        o->map = v;
        break;
    case OPT_IGNORE_UNKNOWN:
        o->ignore_unknown = 1;
        break;
    case OPT_DATE_FORMAT:
        o->date_format = v;
        break;
    case OPT_ENCODING:
        o->encoding = v;
        break;
    case OPT_DRY_RUN:
        o->dry_run = 1;
        break;
    case OPT_REPLACE:
        o->replace = 1;
        break;
    }
    return -1;
}

int imp_opts_parse(struct imp_opts *o, const struct cli_args *a)
{
    int ex;

    memset(o, 0, sizeof(*o));
    o->window = IMP_DEFAULT_WINDOW;
    o->retry_s = IMP_DEFAULT_RETRY_S;
    o->sets = calloc(a->nopts + 1, sizeof(*o->sets));
    if (o->sets == NULL) {
        fprintf(stderr, "werkmonitor: out of memory\n");
        return CLI_EXIT_CONN;
    }
    for (size_t i = 0; i < a->nopts; i++)
        if ((ex = opts_one(o, &a->opts[i])) >= 0)
            return ex;
    if ((ex = opts_check(o)) >= 0)
        return ex;
    if (a->npos != 1)
        return cli_usage_error("import", a->npos == 0 ? "missing FILE (or - for stdin)"
                                                      : "give exactly one FILE (or -)");
    o->path = a->pos[0];
    return -1;
}

void imp_opts_free(struct imp_opts *o)
{
    free(o->sets);
    o->sets = NULL;
}

/* Open FILE (or take stdin), noting its size for the progress bar. Returns -1, or the
 * exit code after saying why not. */
static int open_file(struct imp *im, const char *path)
{
    struct stat st;

    if (strcmp(path, "-") == 0) {
        im->in.fd = STDIN_FILENO;
        im->in.path = "stdin";
        return -1;
    }
    im->in.path = path;
    im->in.fd = open(path, O_RDONLY | O_CLOEXEC);
    if (im->in.fd < 0) {
        fprintf(stderr, "werkmonitor import: cannot open %s: %s\n", path, strerror(errno));
        return CLI_EXIT_CONN;
    }
    if (fstat(im->in.fd, &st) == 0 && S_ISREG(st.st_mode))
        im->in.bytes_total = (uint64_t)st.st_size;
    return -1;
}

/* The pseudonym key and the mapping profile with the options merged in. Returns -1,
 * or the exit code after saying why not. */
static int open_aids(struct imp *im, const struct imp_opts *o)
{
    char why[512];
    int rc = WM_OK;

    if (o->keyfile != NULL) {
        rc = cli_key_load(&im->key, o->keyfile, why, sizeof(why));
        if (rc != WM_OK) {
            fprintf(stderr, "werkmonitor import: %s\n", rc == WM_ENOMEM ? "out of memory" : why);
            return CLI_EXIT_CONN;
        }
        im->have_key = 1;
    }
    if (o->map != NULL && (rc = imp_map_load(&im->map, o->map, why, sizeof(why))) != WM_OK) {
        fprintf(stderr, "werkmonitor import: %s\n", why);
        return CLI_EXIT_CONN;
    }
    if (o->type != NULL || im->map.type != NULL)
        rc = imp_map_set(&im->map, "type", o->type != NULL ? o->type : im->map.type);
    for (size_t i = 0; i < o->nsets && rc == WM_OK; i++) {
        const char *eq = strchr(o->sets[i], '=');
        char field[64];

        memcpy(field, o->sets[i], (size_t)(eq - o->sets[i]));
        field[eq - o->sets[i]] = '\0';
        rc = imp_map_set(&im->map, field, eq + 1);
    }
    if (rc != WM_OK) {
        fprintf(stderr, "werkmonitor: out of memory\n");
        return CLI_EXIT_CONN;
    }
    im->date_format = o->date_format != NULL ? o->date_format : im->map.date_format;
    im->ignore_unknown = o->ignore_unknown;
    im->dry_run = o->dry_run;
    im->replace = o->replace;
    return -1;
}

/*
 * Everything before the first row is sent, so that a file that cannot be used is
 * refused before the server hears of it: the input, the key, the profile, the window,
 * the encoding, the format, the header (CSV) or first row (NDJSON), the rejects file.
 * Returns -1, or the exit code after saying why not.
 */
static int import_open(struct imp *im, const struct imp_opts *o)
{
    int ex, rc;

    if ((ex = open_file(im, o->path)) >= 0 || (ex = open_aids(im, o)) >= 0)
        return ex;
    im->retry_s = o->retry_s;
    if (imp_window_init(&im->win, o->window) != WM_OK) {
        fprintf(stderr, "werkmonitor: out of memory\n");
        return CLI_EXIT_CONN;
    }
    im->in.lineno = 1;
    im->opening = 1;
    if ((rc = imp_rows_prepare(im)) != WM_OK ||
        (rc = imp_input_begin(im, o->encoding != NULL ? o->encoding : im->map.encoding)) != WM_OK ||
        (rc = imp_input_sniff(im, o->format)) != WM_OK || (rc = imp_produce(im)) != WM_OK ||
        (o->rejects != NULL && (rc = imp_rejects_open(im, o->rejects)) != WM_OK)) {
        if (rc == WM_ENOMEM && im->fatal_msg[0] == '\0')
            snprintf(im->fatal_msg, sizeof(im->fatal_msg), "out of memory");
        fprintf(stderr, "werkmonitor import: %s\n", im->fatal_msg);
        return CLI_EXIT_CONN;
    }
    im->opening = 0;
    return -1;
}

/* Open (again) with backoff until it works or retry_s pass without progress. */
static int reconnect(struct imp *im, const char *why)
{
    int delay_ms = 100;

    if (im->connected) {
        cli_conn_close(&im->conn);
        im->connected = 0;
    }
    imp_progress_clear(im);
    fprintf(stderr, "werkmonitor import: connection lost (%s); reconnecting\n", why);
    if (im->lost_since_us == 0)
        im->lost_since_us = cli_now_us();
    for (;;) {
        struct timespec ts;
        int rc;

        if (cli_now_us() - im->lost_since_us > (int64_t)im->retry_s * 1000000) {
            snprintf(im->fatal_msg, sizeof(im->fatal_msg),
                     "gave up after %d s without progress: cannot connect to %.80s: %.300s",
                     im->retry_s, im->conn.peer, im->conn.err);
            return WM_ECONNECT;
        }
        ts.tv_sec = delay_ms / 1000;
        ts.tv_nsec = (long)(delay_ms % 1000) * 1000000;
        nanosleep(&ts, NULL);
        rc = cli_conn_open(&im->conn, im->cfg);
        if (rc == WM_OK)
            break;
        if (rc == WM_EAUTH_FAILED) {
            snprintf(im->fatal_msg, sizeof(im->fatal_msg), "authentication failed at %.80s: %.300s",
                     im->conn.peer, im->conn.err);
            cli_conn_close(&im->conn);
            return rc;
        }
        cli_conn_close(&im->conn);
        delay_ms = delay_ms * 2 > 2000 ? 2000 : delay_ms * 2;
    }
    im->connected = 1;
    fprintf(stderr,
            "werkmonitor import: reconnected to %s; sending %lu unacknowledged rows again\n",
            im->conn.peer, im->win.sent - im->win.head);
    imp_window_resend(&im->win);
    return WM_OK;
}

/*
 * Read what the server answered (waiting up to 100 ms). Returns WM_OK, a fatal error,
 * or WM_ECLOSED with why set when the connection is lost and must be re-opened.
 */
static int take_answers(struct imp *im, int64_t *last_io, char *why, size_t whylen)
{
    char *line;
    size_t len;
    int rc = cli_conn_io(&im->conn, 100, NULL);

    while (cli_conn_line(&im->conn, &line, &len)) {
        int r = imp_window_answer(im, line, len);

        *last_io = cli_now_us();
        if (r == WM_EUNAVAILABLE) {
            snprintf(why, whylen, "%.200s", line);
            return WM_ECLOSED;
        }
        if (r != WM_OK)
            return r;
    }
    if (rc == WM_ENOMEM)
        return rc;
    if (rc != WM_OK) {
        snprintf(why, whylen, "%.200s", im->conn.err);
        return WM_ECLOSED;
    }
    if (im->win.sent > im->win.head && im->cfg->timeout_ms > 0 &&
        cli_now_us() - *last_io > (int64_t)im->cfg->timeout_ms * 1000) {
        snprintf(why, whylen, "no answer within the timeout");
        return WM_ECLOSED;
    }
    return WM_OK;
}

/* The main loop: produce, send, read answers, until every row is answered. */
static int import_run(struct imp *im)
{
    int64_t last_io = cli_now_us();
    int rc;

    for (;;) {
        char why[300];

        if ((rc = imp_produce(im)) != WM_OK || (rc = imp_window_send(im)) != WM_OK)
            return rc;
        imp_window_pop_local(im);
        if (imp_input_done(im) && imp_window_unanswered(&im->win) == 0)
            return WM_OK;
        rc = take_answers(im, &last_io, why, sizeof(why));
        if (rc == WM_ECLOSED) {
            if ((rc = reconnect(im, why)) != WM_OK)
                return rc;
            last_io = cli_now_us();
        } else if (rc != WM_OK) {
            return rc;
        }
        imp_progress_draw(im);
    }
}

/* The summary on stdout, the reason a run ended early on stderr; the exit code. */
static int import_report(struct imp *im, int rc)
{
    imp_progress_clear(im);
    if (im->dry_run)
        printf("dry run, nothing stored: valid %lu, rejected %lu\n", im->stored, im->rejected);
    else
        printf("stored %lu, duplicates %lu, rejected %lu\n", im->stored, im->dups, im->rejected);
    if (im->replace)
        printf("%s %lu: %s\n", im->dry_run ? "would replace" : "replaced", im->replaced,
               "an earlier version of the same id, retracted with reason 'replaced'");
    imp_rejects_summary(im, stdout);
    if (rc != WM_OK) {
        if (rc == WM_ENOMEM && im->fatal_msg[0] == '\0')
            snprintf(im->fatal_msg, sizeof(im->fatal_msg), "out of memory");
        fprintf(stderr, "werkmonitor import: %s%s\n", im->fatal_msg,
                imp_window_unanswered(&im->win) > 0 ? "; the rest of the file was not imported"
                                                    : "");
        return CLI_EXIT_CONN;
    }
    return im->rejected > 0 ? CLI_EXIT_ERR : CLI_EXIT_OK;
}

/* Release everything; a failure to write the rejects file makes the exit 2. */
static int import_close(struct imp *im, const struct imp_opts *o, int ex)
{
    if (im->connected)
        cli_conn_close(&im->conn);
    if (imp_rejects_close(im) != WM_OK) {
        fprintf(stderr, "werkmonitor import: cannot write rejects file %s\n", o->rejects);
        ex = CLI_EXIT_CONN;
    }
    imp_window_free(&im->win);
    imp_csv_free(im);
    imp_input_free(im);
    imp_map_free(&im->map);
    wm_buf_free(&im->fixed);
    wm_buf_free(&im->scratch);
    cli_key_free(&im->key);
    if (im->in.fd > STDIN_FILENO)
        close(im->in.fd);
    return ex;
}

/* Hand the rows produced so far to row(): a request as it would be sent, a row the
 * client refuses as "ERR invalid <its errors>". */
static void read_rows(struct imp *im, cli_import_row_fn row, void *arg, struct wm_buf *refusal)
{
    for (; im->win.head < im->win.tail; im->win.head++) {
        const struct imp_slot *s = &im->win.ring[im->win.head % im->win.cap];

        if (!s->local) {
            row(arg, s->lineno, s->req.data != NULL ? s->req.data : "", s->req.len, 0);
            continue;
        }
        if (s->nerr == 0)
            continue; /* the row an error that ends the import was met in */
        wm_buf_reset(refusal);
        wm_buf_puts(refusal, "ERR invalid ");
        for (size_t i = 0; i < s->errs.len; i++)
            if (s->errs.data[i] != '\n')
                wm_buf_append(refusal, s->errs.data + i, 1);
            else if (i + 1 < s->errs.len)
                wm_buf_puts(refusal, "; ");
        row(arg, s->lineno, refusal->data, refusal->len, 1);
    }
    im->win.sent = im->win.head;
}

int cli_import_read(int fd, int ndjson, struct cli_key *key, cli_import_row_fn row, void *arg,
                    char *err, size_t errlen)
{
    struct imp im;
    struct wm_buf refusal;
    int rc;

    memset(&im, 0, sizeof(im));
    wm_buf_init(&refusal);
    im.in.fd = fd;
    im.in.path = "the input";
    im.in.lineno = 1;
    im.in.cd = (iconv_t)-1;
    if (key != NULL) {
        im.key = *key; /* borrowed: never freed here */
        im.have_key = 1;
    }
    if ((rc = imp_window_init(&im.win, 1024)) == WM_OK && (rc = imp_rows_prepare(&im)) == WM_OK)
        rc = imp_input_begin(&im, NULL);
    im.in.ndjson = ndjson;
    while (rc == WM_OK) {
        rc = imp_produce(&im);
        /* every row produced goes to row(), in order; none waits for an answer */
        read_rows(&im, row, arg, &refusal);
        if (rc != WM_OK || imp_input_done(&im))
            break;
    }
    if (rc != WM_OK)
        snprintf(err, errlen, "%s", im.fatal_msg[0] ? im.fatal_msg : wm_strerror(rc));
    wm_buf_free(&refusal);
    imp_window_free(&im.win);
    imp_csv_free(&im);
    imp_input_free(&im);
    wm_buf_free(&im.fixed);
    wm_buf_free(&im.scratch);
    return rc;
}

int cli_cmd_import(struct cli_config *cfg, int argc, char **argv)
{
    static const struct cli_optdef defs[] = {
        {"format", 0, 1, OPT_FORMAT},
        {"pseudo-key", 0, 1, OPT_PSEUDO_KEY},
        {"rejects", 0, 1, OPT_REJECTS},
        {"window", 0, 1, OPT_WINDOW},
        {"retry", 0, 1, OPT_RETRY},
        {"type", 0, 1, OPT_TYPE},
        {"set", 0, 1, OPT_SET},
        {"map", 0, 1, OPT_MAP},
        {"ignore-unknown", 0, 0, OPT_IGNORE_UNKNOWN},
        {"date-format", 0, 1, OPT_DATE_FORMAT},
        {"encoding", 0, 1, OPT_ENCODING},
        {"dry-run", 0, 0, OPT_DRY_RUN},
        {"replace", 0, 0, OPT_REPLACE},
    };
    struct cli_args a;
    struct imp_opts o;
    struct imp im;
    int ex, rc;

    if ((ex = cli_args_begin(&a, "import", argc, argv, defs, sizeof(defs) / sizeof(defs[0]), cfg,
                             import_help)) >= 0)
        return ex;
    ex = imp_opts_parse(&o, &a);
    if (ex < 0 && cli_config_finish(cfg) != WM_OK)
        ex = CLI_EXIT_USAGE;
    if (ex >= 0) {
        imp_opts_free(&o);
        cli_args_free(&a);
        return ex;
    }
    memset(&im, 0, sizeof(im));
    im.cfg = cfg;
    im.in.fd = -1;
    im.in.cd = (iconv_t)-1;
    if ((ex = import_open(&im, &o)) < 0) {
        rc = cli_conn_open(&im.conn, cfg);
        if (rc != WM_OK) {
            ex = cli_report_conn_error(&im.conn, rc);
            cli_conn_close(&im.conn);
        } else {
            im.connected = 1;
            imp_progress_start(&im);
            ex = import_report(&im, import_run(&im));
        }
    }
    ex = import_close(&im, &o, ex);
    imp_opts_free(&o);
    cli_args_free(&a);
    return ex;
}
