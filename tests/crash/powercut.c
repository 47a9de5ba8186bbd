/*
 * powercut: an LD_PRELOAD interposer that simulates a power cut under a process. It
 * watches the writes and syncs to regular files below WM_PC_DIR, keeps the last
 * durable content of every 512-byte sector written since the file's last sync, and at
 * a chosen moment puts back what a power cut could have lost, then kills the process.
 *
 * Environment:
 *   WM_PC_DIR          watch regular files below this directory (unset: do nothing)
 *   WM_PC_AFTER_MS     cut the power at the first watched call this many ms after the
 *                      first watched call (the store's first write; unset or 0: never)
 *   WM_PC_SEED         seed of every random choice (default 1)
 *   WM_PC_MODE         what becomes of the writes not yet durable: "drop" (all lost),
 *                      "tear" (each sector kept or lost at random, a file extended since
 *                      its sync keeps or loses its new size), "keep" (none lost, like
 *                      SIGKILL); default tear
 *   WM_PC_IGNORE_SYNC  1: no sync makes anything durable, a disk that ignores flushes
 *                      (the tests' negative control: it must lose acknowledged writes)
 *   WM_PC_LOG          append one line describing the cut to this file
 *
 * Durable: a write through a descriptor opened with O_DSYNC or O_SYNC (LMDB writes its
 * meta pages so), every write to a file before fsync/fdatasync/syncfs/sync on it
 * returns, and msync(MS_SYNC) of a shared mapping of it. The cut lands on a watched
 * call, in one of three places: before it, inside it (a write: a sector-aligned prefix
 * is written), or after it. Writes made through a writable mapping are not seen (LMDB
 * runs without MDB_WRITEMAP), nor are directory entries (a new file's name).
 *
 * A forked child (the daemon's checkpoint writer) is on the same machine: its writes
 * are journaled in memory it shares with its parent, it never cuts on its own, and the
 * parent's cut kills it (so that it writes no more) and puts back its writes not yet
 * durable too, before its own. One child at a time; a fork forgets the last child's.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PC_SECTOR 512
#define PC_MAX_FILES 64
#define PC_MAX_MAPS 64

/* A watched file: its identity, path, and size at its last sync. */
struct pc_file {
    dev_t dev;
    ino_t ino;
    char path[PATH_MAX];
    off_t durable_size;
    int rfd; /* read-only descriptor: the writer's may be write-only (LMDB's meta one) */
};

/* The durable content of one sector written since its file's last sync. */
struct pc_sector {
    int file;
    off_t sector;
    size_t len; /* bytes of the sector that existed in the file (0: beyond its end) */
    unsigned char data[PC_SECTOR];
};

/* A shared mapping of a watched file, for msync. */
struct pc_map {
    char *addr;
    size_t len;
    int file;
};

static pthread_mutex_t pc_lock = PTHREAD_MUTEX_INITIALIZER;
static int pc_on = -1; /* -1: not initialised yet */
static char pc_dir[PATH_MAX];
static size_t pc_dirlen;
static int64_t pc_after_ns;  /* 0: never */
static int64_t pc_cut_at_ns; /* set at the first watched call */
static uint64_t pc_rng;
static enum { PC_DROP, PC_TEAR, PC_KEEP } pc_mode = PC_TEAR;
static int pc_ignore_sync;
static const char *pc_log;
static unsigned long pc_calls;

/* What a process wrote since the last syncs: its files and the sectors to put back. */
struct pc_journal {
    struct pc_file files[PC_MAX_FILES];
    int nfiles;
    struct pc_sector *sectors;
    size_t nsectors, capsectors;
};

/* A forked child's journal, in memory shared with its parent: the parent cuts the power
 * for both (a child never cuts on its own), so it puts back the child's writes too. One
 * child at a time (the daemon's checkpoint); a fork starts it afresh. The sectors are a
 * fixed array: what a child writes is mostly a new file, whose new sectors need no
 * copy (see pc_save). */
#define PC_KID_SECTORS 8192
struct pc_kid {
    pid_t pid; /* the child (0: none yet) */
    struct pc_journal j;
    struct pc_sector sectors[PC_KID_SECTORS];
};

static struct pc_journal pc_own;
static struct pc_journal *pc_j = &pc_own; /* this process's: pc_own, or the child's */
static struct pc_kid *pc_kid;             /* shared with the child; NULL: no mapping */
static int pc_is_child;
static struct pc_map pc_maps[PC_MAX_MAPS];
static int pc_nmaps;

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_syncfs)(int);
static void (*real_sync)(void);
static int (*real_msync)(void *, size_t, int);
static int (*real_ftruncate)(int, off_t);
static int (*real_ftruncate64)(int, off_t);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static void *(*real_mmap64)(void *, size_t, int, int, int, off_t);
static int (*real_munmap)(void *, size_t);
static pid_t (*real_fork)(void);

#define PC_REAL(name)                                                                              \
    do {                                                                                           \
        if (real_##name == NULL)                                                                   \
            *(void **)&real_##name = dlsym(RTLD_NEXT, #name);                                      \
    } while (0)

static int64_t pc_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* xorshift64*: small, seedable, good enough for choosing. */
static uint64_t pc_random(void)
{
    pc_rng ^= pc_rng >> 12;
    pc_rng ^= pc_rng << 25;
    pc_rng ^= pc_rng >> 27;
    return pc_rng * 2685821657736338717ull;
}

static void pc_init(void)
{
    const char *dir = getenv("WM_PC_DIR"), *after = getenv("WM_PC_AFTER_MS");
    const char *seed = getenv("WM_PC_SEED"), *mode = getenv("WM_PC_MODE");
    const char *ign = getenv("WM_PC_IGNORE_SYNC");

    pc_on = 0;
    if (dir == NULL || realpath(dir, pc_dir) == NULL)
        return;
    pc_dirlen = strlen(pc_dir);
    if (after != NULL && atol(after) > 0)
        pc_after_ns = (int64_t)atol(after) * 1000000;
    pc_rng = seed != NULL && strtoull(seed, NULL, 10) != 0 ? strtoull(seed, NULL, 10) : 1;
    if (mode != NULL && strcmp(mode, "drop") == 0)
        pc_mode = PC_DROP;
    else if (mode != NULL && strcmp(mode, "keep") == 0)
        pc_mode = PC_KEEP;
    pc_ignore_sync = ign != NULL && strcmp(ign, "1") == 0;
    pc_log = getenv("WM_PC_LOG");
    PC_REAL(mmap);
    pc_kid =
        real_mmap(NULL, sizeof(*pc_kid), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (pc_kid == MAP_FAILED)
        pc_kid = NULL;
    pc_on = 1;
}

/* The watched file fd refers to (adding it when new), or -1. Called locked. */
static int pc_file_of(int fd)
{
    char link[64], path[PATH_MAX];
    struct stat st;
    ssize_t n;

    if (pc_on < 0)
        pc_init();
    if (!pc_on || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    for (int i = 0; i < pc_j->nfiles; i++) {
        if (pc_j->files[i].dev == st.st_dev && pc_j->files[i].ino == st.st_ino)
            return i;
    }
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, path, sizeof(path) - 1);
    if (n <= 0)
        return -1;
    path[n] = '\0';
    if ((size_t)n <= pc_dirlen || strncmp(path, pc_dir, pc_dirlen) != 0 || path[pc_dirlen] != '/')
        return -1;
    if (pc_j->nfiles == PC_MAX_FILES)
        return -1;
    pc_j->files[pc_j->nfiles].dev = st.st_dev;
    pc_j->files[pc_j->nfiles].ino = st.st_ino;
    memcpy(pc_j->files[pc_j->nfiles].path, path, (size_t)n + 1);
    pc_j->files[pc_j->nfiles].rfd = open(path, O_RDONLY | O_CLOEXEC);
    /* what a file holds when first seen was made durable by whoever wrote it */
    pc_j->files[pc_j->nfiles].durable_size = st.st_size;
    return pc_j->nfiles++;
}

static struct pc_sector *pc_sector_find(int file, off_t sector)
{
    for (size_t i = 0; i < pc_j->nsectors; i++) {
        if (pc_j->sectors[i].file == file && pc_j->sectors[i].sector == sector)
            return &pc_j->sectors[i];
    }
    return NULL;
}

static void pc_logf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Before [off, off+len) of file is written: keep the durable content of each sector
 * not kept yet. A sector wholly beyond the file's durable size needs no copy: a cut
 * zeroes it, or cuts the file to that size (pc_revert). */
static void pc_save(int file, off_t off, size_t len)
{
    if (len == 0)
        return;
    for (off_t s = off / PC_SECTOR; s <= (off + (off_t)len - 1) / PC_SECTOR; s++) {
        struct pc_sector *e;
        ssize_t n;

        if (s * PC_SECTOR >= pc_j->files[file].durable_size || pc_sector_find(file, s) != NULL)
            continue;
        if (pc_j->nsectors == pc_j->capsectors) {
            size_t cap = pc_j->capsectors ? pc_j->capsectors * 2 : 256;
            struct pc_sector *ns;
            if (pc_is_child) { /* the shared array is full: no cut could be right now */
                pc_logf("powercut: the child's journal is full (%zu sectors)\n", pc_j->nsectors);
                abort();
            }
            ns = realloc(pc_j->sectors, cap * sizeof(*ns));
            if (ns == NULL)
                abort();
            pc_j->sectors = ns;
            pc_j->capsectors = cap;
        }
        e = &pc_j->sectors[pc_j->nsectors];
        e->file = file;
        e->sector = s;
        n = pread(pc_j->files[file].rfd, e->data, PC_SECTOR, s * PC_SECTOR);
        e->len = n > 0 ? (size_t)n : 0;
        /* counted once filled: the parent reads a child's journal after killing it */
        __atomic_store_n(&pc_j->nsectors, pc_j->nsectors + 1, __ATOMIC_RELEASE);
    }
}

/* Everything written to file is durable now (a sync). */
static void pc_synced(int file, int fd)
{
    struct stat st;
    size_t j = 0;

    if (pc_ignore_sync)
        return;
    for (size_t i = 0; i < pc_j->nsectors; i++) {
        if (pc_j->sectors[i].file != file)
            pc_j->sectors[j++] = pc_j->sectors[i];
    }
    pc_j->nsectors = j;
    if (fd >= 0 ? fstat(fd, &st) == 0 : stat(pc_j->files[file].path, &st) == 0)
        pc_j->files[file].durable_size = st.st_size;
}

/* [off, off+len) of file is durable now (an O_DSYNC write): its sectors are. */
static void pc_synced_range(int file, off_t off, size_t len)
{
    size_t j = 0;

    if (pc_ignore_sync || len == 0)
        return;
    for (size_t i = 0; i < pc_j->nsectors; i++) {
        struct pc_sector *e = &pc_j->sectors[i];
        if (e->file == file && e->sector >= off / PC_SECTOR &&
            e->sector <= (off + (off_t)len - 1) / PC_SECTOR)
            continue;
        pc_j->sectors[j++] = *e;
    }
    pc_j->nsectors = j;
}

static void pc_logf(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int fd, n;

    if (pc_log == NULL)
        return;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fd = open(pc_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    PC_REAL(write);
    if (real_write(fd, line, n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0)
        n = 0;
    close(fd);
}

/* Put back in j's files what a power cut could have lost: each sector saved (all, or
 * some at random), and the part beyond the durable size (the file cut to that size, or
 * it kept and each of its sectors zeroed at random). Adds to *reverted, *truncated and
 * *beyond (bytes past the durable sizes). */
static void pc_revert(const struct pc_journal *j, unsigned long *reverted, unsigned long *truncated,
                      unsigned long long *beyond)
{
    static const unsigned char zero[PC_SECTOR];

    PC_REAL(pwrite);
    PC_REAL(ftruncate);
    PC_REAL(fsync);
    for (int f = 0; f < j->nfiles; f++) {
        int fd = open(j->files[f].path, O_WRONLY | O_CLOEXEC);
        off_t durable = j->files[f].durable_size;
        struct stat st;
        int cut_size;

        if (fd < 0)
            continue;
        for (size_t i = 0; i < j->nsectors; i++) {
            const struct pc_sector *e = &j->sectors[i];
            if (e->file != f || pc_mode == PC_KEEP || (pc_mode == PC_TEAR && (pc_random() & 1)))
                continue;
            /* a sector beyond the old end reads as zeros once its size survives */
            if (real_pwrite(fd, e->len > 0 ? e->data : zero, e->len > 0 ? e->len : PC_SECTOR,
                            e->sector * PC_SECTOR) >= 0)
                (*reverted)++;
        }
        cut_size = pc_mode == PC_DROP || (pc_mode == PC_TEAR && (pc_random() & 1));
        if (fstat(fd, &st) == 0 && st.st_size > durable)
            *beyond += (unsigned long long)(st.st_size - durable);
        if (pc_mode != PC_KEEP && fstat(fd, &st) == 0 && st.st_size > durable) {
            if (cut_size) {
                if (real_ftruncate(fd, durable) == 0)
                    (*truncated)++;
            } else {
                /* the new size survived: each new sector (beyond the one holding the old
                 * end, which was saved) made it or reads as zeros */
                for (off_t sec = (durable + PC_SECTOR - 1) / PC_SECTOR;
                     sec * PC_SECTOR < st.st_size; sec++) {
                    if ((pc_random() & 1) &&
                        real_pwrite(fd, zero, PC_SECTOR, sec * PC_SECTOR) == PC_SECTOR)
                        (*reverted)++;
                }
            }
        }
        real_fsync(fd);
        close(fd);
    }
}

/* The power cut: put back what the disk may not have had, of this process and of its
 * forked child (killed first, so that it writes no more), then die. Called locked. */
static void pc_cut(const char *call, const char *where)
{
    static const char *const modes[] = {"drop", "tear", "keep"};
    unsigned long reverted = 0, truncated = 0, kid_reverted = 0, kid_truncated = 0;
    unsigned long long beyond = 0, kid_beyond = 0;
    char kid[200] = "";
    pid_t pid = pc_kid != NULL ? pc_kid->pid : 0;
    int running = 0;

    /* our child still running, or ended and not reaped yet: stopped for good first (a
     * pid the daemon reaped already is not ours to kill: its process has ended) */
    if (pid > 0 && waitpid(pid, NULL, WNOHANG | __WALL) == 0) {
        running = 1;
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
            ;
    }
    if (pid > 0) {
        size_t n = __atomic_load_n(&pc_kid->j.nsectors, __ATOMIC_ACQUIRE);
        struct pc_journal *kj = &pc_kid->j;
        kj->nsectors = n;
        pc_revert(kj, &kid_reverted, &kid_truncated, &kid_beyond);
        snprintf(kid, sizeof(kid),
                 "; its child %ld (%s) too: %d files, %zu sectors and %llu new bytes not "
                 "durable, %lu put back, %lu files cut",
                 (long)pid, running ? "killed while writing" : "ended", kj->nfiles, n, kid_beyond,
                 kid_reverted, kid_truncated);
    }
    pc_revert(pc_j, &reverted, &truncated, &beyond);
    pc_logf("powercut: %s %s after %lu calls, mode %s%s: %zu sectors and %llu new bytes not "
            "durable, %lu put back, %lu files cut to their durable size%s\n",
            where, call, pc_calls, modes[pc_mode], pc_ignore_sync ? " (syncs ignored)" : "",
            pc_j->nsectors, beyond, reverted, truncated, kid);
    raise(SIGKILL);
    _exit(137);
}

enum pc_where { PC_NONE, PC_BEFORE, PC_INSIDE, PC_AFTER };

/* Whether this call is where the power goes, and where in it. Called locked. */
static enum pc_where pc_due(int is_write)
{
    pc_calls++;
    if (pc_after_ns == 0 || pc_is_child) /* the parent cuts for both */
        return PC_NONE;
    if (pc_cut_at_ns == 0) /* the clock starts at the store's first write */
        pc_cut_at_ns = pc_now_ns() + pc_after_ns;
    if (pc_now_ns() < pc_cut_at_ns)
        return PC_NONE;
    switch (pc_random() % (is_write ? 3 : 2)) {
    case 0:
        return PC_BEFORE;
    case 1:
        return PC_AFTER;
    default:
        return PC_INSIDE;
    }
}

static int pc_dsync(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && (fl & O_DSYNC) == O_DSYNC;
}

/* One write of len bytes at off (-1: the file position) through do_write. */
static ssize_t pc_write(const char *call, int fd, off_t off, size_t len,
                        ssize_t (*do_write)(int, off_t, size_t, void *), void *arg)
{
    enum pc_where where;
    ssize_t r;
    int file;

    pthread_mutex_lock(&pc_lock);
    file = pc_file_of(fd);
    if (file < 0) {
        pthread_mutex_unlock(&pc_lock);
        return do_write(fd, off, len, arg);
    }
    where = pc_due(1);
    if (where == PC_BEFORE)
        pc_cut(call, "before");
    {
        off_t at = off >= 0 ? off : lseek(fd, 0, SEEK_CUR);
        if (fcntl(fd, F_GETFL) & O_APPEND) {
            struct stat st;
            at = fstat(fd, &st) == 0 ? st.st_size : at;
        }
        pc_save(file, at, len);
        if (where == PC_INSIDE) {
            /* a torn write: a sector-aligned prefix reached the file */
            size_t part =
                len > PC_SECTOR ? (size_t)(pc_random() % (len / PC_SECTOR)) * PC_SECTOR : 0;
            if (part > 0)
                do_write(fd, off, part, arg);
            pc_cut(call, "inside");
        }
        r = do_write(fd, off, len, arg);
        if (r > 0 && pc_dsync(fd))
            pc_synced_range(file, at, (size_t)r);
    }
    if (where == PC_AFTER)
        pc_cut(call, "after");
    pthread_mutex_unlock(&pc_lock);
    return r;
}

/* do_write callbacks: arg is the buffer or the iovec array (with its count). */
struct pc_iov {
    const struct iovec *iov;
    int n;
};

static ssize_t pc_do_buf(int fd, off_t off, size_t len, void *arg)
{
    PC_REAL(write);
    PC_REAL(pwrite);
    return off >= 0 ? real_pwrite(fd, arg, len, off) : real_write(fd, arg, len);
}

/* Write the first len bytes of an iovec array, as one call when len is all of it. */
static ssize_t pc_do_iov(int fd, off_t off, size_t len, void *arg)
{
    const struct pc_iov *v = arg;
    struct iovec part[64];
    size_t left = len;
    int n = 0;

    PC_REAL(writev);
    PC_REAL(pwritev);
    for (int i = 0; i < v->n && left > 0 && n < 64; i++) {
        part[n] = v->iov[i];
        if (part[n].iov_len > left)
            part[n].iov_len = left;
        left -= part[n].iov_len;
        n++;
    }
    if (n == 64 && left > 0) /* more pieces than we copy: the whole call */
        return off >= 0 ? real_pwritev(fd, v->iov, v->n, off) : real_writev(fd, v->iov, v->n);
    return off >= 0 ? real_pwritev(fd, part, n, off) : real_writev(fd, part, n);
}

static size_t pc_iov_len(const struct iovec *iov, int n)
{
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += iov[i].iov_len;
    return len;
}

ssize_t write(int fd, const void *buf, size_t len)
{
    return pc_write("write", fd, -1, len, pc_do_buf, (void *)buf);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
    return pc_write("pwrite", fd, off, len, pc_do_buf, (void *)buf);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
    return pc_write("pwrite64", fd, off, len, pc_do_buf, (void *)buf);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    struct pc_iov v = {iov, n};
    return pc_write("writev", fd, -1, pc_iov_len(iov, n), pc_do_iov, &v);
}

ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
    struct pc_iov v = {iov, n};
    return pc_write("pwritev", fd, off, pc_iov_len(iov, n), pc_do_iov, &v);
}

ssize_t pwritev64(int fd, const struct iovec *iov, int n, off_t off)
{
    struct pc_iov v = {iov, n};
    return pc_write("pwritev64", fd, off, pc_iov_len(iov, n), pc_do_iov, &v);
}

/* A call on one file (a sync, or a truncate to len) through fd by do_call; a sync
 * that succeeds makes the file's writes durable. */
static int pc_file_call(const char *call, int fd, off_t len, int is_sync,
                        int (*do_call)(int, off_t))
{
    enum pc_where where;
    int file, r;

    pthread_mutex_lock(&pc_lock);
    file = pc_file_of(fd);
    if (file < 0) {
        pthread_mutex_unlock(&pc_lock);
        return do_call(fd, len);
    }
    where = pc_due(0);
    if (where == PC_BEFORE)
        pc_cut(call, "before");
    r = do_call(fd, len);
    if (r == 0 && is_sync)
        pc_synced(file, fd);
    if (where == PC_AFTER)
        pc_cut(call, "after");
    pthread_mutex_unlock(&pc_lock);
    return r;
}

static int pc_do_fsync(int fd, off_t unused)
{
    (void)unused;
    PC_REAL(fsync);
    return real_fsync(fd);
}

static int pc_do_fdatasync(int fd, off_t unused)
{
    (void)unused;
    PC_REAL(fdatasync);
    return real_fdatasync(fd);
}

static int pc_do_ftruncate(int fd, off_t len)
{
    PC_REAL(ftruncate);
    return real_ftruncate(fd, len);
}

static int pc_do_ftruncate64(int fd, off_t len)
{
    PC_REAL(ftruncate64);
    return real_ftruncate64(fd, len);
}

int fsync(int fd)
{
    return pc_file_call("fsync", fd, 0, 1, pc_do_fsync);
}

int fdatasync(int fd)
{
    return pc_file_call("fdatasync", fd, 0, 1, pc_do_fdatasync);
}

int syncfs(int fd)
{
    int r;

    PC_REAL(syncfs);
    r = real_syncfs(fd);
    pthread_mutex_lock(&pc_lock);
    for (int f = 0; r == 0 && f < pc_j->nfiles; f++)
        pc_synced(f, -1);
    pthread_mutex_unlock(&pc_lock);
    return r;
}

void sync(void)
{
    PC_REAL(sync);
    real_sync();
    pthread_mutex_lock(&pc_lock);
    for (int f = 0; f < pc_j->nfiles; f++)
        pc_synced(f, -1);
    pthread_mutex_unlock(&pc_lock);
}

int ftruncate(int fd, off_t len)
{
    return pc_file_call("ftruncate", fd, len, 0, pc_do_ftruncate);
}

int ftruncate64(int fd, off_t len)
{
    return pc_file_call("ftruncate64", fd, len, 0, pc_do_ftruncate64);
}

/* Shared writable mappings of watched files are remembered for msync. Returns addr. */
static void *pc_map_add(void *addr, size_t len, int prot, int flags, int fd)
{
    int file;

    if (addr == MAP_FAILED || fd < 0 || !(flags & MAP_SHARED) || !(prot & PROT_WRITE))
        return addr;
    pthread_mutex_lock(&pc_lock);
    file = pc_file_of(fd);
    if (file >= 0 && pc_nmaps < PC_MAX_MAPS)
        pc_maps[pc_nmaps++] = (struct pc_map){addr, len, file};
    pthread_mutex_unlock(&pc_lock);
    return addr;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    PC_REAL(mmap);
    return pc_map_add(real_mmap(addr, len, prot, flags, fd, off), len, prot, flags, fd);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    PC_REAL(mmap64);
    return pc_map_add(real_mmap64(addr, len, prot, flags, fd, off), len, prot, flags, fd);
}

int munmap(void *addr, size_t len)
{
    PC_REAL(munmap);
    pthread_mutex_lock(&pc_lock);
    for (int i = 0; i < pc_nmaps; i++) {
        if (pc_maps[i].addr == addr) {
            pc_maps[i] = pc_maps[--pc_nmaps];
            break;
        }
    }
    pthread_mutex_unlock(&pc_lock);
    return real_munmap(addr, len);
}

int msync(void *addr, size_t len, int flags)
{
    enum pc_where where = PC_NONE;
    int file = -1, r;

    PC_REAL(msync);
    pthread_mutex_lock(&pc_lock);
    for (int i = 0; i < pc_nmaps; i++) {
        if ((char *)addr >= pc_maps[i].addr && (char *)addr < pc_maps[i].addr + pc_maps[i].len)
            file = pc_maps[i].file;
    }
    if (file >= 0)
        where = pc_due(0);
    if (where == PC_BEFORE)
        pc_cut("msync", "before");
    r = real_msync(addr, len, flags);
    if (file >= 0 && r == 0 && (flags & MS_SYNC))
        pc_synced(file, -1);
    if (where == PC_AFTER)
        pc_cut("msync", "after");
    pthread_mutex_unlock(&pc_lock);
    return r;
}

/* A fork: the child journals into the shared pc_kid, so that the parent's cut puts its
 * writes back too (the power goes for both); the child itself never cuts. Under the
 * lock, so that no cut falls between the fork and the child's pid being known. A child
 * of the child is not watched. */
pid_t fork(void)
{
    pid_t pid;

    PC_REAL(fork);
    pthread_mutex_lock(&pc_lock);
    if (pc_on < 0)
        pc_init();
    /* what the child calls, found now: dlsym after a fork of threads may deadlock */
    PC_REAL(write);
    PC_REAL(pwrite);
    PC_REAL(writev);
    PC_REAL(pwritev);
    PC_REAL(fsync);
    PC_REAL(fdatasync);
    PC_REAL(ftruncate);
    PC_REAL(ftruncate64);
    if (pc_on && pc_kid != NULL && !pc_is_child) {
        pc_kid->pid = 0;
        pc_kid->j.nfiles = 0;
        pc_kid->j.nsectors = 0;
        pc_kid->j.sectors = pc_kid->sectors;
        pc_kid->j.capsectors = PC_KID_SECTORS;
    }
    pid = real_fork();
    if (pid == 0) {
        if (pc_is_child || pc_kid == NULL) {
            pc_on = 0;
        } else {
            /* the parent's descriptors and mappings are the parent's to track */
            for (int i = 0; i < pc_own.nfiles; i++)
                if (pc_own.files[i].rfd >= 0)
                    close(pc_own.files[i].rfd);
            pc_nmaps = 0;
            pc_j = &pc_kid->j;
            pc_is_child = 1;
        }
    } else if (pid > 0 && pc_on && pc_kid != NULL && !pc_is_child) {
        pc_kid->pid = pid;
    }
    pthread_mutex_unlock(&pc_lock);
    return pid;
}
