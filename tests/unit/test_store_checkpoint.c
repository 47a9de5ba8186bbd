/*
 * Unit tests of the memory part's checkpoint on a real LMDB in a temporary directory:
 * written at close and read at open, an older one with the records after it replayed
 * (a crash; the records after it hold events, RETRACTs, REPLACEs of live and retracted
 * versions and scope changes), one written by the child process while the store runs,
 * and every way a checkpoint can fail to match (damaged, truncated, another store's,
 * another build's, records replaced, ahead of the store, counters that do not add up,
 * a scope changed since): each must give a rebuild, and store_verify must find the
 * memory part equal to what the records give. Also CRC-32C, the store's lock, and that
 * a read-only verify checks the checkpoint it loads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_int.h"
#include "fixture_store.h"

#define NPERSONS 40
#define MAXEV 20000

struct fx {
    char dir[128];
    struct store *s;
    uint64_t rng;
    size_t nev;          /* events stored, ids ev-0 .. */
    size_t nrt;          /* retractions stored, ids rt-0 .. */
    uint8_t live[MAXEV]; /* which are not retracted */
    int flip;            /* the next rescope makes beta local (1) or regional (0) */
    int no_flip;         /* no rescopes (after a checkpoint a test loads: one rebuilds) */
};

static const char *const projects[4] = {"alpha", "beta", "gamma", "delta"};
static const char *const gems[4] = {"blaricum", "hilversum", "huizen", "weesp"};

static uint64_t rnd(struct fx *f)
{
    f->rng ^= f->rng << 13;
    f->rng ^= f->rng >> 7;
    f->rng ^= f->rng << 17;
    return f->rng;
}

static int rn(struct fx *f, int n)
{
    return (int)(rnd(f) % (uint64_t)n);
}

static int open_every(struct fx *f, int64_t every)
{
    struct store_options o = {0};
    char err[256];

    o.dir = f->dir;
    o.gemeenten = proto_default_gemeenten;
    o.n_gemeenten = 8;
    o.checkpoint_every = every;
    return store_open(&o, &f->s, err, sizeof err);
}

static void reopen(struct fx *f, int64_t every)
{
    store_close(f->s);
    f->s = NULL;
    assert_int_equal(open_every(f, every), WM_OK);
}

static void path_of(const struct fx *f, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", f->dir, name);
}

static void apply_ok(struct fx *f, struct store_item *it, size_t n)
{
    assert_int_equal(store_apply(f->s, it, n), WM_OK);
    for (size_t i = 0; i < n; i++)
        if (it[i].result != WM_OK)
            fail_msg("item %zu: %s", i, it[i].err);
}

static struct store_item project_item(const char *name, int scope)
{
    struct store_item it;

    memset(&it, 0, sizeof it);
    it.op = STORE_OP_PROJECT;
    snprintf(it.u.project.name, sizeof it.u.project.name, "%s", name);
    snprintf(it.u.project.category, sizeof it.u.project.category, "scholing");
    it.u.project.scope = (uint8_t)scope;
    it.u.project.start = it.u.project.end = WM_DATE_NONE;
    it.u.project.target[0] = it.u.project.target[1] = it.u.project.target[2] = -1;
    it.u.project.set_mask = WM_PSET_CATEGORY | WM_PSET_SCOPE;
    return it;
}

static void make_event(struct fx *f, struct wm_event *ev)
{
    const struct proto_type_desc *td;

    memset(ev, 0, sizeof *ev);
    ev->type = (uint8_t)rn(f, 4);
    td = proto_type_desc(ev->type);
    ev->date = proto_date_from_ymd(2019, 1, 1) + rn(f, 5 * 365);
    ev->months = ev->hours = -1;
    for (int i = 0; i < td->nenums; i++)
        ev->enums[i] = (uint8_t)rn(f, td->enums[i]->nvalues);
    snprintf(ev->id, sizeof ev->id, "ev-%zu", f->nev);
    snprintf(ev->person, sizeof ev->person, "person-%04d", rn(f, NPERSONS));
    snprintf(ev->gemeente, sizeof ev->gemeente, "%s", gems[rn(f, 4)]);
    if (ev->type != WM_TYPE_OUTFLOW || rn(f, 3) == 0)
        snprintf(ev->project, sizeof ev->project, "%s", projects[rn(f, 4)]);
    snprintf(ev->principal, sizeof ev->principal, "wsp");
}

/* total random items in batches of 1 to 100: events, retractions of earlier events
 * (by ref) and now and then a project changing scope. */
static void gen(struct fx *f, size_t total)
{
    struct store_item *items = calloc(100, sizeof *items);
    size_t done = 0;

    while (done < total) {
        size_t n = 1 + (size_t)rn(f, 100), k = 0;
        while (k < n && done < total) {
            struct store_item *it = &items[k];
            int r = rn(f, 100);
            if (r == 0 && !f->no_flip) {
                *it = project_item("beta", f->flip);
                f->flip = !f->flip;
            } else if (r < 6 && f->nev > 0) {
                /* a new version of an earlier id, live or retracted */
                size_t t = (size_t)rn(f, (int)f->nev);
                size_t keep = f->nev;
                memset(it, 0, sizeof *it);
                it->op = STORE_OP_REPLACE;
                make_event(f, &it->u.event);
                snprintf(it->u.event.id, sizeof it->u.event.id, "ev-%zu", t);
                f->nev = keep;
                f->live[t] = 1;
            } else if (r < 14 && f->nev > 0) {
                size_t t = (size_t)rn(f, (int)f->nev);
                if (!f->live[t])
                    continue;
                memset(it, 0, sizeof *it);
                it->op = STORE_OP_RETRACT;
                snprintf(it->u.retract.id, sizeof it->u.retract.id, "rt-%zu", f->nrt++);
                snprintf(it->u.retract.principal, sizeof it->u.retract.principal, "wsp");
                snprintf(it->u.retract.ref, sizeof it->u.retract.ref, "ev-%zu", t);
                f->live[t] = 0;
            } else {
                memset(it, 0, sizeof *it);
                it->op = STORE_OP_EVENT;
                assert_true(f->nev < MAXEV);
                make_event(f, &it->u.event);
                f->live[f->nev++] = 1;
            }
            k++;
            done++;
        }
        apply_ok(f, items, k);
    }
    free(items);
}

static void report_line(void *arg, const char *line)
{
    (void)arg;
    fprintf(stderr, "verify: %s\n", line);
}

/* The memory part equals what the records give. */
static void verify_clean(struct fx *f)
{
    struct store_verify_result res;
    char err[256];

    assert_int_equal(store_verify(f->s, &res, report_line, NULL, 20, err, sizeof err), WM_OK);
    assert_int_equal(res.differences, 0);
}

static void source_starts(struct fx *f, const char *prefix, const char *has)
{
    struct store_stats st;

    assert_int_equal(store_stats(f->s, &st), WM_OK);
    if (strncmp(st.memory_source, prefix, strlen(prefix)) != 0 ||
        (has && !strstr(st.memory_source, has)))
        fail_msg("memory_source '%s', wanted '%s...%s'", st.memory_source, prefix, has ? has : "");
}

/* Figures a user sees: counts of every type, events and distinct persons, and totals. */
struct figures {
    uint64_t counts[WM_TYPE_COUNT_][2];
    struct store_stats st;
};

static void figures(struct fx *f, struct figures *g)
{
    memset(g, 0, sizeof *g);
    for (int t = 0; t < WM_TYPE_COUNT_; t++)
        for (int d = 0; d < 2; d++)
            g->counts[t][d] = fixture_count_all_time(f->s, t, d);
    assert_int_equal(store_stats(f->s, &g->st), WM_OK);
}

static void figures_equal(const struct figures *a, const struct figures *b)
{
    assert_memory_equal(a->counts, b->counts, sizeof a->counts);
    assert_int_equal(a->st.events, b->st.events);
    assert_int_equal(a->st.retracted, b->st.retracted);
    assert_int_equal(a->st.last_seq, b->st.last_seq);
    assert_int_equal(a->st.person_entries, b->st.person_entries);
}

/* The store's figures now equal a, and verify finds nothing. */
static void same_figures(struct fx *f, const struct figures *a)
{
    struct figures b;

    figures(f, &b);
    figures_equal(a, &b);
    verify_clean(f);
}

static void copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b;
    char buf[65536];
    size_t n;

    assert_non_null(a);
    b = fopen(to, "wb");
    assert_non_null(b);
    while ((n = fread(buf, 1, sizeof buf, a)) > 0)
        assert_int_equal(fwrite(buf, 1, n, b), n);
    fclose(a);
    assert_int_equal(fclose(b), 0);
}

/* Copy the store's checkpoint (path: its name) to saved, to put back later. */
static void save_checkpoint(struct fx *f, char path[256], char saved[256])
{
    path_of(f, "memory.ckpt", path, 256);
    path_of(f, "saved.ckpt", saved, 256);
    copy_file(path, saved);
}

/* Close the store, put the saved checkpoint back in place of the one the close wrote
 * (as if the process had died after saved was written), and open it again. */
static void put_back_and_open(struct fx *f, const char *saved, const char *path, int64_t every)
{
    store_close(f->s);
    f->s = NULL;
    assert_int_equal(rename(saved, path), 0);
    assert_int_equal(open_every(f, every), WM_OK);
}

static off_t file_size(const char *path)
{
    struct stat sb;

    return stat(path, &sb) == 0 ? sb.st_size : -1;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    struct store_item it[4];

    f->rng = 88172645463325252ull;
    snprintf(f->dir, sizeof f->dir, "/tmp/wmckpt-%6s", "");
    memset(f->dir + strlen(f->dir) - 6, 'X', 6);
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(open_every(f, 0), WM_OK);
    for (int i = 0; i < 4; i++)
        it[i] = project_item(projects[i], i == 3 ? WM_SCOPE_LOCAL : WM_SCOPE_REGIONAL);
    apply_ok(f, it, 4);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    store_close(f->s);
    fixture_rm_tree(f->dir);
    free(f);
    return 0;
}

/* A checkpoint taken after 1,500 random items, then (it not NULL) one more item and
 * more random items (no rescopes), then a crash (the checkpoint on disk is the one
 * taken before): the open's memory_source starts with source and has has, and the
 * store's figures are as they were before the crash. */
static void crash_after_checkpoint(struct fx *f, struct store_item *it, size_t more,
                                   const char *source, const char *has)
{
    struct figures a;
    char path[256], saved[256];

    gen(f, 1500);
    reopen(f, 0);
    save_checkpoint(f, path, saved);
    f->no_flip = 1;
    if (it)
        apply_ok(f, it, 1);
    gen(f, more);
    figures(f, &a);
    /* as if the process died before writing its checkpoint */
    put_back_and_open(f, saved, path, 0);
    source_starts(f, source, has);
    same_figures(f, &a);
}

/* ---- tests --------------------------------------------------------------------------- */

static void test_crc32c(void **state)
{
    static const char check[] = "123456789";
    char big[1000];

    (void)state;
    assert_int_equal(store_crc32c(0, check, 9), 0xE3069283u);
    assert_int_equal(store_crc32c_soft(0, check, 9), 0xE3069283u);
    assert_int_equal(store_crc32c(store_crc32c(0, check, 4), check + 4, 5), 0xE3069283u);
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7 + 3);
    for (size_t n = 0; n < sizeof big; n += 37)
        assert_int_equal(store_crc32c(0, big + 1, n), store_crc32c_soft(0, big + 1, n));
}

static void test_reopen_from_checkpoint(void **state)
{
    struct fx *f = *state;
    struct figures a;
    char path[256];

    gen(f, 3000);
    figures(f, &a);
    reopen(f, 0);
    path_of(f, "memory.ckpt", path, sizeof path);
    assert_true(file_size(path) > 0);
    source_starts(f, "loaded from the checkpoint of seq", ", 0 records after it");
    same_figures(f, &a);
    /* and the store goes on from there */
    gen(f, 500);
    verify_clean(f);
}

/* A crash after a checkpoint: the file on disk is older than the store; the records
 * after it (events, retractions of older events, scope changes) are replayed. */
static void test_crash_replays_after_checkpoint(void **state)
{
    crash_after_checkpoint(*state, NULL, 1500, "loaded from the checkpoint of seq", "replayed");
}

/* Damaged, cut short, not a checkpoint at all: rebuilt, and the store as before. */
static void test_damaged_checkpoint_rebuilds(void **state)
{
    struct fx *f = *state;
    struct figures a;
    char path[256];
    off_t size;
    int fd;

    gen(f, 2000);
    figures(f, &a);
    reopen(f, 0);
    path_of(f, "memory.ckpt", path, sizeof path);
    size = file_size(path);
    for (int round = 0; round < 3; round++) {
        store_close(f->s);
        f->s = NULL;
        fd = open(path, O_RDWR);
        assert_true(fd >= 0);
        if (round == 0) {
            /* one bit in the middle */
            uint8_t byte;
            assert_int_equal(pread(fd, &byte, 1, size / 2), 1);
            byte ^= 0x10;
            assert_int_equal(pwrite(fd, &byte, 1, size / 2), 1);
        } else if (round == 1) {
            assert_int_equal(ftruncate(fd, size - 100), 0);
        } else {
            assert_int_equal(pwrite(fd, "garbage!", 8, 0), 8);
        }
        close(fd);
        assert_int_equal(open_every(f, 0), WM_OK);
        source_starts(f, "rebuilt from the records", round == 2 ? "not a checkpoint" : "damaged");
        same_figures(f, &a);
        /* the close wrote a good one again */
        reopen(f, 0);
        source_starts(f, "loaded from the checkpoint", NULL);
    }
}

/* Another store's checkpoint, or one ahead of the store (an older data.mdb put
 * back): rebuilt. */
static void test_foreign_and_ahead_checkpoints_rebuild(void **state)
{
    struct fx *f = *state;
    struct figures a;
    char path[256], data[256], saved[256];

    gen(f, 1000);
    store_close(f->s);
    f->s = NULL;
    path_of(f, "data.mdb", data, sizeof data);
    path_of(f, "saved.mdb", saved, sizeof saved);
    copy_file(data, saved);
    assert_int_equal(open_every(f, 0), WM_OK);
    figures(f, &a);
    gen(f, 1000);
    store_close(f->s);
    f->s = NULL;
    /* the data file as it was 1,000 items ago; the checkpoint is of now */
    assert_int_equal(rename(saved, data), 0);
    assert_int_equal(open_every(f, 0), WM_OK);
    source_starts(f, "rebuilt from the records", "the store ends at");
    same_figures(f, &a);

    /* a checkpoint of another store in this directory */
    {
        struct fx *g = calloc(1, sizeof *g);
        char other[256];
        struct store_item it[4];
        g->rng = 5;
        snprintf(g->dir, sizeof g->dir, "/tmp/wmckpt2-%6s", "");
        memset(g->dir + strlen(g->dir) - 6, 'X', 6);
        assert_non_null(mkdtemp(g->dir));
        assert_int_equal(open_every(g, 0), WM_OK);
        for (int i = 0; i < 4; i++)
            it[i] = project_item(projects[i], WM_SCOPE_REGIONAL);
        apply_ok(g, it, 4);
        gen(g, 50);
        store_close(g->s);
        g->s = NULL;
        path_of(g, "memory.ckpt", other, sizeof other);
        store_close(f->s);
        f->s = NULL;
        path_of(f, "memory.ckpt", path, sizeof path);
        copy_file(other, path);
        fixture_rm_tree(g->dir);
        free(g);
    }
    assert_int_equal(open_every(f, 0), WM_OK);
    source_starts(f, "rebuilt from the records", "another store");
    verify_clean(f);
}

/* Open the closed store's LMDB environment directly, to doctor it. */
static MDB_env *raw_env(struct fx *f)
{
    MDB_env *env;

    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 32);
    assert_int_equal(mdb_env_open(env, f->dir, 0, 0600), 0);
    return env;
}

/* Close the store and open its LMDB environment directly, to doctor it: a write
 * transaction, the meta DBI in *dbi and the counters in *c. */
static MDB_env *raw_counters(struct fx *f, MDB_txn **txn, MDB_dbi *dbi, struct store_counters *c)
{
    MDB_val k = {8, "counters"}, v;
    MDB_env *env;

    store_close(f->s);
    f->s = NULL;
    env = raw_env(f);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, txn), 0);
    assert_int_equal(mdb_dbi_open(*txn, "meta", 0, dbi), 0);
    assert_int_equal(mdb_get(*txn, *dbi, &k, &v), 0);
    memcpy(c, v.mv_data, sizeof *c);
    return env;
}

/* The record the checkpoint ends with is not the store's (its data replaced), or the
 * counters do not add up: rebuilt. */
static void test_mismatched_store_rebuilds(void **state)
{
    struct fx *f = *state;
    struct store_counters c;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k, v;
    uint8_t key[8];

    gen(f, 800);
    /* the last record gets the bytes of the one before it */
    env = raw_counters(f, &txn, &dbi, &c);
    assert_int_equal(mdb_dbi_open(txn, "events", 0, &dbi), 0);
    {
        MDB_val pk, pv;
        void *copy;
        store_put_u64(key, c.last_seq - 1);
        pk.mv_size = 8;
        pk.mv_data = key;
        assert_int_equal(mdb_get(txn, dbi, &pk, &pv), 0);
        copy = malloc(pv.mv_size);
        memcpy(copy, pv.mv_data, pv.mv_size);
        store_put_u64(key, c.last_seq);
        pv.mv_data = copy;
        assert_int_equal(mdb_put(txn, dbi, &pk, &pv, 0), 0);
        free(copy);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    assert_int_equal(open_every(f, 0), WM_OK);
    source_starts(f, "rebuilt from the records", "differs from the store's");

    /* counters that the checkpoint and the records do not add up to */
    env = raw_counters(f, &txn, &dbi, &c);
    k.mv_size = 8;
    k.mv_data = "counters";
    c.started++;
    v.mv_size = sizeof c;
    v.mv_data = &c;
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    assert_int_equal(open_every(f, 0), WM_OK);
    source_starts(f, "rebuilt from the records", "do not add up");
}

/* The interval grows with what the last checkpoint covers, so that a long import does not
 * pay the fork's copy-on-write faults over the whole memory part every few seconds. */
static void test_interval_grows_with_the_store(void **state)
{
    (void)state;
    assert_int_equal(store_ckpt_interval(500000, 0), 500000);
    assert_int_equal(store_ckpt_interval(500000, 499999), 500000);
    assert_int_equal(store_ckpt_interval(500000, 500000), 500000);
    assert_int_equal(store_ckpt_interval(500000, 500001), 500001);
    assert_int_equal(store_ckpt_interval(500000, 8000000), 8000000);
    assert_int_equal(store_ckpt_interval(1000, 3000), 3000);
}

/* The child process writes a checkpoint while the store runs; a crash after it
 * loads that one and replays the rest. */
static void test_checkpoint_while_running(void **state)
{
    struct fx *f = *state;
    struct store_stats st;
    struct figures a;
    char path[256], saved[256];
    uint64_t seq;

    reopen(f, 300);
    f->no_flip = 1;
    gen(f, 1200);
    for (int i = 0; i < 500; i++) {
        assert_int_equal(store_stats(f->s, &st), WM_OK);
        if (st.checkpoints_written > 0 && f->s->ckpt.child == 0)
            break;
        gen(f, 1); /* a batch reaps the child when it is done */
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    assert_true(st.checkpoints_written > 0);
    assert_int_equal(st.checkpoint_failures, 0);
    seq = st.checkpoint_seq;
    assert_true(seq > 0);
    save_checkpoint(f, path, saved);
    f->no_flip = 1;
    gen(f, 100);
    figures(f, &a);
    put_back_and_open(f, saved, path, 300);
    {
        char want[64];
        snprintf(want, sizeof want, "seq %llu,", (unsigned long long)seq);
        source_starts(f, "loaded from the checkpoint of", want);
    }
    same_figures(f, &a);
}

static void test_checkpoints_off(void **state)
{
    struct fx *f = *state;
    char path[256];

    gen(f, 300);
    store_close(f->s);
    f->s = NULL;
    path_of(f, "memory.ckpt", path, sizeof path);
    unlink(path);
    assert_int_equal(open_every(f, STORE_CKPT_OFF), WM_OK);
    source_starts(f, "rebuilt from the records", "checkpoints are off");
    reopen(f, STORE_CKPT_OFF);
    assert_int_equal(file_size(path), -1);
    source_starts(f, "rebuilt from the records", "checkpoints are off");
}

static void test_store_in_use(void **state)
{
    struct fx *f = *state;
    struct store_options o = {0};
    struct store *s2 = NULL;
    char err[256];

    o.dir = f->dir;
    assert_int_equal(store_open(&o, &s2, err, sizeof err), WM_EIO);
    assert_null(s2);
    assert_non_null(strstr(err, "in use by another process"));
}

/* Open the store read-only (as werkmonitord verify does beside a daemon) and verify:
 * the number of differences, and how its memory part was loaded. */
static uint64_t verify_readonly(struct fx *f, char *source, size_t len)
{
    struct store_options o = {0};
    struct store_verify_result res;
    struct store *ro;
    char err[256];

    o.dir = f->dir;
    o.flags = STORE_OPEN_READONLY;
    assert_int_equal(store_open(&o, &ro, err, sizeof err), WM_OK);
    assert_int_equal(store_verify(ro, &res, NULL, NULL, 0, err, sizeof err), WM_OK);
    snprintf(source, len, "%s", res.memory_source);
    store_close(ro);
    return res.differences;
}

/* A read-only verify loads the checkpoint and the records after it, as the daemon's
 * start does, and compares that with the records: a checkpoint that is intact but
 * wrong (written from a memory part gone wrong) is found, and the daemon's store too. */
static void test_readonly_verify_checks_the_checkpoint(void **state)
{
    struct fx *f = *state;
    struct store_memroll *m;
    char source[192];

    gen(f, 1000);
    reopen(f, 0);
    gen(f, 200);
    /* beside the open store (no lock taken by a read-only open) */
    assert_int_equal(verify_readonly(f, source, sizeof source), 0);
    assert_non_null(strstr(source, "loaded from the checkpoint of seq"));
    /* a memory part gone wrong, saved at close */
    m = &f->s->people.roll;
    for (size_t i = 0; i < m->capcells; i++)
        if (m->cells[i].used && m->cells[i].count > 0) {
            m->cells[i].count += 2;
            break;
        }
    gen(f, 10);
    store_close(f->s);
    f->s = NULL;
    assert_true(verify_readonly(f, source, sizeof source) >= 1);
    assert_non_null(strstr(source, "loaded from the checkpoint of seq"));
    assert_int_equal(open_every(f, 0), WM_OK);
    {
        struct store_verify_result res;
        char err[256];
        assert_int_equal(store_verify(f->s, &res, NULL, NULL, 0, err, sizeof err), WM_OK);
        assert_true(res.differences >= 1);
    }
    /* no checkpoint: the read-only verify rebuilds, and says so */
    f->s->ckpt.off = 1;
    store_close(f->s);
    f->s = NULL;
    {
        char path[256];
        path_of(f, "memory.ckpt", path, sizeof path);
        assert_int_equal(unlink(path), 0);
    }
    assert_int_equal(verify_readonly(f, source, sizeof source), 0);
    assert_non_null(strstr(source, "rebuilt from the records (no checkpoint)"));
    assert_int_equal(open_every(f, 0), WM_OK);
}

/* A project whose scope changed after the checkpoint, with persons placed in it: the
 * load rebuilds; the store answers as before. */
static void test_scope_change_after_checkpoint_rebuilds(void **state)
{
    struct store_item it = project_item("alpha", WM_SCOPE_LOCAL);

    crash_after_checkpoint(*state, &it, 100, "rebuilt from the records",
                           "'alpha' changed its scope");
}

/* A checkpoint written by another build (a version, format or struct layout this one
 * does not read): rebuilt. */
static void test_other_build_rebuilds(void **state)
{
    struct fx *f = *state;
    char path[256];
    int fd;

    gen(f, 300);
    store_close(f->s);
    f->s = NULL;
    path_of(f, "memory.ckpt", path, sizeof path);
    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    /* the version field, the header's checksum made right again */
    {
        uint8_t head[488];
        uint32_t crc;
        assert_int_equal(pread(fd, head, sizeof head, 0), (ssize_t)sizeof head);
        memcpy(head + 16, "0.0.1-other", 12);
        crc = store_crc32c(0, head, 480);
        memcpy(head + 480, &crc, 4);
        assert_int_equal(pwrite(fd, head, sizeof head, 0), (ssize_t)sizeof head);
    }
    close(fd);
    assert_int_equal(open_every(f, 0), WM_OK);
    source_starts(f, "rebuilt from the records", "another build (werkmonitord 0.0.1-other");
    verify_clean(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test_setup_teardown(test_reopen_from_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_replays_after_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_checkpoint_rebuilds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_and_ahead_checkpoints_rebuild, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_mismatched_store_rebuilds, setup, teardown),
        cmocka_unit_test(test_interval_grows_with_the_store),
        cmocka_unit_test_setup_teardown(test_checkpoint_while_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoints_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_in_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly_verify_checks_the_checkpoint, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_scope_change_after_checkpoint_rebuilds, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_other_build_rebuilds, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
