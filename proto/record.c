/*
 * record: the on-disk form of events, retractions and registry entries, as msgpack
 * maps with string keys, "v" (format version) and "k" (kind). Enumerated values are
 * stored by name so a record describes itself and survives reordered tables; decoding
 * ignores keys it does not know, for records written by later versions.
 */
#include <string.h>

#include "record.h"

/* ---- encoding: straight into the caller's sbuffer, nothing else allocated ---- */

static int pack_str(msgpack_packer *pk, const char *s, size_t n)
{
    unsigned char tmp[32];

    /* A short string (nearly every key and value of a record) goes out in one write of
     * its fixstr header and bytes, the form msgpack_pack_str gives it, rather than two:
     * the writer thread encodes every event, and each write is a call and a copy. */
    if (n < 32) {
        tmp[0] = (unsigned char)(0xa0 | n);
        memcpy(tmp + 1, s, n);
        return pk->callback(pk->data, (const char *)tmp, n + 1);
    }
    return msgpack_pack_str(pk, n) | msgpack_pack_str_body(pk, s, n);
}

static int pack_key(msgpack_packer *pk, const char *key)
{
    return pack_str(pk, key, strlen(key));
}

static int pack_kv_str(msgpack_packer *pk, const char *key, const char *val)
{
    return pack_key(pk, key) | pack_str(pk, val, strlen(val));
}

static int pack_kv_u64(msgpack_packer *pk, const char *key, uint64_t v)
{
    return pack_key(pk, key) | msgpack_pack_uint64(pk, v);
}

static int pack_kv_i64(msgpack_packer *pk, const char *key, int64_t v)
{
    return pack_key(pk, key) | msgpack_pack_int64(pk, v);
}

static int pack_head(msgpack_packer *pk, size_t nentries, const char *kind)
{
    return msgpack_pack_map(pk, nentries) | pack_kv_u64(pk, "v", PROTO_RECORD_VERSION) |
           pack_kv_str(pk, "k", kind);
}

int proto_event_encode(const struct wm_event *ev, msgpack_sbuffer *sb)
{
    const struct proto_type_desc *td = proto_type_desc(ev->type);
    msgpack_packer pk;
    size_t n = 9, i;
    int rc;

    if (td == NULL)
        return WM_EINTERNAL;
    for (i = 0; i < td->nenums; i++)
        if (ev->enums[i] >= td->enums[i]->nvalues)
            return WM_EINTERNAL;
    /* v k seq rt type date id person gemeente + principal, enums and optional fields */
    n += 1 + td->nenums;
    n += ev->project[0] != '\0';
    n += ev->months >= 0;
    n += ev->hours >= 0;
    n += ev->employer[0] != '\0';
    n += ev->by[0] != '\0';
    n += ev->replaces != 0;

    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    rc = pack_head(&pk, n, "event");
    rc |= pack_kv_u64(&pk, "seq", ev->seq);
    rc |= pack_kv_i64(&pk, "rt", ev->recv_time);
    rc |= pack_kv_str(&pk, "type", td->name);
    rc |= pack_kv_i64(&pk, "date", ev->date);
    rc |= pack_kv_str(&pk, "id", ev->id);
    rc |= pack_kv_str(&pk, "person", ev->person);
    rc |= pack_kv_str(&pk, "gemeente", ev->gemeente);
    rc |= pack_kv_str(&pk, "principal", ev->principal);
    if (ev->project[0] != '\0')
        rc |= pack_kv_str(&pk, "project", ev->project);
    for (i = 0; i < td->nenums; i++)
        rc |= pack_kv_str(&pk, td->enums[i]->name, td->enums[i]->values[ev->enums[i]]);
    if (ev->months >= 0)
        rc |= pack_kv_i64(&pk, "months", ev->months);
    if (ev->hours >= 0)
        rc |= pack_kv_i64(&pk, "hours", ev->hours);
    if (ev->employer[0] != '\0')
        rc |= pack_kv_str(&pk, "employer", ev->employer);
    if (ev->by[0] != '\0')
        rc |= pack_kv_str(&pk, "by", ev->by);
    if (ev->replaces != 0)
        rc |= pack_kv_u64(&pk, "replaces", ev->replaces);
    return rc ? WM_ENOMEM : WM_OK;
}

int proto_retract_encode(const struct wm_retract *rt, msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    int rc;

    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    rc = pack_head(&pk, 10 + (rt->replaced_by != 0), "retract");
    rc |= pack_kv_u64(&pk, "seq", rt->seq);
    rc |= pack_kv_i64(&pk, "rt", rt->recv_time);
    rc |= pack_kv_u64(&pk, "ref_seq", rt->ref_seq);
    rc |= pack_key(&pk, "by_seq");
    rc |= rt->by_seq ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
    rc |= pack_kv_str(&pk, "id", rt->id);
    rc |= pack_kv_str(&pk, "ref", rt->ref);
    rc |= pack_kv_str(&pk, "reason", rt->reason);
    rc |= pack_kv_str(&pk, "principal", rt->principal);
    if (rt->replaced_by != 0)
        rc |= pack_kv_u64(&pk, "replaced_by", rt->replaced_by);
    return rc ? WM_ENOMEM : WM_OK;
}

static const char *const target_keys[3] = {"target.started", "target.completed", "target.placed"};
static const char *const scope_names[2] = {"regional", "local"};

int proto_project_encode(const struct wm_project *p, msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    size_t n = 5, i;
    int rc;

    if (p->scope > WM_SCOPE_LOCAL)
        return WM_EINTERNAL;
    n += p->start != WM_DATE_NONE;
    n += p->end != WM_DATE_NONE;
    for (i = 0; i < 3; i++)
        n += p->target[i] >= 0;
    n += p->title[0] != '\0';

    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    rc = pack_head(&pk, n, "project");
    rc |= pack_kv_str(&pk, "name", p->name);
    rc |= pack_kv_str(&pk, "category", p->category);
    rc |= pack_kv_str(&pk, "scope", scope_names[p->scope]);
    if (p->start != WM_DATE_NONE)
        rc |= pack_kv_i64(&pk, "start", p->start);
    if (p->end != WM_DATE_NONE)
        rc |= pack_kv_i64(&pk, "end", p->end);
    for (i = 0; i < 3; i++)
        if (p->target[i] >= 0)
            rc |= pack_kv_i64(&pk, target_keys[i], p->target[i]);
    if (p->title[0] != '\0')
        rc |= pack_kv_str(&pk, "title", p->title);
    return rc ? WM_ENOMEM : WM_OK;
}

/* ---- decoding ---------------------------------------------------------- */

/* Zone chunk for the map's key/value array; strings point into the record itself. */
#define ZONE_CHUNK 2048

struct rec {
    msgpack_zone zone;
    msgpack_object root;
    int kind; /* PROTO_RECORD_* */
};

static int key_is(const msgpack_object *k, const char *name)
{
    size_t n = strlen(name);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
           memcmp(k->via.str.ptr, name, n) == 0;
}

static const msgpack_object *map_get(const msgpack_object *map, const char *name)
{
    uint32_t i;

    for (i = 0; i < map->via.map.size; i++)
        if (key_is(&map->via.map.ptr[i].key, name))
            return &map->via.map.ptr[i].val;
    return NULL;
}

static int str_is(const msgpack_object *o, const char *s)
{
    return o != NULL && key_is(o, s);
}

/* Big-endian unsigned of n (1, 2 or 4) bytes. */
static uint32_t be(const unsigned char *p, size_t n)
{
    uint32_t v = 0;
    size_t i;

    for (i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Deepest container nesting a record may have (records are flat maps). */
#define MP_MAX_DEPTH 16

/* The width of the length field after a str, bin, ext, array or map type byte (0xc4..0xdf),
 * 0 for a type byte whose value has a fixed width (then *fixed gets it), -1 for 0xc1. */
static int mp_length_width(unsigned char c, size_t *fixed)
{
    static const unsigned char widths[32] = {
        [0x0a] = 4, [0x0b] = 8, [0x0c] = 1, [0x0d] = 2, [0x0e] = 4,
        [0x0f] = 8, [0x10] = 1, [0x11] = 2, [0x12] = 4, [0x13] = 8,
        [0x14] = 2, [0x15] = 3, [0x16] = 5, [0x17] = 9, [0x18] = 17};

    switch (c) {
    case 0xc4: /* bin8 */
    case 0xd9: /* str8 */
    case 0xc7: /* ext8 */
        return 1;
    case 0xc5: /* bin16 */
    case 0xda: /* str16 */
    case 0xc8: /* ext16 */
    case 0xdc: /* array16 */
    case 0xde: /* map16 */
        return 2;
    case 0xc6: /* bin32 */
    case 0xdb: /* str32 */
    case 0xc9: /* ext32 */
    case 0xdd: /* array32 */
    case 0xdf: /* map32 */
        return 4;
    default:
        if (c == 0xc1 || widths[c - 0xc0] == 0)
            return -1; /* 0xc1 is never used */
        *fixed = widths[c - 0xc0];
        return 0;
    }
}

/* Decode the head of the element at p[*off]: advance *off past the type byte and any length
 * field, set *skip to the bytes of its body and *count to the elements it contains (an array's
 * items, a map's keys and values). Returns 0 when the head is cut off or invalid. */
static int mp_head(const unsigned char *p, size_t len, size_t *off, size_t *skip, size_t *count)
{
    unsigned char c = p[(*off)++];
    int w;

    *skip = 0;
    *count = 0;
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
        return 1; /* fixint, nil, booleans: the byte itself */
    if (c <= 0x8f) {
        *count = 2 * (size_t)(c & 0x0f);
        return 1;
    }
    if (c <= 0x9f) {
        *count = c & 0x0f;
        return 1;
    }
    if (c <= 0xbf) {
        *skip = c & 0x1f;
        return 1;
    }
    w = mp_length_width(c, skip);
    if (w <= 0)
        return w == 0;
    if (len - *off < (size_t)w)
        return 0;
    *count = be(p + *off, (size_t)w);
    *off += (size_t)w;
    if (c >= 0xdc) {
        if (c == 0xde || c == 0xdf)
            *count *= 2;
    } else {
        *skip = *count + (c >= 0xc7 && c <= 0xc9); /* ext: plus its type byte */
        *count = 0;
    }
    return 1;
}

/*
 * Check that data is exactly one well-formed msgpack object whose containers claim no
 * more elements than there are bytes left. msgpack_unpack allocates a container's
 * whole element array before reading it, so a corrupt record claiming 2^32 entries
 * would otherwise ask for tens of gigabytes. Containers nest at most MP_MAX_DEPTH deep:
 * msgpack_unpack fails deeper ones as out of memory (fuzz finding: a damaged record read
 * as WM_ENOMEM). Linear, no allocation.
 */
static int mp_well_formed(const unsigned char *p, size_t len)
{
    size_t off = 0, pending = 1, skip, count;
    size_t left[MP_MAX_DEPTH + 1]; /* elements still to come per open container */
    int depth = 0;

    left[0] = 1;
    while (pending > 0) {
        if (off >= len)
            return 0;
        pending--;
        left[depth]--;
        if (!mp_head(p, len, &off, &skip, &count))
            return 0;
        if (len - off < skip)
            return 0;
        off += skip;
        /* every element still to come takes at least one byte */
        if (count > len - off || pending + count > len - off)
            return 0;
        pending += count;
        if (count > 0) {
            if (depth == MP_MAX_DEPTH)
                return 0;
            left[++depth] = count;
        }
        while (depth > 0 && left[depth] == 0)
            depth--;
    }
    return off == len;
}

/* Unpack data and check version and kind. On WM_OK the caller destroys r->zone. */
static int rec_open(struct rec *r, const void *data, size_t len)
{
    const msgpack_object *v, *k;
    size_t off = 0;
    msgpack_unpack_return ur;

    if (!mp_well_formed(data, len))
        return WM_EINTERNAL;
    if (!msgpack_zone_init(&r->zone, ZONE_CHUNK))
        return WM_ENOMEM;
    ur = msgpack_unpack(data, len, &off, &r->zone, &r->root);
    if (ur == MSGPACK_UNPACK_NOMEM_ERROR) {
        msgpack_zone_destroy(&r->zone);
        return WM_ENOMEM;
    }
    if (ur != MSGPACK_UNPACK_SUCCESS || r->root.type != MSGPACK_OBJECT_MAP) {
        msgpack_zone_destroy(&r->zone);
        return WM_EINTERNAL;
    }
    v = map_get(&r->root, "v");
    k = map_get(&r->root, "k");
    if (v == NULL || v->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        v->via.u64 != PROTO_RECORD_VERSION || k == NULL) {
        msgpack_zone_destroy(&r->zone);
        return WM_EVERSION;
    }
    if (str_is(k, "event"))
        r->kind = PROTO_RECORD_EVENT;
    else if (str_is(k, "retract"))
        r->kind = PROTO_RECORD_RETRACT;
    else if (str_is(k, "project"))
        r->kind = PROTO_RECORD_PROJECT;
    else {
        msgpack_zone_destroy(&r->zone);
        return WM_EVERSION;
    }
    return WM_OK;
}

/* Copy a string value into out (capacity cap incl. NUL); refuse NULs and overlength.
 * An absent value gives "" when optional. */
static int get_str(const msgpack_object *map, const char *key, char *out, size_t cap, int required)
{
    const msgpack_object *o = map_get(map, key);

    out[0] = '\0';
    if (o == NULL)
        return required ? WM_EINTERNAL : WM_OK;
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= cap ||
        memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL)
        return WM_EINTERNAL;
    /* The encoder only writes UTF-8 (fuzz finding: a damaged title went out raw); the
     * full check only for text that is not plain ASCII. */
    for (uint32_t i = 0; i < o->via.str.size; i++) {
        if ((unsigned char)o->via.str.ptr[i] >= 0x80) {
            if (!proto_utf8_valid(o->via.str.ptr, o->via.str.size))
                return WM_EINTERNAL;
            break;
        }
    }
    memcpy(out, o->via.str.ptr, o->via.str.size);
    out[o->via.str.size] = '\0';
    return WM_OK;
}

/* An integer in [lo, hi]. Returns 1 when present, 0 when absent, WM_EINTERNAL. */
static int get_int(const msgpack_object *map, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
    const msgpack_object *o = map_get(map, key);

    if (o == NULL)
        return 0;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > (uint64_t)INT64_MAX || (int64_t)o->via.u64 > hi ||
            (int64_t)o->via.u64 < lo)
            return WM_EINTERNAL;
        *out = (int64_t)o->via.u64;
        return 1;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        if (o->via.i64 < lo || o->via.i64 > hi)
            return WM_EINTERNAL;
        *out = o->via.i64;
        return 1;
    }
    return WM_EINTERNAL;
}

static int get_u64(const msgpack_object *map, const char *key, uint64_t *out)
{
    const msgpack_object *o = map_get(map, key);

    if (o == NULL || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return WM_EINTERNAL;
    *out = o->via.u64;
    return WM_OK;
}

/* An optional unsigned integer: 0 when absent (records written before it existed). */
static int get_u64_opt(const msgpack_object *map, const char *key, uint64_t *out)
{
    *out = 0;
    return map_get(map, key) == NULL ? WM_OK : get_u64(map, key, out);
}

/* Map a stored enum name back to its index: WM_EVERSION when this build does not know
 * it (a record from a later table), WM_EINTERNAL when it is not a string. */
static int get_enum(const msgpack_object *o, const char *const *values, size_t n)
{
    size_t i;

    if (o->type != MSGPACK_OBJECT_STR)
        return WM_EINTERNAL;
    for (i = 0; i < n; i++)
        if (key_is(o, values[i]))
            return (int)i;
    return WM_EVERSION;
}

static int event_fields(const msgpack_object *m, struct wm_event *ev)
{
    const struct proto_type_desc *td = NULL;
    const msgpack_object *o;
    int64_t v;
    int t, rc, i, idx;

    o = map_get(m, "type");
    if (o == NULL || o->type != MSGPACK_OBJECT_STR)
        return WM_EINTERNAL;
    for (t = 0; t < WM_TYPE_COUNT_ && td == NULL; t++) {
        if (key_is(o, proto_type_desc(t)->name)) {
            td = proto_type_desc(t);
            ev->type = (uint8_t)t;
        }
    }
    if (td == NULL)
        return WM_EVERSION;
    if (get_u64(m, "seq", &ev->seq) != WM_OK || get_u64_opt(m, "replaces", &ev->replaces) != WM_OK)
        return WM_EINTERNAL;
    if (get_int(m, "rt", INT64_MIN, INT64_MAX, &ev->recv_time) != 1)
        return WM_EINTERNAL;
    if (get_int(m, "date", INT32_MIN, INT32_MAX, &v) != 1)
        return WM_EINTERNAL;
    ev->date = (int32_t)v;
    if (get_str(m, "id", ev->id, sizeof(ev->id), 1) ||
        get_str(m, "person", ev->person, sizeof(ev->person), 1) ||
        get_str(m, "gemeente", ev->gemeente, sizeof(ev->gemeente), 1) ||
        get_str(m, "principal", ev->principal, sizeof(ev->principal), 0) ||
        get_str(m, "project", ev->project, sizeof(ev->project), 0) ||
        get_str(m, "employer", ev->employer, sizeof(ev->employer), 0) ||
        get_str(m, "by", ev->by, sizeof(ev->by), 0))
        return WM_EINTERNAL;
    rc = get_int(m, "months", 0, 120, &v);
    if (rc < 0)
        return rc;
    ev->months = rc == 1 ? (int16_t)v : -1;
    rc = get_int(m, "hours", 1, 60, &v);
    if (rc < 0)
        return rc;
    ev->hours = rc == 1 ? (int16_t)v : -1;
    for (i = 0; i < td->nenums; i++) {
        const struct proto_enum_field *f = td->enums[i];
        o = map_get(m, f->name);
        if (o == NULL) {
            /* A field added after the record was written takes its default; durable
             * can always be derived again. */
            if (f->required)
                return WM_EINTERNAL;
            idx = 0;
            if (f->derived)
                idx = ev->months < 0    ? WM_DURABLE_UNKNOWN_IDX
                      : ev->months >= 6 ? WM_DURABLE_YES_IDX
                                        : WM_DURABLE_NO_IDX;
        } else {
            idx = get_enum(o, f->values, f->nvalues);
            if (idx < 0)
                return idx;
        }
        ev->enums[i] = (uint8_t)idx;
    }
    return WM_OK;
}

int proto_record_kind(const void *data, size_t len)
{
    struct rec r;
    int rc = rec_open(&r, data, len);

    if (rc != WM_OK)
        return rc == WM_EVERSION ? WM_EVERSION : rc;
    msgpack_zone_destroy(&r.zone);
    return r.kind;
}

int proto_event_decode(const void *data, size_t len, struct wm_event *ev)
{
    struct rec r;
    int rc;

    memset(ev, 0, sizeof(*ev));
    rc = rec_open(&r, data, len);
    if (rc != WM_OK)
        return rc;
    rc = r.kind == PROTO_RECORD_EVENT ? event_fields(&r.root, ev) : WM_EVERSION;
    msgpack_zone_destroy(&r.zone);
    return rc;
}

int proto_retract_decode(const void *data, size_t len, struct wm_retract *rt)
{
    const msgpack_object *o;
    struct rec r;
    int rc;

    memset(rt, 0, sizeof(*rt));
    rc = rec_open(&r, data, len);
    if (rc != WM_OK)
        return rc;
    if (r.kind != PROTO_RECORD_RETRACT) {
        rc = WM_EVERSION;
        goto out;
    }
    rc = WM_EINTERNAL;
    if (get_u64(&r.root, "seq", &rt->seq) != WM_OK ||
        get_u64(&r.root, "ref_seq", &rt->ref_seq) != WM_OK ||
        get_u64_opt(&r.root, "replaced_by", &rt->replaced_by) != WM_OK ||
        get_int(&r.root, "rt", INT64_MIN, INT64_MAX, &rt->recv_time) != 1)
        goto out;
    o = map_get(&r.root, "by_seq");
    if (o == NULL || o->type != MSGPACK_OBJECT_BOOLEAN)
        goto out;
    rt->by_seq = o->via.boolean ? 1 : 0;
    if (get_str(&r.root, "id", rt->id, sizeof(rt->id), 1) ||
        get_str(&r.root, "ref", rt->ref, sizeof(rt->ref), 0) ||
        get_str(&r.root, "reason", rt->reason, sizeof(rt->reason), 0) ||
        get_str(&r.root, "principal", rt->principal, sizeof(rt->principal), 0))
        goto out;
    rc = WM_OK;
out:
    msgpack_zone_destroy(&r.zone);
    return rc;
}

int proto_project_decode(const void *data, size_t len, struct wm_project *p)
{
    const msgpack_object *o;
    struct rec r;
    int64_t v;
    int rc, i, got;

    memset(p, 0, sizeof(*p));
    p->start = p->end = WM_DATE_NONE;
    p->target[0] = p->target[1] = p->target[2] = -1;
    rc = rec_open(&r, data, len);
    if (rc != WM_OK)
        return rc;
    if (r.kind != PROTO_RECORD_PROJECT) {
        rc = WM_EVERSION;
        goto out;
    }
    rc = WM_EINTERNAL;
    if (get_str(&r.root, "name", p->name, sizeof(p->name), 1) ||
        get_str(&r.root, "category", p->category, sizeof(p->category), 0) ||
        get_str(&r.root, "title", p->title, sizeof(p->title), 0))
        goto out;
    o = map_get(&r.root, "scope");
    if (o != NULL) {
        rc = get_enum(o, scope_names, 2);
        if (rc < 0)
            goto out;
        p->scope = (uint8_t)rc;
        rc = WM_EINTERNAL;
    }
    if ((got = get_int(&r.root, "start", INT32_MIN + 1, INT32_MAX, &v)) < 0)
        goto out;
    if (got)
        p->start = (int32_t)v;
    if ((got = get_int(&r.root, "end", INT32_MIN + 1, INT32_MAX, &v)) < 0)
        goto out;
    if (got)
        p->end = (int32_t)v;
    for (i = 0; i < 3; i++) {
        if ((got = get_int(&r.root, target_keys[i], 0, INT64_MAX, &p->target[i])) < 0)
            goto out;
    }
    rc = WM_OK;
out:
    msgpack_zone_destroy(&r.zone);
    return rc;
}
