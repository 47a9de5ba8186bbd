"""The writers' side of PROTOCOL.md section 4 against the real daemon: REPLACE (new,
identical, different, retracted; every figure follows, in one commit and after a
restart), the conflict of an EVENT re-sent for a retracted id, CHECK (the ERR that EVENT
would give, nothing stored, no wait for a sync) and SHOW (every version of an id, oldest
first, never a person value; a writer its own, an admin anyone's or by seq)."""

import os
import re
import secrets
import time

import wmtest
from wmtest import event, uid

PROJ = "writers-p"
PROJ2 = "writers-q"
PRINCIPALS = [  # principal, role, gemeente
    ("beheer", "admin", None),
    ("rapport", "reader", None),
    ("wsp", "writer", None),
    ("hilversum", "writer", "hilversum"),
]
TOKENS = {p: secrets.token_hex(32) for p, _, _ in PRINCIPALS}
TOTAL_RE = re.compile(r"TOTAL seq=(\d+) started=(\d+) completed=(\d+) placed=(\d+) placed\.persons=(\d+) "
                      r"outflow=(\d+)")


def fields(type_="placed", **kw):
    """The fields of a valid event of type_ (a fresh id), kw overriding (None drops)."""
    f = dict(id=uid("wr"), person="pseudo-writers-01", gemeente="hilversum", date="2022-03-03")
    if type_.lower() != "outflow":
        f["project"] = PROJ
    f.update({"started": {}, "completed": {"result": "diploma"}, "placed": {"sector": "zorg"},
              "outflow": {"benefit": "pw", "reason": "werk"}}.get(type_.lower(), {}))
    f.update(kw)
    return f


def line(verb, type_="placed", **kw):
    """A VERB line (EVENT, REPLACE, CHECK) of fields(type_, **kw)."""
    return verb + event(type_, **fields(type_, **kw))[len("EVENT"):]


class WritersBase(wmtest.TestCase):
    """A daemon with a token file, shared by the class's tests; each test uses ids and
    persons of its own, and a project of its own where it counts."""

    own_daemon_reason = "needs a daemon with a token file of its own"

    @classmethod
    def setUpClass(cls):
        cls.skip_if_external()
        cls.tmp = cls.class_tmpdir("wm-e2e-writers-")
        cls.tokens = os.path.join(cls.tmp, "tokens")
        wmtest.write_tokens(cls.tokens, [(p, r, g, TOKENS[p]) for p, r, g in PRINCIPALS])
        cls.flags = ["--tokens", cls.tokens]
        super().setUpClass()
        c = cls.login("beheer")
        for p in (PROJ, PROJ2):
            assert c.cmd("PROJECT %s category=writers" % p) == "OK"
        c.close()

    @classmethod
    def login(cls, principal):
        c = cls.server.connect()
        resp = c.cmd("AUTH " + TOKENS[principal])
        assert resp.startswith("OK %s " % principal), resp
        return c

    def as_(self, principal):
        c = self.login(principal)
        self._conns.append(c)
        return c

    def new_project(self, **targets):
        """A project of this test alone (so its counts are this test's)."""
        name = uid("wp").lower().replace("_", "-")
        extra = "".join(" %s=%s" % kv for kv in targets.items())
        self.assertEqual(self.as_("beheer").cmd("PROJECT %s category=writers%s" % (name, extra)), "OK")
        return name

    def stat(self, c, name):
        return int({r["stat"]: r["value"] for r in c.rows("STATS")}[name])

    def count(self, c, query):
        return c.cmd("COUNT " + query)

    def assertReplaced(self, resp, old):
        m = re.fullmatch(r"OK ([1-9][0-9]*) replaced=([0-9]+)", resp)
        self.assertIsNotNone(m, "expected 'OK <seq> replaced=%d', got %r" % (old, resp))
        self.assertEqual(int(m.group(2)), old)
        return int(m.group(1))


class ReplaceTest(WritersBase):

    def test_new_identical_different_and_retracted(self):
        c = self.as_("wsp")
        p = self.new_project()
        id_ = uid("t")
        # no event with the id yet: stored
        s1 = self.assertOkSeq(c.cmd(line("REPLACE", id=id_, project=p, sector="zorg")))
        # an identical live one: DUP
        self.assertDup(c.cmd(line("REPLACE", id=id_, project=p, sector="zorg")), s1)
        self.assertDup(c.cmd(line("EVENT", id=id_, project=p, sector="zorg")), s1)
        # a different one: the old retracted, the new stored under the same id
        s2 = self.assertReplaced(c.cmd(line("REPLACE", id=id_, project=p, sector="bouw")), s1)
        self.assertGreater(s2, s1)
        self.assertEqual(c.rows("COUNT placed by=sector project=%s" % p), [{"sector": "bouw", "count": "1"}])
        # the old content by EVENT is a conflict now, the new one a DUP of s2
        self.assertErr(c.cmd(line("EVENT", id=id_, project=p, sector="zorg")), "conflict", id_, "seq %d" % s2,
                       "REPLACE")
        self.assertDup(c.cmd(line("EVENT", id=id_, project=p, sector="bouw")), s2)
        # retracted: REPLACE stores it again, even unchanged
        r = self.assertOkSeq(c.cmd("RETRACT id=%s ref=%s" % (uid("r"), id_)))
        self.assertEqual(c.cmd("COUNT placed project=%s" % p), ["ROW count=0", "END 1"])
        s3 = self.assertReplaced(c.cmd(line("REPLACE", id=id_, project=p, sector="bouw")), s2)
        self.assertEqual(s3, r + 1)
        self.assertEqual(c.cmd("COUNT placed project=%s" % p), ["ROW count=1", "END 1"])

    def test_event_resent_for_a_retracted_id_is_a_conflict_naming_the_retraction(self):
        # regression: re-sending a retracted event answered a bare DUP, as if it counted
        c = self.as_("wsp")
        id_ = uid("t")
        ev = line("EVENT", id=id_)
        s = self.assertOkSeq(c.cmd(ev))
        r = self.assertOkSeq(c.cmd("RETRACT id=%s ref=%s" % (uid("r"), id_)))
        resp = c.cmd(ev)
        self.assertEqual(resp, "ERR conflict id '%s' (seq %d) was retracted (seq %d); send REPLACE to store it "
                               "again" % (id_, s, r))
        # with other content as well; and nothing was stored
        last = self.stat(c, "last_seq")
        self.assertErr(c.cmd(line("EVENT", id=id_, sector="ict")), "conflict", "was retracted (seq %d)" % r)
        self.assertEqual(self.stat(c, "last_seq"), last)

    def test_every_figure_follows(self):
        c = self.as_("wsp")
        p = self.new_project(**{"target.placed": 4, "start": "2022-01-01", "end": "2022-12-31"})
        p2 = self.new_project()
        a, b = uid("t"), uid("t")
        pa, pb, pc = ("pseudo-follow-" + uid(x) for x in "abc")
        self.assertOkSeq(c.cmd(line("EVENT", id=a, project=p, person=pa, date="2022-03-03", months=12)))
        sb = self.assertOkSeq(c.cmd(line("EVENT", id=b, project=p, person=pb, date="2022-03-04", months=3)))
        self.assertEqual(c.rows("PROGRESS asof=2022-12-31 project=%s" % p)[2]["actual"], "2")
        w = self.as_("rapport")
        self.assertEqual(w.cmd("WATCH"), "OK watching")
        before = TOTAL_RE.fullmatch(w.readline(5))
        self.assertIsNotNone(before)
        # b moves: another person, month, gemeente, project and duration
        self.assertReplaced(c.cmd(line("REPLACE", id=b, project=p2, person=pc, gemeente="huizen",
                                       date="2022-07-15", months=1)), sb)
        # month cells (LMDB) and edge days and enum combinations (the memory part)
        self.assertEqual(c.rows("COUNT placed by=month,gemeente project=%s" % p),
                         [{"month": "2022-03", "gemeente": "hilversum", "count": "1"}])
        self.assertEqual(c.rows("COUNT placed by=project,month,gemeente project=%s,%s" % (p, p2)),
                         [{"project": p, "month": "2022-03", "gemeente": "hilversum", "count": "1"},
                          {"project": p2, "month": "2022-07", "gemeente": "huizen", "count": "1"}])
        self.assertEqual(c.cmd("COUNT placed project=%s from=2022-03-04 to=2022-03-04" % p),
                         ["ROW count=0", "END 1"])
        self.assertEqual(c.cmd("COUNT placed project=%s from=2022-07-15 to=2022-07-15" % p2),
                         ["ROW count=1", "END 1"])
        self.assertEqual(c.rows("COUNT placed by=durable,sector project=%s,%s" % (p, p2)),
                         [{"durable": "no", "sector": "zorg", "count": "1"},
                          {"durable": "yes", "sector": "zorg", "count": "1"}])
        # distinct persons: pb no longer counts anywhere, pc does in p2
        self.assertEqual(c.cmd("COUNT placed distinct=person project=%s" % p), ["ROW count=1", "END 1"])
        self.assertEqual(c.rows("COUNT placed distinct=person by=project project=%s,%s" % (p, p2)),
                         [{"project": p, "count": "1"}, {"project": p2, "count": "1"}])
        # PROGRESS: one person placed in p, one in p2
        self.assertEqual(c.rows("PROGRESS asof=2022-12-31 project=%s" % p)[2]["actual"], "1")
        self.assertEqual(c.rows("PROGRESS asof=2022-12-31 project=%s" % p2)[2]["actual"], "1")
        # WATCH: a TOTAL follows the commit; placed unchanged (one out, one in)
        after = None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            after = TOTAL_RE.fullmatch(w.readline(5))
            if after and int(after.group(1)) > int(before.group(1)):
                break
        self.assertGreater(int(after.group(1)), int(before.group(1)))
        self.assertEqual(after.group(4), before.group(4))

    def test_refusals_as_event_gives_them(self):
        c = self.as_("wsp")
        for bad, code, mention in (
                (line("REPLACE", colour="red"), "invalid", "colour"),
                (line("REPLACE", sector=None), "invalid", "sector"),
                (line("REPLACE", project="no-such-project"), "unknown-project", "no-such-project"),
                ("REPLACE", "syntax", "type"),
                (line("REPLACE", person="123456782"), "invalid", "BSN")):
            self.assertErr(c.cmd(bad), code, mention)
            self.assertEqual(c.cmd(bad), c.cmd("EVENT" + bad[len("REPLACE"):]))
        self.assertErr(self.as_("hilversum").cmd(line("REPLACE", gemeente="huizen")), "denied", "huizen")
        self.assertErr(self.as_("rapport").cmd(line("REPLACE")), "denied", "REPLACE")
        # an id used by a retraction is no event's id
        rid = uid("r")
        self.assertOkSeq(c.cmd("RETRACT id=%s ref=%s" % (rid, self._event(c))))
        self.assertErr(c.cmd(line("REPLACE", id=rid)), "conflict", rid, "retraction")

    def _event(self, c):
        id_ = uid("t")
        self.assertOkSeq(c.cmd(line("EVENT", id=id_)))
        return id_

    def test_ids_belong_to_their_principal(self):
        id_ = uid("t")
        s = self.assertOkSeq(self.as_("wsp").cmd(line("EVENT", id=id_)))
        # hilversum's REPLACE of the same id is its own first version
        s2 = self.assertOkSeq(self.as_("hilversum").cmd(line("REPLACE", id=id_, sector="ict")))
        self.assertGreater(s2, s)
        self.assertDup(self.as_("wsp").cmd(line("EVENT", id=id_)), s)

    def test_one_pipeline_one_answer_each_in_order(self):
        c = self.as_("wsp")
        p = self.new_project()
        id_ = uid("t")
        got = c.pipeline([line("EVENT", id=id_, project=p), line("REPLACE", id=id_, project=p, sector="ict"),
                          line("REPLACE", id=id_, project=p, sector="ict"),
                          line("REPLACE", id=id_, project=p, sector="bouw"),
                          "COUNT placed by=sector project=%s" % p])
        s0 = self.assertOkSeq(got[0])
        s1 = self.assertReplaced(got[1], s0)
        self.assertDup(got[2], s1)
        self.assertReplaced(got[3], s1)
        self.assertEqual(got[4], ["ROW sector=bouw count=1", "END 1"])


class ShowTest(WritersBase):

    def test_every_version_oldest_first_never_the_person(self):
        c = self.as_("wsp")
        id_ = uid("t")
        person = "pseudo-show-" + uid("p")
        s1 = self.assertOkSeq(c.cmd(line("EVENT", id=id_, person=person, employer="De Hof", months=6)))
        s2 = self.assertReplaced(c.cmd(line("REPLACE", id=id_, person=person, sector="ict")), s1)
        r = self.assertOkSeq(c.cmd("RETRACT id=%s ref=%s reason=dubbel%%20ingevoerd" % (uid("r"), id_)))
        s3 = self.assertReplaced(c.cmd(line("REPLACE", id=id_, person=person, sector="ict")), s2)
        resp = c.cmd("SHOW id=%s" % id_)
        self.assertNotIn(person, "\n".join(resp))
        rows = wmtest.parse_block(resp)
        self.assertEqual([x["seq"] for x in rows], [str(s1), str(s2), str(s3)])
        self.assertEqual([x["replaces"] for x in rows], ["-", str(s1), str(s2)])
        self.assertEqual([x["retracted"] for x in rows], [str(s2 - 1), str(r), "no"])
        self.assertEqual([x.get("reason") for x in rows], ["replaced", "dubbel ingevoerd", None])
        self.assertEqual(rows[0]["sector"], "zorg")
        self.assertEqual(rows[0]["employer"], "De Hof")
        self.assertEqual(rows[0]["months"], "6")
        self.assertEqual(rows[2]["sector"], "ict")
        for x in rows:
            self.assertNotIn("person", x)
            self.assertEqual((x["type"], x["principal"], x["id"], x["gemeente"], x["date"], x["project"]),
                             ("placed", "wsp", id_, "hilversum", "2022-03-03", PROJ))
            self.assertRegex(x["received"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        # the retraction record of the first REPLACE is where SHOW says
        self.assertEqual(list(rows[0])[:3], ["seq", "type", "principal"])

    def test_an_outflow_keeps_its_own_reason(self):
        # an outflow's field reason and the retraction's reason never share a key
        c = self.as_("wsp")
        id_ = uid("t")
        s = self.assertOkSeq(c.cmd(line("EVENT", "outflow", id=id_, reason="verhuizing")))
        r = self.assertOkSeq(c.cmd("RETRACT id=%s ref=%s reason=fout" % (uid("r"), id_)))
        resp = c.cmd("SHOW id=%s" % id_)
        self.assertEqual(len(resp), 2)
        self.assertTrue(resp[0].startswith("ROW seq=%d type=outflow " % s), resp)
        self.assertTrue(resp[0].endswith(" benefit=pw reason=verhuizing replaces=- retracted=%d "
                                         "retracted.reason=fout" % r), resp)

    def test_a_writer_sees_its_own_an_admin_anyones(self):
        id_ = uid("t")
        s = self.assertOkSeq(self.as_("wsp").cmd(line("EVENT", id=id_)))
        h = self.as_("hilversum")
        self.assertErr(h.cmd("SHOW id=%s" % id_), "not-found", id_)
        self.assertErr(h.cmd("SHOW id=%s principal=wsp" % id_), "denied", "principal")
        self.assertErr(h.cmd("SHOW seq=%d" % s), "denied", "seq")
        self.assertErr(self.as_("rapport").cmd("SHOW id=%s" % id_), "denied", "SHOW")
        a = self.as_("beheer")
        self.assertEqual([x["seq"] for x in a.rows("SHOW id=%s principal=wsp" % id_)], [str(s)])
        self.assertEqual([x["id"] for x in a.rows("SHOW seq=%d" % s)], [id_])
        self.assertErr(a.cmd("SHOW id=%s" % id_), "not-found", id_)  # beheer has no such id

    def test_not_found_and_bad_requests(self):
        c = self.as_("wsp")
        self.assertErr(c.cmd("SHOW id=%s" % uid("nope")), "not-found")
        rid = uid("r")
        self.assertOkSeq(c.cmd("RETRACT id=%s ref=%s" % (rid, self._event(c))))
        self.assertErr(c.cmd("SHOW id=%s" % rid), "not-found", "retraction")
        a = self.as_("beheer")
        self.assertErr(a.cmd("SHOW seq=999999999"), "not-found", "999999999")
        self.assertErr(c.cmd("SHOW"), "invalid", "id")
        self.assertErr(c.cmd("SHOW id=a seq=1"), "invalid", "not both")
        self.assertErr(c.cmd("SHOW id=a colour=red"), "invalid", "colour")

    def _event(self, c):
        id_ = uid("t")
        self.assertOkSeq(c.cmd(line("EVENT", id=id_)))
        return id_


class CheckTest(WritersBase):

    def test_every_err_event_would_give_and_nothing_stored(self):
        c = self.as_("wsp")
        live, gone, rid = uid("t"), uid("t"), uid("r")
        self.assertOkSeq(c.cmd(line("EVENT", id=live)))
        self.assertOkSeq(c.cmd(line("EVENT", id=gone)))
        self.assertOkSeq(c.cmd("RETRACT id=%s ref=%s" % (rid, gone)))
        bad = [
            "CHECK",                                          # no type
            "CHECK frobnicated id=x",                         # unknown type
            line("CHECK", colour="red"),                      # unknown field
            line("CHECK", durable="yes"),                     # derived field
            line("CHECK", sector=None),                       # missing required
            line("CHECK", id=None), line("CHECK", person=None), line("CHECK", gemeente=None),
            line("CHECK", date=None), line("CHECK", project=None),
            line("CHECK", sector="ZORG-X"),                   # out of domain
            line("CHECK", gemeente="amsterdam"),
            line("CHECK", date="2022-02-30"), line("CHECK", date="1999-12-31"), line("CHECK", date="2999-01-01"),
            line("CHECK", months="121"), line("CHECK", hours="0"), line("CHECK", months="12.0"),
            line("CHECK", person="123456782"), line("CHECK", person="short"),
            line("CHECK", id="a b"), line("CHECK", employer="x" * 129),
            line("CHECK", project="no-such-project"),          # unknown-project
            line("CHECK", id=live, sector="ict"),             # conflict: a different event
            line("CHECK", id=gone),                           # conflict: retracted
            line("CHECK", id=rid),                            # conflict: a retraction's id
            line("CHECK", "started", kind="x"), line("CHECK", "completed", result="geslaagd"),
            line("CHECK", "outflow", reason=None),
        ]
        last = self.stat(c, "last_seq")
        for b in bad:
            got = c.cmd(b)
            self.assertRegex(got, r"^ERR ", b)
            self.assertEqual(got, c.cmd("EVENT" + b[len("CHECK"):]), b)
        self.assertEqual(self.stat(c, "last_seq"), last)
        # the gemeente binding
        h = self.as_("hilversum")
        self.assertErr(h.cmd(line("CHECK", gemeente="huizen")), "denied", "huizen")
        self.assertEqual(h.cmd(line("CHECK", gemeente="huizen")), h.cmd(line("EVENT", gemeente="huizen")))
        self.assertErr(self.as_("rapport").cmd(line("CHECK")), "denied", "CHECK")

    def test_ok_stores_nothing(self):
        c = self.as_("wsp")
        p = self.new_project()
        id_ = uid("t")
        last = self.stat(c, "last_seq")
        commits = self.stat(c, "commits")
        self.assertEqual(c.cmd(line("CHECK", id=id_, project=p)), "OK")
        self.assertEqual(c.cmd(line("CHECK", id=id_, project=p)), "OK")
        self.assertEqual(self.stat(c, "last_seq"), last)
        self.assertEqual(self.stat(c, "commits"), commits)  # no write, no sync
        self.assertEqual(c.cmd("COUNT placed project=%s" % p), ["ROW count=0", "END 1"])
        s = self.assertOkSeq(c.cmd(line("EVENT", id=id_, project=p)))
        # a resend is fine (EVENT would answer DUP), a different one not
        self.assertEqual(c.cmd(line("CHECK", id=id_, project=p)), "OK")
        self.assertErr(c.cmd(line("CHECK", id=id_, project=p, sector="ict")), "conflict", "seq %d" % s)

    def test_sees_every_acknowledged_event(self):
        c = self.as_("wsp")
        id_ = uid("t")
        # in one pipeline: the CHECK waits for the EVENT before it
        got = c.pipeline([line("EVENT", id=id_), line("CHECK", id=id_, sector="ict"), line("CHECK", id=id_)])
        s = self.assertOkSeq(got[0])
        self.assertErr(got[1], "conflict", "seq %d" % s)
        self.assertEqual(got[2], "OK")
        # on another connection, once acknowledged
        id2 = uid("t")
        s2 = self.assertOkSeq(self.as_("wsp").cmd(line("EVENT", id=id2)))
        self.assertErr(c.cmd(line("CHECK", id=id2, sector="ict")), "conflict", "seq %d" % s2)


class CanonicalTest(WritersBase):
    """PROTOCOL.md section 4, canonical values: enumerations, gemeente and project names
    in any case (a gemeente with spaces for its '-'), stored and compared canonical."""

    def test_stored_canonical_and_counted_as_such(self):
        c = self.as_("wsp")
        p = self.new_project()
        id_ = uid("t")
        s = self.assertOkSeq(c.cmd(line("EVENT", "Placed", id=id_, gemeente="Gooise Meren", project=p.upper(),
                                        sector="Zorg", contract="LEERWERK")))
        self.assertEqual(c.rows("COUNT placed by=gemeente,sector,contract project=%s" % p),
                         [{"gemeente": "gooise-meren", "sector": "zorg", "contract": "leerwerk", "count": "1"}])
        # filters are canonical too
        for q in ("COUNT PLACED project=%s gemeente=Gooise%%20Meren sector=ZORG" % p.upper(),
                  "COUNT placed project=%s gemeente=GOOISE-MEREN contract=Leerwerk" % p):
            self.assertEqual(c.cmd(q), ["ROW count=1", "END 1"], q)
        row = wmtest.parse_block(c.cmd("SHOW id=%s" % id_))[0]
        self.assertEqual((row["type"], row["gemeente"], row["project"], row["sector"], row["contract"]),
                         ("placed", "gooise-meren", p, "zorg", "leerwerk"))
        # idempotency compares canonical forms: the same event written otherwise is a DUP
        for verb in ("EVENT", "REPLACE"):
            self.assertDup(c.cmd(line(verb, id=id_, gemeente="gooise-meren", project=p, sector="zorg",
                                      contract="leerwerk")), s)
            self.assertDup(c.cmd(line(verb, "placed", id=id_, gemeente="GOOISE meren", project=p.title(),
                                      sector="zorG", contract="Leerwerk")), s)
        self.assertEqual(c.cmd(line("CHECK", id=id_, gemeente="Gooise Meren", project=p.upper(),
                                    sector="Zorg", contract="leerwerk")), "OK")
        self.assertEqual(c.cmd("COUNT placed project=%s" % p), ["ROW count=1", "END 1"])

    def test_bound_writer_and_registry_see_the_canonical_name(self):
        c = self.as_("hilversum")
        p = self.new_project(**{"target.started": 4})
        self.assertOkSeq(c.cmd(line("EVENT", "STARTED", gemeente="HILVERSUM", project=p.upper(), kind="Taal",
                                    doelgroep="GGZ", benefit="Pw")))
        self.assertErr(c.cmd(line("EVENT", "started", gemeente="Huizen", project=p)), "denied", "huizen")
        self.assertErr(c.cmd(line("EVENT", "started", project="No-Such-" + p)), "unknown-project",
                       "no-such-" + p)
        self.assertEqual(c.rows("COUNT started by=kind,doelgroep,benefit project=%s" % p),
                         [{"kind": "taal", "doelgroep": "ggz", "benefit": "pw", "count": "1"}])
        rows = c.rows("PROGRESS project=%s category=WRITERS gemeente=Hilversum" % p.upper())
        started = [r for r in rows if r["project"] == p and r["indicator"] == "started"]
        self.assertEqual([r["actual"] for r in started], ["1"])

    def test_what_is_still_refused(self):
        # only case and a space for '-' are forgiven; other spellings stay invalid, nothing stored
        c = self.as_("wsp")
        last = self.stat(c, "last_seq")
        for kw, name in [(dict(gemeente="Gooise_Meren"), "gemeente"), (dict(gemeente="hilversum "), "gemeente"),
                         (dict(sector="zorg "), "sector"), (dict(sector="Zorg-"), "sector"),
                         (dict(project="writers_p"), "project"), (dict(contract="leer werk"), "contract")]:
            with self.subTest(**kw):
                self.assertErr(c.cmd(line("EVENT", **kw)), "invalid", name)
        self.assertErr(c.cmd(line("EVENT", "Place")), "invalid", "type")
        self.assertEqual(self.stat(c, "last_seq"), last)


class RestartTest(WritersBase):
    """Versions, figures and SHOW after SIGKILL and a restart (the memory part rebuilt
    from the records)."""

    def test_after_kill_and_restart(self):
        c = self.as_("wsp")
        p = self.new_project()
        id_ = uid("t")
        s1 = self.assertOkSeq(c.cmd(line("EVENT", id=id_, project=p, person="pseudo-restart-a")))
        s2 = self.assertReplaced(c.cmd(line("REPLACE", id=id_, project=p, sector="ict",
                                            person="pseudo-restart-b")), s1)
        before = c.rows("SHOW id=%s" % id_)
        c.close()
        self.server.kill_and_restart()
        c = self.as_("wsp")
        self.assertEqual(c.rows("SHOW id=%s" % id_), before)
        self.assertEqual(c.rows("COUNT placed by=sector project=%s" % p), [{"sector": "ict", "count": "1"}])
        self.assertEqual(c.cmd("COUNT placed distinct=person project=%s" % p), ["ROW count=1", "END 1"])
        self.assertDup(c.cmd(line("REPLACE", id=id_, project=p, sector="ict", person="pseudo-restart-b")), s2)
        self.assertReplaced(c.cmd(line("REPLACE", id=id_, project=p, sector="bouw", person="pseudo-restart-b")), s2)
        self.assertEqual(c.rows("COUNT placed by=sector project=%s" % p), [{"sector": "bouw", "count": "1"}])


    def test_every_id_answer_after_kill_and_restart(self):
        """The ids index is in memory (schema 4), rebuilt from the records at start: DUP,
        the conflicts (another event, a retracted id, an id already retracted), REPLACE's
        latest version, RETRACT by ref, CHECK and SHOW answer the same after SIGKILL."""
        c = self.as_("wsp")
        ids = [uid("t") for _ in range(3)]
        s = [self.assertOkSeq(c.cmd(line("EVENT", id=i))) for i in ids]
        rid = uid("r")
        r = self.assertOkSeq(c.cmd("RETRACT id=%s ref=%s reason=fout" % (rid, ids[1])))
        s2 = self.assertReplaced(c.cmd(line("REPLACE", id=ids[2], sector="ict")), s[2])
        probes = [line("EVENT", id=ids[0]), line("EVENT", id=ids[0], sector="bouw"),
                  line("EVENT", id=ids[1]), line("REPLACE", id=ids[2], sector="ict"),
                  line("EVENT", id=ids[2]), "RETRACT id=%s ref=%s reason=fout" % (rid, ids[1]),
                  "RETRACT id=%s ref=%s reason=fout" % (uid("r"), ids[1]),
                  line("CHECK", id=ids[0], sector="bouw"), line("CHECK", id=ids[0]),
                  "SHOW id=%s" % ids[2], "SHOW id=%s" % rid]
        before = [c.cmd(p) for p in probes]
        self.assertDup(before[0], s[0])
        self.assertErr(before[1], "conflict", "seq %d" % s[0])
        self.assertErr(before[2], "conflict", "retracted")
        self.assertDup(before[3], s2)
        self.assertErr(before[4], "conflict", "seq %d" % s2)
        self.assertDup(before[5], r)
        self.assertErr(before[6], "conflict", "already retracted")
        self.assertErr(before[7], "conflict")
        self.assertEqual(before[8], "OK")
        self.assertEqual(len(before[9]), 3)
        self.assertErr(before[10], "not-found")
        c.close()
        self.server.kill_and_restart()
        c = self.as_("wsp")
        self.assertEqual([c.cmd(p) for p in probes], before)


class MessagesTest(WritersBase):
    """Issue 12, point 9: a refusal that says how to get it right."""

    def test_unknown_category_names_the_known_ones(self):
        # regression: an unknown category= answered nothing (or zeros), silently
        c = self.as_("rapport")
        self.assertEqual(c.cmd("COUNT placed category=writrs"),
                         "ERR invalid category: unknown value 'writrs' (allowed: writers)")
        self.assertEqual(c.cmd("PROGRESS category=writrs"),
                         "ERR invalid category: unknown value 'writrs' (allowed: writers)")
        self.assertErr(c.cmd("COUNT placed category=writers,-,nope"), "invalid", "'nope'", "writers")
        # the known ones answer, "-" (an outflow without a project) too
        self.assertEqual(c.cmd("COUNT outflow category=-,Writers")[-1][:4], "END ")
        self.assertEqual(c.cmd("PROGRESS category=WRITERS")[-1][:4], "END ")

    def test_unknown_dimension_lists_the_valid_ones(self):
        c = self.as_("rapport")
        dims = "(dimensions of placed: project, category, scope, gemeente, year, quarter, month, halfyear, " \
               "sector, contract, durable)"
        self.assertEqual(c.cmd("COUNT placed by=sectr"), "ERR invalid by: unknown dimension, got 'sectr' " + dims)
        self.assertEqual(c.cmd("COUNT placed sectr=zorg"),
                         "ERR invalid unknown field sectr for COUNT placed: by, from, to, distinct or a dimension "
                         + dims)
        self.assertErr(c.cmd("COUNT outflow by=kind"), "invalid", "(dimensions of outflow:", "benefit, reason)")
        self.assertEqual(c.cmd("PROGRESS type=placed"),
                         "ERR invalid unknown field type for PROGRESS (fields: asof, category, project, gemeente)")

    def test_unknown_project_suggests_the_nearest(self):
        c = self.as_("wsp")
        last = self.stat(c, "last_seq")
        want = "ERR unknown-project unknown project 'writer-p' (did you mean '%s'?)" % PROJ
        for verb in ("EVENT", "REPLACE", "CHECK"):
            with self.subTest(verb=verb):
                self.assertEqual(c.cmd(line(verb, project="writer-p")), want)
                # as a spreadsheet writes it: canonical first, then looked up
                self.assertEqual(c.cmd(line(verb, project="Writer P")), want)
        self.assertEqual(c.cmd("COUNT placed project=%s,writer-p" % PROJ), want)
        self.assertEqual(c.cmd("PROGRESS project=Writer%20P"), want)
        # nothing near: the plain message
        self.assertEqual(c.cmd(line("EVENT", project="taalwerkt-xyz")),
                         "ERR unknown-project unknown project 'taalwerkt-xyz'")
        self.assertEqual(self.stat(c, "last_seq"), last)


class LogTest(wmtest.TestCase):
    """The daemon's log while a writer sends a file of bad rows: rejections summarised,
    the accepted events in the batch lines, their seqs named."""

    own_daemon_reason = "reads the daemon's own log"

    def test_rejections_are_summarised_changes_kept(self):
        tmp = self.tmpdir("wm-e2e-writers-log-")
        tokens = os.path.join(tmp, "tokens")
        wmtest.write_tokens(tokens, [(p, r, g, TOKENS[p]) for p, r, g in PRINCIPALS])
        srv = self.own_server(["--tokens", tokens])
        admin = self.conn(srv)
        self.assertTrue(admin.cmd("AUTH " + TOKENS["beheer"]).startswith("OK "))
        self.assertEqual(admin.cmd("PROJECT %s category=writers" % PROJ), "OK")
        c = self.conn(srv)
        self.assertTrue(c.cmd("AUTH " + TOKENS["hilversum"]).startswith("OK "))
        n = 200
        lines = [line("EVENT", id="bad-%d" % i, project="nope-%d" % i) for i in range(n)]
        lines += [line("EVENT", id="other-%d" % i, gemeente="huizen") for i in range(n)]
        lines += [line("EVENT", id="good-%d" % i) for i in range(3)]
        resps = c.pipeline(lines)
        self.assertEqual(sum(r.startswith("ERR unknown-project") for r in resps), n)
        self.assertEqual(sum(r.startswith("ERR denied") for r in resps), n)
        self.assertEqual(sum(r.startswith("OK ") for r in resps), 3)
        c.close()
        summary = re.compile(r"audit principal=hilversum op=event result=unknown-project rejected=(\d+)")
        deadline = time.time() + 10
        while time.time() < deadline and sum(int(x) for x in summary.findall(srv.stderr())) < n:
            time.sleep(0.2)
        log = srv.stderr()
        # every rejection counted, in a few lines rather than one a row
        self.assertEqual(sum(int(x) for x in summary.findall(log)), n)
        self.assertLessEqual(len(summary.findall(log)), 3)
        self.assertNotIn("id=bad-", log)
        # the denials: the first few one by one, then one line with the rest
        self.assertEqual(log.count("denied: principal=hilversum may not write for gemeente=huizen"), 3)
        deadline = time.time() + 10
        while time.time() < deadline and "more times on the connection" not in srv.stderr():
            time.sleep(0.2)
        self.assertIn("denied: principal=hilversum %d more times on the connection" % (n - 3), srv.stderr())
        # the accepted events: in the batch lines, every seq named
        stored = sorted(int(r.split()[1]) for r in resps if r.startswith("OK "))
        named = []
        for count, ok, ranges in re.findall(r"info audit principal=hilversum op=event n=(\d+) ok=(\d+) dup=0 "
                                        r"seq=(\S+)", log):
            self.assertEqual(count, ok)
            for r in ranges.split(","):
                a, _, b = r.partition("..")
                named.extend(range(int(a), int(b or a) + 1))
        self.assertEqual(sorted(named), stored)
        # and STATS counted every denial
        self.assertEqual(int({r["stat"]: r["value"] for r in admin.rows("STATS")}["denials"]), n)
