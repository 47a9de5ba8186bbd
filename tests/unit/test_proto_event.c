/*
 * Unit tests of proto's EVENT validation (PROTOCOL.md section 4): common fields, each
 * type's required, optional and default fields, the BSN rule, dates and integers.
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
static struct proto_request req;
static struct proto_env env;

/* "today" of these tests: 2024-02-28, so tomorrow is the leap day 2024-02-29. */
#define COMMON "id=e1 person=pseudo-0001 gemeente=hilversum date=2024-02-01 "

static int setup(void **state)
{
    (void)state;
    proto_request_init(&req);
    env.gemeenten = proto_default_gemeenten;
    env.n_gemeenten = 8;
    env.today = proto_date_from_ymd(2024, 2, 28);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    proto_request_free(&req);
    return 0;
}

/* Parse line and build an event from it; the parser's own refusal (a value holding a
 * BSN, personal.c) is returned as the build's would be. */
static int build(const char *line, struct wm_event *ev)
{
    int rc;

    err[0] = '\0';
    rc = proto_parse_line(&req, line, strlen(line), err, sizeof(err));
    if (rc == WM_EINVALID && req.refused_value)
        return rc;
    assert_int_equal(rc, WM_OK);
    return proto_event_build(&req, &env, ev, err, sizeof(err));
}

/* Expect WM_EINVALID with a message containing want. */
static void expect_invalid(const char *line, const char *want)
{
    struct wm_event ev;

    assert_int_equal(build(line, &ev), WM_EINVALID);
    if (strstr(err, want) == NULL)
        fail_msg("line '%s': message '%s' lacks '%s'", line, err, want);
}

static void test_started_defaults(void **state)
{
    struct wm_event ev;

    (void)state;
    assert_int_equal(build("EVENT started " COMMON "project=zorgstart", &ev), WM_OK);
    assert_int_equal(ev.type, WM_TYPE_STARTED);
    assert_string_equal(ev.id, "e1");
    assert_string_equal(ev.person, "pseudo-0001");
    assert_string_equal(ev.gemeente, "hilversum");
    assert_string_equal(ev.project, "zorgstart");
    assert_int_equal(ev.date, proto_date_from_ymd(2024, 2, 1));
    assert_int_equal(ev.enums[0], 0); /* kind overig */
    assert_int_equal(ev.enums[1], 0); /* doelgroep overig */
    assert_int_equal(ev.enums[2], 0); /* benefit onbekend */
    assert_int_equal(ev.months, -1);
    assert_int_equal(ev.hours, -1);
    assert_string_equal(ev.employer, "");
    assert_string_equal(ev.by, "");
    assert_string_equal(ev.principal, "");
    assert_int_equal(ev.seq, 0);
    assert_int_equal(ev.recv_time, 0);
}

static void test_started_all_fields(void **state)
{
    struct wm_event ev;

    (void)state;
    assert_int_equal(
        build("event started " COMMON "project=taal kind=taal doelgroep=ggz benefit=geen", &ev),
        WM_OK);
    assert_int_equal(ev.enums[0], 4);
    assert_int_equal(ev.enums[1], 5);
    assert_int_equal(ev.enums[2], 6);
    expect_invalid("EVENT started " COMMON "project=p kind=cursus", "kind: unknown value 'cursus'");
    expect_invalid("EVENT started " COMMON "project=p doelgroep=", "doelgroep: unknown value ''");
    /* Canonical values (PROTOCOL.md section 4): any case, stored as the list's own value. */
    assert_int_equal(
        build("EVENT started " COMMON "project=p kind=Taal doelgroep=GGZ benefit=Pw", &ev), WM_OK);
    assert_int_equal(ev.enums[0], 4);
    assert_int_equal(ev.enums[1], 5);
    assert_int_equal(ev.enums[2], 1);
    assert_int_equal(build("EVENT started " COMMON "project=p doelgroep=50PLUS", &ev), WM_OK);
    assert_int_equal(ev.enums[1], 3);
    expect_invalid("EVENT started " COMMON "project=p benefit=P%20w",
                   "benefit: unknown value 'P%20w'");
    expect_invalid("EVENT started " COMMON "kind=taal", "missing field project");
    expect_invalid("EVENT started " COMMON "project=p sector=zorg", "unknown field sector");
    expect_invalid("EVENT started " COMMON "project=p months=3", "unknown field months");
}

static void test_completed(void **state)
{
    static const char *const results[] = {"diploma", "certificaat", "afgerond", "uitgevallen"};
    struct wm_event ev;
    char line[256];
    int i;

    (void)state;
    for (i = 0; i < 4; i++) {
        snprintf(line, sizeof(line), "EVENT completed " COMMON "project=p result=%s", results[i]);
        assert_int_equal(build(line, &ev), WM_OK);
        assert_int_equal(ev.type, WM_TYPE_COMPLETED);
        assert_int_equal(ev.enums[0], i);
        assert_int_equal(WM_RESULT_SUCCESS(ev.enums[0]), i <= 2);
    }
    expect_invalid("EVENT completed " COMMON "project=p", "missing field result");
    expect_invalid("EVENT completed " COMMON "result=diploma", "missing field project");
    expect_invalid("EVENT completed " COMMON "project=p result=geslaagd",
                   "result: unknown value 'geslaagd' (allowed: diploma, certificaat, afgerond, "
                   "uitgevallen)");
    expect_invalid("EVENT completed " COMMON "project=p result=diploma kind=taal",
                   "unknown field kind");
}

static void test_placed(void **state)
{
    struct wm_event ev;

    (void)state;
    assert_int_equal(build("EVENT placed " COMMON "project=p sector=ict", &ev), WM_OK);
    assert_int_equal(ev.type, WM_TYPE_PLACED);
    assert_int_equal(ev.enums[0], 3);
    assert_int_equal(ev.enums[1], 0); /* contract betaald */
    assert_int_equal(ev.enums[2], WM_DURABLE_UNKNOWN_IDX);
    assert_int_equal(ev.months, -1);
    assert_int_equal(ev.hours, -1);

    assert_int_equal(build("EVENT placed " COMMON "project=p sector=overig contract=leerwerk "
                           "months=6 hours=60 employer=Bakkerij%20De%20Gouden%20Korenaar "
                           "by=J.%20de%20Vries",
                           &ev),
                     WM_OK);
    assert_int_equal(ev.enums[0], 9);
    assert_int_equal(ev.enums[1], 1);
    assert_int_equal(ev.enums[2], WM_DURABLE_YES_IDX);
    assert_int_equal(ev.months, 6);
    assert_int_equal(ev.hours, 60);
    assert_string_equal(ev.employer, "Bakkerij De Gouden Korenaar");
    assert_string_equal(ev.by, "J. de Vries");

    expect_invalid("EVENT placed " COMMON "project=p", "missing field sector");
    expect_invalid("EVENT placed " COMMON "sector=zorg", "missing field project");
    expect_invalid("EVENT placed " COMMON "project=p sector=xyz",
                   "sector: unknown value 'xyz' (allowed: zorg, techniek, bouw, ict, media, "
                   "horeca, vervoer, onderwijs, handel, overig)");
    expect_invalid("EVENT placed " COMMON "project=p sector=zorg contract=vast",
                   "contract: unknown value 'vast'");
    expect_invalid("EVENT placed " COMMON "project=p sector=zorg result=diploma",
                   "unknown field result");
}

static void test_durable_derived(void **state)
{
    static const struct {
        const char *months;
        int durable;
    } cases[] = {{"0", WM_DURABLE_NO_IDX},    {"5", WM_DURABLE_NO_IDX},
                 {"6", WM_DURABLE_YES_IDX},   {"12", WM_DURABLE_YES_IDX},
                 {"120", WM_DURABLE_YES_IDX}, {"006", WM_DURABLE_YES_IDX}};
    struct wm_event ev;
    char line[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(line, sizeof(line), "EVENT placed " COMMON "project=p sector=zorg months=%s",
                 cases[i].months);
        assert_int_equal(build(line, &ev), WM_OK);
        assert_int_equal(ev.enums[2], cases[i].durable);
    }
    /* durable is derived, never an input field. */
    expect_invalid("EVENT placed " COMMON "project=p sector=zorg durable=yes", "durable");
    expect_invalid("EVENT started " COMMON "project=p durable=yes", "unknown field durable");
}

static void test_integer_ranges(void **state)
{
    static const char *const bad_months[] = {
        "121", "-1", "+6", "6.0", "", "1e2", " 6", "99999999999999999999999", "0x6", "six"};
    static const char *const bad_hours[] = {"0", "61", "-5", "+1", "", "18446744073709551617"};
    struct wm_event ev;
    char line[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad_months) / sizeof(bad_months[0]); i++) {
        snprintf(line, sizeof(line), "EVENT placed " COMMON "project=p sector=zorg months=%s",
                 bad_months[i]);
        err[0] = '\0';
        if (proto_parse_line(&req, line, strlen(line), err, sizeof(err)) != WM_OK)
            continue; /* " 6" splits into another token: parse fine, then unknown */
        assert_int_equal(proto_event_build(&req, &env, &ev, err, sizeof(err)), WM_EINVALID);
    }
    expect_invalid("EVENT placed " COMMON "project=p sector=zorg months=121",
                   "months: must be an integer 0-120, got '121'");
    for (i = 0; i < sizeof(bad_hours) / sizeof(bad_hours[0]); i++) {
        snprintf(line, sizeof(line), "EVENT placed " COMMON "project=p sector=zorg hours=%s",
                 bad_hours[i]);
        expect_invalid(line, "hours: must be an integer 1-60");
    }
    assert_int_equal(build("EVENT placed " COMMON "project=p sector=zorg months=0 hours=1", &ev),
                     WM_OK);
    assert_int_equal(ev.months, 0);
    assert_int_equal(ev.hours, 1);
    assert_int_equal(ev.enums[2], WM_DURABLE_NO_IDX);
}

static void test_text_lengths(void **state)
{
    struct wm_event ev;
    char line[2048], text[512];

    (void)state;
    memset(text, 'e', 128);
    text[128] = '\0';
    snprintf(line, sizeof(line), "EVENT placed " COMMON "project=p sector=zorg employer=%s", text);
    assert_int_equal(build(line, &ev), WM_OK);
    assert_int_equal(strlen(ev.employer), 128);
    snprintf(line, sizeof(line), "EVENT placed " COMMON "project=p sector=zorg employer=%se", text);
    expect_invalid(line, "employer: longer than 128 characters");
    /* The limit counts characters (PROTOCOL.md): 64 x "%C3%A9" is 64 characters in 128
     * bytes (docs/AUDIT.md #2). */
    text[0] = '\0';
    for (int i = 0; i < 64; i++)
        strcat(text, "%C3%A9");
    snprintf(line, sizeof(line), "EVENT placed " COMMON "project=p sector=zorg by=%s", text);
    assert_int_equal(build(line, &ev), WM_OK);
    assert_int_equal(strlen(ev.by), 128);
    snprintf(line, sizeof(line), "EVENT placed " COMMON "project=p sector=zorg by=%sx", text);
    expect_invalid(line, "by: longer than 64 characters");
}

static void test_outflow(void **state)
{
    struct wm_event ev;

    (void)state;
    assert_int_equal(build("EVENT outflow " COMMON "benefit=wao reason=verhuizing", &ev), WM_OK);
    assert_int_equal(ev.type, WM_TYPE_OUTFLOW);
    assert_string_equal(ev.project, "");
    assert_int_equal(ev.enums[0], 4);
    assert_int_equal(ev.enums[1], 2);
    assert_int_equal(build("EVENT outflow " COMMON "benefit=pw reason=werk project=wsp-werkt", &ev),
                     WM_OK);
    assert_string_equal(ev.project, "wsp-werkt");
    assert_int_equal(ev.enums[0], 0);
    assert_int_equal(ev.enums[1], 0);
    expect_invalid("EVENT outflow " COMMON "reason=werk", "missing field benefit");
    expect_invalid("EVENT outflow " COMMON "benefit=pw", "missing field reason");
    /* onbekend and geen are started's benefit values, not outflow's. */
    expect_invalid("EVENT outflow " COMMON "benefit=onbekend reason=werk",
                   "benefit: unknown value 'onbekend' (allowed: pw, ww, wajong, wia, wao)");
    expect_invalid("EVENT outflow " COMMON "benefit=pw reason=pensioen",
                   "reason: unknown value 'pensioen'");
    expect_invalid("EVENT outflow " COMMON "benefit=pw reason=werk project=", "project:");
}

static void test_type(void **state)
{
    struct wm_event ev;

    (void)state;
    assert_int_equal(build("EVENT " COMMON, &ev), WM_ESYNTAX);
    assert_non_null(strstr(err, "missing event type"));
    /* A type matches case-insensitively (canonical values). */
    assert_int_equal(build("EVENT Started " COMMON "project=p", &ev), WM_OK);
    assert_int_equal(ev.type, WM_TYPE_STARTED);
    assert_int_equal(build("EVENT PLACED " COMMON "project=p sector=Zorg", &ev), WM_OK);
    assert_int_equal(ev.type, WM_TYPE_PLACED);
    assert_int_equal(ev.enums[0], 0);
    expect_invalid("EVENT Start " COMMON "project=p", "type: unknown value 'Start'");
    expect_invalid("EVENT hired " COMMON "project=p", "type: unknown value 'hired'");
    /* The type may come after key=value arguments; a second positional is refused. */
    assert_int_equal(build("EVENT " COMMON "project=p started", &ev), WM_OK);
    assert_int_equal(ev.type, WM_TYPE_STARTED);
    expect_invalid("EVENT started " COMMON "project=p extra", "unexpected argument 'extra'");
}

static void test_id(void **state)
{
    struct wm_event ev;
    char line[512], id[200];

    (void)state;
    assert_int_equal(build("EVENT started id=A-z_0.9:/x person=pseudo-0001 gemeente=laren "
                           "date=2024-01-01 project=p",
                           &ev),
                     WM_OK);
    assert_string_equal(ev.id, "A-z_0.9:/x");
    expect_invalid("EVENT started person=pseudo-0001 gemeente=laren date=2024-01-01 project=p",
                   "missing field id");
    expect_invalid("EVENT started id= person=pseudo-0001 gemeente=laren date=2024-01-01 "
                   "project=p",
                   "id: must be 1-128 characters");
    expect_invalid("EVENT started id=a%20b person=pseudo-0001 gemeente=laren date=2024-01-01 "
                   "project=p",
                   "id: must be 1-128 characters of [A-Za-z0-9._:/-], got 'a%20b'");
    expect_invalid("EVENT started id=%C3%A9 person=pseudo-0001 gemeente=laren date=2024-01-01 "
                   "project=p",
                   "id:");
    memset(id, 'i', 128);
    id[128] = '\0';
    snprintf(line, sizeof(line),
             "EVENT started id=%s person=pseudo-0001 gemeente=laren date=2024-01-01 project=p", id);
    assert_int_equal(build(line, &ev), WM_OK);
    assert_int_equal(strlen(ev.id), 128);
    snprintf(line, sizeof(line),
             "EVENT started id=%si person=pseudo-0001 gemeente=laren date=2024-01-01 project=p",
             id);
    expect_invalid(line, "id: must be 1-128");
}

static void test_person(void **state)
{
    static const char *const bsn[] = {"12345678",   "123456789",  "00000000",   "999999999",
                                      "1234567890", "0123456789", "123-456-78", "12.34.56:78"};
    static const char *const ok[] = {"p1234567890", "a2345678", "12345678a", "ab:cd.ef_gh-ij",
                                     "abcdefgh"};
    static const char *const bad[] = {"p123456",      "abc", "pseudo/001",
                                      "pseudo%20001", "",    "pseud\xc3\xa9-001"};
    struct wm_event ev;
    char line[512], p[200];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bsn) / sizeof(bsn[0]); i++) {
        snprintf(line, sizeof(line),
                 "EVENT started id=x person=%s gemeente=laren date=2024-01-01 project=p", bsn[i]);
        expect_invalid(line, "person looks like a BSN");
        /* A person value never appears in a message. */
        assert_null(strstr(err, bsn[i]));
    }
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(line, sizeof(line),
                 "EVENT started id=x person=%s gemeente=laren date=2024-01-01 project=p", ok[i]);
        assert_int_equal(build(line, &ev), WM_OK);
        assert_string_equal(ev.person, ok[i]);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(line, sizeof(line),
                 "EVENT started id=x person=%s gemeente=laren date=2024-01-01 project=p", bad[i]);
        expect_invalid(line, "person: must be a pseudonym");
        if (bad[i][0] != '\0')
            assert_null(strstr(err, bad[i]));
    }
    expect_invalid("EVENT started id=x gemeente=laren date=2024-01-01 project=p",
                   "missing field person");
    memset(p, 'p', 128);
    p[128] = '\0';
    snprintf(line, sizeof(line),
             "EVENT started id=x person=%s gemeente=laren date=2024-01-01 project=p", p);
    assert_int_equal(build(line, &ev), WM_OK);
    snprintf(line, sizeof(line),
             "EVENT started id=x person=%sp gemeente=laren date=2024-01-01 project=p", p);
    expect_invalid(line, "person: must be a pseudonym");
}

/* An event whose gemeente is written as given builds with gemeente stored. */
static void expect_gemeente(const char *written, const char *stored)
{
    struct wm_event ev;
    char line[256];

    snprintf(line, sizeof(line),
             "EVENT started id=x person=pseudo-0001 gemeente=%s date=2024-01-01 project=p",
             written);
    assert_int_equal(build(line, &ev), WM_OK);
    assert_string_equal(ev.gemeente, stored);
}

static void test_gemeente(void **state)
{
    static const char *const mine[] = {"amsterdam", "utrecht"};
    struct wm_event ev;
    size_t i;

    (void)state;
    for (i = 0; proto_default_gemeenten[i] != NULL; i++)
        expect_gemeente(proto_default_gemeenten[i], proto_default_gemeenten[i]);
    assert_int_equal(i, 8);
    /* Any case, and a space for a '-': the store keeps the configured name. */
    expect_gemeente("Hilversum", "hilversum");
    expect_gemeente("HILVERSUM", "hilversum");
    expect_gemeente("Gooise%20Meren", "gooise-meren");
    expect_gemeente("gooise%20meren", "gooise-meren");
    expect_gemeente("GOOISE-MEREN", "gooise-meren");
    expect_invalid(
        "EVENT started id=x person=pseudo-0001 gemeente=Hilver%20sum date=2024-01-01 "
        "project=p",
        "gemeente: unknown value 'Hilver%20sum' (allowed: blaricum, eemnes, gooise-meren,");
    expect_invalid("EVENT started id=x person=pseudo-0001 gemeente=gooise_meren date=2024-01-01 "
                   "project=p",
                   "gemeente: unknown value 'gooise_meren'");
    expect_invalid("EVENT started id=x person=pseudo-0001 date=2024-01-01 project=p",
                   "missing field gemeente");
    /* The server's own list decides. */
    env.gemeenten = mine;
    env.n_gemeenten = 2;
    assert_int_equal(build("EVENT started id=x person=pseudo-0001 gemeente=utrecht "
                           "date=2024-01-01 project=p",
                           &ev),
                     WM_OK);
    expect_invalid("EVENT started id=x person=pseudo-0001 gemeente=laren date=2024-01-01 "
                   "project=p",
                   "gemeente: unknown value 'laren' (allowed: amsterdam, utrecht)");
    /* A long configured list is cut at a whole name. */
    {
        static const char *const many[] = {
            "gemeente-met-een-heel-lange-naam-nummer-een-\xc3\xa9\xc3\xa9n",
            "gemeente-met-een-heel-lange-naam-nummer-twee-tw\xc3\xa9\xc3\xa9",
            "gemeente-met-een-heel-lange-naam-nummer-drie-dri\xc3\xa9\xc3\xa9",
            "gemeente-met-een-heel-lange-naam-nummer-vier-vi\xc3\xa9\xc3\xa9r",
            "gemeente-met-een-heel-lange-naam-nummer-vijf-vi\xc3\xa9\xc3\xa9"
            "f",
        };
        env.gemeenten = many;
        env.n_gemeenten = 5;
        expect_invalid("EVENT started id=x person=pseudo-0001 gemeente=laren date=2024-01-01 "
                       "project=p",
                       "gemeente: unknown value 'laren' (allowed: gemeente-met");
        assert_non_null(strstr(err, ", ...)"));
        assert_true(proto_utf8_valid(err, strlen(err)));
    }
    env.gemeenten = proto_default_gemeenten;
    env.n_gemeenten = 8;
}

static void test_dates(void **state)
{
    static const struct {
        const char *date;
        int ok;
    } cases[] = {
        {"2000-01-01", 1},  {"1999-12-31", 0}, {"2024-02-28", 1}, /* today */
        {"2024-02-29", 1},                                        /* tomorrow, leap day */
        {"2024-03-01", 0},                                        /* day after tomorrow */
        {"2020-02-29", 1},  {"2023-02-29", 0}, {"2000-02-29", 1}, /* 2000 is a leap year */
        {"2021-04-31", 0},  {"2021-12-31", 1}, {"2021-13-01", 0}, {"2021-00-10", 0},
        {"2021-01-00", 0},  {"2021-1-01", 0},  {"21-01-01", 0},   {"2021/01/01", 0},
        {"2021-01-011", 0}, {"", 0},           {"2021-01-0a", 0}, {"+021-01-01", 0},
    };
    struct wm_event ev;
    char line[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(line, sizeof(line),
                 "EVENT started id=x person=pseudo-0001 gemeente=laren date=%s project=p",
                 cases[i].date);
        if (cases[i].ok) {
            assert_int_equal(build(line, &ev), WM_OK);
        } else {
            expect_invalid(line, "date:");
        }
    }
    expect_invalid("EVENT started id=x person=pseudo-0001 gemeente=laren date=1999-12-31 "
                   "project=p",
                   "date: before 2000-01-01, got '1999-12-31'");
    expect_invalid("EVENT started id=x person=pseudo-0001 gemeente=laren date=2024-03-01 "
                   "project=p",
                   "date: after 2024-02-29, got '2024-03-01'");
    expect_invalid("EVENT started id=x person=pseudo-0001 gemeente=laren project=p",
                   "missing field date");
    /* With today 2023-02-27 the day after tomorrow is 2023-03-01 (no leap day). */
    env.today = proto_date_from_ymd(2023, 2, 27);
    assert_int_equal(build("EVENT started id=x person=pseudo-0001 gemeente=laren "
                           "date=2023-02-28 project=p",
                           &ev),
                     WM_OK);
    expect_invalid("EVENT started id=x person=pseudo-0001 gemeente=laren date=2023-03-01 "
                   "project=p",
                   "date: after 2023-02-28");
    env.today = proto_date_from_ymd(2024, 2, 28);
}

static void test_project_syntax(void **state)
{
    static const char *const bad[] = {"zorg_start", "", "zorg%2Fstart", "\xc3\xa9", "%C3%89"};
    struct wm_event ev;
    char line[512], p[100];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(line, sizeof(line), "EVENT started " COMMON "project=%s", bad[i]);
        expect_invalid(line, "project: must be 1-64 characters of [a-z0-9-]");
    }
    memset(p, 'a', 64);
    p[64] = '\0';
    snprintf(line, sizeof(line), "EVENT started " COMMON "project=%s", p);
    assert_int_equal(build(line, &ev), WM_OK);
    snprintf(line, sizeof(line), "EVENT started " COMMON "project=%sa", p);
    expect_invalid(line, "project:");
    assert_int_equal(build("EVENT started " COMMON "project=0-9-a-z", &ev), WM_OK);
    /* Canonical: "ZorgStart" is zorgstart, "Taal Werkt" taal-werkt. */
    assert_int_equal(build("EVENT started " COMMON "project=ZorgStart", &ev), WM_OK);
    assert_string_equal(ev.project, "zorgstart");
    assert_int_equal(build("EVENT started " COMMON "project=Taal%20Werkt", &ev), WM_OK);
    assert_string_equal(ev.project, "taal-werkt");
}

static void test_unknown_field(void **state)
{
    (void)state;
    expect_invalid("EVENT started " COMMON "project=p colour=blue",
                   "unknown field colour for started");
    expect_invalid("EVENT outflow " COMMON "benefit=pw reason=werk employer=x",
                   "unknown field employer for outflow");
    expect_invalid("EVENT outflow " COMMON "benefit=pw reason=werk principal=x",
                   "unknown field principal");
    expect_invalid("EVENT outflow " COMMON "benefit=pw reason=werk seq=1", "unknown field seq");
}

/* EVENT finds its arguments in one pass (event_args_collect): the order of the fields
 * on the line changes nothing, an unknown field is reported before any missing or bad
 * one and the first unknown in line order is the one named, and a field's checks run in
 * the protocol's order (id, person, gemeente, date, project, then the type's own). */
static void test_field_order(void **state)
{
    struct wm_event a, b;

    (void)state;
    assert_int_equal(build("EVENT placed " COMMON "project=p sector=zorg contract=betaald months=7 "
                           "hours=32 employer=acme by=jan",
                           &a),
                     WM_OK);
    assert_int_equal(build("EVENT placed by=jan hours=32 contract=betaald sector=zorg months=7 "
                           "project=p date=2024-02-01 employer=acme gemeente=hilversum "
                           "person=pseudo-0001 id=e1",
                           &b),
                     WM_OK);
    assert_true(proto_event_same(&a, &b));
    assert_int_equal(b.months, 7);
    assert_int_equal(b.hours, 32);
    assert_string_equal(b.employer, "acme");
    assert_string_equal(b.by, "jan");
    assert_int_equal(b.enums[2], WM_DURABLE_YES_IDX);
    /* unknown beats missing and bad, and the first unknown on the line is named */
    expect_invalid("EVENT started id=e1 colour=blue size=9 date=bad", "unknown field colour");
    expect_invalid("EVENT started size=9 colour=blue", "unknown field size");
    expect_invalid("EVENT placed " COMMON "project=p sector=zorg colour=x durable=yes",
                   "unknown field colour");
    expect_invalid("EVENT placed " COMMON "project=p sector=zorg durable=yes colour=x",
                   "durable: not an input field");
    /* the checks in the protocol's order, whatever the order on the line */
    expect_invalid("EVENT started date=bad gemeente=nowhere person=x id=e1 project=p",
                   "person: must be a pseudonym");
    expect_invalid("EVENT started date=bad gemeente=nowhere person=pseudo-0001 id=e1 project=p",
                   "gemeente: unknown value 'nowhere'");
    expect_invalid("EVENT started project=P_Q date=2023-02-29 id=e1 person=pseudo-0001 "
                   "gemeente=hilversum",
                   "date: not a date YYYY-MM-DD, got '2023-02-29'");
    expect_invalid("EVENT started project=P_Q id=e1 person=pseudo-0001 gemeente=hilversum "
                   "date=2024-02-01",
                   "project: must be 1-64 characters of [a-z0-9-], got 'P_Q'");
    expect_invalid("EVENT completed project=p result=x " COMMON, "result: unknown value 'x'");
    expect_invalid("EVENT placed " COMMON "project=p sector=zorg hours=61 months=121",
                   "months: must be an integer 0-120");
    expect_invalid("EVENT placed " COMMON "project=p", "missing field sector");
    /* empty values: each refused by its own rule, named */
    expect_invalid("EVENT started id= person=pseudo-0001 gemeente=hilversum date=2024-02-01 "
                   "project=p",
                   "id: must be 1-128 characters");
    expect_invalid("EVENT started " COMMON "project=", "project: must be 1-64 characters");
    expect_invalid("EVENT started id=e1 person=pseudo-0001 gemeente=hilversum date= project=p",
                   "date: not a date YYYY-MM-DD, got ''");
    /* day-first forms are refused, not read */
    expect_invalid("EVENT started id=e1 person=pseudo-0001 gemeente=hilversum date=01-02-2024 "
                   "project=p",
                   "date: not a date YYYY-MM-DD, got '01-02-2024'");
    expect_invalid("EVENT started id=e1 person=pseudo-0001 gemeente=hilversum date=2024-2-1 "
                   "project=p",
                   "date: not a date YYYY-MM-DD");
}

/* build for a line the parser may refuse (a control byte, a byte that is not UTF-8):
 * WM_EINVALID then, as the value never reaches EVENT's checks. */
static int build_parsed(const char *line, struct wm_event *ev)
{
    if (proto_parse_line(&req, line, strlen(line), err, sizeof(err)) != WM_OK)
        return WM_EINVALID;
    return proto_event_build(&req, &env, ev, err, sizeof(err));
}

/* Every byte value in an id and in a pseudonym: accepted exactly when it is one of
 * [A-Za-z0-9._:/-] (a pseudonym: without '/'), wherever it stands. */
static void test_id_bytes(void **state)
{
    struct wm_event ev;
    char line[256];

    (void)state;
    for (int c = 1; c < 256; c++) {
        int id_ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '/' || c == '-';
        int rc;

        snprintf(line, sizeof(line),
                 "EVENT started id=a%%%02Xb person=pseudo-0001 gemeente=hilversum "
                 "date=2024-02-01 project=p",
                 c);
        rc = build_parsed(line, &ev);
        if (rc != (id_ok ? WM_OK : WM_EINVALID))
            fail_msg("id with byte 0x%02x: %d", c, rc);
        snprintf(line, sizeof(line),
                 "EVENT started id=e1 person=%%%02Xseudo-000000000000000000000000000001 "
                 "gemeente=hilversum date=2024-02-01 project=p",
                 c);
        rc = build_parsed(line, &ev);
        if (rc != (id_ok && c != '/' ? WM_OK : WM_EINVALID))
            fail_msg("person with byte 0x%02x: %d", c, rc);
    }
    /* bytes above 0x7f in valid UTF-8 reach the check, and are no id's ('\xe9' would be
     * 'i' were only its low bits looked at) */
    expect_invalid("EVENT started id=a%C3%A9b person=pseudo-0001 gemeente=hilversum "
                   "date=2024-02-01 project=p",
                   "id: must be 1-128 characters");
    expect_invalid("EVENT started id=e1 person=pseudo-%C3%A9%C3%A9 gemeente=hilversum "
                   "date=2024-02-01 project=p",
                   "person: must be a pseudonym");
}

static void test_event_same(void **state)
{
    struct wm_event a, b;

    (void)state;
    /* Defaults applied: an explicit default equals an absent field. */
    assert_int_equal(build("EVENT started " COMMON "project=p", &a), WM_OK);
    assert_int_equal(build("EVENT started " COMMON "project=p kind=overig benefit=onbekend", &b),
                     WM_OK);
    assert_true(proto_event_same(&a, &b));
    /* seq, recv_time and principal do not matter. */
    b.seq = 7;
    b.recv_time = 1700000000;
    strcpy(b.principal, "someone");
    assert_true(proto_event_same(&a, &b));
    assert_int_equal(build("EVENT started " COMMON "project=p kind=taal", &b), WM_OK);
    assert_false(proto_event_same(&a, &b));
    assert_int_equal(build("EVENT started " COMMON "project=q", &b), WM_OK);
    assert_false(proto_event_same(&a, &b));
    assert_int_equal(build("EVENT completed " COMMON "project=p result=diploma", &b), WM_OK);
    assert_false(proto_event_same(&a, &b));

    assert_int_equal(build("EVENT placed " COMMON "project=p sector=zorg months=6", &a), WM_OK);
    assert_int_equal(build("EVENT placed " COMMON "project=p sector=zorg months=7", &b), WM_OK);
    assert_false(proto_event_same(&a, &b));
    assert_int_equal(build("EVENT placed " COMMON "project=p sector=zorg months=6 by=x", &b),
                     WM_OK);
    assert_false(proto_event_same(&a, &b));
    assert_int_equal(build("EVENT placed " COMMON "project=p sector=zorg months=006 "
                           "contract=betaald",
                           &b),
                     WM_OK);
    assert_true(proto_event_same(&a, &b));
    assert_int_equal(build("EVENT placed id=e1 person=pseudo-0002 gemeente=hilversum "
                           "date=2024-02-01 project=p sector=zorg months=6",
                           &b),
                     WM_OK);
    assert_false(proto_event_same(&a, &b));
}

/* The field table a client checks its columns against is the one EVENT uses. */
static void test_field_kind(void **state)
{
    (void)state;
    assert_int_equal(proto_event_field_kind(-1, "date"), PROTO_FIELD_DATE);
    assert_int_equal(proto_event_field_kind(-1, "months"), PROTO_FIELD_INT);
    assert_int_equal(proto_event_field_kind(WM_TYPE_PLACED, "hours"), PROTO_FIELD_INT);
    assert_int_equal(proto_event_field_kind(WM_TYPE_STARTED, "months"), PROTO_FIELD_NONE);
    assert_int_equal(proto_event_field_kind(-1, "employer"), PROTO_FIELD_TEXT);
    assert_int_equal(proto_event_field_kind(-1, "id"), PROTO_FIELD_TEXT);
    assert_int_equal(proto_event_field_kind(WM_TYPE_OUTFLOW, "gemeente"), PROTO_FIELD_NAME);
    assert_int_equal(proto_event_field_kind(-1, "doelgroep"), PROTO_FIELD_NAME);
    assert_int_equal(proto_event_field_kind(WM_TYPE_COMPLETED, "result"), PROTO_FIELD_NAME);
    assert_int_equal(proto_event_field_kind(WM_TYPE_COMPLETED, "sector"), PROTO_FIELD_NONE);
    assert_int_equal(proto_event_field_kind(-1, "durable"), PROTO_FIELD_NONE);
    assert_int_equal(proto_event_field_kind(-1, "type"), PROTO_FIELD_NONE);
    assert_int_equal(proto_event_field_kind(-1, "opmerking"), PROTO_FIELD_NONE);
}

static int build_show(const char *line, struct wm_show_query *q)
{
    err[0] = '\0';
    assert_int_equal(proto_parse_line(&req, line, strlen(line), err, sizeof(err)), WM_OK);
    return proto_show_build(&req, q, err, sizeof(err));
}

static void test_show_query(void **state)
{
    struct wm_show_query q;

    (void)state;
    assert_int_equal(build_show("SHOW id=t14", &q), WM_OK);
    assert_string_equal(q.id, "t14");
    assert_string_equal(q.principal, "");
    assert_int_equal(q.seq, 0);
    assert_int_equal(build_show("SHOW id=t14 principal=hilversum-export", &q), WM_OK);
    assert_string_equal(q.principal, "hilversum-export");
    assert_int_equal(build_show("SHOW seq=42", &q), WM_OK);
    assert_int_equal(q.seq, 42);
    assert_string_equal(q.id, "");
    /* each refusal names its field */
    static const struct {
        const char *line, *want;
    } bad[] = {
        {"SHOW", "missing field id"},
        {"SHOW id=a seq=1", "not both"},
        {"SHOW seq=0", "seq"},
        {"SHOW seq=x", "seq"},
        {"SHOW id=a%20b", "id"},
        {"SHOW seq=3 principal=x", "principal"},
        {"SHOW id=a colour=red", "unknown field colour"},
        {"SHOW a", "unexpected argument"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(build_show(bad[i].line, &q), WM_EINVALID);
        if (strstr(err, bad[i].want) == NULL)
            fail_msg("'%s': message '%s' lacks '%s'", bad[i].line, err, bad[i].want);
    }
}

static void test_fmt_version(void **state)
{
    struct wm_event ev;
    struct wm_buf b;

    (void)state;
    wm_buf_init(&b);
    assert_int_equal(
        build("EVENT placed " COMMON "project=p sector=zorg months=6 employer=De%20Hof", &ev),
        WM_OK);
    ev.seq = 9;
    ev.replaces = 4;
    ev.recv_time = 1709251200; /* 2024-03-01T00:00:00Z */
    strcpy(ev.principal, "wsp");
    assert_int_equal(proto_fmt_version(&b, &ev, 0, NULL), WM_OK);
    /* the person value never appears; the derived durable is no field */
    assert_string_equal(wm_buf_cstr(&b),
                        "ROW seq=9 type=placed principal=wsp received=2024-03-01T00:00:00Z id=e1 "
                        "gemeente=hilversum date=2024-02-01 project=p sector=zorg contract=betaald "
                        "months=6 employer=De%20Hof replaces=4 retracted=no\n");
    wm_buf_reset(&b);
    ev.replaces = 0;
    assert_int_equal(proto_fmt_version(&b, &ev, 10, "replaced"), WM_OK);
    assert_non_null(strstr(wm_buf_cstr(&b), " replaces=- retracted=10 reason=replaced\n"));
    wm_buf_reset(&b);
    assert_int_equal(proto_fmt_version(&b, &ev, 10, ""), WM_OK);
    assert_non_null(strstr(wm_buf_cstr(&b), " retracted=10 reason=-\n"));
    assert_null(strstr(wm_buf_cstr(&b), "pseudo"));
    /* an outflow has a reason of its own: the retraction's has another key */
    wm_buf_reset(&b);
    assert_int_equal(build("EVENT outflow " COMMON "benefit=ww reason=verhuizing", &ev), WM_OK);
    assert_int_equal(proto_fmt_version(&b, &ev, 10, "dubbel"), WM_OK);
    assert_non_null(strstr(wm_buf_cstr(&b), " benefit=ww reason=verhuizing replaces=- retracted=10 "
                                            "retracted.reason=dubbel\n"));
    ev.type = WM_TYPE_COUNT_;
    assert_int_equal(proto_fmt_version(&b, &ev, 0, NULL), WM_EINTERNAL);
    wm_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_started_defaults),
        cmocka_unit_test(test_started_all_fields),
        cmocka_unit_test(test_completed),
        cmocka_unit_test(test_placed),
        cmocka_unit_test(test_durable_derived),
        cmocka_unit_test(test_integer_ranges),
        cmocka_unit_test(test_text_lengths),
        cmocka_unit_test(test_outflow),
        cmocka_unit_test(test_type),
        cmocka_unit_test(test_id),
        cmocka_unit_test(test_person),
        cmocka_unit_test(test_gemeente),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_project_syntax),
        cmocka_unit_test(test_unknown_field),
        cmocka_unit_test(test_field_order),
        cmocka_unit_test(test_id_bytes),
        cmocka_unit_test(test_event_same),
        cmocka_unit_test(test_field_kind),
        cmocka_unit_test(test_show_query),
        cmocka_unit_test(test_fmt_version),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
