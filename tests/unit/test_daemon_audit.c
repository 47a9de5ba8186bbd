/*
 * Unit tests of daemon/audit.c: the audit lines of applied batches as written to a file:
 * accepted events summarised per batch and principal with seq ranges naming exactly the
 * seqs stored, a line each for every other change, refusals counted, per-event lines with
 * audit-detail event, a failed commit's lines, values escaped, never a person value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"

/* 2023-11-14T22:13:20Z */
#define NOW ((time_t)1700000000)
#define P "2023-11-14T22:13:20Z audit"

static FILE *file;
static char text[1 << 20];

static int setup(void **state)
{
    (void)state;
    file = tmpfile();
    assert_non_null(file);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fclose(file);
    return 0;
}

/* What the audit wrote to the file since the last call. */
static const char *written(void)
{
    static long from;
    size_t n;

    fflush(file);
    assert_int_equal(fseek(file, from, SEEK_SET), 0);
    n = fread(text, 1, sizeof text - 1, file);
    text[n] = '\0';
    from += (long)n;
    return text;
}

static struct store_item event(const char *principal, const char *id, uint64_t seq, int dup)
{
    struct store_item it;

    memset(&it, 0, sizeof it);
    it.op = STORE_OP_EVENT;
    it.u.event.type = WM_TYPE_PLACED;
    snprintf(it.u.event.id, sizeof it.u.event.id, "%s", id);
    snprintf(it.u.event.person, sizeof it.u.event.person, "person-0123456789abcdef");
    snprintf(it.u.event.gemeente, sizeof it.u.event.gemeente, "hilversum");
    snprintf(it.u.event.principal, sizeof it.u.event.principal, "%s", principal);
    it.result = WM_OK;
    it.dup = (uint8_t)dup;
    it.seq = seq;
    return it;
}

static struct audit *audit(enum audit_detail d, uint64_t last_seq)
{
    struct audit *a;

    assert_int_equal(audit_new(fileno(file), d, last_seq, &a), WM_OK);
    return a;
}

static void apply(struct audit *a, const struct store_item *items, size_t n, int rc)
{
    audit_batch(a, items, NULL, n, rc, NOW);
    audit_write_pending(a);
}

static void test_one_line_per_batch_and_principal(void **state)
{
    struct store_item it[8];
    struct audit *a = audit(AUDIT_DETAIL_BATCH, 9);

    (void)state;
    it[0] = event("hilversum", "a1", 10, 0);
    it[1] = event("hilversum", "a2", 11, 0);
    it[2] = event("huizen", "b1", 12, 0);
    it[3] = event("hilversum", "a3", 13, 0);
    it[4] = event("hilversum", "a0", 4, 1); /* a DUP: the original's seq, not stored now */
    it[5] = event("hilversum", "a4", 14, 0);
    it[6] = event("huizen", "b2", 15, 0);
    it[7] = event("hilversum", "a5", 16, 0);
    apply(a, it, 8, WM_OK);
    assert_string_equal(written(),
                        P " principal=hilversum op=event n=6 ok=5 dup=1 seq=10..11,13..14,16\n" P
                          " principal=huizen op=event n=2 ok=2 dup=0 seq=12,15\n");
    /* all DUPs: no seq */
    it[0] = event("hilversum", "a1", 10, 1);
    apply(a, it, 1, WM_OK);
    assert_string_equal(written(), P " principal=hilversum op=event n=1 ok=0 dup=1 seq=-\n");
    audit_free(a);
    assert_string_equal(written(), "");
}

static void test_changes_and_refusals(void **state)
{
    struct store_item it[7];
    char principals[7][WM_NAME_MAX + 1] = {{0}};
    struct audit *a = audit(AUDIT_DETAIL_BATCH, 20);

    (void)state;
    it[0] = event("hilversum", "a1", 21, 0);
    /* REPLACE of a live version: its retraction took 22, the new version 23 */
    it[1] = event("hilversum", "a0", 23, 0);
    it[1].op = STORE_OP_REPLACE;
    it[1].replaced = 7;
    /* REPLACE of a retracted version: the new version alone */
    it[2] = event("hilversum", "a9", 24, 0);
    it[2].op = STORE_OP_REPLACE;
    it[2].replaced = 8;
    memset(&it[3], 0, sizeof it[3]);
    it[3].op = STORE_OP_RETRACT;
    snprintf(it[3].u.retract.id, sizeof it[3].u.retract.id, "r1");
    snprintf(it[3].u.retract.ref, sizeof it[3].u.retract.ref, "a1");
    snprintf(it[3].u.retract.principal, sizeof it[3].u.retract.principal, "hilversum");
    it[3].seq = 25;
    memset(&it[4], 0, sizeof it[4]);
    it[4].op = STORE_OP_PROJECT;
    snprintf(it[4].u.project.name, sizeof it[4].u.project.name, "zorgstart");
    snprintf(principals[4], sizeof principals[4], "beheer");
    /* refused: counted, no line */
    it[5] = event("hilversum", "bad", 0, 0);
    it[5].result = WM_EUNKNOWN_PROJECT;
    it[6] = event("hilversum", "a2", 26, 0);
    audit_batch(a, it, principals, 7, WM_OK, NOW);
    audit_write_pending(a);
    assert_string_equal(
        written(),
        P " principal=hilversum op=replace type=placed id=a0 gemeente=hilversum seq=23 replaced=7 "
          "retraction.seq=22 result=ok\n" P
          " principal=hilversum op=replace type=placed id=a9 gemeente=hilversum seq=24 replaced=8 "
          "result=ok\n" P " principal=hilversum op=retract id=r1 ref=a1 seq=25 result=ok\n" P
          " principal=beheer op=project project=zorgstart result=ok\n" P
          " principal=hilversum op=event n=2 ok=2 dup=0 seq=21,26\n");
    assert_true(audit_rejects_waiting(a));
    assert_false(audit_rejects_due(a, NOW + 9, 10));
    assert_true(audit_rejects_due(a, NOW + 10, 10));
    it[0] = event("hilversum", "bad2", 0, 0);
    it[0].result = WM_EUNKNOWN_PROJECT;
    apply(a, it, 1, WM_OK);
    assert_string_equal(written(), "");
    audit_rejects_flush(a, NOW);
    assert_string_equal(written(),
                        P " principal=hilversum op=event result=unknown-project rejected=2\n");
    assert_false(audit_rejects_waiting(a));
    audit_free(a);
}

static void test_event_detail_keeps_a_line_per_event(void **state)
{
    struct store_item it[3];
    struct audit *a = audit(AUDIT_DETAIL_EVENT, 0);

    (void)state;
    it[0] = event("hilversum", "a1", 1, 0);
    it[1] = event("hilversum", "a1", 1, 1);
    it[2] = event("huizen", "b1", 2, 0);
    apply(a, it, 3, WM_OK);
    assert_string_equal(
        written(), P
        " principal=hilversum op=event type=placed id=a1 gemeente=hilversum seq=1 "
        "result=ok\n" P " principal=hilversum op=event type=placed id=a1 gemeente=hilversum seq=1 "
        "result=dup\n" P " principal=huizen op=event type=placed id=b1 gemeente=hilversum seq=2 "
        "result=ok\n");
    audit_free(a);
}

static void test_failed_commit_names_every_item(void **state)
{
    struct store_item it[2];
    struct audit *a = audit(AUDIT_DETAIL_BATCH, 0);

    (void)state;
    it[0] = event("hilversum", "a1", 0, 0);
    it[1] = event("hilversum", "a2", 0, 0);
    it[0].result = it[1].result = WM_ESTORAGE;
    apply(a, it, 2, WM_ESTORAGE);
    assert_string_equal(written(),
                        P " principal=hilversum op=event type=placed id=a1 gemeente=hilversum "
                          "result=storage\n" P
                          " principal=hilversum op=event type=placed id=a2 gemeente=hilversum "
                          "result=storage\n");
    assert_false(audit_rejects_waiting(a));
    audit_free(a);
}

/* A principal whose events interleave with another's: each line holds at most 1,000
 * ranges, the lines together name every seq once and count every event. */
static void test_ranges_split_and_cover(void **state)
{
    enum { N = 5000 };
    struct store_item *it = calloc(N, sizeof *it);
    struct audit *a = audit(AUDIT_DETAIL_BATCH, 0);
    static unsigned char seen[N + 1];
    uint64_t ok = 0, lines = 0;
    char *line, *save = NULL;

    (void)state;
    assert_non_null(it);
    for (size_t i = 0; i < N; i++)
        it[i] = event(i % 2 ? "huizen" : "hilversum", "x", i + 1, 0);
    apply(a, it, N, WM_OK);
    for (line = strtok_r((char *)written(), "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        unsigned long long n, k, d, first, last;
        const char *s = strstr(line, " seq=") + 5;
        int ranges = 0, used;

        assert_int_equal(sscanf(strstr(line, " n="), " n=%llu ok=%llu dup=%llu", &n, &k, &d), 3);
        assert_int_equal(n, k);
        ok += k;
        lines++;
        while (*s) {
            if (sscanf(s, "%llu..%llu%n", &first, &last, &used) == 2)
                ;
            else if (sscanf(s, "%llu%n", &first, &used) == 1)
                last = first;
            else
                fail_msg("bad ranges at %s", s);
            for (unsigned long long q = first; q <= last; q++) {
                assert_true(q >= 1 && q <= N);
                assert_int_equal(seen[q], 0);
                seen[q] = 1;
                k--;
            }
            ranges++;
            s += used;
            if (*s == ',')
                s++;
        }
        assert_int_equal(k, 0);
        assert_true(ranges <= 1000);
    }
    assert_int_equal(ok, N);
    for (size_t q = 1; q <= N; q++)
        assert_int_equal(seen[q], 1);
    assert_true(lines >= 6); /* 2,500 single ranges each: three lines a principal */
    audit_free(a);
    free(it);
}

static void test_values_escaped_never_a_person(void **state)
{
    struct store_item it[2];
    struct audit *a = audit(AUDIT_DETAIL_EVENT, 0);
    const char *out;

    (void)state;
    it[0] = event("hilversum", "a b%", 1, 0);
    it[1] = event("hilversum", "a2", 2, 0);
    apply(a, it, 2, WM_OK);
    out = written();
    assert_non_null(strstr(out, " id=a%20b%25 "));
    assert_null(strstr(out, "person"));
    audit_free(a);
    a = audit(AUDIT_DETAIL_BATCH, 0);
    apply(a, it, 2, WM_OK);
    out = written();
    assert_null(strstr(out, "person"));
    assert_string_equal(out, P " principal=hilversum op=event n=2 ok=2 dup=0 seq=1..2\n");
    audit_free(a);
}

static void test_detail_names(void **state)
{
    (void)state;
    assert_int_equal(audit_detail_parse("batch"), AUDIT_DETAIL_BATCH);
    assert_int_equal(audit_detail_parse("event"), AUDIT_DETAIL_EVENT);
    assert_int_equal(audit_detail_parse("events"), -1);
    assert_string_equal(audit_detail_name(AUDIT_DETAIL_EVENT), "event");
    assert_string_equal(audit_detail_name(AUDIT_DETAIL_BATCH), "batch");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_line_per_batch_and_principal),
        cmocka_unit_test(test_changes_and_refusals),
        cmocka_unit_test(test_event_detail_keeps_a_line_per_event),
        cmocka_unit_test(test_failed_commit_names_every_item),
        cmocka_unit_test(test_ranges_split_and_cover),
        cmocka_unit_test(test_values_escaped_never_a_person),
        cmocka_unit_test(test_detail_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
