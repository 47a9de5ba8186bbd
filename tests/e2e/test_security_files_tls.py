"""Regression tests for the security review's findings docs/SECURITY.md #7 (the token
file's permissions are not checked), #8 (TLS 1.2 accepts suites without forward
secrecy, and CBC with SHA-1) and the second half of #10 (the client sends AUTH in clear
text to another machine without a word), against the real daemon and client."""

import os
import signal
import socket
import ssl
import subprocess
import time

import wmtest

TOKEN = "f" * 64


def openssl(cwd, *args):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True, timeout=60)


def rsa_certificate(dirname):
    """A self-signed RSA certificate for localhost (rsa.pem, rsa.key): RSA key exchange,
    the suites without forward secrecy, needs an RSA certificate."""
    openssl(dirname, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rsa.key", "-out", "rsa.pem",
            "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost")
    return os.path.join(dirname, "rsa.pem"), os.path.join(dirname, "rsa.key")


def non_loopback_address():
    """An IPv4 address of this machine that is not loopback, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the route
        addr = s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()
    return None if addr.startswith("127.") else addr


class TokenFileModeTest(wmtest.FreshDaemonTestCase):
    own_daemon_reason = "starts daemons with token files of their own"

    def tokens(self, mode):
        path = os.path.join(self.tmpdir("wm-e2e-mode-"), "tokens")
        wmtest.write_tokens(path, [("beheer", "admin", None, TOKEN)])
        os.chmod(path, mode)
        return path

    def test_finding7_token_file_permissions_not_checked(self):
        for mode, why in ((0o666, "writable by group or others"), (0o620, "writable by group or others"),
                          (0o602, "writable by group or others"), (0o644, "readable by others"),
                          (0o604, "readable by others")):
            with self.subTest(mode=oct(mode)):
                path = self.tokens(mode)
                p = wmtest.run_daemon(["--check-config", "--tokens", path])
                err = p.stderr.decode()
                self.assertEqual(p.returncode, 1, err)
                self.assertIn(why, err)
                self.assertIn("mode %04o" % mode, err)
                self.assertIn(path, err)
                # a start is refused the same way
                s = self.own_server(["--tokens", path], start=False)
                with self.assertRaises(wmtest.ServerError) as cm:
                    s.start()
                self.assertIn("mode %04o" % mode, str(cm.exception))
        for mode in (0o600, 0o640, 0o400):
            with self.subTest(mode=oct(mode)):
                p = wmtest.run_daemon(["--check-config", "--tokens", self.tokens(mode)])
                self.assertEqual(p.returncode, 0, p.stderr.decode())

    def test_finding7_token_file_permissions_not_checked_on_reload(self):
        path = self.tokens(0o600)
        s = self.own_server(["--tokens", path])
        os.chmod(path, 0o666)
        s.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + wmtest.TIMEOUT
        while "keeping the old tokens" not in s.stderr() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn("writable by group or others (mode 0666)", s.stderr())
        with s.connect() as c:  # the old tokens still hold
            self.assertEqual(c.cmd("AUTH " + TOKEN), "OK beheer role=admin")

    def test_finding7_tls_key_permissions(self):
        d = self.tmpdir("wm-e2e-key-")
        files = wmtest.make_certificates(d)
        for mode, why in ((0o666, "writable by group or others"), (0o644, "readable by others")):
            with self.subTest(mode=oct(mode)):
                os.chmod(files["server.key"], mode)
                p = wmtest.run_daemon(["--check-config", "--tokens", self.tokens(0o600), "--tls-listen",
                                       "127.0.0.1:%d" % wmtest.free_port(), "--tls-cert", files["server.pem"],
                                       "--tls-key", files["server.key"]])
                self.assertEqual(p.returncode, 1)
                self.assertIn(why, p.stderr.decode())
                self.assertIn("mode %04o" % mode, p.stderr.decode())
        os.chmod(files["server.key"], 0o640)
        p = wmtest.run_daemon(["--check-config", "--tokens", self.tokens(0o600), "--tls-listen",
                               "127.0.0.1:%d" % wmtest.free_port(), "--tls-cert", files["server.pem"],
                               "--tls-key", files["server.key"]])
        self.assertEqual(p.returncode, 0, p.stderr.decode())

    def test_finding7_data_directory_open_to_others_warned(self):
        d = os.path.join(self.tmpdir("wm-e2e-data-"), "store")
        os.mkdir(d)
        os.chmod(d, 0o755)
        s = self.own_server(data_dir=d)
        self.assertIn("the data directory %s is open to others (mode 0755)" % d, s.stderr())
        s.stop()
        os.chmod(d, 0o700)
        s2 = self.own_server(data_dir=d)
        self.assertNotIn("open to others", s2.stderr())


class TlsCipherTest(wmtest.FreshDaemonTestCase):
    own_daemon_reason = "starts TLS daemons of its own"

    def tls_server(self, extra=()):
        d = self.tmpdir("wm-e2e-ciphers-")
        cert, key = rsa_certificate(d)
        port = wmtest.free_port()
        s = self.own_server(["--tls-listen", "127.0.0.1:%d" % port, "--tls-cert", cert, "--tls-key", key]
                            + list(extra))
        return port, cert

    def handshake(self, port, cafile, ciphers=None, tls13=False):
        """The negotiated cipher's name, or None when the server refused the handshake."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(cafile)
        if tls13:
            ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        else:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            ctx.set_ciphers(ciphers + ":@SECLEVEL=0")
        raw = socket.create_connection(("127.0.0.1", port), timeout=wmtest.TIMEOUT)
        try:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"PING\n")
                assert s.recv(100) == b"PONG\n"
                return s.cipher()[0]
        except ssl.SSLError:
            return None
        finally:
            raw.close()

    def test_finding8_tls12_accepts_suites_without_forward_secrecy(self):
        port, ca = self.tls_server()
        for weak in ("AES256-GCM-SHA384", "AES128-GCM-SHA256", "AES128-SHA", "AES256-SHA256",
                     "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA384"):
            with self.subTest(cipher=weak):
                self.assertIsNone(self.handshake(port, ca, weak), "%s was accepted" % weak)
        for good in ("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305"):
            with self.subTest(cipher=good):
                self.assertEqual(self.handshake(port, ca, good), good)
        self.assertTrue(self.handshake(port, ca, tls13=True).startswith("TLS_"))

    def test_finding8_tls_ciphers_option(self):
        port, ca = self.tls_server(["--tls-ciphers", "ECDHE-RSA-AES128-SHA"])
        self.assertEqual(self.handshake(port, ca, "ECDHE-RSA-AES128-SHA"), "ECDHE-RSA-AES128-SHA")
        self.assertIsNone(self.handshake(port, ca, "ECDHE-RSA-AES128-GCM-SHA256"))
        p = wmtest.run_daemon(["--check-config", "--tls-ciphers", "NO-SUCH-SUITE", "--tls-listen",
                               "127.0.0.1:%d" % wmtest.free_port(), "--tls-cert", ca,
                               "--tls-key", ca.replace(".pem", ".key")])
        self.assertEqual(p.returncode, 1)
        self.assertIn("tls-ciphers", p.stderr.decode())


class ClearTextTokenTest(wmtest.FreshDaemonTestCase):
    own_daemon_reason = "starts a daemon on a non-loopback address"

    def test_finding10_client_sends_token_in_clear_text(self):
        addr = non_loopback_address()
        if addr is None:
            self.skipTest("this machine has no non-loopback IPv4 address")
        tokens = os.path.join(self.tmpdir("wm-e2e-clear-"), "tokens")
        wmtest.write_tokens(tokens, [("rapport", "reader", None, TOKEN)])
        s = self.own_server(["--tokens", tokens], start=False)
        s.listen = "0.0.0.0:%d" % wmtest.free_port()
        s.port = int(s.listen.rsplit(":", 1)[1])
        s.start()
        env = {"WERKMONITOR_TOKEN": TOKEN}
        rc, out, err = wmtest.run_client(["--host", addr, "ping"], s.port, env=env)
        self.assertEqual(rc, 0, err)
        self.assertIn("sending the token in clear text to %s:%d" % (addr, s.port), err)
        self.assertIn("--tls", err)
        rc, out, err = wmtest.run_client(["--host", "127.0.0.1", "ping"], s.port, env=env)
        self.assertEqual(rc, 0, err)
        self.assertNotIn("clear text", err)


if __name__ == "__main__":
    import unittest
    unittest.main()
