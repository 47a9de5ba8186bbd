/*
 * personal: the protocol's rules for personal data (PROTOCOL.md section 4, "No BSN in
 * any value"; docs/SECURITY.md #5 and #9): the eleven-test, the search for a BSN inside any value,
 * and which fields may hold personal values (never repeated in a message). The request parser
 * applies proto_value_check to every token of every request, so a command added later is covered
 * without a line of its own; the client runs the same parser before it sends.
 */
#include <stdint.h>
#include <string.h>

#include "proto.h"

static int digit(char c)
{
    return c >= '0' && c <= '9';
}

int proto_bsn_valid(const char *s, size_t n)
{
    static const int weight[9] = {9, 8, 7, 6, 5, 4, 3, 2, -1};
    int sum = 0, nonzero = 0;

    if (n != 9)
        return 0;
    for (size_t i = 0; i < 9; i++) {
        if (!digit(s[i]))
            return 0;
        sum += (s[i] - '0') * weight[i];
        nonzero |= s[i] != '0';
    }
    return nonzero && sum % 11 == 0;
}

/* At s[i]: digits in groups of the given sizes separated by one of ". -", followed by
 * no digit; the nine digits into d. Returns 1 when they match, else 0. */
static int grouped(const char *s, size_t n, size_t i, const int *groups, int ngroups, char d[9])
{
    size_t p = i;
    int k = 0;

    for (int g = 0; g < ngroups; g++) {
        if (g > 0) {
            if (p >= n || (s[p] != '.' && s[p] != '-' && s[p] != ' '))
                return 0;
            p++;
        }
        for (int j = 0; j < groups[g]; j++, p++) {
            if (p >= n || !digit(s[p]))
                return 0;
            d[k++] = s[p];
        }
    }
    return p >= n || !digit(s[p]);
}

/* The number of w's eight bytes that are decimal digits. */
static size_t word_digits(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t t;

    w ^= ones * '0'; /* a digit's byte becomes 0..9, any other byte something else */
    /* bit 7 of a byte of t: its low seven bits are 10 or more (no carry into the next
     * byte: at most 0x7f + 0x76); a digit has neither that nor its own bit 7 */
    t = (w & ~highs) + ones * (0x80 - 10);
    t = ~(t | w) & highs;
    /* one bit per digit, summed into the top byte (at most 8, no overflow) */
    return (size_t)(((t >> 7) * ones) >> 56);
}

/*
 * 1 when s holds at least nine decimal digits, as every form of a BSN does. Every key
 * and value of every request passes here and nearly all have fewer (names, dates,
 * counts), so this reads them whole: eight bytes at a time, as value.c's plain_prefix
 * does, rather than a test and a branch per byte.
 */
static int nine_digits(const char *s, size_t n)
{
    size_t i = 0, digits = 0;
    uint64_t w;

    if (n < 9)
        return 0; /* keys, short names: too short for nine digits */
    for (; n - i >= 8 && digits < 9; i += 8) {
        memcpy(&w, s + i, 8);
        digits += word_digits(w);
    }
    if (i < n && digits < 9) {
        w = 0; /* the last bytes as one word padded with NUL bytes, which are no digits */
        memcpy(&w, s + i, n - i);
        digits += word_digits(w);
    }
    return digits >= 9;
}

int proto_bsn_find(const char *s, size_t n)
{
    static const int plain[] = {9}, g333[] = {3, 3, 3}, g423[] = {4, 2, 3};
    char d[9];

    /* Every form of a BSN holds nine digits, so a value with fewer (most values: names,
     * dates, counts) holds none; one cheap pass decides that before the search below
     * tries three groupings at each run of digits. */
    if (!nine_digits(s, n))
        return 0;
    for (size_t i = 0; i < n; i++) {
        /* a candidate starts a run of digits: nine digits inside a longer run (a
         * timestamp, a bank account) are not a BSN standing alone */
        if (!digit(s[i]) || (i > 0 && digit(s[i - 1])))
            continue;
        if ((grouped(s, n, i, plain, 1, d) && proto_bsn_valid(d, 9)) ||
            (grouped(s, n, i, g333, 3, d) && proto_bsn_valid(d, 9)) ||
            (grouped(s, n, i, g423, 3, d) && proto_bsn_valid(d, 9)))
            return 1;
    }
    return 0;
}

int proto_person_looks_like_bsn(const char *v, size_t n)
{
    /* digits and the characters that separate groups of them, nothing else: whatever
     * the length, such a value is a number someone typed, not a pseudonym */
    size_t digits = 0;

    for (size_t i = 0; i < n; i++) {
        if (digit(v[i]))
            digits++;
        else if (v[i] != '.' && v[i] != '-' && v[i] != ' ' && v[i] != ':' && v[i] != '_' &&
                 v[i] != '/')
            return 0;
    }
    return digits > 0;
}

/* 1 when c is a hexadecimal digit's letter (either case). */
static int hex_letter(char c)
{
    return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* 1 when a group between dashes of a random id may be that long with that many
 * decimal digits: four or more characters, not nine that are all digits. */
static int uuid_group(size_t group, size_t digits)
{
    return group >= 4 && !(digits == 9 && group == 9);
}

/* 1 when s has the form of a random id or a digest: at least 16 characters, only
 * hexadecimal digits and '-', at least one of them a letter, groups between dashes of at
 * least four (a UUID's 8-4-4-4-12; so no 3-3-3 or 4-2-3 grouping) and no group of exactly
 * nine decimal digits. In such a value a run of nine digits is part of a longer hex run,
 * there by chance: 16 random hex digits hold one passing the eleven-test about once in
 * 500, a 64-hex HMAC pseudonym about once in a hundred. */
static int is_random_token(const char *s, size_t n)
{
    size_t group = 0, digits = 0;
    int letter = 0;

    if (n < 16)
        return 0;
    /* the common bytes first: a pseudonym is 64 of them, each tested once */
    for (size_t i = 0; i < n; i++) {
        if (digit(s[i])) {
            digits++;
            group++;
        } else if (hex_letter(s[i])) {
            letter = 1;
            group++;
        } else if (s[i] == '-') {
            if (!uuid_group(group, digits))
                return 0;
            group = digits = 0;
        } else {
            return 0;
        }
    }
    return uuid_group(group, digits) && letter;
}

int proto_field_personal(const char *key)
{
    static const char *const personal[] = {"person", "bsn",   "employer", "by",
                                           "reason", "title", "text"};

    if (key == NULL)
        return 0;
    for (size_t i = 0; i < sizeof(personal) / sizeof(personal[0]); i++)
        if (strcmp(personal[i], key) == 0)
            return 1;
    return 0;
}

/* 1 when key (may be NULL) is name; the first byte decides most keys without a call. */
static int key_is(const char *key, const char *name)
{
    return key != NULL && key[0] == name[0] && strcmp(key, name) == 0;
}

int proto_value_check(enum proto_verb verb, const char *key, const char *val, size_t n, char *err,
                      size_t errlen)
{
    const char *name = key != NULL ? key : "argument";
    uint64_t num;

    /* a token is a secret, checked against hashes and never stored or repeated */
    if (verb == PROTO_VERB_AUTH)
        return WM_OK;
    /* a sequence number is the server's own, not a value a client made up */
    if (key_is(key, "seq") && proto_parse_uint(val, n, UINT64_MAX, &num) == WM_OK)
        return WM_OK;
    if (key_is(key, "person") && proto_person_looks_like_bsn(val, n)) {
        proto_errf(err, errlen,
                   "person looks like a BSN (only digits and separators): a BSN must never be "
                   "sent; send its pseudonym");
        return WM_EINVALID;
    }
    /* fewer than nine digits: proto_bsn_find below finds nothing, so the value passes
     * whatever its form (most values; this skips the random-token scan for them) */
    if (!nine_digits(val, n))
        return WM_OK;
    /* random ids, UUIDs and digests (the client's pseudonyms are HMAC-SHA256 in hex) */
    if (is_random_token(val, n))
        return WM_OK;
    if (proto_bsn_find(val, n)) {
        proto_errf(err, errlen,
                   "%s: holds a number that looks like a BSN (nine digits passing the "
                   "eleven-test; not repeated here); a BSN must never be sent",
                   name);
        return WM_EINVALID;
    }
    return WM_OK;
}
