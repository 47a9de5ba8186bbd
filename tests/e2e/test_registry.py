"""The registry (PROTOCOL.md section 6): PROJECT create and update, PROGRAM, PROJECTS,
and loading the region's registry file data/gooi-en-vechtstreek.wm over a raw socket
(as nc would) and with `werkmonitor raw`."""

import collections
import os
import subprocess
import unittest

import wmtest
from wmtest import uid

KEYS = ["project", "category", "scope", "start", "end", "target.started", "target.completed", "target.placed",
        "title"]
REGISTRY_FILE = os.path.join(wmtest.SOURCE_DIR, "data", "gooi-en-vechtstreek.wm")


def row_line(**v):
    """The exact PROJECTS line of a project; unset fields are '-'."""
    vals = {k: "-" for k in KEYS}
    vals["scope"] = "regional"
    vals.update({k.replace("_", "."): str(x) for k, x in v.items()})
    return "ROW " + " ".join("%s=%s" % (k, vals[k]) for k in KEYS)


class RegistryTest(wmtest.TestCase):
    def listing(self, c):
        """PROJECTS as {name: line}, checking the block and that the program row,
        with the same keys as every project row, comes last."""
        resp = c.cmd("PROJECTS")
        rows = wmtest.parse_block(resp)
        self.assertGreaterEqual(len(rows), 1)
        self.assertEqual(rows[-1]["project"], "*", "the program row must come last: %r" % resp[-2])
        for r in rows:
            self.assertEqual(list(r.keys()), KEYS, r)
        self.assertNotIn("*", [r["project"] for r in rows[:-1]])
        return {r["project"]: line for r, line in zip(rows[:-1], resp[:-2])}, rows[-1]

    def test_create_minimal(self):
        c = self.conn()
        n = uid("p")
        self.assertEqual(c.cmd("PROJECT %s category=scholingsprojecten" % n), "OK")
        projects, _ = self.listing(c)
        self.assertEqual(projects[n], row_line(project=n, category="scholingsprojecten"))

    def test_create_with_every_field(self):
        c = self.conn()
        n = uid("p")
        self.assertEqual(c.cmd("PROJECT %s category=scholingsprojecten scope=local start=2020-09-01 end=2022-08-31 "
                               "target.started=60 target.completed=48 target.placed=36 "
                               "title=Wijkleerbedrijf%%20(regionaal)%%2C%%20100%%25%%20zorg%%20caf%%C3%%A9" % n), "OK")
        projects, _ = self.listing(c)
        self.assertEqual(projects[n], row_line(project=n, category="scholingsprojecten", scope="local",
                                               start="2020-09-01", end="2022-08-31", target_started=60,
                                               target_completed=48, target_placed=36,
                                               title="Wijkleerbedrijf%20(regionaal),%20100%25%20zorg%20café"))

    def test_update_keeps_unset_fields(self):
        c = self.conn()
        n = uid("p")
        self.assertEqual(c.cmd("PROJECT %s category=ggz-test start=2020-01-01 end=2023-12-31 target.started=48 "
                               "title=GGZ" % n), "OK")
        full = dict(project=n, category="ggz-test", start="2020-01-01", end="2023-12-31", target_started=48,
                    title="GGZ")
        steps = [("target.placed=12", dict(target_placed=12)),
                 ("scope=local", dict(scope="local")),
                 ("title=Gezamenlijke%20aanpak%20GGZ", dict(title="Gezamenlijke%20aanpak%20GGZ")),
                 ("category=begeleiding-doelgroepen", dict(category="begeleiding-doelgroepen")),
                 ("start=2021-01-01 target.started=0", dict(start="2021-01-01", target_started=0)),
                 ("scope=regional", dict(scope="regional")),
                 ("scope=Local", dict(scope="local")),  # an enumerated value in any case
                 ("scope=REGIONAL", dict(scope="regional")),
                 ("", {}),
                 ("end=2023-06-30", dict(end="2023-06-30")),
                 ("target.placed=7", dict(target_placed=7)),
                 ("title=Nieuw", dict(title="Nieuw")),
                 ("start=2020-01-01", dict(start="2020-01-01"))]
        for args, change in steps:
            self.assertEqual(c.cmd(("PROJECT %s %s" % (n, args)).rstrip()), "OK", args)
            full.update(change)
            projects, _ = self.listing(c)
            self.assertEqual(projects[n], row_line(**full), args)

    def test_category_required_on_create(self):
        c = self.conn()
        n = uid("p")
        self.assertErr(c.cmd("PROJECT %s" % n), "invalid", "category")
        self.assertErr(c.cmd("PROJECT %s scope=local" % n), "invalid", "category")
        self.assertErr(c.cmd("PROJECT %s scope=local target.started=5" % n), "invalid", "category")
        projects, _ = self.listing(c)
        self.assertNotIn(n, projects)
        ev = wmtest.event("started", id=uid(), person="pseudo-reg-0001", gemeente="blaricum", date="2021-01-01",
                          project=n)
        self.assertErr(c.cmd(ev), "unknown-project", n)
        self.assertEqual(c.cmd("PROJECT %s category=x" % n), "OK")
        self.assertOkSeq(c.cmd(ev))

    def test_names_and_categories(self):
        c = self.conn()
        ok = [uid("p")[:64], (uid("p") + "-" + "x" * 64)[:64], "0-" + uid("p")]
        for n in ok:
            self.assertEqual(c.cmd("PROJECT %s category=%s" % (n, "c" * 64)), "OK", n)
        self.assertEqual(c.cmd("PROJECT %s category=%s" % ("a" * 64, "b" * 64)), "OK")
        self.assertEqual(c.cmd("PROJECT 0-9 category=0"), "OK")
        for n in ["Zorgstart", "zorg_start", "zorg%20start", "zorg.start", "x" * 65, "zorgstart*", "*", "café",
                  "zorg/start", "zorg:start", "A", "é"]:
            self.assertErr(c.cmd("PROJECT %s category=test" % n), "invalid")
        n = uid("p")
        for cat in ["Scholing", "scholing_projecten", "c" * 65, "scholing%20projecten", "a.b", "", "A", "é"]:
            self.assertErr(c.cmd("PROJECT %s category=%s" % (n, cat)), "invalid", "category")
        self.assertNotIn(n, self.listing(c)[0])

    def test_field_domains(self):
        c = self.conn()
        n = uid("p")
        self.assertEqual(c.cmd("PROJECT %s category=test" % n), "OK")
        for args, field in [("scope=global", "scope"), ("scope=lokaal", "scope"), ("start=2021-02-29", "start"),
                            ("start=1999-12-31", "start"), ("end=2021-13-01", "end"), ("end=tomorrow", "end"),
                            ("target.started=-1", "target.started"), ("target.completed=x", "target.completed"),
                            ("target.placed=1.5", "target.placed"), ("target.placed=", "target.placed"),
                            ("title=" + "t" * 257, "title"), ("colour=blue", "colour"),
                            ("target.outflow=5", "target.outflow"), ("scope=national", "scope"),
                            ("target.placed=-1", "target.placed"), ("target.placed=x", "target.placed"),
                            ("start=2022-01-01 end=2021-01-01", "")]:
            self.assertErr(c.cmd("PROJECT %s %s" % (n, args)), "invalid", field)
            # the same on create: nothing is made
            self.assertErr(c.cmd("PROJECT %s-new category=x %s" % (n, args)), "invalid", field)
        self.assertNotIn(n + "-new", self.listing(c)[0])
        self.assertEqual(c.cmd("PROJECT %s title=%s" % (n, "t" * 256)), "OK")
        projects, _ = self.listing(c)
        self.assertEqual(projects[n], row_line(project=n, category="test", title="t" * 256))

    def test_project_needs_a_name(self):
        c = self.conn()
        self.assertErr(c.cmd("PROJECT"), "syntax")
        self.assertErr(c.cmd("PROJECT category=test"), "syntax")

    def test_program_keeps_unset_fields(self):
        s = self.own_server()
        c = self.conn(s)
        _, prog = self.listing(c)
        self.assertEqual([prog[k] for k in KEYS[3:8]], ["-"] * 5, prog)
        self.assertEqual(c.cmd("PROGRAM start=2020-01-01 end=2023-12-31 target.started=1200"), "OK")
        self.assertEqual(c.cmd("PROGRAM target.completed=800 target.placed=500"), "OK")
        self.assertEqual(c.cmd("PROGRAM target.started=1160"), "OK")
        self.assertEqual(c.cmd("PROGRAM"), "OK")
        _, prog = self.listing(c)
        self.assertEqual((prog["start"], prog["end"], prog["target.started"], prog["target.completed"],
                          prog["target.placed"]), ("2020-01-01", "2023-12-31", "1160", "800", "500"))

    def test_program_domains(self):
        c = self.conn()
        for args, field in [("start=2021-02-30", "start"), ("end=x", "end"), ("target.placed=-3", "target.placed"),
                            ("category=x", "category"), ("title=x", "title"), ("scope=local", "scope"),
                            ("target.started=abc", "target.started")]:
            self.assertErr(c.cmd("PROGRAM " + args), "invalid", field)

    def test_projects_of_an_empty_registry(self):
        s = self.own_server()
        c = self.conn(s)
        self.assertEqual(c.cmd("PROJECTS"), [
            "ROW project=* category=* scope=- start=- end=- target.started=- target.completed=- target.placed=- title=-",
            "END 1"])

    def test_program_sets_period_and_targets(self):
        s = self.own_server()
        c = self.conn(s)
        self.assertEqual(c.cmd("PROGRAM start=2020-01-01 end=2023-12-31 target.started=1200 "
                               "target.completed=860 target.placed=500"), "OK")
        self.assertEqual(c.cmd("PROJECT p1 category=c1 scope=local target.placed=3"), "OK")
        self.assertEqual(c.cmd("PROJECTS"), [
            "ROW project=p1 category=c1 scope=local start=- end=- target.started=- target.completed=- "
            "target.placed=3 title=-",
            "ROW project=* category=* scope=- start=2020-01-01 end=2023-12-31 target.started=1200 "
            "target.completed=860 target.placed=500 title=-",
            "END 2"])
        self.assertEqual(c.cmd("PROGRESS asof=2021-12-31")[-4:], [
            "ROW project=* category=* indicator=started actual=0 target=1200 expected=600 status=red",
            "ROW project=* category=* indicator=completed actual=0 target=860 expected=430 status=red",
            "ROW project=* category=* indicator=placed actual=0 target=500 expected=250 status=red",
            "END 6"])
        self.assertErr(c.cmd("PROGRAM start=2024-01-01 end=2023-01-01"), "invalid")
        self.assertErr(c.cmd("PROGRAM scope=local"), "invalid", "scope")

    def test_regression_write_without_rollup_changes(self):
        """Regression: a commit that changes no counter (here a PROJECT and a PROGRAM as
        the first writes of a fresh store) stopped the sanitizer build of the daemon
        (storage sorted an empty delta list: qsort(NULL, 0) in store_deltas_flush)."""
        s = self.own_server()
        c = self.conn(s)
        self.assertEqual(c.cmd("PROJECT first category=test"), "OK")
        self.assertEqual(c.cmd("PROGRAM target.started=1"), "OK")
        self.assertEqual(c.cmd("PING"), "PONG")
        self.assertTrue(s.running())

    def test_projects_exact_listing(self):
        s = self.own_server()
        c = self.conn(s)
        self.assertEqual(c.pipeline(["PROJECT zorgstart category=scholingsprojecten title=ZorgStart",
                                     "PROJECT lokaal category=gemeentelijke-projecten scope=local",
                                     "PROGRAM start=2020-01-01 end=2023-12-31 target.started=1200 "
                                     "target.completed=800 target.placed=500"]), ["OK"] * 3)
        resp = c.cmd("PROJECTS")
        self.assertEqual(len(resp), 4, resp)
        self.assertEqual(sorted(resp[:2]), sorted([
            row_line(project="zorgstart", category="scholingsprojecten", title="ZorgStart"),
            row_line(project="lokaal", category="gemeentelijke-projecten", scope="local")]))
        prog = wmtest.parse_row(resp[2])
        self.assertEqual((prog["project"], prog["start"], prog["end"], prog["target.started"],
                          prog["target.completed"], prog["target.placed"]),
                         ("*", "2020-01-01", "2023-12-31", "1200", "800", "500"))
        self.assertEqual(resp[3], "END 3")


class RegistryFileTest(wmtest.FreshDaemonTestCase):
    """data/gooi-en-vechtstreek.wm: pure protocol lines, the whole region."""

    def lines(self):
        with open(REGISTRY_FILE, "rb") as f:
            data = f.read()
        self.assertTrue(data.endswith(b"\n"))
        return data, data.decode("utf-8").splitlines()

    def check_region(self, c):
        rows = wmtest.parse_block(c.cmd("PROJECTS"))
        projects, prog = rows[:-1], rows[-1]
        self.assertEqual(len(projects), 27)
        self.assertEqual((prog["project"], prog["start"], prog["end"], prog["target.started"],
                          prog["target.completed"], prog["target.placed"]),
                         ("*", "2020-01-01", "2023-12-31", "1200", "800", "500"))
        cats = collections.Counter(r["category"] for r in projects)
        self.assertEqual(cats, {"doorstroombanen": 3, "scholingsprojecten": 3, "begeleiding-doelgroepen": 2,
                                "wsp-projecten": 3, "gemeentelijke-projecten": 2, "arbeidsmarktinterventies": 14})
        by_name = {r["project"]: r for r in projects}
        for r in projects:
            self.assertEqual(r["scope"], "local" if r["category"] == "gemeentelijke-projecten" else "regional")
        w = by_name["wijkleerbedrijf"]
        self.assertEqual((w["start"], w["end"], w["target.started"], w["target.completed"], w["target.placed"]),
                         ("2020-09-01", "2022-08-31", "60", "48", "36"))
        self.assertEqual(by_name["wijkleerbedrijf"]["title"], "Wijkleerbedrijf (regionaal)")
        self.assertEqual(by_name["jongerenspecialist"]["target.placed"], "80")

    def test_file_is_pure_protocol(self):
        _, lines = self.lines()
        for l in lines:
            self.assertRegex(l, r"^(PROGRAM|PROJECT [a-z0-9-]{1,64})( [a-z.]+=\S+)*$")
            self.assertLessEqual(len(l.encode()), 4096)

    def test_load_over_a_raw_socket(self):
        s = self.own_server()
        data, lines = self.lines()
        c = self.conn(s)
        c.send(data)
        self.assertEqual([c.read_response() for _ in lines], ["OK"] * len(lines))
        self.check_region(c)

    def test_load_with_the_client_twice(self):
        s = self.own_server()
        if not os.access(wmtest.CLIENT, os.X_OK):
            self.fail("no client at %s" % wmtest.CLIENT)
        _, lines = self.lines()
        for _ in range(2):  # loading again changes nothing
            with open(REGISTRY_FILE, "rb") as f:
                p = subprocess.run([wmtest.CLIENT, "--host", s.host, "--port", str(s.port), "raw"], stdin=f,
                                   capture_output=True, timeout=wmtest.TIMEOUT)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout.decode().splitlines(), ["OK"] * len(lines))
        self.check_region(self.conn(s))


if __name__ == "__main__":
    unittest.main()
