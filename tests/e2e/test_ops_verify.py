"""werkmonitord verify: recomputes everything derived from the events and reports each
difference. Clean stores pass (stopped, and live beside a daemon that keeps writing);
a store damaged on purpose below werkmonitor's own code (tests/tools/lmdb_poke.c: a
record, an index entry) fails with exit 1 and a line naming the damage. (The rollup
cells are in memory, rebuilt from the records: the unit tests damage them.)"""

import os
import threading
import unittest

import opstest
import wmtest


class VerifyTest(unittest.TestCase):
    def setUp(self):
        wmtest.need_own_daemon(self)
        self.srv = wmtest.Server(["--audit-log", "none"]).start()
        self.addCleanup(self.srv.cleanup)
        with self.srv.connect() as c:
            opstest.setup_registry(c)
            opstest.send_all(c, opstest.workload(1, 600, tag="vf"))

    def stopped_copy(self):
        """Stop the daemon: the store is the test's to damage."""
        self.srv.stop()
        return self.srv.data_dir

    def test_clean_store_passes(self):
        out = opstest.verify_ok(self, self.stopped_copy())
        self.assertRegex(out, r"consistent through seq 6\d\d \(6\d\d records, \d+ live events, "
                              r"\d+ cells, \d+ persons compared\)")
        # the memory part compared is the one the daemon's next start loads: its
        # checkpoint, written when it stopped
        self.assertRegex(out, r"memory part loaded from the checkpoint of seq 6\d\d, 0 records "
                              r"after it replayed")

    def test_live_store_passes_while_the_daemon_writes(self):
        stop = threading.Event()
        errors = []

        def writer():
            try:
                with self.srv.connect() as c:
                    i = 0
                    while not stop.is_set():
                        opstest.send_all(c, opstest.workload(2 + i, 40, tag="lv%d" % i))
                        i += 1
            except Exception as e:  # reported below: the thread must not fail quietly
                errors.append(e)

        t = threading.Thread(target=writer)
        t.start()
        try:
            seqs = []
            for _ in range(3):
                out = opstest.verify_ok(self, self.srv.data_dir)
                seqs.append(int(out.split("consistent through seq ")[1].split()[0]))
        finally:
            stop.set()
            t.join()
        self.assertEqual(errors, [])
        # each run verified a snapshot of its own, taken while the writes went on
        self.assertEqual(seqs, sorted(seqs))
        self.assertGreater(seqs[-1], 600)
        # once the writes stopped: the daemon's last seq
        out = opstest.verify_ok(self, self.srv.data_dir)
        with self.srv.connect() as c:
            self.assertEqual(c.cmd("WATCH"), "OK watching")
            total = c.readline()
        self.assertIn("consistent through seq %s " % total.split("seq=")[1].split()[0], out)

    def verify_fails(self, data_dir):
        p = opstest.ops("verify", "--data", data_dir)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"verify: .*: \d+ differences, through seq")
        return [l[len("difference: "):] for l in p.stdout.splitlines()
                if l.startswith("difference: ")]

    def test_replaced_versions_pass(self):
        # REPLACE of live and of retracted events: each id's entry names its latest
        # version, and a REPLACE's retraction of the old version has no entry of its own
        lines = [l for l in opstest.workload(1, 600, tag="vf") if l.startswith("EVENT ")]
        again = [l for l in opstest.workload(7, 600, tag="vf") if l.startswith("EVENT ")]
        with self.srv.connect() as c:
            for line in again[:80]:
                resp = c.cmd("REPLACE " + line[len("EVENT "):])
                self.assertTrue(resp.startswith("OK ") or resp.startswith("DUP "), resp)
            # an EVENT of an id whose version was replaced is its latest version's DUP
            # or a conflict, never a new record
            c.cmd(lines[0])
        out = opstest.verify_ok(self, self.stopped_copy())
        self.assertRegex(out, r"consistent through seq \d+ ")

    def test_damaged_record_is_reported(self):
        d = self.stopped_copy()
        # an early event nobody retracted (seq n is event vf-<n-1> up to the first retraction)
        retracted = {int(l.split()[0], 16) for l in opstest.poke(d, "list", "retracted").split("\n")
                     if l}
        seq = min(set(range(1, 11)) - retracted)
        eid = b"vf-%06d" % (seq - 1)
        rec = bytes.fromhex(opstest.poke(d, "get", "events", "%016x" % seq).strip())
        self.assertIn(eid, rec)
        # it takes the id of the event after it: two records share an id, neither a new
        # version of the other (the ids index, rebuilt from the records, agrees with them)
        other = b"vf-%06d" % seq
        self.assertIn(other, bytes.fromhex(opstest.poke(d, "get", "events", "%016x" % (seq + 1))))
        opstest.poke(d, "put", "events", "%016x" % seq, rec.replace(eid, other).hex())
        lines = self.verify_fails(d)
        self.assertIn("record %d: principal local, id '%s' is record %d's, and this record is no "
                      "new version of it" % (seq + 1, other.decode(), seq), lines)
        if os.path.exists(os.path.join(d, "memory.ckpt")):
            # the ids index comes from the checkpoint written before the damage: it still
            # holds the record's old id
            self.assertIn("ids index: an entry names seq %d (principal local, id '%s'), which is "
                          "not that id's latest record, or under another hash"
                          % (seq, other.decode()), lines)
            self.assertEqual(len(lines), 3, lines)
        else:
            self.assertEqual(len(lines), 1, lines)

    def test_damaged_index_and_counters_are_reported(self):
        d = self.stopped_copy()
        # a retraction's entry goes
        retracted = opstest.poke(d, "list", "retracted").split("\n")[0].split()
        opstest.poke(d, "del", "retracted", retracted[0])
        lines = self.verify_fails(d)
        target, by = int(retracted[0], 16), int(retracted[1], 16)
        self.assertIn("retracted index: event %d (retracted by record %d) is missing" % (target, by),
                      lines)
        # the memory part loaded from the daemon's checkpoint followed the retraction
        # when it happened: only the index differs
        self.assertFalse(any(l.startswith("memory ") for l in lines), lines)
        # without the checkpoint it is rebuilt from the live events, which the index
        # decides: the rebuilt memory part counts the event again
        os.unlink(os.path.join(d, "memory.ckpt"))
        lines = self.verify_fails(d)
        self.assertTrue(any(l.startswith("memory ") for l in lines), lines)

    def test_usage(self):
        p = opstest.ops("verify", "--help", check=0)
        for opt in ("--data DIR", "--config FILE", "--max-report N", "Exit status"):
            self.assertIn(opt, p.stdout)
        p = opstest.ops("verify", check=2)
        self.assertIn("give the store with --data DIR", p.stderr)
        p = opstest.ops("verify", "--data", self.srv.data_dir, "--frob", check=2)
        self.assertIn("unknown option '--frob'", p.stderr)
        p = opstest.ops("verify", "--data", self.srv.data_dir + "/nothing", check=1)
        self.assertIn("no store in", p.stderr)
        self.assertFalse(os.path.exists(self.srv.data_dir + "/nothing"))

    def test_option_errors_name_the_option_and_value(self):
        """The commands' one option parser: each error names the option (and the value),
        the same for every command, and changes nothing."""
        d = self.srv.data_dir
        before = sorted(os.listdir(d))
        cases = [
            (("verify", "--data", d, "--max-report", "many"), "--max-report: not a number: 'many'"),
            (("verify", "--data", d, "--max-report=-1"), "--max-report: not a number: '-1'"),
            (("export", "--data", d, "--format", "xml"), "--format: want ndjson or csv, got 'xml'"),
            (("export", "--data", d, "--table", "Events"), "--table: want [a-z0-9_], got 'Events'"),
            (("backup", "--data", d), "give the copy's directory with --to DIR"),
        ]
        for cmd in ("backup", "verify", "export", "restore"):
            cases += [
                ((cmd, "--data"), "--data needs DIR"),
                ((cmd, "--data="), "--data needs DIR"),
                ((cmd, "--help=yes"), "--help takes no value"),
                ((cmd, "--frob=1"), "unknown option '--frob' (see --help)"),
                ((cmd, "stray"), "unexpected argument 'stray' (see --help)"),
                ((cmd,), "give the store with --data DIR (or --config FILE)"),
            ]
        for args, msg in cases:
            p = opstest.ops(*args, check=2)
            self.assertEqual(p.stderr, "werkmonitord %s: %s\n" % (args[0], msg), args)
            self.assertEqual(p.stdout, "", args)
        self.assertEqual(sorted(os.listdir(d)), before)


if __name__ == "__main__":
    unittest.main()
