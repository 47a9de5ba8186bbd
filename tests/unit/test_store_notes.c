/*
 * Unit tests of storage's notes (storage/notes.c) on a real LMDB in a temporary
 * directory: versions per key, the latest answered in order, the judged light kept
 * when a version does not give one, the registry checks, filters, reopening.
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

#include "fixture_store.h"

static int setup(void **state)
{
    struct store_fx *f = fixture_store_new("wmnotes");
    struct store_item it;

    memset(&it, 0, sizeof it);
    it.op = STORE_OP_PROJECT;
    strcpy(it.u.project.name, "zorgstart");
    strcpy(it.u.project.category, "scholingsprojecten");
    it.u.project.start = it.u.project.end = WM_DATE_NONE;
    it.u.project.target[0] = it.u.project.target[1] = it.u.project.target[2] = -1;
    it.u.project.set_mask = WM_PSET_CATEGORY;
    assert_int_equal(store_apply(f->s, &it, 1), WM_OK);
    assert_int_equal(it.result, WM_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_store_free(*state);
    return 0;
}

/* Store one note; returns its item's result, the version in *version. */
static int put(struct store_fx *f, const char *period, const char *project, const char *category,
               int light, const char *text, uint64_t *version)
{
    struct store_item it;
    int rc;

    memset(&it, 0, sizeof it);
    it.op = STORE_OP_NOTE;
    assert_int_equal(proto_period_parse(period, strlen(period), &it.u.note.period), WM_OK);
    snprintf(it.u.note.project, sizeof it.u.note.project, "%s", project);
    snprintf(it.u.note.category, sizeof it.u.note.category, "%s", category);
    it.u.note.light = (uint8_t)(light < 0 ? 0 : light);
    it.u.note.light_given = light >= 0;
    it.u.note.text = strdup(text);
    it.u.note.text_len = strlen(text);
    strcpy(it.u.note.principal, "beheer");
    it.u.note.time = 1636624800;
    assert_int_equal(store_apply(f->s, &it, 1), WM_OK);
    rc = it.result;
    if (version)
        *version = it.seq;
    store_item_release(&it);
    assert_null(it.u.note.text);
    return rc;
}

static void list(struct store_fx *f, const char *period, const char *project, const char *category,
                 struct store_note_list *l)
{
    struct wm_notes_query q;
    char err[256];

    memset(&q, 0, sizeof q);
    q.period = -1;
    if (period)
        assert_int_equal(proto_period_parse(period, strlen(period), &q.period), WM_OK);
    snprintf(q.project, sizeof q.project, "%s", project ? project : "");
    snprintf(q.category, sizeof q.category, "%s", category ? category : "");
    assert_int_equal(store_notes(f->s, &q, l, err, sizeof err), WM_OK);
}

static void test_versions_and_order(void **state)
{
    struct store_fx *f = *state;
    struct store_note_list l;
    uint64_t v = 0;

    assert_int_equal(put(f, "2021-H2", "zorgstart", "", WM_LIGHT_GREEN, "Goed", &v), WM_OK);
    assert_int_equal(v, 1);
    assert_int_equal(put(f, "2021-H2", "zorgstart", "", -1, "Beter", &v), WM_OK);
    assert_int_equal(v, 2);
    assert_int_equal(put(f, "2021-H2", "", "scholingsprojecten", WM_LIGHT_RED, "Cat", &v), WM_OK);
    assert_int_equal(v, 1);
    assert_int_equal(put(f, "2021-H2", "", "", -1, "Programma", &v), WM_OK);
    assert_int_equal(put(f, "2021-H1", "", "", WM_LIGHT_ORANGE, "Eerder", &v), WM_OK);
    assert_int_equal(v, 1);

    list(f, NULL, NULL, NULL, &l);
    assert_int_equal(l.n, 4);
    /* period, then category ("-" first), then project */
    assert_string_equal(l.v[0].text, "Eerder");
    assert_string_equal(l.v[1].text, "Programma");
    assert_string_equal(l.v[2].project, "zorgstart");
    assert_string_equal(l.v[2].text, "Beter");
    assert_int_equal(l.v[2].version, 2);
    /* no light given: the last version's judgement stays */
    assert_int_equal(l.v[2].light, WM_LIGHT_GREEN);
    assert_string_equal(l.v[2].principal, "beheer");
    assert_int_equal(l.v[2].time, 1636624800);
    assert_string_equal(l.v[3].category, "scholingsprojecten");
    assert_int_equal(l.v[3].light, WM_LIGHT_RED);
    store_note_list_free(&l);
    assert_int_equal(l.n, 0);

    list(f, "2021-H2", "zorgstart", NULL, &l);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].text, "Beter");
    store_note_list_free(&l);
    list(f, "2021-H2", NULL, "scholingsprojecten", &l);
    assert_int_equal(l.n, 1);
    store_note_list_free(&l);
    list(f, "2022-H1", NULL, NULL, &l);
    assert_int_equal(l.n, 0);
    store_note_list_free(&l);

    /* light none clears; versions survive reopening */
    assert_int_equal(put(f, "2021-H2", "zorgstart", "", WM_LIGHT_NONE, "Zonder", &v), WM_OK);
    assert_int_equal(v, 3);
    store_close(f->s);
    assert_int_equal(fixture_store_open(f, 0, 0), WM_OK);
    list(f, "2021-H2", "zorgstart", NULL, &l);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].version, 3);
    assert_int_equal(l.v[0].light, WM_LIGHT_NONE);
    store_note_list_free(&l);
    assert_int_equal(put(f, "2021-H2", "zorgstart", "", -1, "Vier\nregels", &v), WM_OK);
    assert_int_equal(v, 4);
}

static void test_registry_checks(void **state)
{
    struct store_fx *f = *state;
    struct store_note_list l;

    assert_int_equal(put(f, "2021-H2", "nope", "", -1, "x", NULL), WM_EUNKNOWN_PROJECT);
    assert_int_equal(put(f, "2021-H2", "", "nope", -1, "x", NULL), WM_EINVALID);
    list(f, NULL, NULL, NULL, &l);
    assert_int_equal(l.n, 0);
    store_note_list_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_versions_and_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_checks, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
