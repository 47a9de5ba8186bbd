/*
 * ops: the maintenance commands of werkmonitord (backup, verify, export, restore):
 * their options and help, and running them. They open the store read-only beside a
 * running daemon (LMDB lets a second process read while the daemon writes), except
 * restore, which writes a new store.
 */
#include "ops.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"

/* ---- options ------------------------------------------------------------------------- */

/* The options of every command, parsed: each table row names its field. */
struct ops_args {
    const char *data, *config; /* the store */
    const char *to;            /* backup */
    int verify;                /* backup: a flag */
    uint64_t max_report;       /* verify */
    int format;                /* export: enum ops_format */
    int with_pseudonyms;       /* export: a flag */
    const char *output, *schema, *table;
    const char *input; /* restore */
    struct config cfg; /* the store's directory and map sizes (cmd_store_config) */
};

/* What an option's value is, and how it is checked. */
enum ops_kind {
    OPS_FLAG,    /* no value: the int field becomes 1 */
    OPS_TEXT,    /* any non-empty text */
    OPS_UINT,    /* a decimal number: a uint64_t field */
    OPS_CHOICE,  /* one of choices: the int field becomes its index */
    OPS_SQLNAME, /* a name SQL needs no quotes for (sql_name_valid) */
    OPS_HELP,    /* --help: handled as it is met */
};

struct ops_opt {
    const char *name;    /* without the dashes */
    const char *argname; /* NULL: a flag */
    const char *help;
    enum ops_kind kind;
    size_t field;               /* offsetof(struct ops_args, ...); unused by OPS_HELP */
    const char *def;            /* the value when not given (NULL: none) */
    const char *const *choices; /* OPS_CHOICE: the values, NULL-terminated */
    const char *required;       /* when it must be given: what it is ("the copy's
                                   directory" -> "give the copy's directory with --to DIR") */
};

struct ops_cmd {
    const char *name;
    const char *synopsis; /* after "werkmonitord <name> " */
    const char *about;    /* what it does, a paragraph */
    const struct ops_opt *opts;
    const char *status; /* the exit statuses */
    int store_in_run;   /* 0: the parser resolves the store (--data, --config) before it
                           checks the values; 1: run does (export needs none for --schema) */
    int (*run)(const struct ops_cmd *cmd, struct ops_args *a);
};

#define OPS_FIELD(f) offsetof(struct ops_args, f)

/* Options every command has, first in each table. */
#define OPS_OPT_STORE                                                                              \
    {"data", "DIR", "the store's data directory", OPS_TEXT, OPS_FIELD(data), NULL, NULL, NULL},    \
    {                                                                                              \
        "config", "FILE",                                                                          \
            "take data, map-size, map-max from this werkmonitord configuration file (--data "      \
            "overrides)",                                                                          \
            OPS_TEXT, OPS_FIELD(config), NULL, NULL, NULL                                          \
    }
#define OPS_OPT_HELP                                                                               \
    {                                                                                              \
        "help", NULL, "print this help and exit", OPS_HELP, 0, NULL, NULL, NULL                    \
    }
#define OPS_OPT_END                                                                                \
    {                                                                                              \
        NULL, NULL, NULL, OPS_HELP, 0, NULL, NULL, NULL                                            \
    }

static void cmd_usage(const struct ops_cmd *cmd, FILE *out)
{
    fprintf(out, "Usage: werkmonitord %s %s\n", cmd->name, cmd->synopsis);
    config_usage_wrapped(out, 0, 0, cmd->about);
    fputc('\n', out);
    for (const struct ops_opt *o = cmd->opts; o->name; o++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--%s%s%s", o->name, o->argname ? " " : "",
                 o->argname ? o->argname : "");
        config_usage_option(out, flag, o->help);
    }
    fputc('\n', out);
    config_usage_wrapped(out, 0, 0, cmd->status);
}

/* Split argv[1..] into vals (indexed like cmd->opts; a flag gets "" when given; the last
 * of repeated options counts). Returns 0, 1 for --help (printed), or -1 after printing
 * the problem. */
static int cmd_split(const struct ops_cmd *cmd, int argc, char **argv, const char **vals)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *eq, *name = a + 2;
        const struct ops_opt *o;
        size_t nlen;
        int k = 0;

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cmd_usage(cmd, stdout);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "werkmonitord %s: unexpected argument '%.64s' (see --help)\n",
                    cmd->name, a);
            return -1;
        }
        eq = strchr(name, '=');
        nlen = eq ? (size_t)(eq - name) : strlen(name);
        for (o = cmd->opts; o->name; o++, k++)
            if (strlen(o->name) == nlen && strncmp(o->name, name, nlen) == 0)
                break;
        if (!o->name) {
            fprintf(stderr, "werkmonitord %s: unknown option '--%.*s' (see --help)\n", cmd->name,
                    (int)(nlen > 64 ? 64 : nlen), name);
            return -1;
        }
        if (!o->argname) {
            if (eq) {
                fprintf(stderr, "werkmonitord %s: --%s takes no value\n", cmd->name, o->name);
                return -1;
            }
            vals[k] = "";
            continue;
        }
        if (eq)
            vals[k] = eq + 1;
        else if (i + 1 < argc)
            vals[k] = argv[++i];
        else
            vals[k] = NULL;
        if (!vals[k] || !vals[k][0]) {
            fprintf(stderr, "werkmonitord %s: --%s needs %s\n", cmd->name, o->name, o->argname);
            return -1;
        }
    }
    return 0;
}

/* "a, b or c" of a NULL-terminated list, into buf. */
static void choices_text(const char *const *c, char *buf, size_t len)
{
    size_t at = 0;

    buf[0] = '\0';
    for (size_t i = 0; c[i] && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, "%s%s",
                               i == 0     ? ""
                               : c[i + 1] ? ", "
                                          : " or ",
                               c[i]);
}

static int sql_name_valid(const char *s);

/* Check option o's value v (given, or its default) and store it in a. Returns 0, or -1
 * after printing what is wrong, naming the option and the value. */
static int opt_store(const struct ops_cmd *cmd, const struct ops_opt *o, const char *v,
                     struct ops_args *a)
{
    char *field = (char *)a + o->field, want[128];
    uint64_t n;

    switch (o->kind) {
    case OPS_HELP:
        return 0;
    case OPS_FLAG:
        *(int *)field = 1;
        return 0;
    case OPS_UINT:
        if (proto_parse_uint(v, strlen(v), UINT64_MAX, &n) != WM_OK) {
            fprintf(stderr, "werkmonitord %s: --%s: not a number: '%.32s'\n", cmd->name, o->name,
                    v);
            return -1;
        }
        *(uint64_t *)field = n;
        return 0;
    case OPS_CHOICE:
        for (int i = 0; o->choices[i]; i++)
            if (strcmp(v, o->choices[i]) == 0) {
                *(int *)field = i;
                return 0;
            }
        choices_text(o->choices, want, sizeof want);
        fprintf(stderr, "werkmonitord %s: --%s: want %s, got '%.32s'\n", cmd->name, o->name, want,
                v);
        return -1;
    case OPS_SQLNAME:
        if (!sql_name_valid(v)) {
            fprintf(stderr, "werkmonitord %s: --%s: want [a-z0-9_], got '%.64s'\n", cmd->name,
                    o->name, v);
            return -1;
        }
        break;
    case OPS_TEXT:
        break;
    }
    *(const char **)field = v;
    return 0;
}

static int cmd_store_config(const struct ops_cmd *cmd, struct ops_args *a);

/* Parse argv[1..] (argv[0] is the command) into a: the options split out, then, unless
 * the command does it itself, the store resolved, then each option's value (or its
 * default) checked in the table's order. Returns 0, 1 for --help (printed), or -1 after
 * printing the problem. */
static int cmd_parse(const struct ops_cmd *cmd, int argc, char **argv, struct ops_args *a)
{
    const char *vals[16] = {0};
    int rc = cmd_split(cmd, argc, argv, vals), k = 0;

    memset(a, 0, sizeof *a);
    if (rc != 0)
        return rc;
    a->data = vals[0];
    a->config = vals[1];
    if (!cmd->store_in_run && cmd_store_config(cmd, a) != 0)
        return -1;
    for (const struct ops_opt *o = cmd->opts; o->name; o++, k++) {
        const char *v = vals[k] ? vals[k] : o->def;
        if (!v && o->required) {
            fprintf(stderr, "werkmonitord %s: give %s with --%s %s\n", cmd->name, o->required,
                    o->name, o->argname);
            return -1;
        }
        if (v && opt_store(cmd, o, v, a) != 0)
            return -1;
    }
    return 0;
}

/* The store's directory and map sizes (a->cfg) from --data and --config. Returns 0, or
 * -1 after printing why. */
static int cmd_store_config(const struct ops_cmd *cmd, struct ops_args *a)
{
    struct config *cfg = &a->cfg;
    char err[1024];

    config_defaults(cfg);
    if (a->config && config_load_file(cfg, a->config, err, sizeof err) != WM_OK) {
        fprintf(stderr, "werkmonitord %s: %s\n", cmd->name, err);
        return -1;
    }
    if (a->data) {
        if (strlen(a->data) >= sizeof cfg->data_dir) {
            fprintf(stderr, "werkmonitord %s: --data: path too long\n", cmd->name);
            return -1;
        }
        snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s", a->data);
    } else if (!a->config) {
        fprintf(stderr, "werkmonitord %s: give the store with --data DIR (or --config FILE)\n",
                cmd->name);
        return -1;
    }
    return 0;
}

/* Open the store of cfg read-only. NULL after printing why. */
static struct store *cmd_open_readonly(const struct ops_cmd *cmd, const struct config *cfg)
{
    struct store_options opt;
    struct store *s;
    char err[1024];

    memset(&opt, 0, sizeof opt);
    opt.dir = cfg->data_dir;
    opt.flags = STORE_OPEN_READONLY;
    if (store_open(&opt, &s, err, sizeof err) != WM_OK) {
        fprintf(stderr, "werkmonitord %s: %s\n", cmd->name, err);
        return NULL;
    }
    return s;
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* ---- verify ---------------------------------------------------------------------------- */

static void print_difference(void *arg, const char *line)
{
    (void)arg;
    printf("difference: %s\n", line);
}

/* Verify store s (named dir); prints the differences and a summary line. Returns the
 * exit status. */
static int verify_store(const char *cmdname, struct store *s, const char *dir, uint64_t max_lines)
{
    struct store_verify_result res;
    struct timespec t0;
    char err[1024];
    int ret;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    ret = store_verify(s, &res, print_difference, NULL, max_lines, err, sizeof err);
    if (ret != WM_OK) {
        fflush(stdout);
        fprintf(stderr, "werkmonitord %s: %s: %s\n", cmdname, dir, err);
        return OPS_EXIT_FAIL;
    }
    printf("verify: %s: memory part %s\n", dir, res.memory_source);
    if (res.differences > 0) {
        if (max_lines && res.differences > max_lines)
            printf("verify: %llu more differences not shown (--max-report)\n",
                   (unsigned long long)(res.differences - max_lines));
        printf("verify: %s: %llu differences, through seq %llu (%llu records, %llu live events, "
               "%llu cells, %llu persons compared)\n",
               dir, (unsigned long long)res.differences, (unsigned long long)res.last_seq,
               (unsigned long long)res.records, (unsigned long long)res.live,
               (unsigned long long)res.cells, (unsigned long long)res.persons);
        return OPS_EXIT_FAIL;
    }
    printf("verify: %s: consistent through seq %llu (%llu records, %llu live events, %llu cells, "
           "%llu persons compared) in %.0f ms\n",
           dir, (unsigned long long)res.last_seq, (unsigned long long)res.records,
           (unsigned long long)res.live, (unsigned long long)res.cells,
           (unsigned long long)res.persons, ms_since(&t0));
    return OPS_EXIT_OK;
}

static const struct ops_opt verify_opts[] = {
    OPS_OPT_STORE,
    {"max-report", "N", "print at most N differences (default 100; 0: all); all are counted",
     OPS_UINT, OPS_FIELD(max_report), "100", NULL, NULL},
    OPS_OPT_HELP,
    OPS_OPT_END,
};

static int run_verify(const struct ops_cmd *cmd, struct ops_args *a)
{
    struct store *s = cmd_open_readonly(cmd, &a->cfg);
    int status;

    if (!s)
        return OPS_EXIT_FAIL;
    status = verify_store(cmd->name, s, a->cfg.data_dir, a->max_report);
    store_close(s);
    return status;
}

/* ---- backup ---------------------------------------------------------------------------- */

static const struct ops_opt backup_opts[] = {
    OPS_OPT_STORE,
    {"to", "DIR", "the new (or empty) directory the copy goes to", OPS_TEXT, OPS_FIELD(to), NULL,
     NULL, "the copy's directory"},
    {"verify", NULL, "verify the copy afterwards, as werkmonitord verify does", OPS_FLAG,
     OPS_FIELD(verify), NULL, NULL, NULL},
    OPS_OPT_HELP,
    OPS_OPT_END,
};

static int run_backup(const struct ops_cmd *cmd, struct ops_args *a)
{
    struct store_backup_info info;
    struct config *cfg = &a->cfg;
    struct timespec t0;
    struct store *s;
    char err[1024];
    int ret, status = OPS_EXIT_OK;

    s = cmd_open_readonly(cmd, cfg);
    if (!s)
        return OPS_EXIT_FAIL;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ret = store_backup(s, a->to, &info, err, sizeof err);
    store_close(s);
    if (ret != WM_OK) {
        fprintf(stderr, "werkmonitord backup: %s\n", err);
        return OPS_EXIT_FAIL;
    }
    printf("backup: %s -> %s: through seq %llu (%llu events), %llu bytes, %.0f ms\n", cfg->data_dir,
           a->to, (unsigned long long)info.last_seq, (unsigned long long)info.events,
           (unsigned long long)info.bytes, ms_since(&t0));
    if (a->verify) {
        snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s", a->to);
        s = cmd_open_readonly(cmd, cfg);
        if (!s)
            return OPS_EXIT_FAIL;
        status = verify_store(cmd->name, s, a->to, 100);
        store_close(s);
    }
    return status;
}

/* ---- export ------------------------------------------------------------------------------ */

/* A table name that needs no quoting in SQL: [a-z_][a-z0-9_]*, at most 63 bytes. */
static int sql_name_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 63 || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

static const char *const export_formats[] = {"ndjson", "csv", NULL}; /* enum ops_format */

static const struct ops_opt export_opts[] = {
    OPS_OPT_STORE,
    {"format", "ndjson|csv",
     "ndjson (default): every event, retraction, note and registry entry, with principal and "
     "seq, for restore; csv: the live events as one table",
     OPS_CHOICE, OPS_FIELD(format), NULL, export_formats, NULL},
    {"with-pseudonyms", NULL, "csv: add the person column (pseudonyms: personal data)", OPS_FLAG,
     OPS_FIELD(with_pseudonyms), NULL, NULL, NULL},
    {"output", "FILE", "write to FILE instead of standard output", OPS_TEXT, OPS_FIELD(output),
     NULL, NULL, NULL},
    {"schema", "postgresql|clickhouse",
     "print the SQL that creates the CSV's table and the statement that loads the CSV, and exit "
     "(needs no store)",
     OPS_TEXT, OPS_FIELD(schema), NULL, NULL, NULL},
    {"table", "NAME", "the table's name in that SQL (default werkmonitor_events)", OPS_SQLNAME,
     OPS_FIELD(table), "werkmonitor_events", NULL, NULL},
    OPS_OPT_HELP,
    OPS_OPT_END,
};

static int run_export(const struct ops_cmd *cmd, struct ops_args *a)
{
    struct ops_export_options o;
    struct ops_export_result res;
    struct store *s;
    FILE *out = stdout;
    char err[1024];
    int ret;

    memset(&o, 0, sizeof o);
    o.format = a->format;
    o.with_pseudonyms = a->with_pseudonyms;
    o.table = a->table;
    if (o.with_pseudonyms && o.format != OPS_FORMAT_CSV && !a->schema) {
        fprintf(stderr, "werkmonitord export: --with-pseudonyms is for --format csv (NDJSON "
                        "always holds them)\n");
        return OPS_EXIT_USAGE;
    }
    if (a->schema) {
        if (ops_print_schema(a->schema, &o, stdout, err, sizeof err) != WM_OK) {
            fprintf(stderr, "werkmonitord export: --schema: %s\n", err);
            return OPS_EXIT_USAGE;
        }
        return fflush(stdout) == 0 ? OPS_EXIT_OK : OPS_EXIT_FAIL;
    }
    if (cmd_store_config(cmd, a) != 0)
        return OPS_EXIT_USAGE;
    s = cmd_open_readonly(cmd, &a->cfg);
    if (!s)
        return OPS_EXIT_FAIL;
    if (a->output && !(out = fopen(a->output, "w"))) {
        fprintf(stderr, "werkmonitord export: cannot write %s: %s\n", a->output, strerror(errno));
        store_close(s);
        return OPS_EXIT_FAIL;
    }
    ret = ops_export(s, &o, out, &res, err, sizeof err);
    store_close(s);
    if (out != stdout && fclose(out) != 0 && ret == WM_OK) {
        proto_errf(err, sizeof err, "cannot write %s: %s", a->output, strerror(errno));
        ret = WM_EIO;
    }
    if (ret != WM_OK) {
        fprintf(stderr, "werkmonitord export: %s\n", err);
        if (a->output)
            remove(a->output); /* half an export must not pass for one */
        return OPS_EXIT_FAIL;
    }
    fprintf(stderr,
            "export: %s: %s through seq %llu: %llu events, %llu retractions, %llu notes, %llu "
            "lines\n",
            a->cfg.data_dir, o.format == OPS_FORMAT_CSV ? "csv" : "ndjson",
            (unsigned long long)res.last_seq, (unsigned long long)res.events,
            (unsigned long long)res.retractions, (unsigned long long)res.notes,
            (unsigned long long)res.lines);
    return OPS_EXIT_OK;
}

/* ---- restore ------------------------------------------------------------------------------ */

static const struct ops_opt restore_opts[] = {
    OPS_OPT_STORE,
    {"input", "FILE", "read the NDJSON export from FILE instead of standard input", OPS_TEXT,
     OPS_FIELD(input), NULL, NULL, NULL},
    OPS_OPT_HELP,
    OPS_OPT_END,
};

static int run_restore(const struct ops_cmd *cmd, struct ops_args *a)
{
    struct ops_restore_result res;
    struct config *cfg = &a->cfg;
    struct timespec t0;
    FILE *in = stdin;
    char err[1024];
    int ret;

    (void)cmd;
    if (a->input && !(in = fopen(a->input, "r"))) {
        fprintf(stderr, "werkmonitord restore: cannot read %s: %s\n", a->input, strerror(errno));
        return OPS_EXIT_FAIL;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ret = ops_restore(cfg->data_dir, in, a->input ? a->input : "stdin", cfg->map_size, cfg->map_max,
                      &res, err, sizeof err);
    if (in != stdin)
        fclose(in);
    if (ret != WM_OK) {
        fprintf(stderr, "werkmonitord restore: %s\n", err);
        return OPS_EXIT_FAIL;
    }
    printf("restore: %s: through seq %llu: %llu events, %llu retractions, %llu projects, %llu "
           "gemeenten, %llu notes in %.0f ms\n",
           cfg->data_dir, (unsigned long long)res.last_seq, (unsigned long long)res.events,
           (unsigned long long)res.retractions, (unsigned long long)res.projects,
           (unsigned long long)res.gemeenten, (unsigned long long)res.notes, ms_since(&t0));
    return OPS_EXIT_OK;
}

/* ---- the commands ------------------------------------------------------------------------- */

static const struct ops_cmd ops_cmds[] = {
    {"backup", "(--data DIR | --config FILE) --to DIR [--verify]",
     "Copy the store into a new directory: one consistent snapshot, compacted and synced to "
     "disk, taken while the daemon runs and writes (a read-only second process; the daemon "
     "never waits for it). The copy is a store: start werkmonitord on it, or verify it. An "
     "admin can also send BACKUP over the protocol.",
     backup_opts, "Exit status: 0 copied (and consistent, with --verify), 1 failed, 2 usage error.",
     0, run_backup},
    {"verify", "(--data DIR | --config FILE) [--max-report N]",
     "Recompute from the events and retractions alone everything the store derives from them "
     "(the counters, the ids and retracted indexes, the year and month rollup cells, and the "
     "memory part: every rollup cell and PROGRESS count, each person's entries and lists, the "
     "placed persons) and report each difference. The memory part is loaded as the daemon "
     "loads it at its start: from its checkpoint (memory.ckpt) and the records after it when "
     "the checkpoint matches the store, else rebuilt (a line says which). Reads one "
     "consistent snapshot, so it runs beside a running daemon as a read-only second process, "
     "and on a backup.",
     verify_opts,
     "Exit status: 0 consistent, 1 differences found (or the store could not be read), 2 usage "
     "error.",
     0, run_verify},
    {"export", "(--data DIR | --config FILE) [--format ndjson|csv] [OPTION]...",
     "Write the store as NDJSON (every event, retraction, note and registry entry with its "
     "principal and seq: what restore reads) or as CSV (the live events as one table, for "
     "PostgreSQL, "
     "ClickHouse or a spreadsheet; the columns are in the README). One consistent snapshot, "
     "taken while the daemon runs. The NDJSON holds pseudonyms; the CSV only with "
     "--with-pseudonyms.",
     export_opts, "Exit status: 0 written, 1 failed, 2 usage error.", 1, run_export},
    {"restore", "(--data NEWDIR | --config FILE) [--input FILE]",
     "Build a new store in NEWDIR from an NDJSON export (standard input by default): the same "
     "seqs, principals, ids, receive times and registry, so it answers every query as the "
     "exported store did. Every line is validated as the protocol validates a request. This is "
     "also the way across store format versions.",
     restore_opts,
     "Exit status: 0 restored, 1 failed (the half-built store is removed), 2 usage error.", 0,
     run_restore},
};

#define OPS_NCMDS (sizeof ops_cmds / sizeof ops_cmds[0])

int ops_is_command(const char *word)
{
    for (size_t i = 0; i < OPS_NCMDS; i++)
        if (strcmp(word, ops_cmds[i].name) == 0)
            return 1;
    return 0;
}

int ops_main(int argc, char **argv)
{
    for (size_t i = 0; i < OPS_NCMDS; i++) {
        const struct ops_cmd *cmd = &ops_cmds[i];
        struct ops_args a;
        int rc;
        if (strcmp(argv[0], cmd->name) != 0)
            continue;
        rc = cmd_parse(cmd, argc, argv, &a);
        if (rc != 0)
            return rc > 0 ? OPS_EXIT_OK : OPS_EXIT_USAGE;
        return cmd->run(cmd, &a);
    }
    fprintf(stderr, "werkmonitord: unknown command '%.64s'\n", argv[0]);
    return OPS_EXIT_USAGE;
}
