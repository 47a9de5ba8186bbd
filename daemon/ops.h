/*
 * ops: werkmonitord's maintenance commands, each run as `werkmonitord <command>
 * [OPTION]...` beside a running daemon or on a store of its own: backup, verify, export
 * and restore. ops.c parses their options and runs them; export.c writes an export
 * (NDJSON, CSV, the SQL that loads the CSV); restore.c builds a new store from an NDJSON
 * export.
 */
#ifndef WM_DAEMON_OPS_H
#define WM_DAEMON_OPS_H

#include <stdint.h>
#include <stdio.h>

#include "store.h"

/* Exit statuses of the commands. */
#define OPS_EXIT_OK 0
#define OPS_EXIT_FAIL 1  /* the command failed, or verify found differences */
#define OPS_EXIT_USAGE 2 /* bad options */

/* The NDJSON export's format version (its header line says it). */
#define OPS_EXPORT_VERSION 1
/* The CSV table's schema version (the SQL names it). */
#define OPS_CSV_VERSION 1

/* 1 when word names a maintenance command (argv[1] of werkmonitord), else 0. */
int ops_is_command(const char *word);

/*
 * Run the command argv[0] with its options argv[1..argc-1]; prints its result and
 * errors, and its --help. Returns the exit status (OPS_EXIT_*).
 */
int ops_main(int argc, char **argv);

enum ops_format { OPS_FORMAT_NDJSON = 0, OPS_FORMAT_CSV = 1 };

struct ops_export_options {
    int format;          /* enum ops_format */
    int with_pseudonyms; /* CSV: add the person column */
    const char *table;   /* CSV's SQL: the table name */
};

/* What an export wrote. */
struct ops_export_result {
    uint64_t last_seq, events, retractions, notes, lines;
};

/*
 * Write store s as o->format to out: NDJSON (a header line, the program, the projects
 * and gemeenten by id, every event and retraction by seq with its principal, every
 * version of every note, an end line; see README "Operations") or CSV (the live events as one
 * table, a header row first; the person column only with o->with_pseudonyms). One snapshot, taken
 * while writes go on. Returns WM_OK and *res, WM_EIO (writing failed, or the store could not be
 * read: err says which), WM_ENOMEM.
 */
int ops_export(struct store *s, const struct ops_export_options *o, FILE *out,
               struct ops_export_result *res, char *err, size_t errlen);

/*
 * Print the SQL that creates the CSV export's table and the statement that loads the
 * CSV into it, for engine "postgresql" or "clickhouse". Returns WM_OK, or WM_EINVALID
 * (another engine; err names the allowed ones).
 */
int ops_print_schema(const char *engine, const struct ops_export_options *o, FILE *out, char *err,
                     size_t errlen);

/* What a restore did. */
struct ops_restore_result {
    uint64_t records, events, retractions, notes, projects, gemeenten, last_seq;
};

/*
 * Build a new store in dir (which must not hold one) from the NDJSON export read from
 * in (named name in messages), keeping every seq, principal, id, receive time and the
 * registry's ids: the new store answers every query as the exported one did. Every
 * record is validated as the protocol validates a request. The export must be whole (it
 * ends with its end line). map_size and map_max as for store_open (0: defaults). On
 * failure the half-built store is removed. Returns WM_OK and *res, or WM_EINVALID (bad
 * input: err names the line and the field), WM_EIO (the store failed), WM_ENOMEM.
 */
int ops_restore(const char *dir, FILE *in, const char *name, size_t map_size, size_t map_max,
                struct ops_restore_result *res, char *err, size_t errlen);

#endif /* WM_DAEMON_OPS_H */
