/*
 * Unit tests of proto's typed results and their one formatter (result.c): ROW lines as
 * PROTOCOL.md writes them, JSON (numbers, nulls, suppressed cells, escaping) and CSV
 * (RFC 4180 quoting, the separator, the byte-order mark, Excel's formula guard).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto.h"

static struct wm_buf out;

static const char *text(void)
{
    return wm_buf_cstr(&out);
}

static int32_t day(const char *s)
{
    int32_t d;

    assert_int_equal(proto_date_parse(s, strlen(s), &d), WM_OK);
    return d;
}

/* placed by=sector,year with three groups, added out of order */
static void count_fixture(struct wm_count_result *r)
{
    const uint8_t by[] = {WM_DIM_ENUM0, WM_DIM_YEAR};
    const char *a[] = {"zorg", "2022"}, *b[] = {"bouw", "2023"}, *c[] = {"zorg", "2021"};

    proto_count_result_init(r);
    proto_count_result_reset(r, WM_TYPE_PLACED, by, 2);
    assert_int_equal(proto_count_result_add(r, a, 3), WM_OK);
    assert_int_equal(proto_count_result_add(r, b, 1), WM_OK);
    assert_int_equal(proto_count_result_add(r, c, 12), WM_OK);
    proto_count_result_sort(r);
}

static void test_count_rows_json_csv(void **state)
{
    struct wm_count_result r;
    struct wm_table t;
    struct wm_csv_opts csv = {',', 0, 0};

    (void)state;
    count_fixture(&r);
    proto_count_table(&r, &t);
    assert_int_equal(t.ncols, 3);
    assert_string_equal(t.cols[0], "sector");
    assert_string_equal(proto_count_result_value(&r, 0, 0), "bouw");

    wm_buf_reset(&out);
    assert_int_equal(proto_table_rows(&t, &out), WM_OK);
    assert_string_equal(text(), "ROW sector=bouw year=2023 count=1\n"
                                "ROW sector=zorg year=2021 count=12\n"
                                "ROW sector=zorg year=2022 count=3\n");
    wm_buf_reset(&out);
    assert_int_equal(proto_table_json(&t, &out), WM_OK);
    assert_string_equal(text(), "[\n{\"sector\":\"bouw\",\"year\":2023,\"count\":1},\n"
                                "{\"sector\":\"zorg\",\"year\":2021,\"count\":12},\n"
                                "{\"sector\":\"zorg\",\"year\":2022,\"count\":3}\n]");
    wm_buf_reset(&out);
    assert_int_equal(proto_table_csv(&t, &csv, &out), WM_OK);
    assert_string_equal(text(),
                        "sector,year,count\r\nbouw,2023,1\r\nzorg,2021,12\r\nzorg,2022,3\r\n");

    /* a suppressed count (a principal's min-count) */
    r.suppress_below = 5;
    r.rows[0].suppressed = 1;
    proto_count_table(&r, &t);
    wm_buf_reset(&out);
    proto_table_rows(&t, &out);
    assert_non_null(strstr(text(), "ROW sector=bouw year=2023 count=<5\n"));
    wm_buf_reset(&out);
    proto_table_json(&t, &out);
    assert_non_null(strstr(text(), "{\"sector\":\"bouw\",\"year\":2023,\"count\":null,"
                                   "\"suppressed\":true},\n{\"sector\":\"zorg\""));
    proto_count_result_free(&r);
}

/* A packed COUNT (an answer kept on a connection while it goes out in slices) gives the
 * same ROW lines, JSON and CSV as the result it was packed from, from any row on: many
 * groups sharing values, "-", years, suppressed counts, and no by= at all. */
static void test_count_packed_same_rows(void **state)
{
    const uint8_t by[] = {WM_DIM_GEMEENTE, WM_DIM_YEAR, WM_DIM_ENUM0};
    const char *gem[] = {"huizen", "hilversum", "laren", "-"}, *sec[] = {"zorg", "bouw", "-"};
    struct wm_count_result r;
    struct wm_count_packed p;
    struct wm_table t, tp;
    struct wm_buf want = {0};
    struct wm_csv_opts csv = {';', 1, 1};
    char year[8];

    (void)state;
    proto_count_result_init(&r);
    proto_count_result_reset(&r, WM_TYPE_PLACED, by, 3);
    for (int i = 0; i < 600; i++) {
        const char *vals[3] = {gem[i % 4], year, sec[i % 3]};
        snprintf(year, sizeof(year), "%d", 2015 + i / 12);
        assert_int_equal(proto_count_result_add(&r, vals, (uint64_t)i * 7919u % 1000u), WM_OK);
    }
    proto_count_result_sort(&r);
    r.suppress_below = 5;
    for (size_t i = 0; i < r.nrows; i += 7)
        r.rows[i].suppressed = 1;
    proto_count_table(&r, &t);
    for (size_t from = 0; from <= r.nrows; from += 137) {
        assert_int_equal(proto_count_pack(&r, from, &p), WM_OK);
        assert_int_equal(p.nrows, r.nrows - from);
        /* each distinct value once: far less than a row's values each */
        assert_true(p.pool_len < 400);
        assert_true(proto_count_packed_size(&p) <
                    (r.nrows - from) * 3 * sizeof(uint32_t) + (r.nrows - from) * 9 + 400);
        proto_count_packed_table(&p, &tp);
        assert_int_equal(tp.ncols, t.ncols);
        for (size_t j = 0; j < t.ncols; j++)
            assert_string_equal(tp.cols[j], t.cols[j]);
        wm_buf_reset(&want);
        wm_buf_reset(&out);
        for (size_t i = from; i < r.nrows; i++)
            assert_int_equal(proto_table_row(&t, i, &want), WM_OK);
        assert_int_equal(proto_table_rows(&tp, &out), WM_OK);
        assert_string_equal(text(), wm_buf_cstr(&want));
        if (from == 0) {
            assert_non_null(strstr(text(), "count=<5\n"));
            assert_non_null(strstr(text(), "gemeente=- year=2015"));
            wm_buf_reset(&want);
            wm_buf_reset(&out);
            proto_table_json(&t, &want);
            proto_table_json(&tp, &out);
            assert_string_equal(text(), wm_buf_cstr(&want));
            wm_buf_reset(&want);
            wm_buf_reset(&out);
            proto_table_csv(&t, &csv, &want);
            proto_table_csv(&tp, &csv, &out);
            assert_string_equal(text(), wm_buf_cstr(&want));
        }
        proto_count_packed_free(&p);
    }
    /* without by=: one row, no values */
    proto_count_result_reset(&r, WM_TYPE_STARTED, NULL, 0);
    assert_int_equal(proto_count_result_add(&r, NULL, 42), WM_OK);
    assert_int_equal(proto_count_pack(&r, 0, &p), WM_OK);
    proto_count_packed_table(&p, &tp);
    wm_buf_reset(&out);
    proto_table_rows(&tp, &out);
    assert_string_equal(text(), "ROW count=42\n");
    proto_count_packed_free(&p);
    free(want.data);
    proto_count_result_free(&r);
}

static void test_count_without_by_and_none(void **state)
{
    const uint8_t by[] = {WM_DIM_PROJECT, WM_DIM_MONTH};
    const char *v[] = {"-", "2021-09"}, *w[] = {"zorg start", "2021-10"};
    struct wm_count_result r;
    struct wm_table t;

    (void)state;
    proto_count_result_init(&r);
    proto_count_result_reset(&r, WM_TYPE_OUTFLOW, NULL, 0);
    assert_int_equal(proto_count_result_add(&r, NULL, 0), WM_OK);
    proto_count_table(&r, &t);
    wm_buf_reset(&out);
    proto_table_rows(&t, &out);
    assert_string_equal(text(), "ROW count=0\n");
    wm_buf_reset(&out);
    proto_table_json(&t, &out);
    assert_string_equal(text(), "[\n{\"count\":0}\n]");

    proto_count_result_reset(&r, WM_TYPE_OUTFLOW, by, 2);
    proto_count_result_add(&r, w, 2);
    proto_count_result_add(&r, v, 1);
    proto_count_result_sort(&r);
    proto_count_table(&r, &t);
    wm_buf_reset(&out);
    proto_table_rows(&t, &out);
    /* "-" sorts before letters; values are escaped as on the wire */
    assert_string_equal(text(), "ROW project=- month=2021-09 count=1\n"
                                "ROW project=zorg%20start month=2021-10 count=2\n");
    wm_buf_reset(&out);
    proto_table_json(&t, &out);
    assert_string_equal(text(),
                        "[\n{\"project\":null,\"month\":\"2021-09\",\"count\":1},\n"
                        "{\"project\":\"zorg start\",\"month\":\"2021-10\",\"count\":2}\n]");
    /* reset empties, keeps memory */
    proto_count_result_reset(&r, WM_TYPE_OUTFLOW, by, 2);
    assert_int_equal(r.nrows, 0);
    assert_non_null(r.rows);
    proto_count_result_free(&r);
    assert_null(r.rows);
}

static void test_csv_quoting_excel(void **state)
{
    const uint8_t by[] = {WM_DIM_PROJECT};
    const char *vals[][1] = {{"a,b"}, {"say \"hi\""}, {" edge"}, {"=1+2"}, {"a;b"}, {"-"}};
    struct wm_count_result r;
    struct wm_table t;
    struct wm_csv_opts rfc = {',', 0, 0}, excel = {';', 1, 1};

    (void)state;
    proto_count_result_init(&r);
    proto_count_result_reset(&r, WM_TYPE_STARTED, by, 1);
    for (size_t i = 0; i < 6; i++)
        proto_count_result_add(&r, vals[i], i + 1);
    proto_count_table(&r, &t);
    wm_buf_reset(&out);
    proto_table_csv(&t, &rfc, &out);
    assert_string_equal(text(),
                        "project,count\r\n\"a,b\",1\r\n\"say \"\"hi\"\"\",2\r\n\" edge\",3\r\n"
                        "=1+2,4\r\na;b,5\r\n,6\r\n");
    wm_buf_reset(&out);
    proto_table_csv(&t, &excel, &out);
    assert_string_equal(text(), "\xEF\xBB\xBFproject;count\r\na,b;1\r\n\"say \"\"hi\"\"\";2\r\n"
                                "\" edge\";3\r\n\"'=1+2\";4\r\n\"a;b\";5\r\n;6\r\n");
    proto_count_result_free(&r);
}

static void test_progress_math_and_rows(void **state)
{
    struct wm_progress_result r;
    struct wm_table t;
    int32_t s = day("2020-09-01"), e = day("2023-12-31");

    (void)state;
    assert_int_equal(proto_progress_expected(48, s, e, day("2023-12-31")), 48);
    assert_int_equal(proto_progress_expected(48, s, e, day("2030-01-01")), 48);
    assert_int_equal(proto_progress_expected(48, s, e, day("2019-01-01")), 0);
    assert_int_equal(proto_progress_expected(48, WM_DATE_NONE, e, day("2021-01-01")), 48);
    /* half of 10 days of a target of 5: 2.5 rounds up */
    assert_int_equal(
        proto_progress_expected(5, day("2021-01-01"), day("2021-01-10"), day("2021-01-05")), 3);
    assert_int_equal(proto_progress_status(10, 10, 10), WM_STATUS_GREEN);
    assert_int_equal(proto_progress_status(8, 10, 10), WM_STATUS_ORANGE);
    assert_int_equal(proto_progress_status(7, 10, 10), WM_STATUS_RED);
    assert_int_equal(proto_progress_status(7, -1, -1), WM_STATUS_NONE);
    assert_string_equal(proto_status_name(WM_STATUS_ORANGE), "orange");

    proto_progress_result_init(&r);
    proto_progress_result_add(&r, "zorgstart", "scholingsprojecten", 0, 1, 48, s, e, e);
    proto_progress_result_add(&r, "*", "*", 2, 1, -1, WM_DATE_NONE, WM_DATE_NONE, e);
    proto_progress_table(&r, &t);
    wm_buf_reset(&out);
    proto_table_rows(&t, &out);
    assert_string_equal(text(),
                        "ROW project=zorgstart category=scholingsprojecten indicator=started "
                        "actual=1 target=48 expected=48 status=red\n"
                        "ROW project=* category=* indicator=placed actual=1 target=- "
                        "expected=- status=none\n");
    wm_buf_reset(&out);
    proto_table_json(&t, &out);
    assert_string_equal(text(),
                        "[\n{\"project\":\"zorgstart\",\"category\":\"scholingsprojecten\","
                        "\"indicator\":\"started\",\"actual\":1,\"target\":48,\"expected\":48,"
                        "\"status\":\"red\"},\n{\"project\":\"*\",\"category\":\"*\","
                        "\"indicator\":\"placed\",\"actual\":1,\"target\":null,"
                        "\"expected\":null,\"status\":\"none\"}\n]");
    proto_progress_result_free(&r);
}

static void test_projects_rows(void **state)
{
    struct wm_projects_result r;
    struct wm_project p;
    struct wm_table t;

    (void)state;
    proto_projects_result_init(&r);
    memset(&p, 0, sizeof(p));
    strcpy(p.name, "zorgstart");
    strcpy(p.category, "scholingsprojecten");
    p.scope = WM_SCOPE_REGIONAL;
    p.start = day("2020-09-01");
    p.end = WM_DATE_NONE;
    p.target[0] = 48;
    p.target[1] = -1;
    p.target[2] = 36;
    strcpy(p.title, "ZorgStart Wijkleerbedrijf");
    assert_int_equal(proto_projects_result_add(&r, &p), WM_OK);
    memset(&p, 0, sizeof(p));
    strcpy(p.name, "*");
    p.start = day("2020-01-01");
    p.end = day("2023-12-31");
    p.target[0] = 1200;
    p.target[1] = 860;
    p.target[2] = 500;
    proto_projects_result_add(&r, &p);
    proto_projects_table(&r, &t);
    wm_buf_reset(&out);
    proto_table_rows(&t, &out);
    assert_string_equal(text(),
                        "ROW project=zorgstart category=scholingsprojecten scope=regional "
                        "start=2020-09-01 end=- target.started=48 target.completed=- "
                        "target.placed=36 title=ZorgStart%20Wijkleerbedrijf\n"
                        "ROW project=* category=* scope=- start=2020-01-01 end=2023-12-31 "
                        "target.started=1200 target.completed=860 target.placed=500 title=-\n");
    wm_buf_reset(&out);
    proto_table_json(&t, &out);
    assert_non_null(
        strstr(text(), "\"end\":null,\"target.started\":48,\"target.completed\":null,"));
    assert_non_null(strstr(text(), "{\"project\":\"*\",\"category\":\"*\",\"scope\":null,"
                                   "\"start\":\"2020-01-01\""));
    proto_projects_result_free(&r);
}

static void test_totals(void **state)
{
    struct wm_totals t = {.seq = 5, .started = 1, .completed = 2, .placed = 3, .placed_persons = 4};

    (void)state;
    wm_buf_reset(&out);
    proto_totals_line(&t, &out);
    assert_string_equal(text(),
                        "TOTAL seq=5 started=1 completed=2 placed=3 placed.persons=4 outflow=0\n");
    wm_buf_reset(&out);
    proto_totals_json(&t, &out);
    assert_string_equal(text(), "{\"seq\":5,\"started\":1,\"completed\":2,\"placed\":3,"
                                "\"placed.persons\":4,\"outflow\":0}");
}

static void test_json_strings(void **state)
{
    static const struct {
        const char *in;
        size_t n;
        const char *want;
    } cases[] = {
        {"plain", 5, "\"plain\""},
        {"q\"b\\s", 5, "\"q\\\"b\\\\s\""},
        {"a\nb\r\tc\x01", 7, "\"a\\nb\\r\\tc\\u0001\""},
        {"</script>", 9, "\"\\u003c/script>\""},
        {"caf\xc3\xa9 \xe2\x82\xac", 9, "\"caf\xc3\xa9 \xe2\x82\xac\""},
        {"x\xffy", 3, "\"x\xef\xbf\xbdy\""},
        {"\xc3", 1, "\"\xef\xbf\xbd\""},
        {"\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
        {"l\xe2\x80\xa8s", 5, "\"l\\u2028s\""},
        {"", 0, "\"\""},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        wm_buf_reset(&out);
        assert_int_equal(proto_json_string(&out, cases[i].in, cases[i].n), WM_OK);
        assert_string_equal(text(), cases[i].want);
    }
}

/* The client's rows of text come out as the server's typed results do. */
static void test_text_rows_type_like_the_server(void **state)
{
    static const char *const cols[] = {"sector", "year", "count"};
    static const char *const cells[] = {"bouw", "2023", "1",    "zorg", "2021",
                                        "<5",   "-",    "2022", NULL};
    static const char *const stat_cols[] = {"stat", "value"};
    static const char *const stats[] = {"version",   "0.1.0", "events", "12",
                                        "batch_avg", "12.50", "name",   "2021-Q3"};
    struct wm_text_rows src = {cells, 3, 0}, st = {stats, 2, 1};
    struct wm_count_result r;
    struct wm_table t;
    struct wm_buf typed;

    (void)state;
    proto_text_table(&src, cols, 3, 3, &t);
    wm_buf_reset(&out);
    proto_table_json(&t, &out);
    assert_string_equal(text(),
                        "[\n{\"sector\":\"bouw\",\"year\":2023,\"count\":1},\n"
                        "{\"sector\":\"zorg\",\"year\":2021,\"count\":null,\"suppressed\":true},\n"
                        "{\"sector\":null,\"year\":2022,\"count\":null}\n]");
    wm_buf_reset(&out);
    proto_table_rows(&t, &out);
    assert_string_equal(text(), "ROW sector=bouw year=2023 count=1\n"
                                "ROW sector=zorg year=2021 count=<5\n"
                                "ROW sector=- year=2022 count=-\n");

    /* the same answer typed by the server and read back as text: the same JSON */
    count_fixture(&r);
    proto_count_table(&r, &t);
    wm_buf_init(&typed);
    proto_table_json(&t, &typed);
    {
        const char *back[9];
        for (size_t i = 0; i < 3; i++) {
            back[i * 3] = proto_count_result_value(&r, i, 0);
            back[i * 3 + 1] = proto_count_result_value(&r, i, 1);
        }
        back[2] = "1";
        back[5] = "12";
        back[8] = "3";
        src.cells = back;
        proto_text_table(&src, cols, 3, 3, &t);
        wm_buf_reset(&out);
        proto_table_json(&t, &out);
        assert_string_equal(text(), wm_buf_cstr(&typed));
    }
    wm_buf_free(&typed);
    proto_count_result_free(&r);

    /* STATS: numbers by content, decimals as they are */
    proto_text_table(&st, stat_cols, 2, 4, &t);
    wm_buf_reset(&out);
    proto_table_json(&t, &out);
    assert_string_equal(text(), "[\n{\"stat\":\"version\",\"value\":\"0.1.0\"},\n"
                                "{\"stat\":\"events\",\"value\":12},\n"
                                "{\"stat\":\"batch_avg\",\"value\":12.50},\n"
                                "{\"stat\":\"name\",\"value\":\"2021-Q3\"}\n]");
}

static int teardown(void **state)
{
    (void)state;
    wm_buf_free(&out);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_rows_json_csv),
        cmocka_unit_test(test_count_packed_same_rows),
        cmocka_unit_test(test_count_without_by_and_none),
        cmocka_unit_test(test_csv_quoting_excel),
        cmocka_unit_test(test_progress_math_and_rows),
        cmocka_unit_test(test_projects_rows),
        cmocka_unit_test(test_totals),
        cmocka_unit_test(test_json_strings),
        cmocka_unit_test(test_text_rows_type_like_the_server),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
