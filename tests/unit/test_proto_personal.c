/*
 * Unit tests for proto's personal-data rules (personal.c): the eleven-test, the BSN
 * search in its forms, the person rule, the exceptions, and that the request parser
 * applies them to every token without repeating the value.
 */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fixture_proto.h"

static int find(const char *s)
{
    return proto_bsn_find(s, strlen(s));
}

static void test_eleven_test(void **state)
{
    (void)state;
    assert_true(proto_bsn_valid("111222333", 9));
    assert_true(proto_bsn_valid("123456782", 9));
    assert_true(proto_bsn_valid("200011133", 9));
    assert_false(proto_bsn_valid("123456789", 9));
    assert_false(proto_bsn_valid("000000000", 9)); /* passes the sum, but is nobody */
    assert_false(proto_bsn_valid("11122233", 8));
    assert_false(proto_bsn_valid("11122233a", 9));
}

static void test_find_forms(void **state)
{
    static const char *const hit[] = {
        "111222333",   "bsn:111222333",   "111222333a",     "BSN 200035873",
        "123.456.782", "123-456-782",     "123 456 782",    "1234.56.782",
        "1234-56-782", "1234 56 782",     "x123-456-782y",  "id=200011133",
        "a/123456782", "tel 123.456.782", "2024-111222333", "111222333-2024"};
    static const char *const miss[] = {"wsp-2024-00017",
                                       "123456789",
                                       "0111222333",
                                       "1112223330",
                                       "12345678",
                                       "123-456-789",
                                       "123--456-782",
                                       "12-3456-782",
                                       "123.456.7820",
                                       "1234.567.82",
                                       "20240101-12345",
                                       "p:7f3a9c2e41",
                                       "",
                                       "abc",
                                       "123.456.78",
                                       "111 222 3334",
                                       "9111.222.333"};

    (void)state;
    for (size_t i = 0; i < sizeof(hit) / sizeof(hit[0]); i++)
        if (!find(hit[i]))
            fail_msg("'%s' holds a BSN but was not found", hit[i]);
    for (size_t i = 0; i < sizeof(miss) / sizeof(miss[0]); i++)
        if (find(miss[i]))
            fail_msg("'%s' holds no BSN but one was found", miss[i]);
}

static void test_person_rule(void **state)
{
    (void)state;
    assert_true(proto_person_looks_like_bsn("0123456782", 10));
    assert_true(proto_person_looks_like_bsn("12-34", 5));
    assert_true(proto_person_looks_like_bsn("1", 1));
    assert_true(proto_person_looks_like_bsn("12:34_56/78.9 0", 15));
    assert_false(proto_person_looks_like_bsn("p1234567890", 11));
    assert_false(proto_person_looks_like_bsn("-.-", 3));
    assert_false(proto_person_looks_like_bsn("", 0));
}

/* Parse line; expect it refused for a value, naming want, never repeating secret. */
static void expect_refused(const char *line, const char *want, const char *secret)
{
    int rc = proto_parse_line(&fixture_req, line, strlen(line), fixture_err, sizeof(fixture_err));

    if (rc != WM_EINVALID || !fixture_req.refused_value)
        fail_msg("'%s' not refused for a BSN (rc %d): %s", line, rc, fixture_err);
    if (strstr(fixture_err, want) == NULL)
        fail_msg("'%s': message '%s' lacks '%s'", line, fixture_err, want);
    if (strstr(fixture_err, secret) != NULL)
        fail_msg("'%s': message '%s' repeats the value", line, fixture_err);
}

static void expect_parses(const char *line)
{
    int rc = proto_parse_line(&fixture_req, line, strlen(line), fixture_err, sizeof(fixture_err));

    if (rc != WM_OK)
        fail_msg("'%s' refused (rc %d): %s", line, rc, fixture_err);
}

static void test_parser_every_token(void **state)
{
    char digest[20 + 64 + 1];

    (void)state;
    expect_refused("EVENT placed id=200011133 person=p-1234567", "id:", "200011133");
    expect_refused("EVENT placed employer=BSN%20200035873", "employer:", "200035873");
    expect_refused("EVENT placed by=123.456.782", "by:", "456");
    expect_refused("RETRACT id=r1 ref=x reason=bsn%20123-456-782", "reason:", "782");
    expect_refused("PROJECT p title=1234%2056%20782 category=c", "title:", "782");
    expect_refused("PROJECT 111222333 category=c", "argument", "111222333");
    expect_refused("COUNT placed project=111222333", "project:", "111222333");
    expect_refused("EVENT placed person=bsn:111222333", "person", "111222333");
    expect_refused("EVENT placed person=111222333a", "person", "111222333");
    expect_refused("EVENT placed person=0123456782", "person looks like a BSN", "0123456782");
    expect_refused("EVENT placed person=123.456.782", "person", "456");
    expect_refused("NOSUCH x=111222333", "x:", "111222333");
    expect_refused("111222333", "command", "111222333");
    expect_refused("EVENT placed bsn=111222333", "bsn:", "111222333");

    /* the documented exceptions */
    expect_parses("EVENT placed id=wsp-2024-00017 person=p:7f3a9c2e41");
    expect_parses("AUTH 111222333");
    expect_parses("RETRACT id=r1 seq=111222333");
    expect_refused("RETRACT id=r1 seq=s111222333", "seq:", "111222333");
    /* a digest: 64 hex digits whose nine digits in a row are chance */
    memset(digest, 'a', sizeof(digest));
    memcpy(digest, "EVENT placed person=abc111222333def", 35);
    digest[20 + 64] = '\0';
    expect_parses(digest);
}

/* Random ids (16 hex digits, as a case system or a hash makes them) and UUIDs hold nine
 * digits in a row that pass the eleven-test by chance (about one 16-hex id in 500); such a
 * run inside a longer hex run is not a BSN standing alone. The forms a person types a BSN
 * in are still refused around them. */
/* The BSN search by another route: POSIX regular expressions for the three forms,
 * anchored at each start of a run of digits, and the eleven-test on the nine digits
 * matched. 1 when s holds a BSN. */
static int find_by_regex(const regex_t re[3], const char *s)
{
    size_t n = strlen(s);

    for (size_t i = 0; i < n; i++) {
        regmatch_t m;
        char d[9];
        size_t k = 0;

        if (s[i] < '0' || s[i] > '9' || (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9'))
            continue;
        for (int f = 0; f < 3; f++) {
            if (regexec(&re[f], s + i, 1, &m, 0) != 0)
                continue;
            k = 0;
            for (regoff_t j = m.rm_so; j < m.rm_eo && k < 9; j++)
                if (s[i + (size_t)j] >= '0' && s[i + (size_t)j] <= '9')
                    d[k++] = s[i + (size_t)j];
            if (k == 9 && proto_bsn_valid(d, 9))
                return 1;
        }
    }
    return 0;
}

/* The search reads eight bytes at a time to see whether a value holds nine digits at
 * all (personal.c, nine_digits): random values of every length around the word size,
 * digits at every alignment, bytes above 0x7f that differ from a digit in bit 7 only
 * (0xB0-0xB9) or are UTF-8, give the same answer as the regular expressions. */
static void test_find_matches_reference(void **state)
{
    static const char *const forms[3] = {"^[0-9]{9}([^0-9]|$)",
                                         "^[0-9]{3}[. -][0-9]{3}[. -][0-9]{3}([^0-9]|$)",
                                         "^[0-9]{4}[. -][0-9]{2}[. -][0-9]{3}([^0-9]|$)"};
    static const char alphabet[] = "0123456789012345678901234567890123456789.- a%\xb0\xb9\xc3";
    regex_t re[3];
    uint32_t seed = 12345;
    char s[40];
    int hits = 0;

    (void)state;
    for (int f = 0; f < 3; f++)
        assert_int_equal(regcomp(&re[f], forms[f], REG_EXTENDED), 0);
    for (int round = 0; round < 20000; round++) {
        size_t len;

        seed = seed * 1103515245u + 12345u;
        len = (seed >> 16) % 34;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            s[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
        }
        s[len] = '\0';
        hits += find_by_regex(re, s);
        if (proto_bsn_find(s, len) != find_by_regex(re, s))
            fail_msg("round %d: search and reference disagree on a %zu-byte value", round, len);
    }
    /* the values hold BSNs often enough for the comparison to mean something */
    assert_true(hits > 100);
    /* nine digits straddling a word at every offset, and eight that are not enough */
    for (size_t off = 0; off < 17; off++) {
        memset(s, 'x', sizeof(s));
        memcpy(s + off, "111222333", 9);
        s[off + 9 + 3] = '\0';
        assert_true(find(s));
        memcpy(s + off, "11122233", 8);
        s[off + 8] = 'x';
        assert_false(find(s));
        memcpy(s + off, "123 456 782", 11);
        s[off + 11] = '\0';
        assert_true(find(s));
    }
    for (int f = 0; f < 3; f++)
        regfree(&re[f]);
}

static void test_random_ids_are_not_bsns(void **state)
{
    (void)state;
    expect_parses("EVENT placed id=a111222333bcdef0 person=p-1");
    expect_parses("EVENT placed id=A111222333BCDEF0 person=p-1");
    expect_parses("EVENT placed id=0f8fad5b-d9cb-469f-a165-a11122233308 person=p-1");
    expect_parses("SHOW id=ffff111222333ffffffff");
    /* too short to be a random id: 15 characters */
    expect_refused("EVENT placed id=abc111222333def", "id:", "111222333");
    /* a group of exactly nine digits between dashes stands alone */
    expect_refused("EVENT placed id=aaaa-111222333-bbbb", "id:", "111222333");
    /* the usual groupings inside dashes: groups shorter than four are no UUID */
    expect_refused("EVENT placed id=abcd-123-456-782-abcd", "id:", "782");
    /* a letter outside hex, a colon or a space ends the exception */
    expect_refused("EVENT placed id=bsn111222333abcdef", "id:", "111222333");
    expect_refused("EVENT placed id=abcdef:111222333abcdef", "id:", "111222333");
    /* only digits: no exception (a longer run of digits is no BSN anyway) */
    expect_parses("EVENT placed id=1112223330000000 person=p-1");
}

static void test_query_string(void **state)
{
    static const char q[] = "type=placed&by=project&project=123-456-782";
    int rc;

    (void)state;
    rc = proto_parse_query(&fixture_req, PROTO_VERB_COUNT, q, strlen(q), "type", fixture_err,
                           sizeof(fixture_err));
    assert_int_equal(rc, WM_EINVALID);
    assert_non_null(strstr(fixture_err, "project:"));
    assert_null(strstr(fixture_err, "782"));
}

static void test_messages_never_repeat(void **state)
{
    int rc;

    (void)state;
    /* a broken escape in a personal field, or around a BSN, is not quoted */
    rc = proto_parse_line(&fixture_req, "EVENT placed bsn=111222333%zz", 29, fixture_err,
                          sizeof(fixture_err));
    assert_int_equal(rc, WM_ESYNTAX);
    assert_null(strstr(fixture_err, "111222333"));
    rc = proto_parse_line(&fixture_req, "EVENT placed employer=Jan%zz", 28, fixture_err,
                          sizeof(fixture_err));
    assert_int_equal(rc, WM_ESYNTAX);
    assert_non_null(strstr(fixture_err, "employer"));
    assert_null(strstr(fixture_err, "Jan"));
    rc = proto_parse_line(&fixture_req, "EVENT placed id=x%zz", 20, fixture_err,
                          sizeof(fixture_err));
    assert_int_equal(rc, WM_ESYNTAX);
    assert_non_null(strstr(fixture_err, "'x%zz'")); /* an id is not personal: quoted */
}

static void test_line_check(void **state)
{
    static const char *const refused[] = {"EVENT placed id=111222333",
                                          "COUNT placed x=%zz 123.456.782", "111222333"};
    static const char *const passed[] = {"AUTH 111222333", "COUNT placed x=%zz", "NOSUCH",
                                         "EVENT placed id=wsp-2024-00017"};

    (void)state;
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        if (proto_line_check(&fixture_req, refused[i], strlen(refused[i]), fixture_err,
                             sizeof(fixture_err)) != WM_EINVALID)
            fail_msg("'%s' passed the line check", refused[i]);
        assert_null(strstr(fixture_err, "782"));
        assert_null(strstr(fixture_err, "333"));
    }
    for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++)
        if (proto_line_check(&fixture_req, passed[i], strlen(passed[i]), fixture_err,
                             sizeof(fixture_err)) != WM_OK)
            fail_msg("'%s' refused by the line check: %s", passed[i], fixture_err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eleven_test),
        cmocka_unit_test(test_find_forms),
        cmocka_unit_test(test_person_rule),
        cmocka_unit_test(test_parser_every_token),
        cmocka_unit_test(test_query_string),
        cmocka_unit_test(test_messages_never_repeat),
        cmocka_unit_test(test_line_check),
        cmocka_unit_test(test_random_ids_are_not_bsns),
        cmocka_unit_test(test_find_matches_reference),
    };
    return cmocka_run_group_tests(tests, fixture_proto_setup, fixture_proto_teardown);
}
