"""Regression tests for the security review's findings docs/SECURITY.md #1 (one COUNT
makes the daemon hold a reply of any size), #3 (a writer can learn another
municipality's facts about a person) and #4 (readers get near-row-level data: counts of
one are never hidden), against the real daemon, on the line protocol and over HTTP."""

import json
import os

import wmtest
from test_http import request
from wmtest import uid

TOKENS = {"beheer": "a" * 64, "hilversum": "b" * 64, "huizen": "c" * 64, "publiek": "d" * 64,
          "rapport": "e" * 64, "kijker": "f" * 64}
PROJECT = "zorgpad"
WIDEST = "COUNT started by=project,category,scope,gemeente,year,quarter,month,kind,doelgroep,benefit"


DOELGROEPEN = ("overig", "jongeren", "statushouders", "50plus", "arbeidsbeperking", "ggz")


def started(person, gemeente, doelgroep="ggz", month=5, tag="s"):
    return wmtest.event("started", id=uid(tag), person=person, gemeente=gemeente, date="2023-%02d-05" % month,
                        project=PROJECT, doelgroep=doelgroep)


def rows(c, line):
    resp = c.cmd(line)
    assert isinstance(resp, list), resp
    return [dict(kv.split("=", 1) for kv in l.split()[1:]) for l in resp[:-1]]


class AnswersTest(wmtest.FreshDaemonTestCase):
    own_daemon_reason = "starts daemons with token files and limits of their own"

    def daemon(self, flags=()):
        path = os.path.join(self.tmpdir("wm-e2e-answers-"), "tokens")
        wmtest.write_tokens(path, [("beheer", "admin", None, TOKENS["beheer"]),
                                   ("hilversum", "writer", "hilversum", TOKENS["hilversum"]),
                                   ("huizen", "writer", "huizen", TOKENS["huizen"]),
                                   ("rapport", "reader", None, TOKENS["rapport"]),
                                   ("kijker", "reader", "huizen", TOKENS["kijker"])])
        with open(path, "a") as f:  # the public monitor's token
            f.write(wmtest.token_line("publiek", "reader min-count=5 round=10", None, TOKENS["publiek"]) + "\n")
        self.http_port = wmtest.free_port()
        s = self.own_server(["--tokens", path, "--http-listen", "127.0.0.1:%d" % self.http_port] + list(flags))
        with self.as_(s, "beheer") as c:
            self.assertEqual(c.cmd("PROJECT %s category=zorg" % PROJECT), "OK")
        return s

    def as_(self, s, principal):
        c = s.connect()
        self.assertTrue(c.cmd("AUTH " + TOKENS[principal]).startswith("OK %s " % principal))
        return c

    def test_finding1_count_reply_of_any_size(self):
        """A COUNT with more groups than max-rows answers ERR too-large naming the limit
        and how to narrow it; on HTTP 413 with the same code; a narrower one is answered."""
        s = self.daemon(["--max-rows", "20"])
        with self.as_(s, "beheer") as c:
            lines = [started("pseudo-%04d" % i, ("huizen", "hilversum")[i % 2], DOELGROEPEN[i // 12], i % 12 + 1)
                     for i in range(60)]
            for r in c.pipeline(lines):
                self.assertTrue(r.startswith("OK "), r)
            self.assertErr(c.cmd(WIDEST), "too-large", "max-rows", "20", "by=")
            self.assertEqual(c.cmd("PING"), "PONG")
            self.assertEqual(len(rows(c, "COUNT started by=gemeente")), 2)
        r = request(self.http_port, "/v1/count?type=started&by=gemeente,month,kind,doelgroep,benefit&"
                    "from=2023-01-01", token=TOKENS["rapport"])
        self.assertEqual(r.status, 413, r)
        self.assertEqual(json.loads(r.body)["error"]["code"], "too-large")

    def test_finding3_writer_learns_other_municipality_facts(self):
        """The probe of the review: hilversum's writer counts persons with doelgroep=ggz,
        posts its own event for a person huizen registered, counts again. With row-level
        security it sees its own events only: 0, then 1, so it learns nothing."""
        s = self.daemon()
        person = "pseudo-target"
        with self.as_(s, "huizen") as c:
            self.assertTrue(c.cmd(started(person, "huizen")).startswith("OK "))
            self.assertEqual(rows(c, "COUNT started distinct=person doelgroep=ggz")[0]["count"], "1")
        with self.as_(s, "hilversum") as c:
            before = rows(c, "COUNT started distinct=person doelgroep=ggz")[0]["count"]
            self.assertTrue(c.cmd(started(person, "hilversum", tag="h")).startswith("OK "))
            after = rows(c, "COUNT started distinct=person doelgroep=ggz")[0]["count"]
            self.assertEqual((before, after), ("0", "1"))
            # a filter naming another municipality matches nothing; by=gemeente shows its own
            self.assertEqual(rows(c, "COUNT started gemeente=huizen")[0]["count"], "0")
            self.assertEqual([r["gemeente"] for r in rows(c, "COUNT started by=gemeente")], ["hilversum"])
            prog = rows(c, "PROGRESS project=%s" % PROJECT)
            self.assertEqual([r["actual"] for r in prog if r["indicator"] == "started"], ["1", "1"])
        # a bound reader over HTTP likewise; an unbound reader sees the region
        r = request(self.http_port, "/v1/count?type=started&by=gemeente", token=TOKENS["kijker"])
        self.assertEqual([row["gemeente"] for row in r.json()["rows"]], ["huizen"])
        with self.as_(s, "rapport") as c:
            self.assertEqual(rows(c, "COUNT started distinct=person")[0]["count"], "1")
            self.assertEqual(len(rows(c, "COUNT started by=gemeente")), 2)

    def test_finding4_near_row_level_data_small_cells(self):
        """A principal with min-count=5 round=10 sees a count of 1 to 4 as <5 (JSON null
        and "suppressed": true), every other rounded to 10 from its own raw value, and
        PROGRESS never lets a hidden project row be read back from the program's."""
        s = self.daemon()
        with self.as_(s, "beheer") as c:
            self.assertEqual(c.cmd("PROJECT klein category=zorg"), "OK")
            lines = [started("pseudo-h-%04d" % i, "hilversum") for i in range(23)]
            lines.append(started("pseudo-z-0000", "huizen"))
            lines.append(wmtest.event("started", id=uid("k"), person="pseudo-k-0000", gemeente="huizen",
                                      date="2023-05-06", project="klein", doelgroep="ggz"))
            for r in c.pipeline(lines):
                self.assertTrue(r.startswith("OK "), r)
            # for an ordinary reader: the exact counts
            self.assertEqual([r["count"] for r in rows(c, "COUNT started by=gemeente")], ["23", "2"])
        with self.as_(s, "publiek") as c:
            got = {r["gemeente"]: r["count"] for r in rows(c, "COUNT started by=gemeente")}
            self.assertEqual(got, {"hilversum": "20", "huizen": "<5"})
            self.assertEqual(rows(c, "COUNT started")[0]["count"], "30")  # 25 rounded, its own value
            prog = {(r["project"], r["indicator"]): r for r in rows(c, "PROGRESS")}
            self.assertEqual(prog[("klein", "started")]["actual"], "<5")
            self.assertEqual(prog[("klein", "started")]["status"], "none")
            # the program's row (25) minus zorgpad's (24) would give klein's 1: zorgpad's
            # is hidden too
            self.assertEqual(prog[(PROJECT, "started")]["actual"], "<5")
            self.assertEqual(prog[("*", "started")]["actual"], "30")
        r = request(self.http_port, "/v1/count?type=started&by=gemeente", token=TOKENS["publiek"])
        self.assertEqual(r.status, 200, r)
        got = {row["gemeente"]: row for row in r.json()["rows"]}
        self.assertEqual(got["huizen"]["count"], None)
        self.assertIs(got["huizen"]["suppressed"], True)
        self.assertEqual(got["hilversum"]["count"], 20)
        self.assertNotIn("suppressed", got["hilversum"])
