/*
 * Command-line parsing for werkmonitor: a command's own options, the global options
 * (accepted before the command and anywhere after it), and the environment.
 * A small parser of our own because every command mixes options and key=value words.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"

static const struct cli_optdef global_defs[] = {
    {"host", 0, 1, CLI_GOPT_HOST},       {"port", 0, 1, CLI_GOPT_PORT},
    {"token", 0, 1, CLI_GOPT_TOKEN},     {"token-file", 0, 1, CLI_GOPT_TOKEN_FILE},
    {"tls", 0, 0, CLI_GOPT_TLS},         {"ca", 0, 1, CLI_GOPT_CA},
    {"timeout", 0, 1, CLI_GOPT_TIMEOUT},
};

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fputs("werkmonitor", stderr);
    if (cmd != NULL)
        fprintf(stderr, " %s", cmd);
    fputs(": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'werkmonitor %s%s--help' for more information.\n",
            cmd != NULL ? cmd : "", cmd != NULL ? " " : "");
    return CLI_EXIT_USAGE;
}

/* Apply a global option to cfg. Returns WM_OK or WM_ECONFIG (reported). */
static int apply_global(struct cli_config *cfg, const char *cmd, int id, const char *v)
{
    char *end;
    double secs;

    switch (id) {
    case CLI_GOPT_HOST:
        cfg->host = v;
        break;
    case CLI_GOPT_PORT:
        cfg->port = v;
        break;
    case CLI_GOPT_TOKEN:
        cfg->token_opt = v;
        break;
    case CLI_GOPT_TOKEN_FILE:
        cfg->token_file = v;
        break;
    case CLI_GOPT_TLS:
        cfg->tls = 1;
        break;
    case CLI_GOPT_CA:
        cfg->ca = v;
        break;
    case CLI_GOPT_TIMEOUT:
        errno = 0;
        secs = strtod(v, &end);
        if (errno != 0 || end == v || *end != '\0' || secs < 0 || secs > 86400) {
            cli_usage_error(cmd, "--timeout wants seconds (0-86400, 0 = none), not '%s'", v);
            return WM_ECONFIG;
        }
        cfg->timeout_ms = (int)(secs * 1000);
        break;
    default:
        return WM_ECONFIG;
    }
    return WM_OK;
}

/* Find an option by long name (n bytes) or by short letter (name NULL). */
static const struct cli_optdef *find_def(const struct cli_optdef *defs, size_t ndefs,
                                         const char *name, size_t n, char letter)
{
    for (size_t i = 0; i < ndefs; i++) {
        if (name != NULL) {
            if (strlen(defs[i].name) == n && memcmp(defs[i].name, name, n) == 0)
                return &defs[i];
        } else if (defs[i].short_name != 0 && defs[i].short_name == letter) {
            return &defs[i];
        }
    }
    return NULL;
}

static int push_opt(struct cli_args *a, int id, const char *value)
{
    struct cli_opt *n = realloc(a->opts, (a->nopts + 1) * sizeof(*n));

    if (n == NULL)
        return WM_ENOMEM;
    a->opts = n;
    a->opts[a->nopts].id = id;
    a->opts[a->nopts].value = value;
    a->nopts++;
    return WM_OK;
}

/*
 * The definition of option word arg ("--name", "--name=value", "-c", "-c8"), or NULL.
 * *value is set when the word carries its value; shown is the option as named in
 * messages.
 */
static const struct cli_optdef *lookup_option(const char *arg, const struct cli_optdef *defs,
                                              size_t ndefs, const char **value, char shown[80])
{
    const struct cli_optdef *d;

    *value = NULL;
    if (arg[1] == '-') {
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t n = eq != NULL ? (size_t)(eq - name) : strlen(name);

        d = find_def(defs, ndefs, name, n, 0);
        if (d == NULL)
            d = find_def(global_defs, sizeof(global_defs) / sizeof(global_defs[0]), name, n, 0);
        snprintf(shown, 80, "--%.*s", (int)(n > 60 ? 60 : n), name);
        if (eq != NULL)
            *value = eq + 1;
        return d;
    }
    if (arg[2] != '\0')
        *value = arg + 2; /* -c8 style: the letter's value follows at once */
    snprintf(shown, 80, "-%c", arg[1]);
    return find_def(defs, ndefs, NULL, 0, arg[1]);
}

int cli_args_parse(struct cli_args *a, const char *cmd, int argc, char **argv,
                   const struct cli_optdef *defs, size_t ndefs, struct cli_config *cfg)
{
    int only_pos = 0;
    int rc = WM_OK;

    memset(a, 0, sizeof(*a));
    a->pos = calloc((size_t)argc + 1, sizeof(*a->pos));
    if (a->pos == NULL)
        return WM_ENOMEM;
    for (int i = 0; i < argc && rc == WM_OK; i++) {
        const char *arg = argv[i];
        const struct cli_optdef *d;
        const char *value;
        char shown[80];

        if (only_pos || arg[0] != '-' || arg[1] == '\0') {
            a->pos[a->npos++] = arg; /* "-" alone is a positional (stdin) */
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            a->help = 1;
            continue;
        }
        d = lookup_option(arg, defs, ndefs, &value, shown);
        if (d == NULL) {
            cli_usage_error(cmd, "unknown option '%s'", shown);
            rc = WM_ECONFIG;
        } else if (d->has_arg && value == NULL && i + 1 >= argc) {
            cli_usage_error(cmd, "option '%s' needs a value", shown);
            rc = WM_ECONFIG;
        } else if (!d->has_arg && value != NULL) {
            cli_usage_error(cmd, "option '%s' takes no value", shown);
            rc = WM_ECONFIG;
        } else {
            if (d->has_arg && value == NULL)
                value = argv[++i];
            if (d->id >= CLI_GOPT_HOST && d->id <= CLI_GOPT_TIMEOUT)
                rc = apply_global(cfg, cmd, d->id, value);
            else
                rc = push_opt(a, d->id, value);
        }
    }
    if (rc != WM_OK)
        cli_args_free(a);
    return rc;
}

void cli_args_free(struct cli_args *a)
{
    free(a->opts);
    free(a->pos);
    memset(a, 0, sizeof(*a));
}

int cli_args_begin(struct cli_args *a, const char *cmd, int argc, char **argv,
                   const struct cli_optdef *defs, size_t ndefs, struct cli_config *cfg,
                   const char *help)
{
    if (cli_args_parse(a, cmd, argc, argv, defs, ndefs, cfg) != WM_OK)
        return CLI_EXIT_USAGE;
    if (a->help) {
        fputs(help, stdout);
        cli_args_free(a);
        return CLI_EXIT_OK;
    }
    return -1;
}

/* Read the first line of a token file, trimmed of surrounding white space. */
static int read_token_file(const char *path, char **out)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    size_t n;
    char *s;

    if (f == NULL) {
        fprintf(stderr, "werkmonitor: cannot read token file %s: %s\n", path, strerror(errno));
        return WM_ECONFIG;
    }
    if (fgets(line, sizeof(line), f) == NULL)
        line[0] = '\0';
    fclose(f);
    s = line;
    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0) {
        fprintf(stderr, "werkmonitor: token file %s is empty\n", path);
        return WM_ECONFIG;
    }
    *out = strndup(s, n);
    return *out != NULL ? WM_OK : WM_ENOMEM;
}

int cli_config_finish(struct cli_config *cfg)
{
    const char *env;
    char *end;
    long port;

    if (cfg->host == NULL) {
        env = getenv("WERKMONITOR_HOST");
        cfg->host = env != NULL && *env != '\0' ? env : "127.0.0.1";
    }
    if (cfg->port == NULL) {
        env = getenv("WERKMONITOR_PORT");
        cfg->port = env != NULL && *env != '\0' ? env : "7878";
    }
    errno = 0;
    port = strtol(cfg->port, &end, 10);
    if (errno != 0 || end == cfg->port || *end != '\0' || port < 1 || port > 65535) {
        cli_usage_error(NULL, "port must be a number from 1 to 65535, not '%s'", cfg->port);
        return WM_ECONFIG;
    }
    free(cfg->token);
    cfg->token = NULL;
    if (cfg->token_opt != NULL) {
        cfg->token = strdup(cfg->token_opt);
        if (cfg->token == NULL)
            return WM_ENOMEM;
    } else if (cfg->token_file != NULL) {
        int rc = read_token_file(cfg->token_file, &cfg->token);

        if (rc != WM_OK)
            return rc;
    } else {
        env = getenv("WERKMONITOR_TOKEN");
        if (env != NULL && *env != '\0') {
            cfg->token = strdup(env);
            if (cfg->token == NULL)
                return WM_ENOMEM;
        }
    }
    cfg->stdout_tty = isatty(STDOUT_FILENO);
    cfg->stderr_tty = isatty(STDERR_FILENO);
    env = getenv("NO_COLOR");
    cfg->color = cfg->stdout_tty && (env == NULL || *env == '\0');
    if (cfg->ca != NULL && !cfg->tls) {
        cli_usage_error(NULL, "--ca only makes sense with --tls");
        return WM_ECONFIG;
    }
    return WM_OK;
}
