/*
 * libFuzzer target for the client's import reader (client/import.c): the first byte of
 * an input chooses CSV (even) or NDJSON (odd), the rest is the file. Every row becomes
 * either one EVENT request line (the client escapes what it sends) or the client's own
 * refusal; nothing may crash, hang or leak.
 */
#include "fuzz.h"

#include <string.h>

#include "client.h"
#include "proto.h"

struct rows {
    struct proto_request req;
    long last_line;
};

static void on_row(void *arg, long lineno, const char *line, size_t len, int local)
{
    struct rows *r = arg;
    char err[256];
    int rc;

    fuzz_check(lineno >= r->last_line && lineno >= 1, "rows in order of their lines");
    r->last_line = lineno;
    if (local) {
        fuzz_check(len > 11 && memcmp(line, "ERR invalid ", 12) == 0, "a refusal is ERR invalid");
        fuzz_check(memchr(line, '\n', len) == NULL, "one refusal, one line");
        return;
    }
    fuzz_check(len >= 1 && line[len - 1] == '\n', "a request ends with LF");
    fuzz_check(memchr(line, '\n', len - 1) == NULL && memchr(line, '\r', len) == NULL,
               "a request is one line");
    fuzz_check(len > 6 && memcmp(line, "EVENT ", 6) == 0, "a request is an EVENT");
    /* The server may refuse a value (a control character the client escaped as %0A,
     * say): the row is then rejected with the server's ERR, naming the field. */
    rc = proto_parse_line(&r->req, line, len - 1, err, sizeof(err));
    fuzz_check(rc == WM_OK || rc == WM_ESYNTAX || rc == WM_EINVALID,
               "a request parses or is refused");
    fuzz_check(rc != WM_OK || r->req.verb == PROTO_VERB_EVENT, "a request is an EVENT");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    struct rows r;
    char err[512], path[64];

    if (size == 0)
        return 0;
    fuzz_memory_file(&fd, data + 1, size - 1, path, sizeof(path));
    memset(&r, 0, sizeof(r));
    proto_request_init(&r.req);
    err[0] = '\0';
    if (cli_import_read(fd, data[0] & 1, NULL, on_row, &r, err, sizeof(err)) != WM_OK)
        fuzz_check(err[0] != '\0' && strnlen(err, sizeof(err)) < sizeof(err), "an error says why");
    proto_request_free(&r.req);
    return 0;
}
