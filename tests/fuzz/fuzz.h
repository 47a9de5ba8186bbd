/*
 * fuzz.h: what the fuzz targets share: the libFuzzer entry point, stopping on a broken
 * invariant, and a memory file for parsers that read a path. Header-only, since each
 * target is one program.
 */
#ifndef WM_FUZZ_H
#define WM_FUZZ_H

#define _GNU_SOURCE /* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stop with a message when an invariant the program relies on is broken. */
static inline void fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

/* An error message must fit one response line: terminated, printable, valid UTF-8. */
static inline void fuzz_check_message(const char *err, size_t errlen)
{
    size_t n = strnlen(err, errlen);

    fuzz_check(n < errlen, "message not terminated");
    for (size_t i = 0; i < n; i++)
        fuzz_check((unsigned char)err[i] >= 0x20 && err[i] != 0x7f, "control byte in message");
    fuzz_check(proto_utf8_valid(err, n), "message not UTF-8");
}

/*
 * Put data in the memory file *fd (made on the first call) and its path,
 * /proc/self/fd/N, in path; the file's offset is left at 0. Aborts when the system
 * refuses, which is no finding of the target.
 */
static inline void fuzz_memory_file(int *fd, const void *data, size_t size, char *path,
                                    size_t pathlen)
{
    if (*fd < 0 && (*fd = memfd_create("fuzz", MFD_CLOEXEC)) < 0)
        abort();
    if (ftruncate(*fd, 0) != 0 || (size > 0 && pwrite(*fd, data, size, 0) != (ssize_t)size) ||
        lseek(*fd, 0, SEEK_SET) != 0)
        abort();
    snprintf(path, pathlen, "/proc/self/fd/%d", *fd);
}

#endif /* WM_FUZZ_H */
