"""import --dry-run and --replace, and werkmonitor show, against the real daemon: a file is
checked without storing anything, a corrected monthly re-export replaces exactly the rows
it changed (every figure follows), a retracted row comes back only through --replace, and
show lists the versions with what retracted them. Files are made as Dutch Excel writes
them (';', a byte-order mark, CRLF, Dutch headers, names in the case people type)."""

import json
import os
import unittest

import wmtest
from wmtest import uid
from test_import_excel import ImportHelpers, excel_csv

HEADER = ["Soort", "Kenmerk", "Persoon", "Gemeente", "Datum", "Project", "Sector", "Maanden"]


class ImportCorrectionsTest(ImportHelpers, wmtest.TestCase):
    project_prefix = "corr"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = cls.class_tmpdir("wm-corr-")

    def write(self, header, rows):
        path = os.path.join(self.tmp, uid("export") + ".csv")
        with open(path, "wb") as f:
            f.write(excel_csv(header, rows))
        return path

    def show(self, id_):
        rc, out, err = self.run_client(["show", "id=" + id_, "--format", "json"])
        self.assertEqual(rc, 0, err)
        return json.loads(out)

    def export(self, p, k):
        """A month's export of four placements."""
        return [["Placed", k + "-1", "p-corr-0001", "Huizen", "01-03-2024", p, "Zorg", "12,0"],
                ["PLACED", k + "-2", "p-corr-0002", "huizen", "2-3-2024", p, "zorg", "4"],
                ["placed", k + "-3", "p-corr-0003", "Gooise Meren", "03/03/2024", p, "ICT", "3"],
                ["placed", k + "-4", "p-corr-0004", "laren", "04-03-2024", p, "techniek", ""]]

    def test_dry_run_checks_every_row_and_stores_nothing(self):
        p = self.project()
        k = uid("dry")
        rows = self.export(p, k)
        rows[3][5] = "taal-werkt"
        rows[2][6] = "zorgg"
        path = self.write(HEADER, rows)
        rc, out, err = self.import_("--dry-run", path)
        self.assertEqual(rc, 1, err)
        self.assertIn("dry run, nothing stored: valid 2, rejected 2\n", out)
        self.assertIn("  1  unknown project 'taal-werkt'", out)
        self.assertEqual(self.count("placed", "project=" + p), 0)
        rc, out, err = self.run_client(["show", "id=" + k + "-1"])
        self.assertEqual(rc, 1)
        self.assertIn("not-found", out + err)

        # the two good rows stored, then a dry run of the same file: they are no conflict
        rows[2][6] = "zorg"
        rows[3][5] = p
        rc, out, err = self.import_(self.write(HEADER, rows[:2]))
        self.assertEqual((rc, self.summary(out)), (0, (2, 0, 0)), err)
        rows[1][7] = "9"  # a changed row is what EVENT refuses and REPLACE is for
        path = self.write(HEADER, rows)
        rc, out, err = self.import_("--dry-run", path)
        self.assertEqual(rc, 1, err)
        self.assertIn("dry run, nothing stored: valid 3, rejected 1\n", out)
        self.assertIn("\n  1  conflict: id was already used for a different event; send REPLACE "
                      "to correct it\n", out)
        rc, out, err = self.import_("--dry-run", "--replace", path)
        self.assertEqual(rc, 0, err)
        self.assertIn("dry run, nothing stored: valid 4, rejected 0\n", out)
        self.assertIn("would replace 1: ", out)
        self.assertEqual(self.count("placed", "project=" + p), 2)
        self.assertEqual(self.count("placed", "project=" + p, "durable=yes"), 1)

    def test_corrected_reexport_with_replace_changes_exactly_the_corrected_rows(self):
        p = self.project()
        k = uid("maart")
        rows = self.export(p, k)
        rc, out, err = self.import_(self.write(HEADER, rows))
        self.assertEqual((rc, self.summary(out)), (0, (4, 0, 0)), err)
        self.assertEqual(self.count("placed", "project=" + p, "durable=yes"), 1)
        self.assertEqual(self.count("placed", "project=" + p, "by=sector"),
                         [{"sector": "ict", "count": 1}, {"sector": "techniek", "count": 1},
                          {"sector": "zorg", "count": 2}])

        # April's re-export of March: row 2 got a contract of 12 months (durable), row 3 another
        # sector; the other two are as they were
        fixed = [r[:] for r in rows]
        fixed[1][7] = "12"
        fixed[2][6] = "zorg"
        path = self.write(HEADER, fixed)
        rc, out, err = self.import_(path)
        self.assertEqual(rc, 1, err)
        self.assertEqual(self.summary(out), (0, 2, 2))
        self.assertIn("\n  2  conflict: id was already used for a different event; send REPLACE to "
                      "correct it\n", out)
        self.assertEqual(self.count("placed", "project=" + p, "durable=yes"), 1)

        rc, out, err = self.import_("--replace", path)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.summary(out), (2, 2, 0))
        self.assertIn("replaced 2: an earlier version of the same id, retracted with reason "
                      "'replaced'\n", out)
        self.assertEqual(self.count("placed", "project=" + p), 4)
        self.assertEqual(self.count("placed", "project=" + p, "durable=yes"), 2)
        self.assertEqual(self.count("placed", "project=" + p, "by=sector"),
                         [{"sector": "techniek", "count": 1}, {"sector": "zorg", "count": 3}])
        self.assertEqual(self.count("placed", "project=" + p, "distinct=person"), 4)

        # the same re-export again changes nothing
        rc, out, err = self.import_("--replace", path)
        self.assertEqual((rc, self.summary(out)), (0, (0, 4, 0)), err)
        self.assertIn("replaced 0: ", out)

        versions = self.show(k + "-2")
        self.assertEqual(len(versions), 2, versions)
        old, new = versions
        self.assertEqual((old["months"], new["months"]), (4, 12))
        self.assertIsInstance(old["seq"], int)
        self.assertEqual(old["reason"], "replaced")
        self.assertEqual(old["replaces"], None)
        self.assertEqual(new["replaces"], old["seq"])
        self.assertEqual(new["retracted"], "no")
        self.assertNotIn("person", old)
        self.assertEqual(len(self.show(k + "-1")), 1)
        self.assertEqual(self.show(k + "-3")[1]["sector"], "zorg")

    def test_retracted_row_comes_back_only_with_replace(self):
        p = self.project()
        k = uid("terug")
        rows = self.export(p, k)[:2]
        path = self.write(HEADER, rows)
        rc, out, err = self.import_(path)
        self.assertEqual((rc, self.summary(out)), (0, (2, 0, 0)), err)
        rc, out, err = self.run_client(["retract", "ref=" + k + "-1", "id=" + k + "-r1",
                                        "reason=dubbel"])
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(self.count("placed", "project=" + p), 1)

        rc, out, err = self.import_(path)
        self.assertEqual(rc, 1, err)
        self.assertEqual(self.summary(out), (0, 1, 1))
        self.assertIn("\n  1  conflict: id was retracted; send REPLACE to store it again\n", out)
        self.assertEqual(self.count("placed", "project=" + p), 1)

        rc, out, err = self.import_("--replace", path)
        self.assertEqual((rc, self.summary(out)), (0, (1, 1, 0)), err)
        self.assertEqual(self.count("placed", "project=" + p), 2)
        old, new = self.show(k + "-1")
        self.assertEqual(old["retracted.reason" if "retracted.reason" in old else "reason"],
                         "dubbel")
        self.assertEqual(new["replaces"], old["seq"])

    def test_show_says_what_it_needs(self):
        rc, out, err = self.run_client(["show"])
        self.assertEqual(rc, 64)
        self.assertIn("missing id=<id>", err)
        rc, out, err = self.run_client(["show", "id=" + uid("nergens")])
        self.assertEqual(rc, 1)
        self.assertIn("not-found", out + err)


if __name__ == "__main__":
    unittest.main()
