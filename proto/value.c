/*
 * value: the byte level of the wire (%XX escapes, UTF-8 validation, quoting values in
 * messages, names and integers) and civil dates as days since 1970-01-01, using Howard
 * Hinnant's days_from_civil / civil_from_days (no libc time zone calls).
 */
#include <stdint.h>
#include <string.h>

#include "proto.h"

static const char hexdig[] = "0123456789ABCDEF";

int proto_hex_digit(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Length of the valid UTF-8 sequence starting at s[i] (1-4), or 0 when the bytes there
 * are not one (bad lead byte, truncated, overlong, surrogate, above U+10FFFF).
 */
static size_t utf8_seq_len(const unsigned char *s, size_t n, size_t i)
{
    unsigned char c = s[i];
    size_t len, k;
    unsigned char lo = 0x80, hi = 0xBF;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong below U+0800 */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates U+D800..DFFF */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong below U+10000 */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0; /* continuation byte, C0/C1 overlongs, F5..FF */
    }
    if (n - i < len)
        return 0;
    if (s[i + 1] < lo || s[i + 1] > hi)
        return 0;
    for (k = 2; k < len; k++)
        if (s[i + k] < 0x80 || s[i + k] > 0xBF)
            return 0;
    return len;
}

int proto_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, l;

    while (i < n) {
        if (u[i] < 0x80) {
            i++; /* ASCII, nearly every byte: nothing to look up */
            continue;
        }
        l = utf8_seq_len(u, n, i);
        if (l == 0)
            return 0;
        i += l;
    }
    return 1;
}

/* The length of src's leading run of bytes that decode to themselves and need no check
 * beyond this: printable ASCII (0x20..0x7e) other than '%'. Eight bytes at a time: a
 * value on the wire is nearly always such a run, and this is the whole of its decoding. */
static size_t plain_prefix(const char *src, size_t len)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    size_t i = 0;
    uint64_t w, pct;

    for (; len - i >= 8; i += 8) {
        memcpy(&w, src + i, 8);
        pct = w ^ (ones * '%');
        /* a byte >= 0x80, a byte < 0x20, a byte 0x7f (+1 sets its high bit), a '%' (zero
         * after the xor): each test is exact for bytes below 0x80, which the first
         * makes sure of */
        if ((w | ((w - ones * 0x20) & ~w) | (w + ones) | ((pct - ones) & ~pct)) & highs)
            break;
    }
    for (; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c < 0x20 || c >= 0x7f || c == '%')
            break;
    }
    return i;
}

static int unescape(char *dst, const char *src, size_t len, size_t *out_len, int allow_lf,
                    char *err, size_t errlen)
{
    size_t i = plain_prefix(src, len), o;
    int hi, lo;
    unsigned char c;

    if (i == len) {
        /* nothing to decode or check: printable ASCII is valid UTF-8 without controls */
        if (dst != src)
            memmove(dst, src, len);
        dst[len] = '\0';
        if (out_len)
            *out_len = len;
        return WM_OK;
    }
    /* the plain prefix decodes to itself; decode the rest byte by byte */
    if (dst != src)
        memmove(dst, src, i);
    o = i;
    /* Decoding never grows the value, so dst == src is safe: o <= i throughout. */
    while (i < len) {
        c = (unsigned char)src[i];
        if (c == '%') {
            if (len - i < 3 || (hi = proto_hex_digit((unsigned char)src[i + 1])) < 0 ||
                (lo = proto_hex_digit((unsigned char)src[i + 2])) < 0) {
                proto_errf(err, errlen, "malformed %%-escape at byte %zu", i + 1);
                return WM_ESYNTAX;
            }
            c = (unsigned char)(hi << 4 | lo);
            i += 3;
        } else {
            i++;
        }
        if (c == 0) {
            proto_errf(err, errlen, "NUL byte in value");
            return WM_ESYNTAX;
        }
        if ((c < 0x20 && !(c == '\n' && allow_lf)) || c == 0x7f) {
            proto_errf(err, errlen, "control character 0x%02X in value", c);
            return WM_ESYNTAX;
        }
        dst[o++] = (char)c;
    }
    dst[o] = '\0';
    if (!proto_utf8_valid(dst, o)) {
        proto_errf(err, errlen, "value is not valid UTF-8");
        return WM_ESYNTAX;
    }
    /* C1 controls (U+0080..U+009F) are control characters as much as C0 ones, and
     * U+0085 (NEL) breaks lines for some readers. */
    for (i = 0; i + 1 < o; i++) {
        if ((unsigned char)dst[i] == 0xC2 && (unsigned char)dst[i + 1] >= 0x80 &&
            (unsigned char)dst[i + 1] <= 0x9F) {
            proto_errf(err, errlen, "control character U+%04X in value", (unsigned char)dst[i + 1]);
            return WM_ESYNTAX;
        }
    }
    if (out_len)
        *out_len = o;
    return WM_OK;
}

int proto_unescape(char *dst, const char *src, size_t len, size_t *out_len, char *err,
                   size_t errlen)
{
    return unescape(dst, src, len, out_len, 0, err, errlen);
}

int proto_unescape_text(char *dst, const char *src, size_t len, size_t *out_len, char *err,
                        size_t errlen)
{
    return unescape(dst, src, len, out_len, 1, err, errlen);
}

static int needs_escape(unsigned char c)
{
    return c <= 0x20 || c == '%' || c == 0x7f;
}

size_t proto_escape(char *dst, size_t dstlen, const char *s, size_t n)
{
    /* The leading run that needs no escape, copied whole: printable ASCII other than
     * '%' (plain_prefix, eight bytes at a time) up to its first space. Most values are
     * one such run; the client escapes every value of every row it sends. */
    size_t run = plain_prefix(s, n), i, o;
    const char *sp = memchr(s, ' ', run);
    unsigned char c;

    if (sp != NULL)
        run = (size_t)(sp - s);
    if (run >= dstlen)
        run = 0; /* no room for it and the NUL: the loop below cuts the output */
    if (run > 0)
        memcpy(dst, s, run);
    for (i = o = run; i < n; i++) {
        c = (unsigned char)s[i];
        if (needs_escape(c)) {
            if (dstlen > 0 && o + 3 < dstlen) {
                dst[o] = '%';
                dst[o + 1] = hexdig[c >> 4];
                dst[o + 2] = hexdig[c & 15];
            } else if (dstlen > 0 && o < dstlen) {
                /* Never leave half an escape behind: cut here. */
                dstlen = o + 1;
            }
            o += 3;
        } else {
            if (dstlen > 0 && o + 1 < dstlen)
                dst[o] = (char)c;
            else if (dstlen > 0 && o < dstlen)
                dstlen = o + 1;
            o++;
        }
    }
    if (dstlen > 0)
        dst[o < dstlen ? o : dstlen - 1] = '\0';
    return o;
}

/* One output piece of proto_quote for the input at s[i]: a whole UTF-8 character or
 * an escape. Returns the input bytes consumed; *piece receives the output length. */
static size_t quote_piece(const unsigned char *u, size_t n, size_t i, char tmp[4], size_t *piece)
{
    size_t l = utf8_seq_len(u, n, i);

    if (l == 0 || needs_escape(u[i])) {
        tmp[0] = '%';
        tmp[1] = hexdig[u[i] >> 4];
        tmp[2] = hexdig[u[i] & 15];
        *piece = 3;
        return 1;
    }
    memcpy(tmp, u + i, l);
    *piece = l;
    return l;
}

void proto_quote(char *dst, size_t dstlen, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i, o = 0, total = 0, piece, limit;
    char tmp[4];

    if (dstlen == 0)
        return;
    for (i = 0; i < n;) {
        i += quote_piece(u, n, i, tmp, &piece);
        total += piece;
    }
    /* When it does not all fit, keep whole pieces and leave room for "...". */
    limit = total <= dstlen - 1 ? total : (dstlen - 1 >= 3 ? dstlen - 1 - 3 : dstlen - 1);
    for (i = 0; i < n;) {
        size_t used = quote_piece(u, n, i, tmp, &piece);
        if (o + piece > limit)
            break;
        memcpy(dst + o, tmp, piece);
        o += piece;
        i += used;
    }
    if (total > dstlen - 1 && dstlen - 1 >= 3) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
}

/* 1 when c may stand in a registry name: [a-z0-9-]. */
static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

int proto_name_valid(const char *s, size_t n)
{
    size_t i;

    if (n < 1 || n > WM_NAME_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if (!name_char(s[i]))
            return 0;
    return 1;
}

char proto_canon_char(char c)
{
    if (c >= 'A' && c <= 'Z')
        return (char)(c - 'A' + 'a');
    return c == ' ' ? '-' : c;
}

int proto_name_canon(char *s, size_t n)
{
    size_t i;

    int canonical = 1;

    /* Check first, so a refused value stays as given for the error message. */
    if (n == 0 || n > WM_NAME_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        if (name_char(s[i]))
            continue;
        if (!name_char(proto_canon_char(s[i])))
            return 0;
        canonical = 0;
    }
    /* most names come canonical already: then there is nothing to rewrite */
    for (i = 0; !canonical && i < n; i++)
        s[i] = proto_canon_char(s[i]);
    return 1;
}

int proto_parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;
    unsigned d;

    if (n == 0)
        return WM_EINVALID;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return WM_EINVALID;
        d = (unsigned)(s[i] - '0');
        if (d > max || v > (max - d) / 10)
            return WM_EINVALID; /* v * 10 + d would pass max (or overflow) */
        v = v * 10 + d;
    }
    *out = v;
    return WM_OK;
}

/* ---- dates -------------------------------------------------------------- */

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

int32_t proto_date_from_ymd(int year, int month, int day)
{
    /* Hinnant's days_from_civil, with the year starting in March. */
    int y = year - (month <= 2);
    int era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (unsigned)((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1);
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + (int)doe - 719468);
}

void proto_date_split(int32_t days, int *year, int *month, int *day)
{
    /* Hinnant's civil_from_days. */
    int64_t z = (int64_t)days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;

    *year = (int)(y + (m <= 2));
    *month = (int)m;
    *day = (int)d;
}

int proto_date_parse(const char *s, size_t len, int32_t *days)
{
    int y, m, d, i;
    static const int digit_pos[8] = {0, 1, 2, 3, 5, 6, 8, 9};

    if (len != 10 || s[4] != '-' || s[7] != '-')
        return WM_EINVALID;
    for (i = 0; i < 8; i++)
        if (s[digit_pos[i]] < '0' || s[digit_pos[i]] > '9')
            return WM_EINVALID;
    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    m = (s[5] - '0') * 10 + (s[6] - '0');
    d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return WM_EINVALID;
    *days = proto_date_from_ymd(y, m, d);
    return WM_OK;
}

void proto_date_format(int32_t days, char out[11])
{
    int y, m, d;

    proto_date_split(days, &y, &m, &d);
    /* Years outside 0000-9999 cannot be written in this form; clamp rather than
     * overflow the 11 bytes (such days never pass proto_date_parse). */
    if (y < 0)
        y = 0;
    if (y > 9999)
        y = 9999;
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
}

int32_t proto_date_month_index(int32_t days)
{
    int y, m, d;

    proto_date_split(days, &y, &m, &d);
    return (int32_t)(y * 12 + m - 1);
}
