/*
 * fixture_store: the store the storage unit tests (test_store_*) share: a real LMDB store
 * in a fresh temporary directory, opened with the region's default gemeenten, and the
 * clean-up that removes it again.
 */
#ifndef WM_FIXTURE_STORE_H
#define WM_FIXTURE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct store_fx {
    char dir[128];   /* the store's temporary directory */
    struct store *s; /* NULL while closed */
};

/*
 * A fixture with a fresh directory /tmp/<prefix>-XXXXXX (prefix at most 100 bytes) and
 * its store opened at the default map sizes. Fails the running test (cmocka) when the
 * directory cannot be made or the store not opened. Free with fixture_store_free.
 */
struct store_fx *fixture_store_new(const char *prefix);

/*
 * Open f->dir as a store (f->s) with the default gemeenten; map_size and map_max as in
 * store_options (0: the defaults). Returns store_open's code: WM_OK, or its error (then
 * f->s is NULL).
 */
int fixture_store_open(struct store_fx *f, size_t map_size, size_t map_max);

/* Close f's store (if open), remove its directory and free f. f may be NULL. */
void fixture_store_free(struct store_fx *f);

/* COUNT of type over all time: its events (distinct 0) or distinct persons (1, the
 * memory part's persons). Fails the running test when COUNT fails. */
uint64_t fixture_count_all_time(struct store *s, int type, int distinct);

/* Remove dir and everything below it; what cannot be removed stays. */
void fixture_rm_tree(const char *dir);

#endif
