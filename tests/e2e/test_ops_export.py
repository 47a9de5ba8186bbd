"""werkmonitord export and restore: the NDJSON export holds every event, retraction and
registry entry with principal and seq, taken while the daemon runs and writes; a store
restored from it answers every COUNT, PROGRESS and PROJECTS identically, keeps every seq
(a re-sent event is a DUP of its old seq; REPLACE's versions come back by REPLACE) and
exports to the same lines; the CSV export is one table without person values unless
asked, and PostgreSQL's GROUP BY over it (the SQL werkmonitord prints, on a private
cluster) gives COUNT's answers."""

import csv
import importlib.machinery
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import unittest

import opstest
import wmtest

CSV_COLUMNS = ("seq,received,principal,id,type,date,year,quarter,month,gemeente,project,"
               "category,scope,kind,doelgroep,benefit,result,sector,contract,durable,reason,"
               "months,hours,employer,placed_by").split(",")


NOTES = [
    "NOTE period=2021-H2 light=green text=De%20programma's%20liggen%20op%20koers.",
    "NOTE period=2021-H2 project=taaltrajecten light=orange text=Loopt%20achter.",
    "NOTE period=2021-H2 project=taaltrajecten text=Eerste%20regel%0A%0A-%20**punt**%20%C3%A9%C3%A9n",
    "NOTE period=2022-H1 category=scholingsprojecten light=red text=Achterstand.",
]
# (period, category, project, version, light, text) of each exported note, in order
NOTES_EXPORTED = [
    ("2021-H2", None, None, 1, "green", "De programma's liggen op koers."),
    ("2021-H2", None, "taaltrajecten", 1, "orange", "Loopt achter."),
    ("2021-H2", None, "taaltrajecten", 2, "orange", "Eerste regel\n\n- **punt** \u00e9\u00e9n"),
    ("2022-H1", "scholingsprojecten", None, 1, "red", "Achterstand."),
]


def without_note(lines, project, version):
    """The export's lines without that version of the project's note, the end line
    counting one line less."""
    def dropped(line):
        r = json.loads(line)
        return r["record"] == "note" and r.get("project") == project and r["version"] == version
    kept = [l for l in lines[:-1] if not dropped(l)]
    end = json.loads(lines[-1])
    end["lines"] = len(kept)
    return "\n".join(kept + [json.dumps(end)]) + "\n"


def read_ndjson(text):
    return [json.loads(l) for l in text.splitlines()]


class ExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if wmtest.TEST_ADDR:
            raise unittest.SkipTest("needs a daemon of its own (WM_TEST_ADDR is set)")
        cls.tmp = tempfile.mkdtemp(prefix="wm-export-")
        cls.srv = wmtest.Server(["--audit-log", "none"]).start()
        cls.lines = opstest.workload(11, 800, tag="ex")
        with cls.srv.connect() as c:
            opstest.setup_registry(c)
            cls.acks = opstest.send_all(c, cls.lines)
            # an admin's retraction by seq, of an early event nobody retracted
            refs = {t[4:] for l in cls.lines if l.startswith("RETRACT") for t in l.split()
                    if t.startswith("ref=")}
            cls.byseq = min(k for k in range(1, 11) if "ex-%06d" % (k - 1) not in refs)
            cls.lines.append("RETRACT id=ex-byseq seq=%d reason=fout%%20gemeld" % cls.byseq)
            cls.acks.append(c.cmd(cls.lines[-1]))
            # notes: versions of one key (the second keeps the first's light), a line
            # break and UTF-8 in a text, a category's
            cls.note_acks = [c.cmd(l) for l in NOTES]
            cls.answers = opstest.answers(c)
            cls.stats = opstest.stats(c)

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def export(self, *args, check=0):
        return opstest.ops("export", "--data", self.srv.data_dir, *args, check=check)

    def test_ndjson_holds_every_record_and_the_registry(self):
        recs = read_ndjson(self.export().stdout)
        head, end = recs[0], recs[-1]
        self.assertEqual(head["record"], "header")
        self.assertEqual(head["format"], "werkmonitor-export")
        self.assertEqual((head["version"], head["schema"]), (1, 4))
        self.assertEqual(end, {"record": "end", "last_seq": head["last_seq"], "lines": len(recs) - 1})
        kinds = [r["record"] for r in recs]
        self.assertEqual(kinds.count("program"), 1)
        projects = [r for r in recs if r["record"] == "project"]
        self.assertEqual([p["id"] for p in projects], list(range(1, 29)))
        self.assertEqual(projects[-1]["name"], opstest.LOCAL_PROJECT)
        self.assertEqual(projects[-1]["scope"], "local")
        self.assertEqual(sorted(r["name"] for r in recs if r["record"] == "gemeente"),
                         wmtest.DEFAULT_GEMEENTEN)
        records = [r for r in recs if r["record"] in ("event", "retract")]
        self.assertEqual([r["seq"] for r in records], list(range(1, head["last_seq"] + 1)))
        self.assertEqual(len(records), len(self.lines))
        events = [r for r in records if r["record"] == "event"]
        self.assertEqual(len(events), int(self.stats["events"]))
        self.assertEqual(head["events"], len(events))
        for r in records:
            self.assertEqual(r["principal"], "local")
            self.assertIsInstance(r["recv_time"], int)
        # every acknowledged line is there under its seq, with its values
        by_seq = {r["seq"]: r for r in records}
        for line, ack in zip(self.lines, self.acks):
            r = by_seq[opstest.parse_ack(ack)]
            fields = dict(t.split("=", 1) for t in line.split()[1:] if "=" in t)
            self.assertEqual(r["id"], fields["id"])
            if r["record"] == "event":
                self.assertEqual(r["type"], line.split()[1])
                self.assertEqual((r["person"], r["date"]), (fields["person"], fields["date"]))
        retracted = {r["ref_seq"]: r["seq"] for r in records if r["record"] == "retract"}
        self.assertEqual(len(retracted), int(self.stats["retracted"]))
        self.assertEqual(by_seq[retracted[self.byseq]]["by_seq"], True)
        self.assertNotIn("ref", by_seq[retracted[self.byseq]])
        for e in events:
            self.assertEqual(e.get("retracted_by"), retracted.get(e["seq"]))
        # every version of every note, after the records, with principal and time
        self.assertEqual(self.note_acks, ["OK 1", "OK 1", "OK 2", "OK 1"])
        notes = [r for r in recs if r["record"] == "note"]
        self.assertEqual(kinds[-len(notes) - 1:-1], ["note"] * len(notes))
        self.assertEqual([(n["period"], n.get("category"), n.get("project"), n["version"],
                           n["light"], n["text"]) for n in notes], NOTES_EXPORTED)
        for n in notes:
            self.assertEqual(n["principal"], "local")
            self.assertIsInstance(n["at"], int)

    def test_export_while_writes_go_on(self):
        # a daemon of its own: the class's store must stay as setUpClass left it
        srv = wmtest.Server(["--audit-log", "none"]).start()
        self.addCleanup(srv.cleanup)
        with srv.connect() as c:
            opstest.setup_registry(c)
            opstest.send_all(c, opstest.workload(12, 300, tag="exl"))
        stop = threading.Event()
        errors = []

        def writer():
            try:
                with srv.connect() as c:
                    i = 0
                    while not stop.is_set():
                        opstest.send_all(c, opstest.workload(100 + i, 30, tag="exw%d" % i))
                        i += 1
            except Exception as e:  # reported below: the thread must not fail quietly
                errors.append(e)

        t = threading.Thread(target=writer)
        t.start()
        try:
            out = os.path.join(self.tmp, "live.ndjson")
            opstest.ops("export", "--data", srv.data_dir, "--output", out, check=0)
        finally:
            stop.set()
            t.join()
        self.assertEqual(errors, [])
        with open(out) as f:
            recs = read_ndjson(f.read())
        seqs = [r["seq"] for r in recs if r["record"] in ("event", "retract")]
        self.assertEqual(seqs, list(range(1, recs[0]["last_seq"] + 1)))
        self.assertGreater(len(seqs), 300)
        self.assertEqual(recs[-1]["record"], "end")
        # the snapshot restores and verifies
        d = os.path.join(self.tmp, "from-live")
        opstest.ops("restore", "--data", d, "--input", out, check=0)
        opstest.verify_ok(self, d)

    def test_restore_answers_identically_and_keeps_seqs(self):
        # a store of its own, so that nothing writes to it meanwhile
        src = os.path.join(self.tmp, "src")
        opstest.ops("backup", "--data", self.srv.data_dir, "--to", src, check=0)
        exported = opstest.ops("export", "--data", src, check=0).stdout
        new = os.path.join(self.tmp, "restored")
        p = opstest.ops("restore", "--data", new, input=exported, check=0)
        self.assertRegex(p.stdout, r"restore: .*: through seq %d: \d+ events, \d+ retractions, 28 "
                                   r"projects, 8 gemeenten" % len(self.lines))
        opstest.verify_ok(self, new)
        # the same lines again, but for the export's time
        again = opstest.ops("export", "--data", new, check=0).stdout.splitlines()
        self.assertEqual(again[1:], exported.splitlines()[1:])
        srv = wmtest.Server(["--audit-log", "none"], data_dir=new).start()
        self.addCleanup(srv.cleanup)
        orig = wmtest.Server(["--audit-log", "none"], data_dir=src).start()
        self.addCleanup(orig.cleanup)
        with srv.connect() as c, orig.connect() as o:
            self.assertEqual(opstest.answers(c), opstest.answers(o))
            for k in ("events", "retracted"):
                self.assertEqual(opstest.stats(c)[k], opstest.stats(o)[k])
            # every event and retraction is a DUP of its old seq, but a retracted event's
            # re-send, the same conflict as from the original store
            replies = c.pipeline(self.lines, timeout=120)
            self.assertEqual(replies, o.pipeline(self.lines, timeout=120))
            dups = [(a, r) for a, r in zip(self.acks, replies) if not r.startswith("ERR conflict")]
            self.assertGreater(len(dups), len(self.acks) * 3 // 4)
            self.assertEqual([a.replace("OK", "DUP") for a, _ in dups], [r for _, r in dups])
            # the notes: their versions, lights, principals and times
            self.assertEqual(c.pipeline(["NOTES"]), o.pipeline(["NOTES"]))
            self.assertEqual(len(c.rows("NOTES")), 3)

    def test_replaced_versions_restore_as_replace(self):
        # REPLACE of live events (a retraction record, then the new version) and of
        # retracted ones (the new version alone): the export names both ends of each,
        # restore sends REPLACE again and every record gets its old seq back
        srv = wmtest.Server(["--audit-log", "none"]).start()
        self.addCleanup(srv.cleanup)
        with srv.connect() as c:
            opstest.setup_registry(c)
            opstest.send_all(c, opstest.workload(3, 300, tag="rp"))
            again = [l for l in opstest.workload(4, 300, tag="rp") if l.startswith("EVENT ")]
            replies = [c.cmd("REPLACE " + l[len("EVENT "):]) for l in again[:40]]
            self.assertTrue(any("replaced=" in r for r in replies), replies)
            answers = opstest.answers(c)
        srv.stop()
        exported = opstest.ops("export", "--data", srv.data_dir, check=0).stdout
        recs = read_ndjson(exported)
        by = [r for r in recs if r.get("replaced_by")]
        self.assertTrue(by)
        seqs = {r["seq"]: r for r in recs if r["record"] == "event"}
        for r in by:
            self.assertEqual(seqs[r["replaced_by"]]["replaces"], r["ref_seq"])
        new = os.path.join(self.tmp, "replaced")
        p = opstest.ops("restore", "--data", new, input=exported, check=0)
        self.assertIn("through seq %d:" % recs[0]["last_seq"], p.stdout)
        opstest.verify_ok(self, new)
        again = opstest.ops("export", "--data", new, check=0).stdout.splitlines()
        self.assertEqual(again[1:], exported.splitlines()[1:])
        restored = wmtest.Server(["--audit-log", "none"], data_dir=new).start()
        self.addCleanup(restored.cleanup)
        with restored.connect() as c:
            self.assertEqual(opstest.answers(c), answers)

    def test_restore_refuses_an_export_cut_after_a_replace_retraction(self):
        # regression: restore holds a REPLACE's retraction back for the version after it;
        # an export cut right after that retraction, with an end line that agrees, was
        # restored "through" the retraction's seq without it
        srv = wmtest.Server(["--audit-log", "none"]).start()
        self.addCleanup(srv.cleanup)
        with srv.connect() as c:
            opstest.setup_registry(c)
            event = [l for l in opstest.workload(5, 20, tag="cut") if l.startswith("EVENT ")][0]
            self.assertTrue(c.cmd(event).startswith("OK "))
            day = re.search(r"date=\d{4}-\d{2}-(\d{2})", event).group(1)
            other = event.replace("-%s " % day, "-%s " % ("27" if day == "28" else "28"), 1)
            reply = c.cmd("REPLACE " + other[len("EVENT "):])
            self.assertIn("replaced=", reply)
        srv.stop()
        lines = opstest.ops("export", "--data", srv.data_dir, check=0).stdout.splitlines()
        cut = [i for i, l in enumerate(lines) if json.loads(l).get("replaced_by")]
        self.assertEqual(len(cut), 1)
        retraction = json.loads(lines[cut[0]])
        kept = lines[:cut[0] + 1]
        end = json.loads(lines[-1])
        end["lines"], end["last_seq"] = len(kept), retraction["seq"]
        d = os.path.join(self.tmp, "cut")
        p = opstest.ops("restore", "--data", d, input="\n".join(kept + [json.dumps(end)]) + "\n",
                        check=1)
        self.assertIn("seq %d: no version that replaces the one retracted at seq %d"
                      % (retraction["seq"] + 1, retraction["seq"]), p.stderr)
        self.assertFalse(os.path.exists(d))

    def test_restore_refusals(self):
        exported = self.export().stdout
        lines = exported.splitlines()
        d = os.path.join(self.tmp, "refused")
        cases = [
            ("\n".join(lines[:-1]) + "\n", "the export ends without its end line: it was cut off"),
            ("\n".join(lines[:3] + ["{not json"] + lines[3:]), "stdin:4: not JSON"),
            (lines[0] + "\n" + lines[0], "stdin:2: a header line must be the first line, once"),
            (exported.replace('"gemeente":"laren"', '"gemeente":"amsterdam"', 1),
             "seq 4: gemeente: unknown value 'amsterdam'"),
            (exported.replace('"seq":5,', '"seq":6,', 1), "seq 6 after seq 4"),
            (exported.replace('"format":"werkmonitor-export"', '"format":"x"'),
             "stdin:1: not a werkmonitor export"),
            # a note's first version left out (the end line counting one line less):
            # the second would become version 1
            (without_note(lines, "taaltrajecten", 1), "note version 2: stored as note version 1"),
            (exported.replace('"light":"red"', '"light":"rood"'), "note: light"),
        ]
        for text, msg in cases:
            p = opstest.ops("restore", "--data", d, input=text, check=1)
            self.assertIn(msg, p.stderr)
            # a failed restore leaves nothing behind
            self.assertFalse(os.path.exists(d), msg)
        p = opstest.ops("restore", "--data", self.srv.data_dir, input=exported, check=1)
        self.assertIn("already holds a store", p.stderr)

    def test_csv_is_one_table_without_person_values(self):
        text = self.export("--format", "csv").stdout
        rows = list(csv.reader(io.StringIO(text)))
        self.assertEqual(rows[0], CSV_COLUMNS)
        live = int(self.stats["events"]) - int(self.stats["retracted"])
        self.assertEqual(len(rows) - 1, live)
        self.assertNotIn("pseudo-ex-", text)
        recs = {r["seq"]: r for r in read_ndjson(self.export().stdout) if r["record"] == "event"}
        for row in rows[1:]:
            r = dict(zip(CSV_COLUMNS, row))
            e = recs[int(r["seq"])]
            self.assertNotIn("retracted_by", e)
            self.assertEqual((r["type"], r["id"], r["date"], r["gemeente"]),
                             (e["type"], e["id"], e["date"], e["gemeente"]))
            self.assertEqual(r["employer"], e.get("employer", ""))
            self.assertEqual(r["placed_by"], e.get("by", ""))
            self.assertEqual(r["quarter"], "%s-Q%d" % (e["date"][:4], (int(e["date"][5:7]) + 2) // 3))
        self.assertTrue(any('"Zorg ""Noord"", B.V."' in l for l in text.splitlines()))
        with_p = list(csv.reader(io.StringIO(self.export("--format", "csv",
                                                         "--with-pseudonyms").stdout)))
        self.assertEqual(with_p[0], CSV_COLUMNS + ["person"])
        self.assertTrue(all(r[-1].startswith("pseudo-ex-") for r in with_p[1:]))

    def test_usage_and_schemas(self):
        p = opstest.ops("export", "--help", check=0)
        for opt in ("--format ndjson|csv", "--with-pseudonyms", "--output FILE", "--schema",
                    "--table NAME"):
            self.assertIn(opt, p.stdout)
        self.assertIn("--input FILE", opstest.ops("restore", "--help", check=0).stdout)
        self.assertIn("give the store", opstest.ops("export", check=2).stderr)
        self.assertIn("--format: want ndjson or csv",
                      self.export("--format", "xml", check=2).stderr)
        self.assertIn("--with-pseudonyms is for --format csv",
                      self.export("--with-pseudonyms", check=2).stderr)
        ch = opstest.ops("export", "--schema", "clickhouse", "--table", "wm_oost", check=0).stdout
        self.assertIn("CREATE TABLE wm_oost (", ch)
        self.assertIn("ENGINE = MergeTree", ch)
        self.assertIn('INSERT INTO wm_oost FORMAT CSVWithNames', ch)
        self.assertNotIn("person", ch)
        self.assertIn("--table: want [a-z0-9_]",
                      opstest.ops("export", "--schema", "postgresql", "--table", "x;drop",
                                  check=2).stderr)


def load_vs_postgres():
    """tests/bench/vs_postgres's PostgreSQL helper (a throwaway cluster made with initdb
    in a temp dir, on a loopback port), with settings for a small test cluster."""
    path = os.path.join(wmtest.SOURCE_DIR, "tests", "bench", "vs_postgres")
    loader = importlib.machinery.SourceFileLoader("vs_postgres", path)
    mod = importlib.util.module_from_spec(importlib.util.spec_from_loader("vs_postgres", loader))
    loader.exec_module(mod)
    mod.PG_SETTINGS = {"fsync": "off", "shared_buffers": "16MB", "max_connections": "5"}
    return mod


class PostgresTest(unittest.TestCase):
    """The CSV export loaded into PostgreSQL with the SQL werkmonitord prints: GROUP BY
    answers equal COUNT's."""

    def test_group_by_equals_count(self):
        wmtest.need_own_daemon(self)
        vsp = load_vs_postgres()
        try:
            vsp.Postgres.find_bin()
        except RuntimeError as e:
            self.fail("%s: scripts/deps.sh installs postgresql-15" % e)
        tmp = tempfile.mkdtemp(prefix="wm-export-pg-")
        self.addCleanup(shutil.rmtree, tmp, True)
        os.chmod(tmp, 0o755)  # the postgres user needs to reach its directory
        srv = wmtest.Server(["--audit-log", "none"]).start()
        self.addCleanup(srv.cleanup)
        with srv.connect() as c:
            opstest.setup_registry(c)
            opstest.send_all(c, opstest.workload(21, 1500, tag="pg"))
        schema = os.path.join(tmp, "schema.sql")
        events = os.path.join(tmp, "events.csv")
        with open(schema, "w") as f:
            f.write(opstest.ops("export", "--schema", "postgresql", "--with-pseudonyms",
                                check=0).stdout)
        opstest.ops("export", "--data", srv.data_dir, "--format", "csv", "--with-pseudonyms",
                    "--output", events, check=0)
        pg = vsp.Postgres(tmp, wmtest.free_port())
        pg.init()
        pg.start()
        self.addCleanup(pg.stop)
        with open(events) as f:
            r = subprocess.run([os.path.join(pg.bin, "psql"), "-X", "-q", "-h", "127.0.0.1", "-p",
                                str(pg.port), "-U", "postgres", "-d", "postgres", "-v",
                                "ON_ERROR_STOP=1", "-f", schema], stdin=f, capture_output=True,
                               text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)

        def group_by(sql_cols, where, distinct=False):
            cols = ", ".join("coalesce(%s::text, '-')" % c for c in sql_cols)
            what = "count(DISTINCT person)" if distinct else "count(*)"
            sql = "SELECT %s%s%s FROM werkmonitor_events WHERE %s" % (
                cols, ", " if cols else "", what, where)
            if cols:
                sql += " GROUP BY %s ORDER BY %s" % (cols, cols)
            return [tuple(l.split("|")) for l in pg.psql(sql).splitlines()]

        cases = [
            ("placed", [], "", False),
            ("placed", ["project", "gemeente"], "", False),
            ("started", ["kind", "doelgroep", "benefit"], "", False),
            ("completed", ["result", "quarter"], "", False),
            ("placed", ["sector", "durable"], "from=2021-03-15 to=2022-08-20", False),
            ("outflow", ["project", "category", "scope"], "", False),
            ("outflow", ["benefit", "reason", "month"], "from=2022-01-01 to=2022-12-31", False),
            ("placed", ["project"], "", True),
            ("started", ["year"], "from=2021-02-01 to=2022-11-30", True),
            ("completed", ["gemeente"], "result=diploma,certificaat", False),
        ]
        with srv.connect() as c:
            for typ, by, filt, distinct in cases:
                q = "COUNT %s%s%s%s" % (typ, " by=" + ",".join(by) if by else "",
                                        " " + filt if filt else "",
                                        " distinct=person" if distinct else "")
                rows = c.rows(q)
                want = [tuple(r[d] for d in by) + (r["count"],) for r in rows]
                where = "type = '%s'" % typ
                for f in filt.split():
                    k, v = f.split("=")
                    if k == "from":
                        where += " AND date >= '%s'" % v
                    elif k == "to":
                        where += " AND date <= '%s'" % v
                    else:
                        where += " AND %s IN (%s)" % (k, ",".join("'%s'" % x for x in v.split(",")))
                got = group_by(by, where, distinct)
                self.assertEqual(got, want, q)
                self.assertGreater(sum(int(w[-1]) for w in want), 0, q)


if __name__ == "__main__":
    unittest.main()
