/*
 * Output of tabular responses (COUNT, PROGRESS, PROJECTS, STATS): an aligned table for
 * people here; CSV (RFC 4180, or ';' with a BOM for Excel) and JSON for programs from
 * proto's formatter, the one the HTTP API answers with, so both agree to the byte.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

#define ANSI_RESET "\033[0m"
#define ANSI_BOLD "\033[1m"
#define ANSI_GREEN "\033[32m"
#define ANSI_YELLOW "\033[33m" /* the traffic light's orange: yellow is what terminals have */
#define ANSI_RED "\033[31m"

int cli_format_parse(const char *s, enum cli_format *f)
{
    if (strcmp(s, "table") == 0)
        *f = CLI_FMT_TABLE;
    else if (strcmp(s, "csv") == 0)
        *f = CLI_FMT_CSV;
    else if (strcmp(s, "json") == 0)
        *f = CLI_FMT_JSON;
    else
        return WM_ECONFIG;
    return WM_OK;
}

size_t cli_text_width(const char *s)
{
    size_t w = 0;

    for (; *s != '\0'; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

static int all_digits(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s != '\0'; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* digits '.' digits */
static int is_decimal(const char *s)
{
    const char *dot = strchr(s, '.');
    size_t n = strlen(s);

    if (dot == NULL || dot == s || dot == s + n - 1)
        return 0;
    for (const char *p = s; *p != '\0'; p++)
        if (p != dot && (*p < '0' || *p > '9'))
            return 0;
    return 1;
}

static const char *status_color(const char *v)
{
    if (strcmp(v, "green") == 0)
        return ANSI_GREEN;
    if (strcmp(v, "orange") == 0)
        return ANSI_YELLOW;
    if (strcmp(v, "red") == 0)
        return ANSI_RED;
    return NULL;
}

static void pad(FILE *out, size_t n)
{
    while (n-- > 0)
        fputc(' ', out);
}

/* One cell of an aligned table: right-aligned to width when numeric, else left-aligned
 * (no padding after the last column), wrapped in a colour code when color is set. */
static void print_cell(FILE *out, const char *v, size_t width, int numeric, size_t c, size_t ncols,
                       const char *color)
{
    size_t w = cli_text_width(v);

    if (c > 0)
        fputs("  ", out);
    if (numeric)
        pad(out, width - w);
    if (color != NULL)
        fputs(color, out);
    fputs(v, out);
    if (color != NULL)
        fputs(ANSI_RESET, out);
    if (!numeric && c + 1 < ncols)
        pad(out, width - w);
}

/* Column c's width (its header and every value) and whether it is numeric. */
static void measure_column(const struct cli_table *t, size_t c, size_t *width, int *numeric)
{
    int digits = 0, other = 0;

    *width = cli_text_width(t->cols[c]);
    for (size_t r = 0; r < t->nrows; r++) {
        const char *v = t->cells[r * t->ncols + c];
        size_t w;

        if (v == NULL)
            continue;
        w = cli_text_width(v);
        if (w > *width)
            *width = w;
        if (all_digits(v) || is_decimal(v))
            digits = 1;
        else if (strcmp(v, "-") != 0)
            other = 1;
    }
    /* counts and targets read best right-aligned; "-" (unset) does not spoil that */
    *numeric = digits && !other;
}

static int print_table(FILE *out, const struct cli_table *t, int color)
{
    size_t *width;
    int *numeric;

    if (t->nrows == 0 || t->ncols == 0) {
        fputs("(no rows)\n", out);
        return WM_OK;
    }
    width = calloc(t->ncols, sizeof(*width));
    numeric = calloc(t->ncols, sizeof(*numeric));
    if (width == NULL || numeric == NULL) {
        free(width);
        free(numeric);
        return WM_ENOMEM;
    }
    for (size_t c = 0; c < t->ncols; c++) {
        measure_column(t, c, &width[c], &numeric[c]);
        print_cell(out, t->cols[c], width[c], numeric[c], c, t->ncols, color ? ANSI_BOLD : NULL);
    }
    fputc('\n', out);
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *v = t->cells[r * t->ncols + c];
            int status = color && strcmp(t->cols[c], "status") == 0;

            v = v != NULL ? v : "";
            print_cell(out, v, width[c], numeric[c], c, t->ncols, status ? status_color(v) : NULL);
        }
        fputc('\n', out);
    }
    free(width);
    free(numeric);
    return WM_OK;
}

/* CSV or JSON through proto's formatter, the cells typed as the server types them. */
static int print_formatted(FILE *out, const struct cli_table *t, const struct cli_output *o)
{
    struct wm_text_rows src = {(const char *const *)t->cells, t->ncols, o->by_content};
    struct wm_table pt;
    struct wm_buf b;
    int rc = WM_OK;

    if (t->ncols > WM_TABLE_MAX_COLS)
        return WM_EPROTOCOL;
    if (o->fmt == CLI_FMT_CSV && t->ncols == 0)
        return WM_OK; /* no rows: no columns to head either */
    proto_text_table(&src, (const char *const *)t->cols, t->ncols, t->nrows, &pt);
    wm_buf_init(&b);
    if (o->fmt == CLI_FMT_CSV) {
        proto_table_csv(&pt, &o->csv, &b);
    } else {
        proto_table_json(&pt, &b);
        wm_buf_append(&b, "\n", 1);
    }
    if (b.oom)
        rc = WM_ENOMEM;
    else if (fwrite(b.data, 1, b.len, out) != b.len)
        rc = WM_EIO;
    wm_buf_free(&b);
    return rc;
}

int cli_table_print(FILE *out, const struct cli_table *t, const struct cli_output *o, int color)
{
    int rc = o->fmt == CLI_FMT_TABLE ? print_table(out, t, color) : print_formatted(out, t, o);

    if (rc == WM_OK && (fflush(out) != 0 || ferror(out)))
        rc = WM_EIO;
    return rc;
}
