/*
 * audit: the audit trail of the writes the writer thread applies (who changed what,
 * never a person value), formatted without printf and written with one write(2) per
 * batch. Used by the writer thread alone (commit.c).
 */
#ifndef WM_AUDIT_H
#define WM_AUDIT_H

#include <stdint.h>
#include <time.h>

#include "store.h"

/* How much the trail says about accepted events (config `audit-detail`). */
enum audit_detail {
    /* one line per batch and principal: "op=event n=N ok=A dup=B seq=3..9,12" */
    AUDIT_DETAIL_BATCH,
    /* also one line per event, as earlier versions wrote: "op=event type=T id=I ..." */
    AUDIT_DETAIL_EVENT,
};

/* Parse "batch" or "event". Returns the detail, or -1 for anything else. */
int audit_detail_parse(const char *s);
/* The name of a detail ("batch", "event"). */
const char *audit_detail_name(enum audit_detail d);

struct audit;

/*
 * A new audit trail writing to fd (-1: none; STDERR_FILENO: "info audit ..." log lines;
 * any other descriptor: "<UTC time> audit ..." lines, an audit file). last_seq is the
 * store's last seq when the trail starts, so that a REPLACE's retraction at the seq
 * before its new version is named from the first batch on (0 with an empty store).
 * Returns WM_OK and *out (free with audit_free), or WM_ENOMEM. fd stays the caller's.
 */
int audit_new(int fd, enum audit_detail detail, uint64_t last_seq, struct audit **out);

/* Write the rejections still counted (audit_rejects_flush) and free a. a may be NULL. */
void audit_free(struct audit *a);

/*
 * The lines of one applied batch: items[0..n) after store_apply returned rc, principals[i]
 * naming who asked for a PROJECT or PROGRAM item i (may be NULL when the batch holds
 * none). They are formatted into a's pending buffer (replacing what was there) for
 * audit_write_pending; nothing is written yet. With rc == WM_OK:
 *   - accepted EVENTs (stored or DUP): with AUDIT_DETAIL_BATCH one line per principal
 *     with their count, the DUPs among them and the seqs the stored ones got as ranges;
 *     with AUDIT_DETAIL_EVENT one line each;
 *   - REPLACE, RETRACT, PROJECT, PROGRAM, NOTE: one line each (a REPLACE that retracted
 *     a live version names that retraction's seq, retraction.seq=);
 *   - refused items (an item error): counted per principal, operation and error for
 *     audit_rejects_flush, no line of their own.
 * With rc != WM_OK (nothing was stored) one line per item with its error.
 * now is the time for the lines' timestamp. An allocation failure drops the lines.
 */
void audit_batch(struct audit *a, const struct store_item *items,
                 char (*principals)[WM_NAME_MAX + 1], size_t n, int rc, time_t now);

/* Write the pending lines of audit_batch (one write(2), repeated only for a short
 * write) and empty the buffer. A failing write is logged as an error and the lines
 * are dropped: the trail never stops a commit. */
void audit_write_pending(struct audit *a);

/* 1 when refused items are counted and not yet written. */
int audit_rejects_waiting(const struct audit *a);

/* 1 when the oldest counted rejection is at least every_s seconds older than now. */
int audit_rejects_due(const struct audit *a, time_t now, time_t every_s);

/* Write one line per principal, operation and error counted since the last flush
 * ("result=unknown-project rejected=N"), and start counting afresh. */
void audit_rejects_flush(struct audit *a, time_t now);

#endif
