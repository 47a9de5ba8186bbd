/*
 * ops: the maintenance commands of werkmonitord (backup, verify, export, restore):
 * their options and help, and running them. They open the store read-only beside a
 * running daemon (LMDB lets a second process read while the daemon writes), except
 * restore, which writes a new store.
 */
#include "ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"

/* ---- options ------------------------------------------------------------------------- */

struct ops_opt {
    const char *name;    /* without the dashes */
    const char *argname; /* NULL: a flag */
    const char *help;
};

struct ops_cmd {
    const char *name;
    const char *synopsis; /* after "werkmonitord <name> " */
    const char *about;    /* what it does, a paragraph */
    const struct ops_opt *opts;
    const char *status; /* the exit statuses */
    int (*run)(const struct ops_cmd *cmd, char **vals);
};

/* Options every command has, first in each table. */
#define OPS_OPT_STORE                                                                              \
    {"data", "DIR", "the store's data directory"},                                                 \
    {                                                                                              \
        "config", "FILE",                                                                          \
            "take data, map-size, map-max from this werkmonitord configuration file (--data "      \
            "overrides)"                                                                           \
    }
#define OPS_OPT_HELP                                                                               \
    {                                                                                              \
        "help", NULL, "print this help and exit"                                                   \
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

/* Parse argv[1..] into vals (indexed like cmd->opts; a flag gets "" when given).
 * Returns 0, 1 for --help (printed), or -1 after printing the problem. */
static int cmd_parse(const struct ops_cmd *cmd, int argc, char **argv, char **vals)
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
            vals[k] = (char *)"";
            continue;
        }
        if (eq)
            vals[k] = (char *)eq + 1;
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

/* The store's directory and map sizes from --data and --config (vals[0], vals[1]).
 * Returns 0, or -1 after printing why. */
static int cmd_store_config(const struct ops_cmd *cmd, char **vals, struct config *cfg)
{
    char err[1024];

    config_defaults(cfg);
    if (vals[1] && config_load_file(cfg, vals[1], err, sizeof err) != WM_OK) {
        fprintf(stderr, "werkmonitord %s: %s\n", cmd->name, err);
        return -1;
    }
    if (vals[0]) {
        if (strlen(vals[0]) >= sizeof cfg->data_dir) {
            fprintf(stderr, "werkmonitord %s: --data: path too long\n", cmd->name);
            return -1;
        }
        snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s", vals[0]);
    } else if (!vals[1]) {
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
    {"max-report", "N", "print at most N differences (default 100; 0: all); all are counted"},
    OPS_OPT_HELP,
    {NULL, NULL, NULL},
};

static int run_verify(const struct ops_cmd *cmd, char **vals)
{
    struct config cfg;
    struct store *s;
    uint64_t max = 100;
    int status;

    if (cmd_store_config(cmd, vals, &cfg) != 0)
        return OPS_EXIT_USAGE;
    if (vals[2] && proto_parse_uint(vals[2], strlen(vals[2]), UINT64_MAX, &max) != WM_OK) {
        fprintf(stderr, "werkmonitord verify: --max-report: not a number: '%.32s'\n", vals[2]);
        return OPS_EXIT_USAGE;
    }
    s = cmd_open_readonly(cmd, &cfg);
    if (!s)
        return OPS_EXIT_FAIL;
    status = verify_store(cmd->name, s, cfg.data_dir, max);
    store_close(s);
    return status;
}

/* ---- backup ---------------------------------------------------------------------------- */

static const struct ops_opt backup_opts[] = {
    OPS_OPT_STORE,
    {"to", "DIR", "the new (or empty) directory the copy goes to"},
    {"verify", NULL, "verify the copy afterwards, as werkmonitord verify does"},
    OPS_OPT_HELP,
    {NULL, NULL, NULL},
};

static int run_backup(const struct ops_cmd *cmd, char **vals)
{
    struct store_backup_info info;
    struct timespec t0;
    struct config cfg;
    struct store *s;
    char err[1024];
    int ret, status = OPS_EXIT_OK;

    if (cmd_store_config(cmd, vals, &cfg) != 0)
        return OPS_EXIT_USAGE;
    if (!vals[2]) {
        fprintf(stderr, "werkmonitord backup: give the copy's directory with --to DIR\n");
        return OPS_EXIT_USAGE;
    }
    s = cmd_open_readonly(cmd, &cfg);
    if (!s)
        return OPS_EXIT_FAIL;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ret = store_backup(s, vals[2], &info, err, sizeof err);
    store_close(s);
    if (ret != WM_OK) {
        fprintf(stderr, "werkmonitord backup: %s\n", err);
        return OPS_EXIT_FAIL;
    }
    printf("backup: %s -> %s: through seq %llu (%llu events), %llu bytes, %.0f ms\n", cfg.data_dir,
           vals[2], (unsigned long long)info.last_seq, (unsigned long long)info.events,
           (unsigned long long)info.bytes, ms_since(&t0));
    if (vals[3]) {
        snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", vals[2]);
        s = cmd_open_readonly(cmd, &cfg);
        if (!s)
            return OPS_EXIT_FAIL;
        status = verify_store(cmd->name, s, vals[2], 100);
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

static const struct ops_opt export_opts[] = {
    OPS_OPT_STORE,
    {"format", "ndjson|csv",
     "ndjson (default): every event, retraction, note and registry entry, with principal and "
     "seq, for restore; csv: the live events as one table"},
    {"with-pseudonyms", NULL, "csv: add the person column (pseudonyms: personal data)"},
    {"output", "FILE", "write to FILE instead of standard output"},
    {"schema", "postgresql|clickhouse",
     "print the SQL that creates the CSV's table and the statement that loads the CSV, and exit "
     "(needs no store)"},
    {"table", "NAME", "the table's name in that SQL (default werkmonitor_events)"},
    OPS_OPT_HELP,
    {NULL, NULL, NULL},
};

static int run_export(const struct ops_cmd *cmd, char **vals)
{
    struct ops_export_options o;
    struct ops_export_result res;
    struct config cfg;
    struct store *s;
    FILE *out = stdout;
    char err[1024];
    int ret;

    memset(&o, 0, sizeof o);
    o.with_pseudonyms = vals[3] != NULL;
    o.table = vals[6] ? vals[6] : "werkmonitor_events";
    if (!sql_name_valid(o.table)) {
        fprintf(stderr, "werkmonitord export: --table: want [a-z0-9_], got '%.64s'\n", o.table);
        return OPS_EXIT_USAGE;
    }
    if (vals[2] && strcmp(vals[2], "csv") == 0)
        o.format = OPS_FORMAT_CSV;
    else if (vals[2] && strcmp(vals[2], "ndjson") != 0) {
        fprintf(stderr, "werkmonitord export: --format: want ndjson or csv, got '%.32s'\n",
                vals[2]);
        return OPS_EXIT_USAGE;
    }
    if (o.with_pseudonyms && o.format != OPS_FORMAT_CSV && !vals[5]) {
        fprintf(stderr, "werkmonitord export: --with-pseudonyms is for --format csv (NDJSON "
                        "always holds them)\n");
        return OPS_EXIT_USAGE;
    }
    if (vals[5]) {
        if (ops_print_schema(vals[5], &o, stdout, err, sizeof err) != WM_OK) {
            fprintf(stderr, "werkmonitord export: --schema: %s\n", err);
            return OPS_EXIT_USAGE;
        }
        return fflush(stdout) == 0 ? OPS_EXIT_OK : OPS_EXIT_FAIL;
    }
    if (cmd_store_config(cmd, vals, &cfg) != 0)
        return OPS_EXIT_USAGE;
    s = cmd_open_readonly(cmd, &cfg);
    if (!s)
        return OPS_EXIT_FAIL;
    if (vals[4] && !(out = fopen(vals[4], "w"))) {
        fprintf(stderr, "werkmonitord export: cannot write %s: %s\n", vals[4], strerror(errno));
        store_close(s);
        return OPS_EXIT_FAIL;
    }
    ret = ops_export(s, &o, out, &res, err, sizeof err);
    store_close(s);
    if (out != stdout && fclose(out) != 0 && ret == WM_OK) {
        proto_errf(err, sizeof err, "cannot write %s: %s", vals[4], strerror(errno));
        ret = WM_EIO;
    }
    if (ret != WM_OK) {
        fprintf(stderr, "werkmonitord export: %s\n", err);
        if (vals[4])
            remove(vals[4]); /* half an export must not pass for one */
        return OPS_EXIT_FAIL;
    }
    fprintf(stderr,
            "export: %s: %s through seq %llu: %llu events, %llu retractions, %llu notes, %llu "
            "lines\n",
            cfg.data_dir, o.format == OPS_FORMAT_CSV ? "csv" : "ndjson",
            (unsigned long long)res.last_seq, (unsigned long long)res.events,
            (unsigned long long)res.retractions, (unsigned long long)res.notes,
            (unsigned long long)res.lines);
    return OPS_EXIT_OK;
}

/* ---- restore ------------------------------------------------------------------------------ */

static const struct ops_opt restore_opts[] = {
    OPS_OPT_STORE,
    {"input", "FILE", "read the NDJSON export from FILE instead of standard input"},
    OPS_OPT_HELP,
    {NULL, NULL, NULL},
};

static int run_restore(const struct ops_cmd *cmd, char **vals)
{
    struct ops_restore_result res;
    struct timespec t0;
    struct config cfg;
    FILE *in = stdin;
    char err[1024];
    int ret;

    if (cmd_store_config(cmd, vals, &cfg) != 0)
        return OPS_EXIT_USAGE;
    if (vals[2] && !(in = fopen(vals[2], "r"))) {
        fprintf(stderr, "werkmonitord restore: cannot read %s: %s\n", vals[2], strerror(errno));
        return OPS_EXIT_FAIL;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ret = ops_restore(cfg.data_dir, in, vals[2] ? vals[2] : "stdin", cfg.map_size, cfg.map_max,
                      &res, err, sizeof err);
    if (in != stdin)
        fclose(in);
    if (ret != WM_OK) {
        fprintf(stderr, "werkmonitord restore: %s\n", err);
        return OPS_EXIT_FAIL;
    }
    printf("restore: %s: through seq %llu: %llu events, %llu retractions, %llu projects, %llu "
           "gemeenten, %llu notes in %.0f ms\n",
           cfg.data_dir, (unsigned long long)res.last_seq, (unsigned long long)res.events,
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
     run_backup},
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
     run_verify},
    {"export", "(--data DIR | --config FILE) [--format ndjson|csv] [OPTION]...",
     "Write the store as NDJSON (every event, retraction, note and registry entry with its "
     "principal and seq: what restore reads) or as CSV (the live events as one table, for "
     "PostgreSQL, "
     "ClickHouse or a spreadsheet; the columns are in the README). One consistent snapshot, "
     "taken while the daemon runs. The NDJSON holds pseudonyms; the CSV only with "
     "--with-pseudonyms.",
     export_opts, "Exit status: 0 written, 1 failed, 2 usage error.", run_export},
    {"restore", "(--data NEWDIR | --config FILE) [--input FILE]",
     "Build a new store in NEWDIR from an NDJSON export (standard input by default): the same "
     "seqs, principals, ids, receive times and registry, so it answers every query as the "
     "exported store did. Every line is validated as the protocol validates a request. This is "
     "also the way across store format versions.",
     restore_opts,
     "Exit status: 0 restored, 1 failed (the half-built store is removed), 2 usage error.",
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
        char *vals[16] = {0};
        int rc;
        if (strcmp(argv[0], cmd->name) != 0)
            continue;
        rc = cmd_parse(cmd, argc, argv, vals);
        if (rc != 0)
            return rc > 0 ? OPS_EXIT_OK : OPS_EXIT_USAGE;
        return cmd->run(cmd, vals);
    }
    fprintf(stderr, "werkmonitord: unknown command '%.64s'\n", argv[0]);
    return OPS_EXIT_USAGE;
}
