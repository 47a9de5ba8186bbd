"""Writing events (PROTOCOL.md section 4), exact replies: every type and field, the
defaults, each validation rule (unknown, missing and misplaced fields, domains), that a
refused event stores nothing, idempotency (DUP with the original seq, conflict), and
durable acknowledgement across restarts, SIGTERM with writes in flight and SIGKILL.
RETRACT and what events add up to: test_aggregates.py and test_conformance_aggregates.py;
the registry (PROJECT, PROGRAM): test_registry.py."""

import datetime
import re
import signal
import threading
import unittest

import wmtest
from wmtest import event, uid

PROJ = uid("events")
PROJ2 = uid("events")
TYPES = ("started", "completed", "placed", "outflow")

ENUMS = {
    "started": {
        "kind": ["overig", "scholing", "begeleiding", "werkervaring", "taal"],
        "doelgroep": ["overig", "jongeren", "statushouders", "50plus", "arbeidsbeperking", "ggz"],
        "benefit": ["onbekend", "pw", "ww", "wajong", "wia", "wao", "geen"],
    },
    "completed": {"result": ["diploma", "certificaat", "afgerond", "uitgevallen"]},
    "placed": {
        "sector": ["zorg", "techniek", "bouw", "ict", "media", "horeca", "vervoer", "onderwijs", "handel", "overig"],
        "contract": ["betaald", "leerwerk"],
    },
    "outflow": {
        "benefit": ["pw", "ww", "wajong", "wia", "wao"],
        "reason": ["werk", "scholing", "verhuizing", "overig"],
    },
}

# The fields without which each type is refused, beyond id, person, gemeente, date.
REQUIRED = {
    "started": ["project"],
    "completed": ["project", "result"],
    "placed": ["project", "sector"],
    "outflow": ["benefit", "reason"],
}


def fields(type_, **kw):
    """The fields of the smallest valid event of a type (a fresh id), with kw
    overriding (None drops a field)."""
    f = dict(id=uid(), person="pseudo-events-01", gemeente="laren", date="2021-06-15")
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


def base(type_, id_=None, **kw):
    """The EVENT line of fields(type_, **kw), with id id_ when given."""
    if id_ is not None:
        kw["id"] = id_
    return event(type_, **fields(type_, **kw))


def day(offset=0):
    """The local date offset days from today (the server runs in the same zone)."""
    return (datetime.date.today() + datetime.timedelta(days=offset)).isoformat()


class EventsTest(wmtest.TestCase):
    registry = ["PROJECT %s category=events-test" % PROJ, "PROJECT %s category=events-test" % PROJ2]

    def stored_events(self, c):
        return int({r["stat"]: r["value"] for r in c.rows("STATS")}["events"])

    def own_store(self, flags=None):
        """A connection to a fresh daemon of this test, PROJ registered."""
        c = self.conn(self.own_server(flags))
        self.assertEqual(c.cmd("PROJECT %s category=events-test" % PROJ), "OK")
        return c

    # -- each type with every field -------------------------------------------------------

    def test_each_type_is_ok_with_increasing_seqs(self):
        c = self.conn()
        seqs = [self.assertOkSeq(c.cmd(base(t))) for t in TYPES]
        self.assertEqual(seqs, sorted(seqs))
        self.assertEqual(len(set(seqs)), 4)

    def test_started_all_fields(self):
        c = self.conn()
        self.assertOkSeq(c.cmd(event("started", id=uid(), person="pseudo-aaaa-0001", gemeente="hilversum",
                                     date="2021-09-01", project=PROJ, kind="scholing", doelgroep="jongeren",
                                     benefit="pw")))

    def test_completed_all_fields(self):
        c = self.conn()
        self.assertOkSeq(c.cmd(event("completed", id=uid(), person="pseudo-aaaa-0001", gemeente="hilversum",
                                     date="2021-12-01", project=PROJ, result="certificaat")))

    def test_placed_all_fields(self):
        c = self.conn()
        self.assertOkSeq(c.cmd(event("placed", id=uid(), person="pseudo-aaaa-0001", gemeente="gooise-meren",
                                     date="2022-01-10", project=PROJ, sector="zorg", contract="leerwerk",
                                     months=12, hours=32, employer="Tergooi MC", by="accountmanager 7")))

    def test_outflow_all_fields_and_without_project(self):
        c = self.conn()
        self.assertOkSeq(c.cmd(event("outflow", id=uid(), person="pseudo-aaaa-0001", gemeente="weesp",
                                     date="2022-02-01", project=PROJ, benefit="ww", reason="werk")))
        self.assertOkSeq(c.cmd(base("outflow", project=None)))

    # -- defaults ---------------------------------------------------------------------------

    def test_defaults_are_the_first_value(self):
        c = self.own_store()
        self.assertOkSeq(c.cmd(base("started")))
        self.assertOkSeq(c.cmd(base("placed")))
        self.assertEqual(c.cmd("COUNT started by=kind,doelgroep,benefit"),
                         ["ROW kind=overig doelgroep=overig benefit=onbekend count=1", "END 1"])
        self.assertEqual(c.cmd("COUNT placed by=contract,durable"),
                         ["ROW contract=betaald durable=unknown count=1", "END 1"])

    def test_defaults_are_applied_before_comparison(self):
        c = self.conn()
        for t, defaults, other in (("started", dict(kind="overig", doelgroep="overig", benefit="onbekend"),
                                    dict(kind="taal")),
                                   ("placed", dict(contract="betaald"), dict(contract="leerwerk"))):
            f = fields(t)
            seq = self.assertOkSeq(c.cmd(event(t, **f)))
            self.assertDup(c.cmd(event(t, **dict(f, **defaults))), seq)
            for k, v in defaults.items():
                self.assertDup(c.cmd(event(t, **dict(f, **{k: v}))), seq)
            self.assertErr(c.cmd(event(t, **dict(f, **other))), "conflict")
        # and the other way round: explicit first, defaults left out on the resend
        f = fields("started", kind="overig")
        seq = self.assertOkSeq(c.cmd(event("started", **f)))
        self.assertDup(c.cmd(event("started", **dict(f, kind=None))), seq)
        j = uid()
        seq = self.assertOkSeq(c.cmd(base("placed", j, contract="betaald")))
        self.assertDup(c.cmd(base("placed", j)), seq)
        self.assertErr(c.cmd(base("placed", j, contract="leerwerk")), "conflict")

    def test_durable_is_derived_not_sent(self):
        c = self.own_store()
        for m in (None, 0, 5, 6, 120):
            self.assertOkSeq(c.cmd(base("placed", months=m)))
        self.assertEqual(c.cmd("COUNT placed by=durable"),
                         ["ROW durable=no count=2", "ROW durable=unknown count=1", "ROW durable=yes count=2", "END 3"])
        self.assertErr(c.cmd(base("placed", durable="yes")), "invalid", "durable")

    # -- unknown, missing and misplaced fields; nothing stored ---------------------------------

    def test_unknown_field(self):
        c = self.conn()
        for type_ in TYPES:
            self.assertErr(c.cmd(base(type_) + " colour=blue"), "invalid", "colour")
        self.assertErr(c.cmd(base("started") + " bsn=123456782"), "invalid", "bsn")

    def test_field_of_another_type(self):
        c = self.conn()
        self.assertErr(c.cmd(base("started", sector="zorg")), "invalid", "sector")
        self.assertErr(c.cmd(base("started", months=6)), "invalid", "months")
        self.assertErr(c.cmd(base("completed", kind="taal")), "invalid", "kind")
        self.assertErr(c.cmd(base("placed", result="diploma")), "invalid", "result")
        self.assertErr(c.cmd(base("outflow", sector="zorg")), "invalid", "sector")
        self.assertErr(c.cmd(base("outflow", doelgroep="ggz")), "invalid", "doelgroep")

    def test_missing_required_fields(self):
        c = self.conn()
        for type_ in TYPES:
            for field in ["id", "person", "gemeente", "date"] + REQUIRED[type_]:
                self.assertErr(c.cmd(base(type_, **{field: None})), "invalid", field)

    def test_unknown_or_missing_type(self):
        c = self.conn()
        self.assertErr(c.cmd(base("started").replace("EVENT started", "EVENT hired")), "invalid", "hired")
        self.assertErr(c.cmd(base("started").replace("EVENT started", "EVENT start")), "invalid", "start")
        # canonical values: a type in any case is that type
        self.assertOkSeq(c.cmd(base("started").replace("EVENT started", "EVENT STARTED")))
        self.assertErr(c.cmd(base("started").replace("EVENT started", "EVENT")), "syntax")
        self.assertErr(c.cmd("EVENT"), "syntax")

    def test_invalid_nothing_stored(self):
        """ "Unknown fields, missing required fields and values outside their domain are
        ERR invalid; nothing is stored." """
        c = self.conn()
        before = self.stored_events(c)
        bad = [base("started", colour="red"), base("started", result="diploma"), base("completed", result=None),
               base("placed", sector=None), base("outflow", reason=None), base("outflow", benefit=None),
               base("started", project=None), base("completed", project=None), base("placed", project=None),
               base("started", id=None), base("started", person=None), base("started", gemeente=None),
               base("started", date=None), base("placed", durable="yes"), base("outflow", kind="taal"),
               base("completed", sector="zorg"), base("placed", result="diploma"), base("started", months=6)]
        for line in bad:
            with self.subTest(line=line):
                self.assertErr(c.cmd(line), "invalid")
        self.assertEqual(self.stored_events(c), before)

    def test_nothing_is_stored_by_a_refused_event(self):
        c = self.conn()
        i = uid()
        self.assertErr(c.cmd(base("started", i, kind="stage")), "invalid")
        self.assertErr(c.cmd(base("started", i, project=uid("nope"))), "unknown-project")
        self.assertOkSeq(c.cmd(base("started", i, kind="taal")))

    # -- domains ----------------------------------------------------------------------------

    def test_enum_values(self):
        c = self.conn()
        lines = []
        for type_, fs in ENUMS.items():
            for field, values in fs.items():
                for v in values:
                    lines.append(base(type_, **{field: v}))
        for resp in c.pipeline(lines):
            self.assertOkSeq(resp)
        for t, fs in ENUMS.items():
            for name, values in fs.items():
                for bad in ("x", values[0] + " ", "", values[0] + "," + values[1], values[0] + "_"):
                    with self.subTest(t=t, field=name, bad=bad):
                        self.assertErr(c.cmd(base(t, **{name: bad})), "invalid", name)
        cases = [("started", "kind", "stage"), ("started", "kind", "Scholing_"), ("started", "doelgroep", "ouderen"),
                 ("started", "benefit", "aow"), ("completed", "result", "geslaagd"),
                 ("placed", "sector", "landbouw"), ("placed", "contract", "vast"),
                 ("outflow", "benefit", "onbekend"), ("outflow", "benefit", "geen"),  # started's only
                 ("outflow", "reason", "pensioen"), ("started", "kind", "")]
        for type_, field, value in cases:
            self.assertErr(c.cmd(base(type_, **{field: value})), "invalid", field)
        # canonical values: any case is the list's own value
        for resp in c.pipeline([base(t, **{name: values[-1].upper()}) for t, fs in ENUMS.items()
                                for name, values in fs.items()]):
            self.assertOkSeq(resp)

    def test_id_rules(self):
        c = self.conn()
        tag = wmtest.RUN_TAG
        for i in ["Az09._:/-" + tag, "2021/hilversum:42." + tag, "hv/2021:0001.a_b-c" + tag, (tag + "A" * 128)[:128]]:
            self.assertOkSeq(c.cmd(base("started", id=i)))
        # A one-character id is valid too (DUP when an earlier run against the same
        # external daemon stored it already).
        self.assertRegex(c.cmd(base("outflow", id="a", person="pseudo-one-char")), r"^(OK|DUP) \d+$")
        for i in ["", tag + "A" * 129, "a b", "a,b", "a+b", "a@b", "a#b", "a=b", "é", "a;b", "a\\b", "a'b",
                  "a*b", "a~b", "a%b", "A" * 129]:
            self.assertErr(c.cmd(base("started", id=i)), "invalid", "id")
        # Fixed ids need a fresh store.
        c = self.own_store()
        for good in ("a", "A" * 128, "Az09._:/-", "hv/2021:0001.a_b-c"):
            with self.subTest(id=good):
                self.assertOkSeq(c.cmd(base("started", id=good)))

    def test_person_rules(self):
        c = self.conn()
        for p in ["abcdefgh", "P" * 128, "12345678a", "a12345678", "Ab.9_:-x", "p:123456", "Az09._:-x",
                  "p1234567890"]:
            self.assertOkSeq(c.cmd(base("started", person=p)))
        # only digits and separators, whatever the length (PROTOCOL.md section 4)
        for p in ["12345678", "123456789", "00000000", "999999999", "000000000", "99999999",
                  "1234567890", "0123456789", "0000000000", "123-456-782", "12.34.56.78"]:
            with self.subTest(bsn=p):
                # The contract's message, which the server may follow with more words;
                # a person value is never quoted.
                resp = c.cmd(base("started", person=p))
                self.assertRegex(resp, r"^ERR invalid person looks like a BSN( |$)")
                self.assertNotIn(p, resp)
        for p in ["abcdefg", "1234567", "P" * 129, "abcd/efgh", "abcd efgh", "abcd,efgh", "abcdéfgh", "",
                  "p/123456789", "p 12345678", "pé123456789", "p=12345678"]:
            self.assertErr(c.cmd(base("started", person=p)), "invalid", "person")

    def test_gemeente_rules(self):
        c = self.conn()
        for t in ("started", "outflow"):
            for resp in c.pipeline([base(t, gemeente=g) for g in wmtest.DEFAULT_GEMEENTEN]):
                self.assertOkSeq(resp)
            for g in ["amsterdam", "gooise_meren", "gooisemeren", "hilversum,huizen", "", "laren ", "Laren-"]:
                with self.subTest(t=t, gemeente=g):
                    self.assertErr(c.cmd(base(t, gemeente=g)), "invalid", "gemeente")

    def test_gemeenten_configured_list(self):
        c = self.own_store(["--gemeenten", "amsterdam,utrecht"])
        self.assertOkSeq(c.cmd(base("started", gemeente="amsterdam")))
        self.assertOkSeq(c.cmd(base("outflow", gemeente="utrecht")))
        self.assertErr(c.cmd(base("started", gemeente="hilversum")), "invalid", "gemeente")
        self.assertErr(c.cmd(base("started", gemeente="laren")), "invalid", "gemeente")
        self.assertEqual(c.cmd("COUNT started by=gemeente"), ["ROW gemeente=amsterdam count=1", "END 1"])

    def test_date_rules(self):
        c = self.conn()
        for d in ["2000-01-01", "2000-02-29", "2020-02-29", "2024-02-29", "2021-12-31", "2021-04-30", day(0),
                  day(1)]:
            self.assertOkSeq(c.cmd(base("started", date=d)))
        for d in ["1999-12-31", "1970-01-01", day(2), day(400), "9999-12-31", "2021-02-29", "2023-02-29",
                  "2100-02-29", "2021-04-31", "2021-13-01", "2021-00-10", "2021-01-00", "2021-01-32", "2021-1-01",
                  "2021-01-1", "21-01-01", "2021/01/01", "2021-01-01T00:00", "20210101", "", "yesterday"]:
            self.assertErr(c.cmd(base("started", date=d)), "invalid", "date")

    def test_date_tomorrow_is_the_servers_local_date(self):
        # "not after tomorrow (server's local date)": a daemon 14 hours ahead of UTC and
        # one 12 hours behind disagree about tomorrow
        wmtest.need_own_daemon(self)
        for tz, hours in (("AUDIT-14", 14), ("AUDIT+12", -12)):
            with self.subTest(tz=tz):
                s = wmtest.Server(env={"TZ": tz})
                self.addCleanup(s.cleanup)
                s.start()
                c = self.conn(s)
                self.assertEqual(c.cmd("PROJECT %s category=events-test" % PROJ), "OK")
                local = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=hours)).date()
                tomorrow, later = local + datetime.timedelta(days=1), local + datetime.timedelta(days=2)
                self.assertOkSeq(c.cmd(base("started", date=tomorrow.isoformat())))
                self.assertErr(c.cmd(base("started", date=later.isoformat())), "invalid", "date")
                # PROGRESS's default asof is that same local today
                self.assertOkSeq(c.cmd(base("started", date=local.isoformat())))
                self.assertIn("indicator=started actual=1 ", c.cmd("PROGRESS project=%s" % PROJ)[0])

    def test_months_and_hours_ranges(self):
        c = self.conn()
        for m in (0, 1, 5, 6, 120, "007"):
            self.assertOkSeq(c.cmd(base("placed", months=m)))
        for m in ("-1", "121", "1000", "x", "6.5", "", "6m", "+6", "6.0", "1e1"):
            self.assertErr(c.cmd(base("placed", months=m)), "invalid", "months")
        for h in (1, 36, 60, 32):
            self.assertOkSeq(c.cmd(base("placed", hours=h)))
        for h in ("0", "61", "-5", "x", "", "40.0", "-1", "8.5"):
            self.assertErr(c.cmd(base("placed", hours=h)), "invalid", "hours")

    def test_text_field_lengths(self):
        c = self.conn()
        self.assertOkSeq(c.cmd(base("placed", employer="E" * 128)))
        self.assertErr(c.cmd(base("placed", employer="E" * 129)), "invalid", "employer")
        self.assertOkSeq(c.cmd(base("placed", by="B" * 64)))
        self.assertErr(c.cmd(base("placed", by="B" * 65)), "invalid", "by")
        self.assertOkSeq(c.cmd(base("placed", employer="e" * 128, by="b" * 64)))
        self.assertOkSeq(c.cmd(base("placed", employer="Bakkerij de Vries & Zn.", by="Fatima El Amrani")))
        self.assertOkSeq(c.cmd(base("placed", employer="Zorggroep Noord & Co.", by="J. de Vries")))

    def test_placed_employer_and_by_limits_are_characters(self):
        # "employer: text, at most 128 chars; by: text, at most 64 chars" (docs/AUDIT.md #2)
        c = self.conn()
        self.assertOkSeq(c.cmd(base("placed", employer="é" * 128)))
        self.assertOkSeq(c.cmd(base("placed", by="ë" * 64)))
        self.assertOkSeq(c.cmd(base("placed", employer="𝄞" * 128, by="€" * 64)))
        self.assertErr(c.cmd(base("placed", employer="é" * 129)), "invalid", "employer")
        self.assertErr(c.cmd(base("placed", by="ë" * 65)), "invalid", "by")

    def test_unknown_project(self):
        c = self.conn()
        for missing in (uid("nope"), "nergens"):
            for type_ in TYPES:
                self.assertErr(c.cmd(base(type_, project=missing)), "unknown-project", missing)
        self.assertOkSeq(c.cmd(base("outflow", project=None)))  # optional for outflow
        self.assertOkSeq(c.cmd(base("outflow", project=PROJ)))

    # -- idempotency --------------------------------------------------------------------------

    def test_resend_is_dup_with_the_original_seq(self):
        c = self.conn()
        i = uid()
        seq = self.assertOkSeq(c.cmd(base("completed", i)))
        later = self.assertOkSeq(c.cmd(base("completed")))
        self.assertGreater(later, seq)
        for _ in range(3):
            self.assertDup(c.cmd(base("completed", i)), seq)
        # From another connection too: the principal is the same (open mode), also
        # after the first connection closed.
        self.assertDup(self.conn().cmd(base("completed", i)), seq)
        a, b = self.conn(), self.conn()
        f = fields("placed", months=12, hours=20, employer="Zorg BV", by="Jan")
        seq = self.assertOkSeq(a.cmd(event("placed", **f)))
        a.close()
        self.assertDup(b.cmd(event("placed", **f)), seq)

    def test_resend_in_any_field_order_stores_nothing(self):
        c = self.conn()
        for t, kw in [(t, {}) for t in TYPES] + [("placed", dict(sector="bouw", months=3))]:
            f = fields(t, **kw)
            seq = self.assertOkSeq(c.cmd(event(t, **f)))
            before = self.stored_events(c)
            self.assertDup(c.cmd(event(t, **f)), seq)
            self.assertDup(c.cmd(event(t, **dict(reversed(list(f.items()))))), seq)
            self.assertEqual(self.stored_events(c), before)

    def test_integer_forms_compare_equal(self):
        c = self.conn()
        f = fields("placed", months="6", hours="32")
        seq = self.assertOkSeq(c.cmd(event("placed", **f)))
        self.assertDup(c.cmd(event("placed", **dict(f, months="006", hours="032"))), seq)

    def test_same_id_other_content_is_conflict(self):
        c = self.conn()
        i = uid()
        seq = self.assertOkSeq(c.cmd(base("started", i)))
        self.assertErr(c.cmd(base("started", i, date="2021-06-16")), "conflict", i)
        self.assertErr(c.cmd(base("started", i, person="pseudo-other-99")), "conflict")
        self.assertErr(c.cmd(base("started", i, gemeente="eemnes")), "conflict")
        self.assertErr(c.cmd(base("started", i, project=PROJ2)), "conflict")
        self.assertErr(c.cmd(base("completed", i)), "conflict")
        self.assertDup(c.cmd(base("started", i)), seq)
        f = fields("placed", months=12)
        seq = self.assertOkSeq(c.cmd(event("placed", **f)))
        for change in (dict(months=11), dict(months=None), dict(hours=3), dict(sector="ict"),
                       dict(contract="leerwerk"), dict(date="2021-06-16"), dict(person="p:conformance02"),
                       dict(gemeente="huizen"), dict(employer="x"), dict(by="y")):
            with self.subTest(change=change):
                self.assertErr(c.cmd(event("placed", **dict(f, **change))), "conflict", f["id"])
        self.assertErr(c.cmd(base("started", id=f["id"])), "conflict")  # another type
        self.assertDup(c.cmd(event("placed", **f)), seq)

    def test_optional_fields_without_default_are_part_of_the_content(self):
        c = self.conn()
        i = uid()
        seq = self.assertOkSeq(c.cmd(base("placed", i)))
        self.assertErr(c.cmd(base("placed", i, months=6)), "conflict")
        self.assertErr(c.cmd(base("placed", i, hours=20)), "conflict")
        self.assertErr(c.cmd(base("placed", i, employer="X")), "conflict")
        self.assertErr(c.cmd(base("placed", i, by="Y")), "conflict")
        self.assertDup(c.cmd(base("placed", i)), seq)
        j = uid()
        seq = self.assertOkSeq(c.cmd(base("outflow", j, project=None)))
        self.assertErr(c.cmd(base("outflow", j, project=PROJ)), "conflict")
        self.assertDup(c.cmd(base("outflow", j, project=None)), seq)

    def test_two_equal_events_in_one_pipeline(self):
        c = self.conn()
        i = uid()
        replies = c.pipeline([base("placed", i)] * 5 + [base("placed", i, sector="bouw")])
        seq = self.assertOkSeq(replies[0])
        for r in replies[1:5]:
            self.assertDup(r, seq)
        self.assertErr(replies[5], "conflict")

    def test_pipelined_writers_on_many_connections(self):
        conns = [self.conn() for _ in range(4)]
        batches = [[base("started") for _ in range(200)] for _ in conns]
        for c, b in zip(conns, batches):
            c.send("".join(l + "\n" for l in b))
        seqs = []
        for c, b in zip(conns, batches):
            mine = [self.assertOkSeq(c.read_response()) for _ in b]
            self.assertEqual(mine, sorted(mine), "one connection's acks must be in its request order")
            seqs += mine
        self.assertEqual(len(set(seqs)), len(seqs), "every event has its own seq")


class DurabilityTest(wmtest.FreshDaemonTestCase):
    """ "Durable acknowledgement. ... A crash after OK never loses that event." Each test
    has its own daemon and data directory."""

    def _mixed(self, n):
        out = []
        for k in range(n):
            t = TYPES[k % 4]
            out.append(base(t, uid("dur"), person="pseudo-dur-%04d" % (k % 37), date="2022-%02d-%02d"
                            % (1 + k % 12, 1 + k % 28)))
        return out

    def test_restart_keeps_everything(self):
        s = self.own_server()
        c = self.conn(s)
        self.assertEqual(c.pipeline(["PROJECT %s category=events-test title=Dur%%20test" % PROJ,
                                     "PROGRAM start=2020-01-01 target.placed=5"]), ["OK", "OK"])
        lines = self._mixed(200)
        seqs = [self.assertOkSeq(r) for r in c.pipeline(lines)]
        projects = c.cmd("PROJECTS")
        c.close()
        s.restart()
        c = self.conn(s)
        for line, seq, r in zip(lines, seqs, c.pipeline(lines)):
            self.assertDup(r, seq)
        self.assertEqual(c.cmd("PROJECTS"), projects)
        self.assertGreater(self.assertOkSeq(c.cmd(base("started"))), max(seqs))

    def test_sigterm_with_pipelined_writes_in_flight(self):
        """Every OK and DUP received before the daemon went away is durable: after a
        restart the same event answers DUP with the same seq. The daemon exits 0."""
        s = self.own_server()
        c = self.conn(s)
        self.assertEqual(c.cmd("PROJECT %s category=events-test" % PROJ), "OK")
        lines = self._mixed(20000)
        data = "".join(l + "\n" for l in lines).encode()

        def send():
            try:
                c.sock.sendall(data)
            except OSError:
                pass  # the daemon closed the connection with requests unread

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        replies = [c.read_response()]  # writes are flowing now
        s.send_signal(signal.SIGTERM)
        try:
            while len(replies) < len(lines):
                replies.append(c.read_response(timeout=10))
        except wmtest.ConnClosed:
            pass
        self.assertEqual(s.wait(), 0, s.stderr())
        sender.join(10)
        acked = {}
        for n, r in enumerate(replies):
            m = re.fullmatch(r"(OK|DUP) (\d+)", r)
            if m:
                acked[n] = int(m.group(2))
            else:
                self.assertErr(r, "unavailable")
        self.assertGreater(len(acked), 0)
        self.assertEqual(len(set(acked.values())), len(acked))
        wmtest.log("sigterm: %d of %d requests acknowledged before the daemon stopped" % (len(acked), len(lines)))
        s.start()
        c = self.conn(s)
        for n, r in enumerate(c.pipeline(lines)):
            if n in acked:
                self.assertDup(r, acked[n])
            else:
                self.assertRegex(r, r"^(OK|DUP) \d+$")

    def test_sigkill_after_ok_loses_nothing(self):
        s = self.own_server()
        c = self.conn(s)
        self.assertEqual(c.cmd("PROJECT %s category=events-test" % PROJ), "OK")
        lines = [base("placed", "crash-%d" % i, person="p:crash%05d" % i) for i in range(200)]
        seqs = [self.assertOkSeq(r) for r in c.pipeline(lines)]
        s.kill_and_restart()
        c = self.conn(s)
        self.assertEqual(c.pipeline(lines), ["DUP %d" % q for q in seqs])
        self.assertEqual(c.cmd("COUNT placed"), ["ROW count=200", "END 1"])
        self.assertEqual(c.cmd("COUNT placed distinct=person"), ["ROW count=200", "END 1"])
        self.assertOkSeq(c.cmd(base("placed", "crash-after")))
        # and again, every type, with persons repeating
        lines = self._mixed(300)
        seqs = [self.assertOkSeq(r) for r in c.pipeline(lines)]
        s.kill_and_restart()
        c = self.conn(s)
        for line, seq, r in zip(lines, seqs, c.pipeline(lines)):
            self.assertDup(r, seq)

    def test_sigint_exits_zero(self):
        s = self.own_server()
        self.assertEqual(self.conn(s).cmd("PING"), "PONG")
        self.assertEqual(s.stop(signal.SIGINT), 0)


if __name__ == "__main__":
    unittest.main()
