/*
 * Unit tests of proto's notes (PROTOCOL.md section 6, NOTE and NOTES): half-years, the
 * NOTE and NOTES requests, line breaks in the text only, the BSN rule over free text,
 * and the NOTES row.
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

static char err[256];

static int note(const char *line, struct wm_note *n)
{
    struct proto_request req;
    int rc;

    proto_request_init(&req);
    err[0] = '\0';
    rc = proto_parse_line(&req, line, strlen(line), err, sizeof(err));
    if (rc == WM_OK)
        rc = proto_note_build(&req, n, err, sizeof(err));
    proto_request_free(&req);
    return rc;
}

static void test_periods(void **state)
{
    int32_t p;
    char out[8];

    (void)state;
    assert_int_equal(proto_period_parse("2021-H2", 7, &p), WM_OK);
    assert_int_equal(p, 2021 * 2 + 1);
    proto_period_format(p, out);
    assert_string_equal(out, "2021-H2");
    assert_int_equal(proto_period_parse("2000-H1", 7, &p), WM_OK);
    proto_period_format(p, out);
    assert_string_equal(out, "2000-H1");
    static const char *const bad[] = {"2021-H3", "2021-H0",  "2021H2", "2021-h2", "1999-H1",
                                      "21-H2",   "2021-H22", "",       "abcd-H1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(proto_period_parse(bad[i], strlen(bad[i]), &p), WM_EINVALID);
}

static void test_note_build(void **state)
{
    struct wm_note n;

    (void)state;
    assert_int_equal(note("NOTE period=2021-H2 project=zorgstart light=orange "
                          "text=Loopt%20achter.%0A%0A-%20een%0A-%20twee",
                          &n),
                     WM_OK);
    assert_int_equal(n.period, 4043);
    assert_string_equal(n.project, "zorgstart");
    assert_string_equal(n.category, "");
    assert_int_equal(n.light, WM_LIGHT_ORANGE);
    assert_int_equal(n.light_given, 1);
    assert_string_equal(n.text, "Loopt achter.\n\n- een\n- twee");
    assert_int_equal(n.text_len, strlen(n.text));
    proto_note_free(&n);
    assert_null(n.text);

    /* The programme's note: neither project nor category; light kept when absent. */
    assert_int_equal(note("NOTE period=2022-H1 text=", &n), WM_OK);
    assert_string_equal(n.project, "");
    assert_string_equal(n.category, "");
    assert_int_equal(n.light_given, 0);
    assert_string_equal(n.text, "");
    proto_note_free(&n);

    assert_int_equal(note("NOTE period=2022-H1 category=doorstroombanen light=none text=x", &n),
                     WM_OK);
    assert_string_equal(n.category, "doorstroombanen");
    assert_int_equal(n.light, WM_LIGHT_NONE);
    assert_int_equal(n.light_given, 1);
    proto_note_free(&n);
}

static void test_note_refusals(void **state)
{
    static const struct {
        const char *line;
        int rc;
        const char *mention;
    } cases[] = {
        {"NOTE text=x", WM_EINVALID, "period"},
        {"NOTE period=2021-H2", WM_EINVALID, "text"},
        {"NOTE period=2021-H5 text=x", WM_EINVALID, "period"},
        {"NOTE period=2021-H2 project=Zorg text=x", WM_EINVALID, "project"},
        {"NOTE period=2021-H2 project=a category=b text=x", WM_EINVALID, "not both"},
        {"NOTE period=2021-H2 light=purple text=x", WM_EINVALID, "light"},
        {"NOTE period=2021-H2 colour=red text=x", WM_EINVALID, "colour"},
        {"NOTE period=2021-H2 text=x extra", WM_EINVALID, "extra"},
        {"NOTE period=2021-H2 text=bsn%20111222333", WM_EINVALID, "BSN"},
        /* a line break elsewhere is still a control character */
        {"NOTE period=2021-H2 project=a%0A text=x", WM_ESYNTAX, "control"},
        {"NOTE period=2021-H2 text=tab%09", WM_ESYNTAX, "control"},
        {"NOTE period=2021-H2 text=cr%0D", WM_ESYNTAX, "control"},
    };
    struct wm_note n;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = note(cases[i].line, &n);
        if (rc != cases[i].rc || strstr(err, cases[i].mention) == NULL)
            fail_msg("%s: rc %d, err '%s'", cases[i].line, rc, err);
    }
    /* The BSN message never repeats the value. */
    assert_int_equal(note("NOTE period=2021-H2 text=111222333", &n), WM_EINVALID);
    assert_null(strstr(err, "111222333"));
}

static void test_note_length(void **state)
{
    struct wm_note n;
    size_t len = WM_NOTE_MAX * 2 + 64;
    char *line = malloc(len);
    size_t o;

    (void)state;
    /* WM_NOTE_MAX characters of two bytes each (é) pass; one more does not. */
    o = (size_t)snprintf(line, len, "NOTE period=2021-H2 text=");
    for (int i = 0; i < WM_NOTE_MAX; i++) {
        line[o++] = (char)0xC3;
        line[o++] = (char)0xA9;
    }
    line[o] = '\0';
    assert_int_equal(note(line, &n), WM_OK);
    assert_int_equal(n.text_len, 2 * WM_NOTE_MAX);
    proto_note_free(&n);
    line[o++] = 'x';
    line[o] = '\0';
    assert_int_equal(note(line, &n), WM_EINVALID);
    assert_non_null(strstr(err, "at most 4000"));
    free(line);
}

static void test_notes_query(void **state)
{
    struct proto_request req;
    struct wm_notes_query q;
    const char *line;

    (void)state;
    proto_request_init(&req);
    line = "NOTES";
    assert_int_equal(proto_parse_line(&req, line, strlen(line), err, sizeof err), WM_OK);
    assert_int_equal(req.verb, PROTO_VERB_NOTES);
    assert_int_equal(proto_notes_build(&req, &q, err, sizeof err), WM_OK);
    assert_int_equal(q.period, -1);
    assert_string_equal(q.project, "");
    line = "notes period=2021-H1 category=wsp-projecten";
    assert_int_equal(proto_parse_line(&req, line, strlen(line), err, sizeof err), WM_OK);
    assert_int_equal(proto_notes_build(&req, &q, err, sizeof err), WM_OK);
    assert_int_equal(q.period, 4042);
    assert_string_equal(q.category, "wsp-projecten");
    line = "NOTES text=x";
    assert_int_equal(proto_parse_line(&req, line, strlen(line), err, sizeof err), WM_OK);
    assert_int_equal(proto_notes_build(&req, &q, err, sizeof err), WM_EINVALID);
    assert_non_null(strstr(err, "text"));
    /* NOTES's own values may not hold line breaks. */
    line = "NOTES project=a%0A";
    assert_int_equal(proto_parse_line(&req, line, strlen(line), err, sizeof err), WM_ESYNTAX);
    proto_request_free(&req);
}

static void test_bsn_rule(void **state)
{
    static const char *const found[] = {
        "111222333",   "bsn:111222333", "nummer 111222333.", "123.456.782", "123-456-782",
        "123 456 782", "1234.56.782",   "x123456782x",       "(111222333)",
    };
    static const char *const clean[] = {
        "wsp-2024-00017", "111222334",       "1112223330",       "0111222333",
        "000000000",      "12345678",        "123.456.78",       "123.456.7822",
        "2021-H2",        "1.123.456.789.0", "tel 035 123 4567", "",
    };

    (void)state;
    for (size_t i = 0; i < sizeof found / sizeof found[0]; i++)
        if (!proto_bsn_find(found[i], strlen(found[i])))
            fail_msg("not found in '%s'", found[i]);
    for (size_t i = 0; i < sizeof clean / sizeof clean[0]; i++)
        if (proto_bsn_find(clean[i], strlen(clean[i])))
            fail_msg("found in '%s'", clean[i]);
}

static void test_fmt_note(void **state)
{
    struct wm_note n;
    struct wm_buf b;

    (void)state;
    memset(&n, 0, sizeof n);
    n.period = 4043;
    strcpy(n.project, "zorgstart");
    n.light = WM_LIGHT_GREEN;
    n.version = 3;
    strcpy(n.principal, "beheer");
    n.time = 1636624800; /* 2021-11-11T10:00:00Z */
    n.text = "Goed op koers.\n- **twee** diploma's";
    n.text_len = strlen(n.text);
    wm_buf_init(&b);
    assert_int_equal(proto_fmt_note(&b, &n), WM_OK);
    assert_string_equal(wm_buf_cstr(&b),
                        "ROW period=2021-H2 project=zorgstart category=- light=green version=3 "
                        "principal=beheer at=2021-11-11T10:00:00Z "
                        "text=Goed%20op%20koers.%0A-%20**twee**%20diploma's\n");
    wm_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_periods),       cmocka_unit_test(test_note_build),
        cmocka_unit_test(test_note_refusals), cmocka_unit_test(test_note_length),
        cmocka_unit_test(test_notes_query),   cmocka_unit_test(test_bsn_rule),
        cmocka_unit_test(test_fmt_note),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
