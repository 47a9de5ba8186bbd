/*
 * client: werkmonitor, the command-line client of werkmonitord (PROTOCOL.md).
 * This one header covers the module's parts: command-line parsing (args.c), the
 * connection (net.c), responses and their output as table/CSV/JSON (reply.c,
 * output.c), tokens and pseudonyms (secure.c), what the subcommands share (command.c)
 * and the subcommands (cmd_*.c, import*.c, bench*.c). Functions return WM_OK or a
 * negative enum wm_err of proto.h unless said.
 */
#ifndef WM_CLIENT_H
#define WM_CLIENT_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "proto.h"

/* ------------------------------------------------------------------------- */
/* Exit status and global configuration.                                      */
/* ------------------------------------------------------------------------- */

/* Process exit codes of werkmonitor, documented in `werkmonitor --help`. */
enum cli_exit {
    CLI_EXIT_OK = 0,     /* success */
    CLI_EXIT_ERR = 1,    /* the server answered ERR, a row was rejected, or input refused */
    CLI_EXIT_CONN = 2,   /* cannot connect, authenticate, or read/write a needed file */
    CLI_EXIT_USAGE = 64, /* bad command line (as sysexits' EX_USAGE) */
};

/* Options shared by every subcommand: where and how to connect. */
struct cli_config {
    const char *host;           /* --host, WERKMONITOR_HOST, default 127.0.0.1; borrowed */
    const char *port;           /* --port, WERKMONITOR_PORT, default 7878; borrowed */
    char *token;                /* resolved token (--token, --token-file, env) or NULL; owned */
    const char *token_opt;      /* --token as given, or NULL; borrowed */
    const char *token_file;     /* --token-file as given, or NULL; borrowed */
    int tls;                    /* --tls */
    const char *ca;             /* --ca FILE or NULL (system trust store); borrowed */
    int timeout_ms;             /* --timeout (connect and each response), 0 = none */
    int stdout_tty, stderr_tty; /* isatty of 1 and 2 */
    int color;                  /* colour on stdout: a TTY and NO_COLOR unset */
};

/* ------------------------------------------------------------------------- */
/* Command-line parsing (args.c).                                             */
/* ------------------------------------------------------------------------- */

/* One option a command accepts. Global options (--host, ...) are accepted by every
 * command in addition to its own; cli_args_parse handles them itself. */
struct cli_optdef {
    const char *name; /* long name without "--" */
    char short_name;  /* single-letter alias, or 0 */
    int has_arg;      /* 1: takes a value (--name VALUE or --name=VALUE) */
    int id;           /* returned to the caller */
};

/* A parsed option of a command. */
struct cli_opt {
    int id;
    const char *value; /* borrowed from argv; NULL for flags */
};

/* The result of parsing a command's arguments. */
struct cli_args {
    struct cli_opt *opts; /* in command-line order; owned */
    size_t nopts;
    const char **pos; /* positional arguments in order; owned array, borrowed strings */
    size_t npos;
    int help; /* -h/--help was given */
};

/* Option ids of the global options, used by cli_args_parse when it meets them. */
enum {
    CLI_GOPT_HOST = 1000,
    CLI_GOPT_PORT,
    CLI_GOPT_TOKEN,
    CLI_GOPT_TOKEN_FILE,
    CLI_GOPT_TLS,
    CLI_GOPT_CA,
    CLI_GOPT_TIMEOUT,
};

/*
 * Parse argv[0..argc) of a command ("send", ...): its own options defs[0..ndefs),
 * the global options (applied to cfg at once) and -h/--help; everything else is
 * positional; "--" ends the options. Options may appear anywhere among the
 * positional arguments. On a usage error prints "werkmonitor <cmd>: <problem>" to
 * stderr and returns WM_ECONFIG. Returns WM_OK, WM_ECONFIG or WM_ENOMEM. Release
 * with cli_args_free.
 */
int cli_args_parse(struct cli_args *a, const char *cmd, int argc, char **argv,
                   const struct cli_optdef *defs, size_t ndefs, struct cli_config *cfg);

/* Free what cli_args_parse allocated. */
void cli_args_free(struct cli_args *a);

/*
 * The start of every command: cli_args_parse, then -h/--help answered by printing help
 * on stdout. Returns -1 when the command goes on (a to be freed by it), else the exit
 * code to return with a already freed: CLI_EXIT_USAGE after a usage error (reported),
 * CLI_EXIT_OK after the help.
 */
int cli_args_begin(struct cli_args *a, const char *cmd, int argc, char **argv,
                   const struct cli_optdef *defs, size_t ndefs, struct cli_config *cfg,
                   const char *help);

/* Print "werkmonitor <cmd>: <fmt...>\n" to stderr and the hint to see --help.
 * Returns CLI_EXIT_USAGE, for `return cli_usage_error(...)`. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Complete cfg after parsing: the environment for what was not given on the command
 * line (WERKMONITOR_HOST, WERKMONITOR_PORT, WERKMONITOR_TOKEN), the token file read,
 * defaults applied. Returns WM_OK, or WM_ECONFIG after printing why (unreadable token
 * file, bad port).
 */
int cli_config_finish(struct cli_config *cfg);

/* ------------------------------------------------------------------------- */
/* The connection (net.c).                                                    */
/* ------------------------------------------------------------------------- */

/*
 * One connection to the daemon, plain TCP or TLS. The socket is non-blocking: bytes
 * are queued with cli_conn_queue and moved by cli_conn_io, which also reads whatever
 * the server sent; complete lines are taken with cli_conn_line. Blocking helpers are
 * built on top for simple request/response commands.
 */
struct cli_conn {
    int fd; /* -1 when closed */
    SSL_CTX *ssl_ctx;
    SSL *ssl;
    int ssl_want_write; /* the last SSL call needs the socket writable */
    int eof;            /* the server closed its side */
    char *in;           /* received bytes; unconsumed in [in_start, in_end) */
    size_t in_start, in_end, in_cap, in_scan;
    struct wm_buf out; /* queued bytes; unsent from out_pos */
    size_t out_pos;
    const struct cli_config *cfg;
    char peer[300]; /* "host:port" for messages */
    char err[512];  /* the last error, for messages */
};

/*
 * Connect to cfg's host and port (every address of the name in turn, IPv4 and IPv6,
 * cfg->timeout_ms each), do the TLS handshake with certificate and name verification
 * when cfg->tls, and authenticate with AUTH when cfg->token is set. c is initialised
 * here. Returns WM_OK; WM_ECONNECT (c->err says why: refused, timeout, TLS
 * verification...), WM_EAUTH_FAILED (c->err holds the server's ERR line), WM_ENOMEM.
 * After a failure c is closed; cli_conn_close is still safe.
 */
int cli_conn_open(struct cli_conn *c, const struct cli_config *cfg);

/* Close the connection and free its buffers. Safe on a closed or failed connection. */
void cli_conn_close(struct cli_conn *c);

/* Queue n bytes for sending (sent by cli_conn_io). Returns WM_OK or WM_ENOMEM. */
int cli_conn_queue(struct cli_conn *c, const void *p, size_t n);

/* Bytes queued and not yet written to the socket. */
size_t cli_conn_pending(const struct cli_conn *c);

/*
 * Wait up to timeout_ms (-1: no limit) until the socket (or extra, when not NULL) is
 * ready, then write what can be written and read what has arrived. extra->revents is
 * set. Returns WM_OK (possibly with nothing done on a timeout), WM_ECLOSED when the
 * server has closed (c->eof; lines already received stay readable), WM_EIO on a
 * socket or TLS error (c->err), WM_EPROTOCOL when the server sends a line longer than
 * 1 MiB, WM_ENOMEM.
 */
int cli_conn_io(struct cli_conn *c, int timeout_ms, struct pollfd *extra);

/*
 * Take the next complete line received, without its LF (and CR). Returns 1 and sets
 * *line (NUL-terminated, borrowed until the next cli_conn_io or cli_conn_close) and
 * *len, or 0 when no complete line is buffered.
 */
int cli_conn_line(struct cli_conn *c, char **line, size_t *len);

/* Send everything queued, waiting at most cfg->timeout_ms. Returns as cli_conn_io,
 * or WM_EIO on a timeout. */
int cli_conn_flush(struct cli_conn *c);

/* Wait for the next line (flushing queued output meanwhile), at most timeout_ms (-1:
 * no limit). Returns WM_OK with *line as cli_conn_line, WM_ECLOSED, WM_EIO (also on a
 * timeout, c->err says so), WM_EPROTOCOL, WM_ENOMEM. */
int cli_conn_read_line(struct cli_conn *c, int timeout_ms, char **line, size_t *len);

/* ------------------------------------------------------------------------- */
/* Responses (reply.c).                                                       */
/* ------------------------------------------------------------------------- */

/* One response: a status line (OK/DUP/PONG/ERR/END ...) and, for a block, its ROW
 * payloads (the text after "ROW "). Everything owned. */
struct cli_reply {
    char *line;  /* the single line, or "END <n>" of a block */
    char **rows; /* ROW payloads, still escaped */
    size_t nrows, cap;
};

/* Release a reply's memory and reinitialise it (a zeroed reply is valid). */
void cli_reply_free(struct cli_reply *r);

/* 1 when the reply is an ERR line. */
int cli_reply_is_err(const struct cli_reply *r);

/*
 * Send one request line (without LF; the caller escaped its values) and read its
 * complete response into r (freed first). Returns WM_OK (whatever the server
 * answered: check r->line), WM_ECLOSED, WM_EIO, WM_EPROTOCOL (a block whose END count
 * does not match), WM_ENOMEM.
 */
int cli_request(struct cli_conn *c, const char *req, struct cli_reply *r);

/* Rows decoded into columns: the union of the keys of every row in order of first
 * appearance. cells[row * ncols + col] is the decoded value or NULL when the row has
 * no such key. Everything owned. */
struct cli_table {
    size_t ncols, nrows;
    char **cols;
    char **cells;
};

/*
 * Build a table from ROW payloads: split on spaces into key=value pairs and decode
 * the %XX escapes of each value. A value that does not decode is kept as received.
 * Returns WM_OK, WM_EPROTOCOL (a token without '='), WM_ENOMEM.
 */
int cli_table_build(struct cli_table *t, char *const *rows, size_t nrows);

/* Free a table (a zeroed table is valid). */
void cli_table_free(struct cli_table *t);

/* ------------------------------------------------------------------------- */
/* Output (output.c).                                                         */
/* ------------------------------------------------------------------------- */

enum cli_format { CLI_FMT_TABLE = 0, CLI_FMT_CSV, CLI_FMT_JSON };

/* Parse a --format value for tabular output: "table", "csv", "json". Returns WM_OK or
 * WM_ECONFIG. */
int cli_format_parse(const char *s, enum cli_format *f);

/* How a table is printed. */
struct cli_output {
    enum cli_format fmt;
    struct wm_csv_opts csv; /* CLI_FMT_CSV: separator, BOM, Excel's formula guard */
    int by_content;         /* STATS: any value of digits is a number (JSON) */
};

/*
 * Print a table: CLI_FMT_TABLE aligns the columns under a header (numbers right
 * aligned; a "status" column coloured when color is set; "(no rows)" when empty);
 * CLI_FMT_CSV and CLI_FMT_JSON are proto's formatter, as the HTTP API writes them: a
 * header row and RFC 4180 records (o->csv), or an array of objects, a row a line, with
 * numbers as JSON numbers and "-" as null. Returns WM_OK, WM_EIO (write error),
 * WM_ENOMEM, WM_EPROTOCOL (more columns than a table holds).
 */
int cli_table_print(FILE *out, const struct cli_table *t, const struct cli_output *o, int color);

/* Number of terminal columns a UTF-8 string takes (code points; no wide chars). */
size_t cli_text_width(const char *s);

/* ------------------------------------------------------------------------- */
/* Tokens, keys and pseudonyms (secure.c).                                    */
/* ------------------------------------------------------------------------- */

#define CLI_KEY_MIN 32        /* bytes of a pseudonym key, at least */
#define CLI_KEY_MAX (1 << 20) /* bytes read of a key file, at most */
#define CLI_PSEUDONYM_LEN 64  /* hex characters of a pseudonym */
#define CLI_TOKEN_BYTES 32    /* random bytes of a new token */

/* A loaded pseudonym key, with an HMAC context keyed once so that a pseudonym per
 * row of an import costs one hash, not a fresh OpenSSL set-up. */
struct cli_key {
    unsigned char *bytes; /* owned; wiped on free */
    size_t len;
    EVP_MAC *mac;         /* owned */
    EVP_MAC_CTX *mac_ctx; /* owned; keyed with bytes */
};

/*
 * Check a BSN with the eleven-test: exactly 9 ASCII digits, sum of digit_i * weight
 * (weights 9,8,7,6,5,4,3,2,-1) divisible by 11, not all zero. Returns WM_OK or
 * WM_EINVALID with why in err (never containing the BSN itself).
 */
int cli_bsn_check(const char *bsn, char *err, size_t errlen);

/* The protocol's BSN rule over a request line (len bytes, no LF) before it is sent:
 * proto_line_check. Returns WM_OK, or WM_EINVALID with why (never the value); WM_ENOMEM
 * counts as WM_OK (the server checks again). */
int cli_line_check(const char *line, size_t len, char *why, size_t whylen);

/*
 * Load a pseudonym key file: a regular file of at least CLI_KEY_MIN bytes with no
 * permission for group or others. Returns WM_OK, WM_ECONFIG (with why in err:
 * missing, too short, too open), WM_EIO, WM_ENOMEM. Free with cli_key_free.
 */
int cli_key_load(struct cli_key *k, const char *path, char *err, size_t errlen);

/* Wipe and free a key (a zeroed key is valid). */
void cli_key_free(struct cli_key *k);

/*
 * The pseudonym of a BSN: lowercase hex of HMAC-SHA256(key bytes, BSN as given),
 * written to out (CLI_PSEUDONYM_LEN + 1 bytes). The caller has checked the BSN. Uses
 * (and so changes) k's HMAC context: one thread per key. Returns WM_OK or
 * WM_EINTERNAL (OpenSSL failure).
 */
int cli_pseudonym(struct cli_key *k, const char *bsn, char out[CLI_PSEUDONYM_LEN + 1]);

/* Write CLI_KEY_MIN random bytes to a new file path with mode 0600; an existing file
 * is never overwritten. Returns WM_OK, WM_ECONFIG (exists), WM_EIO, WM_EINTERNAL (no
 * randomness); err says why. */
int cli_keygen(const char *path, char *err, size_t errlen);

/* A new token: CLI_TOKEN_BYTES random bytes as lowercase hex into out (2 *
 * CLI_TOKEN_BYTES + 1 bytes). Returns WM_OK or WM_EINTERNAL. */
int cli_token_new(char out[2 * CLI_TOKEN_BYTES + 1]);

/* Lowercase hex SHA-256 of s into out (65 bytes). Returns WM_OK or WM_EINTERNAL. */
int cli_sha256_hex(const char *s, size_t n, char out[65]);

/* ------------------------------------------------------------------------- */
/* What the subcommands share (command.c).                                     */
/* ------------------------------------------------------------------------- */

/*
 * Start a command that talks to the server: cli_args_begin with help (followed by a
 * note on the global options), then cli_config_finish. Returns -1 to go on (a to be freed by the
 * caller), else the exit code to return (a freed).
 */
int cli_cmd_begin(struct cli_args *a, struct cli_config *cfg, const char *cmd, int argc,
                  char **argv, const struct cli_optdef *defs, size_t ndefs, const char *help);

/* Check that a's first positional argument is an event type (started, completed,
 * placed, outflow). Returns -1 when it is, else CLI_EXIT_USAGE (reported as from cmd). */
int cli_type_arg(const char *cmd, const struct cli_args *a);

/*
 * Append " key=<escaped value>" for a command-line word "key=value" (the value as the
 * user typed it). A word without '=' or with a key outside [a-z0-9._-] is a usage
 * error, reported as from command cmd. Returns WM_OK, WM_ECONFIG, WM_ENOMEM.
 */
int cli_append_kv(struct wm_buf *b, const char *cmd, const char *arg);

/* Print a failed connection to stderr ("werkmonitor: cannot connect to H:P: why")
 * and return CLI_EXIT_CONN. */
int cli_report_conn_error(const struct cli_conn *c, int err);

/* Open a connection or report why not; returns WM_OK or CLI_EXIT_CONN (already
 * reported). */
int cli_connect_or_report(struct cli_conn *c, const struct cli_config *cfg);

/* Print a connection that failed during a request (rc from cli_request or
 * cli_conn_read_line) to stderr and return CLI_EXIT_CONN. */
int cli_report_lost(const struct cli_conn *c, int rc);

/*
 * Connect, send req (a request line without LF; NULL means building it ran out of
 * memory) and read its answer into r (zeroed by the caller). Returns -1 when r holds
 * an answer other than ERR: c is open and the caller releases r and c. Else the exit
 * code, with the ERR line (stderr) or the failure reported and r and c released.
 */
int cli_ask(struct cli_config *cfg, const char *req, struct cli_conn *c, struct cli_reply *r);

/* Send the request built in req and print its single-line answer: OK/DUP/PONG on
 * stdout (exit 0), ERR on stderr (exit 1), a failure as CLI_EXIT_CONN. */
int cli_run_line(struct cli_config *cfg, struct wm_buf *req);

/* Send the request built in req, whose answer is a block of rows, and print the rows
 * with cli_table_print as o says. Returns the exit code as cli_run_line. */
int cli_run_table(struct cli_config *cfg, struct wm_buf *req, const struct cli_output *o);

/* ------------------------------------------------------------------------- */
/* Subcommands. Each takes the arguments after the command name and returns an   */
/* exit code (enum cli_exit).                                                  */
/* ------------------------------------------------------------------------- */

/* ping: PING, print PONG (cmd_query.c). */
int cli_cmd_ping(struct cli_config *cfg, int argc, char **argv);
/* send <type> key=value... [--bsn B --pseudo-key F]: one EVENT; OK/DUP on stdout
 * (cmd_write.c). */
int cli_cmd_send(struct cli_config *cfg, int argc, char **argv);
/* retract id= ref=|seq= [reason=]: one RETRACT (cmd_write.c). */
int cli_cmd_retract(struct cli_config *cfg, int argc, char **argv);
/* projects [--format]: the registry as a table (cmd_query.c). */
int cli_cmd_projects(struct cli_config *cfg, int argc, char **argv);
/* count <type> [key=value...] [--format]: COUNT as a table (cmd_query.c). */
int cli_cmd_count(struct cli_config *cfg, int argc, char **argv);
/* progress [asof= category= project=] [--format]: PROGRESS, status coloured on a TTY
 * (cmd_query.c). */
int cli_cmd_progress(struct cli_config *cfg, int argc, char **argv);
/* stats [--format]: STATS as a table (cmd_query.c). */
int cli_cmd_stats(struct cli_config *cfg, int argc, char **argv);
/* watch [--format text|json] [-n N]: WATCH, one line per TOTAL push (cmd_watch.c). */
int cli_cmd_watch(struct cli_config *cfg, int argc, char **argv);
/* raw: protocol lines from stdin, answers to stdout, pipelined (cmd_raw.c). */
int cli_cmd_raw(struct cli_config *cfg, int argc, char **argv);
/* token new <principal> <role> [gemeente=]: a token and its tokens-file line (cmd_keys.c). */
int cli_cmd_token(struct cli_config *cfg, int argc, char **argv);
/* pseudonym --pseudo-key F <BSN>|-: print pseudonyms (cmd_keys.c). */
int cli_cmd_pseudonym(struct cli_config *cfg, int argc, char **argv);
/* keygen FILE: a new pseudonym key, mode 0600 (cmd_keys.c). */
int cli_cmd_keygen(struct cli_config *cfg, int argc, char **argv);
/* show id=<id>|seq=<n> [--format]: SHOW, every version of one event (cmd_show.c). */
int cli_cmd_show(struct cli_config *cfg, int argc, char **argv);
/* import [options] FILE|-: stream CSV/NDJSON events with a window and reconnects
 * (import.c). */
int cli_cmd_import(struct cli_config *cfg, int argc, char **argv);

/* One row of an import file as `werkmonitor import` would send it: line is the request
 * "EVENT ...\n" (local 0), or the client's own refusal "ERR invalid ..." (every error of
 * the row, joined by "; ") that is never sent (local 1, no newline). lineno is the line where the
 * row starts. line is borrowed for the call only. */
typedef void (*cli_import_row_fn)(void *arg, long lineno, const char *line, size_t len, int local);

/*
 * Read the events of fd, CSV (ndjson 0) or NDJSON (ndjson 1), exactly as import reads
 * them, without a server: row() gets every row in order. key is the pseudonym key for
 * a bsn column (borrowed; NULL: a bsn column is refused). For tests and the fuzz
 * target. Returns WM_OK at the end of the input, or the error that ends an import with
 * err saying why: WM_EIO (cannot read fd; no header; a record that never ends),
 * WM_ECONFIG (an unknown column; no type or id column; a bsn column without a key; a
 * line that is not UTF-8), WM_ENOMEM.
 */
int cli_import_read(int fd, int ndjson, struct cli_key *key, cli_import_row_fn row, void *arg,
                    char *err, size_t errlen);
/* bench -c -n -P [--seed] [--no-setup]: the load generator (bench.c). */
int cli_cmd_bench(struct cli_config *cfg, int argc, char **argv);
/* `werkmonitor note`: a note (NOTE) from a Markdown file (cmd_report.c). */
int cli_cmd_note(struct cli_config *cfg, int argc, char **argv);
/* `werkmonitor report`: the monitor as one self-contained HTML file (cmd_report.c). */
int cli_cmd_report(struct cli_config *cfg, int argc, char **argv);

/* Monotonic time in microseconds. */
int64_t cli_now_us(void);

#endif /* WM_CLIENT_H */
