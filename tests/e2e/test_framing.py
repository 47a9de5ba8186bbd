"""Framing and hostile input (PROTOCOL.md sections 1 and 2):
line endings, tokens, escapes, UTF-8, NUL and control bytes, line limits, pipelining,
HTTP on the port, the connection limit, the idle timeout and a client that never reads."""

import socket
import threading
import time
import unittest

import wmtest
from wmtest import event, uid

PROJ = uid("framing")
MAX_LINE = 4096


def started(id_, **kw):
    fields = dict(id=id_, person="pseudo-framing-1", gemeente="hilversum", date="2021-03-01", project=PROJ)
    fields.update(kw)
    return event("started", **fields)


def placed(id_, **kw):
    fields = dict(id=id_, person="pseudo-framing-1", gemeente="huizen", date="2021-03-01", project=PROJ,
                  sector="zorg")
    fields.update(kw)
    return event("placed", **fields)


class FramingTest(wmtest.TestCase):
    registry = ["PROJECT %s category=framing-test" % PROJ]

    # -- verbs, line endings, spaces ---------------------------------------------------

    def test_verb_is_case_insensitive(self):
        c = self.conn()
        for verb in ("PING", "ping", "Ping", "pInG"):
            self.assertEqual(c.cmd(verb), "PONG", verb)

    def test_crlf_is_accepted_and_replies_end_in_lf(self):
        c = self.conn()
        c.send(b"PING\r\nHELLO\r\n")
        self.assertEqual(c.readline_bytes(), b"PONG")
        self.assertRegex(c.readline(), r"^OK werkmonitor \S+ proto=1 role=admin$")
        i = uid()
        c.send(started(i).encode() + b"\r\n")
        seq = self.assertOkSeq(c.read_response())
        # The CR is not part of the last value: the same event without CR is a DUP.
        self.assertDup(c.cmd(started(i)), seq)

    def test_empty_lines_get_no_response(self):
        c = self.conn()
        c.send(b"\n\r\n\nPING\n\n\r\nPING\n\n")
        self.assertEqual(c.read_response(), "PONG")
        self.assertEqual(c.read_response(), "PONG")
        # Had an empty line been answered, this would read that answer instead.
        self.assertEqual(c.cmd("HELLO")[:15], "OK werkmonitor ")

    def test_runs_of_spaces_separate_tokens(self):
        c = self.conn()
        self.assertEqual(c.cmd("PING   "), "PONG")
        self.assertEqual(c.cmd("   PING"), "PONG")
        i = uid()
        spaced = started(i).replace(" ", "   ") + "  "
        seq = self.assertOkSeq(c.cmd(spaced))
        self.assertDup(c.cmd(started(i)), seq)

    def test_unknown_command(self):
        c = self.conn()
        self.assertErr(c.cmd("FROBNICATE x=1"), "unknown-command", "FROBNICATE")
        self.assertErr(c.cmd("EVENTS started"), "unknown-command")
        self.assertEqual(c.cmd("PING"), "PONG")

    # -- pipelining --------------------------------------------------------------------

    def test_pipelining_1000_requests_in_one_send(self):
        """Replies come in request order, whether answered at once (PING, ERR) or
        after a commit (OK, DUP)."""
        c = self.conn()
        lines, expect = [], []
        last_id = None
        for n in range(1000):
            k = n % 5
            if k == 0:
                lines.append("PING")
                expect.append(("PONG", None))
            elif k == 1:
                last_id = uid("pipe")
                lines.append(started(last_id))
                expect.append(("OK", last_id))
            elif k == 2:
                lines.append("NOPE %d" % n)
                expect.append(("ERR unknown-command", None))
            elif k == 3:
                lines.append(started(last_id))  # a resend of the event just before
                expect.append(("DUP", last_id))
            else:
                lines.append(started(uid("pipe"), date="1999-12-31"))
                expect.append(("ERR invalid", None))
        replies = c.pipeline(lines)
        seq_of = {}
        last_seq = 0
        for n, (resp, (kind, id_)) in enumerate(zip(replies, expect)):
            where = "request %d (%s): %r" % (n, lines[n][:60], resp)
            if kind == "PONG":
                self.assertEqual(resp, "PONG", where)
            elif kind == "OK":
                seq = self.assertOkSeq(resp)
                self.assertGreater(seq, last_seq, "sequence numbers must grow: " + where)
                last_seq = seq
                seq_of[id_] = seq
            elif kind == "DUP":
                self.assertEqual(resp, "DUP %d" % seq_of[id_], where)
            else:
                self.assertTrue(resp.startswith(kind + " "), where)
        self.assertEqual(c.cmd("PING"), "PONG")

    # -- arguments and escapes ---------------------------------------------------------

    def test_duplicate_key_is_syntax(self):
        c = self.conn()
        i = uid()
        self.assertErr(c.cmd(started(i) + " id=" + i), "syntax", "id")
        self.assertErr(c.cmd(started(i) + " gemeente=huizen"), "syntax", "gemeente")
        self.assertErr(c.cmd("PROJECT %s category=a category=a" % uid("p")), "syntax", "category")
        # Nothing was stored: the id is still free.
        self.assertOkSeq(c.cmd(started(i)))

    def test_key_outside_its_charset_is_syntax(self):
        c = self.conn()
        self.assertErr(c.cmd(started(uid()) + " Kind=scholing"), "syntax", "Kind")
        self.assertErr(c.cmd(started(uid()) + " ki!nd=scholing"), "syntax")

    def test_bad_escapes_are_syntax(self):
        c = self.conn()
        for bad in ("abc%", "abc%2", "%G1x", "a%zzb", "%%41", "a%2"):
            self.assertErr(c.cmd(started(uid()).replace("person=pseudo-framing-1", "person=pseudo" + bad)),
                           "syntax")
            self.assertErr(c.cmd(placed(uid()) + " employer=" + bad), "syntax")
        self.assertEqual(c.cmd("PING"), "PONG")

    def test_escapes_decode_before_comparison(self):
        c = self.conn()
        i = uid("esc")
        # %2D and %2d are '-': all three spellings are the same id.
        line = started(i)
        seq = self.assertOkSeq(c.cmd(line))
        self.assertDup(c.cmd(line.replace("id=" + i, "id=" + i.replace("-", "%2D"))), seq)
        self.assertDup(c.cmd(line.replace("id=" + i, "id=" + i.replace("-", "%2d"))), seq)
        j = uid()
        seq = self.assertOkSeq(c.cmd(placed(j) + " employer=Caf%C3%A9%20de%20Zon%2525"))
        self.assertDup(c.cmd(placed(j).encode() + " employer=Café%20de%20Zon%2525".encode("utf-8")), seq)

    def test_invalid_utf8_is_syntax(self):
        c = self.conn()
        for bad in (b"\xff", b"ab\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80abc",
                    b"%FF", b"%C3%28", b"%C0%AF", b"%ED%A0%80", b"ab%C3"):
            resp = c.cmd(placed(uid()).encode() + b" employer=" + bad)
            self.assertErr(resp, "syntax")
        self.assertEqual(c.cmd("PING"), "PONG")

    def test_valid_utf8_is_accepted(self):
        c = self.conn()
        self.assertOkSeq(c.cmd(placed(uid()).encode() + " employer=Zorggroep%20Tergooi%20–%20Café%20€".encode()))
        self.assertOkSeq(c.cmd(placed(uid()) + " employer=%E2%82%AC%F0%9F%98%80"))

    def test_nul_bytes_are_syntax(self):
        c = self.conn()
        self.assertErr(c.cmd(placed(uid()).encode() + b" employer=ab\x00cd"), "syntax")
        self.assertErr(c.cmd(placed(uid()) + " employer=ab%00cd"), "syntax")
        self.assertErr(c.cmd(started(uid()).encode() + b"\x00"), "syntax")
        self.assertEqual(c.cmd("PING"), "PONG")

    def test_control_characters_are_syntax(self):
        c = self.conn()
        for esc in ("%0A", "%0D", "%09", "%1B", "%7F", "%01", "%1F"):
            self.assertErr(c.cmd(placed(uid()) + " employer=a" + esc + "b"), "syntax")
        for raw in (b"\x01", b"\t", b"\x1b", b"\x7f", b"\r"):
            self.assertErr(c.cmd(placed(uid()).encode() + b" employer=a" + raw + b"b"), "syntax")
        self.assertEqual(c.cmd("PING"), "PONG")

    # -- line length -------------------------------------------------------------------

    def test_max_line_boundary(self):
        c = self.conn()
        # Exactly max_line bytes is a line (an unknown verb); one more is too long.
        self.assertErr(c.cmd("X" * MAX_LINE), "unknown-command")
        self.assertErr(c.cmd("X" * (MAX_LINE + 1)), "too-long")
        self.assertEqual(c.cmd("PING"), "PONG")
        # A valid request of exactly max_line bytes, padded with spaces.
        self.assertEqual(c.cmd("PING" + " " * (MAX_LINE - 4)), "PONG")
        self.assertErr(c.cmd("PING" + " " * (MAX_LINE - 3)), "too-long")

    def test_overlong_line_is_discarded_through_its_lf(self):
        c = self.conn()
        # What follows the limit up to the LF must not be taken for a request.
        c.send(b"X" * 100000 + b" PING\nPING\n")
        self.assertErr(c.read_response(), "too-long")
        self.assertEqual(c.read_response(), "PONG")
        self.assertEqual(c.cmd("PING"), "PONG")

    def test_overlong_line_sent_in_pieces(self):
        c = self.conn()
        c.send(b"EVENT started ")
        for _ in range(12):
            c.send(b"x" * 1000)
            time.sleep(0.02)
        c.send(b"\nPING\n")
        self.assertErr(c.read_response(), "too-long")
        self.assertEqual(c.read_response(), "PONG")

    def test_huge_line_gets_one_error(self):
        c = self.conn()
        chunk = b"y" * 65536
        for _ in range(32):  # 2 MiB without a LF
            c.send(chunk)
        c.send(b"\nPING\n")
        self.assertErr(c.read_response(), "too-long")
        self.assertEqual(c.read_response(), "PONG")
        self.assertEqual(c.cmd("PING"), "PONG")

    def test_overlong_lines_keep_pipelined_order(self):
        c = self.conn()
        c.send(b"PING\n" + b"z" * 5000 + b"\nPING\n" + b"z" * 5000 + b"\n" + b"HELLO\n")
        self.assertEqual(c.read_response(), "PONG")
        self.assertErr(c.read_response(), "too-long")
        self.assertEqual(c.read_response(), "PONG")
        self.assertErr(c.read_response(), "too-long")
        self.assertRegex(c.read_response(), r"^OK werkmonitor ")

    # -- the peer goes away ------------------------------------------------------------

    def test_half_close_gets_every_reply(self):
        """As `nc -N` does: send everything, shut the sending side, read the replies."""
        c = self.conn()
        lines = []
        for _ in range(50):
            lines += ["PING", started(uid()), "NOPE", started(uid()), "HELLO"]
        c.send("".join(l + "\n" for l in lines))
        c.sock.shutdown(socket.SHUT_WR)
        replies = c.expect_eof()
        self.assertEqual(len(replies), len(lines))
        patterns = [r"PONG", r"OK \d+", r"ERR unknown-command .*", r"OK \d+", r"OK werkmonitor .*"] * 50
        for n, (pat, r) in enumerate(zip(patterns, replies)):
            self.assertRegex(r, "^%s$" % pat, "reply %d" % n)

    def test_client_gone_with_writes_in_flight(self):
        c = self.conn()
        ids = [uid("gone") for _ in range(3000)]
        c.send("".join(started(i) + "\n" for i in ids))
        c.close()
        # The daemon carries on; whatever it stored is stored once.
        d = self.conn()
        self.assertEqual(d.cmd("PING"), "PONG")
        for r in d.pipeline([started(i) for i in ids]):
            self.assertRegex(r, r"^(OK|DUP) \d+$")
        self.assertTrue(all(r.startswith("DUP ") for r in d.pipeline([started(i) for i in ids])))

    def test_watcher_gone(self):
        w = self.conn()
        self.assertEqual(w.cmd("WATCH"), "OK watching")
        w.close()
        c = self.conn()
        self.assertOkSeq(c.cmd(started(uid())))
        self.assertEqual(c.cmd("PING"), "PONG")

    # -- HTTP on the port --------------------------------------------------------------

    def test_http_first_line_is_closed_at_once(self):
        for req in (b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", b"POST /events HTTP/1.1\r\n",
                    b"HEAD / HTTP/1.0\r\n\r\n"):
            c = self.conn()
            c.send(req)
            self.assertEqual(c.expect_eof(timeout=5), [], req)

    def test_http_verb_after_the_first_line_is_just_unknown(self):
        c = self.conn()
        self.assertEqual(c.cmd("PING"), "PONG")
        self.assertErr(c.cmd("GET / HTTP/1.1"), "unknown-command")
        self.assertEqual(c.cmd("PING"), "PONG")


class LimitsTest(wmtest.FreshDaemonTestCase):
    """Tests that need a daemon with other limits: each starts its own."""

    def test_max_connections(self):
        s = self.own_server(["--max-connections", "3"])
        s.settle()
        conns = [self.conn(s) for _ in range(3)]
        for c in conns:
            self.assertEqual(c.cmd("PING"), "PONG")
        extra = self.conn(s)
        lines = extra.expect_eof(timeout=5)
        self.assertEqual(len(lines), 1, lines)
        self.assertErr(lines[0], "unavailable")
        # The others are untouched, and a freed slot can be used again.
        for c in conns:
            self.assertEqual(c.cmd("PING"), "PONG")
        conns[0].close()
        deadline = time.monotonic() + 5
        while True:
            again = self.conn(s)
            try:
                if again.cmd("PING", timeout=2) == "PONG":
                    break
            except (wmtest.ConnClosed, socket.timeout, OSError):
                pass
            self.assertLess(time.monotonic(), deadline, "a closed connection's slot was not freed")
            time.sleep(0.1)

    def test_regression_quit_frees_the_slot_at_once(self):
        # docs/BUGS.md #2: a connection ended by QUIT held its max-connections slot while
        # the daemon lingered for the client's EOF, so an immediate reconnect was
        # refused about half the time.
        s = self.own_server(["--max-connections", "1"])
        s.settle()
        for i in range(200):
            # Raw sockets: reconnect the moment the previous connection's EOF is read.
            sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
            f = sock.makefile("rb")
            sock.sendall(b"PING\nQUIT\n")
            lines = f.read().splitlines()
            f.close()
            sock.close()
            self.assertEqual(lines, [b"PONG", b"OK bye"], "reconnect %d" % i)

    def test_idle_timeout(self):
        s = self.own_server(["--idle-timeout", "1"])
        idle = self.conn(s)
        busy = self.conn(s)
        self.assertEqual(idle.cmd("PING"), "PONG")
        t0 = time.monotonic()
        # The busy connection sends a request every 0.3 s: never idle for 1 s.
        while time.monotonic() - t0 < 2.5:
            self.assertEqual(busy.cmd("PING"), "PONG")
            time.sleep(0.3)
        self.assertTrue(idle.closed_by_peer(timeout=2.0), "idle connection still open after 3.5 s")
        self.assertEqual(busy.cmd("PING"), "PONG")
        # And a fresh connection that says nothing is closed after about a second.
        quiet = self.conn(s)
        t1 = time.monotonic()
        quiet.expect_eof(timeout=5)
        self.assertGreater(time.monotonic() - t1, 0.8)

    def test_client_that_never_reads(self):
        """Backpressure: a client that pipelines 200,000 events (and one that asks for
        2,000,000 PROJECTS listings) but never reads its replies may not make the daemon
        unresponsive or grow its memory without bound; the daemon stops reading the
        listing client (its 18 MB of requests cannot all be taken)."""
        s = self.own_server()
        proj = uid("bp")
        c = self.conn(s)
        # A registry of 40 projects makes each PROJECTS reply several kB: unbounded
        # buffering of them would need gigabytes.
        reg = ["PROJECT %s category=backpressure title=%s" % (proj, "t" * 200)]
        reg += ["PROJECT %s-%d category=backpressure title=%s" % (proj, n, "t" * 200) for n in range(39)]
        self.assertEqual(set(c.pipeline(reg)), {"OK"})
        self.assertEqual(len(c.cmd("PROJECTS")), 42)
        for _ in range(3):
            c.pipeline(["PING"] * 2000)
        base_kb = s.status_kb("RssAnon")

        events = b"".join(
            event("started", id="bp-%d" % n, person="pseudo-%08d" % (n % 5000) + "x", gemeente="weesp",
                  date="2022-06-01", project=proj).encode() + b"\n"
            for n in range(200000))
        listings = b"PROJECTS\n" * 2000000
        senders = [_Sender(s, events), _Sender(s, listings)]
        for t in senders:
            t.start()
        try:
            deadline = time.monotonic() + 25
            worst = 0.0
            peak_kb = base_kb
            # Until both senders are stuck (the daemon stopped reading them) or done.
            while time.monotonic() < deadline and not all(t.stalled() for t in senders):
                t0 = time.monotonic()
                with s.connect() as probe:
                    self.assertEqual(probe.cmd("PING"), "PONG")
                worst = max(worst, time.monotonic() - t0)
                peak_kb = max(peak_kb, s.status_kb("RssAnon"))
                time.sleep(0.2)
            self.assertTrue(all(t.stalled() for t in senders), "senders still progressing after 25 s")
            for _ in range(5):
                t0 = time.monotonic()
                with s.connect() as probe:
                    self.assertEqual(probe.cmd("PING"), "PONG")
                worst = max(worst, time.monotonic() - t0)
                peak_kb = max(peak_kb, s.status_kb("RssAnon"))
                time.sleep(0.1)
        finally:
            for t in senders:
                t.stop()
        bound_mb = 128 if wmtest.sanitizer_build() else 64
        grown_mb = (peak_kb - base_kb) / 1024.0
        wmtest.log("never-reads: sent %d and %d bytes, anonymous RSS grew %.1f MB, slowest PING %.3f s"
                   % (senders[0].sent, senders[1].sent, grown_mb, worst))
        self.assertLess(worst, 2.0, "the daemon stopped answering other connections")
        self.assertLess(grown_mb, bound_mb, "daemon memory grew by %.0f MB" % grown_mb)
        self.assertLess(senders[1].sent, len(listings), "the daemon read every request of a client that never reads")
        # Still healthy after the abusers went away.
        with s.connect() as probe:
            self.assertEqual(probe.cmd("PING"), "PONG")
            self.assertOkSeq(probe.cmd(event("started", id=uid(), person="pseudo-after-1", gemeente="weesp",
                                             date="2022-06-01", project=proj)))


class _Sender(threading.Thread):
    """Writes data to a new connection and never reads; remembers its progress."""

    def __init__(self, server, data):
        super().__init__(daemon=True)
        self.sock = socket.create_connection((server.host, server.port))
        # A small receive buffer keeps the replies in the daemon's court sooner.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        self.data = data
        self.sent = 0
        self.done = False
        self.last_progress = time.monotonic()

    def run(self):
        view = memoryview(self.data)
        try:
            while self.sent < len(view):
                n = self.sock.send(view[self.sent:self.sent + 65536])
                self.sent += n
                self.last_progress = time.monotonic()
        except OSError:
            pass
        self.done = True

    def stalled(self):
        return self.done or time.monotonic() - self.last_progress > 1.0

    def stop(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.join(5)


if __name__ == "__main__":
    unittest.main()
