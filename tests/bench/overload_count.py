#!/usr/bin/env python3
"""overload_count: the daemon's memory under many clients that ask wide COUNTs and never read.

Issue 10: with max-rows and the per-connection output limit, memory must stay bounded
when --connections clients each send the widest COUNT (every dimension of `started`:
ERR too-large) and then, in a second round, a COUNT just under max-rows groups, and none
of them reads its answers. Loads --events generated events (query_bench's generator:
27 projects, eight gemeenten, five years, every kind and doelgroep) into a fresh real
werkmonitord over one pipelined connection, then prints VmRSS and VmHWM (peak) of the
daemon before, after each round and after the clients close, checks that a fresh
connection still gets PONG and that the event count is intact.

  python3 tests/bench/overload_count.py                       # 1M events, 1,000 clients
  python3 tests/bench/overload_count.py --events 20000 --connections 100   # quick

Each client's receive buffer is 4 KiB so that the answers wait in the daemon, not in
the kernel. Exits non-zero when a check fails.
"""
import argparse
import os
import resource
import shutil
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import query_bench  # noqa: E402  (the bench's event generator and loader)

WIDEST = ("COUNT started by=project,category,scope,gemeente,year,halfyear,quarter,month,"
          "kind,doelgroep,benefit")
# 27 projects x 8 gemeenten x 46 months = 9,936 groups at most: just under 10,000.
UNDER = "COUNT started by=project,gemeente,month from=2020-01-01 to=2023-10-31"
MAX_ROWS = 10000  # the daemon's default max-rows
TYPES = ["started", "completed", "placed", "outflow"]


def status_mib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no %s in /proc/%d/status" % (field, pid))


def raise_fd_limit(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def settle(pid, quiet=2.0, limit=300.0):
    """Wait until the daemon's RSS has not changed for `quiet` seconds and it used no
    CPU meanwhile (it has done what the clients asked), at most `limit` seconds."""
    def cpu():
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    t0 = time.monotonic()
    last = (status_mib(pid, "VmRSS"), cpu())
    since = time.monotonic()
    while time.monotonic() - t0 < limit:
        time.sleep(0.25)
        now = (status_mib(pid, "VmRSS"), cpu())
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return time.monotonic() - t0
    return time.monotonic() - t0


def tcp_kernel_mib():
    """Memory the kernel holds in TCP socket buffers, all sockets of the machine (the
    answers a daemon has written that its clients have not read wait there)."""
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                fields = line.split()
                return int(fields[fields.index("mem") + 1]) * os.sysconf("SC_PAGE_SIZE") / 1048576.0
    return 0.0


def cpu_ms(pid):
    """User plus system CPU time of a process, in milliseconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")


def query_cost(pid, conn, line, n=20):
    """The daemon's CPU time per answer of line (the store's read, the typed result and
    its text), and the client's median round trip, over n answers read at once."""
    c0, walls = cpu_ms(pid), []
    for _ in range(n):
        t0 = time.monotonic()
        conn.query(line)
        walls.append(time.monotonic() - t0)
    walls.sort()
    return (cpu_ms(pid) - c0) / n, walls[n // 2] * 1000.0


def report(pid, what):
    rss, hwm = status_mib(pid, "VmRSS"), status_mib(pid, "VmHWM")
    print("  %-52s RSS %7.1f MiB (anon %7.1f), peak (VmHWM) %7.1f MiB; kernel TCP buffers %6.1f MiB"
          % (what, rss, status_mib(pid, "RssAnon"), hwm, tcp_kernel_mib()))
    sys.stdout.flush()
    return rss, hwm


def total_events(host, port):
    conn = query_bench.Conn(host, port)
    n = 0
    for t in TYPES:
        resp, rows = conn.query("COUNT " + t)
        if not resp.startswith("END") or len(rows) != 1:
            raise RuntimeError("COUNT %s answered %r" % (t, resp))
        n += int(rows[0].rsplit("count=", 1)[1])
    conn.sock.close()
    return n


def open_clients(host, port, n):
    socks = []
    for _ in range(n):
        sk = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sk.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sk.settimeout(60)
        sk.connect((host, port))
        socks.append(sk)
    return socks


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1000000, help="events to load (default 1M)")
    ap.add_argument("--connections", type=int, default=1000, help="clients that never read")
    ap.add_argument("--build", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../build"))
    ap.add_argument("--workdir", default="/var/tmp")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the data directory")
    args = ap.parse_args()
    n = args.connections
    if raise_fd_limit(n + 200) < n + 100:
        sys.exit("cannot raise the open file limit to %d" % (n + 200))

    # Open mode (loopback, no token file): no AUTH needed, and the per-address slots of
    # unauthenticated connections do not apply; they are raised anyway in case a config
    # adds a token file.
    proc, host, port, datadir = query_bench.start_daemon(
        args.build, args.workdir, ["--max-connections", str(n + 100), "--idle-timeout", "0",
                                   "--max-per-address", str(n + 100)])
    failures = []
    socks = []
    try:
        pid = proc.pid
        print("machine: %d cores, load average %s; %d events, %d clients that never read"
              % (os.cpu_count(), os.getloadavg()[0], args.events, n))
        conn = query_bench.Conn(host, port)
        query_bench.define_projects(conn)
        conn.sock.close()
        report(pid, "fresh daemon")
        t0 = time.monotonic()
        rate = query_bench.load(host, port, 0, args.events, args.seed, max(1, args.events // 4))
        print("  loaded %d events in %.1f s (%.0f events/s)" % (args.events, time.monotonic() - t0, rate))
        loaded = total_events(host, port)
        if loaded != args.events:
            failures.append("loaded %d events, the store counts %d" % (args.events, loaded))

        # What the two queries answer to a client that reads.
        conn = query_bench.Conn(host, port)
        resp, _ = conn.query(WIDEST)
        print("  widest COUNT answers: %s" % resp[:100])
        # A small store has fewer groups than max-rows: then the rows are the answer.
        if not (resp.startswith("ERR too-large") or resp.startswith("END") and int(resp.split()[1]) <= MAX_ROWS):
            failures.append("the widest COUNT answered %r, not ERR too-large" % resp[:100])
        resp, rows = conn.query(UNDER)
        answer_kib = sum(len(r) + 1 for r in rows) / 1024.0
        print("  second COUNT answers %d rows, %.0f KiB (%s)" % (len(rows), answer_kib, resp))
        if not resp.startswith("END"):
            failures.append("the second COUNT answered %r" % resp[:100])
        for what, line in (("widest COUNT (refused)", WIDEST), ("%d-row COUNT" % len(rows), UNDER)):
            cpu, wall = query_cost(pid, conn, line)
            print("  %s: %.1f ms of daemon CPU each, round trip %.1f ms (median; 20 in a row)"
                  % (what, cpu, wall))
        conn.sock.close()
        settle(pid)
        base_rss, _ = report(pid, "loaded, before the clients")

        socks = open_clients(host, port, n)
        for sk in socks:
            sk.sendall((WIDEST + "\n").encode())
        took = settle(pid)
        report(pid, "round 1: %d x widest COUNT, unread (%.0f s)" % (n, took))
        for sk in socks:
            sk.sendall((UNDER + "\n").encode())
        took = settle(pid)
        rss, hwm = report(pid, "round 2: %d x %d-row COUNT, unread (%.0f s)" % (n, len(rows), took))
        print("  round 2 grew RSS by %.1f MiB: %.0f KiB per client (the answer is %.0f KiB)"
              % (rss - base_rss, (rss - base_rss) * 1024.0 / n, answer_kib))

        # Another client is still served, and nothing was lost.
        t0 = time.monotonic()
        probe = query_bench.Conn(host, port)
        probe.sock.sendall(b"PING\n")
        pong = probe.rf.readline().decode().strip()
        probe.sock.close()
        print("  fresh connection: %s in %.2f s" % (pong, time.monotonic() - t0))
        if pong != "PONG":
            failures.append("PING on a fresh connection answered %r" % pong)
        after = total_events(host, port)
        if after != args.events:
            failures.append("the store counts %d events after the overload, not %d" % (after, args.events))

        for sk in socks:
            sk.close()
        socks = []
        settle(pid)
        report(pid, "after the clients closed")
        print("  event count intact: %d" % after)
        if proc.poll() is not None:
            failures.append("the daemon exited with %d" % proc.returncode)
    finally:
        for sk in socks:
            sk.close()
        proc.terminate()
        proc.wait()
        if not args.keep:
            shutil.rmtree(datadir, ignore_errors=True)
    for f in failures:
        print("FAIL: " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
