/*
 * werkmonitor raw: protocol lines from stdin, responses to stdout, pipelined. One poll
 * loop reads stdin and the socket together, so requests go out while answers come
 * back; it counts the answers it is owed and ends after the last one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "client.h"

#define RAW_OUT_HIGH (4 * 1024 * 1024) /* stop reading stdin while this much is unsent */
#define RAW_STDIN_CHUNK (64 * 1024)

static const char raw_help[] =
    "Usage: werkmonitor raw < FILE\n"
    "\n"
    "Send protocol lines from stdin as they are (PROTOCOL.md: EVENT, COUNT, PROJECT, ...)\n"
    "and print every response line to stdout. Requests are pipelined: lines are sent\n"
    "while answers arrive, and raw ends after the answer to the last line (empty lines\n"
    "get none). After QUIT nothing more is sent. After an accepted WATCH the pushed\n"
    "TOTAL lines are printed until the server closes the connection.\n"
    "A line holding a BSN (PROTOCOL.md section 4) is not sent and gets no answer; it is\n"
    "reported on stderr.\n"
    "Exit 0 when no answer was an ERR, 1 when one was (or a line was not sent), 2 when\n"
    "the connection failed\n"
    "or closed before every answer arrived.\n"
    "\n"
    "Example: werkmonitor raw < registry.wm\n";

/* Where raw is in its conversation. */
struct raw_state {
    unsigned long owed;     /* requests sent and not yet fully answered */
    unsigned long watch_at; /* when > 0: the answer number that is the WATCH's */
    unsigned long answered; /* complete answers received */
    int in_block;           /* inside ROW ... END */
    int watching;           /* WATCH accepted: print pushes until the server closes */
    int quit_sent;          /* QUIT sent: send nothing more */
    int stdin_eof;
    int any_err;
};

/* Bytes read from stdin and not yet sent: whole lines go out, a partial one waits. */
struct raw_input {
    char *data;
    size_t len, cap;
};

/* The verb of a line (first token), uppercased into out. */
static void line_verb(const char *s, size_t n, char out[16])
{
    size_t i = 0, j = 0;

    while (i < n && s[i] == ' ')
        i++;
    while (i < n && s[i] != ' ' && j < 15)
        out[j++] = s[i++];
    out[j] = '\0';
    for (j = 0; out[j] != '\0'; j++)
        if (out[j] >= 'a' && out[j] <= 'z')
            out[j] = (char)(out[j] - 'a' + 'A');
}

/* Queue the complete lines of the stdin buffer; keeps a partial last line. */
static int queue_lines(struct cli_conn *c, struct raw_state *st, struct raw_input *in, int at_eof)
{
    size_t pos = 0;
    int rc = WM_OK;

    while (pos < in->len && !st->quit_sent) {
        char *start = in->data + pos;
        char *nl = memchr(start, '\n', in->len - pos);
        size_t n, content;
        char verb[16], why[256];

        if (nl == NULL && !at_eof)
            break;
        n = nl != NULL ? (size_t)(nl - start) : in->len - pos;
        pos += n + (nl != NULL ? 1 : 0);
        content = n;
        if (content > 0 && start[content - 1] == '\r')
            content--;
        /* an empty line, or one of only spaces, gets no answer (PROTOCOL.md 1) */
        {
            size_t k = 0;

            while (k < content && start[k] == ' ')
                k++;
            if (k == content)
                continue;
        }
        /* the server would refuse it, but a BSN must not leave this machine at all */
        if (cli_line_check(start, content, why, sizeof(why)) != WM_OK) {
            fprintf(stderr, "werkmonitor raw: line not sent (it gets no answer): %s\n", why);
            st->any_err = 1;
            continue;
        }
        rc = cli_conn_queue(c, start, content);
        if (rc == WM_OK)
            rc = cli_conn_queue(c, "\n", 1);
        if (rc != WM_OK)
            break;
        st->owed++;
        line_verb(start, content, verb);
        if (strcmp(verb, "QUIT") == 0)
            st->quit_sent = 1;
        else if (strcmp(verb, "WATCH") == 0 && st->watch_at == 0)
            st->watch_at = st->answered + st->owed;
    }
    if (pos > 0) {
        memmove(in->data, in->data + pos, in->len - pos);
        in->len -= pos;
    }
    return rc;
}

/* Handle one line from the server. */
static void take_line(struct raw_state *st, const char *line)
{
    fputs(line, stdout);
    fputc('\n', stdout);
    if (st->watching)
        return; /* pushes: not answers */
    if (strncmp(line, "ROW ", 4) == 0 || strcmp(line, "ROW") == 0) {
        st->in_block = 1;
        return;
    }
    if (strncmp(line, "ERR", 3) == 0 && (line[3] == ' ' || line[3] == '\0'))
        st->any_err = 1;
    st->in_block = 0;
    if (st->owed > 0)
        st->owed--;
    st->answered++;
    if (st->watch_at != 0 && st->answered == st->watch_at) {
        if (strncmp(line, "OK", 2) == 0)
            st->watching = 1;
        else
            st->watch_at = 0;
    }
}

/* stdin is readable: read what is there and queue its complete lines. Returns -1 to
 * go on, else the exit code (reported). */
static int read_stdin(struct cli_conn *c, struct raw_state *st, struct raw_input *in)
{
    ssize_t r;

    if (in->cap - in->len < RAW_STDIN_CHUNK) {
        char *n = realloc(in->data, in->cap * 2 + RAW_STDIN_CHUNK);

        if (n == NULL) {
            fprintf(stderr, "werkmonitor: out of memory\n");
            return CLI_EXIT_CONN;
        }
        in->data = n;
        in->cap = in->cap * 2 + RAW_STDIN_CHUNK;
    }
    r = read(STDIN_FILENO, in->data + in->len, in->cap - in->len);
    if (r < 0 && errno != EINTR && errno != EAGAIN) {
        fprintf(stderr, "werkmonitor: cannot read stdin: %s\n", strerror(errno));
        return CLI_EXIT_CONN;
    }
    if (r == 0)
        st->stdin_eof = 1;
    if (r > 0)
        in->len += (size_t)r;
    if (queue_lines(c, st, in, st->stdin_eof) != WM_OK) {
        fprintf(stderr, "werkmonitor: out of memory\n");
        return CLI_EXIT_CONN;
    }
    return -1;
}

/* The conversation: stdin and the socket in one poll loop, until every answer owed
 * has come (or, after WATCH, the server closes). Returns the exit code. */
static int raw_run(struct cli_conn *c)
{
    struct raw_state st;
    struct raw_input in = {0};
    int ex = -1;

    memset(&st, 0, sizeof(st));
    while (ex < 0) {
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        int want_stdin = !st.stdin_eof && !st.quit_sent && cli_conn_pending(c) < RAW_OUT_HIGH;
        char *line;
        size_t len;
        int rc;

        while (cli_conn_line(c, &line, &len))
            take_line(&st, line);
        if (!st.watching && st.owed == 0 && (st.stdin_eof || st.quit_sent))
            break;
        if (c->eof) {
            if (!st.watching && st.owed > 0) {
                fprintf(stderr,
                        "werkmonitor: connection to %s closed with %lu answer%s "
                        "missing\n",
                        c->peer, st.owed, st.owed == 1 ? "" : "s");
                ex = CLI_EXIT_CONN;
            }
            break;
        }
        /* the lines printed so far must reach a person or a pipe before we wait */
        fflush(stdout);
        rc = cli_conn_io(c, -1, want_stdin ? &p : NULL);
        if (rc == WM_ECLOSED)
            continue;
        if (rc != WM_OK) {
            fprintf(stderr, "werkmonitor: connection to %s failed: %s\n", c->peer, c->err);
            ex = CLI_EXIT_CONN;
        } else if (want_stdin && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
            ex = read_stdin(c, &st, &in);
        }
    }
    fflush(stdout);
    free(in.data);
    if (ex < 0)
        ex = st.any_err ? CLI_EXIT_ERR : CLI_EXIT_OK;
    return ex;
}

int cli_cmd_raw(struct cli_config *cfg, int argc, char **argv)
{
    struct cli_args a;
    struct cli_conn c;
    int ex;

    if ((ex = cli_args_begin(&a, "raw", argc, argv, NULL, 0, cfg, raw_help)) >= 0)
        return ex;
    if (a.npos > 0) {
        ex = cli_usage_error("raw", "unexpected argument '%s' (raw reads stdin)", a.pos[0]);
        cli_args_free(&a);
        return ex;
    }
    cli_args_free(&a);
    if (cli_config_finish(cfg) != WM_OK)
        return CLI_EXIT_USAGE;
    if (cli_connect_or_report(&c, cfg) != WM_OK)
        return CLI_EXIT_CONN;
    ex = raw_run(&c);
    cli_conn_close(&c);
    return ex;
}
