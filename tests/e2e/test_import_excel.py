"""werkmonitor import against the real daemon with files made as Dutch Excel writes them,
built here from code so that every run sees the same bytes: ';' and TAB separators, a
byte-order mark, CRLF, Windows-1252, UTF-16, cells with line breaks, Dutch headers, extra
columns, dates day first, BSNs without their leading zero or turned into a number. Each
test asserts what is stored (COUNT) and what is said (exit status, summary, rejects
file); a rejects file is corrected and imported again."""

import codecs
import csv
import hashlib
import hmac
import io
import json
import os
import re
import unittest

import wmtest
from wmtest import uid

TIMEOUT = 120
SAMPLE_MAP = os.path.join(wmtest.SOURCE_DIR, "data", "import-map.example")
KEY = bytes(range(32))
DUTCH = ["Soort", "Kenmerk", "Persoon", "Gemeente", "Datum", "Project", "Sector", "Maanden",
         "Werkgever", "Resultaat", "Uitkering", "Reden"]


def excel_csv(header, rows, delim=";", encoding="utf-8-sig", eol="\r\n"):
    """The bytes Excel saves for a sheet: RFC 4180 quoting (a cell with a line break
    quoted, the break kept), rows ending in eol; encoding "utf-16" is Excel's "Unicode
    text" (UTF-16 LE after its byte-order mark), "utf-16-be" the same big-endian."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delim, lineterminator=eol, quoting=csv.QUOTE_MINIMAL)
    w.writerow(header)
    for r in rows:
        w.writerow(r)
    text = buf.getvalue()
    if encoding == "utf-16":
        return codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    if encoding == "utf-16-be":
        return codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    return text.encode(encoding)


def pseudonym(bsn):
    return hmac.new(KEY, bsn.encode(), hashlib.sha256).hexdigest()


class ImportHelpers:
    """What an import test asks of the client (shared with test_import_corrections): run
    it, import, register a fresh project (named after project_prefix), count, read the
    summary."""
    project_prefix = "xl"

    def run_client(self, args, input=None):
        return wmtest.run_client(args, self.server.port, input=input, timeout=TIMEOUT)

    def import_(self, *args, input=None):
        return self.run_client(["import"] + list(args), input=input)

    def project(self):
        name = uid(self.project_prefix)
        rc, out, err = self.run_client(["raw"], input="PROJECT %s category=import-test\n" % name)
        self.assertEqual((rc, out), (0, "OK\n"), err)
        return name

    def count(self, type_, *args):
        rc, out, err = self.run_client(["count", type_, "--format", "json"] + list(args))
        self.assertEqual(rc, 0, err)
        rows = json.loads(out)
        return rows[0]["count"] if len(rows) == 1 and len(rows[0]) == 1 else rows

    def summary(self, out):
        m = re.search(r"^stored (\d+), duplicates (\d+), rejected (\d+)$", out, re.M)
        self.assertTrue(m, out)
        return tuple(int(x) for x in m.groups())


class ExcelImportTest(ImportHelpers, wmtest.TestCase):
    registry = ["PROJECT zorgstart category=scholingsprojecten",
                "PROJECT wijkleerbedrijf category=scholingsprojecten"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = cls.class_tmpdir("wm-excel-")
        cls.keyfile = os.path.join(cls.tmp, "hilversum.key")
        with open(cls.keyfile, "wb") as f:
            f.write(KEY)
        os.chmod(cls.keyfile, 0o600)

    # -- helpers ---------------------------------------------------------------------------


    def write(self, data, suffix=".csv"):
        path = os.path.join(self.tmp, uid("f") + suffix)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        return path

    def reasons(self, out):
        """The summary's rejections by reason: {reason: rows}."""
        return {m.group(2): int(m.group(1)) for m in re.finditer(r"^  +(\d+)  (.+)$", out, re.M)}

    def assertStored(self, line):
        """The event as the server holds it: the same EVENT line typed by hand is a DUP."""
        rc, out, err = self.run_client(["raw"], input=line + "\n")
        self.assertRegex(out, r"^DUP \d+\n$", line)

    def read_rejects(self, path, delim=";"):
        with open(path, encoding="utf-8-sig", newline="") as f:
            return list(csv.reader(f, delimiter=delim))

    # -- 1. columns ------------------------------------------------------------------------

    def test_dutch_export_as_excel_writes_it(self):
        """';', BOM, CRLF, Dutch headers, dates day first in each form, 12,0, a cell with a
        line break and a tab, a row of empty cells: all stored as the server's values."""
        p = self.project()
        k = uid("nl")
        rows = [
            ["placed", k + "-1", "p-excel-0001", "huizen", "01-03-2024", p, "zorg", "12,0",
             "Bakkerij\nDe Korst", "", "", ""],
            ["placed", k + "-2", "p-excel-0002", "huizen", "1-3-2024", p, "techniek", "6",
             "Garage\tVan Dijk", "", "", ""],
            ["placed", k + "-3", "p-excel-0003", "laren", "01/04/2024", p, "zorg", "3,00", "", "",
             "", ""],
            ["completed", k + "-4", "p-excel-0001", "huizen", "2024-04-02 00:00:00", p, "", "", "",
             "diploma", "", ""],
            ["outflow", k + "-5", "p-excel-0002", "huizen", "15-04-2024", p, "", "", "", "", "pw",
             "werk"],
            [""] * 12,
        ]
        path = self.write(excel_csv(DUTCH, rows))
        rc, out, err = self.import_(path)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.summary(out), (5, 0, 0))
        self.assertEqual(self.count("placed", "project=" + p), 3)
        self.assertEqual(self.count("placed", "project=" + p, "by=month"),
                         [{"month": "2024-03", "count": 2}, {"month": "2024-04", "count": 1}])
        self.assertEqual(self.count("placed", "project=" + p, "durable=yes"), 2)
        self.assertEqual(self.count("completed", "project=" + p, "result=diploma"), 1)
        self.assertEqual(self.count("outflow", "project=" + p, "reason=werk"), 1)
        self.assertStored(wmtest.event("placed", id=k + "-1", person="p-excel-0001", gemeente="huizen",
                                       date="2024-03-01", project=p, sector="zorg", months=12,
                                       employer="Bakkerij De Korst"))
        self.assertStored(wmtest.event("placed", id=k + "-2", person="p-excel-0002", gemeente="huizen",
                                       date="2024-03-01", project=p, sector="techniek", months=6,
                                       employer="Garage Van Dijk"))
        self.assertStored(wmtest.event("completed", id=k + "-4", person="p-excel-0001",
                                       gemeente="huizen", date="2024-04-02", project=p,
                                       result="diploma"))

    def test_comma_and_tab_separators_from_the_header(self):
        p = self.project()
        header = ["type", "id", "person", "gemeente", "date", "project", "employer", "sector"]
        for delim in (",", "\t"):
            k = uid("sep")
            rows = [["placed", k, "p-sep-00001", "weesp", "2024-05-01", p, "A; B, C", "ict"]]
            rc, out, err = self.import_(self.write(excel_csv(header, rows, delim=delim, eol="\n")))
            self.assertEqual((rc, self.summary(out)), (0, (1, 0, 0)), err)
            self.assertStored(wmtest.event("placed", id=k, person="p-sep-00001", gemeente="weesp",
                                           date="2024-05-01", project=p, employer="A; B, C",
                                           sector="ict"))
        self.assertEqual(self.count("placed", "project=" + p), 2)

    def test_unknown_column_stops_the_import_before_anything_is_sent(self):
        p = self.project()
        header = DUTCH[:7] + ["Opmerking", "Klantmanager"]
        rows = [["placed", uid("u"), "p-unknown-%02d" % i, "huizen", "01-03-2024", p, "zorg",
                 "belt terug", "Anna de Vries"] for i in range(5)]
        path = self.write(excel_csv(header, rows))
        rc, out, err = self.import_(path)
        self.assertEqual(rc, 2, err)
        self.assertEqual(out, "")
        self.assertIn("unknown columns 'Opmerking', 'Klantmanager'", err)
        self.assertIn("nothing was sent", err)
        self.assertIn("--map", err)
        self.assertIn("--ignore-unknown", err)
        self.assertEqual(self.count("placed", "project=" + p), 0)
        # way out 1: skip every column that is no field
        rc, out, err = self.import_("--ignore-unknown", path)
        self.assertEqual((rc, self.summary(out)), (0, (5, 0, 0)), err)
        # way out 2: a profile that uses one and ignores the other
        prof = self.write("[columns]\nklantmanager = by\n[ignore]\nOPMERKING\n", ".map")
        rows = [["placed", uid("u"), "p-unknown-99", "huizen", "01-03-2024", p, "zorg", "x",
                 "Anna de Vries"]]
        rc, out, err = self.import_("--map", prof, self.write(excel_csv(header, rows)))
        self.assertEqual((rc, self.summary(out)), (0, (1, 0, 0)), err)
        self.assertStored(wmtest.event("placed", id=rows[0][1], person="p-unknown-99",
                                       gemeente="huizen", date="2024-03-01", project=p,
                                       sector="zorg", by="Anna de Vries"))
        self.assertEqual(self.count("placed", "project=" + p), 6)

    def test_one_type_and_fixed_values(self):
        p = self.project()
        header = ["Kenmerk", "Persoon", "Datum", "Project", "Resultaat"]
        rows = [[uid("t"), "p-type-%04d" % i, "02-05-2024", p, "certificaat"] for i in range(4)]
        path = self.write(excel_csv(header, rows))
        rc, out, err = self.import_(path)
        self.assertEqual(rc, 2)
        self.assertIn("no 'type' column", err)
        self.assertIn("--type", err)
        rc, out, err = self.import_("--type", "completed", "--set", "gemeente=laren", path)
        self.assertEqual((rc, self.summary(out)), (0, (4, 0, 0)), err)
        self.assertEqual(self.count("completed", "project=" + p, "gemeente=laren",
                                    "result=certificaat"), 4)
        # a fixed value that is also a column: one of them must go
        path2 = self.write(excel_csv(DUTCH[:6], [["started", uid("t"), "p-type-9999", "huizen",
                                                  "02-05-2024", p]]))
        rc, out, err = self.import_("--set", "gemeente=laren", path2)
        self.assertEqual(rc, 2)
        self.assertIn("gemeente is both a column ('Gemeente') and a fixed value", err)
        self.assertEqual(self.count("started", "project=" + p), 0)
        self.assertEqual(self.import_("--type", "plaatsing", path)[0], 64)
        self.assertEqual(self.import_("--set", "kleur=rood", path)[0], 64)

    def test_the_sample_map_with_a_hilversum_export(self):
        """data/import-map.example on the export it describes: Windows-1252, the
        municipality's own column names and words, a BSN that lost its leading zero, one
        that Excel turned into a number, two columns that are never sent."""
        k = uid("hv")
        header = ["Dossiernummer", "Burgerservicenummer", "Datum plaatsing", "Traject", "Branche",
                  "Soort contract", "Contractduur (mnd)", "Uren per week", "Werkgever",
                  "Klantmanager", "Telefoonnummer", "Opmerking"]
        rows = [
            [k + "-1", "12345672", "04-03-2024", "Zorgstart Gooi en Vechtstreek", "Zorg en welzijn",
             "Betaalde baan", "12,0", "32", "Café 't Hoekje", "J. Bakker", "035-1234567",
             "start\nna de zomer"],
            [k + "-2", "111222333", "5-3-2024", "ZORGSTART GOOI EN VECHTSTREEK", "zorg en welzijn",
             "Leerwerkbaan", "6", "", "Thuiszorg Gooi", "J. Bakker", "", ""],
            [k + "-3", "123456782", "06/03/2024", "Wijkleerbedrijf Hilversum", "Techniek en installatie",
             "", "", "", "", "", "", ""],
            [k + "-4", "1,11222E+08", "07-03-2024", "Zorgstart Gooi en Vechtstreek",
             "Zorg en welzijn", "", "", "", "", "", "", ""],
        ]
        path = self.write(excel_csv(header, rows, encoding="cp1252"))
        rejects = os.path.join(self.tmp, uid("fouten") + ".csv")
        rc, out, err = self.import_("--map", SAMPLE_MAP, "--pseudo-key", self.keyfile,
                                    "--rejects", rejects, path)
        self.assertEqual(rc, 1, err)
        self.assertEqual(self.summary(out), (3, 0, 1))
        reason = "bsn: Excel turned this BSN into a number: format the column as text (not sent)"
        self.assertEqual(self.reasons(out), {reason: 1})
        self.assertEqual(self.count("placed", "project=zorgstart", "gemeente=hilversum",
                                    "sector=zorg"), 2)
        self.assertEqual(self.count("placed", "project=wijkleerbedrijf", "sector=techniek"), 1)
        self.assertEqual(self.count("placed", "project=zorgstart", "contract=leerwerk"), 1)
        self.assertStored(wmtest.event("placed", id=k + "-1", person=pseudonym("012345672"),
                                       gemeente="hilversum", date="2024-03-04", project="zorgstart",
                                       sector="zorg", contract="betaald", months=12, hours=32,
                                       employer="Café 't Hoekje", by="J. Bakker"))
        rej = self.read_rejects(rejects)
        self.assertEqual(rej[0], header + ["regel", "fout"])
        self.assertEqual(rej[1], rows[3] + ["6", reason])
        for b in ("12345672", "012345672", "111222333", "123456782", "035-1234567"):
            self.assertNotIn(b, err + out)
            self.assertNotIn(b, self.server.stderr())

    # -- 2. values -------------------------------------------------------------------------

    def test_dates_never_guessed(self):
        p = self.project()
        header = ["type", "id", "person", "gemeente", "date", "project"]
        good = ["01-02-2024", "1-2-2024", "01/02/2024", "2024-02-01", "2024-02-01 00:00:00",
                "1.2.2024"]
        bad = {"1-2-24": "two-digit year, which is ambiguous",
               "31-02-2024": "'31-02-2024' is not a real date",
               "45352": "spreadsheet's day number",
               "02/25/2024": "month-first file needs --date-format MM/DD/YYYY",
               "1 februari 2024": "is not a date in a form I read"}
        rows = [["started", uid("d"), "p-date-%04d" % i, "eemnes", d, p]
                for i, d in enumerate(good + list(bad))]
        rejects = os.path.join(self.tmp, uid("rej") + ".csv")
        rc, out, err = self.import_("--rejects", rejects, self.write(excel_csv(header, rows)))
        self.assertEqual(rc, 1, err)
        self.assertEqual(self.summary(out), (len(good), 0, len(bad)))
        self.assertEqual(self.count("started", "project=" + p, "by=month"),
                         [{"month": "2024-02", "count": len(good)}])
        rej = self.read_rejects(rejects)
        self.assertEqual(len(rej), 1 + len(bad))
        for row in rej[1:]:
            self.assertIn(bad[row[4]], row[7])
            self.assertTrue(row[7].startswith("date: '%s'" % row[4]), row[7])
            self.assertEqual(int(row[6]), 2 + (good + list(bad)).index(row[4]))
        # the same file read month first
        k = uid("md")
        rows = [["started", k, "p-date-9999", "eemnes", "02/25/2024 13:30", p]]
        rc, out, err = self.import_("--date-format", "MM/DD/YYYY", self.write(excel_csv(header, rows)))
        self.assertEqual((rc, self.summary(out)), (0, (1, 0, 0)), err)
        self.assertStored(wmtest.event("started", id=k, person="p-date-9999", gemeente="eemnes",
                                       date="2024-02-25", project=p))
        self.assertEqual(self.import_("--date-format", "dd-mm-jjjj", "-")[0], 64)

    # -- 3. encodings ----------------------------------------------------------------------

    def test_windows_1252_refused_without_encoding_then_read_with_it(self):
        p = self.project()
        k = uid("cp")
        header = ["type", "id", "person", "gemeente", "date", "project", "sector", "employer"]
        rows = [["placed", k + "-1", "p-cp-00001", "huizen", "01-03-2024", p, "horeca", "De Gooier"],
                ["placed", k + "-2", "p-cp-00002", "huizen", "01-03-2024", p, "horeca", "Café Ñandú"]]
        path = self.write(excel_csv(header, rows, encoding="cp1252"))
        rc, out, err = self.import_(path)
        self.assertEqual(rc, 2)
        self.assertIn("line 3 is not UTF-8 (nothing was sent)", err)
        self.assertIn("--encoding cp1252", err)
        self.assertEqual(self.count("placed", "project=" + p), 0)  # not even line 2
        rc, out, err = self.import_("--encoding", "cp1252", path)
        self.assertEqual((rc, self.summary(out)), (0, (2, 0, 0)), err)
        self.assertStored(wmtest.event("placed", id=k + "-2", person="p-cp-00002", gemeente="huizen",
                                       date="2024-03-01", project=p, sector="horeca",
                                       employer="Café Ñandú"))
        # latin1 the same way; and from a pipe, where the check is line by line
        k2 = uid("l1")
        rows = [["placed", k2, "p-cp-00003", "huizen", "01-03-2024", p, "horeca", "Brasserie Élan"]]
        rc, out, err = self.import_("--encoding", "latin1",
                                    self.write(excel_csv(header, rows, encoding="latin1")))
        self.assertEqual((rc, self.summary(out)), (0, (1, 0, 0)), err)
        rc, out, err = self.import_("-", input=excel_csv(header, rows, encoding="latin1"))
        self.assertEqual(rc, 2)
        self.assertIn("line 2 is not UTF-8 (the import stops here)", err)
        self.assertEqual(self.import_("--encoding", "klingon", path)[0], 64)
        self.assertEqual(self.count("placed", "project=" + p), 3)

    def test_utf16_unicode_text_and_utf8_without_bom(self):
        p = self.project()
        header = ["Soort", "Kenmerk", "Persoon", "Gemeente", "Datum", "Project", "Sector",
                  "Werkgever"]
        stored = []
        for enc, delim in (("utf-16", "\t"), ("utf-16-be", "\t"), ("utf-8", ";")):
            k = uid("u16")
            rows = [["placed", k, "p-utf-00001", "blaricum", "09-09-2024", p, "media",
                     "Ōmega € Média\nStudio"]]
            rc, out, err = self.import_(self.write(excel_csv(header, rows, delim=delim, encoding=enc),
                                                   ".txt"))
            self.assertEqual((rc, self.summary(out)), (0, (1, 0, 0)), "%s: %s" % (enc, err))
            stored.append(k)
        for k in stored:
            self.assertStored(wmtest.event("placed", id=k, person="p-utf-00001", gemeente="blaricum",
                                           date="2024-09-09", project=p, sector="media",
                                           employer="Ōmega € Média Studio"))
        self.assertEqual(self.count("placed", "project=" + p), 3)

    # -- 4. BSNs from Excel ----------------------------------------------------------------

    def test_bsn_column_from_excel(self):
        p = self.project()
        header = ["Soort", "Kenmerk", "BSN", "Gemeente", "Datum", "Project"]
        k = uid("bsn")
        rows = [["started", k + "-1", "12345672", "huizen", "01-06-2024", p],   # lost its 0
                ["started", k + "-2", "10000021", "huizen", "01-06-2024", p],   # lost its 0
                ["started", k + "-3", "1,23457E+08", "huizen", "01-06-2024", p],
                ["started", k + "-4", "1234567", "huizen", "01-06-2024", p],
                ["started", k + "-5", "111222334", "huizen", "01-06-2024", p]]
        path = self.write(excel_csv(header, rows))
        rc, out, err = self.import_("--pseudo-key", self.keyfile, path)
        self.assertEqual(rc, 1, err)
        self.assertEqual(self.summary(out), (2, 0, 3))
        self.assertIn("line 4: bsn: Excel turned this BSN into a number: format the column as text",
                      err)
        self.assertRegex(err, r"line 5: bsn: a BSN has exactly 9 digits")
        self.assertRegex(err, r"line 6: bsn: .*eleven-test")
        self.assertEqual(self.count("started", "project=" + p), 2)
        self.assertStored(wmtest.event("started", id=k + "-1", person=pseudonym("012345672"),
                                       gemeente="huizen", date="2024-06-01", project=p))
        self.assertStored(wmtest.event("started", id=k + "-2", person=pseudonym("010000021"),
                                       gemeente="huizen", date="2024-06-01", project=p))
        for r in rows:
            self.assertNotIn(r[2], err + out + self.server.stderr())

    # -- 6. rejects you can fix ------------------------------------------------------------

    def test_rejects_file_corrected_and_imported_again(self):
        p = self.project()
        k = uid("fix")
        header = ["Soort", "Kenmerk", "BSN", "Gemeente", "Datum", "Project", "Sector", "Werkgever"]
        rows = [
            ["placed", k + "-1", "111222333", "huizen", "01-03-2024", p, "zorg", "Twee\nregels"],
            ["placed", k + "-2", "1,11222E+08", "huizen", "31-02-2024", p, "zorg", ""],
            ["placed", k + "-3", "123456782", "huizen", "02-03-2024", "taal-werkt", "zorg", ""],
            ["placed", k + "-4", "012345672", "huizen", "02-03-2024", "taal-werkt", "ict", ""],
            ["placed", k + "-5", "010000008", "huizen", "03-03-2024", p, "zorgg", "Zorg\n& Co"],
            ["placed", k + "-6", "010000033", "huizen", "04-03-2024", p, "bouw", ""],
        ]
        path = self.write(excel_csv(header, rows))
        rejects = os.path.join(self.tmp, uid("fouten") + ".csv")
        rc, out, err = self.import_("--pseudo-key", self.keyfile, "--rejects", rejects, path)
        self.assertEqual(rc, 1, err)
        self.assertEqual(self.summary(out), (2, 0, 4))
        self.assertEqual(err, "")
        reasons = self.reasons(out)
        self.assertEqual(reasons["unknown project 'taal-werkt'"], 2)
        self.assertEqual(reasons["date: '31-02-2024' is not a real date (read as day 31, month 2, "
                                 "year 2024)"], 1)
        self.assertEqual(len(reasons), 4, reasons)
        self.assertEqual(self.count("placed", "project=" + p), 2)

        with open(rejects, "rb") as f:
            raw = f.read()
        self.assertTrue(raw.startswith(codecs.BOM_UTF8 + b"Soort;Kenmerk;BSN;"), raw[:40])
        self.assertIn(b"\r\n", raw)
        rej = self.read_rejects(rejects)
        self.assertEqual(rej[0], header + ["regel", "fout"])
        self.assertEqual([r[:8] for r in rej[1:]], rows[1:5])
        self.assertEqual([r[8] for r in rej[1:]], ["4", "5", "6", "7"])  # line 2 has two lines
        fout = rej[1][9].split("; ")  # every error of the row, not only the first
        self.assertEqual(len(fout), 2, fout)
        self.assertTrue(fout[0].startswith("bsn: Excel turned this BSN into a number"))
        self.assertTrue(fout[1].startswith("date: '31-02-2024'"))
        self.assertRegex(rej[4][9], r"^sector: .*zorgg")

        # corrected as a person would in Excel: the errors' columns left as they are
        fixed = [r[:] for r in rej[1:]]
        fixed[0][2], fixed[0][4] = "111222333", "29-02-2024"
        fixed[1][5] = fixed[2][5] = p
        fixed[3][6] = "zorg"
        again = os.path.join(self.tmp, uid("fouten2") + ".csv")
        rc, out, err = self.import_("--pseudo-key", self.keyfile, "--rejects", again,
                                    self.write(excel_csv(rej[0], fixed)))
        self.assertEqual((rc, self.summary(out)), (0, (4, 0, 0)), err)
        self.assertEqual(self.read_rejects(again), [header + ["regel", "fout"]])
        self.assertEqual(self.count("placed", "project=" + p), 6)
        self.assertStored(wmtest.event("placed", id=k + "-5", person=pseudonym("010000008"),
                                       gemeente="huizen", date="2024-03-03", project=p,
                                       sector="zorg", employer="Zorg & Co"))

        # a rejects file of a rejects file has regel and fout once
        fixed[3][6] = "zorggg"
        fixed[3][1] = k + "-7"
        again2 = os.path.join(self.tmp, uid("fouten3") + ".csv")
        rc, out, err = self.import_("--pseudo-key", self.keyfile, "--rejects", again2,
                                    self.write(excel_csv(rej[0], fixed)))
        self.assertEqual((rc, self.summary(out)), (1, (0, 3, 1)), err)
        rej2 = self.read_rejects(again2)
        self.assertEqual(rej2[0], header + ["regel", "fout"])
        self.assertEqual(rej2[1][:8], fixed[3][:8])
        self.assertEqual(rej2[1][8], "5")

    def test_summary_groups_rejections_by_reason(self):
        p = self.project()
        header = ["type", "id", "person", "gemeente", "date", "project"]
        rows = ([["started", uid("g"), "p-group-%04d" % i, "huizen", "01-03-2024", "taal-werkt"]
                 for i in range(30)]
                + [["started", uid("g"), "p-group-%04d" % i, "huizen", "1-3-24", p] for i in range(5)]
                + [["started", uid("g"), "p-group-%04d" % i, "huizen", "01-03-2024", p]
                   for i in range(7)])
        rc, out, err = self.import_(self.write(excel_csv(header, rows)))
        self.assertEqual(rc, 1)
        self.assertEqual(self.summary(out), (7, 0, 35))
        lines = out.splitlines()
        self.assertEqual(lines[1], "  30  unknown project 'taal-werkt'")
        self.assertRegex(lines[2], r"^   5  date: '1-3-24' has a two-digit year")
        self.assertIn("25 rejected rows were not shown: --rejects FILE keeps them all", out)
        self.assertEqual(len(re.findall(r"(?m)^werkmonitor import: line \d+: ", err)), 10)
        self.assertEqual(self.count("started", "project=" + p), 7)

    def test_ndjson_export_with_dutch_keys(self):
        p = self.project()
        k = uid("nd")
        lines = [
            {"soort": "placed", "kenmerk": k + "-1", "persoon": "p-nd-000001", "gemeente": "weesp",
             "datum": "01-03-2024", "project": p, "sector": "zorg", "maanden": 12.0, "uren": "32,0"},
            {"soort": "placed", "kenmerk": k + "-2", "bsn": 12345672, "gemeente": "weesp",
             "datum": "2024-03-01", "project": p, "sector": "zorg"},
            {"soort": "placed", "kenmerk": k + "-3", "persoon": "p-nd-000003", "gemeente": "weesp",
             "datum": "30-02-2024", "project": p, "sector": "zorg", "maanden": 12.5},
            {"soort": "placed", "kenmerk": k + "-4", "bsn": 1.11222e8, "gemeente": "weesp",
             "datum": "2024-03-01", "project": p, "sector": "zorg"},
        ]
        data = "\n".join(json.dumps(x) for x in lines) + "\n"
        rejects = os.path.join(self.tmp, uid("rej") + ".ndjson")
        rc, out, err = self.import_("--pseudo-key", self.keyfile, "--rejects", rejects,
                                    self.write(data, ".ndjson"))
        self.assertEqual(rc, 1, err)
        self.assertEqual(self.summary(out), (2, 0, 2))
        self.assertStored(wmtest.event("placed", id=k + "-1", person="p-nd-000001", gemeente="weesp",
                                       date="2024-03-01", project=p, sector="zorg", months=12,
                                       hours=32))
        self.assertStored(wmtest.event("placed", id=k + "-2", person=pseudonym("012345672"),
                                       gemeente="weesp", date="2024-03-01", project=p, sector="zorg"))
        with open(rejects) as f:
            rej = [json.loads(x) for x in f]
        self.assertEqual([r["regel"] for r in rej], [3, 4])
        self.assertTrue(rej[0]["fout"].startswith("date: '30-02-2024'"), rej[0])
        self.assertEqual(rej[0]["kenmerk"], k + "-3")
        self.assertIn("Excel turned this BSN into a number", rej[1]["fout"])
        # corrected and imported again: regel and fout are not the event's
        rej[0]["datum"], rej[0]["maanden"] = "29-02-2024", 12
        rej[1]["bsn"] = "012345672"
        rc, out, err = self.import_("--pseudo-key", self.keyfile,
                                    self.write("\n".join(json.dumps(x) for x in rej) + "\n", ".ndjson"))
        self.assertEqual((rc, self.summary(out)), (0, (2, 0, 0)), err)
        self.assertEqual(self.count("placed", "project=" + p), 4)
        # an unknown key stops the import where it is met
        rc, out, err = self.import_(self.write(json.dumps(dict(lines[0], opmerking="x")) + "\n",
                                               ".ndjson"))
        self.assertEqual(rc, 2)
        self.assertIn("line 1: unknown key 'opmerking'", err)


if __name__ == "__main__":
    unittest.main()
