/*
 * storage: the memory helpers under every in-memory structure of storage: array
 * growth, huge pages, and the index table that finds an element of an array by its
 * key.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "store_int.h"

int store_huge_pages_allowed = 1;

void store_huge_pages(void *p, size_t len)
{
    uintptr_t a = ((uintptr_t)p + STORE_HUGE - 1) & ~(uintptr_t)(STORE_HUGE - 1);
    uintptr_t b = ((uintptr_t)p + len) & ~(uintptr_t)(STORE_HUGE - 1);

    /* advice only: without transparent huge pages it changes nothing. NOHUGEPAGE also
     * where the system's setting is "always" (see store_huge_pages_allowed). */
    if (b > a)
        (void)madvise((void *)a, b - a, store_huge_pages_allowed ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
}

void *store_array_regrow(void *v, size_t *cap, size_t need, size_t size, size_t first)
{
    size_t n = *cap ? *cap : first;
    void *nv;

    if (need <= *cap)
        return v;
    while (n < need)
        n *= 2;
    nv = realloc(v, n * size);
    if (nv) {
        *cap = n;
        if (n * size >= 2 * STORE_HUGE)
            store_huge_pages(nv, n * size);
    }
    return nv;
}

void *store_array_grow_zero(void *v, size_t *cap, size_t need, size_t size, size_t first)
{
    size_t was = *cap;
    char *nv = store_array_grow(v, cap, need, size, first);

    if (nv && *cap > was)
        memset(nv + was * size, 0, (*cap - was) * size);
    return nv;
}

/* ---- the index table ---------------------------------------------------------- */

int store_itab_reserve(struct store_itab *t, size_t more, size_t first)
{
    size_t cap = t->cap ? t->cap * 2 : first;
    uint64_t *slots;

    if ((t->n + more) * 2 <= t->cap)
        return WM_OK;
    while ((t->n + more) * 2 > cap)
        cap *= 2;
    slots = calloc(cap, sizeof *slots);
    if (!slots)
        return WM_ENOMEM;
    if (cap * sizeof *slots >= 2 * STORE_HUGE)
        store_huge_pages(slots, cap * sizeof *slots);
    /* the slots hold the hashes: placing them again needs no key */
    for (size_t i = 0; i < t->cap; i++) {
        uint64_t v = t->slots[i];
        size_t j;
        if (!v)
            continue;
        for (j = (size_t)(v >> 32) & (cap - 1); slots[j]; j = (j + 1) & (cap - 1))
            ;
        slots[j] = v;
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return WM_OK;
}

void store_itab_clear(struct store_itab *t)
{
    if (t->n)
        memset(t->slots, 0, t->cap * sizeof *t->slots);
    t->n = 0;
}

void store_itab_free(struct store_itab *t)
{
    free(t->slots);
    memset(t, 0, sizeof *t);
}
