"""Live totals and operations (PROTOCOL.md section 7): WATCH pushes a TOTAL at once and
after commits of other connections (coalesced), accepts only QUIT afterwards and is
exempt from the idle timeout; STATS lists its statistics."""

import re
import time
import unittest

import wmtest
from wmtest import event, uid

PROJ = "watch-p"
TOTAL_RE = re.compile(r"TOTAL seq=(\d+) started=(\d+) completed=(\d+) placed=(\d+) placed\.persons=(\d+) "
                      r"outflow=(\d+)")


def total(line):
    m = TOTAL_RE.fullmatch(line)
    if not m:
        raise AssertionError("not a TOTAL line: %r" % line)
    keys = ("seq", "started", "completed", "placed", "placed.persons", "outflow")
    return dict(zip(keys, map(int, m.groups())))


def ev(type_, person, **kw):
    f = dict(id=uid("w"), person=person, gemeente="blaricum", date="2022-05-05")
    if type_ != "outflow":
        f["project"] = PROJ
    f.update(kw)
    return event(type_, **f)


class WatchTest(wmtest.FreshDaemonTestCase):
    """A daemon of its own per test: the totals cover the whole store."""

    def fresh(self, flags=None):
        s = self.own_server(flags)
        self.assertEqual(self.conn(s).cmd("PROJECT %s category=watch" % PROJ), "OK")
        return s

    def read_total(self, w, timeout=5):
        return total(w.readline(timeout))

    def test_watch_answers_and_pushes_the_totals_at_once(self):
        s = self.fresh()
        w = self.conn(s)
        self.assertEqual(w.cmd("WATCH"), "OK watching")
        t = self.read_total(w)
        self.assertEqual(t, {"seq": t["seq"], "started": 0, "completed": 0, "placed": 0, "placed.persons": 0,
                             "outflow": 0})

    def test_push_after_another_connections_event(self):
        s = self.fresh()
        w = self.conn(s)
        self.assertEqual(w.cmd("WATCH"), "OK watching")
        self.read_total(w)
        c = self.conn(s)
        seq = self.assertOkSeq(c.cmd(ev("started", "pseudo-w-0001")))
        t0 = time.monotonic()
        t = self.read_total(w, timeout=3)
        self.assertLess(time.monotonic() - t0, 2.0)
        self.assertEqual(t, {"seq": seq, "started": 1, "completed": 0, "placed": 0, "placed.persons": 0,
                             "outflow": 0})

    def test_figures_follow_the_protocol(self):
        s = self.fresh()
        c = self.conn(s)
        lines = [ev("started", "pseudo-w-0001"), ev("started", "pseudo-w-0001"), ev("started", "pseudo-w-0002"),
                 ev("completed", "pseudo-w-0001", result="diploma"),
                 ev("completed", "pseudo-w-0002", result="certificaat"),
                 ev("completed", "pseudo-w-0003", result="afgerond"),
                 ev("completed", "pseudo-w-0004", result="uitgevallen"),
                 ev("placed", "pseudo-w-0001", sector="zorg"), ev("placed", "pseudo-w-0001", sector="bouw"),
                 ev("placed", "pseudo-w-0002", sector="ict"),
                 ev("outflow", "pseudo-w-0001", benefit="pw", reason="werk"),
                 ev("outflow", "pseudo-w-0005", benefit="ww", reason="scholing", project=PROJ)]
        seqs = [self.assertOkSeq(r) for r in c.pipeline(lines)]
        # A resend changes nothing; a retraction takes one placement of person 2 away.
        self.assertDup(c.cmd(lines[0]), seqs[0])
        placed_id = re.search(r"id=(\S+)", lines[9]).group(1)
        rseq = self.assertOkSeq(c.cmd("RETRACT id=%s ref=%s" % (uid("wr"), placed_id)))
        w = self.conn(s)
        self.assertEqual(w.cmd("WATCH"), "OK watching")
        self.assertEqual(self.read_total(w), {"seq": rseq, "started": 3, "completed": 3, "placed": 2,
                                              "placed.persons": 1, "outflow": 2})
        # Retracting the other completed-with-success counts down too.
        done_id = re.search(r"id=(\S+)", lines[3]).group(1)
        rseq = self.assertOkSeq(c.cmd("RETRACT id=%s ref=%s" % (uid("wr"), done_id)))
        self.assertEqual(self.read_total(w), {"seq": rseq, "started": 3, "completed": 2, "placed": 2,
                                              "placed.persons": 1, "outflow": 2})

    def test_pushes_are_coalesced(self):
        s = self.fresh()
        w = self.conn(s)
        self.assertEqual(w.cmd("WATCH"), "OK watching")
        self.read_total(w)
        c = self.conn(s)
        t0 = time.monotonic()
        last = 0
        for k in range(20):  # 20 commits of 50 events, spread over a while
            replies = c.pipeline([ev("outflow", "pseudo-w-%04d" % n, benefit="pw", reason="werk")
                                  for n in range(50)])
            last = max(self.assertOkSeq(r) for r in replies)
        elapsed = time.monotonic() - t0
        pushes = []
        while True:
            t = self.read_total(w, timeout=3)
            pushes.append(t)
            if t["seq"] == last:
                break
        self.assertEqual(pushes[-1]["outflow"], 1000)
        # At most about ten a second (plus the one that may be due at once).
        self.assertLessEqual(len(pushes), int(elapsed * 10) + 3, "%d pushes in %.2f s" % (len(pushes), elapsed))
        seqs = [p["seq"] for p in pushes]
        self.assertEqual(seqs, sorted(seqs))

    def test_only_quit_after_watch(self):
        s = self.fresh()
        w = self.conn(s)
        self.assertEqual(w.cmd("WATCH"), "OK watching")
        self.read_total(w)
        for req in ("PING", "COUNT started", "WATCH", ev("started", "pseudo-w-0009")):
            w.sendline(req)
            line = w.readline()
            while line.startswith("TOTAL "):
                line = w.readline()
            self.assertRegex(line, r"^ERR \S+ .+", req)
        # The refused event was not stored.
        with s.connect() as c:
            self.assertEqual(c.cmd("PING"), "PONG")
        w.sendline("QUIT")
        line = w.readline()
        while line.startswith("TOTAL "):
            line = w.readline()
        self.assertEqual(line, "OK bye")
        for rest in w.expect_eof():
            self.assertTrue(rest.startswith("TOTAL "), rest)

    def test_watch_is_exempt_from_the_idle_timeout(self):
        s = self.fresh(["--idle-timeout", "1"])
        w = self.conn(s)
        self.assertEqual(w.cmd("WATCH"), "OK watching")
        self.read_total(w)
        time.sleep(2.5)
        self.assertFalse(w.closed_by_peer(timeout=0.2), "the idle timeout closed a WATCH connection")
        w.sendline("QUIT")
        self.assertEqual(w.readline(), "OK bye")


class StatsTest(wmtest.TestCase):
    flags = []

    def stats(self, c):
        rows = c.rows("STATS")
        out = {}
        for r in rows:
            self.assertEqual(list(r), ["stat", "value"], r)
            self.assertNotIn(r["stat"], out, "stat %s twice" % r["stat"])
            out[r["stat"]] = r["value"]
        return out

    def test_stats_fields(self):
        wmtest.need_own_daemon(self)
        c = self.conn()
        self.assertEqual(c.cmd("PROJECT %s category=watch" % PROJ), "OK")
        seqs = [self.assertOkSeq(r) for r in c.pipeline([ev("started", "pseudo-s-%04d" % n) for n in range(10)])]
        first = re.search(r"id=(\S+)", ev("started", "pseudo-s-9999")).group(1)
        self.assertOkSeq(c.cmd(ev("started", "pseudo-s-9999", id=first)))
        self.assertOkSeq(c.cmd("RETRACT id=%s ref=%s" % (uid("sr"), first)))
        other = self.conn()
        self.assertEqual(other.cmd("PING"), "PONG")  # accepted by now
        st = self.stats(c)
        for k in ("version", "uptime_s", "connections", "events", "retracted", "commits", "batch_avg",
                  "db_bytes", "map_bytes"):
            self.assertIn(k, st)
        self.assertRegex(st["version"], r"^\d+\.\d+\.\d+")
        for k in ("uptime_s", "connections", "events", "retracted", "commits", "db_bytes", "map_bytes"):
            self.assertRegex(st[k], r"^\d+$", k)
        self.assertRegex(st["batch_avg"], r"^\d+(\.\d+)?$")
        self.assertGreaterEqual(int(st["connections"]), 2)
        self.assertIn(int(st["events"]), (10, 11))  # with or without the retracted one
        self.assertEqual(int(st["retracted"]), 1)
        self.assertGreaterEqual(int(st["commits"]), 3)
        self.assertLessEqual(int(st["commits"]), 13)
        self.assertGreater(int(st["db_bytes"]), 0)
        self.assertGreaterEqual(int(st["map_bytes"]), int(st["db_bytes"]))
        other.close()
        time.sleep(1.1)
        st2 = self.stats(c)
        self.assertGreaterEqual(int(st2["uptime_s"]), int(st["uptime_s"]) + 1)
        self.assertEqual(st2["version"], st["version"])
        self.assertGreater(len(seqs), 0)


if __name__ == "__main__":
    unittest.main()
