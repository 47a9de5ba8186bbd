/*
 * model: the event types, their closed enumerations (PROTOCOL.md section 4) and the
 * COUNT dimensions (section 5). The order of every table is part of the contract:
 * index 0 is the default of an optional field, and rollups key on these indexes.
 */
#include <stdio.h>
#include <string.h>

#include "proto.h"

const char *const proto_default_gemeenten[] = {
    "blaricum", "eemnes", "gooise-meren", "hilversum", "huizen",
    "laren",    "weesp",  "wijdemeren",   NULL,
};

#define NVALUES(a) ((uint8_t)(sizeof(a) / sizeof((a)[0])))

/* started */
static const char *const kind_values[] = {"overig", "scholing", "begeleiding", "werkervaring",
                                          "taal"};
static const char *const doelgroep_values[] = {"overig", "jongeren",         "statushouders",
                                               "50plus", "arbeidsbeperking", "ggz"};
static const char *const started_benefit_values[] = {"onbekend", "pw",  "ww",  "wajong",
                                                     "wia",      "wao", "geen"};
static const struct proto_enum_field started_kind = {"kind", kind_values, NVALUES(kind_values), 0,
                                                     0};
static const struct proto_enum_field started_doelgroep = {"doelgroep", doelgroep_values,
                                                          NVALUES(doelgroep_values), 0, 0};
static const struct proto_enum_field started_benefit = {"benefit", started_benefit_values,
                                                        NVALUES(started_benefit_values), 0, 0};

/* completed: indexes 0..2 count as success (WM_RESULT_SUCCESS) */
static const char *const result_values[] = {"diploma", "certificaat", "afgerond", "uitgevallen"};
static const struct proto_enum_field completed_result = {"result", result_values,
                                                         NVALUES(result_values), 1, 0};

/* placed: durable follows WM_DURABLE_*_IDX */
static const char *const sector_values[] = {"zorg",   "techniek", "bouw",      "ict",    "media",
                                            "horeca", "vervoer",  "onderwijs", "handel", "overig"};
static const char *const contract_values[] = {"betaald", "leerwerk"};
static const char *const durable_values[] = {"unknown", "yes", "no"};
static const struct proto_enum_field placed_sector = {"sector", sector_values,
                                                      NVALUES(sector_values), 1, 0};
static const struct proto_enum_field placed_contract = {"contract", contract_values,
                                                        NVALUES(contract_values), 0, 0};
static const struct proto_enum_field placed_durable = {"durable", durable_values,
                                                       NVALUES(durable_values), 0, 1};

/* outflow */
static const char *const outflow_benefit_values[] = {"pw", "ww", "wajong", "wia", "wao"};
static const char *const reason_values[] = {"werk", "scholing", "verhuizing", "overig"};
static const struct proto_enum_field outflow_benefit = {"benefit", outflow_benefit_values,
                                                        NVALUES(outflow_benefit_values), 1, 0};
static const struct proto_enum_field outflow_reason = {"reason", reason_values,
                                                       NVALUES(reason_values), 1, 0};

static const struct proto_type_desc type_descs[WM_TYPE_COUNT_] = {
    [WM_TYPE_STARTED] = {"started", 3, {&started_kind, &started_doelgroep, &started_benefit}, 1},
    [WM_TYPE_COMPLETED] = {"completed", 1, {&completed_result, NULL, NULL}, 1},
    [WM_TYPE_PLACED] = {"placed", 3, {&placed_sector, &placed_contract, &placed_durable}, 1},
    [WM_TYPE_OUTFLOW] = {"outflow", 2, {&outflow_benefit, &outflow_reason, NULL}, 0},
};

const struct proto_type_desc *proto_type_desc(int type)
{
    if (type < 0 || type >= WM_TYPE_COUNT_)
        return NULL;
    return &type_descs[type];
}

/* 1 when value is the canonical want as people may write it (proto_canon_char). */
static int canon_equal(const char *want, const char *value)
{
    while (*want != '\0' && *want == proto_canon_char(*value)) {
        want++;
        value++;
    }
    return *want == '\0' && *value == '\0';
}

int proto_type_lookup(const char *name)
{
    int t;

    if (name == NULL)
        return -1;
    /* the name as the protocol writes it first (nearly every request), which a call to
     * strcmp decides; then any case or spacing of it */
    for (t = 0; t < WM_TYPE_COUNT_; t++)
        if (strcmp(type_descs[t].name, name) == 0)
            return t;
    for (t = 0; t < WM_TYPE_COUNT_; t++)
        if (canon_equal(type_descs[t].name, name))
            return t;
    return -1;
}

int proto_enum_lookup(const struct proto_enum_field *f, const char *value)
{
    int i;

    if (f == NULL || value == NULL)
        return -1;
    for (i = 0; i < f->nvalues; i++)
        if (strcmp(f->values[i], value) == 0)
            return i;
    return -1;
}

static const char *const fixed_dims[WM_DIM_ENUM0] = {
    [WM_DIM_PROJECT] = "project",   [WM_DIM_CATEGORY] = "category", [WM_DIM_SCOPE] = "scope",
    [WM_DIM_GEMEENTE] = "gemeente", [WM_DIM_YEAR] = "year",         [WM_DIM_QUARTER] = "quarter",
    [WM_DIM_MONTH] = "month",       [WM_DIM_HALFYEAR] = "halfyear",
};

const char *proto_dim_name(int type, int dim)
{
    const struct proto_type_desc *td = proto_type_desc(type);

    if (td == NULL || dim < 0 || dim >= WM_DIM_COUNT_)
        return NULL;
    if (dim < WM_DIM_ENUM0)
        return fixed_dims[dim];
    if (dim - WM_DIM_ENUM0 >= td->nenums)
        return NULL;
    return td->enums[dim - WM_DIM_ENUM0]->name;
}

int proto_dim_lookup(int type, const char *name)
{
    int d;
    const char *n;

    if (name == NULL)
        return -1;
    for (d = 0; d < WM_DIM_COUNT_; d++) {
        n = proto_dim_name(type, d);
        if (n != NULL && strcmp(n, name) == 0)
            return d;
    }
    return -1;
}

int proto_choice(const char *field, const char *const *values, size_t n, const char *value,
                 char *err, size_t errlen)
{
    char q[80], allowed[160];
    size_t i, o = 0;
    int w;

    /* the first byte passes over most values without a call (a region's gemeenten are
     * a list of tens, compared for every event) */
    for (i = 0; i < n; i++)
        if (values[i][0] == value[0] && strcmp(values[i], value) == 0)
            return (int)i;
    for (i = 0; i < n; i++)
        if (canon_equal(values[i], value))
            return (int)i;
    allowed[0] = '\0';
    for (i = 0; i < n; i++) {
        /* Whole names only, so a long configured list never ends in half a character. */
        if (strlen(values[i]) + 2 + 5 >= sizeof(allowed) - o) {
            snprintf(allowed + o, sizeof(allowed) - o, ", ...");
            break;
        }
        w = snprintf(allowed + o, sizeof(allowed) - o, "%s%s", i ? ", " : "", values[i]);
        if (w < 0)
            break;
        o += (size_t)w;
    }
    proto_quote(q, sizeof(q), value, strlen(value));
    proto_errf(err, errlen, "%s: unknown value '%s' (allowed: %s)", field, q, allowed);
    return WM_EINVALID;
}
