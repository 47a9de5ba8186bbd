/*
 * The inside of `werkmonitor import`, shared by its files only. In reading order:
 * import.c the command (options, open the input, run, report); import_input.c bytes
 * of the file into lines; import_csv.c and import_ndjson.c, the readers, a record into
 * named values; import_row.c named values into one EVENT line (or the row's reject);
 * import_window.c the rows in flight and their answers; import_progress.c the bar.
 *
 * A row flows: input line -> reader -> imp_row_* -> a slot of the window -> sent ->
 * answered. Functions return WM_OK or a negative enum wm_err unless said; an error
 * that ends the import is kept in imp.fatal with its message in imp.fatal_msg.
 */
#ifndef WM_CLIENT_IMPORT_INT_H
#define WM_CLIENT_IMPORT_INT_H

#include <stdint.h>
#include <stdio.h>

#include <csv.h>

#include "client.h"

#define IMP_CHUNK (256 * 1024)            /* bytes read from the input at a time */
#define IMP_DEFAULT_WINDOW 8192           /* --window */
#define IMP_MAX_WINDOW 1000000            /* --window at most */
#define IMP_SEND_HIGH (1024 * 1024)       /* stop producing while this much is unsent */
#define IMP_MAX_RECORD (16 * 1024 * 1024) /* a record this large means a quote never closed */
#define IMP_DEFAULT_RETRY_S 60            /* --retry */
#define IMP_MAX_RETRY_S 86400             /* --retry at most */

/* ---- options (import.c) ------------------------------------------------- */

/* The command line of import, parsed and checked; strings borrowed from argv. */
struct imp_opts {
    const char *format;  /* "csv", "ndjson" or NULL (guess) */
    const char *keyfile; /* --pseudo-key or NULL */
    const char *rejects; /* --rejects or NULL (stderr) */
    size_t window;       /* --window */
    int retry_s;         /* --retry */
    const char *path;    /* FILE, or "-" for stdin */
};

/*
 * Parse import's options and its one FILE argument from a (no I/O but messages):
 * defaults first, then each option checked. Returns -1 when o is complete, else
 * CLI_EXIT_USAGE after reporting the usage error.
 */
int imp_opts_parse(struct imp_opts *o, const struct cli_args *a);

/* ---- state -------------------------------------------------------------- */

/* One row on its way: its request line, or the client's own reason to reject it. */
struct imp_slot {
    long lineno;       /* where the row's record starts in the input, 1-based */
    uint64_t end_off;  /* input bytes up to the end of this row, for the progress bar */
    int local;         /* 1: rejected by the client; req holds the ERR line */
    struct wm_buf req; /* "EVENT ...\n", or "ERR ..." when local */
};

/* The rows in flight (import_window.c): a ring whose counters grow forever, index =
 * counter % cap. [head, sent) is written on this connection and awaits its answers,
 * [sent, tail) is produced and not sent yet. */
struct imp_window {
    struct imp_slot *ring;
    size_t cap;
    unsigned long head, sent, tail;
    size_t max; /* --window: rows produced and unanswered, at most */
};

/* The input (import_input.c): a buffer of bytes read, consumed line by line. */
struct imp_input {
    int fd;
    const char *path; /* for messages; "stdin" for - */
    int ndjson;       /* the format: 1 NDJSON, 0 CSV */
    int eof;
    char *buf;
    size_t start, len, cap; /* unconsumed bytes are buf[start, len) */
    uint64_t bytes_total;   /* size of the file; 0: unknown (a pipe) */
    uint64_t fed_end;       /* bytes given to the reader, this line included */
    long lineno;            /* physical line being read, 1-based */
    int first_chunk;        /* the byte-order mark is not checked yet */
};

/* What a CSV column holds, by its name (imp_col_kind). */
enum imp_col { IMP_COL_FIELD, IMP_COL_TYPE, IMP_COL_BSN, IMP_COL_UNNAMED };

/* The CSV reader (import_csv.c): libcsv's parser, the header's columns and the fields
 * of the record being read. */
struct imp_csv {
    struct csv_parser parser;
    int ready; /* parser initialised (the delimiter is known) */
    int header_done;
    char **colname; /* lowercased header names, owned */
    enum imp_col *colkind;
    size_t ncols;
    char *fbuf; /* the current record's fields, each NUL-terminated */
    size_t flen, fcap;
    size_t *foff; /* where each field starts in fbuf */
    size_t nfields, foffcap;
    int in_record;  /* a record has started and not ended */
    long rec_start; /* the line it started on */
};

/* The progress bar (import_progress.c), on stderr when it is a terminal. */
struct imp_progress {
    int on;
    int64_t start_us, drawn_us;
};

struct imp {
    const struct cli_config *cfg;
    struct cli_conn conn;
    int connected;
    struct imp_window win;
    struct imp_input in;
    struct imp_csv csv;
    struct imp_progress bar;

    unsigned long stored, dups, rejected;
    uint64_t acked_off; /* end_off of the last answered row */
    FILE *rejects;      /* where rejected rows are written */
    int rejects_owned;
    int64_t lost_since_us; /* when the connection was lost; 0 after an answer since */
    int retry_s;

    struct cli_key key;
    int have_key;
    int fatal; /* WM_* error that ends the import */
    char fatal_msg[512];
};

/* Set im->fatal (when not set yet) with a message. */
void imp_fail(struct imp *im, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- input (import_input.c) --------------------------------------------- */

/* Read more input into the buffer. Returns WM_OK (in.eof at the end), WM_EIO
 * (fatal_msg says why), WM_ENOMEM. */
int imp_input_fill(struct imp *im);

/* Choose the format when --format did not: by the file name's ending, else by the
 * first byte that is not white space ('{': NDJSON). Returns WM_OK or as
 * imp_input_fill. */
int imp_input_sniff(struct imp *im, const char *format);

/*
 * Produce rows into the window until it holds window.max rows, the send buffer is
 * full, or the input ends: read, skip a byte-order mark, and hand each line to the
 * reader. Returns WM_OK or a fatal error (fatal_msg says why).
 */
int imp_produce(struct imp *im);

/* 1 once every byte of the input has been read and handed to the reader. */
int imp_input_done(const struct imp *im);

/* ---- readers (import_csv.c, import_ndjson.c) ----------------------------- */

/* Start the CSV reader on the first line (p, n: its delimiter is chosen from it).
 * Returns WM_OK or WM_ENOMEM. */
int imp_csv_begin(struct imp *im, const char *p, size_t n);

/* Feed one physical line (or the last piece of the file) to the CSV reader: records
 * become rows, the first the header. Errors go to im->fatal. */
void imp_csv_line(struct imp *im, const char *p, size_t n);

/* The input has ended: finish the last record, and fail when there was no header. */
void imp_csv_end(struct imp *im);

/* Free the CSV reader's memory. */
void imp_csv_free(struct imp *im);

/* One NDJSON line (without its LF) into a row; a blank line is none. */
void imp_ndjson_line(struct imp *im, const char *p, size_t n);

/* ---- rows (import_row.c) ------------------------------------------------ */
/*
 * The seam between the readers and the protocol: a reader names each value as the
 * file does; what a name means (imp_col_kind) and what a value becomes on the wire
 * (imp_row_field) are decided here, once for both formats.
 */

/* 1 when s is a field name: [a-z0-9._-]+. */
int imp_name_valid(const char *s);

/* What a named column or key holds: "type", "bsn", or another field. */
enum imp_col imp_col_kind(const char *name);

/* A fresh row at the tail of the window for a record that starts at lineno; NULL
 * when out of memory (im->fatal set). */
struct imp_slot *imp_row_new(struct imp *im, long lineno);

/* Turn a row into a client-side reject: "ERR invalid <message>". */
void imp_row_reject(struct imp_slot *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Begin the row's request line with its event type (n bytes). */
void imp_row_type(struct imp_slot *s, const char *type, size_t n);

/*
 * Append one field: a BSN (kind IMP_COL_BSN) checked and replaced by its pseudonym, a
 * BSN-like person refused, anything else escaped as name=value. Returns 0, or -1 after
 * turning the row into a reject (or setting im->fatal).
 */
int imp_row_field(struct imp *im, struct imp_slot *s, const char *name, enum imp_col kind,
                  const char *v, size_t n);

/* End the row's request line (out of memory sets im->fatal). */
void imp_row_end(struct imp *im, struct imp_slot *s);

/* ---- the window (import_window.c) ---------------------------------------- */

/* Allocate the ring for window rows. Returns WM_OK or WM_ENOMEM. */
int imp_window_init(struct imp_window *w, size_t window);

/* Free the ring. */
void imp_window_free(struct imp_window *w);

/* A fresh slot at the tail (the ring grows when full); NULL when out of memory. */
struct imp_slot *imp_window_push(struct imp_window *w);

/* Queue every produced row that is not on this connection yet. Returns WM_OK or
 * WM_ENOMEM. */
int imp_window_send(struct imp *im);

/* Retire the client-side rejects at the head: they have no answer to wait for. */
void imp_window_pop_local(struct imp *im);

/* The answer line to the row at the head. Returns WM_OK, WM_EUNAVAILABLE (reconnect
 * and send again), WM_EPROTOCOL (fatal; fatal_msg says why). */
int imp_window_answer(struct imp *im, const char *line, size_t len);

/* After a reconnect: everything unanswered is to be sent again. */
void imp_window_resend(struct imp_window *w);

/* Rows produced and not answered. */
unsigned long imp_window_unanswered(const struct imp_window *w);

/* ---- progress (import_progress.c) ----------------------------------------- */

/* Start the bar when stderr is a terminal. */
void imp_progress_start(struct imp *im);

/* Redraw the bar (at most five times a second). */
void imp_progress_draw(struct imp *im);

/* Clear the bar's line so that a message can be printed on stderr. */
void imp_progress_clear(const struct imp *im);

#endif /* WM_CLIENT_IMPORT_INT_H */
