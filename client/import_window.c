/*
 * import's window: the rows produced and not yet answered, in a ring. Up to --window
 * of them are in flight; answers come in order and are matched to the head; after a
 * reconnect everything unanswered is sent again (the server's idempotency by id makes
 * that safe: a re-sent event that was stored answers DUP).
 */
#include <stdlib.h>
#include <string.h>

#include "import_int.h"

static struct imp_slot *slot_at(const struct imp_window *w, unsigned long i)
{
    return &w->ring[i % w->cap];
}

static void slot_free(struct imp_slot *s)
{
    wm_buf_free(&s->req);
    wm_buf_free(&s->errs);
    wm_buf_free(&s->raw);
}

int imp_window_init(struct imp_window *w, size_t window)
{
    w->max = window;
    w->cap = 1024;
    while (w->cap < window + 64)
        w->cap *= 2;
    w->ring = calloc(w->cap, sizeof(*w->ring));
    return w->ring != NULL ? WM_OK : WM_ENOMEM;
}

void imp_window_free(struct imp_window *w)
{
    if (w->ring == NULL)
        return;
    for (size_t i = 0; i < w->cap; i++)
        slot_free(&w->ring[i]);
    free(w->ring);
    w->ring = NULL;
}

/* Double the ring, keeping every slot at its counter. */
static int window_grow(struct imp_window *w)
{
    size_t ncap = w->cap * 2;
    struct imp_slot *n = calloc(ncap, sizeof(*n));

    if (n == NULL)
        return WM_ENOMEM;
    for (unsigned long i = w->head; i < w->tail; i++) {
        n[i % ncap] = w->ring[i % w->cap];
        memset(&w->ring[i % w->cap], 0, sizeof(struct imp_slot));
    }
    for (size_t i = 0; i < w->cap; i++)
        slot_free(&w->ring[i]);
    free(w->ring);
    w->ring = n;
    w->cap = ncap;
    return WM_OK;
}

struct imp_slot *imp_window_push(struct imp_window *w)
{
    struct imp_slot *s;

    if (w->tail - w->head == w->cap && window_grow(w) != WM_OK)
        return NULL;
    s = slot_at(w, w->tail++);
    wm_buf_reset(&s->req);
    s->local = 0;
    return s;
}

unsigned long imp_window_unanswered(const struct imp_window *w)
{
    return w->tail - w->head;
}

void imp_window_resend(struct imp_window *w)
{
    w->sent = w->head;
}

int imp_window_send(struct imp *im)
{
    struct imp_window *w = &im->win;

    while (w->sent < w->tail) {
        struct imp_slot *s = slot_at(w, w->sent);

        if (!s->local) {
            int rc = cli_conn_queue(&im->conn, s->req.data, s->req.len);

            if (rc != WM_OK)
                return rc;
        }
        w->sent++;
    }
    return WM_OK;
}

/* A row the server refused: its ERR line becomes the row's reason, the message alone
 * where the code says no more than that ("invalid", "unknown-project"). */
static void server_reject(struct imp *im, const struct imp_slot *s, const char *line, size_t len)
{
    const char *code = line + 4, *msg = memchr(code, ' ', len - 4);
    size_t code_n = msg != NULL ? (size_t)(msg - code) : len - 4;
    struct wm_buf why;

    wm_buf_init(&why);
    if (msg == NULL) {
        wm_buf_append(&why, code, code_n);
    } else {
        msg++;
        if (!(code_n == 7 && memcmp(code, "invalid", 7) == 0) &&
            !(code_n == 15 && memcmp(code, "unknown-project", 15) == 0)) {
            wm_buf_append(&why, code, code_n);
            wm_buf_puts(&why, ": ");
        }
        wm_buf_append(&why, msg, (size_t)(line + len - msg));
    }
    imp_rejects_row(im, s, why.data != NULL ? why.data : "", why.len);
    wm_buf_free(&why);
}

void imp_window_pop_local(struct imp *im)
{
    struct imp_window *w = &im->win;

    while (w->head < w->tail && slot_at(w, w->head)->local) {
        struct imp_slot *s = slot_at(w, w->head);

        imp_rejects_row(im, s, s->errs.data != NULL ? s->errs.data : "", s->errs.len);
        im->acked_off = s->end_off;
        if (w->sent == w->head)
            w->sent++;
        w->head++;
    }
}

int imp_window_answer(struct imp *im, const char *line, size_t len)
{
    struct imp_window *w = &im->win;
    struct imp_slot *s;

    imp_window_pop_local(im);
    if (w->head >= w->sent) {
        snprintf(im->fatal_msg, sizeof(im->fatal_msg),
                 "the server sent an answer nobody asked for: %.200s", line);
        return WM_EPROTOCOL;
    }
    s = slot_at(w, w->head);
    if (strncmp(line, "OK", 2) == 0 && (len == 2 || line[2] == ' ')) {
        /* EVENT's "OK <seq>", REPLACE's "OK <seq> replaced=<seq>", CHECK's "OK" */
        im->stored++;
        im->replaced += strstr(line, " replaced=") != NULL;
    } else if (strncmp(line, "DUP ", 4) == 0) {
        im->dups++;
    } else if (strncmp(line, "ERR unavailable", 15) == 0) {
        /* shutting down or full: not this row's fault; try again elsewhere in time */
        return WM_EUNAVAILABLE;
    } else if (im->dry_run && im->replace && strncmp(line, "ERR conflict ", 13) == 0) {
        /* CHECK's conflict is what REPLACE is for: this row would replace its id */
        im->stored++;
        im->replaced++;
    } else if (strncmp(line, "ERR ", 4) == 0) {
        server_reject(im, s, line, len);
    } else {
        snprintf(im->fatal_msg, sizeof(im->fatal_msg), "unexpected answer to %s: %.200s", im->verb,
                 line);
        return WM_EPROTOCOL;
    }
    im->acked_off = s->end_off;
    w->head++;
    im->lost_since_us = 0;
    imp_window_pop_local(im);
    return WM_OK;
}
