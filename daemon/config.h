/*
 * config: werkmonitord's settings, from defaults, then a config file of "key value"
 * lines (like redis.conf), then command-line flags, each overriding the one before.
 * Every file key is also a flag (--key value or --key=value).
 */
#ifndef WM_DAEMON_CONFIG_H
#define WM_DAEMON_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "proto.h"

#define CONFIG_MAX_LISTEN 8
#define CONFIG_MAX_GEMEENTEN 64
#define CONFIG_PATH_MAX 4096

#define CONFIG_DEFAULT_LISTEN "127.0.0.1:7878"
#define CONFIG_DEFAULT_DATA "./data"
#define CONFIG_DEFAULT_MAX_LINE 4096
#define CONFIG_DEFAULT_MAX_CONNECTIONS 1024
#define CONFIG_DEFAULT_IDLE_TIMEOUT 300
#define CONFIG_DEFAULT_AUTH_TIMEOUT 10
#define CONFIG_DEFAULT_MAX_ROWS 10000
#define CONFIG_DEFAULT_MAX_PER_ADDRESS 32
#define CONFIG_DEFAULT_MAX_UNAUTHENTICATED 256
#define CONFIG_DEFAULT_HTTP_MAX_CONNECTIONS 1024
#define CONFIG_DEFAULT_HTTP_TIMEOUT 10
#define CONFIG_DEFAULT_HTTP_MAX_HEADER 8192
#define CONFIG_DEFAULT_HTTP_MAX_URI 4096
/* TLS 1.2's suites: forward secrecy (ECDHE) and AEAD only */
#define CONFIG_DEFAULT_TLS_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20"

/* A listen address as given: host without brackets, port as text. */
struct config_addr {
    char host[256];
    char port[8];
};

struct config {
    struct config_addr listen[CONFIG_MAX_LISTEN];
    size_t n_listen;
    struct config_addr tls_listen[CONFIG_MAX_LISTEN];
    size_t n_tls_listen;
    char tls_cert[CONFIG_PATH_MAX];
    char tls_key[CONFIG_PATH_MAX];
    char tls_ciphers[512]; /* OpenSSL cipher list for TLS 1.2 */
    char data_dir[CONFIG_PATH_MAX];
    char tokens_file[CONFIG_PATH_MAX];   /* "" = open mode */
    char registry_file[CONFIG_PATH_MAX]; /* "" = none; applied to a store without projects */
    char config_file[CONFIG_PATH_MAX];   /* "" = none */
    char audit_log[CONFIG_PATH_MAX];     /* "stderr", "none" or a file */
    int audit_detail;                    /* enum audit_detail (audit.h) */
    char backup_dir[CONFIG_PATH_MAX];    /* BACKUP's directory; "" = <data>/backups */
    size_t map_size;                     /* initial LMDB map in bytes */
    size_t map_max;                      /* the map grows up to this */
    int64_t checkpoint_every; /* store_options.checkpoint_every (STORE_CKPT_CLOSE, _OFF) */
    size_t max_line;
    unsigned max_connections;
    unsigned idle_timeout; /* seconds since the last complete request; 0 = never */
    unsigned auth_timeout; /* seconds from accept to AUTH (with a token file); 0 = never */
    /* connections not authenticated yet: from one address, and in all (the rest of
     * max_connections is kept for authenticated principals) */
    unsigned max_per_address;
    size_t max_rows; /* a COUNT with more groups answers too-large */
    unsigned max_unauthenticated;
    /* the HTTP read API (proto/HTTP.md); off while n_http_listen is 0 */
    struct config_addr http_listen[CONFIG_MAX_LISTEN];
    size_t n_http_listen;
    int http_tls;                  /* 1: HTTPS with tls_cert and tls_key */
    unsigned http_max_connections; /* HTTP connections beyond this get 503 */
    unsigned http_timeout;         /* seconds for a whole request to arrive (slowloris) */
    size_t http_max_header;        /* request line and headers, bytes */
    size_t http_max_uri;           /* the request target, bytes (at most http_max_header) */
    char gemeente_names[CONFIG_MAX_GEMEENTEN][WM_NAME_MAX + 1];
    const char *gemeenten[CONFIG_MAX_GEMEENTEN + 1]; /* points into gemeente_names */
    size_t n_gemeenten;
    int log_level;    /* enum log_level */
    int check_config; /* --check-config given */
};

/* What config_from_args decided besides filling the config. */
enum config_action {
    CONFIG_RUN = 0,     /* start the daemon */
    CONFIG_HELP = 1,    /* --help: usage printed, exit 0 */
    CONFIG_VERSION = 2, /* --version: version printed, exit 0 */
};

/* Fill cfg with the defaults (the eight gemeenten of proto_default_gemeenten, ...). */
void config_defaults(struct config *cfg);

/*
 * Build the configuration from argv: defaults, then the file named by --config (when
 * given), then every other flag in order. --help and --version print to out and
 * return CONFIG_HELP / CONFIG_VERSION.
 * Returns a config_action (>= 0) or WM_ECONFIG with err naming the flag, or the file
 * and line ("werkmonitord.conf:12: unknown key 'lisen'"), and the problem.
 */
int config_from_args(struct config *cfg, int argc, char **argv, FILE *out, char *err,
                     size_t errlen);

/*
 * Read a config file into cfg (over what it holds). Lines are "key value"; blank lines
 * and lines starting with '#' are ignored; an unknown key or a bad value is an error.
 * Returns WM_OK or WM_ECONFIG with err = "<file>:<line>: <problem>".
 */
int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen);

/* Print the effective configuration as a config file (every key) to out. */
void config_print(const struct config *cfg, FILE *out);

/* Print the usage text (every option and its default) to out. */
void config_usage(FILE *out);

/* Print text word-wrapped to 80 columns to out, starting at column col, continuation
 * lines indented by indent (for usage texts). */
void config_usage_wrapped(FILE *out, int col, int indent, const char *text);

/* Print one option of a usage text: the flag, then its help wrapped beside it. */
void config_usage_option(FILE *out, const char *flag, const char *help);

/* Format an address for people: "127.0.0.1:7878" or "[::1]:7878". */
void config_addr_format(const struct config_addr *a, char *out, size_t outlen);

#endif /* WM_DAEMON_CONFIG_H */
