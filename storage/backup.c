/*
 * storage: the store copied whole, while it runs: a hot backup of the LMDB file (the
 * memory part is rebuilt from it when the copy is opened).
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "store_int.h"

int store_backup(struct store *s, const char *path, char *err, size_t errlen)
{
    int rc;

    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        proto_errf(err, errlen, "cannot create backup directory %s: %s", path, strerror(errno));
        return WM_EIO;
    }
    /* mdb_env_copy2 runs its own read transaction: hold the lock like any reader.
     * Meanwhile the writer goes on; only a map growth waits for the copy to end. */
    if (pthread_rwlock_rdlock(&s->resize_lock) != 0) {
        proto_errf(err, errlen, "cannot take the store lock");
        return WM_EIO;
    }
    rc = mdb_env_copy2(s->env, path, MDB_CP_COMPACT);
    pthread_rwlock_unlock(&s->resize_lock);
    if (rc != 0) {
        proto_errf(err, errlen, "backup to %s failed: %s", path, mdb_strerror(rc));
        return WM_EIO;
    }
    return WM_OK;
}
