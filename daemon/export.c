/*
 * export: a store written out from one snapshot (store_export) as NDJSON, the complete
 * form that restore reads back, or as CSV, the live events as one table for an engine
 * built for analysis, with the SQL that creates and loads that table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ops.h"

/* ---- NDJSON ---------------------------------------------------------------------------- */

/* One export in progress. */
struct export
{
    const struct ops_export_options *o;
    FILE *out;
    struct ops_export_result *res;
    /* CSV: the projects' categories and scopes, by name */
    struct export_project {
        char name[WM_NAME_MAX + 1];
        char category[WM_NAME_MAX + 1];
        uint8_t scope;
    } * proj;
    size_t nproj, capproj;
    int sorted;
    char *err;
    size_t errlen;
};

/* The export's failure to write: errno says why. */
static int write_failed(struct export *x)
{
    proto_errf(x->err, x->errlen, "cannot write the export: %s", strerror(errno ? errno : EIO));
    return WM_EIO;
}

/* Write o as one line and free it. */
static int put_json(struct export *x, json_t *o)
{
    char *s;
    int ok;

    if (!o) {
        proto_errf(x->err, x->errlen, "out of memory");
        return WM_ENOMEM;
    }
    s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s) {
        proto_errf(x->err, x->errlen, "out of memory");
        return WM_ENOMEM;
    }
    ok = fputs(s, x->out) >= 0 && fputc('\n', x->out) != EOF;
    free(s);
    if (!ok)
        return write_failed(x);
    x->res->lines++;
    return WM_OK;
}

static void set_str(json_t *o, const char *key, const char *val)
{
    json_object_set_new(o, key, json_string(val));
}

static void set_int(json_t *o, const char *key, int64_t val)
{
    json_object_set_new(o, key, json_integer((json_int_t)val));
}

static void set_date(json_t *o, const char *key, int32_t days)
{
    char d[11];

    proto_date_format(days, d);
    set_str(o, key, d);
}

static const char *const target_keys[3] = {"target.started", "target.completed", "target.placed"};

/* A project's or the program's fields, as PROJECT/PROGRAM name them. */
static void set_project(json_t *o, const struct wm_project *p, int program)
{
    if (!program) {
        set_str(o, "name", p->name);
        set_str(o, "category", p->category);
        set_str(o, "scope", p->scope == WM_SCOPE_LOCAL ? "local" : "regional");
    }
    if (p->start != WM_DATE_NONE)
        set_date(o, "start", p->start);
    if (p->end != WM_DATE_NONE)
        set_date(o, "end", p->end);
    for (int i = 0; i < 3; i++)
        if (p->target[i] >= 0)
            set_int(o, target_keys[i], p->target[i]);
    if (!program && p->title[0])
        set_str(o, "title", p->title);
}

static json_t *json_record(const char *kind)
{
    json_t *o = json_object();

    if (o)
        set_str(o, "record", kind);
    return o;
}

static int ndjson_item(struct export *x, const struct store_export_item *it)
{
    json_t *o = NULL;

    switch (it->kind) {
    case STORE_EXPORT_HEADER: {
        char when[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (!(o = json_record("header")))
            break;
        set_str(o, "format", "werkmonitor-export");
        set_int(o, "version", OPS_EXPORT_VERSION);
        set_str(o, "werkmonitord", WM_VERSION);
        set_int(o, "schema", it->u.header.schema);
        set_str(o, "exported", when);
        set_int(o, "last_seq", (int64_t)it->u.header.last_seq);
        set_int(o, "events", (int64_t)it->u.header.events);
        set_int(o, "retracted", (int64_t)it->u.header.retracted);
        set_int(o, "retractions", (int64_t)it->u.header.retractions);
        x->res->last_seq = it->u.header.last_seq;
        break;
    }
    case STORE_EXPORT_PROGRAM:
        if ((o = json_record("program")))
            set_project(o, it->u.project, 1);
        break;
    case STORE_EXPORT_PROJECT:
        if ((o = json_record("project"))) {
            set_int(o, "id", it->id);
            set_project(o, it->u.project, 0);
        }
        break;
    case STORE_EXPORT_GEMEENTE:
        if ((o = json_record("gemeente"))) {
            set_int(o, "id", it->id);
            set_str(o, "name", it->u.gemeente);
        }
        break;
    case STORE_EXPORT_EVENT: {
        const struct wm_event *ev = it->u.event;
        const struct proto_type_desc *td = proto_type_desc(ev->type);
        x->res->events++;
        if (!(o = json_record("event")))
            break;
        set_int(o, "seq", (int64_t)ev->seq);
        set_str(o, "principal", ev->principal);
        set_int(o, "recv_time", ev->recv_time);
        set_str(o, "type", td->name);
        set_str(o, "id", ev->id);
        set_str(o, "person", ev->person);
        set_str(o, "gemeente", ev->gemeente);
        set_date(o, "date", ev->date);
        if (ev->project[0])
            set_str(o, "project", ev->project);
        for (int i = 0; i < td->nenums; i++)
            set_str(o, td->enums[i]->name, td->enums[i]->values[ev->enums[i]]);
        if (ev->months >= 0)
            set_int(o, "months", ev->months);
        if (ev->hours >= 0)
            set_int(o, "hours", ev->hours);
        if (ev->employer[0])
            set_str(o, "employer", ev->employer);
        if (ev->by[0])
            set_str(o, "by", ev->by);
        if (ev->replaces)
            set_int(o, "replaces", (int64_t)ev->replaces);
        if (it->retracted_by)
            set_int(o, "retracted_by", (int64_t)it->retracted_by);
        break;
    }
    case STORE_EXPORT_RETRACT: {
        const struct wm_retract *rt = it->u.retract;
        x->res->retractions++;
        if (!(o = json_record("retract")))
            break;
        set_int(o, "seq", (int64_t)rt->seq);
        set_str(o, "principal", rt->principal);
        set_int(o, "recv_time", rt->recv_time);
        set_str(o, "id", rt->id);
        if (!rt->by_seq)
            set_str(o, "ref", rt->ref);
        set_int(o, "ref_seq", (int64_t)rt->ref_seq);
        json_object_set_new(o, "by_seq", json_boolean(rt->by_seq));
        if (rt->reason[0])
            set_str(o, "reason", rt->reason);
        if (rt->replaced_by)
            set_int(o, "replaced_by", (int64_t)rt->replaced_by);
        break;
    }
    case STORE_EXPORT_NOTE: {
        const struct wm_note *n = it->u.note;
        char period[8];
        x->res->notes++;
        if (!(o = json_record("note")))
            break;
        proto_period_format(n->period, period);
        set_str(o, "period", period);
        if (n->category[0])
            set_str(o, "category", n->category);
        if (n->project[0])
            set_str(o, "project", n->project);
        set_int(o, "version", (int64_t)n->version);
        set_str(o, "principal", n->principal);
        set_int(o, "at", n->time);
        set_str(o, "light", proto_light_name(n->light));
        json_object_set_new(o, "text", json_stringn(n->text, n->text_len));
        break;
    }
    default:
        proto_errf(x->err, x->errlen, "unknown export item %d", it->kind);
        return WM_EINTERNAL;
    }
    return put_json(x, o);
}

/* ---- CSV --------------------------------------------------------------------------------- */

/* The CSV table, in column order: name, PostgreSQL type, ClickHouse type. The enum
 * columns are named after the fields; an event fills those of its type. */
struct csv_col {
    const char *name, *pg, *ch;
};
static const struct csv_col csv_cols[] = {
    {"seq", "bigint PRIMARY KEY", "UInt64"},
    {"received", "timestamp NOT NULL", "DateTime('UTC')"},
    {"principal", "text NOT NULL", "LowCardinality(String)"},
    {"id", "text NOT NULL", "String"},
    {"type", "text NOT NULL", "LowCardinality(String)"},
    {"date", "date NOT NULL", "Date"},
    {"year", "smallint NOT NULL", "UInt16"},
    {"quarter", "text NOT NULL", "LowCardinality(String)"},
    {"month", "text NOT NULL", "LowCardinality(String)"},
    {"gemeente", "text NOT NULL", "LowCardinality(String)"},
    {"project", "text", "LowCardinality(Nullable(String))"},
    {"category", "text", "LowCardinality(Nullable(String))"},
    {"scope", "text", "LowCardinality(Nullable(String))"},
    {"kind", "text", "LowCardinality(Nullable(String))"},
    {"doelgroep", "text", "LowCardinality(Nullable(String))"},
    {"benefit", "text", "LowCardinality(Nullable(String))"},
    {"result", "text", "LowCardinality(Nullable(String))"},
    {"sector", "text", "LowCardinality(Nullable(String))"},
    {"contract", "text", "LowCardinality(Nullable(String))"},
    {"durable", "text", "LowCardinality(Nullable(String))"},
    {"reason", "text", "LowCardinality(Nullable(String))"},
    {"months", "smallint", "Nullable(UInt8)"},
    {"hours", "smallint", "Nullable(UInt8)"},
    {"employer", "text", "Nullable(String)"},
    {"placed_by", "text", "Nullable(String)"},
    {"person", "text", "Nullable(String)"},
};
#define CSV_NCOLS (sizeof csv_cols / sizeof csv_cols[0])
#define CSV_FIRST_ENUM 13 /* kind */
#define CSV_NENUMS 8      /* kind .. reason */

/* The CSV's columns: every one, without person unless asked for. */
static size_t csv_ncols(const struct ops_export_options *o)
{
    return o->with_pseudonyms ? CSV_NCOLS : CSV_NCOLS - 1;
}

/* Append field v to b, quoted as RFC 4180 wants when it holds a comma, quote or line
 * break (values never hold control bytes, but the rule is kept whole). */
static void csv_field(struct wm_buf *b, const char *v, int last)
{
    if (v && strpbrk(v, ",\"\r\n")) {
        wm_buf_puts(b, "\"");
        for (const char *p = v; *p; p++) {
            if (*p == '"')
                wm_buf_puts(b, "\"");
            wm_buf_append(b, p, 1);
        }
        wm_buf_puts(b, "\"");
    } else if (v) {
        wm_buf_puts(b, v);
    }
    wm_buf_puts(b, last ? "\n" : ",");
}

static int proj_cmp(const void *a, const void *b)
{
    return strcmp(((const struct export_project *)a)->name,
                  ((const struct export_project *)b)->name);
}

static int csv_project(struct export *x, const struct wm_project *p)
{
    if (x->nproj == x->capproj) {
        size_t cap = x->capproj ? x->capproj * 2 : 64;
        void *np = realloc(x->proj, cap * sizeof *x->proj);
        if (!np) {
            proto_errf(x->err, x->errlen, "out of memory");
            return WM_ENOMEM;
        }
        x->proj = np;
        x->capproj = cap;
    }
    snprintf(x->proj[x->nproj].name, sizeof x->proj[0].name, "%s", p->name);
    snprintf(x->proj[x->nproj].category, sizeof x->proj[0].category, "%s", p->category);
    x->proj[x->nproj++].scope = p->scope;
    return WM_OK;
}

static int csv_event(struct export *x, const struct wm_event *ev)
{
    const struct proto_type_desc *td = proto_type_desc(ev->type);
    const struct export_project *p = NULL;
    const char *vals[CSV_NCOLS] = {0};
    char seq[24], recv[32], date[11], year[16], quarter[32], month[32], months[8], hours[8];
    size_t n = csv_ncols(x->o);
    struct wm_buf b;
    time_t t = (time_t)ev->recv_time;
    struct tm tm;
    int y, m, d, ok;

    if (!x->sorted) {
        qsort(x->proj, x->nproj, sizeof *x->proj, proj_cmp);
        x->sorted = 1;
    }
    if (ev->project[0]) {
        struct export_project key;
        snprintf(key.name, sizeof key.name, "%s", ev->project);
        p = bsearch(&key, x->proj, x->nproj, sizeof *x->proj, proj_cmp);
    }
    snprintf(seq, sizeof seq, "%llu", (unsigned long long)ev->seq);
    gmtime_r(&t, &tm);
    strftime(recv, sizeof recv, "%Y-%m-%d %H:%M:%S", &tm);
    proto_date_format(ev->date, date);
    proto_date_split(ev->date, &y, &m, &d);
    snprintf(year, sizeof year, "%04d", y);
    snprintf(quarter, sizeof quarter, "%04d-Q%d", y, (m - 1) / 3 + 1);
    snprintf(month, sizeof month, "%04d-%02d", y, m);
    vals[0] = seq;
    vals[1] = recv;
    vals[2] = ev->principal;
    vals[3] = ev->id;
    vals[4] = td->name;
    vals[5] = date;
    vals[6] = year;
    vals[7] = quarter;
    vals[8] = month;
    vals[9] = ev->gemeente;
    if (ev->project[0]) {
        vals[10] = ev->project;
        vals[11] = p ? p->category : NULL;
        vals[12] = p ? (p->scope == WM_SCOPE_LOCAL ? "local" : "regional") : NULL;
    }
    for (int i = 0; i < td->nenums; i++) {
        size_t c;
        for (c = CSV_FIRST_ENUM; c < CSV_FIRST_ENUM + CSV_NENUMS; c++)
            if (strcmp(csv_cols[c].name, td->enums[i]->name) == 0)
                break;
        if (c == CSV_FIRST_ENUM + CSV_NENUMS) {
            proto_errf(x->err, x->errlen, "the CSV table has no column for %s's field %s", td->name,
                       td->enums[i]->name);
            return WM_EINTERNAL;
        }
        vals[c] = td->enums[i]->values[ev->enums[i]];
    }
    if (ev->months >= 0) {
        snprintf(months, sizeof months, "%d", ev->months);
        vals[21] = months;
    }
    if (ev->hours >= 0) {
        snprintf(hours, sizeof hours, "%d", ev->hours);
        vals[22] = hours;
    }
    vals[23] = ev->employer[0] ? ev->employer : NULL;
    vals[24] = ev->by[0] ? ev->by : NULL;
    vals[25] = ev->person;
    wm_buf_init(&b);
    for (size_t c = 0; c < n; c++)
        csv_field(&b, vals[c], c + 1 == n);
    if (b.oom) {
        wm_buf_free(&b);
        proto_errf(x->err, x->errlen, "out of memory");
        return WM_ENOMEM;
    }
    ok = fwrite(b.data, 1, b.len, x->out) == b.len;
    wm_buf_free(&b);
    if (!ok)
        return write_failed(x);
    x->res->events++;
    x->res->lines++;
    return WM_OK;
}

static int csv_item(struct export *x, const struct store_export_item *it)
{
    switch (it->kind) {
    case STORE_EXPORT_HEADER: {
        size_t n = csv_ncols(x->o);
        x->res->last_seq = it->u.header.last_seq;
        for (size_t c = 0; c < n; c++)
            if (fprintf(x->out, "%s%s", csv_cols[c].name, c + 1 == n ? "\n" : ",") < 0)
                return write_failed(x);
        x->res->lines++;
        return WM_OK;
    }
    case STORE_EXPORT_PROJECT:
        return csv_project(x, it->u.project);
    case STORE_EXPORT_EVENT:
        return csv_event(x, it->u.event);
    default:
        return WM_OK;
    }
}

static int export_cb(void *arg, const struct store_export_item *it)
{
    struct export *x = arg;

    return x->o->format == OPS_FORMAT_CSV ? csv_item(x, it) : ndjson_item(x, it);
}

int ops_export(struct store *s, const struct ops_export_options *o, FILE *out,
               struct ops_export_result *res, char *err, size_t errlen)
{
    struct export x = {.o = o, .out = out, .res = res, .err = err, .errlen = errlen};
    int ret;

    memset(res, 0, sizeof *res);
    errno = 0;
    ret = store_export(s, o->format == OPS_FORMAT_CSV, export_cb, &x, err, errlen);
    if (ret == WM_OK && o->format == OPS_FORMAT_NDJSON) {
        /* the end line: a restore refuses an export without it (a cut-off file) */
        json_t *end = json_record("end");
        if (end) {
            set_int(end, "last_seq", (int64_t)res->last_seq);
            set_int(end, "lines", (int64_t)res->lines);
        }
        ret = put_json(&x, end);
    }
    if (ret == WM_OK && fflush(out) != 0)
        ret = write_failed(&x);
    free(x.proj);
    return ret;
}

/* ---- the SQL that loads the CSV ------------------------------------------------------------ */

int ops_print_schema(const char *engine, const struct ops_export_options *o, FILE *out, char *err,
                     size_t errlen)
{
    int pg = strcmp(engine, "postgresql") == 0;
    size_t n = csv_ncols(o);

    if (!pg && strcmp(engine, "clickhouse") != 0) {
        proto_errf(err, errlen, "want postgresql or clickhouse, got '%.32s'", engine);
        return WM_EINVALID;
    }
    fprintf(out,
            "-- werkmonitor: the table of `werkmonitord export --format csv%s` (CSV schema %d,\n"
            "-- werkmonitord %s), one row per live event; %s\n",
            o->with_pseudonyms ? " --with-pseudonyms" : "", OPS_CSV_VERSION, WM_VERSION,
            pg ? "PostgreSQL." : "ClickHouse.");
    fprintf(out, "CREATE TABLE %s (\n", o->table);
    for (size_t c = 0; c < n; c++)
        fprintf(out, "    %s %s%s\n", csv_cols[c].name, pg ? csv_cols[c].pg : csv_cols[c].ch,
                c + 1 == n ? "" : ",");
    if (pg) {
        fprintf(out, ");\n"
                     "-- Load the CSV from standard input, e.g.\n"
                     "--   werkmonitord export --format csv ... > events.csv\n"
                     "--   psql -v ON_ERROR_STOP=1 -f this-file.sql < events.csv\n");
        fprintf(out, "\\copy %s FROM pstdin WITH (FORMAT csv, HEADER true)\n", o->table);
    } else {
        fprintf(out,
                ") ENGINE = MergeTree ORDER BY (type, date, seq);\n"
                "-- Load the CSV with clickhouse-client, e.g.\n"
                "--   clickhouse-client --multiquery < this-file.sql\n"
                "--   clickhouse-client --query \"INSERT INTO %s FORMAT CSVWithNames\" < "
                "events.csv\n",
                o->table);
    }
    return WM_OK;
}
