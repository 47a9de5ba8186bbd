#!/usr/bin/env python3
"""import_ab: the messy import against the plain one, A/B, in one run.

  python3 tests/bench/import_ab.py                  # 1,000,000 rows, 5 rounds
  python3 tests/bench/import_ab.py -n 200000 --rounds 3

Writes two files of the same events with gen_import.py under --workdir (default
/var/tmp): plain.csv (the protocol's column names and values, ';', a BOM) and messy.csv
(Dutch column names, ';', a BOM, CRLF, dates day first, names and values in mixed case,
months as 12,0, two columns to ignore) with messy.map, the profile that reads it. Then,
round by round, times `werkmonitor import plain.csv` and `werkmonitor import --map
messy.map messy.csv`, each into a fresh werkmonitord (a new data directory, the
benchmark's projects registered), the order alternating (A B, B A, ...) so that a
machine whose speed drifts weighs on both alike. Prints each run (wall seconds, rows/s,
the client's and the daemon's CPU seconds), the medians, and messy/plain as rows/s: the
ratio of the medians and the median of the rounds' ratios. Both files must import
without a reject.
"""
import argparse
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROJECTS = ["zorgstart", "wijkleerbedrijf", "taal-werkt", "techniek-academie",
            "jongeren-specialist", "ggz-traject", "doorstroombanen-zorg", "gvw-werkt-door"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def daemon_cpu(pid):
    """The daemon's user + system CPU seconds so far (all its threads), from /proc."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def generate(n, workdir):
    plain = os.path.join(workdir, "plain.csv")
    messy = os.path.join(workdir, "messy.csv")
    profile = os.path.join(workdir, "messy.map")
    gen = os.path.join(HERE, "gen_import.py")
    with open(plain, "w") as f:
        subprocess.run([sys.executable, gen, str(n)], stdout=f, check=True)
    with open(messy, "w") as f:
        subprocess.run([sys.executable, gen, "--messy", profile, str(n)], stdout=f, check=True)
    return plain, messy, profile


def one_run(build, workdir, argv, rows):
    """A fresh daemon, the projects, one timed import. Returns (wall s, client CPU s)."""
    data = tempfile.mkdtemp(prefix="wm-import-ab-", dir=workdir)
    port = free_port()
    daemon = subprocess.Popen([os.path.join(build, "werkmonitord"), "--listen",
                               "127.0.0.1:%d" % port, "--data", data],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = [os.path.join(build, "werkmonitor"), "--port", str(port)]
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("werkmonitord did not start")
                time.sleep(0.05)
        reg = "".join("PROJECT %s category=bench\n" % p for p in PROJECTS)
        subprocess.run(client + ["raw"], input=reg.encode(), check=True, stdout=subprocess.DEVNULL)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        p = subprocess.run(client + ["import"] + argv, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        wall = time.monotonic() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = p.stdout.decode()
        if p.returncode != 0 or not out.startswith("stored %d, duplicates 0, rejected 0" % rows):
            raise RuntimeError("import %s: exit %d\n%s%s" % (argv, p.returncode, out,
                                                              p.stderr.decode()[-2000:]))
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return wall, cpu, daemon_cpu(daemon.pid)
    finally:
        daemon.terminate()
        daemon.wait(60)
        shutil.rmtree(data, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", "--rows", type=int, default=1000000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--workdir", default="/var/tmp")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    a = ap.parse_args()

    work = tempfile.mkdtemp(prefix="wm-import-ab-", dir=a.workdir)
    try:
        plain, messy, profile = generate(a.rows, work)
        runs = {"plain": [], "messy": []}
        argv = {"plain": [plain], "messy": ["--map", profile, messy]}
        for r in range(a.rounds):
            order = ("plain", "messy") if r % 2 == 0 else ("messy", "plain")
            for name in order:
                wall, cpu, dcpu = one_run(a.build, work, argv[name], a.rows)
                runs[name].append(wall)
                print("round %d %-5s %7.2f s  %9.0f rows/s  client CPU %5.2f s  daemon CPU %5.2f s"
                      % (r + 1, name, wall, a.rows / wall, cpu, dcpu), flush=True)
        med = {k: statistics.median(v) for k, v in runs.items()}
        pairs = [p / m for p, m in zip(runs["plain"], runs["messy"])]
        for k in ("plain", "messy"):
            print("median %-5s %7.2f s  %9.0f rows/s" % (k, med[k], a.rows / med[k]))
        print("messy/plain rows/s: %.2f (ratio of medians), %.2f (median of the rounds' ratios)"
              % (med["plain"] / med["messy"], statistics.median(pairs)))
    finally:
        if a.keep:
            print("files kept in", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
