/*
 * storage: the checkpoint of the memory part. A file (memory.ckpt beside data.mdb)
 * holding the memory part as it was after the record at seq S, read at open instead of
 * decoding every record (rebuild.c replays the records after S onto it). Written whole
 * when the store closes, and every so many events by a child process (fork: the child
 * writes its copy-on-write view of the memory part while the writer goes on). A child
 * that fails is counted, with why ("cannot write PATH: ..."), in the store's statistics,
 * which the daemon logs; the next is tried after another interval.
 *
 * The file: a header, then sections. The header holds the magic, the format, the
 * schema, the build (werkmonitord's version, the sizes of the structs stored as they
 * are in memory, a mark of the hash functions whose tables are stored as they are, a
 * CRC of the types and their enumerated values), the store's uuid, S, the CRC-32C of
 * the record at S, and a table of sections (id, offset, length, CRC-32C each), with a
 * CRC of its own. The sections follow in the table's order: 1, the persons with their
 * names and entries; 2, the name index; 3, the lists of persons, scope flags and
 * totals; 4, the rollup; 5 (since schema 4), the ids index, (principal, id) -> latest
 * seq: its hash key, checked against the store's at open, and its slots as they are.
 * Adding one is an id, a writer and a reader in ckpt_sections; a file without a
 * section this build reads, or with one it does not know, is not used. Integers in
 * host order: the file belongs to this machine and build, as data.mdb does.
 *
 * Written to memory.ckpt.tmp, synced, renamed over memory.ckpt, the directory synced:
 * a crash leaves the old file or the new one, never a mix. Whatever does not check
 * out (magic, format, build, uuid, a count larger than its section, a CRC) makes the
 * reader give up, and the store rebuild from the records: slower, never wrong.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store_int.h"

#define CKPT_FORMAT 3 /* 3: rollup cells of 16 bytes, ids slots of 12 */
#define CKPT_BUF ((size_t)1 << 20)
#define CKPT_SEC_MAX 16
static const char ckpt_magic[8] = {'W', 'M', 'M', 'E', 'M', 'C', 'K', '\n'};

/* The sections; a new one takes the next id (ids are never reused). */
enum ckpt_section {
    CKPT_SEC_PERSONS = 1, /* each person: entry count, name, entries */
    CKPT_SEC_NAMES = 2,   /* the name index (pseudonym -> person) */
    CKPT_SEC_LISTS = 3,   /* person lists, scope flags, placed persons, entries held */
    CKPT_SEC_ROLL = 4,    /* the rollup: cells, buckets, dates, VEC cells and counters */
    CKPT_SEC_IDS = 5,     /* the ids index: its hash key and slots (ids.c) */
};

struct ckpt_sec {
    uint32_t id, crc;
    uint64_t off, len;
};

struct ckpt_head {
    char magic[8];
    uint32_t format;
    uint32_t schema;
    char version[32]; /* WM_VERSION of the build that wrote it */
    uint32_t sizes;   /* sizeof pentry, mcell, vcell, itab slot, a byte each */
    uint32_t hashes;  /* store_persons_hash_mark ^ store_memroll_hash_mark */
    uint32_t domain;  /* CRC of the types, enums and values (VEC counters' order) */
    uint32_t nsec;
    uint8_t uuid[STORE_UUID_LEN];
    uint64_t seq;
    uint32_t rec_crc;
    uint32_t pad;
    struct ckpt_sec sec[CKPT_SEC_MAX];
    uint32_t crc; /* of the bytes above */
    uint32_t pad2;
};

static uint32_t ckpt_sizes(void)
{
    return (uint32_t)sizeof(struct store_pentry) | (uint32_t)sizeof(struct store_mcell) << 8 |
           (uint32_t)sizeof(struct store_vcell) << 16 | (uint32_t)sizeof(uint64_t) << 24;
}

/* The types as the VEC counters and cells number them: a new value or enum changes it. */
static uint32_t ckpt_domain(void)
{
    uint32_t c = store_crc32c(0, "types", 5);
    uint8_t k[4] = {WM_TYPE_COUNT_, WM_MAX_ENUMS, 0, 0};

    c = store_crc32c(c, k, sizeof k);
    for (int t = 0; t < WM_TYPE_COUNT_; t++) {
        const struct proto_type_desc *td = proto_type_desc(t);
        c = store_crc32c(c, td->name, strlen(td->name) + 1);
        for (int i = 0; i < td->nenums; i++) {
            const struct proto_enum_field *f = td->enums[i];
            c = store_crc32c(c, f->name, strlen(f->name) + 1);
            for (int v = 0; v < f->nvalues; v++)
                c = store_crc32c(c, f->values[v], strlen(f->values[v]) + 1);
        }
    }
    return c;
}

/* The header's build fields, as this build writes them. */
static void ckpt_build(struct ckpt_head *h)
{
    memcpy(h->magic, ckpt_magic, sizeof h->magic);
    h->format = CKPT_FORMAT;
    h->schema = STORE_SCHEMA_VERSION;
    snprintf(h->version, sizeof h->version, "%s", WM_VERSION);
    h->sizes = ckpt_sizes();
    h->hashes = store_persons_hash_mark() ^ store_memroll_hash_mark();
    h->domain = ckpt_domain();
}

/* ---- writing: a buffer, and the CRC of the current section ------------------------ */

/* Everything the writer uses was made before the fork: a child calls nothing that
 * locks or allocates (write, pwrite, the CRC). */
struct ckw {
    int fd;
    uint8_t *buf; /* CKPT_BUF bytes */
    size_t n;
    uint64_t pos; /* bytes of the file so far */
    uint32_t crc;
    int err; /* errno of the first failed write */
};

static void ckw_flush(struct ckw *w)
{
    size_t off = 0;

    while (off < w->n && !w->err) {
        ssize_t k = write(w->fd, w->buf + off, w->n - off);
        if (k < 0 && errno != EINTR)
            w->err = errno;
        else if (k > 0)
            off += (size_t)k;
    }
    w->n = 0;
}

/* Bytes as they are, outside any section's CRC. */
static void ckw_raw(struct ckw *w, const void *p, size_t len)
{
    const uint8_t *b = p;

    w->pos += len;
    while (len > 0 && !w->err) {
        size_t k = CKPT_BUF - w->n < len ? CKPT_BUF - w->n : len;
        memcpy(w->buf + w->n, b, k);
        w->n += k;
        b += k;
        len -= k;
        if (w->n == CKPT_BUF)
            ckw_flush(w);
    }
}

static void ckw_put(struct ckw *w, const void *p, size_t len)
{
    w->crc = store_crc32c(w->crc, p, len);
    ckw_raw(w, p, len);
}

static void ckw_u64(struct ckw *w, uint64_t v)
{
    ckw_put(w, &v, sizeof v);
}

static void ckw_itab(struct ckw *w, const struct store_itab *t)
{
    ckw_u64(w, t->cap);
    ckw_u64(w, t->n);
    if (t->cap)
        ckw_put(w, t->slots, t->cap * sizeof *t->slots);
}

static void ckw_list(struct ckw *w, const uint32_t *v, size_t n)
{
    ckw_u64(w, n);
    if (n)
        ckw_put(w, v, n * sizeof *v);
}

static void write_persons(struct ckw *w, const struct store_people *pl)
{
    const struct store_persons *t = &pl->persons;

    ckw_u64(w, t->n);
    for (uint32_t i = 0; i < t->n; i++) {
        const struct store_person *p = &t->p[i];
        uint32_t hdr[2] = {p->n, (uint32_t)strlen(p->name)};
        ckw_put(w, hdr, sizeof hdr);
        ckw_put(w, p->name, hdr[1]);
        if (p->n)
            ckw_put(w, p->e, p->n * sizeof *p->e);
    }
}

static void write_names(struct ckw *w, const struct store_people *pl)
{
    ckw_itab(w, &pl->persons.names);
}

static void write_lists(struct ckw *w, const struct store_people *pl)
{
    const struct store_persons *t = &pl->persons;

    ckw_u64(w, t->nproj);
    for (size_t i = 0; i < t->nproj; i++)
        ckw_list(w, t->proj[i].v, t->proj[i].n);
    ckw_list(w, t->multi.v, t->multi.n);
    ckw_u64(w, t->nty);
    for (size_t i = 0; i < t->nty; i++)
        ckw_list(w, t->ty[i].v, t->ty[i].n);
    ckw_u64(w, t->nregional);
    if (t->nregional)
        ckw_put(w, t->regional, t->nregional);
    ckw_u64(w, t->placed);
    ckw_u64(w, t->entries);
}

static void write_roll(struct ckw *w, const struct store_people *pl)
{
    const struct store_memroll *m = &pl->roll;
    int32_t dates[3] = {m->min_date, m->max_date, m->has_dates};

    ckw_u64(w, m->capcells);
    ckw_u64(w, m->ncells);
    if (m->capcells)
        ckw_put(w, m->cells, m->capcells * sizeof *m->cells);
    ckw_u64(w, m->nbuckets);
    for (size_t i = 0; i < m->nbuckets; i++) {
        const struct store_mbucket *b = &m->buckets[i];
        int32_t key[3] = {b->unit, b->type, b->gran};
        ckw_put(w, key, sizeof key);
        ckw_list(w, b->cells, b->n);
        ckw_list(w, b->vcells, b->nv);
    }
    ckw_itab(w, &m->bindex);
    ckw_put(w, dates, sizeof dates);
    ckw_u64(w, m->nvcells);
    if (m->nvcells)
        ckw_put(w, m->vcells, m->nvcells * sizeof *m->vcells);
    ckw_itab(w, &m->vindex);
    ckw_u64(w, m->nvec);
    if (m->nvec)
        ckw_put(w, m->vec, m->nvec * sizeof *m->vec);
}

/* ---- reading: a buffer, the CRC, and the bytes left in the section ----------------- */

struct ckr {
    int fd;
    uint8_t *buf;
    size_t pos, n;
    uint32_t crc;
    uint64_t left; /* bytes of the current section not yet taken */
    int bad;       /* short, or a count that does not fit: give up */
    int oom;       /* ... because memory ran out (the file may be good) */
};

/* len bytes into p, in the section's CRC. 0, or -1 (r->bad set). */
static int ckr_get(struct ckr *r, void *p, size_t len)
{
    uint8_t *out = p, *start = p;
    size_t want = len;

    if (r->bad || len > r->left) {
        r->bad = 1;
        return -1;
    }
    r->left -= len;
    while (len > 0) {
        size_t k;
        if (r->pos == r->n) {
            ssize_t got;
            if (len >= CKPT_BUF) {
                /* a large array: straight into place */
                got = read(r->fd, out, len);
                if (got <= 0) {
                    if (got < 0 && errno == EINTR)
                        continue;
                    r->bad = 1;
                    return -1;
                }
                out += got;
                len -= (size_t)got;
                continue;
            }
            got = read(r->fd, r->buf, CKPT_BUF);
            if (got <= 0) {
                if (got < 0 && errno == EINTR)
                    continue;
                r->bad = 1;
                return -1;
            }
            r->pos = 0;
            r->n = (size_t)got;
        }
        k = r->n - r->pos < len ? r->n - r->pos : len;
        memcpy(out, r->buf + r->pos, k);
        r->pos += k;
        out += k;
        len -= k;
    }
    r->crc = store_crc32c(r->crc, start, want);
    return 0;
}

/* A count of elements of size bytes each that must fit in what is left of the section
 * (and in max): 0, or -1. */
static int ckr_count(struct ckr *r, uint64_t *n, size_t size, uint64_t max)
{
    if (ckr_get(r, n, sizeof *n) != 0)
        return -1;
    if (*n > max || (size && *n > r->left / size)) {
        r->bad = 1;
        return -1;
    }
    return 0;
}

/* An array of n elements of size bytes (store_huge_pages' advice when large), or NULL (n == 0, or
 * out of memory: then r->bad). */
static void *ckr_alloc(struct ckr *r, size_t n, size_t size)
{
    void *v;

    if (n == 0)
        return NULL;
    v = malloc(n * size);
    if (!v) {
        r->bad = r->oom = 1;
        return NULL;
    }
    if (n * size >= 2 * STORE_HUGE)
        store_huge_pages(v, n * size);
    return v;
}

/* n zeroed elements of size bytes, or NULL (n == 0, or out of memory: then r->bad). */
static void *ckr_zalloc(struct ckr *r, size_t n, size_t size)
{
    void *v = n ? calloc(n, size) : NULL;

    if (n && !v)
        r->bad = r->oom = 1;
    return v;
}

/* An index table; every index it holds must be below limit. */
static int ckr_itab(struct ckr *r, struct store_itab *t, uint64_t limit)
{
    uint64_t cap, n;

    if (ckr_count(r, &cap, sizeof *t->slots, (uint64_t)1 << 40) != 0 ||
        ckr_count(r, &n, 0, cap / 2) != 0 || (cap & (cap - 1)) != 0 || (cap == 0) != (n == 0))
        return r->bad = 1, -1;
    t->slots = ckr_alloc(r, cap, sizeof *t->slots);
    if (cap && (!t->slots || ckr_get(r, t->slots, cap * sizeof *t->slots) != 0))
        return -1;
    t->cap = cap;
    t->n = n;
    for (size_t i = 0, held = 0; i < cap; i++) {
        if (t->slots[i] == 0)
            continue;
        if ((uint32_t)t->slots[i] - 1 >= limit || ++held > n)
            return r->bad = 1, -1;
    }
    return 0;
}

/* A list of n ids, each below limit, into *v. */
static int ckr_list(struct ckr *r, uint32_t **v, size_t *n, size_t *cap, uint64_t limit)
{
    uint64_t k;

    if (ckr_count(r, &k, sizeof **v, UINT32_MAX) != 0)
        return -1;
    *v = ckr_alloc(r, k, sizeof **v);
    if (k && (!*v || ckr_get(r, *v, k * sizeof **v) != 0))
        return -1;
    *n = *cap = k;
    for (size_t i = 0; i < k; i++)
        if ((*v)[i] >= limit)
            return r->bad = 1, -1;
    return 0;
}

static int read_person(struct ckr *r, struct store_people *pl, struct store_person *p)
{
    uint32_t hdr[2];
    char name[WM_PERSON_MAX + 1];

    if (ckr_get(r, hdr, sizeof hdr) != 0 || hdr[1] == 0 || hdr[1] > WM_PERSON_MAX ||
        (uint64_t)hdr[0] * sizeof *p->e > r->left || ckr_get(r, name, hdr[1]) != 0)
        return r->bad = 1, -1;
    name[hdr[1]] = '\0';
    p->name = store_arena_copy(&pl->arena, name);
    if (!p->name || (hdr[0] && store_arena_entries_new(&pl->arena, p, hdr[0]) != WM_OK))
        return r->bad = r->oom = 1, -1;
    if (hdr[0] && ckr_get(r, p->e, hdr[0] * sizeof *p->e) != 0)
        return -1;
    p->n = hdr[0];
    return 0;
}

static int read_persons(struct ckr *r, struct store_people *pl)
{
    struct store_persons *t = &pl->persons;
    uint64_t n;

    /* a person takes 9 bytes at least (its header and a name) */
    if (ckr_count(r, &n, 9, UINT32_MAX - 1) != 0)
        return -1;
    t->p = ckr_zalloc(r, n, sizeof *t->p);
    if (r->bad)
        return -1;
    t->cap = n;
    for (; t->n < n; t->n++)
        if (read_person(r, pl, &t->p[t->n]) != 0)
            return -1;
    return 0;
}

static int read_names(struct ckr *r, struct store_people *pl)
{
    struct store_persons *t = &pl->persons;

    if (ckr_itab(r, &t->names, t->n) != 0 || t->names.n != t->n)
        return r->bad = 1, -1;
    return 0;
}

static int read_lists(struct ckr *r, struct store_people *pl)
{
    struct store_persons *t = &pl->persons;
    uint64_t k;

    if (ckr_count(r, &k, 8, 0x10000) != 0)
        return -1;
    t->proj = ckr_zalloc(r, k, sizeof *t->proj);
    if (r->bad)
        return -1;
    t->nproj = k;
    for (size_t i = 0; i < k; i++)
        if (ckr_list(r, &t->proj[i].v, &t->proj[i].n, &t->proj[i].cap, t->n) != 0)
            return -1;
    if (ckr_list(r, &t->multi.v, &t->multi.n, &t->multi.cap, t->n) != 0 ||
        ckr_count(r, &k, 8, (uint64_t)WM_TYPE_COUNT_ * STORE_TY_YEARS + STORE_TY_YEARS) != 0)
        return -1;
    t->ty = ckr_zalloc(r, k, sizeof *t->ty);
    if (r->bad)
        return -1;
    t->nty = k;
    for (size_t i = 0; i < k; i++)
        if (ckr_list(r, &t->ty[i].v, &t->ty[i].n, &t->ty[i].cap, t->n) != 0)
            return -1;
    if (ckr_count(r, &k, 1, 0x10000) != 0)
        return -1;
    t->regional = ckr_alloc(r, k, 1);
    t->nregional = k;
    if (k && (!t->regional || ckr_get(r, t->regional, k) != 0))
        return -1;
    if (ckr_get(r, &t->placed, sizeof t->placed) != 0 ||
        ckr_get(r, &t->entries, sizeof t->entries) != 0)
        return -1;
    return 0;
}

static int read_bucket(struct ckr *r, struct store_memroll *m, struct store_mbucket *b)
{
    int32_t key[3];

    if (ckr_get(r, key, sizeof key) != 0)
        return -1;
    b->unit = key[0];
    b->type = (uint8_t)key[1];
    b->gran = (uint8_t)key[2];
    if (ckr_list(r, &b->cells, &b->n, &b->cap, m->capcells) != 0)
        return -1;
    return ckr_list(r, &b->vcells, &b->nv, &b->capv, UINT32_MAX);
}

static int read_roll(struct ckr *r, struct store_people *pl)
{
    struct store_memroll *m = &pl->roll;
    int32_t dates[3];
    uint64_t k;

    if (ckr_count(r, &k, sizeof *m->cells, (uint64_t)1 << 40) != 0 || (k & (k - 1)) != 0)
        return r->bad = 1, -1;
    m->capcells = k;
    if (ckr_count(r, &k, 0, m->capcells / 2) != 0)
        return -1;
    m->ncells = k;
    m->cells = ckr_alloc(r, m->capcells, sizeof *m->cells);
    if (m->capcells && (!m->cells || ckr_get(r, m->cells, m->capcells * sizeof *m->cells) != 0))
        return -1;
    if (ckr_count(r, &k, 16, UINT32_MAX) != 0)
        return -1;
    m->buckets = ckr_zalloc(r, k, sizeof *m->buckets);
    if (r->bad)
        return -1;
    m->capbuckets = k;
    for (; m->nbuckets < k; m->nbuckets++)
        if (read_bucket(r, m, &m->buckets[m->nbuckets]) != 0)
            return -1;
    if (ckr_itab(r, &m->bindex, m->nbuckets) != 0 || ckr_get(r, dates, sizeof dates) != 0)
        return -1;
    m->min_date = dates[0];
    m->max_date = dates[1];
    m->has_dates = dates[2];
    if (ckr_count(r, &k, sizeof *m->vcells, UINT32_MAX) != 0)
        return -1;
    m->vcells = ckr_alloc(r, k, sizeof *m->vcells);
    m->nvcells = m->capvcells = k;
    if (k && (!m->vcells || ckr_get(r, m->vcells, k * sizeof *m->vcells) != 0))
        return -1;
    if (ckr_itab(r, &m->vindex, m->nvcells) != 0 ||
        ckr_count(r, &k, sizeof *m->vec, UINT32_MAX) != 0)
        return -1;
    m->vec = ckr_alloc(r, k, sizeof *m->vec);
    m->nvec = m->capvec = k;
    if (k && (!m->vec || ckr_get(r, m->vec, k * sizeof *m->vec) != 0))
        return -1;
    /* every index must lead somewhere: a bucket's VEC cells, a cell's counters */
    for (size_t i = 0; i < m->nbuckets; i++)
        for (size_t j = 0; j < m->buckets[i].nv; j++)
            if (m->buckets[i].vcells[j] >= m->nvcells)
                return r->bad = 1, -1;
    for (size_t i = 0; i < m->nvcells; i++) {
        const struct proto_type_desc *td = proto_type_desc(m->vcells[i].type);
        if (!td || (uint64_t)m->vcells[i].off + store_vec_len(td) > m->nvec)
            return r->bad = 1, -1;
    }
    return 0;
}

/* The ids index: its hash key (checked against the store's at open), then the table
 * as it is; the batch's changes are never in it (merged under the lock the checkpoint
 * holds). */
static void write_ids(struct ckw *w, const struct store_people *pl)
{
    const struct store_ids *t = &pl->ids;

    ckw_put(w, t->key, sizeof t->key);
    ckw_u64(w, t->cap);
    ckw_u64(w, t->n);
    if (t->cap)
        ckw_put(w, t->slots, t->cap * sizeof *t->slots);
}

static int read_ids(struct ckr *r, struct store_people *pl)
{
    struct store_ids *t = &pl->ids;
    uint64_t cap, n, used = 0;

    if (ckr_get(r, t->key, sizeof t->key) != 0 ||
        ckr_count(r, &cap, sizeof *t->slots, (uint64_t)1 << 40) != 0 || (cap & (cap - 1)) != 0 ||
        ckr_count(r, &n, 0, cap / 4 * 3) != 0)
        return r->bad = 1, -1;
    t->slots = ckr_alloc(r, cap, sizeof *t->slots);
    if (cap && (!t->slots || ckr_get(r, t->slots, cap * sizeof *t->slots) != 0))
        return -1;
    t->cap = cap;
    t->n = n;
    for (size_t i = 0; i < cap; i++)
        used += t->slots[i].seq != 0;
    if (used != n)
        return r->bad = 1, -1;
    return 0;
}

/* The sections, in the order they are written. */
static const struct ckpt_section_ops {
    uint32_t id;
    void (*write)(struct ckw *w, const struct store_people *pl);
    int (*read)(struct ckr *r, struct store_people *pl);
} ckpt_sections[] = {
    {CKPT_SEC_PERSONS, write_persons, read_persons},
    {CKPT_SEC_NAMES, write_names, read_names},
    {CKPT_SEC_LISTS, write_lists, read_lists},
    {CKPT_SEC_ROLL, write_roll, read_roll},
    {CKPT_SEC_IDS, write_ids, read_ids},
};
#define CKPT_NSECTIONS (sizeof ckpt_sections / sizeof ckpt_sections[0])

/* ---- the file ---------------------------------------------------------------------- */

/* Sync the directory dir, so that a name made or changed in it is durable. */
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* Write the file; calls nothing that locks or allocates (a forked child runs it).
 * Returns 0, or the errno of the first failure (ck->tmp removed). */
static int ckpt_write_file(const struct store_people *pl, const struct store_ckpt *ck, uint64_t seq,
                           uint32_t rec_crc, uint8_t *buf)
{
    struct ckw w = {.fd = -1, .buf = buf};
    struct ckpt_head h;
    int ret = 0;

    memset(&h, 0, sizeof h);
    ckpt_build(&h);
    memcpy(h.uuid, ck->uuid, sizeof h.uuid);
    h.seq = seq;
    h.rec_crc = rec_crc;
    h.nsec = CKPT_NSECTIONS;
    w.fd = open(ck->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (w.fd < 0)
        return errno ? errno : EIO;
    /* the header last (it holds the sections' lengths and CRCs): zeros for now */
    ckw_raw(&w, &h, sizeof h);
    for (size_t i = 0; i < CKPT_NSECTIONS; i++) {
        h.sec[i].id = ckpt_sections[i].id;
        h.sec[i].off = w.pos;
        w.crc = 0;
        ckpt_sections[i].write(&w, pl);
        h.sec[i].len = w.pos - h.sec[i].off;
        h.sec[i].crc = w.crc;
    }
    ckw_flush(&w);
    h.crc = store_crc32c(0, &h, offsetof(struct ckpt_head, crc));
    if (!w.err && pwrite(w.fd, &h, sizeof h, 0) != (ssize_t)sizeof h)
        w.err = errno ? errno : EIO;
    if (w.err)
        ret = w.err;
    else if (fdatasync(w.fd) != 0)
        ret = errno;
    if (close(w.fd) != 0 && !ret)
        ret = errno;
    if (!ret && rename(ck->tmp, ck->path) != 0)
        ret = errno;
    if (!ret && sync_dir(ck->dir) != 0)
        ret = errno;
    if (ret)
        unlink(ck->tmp);
    return ret;
}

int store_ckpt_write(const struct store_people *pl, const struct store_ckpt *ck, uint64_t seq,
                     uint32_t rec_crc, uint8_t *buf, char *err, size_t errlen)
{
    int e = ckpt_write_file(pl, ck, seq, rec_crc, buf);

    if (e == 0)
        return WM_OK;
    proto_errf(err, errlen, "cannot write %s: %s", ck->path, strerror(e));
    return WM_EIO;
}

/* Check the header h of a file of size bytes against this build and store: WM_OK, or
 * WM_EVERSION with why saying what does not match. */
static int check_head(const struct ckpt_head *h, const struct store_ckpt *ck, uint64_t size,
                      char *why, size_t whylen)
{
    struct ckpt_head mine;
    uint64_t at = sizeof *h;

    memset(&mine, 0, sizeof mine);
    ckpt_build(&mine);
    if (memcmp(h->magic, ckpt_magic, sizeof h->magic) != 0) {
        proto_errf(why, whylen, "%s is not a checkpoint", ck->path);
        return WM_EVERSION;
    }
    if (h->crc != store_crc32c(0, h, offsetof(struct ckpt_head, crc))) {
        proto_errf(why, whylen, "%s is damaged (its header's checksum does not match)", ck->path);
        return WM_EVERSION;
    }
    if (h->format != CKPT_FORMAT || h->schema != STORE_SCHEMA_VERSION ||
        memchr(h->version, '\0', sizeof h->version) == NULL ||
        strcmp(h->version, mine.version) != 0 || h->sizes != mine.sizes ||
        h->hashes != mine.hashes || h->domain != mine.domain) {
        proto_errf(why, whylen,
                   "%s was written by another build (werkmonitord %.31s, format %u, schema %u; "
                   "this is %s, format %d, schema %d)",
                   ck->path, memchr(h->version, '\0', sizeof h->version) ? h->version : "?",
                   (unsigned)h->format, (unsigned)h->schema, WM_VERSION, CKPT_FORMAT,
                   STORE_SCHEMA_VERSION);
        return WM_EVERSION;
    }
    if (memcmp(h->uuid, ck->uuid, sizeof h->uuid) != 0) {
        proto_errf(why, whylen, "%s belongs to another store (its uuid differs)", ck->path);
        return WM_EVERSION;
    }
    /* exactly the sections this build reads, in its order, back to back to the end */
    if (h->nsec != CKPT_NSECTIONS) {
        proto_errf(why, whylen, "%s holds %u sections, this build reads %zu", ck->path,
                   (unsigned)h->nsec, CKPT_NSECTIONS);
        return WM_EVERSION;
    }
    for (size_t i = 0; i < CKPT_NSECTIONS; i++) {
        if (h->sec[i].id != ckpt_sections[i].id || h->sec[i].off != at ||
            h->sec[i].len > ((uint64_t)1 << 48)) {
            proto_errf(why, whylen, "%s is damaged (section %zu: id %u, %llu bytes at %llu)",
                       ck->path, i, (unsigned)h->sec[i].id, (unsigned long long)h->sec[i].len,
                       (unsigned long long)h->sec[i].off);
            return WM_EVERSION;
        }
        at += h->sec[i].len;
    }
    if (at != size) {
        proto_errf(why, whylen, "%s is damaged (%s: %llu bytes, its sections end at %llu)",
                   ck->path, at > size ? "cut short" : "longer than its sections",
                   (unsigned long long)size, (unsigned long long)at);
        return WM_EVERSION;
    }
    return WM_OK;
}

int store_ckpt_read(struct store_people *pl, const struct store_ckpt *ck, uint64_t *seq,
                    uint32_t *rec_crc, char *err, size_t errlen)
{
    struct ckr r = {.fd = -1};
    struct ckpt_head h;
    struct stat sb;
    int ret = WM_EVERSION;

    r.fd = open(ck->path, O_RDONLY | O_CLOEXEC);
    if (r.fd < 0) {
        if (errno == ENOENT)
            return WM_ENOT_FOUND;
        proto_errf(err, errlen, "cannot open %s: %s", ck->path, strerror(errno));
        return WM_EIO;
    }
    r.buf = malloc(CKPT_BUF);
    if (!r.buf || fstat(r.fd, &sb) != 0) {
        proto_errf(err, errlen, "cannot read %s: %s", ck->path,
                   r.buf ? strerror(errno) : "out of memory");
        ret = WM_EIO;
        goto out;
    }
    r.left = (uint64_t)sb.st_size;
    if (r.left < sizeof h) {
        proto_errf(err, errlen, "%s is damaged (%llu bytes, shorter than its header)", ck->path,
                   (unsigned long long)r.left);
        goto out;
    }
    r.left = sizeof h;
    if (ckr_get(&r, &h, sizeof h) != 0) {
        proto_errf(err, errlen, "cannot read %s", ck->path);
        ret = WM_EIO;
        goto out;
    }
    ret = check_head(&h, ck, (uint64_t)sb.st_size, err, errlen);
    if (ret != WM_OK)
        goto out;
    ret = WM_EVERSION;
    for (size_t i = 0; i < CKPT_NSECTIONS; i++) {
        r.left = h.sec[i].len;
        r.crc = 0;
        if (ckpt_sections[i].read(&r, pl) != 0 && r.oom) {
            proto_errf(err, errlen, "out of memory reading %s", ck->path);
            ret = WM_ENOMEM;
            goto out;
        }
        if (r.bad || r.left != 0 || r.crc != h.sec[i].crc) {
            proto_errf(err, errlen, "%s is damaged (section %u: %s)", ck->path,
                       (unsigned)h.sec[i].id,
                       r.bad || r.left != 0 ? "a length does not match its content"
                                            : "its checksum does not match");
            goto out;
        }
    }
    *seq = h.seq;
    *rec_crc = h.rec_crc;
    ret = WM_OK;
out:
    if (ret != WM_OK)
        store_people_clear(pl);
    free(r.buf);
    close(r.fd);
    return ret;
}

/* ---- written while the store runs: a child process -------------------------------- */

int store_record_crc(struct store *s, MDB_txn *txn, uint64_t seq, uint32_t *crc)
{
    uint8_t k[8];
    MDB_val key = {8, k}, v;
    MDB_txn *own = NULL;
    int rc, ret;

    *crc = 0;
    if (seq == 0)
        return WM_OK;
    if (!txn) {
        ret = store_read_begin(s, &own);
        if (ret != WM_OK)
            return ret;
        txn = own;
    }
    store_put_u64(k, seq);
    rc = mdb_get(txn, s->dbi[STORE_DBI_EVENTS], &key, &v);
    if (rc == 0)
        *crc = store_crc32c(0, v.mv_data, v.mv_size);
    if (own)
        store_read_end(s, own);
    return store_lmdb_err(rc);
}

/* The child: write the file and say how it went by the exit status (0, or the errno
 * of the failure). It runs alone in a copy of a multi-threaded process, so it calls
 * only what is safe there: system calls and the CRC (no lock, no allocation: buf was
 * allocated before the fork; the CRC's tables were made before it too). It closes the
 * parent's descriptors (a connection the daemon closes meanwhile must close), takes the
 * default action of the signals that stop a daemon (the parent's handlers are for the
 * parent), and dies with its parent. */
static void ckpt_child(struct store *s, pid_t parent, uint64_t seq, uint32_t crc, uint8_t *buf)
{
    static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE};
    struct sigaction sa;
    sigset_t none;
    int e;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(ECHILD);
    close_range(3, ~0u, 0);
    e = ckpt_write_file(&s->people, &s->ckpt, seq, crc, buf);
    _exit(e > 0 && e < 256 ? e : e ? EIO : 0);
}

/* Say in ck->last_error why the checkpoint of seq was not written, as "cannot write
 * PATH: <why> (the checkpoint of seq N)": the line the daemon logs (and STATS keeps). */
static void ckpt_failed(struct store_ckpt *ck, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void ckpt_failed(struct store_ckpt *ck, uint64_t seq, const char *fmt, ...)
{
    char why[96];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    proto_errf(ck->last_error, sizeof ck->last_error,
               "cannot write %s: %s (the checkpoint of seq %llu)", ck->path, why,
               (unsigned long long)seq);
}

/* Reap the child when it has ended (or wait for it): its checkpoint is the newest
 * when it exited with 0. */
static void ckpt_poll(struct store *s, int wait)
{
    struct store_ckpt *ck = &s->ckpt;
    int status;
    pid_t pid;

    if (ck->child <= 0)
        return;
    do
        pid = waitpid(ck->child, &status, wait ? 0 : WNOHANG);
    while (pid < 0 && errno == EINTR);
    if (pid == 0)
        return; /* still writing */
    if (pid == ck->child && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        ck->seq = ck->child_seq;
        ck->written++;
    } else if (!(pid == ck->child && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL &&
                 ck->stopping)) {
        ck->failures++;
        if (pid == ck->child && WIFEXITED(status))
            ckpt_failed(ck, ck->child_seq, "%s", strerror(WEXITSTATUS(status)));
        else if (pid == ck->child && WIFSIGNALED(status))
            ckpt_failed(ck, ck->child_seq, "its process was killed by signal %d", WTERMSIG(status));
        else
            ckpt_failed(ck, ck->child_seq, "its process was lost");
    }
    ck->child = 0;
}

uint64_t store_ckpt_interval(uint64_t every, uint64_t covered)
{
    /* The fork costs the parent a copy-on-write fault on every page of the memory part it
     * writes while the child runs, and (after the kernel split the huge pages to copy
     * them) a fault on every 4 KiB page it writes afterwards: the cost of one checkpoint
     * grows with the memory part. At a fixed interval a long import paid it again and
     * again (on this VM a fault costs 15-35 us, and a 10M import ran at a tenth of its
     * speed, docs/PERFORMANCE.md). Growing the interval with what the last checkpoint
     * covers keeps the checkpoints' total cost proportional to the events (a geometric
     * series), at the price of a crash replaying up to as many records as that
     * checkpoint covered. */
    return covered > every ? covered : every;
}

void store_ckpt_maybe(struct store *s, uint64_t seq)
{
    struct store_ckpt *ck = &s->ckpt;
    uint32_t crc;
    uint8_t *buf;
    uint64_t interval;
    pid_t parent = getpid(), pid;
    int fork_errno;

    ckpt_poll(s, 0);
    if (ck->every == 0 || ck->child > 0 || s->people.damaged)
        return;
    interval = store_ckpt_interval(ck->every, ck->seq);
    if (seq < ck->seq + interval)
        return;
    /* after a failure, wait for another interval's events before trying again */
    if (ck->tried && seq < ck->tried + interval)
        return;
    ck->tried = seq;
    /* the CRC of the record also makes sure the CRC's tables exist before the fork */
    if (store_record_crc(s, NULL, seq, &crc) != WM_OK || !(buf = malloc(CKPT_BUF)))
        return;
    /* On the writer between batches: no batch is being applied (the memory part's
     * thread is idle, and only the writer changes the memory part). The read lock says
     * so, and holds off anyone who would change it while the process is copied. */
    pthread_rwlock_rdlock(&s->people.lock);
    pid = fork();
    fork_errno = errno;
    if (pid == 0)
        ckpt_child(s, parent, seq, crc, buf);
    pthread_rwlock_unlock(&s->people.lock);
    free(buf);
    if (pid < 0) {
        ck->failures++;
        ckpt_failed(ck, seq, "cannot start its process: %s", strerror(fork_errno));
        return;
    }
    ck->child = pid;
    ck->child_seq = seq;
}

void store_ckpt_stop(struct store *s)
{
    if (s->ckpt.child > 0) {
        s->ckpt.stopping = 1;
        kill(s->ckpt.child, SIGKILL);
        ckpt_poll(s, 1);
        s->ckpt.stopping = 0;
    }
}

void store_ckpt_free(struct store_ckpt *ck)
{
    free(ck->path);
    free(ck->tmp);
    free(ck->dir);
    memset(ck, 0, sizeof *ck);
}
