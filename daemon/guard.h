/*
 * guard: what the daemon knows of each client address, so that nobody can hog the
 * slots or guess tokens at speed (docs/SECURITY.md #2 and #10): how many of the
 * address's connections have not authenticated yet (max-per-address, as sshd's
 * PerSourceMaxStartups), and its failed AUTHs and bearer tokens, which push its next
 * accepted attempt further away (a growing delay) and are logged once per burst. IPv6
 * addresses count by their /64, the block one subscriber gets. Loop thread only.
 */
#ifndef WM_DAEMON_GUARD_H
#define WM_DAEMON_GUARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>

/* Addresses tracked at most; beyond this, new ones share one entry (so a flood of
 * addresses is slowed as one, and memory stays bounded). */
#define GUARD_MAX_ADDRS 65536
/* A burst of failures ends after this long without one (its summary is logged then). */
#define GUARD_BURST_GAP_MS 30000
/* The delay after the second failure of a burst, doubled for each further one, up to
 * the cap. */
#define GUARD_DELAY_BASE_MS 100
#define GUARD_DELAY_MAX_MS 5000

/* One client address (or /64). */
struct guard_addr {
    uint8_t key[16];         /* IPv4 as ::ffff:a.b.c.d; IPv6 with its last 64 bits zero */
    char text[56];           /* for logs: "192.0.2.7" or "2001:db8:1:2::/64" */
    unsigned conns;          /* connections of the line protocol holding this entry */
    unsigned unauth;         /* of those, not authenticated yet */
    unsigned failures;       /* failed AUTHs and bearer tokens in the current burst */
    uint64_t burst_ms;       /* when the current burst began */
    uint64_t last_ms;        /* the last failure */
    uint64_t next_ms;        /* no attempt from here is judged before this time */
    struct guard_addr *next; /* hash chain */
};

struct guard {
    struct guard_addr **buckets; /* owned; GUARD_BUCKETS chains */
    size_t n;                    /* entries */
    struct guard_addr overflow;  /* shared by addresses beyond GUARD_MAX_ADDRS */
    struct event *ev_sweep;      /* ends bursts and forgets idle entries */
    uint64_t unauth;             /* line-protocol connections not authenticated yet */
};

/* Monotonic milliseconds. */
uint64_t guard_now_ms(void);

/* Set g up on base (a sweep every few seconds). Returns WM_OK or WM_ENOMEM. */
int guard_init(struct guard *g, struct event_base *base);

/* Free every entry and the timer. */
void guard_free(struct guard *g);

/* The entry of the address in sa (AF_INET or AF_INET6), made when missing. Never NULL:
 * beyond GUARD_MAX_ADDRS, or out of memory, the shared overflow entry. Borrowed from g
 * while it is held (conns > 0) or until the next sweep. */
struct guard_addr *guard_get(struct guard *g, const struct sockaddr *sa);

/* A line-protocol connection from a was accepted (unauth: it still has to AUTH). */
void guard_conn_open(struct guard *g, struct guard_addr *a, int unauth);
/* That connection authenticated (counted out of unauth). */
void guard_conn_authenticated(struct guard *g, struct guard_addr *a);
/* That connection closed; unauth: it never authenticated. */
void guard_conn_close(struct guard *g, struct guard_addr *a, int unauth);

/* Milliseconds before an attempt (AUTH or bearer token) from a may be judged; 0: now. */
uint64_t guard_auth_wait_ms(const struct guard_addr *a, uint64_t now_ms);

/* An attempt from a failed (via: "AUTH" or "http"): the next one from a waits longer,
 * and the first of a burst is logged (the burst's summary when it ends). */
void guard_auth_failed(struct guard *g, struct guard_addr *a, uint64_t now_ms, const char *via);

#endif /* WM_DAEMON_GUARD_H */
