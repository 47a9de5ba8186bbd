"""Store format upgrades (README "Operations"): a store of every earlier schema, written by
the werkmonitord of its time (tests/fixtures/stores: committed stores and make.sh, which
remakes them from git history), opens in this werkmonitord, is upgraded in place and
answers every query as a store loaded here with the same requests does, and answers
every resent or changed request as that store does (schema 4 rebuilds the ids index in
memory from the records: the DUPs and conflicts keep their seqs); it also exports
as it is (the way across versions) and restores. A store of a newer schema is refused
by the daemon and by every command, with a message naming both versions."""

import glob
import os
import re
import shutil
import struct
import tempfile
import unittest

import opstest
import wmtest

FIXTURES = os.path.join(wmtest.SOURCE_DIR, "tests", "fixtures", "stores")


def current_schema():
    with open(os.path.join(wmtest.SOURCE_DIR, "storage", "store.h")) as f:
        return int(re.search(r"#define STORE_SCHEMA_VERSION (\d+)", f.read()).group(1))


def fixture_lines():
    with open(os.path.join(FIXTURES, "workload.wm")) as f:
        return [l.rstrip("\n") for l in f if l.strip()]


def resend_lines():
    """Every request of the workload again, and each EVENT and REPLACE with another
    person: DUPs of their seqs, or conflicts naming them."""
    lines = fixture_lines()
    changed = [re.sub(r"person=\S+", "person=" + "ab" * 32, l) for l in lines
               if l.startswith(("EVENT", "REPLACE")) and "person=" in l]
    return lines + changed


class UpgradeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if wmtest.TEST_ADDR:
            raise unittest.SkipTest("needs daemons of its own (WM_TEST_ADDR is set)")
        cls.tmp = tempfile.mkdtemp(prefix="wm-upgrade-")
        # the reference: this werkmonitord, fed the requests the fixtures were made with
        cls.ref = wmtest.Server(["--audit-log", "none"]).start()
        with cls.ref.connect() as c:
            opstest.send_all(c, fixture_lines())
            cls.want = opstest.answers(c)
            cls.want_totals = c.cmd("WATCH"), c.readline()
        with cls.ref.connect() as c:
            cls.want_resend = c.pipeline(resend_lines(), timeout=120)

    @classmethod
    def tearDownClass(cls):
        cls.ref.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def fixture(self, schema):
        """A copy of the fixture store of schema (the test may change it)."""
        d = os.path.join(self.tmp, "schema%d-%s" % (schema, self.id().split(".")[-1]))
        shutil.copytree(os.path.join(FIXTURES, "schema%d" % schema), d)
        return d

    def schemas(self):
        found = sorted(int(os.path.basename(p)[6:]) for p in glob.glob(os.path.join(FIXTURES, "schema*")))
        # a fixture for every schema before this one (make.sh adds them)
        self.assertEqual([s for s in found if s < current_schema()],
                         list(range(1, current_schema())))
        return found

    def assert_answers_like_the_reference(self, data_dir):
        srv = wmtest.Server(["--audit-log", "none"], data_dir=data_dir).start()
        try:
            with srv.connect() as c:
                got = opstest.answers(c)
                totals = c.cmd("WATCH"), c.readline()
            for q in self.want:
                self.assertEqual(got[q], self.want[q], q)
            self.assertEqual(totals, self.want_totals)
        finally:
            srv.stop()
            srv.cleanup()
        return srv

    def test_every_earlier_schema_opens_and_upgrades_in_place(self):
        for schema in self.schemas():
            with self.subTest(schema=schema):
                d = self.fixture(schema)
                if schema < current_schema():
                    p = opstest.ops("verify", "--data", d, check=1)
                    self.assertIn("has schema version %d and this werkmonitord verifies schema %d"
                                  % (schema, current_schema()), p.stderr)
                self.assert_answers_like_the_reference(d)
                # upgraded: this build's schema, consistent
                opstest.verify_ok(self, d)
                head = opstest.ops("export", "--data", d, check=0).stdout.split("\n", 1)[0]
                self.assertIn('"schema":%d' % current_schema(), head)

    def test_every_earlier_schema_keeps_idempotency(self):
        for schema in self.schemas():
            with self.subTest(schema=schema):
                d = self.fixture(schema)
                srv = wmtest.Server(["--audit-log", "none"], data_dir=d).start()
                self.addCleanup(srv.cleanup)
                try:
                    with srv.connect() as c:
                        got = c.pipeline(resend_lines(), timeout=120)
                finally:
                    srv.stop()
                self.assertTrue(any(r.startswith("DUP") for r in got))
                self.assertTrue(any(r.startswith("ERR conflict") for r in got))
                for line, want, r in zip(resend_lines(), self.want_resend, got):
                    self.assertEqual(r, want, line)
                # the ids DBI is gone (no such table: exit 2), a hash key is there
                opstest.poke(d, "list", "ids", check=2)
                self.assertEqual(len(opstest.poke(d, "get", "meta", b"idkey".hex()).strip()), 32)
                opstest.verify_ok(self, d)

    def test_every_earlier_schema_exports_and_restores(self):
        for schema in self.schemas():
            with self.subTest(schema=schema):
                d = self.fixture(schema)
                exported = opstest.ops("export", "--data", d, check=0).stdout
                self.assertIn('"schema":%d' % schema, exported.split("\n", 1)[0])
                new = os.path.join(self.tmp, "restored-%d" % schema)
                opstest.ops("restore", "--data", new, input=exported, check=0)
                opstest.verify_ok(self, new)
                self.assert_answers_like_the_reference(new)
                # exporting read the old store without changing it
                self.assertEqual(opstest.ops("export", "--data", d, check=0).stdout.split("\n")[1:],
                                 exported.split("\n")[1:])

    def test_a_newer_schema_is_refused_naming_both_versions(self):
        d = self.fixture(self.schemas()[-1])
        newer = current_schema() + 1
        opstest.poke(d, "put", "meta", b"schema".hex(), struct.pack("<I", newer).hex())
        msg = ("has schema version %d, but this werkmonitord (0.1.0) knows schema versions 1 to %d "
               "only: run a werkmonitord that knows schema %d, or export the store with that one "
               "and restore the export with this one" % (newer, current_schema(), newer))
        srv = wmtest.Server(["--audit-log", "none"], data_dir=d)
        self.addCleanup(srv.cleanup)
        with self.assertRaises(wmtest.ServerError) as e:
            srv.start()
        self.assertIn(msg, str(e.exception))
        for cmd in ("verify", "export", "backup"):
            args = ["--to", os.path.join(self.tmp, "nobackup")] if cmd == "backup" else []
            p = opstest.ops(cmd, "--data", d, *args, check=1)
            self.assertIn(msg, p.stderr)
        # nothing was changed
        self.assertEqual(opstest.poke(d, "get", "meta", b"schema".hex()).strip(),
                         struct.pack("<I", newer).hex())


if __name__ == "__main__":
    unittest.main()
