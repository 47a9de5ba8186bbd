"""Hot backup, as `werkmonitord backup` beside a running daemon and as BACKUP over the
protocol, while other clients keep writing: the copy verifies, holds exactly the events
up to its seq (a fresh store fed those events in seq order gives them the same seqs),
and answers every COUNT, PROGRESS and PROJECTS as that store does."""

import os
import re
import shutil
import tempfile
import threading
import unittest

import opstest
import wmtest


class Writers:
    """Clients that pipeline events into srv until stopped, keeping each acknowledged
    request line by its seq."""

    def __init__(self, srv, n=2, tag="bk"):
        self.srv = srv
        self.by_seq = {}
        self.errors = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=("%s%d" % (tag, i),))
                        for i in range(n)]

    def run(self, tag):
        try:
            with self.srv.connect() as c:
                for round_ in range(10 ** 6):
                    if self.stop.is_set():
                        return
                    lines = opstest.workload(hash(tag) + round_, 50, tag="%s-%d" % (tag, round_))
                    for line, reply in zip(lines, opstest.send_all(c, lines)):
                        with self.lock:
                            self.by_seq[opstest.parse_ack(reply)] = line
        except Exception as e:  # reported by the test: the thread must not fail quietly
            self.errors.append(e)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()

    def acked(self):
        with self.lock:
            return len(self.by_seq)


class BackupTest(unittest.TestCase):
    def setUp(self):
        wmtest.need_own_daemon(self)
        self.tmp = tempfile.mkdtemp(prefix="wm-backup-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.srv = self.server()
        with self.srv.connect() as c:
            opstest.setup_registry(c)
            opstest.send_all(c, opstest.workload(7, 300, tag="base"))

    def server(self, flags=(), data_dir=None):
        s = wmtest.Server(["--audit-log", "none"] + list(flags), data_dir=data_dir).start()
        self.addCleanup(s.cleanup)
        return s

    def wait_for_writes(self, w, more):
        """Let the writers get `more` acknowledgements further."""
        start = w.acked()
        while w.acked() < start + more and not w.errors:
            threading.Event().wait(0.02)

    def check_backup(self, backup_dir, seq, by_seq):
        """The copy at backup_dir holds seqs 1..seq exactly, verifies, and answers as a
        fresh store fed the same requests in seq order."""
        opstest.verify_ok(self, backup_dir)
        ref = self.server()
        with ref.connect() as c:
            opstest.setup_registry(c)
            opstest.send_all(c, opstest.workload(7, 300, tag="base"))
            first = min(by_seq)
            self.assertGreater(seq, first, "the backup holds none of the writers' events")
            lines = [by_seq[s] for s in range(first, seq + 1)]
            replies = opstest.send_all(c, lines)
            self.assertEqual([opstest.parse_ack(r) for r in replies], list(range(first, seq + 1)))
            want = opstest.answers(c)
        copy = self.server(data_dir=backup_dir)
        with copy.connect() as c:
            got = opstest.answers(c)
            self.assertEqual(c.cmd("WATCH"), "OK watching")
            self.assertRegex(c.readline(), r"^TOTAL seq=%d " % seq)
        for q in want:
            self.assertEqual(got[q], want[q], q)

    def test_backup_command_while_writes_go_on(self):
        dest = os.path.join(self.tmp, "copy")
        with Writers(self.srv) as w:
            self.wait_for_writes(w, 300)
            p = opstest.ops("backup", "--data", self.srv.data_dir, "--to", dest, "--verify", check=0)
            self.wait_for_writes(w, 300)
        self.assertEqual(w.errors, [])
        m = re.search(r"backup: .* -> .*: through seq (\d+) \((\d+) events\), (\d+) bytes", p.stdout)
        self.assertIsNotNone(m, p.stdout)
        self.assertIn("consistent through seq %s " % m.group(1), p.stdout)
        seq = int(m.group(1))
        # the writes went on past the copy
        self.assertGreater(max(w.by_seq), seq)
        self.check_backup(dest, seq, w.by_seq)

    def test_backup_over_the_protocol(self):
        with Writers(self.srv) as w:
            self.wait_for_writes(w, 300)
            with self.srv.connect() as c:
                # read-your-writes: the copy holds this connection's earlier events
                acks = opstest.send_all(c, opstest.workload(8, 20, tag="own"))
                reply = c.cmd("BACKUP", timeout=120)
            self.wait_for_writes(w, 300)
        self.assertEqual(w.errors, [])
        m = re.match(r"^OK (werkmonitor-\d{8}T\d{6}Z(-\d+)?) seq=(\d+) events=(\d+) bytes=(\d+) "
                     r"ms=\d+$", reply)
        self.assertIsNotNone(m, reply)
        seq = int(m.group(3))
        self.assertGreaterEqual(seq, max(opstest.parse_ack(a) for a in acks))
        dest = os.path.join(self.srv.data_dir, "backups", m.group(1))
        self.assertTrue(os.path.exists(os.path.join(dest, "data.mdb")))
        self.assertIn("backup by principal=local", self.srv.stderr())
        # the same check, with the writers' events and this connection's
        by_seq = dict(w.by_seq)
        lines = opstest.workload(8, 20, tag="own")
        by_seq.update({opstest.parse_ack(a): l for a, l in zip(acks, lines)})
        copy = os.path.join(self.tmp, "copy")
        shutil.copytree(dest, copy)
        self.check_backup(copy, seq, by_seq)

    def test_backup_dir_and_refusals(self):
        tokens = os.path.join(self.tmp, "tokens")
        wmtest.write_tokens(tokens, [("ops", "admin", None, "admintoken-0123456789"),
                                     ("lezer", "reader", None, "readertoken-0123456789")])
        where = os.path.join(self.tmp, "elsewhere")
        srv = self.server(["--tokens", tokens, "--backup-dir", where])
        with srv.connect() as c:
            self.assertEqual(c.cmd("BACKUP"), "ERR auth-required BACKUP needs AUTH first")
            self.assertTrue(c.cmd("AUTH readertoken-0123456789").startswith("OK lezer"))
            self.assertEqual(c.cmd("BACKUP"), "ERR denied role reader may not BACKUP")
        with srv.connect() as c:
            self.assertTrue(c.cmd("AUTH admintoken-0123456789").startswith("OK ops"))
            self.assertEqual(c.cmd("BACKUP now"),
                             "ERR invalid BACKUP takes no arguments (the copy goes to backup-dir)")
            reply = c.cmd("BACKUP", timeout=120)
            self.assertRegex(reply, r"^OK werkmonitor-\S+ seq=0 events=0 bytes=\d+ ms=\d+$")
            self.assertTrue(os.path.isdir(os.path.join(where, reply.split()[1])))
        self.assertIn("backup by principal=ops", srv.stderr())

    def test_command_refusals(self):
        dest = os.path.join(self.tmp, "copy")
        opstest.ops("backup", "--data", self.srv.data_dir, "--to", dest, check=0)
        p = opstest.ops("backup", "--data", self.srv.data_dir, "--to", dest, check=1)
        self.assertIn("already holds a store", p.stderr)
        p = opstest.ops("backup", "--data", self.srv.data_dir, check=2)
        self.assertIn("--to DIR", p.stderr)
        p = opstest.ops("backup", "--help", check=0)
        for opt in ("--data DIR", "--to DIR", "--verify", "BACKUP"):
            self.assertIn(opt, p.stdout)


if __name__ == "__main__":
    unittest.main()
