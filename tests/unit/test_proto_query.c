/*
 * Unit tests of proto's COUNT and PROGRESS builders (PROTOCOL.md section 5) and of
 * the type and dimension tables they rest on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "proto.h"

static char err[256];
static struct proto_request req;
static struct proto_env env;

static int setup(void **state)
{
    (void)state;
    proto_request_init(&req);
    env.gemeenten = proto_default_gemeenten;
    env.n_gemeenten = 8;
    env.today = proto_date_from_ymd(2024, 6, 15);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    proto_request_free(&req);
    return 0;
}

static int count(const char *line, struct wm_count_query *q)
{
    err[0] = '\0';
    assert_int_equal(proto_parse_line(&req, line, strlen(line), err, sizeof(err)), WM_OK);
    return proto_count_build(&req, &env, q, err, sizeof(err));
}

static void count_invalid(const char *line, const char *want)
{
    struct wm_count_query q;

    assert_int_equal(count(line, &q), WM_EINVALID);
    if (strstr(err, want) == NULL)
        fail_msg("line '%s': message '%s' lacks '%s'", line, err, want);
}

static void test_type_tables(void **state)
{
    const struct proto_type_desc *td;

    (void)state;
    assert_null(proto_type_desc(-1));
    assert_null(proto_type_desc(WM_TYPE_COUNT_));
    assert_int_equal(proto_type_lookup("started"), WM_TYPE_STARTED);
    assert_int_equal(proto_type_lookup("completed"), WM_TYPE_COMPLETED);
    assert_int_equal(proto_type_lookup("placed"), WM_TYPE_PLACED);
    assert_int_equal(proto_type_lookup("outflow"), WM_TYPE_OUTFLOW);
    assert_int_equal(proto_type_lookup("Placed"), WM_TYPE_PLACED);
    assert_int_equal(proto_type_lookup("OUTFLOW"), WM_TYPE_OUTFLOW);
    assert_int_equal(proto_type_lookup("place"), -1);
    assert_int_equal(proto_type_lookup("placed "), -1);
    assert_int_equal(proto_type_lookup(""), -1);

    td = proto_type_desc(WM_TYPE_STARTED);
    assert_string_equal(td->name, "started");
    assert_int_equal(td->nenums, 3);
    assert_true(td->project_required);
    assert_string_equal(td->enums[0]->name, "kind");
    assert_string_equal(td->enums[0]->values[0], "overig");
    assert_int_equal(td->enums[0]->nvalues, 5);
    assert_string_equal(td->enums[1]->name, "doelgroep");
    assert_int_equal(td->enums[1]->nvalues, 6);
    assert_string_equal(td->enums[2]->name, "benefit");
    assert_string_equal(td->enums[2]->values[0], "onbekend");
    assert_int_equal(td->enums[2]->nvalues, 7);
    assert_false(td->enums[0]->required);

    td = proto_type_desc(WM_TYPE_COMPLETED);
    assert_int_equal(td->nenums, 1);
    assert_true(td->enums[0]->required);
    assert_int_equal(proto_enum_lookup(td->enums[0], "uitgevallen"), 3);
    assert_false(WM_RESULT_SUCCESS(3));
    assert_true(WM_RESULT_SUCCESS(proto_enum_lookup(td->enums[0], "afgerond")));

    td = proto_type_desc(WM_TYPE_PLACED);
    assert_int_equal(td->nenums, 3);
    assert_string_equal(td->enums[0]->name, "sector");
    assert_int_equal(td->enums[0]->nvalues, 10);
    assert_true(td->enums[0]->required);
    assert_string_equal(td->enums[1]->name, "contract");
    assert_string_equal(td->enums[1]->values[0], "betaald");
    assert_string_equal(td->enums[2]->name, "durable");
    assert_true(td->enums[2]->derived);
    assert_int_equal(proto_enum_lookup(td->enums[2], "unknown"), WM_DURABLE_UNKNOWN_IDX);
    assert_int_equal(proto_enum_lookup(td->enums[2], "yes"), WM_DURABLE_YES_IDX);
    assert_int_equal(proto_enum_lookup(td->enums[2], "no"), WM_DURABLE_NO_IDX);

    td = proto_type_desc(WM_TYPE_OUTFLOW);
    assert_false(td->project_required);
    assert_int_equal(td->nenums, 2);
    assert_string_equal(td->enums[0]->name, "benefit");
    assert_int_equal(td->enums[0]->nvalues, 5);
    assert_string_equal(td->enums[0]->values[0], "pw");
    assert_string_equal(td->enums[1]->name, "reason");
    assert_int_equal(proto_enum_lookup(td->enums[1], "overig"), 3);
    assert_int_equal(proto_enum_lookup(td->enums[1], "nope"), -1);
    assert_int_equal(proto_enum_lookup(NULL, "x"), -1);
}

static void test_dims(void **state)
{
    static const char *const fixed[] = {"project", "category", "scope", "gemeente",
                                        "year",    "quarter",  "month", "halfyear"};
    int t, d;

    (void)state;
    for (t = 0; t < WM_TYPE_COUNT_; t++) {
        for (d = 0; d < WM_DIM_ENUM0; d++) {
            assert_string_equal(proto_dim_name(t, d), fixed[d]);
            assert_int_equal(proto_dim_lookup(t, fixed[d]), d);
        }
    }
    assert_string_equal(proto_dim_name(WM_TYPE_PLACED, WM_DIM_ENUM0), "sector");
    assert_string_equal(proto_dim_name(WM_TYPE_PLACED, WM_DIM_ENUM2), "durable");
    assert_int_equal(proto_dim_lookup(WM_TYPE_PLACED, "durable"), WM_DIM_ENUM2);
    assert_int_equal(proto_dim_lookup(WM_TYPE_STARTED, "durable"), -1);
    assert_int_equal(proto_dim_lookup(WM_TYPE_STARTED, "benefit"), WM_DIM_ENUM2);
    assert_int_equal(proto_dim_lookup(WM_TYPE_OUTFLOW, "benefit"), WM_DIM_ENUM0);
    assert_int_equal(proto_dim_lookup(WM_TYPE_COMPLETED, "result"), WM_DIM_ENUM0);
    assert_null(proto_dim_name(WM_TYPE_COMPLETED, WM_DIM_ENUM1));
    assert_null(proto_dim_name(WM_TYPE_OUTFLOW, WM_DIM_ENUM2));
    assert_null(proto_dim_name(WM_TYPE_OUTFLOW, WM_DIM_COUNT_));
    assert_null(proto_dim_name(WM_TYPE_COUNT_, WM_DIM_PROJECT));
    assert_null(proto_dim_name(0, -1));
    assert_int_equal(proto_dim_lookup(WM_TYPE_PLACED, "person"), -1);
    assert_int_equal(proto_dim_lookup(WM_TYPE_PLACED, "months"), -1);
}

static void test_count_plain(void **state)
{
    struct wm_count_query q;
    int d;

    (void)state;
    assert_int_equal(count("COUNT placed", &q), WM_OK);
    assert_int_equal(q.type, WM_TYPE_PLACED);
    assert_int_equal(q.nby, 0);
    assert_int_equal(q.from, INT32_MIN);
    assert_int_equal(q.to, INT32_MAX);
    assert_int_equal(q.distinct, 0);
    for (d = 0; d < WM_DIM_COUNT_; d++)
        assert_int_equal(q.filter[d].active, 0);

    assert_int_equal(count("COUNT", &q), WM_ESYNTAX);
    assert_non_null(strstr(err, "missing type"));
    count_invalid("COUNT hired", "type: unknown");
    count_invalid("COUNT placed started", "unexpected argument 'started'");
}

static void test_count_by_every_dim(void **state)
{
    struct wm_count_query q;
    char line[256];
    int t, d;

    (void)state;
    for (t = 0; t < WM_TYPE_COUNT_; t++) {
        for (d = 0; d < WM_DIM_COUNT_; d++) {
            const char *name = proto_dim_name(t, d);
            if (name == NULL)
                continue;
            snprintf(line, sizeof(line), "COUNT %s by=%s", proto_type_desc(t)->name, name);
            assert_int_equal(count(line, &q), WM_OK);
            assert_int_equal(q.nby, 1);
            assert_int_equal(q.by[0], d);
        }
    }
    /* Order is kept. */
    assert_int_equal(count("COUNT placed by=durable,gemeente,quarter,sector,project", &q), WM_OK);
    assert_int_equal(q.nby, 5);
    assert_int_equal(q.by[0], WM_DIM_ENUM2);
    assert_int_equal(q.by[1], WM_DIM_GEMEENTE);
    assert_int_equal(q.by[2], WM_DIM_QUARTER);
    assert_int_equal(q.by[3], WM_DIM_ENUM0);
    assert_int_equal(q.by[4], WM_DIM_PROJECT);
    /* All eleven at once. */
    assert_int_equal(count("COUNT placed by=project,category,scope,gemeente,year,quarter,month,"
                           "halfyear,sector,contract,durable",
                           &q),
                     WM_OK);
    assert_int_equal(q.nby, WM_DIM_COUNT_);

    count_invalid("COUNT placed by=sector,sector", "by: dimension sector given twice");
    count_invalid("COUNT started by=durable",
                  "by: unknown dimension, got 'durable' (dimensions of started: project, category, "
                  "scope, gemeente, year, quarter, month, halfyear, kind, doelgroep, benefit)");
    count_invalid("COUNT placed by=sectr", "(dimensions of placed: project, category, scope, "
                                           "gemeente, year, quarter, month, halfyear, sector, "
                                           "contract, durable)");
    count_invalid("COUNT outflow by=sector", "by: unknown dimension");
    count_invalid("COUNT placed by=", "by: unknown dimension");
    count_invalid("COUNT placed by=sector,", "by: unknown dimension");
    count_invalid("COUNT placed by=,sector", "by: unknown dimension");
    count_invalid("COUNT placed by=Sector", "by: unknown dimension");
    count_invalid("COUNT placed by=person", "by: unknown dimension");
}

static void test_count_dates(void **state)
{
    struct wm_count_query q;

    (void)state;
    assert_int_equal(count("COUNT started from=2021-01-01 to=2021-12-31", &q), WM_OK);
    assert_int_equal(q.from, proto_date_from_ymd(2021, 1, 1));
    assert_int_equal(q.to, proto_date_from_ymd(2021, 12, 31));
    /* Any calendar date, before 2000 or far ahead. */
    assert_int_equal(count("COUNT started from=1990-05-05 to=2999-01-01", &q), WM_OK);
    assert_int_equal(count("COUNT started from=2021-03-03 to=2021-03-03", &q), WM_OK);
    assert_int_equal(count("COUNT started to=2021-03-03", &q), WM_OK);
    assert_int_equal(q.from, INT32_MIN);
    assert_int_equal(count("COUNT started from=2021-03-03", &q), WM_OK);
    assert_int_equal(q.to, INT32_MAX);
    count_invalid("COUNT started from=2021-03-04 to=2021-03-03", "from: 2021-03-04 is after to");
    count_invalid("COUNT started from=2021-02-29", "from: not a date");
    count_invalid("COUNT started to=2021-3-3", "to: not a date");
    count_invalid("COUNT started from=", "from: not a date");
}

static void test_count_distinct(void **state)
{
    struct wm_count_query q;

    (void)state;
    assert_int_equal(count("COUNT placed distinct=person by=gemeente", &q), WM_OK);
    assert_int_equal(q.distinct, 1);
    count_invalid("COUNT placed distinct=persons", "distinct:");
    count_invalid("COUNT placed distinct=id", "distinct:");
    count_invalid("COUNT placed distinct=", "distinct:");
}

static void test_count_filters(void **state)
{
    struct wm_count_query q;
    const struct wm_filter *f;

    (void)state;
    assert_int_equal(count("COUNT placed project=zorgstart,wsp-werkt category=scholing "
                           "gemeente=laren,weesp,laren scope=local",
                           &q),
                     WM_OK);
    f = &q.filter[WM_DIM_PROJECT];
    assert_true(f->active);
    assert_int_equal(f->n, 2);
    assert_string_equal(f->str[0], "zorgstart");
    assert_string_equal(f->str[1], "wsp-werkt");
    f = &q.filter[WM_DIM_CATEGORY];
    assert_int_equal(f->n, 1);
    assert_string_equal(f->str[0], "scholing");
    f = &q.filter[WM_DIM_GEMEENTE];
    assert_int_equal(f->n, 2); /* duplicates dropped */
    assert_string_equal(f->str[0], "laren");
    assert_string_equal(f->str[1], "weesp");
    f = &q.filter[WM_DIM_SCOPE];
    assert_true(f->active);
    assert_int_equal(f->mask, 1u << WM_SCOPE_LOCAL);
    assert_false(q.filter[WM_DIM_YEAR].active);

    /* Building twice from the same request gives the same query. */
    assert_int_equal(proto_count_build(&req, &env, &q, err, sizeof(err)), WM_OK);
    assert_int_equal(q.filter[WM_DIM_PROJECT].n, 2);
    assert_string_equal(q.filter[WM_DIM_PROJECT].str[1], "wsp-werkt");

    /* Canonical values: names and enumerations in any case, a space for a '-'; the
     * duplicates they make are dropped too. */
    assert_int_equal(count("COUNT Placed project=ZorgStart,zorgstart,Taal%20Werkt "
                           "gemeente=Gooise%20Meren,gooise-meren,HUIZEN sector=Zorg,ICT",
                           &q),
                     WM_OK);
    assert_int_equal(q.type, WM_TYPE_PLACED);
    f = &q.filter[WM_DIM_PROJECT];
    assert_int_equal(f->n, 2);
    assert_string_equal(f->str[0], "zorgstart");
    assert_string_equal(f->str[1], "taal-werkt");
    f = &q.filter[WM_DIM_GEMEENTE];
    assert_int_equal(f->n, 2);
    assert_string_equal(f->str[0], "gooise-meren");
    assert_string_equal(f->str[1], "huizen");
    assert_int_equal(q.filter[WM_DIM_ENUM0].mask, (1u << 0) | (1u << 3)); /* zorg, ict */

    assert_int_equal(count("COUNT placed year=2021,2023 quarter=2021-Q1,2022-Q4 "
                           "month=2021-01,2021-12,2000-01",
                           &q),
                     WM_OK);
    f = &q.filter[WM_DIM_YEAR];
    assert_int_equal(f->n, 2);
    assert_int_equal(f->num[0], 2021);
    assert_int_equal(f->num[1], 2023);
    f = &q.filter[WM_DIM_QUARTER];
    assert_int_equal(f->n, 2);
    assert_int_equal(f->num[0], 2021 * 4);
    assert_int_equal(f->num[1], 2022 * 4 + 3);
    f = &q.filter[WM_DIM_MONTH];
    assert_int_equal(f->n, 3);
    assert_int_equal(f->num[0], 2021 * 12);
    assert_int_equal(f->num[1], 2021 * 12 + 11);
    assert_int_equal(f->num[2], proto_date_month_index(WM_DATE_MIN));

    assert_int_equal(count("COUNT placed sector=zorg,ict,zorg contract=leerwerk "
                           "durable=yes,unknown scope=regional,local",
                           &q),
                     WM_OK);
    assert_int_equal(q.filter[WM_DIM_ENUM0].mask, (1u << 0) | (1u << 3));
    assert_true(q.filter[WM_DIM_ENUM0].active);
    assert_int_equal(q.filter[WM_DIM_ENUM1].mask, 1u << 1);
    assert_int_equal(q.filter[WM_DIM_ENUM2].mask,
                     (1u << WM_DURABLE_YES_IDX) | (1u << WM_DURABLE_UNKNOWN_IDX));
    assert_int_equal(q.filter[WM_DIM_SCOPE].mask, 3);

    assert_int_equal(count("COUNT started kind=taal doelgroep=ggz,jongeren benefit=geen", &q),
                     WM_OK);
    assert_int_equal(q.filter[WM_DIM_ENUM0].mask, 1u << 4);
    assert_int_equal(q.filter[WM_DIM_ENUM1].mask, (1u << 5) | (1u << 1));
    assert_int_equal(q.filter[WM_DIM_ENUM2].mask, 1u << 6);
    assert_int_equal(count("COUNT completed result=diploma,certificaat,afgerond", &q), WM_OK);
    assert_int_equal(q.filter[WM_DIM_ENUM0].mask, 7);
    assert_int_equal(count("COUNT outflow benefit=wao reason=werk", &q), WM_OK);
    assert_int_equal(q.filter[WM_DIM_ENUM0].mask, 1u << 4);
    assert_int_equal(q.filter[WM_DIM_ENUM1].mask, 1u << 0);
}

static void test_count_bad_filters(void **state)
{
    static char line[8192];
    size_t o;
    int i;

    (void)state;
    count_invalid("COUNT placed sector=xyz", "sector: unknown value 'xyz' (allowed: zorg,");
    count_invalid("COUNT placed sector=zorg,,ict", "sector: empty value");
    count_invalid("COUNT placed sector=", "sector: empty value");
    count_invalid("COUNT placed sector=zorg,", "sector: empty value");
    count_invalid("COUNT started durable=yes",
                  "unknown field durable for COUNT started: by, from, to, distinct or a dimension "
                  "(dimensions of started: project, category, scope, gemeente, year, quarter, "
                  "month, halfyear, kind, doelgroep, benefit)");
    count_invalid("COUNT started sector=zorg", "unknown field sector");
    count_invalid("COUNT started person=abcdefghij", "unknown field person");
    count_invalid("COUNT outflow benefit=geen", "benefit: unknown value 'geen'");
    count_invalid("COUNT placed gemeente=amsterdam", "gemeente: unknown value 'amsterdam'");
    count_invalid("COUNT placed project=Zorg_start", "project: must be 1-64 characters");
    count_invalid("COUNT placed category=a_b", "category: must be 1-64 characters");
    count_invalid("COUNT placed scope=national", "scope: unknown value 'national'");
    count_invalid("COUNT placed year=21", "year: want YYYY");
    count_invalid("COUNT placed year=0000", "year: want YYYY");
    count_invalid("COUNT placed year=2021a", "year: want YYYY");
    count_invalid("COUNT placed year=+202", "year: want YYYY");
    count_invalid("COUNT placed quarter=2021-Q0", "quarter: want YYYY-Qn");
    count_invalid("COUNT placed quarter=2021-Q5", "quarter:");
    count_invalid("COUNT placed quarter=2021-q1", "quarter:");
    count_invalid("COUNT placed quarter=2021Q1", "quarter:");
    count_invalid("COUNT placed quarter=2021-Q11", "quarter:");
    count_invalid("COUNT placed month=2021-13", "month: want YYYY-MM");
    count_invalid("COUNT placed month=2021-00", "month:");
    count_invalid("COUNT placed month=2021-1", "month:");
    count_invalid("COUNT placed month=2021-20", "month:");
    count_invalid("COUNT placed month=2021-09-01", "month:");
    count_invalid("COUNT placed colour=red", "unknown field colour");

    /* At most WM_MAX_FILTER_VALUES distinct values in one list. */
    o = (size_t)snprintf(line, sizeof(line), "COUNT placed year=");
    for (i = 0; i < WM_MAX_FILTER_VALUES; i++)
        o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%d", i ? "," : "", 2000 + i);
    {
        struct wm_count_query q;
        assert_int_equal(count(line, &q), WM_OK);
        assert_int_equal(q.filter[WM_DIM_YEAR].n, WM_MAX_FILTER_VALUES);
    }
    snprintf(line + o, sizeof(line) - o, ",1999");
    count_invalid(line, "year: more than 1024 values");
}

static void test_progress(void **state)
{
    struct wm_progress_query q;
    const char *line;

    (void)state;
    line = "PROGRESS";
    assert_int_equal(proto_parse_line(&req, line, strlen(line), err, sizeof(err)), WM_OK);
    assert_int_equal(proto_progress_build(&req, &env, &q, err, sizeof(err)), WM_OK);
    assert_int_equal(q.asof, env.today);
    assert_null(q.category);
    assert_null(q.project);

    line = "PROGRESS asof=2022-12-31 category=scholing project=zorgstart";
    assert_int_equal(proto_parse_line(&req, line, strlen(line), err, sizeof(err)), WM_OK);
    assert_int_equal(proto_progress_build(&req, &env, &q, err, sizeof(err)), WM_OK);
    assert_int_equal(q.asof, proto_date_from_ymd(2022, 12, 31));
    assert_string_equal(q.category, "scholing");
    assert_string_equal(q.project, "zorgstart");
    line = "PROGRESS category=Scholing project=Taal%20Werkt gemeente=Gooise%20Meren";
    assert_int_equal(proto_parse_line(&req, line, strlen(line), err, sizeof(err)), WM_OK);
    assert_int_equal(proto_progress_build(&req, &env, &q, err, sizeof(err)), WM_OK);
    assert_string_equal(q.category, "scholing");
    assert_string_equal(q.project, "taal-werkt");
    assert_int_equal(q.ngemeente, 1);
    assert_string_equal(q.gemeente[0], "gooise-meren");

    static const char *const bad[] = {
        "PROGRESS asof=2022-02-30", "PROGRESS asof=today",  "PROGRESS category=Zo_rg",
        "PROGRESS project=",        "PROGRESS type=placed", "PROGRESS zorgstart",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(proto_parse_line(&req, bad[i], strlen(bad[i]), err, sizeof(err)), WM_OK);
        assert_int_equal(proto_progress_build(&req, &env, &q, err, sizeof(err)), WM_EINVALID);
        assert_true(strlen(err) > 0);
    }
}

/* Regression: a COUNT query was 120 KiB, built on the event loop's stack for
 * every COUNT; its lists now stay in the request, sized to what the request holds. */
static void test_count_query_is_small_and_lists_live_in_the_request(void **state)
{
    struct wm_count_query q;
    char line[8200];
    size_t n;

    (void)state;
    assert_true(sizeof(struct wm_count_query) < 1024);
    /* the longest list allowed, then one more value */
    n = (size_t)snprintf(line, sizeof(line), "COUNT placed year=");
    for (int i = 0; i < WM_MAX_FILTER_VALUES; i++)
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%04d", i ? "," : "", 1000 + i);
    assert_int_equal(count(line, &q), WM_OK);
    assert_int_equal(q.filter[WM_DIM_YEAR].n, WM_MAX_FILTER_VALUES);
    assert_int_equal(q.filter[WM_DIM_YEAR].num[WM_MAX_FILTER_VALUES - 1],
                     1000 + WM_MAX_FILTER_VALUES - 1);
    snprintf(line + n, sizeof(line) - n, ",2999");
    assert_int_equal(count(line, &q), WM_EINVALID);
    assert_non_null(strstr(err, "year: more than 1024 values"));
    /* two lists side by side keep their own values */
    assert_int_equal(count("COUNT placed gemeente=laren,weesp year=2021 project=a,b,c", &q), WM_OK);
    assert_int_equal(q.filter[WM_DIM_GEMEENTE].n, 2);
    assert_string_equal(q.filter[WM_DIM_GEMEENTE].str[1], "weesp");
    assert_int_equal(q.filter[WM_DIM_YEAR].num[0], 2021);
    assert_int_equal(q.filter[WM_DIM_PROJECT].n, 3);
    assert_string_equal(q.filter[WM_DIM_PROJECT].str[2], "c");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_query_is_small_and_lists_live_in_the_request),
        cmocka_unit_test(test_type_tables),
        cmocka_unit_test(test_dims),
        cmocka_unit_test(test_count_plain),
        cmocka_unit_test(test_count_by_every_dim),
        cmocka_unit_test(test_count_dates),
        cmocka_unit_test(test_count_distinct),
        cmocka_unit_test(test_count_filters),
        cmocka_unit_test(test_count_bad_filters),
        cmocka_unit_test(test_progress),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
