"""Shared by the crash-consistency test (crash_test.py, SIGKILL) and the power-cut test
(powercut_test.py, lost unsynced writes): clients that pipeline events and retractions
into the real werkmonitord while it dies, a model of everything sent and acknowledged,
and the checks after each restart.

The rule checked: an acknowledged write (OK or DUP) is in the store after any crash. A
write sent but not acknowledged may or may not be there; re-sending it after the
restart says which (DUP: it was stored, with that seq; OK: it was not, and now is), so
the model knows exactly what the store holds and every COUNT and PROGRESS can be
recomputed from it and compared, and STATS must count each write once.
"""

import collections
import datetime
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import wmtest  # noqa: E402  (the e2e harness: Server, Conn, parse_block)

# A restart rebuilds the store's memory part from every event (seconds per million,
# many times that on a loaded machine or under ASan): allow for it when starting.
wmtest.TIMEOUT = 120.0

GEMEENTEN = wmtest.DEFAULT_GEMEENTEN
# name -> (category, scope); one local project, which the program rows leave out
PROJECTS = {
    "zorgstart": ("scholing", "regional"),
    "techniek-nu": ("scholing", "regional"),
    "hout": ("doorstroombanen", "regional"),
    "wijkleerbedrijf": ("doorstroombanen", "regional"),
    "taalhuis-huizen": ("taal", "local"),
    "werkfit": ("begeleiding", "regional"),
}
ENUMS = {
    "started": {"kind": ["overig", "scholing", "begeleiding", "werkervaring", "taal"],
                "doelgroep": ["overig", "jongeren", "statushouders", "50plus", "arbeidsbeperking", "ggz"],
                "benefit": ["onbekend", "pw", "ww", "wajong", "wia", "wao", "geen"]},
    "completed": {"result": ["diploma", "certificaat", "afgerond", "uitgevallen"]},
    "placed": {"sector": ["zorg", "techniek", "bouw", "ict", "media", "horeca", "vervoer", "onderwijs",
                          "handel", "overig"],
               "contract": ["betaald", "leerwerk"]},
    "outflow": {"benefit": ["pw", "ww", "wajong", "wia", "wao"],
                "reason": ["werk", "scholing", "verhuizing", "overig"]},
}
REQUIRED = {"completed": {"result"}, "placed": {"sector"}, "outflow": {"benefit", "reason"}}
TYPES = ["started", "completed", "placed", "outflow"]
RETRACTED_RE = re.compile(r"ERR conflict id '([^']*)' \(seq (\d+)\) was retracted \(seq (\d+)\); send REPLACE to "
                          r"store it again")
FIRST_DAY = datetime.date(2021, 1, 1).toordinal()
LAST_DAY = datetime.date(2023, 12, 31).toordinal()


class CheckFailed(Exception):
    pass


class Write:
    """One EVENT or RETRACT as sent: its line, its fields, and what became of it."""

    __slots__ = ("id", "line", "kind", "type", "f", "ref", "state", "seq")

    def __init__(self, id_, line, kind, type_=None, fields=None, ref=None):
        self.id, self.line, self.kind, self.type, self.f, self.ref = id_, line, kind, type_, fields, ref
        self.state = "new"  # new -> sent -> acked (OK/DUP seen) ; stored after a re-send
        self.seq = None


class Model:
    """Everything the clients sent, under one lock."""

    def __init__(self, seed):
        self.lock = threading.Lock()
        self.rng = random.Random(seed)
        self.writes = {}  # id -> Write, in the order made
        self.retracted = set()  # ids of events some RETRACT names (sent or not)
        self.persons = ["pseudo-%08x" % self.rng.getrandbits(32) for _ in range(400)]
        self.counter = 0

    def new_event(self, tag):
        with self.lock:
            self.counter += 1
            n = self.counter
            rng = self.rng
            type_ = rng.choice(TYPES)
            f = collections.OrderedDict()
            f["id"] = "%s-%d" % (tag, n)
            f["person"] = rng.choice(self.persons)
            f["gemeente"] = rng.choice(GEMEENTEN)
            f["date"] = datetime.date.fromordinal(rng.randint(FIRST_DAY, LAST_DAY)).isoformat()
            if type_ != "outflow" or rng.random() < 0.5:
                f["project"] = rng.choice(sorted(PROJECTS))
            for k, vals in ENUMS[type_].items():
                if k in REQUIRED.get(type_, ()) or rng.random() < 0.7:
                    f[k] = rng.choice(vals)
            if type_ == "placed" and rng.random() < 0.7:
                f["months"] = str(rng.randint(0, 24))
            w = Write(f["id"], wmtest.event(type_, **f), "event", type_, f)
            self.writes[w.id] = w
            return w

    def new_retract(self, event_id):
        """A RETRACT of an acknowledged event, or None when it is retracted already."""
        with self.lock:
            if event_id in self.retracted:
                return None
            self.retracted.add(event_id)
            rid = "r-" + event_id
            w = Write(rid, "RETRACT id=%s ref=%s" % (rid, event_id), "retract", ref=event_id)
            self.writes[rid] = w
            return w


class Client(threading.Thread):
    """One connection pipelining up to `window` writes until the daemon goes away or
    `stop` is set. Each acknowledged event is retracted later with probability
    `retract_p`."""

    def __init__(self, model, host, port, tag, window, stop, retract_p=0.05, max_writes=None):
        super().__init__(daemon=True)
        self.model, self.host, self.port, self.tag = model, host, port, tag
        self.window, self.stop, self.retract_p, self.max_writes = window, stop, retract_p, max_writes
        self.error = None
        self.acked = 0
        self.rng = random.Random(hash(tag))

    def run(self):
        try:
            self._run()
        except (OSError, wmtest.ConnClosed):
            pass  # the daemon died: what is in flight stays unacknowledged
        except Exception as e:  # a wrong answer: report it from the main thread
            self.error = e

    def _run(self):
        sock = socket.create_connection((self.host, self.port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        inflight = collections.deque()
        pending_retracts = collections.deque()
        buf = b""
        made = 0
        try:
            while True:
                out = []
                while len(inflight) < self.window and not self.stop.is_set() and \
                        (self.max_writes is None or made < self.max_writes):
                    w = None
                    if pending_retracts and self.rng.random() < 0.5:
                        w = self.model.new_retract(pending_retracts.popleft())
                    if w is None:
                        w = self.model.new_event(self.tag)
                    w.state = "sent"
                    inflight.append(w)
                    out.append(w.line.encode() + b"\n")
                    made += 1
                if out:
                    sock.sendall(b"".join(out))
                if not inflight:
                    return
                data = sock.recv(65536)
                if not data:
                    return
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    w = inflight.popleft()
                    self._answer(w, line.decode())
                    if w.kind == "event" and self.rng.random() < self.retract_p:
                        pending_retracts.append(w.id)
        finally:
            sock.close()

    def _answer(self, w, line):
        parts = line.split(" ")
        if len(parts) != 2 or parts[0] not in ("OK", "DUP") or not parts[1].isdigit():
            raise CheckFailed("%s answered %r" % (w.line, line))
        # A DUP on the first send can only be a re-sent write: none here is.
        if parts[0] == "DUP":
            raise CheckFailed("first send of %s answered %r" % (w.id, line))
        w.seq = int(parts[1])
        w.state = "acked"
        self.acked += 1


def resend(conn, writes, batch=500):
    """Send each write's line again, pipelined; returns the answers in order."""
    answers = []
    for i in range(0, len(writes), batch):
        answers += conn.pipeline([w.line for w in writes[i:i + batch]], timeout=120)
    return answers


def day_dims(date):
    d = datetime.date.fromisoformat(date)
    return {"year": "%04d" % d.year, "quarter": "%04d-Q%d" % (d.year, (d.month - 1) // 3 + 1),
            "month": "%04d-%02d" % (d.year, d.month)}


def dims_of(w):
    """Every COUNT dimension of an event, as COUNT shows it."""
    f = w.f
    p = f.get("project")
    d = {"project": p or "-", "category": PROJECTS[p][0] if p else "-", "scope": PROJECTS[p][1] if p else "-",
         "gemeente": f["gemeente"]}
    d.update(day_dims(f["date"]))
    for k, vals in ENUMS[w.type].items():
        d[k] = f.get(k, vals[0])
    if w.type == "placed":
        d["durable"] = "unknown" if "months" not in f else ("yes" if int(f["months"]) >= 6 else "no")
    return d


class Checker:
    """The checks after a restart. Figures are what the model says the store holds."""

    def __init__(self, model, log=print):
        self.model = model
        self.log = log
        self.lost = 0
        self.duplicated = 0
        self.checked_acked = 0

    # -- acknowledged writes are there, unacknowledged ones are accounted for -------

    def check_writes(self, conn, sample_old=2000, everything=False):
        """Re-send the writes acknowledged since the last check (and a sample of the
        older ones, or all with everything=True): each must answer DUP with its seq.
        Then re-send every unacknowledged write: OK or DUP both settle it."""
        m = self.model
        with m.lock:
            writes = list(m.writes.values())
        fresh = [w for w in writes if w.state == "acked"]
        old = [w for w in writes if w.state == "stored"]
        if not everything and len(old) > sample_old:
            old = m.rng.sample(old, sample_old)
        unacked = [w for w in writes if w.state == "sent"]
        unsent = [w for w in writes if w.state == "new"]
        for w in unsent:  # made but never written to a socket
            with m.lock:
                del m.writes[w.id]
                if w.kind == "retract":
                    m.retracted.discard(w.ref)
        # An event some sent RETRACT names answers the conflict that says it is stored
        # and retracted (PROTOCOL.md section 4), never a bare DUP.
        with m.lock:
            retract_of = {w.ref: w for w in m.writes.values() if w.kind == "retract"}
        # events before retractions, so a retraction's event is there when it is re-sent
        check = sorted(fresh + old, key=lambda w: w.kind != "event")
        lost = []
        for w, a in zip(check, resend(conn, check)):
            if a != "DUP %d" % w.seq and not self.retracted_answer(w, a, retract_of.get(w.id)):
                lost.append("%s (seq %d) answered %r" % (w.id, w.seq, a))
            w.state = "stored"
        if lost:
            self.lost += len(lost)
            raise CheckFailed("%d acknowledged writes LOST; re-sent, %s" % (len(lost), "; ".join(lost[:5])))
        self.checked_acked += len(check)
        unacked.sort(key=lambda w: w.kind != "event")
        stored_before = 0
        for w, a in zip(unacked, resend(conn, unacked)):
            parts = a.split(" ")
            if len(parts) != 2 or parts[0] not in ("OK", "DUP"):
                raise CheckFailed("unacknowledged %s re-sent answered %r" % (w.id, a))
            stored_before += parts[0] == "DUP"
            w.seq = int(parts[1])
            w.state = "stored"
        return len(check), len(unacked), stored_before

    @staticmethod
    def retracted_answer(w, answer, rt):
        """True when answer is the conflict of re-sent event w (seq known) retracted by
        rt: with rt's seq when that is acknowledged, any seq while rt is unacknowledged
        (its own re-send settles that seq)."""
        if w.kind != "event" or rt is None:
            return False
        m = RETRACTED_RE.fullmatch(answer)
        if m is None or m.group(1) != w.id or int(m.group(2)) != w.seq:
            return False
        return rt.seq is None or int(m.group(3)) == rt.seq

    def check_unique(self, conn):
        """No seq twice, and STATS counts each write once."""
        m = self.model
        with m.lock:
            stored = [w for w in m.writes.values() if w.state == "stored"]
        seqs = collections.Counter(w.seq for w in stored)
        dup = [s for s, n in seqs.items() if n > 1]
        if dup:
            self.duplicated += len(dup)
            raise CheckFailed("seqs given to more than one write: %r" % dup[:10])
        events = sum(1 for w in stored if w.kind == "event")
        retractions = len(stored) - events
        stats = {r["stat"]: r["value"] for r in conn.rows("STATS", timeout=60)}
        want = {"events": events, "retractions": retractions, "retracted": retractions,
                "last_seq": max(seqs) if seqs else 0}
        got = {k: int(stats[k]) for k in want}
        if got != want:
            self.duplicated += max(0, got["events"] - events)
            raise CheckFailed("STATS %r, the model says %r" % (got, want))
        return events, retractions

    # -- aggregates recomputed from the model ----------------------------------------

    def live_events(self):
        m = self.model
        with m.lock:
            stored = [w for w in m.writes.values() if w.state == "stored"]
        gone = {w.ref for w in stored if w.kind == "retract"}
        return [w for w in stored if w.kind == "event" and w.id not in gone]

    @staticmethod
    def count_rows(events, type_, by, distinct=False, from_=None, to=None, filters=None):
        groups = collections.defaultdict(set if distinct else int)
        for w in events:
            if w.type != type_:
                continue
            date = w.f["date"]
            if (from_ and date < from_) or (to and date > to):
                continue
            d = dims_of(w)
            if filters and any(d[k] not in v for k, v in filters.items()):
                continue
            key = tuple(d[b] for b in by)
            if distinct:
                groups[key].add(w.f["person"])
            else:
                groups[key] += 1
        rows = []
        for key in sorted(groups, key=lambda k: [v.encode() for v in k]):
            n = len(groups[key]) if distinct else groups[key]
            row = collections.OrderedDict(zip(by, key))
            row["count"] = str(n)
            rows.append(row)
        if not by and not rows:
            rows = [collections.OrderedDict(count="0")]
        return rows

    QUERIES = [
        ("started", [], {}), ("completed", [], {}), ("placed", [], {}), ("outflow", [], {}),
        ("started", ["project", "gemeente"], {}), ("placed", ["month"], {}),
        ("started", ["kind", "doelgroep", "benefit"], {}), ("completed", ["result", "quarter"], {}),
        ("placed", ["sector", "contract", "durable"], {}), ("outflow", ["benefit", "reason", "project"], {}),
        ("placed", ["project"], {"distinct": True}), ("started", ["gemeente", "year"], {"distinct": True}),
        ("outflow", ["category", "scope"], {"distinct": True}),
        ("completed", ["gemeente"], {"from_": "2022-03-15", "to": "2022-11-02"}),
        ("placed", ["scope", "year"], {"from_": "2021-02-28", "to": "2023-07-01", "distinct": True}),
        ("started", ["project"], {"filters": {"gemeente": {"huizen", "laren"}, "kind": {"scholing"}}}),
    ]

    def check_counts(self, conn):
        events = self.live_events()
        n = 0
        for type_, by, kw in self.QUERIES:
            q = "COUNT %s" % type_
            if by:
                q += " by=" + ",".join(by)
            if kw.get("from_"):
                q += " from=%s to=%s" % (kw["from_"], kw["to"])
            if kw.get("distinct"):
                q += " distinct=person"
            for k, v in sorted(kw.get("filters", {}).items()):
                q += " %s=%s" % (k, ",".join(sorted(v)))
            got = [dict(r) for r in conn.rows(q, timeout=60)]
            want = [dict(r) for r in self.count_rows(events, type_, by, **kw)]
            if got != want:
                raise CheckFailed("%s answered %d rows, the model %d; first difference: %r" % (
                    q, len(got), len(want), next(((g, w) for g, w in zip(got, want) if g != w),
                                                 (got[len(want):len(want) + 1], want[len(got):len(got) + 1]))))
            n += 1
        return n

    def progress_rows(self, events, asof):
        """PROGRESS rows as the model computes them (projects without targets or
        period, a program without targets: expected '-' and status none)."""
        per = collections.defaultdict(lambda: {"started": 0, "completed": 0, "placed": set()})
        for w in events:
            p = w.f.get("project")
            if p is None or w.f["date"] > asof:
                continue
            if w.type == "started":
                per[p]["started"] += 1
            elif w.type == "completed" and w.f["result"] != "uitgevallen":
                per[p]["completed"] += 1
            elif w.type == "placed":
                per[p]["placed"].add(w.f["person"])
        rows = []
        prog = {"started": 0, "completed": 0, "placed": set()}
        for name in sorted(PROJECTS, key=lambda p: (PROJECTS[p][0].encode(), p.encode())):
            c = per[name]
            for ind in ("started", "completed", "placed"):
                actual = len(c[ind]) if ind == "placed" else c[ind]
                rows.append({"project": name, "category": PROJECTS[name][0], "indicator": ind,
                             "actual": str(actual), "target": "-", "expected": "-", "status": "none"})
            if PROJECTS[name][1] == "regional":
                prog["started"] += c["started"]
                prog["completed"] += c["completed"]
                prog["placed"] |= c["placed"]
        for ind in ("started", "completed", "placed"):
            actual = len(prog[ind]) if ind == "placed" else prog[ind]
            rows.append({"project": "*", "category": "*", "indicator": ind, "actual": str(actual),
                         "target": "-", "expected": "-", "status": "none"})
        return rows

    def check_progress(self, conn):
        events = self.live_events()
        for asof in ("2030-01-01", "2022-06-30"):
            got = [dict(r) for r in conn.rows("PROGRESS asof=%s" % asof, timeout=60)]
            want = self.progress_rows(events, asof)
            if got != want:
                diff = [(g, w) for g, w in zip(got, want) if g != w][:3]
                raise CheckFailed("PROGRESS asof=%s differs from the model: %r" % (asof, diff or (len(got), len(want))))
        return 2


def registry_lines():
    return ["PROJECT %s category=%s scope=%s" % (p, c, s) for p, (c, s) in sorted(PROJECTS.items())]


def setup_registry(server):
    with server.connect() as c:
        for r in c.pipeline(registry_lines()):
            if r != "OK":
                raise CheckFailed("registry line refused: %r" % r)


def memory_source(server):
    """How the last start loaded the memory part, from its log line ("loaded from the
    checkpoint of seq N, M records after it replayed" or "rebuilt from the records (why)")."""
    lines = [l for l in server.stderr().splitlines() if "store opened in" in l]
    if not lines:
        raise CheckFailed("the daemon did not log how it opened the store")
    m = re.search(r"; memory part (.*) in \d+ ms \(", lines[-1])
    return m.group(1) if m else lines[-1]


def verify_store(server):
    """The store's own consistency check, `werkmonitord verify --data DIR`, run against
    the live store as a second, read-only process while the daemon runs: it recomputes
    every rollup cell, the memory part and the id index from the events. Returns
    "passed" for the log; raises CheckFailed naming the differences."""
    p = subprocess.run([wmtest.DAEMON, "verify", "--data", server.data_dir], capture_output=True,
                       timeout=600)
    if p.returncode != 0:
        raise CheckFailed("werkmonitord verify failed (exit %d):\n%s" % (
            p.returncode, (p.stdout + p.stderr).decode(errors="replace")[-4000:]))
    return "passed"


def check_all(server, model, checker, everything=False):
    """Every check after a restart; returns a dict of figures for the log."""
    t0 = time.monotonic()
    with server.connect(timeout=120) as c:
        nchecked, nunacked, nstored = checker.check_writes(c, everything=everything)
        events, retractions = checker.check_unique(c)
        nq = checker.check_counts(c) + checker.check_progress(c)
    verify = verify_store(server)
    return {"rechecked": nchecked, "unacked": nunacked, "unacked_stored": nstored, "events": events,
            "retractions": retractions, "queries": nq, "verify": verify,
            "check_s": round(time.monotonic() - t0, 1)}


def run_load(model, server, clients, window, stop, tag):
    threads = [Client(model, server.host, server.port, "%s-c%d" % (tag, i), window, stop)
               for i in range(clients)]
    for t in threads:
        t.start()
    return threads


def join_clients(threads):
    acked = 0
    for t in threads:
        t.join(60)
        if t.is_alive():
            raise CheckFailed("a client did not stop within 60 s")
        if t.error is not None:
            raise t.error
        acked += t.acked
    return acked
