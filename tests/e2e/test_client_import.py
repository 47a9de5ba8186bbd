"""werkmonitor import, watch and bench against the real daemon: RFC 4180 CSV
edge cases, ';' files with a byte-order mark and CRLF, NDJSON, bad rows (exit 1, rejects
with their line), a bsn column pseudonymised, an import killed halfway and re-run, a
daemon restarted during an import, WATCH pushes and the load generator."""

import csv
import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import time
import unittest

import wmtest
from wmtest import uid

CLIENT = wmtest.CLIENT
TIMEOUT = 120
HEADER = ["type", "id", "person", "gemeente", "date", "project", "sector", "months", "result",
          "benefit", "reason"]


def run(args, port, input=None):
    """Run the client with --port; returns (exit code, stdout, stderr)."""
    return wmtest.run_client(args, port, input=input, timeout=TIMEOUT)


def rows_for(project, n, prefix):
    """n valid rows over the four types, persons repeating."""
    out = []
    types = ("started", "completed", "placed", "outflow")
    for i in range(n):
        t = types[i % 4]
        r = dict(type=t, id="%s-%d" % (prefix, i), person="p-imp-%06d" % (i % 997),
                 gemeente="huizen", date="2021-%02d-%02d" % (i % 12 + 1, i % 28 + 1), project=project)
        if t == "placed":
            r.update(sector="zorg", months=str(i % 24))
        elif t == "completed":
            r["result"] = "diploma"
        elif t == "outflow":
            r.update(benefit="pw", reason="werk")
        out.append(r)
    return out


def to_csv(rows, delim=",", eol="\n", header=HEADER):
    lines = [delim.join(header)]
    for r in rows:
        lines.append(delim.join(r.get(h, "") for h in header))
    return eol.join(lines) + eol


class ImportTest(wmtest.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = cls.class_tmpdir("wm-import-")

    @property
    def port(self):
        return self.server.port

    def project(self):
        name = uid("imp")
        rc, out, err = run(["raw"], self.port, input="PROJECT %s category=import-test\n" % name)
        self.assertEqual((rc, out), (0, "OK\n"), err)
        return name

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        return path

    def total(self, project):
        """Events of every type counted for a project."""
        n = 0
        for t in ("started", "completed", "placed", "outflow"):
            rc, out, err = run(["count", t, "project=" + project, "--format", "json"], self.port)
            self.assertEqual(rc, 0, err)
            n += json.loads(out)[0]["count"]
        return n

    def summary(self, out):
        m = re.search(r"^stored (\d+), duplicates (\d+), rejected (\d+)$", out, re.M)
        self.assertTrue(m, out)
        return tuple(int(x) for x in m.groups())

    # -- CSV -------------------------------------------------------------------------------

    def test_csv_quoted_fields_and_line_numbers(self):
        p = self.project()
        data = ("type,id,person,gemeente,date,project,employer,sector\n"                         # 1
                'placed,q1,p-quote-001,huizen,2021-03-01,%s,"Bakkerij ""De Korst"", Huizen",zorg\n'  # 2
                'placed,q2,p-quote-002,huizen,2021-03-01,%s,"two\n'                              # 3
                'lines",zorg\n'                                                                  # 4
                "placed,q3,p-quote-003,huizen,2021-03-01,%s,,zorg\n"                             # 5
                "\n"                                                                             # 6
                "placed,q4,p-quote-004,huizen,2021-03-01,%s,x,nonsense\n"                        # 7
                'started,"q5",p-quote-005,huizen,2021-03-01,%s\n'                               # 8
                "placed,q6,p-quote-006,huizen,2021-03-01,%s,x,zorg,extra\n"                      # 9
                "placed,q7,p-quote-007,huizen,2021-03-01,%s,\"no newline at the end\",zorg"      # 10
                ) % ((p,) * 7)
        rejects = os.path.join(self.tmp, uid("rej"))
        rc, out, err = run(["import", "--rejects", rejects, self.write("q.csv", data)], self.port)
        self.assertEqual(rc, 1, err)
        self.assertEqual(self.summary(out), (5, 0, 2))
        with open(rejects, newline="") as f:
            rej = list(csv.reader(f))
        self.assertEqual(len(rej), 3, rej)
        self.assertEqual(rej[0][-2:], ["regel", "fout"])
        self.assertEqual(rej[1][:-2], ["placed", "q4", "p-quote-004", "huizen", "2021-03-01", p, "x",
                                       "nonsense"])
        self.assertEqual(rej[1][-2], "7")
        self.assertRegex(rej[1][-1], r"nonsense")
        self.assertEqual(rej[2][-2:], ["9", "row has 9 fields but the header names 8"])
        self.assertEqual(self.total(p), 5)
        # q2's line break inside its quoted cell folded to one space
        line = ("EVENT placed id=q2 person=p-quote-002 gemeente=huizen date=2021-03-01 project=%s "
                "employer=two%%20lines sector=zorg\n" % p)
        self.assertRegex(run(["raw"], self.port, input=line)[1], r"^DUP \d+\n$")
        # q1's employer arrived exactly: the same event typed by hand is a DUP
        line = ("EVENT placed id=q1 person=p-quote-001 gemeente=huizen date=2021-03-01 project=%s "
                "employer=%s sector=zorg\n" % (p, wmtest.escape('Bakkerij "De Korst", Huizen')))
        self.assertRegex(run(["raw"], self.port, input=line)[1], r"^DUP \d+\n$")
        # a re-run stores nothing new
        rc, out, err = run(["import", "--rejects", rejects, self.write("q.csv", data)], self.port)
        self.assertEqual(self.summary(out), (0, 5, 2))

    def test_semicolon_bom_crlf(self):
        p = self.project()
        rows = rows_for(p, 50, uid("semi"))
        data = to_csv(rows, delim=";", eol="\r\n").replace("type;id;", " Type ;ID;", 1)
        data = "\ufeff" + data + ";;;;;;;;;;\r\n"
        rc, out, err = run(["import", self.write("semi.csv", data)], self.port)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.summary(out), (50, 0, 0))
        self.assertEqual(self.total(p), 50)

    def test_stdin_and_comma_detection_with_semicolons_in_values(self):
        p = self.project()
        rows = rows_for(p, 20, uid("stdin"))
        data = to_csv(rows).replace("\n", ',"a;b;c;d;e;f;g;h;i;j;k;l"\n')
        data = data.replace(',"a;b;c;d;e;f;g;h;i;j;k;l"', ",employer", 1)
        rc, out, err = run(["import", "-"], self.port, input=data)
        self.assertEqual(rc, 1, err)  # employer on non-placed types is an unknown field
        stored, dups, rejected = self.summary(out)
        self.assertEqual((stored, rejected), (5, 15))
        self.assertRegex(err, r"(?m)^werkmonitor import: line 2: unknown field employer for started$")

    def test_header_problems_exit_2(self):
        rc, out, err = run(["import", self.write("nt.csv", "id,person\n1,p-abcdefgh\n")], self.port)
        self.assertEqual(rc, 2)
        self.assertIn("no 'type' column", err)
        rc, out, err = run(["import", os.path.join(self.tmp, "does-not-exist.csv")], self.port)
        self.assertEqual(rc, 2)
        self.assertIn("cannot open", err)
        rc, out, err = run(["import", self.write("e.csv", "")], self.port)
        self.assertEqual(rc, 2)
        rc, out, err = run(["import", self.write("ok.csv", to_csv(rows_for("x", 1, "x")))],
                           wmtest.free_port())
        self.assertEqual(rc, 2)
        self.assertIn("cannot connect", err)

    # -- NDJSON ----------------------------------------------------------------------------

    def test_ndjson(self):
        p = self.project()
        rows = rows_for(p, 30, uid("nd"))
        lines = []
        for r in rows:
            r = dict(r)
            if "months" in r:
                r["months"] = int(r["months"])  # numbers as JSON numbers
            r["result"] = r.get("result")       # null: absent
            lines.append(json.dumps(r))
        lines.insert(5, "")
        lines.insert(10, "{not json")
        lines.insert(12, json.dumps({"type": "started", "id": ["x"]}))
        data = "\n".join(lines) + "\n"
        rc, out, err = run(["import", self.write("e.ndjson", data)], self.port)
        self.assertEqual(rc, 1, err)
        self.assertEqual(self.summary(out), (30, 0, 2))
        self.assertRegex(err, r"(?m)^werkmonitor import: line 11: line is not a JSON object")
        self.assertRegex(err, r"(?m)^werkmonitor import: line 13: id must be a string or a number")
        rc, out, err = run(["import", "--format", "ndjson", "-"], self.port, input=data)
        self.assertEqual(self.summary(out), (0, 30, 2))
        self.assertEqual(self.total(p), 30)

    # -- BSN -------------------------------------------------------------------------------

    def test_bsn_column(self):
        wmtest.need_own_daemon(self)  # reads the daemon's data directory
        p = self.project()
        key = os.urandom(32)
        keyfile = self.write(uid("key"), key)
        os.chmod(keyfile, 0o600)
        bsns = ["111222333", "123456782", "111222334"]  # the last fails the eleven-test
        data = "type,id,bsn,gemeente,date,project\n" + "".join(
            "started,b%d,%s,huizen,2021-05-01,%s\n" % (i, b, p) for i, b in enumerate(bsns))
        path = self.write("bsn.csv", data)
        rc, out, err = run(["import", path], self.port)
        self.assertEqual(rc, 2)
        self.assertIn("--pseudo-key", err)
        self.assertEqual(self.total(p), 0)
        rc, out, err = run(["import", "--pseudo-key", keyfile, path], self.port)
        self.assertEqual(rc, 1, err)
        self.assertEqual(self.summary(out), (2, 0, 1))
        self.assertRegex(err, r"(?m)^werkmonitor import: line 4: bsn: .*eleven-test")
        for b in bsns:
            self.assertNotIn(b, err)
            self.assertNotIn(b, self.server.stderr())
        person = hmac.new(key, b"123456782", hashlib.sha256).hexdigest()
        line = "EVENT started id=b1 person=%s gemeente=huizen date=2021-05-01 project=%s\n" % (person, p)
        self.assertRegex(run(["raw"], self.port, input=line)[1], r"^DUP \d+\n$")
        # a person column that holds BSNs is refused before sending
        data = "type,id,person,gemeente,date,project\nstarted,bb,111222333,huizen,2021-05-01,%s\n" % p
        rc, out, err = run(["import", self.write("pb.csv", data)], self.port)
        self.assertEqual(rc, 1)
        self.assertIn("looks like a BSN", err)
        for root, _, files in os.walk(self.server.data_dir):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    blob = f.read()
                for b in bsns:
                    self.assertNotIn(b.encode(), blob)

    # -- interruptions ---------------------------------------------------------------------

    N_BIG = 40000

    def big_file(self, p):
        return self.write(uid("big") + ".csv", to_csv(rows_for(p, self.N_BIG, uid("big"))))

    def wait_for_some(self, p, proc, least=1):
        deadline = time.monotonic() + TIMEOUT
        while self.total(p) < least:
            self.assertIsNone(proc.poll(), "import ended too soon")
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)

    def test_killed_import_rerun_is_exact(self):
        p = self.project()
        path = self.big_file(p)
        proc = subprocess.Popen([CLIENT, "--port", str(self.port), "import", "--window", "500", path],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=wmtest.client_env())
        try:
            self.wait_for_some(p, proc)
        finally:
            proc.kill()
            proc.communicate()
        partial = self.total(p)
        self.assertLess(partial, self.N_BIG, "the import finished before it was killed")
        rc, out, err = run(["import", path], self.port)
        self.assertEqual(rc, 0, err)
        stored, dups, rejected = self.summary(out)
        self.assertEqual(rejected, 0)
        self.assertEqual(stored + dups, self.N_BIG)
        self.assertGreaterEqual(dups, partial)
        self.assertEqual(self.total(p), self.N_BIG)

    def test_daemon_restart_during_import(self):
        wmtest.need_own_daemon(self)
        p = self.project()
        path = self.big_file(p)
        proc = subprocess.Popen([CLIENT, "--port", str(self.port), "import", "--window", "1000", path],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=wmtest.client_env())
        try:
            self.wait_for_some(p, proc)
            # Hold the client still while the daemon restarts: on a busy machine the import
            # could otherwise finish between the poll and the restart and never need to
            # reconnect. Stopped, it still has rows to send, so it must reconnect to finish.
            os.kill(proc.pid, signal.SIGSTOP)
            try:
                # at most a window (1000) beyond what is stored has been sent
                self.assertLess(self.total(p), self.N_BIG - 1000, "the import was nearly done before the restart")
                self.server.restart()
            finally:
                os.kill(proc.pid, signal.SIGCONT)
            out, err = proc.communicate(timeout=TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        out, err = out.decode(), err.decode()
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn("reconnect", err)
        stored, dups, rejected = self.summary(out)
        self.assertEqual((stored + dups, rejected), (self.N_BIG, 0))
        self.assertEqual(self.total(p), self.N_BIG)

    # -- watch, bench ----------------------------------------------------------------------

    def test_watch_sees_another_connections_event(self):
        p = self.project()
        proc = subprocess.Popen([CLIENT, "--port", str(self.port), "watch", "--format", "json", "-n", "2"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=wmtest.client_env())
        try:
            first = json.loads(proc.stdout.readline())
            self.assertEqual(set(first), {"seq", "started", "completed", "placed", "placed.persons", "outflow"})
            rc, out, err = run(["send", "started", "id=" + uid(), "person=p-watch-0001", "gemeente=laren",
                                "date=2021-02-02", "project=" + p], self.port)
            self.assertEqual(rc, 0, err)
            second = json.loads(proc.stdout.readline())
            self.assertEqual(second["started"], first["started"] + 1)
            self.assertGreater(second["seq"], first["seq"])
            self.assertEqual(proc.wait(TIMEOUT), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
        rc, out, err = run(["watch", "-n", "1"], self.port)
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"^TOTAL seq=\d+ started=\d+ completed=\d+ placed=\d+ placed.persons=\d+ outflow=\d+\n$")

    def test_bench(self):
        def events():
            rc, out, err = run(["stats", "--format", "json"], self.port)
            return {r["stat"]: r["value"] for r in json.loads(out)}["events"]
        before = events()
        rc, out, err = run(["bench", "-c", "2", "-n", "2000", "-P", "32", "--seed", "5"], self.port)
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"^2000 acknowledged in [\d.]+ s \(2000 stored, 0 duplicates, 0 errors\)\n")
        self.assertRegex(out, r"durable events/s: [\d,]+")
        self.assertRegex(out, r"ack latency ms: p50 [\d.]+, p99 [\d.]+, max [\d.]+")
        self.assertEqual(events(), before + 2000)
        # the same seed again: new ids, so every event is stored again; projects exist now
        rc, out, err = run(["bench", "-c", "3", "-n", "301", "-P", "4", "--seed", "5", "--no-setup"], self.port)
        self.assertEqual(rc, 0, err)
        self.assertIn("(301 stored, 0 duplicates, 0 errors)", out)
        self.assertEqual(events(), before + 2301)


if __name__ == "__main__":
    unittest.main()
