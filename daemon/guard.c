/*
 * guard: per client address, its connections that have not authenticated yet and its
 * failed AUTHs: a growing delay before the next attempt is judged, one log line when a
 * burst begins and one when it ends. A sweep every few seconds ends quiet bursts and
 * forgets addresses with nothing left to remember.
 */
#include "guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "proto.h"

#define GUARD_BUCKETS 4096 /* a power of two */
#define GUARD_SWEEP_S 5

uint64_t guard_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static size_t guard_hash(const uint8_t key[16])
{
    uint64_t a, b;

    memcpy(&a, key, 8);
    memcpy(&b, key + 8, 8);
    a ^= b * 0x9E3779B97F4A7C15ull;
    a ^= a >> 29;
    return (size_t)(a * 0xBF58476D1CE4E5B9ull >> 40) & (GUARD_BUCKETS - 1);
}

/* The key and text of sa; 0 for a family that has no address (then: overflow). */
static int guard_key(const struct sockaddr *sa, uint8_t key[16], char *text, size_t textlen)
{
    char host[INET6_ADDRSTRLEN];

    memset(key, 0, 16);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &in->sin_addr, 4);
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(text, textlen, "%s", host);
        return 1;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        struct in6_addr net;

        memcpy(key, &in6->sin6_addr, 16);
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            inet_ntop(AF_INET, key + 12, host, sizeof(host));
            snprintf(text, textlen, "%s", host);
            return 1;
        }
        /* one subscriber has a /64 to pick addresses from: count them as one */
        memset(key + 8, 0, 8);
        memcpy(&net, key, 16);
        inet_ntop(AF_INET6, &net, host, sizeof(host));
        snprintf(text, textlen, "%s/64", host);
        return 1;
    }
    return 0;
}

/* Unlink and free a if nothing about it is left to remember at now. */
static void guard_forget(struct guard *g, struct guard_addr *a, uint64_t now)
{
    struct guard_addr **pp;

    if (a == &g->overflow || a->conns > 0 || a->failures > 0 || a->next_ms > now)
        return;
    for (pp = &g->buckets[guard_hash(a->key)]; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == a) {
            *pp = a->next;
            free(a);
            g->n--;
            return;
        }
    }
}

/* The summary line of a's burst, and its end. */
static void guard_end_burst(struct guard_addr *a)
{
    if (a->failures > 1)
        log_msg(LOG_WARN, "auth: the burst of failures from %s ended: %u failed in %llu s", a->text,
                a->failures, (unsigned long long)((a->last_ms - a->burst_ms) / 1000));
    a->failures = 0;
}

static void guard_sweep(evutil_socket_t fd, short what, void *arg)
{
    struct guard *g = arg;
    uint64_t now = guard_now_ms();

    (void)fd;
    (void)what;
    if (g->overflow.failures > 0 && now - g->overflow.last_ms >= GUARD_BURST_GAP_MS)
        guard_end_burst(&g->overflow);
    for (size_t b = 0; b < GUARD_BUCKETS; b++) {
        struct guard_addr *a = g->buckets[b], *next;

        for (; a != NULL; a = next) {
            next = a->next;
            if (a->failures > 0 && now - a->last_ms >= GUARD_BURST_GAP_MS)
                guard_end_burst(a);
            guard_forget(g, a, now);
        }
    }
}

int guard_init(struct guard *g, struct event_base *base)
{
    struct timeval tv = {GUARD_SWEEP_S, 0};

    memset(g, 0, sizeof(*g));
    snprintf(g->overflow.text, sizeof(g->overflow.text), "(addresses beyond %d)", GUARD_MAX_ADDRS);
    g->buckets = calloc(GUARD_BUCKETS, sizeof(*g->buckets));
    g->ev_sweep = event_new(base, -1, EV_PERSIST, guard_sweep, g);
    if (g->buckets == NULL || g->ev_sweep == NULL) {
        guard_free(g);
        return WM_ENOMEM;
    }
    event_add(g->ev_sweep, &tv);
    return WM_OK;
}

void guard_free(struct guard *g)
{
    if (g->buckets != NULL) {
        for (size_t b = 0; b < GUARD_BUCKETS; b++) {
            struct guard_addr *a = g->buckets[b], *next;

            for (; a != NULL; a = next) {
                next = a->next;
                free(a);
            }
        }
        free(g->buckets);
    }
    if (g->ev_sweep != NULL)
        event_free(g->ev_sweep);
    memset(g, 0, sizeof(*g));
}

struct guard_addr *guard_get(struct guard *g, const struct sockaddr *sa)
{
    uint8_t key[16];
    char text[56];
    struct guard_addr *a;
    size_t b;

    if (!guard_key(sa, key, text, sizeof(text)))
        return &g->overflow;
    b = guard_hash(key);
    for (a = g->buckets[b]; a != NULL; a = a->next)
        if (memcmp(a->key, key, 16) == 0)
            return a;
    if (g->n >= GUARD_MAX_ADDRS || (a = calloc(1, sizeof(*a))) == NULL)
        return &g->overflow;
    memcpy(a->key, key, 16);
    memcpy(a->text, text, sizeof(a->text));
    a->next = g->buckets[b];
    g->buckets[b] = a;
    g->n++;
    return a;
}

void guard_conn_open(struct guard *g, struct guard_addr *a, int unauth)
{
    a->conns++;
    if (unauth) {
        a->unauth++;
        g->unauth++;
    }
}

void guard_conn_authenticated(struct guard *g, struct guard_addr *a)
{
    a->unauth--;
    g->unauth--;
}

void guard_conn_close(struct guard *g, struct guard_addr *a, int unauth)
{
    if (unauth) {
        a->unauth--;
        g->unauth--;
    }
    a->conns--;
    guard_forget(g, a, guard_now_ms());
}

uint64_t guard_auth_wait_ms(const struct guard_addr *a, uint64_t now_ms)
{
    return a->next_ms > now_ms ? a->next_ms - now_ms : 0;
}

void guard_auth_failed(struct guard *g, struct guard_addr *a, uint64_t now_ms, const char *via)
{
    uint64_t delay = 0;

    (void)g;
    if (a->failures > 0 && now_ms - a->last_ms >= GUARD_BURST_GAP_MS)
        guard_end_burst(a);
    if (a->failures == 0) {
        a->burst_ms = now_ms;
        log_msg(LOG_WARN,
                "auth: %s failed from %s; further failures from there are slowed (a growing "
                "delay, up to %d s) and summed up when they stop",
                via, a->text, GUARD_DELAY_MAX_MS / 1000);
    }
    a->failures++;
    a->last_ms = now_ms;
    /* the first failure is a typing error: no delay; then 0.1 s, 0.2 s, ... 5 s */
    if (a->failures >= 2) {
        unsigned shift = a->failures - 2 < 16 ? a->failures - 2 : 16;
        delay = (uint64_t)GUARD_DELAY_BASE_MS << shift;
        if (delay > GUARD_DELAY_MAX_MS)
            delay = GUARD_DELAY_MAX_MS;
    }
    if (now_ms + delay > a->next_ms)
        a->next_ms = now_ms + delay;
}
