/*
 * Unit tests of storage's verify (and the read-only open it runs on) on a real LMDB in
 * a temporary directory: a consistent store verifies clean, live and after a rebuild;
 * each kind of damage (the memory part's cells, VEC cells, entries, lists and counts;
 * LMDB's indexes, counters and records) is reported as a difference naming it.
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

#include <lmdb.h>

#include "store_int.h"

struct fx {
    char dir[128];
    struct store *s;
    char lines[64][512]; /* the differences of the last verify */
    size_t nlines;
};

static int open_store(struct fx *f, unsigned flags)
{
    struct store_options o = {0};
    char err[256];

    o.dir = f->dir;
    o.flags = flags;
    o.gemeenten = proto_default_gemeenten;
    o.n_gemeenten = 8;
    return store_open(&o, &f->s, err, sizeof err);
}

static struct store_item item_project(const char *name, int local)
{
    struct store_item it;

    memset(&it, 0, sizeof it);
    it.op = STORE_OP_PROJECT;
    snprintf(it.u.project.name, sizeof it.u.project.name, "%s", name);
    snprintf(it.u.project.category, sizeof it.u.project.category, "scholing");
    it.u.project.scope = local ? WM_SCOPE_LOCAL : WM_SCOPE_REGIONAL;
    it.u.project.set_mask = WM_PSET_CATEGORY | WM_PSET_SCOPE;
    return it;
}

static struct store_item item_event(const char *id, int type, const char *person,
                                    const char *project, const char *gemeente, int32_t date,
                                    uint8_t enum0)
{
    struct store_item it;
    struct wm_event *ev = &it.u.event;

    memset(&it, 0, sizeof it);
    it.op = STORE_OP_EVENT;
    ev->type = (uint8_t)type;
    ev->date = date;
    ev->months = ev->hours = -1;
    ev->enums[0] = enum0;
    snprintf(ev->id, sizeof ev->id, "%s", id);
    snprintf(ev->person, sizeof ev->person, "%s", person);
    snprintf(ev->gemeente, sizeof ev->gemeente, "%s", gemeente);
    snprintf(ev->project, sizeof ev->project, "%s", project);
    snprintf(ev->principal, sizeof ev->principal, "wsp");
    return it;
}

static struct store_item item_retract(const char *id, const char *ref, uint64_t seq)
{
    struct store_item it;

    memset(&it, 0, sizeof it);
    it.op = STORE_OP_RETRACT;
    it.admin = 1;
    snprintf(it.u.retract.id, sizeof it.u.retract.id, "%s", id);
    snprintf(it.u.retract.principal, sizeof it.u.retract.principal, "wsp");
    if (ref)
        snprintf(it.u.retract.ref, sizeof it.u.retract.ref, "%s", ref);
    it.u.retract.by_seq = ref == NULL;
    it.u.retract.ref_seq = seq;
    return it;
}

/* A store with every kind of thing verify checks: two regional projects and a local
 * one, events of every type over two years, a person placed in two projects, a person
 * placed twice in one, retractions by ref and by seq. */
static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    struct store_item it[16];
    size_t n = 0;

    snprintf(f->dir, sizeof f->dir, "/tmp/wmverify-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(open_store(f, 0), WM_OK);
    it[n++] = item_project("zorgstart", 0);
    it[n++] = item_project("techniek", 0);
    it[n++] = item_project("huizen-werkt", 1);
    assert_int_equal(store_apply(f->s, it, n), WM_OK);
    n = 0;
    it[n++] = item_event("v1", WM_TYPE_STARTED, "person-aaaa", "zorgstart", "hilversum",
                         proto_date_from_ymd(2021, 3, 4), 1);
    it[n++] = item_event("v2", WM_TYPE_COMPLETED, "person-aaaa", "zorgstart", "hilversum",
                         proto_date_from_ymd(2021, 9, 30), 0);
    it[n++] = item_event("v3", WM_TYPE_PLACED, "person-aaaa", "zorgstart", "hilversum",
                         proto_date_from_ymd(2021, 10, 1), 0);
    it[n++] = item_event("v4", WM_TYPE_PLACED, "person-aaaa", "techniek", "hilversum",
                         proto_date_from_ymd(2022, 2, 1), 1);
    it[n++] = item_event("v5", WM_TYPE_PLACED, "person-bbbb", "huizen-werkt", "huizen",
                         proto_date_from_ymd(2022, 5, 1), 2);
    it[n++] = item_event("v6", WM_TYPE_PLACED, "person-bbbb", "zorgstart", "huizen",
                         proto_date_from_ymd(2022, 6, 1), 0);
    it[n++] = item_event("v7", WM_TYPE_PLACED, "person-bbbb", "zorgstart", "huizen",
                         proto_date_from_ymd(2022, 7, 1), 0);
    it[n++] = item_event("v8", WM_TYPE_OUTFLOW, "person-cccc", "", "laren",
                         proto_date_from_ymd(2022, 8, 1), 0);
    it[n++] = item_event("v9", WM_TYPE_STARTED, "person-cccc", "techniek", "laren",
                         proto_date_from_ymd(2022, 8, 2), 0);
    it[n++] = item_retract("r1", "v6", 0);
    it[n++] = item_retract("r2", NULL, 9);
    assert_int_equal(store_apply(f->s, it, n), WM_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(it[i].result, WM_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char path[256];

    store_close(f->s);
    snprintf(path, sizeof path, "%s/data.mdb", f->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", f->dir);
    unlink(path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void keep_line(void *arg, const char *line)
{
    struct fx *f = arg;

    if (f->nlines < 64)
        snprintf(f->lines[f->nlines++], sizeof f->lines[0], "%s", line);
}

/* Verify f's store; returns the differences found (their lines in f->lines). */
static uint64_t verify(struct fx *f, struct store_verify_result *res)
{
    struct store_verify_result r;
    char err[256];

    f->nlines = 0;
    assert_int_equal(store_verify(f->s, res ? res : &r, keep_line, f, 0, err, sizeof err), WM_OK);
    return (res ? res : &r)->differences;
}

/* 1 when a difference line holds every one of the (NULL-ended) fragments. */
static int reported(struct fx *f, ...)
{
    for (size_t i = 0; i < f->nlines; i++) {
        va_list ap;
        const char *frag;
        int all = 1;
        va_start(ap, f);
        while ((frag = va_arg(ap, const char *)) != NULL)
            all &= strstr(f->lines[i], frag) != NULL;
        va_end(ap);
        if (all)
            return 1;
    }
    for (size_t i = 0; i < f->nlines; i++)
        print_message("difference: %s\n", f->lines[i]);
    return 0;
}

/* Close the store and open it again with flags (a rebuild of the memory part, or
 * read-only). */
static void reopen(struct fx *f, unsigned flags)
{
    store_close(f->s);
    f->s = NULL;
    assert_int_equal(open_store(f, flags), WM_OK);
}

static void test_clean(void **state)
{
    struct fx *f = *state;
    struct store_verify_result res;

    /* the live memory part, as the batches left it */
    assert_int_equal(verify(f, &res), 0);
    assert_int_equal(res.last_seq, 11);
    assert_int_equal(res.records, 11);
    assert_int_equal(res.live, 7);
    assert_int_equal(res.persons, 3);
    assert_true(res.cells > 20);
    /* rebuilt at open */
    reopen(f, 0);
    assert_int_equal(verify(f, NULL), 0);
    /* read-only: its own memory part, built from the snapshot */
    reopen(f, STORE_OPEN_READONLY);
    assert_int_equal(store_schema(f->s), STORE_SCHEMA_VERSION);
    assert_int_equal(verify(f, &res), 0);
    assert_int_equal(res.live, 7);
}

/* The memory part changed behind verify's back: each change is one difference. */
static void test_memory_damage(void **state)
{
    struct fx *f = *state;
    struct store_people *pl = &f->s->people;
    struct store_mcell *c = NULL;
    struct store_vcell *vc = NULL;
    uint32_t pid;

    for (size_t i = 0; i < pl->roll.capcells && !c; i++)
        if (pl->roll.cells[i].used && pl->roll.cells[i].type == WM_TYPE_PLACED &&
            pl->roll.cells[i].gran == STORE_GRAN_DAY && pl->roll.cells[i].count == 1)
            c = &pl->roll.cells[i];
    assert_non_null(c);
    c->count = 5;
    assert_int_equal(verify(f, NULL), 1);
    assert_true(reported(f, "memory cell placed day", "5, the events give 1", NULL));
    c->count = 1;

    assert_int_equal(store_people_id(pl, "person-bbbb", 0, &pid), WM_OK);
    pl->persons.p[pid].e[0].count++;
    assert_int_equal(verify(f, NULL), 1);
    assert_true(reported(f, "the person of event 5 has 2 of placed", NULL));
    pl->persons.p[pid].e[0].count--;

    pl->persons.placed++;
    assert_int_equal(verify(f, NULL), 1);
    assert_true(reported(f, "placed persons is 3, the events give 2", NULL));
    pl->persons.placed--;

    /* the placed persons of a gemeente (WATCH by gemeente reads them) */
    {
        size_t g = 0;
        while (g < pl->persons.ngplaced && pl->persons.gplaced[g] == 0)
            g++;
        assert_true(g < pl->persons.ngplaced);
        pl->persons.gplaced[g]++;
        assert_int_equal(verify(f, NULL), 1);
        assert_true(reported(f, "placed persons, the events give", NULL));
        pl->persons.gplaced[g]--;
        assert_int_equal(verify(f, NULL), 0);
    }

    pl->persons.multi.n--; /* aaaa and bbbb are placed in two projects each */
    assert_int_equal(verify(f, NULL), 1);
    assert_true(reported(f, "lists 1 persons placed in several projects, the events give 2", NULL));
    pl->persons.multi.n++;

    /* a year VEC cell counts one more event */
    for (size_t i = 0; i < pl->roll.nvcells && !vc; i++)
        if (pl->roll.vcells[i].type == WM_TYPE_STARTED &&
            pl->roll.vcells[i].gran == STORE_GRAN_YEAR && pl->roll.vcells[i].unit == 2021 &&
            pl->roll.vec[pl->roll.vcells[i].off] == 1)
            vc = &pl->roll.vcells[i];
    assert_non_null(vc);
    pl->roll.vec[vc->off]++;
    assert_int_equal(verify(f, NULL), 1);
    assert_true(
        reported(f, "rollup cell started year 2021", "count is 2, the events give 1", NULL));
    pl->roll.vec[vc->off]--;
    assert_int_equal(verify(f, NULL), 0);

    /* the ids index: an id names another record, then an entry goes missing */
    {
        struct store_ids *t = &pl->ids;
        uint64_t h = store_ids_hash(t, "wsp", "v2"), seq;
        size_t pos;
        struct store_ids_slot *sl = NULL;
        for (seq = store_ids_first(t, h, &pos); seq; seq = store_ids_next(t, h, &pos))
            if (seq == 2)
                sl = &t->slots[(pos - 1) & (t->cap - 1)];
        assert_non_null(sl);
        sl->seq = 3;
        assert_int_equal(verify(f, NULL), 2);
        assert_true(reported(f, "ids index: record 2 (principal wsp, id 'v2') is missing", NULL));
        assert_true(reported(f, "an entry names seq 3", "not that id's latest record", NULL));
        sl->seq = 2;
        t->n++;
        assert_int_equal(verify(f, NULL), 1);
        assert_true(reported(f, "ids index: holds 12 entries, the records give 11", NULL));
        t->n--;
        assert_int_equal(verify(f, NULL), 0);
    }
}

/* The LMDB file changed below the store: a raw environment on the closed store. */
static MDB_env *raw_env(struct fx *f, MDB_txn **txn)
{
    MDB_env *env;

    store_close(f->s);
    f->s = NULL;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, f->dir, MDB_NOTLS, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, txn), 0);
    return env;
}

static void raw_done(struct fx *f, MDB_env *env, MDB_txn *txn)
{
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    assert_int_equal(open_store(f, STORE_OPEN_READONLY), WM_OK);
}

static void test_lmdb_damage(void **state)
{
    struct fx *f = *state;
    MDB_txn *txn;
    MDB_env *env = raw_env(f, &txn);
    MDB_dbi dbi;
    MDB_val k, v;
    uint8_t sk[8];
    struct store_counters c;

    /* the retracted index loses an entry */
    assert_int_equal(mdb_dbi_open(txn, "retracted", 0, &dbi), 0);
    store_put_u64(sk, 6);
    k.mv_size = 8;
    k.mv_data = sk;
    assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
    /* the counters count one outflow too many */
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    k.mv_size = 8;
    k.mv_data = "counters";
    assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
    memcpy(&c, v.mv_data, sizeof c);
    c.outflow++;
    v.mv_data = &c;
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    raw_done(f, env, txn);

    assert_true(verify(f, NULL) > 3);
    assert_true(reported(f, "retracted index: event 6 (retracted by record 10) is missing", NULL));
    assert_true(
        reported(f, "retracted index: holds 1 entries, the records retract 2 events", NULL));
    assert_true(reported(f, "counters: outflow is 2, the records give 1", NULL));
    /* the memory part is built from the retracted index too: event 6 came back to life */
    assert_true(reported(f, "memory part: the person of event 5 has 1 of placed day 2022-06-01",
                         "the events give 0", NULL));
}

/* A record whose type changed: the counters kept in LMDB no longer match it (the
 * rollup cells are rebuilt from the records, so they follow it). */
static void test_record_damage(void **state)
{
    struct fx *f = *state;
    MDB_txn *txn;
    MDB_env *env = raw_env(f, &txn);
    MDB_dbi dbi;
    MDB_val k, v;
    uint8_t sk[8], rec[1024];
    struct wm_event ev;
    msgpack_sbuffer sb;

    assert_int_equal(mdb_dbi_open(txn, "events", 0, &dbi), 0);
    store_put_u64(sk, 1);
    k.mv_size = 8;
    k.mv_data = sk;
    assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
    assert_true(v.mv_size <= sizeof rec);
    memcpy(rec, v.mv_data, v.mv_size);
    assert_int_equal(proto_event_decode(rec, v.mv_size, &ev), WM_OK);
    ev.type = WM_TYPE_COMPLETED;
    msgpack_sbuffer_init(&sb);
    assert_int_equal(proto_event_encode(&ev, &sb), WM_OK);
    v.mv_size = sb.size;
    v.mv_data = sb.data;
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    msgpack_sbuffer_destroy(&sb);
    raw_done(f, env, txn);

    assert_true(verify(f, NULL) >= 2);
    assert_true(reported(f, "counters: started is 1, the records give 0", NULL));
    assert_true(reported(f, "counters: completed is 1, the records give 2", NULL));
}

/* A store of an older schema opens read-only (for export) but is not verified. */
static void test_older_schema(void **state)
{
    struct fx *f = *state;
    MDB_txn *txn;
    MDB_env *env = raw_env(f, &txn);
    MDB_dbi dbi;
    MDB_val k = {6, "schema"}, v;
    uint32_t one = 1;
    struct store_verify_result res;
    char err[256];

    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    v.mv_size = sizeof one;
    v.mv_data = &one;
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    raw_done(f, env, txn);
    assert_int_equal(store_schema(f->s), 1);
    assert_int_equal(store_verify(f->s, &res, NULL, NULL, 0, err, sizeof err), WM_EVERSION);
    assert_non_null(strstr(err, "schema version 1"));
}

/* Read-only: no store is made where there is none. */
static void test_readonly_missing(void **state)
{
    struct store_options o = {0};
    struct store *s = NULL;
    char err[256];

    (void)state;
    o.dir = "/tmp/wm-verify-no-such-store";
    o.flags = STORE_OPEN_READONLY;
    assert_int_equal(store_open(&o, &s, err, sizeof err), WM_EIO);
    assert_null(s);
    assert_non_null(strstr(err, "no store in /tmp/wm-verify-no-such-store"));
    assert_int_equal(access(o.dir, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_clean, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lmdb_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_older_schema, setup, teardown),
        cmocka_unit_test(test_readonly_missing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
