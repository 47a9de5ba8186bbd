/*
 * libFuzzer target for the HTTP API's query-string parser (proto_parse_query, read by
 * daemon/http_api.c): one input is a query string, read as the parameters of COUNT
 * (type= is the positional type) and of PROGRESS, then validated by their builders.
 * Errors must be one printable UTF-8 line; parsed values must be what a request line
 * would hold; nothing may crash or leak.
 */
#include "fuzz.h"

#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const gemeenten[] = {"laren", "weesp", "gooise-meren"};
    struct proto_env env = {gemeenten, 3, 19782 /* 2024-02-29 */};
    struct proto_request req;
    struct wm_count_query q;
    struct wm_progress_query pq;
    char err[160];
    int rc;

    proto_request_init(&req);
    rc = proto_parse_query(&req, PROTO_VERB_COUNT, (const char *)data, size, "type", err,
                           sizeof(err));
    if (rc == WM_OK) {
        fuzz_check(req.verb == PROTO_VERB_COUNT, "verb");
        fuzz_check(req.nargs <= PROTO_MAX_ARGS, "nargs bound");
        for (size_t i = 0; i < req.nargs; i++) {
            fuzz_check(strlen(req.args[i].val) == req.args[i].val_len, "value length");
            fuzz_check(proto_utf8_valid(req.args[i].val, req.args[i].val_len), "value UTF-8");
            for (size_t j = 0; j < req.args[i].val_len; j++)
                fuzz_check((unsigned char)req.args[i].val[j] >= 0x20, "control byte in value");
        }
        if (proto_count_build(&req, &env, &q, err, sizeof(err)) == WM_OK)
            fuzz_check(q.from <= q.to, "from <= to");
        else
            fuzz_check_message(err, sizeof(err));
    } else {
        fuzz_check(rc == WM_ESYNTAX || rc == WM_EINVALID, "parse error code");
        fuzz_check_message(err, sizeof(err));
    }
    rc = proto_parse_query(&req, PROTO_VERB_PROGRESS, (const char *)data, size, NULL, err,
                           sizeof(err));
    if (rc == WM_OK) {
        if (proto_progress_build(&req, &env, &pq, err, sizeof(err)) != WM_OK)
            fuzz_check_message(err, sizeof(err));
    } else {
        fuzz_check_message(err, sizeof(err));
    }
    proto_request_free(&req);
    return 0;
}
