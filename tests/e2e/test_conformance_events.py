"""Conformance audit of ../shared/PROTOCOL.md section 4 (writing events: durable
acknowledgement, idempotency, every field rule) and section 6 (registry) against the
real daemon, exact replies. Discrepancies are described in tests/e2e/AUDIT.md."""

import datetime
import time
import unittest

import wmtest
from wmtest import event



PROJ = "conf-events"
GEMEENTEN = wmtest.DEFAULT_GEMEENTEN


def local_today():
    return datetime.date.fromtimestamp(time.time())


def fields(type_, **kw):
    f = dict(id=wmtest.uid("ev"), person="p:conformance01", gemeente="laren", date="2021-06-15")
    if type_ != "outflow":
        f["project"] = PROJ
    if type_ == "completed":
        f["result"] = "diploma"
    elif type_ == "placed":
        f["sector"] = "zorg"
    elif type_ == "outflow":
        f.update(benefit="pw", reason="werk")
    f.update(kw)
    return f


def ev(type_, **kw):
    return event(type_, **fields(type_, **kw))


class EventRulesTest(wmtest.TestCase):
    registry = ["PROJECT %s category=conf" % PROJ]

    def stored_events(self, c):
        return int({r["stat"]: r["value"] for r in c.rows("STATS")}["events"])

    # -- "EVENT <type> <field>=<value> ... answers OK <seq>" ------------------------------

    def test_event_ok_seq_increases(self):
        c = self.conn()
        seqs = [self.assertOkSeq(c.cmd(ev(t))) for t in ("started", "completed", "placed", "outflow")]
        self.assertEqual(seqs, sorted(seqs))
        self.assertEqual(len(set(seqs)), 4)

    # -- Idempotency -----------------------------------------------------------------

    def test_idempotency_same_id_same_fields_is_dup_original_seq(self):
        c = self.conn()
        for t in ("started", "completed", "placed", "outflow"):
            f = fields(t)
            seq = self.assertOkSeq(c.cmd(event(t, **f)))
            before = self.stored_events(c)
            self.assertEqual(c.cmd(event(t, **f)), "DUP %d" % seq)
            # field order does not matter
            self.assertEqual(c.cmd(event(t, **dict(reversed(list(f.items()))))), "DUP %d" % seq)
            self.assertEqual(self.stored_events(c), before)

    def test_idempotency_dup_from_another_connection(self):
        a, b = self.conn(), self.conn()
        f = fields("placed", months=12, hours=20, employer="Zorg BV", by="Jan")
        seq = self.assertOkSeq(a.cmd(event("placed", **f)))
        a.close()
        self.assertEqual(b.cmd(event("placed", **f)), "DUP %d" % seq)

    def test_idempotency_defaults_applied_before_compare(self):
        c = self.conn()
        for t, defaults in (("started", dict(kind="overig", doelgroep="overig", benefit="onbekend")),
                            ("placed", dict(contract="betaald"))):
            f = fields(t)
            seq = self.assertOkSeq(c.cmd(event(t, **f)))
            self.assertEqual(c.cmd(event(t, **dict(f, **defaults))), "DUP %d" % seq)
            for k, v in defaults.items():
                self.assertEqual(c.cmd(event(t, **dict(f, **{k: v}))), "DUP %d" % seq)
        # and the other way round: explicit first, defaults left out on the resend
        f = fields("started", kind="overig")
        seq = self.assertOkSeq(c.cmd(event("started", **f)))
        f.pop("kind")
        self.assertEqual(c.cmd(event("started", **f)), "DUP %d" % seq)

    def test_idempotency_integer_forms_compare_equal(self):
        c = self.conn()
        f = fields("placed", months="6", hours="32")
        seq = self.assertOkSeq(c.cmd(event("placed", **f)))
        self.assertEqual(c.cmd(event("placed", **dict(f, months="006", hours="032"))), "DUP %d" % seq)

    def test_idempotency_same_id_other_fields_is_conflict(self):
        c = self.conn()
        f = fields("placed", months=12)
        seq = self.assertOkSeq(c.cmd(event("placed", **f)))
        for change in (dict(months=11), dict(months=None), dict(hours=3), dict(sector="ict"),
                       dict(contract="leerwerk"), dict(date="2021-06-16"), dict(person="p:conformance02"),
                       dict(gemeente="huizen"), dict(employer="x"), dict(by="y")):
            with self.subTest(change=change):
                self.assertErr(c.cmd(event("placed", **dict(f, **change))), "conflict", f["id"])
        # another type with the same id
        self.assertErr(c.cmd(ev("started", id=f["id"])), "conflict")
        self.assertEqual(c.cmd(event("placed", **f)), "DUP %d" % seq)

    # -- "Unknown fields, missing required fields and values outside their domain are
    #    ERR invalid; nothing is stored." ----------------------------------------------

    def test_invalid_nothing_stored(self):
        c = self.conn()
        before = self.stored_events(c)
        bad = [ev("started", colour="red"), ev("started", result="diploma"), ev("completed", result=None),
               ev("placed", sector=None), ev("outflow", reason=None), ev("outflow", benefit=None),
               ev("started", project=None), ev("completed", project=None), ev("placed", project=None),
               ev("started", id=None), ev("started", person=None), ev("started", gemeente=None),
               ev("started", date=None), ev("placed", durable="yes"), ev("outflow", kind="taal"),
               ev("completed", sector="zorg"), ev("placed", result="diploma"), ev("started", months=6)]
        for line in bad:
            with self.subTest(line=line):
                self.assertErr(c.cmd(line), "invalid")
        self.assertEqual(self.stored_events(c), before)

    def test_missing_field_is_named(self):
        c = self.conn()
        for t, field in (("completed", "result"), ("placed", "sector"), ("outflow", "benefit"),
                         ("outflow", "reason"), ("started", "project"), ("started", "id"),
                         ("started", "person"), ("started", "gemeente"), ("started", "date")):
            with self.subTest(field=field):
                self.assertErr(c.cmd(ev(t, **{field: None})), "invalid", field)

    def test_unknown_type_is_invalid(self):
        c = self.conn()
        self.assertErr(c.cmd("EVENT hired id=x1 person=p:conformance01 gemeente=laren date=2021-01-01"),
                       "invalid", "hired")

    # -- common fields ---------------------------------------------------------------------

    def test_field_id_rule(self):
        s = self.own_server()  # fixed ids: a fresh store, also with WM_TEST_ADDR
        c = self.conn(s)
        self.assertEqual(c.cmd("PROJECT %s category=conf" % PROJ), "OK")
        for good in ("a", "A" * 128, "Az09._:/-", "hv/2021:0001.a_b-c"):
            with self.subTest(id=good):
                self.assertOkSeq(c.cmd(ev("started", id=good)))
        for bad in ("A" * 129, "a+b", "a,b", "é", "a=b", "a%b", "a*b"):
            with self.subTest(id=bad):
                self.assertErr(c.cmd(ev("started", id=bad)), "invalid", "id")
        self.assertErr(c.cmd(ev("started", id="")), "invalid", "id")

    def test_field_person_rule(self):
        c = self.conn()
        for good in ("p:123456", "a" * 8, "A" * 128, "1234567890", "12345678a", "a12345678", "Az09._:-x",
                     "0000000000"):
            with self.subTest(person=good):
                self.assertOkSeq(c.cmd(ev("started", person=good)))
        for bad in ("a" * 7, "a" * 129, "p/123456789", "p 12345678", "pé123456789", "p=12345678"):
            with self.subTest(person=bad):
                self.assertErr(c.cmd(ev("started", person=bad)), "invalid", "person")

    def test_field_person_bsn_refused(self):
        c = self.conn()
        for bsn in ("12345678", "123456789", "000000000", "99999999"):
            with self.subTest(bsn=bsn):
                resp = c.cmd(ev("started", person=bsn))
                self.assertErr(resp, "invalid", "person looks like a BSN")
                self.assertNotIn(bsn, resp)  # a person value is never quoted

    def test_field_gemeente_rule(self):
        c = self.conn()
        for g in GEMEENTEN:
            with self.subTest(gemeente=g):
                self.assertOkSeq(c.cmd(ev("outflow", gemeente=g)))
        for bad in ("amsterdam", "Laren", "LAREN", "laren ", "gooise meren"):
            with self.subTest(gemeente=bad):
                self.assertErr(c.cmd(ev("outflow", gemeente=bad)), "invalid", "gemeente")

    def test_field_gemeente_configured_list(self):
        s = self.own_server(["--gemeenten", "utrecht,zeist"])
        c = self.conn(s)
        self.assertEqual(c.cmd("PROJECT %s category=conf" % PROJ), "OK")
        self.assertOkSeq(c.cmd(ev("started", gemeente="zeist")))
        self.assertErr(c.cmd(ev("started", gemeente="laren")), "invalid", "gemeente")
        self.assertEqual(c.cmd("COUNT started by=gemeente"), ["ROW gemeente=zeist count=1", "END 1"])

    def test_field_date_rule(self):
        c = self.conn()
        today = local_today()
        for good in ("2000-01-01", "2024-02-29", "2021-12-31", today.isoformat(),
                     (today + datetime.timedelta(days=1)).isoformat()):
            with self.subTest(date=good):
                self.assertOkSeq(c.cmd(ev("started", date=good)))
        for bad in ("1999-12-31", "2023-02-29", "2021-04-31", "2021-13-01", "2021-00-10", "2021-01-00",
                    "2021-1-01", "2021-01-1", "21-01-01", "2021/01/01", "20210101", "2021-01-01T00:00",
                    (today + datetime.timedelta(days=2)).isoformat(), "9999-12-31"):
            with self.subTest(date=bad):
                self.assertErr(c.cmd(ev("started", date=bad)), "invalid", "date")

    def test_field_date_tomorrow_is_the_servers_local_date(self):
        # "not after tomorrow (server's local date)": a daemon 14 hours ahead of UTC and
        # one 12 hours behind disagree about tomorrow
        wmtest.need_own_daemon(self)
        for tz, hours in (("AUDIT-14", 14), ("AUDIT+12", -12)):
            with self.subTest(tz=tz):
                s = wmtest.Server(env={"TZ": tz})
                self.addCleanup(s.cleanup)
                s.start()
                c = self.conn(s)
                self.assertEqual(c.cmd("PROJECT %s category=conf" % PROJ), "OK")
                local = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=hours)).date()
                tomorrow, later = local + datetime.timedelta(days=1), local + datetime.timedelta(days=2)
                self.assertOkSeq(c.cmd(ev("started", date=tomorrow.isoformat())))
                self.assertErr(c.cmd(ev("started", date=later.isoformat())), "invalid", "date")
                # PROGRESS's default asof is that same local today
                self.assertOkSeq(c.cmd(ev("started", date=local.isoformat())))
                self.assertIn("indicator=started actual=1 ", c.cmd("PROGRESS project=%s" % PROJ)[0])

    def test_field_project_rule(self):
        c = self.conn()
        self.assertErr(c.cmd(ev("started", project="nergens")), "unknown-project", "nergens")
        self.assertErr(c.cmd(ev("placed", project="nergens")), "unknown-project", "nergens")
        self.assertErr(c.cmd(ev("outflow", project="nergens")), "unknown-project", "nergens")
        self.assertOkSeq(c.cmd(ev("outflow")))  # optional for outflow
        self.assertOkSeq(c.cmd(ev("outflow", project=PROJ)))

    # -- per type ---------------------------------------------------------------------------

    ENUMS = {
        "started": {"kind": ["overig", "scholing", "begeleiding", "werkervaring", "taal"],
                    "doelgroep": ["overig", "jongeren", "statushouders", "50plus", "arbeidsbeperking", "ggz"],
                    "benefit": ["onbekend", "pw", "ww", "wajong", "wia", "wao", "geen"]},
        "completed": {"result": ["diploma", "certificaat", "afgerond", "uitgevallen"]},
        "placed": {"sector": ["zorg", "techniek", "bouw", "ict", "media", "horeca", "vervoer", "onderwijs",
                              "handel", "overig"],
                   "contract": ["betaald", "leerwerk"]},
        "outflow": {"benefit": ["pw", "ww", "wajong", "wia", "wao"],
                    "reason": ["werk", "scholing", "verhuizing", "overig"]},
    }

    def test_enumerations_closed(self):
        c = self.conn()
        for t, fs in self.ENUMS.items():
            for name, values in fs.items():
                for v in values:
                    with self.subTest(t=t, field=name, v=v):
                        self.assertOkSeq(c.cmd(ev(t, **{name: v})))
                for bad in ("x", values[0].upper(), values[0] + " ", "", values[0] + "," + values[1]):
                    with self.subTest(t=t, field=name, bad=bad):
                        self.assertErr(c.cmd(ev(t, **{name: bad})), "invalid", name)
        # outflow's benefit has no "onbekend" or "geen"
        self.assertErr(c.cmd(ev("outflow", benefit="onbekend")), "invalid", "benefit")

    def test_defaults_are_the_first_value(self):
        s = self.own_server()
        c = self.conn(s)
        self.assertEqual(c.cmd("PROJECT %s category=conf" % PROJ), "OK")
        self.assertOkSeq(c.cmd(ev("started")))
        self.assertOkSeq(c.cmd(ev("placed")))
        self.assertEqual(c.cmd("COUNT started by=kind,doelgroep,benefit"),
                         ["ROW kind=overig doelgroep=overig benefit=onbekend count=1", "END 1"])
        self.assertEqual(c.cmd("COUNT placed by=contract,durable"),
                         ["ROW contract=betaald durable=unknown count=1", "END 1"])

    def test_placed_months_hours_employer_by(self):
        c = self.conn()
        for k, good, bad in (("months", ("0", "5", "6", "120", "007"), ("121", "-1", "+6", "6.0", "1e1", "x", "")),
                             ("hours", ("1", "60", "32"), ("0", "61", "-1", "8.5", "x", ""))):
            for v in good:
                with self.subTest(field=k, v=v):
                    self.assertOkSeq(c.cmd(ev("placed", **{k: v})))
            for v in bad:
                with self.subTest(field=k, bad=v):
                    self.assertErr(c.cmd(ev("placed", **{k: v})), "invalid", k)
        self.assertOkSeq(c.cmd(ev("placed", employer="e" * 128, by="b" * 64)))
        self.assertOkSeq(c.cmd(ev("placed", employer="Zorggroep Noord & Co.", by="J. de Vries")))
        self.assertErr(c.cmd(ev("placed", employer="e" * 129)), "invalid", "employer")
        self.assertErr(c.cmd(ev("placed", by="b" * 65)), "invalid", "by")

    def test_placed_employer_and_by_limits_are_characters(self):
        # "employer: text, at most 128 chars; by: text, at most 64 chars"
        c = self.conn()
        self.assertOkSeq(c.cmd(ev("placed", employer="é" * 128)))
        self.assertOkSeq(c.cmd(ev("placed", by="ë" * 64)))
        self.assertOkSeq(c.cmd(ev("placed", employer="𝄞" * 128, by="€" * 64)))
        self.assertErr(c.cmd(ev("placed", employer="é" * 129)), "invalid", "employer")
        self.assertErr(c.cmd(ev("placed", by="ë" * 65)), "invalid", "by")

    def test_durable_is_derived_not_sent(self):
        s = self.own_server()
        c = self.conn(s)
        self.assertEqual(c.cmd("PROJECT %s category=conf" % PROJ), "OK")
        for m in (None, 0, 5, 6, 120):
            self.assertOkSeq(c.cmd(ev("placed", months=m)))
        self.assertEqual(c.cmd("COUNT placed by=durable"),
                         ["ROW durable=no count=2", "ROW durable=unknown count=1", "ROW durable=yes count=2", "END 3"])
        self.assertErr(c.cmd(ev("placed", durable="yes")), "invalid", "durable")

    # -- "Durable acknowledgement. ... A crash after OK never loses that event." -------------

    def test_durable_ack_survives_sigkill(self):
        s = self.own_server()
        c = self.conn(s)
        self.assertEqual(c.cmd("PROJECT %s category=conf" % PROJ), "OK")
        lines = [ev("placed", id="crash-%d" % i, person="p:crash%05d" % i) for i in range(200)]
        seqs = [self.assertOkSeq(r) for r in c.pipeline(lines)]
        s.kill_and_restart()
        c = self.conn(s)
        self.assertEqual(c.pipeline(lines), ["DUP %d" % q for q in seqs])
        self.assertEqual(c.cmd("COUNT placed"), ["ROW count=200", "END 1"])
        self.assertEqual(c.cmd("COUNT placed distinct=person"), ["ROW count=200", "END 1"])
        self.assertOkSeq(c.cmd(ev("placed", id="crash-after")))


class RegistryTest(wmtest.TestCase):
    """Section 6: PROJECT, PROGRAM, PROJECTS."""

    def test_projects_empty_store_lists_program_only(self):
        s = self.own_server()
        c = self.conn(s)
        self.assertEqual(c.cmd("PROJECTS"), [
            "ROW project=* category=* scope=- start=- end=- target.started=- target.completed=- target.placed=- title=-",
            "END 1"])

    def test_project_create_requires_category(self):
        c = self.conn()
        name = wmtest.uid("reg")
        self.assertErr(c.cmd("PROJECT %s" % name), "invalid", "category")
        self.assertErr(c.cmd("PROJECT %s scope=local" % name), "invalid", "category")
        self.assertEqual(c.cmd("PROJECT %s category=reg-a" % name), "OK")
        self.assertEqual(self.row(c, name), {
            "project": name, "category": "reg-a", "scope": "regional", "start": "-", "end": "-",
            "target.started": "-", "target.completed": "-", "target.placed": "-", "title": "-"})

    def row(self, c, name):
        rows = [r for r in c.rows("PROJECTS") if r["project"] == name]
        self.assertEqual(len(rows), 1)
        return rows[0]

    def test_project_update_keeps_fields_not_given(self):
        c = self.conn()
        name = wmtest.uid("reg")
        self.assertEqual(c.cmd("PROJECT %s category=reg-a scope=local start=2021-01-01 end=2022-12-31 "
                               "target.started=10 target.completed=8 target.placed=6 title=Een%%20titel" % name), "OK")
        full = {"project": name, "category": "reg-a", "scope": "local", "start": "2021-01-01", "end": "2022-12-31",
                "target.started": "10", "target.completed": "8", "target.placed": "6", "title": "Een titel"}
        self.assertEqual(self.row(c, name), full)
        for upd, key, val in (("category=reg-b", "category", "reg-b"), ("scope=regional", "scope", "regional"),
                              ("target.placed=7", "target.placed", "7"), ("title=Nieuw", "title", "Nieuw"),
                              ("end=2023-06-30", "end", "2023-06-30"), ("start=2020-01-01", "start", "2020-01-01"),
                              ("target.started=0", "target.started", "0")):
            self.assertEqual(c.cmd("PROJECT %s %s" % (name, upd)), "OK")
            full[key] = val
            self.assertEqual(self.row(c, name), full)

    def test_project_names_and_categories(self):
        c = self.conn()
        self.assertEqual(c.cmd("PROJECT %s category=%s" % ("a" * 64, "b" * 64)), "OK")
        self.assertEqual(c.cmd("PROJECT 0-9 category=0"), "OK")
        for bad in ("A", "a_b", "a" * 65, "a.b", "é"):
            with self.subTest(name=bad):
                self.assertErr(c.cmd("PROJECT %s category=x" % bad), "invalid")
                self.assertErr(c.cmd("PROJECT ok-name category=%s" % bad), "invalid", "category")
        self.assertErr(c.cmd("PROJECT"), "syntax")
        self.assertErr(c.cmd("PROJECT zz scope=national category=x"), "invalid", "scope")
        self.assertErr(c.cmd("PROJECT zz category=x colour=red"), "invalid", "colour")
        self.assertErr(c.cmd("PROJECT zz category=x start=2022-01-01 end=2021-01-01"), "invalid")
        self.assertErr(c.cmd("PROJECT zz category=x start=2021-02-29"), "invalid", "start")
        self.assertErr(c.cmd("PROJECT zz category=x target.placed=-1"), "invalid", "target.placed")
        self.assertErr(c.cmd("PROJECT zz category=x target.placed=x"), "invalid", "target.placed")
        self.assertEqual([r for r in c.rows("PROJECTS") if r["project"] in ("zz", "ok-name")], [])

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

    def test_projects_row_format_and_count(self):
        s = self.own_server()
        c = self.conn(s)
        names = ["zeta", "alpha", "mid-1"]
        for n in names:
            self.assertEqual(c.cmd("PROJECT %s category=cat title=T%%20%s" % (n, n)), "OK")
        resp = c.cmd("PROJECTS")
        self.assertEqual(resp[-1], "END 4")
        self.assertEqual(sorted(r.split()[1] for r in resp[:3]), sorted("project=" + n for n in names))
        self.assertTrue(resp[3].startswith("ROW project=* "))
        for line in resp[:-1]:
            keys = [t.split("=", 1)[0] for t in line.split()[1:]]
            self.assertEqual(keys, ["project", "category", "scope", "start", "end", "target.started",
                                    "target.completed", "target.placed", "title"])


if __name__ == "__main__":
    unittest.main()
