/*
 * event: validation of the write requests EVENT and RETRACT (PROTOCOL.md section 4)
 * and PROJECT and PROGRAM (section 6) into fixed-size structs. Messages name the field
 * and quote the value, except where it may be personal (proto_field_personal). The
 * BSN rule has already been applied to every value by the parser (personal.c).
 */
#include <string.h>

#include "proto.h"

/* Room for a quoted value inside a message. */
#define QUOTE_MAX 72

/* The bytes of an id: [A-Za-z0-9._:/-] (a pseudonym: the same without '/'). */
static const unsigned char id_chars[256] = {
    ['-'] = 1, ['.'] = 1, ['/'] = 1, [':'] = 1, ['_'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1,
    ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['A'] = 1,
    ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1,
    ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1,
    ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1,
    ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
    ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1,
    ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1,
    ['x'] = 1, ['y'] = 1, ['z'] = 1};

/* 1 when every byte of s may stand in an id. The id and the pseudonym of every event
 * pass here, some 80 bytes an event: each byte is looked up and the verdict taken once,
 * rather than up to eight comparisons and a branch per byte. */
static int id_chars_only(const char *s, size_t n)
{
    unsigned char ok = 1;

    for (size_t i = 0; i < n; i++)
        ok &= id_chars[(unsigned char)s[i]];
    return ok;
}

/* 1 when key (may be NULL) is name; the first byte decides most pairs without a call,
 * which matters where every argument of every EVENT is compared with a list of names. */
static int key_is(const char *key, const char *name)
{
    return key != NULL && key[0] == name[0] && strcmp(key, name) == 0;
}

static const struct proto_arg *find_arg(const struct proto_request *req, const char *key)
{
    size_t i;

    for (i = 0; i < req->nargs; i++)
        if (key_is(req->args[i].key, key))
            return &req->args[i];
    return NULL;
}

static int missing(const char *field, char *err, size_t errlen)
{
    proto_errf(err, errlen, "missing field %s", field);
    return WM_EINVALID;
}

/* "<field>: <what>, got '<value>'"; a field that may hold a personal value is named
 * without its value. */
static int bad_value(const char *field, const char *what, const struct proto_arg *a, char *err,
                     size_t errlen)
{
    char q[QUOTE_MAX];

    if (proto_field_personal(field)) {
        proto_errf(err, errlen, "%s: %s", field, what);
        return WM_EINVALID;
    }
    proto_quote(q, sizeof(q), a->val, a->val_len);
    proto_errf(err, errlen, "%s: %s, got '%s'", field, what, q);
    return WM_EINVALID;
}

static int unknown_field(const struct proto_arg *a, const char *for_what, char *err, size_t errlen)
{
    proto_errf(err, errlen, "unknown field %s for %s", a->key, for_what);
    return WM_EINVALID;
}

/* The getters below take the field's argument, NULL when the request has none (EVENT
 * finds its arguments in one pass, the other requests with find_arg). */

/* An id-like value (event id, ref): 1-WM_ID_MAX of [A-Za-z0-9._:/-], copied to out. */
static int get_id(const struct proto_arg *a, const char *field, char out[WM_ID_MAX + 1], char *err,
                  size_t errlen)
{
    if (a == NULL)
        return missing(field, err, errlen);
    if (a->val_len < 1 || a->val_len > WM_ID_MAX || !id_chars_only(a->val, a->val_len))
        return bad_value(field, "must be 1-128 characters of [A-Za-z0-9._:/-]", a, err, errlen);
    memcpy(out, a->val, a->val_len + 1);
    return WM_OK;
}

/* Optional free text of at most max characters (already valid UTF-8 without controls,
 * so counting the bytes that do not continue a sequence counts code points); out holds
 * 4 * max + 1 bytes. */
static int get_text(const struct proto_arg *a, const char *field, size_t max, char *out, char *err,
                    size_t errlen)
{
    char what[48];
    size_t chars = 0;

    out[0] = '\0';
    if (a == NULL)
        return WM_OK;
    for (size_t i = 0; i < a->val_len; i++)
        chars += ((unsigned char)a->val[i] & 0xC0) != 0x80;
    if (chars > max) {
        proto_errf(what, sizeof(what), "longer than %zu characters", max);
        return bad_value(field, what, a, err, errlen);
    }
    memcpy(out, a->val, a->val_len + 1);
    return WM_OK;
}

/* Optional unsigned integer in [lo, hi]; *out stays untouched when absent. Returns 1
 * when given, 0 when absent, WM_EINVALID when bad. */
static int get_uint(const struct proto_arg *a, const char *field, uint64_t lo, uint64_t hi,
                    uint64_t *out, char *err, size_t errlen)
{
    char what[64];
    uint64_t v;

    if (a == NULL)
        return 0;
    if (proto_parse_uint(a->val, a->val_len, hi, &v) != WM_OK || v < lo) {
        proto_errf(what, sizeof(what), "must be an integer %llu-%llu", (unsigned long long)lo,
                   (unsigned long long)hi);
        return bad_value(field, what, a, err, errlen);
    }
    *out = v;
    return 1;
}

/* Optional date not before 2000-01-01 and not after max. Returns 1 when given, 0 when
 * absent, WM_EINVALID when bad. */
static int get_date(const struct proto_arg *a, const char *field, int32_t max, int32_t *out,
                    char *err, size_t errlen)
{
    char lim[11];
    char what[48];

    if (a == NULL)
        return 0;
    if (proto_date_parse(a->val, a->val_len, out) != WM_OK)
        return bad_value(field, "not a date YYYY-MM-DD", a, err, errlen);
    if (*out < WM_DATE_MIN)
        return bad_value(field, "before 2000-01-01", a, err, errlen);
    if (*out > max) {
        proto_date_format(max, lim);
        proto_errf(what, sizeof(what), "after %s", lim);
        return bad_value(field, what, a, err, errlen);
    }
    return 1;
}

/* Optional registry name ([a-z0-9-]{1,64}). Returns 1, 0 or WM_EINVALID. */
static int get_name(const struct proto_arg *a, const char *field, char *out, char *err,
                    size_t errlen)
{
    if (a == NULL)
        return 0;
    if (!proto_name_valid(a->val, a->val_len))
        return bad_value(field, "must be 1-64 characters of [a-z0-9-]", a, err, errlen);
    memcpy(out, a->val, a->val_len + 1);
    return 1;
}

/* Optional project of an event, canonical ("ZorgStart" is zorgstart, "Taal Werkt"
 * taal-werkt). Returns 1, 0 or WM_EINVALID. */
static int get_project(const struct proto_arg *a, char out[WM_NAME_MAX + 1], char *err,
                       size_t errlen)
{
    if (a == NULL)
        return 0;
    if (a->val_len > WM_NAME_MAX)
        return bad_value("project", "must be 1-64 characters of [a-z0-9-]", a, err, errlen);
    memcpy(out, a->val, a->val_len + 1);
    if (!proto_name_canon(out, a->val_len))
        return bad_value("project", "must be 1-64 characters of [a-z0-9-]", a, err, errlen);
    return 1;
}

static int check_person(const struct proto_arg *a, char out[WM_PERSON_MAX + 1], char *err,
                        size_t errlen)
{
    if (a == NULL)
        return missing("person", err, errlen);
    /* Never quote a person value: it must not leave the server in any response. */
    if (!id_chars_only(a->val, a->val_len) || memchr(a->val, '/', a->val_len) != NULL ||
        a->val_len < 8 || a->val_len > WM_PERSON_MAX) {
        proto_errf(err, errlen,
                   "person: must be a pseudonym of 8-128 characters of [A-Za-z0-9._:-]");
        return WM_EINVALID;
    }
    memcpy(out, a->val, a->val_len + 1);
    return WM_OK;
}

/* An EVENT's input fields, each with its index in struct event_args: the fields every
 * type has, a placement's own, then the type's enumerated fields (in its order). */
static const char *const common_fields[] = {"id", "person", "gemeente", "date", "project"};
static const char *const placed_fields[] = {"months", "hours", "employer", "by"};

enum {
    EV_ID,
    EV_PERSON,
    EV_GEMEENTE,
    EV_DATE,
    EV_PROJECT,
    EV_MONTHS,
    EV_HOURS,
    EV_EMPLOYER,
    EV_BY,
    EV_ENUM0,
    EV_FIELDS_ = EV_ENUM0 + WM_MAX_ENUMS
};

/* An EVENT's arguments by field, found in one pass over the request rather than a
 * search of the arguments per field; NULL where the request has none. */
struct event_args {
    const struct proto_arg *arg[EV_FIELDS_];
};

/* The index of key among the input fields of this type, or -1 when it has none of
 * that name. */
static int event_field(const struct proto_type_desc *td, int type, const char *key)
{
    size_t i;

    for (i = 0; i < sizeof(common_fields) / sizeof(common_fields[0]); i++)
        if (key_is(key, common_fields[i]))
            return EV_ID + (int)i;
    for (i = 0; i < td->nenums; i++)
        if (!td->enums[i]->derived && key_is(key, td->enums[i]->name))
            return EV_ENUM0 + (int)i;
    if (type == WM_TYPE_PLACED)
        for (i = 0; i < sizeof(placed_fields) / sizeof(placed_fields[0]); i++)
            if (key_is(key, placed_fields[i]))
                return EV_MONTHS + (int)i;
    return -1;
}

enum proto_field_kind proto_event_field_kind(int type, const char *key)
{
    static const char *const text[] = {"id", "person", "employer", "by"};
    int t, known = 0;

    for (t = type < 0 ? 0 : type; t < (type < 0 ? WM_TYPE_COUNT_ : type + 1); t++) {
        const struct proto_type_desc *td = proto_type_desc(t);

        if (td != NULL && event_field(td, t, key) >= 0)
            known = 1;
    }
    if (!known)
        return PROTO_FIELD_NONE;
    if (strcmp(key, "date") == 0)
        return PROTO_FIELD_DATE;
    if (strcmp(key, "months") == 0 || strcmp(key, "hours") == 0)
        return PROTO_FIELD_INT;
    for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
        if (strcmp(text[i], key) == 0)
            return PROTO_FIELD_TEXT;
    return PROTO_FIELD_NAME;
}

/* Every key= of the request is a field of this type; each goes to its place in ea.
 * Returns WM_OK, or WM_EINVALID for the first key that is not. */
static int event_args_collect(const struct proto_request *req, const struct proto_type_desc *td,
                              int type, struct event_args *ea, char *err, size_t errlen)
{
    memset(ea, 0, sizeof(*ea));
    for (size_t i = 0; i < req->nargs; i++) {
        const struct proto_arg *a = &req->args[i];
        int f;

        if (a->key == NULL)
            continue;
        f = event_field(td, type, a->key);
        if (f < 0) {
            if (type == WM_TYPE_PLACED && strcmp(a->key, "durable") == 0) {
                proto_errf(err, errlen, "durable: not an input field (derived from months)");
                return WM_EINVALID;
            }
            return unknown_field(a, td->name, err, errlen);
        }
        /* the parser refuses a key given twice; were it not, the first would count,
         * as a search from the front finds it */
        if (ea->arg[f] == NULL)
            ea->arg[f] = a;
    }
    return WM_OK;
}

/* The fields every type has: id, person, gemeente, date, project. */
static int event_common_fields(const struct event_args *ea, const struct proto_env *env,
                               const struct proto_type_desc *td, struct wm_event *ev, char *err,
                               size_t errlen)
{
    const struct proto_arg *a;
    size_t glen;
    int rc;

    if ((rc = get_id(ea->arg[EV_ID], "id", ev->id, err, errlen)) != WM_OK)
        return rc;
    if ((rc = check_person(ea->arg[EV_PERSON], ev->person, err, errlen)) != WM_OK)
        return rc;
    a = ea->arg[EV_GEMEENTE];
    if (a == NULL)
        return missing("gemeente", err, errlen);
    rc = proto_choice("gemeente", env->gemeenten, env->n_gemeenten, a->val, err, errlen);
    if (rc < 0)
        return rc;
    /* the canonical name, whatever case or spaces the request used */
    glen = strlen(env->gemeenten[rc]);
    if (glen > WM_NAME_MAX)
        return bad_value("gemeente", "longer than 64 bytes", a, err, errlen);
    memcpy(ev->gemeente, env->gemeenten[rc], glen + 1);
    rc = get_date(ea->arg[EV_DATE], "date", env->today + 1, &ev->date, err, errlen);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return missing("date", err, errlen);
    rc = get_project(ea->arg[EV_PROJECT], ev->project, err, errlen);
    if (rc < 0)
        return rc;
    if (rc == 0 && td->project_required)
        return missing("project", err, errlen);
    return WM_OK;
}

/* The type's enumerated fields (the derived ones are computed elsewhere). */
static int event_enum_fields(const struct event_args *ea, const struct proto_type_desc *td,
                             struct wm_event *ev, char *err, size_t errlen)
{
    for (size_t i = 0; i < td->nenums; i++) {
        const struct proto_enum_field *f = td->enums[i];
        const struct proto_arg *a;
        int idx;

        if (f->derived)
            continue;
        a = ea->arg[EV_ENUM0 + i];
        if (a == NULL) {
            if (f->required)
                return missing(f->name, err, errlen);
            ev->enums[i] = 0;
            continue;
        }
        idx = proto_choice(f->name, f->values, f->nvalues, a->val, err, errlen);
        if (idx < 0)
            return idx;
        ev->enums[i] = (uint8_t)idx;
    }
    return WM_OK;
}

/* A placement's own fields: months, hours, employer, by, and durable from months. */
static int event_placed_fields(const struct event_args *ea, struct wm_event *ev, char *err,
                               size_t errlen)
{
    uint64_t v;
    int rc;

    rc = get_uint(ea->arg[EV_MONTHS], "months", 0, 120, &v, err, errlen);
    if (rc < 0)
        return rc;
    if (rc == 1)
        ev->months = (int16_t)v;
    rc = get_uint(ea->arg[EV_HOURS], "hours", 1, 60, &v, err, errlen);
    if (rc < 0)
        return rc;
    if (rc == 1)
        ev->hours = (int16_t)v;
    rc = get_text(ea->arg[EV_EMPLOYER], "employer", WM_EMPLOYER_MAX, ev->employer, err, errlen);
    if (rc < 0)
        return rc;
    if ((rc = get_text(ea->arg[EV_BY], "by", WM_BY_MAX, ev->by, err, errlen)) < 0)
        return rc;
    /* WSP's definition: a placement for at least six months is durable. */
    ev->enums[2] = (uint8_t)(ev->months < 0    ? WM_DURABLE_UNKNOWN_IDX
                             : ev->months >= 6 ? WM_DURABLE_YES_IDX
                                               : WM_DURABLE_NO_IDX);
    return WM_OK;
}

int proto_event_build(const struct proto_request *req, const struct proto_env *env,
                      struct wm_event *ev, char *err, size_t errlen)
{
    const struct proto_type_desc *td;
    struct event_args ea;
    const char *tname;
    char q[QUOTE_MAX];
    int type, rc;

    memset(ev, 0, sizeof(*ev));
    ev->months = -1;
    ev->hours = -1;
    tname = proto_request_positional(req, 0);
    if (tname == NULL) {
        proto_errf(err, errlen, "missing event type (started, completed, placed, outflow)");
        return WM_ESYNTAX;
    }
    type = proto_type_lookup(tname);
    if (type < 0) {
        proto_quote(q, sizeof(q), tname, strlen(tname));
        proto_errf(err, errlen,
                   "type: unknown value '%s' (allowed: started, completed, placed, outflow)", q);
        return WM_EINVALID;
    }
    td = proto_type_desc(type);
    ev->type = (uint8_t)type;
    if ((rc = proto_request_no_extra(req, 1, err, errlen)) != WM_OK ||
        (rc = event_args_collect(req, td, type, &ea, err, errlen)) != WM_OK ||
        (rc = event_common_fields(&ea, env, td, ev, err, errlen)) != WM_OK ||
        (rc = event_enum_fields(&ea, td, ev, err, errlen)) != WM_OK)
        return rc;
    if (type == WM_TYPE_PLACED)
        return event_placed_fields(&ea, ev, err, errlen);
    return WM_OK;
}

int proto_event_same(const struct wm_event *a, const struct wm_event *b)
{
    const struct proto_type_desc *td;
    int i;

    if (a->type != b->type || a->date != b->date || a->months != b->months || a->hours != b->hours)
        return 0;
    td = proto_type_desc(a->type);
    for (i = 0; td != NULL && i < td->nenums; i++)
        if (a->enums[i] != b->enums[i])
            return 0;
    return strcmp(a->id, b->id) == 0 && strcmp(a->person, b->person) == 0 &&
           strcmp(a->gemeente, b->gemeente) == 0 && strcmp(a->project, b->project) == 0 &&
           strcmp(a->employer, b->employer) == 0 && strcmp(a->by, b->by) == 0;
}

/* Refuse any key not in keys (n of them). */
static int only_keys(const struct proto_request *req, const char *const *keys, size_t n,
                     const char *for_what, char *err, size_t errlen)
{
    size_t i, k;

    for (i = 0; i < req->nargs; i++) {
        if (req->args[i].key == NULL)
            continue;
        for (k = 0; k < n; k++)
            if (strcmp(keys[k], req->args[i].key) == 0)
                break;
        if (k == n)
            return unknown_field(&req->args[i], for_what, err, errlen);
    }
    return WM_OK;
}

int proto_retract_build(const struct proto_request *req, struct wm_retract *rt, char *err,
                        size_t errlen)
{
    static const char *const keys[] = {"id", "ref", "seq", "reason"};
    const struct proto_arg *ref, *seq;
    int rc;

    memset(rt, 0, sizeof(*rt));
    if ((rc = proto_request_no_extra(req, 0, err, errlen)) != WM_OK)
        return rc;
    if ((rc = only_keys(req, keys, sizeof(keys) / sizeof(keys[0]), "RETRACT", err, errlen)))
        return rc;
    if ((rc = get_id(find_arg(req, "id"), "id", rt->id, err, errlen)) != WM_OK)
        return rc;
    ref = find_arg(req, "ref");
    seq = find_arg(req, "seq");
    if (ref != NULL && seq != NULL) {
        proto_errf(err, errlen, "give ref or seq, not both");
        return WM_EINVALID;
    }
    if (ref == NULL && seq == NULL)
        return missing("ref", err, errlen);
    if (ref != NULL) {
        if ((rc = get_id(ref, "ref", rt->ref, err, errlen)) != WM_OK)
            return rc;
    } else {
        rc = get_uint(seq, "seq", 1, UINT64_MAX, &rt->ref_seq, err, errlen);
        if (rc < 0)
            return rc;
        rt->by_seq = 1;
    }
    return get_text(find_arg(req, "reason"), "reason", WM_TEXT_MAX, rt->reason, err, errlen);
}

int proto_show_build(const struct proto_request *req, struct wm_show_query *q, char *err,
                     size_t errlen)
{
    static const char *const keys[] = {"id", "seq", "principal"};
    const struct proto_arg *id, *seq, *pr;
    int rc;

    memset(q, 0, sizeof(*q));
    if ((rc = proto_request_no_extra(req, 0, err, errlen)) != WM_OK)
        return rc;
    if ((rc = only_keys(req, keys, sizeof(keys) / sizeof(keys[0]), "SHOW", err, errlen)))
        return rc;
    id = find_arg(req, "id");
    seq = find_arg(req, "seq");
    pr = find_arg(req, "principal");
    if (id != NULL && seq != NULL) {
        proto_errf(err, errlen, "give id or seq, not both");
        return WM_EINVALID;
    }
    if (id == NULL && seq == NULL)
        return missing("id", err, errlen);
    if (seq != NULL) {
        if (pr != NULL) {
            proto_errf(err, errlen, "principal: only with id= (a seq names one principal's event)");
            return WM_EINVALID;
        }
        rc = get_uint(seq, "seq", 1, UINT64_MAX, &q->seq, err, errlen);
        return rc < 0 ? rc : WM_OK;
    }
    if ((rc = get_id(id, "id", q->id, err, errlen)) != WM_OK)
        return rc;
    if (pr != NULL) {
        if (pr->val_len < 1 || pr->val_len > WM_NAME_MAX)
            return bad_value("principal", "must be 1-64 characters", pr, err, errlen);
        memcpy(q->principal, pr->val, pr->val_len + 1);
    }
    return WM_OK;
}

/* The fields PROJECT and PROGRAM share: start, end and targets. */
static int period_targets(const struct proto_request *req, struct wm_project *p, char *err,
                          size_t errlen)
{
    static const char *const tkeys[3] = {"target.started", "target.completed", "target.placed"};
    static const unsigned tbits[3] = {WM_PSET_TARGET_STARTED, WM_PSET_TARGET_COMPLETED,
                                      WM_PSET_TARGET_PLACED};
    uint64_t v;
    int rc, i;

    rc = get_date(find_arg(req, "start"), "start", INT32_MAX, &p->start, err, errlen);
    if (rc < 0)
        return rc;
    if (rc == 1)
        p->set_mask |= WM_PSET_START;
    rc = get_date(find_arg(req, "end"), "end", INT32_MAX, &p->end, err, errlen);
    if (rc < 0)
        return rc;
    if (rc == 1)
        p->set_mask |= WM_PSET_END;
    if ((p->set_mask & WM_PSET_START) && (p->set_mask & WM_PSET_END) && p->start > p->end) {
        proto_errf(err, errlen, "start: after end");
        return WM_EINVALID;
    }
    for (i = 0; i < 3; i++) {
        rc = get_uint(find_arg(req, tkeys[i]), tkeys[i], 0, 1000000000, &v, err, errlen);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            p->target[i] = (int64_t)v;
            p->set_mask |= tbits[i];
        }
    }
    return WM_OK;
}

static void project_clear(struct wm_project *p)
{
    memset(p, 0, sizeof(*p));
    p->scope = WM_SCOPE_REGIONAL;
    p->start = WM_DATE_NONE;
    p->end = WM_DATE_NONE;
    p->target[0] = p->target[1] = p->target[2] = -1;
}

int proto_project_build(const struct proto_request *req, struct wm_project *p, char *err,
                        size_t errlen)
{
    static const char *const keys[] = {"category",      "scope",          "start",
                                       "end",           "target.started", "target.completed",
                                       "target.placed", "title"};
    static const char *const scopes[] = {"regional", "local"};
    const struct proto_arg *a;
    const char *name;
    char q[QUOTE_MAX];
    int rc;

    project_clear(p);
    name = proto_request_positional(req, 0);
    if (name == NULL) {
        proto_errf(err, errlen, "missing project name");
        return WM_ESYNTAX;
    }
    if (!proto_name_valid(name, strlen(name))) {
        proto_quote(q, sizeof(q), name, strlen(name));
        proto_errf(err, errlen, "project: must be 1-64 characters of [a-z0-9-], got '%s'", q);
        return WM_EINVALID;
    }
    memcpy(p->name, name, strlen(name) + 1);
    if ((rc = proto_request_no_extra(req, 1, err, errlen)) != WM_OK)
        return rc;
    if ((rc = only_keys(req, keys, sizeof(keys) / sizeof(keys[0]), "PROJECT", err, errlen)))
        return rc;
    rc = get_name(find_arg(req, "category"), "category", p->category, err, errlen);
    if (rc < 0)
        return rc;
    if (rc == 1)
        p->set_mask |= WM_PSET_CATEGORY;
    a = find_arg(req, "scope");
    if (a != NULL) {
        rc = proto_choice("scope", scopes, 2, a->val, err, errlen);
        if (rc < 0)
            return rc;
        p->scope = (uint8_t)rc;
        p->set_mask |= WM_PSET_SCOPE;
    }
    if ((rc = period_targets(req, p, err, errlen)) != WM_OK)
        return rc;
    a = find_arg(req, "title");
    if (a != NULL) {
        if ((rc = get_text(a, "title", WM_TEXT_MAX, p->title, err, errlen)) < 0)
            return rc;
        p->set_mask |= WM_PSET_TITLE;
    }
    return WM_OK;
}

int proto_program_build(const struct proto_request *req, struct wm_project *p, char *err,
                        size_t errlen)
{
    static const char *const keys[] = {"start", "end", "target.started", "target.completed",
                                       "target.placed"};
    int rc;

    project_clear(p);
    p->name[0] = '*';
    p->name[1] = '\0';
    if ((rc = proto_request_no_extra(req, 0, err, errlen)) != WM_OK)
        return rc;
    if ((rc = only_keys(req, keys, sizeof(keys) / sizeof(keys[0]), "PROGRAM", err, errlen)))
        return rc;
    return period_targets(req, p, err, errlen);
}
