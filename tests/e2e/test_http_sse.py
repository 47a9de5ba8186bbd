"""GET /v1/totals/stream: server-sent events on a real daemon. The stream
starts with the totals, receives a push after another connection's EVENT, coalesces
bursts, resumes with Last-Event-ID, sends a heartbeat comment, outlives the request
deadline, and ends cleanly on SIGTERM."""

import json
import signal
import socket
import time
import unittest

import wmtest
from test_http import TOKENS, HttpCase, ev, own_http_server, request, total_line


class Stream:
    """A raw /v1/totals/stream connection that decodes the chunked body into events."""

    def __init__(self, port, headers=None, timeout=wmtest.TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        h = {"Host": "localhost", "Accept": "text/event-stream"}
        h.update(headers or {})
        req = "GET /v1/totals/stream HTTP/1.1\r\n" + "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
        self.sock.sendall(req.encode())
        self.raw = b""
        self.body = b""
        self.eof = False
        while b"\r\n\r\n" not in self.raw:
            self._recv(timeout)
            if self.eof:
                raise AssertionError("no response head: %r" % self.raw)
        head, self.raw = self.raw.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
        self.chunked = self.headers.get("transfer-encoding") == "chunked"
        self.ended = False  # the last chunk came
        self._decode()

    def close(self):
        self.sock.close()

    def _recv(self, timeout):
        self.sock.settimeout(timeout)
        try:
            d = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            d = b""
        if not d:
            self.eof = True
        self.raw += d

    def _decode(self):
        if not self.chunked:
            self.body += self.raw
            self.raw = b""
            return
        while True:
            i = self.raw.find(b"\r\n")
            if i < 0:
                return
            size = int(self.raw[:i].split(b";")[0], 16)
            if size == 0:
                self.ended = True
                self.raw = b""
                return
            if len(self.raw) < i + 2 + size + 2:
                return
            self.body += self.raw[i + 2:i + 2 + size]
            self.raw = self.raw[i + 2 + size + 2:]

    def block(self, timeout=5.0):
        """The next block (the text up to a blank line) as a list of lines; None when
        nothing arrives in time; raises EOFError when the stream ended."""
        deadline = time.monotonic() + timeout
        while b"\n\n" not in self.body:
            if self.eof or self.ended:
                raise EOFError("stream ended; left: %r" % self.body)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                self._recv(left)
            except socket.timeout:
                return None
            self._decode()
        blk, self.body = self.body.split(b"\n\n", 1)
        return blk.decode().split("\n")

    def event(self, timeout=5.0):
        """The next data event as (id, data dict), skipping comments and retry-only
        blocks; None when none arrives in time."""
        deadline = time.monotonic() + timeout
        while True:
            blk = self.block(max(0.0, deadline - time.monotonic()))
            if blk is None:
                return None
            fields = dict(l.split(": ", 1) for l in blk if not l.startswith(":"))
            if "data" in fields:
                return int(fields["id"]), json.loads(fields["data"])


class SseTest(HttpCase):
    http_flags = ["--http-timeout", "1"]

    def stream(self, headers=None):
        s = Stream(self.http_port, headers)
        self.addCleanup(s.close)
        self.assertEqual(s.status, 200)
        return s

    def watch_total(self):
        c = self.conn()
        self.assertEqual(c.cmd("WATCH"), "OK watching")
        t = total_line(c.readline())
        c.close()
        return t

    def test_stream_starts_with_the_totals_and_pushes_after_an_event(self):
        s = self.stream()
        self.assertEqual(s.headers["content-type"], "text/event-stream; charset=utf-8")
        self.assertEqual(s.headers["cache-control"], "no-cache")
        self.assertEqual(s.block(), ["retry: 3000"])
        seq, data = s.event()
        self.assertEqual(data, self.watch_total())
        self.assertEqual(seq, data["seq"])
        start = time.monotonic()
        self.assertOkSeq(self.conn().cmd(ev("placed", sector="zorg")))
        seq2, data2 = s.event(5)
        self.assertLess(time.monotonic() - start, 2.0)
        self.assertEqual(seq2, seq + 1)
        self.assertEqual(data2["placed"], data["placed"] + 1)
        self.assertEqual(data2, self.watch_total())

    def test_last_event_id_resumes(self):
        seq = request(self.http_port, "/v1/totals").json()["seq"]
        s = self.stream({"Last-Event-ID": str(seq)})
        self.assertIsNone(s.event(0.5), "a client that saw the current seq got it again")
        self.assertOkSeq(self.conn().cmd(ev()))
        got, _ = s.event()
        self.assertEqual(got, seq + 1)
        # an older id gets the current state at once
        old = self.stream({"Last-Event-ID": str(seq)})
        got, _ = old.event(2)
        self.assertEqual(got, seq + 1)
        # a malformed id counts as none
        bad = self.stream({"Last-Event-ID": "x"})
        self.assertEqual(bad.event(2)[0], seq + 1)

    def test_bursts_are_coalesced(self):
        s = self.stream()
        seq0, _ = s.event()
        c = self.conn()
        n = 300
        for r in c.pipeline([ev() for _ in range(n)]):
            self.assertOkSeq(r)
        events = []
        while True:
            e = s.event(1.0)
            if e is None:
                break
            events.append(e)
        self.assertTrue(events)
        self.assertLess(len(events), n / 3, "a burst of %d events gave %d pushes" % (n, len(events)))
        self.assertEqual(events[-1][0], seq0 + n)
        self.assertEqual([e[0] for e in events], sorted(set(e[0] for e in events)))
        self.assertEqual(events[-1][1], self.watch_total())

    def test_stream_outlives_the_request_deadline(self):
        s = self.stream()
        s.event()
        time.sleep(2.5)  # http-timeout is 1 s
        self.assertOkSeq(self.conn().cmd(ev()))
        self.assertIsNotNone(s.event(3), "the stream was closed by the request deadline")

    def test_heartbeat_comment(self):
        s = self.stream()
        s.event()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            blk = s.block(deadline - time.monotonic())
            if blk == [": heartbeat"]:
                return
        self.fail("no heartbeat within 20 s")

    def test_head_is_headers_only(self):
        r = request(self.http_port, "/v1/totals/stream", method="HEAD")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["content-type"], "text/event-stream; charset=utf-8")
        self.assertEqual(r.body, b"")

    def test_many_streams_and_some_leave(self):
        streams = [self.stream() for _ in range(40)]
        for s in streams:
            s.event()
        for s in streams[::2]:
            s.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
        seq = self.assertOkSeq(self.conn().cmd(ev()))
        for s in streams[1::2]:
            self.assertEqual(s.event()[0], seq)

        def open_streams():
            for line in request(self.http_port, "/metrics").body.decode().splitlines():
                if line.startswith("werkmonitor_http_streams "):
                    return int(line.split()[1])

        deadline = time.monotonic() + 5
        while open_streams() != 20:
            self.assertLess(time.monotonic(), deadline, "streams left open: %d" % open_streams())
            time.sleep(0.1)


class SseAuthTest(HttpCase):
    with_tokens = True

    def test_stream_with_a_token(self):
        s = Stream(self.http_port, {"Authorization": "Bearer " + TOKENS["rapport"]})
        self.addCleanup(s.close)
        self.assertEqual(s.status, 200)
        self.assertIsNotNone(s.event())
        bad = Stream(self.http_port, {"Authorization": "Bearer nope"})
        self.addCleanup(bad.close)
        self.assertEqual(bad.status, 401)


class SseShutdownTest(wmtest.FreshDaemonTestCase):
    def test_sigterm_ends_the_streams(self):
        server, port = own_http_server(self)
        s = Stream(port)
        self.addCleanup(s.close)
        self.assertIsNotNone(s.event())
        server.send_signal(signal.SIGTERM)
        self.assertEqual(server.wait(), 0)
        with self.assertRaises(EOFError):
            while True:
                if s.block(5) is None:
                    self.fail("the stream neither ended nor closed")


if __name__ == "__main__":
    unittest.main()
