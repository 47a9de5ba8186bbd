/*
 * The inside of `werkmonitor import`, shared by its files only. In reading order:
 * import.c the command (options, open the input, run, report); import_input.c bytes
 * of the file into lines of UTF-8 (byte-order marks, iconv); import_csv.c and
 * import_ndjson.c, the readers, a record into named values; import_map.c what a
 * column's name means (the --map profile, the protocol's fields, Dutch names);
 * import_row.c named values into one EVENT line (or the row's errors), with
 * import_value.c undoing what spreadsheets do to values; import_window.c the rows in
 * flight and their answers; import_rejects.c the rejects file and the reasons of the
 * summary; import_progress.c the bar.
 *
 * A row flows: input line -> reader -> imp_row_* -> a slot of the window -> sent ->
 * answered. Functions return WM_OK or a negative enum wm_err unless said; an error
 * that ends the import is kept in imp.fatal with its message in imp.fatal_msg.
 */
#ifndef WM_CLIENT_IMPORT_INT_H
#define WM_CLIENT_IMPORT_INT_H

#include <iconv.h>
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
    const char *format;      /* "csv", "ndjson" or NULL (guess) */
    const char *keyfile;     /* --pseudo-key or NULL */
    const char *rejects;     /* --rejects or NULL (the first few on stderr) */
    const char *map;         /* --map or NULL */
    const char *type;        /* --type or NULL */
    const char *date_format; /* --date-format or NULL */
    const char *encoding;    /* --encoding or NULL */
    const char **sets;       /* --set field=value, in order; owned array */
    size_t nsets;
    int ignore_unknown; /* --ignore-unknown */
    int dry_run;        /* --dry-run: CHECK instead of EVENT */
    int replace;        /* --replace: REPLACE instead of EVENT */
    size_t window;      /* --window */
    int retry_s;        /* --retry */
    const char *path;   /* FILE, or "-" for stdin */
};

/*
 * Parse import's options and its one FILE argument from a (no I/O but messages):
 * defaults first, then each option checked. Returns -1 when o is complete (free with
 * imp_opts_free), else CLI_EXIT_USAGE after reporting the usage error.
 */
int imp_opts_parse(struct imp_opts *o, const struct cli_args *a);

/* Free what imp_opts_parse allocated. */
void imp_opts_free(struct imp_opts *o);

/* ---- columns and the mapping profile (import_map.c) ----------------------- */

/* What a CSV column or an NDJSON key holds. */
enum imp_col {
    IMP_COL_FIELD,       /* a field of the event, sent under its protocol name */
    IMP_COL_TYPE,        /* the event's type */
    IMP_COL_BSN,         /* a BSN, sent as its pseudonym */
    IMP_COL_IGNORE,      /* skipped: the profile's [ignore] or --ignore-unknown */
    IMP_COL_REJECT_NOTE, /* regel or fout of a rejects file: skipped, and not copied again */
    IMP_COL_UNNAMED,     /* an empty header cell: its cells must stay empty */
    IMP_COL_UNKNOWN,     /* none of the above: stops the import */
};

/* One value translation of the profile ("Zorg en welzijn = zorg"). */
struct imp_xlat {
    char *from; /* white space folded; compared without regard to ASCII case */
    size_t from_len;
    char *to;
};

/* A column, resolved. Translations borrowed from the profile. */
struct imp_column {
    enum imp_col kind;
    char field[16];              /* the protocol's name (FIELD, TYPE, BSN), or "" */
    enum proto_field_kind vkind; /* what its values are */
    const struct imp_xlat *xlat; /* the profile's translations of its values */
    size_t nxlat;
};

/* The mapping profile (--map), with --set and the options merged in. Owned strings. */
struct imp_map {
    struct imp_map_col {
        char *source; /* the column's name, normalised (imp_name_normalise) */
        char *target; /* a field, type, bsn, or "-" to ignore */
    } * cols;
    size_t ncols, colcap;
    struct imp_map_vals {
        char *field;
        struct imp_xlat *x;
        size_t n, cap;
    } * vals;
    size_t nvals, valcap;
    struct imp_map_set {
        char *field, *value;
    } * sets;
    size_t nsets, setcap;
    char *type, *date_format, *encoding; /* [options], or NULL */
    int ignore_unknown;
};

/*
 * Read a profile (README, "Importing a municipality's export") into m (zeroed by the
 * caller). Returns WM_OK; WM_EIO (cannot open or read); WM_ECONFIG (why names the
 * file, the line and the problem: an unknown section or option, a target that is not a
 * field, a line that is not 'name = value'); WM_ENOMEM. Free with imp_map_free, also
 * after an error.
 */
int imp_map_load(struct imp_map *m, const char *path, char *why, size_t whylen);

/* A fixed value for every row (--set, [set]); replaces an earlier one for the field.
 * Returns WM_OK or WM_ENOMEM. */
int imp_map_set(struct imp_map *m, const char *field, const char *value);

/* Map the column named source (n bytes; normalised here) to target ("-": ignore).
 * Returns WM_OK or WM_ENOMEM. */
int imp_map_add_column(struct imp_map *m, const char *source, size_t n, const char *target);

/* Free the profile's memory (a zeroed map is valid). */
void imp_map_free(struct imp_map *m);

/* 1 when name may be a column's target: a protocol field of some type, type or bsn. */
int imp_target_valid(const char *name);

/*
 * Resolve a column name (normalised by imp_name_normalise) into c: the profile's
 * [columns] and [ignore] (m may be NULL), else a protocol field (or type, bsn), else a
 * Dutch name (datum, soort, resultaat, ...), else regel/fout, else unknown or, with
 * ignore_unknown (or the profile's), ignored.
 */
void imp_map_column(const struct imp_map *m, const char *name, int ignore_unknown,
                    struct imp_column *c);

/* The profile's translation of v (n bytes, white space folded) for column c, compared
 * without regard to ASCII case; NULL when it has none. Borrowed from the profile. */
const char *imp_xlat_find(const struct imp_column *c, const char *v, size_t n);

/* ---- values (import_value.c) ---------------------------------------------- */

/* Fold white space: runs of spaces, tabs, line breaks and no-break spaces become one
 * space, none at either end. Writes to dst (n bytes suffice; may equal v); returns the
 * new length. */
size_t imp_value_fold(char *dst, const char *v, size_t n);

/* imp_value_fold and ASCII letters lowercased: how column names are compared. */
size_t imp_name_normalise(char *dst, const char *v, size_t n);

/*
 * A date as spreadsheets write it into YYYY-MM-DD (out, NUL-terminated). Without a
 * pattern: YYYY-MM-DD or YYYY/MM/DD, or day first D-M-YYYY, DD-MM-YYYY, DD/MM/YYYY,
 * D.M.YYYY; a time part after a space or 'T' is ignored. With a pattern (--date-format,
 * checked by imp_date_pattern_check): that form. Returns WM_OK, or WM_EINVALID with why
 * ("date: ..."): a two-digit year (ambiguous), a day that does not exist, a
 * spreadsheet's day number, any other form. Never guesses.
 */
int imp_date_parse(const char *pattern, const char *v, size_t n, char out[11], char *why,
                   size_t whylen);

/* WM_OK when pattern holds YYYY or YY, MM or M, DD or D once each (other characters
 * are literal); else WM_EINVALID with why. */
int imp_date_pattern_check(const char *pattern, char *why, size_t whylen);

/* The length of v's whole number when v is one written with a zero decimal part
 * ("12,0", "12.00": 2); else n (v stays as it is). */
size_t imp_int_normalise(const char *v, size_t n);

/*
 * A BSN cell prepared for the eleven-test into out: eight digits get back the leading
 * zero Excel dropped. Returns WM_OK, or WM_EINVALID with why (never the value):
 * scientific notation ("Excel turned this BSN into a number"), more than 9 characters.
 */
int imp_bsn_prepare(const char *v, size_t n, char out[10], char *why, size_t whylen);

/* ---- state -------------------------------------------------------------- */

/* One row on its way: its request line, or the reasons to reject it, and the record
 * as read (for the rejects file). */
struct imp_slot {
    long lineno;        /* where the row's record starts in the input, 1-based */
    uint64_t end_off;   /* input bytes up to the end of this row, for the progress bar */
    int local;          /* 1: rejected by the client; errs says why */
    unsigned nerr;      /* errors found in the row so far */
    struct wm_buf req;  /* "EVENT ...\n" (or REPLACE, CHECK) */
    struct wm_buf errs; /* the row's errors, each ending in '\n' */
    struct wm_buf raw;  /* the record in the input's format, without its line end */
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

/* The input (import_input.c): a buffer of UTF-8 bytes, consumed line by line. */
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
    /* encoding: with a converter, bytes are read into raw and converted into buf */
    iconv_t cd;      /* (iconv_t)-1: the input is UTF-8 */
    const char *enc; /* the encoding's name, for messages */
    char *raw;       /* read and not converted yet: raw[0, rawlen) */
    size_t rawlen;
    uint64_t raw_read; /* bytes read from the file */
    int had_bom;       /* the file started with a byte-order mark */
    int check_utf8;    /* check each line (the input could not be checked in advance) */
};

/* The CSV reader (import_csv.c): libcsv's parser, the header's columns and the fields
 * of the record being read. */
struct imp_csv {
    struct csv_parser parser;
    int ready; /* parser initialised (the delimiter is known) */
    int header_done;
    unsigned char delim;
    int crlf;               /* the header line ends in CR LF */
    struct imp_column *col; /* the header's columns, resolved */
    size_t ncols;
    int rewrite;          /* regel/fout present: records are rewritten without them */
    struct wm_buf header; /* the header for the rejects file, without its line end */
    struct wm_buf rec;    /* the lines of the record being read */
    char *fbuf;           /* the current record's fields, each NUL-terminated */
    size_t flen, fcap;
    size_t *foff; /* where each field starts in fbuf */
    size_t nfields, foffcap;
    int in_record;  /* a record has started and not ended */
    long rec_start; /* the line it started on */
};

/* Rejected rows: the rejects file and the reasons counted for the summary
 * (import_rejects.c). */
struct imp_rejects {
    FILE *f; /* --rejects FILE, or NULL (the first few on stderr) */
    const char *path;
    unsigned long shown; /* rows written to stderr */
    struct imp_reason {
        char *text;
        unsigned long n;
    } * tab; /* open addressing; text NULL when free */
    size_t cap, used;
    unsigned long other; /* rejections whose reason did not fit in the table */
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
    struct imp_rejects rej;

    /* what every row shares, fixed before the first */
    struct imp_map map;      /* the profile, --set and --type merged in */
    const char *verb;        /* "EVENT", "REPLACE" or "CHECK" */
    const char *date_format; /* --date-format or the profile's, or NULL */
    int ignore_unknown;      /* --ignore-unknown */
    int fixed_type;          /* the type of every row (--type), or -1 */
    struct wm_buf fixed;     /* " field=value" of every fixed value, escaped */
    struct wm_buf scratch;   /* a value being prepared */
    int dry_run, replace;

    unsigned long stored, dups, rejected, replaced;
    uint64_t acked_off;    /* end_off of the last answered row */
    int64_t lost_since_us; /* when the connection was lost; 0 after an answer since */
    int retry_s;

    struct cli_key key;
    int have_key;
    int opening; /* reading the header before connecting: stop after the first row */
    int fatal;   /* WM_* error that ends the import */
    char fatal_msg[1024];
};

/* Set im->fatal (when not set yet) with a message. */
void imp_fail(struct imp *im, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- input (import_input.c) --------------------------------------------- */

/*
 * Start reading: the byte-order mark (UTF-8 is skipped; UTF-16 LE or BE is converted),
 * else the encoding given (NULL: UTF-8) converted through iconv. A regular file in
 * UTF-8 is checked to the end before anything is sent; other input line by line.
 * Returns WM_OK; WM_ECONFIG (fatal_msg: an encoding iconv does not know, a line that
 * is not UTF-8 naming the line and suggesting --encoding); WM_EIO; WM_ENOMEM.
 */
int imp_input_begin(struct imp *im, const char *encoding);

/* Read more input into the buffer (converted to UTF-8). Returns WM_OK (in.eof at the
 * end), WM_EIO or WM_ECONFIG (fatal_msg says why), WM_ENOMEM. */
int imp_input_fill(struct imp *im);

/* Choose the format when --format did not: by the file name's ending, else by the
 * first byte that is not white space ('{': NDJSON). Returns WM_OK or as
 * imp_input_fill. */
int imp_input_sniff(struct imp *im, const char *format);

/*
 * Produce rows into the window until it holds window.max rows, the send buffer is
 * full, or the input ends (while opening: until the first row): read and hand each
 * line to the reader. Returns WM_OK or a fatal error (fatal_msg says why).
 */
int imp_produce(struct imp *im);

/* 1 once every byte of the input has been read and handed to the reader. */
int imp_input_done(const struct imp *im);

/* Free the input's buffers and converter. */
void imp_input_free(struct imp *im);

/* The share of the input read by the reader when the answered rows reach off (for the
 * bar), 0..1, or -1 when the size is unknown. */
double imp_input_fraction(const struct imp *im, uint64_t off);

/* ---- readers (import_csv.c, import_ndjson.c) ----------------------------- */

/* Start the CSV reader on the first line (p, n: its delimiter, ',' ';' or TAB, is
 * chosen from it). Returns WM_OK or WM_ENOMEM. */
int imp_csv_begin(struct imp *im, const char *p, size_t n);

/*
 * Split one whole line (p, n bytes, ending in LF) that holds no quote and no CR but
 * before its LF into its fields, exactly as libcsv set up as imp_csv_begin does would
 * from its rest state (spaces around a field trimmed, a line of spaces no record):
 * field_cb for each field, record_cb with the terminator (CR or LF) at the end.
 * Returns 1 when it did, 0 when the line is libcsv's to read (nothing called).
 */
int imp_csv_split_plain(const char *p, size_t n, unsigned char delim,
                        void (*field_cb)(void *, size_t, void *), void (*record_cb)(int, void *),
                        void *arg);

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
 * The seam between the readers and the protocol: a reader hands each value with its
 * resolved column (import_map.c); what a value becomes on the wire is decided here,
 * once for both formats. A row collects every error of its fields before it is
 * rejected, so that one look at the rejects file shows all that is wrong with it.
 */

/* Prepare what every row shares (verb, fixed values, --type) from the options and
 * the profile. Returns WM_OK, WM_ECONFIG (fatal_msg: a fixed type that is not one),
 * WM_ENOMEM. */
int imp_rows_prepare(struct imp *im);

/* A fresh row at the tail of the window for a record that starts at lineno; NULL
 * when out of memory (im->fatal set). */
struct imp_slot *imp_row_new(struct imp *im, long lineno);

/* One more error of the row (the row goes on, so that all its errors are found). */
void imp_row_error(struct imp_slot *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Begin the row's request line with the verb and its type: the fixed type, or the
 * value of column c (v, n bytes; NULL when the row has none), translated by the profile
 * and compared without regard to case. A missing or unknown type is an error of the row.
 */
void imp_row_type(struct imp *im, struct imp_slot *s, const struct imp_column *c, const char *v,
                  size_t n);

/*
 * Append one value of column c (kind FIELD or BSN): white space folded (nothing left:
 * absent), translated by the profile, a date or whole number undone from its
 * spreadsheet form, a BSN checked and replaced by its pseudonym, a BSN-like person
 * refused; then escaped as field=value. A problem is an error of the row.
 */
void imp_row_value(struct imp *im, struct imp_slot *s, const struct imp_column *c, const char *v,
                   size_t n);

/* End the row: the fixed values and LF, or a client-side reject when it has errors
 * (out of memory sets im->fatal). */
void imp_row_end(struct imp *im, struct imp_slot *s);

/* ---- rejected rows (import_rejects.c) ------------------------------------ */

/* Open --rejects FILE (refusing the input itself) and write its header: the input's
 * own (CSV) with regel and fout added. Returns WM_OK or WM_EIO (fatal_msg says why). */
int imp_rejects_open(struct imp *im, const char *path);

/* A rejected row: errs holds its reasons, each ending in '\n'. Counted per reason,
 * and written to the rejects file (or, the first few, to stderr). */
void imp_rejects_row(struct imp *im, const struct imp_slot *s, const char *errs, size_t n);

/* The rejections by reason, most frequent first, for the summary on out. */
void imp_rejects_summary(const struct imp *im, FILE *out);

/* Close the rejects file and free the reasons. Returns WM_OK or WM_EIO (a write
 * failed). */
int imp_rejects_close(struct imp *im);

/* Append v (n bytes) as one CSV field: quoted when it holds the delimiter, a quote, a
 * line break or white space at an end. Returns WM_OK or WM_ENOMEM. */
int imp_csv_quote(struct wm_buf *b, const char *v, size_t n, unsigned char delim);

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
