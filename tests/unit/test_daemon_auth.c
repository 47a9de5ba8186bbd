/*
 * Unit tests of daemon/auth.c: the token file parser (every field, comments, each
 * refusal with its file:line, the file's mode), token lookup by SHA-256, and the roles matrix of
 * PROTOCOL.md section 3.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "auth.h"

/* SHA-256 of "abc" (FIPS 180-2's example) and of "secret-2". */
#define HASH_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define HASH_SECRET2 "f4b6bb6548129dacf11c1a9c4dffffefd4aa6b21fcf4e9754cc03b731cbe7c25"

static const char *const gemeenten[] = {"huizen", "laren", "weesp", NULL};
static char err[1024];
static char path[4096];

/* Write text to a fresh temporary file; its name is in path. */
static void write_tokens(const char *text)
{
    const char *dir = getenv("TMPDIR");
    size_t n = strlen(text);
    int fd;

    snprintf(path, sizeof(path), "%s/wm-unit-tokens-XXXXXX", dir && *dir ? dir : "/tmp");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    assert_int_equal(close(fd), 0);
}

/* Load text as a token file; returns the table (or NULL, with err set). */
static struct auth_table *load(const char *text, int want)
{
    struct auth_table *t = (struct auth_table *)1;

    write_tokens(text);
    err[0] = '\0';
    assert_int_equal(auth_table_load(path, gemeenten, 3, &t, err, sizeof(err)), want);
    assert_int_equal(unlink(path), 0);
    if (want != WM_OK)
        assert_null(t);
    return t;
}

/* The error of loading text, with the file name replaced by "F". */
static const char *load_error(const char *text)
{
    static char msg[1024];
    size_t plen;

    load(text, WM_ECONFIG);
    plen = strlen(path);
    assert_memory_equal(err, path, plen);
    snprintf(msg, sizeof(msg), "F%s", err + plen);
    return msg;
}

static void assert_hash(const unsigned char *hash, const char *hex)
{
    char got[65];

    for (int i = 0; i < 32; i++)
        snprintf(got + 2 * i, 3, "%02x", hash[i]);
    assert_string_equal(got, hex);
}

static void test_load_every_field(void **state)
{
    struct auth_table *t;

    (void)state;
    t = load("# tokens of werkmonitord\n"
             "\n"
             "beheer admin sha256:" HASH_ABC "\n"
             "  \t# an indented comment\n"
             "rapport.team@gv_2-x\treader\t sha256:" HASH_SECRET2 "\r\n"
             "  hv writer gemeente=huizen sha256:"
             "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff\n"
             "wsp writer sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\n"
             "publiek reader round=5 min-count=10 gemeente=huizen sha256:"
             "0000000000000000000000000000000000000000000000000000000000000001",
             WM_OK);
    assert_non_null(t);
    assert_int_equal(t->n, 5);
    assert_string_equal(t->entries[0].principal, "beheer");
    assert_int_equal(t->entries[0].role, AUTH_ROLE_ADMIN);
    assert_string_equal(t->entries[0].gemeente, "");
    assert_hash(t->entries[0].hash, HASH_ABC);
    assert_string_equal(t->entries[1].principal, "rapport.team@gv_2-x");
    assert_int_equal(t->entries[1].role, AUTH_ROLE_READER);
    assert_hash(t->entries[1].hash, HASH_SECRET2);
    assert_string_equal(t->entries[2].principal, "hv");
    assert_int_equal(t->entries[2].role, AUTH_ROLE_WRITER);
    assert_string_equal(t->entries[2].gemeente, "huizen");
    assert_hash(t->entries[2].hash,
                "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    /* the last line needs no newline */
    assert_string_equal(t->entries[3].principal, "wsp");
    assert_int_equal(t->entries[3].role, AUTH_ROLE_WRITER);
    assert_int_equal(t->entries[3].min_count, 0);
    assert_int_equal(t->entries[3].round, 0);
    /* a reader may be bound, and carry min-count and round, in any order */
    assert_int_equal(t->entries[4].role, AUTH_ROLE_READER);
    assert_string_equal(t->entries[4].gemeente, "huizen");
    assert_int_equal(t->entries[4].min_count, 10);
    assert_int_equal(t->entries[4].round, 5);
    auth_table_free(t);
}

static void test_empty_file_is_an_empty_table(void **state)
{
    struct auth_table *t;

    (void)state;
    t = load("", WM_OK);
    assert_non_null(t);
    assert_int_equal(t->n, 0);
    assert_null(auth_table_lookup(t, "abc", 3));
    auth_table_free(t);
    t = load("# nobody yet\n\n   \n", WM_OK);
    assert_int_equal(t->n, 0);
    auth_table_free(t);
    auth_table_free(NULL);
}

static void test_lookup(void **state)
{
    struct auth_table *t;
    const struct auth_entry *e;

    (void)state;
    t = load("beheer admin sha256:" HASH_ABC "\nrapport reader sha256:" HASH_SECRET2 "\n", WM_OK);
    e = auth_table_lookup(t, "abc", 3);
    assert_non_null(e);
    assert_string_equal(e->principal, "beheer");
    e = auth_table_lookup(t, "secret-2", 8);
    assert_non_null(e);
    assert_string_equal(e->principal, "rapport");
    /* only the whole token, byte for byte */
    assert_null(auth_table_lookup(t, "ab", 2));
    assert_null(auth_table_lookup(t, "abcd", 4));
    assert_null(auth_table_lookup(t, "ABC", 3));
    assert_null(auth_table_lookup(t, "abc\n", 4));
    assert_null(auth_table_lookup(t, "", 0));
    assert_null(auth_table_lookup(NULL, "abc", 3));
    auth_table_free(t);
}

static void test_refusals_name_file_and_line(void **state)
{
    /* a token file's text, and the error naming its line (the file's name is "F") */
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"# x\nbeheer admin\n",
         "F:2: want '<principal> <role> [gemeente=<g>] [min-count=<n>] [round=<r>] sha256:<hex>'"},
        {"beheer\n",
         "F:1: want '<principal> <role> [gemeente=<g>] [min-count=<n>] [round=<r>] sha256:<hex>'"},
        {"hv writer gemeente=huizen extra sha256:" HASH_ABC "\n", "F:1: unexpected field 'extra'"},
        {"be/heer admin sha256:" HASH_ABC "\n",
         "F:1: bad principal 'be/heer' (1-64 of [A-Za-z0-9._@-])"},
        {"beheer king sha256:" HASH_ABC "\n",
         "F:1: bad role 'king' (want reader, writer or admin)"},
        {"beheer Admin sha256:" HASH_ABC "\n",
         "F:1: bad role 'Admin' (want reader, writer or admin)"},
        {"hv writer gemeente:huizen sha256:" HASH_ABC "\n",
         "F:1: unexpected field 'gemeente:huizen'"},
        {"beheer admin gemeente=huizen sha256:" HASH_ABC "\n",
         "F:1: an admin cannot be bound to a gemeente"},
        {"rapport reader min-count=0 sha256:" HASH_ABC "\n",
         "F:1: min-count must be a whole number from 1 to 1000000"},
        {"rapport reader round=x5 sha256:" HASH_ABC "\n",
         "F:1: round must be a whole number from 1 to 1000000"},
        {"rapport reader round=5 round=10 sha256:" HASH_ABC "\n", "F:1: round given twice"},
        {"rapport reader gemeente=huizen gemeente=huizen sha256:" HASH_ABC "\n",
         "F:1: gemeente given twice"},
        {"rapport reader min-count=10 round=5 gemeente=huizen x=1 sha256:" HASH_ABC "\n",
         "F:1: too many fields"},
        {"hv writer gemeente=hilversum sha256:" HASH_ABC "\n",
         "F:1: gemeente 'hilversum' is not configured"},
        {"hv writer gemeente= sha256:" HASH_ABC "\n", "F:1: gemeente '' is not configured"},
        {"beheer admin sha1:" HASH_ABC "\n", "F:1: the hash must be sha256: and 64 hex digits"},
        {"beheer admin " HASH_ABC "\n", "F:1: the hash must be sha256: and 64 hex digits"},
        {"beheer admin sha256:" HASH_ABC "0\n", "F:1: the hash must be sha256: and 64 hex digits"},
        {"beheer admin "
         "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a\n",
         "F:1: the hash must be sha256: and 64 hex digits"},
        {"beheer admin "
         "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ag\n",
         "F:1: the hash must be sha256: and 64 hex digits"},
        {"a admin sha256:" HASH_ABC "\nb reader sha256:" HASH_SECRET2
         "\na writer sha256:00000000000000000000000000000000000000000000"
         "00000000000000000000\n",
         "F:3: principal 'a' given twice"},
        {"a admin sha256:" HASH_ABC "\n\nb reader sha256:" HASH_ABC "\n",
         "F:3: the same token as principal 'a'"},
    };
    char line[1100];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_string_equal(load_error(cases[i].text), cases[i].want);
    {
        char text[200], want[200], name[66];
        memset(name, 'a', 65);
        name[65] = '\0';
        snprintf(text, sizeof(text), "%s admin sha256:" HASH_ABC "\n", name);
        snprintf(want, sizeof(want), "F:1: bad principal '%.64s' (1-64 of [A-Za-z0-9._@-])", name);
        assert_string_equal(load_error(text), want);
        name[64] = '\0'; /* 64 characters are allowed */
        snprintf(text, sizeof(text), "%s admin sha256:" HASH_ABC "\n", name);
        auth_table_free(load(text, WM_OK));
    }
    memset(line, 'x', sizeof(line) - 2);
    line[sizeof(line) - 2] = '\n';
    line[sizeof(line) - 1] = '\0';
    assert_string_equal(load_error(line), "F:1: line too long");
}

static void test_missing_file(void **state)
{
    struct auth_table *t = (struct auth_table *)1;

    (void)state;
    assert_int_equal(auth_table_load("/nonexistent/dir/tokens", gemeenten, 3, &t, err, sizeof(err)),
                     WM_ECONFIG);
    assert_null(t);
    assert_string_equal(err, "/nonexistent/dir/tokens: cannot open: No such file or directory");
}

/* PROTOCOL.md section 3: before AUTH only PING, HELLO, AUTH and QUIT; a reader reads; a
 * writer also writes events; an admin also changes the registry. */
static void test_roles_matrix(void **state)
{
    static const struct {
        enum proto_verb verb;
        enum auth_role least; /* the lowest role allowed */
    } matrix[] = {
        {PROTO_VERB_UNKNOWN, AUTH_ROLE_NONE},    {PROTO_VERB_PING, AUTH_ROLE_NONE},
        {PROTO_VERB_HELLO, AUTH_ROLE_NONE},      {PROTO_VERB_AUTH, AUTH_ROLE_NONE},
        {PROTO_VERB_QUIT, AUTH_ROLE_NONE},       {PROTO_VERB_COUNT, AUTH_ROLE_READER},
        {PROTO_VERB_PROGRESS, AUTH_ROLE_READER}, {PROTO_VERB_PROJECTS, AUTH_ROLE_READER},
        {PROTO_VERB_WATCH, AUTH_ROLE_READER},    {PROTO_VERB_STATS, AUTH_ROLE_READER},
        {PROTO_VERB_EVENT, AUTH_ROLE_WRITER},    {PROTO_VERB_RETRACT, AUTH_ROLE_WRITER},
        {PROTO_VERB_PROJECT, AUTH_ROLE_ADMIN},   {PROTO_VERB_PROGRAM, AUTH_ROLE_ADMIN},
        {PROTO_VERB_NOTE, AUTH_ROLE_ADMIN},      {PROTO_VERB_NOTES, AUTH_ROLE_READER},
        {PROTO_VERB_REPLACE, AUTH_ROLE_WRITER},  {PROTO_VERB_CHECK, AUTH_ROLE_WRITER},
        {PROTO_VERB_SHOW, AUTH_ROLE_WRITER},
    };

    (void)state;
    assert_int_equal(sizeof(matrix) / sizeof(matrix[0]), PROTO_VERB_SHOW + 1);
    for (size_t i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++) {
        for (int r = AUTH_ROLE_NONE; r <= AUTH_ROLE_ADMIN; r++) {
            int want = r >= (int)matrix[i].least;
            if (auth_role_allows((enum auth_role)r, matrix[i].verb) != want)
                fail_msg("role %s, verb %d: allowed %d, want %d", auth_role_name((enum auth_role)r),
                         (int)matrix[i].verb, !want, want);
        }
    }
}

static void test_role_names(void **state)
{
    (void)state;
    assert_string_equal(auth_role_name(AUTH_ROLE_NONE), "none");
    assert_string_equal(auth_role_name(AUTH_ROLE_READER), "reader");
    assert_string_equal(auth_role_name(AUTH_ROLE_WRITER), "writer");
    assert_string_equal(auth_role_name(AUTH_ROLE_ADMIN), "admin");
}

/* The file's mode, as ssh checks its own: nobody but the owner may write it, others
 * may not read it; the message names the file, the mode and the fix. */
static void test_file_mode(void **state)
{
    static const struct {
        mode_t mode;
        const char *want; /* NULL: accepted */
    } cases[] = {
        {0600, NULL},
        {0640, NULL},
        {0400, NULL},
        {0644, "readable by others (mode 0644)"},
        {0604, "readable by others (mode 0604)"},
        {0620, "writable by group or others (mode 0620)"},
        {0602, "writable by group or others (mode 0602)"},
        {0666, "writable by group or others (mode 0666)"},
    };
    struct auth_table *t = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_tokens("admin1 admin sha256:" HASH_ABC "\n");
        assert_int_equal(chmod(path, cases[i].mode), 0);
        err[0] = '\0';
        if (cases[i].want == NULL) {
            assert_int_equal(auth_table_load(path, gemeenten, 3, &t, err, sizeof(err)), WM_OK);
            auth_table_free(t);
        } else {
            assert_int_equal(auth_table_load(path, gemeenten, 3, &t, err, sizeof(err)), WM_ECONFIG);
            assert_null(t);
            assert_non_null(strstr(err, cases[i].want));
            assert_non_null(strstr(err, path));
            assert_non_null(strstr(err, "chmod"));
        }
        assert_int_equal(unlink(path), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_every_field),
        cmocka_unit_test(test_empty_file_is_an_empty_table),
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_refusals_name_file_and_line),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_file_mode),
        cmocka_unit_test(test_roles_matrix),
        cmocka_unit_test(test_role_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
