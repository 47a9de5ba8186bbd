/*
 * storage: the project registry and the gemeente dictionary as the queries see them
 * (one load per read transaction; the registry is small), and PROJECTS.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

void store_program_default(struct wm_project *p)
{
    memset(p, 0, sizeof *p);
    p->name[0] = '*';
    p->start = p->end = WM_DATE_NONE;
    for (int i = 0; i < 3; i++)
        p->target[i] = -1;
}

int store_project_value(const MDB_val *v, uint32_t *id, struct wm_project *p)
{
    int ret;

    if (v->mv_size < 4)
        return WM_EVERSION;
    *id = store_get_u32(v->mv_data);
    ret = proto_project_decode((const uint8_t *)v->mv_data + 4, v->mv_size - 4, p);
    return ret == WM_OK ? WM_OK : WM_EVERSION;
}

int store_gemeente_id(struct store *s, MDB_txn *txn, const char *name, int create,
                      struct store_counters *c, uint32_t *id)
{
    uint8_t fk[1 + WM_NAME_MAX], rk[5];
    size_t len = strlen(name);
    MDB_val k = {len + 1, fk}, v;
    int rc;

    if (len > WM_NAME_MAX)
        return WM_EINVALID;
    fk[0] = 0x01;
    memcpy(fk + 1, name, len);
    rc = mdb_get(txn, s->dbi[STORE_DBI_NAMES], &k, &v);
    if (rc == 0 && v.mv_size == 4) {
        *id = store_get_u32(v.mv_data);
        return WM_OK;
    }
    if (rc != MDB_NOTFOUND)
        return rc == 0 ? WM_EVERSION : store_lmdb_err(rc);
    if (!create)
        return WM_ENOT_FOUND;
    if (c->next_gemeente > 0xffff)
        return WM_EINVALID; /* ids are u16 in rollup keys */
    *id = (uint32_t)c->next_gemeente++;
    store_put_u32(rk + 1, *id);
    v.mv_size = 4;
    v.mv_data = rk + 1;
    rc = mdb_put(txn, s->dbi[STORE_DBI_NAMES], &k, &v, 0);
    if (rc == 0) {
        rk[0] = 0x02;
        k.mv_size = 5;
        k.mv_data = rk;
        v.mv_size = len;
        v.mv_data = (void *)name;
        rc = mdb_put(txn, s->dbi[STORE_DBI_NAMES], &k, &v, 0);
    }
    return store_lmdb_err(rc);
}

static int cat_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void store_registry_free(struct store_registry *r)
{
    free(r->proj);
    free(r->by_id);
    free(r->cats);
    free(r->gem);
    memset(r, 0, sizeof *r);
}

static int registry_load_gemeenten(struct store *s, MDB_txn *txn, struct store_registry *r)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint8_t first = 0x02;
    int rc, ret = WM_OK;

    rc = mdb_cursor_open(txn, s->dbi[STORE_DBI_NAMES], &cur);
    if (rc != 0)
        return store_lmdb_err(rc);
    k.mv_size = 1;
    k.mv_data = &first;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *kb = k.mv_data;
        uint32_t id;
        if (k.mv_size != 5 || kb[0] != 0x02)
            break;
        id = store_get_u32(kb + 1);
        if (id >= r->ngem) {
            void *g = store_array_grow_zero(r->gem, &r->ngem, id + 1u, sizeof *r->gem, 16);
            if (!g) {
                ret = WM_ENOMEM;
                goto out;
            }
            r->gem = g;
        }
        if (v.mv_size > WM_NAME_MAX) {
            ret = WM_EVERSION;
            goto out;
        }
        memcpy(r->gem[id], v.mv_data, v.mv_size);
        r->gem[id][v.mv_size] = '\0';
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        ret = store_lmdb_err(rc);
out:
    mdb_cursor_close(cur);
    return ret;
}

/* Read every project record into r->proj (by name, LMDB's order). */
static int registry_load_projects(struct store *s, MDB_txn *txn, struct store_registry *r)
{
    MDB_cursor *cur = NULL;
    MDB_stat st;
    MDB_val k, v;
    int rc, ret = WM_OK;

    rc = mdb_stat(txn, s->dbi[STORE_DBI_PROJECTS], &st);
    if (rc != 0)
        return store_lmdb_err(rc);
    r->proj = calloc(st.ms_entries + 1, sizeof *r->proj);
    r->cats = calloc(st.ms_entries + 1, sizeof *r->cats);
    if (!r->proj || !r->cats)
        return WM_ENOMEM;
    rc = mdb_cursor_open(txn, s->dbi[STORE_DBI_PROJECTS], &cur);
    if (rc != 0)
        return store_lmdb_err(rc);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && r->nproj < st.ms_entries;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        struct store_reg_project *rp = &r->proj[r->nproj];
        ret = store_project_value(&v, &rp->id, &rp->p);
        if (ret != WM_OK)
            break;
        if (rp->id >= r->nid)
            r->nid = rp->id + 1;
        r->nproj++;
    }
    mdb_cursor_close(cur);
    if (ret == WM_OK && rc != 0 && rc != MDB_NOTFOUND)
        ret = store_lmdb_err(rc);
    return ret;
}

/* The projects by id, and their distinct categories, sorted. */
static int registry_index(struct store_registry *r)
{
    /* Id 0 is "no project": by_id always has it. */
    if (r->nid == 0)
        r->nid = 1;
    r->by_id = malloc(r->nid * sizeof *r->by_id);
    if (!r->by_id)
        return WM_ENOMEM;
    for (uint32_t i = 0; i < r->nid; i++)
        r->by_id[i] = -1;
    for (size_t i = 0; i < r->nproj; i++) {
        r->by_id[r->proj[i].id] = (int32_t)i;
        r->cats[i] = r->proj[i].p.category;
    }
    qsort(r->cats, r->nproj, sizeof *r->cats, cat_cmp);
    for (size_t i = 0; i < r->nproj; i++)
        if (r->ncats == 0 || strcmp(r->cats[r->ncats - 1], r->cats[i]) != 0)
            r->cats[r->ncats++] = r->cats[i];
    for (size_t i = 0; i < r->nproj; i++) {
        const char *key = r->proj[i].p.category;
        const char **hit = bsearch(&key, r->cats, r->ncats, sizeof *r->cats, cat_cmp);
        r->proj[i].cat = (uint32_t)(hit - r->cats);
    }
    return WM_OK;
}

int store_registry_load(struct store *s, MDB_txn *txn, struct store_registry *r)
{
    MDB_val k = {7, "program"}, v;
    int rc, ret;

    memset(r, 0, sizeof *r);
    rc = mdb_get(txn, s->dbi[STORE_DBI_META], &k, &v);
    if (rc == 0) {
        if (proto_project_decode(v.mv_data, v.mv_size, &r->program) != WM_OK)
            return WM_EVERSION;
    } else if (rc == MDB_NOTFOUND) {
        store_program_default(&r->program);
    } else {
        return store_lmdb_err(rc);
    }
    ret = registry_load_projects(s, txn, r);
    if (ret == WM_OK)
        ret = registry_index(r);
    if (ret == WM_OK)
        ret = registry_load_gemeenten(s, txn, r);
    if (ret != WM_OK)
        store_registry_free(r);
    return ret;
}

const struct store_reg_project *store_registry_find(const struct store_registry *r,
                                                    const char *name)
{
    size_t lo = 0, hi = r->nproj;

    /* LMDB's order of the names is strcmp's: they hold no NUL. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(r->proj[mid].p.name, name);
        if (c == 0)
            return &r->proj[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int store_projects(struct store *s, struct wm_projects_result *res, char *err, size_t errlen)
{
    struct store_counters cnt;
    struct store_registry r;
    MDB_txn *txn;
    int ret;

    proto_projects_result_reset(res);
    ret = store_query_begin(s, &txn, &r, err, errlen);
    if (ret != WM_OK)
        return ret;
    ret = store_counters_get(s, txn, &cnt);
    if (ret == WM_OK)
        res->seq = cnt.last_seq;
    for (size_t i = 0; i < r.nproj && ret == WM_OK; i++)
        ret = proto_projects_result_add(res, &r.proj[i].p);
    if (ret == WM_OK)
        ret = proto_projects_result_add(res, &r.program);
    store_query_end(s, txn, &r);
    if (ret != WM_OK) {
        res->n = 0;
        proto_errf(err, errlen, "projects failed: %s", wm_strerror(ret));
        return ret == WM_ENOMEM ? WM_ENOMEM : WM_EIO;
    }
    return WM_OK;
}

int store_query_begin(struct store *s, MDB_txn **txn, struct store_registry *r, char *err,
                      size_t errlen)
{
    int ret = store_read_begin(s, txn);

    if (ret != WM_OK) {
        proto_errf(err, errlen, "cannot read the store: %s", wm_strerror(ret));
        return WM_EIO;
    }
    ret = store_registry_load(s, *txn, r);
    if (ret != WM_OK) {
        store_read_end(s, *txn);
        *txn = NULL;
        proto_errf(err, errlen, "cannot read the registry: %s", wm_strerror(ret));
        return ret == WM_ENOMEM ? WM_ENOMEM : WM_EIO;
    }
    return WM_OK;
}

void store_query_end(struct store *s, MDB_txn *txn, struct store_registry *r)
{
    store_read_end(s, txn);
    store_registry_free(r);
}

/* The edit distance of a (na bytes) and b (nb bytes), each at most WM_NAME_MAX:
 * inserting, deleting or changing a byte, or swapping two neighbours, costs 1. */
static size_t name_distance(const char *a, size_t na, const char *b, size_t nb)
{
    size_t rows[3][WM_NAME_MAX + 1];
    size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2], *t;

    for (size_t j = 0; j <= nb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= na; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t v = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < v)
                v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < v)
                v = prev2[j - 2] + 1;
            cur[j] = v;
        }
        t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[nb];
}

void store_unknown_project(struct store *s, MDB_txn *txn, const char *name, char *err,
                           size_t errlen)
{
    char near[WM_NAME_MAX + 1] = "";
    size_t n = strlen(name), best;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc;

    /* A third of the name may be wrong, one to three edits: "taal-werkt" finds
     * "taalwerkt", "zorg" does not find "bouw". */
    best = n / 3 < 1 ? 1 : n / 3 > 3 ? 3 : n / 3;
    best++;
    if (n <= WM_NAME_MAX && mdb_cursor_open(txn, s->dbi[STORE_DBI_PROJECTS], &cur) == 0) {
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            size_t d;
            if (k.mv_size > WM_NAME_MAX)
                continue;
            d = name_distance(name, n, k.mv_data, k.mv_size);
            if (d < best) {
                best = d;
                memcpy(near, k.mv_data, k.mv_size);
                near[k.mv_size] = '\0';
            }
        }
        mdb_cursor_close(cur);
    }
    if (near[0] != '\0')
        proto_errf(err, errlen, "unknown project '%s' (did you mean '%s'?)", name, near);
    else
        proto_errf(err, errlen, "unknown project '%s'", name);
}

int store_registry_category(const struct store_registry *r, const char *category, char *err,
                            size_t errlen)
{
    int rc;

    if (r->ncats == 0) {
        proto_errf(err, errlen, "category: unknown value '%s' (no project is registered)",
                   category);
        return WM_EINVALID;
    }
    rc = proto_choice("category", r->cats, r->ncats, category, err, errlen);
    return rc < 0 ? rc : WM_OK;
}
