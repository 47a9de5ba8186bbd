"""The memory part's checkpoint against the real daemon (issue 15 item 4): a daemon
killed with SIGKILL after a checkpoint and more writes (events, RETRACTs, REPLACEs)
starts from the checkpoint, replays the records after it, and answers every query as
the same store does when its memory part is rebuilt from scratch; a damaged or
truncated checkpoint is not used (the start logs why) and the answers stay the same;
werkmonitord verify passes on each; a periodic checkpoint that fails is logged once,
and its recovery too."""

import os
import re
import time
import unittest

import opstest
import wmtest


def memory_line(server):
    """The last start's log line about the store's memory part."""
    lines = [l for l in server.stderr().splitlines() if "store opened in" in l]
    return lines[-1] if lines else ""


class CheckpointTest(unittest.TestCase):
    def setUp(self):
        wmtest.need_own_daemon(self)
        self.srv = wmtest.Server(["--audit-log", "none", "--checkpoint-every", "1000"]).start()
        self.addCleanup(self.srv.cleanup)
        self.ckpt = os.path.join(self.srv.data_dir, "memory.ckpt")
        with self.srv.connect() as c:
            opstest.setup_registry(c)
            opstest.send_all(c, opstest.workload(1, 2500, tag="ck"))

    def wait_for_checkpoint(self, c, past_seq):
        """Until the daemon's child has written a checkpoint past past_seq; its seq."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            st = opstest.stats(c)
            if int(st["checkpoint_seq"]) > past_seq:
                self.assertEqual(st["checkpoint_failures"], "0")
                return int(st["checkpoint_seq"])
            # a batch lets the writer reap its finished child
            opstest.send_all(c, opstest.workload(int(time.monotonic() * 1000), 1,
                                                 tag="nudge%d" % int(time.monotonic() * 1e6)))
            time.sleep(0.05)
        self.fail("no checkpoint written past seq %d within 30 s" % past_seq)

    def rebuilt_answers(self):
        """The store's answers with its memory part rebuilt from every record."""
        self.srv.stop()
        os.rename(self.ckpt, self.ckpt + ".saved")
        self.srv.flags[-1] = "off"
        self.srv.start()
        self.assertIn("rebuilt from the records (checkpoints are off)", memory_line(self.srv))
        with self.srv.connect() as c:
            ans = opstest.answers(c)
        self.srv.stop()
        self.srv.flags[-1] = "1000"
        os.rename(self.ckpt + ".saved", self.ckpt)
        return ans

    def test_kill_after_checkpoint_replays_the_rest(self):
        with self.srv.connect() as c:
            seq = self.wait_for_checkpoint(c, 0)
            # more writes after it: events, retractions of events before and after it,
            # new versions of events before and after it
            more = opstest.workload(2, 400, tag="ck2")
            more += ["RETRACT id=ck-late-r%d ref=ck-%06d reason=dubbel" % (i, i)
                     for i in range(3, 40, 7)]
            again = [l for l in opstest.workload(9, 2500, tag="ck") if l.startswith("EVENT ")]
            more += ["REPLACE " + l[len("EVENT "):] for l in again[100:160]]
            more += ["REPLACE " + l[len("EVENT "):] for l in
                     [x for x in opstest.workload(8, 400, tag="ck2") if x.startswith("EVENT ")][:30]]
            replies = c.pipeline(more, timeout=120)
            for line, r in zip(more, replies):
                self.assertTrue(r.startswith("OK") or r.startswith("DUP") or
                                r.startswith("ERR conflict"), (line, r))
            st = opstest.stats(c)
            last = int(st["last_seq"])
            before = opstest.answers(c)
        self.assertGreater(last, seq)
        # a crash: no checkpoint at shutdown; what is on disk covers some seq <= last
        self.srv.kill_and_restart()
        line = memory_line(self.srv)
        m = re.search(r"loaded from the checkpoint of seq (\d+), (\d+) records after it "
                      r"replayed", line)
        self.assertIsNotNone(m, line)
        self.assertGreaterEqual(int(m.group(1)), seq)
        self.assertEqual(int(m.group(1)) + int(m.group(2)), last)
        with self.srv.connect() as c:
            self.assertEqual(opstest.answers(c), before)
        opstest.verify_ok(self, self.srv.data_dir)
        self.assertEqual(self.rebuilt_answers(), before)

    def damage_and_start(self, how):
        self.srv.stop()  # writes the checkpoint of the last seq
        size = os.path.getsize(self.ckpt)
        with open(self.ckpt, "r+b") as f:
            if how == "flip":
                f.seek(size // 2)
                b = f.read(1)
                f.seek(size // 2)
                f.write(bytes([b[0] ^ 0x20]))
            elif how == "truncate":
                f.truncate(size - 1000)
            else:
                f.truncate(100)
        self.srv.start()
        return self.srv.stderr()

    def test_damaged_or_truncated_checkpoint_rebuilds_and_says_why(self):
        with self.srv.connect() as c:
            before = opstest.answers(c)
        for how, why in (("flip", "(section "),
                         ("truncate", "cut short"),
                         ("header", "shorter than its header")):
            log = self.damage_and_start(how)
            warn = [l for l in log.splitlines() if "checkpoint" in l and "was not used" in l]
            self.assertTrue(warn, log[-2000:])
            self.assertIn(why, warn[-1])
            self.assertIn("is damaged", warn[-1])
            self.assertIn("rebuilt from the records", memory_line(self.srv))
            with self.srv.connect() as c:
                self.assertEqual(opstest.answers(c), before, how)
            opstest.verify_ok(self, self.srv.data_dir)
        # the stop after the rebuild wrote a good one again
        self.srv.restart()
        self.assertIn("loaded from the checkpoint of seq", memory_line(self.srv))

    def nudge_until(self, c, cond, what):
        """Small batches (each lets the writer reap a finished child) until cond(stats)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            st = opstest.stats(c)
            if cond(st):
                return st
            opstest.send_all(c, opstest.workload(int(time.monotonic() * 1000), 1,
                                                 tag="nudge%d" % int(time.monotonic() * 1e6)))
            time.sleep(0.05)
        self.fail("%s: not within 30 s (STATS %r)" % (what, opstest.stats(c)))

    def test_failing_checkpoint_is_logged_once_and_its_recovery(self):
        """A periodic checkpoint that fails is logged once, naming the file and why, not
        again while the retries fail, and once more when one is written again."""
        with self.srv.connect() as c:
            good = self.wait_for_checkpoint(c, 0)
            # the interval grows with the store: as many records as the last checkpoint
            # covers, at least --checkpoint-every's 1000
            n = max(1000, good) + 100
            # the child's temporary file cannot be created: a directory stands there
            tmp = self.ckpt + ".tmp"
            os.mkdir(tmp)
            for k in range(3):  # three intervals: a failure, then the retries fail too
                opstest.send_all(c, opstest.workload(20 + k, n, tag="fail%d" % k))
                failures = k + 1
                self.nudge_until(c, lambda st: int(st["checkpoint_failures"]) >= failures,
                                 "failure %d" % failures)
            log = self.srv.stderr()
            lines = [l for l in log.splitlines() if "checkpoint: " in l]
            self.assertEqual(len(lines), 1, log[-3000:])
            self.assertTrue(lines[0].startswith("warn "), lines[0])
            self.assertIn("checkpoint: cannot write %s: Is a directory (the checkpoint of seq "
                          % self.ckpt, lines[0])
            self.assertIn("the next start replays the events after seq %d, the last good "
                          "checkpoint" % good, lines[0])
            self.assertEqual(int(opstest.stats(c)["checkpoint_seq"]), good)
            # the way is free again: the next interval's checkpoint is written
            os.rmdir(tmp)
            opstest.send_all(c, opstest.workload(30, n, tag="heal"))
            st = self.nudge_until(c, lambda st: int(st["checkpoint_seq"]) > good, "recovery")
            log = self.srv.stderr()
            again = [l for l in log.splitlines() if "checkpoint: written again" in l]
            self.assertEqual(len(again), 1, log[-3000:])
            self.assertIn("covering seq %s (%s failed before it)"
                          % (st["checkpoint_seq"], st["checkpoint_failures"]), again[0])
            self.assertEqual(len([l for l in log.splitlines() if "checkpoint: " in l]), 2)
        # a crash now starts from the new checkpoint
        self.srv.kill_and_restart()
        self.assertIn("loaded from the checkpoint of seq", memory_line(self.srv))


if __name__ == "__main__":
    unittest.main()
