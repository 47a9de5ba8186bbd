/*
 * fixture_store: the temporary store of the storage unit tests (see fixture_store.h),
 * linked into every test_store_* executable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture_store.h"

struct store_fx *fixture_store_new(const char *prefix)
{
    struct store_fx *f = calloc(1, sizeof *f);

    assert_non_null(f);
    assert_true(strlen(prefix) <= 100);
    snprintf(f->dir, sizeof f->dir, "/tmp/%s-XXXXXX", prefix);
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(fixture_store_open(f, 0, 0), WM_OK);
    return f;
}

int fixture_store_open(struct store_fx *f, size_t map_size, size_t map_max)
{
    struct store_options o = {0};
    char err[256];

    o.dir = f->dir;
    o.map_size = map_size;
    o.map_max = map_max;
    o.gemeenten = proto_default_gemeenten;
    o.n_gemeenten = 8;
    return store_open(&o, &f->s, err, sizeof err);
}

void fixture_store_free(struct store_fx *f)
{
    if (f == NULL)
        return;
    store_close(f->s);
    fixture_rm_tree(f->dir);
    free(f);
}

void fixture_rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];

    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) != 0)
            fixture_rm_tree(path);
    }
    closedir(d);
    rmdir(dir);
}

uint64_t fixture_count_all_time(struct store *s, int type, int distinct)
{
    struct wm_count_query q;
    struct wm_count_result r;
    char err[200];
    uint64_t v;

    memset(&q, 0, sizeof q);
    q.type = (uint8_t)type;
    q.from = INT32_MIN;
    q.to = INT32_MAX;
    q.distinct = (uint8_t)distinct;
    proto_count_result_init(&r);
    assert_int_equal(store_count(s, &q, &r, err, sizeof err), WM_OK);
    assert_int_equal(r.nrows, 1);
    v = r.rows[0].count;
    proto_count_result_free(&r);
    return v;
}
