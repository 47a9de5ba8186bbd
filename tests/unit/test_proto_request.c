/*
 * Unit tests of proto's request parsing (PROTOCOL.md section 1): tokens, verbs, keys,
 * positional arguments, %XX escapes and the UTF-8 and control-character rules.
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

static int parse(struct proto_request *req, const char *line)
{
    err[0] = '\0';
    return proto_parse_line(req, line, strlen(line), err, sizeof(err));
}

static void test_verbs_case_insensitive(void **state)
{
    static const struct {
        const char *line;
        enum proto_verb verb;
        const char *text;
    } cases[] = {
        {"PING", PROTO_VERB_PING, "PING"},
        {"ping", PROTO_VERB_PING, "PING"},
        {"PiNg", PROTO_VERB_PING, "PING"},
        {"hello", PROTO_VERB_HELLO, "HELLO"},
        {"auth x", PROTO_VERB_AUTH, "AUTH"},
        {"Quit", PROTO_VERB_QUIT, "QUIT"},
        {"event", PROTO_VERB_EVENT, "EVENT"},
        {"retract", PROTO_VERB_RETRACT, "RETRACT"},
        {"count", PROTO_VERB_COUNT, "COUNT"},
        {"progress", PROTO_VERB_PROGRESS, "PROGRESS"},
        {"project", PROTO_VERB_PROJECT, "PROJECT"},
        {"program", PROTO_VERB_PROGRAM, "PROGRAM"},
        {"projects", PROTO_VERB_PROJECTS, "PROJECTS"},
        {"watch", PROTO_VERB_WATCH, "WATCH"},
        {"stats", PROTO_VERB_STATS, "STATS"},
        {"Replace", PROTO_VERB_REPLACE, "REPLACE"},
        {"check", PROTO_VERB_CHECK, "CHECK"},
        {"SHOW", PROTO_VERB_SHOW, "SHOW"},
        {"frobnicate", PROTO_VERB_UNKNOWN, "FROBNICATE"},
        {"PINGX", PROTO_VERB_UNKNOWN, "PINGX"},
        {"PIN", PROTO_VERB_UNKNOWN, "PIN"},
    };
    struct proto_request req;
    size_t i;

    (void)state;
    proto_request_init(&req);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(parse(&req, cases[i].line), WM_OK);
        assert_int_equal(req.verb, cases[i].verb);
        assert_string_equal(req.verb_text, cases[i].text);
    }
    proto_request_free(&req);
}

static void test_long_verb_truncated_unknown(void **state)
{
    struct proto_request req;

    (void)state;
    proto_request_init(&req);
    /* "PROJECTSPROJECTSX" is longer than verb_text: truncated, never a known verb. */
    assert_int_equal(parse(&req, "projectsprojectsx a=b"), WM_OK);
    assert_int_equal(req.verb, PROTO_VERB_UNKNOWN);
    assert_int_equal(strlen(req.verb_text), sizeof(req.verb_text) - 1);
    assert_memory_equal(req.verb_text, "PROJECTSPROJECT", 15);
    /* A multi-byte character is never cut in half. */
    assert_int_equal(parse(&req, "abcdefghijklmn\xc3\xa9xyz"), WM_OK);
    assert_string_equal(req.verb_text, "ABCDEFGHIJKLMN");
    proto_request_free(&req);
}

static void test_empty_and_spaces(void **state)
{
    struct proto_request req;

    (void)state;
    proto_request_init(&req);
    assert_int_equal(parse(&req, ""), WM_OK);
    assert_int_equal(req.verb, PROTO_VERB_UNKNOWN);
    assert_string_equal(req.verb_text, "");
    assert_int_equal(req.nargs, 0);
    assert_int_equal(parse(&req, "      "), WM_OK);
    assert_string_equal(req.verb_text, "");
    assert_int_equal(parse(&req, "   count    started     by=project   "), WM_OK);
    assert_int_equal(req.verb, PROTO_VERB_COUNT);
    assert_int_equal(req.nargs, 2);
    assert_null(req.args[0].key);
    assert_string_equal(req.args[0].val, "started");
    assert_string_equal(req.args[1].key, "by");
    assert_string_equal(req.args[1].val, "project");
    assert_int_equal(req.args[1].val_len, 7);
    /* A reused request forgets the previous line. */
    assert_int_equal(parse(&req, "PING"), WM_OK);
    assert_int_equal(req.nargs, 0);
    assert_null(proto_request_get(&req, "by"));
    proto_request_free(&req);
}

static void test_positional_and_keys(void **state)
{
    struct proto_request req;

    (void)state;
    proto_request_init(&req);
    assert_int_equal(parse(&req, "EVENT id=a placed person=p1 extra"), WM_OK);
    assert_int_equal(req.nargs, 4);
    assert_string_equal(proto_request_positional(&req, 0), "placed");
    assert_string_equal(proto_request_positional(&req, 1), "extra");
    assert_null(proto_request_positional(&req, 2));
    assert_string_equal(proto_request_get(&req, "id"), "a");
    assert_string_equal(proto_request_get(&req, "person"), "p1");
    assert_null(proto_request_get(&req, "placed"));
    assert_null(proto_request_get(&req, "missing"));
    /* The value is split at the first '=' only. */
    assert_int_equal(parse(&req, "X a==b=c k=v=w"), WM_OK);
    assert_string_equal(proto_request_get(&req, "a"), "=b=c");
    assert_string_equal(proto_request_get(&req, "k"), "v=w");
    /* An empty value is a value. */
    assert_int_equal(parse(&req, "X k="), WM_OK);
    assert_string_equal(proto_request_get(&req, "k"), "");
    assert_int_equal(req.args[0].val_len, 0);
    /* Keys may use a-z 0-9 . _ - */
    assert_int_equal(parse(&req, "X target.started=1 a_b-c.9=2"), WM_OK);
    assert_string_equal(proto_request_get(&req, "target.started"), "1");
    assert_string_equal(proto_request_get(&req, "a_b-c.9"), "2");
    proto_request_free(&req);
}

static void test_bad_keys(void **state)
{
    struct proto_request req;

    (void)state;
    proto_request_init(&req);
    assert_int_equal(parse(&req, "EVENT =x"), WM_ESYNTAX);
    assert_non_null(strstr(err, "empty key"));
    assert_int_equal(parse(&req, "EVENT Id=x"), WM_ESYNTAX);
    assert_non_null(strstr(err, "'Id'"));
    assert_int_equal(parse(&req, "EVENT i%64=x"), WM_ESYNTAX);
    assert_int_equal(parse(&req, "EVENT a/b=x"), WM_ESYNTAX);
    assert_int_equal(parse(&req, "EVENT \xc3\xa9=x"), WM_ESYNTAX);
    assert_int_equal(req.nargs, 0);
    /* the key is checked on the way to the first '=': a bad byte anywhere before it
     * (first, last, after a good run) is named, one after it belongs to the value */
    assert_int_equal(parse(&req, "EVENT ab.c-D=x"), WM_ESYNTAX);
    assert_non_null(strstr(err, "bad key 'ab.c-D'"));
    assert_int_equal(parse(&req, "EVENT Xab=x"), WM_ESYNTAX);
    assert_non_null(strstr(err, "bad key 'Xab'"));
    assert_int_equal(parse(&req, "EVENT ab%3D=x"), WM_ESYNTAX);
    assert_non_null(strstr(err, "bad key 'ab%3D'"));
    assert_int_equal(parse(&req, "EVENT key=Bad/Value=%41"), WM_OK);
    assert_string_equal(proto_request_get(&req, "key"), "Bad/Value=A");
    /* every byte value in a key: accepted exactly when it is one of [a-z0-9._-] */
    for (int c = 1; c < 256; c++) {
        char line[16];
        int ok =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';

        if (c == ' ' || c == '=')
            continue; /* they end the token or the key */
        snprintf(line, sizeof(line), "X k%cy=v", c);
        assert_int_equal(parse(&req, line), ok ? WM_OK : WM_ESYNTAX);
    }
    /* a positional token may hold any byte a value may; it has no key to check */
    assert_int_equal(parse(&req, "EVENT Placed/X k=v"), WM_OK);
    assert_string_equal(proto_request_positional(&req, 0), "Placed/X");
    proto_request_free(&req);
}

static void test_duplicate_key(void **state)
{
    struct proto_request req;

    (void)state;
    proto_request_init(&req);
    assert_int_equal(parse(&req, "EVENT started id=a id=b"), WM_ESYNTAX);
    assert_non_null(strstr(err, "duplicate key 'id'"));
    assert_int_equal(parse(&req, "EVENT started id=a id=a"), WM_ESYNTAX);
    /* The same text as a positional and as a key is fine. */
    assert_int_equal(parse(&req, "EVENT id id=a"), WM_OK);
    /* the duplicate check looks further only for keys that share a bit (first byte and
     * length): keys that do but differ pass, the same key far apart is found, and a
     * new line starts with no keys seen */
    assert_int_equal(parse(&req, "EVENT ab=1 ac=2 ba=3 a=4 abc=5"), WM_OK);
    assert_int_equal(req.nargs, 5);
    assert_int_equal(parse(&req, "EVENT ab=1 c=2 d=3 e=4 f=5 g=6 h=7 ab=8"), WM_ESYNTAX);
    assert_non_null(strstr(err, "duplicate key 'ab'"));
    assert_int_equal(parse(&req, "EVENT ab=1"), WM_OK);
    assert_int_equal(parse(&req, "EVENT ab=2"), WM_OK);
    assert_string_equal(proto_request_get(&req, "ab"), "2");
    proto_request_free(&req);
}

static void test_escapes(void **state)
{
    struct proto_request req;

    (void)state;
    proto_request_init(&req);
    assert_int_equal(parse(&req, "X a=hello%20world b=100%25 c=%3d%3D d=%2C e=%c3%a9"), WM_OK);
    assert_string_equal(proto_request_get(&req, "a"), "hello world");
    assert_string_equal(proto_request_get(&req, "b"), "100%");
    assert_string_equal(proto_request_get(&req, "c"), "==");
    assert_string_equal(proto_request_get(&req, "d"), ",");
    assert_string_equal(proto_request_get(&req, "e"), "\xc3\xa9");
    assert_int_equal(req.args[4].val_len, 2);
    /* Positional values are decoded too. */
    assert_int_equal(parse(&req, "AUTH s%20cret"), WM_OK);
    assert_string_equal(proto_request_positional(&req, 0), "s cret");
    /* AUTH takes a positional token, which may hold '=' and capitals. */
    assert_int_equal(parse(&req, "auth QUJD=="), WM_OK);
    assert_int_equal(req.nargs, 1);
    assert_null(req.args[0].key);
    assert_string_equal(proto_request_positional(&req, 0), "QUJD==");
    assert_int_equal(parse(&req, "AUTH =x"), WM_OK);
    assert_string_equal(proto_request_positional(&req, 0), "=x");
    assert_int_equal(parse(&req, "AUTH secret%zz"), WM_ESYNTAX);
    assert_null(strstr(err, "secret"));
    assert_non_null(strstr(err, "token: malformed"));
    proto_request_free(&req);
}

static void test_bad_escapes(void **state)
{
    static const char *const bad[] = {
        "X a=%zz", "X a=%",   "X a=abc%", "X a=%4",  "X a=%4g", "X a=%0A", "X a=%0d",
        "X a=%00", "X a=%7F", "X a=%1f",  "X a=%09", "X pos%",  "X a=%G0", "X a=%%41",
    };
    struct proto_request req;
    size_t i;

    (void)state;
    proto_request_init(&req);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(&req, bad[i]), WM_ESYNTAX);
        assert_true(strlen(err) > 0);
    }
    /* The message names the key and quotes the raw token. */
    assert_int_equal(parse(&req, "X name=a%20b%zz"), WM_ESYNTAX);
    assert_non_null(strstr(err, "name:"));
    assert_non_null(strstr(err, "'a%20b%zz'"));
    assert_int_equal(parse(&req, "X a=%00"), WM_ESYNTAX);
    assert_non_null(strstr(err, "NUL"));
    /* A person value is never echoed, not even a broken one. */
    assert_int_equal(parse(&req, "EVENT person=123456789%zz"), WM_ESYNTAX);
    assert_null(strstr(err, "12345"));
    assert_non_null(strstr(err, "person: malformed"));
    assert_int_equal(parse(&req, "EVENT person=123456789%0A"), WM_ESYNTAX);
    assert_null(strstr(err, "12345"));
    proto_request_free(&req);
}

static void test_utf8(void **state)
{
    static const char *const bad[] = {
        "X a=\xc3",             /* truncated 2-byte */
        "X a=\x80",             /* lone continuation */
        "X a=\xc0\xaf",         /* overlong '/' */
        "X a=\xc1\xbf",         /* overlong */
        "X a=%C0%AF",           /* overlong, escaped */
        "X a=\xe0\x80\xaf",     /* overlong 3-byte */
        "X a=\xf0\x80\x80\xaf", /* overlong 4-byte */
        "X a=\xed\xa0\x80",     /* surrogate U+D800 */
        "X a=%ED%BF%BF",        /* surrogate U+DFFF */
        "X a=\xf4\x90\x80\x80", /* U+110000 */
        "X a=\xf5\x80\x80\x80", /* bad lead */
        "X a=\xff",             /* bad byte */
        "X a=\xe2\x82",         /* truncated 3-byte */
        "X \xe2\x28\xa1",       /* bad continuation, positional */
        "\xff",                 /* invalid verb */
        "P\x01NG",              /* control char in verb */
        "X a=\xc2\x80",         /* U+0080, a C1 control (docs/AUDIT.md #1) */
        "X a=%C2%85",           /* U+0085 NEL, escaped */
        "X a=\xc2\x9f",         /* U+009F */
    };
    static const char *const good[] = {
        "X a=\xc2\xa0",         /* U+00A0, first after the C1 controls */
        "X a=\xdf\xbf",         /* U+07FF */
        "X a=\xe0\xa0\x80",     /* U+0800 */
        "X a=\xed\x9f\xbf",     /* U+D7FF */
        "X a=\xee\x80\x80",     /* U+E000 */
        "X a=\xef\xbf\xbf",     /* U+FFFF */
        "X a=\xf0\x9f\x98\x80", /* U+1F600, 4 bytes */
        "X a=%F0%9F%98%80",     /* the same, escaped */
        "X a=\xf4\x8f\xbf\xbf", /* U+10FFFF */
    };
    struct proto_request req;
    size_t i;

    (void)state;
    proto_request_init(&req);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse(&req, bad[i]), WM_ESYNTAX);
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_int_equal(parse(&req, good[i]), WM_OK);
    assert_int_equal(parse(&req, "X a=%F0%9F%98%80"), WM_OK);
    assert_string_equal(proto_request_get(&req, "a"), "\xf0\x9f\x98\x80");
    proto_request_free(&req);
}

static void test_raw_control_and_nul(void **state)
{
    struct proto_request req;
    static const char line[] = "X a=b\0c";

    (void)state;
    proto_request_init(&req);
    assert_int_equal(proto_parse_line(&req, line, sizeof(line) - 1, err, sizeof(err)), WM_ESYNTAX);
    assert_non_null(strstr(err, "NUL"));
    assert_int_equal(parse(&req, "X a=b\tc"), WM_ESYNTAX);
    assert_int_equal(parse(&req, "X\ta=b"), WM_ESYNTAX);
    assert_int_equal(parse(&req, "X a=b\r"), WM_ESYNTAX);
    assert_int_equal(parse(&req, "X a=b\x7f"), WM_ESYNTAX);
    /* An error message never carries a raw control byte. */
    assert_int_equal(parse(&req, "X a=\x1b[31m"), WM_ESYNTAX);
    assert_null(strchr(err, '\x1b'));
    proto_request_free(&req);
}

static void test_too_many_args(void **state)
{
    struct proto_request req;
    char line[1024];
    size_t o = 0;
    int i;

    (void)state;
    proto_request_init(&req);
    o += (size_t)snprintf(line + o, sizeof(line) - o, "COUNT");
    for (i = 0; i < PROTO_MAX_ARGS; i++)
        o += (size_t)snprintf(line + o, sizeof(line) - o, " k%d=v", i);
    assert_int_equal(parse(&req, line), WM_OK);
    assert_int_equal(req.nargs, PROTO_MAX_ARGS);
    snprintf(line + o, sizeof(line) - o, " one=more");
    assert_int_equal(parse(&req, line), WM_EINVALID);
    assert_non_null(strstr(err, "too many"));
    proto_request_free(&req);
}

static void test_buffer_grows_and_not_nul_terminated_input(void **state)
{
    struct proto_request req;
    char big[5000];
    char line[8] = {'P', 'I', 'N', 'G', ' ', 'a', 'x', 'x'};

    (void)state;
    proto_request_init(&req);
    memset(big, 'a', sizeof(big));
    memcpy(big, "X v=", 4);
    assert_int_equal(proto_parse_line(&req, big, sizeof(big), err, sizeof(err)), WM_OK);
    assert_int_equal(req.args[0].val_len, sizeof(big) - 4);
    assert_true(req.cap >= sizeof(big) + 1);
    /* Only len bytes are read: the x's after them are not part of the line. */
    assert_int_equal(proto_parse_line(&req, line, 6, err, sizeof(err)), WM_OK);
    assert_string_equal(proto_request_positional(&req, 0), "a");
    proto_request_free(&req);
    assert_null(req.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verbs_case_insensitive),
        cmocka_unit_test(test_long_verb_truncated_unknown),
        cmocka_unit_test(test_empty_and_spaces),
        cmocka_unit_test(test_positional_and_keys),
        cmocka_unit_test(test_bad_keys),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_bad_escapes),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_raw_control_and_nul),
        cmocka_unit_test(test_too_many_args),
        cmocka_unit_test(test_buffer_grows_and_not_nul_terminated_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
