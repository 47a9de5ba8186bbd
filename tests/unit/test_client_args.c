/*
 * Unit tests of the client's command-line parsing (args.c): a command's own options in
 * every form, the global options anywhere, "--", -h/--help, each usage error with its
 * message, and cli_config_finish's environment, defaults, port and token sources.
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

#include "client.h"

enum { OPT_WINDOW = 1, OPT_FORMAT, OPT_QUIET };

static const struct cli_optdef defs[] = {
    {"window", 'w', 1, OPT_WINDOW},
    {"format", 0, 1, OPT_FORMAT},
    {"quiet", 'q', 0, OPT_QUIET},
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

/* What a file descriptor (1 or 2) received between capture_begin and capture_end. */
static char captured[4096];
static FILE *cap_file;
static int cap_saved = -1, cap_fd;

static void capture_begin(int fd)
{
    fflush(fd == 1 ? stdout : stderr);
    cap_file = tmpfile();
    assert_non_null(cap_file);
    cap_fd = fd;
    cap_saved = dup(fd);
    assert_true(cap_saved >= 0);
    assert_true(dup2(fileno(cap_file), fd) >= 0);
}

static const char *capture_end(void)
{
    size_t n;

    fflush(cap_fd == 1 ? stdout : stderr);
    assert_true(dup2(cap_saved, cap_fd) >= 0);
    close(cap_saved);
    rewind(cap_file);
    n = fread(captured, 1, sizeof(captured) - 1, cap_file);
    captured[n] = '\0';
    fclose(cap_file);
    return captured;
}

/* cli_args_parse of the NULL-terminated words as command "send"; what it wrote to
 * stderr is in captured. */
static int parse(struct cli_args *a, struct cli_config *cfg, ...)
{
    char *argv[32];
    int argc = 0, rc;
    va_list ap;
    char *w;

    va_start(ap, cfg);
    while ((w = va_arg(ap, char *)) != NULL && argc < 31)
        argv[argc++] = w;
    va_end(ap);
    argv[argc] = NULL;
    capture_begin(2);
    rc = cli_args_parse(a, "send", argc, argv, defs, NDEFS, cfg);
    capture_end();
    return rc;
}

/* Assert that the words are a usage error of "send" saying problem. */
#define assert_usage_error(problem, ...)                                                           \
    do {                                                                                           \
        struct cli_args a_;                                                                        \
        struct cli_config c_;                                                                      \
        memset(&c_, 0, sizeof(c_));                                                                \
        assert_int_equal(parse(&a_, &c_, __VA_ARGS__, (char *)NULL), WM_ECONFIG);                  \
        assert_string_equal(captured, "werkmonitor send: " problem                                 \
                                      "\nTry 'werkmonitor send --help' for more information.\n");  \
        assert_null(a_.opts);                                                                      \
        assert_null(a_.pos);                                                                       \
    } while (0)

static void test_own_options_every_form(void **state)
{
    struct cli_args a;
    struct cli_config cfg;

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(parse(&a, &cfg, "file.csv", "--window", "500", "-w8", "more", "-w", "9",
                           "--format=csv", "-q", "--quiet", "-", "--", "-x", "--window", "--help",
                           (char *)NULL),
                     WM_OK);
    assert_string_equal(captured, "");
    assert_int_equal(a.nopts, 6);
    assert_int_equal(a.opts[0].id, OPT_WINDOW);
    assert_string_equal(a.opts[0].value, "500");
    assert_string_equal(a.opts[1].value, "8");
    assert_string_equal(a.opts[2].value, "9");
    assert_int_equal(a.opts[3].id, OPT_FORMAT);
    assert_string_equal(a.opts[3].value, "csv");
    assert_int_equal(a.opts[4].id, OPT_QUIET);
    assert_null(a.opts[4].value);
    assert_int_equal(a.opts[5].id, OPT_QUIET);
    /* positionals in order: "-" is one (stdin), and after "--" everything is */
    assert_int_equal(a.npos, 6);
    assert_string_equal(a.pos[0], "file.csv");
    assert_string_equal(a.pos[1], "more");
    assert_string_equal(a.pos[2], "-");
    assert_string_equal(a.pos[3], "-x");
    assert_string_equal(a.pos[4], "--window");
    assert_string_equal(a.pos[5], "--help");
    assert_int_equal(a.help, 0);
    cli_args_free(&a);
    assert_null(a.opts);

    /* an option's value may look like an option; key=value words are positional */
    assert_int_equal(parse(&a, &cfg, "--format", "--quiet", "by=project", "-h", (char *)NULL),
                     WM_OK);
    assert_int_equal(a.nopts, 1);
    assert_string_equal(a.opts[0].value, "--quiet");
    assert_int_equal(a.npos, 1);
    assert_string_equal(a.pos[0], "by=project");
    assert_int_equal(a.help, 1);
    cli_args_free(&a);

    assert_int_equal(parse(&a, &cfg, "--help", (char *)NULL), WM_OK);
    assert_int_equal(a.help, 1);
    assert_int_equal(a.npos, 0);
    cli_args_free(&a);
    assert_int_equal(parse(&a, &cfg, (char *)NULL), WM_OK);
    assert_int_equal(a.nopts + a.npos, 0);
    cli_args_free(&a);
}

static void test_global_options_anywhere(void **state)
{
    struct cli_args a;
    struct cli_config cfg;

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(parse(&a, &cfg, "started", "--host", "db.example", "id=1", "--port=7000",
                           "--token", "tok", "--token-file", "/t", "--tls", "--ca", "/ca.pem",
                           "--timeout", "2.5", (char *)NULL),
                     WM_OK);
    assert_string_equal(cfg.host, "db.example");
    assert_string_equal(cfg.port, "7000");
    assert_string_equal(cfg.token_opt, "tok");
    assert_string_equal(cfg.token_file, "/t");
    assert_int_equal(cfg.tls, 1);
    assert_string_equal(cfg.ca, "/ca.pem");
    assert_int_equal(cfg.timeout_ms, 2500);
    /* applied to cfg, not handed to the command */
    assert_int_equal(a.nopts, 0);
    assert_int_equal(a.npos, 2);
    assert_string_equal(a.pos[1], "id=1");
    cli_args_free(&a);

    assert_int_equal(parse(&a, &cfg, "--timeout=0", "--host=h2", (char *)NULL), WM_OK);
    assert_int_equal(cfg.timeout_ms, 0);
    assert_string_equal(cfg.host, "h2");
    cli_args_free(&a);
    assert_int_equal(parse(&a, &cfg, "--timeout", "86400", (char *)NULL), WM_OK);
    assert_int_equal(cfg.timeout_ms, 86400000);
    cli_args_free(&a);
}

static void test_usage_errors(void **state)
{
    char longname[80];

    (void)state;
    assert_usage_error("unknown option '--nope'", "x", "--nope");
    assert_usage_error("unknown option '--nope'", "--nope=1");
    assert_usage_error("unknown option '-z'", "-z");
    assert_usage_error("unknown option '-z'", "-z5");
    /* global options have no short names, and only long forms exist for them */
    assert_usage_error("unknown option '--Host'", "--Host", "h");
    assert_usage_error("option '--window' needs a value", "a", "--window");
    assert_usage_error("option '-w' needs a value", "-w");
    assert_usage_error("option '--host' needs a value", "--host");
    assert_usage_error("option '--quiet' takes no value", "--quiet=1");
    assert_usage_error("option '-q' takes no value", "-qq");
    assert_usage_error("option '--tls' takes no value", "--tls=yes");
    assert_usage_error("--timeout wants seconds (0-86400, 0 = none), not 'x'", "--timeout", "x");
    assert_usage_error("--timeout wants seconds (0-86400, 0 = none), not '-1'", "--timeout", "-1");
    assert_usage_error("--timeout wants seconds (0-86400, 0 = none), not '86401'", "--timeout",
                       "86401");
    assert_usage_error("--timeout wants seconds (0-86400, 0 = none), not '5s'", "--timeout=5s");
    assert_usage_error("--timeout wants seconds (0-86400, 0 = none), not ''", "--timeout=");
    /* a long unknown name is shortened in the message */
    memset(longname, 'n', sizeof(longname));
    memcpy(longname, "--", 2);
    longname[sizeof(longname) - 1] = '\0';
    {
        struct cli_args a;
        struct cli_config c;
        char want[120];
        memset(&c, 0, sizeof(c));
        assert_int_equal(parse(&a, &c, longname, (char *)NULL), WM_ECONFIG);
        snprintf(want, sizeof(want), "unknown option '--%.60s'\n", longname + 2);
        assert_non_null(strstr(captured, want));
    }
}

static void test_usage_error_text(void **state)
{
    (void)state;
    capture_begin(2);
    assert_int_equal(cli_usage_error(NULL, "bad %s %d", "thing", 7), CLI_EXIT_USAGE);
    assert_string_equal(capture_end(), "werkmonitor: bad thing 7\n"
                                       "Try 'werkmonitor --help' for more information.\n");
    capture_begin(2);
    assert_int_equal(cli_usage_error("count", "no type"), CLI_EXIT_USAGE);
    assert_string_equal(capture_end(), "werkmonitor count: no type\n"
                                       "Try 'werkmonitor count --help' for more information.\n");
}

static void test_args_begin(void **state)
{
    struct cli_args a;
    struct cli_config cfg;
    char *help_argv[] = {(char *)"x", (char *)"-h", NULL};
    char *bad_argv[] = {(char *)"--nope", NULL};
    char *ok_argv[] = {(char *)"x", (char *)"-q", NULL};

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    capture_begin(1);
    assert_int_equal(cli_args_begin(&a, "send", 2, help_argv, defs, NDEFS, &cfg, "Usage: send\n"),
                     CLI_EXIT_OK);
    assert_string_equal(capture_end(), "Usage: send\n");
    assert_null(a.pos);
    capture_begin(2);
    assert_int_equal(cli_args_begin(&a, "send", 1, bad_argv, defs, NDEFS, &cfg, "Usage: send\n"),
                     CLI_EXIT_USAGE);
    assert_non_null(strstr(capture_end(), "unknown option '--nope'"));
    assert_int_equal(cli_args_begin(&a, "send", 2, ok_argv, defs, NDEFS, &cfg, "Usage: send\n"),
                     -1);
    assert_int_equal(a.npos, 1);
    assert_int_equal(a.nopts, 1);
    cli_args_free(&a);
}

/* A file holding text; its name in path. */
static void write_file(char *path, size_t pathlen, const char *text)
{
    const char *dir = getenv("TMPDIR");
    size_t n = strlen(text);
    int fd;

    snprintf(path, pathlen, "%s/wm-unit-token-XXXXXX", dir && *dir ? dir : "/tmp");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    assert_int_equal(close(fd), 0);
}

static void clear_env(void)
{
    unsetenv("WERKMONITOR_HOST");
    unsetenv("WERKMONITOR_PORT");
    unsetenv("WERKMONITOR_TOKEN");
}

/* cli_config_finish, its complaints in captured. */
static int finish(struct cli_config *cfg)
{
    int rc;

    capture_begin(2);
    rc = cli_config_finish(cfg);
    capture_end();
    return rc;
}

static void test_config_defaults_and_environment(void **state)
{
    struct cli_config cfg;

    (void)state;
    clear_env();
    setenv("NO_COLOR", "1", 1);
    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(finish(&cfg), WM_OK);
    assert_string_equal(cfg.host, "127.0.0.1");
    assert_string_equal(cfg.port, "7878");
    assert_null(cfg.token);
    assert_int_equal(cfg.color, 0);

    setenv("WERKMONITOR_HOST", "env-host", 1);
    setenv("WERKMONITOR_PORT", "7001", 1);
    setenv("WERKMONITOR_TOKEN", "env-token", 1);
    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(finish(&cfg), WM_OK);
    assert_string_equal(cfg.host, "env-host");
    assert_string_equal(cfg.port, "7001");
    assert_string_equal(cfg.token, "env-token");
    free(cfg.token);

    /* the command line wins over the environment */
    memset(&cfg, 0, sizeof(cfg));
    cfg.host = "flag-host";
    cfg.port = "7002";
    cfg.token_opt = "flag-token";
    assert_int_equal(finish(&cfg), WM_OK);
    assert_string_equal(cfg.host, "flag-host");
    assert_string_equal(cfg.port, "7002");
    assert_string_equal(cfg.token, "flag-token");
    free(cfg.token);

    /* an empty variable counts as unset */
    setenv("WERKMONITOR_HOST", "", 1);
    setenv("WERKMONITOR_PORT", "", 1);
    setenv("WERKMONITOR_TOKEN", "", 1);
    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(finish(&cfg), WM_OK);
    assert_string_equal(cfg.host, "127.0.0.1");
    assert_string_equal(cfg.port, "7878");
    assert_null(cfg.token);
    clear_env();
}

static void test_config_port(void **state)
{
    static const char *const bad[] = {"0", "65536", "x", "80x", "", "-1", "99999999999999999999"};
    struct cli_config cfg;
    char want[200];

    (void)state;
    clear_env();
    memset(&cfg, 0, sizeof(cfg));
    cfg.port = "65535";
    assert_int_equal(finish(&cfg), WM_OK);
    cfg.port = "1";
    assert_int_equal(finish(&cfg), WM_OK);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&cfg, 0, sizeof(cfg));
        cfg.port = bad[i];
        assert_int_equal(finish(&cfg), WM_ECONFIG);
        snprintf(want, sizeof(want),
                 "werkmonitor: port must be a number from 1 to 65535, not '%s'\n"
                 "Try 'werkmonitor --help' for more information.\n",
                 bad[i]);
        assert_string_equal(captured, want);
    }
    setenv("WERKMONITOR_PORT", "http", 1);
    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(finish(&cfg), WM_ECONFIG);
    assert_non_null(strstr(captured, "not 'http'"));
    clear_env();
}

static void test_config_token_sources(void **state)
{
    struct cli_config cfg;
    char path[4096], want[4200];

    (void)state;
    clear_env();
    setenv("WERKMONITOR_TOKEN", "env-token", 1);
    /* the first line of the file, trimmed; the file wins over the environment */
    write_file(path, sizeof(path), " \tfile-token \r\nsecond line\n");
    memset(&cfg, 0, sizeof(cfg));
    cfg.token_file = path;
    assert_int_equal(finish(&cfg), WM_OK);
    assert_string_equal(cfg.token, "file-token");
    /* --token wins over --token-file */
    cfg.token_opt = "flag-token";
    assert_int_equal(finish(&cfg), WM_OK);
    assert_string_equal(cfg.token, "flag-token");
    free(cfg.token);
    assert_int_equal(unlink(path), 0);

    write_file(path, sizeof(path), "  \n");
    memset(&cfg, 0, sizeof(cfg));
    cfg.token_file = path;
    assert_int_equal(finish(&cfg), WM_ECONFIG);
    snprintf(want, sizeof(want), "werkmonitor: token file %s is empty\n", path);
    assert_string_equal(captured, want);
    assert_int_equal(unlink(path), 0);
    write_file(path, sizeof(path), "");
    assert_int_equal(finish(&cfg), WM_ECONFIG);
    snprintf(want, sizeof(want), "werkmonitor: token file %s is empty\n", path);
    assert_string_equal(captured, want);
    assert_int_equal(unlink(path), 0);

    cfg.token_file = "/nonexistent/dir/token";
    assert_int_equal(finish(&cfg), WM_ECONFIG);
    assert_string_equal(captured, "werkmonitor: cannot read token file /nonexistent/dir/token: No "
                                  "such file or directory\n");
    clear_env();
}

static void test_config_ca_needs_tls(void **state)
{
    struct cli_config cfg;

    (void)state;
    clear_env();
    memset(&cfg, 0, sizeof(cfg));
    cfg.ca = "/ca.pem";
    assert_int_equal(finish(&cfg), WM_ECONFIG);
    assert_string_equal(captured, "werkmonitor: --ca only makes sense with --tls\n"
                                  "Try 'werkmonitor --help' for more information.\n");
    cfg.tls = 1;
    assert_int_equal(finish(&cfg), WM_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_options_every_form),
        cmocka_unit_test(test_global_options_anywhere),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_usage_error_text),
        cmocka_unit_test(test_args_begin),
        cmocka_unit_test(test_config_defaults_and_environment),
        cmocka_unit_test(test_config_port),
        cmocka_unit_test(test_config_token_sources),
        cmocka_unit_test(test_config_ca_needs_tls),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
