/*
 * import's values: what spreadsheets do to a cell, undone before it goes on the wire.
 * White space folded, dates in the forms Dutch Excel writes turned into YYYY-MM-DD,
 * whole numbers written as decimals, BSNs that lost their leading zero. Pure functions
 * without I/O; what a value means (its domain) stays the server's business.
 */
#include <string.h>

#include "import_int.h"

/* 1 for the bytes a cell's white space is made of: space, tab, line breaks. */
static int fold_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The length of a no-break space (U+00A0, which Excel likes to keep) at s, or 0. */
static size_t nbsp_at(const char *s, size_t n)
{
    return n >= 2 && (unsigned char)s[0] == 0xC2 && (unsigned char)s[1] == 0xA0 ? 2 : 0;
}

size_t imp_value_fold(char *dst, const char *v, size_t n)
{
    size_t o = 0, i = 0;
    int pending = 0;

    /* The leading run with nothing to fold (no byte up to the space, so no white space,
     * and no first byte of a no-break space) is copied as it is: most cells are one such
     * run, and every cell of every row passes here. */
    while (i < n && (unsigned char)v[i] > ' ' && (unsigned char)v[i] != 0xC2)
        i++;
    memmove(dst, v, i);
    o = i;
    while (i < n) {
        size_t sp = fold_space((unsigned char)v[i]) ? 1 : nbsp_at(v + i, n - i);

        if (sp > 0) {
            pending = o > 0;
            i += sp;
            continue;
        }
        if (pending)
            dst[o++] = ' ';
        pending = 0;
        dst[o++] = v[i++];
    }
    return o;
}

size_t imp_name_normalise(char *dst, const char *v, size_t n)
{
    size_t o = imp_value_fold(dst, v, n);

    for (size_t i = 0; i < o; i++)
        if (dst[i] >= 'A' && dst[i] <= 'Z')
            dst[i] = (char)(dst[i] - 'A' + 'a');
    return o;
}

/* ---- dates -------------------------------------------------------------- */

/* Read 1..max digits at s[*i]; exactly max when exact. Returns the number or -1. */
static int read_digits(const char *s, size_t n, size_t *i, int max, int exact)
{
    int v = 0, k = 0;

    while (*i < n && k < max && s[*i] >= '0' && s[*i] <= '9') {
        v = v * 10 + (s[*i] - '0');
        (*i)++;
        k++;
    }
    if (k == 0 || (exact && k != max))
        return -1;
    return v;
}

/* What may follow a date: nothing, or a time part (" 00:00:00", "T12:30", " 0:00")
 * that is ignored. */
static int date_tail_ok(const char *s, size_t n, size_t i)
{
    return i == n ||
           ((s[i] == ' ' || s[i] == 'T') && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9');
}

/* A calendar date's days, or an error naming why not: y, m, d as read. */
static int date_make(int y, int m, int d, const char *v, size_t n, char out[11], char *why,
                     size_t whylen)
{
    int yy, mm, dd;
    int32_t days;

    if (m >= 1 && m <= 12 && d >= 1 && d <= 31 && y >= 1) {
        days = proto_date_from_ymd(y, m, d);
        proto_date_split(days, &yy, &mm, &dd);
        if (yy == y && mm == m && dd == d) {
            proto_date_format(days, out);
            return WM_OK;
        }
    }
    snprintf(why, whylen, "date: '%.*s' is not a real date (read as day %d, month %d, year %d)",
             (int)(n > 40 ? 40 : n), v, d, m, y);
    return WM_EINVALID;
}

int imp_date_pattern_check(const char *pattern, char *why, size_t whylen)
{
    int ny = 0, nm = 0, nd = 0;

    for (const char *p = pattern; *p != '\0';) {
        char c = *p;
        size_t k = 0;

        while (p[k] == c)
            k++;
        if (c == 'Y' && (k == 2 || k == 4))
            ny++;
        else if (c == 'M' && k <= 2)
            nm++;
        else if (c == 'D' && k <= 2)
            nd++;
        else if (c == 'Y' || c == 'M' || c == 'D' || (c >= '0' && c <= '9'))
            break;
        p += k;
        if (*p == '\0' && ny == 1 && nm == 1 && nd == 1)
            return WM_OK;
    }
    snprintf(why, whylen,
             "--date-format wants a pattern of YYYY (or YY), MM (or M) and DD (or D) once each "
             "with the separators between them, such as MM/DD/YYYY or D.M.YYYY; not '%.40s'",
             pattern);
    return WM_EINVALID;
}

/* A date by pattern: YYYY/YY, MM/M, DD/D and literal separators. A two-letter token
 * next to another number (YYYYMMDD) reads exactly two digits. */
static int date_by_pattern(const char *pattern, const char *v, size_t n, char out[11], char *why,
                           size_t whylen)
{
    int y = -1, m = -1, d = -1;
    size_t i = 0;

    for (const char *p = pattern; *p != '\0';) {
        char c = *p;
        size_t k = 0;
        int exact, val;

        while (p[k] == c)
            k++;
        if (c != 'Y' && c != 'M' && c != 'D') {
            if (i + k > n || memcmp(v + i, p, k) != 0)
                goto bad;
            i += k;
            p += k;
            continue;
        }
        exact = c == 'Y' ||
                (k == 2 && (p[k] == 'Y' || p[k] == 'M' || p[k] == 'D' ||
                            (p > pattern && (p[-1] == 'Y' || p[-1] == 'M' || p[-1] == 'D'))));
        val = read_digits(v, n, &i, c == 'Y' ? (int)k : 2, exact);
        if (val < 0)
            goto bad;
        if (c == 'Y')
            y = k == 2 ? 2000 + val : val;
        else if (c == 'M')
            m = val;
        else
            d = val;
        p += k;
    }
    if (!date_tail_ok(v, n, i))
        goto bad;
    return date_make(y, m, d, v, n, out, why, whylen);
bad:
    snprintf(why, whylen, "date: '%.*s' does not have the form %s (--date-format)",
             (int)(n > 40 ? 40 : n), v, pattern);
    return WM_EINVALID;
}

int imp_date_parse(const char *pattern, const char *v, size_t n, char out[11], char *why,
                   size_t whylen)
{
    size_t i = 0, j;
    int a, b, c;
    char sep;

    if (pattern != NULL)
        return date_by_pattern(pattern, v, n, out, why, whylen);
    for (j = 0; j < n && v[j] >= '0' && v[j] <= '9';)
        j++;
    if (j == n && n >= 4 && n <= 5) {
        snprintf(why, whylen,
                 "date: '%.*s' is a spreadsheet's day number, not a date: format the column "
                 "as a date (DD-MM-YYYY) before saving",
                 (int)n, v);
        return WM_EINVALID;
    }
    a = read_digits(v, n, &i, 4, 0);
    if (a >= 0 && i == 4 && i < n && (v[i] == '-' || v[i] == '/')) {
        /* year first: YYYY-MM-DD (or with one-digit parts, or '/') */
        sep = v[i++];
        b = read_digits(v, n, &i, 2, 0);
        if (b >= 0 && i < n && v[i] == sep) {
            i++;
            c = read_digits(v, n, &i, 2, 0);
            if (c >= 0 && date_tail_ok(v, n, i))
                return date_make(a, b, c, v, n, out, why, whylen);
        }
    } else if (a >= 0 && i <= 2 && i < n && (v[i] == '-' || v[i] == '/' || v[i] == '.')) {
        /* day first, the Dutch way: D-M-YYYY, DD-MM-YYYY, DD/MM/YYYY, D.M.YYYY */
        sep = v[i++];
        b = read_digits(v, n, &i, 2, 0);
        if (b >= 0 && i < n && v[i] == sep) {
            j = ++i;
            c = read_digits(v, n, &i, 4, 0);
            if (c >= 0 && i - j == 2 && date_tail_ok(v, n, i)) {
                snprintf(why, whylen,
                         "date: '%.*s' has a two-digit year, which is ambiguous: write the "
                         "year in full, or give --date-format (such as DD-MM-YY)",
                         (int)(n > 40 ? 40 : n), v);
                return WM_EINVALID;
            }
            if (c >= 0 && i - j == 4 && date_tail_ok(v, n, i)) {
                if (b > 12 && a <= 12) {
                    snprintf(why, whylen,
                             "date: '%.*s' is not a real date read day-first (month %d): a "
                             "month-first file needs --date-format MM%cDD%cYYYY",
                             (int)(n > 40 ? 40 : n), v, b, sep, sep);
                    return WM_EINVALID;
                }
                return date_make(c, b, a, v, n, out, why, whylen);
            }
        }
    }
    snprintf(why, whylen,
             "date: '%.*s' is not a date in a form I read (YYYY-MM-DD, or day first: "
             "DD-MM-YYYY, D-M-YYYY, DD/MM/YYYY); give --date-format for another form",
             (int)(n > 40 ? 40 : n), v);
    return WM_EINVALID;
}

/* ---- numbers and BSNs ----------------------------------------------------- */

size_t imp_int_normalise(const char *v, size_t n)
{
    size_t i = 0, digits;

    if (i < n && v[i] == '-')
        i++;
    while (i < n && v[i] >= '0' && v[i] <= '9')
        i++;
    digits = i;
    if (i == n || digits == 0 || (v[0] == '-' && digits == 1))
        return n;
    if (v[i] != ',' && v[i] != '.')
        return n;
    for (i++; i < n; i++)
        if (v[i] != '0')
            return n;
    return digits;
}

/* 1 when v is a number in scientific notation as a spreadsheet writes it
 * (1,11222E+08, 1.2e8). */
static int is_scientific(const char *v, size_t n)
{
    size_t i = 0, k;

    while (i < n && v[i] >= '0' && v[i] <= '9')
        i++;
    if (i == 0)
        return 0;
    if (i < n && (v[i] == ',' || v[i] == '.'))
        for (i++; i < n && v[i] >= '0' && v[i] <= '9';)
            i++;
    if (i == n || (v[i] != 'E' && v[i] != 'e'))
        return 0;
    i++;
    if (i < n && (v[i] == '+' || v[i] == '-'))
        i++;
    for (k = i; i < n && v[i] >= '0' && v[i] <= '9';)
        i++;
    return i == n && i > k;
}

int imp_bsn_prepare(const char *v, size_t n, char out[10], char *why, size_t whylen)
{
    size_t digits = 0;

    if (is_scientific(v, n)) {
        snprintf(why, whylen,
                 "bsn: Excel turned this BSN into a number: format the column as text "
                 "(not sent)");
        return WM_EINVALID;
    }
    while (digits < n && v[digits] >= '0' && v[digits] <= '9')
        digits++;
    if (digits == n && n == 8) {
        /* Excel drops the leading zero of a BSN kept as a number */
        out[0] = '0';
        memcpy(out + 1, v, 8);
        out[9] = '\0';
        return WM_OK;
    }
    if (n > 9) {
        snprintf(why, whylen, "bsn: a BSN has 9 digits (this one has %zu characters; not sent)", n);
        return WM_EINVALID;
    }
    memcpy(out, v, n);
    out[n] = '\0';
    return WM_OK;
}
