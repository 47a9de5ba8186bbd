"""Helpers of the operations tests (backup, verify, export, restore, upgrades): run the
maintenance commands of werkmonitord, make a varied but reproducible workload, and take
every answer a store gives to compare two stores.

A workload is a list of request lines in the order they are sent: events of every type
over four years, all 27 projects of the region's registry (and one local project of
its own), the eight gemeenten, repeat persons, placements in several projects, and
retractions by ref and by seq. Its events are the same for the same seed.
"""

import os
import random
import re
import subprocess

import wmtest

REGISTRY = os.path.join(wmtest.SOURCE_DIR, "data", "gooi-en-vechtstreek.wm")
POKE = os.path.join(wmtest.BUILD_DIR, "lmdb_poke")

# The timeout of a maintenance command: generous for the sanitizer build.
OPS_TIMEOUT = 300


def ops(*args, stdin=None, input=None, check=None):
    """Run `werkmonitord <args>`; returns the CompletedProcess (text). With check set,
    the exit status must be that."""
    p = subprocess.run([wmtest.DAEMON] + [str(a) for a in args], stdin=stdin, input=input,
                       capture_output=True, text=True, timeout=OPS_TIMEOUT)
    if check is not None and p.returncode != check:
        raise AssertionError("werkmonitord %s: exit %d, wanted %d\nstdout: %s\nstderr: %s"
                             % (" ".join(map(str, args)), p.returncode, check, p.stdout[-3000:],
                                p.stderr[-3000:]))
    return p


def poke(*args, check=0):
    """Run the test tool lmdb_poke (reads and changes a store's LMDB tables directly)."""
    p = subprocess.run([POKE] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=60)
    if check is not None and p.returncode != check:
        raise AssertionError("lmdb_poke %s: exit %d: %s" % (" ".join(args), p.returncode, p.stderr))
    return p.stdout


def registry_projects():
    """The project names of the region's registry file, in file order."""
    with open(REGISTRY) as f:
        return [l.split()[1] for l in f if l.startswith("PROJECT ")]


LOCAL_PROJECT = "huizen-lokaal"


def registry_lines():
    """The registry file's lines and one local project (scope=local counts apart)."""
    with open(REGISTRY) as f:
        lines = [l.strip() for l in f if l.startswith(("PROJECT ", "PROGRAM "))]
    return lines + ["PROJECT %s category=gemeentelijke-projecten scope=local target.placed=10 "
                    "title=Huizen%%20lokaal start=2021-01-01 end=2023-12-31" % LOCAL_PROJECT]


def _date(rnd):
    return "%04d-%02d-%02d" % (rnd.randint(2020, 2023), rnd.randint(1, 12), rnd.randint(1, 28))


def workload(seed, n, tag="w", principal_ids=True):
    """n events (and about n/20 retractions) as request lines, reproducible for seed.
    Ids are <tag>-<number>; persons are reused (about n/3 of them)."""
    rnd = random.Random(seed)
    projects = registry_projects() + [LOCAL_PROJECT]
    persons = ["pseudo-%s-%05d" % (tag, i) for i in range(max(2, n // 3))]
    lines, ids = [], []
    for i in range(n):
        eid = "%s-%06d" % (tag, i)
        person = rnd.choice(persons)
        gem = rnd.choice(wmtest.DEFAULT_GEMEENTEN)
        kind = rnd.random()
        common = "id=%s person=%s gemeente=%s date=%s" % (eid, person, gem, _date(rnd))
        if kind < 0.35:
            line = "EVENT started %s project=%s kind=%s doelgroep=%s benefit=%s" % (
                common, rnd.choice(projects), rnd.choice(["overig", "scholing", "taal"]),
                rnd.choice(["overig", "jongeren", "ggz"]), rnd.choice(["onbekend", "pw", "ww"]))
        elif kind < 0.6:
            line = "EVENT completed %s project=%s result=%s" % (
                common, rnd.choice(projects),
                rnd.choice(["diploma", "certificaat", "afgerond", "uitgevallen"]))
        elif kind < 0.85:
            extra = ""
            if rnd.random() < 0.7:
                extra += " months=%d" % rnd.randint(0, 24)
            if rnd.random() < 0.3:
                extra += " hours=%d employer=Zorg%%20%%22Noord%%22,%%20B.V. by=J.%%20de%%20Vries" % (
                    rnd.randint(1, 40))
            line = "EVENT placed %s project=%s sector=%s contract=%s%s" % (
                common, rnd.choice(projects), rnd.choice(["zorg", "techniek", "bouw"]),
                rnd.choice(["betaald", "leerwerk"]), extra)
        else:
            proj = " project=%s" % rnd.choice(projects) if rnd.random() < 0.3 else ""
            line = "EVENT outflow %s benefit=%s reason=%s%s" % (
                common, rnd.choice(["pw", "ww"]), rnd.choice(["werk", "verhuizing"]), proj)
        lines.append(line)
        ids.append(eid)
        if i > 10 and rnd.random() < 0.05:
            victim = rnd.choice(ids[:-5])
            ids.remove(victim)
            lines.append("RETRACT id=%s-r%06d ref=%s reason=dubbel%%20ingevoerd" % (tag, i, victim))
    return lines


def send_all(conn, lines, window=500):
    """Send lines pipelined in windows; returns the replies. Every reply must be OK or
    DUP (a retraction of an event retracted already is tolerated as conflict)."""
    replies = []
    for i in range(0, len(lines), window):
        chunk = lines[i:i + window]
        got = conn.pipeline(chunk, timeout=120)
        for line, r in zip(chunk, got):
            if not (r.startswith("OK") or r.startswith("DUP")):
                raise AssertionError("%s -> %s" % (line, r))
        replies += got
    return replies


def setup_registry(conn):
    send_all(conn, registry_lines())


def queries():
    """COUNT, PROGRESS and PROJECTS requests that between them read every kind of cell:
    whole years and months, edge days, one enum and several, distinct persons, the
    registry's categories and scopes, PROGRESS at several dates."""
    q = []
    dims = {"started": ["kind", "doelgroep", "benefit"], "completed": ["result"],
            "placed": ["sector", "contract", "durable"], "outflow": ["benefit", "reason"]}
    for t, enums in dims.items():
        q += ["COUNT %s" % t,
              "COUNT %s by=project,gemeente" % t,
              "COUNT %s by=year,quarter" % t,
              "COUNT %s by=month from=2021-01-01 to=2021-12-31" % t,
              "COUNT %s by=category,scope" % t,
              "COUNT %s by=gemeente from=2021-03-15 to=2022-08-20" % t,
              "COUNT %s by=%s" % (t, ",".join(enums)),
              "COUNT %s by=%s,gemeente from=2020-02-03 to=2023-10-09" % (t, enums[0]),
              "COUNT %s by=project distinct=person" % t,
              "COUNT %s by=year distinct=person from=2021-02-01 to=2022-11-30" % t]
    q += ["PROGRESS", "PROGRESS asof=2021-06-30", "PROGRESS asof=2022-12-31",
          "PROGRESS asof=2023-06-30 category=scholingsprojecten", "PROJECTS"]
    return q


def answers(conn, qs=None):
    """Every query's answer (a list of lines) by query."""
    qs = qs or queries()
    return dict(zip(qs, conn.pipeline(qs, timeout=120)))


def total_count(conn, t):
    rows = conn.rows("COUNT %s" % t)
    return int(rows[0]["count"])


def stats(conn):
    return {r["stat"]: r["value"] for r in conn.rows("STATS")}


def verify_ok(test, data_dir):
    """werkmonitord verify on data_dir must pass; returns its output."""
    p = ops("verify", "--data", data_dir)
    test.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr[-3000:])
    test.assertRegex(p.stdout, r"verify: .*: consistent through seq \d+")
    return p.stdout


def parse_ack(reply):
    m = re.match(r"(OK|DUP) (\d+)$", reply)
    return int(m.group(2)) if m else None
