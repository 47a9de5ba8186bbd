#!/usr/bin/env python3
"""query_bench: aggregate query latency over the protocol, at growing store sizes.

Loads generated events (repeat persons, all four types, five years in rough date order,
27 projects, eight gemeenten) into a real werkmonitord through one pipelined connection, then times COUNT
and PROGRESS queries one at a time (send, wait for END) and prints median and p99.

  python3 tests/bench/query_bench.py --sizes 1000000,10000000
  python3 tests/bench/query_bench.py --addr 127.0.0.1:7878 --sizes 100000   # running daemon

Without --addr it starts build/werkmonitord on a free port with a fresh data directory
under --workdir (default /var/tmp), and removes it afterwards unless --keep.
"""
import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

GEMEENTEN = ["blaricum", "eemnes", "gooise-meren", "hilversum", "huizen", "laren",
             "weesp", "wijdemeren"]
CATEGORIES = ["doorstroombanen", "scholingsprojecten", "begeleiding-doelgroepen",
              "wsp-projecten", "gemeentelijke-projecten", "arbeidsmarktinterventies"]
PROJECTS = [f"bench-p{i:02d}" for i in range(27)]
SECTORS = ["zorg", "techniek", "bouw", "ict", "media", "horeca", "vervoer", "onderwijs",
           "handel", "overig"]
KINDS = ["overig", "scholing", "begeleiding", "werkervaring", "taal"]
DOELGROEPEN = ["overig", "jongeren", "statushouders", "50plus", "arbeidsbeperking", "ggz"]
RESULTS = ["diploma", "certificaat", "afgerond", "uitgevallen"]
BENEFITS = ["pw", "ww", "wajong", "wia", "wao"]
REASONS = ["werk", "scholing", "verhuizing", "overig"]
FIRST_DAY = 18262  # 2020-01-01 as days since 1970-01-01
NDAYS = 1827       # through 2024-12-31


def day_str(d):
    return time.strftime("%Y-%m-%d", time.gmtime(d * 86400))


class Conn:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rf = self.sock.makefile("rb", buffering=1 << 20)

    def query(self, line):
        self.sock.sendall(line.encode() + b"\n")
        rows = []
        while True:
            resp = self.rf.readline().decode().rstrip("\r\n")
            if resp.startswith("ROW "):
                rows.append(resp)
                continue
            if resp.startswith("END ") or resp.startswith("ERR") or resp.startswith("OK"):
                return resp, rows
            raise RuntimeError(f"unexpected reply {resp!r} to {line!r}")


def gen_lines(start, count, seed, npersons):
    """Events in roughly chronological order, as they arrive (up to 30 days late):
    segment [start, start + count) of the five years; persons uniform over the pool."""
    rnd = random.Random(seed * 1000003 + start)
    for i in range(start, start + count):
        t = rnd.random()
        person = f"bench-{rnd.randrange(npersons):07x}x"  # hex: no nine digits, never BSN-like
        g = GEMEENTEN[rnd.randrange(8)]
        day = (i - start) * NDAYS // count - rnd.randrange(31)
        date = day_str(FIRST_DAY + min(NDAYS - 1, max(0, day)))
        proj = PROJECTS[rnd.randrange(27)]
        if t < 0.35:
            yield (f"EVENT started id=b{i} person={person} gemeente={g} date={date} "
                   f"project={proj} kind={KINDS[rnd.randrange(5)]} "
                   f"doelgroep={DOELGROEPEN[rnd.randrange(6)]}\n")
        elif t < 0.60:
            yield (f"EVENT completed id=b{i} person={person} gemeente={g} date={date} "
                   f"project={proj} result={RESULTS[rnd.randrange(4)]}\n")
        elif t < 0.80:
            yield (f"EVENT placed id=b{i} person={person} gemeente={g} date={date} "
                   f"project={proj} sector={SECTORS[rnd.randrange(10)]} "
                   f"months={rnd.randrange(13)}\n")
        else:
            yield (f"EVENT outflow id=b{i} person={person} gemeente={g} date={date} "
                   f"benefit={BENEFITS[rnd.randrange(5)]} reason={REASONS[rnd.randrange(4)]}\n")


def start_daemon(build, workdir, flags=()):
    """Start build/werkmonitord on a free loopback port with a fresh data directory under
    workdir and wait until it accepts; returns (process, host, port, data directory)."""
    host = "127.0.0.1"
    s = socket.socket()
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    datadir = tempfile.mkdtemp(prefix="wm-bench-", dir=workdir)
    proc = subprocess.Popen([os.path.join(build, "werkmonitord"), "--data", datadir,
                             "--listen", f"{host}:{port}", "--log-level", "warn"] + list(flags))
    for _ in range(100):
        try:
            socket.create_connection((host, port)).close()
            break
        except OSError:
            time.sleep(0.1)
    return proc, host, port, datadir


def define_projects(conn):
    """The program and the 27 projects gen_lines() names (an event needs its project)."""
    conn.query("PROGRAM start=2020-01-01 end=2024-12-31 target.started=400000 "
               "target.completed=250000 target.placed=100000")
    for i, p in enumerate(PROJECTS):
        cat = CATEGORIES[i % len(CATEGORIES)]
        scope = "local" if cat == "gemeentelijke-projecten" else "regional"
        resp, _ = conn.query(f"PROJECT {p} category={cat} scope={scope} start=2020-01-01 "
                             f"end=2024-12-31 target.started=15000 target.completed=9000 "
                             f"target.placed=4000")
        if not resp.startswith("OK"):
            raise RuntimeError(resp)


def load(host, port, start, count, seed, npersons):
    """Pipeline count events over one connection; returns events/s."""
    sock = socket.create_connection((host, port))
    errors = []
    done = threading.Event()

    def reader():
        rf = sock.makefile("rb", buffering=1 << 20)
        for _ in range(count):
            line = rf.readline()
            if not line:
                errors.append("connection closed")
                break
            if not (line.startswith(b"OK ") or line.startswith(b"DUP ")):
                errors.append(line.decode().strip())
        done.set()

    th = threading.Thread(target=reader, daemon=True)
    t0 = time.monotonic()
    th.start()
    chunk = []
    for line in gen_lines(start, count, seed, npersons):
        chunk.append(line)
        if len(chunk) >= 5000:
            sock.sendall("".join(chunk).encode())
            chunk = []
    if chunk:
        sock.sendall("".join(chunk).encode())
    th.join()
    dt = time.monotonic() - t0
    sock.close()
    if errors:
        raise RuntimeError(f"{len(errors)} events refused, first: {errors[0]}")
    return count / dt


QUERIES = [
    ("COUNT no grouping", "COUNT placed"),
    ("COUNT by project,gemeente", "COUNT started by=project,gemeente"),
    ("COUNT by month over 2022", "COUNT completed by=month from=2022-01-01 to=2022-12-31"),
    ("COUNT by sector, part-months", "COUNT placed by=sector from=2021-03-15 to=2023-08-20"),
    ("COUNT distinct persons by project, 2022",
     "COUNT placed by=project distinct=person from=2022-01-01 to=2022-12-31"),
    ("PROGRESS", "PROGRESS asof=2023-06-30"),
]


def measure(conn, reps):
    out = []
    for name, q in QUERIES:
        n = reps if "distinct" not in q else max(5, reps // 20)
        lat = []
        for _ in range(n):
            t0 = time.perf_counter()
            end, _rows = conn.query(q)
            lat.append((time.perf_counter() - t0) * 1000.0)
            if not end.startswith("END"):
                raise RuntimeError(f"{q}: {end}")
        lat.sort()
        out.append((name, statistics.median(lat), lat[min(len(lat) - 1, int(len(lat) * 0.99))], n))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000000,10000000", help="store sizes to measure at")
    ap.add_argument("--addr", help="HOST:PORT of a running daemon (default: start one)")
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "../../build"))
    ap.add_argument("--workdir", default="/var/tmp")
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    proc = None
    datadir = None
    if args.addr:
        host, port = args.addr.rsplit(":", 1)
        port = int(port)
    else:
        proc, host, port, datadir = start_daemon(args.build, args.workdir)
    try:
        conn = Conn(host, port)
        define_projects(conn)
        loaded = 0
        print(f"machine: {os.cpu_count()} cores; persons pool = size/4; reps {args.reps}")
        for size in sizes:
            rate = load(host, port, loaded, size - loaded, args.seed, max(1, size // 4))
            loaded = size
            print(f"\n== {size:,} events (last load {rate:,.0f} events/s over one pipelined connection)")
            # A fresh connection: the setup one may have met the idle timeout meanwhile.
            conn = Conn(host, port)
            for name, med, p99, n in measure(conn, args.reps):
                print(f"  {name:42s} median {med:8.3f} ms   p99 {p99:8.3f} ms   (n={n})")
            sys.stdout.flush()
    finally:
        if proc:
            proc.terminate()
            proc.wait()
        if datadir and not args.keep:
            shutil.rmtree(datadir, ignore_errors=True)


if __name__ == "__main__":
    main()
