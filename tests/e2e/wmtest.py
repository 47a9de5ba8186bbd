"""End-to-end test harness: starts the real werkmonitord and speaks raw protocol to it.

In the spirit of memcached's t/lib/MemcachedTest.pm. Python standard library only.

Environment:
  WM_BUILD_DIR   build tree holding werkmonitord and werkmonitor (ctest sets it);
                 default: ../../build relative to this file.
  WM_SOURCE_DIR  source tree (ctest sets it); default: ../.. relative to this file.
  WM_TEST_ADDR   host:port of a daemon that is already running (for instance under gdb:
                 `gdb --args build/werkmonitord --data /tmp/wm --listen 127.0.0.1:7979`,
                 then `WM_TEST_ADDR=127.0.0.1:7979 python3 -m unittest test_events`).
                 The tests then talk to that daemon; tests that must start, stop, signal
                 or configure a daemon of their own are skipped. The daemon must run in
                 open mode with the default municipalities; ids and project names are
                 made unique per run so that repeated runs do not collide.

A Server owns one daemon process and its temporary data directory; a Conn is one TCP
connection with line-level helpers. Every response is either one line (str) or a block,
returned as a list of its lines ending with the "END <n>" line.
"""

import hashlib
import os
import random
import re
import shutil
import signal
import socket
import ssl
import string
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD_DIR = os.path.abspath(os.environ.get("WM_BUILD_DIR") or os.path.join(HERE, "..", "..", "build"))
SOURCE_DIR = os.path.abspath(os.environ.get("WM_SOURCE_DIR") or os.path.join(HERE, "..", ".."))
DAEMON = os.path.join(BUILD_DIR, "werkmonitord")
CLIENT = os.path.join(BUILD_DIR, "werkmonitor")
TEST_ADDR = os.environ.get("WM_TEST_ADDR")

# Generous, because the sanitizer build is several times slower than the normal one.
TIMEOUT = 10.0

DEFAULT_GEMEENTEN = ["blaricum", "eemnes", "gooise-meren", "hilversum", "huizen", "laren",
                     "weesp", "wijdemeren"]

# A tag unique to this process: ids and names built with uid() never collide with those
# of an earlier run against the same (WM_TEST_ADDR) daemon.
RUN_TAG = "%x%s" % (int(time.time()) & 0xFFFFFF, "".join(random.choice(string.ascii_lowercase) for _ in range(4)))
_uid_counter = 0


def uid(prefix="e"):
    """A fresh id (also usable as a project name: lowercase, digits and '-')."""
    global _uid_counter
    _uid_counter += 1
    return "%s-%s-%d" % (prefix, RUN_TAG, _uid_counter)


def sanitizer_build():
    """True when BUILD_DIR was configured with -DWM_SANITIZE=ON (slower, bigger RSS)."""
    try:
        with open(os.path.join(BUILD_DIR, "CMakeCache.txt")) as f:
            return re.search(r"^WM_SANITIZE:BOOL=ON$", f.read(), re.M) is not None
    except OSError:
        return False


def free_port():
    """A loopback TCP port that nobody listens on right now."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def need_own_daemon(test):
    """Skip `test` (a TestCase) when the tests target an external daemon."""
    if TEST_ADDR:
        test.skipTest("needs a daemon of its own (WM_TEST_ADDR is set)")


class ServerError(Exception):
    pass


class Server:
    """One werkmonitord process on a free loopback port with a temporary data directory.

    flags: extra command-line flags (list of str). data_dir: reuse this directory
    instead of making a fresh one (it is then not removed by cleanup()).
    With WM_TEST_ADDR set, start() only records that address and nothing is spawned.
    """

    def __init__(self, flags=None, data_dir=None, env=None):
        self.flags = list(flags or [])
        self.external = bool(TEST_ADDR)
        self.own_data = data_dir is None and not self.external
        self.data_dir = data_dir or (None if self.external else tempfile.mkdtemp(prefix="wm-e2e-"))
        self.env = dict(os.environ)
        if sanitizer_build():
            # ASan keeps freed memory in a quarantine (256 MB by default), which would
            # make every RSS figure meaningless; a small one still finds use-after-free.
            opts = self.env.get("ASAN_OPTIONS", "")
            self.env["ASAN_OPTIONS"] = (opts + ":" if opts else "") + "quarantine_size_mb=16"
        self.env.update(env or {})
        self.listen = None  # --listen value; default host:port (the tests connect to host:port)
        self.proc = None
        self.exit_expected = False  # set when the test itself stops or kills it
        self.death_reported = False
        self.port = None
        self.host = "127.0.0.1"
        self.stderr_path = None
        self._stderr_file = None
        if self.external:
            host, _, port = TEST_ADDR.rpartition(":")
            self.host, self.port = host.strip("[]"), int(port)

    # -- process control -------------------------------------------------------------

    def argv(self):
        listen = self.listen or "%s:%d" % (self.host, self.port)
        return [DAEMON, "--listen", listen, "--data", self.data_dir] + self.flags

    def start(self, port=None):
        """Start the daemon and wait until it accepts connections (10 s at most). The
        daemon's output of every start goes to one file (see stderr()). The probe
        connection may count against --max-connections for a moment after start()
        returns: see settle()."""
        if self.external:
            return self
        if not os.access(DAEMON, os.X_OK):
            raise ServerError("no daemon at %s (set WM_BUILD_DIR)" % DAEMON)
        self.port = port or self.port or free_port()
        self.exit_expected = False
        if self.stderr_path is None:
            self._stderr_file = tempfile.NamedTemporaryFile(prefix="wm-e2e-stderr-", delete=False)
            self.stderr_path = self._stderr_file.name
        else:
            self._stderr_file = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=self._stderr_file,
                                     stderr=self._stderr_file, env=self.env)
        deadline = time.monotonic() + TIMEOUT
        while True:
            if self.proc.poll() is not None:
                self.death_reported = True
                raise ServerError("werkmonitord exited with %d during start-up:\n%s"
                                  % (self.proc.returncode, self.stderr()))
            try:
                socket.create_connection((self.host, self.port), timeout=1.0).close()
                return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise ServerError("werkmonitord did not accept on port %d within %.0f s:\n%s"
                                  % (self.port, TIMEOUT, self.stderr()))
            time.sleep(0.02)

    @staticmethod
    def settle():
        """Give the daemon time to notice connections the test closed (the start-up
        probe included), before a test that counts connections."""
        time.sleep(0.3)

    def stderr(self):
        """Everything the daemon wrote to stdout and stderr so far."""
        if not self.stderr_path:
            return ""
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def died(self):
        """True when the process exited without the test asking it to."""
        return self.proc is not None and self.proc.poll() is not None and not self.exit_expected

    def send_signal(self, sig):
        if self.external:
            raise unittest.SkipTest("cannot signal an external daemon")
        if sig in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL):
            self.exit_expected = True
        self.proc.send_signal(sig)

    def wait(self, timeout=TIMEOUT):
        """Wait for the process to exit; returns its exit code."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ServerError("werkmonitord did not exit within %.0f s:\n%s" % (timeout, self.stderr()))

    def stop(self, sig=signal.SIGTERM, timeout=TIMEOUT):
        """Send sig (SIGTERM) and wait; raises ServerError unless the exit code is 0."""
        if self.external:
            raise unittest.SkipTest("cannot stop an external daemon")
        if self.proc is None:
            return 0
        self.exit_expected = True
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.wait(timeout)
        self._close_stderr()
        if code != 0:
            raise ServerError("werkmonitord exited with %d after signal %d:\n%s" % (code, sig, self.stderr()))
        return code

    def restart(self, **kw):
        """Stop (exit code 0 required) and start again on the same data dir and port."""
        self.stop()
        return self.start(**kw)

    def kill_and_restart(self):
        """SIGKILL the daemon (a crash: no shutdown at all) and start it again on the same
        data directory and port."""
        self.kill()
        return self.start()

    def kill(self):
        self.exit_expected = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close_stderr()

    def _close_stderr(self):
        if self._stderr_file is not None:
            self._stderr_file.close()
            self._stderr_file = None

    def cleanup(self):
        """Kill the process if it still runs and remove the temporary files."""
        self.kill()
        if self.own_data and self.data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        if self.stderr_path:
            try:
                os.unlink(self.stderr_path)
            except OSError:
                pass

    # -- observation -------------------------------------------------------------------

    def status_kb(self, field):
        """A field of /proc/<pid>/status in kB (VmRSS, RssAnon, ...)."""
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise ServerError("no %s in /proc/%d/status" % (field, self.pid))

    def connect(self, timeout=TIMEOUT):
        return Conn(self.host, self.port, timeout)

    def addr(self):
        return "%s:%d" % (self.host, self.port)


class ConnClosed(Exception):
    pass


class Conn:
    """A raw protocol connection. Strings are sent as UTF-8; bytes are sent as they are."""

    def __init__(self, host, port, timeout=TIMEOUT, sock=None):
        """Connect to host:port, or (sock given) use that connected socket, e.g. one
        wrapped in TLS."""
        self.sock = sock or socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = bytearray()
        self.eof = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- sending -----------------------------------------------------------------------

    def send(self, data):
        """Send raw bytes (or a str as UTF-8), nothing added."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def sendline(self, line):
        """Send one request line; the LF is added."""
        if isinstance(line, str):
            line = line.encode("utf-8")
        self.send(line + b"\n")

    # -- receiving ---------------------------------------------------------------------

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
            chunk = b""
        if not chunk:
            self.eof = True
        self.buf += chunk
        return len(chunk)

    def readline_bytes(self, timeout=None):
        """One line without its LF, as bytes; raises ConnClosed at EOF, socket.timeout
        when nothing arrives in time."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 1]
                return line
            if self.eof:
                raise ConnClosed("connection closed; unterminated data: %r" % bytes(self.buf[:200]))
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no complete line within %.1f s (have %r)" % (timeout, bytes(self.buf[:200])))
            self._fill(left)

    def readline(self, timeout=None):
        """One line without its LF, as str."""
        return self.readline_bytes(timeout).decode("utf-8", "surrogateescape")

    def read_response(self, timeout=None):
        """One response: a str for a single line, or a list of lines for a ROW... END
        block (its last element is the END line)."""
        line = self.readline(timeout)
        if not line.startswith("ROW ") and not line.startswith("END"):
            return line
        block = [line]
        while not line.startswith("END"):
            line = self.readline(timeout)
            block.append(line)
        return block

    def cmd(self, line, timeout=None):
        """Send one request and return its response (see read_response)."""
        self.sendline(line)
        return self.read_response(timeout)

    def pipeline(self, lines, timeout=None):
        """Send every request in one write, then read one response per request."""
        data = b"".join((l.encode("utf-8") if isinstance(l, str) else l) + b"\n" for l in lines)
        self.send(data)
        return [self.read_response(timeout) for _ in lines]

    def rows(self, line, timeout=None):
        """Send a request answered by a block; return its rows as dicts (values
        unescaped). Raises AssertionError when the reply is not a well-formed block."""
        resp = self.cmd(line, timeout)
        return parse_block(resp)

    def expect_eof(self, timeout=None):
        """Wait for the server to close; returns every complete line received before."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("connection still open after %.1f s" % timeout)
            try:
                self._fill(left)
            except socket.timeout:
                raise AssertionError("connection still open after %.1f s" % timeout)
        lines = bytes(self.buf).split(b"\n")
        self.buf = bytearray()
        if lines and lines[-1] == b"":
            lines.pop()
        return [l.decode("utf-8", "surrogateescape") for l in lines]

    def closed_by_peer(self, timeout=2.0):
        """True when the server closed the connection (EOF or reset) within timeout
        without sending anything more."""
        try:
            self.expect_eof(timeout)
            return True
        except AssertionError:
            return False


def unescape(v):
    """Decode the %XX escapes of a wire value."""
    out = bytearray()
    b = v.encode("utf-8", "surrogateescape")
    i = 0
    while i < len(b):
        if b[i:i + 1] == b"%" and re.fullmatch(rb"[0-9A-Fa-f]{2}", b[i + 1:i + 3]):
            out.append(int(b[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(b[i])
            i += 1
    return out.decode("utf-8")


def escape(v):
    """Escape a value for the wire: space, '%' and control bytes become %XX; other
    bytes (UTF-8 included) pass unchanged."""
    out = bytearray()
    for byte in v.encode("utf-8"):
        if byte <= 0x20 or byte == 0x25 or byte == 0x7F:
            out += b"%%%02X" % byte
        else:
            out.append(byte)
    return out.decode("utf-8")


def parse_row(line):
    """'ROW a=1 b=x%20y' -> {'a': '1', 'b': 'x y'} (order kept)."""
    if not line.startswith("ROW "):
        raise AssertionError("not a ROW line: %r" % line)
    row = {}
    for tok in line[4:].split(" "):
        if not tok:
            raise AssertionError("empty token in %r" % line)
        k, sep, v = tok.partition("=")
        if not sep:
            raise AssertionError("token without '=' in %r" % line)
        if k in row:
            raise AssertionError("key %s twice in %r" % (k, line))
        row[k] = unescape(v)
    return row


def parse_block(resp):
    """Check a block response (list of ROW lines then 'END <n>' with n rows) and
    return its rows as dicts."""
    if not isinstance(resp, list):
        raise AssertionError("expected a ROW/END block, got %r" % (resp,))
    end = resp[-1]
    m = re.fullmatch(r"END (\d+)", end)
    if not m:
        raise AssertionError("block does not end with 'END <n>': %r" % end)
    if int(m.group(1)) != len(resp) - 1:
        raise AssertionError("%s but %d ROW lines" % (end, len(resp) - 1))
    return [parse_row(l) for l in resp[:-1]]


class TestCase(unittest.TestCase):
    """Base class: one shared daemon per test class (cls.server, cls.flags), assertion
    helpers for protocol replies, and conn() that closes its connections at the end.

    own_daemon_reason: set it (to why) in a class whose tests need a daemon of their
    own, such as exact totals over a fresh store or a token file; the class is then
    skipped with WM_TEST_ADDR. FreshDaemonTestCase: a class without a shared daemon."""

    flags = []
    registry = []  # protocol lines sent once after the shared daemon started
    own_daemon_reason = None

    @classmethod
    def class_tmpdir(cls, prefix):
        """A temporary directory for the class, removed after its last test (also
        when setUpClass fails after making it)."""
        path = tempfile.mkdtemp(prefix=prefix)
        cls.addClassCleanup(shutil.rmtree, path, True)
        return path

    def tmpdir(self, prefix):
        """A temporary directory for this test, removed after it."""
        path = tempfile.mkdtemp(prefix=prefix)
        self.addCleanup(shutil.rmtree, path, True)
        return path

    @classmethod
    def skip_if_external(cls):
        if cls.own_daemon_reason and TEST_ADDR:
            raise unittest.SkipTest(cls.own_daemon_reason)

    @classmethod
    def setUpClass(cls):
        cls.skip_if_external()
        cls.server = Server(cls.flags)
        try:
            cls.server.start()
            if cls.registry:
                with cls.server.connect() as c:
                    for r in c.pipeline(cls.registry):
                        if r != "OK":
                            raise ServerError("registry line refused: %r" % (r,))
        except Exception:
            cls.server.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        server = cls.server
        try:
            if server.running():
                server.stop()
        finally:
            server.cleanup()

    def setUp(self):
        self._conns = []

    def tearDown(self):
        for c in self._conns:
            c.close()
        # A daemon that died under a test (a crash, a sanitizer report) fails that
        # test with the daemon's own words, once.
        server = getattr(type(self), "server", None)
        if server is not None:
            self.check_alive(server)

    def check_alive(self, server):
        if server.died() and not server.death_reported:
            server.death_reported = True
            self.fail("werkmonitord died with exit code %s; its output ends with:\n%s"
                      % (server.proc.returncode, server.stderr()[-4000:]))

    def conn(self, server=None, timeout=TIMEOUT):
        c = (server or self.server).connect(timeout)
        self._conns.append(c)
        return c

    def tls_connect(self, port, cafile, hostname="localhost"):
        """A TLS connection to 127.0.0.1:port that verifies the server against cafile
        and hostname; closed at the end of the test."""
        ctx = ssl.create_default_context(cafile=cafile)
        raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        try:
            sock = ctx.wrap_socket(raw, server_hostname=hostname)
        except Exception:
            raw.close()
            raise
        c = Conn(None, None, sock=sock)
        self._conns.append(c)
        return c

    def own_server(self, flags=None, data_dir=None, start=True):
        """A daemon of this test alone (skipped with WM_TEST_ADDR), cleaned up after."""
        need_own_daemon(self)
        s = Server(flags, data_dir=data_dir)
        self.addCleanup(s.cleanup)
        self.addCleanup(self.check_alive, s)
        if start:
            s.start()
        return s

    # -- assertions --------------------------------------------------------------------

    def assertErr(self, resp, code, *mentions):
        """resp is 'ERR <code> <message>' with a non-empty message that contains every
        string of mentions (the offending field or value)."""
        self.assertIsInstance(resp, str, "expected ERR %s, got a block %r" % (code, resp))
        m = re.fullmatch(r"ERR (\S+) (.+)", resp)
        self.assertIsNotNone(m, "not an 'ERR <code> <message>' line: %r" % resp)
        self.assertEqual(m.group(1), code, "wrong error code in %r" % resp)
        for s in mentions:
            self.assertIn(s, m.group(2), "message of %r does not name %r" % (resp, s))

    def assertOkSeq(self, resp):
        """resp is 'OK <seq>' with seq >= 1; returns seq."""
        self.assertIsInstance(resp, str)
        m = re.fullmatch(r"OK ([1-9][0-9]*)", resp)
        self.assertIsNotNone(m, "expected 'OK <seq>', got %r" % resp)
        return int(m.group(1))

    def assertDup(self, resp, seq):
        self.assertEqual(resp, "DUP %d" % seq)


class FreshDaemonTestCase(TestCase):
    """A class without a shared daemon: each test starts the fresh daemons it needs with
    own_server() (a data directory of its own, cleaned up after the test)."""

    server = None

    @classmethod
    def setUpClass(cls):
        cls.skip_if_external()

    @classmethod
    def tearDownClass(cls):
        pass


def run_daemon(args, timeout=30):
    """Run werkmonitord with args to its end (--help, --check-config, a refused start)
    and return the CompletedProcess, output captured as bytes."""
    return subprocess.run([DAEMON] + list(args), capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def client_env(env=None):
    """The environment for werkmonitor: this one without WERKMONITOR_* and NO_COLOR (so
    that the caller's shell does not change what a test sees), plus env."""
    e = dict(os.environ)
    for k in ("WERKMONITOR_HOST", "WERKMONITOR_PORT", "WERKMONITOR_TOKEN", "NO_COLOR"):
        e.pop(k, None)
    e.update(env or {})
    return e


def run_client(args, port, input=None, env=None, timeout=60):
    """Run werkmonitor (with --port PORT unless port is None) in client_env(env); input
    is str or bytes for its stdin. Returns (exit code, stdout, stderr) decoded as UTF-8."""
    argv = [CLIENT] + (["--port", str(port)] if port else []) + list(args)
    p = subprocess.run(argv, input=input.encode() if isinstance(input, str) else input,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=client_env(env), timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def token_line(principal, role, gemeente, token):
    """One line of a token file: the token's SHA-256, never the token itself."""
    g = " gemeente=%s" % gemeente if gemeente else ""
    return "%s %s%s sha256:%s" % (principal, role, g, hashlib.sha256(token.encode()).hexdigest())


def write_tokens(path, entries):
    """Write a token file (a comment, a blank line, then one line per entry) of entries
    (principal, role, gemeente or None, token), mode 0600 as the daemon demands."""
    with open(path, "w") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write("# werkmonitord tokens (test)\n\n")
        for p, role, g, tok in entries:
            f.write(token_line(p, role, g, tok) + "\n")


def make_certificates(dirname, names=("localhost", "127.0.0.1")):
    """With the openssl command, in dirname: a CA (ca.pem, ca.key), a server certificate
    it signs for names, host names and IP addresses (server.pem, server.key), and an
    unrelated CA (other.pem) that a client must not accept the server with.
    Returns {file name: path}."""
    def run(*args):
        subprocess.run(["openssl"] + list(args), cwd=dirname, check=True, capture_output=True, timeout=30)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=werkmonitor test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=" + names[0])
    san = ",".join(("IP:" if re.fullmatch(r"[0-9.]+|.*:.*", n) else "DNS:") + n for n in names)
    with open(os.path.join(dirname, "ext.cnf"), "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n" % san)
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf")
    run("req", "-x509", *ec, "-keyout", "other.key", "-out", "other.pem", "-days", "2", "-subj", "/CN=other CA")
    return {k: os.path.join(dirname, k) for k in ("ca.pem", "server.pem", "server.key", "other.pem")}


def event(type_, **fields):
    """An EVENT line with the fields in the order given; values are escaped; a None
    value leaves the field out."""
    parts = ["EVENT", type_]
    for k, v in fields.items():
        if v is None:
            continue
        parts.append("%s=%s" % (k, escape(str(v))))
    return " ".join(parts)


def log(msg):
    sys.stderr.write(msg + "\n")
