/*
 * libFuzzer target for proto's request parser and validators: one input is one request
 * line, fed to proto_parse_line and then to every builder, the formatters and the record
 * codecs, checking their invariants. Built and run by tests/fuzz/run.sh (-DWM_FUZZ=ON).
 */
#include "fuzz.h"

#include <string.h>

#include "proto.h"
#include "record.h"

/* Stop with a message when an invariant the daemon relies on is broken. */

static void check_record(const struct wm_event *ev)
{
    msgpack_sbuffer sb;
    struct wm_event back;

    msgpack_sbuffer_init(&sb);
    fuzz_check(proto_event_encode(ev, &sb) == WM_OK, "encode of a built event");
    fuzz_check(proto_record_kind(sb.data, sb.size) == PROTO_RECORD_EVENT, "record kind");
    fuzz_check(proto_event_decode(sb.data, sb.size, &back) == WM_OK, "decode of an encoded event");
    fuzz_check(proto_event_same(ev, &back), "event round trip");
    msgpack_sbuffer_destroy(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const gemeenten[] = {"laren", "weesp", "gooise-meren"};
    struct proto_env env = {gemeenten, 3, 19782 /* 2024-02-29 */};
    struct proto_request req;
    struct wm_event ev;
    struct wm_retract rt;
    struct wm_project p;
    struct wm_count_query q;
    struct wm_progress_query pq;
    struct wm_buf out;
    msgpack_sbuffer sb;
    char err[160];
    size_t i;
    int rc;

    proto_request_init(&req);
    wm_buf_init(&out);
    rc = proto_parse_line(&req, (const char *)data, size, err, sizeof(err));
    if (rc != WM_OK) {
        fuzz_check_message(err, sizeof(err));
        fuzz_check(rc == WM_ESYNTAX || rc == WM_EINVALID, "parse error code");
        proto_fmt_error(&out, rc, err);
        goto done;
    }
    fuzz_check(req.nargs <= PROTO_MAX_ARGS, "nargs bound");
    for (i = 0; i < req.nargs; i++) {
        fuzz_check(strlen(req.args[i].val) == req.args[i].val_len, "value length");
        fuzz_check(proto_utf8_valid(req.args[i].val, req.args[i].val_len), "value UTF-8");
        wm_buf_puts(&out, "ROW");
        proto_fmt_pair(&out, req.args[i].key ? req.args[i].key : "arg", req.args[i].val);
        wm_buf_puts(&out, "\n");
    }
    /* Every builder on every line, whatever its verb: each must cope with anything. */
    rc = proto_event_build(&req, &env, &ev, err, sizeof(err));
    if (rc == WM_OK)
        check_record(&ev);
    else
        fuzz_check_message(err, sizeof(err));
    rc = proto_retract_build(&req, &rt, err, sizeof(err));
    if (rc == WM_OK) {
        struct wm_retract back;
        msgpack_sbuffer_init(&sb);
        fuzz_check(proto_retract_encode(&rt, &sb) == WM_OK, "retract encode");
        fuzz_check(proto_retract_decode(sb.data, sb.size, &back) == WM_OK, "retract decode");
        fuzz_check(strcmp(back.id, rt.id) == 0 && strcmp(back.reason, rt.reason) == 0, "retract");
        msgpack_sbuffer_destroy(&sb);
    } else {
        fuzz_check_message(err, sizeof(err));
    }
    rc = proto_project_build(&req, &p, err, sizeof(err));
    if (rc == WM_OK) {
        struct wm_project back;
        msgpack_sbuffer_init(&sb);
        fuzz_check(proto_project_encode(&p, &sb) == WM_OK, "project encode");
        fuzz_check(proto_project_decode(sb.data, sb.size, &back) == WM_OK, "project decode");
        fuzz_check(strcmp(back.title, p.title) == 0 && back.start == p.start, "project");
        msgpack_sbuffer_destroy(&sb);
    } else {
        fuzz_check_message(err, sizeof(err));
    }
    if (proto_program_build(&req, &p, err, sizeof(err)) != WM_OK)
        fuzz_check_message(err, sizeof(err));
    /* Twice: the second build must see the same query (comma lists split in place). */
    rc = proto_count_build(&req, &env, &q, err, sizeof(err));
    if (rc == WM_OK) {
        struct wm_count_query q2;
        fuzz_check(proto_count_build(&req, &env, &q2, err, sizeof(err)) == WM_OK, "count again");
        fuzz_check(q.nby == q2.nby && q.from == q2.from && q.to == q2.to, "count stable");
        fuzz_check(q.from <= q.to, "from <= to");
        for (i = 0; i < WM_DIM_COUNT_; i++) {
            fuzz_check(q.filter[i].n == q2.filter[i].n, "filter stable");
            fuzz_check(q.filter[i].n <= WM_MAX_FILTER_VALUES, "filter bound");
        }
        for (i = 0; i < q.nby; i++)
            fuzz_check(proto_dim_name(q.type, q.by[i]) != NULL, "by dim of type");
    } else {
        fuzz_check_message(err, sizeof(err));
    }
    if (proto_progress_build(&req, &env, &pq, err, sizeof(err)) != WM_OK)
        fuzz_check_message(err, sizeof(err));
    /* The raw bytes as a record must never crash the decoders. */
    proto_record_kind(data, size);
    proto_event_decode(data, size, &ev);
    proto_retract_decode(data, size, &rt);
    proto_project_decode(data, size, &p);
done:
    fuzz_check(wm_buf_cstr(&out) != NULL, "buffer");
    fuzz_check(out.len == 0 || memchr(out.data, '\r', out.len) == NULL, "CR in output");
    wm_buf_free(&out);
    proto_request_free(&req);
    return 0;
}
