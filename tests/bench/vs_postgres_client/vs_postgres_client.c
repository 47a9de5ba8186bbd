/*
 * vs_postgres_client: the load and query client of tests/bench/vs_postgres. It replays
 * rows of one CSV event file into werkmonitord (EVENT lines) or PostgreSQL (a prepared
 * INSERT, one transaction per event), so both get exactly the same data, and times
 * queries on either. Built by the harness with cc and libpq (not by CMake: libpq is a
 * benchmark-only dependency). Prints one JSON object on stdout.
 *
 *   vs_postgres_client wm HOST PORT FILE FROM COUNT CLIENTS PIPELINE [SECONDS]
 *   vs_postgres_client pg CONNINFO TABLE FILE FROM COUNT CLIENTS PIPELINE [SECONDS]
 *   vs_postgres_client wmq HOST PORT WARMUP REPS LINE
 *   vs_postgres_client pgq CONNINFO WARMUP REPS SQL
 *
 * Replay: rows [FROM, FROM + COUNT) of FILE (';'-separated, a header naming the
 * columns, no quoting; an empty cell is an absent field / SQL NULL) are split into
 * CLIENTS contiguous slices, one connection and thread each, every thread keeping up to
 * PIPELINE events in flight. PIPELINE 1 waits for each acknowledgement; PostgreSQL
 * then runs PQexecPrepared per event (autocommit), above 1 it uses libpq's pipeline
 * mode with a Sync after every INSERT, so each event is still its own transaction and
 * its result arrives only after its commit is flushed. The clock runs from the moment
 * every connection is up to the last acknowledgement; the latency of an event is from
 * its send to its acknowledgement. With SECONDS, a client sends nothing new after that
 * long (what is in flight is still waited for), so a slow disk cannot stretch a run.
 *
 * Queries: WARMUP unmeasured runs, then REPS measured ones on one connection (pgq
 * prepares the statement once); the rows of the last run are printed for comparison.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#define MAX_COLS 32
#define OUT_HIGH (256 * 1024) /* stop adding requests while this much is unsent */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "vs_postgres_client: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        die("out of memory (%zu bytes)", n);
    return p;
}

/* ---- the event file --------------------------------------------------------- */

struct csv {
    const char *data; /* the whole file, mapped */
    size_t len;
    char cols[MAX_COLS][32];
    int ncols;
    const char **rows; /* start of each data row */
    size_t nrows;
};

static void csv_open(struct csv *c, const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY);
    const char *p, *end;
    size_t cap = 1024;

    if (fd < 0 || fstat(fd, &st) != 0)
        die("%s: %s", path, strerror(errno));
    c->len = (size_t)st.st_size;
    c->data = mmap(NULL, c->len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (c->data == MAP_FAILED)
        die("%s: mmap: %s", path, strerror(errno));
    end = c->data + c->len;
    /* the header: column names */
    p = c->data;
    c->ncols = 0;
    while (p < end && *p != '\n') {
        const char *q = p;
        while (q < end && *q != ';' && *q != '\n')
            q++;
        if (c->ncols == MAX_COLS || (size_t)(q - p) >= sizeof c->cols[0])
            die("%s: header has too many or too long columns", path);
        memcpy(c->cols[c->ncols], p, (size_t)(q - p));
        c->cols[c->ncols][q - p] = '\0';
        c->ncols++;
        p = q < end && *q == ';' ? q + 1 : q;
    }
    if (c->ncols == 0 || strcmp(c->cols[0], "type") != 0)
        die("%s: the first column must be 'type'", path);
    p = p < end ? p + 1 : p;
    c->rows = xmalloc(cap * sizeof *c->rows);
    c->nrows = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (c->nrows == cap) {
            cap *= 2;
            c->rows = realloc(c->rows, cap * sizeof *c->rows);
            if (c->rows == NULL)
                die("out of memory");
        }
        c->rows[c->nrows++] = p;
        p = nl ? nl + 1 : end;
    }
}

/* Split row i into its cells: starts and lengths. */
static void csv_cells(const struct csv *c, size_t i, const char **cell, size_t *len)
{
    const char *p = c->rows[i], *end = c->data + c->len;

    for (int k = 0; k < c->ncols; k++) {
        const char *q = p;
        while (q < end && *q != ';' && *q != '\n')
            q++;
        cell[k] = p;
        len[k] = (size_t)(q - p);
        p = q < end && *q == ';' ? q + 1 : q;
    }
}

/* ---- a growable output buffer ------------------------------------------------ */

struct obuf {
    char *d;
    size_t off, len, cap; /* unsent bytes are d[off, len) */
};

static void obuf_put(struct obuf *b, const char *s, size_t n)
{
    if (b->off > 0 && b->off == b->len)
        b->off = b->len = 0;
    if (b->len + n > b->cap) {
        if (b->off > 0) {
            memmove(b->d, b->d + b->off, b->len - b->off);
            b->len -= b->off;
            b->off = 0;
        }
        while (b->len + n > b->cap) {
            b->cap = b->cap ? b->cap * 2 : 65536;
            b->d = realloc(b->d, b->cap);
            if (b->d == NULL)
                die("out of memory");
        }
    }
    memcpy(b->d + b->len, s, n);
    b->len += n;
}

/* An EVENT line of row i: the type, then key=value for every non-empty cell, values
 * %-escaped where the protocol asks for it. */
static void event_line(const struct csv *c, size_t i, struct obuf *b)
{
    const char *cell[MAX_COLS];
    size_t len[MAX_COLS];

    csv_cells(c, i, cell, len);
    obuf_put(b, "EVENT ", 6);
    obuf_put(b, cell[0], len[0]);
    for (int k = 1; k < c->ncols; k++) {
        if (len[k] == 0)
            continue;
        obuf_put(b, " ", 1);
        obuf_put(b, c->cols[k], strlen(c->cols[k]));
        obuf_put(b, "=", 1);
        for (size_t j = 0; j < len[k]; j++) {
            unsigned char ch = (unsigned char)cell[k][j];
            if (ch <= ' ' || ch == '%' || ch == 0x7f) {
                char esc[4];
                snprintf(esc, sizeof esc, "%%%02X", ch);
                obuf_put(b, esc, 3);
            } else {
                obuf_put(b, cell[k] + j, 1);
            }
        }
    }
    obuf_put(b, "\n", 1);
}

/* ---- replay ----------------------------------------------------------------------- */

struct job {
    /* shared, read-only */
    const struct csv *csv;
    int pipeline;
    /* this thread's slice */
    size_t from, count;
    pthread_t th;
    /* results */
    uint64_t *lat_ns; /* one per event */
    size_t acked, errors;
    char first_error[256];
    /* connection, set up before the clock starts */
    int fd;
    PGconn *pg;
};

static pthread_barrier_t start_barrier;
static uint64_t deadline_ns; /* 0: none; else no new request after this time */

/* The rows this job may still send: all, or none once the deadline has passed. */
static size_t job_limit(const struct job *j, size_t sent)
{
    if (deadline_ns != 0 && now_ns() >= deadline_ns)
        return sent;
    return j->count;
}

static void job_error(struct job *j, const char *msg, size_t n)
{
    if (j->errors++ == 0) {
        if (n >= sizeof j->first_error)
            n = sizeof j->first_error - 1;
        memcpy(j->first_error, msg, n);
        j->first_error[n] = '\0';
        while (n > 0 && (j->first_error[n - 1] == '\n' || j->first_error[n - 1] == '\r'))
            j->first_error[--n] = '\0';
    }
}

static int tcp_connect(const char *host, const char *port)
{
    struct addrinfo hints, *ai = NULL;
    int fd, one = 1, rc;

    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0)
        die("%s:%s: %s", host, port, gai_strerror(rc));
    fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0)
        die("connect %s:%s: %s", host, port, strerror(errno));
    freeaddrinfo(ai);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* werkmonitor: keep up to pipeline EVENT lines in flight; each reply line acknowledges
 * the oldest request (replies come in request order). */
static void wm_replay(struct job *j)
{
    struct obuf out = {0};
    char in[65536];
    size_t inlen = 0, sent = 0, pipeline = (size_t)j->pipeline;
    uint64_t *sent_at = xmalloc(j->count * sizeof *sent_at);

    fcntl(j->fd, F_SETFL, fcntl(j->fd, F_GETFL) | O_NONBLOCK);
    for (;;) {
        struct pollfd pfd;
        size_t limit = job_limit(j, sent);
        if (j->acked == limit)
            break;
        while (sent < limit && sent - j->acked < pipeline && out.len - out.off < OUT_HIGH) {
            event_line(j->csv, j->from + sent, &out);
            sent_at[sent++] = now_ns();
        }
        while (out.off < out.len) {
            ssize_t n = write(j->fd, out.d + out.off, out.len - out.off);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN)
                    break;
                die("write: %s", strerror(errno));
            }
            out.off += (size_t)n;
        }
        pfd.fd = j->fd;
        pfd.events = (short)(POLLIN | (out.off < out.len ? POLLOUT : 0));
        if (poll(&pfd, 1, 60000) <= 0)
            die("no reply from werkmonitord for 60 s (%zu of %zu acknowledged)", j->acked,
                j->count);
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(j->fd, in + inlen, sizeof in - inlen);
            size_t start = 0;
            if (n == 0)
                die("werkmonitord closed the connection");
            if (n < 0) {
                if (errno == EINTR || errno == EAGAIN)
                    continue;
                die("read: %s", strerror(errno));
            }
            inlen += (size_t)n;
            for (size_t k = 0; k < inlen; k++) {
                if (in[k] != '\n')
                    continue;
                if (j->acked >= sent)
                    die("a reply to nothing: %.*s", (int)(k - start), in + start);
                j->lat_ns[j->acked] = now_ns() - sent_at[j->acked];
                if (!(k - start >= 3 && memcmp(in + start, "OK ", 3) == 0) &&
                    !(k - start >= 4 && memcmp(in + start, "DUP ", 4) == 0))
                    job_error(j, in + start, k - start);
                j->acked++;
                start = k + 1;
            }
            memmove(in, in + start, inlen - start);
            inlen -= start;
            if (inlen == sizeof in)
                die("reply line too long");
        }
    }
    free(sent_at);
    free(out.d);
}

/* The INSERT's parameters of row i: the cells, NULL where empty. */
static void pg_params(const struct csv *c, size_t i, char *scratch, const char **vals)
{
    const char *cell[MAX_COLS];
    size_t len[MAX_COLS];

    csv_cells(c, i, cell, len);
    for (int k = 0; k < c->ncols; k++) {
        if (len[k] == 0) {
            vals[k] = NULL;
            continue;
        }
        memcpy(scratch, cell[k], len[k]);
        scratch[len[k]] = '\0';
        vals[k] = scratch;
        scratch += len[k] + 1;
    }
}

static void pg_result(struct job *j, PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char *m = PQresultErrorMessage(res);
        job_error(j, m, strlen(m));
    }
}

static void pg_replay(struct job *j)
{
    const struct csv *c = j->csv;
    const char *vals[MAX_COLS];
    char *scratch = xmalloc(65536);
    uint64_t *sent_at = xmalloc(j->count * sizeof *sent_at);
    size_t sent = 0, pipeline = (size_t)j->pipeline;
    int in_query = 0; /* a query's results are being read (before its NULL) */

    if (pipeline <= 1) {
        for (; j->acked < job_limit(j, j->acked); j->acked++) {
            uint64_t t0 = now_ns();
            PGresult *res;
            pg_params(c, j->from + j->acked, scratch, vals);
            res = PQexecPrepared(j->pg, "ins", c->ncols, vals, NULL, NULL, 0);
            pg_result(j, res);
            PQclear(res);
            j->lat_ns[j->acked] = now_ns() - t0;
        }
        goto done;
    }
    if (PQsetnonblocking(j->pg, 1) != 0 || PQenterPipelineMode(j->pg) != 1)
        die("cannot enter pipeline mode: %s", PQerrorMessage(j->pg));
    for (;;) {
        struct pollfd pfd;
        int flush;
        size_t limit = job_limit(j, sent);
        if (j->acked == limit)
            break;
        while (sent < limit && sent - j->acked < pipeline) {
            pg_params(c, j->from + sent, scratch, vals);
            if (PQsendQueryPrepared(j->pg, "ins", c->ncols, vals, NULL, NULL, 0) != 1 ||
                PQpipelineSync(j->pg) != 1)
                die("send: %s", PQerrorMessage(j->pg));
            sent_at[sent++] = now_ns();
        }
        flush = PQflush(j->pg);
        if (flush < 0)
            die("flush: %s", PQerrorMessage(j->pg));
        pfd.fd = PQsocket(j->pg);
        pfd.events = (short)(POLLIN | (flush == 1 ? POLLOUT : 0));
        if (poll(&pfd, 1, 60000) <= 0)
            die("no reply from PostgreSQL for 60 s");
        if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        if (PQconsumeInput(j->pg) != 1)
            die("read: %s", PQerrorMessage(j->pg));
        /* Per event: the INSERT's result, NULL, then the Sync's PIPELINE_SYNC. */
        while (j->acked < sent && !PQisBusy(j->pg)) {
            PGresult *res = PQgetResult(j->pg);
            if (res == NULL) {
                if (!in_query)
                    break; /* nothing more has arrived */
                in_query = 0;
                continue;
            }
            if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
                j->lat_ns[j->acked] = now_ns() - sent_at[j->acked];
                j->acked++;
            } else {
                in_query = 1;
                pg_result(j, res);
            }
            PQclear(res);
        }
    }
    PQexitPipelineMode(j->pg);
done:
    free(sent_at);
    free(scratch);
}

static void *job_main(void *arg)
{
    struct job *j = arg;

    pthread_barrier_wait(&start_barrier);
    if (j->pg)
        pg_replay(j);
    else
        wm_replay(j);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_us(const uint64_t *v, size_t n, double p)
{
    size_t i;
    if (n == 0)
        return 0;
    i = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)v[i] / 1000.0;
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static PGconn *pg_connect(const char *conninfo)
{
    PGconn *pg = PQconnectdb(conninfo);
    if (PQstatus(pg) != CONNECTION_OK)
        die("PostgreSQL: %s", PQerrorMessage(pg));
    return pg;
}

static int replay(int is_pg, int argc, char **argv)
{
    struct csv c;
    const char *file;
    size_t from, count, clients, total = 0, errors = 0;
    int pipeline;
    double seconds = argc == 10 ? atof(argv[9]) : 0;
    struct job *jobs;
    uint64_t t0, t1, *lat;
    const char *first_error = "";
    char sql[1024];

    /* wm HOST PORT FILE ... and pg CONNINFO TABLE FILE ...: the same places */
    file = argv[4];
    from = strtoul(argv[5], NULL, 10);
    count = strtoul(argv[6], NULL, 10);
    clients = strtoul(argv[7], NULL, 10);
    pipeline = atoi(argv[8]);
    csv_open(&c, file);
    if (clients < 1 || pipeline < 1 || from + count > c.nrows)
        die("rows [%zu, %zu) of %s (%zu rows), %zu clients, pipeline %d: out of range", from,
            from + count, file, c.nrows, clients, pipeline);
    if (is_pg) {
        int n = snprintf(sql, sizeof sql, "INSERT INTO %s (", argv[3]);
        for (int k = 0; k < c.ncols; k++)
            n += snprintf(sql + n, sizeof sql - (size_t)n, "%s%s", k ? "," : "", c.cols[k]);
        n += snprintf(sql + n, sizeof sql - (size_t)n, ") VALUES (");
        for (int k = 0; k < c.ncols; k++)
            n += snprintf(sql + n, sizeof sql - (size_t)n, "%s$%d", k ? "," : "", k + 1);
        snprintf(sql + n, sizeof sql - (size_t)n, ")");
    }
    jobs = calloc(clients, sizeof *jobs);
    if (jobs == NULL)
        die("out of memory");
    pthread_barrier_init(&start_barrier, NULL, (unsigned)clients + 1);
    for (size_t t = 0; t < clients; t++) {
        struct job *j = &jobs[t];
        j->csv = &c;
        j->pipeline = pipeline;
        j->from = from + count * t / clients;
        j->count = from + count * (t + 1) / clients - j->from;
        j->lat_ns = xmalloc(j->count * sizeof *j->lat_ns);
        if (is_pg) {
            PGresult *res;
            j->pg = pg_connect(argv[2]);
            res = PQprepare(j->pg, "ins", sql, c.ncols, NULL);
            if (PQresultStatus(res) != PGRES_COMMAND_OK)
                die("prepare %s: %s", sql, PQerrorMessage(j->pg));
            PQclear(res);
        } else {
            j->fd = tcp_connect(argv[2], argv[3]);
        }
        if (pthread_create(&j->th, NULL, job_main, j) != 0)
            die("pthread_create failed");
    }
    t0 = now_ns();
    if (seconds > 0)
        deadline_ns = t0 + (uint64_t)(seconds * 1e9);
    pthread_barrier_wait(&start_barrier);
    for (size_t t = 0; t < clients; t++)
        pthread_join(jobs[t].th, NULL);
    t1 = now_ns();
    lat = xmalloc(count * sizeof *lat);
    for (size_t t = 0; t < clients; t++) {
        memcpy(lat + total, jobs[t].lat_ns, jobs[t].acked * sizeof *lat);
        total += jobs[t].acked;
        if (jobs[t].errors && errors == 0)
            first_error = jobs[t].first_error;
        errors += jobs[t].errors;
    }
    qsort(lat, total, sizeof *lat, cmp_u64);
    printf("{\"events\": %zu, \"seconds\": %.6f, \"rate\": %.1f, \"p50_us\": %.1f, "
           "\"p99_us\": %.1f, \"max_us\": %.1f, \"errors\": %zu, \"first_error\": ",
           total, (double)(t1 - t0) / 1e9, (double)total / ((double)(t1 - t0) / 1e9),
           pct_us(lat, total, 0.5), pct_us(lat, total, 0.99), pct_us(lat, total, 1.0), errors);
    json_str(first_error);
    printf("}\n");
    for (size_t t = 0; t < clients; t++) {
        if (jobs[t].pg)
            PQfinish(jobs[t].pg);
        else
            close(jobs[t].fd);
        free(jobs[t].lat_ns);
    }
    free(lat);
    free(jobs);
    return errors ? 1 : 0;
}

/* ---- queries ------------------------------------------------------------------------ */

/* Read one werkmonitor response (a line, or ROW lines through END) into *rows (the ROW
 * lines, '\n'-separated); returns 0, or -1 when it is an ERR. */
static int wm_response(int fd, struct obuf *in, struct obuf *rows)
{
    rows->off = rows->len = 0;
    for (;;) {
        char *nl;
        while ((nl = memchr(in->d + in->off, '\n', in->len - in->off)) != NULL) {
            char *line = in->d + in->off;
            size_t n = (size_t)(nl - line);
            in->off += n + 1;
            if (n >= 4 && memcmp(line, "ROW ", 4) == 0) {
                obuf_put(rows, line + 4, n - 4);
                obuf_put(rows, "\n", 1);
                continue;
            }
            if (n >= 4 && memcmp(line, "ERR ", 4) == 0) {
                obuf_put(rows, line, n);
                return -1;
            }
            return 0; /* END n, or a one-line answer */
        }
        if (in->off > 0) {
            memmove(in->d, in->d + in->off, in->len - in->off);
            in->len -= in->off;
            in->off = 0;
        }
        if (in->len + 4096 > in->cap) {
            in->cap = in->cap ? in->cap * 2 : 65536;
            in->d = realloc(in->d, in->cap);
            if (in->d == NULL)
                die("out of memory");
        }
        {
            ssize_t n = read(fd, in->d + in->len, in->cap - in->len);
            if (n <= 0)
                die("werkmonitord: %s", n == 0 ? "connection closed" : strerror(errno));
            in->len += (size_t)n;
        }
    }
}

static void print_query(const uint64_t *lat, int reps, const struct obuf *rows)
{
    printf("{\"reps\": %d, \"median_us\": %.1f, \"p99_us\": %.1f, \"min_us\": %.1f, "
           "\"rows\": ",
           reps, pct_us(lat, (size_t)reps, 0.5), pct_us(lat, (size_t)reps, 0.99),
           pct_us(lat, (size_t)reps, 0.0));
    {
        char *s = xmalloc(rows->len - rows->off + 1);
        memcpy(s, rows->d + rows->off, rows->len - rows->off);
        s[rows->len - rows->off] = '\0';
        json_str(s);
        free(s);
    }
    printf("}\n");
}

static int wm_query(char **argv)
{
    int fd = tcp_connect(argv[2], argv[3]);
    int warm = atoi(argv[4]), reps = atoi(argv[5]);
    const char *q = argv[6];
    struct obuf in = {0}, rows = {0};
    char *line = xmalloc(strlen(q) + 2);
    uint64_t *lat = xmalloc((size_t)(reps > 0 ? reps : 1) * sizeof *lat);

    if (reps < 1)
        die("REPS must be at least 1");
    sprintf(line, "%s\n", q);
    for (int r = -warm; r < reps; r++) {
        uint64_t t0 = now_ns();
        if (write(fd, line, strlen(line)) != (ssize_t)strlen(line))
            die("write: %s", strerror(errno));
        if (wm_response(fd, &in, &rows) != 0)
            die("%s: %.*s", q, (int)(rows.len - rows.off), rows.d + rows.off);
        if (r >= 0)
            lat[r] = now_ns() - t0;
        if (in.off == in.len)
            in.off = in.len = 0;
    }
    qsort(lat, (size_t)reps, sizeof *lat, cmp_u64);
    print_query(lat, reps, &rows);
    close(fd);
    return 0;
}

static int pg_query(char **argv)
{
    PGconn *pg = pg_connect(argv[2]);
    int warm = atoi(argv[3]), reps = atoi(argv[4]);
    const char *q = argv[5];
    struct obuf rows = {0};
    uint64_t *lat = xmalloc((size_t)(reps > 0 ? reps : 1) * sizeof *lat);
    PGresult *res;

    if (reps < 1)
        die("REPS must be at least 1");
    res = PQprepare(pg, "q", q, 0, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        die("prepare: %s", PQerrorMessage(pg));
    PQclear(res);
    for (int r = -warm; r < reps; r++) {
        uint64_t t0 = now_ns();
        res = PQexecPrepared(pg, "q", 0, NULL, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
            die("%s: %s", q, PQerrorMessage(pg));
        if (r >= 0)
            lat[r] = now_ns() - t0;
        if (r == reps - 1) {
            for (int i = 0; i < PQntuples(res); i++) {
                for (int k = 0; k < PQnfields(res); k++) {
                    const char *v = PQgetisnull(res, i, k) ? "-" : PQgetvalue(res, i, k);
                    if (k)
                        obuf_put(&rows, " ", 1);
                    obuf_put(&rows, PQfname(res, k), strlen(PQfname(res, k)));
                    obuf_put(&rows, "=", 1);
                    obuf_put(&rows, v, strlen(v));
                }
                obuf_put(&rows, "\n", 1);
            }
        }
        PQclear(res);
    }
    qsort(lat, (size_t)reps, sizeof *lat, cmp_u64);
    print_query(lat, reps, &rows);
    PQfinish(pg);
    return 0;
}

int main(int argc, char **argv)
{
    if ((argc == 9 || argc == 10) && strcmp(argv[1], "wm") == 0)
        return replay(0, argc, argv);
    if ((argc == 9 || argc == 10) && strcmp(argv[1], "pg") == 0)
        return replay(1, argc, argv);
    if (argc == 7 && strcmp(argv[1], "wmq") == 0)
        return wm_query(argv);
    if (argc == 6 && strcmp(argv[1], "pgq") == 0)
        return pg_query(argv);
    fprintf(stderr, "usage:\n"
                    "  vs_postgres_client wm HOST PORT FILE FROM COUNT CLIENTS PIPELINE [SECONDS]\n"
                    "  vs_postgres_client pg CONNINFO TABLE FILE FROM COUNT CLIENTS PIPELINE "
                    "[SECONDS]\n"
                    "  vs_postgres_client wmq HOST PORT WARMUP REPS LINE\n"
                    "  vs_postgres_client pgq CONNINFO WARMUP REPS SQL\n");
    return 2;
}
