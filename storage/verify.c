/*
 * storage: verify. Everything the store derives from its records (events and
 * retractions) is recomputed here from the records alone, in one read transaction, and
 * compared with what the store holds: the counters, the ids and retracted indexes, the
 * names, and (verify_mem.c) the memory part, its year and month VEC cells among it.
 * The recomputation uses none of the store's own derived state and none of the write
 * path's code, so a bug there or a damaged file shows as a difference.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* ---- the map of recomputed figures --------------------------------------------------- */

static uint32_t key_hash(const void *key, size_t n)
{
    const uint8_t *p = key;
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (uint32_t)h;
}

void store_vmap_init(struct store_vmap *m, size_t vsize)
{
    memset(m, 0, sizeof *m);
    m->vsize = (vsize + 7) & ~(size_t)7;
    m->esize = sizeof(struct store_vent) + m->vsize;
}

void store_vmap_free(struct store_vmap *m)
{
    free(m->ent);
    free(m->keys);
    store_itab_free(&m->index);
    memset(m, 0, sizeof *m);
}

size_t store_vmap_find(const struct store_vmap *m, const void *key, size_t klen)
{
    uint32_t h = key_hash(key, klen);
    size_t pos;

    for (uint32_t i = store_itab_first(&m->index, h, &pos); i != STORE_ITAB_NONE;
         i = store_itab_next(&m->index, h, &pos)) {
        const struct store_vent *e = store_vmap_ent(m, i);
        if (e->klen == klen && memcmp(m->keys + e->koff, key, klen) == 0)
            return i;
    }
    return SIZE_MAX;
}

int store_vmap_put(struct store_vmap *m, const void *key, size_t klen, void **val)
{
    size_t i = store_vmap_find(m, key, klen);
    struct store_vent *e;
    void *p;

    if (i != SIZE_MAX) {
        *val = store_vmap_val(m, i);
        return WM_OK;
    }
    if (m->n >= STORE_ITAB_NONE - 1 || store_itab_reserve(&m->index, 1, 1024) != WM_OK)
        return WM_ENOMEM;
    p = store_array_grow(m->ent, &m->cap, m->n + 1, m->esize, 1024);
    if (!p)
        return WM_ENOMEM;
    m->ent = p;
    p = store_array_grow(m->keys, &m->capkeys, m->nkeys + klen, 1, 4096);
    if (!p)
        return WM_ENOMEM;
    m->keys = p;
    memcpy(m->keys + m->nkeys, key, klen);
    e = store_vmap_ent(m, m->n);
    e->koff = m->nkeys;
    e->klen = (uint32_t)klen;
    e->seen = 0;
    memset(store_vmap_val(m, m->n), 0, m->vsize);
    m->nkeys += klen;
    store_itab_add(&m->index, key_hash(key, klen), (uint32_t)m->n);
    *val = store_vmap_val(m, m->n++);
    return WM_OK;
}

/* ---- keys ------------------------------------------------------------------------------ */

void store_vkey_pack(uint8_t *k, int type, int gran, int32_t unit, uint32_t project,
                     uint32_t gemeente, const uint8_t *enums)
{
    k[0] = (uint8_t)type;
    k[1] = (uint8_t)gran;
    store_put_time(k + 2, unit);
    store_put_u16(k + 6, project);
    store_put_u16(k + 8, gemeente);
    for (int i = 0; i < WM_MAX_ENUMS; i++)
        k[10 + i] = enums ? enums[i] : 0;
    k[13] = 0;
}

void store_ventry_pack(uint8_t *k, uint32_t person, const struct store_pentry *e)
{
    store_put_u32(k, person);
    store_put_time(k + 4, e->date);
    store_put_u16(k + 8, e->project);
    store_put_u16(k + 10, e->gemeente);
    k[12] = e->type;
    memcpy(k + 13, e->enums, WM_MAX_ENUMS);
}

/* ---- reports --------------------------------------------------------------------------- */

void store_vreport(struct store_vreport *r, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    r->res->differences++;
    if (!r->fn || (r->max_lines && r->res->differences > r->max_lines))
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    r->fn(r->arg, line);
}

static const char *project_name(const struct store_registry *reg, uint32_t id, char *buf,
                                size_t len)
{
    if (id == 0)
        return "-";
    if (id < reg->nid && reg->by_id[id] >= 0)
        return reg->proj[reg->by_id[id]].p.name;
    snprintf(buf, len, "#%u", (unsigned)id);
    return buf;
}

static const char *gemeente_name(const struct store_registry *reg, uint32_t id, char *buf,
                                 size_t len)
{
    if (id < reg->ngem && reg->gem[id][0])
        return reg->gem[id];
    snprintf(buf, len, "#%u", (unsigned)id);
    return buf;
}

void store_vcell_describe(char *buf, size_t len, const struct store_registry *reg, int type,
                          int gran, int32_t unit, uint32_t project, uint32_t gemeente,
                          const uint8_t *enums)
{
    static const char *const pseudo[] = {"PROGRESS started", "PROGRESS completed",
                                         "PROGRESS first placements in the project",
                                         "PROGRESS first placements in the program"};
    const struct proto_type_desc *td = proto_type_desc(type);
    char when[32], pb[16], gb[16];
    size_t n;

    if (gran == STORE_GRAN_YEAR)
        snprintf(when, sizeof when, "year %d", (int)unit);
    else if (gran == STORE_GRAN_MONTH)
        snprintf(when, sizeof when, "month %04d-%02d", (int)(unit / 12), (int)(unit % 12 + 1));
    else {
        memcpy(when, "day ", 4);
        proto_date_format(unit, when + 4);
    }
    if (td) {
        n = (size_t)snprintf(buf, len, "%s %s project=%s gemeente=%s", td->name, when,
                             project_name(reg, project, pb, sizeof pb),
                             gemeente_name(reg, gemeente, gb, sizeof gb));
        for (int i = 0; enums && i < td->nenums && n < len; i++) {
            const struct proto_enum_field *f = td->enums[i];
            if (enums[i] < f->nvalues)
                n += (size_t)snprintf(buf + n, len - n, " %s=%s", f->name, f->values[enums[i]]);
            else
                n += (size_t)snprintf(buf + n, len - n, " %s=#%u", f->name, enums[i]);
        }
    } else if (type >= STORE_MT_STARTED && type <= STORE_MT_UFIRST) {
        snprintf(buf, len, "%s %s project=%s", pseudo[type - STORE_MT_STARTED], when,
                 type == STORE_MT_UFIRST ? "*" : project_name(reg, project, pb, sizeof pb));
    } else {
        snprintf(buf, len, "type #%d %s project=%s gemeente=%s", type, when,
                 project_name(reg, project, pb, sizeof pb),
                 gemeente_name(reg, gemeente, gb, sizeof gb));
    }
}

/* The name of counter j of a VEC cell of td: "count" or "<enum>=<value>". */
static void vec_counter_name(const struct proto_type_desc *td, size_t j, char *buf, size_t len)
{
    if (j == 0) {
        snprintf(buf, len, "count");
        return;
    }
    for (int i = td->nenums - 1; i >= 0; i--) {
        size_t off = store_vec_offset(td, i);
        if (j >= off) {
            snprintf(buf, len, "%s=%s", td->enums[i]->name, td->enums[i]->values[j - off]);
            return;
        }
    }
}

void store_verify_vec_cell(struct store_vreport *r, struct store_vexpect *x, int type, int gran,
                           int32_t unit, uint32_t project, uint32_t gemeente, const uint64_t *vals,
                           size_t n)
{
    static const uint64_t zero[STORE_VEC_MAX];
    const struct proto_type_desc *td = proto_type_desc(type);
    uint8_t key[STORE_VKEY_LEN];
    const uint64_t *want = zero;
    char cell[256], name[64];
    size_t i, len;

    r->res->cells++;
    store_vcell_describe(cell, sizeof cell, x->reg, type, gran, unit, project, gemeente, NULL);
    if (!td || (gran != STORE_GRAN_YEAR && gran != STORE_GRAN_MONTH)) {
        store_vreport(r, "rollup cell %s: no such cell can exist (type %d, granularity %d)", cell,
                      type, gran);
        return;
    }
    store_vkey_pack(key, type, gran, unit, project, gemeente, NULL);
    i = store_vmap_find(&x->vec, key, sizeof key);
    if (i != SIZE_MAX) {
        store_vmap_ent(&x->vec, i)->seen = 1;
        want = store_vmap_val(&x->vec, i);
    }
    len = store_vec_len(td);
    if (n != len)
        store_vreport(r, "rollup cell %s: holds %zu counters, a %s cell has %zu", cell, n, td->name,
                      len);
    for (size_t j = 0; j < len; j++) {
        uint64_t have = j < n ? vals[j] : 0;
        if (have == want[j])
            continue;
        vec_counter_name(td, j, name, sizeof name);
        store_vreport(r, "rollup cell %s: %s is %llu, the events give %llu", cell, name,
                      (unsigned long long)have, (unsigned long long)want[j]);
    }
}

/* Unpack a vkey into its parts. */
static void vkey_unpack(const uint8_t *k, int *type, int *gran, int32_t *unit, uint32_t *project,
                        uint32_t *gemeente)
{
    *type = k[0];
    *gran = k[1];
    *unit = store_get_time(k + 2);
    *project = store_get_u16(k + 6);
    *gemeente = store_get_u16(k + 8);
}

void store_verify_vec_missing(struct store_vreport *r, struct store_vexpect *x)
{
    for (size_t i = 0; i < x->vec.n; i++) {
        const uint64_t *want = store_vmap_val(&x->vec, i);
        uint32_t project, gemeente;
        int32_t unit;
        int type, gran;
        char cell[256];

        if (store_vmap_ent(&x->vec, i)->seen || want[0] == 0)
            continue;
        vkey_unpack(store_vmap_key(&x->vec, i), &type, &gran, &unit, &project, &gemeente);
        store_vcell_describe(cell, sizeof cell, x->reg, type, gran, unit, project, gemeente, NULL);
        store_vreport(r, "rollup cell %s: missing, the events give count %llu", cell,
                      (unsigned long long)want[0]);
    }
}

/* ---- the recomputation ----------------------------------------------------------------- */

struct verify {
    struct store *s;
    MDB_txn *txn;
    struct store_registry reg;
    struct store_vexpect x;
    struct store_vreport r;
    struct store_counters c;    /* as the records give them */
    struct store_vmap retracts; /* target seq -> the seq of its retraction record */
    struct store_vmap ids;      /* ids key -> u64: the seq of its latest record */
    uint64_t nids;              /* keys, each one entry of the ids index */
    uint64_t ids_bad;           /* keys whose entry was missing or wrong */
    struct store_vmap bad_ids;  /* their keys: reported already */
    uint64_t retracted_bad;     /* retractions whose entry was missing or wrong */
    uint32_t npersons;
    uint32_t gcache;
    struct wm_event ev, target;
    struct wm_retract rt;
    struct store_ckpt_load ld; /* read-only: the checkpoint read before the snapshot */
    char *err;
    size_t errlen;
};

/* Add sign to the u64 under key in m. WM_OK or WM_ENOMEM. */
static int vmap_add(struct store_vmap *m, const void *key, size_t klen, int sign)
{
    uint64_t *v;
    int ret = store_vmap_put(m, key, klen, (void **)&v);

    if (ret == WM_OK)
        *v += (uint64_t)(int64_t)sign;
    return ret;
}

static uint32_t gemeente_id(struct verify *v, const char *name)
{
    const struct store_registry *reg = &v->reg;

    if (v->gcache < reg->ngem && strcmp(reg->gem[v->gcache], name) == 0)
        return v->gcache;
    for (uint32_t i = 1; i < reg->ngem; i++)
        if (strcmp(reg->gem[i], name) == 0)
            return v->gcache = i;
    return 0;
}

/* The cells of a date in the memory rollup: sign on (type, project, gemeente, enums)
 * in its year, month and day. */
static int mcells_add(struct verify *v, int type, uint32_t project, uint32_t gemeente,
                      const uint8_t *enums, int32_t date, int sign)
{
    uint8_t key[STORE_VKEY_LEN];
    int ret = WM_OK;

    for (int g = STORE_GRAN_YEAR; g <= STORE_GRAN_DAY && ret == WM_OK; g++) {
        store_vkey_pack(key, type, g, store_time_unit(date, g), project, gemeente, enums);
        ret = vmap_add(&v->x.mcells, key, sizeof key, sign);
    }
    return ret;
}

/* Count event ev (seq) in (sign 1) or out (sign -1, its retraction at rseq) of every
 * recomputed figure. An event whose project or gemeente has no id is reported and
 * counted nowhere (in and out alike). WM_OK or WM_ENOMEM. */
static int expect_event(struct verify *v, const struct wm_event *ev, uint64_t seq, int sign)
{
    const struct proto_type_desc *td = proto_type_desc(ev->type);
    const struct store_reg_project *rp = NULL;
    uint8_t key[STORE_VKEY_LEN], ek[STORE_VENTRY_LEN];
    struct store_vperson *vp;
    struct store_pentry e;
    uint32_t gem;
    int ret = WM_OK;

    if (ev->project[0] && !(rp = store_registry_find(&v->reg, ev->project))) {
        if (sign > 0)
            store_vreport(&v->r, "record %llu: names project '%s', which is not in the registry",
                          (unsigned long long)seq, ev->project);
        return WM_OK;
    }
    gem = gemeente_id(v, ev->gemeente);
    if (gem == 0) {
        if (sign > 0)
            store_vreport(&v->r, "record %llu: names gemeente '%s', which has no id in the names",
                          (unsigned long long)seq, ev->gemeente);
        return WM_OK;
    }
    store_people_entry(ev, rp ? rp->id : 0, gem, &e);
    switch (ev->type) {
    case WM_TYPE_STARTED:
        v->c.started += (uint64_t)(int64_t)sign;
        ret = mcells_add(v, STORE_MT_STARTED, e.project, 0, NULL, e.date, sign);
        break;
    case WM_TYPE_COMPLETED:
        if (WM_RESULT_SUCCESS(ev->enums[0])) {
            v->c.completed += (uint64_t)(int64_t)sign;
            ret = mcells_add(v, STORE_MT_COMPLETED, e.project, 0, NULL, e.date, sign);
        }
        break;
    case WM_TYPE_PLACED:
        v->c.placed += (uint64_t)(int64_t)sign;
        break;
    default:
        v->c.outflow += (uint64_t)(int64_t)sign;
        break;
    }
    /* the year and month VEC cells: the count and each enum value's counter */
    for (int g = STORE_GRAN_YEAR; g <= STORE_GRAN_MONTH && ret == WM_OK; g++) {
        uint64_t *vec;
        store_vkey_pack(key, ev->type, g, store_time_unit(ev->date, g), e.project, gem, NULL);
        ret = store_vmap_put(&v->x.vec, key, sizeof key, (void **)&vec);
        if (ret != WM_OK)
            break;
        vec[0] += (uint64_t)(int64_t)sign;
        for (int i = 0; i < td->nenums; i++)
            vec[store_vec_offset(td, i) + ev->enums[i]] += (uint64_t)(int64_t)sign;
    }
    /* the cells of every enum combination, and the person's entry */
    if (ret == WM_OK)
        ret = mcells_add(v, ev->type, e.project, gem, e.enums, e.date, sign);
    if (ret == WM_OK)
        ret = store_vmap_put(&v->x.persons, ev->person, strlen(ev->person), (void **)&vp);
    if (ret != WM_OK)
        return ret;
    if (vp->seq == 0) {
        vp->index = v->npersons++;
        vp->seq = seq;
    }
    store_ventry_pack(ek, vp->index, &e);
    return vmap_add(&v->x.entries, ek, sizeof ek, sign);
}

/* The record at seq is now the latest under (principal, id): the ids index must map the
 * key to it (to the last such record, once every record is read: a REPLACE's new
 * version takes its id over). A key already named is only taken over by a new version
 * of it (replaces: the version it replaced, 0 for none): else two records share an id,
 * which the index, rebuilt from the records, cannot show. WM_OK or WM_ENOMEM. */
static int note_id(struct verify *v, uint64_t seq, const char *principal, const char *id,
                   uint64_t replaces)
{
    uint8_t k[WM_NAME_MAX + WM_ID_MAX + 2];
    uint64_t *latest;
    char q[300];
    int ret = store_vmap_put(&v->ids, k, store_id_key(k, principal, id), (void **)&latest);

    if (ret != WM_OK)
        return ret;
    if (*latest != 0 && *latest != replaces) {
        proto_quote(q, sizeof q, id, strlen(id));
        store_vreport(&v->r,
                      "record %llu: principal %s, id '%s' is record %llu's, and this record is no "
                      "new version of it",
                      (unsigned long long)seq, principal, q, (unsigned long long)*latest);
    }
    *latest = seq;
    return WM_OK;
}

/* The ids index (in memory) against the latest record of every key the records name. */
static void check_ids(struct verify *v)
{
    const struct store_ids *t = &v->s->people.ids;
    char q[300];

    v->nids = v->ids.n;
    for (size_t i = 0; i < v->ids.n; i++) {
        const char *principal = (const char *)store_vmap_key(&v->ids, i);
        size_t klen = store_vmap_ent(&v->ids, i)->klen, pl = strlen(principal);
        uint64_t seq = *(const uint64_t *)store_vmap_val(&v->ids, i), got;
        char id[WM_ID_MAX + 1];
        void *unused;
        int kind;

        if (klen - pl - 1 > WM_ID_MAX)
            continue; /* the record's own check reported it */
        memcpy(id, principal + pl + 1, klen - pl - 1);
        id[klen - pl - 1] = '\0';
        kind = store_ids_find(t, v->txn, v->s->dbi[STORE_DBI_EVENTS], 0,
                              store_ids_hash(t, principal, id), principal, id, &v->target, &v->rt,
                              &got, NULL);
        if (kind > 0 && got == seq)
            continue;
        v->ids_bad++;
        proto_quote(q, sizeof q, id, strlen(id));
        store_vmap_put(&v->bad_ids, principal, klen, &unused); /* out of memory: reported twice */
        if (kind == 0)
            store_vreport(&v->r,
                          "ids index: record %llu (principal %s, id '%s') is missing from it",
                          (unsigned long long)seq, principal, q);
        else if (kind < 0)
            store_vreport(&v->r, "ids index: cannot read its records: %s", wm_strerror(kind));
        else
            store_vreport(
                &v->r, "ids index: principal %s, id '%s' maps to seq %llu, but its record is %llu",
                principal, q, (unsigned long long)got, (unsigned long long)seq);
    }
}

/* Read the event record at seq into ev: 1, or 0 when there is none or it is not an
 * event. */
static int load_event(struct verify *v, uint64_t seq, struct wm_event *ev)
{
    uint8_t k[8];
    MDB_val key = {8, k}, val;

    store_put_u64(k, seq);
    if (mdb_get(v->txn, v->s->dbi[STORE_DBI_EVENTS], &key, &val) != 0)
        return 0;
    if (proto_record_kind(val.mv_data, val.mv_size) != PROTO_RECORD_EVENT)
        return 0;
    return proto_event_decode(val.mv_data, val.mv_size, ev) == WM_OK;
}

/* A retraction record at seq: its target must be an earlier live event of the same
 * principal and id (by ref), retracted once; the retracted index must say so; the
 * target leaves every figure. */
static int expect_retraction(struct verify *v, uint64_t seq, const struct wm_retract *rt)
{
    uint64_t t = rt->ref_seq, *by;
    uint8_t k[8];
    MDB_val key = {8, k}, val;
    size_t i;
    int rc, ret;

    v->c.retractions++;
    if (t == 0 || t >= seq || !load_event(v, t, &v->target)) {
        store_vreport(&v->r, "record %llu: retracts seq %llu, which is no earlier event",
                      (unsigned long long)seq, (unsigned long long)t);
        return WM_OK;
    }
    if (!rt->by_seq &&
        (strcmp(v->target.principal, rt->principal) != 0 || strcmp(v->target.id, rt->ref) != 0))
        store_vreport(&v->r,
                      "record %llu: retracts principal %s, id '%s', but its target %llu is "
                      "principal %s, id '%s'",
                      (unsigned long long)seq, rt->principal, rt->ref, (unsigned long long)t,
                      v->target.principal, v->target.id);
    store_put_u64(k, t);
    i = store_vmap_find(&v->retracts, k, 8);
    if (i != SIZE_MAX) {
        store_vreport(&v->r, "record %llu: retracts event %llu, which record %llu retracted before",
                      (unsigned long long)seq, (unsigned long long)t,
                      (unsigned long long)*(uint64_t *)store_vmap_val(&v->retracts, i));
        return WM_OK;
    }
    ret = store_vmap_put(&v->retracts, k, 8, (void **)&by);
    if (ret != WM_OK)
        return ret;
    *by = seq;
    v->c.retracted++;
    rc = mdb_get(v->txn, v->s->dbi[STORE_DBI_RETRACTED], &key, &val);
    if (rc != 0 || val.mv_size != 8 || store_get_u64(val.mv_data) != seq)
        v->retracted_bad++;
    if (rc != 0)
        store_vreport(&v->r, "retracted index: event %llu (retracted by record %llu) is %s",
                      (unsigned long long)t, (unsigned long long)seq,
                      rc == MDB_NOTFOUND ? "missing" : mdb_strerror(rc));
    else if (val.mv_size != 8 || store_get_u64(val.mv_data) != seq)
        store_vreport(&v->r,
                      "retracted index: event %llu maps to %llu, but record %llu retracts it",
                      (unsigned long long)t,
                      (unsigned long long)(val.mv_size == 8 ? store_get_u64(val.mv_data) : 0),
                      (unsigned long long)seq);
    return expect_event(v, &v->target, t, -1);
}

/* What every record must be: decodable (dret is its decoder's return), holding its own
 * seq, and (id not NULL) the latest under its id so far. 0 when it cannot be counted,
 * WM_ENOMEM, else 1. */
static int record_checked(struct verify *v, uint64_t seq, int dret, const char *what,
                          uint64_t own_seq, const char *principal, const char *id,
                          uint64_t replaces)
{
    if (dret != WM_OK) {
        store_vreport(&v->r, "record %llu: %s that cannot be decoded (%s)", (unsigned long long)seq,
                      what, wm_strerror(dret));
        return 0;
    }
    if (own_seq != seq)
        store_vreport(&v->r, "record %llu: says it is seq %llu", (unsigned long long)seq,
                      (unsigned long long)own_seq);
    if (id != NULL && note_id(v, seq, principal, id, replaces) != WM_OK)
        return WM_ENOMEM;
    return 1;
}

/* One record: decoded, its seq and id checked, counted. */
static int expect_record(struct verify *v, uint64_t seq, const MDB_val *val)
{
    int kind = proto_record_kind(val->mv_data, val->mv_size), ret;

    v->r.res->records++;
    if (kind == PROTO_RECORD_EVENT) {
        ret = proto_event_decode(val->mv_data, val->mv_size, &v->ev);
        if (ret == WM_ENOMEM)
            return ret;
        ret = record_checked(v, seq, ret, "an event", v->ev.seq, v->ev.principal, v->ev.id,
                             v->ev.replaces);
        if (ret != 1)
            return ret == WM_ENOMEM ? ret : WM_OK;
        v->c.events++;
        return expect_event(v, &v->ev, seq, 1);
    }
    if (kind == PROTO_RECORD_RETRACT) {
        ret = proto_retract_decode(val->mv_data, val->mv_size, &v->rt);
        if (ret == WM_ENOMEM)
            return ret;
        /* a REPLACE's retraction of the old version writes no ids entry */
        ret = record_checked(v, seq, ret, "a retraction", v->rt.seq, v->rt.principal,
                             v->rt.replaced_by ? NULL : v->rt.id, 0);
        if (ret != 1)
            return ret == WM_ENOMEM ? ret : WM_OK;
        return expect_retraction(v, seq, &v->rt);
    }
    store_vreport(&v->r, "record %llu: neither an event nor a retraction (%s)",
                  (unsigned long long)seq, kind < 0 ? wm_strerror(kind) : "a registry record");
    return kind == WM_ENOMEM ? kind : WM_OK;
}

/* Every record by seq; no seq may be missing. */
static int expect_records(struct verify *v)
{
    MDB_cursor *cur;
    MDB_val k, val;
    uint64_t prev = 0;
    int rc, ret = WM_OK;

    rc = mdb_cursor_open(v->txn, v->s->dbi[STORE_DBI_EVENTS], &cur);
    if (rc != 0) {
        proto_errf(v->err, v->errlen, "cannot read the records: %s", mdb_strerror(rc));
        return WM_EIO;
    }
    for (rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST); rc == 0 && ret == WM_OK;
         rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT)) {
        uint64_t seq;
        if (k.mv_size != 8) {
            store_vreport(&v->r, "records: a key of %zu bytes, not a seq", k.mv_size);
            continue;
        }
        seq = store_get_u64(k.mv_data);
        if (seq != prev + 1)
            store_vreport(&v->r, "records: seq %llu to %llu missing", (unsigned long long)prev + 1,
                          (unsigned long long)seq - 1);
        prev = seq;
        ret = expect_record(v, seq, &val);
    }
    mdb_cursor_close(cur);
    if (ret != WM_OK)
        return ret;
    if (rc != MDB_NOTFOUND) {
        proto_errf(v->err, v->errlen, "cannot read the records: %s", mdb_strerror(rc));
        return WM_EIO;
    }
    v->c.last_seq = prev;
    v->r.res->last_seq = prev;
    return WM_OK;
}

/* Who was placed where, from the persons' live entries: FIRST cells (each person's
 * earliest live placement per project), UFIRST cells (earliest in any regional
 * project), the placed persons. */
static int expect_placements(struct verify *v)
{
    struct store_vexpect *x = &v->x;
    int32_t *ufirst = NULL;
    uint32_t *nproj = NULL;
    int ret = WM_OK;

    ufirst = malloc(((size_t)v->npersons + 1) * sizeof *ufirst);
    nproj = calloc((size_t)v->npersons + 1, sizeof *nproj);
    x->person_ent = malloc(((size_t)v->npersons + 1) * sizeof *x->person_ent);
    if (!ufirst || !nproj || !x->person_ent) {
        ret = WM_ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < v->npersons; i++)
        ufirst[i] = WM_DATE_NONE;
    for (size_t i = 0; i < x->persons.n; i++)
        x->person_ent[((struct store_vperson *)store_vmap_val(&x->persons, i))->index] = i;
    for (size_t i = 0; i < x->entries.n && ret == WM_OK; i++) {
        const uint8_t *k = store_vmap_key(&x->entries, i);
        uint64_t n = *(uint64_t *)store_vmap_val(&x->entries, i);
        uint32_t person = store_get_u32(k), project = store_get_u16(k + 8);
        int32_t date = store_get_time(k + 4);
        struct store_vplaced *vp;
        uint8_t pk[8];
        if (n == 0 || k[12] != WM_TYPE_PLACED)
            continue;
        store_put_u32(pk, person);
        store_put_u32(pk + 4, project);
        ret = store_vmap_put(&x->placed, pk, sizeof pk, (void **)&vp);
        if (ret != WM_OK)
            break;
        if (vp->n == 0 || date < vp->first)
            vp->first = date;
        if (vp->n == 0)
            nproj[person]++;
        vp->n += (uint32_t)n;
        if (project < v->reg.nid && v->reg.by_id[project] >= 0 &&
            v->reg.proj[v->reg.by_id[project]].p.scope == WM_SCOPE_REGIONAL &&
            (ufirst[person] == WM_DATE_NONE || date < ufirst[person]))
            ufirst[person] = date;
    }
    for (size_t i = 0; i < x->placed.n && ret == WM_OK; i++) {
        const struct store_vplaced *vp = store_vmap_val(&x->placed, i);
        ret = mcells_add(v, STORE_MT_FIRST, store_get_u32(store_vmap_key(&x->placed, i) + 4), 0,
                         NULL, vp->first, 1);
    }
    for (uint32_t i = 0; i < v->npersons && ret == WM_OK; i++) {
        struct store_vperson *p = store_vmap_val(&x->persons, x->person_ent[i]);
        p->nprojects = nproj[i];
        x->placed_persons += nproj[i] > 0;
        if (ufirst[i] != WM_DATE_NONE)
            ret = mcells_add(v, STORE_MT_UFIRST, 0, 0, NULL, ufirst[i], 1);
    }
out:
    free(ufirst);
    free(nproj);
    return ret;
}

/* ---- LMDB's derived state against the recomputation ------------------------------------ */

static void check_counters(struct verify *v)
{
    static const char *const names[] = {"last_seq", "events",    "retracted", "retractions",
                                        "started",  "completed", "placed",    "outflow"};
    struct store_counters c;
    uint64_t have[8], want[8];
    int ret = store_counters_get(v->s, v->txn, &c);

    if (ret != WM_OK) {
        store_vreport(&v->r, "counters: cannot be read (%s)", wm_strerror(ret));
        return;
    }
    memcpy(have, &c, sizeof have);
    memcpy(want, &v->c, sizeof want);
    for (int i = 0; i < 8; i++)
        if (have[i] != want[i])
            store_vreport(&v->r, "counters: %s is %llu, the records give %llu", names[i],
                          (unsigned long long)have[i], (unsigned long long)want[i]);
    if (c.next_project < v->reg.nid)
        store_vreport(&v->r, "counters: the next project id is %llu, but id %u is taken",
                      (unsigned long long)c.next_project, (unsigned)v->reg.nid - 1);
    for (size_t id = v->reg.ngem; id-- > 1;)
        if (v->reg.gem[id][0]) {
            if (c.next_gemeente <= id)
                store_vreport(&v->r, "counters: the next gemeente id is %llu, but id %zu is taken",
                              (unsigned long long)c.next_gemeente, id);
            break;
        }
}

/* The number of entries of a DBI, or UINT64_MAX when it cannot be read. */
static uint64_t dbi_entries(struct verify *v, int dbi)
{
    MDB_stat st;

    return mdb_stat(v->txn, v->s->dbi[dbi], &st) == 0 ? st.ms_entries : UINT64_MAX;
}

/* The ids key of the record at seq (either kind) into k: its length, or 0 when there
 * is no readable record. */
static size_t record_id_key(struct verify *v, uint64_t seq, uint8_t *k)
{
    uint8_t sk[8];
    MDB_val key = {8, sk}, rv;
    const char *principal, *id;
    size_t pl, il;
    int kind;

    store_put_u64(sk, seq);
    if (mdb_get(v->txn, v->s->dbi[STORE_DBI_EVENTS], &key, &rv) != 0)
        return 0;
    kind = proto_record_kind(rv.mv_data, rv.mv_size);
    if (kind == PROTO_RECORD_EVENT &&
        proto_event_decode(rv.mv_data, rv.mv_size, &v->target) == WM_OK) {
        principal = v->target.principal;
        id = v->target.id;
    } else if (kind == PROTO_RECORD_RETRACT &&
               proto_retract_decode(rv.mv_data, rv.mv_size, &v->rt) == WM_OK) {
        principal = v->rt.principal;
        id = v->rt.id;
    } else {
        return 0;
    }
    pl = strlen(principal);
    il = strlen(id);
    memcpy(k, principal, pl + 1);
    memcpy(k + pl + 1, id, il);
    return pl + 1 + il;
}

/* The ids index holds one entry per key the records name (each was looked up): more, or
 * a key whose entry was missing or wrong, means entries that name no record of theirs
 * (or hold another hash than their record's key has), which only a walk finds. */
static void check_ids_extra(struct verify *v)
{
    const struct store_ids *t = &v->s->people.ids;
    uint8_t rk[WM_NAME_MAX + WM_ID_MAX + 2];
    char q[300];

    if (t->n != v->nids)
        store_vreport(&v->r, "ids index: holds %llu entries, the records give %llu",
                      (unsigned long long)t->n, (unsigned long long)v->nids);
    if (t->n <= v->nids && v->ids_bad == 0)
        return;
    for (size_t i = 0; i < t->cap; i++) {
        const struct store_ids_slot *sl = &t->slots[i];
        size_t rlen, pl, vi;
        if (sl->seq == 0)
            continue;
        rlen = record_id_key(v, sl->seq, rk);
        if (rlen == 0) {
            store_vreport(&v->r, "ids index: an entry names seq %llu, which is no record",
                          (unsigned long long)sl->seq);
            continue;
        }
        vi = store_vmap_find(&v->ids, rk, rlen);
        pl = strlen((const char *)rk);
        if (vi != SIZE_MAX && *(const uint64_t *)store_vmap_val(&v->ids, vi) == sl->seq &&
            (uint32_t)(store_siphash(t->key, rk, rlen) & store_ids_hash_mask) == sl->h)
            continue;
        if (store_vmap_find(&v->bad_ids, rk, rlen) != SIZE_MAX)
            continue; /* wrong, and reported with its record */
        proto_quote(q, sizeof q, (const char *)rk + pl + 1, rlen - pl - 1);
        store_vreport(&v->r,
                      "ids index: an entry names seq %llu (principal %s, id '%s'), which is not "
                      "that id's latest record, or under another hash",
                      (unsigned long long)sl->seq, (const char *)rk, q);
    }
}

/* Likewise the retracted index: one entry per retracted event. */
static void check_retracted_extra(struct verify *v)
{
    uint64_t n = dbi_entries(v, STORE_DBI_RETRACTED);
    MDB_cursor *cur;
    MDB_val k, val;

    if (n != v->c.retracted)
        store_vreport(&v->r, "retracted index: holds %llu entries, the records retract %llu events",
                      (unsigned long long)n, (unsigned long long)v->c.retracted);
    if ((n <= v->c.retracted && v->retracted_bad == 0) ||
        mdb_cursor_open(v->txn, v->s->dbi[STORE_DBI_RETRACTED], &cur) != 0)
        return;
    for (int rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT)) {
        uint64_t t = k.mv_size == 8 ? store_get_u64(k.mv_data) : 0;
        uint64_t by = val.mv_size == 8 ? store_get_u64(val.mv_data) : 0;
        /* a wrong entry of a retracted event was reported with its retraction */
        if (k.mv_size != 8 || store_vmap_find(&v->retracts, k.mv_data, 8) == SIZE_MAX)
            store_vreport(&v->r, "retracted index: event %llu -> %llu, but no record retracts it",
                          (unsigned long long)t, (unsigned long long)by);
    }
    mdb_cursor_close(cur);
}

/* The names: each gemeente's name -> id entry has its id -> name twin. */
static void check_names(struct verify *v)
{
    MDB_cursor *cur;
    MDB_val k, val;
    uint64_t forward = 0, backward = 0;
    char q[100];

    if (mdb_cursor_open(v->txn, v->s->dbi[STORE_DBI_NAMES], &cur) != 0) {
        store_vreport(&v->r, "names: cannot be read");
        return;
    }
    for (int rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT)) {
        const uint8_t *p = k.mv_data;
        if (k.mv_size > 1 && p[0] == 0x01 && val.mv_size == 4) {
            uint8_t bk[5];
            MDB_val key = {5, bk}, back;
            forward++;
            bk[0] = 0x02;
            memcpy(bk + 1, val.mv_data, 4);
            if (mdb_get(v->txn, v->s->dbi[STORE_DBI_NAMES], &key, &back) != 0 ||
                back.mv_size != k.mv_size - 1 || memcmp(back.mv_data, p + 1, back.mv_size) != 0) {
                proto_quote(q, sizeof q, (const char *)p + 1, k.mv_size - 1);
                store_vreport(&v->r, "names: gemeente '%s' has id %u, which names another", q,
                              (unsigned)store_get_u32(val.mv_data));
            }
        } else if (k.mv_size == 5 && p[0] == 0x02) {
            backward++;
        } else {
            proto_quote(q, sizeof q, (const char *)p, k.mv_size);
            store_vreport(&v->r, "names: an entry '%s' of no known kind", q);
        }
    }
    mdb_cursor_close(cur);
    if (forward != backward)
        store_vreport(&v->r, "names: %llu gemeenten by name, %llu by id",
                      (unsigned long long)forward, (unsigned long long)backward);
}

static void verify_free(struct verify *v)
{
    store_vmap_free(&v->x.vec);
    store_vmap_free(&v->x.mcells);
    store_vmap_free(&v->x.persons);
    store_vmap_free(&v->x.entries);
    store_vmap_free(&v->x.placed);
    free(v->x.person_ent);
    store_vmap_free(&v->retracts);
    store_vmap_free(&v->bad_ids);
    store_vmap_free(&v->ids);
    free(v);
}

/* The whole check, in v->txn. */
static int verify_run(struct verify *v)
{
    int ret;

    if (v->s->read_only) {
        /* load the memory part in this very snapshot as an open would: from the
         * checkpoint read before it and the records after that (so what is compared is
         * what the daemon loaded at its start, and will at its next), else rebuilt */
        ret = store_people_load_from(v->s, v->txn, &v->reg, &v->ld, v->err, v->errlen);
        if (ret != WM_OK)
            return ret;
    }
    ret = expect_records(v);
    if (ret == WM_OK)
        ret = expect_placements(v);
    if (ret != WM_OK) {
        if (ret == WM_ENOMEM)
            proto_errf(v->err, v->errlen, "out of memory");
        return ret;
    }
    v->r.res->live = v->c.events - v->c.retracted;
    check_counters(v);
    check_ids(v);
    check_ids_extra(v);
    check_retracted_extra(v);
    check_names(v);
    ret = store_people_verify(&v->s->people, &v->x, &v->r);
    if (ret != WM_OK)
        proto_errf(v->err, v->errlen, "out of memory");
    return ret;
}

int store_verify(struct store *s, struct store_verify_result *res, store_verify_fn fn, void *arg,
                 uint64_t max_lines, char *err, size_t errlen)
{
    struct verify *v;
    int ret, locked = 0;

    memset(res, 0, sizeof *res);
    if (s->schema != STORE_SCHEMA_VERSION) {
        proto_errf(err, errlen,
                   "the store has schema version %u and this werkmonitord verifies schema %d: "
                   "start werkmonitord on it once (it upgrades the store in place), then verify",
                   s->schema, STORE_SCHEMA_VERSION);
        return WM_EVERSION;
    }
    v = calloc(1, sizeof *v);
    if (!v) {
        proto_errf(err, errlen, "out of memory");
        return WM_ENOMEM;
    }
    v->s = s;
    v->err = err;
    v->errlen = errlen;
    v->r.fn = fn;
    v->r.arg = arg;
    v->r.max_lines = max_lines;
    v->r.res = res;
    store_vmap_init(&v->x.vec, STORE_VEC_MAX * sizeof(uint64_t));
    store_vmap_init(&v->x.mcells, sizeof(uint64_t));
    store_vmap_init(&v->x.persons, sizeof(struct store_vperson));
    store_vmap_init(&v->x.entries, sizeof(uint64_t));
    store_vmap_init(&v->x.placed, sizeof(struct store_vplaced));
    store_vmap_init(&v->retracts, sizeof(uint64_t));
    store_vmap_init(&v->bad_ids, 0);
    store_vmap_init(&v->ids, sizeof(uint64_t));
    /* read-only: the checkpoint first, so that the snapshot holds what it covers */
    if (s->read_only)
        store_people_ckpt_read(s, &v->ld);
    /* a store open for writing: its own memory part, at the same commit as the
     * transaction (the lock first, as every reader takes it) */
    if (!s->read_only) {
        ret = store_people_read_begin(&s->people, "verify", err, errlen);
        if (ret != WM_OK) {
            verify_free(v);
            return ret;
        }
        locked = 1;
    }
    ret = store_query_begin(s, &v->txn, &v->reg, err, errlen);
    if (ret == WM_OK) {
        v->x.reg = &v->reg;
        ret = verify_run(v);
        store_query_end(s, v->txn, &v->reg);
    }
    snprintf(res->memory_source, sizeof res->memory_source, "%s", s->people.load_note);
    if (locked)
        store_people_read_end(&s->people);
    verify_free(v);
    return ret;
}
