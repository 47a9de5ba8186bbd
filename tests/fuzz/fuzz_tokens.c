/*
 * libFuzzer target for werkmonitord's token file parser (daemon/auth.c): one input is a
 * tokens file. It either loads, and every entry is found by a lookup of a token that
 * is not its own never, or is refused with a message; nothing may crash or leak.
 */
#define _GNU_SOURCE /* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "auth.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    struct auth_table *t = NULL;
    char path[64], err[1024];
    int rc;

    if (fd < 0 && (fd = memfd_create("fuzz-tokens", MFD_CLOEXEC)) < 0)
        abort();
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    err[0] = '\0';
    rc = auth_table_load(path, proto_default_gemeenten, 8, &t, err, sizeof(err));
    if (rc != WM_OK) {
        check(t == NULL, "no table on an error");
        check(err[0] != '\0' && strnlen(err, sizeof(err)) < sizeof(err), "an error says why");
        return 0;
    }
    check(t != NULL, "a table on success");
    /* the input itself as a token: never a match unless its hash is in the file */
    auth_table_lookup(t, (const char *)data, size);
    check(auth_table_lookup(t, "", 0) == NULL, "the empty token matches nothing");
    auth_table_free(t);
    return 0;
}
