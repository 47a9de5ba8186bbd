"""Conformance audit of PROTOCOL.md section 7 (WATCH, STATS) against the real daemon.
The TOTAL figures are computed here from the events this file sends. Findings of the
audit: docs/AUDIT.md."""

import socket
import time
import unittest

import wmtest
from wmtest import event

PROJ = "conf-live"
SUCCESS = {"diploma", "certificaat", "afgerond"}


class Totals:
    """The contract's TOTAL figures over the whole store."""

    def __init__(self):
        self.events = {}  # id -> (type, person, result)
        self.retracted = set()
        self.last_seq = 0

    def line(self):
        live = [v for k, v in self.events.items() if k not in self.retracted]
        started = sum(1 for t, _, _ in live if t == "started")
        completed = sum(1 for t, _, r in live if t == "completed" and r in SUCCESS)
        placed = [p for t, p, _ in live if t == "placed"]
        outflow = sum(1 for t, _, _ in live if t == "outflow")
        return ("TOTAL seq=%d started=%d completed=%d placed=%d placed.persons=%d outflow=%d"
                % (self.last_seq, started, completed, len(placed), len(set(placed)), outflow))


def ev_line(t, id_, person, result=None, date="2022-03-03"):
    f = dict(id=id_, person=person, gemeente="huizen", date=date)
    if t != "outflow":
        f["project"] = PROJ
    if t == "completed":
        f["result"] = result
    elif t == "placed":
        f["sector"] = "ict"
    elif t == "outflow":
        f.update(benefit="ww", reason="werk")
    return event(t, **f)


class LiveBase(wmtest.TestCase):
    registry = ["PROJECT %s category=live" % PROJ]

    own_daemon_reason = "the TOTAL figures need a fresh store"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tot = Totals()

    def write(self, c, t, id_, person, result=None):
        seq = self.assertOkSeq(c.cmd(ev_line(t, id_, person, result)))
        self.tot.events[id_] = (t, person, result)
        self.tot.last_seq = max(self.tot.last_seq, seq)
        return seq

    def retract(self, c, id_):
        seq = self.assertOkSeq(c.cmd("RETRACT id=%s-r ref=%s" % (id_, id_)))
        self.tot.retracted.add(id_)
        self.tot.last_seq = max(self.tot.last_seq, seq)
        return seq

    def next_total(self, w, timeout=3.0):
        line = w.readline(timeout)
        self.assertTrue(line.startswith("TOTAL "), line)
        return line

    def settle(self, w, quiet=0.4):
        """Read TOTAL pushes until none comes for `quiet` seconds; return the last."""
        last = None
        while True:
            try:
                last = self.next_total(w, quiet)
            except socket.timeout:
                return last


class WatchTest(LiveBase):
    def test_watch_ok_then_total_at_once(self):
        c = self.conn()
        u = wmtest.uid("w")
        self.write(c, "started", u + "-1", "p:livewatch1")
        self.write(c, "completed", u + "-2", "p:livewatch1", "diploma")
        self.write(c, "completed", u + "-3", "p:livewatch1", "uitgevallen")
        self.write(c, "placed", u + "-4", "p:livewatch1")
        self.write(c, "placed", u + "-5", "p:livewatch1")
        self.write(c, "placed", u + "-6", "p:livewatch2")
        self.write(c, "outflow", u + "-7", "p:livewatch2")
        self.retract(c, u + "-6")
        w = self.conn()
        self.assertEqual(w.cmd("WATCH"), "OK watching")
        self.assertEqual(self.next_total(w, 1.0), self.tot.line())

    def test_watch_total_after_pipelined_writes_on_same_connection(self):
        # the first TOTAL covers every write the connection sent before WATCH
        c = self.conn()
        u = wmtest.uid("wp")
        lines = [ev_line("placed", "%s-%d" % (u, i), "p:livepipe%d" % (i % 3)) for i in range(10)]
        got = c.pipeline(lines + ["WATCH"])
        for i, r in enumerate(got[:-1]):
            seq = self.assertOkSeq(r)
            self.tot.events["%s-%d" % (u, i)] = ("placed", "p:livepipe%d" % (i % 3), None)
            self.tot.last_seq = max(self.tot.last_seq, seq)
        self.assertEqual(got[-1], "OK watching")
        self.assertEqual(self.next_total(c, 1.0), self.tot.line())

    def test_watch_pushes_after_commit_on_another_connection(self):
        w = self.conn()
        self.assertEqual(w.cmd("WATCH"), "OK watching")
        self.next_total(w)
        c = self.conn()
        u = wmtest.uid("wo")
        for t, res in (("started", None), ("completed", "certificaat"), ("placed", None), ("outflow", None)):
            self.write(c, t, "%s-%s" % (u, t), "p:liveother1", res)
            self.assertEqual(self.settle(w), self.tot.line())
        # a retraction changes the figures too
        self.retract(c, "%s-placed" % u)
        self.assertEqual(self.settle(w), self.tot.line())

    def test_watch_placed_persons_distinct_with_retractions(self):
        w = self.conn()
        self.assertEqual(w.cmd("WATCH"), "OK watching")
        self.next_total(w)
        c = self.conn()
        u = wmtest.uid("pp")
        self.write(c, "placed", u + "-a", "p:livepersonX")
        self.write(c, "placed", u + "-b", "p:livepersonX")
        self.assertEqual(self.settle(w), self.tot.line())
        self.retract(c, u + "-a")
        self.assertEqual(self.settle(w), self.tot.line())  # X still placed once
        self.retract(c, u + "-b")
        self.assertEqual(self.settle(w), self.tot.line())

    def test_watch_pushes_coalesced_at_most_about_ten_a_second(self):
        w = self.conn()
        self.assertEqual(w.cmd("WATCH"), "OK watching")
        self.next_total(w)
        c = self.conn()
        u = wmtest.uid("co")
        t0 = time.monotonic()
        for i in range(60):  # sixty commits, one after the other
            self.write(c, "started", "%s-%d" % (u, i), "p:livecoal1")
        elapsed = time.monotonic() - t0
        pushes = []
        while True:
            try:
                pushes.append(self.next_total(w, 0.5))
            except socket.timeout:
                break
        total_time = elapsed + 0.5
        self.assertGreaterEqual(len(pushes), 1)
        self.assertLessEqual(len(pushes), int(total_time * 10) + 3, "%d pushes in %.2f s" % (len(pushes), total_time))
        self.assertEqual(pushes[-1], self.tot.line())

    def test_watch_accepts_only_quit(self):
        w = self.conn()
        self.assertEqual(w.cmd("WATCH"), "OK watching")
        self.next_total(w)
        for line in ("PING", "COUNT started", "HELLO", "WATCH", "STATS"):
            with self.subTest(line=line):
                self.assertRegex(w.cmd(line), r"^ERR \S+ .+")
        u = wmtest.uid("q")
        self.assertRegex(w.cmd(ev_line("started", u, "p:livequit1")), r"^ERR \S+ .+")
        c = self.conn()
        self.assertErr(c.cmd("RETRACT id=%s-r ref=%s" % (u, u)), "not-found")  # not stored
        self.assertEqual(w.cmd("QUIT"), "OK bye")
        self.assertEqual(w.expect_eof(), [])

    def test_watch_idle_timeout_does_not_apply(self):
        s = self.own_server(["--idle-timeout", "1"])
        w, idle = self.conn(s), self.conn(s)
        self.assertEqual(idle.cmd("PING"), "PONG")
        self.assertEqual(w.cmd("WATCH"), "OK watching")
        self.assertEqual(w.readline(), "TOTAL seq=0 started=0 completed=0 placed=0 placed.persons=0 outflow=0")
        self.assertTrue(idle.closed_by_peer(timeout=4.0), "the idle timeout does not work at all")
        time.sleep(1.0)  # the watcher has now been silent for two idle timeouts
        self.assertEqual(w.cmd("QUIT"), "OK bye")


class StatsTest(LiveBase):
    NAMES = ["version", "uptime_s", "connections", "events", "retracted", "commits", "batch_avg",
             "db_bytes", "map_bytes"]

    def stats(self, c):
        resp = c.cmd("STATS")
        rows = wmtest.parse_block(resp)
        for line in resp[:-1]:
            self.assertRegex(line, r"^ROW stat=\S+ value=\S+$")
        return {r["stat"]: r["value"] for r in rows}

    def test_stats_lists_required_names(self):
        st = self.stats(self.conn())
        for n in self.NAMES:
            self.assertIn(n, st)
        hello = self.conn().cmd("HELLO")
        self.assertEqual(hello.split()[2], st["version"])
        for n in ("uptime_s", "connections", "events", "retracted", "commits", "db_bytes", "map_bytes"):
            self.assertRegex(st[n], r"^\d+$", n)
        self.assertRegex(st["batch_avg"], r"^\d+(\.\d+)?$")

    def test_stats_values_follow_the_store(self):
        s = self.own_server(["--map-size", "64M"])
        c = self.conn(s)
        st = self.stats(c)
        self.assertEqual((st["events"], st["retracted"]), ("0", "0"))
        self.assertEqual(st["map_bytes"], str(64 << 20))
        self.assertEqual(c.cmd("PROJECT %s category=live" % PROJ), "OK")
        commits0 = int(self.stats(c)["commits"])
        lines = [ev_line("started", "st-%d" % i, "p:livestats%d" % i) for i in range(20)]
        for r in c.pipeline(lines):
            self.assertOkSeq(r)
        self.assertEqual(c.cmd(lines[0]), "DUP 1")
        self.assertOkSeq(c.cmd("RETRACT id=st-r ref=st-3"))
        st = self.stats(c)
        self.assertEqual(st["events"], "20")
        self.assertEqual(st["retracted"], "1")
        self.assertGreater(int(st["commits"]), commits0)
        self.assertGreater(float(st["batch_avg"]), 0)
        self.assertGreater(int(st["db_bytes"]), 0)
        self.assertLessEqual(int(st["db_bytes"]), int(st["map_bytes"]))
        # connections: this one and two more
        more = [self.conn(s), self.conn(s)]
        for m in more:
            self.assertEqual(m.cmd("PING"), "PONG")
        self.assertGreaterEqual(int(self.stats(c)["connections"]), 3)
        up = int(st["uptime_s"])
        time.sleep(1.1)
        self.assertGreater(int(self.stats(c)["uptime_s"]), up)


if __name__ == "__main__":
    unittest.main()
