"""The monitor's words and document from the client: `werkmonitor note` stores a note
from a Markdown file (and refuses a BSN before sending anything); `werkmonitor report`
writes one self-contained HTML file whose inlined answers are the line protocol's for
the same date, period and municipality. (That the page draws them is checked in a real
browser by tests/browser.)"""

import json
import os
import re
import types

import wmtest
from wmtest import uid


def report_data(html):
    m = re.search(r"<script>window\.WM_REPORT = (\{.*?\});</script>", html, re.S)
    assert m, "no WM_REPORT in the report"
    return json.loads(m.group(1))


def typed(row):
    """A protocol row as the report's JSON has it: counts as numbers, '-' as null."""
    out = {}
    for k, v in row.items():
        if v == "-":
            out[k] = None
        elif re.fullmatch(r"\d+", v) and k not in ("project", "category", "title", "text", "principal", "gemeente"):
            out[k] = int(v)
        else:
            out[k] = v
    return out


class ReportTest(wmtest.FreshDaemonTestCase):
    def setUp(self):
        super().setUp()
        self.srv = self.own_server()
        self.port = self.srv.port
        c = self.conn(self.srv)
        with open(os.path.join(wmtest.SOURCE_DIR, "data", "gooi-en-vechtstreek.wm")) as f:
            for line in f:
                self.assertEqual(c.cmd(line.strip()), "OK")
        events = [
            wmtest.event("started", id="r1", person="rp-00000001", gemeente="huizen", date="2021-03-01",
                         project="wijkleerbedrijf"),
            wmtest.event("started", id="r2", person="rp-00000002", gemeente="laren", date="2021-08-01",
                         project="zorgstart"),
            wmtest.event("completed", id="r3", person="rp-00000001", gemeente="huizen", date="2021-09-01",
                         project="wijkleerbedrijf", result="diploma"),
            wmtest.event("placed", id="r4", person="rp-00000001", gemeente="huizen", date="2021-10-01",
                         project="wijkleerbedrijf", sector="zorg"),
        ]
        for e in events:
            self.assertOkSeq(c.cmd(e))
        self.c = c
        self.dir = self.tmpdir("report")

    def client(self, *args, input=None):
        code, out, err = wmtest.run_client(list(args), self.port, input=input)
        return types.SimpleNamespace(returncode=code, stdout=out, stderr=err)

    def test_note_from_markdown(self):
        path = os.path.join(self.dir, "zorgstart.md")
        with open(path, "w") as f:
            f.write("Ruim **80 inwoners** vonden werk.  \r\n\r\n- een\n- twee\n\n\n")
        r = self.client("note", "--period", "2021-H2", "--project", "zorgstart", "--light", "orange", path)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "OK 1"), r.stderr)
        rows = wmtest.parse_block(self.c.cmd("NOTES period=2021-H2"))
        self.assertEqual([(x["project"], x["light"], x["text"]) for x in rows],
                         [("zorgstart", "orange", "Ruim **80 inwoners** vonden werk.\n\n- een\n- twee")])
        # a BSN is refused by the client, naming the line and not the number; nothing is sent
        with open(path, "w") as f:
            f.write("Goed.\nDeelnemer 111.222.333 is gestart.\n")
        r = self.client("note", "--period", "2021-H2", "--project", "zorgstart", path)
        self.assertEqual(r.returncode, 1)
        self.assertIn("line 2", r.stderr)
        self.assertNotIn("111", r.stderr)
        self.assertEqual(len(wmtest.parse_block(self.c.cmd("NOTES"))), 1)
        self.assertEqual(wmtest.parse_block(self.c.cmd("NOTES"))[0]["version"], "1")
        # the server's refusal is shown, exit 1
        with open(path, "w") as f:
            f.write("x\n")
        r = self.client("note", "--period", "2021-H2", "--project", "nope", path)
        self.assertEqual(r.returncode, 1)
        self.assertIn("ERR unknown-project", r.stderr)
        r = self.client("note", "--project", "zorgstart", path)
        self.assertEqual(r.returncode, 64)
        self.assertIn("--period", r.stderr)
        # standard input
        r = self.client("note", "--period", "2021-H2", "-", input="Het programma.\n")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "OK 1"), r.stderr)

    def test_report_is_self_contained_and_equals_the_protocol(self):
        self.assertEqual(self.c.cmd("NOTE period=2021-H2 text=Op%20koers. light=green"), "OK 1")
        out = os.path.join(self.dir, "monitor.html")
        r = self.client("report", "--asof", "2021-12-31", "--period", "2021-H2", "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out, encoding="utf-8") as f:
            html = f.read()
        # nothing to fetch: no linked style or script, no other host (the SVG namespace
        # name is a name, not a request)
        found = re.search(r"<script[^>]+src=|<link[^>]+stylesheet|(src|href)=[\"']?(https?:)?//|url\(|@import",
                          html)
        self.assertIsNone(found, found and html[found.start() - 40:found.end() + 40])
        self.assertIn("<style>", html)
        data = report_data(html)
        self.assertEqual(data["view"], {"asof": "2021-12-31", "gemeente": [], "period": "2021-H2"})
        resp = data["responses"]
        progress = resp["/v1/progress?asof=2021-12-31"]["rows"]
        self.assertEqual(progress, [typed(x) for x in wmtest.parse_block(self.c.cmd("PROGRESS asof=2021-12-31"))])
        self.assertEqual(resp["/v1/projects"]["rows"], [typed(x) for x in wmtest.parse_block(self.c.cmd("PROJECTS"))])
        key = "/v1/count?type=started&by=project&from=2021-07-01&to=2021-12-31"
        self.assertEqual(resp[key]["rows"], [{"project": "zorgstart", "count": 1}])
        key = "/v1/count?type=placed&distinct=person&scope=regional&from=2021-07-01&to=2021-12-31"
        self.assertEqual(resp[key]["rows"], [{"count": 1}])
        self.assertEqual([n["text"] for n in resp["/v1/notes?period=2021-H2"]["rows"]], ["Op koers."])
        # the programme's cumulative line: its start and every quarter end before asof
        ends = sorted(k for k in resp if k.startswith("/v1/progress?asof=") and "&project=" in k)
        self.assertEqual([re.search(r"asof=([\d-]+)", k).group(1) for k in ends],
                         ["2020-01-01", "2020-03-31", "2020-06-30", "2020-09-30", "2020-12-31", "2021-03-31",
                          "2021-06-30", "2021-09-30"])
        # no person value anywhere
        self.assertNotIn("rp-0000000", html)

    def test_report_views_and_refusals(self):
        out = os.path.join(self.dir, "m.html")
        r = self.client("report", "--asof", "2021-06-30", "--period", "2021-03-01..2021-09-30", "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out, encoding="utf-8") as f:
            data = report_data(f.read())
        self.assertEqual(data["view"]["period"], {"from": "2021-03-01", "to": "2021-09-30"})
        # the period is cut at the stand-per date; no notes for a period of one's own
        self.assertIn("/v1/count?type=started&by=project&from=2021-03-01&to=2021-06-30", data["responses"])
        self.assertFalse([k for k in data["responses"] if k.startswith("/v1/notes")])
        r = self.client("report", "--period", "none", "-o", "-")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse([k for k in report_data(r.stdout)["responses"] if "from=" in k])
        for args, mention in ((["--asof", "2021-02-30"], "--asof"), (["--period", "2021-H3"], "--period"),
                              (["--gemeente", "huizen;rm"], "--gemeente"), ([], "-o")):
            r = self.client("report", *args, *(["-o", out] if mention != "-o" else []))
            self.assertEqual(r.returncode, 64, args)
            self.assertIn(mention, r.stderr)
        # a question the server refuses fails the report, saying which
        r = self.client("report", "--gemeente", uid("x"), "-o", out)
        self.assertEqual(r.returncode, 1)
        self.assertIn("ERR", r.stderr)
