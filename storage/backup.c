/*
 * storage: the store copied whole, while it runs: a hot backup of the LMDB file, one
 * snapshot, compacted (the memory part is rebuilt from it when the copy is opened).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>

#include "store_int.h"

/* fsync the file or directory at path. 0, or an errno. */
static int sync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC), e = 0;

    if (fd < 0)
        return errno;
    if (fsync(fd) != 0)
        e = errno;
    close(fd);
    return e;
}

/* Open the copy in path read-only and read what it holds into *info. */
static int backup_read_back(const char *path, struct store_backup_info *info, char *err,
                            size_t errlen)
{
    struct store_options opt;
    struct store_stats st;
    struct store *copy;
    int ret;

    memset(&opt, 0, sizeof opt);
    opt.dir = path;
    opt.flags = STORE_OPEN_READONLY;
    ret = store_open(&opt, &copy, err, errlen);
    if (ret != WM_OK)
        return WM_EIO;
    ret = store_stats(copy, &st);
    store_close(copy);
    if (ret != WM_OK) {
        proto_errf(err, errlen, "the backup in %s cannot be read", path);
        return WM_EIO;
    }
    info->last_seq = st.last_seq;
    info->events = st.events;
    info->bytes = st.db_bytes;
    return WM_OK;
}

int store_backup(struct store *s, const char *path, struct store_backup_info *info, char *err,
                 size_t errlen)
{
    char file[4096];
    struct stat sb;
    int rc;

    if (snprintf(file, sizeof file, "%s/data.mdb", path) >= (int)sizeof file) {
        proto_errf(err, errlen, "backup directory name too long");
        return WM_EIO;
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        proto_errf(err, errlen, "cannot create backup directory %s: %s", path, strerror(errno));
        return WM_EIO;
    }
    if (stat(file, &sb) == 0) {
        proto_errf(err, errlen, "backup directory %s already holds a store (%s): give a new one",
                   path, file);
        return WM_EIO;
    }
    rc = store_env_copy(s, path);
    if (rc != 0) {
        proto_errf(err, errlen, "backup to %s failed: %s", path, mdb_strerror(rc));
        /* a half-written copy must not pass for a backup */
        unlink(file);
        return WM_EIO;
    }
    /* a backup that a power cut could take back is none: the file and its name on disk */
    rc = sync_path(file, O_RDONLY);
    if (rc == 0)
        rc = sync_path(path, O_RDONLY | O_DIRECTORY);
    if (rc != 0) {
        proto_errf(err, errlen, "backup to %s: cannot sync it to disk: %s", path, strerror(rc));
        return WM_EIO;
    }
    return backup_read_back(path, info, err, errlen);
}
