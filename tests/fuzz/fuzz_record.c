/*
 * libFuzzer target for proto's record decoders (proto/record.c): one input is the bytes
 * of a stored record, as storage reads it from LMDB. Whatever a decoder accepts must
 * encode again and decode to the same value; nothing may crash or leak.
 */
#include "fuzz.h"

#include <string.h>

#include "proto.h"
#include "record.h"

/* A decoded string field must be terminated inside its array and valid UTF-8. */
static void check_text(const char *s, size_t cap, const char *what)
{
    size_t n = strnlen(s, cap);

    fuzz_check(n < cap, what);
    fuzz_check(proto_utf8_valid(s, n), what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wm_event ev, ev2;
    struct wm_retract rt, rt2;
    struct wm_project p, p2;
    msgpack_sbuffer sb;
    int kind = proto_record_kind(data, size);

    fuzz_check(kind == PROTO_RECORD_EVENT || kind == PROTO_RECORD_RETRACT ||
                   kind == PROTO_RECORD_PROJECT || kind == WM_EVERSION || kind == WM_EINTERNAL,
               "record kind");
    msgpack_sbuffer_init(&sb);
    if (proto_event_decode(data, size, &ev) == WM_OK) {
        fuzz_check(kind == PROTO_RECORD_EVENT, "an event that is not of kind event");
        check_text(ev.id, sizeof(ev.id), "event id");
        check_text(ev.person, sizeof(ev.person), "event person");
        fuzz_check(proto_event_encode(&ev, &sb) == WM_OK, "event encode");
        fuzz_check(proto_event_decode(sb.data, sb.size, &ev2) == WM_OK, "event decode again");
        fuzz_check(proto_event_same(&ev, &ev2), "event round trip");
        msgpack_sbuffer_clear(&sb);
    }
    if (proto_retract_decode(data, size, &rt) == WM_OK) {
        fuzz_check(kind == PROTO_RECORD_RETRACT, "a retraction that is not of kind retract");
        check_text(rt.id, sizeof(rt.id), "retraction id");
        check_text(rt.reason, sizeof(rt.reason), "retraction reason");
        fuzz_check(proto_retract_encode(&rt, &sb) == WM_OK, "retract encode");
        fuzz_check(proto_retract_decode(sb.data, sb.size, &rt2) == WM_OK, "retract decode again");
        fuzz_check(strcmp(rt.id, rt2.id) == 0 && strcmp(rt.ref, rt2.ref) == 0 &&
                       strcmp(rt.reason, rt2.reason) == 0 && rt.seq == rt2.seq,
                   "retract round trip");
        msgpack_sbuffer_clear(&sb);
    }
    if (proto_project_decode(data, size, &p) == WM_OK) {
        fuzz_check(kind == PROTO_RECORD_PROJECT, "a project that is not of kind project");
        check_text(p.name, sizeof(p.name), "project name");
        check_text(p.title, sizeof(p.title), "project title");
        fuzz_check(proto_project_encode(&p, &sb) == WM_OK, "project encode");
        fuzz_check(proto_project_decode(sb.data, sb.size, &p2) == WM_OK, "project decode again");
        fuzz_check(strcmp(p.name, p2.name) == 0 && strcmp(p.category, p2.category) == 0 &&
                       strcmp(p.title, p2.title) == 0 && p.start == p2.start && p.end == p2.end &&
                       p.scope == p2.scope && memcmp(p.target, p2.target, sizeof(p.target)) == 0,
                   "project round trip");
    }
    msgpack_sbuffer_destroy(&sb);
    return 0;
}
