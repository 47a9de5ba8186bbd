/*
 * Unit tests of import's values and columns (import_value.c, import_map.c): white
 * space folded, dates in every form Dutch Excel writes and each refusal, whole numbers
 * written as decimals, BSNs that lost a zero or became a number, the mapping profile
 * read, resolved and refused line by line, and the CSV reader's split of plain lines
 * against libcsv's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "import_int.h"

static const char *fold(const char *v)
{
    static char out[256];
    size_t n = imp_value_fold(out, v, strlen(v));

    out[n] = '\0';
    return out;
}

static void test_fold(void **state)
{
    char name[64];
    size_t n;

    (void)state;
    assert_string_equal(fold("  Gooise \t Meren \r\n"), "Gooise Meren");
    assert_string_equal(fold("twee\r\nregels\nen\teen tab"), "twee regels en een tab");
    assert_string_equal(fold("\xC2\xA0Huizen\xC2\xA0"), "Huizen");
    assert_string_equal(fold("Caf\xC3\xA9"), "Caf\xC3\xA9");
    assert_string_equal(fold(" \t\r\n"), "");
    n = imp_name_normalise(name, " Datum  Start ", 14);
    name[n] = '\0';
    assert_string_equal(name, "datum start");
}

/* A date as read without a pattern (NULL) or with one: the result, or a word of the
 * refusal. */
static void expect_date(const char *pattern, const char *v, const char *want)
{
    char out[11], why[512];
    int rc = imp_date_parse(pattern, v, strlen(v), out, why, sizeof(why));

    if (strncmp(want, "ERR ", 4) == 0) {
        if (rc != WM_EINVALID || strstr(why, want + 4) == NULL)
            fail_msg("%s: expected a refusal with '%s', got %d '%s'", v, want + 4, rc,
                     rc == WM_OK ? out : why);
        assert_non_null(strstr(why, "date: "));
        return;
    }
    if (rc != WM_OK)
        fail_msg("%s: %s", v, why);
    assert_string_equal(out, want);
}

static void test_dates_day_first(void **state)
{
    (void)state;
    expect_date(NULL, "2024-03-01", "2024-03-01");
    expect_date(NULL, "2024-3-1", "2024-03-01");
    expect_date(NULL, "2024/03/01", "2024-03-01");
    expect_date(NULL, "01-03-2024", "2024-03-01");
    expect_date(NULL, "1-3-2024", "2024-03-01");
    expect_date(NULL, "01/03/2024", "2024-03-01");
    expect_date(NULL, "1.3.2024", "2024-03-01");
    expect_date(NULL, "2024-03-01 00:00:00", "2024-03-01");
    expect_date(NULL, "01-03-2024 0:00", "2024-03-01");
    expect_date(NULL, "2024-03-01T12:30:00Z", "2024-03-01");
    expect_date(NULL, "29-02-2024", "2024-02-29");
    expect_date(NULL, "31-12-1999", "1999-12-31"); /* the range is the server's */

    expect_date(NULL, "31-02-2024", "ERR not a real date");
    expect_date(NULL, "29-02-2023", "ERR not a real date");
    expect_date(NULL, "2024-13-01", "ERR not a real date");
    expect_date(NULL, "00-01-2024", "ERR not a real date");
    expect_date(NULL, "03/25/2024", "ERR --date-format MM/DD/YYYY");
    expect_date(NULL, "1-3-24", "ERR two-digit year");
    expect_date(NULL, "01/03/24", "ERR two-digit year");
    expect_date(NULL, "45352", "ERR day number");
    expect_date(NULL, "20240301", "ERR give --date-format");
    expect_date(NULL, "1 maart 2024", "ERR give --date-format");
    expect_date(NULL, "01-03/2024", "ERR give --date-format");
    expect_date(NULL, "2024-03-01x", "ERR give --date-format");
    expect_date(NULL, "2024-03-01 ", "ERR give --date-format");
}

static void test_dates_by_pattern(void **state)
{
    char why[512];

    (void)state;
    expect_date("MM/DD/YYYY", "03/25/2024", "2024-03-25");
    expect_date("MM/DD/YYYY", "3/5/2024", "2024-03-05");
    expect_date("M/D/YYYY", "12/31/2023 11:59 PM", "2023-12-31");
    expect_date("YYYYMMDD", "20240301", "2024-03-01");
    expect_date("DDMMYYYY", "01032024", "2024-03-01");
    expect_date("DD-MM-YY", "01-03-24", "2024-03-01");
    expect_date("D.M.YYYY", "1.3.2024", "2024-03-01");
    expect_date("MM/DD/YYYY", "02/30/2024", "ERR not a real date");
    expect_date("MM/DD/YYYY", "2024-03-01", "ERR does not have the form MM/DD/YYYY");
    expect_date("YYYYMMDD", "2024031", "ERR does not have the form");

    assert_int_equal(imp_date_pattern_check("DD-MM-YYYY", why, sizeof(why)), WM_OK);
    assert_int_equal(imp_date_pattern_check("YYYYMMDD", why, sizeof(why)), WM_OK);
    assert_int_equal(imp_date_pattern_check("DD-MM", why, sizeof(why)), WM_EINVALID);
    assert_non_null(strstr(why, "DD-MM"));
    assert_int_equal(imp_date_pattern_check("DD-MM-YYY", why, sizeof(why)), WM_EINVALID);
    assert_int_equal(imp_date_pattern_check("DD-DD-YYYY", why, sizeof(why)), WM_EINVALID);
    assert_int_equal(imp_date_pattern_check("DDD-MM-YYYY", why, sizeof(why)), WM_EINVALID);
    assert_int_equal(imp_date_pattern_check("%d-%m-%Y", why, sizeof(why)), WM_EINVALID);
    assert_int_equal(imp_date_pattern_check("", why, sizeof(why)), WM_EINVALID);
}

static void test_whole_numbers(void **state)
{
    (void)state;
    assert_int_equal(imp_int_normalise("12,0", 4), 2);
    assert_int_equal(imp_int_normalise("12.00", 5), 2);
    assert_int_equal(imp_int_normalise("6", 1), 1);
    assert_int_equal(imp_int_normalise("0,0", 3), 1);
    assert_int_equal(imp_int_normalise("-3,0", 4), 2);
    /* not whole, or not a number: as it is, for the server to refuse */
    assert_int_equal(imp_int_normalise("12,5", 4), 4);
    assert_int_equal(imp_int_normalise("12,", 3), 2);
    assert_int_equal(imp_int_normalise(",0", 2), 2);
    assert_int_equal(imp_int_normalise("-,0", 3), 3);
    assert_int_equal(imp_int_normalise("1.000,0", 7), 7);
    assert_int_equal(imp_int_normalise("twaalf", 6), 6);
}

static void test_bsn_from_excel(void **state)
{
    char out[10], why[256];

    (void)state;
    assert_int_equal(imp_bsn_prepare("12345672", 8, out, why, sizeof(why)), WM_OK);
    assert_string_equal(out, "012345672");
    assert_int_equal(imp_bsn_prepare("111222333", 9, out, why, sizeof(why)), WM_OK);
    assert_string_equal(out, "111222333");
    assert_int_equal(imp_bsn_prepare("1234567", 7, out, why, sizeof(why)), WM_OK);
    assert_string_equal(out, "1234567"); /* the eleven-test says what is wrong */
    assert_int_equal(imp_bsn_prepare("1,11222E+08", 11, out, why, sizeof(why)), WM_EINVALID);
    assert_non_null(strstr(why, "Excel turned this BSN into a number: format the column as text"));
    assert_int_equal(imp_bsn_prepare("1.2e8", 5, out, why, sizeof(why)), WM_EINVALID);
    assert_non_null(strstr(why, "Excel turned"));
    assert_int_equal(imp_bsn_prepare("1112223334", 10, out, why, sizeof(why)), WM_EINVALID);
    assert_null(strstr(why, "1112223334"));
    assert_int_equal(imp_bsn_prepare("E8", 2, out, why, sizeof(why)), WM_OK);
}

/* Write text to a new temporary file; returns its path (static). */
static const char *map_file(const char *text)
{
    static char path[64];
    int fd;

    snprintf(path, sizeof(path), "/tmp/wm-map-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void resolve(const struct imp_map *m, const char *name, int ignore, struct imp_column *c)
{
    char norm[128];
    size_t n = imp_name_normalise(norm, name, strlen(name));

    norm[n] = '\0';
    imp_map_column(m, norm, ignore, c);
}

static void test_columns_without_a_map(void **state)
{
    struct imp_column c;

    (void)state;
    resolve(NULL, " Datum ", 0, &c);
    assert_int_equal(c.kind, IMP_COL_FIELD);
    assert_string_equal(c.field, "date");
    assert_int_equal(c.vkind, PROTO_FIELD_DATE);
    resolve(NULL, "SOORT", 0, &c);
    assert_int_equal(c.kind, IMP_COL_TYPE);
    resolve(NULL, "Type", 0, &c);
    assert_int_equal(c.kind, IMP_COL_TYPE);
    resolve(NULL, "BSN", 0, &c);
    assert_int_equal(c.kind, IMP_COL_BSN);
    resolve(NULL, "Maanden", 0, &c);
    assert_string_equal(c.field, "months");
    assert_int_equal(c.vkind, PROTO_FIELD_INT);
    resolve(NULL, "werkgever", 0, &c);
    assert_string_equal(c.field, "employer");
    resolve(NULL, "resultaat", 0, &c);
    assert_string_equal(c.field, "result");
    resolve(NULL, "uitkering", 0, &c);
    assert_string_equal(c.field, "benefit");
    resolve(NULL, "Reden", 0, &c);
    assert_string_equal(c.field, "reason");
    resolve(NULL, "uren", 0, &c);
    assert_string_equal(c.field, "hours");
    resolve(NULL, "Gemeente", 0, &c);
    assert_string_equal(c.field, "gemeente");
    resolve(NULL, "doelgroep", 0, &c);
    assert_int_equal(c.vkind, PROTO_FIELD_NAME);
    resolve(NULL, "regel", 0, &c);
    assert_int_equal(c.kind, IMP_COL_REJECT_NOTE);
    resolve(NULL, "Fout", 0, &c);
    assert_int_equal(c.kind, IMP_COL_REJECT_NOTE);
    resolve(NULL, "opmerking", 0, &c);
    assert_int_equal(c.kind, IMP_COL_UNKNOWN);
    resolve(NULL, "opmerking", 1, &c);
    assert_int_equal(c.kind, IMP_COL_IGNORE);
    resolve(NULL, "durable", 0, &c);
    assert_int_equal(c.kind, IMP_COL_UNKNOWN);
    resolve(NULL, "  ", 0, &c);
    assert_int_equal(c.kind, IMP_COL_UNNAMED);
}

static void test_map_profile(void **state)
{
    struct imp_map m;
    struct imp_column c;
    char why[512];
    const char *path = map_file("\xEF\xBB\xBF# Hilversum, export Trajecten\r\n"
                                "\n"
                                "[options]\n"
                                "date-format = MM/DD/YYYY\n"
                                "ignore-unknown = nee\n"
                                "encoding = cp1252\n"
                                "[columns]\n"
                                "Klantnummer = id\n"
                                "Datum  plaatsing = date\n"
                                "Branche = sector\n"
                                "Soort = type\n"
                                "Opmerking = -\n"
                                "[values sector]\n"
                                "Zorg en welzijn = zorg\n"
                                "  Techniek   en ICT  =techniek\n"
                                "[values type]\n"
                                "Plaatsing = placed\n"
                                "[set]\n"
                                "gemeente = hilversum\n"
                                "[ignore]\n"
                                "Medewerker\n");

    (void)state;
    memset(&m, 0, sizeof(m));
    assert_int_equal(imp_map_load(&m, path, why, sizeof(why)), WM_OK);
    unlink(path);
    assert_string_equal(m.date_format, "MM/DD/YYYY");
    assert_string_equal(m.encoding, "cp1252");
    assert_int_equal(m.ignore_unknown, 0);
    assert_int_equal(m.nsets, 1);
    assert_string_equal(m.sets[0].field, "gemeente");
    assert_string_equal(m.sets[0].value, "hilversum");
    resolve(&m, "KLANTNUMMER", 0, &c);
    assert_string_equal(c.field, "id");
    resolve(&m, "datum plaatsing", 0, &c);
    assert_string_equal(c.field, "date");
    resolve(&m, "Opmerking", 0, &c);
    assert_int_equal(c.kind, IMP_COL_IGNORE);
    resolve(&m, "medewerker", 0, &c);
    assert_int_equal(c.kind, IMP_COL_IGNORE);
    resolve(&m, "Datum", 0, &c); /* the built-in names still apply */
    assert_string_equal(c.field, "date");
    resolve(&m, "Branche", 0, &c);
    assert_string_equal(c.field, "sector");
    assert_int_equal(c.nxlat, 2);
    assert_string_equal(imp_xlat_find(&c, "zorg en WELZIJN", 15), "zorg");
    assert_string_equal(imp_xlat_find(&c, "Techniek en ICT", 15), "techniek");
    assert_null(imp_xlat_find(&c, "Zorg", 4));
    resolve(&m, "Soort", 0, &c);
    assert_int_equal(c.kind, IMP_COL_TYPE);
    assert_string_equal(imp_xlat_find(&c, "plaatsing", 9), "placed");
    assert_int_equal(imp_map_set(&m, "gemeente", "huizen"), WM_OK); /* --set wins */
    assert_int_equal(m.nsets, 1);
    assert_string_equal(m.sets[0].value, "huizen");
    imp_map_free(&m);
}

/* A profile that is refused: the message names the line and says what. */
static void expect_map_error(const char *text, long line, const char *mention)
{
    struct imp_map m;
    char why[512], at[32];
    const char *path = map_file(text);

    memset(&m, 0, sizeof(m));
    assert_int_equal(imp_map_load(&m, path, why, sizeof(why)), WM_ECONFIG);
    unlink(path);
    imp_map_free(&m);
    snprintf(at, sizeof(at), "line %ld: ", line);
    if (strstr(why, at) == NULL || strstr(why, mention) == NULL)
        fail_msg("expected '%s' and '%s' in '%s'", at, mention, why);
}

static void test_map_refused(void **state)
{
    struct imp_map m;
    char why[512];

    (void)state;
    expect_map_error("Klant = id\n", 1, "before the first [section]");
    expect_map_error("[kolommen]\n", 1, "unknown section [kolommen]");
    expect_map_error("[columns]\nKlant = klant\n", 2, "'klant' is not a field");
    expect_map_error("[columns]\n\nKlant\n", 3, "expected 'name = value'");
    expect_map_error("[values]\n", 1, "[values] names its field");
    expect_map_error("[values bsn]\n", 1, "not a field whose values");
    expect_map_error("[set]\nbsn = 1\n", 2, "not a field that can be set");
    expect_map_error("[options]\nkleur = rood\n", 2, "unknown option 'kleur'");
    expect_map_error("[options]\ndate-format = dd-mm\n", 2, "--date-format");
    expect_map_error("[options]\nignore-unknown = misschien\n", 2, "yes or no");
    expect_map_error("[values sector]\nZorg =\n", 2, "nothing after '='");
    expect_map_error("[columns]\n = id\n", 2, "nothing before '='");
    expect_map_error("[columns]\nCaf\xE9 = employer\n", 2, "not UTF-8");
    expect_map_error("[columns\n", 1, "ends in ']'");
    memset(&m, 0, sizeof(m));
    assert_int_equal(imp_map_load(&m, "/nonexistent/map", why, sizeof(why)), WM_EIO);
    assert_non_null(strstr(why, "/nonexistent/map"));
    imp_map_free(&m);
}

/* What a CSV parse gave: each field in brackets, each record's end as "|CR" or "|LF". */
struct split_out {
    char s[512];
    size_t n;
};

static void out_field(void *data, size_t len, void *arg)
{
    struct split_out *o = arg;

    o->n +=
        (size_t)snprintf(o->s + o->n, sizeof(o->s) - o->n, "[%.*s]", (int)len, (const char *)data);
}

static void out_record(int c, void *arg)
{
    struct split_out *o = arg;

    o->n += (size_t)snprintf(o->s + o->n, sizeof(o->s) - o->n, "|%s", c == '\r' ? "CR" : "LF");
}

/* libcsv as imp_csv_begin sets it up: only the space is trimmed. */
static int only_space(unsigned char c)
{
    return c == ' ';
}

/* imp_csv_split_plain splits a line exactly as libcsv from its rest state does: every
 * line of up to seven of a letter, spaces, TABs and both other delimiters, with either
 * line end and each delimiter in turn; and leaves to libcsv what it must (a quote, an
 * inner CR, no LF). */
static void test_csv_split_plain(void **state)
{
    static const char alphabet[] = "a ;,\t";
    static const unsigned char delims[3] = {';', ',', '\t'};
    const size_t k = sizeof(alphabet) - 1;
    struct split_out fast, ref;
    char line[16];
    int split = 0, lines = 0;

    (void)state;
    for (size_t len = 0; len <= 7; len++) {
        size_t count = 1;

        for (size_t i = 0; i < len; i++)
            count *= k;
        /* code's digits in base k are the line's characters; its parity the line end */
        for (size_t code = 0; code < 2 * count; code++) {
            unsigned char delim = delims[lines++ % 3];
            struct csv_parser parser;
            size_t n = 0, c = code / 2;

            for (size_t i = 0; i < len; i++, c /= k)
                line[n++] = alphabet[c % k];
            if (code % 2)
                line[n++] = '\r';
            line[n++] = '\n';
            memset(&fast, 0, sizeof(fast));
            memset(&ref, 0, sizeof(ref));
            assert_int_equal(imp_csv_split_plain(line, n, delim, out_field, out_record, &fast), 1);
            assert_int_equal(csv_init(&parser, CSV_APPEND_NULL), 0);
            csv_set_delim(&parser, delim);
            csv_set_space_func(&parser, only_space);
            assert_int_equal(csv_parse(&parser, line, n, out_field, out_record, &ref), n);
            csv_free(&parser);
            if (strcmp(fast.s, ref.s) != 0)
                fail_msg("line '%.*s' (delimiter 0x%02x): split %s, libcsv %s", (int)n, line, delim,
                         fast.s, ref.s);
            split += fast.n > 0;
        }
    }
    assert_true(split > 100000);
    memset(&fast, 0, sizeof(fast));
    assert_int_equal(imp_csv_split_plain("a;\"b\"\n", 6, ';', out_field, out_record, &fast), 0);
    assert_int_equal(imp_csv_split_plain("a\r;b\n", 5, ';', out_field, out_record, &fast), 0);
    assert_int_equal(imp_csv_split_plain("a;b", 3, ';', out_field, out_record, &fast), 0);
    assert_int_equal(imp_csv_split_plain("", 0, ';', out_field, out_record, &fast), 0);
    assert_int_equal(fast.n, 0);
    assert_int_equal(imp_csv_split_plain(" a ; b c ;\r\n", 12, ';', out_field, out_record, &fast),
                     1);
    assert_string_equal(fast.s, "[a][b c][]|CR");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold),
        cmocka_unit_test(test_dates_day_first),
        cmocka_unit_test(test_dates_by_pattern),
        cmocka_unit_test(test_whole_numbers),
        cmocka_unit_test(test_bsn_from_excel),
        cmocka_unit_test(test_columns_without_a_map),
        cmocka_unit_test(test_map_profile),
        cmocka_unit_test(test_map_refused),
        cmocka_unit_test(test_csv_split_plain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
