/*
 * storage: notes (NOTE and NOTES, PROTOCOL.md section 6), the words beside the figures.
 * Every version is kept, with its principal and time; a query answers the latest one
 * per (period, category, project). Notes change no figure and no rollup.
 *
 * DBI notes: [period u32 BE][category or "-"] NUL [project or "-"] NUL [version u64 BE]
 * -> msgpack map {"v": 1, "k": "note", "light", "text", "principal", "at"}. Byte order
 * is the answer's order: period, then category, then project ("-" sorts first), then
 * version, so the latest version of a key is the last entry of its run.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define NOTE_KEY_MAX (4 + 2 * (WM_NAME_MAX + 1) + 8)

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* The key of a note without its version; returns its length. */
static size_t note_prefix(const struct wm_note *n, uint8_t *k)
{
    size_t o = 4, l;

    put_u32(k, (uint32_t)n->period);
    l = n->category[0] ? strlen(n->category) : 1;
    memcpy(k + o, n->category[0] ? n->category : "-", l);
    o += l;
    k[o++] = '\0';
    l = n->project[0] ? strlen(n->project) : 1;
    memcpy(k + o, n->project[0] ? n->project : "-", l);
    o += l;
    k[o++] = '\0';
    return o;
}

/* Split a stored key into n's period, category, project and version. */
static int note_key_parse(const MDB_val *key, struct wm_note *n)
{
    const uint8_t *k = key->mv_data;
    const uint8_t *end = k + key->mv_size;
    const uint8_t *c, *p, *z;

    if (key->mv_size < 4 + 2 + 2 + 8)
        return WM_EVERSION;
    n->period = (int32_t)get_u32(k);
    c = k + 4;
    z = memchr(c, '\0', (size_t)(end - 8 - c));
    if (z == NULL || z - c > WM_NAME_MAX)
        return WM_EVERSION;
    p = z + 1;
    z = memchr(p, '\0', (size_t)(end - 8 - p));
    if (z == NULL || z + 1 != end - 8 || z - p > WM_NAME_MAX)
        return WM_EVERSION;
    n->category[0] = n->project[0] = '\0';
    if (!(p - c == 2 && c[0] == '-')) {
        memcpy(n->category, c, (size_t)(p - 1 - c));
        n->category[p - 1 - c] = '\0';
    }
    if (!(z - p == 1 && p[0] == '-')) {
        memcpy(n->project, p, (size_t)(z - p));
        n->project[z - p] = '\0';
    }
    n->version = get_u64(end - 8);
    return WM_OK;
}

static int pack_str(msgpack_packer *pk, const char *k, const char *v, size_t vlen)
{
    return msgpack_pack_str(pk, strlen(k)) | msgpack_pack_str_body(pk, k, strlen(k)) |
           msgpack_pack_str(pk, vlen) | msgpack_pack_str_body(pk, v, vlen);
}

static int note_encode(const struct wm_note *n, msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    const char *light = proto_light_name(n->light);
    int rc;

    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    rc = msgpack_pack_map(&pk, 6);
    rc |= msgpack_pack_str(&pk, 1) | msgpack_pack_str_body(&pk, "v", 1) | msgpack_pack_int(&pk, 1);
    rc |= pack_str(&pk, "k", "note", 4);
    rc |= pack_str(&pk, "light", light, strlen(light));
    rc |= pack_str(&pk, "text", n->text, n->text_len);
    rc |= pack_str(&pk, "principal", n->principal, strlen(n->principal));
    rc |= msgpack_pack_str(&pk, 2) | msgpack_pack_str_body(&pk, "at", 2) |
          msgpack_pack_int64(&pk, n->time);
    return rc ? WM_ENOMEM : WM_OK;
}

static int key_is(const msgpack_object *k, const char *s)
{
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(s) &&
           memcmp(k->via.str.ptr, s, k->via.str.size) == 0;
}

/* Fill n's light, text (allocated), principal and time from a stored value. */
static int note_decode(const MDB_val *v, struct wm_note *n)
{
    msgpack_unpacked up;
    size_t off = 0;
    int ret = WM_EVERSION, have = 0;

    msgpack_unpacked_init(&up);
    if (msgpack_unpack_next(&up, v->mv_data, v->mv_size, &off) != MSGPACK_UNPACK_SUCCESS ||
        up.data.type != MSGPACK_OBJECT_MAP)
        goto out;
    for (uint32_t i = 0; i < up.data.via.map.size; i++) {
        const msgpack_object *k = &up.data.via.map.ptr[i].key;
        const msgpack_object *o = &up.data.via.map.ptr[i].val;
        if (key_is(k, "v") && !(o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 == 1))
            goto out;
        if (key_is(k, "at") && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            n->time = (int64_t)o->via.u64;
            have |= 1;
        } else if (key_is(k, "at") && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
            n->time = o->via.i64;
            have |= 1;
        }
        if (o->type != MSGPACK_OBJECT_STR)
            continue;
        if (key_is(k, "light")) {
            n->light = WM_LIGHT_NONE;
            for (int l = 0; l < 4; l++)
                if (key_is(o, proto_light_name(l)))
                    n->light = (uint8_t)l;
            have |= 2;
        } else if (key_is(k, "principal") && o->via.str.size <= WM_NAME_MAX) {
            memcpy(n->principal, o->via.str.ptr, o->via.str.size);
            n->principal[o->via.str.size] = '\0';
            have |= 4;
        } else if (key_is(k, "text")) {
            free(n->text);
            n->text = malloc(o->via.str.size + 1);
            if (n->text == NULL) {
                ret = WM_ENOMEM;
                goto out;
            }
            memcpy(n->text, o->via.str.ptr, o->via.str.size);
            n->text[o->via.str.size] = '\0';
            n->text_len = o->via.str.size;
            have |= 8;
        }
    }
    if (have == 15)
        ret = WM_OK;
out:
    msgpack_unpacked_destroy(&up);
    return ret;
}

int store_note_apply(struct store_wtx *w, struct store_item *it)
{
    struct wm_note *n = &it->u.note;
    struct store_registry reg;
    uint8_t key[NOTE_KEY_MAX];
    size_t plen = note_prefix(n, key);
    MDB_cursor *cur = NULL;
    MDB_val k, v, prev = {0, NULL};
    uint64_t last = 0;
    int rc, ret;

    /* The project or category must be the registry's. */
    if (n->project[0] || n->category[0]) {
        int found = 0;
        ret = store_registry_load(w->s, w->txn, &reg);
        if (ret != WM_OK)
            return ret;
        if (n->project[0])
            found = store_registry_find(&reg, n->project) != NULL;
        for (size_t i = 0; n->category[0] && i < reg.ncats && !found; i++)
            found = strcmp(reg.cats[i], n->category) == 0;
        store_registry_free(&reg);
        if (!found) {
            it->result = n->project[0] ? WM_EUNKNOWN_PROJECT : WM_EINVALID;
            if (n->project[0])
                proto_errf(it->err, sizeof it->err, "project: unknown project '%s'", n->project);
            else
                proto_errf(it->err, sizeof it->err, "category: no project has category '%s'",
                           n->category);
            return WM_OK;
        }
    }
    /* The next version: one past the last of this key's run. */
    rc = mdb_cursor_open(w->txn, w->s->dbi[STORE_DBI_NOTES], &cur);
    if (rc != 0)
        return store_wtx_lmdb(w, rc);
    put_u64(key + plen, 0);
    k.mv_data = key;
    k.mv_size = plen + 8;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != plen + 8 || memcmp(k.mv_data, key, plen) != 0)
            break;
        last = get_u64((const uint8_t *)k.mv_data + plen);
        prev = v;
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return store_wtx_lmdb(w, rc);
    /* Without light= the judgement stays what the last version said. */
    if (last > 0 && !n->light_given) {
        struct wm_note old;
        memset(&old, 0, sizeof old);
        ret = note_decode(&prev, &old);
        proto_note_free(&old);
        if (ret != WM_OK)
            return ret;
        n->light = old.light;
    }
    n->version = last + 1;
    put_u64(key + plen, n->version);
    msgpack_sbuffer_clear(&w->s->sb);
    ret = note_encode(n, &w->s->sb);
    if (ret != WM_OK)
        return ret;
    ret = store_wtx_put(w, STORE_DBI_NOTES, key, plen + 8, w->s->sb.data, w->s->sb.size, 0);
    if (ret != WM_OK)
        return ret;
    it->seq = n->version;
    return WM_OK;
}

void store_item_release(struct store_item *it)
{
    if (it->op == STORE_OP_NOTE)
        proto_note_free(&it->u.note);
}

static int note_wanted(const struct wm_notes_query *q, const struct wm_note *n)
{
    return (q->period < 0 || q->period == n->period) &&
           (!q->project[0] || strcmp(q->project, n->project) == 0) &&
           (!q->category[0] || strcmp(q->category, n->category) == 0);
}

/* Append a copy of n (taking over its text) to the list. */
static int list_add(struct store_note_list *l, struct wm_note *n)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        struct wm_note *nv = realloc(l->v, cap * sizeof *nv);
        if (nv == NULL)
            return WM_ENOMEM;
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = *n;
    n->text = NULL;
    return WM_OK;
}

int store_notes(struct store *s, const struct wm_notes_query *q, struct store_note_list *out,
                char *err, size_t errlen)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint8_t start[4];
    struct wm_note cand, next;
    int have = 0, rc, ret;

    memset(out, 0, sizeof *out);
    memset(&cand, 0, sizeof cand);
    memset(&next, 0, sizeof next);
    if (s->no_notes)
        return WM_OK;
    ret = store_read_begin(s, &txn);
    if (ret != WM_OK) {
        proto_errf(err, errlen, "notes failed: %s", wm_strerror(ret));
        return ret;
    }
    rc = mdb_cursor_open(txn, s->dbi[STORE_DBI_NOTES], &cur);
    if (rc != 0)
        goto lmdb;
    put_u32(start, q->period < 0 ? 0 : (uint32_t)q->period);
    k.mv_data = start;
    k.mv_size = 4;
    /* Walk the runs; keep the last entry of each wanted run. */
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        ret = note_key_parse(&k, &next);
        if (ret != WM_OK)
            goto fail;
        if (q->period >= 0 && next.period != q->period)
            break;
        if (have && (next.period != cand.period || strcmp(next.category, cand.category) != 0 ||
                     strcmp(next.project, cand.project) != 0)) {
            if ((ret = list_add(out, &cand)) != WM_OK)
                goto fail;
            have = 0;
        }
        if (!note_wanted(q, &next))
            continue;
        proto_note_free(&cand);
        cand = next;
        next.text = NULL;
        ret = note_decode(&v, &cand);
        if (ret != WM_OK)
            goto fail;
        have = 1;
    }
    if (rc != MDB_NOTFOUND && rc != 0)
        goto lmdb;
    if (have && (ret = list_add(out, &cand)) != WM_OK)
        goto fail;
    mdb_cursor_close(cur);
    store_read_end(s, txn);
    return WM_OK;
lmdb:
    ret = store_lmdb_err(rc);
fail:
    proto_errf(err, errlen, "notes failed: %s", wm_strerror(ret));
    if (ret != WM_ENOMEM)
        ret = WM_EIO;
    proto_note_free(&cand);
    store_note_list_free(out);
    if (cur != NULL)
        mdb_cursor_close(cur);
    store_read_end(s, txn);
    return ret;
}

void store_note_list_free(struct store_note_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        proto_note_free(&l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

int store_notes_export(struct store *s, MDB_txn *txn, store_export_fn fn, void *arg, char *err,
                       size_t errlen)
{
    struct store_export_item it;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    struct wm_note n;
    int rc, ret = WM_OK;

    if (s->no_notes)
        return WM_OK;
    memset(&it, 0, sizeof it);
    memset(&n, 0, sizeof n);
    it.kind = STORE_EXPORT_NOTE;
    it.u.note = &n;
    rc = mdb_cursor_open(txn, s->dbi[STORE_DBI_NOTES], &cur);
    for (rc = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && ret == WM_OK;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        ret = note_key_parse(&k, &n);
        if (ret == WM_OK)
            ret = note_decode(&v, &n);
        if (ret == WM_EVERSION)
            proto_errf(err, errlen, "a note cannot be read (%zu-byte key)", k.mv_size);
        if (ret == WM_OK)
            ret = fn(arg, &it);
        proto_note_free(&n);
    }
    if (cur)
        mdb_cursor_close(cur);
    if (ret == WM_OK && rc != MDB_NOTFOUND) {
        proto_errf(err, errlen, "cannot read the notes: %s", mdb_strerror(rc));
        ret = store_lmdb_err(rc);
    }
    return ret;
}
