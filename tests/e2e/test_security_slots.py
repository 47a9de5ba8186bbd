"""Regression tests for the security review's findings docs/SECURITY.md #2 (connections
that never authenticate fill every slot), #6 (a removed token keeps working on
connections opened before the reload) and the first half of #10 (failed AUTHs from one
address meet no slow-down), against the real daemon. Other client addresses are
127.0.0.x: the whole of 127/8 reaches a daemon on 127.0.0.1."""

import http.client
import os
import signal
import socket
import time

import wmtest
from test_http import request
from test_http_sse import Stream

TOKENS = {"beheer": "a" * 64, "rapport": "b" * 64, "huizen": "c" * 64, "kijker": "d" * 64}
PRINCIPALS = [("beheer", "admin", None), ("rapport", "reader", None), ("huizen", "writer", "huizen"),
              ("kijker", "reader", None)]


def write(path, principals, tokens=None):
    tokens = dict(TOKENS, **(tokens or {}))
    wmtest.write_tokens(path, [(p, role, g, tokens[p]) for p, role, g in principals])


def conn_from(server, source, timeout=wmtest.TIMEOUT):
    """A protocol connection to server from the loopback address source."""
    sock = socket.create_connection((server.host, server.port), timeout=timeout, source_address=(source, 0))
    return wmtest.Conn(server.host, server.port, timeout=timeout, sock=sock)


def dribble(c, byte, between=None):
    """Send byte to c every 0.25 s (calling between after each) until the server closes
    it; the lines it sent before, or None when it was still open after 5 s."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < 5:
        try:
            c.send(byte)
        except OSError:
            pass  # closed: expect_eof reads what came before
        if between is not None:
            between()
        try:
            return c.expect_eof(0.25)
        except AssertionError:
            continue
    return None


class SecurityTest(wmtest.FreshDaemonTestCase):
    own_daemon_reason = "starts daemons with token files and limits of their own"

    def daemon(self, flags=(), principals=PRINCIPALS, http=False):
        self.token_path = os.path.join(self.tmpdir("wm-e2e-slots-"), "tokens")
        write(self.token_path, principals)
        extra = []
        self.http_port = None
        if http:
            self.http_port = wmtest.free_port()
            extra = ["--http-listen", "127.0.0.1:%d" % self.http_port]
        s = self.own_server(["--tokens", self.token_path] + extra + list(flags))
        s.settle()
        return s

    def conn_from(self, s, source):
        c = conn_from(s, source)
        self.addCleanup(c.close)
        return c

    def authed(self, s, principal, source="127.0.0.1"):
        c = self.conn_from(s, source)
        self.assertTrue(c.cmd("AUTH " + TOKENS[principal]).startswith("OK %s role=" % principal))
        return c


class SlotsTest(SecurityTest):
    def test_finding2_silent_connections_fill_every_slot(self):
        """Silent connections from one address are refused beyond max-per-address, while
        other addresses and principals that authenticated go on."""
        s = self.daemon(["--max-connections", "64", "--max-per-address", "8"])
        hog = [self.conn_from(s, "127.0.0.2") for _ in range(8)]
        one_more = self.conn_from(s, "127.0.0.2")
        self.assertErr(one_more.readline(), "unavailable", "max-per-address 8", "127.0.0.2")
        self.assertTrue(one_more.closed_by_peer(5))
        admin = self.authed(s, "beheer", "127.0.0.3")
        self.assertEqual(admin.cmd("PING"), "PONG")
        # a hog that authenticates leaves its address's count: another may come
        self.assertTrue(hog[0].cmd("AUTH " + TOKENS["rapport"]).startswith("OK rapport"))
        self.assertTrue(self.conn_from(s, "127.0.0.2").cmd("AUTH " + TOKENS["rapport"]).startswith("OK rapport"))
        self.assertIn("max-per-address 8", s.stderr())

    def test_finding2_unauthenticated_share_keeps_slots_for_principals(self):
        """max-unauthenticated silent connections from many addresses: one more is
        refused, while the authenticated connections keep working and (their slots
        being kept) authenticated ones still fit under max-connections."""
        s = self.daemon(["--max-connections", "20", "--max-unauthenticated", "5", "--max-per-address", "100"])
        principals = [self.authed(s, "rapport") for _ in range(3)]
        silent = [self.conn_from(s, "127.0.0.%d" % (10 + i)) for i in range(5)]
        refused = self.conn_from(s, "127.0.0.40")
        self.assertErr(refused.readline(), "unavailable", "max-unauthenticated 5")
        for c in principals:
            self.assertEqual(c.cmd("PING"), "PONG")
        # three quarters of max-connections at most, however large the setting
        s2 = self.daemon(["--max-connections", "8", "--max-unauthenticated", "1000", "--max-per-address", "100"])
        silent2 = [self.conn_from(s2, "127.0.0.%d" % (10 + i)) for i in range(6)]
        self.assertErr(self.conn_from(s2, "127.0.0.50").readline(), "unavailable", "max-unauthenticated 6")
        del silent, silent2

    def test_finding2_auth_deadline_not_reset_by_dribbled_bytes(self):
        """One byte a while never completes an AUTH: the connection is closed at
        auth-timeout with ERR auth-required."""
        s = self.daemon(["--auth-timeout", "1", "--idle-timeout", "30"])
        c = self.conn_from(s, "127.0.0.2")
        a = self.authed(s, "rapport")
        t0 = time.monotonic()
        lines = dribble(c, b"A")
        self.assertIsNotNone(lines, "a dribbling connection outlived auth-timeout by far")
        self.assertEqual(len(lines), 1, lines)
        self.assertErr(lines[0], "auth-required", "auth-timeout")
        self.assertIn("no AUTH within 1 s", s.stderr())
        # the connection that did AUTH is not subject to it
        time.sleep(max(0.0, 1.3 - (time.monotonic() - t0)))
        self.assertEqual(a.cmd("PING"), "PONG")

    def test_finding2_idle_timeout_counts_from_the_last_request(self):
        """An authenticated connection that sends a byte every 0.3 s but never a whole
        line is closed at idle-timeout; one that sends requests is not."""
        s = self.daemon(["--idle-timeout", "1"])
        dribbler = self.authed(s, "rapport")
        talker = self.authed(s, "rapport")
        closed = dribble(dribbler, b"P", lambda: self.assertEqual(talker.cmd("PING"), "PONG"))
        self.assertIsNotNone(closed, "bytes without a line kept the connection open")
        self.assertEqual(talker.cmd("PING"), "PONG")


class RevocationTest(SecurityTest):
    def test_finding6_removed_token_keeps_working(self):
        """After SIGHUP, connections (a WATCH one included) and event streams of a
        principal that is gone, or whose token or role changed, are closed; the others
        go on; the log says which."""
        s = self.daemon(http=True)
        admin = self.authed(s, "beheer")
        watcher = self.authed(s, "rapport")
        self.assertEqual(watcher.cmd("WATCH"), "OK watching")
        huizen = self.authed(s, "huizen")
        kijker = self.authed(s, "kijker")
        stays = self.authed(s, "beheer")
        stream = Stream(self.http_port, {"Authorization": "Bearer " + TOKENS["rapport"]})
        self.addCleanup(stream.close)
        self.assertEqual(stream.status, 200)
        self.assertIsNotNone(stream.event())
        # beheer's and rapport's lines go; huizen's municipality changes; kijker becomes
        # a writer; the admin token stays, under another name
        write(self.token_path, [("huizen", "writer", "hilversum"), ("kijker", "writer", None), ("stays", "admin", None)],
              tokens={"stays": TOKENS["beheer"]})
        s.send_signal(signal.SIGHUP)
        for name, c in (("admin", admin), ("watcher", watcher), ("huizen", huizen), ("kijker", kijker),
                        ("stays", stays)):
            with self.subTest(conn=name):
                c.expect_eof(5)
        deadline = time.monotonic() + 5
        while not (stream.eof or stream.ended):
            self.assertLess(time.monotonic(), deadline, "the event stream outlived its principal")
            try:
                stream.block(0.5)
            except EOFError:
                break
        log = s.stderr()
        for why in ("principal=beheer", "principal removed", "principal=huizen", "gemeente changed",
                    "principal=kijker", "role changed", "ending the event stream of principal=rapport"):
            self.assertIn(why, log)
        # the removed token is refused on a new connection, over HTTP too
        self.assertErr(self.conn_from(s, "127.0.0.1").cmd("AUTH " + TOKENS["rapport"]), "auth-failed")
        self.assertEqual(request(self.http_port, "/v1/totals", token=TOKENS["rapport"]).status, 401)
        # a principal whose entry stayed the same keeps its connection; a new token
        # for the same principal closes the old one's
        s2 = self.daemon()
        keep = self.authed(s2, "rapport")
        changed = self.authed(s2, "kijker")
        write(self.token_path, [p for p in PRINCIPALS if p[0] != "beheer"], tokens={"kijker": "e" * 64})
        s2.send_signal(signal.SIGHUP)
        changed.expect_eof(5)
        self.assertIn("principal=kijker from 127.0.0.1", s2.stderr())
        self.assertIn("token changed", s2.stderr())
        self.assertEqual(keep.cmd("PING"), "PONG")


class AuthSlowdownTest(SecurityTest):
    def attempt(self, s, source, token):
        """One AUTH on a fresh connection from source; (reply, seconds it took)."""
        c = self.conn_from(s, source)
        t0 = time.monotonic()
        r = c.cmd("AUTH " + token)
        took = time.monotonic() - t0
        c.close()
        return r, took

    def test_finding10_failed_auths_no_slowdown(self):
        """Failed AUTHs from one address push its next attempt further away (0, 0.1,
        0.2, 0.4, 0.8 s, ...), a right token from there included; another address is
        not slowed; the log has one line for the burst, not one per failure."""
        s = self.daemon(http=True)
        took = []
        for i in range(6):
            r, t = self.attempt(s, "127.0.0.2", "wrong-%d" % i)
            self.assertErr(r, "auth-failed")
            took.append(t)
        self.assertLess(took[0], 0.09)
        self.assertLess(took[1], 0.09)
        self.assertGreaterEqual(took[5], 0.75, took)
        self.assertGreater(took[5], took[3], took)
        r, t = self.attempt(s, "127.0.0.2", TOKENS["rapport"])
        self.assertTrue(r.startswith("OK rapport"), r)
        self.assertGreaterEqual(t, 1.5, "the right token waited %.2f s" % t)
        r, t = self.attempt(s, "127.0.0.3", TOKENS["rapport"])
        self.assertTrue(r.startswith("OK rapport"), r)
        self.assertLess(t, 0.5)
        # a bearer token over HTTP from a slowed address waits too, and gets its 401
        for i in range(2):
            self.assertErr(self.attempt(s, "127.0.0.4", "wrong-%d" % i)[0], "auth-failed")
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=wmtest.TIMEOUT,
                                          source_address=("127.0.0.4", 0))
        t0 = time.monotonic()
        r = request(self.http_port, "/v1/totals", token="wrong-http", conn=conn)
        conn.close()
        self.assertEqual(r.status, 401)
        self.assertGreaterEqual(time.monotonic() - t0, 0.09)
        log = s.stderr()
        self.assertEqual(log.count("auth: AUTH failed from 127.0.0.2"), 1, log)
        self.assertNotIn("wrong-", log)
