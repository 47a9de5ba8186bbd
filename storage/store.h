/*
 * storage: the LMDB event store. Appends batches of events, retractions and registry
 * changes with idempotency and rollups in one durable transaction, and answers COUNT,
 * PROGRESS, PROJECTS, totals and statistics from read transactions. No sockets.
 *
 * Threads: store_apply is called by one writer thread only. Every read function may be
 * called from any other thread at the same time. Reads of LMDB alone (PROJECTS) never
 * wait; reads of the in-memory part (COUNT, PROGRESS, totals) wait while a commit is
 * being applied to it. store_open starts one more thread, which applies each large
 * batch to the in-memory part while LMDB commits.
 */
#ifndef WM_STORE_H
#define WM_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* The schema version this build writes and reads. Stores of versions 1 to 3 are
 * upgraded in place when opened (the DBIs whose content is in memory now are dropped:
 * version 1's person DBIs, the rollup DBI, the ids DBI; version 4 adds the ids index's
 * hash key); a newer version is refused by store_open with WM_EVERSION, naming both. */
#define STORE_SCHEMA_VERSION 4

struct store;

/* store_options.flags */
/* Open read-only, beside a running daemon or on a copy: the environment is opened with
 * MDB_RDONLY (LMDB lets a second process read it while another writes), nothing is
 * written (no upgrade, no gemeente registered, the directory is not created), no thread
 * is started and the memory part is not built: COUNT, PROGRESS, totals and store_apply
 * are not for such a store; store_export, store_verify, store_backup and store_stats
 * are. A store of an older schema opens too (store_schema says which), so that it can
 * be exported. */
#define STORE_OPEN_READONLY 1u

struct store_options {
    const char *dir;              /* data directory; created when missing */
    unsigned flags;               /* STORE_OPEN_* */
    size_t map_size;              /* initial LMDB map size in bytes (0 = 1 GiB) */
    size_t map_max;               /* the map grows by doubling up to this (0 = 64 GiB) */
    const char *const *gemeenten; /* configured municipalities (borrowed during open) */
    size_t n_gemeenten;
    /* The memory part's checkpoint (dir/memory.ckpt): written when the store closes and
     * every checkpoint_every events while it runs (by a child process), read at open
     * instead of a rebuild from every record. 0: every STORE_CKPT_DEFAULT events;
     * STORE_CKPT_CLOSE: at close only; STORE_CKPT_OFF: never (every open rebuilds). */
    int64_t checkpoint_every;
};
#define STORE_CKPT_DEFAULT 500000
#define STORE_CKPT_CLOSE (-1)
#define STORE_CKPT_OFF (-2)

/*
 * Open (creating when needed) the store in opt->dir. Checks the schema version and
 * takes the store's lock (dir/lock: one process at a time). Loads the memory part from
 * its checkpoint and the records after it, or rebuilds it from every record when there
 * is none or it does not match the store (STATS memory_source says which, and why).
 * Returns WM_OK and *out (free with store_close), WM_EVERSION (unknown schema
 * version), WM_EIO (cannot create or open, or in use by another process; err says
 * which file and why), WM_ENOMEM.
 */
int store_open(const struct store_options *opt, struct store **out, char *err, size_t errlen);

/* Close the store: writes the memory part's checkpoint first (unless it holds the
 * last record already); this may take seconds for millions of events. No call may be
 * running. NULL is allowed. */
void store_close(struct store *s);

/* The schema version of the open store: STORE_SCHEMA_VERSION, or an older one for a
 * store opened with STORE_OPEN_READONLY. */
unsigned store_schema(const struct store *s);

enum store_op {
    STORE_OP_EVENT = 1,   /* u.event; principal set by the daemon */
    STORE_OP_RETRACT = 2, /* u.retract; principal set; admin says whether seq= may
                             name another principal's event */
    STORE_OP_PROJECT = 3, /* u.project: create or update (category required on create) */
    STORE_OP_PROGRAM = 4, /* u.project with name "*": program period and targets */
    STORE_OP_NOTE = 5,    /* u.note: a new version of a note (its text owned by the item) */
    STORE_OP_REPLACE = 6, /* u.event: a new version of the principal's event id */
};

/* One write of a batch, with its outcome filled in by store_apply. */
struct store_item {
    enum store_op op;
    uint8_t admin; /* RETRACT: the principal is an admin */
    union {
        struct wm_event event;
        struct wm_retract retract;
        struct wm_project project;
        struct wm_note note;
    } u;
    /* outcome */
    int result;        /* WM_OK, or WM_EUNKNOWN_PROJECT, WM_ECONFLICT, WM_ENOT_FOUND,
                          WM_EINVALID, WM_EDENIED, WM_ESTORAGE, ... */
    uint8_t dup;       /* EVENT/RETRACT with result WM_OK: 1 when it was already stored */
    uint64_t seq;      /* EVENT/RETRACT/REPLACE with result WM_OK: the (original) seq;
                          NOTE: the note's version */
    uint64_t replaced; /* REPLACE with result WM_OK: the seq of the version it
                          replaced; 0 when it was the first (or a DUP) */
    char err[192];     /* message when result != WM_OK, naming the field and value */
};

/*
 * Apply a batch in one LMDB write transaction, committed and synced before returning.
 * Items are applied in order; an item that fails validation (unknown project,
 * conflict, not found, ...) gets its result and changes nothing, the others still
 * apply. An item sees the items before it (two equal events in one batch: the second
 * is a DUP of the first). On map full the map grows and the whole batch is retried.
 * Returns WM_OK when the transaction committed (each item's own result says how it
 * went), or WM_ESTORAGE / WM_EMAPFULL / WM_EIO when nothing was written: then every
 * item's result is WM_ESTORAGE with a message.
 */
int store_apply(struct store *s, struct store_item *items, size_t n);

/* Free what an item owns (a NOTE's text) once its outcome has been answered. The item
 * can then be reused. */
void store_item_release(struct store_item *it);

/* The notes a NOTES query answers: the latest version per (period, category,
 * project), in that order. Each note's text is owned by the list. */
struct store_note_list {
    struct wm_note *v;
    size_t n, cap;
};

/*
 * NOTES (PROTOCOL.md section 6): fills out (free with store_note_list_free, also
 * after an error) with the latest version of every note q selects. Returns WM_OK,
 * WM_EIO or WM_ENOMEM; err says why.
 */
int store_notes(struct store *s, const struct wm_notes_query *q, struct store_note_list *out,
                char *err, size_t errlen);
/* Free a list's notes and storage; the list is empty afterwards. */
void store_note_list_free(struct store_note_list *l);

/*
 * REPLACE (STORE_OP_REPLACE) in store_apply: no event under the id yet: stored as by
 * EVENT; the same live event: dup; a different live one: in the batch's transaction the
 * old version is retracted (a retraction record with reason "replaced", written just
 * before the new version) and the new one stored under the same id, naming the old
 * (wm_event.replaces), item->replaced = the old seq; a retracted one: the new version
 * stored likewise, without a second retraction. An id used by a retraction, or an
 * unknown project, is the item's error (WM_ECONFLICT, WM_EUNKNOWN_PROJECT).
 */

/*
 * CHECK: what EVENT of ev (validated, principal set) would answer, read from the last
 * commit, storing nothing: WM_OK (it would be stored, or is a DUP), WM_EUNKNOWN_PROJECT
 * or WM_ECONFLICT (err as store_apply would say it), or WM_EIO / WM_EVERSION /
 * WM_ENOMEM (err says why). Any thread; no write transaction, no sync.
 */
int store_check(struct store *s, const struct wm_event *ev, char *err, size_t errlen);

/* One version of an event id, as SHOW lists it. */
struct store_version {
    struct wm_event ev;               /* its person is always empty: it never leaves storage */
    uint64_t retracted_by;            /* the seq of its retraction; 0 while live */
    char reason[4 * WM_TEXT_MAX + 1]; /* the retraction's reason ("replaced" by REPLACE) */
};

/* SHOW's answer: the versions, oldest first. Owned by the caller: init once, reuse,
 * free once. */
struct store_show {
    struct store_version *v; /* owned */
    size_t n, cap;
};
void store_show_init(struct store_show *r);
void store_show_free(struct store_show *r);

/*
 * SHOW: every version of principal's event id, oldest first, into r (emptied first);
 * with seq != 0 (an admin's seq=), every version of the id of the event at that seq,
 * whoever's it is (principal and id are then ignored). Returns WM_OK, WM_ENOT_FOUND (no
 * such id or seq, or it names a retraction: err says which), WM_EIO, WM_EVERSION,
 * WM_ENOMEM (err says why; r is empty).
 */
int store_show(struct store *s, const char *principal, const char *id, uint64_t seq,
               struct store_show *r, char *err, size_t errlen);

/*
 * COUNT (PROTOCOL.md section 5) from rollups, into res (see proto.h; owned by the
 * caller, reset here): without by= one row, else a row per group with a non-zero count,
 * its dimension values as the wire writes them, sorted; res->seq is the store's last
 * seq in the same read, so an answer and its seq always agree. Returns WM_OK,
 * WM_EUNKNOWN_PROJECT (a project filter names no registered project; err suggests the
 * nearest registered name), WM_EINVALID (a category filter names a category no project
 * has; err lists the known ones), WM_EIO, WM_ENOMEM; err says why, and res holds no
 * rows.
 */
int store_count(struct store *s, const struct wm_count_query *q, struct wm_count_result *res,
                char *err, size_t errlen);

/*
 * PROGRESS (section 5) into res (reset here): the rows of the projects shown, by
 * category and name, three each, then the three program rows; actual, target,
 * expected as numbers, status as enum wm_status; res->seq as for store_count. Returns
 * WM_OK, WM_EUNKNOWN_PROJECT (project= not registered; err suggests the nearest
 * registered name), WM_EINVALID (category= is no project's; err lists the known ones),
 * WM_EIO, WM_ENOMEM; err says why, and res holds no rows.
 */
int store_progress(struct store *s, const struct wm_progress_query *q,
                   struct wm_progress_result *res, char *err, size_t errlen);

/* PROJECTS (section 6) into res (reset here): every project by name, then the program
 * (name "*"), each a copy of its registry entry; res->seq as for store_count. Returns
 * WM_OK, WM_EIO, WM_ENOMEM; err says why, and res holds none. */
int store_projects(struct store *s, struct wm_projects_result *res, char *err, size_t errlen);

/* The whole-store figures of WATCH (section 7), retracted events excluded, into t
 * (cheap: counters, no scan). Returns WM_OK or WM_EIO. */
int store_totals(struct store *s, struct wm_totals *t);

/*
 * The figures of WATCH for municipalities, as COUNT counts them: out[i] (n of them) the
 * totals of the events of gemeente names[i] alone (started, completed with a successful
 * result, placed and outflow events, distinct persons placed), all from one read, with
 * out[i].seq and *seq the store's last seq in it; a name the store does not know has
 * zeros. Cost: the rollup cells of all time by gemeente, for every name at once (the
 * distinct persons placed are counters the memory part keeps). Returns WM_OK,
 * WM_EIO, WM_ENOMEM (err says why; out is zeroed).
 */
int store_totals_gemeenten(struct store *s, const char *const *names, size_t n,
                           struct wm_totals *out, uint64_t *seq, char *err, size_t errlen);

struct store_stats {
    uint64_t events;      /* event records stored (retracted included) */
    uint64_t retracted;   /* events retracted */
    uint64_t retractions; /* retraction records */
    uint64_t last_seq;
    uint64_t db_bytes;  /* size of the data file */
    uint64_t map_bytes; /* current map size */
    uint64_t map_grows; /* times the map grew since open */
    /* the in-memory part (person layer and rollup cells): persons, live person
     * entries, rollup cells, bytes held, and how long loading it (from the checkpoint,
     * or rebuilding it from the events) took when the store opened */
    uint64_t persons, person_entries, memory_cells, memory_bytes, memory_load_ms;
    char memory_source[192]; /* how the memory part was loaded at open, and why */
    int checkpoint_rejected; /* a checkpoint was there at open but not used (damaged,
                                another store's or build's...: memory_source says why) */
    /* the newest checkpoint covers the records up to this seq (0: none); checkpoints
     * written and failed while running, since open, and why the last failure failed */
    uint64_t checkpoint_seq, checkpoints_written, checkpoint_failures;
    char checkpoint_error[160];
};
/* Read the statistics. Returns WM_OK or WM_EIO. */
int store_stats(struct store *s, struct store_stats *st);
/* Only the checkpoint fields of st (checkpoint_seq, checkpoints_written,
 * checkpoint_failures, checkpoint_error; the rest zeroed), without store_stats' read
 * transaction: cheap enough for the writer to call after every batch. Call it on the
 * thread that calls store_apply (which starts and reaps the checkpoint's child). */
void store_ckpt_stats(const struct store *s, struct store_stats *st);

/* What a backup holds: read back from the copy itself. */
struct store_backup_info {
    uint64_t last_seq; /* the snapshot's last seq */
    uint64_t events;   /* event records in it (retracted included) */
    uint64_t bytes;    /* size of the copy's data file */
};

/*
 * Hot backup: a consistent, compacted copy of the store (LMDB's data file) into the new
 * or empty directory path, synced to disk, while writes go on: it reads one snapshot, as
 * a reader does, so the writer never waits for it (only a growth of the map waits until
 * it ends); meanwhile LMDB cannot reuse the pages freed since the snapshot, so a store
 * taking writes grows by what they write during the copy. The copy holds no memory part:
 * opening it rebuilds that. It is opened read-only afterwards to fill *info. Works on a
 * store opened with STORE_OPEN_READONLY too (a second process beside the daemon).
 * Returns WM_OK, or WM_EIO with err saying why (path holds a store already, cannot be
 * created, disk full, the copy does not open).
 */
int store_backup(struct store *s, const char *path, struct store_backup_info *info, char *err,
                 size_t errlen);

/* ---- verify (verify.c, verify_mem.c) ---------------------------------------------- */

/* One difference verify found, as a line of text without a newline (borrowed for the
 * call). */
typedef void (*store_verify_fn)(void *arg, const char *line);

/* What store_verify checked and found. */
struct store_verify_result {
    uint64_t last_seq;    /* of the snapshot verified */
    uint64_t records;     /* events and retractions read */
    uint64_t live;        /* events not retracted */
    uint64_t cells;       /* rollup cells compared (all in memory) */
    uint64_t persons;     /* persons compared */
    uint64_t differences; /* 0: the store is consistent */
    /* how the memory part compared was loaded: from the checkpoint (its seq, the
     * records replayed after it), or rebuilt from the records (and why) */
    char memory_source[192];
};

/*
 * Recompute from the records alone (every event and retraction, in seq order) what the
 * store derives from them, and compare: the counters, the ids index (every record's
 * (principal, id) maps to its seq, nothing else is there), the retracted index, the
 * registry's ids, the year and month rollup cells, and the memory part (every rollup
 * cell including PROGRESS's counts, every person's entries, the person lists, the placed
 * persons, the scope flags). Each difference is passed to fn (when not NULL) as one
 * line naming what differs, where (cell, seq, id) and both values; no person value is
 * ever named (a person is named by the seq of one of its events); at most max_lines
 * lines (0: no limit), the rest only counted.
 *
 * One read transaction: on a live store (a second process beside the daemon, opened
 * with STORE_OPEN_READONLY) it verifies one consistent snapshot, building its own
 * memory part from it; on a store opened for writing it compares the store's own
 * memory part under its read lock (writes wait meanwhile).
 * Returns WM_OK (res->differences says whether it is consistent), WM_EVERSION (the
 * store has an older schema: err names both versions), WM_EIO or WM_ENOMEM (err says
 * why; res is partial).
 */
int store_verify(struct store *s, struct store_verify_result *res, store_verify_fn fn, void *arg,
                 uint64_t max_lines, char *err, size_t errlen);

/* ---- export (export.c) -------------------------------------------------------------- */

enum store_export_kind {
    STORE_EXPORT_HEADER = 1, /* first: u.header */
    STORE_EXPORT_PROGRAM,    /* the program's period and targets: u.project (name "*") */
    STORE_EXPORT_PROJECT,    /* each project, by id: u.project, id */
    STORE_EXPORT_GEMEENTE,   /* each gemeente the store knows, by id: u.gemeente, id */
    STORE_EXPORT_EVENT,      /* each event, by seq: u.event, retracted_by */
    STORE_EXPORT_RETRACT,    /* each retraction, by seq (after its target): u.retract */
    STORE_EXPORT_NOTE,       /* each version of each note, after the records: u.note */
};

/* One item of an export, borrowed for the callback. */
struct store_export_item {
    int kind; /* enum store_export_kind */
    uint32_t id;
    uint64_t retracted_by; /* EVENT: the seq of its retraction, 0 while live */
    union {
        struct {
            unsigned schema;
            uint64_t last_seq, events, retracted, retractions;
        } header;
        const struct wm_project *project;
        const char *gemeente;
        const struct wm_event *event;
        const struct wm_retract *retract;
        const struct wm_note *note;
    } u;
};

/* Called for each item; a non-zero return stops the export and is returned by it. */
typedef int (*store_export_fn)(void *arg, const struct store_export_item *it);

/*
 * Walk the whole store in one read transaction (a consistent snapshot while writes go
 * on; works on a store opened with STORE_OPEN_READONLY, of any schema it opens): the
 * header, the program, the projects and the gemeenten by id, then every record by seq,
 * then every version of every note (by period, category, project, version: the order
 * that gives them their versions again). With live_only, only events not retracted are
 * passed (no retraction, no note).
 * Returns WM_OK, the callback's non-zero return, or WM_EIO / WM_EVERSION (a record
 * cannot be read: err names its seq) / WM_ENOMEM.
 */
int store_export(struct store *s, int live_only, store_export_fn fn, void *arg, char *err,
                 size_t errlen);

#endif /* WM_STORE_H */
