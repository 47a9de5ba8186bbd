"""The monitor page from the daemon (GET / and its files, compiled in) and the notes of
the read API (/v1/notes): content types, a policy that allows nothing from elsewhere,
no token needed for the page but for the data, NOTES as JSON, a gemeente-bound
principal gets no notes."""

import re

import wmtest
from test_http import PROJ, TOKENS, HttpCase


class WebPageTest(HttpCase):
    def test_page_and_files(self):
        r = self.get("/")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["content-type"], "text/html; charset=utf-8")
        page = r.body.decode()
        self.assertIn('<html lang="nl">', page)
        csp = r.headers["content-security-policy"]
        self.assertIn("default-src 'self'", csp)
        self.assertNotIn("unsafe-inline", csp)
        # every file the page names is served, none from another host
        refs = re.findall(r'(?:src|href)="([^"#]+)"', page)
        self.assertGreaterEqual(len(refs), 3)
        for ref in refs:
            if ref.startswith("data:"):
                continue
            self.assertNotRegex(ref, r"^(https?:)?//")
            f = self.get("/" + ref)
            self.assertEqual(f.status, 200, ref)
            self.assertTrue(f.headers["content-type"].startswith(
                "text/css" if ref.endswith(".css") else "text/javascript"), ref)
            self.assertGreater(len(f.body), 100)
        self.assertEqual(self.get("/index.html").body, r.body)
        head = self.get("/", method="HEAD")
        self.assertEqual((head.status, head.body), (200, b""))
        self.assertEqual(int(head.headers["content-length"]), len(r.body))
        for path in ("/nope.js", "/web.h", "/embed.cmake", "/../CMakeLists.txt", "/monitor.js/"):
            self.assertEqual(self.get(path).status, 404, path)
        self.assertEqual(self.get("/", method="POST").status, 405)

    def test_notes(self):
        c = self.conn()
        self.assertEqual(c.cmd("NOTE period=2021-H2 project=%s light=orange text=**Let%%20op**%%0A-%%20een"
                               % PROJ), "OK 1")
        self.assertEqual(c.cmd("NOTE period=2021-H2 text=Programma"), "OK 1")
        r = self.get("/v1/notes?period=2021-H2")
        self.assertEqual(r.status, 200)
        got = r.json()
        self.assertEqual(got["query"], {"period": "2021-H2"})
        rows = got["rows"]
        self.assertEqual([(x["project"], x["category"], x["light"], x["version"], x["text"]) for x in rows],
                         [(None, None, "none", 1, "Programma"),
                          (PROJ, None, "orange", 1, "**Let op**\n- een")])
        line = wmtest.parse_block(c.cmd("NOTES period=2021-H2"))
        self.assertEqual([list(x.keys()) for x in rows], [list(x.keys()) for x in line])
        self.assertEqual([x["at"] for x in rows], [x["at"] for x in line])
        self.assertEqual(self.get("/v1/notes?period=2021-H2&project=%s" % PROJ).json()["rows"][0]["version"],
                         1)
        self.assertEqual(self.get("/v1/notes?period=2030-H1").json()["rows"], [])
        bad = self.get("/v1/notes?period=2021-H3")
        self.assertEqual(bad.status, 400)
        self.assertEqual(bad.json()["error"]["code"], "invalid")
        self.assertEqual(self.get("/v1/notes?colour=red").status, 400)


class WebPageTokenTest(HttpCase):
    with_tokens = True

    def test_page_open_data_closed(self):
        self.assertEqual(self.get("/").status, 200)
        self.assertEqual(self.get("/monitor.js").status, 200)
        self.assertEqual(self.get("/v1/notes").status, 401)
        self.assertEqual(self.get("/v1/notes", token="wrong").status, 401)
        c = self.conn()
        self.assertTrue(c.cmd("AUTH " + TOKENS["beheer"]).startswith("OK"))
        self.assertEqual(c.cmd("PROJECT zorgstart category=scholingsprojecten"), "OK")
        self.assertEqual(c.cmd("NOTE period=2021-H2 project=zorgstart text=Goed"), "OK 1")
        r = self.get("/v1/notes", token=TOKENS["rapport"])
        self.assertEqual([x["text"] for x in r.json()["rows"]], ["Goed"])
        # the notes speak of the region's figures: a gemeente-bound principal gets none
        r = self.get("/v1/notes", token=TOKENS["huizen"])
        self.assertEqual((r.status, r.json()["rows"]), (200, []))
