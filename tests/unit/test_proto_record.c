/*
 * Unit tests of proto's msgpack records: round trips of events, retractions and
 * registry entries, forward compatibility (unknown keys), version and kind checks,
 * enum values stored by name, and malformed input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "record.h"

static void make_event(struct wm_event *ev, int type)
{
    memset(ev, 0, sizeof(*ev));
    ev->seq = 123456789012ULL;
    ev->recv_time = 1709000000;
    ev->date = proto_date_from_ymd(2023, 9, 14);
    ev->months = -1;
    ev->hours = -1;
    ev->type = (uint8_t)type;
    strcpy(ev->id, "export-2023/09:77");
    strcpy(ev->person, "hmac:0f1e2d3c4b5a6978");
    strcpy(ev->gemeente, "gooise-meren");
    strcpy(ev->principal, "wsp-export");
    switch (type) {
    case WM_TYPE_STARTED:
        strcpy(ev->project, "zorgstart");
        ev->enums[0] = 4;
        ev->enums[1] = 5;
        ev->enums[2] = 6;
        break;
    case WM_TYPE_COMPLETED:
        strcpy(ev->project, "taal");
        ev->enums[0] = 3;
        break;
    case WM_TYPE_PLACED:
        strcpy(ev->project, "wsp-werkt");
        ev->enums[0] = 9;
        ev->enums[1] = 1;
        ev->enums[2] = WM_DURABLE_YES_IDX;
        ev->months = 12;
        ev->hours = 32;
        strcpy(ev->employer, "Zorggroep \xc3\xa9\xc3\xa9n %");
        strcpy(ev->by, "Accountmanager Noord");
        break;
    default:
        ev->enums[0] = 2;
        ev->enums[1] = 3;
        break;
    }
}

static void assert_event_equal(const struct wm_event *a, const struct wm_event *b)
{
    assert_true(proto_event_same(a, b));
    assert_int_equal(a->seq, b->seq);
    assert_int_equal(a->recv_time, b->recv_time);
    assert_string_equal(a->principal, b->principal);
    assert_int_equal(a->replaces, b->replaces);
    assert_memory_equal(a->enums, b->enums, sizeof(a->enums));
}

/* Find a string in a byte buffer. */
static int contains(const char *data, size_t len, const char *s)
{
    size_t n = strlen(s), i;

    for (i = 0; i + n <= len; i++)
        if (memcmp(data + i, s, n) == 0)
            return 1;
    return 0;
}

static void test_event_round_trip(void **state)
{
    msgpack_sbuffer sb;
    struct wm_event ev, back;
    int t;

    (void)state;
    msgpack_sbuffer_init(&sb);
    for (t = 0; t < WM_TYPE_COUNT_; t++) {
        msgpack_sbuffer_clear(&sb);
        make_event(&ev, t);
        assert_int_equal(proto_event_encode(&ev, &sb), WM_OK);
        assert_int_equal(proto_record_kind(sb.data, sb.size), PROTO_RECORD_EVENT);
        assert_int_equal(proto_event_decode(sb.data, sb.size, &back), WM_OK);
        assert_event_equal(&ev, &back);
        /* Not a retraction nor a project. */
        {
            struct wm_retract rt;
            struct wm_project p;
            assert_int_equal(proto_retract_decode(sb.data, sb.size, &rt), WM_EVERSION);
            assert_int_equal(proto_project_decode(sb.data, sb.size, &p), WM_EVERSION);
        }
    }
    /* Extreme values survive. */
    make_event(&ev, WM_TYPE_PLACED);
    ev.seq = UINT64_MAX;
    ev.recv_time = INT64_MIN;
    ev.date = INT32_MIN + 1;
    ev.months = 0;
    ev.hours = 60;
    ev.enums[2] = WM_DURABLE_NO_IDX;
    msgpack_sbuffer_clear(&sb);
    assert_int_equal(proto_event_encode(&ev, &sb), WM_OK);
    assert_int_equal(proto_event_decode(sb.data, sb.size, &back), WM_OK);
    assert_event_equal(&ev, &back);
    /* A version made by REPLACE names the one it replaced; the first names none, and
     * the key is written only when set (records of earlier builds lack it). */
    assert_false(contains(sb.data, sb.size, "replaces"));
    ev.replaces = 41;
    msgpack_sbuffer_clear(&sb);
    assert_int_equal(proto_event_encode(&ev, &sb), WM_OK);
    assert_true(contains(sb.data, sb.size, "replaces"));
    assert_int_equal(proto_event_decode(sb.data, sb.size, &back), WM_OK);
    assert_event_equal(&ev, &back);
    msgpack_sbuffer_destroy(&sb);
}

/* The record's bytes are msgpack-c's own forms: read back with msgpack-c's unpacker
 * and packed again with msgpack_pack_object, they come out the same, for strings of
 * every length around the short form's limit (31, 32 bytes) and the str8 form's (255,
 * 256), written in one piece or two (record.c's pack_str). */
static void test_event_bytes_canonical(void **state)
{
    static const size_t lens[] = {0, 1, 30, 31, 32, 33, 64, 128, 255, 256, 300};
    msgpack_sbuffer sb, again;
    msgpack_unpacked u;
    msgpack_packer pk;
    struct wm_event ev;

    (void)state;
    msgpack_sbuffer_init(&sb);
    msgpack_sbuffer_init(&again);
    msgpack_unpacked_init(&u);
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        size_t off = 0;

        make_event(&ev, WM_TYPE_PLACED);
        memset(ev.employer, 'e', lens[i]);
        ev.employer[lens[i]] = '\0';
        if (lens[i] >= 1 && lens[i] <= WM_ID_MAX) {
            memset(ev.id, 'i', lens[i]);
            ev.id[lens[i]] = '\0';
        }
        msgpack_sbuffer_clear(&sb);
        msgpack_sbuffer_clear(&again);
        assert_int_equal(proto_event_encode(&ev, &sb), WM_OK);
        assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
        assert_int_equal(off, sb.size);
        msgpack_packer_init(&pk, &again, msgpack_sbuffer_write);
        assert_int_equal(msgpack_pack_object(&pk, u.data), 0);
        assert_int_equal(again.size, sb.size);
        assert_memory_equal(again.data, sb.data, sb.size);
    }
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&again);
    msgpack_sbuffer_destroy(&sb);
}

static void test_enums_stored_by_name(void **state)
{
    msgpack_sbuffer sb;
    struct wm_event ev;

    (void)state;
    msgpack_sbuffer_init(&sb);
    make_event(&ev, WM_TYPE_PLACED);
    assert_int_equal(proto_event_encode(&ev, &sb), WM_OK);
    assert_true(contains(sb.data, sb.size, "sector"));
    assert_true(contains(sb.data, sb.size, "overig"));
    assert_true(contains(sb.data, sb.size, "leerwerk"));
    assert_true(contains(sb.data, sb.size, "durable"));
    assert_true(contains(sb.data, sb.size, "placed"));
    msgpack_sbuffer_destroy(&sb);
}

/* Pack a hand-made event map; which lets a test change one thing at a time. */
enum variant {
    V_PLAIN,
    V_EXTRA_KEYS,
    V_VERSION2,
    V_NO_VERSION,
    V_KIND_BAD,
    V_UNKNOWN_ENUM,
    V_UNKNOWN_TYPE,
    V_MISSING_ID,
    V_ID_NOT_STR,
    V_NO_DURABLE,
    V_MONTHS_BAD,
    V_VERSION_STR,
    V_ID_TOO_LONG
};

static void pack_s(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

static void pack_custom(msgpack_sbuffer *sb, enum variant v)
{
    msgpack_packer pk;
    char longid[200];
    size_t n = 13 + (v == V_EXTRA_KEYS ? 2 : 0) -
               (v == V_NO_VERSION || v == V_MISSING_ID || v == V_NO_DURABLE);

    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, n);
    if (v == V_EXTRA_KEYS) {
        pack_s(&pk, "future");
        msgpack_pack_array(&pk, 2);
        msgpack_pack_int(&pk, 1);
        pack_s(&pk, "x");
    }
    if (v != V_NO_VERSION) {
        pack_s(&pk, "v");
        if (v == V_VERSION_STR)
            pack_s(&pk, "1");
        else
            msgpack_pack_int(&pk, v == V_VERSION2 ? 2 : 1);
    }
    pack_s(&pk, "k");
    pack_s(&pk, v == V_KIND_BAD ? "evnt" : "event");
    /* keys in an order of their own: decode must not depend on it */
    pack_s(&pk, "sector");
    pack_s(&pk, v == V_UNKNOWN_ENUM ? "ruimtevaart" : "bouw");
    pack_s(&pk, "contract");
    pack_s(&pk, "betaald");
    if (v != V_NO_DURABLE) {
        pack_s(&pk, "durable");
        pack_s(&pk, "no");
    }
    pack_s(&pk, "type");
    pack_s(&pk, v == V_UNKNOWN_TYPE ? "hired" : "placed");
    pack_s(&pk, "seq");
    msgpack_pack_uint64(&pk, 42);
    pack_s(&pk, "rt");
    msgpack_pack_int64(&pk, 1700000000);
    pack_s(&pk, "date");
    msgpack_pack_int32(&pk, 19000);
    if (v != V_MISSING_ID) {
        pack_s(&pk, "id");
        if (v == V_ID_NOT_STR) {
            msgpack_pack_int(&pk, 5);
        } else if (v == V_ID_TOO_LONG) {
            memset(longid, 'x', sizeof(longid) - 1);
            longid[sizeof(longid) - 1] = '\0';
            pack_s(&pk, longid);
        } else {
            pack_s(&pk, "e-42");
        }
    }
    pack_s(&pk, "person");
    pack_s(&pk, "pseudo-0042");
    pack_s(&pk, "gemeente");
    pack_s(&pk, "weesp");
    pack_s(&pk, "months");
    if (v == V_MONTHS_BAD)
        msgpack_pack_int(&pk, 500);
    else
        msgpack_pack_int(&pk, 3);
    if (v == V_EXTRA_KEYS) {
        pack_s(&pk, "new_field");
        msgpack_pack_map(&pk, 1);
        pack_s(&pk, "a");
        msgpack_pack_nil(&pk);
    }
}

static int decode_variant(enum variant v, struct wm_event *ev)
{
    msgpack_sbuffer sb;
    int rc;

    msgpack_sbuffer_init(&sb);
    pack_custom(&sb, v);
    rc = proto_event_decode(sb.data, sb.size, ev);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static void test_decode_variants(void **state)
{
    struct wm_event ev;

    (void)state;
    assert_int_equal(decode_variant(V_PLAIN, &ev), WM_OK);
    assert_int_equal(ev.type, WM_TYPE_PLACED);
    assert_int_equal(ev.seq, 42);
    assert_int_equal(ev.recv_time, 1700000000);
    assert_int_equal(ev.date, 19000);
    assert_string_equal(ev.id, "e-42");
    assert_string_equal(ev.person, "pseudo-0042");
    assert_string_equal(ev.gemeente, "weesp");
    assert_string_equal(ev.project, "");
    assert_string_equal(ev.principal, "");
    assert_int_equal(ev.enums[0], 2);
    assert_int_equal(ev.enums[1], 0);
    assert_int_equal(ev.enums[2], WM_DURABLE_NO_IDX);
    assert_int_equal(ev.months, 3);
    assert_int_equal(ev.hours, -1);

    /* Forward compatibility: unknown keys are ignored. */
    assert_int_equal(decode_variant(V_EXTRA_KEYS, &ev), WM_OK);
    assert_string_equal(ev.id, "e-42");
    /* durable absent: derived again from months (3 -> no). */
    assert_int_equal(decode_variant(V_NO_DURABLE, &ev), WM_OK);
    assert_int_equal(ev.enums[2], WM_DURABLE_NO_IDX);

    assert_int_equal(decode_variant(V_VERSION2, &ev), WM_EVERSION);
    assert_int_equal(decode_variant(V_NO_VERSION, &ev), WM_EVERSION);
    assert_int_equal(decode_variant(V_VERSION_STR, &ev), WM_EVERSION);
    assert_int_equal(decode_variant(V_KIND_BAD, &ev), WM_EVERSION);
    assert_int_equal(decode_variant(V_UNKNOWN_ENUM, &ev), WM_EVERSION);
    assert_int_equal(decode_variant(V_UNKNOWN_TYPE, &ev), WM_EVERSION);
    assert_int_equal(decode_variant(V_MISSING_ID, &ev), WM_EINTERNAL);
    assert_int_equal(decode_variant(V_ID_NOT_STR, &ev), WM_EINTERNAL);
    assert_int_equal(decode_variant(V_ID_TOO_LONG, &ev), WM_EINTERNAL);
    assert_int_equal(decode_variant(V_MONTHS_BAD, &ev), WM_EINTERNAL);
}

static void test_record_kind(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;

    (void)state;
    msgpack_sbuffer_init(&sb);
    pack_custom(&sb, V_PLAIN);
    assert_int_equal(proto_record_kind(sb.data, sb.size), PROTO_RECORD_EVENT);
    msgpack_sbuffer_clear(&sb);
    pack_custom(&sb, V_VERSION2);
    assert_int_equal(proto_record_kind(sb.data, sb.size), WM_EVERSION);
    msgpack_sbuffer_clear(&sb);
    pack_custom(&sb, V_KIND_BAD);
    assert_int_equal(proto_record_kind(sb.data, sb.size), WM_EVERSION);
    /* Not a map, empty, truncated, trailing bytes. */
    msgpack_sbuffer_clear(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 0);
    assert_int_equal(proto_record_kind(sb.data, sb.size), WM_EINTERNAL);
    assert_int_equal(proto_record_kind("", 0), WM_EINTERNAL);
    msgpack_sbuffer_clear(&sb);
    pack_custom(&sb, V_PLAIN);
    assert_int_equal(proto_record_kind(sb.data, sb.size - 1), WM_EINTERNAL);
    msgpack_sbuffer_write(&sb, "\xc0", 1);
    assert_int_equal(proto_record_kind(sb.data, sb.size), WM_EINTERNAL);
    msgpack_sbuffer_destroy(&sb);
}

static void test_truncations_never_crash(void **state)
{
    msgpack_sbuffer sb;
    struct wm_event ev, back;
    size_t cut;

    (void)state;
    msgpack_sbuffer_init(&sb);
    make_event(&ev, WM_TYPE_PLACED);
    assert_int_equal(proto_event_encode(&ev, &sb), WM_OK);
    for (cut = 0; cut < sb.size; cut++)
        assert_int_not_equal(proto_event_decode(sb.data, cut, &back), WM_OK);
    msgpack_sbuffer_destroy(&sb);
}

/* A minimal outflow event map with room for nextra more entries. */
static void pack_minimal(msgpack_packer *pk, size_t nextra)
{
    msgpack_pack_map(pk, 11 + nextra);
    pack_s(pk, "v");
    msgpack_pack_int(pk, 1);
    pack_s(pk, "k");
    pack_s(pk, "event");
    pack_s(pk, "type");
    pack_s(pk, "outflow");
    pack_s(pk, "seq");
    msgpack_pack_uint64(pk, 1);
    pack_s(pk, "rt");
    msgpack_pack_int64(pk, -5);
    pack_s(pk, "date");
    msgpack_pack_int32(pk, 11000);
    pack_s(pk, "id");
    pack_s(pk, "o-1");
    pack_s(pk, "person");
    pack_s(pk, "pseudo-0001");
    pack_s(pk, "gemeente");
    pack_s(pk, "eemnes");
    pack_s(pk, "benefit");
    pack_s(pk, "wajong");
    pack_s(pk, "reason");
    pack_s(pk, "scholing");
}

static void test_unknown_keys_of_every_type(void **state)
{
    static const char blob[300] = {1, 2, 3};
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct wm_event ev;
    static const size_t ext_lens[] = {1, 2, 4, 8, 16, 3, 200, 300};
    size_t i;

    (void)state;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_minimal(&pk, 0);
    assert_int_equal(proto_event_decode(sb.data, sb.size, &ev), WM_OK);
    assert_int_equal(ev.type, WM_TYPE_OUTFLOW);
    assert_int_equal(ev.enums[0], 2);
    assert_int_equal(ev.enums[1], 1);
    assert_int_equal(ev.recv_time, -5);

    /* Later versions may add keys holding any msgpack type: all are skipped. */
    msgpack_sbuffer_clear(&sb);
    pack_minimal(&pk, 22);
    pack_s(&pk, "f32");
    msgpack_pack_float(&pk, 1.5f);
    pack_s(&pk, "f64");
    msgpack_pack_double(&pk, 2.5);
    pack_s(&pk, "i8");
    msgpack_pack_int8(&pk, -100);
    pack_s(&pk, "i16");
    msgpack_pack_int16(&pk, -30000);
    pack_s(&pk, "i32");
    msgpack_pack_int32(&pk, -2000000000);
    pack_s(&pk, "i64");
    msgpack_pack_int64(&pk, INT64_MIN);
    pack_s(&pk, "u8");
    msgpack_pack_uint8(&pk, 200);
    pack_s(&pk, "u16");
    msgpack_pack_uint16(&pk, 60000);
    pack_s(&pk, "u32");
    msgpack_pack_uint32(&pk, 4000000000u);
    pack_s(&pk, "bin");
    msgpack_pack_bin(&pk, 3);
    msgpack_pack_bin_body(&pk, blob, 3);
    pack_s(&pk, "bin16");
    msgpack_pack_bin(&pk, 300);
    msgpack_pack_bin_body(&pk, blob, 300);
    pack_s(&pk, "str16");
    msgpack_pack_str(&pk, 300);
    msgpack_pack_str_body(&pk, blob, 300);
    for (i = 0; i < sizeof(ext_lens) / sizeof(ext_lens[0]); i++) {
        char key[8];
        snprintf(key, sizeof(key), "ext%zu", ext_lens[i]);
        pack_s(&pk, key);
        msgpack_pack_ext(&pk, ext_lens[i], 7);
        msgpack_pack_ext_body(&pk, blob, ext_lens[i]);
    }
    pack_s(&pk, "nested");
    msgpack_pack_array(&pk, 20);
    for (i = 0; i < 20; i++)
        msgpack_pack_nil(&pk);
    pack_s(&pk, "bool");
    msgpack_pack_true(&pk);
    assert_int_equal(proto_event_decode(sb.data, sb.size, &ev), WM_OK);
    assert_string_equal(ev.id, "o-1");
    assert_string_equal(ev.gemeente, "eemnes");
    msgpack_sbuffer_destroy(&sb);
}

static void test_huge_counts_refused(void **state)
{
    /* A map32 claiming about 3 billion entries in 16 bytes: refused before any
     * allocation (found by the fuzzer: msgpack_unpack would ask for ~150 GB). */
    static const unsigned char map32[] = {0xdf, 0xbe, 0x5d, 0x37, 0x25, 0x46, 0x30, 0x21,
                                          0x39, 0x46, 0x25, 0x39, 0x38, 0x25, 0x38, 0x30};
    static const unsigned char arr32[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0};
    static const unsigned char map16[] = {0x81, 0xa1, 'v', 0xde, 0x00, 0x05, 0xc0, 0xc0};
    static const unsigned char str32[] = {0xdb, 0x7f, 0xff, 0xff, 0xff, 'a'};
    static const unsigned char unused[] = {0xc1};
    struct wm_event ev;

    (void)state;
    assert_int_equal(proto_record_kind(map32, sizeof(map32)), WM_EINTERNAL);
    assert_int_equal(proto_event_decode(map32, sizeof(map32), &ev), WM_EINTERNAL);
    assert_int_equal(proto_record_kind(arr32, sizeof(arr32)), WM_EINTERNAL);
    assert_int_equal(proto_record_kind(map16, sizeof(map16)), WM_EINTERNAL);
    assert_int_equal(proto_record_kind(str32, sizeof(str32)), WM_EINTERNAL);
    assert_int_equal(proto_record_kind(unused, sizeof(unused)), WM_EINTERNAL);
}

static void test_retract_round_trip(void **state)
{
    msgpack_sbuffer sb;
    struct wm_retract rt, back;
    struct wm_event ev;

    (void)state;
    msgpack_sbuffer_init(&sb);
    memset(&rt, 0, sizeof(rt));
    rt.seq = 99;
    rt.recv_time = 1710000000;
    rt.ref_seq = 12;
    rt.by_seq = 0;
    strcpy(rt.id, "r-1");
    strcpy(rt.ref, "e-12");
    strcpy(rt.reason, "dubbel ingevoerd, zie ticket 4711");
    strcpy(rt.principal, "hilversum-export");
    assert_int_equal(proto_retract_encode(&rt, &sb), WM_OK);
    assert_int_equal(proto_record_kind(sb.data, sb.size), PROTO_RECORD_RETRACT);
    assert_int_equal(proto_retract_decode(sb.data, sb.size, &back), WM_OK);
    assert_int_equal(back.seq, 99);
    assert_int_equal(back.recv_time, 1710000000);
    assert_int_equal(back.ref_seq, 12);
    assert_int_equal(back.by_seq, 0);
    assert_string_equal(back.id, "r-1");
    assert_string_equal(back.ref, "e-12");
    assert_string_equal(back.reason, rt.reason);
    assert_string_equal(back.principal, rt.principal);
    assert_int_equal(back.replaced_by, 0);
    assert_int_equal(proto_event_decode(sb.data, sb.size, &ev), WM_EVERSION);

    /* REPLACE's retraction names the version that replaced it */
    msgpack_sbuffer_clear(&sb);
    rt.replaced_by = 100;
    assert_int_equal(proto_retract_encode(&rt, &sb), WM_OK);
    assert_int_equal(proto_retract_decode(sb.data, sb.size, &back), WM_OK);
    assert_int_equal(back.replaced_by, 100);
    assert_string_equal(back.reason, rt.reason);
    rt.replaced_by = 0;

    msgpack_sbuffer_clear(&sb);
    rt.by_seq = 1;
    rt.ref[0] = '\0';
    rt.reason[0] = '\0';
    assert_int_equal(proto_retract_encode(&rt, &sb), WM_OK);
    assert_int_equal(proto_retract_decode(sb.data, sb.size, &back), WM_OK);
    assert_int_equal(back.by_seq, 1);
    assert_string_equal(back.ref, "");
    assert_string_equal(back.reason, "");
    msgpack_sbuffer_destroy(&sb);
}

/* Start a project record of four keys in sb: "v", "k", "name" (name), and one the
 * caller packs next. */
static void pack_project_head(msgpack_sbuffer *sb, msgpack_packer *pk, const char *name)
{
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(pk, 4);
    msgpack_pack_str_with_body(pk, "v", 1);
    msgpack_pack_uint8(pk, 1);
    msgpack_pack_str_with_body(pk, "k", 1);
    msgpack_pack_str_with_body(pk, "project", 7);
    msgpack_pack_str_with_body(pk, "name", 4);
    msgpack_pack_str_with_body(pk, name, strlen(name));
}

/* Fuzz finding (fuzz_record): a project record whose title is not UTF-8 decoded, and
 * the damaged bytes would have gone out raw in PROJECTS. The decoders refuse text the
 * encoder could not have written; UTF-8 text still decodes. */
static void test_fuzz_record_title_invalid_utf8(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct wm_project p;
    static const struct {
        const char *title;
        int want;
    } cases[] = {{"Don\xac p:7f3a9c2en Hout", WM_EINTERNAL},
                 {"caf\xc3", WM_EINTERNAL},
                 {"Caf\xc3\xa9 de Hoek \xe2\x82\xac", WM_OK}};

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pack_project_head(&sb, &pk, "hout");
        msgpack_pack_str_with_body(&pk, "title", 5);
        msgpack_pack_str_with_body(&pk, cases[i].title, strlen(cases[i].title));
        assert_int_equal(proto_project_decode(sb.data, sb.size, &p), cases[i].want);
        if (cases[i].want == WM_OK)
            assert_string_equal(p.title, cases[i].title);
        msgpack_sbuffer_destroy(&sb);
    }
}

/* Fuzz finding (fuzz_record): a record holding arrays nested some 190 deep made
 * msgpack_unpack fail as out of memory, so a damaged record read as WM_ENOMEM. Too deep
 * is malformed (WM_EINTERNAL); an unknown key with a shallow nested value is ignored. */
static void test_fuzz_record_deep_nesting_is_malformed(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct wm_project p;

    (void)state;
    for (int depth = 3; depth <= 190; depth += 187) {
        pack_project_head(&sb, &pk, "gooise-waardetas");
        msgpack_pack_str_with_body(&pk, "future", 6);
        for (int i = 0; i < depth; i++)
            msgpack_pack_array(&pk, 1);
        msgpack_pack_nil(&pk);
        if (depth == 3) {
            assert_int_equal(proto_record_kind(sb.data, sb.size), PROTO_RECORD_PROJECT);
            assert_int_equal(proto_project_decode(sb.data, sb.size, &p), WM_OK);
            assert_string_equal(p.name, "gooise-waardetas");
        } else {
            assert_int_equal(proto_record_kind(sb.data, sb.size), WM_EINTERNAL);
            assert_int_equal(proto_project_decode(sb.data, sb.size, &p), WM_EINTERNAL);
        }
        msgpack_sbuffer_destroy(&sb);
    }
}

static void test_project_round_trip(void **state)
{
    msgpack_sbuffer sb;
    struct wm_project p, back;

    (void)state;
    msgpack_sbuffer_init(&sb);
    memset(&p, 0, sizeof(p));
    strcpy(p.name, "zorgstart");
    strcpy(p.category, "scholingsprojecten");
    p.scope = WM_SCOPE_LOCAL;
    p.start = proto_date_from_ymd(2020, 9, 1);
    p.end = proto_date_from_ymd(2023, 12, 31);
    p.target[0] = 48;
    p.target[1] = 0;
    p.target[2] = 36;
    strcpy(p.title, "ZorgStart: opleiden voor de zorg");
    p.set_mask = 0xff;
    assert_int_equal(proto_project_encode(&p, &sb), WM_OK);
    assert_int_equal(proto_record_kind(sb.data, sb.size), PROTO_RECORD_PROJECT);
    assert_int_equal(proto_project_decode(sb.data, sb.size, &back), WM_OK);
    assert_string_equal(back.name, p.name);
    assert_string_equal(back.category, p.category);
    assert_int_equal(back.scope, WM_SCOPE_LOCAL);
    assert_int_equal(back.start, p.start);
    assert_int_equal(back.end, p.end);
    assert_int_equal(back.target[0], 48);
    assert_int_equal(back.target[1], 0);
    assert_int_equal(back.target[2], 36);
    assert_string_equal(back.title, p.title);
    assert_int_equal(back.set_mask, 0); /* not stored */

    /* The program, with nothing set. */
    msgpack_sbuffer_clear(&sb);
    memset(&p, 0, sizeof(p));
    strcpy(p.name, "*");
    p.start = p.end = WM_DATE_NONE;
    p.target[0] = p.target[1] = p.target[2] = -1;
    assert_int_equal(proto_project_encode(&p, &sb), WM_OK);
    assert_int_equal(proto_project_decode(sb.data, sb.size, &back), WM_OK);
    assert_string_equal(back.name, "*");
    assert_int_equal(back.scope, WM_SCOPE_REGIONAL);
    assert_int_equal(back.start, WM_DATE_NONE);
    assert_int_equal(back.end, WM_DATE_NONE);
    assert_int_equal(back.target[0], -1);
    assert_int_equal(back.target[1], -1);
    assert_int_equal(back.target[2], -1);
    assert_string_equal(back.title, "");
    msgpack_sbuffer_destroy(&sb);
}

static void test_encode_refuses_bad_struct(void **state)
{
    msgpack_sbuffer sb;
    struct wm_event ev;
    struct wm_project p;

    (void)state;
    msgpack_sbuffer_init(&sb);
    make_event(&ev, WM_TYPE_COMPLETED);
    ev.enums[0] = 4; /* result has 4 values */
    assert_int_equal(proto_event_encode(&ev, &sb), WM_EINTERNAL);
    ev.enums[0] = 0;
    ev.type = WM_TYPE_COUNT_;
    assert_int_equal(proto_event_encode(&ev, &sb), WM_EINTERNAL);
    memset(&p, 0, sizeof(p));
    p.scope = 2;
    assert_int_equal(proto_project_encode(&p, &sb), WM_EINTERNAL);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_round_trip),
        cmocka_unit_test(test_event_bytes_canonical),
        cmocka_unit_test(test_enums_stored_by_name),
        cmocka_unit_test(test_decode_variants),
        cmocka_unit_test(test_record_kind),
        cmocka_unit_test(test_truncations_never_crash),
        cmocka_unit_test(test_unknown_keys_of_every_type),
        cmocka_unit_test(test_huge_counts_refused),
        cmocka_unit_test(test_retract_round_trip),
        cmocka_unit_test(test_project_round_trip),
        cmocka_unit_test(test_fuzz_record_title_invalid_utf8),
        cmocka_unit_test(test_fuzz_record_deep_nesting_is_malformed),
        cmocka_unit_test(test_encode_refuses_bad_struct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
