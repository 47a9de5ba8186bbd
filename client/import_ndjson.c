/*
 * import's NDJSON reader (jansson): one JSON object per line into one row for
 * import_row.c. Strings and numbers are values (a number with a zero fraction, 12.0,
 * is the whole number), null means absent; keys are resolved as a CSV header's
 * columns are, but line by line: an unknown key stops the import where it is met.
 */
#include <string.h>

#include <jansson.h>

#include "import_int.h"

/* The value as text: a string as it is, a number in decimal (into num). Returns 0, or
 * -1 when it is neither. */
static int ndjson_value(json_t *val, char num[40], const char **v, size_t *vn)
{
    if (json_is_string(val)) {
        *v = json_string_value(val);
        *vn = json_string_length(val);
        return 0;
    }
    if (json_is_integer(val))
        snprintf(num, 40, "%" JSON_INTEGER_FORMAT, json_integer_value(val));
    else if (json_is_real(val) && json_real_value(val) > -1e15 && json_real_value(val) < 1e15 &&
             json_real_value(val) == (double)(long long)json_real_value(val))
        snprintf(num, 40, "%lld", (long long)json_real_value(val));
    else if (json_is_real(val))
        snprintf(num, 40, "%.15g", json_real_value(val));
    else
        return -1;
    *v = num;
    *vn = strlen(num);
    return 0;
}

/* The column of key (into c). Returns 0, or -1 after the fatal error of an unknown
 * key. */
static int ndjson_column(struct imp *im, const char *key, struct imp_column *c)
{
    char name[256];
    size_t n = strlen(key);

    if (n >= sizeof(name))
        n = sizeof(name) - 1;
    n = imp_name_normalise(name, key, n);
    name[n] = '\0';
    imp_map_column(&im->map, name, im->ignore_unknown, c);
    if (c->kind == IMP_COL_UNKNOWN || c->kind == IMP_COL_UNNAMED) {
        imp_fail(im, WM_ECONFIG,
                 "%s: line %ld: unknown key '%.64s' (the import stops here): map it to a field "
                 "in a --map profile ([columns], or [ignore] to skip), or give "
                 "--ignore-unknown to skip every key that is not a field",
                 im->in.path, im->in.lineno, key);
        return -1;
    }
    if (c->kind == IMP_COL_BSN && !im->have_key) {
        imp_fail(im, WM_ECONFIG,
                 "%s: line %ld has a bsn: give --pseudo-key FILE to turn BSNs into pseudonyms "
                 "(a BSN is never sent)",
                 im->in.path, im->in.lineno);
        return -1;
    }
    return 0;
}

/* The type of the object (its key that gives the type) and then its fields into row s.
 * Returns 0, or -1 after a fatal error. */
static int ndjson_fields(struct imp *im, struct imp_slot *s, json_t *obj)
{
    struct imp_column c, tcol;
    const char *key, *type = NULL;
    size_t type_n = 0;
    json_t *val;

    json_object_foreach(obj, key, val)
    {
        if (ndjson_column(im, key, &c) != 0)
            return -1;
        if (c.kind == IMP_COL_TYPE && json_is_string(val)) {
            tcol = c;
            type = json_string_value(val);
            type_n = json_string_length(val);
        }
    }
    imp_row_type(im, s, type != NULL ? &tcol : NULL, type, type_n);
    json_object_foreach(obj, key, val)
    {
        char num[40];
        const char *v;
        size_t vn;

        ndjson_column(im, key, &c);
        if (c.kind != IMP_COL_FIELD && c.kind != IMP_COL_BSN)
            continue;
        if (json_is_null(val))
            continue;
        if (c.kind == IMP_COL_BSN && json_is_real(val))
            imp_row_error(s, "bsn: Excel turned this BSN into a number: format the column as "
                             "text (not sent)");
        else if (ndjson_value(val, num, &v, &vn) != 0)
            imp_row_error(s, "%.64s must be a string or a number", key);
        else
            imp_row_value(im, s, &c, v, vn);
    }
    return 0;
}

void imp_ndjson_line(struct imp *im, const char *p, size_t n)
{
    json_error_t jerr;
    json_t *obj;
    struct imp_slot *s;
    size_t k = 0;

    while (k < n && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r' || p[k] == '\n'))
        k++;
    if (k == n || (s = imp_row_new(im, im->in.lineno)) == NULL)
        return; /* a blank line, or out of memory */
    while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n'))
        n--;
    wm_buf_append(&s->raw, p, n);
    obj = json_loadb(p, n, 0, &jerr);
    if (obj == NULL || !json_is_object(obj)) {
        imp_row_error(s, "line is not a JSON object%s%s", obj == NULL ? ": " : "",
                      obj == NULL ? jerr.text : "");
    } else if (ndjson_fields(im, s, obj) != 0) {
        s->local = 1; /* the import ends here: never sent */
        json_decref(obj);
        return;
    }
    imp_row_end(im, s);
    json_decref(obj);
}
