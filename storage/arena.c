/*
 * storage: the memory part's arena. Pseudonyms and the persons' entry vectors come
 * from large chunks (on huge pages unless a checkpoint's child may be forked:
 * store_huge_pages), freed only with the memory part, so a walk over persons reads few
 * pages; entry vectors have a free list per size.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define ARENA_CHUNK ((size_t)1 << 20)
#define ARENA_CHUNK_MAX ((size_t)64 << 20)

struct store_arena_chunk {
    struct store_arena_chunk *prev;
    size_t used, cap;
    _Alignas(16) char data[]; /* so a 16-byte entry at an offset aligned to 16 never
                                 straddles two cache lines */
};

void *store_arena_alloc(struct store_arena *a, size_t len, size_t align)
{
    struct store_arena_chunk *c = a->chunk;
    size_t at = c ? (c->used + align - 1) & ~(align - 1) : 0;
    void *out;

    if (!c || at > c->cap || c->cap - at < len) {
        /* chunks from 1 MiB doubling to 64 MiB */
        size_t cap = c && c->cap < ARENA_CHUNK_MAX ? c->cap * 2 : ARENA_CHUNK;
        struct store_arena_chunk *n;
        if (c && c->cap >= ARENA_CHUNK_MAX)
            cap = ARENA_CHUNK_MAX;
        if (cap < len)
            cap = len;
        n = malloc(sizeof *n + cap);
        if (!n)
            return NULL;
        n->prev = c;
        n->used = 0;
        n->cap = cap;
        store_huge_pages(n->data, cap);
        a->chunk = c = n;
        a->bytes += cap;
        at = 0;
    }
    out = c->data + at;
    c->used = at + len;
    return out;
}

const char *store_arena_copy(struct store_arena *a, const char *s)
{
    size_t len = strlen(s) + 1;
    char *out = store_arena_alloc(a, len, 1);

    if (out)
        memcpy(out, s, len);
    return out;
}

/* The size class of a vector of cap entries: it holds 2 << k entries. */
static int entries_class(uint32_t cap)
{
    int k = 0;

    while ((2u << k) < cap)
        k++;
    return k;
}

int store_arena_owns(uint32_t cap)
{
    return entries_class(cap) < STORE_PE_CLASSES;
}

/* Give back the vector e of cap entries: to its size's free list (the first bytes of
 * a free vector point to the next), or to malloc when it is too large for the arena. */
static void entries_free(struct store_arena *a, struct store_pentry *e, uint32_t cap)
{
    int k;

    if (!e)
        return;
    k = entries_class(cap);
    if (k >= STORE_PE_CLASSES) {
        free(e);
        return;
    }
    memcpy(e, &a->free[k], sizeof a->free[k]);
    a->free[k] = e;
}

int store_arena_entries_new(struct store_arena *a, struct store_person *p, uint32_t n)
{
    uint32_t cap = 2;
    int k;

    while (cap < n) {
        if (cap >= UINT32_MAX / 2)
            return WM_ENOMEM;
        cap *= 2;
    }
    k = entries_class(cap);
    if (k >= STORE_PE_CLASSES)
        p->e = malloc(cap * sizeof *p->e);
    else
        p->e = store_arena_alloc(a, cap * sizeof *p->e, 16);
    if (!p->e)
        return WM_ENOMEM;
    p->cap = cap;
    return WM_OK;
}

int store_arena_entries_grow(struct store_arena *a, struct store_person *p)
{
    uint32_t cap = p->cap ? p->cap * 2 : 2;
    int k = entries_class(cap);
    struct store_pentry *ne;

    if (p->cap >= UINT32_MAX / 2)
        return WM_ENOMEM;
    if (k >= STORE_PE_CLASSES) {
        ne = malloc(cap * sizeof *ne);
    } else if (a->free[k]) {
        ne = a->free[k];
        memcpy(&a->free[k], ne, sizeof a->free[k]);
    } else {
        ne = store_arena_alloc(a, cap * sizeof *ne, 16);
    }
    if (!ne)
        return WM_ENOMEM;
    if (p->n)
        memcpy(ne, p->e, p->n * sizeof *ne);
    entries_free(a, p->e, p->cap);
    p->e = ne;
    p->cap = cap;
    return WM_OK;
}

void store_arena_free(struct store_arena *a)
{
    struct store_arena_chunk *c = a->chunk;

    while (c) {
        struct store_arena_chunk *prev = c->prev;
        free(c);
        c = prev;
    }
    memset(a, 0, sizeof *a);
}
