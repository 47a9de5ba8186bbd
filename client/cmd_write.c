/*
 * The commands that write: send (one EVENT, a BSN turned into its pseudonym here) and
 * retract (one RETRACT). Each builds its request line from key=value words and prints
 * the server's one-line answer.
 */
#include <string.h>

#include "client.h"

enum { OPT_BSN = 1, OPT_PSEUDO_KEY };

static const char send_help[] =
    "Usage: werkmonitor send <type> key=value... [--bsn BSN --pseudo-key FILE]\n"
    "\n"
    "Store one event. <type> is started, completed, placed or outflow; the fields are\n"
    "those of PROTOCOL.md section 4 (id, person, gemeente, date, project, ...). Values are\n"
    "given as they are: the client escapes spaces and '%' for the wire, so\n"
    "employer='De Hoek' works. Prints the server's answer: 'OK <seq>' (stored) or\n"
    "'DUP <seq>' (stored before under this id) on stdout with exit 0, or the ERR line on\n"
    "stderr with exit 1.\n"
    "\n"
    "Pseudonyms: a BSN never leaves this machine.\n"
    "  --bsn BSN           check BSN with the eleven-test and send person=<pseudonym>,\n"
    "                      HMAC-SHA256 of the BSN under the key (also: bsn=<BSN>)\n"
    "  --pseudo-key FILE   the region's pseudonym key (at least 32 bytes, mode 0600;\n"
    "                      see 'werkmonitor keygen')\n"
    "A person= value of only digits and separators looks like a BSN, and a BSN in any\n"
    "value (PROTOCOL.md section 4) is refused: neither is sent.\n"
    "A BSN on the command line is visible to other users of this machine through ps;\n"
    "for many events use 'werkmonitor import' with a bsn column instead.\n"
    "\n"
    "Example:\n"
    "  werkmonitor send placed id=wsp-2021-0042 person=p-7f3a9c21 gemeente=huizen \\\n"
    "      date=2021-09-01 project=zorgstart sector=zorg months=12 employer='De Hoek'\n";

/* Compute person= from a BSN and append it; reports and returns an exit code or -1. */
static int append_pseudonym(struct wm_buf *b, const char *cmd, const char *bsn, const char *keyfile)
{
    struct cli_key k;
    char why[512];
    char pseudo[CLI_PSEUDONYM_LEN + 1];
    int rc;

    if (keyfile == NULL)
        return cli_usage_error(cmd, "a BSN needs --pseudo-key FILE to be turned into a pseudonym");
    if (cli_bsn_check(bsn, why, sizeof(why)) != WM_OK) {
        fprintf(stderr, "werkmonitor %s: refused: %s\n", cmd, why);
        return CLI_EXIT_ERR;
    }
    rc = cli_key_load(&k, keyfile, why, sizeof(why));
    if (rc != WM_OK) {
        fprintf(stderr, "werkmonitor %s: %s\n", cmd, rc == WM_ENOMEM ? "out of memory" : why);
        return CLI_EXIT_CONN;
    }
    rc = cli_pseudonym(&k, bsn, pseudo);
    cli_key_free(&k);
    if (rc != WM_OK) {
        fprintf(stderr, "werkmonitor %s: cannot compute the pseudonym (OpenSSL)\n", cmd);
        return CLI_EXIT_ERR;
    }
    wm_buf_puts(b, " person=");
    wm_buf_puts(b, pseudo);
    return -1;
}

/*
 * The EVENT line of send's words into b: the type, then each key=value word. A bsn=
 * word is taken into *bsn (given at most once, with --bsn counted), never sent; a
 * BSN-like person= value is refused. Returns -1 when built, else the exit code
 * (reported).
 */
static int build_event(struct wm_buf *b, const struct cli_args *a, const char **bsn,
                       int *has_person)
{
    int ex;

    if ((ex = cli_type_arg("send", a)) >= 0)
        return ex;
    wm_buf_puts(b, "EVENT ");
    wm_buf_puts(b, a->pos[0]);
    for (size_t i = 1; i < a->npos; i++) {
        const char *arg = a->pos[i];

        if (strncmp(arg, "bsn=", 4) == 0) {
            if (*bsn != NULL)
                return cli_usage_error("send", "give the BSN once (--bsn or bsn=)");
            *bsn = arg + 4;
            continue;
        }
        if (strncmp(arg, "person=", 7) == 0) {
            *has_person = 1;
            if (proto_person_looks_like_bsn(arg + 7, strlen(arg + 7))) {
                fprintf(stderr, "werkmonitor send: refused: the person value looks like a BSN "
                                "(only digits and separators) and a BSN must not leave this "
                                "machine; give it with --bsn and --pseudo-key\n");
                return CLI_EXIT_ERR;
            }
        }
        if (cli_append_kv(b, "send", arg) != WM_OK)
            return CLI_EXIT_USAGE;
    }
    return -1;
}

int cli_cmd_send(struct cli_config *cfg, int argc, char **argv)
{
    static const struct cli_optdef defs[] = {{"bsn", 0, 1, OPT_BSN},
                                             {"pseudo-key", 0, 1, OPT_PSEUDO_KEY}};
    struct cli_args a;
    struct wm_buf b;
    const char *bsn = NULL, *keyfile = NULL;
    int has_person = 0;
    int ex = cli_cmd_begin(&a, cfg, "send", argc, argv, defs, 2, send_help);

    if (ex >= 0)
        return ex;
    wm_buf_init(&b);
    for (size_t i = 0; i < a.nopts; i++) {
        if (a.opts[i].id == OPT_BSN)
            bsn = a.opts[i].value;
        else if (a.opts[i].id == OPT_PSEUDO_KEY)
            keyfile = a.opts[i].value;
    }
    if ((ex = build_event(&b, &a, &bsn, &has_person)) >= 0)
        goto out;
    if (bsn != NULL && has_person)
        ex = cli_usage_error("send", "give either person= or a BSN, not both");
    else if (bsn != NULL)
        ex = append_pseudonym(&b, "send", bsn, keyfile);
    else if (keyfile != NULL)
        ex = cli_usage_error("send", "--pseudo-key is only used with --bsn");
    if (ex < 0)
        ex = cli_run_line(cfg, &b);
out:
    wm_buf_free(&b);
    cli_args_free(&a);
    return ex;
}

static const char retract_help[] =
    "Usage: werkmonitor retract id=<new id> ref=<id> [reason=<text>]\n"
    "       werkmonitor retract id=<new id> seq=<n> [reason=<text>]   (admin)\n"
    "\n"
    "Withdraw one of your own events (ref=, its id) or, as admin, any event by its\n"
    "sequence number. The retraction is stored for the audit trail and the event stops\n"
    "counting. Prints 'OK <seq>' or 'DUP <seq>' (exit 0), or the ERR line (exit 1).\n";

int cli_cmd_retract(struct cli_config *cfg, int argc, char **argv)
{
    struct cli_args a;
    struct wm_buf b;
    int ex = cli_cmd_begin(&a, cfg, "retract", argc, argv, NULL, 0, retract_help);

    if (ex >= 0)
        return ex;
    wm_buf_init(&b);
    if (a.npos == 0) {
        ex = cli_usage_error("retract", "missing id=<new id> and ref=<id>");
        goto out;
    }
    wm_buf_puts(&b, "RETRACT");
    for (size_t i = 0; i < a.npos; i++) {
        if (cli_append_kv(&b, "retract", a.pos[i]) != WM_OK) {
            ex = CLI_EXIT_USAGE;
            goto out;
        }
    }
    ex = cli_run_line(cfg, &b);
out:
    wm_buf_free(&b);
    cli_args_free(&a);
    return ex;
}
