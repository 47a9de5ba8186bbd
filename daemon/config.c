/*
 * config: one table of options drives the config file parser, the flag parser, the
 * --help text and --check-config's output, so the four can never disagree.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "log.h"
#include "store.h"

struct config_opt {
    const char *name;    /* file key and flag name (--name) */
    const char *argname; /* shown in --help; "" for a yes/no switch, which the flag
                            alone (--name) turns on */
    const char *deflt;   /* shown in --help */
    const char *help;
    int (*set)(struct config *cfg, const char *val, int first, char *err, size_t errlen);
};

static int copy_path(char *dst, const char *val, const char *what, char *err, size_t errlen)
{
    size_t n = strlen(val);

    if (n == 0 || n >= CONFIG_PATH_MAX) {
        proto_errf(err, errlen, "%s must be a path of 1-%d bytes", what, CONFIG_PATH_MAX - 1);
        return WM_ECONFIG;
    }
    memcpy(dst, val, n + 1);
    return WM_OK;
}

/* Parse one "HOST:PORT" or "[V6]:PORT". */
static int parse_addr(struct config_addr *a, const char *s, size_t n, char *err, size_t errlen)
{
    const char *host, *port, *colon;
    size_t hlen, plen;
    uint64_t pnum;

    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (close == NULL || close + 1 >= s + n || close[1] != ':')
            goto bad;
        host = s + 1;
        hlen = (size_t)(close - host);
        port = close + 2;
    } else {
        colon = NULL;
        for (size_t i = 0; i < n; i++) {
            if (s[i] == ':')
                colon = s + i;
        }
        if (colon == NULL)
            goto bad;
        host = s;
        hlen = (size_t)(colon - s);
        if (memchr(host, ':', hlen) != NULL)
            goto bad; /* a bare IPv6 address needs brackets */
        port = colon + 1;
    }
    plen = (size_t)(s + n - port);
    if (hlen == 0 || hlen >= sizeof(a->host))
        goto bad;
    for (size_t i = 0; i < hlen; i++) {
        unsigned char ch = (unsigned char)host[i];
        /* a host name, an IPv4 or an IPv6 address (with a %zone) has only these, and any
         * other byte (white space, a bracket) would not print back as the same address */
        if (!isalnum(ch) && strchr(".-_:%", ch) == NULL)
            goto bad;
    }
    if (plen == 0 || plen >= sizeof(a->port) || proto_parse_uint(port, plen, 65535, &pnum) != WM_OK)
        goto bad;
    memcpy(a->host, host, hlen);
    a->host[hlen] = '\0';
    memcpy(a->port, port, plen);
    a->port[plen] = '\0';
    return WM_OK;
bad:
    proto_errf(err, errlen, "bad address '%.*s' (want HOST:PORT or [IPV6]:PORT)",
               (int)(n > 300 ? 300 : n), s);
    return WM_ECONFIG;
}

/* A comma list of addresses; the first setting of a source replaces the list. */
static int set_addr_list(struct config_addr *list, size_t *n, const char *val, int first, char *err,
                         size_t errlen)
{
    const char *p = val;

    if (first)
        *n = 0;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (*n >= CONFIG_MAX_LISTEN) {
            proto_errf(err, errlen, "at most %d addresses", CONFIG_MAX_LISTEN);
            return WM_ECONFIG;
        }
        if (parse_addr(&list[*n], p, len, err, errlen) != WM_OK)
            return WM_ECONFIG;
        (*n)++;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return WM_OK;
}

static int set_listen(struct config *cfg, const char *val, int first, char *err, size_t errlen)
{
    return set_addr_list(cfg->listen, &cfg->n_listen, val, first, err, errlen);
}

static int set_tls_listen(struct config *cfg, const char *val, int first, char *err, size_t errlen)
{
    return set_addr_list(cfg->tls_listen, &cfg->n_tls_listen, val, first, err, errlen);
}

static int set_tls_cert(struct config *cfg, const char *val, int first, char *err, size_t errlen)
{
    (void)first;
    return copy_path(cfg->tls_cert, val, "tls-cert", err, errlen);
}

static int set_tls_key(struct config *cfg, const char *val, int first, char *err, size_t errlen)
{
    (void)first;
    return copy_path(cfg->tls_key, val, "tls-key", err, errlen);
}

static int set_tls_ciphers(struct config *cfg, const char *val, int first, char *err, size_t errlen)
{
    size_t n = strlen(val);

    (void)first;
    if (n == 0 || n >= sizeof(cfg->tls_ciphers)) {
        proto_errf(err, errlen, "tls-ciphers: want 1-%zu characters of an OpenSSL cipher list",
                   sizeof(cfg->tls_ciphers) - 1);
        return WM_ECONFIG;
    }
    memcpy(cfg->tls_ciphers, val, n + 1);
    return WM_OK;
}

static int set_data(struct config *cfg, const char *val, int first, char *err, size_t errlen)
{
    (void)first;
    return copy_path(cfg->data_dir, val, "data", err, errlen);
}

static int set_audit_log(struct config *cfg, const char *val, int first, char *err, size_t errlen)
{
    (void)first;
    return copy_path(cfg->audit_log, val, "audit-log", err, errlen);
}

static int set_audit_detail(struct config *cfg, const char *val, int first, char *err,
                            size_t errlen)
{
    int d = audit_detail_parse(val);

    (void)first;
    if (d < 0) {
        proto_errf(err, errlen, "bad audit-detail '%.32s' (want batch or event)", val);
        return WM_ECONFIG;
    }
    cfg->audit_detail = d;
    return WM_OK;
}

static int set_backup_dir(struct config *cfg, const char *val, int first, char *err, size_t errlen)
{
    (void)first;
    return copy_path(cfg->backup_dir, val, "backup-dir", err, errlen);
}

static int set_registry(struct config *cfg, const char *val, int first, char *err, size_t errlen)
{
    (void)first;
    return copy_path(cfg->registry_file, val, "registry", err, errlen);
}

static int set_tokens(struct config *cfg, const char *val, int first, char *err, size_t errlen)
{
    (void)first;
    return copy_path(cfg->tokens_file, val, "tokens", err, errlen);
}

/* Bytes with an optional K, M, G or T suffix (powers of 1024), optionally followed by
 * "B" or "iB". */
static int parse_size(const char *val, uint64_t min, uint64_t max, uint64_t *out, char *err,
                      size_t errlen)
{
    size_t n = strlen(val), digits = 0;
    uint64_t num, mult = 1;

    while (digits < n && isdigit((unsigned char)val[digits]))
        digits++;
    if (digits == 0 || proto_parse_uint(val, digits, UINT64_MAX, &num) != WM_OK)
        goto bad;
    if (digits < n) {
        const char *suf = val + digits;
        switch (toupper((unsigned char)suf[0])) {
        case 'K':
            mult = 1ull << 10;
            break;
        case 'M':
            mult = 1ull << 20;
            break;
        case 'G':
            mult = 1ull << 30;
            break;
        case 'T':
            mult = 1ull << 40;
            break;
        case 'B':
            mult = 1;
            break;
        default:
            goto bad;
        }
        suf++;
        if (mult != 1 && (strcasecmp(suf, "B") == 0 || strcasecmp(suf, "iB") == 0))
            suf += strlen(suf);
        if (*suf != '\0')
            goto bad;
    }
    if (num > UINT64_MAX / mult)
        goto bad;
    num *= mult;
    if (num < min || num > max) {
        proto_errf(err, errlen, "'%s' is out of range (%llu to %llu)", val, (unsigned long long)min,
                   (unsigned long long)max);
        return WM_ECONFIG;
    }
    *out = num;
    return WM_OK;
bad:
    proto_errf(err, errlen, "bad size '%.64s' (want bytes, optionally with K, M, G or T)", val);
    return WM_ECONFIG;
}

static int parse_num(const char *val, uint64_t min, uint64_t max, uint64_t *out, char *err,
                     size_t errlen)
{
    uint64_t num;

    if (proto_parse_uint(val, strlen(val), max, &num) != WM_OK || num < min) {
        proto_errf(err, errlen, "'%.64s' is not a number from %llu to %llu", val,
                   (unsigned long long)min, (unsigned long long)max);
        return WM_ECONFIG;
    }
    *out = num;
    return WM_OK;
}

static int set_map_size(struct config *cfg, const char *val, int first, char *err, size_t errlen)
{
    uint64_t v;

    (void)first;
    if (parse_size(val, 1ull << 20, (uint64_t)SIZE_MAX / 2, &v, err, errlen) != WM_OK)
        return WM_ECONFIG;
    cfg->map_size = (size_t)v;
    return WM_OK;
}

static int set_map_max(struct config *cfg, const char *val, int first, char *err, size_t errlen)
{
    uint64_t v;

    (void)first;
    if (parse_size(val, 1ull << 20, (uint64_t)SIZE_MAX / 2, &v, err, errlen) != WM_OK)
        return WM_ECONFIG;
    cfg->map_max = (size_t)v;
    return WM_OK;
}

static int set_checkpoint_every(struct config *cfg, const char *val, int first, char *err,
                                size_t errlen)
{
    uint64_t v;

    (void)first;
    if (strcmp(val, "close") == 0) {
        cfg->checkpoint_every = STORE_CKPT_CLOSE;
        return WM_OK;
    }
    if (strcmp(val, "off") == 0) {
        cfg->checkpoint_every = STORE_CKPT_OFF;
        return WM_OK;
    }
    if (parse_num(val, 1000, 1000000000, &v, err, errlen) != WM_OK) {
        proto_errf(err, errlen,
                   "'%.64s' is neither 'close', 'off' nor a number of events from "
                   "1000 to 1000000000",
                   val);
        return WM_ECONFIG;
    }
    cfg->checkpoint_every = (int64_t)v;
    return WM_OK;
}

static int set_max_line(struct config *cfg, const char *val, int first, char *err, size_t errlen)
{
    uint64_t v;

    (void)first;
    if (parse_size(val, 64, 16ull << 20, &v, err, errlen) != WM_OK)
        return WM_ECONFIG;
    cfg->max_line = (size_t)v;
    return WM_OK;
}

static int set_max_connections(struct config *cfg, const char *val, int first, char *err,
                               size_t errlen)
{
    uint64_t v;

    (void)first;
    if (parse_num(val, 1, 1000000, &v, err, errlen) != WM_OK)
        return WM_ECONFIG;
    cfg->max_connections = (unsigned)v;
    return WM_OK;
}

/* Seconds: "300" or "300s". */
static int parse_seconds(const char *val, uint64_t min, uint64_t max, uint64_t *out, char *err,
                         size_t errlen)
{
    size_t n = strlen(val);
    char num[32];

    if (n > 1 && n < sizeof(num) && val[n - 1] == 's') {
        memcpy(num, val, n - 1);
        num[n - 1] = '\0';
        val = num;
    }
    return parse_num(val, min, max, out, err, errlen);
}

static int set_idle_timeout(struct config *cfg, const char *val, int first, char *err,
                            size_t errlen)
{
    uint64_t v;

    (void)first;
    if (parse_seconds(val, 0, 31536000, &v, err, errlen) != WM_OK)
        return WM_ECONFIG;
    cfg->idle_timeout = (unsigned)v;
    return WM_OK;
}

static int set_auth_timeout(struct config *cfg, const char *val, int first, char *err,
                            size_t errlen)
{
    uint64_t v;

    (void)first;
    if (parse_seconds(val, 0, 3600, &v, err, errlen) != WM_OK)
        return WM_ECONFIG;
    cfg->auth_timeout = (unsigned)v;
    return WM_OK;
}

static int set_max_per_address(struct config *cfg, const char *val, int first, char *err,
                               size_t errlen)
{
    uint64_t v;

    (void)first;
    if (parse_num(val, 1, 1000000, &v, err, errlen) != WM_OK)
        return WM_ECONFIG;
    cfg->max_per_address = (unsigned)v;
    return WM_OK;
}

static int set_max_unauthenticated(struct config *cfg, const char *val, int first, char *err,
                                   size_t errlen)
{
    uint64_t v;

    (void)first;
    if (parse_num(val, 1, 1000000, &v, err, errlen) != WM_OK)
        return WM_ECONFIG;
    cfg->max_unauthenticated = (unsigned)v;
    return WM_OK;
}

static int set_max_rows(struct config *cfg, const char *val, int first, char *err, size_t errlen)
{
    uint64_t v;

    (void)first;
    if (parse_num(val, 1, 10000000, &v, err, errlen) != WM_OK)
        return WM_ECONFIG;
    cfg->max_rows = (size_t)v;
    return WM_OK;
}

static int set_http_listen(struct config *cfg, const char *val, int first, char *err, size_t errlen)
{
    return set_addr_list(cfg->http_listen, &cfg->n_http_listen, val, first, err, errlen);
}

static int parse_yes_no(const char *val, int *out, char *err, size_t errlen)
{
    if (strcasecmp(val, "yes") == 0 || strcasecmp(val, "on") == 0 || strcasecmp(val, "true") == 0 ||
        strcmp(val, "1") == 0) {
        *out = 1;
        return WM_OK;
    }
    if (strcasecmp(val, "no") == 0 || strcasecmp(val, "off") == 0 ||
        strcasecmp(val, "false") == 0 || strcmp(val, "0") == 0) {
        *out = 0;
        return WM_OK;
    }
    proto_errf(err, errlen, "'%.32s' is not yes or no", val);
    return WM_ECONFIG;
}

static int set_http_tls(struct config *cfg, const char *val, int first, char *err, size_t errlen)
{
    (void)first;
    return parse_yes_no(val, &cfg->http_tls, err, errlen);
}

static int set_http_max_connections(struct config *cfg, const char *val, int first, char *err,
                                    size_t errlen)
{
    uint64_t v;

    (void)first;
    if (parse_num(val, 1, 1000000, &v, err, errlen) != WM_OK)
        return WM_ECONFIG;
    cfg->http_max_connections = (unsigned)v;
    return WM_OK;
}

static int set_http_timeout(struct config *cfg, const char *val, int first, char *err,
                            size_t errlen)
{
    uint64_t v;

    (void)first;
    if (parse_seconds(val, 1, 3600, &v, err, errlen) != WM_OK)
        return WM_ECONFIG;
    cfg->http_timeout = (unsigned)v;
    return WM_OK;
}

static int set_http_max_header(struct config *cfg, const char *val, int first, char *err,
                               size_t errlen)
{
    uint64_t v;

    (void)first;
    if (parse_size(val, 1024, 1ull << 20, &v, err, errlen) != WM_OK)
        return WM_ECONFIG;
    cfg->http_max_header = (size_t)v;
    return WM_OK;
}

static int set_http_max_uri(struct config *cfg, const char *val, int first, char *err,
                            size_t errlen)
{
    uint64_t v;

    (void)first;
    if (parse_size(val, 256, 1ull << 20, &v, err, errlen) != WM_OK)
        return WM_ECONFIG;
    cfg->http_max_uri = (size_t)v;
    return WM_OK;
}

static int set_gemeenten(struct config *cfg, const char *val, int first, char *err, size_t errlen)
{
    const char *p = val;
    size_t n = 0;

    (void)first;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (!proto_name_valid(p, len)) {
            proto_errf(err, errlen, "bad gemeente '%.*s' (want 1-64 of [a-z0-9-])",
                       (int)(len > 64 ? 64 : len), p);
            return WM_ECONFIG;
        }
        for (size_t i = 0; i < n; i++) {
            if (strlen(cfg->gemeente_names[i]) == len &&
                memcmp(cfg->gemeente_names[i], p, len) == 0) {
                proto_errf(err, errlen, "gemeente '%.*s' given twice", (int)len, p);
                return WM_ECONFIG;
            }
        }
        if (n >= CONFIG_MAX_GEMEENTEN) {
            proto_errf(err, errlen, "at most %d gemeenten", CONFIG_MAX_GEMEENTEN);
            return WM_ECONFIG;
        }
        memcpy(cfg->gemeente_names[n], p, len);
        cfg->gemeente_names[n][len] = '\0';
        n++;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    for (size_t i = 0; i < n; i++)
        cfg->gemeenten[i] = cfg->gemeente_names[i];
    cfg->gemeenten[n] = NULL;
    cfg->n_gemeenten = n;
    return WM_OK;
}

static int set_log_level(struct config *cfg, const char *val, int first, char *err, size_t errlen)
{
    int l = log_level_parse(val);

    (void)first;
    if (l < 0) {
        proto_errf(err, errlen, "bad log level '%.32s' (want debug, info, warn or error)", val);
        return WM_ECONFIG;
    }
    cfg->log_level = l;
    return WM_OK;
}

static const struct config_opt config_opts[] = {
    {"listen", "HOST:PORT[,...]", CONFIG_DEFAULT_LISTEN,
     "plain TCP listener(s); IPv6 as [::1]:7878", set_listen},
    {"tls-listen", "HOST:PORT[,...]", "none", "TLS listener(s); needs tls-cert and tls-key",
     set_tls_listen},
    {"tls-cert", "FILE", "none", "PEM certificate chain for the TLS listener", set_tls_cert},
    {"tls-key", "FILE", "none",
     "PEM private key for the TLS listener; refused when group or others may write it or "
     "others may read it",
     set_tls_key},
    {"tls-ciphers", "LIST", CONFIG_DEFAULT_TLS_CIPHERS,
     "TLS 1.2 cipher suites (OpenSSL syntax); the default allows forward-secret AEAD suites "
     "only. TLS 1.3 always uses its own (all forward-secret AEAD)",
     set_tls_ciphers},
    {"data", "DIR", CONFIG_DEFAULT_DATA, "data directory (created when missing)", set_data},
    {"tokens", "FILE", "none (open mode)",
     "token file: '<principal> <role> [gemeente=<g>] sha256:<hex>' lines; reloaded on SIGHUP. "
     "Refused when group or others may write it or others may read it. Without it every "
     "connection is admin and only loopback listeners are allowed",
     set_tokens},
    {"registry", "FILE", "none",
     "PROGRAM and PROJECT lines applied once to a store that has no projects yet, e.g. "
     "the region's gooi-en-vechtstreek.wm; a store with projects is left as it is",
     set_registry},
    {"audit-log", "stderr|none|FILE", "stderr",
     "where the audit trail goes: who changed what, naming the principal, never a person; "
     "refused writes are summarised (a count per principal and error, within 10 s). "
     "On stderr these are info lines; a FILE gets UTC timestamps and is reopened on SIGHUP",
     set_audit_log},
    {"audit-detail", "batch|event", "batch",
     "accepted events in the audit trail: batch, one line per committed batch and principal "
     "with the count, the DUPs and the seqs stored as ranges (principal=P op=event n=N ok=A "
     "dup=B seq=3..9,12); event, also one line per event with its type, id, gemeente and seq. "
     "Retractions, REPLACE, PROJECT, PROGRAM and NOTE always get a line each",
     set_audit_detail},
    {"backup-dir", "DIR", "DATA/backups",
     "where BACKUP (admin, over the protocol) puts each copy, in a new directory named after "
     "the time",
     set_backup_dir},
    {"map-size", "BYTES", "1G", "initial LMDB map size (K, M, G, T suffixes)", set_map_size},
    {"map-max", "BYTES", "64G", "the map grows by doubling up to this size", set_map_max},
    {"checkpoint-every", "EVENTS|close|off", "500000",
     "save the memory part beside the store every this many events (by a child process; "
     "once the store holds more, every as many events as the last save covered) and at "
     "shutdown, so a start loads it instead of rebuilding it from every event; close: at "
     "shutdown only; off: never",
     set_checkpoint_every},
    {"max-line", "BYTES", "4096", "longest request line; longer ones get ERR too-long",
     set_max_line},
    {"max-connections", "N", "1024", "connections beyond this get ERR unavailable",
     set_max_connections},
    {"idle-timeout", "SECONDS", "300",
     "close a connection this long after its last complete request (0 = never; WATCH "
     "connections are exempt)",
     set_idle_timeout},
    {"auth-timeout", "SECONDS", "10",
     "with a token file: close a connection that has not authenticated this long after it "
     "was accepted (0 = never)",
     set_auth_timeout},
    {"max-per-address", "N", "32",
     "with a token file: connections from one address (IPv6: one /64) that have not "
     "authenticated yet; one more gets ERR unavailable",
     set_max_per_address},
    {"max-unauthenticated", "N", "256",
     "with a token file: connections in all that have not authenticated yet (at most three "
     "quarters of max-connections); the rest is kept for authenticated principals",
     set_max_unauthenticated},
    {"max-rows", "N", "10000",
     "a COUNT whose answer has more groups gets ERR too-large (narrow it: fewer by=, filters)",
     set_max_rows},
    {"http-listen", "HOST:PORT[,...]", "none",
     "HTTP listener(s) of the read API, /metrics and /healthz (proto/HTTP.md); the same "
     "tokens, sent as 'Authorization: Bearer <token>'",
     set_http_listen},
    {"http-tls", "", "no",
     "serve HTTPS on http-listen with tls-cert and tls-key (in a config file: http-tls yes)",
     set_http_tls},
    {"http-max-connections", "N", "1024", "HTTP connections beyond this get 503",
     set_http_max_connections},
    {"http-timeout", "SECONDS", "10",
     "a whole request must arrive within this time of connecting or of the previous "
     "response, else the connection is closed; also the limit for a stalled write",
     set_http_timeout},
    {"http-max-header", "BYTES", "8192",
     "longest request line plus headers; longer requests are refused", set_http_max_header},
    {"http-max-uri", "BYTES", "4096", "longest request target; longer ones get 414",
     set_http_max_uri},
    {"gemeenten", "A,B,...", "the eight of the region", "the municipalities events may name",
     set_gemeenten},
    {"log-level", "LEVEL", "info", "debug, info, warn or error (audit lines are info)",
     set_log_level},
};

#define CONFIG_NOPTS (sizeof(config_opts) / sizeof(config_opts[0]))

void config_defaults(struct config *cfg)
{
    char err[128];

    memset(cfg, 0, sizeof(*cfg));
    set_listen(cfg, CONFIG_DEFAULT_LISTEN, 1, err, sizeof(err));
    memcpy(cfg->data_dir, CONFIG_DEFAULT_DATA, sizeof(CONFIG_DEFAULT_DATA));
    memcpy(cfg->audit_log, "stderr", sizeof("stderr"));
    memcpy(cfg->tls_ciphers, CONFIG_DEFAULT_TLS_CIPHERS, sizeof(CONFIG_DEFAULT_TLS_CIPHERS));
    cfg->map_size = (size_t)1 << 30;
    cfg->map_max = sizeof(size_t) >= 8 ? (size_t)64 << 30 : (size_t)1 << 30;
    cfg->checkpoint_every = STORE_CKPT_DEFAULT;
    cfg->max_line = CONFIG_DEFAULT_MAX_LINE;
    cfg->max_connections = CONFIG_DEFAULT_MAX_CONNECTIONS;
    cfg->idle_timeout = CONFIG_DEFAULT_IDLE_TIMEOUT;
    cfg->auth_timeout = CONFIG_DEFAULT_AUTH_TIMEOUT;
    cfg->max_rows = CONFIG_DEFAULT_MAX_ROWS;
    cfg->max_per_address = CONFIG_DEFAULT_MAX_PER_ADDRESS;
    cfg->max_unauthenticated = CONFIG_DEFAULT_MAX_UNAUTHENTICATED;
    cfg->http_max_connections = CONFIG_DEFAULT_HTTP_MAX_CONNECTIONS;
    cfg->http_timeout = CONFIG_DEFAULT_HTTP_TIMEOUT;
    cfg->http_max_header = CONFIG_DEFAULT_HTTP_MAX_HEADER;
    cfg->http_max_uri = CONFIG_DEFAULT_HTTP_MAX_URI;
    for (size_t i = 0; proto_default_gemeenten[i] != NULL && i < CONFIG_MAX_GEMEENTEN; i++) {
        snprintf(cfg->gemeente_names[i], sizeof(cfg->gemeente_names[i]), "%s",
                 proto_default_gemeenten[i]);
        cfg->gemeenten[i] = cfg->gemeente_names[i];
        cfg->n_gemeenten = i + 1;
    }
    cfg->gemeenten[cfg->n_gemeenten] = NULL;
    cfg->log_level = LOG_INFO;
}

static const struct config_opt *config_find(const char *name, size_t len)
{
    char norm[64];

    if (len >= sizeof(norm))
        return NULL;
    /* max_line and max-line are the same key */
    for (size_t i = 0; i < len; i++)
        norm[i] = name[i] == '_' ? '-' : name[i];
    norm[len] = '\0';
    for (size_t i = 0; i < CONFIG_NOPTS; i++) {
        if (strcmp(config_opts[i].name, norm) == 0)
            return &config_opts[i];
    }
    return NULL;
}

int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f;
    char line[8192], msg[512];
    unsigned lineno = 0;
    unsigned char seen[CONFIG_NOPTS];
    int rc = WM_OK;

    memset(seen, 0, sizeof(seen));
    f = fopen(path, "r");
    if (f == NULL) {
        proto_errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return WM_ECONFIG;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *p = line, *key, *val, *end;
        const struct config_opt *opt;
        size_t klen, n = strlen(line);

        lineno++;
        if (n == sizeof(line) - 1 && line[n - 1] != '\n') {
            proto_errf(err, errlen, "%s:%u: line too long", path, lineno);
            rc = WM_ECONFIG;
            goto out;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
                         line[n - 1] == '\t'))
            line[--n] = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        key = p;
        while (*p != '\0' && *p != ' ' && *p != '\t')
            p++;
        klen = (size_t)(p - key);
        while (*p == ' ' || *p == '\t')
            p++;
        val = p;
        /* a value may be quoted to hold spaces, as in redis.conf */
        if (*val == '"') {
            end = strrchr(val + 1, '"');
            if (end == NULL || end[1] != '\0') {
                proto_errf(err, errlen, "%s:%u: unterminated quote", path, lineno);
                rc = WM_ECONFIG;
                goto out;
            }
            val++;
            *end = '\0';
        }
        opt = config_find(key, klen);
        if (opt == NULL) {
            proto_errf(err, errlen, "%s:%u: unknown key '%.*s'", path, lineno,
                       (int)(klen > 64 ? 64 : klen), key);
            rc = WM_ECONFIG;
            goto out;
        }
        if (*val == '\0') {
            proto_errf(err, errlen, "%s:%u: %s needs a value", path, lineno, opt->name);
            rc = WM_ECONFIG;
            goto out;
        }
        if (opt->set(cfg, val, !seen[opt - config_opts], msg, sizeof(msg)) != WM_OK) {
            proto_errf(err, errlen, "%s:%u: %s: %s", path, lineno, opt->name, msg);
            rc = WM_ECONFIG;
            goto out;
        }
        seen[opt - config_opts] = 1;
    }
    if (ferror(f)) {
        proto_errf(err, errlen, "%s: read error: %s", path, strerror(errno));
        rc = WM_ECONFIG;
    }
out:
    fclose(f);
    return rc;
}

void config_usage_wrapped(FILE *out, int col, int indent, const char *text)
{
    const char *p = text;

    while (*p != '\0') {
        const char *sp = strchr(p, ' ');
        int wlen = sp ? (int)(sp - p) : (int)strlen(p);
        if (col > indent && col + 1 + wlen > 80) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', out);
            col++;
        }
        fprintf(out, "%.*s", wlen, p);
        col += wlen;
        p += wlen;
        while (*p == ' ')
            p++;
    }
    fputc('\n', out);
}

void config_usage_option(FILE *out, const char *flag, const char *help)
{
    if (strlen(flag) > 27)
        fprintf(out, "  %s\n%30s", flag, "");
    else
        fprintf(out, "  %-27s ", flag);
    config_usage_wrapped(out, 30, 30, help);
}

void config_usage(FILE *out)
{
    fprintf(out, "Usage: werkmonitord [OPTION]...\n"
                 "       werkmonitord COMMAND [OPTION]...\n"
                 "The werkmonitor event store daemon: durable, idempotent events over a line\n"
                 "protocol (see proto/PROTOCOL.md). Settings come from the defaults, then the\n"
                 "--config file ('key value' lines, # comments), then the flags below.\n\n");
    config_usage_option(out, "--config FILE", "read settings from FILE (default: none)");
    for (size_t i = 0; i < CONFIG_NOPTS; i++) {
        char flag[64], help[512];
        if (config_opts[i].argname[0] == '\0')
            snprintf(flag, sizeof(flag), "--%s", config_opts[i].name);
        else
            snprintf(flag, sizeof(flag), "--%s %s", config_opts[i].name, config_opts[i].argname);
        snprintf(help, sizeof(help), "%s (default: %s)", config_opts[i].help, config_opts[i].deflt);
        config_usage_option(out, flag, help);
    }
    config_usage_option(
        out, "--check-config",
        "check the settings (and the token file, TLS files and registry file), print the effective "
        "configuration and exit 0, or say what is wrong and exit 1");
    config_usage_option(out, "--version", "print the version and exit");
    config_usage_option(out, "--help", "print this help and exit");
    fprintf(out,
            "\nCommands (each with its own --help), run beside the daemon or instead of it:\n");
    config_usage_option(out, "backup",
                        "copy the store, consistent and compacted, while the daemon runs");
    config_usage_option(out, "verify",
                        "recompute everything derived from the events and report each difference");
    config_usage_option(
        out, "export",
        "write every event, retraction and registry entry as NDJSON, or the live events as CSV");
    config_usage_option(
        out, "restore",
        "build a new store from an NDJSON export (also across store format versions)");
    fprintf(out, "\nEvery option is also a config file key without the dashes, e.g.\n"
                 "'max-connections 2048'. Log lines go to stderr as '<level> <message>'.\n"
                 "Signals: SIGTERM/SIGINT commit and acknowledge what is queued, then exit 0;\n"
                 "SIGHUP reloads the token file (an invalid file is refused, the old one kept)\n"
                 "and reopens the audit log file.\n");
}

/* The first pass over argv: --help, --version and --config, since the file is read
 * before the other flags override it. Returns CONFIG_RUN to go on, CONFIG_HELP,
 * CONFIG_VERSION or WM_ECONFIG. */
static int config_first_pass(struct config *cfg, int argc, char **argv, FILE *out, char *err,
                             size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            config_usage(out);
            return CONFIG_HELP;
        }
        if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
            fprintf(out, "werkmonitord %s (protocol 1)\n", WM_VERSION);
            return CONFIG_VERSION;
        }
        if (strcmp(a, "--config") == 0 || strncmp(a, "--config=", 9) == 0) {
            const char *v = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : NULL);
            if (v == NULL || *v == '\0') {
                proto_errf(err, errlen, "--config needs a file");
                return WM_ECONFIG;
            }
            if (copy_path(cfg->config_file, v, "config", err, errlen) != WM_OK)
                return WM_ECONFIG;
        }
    }
    return CONFIG_RUN;
}

/* Apply option argv[*i] ("--name=value" or "--name value", advancing *i past the
 * value), seen marking the options given before. Returns WM_OK or WM_ECONFIG. */
static int config_apply_arg(struct config *cfg, int argc, char **argv, int *i, unsigned char *seen,
                            char *err, size_t errlen)
{
    const char *a = argv[*i], *name = a + 2, *eq, *val;
    const struct config_opt *opt;
    char msg[512];
    size_t nlen;

    if (strncmp(a, "--", 2) != 0) {
        proto_errf(err, errlen, "unexpected argument '%.64s' (see --help)", a);
        return WM_ECONFIG;
    }
    eq = strchr(name, '=');
    nlen = eq ? (size_t)(eq - name) : strlen(name);
    opt = config_find(name, nlen);
    if (opt == NULL) {
        proto_errf(err, errlen, "unknown option '%.64s' (see --help)", a);
        return WM_ECONFIG;
    }
    if (eq != NULL) {
        val = eq + 1;
    } else if (opt->argname[0] == '\0') {
        val = "yes"; /* a switch */
    } else if (*i + 1 < argc) {
        val = argv[++*i];
    } else {
        proto_errf(err, errlen, "--%s needs a value", opt->name);
        return WM_ECONFIG;
    }
    if (opt->set(cfg, val, !seen[opt - config_opts], msg, sizeof(msg)) != WM_OK) {
        proto_errf(err, errlen, "--%s: %s", opt->name, msg);
        return WM_ECONFIG;
    }
    seen[opt - config_opts] = 1;
    return WM_OK;
}

/* The rules between settings, once every flag and file key is applied. Returns WM_OK
 * or WM_ECONFIG with err. */
static int config_check_whole(const struct config *cfg, char *err, size_t errlen)
{
    if (cfg->n_tls_listen > 0 && (cfg->tls_cert[0] == '\0' || cfg->tls_key[0] == '\0')) {
        proto_errf(err, errlen, "tls-listen needs tls-cert and tls-key");
        return WM_ECONFIG;
    }
    if (cfg->http_tls && (cfg->tls_cert[0] == '\0' || cfg->tls_key[0] == '\0')) {
        proto_errf(err, errlen, "http-tls needs tls-cert and tls-key");
        return WM_ECONFIG;
    }
    if (cfg->http_tls && cfg->n_http_listen == 0) {
        proto_errf(err, errlen, "http-tls needs http-listen");
        return WM_ECONFIG;
    }
    if (cfg->http_max_uri > cfg->http_max_header) {
        proto_errf(err, errlen, "http-max-uri (%zu) must not exceed http-max-header (%zu)",
                   cfg->http_max_uri, cfg->http_max_header);
        return WM_ECONFIG;
    }
    return WM_OK;
}

int config_from_args(struct config *cfg, int argc, char **argv, FILE *out, char *err, size_t errlen)
{
    unsigned char seen[CONFIG_NOPTS];
    int rc;

    config_defaults(cfg);
    memset(seen, 0, sizeof(seen));
    rc = config_first_pass(cfg, argc, argv, out, err, errlen);
    if (rc != CONFIG_RUN)
        return rc;
    if (cfg->config_file[0] != '\0') {
        char path[CONFIG_PATH_MAX];
        memcpy(path, cfg->config_file, sizeof(path));
        if (config_load_file(cfg, path, err, errlen) != WM_OK)
            return WM_ECONFIG;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "--check-config") == 0)
            cfg->check_config = 1;
        else if (strcmp(a, "--config") == 0)
            i++;
        else if (strncmp(a, "--config=", 9) != 0 &&
                 config_apply_arg(cfg, argc, argv, &i, seen, err, errlen) != WM_OK)
            return WM_ECONFIG;
    }
    if (config_check_whole(cfg, err, errlen) != WM_OK)
        return WM_ECONFIG;
    if (cfg->map_max < cfg->map_size)
        cfg->map_max = cfg->map_size;
    return CONFIG_RUN;
}

void config_addr_format(const struct config_addr *a, char *out, size_t outlen)
{
    if (strchr(a->host, ':') != NULL)
        snprintf(out, outlen, "[%s]:%s", a->host, a->port);
    else
        snprintf(out, outlen, "%s:%s", a->host, a->port);
}

static void print_addrs(FILE *out, const char *key, const struct config_addr *list, size_t n)
{
    char buf[300];

    for (size_t i = 0; i < n; i++) {
        config_addr_format(&list[i], buf, sizeof(buf));
        fprintf(out, "%s %s\n", key, buf);
    }
}

/* "key value", the value quoted when the file would not read it back as it is: with
 * white space at either end (a CR too), or a quote first (fuzz finding: --check-config printed
 * 'data " n/x"' as 'data  n/x', which reads back as "n/x"). */
static void print_path(FILE *out, const char *key, const char *val)
{
    size_t n = strlen(val);
    int quote = n > 0 && (isspace((unsigned char)val[0]) || val[0] == '"' ||
                          isspace((unsigned char)val[n - 1]));

    fprintf(out, quote ? "%s \"%s\"\n" : "%s %s\n", key, val);
}

void config_print(const struct config *cfg, FILE *out)
{
    fprintf(out, "# werkmonitord %s effective configuration\n", WM_VERSION);
    print_addrs(out, "listen", cfg->listen, cfg->n_listen);
    print_addrs(out, "tls-listen", cfg->tls_listen, cfg->n_tls_listen);
    if (cfg->tls_cert[0] != '\0')
        print_path(out, "tls-cert", cfg->tls_cert);
    if (cfg->tls_key[0] != '\0')
        print_path(out, "tls-key", cfg->tls_key);
    print_path(out, "tls-ciphers", cfg->tls_ciphers);
    print_path(out, "data", cfg->data_dir);
    if (cfg->tokens_file[0] != '\0')
        print_path(out, "tokens", cfg->tokens_file);
    else
        fprintf(out, "# tokens: none (open mode: every connection is admin)\n");
    if (cfg->registry_file[0] != '\0')
        print_path(out, "registry", cfg->registry_file);
    print_path(out, "audit-log", cfg->audit_log);
    fprintf(out, "audit-detail %s\n", audit_detail_name((enum audit_detail)cfg->audit_detail));
    if (cfg->backup_dir[0] != '\0')
        print_path(out, "backup-dir", cfg->backup_dir);
    else
        fprintf(out, "# backup-dir: %s/backups (BACKUP's copies)\n", cfg->data_dir);
    fprintf(out, "map-size %zu\n", cfg->map_size);
    fprintf(out, "map-max %zu\n", cfg->map_max);
    if (cfg->checkpoint_every == STORE_CKPT_CLOSE)
        fprintf(out, "checkpoint-every close\n");
    else if (cfg->checkpoint_every == STORE_CKPT_OFF)
        fprintf(out, "checkpoint-every off\n");
    else
        fprintf(out, "checkpoint-every %lld\n", (long long)cfg->checkpoint_every);
    fprintf(out, "max-line %zu\n", cfg->max_line);
    fprintf(out, "max-connections %u\n", cfg->max_connections);
    fprintf(out, "idle-timeout %u\n", cfg->idle_timeout);
    fprintf(out, "auth-timeout %u\n", cfg->auth_timeout);
    fprintf(out, "max-per-address %u\n", cfg->max_per_address);
    fprintf(out, "max-unauthenticated %u\n", cfg->max_unauthenticated);
    fprintf(out, "max-rows %zu\n", cfg->max_rows);
    if (cfg->n_http_listen == 0)
        fprintf(out, "# http-listen: none (the HTTP API is off)\n");
    print_addrs(out, "http-listen", cfg->http_listen, cfg->n_http_listen);
    fprintf(out, "http-tls %s\n", cfg->http_tls ? "yes" : "no");
    fprintf(out, "http-max-connections %u\n", cfg->http_max_connections);
    fprintf(out, "http-timeout %u\n", cfg->http_timeout);
    fprintf(out, "http-max-header %zu\n", cfg->http_max_header);
    fprintf(out, "http-max-uri %zu\n", cfg->http_max_uri);
    fprintf(out, "gemeenten ");
    for (size_t i = 0; i < cfg->n_gemeenten; i++)
        fprintf(out, "%s%s", i ? "," : "", cfg->gemeenten[i]);
    fprintf(out, "\nlog-level %s\n", log_level_name((enum log_level)cfg->log_level));
}
