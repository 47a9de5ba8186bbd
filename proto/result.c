/*
 * result: the typed answers of COUNT, PROGRESS, PROJECTS and WATCH, and the one
 * formatter that writes them as the wire's ROW lines, as JSON or as CSV. storage fills
 * the results, the daemon (line protocol and HTTP) and the client format them here.
 */
#define _GNU_SOURCE /* qsort_r */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

/* Grow *arr (of *cap elements of size) to hold at least need; WM_OK or WM_ENOMEM. */
static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
    size_t ncap = *cap ? *cap : 16;
    void *p;

    if (need <= *cap)
        return WM_OK;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / size)
            return WM_ENOMEM;
        ncap *= 2;
    }
    p = realloc(*arr, ncap * size);
    if (p == NULL)
        return WM_ENOMEM;
    *arr = p;
    *cap = ncap;
    return WM_OK;
}

/* Append n as decimal digits. */
static void buf_u64(struct wm_buf *out, uint64_t n)
{
    char d[24];
    size_t i = sizeof(d);

    do {
        d[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n > 0);
    wm_buf_append(out, d + i, sizeof(d) - i);
}

/* Set t up over res with the given columns and cell function. */
static void table_init(struct wm_table *t, const char *const *cols, size_t ncols, size_t nrows,
                       const void *res,
                       void (*cell)(const struct wm_table *, size_t, size_t, struct wm_cell *))
{
    memset(t, 0, sizeof(*t));
    for (size_t i = 0; i < ncols && i < WM_TABLE_MAX_COLS; i++)
        t->cols[i] = cols[i];
    t->ncols = ncols;
    t->nrows = nrows;
    t->res = res;
    t->cell = cell;
}

/* ---- COUNT ------------------------------------------------------------------ */

void proto_count_result_init(struct wm_count_result *r)
{
    memset(r, 0, sizeof(*r));
}

void proto_count_result_reset(struct wm_count_result *r, int type, const uint8_t *by, size_t nby)
{
    r->type = (uint8_t)type;
    r->nby = nby > WM_DIM_COUNT_ ? WM_DIM_COUNT_ : nby;
    if (r->nby > 0)
        memcpy(r->by, by, r->nby);
    r->seq = 0;
    r->suppress_below = 0;
    r->nrows = 0;
    r->pool_len = 0;
}

void proto_count_result_free(struct wm_count_result *r)
{
    free(r->rows);
    free(r->pool);
    proto_count_result_init(r);
}

int proto_count_result_add(struct wm_count_result *r, const char *const *vals, uint64_t count)
{
    struct wm_count_row *row;
    size_t need = r->pool_len;

    for (size_t d = 0; d < r->nby; d++)
        need += strlen(vals[d]) + 1;
    if (need > UINT32_MAX || grow((void **)&r->rows, &r->cap, r->nrows + 1, sizeof(*r->rows)) ||
        grow((void **)&r->pool, &r->pool_cap, need, 1))
        return WM_ENOMEM;
    row = &r->rows[r->nrows];
    memset(row, 0, sizeof(*row));
    for (size_t d = 0; d < r->nby; d++) {
        size_t n = strlen(vals[d]) + 1;
        row->val[d] = (uint32_t)r->pool_len;
        memcpy(r->pool + r->pool_len, vals[d], n);
        r->pool_len += n;
    }
    row->count = count;
    r->nrows++;
    return WM_OK;
}

const char *proto_count_result_value(const struct wm_count_result *r, size_t i, size_t d)
{
    return r->pool + r->rows[i].val[d];
}

static int count_row_cmp(const void *pa, const void *pb, void *arg)
{
    const struct wm_count_result *r = arg;
    const struct wm_count_row *a = pa, *b = pb;

    for (size_t d = 0; d < r->nby; d++) {
        int c = strcmp(r->pool + a->val[d], r->pool + b->val[d]);
        if (c != 0)
            return c;
    }
    return 0;
}

void proto_count_result_sort(struct wm_count_result *r)
{
    if (r->nrows > 1)
        qsort_r(r->rows, r->nrows, sizeof(*r->rows), count_row_cmp, r);
}

/* A COUNT cell: the value text of dimension dim, or the count (col == nby). */
static void count_value_cell(const char *text, uint8_t dim, struct wm_cell *out)
{
    out->text = text;
    if (strcmp(out->text, "-") == 0) {
        out->type = WM_CELL_NONE;
    } else if (dim == WM_DIM_YEAR) {
        /* a year is a number (YYYY); quarters and months stay text */
        out->type = WM_CELL_NUM;
        out->num = strtoull(out->text, NULL, 10);
    } else {
        out->type = WM_CELL_TEXT;
    }
}

static void count_cell(const struct wm_table *t, size_t row, size_t col, struct wm_cell *out)
{
    const struct wm_count_result *r = t->res;
    const struct wm_count_row *rw = &r->rows[row];

    memset(out, 0, sizeof(*out));
    if (col == r->nby) {
        out->type = rw->suppressed ? WM_CELL_SUPPRESSED : WM_CELL_NUM;
        out->num = rw->suppressed ? r->suppress_below : rw->count;
        return;
    }
    count_value_cell(r->pool + rw->val[col], r->by[col], out);
}

/* COUNT's columns: the dimensions' names in by order, then "count". */
static size_t count_cols(int type, const uint8_t *by, size_t nby, const char **cols)
{
    for (size_t d = 0; d < nby; d++) {
        const char *name = proto_dim_name(type, by[d]);
        cols[d] = name != NULL ? name : "?";
    }
    cols[nby] = "count";
    return nby + 1;
}

void proto_count_table(const struct wm_count_result *r, struct wm_table *t)
{
    const char *cols[WM_DIM_COUNT_ + 1];

    table_init(t, cols, count_cols(r->type, r->by, r->nby, cols), r->nrows, r, count_cell);
}

/* ---- COUNT, packed ---------------------------------------------------------- */

/* FNV-1a of a NUL-terminated string. */
static uint32_t str_hash(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/*
 * Put v in p's pool unless it is there already, with slots (nslots, a power of two, 0
 * for empty; pool offset + 1 otherwise) as the index of what it holds. Returns v's
 * offset, or UINT32_MAX when the pool cannot grow.
 */
static uint32_t pack_intern(struct wm_count_packed *p, size_t *pool_cap, uint32_t *slots,
                            size_t nslots, const char *v)
{
    size_t i = str_hash(v) & (nslots - 1), n;

    for (; slots[i] != 0; i = (i + 1) & (nslots - 1)) {
        if (strcmp(p->pool + slots[i] - 1, v) == 0)
            return slots[i] - 1;
    }
    n = strlen(v) + 1;
    if (p->pool_len + n >= UINT32_MAX || grow((void **)&p->pool, pool_cap, p->pool_len + n, 1))
        return UINT32_MAX;
    memcpy(p->pool + p->pool_len, v, n);
    slots[i] = (uint32_t)p->pool_len + 1;
    p->pool_len += n;
    return (uint32_t)p->pool_len - (uint32_t)n;
}

int proto_count_pack(const struct wm_count_result *r, size_t from, struct wm_count_packed *p)
{
    size_t n = from < r->nrows ? r->nrows - from : 0, nslots = 16, pool_cap = 0, k = 0;
    uint32_t *slots = NULL;
    int any_suppressed = 0;

    memset(p, 0, sizeof(*p));
    p->type = r->type;
    p->nby = r->nby;
    memcpy(p->by, r->by, sizeof(p->by));
    p->seq = r->seq;
    p->suppress_below = r->suppress_below;
    p->nrows = n;
    /* a slot per value at most, at most half full */
    while (nslots < 2 * n * r->nby)
        nslots *= 2;
    for (size_t i = from; i < r->nrows; i++)
        any_suppressed |= r->rows[i].suppressed;
    slots = calloc(nslots, sizeof(*slots));
    p->count = malloc((n > 0 ? n : 1) * sizeof(*p->count));
    p->val = malloc((n * r->nby > 0 ? n * r->nby : 1) * sizeof(*p->val));
    p->suppressed = any_suppressed ? calloc(n, 1) : NULL;
    if (slots == NULL || p->count == NULL || p->val == NULL || (any_suppressed && !p->suppressed))
        goto oom;
    for (size_t i = 0; i < n; i++) {
        const struct wm_count_row *rw = &r->rows[from + i];

        for (size_t d = 0; d < r->nby; d++) {
            uint32_t off = pack_intern(p, &pool_cap, slots, nslots, r->pool + rw->val[d]);
            if (off == UINT32_MAX)
                goto oom;
            p->val[k++] = off;
        }
        p->count[i] = rw->count;
        if (p->suppressed != NULL)
            p->suppressed[i] = rw->suppressed;
    }
    free(slots);
    /* the pool grew by doubling: give back what it does not hold */
    if (p->pool_len > 0 && pool_cap > p->pool_len) {
        char *shrunk = realloc(p->pool, p->pool_len);
        if (shrunk != NULL)
            p->pool = shrunk;
    }
    return WM_OK;
oom:
    free(slots);
    proto_count_packed_free(p);
    return WM_ENOMEM;
}

void proto_count_packed_free(struct wm_count_packed *p)
{
    free(p->val);
    free(p->count);
    free(p->suppressed);
    free(p->pool);
    memset(p, 0, sizeof(*p));
}

size_t proto_count_packed_size(const struct wm_count_packed *p)
{
    return p->nrows * (p->nby * sizeof(*p->val) + sizeof(*p->count)) +
           (p->suppressed != NULL ? p->nrows : 0) + p->pool_len;
}

static void count_packed_cell(const struct wm_table *t, size_t row, size_t col, struct wm_cell *out)
{
    const struct wm_count_packed *p = t->res;

    memset(out, 0, sizeof(*out));
    if (col == p->nby) {
        int hidden = p->suppressed != NULL && p->suppressed[row];
        out->type = hidden ? WM_CELL_SUPPRESSED : WM_CELL_NUM;
        out->num = hidden ? p->suppress_below : p->count[row];
        return;
    }
    count_value_cell(p->pool + p->val[row * p->nby + col], p->by[col], out);
}

void proto_count_packed_table(const struct wm_count_packed *p, struct wm_table *t)
{
    const char *cols[WM_DIM_COUNT_ + 1];

    table_init(t, cols, count_cols(p->type, p->by, p->nby, cols), p->nrows, p, count_packed_cell);
}

/* ---- PROGRESS --------------------------------------------------------------- */

static const char *const indicator_names[3] = {"started", "completed", "placed"};

void proto_progress_result_init(struct wm_progress_result *r)
{
    memset(r, 0, sizeof(*r));
}

void proto_progress_result_reset(struct wm_progress_result *r)
{
    r->seq = 0;
    r->suppress_below = 0;
    r->nrows = 0;
}

void proto_progress_result_free(struct wm_progress_result *r)
{
    free(r->rows);
    proto_progress_result_init(r);
}

int64_t proto_progress_expected(int64_t target, int32_t start, int32_t end, int32_t asof)
{
    int64_t total, passed;

    if (start == WM_DATE_NONE || end == WM_DATE_NONE)
        return target;
    /* in integers: passed / total of the inclusive days, clamped, half rounding up */
    total = (int64_t)end - start + 1;
    passed = (int64_t)asof - start + 1;
    passed = passed < 0 ? 0 : passed > total ? total : passed;
    return (2 * target * passed + total) / (2 * total);
}

enum wm_status proto_progress_status(uint64_t actual, int64_t target, int64_t expected)
{
    if (target < 0)
        return WM_STATUS_NONE;
    if ((int64_t)actual >= expected)
        return WM_STATUS_GREEN;
    if (5 * (int64_t)actual >= 4 * expected)
        return WM_STATUS_ORANGE;
    return WM_STATUS_RED;
}

const char *proto_status_name(int status)
{
    static const char *const names[] = {"none", "green", "orange", "red"};

    return status >= 0 && status <= WM_STATUS_RED ? names[status] : "none";
}

static void copy_name(char *dst, const char *src)
{
    size_t n = strlen(src);

    if (n > WM_NAME_MAX)
        n = WM_NAME_MAX;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int proto_progress_result_add(struct wm_progress_result *r, const char *project,
                              const char *category, int indicator, uint64_t actual, int64_t target,
                              int32_t start, int32_t end, int32_t asof)
{
    struct wm_progress_row *row;

    if (grow((void **)&r->rows, &r->cap, r->nrows + 1, sizeof(*r->rows)) != WM_OK)
        return WM_ENOMEM;
    row = &r->rows[r->nrows++];
    memset(row, 0, sizeof(*row));
    copy_name(row->project, project);
    copy_name(row->category, category);
    row->indicator = (uint8_t)(indicator >= 0 && indicator <= 2 ? indicator : 0);
    row->actual = actual;
    row->target = target < 0 ? -1 : target;
    row->expected = target < 0 ? -1 : proto_progress_expected(target, start, end, asof);
    row->status = (uint8_t)proto_progress_status(actual, row->target, row->expected);
    return WM_OK;
}

/* ---- small cells (a principal's min-count and round) ------------------------ */

uint64_t proto_round_count(uint64_t n, uint64_t round)
{
    if (round <= 1)
        return n;
    return (n / round + (n % round >= (round + 1) / 2)) * round;
}

void proto_count_result_protect(struct wm_count_result *r, uint64_t min_count, uint64_t round)
{
    for (size_t i = 0; i < r->nrows; i++) {
        struct wm_count_row *rw = &r->rows[i];

        if (rw->count > 0 && rw->count < min_count) {
            rw->suppressed = 1;
            r->suppress_below = min_count;
        } else {
            rw->count = proto_round_count(rw->count, round);
        }
    }
}

void proto_totals_protect(struct wm_totals *t, uint64_t min_count, uint64_t round)
{
    uint64_t *fig[5] = {&t->started, &t->completed, &t->placed, &t->placed_persons, &t->outflow};

    for (int i = 0; i < 5; i++) {
        if (*fig[i] > 0 && *fig[i] < min_count) {
            t->suppressed |= (uint8_t)(1u << i);
            t->suppress_below = min_count;
        } else {
            *fig[i] = proto_round_count(*fig[i], round);
        }
    }
}

/* Hide row i of r (shown "<N", no status). */
static void progress_hide(struct wm_progress_result *r, size_t i, uint64_t min_count)
{
    r->rows[i].suppressed = 1;
    r->rows[i].status = WM_STATUS_NONE;
    r->suppress_below = min_count;
}

void proto_progress_result_protect(struct wm_progress_result *r, uint64_t min_count, uint64_t round)
{
    for (size_t i = 0; i < r->nrows; i++) {
        struct wm_progress_row *rw = &r->rows[i];

        if (rw->actual > 0 && rw->actual < min_count) {
            progress_hide(r, i, min_count);
            continue;
        }
        rw->actual = proto_round_count(rw->actual, round);
        rw->status = (uint8_t)proto_progress_status(rw->actual, rw->target, rw->expected);
    }
    /* The program's row of an indicator totals its projects' rows: one hidden project
     * row beside it could be read back as the total minus the others, so the smallest
     * other non-zero project row of that indicator is hidden too. */
    for (int ind = 0; ind < 3; ind++) {
        size_t hidden = 0, other = SIZE_MAX;

        for (size_t i = 0; i < r->nrows; i++) {
            const struct wm_progress_row *rw = &r->rows[i];

            if (rw->indicator != ind || strcmp(rw->project, "*") == 0)
                continue;
            if (rw->suppressed)
                hidden++;
            else if (rw->actual > 0 && (other == SIZE_MAX || rw->actual < r->rows[other].actual))
                other = i;
        }
        if (hidden == 1 && other != SIZE_MAX)
            progress_hide(r, other, min_count);
    }
}

static const char *const progress_cols[] = {"project", "category", "indicator", "actual",
                                            "target",  "expected", "status"};

static void progress_cell(const struct wm_table *t, size_t row, size_t col, struct wm_cell *out)
{
    const struct wm_progress_result *r = t->res;
    const struct wm_progress_row *rw = &r->rows[row];

    memset(out, 0, sizeof(*out));
    out->type = WM_CELL_TEXT;
    switch (col) {
    case 0:
        out->text = rw->project;
        break;
    case 1:
        out->text = rw->category;
        break;
    case 2:
        out->text = indicator_names[rw->indicator];
        break;
    case 3:
        out->type = rw->suppressed ? WM_CELL_SUPPRESSED : WM_CELL_NUM;
        out->num = rw->suppressed ? r->suppress_below : rw->actual;
        break;
    case 4:
    case 5: {
        int64_t v = col == 4 ? rw->target : rw->expected;
        out->type = v < 0 ? WM_CELL_NONE : WM_CELL_NUM;
        out->num = v < 0 ? 0 : (uint64_t)v;
        break;
    }
    default:
        out->text = proto_status_name(rw->status);
        break;
    }
}

void proto_progress_table(const struct wm_progress_result *r, struct wm_table *t)
{
    table_init(t, progress_cols, sizeof(progress_cols) / sizeof(progress_cols[0]), r->nrows, r,
               progress_cell);
}

/* ---- PROJECTS --------------------------------------------------------------- */

void proto_projects_result_init(struct wm_projects_result *r)
{
    memset(r, 0, sizeof(*r));
}

void proto_projects_result_reset(struct wm_projects_result *r)
{
    r->seq = 0;
    r->n = 0;
}

void proto_projects_result_free(struct wm_projects_result *r)
{
    free(r->projects);
    proto_projects_result_init(r);
}

int proto_projects_result_add(struct wm_projects_result *r, const struct wm_project *p)
{
    if (grow((void **)&r->projects, &r->cap, r->n + 1, sizeof(*r->projects)) != WM_OK)
        return WM_ENOMEM;
    r->projects[r->n++] = *p;
    return WM_OK;
}

static const char *const projects_cols[] = {
    "project",        "category",         "scope",         "start", "end",
    "target.started", "target.completed", "target.placed", "title"};

static void projects_cell(const struct wm_table *t, size_t row, size_t col, struct wm_cell *out)
{
    const struct wm_projects_result *r = t->res;
    const struct wm_project *p = &r->projects[row];
    int program = strcmp(p->name, "*") == 0;

    memset(out, 0, sizeof(*out));
    out->type = WM_CELL_TEXT;
    switch (col) {
    case 0:
        out->text = p->name;
        break;
    case 1:
        out->text = program ? "*" : p->category;
        break;
    case 2:
        if (program)
            out->type = WM_CELL_NONE;
        else
            out->text = p->scope == WM_SCOPE_LOCAL ? "local" : "regional";
        break;
    case 3:
    case 4: {
        int32_t d = col == 3 ? p->start : p->end;
        if (d == WM_DATE_NONE) {
            out->type = WM_CELL_NONE;
        } else {
            proto_date_format(d, out->buf);
            out->text = out->buf;
        }
        break;
    }
    case 5:
    case 6:
    case 7: {
        int64_t v = p->target[col - 5];
        out->type = v < 0 ? WM_CELL_NONE : WM_CELL_NUM;
        out->num = v < 0 ? 0 : (uint64_t)v;
        break;
    }
    default:
        if (program || p->title[0] == '\0')
            out->type = WM_CELL_NONE;
        else
            out->text = p->title;
        break;
    }
}

void proto_projects_table(const struct wm_projects_result *r, struct wm_table *t)
{
    table_init(t, projects_cols, sizeof(projects_cols) / sizeof(projects_cols[0]), r->n, r,
               projects_cell);
}

/* ---- rows of text (the client's side) ----------------------------------------- */

/* 1 when s is digits only (at most 19: a uint64_t), or with dot, digits '.' digits. */
static int digits_only(const char *s, int dot)
{
    size_t n = strlen(s), ndots = 0;

    if (n == 0 || n > 19 || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.')
            ndots++;
        else if (s[i] < '0' || s[i] > '9')
            return 0;
    }
    return ndots == 0 || (dot && ndots == 1);
}

int proto_column_numeric(const char *col)
{
    /* seq, months, hours and replaces are SHOW's numbers (retracted is a seq or "no", so
     * it stays text) */
    static const char *const cols[] = {
        "count",         "actual", "target",  "expected", "target.started", "target.completed",
        "target.placed", "year",   "version", "seq",      "months",         "hours",
        "replaces"};

    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
        if (strcmp(col, cols[i]) == 0)
            return 1;
    return 0;
}

static void text_cell(const struct wm_table *t, size_t row, size_t col, struct wm_cell *out)
{
    const struct wm_text_rows *src = t->res;
    const char *v = src->cells[row * src->ncols + col];
    int numeric = src->by_content || proto_column_numeric(t->cols[col]);

    memset(out, 0, sizeof(*out));
    out->text = v;
    if (v == NULL || strcmp(v, "-") == 0) {
        out->type = WM_CELL_NONE;
    } else if (numeric && digits_only(v, 0)) {
        out->type = WM_CELL_NUM;
        out->num = strtoull(v, NULL, 10);
    } else if (numeric && v[0] == '<' && digits_only(v + 1, 0)) {
        out->type = WM_CELL_SUPPRESSED;
        out->num = strtoull(v + 1, NULL, 10);
    } else if (src->by_content && digits_only(v, 1)) {
        out->type = WM_CELL_DECIMAL;
    } else {
        out->type = WM_CELL_TEXT;
    }
}

void proto_text_table(const struct wm_text_rows *src, const char *const *cols, size_t ncols,
                      size_t nrows, struct wm_table *t)
{
    table_init(t, cols, ncols > WM_TABLE_MAX_COLS ? WM_TABLE_MAX_COLS : ncols, nrows, src,
               text_cell);
}

/* ---- the writers ------------------------------------------------------------ */

static void csv_field(struct wm_buf *out, const char *v, const struct wm_csv_opts *o)
{
    size_t n = strlen(v);
    int quote = n > 0 && (v[0] == ' ' || v[n - 1] == ' ');
    int guard = o->excel && n > 0 && strchr("=+-@", v[0]) != NULL;

    for (size_t i = 0; i < n && !quote; i++)
        quote = v[i] == o->sep || v[i] == '"' || v[i] == '\r' || v[i] == '\n';
    if (!quote && !guard) {
        wm_buf_append(out, v, n);
        return;
    }
    wm_buf_append(out, "\"", 1);
    if (guard)
        wm_buf_append(out, "'", 1);
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '"')
            wm_buf_append(out, "\"", 1);
        wm_buf_append(out, v + i, 1);
    }
    wm_buf_append(out, "\"", 1);
}

/* The three forms a cell is written in. */
enum form { FORM_ROW, FORM_JSON, FORM_CSV };

/* Write one cell in form f (o: the CSV options). Returns 1 for a suppressed count. */
static int put_cell(struct wm_buf *out, const struct wm_cell *c, enum form f,
                    const struct wm_csv_opts *o)
{
    switch (c->type) {
    case WM_CELL_TEXT:
        if (f == FORM_ROW)
            wm_buf_append_escaped(out, c->text, strlen(c->text));
        else if (f == FORM_JSON)
            proto_json_string(out, c->text, strlen(c->text));
        else
            csv_field(out, c->text, o);
        return 0;
    case WM_CELL_NUM:
        buf_u64(out, c->num);
        return 0;
    case WM_CELL_SUPPRESSED:
        if (f == FORM_JSON) {
            wm_buf_append(out, "null", 4);
        } else {
            wm_buf_append(out, "<", 1);
            buf_u64(out, c->num);
        }
        return 1;
    case WM_CELL_DECIMAL:
        wm_buf_puts(out, c->text);
        return 0;
    default:
        if (f != FORM_CSV)
            wm_buf_puts(out, f == FORM_ROW ? "-" : "null");
        return 0;
    }
}

int proto_table_row(const struct wm_table *t, size_t i, struct wm_buf *out)
{
    struct wm_cell c;

    wm_buf_append(out, "ROW", 3);
    for (size_t j = 0; j < t->ncols; j++) {
        t->cell(t, i, j, &c);
        wm_buf_append(out, " ", 1);
        wm_buf_puts(out, t->cols[j]);
        wm_buf_append(out, "=", 1);
        put_cell(out, &c, FORM_ROW, NULL);
    }
    wm_buf_append(out, "\n", 1);
    return out->oom ? WM_ENOMEM : WM_OK;
}

int proto_table_rows(const struct wm_table *t, struct wm_buf *out)
{
    for (size_t i = 0; i < t->nrows; i++)
        proto_table_row(t, i, out);
    return out->oom ? WM_ENOMEM : WM_OK;
}

int proto_table_json_row(const struct wm_table *t, size_t i, struct wm_buf *out)
{
    struct wm_cell c;
    int suppressed = 0;

    wm_buf_append(out, "{", 1);
    for (size_t j = 0; j < t->ncols; j++) {
        t->cell(t, i, j, &c);
        if (j > 0)
            wm_buf_append(out, ",", 1);
        proto_json_string(out, t->cols[j], strlen(t->cols[j]));
        wm_buf_append(out, ":", 1);
        suppressed |= put_cell(out, &c, FORM_JSON, NULL);
    }
    if (suppressed)
        wm_buf_puts(out, ",\"suppressed\":true");
    wm_buf_append(out, "}", 1);
    return out->oom ? WM_ENOMEM : WM_OK;
}

int proto_table_json(const struct wm_table *t, struct wm_buf *out)
{
    if (t->nrows == 0)
        return wm_buf_append(out, "[]", 2);
    /* a row a line: a page of JSON stays readable, at one byte a row */
    wm_buf_append(out, "[\n", 2);
    for (size_t i = 0; i < t->nrows; i++) {
        proto_table_json_row(t, i, out);
        wm_buf_append(out, i + 1 < t->nrows ? ",\n" : "\n", i + 1 < t->nrows ? 2 : 1);
    }
    wm_buf_append(out, "]", 1);
    return out->oom ? WM_ENOMEM : WM_OK;
}

int proto_table_csv(const struct wm_table *t, const struct wm_csv_opts *o, struct wm_buf *out)
{
    struct wm_cell c;

    if (o->bom)
        wm_buf_append(out, "\xEF\xBB\xBF", 3);
    for (size_t j = 0; j < t->ncols; j++) {
        if (j > 0)
            wm_buf_append(out, &o->sep, 1);
        csv_field(out, t->cols[j], o);
    }
    wm_buf_append(out, "\r\n", 2);
    for (size_t i = 0; i < t->nrows; i++) {
        for (size_t j = 0; j < t->ncols; j++) {
            t->cell(t, i, j, &c);
            if (j > 0)
                wm_buf_append(out, &o->sep, 1);
            put_cell(out, &c, FORM_CSV, o);
        }
        wm_buf_append(out, "\r\n", 2);
    }
    return out->oom ? WM_ENOMEM : WM_OK;
}

/* ---- totals ----------------------------------------------------------------- */

/* The five figures in their order on the wire, with their names and bits. */
static const char *const totals_names[5] = {"started", "completed", "placed", "placed.persons",
                                            "outflow"};

static uint64_t totals_figure(const struct wm_totals *t, int i)
{
    const uint64_t v[5] = {t->started, t->completed, t->placed, t->placed_persons, t->outflow};

    return v[i];
}

int proto_totals_line(const struct wm_totals *t, struct wm_buf *out)
{
    wm_buf_puts(out, "TOTAL");
    proto_fmt_pair_u64(out, "seq", t->seq);
    for (int i = 0; i < 5; i++) {
        wm_buf_append(out, " ", 1);
        wm_buf_puts(out, totals_names[i]);
        if (t->suppressed & (1u << i)) {
            wm_buf_append(out, "=<", 2);
            buf_u64(out, t->suppress_below);
        } else {
            wm_buf_append(out, "=", 1);
            buf_u64(out, totals_figure(t, i));
        }
    }
    wm_buf_append(out, "\n", 1);
    return out->oom ? WM_ENOMEM : WM_OK;
}

int proto_totals_json(const struct wm_totals *t, struct wm_buf *out)
{
    wm_buf_puts(out, "{\"seq\":");
    buf_u64(out, t->seq);
    for (int i = 0; i < 5; i++) {
        wm_buf_append(out, ",\"", 2);
        wm_buf_puts(out, totals_names[i]);
        wm_buf_append(out, "\":", 2);
        if (t->suppressed & (1u << i))
            wm_buf_puts(out, "null");
        else
            buf_u64(out, totals_figure(t, i));
    }
    if (t->suppressed)
        wm_buf_puts(out, ",\"suppressed\":true");
    wm_buf_append(out, "}", 1);
    return out->oom ? WM_ENOMEM : WM_OK;
}

/* ---- JSON strings ----------------------------------------------------------- */

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t l = s[0] >= 0xC2 && s[0] <= 0xDF   ? 2
               : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
               : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4
                                              : 0;

    return l > 0 && l <= n && proto_utf8_valid((const char *)s, l) ? l : 0;
}

int proto_json_string(struct wm_buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0;

    wm_buf_append(out, "\"", 1);
    while (i < n) {
        unsigned char c = u[i];
        size_t l;
        /* plain bytes are copied in runs */
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '<') {
            i++;
            run++;
            continue;
        }
        wm_buf_append(out, s + i - run, run);
        run = 0;
        if (c < 0x80) {
            char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
            if (c == '"' || c == '\\')
                esc[1] = (char)c, esc[2] = 0;
            else if (c == '\n')
                esc[1] = 'n', esc[2] = 0;
            else if (c == '\r')
                esc[1] = 'r', esc[2] = 0;
            else if (c == '\t')
                esc[1] = 't', esc[2] = 0;
            wm_buf_puts(out, esc);
            i++;
            continue;
        }
        l = utf8_len(u + i, n - i);
        if (l == 0) {
            wm_buf_puts(out, "\xEF\xBF\xBD"); /* U+FFFD for a byte that is not UTF-8 */
            i++;
        } else if (l == 3 && c == 0xE2 && u[i + 1] == 0x80 &&
                   (u[i + 2] == 0xA8 || u[i + 2] == 0xA9)) {
            /* U+2028 and U+2029 end a line in JavaScript source */
            wm_buf_puts(out, u[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
            i += 3;
        } else {
            wm_buf_append(out, s + i, l);
            i += l;
        }
    }
    wm_buf_append(out, s + i - run, run);
    wm_buf_append(out, "\"", 1);
    return out->oom ? WM_ENOMEM : WM_OK;
}
