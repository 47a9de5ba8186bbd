/*
 * storage: the memory helpers under every in-memory structure of storage: array
 * growth and huge pages.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "store_int.h"

void store_huge_pages(void *p, size_t len)
{
    uintptr_t a = ((uintptr_t)p + STORE_HUGE - 1) & ~(uintptr_t)(STORE_HUGE - 1);
    uintptr_t b = ((uintptr_t)p + len) & ~(uintptr_t)(STORE_HUGE - 1);

    /* advice only: without transparent huge pages it changes nothing */
    if (b > a)
        (void)madvise((void *)a, b - a, MADV_HUGEPAGE);
}

void *store_array_grow(void *v, size_t *cap, size_t need, size_t size, size_t first)
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
