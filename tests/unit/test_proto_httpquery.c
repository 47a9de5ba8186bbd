/*
 * Unit tests of proto_parse_query: an HTTP query string of the read API (proto/HTTP.md)
 * read as the arguments of a request line, with the same key and value rules.
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

static int parse(struct proto_request *req, const char *q, const char *positional)
{
    err[0] = '\0';
    return proto_parse_query(req, PROTO_VERB_COUNT, q, strlen(q), positional, err, sizeof(err));
}

static void test_pairs_and_positional(void **state)
{
    struct proto_request req;

    (void)state;
    proto_request_init(&req);
    assert_int_equal(parse(&req, "type=placed&by=project,quarter&gemeente=huizen", "type"), WM_OK);
    assert_int_equal(req.verb, PROTO_VERB_COUNT);
    assert_string_equal(req.verb_text, "COUNT");
    assert_int_equal(req.nargs, 3);
    assert_string_equal(proto_request_positional(&req, 0), "placed");
    assert_null(proto_request_get(&req, "type"));
    assert_string_equal(proto_request_get(&req, "by"), "project,quarter");
    assert_string_equal(proto_request_get(&req, "gemeente"), "huizen");

    /* without a positional key, type stays a key */
    assert_int_equal(parse(&req, "type=placed", NULL), WM_OK);
    assert_string_equal(proto_request_get(&req, "type"), "placed");
    assert_null(proto_request_positional(&req, 0));
    proto_request_free(&req);
}

static void test_empty_and_skipped(void **state)
{
    struct proto_request req;

    (void)state;
    proto_request_init(&req);
    assert_int_equal(parse(&req, "", "type"), WM_OK);
    assert_int_equal(req.nargs, 0);
    assert_int_equal(parse(&req, "&&a=1&&b=&", "type"), WM_OK);
    assert_int_equal(req.nargs, 2);
    assert_string_equal(proto_request_get(&req, "a"), "1");
    assert_string_equal(proto_request_get(&req, "b"), "");
    /* a value may hold '=' */
    assert_int_equal(parse(&req, "title=a=b", "type"), WM_OK);
    assert_string_equal(proto_request_get(&req, "title"), "a=b");
    proto_request_free(&req);
}

static void test_decoding(void **state)
{
    struct proto_request req;

    (void)state;
    proto_request_init(&req);
    assert_int_equal(parse(&req, "a=x+y&b=x%2By&c=%C3%A9&d=caf\xc3\xa9", NULL), WM_OK);
    assert_string_equal(proto_request_get(&req, "a"), "x y");
    assert_string_equal(proto_request_get(&req, "b"), "x+y");
    assert_string_equal(proto_request_get(&req, "c"), "\xc3\xa9");
    assert_string_equal(proto_request_get(&req, "d"), "caf\xc3\xa9");
    assert_int_equal(req.args[0].val_len, 3);
    proto_request_free(&req);
}

static void test_refusals(void **state)
{
    static const struct {
        const char *q;
        int rc;
        const char *msg;
    } cases[] = {
        {"placed", WM_ESYNTAX, "parameter 'placed' has no value"},
        {"a=1&flag", WM_ESYNTAX, "parameter 'flag' has no value"},
        {"=x", WM_ESYNTAX, "empty key"},
        {"Type=placed", WM_ESYNTAX, "bad key 'Type'"},
        {"a+b=1", WM_ESYNTAX, "bad key"},
        {"a=1&a=2", WM_ESYNTAX, "duplicate key 'a'"},
        {"type=placed&type=started", WM_ESYNTAX, "duplicate key 'type'"},
        {"a=50%zz", WM_ESYNTAX, "a: malformed %-escape"},
        {"a=%", WM_ESYNTAX, "a: malformed %-escape"},
        {"a=x%0Ay", WM_ESYNTAX, "a: control character 0x0A"},
        {"a=%00", WM_ESYNTAX, "a:"},
        {"a=%C0%AF", WM_ESYNTAX, "a: value is not valid UTF-8"},
        {"a=\xff", WM_ESYNTAX, "a: value is not valid UTF-8"},
    };
    struct proto_request req;
    size_t i;

    (void)state;
    proto_request_init(&req);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(parse(&req, cases[i].q, "type"), cases[i].rc);
        if (strstr(err, cases[i].msg) == NULL)
            fail_msg("query '%s': message '%s' lacks '%s'", cases[i].q, err, cases[i].msg);
        assert_int_equal(req.nargs, 0);
    }
    proto_request_free(&req);
}

static void test_nul_and_too_many(void **state)
{
    struct proto_request req;
    char q[1024];
    size_t n = 0;

    (void)state;
    proto_request_init(&req);
    assert_int_equal(
        proto_parse_query(&req, PROTO_VERB_COUNT, "a=1\0b=2", 7, NULL, err, sizeof(err)),
        WM_ESYNTAX);
    assert_non_null(strstr(err, "NUL"));
    for (int i = 0; i <= PROTO_MAX_ARGS; i++)
        n += (size_t)snprintf(q + n, sizeof(q) - n, "%sk%d=v", i ? "&" : "", i);
    assert_int_equal(parse(&req, q, NULL), WM_EINVALID);
    assert_non_null(strstr(err, "too many"));
    proto_request_free(&req);
}

/* The query is read, never written: a value quoted in a message is the one sent. */
static void test_input_untouched(void **state)
{
    struct proto_request req;
    const char q[] = "a=x+y&b=%zz";
    char copy[sizeof(q)];

    (void)state;
    memcpy(copy, q, sizeof(q));
    proto_request_init(&req);
    assert_int_equal(parse(&req, copy, NULL), WM_ESYNTAX);
    assert_memory_equal(copy, q, sizeof(q));
    assert_non_null(strstr(err, "'%zz'"));
    proto_request_free(&req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairs_and_positional),
        cmocka_unit_test(test_empty_and_skipped),
        cmocka_unit_test(test_decoding),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_nul_and_too_many),
        cmocka_unit_test(test_input_untouched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
