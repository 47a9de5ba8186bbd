"""Regression tests for the security review's findings docs/SECURITY.md #3 (a writer can
learn another municipality's facts: here through the live totals) and #4 (small cells
are never hidden: here in the totals), against the real daemon: WATCH on the line
protocol, GET /v1/totals and the event stream GET /v1/totals/stream over HTTP."""

import os

import wmtest
from test_http import request
from test_http_sse import Stream
from wmtest import uid

TOKENS = {"beheer": "a" * 64, "hilversum": "b" * 64, "huizen": "c" * 64, "rapport": "d" * 64,
          "hkijker": "e" * 64, "publiek": "f" * 64, "hpubliek": "9" * 64}
PROJECT = "zorgpad"
FIGURES = ("started", "completed", "placed", "placed.persons", "outflow")


def ev(type_, gemeente, person, **fields):
    base = {"id": uid(type_[0]), "person": person, "gemeente": gemeente, "date": "2023-05-05",
            "project": PROJECT if type_ != "outflow" else None}
    base.update(fields)
    return wmtest.event(type_, **base)


def events(gemeente, started=0, completed=(), placed=(), outflow=0):
    """Event lines for gemeente: started events, completed ones with the results given,
    placed ones for the persons given, outflow events."""
    out = [ev("started", gemeente, "pseudo-%s-s%d" % (gemeente, i)) for i in range(started)]
    out += [ev("completed", gemeente, "pseudo-%s-c%d" % (gemeente, i), result=r) for i, r in enumerate(completed)]
    out += [ev("placed", gemeente, p, sector="zorg") for p in placed]
    out += [ev("outflow", gemeente, "pseudo-%s-o%d" % (gemeente, i), benefit="ww", reason="werk")
            for i in range(outflow)]
    return out


def total_text(line):
    """'TOTAL seq=1 started=2 ...' as a dict of strings (a suppressed figure is '<N')."""
    parts = line.split()
    assert parts[0] == "TOTAL", line
    return dict(p.split("=", 1) for p in parts[1:])


class TotalsTest(wmtest.FreshDaemonTestCase):
    own_daemon_reason = "starts a daemon with a token file of its own and exact totals"

    def setUp(self):
        super().setUp()
        path = os.path.join(self.tmpdir("wm-e2e-totals-"), "tokens")
        wmtest.write_tokens(path, [("beheer", "admin", None, TOKENS["beheer"]),
                                   ("hilversum", "writer", "hilversum", TOKENS["hilversum"]),
                                   ("huizen", "writer", "huizen", TOKENS["huizen"]),
                                   ("rapport", "reader", None, TOKENS["rapport"]),
                                   ("hkijker", "reader", "hilversum", TOKENS["hkijker"])])
        with open(path, "a") as f:  # the public monitor's token, and a bound one with min-count
            f.write(wmtest.token_line("publiek", "reader min-count=5 round=10", None, TOKENS["publiek"]) + "\n")
            f.write(wmtest.token_line("hpubliek", "reader min-count=3", "hilversum", TOKENS["hpubliek"]) + "\n")
        self.http_port = wmtest.free_port()
        self.s = self.own_server(["--tokens", path, "--http-listen", "127.0.0.1:%d" % self.http_port])
        with self.as_("beheer") as c:
            self.assertEqual(c.cmd("PROJECT %s category=zorg" % PROJECT), "OK")

    def as_(self, principal):
        c = self.s.connect()
        self.assertTrue(c.cmd("AUTH " + TOKENS[principal]).startswith("OK %s " % principal))
        return c

    def watch(self, principal):
        c = self.as_(principal)
        self.addCleanup(c.close)
        self.assertEqual(c.cmd("WATCH"), "OK watching")
        return c, total_text(c.readline())

    def stream(self, principal):
        s = Stream(self.http_port, {"Authorization": "Bearer " + TOKENS[principal]})
        self.addCleanup(s.close)
        self.assertEqual(s.status, 200)
        return s

    def post(self, lines):
        """Post lines on a connection of their own; returns the last seq."""
        with self.as_("beheer") as c:
            seq = 0
            for r in c.pipeline(lines):
                seq = self.assertOkSeq(r)
            return seq

    def total_at(self, c, seq):
        """The TOTAL pushed on WATCH connection c for seq (earlier pushes skipped)."""
        while True:
            t = total_text(c.readline(timeout=10))
            if int(t["seq"]) >= seq:
                self.assertEqual(int(t["seq"]), seq, t)
                return t

    def event_at(self, s, seq):
        """The event stream's totals for seq (earlier events skipped)."""
        while True:
            e = s.event(10)
            self.assertIsNotNone(e, "no event for seq %d" % seq)
            if e[0] >= seq:
                self.assertEqual(e[0], seq, e)
                self.assertEqual(e[1]["seq"], seq, e)
                return e[1]

    def http_totals(self, principal):
        r = request(self.http_port, "/v1/totals", token=TOKENS[principal])
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_finding3_bound_principal_totals_show_own_municipality(self):
        """A reader bound to hilversum sees hilversum's five totals in WATCH, /v1/totals and
        the event stream, with the store's seq; an unbound reader sees the region's; many
        watchers of either kind, and of huizen, each get their own in one push."""
        hw, first = self.watch("hkijker")
        self.assertEqual({k: first[k] for k in FIGURES}, {k: "0" for k in FIGURES})
        rw, _ = self.watch("rapport")
        more = [(p, self.watch(p)[0]) for p in ("hkijker", "rapport", "huizen", "hilversum") * 5]
        hs, rs = self.stream("hkijker"), self.stream("rapport")
        # hilversum: 3 started, completed 1 diploma 1 uitgevallen, one person placed twice,
        # 1 outflow; huizen: 4 started, 1 completed, 1 placed, 2 outflow
        seq = self.post(events("hilversum", 3, ("diploma", "uitgevallen"), ("pseudo-h-x", "pseudo-h-x"), 1) +
                        events("huizen", 4, ("certificaat",), ("pseudo-z-x",), 2))
        hilversum = {"started": 3, "completed": 1, "placed": 2, "placed.persons": 1, "outflow": 1}
        huizen = {"started": 4, "completed": 1, "placed": 1, "placed.persons": 1, "outflow": 2}
        region = {k: hilversum[k] + huizen[k] for k in FIGURES}
        want = {"hkijker": hilversum, "hilversum": hilversum, "huizen": huizen, "rapport": region}

        def line(figs):
            return {"seq": str(seq), **{k: str(v) for k, v in figs.items()}}

        self.assertEqual(self.total_at(hw, seq), line(hilversum))
        self.assertEqual(self.total_at(rw, seq), line(region))
        for p, c in more:
            self.assertEqual(self.total_at(c, seq), line(want[p]), p)
        self.assertEqual(self.http_totals("hkijker"), {"seq": seq, **hilversum})
        self.assertEqual(self.http_totals("huizen"), {"seq": seq, **huizen})
        self.assertEqual(self.http_totals("rapport"), {"seq": seq, **region})
        self.assertEqual(self.event_at(hs, seq), {"seq": seq, **hilversum})
        self.assertEqual(self.event_at(rs, seq), {"seq": seq, **region})

        # an event in huizen only: hilversum's watchers get the new seq, their figures unchanged
        seq = self.post(events("huizen", 1))
        huizen["started"] += 1
        region["started"] += 1
        self.assertEqual(self.total_at(hw, seq), line(hilversum))
        self.assertEqual(self.total_at(rw, seq), line(region))
        self.assertEqual(self.event_at(hs, seq), {"seq": seq, **hilversum})
        self.assertEqual(self.http_totals("huizen"), {"seq": seq, **huizen})
        # a retraction in hilversum counts there
        with self.as_("hilversum") as c:
            self.assertEqual(c.cmd(ev("started", "hilversum", "pseudo-h-r", id="own-1")).split()[0], "OK")
            seq = self.assertOkSeq(c.cmd("RETRACT id=own-r1 ref=own-1 reason=test"))
        self.assertEqual(self.total_at(hw, seq), line(hilversum))
        self.assertEqual(self.http_totals("hkijker"), {"seq": seq, **hilversum})

    def test_finding4_min_count_totals_suppressed(self):
        """A principal with min-count=5 round=10 sees a total of 1 to 4 as <5 in WATCH
        (JSON null with "suppressed": true over HTTP and in the stream), every other
        rounded to 10 from its own raw value, and no /metrics; a hilversum-bound one with
        min-count=3 sees hilversum's totals protected likewise; 0 stays 0."""
        pw, first = self.watch("publiek")
        self.assertEqual({k: first[k] for k in FIGURES}, {k: "0" for k in FIGURES})
        hw, _ = self.watch("hpubliek")
        ps, hs = self.stream("publiek"), self.stream("hpubliek")
        seq = self.post(events("hilversum", 23, (), ("pseudo-h-x",), 7) + events("huizen", 2, ("diploma",)))
        self.assertEqual(self.total_at(pw, seq), {"seq": str(seq), "started": "30", "completed": "<5",
                                                  "placed": "<5", "placed.persons": "<5", "outflow": "10"})
        self.assertEqual(self.total_at(hw, seq), {"seq": str(seq), "started": "23", "completed": "0",
                                                  "placed": "<3", "placed.persons": "<3", "outflow": "7"})
        public = {"seq": seq, "started": 30, "completed": None, "placed": None, "placed.persons": None,
                  "outflow": 10, "suppressed": True}
        bound = {"seq": seq, "started": 23, "completed": 0, "placed": None, "placed.persons": None,
                 "outflow": 7, "suppressed": True}
        self.assertEqual(self.http_totals("publiek"), public)
        self.assertEqual(self.event_at(ps, seq), public)
        self.assertEqual(self.http_totals("hpubliek"), bound)
        self.assertEqual(self.event_at(hs, seq), bound)
        # /metrics holds the exact totals: not for a principal with min-count
        r = request(self.http_port, "/metrics", token=TOKENS["publiek"])
        self.assertEqual(r.status, 403, r)
        self.assertEqual(r.json()["error"]["code"], "denied")
        self.assertEqual(request(self.http_port, "/metrics", token=TOKENS["rapport"]).status, 200)
        # an unprotected reader of the same store: the exact figures, no "suppressed"
        self.assertEqual(self.http_totals("rapport"), {"seq": seq, "started": 25, "completed": 1, "placed": 1,
                                                       "placed.persons": 1, "outflow": 7})
