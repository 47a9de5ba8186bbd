/*
 * Unit tests of proto's output side: the growable buffer, the response formatters
 * (ERR, OK/DUP, ROW pairs, END) and the error-code tables.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "proto.h"

static void test_buf_basics(void **state)
{
    struct wm_buf b;
    char big[3000];

    (void)state;
    wm_buf_init(&b);
    assert_null(b.data);
    assert_string_equal(wm_buf_cstr(&b), "");
    assert_int_equal(wm_buf_puts(&b, "abc"), WM_OK);
    assert_int_equal(wm_buf_append(&b, "def", 2), WM_OK);
    assert_int_equal(wm_buf_append(&b, NULL, 0), WM_OK);
    assert_int_equal(b.len, 5);
    assert_string_equal(wm_buf_cstr(&b), "abcde");
    assert_int_equal(b.len, 5);
    assert_int_equal(wm_buf_printf(&b, "-%d-%s", 42, "x"), WM_OK);
    assert_string_equal(wm_buf_cstr(&b), "abcde-42-x");
    /* Growing past several doublings keeps the content. */
    memset(big, 'z', sizeof(big));
    assert_int_equal(wm_buf_append(&b, big, sizeof(big)), WM_OK);
    assert_int_equal(b.len, 10 + sizeof(big));
    assert_memory_equal(b.data, "abcde-42-x", 10);
    assert_int_equal(wm_buf_printf(&b, "%.*s", 2000, big), WM_OK);
    assert_int_equal(b.len, 10 + sizeof(big) + 2000);
    wm_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_true(b.cap > 0);
    assert_string_equal(wm_buf_cstr(&b), "");
    wm_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.cap, 0);
}

static void test_buf_oom_sticky(void **state)
{
    struct wm_buf b;

    (void)state;
    wm_buf_init(&b);
    wm_buf_puts(&b, "keep");
    /* An impossible size fails without touching the content. */
    assert_int_equal(wm_buf_append(&b, "x", SIZE_MAX - 2), WM_ENOMEM);
    assert_true(b.oom);
    assert_int_equal(b.len, 4);
    assert_int_equal(wm_buf_puts(&b, "more"), WM_ENOMEM);
    assert_int_equal(wm_buf_printf(&b, "%d", 1), WM_ENOMEM);
    assert_int_equal(wm_buf_append_escaped(&b, "a", 1), WM_ENOMEM);
    assert_int_equal(b.len, 4);
    assert_null(wm_buf_cstr(&b));
    assert_memory_equal(b.data, "keep", 4);
    wm_buf_reset(&b);
    assert_false(b.oom);
    assert_int_equal(wm_buf_puts(&b, "ok"), WM_OK);
    assert_string_equal(wm_buf_cstr(&b), "ok");
    assert_int_equal(wm_buf_append_escaped(&b, "x", SIZE_MAX / 2), WM_ENOMEM);
    wm_buf_free(&b);
}

static void test_buf_escaped(void **state)
{
    struct wm_buf b;

    (void)state;
    wm_buf_init(&b);
    assert_int_equal(wm_buf_append_escaped(&b, "a b%\n\xc3\xa9", 7), WM_OK);
    assert_string_equal(wm_buf_cstr(&b), "a%20b%25%0A\xc3\xa9");
    assert_int_equal(b.len, strlen("a%20b%25%0A\xc3\xa9"));
    assert_int_equal(wm_buf_append_escaped(&b, "", 0), WM_OK);
    wm_buf_free(&b);
}

static void test_fmt(void **state)
{
    struct wm_buf b;

    (void)state;
    wm_buf_init(&b);
    assert_int_equal(proto_fmt_ack(&b, 0, 17), WM_OK);
    assert_int_equal(proto_fmt_ack(&b, 1, 18446744073709551615ULL), WM_OK);
    assert_string_equal(wm_buf_cstr(&b), "OK 17\nDUP 18446744073709551615\n");
    wm_buf_reset(&b);
    wm_buf_puts(&b, "ROW");
    assert_int_equal(proto_fmt_pair(&b, "project", "zorg start"), WM_OK);
    assert_int_equal(proto_fmt_pair(&b, "title", "50% \xc3\xa9\r\n"), WM_OK);
    assert_int_equal(proto_fmt_pair(&b, "empty", ""), WM_OK);
    assert_int_equal(proto_fmt_pair(&b, "null", NULL), WM_OK);
    assert_int_equal(proto_fmt_pair_u64(&b, "count", 0), WM_OK);
    assert_int_equal(proto_fmt_pair_u64(&b, "big", UINT64_MAX), WM_OK);
    wm_buf_puts(&b, "\n");
    assert_int_equal(proto_fmt_end(&b, 1), WM_OK);
    assert_string_equal(wm_buf_cstr(&b), "ROW project=zorg%20start title=50%25%20\xc3\xa9%0D%0A "
                                         "empty= null= count=0 big=18446744073709551615\n"
                                         "END 1\n");
    wm_buf_reset(&b);
    assert_int_equal(proto_fmt_end(&b, 0), WM_OK);
    assert_string_equal(wm_buf_cstr(&b), "END 0\n");
    wm_buf_free(&b);
}

static void test_fmt_error(void **state)
{
    struct wm_buf b;

    (void)state;
    wm_buf_init(&b);
    assert_int_equal(proto_fmt_error(&b, WM_EINVALID, "missing field result"), WM_OK);
    assert_string_equal(wm_buf_cstr(&b), "ERR invalid missing field result\n");
    wm_buf_reset(&b);
    assert_int_equal(proto_fmt_error(&b, WM_ESYNTAX, "a\r\nb\tc"), WM_OK);
    assert_string_equal(wm_buf_cstr(&b), "ERR syntax a  b c\n");
    wm_buf_reset(&b);
    /* Without a message the code's text stands in. */
    assert_int_equal(proto_fmt_error(&b, WM_EMAPFULL, NULL), WM_OK);
    assert_string_equal(wm_buf_cstr(&b), "ERR storage database map is full\n");
    wm_buf_reset(&b);
    assert_int_equal(proto_fmt_error(&b, WM_ENOMEM, ""), WM_OK);
    assert_string_equal(wm_buf_cstr(&b), "ERR internal out of memory\n");
    /* Appends, never replaces. */
    assert_int_equal(proto_fmt_error(&b, WM_EUNKNOWN_COMMAND, "FROB"), WM_OK);
    assert_string_equal(wm_buf_cstr(&b), "ERR internal out of memory\nERR unknown-command FROB\n");
    wm_buf_free(&b);
}

static void test_err_codes(void **state)
{
    static const struct {
        int err;
        const char *code;
    } map[] = {
        {WM_OK, "ok"},
        {WM_ESYNTAX, "syntax"},
        {WM_EUNKNOWN_COMMAND, "unknown-command"},
        {WM_EAUTH_REQUIRED, "auth-required"},
        {WM_EAUTH_FAILED, "auth-failed"},
        {WM_EDENIED, "denied"},
        {WM_EINVALID, "invalid"},
        {WM_EUNKNOWN_PROJECT, "unknown-project"},
        {WM_ECONFLICT, "conflict"},
        {WM_ENOT_FOUND, "not-found"},
        {WM_ETOO_LONG, "too-long"},
        {WM_ESTORAGE, "storage"},
        {WM_EUNAVAILABLE, "unavailable"},
        {WM_EINTERNAL, "internal"},
        {WM_ENOMEM, "internal"},
        {WM_EIO, "storage"},
        {WM_EMAPFULL, "storage"},
        {WM_EVERSION, "storage"},
        {WM_ECONNECT, "unavailable"},
        {WM_ECLOSED, "unavailable"},
        {WM_EPROTOCOL, "internal"},
        {WM_ECONFIG, "invalid"},
        {-999, "internal"},
        {5, "internal"},
    };
    size_t i, j;

    (void)state;
    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        assert_string_equal(wm_err_code(map[i].err), map[i].code);
        assert_non_null(wm_strerror(map[i].err));
        assert_true(strlen(wm_strerror(map[i].err)) > 0);
    }
    /* Every defined code has its own text. */
    for (i = 0; i < sizeof(map) / sizeof(map[0]) - 2; i++)
        for (j = i + 1; j < sizeof(map) / sizeof(map[0]) - 2; j++)
            assert_string_not_equal(wm_strerror(map[i].err), wm_strerror(map[j].err));
    assert_string_equal(wm_strerror(-999), "unknown error");
}

static void test_errf(void **state)
{
    char err[8];

    (void)state;
    proto_errf(NULL, 0, "x %d", 1);
    proto_errf(err, 0, "x");
    proto_errf(err, sizeof(err), "%s-%d", "abcdef", 12);
    assert_string_equal(err, "abcdef-");
    /* A cut never leaves half a character behind (7 bytes fit). */
    proto_errf(err, sizeof(err), "abcde\xc3\xa9");
    assert_string_equal(err, "abcde\xc3\xa9"); /* fits: untouched */
    proto_errf(err, sizeof(err), "abcdef\xc3\xa9");
    assert_string_equal(err, "abcdef");
    proto_errf(err, sizeof(err), "abcde\xe2\x82\xac");
    assert_string_equal(err, "abcde");
    proto_errf(err, sizeof(err), "abcd\xe2\x82\xac!");
    assert_string_equal(err, "abcd\xe2\x82\xac");
    proto_errf(err, sizeof(err), "abcd\xf0\x9f\x98\x80");
    assert_string_equal(err, "abcd");
    proto_errf(err, sizeof(err), "abc\xf0\x9f\x98\x80!");
    assert_string_equal(err, "abc\xf0\x9f\x98\x80");
    proto_errf(err, sizeof(err), "abcdefg\xc3\xa9");
    assert_string_equal(err, "abcdefg");
    proto_errf(err, sizeof(err), "abcdefghij");
    assert_string_equal(err, "abcdefg");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_basics),  cmocka_unit_test(test_buf_oom_sticky),
        cmocka_unit_test(test_buf_escaped), cmocka_unit_test(test_fmt),
        cmocka_unit_test(test_fmt_error),   cmocka_unit_test(test_err_codes),
        cmocka_unit_test(test_errf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
