"""Writing events (PROTOCOL.md section 4): every type and field, defaults, every
validation rule, idempotency (DUP with the original seq, conflict), and durability
across restarts, SIGTERM with writes in flight and SIGKILL."""

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


def base(type_, id_=None, **kw):
    """The smallest valid event of a type, with kw overriding (None drops a field)."""
    f = dict(id=id_ or uid(), person="pseudo-events-01", gemeente="laren", date="2021-06-15")
    if type_ != "outflow":
        f["project"] = PROJ
    if type_ == "completed":
        f["result"] = "diploma"
    elif type_ == "placed":
        f["sector"] = "zorg"
    elif type_ == "outflow":
        f.update(benefit="pw", reason="werk")
    f.update(kw)
    return event(type_, **f)


def day(offset=0):
    return (datetime.date.today() + datetime.timedelta(days=offset)).isoformat()


class EventsTest(wmtest.TestCase):
    registry = ["PROJECT %s category=events-test" % PROJ, "PROJECT %s category=events-test" % PROJ2]

    # -- each type with every field -------------------------------------------------------

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

    def test_every_enum_value_is_accepted(self):
        c = self.conn()
        lines = []
        for type_, fields in ENUMS.items():
            for field, values in fields.items():
                for v in values:
                    lines.append(base(type_, **{field: v}))
        for line, resp in zip(lines, c.pipeline(lines)):
            self.assertOkSeq(resp)

    def test_every_default_gemeente_is_accepted(self):
        c = self.conn()
        lines = [base("started", gemeente=g) for g in wmtest.DEFAULT_GEMEENTEN]
        for resp in c.pipeline(lines):
            self.assertOkSeq(resp)

    def test_field_order_does_not_matter(self):
        c = self.conn()
        i = uid()
        seq = self.assertOkSeq(c.cmd(event("placed", id=i, person="pseudo-order-01", gemeente="huizen",
                                           date="2021-01-04", project=PROJ, sector="bouw", months=3)))
        self.assertDup(c.cmd(event("placed", months=3, sector="bouw", project=PROJ, date="2021-01-04",
                                   gemeente="huizen", person="pseudo-order-01", id=i)), seq)

    # -- defaults ---------------------------------------------------------------------------

    def test_defaults_are_applied_before_comparison(self):
        c = self.conn()
        i = uid()
        seq = self.assertOkSeq(c.cmd(base("started", i)))
        self.assertDup(c.cmd(base("started", i, kind="overig", doelgroep="overig", benefit="onbekend")), seq)
        self.assertDup(c.cmd(base("started", i, benefit="onbekend")), seq)
        self.assertErr(c.cmd(base("started", i, kind="taal")), "conflict")
        j = uid()
        seq = self.assertOkSeq(c.cmd(base("placed", j, contract="betaald")))
        self.assertDup(c.cmd(base("placed", j)), seq)
        self.assertErr(c.cmd(base("placed", j, contract="leerwerk")), "conflict")

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

    # -- unknown, missing and misplaced fields -------------------------------------------------

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
        self.assertErr(c.cmd(base("started").replace("EVENT started", "EVENT STARTED")), "invalid")
        self.assertErr(c.cmd(base("started").replace("EVENT started", "EVENT")), "syntax")
        self.assertErr(c.cmd("EVENT"), "syntax")

    # -- domains ----------------------------------------------------------------------------

    def test_enum_values_out_of_domain(self):
        c = self.conn()
        cases = [("started", "kind", "stage"), ("started", "kind", "Scholing"), ("started", "doelgroep", "ouderen"),
                 ("started", "benefit", "aow"), ("completed", "result", "geslaagd"),
                 ("placed", "sector", "landbouw"), ("placed", "contract", "vast"),
                 ("outflow", "benefit", "onbekend"), ("outflow", "benefit", "geen"),
                 ("outflow", "reason", "pensioen"), ("started", "kind", "")]
        for type_, field, value in cases:
            self.assertErr(c.cmd(base(type_, **{field: value})), "invalid", field)

    def test_id_rules(self):
        c = self.conn()
        tag = wmtest.RUN_TAG
        for i in ["Az09._:/-" + tag, "2021/hilversum:42." + tag, (tag + "A" * 128)[:128]]:
            self.assertOkSeq(c.cmd(base("started", id=i)))
        # A one-character id is valid too (DUP when an earlier run against the same
        # external daemon stored it already).
        self.assertRegex(c.cmd(base("outflow", id="a", person="pseudo-one-char")), r"^(OK|DUP) \d+$")
        for i in ["", tag + "A" * 129, "a b", "a,b", "a+b", "a@b", "a#b", "a=b", "é", "a;b", "a\\b", "a'b",
                  "a*b", "a~b"]:
            self.assertErr(c.cmd(base("started", id=i)), "invalid", "id")

    def test_person_rules(self):
        c = self.conn()
        for p in ["abcdefgh", "P" * 128, "1234567890", "0123456789", "12345678a", "a12345678", "Ab.9_:-x",
                  "0000000000"]:
            self.assertOkSeq(c.cmd(base("started", person=p)))
        for p in ["12345678", "123456789", "00000000", "999999999"]:
            # The contract's message, which the server may follow with more words.
            resp = c.cmd(base("started", person=p))
            self.assertRegex(resp, r"^ERR invalid person looks like a BSN( |$)")
        for p in ["abcdefg", "1234567", "P" * 129, "abcd/efgh", "abcd efgh", "abcd,efgh", "abcdéfgh", ""]:
            self.assertErr(c.cmd(base("started", person=p)), "invalid", "person")

    def test_gemeente_rules(self):
        c = self.conn()
        for g in ["amsterdam", "Hilversum", "HILVERSUM", "gooise meren", "hilversum,huizen", ""]:
            self.assertErr(c.cmd(base("started", gemeente=g)), "invalid", "gemeente")

    def test_date_rules(self):
        c = self.conn()
        for d in ["2000-01-01", "2000-02-29", "2020-02-29", "2021-12-31", "2021-04-30", day(0), day(1)]:
            self.assertOkSeq(c.cmd(base("started", date=d)))
        for d in ["1999-12-31", "1970-01-01", day(2), day(400), "9999-12-31", "2021-02-29", "2100-02-29",
                  "2021-04-31", "2021-13-01", "2021-00-10", "2021-01-00", "2021-01-32", "2021-1-01",
                  "2021-01-1", "21-01-01", "2021/01/01", "2021-01-01T00:00", "20210101", "", "yesterday"]:
            self.assertErr(c.cmd(base("started", date=d)), "invalid", "date")

    def test_months_and_hours_ranges(self):
        c = self.conn()
        for m in (0, 1, 5, 6, 120):
            self.assertOkSeq(c.cmd(base("placed", months=m)))
        for m in ("-1", "121", "1000", "x", "6.5", "", "6m"):
            self.assertErr(c.cmd(base("placed", months=m)), "invalid", "months")
        for h in (1, 36, 60):
            self.assertOkSeq(c.cmd(base("placed", hours=h)))
        for h in ("0", "61", "-5", "x", "", "40.0"):
            self.assertErr(c.cmd(base("placed", hours=h)), "invalid", "hours")

    def test_text_field_lengths(self):
        c = self.conn()
        self.assertOkSeq(c.cmd(base("placed", employer="E" * 128)))
        self.assertErr(c.cmd(base("placed", employer="E" * 129)), "invalid", "employer")
        self.assertOkSeq(c.cmd(base("placed", by="B" * 64)))
        self.assertErr(c.cmd(base("placed", by="B" * 65)), "invalid", "by")
        self.assertOkSeq(c.cmd(base("placed", employer="Bakkerij de Vries & Zn.", by="Fatima El Amrani")))

    def test_unknown_project(self):
        c = self.conn()
        missing = uid("nope")
        for type_ in TYPES:
            self.assertErr(c.cmd(base(type_, project=missing)), "unknown-project", missing)

    def test_nothing_is_stored_by_a_refused_event(self):
        c = self.conn()
        i = uid()
        self.assertErr(c.cmd(base("started", i, kind="stage")), "invalid")
        self.assertErr(c.cmd(base("started", i, project=uid("nope"))), "unknown-project")
        self.assertOkSeq(c.cmd(base("started", i, kind="taal")))

    # -- idempotency --------------------------------------------------------------------------

    def test_resend_is_dup_with_the_original_seq(self):
        c = self.conn()
        i = uid()
        seq = self.assertOkSeq(c.cmd(base("completed", i)))
        later = self.assertOkSeq(c.cmd(base("completed")))
        self.assertGreater(later, seq)
        for _ in range(3):
            self.assertDup(c.cmd(base("completed", i)), seq)
        # From another connection too: the principal is the same (open mode).
        self.assertDup(self.conn().cmd(base("completed", i)), seq)

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


class GemeentenOverrideTest(wmtest.TestCase):
    flags = ["--gemeenten", "amsterdam,utrecht"]
    registry = ["PROJECT %s category=events-test" % PROJ]

    def test_only_the_configured_gemeenten(self):
        wmtest.need_own_daemon(self)
        c = self.conn()
        self.assertOkSeq(c.cmd(base("started", gemeente="amsterdam")))
        self.assertOkSeq(c.cmd(base("outflow", gemeente="utrecht")))
        self.assertErr(c.cmd(base("started", gemeente="hilversum")), "invalid", "gemeente")


class DurabilityTest(wmtest.FreshDaemonTestCase):
    """Each test has its own daemon and data directory."""

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
