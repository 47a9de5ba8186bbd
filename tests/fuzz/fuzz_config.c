/*
 * libFuzzer target for werkmonitord's config file parser (daemon/config.c): one input is
 * a config file. It either loads, and then prints as a config file that loads again to
 * the same settings, or is refused with a message naming the file and line.
 */
#define _GNU_SOURCE /* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

/* A memory file holding data; its path is /proc/self/fd/N. */
static int memory_file(int *fd, const void *data, size_t size, char *path, size_t pathlen)
{
    if (*fd < 0 && (*fd = memfd_create("fuzz-config", MFD_CLOEXEC)) < 0)
        return -1;
    if (ftruncate(*fd, 0) != 0 || pwrite(*fd, data, size, 0) != (ssize_t)size)
        return -1;
    snprintf(path, pathlen, "/proc/self/fd/%d", *fd);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1, fd2 = -1;
    static struct config cfg, again;
    char path[64], path2[64], err[1024];
    char *printed = NULL;
    size_t plen = 0;
    FILE *out;

    if (memory_file(&fd, data, size, path, sizeof(path)) != 0)
        abort();
    config_defaults(&cfg);
    err[0] = '\0';
    if (config_load_file(&cfg, path, err, sizeof(err)) != WM_OK) {
        check(strncmp(err, path, strlen(path)) == 0, "an error names the file");
        return 0;
    }
    /* what --check-config prints must load again, to the same settings */
    out = open_memstream(&printed, &plen);
    if (out == NULL)
        abort();
    config_print(&cfg, out);
    fclose(out);
    if (memory_file(&fd2, printed, plen, path2, sizeof(path2)) != 0)
        abort();
    config_defaults(&again);
    check(config_load_file(&again, path2, err, sizeof(err)) == WM_OK,
          "the printed configuration loads");
    check(again.n_listen == cfg.n_listen && again.max_line == cfg.max_line &&
              again.max_connections == cfg.max_connections &&
              again.idle_timeout == cfg.idle_timeout && again.map_size == cfg.map_size &&
              again.n_gemeenten == cfg.n_gemeenten && strcmp(again.data_dir, cfg.data_dir) == 0,
          "the printed configuration is the same");
    free(printed);
    return 0;
}
