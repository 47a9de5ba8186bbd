"""Regression tests for the security review's findings docs/SECURITY.md #1 (one COUNT
makes the daemon hold a reply of any size; an allowed large answer goes out a slice at a
time), #3 (a writer can learn another
municipality's facts about a person) and #4 (readers get near-row-level data: counts of
one are never hidden), against the real daemon, on the line protocol and over HTTP."""

import json
import os
import socket
import time

import wmtest
from test_http import request
from wmtest import uid

TOKENS = {"beheer": "a" * 64, "hilversum": "b" * 64, "huizen": "c" * 64, "publiek": "d" * 64,
          "rapport": "e" * 64, "kijker": "f" * 64}
PROJECT = "zorgpad"
WIDEST = "COUNT started by=project,category,scope,gemeente,year,quarter,month,kind,doelgroep,benefit"


DOELGROEPEN = ("overig", "jongeren", "statushouders", "50plus", "arbeidsbeperking", "ggz")


def started(person, gemeente, doelgroep="ggz", month=5, tag="s"):
    return wmtest.event("started", id=uid(tag), person=person, gemeente=gemeente, date="2023-%02d-05" % month,
                        project=PROJECT, doelgroep=doelgroep)


# An allowed answer of many slices: a group per (gemeente, month, doelgroep) of ten
# years of events (8 x 120 x 6 = 5,760 rows, about 150 bytes each).
LARGE = "COUNT started by=project,category,gemeente,year,quarter,month,doelgroep"
LARGE_GEMEENTEN = wmtest.DEFAULT_GEMEENTEN
LARGE_MONTHS = [(y, m) for y in range(2016, 2026) for m in range(1, 13)]


def large_events():
    out = []
    for y, m in LARGE_MONTHS:
        for g in LARGE_GEMEENTEN:
            for d in DOELGROEPEN:
                out.append(wmtest.event("started", id=uid("l"), person="pseudo-l-%d" % len(out), gemeente=g,
                                        date="%d-%02d-07" % (y, m), project=PROJECT, doelgroep=d))
    return out


def read_block(sock, buf=b""):
    """Read from a raw socket through the END line of one block; returns (the block's
    bytes, what followed it)."""
    while True:
        i = buf.find(b"\nEND ")
        j = buf.find(b"\n", i + 1) if i >= 0 else -1
        if buf.startswith(b"END ") and j < 0:
            j = buf.find(b"\n")
        if j >= 0:
            return buf[:j + 1], buf[j + 1:]
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("connection closed inside a block: %r" % buf[-200:])
        buf += chunk


def status_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s in /proc/%d/status" % (field, pid))


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def rows(c, line):
    resp = c.cmd(line)
    assert isinstance(resp, list), resp
    return [dict(kv.split("=", 1) for kv in l.split()[1:]) for l in resp[:-1]]


class AnswersTest(wmtest.FreshDaemonTestCase):
    own_daemon_reason = "starts daemons with token files and limits of their own"

    def daemon(self, flags=()):
        path = os.path.join(self.tmpdir("wm-e2e-answers-"), "tokens")
        wmtest.write_tokens(path, [("beheer", "admin", None, TOKENS["beheer"]),
                                   ("hilversum", "writer", "hilversum", TOKENS["hilversum"]),
                                   ("huizen", "writer", "huizen", TOKENS["huizen"]),
                                   ("rapport", "reader", None, TOKENS["rapport"]),
                                   ("kijker", "reader", "huizen", TOKENS["kijker"])])
        with open(path, "a") as f:  # the public monitor's token
            f.write(wmtest.token_line("publiek", "reader min-count=5 round=10", None, TOKENS["publiek"]) + "\n")
        self.http_port = wmtest.free_port()
        s = self.own_server(["--tokens", path, "--http-listen", "127.0.0.1:%d" % self.http_port] + list(flags))
        with self.as_(s, "beheer") as c:
            self.assertEqual(c.cmd("PROJECT %s category=zorg" % PROJECT), "OK")
        return s

    def as_(self, s, principal):
        c = s.connect()
        self.assertTrue(c.cmd("AUTH " + TOKENS[principal]).startswith("OK %s " % principal))
        return c

    def test_finding1_count_reply_of_any_size(self):
        """A COUNT with more groups than max-rows answers ERR too-large naming the limit
        and how to narrow it; on HTTP 413 with the same code; a narrower one is answered."""
        s = self.daemon(["--max-rows", "20"])
        with self.as_(s, "beheer") as c:
            lines = [started("pseudo-%04d" % i, ("huizen", "hilversum")[i % 2], DOELGROEPEN[i // 12], i % 12 + 1)
                     for i in range(60)]
            for r in c.pipeline(lines):
                self.assertTrue(r.startswith("OK "), r)
            self.assertErr(c.cmd(WIDEST), "too-large", "max-rows", "20", "by=")
            self.assertEqual(c.cmd("PING"), "PONG")
            self.assertEqual(len(rows(c, "COUNT started by=gemeente")), 2)
        r = request(self.http_port, "/v1/count?type=started&by=gemeente,month,kind,doelgroep,benefit&"
                    "from=2023-01-01", token=TOKENS["rapport"])
        self.assertEqual(r.status, 413, r)
        self.assertEqual(json.loads(r.body)["error"]["code"], "too-large")

    def test_finding3_writer_learns_other_municipality_facts(self):
        """The probe of the review: hilversum's writer counts persons with doelgroep=ggz,
        posts its own event for a person huizen registered, counts again. With row-level
        security it sees its own events only: 0, then 1, so it learns nothing."""
        s = self.daemon()
        person = "pseudo-target"
        with self.as_(s, "huizen") as c:
            self.assertTrue(c.cmd(started(person, "huizen")).startswith("OK "))
            self.assertEqual(rows(c, "COUNT started distinct=person doelgroep=ggz")[0]["count"], "1")
        with self.as_(s, "hilversum") as c:
            before = rows(c, "COUNT started distinct=person doelgroep=ggz")[0]["count"]
            self.assertTrue(c.cmd(started(person, "hilversum", tag="h")).startswith("OK "))
            after = rows(c, "COUNT started distinct=person doelgroep=ggz")[0]["count"]
            self.assertEqual((before, after), ("0", "1"))
            # a filter naming another municipality matches nothing; by=gemeente shows its own
            self.assertEqual(rows(c, "COUNT started gemeente=huizen")[0]["count"], "0")
            self.assertEqual([r["gemeente"] for r in rows(c, "COUNT started by=gemeente")], ["hilversum"])
            prog = rows(c, "PROGRESS project=%s" % PROJECT)
            self.assertEqual([r["actual"] for r in prog if r["indicator"] == "started"], ["1", "1"])
        # a bound reader over HTTP likewise; an unbound reader sees the region
        r = request(self.http_port, "/v1/count?type=started&by=gemeente", token=TOKENS["kijker"])
        self.assertEqual([row["gemeente"] for row in r.json()["rows"]], ["huizen"])
        with self.as_(s, "rapport") as c:
            self.assertEqual(rows(c, "COUNT started distinct=person")[0]["count"], "1")
            self.assertEqual(len(rows(c, "COUNT started by=gemeente")), 2)

    def test_finding4_near_row_level_data_small_cells(self):
        """A principal with min-count=5 round=10 sees a count of 1 to 4 as <5 (JSON null
        and "suppressed": true), every other rounded to 10 from its own raw value, and
        PROGRESS never lets a hidden project row be read back from the program's."""
        s = self.daemon()
        with self.as_(s, "beheer") as c:
            self.assertEqual(c.cmd("PROJECT klein category=zorg"), "OK")
            lines = [started("pseudo-h-%04d" % i, "hilversum") for i in range(23)]
            lines.append(started("pseudo-z-0000", "huizen"))
            lines.append(wmtest.event("started", id=uid("k"), person="pseudo-k-0000", gemeente="huizen",
                                      date="2023-05-06", project="klein", doelgroep="ggz"))
            for r in c.pipeline(lines):
                self.assertTrue(r.startswith("OK "), r)
            # for an ordinary reader: the exact counts
            self.assertEqual([r["count"] for r in rows(c, "COUNT started by=gemeente")], ["23", "2"])
        with self.as_(s, "publiek") as c:
            got = {r["gemeente"]: r["count"] for r in rows(c, "COUNT started by=gemeente")}
            self.assertEqual(got, {"hilversum": "20", "huizen": "<5"})
            self.assertEqual(rows(c, "COUNT started")[0]["count"], "30")  # 25 rounded, its own value
            prog = {(r["project"], r["indicator"]): r for r in rows(c, "PROGRESS")}
            self.assertEqual(prog[("klein", "started")]["actual"], "<5")
            self.assertEqual(prog[("klein", "started")]["status"], "none")
            # the program's row (25) minus zorgpad's (24) would give klein's 1: zorgpad's
            # is hidden too
            self.assertEqual(prog[(PROJECT, "started")]["actual"], "<5")
            self.assertEqual(prog[("*", "started")]["actual"], "30")
        r = request(self.http_port, "/v1/count?type=started&by=gemeente", token=TOKENS["publiek"])
        self.assertEqual(r.status, 200, r)
        got = {row["gemeente"]: row for row in r.json()["rows"]}
        self.assertEqual(got["huizen"]["count"], None)
        self.assertIs(got["huizen"]["suppressed"], True)
        self.assertEqual(got["hilversum"]["count"], 20)
        self.assertNotIn("suppressed", got["hilversum"])


class LargeAnswersTest(wmtest.TestCase):
    """Finding 1, the answers that are allowed: a large one is written a slice at a time
    as its client reads, whole and in order."""
    own_daemon_reason = "counts exactly the thousands of events it loads"
    flags = ["--idle-timeout", "0"]
    registry = ["PROJECT %s category=zorg" % PROJECT]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = cls.server
        cls.events = large_events()
        with cls.s.connect() as c:
            for i in range(0, len(cls.events), 1000):
                for r in c.pipeline(cls.events[i:i + 1000], timeout=60):
                    if not r.startswith("OK "):
                        raise wmtest.ServerError("event refused: %r" % (r,))

    def fast_answer(self):
        """The LARGE answer as a client that reads at once gets it, checked row by row
        against the events loaded."""
        with self.s.connect() as c:
            c.sendline(LARGE)
            block, rest = read_block(c.sock)
        self.assertEqual(rest, b"")
        lines = block.decode().split("\n")[:-1]
        self.assertEqual(lines[-1], "END %d" % len(self.events))
        want = sorted("ROW project=%s category=zorg gemeente=%s year=%d quarter=%d-Q%d month=%d-%02d "
                      "doelgroep=%s count=1" % (PROJECT, g, y, y, (m - 1) // 3 + 1, y, m, d)
                      for y, m in LARGE_MONTHS for g in LARGE_GEMEENTEN for d in DOELGROEPEN)
        self.assertEqual(lines[:-1], want)
        # several slices of 64 KiB
        self.assertGreater(len(block), 8 * 65536)
        return block

    def test_finding1_large_answer_to_a_slow_reader(self):
        """A client that reads a large COUNT slowly gets it byte for byte as a fast
        reader does, its pipelined PING answered after the END; other clients get their
        answers meanwhile."""
        fast = self.fast_answer()
        slow = socket.create_connection((self.s.host, self.s.port), timeout=30)
        other = self.s.connect()
        try:
            slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            slow.sendall((LARGE + "\nPING\n").encode())
            got, pings, worst = b"", 0, 0.0
            while not got.endswith(b"PONG\n"):
                chunk = slow.recv(4096)
                self.assertTrue(chunk, "the daemon closed the slow reader after %d bytes" % len(got))
                got += chunk
                time.sleep(0.002)
                if len(got) // 65536 > pings and b"\nEND " not in got:
                    # mid-answer: another client is answered at once
                    t0 = time.monotonic()
                    self.assertEqual(other.cmd("PING"), "PONG")
                    self.assertEqual(other.rows("COUNT started gemeente=huizen"),
                                     [{"count": str(len(self.events) // len(LARGE_GEMEENTEN))}])
                    worst = max(worst, time.monotonic() - t0)
                    pings += 1
            self.assertEqual(got, fast + b"PONG\n")
            self.assertGreaterEqual(pings, 4)
            wmtest.log("large answers: %d bytes read slowly; %d PING and COUNT round trips meanwhile, "
                       "the slowest %.1f ms" % (len(got), pings, worst * 1000))
        finally:
            slow.close()
            other.close()

    def test_finding1_large_answers_to_clients_that_never_read(self):
        """Clients that each pipeline large COUNTs and a PING without reading are answered
        one slice at a time: the daemon keeps each unsent answer packed rather than as
        text (its peak grows by far less than the text of the answers asked), stops
        reading their further requests, answers others meanwhile, and each of them later
        reads every answer whole and in order."""
        fast = self.fast_answer()
        pid, n, asked = self.s.pid, 20, 2
        hwm0 = status_kb(pid, "VmHWM")
        socks = []
        try:
            for _ in range(n):
                # (no small receive buffer here: after seconds of a closed window, the
                # kernel's window probes back off so far that reading later stalls)
                sk = socket.create_connection((self.s.host, self.s.port), timeout=60)
                sk.sendall(((LARGE + "\n") * asked + "PING\n").encode())
                socks.append(sk)
            # one that keeps sending and never reads is not read beyond its first
            # request until it takes that answer: its sends block
            flood = socket.create_connection((self.s.host, self.s.port), timeout=60)
            socks.append(flood)
            flood.setblocking(False)
            flooded, blocked, deadline = 0, False, time.monotonic() + 20
            while not blocked and time.monotonic() < deadline:
                try:
                    flooded += flood.send(((LARGE + "\n") * 1000).encode())
                except BlockingIOError:
                    blocked = True
                    time.sleep(0.2)  # still blocked after a moment: not read
                    try:
                        flooded += flood.send(b"PING\n")
                        blocked = False
                    except BlockingIOError:
                        pass
            self.assertTrue(blocked, "the daemon kept reading a client that never reads (%d bytes)" % flooded)
            # the daemon has done what it can for them: its CPU time stands still
            last, still = cpu_ticks(pid), 0
            for _ in range(200):
                time.sleep(0.05)
                now = cpu_ticks(pid)
                still = still + 1 if now == last else 0
                last = now
                if still >= 10:
                    break
            with self.s.connect() as c:
                self.assertEqual(c.cmd("PING"), "PONG")
                self.assertEqual(c.rows("COUNT started"), [{"count": str(len(self.events))}])
            grown_mib = (status_kb(pid, "VmHWM") - hwm0) / 1024.0
            text_mib = n * asked * len(fast) / 1048576.0
            wmtest.log("large answers: %d clients asked %.1f MiB of answers without reading; the daemon's "
                       "peak grew %.1f MiB" % (n, text_mib, grown_mib))
            if not wmtest.sanitizer_build():
                # a packed answer is a third of its text, plus a slice of 64 KiB of text
                self.assertLess(grown_mib, text_mib / 2)
            for sk in socks[:n]:
                buf = b""
                for _ in range(asked):
                    block, buf = read_block(sk, buf)
                    self.assertEqual(block, fast)
                while not buf.endswith(b"\n"):
                    buf += sk.recv(4096)
                self.assertEqual(buf, b"PONG\n")
        finally:
            for sk in socks:
                sk.close()

    def test_finding1_large_progress_projects_notes_in_slices(self):
        """PROJECTS, PROGRESS and NOTES answers of many slices (700 projects, a note
        each) reach a slow reader byte for byte as a fast one, in request order."""
        names = ["sl%03d" % i for i in range(700)]
        with self.s.connect() as c:
            lines = ["PROJECT %s category=zorg target.started=%d start=2016-01-01 end=2025-12-31" % (p, i)
                     for i, p in enumerate(names)]
            lines += ["NOTE period=2023-H1 project=%s light=green text=%s" % (p, "Op%20koers%20" * 12) for p in names]
            for r in c.pipeline(lines, timeout=60):
                self.assertTrue(r.startswith("OK"), r)
        asked = ["PROJECTS", "PROGRESS asof=2023-06-30", "NOTES period=2023-H1"]
        with self.s.connect() as c:
            c.send("".join(q + "\n" for q in asked))
            fast, rest = [], b""
            for _ in asked:
                block, rest = read_block(c.sock, rest)
                fast.append(block)
        for q, block in zip(asked, fast):
            self.assertGreater(len(block), 65536 + 16384, q)
        # every row once, in order, across the slices
        for block, per in zip(fast, (1, 3, 1)):
            got = [t for l in block.decode().split("\n") if l.startswith("ROW ") for t in l.split()
                   if t.startswith("project=sl")]
            self.assertEqual(got, ["project=" + p for p in names for _ in range(per)])
        slow = socket.create_connection((self.s.host, self.s.port), timeout=30)
        try:
            slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
            slow.sendall(("".join(q + "\n" for q in asked) + "PING\n").encode())
            got, t0 = b"", time.monotonic()
            while not got.endswith(b"PONG\n"):
                chunk = slow.recv(4096)
                self.assertTrue(chunk, "closed after %d bytes" % len(got))
                got += chunk
                time.sleep(0.001)
            self.assertEqual(got, b"".join(fast) + b"PONG\n")
            wmtest.log("large answers: PROJECTS, PROGRESS, NOTES: %d bytes read slowly in %.1f s"
                       % (len(got), time.monotonic() - t0))
        finally:
            slow.close()
