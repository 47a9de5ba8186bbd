/*
 * query: validation of the read requests COUNT and PROGRESS (PROTOCOL.md section 5)
 * into struct wm_count_query / wm_progress_query, ready for storage to answer from
 * its rollups without looking at the request text again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#define QUOTE_MAX 72

static int bad(const char *field, const char *what, const char *val, size_t len, char *err,
               size_t errlen)
{
    char q[QUOTE_MAX];

    proto_quote(q, sizeof(q), val, len);
    proto_errf(err, errlen, "%s: %s, got '%s'", field, what, q);
    return WM_EINVALID;
}

/* Four digits, 0001-9999. */
static int parse_year(const char *s, int32_t *year)
{
    uint64_t v;

    if (proto_parse_uint(s, 4, 9999, &v) != WM_OK || v < 1)
        return WM_EINVALID;
    *year = (int32_t)v;
    return WM_OK;
}

/* Validate one value of a filter on dim and add it to f, whose slots are sv[] and nv[]
 * (duplicates are dropped so a storage that sums per value never counts twice). val is
 * NUL-terminated, in the request's own buffer: a name is made canonical there. */
static int filter_add(const struct proto_env *env, const struct proto_type_desc *td, int dim,
                      const char *key, struct wm_filter *f, const char **sv, int32_t *nv, char *val,
                      size_t len, char *err, size_t errlen)
{
    static const char *const scopes[] = {"regional", "local"};
    const char *name = val;
    int32_t year, num = 0;
    size_t i;
    int rc;

    switch (dim) {
    case WM_DIM_PROJECT:
    case WM_DIM_CATEGORY:
    case WM_DIM_GEMEENTE:
        /* canonical names: the configured gemeente, a name lowercased in place */
        if (dim == WM_DIM_GEMEENTE) {
            rc = proto_choice(key, env->gemeenten, env->n_gemeenten, val, err, errlen);
            if (rc < 0)
                return rc;
            name = env->gemeenten[rc];
        } else if (!proto_name_canon(val, len)) {
            return bad(key, "must be 1-64 characters of [a-z0-9-]", val, len, err, errlen);
        }
        for (i = 0; i < f->n; i++)
            if (strcmp(f->str[i], name) == 0)
                return WM_OK;
        break;
    case WM_DIM_YEAR:
        if (len != 4 || parse_year(val, &year) != WM_OK)
            return bad(key, "want YYYY", val, len, err, errlen);
        num = year;
        break;
    case WM_DIM_QUARTER:
        if (len != 7 || parse_year(val, &year) != WM_OK || val[4] != '-' || val[5] != 'Q' ||
            val[6] < '1' || val[6] > '4')
            return bad(key, "want YYYY-Qn with n 1-4", val, len, err, errlen);
        num = year * 4 + (val[6] - '1');
        break;
    case WM_DIM_MONTH:
        if (len != 7 || parse_year(val, &year) != WM_OK || val[4] != '-' || val[5] < '0' ||
            val[5] > '1' || val[6] < '0' || val[6] > '9' ||
            (val[5] - '0') * 10 + (val[6] - '0') < 1 || (val[5] - '0') * 10 + (val[6] - '0') > 12)
            return bad(key, "want YYYY-MM", val, len, err, errlen);
        num = year * 12 + (val[5] - '0') * 10 + (val[6] - '0') - 1;
        break;
    case WM_DIM_HALFYEAR:
        if (proto_period_parse(val, len, &num) != WM_OK)
            return bad(key, "want YYYY-H1 or YYYY-H2", val, len, err, errlen);
        break;
    case WM_DIM_SCOPE:
        rc = proto_choice(key, scopes, 2, val, err, errlen);
        if (rc < 0)
            return rc;
        f->mask |= 1u << rc;
        return WM_OK;
    default: {
        const struct proto_enum_field *ef = td->enums[dim - WM_DIM_ENUM0];
        rc = proto_choice(key, ef->values, ef->nvalues, val, err, errlen);
        if (rc < 0)
            return rc;
        f->mask |= 1u << rc;
        return WM_OK;
    }
    }
    if (dim == WM_DIM_YEAR || dim == WM_DIM_QUARTER || dim == WM_DIM_MONTH ||
        dim == WM_DIM_HALFYEAR)
        for (i = 0; i < f->n; i++)
            if (f->num[i] == num)
                return WM_OK;
    if (f->n >= WM_MAX_FILTER_VALUES) {
        proto_errf(err, errlen, "%s: more than %d values", key, WM_MAX_FILTER_VALUES);
        return WM_EINVALID;
    }
    sv[f->n] = name;
    nv[f->n] = num;
    f->n++;
    return WM_OK;
}

/* Make room in req for the values of every filter list it may hold (each comma, or
 * the NUL a former build left of one, starts another value). */
static int reserve_values(struct proto_request *req, char *err, size_t errlen)
{
    size_t need = 0;
    const char **sv;
    int32_t *nv;

    for (size_t i = 0; i < req->nargs; i++) {
        const struct proto_arg *a = &req->args[i];
        if (a->key == NULL)
            continue;
        need++;
        for (size_t k = 0; k < a->val_len; k++)
            need += a->val[k] == ',' || a->val[k] == '\0';
    }
    if (need <= req->vals_cap)
        return WM_OK;
    sv = realloc(req->vals, need * sizeof(*sv));
    if (sv != NULL)
        req->vals = sv;
    nv = sv != NULL ? realloc(req->nums, need * sizeof(*nv)) : NULL;
    if (nv == NULL) {
        proto_errf(err, errlen, "out of memory");
        return WM_ENOMEM;
    }
    req->nums = nv;
    req->vals_cap = need;
    return WM_OK;
}

/*
 * Split a's comma list in place: commas become NULs in req's own buffer (see proto.h),
 * so each element is a C string of its own. val_len still spans
 * the whole list, so a second build over the same request finds NULs where the commas
 * were and splits identically.
 */
/* a's value, writable: req->buf is the request's own buffer; only the struct is const
 * here. */
static char *arg_text(const struct proto_request *req, const struct proto_arg *a)
{
    return req->buf + (a->val - req->buf);
}

static char *split_list(const struct proto_request *req, const struct proto_arg *a)
{
    char *list = arg_text(req, a);
    size_t i;

    for (i = 0; i < a->val_len; i++)
        if (list[i] == ',')
            list[i] = '\0';
    return list;
}

/* err = "<what> (dimensions of <type>: project, category, ...)": the ones a request of
 * this type may name, so a user who mistyped one sees the right spelling. */
static int unknown_dim(int type, const char *what, char *err, size_t errlen)
{
    char dims[256];
    size_t o = 0;

    dims[0] = '\0';
    for (int d = 0; d < WM_DIM_COUNT_; d++) {
        const char *n = proto_dim_name(type, d);
        int w;
        if (n == NULL)
            continue;
        w = snprintf(dims + o, sizeof(dims) - o, "%s%s", o > 0 ? ", " : "", n);
        if (w < 0 || (size_t)w >= sizeof(dims) - o)
            break;
        o += (size_t)w;
    }
    proto_errf(err, errlen, "%s (dimensions of %s: %s)", what, proto_type_desc(type)->name, dims);
    return WM_EINVALID;
}

static int parse_by(const struct proto_request *req, const struct proto_arg *a, int type,
                    struct wm_count_query *q, char *err, size_t errlen)
{
    char *list;
    size_t i = 0, len, k;
    int dim;

    list = split_list(req, a);
    for (;;) {
        len = strlen(list + i);
        if (i + len > a->val_len)
            len = a->val_len - i;
        dim = len > 0 ? proto_dim_lookup(type, list + i) : -1;
        if (dim < 0) {
            char what[128];
            bad("by", "unknown dimension", list + i, len, what, sizeof(what));
            return unknown_dim(type, what, err, errlen);
        }
        for (k = 0; k < q->nby; k++) {
            if (q->by[k] == dim) {
                proto_errf(err, errlen, "by: dimension %s given twice", list + i);
                return WM_EINVALID;
            }
        }
        q->by[q->nby++] = (uint8_t)dim;
        i += len + 1;
        if (i > a->val_len)
            break;
    }
    return WM_OK;
}

static int parse_date_arg(const struct proto_arg *a, int32_t *out, char *err, size_t errlen)
{
    if (proto_date_parse(a->val, a->val_len, out) != WM_OK)
        return bad(a->key, "not a date YYYY-MM-DD", a->val, a->val_len, err, errlen);
    return WM_OK;
}

/* A dimension filter `<dim>=v1,v2`: its values go into the request's value arrays from
 * *used on, which grows by their number. */
static int parse_filter(struct proto_request *req, const struct proto_env *env,
                        const struct proto_type_desc *td, const struct proto_arg *a,
                        struct wm_count_query *q, size_t *used, char *err, size_t errlen)
{
    int type = q->type, dim = proto_dim_lookup(type, a->key), rc;
    size_t off, len;
    char *list;

    if (dim < 0) {
        char what[128];
        proto_errf(what, sizeof(what),
                   "unknown field %s for COUNT %s: by, from, to, distinct or a dimension", a->key,
                   td->name);
        return unknown_dim(type, what, err, errlen);
    }
    q->filter[dim].active = 1;
    q->filter[dim].str = req->vals + *used;
    q->filter[dim].num = req->nums + *used;
    list = split_list(req, a);
    for (off = 0; off <= a->val_len; off += len + 1) {
        len = strlen(list + off);
        if (len == 0) {
            proto_errf(err, errlen, "%s: empty value in list", a->key);
            return WM_EINVALID;
        }
        rc = filter_add(env, td, dim, a->key, &q->filter[dim], req->vals + *used, req->nums + *used,
                        list + off, len, err, errlen);
        if (rc != WM_OK)
            return rc;
    }
    *used += q->filter[dim].n;
    return WM_OK;
}

int proto_count_build(struct proto_request *req, const struct proto_env *env,
                      struct wm_count_query *q, char *err, size_t errlen)
{
    const struct proto_type_desc *td;
    const struct proto_arg *a;
    const char *tname;
    char fromd[11], tod[11];
    size_t i, used = 0;
    int type, rc;

    memset(q, 0, sizeof(*q));
    q->from = INT32_MIN;
    q->to = INT32_MAX;
    tname = proto_request_positional(req, 0);
    if (tname == NULL) {
        proto_errf(err, errlen, "missing type (started, completed, placed, outflow)");
        return WM_ESYNTAX;
    }
    type = proto_type_lookup(tname);
    if (type < 0)
        return bad("type", "unknown (allowed: started, completed, placed, outflow)", tname,
                   strlen(tname), err, errlen);
    td = proto_type_desc(type);
    q->type = (uint8_t)type;
    if ((rc = proto_request_no_extra(req, 1, err, errlen)) != WM_OK)
        return rc;

    if ((rc = reserve_values(req, err, errlen)) != WM_OK)
        return rc;
    for (i = 0; i < req->nargs; i++) {
        a = &req->args[i];
        if (a->key == NULL)
            continue;
        if (strcmp(a->key, "by") == 0) {
            rc = parse_by(req, a, type, q, err, errlen);
        } else if (strcmp(a->key, "from") == 0) {
            rc = parse_date_arg(a, &q->from, err, errlen);
        } else if (strcmp(a->key, "to") == 0) {
            rc = parse_date_arg(a, &q->to, err, errlen);
        } else if (strcmp(a->key, "distinct") == 0) {
            rc = WM_OK;
            if (strcmp(a->val, "person") != 0)
                rc = bad("distinct", "only distinct=person is supported", a->val, a->val_len, err,
                         errlen);
            q->distinct = 1;
        } else {
            rc = parse_filter(req, env, td, a, q, &used, err, errlen);
        }
        if (rc != WM_OK)
            return rc;
    }
    if (q->from > q->to) {
        proto_date_format(q->from, fromd);
        proto_date_format(q->to, tod);
        proto_errf(err, errlen, "from: %s is after to %s", fromd, tod);
        return WM_EINVALID;
    }
    return WM_OK;
}

int proto_progress_build(const struct proto_request *req, const struct proto_env *env,
                         struct wm_progress_query *q, char *err, size_t errlen)
{
    const struct proto_arg *a;
    size_t i;
    int rc;

    q->asof = env->today;
    q->category = NULL;
    q->project = NULL;
    q->ngemeente = 0;
    if ((rc = proto_request_no_extra(req, 0, err, errlen)) != WM_OK)
        return rc;
    for (i = 0; i < req->nargs; i++) {
        a = &req->args[i];
        if (strcmp(a->key, "asof") == 0) {
            if (proto_date_parse(a->val, a->val_len, &q->asof) != WM_OK)
                return bad("asof", "not a date YYYY-MM-DD", a->val, a->val_len, err, errlen);
        } else if (strcmp(a->key, "category") == 0 || strcmp(a->key, "project") == 0) {
            if (!proto_name_canon(arg_text(req, a), a->val_len))
                return bad(a->key, "must be 1-64 characters of [a-z0-9-]", a->val, a->val_len, err,
                           errlen);
            if (a->key[0] == 'c')
                q->category = a->val;
            else
                q->project = a->val;
        } else if (strcmp(a->key, "gemeente") == 0) {
            char *list = split_list(req, a);
            size_t off, len, k;
            for (off = 0; off <= a->val_len; off += len + 1) {
                len = strlen(list + off);
                rc = proto_choice("gemeente", env->gemeenten, env->n_gemeenten, list + off, err,
                                  errlen);
                if (rc < 0)
                    return rc;
                for (k = 0; k < q->ngemeente && q->gemeente[k] != env->gemeenten[rc]; k++)
                    ;
                if (k < q->ngemeente)
                    continue;
                if (q->ngemeente == WM_MAX_PROGRESS_GEMEENTEN) {
                    proto_errf(err, errlen, "gemeente: more than %d values",
                               WM_MAX_PROGRESS_GEMEENTEN);
                    return WM_EINVALID;
                }
                q->gemeente[q->ngemeente++] = env->gemeenten[rc];
            }
        } else {
            proto_errf(err, errlen,
                       "unknown field %s for PROGRESS (fields: asof, category, project, gemeente)",
                       a->key);
            return WM_EINVALID;
        }
    }
    return WM_OK;
}
