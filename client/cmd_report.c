/*
 * client: the monitor's words and document. `note` stores a note (NOTE) from a Markdown
 * file; `report` writes the monitor page (web/, embedded by wmweb) as one self-contained
 * HTML file, with the answers to the page's questions inlined, so that it opens, prints
 * and archives without a server and shows the same figures as the live page.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "client.h"
#include "web.h"

enum { OPT_PERIOD = 1, OPT_PROJECT, OPT_CATEGORY, OPT_LIGHT, OPT_ASOF, OPT_GEMEENTE, OPT_OUT };

static const char *opt_value(const struct cli_args *a, int id)
{
    const char *v = NULL;

    for (size_t i = 0; i < a->nopts; i++)
        if (a->opts[i].id == id)
            v = a->opts[i].value;
    return v;
}

/* ---- note ------------------------------------------------------------------------ */

static const char note_help[] =
    "Usage: werkmonitor note --period YYYY-Hn [--project P | --category C]\n"
    "                        [--light green|orange|red|none] FILE|-\n"
    "\n"
    "Store the words for the monitor of one half-year (NOTE, admin): for the programme\n"
    "(neither --project nor --category), a category or a project. FILE is Markdown of a\n"
    "small kind, as the monitor page shows it: paragraphs (a blank line between them),\n"
    "**bold**, and lists (lines starting with '- ', '* ' or '1. '). At most 4000\n"
    "characters, UTF-8. --light is the programme manager's own judgement, shown beside\n"
    "the computed light; without it a new version keeps the last one's, 'none' clears\n"
    "it. Each note is a new version; the latest counts, and all are kept with who wrote\n"
    "them and when. A text holding a number that looks like a BSN is refused here, before\n"
    "it is sent. Prints the server's answer, OK <version>.\n"
    "Long notes: the server takes lines of at most its max-line (default 4096 bytes), and\n"
    "a space travels as three bytes; raise max-line for notes near the limit.\n";

/* Reads path ("-": standard input) whole into in (at most about 1 MiB) and checks that
 * it is UTF-8. Returns WM_OK, or an exit status after printing why. */
static int note_read(const char *path, struct wm_buf *in)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char chunk[4096];
    size_t n;
    int ex = CLI_EXIT_ERR;

    if (f == NULL) {
        fprintf(stderr, "werkmonitor note: cannot read %s: %s\n", path, strerror(errno));
        return CLI_EXIT_CONN;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && in->len < 1 << 20)
        wm_buf_append(in, chunk, n);
    if (ferror(f)) {
        fprintf(stderr, "werkmonitor note: cannot read %s: %s\n", path, strerror(errno));
        ex = CLI_EXIT_CONN;
        goto out;
    }
    if (in->oom) {
        fprintf(stderr, "werkmonitor note: out of memory\n");
        goto out;
    }
    if (!proto_utf8_valid(in->data ? in->data : "", in->len)) {
        fprintf(stderr, "werkmonitor note: %s is not UTF-8 text\n", path);
        goto out;
    }
    ex = WM_OK;
out:
    if (f != stdin)
        fclose(f);
    return ex;
}

/* The text of in as the server stores it, into text (NUL-terminated): LF line ends, no
 * trailing blanks at line ends or at the end, tabs as spaces; a control character is
 * refused naming its line. Returns WM_OK, or an exit status after printing why. */
static int note_normalise(const char *path, const struct wm_buf *in, struct wm_buf *text)
{
    size_t line = 1, line_start = 0;

    for (size_t i = 0; i < in->len; i++) {
        unsigned char c = (unsigned char)in->data[i];
        if (c == '\r' && i + 1 < in->len && in->data[i + 1] == '\n')
            continue;
        if (c == '\t')
            c = ' ';
        if (c == '\n' || c == '\r') {
            /* no blanks at a line's end */
            while (text->len > line_start && text->data[text->len - 1] == ' ')
                text->len--;
            wm_buf_append(text, "\n", 1);
            line_start = text->len;
            line++;
            continue;
        }
        if (c < 0x20 || c == 0x7f) {
            fprintf(stderr, "werkmonitor note: %s line %zu: control character 0x%02X\n", path, line,
                    c);
            return CLI_EXIT_ERR;
        }
        wm_buf_append(text, (const char *)&c, 1);
    }
    while (text->len > 0 && (text->data[text->len - 1] == '\n' || text->data[text->len - 1] == ' '))
        text->len--;
    wm_buf_cstr(text);
    if (text->oom) {
        fprintf(stderr, "werkmonitor note: out of memory\n");
        return CLI_EXIT_ERR;
    }
    return WM_OK;
}

/* Refuses a normalised text the server would refuse: more than WM_NOTE_MAX characters,
 * or a line holding a number that looks like a BSN (naming the line, never the number).
 * Returns WM_OK, or an exit status after printing why. */
static int note_check(const char *path, const struct wm_buf *text)
{
    size_t chars = 0, line = 1;

    for (size_t i = 0; i < text->len; i++)
        chars += ((unsigned char)text->data[i] & 0xC0) != 0x80;
    if (chars > WM_NOTE_MAX) {
        fprintf(stderr, "werkmonitor note: %s has %zu characters, at most %d\n", path, chars,
                WM_NOTE_MAX);
        return CLI_EXIT_ERR;
    }
    for (size_t i = 0, start = 0; i <= text->len; i++) {
        if (i == text->len || text->data[i] == '\n') {
            if (proto_bsn_find(text->data + start, i - start)) {
                fprintf(stderr,
                        "werkmonitor note: %s line %zu holds a number that looks like a BSN; "
                        "nothing was sent\n",
                        path, line);
                return CLI_EXIT_ERR;
            }
            start = i + 1;
            line++;
        }
    }
    return WM_OK;
}

/* The note's text from path ("-": standard input): LF line ends, no trailing blanks at
 * line ends or at the end, tabs as spaces. Refuses what the server would refuse, and a
 * BSN, naming the line. Returns WM_OK (*out owned), or an exit status after printing
 * why. */
static int note_text(const char *path, char **out, size_t *outlen)
{
    struct wm_buf in, text;
    int ex;

    wm_buf_init(&in);
    wm_buf_init(&text);
    if ((ex = note_read(path, &in)) != WM_OK || (ex = note_normalise(path, &in, &text)) != WM_OK ||
        (ex = note_check(path, &text)) != WM_OK)
        goto out;
    *out = text.data ? text.data : strdup("");
    *outlen = text.len;
    text.data = NULL;
out:
    wm_buf_free(&in);
    wm_buf_free(&text);
    return ex;
}

/* The NOTE line for the options and text into req (project, category and light left
 * out when NULL). Returns WM_OK, or CLI_EXIT_ERR after printing why. */
static int note_request(struct wm_buf *req, const char *period, const char *project,
                        const char *category, const char *light, const char *text, size_t len)
{
    wm_buf_puts(req, "NOTE period=");
    wm_buf_append_escaped(req, period, strlen(period));
    if (project != NULL) {
        wm_buf_puts(req, " project=");
        wm_buf_append_escaped(req, project, strlen(project));
    }
    if (category != NULL) {
        wm_buf_puts(req, " category=");
        wm_buf_append_escaped(req, category, strlen(category));
    }
    if (light != NULL) {
        wm_buf_puts(req, " light=");
        wm_buf_append_escaped(req, light, strlen(light));
    }
    wm_buf_puts(req, " text=");
    wm_buf_append_escaped(req, text, len);
    if (wm_buf_cstr(req) == NULL) {
        fprintf(stderr, "werkmonitor note: out of memory\n");
        return CLI_EXIT_ERR;
    }
    return WM_OK;
}

/* Sends the NOTE line req and reports the answer: OK <version> on standard output, an
 * ERR on standard error (with a hint for too-long). Returns the exit status. */
static int note_send(struct cli_config *cfg, const struct wm_buf *req)
{
    struct cli_conn c;
    struct cli_reply r = {0};
    int ex, rc;

    if (cli_connect_or_report(&c, cfg) != WM_OK)
        return CLI_EXIT_CONN;
    rc = cli_request(&c, req->data, &r);
    if (rc != WM_OK) {
        ex = cli_report_lost(&c, rc);
    } else if (cli_reply_is_err(&r)) {
        fprintf(stderr, "%s\n", r.line);
        if (strncmp(r.line, "ERR too-long", 12) == 0)
            fprintf(stderr,
                    "werkmonitor note: the note is %zu bytes as a protocol line; shorten it or "
                    "raise the server's max-line\n",
                    req->len);
        ex = CLI_EXIT_ERR;
    } else {
        printf("%s\n", r.line);
        ex = CLI_EXIT_OK;
    }
    cli_reply_free(&r);
    cli_conn_close(&c);
    return ex;
}

int cli_cmd_note(struct cli_config *cfg, int argc, char **argv)
{
    static const struct cli_optdef defs[] = {
        {"period", 0, 1, OPT_PERIOD},
        {"project", 0, 1, OPT_PROJECT},
        {"category", 0, 1, OPT_CATEGORY},
        {"light", 0, 1, OPT_LIGHT},
    };
    struct cli_args a;
    struct wm_buf req;
    const char *period, *project, *category, *light;
    char *text = NULL;
    size_t len = 0;
    int ex = cli_cmd_begin(&a, cfg, "note", argc, argv, defs, 4, note_help);

    if (ex >= 0)
        return ex;
    wm_buf_init(&req);
    period = opt_value(&a, OPT_PERIOD);
    project = opt_value(&a, OPT_PROJECT);
    category = opt_value(&a, OPT_CATEGORY);
    light = opt_value(&a, OPT_LIGHT);
    if (period == NULL || a.npos != 1) {
        ex = cli_usage_error("note", "%s",
                             period == NULL ? "missing --period YYYY-Hn"
                                            : "give one FILE (or - for stdin)");
        goto out;
    }
    if (project != NULL && category != NULL) {
        ex = cli_usage_error("note", "a note is for a project or a category, not both");
        goto out;
    }
    if ((ex = note_text(a.pos[0], &text, &len)) != WM_OK ||
        (ex = note_request(&req, period, project, category, light, text, len)) != WM_OK)
        goto out;
    ex = note_send(cfg, &req);
out:
    free(text);
    wm_buf_free(&req);
    cli_args_free(&a);
    return ex;
}

/* ---- report ---------------------------------------------------------------------- */

static const char report_help[] =
    "Usage: werkmonitor report [--asof YYYY-MM-DD] [--period YYYY-Hn|FROM..TO|none]\n"
    "                          [--gemeente G[,G...]] -o FILE|-\n"
    "\n"
    "Write the monitor as one self-contained HTML file (for e-mail and the archive): the\n"
    "page the daemon serves at GET /, with its style, scripts and the figures inlined, so\n"
    "it opens, prints (A4) and reads the same without a server or a network. The figures\n"
    "are those of --asof (default: today), the period's realisation and notes beside them\n"
    "(default period: the half-year of --asof), for --gemeente (default: all). It asks the\n"
    "questions the page asks (PROJECTS, PROGRESS, COUNT, NOTES) over the line protocol.\n"
    "  -o, --output FILE   where to write it (- for standard output); written whole or not\n"
    "                      at all (through a temporary file)\n";

/* The view, resolved as the page resolves it (web/monitor.js: parseView, resolvePeriod). */
struct view {
    int32_t asof;
    char gemeente[512]; /* comma list, "" for all */
    int period;         /* 0: none; 1: a half-year; 2: from..to */
    char half[8];
    int32_t from, to, full_to; /* to clipped at asof */
};

struct report {
    struct cli_conn conn;
    json_t *responses;
    const char *cmd;
};

static void day_text(int32_t d, char out[11])
{
    proto_date_format(d, out);
}

/* The API path (base?k=v&...) and the protocol line (verb, with type= positional) for
 * params, into path and line (NUL-terminated); NULL or "" values are left out. Returns
 * WM_OK or WM_ENOMEM. */
static int question_text(const char *base, const char *verb, const char *const *params, size_t n,
                         struct wm_buf *path, struct wm_buf *line)
{
    char sep = '?';

    wm_buf_puts(path, base);
    wm_buf_puts(line, verb);
    for (size_t i = 0; i + 1 < n; i += 2) {
        const char *k = params[i], *v = params[i + 1];
        if (v == NULL || v[0] == '\0')
            continue;
        wm_buf_printf(path, "%c%s=%s", sep, k, v);
        sep = '&';
        if (strcmp(k, "type") == 0)
            wm_buf_printf(line, " %s", v);
        else
            wm_buf_printf(line, " %s=%s", k, v);
    }
    if (wm_buf_cstr(path) == NULL || wm_buf_cstr(line) == NULL)
        return WM_ENOMEM;
    return WM_OK;
}

/* The key=value pairs of one protocol row into obj, typed as the HTTP API types them.
 * Returns WM_OK or WM_ENOMEM. */
static int question_row(const char *row, json_t *obj)
{
    char *copy = strdup(row), *save = NULL, *tok;
    int ret = WM_ENOMEM;

    if (copy == NULL)
        return WM_ENOMEM;
    for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        size_t dn;
        json_t *v;
        if (eq == NULL)
            continue;
        *eq = '\0';
        if (proto_unescape_text(eq + 1, eq + 1, strlen(eq + 1), &dn, NULL, 0) != WM_OK)
            continue;
        /* typed as the HTTP API types them: numbers by their column, names and
         * texts strings even when they look like numbers */
        if (strcmp(eq + 1, "-") == 0)
            v = json_null();
        else if (proto_column_numeric(tok) && dn > 0 && dn <= 18 &&
                 strspn(eq + 1, "0123456789") == dn)
            v = json_integer(strtoll(eq + 1, NULL, 10));
        else
            v = json_stringn(eq + 1, dn);
        if (v == NULL || json_object_set_new(obj, tok, v) != 0)
            goto out;
    }
    ret = WM_OK;
out:
    free(copy);
    return ret;
}

/* The reply's rows as a JSON array of objects (owned by the caller), NULL when out of
 * memory. */
static json_t *question_rows(const struct cli_reply *r)
{
    json_t *rows = json_array();

    if (rows == NULL)
        return NULL;
    for (size_t i = 0; i < r->nrows; i++) {
        json_t *obj = json_object();
        if (obj == NULL || json_array_append_new(rows, obj) != 0 ||
            question_row(r->rows[i], obj) != WM_OK) {
            json_decref(rows);
            return NULL;
        }
    }
    return rows;
}

/* One question: params (key, value pairs; NULL or "" values left out) make both the
 * API path the page asks (base?k=v&...) and the protocol line (verb, with type=
 * positional for COUNT). Stores {"query": {}, "seq": 0, "rows": [...]} under the path. */
static int question(struct report *rp, const char *base, const char *verb,
                    const char *const *params, size_t n)
{
    struct wm_buf path, line;
    struct cli_reply r = {0};
    json_t *rows = NULL, *answer = NULL;
    int ret = CLI_EXIT_ERR, rc;

    wm_buf_init(&path);
    wm_buf_init(&line);
    if (question_text(base, verb, params, n, &path, &line) != WM_OK)
        goto oom;
    rc = cli_request(&rp->conn, line.data, &r);
    if (rc != WM_OK) {
        ret = cli_report_lost(&rp->conn, rc);
        goto out;
    }
    if (cli_reply_is_err(&r)) {
        fprintf(stderr, "werkmonitor report: %s: %s\n", line.data, r.line);
        goto out;
    }
    rows = question_rows(&r);
    if (rows == NULL)
        goto oom;
    answer = json_pack("{s:{},s:i,s:O}", "query", "seq", 0, "rows", rows);
    if (answer == NULL || json_object_set_new(rp->responses, path.data, answer) != 0)
        goto oom;
    ret = WM_OK;
    goto out;
oom:
    fprintf(stderr, "werkmonitor report: out of memory\n");
out:
    json_decref(rows);
    cli_reply_free(&r);
    wm_buf_free(&path);
    wm_buf_free(&line);
    return ret;
}

/* The first and last day of quarter q (0-3) of year y. */
static int32_t quarter_end(int y, int q)
{
    return q == 3 ? proto_date_from_ymd(y + 1, 1, 1) - 1 : proto_date_from_ymd(y, q * 3 + 4, 1) - 1;
}

/* From the PROJECTS answer already stored: the programme's start (*start, WM_DATE_NONE
 * when absent or unreadable) and the first project's name (*first, NULL when none;
 * owned by rp->responses). */
static void ask_projects_scan(const struct report *rp, int32_t *start, const char **first)
{
    json_t *rows = json_object_get(json_object_get(rp->responses, "/v1/projects"), "rows");
    size_t i;
    json_t *row;

    json_array_foreach(rows, i, row)
    {
        const char *name = json_string_value(json_object_get(row, "project"));
        const char *s = json_string_value(json_object_get(row, "start"));
        if (name == NULL)
            continue;
        if (strcmp(name, "*") == 0 && s != NULL && proto_date_parse(s, strlen(s), start) != WM_OK)
            *start = WM_DATE_NONE;
        if (strcmp(name, "*") != 0 && *first == NULL)
            *first = name;
    }
}

/* The period's realisation: per project and regional, started, completed and placed
 * (web/monitor.js, load). Returns WM_OK or question's exit status. */
static int ask_period(struct report *rp, const struct view *v)
{
    static const char res[] = "diploma,certificaat,afgerond";
    const char *g = v->gemeente;
    char from[11], to[11];
    int ret;

    day_text(v->from, from);
    day_text(v->to, to);
    const char *q1[] = {"type", "started", "by", "project", "from", from, "to", to, "gemeente", g};
    const char *q2[] = {"type", "completed", "by",       "project", "from",   from,
                        "to",   to,          "gemeente", g,         "result", res};
    const char *q3[] = {"type", "placed", "by", "project", "distinct", "person",
                        "from", from,     "to", to,        "gemeente", g};
    const char *q4[] = {"type", "started", "scope", "regional", "from",
                        from,   "to",      to,      "gemeente", g};
    const char *q5[] = {"type", "completed", "scope",    "regional", "from",   from,
                        "to",   to,          "gemeente", g,          "result", res};
    const char *q6[] = {"type", "placed", "distinct", "person", "scope",    "regional",
                        "from", from,     "to",       to,       "gemeente", g};
    if ((ret = question(rp, "/v1/count", "COUNT", q1, 10)) != WM_OK ||
        (ret = question(rp, "/v1/count", "COUNT", q2, 12)) != WM_OK ||
        (ret = question(rp, "/v1/count", "COUNT", q3, 12)) != WM_OK ||
        (ret = question(rp, "/v1/count", "COUNT", q4, 10)) != WM_OK ||
        (ret = question(rp, "/v1/count", "COUNT", q5, 12)) != WM_OK ||
        (ret = question(rp, "/v1/count", "COUNT", q6, 12)) != WM_OK)
        return ret;
    return WM_OK;
}

/* The history of the first project's progress: at the programme's start, then at every
 * quarter end before asof. Returns WM_OK or question's exit status. */
static int ask_history(struct report *rp, const struct view *v, int32_t start, const char *first)
{
    const char *g = v->gemeente;
    char d[11], pstart[11];
    int y, m, dd, ret;

    day_text(start, pstart);
    const char *p[] = {"asof", pstart, "project", first, "gemeente", g};
    if ((ret = question(rp, "/v1/progress", "PROGRESS", p, 6)) != WM_OK)
        return ret;
    proto_date_split(start, &y, &m, &dd);
    for (int q = (m - 1) / 3;; q = (q + 1) % 4, y += q == 0) {
        int32_t end = quarter_end(y, q);
        if (end >= v->asof)
            break;
        if (end < start)
            continue;
        day_text(end, d);
        const char *pq[] = {"asof", d, "project", first, "gemeente", g};
        if ((ret = question(rp, "/v1/progress", "PROGRESS", pq, 6)) != WM_OK)
            return ret;
    }
    return WM_OK;
}

/* The page's questions for view v (web/monitor.js, load). */
static int ask_all(struct report *rp, const struct view *v)
{
    char asof[11];
    const char *g = v->gemeente;
    const char *first = NULL;
    int32_t start = WM_DATE_NONE;
    int ret;

    day_text(v->asof, asof);
    if ((ret = question(rp, "/v1/projects", "PROJECTS", NULL, 0)) != WM_OK)
        return ret;
    /* The programme's start and the first project, from the answer just stored. */
    ask_projects_scan(rp, &start, &first);
    {
        const char *p[] = {"asof", asof, "gemeente", g};
        if ((ret = question(rp, "/v1/progress", "PROGRESS", p, 4)) != WM_OK)
            return ret;
    }
    {
        const char *p[] = {"type",  "placed",   "by", "quarter", "distinct", "person",
                           "scope", "regional", "to", asof,      "gemeente", g};
        if ((ret = question(rp, "/v1/count", "COUNT", p, 12)) != WM_OK)
            return ret;
    }
    if (v->period && v->from <= v->asof && (ret = ask_period(rp, v)) != WM_OK)
        return ret;
    if (v->period == 1) {
        const char *p[] = {"period", v->half};
        if ((ret = question(rp, "/v1/notes", "NOTES", p, 2)) != WM_OK)
            return ret;
    }
    if (start != WM_DATE_NONE && first != NULL && v->asof >= start &&
        (ret = ask_history(rp, v, start, first)) != WM_OK)
        return ret;
    return WM_OK;
}

/* Replace the first marker in page by before + body + after; WM_EINTERNAL when absent
 * or when body would end the element early. */
static int inline_file(struct wm_buf *page, const char *marker, const char *before,
                       const struct web_file *body, const char *after)
{
    const char *text = wm_buf_cstr(page);
    const char *at = text ? strstr(text, marker) : NULL;
    struct wm_buf out;
    size_t off, rest;

    if (at == NULL || body == NULL || strstr((const char *)body->data, "</script") != NULL ||
        strstr((const char *)body->data, "</style") != NULL)
        return WM_EINTERNAL;
    off = (size_t)(at - text);
    rest = off + strlen(marker);
    wm_buf_init(&out);
    wm_buf_append(&out, page->data, off);
    wm_buf_puts(&out, before);
    wm_buf_append(&out, (const char *)body->data, body->size);
    wm_buf_puts(&out, after);
    wm_buf_append(&out, text + rest, page->len - rest);
    if (wm_buf_cstr(&out) == NULL) {
        wm_buf_free(&out);
        return WM_ENOMEM;
    }
    wm_buf_free(page);
    *page = out;
    return WM_OK;
}

/* The page with its style, scripts and the report's data inlined. */
static int build_page(const struct view *v, json_t *responses, struct wm_buf *page)
{
    const struct web_file *index = web_find("/");
    json_t *report, *view, *period = NULL;
    char asof[11], from[11], to[11], made[32];
    char *json;
    time_t now = time(NULL);
    struct tm tm;
    int ret;

    day_text(v->asof, asof);
    if (v->period == 0)
        period = json_string("none");
    else if (v->period == 1)
        period = json_string(v->half);
    else {
        day_text(v->from, from);
        day_text(v->full_to, to);
        period = json_pack("{s:s,s:s}", "from", from, "to", to);
    }
    view = json_pack("{s:s,s:[],s:o}", "asof", asof, "gemeente", "period", period);
    if (view == NULL)
        return WM_ENOMEM;
    for (const char *g = v->gemeente, *end; *g; g = *end ? end + 1 : end) {
        end = strchr(g, ',');
        if (end == NULL)
            end = g + strlen(g);
        json_array_append_new(json_object_get(view, "gemeente"),
                              json_stringn(g, (size_t)(end - g)));
    }
    localtime_r(&now, &tm);
    strftime(made, sizeof made, "%Y-%m-%dT%H:%M:%S", &tm);
    report = json_pack("{s:s,s:o,s:O}", "generated", made, "view", view, "responses", responses);
    if (report == NULL)
        return WM_ENOMEM;
    /* JSON_ESCAPE_SLASH: no "</script>" can end the element early. */
    json = json_dumps(report, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ESCAPE_SLASH);
    json_decref(report);
    if (json == NULL || index == NULL) {
        free(json);
        return json == NULL ? WM_ENOMEM : WM_EINTERNAL;
    }
    wm_buf_init(page);
    wm_buf_append(page, (const char *)index->data, index->size);
    ret = inline_file(page, "<link rel=\"stylesheet\" href=\"monitor.css\">", "<style>\n",
                      web_find("/monitor.css"), "</style>");
    if (ret == WM_OK)
        ret = inline_file(page, "<script src=\"charts.js\" defer></script>", "<script>\n",
                          web_find("/charts.js"), "</script>");
    if (ret == WM_OK) {
        struct wm_buf pre;
        wm_buf_init(&pre);
        wm_buf_puts(&pre, "<script>window.WM_REPORT = ");
        wm_buf_puts(&pre, json);
        wm_buf_puts(&pre, ";</script>\n<script>\n");
        ret = wm_buf_cstr(&pre) == NULL
                  ? WM_ENOMEM
                  : inline_file(page, "<script src=\"monitor.js\" defer></script>", pre.data,
                                web_find("/monitor.js"), "</script>");
        wm_buf_free(&pre);
    }
    free(json);
    return ret;
}

/* --asof, --period and --gemeente into v, as the page reads its URL. Returns WM_OK or
 * reports a usage error and returns its exit status. */
static int resolve_view(const struct cli_args *a, struct view *v)
{
    const char *asof = opt_value(a, OPT_ASOF), *period = opt_value(a, OPT_PERIOD);
    const char *g = opt_value(a, OPT_GEMEENTE);
    time_t now = time(NULL);
    struct tm tm;
    int32_t p;

    memset(v, 0, sizeof *v);
    if (asof != NULL) {
        if (proto_date_parse(asof, strlen(asof), &v->asof) != WM_OK)
            return cli_usage_error("report", "--asof wants a date YYYY-MM-DD, not '%s'", asof);
    } else {
        localtime_r(&now, &tm);
        v->asof = proto_date_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    }
    if (g != NULL) {
        size_t n = strlen(g);
        if (n >= sizeof v->gemeente)
            return cli_usage_error("report", "--gemeente is too long");
        for (size_t i = 0; i < n; i++) {
            char c = g[i] >= 'A' && g[i] <= 'Z' ? (char)(g[i] - 'A' + 'a')
                     : g[i] == ' '              ? '-'
                                                : g[i];
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == ','))
                return cli_usage_error("report", "--gemeente: '%s' is not a list of names", g);
            v->gemeente[i] = c;
        }
    }
    if (period != NULL && strcmp(period, "none") == 0) {
        v->period = 0;
        return WM_OK;
    }
    if (period == NULL) {
        int y, m, d;
        proto_date_split(v->asof, &y, &m, &d);
        p = y * 2 + (m > 6);
        v->period = 1;
    } else if (proto_period_parse(period, strlen(period), &p) == WM_OK) {
        v->period = 1;
    } else {
        const char *dots = strstr(period, "..");
        if (dots == NULL || proto_date_parse(period, (size_t)(dots - period), &v->from) != WM_OK ||
            proto_date_parse(dots + 2, strlen(dots + 2), &v->full_to) != WM_OK ||
            v->from > v->full_to)
            return cli_usage_error("report",
                                   "--period is a half-year (2021-H2), FROM..TO "
                                   "(2021-07-01..2021-09-30) or none, not '%s'",
                                   period);
        v->period = 2;
    }
    if (v->period == 1) {
        proto_period_format(p, v->half);
        v->from = proto_date_from_ymd(p / 2, p % 2 ? 7 : 1, 1);
        v->full_to = p % 2 ? proto_date_from_ymd(p / 2, 12, 31) : proto_date_from_ymd(p / 2, 6, 30);
    }
    v->to = v->full_to < v->asof ? v->full_to : v->asof;
    return WM_OK;
}

/* Write data to path ("-": standard output), through a temporary file and a rename so
 * that a reader never sees half a report. */
static int write_out(const char *path, const char *data, size_t len)
{
    char tmp[4096];
    FILE *f;

    if (strcmp(path, "-") == 0)
        return fwrite(data, 1, len, stdout) == len && fflush(stdout) == 0 ? WM_OK : WM_EIO;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >= sizeof tmp)
        return WM_EIO;
    f = fopen(tmp, "wb");
    if (f == NULL)
        return WM_EIO;
    if (fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        unlink(tmp);
        return WM_EIO;
    }
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return WM_EIO;
    }
    return WM_OK;
}

int cli_cmd_report(struct cli_config *cfg, int argc, char **argv)
{
    static const struct cli_optdef defs[] = {
        {"asof", 0, 1, OPT_ASOF},
        {"period", 0, 1, OPT_PERIOD},
        {"gemeente", 0, 1, OPT_GEMEENTE},
        {"output", 'o', 1, OPT_OUT},
    };
    struct cli_args a;
    struct report rp = {0};
    struct view v;
    struct wm_buf page = {0};
    const char *out;
    int ex = cli_cmd_begin(&a, cfg, "report", argc, argv, defs, 4, report_help), rc;

    if (ex >= 0)
        return ex;
    out = opt_value(&a, OPT_OUT);
    if (out == NULL || a.npos > 0) {
        ex = cli_usage_error("report", "%s",
                             out == NULL ? "missing -o FILE (or -o - for stdout)"
                                         : "unexpected argument");
        goto done;
    }
    if ((ex = resolve_view(&a, &v)) != WM_OK)
        goto done;
    rp.responses = json_object();
    if (rp.responses == NULL) {
        ex = CLI_EXIT_ERR;
        goto done;
    }
    if (cli_connect_or_report(&rp.conn, cfg) != WM_OK) {
        ex = CLI_EXIT_CONN;
        goto done;
    }
    ex = ask_all(&rp, &v);
    cli_conn_close(&rp.conn);
    if (ex != WM_OK)
        goto done;
    rc = build_page(&v, rp.responses, &page);
    if (rc != WM_OK) {
        fprintf(stderr, "werkmonitor report: cannot make the page: %s\n", wm_strerror(rc));
        ex = CLI_EXIT_ERR;
        goto done;
    }
    if (write_out(out, page.data, page.len) != WM_OK) {
        fprintf(stderr, "werkmonitor report: cannot write %s: %s\n", out, strerror(errno));
        ex = CLI_EXIT_CONN;
        goto done;
    }
    if (strcmp(out, "-") != 0)
        fprintf(stderr, "werkmonitor report: wrote %s (%zu bytes)\n", out, page.len);
    ex = CLI_EXIT_OK;
done:
    json_decref(rp.responses);
    wm_buf_free(&page);
    cli_args_free(&a);
    return ex;
}
