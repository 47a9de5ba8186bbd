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
    "Usage: werkmonitor import [--format csv|ndjson] [--pseudo-key FILE] [--rejects FILE]\n"
    "                          [--window N] [--retry SECS] FILE|-\n"
    "\n"
    "Stream the events of FILE (or stdin) to the server, pipelined, and print a summary:\n"
    "  stored N, duplicates N, rejected N\n"
    "\n"
    "CSV (RFC 4180): a header row of field names (case and surrounding spaces ignored)\n"
    "with a 'type' column (started, completed, placed, outflow) and an 'id' column, then\n"
    "one event per record. The delimiter, ',' or ';', is taken from the header; a UTF-8\n"
    "byte-order mark is skipped; quoted fields may hold delimiters, quotes (\"\") and line\n"
    "breaks; an empty cell means the field is absent. A column with an empty header must\n"
    "stay empty. NDJSON: one JSON object per line with the same keys; strings and\n"
    "integers are values, null means absent.\n"
    "\n"
    "A 'bsn' column (instead of 'person') is checked with the eleven-test and replaced\n"
    "by its pseudonym, HMAC-SHA256 under --pseudo-key; the BSN itself is never sent.\n"
    "A person value of 8 or 9 digits looks like a BSN and is rejected unsent.\n"
    "\n"
    "  --format FMT     csv or ndjson (default: ndjson for *.ndjson, *.jsonl, *.json or\n"
    "                   when the data starts with '{', else csv)\n"
    "  --pseudo-key F   the pseudonym key (needed for a bsn column)\n"
    "  --rejects FILE   write each rejected row as '<line number>: <ERR line>' to FILE\n"
    "                   (default: stderr); the line number is where the record starts\n"
    "  --window N       requests in flight at most (default 8192)\n"
    "  --retry SECS     after a lost connection, reconnect with backoff for up to SECS\n"
    "                   without progress (default 60), re-sending what was not\n"
    "                   acknowledged; a re-sent event that was stored counts as duplicate\n"
    "\n"
    "On a terminal a progress bar (rows, rows/s, ETA) is drawn on stderr.\n"
    "Exit 0 when nothing was rejected, 1 when some rows were, 2 when the server cannot\n"
    "be reached (or authentication fails, or reconnecting gave up) or the file cannot be\n"
    "read or used as it is (no header, no type or id column, a bsn column without\n"
    "--pseudo-key).\n"
    "\nGlobal options (--host, --port, --token, ...) are accepted too; see "
    "'werkmonitor --help'.\n";

enum { OPT_FORMAT = 1, OPT_PSEUDO_KEY, OPT_REJECTS, OPT_WINDOW, OPT_RETRY };

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

int imp_opts_parse(struct imp_opts *o, const struct cli_args *a)
{
    long n;

    memset(o, 0, sizeof(*o));
    o->window = IMP_DEFAULT_WINDOW;
    o->retry_s = IMP_DEFAULT_RETRY_S;
    for (size_t i = 0; i < a->nopts; i++) {
        const char *v = a->opts[i].value;

        switch (a->opts[i].id) {
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
        }
    }
    if (o->format != NULL && strcmp(o->format, "csv") != 0 && strcmp(o->format, "ndjson") != 0)
        return cli_usage_error("import", "--format is csv or ndjson, not '%s'", o->format);
    if (a->npos != 1)
        return cli_usage_error("import", a->npos == 0 ? "missing FILE (or - for stdin)"
                                                      : "give exactly one FILE (or -)");
    o->path = a->pos[0];
    return -1;
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

/* The pseudonym key and the rejects file, when asked for. Returns -1, or the exit code
 * after saying why not. */
static int open_aids(struct imp *im, const struct imp_opts *o)
{
    char why[512];
    int rc;

    if (o->keyfile != NULL) {
        rc = cli_key_load(&im->key, o->keyfile, why, sizeof(why));
        if (rc != WM_OK) {
            fprintf(stderr, "werkmonitor import: %s\n", rc == WM_ENOMEM ? "out of memory" : why);
            return CLI_EXIT_CONN;
        }
        im->have_key = 1;
    }
    if (o->rejects != NULL) {
        im->rejects = fopen(o->rejects, "w");
        if (im->rejects == NULL) {
            fprintf(stderr, "werkmonitor import: cannot write rejects file %s: %s\n", o->rejects,
                    strerror(errno));
            im->rejects = stderr;
            return CLI_EXIT_CONN;
        }
        im->rejects_owned = 1;
    }
    return -1;
}

/* Everything before the first row: the input, the key, the rejects file, the window,
 * the format. Returns -1, or the exit code after saying why not. */
static int import_open(struct imp *im, const struct imp_opts *o)
{
    int ex;

    if ((ex = open_file(im, o->path)) >= 0 || (ex = open_aids(im, o)) >= 0)
        return ex;
    im->retry_s = o->retry_s;
    if (imp_window_init(&im->win, o->window) != WM_OK) {
        fprintf(stderr, "werkmonitor: out of memory\n");
        return CLI_EXIT_CONN;
    }
    im->in.lineno = 1;
    im->in.first_chunk = 1;
    if (imp_input_sniff(im, o->format) != WM_OK) {
        fprintf(stderr, "werkmonitor import: %s\n", im->fatal_msg);
        return CLI_EXIT_CONN;
    }
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
    printf("stored %lu, duplicates %lu, rejected %lu\n", im->stored, im->dups, im->rejected);
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

/* Release everything; a failure to write the rejects file turns success into exit 2. */
static int import_close(struct imp *im, const struct imp_opts *o, int ex)
{
    if (im->connected)
        cli_conn_close(&im->conn);
    if (im->rejects_owned && fclose(im->rejects) != 0 && ex == CLI_EXIT_OK) {
        fprintf(stderr, "werkmonitor import: cannot write rejects file %s\n", o->rejects);
        ex = CLI_EXIT_CONN;
    }
    imp_window_free(&im->win);
    imp_csv_free(im);
    free(im->in.buf);
    cli_key_free(&im->key);
    if (im->in.fd > STDIN_FILENO)
        close(im->in.fd);
    return ex;
}

int cli_import_read(int fd, int ndjson, struct cli_key *key, cli_import_row_fn row, void *arg,
                    char *err, size_t errlen)
{
    struct imp im;
    int rc;

    memset(&im, 0, sizeof(im));
    im.in.fd = fd;
    im.in.path = "the input";
    im.in.ndjson = ndjson;
    im.in.lineno = 1;
    im.in.first_chunk = 1;
    if (key != NULL) {
        im.key = *key; /* borrowed: never freed here */
        im.have_key = 1;
    }
    rc = imp_window_init(&im.win, 1024);
    while (rc == WM_OK) {
        rc = imp_produce(&im);
        /* every row produced goes to row(), in order; none waits for an answer */
        for (; im.win.head < im.win.tail; im.win.head++) {
            const struct imp_slot *s = &im.win.ring[im.win.head % im.win.cap];
            row(arg, s->lineno, s->req.data != NULL ? s->req.data : "", s->req.len, s->local);
        }
        im.win.sent = im.win.head;
        if (rc != WM_OK || imp_input_done(&im))
            break;
    }
    if (rc != WM_OK)
        snprintf(err, errlen, "%s", im.fatal_msg[0] ? im.fatal_msg : wm_strerror(rc));
    imp_window_free(&im.win);
    imp_csv_free(&im);
    free(im.in.buf);
    return rc;
}

int cli_cmd_import(struct cli_config *cfg, int argc, char **argv)
{
    static const struct cli_optdef defs[] = {
        {"format", 0, 1, OPT_FORMAT},   {"pseudo-key", 0, 1, OPT_PSEUDO_KEY},
        {"rejects", 0, 1, OPT_REJECTS}, {"window", 0, 1, OPT_WINDOW},
        {"retry", 0, 1, OPT_RETRY},
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
        cli_args_free(&a);
        return ex;
    }
    memset(&im, 0, sizeof(im));
    im.cfg = cfg;
    im.in.fd = -1;
    im.rejects = stderr;
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
    cli_args_free(&a);
    return ex;
}
