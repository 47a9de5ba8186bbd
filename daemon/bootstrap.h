/*
 * bootstrap: the registry file (--registry, config key "registry") that a new store
 * starts with, so a service install begins with the region's program and projects.
 * The file holds PROGRAM and PROJECT request lines, as `werkmonitor raw` would send.
 */
#ifndef WM_DAEMON_BOOTSTRAP_H
#define WM_DAEMON_BOOTSTRAP_H

#include <stddef.h>

#include "store.h"

/* Longest line of a registry file, terminator excluded. */
#define BOOTSTRAP_MAX_LINE 65536

/*
 * Check the registry file at path without touching any store: every line must be a
 * valid PROGRAM or PROJECT request (blank lines and lines starting with '#' are
 * skipped), and the whole file must apply to an empty store, which is tried on a
 * scratch store in a temporary directory (TMPDIR or /tmp) that is removed afterwards.
 * gemeenten/n_gemeenten are the configured municipalities (borrowed).
 * Returns WM_OK and sets *nlines (registry lines, not counting skipped ones) when
 * nlines is not NULL; WM_ECONFIG with err "<file>:<line>: <problem>" for a bad line
 * or "<file>: <problem>" when the file cannot be read or holds no registry line;
 * WM_EIO when the scratch store cannot be made (err says why); WM_ENOMEM.
 */
int bootstrap_registry_check(const char *path, const char *const *gemeenten, size_t n_gemeenten,
                             size_t *nlines, char *err, size_t errlen);

/*
 * Apply the registry file at path to store s when s holds no project yet, in one
 * committed transaction; a store with projects is left alone (a restart never
 * overwrites projects edited since). The file is checked first as by
 * bootstrap_registry_check, so a bad file changes nothing. Must run before the commit
 * queue starts: it calls store_apply on the caller's thread.
 * Returns WM_OK and sets *applied to the number of lines applied (0 when the store
 * already had projects); WM_ECONFIG (bad file, err as above); WM_EIO / WM_ESTORAGE /
 * WM_EMAPFULL (the store failed; err says why); WM_ENOMEM.
 */
int bootstrap_registry_apply(struct store *s, const char *path, const char *const *gemeenten,
                             size_t n_gemeenten, size_t *applied, char *err, size_t errlen);

#endif /* WM_DAEMON_BOOTSTRAP_H */
