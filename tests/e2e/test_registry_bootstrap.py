"""Registry bootstrap: --registry FILE (config key `registry`) gives a
store without projects the region's program and projects at start-up, leaves a store
with projects alone, and refuses a bad file whole, naming its line."""

import os
import tempfile
import unittest

import wmtest

REGISTRY_FILE = os.path.join(wmtest.SOURCE_DIR, "data", "gooi-en-vechtstreek.wm")


def registry_names():
    """The project names of the region's registry file, and the number of its lines."""
    names = []
    lines = 0
    with open(REGISTRY_FILE) as f:
        for line in f:
            if line.strip():
                lines += 1
            if line.startswith("PROJECT "):
                names.append(line.split()[1])
    return names, lines


class RegistryBootstrapTest(wmtest.FreshDaemonTestCase):
    """Each test starts daemons of its own."""

    own_daemon_reason = "starts daemons of its own"

    def setUp(self):
        super().setUp()
        self.tmp = self.tmpdir("wm-e2e-bootstrap-")

    def write(self, name, text):
        """A file of the test's own temporary directory."""
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def projects(self, server):
        """PROJECTS as {name: row}, the program row under '*'."""
        rows = wmtest.parse_block(self.conn(server).cmd("PROJECTS"))
        return {r["project"]: r for r in rows}

    def test_new_store_gets_the_regions_registry(self):
        s = self.own_server(["--registry", REGISTRY_FILE])
        names, lines = registry_names()
        got = self.projects(s)
        self.assertEqual(len(names), 27)
        self.assertEqual(sorted(got), sorted(names + ["*"]))
        self.assertEqual(got["*"]["start"], "2020-01-01")
        self.assertEqual(got["*"]["target.placed"], "500")
        self.assertEqual(got["zorgstart"]["title"], "ZorgStart")
        self.assertIn("registry %s applied to the new store: %d lines" % (REGISTRY_FILE, lines),
                      s.stderr())
        # The same as loading the file over the protocol (`werkmonitor raw < FILE`).
        ref = self.own_server()
        with open(REGISTRY_FILE) as f:
            replies = self.conn(ref).pipeline([l.rstrip("\n") for l in f if l.strip()])
        self.assertEqual(set(replies), {"OK"})
        self.assertEqual(self.projects(ref), got)

    def test_a_store_with_projects_keeps_them(self):
        s = self.own_server(["--registry", REGISTRY_FILE])
        c = self.conn(s)
        self.assertEqual(c.cmd("PROJECT zorgstart title=Renamed target.started=7"), "OK")
        self.assertEqual(c.cmd("PROJECT eigen-project category=extra"), "OK")
        c.close()
        s.restart()
        got = self.projects(s)
        self.assertEqual(got["zorgstart"]["title"], "Renamed")
        self.assertEqual(got["zorgstart"]["target.started"], "7")
        self.assertIn("eigen-project", got)
        self.assertIn("not applied: the store already has 28 projects", s.stderr())

    def test_a_store_made_without_it_gets_it_at_the_next_start(self):
        s = self.own_server()
        self.assertEqual(list(self.projects(s)), ["*"])
        s.stop()
        s.flags = ["--registry", REGISTRY_FILE]
        s.start()
        self.assertEqual(len(self.projects(s)), 28)

    def test_config_file_key(self):
        conf = self.write("reg.conf", "registry %s\n" % REGISTRY_FILE)
        s = self.own_server(["--config", conf])
        self.assertEqual(len(self.projects(s)), 28)
        p = wmtest.run_daemon(["--check-config", "--config", conf], timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(("registry %s\n" % REGISTRY_FILE).encode(), p.stdout)

    def test_comments_and_blank_lines_are_skipped(self):
        reg = self.write("comments.wm", "# the region\n\nPROJECT a category=x\r\n  # more\nPROJECT b category=y\n")
        s = self.own_server(["--registry", reg])
        self.assertEqual(sorted(self.projects(s)), ["*", "a", "b"])

    def assert_refused(self, reg, *mentions):
        """Starting with registry file reg fails naming every string of mentions, and
        the store is left without projects; --check-config refuses it too."""
        s = self.own_server(["--registry", reg], start=False)
        with self.assertRaises(wmtest.ServerError) as cm:
            s.start()
        for m in mentions:
            self.assertIn(m, str(cm.exception))
        p = wmtest.run_daemon(["--check-config", "--registry", reg], timeout=60)
        self.assertEqual(p.returncode, 1)
        for m in mentions:
            self.assertIn(m.encode(), p.stderr)
        s.flags = []
        s.start()
        self.assertEqual(list(self.projects(s)), ["*"])

    def test_a_bad_line_changes_nothing(self):
        reg = self.write("bad.wm", "PROJECT a category=x\nPROJECT b category=x start=2021-13-01\n")
        self.assert_refused(reg, "bad.wm:2", "start")

    def test_a_line_the_store_refuses_changes_nothing(self):
        # Valid syntax, but a new project needs a category: only the store knows.
        reg = self.write("nocat.wm", "PROJECT a category=x\nPROJECT b title=B\nPROJECT c category=x\n")
        self.assert_refused(reg, "nocat.wm:2", "category")

    def test_other_verbs_are_refused(self):
        reg = self.write("event.wm", "PROJECT a category=x\n" + wmtest.event(
            "started", id="x1", person="pseudo-1", gemeente="laren", date="2021-01-01", project="a",
            kind="scholing") + "\n")
        self.assert_refused(reg, "event.wm:2", "EVENT", "not PROJECT or PROGRAM")

    def test_missing_and_empty_files_are_refused(self):
        self.assert_refused(os.path.join(self.tmp, "none.wm"), "none.wm", "cannot open")
        self.assert_refused(self.write("empty.wm", "# nothing\n\n"), "empty.wm", "no PROGRAM or PROJECT line")

    def test_no_scratch_directory_is_left_behind(self):
        tmpdir = tempfile.mkdtemp(prefix="wm-e2e-tmpdir-", dir=self.tmp)
        s = self.own_server(["--registry", REGISTRY_FILE], start=False)
        s.env["TMPDIR"] = tmpdir
        s.start()
        self.assertEqual(len(self.projects(s)), 28)
        self.assertEqual(os.listdir(tmpdir), [])


if __name__ == "__main__":
    unittest.main()
