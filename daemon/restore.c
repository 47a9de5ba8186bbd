/*
 * restore: a new store built from an NDJSON export. Every line becomes the protocol
 * request that made it (PROGRAM, PROJECT, EVENT, RETRACT, NOTE) and is validated by proto
 * as a request is, then applied in seq order through store_apply with its principal and
 * receive time, so each record gets its old seq back (checked, item by item); the notes
 * follow, version by version, and get their old versions back the same way.
 */
#define _GNU_SOURCE /* getline */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "ops.h"

/* Items applied per transaction. */
#define RESTORE_BATCH 4096
/* Longest line read. */
#define RESTORE_MAX_LINE (1u << 20)

struct restore {
    const char *name;     /* the input, for messages */
    unsigned long lineno; /* of the line at hand */
    const char *dir;
    int made_dir;
    size_t map_size, map_max;
    struct store *s;
    struct ops_restore_result *res;
    /* the registry, kept until the first record: the store opens with the gemeenten */
    struct store_item *reg;
    size_t nreg, capreg;
    char (*gem)[WM_NAME_MAX + 1];
    const char **gemp;
    size_t ngem, capgem;
    /* the batch of records, with the line and seq each must get */
    struct store_item *items;
    unsigned long *lines;
    uint64_t *seqs;
    size_t n;
    uint64_t last_seq;    /* the last seq seen */
    uint64_t replaced_by; /* a REPLACE's retraction held back: the seq of its new version */
    uint64_t lines_seen;
    int have_header, have_end;
    struct proto_request req;
    struct proto_env env;
    struct wm_buf line;
    char *err;
    size_t errlen;
};

/* err = "<input>:<line>: <message>". Returns WM_EINVALID. */
static int bad(struct restore *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct restore *r, const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    proto_errf(r->err, r->errlen, "%s:%lu: %s", r->name, r->lineno, msg);
    return WM_EINVALID;
}

/* ---- JSON to a request line ---------------------------------------------------------------- */

/* Keys of a record line that are not request fields. */
static int meta_key(const char *k)
{
    static const char *const keys[] = {"record",    "seq",          "principal",
                                       "recv_time", "retracted_by", "by_seq",
                                       "ref_seq",   "replaces",     "replaced_by"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(k, keys[i]) == 0)
            return 1;
    return 0;
}

/* Append " key=<value escaped>" for a string or whole-number JSON value. */
static int append_field(struct restore *r, const char *key, json_t *v)
{
    char num[32];
    const char *s;

    if (json_is_string(v)) {
        s = json_string_value(v);
    } else if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        s = num;
    } else {
        return bad(r, "field %s: want a string or a whole number", key);
    }
    wm_buf_printf(&r->line, " %s=", key);
    wm_buf_append_escaped(&r->line, s, strlen(s));
    return WM_OK;
}

/* 1 when key is a derived field of the type (placed's durable): exported for
 * readers, computed again by proto from the input fields. */
static int derived_key(const struct proto_type_desc *td, const char *key)
{
    for (int i = 0; td && i < td->nenums; i++)
        if (td->enums[i]->derived && strcmp(td->enums[i]->name, key) == 0)
            return 1;
    return 0;
}

/* Parse r->line as a request. */
static int parse_line(struct restore *r)
{
    char msg[512];
    int ret;

    if (r->line.oom) {
        proto_errf(r->err, r->errlen, "out of memory");
        return WM_ENOMEM;
    }
    ret = proto_parse_line(&r->req, r->line.data, r->line.len, msg, sizeof msg);
    if (ret != WM_OK)
        return ret == WM_ENOMEM ? ret : bad(r, "%s", msg);
    return WM_OK;
}

/* A string field that must be present. NULL after reporting. */
static const char *need_str(struct restore *r, json_t *o, const char *key, size_t max)
{
    json_t *v = json_object_get(o, key);
    const char *s = json_string_value(v);

    if (!s || !*s || strlen(s) > max) {
        bad(r, "field %s: missing, empty or too long", key);
        return NULL;
    }
    return s;
}

/* A whole-number field that must be present. */
static int need_int(struct restore *r, json_t *o, const char *key, int64_t min, int64_t *out)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_integer(v) || json_integer_value(v) < min)
        return bad(r, "field %s: missing or not a whole number >= %lld", key, (long long)min);
    *out = json_integer_value(v);
    return WM_OK;
}

/* ---- the registry ------------------------------------------------------------------------------
 */

static struct store_item *reg_add(struct restore *r)
{
    if (r->nreg == r->capreg) {
        size_t cap = r->capreg ? r->capreg * 2 : 64;
        void *p = realloc(r->reg, cap * sizeof *r->reg);
        if (!p)
            return NULL;
        r->reg = p;
        r->capreg = cap;
    }
    memset(&r->reg[r->nreg], 0, sizeof r->reg[0]);
    return &r->reg[r->nreg++];
}

/* A program or project line: the PROGRAM/PROJECT request with every field it has. */
static int restore_project(struct restore *r, json_t *o, int program)
{
    struct store_item *it;
    const char *key;
    json_t *v;
    char msg[512];
    int ret;

    wm_buf_reset(&r->line);
    if (program) {
        wm_buf_puts(&r->line, "PROGRAM");
    } else {
        const char *name = need_str(r, o, "name", WM_NAME_MAX);
        if (!name)
            return WM_EINVALID;
        wm_buf_puts(&r->line, "PROJECT ");
        wm_buf_append_escaped(&r->line, name, strlen(name));
    }
    json_object_foreach(o, key, v)
    {
        if (meta_key(key) || strcmp(key, "name") == 0 || strcmp(key, "id") == 0)
            continue;
        if ((ret = append_field(r, key, v)) != WM_OK)
            return ret;
    }
    if ((ret = parse_line(r)) != WM_OK)
        return ret;
    if (!(it = reg_add(r))) {
        proto_errf(r->err, r->errlen, "out of memory");
        return WM_ENOMEM;
    }
    it->op = program ? STORE_OP_PROGRAM : STORE_OP_PROJECT;
    ret = program ? proto_program_build(&r->req, &it->u.project, msg, sizeof msg)
                  : proto_project_build(&r->req, &it->u.project, msg, sizeof msg);
    if (ret != WM_OK) {
        r->nreg--;
        return bad(r, "%s", msg);
    }
    if (!program)
        r->res->projects++;
    return WM_OK;
}

static int restore_gemeente(struct restore *r, json_t *o)
{
    const char *name = need_str(r, o, "name", WM_NAME_MAX);

    if (!name)
        return WM_EINVALID;
    if (!proto_name_valid(name, strlen(name)))
        return bad(r, "gemeente: want 1-64 of [a-z0-9-], got '%.64s'", name);
    for (size_t i = 0; i < r->ngem; i++)
        if (strcmp(r->gem[i], name) == 0)
            return bad(r, "gemeente '%s' given twice", name);
    if (r->ngem == r->capgem) {
        size_t cap = r->capgem ? r->capgem * 2 : 16;
        void *g = realloc(r->gem, cap * sizeof *r->gem);
        if (!g) {
            proto_errf(r->err, r->errlen, "out of memory");
            return WM_ENOMEM;
        }
        r->gem = g;
        r->capgem = cap;
    }
    snprintf(r->gem[r->ngem++], sizeof r->gem[0], "%s", name);
    r->res->gemeenten++;
    return WM_OK;
}

/* Remove what restore made in dir (its store files, the directory when it made it). */
static void restore_remove(struct restore *r)
{
    static const char *const files[] = {"data.mdb", "lock.mdb", "lock", "memory.ckpt",
                                        "memory.ckpt.tmp"};
    char path[CONFIG_PATH_MAX + 32];

    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", r->dir, files[i]);
        unlink(path);
    }
    if (r->made_dir)
        rmdir(r->dir);
}

/* Open the new store with the export's gemeenten (so they keep their ids) and apply
 * the registry in one transaction (projects in id order keep theirs). */
static int restore_open(struct restore *r)
{
    struct store_options opt;
    char msg[512];
    int ret;

    if (!r->have_header)
        return bad(r, "the export's header line is missing");
    r->gemp = calloc(r->ngem + 1, sizeof *r->gemp);
    if (!r->gemp) {
        proto_errf(r->err, r->errlen, "out of memory");
        return WM_ENOMEM;
    }
    for (size_t i = 0; i < r->ngem; i++)
        r->gemp[i] = r->gem[i];
    r->env.gemeenten = r->gemp;
    r->env.n_gemeenten = r->ngem;
    memset(&opt, 0, sizeof opt);
    opt.dir = r->dir;
    opt.map_size = r->map_size;
    opt.map_max = r->map_max;
    /* the memory part's checkpoint at the end only, so the daemon's first start loads it
     * (none while the events stream in: each would cost a child and a write of it) */
    opt.checkpoint_every = STORE_CKPT_CLOSE;
    opt.gemeenten = r->gemp;
    opt.n_gemeenten = r->ngem;
    ret = store_open(&opt, &r->s, msg, sizeof msg);
    if (ret != WM_OK) {
        proto_errf(r->err, r->errlen, "%s", msg);
        return WM_EIO;
    }
    if (r->nreg == 0)
        return WM_OK;
    ret = store_apply(r->s, r->reg, r->nreg);
    for (size_t i = 0; i < r->nreg && ret == WM_OK; i++)
        if (r->reg[i].result != WM_OK) {
            proto_errf(r->err, r->errlen, "the registry does not apply: %s", r->reg[i].err);
            return WM_EINVALID;
        }
    if (ret != WM_OK) {
        proto_errf(r->err, r->errlen, "the registry does not apply: %s", r->reg[0].err);
        return WM_EIO;
    }
    return WM_OK;
}

/* ---- the records
 * ---------------------------------------------------------------------------------- */

/* Free what the batch's items own (a note's text) and empty it. */
static void restore_release(struct restore *r)
{
    for (size_t i = 0; i < r->n; i++)
        store_item_release(&r->items[i]);
    r->n = 0;
}

/* Apply the batch; each item must come back stored under the seq it had. */
static int restore_flush(struct restore *r)
{
    int ret;

    if (r->n == 0)
        return WM_OK;
    ret = store_apply(r->s, r->items, r->n);
    for (size_t i = 0; i < r->n; i++) {
        const struct store_item *it = &r->items[i];
        /* a note's seq is its version */
        const char *what = it->op == STORE_OP_NOTE ? "note version" : "seq";
        if (ret == WM_OK && it->result == WM_OK && !it->dup && it->seq == r->seqs[i])
            continue;
        r->lineno = r->lines[i];
        if (ret != WM_OK) {
            proto_errf(r->err, r->errlen, "%s:%lu: the store failed: %s", r->name, r->lineno,
                       it->err);
            ret = WM_EIO;
        } else if (it->result != WM_OK) {
            ret = bad(r, "%s %llu: refused: %s %s", what, (unsigned long long)r->seqs[i],
                      wm_err_code(it->result), it->err);
        } else {
            ret = bad(r, "%s %llu: stored as %s %llu (is the export whole, in its order?)", what,
                      (unsigned long long)r->seqs[i], it->dup ? "a duplicate of" : what,
                      (unsigned long long)it->seq);
        }
        break;
    }
    restore_release(r);
    return ret;
}

/* The next record item of the batch, for line seq. */
static struct store_item *record_add(struct restore *r, uint64_t seq)
{
    struct store_item *it = &r->items[r->n];

    memset(it, 0, sizeof *it);
    r->lines[r->n] = r->lineno;
    r->seqs[r->n] = seq;
    return it;
}

/* seq, principal and recv_time of a record line, checked. */
static int record_meta(struct restore *r, json_t *o, uint64_t *seq, const char **principal,
                       int64_t *recv)
{
    int64_t s;
    int ret = need_int(r, o, "seq", 1, &s);

    if (ret == WM_OK)
        ret = need_int(r, o, "recv_time", INT64_MIN, recv);
    if (ret != WM_OK)
        return ret;
    if ((uint64_t)s != r->last_seq + 1)
        return bad(r,
                   "seq %lld after seq %llu: an export's records come in seq order, without gaps",
                   (long long)s, (unsigned long long)r->last_seq);
    if (!(*principal = need_str(r, o, "principal", WM_NAME_MAX)))
        return WM_EINVALID;
    if (strchr(*principal, ' '))
        return bad(r, "principal: holds a space");
    *seq = (uint64_t)s;
    return WM_OK;
}

/* Append a record's input fields to r->line (not the meta keys, not skip, not td's derived
 * fields; td may be NULL) and parse the line into r->req. Returns WM_OK, WM_EINVALID
 * (reported) or WM_ENOMEM. */
static int record_fields(struct restore *r, json_t *o, const char *skip,
                         const struct proto_type_desc *td)
{
    const char *key;
    json_t *v;
    int ret;

    json_object_foreach(o, key, v)
    {
        if (meta_key(key) || (skip && strcmp(key, skip) == 0) || derived_key(td, key))
            continue;
        if ((ret = append_field(r, key, v)) != WM_OK)
            return ret;
    }
    return parse_line(r);
}

/* A REPLACE's retraction held back by restore_retract must be followed by the version
 * that replaces it: the record at seq (a note or the end line: at the seq after the last).
 * Returns WM_OK, or WM_EINVALID when one waits. */
static int replace_pending(struct restore *r, uint64_t seq)
{
    if (r->replaced_by == 0)
        return WM_OK;
    return bad(r, "seq %llu: no version that replaces the one retracted at seq %llu",
               (unsigned long long)seq, (unsigned long long)r->replaced_by - 1);
}

/* The record at seq is in the batch (record_add, filled in); count it in *count. */
static int record_done(struct restore *r, uint64_t seq, uint64_t *count)
{
    r->n++;
    r->last_seq = seq;
    (*count)++;
    return WM_OK;
}

static int restore_event(struct restore *r, json_t *o)
{
    const struct proto_type_desc *td;
    const char *principal, *type;
    struct store_item *it;
    uint64_t seq;
    int64_t recv;
    char msg[512];
    int ret = record_meta(r, o, &seq, &principal, &recv);

    if (ret != WM_OK)
        return ret;
    if (!(type = need_str(r, o, "type", 32)))
        return WM_EINVALID;
    td = proto_type_desc(proto_type_lookup(type));
    wm_buf_reset(&r->line);
    wm_buf_puts(&r->line, "EVENT ");
    wm_buf_append_escaped(&r->line, type, strlen(type));
    if ((ret = record_fields(r, o, "type", td)) != WM_OK)
        return ret;
    it = record_add(r, seq);
    ret = proto_event_build(&r->req, &r->env, &it->u.event, msg, sizeof msg);
    if (ret != WM_OK)
        return bad(r, "seq %llu: %s", (unsigned long long)seq, msg);
    /* a version stored by REPLACE is restored by REPLACE, which writes the old version's
     * retraction (the record before it, held back by restore_retract) too */
    if (json_integer_value(json_object_get(o, "replaces")) > 0) {
        if (r->replaced_by != 0 && r->replaced_by != seq)
            return bad(r, "seq %llu: the retraction of seq %llu names seq %llu as the new version",
                       (unsigned long long)seq, (unsigned long long)r->replaced_by - 1,
                       (unsigned long long)r->replaced_by);
        it->op = STORE_OP_REPLACE;
        r->replaced_by = 0;
    } else {
        if ((ret = replace_pending(r, seq)) != WM_OK)
            return ret;
        it->op = STORE_OP_EVENT;
    }
    snprintf(it->u.event.principal, sizeof it->u.event.principal, "%s", principal);
    it->u.event.recv_time = recv;
    return record_done(r, seq, &r->res->events);
}

static int restore_retract(struct restore *r, json_t *o)
{
    const char *principal, *id;
    struct store_item *it;
    uint64_t seq;
    int64_t recv, ref_seq;
    char msg[512];
    int ret = record_meta(r, o, &seq, &principal, &recv), by_seq;

    if (ret != WM_OK)
        return ret;
    if (!(id = need_str(r, o, "id", WM_ID_MAX)) || need_int(r, o, "ref_seq", 1, &ref_seq) != WM_OK)
        return WM_EINVALID;
    by_seq = json_is_true(json_object_get(o, "by_seq"));
    if ((ret = replace_pending(r, seq)) != WM_OK)
        return ret;
    /* a REPLACE's retraction of the old version: the REPLACE of the next record writes it */
    if (json_integer_value(json_object_get(o, "replaced_by")) > 0) {
        if (json_integer_value(json_object_get(o, "replaced_by")) != (json_int_t)seq + 1)
            return bad(r, "seq %llu: replaced_by is not the next seq", (unsigned long long)seq);
        r->replaced_by = seq + 1;
        r->last_seq = seq;
        r->res->retractions++;
        return WM_OK;
    }
    wm_buf_reset(&r->line);
    wm_buf_puts(&r->line, "RETRACT");
    if (by_seq)
        wm_buf_printf(&r->line, " seq=%lld", (long long)ref_seq);
    if ((ret = record_fields(r, o, by_seq ? "ref" : NULL, NULL)) != WM_OK)
        return ret;
    it = record_add(r, seq);
    ret = proto_retract_build(&r->req, &it->u.retract, msg, sizeof msg);
    if (ret != WM_OK)
        return bad(r, "seq %llu: %s", (unsigned long long)seq, msg);
    it->op = STORE_OP_RETRACT;
    it->admin = 1; /* by seq= too: restore acts for the admin who made it */
    snprintf(it->u.retract.principal, sizeof it->u.retract.principal, "%s", principal);
    it->u.retract.recv_time = recv;
    return record_done(r, seq, &r->res->retractions);
}

/* A version of a note: after the records, in the export's order (each key's versions
 * 1, 2, ...), so the store gives each its version again. */
static int restore_note(struct restore *r, json_t *o)
{
    static const char *const fields[] = {"period", "category", "project", "light", "text"};
    const char *principal;
    struct store_item *it;
    int64_t version, at;
    json_t *v;
    char msg[512];
    int ret;

    if (!(principal = need_str(r, o, "principal", WM_NAME_MAX)))
        return WM_EINVALID;
    if (strchr(principal, ' '))
        return bad(r, "principal: holds a space");
    if ((ret = replace_pending(r, r->last_seq + 1)) != WM_OK ||
        (ret = need_int(r, o, "version", 1, &version)) != WM_OK ||
        (ret = need_int(r, o, "at", INT64_MIN, &at)) != WM_OK)
        return ret;
    wm_buf_reset(&r->line);
    wm_buf_puts(&r->line, "NOTE");
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if ((v = json_object_get(o, fields[i])) && (ret = append_field(r, fields[i], v)) != WM_OK)
            return ret;
    if ((ret = parse_line(r)) != WM_OK)
        return ret;
    it = record_add(r, (uint64_t)version);
    ret = proto_note_build(&r->req, &it->u.note, msg, sizeof msg);
    if (ret != WM_OK)
        return ret == WM_ENOMEM ? ret : bad(r, "note: %s", msg);
    it->op = STORE_OP_NOTE;
    snprintf(it->u.note.principal, sizeof it->u.note.principal, "%s", principal);
    it->u.note.time = at;
    r->n++;
    r->res->notes++;
    return WM_OK;
}

/* ---- lines
 * ------------------------------------------------------------------------------------------ */

static int restore_header(struct restore *r, json_t *o)
{
    int64_t version;

    if (r->have_header || r->lineno != 1)
        return bad(r, "a header line must be the first line, once");
    if (!json_is_string(json_object_get(o, "format")) ||
        strcmp(json_string_value(json_object_get(o, "format")), "werkmonitor-export") != 0)
        return bad(r, "not a werkmonitor export (format is not werkmonitor-export)");
    if (need_int(r, o, "version", 1, &version) != WM_OK)
        return WM_EINVALID;
    if (version != OPS_EXPORT_VERSION)
        return bad(r, "export format version %lld; this werkmonitord reads version %d",
                   (long long)version, OPS_EXPORT_VERSION);
    r->have_header = 1;
    return WM_OK;
}

static int restore_end(struct restore *r, json_t *o)
{
    int64_t lines, last;
    int ret = need_int(r, o, "lines", 0, &lines);

    if (ret == WM_OK)
        ret = need_int(r, o, "last_seq", 0, &last);
    if (ret == WM_OK)
        ret = replace_pending(r, r->last_seq + 1);
    if (ret != WM_OK)
        return ret;
    if ((uint64_t)lines != r->lines_seen || (uint64_t)last != r->last_seq)
        return bad(r,
                   "the end line says %lld lines through seq %lld, the export holds %llu through "
                   "seq %llu",
                   (long long)lines, (long long)last, (unsigned long long)r->lines_seen,
                   (unsigned long long)r->last_seq);
    r->have_end = 1;
    return WM_OK;
}

/* One line of the export. */
static int restore_line(struct restore *r, const char *text, size_t len)
{
    json_error_t jerr;
    const char *kind;
    json_t *o;
    int ret, is_record;

    if (r->have_end)
        return bad(r, "a line after the end line");
    o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o)
        return bad(r, "not JSON: %s", jerr.text);
    kind = json_string_value(json_object_get(o, "record"));
    if (!json_is_object(o) || !kind) {
        json_decref(o);
        return bad(r, "an object with a \"record\" key expected");
    }
    is_record =
        strcmp(kind, "event") == 0 || strcmp(kind, "retract") == 0 || strcmp(kind, "note") == 0;
    ret = WM_OK;
    if ((is_record || strcmp(kind, "end") == 0) && !r->s)
        ret = restore_open(r);
    else if (!is_record && strcmp(kind, "end") != 0 && r->s && strcmp(kind, "header") != 0)
        ret = bad(r, "a %s line after the first record", kind);
    if (ret != WM_OK)
        ;
    else if (strcmp(kind, "header") == 0)
        ret = restore_header(r, o);
    else if (!r->have_header)
        ret = bad(r, "the export's header line is missing");
    else if (strcmp(kind, "program") == 0)
        ret = restore_project(r, o, 1);
    else if (strcmp(kind, "project") == 0)
        ret = restore_project(r, o, 0);
    else if (strcmp(kind, "gemeente") == 0)
        ret = restore_gemeente(r, o);
    else if (strcmp(kind, "event") == 0)
        ret = restore_event(r, o);
    else if (strcmp(kind, "retract") == 0)
        ret = restore_retract(r, o);
    else if (strcmp(kind, "note") == 0)
        ret = restore_note(r, o);
    else if (strcmp(kind, "end") == 0)
        ret = restore_end(r, o);
    else
        ret = bad(r, "unknown record kind '%.32s'", kind);
    json_decref(o);
    if (ret == WM_OK && r->n == RESTORE_BATCH)
        ret = restore_flush(r);
    r->lines_seen++;
    return ret;
}

static int restore_read(struct restore *r, FILE *in)
{
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    int ret = WM_OK;

    while (ret == WM_OK && (len = getline(&buf, &cap, in)) >= 0) {
        r->lineno++;
        if ((size_t)len > RESTORE_MAX_LINE) {
            ret = bad(r, "line longer than %u bytes", RESTORE_MAX_LINE);
            break;
        }
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            len--;
        if (len == 0)
            continue;
        ret = restore_line(r, buf, (size_t)len);
    }
    if (ret == WM_OK && ferror(in))
        ret = bad(r, "cannot read: %s", strerror(errno));
    free(buf);
    if (ret == WM_OK)
        ret = restore_flush(r);
    if (ret == WM_OK && !r->have_end)
        ret = bad(r, "the export ends without its end line: it was cut off");
    return ret;
}

/* The directory must hold no store; it is made when missing. */
static int restore_prepare_dir(struct restore *r)
{
    char path[CONFIG_PATH_MAX + 16];
    struct stat sb;

    snprintf(path, sizeof path, "%s/data.mdb", r->dir);
    if (stat(path, &sb) == 0) {
        proto_errf(r->err, r->errlen,
                   "%s already holds a store: restore builds a new one (give an empty directory)",
                   r->dir);
        return WM_EINVALID;
    }
    if (mkdir(r->dir, 0700) == 0)
        r->made_dir = 1;
    else if (errno != EEXIST) {
        proto_errf(r->err, r->errlen, "cannot create %s: %s", r->dir, strerror(errno));
        return WM_EIO;
    }
    return WM_OK;
}

int ops_restore(const char *dir, FILE *in, const char *name, size_t map_size, size_t map_max,
                struct ops_restore_result *res, char *err, size_t errlen)
{
    struct restore r = {.name = name,
                        .dir = dir,
                        .map_size = map_size,
                        .map_max = map_max,
                        .res = res,
                        .err = err,
                        .errlen = errlen};
    time_t now = time(NULL);
    struct tm tm;
    int ret;

    memset(res, 0, sizeof *res);
    localtime_r(&now, &tm);
    r.env.today = proto_date_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    proto_request_init(&r.req);
    wm_buf_init(&r.line);
    r.items = calloc(RESTORE_BATCH, sizeof *r.items);
    r.lines = calloc(RESTORE_BATCH, sizeof *r.lines);
    r.seqs = calloc(RESTORE_BATCH, sizeof *r.seqs);
    if (!r.items || !r.lines || !r.seqs) {
        proto_errf(err, errlen, "out of memory");
        ret = WM_ENOMEM;
        goto out;
    }
    ret = restore_prepare_dir(&r);
    if (ret != WM_OK)
        goto out;
    ret = restore_read(&r, in);
    store_close(r.s);
    r.s = NULL;
    if (ret != WM_OK)
        restore_remove(&r);
    res->records = res->events + res->retractions;
    res->last_seq = r.last_seq;
out:
    restore_release(&r);
    store_close(r.s);
    proto_request_free(&r.req);
    wm_buf_free(&r.line);
    free(r.items);
    free(r.lines);
    free(r.seqs);
    free(r.reg);
    free(r.gem);
    free(r.gemp);
    return ret;
}
