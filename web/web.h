/*
 * web: the monitor page's files (the .html, .css and .js files of web/), embedded in the programs
 * at build time (web/embed.cmake writes them into a generated C file of the build tree), so that
 * werkmonitord serves the page and `werkmonitor report` writes it without reading anything from
 * disk or from another host.
 */
#ifndef WM_WEB_H
#define WM_WEB_H

#include <stddef.h>

/* One embedded file. All fields point to static storage; nothing is ever freed. */
struct web_file {
    const char *path;          /* URL path, "/" followed by the file name: "/monitor.js" */
    const char *content_type;  /* for Content-Type: "text/javascript; charset=utf-8" */
    const unsigned char *data; /* the file's bytes, followed by one NUL not counted in size */
    size_t size;               /* length in bytes */
};

/*
 * Finds an embedded file by its URL path; "/" is the page itself ("/index.html"). The
 * path must match exactly (no query string, no decoding: the caller strips "?..." and
 * decodes first).
 *
 * @param path  the URL path, not NULL.
 * @return the file, or NULL when no embedded file has that path.
 */
const struct web_file *web_find(const char *path);

/*
 * Lists every embedded file, in the order of their paths.
 *
 * @param n  set to the number of files; not NULL.
 * @return the first of *n files (static storage).
 */
const struct web_file *web_files(size_t *n);

#endif
