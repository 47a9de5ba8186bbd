/*
 * werkmonitord: the event store daemon. Reads the configuration, checks it, and runs
 * the server (server.c) until SIGTERM or SIGINT. Exit status 0 after a clean shutdown,
 * 1 on a configuration or start-up error. `werkmonitord <command>` runs one of the
 * maintenance commands instead (ops.c: backup, verify, export, restore).
 */
#include <signal.h>
#include <stdio.h>

#include <event2/thread.h>

#include "bootstrap.h"
#include "daemon.h"
#include "log.h"
#include "ops.h"

/* --check-config: the same checks as a start, without opening the store. */
static int check_config(const struct config *cfg)
{
    struct auth_table *t = NULL;
    SSL_CTX *ctx = NULL;
    char err[1024];

    if (cfg->tokens_file[0] != '\0') {
        if (auth_table_load(cfg->tokens_file, cfg->gemeenten, cfg->n_gemeenten, &t, err,
                            sizeof(err)) != WM_OK) {
            log_msg(LOG_ERROR, "%s", err);
            return 1;
        }
        auth_table_free(t);
    } else if (!server_listeners_loopback(cfg, err, sizeof(err))) {
        log_msg(LOG_ERROR, "open mode (no token file) needs loopback listeners: %s", err);
        return 1;
    }
    if (cfg->n_tls_listen > 0 || cfg->http_tls) {
        ctx = tls_ctx_new(cfg->tls_cert, cfg->tls_key, cfg->tls_ciphers, err, sizeof(err));
        if (ctx == NULL) {
            log_msg(LOG_ERROR, "%s", err);
            return 1;
        }
        SSL_CTX_free(ctx);
    }
    server_check_data_dir(cfg->data_dir);
    if (cfg->registry_file[0] != '\0' &&
        bootstrap_registry_check(cfg->registry_file, cfg->gemeenten, cfg->n_gemeenten, NULL, err,
                                 sizeof(err)) != WM_OK) {
        log_msg(LOG_ERROR, "registry: %s", err);
        return 1;
    }
    config_print(cfg, stdout);
    return 0;
}

int main(int argc, char **argv)
{
    static struct config cfg;
    static struct server srv;
    char err[1024];
    int rc;

    /* werkmonitord backup|verify|export|restore: a maintenance command of its own */
    if (argc > 1 && ops_is_command(argv[1]))
        return ops_main(argc - 1, argv + 1);
    rc = config_from_args(&cfg, argc, argv, stdout, err, sizeof(err));
    if (rc < 0) {
        log_msg(LOG_ERROR, "%s", err);
        return 1;
    }
    if (rc == CONFIG_HELP || rc == CONFIG_VERSION)
        return 0;
    log_set_level((enum log_level)cfg.log_level);
    if (cfg.check_config)
        return check_config(&cfg);

    /* a peer that closes early must give EPIPE, not kill the daemon */
    signal(SIGPIPE, SIG_IGN);
    if (evthread_use_pthreads() != 0) {
        log_msg(LOG_ERROR, "libevent has no pthreads support");
        return 1;
    }
    rc = server_init(&srv, &cfg, err, sizeof(err));
    if (rc != WM_OK) {
        log_msg(LOG_ERROR, "%s", err);
        server_free(&srv);
        return 1;
    }
    rc = server_run(&srv);
    server_free(&srv);
    return rc;
}
