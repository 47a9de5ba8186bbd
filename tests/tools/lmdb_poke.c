/*
 * lmdb_poke: a test-only tool that reads and changes a store's LMDB tables directly,
 * below werkmonitor's own code, so tests can damage a store on purpose (a rollup cell,
 * a record, an index entry) and check that `werkmonitord verify` reports it. Keys and
 * values are hex on the command line and on output.
 *
 *   lmdb_poke DIR list DBI            every entry as "KEYHEX VALUEHEX"
 *   lmdb_poke DIR get DBI KEYHEX      the value as hex (exit 1 when absent)
 *   lmdb_poke DIR put DBI KEYHEX VALUEHEX
 *   lmdb_poke DIR del DBI KEYHEX      (exit 1 when absent)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

static int unhex(const char *s, unsigned char *out, size_t cap, size_t *n)
{
    size_t len = strlen(s);

    if (len % 2 || len / 2 > cap)
        return -1;
    for (size_t i = 0; i < len / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    *n = len / 2;
    return 0;
}

static void puthex(const MDB_val *v)
{
    for (size_t i = 0; i < v->mv_size; i++)
        printf("%02x", ((const unsigned char *)v->mv_data)[i]);
}

int main(int argc, char **argv)
{
    static unsigned char kb[4096], vb[65536];
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    MDB_val k, v;
    size_t kn = 0, vn = 0;
    int rc, status = 0, write;

    if (argc < 4) {
        fprintf(stderr, "usage: lmdb_poke DIR list|get|put|del DBI [KEYHEX [VALUEHEX]]\n");
        return 2;
    }
    write = strcmp(argv[2], "put") == 0 || strcmp(argv[2], "del") == 0;
    if ((argc > 4 && unhex(argv[4], kb, sizeof kb, &kn) != 0) ||
        (argc > 5 && unhex(argv[5], vb, sizeof vb, &vn) != 0)) {
        fprintf(stderr, "lmdb_poke: bad hex\n");
        return 2;
    }
    rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(env, 32);
    if (rc == 0)
        rc = mdb_env_open(env, argv[1], MDB_NOTLS | (write ? 0 : MDB_RDONLY), 0600);
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, write ? 0 : MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, argv[3], 0, &dbi);
    if (rc != 0) {
        fprintf(stderr, "lmdb_poke: %s: %s\n", argv[1], mdb_strerror(rc));
        if (txn)
            mdb_txn_abort(txn);
        if (env)
            mdb_env_close(env);
        return 2;
    }
    k.mv_size = kn;
    k.mv_data = kb;
    if (strcmp(argv[2], "list") == 0) {
        MDB_cursor *cur;
        rc = mdb_cursor_open(txn, dbi, &cur);
        for (rc = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            puthex(&k);
            putchar(' ');
            puthex(&v);
            putchar('\n');
        }
        rc = rc == MDB_NOTFOUND ? 0 : rc;
        /* a read-only transaction's cursors are not freed with it */
        mdb_cursor_close(cur);
    } else if (strcmp(argv[2], "get") == 0 && argc == 5) {
        rc = mdb_get(txn, dbi, &k, &v);
        if (rc == 0) {
            puthex(&v);
            putchar('\n');
        }
    } else if (strcmp(argv[2], "put") == 0 && argc == 6) {
        v.mv_size = vn;
        v.mv_data = vb;
        rc = mdb_put(txn, dbi, &k, &v, 0);
    } else if (strcmp(argv[2], "del") == 0 && argc == 5) {
        rc = mdb_del(txn, dbi, &k, NULL);
    } else {
        fprintf(stderr, "lmdb_poke: bad command\n");
        rc = EINVAL;
        status = 2;
    }
    if (rc == MDB_NOTFOUND)
        status = 1;
    else if (rc != 0 && status == 0) {
        fprintf(stderr, "lmdb_poke: %s\n", mdb_strerror(rc));
        status = 2;
    }
    if (status == 0 && write)
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    if (status == 0 && write && rc != 0) {
        fprintf(stderr, "lmdb_poke: commit: %s\n", mdb_strerror(rc));
        status = 2;
    }
    mdb_env_close(env);
    return status;
}
