/*
 * import's NDJSON reader (jansson): one JSON object per line into one row of named
 * values for import_row.c. Strings and integers are values, null means absent; the
 * keys are the field names, as a CSV header's columns are.
 */
#include <string.h>

#include <jansson.h>

#include "import_int.h"

/* The value of key as text: a string as it is, an integer in decimal (into num).
 * Returns 0, or -1 when it is neither. */
static int ndjson_value(json_t *val, char num[32], const char **v, size_t *vn)
{
    if (json_is_string(val)) {
        *v = json_string_value(val);
        *vn = json_string_length(val);
    } else if (json_is_integer(val)) {
        snprintf(num, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(val));
        *v = num;
        *vn = strlen(num);
    } else {
        return -1;
    }
    return 0;
}

/* The object's fields into row s, type first. Returns 0, or -1 after a reject. */
static int ndjson_fields(struct imp *im, struct imp_slot *s, json_t *obj)
{
    json_t *type = json_object_get(obj, "type");
    const char *key;
    json_t *val;

    if (json_object_get(obj, "bsn") != NULL && !im->have_key) {
        imp_row_reject(s, "bsn needs --pseudo-key to become a pseudonym (not sent)");
        return -1;
    }
    if (json_object_get(obj, "bsn") != NULL && json_object_get(obj, "person") != NULL) {
        imp_row_reject(s, "both bsn and person given");
        return -1;
    }
    if (!json_is_string(type) || json_string_length(type) == 0) {
        imp_row_reject(s, "type missing or not a string");
        return -1;
    }
    imp_row_type(s, json_string_value(type), json_string_length(type));
    json_object_foreach(obj, key, val)
    {
        enum imp_col kind = imp_col_kind(key);
        char num[32];
        const char *v;
        size_t vn;

        if (kind == IMP_COL_TYPE || json_is_null(val))
            continue;
        if (!imp_name_valid(key)) {
            imp_row_reject(s, "key '%.64s' is not a field name", key);
            return -1;
        }
        if (ndjson_value(val, num, &v, &vn) != 0) {
            imp_row_reject(s, "%.64s must be a string or an integer", key);
            return -1;
        }
        if (vn == 0)
            continue; /* empty means absent, as in CSV */
        if (imp_row_field(im, s, key, kind, v, vn) != 0)
            return -1;
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
    obj = json_loadb(p, n, 0, &jerr);
    if (obj == NULL || !json_is_object(obj))
        imp_row_reject(s, "line is not a JSON object%s%s", obj == NULL ? ": " : "",
                       obj == NULL ? jerr.text : "");
    else if (ndjson_fields(im, s, obj) == 0)
        imp_row_end(im, s);
    json_decref(obj);
}
