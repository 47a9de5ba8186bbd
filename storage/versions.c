/*
 * storage: the versions of an event id. (principal, id) names its latest record (the
 * ids index, ids.c); a version stored by REPLACE names the one it replaced (wm_event.replaces), so
 * the versions of an id form a chain from the latest back to the first. What EVENT,
 * REPLACE and CHECK make of an id, CHECK itself and SHOW are read here; write.c stores.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* mdb_get: 1 (found, *v borrowed until txn ends), 0 (absent) or a wm_err. */
static int txn_get(struct store *s, MDB_txn *txn, int dbi, const void *key, size_t klen, MDB_val *v)
{
    MDB_val k = {klen, (void *)key};
    int rc = mdb_get(txn, s->dbi[dbi], &k, v);

    if (rc == 0)
        return 1;
    return rc == MDB_NOTFOUND ? 0 : store_lmdb_err(rc);
}

int store_record_read(struct store *s, MDB_txn *txn, uint64_t seq, struct wm_event *ev,
                      struct wm_retract *rt)
{
    uint8_t k[8];
    MDB_val v;
    int kind, ret;

    store_put_u64(k, seq);
    ret = txn_get(s, txn, STORE_DBI_EVENTS, k, 8, &v);
    if (ret <= 0)
        return ret;
    kind = proto_record_kind(v.mv_data, v.mv_size);
    if (kind == PROTO_RECORD_EVENT && ev)
        ret = proto_event_decode(v.mv_data, v.mv_size, ev);
    else if (kind == PROTO_RECORD_RETRACT && rt)
        ret = proto_retract_decode(v.mv_data, v.mv_size, rt);
    else
        ret = kind < 0 ? kind : WM_OK;
    return ret < 0 ? WM_EVERSION : kind;
}

int store_retracted_by(struct store *s, MDB_txn *txn, uint64_t seq, uint64_t *by)
{
    uint8_t k[8];
    MDB_val v;
    int ret;

    store_put_u64(k, seq);
    *by = 0;
    ret = txn_get(s, txn, STORE_DBI_RETRACTED, k, 8, &v);
    if (ret == 1)
        *by = v.mv_size == 8 ? store_get_u64(v.mv_data) : 0;
    return ret < 0 ? ret : WM_OK;
}

int store_id_lookup(struct store *s, MDB_txn *txn, const char *principal, const char *id,
                    uint64_t *seq)
{
    const struct store_ids *t = &s->people.ids;
    struct wm_event *ev = malloc(sizeof *ev);
    struct wm_retract *rt = malloc(sizeof *rt);
    int ret = WM_ENOMEM;

    *seq = 0;
    if (ev && rt)
        ret = store_ids_find(t, txn, s->dbi[STORE_DBI_EVENTS], 0, store_ids_hash(t, principal, id),
                             principal, id, ev, rt, seq, NULL);
    free(ev);
    free(rt);
    return ret < 0 ? ret : ret > 0;
}

int store_id_state(struct store *s, MDB_txn *txn, uint64_t seq, struct store_idver *iv,
                   struct wm_event *ev)
{
    int kind;

    memset(iv, 0, sizeof *iv);
    iv->seq = seq;
    if (seq == 0)
        return WM_OK;
    kind = store_record_read(s, txn, seq, ev, NULL);
    if (kind < 0)
        return kind;
    if (kind == 0)
        return WM_EVERSION; /* ids names a record that is not there */
    iv->kind = kind;
    return kind == PROTO_RECORD_EVENT ? store_retracted_by(s, txn, seq, &iv->retracted_by) : WM_OK;
}

int store_id_verdict(const struct store_idver *iv, const struct wm_event *latest,
                     const struct wm_event *in, int replace, char *err, size_t errlen)
{
    unsigned long long old = (unsigned long long)iv->seq;

    if (iv->seq == 0)
        return STORE_VERDICT_NEW;
    if (iv->kind != PROTO_RECORD_EVENT) {
        proto_errf(err, errlen, "id '%s' was already used for a retraction (seq %llu)", in->id,
                   old);
        return STORE_VERDICT_CONFLICT;
    }
    if (iv->retracted_by != 0) {
        if (replace)
            return STORE_VERDICT_REPLACE;
        /* never a bare DUP: nobody may take a retracted event for a stored one */
        proto_errf(err, errlen,
                   "id '%s' (seq %llu) was retracted (seq %llu); send REPLACE to store it again",
                   in->id, old, (unsigned long long)iv->retracted_by);
        return STORE_VERDICT_CONFLICT;
    }
    if (proto_event_same(latest, in))
        return STORE_VERDICT_DUP;
    if (replace)
        return STORE_VERDICT_REPLACE;
    proto_errf(err, errlen,
               "id '%s' was already used for a different event (seq %llu); send REPLACE to "
               "correct it",
               in->id, old);
    return STORE_VERDICT_CONFLICT;
}

/* ---- CHECK ---------------------------------------------------------------------- */

int store_check(struct store *s, const struct wm_event *ev, char *err, size_t errlen)
{
    struct wm_event *latest = NULL;
    struct store_idver iv;
    MDB_txn *txn;
    MDB_val v;
    uint64_t seq;
    int ret;

    latest = malloc(sizeof *latest);
    if (latest == NULL)
        return WM_ENOMEM;
    /* the ids index is the memory part's: its lock first, as every reader takes it */
    ret = store_people_read_begin(&s->people, "check", err, errlen);
    if (ret != WM_OK)
        goto out;
    ret = store_read_begin(s, &txn);
    if (ret != WM_OK) {
        store_people_read_end(&s->people);
        goto out;
    }
    if (ev->project[0] != '\0') {
        ret = txn_get(s, txn, STORE_DBI_PROJECTS, ev->project, strlen(ev->project), &v);
        if (ret == 0) {
            store_unknown_project(s, txn, ev->project, err, errlen);
            ret = WM_EUNKNOWN_PROJECT;
        }
        if (ret != 1)
            goto end;
    }
    ret = store_id_lookup(s, txn, ev->principal, ev->id, &seq);
    if (ret >= 0)
        ret = store_id_state(s, txn, seq, &iv, latest);
    if (ret == WM_OK && store_id_verdict(&iv, latest, ev, 0, err, errlen) == STORE_VERDICT_CONFLICT)
        ret = WM_ECONFLICT;
end:
    store_read_end(s, txn);
    store_people_read_end(&s->people);
out:
    free(latest);
    if (ret < 0 && ret != WM_EUNKNOWN_PROJECT && ret != WM_ECONFLICT)
        proto_errf(err, errlen, "cannot read the store: %s", wm_strerror(ret));
    return ret < 0 ? ret : WM_OK;
}

/* ---- SHOW ----------------------------------------------------------------------- */

void store_show_init(struct store_show *r)
{
    memset(r, 0, sizeof *r);
}

void store_show_free(struct store_show *r)
{
    free(r->v);
    store_show_init(r);
}

/* Room for one more version at the end of r->v. */
static struct store_version *show_next(struct store_show *r)
{
    struct store_version *nv;

    nv = store_array_grow(r->v, &r->cap, r->n + 1, sizeof *r->v, 4);
    if (nv == NULL)
        return NULL;
    r->v = nv;
    return &r->v[r->n];
}

/* The chain from the latest version (seq) back to the first, into r newest first. */
static int show_walk(struct store *s, MDB_txn *txn, uint64_t seq, struct store_show *r, char *err,
                     size_t errlen)
{
    struct wm_retract *rt = NULL;
    int ret = WM_OK, kind;

    rt = malloc(sizeof *rt);
    if (rt == NULL)
        return WM_ENOMEM;
    while (seq != 0) {
        struct store_version *ver = show_next(r);

        if (ver == NULL) {
            ret = WM_ENOMEM;
            break;
        }
        memset(ver, 0, sizeof *ver);
        kind = store_record_read(s, txn, seq, &ver->ev, NULL);
        if (kind != PROTO_RECORD_EVENT) {
            proto_errf(err, errlen, "version seq %llu of id cannot be read",
                       (unsigned long long)seq);
            ret = kind < 0 ? kind : WM_EVERSION;
            break;
        }
        /* a seq only names an older version: a chain always ends */
        if (ver->ev.replaces >= seq) {
            proto_errf(err, errlen, "event %llu names a later version", (unsigned long long)seq);
            ret = WM_EVERSION;
            break;
        }
        memset(ver->ev.person, 0, sizeof ver->ev.person); /* never leaves storage */
        ret = store_retracted_by(s, txn, seq, &ver->retracted_by);
        if (ret == WM_OK && ver->retracted_by != 0) {
            kind = store_record_read(s, txn, ver->retracted_by, NULL, rt);
            if (kind == PROTO_RECORD_RETRACT)
                memcpy(ver->reason, rt->reason, sizeof ver->reason);
            else
                ret = kind < 0 ? kind : WM_EVERSION;
        }
        if (ret != WM_OK)
            break;
        r->n++;
        seq = ver->ev.replaces;
    }
    free(rt);
    return ret;
}

/* The latest version of the id of the event at seq (admin's SHOW seq=): 1 and
 * principal and id filled, or 0 when seq names no event (err says why), or an error. */
static int show_by_seq(struct store *s, MDB_txn *txn, uint64_t seq, char *principal, char *id,
                       uint64_t *latest, char *err, size_t errlen)
{
    struct wm_retract *rt = malloc(sizeof *rt);
    struct wm_event *ev = malloc(sizeof *ev);
    int kind, ret;

    if (rt == NULL || ev == NULL) {
        ret = WM_ENOMEM;
        goto out;
    }
    kind = store_record_read(s, txn, seq, ev, rt);
    ret = kind < 0 ? kind : 0;
    if (kind == 0)
        proto_errf(err, errlen, "no event with seq %llu", (unsigned long long)seq);
    else if (kind == PROTO_RECORD_RETRACT)
        proto_errf(err, errlen, "seq %llu is a retraction (of seq %llu), not an event",
                   (unsigned long long)seq, (unsigned long long)rt->ref_seq);
    else if (kind == PROTO_RECORD_EVENT) {
        memcpy(principal, ev->principal, sizeof ev->principal);
        memcpy(id, ev->id, sizeof ev->id);
        ret = store_id_lookup(s, txn, principal, id, latest);
        if (ret == 0)
            ret = WM_EVERSION; /* an event whose id is unknown */
    } else if (kind > 0)
        ret = WM_EVERSION;
out:
    free(rt);
    free(ev);
    return ret;
}

int store_show(struct store *s, const char *principal, const char *id, uint64_t seq,
               struct store_show *r, char *err, size_t errlen)
{
    char pbuf[WM_NAME_MAX + 1], ibuf[WM_ID_MAX + 1];
    struct wm_retract *rt = NULL;
    uint64_t latest = 0;
    MDB_txn *txn;
    int ret, kind;

    r->n = 0;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    ret = store_people_read_begin(&s->people, "show", err, errlen);
    if (ret != WM_OK)
        return ret;
    ret = store_read_begin(s, &txn);
    if (ret != WM_OK) {
        store_people_read_end(&s->people);
        goto fail;
    }
    if (seq != 0) {
        ret = show_by_seq(s, txn, seq, pbuf, ibuf, &latest, err, errlen);
    } else {
        ret = store_id_lookup(s, txn, principal, id, &latest);
        if (ret == 0)
            proto_errf(err, errlen, "no event with id '%s' of principal %s", id, principal);
    }
    if (ret == 1) {
        rt = malloc(sizeof *rt);
        kind = rt ? store_record_read(s, txn, latest, NULL, rt) : WM_ENOMEM;
        if (kind == PROTO_RECORD_RETRACT) {
            proto_errf(err, errlen, "id '%s' is the id of a retraction (seq %llu, of seq %llu)",
                       seq ? ibuf : id, (unsigned long long)latest,
                       (unsigned long long)rt->ref_seq);
            ret = 0;
        } else {
            ret = kind < 0 ? kind : show_walk(s, txn, latest, r, err, errlen);
            if (ret == WM_OK)
                ret = 1;
        }
        free(rt);
    }
    store_read_end(s, txn);
    store_people_read_end(&s->people);
    if (ret == 0)
        return WM_ENOT_FOUND;
    if (ret < 0)
        goto fail;
    /* oldest first */
    for (size_t i = 0, j = r->n ? r->n - 1 : 0; i < j; i++, j--) {
        struct store_version t = r->v[i];
        r->v[i] = r->v[j];
        r->v[j] = t;
    }
    return WM_OK;
fail:
    r->n = 0;
    if (err != NULL && errlen > 0 && err[0] == '\0')
        proto_errf(err, errlen, "cannot read the store: %s", wm_strerror(ret));
    return ret;
}
