/*
 * Unit tests of web/ (wmweb): the monitor page's files as embedded at build time, found
 * by path with their content types, and every file the page refers to embedded too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "web.h"

static void test_root_is_the_page(void **state)
{
    (void)state;
    const struct web_file *root = web_find("/");
    const struct web_file *index = web_find("/index.html");

    assert_non_null(root);
    assert_ptr_equal(root, index);
    assert_string_equal(root->content_type, "text/html; charset=utf-8");
    assert_true(root->size > 100);
    assert_non_null(strstr((const char *)root->data, "<html lang=\"nl\">"));
    /* The bytes end with a NUL that the size does not count. */
    assert_int_equal(root->data[root->size], 0);
    assert_int_equal(strlen((const char *)root->data), root->size);
}

static void test_content_types(void **state)
{
    (void)state;
    const struct web_file *css = web_find("/monitor.css");
    const struct web_file *js = web_find("/monitor.js");

    assert_non_null(css);
    assert_string_equal(css->content_type, "text/css; charset=utf-8");
    assert_non_null(js);
    assert_string_equal(js->content_type, "text/javascript; charset=utf-8");
}

static void test_unknown_paths(void **state)
{
    (void)state;
    assert_null(web_find(""));
    assert_null(web_find("/nothing.js"));
    assert_null(web_find("monitor.js"));
    assert_null(web_find("/../CMakeLists.txt"));
    assert_null(web_find("/web.h"));
    assert_null(web_find("/embed.cmake"));
    assert_null(web_find("/monitor.js?x=1"));
}

/* Every src="..." and href="..." of the page that is not a fragment or data: URL names an
 * embedded file, and no reference leaves the host (no "//" or scheme). */
static void test_page_references_are_embedded(void **state)
{
    (void)state;
    const struct web_file *page = web_find("/");
    const char *p = (const char *)page->data;
    int refs = 0;

    assert_non_null(page);
    while ((p = strpbrk(p, "sh")) != NULL) {
        size_t skip = strncmp(p, "src=\"", 5) == 0 ? 5 : strncmp(p, "href=\"", 6) == 0 ? 6 : 0;
        if (!skip) {
            p++;
            continue;
        }
        p += skip;
        const char *end = strchr(p, '"');
        assert_non_null(end);
        char ref[256];
        size_t len = (size_t)(end - p);
        assert_true(len < sizeof ref - 1);
        ref[0] = '/';
        memcpy(ref + 1, p, len);
        ref[len + 1] = '\0';
        if (ref[1] != '#' && strncmp(ref + 1, "data:", 5) != 0) {
            assert_null(strstr(ref, "//"));
            assert_null(strchr(ref, ':'));
            if (web_find(ref) == NULL)
                fail_msg("the page refers to %s, which is not embedded", ref + 1);
            refs++;
        }
        p = end;
    }
    assert_true(refs >= 3);
}

static void test_listing(void **state)
{
    (void)state;
    size_t n = 0;
    const struct web_file *f = web_files(&n);

    assert_true(n >= 4);
    for (size_t i = 0; i < n; i++) {
        assert_ptr_equal(web_find(f[i].path), &f[i]);
        if (i > 0)
            assert_true(strcmp(f[i - 1].path, f[i].path) < 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root_is_the_page),
        cmocka_unit_test(test_content_types),
        cmocka_unit_test(test_unknown_paths),
        cmocka_unit_test(test_page_references_are_embedded),
        cmocka_unit_test(test_listing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
