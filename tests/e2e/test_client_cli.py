"""The werkmonitor client against the real daemon: help and usage errors, exit codes,
ping/send/retract/raw, the output formats of count/progress/projects/stats (table with
colour on a TTY, CSV, JSON), pseudonyms (eleven-test, key files, HMAC), token new with a
daemon that uses the tokens, and TLS with certificate and name verification."""

import csv
import hashlib
import hmac
import io
import json
import os
import pty
import re
import select
import subprocess
import unittest

import wmtest
from wmtest import uid

CLIENT = wmtest.CLIENT
TIMEOUT = 60
PROJ = uid("cli")
PROJ_LOCAL = uid("cli")
VALID_BSN = "111222333"  # passes the eleven-test
INVALID_BSN = "111222334"


def run(args, port, input=None, env=None):
    """Run the client with --port (unless port is None); returns (exit code, stdout, stderr)."""
    return wmtest.run_client(args, port, input=input, env=env, timeout=TIMEOUT)


def run_tty(args, port):
    """Run the client with stdout on a pseudo-terminal; returns (exit code, output)."""
    master, slave = pty.openpty()
    e = dict(os.environ)
    e.pop("NO_COLOR", None)
    p = subprocess.Popen([CLIENT, "--port", str(port)] + list(args), stdout=slave,
                         stderr=subprocess.DEVNULL, env=e)
    os.close(slave)
    out = b""
    while True:
        r, _, _ = select.select([master], [], [], TIMEOUT)
        if not r:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    p.wait(TIMEOUT)
    return p.returncode, out.decode("utf-8", "replace")


def pseudonym(key, bsn):
    return hmac.new(key, bsn.encode(), hashlib.sha256).hexdigest()


class ClientTest(wmtest.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.port = cls.server.port
        cls.tmp = cls.class_tmpdir("wm-client-")
        rc, out, err = run(["raw"], cls.port, input=(
            "PROJECT %s category=scholing start=2021-01-01 end=2021-12-31 target.started=10 "
            "target.completed=8 target.placed=5 title=Zorg%%20Start%%20%%C3%%A9\n"
            "PROJECT %s category=gemeentelijk scope=local\n" % (PROJ, PROJ_LOCAL)))
        assert rc == 0, (out, err)

    def ev(self, type_="started", **kw):
        f = dict(id=uid(), person="p-cli-000001", gemeente="huizen", date="2021-06-01", project=PROJ)
        if type_ == "placed":
            f["sector"] = "zorg"
        f.update(kw)
        return [type_] + ["%s=%s" % kv for kv in f.items()]

    def key_file(self, data=None, mode=0o600):
        path = os.path.join(self.tmp, uid("key"))
        with open(path, "wb") as f:
            f.write(data if data is not None else os.urandom(32))
        os.chmod(path, mode)
        return path

    # -- help and usage ------------------------------------------------------------------

    def test_help(self):
        rc, out, _ = run(["--help"], None)
        self.assertEqual(rc, 0)
        for word in ("send", "import", "count", "progress", "raw", "--token", "ps", "Exit status"):
            self.assertIn(word, out)
        for cmd in ("ping", "send", "retract", "count", "progress", "projects", "stats", "watch",
                    "import", "raw", "bench", "token", "keygen", "pseudonym"):
            rc, out, err = run([cmd, "--help"], None)
            self.assertEqual(rc, 0, cmd)
            self.assertIn("Usage: werkmonitor %s" % cmd, out)
            self.assertEqual(err, "")
        rc, out, _ = run(["help", "send"], None)
        self.assertEqual(rc, 0)
        self.assertIn("--bsn", out)

    def test_usage_errors_exit_64(self):
        for args, msg in ((["frobnicate"], "unknown command 'frobnicate'"),
                          (["--bogus", "ping"], "unknown option '--bogus'"),
                          (["send", "--bogus"], "unknown option '--bogus'"),
                          (["send"], "missing the event type"),
                          (["send", "started", "noequals"], "expected key=value"),
                          (["send", "sideways", "id=1"], "unknown event type 'sideways'"),
                          (["count", "started", "--format", "xml"], "--format is table, csv or json"),
                          (["--port", "99999", "ping"], "port must be"),
                          ([], "Usage:")):
            rc, out, err = run(args, None)
            self.assertEqual(rc, 64, args)
            self.assertIn(msg, err, args)

    def test_cannot_connect_exit_2(self):
        port = wmtest.free_port()
        rc, out, err = run(["ping"], port)
        self.assertEqual(rc, 2)
        self.assertEqual(err.strip(), "werkmonitor: cannot connect to 127.0.0.1:%d: Connection refused" % port)
        rc, out, err = run(["send"] + self.ev(), port)
        self.assertEqual(rc, 2)

    def test_env_host_and_port(self):
        rc, out, _ = run(["ping"], None, env={"WERKMONITOR_HOST": "127.0.0.1",
                                              "WERKMONITOR_PORT": str(self.port)})
        self.assertEqual((rc, out), (0, "PONG\n"))

    # -- ping, send, retract ---------------------------------------------------------------

    def test_ping(self):
        self.assertEqual(run(["ping"], self.port)[:2], (0, "PONG\n"))

    def test_send_ok_dup_err(self):
        args = self.ev("placed", employer="De Hoek & Zn 100%", months="12")
        rc, out, err = run(["send"] + args, self.port)
        self.assertEqual(rc, 0, err)
        m = re.fullmatch(r"OK (\d+)\n", out)
        self.assertTrue(m, out)
        rc, out2, _ = run(["send"] + args, self.port)
        self.assertEqual((rc, out2), (0, "DUP %s\n" % m.group(1)))
        # the value travelled escaped and decoded back to the same text: the same event
        # through raw, escaped by hand, is a DUP too
        line = "EVENT " + " ".join(a if not a.startswith("employer=") else
                                   "employer=" + wmtest.escape(a[9:]) for a in args)
        rc, out3, _ = run(["raw"], self.port, input=line + "\n")
        self.assertEqual(out3, "DUP %s\n" % m.group(1))
        rc, out, err = run(["send"] + self.ev(date="2001-02-30"), self.port)
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assertTrue(err.startswith("ERR invalid "), err)

    def test_send_refuses_bsn_like_person(self):
        before = self.count_started()
        rc, out, err = run(["send"] + self.ev(person=VALID_BSN), self.port)
        self.assertEqual(rc, 1)
        self.assertIn("looks like a BSN", err)
        self.assertNotIn(VALID_BSN, err)
        self.assertEqual(self.count_started(), before)

    def test_send_with_bsn(self):
        key = os.urandom(40)
        path = self.key_file(key)
        args = self.ev()
        del args[2]  # person
        rc, out, err = run(["send"] + args + ["--bsn", VALID_BSN, "--pseudo-key", path], self.port)
        self.assertEqual(rc, 0, err)
        seq = out.split()[1]
        # the server got the HMAC, not the BSN: the same event with that person is a DUP
        line = "EVENT " + " ".join(args) + " person=" + pseudonym(key, VALID_BSN)
        self.assertEqual(run(["raw"], self.port, input=line + "\n")[1], "DUP %s\n" % seq)
        # bsn= works like --bsn
        rc, out, err = run(["send"] + args + ["bsn=" + VALID_BSN, "--pseudo-key", path], self.port)
        self.assertEqual((rc, out), (0, "DUP %s\n" % seq))
        rc, out, err = run(["send"] + self.ev()[:2] + ["--bsn", INVALID_BSN, "--pseudo-key", path],
                           self.port)
        self.assertEqual(rc, 1)
        self.assertIn("eleven-test", err)
        rc, out, err = run(["send"] + args + ["--bsn", VALID_BSN], self.port)
        self.assertEqual(rc, 64)
        self.assertIn("--pseudo-key", err)
        rc, out, err = run(["send"] + args + ["--bsn", VALID_BSN, "--pseudo-key",
                                              self.key_file(mode=0o644)], self.port)
        self.assertEqual(rc, 2)
        self.assertIn("accessible by group or others", err)
        for data in (b"x" * 31, b""):
            rc, out, err = run(["send"] + args + ["--bsn", VALID_BSN, "--pseudo-key",
                                                  self.key_file(data)], self.port)
            self.assertEqual(rc, 2)
            self.assertIn("too short", err)
        stats = run(["raw"], self.port, input="STATS\n")[1]
        self.assertNotIn(VALID_BSN, stats)
        self.assertNotIn(VALID_BSN, self.server.stderr())

    def test_retract(self):
        args = self.ev()
        id_ = args[1].split("=")[1]
        before = self.count_started()
        self.assertEqual(run(["send"] + args, self.port)[0], 0)
        self.assertEqual(self.count_started(), before + 1)
        rid = uid()
        rc, out, err = run(["retract", "id=" + rid, "ref=" + id_, "reason=wrong person"], self.port)
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"^OK \d+\n$")
        self.assertEqual(self.count_started(), before)
        rc, out, err = run(["retract", "id=" + uid(), "ref=" + id_], self.port)
        self.assertEqual(rc, 1)
        self.assertTrue(err.startswith("ERR conflict"), err)

    # -- raw -------------------------------------------------------------------------------

    def test_raw_pipelined(self):
        n = 3000
        lines = ["EVENT " + " ".join(self.ev(person="p-raw-%06d" % i)) for i in range(n)]
        data = "PING\n\n   \r\n" + "\n".join(lines) + "\nCOUNT started project=%s\nbogus\nPING" % PROJ
        rc, out, err = run(["raw"], self.port, input=data)
        self.assertEqual(rc, 1, err)  # 'bogus' is an ERR
        got = out.split("\n")
        self.assertEqual(got[0], "PONG")
        self.assertTrue(all(re.fullmatch(r"OK \d+", l) for l in got[1:n + 1]), got[1:5])
        self.assertTrue(got[n + 1].startswith("ROW count="))
        self.assertEqual(got[n + 2], "END 1")
        self.assertTrue(got[n + 3].startswith("ERR unknown-command"))
        self.assertEqual(got[n + 4:], ["PONG", ""])

    def test_raw_quit_and_exit_codes(self):
        rc, out, err = run(["raw"], self.port, input="PING\nQUIT\nPING\n")
        self.assertEqual((rc, out), (0, "PONG\nOK bye\n"))
        rc, out, err = run(["raw"], self.port, input="")
        self.assertEqual((rc, out), (0, ""))

    # -- tables ----------------------------------------------------------------------------

    def test_count_formats(self):
        for i, g in enumerate(("huizen", "laren", "laren")):
            self.assertEqual(run(["send"] + self.ev(gemeente=g, person="p-fmt-%06d" % i,
                                                    project=PROJ_LOCAL), self.port)[0], 0)
        args = ["count", "started", "by=gemeente", "project=" + PROJ_LOCAL]
        rc, out, err = run(args, self.port)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, "gemeente  count\nhuizen        1\nlaren         2\n")
        rc, out, err = run(args + ["--format", "csv"], self.port)
        self.assertEqual(out, "gemeente,count\r\nhuizen,1\r\nlaren,2\r\n")
        rc, out, err = run(args + ["--format", "json"], self.port)
        self.assertEqual(json.loads(out), [{"gemeente": "huizen", "count": 1}, {"gemeente": "laren", "count": 2}])
        rc, out, err = run(args + ["--format", "table"], self.port)
        self.assertTrue(out.startswith("gemeente  count\n"))
        rc, out, err = run(["count", "started", "by=nonsense"], self.port)
        self.assertEqual(rc, 1)
        self.assertTrue(err.startswith("ERR invalid"))

    def test_projects_formats_decode_escapes(self):
        rc, out, err = run(["projects", "--format", "json"], self.port)
        self.assertEqual(rc, 0, err)
        rows = {r["project"]: r for r in json.loads(out)}
        p = rows[PROJ]
        self.assertEqual(p["title"], "Zorg Start \u00e9")
        self.assertEqual(p["target.started"], 10)
        self.assertIsNone(rows[PROJ_LOCAL]["start"])
        self.assertIn("*", rows)
        rc, out, err = run(["projects", "--format", "csv"], self.port)
        recs = list(csv.DictReader(io.StringIO(out, newline="")))
        self.assertEqual([r for r in recs if r["project"] == PROJ][0]["title"], "Zorg Start \u00e9")
        rc, out, err = run(["projects"], self.port)
        header = out.split("\n")[0]
        self.assertTrue(header.startswith("project"), header)
        self.assertIn("Zorg Start \u00e9", out)
        # columns line up: every line has "scope" values starting at the same offset
        col = header.index("scope")
        for line in out.strip("\n").split("\n")[1:]:
            self.assertIn(line[col:col + 8].strip(), ("regional", "local", "-"), line)

    def test_progress_formats_and_colour(self):
        rc, out, err = run(["progress", "project=" + PROJ, "asof=2021-12-31", "--format", "json"], self.port)
        self.assertEqual(rc, 0, err)
        rows = json.loads(out)
        mine = [r for r in rows if r["project"] == PROJ]
        self.assertEqual([r["indicator"] for r in mine], ["started", "completed", "placed"])
        for r in mine:
            self.assertIsInstance(r["actual"], int)
            self.assertIsInstance(r["target"], int)
            self.assertIn(r["status"], ("green", "orange", "red"))
        rc, out = run_tty(["progress", "project=" + PROJ, "asof=2021-12-31"], self.port)
        self.assertEqual(rc, 0)
        self.assertRegex(out, "\x1b\\[3[123]m(green|orange|red)\x1b\\[0m")
        rc, out, err = run(["progress", "project=" + PROJ, "asof=2021-12-31"], self.port)
        self.assertNotIn("\x1b", out)
        rc, out, err = run(["progress", "asof=2021-13-01"], self.port)
        self.assertEqual(rc, 1)

    def test_progress_fields_as_options(self):
        """progress --asof DATE (a user tripped over it, issue 12) is asof=DATE; so are
        --project, --category and --gemeente."""
        as_words = run(["progress", "project=" + PROJ, "asof=2021-06-30", "--format", "json"],
                       self.port)
        as_opts = run(["progress", "--project", PROJ, "--asof", "2021-06-30", "--format", "json"],
                      self.port)
        self.assertEqual(as_words[0], 0, as_words[2])
        self.assertEqual(as_opts, as_words)
        later = run(["progress", "--project=" + PROJ, "--asof=2021-12-31", "--format", "json"],
                    self.port)
        self.assertNotEqual(json.loads(later[1]), json.loads(as_words[1]))
        self.assertEqual(later, run(["progress", "project=" + PROJ, "asof=2021-12-31",
                                     "--format", "json"], self.port))
        rc, out, err = run(["progress", "--asof", "2021-13-01"], self.port)
        self.assertEqual(rc, 1)
        self.assertIn("asof", out + err)
        rc, out, err = run(["progress", "--asof"], self.port)
        self.assertEqual(rc, 64)

    def test_stats(self):
        rc, out, err = run(["stats", "--format", "json"], self.port)
        self.assertEqual(rc, 0, err)
        stats = {r["stat"]: r["value"] for r in json.loads(out)}
        for name in ("version", "uptime_s", "connections", "events", "commits", "db_bytes"):
            self.assertIn(name, stats)
        self.assertIsInstance(stats["events"], int)

    def count_started(self):
        rc, out, err = run(["count", "started", "project=" + PROJ, "--format", "csv"], self.port)
        self.assertEqual(rc, 0, err)
        return int(out.split("\r\n")[1])

    # -- keys and pseudonyms ---------------------------------------------------------------

    def test_keygen_and_pseudonym(self):
        path = os.path.join(self.tmp, uid("kg"))
        rc, out, err = run(["keygen", path], None)
        self.assertEqual(rc, 0, err)
        st = os.stat(path)
        self.assertEqual((st.st_mode & 0o777, st.st_size), (0o600, 32))
        with open(path, "rb") as f:
            key = f.read()
        rc, out, err = run(["keygen", path], None)
        self.assertEqual(rc, 1)
        self.assertIn("refusing to overwrite", err)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), key)
        rc, out, err = run(["pseudonym", "--pseudo-key", path, VALID_BSN], None)
        self.assertEqual((rc, out), (0, pseudonym(key, VALID_BSN) + "\n"))
        for bad in (INVALID_BSN, "000000000", "12345678", "1234567890", "11122233a"):
            rc, out, err = run(["pseudonym", "--pseudo-key", path, bad], None)
            self.assertEqual(rc, 1, bad)
            self.assertIn("refused", err)
            self.assertEqual(out, "")
        rc, out, err = run(["pseudonym", "--pseudo-key", path, "-"], None,
                           input="%s\n%s\n%s\n" % (VALID_BSN, INVALID_BSN, "123456782"))
        self.assertEqual(rc, 1)
        self.assertEqual(out.split("\n"), [pseudonym(key, VALID_BSN), "", pseudonym(key, "123456782"), ""])
        self.assertIn("line 2", err)
        os.chmod(path, 0o640)
        rc, out, err = run(["pseudonym", "--pseudo-key", path, VALID_BSN], None)
        self.assertEqual(rc, 2)
        self.assertIn("chmod 600", err)

    # -- tokens ----------------------------------------------------------------------------

    def test_token_new_with_daemon(self):
        made = {}
        for name, role, extra in (("boss", "admin", []), ("huizen-w", "writer", ["gemeente=huizen"]),
                                  ("reader1", "reader", [])):
            rc, out, err = run(["token", "new", name, role] + extra, None)
            self.assertEqual(rc, 0, err)
            token, line = out.rstrip("\n").split("\n")
            self.assertRegex(token, r"^[0-9a-f]{64}$")
            self.assertEqual(line, " ".join([name, role] + extra + ["sha256:" + hashlib.sha256(token.encode()).hexdigest()]))
            made[name] = (token, line)
        self.assertEqual(run(["token", "new", "x", "king"], None)[0], 64)
        self.assertEqual(run(["token", "new", "x", "admin", "gemeente=huizen"], None)[0], 64)
        self.assertEqual(run(["token", "new", "x", "reader", "min-count=0"], None)[0], 64)
        rc, out, _ = run(["token", "new", "x", "reader", "gemeente=huizen", "round=5", "min-count=10"], None)
        self.assertEqual(rc, 0)
        self.assertRegex(out.splitlines()[1], r"^x reader gemeente=huizen min-count=10 round=5 sha256:[0-9a-f]{64}$")
        tokens = os.path.join(self.tmp, uid("tokens"))
        with open(tokens, "w") as f:
            f.write("\n".join(l for _, l in made.values()) + "\n")
        os.chmod(tokens, 0o600)  # the daemon refuses a token file others may read
        srv = self.own_server(["--tokens", tokens])
        port = srv.port
        rc, out, err = run(["projects"], port)
        self.assertEqual(rc, 1)
        self.assertTrue(err.startswith("ERR auth-required"), err)
        boss = made["boss"][0]
        rc, out, err = run(["--token", boss, "raw"], port, input="PROJECT tokproj category=test\n")
        self.assertEqual((rc, out), (0, "OK\n"), err)
        ev = ["started", "id=t1", "person=p-token-0001", "date=2021-06-01", "project=tokproj"]
        wfile = os.path.join(self.tmp, uid("wtoken"))
        with open(wfile, "w") as f:
            f.write(made["huizen-w"][0] + "\n")
        rc, out, err = run(["--token-file", wfile, "send"] + ev + ["gemeente=huizen"], port)
        self.assertEqual(rc, 0, err)
        rc, out, err = run(["send"] + ev + ["gemeente=laren", "--token-file", wfile], port)
        self.assertEqual(rc, 1)
        self.assertTrue(err.startswith("ERR denied"), err)
        env = {"WERKMONITOR_TOKEN": made["reader1"][0]}
        rc, out, err = run(["count", "started", "--format", "csv"], port, env=env)
        self.assertEqual((rc, out), (0, "count\r\n1\r\n"), err)
        rc, out, err = run(["send"] + ev + ["gemeente=huizen"], port, env=env)
        self.assertEqual(rc, 1)
        self.assertTrue(err.startswith("ERR denied"), err)
        rc, out, err = run(["--token", "nonsense", "ping"], port)
        self.assertEqual(rc, 2)
        self.assertIn("authentication failed at 127.0.0.1:%d: ERR auth-failed" % port, err)
        rc, out, err = run(["--token-file", os.path.join(self.tmp, "missing"), "ping"], port)
        self.assertEqual(rc, 64)
        self.assertIn("cannot read token file", err)

    # -- TLS -------------------------------------------------------------------------------

    def test_tls(self):
        files = wmtest.make_certificates(self.tmpdir("wm-client-tls-"), names=("localhost",))
        tls_port = wmtest.free_port()
        srv = self.own_server(["--tls-listen", "127.0.0.1:%d" % tls_port, "--tls-cert", files["server.pem"],
                               "--tls-key", files["server.key"]])
        ca = files["ca.pem"]
        rc, out, err = run(["--host", "localhost", "--tls", "--ca", ca, "ping"], tls_port)
        self.assertEqual((rc, out), (0, "PONG\n"), err)
        rc, out, err = run(["--host", "localhost", "--tls", "--ca", ca, "send"] + self.ev(project="-"),
                           tls_port)
        self.assertEqual(rc, 1)  # an ERR from the server travelled back over TLS
        rc, out, err = run(["--host", "localhost", "--tls", "ping"], tls_port)
        self.assertEqual(rc, 2)
        self.assertIn("certificate verification failed", err)
        rc, out, err = run(["--host", "localhost", "--tls", "--ca", files["other.pem"], "ping"],
                           tls_port)
        self.assertEqual(rc, 2)
        # the right CA but the wrong name: 127.0.0.1 is not in the certificate
        rc, out, err = run(["--host", "127.0.0.1", "--tls", "--ca", ca, "ping"], tls_port)
        self.assertEqual(rc, 2)
        self.assertIn("verification failed", err)
        rc, out, err = run(["--host", "localhost", "--tls", "--ca", ca, "ping"], srv.port)
        self.assertEqual(rc, 2)
        self.assertIn("TLS handshake failed", err)
        rc, out, err = run(["--host", "localhost", "ping"], tls_port)
        self.assertEqual(rc, 2)


if __name__ == "__main__":
    unittest.main()
