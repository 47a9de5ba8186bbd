"""Access control and personal data (PROTOCOL.md section 3): tokens and the
roles matrix, the gemeente binding of writers, ids per principal, the 3-failure close,
SIGHUP reload, the refusal of open mode on a non-loopback listener, TLS with certificate
verification (a throw-away CA made with the openssl CLI), no person value in any
response and no BSN in any file of the data directory or in the log."""

import os
import secrets
import signal
import ssl
import subprocess
import time
import unittest

import wmtest
from wmtest import event, uid

PROJ = "auth-p"
PRINCIPALS = [  # principal, role, gemeente
    ("beheer", "admin", None),
    ("rapport", "reader", None),
    ("wsp", "writer", None),
    ("hilversum", "writer", "hilversum"),
    ("huizen", "writer", "huizen"),
]
TOKENS = {p: secrets.token_hex(32) for p, _, _ in PRINCIPALS}
# Valid BSNs (they pass the eleven-test); they must never be stored or echoed.
BSN_A = "111222333"
BSN_B = "123456782"


def write_principals(path, entries):
    """A token file of entries (principal, role, gemeente) of PRINCIPALS, with TOKENS."""
    wmtest.write_tokens(path, [(p, role, g, TOKENS[p]) for p, role, g in entries])


def ev(id_=None, gemeente="hilversum", person="pseudo-auth-0001", **kw):
    f = dict(id=id_ or uid("a"), person=person, gemeente=gemeente, date="2022-03-03", project=PROJ)
    f.update(kw)
    return event("started", **f)


class AuthTest(wmtest.TestCase):
    """A daemon with a token file, shared by the tests of this class."""

    own_daemon_reason = "needs a daemon with a token file of its own"

    @classmethod
    def setUpClass(cls):
        cls.skip_if_external()
        cls.tmp = cls.class_tmpdir("wm-e2e-auth-")
        cls.tokens = os.path.join(cls.tmp, "tokens")
        write_principals(cls.tokens, PRINCIPALS)
        cls.flags = ["--tokens", cls.tokens]
        super().setUpClass()
        c = cls.login("beheer")
        assert c.cmd("PROJECT %s category=auth" % PROJ) == "OK"
        c.close()

    @classmethod
    def login(cls, principal, server=None):
        c = (server or cls.server).connect()
        resp = c.cmd("AUTH " + TOKENS[principal])
        role = dict((p, (r, g)) for p, r, g in PRINCIPALS)[principal]
        want = "OK %s role=%s" % (principal, role[0]) + (" gemeente=%s" % role[1] if role[1] else "")
        assert resp == want, (resp, want)
        return c

    def as_(self, principal):
        c = self.login(principal)
        self._conns.append(c)
        return c

    # -- before AUTH ----------------------------------------------------------------------

    def test_before_auth_only_ping_hello_auth_quit(self):
        c = self.conn()
        self.assertEqual(c.cmd("PING"), "PONG")
        self.assertRegex(c.cmd("HELLO"), r"^OK werkmonitor \S+ proto=1 role=none$")
        for req in (ev(), "RETRACT id=x ref=y", "COUNT started", "PROGRESS", "PROJECTS", "STATS", "WATCH",
                    "PROJECT x category=y", "PROGRAM target.started=1"):
            self.assertErr(c.cmd(req), "auth-required")
        self.assertEqual(c.cmd("QUIT"), "OK bye")
        c.expect_eof()

    def test_auth_replies_and_hello(self):
        for p, role, g in PRINCIPALS:
            c = self.as_(p)
            self.assertRegex(c.cmd("HELLO"), r"^OK werkmonitor \S+ proto=1 role=%s$" % role)

    def test_auth_needs_a_token(self):
        c = self.conn()
        self.assertErr(c.cmd("AUTH"), "syntax")
        self.assertEqual(c.cmd("PING"), "PONG")

    # -- roles ----------------------------------------------------------------------------

    def test_roles_matrix(self):
        admin = self.as_("beheer")
        own = {}
        for p in ("wsp", "beheer"):
            c = self.as_(p)
            i = uid("m")
            self.assertOkSeq(c.cmd(ev(i)))
            own[p] = i
        victim = self.assertOkSeq(admin.cmd(ev()))
        allowed = {
            "reader": {"COUNT", "PROGRESS", "PROJECTS", "STATS"},
            "writer": {"COUNT", "PROGRESS", "PROJECTS", "STATS", "EVENT", "RETRACT-ref"},
            "admin": {"COUNT", "PROGRESS", "PROJECTS", "STATS", "EVENT", "RETRACT-ref", "RETRACT-seq", "PROJECT",
                      "PROGRAM"},
        }
        for principal, role in (("rapport", "reader"), ("wsp", "writer"), ("beheer", "admin")):
            c = self.as_(principal)
            reqs = {
                "COUNT": "COUNT started",
                "PROGRESS": "PROGRESS",
                "PROJECTS": "PROJECTS",
                "STATS": "STATS",
                "EVENT": ev(),
                "RETRACT-ref": "RETRACT id=%s ref=%s" % (uid("r"), own.get(principal, "nothing")),
                "RETRACT-seq": "RETRACT id=%s seq=%d" % (uid("r"), victim),
                "PROJECT": "PROJECT %s category=auth" % uid("p"),
                "PROGRAM": "PROGRAM target.placed=500",
            }
            for what, req in reqs.items():
                resp = c.cmd(req)
                if what in allowed[role]:
                    self.assertFalse(isinstance(resp, str) and resp.startswith("ERR"),
                                     "%s may %s: %r" % (role, what, resp))
                else:
                    self.assertErr(resp, "denied")
            w = self.as_(principal)
            self.assertEqual(w.cmd("WATCH"), "OK watching", role)

    def test_writer_bound_to_a_gemeente(self):
        hv = self.as_("hilversum")
        self.assertOkSeq(hv.cmd(ev(gemeente="hilversum")))
        self.assertErr(hv.cmd(ev(gemeente="huizen")), "denied", "huizen")
        hz = self.as_("huizen")
        self.assertOkSeq(hz.cmd(ev(gemeente="huizen")))
        self.assertErr(hz.cmd(ev(gemeente="hilversum")), "denied")
        free = self.as_("wsp")
        for g in ("hilversum", "huizen", "weesp"):
            self.assertOkSeq(free.cmd(ev(gemeente=g)))

    def test_ids_belong_to_their_principal(self):
        hv, hz, wsp = self.as_("hilversum"), self.as_("huizen"), self.as_("wsp")
        i = uid("shared")
        a = self.assertOkSeq(hv.cmd(ev(i, gemeente="hilversum", kind="taal")))
        b = self.assertOkSeq(hz.cmd(ev(i, gemeente="huizen", kind="scholing")))
        self.assertNotEqual(a, b)
        self.assertDup(hv.cmd(ev(i, gemeente="hilversum", kind="taal")), a)
        self.assertDup(hz.cmd(ev(i, gemeente="huizen", kind="scholing")), b)
        self.assertErr(hv.cmd(ev(i, gemeente="hilversum", kind="scholing")), "conflict")
        # RETRACT by ref names the caller's own event only.
        self.assertErr(wsp.cmd("RETRACT id=%s ref=%s" % (uid("r"), i)), "not-found")
        self.assertOkSeq(hv.cmd("RETRACT id=%s ref=%s" % (uid("r"), i)))
        self.assertErr(hv.cmd("RETRACT id=%s ref=%s" % (uid("r"), i)), "conflict")
        self.assertOkSeq(hz.cmd("RETRACT id=%s ref=%s" % (uid("r"), i)))
        # A writer may not name events by seq, not even its own.
        self.assertErr(hv.cmd("RETRACT id=%s seq=%d" % (uid("r"), a)), "denied")

    def test_three_failures_close_the_connection(self):
        c = self.conn()
        self.assertErr(c.cmd("AUTH wrong-1"), "auth-failed")
        # A token one character off (regression: a fixed replacement character was the
        # right one whenever the random token ended in it).
        good = TOKENS["beheer"]
        self.assertErr(c.cmd("AUTH " + good[:-1] + ("1" if good[-1] == "0" else "0")),
                       "auth-failed")
        self.assertEqual(c.cmd("PING"), "PONG")
        self.assertErr(c.cmd("AUTH wrong-3"), "auth-failed")
        self.assertEqual(c.expect_eof(timeout=5), [])
        # Two failures, then the right token: allowed.
        c = self.conn()
        self.assertErr(c.cmd("AUTH wrong-1"), "auth-failed")
        self.assertErr(c.cmd("AUTH wrong-2"), "auth-failed")
        self.assertEqual(c.cmd("AUTH " + TOKENS["rapport"]), "OK rapport role=reader")

    def test_tokens_are_not_in_the_log(self):
        self.as_("wsp").cmd("PING")
        log = self.server.stderr()
        for t in TOKENS.values():
            self.assertNotIn(t, log)


class ReloadTest(wmtest.FreshDaemonTestCase):
    def test_sighup_reloads_tokens_without_dropping_connections(self):
        """Connections of principals that stay keep working across SIGHUP; one whose
        principal left is closed (docs/SECURITY.md #6, test_security_slots)."""
        tmp = self.tmpdir("wm-e2e-reload-")
        path = os.path.join(tmp, "tokens")
        write_principals(path, [p for p in PRINCIPALS if p[0] != "huizen"])
        s = self.own_server(["--tokens", path])
        gone = self.conn(s)
        self.assertEqual(gone.cmd("AUTH " + TOKENS["rapport"]), "OK rapport role=reader")
        old = self.conn(s)
        self.assertEqual(old.cmd("AUTH " + TOKENS["beheer"]), "OK beheer role=admin")
        c = self.conn(s)
        self.assertErr(c.cmd("AUTH " + TOKENS["huizen"]), "auth-failed")
        # huizen in, rapport out.
        write_principals(path, [p for p in PRINCIPALS if p[0] != "rapport"])
        s.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while True:
            c = self.conn(s)
            if c.cmd("AUTH " + TOKENS["huizen"]) == "OK huizen role=writer gemeente=huizen":
                break
            self.assertLess(time.monotonic(), deadline, "SIGHUP did not load the new token file")
            time.sleep(0.1)
        self.assertErr(self.conn(s).cmd("AUTH " + TOKENS["rapport"]), "auth-failed")
        self.assertEqual(old.cmd("PING"), "PONG")  # not dropped
        gone.expect_eof()
        # An invalid file is refused; the table loaded before stays.
        with open(path, "w") as f:
            f.write("huizen writer gemeente=huizen sha256:nothex\nbroken line\n")
        s.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        self.assertTrue(s.running())
        self.assertEqual(self.conn(s).cmd("AUTH " + TOKENS["huizen"]), "OK huizen role=writer gemeente=huizen")
        self.assertEqual(old.cmd("PING"), "PONG")


class OpenModeTest(wmtest.FreshDaemonTestCase):
    def run_daemon(self, flags, timeout=10):
        tmp = self.tmpdir("wm-e2e-open-")
        return wmtest.run_daemon(["--data", os.path.join(tmp, "data")] + flags, timeout)

    def test_open_mode_is_refused_on_a_non_loopback_listener(self):
        wmtest.need_own_daemon(self)
        for listen in ("0.0.0.0:%d" % wmtest.free_port(), "127.0.0.1:%d,0.0.0.0:%d" % (wmtest.free_port(),
                                                                                        wmtest.free_port())):
            p = self.run_daemon(["--listen", listen])
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(b"loopback", p.stderr)

    def test_a_token_file_allows_any_listener(self):
        tmp = self.tmpdir("wm-e2e-open-")
        path = os.path.join(tmp, "tokens")
        write_principals(path, PRINCIPALS)
        s = self.own_server(["--tokens", path], start=False)
        s.port = wmtest.free_port()
        s.listen = "0.0.0.0:%d" % s.port
        s.start()
        c = self.conn(s)
        self.assertEqual(c.cmd("AUTH " + TOKENS["beheer"]), "OK beheer role=admin")


class TlsTest(wmtest.TestCase):
    own_daemon_reason = "needs a daemon of its own"

    @classmethod
    def setUpClass(cls):
        cls.skip_if_external()
        cls.tmp = cls.class_tmpdir("wm-e2e-tls-")
        cls.files = wmtest.make_certificates(cls.tmp)
        cls.tls_port = wmtest.free_port()
        cls.flags = ["--tls-listen", "127.0.0.1:%d" % cls.tls_port, "--tls-cert", cls.files["server.pem"],
                     "--tls-key", cls.files["server.key"]]
        super().setUpClass()

    def tls_conn(self, cafile=None, hostname="localhost"):
        return self.tls_connect(self.tls_port, cafile or self.files["ca.pem"], hostname)

    def test_tls_with_verification(self):
        c = self.tls_conn()
        self.assertGreaterEqual(c.sock.version(), "TLSv1.2")
        self.assertEqual(c.cmd("PING"), "PONG")
        self.assertRegex(c.cmd("HELLO"), r"^OK werkmonitor \S+ proto=1 role=admin$")
        self.assertEqual(c.pipeline(["PING"] * 100), ["PONG"] * 100)
        c2 = self.tls_conn(hostname="127.0.0.1")
        self.assertEqual(c2.cmd("PING"), "PONG")

    def test_a_client_verifies_the_server(self):
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.tls_conn(cafile=self.files["other.pem"])
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.tls_conn(hostname="werkmonitor.example.org")
        # The server lives on.
        self.assertEqual(self.tls_conn().cmd("PING"), "PONG")

    def test_line_limit_holds_under_tls(self):
        c = self.tls_conn()
        self.assertErr(c.cmd("X" * 4097), "too-long")
        c.send(b"Y" * 200000 + b"\nPING\n")
        self.assertErr(c.read_response(), "too-long")
        self.assertEqual(c.read_response(), "PONG")

    def test_plaintext_on_the_tls_port_fails_cleanly(self):
        raw = wmtest.Conn("127.0.0.1", self.tls_port)
        self._conns.append(raw)
        raw.send(b"PING\n")
        # No reply line: a TLS alert, or nothing, and then the connection is closed.
        try:
            rest = raw.expect_eof(timeout=5)
        except AssertionError:
            self.fail("the TLS port kept a plaintext connection open")
        self.assertNotIn("PONG", rest)
        self.assertEqual(self.tls_conn().cmd("PING"), "PONG")
        self.assertEqual(self.conn().cmd("PING"), "PONG")

    def test_the_client_over_tls(self):
        base = [wmtest.CLIENT, "--tls", "--host", "localhost", "--port", str(self.tls_port)]
        p = subprocess.run(base + ["--ca", self.files["ca.pem"], "ping"], capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = subprocess.run(base + ["--ca", self.files["other.pem"], "ping"], capture_output=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)


class PersonalDataTest(wmtest.TestCase):
    """No person value leaves the server, and no BSN is ever stored or logged."""

    registry = ["PROJECT %s category=auth scope=regional target.placed=3" % PROJ]

    def test_no_person_value_in_any_response(self):
        wmtest.need_own_daemon(self)
        c = self.conn()
        persons = ["pseudo-secret-%04d" % k for k in range(6)]
        out = []

        def say(req):
            r = c.cmd(req)
            out.extend(r if isinstance(r, list) else [r])
            return r

        ids = []
        for k, p in enumerate(persons):
            i = uid("pd")
            ids.append(i)
            for line in (ev(i, person=p), event("placed", id=i + "p", person=p, gemeente="laren",
                                                date="2022-04-04", project=PROJ, sector="zorg", months=k),
                         event("completed", id=i + "c", person=p, gemeente="laren", date="2022-04-05",
                               project=PROJ, result="diploma"),
                         event("outflow", id=i + "o", person=p, gemeente="laren", date="2022-04-06", benefit="pw",
                               reason="werk")):
                say(line)
                say(line)  # DUP
        say(ev(ids[0], person=persons[1]))  # conflict
        say("RETRACT id=%s ref=%s" % (uid("r"), ids[1]))
        say("RETRACT id=%s ref=%s" % (uid("r"), ids[1]))  # conflict
        # Refused person values: BSN-like, a name, a BSN with spaces.
        for bad in (BSN_A, BSN_B, "Jan%20Jansen", "1112%2022333", "Jansen"):
            say(ev(person=bad).replace("person=" + wmtest.escape(bad), "person=" + bad))
        for t, dims in (("started", "project,gemeente,month,kind"), ("placed", "sector,durable,gemeente"),
                        ("completed", "result"), ("outflow", "benefit,reason,project")):
            say("COUNT %s by=%s" % (t, dims))
            say("COUNT %s by=%s distinct=person" % (t, dims))
        say("COUNT placed distinct=person")
        say("COUNT started person=%s" % persons[0])
        say("COUNT started by=person")
        say("PROGRESS")
        say("PROJECTS")
        say("STATS")
        w = self.conn()
        out.append(w.cmd("WATCH"))
        out.append(w.readline())
        text = "\n".join(out)
        for p in persons + [BSN_A, BSN_B, "Jan Jansen", "Jan%20Jansen", "Jansen", "1112 22333"]:
            self.assertNotIn(p, text)
        self.assertNotIn("pseudo-secret", self.server.stderr())

    def test_no_bsn_in_the_data_directory_or_the_log(self):
        s = self.own_server()
        c = self.conn(s)
        self.assertEqual(c.cmd("PROJECT %s category=auth" % PROJ), "OK")
        key = os.path.join(s.data_dir + "-key")
        self.addCleanup(lambda: os.path.exists(key) and os.unlink(key))
        p = subprocess.run([wmtest.CLIENT, "keygen", key], capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        base = [wmtest.CLIENT, "--host", s.host, "--port", str(s.port)]
        for k, bsn in enumerate((BSN_A, BSN_B)):
            p = subprocess.run(base + ["send", "placed", "id=bsn-%d" % k, "gemeente=weesp", "date=2022-02-02",
                                       "project=" + PROJ, "sector=zorg", "--bsn", bsn, "--pseudo-key", key],
                               capture_output=True, timeout=30)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertRegex(p.stdout.decode(), r"^OK \d+\n$")
            for out in (p.stdout, p.stderr):
                self.assertNotIn(bsn.encode(), out)
        # Raw BSNs sent as person values are refused and not written either.
        for bsn in (BSN_A, BSN_B):
            self.assertErr(c.cmd(ev(person=bsn, gemeente="weesp")), "invalid", "person")
        c.close()
        s.stop()
        found = []
        for root, _, files in os.walk(s.data_dir):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    data = f.read()
                for bsn in (BSN_A, BSN_B):
                    if bsn.encode() in data:
                        found.append((name, bsn))
        self.assertEqual(found, [])
        for bsn in (BSN_A, BSN_B):
            self.assertNotIn(bsn, s.stderr())


if __name__ == "__main__":
    unittest.main()
