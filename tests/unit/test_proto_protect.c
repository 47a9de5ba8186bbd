/*
 * Unit tests of the small-cell protection of typed results (result.c, PROTOCOL.md
 * section 3, docs/SECURITY.md #4): a principal's min-count hides counts above 0 and
 * below N, round rounds every other from its own raw value, PROGRESS's complement rule,
 * and the same for the live totals.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "proto.h"

static struct wm_buf out;

static const char *text(void)
{
    return wm_buf_cstr(&out);
}

/* started by=gemeente with the given counts, one gemeente ("g0", "g1", ...) each */
static void count_rows(struct wm_count_result *r, const uint64_t *counts, size_t n)
{
    const uint8_t by[] = {WM_DIM_GEMEENTE};

    proto_count_result_init(r);
    proto_count_result_reset(r, WM_TYPE_STARTED, by, 1);
    for (size_t i = 0; i < n; i++) {
        char name[8] = {'g', (char)('0' + i), 0};
        const char *vals[] = {name};
        assert_int_equal(proto_count_result_add(r, vals, counts[i]), WM_OK);
    }
}

/* The result's ROW lines into out. */
static const char *count_rows_text(const struct wm_count_result *r)
{
    struct wm_table t;

    proto_count_table(r, &t);
    wm_buf_reset(&out);
    assert_int_equal(proto_table_rows(&t, &out), WM_OK);
    return text();
}

static void test_round_count(void **state)
{
    (void)state;
    /* R = 0 and R = 1 are exact */
    assert_int_equal(proto_round_count(7, 0), 7);
    assert_int_equal(proto_round_count(7, 1), 7);
    assert_int_equal(proto_round_count(0, 10), 0);
    /* to the nearest multiple, halves up */
    assert_int_equal(proto_round_count(4, 10), 0);
    assert_int_equal(proto_round_count(5, 10), 10);
    assert_int_equal(proto_round_count(14, 10), 10);
    assert_int_equal(proto_round_count(15, 10), 20);
    assert_int_equal(proto_round_count(1, 2), 2);
    assert_int_equal(proto_round_count(2, 5), 0);
    assert_int_equal(proto_round_count(3, 5), 5);
    assert_int_equal(proto_round_count(1000, 10), 1000);
}

/* Below N hidden (but 0 stays 0), every other rounded to R from its own value. */
static void test_count_suppressed_below_n_rounded_to_r(void **state)
{
    static const uint64_t counts[] = {0, 1, 4, 5, 14, 15, 25};
    struct wm_count_result r;
    struct wm_table t;

    (void)state;
    count_rows(&r, counts, 7);
    proto_count_result_protect(&r, 5, 10);
    assert_int_equal(r.suppress_below, 5);
    assert_string_equal(count_rows_text(&r), "ROW gemeente=g0 count=0\n"
                                             "ROW gemeente=g1 count=<5\n"
                                             "ROW gemeente=g2 count=<5\n"
                                             "ROW gemeente=g3 count=10\n"
                                             "ROW gemeente=g4 count=10\n"
                                             "ROW gemeente=g5 count=20\n"
                                             "ROW gemeente=g6 count=30\n");
    assert_false(r.rows[0].suppressed);
    assert_true(r.rows[1].suppressed);
    /* JSON: null with "suppressed": true on that row only */
    proto_count_table(&r, &t);
    wm_buf_reset(&out);
    assert_int_equal(proto_table_json_row(&t, 1, &out), WM_OK);
    assert_string_equal(text(), "{\"gemeente\":\"g1\",\"count\":null,\"suppressed\":true}");
    wm_buf_reset(&out);
    proto_table_json_row(&t, 0, &out);
    assert_string_equal(text(), "{\"gemeente\":\"g0\",\"count\":0}");
    proto_count_result_free(&r);
}

/* A total (COUNT without by=) is rounded from its own raw value, not summed from
 * rounded rows: 14 + 14 shows as 10 and 10, their total 28 as 30. */
static void test_count_total_from_its_own_raw_value(void **state)
{
    static const uint64_t counts[] = {14, 14};
    struct wm_count_result r, total;

    (void)state;
    count_rows(&r, counts, 2);
    proto_count_result_protect(&r, 5, 10);
    assert_string_equal(count_rows_text(&r),
                        "ROW gemeente=g0 count=10\nROW gemeente=g1 count=10\n");
    proto_count_result_init(&total);
    proto_count_result_reset(&total, WM_TYPE_STARTED, NULL, 0);
    assert_int_equal(proto_count_result_add(&total, NULL, 28), WM_OK);
    proto_count_result_protect(&total, 5, 10);
    assert_string_equal(count_rows_text(&total), "ROW count=30\n");
    assert_int_equal(total.suppress_below, 0);
    /* an empty total stays 0, never "<N" */
    proto_count_result_reset(&total, WM_TYPE_STARTED, NULL, 0);
    proto_count_result_add(&total, NULL, 0);
    proto_count_result_protect(&total, 5, 10);
    assert_string_equal(count_rows_text(&total), "ROW count=0\n");
    proto_count_result_free(&r);
    proto_count_result_free(&total);
}

/* N = 1 hides nothing, R = 1 and 0/0 change nothing. */
static void test_count_edges_n1_r1(void **state)
{
    static const uint64_t counts[] = {0, 1, 2, 17};
    struct wm_count_result r;

    (void)state;
    count_rows(&r, counts, 4);
    proto_count_result_protect(&r, 1, 1);
    assert_int_equal(r.suppress_below, 0);
    assert_string_equal(count_rows_text(&r), "ROW gemeente=g0 count=0\nROW gemeente=g1 count=1\n"
                                             "ROW gemeente=g2 count=2\nROW gemeente=g3 count=17\n");
    proto_count_result_protect(&r, 0, 0);
    assert_string_equal(count_rows_text(&r), "ROW gemeente=g0 count=0\nROW gemeente=g1 count=1\n"
                                             "ROW gemeente=g2 count=2\nROW gemeente=g3 count=17\n");
    /* N = 2: only the ones */
    proto_count_result_protect(&r, 2, 1);
    assert_string_equal(count_rows_text(&r), "ROW gemeente=g0 count=0\nROW gemeente=g1 count=<2\n"
                                             "ROW gemeente=g2 count=2\nROW gemeente=g3 count=17\n");
    proto_count_result_free(&r);
}

static void test_count_all_rows_suppressed(void **state)
{
    static const uint64_t counts[] = {1, 9, 3};
    struct wm_count_result r;
    struct wm_table t;

    (void)state;
    count_rows(&r, counts, 3);
    proto_count_result_protect(&r, 10, 5);
    assert_string_equal(count_rows_text(&r), "ROW gemeente=g0 count=<10\n"
                                             "ROW gemeente=g1 count=<10\n"
                                             "ROW gemeente=g2 count=<10\n");
    proto_count_table(&r, &t);
    wm_buf_reset(&out);
    proto_table_json(&t, &out);
    assert_string_equal(text(), "[\n{\"gemeente\":\"g0\",\"count\":null,\"suppressed\":true},\n"
                                "{\"gemeente\":\"g1\",\"count\":null,\"suppressed\":true},\n"
                                "{\"gemeente\":\"g2\",\"count\":null,\"suppressed\":true}\n]");
    proto_count_result_free(&r);
}

/* One PROGRESS row without dates: expected = target. */
static void progress_row(struct wm_progress_result *r, const char *project, int indicator,
                         uint64_t actual, int64_t target)
{
    const char *cat = strcmp(project, "*") == 0 ? "*" : "zorg";

    assert_int_equal(proto_progress_result_add(r, project, cat, indicator, actual, target,
                                               WM_DATE_NONE, WM_DATE_NONE, 0),
                     WM_OK);
}

/* The value shown of row i: its number, or "<N". */
static const char *shown(const struct wm_progress_result *r, size_t i, char *buf, size_t n)
{
    if (r->rows[i].suppressed)
        snprintf(buf, n, "<%llu", (unsigned long long)r->suppress_below);
    else
        snprintf(buf, n, "%llu", (unsigned long long)r->rows[i].actual);
    return buf;
}

#define SHOWN(r, i) shown(r, i, buf, sizeof(buf))

/* Where one project row of an indicator is hidden, the smallest other non-zero project
 * row is hidden too; two hidden rows, or no other non-zero row, hide nothing more; the
 * program's row is never the one chosen and follows its own raw value. */
static void test_progress_complement_rule(void **state)
{
    struct wm_progress_result r;
    char buf[24];

    (void)state;
    proto_progress_result_init(&r);
    /* started: a=1 is hidden, so b=7 (smaller than c=12, d=0 does not count) goes too */
    progress_row(&r, "a", 0, 1, -1);
    progress_row(&r, "b", 0, 7, -1);
    progress_row(&r, "c", 0, 12, -1);
    progress_row(&r, "d", 0, 0, -1);
    /* completed: two hidden already, c=9 stays */
    progress_row(&r, "a", 1, 2, -1);
    progress_row(&r, "b", 1, 3, -1);
    progress_row(&r, "c", 1, 9, -1);
    /* placed: one hidden, the others 0: nothing more; the program's 3 hidden by itself */
    progress_row(&r, "a", 2, 3, -1);
    progress_row(&r, "b", 2, 0, -1);
    progress_row(&r, "*", 0, 20, 30);
    progress_row(&r, "*", 1, 14, -1);
    progress_row(&r, "*", 2, 3, -1);
    proto_progress_result_protect(&r, 5, 0);
    assert_int_equal(r.suppress_below, 5);
    assert_string_equal(SHOWN(&r, 0), "<5");
    assert_string_equal(SHOWN(&r, 1), "<5"); /* its value is 7 */
    assert_string_equal(SHOWN(&r, 2), "12");
    assert_string_equal(SHOWN(&r, 3), "0");
    assert_string_equal(SHOWN(&r, 4), "<5");
    assert_string_equal(SHOWN(&r, 5), "<5");
    assert_string_equal(SHOWN(&r, 6), "9");
    assert_string_equal(SHOWN(&r, 7), "<5");
    assert_string_equal(SHOWN(&r, 8), "0");
    assert_string_equal(SHOWN(&r, 9), "20");
    assert_string_equal(SHOWN(&r, 10), "14");
    assert_string_equal(SHOWN(&r, 11), "<5");
    /* a hidden row has no status; the shown ones keep theirs */
    assert_int_equal(r.rows[1].status, WM_STATUS_NONE);
    assert_int_equal(r.rows[9].status, WM_STATUS_RED);
    proto_progress_result_free(&r);
}

/* Each actual rounded from its own raw value (the program's too), the status computed
 * from the value shown; a hidden row's ROW reads actual=<N status=none. */
static void test_progress_rounded_status_from_shown(void **state)
{
    struct wm_progress_result r;
    struct wm_table t;
    char buf[24];

    (void)state;
    proto_progress_result_init(&r);
    progress_row(&r, "a", 1, 17, 20); /* orange raw, 20 shown: green */
    progress_row(&r, "b", 1, 14, 14); /* green raw, 10 shown: red */
    progress_row(&r, "*", 1, 31, 34); /* 30 shown: orange */
    progress_row(&r, "c", 2, 3, 10);  /* hidden, and no other placed row to hide */
    progress_row(&r, "*", 2, 3, -1);
    assert_int_equal(r.rows[0].status, WM_STATUS_ORANGE);
    assert_int_equal(r.rows[1].status, WM_STATUS_GREEN);
    proto_progress_result_protect(&r, 5, 10);
    assert_string_equal(SHOWN(&r, 0), "20");
    assert_int_equal(r.rows[0].status, WM_STATUS_GREEN);
    assert_string_equal(SHOWN(&r, 1), "10");
    assert_int_equal(r.rows[1].status, WM_STATUS_RED);
    /* the program's 31 from its own value: 30, not 20 + 10 */
    assert_string_equal(SHOWN(&r, 2), "30");
    assert_int_equal(r.rows[2].status, WM_STATUS_ORANGE);
    assert_string_equal(SHOWN(&r, 3), "<5");
    assert_string_equal(SHOWN(&r, 4), "<5");
    proto_progress_table(&r, &t);
    wm_buf_reset(&out);
    proto_table_rows(&t, &out);
    assert_non_null(strstr(text(), "ROW project=c category=zorg indicator=placed actual=<5 "
                                   "target=10 expected=10 status=none\n"));
    assert_non_null(strstr(text(), "ROW project=a category=zorg indicator=completed actual=20 "
                                   "target=20 expected=20 status=green\n"));
    proto_progress_result_free(&r);
}

/* N = 1, R = 1: PROGRESS unchanged; every project row hidden: no extra hiding needed. */
static void test_progress_edges_n1_r1_all_hidden(void **state)
{
    struct wm_progress_result r;
    char buf[24];

    (void)state;
    proto_progress_result_init(&r);
    progress_row(&r, "a", 0, 1, 4);
    progress_row(&r, "b", 0, 2, -1);
    progress_row(&r, "*", 0, 3, -1);
    proto_progress_result_protect(&r, 1, 1);
    assert_int_equal(r.suppress_below, 0);
    assert_string_equal(SHOWN(&r, 0), "1");
    assert_int_equal(r.rows[0].status, WM_STATUS_RED);
    assert_string_equal(SHOWN(&r, 2), "3");
    proto_progress_result_protect(&r, 5, 1);
    for (size_t i = 0; i < 3; i++) {
        assert_true(r.rows[i].suppressed);
        assert_int_equal(r.rows[i].status, WM_STATUS_NONE);
    }
    proto_progress_result_free(&r);
}

/* The five totals of WATCH and /v1/totals: each from its own raw value, suppressed as
 * "<N" in the line and null plus "suppressed": true in JSON; 0 stays 0. */
static void test_totals_protected(void **state)
{
    struct wm_totals t = {
        .seq = 9, .started = 25, .completed = 1, .placed = 4, .placed_persons = 0, .outflow = 7};

    (void)state;
    proto_totals_protect(&t, 5, 10);
    assert_int_equal(t.suppressed, WM_TOTAL_COMPLETED | WM_TOTAL_PLACED);
    assert_int_equal(t.suppress_below, 5);
    wm_buf_reset(&out);
    assert_int_equal(proto_totals_line(&t, &out), WM_OK);
    assert_string_equal(text(), "TOTAL seq=9 started=30 completed=<5 placed=<5 "
                                "placed.persons=0 outflow=10\n");
    wm_buf_reset(&out);
    assert_int_equal(proto_totals_json(&t, &out), WM_OK);
    assert_string_equal(text(), "{\"seq\":9,\"started\":30,\"completed\":null,\"placed\":null,"
                                "\"placed.persons\":0,\"outflow\":10,\"suppressed\":true}");
}

/* N = 1 and R = 1 (or 0 and 0, a principal without them) change nothing; every figure
 * can be suppressed at once. */
static void test_totals_edges(void **state)
{
    struct wm_totals t = {
        .seq = 3, .started = 1, .completed = 2, .placed = 3, .placed_persons = 1, .outflow = 1};

    (void)state;
    proto_totals_protect(&t, 0, 0);
    proto_totals_protect(&t, 1, 1);
    assert_int_equal(t.suppressed, 0);
    wm_buf_reset(&out);
    proto_totals_json(&t, &out);
    assert_string_equal(text(), "{\"seq\":3,\"started\":1,\"completed\":2,\"placed\":3,"
                                "\"placed.persons\":1,\"outflow\":1}");
    proto_totals_protect(&t, 4, 1);
    assert_int_equal(t.suppressed, WM_TOTAL_STARTED | WM_TOTAL_COMPLETED | WM_TOTAL_PLACED |
                                       WM_TOTAL_PLACED_PERSONS | WM_TOTAL_OUTFLOW);
    wm_buf_reset(&out);
    proto_totals_line(&t, &out);
    assert_string_equal(text(), "TOTAL seq=3 started=<4 completed=<4 placed=<4 "
                                "placed.persons=<4 outflow=<4\n");
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_count),
        cmocka_unit_test(test_count_suppressed_below_n_rounded_to_r),
        cmocka_unit_test(test_count_total_from_its_own_raw_value),
        cmocka_unit_test(test_count_edges_n1_r1),
        cmocka_unit_test(test_count_all_rows_suppressed),
        cmocka_unit_test(test_progress_complement_rule),
        cmocka_unit_test(test_progress_rounded_status_from_shown),
        cmocka_unit_test(test_progress_edges_n1_r1_all_hidden),
        cmocka_unit_test(test_totals_protected),
        cmocka_unit_test(test_totals_edges),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    wm_buf_free(&out); /* every test formats into out */
    return failed;
}
