"""The HTTP read API (proto/HTTP.md) on a real daemon: the listener and its
limits (URI and header size, request deadline against slow senders, max connections,
bounded memory for a client that never reads), GET/HEAD only, bearer tokens against the
token file (a gemeente-bound one included), JSON errors and their statuses, ETag and 304,
/v1/totals equal to WATCH's TOTAL, /healthz, /readyz, /metrics accepted by promtool, and
HTTPS. The helpers at the top are shared by the other test_http_*.py files."""

import http.client
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import time
import unittest

import wmtest
from wmtest import event, uid

PROJ = "http-p"


# -- helpers (imported by test_http_*.py) -------------------------------------------


class Reply:
    """One HTTP response: status, headers (lower-case names), body bytes."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<%d %r %r>" % (self.status, self.headers, self.body[:300])


def request(port, path, method="GET", headers=None, token=None, conn=None, tls=None, timeout=wmtest.TIMEOUT):
    """One request; with conn (an http.client connection) it goes over that connection
    (keep-alive), else over a fresh one that is closed afterwards."""
    own = conn is None
    if own:
        if tls is not None:
            conn = http.client.HTTPSConnection("localhost", port, timeout=timeout, context=tls)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = "Bearer " + token
    try:
        conn.request(method, path, headers=h)
        r = conn.getresponse()
        body = r.read()
        return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, body)
    finally:
        if own:
            conn.close()


def raw_exchange(port, data, timeout=5.0):
    """Send raw bytes, read until the server closes (or timeout); returns the bytes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                d = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not d:
                break
            out += d
        return out
    finally:
        s.close()


def total_line(line):
    """'TOTAL seq=1 started=2 ...' as a dict of ints."""
    parts = line.split()
    assert parts[0] == "TOTAL", line
    return {k: int(v) for k, v in (p.split("=", 1) for p in parts[1:])}


PRINCIPALS = [  # principal, role, gemeente
    ("beheer", "admin", None),
    ("rapport", "reader", None),
    ("wsp", "writer", None),
    ("huizen", "writer", "huizen"),
]
TOKENS = {p: secrets.token_hex(32) for p, _, _ in PRINCIPALS}


def write_tokens(path):
    wmtest.write_tokens(path, [(p, role, g, TOKENS[p]) for p, role, g in PRINCIPALS])


def ev(type_="started", gemeente="hilversum", person=None, project=PROJ, date="2022-03-03", **kw):
    f = dict(id=uid("h"), person=person or "pseudo-" + uid("p"), gemeente=gemeente, date=date)
    if type_ != "outflow" or project:
        f["project"] = project
    f.update(kw)
    return event(type_, **f)


class HttpCase(wmtest.TestCase):
    """A daemon with an HTTP listener (cls.http_port) and the extra flags of the class;
    with_tokens: with the token file of PRINCIPALS (cls.tokens), so that the registry
    is not set up (it needs AUTH)."""

    http_flags = []
    with_tokens = False
    registry = ["PROJECT %s category=http" % PROJ]
    own_daemon_reason = "needs a daemon with an HTTP listener of its own"

    @classmethod
    def setUpClass(cls):
        cls.skip_if_external()
        cls.http_port = wmtest.free_port()
        cls.flags = ["--http-listen", "127.0.0.1:%d" % cls.http_port] + cls.http_flags
        if cls.with_tokens:
            cls.tokens = os.path.join(cls.class_tmpdir("wm-e2e-http-"), "tokens")
            write_tokens(cls.tokens)
            cls.flags += ["--tokens", cls.tokens]
            cls.registry = []
        super().setUpClass()

    def get(self, path, **kw):
        return request(self.http_port, path, **kw)

    def assertHttpErr(self, r, status, code, *mentions):
        """r is a JSON error of status with code, whose message names every mention."""
        self.assertEqual(r.status, status, r)
        self.assertTrue(r.headers["content-type"].startswith("application/json"), r)
        e = r.json()
        self.assertEqual(set(e), {"error"}, r)
        self.assertEqual(set(e["error"]), {"code", "message"}, r)
        self.assertEqual(e["error"]["code"], code, r)
        self.assertTrue(e["error"]["message"], r)
        for m in mentions:
            self.assertIn(m, e["error"]["message"], r)

    def http_server(self, extra=None):
        return own_http_server(self, extra)


def own_http_server(test, extra=None):
    """A daemon of test alone with an HTTP listener and the flags extra; returns (server,
    http port)."""
    port = wmtest.free_port()
    s = test.own_server(["--http-listen", "127.0.0.1:%d" % port] + list(extra or []))
    return s, port


# -- open mode ----------------------------------------------------------------------


class HttpOpenTest(HttpCase):
    """Open mode (no token file, loopback): every request is admin "local"."""

    http_flags = ["--http-max-uri", "512"]

    def test_healthz_and_readyz(self):
        for path, status in (("/healthz", "ok"), ("/readyz", "ready")):
            r = self.get(path)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json(), {"status": status})
            self.assertEqual(r.headers["content-type"], "application/json")

    def test_totals_equal_watch(self):
        c = self.conn()
        for line in (ev(), ev("placed", sector="zorg"), ev("completed", result="diploma"),
                     ev("completed", result="uitgevallen"), ev("outflow", project=None, benefit="pw", reason="werk")):
            self.assertOkSeq(c.cmd(line))
        self.assertEqual(c.cmd("WATCH"), "OK watching")
        want = total_line(c.readline())
        r = self.get("/v1/totals")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers["content-type"], "application/json")
        got = r.json()
        self.assertEqual(got, want)
        self.assertEqual(list(got), ["seq", "started", "completed", "placed", "placed.persons", "outflow"])
        self.assertTrue(all(isinstance(v, int) for v in got.values()))

    def test_head_has_headers_only(self):
        g = self.get("/v1/totals")
        h = self.get("/v1/totals", method="HEAD")
        self.assertEqual(h.status, 200)
        self.assertEqual(h.body, b"")
        self.assertEqual(int(h.headers["content-length"]), len(g.body))
        self.assertEqual(h.headers["etag"], g.headers["etag"])

    def test_etag_gives_304_until_a_change(self):
        r = self.get("/v1/totals")
        etag = r.headers["etag"]
        self.assertRegex(etag, r'^"[^"]+"$')
        for inm in (etag, "W/" + etag, '"x", ' + etag, "*"):
            nm = self.get("/v1/totals", headers={"If-None-Match": inm})
            self.assertEqual(nm.status, 304, inm)
            self.assertEqual(nm.body, b"")
            self.assertEqual(nm.headers["etag"], etag)
        self.assertEqual(self.get("/v1/totals", headers={"If-None-Match": '"other"'}).status, 200)
        self.assertOkSeq(self.conn().cmd(ev()))
        r2 = self.get("/v1/totals", headers={"If-None-Match": etag})
        self.assertEqual(r2.status, 200)
        self.assertNotEqual(r2.headers["etag"], etag)
        self.assertEqual(r2.json()["seq"], r.json()["seq"] + 1)

    def test_unknown_path_is_404(self):
        # "/" is the monitor page (test_http_web)
        for path in ("/v1", "/v1/totals/", "/v1/nope", "/healthz/x", "/v1/totals%20", "/index"):
            self.assertHttpErr(self.get(path), 404, "not-found", "no such path")

    def test_other_methods_are_405(self):
        for m in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            r = self.get("/v1/totals", method=m)
            self.assertHttpErr(r, 405, "unknown-command", m, "GET and HEAD")
            self.assertEqual(r.headers["allow"], "GET, HEAD")

    def test_uri_too_long_is_414(self):
        r = self.get("/v1/totals?" + "a" * 600)
        self.assertHttpErr(r, 414, "too-long", "http-max-uri")
        self.assertEqual(self.get("/v1/totals?" + "a" * 400).status, 200)

    def test_keep_alive_and_pipelining(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=wmtest.TIMEOUT)
        try:
            for _ in range(5):
                self.assertEqual(request(self.http_port, "/v1/totals", conn=conn).status, 200)
        finally:
            conn.close()
        out = raw_exchange(self.http_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                                           b"GET /v1/totals HTTP/1.1\r\nHost: x\r\n\r\n"
                                           b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(out.count(b"HTTP/1.1 200 OK"), 3, out)
        self.assertIn(b'"status":"ready"', out)

    def test_http_1_0_closes_after_the_answer(self):
        out = raw_exchange(self.http_port, b"GET /healthz HTTP/1.0\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.0 200 OK"), out)
        self.assertTrue(out.endswith(b'{"status":"ok"}\n'), out)

    def test_garbage_request_line_is_refused(self):
        out = raw_exchange(self.http_port, b"\x16\x03\x01\x02\x00hello\r\n\r\n")
        self.assertTrue(out == b"" or out.startswith(b"HTTP/1.1 400"), out)
        self.assertEqual(self.get("/healthz").status, 200)

    def test_metrics_pass_promtool_and_count(self):
        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool (Debian's prometheus package) is missing: run scripts/deps.sh")

        def sample(text, name):
            for line in text.splitlines():
                if line.startswith(name + " "):
                    return float(line.split()[-1])
            self.fail("no sample %s in /metrics" % name)

        before = self.get("/metrics")
        self.assertEqual(before.status, 200)
        self.assertEqual(before.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
        c = self.conn()
        self.assertOkSeq(c.cmd(ev("placed", sector="bouw")))
        self.assertErr(c.cmd("COUNT nope"), "invalid")
        after = self.get("/metrics")
        text = after.body.decode()
        p = subprocess.run([promtool, "check", "metrics"], input=after.body, capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout.decode() + p.stderr.decode() + text)
        b = before.body.decode()
        for name, delta in (('werkmonitor_events_stored_total{type="placed"}', 1),
                            ("werkmonitor_commit_duration_seconds_count", 1),
                            ('werkmonitor_errors_total{code="invalid"}', 1),
                            ('werkmonitor_totals{figure="placed"}', 1),
                            ("werkmonitor_last_seq", 1)):
            self.assertEqual(sample(text, name) - sample(b, name), delta, name)
        for name in ("werkmonitor_build_info", "werkmonitor_uptime_seconds", "werkmonitor_store_bytes",
                     "werkmonitor_store_map_bytes", "werkmonitor_memory_part_bytes", "werkmonitor_commits_total",
                     "werkmonitor_events_per_commit", "werkmonitor_auth_failures_total", "werkmonitor_denials_total",
                     "werkmonitor_duplicates_total", "werkmonitor_retractions_total", "werkmonitor_connections"):
            self.assertIn("# TYPE %s " % name, text)
        self.assertGreaterEqual(sample(text, 'werkmonitor_connections{listener="http"}'), 1)
        self.assertGreaterEqual(sample(text, 'werkmonitor_connections{listener="tcp"}'), 1)

    def test_stats_count_http_errors(self):
        def errors_not_found():
            rows = wmtest.parse_block(self.conn().cmd("STATS"))
            return int({r["stat"]: r["value"] for r in rows}["errors.not-found"])

        n = errors_not_found()
        self.get("/nope")
        self.assertEqual(errors_not_found(), n + 1)


# -- tokens -------------------------------------------------------------------------


class HttpAuthTest(HttpCase):
    """A token file: requests authenticate with "Authorization: Bearer <token>"."""

    with_tokens = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        c = cls.server.connect()
        assert c.cmd("AUTH " + TOKENS["beheer"]).startswith("OK")
        assert c.cmd("PROJECT %s category=http" % PROJ) == "OK"
        for g in ("huizen", "hilversum", "huizen"):
            assert c.cmd(ev(gemeente=g)).startswith("OK")
        c.close()

    def line(self, principal):
        c = self.conn()
        self.assertTrue(c.cmd("AUTH " + TOKENS[principal]).startswith("OK " + principal))
        return c

    def test_no_token_is_401(self):
        for path in ("/v1/totals", "/v1/totals/stream", "/metrics"):
            r = self.get(path)
            self.assertHttpErr(r, 401, "auth-required", "Authorization: Bearer")
            self.assertEqual(r.headers["www-authenticate"], 'Bearer realm="werkmonitor"')

    def test_wrong_or_malformed_token_is_401(self):
        r = self.get("/v1/totals", token="not-a-token")
        self.assertHttpErr(r, 401, "auth-failed", "wrong token")
        self.assertIn('error="invalid_token"', r.headers["www-authenticate"])
        self.assertNotIn("not-a-token", r.body.decode())
        r = self.get("/v1/totals", headers={"Authorization": "Basic " + TOKENS["rapport"]})
        self.assertHttpErr(r, 401, "auth-required", "Bearer")
        r = self.get("/v1/totals", headers={"Authorization": "Bearer"})
        self.assertHttpErr(r, 401, "auth-required")
        # the scheme is case-insensitive, spaces around the token do not matter
        r = self.get("/v1/totals", headers={"Authorization": "bearer   %s  " % TOKENS["rapport"]})
        self.assertEqual(r.status, 200, r)

    def test_three_failures_close_the_connection(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=wmtest.TIMEOUT)
        try:
            for i in range(3):
                r = request(self.http_port, "/v1/totals", token="bad%d" % i, conn=conn)
                self.assertEqual(r.status, 401)
            self.assertEqual(r.headers.get("connection"), "close")
        finally:
            conn.close()

    def test_every_role_reads(self):
        for p, _, _ in PRINCIPALS:
            r = self.get("/v1/totals", token=TOKENS[p])
            self.assertEqual(r.status, 200, (p, r))
            self.assertEqual(r.headers["vary"], "Authorization")

    def test_gemeente_bound_token_sees_what_the_line_protocol_shows_it(self):
        c = self.line("huizen")
        self.assertEqual(c.cmd("WATCH"), "OK watching")
        want = total_line(c.readline())
        r = self.get("/v1/totals", token=TOKENS["huizen"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), want)

    def test_metrics_are_refused_to_a_gemeente_bound_token(self):
        denials = self.get("/metrics", token=TOKENS["rapport"])
        self.assertEqual(denials.status, 200)
        r = self.get("/metrics", token=TOKENS["huizen"])
        self.assertHttpErr(r, 403, "denied", "huizen", "region-wide")
        self.assertEqual(self.get("/metrics", token=TOKENS["beheer"]).status, 200)

    def test_probes_need_no_token(self):
        self.assertEqual(self.get("/healthz").status, 200)
        self.assertEqual(self.get("/readyz").status, 200)

    def test_auth_failures_are_counted(self):
        def stat(name):
            rows = wmtest.parse_block(self.line("beheer").cmd("STATS"))
            return int({r["stat"]: r["value"] for r in rows}[name])

        n = stat("auth_failures")
        self.get("/v1/totals", token="nope")
        self.assertEqual(stat("auth_failures"), n + 1)


# -- configuration ------------------------------------------------------------------


class HttpConfigTest(wmtest.FreshDaemonTestCase):
    def run_daemon(self, *flags):
        p = wmtest.run_daemon(["--data", os.path.join(self.tmpdir("wm-e2e-httpcfg-"), "d"),
                               "--listen", "127.0.0.1:%d" % wmtest.free_port()] + list(flags))
        p.stdout, p.stderr = p.stdout.decode(), p.stderr.decode()
        return p

    def test_open_mode_needs_a_loopback_http_listener(self):
        p = self.run_daemon("--http-listen", "0.0.0.0:%d" % wmtest.free_port())
        self.assertEqual(p.returncode, 1)
        self.assertIn("open mode", p.stderr)
        self.assertIn("0.0.0.0", p.stderr)

    def test_http_tls_needs_cert_and_key(self):
        p = self.run_daemon("--http-listen", "127.0.0.1:%d" % wmtest.free_port(), "--http-tls")
        self.assertEqual(p.returncode, 1)
        self.assertIn("http-tls needs tls-cert and tls-key", p.stderr)

    def test_bad_values_are_refused(self):
        for flags, msg in ((["--http-listen", "nope"], "http-listen"),
                           (["--http-timeout", "0"], "http-timeout"),
                           (["--http-tls=maybe"], "http-tls"),
                           (["--http-max-uri", "9000", "--http-max-header", "8192"], "http-max-uri")):
            p = self.run_daemon(*flags)
            self.assertEqual(p.returncode, 1, flags)
            self.assertIn(msg, p.stderr, flags)

    def test_check_config_prints_the_http_settings(self):
        p = self.run_daemon("--http-listen", "127.0.0.1:8080", "--http-timeout", "7s", "--check-config")
        self.assertEqual(p.returncode, 0, p.stderr)
        for line in ("http-listen 127.0.0.1:8080", "http-tls no", "http-timeout 7", "http-max-header 8192",
                     "http-max-uri 4096", "http-max-connections 1024"):
            self.assertIn(line + "\n", p.stdout)

    def test_listen_failure_is_reported(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        try:
            p = self.run_daemon("--http-listen", "127.0.0.1:%d" % s.getsockname()[1])
        finally:
            s.close()
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot listen on 127.0.0.1:", p.stderr)


# -- limits -------------------------------------------------------------------------


class HttpLimitsTest(HttpCase):
    """Small limits so that the tests are quick."""

    http_flags = ["--http-timeout", "2", "--http-max-header", "2048", "--http-max-uri", "1024"]

    def test_oversized_header_is_refused_and_closed(self):
        out = raw_exchange(self.http_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 4000 + b"\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 4"), out[:200])
        self.assertIn(b"Connection: close", out)
        many = b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 60) for i in range(60))
        out = raw_exchange(self.http_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 4"), out[:200])
        self.assertEqual(self.get("/healthz").status, 200)

    def test_slowloris_is_closed_at_the_deadline(self):
        """A header line every 0.3 s keeps any idle timeout happy; the deadline for a
        whole request (http-timeout 2) closes it all the same, without an answer."""
        s = socket.create_connection(("127.0.0.1", self.http_port), timeout=5)
        self.addCleanup(s.close)
        start = time.monotonic()
        s.sendall(b"GET /healthz HTTP/1.1\r\n")
        closed_after = None
        got = b""
        for i in range(40):
            try:
                s.sendall(b"X-Slow-%d: x\r\n" % i)
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.monotonic() - start
                break
            s.settimeout(0.3)
            try:
                d = s.recv(4096)
            except socket.timeout:
                continue
            except ConnectionResetError:
                closed_after = time.monotonic() - start
                break
            got += d
            if not d:
                closed_after = time.monotonic() - start
                break
        self.assertIsNotNone(closed_after, "a request sent slowly for 12 s was not closed")
        self.assertGreater(closed_after, 1.5)
        self.assertLess(closed_after, 6)
        self.assertEqual(got, b"")
        self.assertEqual(self.get("/healthz").status, 200)

    def test_idle_connection_is_closed(self):
        s = socket.create_connection(("127.0.0.1", self.http_port), timeout=8)
        self.addCleanup(s.close)
        start = time.monotonic()
        self.assertEqual(s.recv(100), b"")
        self.assertLess(time.monotonic() - start, 6)

    def test_keep_alive_survives_between_requests_within_the_deadline(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=wmtest.TIMEOUT)
        self.addCleanup(conn.close)
        for _ in range(3):
            self.assertEqual(request(self.http_port, "/healthz", conn=conn).status, 200)
            time.sleep(1.0)

    def test_max_connections(self):
        s, port = self.http_server(["--http-max-connections", "3"])
        held = []
        for _ in range(3):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=wmtest.TIMEOUT)
            self.addCleanup(c.close)
            self.assertEqual(request(port, "/healthz", conn=c).status, 200)
            held.append(c)
        r = request(port, "/healthz")
        self.assertHttpErr(r, 503, "unavailable", "http-max-connections 3")
        self.assertEqual(r.headers["connection"], "close")
        held[0].close()
        deadline = time.monotonic() + 5
        while request(port, "/healthz").status != 200:
            self.assertLess(time.monotonic(), deadline, "a freed slot was not given to a new connection")
            time.sleep(0.1)
        self.assertIn("http: connection refused", s.stderr())

    def test_client_that_never_reads_does_not_grow_memory(self):
        """A client that pipelines requests of 2 KB without end and never reads: the
        daemon answers one at a time and stops reading while an answer waits, so the
        client soon cannot send more, and the daemon's memory stays put (reading all of
        it would take 100 MB)."""
        s, port = self.http_server(["--http-timeout", "30", "--http-max-header", "4096"])
        request(port, "/metrics")
        rss0 = s.status_kb("VmRSS")
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.addCleanup(sock.close)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        req = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 2000 + b"\r\n\r\n"
        sent, deadline = 0, time.monotonic() + 4
        while sent < 50000 * len(req) and time.monotonic() < deadline:
            try:
                sent += sock.send(req[sent % len(req):])
            except BlockingIOError:
                time.sleep(0.01)
        time.sleep(0.5)
        grew = s.status_kb("VmRSS") - rss0
        self.assertLess(sent, 40 << 20, "the daemon read %d bytes of requests it could not answer" % sent)
        self.assertLess(grew, 20 * 1024, "RSS grew by %d kB (%d bytes sent)" % (grew, sent))
        self.assertEqual(request(port, "/healthz").status, 200)

    def test_readyz_is_503_while_commits_fail(self):
        """A map that cannot grow: once a commit fails, /readyz answers 503 naming the
        failure (a load balancer takes the daemon out), /healthz and the reads go on."""
        s, port = self.http_server(["--map-size", "1M", "--map-max", "1M"])
        c = self.conn(s)
        self.assertEqual(c.cmd("PROJECT %s category=http" % PROJ), "OK")
        self.assertEqual(request(port, "/readyz").status, 200)
        err = None
        for _ in range(400):
            for r in c.pipeline([ev(project=PROJ) for _ in range(500)], timeout=60):
                err = err or (r if r.startswith("ERR") else None)
            if err is not None:
                break
        self.assertIsNotNone(err, "a 1 MiB map never filled")
        self.assertErr(err, "storage")
        # a batch after a refused one may still fit: the refusal of a single event is
        # the last commit, and /readyz reports it
        for _ in range(1000):
            r = c.cmd(ev(project=PROJ))
            if r.startswith("ERR"):
                break
        self.assertErr(r, "storage")
        self.assertHttpErr(request(port, "/readyz"), 503, "unavailable", "not ready", "last commit failed")
        self.assertEqual(request(port, "/healthz").status, 200)
        self.assertEqual(request(port, "/v1/totals").status, 200)


# -- HTTPS --------------------------------------------------------------------------


class HttpTlsTest(HttpCase):
    @classmethod
    def setUpClass(cls):
        cls.skip_if_external()
        cls.files = wmtest.make_certificates(cls.class_tmpdir("wm-e2e-https-"))
        cls.http_flags = ["--http-tls", "--tls-cert", cls.files["server.pem"], "--tls-key", cls.files["server.key"]]
        super().setUpClass()

    def test_https_with_verification(self):
        ctx = ssl.create_default_context(cafile=self.files["ca.pem"])
        r = request(self.http_port, "/v1/totals", tls=ctx)
        self.assertEqual(r.status, 200, r)
        self.assertIn("seq", r.json())
        conn = http.client.HTTPSConnection("localhost", self.http_port, timeout=wmtest.TIMEOUT, context=ctx)
        self.addCleanup(conn.close)
        for _ in range(3):
            self.assertEqual(request(self.http_port, "/healthz", conn=conn).status, 200)

    def test_an_untrusted_certificate_is_refused_by_the_client(self):
        ctx = ssl.create_default_context(cafile=self.files["other.pem"])
        with self.assertRaises(ssl.SSLError):
            request(self.http_port, "/healthz", tls=ctx)

    def test_plain_http_on_the_https_port_gets_nothing_useful(self):
        out = raw_exchange(self.http_port, b"GET /v1/totals HTTP/1.1\r\nHost: x\r\n\r\n", timeout=3)
        self.assertNotIn(b"seq", out)
        ctx = ssl.create_default_context(cafile=self.files["ca.pem"])
        self.assertEqual(request(self.http_port, "/healthz", tls=ctx).status, 200)


if __name__ == "__main__":
    unittest.main()
