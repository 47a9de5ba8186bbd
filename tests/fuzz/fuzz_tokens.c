/*
 * libFuzzer target for werkmonitord's token file parser (daemon/auth.c): one input is a
 * tokens file. It either loads, and every entry is found by a lookup of a token that
 * is not its own never, or is refused with a message; nothing may crash or leak.
 */
#include "fuzz.h"

#include <string.h>

#include "auth.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    struct auth_table *t = NULL;
    char path[64], err[1024];
    int rc;

    fuzz_memory_file(&fd, data, size, path, sizeof(path));
    err[0] = '\0';
    rc = auth_table_load(path, proto_default_gemeenten, 8, &t, err, sizeof(err));
    if (rc != WM_OK) {
        fuzz_check(t == NULL, "no table on an error");
        fuzz_check(err[0] != '\0' && strnlen(err, sizeof(err)) < sizeof(err), "an error says why");
        return 0;
    }
    fuzz_check(t != NULL, "a table on success");
    /* the input itself as a token: never a match unless its hash is in the file */
    auth_table_lookup(t, (const char *)data, size);
    fuzz_check(auth_table_lookup(t, "", 0) == NULL, "the empty token matches nothing");
    auth_table_free(t);
    return 0;
}
