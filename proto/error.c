/*
 * error: the project's one error space (enum wm_err) in words, for people
 * (wm_strerror) and for the wire (wm_err_code), plus the message helper proto_errf.
 */
#include <stdio.h>
#include <string.h>

#include "proto.h"

const char *wm_strerror(int err)
{
    switch (err) {
    case WM_OK:
        return "success";
    case WM_ESYNTAX:
        return "the request cannot be parsed";
    case WM_EUNKNOWN_COMMAND:
        return "no such command";
    case WM_EAUTH_REQUIRED:
        return "authentication required";
    case WM_EAUTH_FAILED:
        return "authentication failed";
    case WM_EDENIED:
        return "permission denied";
    case WM_EINVALID:
        return "invalid field";
    case WM_EUNKNOWN_PROJECT:
        return "unknown project";
    case WM_ECONFLICT:
        return "conflict with a stored event";
    case WM_ENOT_FOUND:
        return "no such event";
    case WM_ETOO_LONG:
        return "line too long";
    case WM_ESTORAGE:
        return "the store cannot accept writes";
    case WM_EUNAVAILABLE:
        return "service unavailable";
    case WM_EINTERNAL:
        return "internal error";
    case WM_ETOO_LARGE:
        return "answer too large";
    case WM_ENOMEM:
        return "out of memory";
    case WM_EIO:
        return "input/output error";
    case WM_EMAPFULL:
        return "database map is full";
    case WM_EVERSION:
        return "unknown format version";
    case WM_ECONNECT:
        return "cannot connect to the server";
    case WM_ECLOSED:
        return "connection closed by peer";
    case WM_EPROTOCOL:
        return "cannot parse the server's reply";
    case WM_ECONFIG:
        return "bad configuration";
    default:
        return "unknown error";
    }
}

const char *wm_err_code(int err)
{
    switch (err) {
    case WM_OK:
        return "ok";
    case WM_ESYNTAX:
        return "syntax";
    case WM_EUNKNOWN_COMMAND:
        return "unknown-command";
    case WM_EAUTH_REQUIRED:
        return "auth-required";
    case WM_EAUTH_FAILED:
        return "auth-failed";
    case WM_EDENIED:
        return "denied";
    case WM_EINVALID:
    case WM_ECONFIG:
        return "invalid";
    case WM_EUNKNOWN_PROJECT:
        return "unknown-project";
    case WM_ECONFLICT:
        return "conflict";
    case WM_ENOT_FOUND:
        return "not-found";
    case WM_ETOO_LONG:
        return "too-long";
    case WM_ETOO_LARGE:
        return "too-large";
    case WM_ESTORAGE:
    case WM_EIO:
    case WM_EMAPFULL:
    case WM_EVERSION:
        return "storage";
    case WM_EUNAVAILABLE:
    case WM_ECONNECT:
    case WM_ECLOSED:
        return "unavailable";
    case WM_EINTERNAL:
    case WM_ENOMEM:
    case WM_EPROTOCOL:
    default:
        /* An unknown code is a bug wherever it came from. */
        return "internal";
    }
}

void proto_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    size_t len, lead, need;
    int n;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    n = vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n < errlen)
        return;
    /* Cut short: drop a UTF-8 character split by the cut, so the message stays valid
     * UTF-8 on the wire. */
    len = strlen(err);
    lead = len;
    while (lead > 0 && len - lead < 3 && ((unsigned char)err[lead - 1] & 0xC0) == 0x80)
        lead--;
    if (lead == 0 || ((unsigned char)err[lead - 1] & 0x80) == 0)
        return;
    lead--; /* err[lead] is the lead byte of the last character */
    need = ((unsigned char)err[lead] & 0xE0) == 0xC0   ? 2
           : ((unsigned char)err[lead] & 0xF0) == 0xE0 ? 3
                                                       : 4;
    if (len - lead < need)
        err[lead] = '\0';
}
