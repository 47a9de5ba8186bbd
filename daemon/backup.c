/*
 * backup: the BACKUP command (admin). A hot backup of the store (store_backup: one
 * snapshot, compacted, synced) into a new directory under backup-dir, made on a thread
 * of its own so the event loop and the writer go on meanwhile; its answer takes the
 * asking connection's place in the reply order, as a write's does.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "daemon.h"
#include "log.h"

struct backup_job {
    struct server *srv;
    struct conn *c; /* who asked; its slot is reserved until the answer */
    char principal[WM_NAME_MAX + 1];
    pthread_t thread;
    struct event *ev_done; /* made active by the thread when the copy is done */
    char dir[CONFIG_PATH_MAX];
    char path[CONFIG_PATH_MAX + 64];
    const char *name; /* the last part of path */
    struct store_backup_info info;
    int rc;
    char err[512];
    double ms;
};

static void *backup_main(void *arg)
{
    struct backup_job *j = arg;
    struct timespec t0, t1;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    j->rc = store_backup(j->srv->store, j->path, &j->info, j->err, sizeof j->err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    j->ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    event_active(j->ev_done, EV_READ, 0);
    return NULL;
}

static void backup_job_free(struct backup_job *j)
{
    if (j->ev_done)
        event_free(j->ev_done);
    free(j);
}

/* On the loop thread, once the copy is done: answer and log. */
static void on_backup_done(evutil_socket_t fd, short what, void *arg)
{
    struct backup_job *j = arg;
    struct server *srv = j->srv;
    struct wm_buf *out = &srv->out;

    (void)fd;
    (void)what;
    pthread_join(j->thread, NULL);
    srv->backup = NULL;
    wm_buf_reset(out);
    if (j->rc == WM_OK) {
        log_msg(LOG_INFO, "backup by principal=%s: %s through seq %llu, %llu bytes, %.0f ms",
                j->principal, j->path, (unsigned long long)j->info.last_seq,
                (unsigned long long)j->info.bytes, j->ms);
        wm_buf_printf(out, "OK %s", j->name);
        proto_fmt_pair_u64(out, "seq", j->info.last_seq);
        proto_fmt_pair_u64(out, "events", j->info.events);
        proto_fmt_pair_u64(out, "bytes", j->info.bytes);
        proto_fmt_pair_u64(out, "ms", (uint64_t)j->ms);
        wm_buf_puts(out, "\n");
    } else {
        log_msg(LOG_ERROR, "backup by principal=%s failed: %s", j->principal, j->err);
        stats_count_error(srv, WM_ESTORAGE);
        proto_fmt_error(out, WM_ESTORAGE, j->err);
    }
    conn_wait_done(j->c, out->oom ? NULL : out->data, out->len);
    backup_job_free(j);
    server_check_stopped(srv);
}

/* A new directory name under j->dir: the UTC time, with a suffix when taken. WM_OK or
 * WM_EIO with j->err. */
static int backup_pick_path(struct backup_job *j)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    struct stat sb;

    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    if (mkdir(j->dir, 0700) != 0 && errno != EEXIST) {
        proto_errf(j->err, sizeof j->err, "cannot create the backup directory %s: %s", j->dir,
                   strerror(errno));
        return WM_EIO;
    }
    for (int i = 1; i < 100; i++) {
        int n = i == 1
                    ? snprintf(j->path, sizeof j->path, "%s/werkmonitor-%s", j->dir, stamp)
                    : snprintf(j->path, sizeof j->path, "%s/werkmonitor-%s-%d", j->dir, stamp, i);
        if (n >= (int)sizeof j->path) {
            proto_errf(j->err, sizeof j->err, "backup-dir path too long");
            return WM_EIO;
        }
        if (stat(j->path, &sb) != 0 && errno == ENOENT) {
            j->name = strrchr(j->path, '/') + 1;
            return WM_OK;
        }
    }
    proto_errf(j->err, sizeof j->err, "no free backup name under %s", j->dir);
    return WM_EIO;
}

void backup_start(struct conn *c)
{
    struct server *srv = c->srv;
    const struct config *cfg = srv->cfg;
    struct backup_job *j;

    if (srv->req.nargs != 0) {
        conn_reply_err(c, WM_EINVALID, "BACKUP takes no arguments (the copy goes to backup-dir)");
        return;
    }
    if (srv->stopping) {
        conn_reply_err(c, WM_EUNAVAILABLE, "the server is shutting down");
        return;
    }
    if (srv->backup) {
        conn_reply_err(c, WM_EUNAVAILABLE, "a backup is running already (to %s)",
                       srv->backup->name);
        return;
    }
    j = calloc(1, sizeof *j);
    if (!j || !(j->ev_done = event_new(srv->base, -1, 0, on_backup_done, j))) {
        free(j);
        conn_reply_err(c, WM_EINTERNAL, "out of memory");
        return;
    }
    j->srv = srv;
    j->c = c;
    memcpy(j->principal, c->principal, sizeof j->principal);
    if (cfg->backup_dir[0])
        snprintf(j->dir, sizeof j->dir, "%s", cfg->backup_dir);
    else if (snprintf(j->dir, sizeof j->dir, "%s/backups", cfg->data_dir) >= (int)sizeof j->dir)
        j->dir[0] = '\0';
    if (!j->dir[0] || backup_pick_path(j) != WM_OK) {
        conn_reply_err(c, WM_ESTORAGE, "%s", j->dir[0] ? j->err : "backup-dir path too long");
        backup_job_free(j);
        return;
    }
    if (conn_wait_write(c) != WM_OK) {
        backup_job_free(j);
        conn_reply_err(c, WM_EINTERNAL, "out of memory");
        return;
    }
    if (pthread_create(&j->thread, NULL, backup_main, j) != 0) {
        /* the slot is reserved: answer through it */
        proto_errf(j->err, sizeof j->err, "cannot start the backup's thread");
        wm_buf_reset(&srv->out);
        stats_count_error(srv, WM_EINTERNAL);
        proto_fmt_error(&srv->out, WM_EINTERNAL, j->err);
        conn_wait_done(c, srv->out.oom ? NULL : srv->out.data, srv->out.len);
        backup_job_free(j);
        return;
    }
    srv->backup = j;
    log_msg(LOG_INFO, "backup by principal=%s to %s started", j->principal, j->path);
}

int backup_running(const struct server *srv)
{
    return srv->backup != NULL;
}

void backup_free(struct server *srv)
{
    struct backup_job *j = srv->backup;

    if (!j)
        return;
    pthread_join(j->thread, NULL);
    srv->backup = NULL;
    backup_job_free(j);
}
