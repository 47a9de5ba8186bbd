/*
 * Unit tests of proto's value layer: %XX unescaping and escaping (and their round
 * trip), UTF-8 validation, quoting for messages, names, integers and civil dates.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "proto.h"

static void test_unescape(void **state)
{
    char buf[64], err[128];
    size_t n = 99;

    (void)state;
    assert_int_equal(proto_unescape(buf, "a%20b%25c", 9, &n, err, sizeof(err)), WM_OK);
    assert_string_equal(buf, "a b%c");
    assert_int_equal(n, 5);
    assert_int_equal(proto_unescape(buf, "%e2%82%AC", 9, &n, err, sizeof(err)), WM_OK);
    assert_string_equal(buf, "\xe2\x82\xac");
    assert_int_equal(proto_unescape(buf, "", 0, &n, err, sizeof(err)), WM_OK);
    assert_string_equal(buf, "");
    assert_int_equal(n, 0);
    /* In place. */
    strcpy(buf, "x%41y%42");
    assert_int_equal(proto_unescape(buf, buf, strlen(buf), &n, NULL, 0), WM_OK);
    assert_string_equal(buf, "xAyB");
    /* Only len bytes are read. */
    assert_int_equal(proto_unescape(buf, "abc%zz", 3, &n, err, sizeof(err)), WM_OK);
    assert_string_equal(buf, "abc");
    /* Errors, with and without a message buffer. */
    assert_int_equal(proto_unescape(buf, "%zz", 3, &n, err, sizeof(err)), WM_ESYNTAX);
    assert_non_null(strstr(err, "malformed"));
    assert_int_equal(proto_unescape(buf, "ab%", 3, &n, NULL, 0), WM_ESYNTAX);
    assert_int_equal(proto_unescape(buf, "%2", 2, &n, err, sizeof(err)), WM_ESYNTAX);
    assert_int_equal(proto_unescape(buf, "%00", 3, &n, err, sizeof(err)), WM_ESYNTAX);
    assert_non_null(strstr(err, "NUL"));
    assert_int_equal(proto_unescape(buf, "%0A", 3, &n, err, sizeof(err)), WM_ESYNTAX);
    assert_non_null(strstr(err, "control"));
    assert_int_equal(proto_unescape(buf, "a\tb", 3, &n, err, sizeof(err)), WM_ESYNTAX);
    assert_int_equal(proto_unescape(buf, "\x7f", 1, &n, err, sizeof(err)), WM_ESYNTAX);
    assert_int_equal(proto_unescape(buf, "%C3", 3, &n, err, sizeof(err)), WM_ESYNTAX);
    assert_non_null(strstr(err, "UTF-8"));
    /* A small err buffer is cut, not overrun. */
    memset(err, 'z', sizeof(err));
    assert_int_equal(proto_unescape(buf, "%zz", 3, &n, err, 5), WM_ESYNTAX);
    assert_int_equal(strlen(err), 4);
}

/* The eight-bytes-at-a-time path for plain values: every byte value at every place of
 * a value of every length up to 24 (inside the words it reads and in the last, padded
 * one) is accepted exactly when it is printable ASCII other than '%', and decodes to
 * itself then. */
static void test_unescape_plain_words(void **state)
{
    char in[32], buf[32], err[128];
    size_t n;

    (void)state;
    for (size_t len = 1; len <= 24; len++) {
        for (size_t pos = 0; pos < len; pos++) {
            for (int b = 0; b < 256; b++) {
                int plain = b >= 0x20 && b < 0x7f && b != '%';
                int rc;
                memset(in, 'k', sizeof(in));
                in[pos] = (char)b;
                n = 99;
                rc = proto_unescape(buf, in, len, &n, err, sizeof(err));
                if (b == '%') {
                    /* "%kk" is malformed; at the end "%k"/"%" too short */
                    assert_int_equal(rc, WM_ESYNTAX);
                    continue;
                }
                assert_int_equal(rc, plain ? WM_OK : WM_ESYNTAX);
                if (plain) {
                    assert_int_equal(n, len);
                    assert_memory_equal(buf, in, len);
                    assert_int_equal(buf[len], '\0');
                }
            }
        }
    }
    /* an escape, UTF-8 and a C1 control after a plain run longer than a word */
    assert_int_equal(proto_unescape(buf, "abcdefghij%20kl", 15, &n, err, sizeof(err)), WM_OK);
    assert_string_equal(buf, "abcdefghij kl");
    assert_int_equal(proto_unescape(buf, "abcdefghij\xc3\xa9", 12, &n, err, sizeof(err)), WM_OK);
    assert_int_equal(n, 12);
    assert_int_equal(proto_unescape(buf, "abcdefghij%C2%85", 16, &n, err, sizeof(err)), WM_ESYNTAX);
    assert_non_null(strstr(err, "U+0085"));
    /* in place, longer than a word */
    strcpy(buf, "0123456789abcdef%41");
    assert_int_equal(proto_unescape(buf, buf, strlen(buf), &n, NULL, 0), WM_OK);
    assert_string_equal(buf, "0123456789abcdefA");
}

static void test_utf8_valid(void **state)
{
    (void)state;
    assert_true(proto_utf8_valid("", 0));
    assert_true(proto_utf8_valid("plain ascii", 11));
    assert_true(proto_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
    assert_true(proto_utf8_valid("\xf4\x8f\xbf\xbf", 4));
    assert_false(proto_utf8_valid("\xf4\x90\x80\x80", 4));
    assert_false(proto_utf8_valid("\xed\xa0\x80", 3));
    assert_false(proto_utf8_valid("\xc0\x80", 2));
    assert_false(proto_utf8_valid("\xe0\x9f\xbf", 3));
    assert_false(proto_utf8_valid("\xf0\x8f\xbf\xbf", 4));
    assert_false(proto_utf8_valid("\xc3", 1));
    assert_false(proto_utf8_valid("\xf0\x9f\x98", 3));
    assert_false(proto_utf8_valid("\xc3\x28", 2));
    assert_false(proto_utf8_valid("\xf8\x88\x80\x80\x80", 5));
    /* Only n bytes count. */
    assert_true(proto_utf8_valid("ab\xff", 2));
}

static void test_escape(void **state)
{
    char out[64];
    size_t n;

    (void)state;
    n = proto_escape(out, sizeof(out), "a b%c", 5);
    assert_string_equal(out, "a%20b%25c");
    assert_int_equal(n, 9);
    n = proto_escape(out, sizeof(out), "\x01\n\r\x1f\x7f~=,", 8);
    assert_string_equal(out, "%01%0A%0D%1F%7F~=,");
    assert_int_equal(n, strlen(out));
    n = proto_escape(out, sizeof(out), "\xc3\xa9t\xc3\xa9", 5);
    assert_string_equal(out, "\xc3\xa9t\xc3\xa9");
    n = proto_escape(out, sizeof(out), "", 0);
    assert_string_equal(out, "");
    assert_int_equal(n, 0);
    /* Like snprintf: the needed length is returned, the output is cut and terminated,
     * never in the middle of an escape. */
    n = proto_escape(out, 4, "ab cd", 5);
    assert_int_equal(n, 7);
    assert_string_equal(out, "ab");
    n = proto_escape(out, 6, "ab cd", 5);
    assert_string_equal(out, "ab%20");
    n = proto_escape(out, 1, "abc", 3);
    assert_string_equal(out, "");
    assert_int_equal(n, 3);
    assert_int_equal(proto_escape(NULL, 0, "a b", 3), 5);
}

/* The leading run that needs no escape is copied whole (proto_escape): for values whose
 * run ends anywhere (a space, '%', a control byte, UTF-8, the end) at every offset
 * around eight bytes, and for every room from none to enough, the output is the whole
 * escaped value cut before the first escape or byte that does not fit, terminated. */
static void test_escape_runs_cut(void **state)
{
    static const char *const stops[] = {" ", "%", "\x01", "\x7f", "\xc3\xa9", ""};
    char v[40], full[128], out[128];

    (void)state;
    for (size_t s = 0; s < sizeof(stops) / sizeof(stops[0]); s++) {
        for (size_t run = 0; run < 18; run++) {
            size_t n, need;

            memset(v, 'k', run);
            n = run + (size_t)snprintf(v + run, sizeof(v) - run, "%sz", stops[s]);
            need = proto_escape(full, sizeof(full), v, n);
            assert_int_equal(need, strlen(full));
            for (size_t room = 1; room < need + 3; room++) {
                size_t cut = need < room ? need : room - 1;

                memset(out, '#', sizeof(out));
                assert_int_equal(proto_escape(out, room, v, n), need);
                /* never half an escape: back to the start of one cut through */
                while (cut > 0 && ((cut >= 1 && full[cut - 1] == '%') ||
                                   (cut >= 2 && full[cut - 2] == '%' && cut < need)))
                    cut--;
                if (strncmp(out, full, cut) != 0 || out[cut] != '\0')
                    fail_msg("run %zu, stop %zu, room %zu: '%s' for '%.*s'", run, s, room, out,
                             (int)cut, full);
            }
        }
    }
}

static void test_escape_round_trip(void **state)
{
    char raw[256], esc[800], back[800];
    size_t i, n, m;
    int b;

    (void)state;
    /* Every byte value that may appear in a decoded value (1..255 minus controls),
     * arranged as valid UTF-8: ASCII plus two-byte characters. */
    n = 0;
    for (b = 0x20; b < 0x7f; b++)
        raw[n++] = (char)b;
    raw[n++] = '\xc3';
    raw[n++] = '\xa9';
    raw[n++] = '\xe2';
    raw[n++] = '\x82';
    raw[n++] = '\xac';
    m = proto_escape(esc, sizeof(esc), raw, n);
    assert_int_equal(m, strlen(esc));
    assert_null(strchr(esc, ' '));
    assert_int_equal(proto_unescape(back, esc, m, &i, NULL, 0), WM_OK);
    assert_int_equal(i, n);
    assert_memory_equal(back, raw, n);
    /* Escaped control bytes do not come back: the protocol refuses them. */
    m = proto_escape(esc, sizeof(esc), "a\nb", 3);
    assert_int_equal(proto_unescape(back, esc, m, &i, NULL, 0), WM_ESYNTAX);
}

static void test_quote(void **state)
{
    char out[16];

    (void)state;
    proto_quote(out, sizeof(out), "abc", 3);
    assert_string_equal(out, "abc");
    proto_quote(out, sizeof(out), "a b\xff", 4);
    assert_string_equal(out, "a%20b%FF");
    proto_quote(out, sizeof(out), "\xc3\xa9", 2);
    assert_string_equal(out, "\xc3\xa9");
    proto_quote(out, sizeof(out), "\xc3", 1);
    assert_string_equal(out, "%C3");
    /* Exactly 15 bytes fit, 16 are cut with "...". */
    proto_quote(out, sizeof(out), "123456789012345", 15);
    assert_string_equal(out, "123456789012345");
    proto_quote(out, sizeof(out), "1234567890123456", 16);
    assert_string_equal(out, "123456789012...");
    /* Cut at a character, never inside one or inside an escape. */
    proto_quote(out, sizeof(out), "12345678901\xc3\xa9xyz", 16);
    assert_string_equal(out, "12345678901...");
    proto_quote(out, sizeof(out), "1234567890 abcdef", 17);
    assert_string_equal(out, "1234567890...");
    proto_quote(out, 3, "abcdef", 6);
    assert_string_equal(out, "ab");
    proto_quote(out, 1, "abcdef", 6);
    assert_string_equal(out, "");
}

static void test_name_valid(void **state)
{
    char name[80];

    (void)state;
    assert_true(proto_name_valid("zorgstart", 9));
    assert_true(proto_name_valid("a", 1));
    assert_true(proto_name_valid("gooise-meren-2", 14));
    assert_false(proto_name_valid("", 0));
    assert_false(proto_name_valid("Zorg", 4));
    assert_false(proto_name_valid("a_b", 3));
    assert_false(proto_name_valid("a.b", 3));
    assert_false(proto_name_valid("a b", 3));
    assert_false(proto_name_valid("*", 1));
    memset(name, 'n', sizeof(name));
    assert_true(proto_name_valid(name, 64));
    assert_false(proto_name_valid(name, 65));
}

static void test_parse_uint(void **state)
{
    uint64_t v = 7;

    (void)state;
    assert_int_equal(proto_parse_uint("0", 1, 10, &v), WM_OK);
    assert_int_equal(v, 0);
    assert_int_equal(proto_parse_uint("10", 2, 10, &v), WM_OK);
    assert_int_equal(v, 10);
    assert_int_equal(proto_parse_uint("11", 2, 10, &v), WM_EINVALID);
    assert_int_equal(proto_parse_uint("5", 1, 0, &v), WM_EINVALID);
    assert_int_equal(proto_parse_uint("0", 1, 0, &v), WM_OK);
    assert_int_equal(proto_parse_uint("007", 3, 10, &v), WM_OK);
    assert_int_equal(v, 7);
    assert_int_equal(proto_parse_uint("", 0, 10, &v), WM_EINVALID);
    assert_int_equal(proto_parse_uint("-1", 2, 10, &v), WM_EINVALID);
    assert_int_equal(proto_parse_uint("+1", 2, 10, &v), WM_EINVALID);
    assert_int_equal(proto_parse_uint("1 ", 2, 10, &v), WM_EINVALID);
    assert_int_equal(proto_parse_uint("18446744073709551615", 20, UINT64_MAX, &v), WM_OK);
    assert_true(v == UINT64_MAX);
    assert_int_equal(proto_parse_uint("18446744073709551616", 20, UINT64_MAX, &v), WM_EINVALID);
    assert_int_equal(proto_parse_uint("99999999999999999999999", 23, UINT64_MAX, &v), WM_EINVALID);
    assert_int_equal(proto_parse_uint("1000000000", 10, 1000000000, &v), WM_OK);
    assert_int_equal(proto_parse_uint("1000000001", 10, 1000000000, &v), WM_EINVALID);
}

static void test_date_known_values(void **state)
{
    int32_t d;
    char out[11];
    int y, m, dd;

    (void)state;
    assert_int_equal(proto_date_parse("1970-01-01", 10, &d), WM_OK);
    assert_int_equal(d, 0);
    assert_int_equal(proto_date_parse("2000-01-01", 10, &d), WM_OK);
    assert_int_equal(d, WM_DATE_MIN);
    assert_int_equal(proto_date_parse("1969-12-31", 10, &d), WM_OK);
    assert_int_equal(d, -1);
    assert_int_equal(proto_date_parse("2024-02-29", 10, &d), WM_OK);
    assert_int_equal(d, 19782);
    assert_int_equal(proto_date_parse("0001-01-01", 10, &d), WM_OK);
    assert_int_equal(d, -719162);
    assert_int_equal(proto_date_parse("9999-12-31", 10, &d), WM_OK);
    assert_int_equal(d, 2932896);
    proto_date_format(19782, out);
    assert_string_equal(out, "2024-02-29");
    proto_date_format(-719162, out);
    assert_string_equal(out, "0001-01-01");
    proto_date_split(WM_DATE_MIN, &y, &m, &dd);
    assert_int_equal(y, 2000);
    assert_int_equal(m, 1);
    assert_int_equal(dd, 1);
    assert_int_equal(proto_date_from_ymd(2021, 9, 30), 18900);
    assert_int_equal(proto_date_month_index(18900), 2021 * 12 + 8);
    assert_int_equal(proto_date_month_index(proto_date_from_ymd(2000, 1, 31)), 2000 * 12);
    assert_int_equal(proto_date_month_index(proto_date_from_ymd(1999, 12, 1)), 2000 * 12 - 1);
}

static void test_date_invalid(void **state)
{
    static const char *const bad[] = {
        "0000-01-01",  "2023-02-29", "1900-02-29", "2021-04-31", "2021-06-31", "2021-13-01",
        "2021-00-01",  "2021-01-00", "2021-01-32", "2021-1-1",   "2021-01-1",  "20210101",
        "2021-01-01T", "2021/01/01", "2021-01-0a", " 2021-01-0", "-021-01-01", "2021--1-01",
    };
    int32_t d = 5;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(proto_date_parse(bad[i], strlen(bad[i]), &d), WM_EINVALID);
    assert_int_equal(proto_date_parse("2000-02-29", 10, &d), WM_OK);
    assert_int_equal(proto_date_parse("2400-02-29", 10, &d), WM_OK);
    assert_int_equal(proto_date_parse("2021-01-01", 9, &d), WM_EINVALID);
}

static void test_date_round_trip(void **state)
{
    int32_t d, back, prev = INT32_MIN;
    char out[11];
    int y, m, dd;

    (void)state;
    /* Every day of 0001-01-01 .. 9999-12-31: format, parse back, split and rebuild;
     * consecutive days are consecutive dates. */
    for (d = -719162; d <= 2932896; d++) {
        proto_date_format(d, out);
        assert_int_equal(proto_date_parse(out, 10, &back), WM_OK);
        if (back != d)
            fail_msg("day %d formats as %s, parses as %d", d, out, back);
        proto_date_split(d, &y, &m, &dd);
        if (proto_date_from_ymd(y, m, dd) != d)
            fail_msg("day %d splits into %d-%d-%d", d, y, m, dd);
        if (prev != INT32_MIN && dd != 1 && proto_date_from_ymd(y, m, dd - 1) != prev)
            fail_msg("day %d not after %d", d, prev);
        prev = d;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unescape),          cmocka_unit_test(test_unescape_plain_words),
        cmocka_unit_test(test_utf8_valid),        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_escape_round_trip), cmocka_unit_test(test_quote),
        cmocka_unit_test(test_name_valid),        cmocka_unit_test(test_parse_uint),
        cmocka_unit_test(test_date_known_values), cmocka_unit_test(test_date_invalid),
        cmocka_unit_test(test_date_round_trip),   cmocka_unit_test(test_escape_runs_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
