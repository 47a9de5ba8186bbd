/*
 * Unit tests of proto's RETRACT (PROTOCOL.md section 4) and PROJECT / PROGRAM
 * (section 6) builders.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fixture_proto.h"

static void parse(const char *line)
{
    fixture_err[0] = '\0';
    assert_int_equal(
        proto_parse_line(&fixture_req, line, strlen(line), fixture_err, sizeof(fixture_err)),
        WM_OK);
}

static int retract(const char *line, struct wm_retract *rt)
{
    parse(line);
    return proto_retract_build(&fixture_req, rt, fixture_err, sizeof(fixture_err));
}

static int project(const char *line, struct wm_project *p)
{
    parse(line);
    return proto_project_build(&fixture_req, p, fixture_err, sizeof(fixture_err));
}

static int program(const char *line, struct wm_project *p)
{
    parse(line);
    return proto_program_build(&fixture_req, p, fixture_err, sizeof(fixture_err));
}

#define EXPECT(call, rc, want)                                                                     \
    do {                                                                                           \
        assert_int_equal((call), (rc));                                                            \
        if (strstr(fixture_err, (want)) == NULL)                                                   \
            fail_msg("message '%s' lacks '%s'", fixture_err, (want));                              \
    } while (0)

static void test_retract_ref(void **state)
{
    struct wm_retract rt;

    (void)state;
    assert_int_equal(retract("RETRACT id=r1 ref=e-7", &rt), WM_OK);
    assert_string_equal(rt.id, "r1");
    assert_string_equal(rt.ref, "e-7");
    assert_int_equal(rt.by_seq, 0);
    assert_int_equal(rt.ref_seq, 0);
    assert_string_equal(rt.reason, "");
    assert_string_equal(rt.principal, "");
    assert_int_equal(rt.seq, 0);
    assert_int_equal(rt.recv_time, 0);
    assert_int_equal(retract("RETRACT ref=e-7 id=r1 reason=dubbel%20ingevoerd", &rt), WM_OK);
    assert_string_equal(rt.reason, "dubbel ingevoerd");
}

static void test_retract_seq(void **state)
{
    struct wm_retract rt;

    (void)state;
    assert_int_equal(retract("RETRACT id=r1 seq=42", &rt), WM_OK);
    assert_int_equal(rt.by_seq, 1);
    assert_int_equal(rt.ref_seq, 42);
    assert_string_equal(rt.ref, "");
    assert_int_equal(retract("RETRACT id=r1 seq=18446744073709551615", &rt), WM_OK);
    assert_true(rt.ref_seq == UINT64_MAX);
    EXPECT(retract("RETRACT id=r1 seq=0", &rt), WM_EINVALID, "seq: must be an integer");
    EXPECT(retract("RETRACT id=r1 seq=-1", &rt), WM_EINVALID, "seq:");
    EXPECT(retract("RETRACT id=r1 seq=18446744073709551616", &rt), WM_EINVALID, "seq:");
    EXPECT(retract("RETRACT id=r1 seq=abc", &rt), WM_EINVALID, "seq:");
    EXPECT(retract("RETRACT id=r1 seq=", &rt), WM_EINVALID, "seq:");
}

static void test_retract_invalid(void **state)
{
    struct wm_retract rt;
    char line[600], text[300];

    (void)state;
    EXPECT(retract("RETRACT ref=e1", &rt), WM_EINVALID, "missing field id");
    EXPECT(retract("RETRACT id=r1", &rt), WM_EINVALID, "missing field ref");
    EXPECT(retract("RETRACT id=r1 ref=e1 seq=3", &rt), WM_EINVALID, "not both");
    EXPECT(retract("RETRACT id=r%201 ref=e1", &rt), WM_EINVALID, "id: must be 1-128");
    EXPECT(retract("RETRACT id=r1 ref=", &rt), WM_EINVALID, "ref: must be 1-128");
    EXPECT(retract("RETRACT id=r1 ref=e1 why=x", &rt), WM_EINVALID, "unknown field why");
    EXPECT(retract("RETRACT id=r1 ref=e1 e2", &rt), WM_EINVALID, "unexpected argument 'e2'");
    memset(text, 'r', 256);
    text[256] = '\0';
    snprintf(line, sizeof(line), "RETRACT id=r1 ref=e1 reason=%s", text);
    assert_int_equal(retract(line, &rt), WM_OK);
    assert_int_equal(strlen(rt.reason), 256);
    snprintf(line, sizeof(line), "RETRACT id=r1 ref=e1 reason=%sr", text);
    EXPECT(retract(line, &rt), WM_EINVALID, "reason: longer than 256 characters");
}

static void test_project_full(void **state)
{
    struct wm_project p;

    (void)state;
    assert_int_equal(project("PROJECT zorgstart category=scholingsprojecten scope=local "
                             "start=2020-09-01 end=2023-12-31 target.started=48 "
                             "target.completed=40 target.placed=36 "
                             "title=ZorgStart%20%E2%80%93%20Wijkleerbedrijf",
                             &p),
                     WM_OK);
    assert_string_equal(p.name, "zorgstart");
    assert_string_equal(p.category, "scholingsprojecten");
    assert_int_equal(p.scope, WM_SCOPE_LOCAL);
    assert_int_equal(p.start, proto_date_from_ymd(2020, 9, 1));
    assert_int_equal(p.end, proto_date_from_ymd(2023, 12, 31));
    assert_int_equal(p.target[0], 48);
    assert_int_equal(p.target[1], 40);
    assert_int_equal(p.target[2], 36);
    assert_string_equal(p.title, "ZorgStart \xe2\x80\x93 Wijkleerbedrijf");
    assert_int_equal(p.set_mask, WM_PSET_CATEGORY | WM_PSET_SCOPE | WM_PSET_START | WM_PSET_END |
                                     WM_PSET_TARGET_STARTED | WM_PSET_TARGET_COMPLETED |
                                     WM_PSET_TARGET_PLACED | WM_PSET_TITLE);
}

static void test_project_partial(void **state)
{
    struct wm_project p;

    (void)state;
    assert_int_equal(project("PROJECT ggz", &p), WM_OK);
    assert_string_equal(p.name, "ggz");
    assert_int_equal(p.set_mask, 0);
    assert_string_equal(p.category, "");
    assert_int_equal(p.scope, WM_SCOPE_REGIONAL);
    assert_int_equal(p.start, WM_DATE_NONE);
    assert_int_equal(p.end, WM_DATE_NONE);
    assert_int_equal(p.target[0], -1);
    assert_int_equal(p.target[1], -1);
    assert_int_equal(p.target[2], -1);
    assert_string_equal(p.title, "");

    assert_int_equal(project("project ggz target.placed=0 scope=regional", &p), WM_OK);
    assert_int_equal(p.set_mask, WM_PSET_TARGET_PLACED | WM_PSET_SCOPE);
    assert_int_equal(p.target[2], 0);
    assert_int_equal(p.scope, WM_SCOPE_REGIONAL);
    /* An empty title is given (it clears the title). */
    assert_int_equal(project("PROJECT ggz title=", &p), WM_OK);
    assert_int_equal(p.set_mask, WM_PSET_TITLE);
    assert_string_equal(p.title, "");
    /* Only a start, or only an end, or start == end. */
    assert_int_equal(project("PROJECT ggz end=2021-01-01", &p), WM_OK);
    assert_int_equal(p.set_mask, WM_PSET_END);
    assert_int_equal(project("PROJECT ggz start=2021-01-01 end=2021-01-01", &p), WM_OK);
    /* Any year >= 2000, the future included. */
    assert_int_equal(project("PROJECT ggz start=2000-01-01 end=2099-12-31", &p), WM_OK);
}

static void test_project_invalid(void **state)
{
    struct wm_project p;
    char line[600], text[300];

    (void)state;
    EXPECT(project("PROJECT", &p), WM_ESYNTAX, "missing project name");
    EXPECT(project("PROJECT category=x", &p), WM_ESYNTAX, "missing project name");
    EXPECT(project("PROJECT ZorgStart", &p), WM_EINVALID, "project: must be 1-64 characters");
    EXPECT(project("PROJECT *", &p), WM_EINVALID, "project:");
    EXPECT(project("PROJECT a b", &p), WM_EINVALID, "unexpected argument 'b'");
    EXPECT(project("PROJECT a category=Scholing", &p), WM_EINVALID, "category: must be 1-64");
    EXPECT(project("PROJECT a category=", &p), WM_EINVALID, "category:");
    EXPECT(project("PROJECT a scope=national", &p), WM_EINVALID,
           "scope: unknown value 'national' (allowed: regional, local)");
    EXPECT(project("PROJECT a start=1999-12-31", &p), WM_EINVALID, "start: before 2000-01-01");
    EXPECT(project("PROJECT a end=2021-02-29", &p), WM_EINVALID, "end: not a date");
    EXPECT(project("PROJECT a start=2022-01-02 end=2022-01-01", &p), WM_EINVALID,
           "start: after end");
    EXPECT(project("PROJECT a target.started=-1", &p), WM_EINVALID,
           "target.started: must be an integer 0-1000000000");
    EXPECT(project("PROJECT a target.placed=1000000001", &p), WM_EINVALID, "target.placed:");
    EXPECT(project("PROJECT a target.completed=1.5", &p), WM_EINVALID, "target.completed:");
    EXPECT(project("PROJECT a target.other=1", &p), WM_EINVALID, "unknown field target.other");
    EXPECT(project("PROJECT a name=b", &p), WM_EINVALID, "unknown field name");
    assert_int_equal(project("PROJECT a target.placed=1000000000", &p), WM_OK);
    memset(text, 't', 256);
    text[256] = '\0';
    snprintf(line, sizeof(line), "PROJECT a title=%s", text);
    assert_int_equal(project(line, &p), WM_OK);
    snprintf(line, sizeof(line), "PROJECT a title=%st", text);
    EXPECT(project(line, &p), WM_EINVALID, "title: longer than 256 characters");
}

static void test_program(void **state)
{
    struct wm_project p;

    (void)state;
    assert_int_equal(program("PROGRAM start=2020-01-01 end=2023-12-31 target.started=1200 "
                             "target.completed=860 target.placed=500",
                             &p),
                     WM_OK);
    assert_string_equal(p.name, "*");
    assert_int_equal(p.start, proto_date_from_ymd(2020, 1, 1));
    assert_int_equal(p.end, proto_date_from_ymd(2023, 12, 31));
    assert_int_equal(p.target[0], 1200);
    assert_int_equal(p.target[1], 860);
    assert_int_equal(p.target[2], 500);
    assert_int_equal(p.set_mask, WM_PSET_START | WM_PSET_END | WM_PSET_TARGET_STARTED |
                                     WM_PSET_TARGET_COMPLETED | WM_PSET_TARGET_PLACED);
    assert_int_equal(program("PROGRAM", &p), WM_OK);
    assert_int_equal(p.set_mask, 0);
    assert_string_equal(p.name, "*");
    assert_int_equal(p.target[0], -1);
    EXPECT(program("PROGRAM category=x", &p), WM_EINVALID, "unknown field category");
    EXPECT(program("PROGRAM title=x", &p), WM_EINVALID, "unknown field title");
    EXPECT(program("PROGRAM main", &p), WM_EINVALID, "unexpected argument 'main'");
    EXPECT(program("PROGRAM start=2024-01-01 end=2023-01-01", &p), WM_EINVALID, "start: after end");
    EXPECT(program("PROGRAM target.placed=x", &p), WM_EINVALID, "target.placed:");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retract_ref),     cmocka_unit_test(test_retract_seq),
        cmocka_unit_test(test_retract_invalid), cmocka_unit_test(test_project_full),
        cmocka_unit_test(test_project_partial), cmocka_unit_test(test_project_invalid),
        cmocka_unit_test(test_program),
    };
    return cmocka_run_group_tests(tests, fixture_proto_setup, fixture_proto_teardown);
}
