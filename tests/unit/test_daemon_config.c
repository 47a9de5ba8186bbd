/*
 * Unit tests of werkmonitord's configuration (daemon/config.c): the defaults, every flag
 * and config file key with its domain, flags over the file, --help and --version, and
 * what --check-config relies on (the printed configuration reads back as the same
 * settings; open mode's loopback test of the listeners).
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

#include "config.h"
#include "store.h"
#include "daemon.h"
#include "log.h"

#define MAX_ARGS 40

static char err[1024];

/* config_from_args over "werkmonitord" and the NULL-terminated arguments; --help and
 * --version text goes to out (may be NULL when the call prints nothing). */
static int from_args_out(struct config *cfg, FILE *out, ...)
{
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    va_list ap;
    const char *a;

    argv[argc++] = (char *)"werkmonitord";
    va_start(ap, out);
    while ((a = va_arg(ap, const char *)) != NULL && argc < MAX_ARGS)
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    err[0] = '\0';
    return config_from_args(cfg, argc, argv, out, err, sizeof(err));
}

#define from_args(cfg, ...) from_args_out(cfg, stdout, __VA_ARGS__, (const char *)NULL)

/* Assert that the arguments are refused and the message contains want. */
#define assert_refused(want, ...)                                                                  \
    do {                                                                                           \
        struct config c_;                                                                          \
        assert_int_equal(from_args(&c_, __VA_ARGS__), WM_ECONFIG);                                 \
        if (strstr(err, (want)) == NULL)                                                           \
            fail_msg("error '%s' does not contain '%s'", err, (want));                             \
    } while (0)

/* A temporary file holding text; its path is written to path (PATH_MAX bytes). */
static void write_tmp(char *path, size_t pathlen, const char *text)
{
    const char *dir = getenv("TMPDIR");
    int fd;
    size_t n = strlen(text);

    snprintf(path, pathlen, "%s/wm-unit-config-XXXXXX", dir && *dir ? dir : "/tmp");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    assert_int_equal(close(fd), 0);
}

static void assert_addr(const struct config_addr *a, const char *host, const char *port)
{
    assert_string_equal(a->host, host);
    assert_string_equal(a->port, port);
}

static void test_defaults(void **state)
{
    struct config c;
    size_t n = 0;

    (void)state;
    assert_int_equal(from_args(&c, NULL), CONFIG_RUN);
    assert_int_equal(c.n_listen, 1);
    assert_addr(&c.listen[0], "127.0.0.1", "7878");
    assert_int_equal(c.n_tls_listen, 0);
    assert_string_equal(c.data_dir, "./data");
    assert_string_equal(c.tokens_file, "");
    assert_string_equal(c.registry_file, "");
    assert_string_equal(c.config_file, "");
    assert_string_equal(c.audit_log, "stderr");
    assert_int_equal(c.map_size, (size_t)1 << 30);
    assert_int_equal(c.map_max, (size_t)64 << 30);
    assert_int_equal(c.checkpoint_every, STORE_CKPT_DEFAULT);
    assert_int_equal(c.max_line, 4096);
    assert_int_equal(c.max_connections, 1024);
    assert_int_equal(c.idle_timeout, 300);
    assert_int_equal(c.log_level, LOG_INFO);
    assert_int_equal(c.check_config, 0);
    while (proto_default_gemeenten[n] != NULL) {
        assert_string_equal(c.gemeenten[n], proto_default_gemeenten[n]);
        n++;
    }
    assert_int_equal(n, 8);
    assert_int_equal(c.n_gemeenten, n);
    assert_null(c.gemeenten[n]);
}

static void test_every_flag(void **state)
{
    struct config c;

    (void)state;
    assert_int_equal(from_args(&c, "--listen", "0.0.0.0:1,[::1]:2", "--tls-listen", "[::]:7879",
                               "--tls-cert", "/etc/wm/cert.pem", "--tls-key", "/etc/wm/key.pem",
                               "--data", "/var/lib/wm", "--tokens", "/etc/wm/tokens", "--registry",
                               "/etc/wm/region.wm", "--audit-log", "none", "--map-size", "64M",
                               "--map-max", "2G", "--checkpoint-every", "2000", "--max-line", "8K",
                               "--max-connections", "20", "--idle-timeout", "0", "--gemeenten",
                               "utrecht,zeist", "--log-level", "debug", "--check-config"),
                     CONFIG_RUN);
    assert_int_equal(c.n_listen, 2);
    assert_addr(&c.listen[0], "0.0.0.0", "1");
    assert_addr(&c.listen[1], "::1", "2");
    assert_int_equal(c.n_tls_listen, 1);
    assert_addr(&c.tls_listen[0], "::", "7879");
    assert_string_equal(c.tls_cert, "/etc/wm/cert.pem");
    assert_string_equal(c.tls_key, "/etc/wm/key.pem");
    assert_string_equal(c.data_dir, "/var/lib/wm");
    assert_string_equal(c.tokens_file, "/etc/wm/tokens");
    assert_string_equal(c.registry_file, "/etc/wm/region.wm");
    assert_string_equal(c.audit_log, "none");
    assert_int_equal(c.map_size, 64u << 20);
    assert_int_equal(c.map_max, (size_t)2 << 30);
    assert_int_equal(c.checkpoint_every, 2000);
    assert_int_equal(c.max_line, 8192);
    assert_int_equal(c.max_connections, 20);
    assert_int_equal(c.idle_timeout, 0);
    assert_int_equal(c.n_gemeenten, 2);
    assert_string_equal(c.gemeenten[0], "utrecht");
    assert_string_equal(c.gemeenten[1], "zeist");
    assert_null(c.gemeenten[2]);
    assert_int_equal(c.log_level, LOG_DEBUG);
    assert_int_equal(c.check_config, 1);
}

static void test_flag_forms(void **state)
{
    struct config c;

    (void)state;
    /* --key=value, --key value, and '_' for '-' in the name */
    assert_int_equal(from_args(&c, "--max-line=200", "--max_connections", "7", "--idle_timeout=9s"),
                     CONFIG_RUN);
    assert_int_equal(c.max_line, 200);
    assert_int_equal(c.max_connections, 7);
    assert_int_equal(c.idle_timeout, 9);
    /* a later flag wins */
    assert_int_equal(from_args(&c, "--max-line", "100", "--max-line", "300"), CONFIG_RUN);
    assert_int_equal(c.max_line, 300);
    /* listeners: the first --listen replaces the default, the next ones add */
    assert_int_equal(
        from_args(&c, "--listen", "127.0.0.2:1", "--listen", "127.0.0.3:2,127.0.0.4:3"),
        CONFIG_RUN);
    assert_int_equal(c.n_listen, 3);
    assert_addr(&c.listen[0], "127.0.0.2", "1");
    assert_addr(&c.listen[2], "127.0.0.4", "3");
    /* gemeenten: each setting replaces the list */
    assert_int_equal(from_args(&c, "--gemeenten", "a,b,c", "--gemeenten", "d"), CONFIG_RUN);
    assert_int_equal(c.n_gemeenten, 1);
    assert_string_equal(c.gemeenten[0], "d");
    assert_null(c.gemeenten[1]);
    /* the map never starts larger than it may grow */
    assert_int_equal(from_args(&c, "--map-size", "4G", "--map-max", "1G"), CONFIG_RUN);
    assert_int_equal(c.map_size, (size_t)4 << 30);
    assert_int_equal(c.map_max, (size_t)4 << 30);
}

static void test_sizes(void **state)
{
    static const struct {
        const char *text;
        size_t bytes;
    } ok[] = {
        {"64", 64},     {"512B", 512},    {"1K", 1024},       {"1k", 1024},       {"2KB", 2048},
        {"2kib", 2048}, {"1M", 1u << 20}, {"3MiB", 3u << 20}, {"16M", 16u << 20},
    };
    static const char *const bad[] = {"",     "K",   "1X", "1.5K", "1KK",
                                      "1KBB", "1 K", "-1", "1e3",  "0x40"};
    struct config c;

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(from_args(&c, "--max-line", ok[i].text), CONFIG_RUN);
        assert_int_equal(c.max_line, ok[i].bytes);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(from_args(&c, "--max-line", bad[i]), WM_ECONFIG);
        assert_non_null(strstr(err, "--max-line: bad size"));
    }
    assert_refused("--max-line: '63' is out of range (64 to 16777216)", "--max-line", "63");
    assert_refused("out of range", "--max-line", "16777217");
    assert_refused("--map-size: '1K' is out of range", "--map-size", "1K");
    assert_refused("--map-max: bad size '1T1'", "--map-max", "1T1");
    assert_refused("--checkpoint-every: '10' is neither 'close', 'off' nor a number",
                   "--checkpoint-every", "10");
    assert_refused("--checkpoint-every: 'never' is neither", "--checkpoint-every", "never");
    assert_int_equal(from_args(&c, "--checkpoint-every", "close"), CONFIG_RUN);
    assert_int_equal(c.checkpoint_every, STORE_CKPT_CLOSE);
    assert_int_equal(from_args(&c, "--checkpoint-every", "off"), CONFIG_RUN);
    assert_int_equal(c.checkpoint_every, STORE_CKPT_OFF);
    assert_refused("bad size", "--map-size", "99999999999999999999");
}

static void test_numbers(void **state)
{
    struct config c;

    (void)state;
    assert_int_equal(from_args(&c, "--max-connections", "1000000", "--idle-timeout", "31536000"),
                     CONFIG_RUN);
    assert_int_equal(c.max_connections, 1000000);
    assert_int_equal(c.idle_timeout, 31536000);
    assert_refused("--max-connections: '0' is not a number from 1 to 1000000", "--max-connections",
                   "0");
    assert_refused("--max-connections: '1000001' is not a number", "--max-connections", "1000001");
    assert_refused("--max-connections: 'many' is not a number", "--max-connections", "many");
    assert_refused("--idle-timeout: '31536001' is not a number from 0 to 31536000",
                   "--idle-timeout", "31536001");
    assert_refused("--idle-timeout: '-1' is not a number", "--idle-timeout", "-1");
    assert_refused("--idle-timeout: '5m' is not a number", "--idle-timeout", "5m");
    assert_refused("--idle-timeout: 's' is not a number", "--idle-timeout", "s");
}

static void test_addresses(void **state)
{
    struct config c;
    char text[300];

    (void)state;
    assert_int_equal(from_args(&c, "--listen", "localhost:65535,[fe80::1%eth0]:0"), CONFIG_RUN);
    assert_addr(&c.listen[0], "localhost", "65535");
    assert_addr(&c.listen[1], "fe80::1%eth0", "0");
    config_addr_format(&c.listen[0], text, sizeof(text));
    assert_string_equal(text, "localhost:65535");
    config_addr_format(&c.listen[1], text, sizeof(text));
    assert_string_equal(text, "[fe80::1%eth0]:0");
    assert_refused("--listen: bad address '127.0.0.1' (want HOST:PORT or [IPV6]:PORT)", "--listen",
                   "127.0.0.1");
    assert_refused("bad address '::1:7878'", "--listen", "::1:7878");
    assert_refused("bad address '[::1]7878'", "--listen", "[::1]7878");
    assert_refused("bad address '[::1]:'", "--listen", "[::1]:");
    assert_refused("bad address ':7878'", "--listen", ":7878");
    assert_refused("bad address 'h:65536'", "--listen", "h:65536");
    assert_refused("bad address 'h:http'", "--listen", "h:http");
    assert_refused("bad address 'a b:7878'", "--listen", "a b:7878"); /* fuzz: a host of tabs */
    assert_refused("bad address '[[1]:78'", "--listen",
                   "[[1]:78"); /* fuzz: a bracket in the host */
    assert_refused("bad address ''", "--tls-listen", "127.0.0.1:1,", "--tls-cert", "c", "--tls-key",
                   "k");
    assert_refused("--listen: at most 8 addresses", "--listen",
                   "h:1,h:2,h:3,h:4,h:5,h:6,h:7,h:8,h:9");
}

static void test_paths_gemeenten_levels(void **state)
{
    struct config c;
    char longpath[CONFIG_PATH_MAX + 1];

    (void)state;
    memset(longpath, 'p', CONFIG_PATH_MAX);
    longpath[CONFIG_PATH_MAX] = '\0';
    assert_refused("--data: data must be a path of 1-4095 bytes", "--data=");
    assert_refused("--tokens: tokens must be a path of 1-4095 bytes", "--tokens", longpath);
    longpath[CONFIG_PATH_MAX - 1] = '\0';
    assert_int_equal(from_args(&c, "--tokens", longpath), CONFIG_RUN);
    assert_int_equal(strlen(c.tokens_file), CONFIG_PATH_MAX - 1);

    assert_refused("--gemeenten: bad gemeente 'Utrecht' (want 1-64 of [a-z0-9-])", "--gemeenten",
                   "zeist,Utrecht");
    assert_refused("bad gemeente ''", "--gemeenten", "zeist,,utrecht");
    assert_refused("--gemeenten: gemeente 'zeist' given twice", "--gemeenten",
                   "zeist,utrecht,zeist");
    {
        char list[65 * 4];
        size_t n = 0;
        for (int i = 0; i < 65; i++)
            n += (size_t)snprintf(list + n, sizeof(list) - n, "%sg%d", i ? "," : "", i);
        assert_refused("--gemeenten: at most 64 gemeenten", "--gemeenten", list);
        list[strlen(list) - 4] = '\0'; /* drop ",g64" */
        assert_int_equal(from_args(&c, "--gemeenten", list), CONFIG_RUN);
        assert_int_equal(c.n_gemeenten, 64);
        assert_string_equal(c.gemeenten[63], "g63");
        assert_null(c.gemeenten[64]);
    }

    for (int l = LOG_DEBUG; l <= LOG_ERROR; l++) {
        assert_int_equal(from_args(&c, "--log-level", log_level_name((enum log_level)l)),
                         CONFIG_RUN);
        assert_int_equal(c.log_level, l);
    }
    assert_refused("--log-level: bad log level 'loud' (want debug, info, warn or error)",
                   "--log-level", "loud");
    assert_refused("bad log level 'INFO'", "--log-level", "INFO");
}

static void test_flag_errors(void **state)
{
    (void)state;
    assert_refused("unknown option '--lisen' (see --help)", "--lisen", "127.0.0.1:1");
    assert_refused("unknown option '--'", "--");
    assert_refused("unexpected argument 'start' (see --help)", "start");
    assert_refused("unexpected argument '-d'", "-d", "x");
    assert_refused("--data needs a value", "--data");
    assert_refused("--config needs a file", "--config");
    assert_refused("--config needs a file", "--config=");
    assert_refused("tls-listen needs tls-cert and tls-key", "--tls-listen", "127.0.0.1:1");
    assert_refused("tls-listen needs tls-cert and tls-key", "--tls-listen", "127.0.0.1:1",
                   "--tls-cert", "c");
}

static void test_help_and_version(void **state)
{
    struct config c;
    char *text = NULL;
    size_t len = 0;
    FILE *out;
    static const char *const keys[] = {
        "--listen",       "--tls-listen", "--tls-cert",         "--tls-key",   "--data",
        "--tokens",       "--registry",   "--audit-log",        "--map-size",  "--map-max",
        "--max-line",     "--gemeenten",  "--checkpoint-every", "--log-level", "--max-connections",
        "--idle-timeout", "--config",     "--check-config",     "--version",   "--help",
    };

    (void)state;
    out = open_memstream(&text, &len);
    assert_non_null(out);
    /* --help wins over what follows, even a bad flag */
    assert_int_equal(from_args_out(&c, out, "--max-line", "1", "--help", "--nonsense", NULL),
                     CONFIG_HELP);
    assert_int_equal(fclose(out), 0);
    assert_non_null(strstr(text, "Usage: werkmonitord [OPTION]..."));
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strstr(text, keys[i]) == NULL)
            fail_msg("--help does not name %s", keys[i]);
    }
    assert_non_null(strstr(text, "(default: 127.0.0.1:7878)"));
    free(text);

    out = open_memstream(&text, &len);
    assert_int_equal(from_args_out(&c, out, "-h", NULL), CONFIG_HELP);
    assert_int_equal(fclose(out), 0);
    assert_non_null(strstr(text, "Usage: werkmonitord"));
    free(text);

    out = open_memstream(&text, &len);
    assert_int_equal(from_args_out(&c, out, "--version", NULL), CONFIG_VERSION);
    assert_int_equal(fclose(out), 0);
    assert_string_equal(text, "werkmonitord " WM_VERSION " (protocol 1)\n");
    free(text);

    out = open_memstream(&text, &len);
    assert_int_equal(from_args_out(&c, out, "-V", NULL), CONFIG_VERSION);
    assert_int_equal(fclose(out), 0);
    free(text);
}

static void test_config_file(void **state)
{
    struct config c;
    char path[4096];

    (void)state;
    write_tmp(path, sizeof(path),
              "# werkmonitord.conf\n"
              "\n"
              "   # indented comment\n"
              "listen 127.0.0.1:7001\n"
              "listen\t[::1]:7002   \n"
              "data \"/srv/wm data\"\r\n"
              "max_line 1K\n"
              "max-connections 50\n"
              "idle-timeout 60s\n"
              "gemeenten huizen,laren\n"
              "log-level warn\n"
              "audit-log /var/log/wm-audit.log\n");
    assert_int_equal(from_args(&c, "--config", path), CONFIG_RUN);
    assert_string_equal(c.config_file, path);
    assert_int_equal(c.n_listen, 2);
    assert_addr(&c.listen[0], "127.0.0.1", "7001");
    assert_addr(&c.listen[1], "::1", "7002");
    assert_string_equal(c.data_dir, "/srv/wm data");
    assert_int_equal(c.max_line, 1024);
    assert_int_equal(c.max_connections, 50);
    assert_int_equal(c.idle_timeout, 60);
    assert_int_equal(c.n_gemeenten, 2);
    assert_string_equal(c.gemeenten[1], "laren");
    assert_int_equal(c.log_level, LOG_WARN);
    assert_string_equal(c.audit_log, "/var/log/wm-audit.log");

    /* flags override the file, wherever --config stands */
    assert_int_equal(
        from_args(&c, "--max-line", "200", "--config", path, "--listen", "127.0.0.9:9"),
        CONFIG_RUN);
    assert_int_equal(c.max_line, 200);
    assert_int_equal(c.max_connections, 50);
    assert_int_equal(c.n_listen, 1);
    assert_addr(&c.listen[0], "127.0.0.9", "9");
    assert_int_equal(from_args(&c, "--config="
                                   "/nonexistent/dir/wm.conf"),
                     WM_ECONFIG);
    assert_string_equal(err, "/nonexistent/dir/wm.conf: cannot open: No such file or directory");
    assert_int_equal(unlink(path), 0);
}

/* The error of loading a config file holding text, with the path replaced by "F". */
static const char *file_error(const char *text)
{
    static char msg[1024];
    char path[4096];
    struct config c;
    size_t plen;

    write_tmp(path, sizeof(path), text);
    config_defaults(&c);
    assert_int_equal(config_load_file(&c, path, err, sizeof(err)), WM_ECONFIG);
    plen = strlen(path);
    assert_memory_equal(err, path, plen);
    snprintf(msg, sizeof(msg), "F%s", err + plen);
    assert_int_equal(unlink(path), 0);
    return msg;
}

static void test_config_file_errors(void **state)
{
    char *big;

    (void)state;
    assert_string_equal(file_error("listen 127.0.0.1:1\n\nlisen 127.0.0.1:2\n"),
                        "F:3: unknown key 'lisen'");
    assert_string_equal(file_error("# only a key\ndata\n"), "F:2: data needs a value");
    assert_string_equal(file_error("data \"\"\n"), "F:1: data needs a value");
    assert_string_equal(file_error("data \"/srv/wm\n"), "F:1: unterminated quote");
    assert_string_equal(file_error("data \"/srv\" wm\n"), "F:1: unterminated quote");
    assert_string_equal(file_error("max-line 12\n"),
                        "F:1: max-line: '12' is out of range (64 to 16777216)");
    assert_string_equal(file_error("tokens x\ncheck-config yes\n"),
                        "F:2: unknown key 'check-config'");
    assert_string_equal(file_error("config other.conf\n"), "F:1: unknown key 'config'");
    big = malloc(9000);
    assert_non_null(big);
    memcpy(big, "data ", 5);
    memset(big + 5, 'd', 8990);
    memcpy(big + 8995, "\n", 2);
    assert_string_equal(file_error(big), "F:1: line too long");
    free(big);
}

/* --check-config prints the effective configuration as a config file: read back, it
 * gives the same settings. */
static void test_printed_config_reads_back(void **state)
{
    struct config a, b;
    char path[4096];
    char *text = NULL;
    size_t len = 0;
    FILE *out;

    (void)state;
    assert_int_equal(from_args(&a, "--listen", "127.0.0.1:1,[::1]:2", "--tls-listen", "[::]:3",
                               "--tls-cert", "/c.pem", "--tls-key", "/k.pem", "--data", "/d",
                               "--tokens", "/t", "--registry", "/r.wm", "--audit-log", "/a.log",
                               "--map-size", "3M", "--map-max", "5G", "--checkpoint-every", "close",
                               "--max-line", "999", "--max-connections", "3", "--idle-timeout", "4",
                               "--gemeenten", "x,y-z", "--log-level", "error", "--check-config"),
                     CONFIG_RUN);
    out = open_memstream(&text, &len);
    config_print(&a, out);
    assert_int_equal(fclose(out), 0);
    assert_non_null(strstr(text, "listen [::1]:2\n"));
    assert_non_null(strstr(text, "map-max 5368709120\n"));
    write_tmp(path, sizeof(path), text);
    free(text);

    config_defaults(&b);
    assert_int_equal(config_load_file(&b, path, err, sizeof(err)), WM_OK);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(b.n_listen, 2);
    assert_addr(&b.listen[0], "127.0.0.1", "1");
    assert_addr(&b.listen[1], "::1", "2");
    assert_int_equal(b.n_tls_listen, 1);
    assert_addr(&b.tls_listen[0], "::", "3");
    assert_string_equal(b.tls_cert, a.tls_cert);
    assert_string_equal(b.tls_key, a.tls_key);
    assert_string_equal(b.data_dir, a.data_dir);
    assert_string_equal(b.tokens_file, a.tokens_file);
    assert_string_equal(b.registry_file, a.registry_file);
    assert_string_equal(b.audit_log, a.audit_log);
    assert_int_equal(b.map_size, a.map_size);
    assert_int_equal(b.map_max, a.map_max);
    assert_int_equal(b.checkpoint_every, STORE_CKPT_CLOSE);
    assert_int_equal(b.max_line, a.max_line);
    assert_int_equal(b.max_connections, a.max_connections);
    assert_int_equal(b.idle_timeout, a.idle_timeout);
    assert_int_equal(b.n_gemeenten, 2);
    assert_string_equal(b.gemeenten[1], "y-z");
    assert_int_equal(b.log_level, a.log_level);

    /* open mode says so instead of naming a token file */
    config_defaults(&a);
    out = open_memstream(&text, &len);
    config_print(&a, out);
    assert_int_equal(fclose(out), 0);
    assert_non_null(strstr(text, "# tokens: none (open mode: every connection is admin)\n"));
    assert_null(strstr(text, "tls-listen"));
    free(text);
}

/* Fuzz finding (fuzz_config): a quoted path with a space at either end (data " n/x")
 * was printed unquoted, and the printed configuration read it back without the space. */
static void test_fuzz_config_print_quotes_paths(void **state)
{
    static const char *const paths[] = {" n/vak monitor",  "/d ", "\"q", "in side", "/plain",
                                        "/var onitor\r\r", "\t/t"};
    struct config a, b;
    char path[4096];
    char *text = NULL;
    size_t len = 0;
    FILE *out;

    (void)state;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        assert_int_equal(from_args(&a, "--data", paths[i], "--registry", paths[i]), CONFIG_RUN);
        out = open_memstream(&text, &len);
        config_print(&a, out);
        assert_int_equal(fclose(out), 0);
        write_tmp(path, sizeof(path), text);
        free(text);
        config_defaults(&b);
        assert_int_equal(config_load_file(&b, path, err, sizeof(err)), WM_OK);
        assert_int_equal(unlink(path), 0);
        assert_string_equal(b.data_dir, paths[i]);
        assert_string_equal(b.registry_file, paths[i]);
    }
}

/* Open mode (no token file) is allowed on loopback listeners only; --check-config and
 * the start ask server_listeners_loopback. */
static void test_open_mode_needs_loopback_listeners(void **state)
{
    struct config c;

    (void)state;
    assert_int_equal(
        from_args(&c, "--listen", "127.0.0.1:1,127.1.2.3:2,[::1]:3,[::ffff:127.0.0.5]:4"),
        CONFIG_RUN);
    assert_int_equal(server_listeners_loopback(&c, err, sizeof(err)), 1);
    assert_int_equal(from_args(&c, "--listen", "127.0.0.1:1,0.0.0.0:7878"), CONFIG_RUN);
    assert_int_equal(server_listeners_loopback(&c, err, sizeof(err)), 0);
    assert_string_equal(err, "0.0.0.0:7878 is not a loopback address");
    assert_int_equal(from_args(&c, "--listen", "[::]:7878"), CONFIG_RUN);
    assert_int_equal(server_listeners_loopback(&c, err, sizeof(err)), 0);
    assert_string_equal(err, "[::]:7878 is not a loopback address");
    assert_int_equal(
        from_args(&c, "--tls-listen", "10.0.0.1:7879", "--tls-cert", "c", "--tls-key", "k"),
        CONFIG_RUN);
    assert_int_equal(server_listeners_loopback(&c, err, sizeof(err)), 0);
    assert_string_equal(err, "10.0.0.1:7879 is not a loopback address");
    assert_int_equal(from_args(&c, "--listen", "[::ffff:10.0.0.1]:1"), CONFIG_RUN);
    assert_int_equal(server_listeners_loopback(&c, err, sizeof(err)), 0);
}

/* The HTTP read API's settings: off by default, the --http-tls switch, the
 * limits and their domains, the printed configuration, open mode's loopback test. */
static void test_http_settings(void **state)
{
    struct config c, b;
    char path[4096];
    char *text = NULL;
    size_t len = 0;
    FILE *out;

    (void)state;
    assert_int_equal(from_args(&c, NULL), CONFIG_RUN);
    assert_int_equal(c.n_http_listen, 0);
    assert_int_equal(c.http_tls, 0);
    assert_int_equal(c.http_max_connections, 1024);
    assert_int_equal(c.http_timeout, 10);
    assert_int_equal(c.http_max_header, 8192);
    assert_int_equal(c.http_max_uri, 4096);

    /* the switch alone turns it on, and it takes no argument from the next flag */
    assert_int_equal(from_args(&c, "--http-listen", "127.0.0.1:8080,[::1]:8081", "--http-tls",
                               "--tls-cert", "c.pem", "--tls-key", "k.pem"),
                     CONFIG_RUN);
    assert_int_equal(c.n_http_listen, 2);
    assert_addr(&c.http_listen[1], "::1", "8081");
    assert_int_equal(c.http_tls, 1);
    assert_int_equal(from_args(&c, "--http-listen", "127.0.0.1:1", "--http-tls=no"), CONFIG_RUN);
    assert_int_equal(c.http_tls, 0);
    assert_int_equal(from_args(&c, "--http-timeout", "7s", "--http-max-connections", "5",
                               "--http-max-header", "16K", "--http-max-uri", "16K"),
                     CONFIG_RUN);
    assert_int_equal(c.http_timeout, 7);
    assert_int_equal(c.http_max_connections, 5);
    assert_int_equal(c.http_max_header, 16384);
    assert_int_equal(c.http_max_uri, 16384);

    assert_refused("http-tls needs tls-cert and tls-key", "--http-listen", "127.0.0.1:1",
                   "--http-tls");
    assert_refused("http-tls needs http-listen", "--http-tls", "--tls-cert", "c", "--tls-key", "k");
    assert_refused("--http-tls: 'maybe' is not yes or no", "--http-tls=maybe");
    assert_refused("--http-timeout: '0' is not a number from 1 to 3600", "--http-timeout", "0");
    assert_refused("--http-max-connections: '0' is not a number", "--http-max-connections", "0");
    assert_refused("--http-max-header: '512' is out of range", "--http-max-header", "512");
    assert_refused("http-max-uri (9000) must not exceed http-max-header (8192)", "--http-max-uri",
                   "9000");
    assert_refused("--http-listen: bad address 'nope'", "--http-listen", "nope");

    /* printed and read back */
    assert_int_equal(from_args(&c, "--http-listen", "127.0.0.1:8080", "--http-tls", "--tls-cert",
                               "/c", "--tls-key", "/k", "--http-timeout", "3",
                               "--http-max-connections", "9", "--http-max-header", "2048",
                               "--http-max-uri", "1024"),
                     CONFIG_RUN);
    out = open_memstream(&text, &len);
    config_print(&c, out);
    assert_int_equal(fclose(out), 0);
    assert_non_null(strstr(text, "http-listen 127.0.0.1:8080\nhttp-tls yes\n"));
    write_tmp(path, sizeof(path), text);
    free(text);
    config_defaults(&b);
    assert_int_equal(config_load_file(&b, path, err, sizeof(err)), WM_OK);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(b.n_http_listen, 1);
    assert_addr(&b.http_listen[0], "127.0.0.1", "8080");
    assert_int_equal(b.http_tls, 1);
    assert_int_equal(b.http_timeout, 3);
    assert_int_equal(b.http_max_connections, 9);
    assert_int_equal(b.http_max_header, 2048);
    assert_int_equal(b.http_max_uri, 1024);

    /* open mode: the HTTP listeners must be on loopback too */
    assert_int_equal(from_args(&c, "--http-listen", "127.0.0.1:8080,[::1]:8081"), CONFIG_RUN);
    assert_int_equal(server_listeners_loopback(&c, err, sizeof(err)), 1);
    assert_int_equal(from_args(&c, "--http-listen", "127.0.0.1:8080,0.0.0.0:8081"), CONFIG_RUN);
    assert_int_equal(server_listeners_loopback(&c, err, sizeof(err)), 0);
    assert_string_equal(err, "0.0.0.0:8081 is not a loopback address");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_settings),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_flag),
        cmocka_unit_test(test_flag_forms),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_paths_gemeenten_levels),
        cmocka_unit_test(test_flag_errors),
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_config_file),
        cmocka_unit_test(test_config_file_errors),
        cmocka_unit_test(test_printed_config_reads_back),
        cmocka_unit_test(test_fuzz_config_print_quotes_paths),
        cmocka_unit_test(test_open_mode_needs_loopback_listeners),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
