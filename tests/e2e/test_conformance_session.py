"""Conformance audit of PROTOCOL.md sections 1 (framing), 2 (errors) and 3 (session,
roles, open mode) against the real daemon: one test per promise, exact replies.
Findings of the audit: docs/AUDIT.md."""

import os
import re
import socket
import time
import unittest

import wmtest
from wmtest import event

PROJ = "conf-session"


def _version():
    """The version CMake gives the build (HELLO reports it)."""
    with open(os.path.join(wmtest.SOURCE_DIR, "CMakeLists.txt")) as f:
        return re.search(r"project\(\s*werkmonitor\s+VERSION\s+(\S+)", f.read()).group(1)


VERSION = _version()


def ev(id_, **kw):
    f = dict(id=id_, person="p:session01", gemeente="laren", date="2021-05-05", project=PROJ)
    f.update(kw)
    return event("started", **f)


class FramingTest(wmtest.TestCase):
    """Section 1."""

    registry = ["PROJECT %s category=conf" % PROJ]

    # "A request is one line of UTF-8 ending in LF; a CR just before the LF is dropped."
    def test_framing_cr_before_lf_dropped(self):
        c = self.conn()
        c.send("PING\r\nHELLO\r\n")
        self.assertEqual(c.read_response(), "PONG")
        self.assertEqual(c.read_response(), "OK werkmonitor %s proto=1 role=admin" % VERSION)
        # the CR is dropped before the value is read: the id has no CR in it
        r = c.cmd(ev(wmtest.uid("cr")) + "\r")
        self.assertRegex(r, r"^OK \d+$")

    # "Empty lines are ignored (no response)."
    def test_framing_empty_lines_ignored(self):
        c = self.conn()
        c.send("\n\r\n\n\nPING\n\nHELLO\n")
        self.assertEqual(c.readline(), "PONG")
        self.assertRegex(c.readline(), r"^OK werkmonitor ")
        c.send("\n\n")
        self.assertRaises(socket.timeout, c.readline, 0.3)

    # "A line is at most max_line bytes (default 4096, terminator excluded). A longer line
    # is discarded through its LF and answered ERR too-long ...; the connection stays
    # usable."
    def test_framing_max_line_4096_exactly_accepted(self):
        c = self.conn()
        self.assertEqual(c.cmd("PING" + " " * 4092), "PONG")
        self.assertEqual(c.cmd("PING" + " " * 4092 + "\r"), "PONG")

    def test_framing_too_long_discarded_through_lf(self):
        c = self.conn()
        c.send("PING" + " " * 4093 + "\nPING\n")
        self.assertErr(c.read_response(), "too-long")
        self.assertEqual(c.read_response(), "PONG")
        # a very long line in several writes; its tail is not read as a request
        c.send("X" * 70000)
        time.sleep(0.05)
        c.send("Y" * 70000 + " PING\nPING\n")
        self.assertErr(c.read_response(), "too-long")
        self.assertEqual(c.read_response(), "PONG")
        self.assertRaises(socket.timeout, c.readline, 0.3)

    def test_framing_too_long_event_is_not_stored(self):
        c = self.conn()
        before = c.cmd("COUNT started")
        line = ev(wmtest.uid("long"), person="p:" + "x" * 120) + " " * 4100
        self.assertErr(c.cmd(line), "too-long")
        self.assertEqual(c.cmd("COUNT started"), before)

    def test_framing_max_line_flag(self):
        s = self.own_server(["--max-line", "100"])
        c = self.conn(s)
        self.assertEqual(c.cmd("PING" + " " * 96), "PONG")
        self.assertErr(c.cmd("PING" + " " * 97), "too-long")
        self.assertEqual(c.cmd("PING"), "PONG")

    # "Tokens are separated by one or more spaces. The first token is the verb
    # (case-insensitive)."
    def test_framing_several_spaces_separate_tokens(self):
        c = self.conn()
        self.assertEqual(c.cmd("COUNT   started    project=%s   " % PROJ), c.cmd("COUNT started project=%s" % PROJ))
        self.assertEqual(c.cmd("   PING"), "PONG")

    def test_framing_verb_case_insensitive(self):
        c = self.conn()
        for v in ("ping", "Ping", "pInG"):
            self.assertEqual(c.cmd(v), "PONG")
        self.assertEqual(c.cmd("count started project=%s" % PROJ), c.cmd("COUNT started project=%s" % PROJ))

    # "Arguments are key=value (keys lowercase [a-z0-9._-])"
    def test_framing_key_must_be_lowercase(self):
        c = self.conn()
        self.assertErr(c.cmd("COUNT placed Sector=zorg"), "syntax", "Sector")
        self.assertErr(c.cmd("COUNT placed sec+tor=zorg"), "syntax")

    # "A key may appear once per request."
    def test_framing_key_once_per_request(self):
        c = self.conn()
        self.assertErr(c.cmd("COUNT placed by=sector by=gemeente"), "syntax", "by")
        uid = wmtest.uid("twice")
        self.assertErr(c.cmd(ev(uid) + " gemeente=laren"), "syntax", "gemeente")
        self.assertErr(c.cmd("RETRACT id=%s ref=%s" % (uid, uid)), "not-found")  # nothing was stored

    # "%XX (two hex digits) decodes to that byte, so a space is %20 and a percent sign %25."
    def test_framing_percent_escape_decodes(self):
        c = self.conn()
        name = wmtest.uid("esc")
        self.assertEqual(c.cmd("PROJECT %s category=conf title=50%%25%%20korting%%3dja" % name), "OK")
        rows = [r for r in c.rows("PROJECTS") if r["project"] == name]
        self.assertEqual(rows[0]["title"], "50% korting=ja")
        # an escaped id is the same id as the plain one: DUP
        base = wmtest.uid("esc")
        seq = self.assertOkSeq(c.cmd(ev(base + "-a")))
        self.assertEqual(c.cmd(ev(base + "-a").replace("id=%s-a " % base, "id=%s%%2da " % base)), "DUP %d" % seq)
        self.assertEqual(c.cmd(ev(base + "-a").replace("id=%s-a " % base, "id=%s%%2Da " % base)), "DUP %d" % seq)
        self.assertEqual(c.cmd(ev(base + "-a").replace("laren", "%6caren")), "DUP %d" % seq)

    # "A malformed % escape, or a decoded value that is not valid UTF-8 or holds control
    # characters, is ERR syntax."
    def test_framing_malformed_escape_is_syntax(self):
        c = self.conn()
        for v in ("50%zz", "50%", "50%2", "%g0", "%%"):
            with self.subTest(v=v):
                self.assertErr(c.cmd("PROJECT conf-x category=conf title=" + v), "syntax", "title")
        self.assertEqual(c.cmd("PING"), "PONG")

    def test_framing_invalid_utf8_is_syntax(self):
        c = self.conn()
        for v in (b"%C3", b"%FF", b"%C0%AF", b"%ED%A0%80", b"%F4%90%80%80", b"\xff", b"caf\xc3", b"\xc0\xaf"):
            with self.subTest(v=v):
                self.assertErr(c.cmd(b"PROJECT conf-x category=conf title=" + v), "syntax", "title")
        self.assertEqual(c.cmd("PING"), "PONG")

    def test_framing_control_characters_are_syntax(self):
        c = self.conn()
        for v in (b"%00", b"%01", b"%0A", b"%0D", b"%1F", b"%7F", b"a\tb", b"a\x7fb", b"a\x1bb"):
            with self.subTest(v=v):
                self.assertErr(c.cmd(b"PROJECT conf-x category=conf title=" + v), "syntax", "title")
        self.assertErr(c.cmd(b"PROJECT conf-x category=conf title=a\x00b"), "syntax")
        self.assertEqual(c.cmd("PING"), "PONG")
        # nothing of it was stored
        self.assertEqual([r for r in c.rows("PROJECTS") if r["project"] == "conf-x"], [])

    def test_framing_c1_control_characters_are_syntax(self):
        # U+0080..U+009F are control characters (Unicode general category Cc) too.
        c = self.conn()
        for v in ("%C2%80", "%C2%85", "%C2%9F", "\u0085"):
            with self.subTest(v=v):
                self.assertErr(c.cmd("PROJECT conf-c1 category=conf title=a" + v + "b"), "syntax", "title")
        # the neighbours are no control characters: U+007E and U+00A0 pass
        self.assertEqual(c.cmd("PROJECT conf-c1 category=conf title=a~%C2%A0b"), "OK")

    def test_framing_utf8_passes(self):
        c = self.conn()
        name = wmtest.uid("utf")
        self.assertEqual(c.cmd("PROJECT %s category=conf title=Caf%%C3%%A9%%20Ø€𝄞" % name), "OK")
        line = [l for l in c.cmd("PROJECTS") if ("project=%s " % name) in l][0]
        # ROW values: a space is %20, UTF-8 passes unchanged
        self.assertTrue(line.endswith(" title=Café%20Ø€𝄞"), line)

    # "Every request gets exactly one response, in request order, so a client may
    # pipeline"
    def test_framing_pipeline_responses_in_request_order(self):
        c = self.conn()
        u = wmtest.uid("pipe")
        lines = [ev(u + "-1"), "X" * 5000, "PING", ev(u + "-2"), "FROB", ev(u + "-1"),
                 b"PI\x00NG", "COUNT started id=1", ev(u + "-3"), "HELLO", "COUNT completed project=%s" % PROJ,
                 ev(u + "-4", kind="nee"), "PROJECTS"]
        got = c.pipeline(lines)
        s1 = self.assertOkSeq(got[0])
        self.assertErr(got[1], "too-long")
        self.assertEqual(got[2], "PONG")
        s2 = self.assertOkSeq(got[3])
        self.assertErr(got[4], "unknown-command", "FROB")
        self.assertEqual(got[5], "DUP %d" % s1)
        self.assertErr(got[6], "syntax")
        self.assertErr(got[7], "invalid", "id")
        s3 = self.assertOkSeq(got[8])
        self.assertRegex(got[9], r"^OK werkmonitor ")
        self.assertEqual(got[10], ["ROW count=0", "END 1"])
        self.assertErr(got[11], "invalid", "kind")
        self.assertIsInstance(got[12], list)
        self.assertLess(s1, s2)
        self.assertLess(s2, s3)

    def test_framing_pipeline_many(self):
        c = self.conn()
        u = wmtest.uid("many")
        lines = []
        for i in range(300):
            lines.append(ev("%s-%d" % (u, i)))
            lines.append("COUNT started project=%s" % PROJ if i % 3 == 0 else "PING")
        got = c.pipeline(lines)
        base = int(got[1][0].split("=")[1]) - 1
        for i in range(300):
            self.assertOkSeq(got[2 * i])
            if i % 3 == 0:
                self.assertEqual(got[2 * i + 1], ["ROW count=%d" % (base + i + 1), "END 1"])
            else:
                self.assertEqual(got[2 * i + 1], "PONG")

    # "A response is a single line (OK ..., DUP ..., PONG, ERR ...) or a block: zero or
    # more ROW ... lines and then END <n>, n being the number of ROW lines."
    def test_framing_block_end_counts_rows(self):
        c = self.conn()
        for q in ("PROJECTS", "COUNT started by=gemeente", "COUNT outflow by=gemeente", "PROGRESS", "STATS"):
            resp = c.cmd(q)
            wmtest.parse_block(resp)  # END n matches the ROW lines
        empty = wmtest.uid("empty")
        self.assertEqual(c.cmd("PROJECT %s category=conf" % empty), "OK")
        self.assertEqual(c.cmd("COUNT outflow by=gemeente project=%s" % empty), ["END 0"])

    # "ROW lines are key=value pairs with values escaped as above."
    def test_framing_row_values_escaped(self):
        c = self.conn()
        name = wmtest.uid("rowesc")
        self.assertEqual(c.cmd("PROJECT %s category=conf title=a%%20b%%25c" % name), "OK")
        line = [l for l in c.cmd("PROJECTS") if ("project=%s " % name) in l][0]
        self.assertTrue(line.endswith(" title=a%20b%25c"), line)
        for tok in line.split(" ")[1:]:
            self.assertRegex(tok, r"^[a-z0-9._-]+=\S+$")


class TlsFramingTest(wmtest.TestCase):
    """ "TCP, default 127.0.0.1:7878; optionally TLS on a second listener": the same
    framing rules hold on the TLS listener."""

    own_daemon_reason = "needs a daemon with a TLS listener"

    @classmethod
    def setUpClass(cls):
        cls.skip_if_external()
        cls.files = wmtest.make_certificates(cls.class_tmpdir("wm-conf-tls-"))
        cls.tls_port = wmtest.free_port()
        cls.flags = ["--tls-listen", "127.0.0.1:%d" % cls.tls_port, "--tls-cert", cls.files["server.pem"],
                     "--tls-key", cls.files["server.key"]]
        super().setUpClass()

    def tls_conn(self):
        return self.tls_connect(self.tls_port, self.files["ca.pem"])

    def test_tls_framing_rules_hold(self):
        c = self.tls_conn()
        self.assertEqual(c.cmd("PING"), "PONG")
        c.send("\n\r\nPING" + " " * 4092 + "\r\nPING" + " " * 4093 + "\nPROJECT tls-p category=conf\n")
        self.assertEqual(c.read_response(), "PONG")
        self.assertErr(c.read_response(), "too-long")
        self.assertEqual(c.read_response(), "OK")
        c.send("X" * 100000 + "\nPING\n")
        self.assertErr(c.read_response(), "too-long")
        self.assertEqual(c.read_response(), "PONG")
        line = ev("tls-1").replace(PROJ, "tls-p")
        got = c.pipeline([line, line, "COUNT started project=tls-p"])
        seq = self.assertOkSeq(got[0])
        self.assertEqual(got[1:], ["DUP %d" % seq, ["ROW count=1", "END 1"]])
        # the plain listener sees the same store
        self.assertEqual(self.conn().cmd(line), "DUP %d" % seq)
        self.assertEqual(c.cmd("QUIT"), "OK bye")
        self.assertEqual(c.expect_eof(), [])

    def test_tls_open_mode_refused_on_non_loopback_tls_listener(self):
        wmtest.need_own_daemon(self)
        s = wmtest.Server(["--tls-listen", "0.0.0.0:%d" % wmtest.free_port(), "--tls-cert", self.files["server.pem"],
                           "--tls-key", self.files["server.key"]])
        self.addCleanup(s.cleanup)
        with self.assertRaises(wmtest.ServerError) as cm:
            s.start()
        self.assertIn("loopback", str(cm.exception))


class ErrorsTest(wmtest.TestCase):
    """Section 2: ERR <code> <message>, codes from the table, the connection stays
    usable."""

    registry = ["PROJECT %s category=conf" % PROJ]

    CODES = {"syntax", "unknown-command", "auth-required", "auth-failed", "denied", "invalid",
             "unknown-project", "conflict", "not-found", "too-long", "storage", "unavailable",
             "internal"}

    def test_errors_each_code_and_connection_stays_usable(self):
        c = self.conn()
        u = wmtest.uid("err")
        self.assertOkSeq(c.cmd(ev(u)))
        cases = [
            ("COUNT placed by=a by=b", "syntax", "by"),
            ("FROBNICATE now", "unknown-command", "FROBNICATE"),
            (ev(u + "x", gemeente="amsterdam"), "invalid", "amsterdam"),
            (ev(u + "x", project="nergens"), "unknown-project", "nergens"),
            (ev(u, kind="taal"), "conflict", u),
            ("RETRACT id=%sr ref=%s-none" % (u, u), "not-found", u),
            ("PING " + "x" * 5000, "too-long", ""),
        ]
        for line, code, mention in cases:
            with self.subTest(code=code):
                resp = c.cmd(line)
                self.assertErr(resp, code, mention)
                self.assertEqual(c.cmd("PING"), "PONG")

    def test_errors_message_names_the_field(self):
        c = self.conn()
        u = wmtest.uid("errf")
        for field, value in (("id", "a b"), ("gemeente", "utrecht"), ("date", "2021-02-30"),
                             ("kind", "yoga"), ("doelgroep", "kinderen"), ("benefit", "aow")):
            with self.subTest(field=field):
                line = ev(u, **{field: value})
                self.assertErr(c.cmd(line), "invalid", field)

    def test_errors_code_is_one_word_of_the_table(self):
        c = self.conn()
        for line in ("FROB", "COUNT", "COUNT hired", "EVENT", "RETRACT", "PROJECT", "PROGRESS asof=x",
                     "COUNT placed %zz=1", "EVENT started id=1", "AUTH"):
            resp = c.cmd(line)
            m = re.fullmatch(r"ERR (\S+) (.+)", resp)
            self.assertIsNotNone(m, resp)
            self.assertIn(m.group(1), self.CODES, resp)

    def test_errors_storage_full_nothing_written(self):
        # "the store cannot accept writes (disk or map full, I/O error); nothing was written"
        s = self.own_server(["--map-size", "1M", "--map-max", "1M"])
        c = self.conn(s)
        self.assertEqual(c.cmd("PROJECT vol category=conf"), "OK")
        ok = 0
        full = None
        for b in range(40):
            lines = [event("placed", id="v%d-%d" % (b, i), person="p:%012d" % (b * 1000 + i), gemeente="laren",
                           date="2021-%02d-%02d" % (i % 12 + 1, i % 28 + 1), project="vol", sector="zorg",
                           employer="x" * 100) for i in range(200)]
            for r in c.pipeline(lines):
                if r.startswith("OK "):
                    ok += 1
                else:
                    full = r
            if full:
                break
        self.assertIsNotNone(full, "the 1 MB map never filled")
        self.assertErr(full, "storage")
        self.assertEqual(c.cmd("PING"), "PONG")
        self.assertEqual(c.cmd("COUNT placed"), ["ROW count=%d" % ok, "END 1"])
        self.assertEqual(c.cmd(event("placed", id="v0-0", person="p:%012d" % 0, gemeente="laren", date="2021-01-01",
                                     project="vol", sector="zorg", employer="x" * 100)), "DUP 1")

    def test_errors_unavailable_at_connection_limit(self):
        s = self.own_server(["--max-connections", "2"])
        a = self.conn(s)
        # the harness's start-up probe may still be counted for a moment
        deadline = time.monotonic() + 5
        while {r["stat"]: r["value"] for r in a.rows("STATS")}["connections"] != "1":
            self.assertLess(time.monotonic(), deadline, "the probe connection is still counted")
            time.sleep(0.02)
        b = self.conn(s)
        self.assertEqual(a.cmd("PING"), "PONG")
        self.assertEqual(b.cmd("PING"), "PONG")
        c = self.conn(s)
        lines = c.expect_eof()
        self.assertEqual(len(lines), 1, lines)
        self.assertErr(lines[0], "unavailable")
        self.assertEqual(a.cmd("PING"), "PONG")


TOKENS = [("adm", "admin", None, "tok-admin-secret"),
          ("rdr", "reader", None, "tok-reader-secret"),
          ("wr1", "writer", None, "tok-writer1-secret"),
          ("wr2", "writer", None, "tok-writer2-secret"),
          ("wrl", "writer", "laren", "tok-writer-laren")]


class SessionTest(wmtest.TestCase):
    """Section 3 with a token file: PING, HELLO, AUTH, QUIT and the role matrix."""

    own_daemon_reason = "needs a daemon with a token file"

    @classmethod
    def setUpClass(cls):
        cls.skip_if_external()
        tokfile = os.path.join(cls.class_tmpdir("wm-conf-tokens-"), "tokens")
        wmtest.write_tokens(tokfile, TOKENS)
        cls.flags = ["--tokens", tokfile]
        super().setUpClass()
        with cls.server.connect() as c:
            assert c.cmd("AUTH tok-admin-secret") == "OK adm role=admin"
            assert c.cmd("PROJECT %s category=conf" % PROJ) == "OK"

    def authed(self, token):
        c = self.conn()
        resp = c.cmd("AUTH " + token)
        self.assertTrue(resp.startswith("OK "), resp)
        return c

    def test_session_ping_hello_before_auth(self):
        c = self.conn()
        self.assertEqual(c.cmd("PING"), "PONG")
        self.assertEqual(c.cmd("HELLO"), "OK werkmonitor %s proto=1 role=none" % VERSION)

    def test_session_auth_replies_principal_role_gemeente(self):
        for tok, want in (("tok-admin-secret", "OK adm role=admin"), ("tok-reader-secret", "OK rdr role=reader"),
                          ("tok-writer1-secret", "OK wr1 role=writer"),
                          ("tok-writer-laren", "OK wrl role=writer gemeente=laren")):
            c = self.conn()
            self.assertEqual(c.cmd("AUTH " + tok), want)
            self.assertEqual(c.cmd("HELLO"), "OK werkmonitor %s proto=1 role=%s" % (VERSION, want.split("role=")[1].split()[0]))

    def test_session_auth_needs_one_token(self):
        # a missing positional is ERR syntax (section 2)
        c = self.conn()
        self.assertErr(c.cmd("AUTH"), "syntax")
        self.assertErr(c.cmd("AUTH tok-admin-secret extra"), "syntax")
        self.assertEqual(c.cmd("HELLO"), "OK werkmonitor %s proto=1 role=none" % VERSION)

    def test_session_auth_failed_then_closed_after_three(self):
        c = self.conn()
        self.assertErr(c.cmd("AUTH wrong-1"), "auth-failed")
        self.assertEqual(c.cmd("PING"), "PONG")  # usable after the first failures
        self.assertErr(c.cmd("AUTH wrong-2"), "auth-failed")
        self.assertErr(c.cmd("AUTH wrong-3"), "auth-failed")
        self.assertTrue(c.closed_by_peer())

    def test_session_only_ping_hello_auth_quit_before_auth(self):
        c = self.conn()
        for line in ("COUNT started", "PROGRESS", "PROJECTS", "STATS", "WATCH", ev("x1"),
                     "RETRACT id=a ref=b", "PROJECT p category=c", "PROGRAM target.started=1"):
            with self.subTest(line=line):
                self.assertErr(c.cmd(line), "auth-required")
        self.assertEqual(c.cmd("QUIT"), "OK bye")
        self.assertEqual(c.expect_eof(), [])

    def test_session_reader_role(self):
        c = self.authed("tok-reader-secret")
        self.assertEqual(c.cmd("COUNT started project=%s" % PROJ)[-1], "END 1")
        self.assertEqual(c.cmd("PROGRESS")[-1], "END %d" % (len(c.cmd("PROGRESS")) - 1))
        wmtest.parse_block(c.cmd("PROJECTS"))
        wmtest.parse_block(c.cmd("STATS"))
        for line in (ev(wmtest.uid("rd")), "RETRACT id=a ref=b", "PROJECT p category=c", "PROGRAM target.started=1"):
            with self.subTest(line=line):
                self.assertErr(c.cmd(line), "denied")
        self.assertEqual(c.cmd("WATCH"), "OK watching")
        self.assertTrue(c.readline().startswith("TOTAL seq="))

    def test_session_writer_role(self):
        c = self.authed("tok-writer1-secret")
        u = wmtest.uid("wr")
        seq = self.assertOkSeq(c.cmd(ev(u)))
        self.assertEqual(c.cmd(ev(u)), "DUP %d" % seq)
        wmtest.parse_block(c.cmd("COUNT started"))
        for line in ("PROJECT p category=c", "PROGRAM target.started=1"):
            self.assertErr(c.cmd(line), "denied")
        # RETRACT its own event by ref; by seq is for admins
        self.assertErr(c.cmd("RETRACT id=%s-r0 seq=%d" % (u, seq)), "denied")
        self.assertOkSeq(c.cmd("RETRACT id=%s-r1 ref=%s" % (u, u)))

    def test_session_writer_bound_to_gemeente(self):
        c = self.authed("tok-writer-laren")
        u = wmtest.uid("wl")
        self.assertOkSeq(c.cmd(ev(u, gemeente="laren")))
        self.assertErr(c.cmd(ev(u + "b", gemeente="huizen")), "denied")
        # and nothing was stored under that id
        self.assertOkSeq(c.cmd(ev(u + "b", gemeente="laren")))

    def test_session_ids_are_per_principal(self):
        a, b = self.authed("tok-writer1-secret"), self.authed("tok-writer2-secret")
        u = wmtest.uid("pp")
        sa = self.assertOkSeq(a.cmd(ev(u)))
        sb = self.assertOkSeq(b.cmd(ev(u, kind="taal")))
        self.assertNotEqual(sa, sb)
        # b cannot retract a's event: in b's own ids there is the other one
        self.assertOkSeq(b.cmd("RETRACT id=%s-r ref=%s" % (u, u)))
        self.assertEqual(a.cmd(ev(u)), "DUP %d" % sa)
        self.assertErr(b.cmd("RETRACT id=%s-r2 ref=%s" % (u, u)), "conflict")
        self.assertOkSeq(a.cmd("RETRACT id=%s-r2 ref=%s" % (u, u)))
        # a reader-only principal sees the counts; the writer w2 cannot name a's event
        self.assertErr(b.cmd("RETRACT id=%s-r3 ref=%s-nope" % (u, u)), "not-found")

    def test_session_admin_retracts_any_event_by_seq(self):
        w = self.authed("tok-writer2-secret")
        u = wmtest.uid("adm")
        seq = self.assertOkSeq(w.cmd(ev(u)))
        a = self.authed("tok-admin-secret")
        self.assertErr(a.cmd("RETRACT id=%s-r ref=%s" % (u, u)), "not-found")  # not admin's own id
        self.assertOkSeq(a.cmd("RETRACT id=%s-r seq=%d" % (u, seq)))
        self.assertErr(w.cmd("RETRACT id=%s-r ref=%s" % (u, u)), "conflict")

    def test_session_quit(self):
        c = self.authed("tok-reader-secret")
        self.assertEqual(c.cmd("QUIT"), "OK bye")
        self.assertEqual(c.expect_eof(), [])


class OpenModeTest(wmtest.TestCase):
    """ "A server with no token file runs in open mode: every connection is admin with
    principal local; open mode is refused unless every listener is on a loopback
    address." """

    def test_open_mode_is_admin_local(self):
        c = self.conn()
        self.assertEqual(c.cmd("HELLO"), "OK werkmonitor %s proto=1 role=admin" % VERSION)
        self.assertEqual(c.cmd("AUTH anything"), "OK local role=admin")
        self.assertEqual(c.cmd("PROJECT conf-open category=conf"), "OK")

    def refused(self, listen):
        s = wmtest.Server()
        self.addCleanup(s.cleanup)
        s.port = wmtest.free_port()
        s.listen = listen.replace("PORT", str(s.port))
        with self.assertRaises(wmtest.ServerError) as cm:
            s.start()
        return str(cm.exception)

    def test_open_mode_refused_on_non_loopback(self):
        wmtest.need_own_daemon(self)
        for listen in ("0.0.0.0:PORT", "127.0.0.1:PORT,0.0.0.0:%d" % wmtest.free_port(), "[::]:PORT"):
            with self.subTest(listen=listen):
                self.assertIn("loopback", self.refused(listen))

    def test_open_mode_allowed_on_ipv6_loopback(self):
        wmtest.need_own_daemon(self)
        s = wmtest.Server()
        self.addCleanup(s.cleanup)
        s.host = "::1"
        s.port = wmtest.free_port()
        s.listen = "[::1]:%d" % s.port
        s.start()
        with socket.create_connection(("::1", s.port), timeout=5) as raw:
            c = wmtest.Conn(None, None, sock=raw)
            self.assertEqual(c.cmd("HELLO"), "OK werkmonitor %s proto=1 role=admin" % VERSION)

    def test_open_mode_quit(self):
        c = self.conn()
        c.send("PING\nQUIT\nPING\n")
        self.assertEqual(c.read_response(), "PONG")
        self.assertEqual(c.read_response(), "OK bye")
        self.assertEqual(c.expect_eof(), [])

    def test_quit_after_pipelined_writes(self):
        # every request before QUIT gets its response first; nothing after it runs
        proj = wmtest.uid("quit")
        self.assertEqual(self.conn().cmd("PROJECT %s category=conf" % proj), "OK")
        c = self.conn()
        u = wmtest.uid("quit")
        lines = [ev("%s-%d" % (u, i), project=proj) for i in range(3)]
        c.send("".join(l + "\n" for l in lines) + "QUIT\n" + ev(u + "-after", project=proj) + "\n")
        seqs = [self.assertOkSeq(c.read_response()) for _ in lines]
        self.assertEqual(c.read_response(), "OK bye")
        self.assertEqual(c.expect_eof(), [])
        d = self.conn()
        self.assertEqual(d.pipeline(lines), ["DUP %d" % q for q in seqs])
        self.assertEqual(d.cmd("COUNT started project=%s" % proj), ["ROW count=3", "END 1"])


if __name__ == "__main__":
    unittest.main()
