/*
 * import's columns: what a file's column (or NDJSON key) holds. A name is looked up in
 * the mapping profile (--map), then among the protocol's fields, then among the Dutch
 * names a municipality's export uses; the profile's format is read here too (README,
 * "Importing a municipality's export", and data/import-map.example).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "import_int.h"

#define MAP_MAX_LINE 4096

/* The Dutch column names understood without a profile, and the field each names. */
static const struct {
    const char *name, *field;
} dutch_names[] = {
    {"datum", "date"},       {"soort", "type"},        {"bsn", "bsn"},
    {"resultaat", "result"}, {"uitkering", "benefit"}, {"reden", "reason"},
    {"maanden", "months"},   {"uren", "hours"},        {"werkgever", "employer"},
    {"persoon", "person"},   {"accountmanager", "by"}, {"kenmerk", "id"},
};

int imp_target_valid(const char *name)
{
    return strcmp(name, "type") == 0 || strcmp(name, "bsn") == 0 ||
           proto_event_field_kind(-1, name) != PROTO_FIELD_NONE;
}

/* What a target field name becomes: its column kind and value kind. */
static void column_of_field(const struct imp_map *m, const char *field, struct imp_column *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->field, sizeof(c->field), "%s", field);
    if (strcmp(field, "type") == 0)
        c->kind = IMP_COL_TYPE;
    else if (strcmp(field, "bsn") == 0)
        c->kind = IMP_COL_BSN;
    else
        c->kind = IMP_COL_FIELD;
    c->vkind = proto_event_field_kind(-1, field);
    for (size_t i = 0; m != NULL && i < m->nvals; i++) {
        if (strcmp(m->vals[i].field, field) == 0) {
            c->xlat = m->vals[i].x;
            c->nxlat = m->vals[i].n;
        }
    }
}

void imp_map_column(const struct imp_map *m, const char *name, int ignore_unknown,
                    struct imp_column *c)
{
    for (size_t i = 0; m != NULL && i < m->ncols; i++) {
        if (strcmp(m->cols[i].source, name) != 0)
            continue;
        if (strcmp(m->cols[i].target, "-") == 0) {
            memset(c, 0, sizeof(*c));
            c->kind = IMP_COL_IGNORE;
            return;
        }
        column_of_field(m, m->cols[i].target, c);
        return;
    }
    if (imp_target_valid(name)) {
        column_of_field(m, name, c);
        return;
    }
    for (size_t i = 0; i < sizeof(dutch_names) / sizeof(dutch_names[0]); i++) {
        if (strcmp(dutch_names[i].name, name) == 0) {
            column_of_field(m, dutch_names[i].field, c);
            return;
        }
    }
    memset(c, 0, sizeof(*c));
    if (*name == '\0')
        c->kind = IMP_COL_UNNAMED;
    else if (strcmp(name, "regel") == 0 || strcmp(name, "fout") == 0)
        c->kind = IMP_COL_REJECT_NOTE; /* a rejects file, corrected: not the event's */
    else
        c->kind =
            ignore_unknown || (m != NULL && m->ignore_unknown) ? IMP_COL_IGNORE : IMP_COL_UNKNOWN;
}

const char *imp_xlat_find(const struct imp_column *c, const char *v, size_t n)
{
    for (size_t i = 0; i < c->nxlat; i++)
        if (c->xlat[i].from_len == n && strncasecmp(c->xlat[i].from, v, n) == 0)
            return c->xlat[i].to;
    return NULL;
}

/* ---- the profile file ----------------------------------------------------- */

enum map_section { SEC_NONE, SEC_OPTIONS, SEC_COLUMNS, SEC_VALUES, SEC_SET, SEC_IGNORE };

/* Reading state: where we are, for messages. */
struct map_reader {
    struct imp_map *m;
    const char *path;
    long line;
    enum map_section sec;
    size_t vals; /* the current [values] block's index in m->vals */
    char *why;
    size_t whylen;
};

static int map_error(struct map_reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int map_error(struct map_reader *r, const char *fmt, ...)
{
    va_list ap;
    int k = snprintf(r->why, r->whylen, "map %s, line %ld: ", r->path, r->line);

    va_start(ap, fmt);
    if (k > 0 && (size_t)k < r->whylen)
        vsnprintf(r->why + k, r->whylen - (size_t)k, fmt, ap);
    va_end(ap);
    return WM_ECONFIG;
}

/* Grow an array of n elements of size sz to hold one more. Returns 0 or -1. */
static int grow(void **arr, size_t n, size_t *cap, size_t sz)
{
    void *p;

    if (n < *cap)
        return 0;
    p = realloc(*arr, (*cap == 0 ? 8 : *cap * 2) * sz);
    if (p == NULL)
        return -1;
    *arr = p;
    *cap = *cap == 0 ? 8 : *cap * 2;
    return 0;
}

/* A copy of s (n bytes) with white space folded; lowercased when lower. NULL when out
 * of memory. */
static char *dup_folded(const char *s, size_t n, int lower, size_t *outlen)
{
    char *d = malloc(n + 1);
    size_t k;

    if (d == NULL)
        return NULL;
    k = lower ? imp_name_normalise(d, s, n) : imp_value_fold(d, s, n);
    d[k] = '\0';
    if (outlen != NULL)
        *outlen = k;
    return d;
}

static int yes_no(const char *v, int *out)
{
    if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "ja") == 0 || strcmp(v, "1") == 0 ||
        strcasecmp(v, "true") == 0)
        *out = 1;
    else if (strcasecmp(v, "no") == 0 || strcasecmp(v, "nee") == 0 || strcmp(v, "0") == 0 ||
             strcasecmp(v, "false") == 0)
        *out = 0;
    else
        return -1;
    return 0;
}

/* Replace *slot by a copy of v. Returns 0 or -1. */
static int set_string(char **slot, const char *v)
{
    char *d = strdup(v);

    if (d == NULL)
        return -1;
    free(*slot);
    *slot = d;
    return 0;
}

static int map_option(struct map_reader *r, const char *key, const char *v)
{
    struct imp_map *m = r->m;

    if (strcmp(key, "type") == 0)
        return set_string(&m->type, v) == 0 ? WM_OK : WM_ENOMEM;
    if (strcmp(key, "date-format") == 0) {
        char why[256];

        if (imp_date_pattern_check(v, why, sizeof(why)) != WM_OK)
            return map_error(r, "%s", why);
        return set_string(&m->date_format, v) == 0 ? WM_OK : WM_ENOMEM;
    }
    if (strcmp(key, "encoding") == 0)
        return set_string(&m->encoding, v) == 0 ? WM_OK : WM_ENOMEM;
    if (strcmp(key, "ignore-unknown") == 0) {
        if (yes_no(v, &m->ignore_unknown) != 0)
            return map_error(r, "ignore-unknown is yes or no, not '%.64s'", v);
        return WM_OK;
    }
    return map_error(r, "unknown option '%.64s' (type, date-format, encoding, ignore-unknown)",
                     key);
}

int imp_map_add_column(struct imp_map *m, const char *source, size_t n, const char *target)
{
    struct imp_map_col *c;

    if (grow((void **)&m->cols, m->ncols, &m->colcap, sizeof(*m->cols)) != 0)
        return WM_ENOMEM;
    c = &m->cols[m->ncols];
    c->source = dup_folded(source, n, 1, NULL);
    c->target = strdup(target);
    if (c->source == NULL || c->target == NULL) {
        free(c->source);
        free(c->target);
        return WM_ENOMEM;
    }
    m->ncols++;
    return WM_OK;
}

int imp_map_set(struct imp_map *m, const char *field, const char *value)
{
    for (size_t i = 0; i < m->nsets; i++)
        if (strcmp(m->sets[i].field, field) == 0)
            return set_string(&m->sets[i].value, value) == 0 ? WM_OK : WM_ENOMEM;
    if (grow((void **)&m->sets, m->nsets, &m->setcap, sizeof(*m->sets)) != 0)
        return WM_ENOMEM;
    m->sets[m->nsets].field = strdup(field);
    m->sets[m->nsets].value = strdup(value);
    if (m->sets[m->nsets].field == NULL || m->sets[m->nsets].value == NULL) {
        free(m->sets[m->nsets].field);
        free(m->sets[m->nsets].value);
        return WM_ENOMEM;
    }
    m->nsets++;
    return WM_OK;
}

/* "[values <field>]": find or open the block of that field. */
static int map_values_block(struct map_reader *r, const char *field)
{
    struct imp_map *m = r->m;

    if (!imp_target_valid(field) || strcmp(field, "bsn") == 0)
        return map_error(r, "[values %.64s]: not a field whose values can be translated", field);
    for (size_t i = 0; i < m->nvals; i++) {
        if (strcmp(m->vals[i].field, field) == 0) {
            r->vals = i;
            return WM_OK;
        }
    }
    if (grow((void **)&m->vals, m->nvals, &m->valcap, sizeof(*m->vals)) != 0)
        return WM_ENOMEM;
    memset(&m->vals[m->nvals], 0, sizeof(m->vals[0]));
    if ((m->vals[m->nvals].field = strdup(field)) == NULL)
        return WM_ENOMEM;
    r->vals = m->nvals++;
    return WM_OK;
}

static int map_value(struct map_reader *r, const char *from, size_t fn, const char *to)
{
    struct imp_map_vals *b = &r->m->vals[r->vals];
    struct imp_xlat *x;

    if (grow((void **)&b->x, b->n, &b->cap, sizeof(*b->x)) != 0)
        return WM_ENOMEM;
    x = &b->x[b->n];
    x->from = dup_folded(from, fn, 0, &x->from_len);
    x->to = strdup(to);
    if (x->from == NULL || x->to == NULL) {
        free(x->from);
        free(x->to);
        return WM_ENOMEM;
    }
    b->n++;
    return WM_OK;
}

/* A section header "[name]" or "[values field]". */
static int map_section(struct map_reader *r, char *s)
{
    size_t n = strlen(s);
    char *arg;

    if (s[n - 1] != ']')
        return map_error(r, "a section header ends in ']'");
    s[n - 1] = '\0';
    s++;
    n = imp_name_normalise(s, s, strlen(s));
    s[n] = '\0';
    arg = strchr(s, ' ');
    if (arg != NULL)
        *arg++ = '\0';
    if (strcmp(s, "values") == 0) {
        if (arg == NULL)
            return map_error(r, "[values] names its field: [values sector]");
        r->sec = SEC_VALUES;
        return map_values_block(r, arg);
    }
    if (arg != NULL)
        return map_error(r, "unexpected '%.64s' after [%.32s]", arg, s);
    if (strcmp(s, "options") == 0)
        r->sec = SEC_OPTIONS;
    else if (strcmp(s, "columns") == 0)
        r->sec = SEC_COLUMNS;
    else if (strcmp(s, "set") == 0)
        r->sec = SEC_SET;
    else if (strcmp(s, "ignore") == 0)
        r->sec = SEC_IGNORE;
    else
        return map_error(
            r, "unknown section [%.64s] (options, columns, values <field>, set, ignore)", s);
    return WM_OK;
}

/* One line that is neither blank nor a comment nor a section header. */
static int map_entry(struct map_reader *r, char *s)
{
    char *eq = strchr(s, '=');
    char *key = s, *val;
    size_t kn, vn;

    if (r->sec == SEC_NONE)
        return map_error(r, "a line before the first [section]");
    if (r->sec == SEC_IGNORE)
        return imp_map_add_column(r->m, s, strlen(s), "-");
    if (eq == NULL)
        return map_error(r, "expected 'name = value'");
    kn = imp_value_fold(key, key, (size_t)(eq - key));
    key[kn] = '\0';
    val = eq + 1;
    vn = imp_value_fold(val, val, strlen(val));
    val[vn] = '\0';
    if (kn == 0)
        return map_error(r, "nothing before '='");
    switch (r->sec) {
    case SEC_OPTIONS:
        for (char *p = key; *p != '\0'; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        return map_option(r, key, val);
    case SEC_COLUMNS:
        if (strcmp(val, "-") != 0 && !imp_target_valid(val))
            return map_error(r, "'%.64s' is not a field (nor type, bsn, or - to ignore)", val);
        return imp_map_add_column(r->m, key, kn, val);
    case SEC_VALUES:
        if (vn == 0)
            return map_error(r, "nothing after '='");
        return map_value(r, key, kn, val);
    case SEC_SET:
        if (!imp_target_valid(key) || strcmp(key, "bsn") == 0)
            return map_error(r, "'%.64s' is not a field that can be set", key);
        return imp_map_set(r->m, key, val);
    default:
        return WM_EINTERNAL;
    }
}

int imp_map_load(struct imp_map *m, const char *path, char *why, size_t whylen)
{
    struct map_reader r = {m, path, 0, SEC_NONE, 0, why, whylen};
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = WM_OK;

    if (f == NULL) {
        snprintf(why, whylen, "cannot open map %s: %s", path, strerror(errno));
        return WM_EIO;
    }
    while (rc == WM_OK && (n = getline(&line, &cap, f)) >= 0) {
        char *s = line;

        r.line++;
        if (n > MAP_MAX_LINE) {
            rc = map_error(&r, "line longer than %d bytes", MAP_MAX_LINE);
            break;
        }
        if (r.line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
            s += 3;
        n = (ssize_t)imp_value_fold(s, s, strlen(s));
        s[n] = '\0';
        if (n == 0 || s[0] == '#' || s[0] == ';')
            continue;
        if (!proto_utf8_valid(s, (size_t)n))
            rc = map_error(&r, "not UTF-8 (save the map as UTF-8)");
        else if (s[0] == '[')
            rc = map_section(&r, s);
        else
            rc = map_entry(&r, s);
    }
    if (rc == WM_OK && ferror(f)) {
        snprintf(why, whylen, "cannot read map %s: %s", path, strerror(errno));
        rc = WM_EIO;
    }
    if (rc == WM_ENOMEM)
        snprintf(why, whylen, "out of memory");
    free(line);
    fclose(f);
    return rc;
}

void imp_map_free(struct imp_map *m)
{
    for (size_t i = 0; i < m->ncols; i++) {
        free(m->cols[i].source);
        free(m->cols[i].target);
    }
    for (size_t i = 0; i < m->nvals; i++) {
        for (size_t j = 0; j < m->vals[i].n; j++) {
            free(m->vals[i].x[j].from);
            free(m->vals[i].x[j].to);
        }
        free(m->vals[i].x);
        free(m->vals[i].field);
    }
    for (size_t i = 0; i < m->nsets; i++) {
        free(m->sets[i].field);
        free(m->sets[i].value);
    }
    free(m->cols);
    free(m->vals);
    free(m->sets);
    free(m->type);
    free(m->date_format);
    free(m->encoding);
    memset(m, 0, sizeof(*m));
}
