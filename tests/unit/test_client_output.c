/*
 * Unit tests of the client's output side: ROW payloads into a table (reply.c) and the
 * table printed for people (aligned, coloured status), as CSV (RFC 4180, and for Excel)
 * and as JSON (output.c, through proto's formatter), with the value rules of each.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "client.h"

#define BOLD "\033[1m"
#define GREEN "\033[32m"
#define YELLOW "\033[33m"
#define RED "\033[31m"
#define RESET "\033[0m"

/* The table of the given ROW payloads (NULL-terminated); asserts that it builds. */
static void build(struct cli_table *t, ...)
{
    char *rows[16];
    size_t n = 0;
    va_list ap;
    char *r;

    va_start(ap, t);
    while ((r = va_arg(ap, char *)) != NULL && n < 16)
        rows[n++] = r;
    va_end(ap);
    assert_int_equal(cli_table_build(t, rows, n), WM_OK);
}

/* What cli_table_print writes for t as o says; the caller frees it. */
static char *print_as(const struct cli_table *t, const struct cli_output *o, int color)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    assert_non_null(out);
    assert_int_equal(cli_table_print(out, t, o, color), WM_OK);
    assert_int_equal(fclose(out), 0);
    return text;
}

static void assert_printed_as(const struct cli_table *t, const struct cli_output *o, int color,
                              const char *want)
{
    char *got = print_as(t, o, color);

    assert_string_equal(got, want);
    free(got);
}

/* In fmt with the defaults (CSV with ',', values typed by their column). */
static void assert_printed(const struct cli_table *t, enum cli_format fmt, int color,
                           const char *want)
{
    struct cli_output o = {fmt, {',', 0, 0}, 0};

    assert_printed_as(t, &o, color, want);
}

static void test_table_build(void **state)
{
    struct cli_table t;
    char *bad[] = {(char *)"project=a count=1", (char *)"project=b 7"};
    char *nokey[] = {(char *)"=x"};

    (void)state;
    build(&t, "project=zorg%20start  count=3", " project=b extra=x%2Cy", "count=%zz", "", NULL);
    assert_int_equal(t.nrows, 4);
    assert_int_equal(t.ncols, 3);
    /* the union of the keys, in order of first appearance */
    assert_string_equal(t.cols[0], "project");
    assert_string_equal(t.cols[1], "count");
    assert_string_equal(t.cols[2], "extra");
    assert_string_equal(t.cells[0], "zorg start"); /* decoded */
    assert_string_equal(t.cells[1], "3");
    assert_null(t.cells[2]); /* no such key in that row */
    assert_string_equal(t.cells[3], "b");
    assert_null(t.cells[4]);
    assert_string_equal(t.cells[5], "x,y");
    assert_string_equal(t.cells[7], "%zz"); /* does not decode: kept as received */
    for (size_t c = 0; c < 3; c++)
        assert_null(t.cells[9 + c]);
    cli_table_free(&t);
    cli_table_free(&t); /* a freed (zeroed) table is valid */

    assert_int_equal(cli_table_build(&t, bad, 2), WM_EPROTOCOL);
    assert_int_equal(t.ncols, 0);
    assert_int_equal(cli_table_build(&t, nokey, 1), WM_EPROTOCOL);
    assert_int_equal(cli_table_build(&t, NULL, 0), WM_OK);
    assert_int_equal(t.nrows, 0);
    cli_table_free(&t);
}

static void test_format_parse(void **state)
{
    enum cli_format f = CLI_FMT_JSON;

    (void)state;
    assert_int_equal(cli_format_parse("table", &f), WM_OK);
    assert_int_equal(f, CLI_FMT_TABLE);
    assert_int_equal(cli_format_parse("csv", &f), WM_OK);
    assert_int_equal(f, CLI_FMT_CSV);
    assert_int_equal(cli_format_parse("json", &f), WM_OK);
    assert_int_equal(f, CLI_FMT_JSON);
    assert_int_equal(cli_format_parse("JSON", &f), WM_ECONFIG);
    assert_int_equal(cli_format_parse("", &f), WM_ECONFIG);
    assert_int_equal(cli_format_parse("tsv", &f), WM_ECONFIG);
    assert_int_equal(f, CLI_FMT_JSON);
}

static void test_text_width(void **state)
{
    (void)state;
    assert_int_equal(cli_text_width(""), 0);
    assert_int_equal(cli_text_width("abc"), 3);
    assert_int_equal(cli_text_width("café"), 4);
    assert_int_equal(cli_text_width("€𝄞"), 2);
}

static void test_table_aligned(void **state)
{
    struct cli_table t;

    (void)state;
    build(&t, "project=zorgstart count=12 status=green", "project=ggz count=3 status=red",
          "project=caf%C3%A9-x count=- status=none", "project=p4 status=orange", NULL);
    /* text left-aligned (no padding after the last column), numbers right-aligned, "-"
     * and a missing cell do not stop a column being numeric */
    assert_printed(&t, CLI_FMT_TABLE, 0,
                   "project    count  status\n"
                   "zorgstart     12  green\n"
                   "ggz            3  red\n"
                   "café-x         -  none\n"
                   "p4                orange\n");
    assert_printed(&t, CLI_FMT_TABLE, 1,
                   BOLD "project" RESET "    " BOLD "count" RESET "  " BOLD "status" RESET "\n"
                        "zorgstart     12  " GREEN "green" RESET "\n"
                        "ggz            3  " RED "red" RESET "\n"
                        "café-x         -  none\n"
                        "p4                " YELLOW "orange" RESET "\n");
    cli_table_free(&t);

    /* a column with text in it is left-aligned, numbers and all */
    build(&t, "stat=events value=120", "stat=version value=0.1.0", NULL);
    assert_printed(&t, CLI_FMT_TABLE, 0,
                   "stat     value\n"
                   "events   120\n"
                   "version  0.1.0\n");
    cli_table_free(&t);

    build(&t, NULL);
    assert_printed(&t, CLI_FMT_TABLE, 0, "(no rows)\n");
    cli_table_free(&t);
}

static void test_csv(void **state)
{
    struct cli_table t;
    /* a decoded value never holds a control character (proto_unescape refuses them);
     * the CSV writer quotes line breaks all the same */
    char *cols[] = {(char *)"note", (char *)"n"};
    char *cells[] = {(char *)"line\nbreak", (char *)"1", (char *)"cr\r", NULL};
    const struct cli_table byhand = {2, 2, cols, cells};

    (void)state;
    build(&t, "title=a%2Cb n=1", "title=say%20%22hi%22 n=2", "title=%20edge n=3", "title=edge%20",
          "title= n=5", "title=%0A n=6", NULL);
    assert_printed(&t, CLI_FMT_CSV, 0,
                   "title,n\r\n"
                   "\"a,b\",1\r\n"
                   "\"say \"\"hi\"\"\",2\r\n"
                   "\" edge\",3\r\n"
                   "\"edge \",\r\n"
                   ",5\r\n"
                   "%0A,6\r\n");
    cli_table_free(&t);
    assert_printed(&byhand, CLI_FMT_CSV, 0, "note,n\r\n\"line\nbreak\",1\r\n\"cr\r\",\r\n");
    build(&t, "count=0", NULL);
    assert_printed(&t, CLI_FMT_CSV, 1, "count\r\n0\r\n"); /* never coloured */
    cli_table_free(&t);
    build(&t, NULL);
    assert_printed(&t, CLI_FMT_CSV, 0, "");
    cli_table_free(&t);
}

static void test_json(void **state)
{
    struct cli_table t;

    (void)state;
    /* numbers by their column (count, year, ...), as the server types them: elsewhere a
     * value of digits stays a string; "-" and a missing cell are null */
    build(&t,
          "project=zorg%20start count=12 target=- expected=0.5 big=1234567890123456789 "
          "year=007 v=1.2.3 d=.5 e=5.",
          "project=%C3%A9 status=green", NULL);
    assert_printed(
        &t, CLI_FMT_JSON, 1,
        "[\n"
        "{\"project\":\"zorg start\",\"count\":12,\"target\":null,\"expected\":\"0.5\","
        "\"big\":\"1234567890123456789\",\"year\":7,\"v\":\"1.2.3\",\"d\":\".5\","
        "\"e\":\"5.\",\"status\":null},\n"
        "{\"project\":\"\xc3\xa9\",\"count\":null,\"target\":null,\"expected\":null,"
        "\"big\":null,\"year\":null,\"v\":null,\"d\":null,\"e\":null,\"status\":\"green\"}\n"
        "]\n");
    cli_table_free(&t);
    build(&t, NULL);
    assert_printed(&t, CLI_FMT_JSON, 0, "[]\n");
    cli_table_free(&t);
}

/* STATS: numbers by content, a decimal as it is; "<N" in a count column is suppressed. */
static void test_json_by_content_and_suppressed(void **state)
{
    struct cli_table t;
    struct cli_output o = {CLI_FMT_JSON, {',', 0, 0}, 1};

    (void)state;
    build(&t, "stat=events value=120", "stat=batch_avg value=12.25", "stat=version value=0.1.0",
          "stat=name value=-5", NULL);
    assert_printed_as(&t, &o, 0,
                      "[\n{\"stat\":\"events\",\"value\":120},\n"
                      "{\"stat\":\"batch_avg\",\"value\":12.25},\n"
                      "{\"stat\":\"version\",\"value\":\"0.1.0\"},\n"
                      "{\"stat\":\"name\",\"value\":\"-5\"}\n]\n");
    cli_table_free(&t);
    build(&t, "gemeente=huizen count=%3C5", NULL);
    assert_printed(&t, CLI_FMT_JSON, 0,
                   "[\n{\"gemeente\":\"huizen\",\"count\":null,\"suppressed\":true}\n]\n");
    /* a value that does not decode is kept as received, and written as a string */
    cli_table_free(&t);
    build(&t, "title=a%FFb", NULL);
    assert_printed(&t, CLI_FMT_JSON, 0, "[\n{\"title\":\"a%FFb\"}\n]\n");
    cli_table_free(&t);
}

/* --sep ';' and --excel: the separator, a byte-order mark, Excel's formula guard. */
static void test_csv_for_excel(void **state)
{
    struct cli_table t;
    struct cli_output o = {CLI_FMT_CSV, {';', 1, 1}, 0};

    (void)state;
    build(&t, "title=a%3Bb n=1", "title=%3D1%2B2 n=2", "title=a,b n=3", NULL);
    assert_printed_as(&t, &o, 0, "\xEF\xBB\xBFtitle;n\r\n\"a;b\";1\r\n\"'=1+2\";2\r\na,b;3\r\n");
    cli_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_build),
        cmocka_unit_test(test_format_parse),
        cmocka_unit_test(test_text_width),
        cmocka_unit_test(test_table_aligned),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_json_by_content_and_suppressed),
        cmocka_unit_test(test_csv_for_excel),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
