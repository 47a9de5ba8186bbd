/*
 * fsync_latency: how long the disk under a directory takes to make a small write
 * durable. That bounds a single client that waits for each durable acknowledgement.
 * Usage: fsync_latency [DIR] [COUNT]   (defaults: ./data, 2000)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int cmp_u64(const void *a, const void *b)
{
    unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
    return x < y ? -1 : x > y;
}

static unsigned long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "./data";
    long count = argc > 2 ? strtol(argv[2], NULL, 10) : 2000;
    char path[4096];
    char page[4096];
    unsigned long long *lat = NULL;
    int fd = -1, rc = 1;

    if (count < 10 || count > 1000000) {
        fprintf(stderr, "fsync_latency: COUNT must be 10..1000000\n");
        return 2;
    }
    snprintf(path, sizeof(path), "%s/fsync-latency.%ld", dir, (long)getpid());
    lat = calloc((size_t)count, sizeof(*lat));
    if (lat == NULL)
        goto out;
    fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    if (fd < 0) {
        fprintf(stderr, "fsync_latency: %s: %s\n", path, strerror(errno));
        goto out;
    }
    memset(page, 'x', sizeof(page));
    for (long i = 0; i < count; i++) {
        /* Rewrite the same two pages in turn, as LMDB rewrites its meta pages. */
        unsigned long long t0 = now_ns();
        if (pwrite(fd, page, sizeof(page), (off_t)(i % 2) * (off_t)sizeof(page)) < 0 ||
            fdatasync(fd) != 0) {
            fprintf(stderr, "fsync_latency: %s: %s\n", path, strerror(errno));
            goto out;
        }
        lat[i] = now_ns() - t0;
    }
    qsort(lat, (size_t)count, sizeof(*lat), cmp_u64);
    printf("fsync latency on %s: n=%ld median=%.1f us p99=%.1f us max=%.1f us "
           "(=> at most %.0f durable commits/s for one waiting client)\n",
           dir, count, lat[count / 2] / 1000.0, lat[count * 99 / 100] / 1000.0,
           lat[count - 1] / 1000.0, 1e9 / (double)lat[count / 2]);
    rc = 0;
out:
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
    free(lat);
    return rc;
}
