#!/usr/bin/env python3
"""http_bench: the HTTP read API's performance, measured, not asserted.

  latency  HTTP GET /v1/count against the same COUNT over the line protocol, one at a
           time on one keep-alive connection each, interleaved in the same run; medians
           and their ratio (goal: HTTP within 2x).
  wrk      `wrk` keep-alive load on /v1/count (goal: at least 10,000 requests/s on a
           2-core machine), a one-row COUNT and a grouped one; wrk's own reports.
  sse      N subscribers on /v1/totals/stream; one EVENT on the line protocol; the time
           until every subscriber has the push (goal: 1,000 within 100 ms), repeated.

  python3 tests/bench/http_bench.py all --events 1000000
  python3 tests/bench/http_bench.py sse --subscribers 1000 --reps 20
  python3 tests/bench/http_bench.py wrk --wrk-connections 50 --duration 10

Without --addr/--http it starts build/werkmonitord on free ports with a fresh data
directory under --workdir (default /var/tmp) loaded with --events generated events
(query_bench.py's generator), and removes it afterwards. Both client and daemon run on
this machine: quote the figures with the machine's load (vmstat's steal column).
"""
import argparse
import os
import resource
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import query_bench  # noqa: E402  (the generator and loader of the query benchmark)

# The COUNTs of query_bench.py, as line and as query string.
QUERIES = [
    ("COUNT placed", "type=placed"),
    ("COUNT started by=project,gemeente", "type=started&by=project,gemeente"),
    ("COUNT completed by=month from=2022-01-01 to=2022-12-31",
     "type=completed&by=month&from=2022-01-01&to=2022-12-31"),
    ("COUNT placed by=sector from=2021-03-15 to=2023-08-20",
     "type=placed&by=sector&from=2021-03-15&to=2023-08-20"),
]
# wrk's queries: the one-row headline figure, and a grouped one that reads many cells.
WRK_QUERIES = ["type=placed", "type=placed&by=sector"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class RawHttp:
    """A keep-alive HTTP/1.1 connection that sends ready-made requests and reads each
    answer by its Content-Length: as little client work as the line protocol's."""

    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def get(self, path):
        self.sock.sendall(b"GET %s HTTP/1.1\r\nHost: bench\r\n\r\n" % path.encode())
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.sock.recv(1 << 16)
        head, rest = self.buf.split(b"\r\n\r\n", 1)
        status = int(head.split(b" ", 2)[1])
        n = 0
        for line in head.split(b"\r\n")[1:]:
            k, v = line.split(b":", 1)
            if k.lower() == b"content-length":
                n = int(v)
        while len(rest) < n:
            rest += self.sock.recv(1 << 16)
        body, self.buf = rest[:n], rest[n:]
        if status != 200:
            raise RuntimeError("GET %s: %d %r" % (path, status, body[:200]))
        return body


def bench_latency(host, lport, hport, reps):
    line = query_bench.Conn(host, lport)
    web = RawHttp(host, hport)
    print("\n== latency: one query at a time, line protocol vs HTTP, interleaved (%d reps)" % reps)
    for q, qs in QUERIES:
        path = "/v1/count?" + qs
        tl, th = [], []
        for _ in range(5):  # warm up both
            line.query(q)
            web.get(path)
        for _ in range(reps):
            t0 = time.perf_counter()
            line.query(q)
            t1 = time.perf_counter()
            web.get(path)
            t2 = time.perf_counter()
            tl.append((t1 - t0) * 1e3)
            th.append((t2 - t1) * 1e3)
        ml, mh = statistics.median(tl), statistics.median(th)
        print("  %-52s line %7.3f ms   http %7.3f ms   http/line %.2f" % (q, ml, mh, mh / ml))
        sys.stdout.flush()


def bench_wrk(host, hport, connections, duration, threads):
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is not installed (Debian package wrk: scripts/deps.sh --bench installs it)")
    for q in WRK_QUERIES:
        url = "http://%s:%d/v1/count?%s" % (host, hport, q)
        print("\n== wrk -t%d -c%d -d%ds --latency %s" % (threads, connections, duration, url))
        sys.stdout.flush()
        subprocess.run([wrk, "-t%d" % threads, "-c%d" % connections, "-d%ds" % duration, "--latency", url],
                       check=True)


def bench_sse(host, lport, hport, subscribers, reps):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < subscribers + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, subscribers + 100), hard))
    sel = selectors.DefaultSelector()
    req = b"GET /v1/totals/stream HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n"
    socks = []
    for i in range(subscribers):
        s = socket.create_connection((host, hport))
        s.sendall(req)
        s.setblocking(False)
        socks.append(s)
        sel.register(s, selectors.EVENT_READ, i)
    # Every subscriber's buffer; an event counts once "id: <seq>" has arrived.
    bufs = [b""] * subscribers

    def wait_for(marker, timeout):
        """Read until every subscriber's buffer holds marker; returns the time at which
        the last one did (or None on timeout)."""
        left = set(i for i in range(subscribers) if marker not in bufs[i])
        deadline = time.perf_counter() + timeout
        last = time.perf_counter()
        while left:
            if time.perf_counter() > deadline:
                return None
            for key, _ in sel.select(0.5):
                i = key.data
                d = key.fileobj.recv(65536)
                if not d:
                    raise RuntimeError("subscriber %d was closed" % i)
                bufs[i] += d
                if i in left and marker in bufs[i]:
                    left.discard(i)
                    last = time.perf_counter()
        return last

    line = query_bench.Conn(host, lport)
    seq = int(RawHttp(host, hport).get("/v1/totals").split(b'"seq":')[1].split(b",")[0])
    if wait_for(b"id: %d\n" % seq, 30) is None:
        raise RuntimeError("not every subscriber got its first event")
    print("\n== sse: %d subscribers on /v1/totals/stream; one EVENT per rep (%d reps)" % (subscribers, reps))
    times, after_ok = [], []
    for r in range(reps):
        bufs = [b""] * subscribers
        time.sleep(0.3)  # beyond the 100 ms coalescing window: the push goes at once
        t0 = time.perf_counter()
        resp, _ = line.query("EVENT started id=sse-bench-%d-%d person=pseudo-sse-bench gemeente=hilversum "
                             "date=2022-02-02 project=%s" % (os.getpid(), r, query_bench.PROJECTS[0]))
        t_ok = time.perf_counter()
        if not resp.startswith("OK"):
            raise RuntimeError(resp)
        seq = int(resp.split()[1])
        t_last = wait_for(b"id: %d\n" % seq, 10)
        if t_last is None:
            raise RuntimeError("rep %d: not every subscriber got seq %d within 10 s" % (r, seq))
        times.append((t_last - t0) * 1e3)
        after_ok.append((t_last - t_ok) * 1e3)
    # The OK leaves when the commit is done, in the same loop iteration that schedules
    # the push: from the OK on is the fan-out of one commit to every subscriber.
    print("  from the commit (its OK) to the last of %d subscribers holding the push: median %.1f ms, "
          "min %.1f, max %.1f" % (subscribers, statistics.median(after_ok), min(after_ok), max(after_ok)))
    print("  from EVENT sent (fsync included): median %.1f ms, min %.1f, max %.1f"
          % (statistics.median(times), min(times), max(times)))
    print("  (both include this client reading %d sockets)" % subscribers)
    for s in socks:
        s.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["latency", "wrk", "sse", "all"])
    ap.add_argument("--addr", help="HOST:PORT of a running daemon's line protocol (with --http)")
    ap.add_argument("--http", help="HOST:PORT of its HTTP listener (open mode)")
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "../../build"))
    ap.add_argument("--workdir", default="/var/tmp")
    ap.add_argument("--events", type=int, default=100000, help="events loaded first (fresh daemon)")
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--sse-reps", type=int, default=20)
    ap.add_argument("--wrk-connections", type=int, default=50)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--duration", type=int, default=10)
    args = ap.parse_args()

    proc = None
    datadir = None
    host = "127.0.0.1"
    if args.addr:
        host, lport = args.addr.rsplit(":", 1)
        lport = int(lport)
        hport = int(args.http.rsplit(":", 1)[1])
    else:
        lport, hport = free_port(), free_port()
        datadir = tempfile.mkdtemp(prefix="wm-httpbench-", dir=args.workdir)
        proc = subprocess.Popen([os.path.join(args.build, "werkmonitord"), "--data", datadir,
                                 "--listen", "%s:%d" % (host, lport), "--http-listen", "%s:%d" % (host, hport),
                                 "--http-max-connections", str(max(1024, args.subscribers + 100)),
                                 "--log-level", "warn"])
        for _ in range(100):
            try:
                socket.create_connection((host, hport)).close()
                break
            except OSError:
                time.sleep(0.1)
    try:
        c = query_bench.Conn(host, lport)
        for i, p in enumerate(query_bench.PROJECTS):
            cat = query_bench.CATEGORIES[i % len(query_bench.CATEGORIES)]
            resp, _ = c.query("PROJECT %s category=%s start=2020-01-01 end=2024-12-31" % (p, cat))
            if not resp.startswith("OK"):
                raise RuntimeError(resp)
        if proc is not None and args.events > 0:
            rate = query_bench.load(host, lport, 0, args.events, 1, max(1, args.events // 4))
            print("loaded %d events (%.0f events/s)" % (args.events, rate))
        print("machine: %d cores; client and daemon on the same machine" % os.cpu_count())
        if args.what in ("latency", "all"):
            bench_latency(host, lport, hport, args.reps)
        if args.what in ("wrk", "all"):
            bench_wrk(host, hport, args.wrk_connections, args.duration, args.wrk_threads)
        if args.what in ("sse", "all"):
            bench_sse(host, lport, hport, args.subscribers, args.sse_reps)
    finally:
        if proc:
            proc.terminate()
            proc.wait()
        if datadir:
            shutil.rmtree(datadir, ignore_errors=True)


if __name__ == "__main__":
    main()
