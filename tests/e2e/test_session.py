"""Session commands (PROTOCOL.md section 3) in open mode: PING, HELLO, QUIT."""

import os
import re
import unittest

import wmtest


def project_version():
    """The version CMake gives the build (project(... VERSION x.y.z)), or None."""
    try:
        with open(os.path.join(wmtest.SOURCE_DIR, "CMakeLists.txt")) as f:
            m = re.search(r"project\(\s*werkmonitor\s+VERSION\s+(\S+)", f.read())
            return m.group(1) if m else None
    except OSError:
        return None


class SessionTest(wmtest.TestCase):
    def test_ping(self):
        c = self.conn()
        self.assertEqual(c.cmd("PING"), "PONG")
        self.assertEqual(c.cmd("PING"), "PONG")

    def test_hello_open_mode_is_admin(self):
        c = self.conn()
        resp = c.cmd("HELLO")
        self.assertRegex(resp, r"^OK werkmonitor \S+ proto=1 role=admin$")
        version = project_version()
        if version and not wmtest.TEST_ADDR:
            self.assertEqual(resp, "OK werkmonitor %s proto=1 role=admin" % version)

    def test_hello_case_insensitive(self):
        c = self.conn()
        self.assertRegex(c.cmd("hello"), r"^OK werkmonitor \S+ proto=1 role=admin$")

    def test_quit_says_bye_then_closes(self):
        c = self.conn()
        self.assertEqual(c.cmd("QUIT"), "OK bye")
        self.assertEqual(c.expect_eof(), [])

    def test_quit_answers_what_came_before_and_ignores_the_rest(self):
        # Responses before QUIT arrive in order; nothing after QUIT is answered.
        c = self.conn()
        c.send("PING\nHELLO\nQUIT\nPING\nPING\n")
        self.assertEqual(c.read_response(), "PONG")
        self.assertRegex(c.read_response(), r"^OK werkmonitor ")
        self.assertEqual(c.read_response(), "OK bye")
        self.assertEqual(c.expect_eof(), [])

    def test_quit_lowercase(self):
        c = self.conn()
        self.assertEqual(c.cmd("quit"), "OK bye")
        self.assertEqual(c.expect_eof(), [])

    def test_connections_are_independent(self):
        a, b = self.conn(), self.conn()
        self.assertEqual(a.cmd("QUIT"), "OK bye")
        a.expect_eof()
        self.assertEqual(b.cmd("PING"), "PONG")


if __name__ == "__main__":
    unittest.main()
