/*
 * Unit tests of storage's write path on a real LMDB in a temporary directory: open,
 * reopen and schema version, seq assignment, DUP versus conflict, unknown projects,
 * retractions, REPLACE and the versions of an id (SHOW), CHECK, map growth, the registry
 * and PROJECTS, totals, stats and backup. Everything runs twice: the second time the
 * ids index's hashes collide (store_ids_hash_mask), so every lookup by id also meets
 * other ids' records and must tell them apart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "fixture_store.h"
#include "store_int.h" /* store_ids_hash_mask: the second run's forced collisions */

static int setup(void **state)
{
    *state = fixture_store_new("wmstore");
    return 0;
}

static int teardown(void **state)
{
    fixture_store_free(*state);
    return 0;
}

static void reopen(struct store_fx *f)
{
    store_close(f->s);
    f->s = NULL;
    assert_int_equal(fixture_store_open(f, 0, 0), WM_OK);
}

static struct store_item project_item(const char *name, const char *category)
{
    struct store_item it;

    memset(&it, 0, sizeof it);
    it.op = STORE_OP_PROJECT;
    snprintf(it.u.project.name, sizeof it.u.project.name, "%s", name);
    it.u.project.start = it.u.project.end = WM_DATE_NONE;
    it.u.project.target[0] = it.u.project.target[1] = it.u.project.target[2] = -1;
    if (category) {
        snprintf(it.u.project.category, sizeof it.u.project.category, "%s", category);
        it.u.project.set_mask = WM_PSET_CATEGORY;
    }
    return it;
}

static struct store_item event_item(const char *principal, const char *id, int type,
                                    const char *person, const char *project, int32_t date)
{
    struct store_item it;
    struct wm_event *ev = &it.u.event;

    memset(&it, 0, sizeof it);
    it.op = STORE_OP_EVENT;
    ev->type = (uint8_t)type;
    ev->date = date;
    ev->months = ev->hours = -1;
    snprintf(ev->id, sizeof ev->id, "%s", id);
    snprintf(ev->person, sizeof ev->person, "%s", person);
    snprintf(ev->gemeente, sizeof ev->gemeente, "hilversum");
    snprintf(ev->project, sizeof ev->project, "%s", project);
    snprintf(ev->principal, sizeof ev->principal, "%s", principal);
    return it;
}

static struct store_item retract_item(const char *principal, const char *id, const char *ref,
                                      uint64_t seq, int admin)
{
    struct store_item it;

    memset(&it, 0, sizeof it);
    it.op = STORE_OP_RETRACT;
    it.admin = (uint8_t)admin;
    snprintf(it.u.retract.id, sizeof it.u.retract.id, "%s", id);
    snprintf(it.u.retract.principal, sizeof it.u.retract.principal, "%s", principal);
    if (ref) {
        snprintf(it.u.retract.ref, sizeof it.u.retract.ref, "%s", ref);
    } else {
        it.u.retract.by_seq = 1;
        it.u.retract.ref_seq = seq;
    }
    return it;
}

static struct store_item replace_item(struct store_item ev);

static int32_t day(int y, int m, int d)
{
    return proto_date_from_ymd(y, m, d);
}

static void apply1(struct store_fx *f, struct store_item *it)
{
    assert_int_equal(store_apply(f->s, it, 1), WM_OK);
}

static void add_project(struct store_fx *f, const char *name)
{
    struct store_item it = project_item(name, "scholing");
    apply1(f, &it);
    assert_int_equal(it.result, WM_OK);
}

static uint64_t count_all(struct store_fx *f, int type)
{
    return fixture_count_all_time(f->s, type, 0);
}

static uint64_t count_persons(struct store_fx *f, int type)
{
    return fixture_count_all_time(f->s, type, 1);
}

static void test_open_reopen(void **state)
{
    struct store_fx *f = *state;
    struct store_item it[3];
    struct store_stats st;

    add_project(f, "zorgstart");
    it[0] = event_item("wsp", "e1", WM_TYPE_STARTED, "person-aaaa", "zorgstart", day(2021, 3, 4));
    it[1] = event_item("wsp", "e2", WM_TYPE_PLACED, "person-aaaa", "zorgstart", day(2021, 5, 1));
    it[2] = event_item("wsp", "e3", WM_TYPE_OUTFLOW, "person-bbbb", "", day(2021, 5, 2));
    assert_int_equal(store_apply(f->s, it, 3), WM_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(it[i].result, WM_OK);
        assert_int_equal(it[i].seq, (uint64_t)i + 1);
        assert_int_equal(it[i].dup, 0);
    }
    reopen(f);
    assert_int_equal(count_all(f, WM_TYPE_STARTED), 1);
    assert_int_equal(count_all(f, WM_TYPE_PLACED), 1);
    assert_int_equal(count_all(f, WM_TYPE_OUTFLOW), 1);
    /* the person layer was rebuilt from the events */
    assert_int_equal(count_persons(f, WM_TYPE_STARTED), 1);
    assert_int_equal(count_persons(f, WM_TYPE_OUTFLOW), 1);
    assert_int_equal(store_stats(f->s, &st), WM_OK);
    assert_int_equal(st.persons, 2);
    assert_int_equal(st.person_entries, 3);
    assert_true(st.memory_bytes > 0);
    assert_true(st.memory_cells >= 9); /* 3 events x year, month, day */
    assert_int_equal(st.events, 3);
    assert_int_equal(st.last_seq, 3);
    assert_true(st.db_bytes > 0);
    assert_true(st.map_bytes >= st.db_bytes);
    /* seq continues after a reopen, and a resent event is still a DUP */
    it[0] = event_item("wsp", "e4", WM_TYPE_STARTED, "person-cccc", "zorgstart", day(2021, 6, 1));
    it[1] = event_item("wsp", "e1", WM_TYPE_STARTED, "person-aaaa", "zorgstart", day(2021, 3, 4));
    assert_int_equal(store_apply(f->s, it, 2), WM_OK);
    assert_int_equal(it[0].seq, 4);
    assert_int_equal(it[1].dup, 1);
    assert_int_equal(it[1].seq, 1);
    assert_int_equal(count_persons(f, WM_TYPE_STARTED), 2);
}

/* Close the store and open its LMDB environment directly, to doctor it. */
static MDB_env *raw_env(struct store_fx *f)
{
    MDB_env *env;

    store_close(f->s);
    f->s = NULL;
    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 32);
    assert_int_equal(mdb_env_open(env, f->dir, 0, 0600), 0);
    return env;
}

/* Close the store and give it schema version ver, and a DBI named extra holding one
 * entry (unless NULL). */
static void set_schema(struct store_fx *f, uint32_t ver, const char *extra)
{
    MDB_env *env = raw_env(f);
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {6, "schema"}, v = {sizeof ver, &ver};

    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    if (extra) {
        assert_int_equal(mdb_dbi_open(txn, extra, MDB_CREATE, &dbi), 0);
        assert_int_equal(mdb_put(txn, dbi, &k, &k, 0), 0);
    }
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* Fill a doctored store's rollup DBI (created when missing) with cells of the kinds
 * given (key prefixes), as an older schema kept them. */
static void put_rollup_cells(struct store_fx *f, const uint8_t *kinds, int nkinds)
{
    MDB_env *env = raw_env(f);
    MDB_txn *txn;
    MDB_dbi dbi;

    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "rollup", MDB_CREATE, &dbi), 0);
    for (int j = 0; j < nkinds; j++)
        for (uint8_t i = 0; i < 3; i++) {
            uint8_t kb[2] = {kinds[j], i};
            uint64_t one = 1;
            MDB_val rk = {sizeof kb, kb}, rv = {sizeof one, &one};
            assert_int_equal(mdb_put(txn, dbi, &rk, &rv, 0), 0);
        }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* Open the doctored store: it answers from the events, and is now of this schema
 * without the DBIs whose content is in memory. */
static void check_upgraded(struct store_fx *f)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k, v;
    uint32_t ver;

    assert_int_equal(fixture_store_open(f, 0, 0), WM_OK);
    assert_int_equal(count_persons(f, WM_TYPE_STARTED), 2);
    assert_int_equal(count_all(f, WM_TYPE_STARTED), 2);
    env = raw_env(f);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "pidx", 0, &dbi), MDB_NOTFOUND);
    assert_int_equal(mdb_dbi_open(txn, "rollup", 0, &dbi), MDB_NOTFOUND);
    k.mv_size = 6;
    k.mv_data = "schema";
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
    assert_int_equal(v.mv_size, sizeof ver);
    memcpy(&ver, v.mv_data, sizeof ver);
    assert_int_equal(ver, STORE_SCHEMA_VERSION);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    assert_int_equal(fixture_store_open(f, 0, 0), WM_OK);
    assert_int_equal(count_all(f, WM_TYPE_STARTED), 2);
}

/* A schema 1 store (person DBIs in LMDB, a rollup DBI with every kind of cell) opens
 * as this schema: the DBIs are dropped and the memory part is rebuilt from the
 * events. */
static void test_schema_upgrade(void **state)
{
    static const uint8_t kinds[4] = {0, 1, 4, 5};
    struct store_fx *f = *state;
    struct store_item it[2];

    add_project(f, "zorgstart");
    it[0] = event_item("wsp", "u1", WM_TYPE_STARTED, "person-aaaa", "zorgstart", day(2021, 3, 4));
    it[1] = event_item("wsp", "u2", WM_TYPE_STARTED, "person-bbbb", "zorgstart", day(2021, 3, 5));
    assert_int_equal(store_apply(f->s, it, 2), WM_OK);
    set_schema(f, 1, "pidx");
    /* schema 1's day (kind 0), VEC (1), full (4) and PROGRESS (5) cells */
    put_rollup_cells(f, kinds, 4);
    check_upgraded(f);
}

/* A schema 2 store (the year and month VEC cells in a rollup DBI) opens as this
 * schema: the rollup DBI is dropped, the VEC cells are rebuilt in memory. */
static void test_schema_upgrade_2(void **state)
{
    static const uint8_t kinds[1] = {1};
    struct store_fx *f = *state;
    struct store_item it[2];

    add_project(f, "zorgstart");
    it[0] = event_item("wsp", "u1", WM_TYPE_STARTED, "person-aaaa", "zorgstart", day(2021, 3, 4));
    it[1] = event_item("wsp", "u2", WM_TYPE_STARTED, "person-bbbb", "zorgstart", day(2022, 7, 5));
    assert_int_equal(store_apply(f->s, it, 2), WM_OK);
    set_schema(f, 2, NULL);
    put_rollup_cells(f, kinds, 1);
    check_upgraded(f);
}

/* A schema 3 store (the ids index in a DBI ids, no hash key) opens as this schema: the
 * DBI is dropped, the store gets a key, and the index is rebuilt from the records: a
 * resent event is still a DUP, a changed one a conflict, a REPLACE's latest version
 * still the one the id names. */
static void test_schema_upgrade_3(void **state)
{
    struct store_fx *f = *state;
    struct store_item it[4];
    struct store_show r;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {5, "idkey"}, v;
    char err[256];

    add_project(f, "zorgstart");
    it[0] = event_item("wsp", "u1", WM_TYPE_STARTED, "person-aaaa", "zorgstart", day(2021, 3, 4));
    it[1] = event_item("wsp", "u2", WM_TYPE_STARTED, "person-bbbb", "zorgstart", day(2022, 7, 5));
    it[2] = replace_item(it[1]);
    it[2].u.event.date = day(2022, 7, 6);
    assert_int_equal(store_apply(f->s, it, 3), WM_OK);
    assert_int_equal(it[2].seq, 4); /* the retraction of seq 2 at 3 */
    set_schema(f, 3, "ids");
    env = raw_env(f);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    check_upgraded(f);
    env = raw_env(f);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "ids", 0, &dbi), MDB_NOTFOUND);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
    assert_int_equal(v.mv_size, 16);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    assert_int_equal(fixture_store_open(f, 0, 0), WM_OK);
    it[0] = event_item("wsp", "u1", WM_TYPE_STARTED, "person-aaaa", "zorgstart", day(2021, 3, 4));
    it[1] = event_item("wsp", "u1", WM_TYPE_STARTED, "person-cccc", "zorgstart", day(2021, 3, 4));
    it[2] = event_item("wsp", "u2", WM_TYPE_STARTED, "person-bbbb", "zorgstart", day(2022, 7, 6));
    it[2] = replace_item(it[2]);
    it[3] = event_item("wsp", "u2", WM_TYPE_STARTED, "person-bbbb", "zorgstart", day(2022, 7, 5));
    assert_int_equal(store_apply(f->s, it, 4), WM_OK);
    assert_int_equal(it[0].dup, 1);
    assert_int_equal(it[0].seq, 2 - 1);
    assert_int_equal(it[1].result, WM_ECONFLICT);
    assert_int_equal(it[2].dup, 1);
    assert_int_equal(it[2].seq, 4);
    assert_int_equal(it[3].result, WM_ECONFLICT);
    store_show_init(&r);
    assert_int_equal(store_show(f->s, "wsp", "u2", 0, &r, err, sizeof err), WM_OK);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.v[0].ev.seq, 2);
    assert_int_equal(r.v[1].ev.seq, 4);
    store_show_free(&r);
}

/* The ids index through one batch and a reopen: a new id, its resend in the same
 * batch (DUP), a REPLACE, the old version again (conflict), a retraction by ref and its
 * resend, an event of a retracted id; SHOW and CHECK read the same index. */
static void test_ids_index(void **state)
{
    struct store_fx *f = *state;
    struct store_item it[8];
    struct store_show r;
    char err[256];

    add_project(f, "zorgstart");
    for (int round = 0; round < 2; round++) {
        it[0] =
            event_item("wsp", "a", WM_TYPE_STARTED, "person-aaaa", "zorgstart", day(2021, 1, 4));
        it[1] = it[0];
        it[2] = replace_item(it[0]);
        it[2].u.event.date = day(2021, 1, 5);
        it[3] = it[0];
        it[4] = event_item("wsp", "b", WM_TYPE_OUTFLOW, "person-bbbb", "", day(2021, 2, 1));
        it[5] = retract_item("wsp", "r1", "b", 0, 0);
        it[6] = it[4];
        it[7] = it[5];
        assert_int_equal(store_apply(f->s, it, 8), WM_OK);
        if (round == 0) {
            assert_int_equal(it[0].seq, 1);
            assert_int_equal(it[0].dup, 0);
            assert_int_equal(it[1].dup, 1);
            assert_int_equal(it[1].seq, 1);
            assert_int_equal(it[2].seq, 3);
            assert_int_equal(it[2].replaced, 1);
            assert_int_equal(it[4].seq, 4);
            assert_int_equal(it[5].seq, 5);
            assert_int_equal(it[5].dup, 0);
        } else {
            /* after the reopen, the first version is no longer the id's */
            assert_int_equal(it[0].result, WM_ECONFLICT);
            assert_int_equal(it[1].result, WM_ECONFLICT);
            assert_int_equal(it[2].dup, 1);
            assert_int_equal(it[2].seq, 3);
            assert_int_equal(it[4].result, WM_ECONFLICT);
            assert_int_equal(it[5].dup, 1);
            assert_int_equal(it[5].seq, 5);
        }
        assert_int_equal(it[3].result, WM_ECONFLICT);
        assert_non_null(strstr(it[3].err, "seq 3"));
        assert_int_equal(it[6].result, WM_ECONFLICT);
        assert_non_null(strstr(it[6].err, "was retracted"));
        assert_int_equal(it[7].dup, 1);
        assert_int_equal(it[7].seq, 5);
        store_show_init(&r);
        assert_int_equal(store_show(f->s, "wsp", "a", 0, &r, err, sizeof err), WM_OK);
        assert_int_equal(r.n, 2);
        assert_int_equal(r.v[1].ev.seq, 3);
        assert_int_equal(store_show(f->s, "wsp", "b", 0, &r, err, sizeof err), WM_OK);
        assert_int_equal(r.n, 1);
        assert_int_equal(r.v[0].retracted_by, 5);
        assert_int_equal(store_show(f->s, "wsp", "r1", 0, &r, err, sizeof err), WM_ENOT_FOUND);
        assert_int_equal(store_show(f->s, "other", "a", 0, &r, err, sizeof err), WM_ENOT_FOUND);
        store_show_free(&r);
        assert_int_equal(store_check(f->s, &it[2].u.event, err, sizeof err), WM_OK);
        assert_int_equal(store_check(f->s, &it[0].u.event, err, sizeof err), WM_ECONFLICT);
        reopen(f);
    }
}

static void test_schema_version(void **state)
{
    struct store_fx *f = *state;
    char err[256];
    struct store_options o = {0};
    struct store *s2 = NULL;

    set_schema(f, 99, NULL);

    o.dir = f->dir;
    assert_int_equal(store_open(&o, &s2, err, sizeof err), WM_EVERSION);
    assert_null(s2);
    assert_non_null(strstr(err, "schema version 99"));
    assert_int_equal(fixture_store_open(f, 0, 0), WM_EVERSION);
    f->s = NULL;
}

static void test_open_bad_dir(void **state)
{
    struct store_options o = {0};
    struct store *s2 = NULL;
    char err[256];

    (void)state;
    o.dir = "/proc/wm-no-such/dir";
    assert_int_equal(store_open(&o, &s2, err, sizeof err), WM_EIO);
    assert_null(s2);
    assert_non_null(strstr(err, "/proc/wm-no-such/dir"));
}

static void test_dup_conflict(void **state)
{
    struct store_fx *f = *state;
    struct store_item it[5];

    add_project(f, "zorgstart");
    it[0] = event_item("wsp", "x1", WM_TYPE_STARTED, "person-aaaa", "zorgstart", day(2021, 3, 4));
    /* the same event again in the same batch: DUP of the first */
    it[1] = it[0];
    /* same id, other content: conflict */
    it[2] = it[0];
    it[2].u.event.date = day(2021, 3, 5);
    /* same id under another principal: a different event */
    it[3] = it[0];
    snprintf(it[3].u.event.principal, sizeof it[3].u.event.principal, "huizen");
    it[4] = event_item("wsp", "x2", WM_TYPE_STARTED, "person-aaaa", "zorgstart", day(2021, 3, 4));
    assert_int_equal(store_apply(f->s, it, 5), WM_OK);
    assert_int_equal(it[0].result, WM_OK);
    assert_int_equal(it[0].seq, 1);
    assert_int_equal(it[1].result, WM_OK);
    assert_int_equal(it[1].dup, 1);
    assert_int_equal(it[1].seq, 1);
    assert_int_equal(it[2].result, WM_ECONFLICT);
    assert_non_null(strstr(it[2].err, "x1"));
    assert_non_null(strstr(it[2].err, "seq 1"));
    assert_int_equal(it[3].result, WM_OK);
    assert_int_equal(it[3].seq, 2);
    assert_int_equal(it[4].seq, 3);
    assert_int_equal(count_all(f, WM_TYPE_STARTED), 3);

    /* across a reopen */
    reopen(f);
    it[0] = event_item("wsp", "x1", WM_TYPE_STARTED, "person-aaaa", "zorgstart", day(2021, 3, 4));
    it[1] = event_item("wsp", "x1", WM_TYPE_STARTED, "person-bbbb", "zorgstart", day(2021, 3, 4));
    assert_int_equal(store_apply(f->s, it, 2), WM_OK);
    assert_int_equal(it[0].dup, 1);
    assert_int_equal(it[0].seq, 1);
    assert_int_equal(it[1].result, WM_ECONFLICT);
    assert_int_equal(count_all(f, WM_TYPE_STARTED), 3);
}

static void test_unknown_project(void **state)
{
    struct store_fx *f = *state;
    struct store_item it[3];
    struct store_stats st;

    it[0] = event_item("wsp", "u1", WM_TYPE_PLACED, "person-aaaa", "nope", day(2021, 3, 4));
    it[1] = project_item("nope", "wsp");
    /* the project created earlier in the same batch is seen by the item after it */
    it[2] = event_item("wsp", "u1", WM_TYPE_PLACED, "person-aaaa", "nope", day(2021, 3, 4));
    assert_int_equal(store_apply(f->s, it, 3), WM_OK);
    assert_int_equal(it[0].result, WM_EUNKNOWN_PROJECT);
    assert_string_equal(it[0].err, "unknown project 'nope'");
    assert_int_equal(it[1].result, WM_OK);
    assert_int_equal(it[2].result, WM_OK);
    /* a misspelt name: the nearest registered one is suggested (issue 12) */
    it[0] = event_item("wsp", "u2", WM_TYPE_PLACED, "person-aaaa", "nop", day(2021, 3, 4));
    it[1] = event_item("wsp", "u3", WM_TYPE_PLACED, "person-aaaa", "xyz", day(2021, 3, 4));
    assert_int_equal(store_apply(f->s, it, 2), WM_OK);
    assert_int_equal(it[0].result, WM_EUNKNOWN_PROJECT);
    assert_string_equal(it[0].err, "unknown project 'nop' (did you mean 'nope'?)");
    assert_string_equal(it[1].err, "unknown project 'xyz'");
    assert_int_equal(it[2].seq, 1);
    assert_int_equal(store_stats(f->s, &st), WM_OK);
    assert_int_equal(st.events, 1);
}

static void test_retract(void **state)
{
    struct store_fx *f = *state;
    struct store_item it[4];
    struct wm_totals t;
    struct store_stats st;

    add_project(f, "zorgstart");
    it[0] = event_item("wsp", "p1", WM_TYPE_PLACED, "person-aaaa", "zorgstart", day(2021, 3, 4));
    it[1] = event_item("wsp", "p2", WM_TYPE_PLACED, "person-aaaa", "zorgstart", day(2021, 4, 4));
    it[2] = event_item("wsp", "p3", WM_TYPE_PLACED, "person-bbbb", "zorgstart", day(2021, 4, 5));
    it[3] = event_item("huizen", "p1", WM_TYPE_PLACED, "person-cccc", "zorgstart", day(2021, 4, 6));
    assert_int_equal(store_apply(f->s, it, 4), WM_OK);
    assert_int_equal(store_totals(f->s, &t), WM_OK);
    assert_int_equal(t.placed, 4);
    assert_int_equal(t.placed_persons, 3);
    assert_int_equal(t.seq, 4);

    /* by ref: the caller's own event */
    it[0] = retract_item("wsp", "r1", "p1", 0, 0);
    apply1(f, &it[0]);
    assert_int_equal(it[0].result, WM_OK);
    assert_int_equal(it[0].seq, 5);
    assert_int_equal(count_all(f, WM_TYPE_PLACED), 3);
    assert_int_equal(store_totals(f->s, &t), WM_OK);
    assert_int_equal(t.placed, 3);
    assert_int_equal(t.placed_persons, 3);

    /* retry: DUP with the retraction's seq; same id, other reference: conflict */
    it[0] = retract_item("wsp", "r1", "p1", 0, 0);
    it[1] = retract_item("wsp", "r1", "p2", 0, 0);
    /* another retraction of an already retracted event: conflict */
    it[2] = retract_item("wsp", "r2", "p1", 0, 0);
    /* not found: unknown id, another principal's id, a retraction's id */
    it[3] = retract_item("wsp", "r3", "zzz", 0, 0);
    assert_int_equal(store_apply(f->s, it, 4), WM_OK);
    assert_int_equal(it[0].result, WM_OK);
    assert_int_equal(it[0].dup, 1);
    assert_int_equal(it[0].seq, 5);
    assert_int_equal(it[1].result, WM_ECONFLICT);
    assert_int_equal(it[2].result, WM_ECONFLICT);
    assert_non_null(strstr(it[2].err, "already retracted"));
    assert_int_equal(it[3].result, WM_ENOT_FOUND);

    it[0] = retract_item("huizen", "r4", "p2", 0, 0); /* huizen has no p2 */
    it[1] = retract_item("wsp", "r5", "r1", 0, 0);    /* r1 is a retraction */
    it[2] = retract_item("wsp", "r6", NULL, 4, 0);    /* by seq needs admin */
    it[3] = retract_item("admin", "r7", NULL, 5, 1);  /* seq 5 is a retraction */
    assert_int_equal(store_apply(f->s, it, 4), WM_OK);
    assert_int_equal(it[0].result, WM_ENOT_FOUND);
    assert_int_equal(it[1].result, WM_ENOT_FOUND);
    assert_int_equal(it[2].result, WM_EDENIED);
    assert_int_equal(it[3].result, WM_ENOT_FOUND);

    /* by seq (admin): any principal's event; then a retraction by seq is a DUP */
    it[0] = retract_item("admin", "r8", NULL, 4, 1);
    it[1] = retract_item("admin", "r8", NULL, 4, 1);
    it[2] = retract_item("admin", "r9", NULL, 99, 1);
    assert_int_equal(store_apply(f->s, it, 3), WM_OK);
    assert_int_equal(it[0].result, WM_OK);
    assert_int_equal(it[0].seq, 6);
    assert_int_equal(it[1].dup, 1);
    assert_int_equal(it[1].seq, 6);
    assert_int_equal(it[2].result, WM_ENOT_FOUND);
    assert_int_equal(store_totals(f->s, &t), WM_OK);
    assert_int_equal(t.placed, 2);
    assert_int_equal(t.placed_persons, 2);

    /* retract the last placement of person-bbbb: placed persons drop */
    it[0] = retract_item("wsp", "r10", "p3", 0, 0);
    it[1] = retract_item("wsp", "r11", "p2", 0, 0);
    assert_int_equal(store_apply(f->s, it, 2), WM_OK);
    assert_int_equal(store_totals(f->s, &t), WM_OK);
    assert_int_equal(t.placed, 0);
    assert_int_equal(t.placed_persons, 0);
    assert_int_equal(count_all(f, WM_TYPE_PLACED), 0);
    assert_int_equal(store_stats(f->s, &st), WM_OK);
    assert_int_equal(st.events, 4);
    assert_int_equal(st.retracted, 4);
    assert_int_equal(st.retractions, 4);
    assert_int_equal(st.last_seq, 8);

    /* an event id used by a retraction is a conflict for an event, and vice versa */
    it[0] = event_item("wsp", "r1", WM_TYPE_PLACED, "person-aaaa", "zorgstart", day(2021, 3, 4));
    it[1] = retract_item("wsp", "p3", "p2", 0, 0);
    assert_int_equal(store_apply(f->s, it, 2), WM_OK);
    assert_int_equal(it[0].result, WM_ECONFLICT);
    assert_int_equal(it[1].result, WM_ECONFLICT);
}

static struct store_item replace_item(struct store_item ev)
{
    ev.op = STORE_OP_REPLACE;
    return ev;
}

/* The versions of (principal, id) by SHOW: their seqs into seqs (at most max), the
 * count as the return value; each version's retraction and reason checked by caller. */
static size_t show_seqs(struct store_fx *f, const char *principal, const char *id, uint64_t by_seq,
                        struct store_show *r)
{
    char err[200];
    int rc = store_show(f->s, principal, id, by_seq, r, err, sizeof err);

    if (rc != WM_OK)
        return 0;
    for (size_t i = 0; i < r->n; i++)
        assert_string_equal(r->v[i].ev.person, "");
    return r->n;
}

static void test_replace(void **state)
{
    struct store_fx *f = *state;
    struct store_item it[6];
    struct wm_totals t;
    struct store_stats st;
    struct store_show r;

    add_project(f, "zorgstart");
    add_project(f, "taalwerkt");
    store_show_init(&r);
    /* no event with the id yet: stored as by EVENT */
    it[0] = replace_item(
        event_item("wsp", "t14", WM_TYPE_PLACED, "person-aaaa", "zorgstart", day(2021, 3, 4)));
    apply1(f, &it[0]);
    assert_int_equal(it[0].result, WM_OK);
    assert_int_equal(it[0].seq, 1);
    assert_int_equal(it[0].replaced, 0);
    assert_int_equal(it[0].dup, 0);

    /* identical and live: DUP; a different one: the old retracted (seq 2), the new at 3 */
    it[1] = it[0];
    it[2] = replace_item(
        event_item("wsp", "t14", WM_TYPE_PLACED, "person-bbbb", "taalwerkt", day(2021, 5, 4)));
    assert_int_equal(store_apply(f->s, it + 1, 2), WM_OK);
    assert_int_equal(it[1].result, WM_OK);
    assert_int_equal(it[1].dup, 1);
    assert_int_equal(it[1].seq, 1);
    assert_int_equal(it[2].result, WM_OK);
    assert_int_equal(it[2].dup, 0);
    assert_int_equal(it[2].seq, 3);
    assert_int_equal(it[2].replaced, 1);
    /* every figure follows: one placement, of person-bbbb */
    assert_int_equal(count_all(f, WM_TYPE_PLACED), 1);
    assert_int_equal(store_totals(f->s, &t), WM_OK);
    assert_int_equal(t.placed, 1);
    assert_int_equal(t.placed_persons, 1);
    assert_int_equal(t.seq, 3);

    /* EVENT of the old content is a conflict now; of the new one a DUP of 3 */
    it[0] = event_item("wsp", "t14", WM_TYPE_PLACED, "person-aaaa", "zorgstart", day(2021, 3, 4));
    it[1] = event_item("wsp", "t14", WM_TYPE_PLACED, "person-bbbb", "taalwerkt", day(2021, 5, 4));
    assert_int_equal(store_apply(f->s, it, 2), WM_OK);
    assert_int_equal(it[0].result, WM_ECONFLICT);
    assert_non_null(strstr(it[0].err, "seq 3"));
    assert_int_equal(it[1].dup, 1);
    assert_int_equal(it[1].seq, 3);

    /* retracted by RETRACT: EVENT conflicts, naming the retraction; REPLACE stores it
     * again without a second retraction */
    it[0] = retract_item("wsp", "r1", "t14", 0, 0);
    it[1] = event_item("wsp", "t14", WM_TYPE_PLACED, "person-bbbb", "taalwerkt", day(2021, 5, 4));
    it[2] = replace_item(it[1]);
    it[3] = it[2];
    assert_int_equal(store_apply(f->s, it, 4), WM_OK);
    assert_int_equal(it[0].seq, 4);
    assert_int_equal(it[1].result, WM_ECONFLICT);
    assert_non_null(strstr(it[1].err, "was retracted (seq 4); send REPLACE"));
    assert_int_equal(it[2].result, WM_OK);
    assert_int_equal(it[2].seq, 5);
    assert_int_equal(it[2].replaced, 3);
    assert_int_equal(it[3].dup, 1);
    assert_int_equal(it[3].seq, 5);
    assert_int_equal(count_all(f, WM_TYPE_PLACED), 1);

    /* an id used by a retraction, an unknown project: the item's error, nothing stored */
    it[0] = replace_item(
        event_item("wsp", "r1", WM_TYPE_PLACED, "person-bbbb", "taalwerkt", day(2021, 5, 4)));
    it[1] = replace_item(
        event_item("wsp", "t14", WM_TYPE_PLACED, "person-bbbb", "nope", day(2021, 5, 4)));
    assert_int_equal(store_apply(f->s, it, 2), WM_OK);
    assert_int_equal(it[0].result, WM_ECONFLICT);
    assert_non_null(strstr(it[0].err, "retraction"));
    assert_int_equal(it[1].result, WM_EUNKNOWN_PROJECT);
    assert_int_equal(store_stats(f->s, &st), WM_OK);
    assert_int_equal(st.last_seq, 5);
    assert_int_equal(st.events, 3);
    assert_int_equal(st.retracted, 2);
    assert_int_equal(st.retractions, 2);

    /* SHOW: the chain, oldest first, each version's retraction and reason */
    assert_int_equal(show_seqs(f, "wsp", "t14", 0, &r), 3);
    assert_int_equal(r.v[0].ev.seq, 1);
    assert_int_equal(r.v[0].ev.replaces, 0);
    assert_int_equal(r.v[0].retracted_by, 2);
    assert_string_equal(r.v[0].reason, "replaced");
    assert_string_equal(r.v[0].ev.project, "zorgstart");
    assert_int_equal(r.v[1].ev.seq, 3);
    assert_int_equal(r.v[1].ev.replaces, 1);
    assert_int_equal(r.v[1].retracted_by, 4);
    assert_int_equal(r.v[2].ev.seq, 5);
    assert_int_equal(r.v[2].ev.replaces, 3);
    assert_int_equal(r.v[2].retracted_by, 0);

    /* across a reopen (the memory part rebuilt from the records): the same */
    reopen(f);
    assert_int_equal(count_all(f, WM_TYPE_PLACED), 1);
    assert_int_equal(count_persons(f, WM_TYPE_PLACED), 1);
    assert_int_equal(show_seqs(f, "wsp", "t14", 0, &r), 3);
    assert_int_equal(r.v[2].ev.seq, 5);
    it[0] = replace_item(
        event_item("wsp", "t14", WM_TYPE_PLACED, "person-cccc", "zorgstart", day(2021, 6, 4)));
    apply1(f, &it[0]);
    assert_int_equal(it[0].seq, 7);
    assert_int_equal(it[0].replaced, 5);
    assert_int_equal(count_all(f, WM_TYPE_PLACED), 1);
    assert_int_equal(store_totals(f->s, &t), WM_OK);
    assert_int_equal(t.placed_persons, 1);
    store_show_free(&r);
}

static void test_show(void **state)
{
    struct store_fx *f = *state;
    struct store_item it[3];
    struct store_show r;
    char err[200];

    add_project(f, "zorgstart");
    store_show_init(&r);
    it[0] = event_item("wsp", "s1", WM_TYPE_STARTED, "person-aaaa", "zorgstart", day(2021, 3, 4));
    it[1] =
        event_item("huizen", "s1", WM_TYPE_STARTED, "person-bbbb", "zorgstart", day(2021, 3, 5));
    it[2] = retract_item("wsp", "r1", "s1", 0, 0);
    assert_int_equal(store_apply(f->s, it, 3), WM_OK);

    /* one version, retracted by a RETRACT without reason; ids are per principal */
    assert_int_equal(show_seqs(f, "wsp", "s1", 0, &r), 1);
    assert_int_equal(r.v[0].retracted_by, 3);
    assert_string_equal(r.v[0].reason, "");
    assert_string_equal(r.v[0].ev.principal, "wsp");
    assert_int_equal(show_seqs(f, "huizen", "s1", 0, &r), 1);
    assert_int_equal(r.v[0].ev.seq, 2);
    assert_int_equal(r.v[0].ev.date, day(2021, 3, 5));
    /* by seq: the id of whoever's event it is */
    assert_int_equal(show_seqs(f, "", "", 2, &r), 1);
    assert_string_equal(r.v[0].ev.principal, "huizen");

    /* not found: unknown id, another principal's, a retraction's id or seq, no seq */
    assert_int_equal(store_show(f->s, "wsp", "zz", 0, &r, err, sizeof err), WM_ENOT_FOUND);
    assert_non_null(strstr(err, "zz"));
    assert_int_equal(r.n, 0);
    assert_int_equal(store_show(f->s, "other", "s1", 0, &r, err, sizeof err), WM_ENOT_FOUND);
    assert_int_equal(store_show(f->s, "wsp", "r1", 0, &r, err, sizeof err), WM_ENOT_FOUND);
    assert_non_null(strstr(err, "retraction"));
    assert_int_equal(store_show(f->s, "", "", 3, &r, err, sizeof err), WM_ENOT_FOUND);
    assert_non_null(strstr(err, "retraction"));
    assert_int_equal(store_show(f->s, "", "", 99, &r, err, sizeof err), WM_ENOT_FOUND);
    assert_non_null(strstr(err, "99"));
    store_show_free(&r);
}

static void test_check(void **state)
{
    struct store_fx *f = *state;
    struct store_item it[2];
    struct store_stats st;
    struct wm_event ev;
    char err[200];

    add_project(f, "zorgstart");
    it[0] = event_item("wsp", "c1", WM_TYPE_STARTED, "person-aaaa", "zorgstart", day(2021, 3, 4));
    it[1] = event_item("wsp", "c2", WM_TYPE_STARTED, "person-aaaa", "zorgstart", day(2021, 3, 4));
    assert_int_equal(store_apply(f->s, it, 2), WM_OK);
    it[0] = retract_item("wsp", "r1", "c2", 0, 0);
    apply1(f, &it[0]);

    /* a new id, a resend of a live event, another principal's id: OK */
    ev = event_item("wsp", "c9", WM_TYPE_STARTED, "person-aaaa", "zorgstart", day(2021, 3, 4))
             .u.event;
    assert_int_equal(store_check(f->s, &ev, err, sizeof err), WM_OK);
    ev = event_item("wsp", "c1", WM_TYPE_STARTED, "person-aaaa", "zorgstart", day(2021, 3, 4))
             .u.event;
    assert_int_equal(store_check(f->s, &ev, err, sizeof err), WM_OK);
    snprintf(ev.principal, sizeof ev.principal, "huizen");
    ev.date = day(2021, 3, 9);
    assert_int_equal(store_check(f->s, &ev, err, sizeof err), WM_OK);
    /* what EVENT would refuse, with its words */
    snprintf(ev.principal, sizeof ev.principal, "wsp");
    assert_int_equal(store_check(f->s, &ev, err, sizeof err), WM_ECONFLICT);
    assert_non_null(strstr(err, "different event (seq 1)"));
    ev = event_item("wsp", "c2", WM_TYPE_STARTED, "person-aaaa", "zorgstart", day(2021, 3, 4))
             .u.event;
    assert_int_equal(store_check(f->s, &ev, err, sizeof err), WM_ECONFLICT);
    assert_non_null(strstr(err, "was retracted (seq 3)"));
    ev = event_item("wsp", "r1", WM_TYPE_STARTED, "person-aaaa", "zorgstart", day(2021, 3, 4))
             .u.event;
    assert_int_equal(store_check(f->s, &ev, err, sizeof err), WM_ECONFLICT);
    ev = event_item("wsp", "c9", WM_TYPE_STARTED, "person-aaaa", "nope", day(2021, 3, 4)).u.event;
    assert_int_equal(store_check(f->s, &ev, err, sizeof err), WM_EUNKNOWN_PROJECT);
    assert_string_equal(err, "unknown project 'nope'");
    snprintf(ev.project, sizeof ev.project, "zorgstrat");
    assert_int_equal(store_check(f->s, &ev, err, sizeof err), WM_EUNKNOWN_PROJECT);
    assert_string_equal(err, "unknown project 'zorgstrat' (did you mean 'zorgstart'?)");
    /* and nothing was stored */
    assert_int_equal(store_stats(f->s, &st), WM_OK);
    assert_int_equal(st.last_seq, 3);
    assert_int_equal(st.events, 2);
}

static void test_map_growth(void **state)
{
    struct store_fx *f = *state;
    struct store_item *it = calloc(500, sizeof *it);
    struct store_stats st;
    char id[32], person[32];

    store_close(f->s);
    f->s = NULL;
    fixture_rm_tree(f->dir);
    assert_int_equal(fixture_store_open(f, 64 << 10, 0), WM_OK);
    add_project(f, "zorgstart");
    for (int b = 0; b < 8; b++) {
        for (int i = 0; i < 500; i++) {
            int n = b * 500 + i;
            snprintf(id, sizeof id, "g%d", n);
            snprintf(person, sizeof person, "person-%05d", n % 900);
            it[i] = event_item("wsp", id, n % 4, person, n % 4 == 3 ? "" : "zorgstart",
                               day(2020, 1, 1) + n % 700);
            if (n % 4 == 1)
                it[i].u.event.enums[0] = (uint8_t)(n % 4);
            if (n % 4 == 2)
                it[i].u.event.enums[2] = (uint8_t)(n % 3);
        }
        assert_int_equal(store_apply(f->s, it, 500), WM_OK);
        for (int i = 0; i < 500; i++) {
            assert_int_equal(it[i].result, WM_OK);
            assert_int_equal(it[i].seq, (uint64_t)b * 500 + i + 1);
        }
    }
    assert_int_equal(store_stats(f->s, &st), WM_OK);
    assert_int_equal(st.events, 4000);
    assert_true(st.map_grows > 0);
    assert_true(st.map_bytes > 64 << 10);
    assert_int_equal(count_all(f, WM_TYPE_STARTED), 1000);
    free(it);
}

static void test_map_limit(void **state)
{
    struct store_fx *f = *state;
    struct store_item *it = calloc(2000, sizeof *it);
    struct store_stats st;
    char id[32];

    store_close(f->s);
    f->s = NULL;
    fixture_rm_tree(f->dir);
    assert_int_equal(fixture_store_open(f, 64 << 10, 256 << 10), WM_OK);
    add_project(f, "zorgstart");
    for (int i = 0; i < 2000; i++) {
        snprintf(id, sizeof id, "m%d", i);
        it[i] =
            event_item("wsp", id, WM_TYPE_STARTED, "person-aaaa", "zorgstart", day(2020, 1, 1) + i);
    }
    assert_int_equal(store_apply(f->s, it, 2000), WM_EMAPFULL);
    for (int i = 0; i < 2000; i++) {
        assert_int_equal(it[i].result, WM_ESTORAGE);
        assert_int_equal(it[i].seq, 0);
    }
    assert_non_null(strstr(it[0].err, "nothing was written"));
    /* nothing was written, the person layer was rolled back, and the store works */
    assert_int_equal(store_stats(f->s, &st), WM_OK);
    assert_int_equal(st.events, 0);
    assert_int_equal(st.person_entries, 0);
    assert_int_equal(count_persons(f, WM_TYPE_STARTED), 0);
    assert_int_equal(store_apply(f->s, it, 1), WM_OK);
    assert_int_equal(it[0].result, WM_OK);
    assert_int_equal(it[0].seq, 1);
    assert_int_equal(count_persons(f, WM_TYPE_STARTED), 1);
    assert_int_equal(store_stats(f->s, &st), WM_OK);
    assert_int_equal(st.person_entries, 1);
    free(it);
}

static void test_projects(void **state)
{
    struct store_fx *f = *state;
    struct store_item it[4];
    struct wm_projects_result r;
    char err[200];

    it[0] = project_item("zorgstart", NULL); /* no category on create */
    it[1] = project_item("zorgstart", "scholing");
    it[1].u.project.start = day(2020, 1, 1);
    it[1].u.project.target[2] = 36;
    snprintf(it[1].u.project.title, sizeof it[1].u.project.title, "Zorg Start 100%%");
    it[1].u.project.set_mask |= WM_PSET_START | WM_PSET_TARGET_PLACED | WM_PSET_TITLE;
    it[2] = project_item("ggz", "begeleiding");
    it[2].u.project.scope = WM_SCOPE_LOCAL;
    it[2].u.project.set_mask |= WM_PSET_SCOPE;
    memset(&it[3], 0, sizeof it[3]);
    it[3].op = STORE_OP_PROGRAM;
    snprintf(it[3].u.project.name, sizeof it[3].u.project.name, "*");
    it[3].u.project.start = day(2020, 1, 1);
    it[3].u.project.end = day(2023, 12, 31);
    it[3].u.project.target[0] = 1200;
    it[3].u.project.set_mask = WM_PSET_START | WM_PSET_END | WM_PSET_TARGET_STARTED;
    assert_int_equal(store_apply(f->s, it, 4), WM_OK);
    assert_int_equal(it[0].result, WM_EINVALID);
    assert_string_equal(it[0].err, "missing field category for new project zorgstart");
    assert_int_equal(it[1].result, WM_OK);
    assert_int_equal(it[2].result, WM_OK);
    assert_int_equal(it[3].result, WM_OK);

    /* an update changes only the fields given */
    it[0] = project_item("zorgstart", NULL);
    it[0].u.project.end = day(2022, 12, 31);
    it[0].u.project.set_mask = WM_PSET_END;
    /* an update that would put start after end is refused */
    it[1] = project_item("ggz", NULL);
    it[1].u.project.start = day(2024, 1, 1);
    it[1].u.project.end = day(2021, 1, 1);
    it[1].u.project.set_mask = WM_PSET_END;
    it[2] = project_item("ggz", NULL);
    it[2].u.project.start = day(2024, 1, 1);
    it[2].u.project.set_mask = WM_PSET_START;
    assert_int_equal(store_apply(f->s, it, 3), WM_OK);
    assert_int_equal(it[0].result, WM_OK);
    assert_int_equal(it[1].result, WM_OK);
    assert_int_equal(it[2].result, WM_EINVALID);

    reopen(f);
    proto_projects_result_init(&r);
    assert_int_equal(store_projects(f->s, &r, err, sizeof err), WM_OK);
    assert_int_equal(r.n, 3);
    /* by name, then the program; unset values as unset */
    assert_string_equal(r.projects[0].name, "ggz");
    assert_string_equal(r.projects[0].category, "begeleiding");
    assert_int_equal(r.projects[0].scope, WM_SCOPE_LOCAL);
    assert_int_equal(r.projects[0].start, WM_DATE_NONE);
    assert_int_equal(r.projects[0].end, day(2021, 1, 1));
    assert_int_equal(r.projects[0].target[0], -1);
    assert_string_equal(r.projects[0].title, "");
    assert_string_equal(r.projects[1].name, "zorgstart");
    assert_int_equal(r.projects[1].scope, WM_SCOPE_REGIONAL);
    assert_int_equal(r.projects[1].start, day(2020, 1, 1));
    assert_int_equal(r.projects[1].end, day(2022, 12, 31));
    assert_int_equal(r.projects[1].target[1], -1);
    assert_int_equal(r.projects[1].target[2], 36);
    assert_string_equal(r.projects[1].title, "Zorg Start 100%");
    assert_string_equal(r.projects[2].name, "*");
    assert_int_equal(r.projects[2].start, day(2020, 1, 1));
    assert_int_equal(r.projects[2].end, day(2023, 12, 31));
    assert_int_equal(r.projects[2].target[0], 1200);
    assert_int_equal(r.projects[2].target[2], -1);
    proto_projects_result_free(&r);
}

static void test_backup(void **state)
{
    struct store_fx *f = *state;
    struct store_item it[2];
    struct store_backup_info info;
    struct store_fx g;
    char err[256];

    memset(&g, 0, sizeof g);
    add_project(f, "zorgstart");
    it[0] = event_item("wsp", "b1", WM_TYPE_STARTED, "person-aaaa", "zorgstart", day(2021, 3, 4));
    it[1] = event_item("wsp", "b2", WM_TYPE_STARTED, "person-bbbb", "zorgstart", day(2021, 3, 5));
    assert_int_equal(store_apply(f->s, it, 2), WM_OK);
    assert_true(strlen(f->dir) < 64);
    snprintf(g.dir, sizeof g.dir, "%.64s/backup", f->dir);
    assert_int_equal(store_backup(f->s, g.dir, &info, err, sizeof err), WM_OK);
    assert_int_equal(info.last_seq, 2);
    assert_int_equal(info.events, 2);
    assert_true(info.bytes > 0);
    /* a second backup into the same place is refused rather than overwriting */
    assert_int_equal(store_backup(f->s, g.dir, &info, err, sizeof err), WM_EIO);
    assert_int_equal(fixture_store_open(&g, 0, 0), WM_OK);
    assert_int_equal(count_all(&g, WM_TYPE_STARTED), 2);
    store_close(g.s);
}

/* docs/BUGS.md #3: a retraction's person was kept as a pointer into the memory part's
 * queue of changes, which a later change of the same batch reallocated when it grew
 * (past 1024 changes): the memory part's thread then read freed memory. */
static void test_regression_retraction_then_queue_growth(void **state)
{
    struct store_fx *f = *state;
    struct store_item *it = calloc(2001, sizeof *it);
    char id[32];

    assert_non_null(it);
    add_project(f, "zorgstart");
    it[0] =
        event_item("wsp", "q0", WM_TYPE_STARTED, "person-retracted", "zorgstart", day(2021, 3, 4));
    apply1(f, &it[0]);
    it[0] = retract_item("wsp", "q0-r", "q0", 0, 0);
    for (int i = 1; i <= 2000; i++) {
        snprintf(id, sizeof id, "q%d", i);
        it[i] = event_item("wsp", id, WM_TYPE_STARTED, "person-many", "zorgstart", day(2021, 3, 5));
    }
    assert_int_equal(store_apply(f->s, it, 2001), WM_OK);
    for (int i = 0; i <= 2000; i++)
        assert_int_equal(it[i].result, WM_OK);
    assert_int_equal(count_all(f, WM_TYPE_STARTED), 2000);
    assert_int_equal(count_persons(f, WM_TYPE_STARTED), 1);
    free(it);
}

struct reader_arg {
    struct store_fx *f;
    atomic_int stop; /* set by the main thread */
    uint64_t reads, last;
    int failed;
};

/* Read totals and counts until told to stop: they only grow while the writer appends. */
static void *reader_main(void *p)
{
    struct reader_arg *a = p;
    struct wm_count_query q;
    struct wm_count_result r;
    char err[200];

    memset(&q, 0, sizeof q);
    q.type = WM_TYPE_STARTED;
    q.from = INT32_MIN;
    q.to = INT32_MAX;
    q.nby = 1;
    q.by[0] = WM_DIM_MONTH;
    proto_count_result_init(&r);
    while (!a->stop) {
        struct wm_totals t;
        if (store_totals(a->f->s, &t) != WM_OK || t.started < a->last) {
            a->failed = 1;
            break;
        }
        a->last = t.started;
        if (store_count(a->f->s, &q, &r, err, sizeof err) != WM_OK) {
            a->failed = 1;
            break;
        }
        a->reads++;
    }
    proto_count_result_free(&r);
    return NULL;
}

/* Readers on other threads while the writer grows the map again and again: the resize
 * lock keeps mdb_env_set_mapsize away from live read transactions. */
static void test_grow_while_reading(void **state)
{
    struct store_fx *f = *state;
    struct store_item *it = calloc(300, sizeof *it);
    struct reader_arg a[2];
    pthread_t th[2];
    struct store_stats st;
    char id[32], person[32];

    store_close(f->s);
    f->s = NULL;
    fixture_rm_tree(f->dir);
    assert_int_equal(fixture_store_open(f, 64 << 10, 0), WM_OK);
    add_project(f, "zorgstart");
    memset(a, 0, sizeof a);
    for (int i = 0; i < 2; i++) {
        a[i].f = f;
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &a[i]), 0);
    }
    for (int b = 0; b < 20; b++) {
        for (int i = 0; i < 300; i++) {
            int n = b * 300 + i;
            snprintf(id, sizeof id, "c%d", n);
            snprintf(person, sizeof person, "person-%05d", n % 700);
            it[i] = event_item("wsp", id, WM_TYPE_STARTED, person, "zorgstart",
                               day(2020, 1, 1) + n % 900);
        }
        assert_int_equal(store_apply(f->s, it, 300), WM_OK);
    }
    for (int i = 0; i < 2; i++) {
        a[i].stop = 1;
        pthread_join(th[i], NULL);
        assert_false(a[i].failed);
        assert_true(a[i].reads > 0);
    }
    assert_int_equal(store_stats(f->s, &st), WM_OK);
    assert_true(st.map_grows >= 3);
    assert_int_equal(count_all(f, WM_TYPE_STARTED), 6000);
    free(it);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_version, setup, teardown),
        cmocka_unit_test(test_open_bad_dir),
        cmocka_unit_test_setup_teardown(test_dup_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_project, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retract, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_show, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_upgrade, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_upgrade_2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_upgrade_3, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ids_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_growth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grow_while_reading, setup, teardown),
        cmocka_unit_test_setup_teardown(test_projects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_regression_retraction_then_queue_growth, setup,
                                        teardown),
    };
    int failed = cmocka_run_group_tests_name("ids hashed", tests, NULL, NULL);

    /* 8 hashes for every id: the index's chains hold other ids' seqs */
    store_ids_hash_mask = 7;
    failed += cmocka_run_group_tests_name("ids colliding", tests, NULL, NULL);
    return failed;
}
