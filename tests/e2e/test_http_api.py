"""The HTTP read API's queries (proto/HTTP.md) on a real daemon: /v1/count,
/v1/progress and /v1/projects answer as JSON what the same COUNT, PROGRESS and PROJECTS
answer over the line protocol (for an open-mode admin and for a gemeente-bound token
alike), as CSV (RFC 4180) and as Excel CSV (';', BOM), with their errors, HEAD, and
ETag/304 that follows events and registry changes."""

import csv
import io
import json
import unittest
import urllib.parse

import wmtest
from test_http import TOKENS, HttpCase, request

NUMERIC = {"count", "actual", "target", "expected", "target.started", "target.completed",
           "target.placed", "year"}

PROJ = "api-zorg"
REGISTRY = [
    "PROGRAM start=2020-01-01 end=2023-12-31 target.started=1200 target.completed=860 target.placed=500",
    "PROJECT %s category=scholing start=2020-09-01 end=2023-12-31 target.started=48 target.placed=36 "
    "title=Zorg%%20Start%%20%%26%%20Werk,%%20%%22samen%%22" % PROJ,
    "PROJECT api-ggz category=begeleiding scope=local target.started=12",
    "PROJECT api-leeg category=wsp",
]


def events():
    """A small varied store: every type, several gemeenten, years and values."""
    out = []
    people = ["pseudo-api-%04d" % i for i in range(12)]
    n = 0
    for i, (g, y) in enumerate([(g, y) for g in ("huizen", "hilversum", "weesp") for y in (2021, 2022, 2023)]):
        p = people[i % len(people)]
        d = "%d-%02d-%02d" % (y, 1 + i % 12, 1 + i % 27)
        proj = PROJ if i % 3 else "api-ggz"
        n += 1
        out.append(wmtest.event("started", id="api-%d" % n, person=p, gemeente=g, date=d, project=proj,
                                kind=["scholing", "taal", "overig"][i % 3]))
        n += 1
        out.append(wmtest.event("placed", id="api-%d" % n, person=p, gemeente=g, date=d, project=proj,
                                sector=["zorg", "bouw", "ict"][i % 3], months=str(3 * i)))
        n += 1
        out.append(wmtest.event("completed", id="api-%d" % n, person=people[(i + 5) % 12], gemeente=g, date=d,
                                project=PROJ, result=["diploma", "uitgevallen", "certificaat"][i % 3]))
        n += 1
        out.append(wmtest.event("outflow", id="api-%d" % n, person=p, gemeente=g, date=d,
                                benefit="pw", reason="werk"))
    return out


def row_json(row):
    """A ROW's pairs (unescaped) as the JSON object the API must give for it."""
    out = {}
    for k, v in row.items():
        if v == "-":
            out[k] = None
        elif k in NUMERIC and v.isdigit():
            out[k] = int(v)
        else:
            out[k] = v
    return out


def block_json(resp):
    return [row_json(r) for r in wmtest.parse_block(resp)]


def line_for(verb, params):
    """The protocol line of a query given as HTTP parameters."""
    parts = [verb]
    for k, v in params:
        parts.append(wmtest.escape(v) if k == "type" else "%s=%s" % (k, wmtest.escape(v)))
    return " ".join(parts)


COUNTS = [
    [("type", "started")],
    [("type", "placed"), ("by", "sector")],
    [("type", "started"), ("by", "project,gemeente,year")],
    [("type", "placed"), ("by", "gemeente,quarter"), ("from", "2021-06-01"), ("to", "2023-03-31")],
    [("type", "completed"), ("by", "result,month"), ("gemeente", "huizen,weesp")],
    [("type", "placed"), ("by", "project,durable"), ("distinct", "person")],
    [("type", "outflow"), ("by", "project,category,scope")],
    [("type", "started"), ("by", "kind"), ("year", "2022"), ("project", PROJ)],
    [("type", "started"), ("by", "project"), ("from", "2030-01-01")],
    [("type", "placed"), ("by", "halfyear,gemeente"), ("halfyear", "2021-H2,2022-H1,2023-H1")],
]
PROGRESSES = [
    [],
    [("asof", "2022-06-30")],
    [("asof", "2023-12-31"), ("category", "scholing")],
    [("asof", "2021-01-01"), ("project", PROJ)],
    [("asof", "2023-12-31"), ("gemeente", "huizen,weesp")],
]


class HttpApiTest(HttpCase):
    registry = REGISTRY

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.server.connect() as c:
            for r in c.pipeline(events()):
                assert r.startswith("OK"), r

    def api(self, path, params=(), **kw):
        q = urllib.parse.urlencode(list(params))
        return self.get(path + ("?" + q if q else ""), **kw)

    def test_count_json_equals_the_line_protocol(self):
        c = self.conn()
        for params in COUNTS:
            want = block_json(c.cmd(line_for("COUNT", params)))
            r = self.api("/v1/count", params)
            self.assertEqual(r.status, 200, (params, r))
            self.assertEqual(r.headers["content-type"], "application/json")
            doc = r.json()
            self.assertEqual(list(doc), ["query", "seq", "rows"])
            self.assertEqual(doc["rows"], want, params)
            self.assertEqual(doc["query"], dict(params))
            self.assertEqual(list(doc["query"]), [k for k, _ in params])
            for row in doc["rows"]:
                self.assertIsInstance(row["count"], int)
                if "year" in row:
                    self.assertIsInstance(row["year"], int)
            # the key order of every row is the ROW's
            rows = wmtest.parse_block(c.cmd(line_for("COUNT", params)))
            for got, line_row in zip(doc["rows"], rows):
                self.assertEqual(list(got), list(line_row))

    def test_progress_and_projects_json_equal_the_line_protocol(self):
        c = self.conn()
        for params in PROGRESSES:
            want = block_json(c.cmd(line_for("PROGRESS", params)))
            doc = self.api("/v1/progress", params).json()
            self.assertEqual(doc["rows"], want, params)
            self.assertEqual(doc["query"], dict(params))
        program = [r for r in doc["rows"] if r["project"] == "*"]
        self.assertEqual(len(program), 3)
        self.assertEqual({r["category"] for r in program}, {"*"})
        want = block_json(c.cmd("PROJECTS"))
        doc = self.api("/v1/projects").json()
        self.assertEqual(doc["rows"], want)
        self.assertEqual(doc["query"], {})
        z = [r for r in doc["rows"] if r["project"] == PROJ][0]
        self.assertEqual(z["title"], 'Zorg Start & Werk, "samen"')
        self.assertEqual(z["target.started"], 48)
        self.assertIsNone(z["target.completed"])
        self.assertIsNone(doc["rows"][-1]["scope"])

    def test_seq_is_the_stores(self):
        c = self.conn()
        self.assertEqual(c.cmd("WATCH"), "OK watching")
        seq = int(c.readline().split()[1].split("=")[1])
        for path, params in (("/v1/count", [("type", "placed")]), ("/v1/progress", []), ("/v1/projects", [])):
            self.assertEqual(self.api(path, params).json()["seq"], seq, path)

    def test_csv_and_excel(self):
        c = self.conn()
        params = [("type", "started"), ("by", "project,gemeente,year")]
        want = wmtest.parse_block(c.cmd(line_for("COUNT", params)))
        r = self.api("/v1/count", params + [("format", "csv")])
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["content-type"], "text/csv; charset=utf-8; header=present")
        self.assertEqual(r.headers["content-disposition"], 'attachment; filename="werkmonitor-count-started.csv"')
        self.assertFalse(r.body.startswith(b"\xef\xbb\xbf"))
        self.assertTrue(r.body.endswith(b"\r\n"))
        rows = list(csv.reader(io.StringIO(r.body.decode("utf-8"), newline="")))
        self.assertEqual(rows[0], ["project", "gemeente", "year", "count"])
        self.assertEqual(rows[1:], [[w["project"], w["gemeente"], w["year"], w["count"]] for w in want])
        for form in ([("format", "excel")], [("format", "csv"), ("sep", "semicolon")], [("format", "csv"), ("sep", ";")]):
            r = self.api("/v1/count", params + form)
            self.assertEqual(r.status, 200, form)
            self.assertTrue(r.body.startswith(b"\xef\xbb\xbf"), form)
            rows = list(csv.reader(io.StringIO(r.body[3:].decode("utf-8"), newline=""), delimiter=";"))
            self.assertEqual(rows[0], ["project", "gemeente", "year", "count"], form)
            self.assertEqual(len(rows) - 1, len(want))
        # quoting: the title holds a comma and quotes; unset values are empty
        r = self.api("/v1/projects", [("format", "csv")])
        self.assertEqual(r.headers["content-disposition"], 'attachment; filename="werkmonitor-projects.csv"')
        self.assertIn(b'"Zorg Start & Werk, ""samen"""', r.body)
        rows = list(csv.reader(io.StringIO(r.body.decode("utf-8"), newline="")))
        self.assertEqual(rows[0], ["project", "category", "scope", "start", "end", "target.started",
                                   "target.completed", "target.placed", "title"])
        z = [x for x in rows if x[0] == PROJ][0]
        self.assertEqual(z, [PROJ, "scholing", "regional", "2020-09-01", "2023-12-31", "48", "", "36",
                             'Zorg Start & Werk, "samen"'])
        self.assertEqual(rows[-1][:3], ["*", "*", ""])
        r = self.api("/v1/progress", [("asof", "2022-06-30"), ("format", "excel")])
        self.assertEqual(r.headers["content-disposition"], 'attachment; filename="werkmonitor-progress.csv"')
        rows = list(csv.reader(io.StringIO(r.body[3:].decode("utf-8"), newline=""), delimiter=";"))
        self.assertEqual(rows[0], ["project", "category", "indicator", "actual", "target", "expected", "status"])

    def test_client_writes_what_the_api_writes(self):
        """One formatter: the client's --format csv/json, --sep ';' and --excel give the
        bytes the HTTP API gives for the same query."""
        cases = [
            (["count", "started", "by=project,gemeente,year"], "/v1/count?type=started&by=project,gemeente,year"),
            (["progress", "asof=2022-06-30"], "/v1/progress?asof=2022-06-30"),
            (["projects"], "/v1/projects"),
        ]
        forms = [(["--format", "csv"], "format=csv"), (["--format", "csv", "--sep", ";"], "format=csv&sep=semicolon"),
                 (["--excel"], "format=excel")]
        for args, path in cases:
            for opts, q in forms:
                rc, out, err = wmtest.run_client(args + opts, self.server.port)
                self.assertEqual(rc, 0, err)
                body = self.get(path + ("&" if "?" in path else "?") + q).body
                self.assertEqual(out.encode("utf-8"), body, (args, opts))
            rc, out, err = wmtest.run_client(args + ["--format", "json"], self.server.port)
            self.assertEqual(rc, 0, err)
            self.assertEqual(json.loads(out), self.get(path).json()["rows"], args)

    def test_client_output_options(self):
        rc, out, err = wmtest.run_client(["count", "started", "by=gemeente", "--format", "csv", "--sep", ";"],
                                         self.server.port)
        self.assertEqual(rc, 0, err)
        self.assertTrue(out.startswith("\ufeffgemeente;count\r\n"), out)
        for bad, msg in ((["--sep", ";"], "--sep goes with --format csv"),
                         (["--format", "json", "--excel"], "--excel writes CSV"),
                         (["--format", "csv", "--sep", "tab"], "--sep is ',' or ';'")):
            rc, out, err = wmtest.run_client(["count", "started"] + bad, self.server.port)
            self.assertEqual(rc, 64, (bad, err))
            self.assertIn(msg, err)

    def test_head(self):
        for path in ("/v1/count?type=placed&by=sector", "/v1/progress", "/v1/projects?format=csv"):
            g = self.get(path)
            h = self.get(path, method="HEAD")
            self.assertEqual(h.status, 200)
            self.assertEqual(h.body, b"")
            self.assertEqual(int(h.headers["content-length"]), len(g.body), path)

    def test_errors(self):
        cases = [
            ("/v1/count", 400, "syntax", "missing type"),
            ("/v1/count?type=hired", 400, "invalid", "type"),
            ("/v1/count?type=started&by=sector", 400, "invalid", "by"),
            ("/v1/count?type=placed&quarter=2021-Q5", 400, "invalid", "quarter"),
            ("/v1/count?type=placed&from=2022-01-01&to=2021-12-31", 400, "invalid", "from"),
            ("/v1/count?type=placed&distinct=id", 400, "invalid", "distinct"),
            ("/v1/count?type=placed&project=nope", 404, "unknown-project", "nope"),
            ("/v1/count?type=placed&by=sector&by=year", 400, "syntax", "duplicate key 'by'"),
            ("/v1/count?type=placed&gemeente=%zz", 400, "syntax", "gemeente"),
            ("/v1/count?type=placed&Sector=zorg", 400, "syntax", "Sector"),
            ("/v1/count?placed", 400, "syntax", "want key=value"),
            ("/v1/count?type=placed&format=xml", 400, "invalid", "format"),
            ("/v1/count?type=placed&sep=semicolon", 400, "invalid", "sep"),
            ("/v1/count?type=placed&format=csv&sep=tab", 400, "invalid", "sep"),
            ("/v1/progress?asof=2023-02-30", 400, "invalid", "asof"),
            ("/v1/progress?project=nope", 404, "unknown-project", "nope"),
            ("/v1/progress?x=1", 400, "invalid", "x"),
            ("/v1/projects?x=1", 400, "invalid", "unknown parameter 'x'"),
        ]
        c = self.conn()
        for path, status, code, mention in cases:
            self.assertHttpErr(self.get(path), status, code, mention)
        # the same messages as the line protocol's
        r = self.get("/v1/count?type=started&by=sector").json()
        self.assertEqual("ERR %s %s" % (r["error"]["code"], r["error"]["message"]), c.cmd("COUNT started by=sector"))

    def test_decoding_of_values(self):
        # + and %20 are spaces, %2C a literal comma (then part of the one value)
        a = self.get("/v1/count?type=started&by=gemeente&gemeente=huizen%2Cweesp").json()
        b = self.get("/v1/count?type=started&by=gemeente&gemeente=huizen,weesp").json()
        self.assertEqual(a["rows"], b["rows"])
        self.assertEqual(a["query"]["gemeente"], "huizen,weesp")
        # "a b" (a + decoded) is the canonical a-b (PROTOCOL.md section 4): not registered
        r = self.get("/v1/count?type=started&project=a+b")
        self.assertHttpErr(r, 404, "unknown-project", "'a-b'")
        r = self.get("/v1/count?type=started&project=a_b")
        self.assertHttpErr(r, 400, "invalid", "project")

    def test_etag_follows_events_and_registry(self):
        for path in ("/v1/count?type=placed&by=sector", "/v1/progress?asof=2023-01-01", "/v1/projects"):
            etag = self.get(path).headers["etag"]
            self.assertEqual(self.get(path, headers={"If-None-Match": etag}).status, 304, path)
        c = self.conn()
        # an event changes the counts' tag
        path = "/v1/count?type=placed&by=sector"
        etag = self.get(path).headers["etag"]
        self.assertOkSeq(c.cmd(wmtest.event("placed", id=wmtest.uid("api"), person="pseudo-api-etag", gemeente="laren",
                                            date="2022-02-02", project=PROJ, sector="horeca")))
        r = self.get(path, headers={"If-None-Match": etag})
        self.assertEqual(r.status, 200)
        self.assertIn({"sector": "horeca", "count": 1}, r.json()["rows"])
        # a registry change (no seq of its own) changes the projects' tag
        path = "/v1/projects"
        etag = self.get(path).headers["etag"]
        self.assertEqual(c.cmd("PROJECT api-leeg title=Nu%20met%20titel"), "OK")
        r = self.get(path, headers={"If-None-Match": etag})
        self.assertEqual(r.status, 200)
        self.assertIn("Nu met titel", [x["title"] for x in r.json()["rows"]])


class HttpApiAuthTest(HttpCase):
    """A gemeente-bound token sees over HTTP what it sees over the line protocol."""

    with_tokens = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.server.connect() as c:
            assert c.cmd("AUTH " + TOKENS["beheer"]).startswith("OK")
            for r in c.pipeline(REGISTRY + events()):
                assert r.startswith("OK"), r

    def test_gemeente_bound_token_equals_its_line_protocol_answers(self):
        c = self.conn()
        self.assertTrue(c.cmd("AUTH " + TOKENS["huizen"]).startswith("OK huizen"))
        for params in COUNTS[:5]:
            want = block_json(c.cmd(line_for("COUNT", params)))
            q = urllib.parse.urlencode(params)
            r = request(self.http_port, "/v1/count?" + q, token=TOKENS["huizen"])
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["rows"], want, params)
        want = block_json(c.cmd("PROGRESS asof=2023-12-31"))
        r = request(self.http_port, "/v1/progress?asof=2023-12-31", token=TOKENS["huizen"])
        self.assertEqual(r.json()["rows"], want)

    def test_queries_need_a_token(self):
        for path in ("/v1/count?type=placed", "/v1/progress", "/v1/projects"):
            self.assertHttpErr(self.get(path), 401, "auth-required")
            self.assertHttpErr(self.get(path, token="wrong"), 401, "auth-failed")
            self.assertEqual(self.get(path, token=TOKENS["rapport"]).status, 200)

    def test_etag_is_per_principal(self):
        a = self.get("/v1/projects", token=TOKENS["rapport"]).headers["etag"]
        b = self.get("/v1/projects", token=TOKENS["huizen"]).headers["etag"]
        self.assertNotEqual(a, b)
        self.assertEqual(self.get("/v1/projects", token=TOKENS["huizen"], headers={"If-None-Match": a}).status, 200)


if __name__ == "__main__":
    unittest.main()
