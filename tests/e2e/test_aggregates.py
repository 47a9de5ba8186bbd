"""COUNT and PROGRESS figures (PROTOCOL.md section 5) against a second, independent model
on a data set of its own: seeded random events over five projects (one local; with and
without periods and targets), outflow with and without a project, dates on the first
and last days of months, quarters and project periods, repeat persons, defaults left out,
resends, and retractions by ref and by seq. Every COUNT dimension, combinations, filters,
date ranges and distinct=person, and PROGRESS over many asof dates, are compared row by
row; the program rows once more on a small data set with known answers.
The contract's rules one by one (RETRACT's replies and refusals, COUNT's and PROGRESS's
refusals, read-your-writes, recategorising, a restart): test_conformance_aggregates.py."""

import datetime
import math
import random
import unittest

import wmtest
from wmtest import event

GEMEENTEN = wmtest.DEFAULT_GEMEENTEN
ENUMS = {
    "started": [("kind", ["overig", "scholing", "begeleiding", "werkervaring", "taal"]),
                ("doelgroep", ["overig", "jongeren", "statushouders", "50plus", "arbeidsbeperking", "ggz"]),
                ("benefit", ["onbekend", "pw", "ww", "wajong", "wia", "wao", "geen"])],
    "completed": [("result", ["diploma", "certificaat", "afgerond", "uitgevallen"])],
    "placed": [("sector", ["zorg", "techniek", "bouw", "ict", "media", "horeca", "vervoer", "onderwijs", "handel",
                           "overig"]),
               ("contract", ["betaald", "leerwerk"])],
    "outflow": [("benefit", ["pw", "ww", "wajong", "wia", "wao"]), ("reason", ["werk", "scholing", "verhuizing",
                                                                             "overig"])],
}
REQUIRED_ENUMS = {"result", "sector", "outflow.benefit", "reason"}
SUCCESS = {"diploma", "certificaat", "afgerond"}

# name: (category, scope, start, end, (target started, completed, placed))
PROJECTS = {
    "pa": ("cat-b", "regional", "2021-02-01", "2021-11-30", (40, 20, 10)),
    "pb": ("cat-a", "regional", None, None, (30, None, 5)),
    "pc": ("cat-a", "regional", "2021-01-01", None, (None, 7, None)),
    "pl": ("cat-c", "local", "2021-01-01", "2021-12-31", (10, None, 3)),
    "pz": ("cat-b", "regional", None, None, (None, None, None)),
}
EDGE_DATES = ["2020-12-31", "2021-01-01", "2021-01-31", "2021-02-01", "2021-02-28", "2021-03-01", "2021-03-31",
              "2021-04-01", "2021-06-30", "2021-07-01", "2021-09-30", "2021-10-01", "2021-11-30", "2021-12-01",
              "2021-12-31", "2022-01-01", "2020-02-29", "2022-03-31"]


def d(s):
    return datetime.date.fromisoformat(s)


def project_line(name):
    cat, scope, start, end, t = PROJECTS[name]
    parts = ["PROJECT", name, "category=" + cat, "scope=" + scope]
    if start:
        parts.append("start=" + start)
    if end:
        parts.append("end=" + end)
    for ind, v in zip(("started", "completed", "placed"), t):
        if v is not None:
            parts.append("target.%s=%d" % (ind, v))
    return " ".join(parts)


class Model:
    """The events as this test believes the server holds them."""

    def __init__(self, projects):
        self.projects = dict(projects)
        self.events = {}  # id -> dict
        self.order = []

    def add(self, ev):
        self.events[ev["id"]] = ev
        self.order.append(ev["id"])

    def live(self, type_):
        return [e for e in self.events.values() if e["type"] == type_ and not e["retracted"]]

    def dim(self, e, name):
        p = e.get("project")
        if name == "project":
            return p or "-"
        if name == "category":
            return self.projects[p][0] if p else "-"
        if name == "scope":
            return self.projects[p][1] if p else "-"
        if name == "gemeente":
            return e["gemeente"]
        dt = d(e["date"])
        if name == "year":
            return "%04d" % dt.year
        if name == "quarter":
            return "%04d-Q%d" % (dt.year, (dt.month - 1) // 3 + 1)
        if name == "month":
            return "%04d-%02d" % (dt.year, dt.month)
        if name == "durable":
            m = e.get("months")
            return "unknown" if m is None else ("yes" if m >= 6 else "no")
        return e[name]

    def count(self, type_, by=(), frm=None, to=None, distinct=False, filters=None):
        """The rows COUNT must answer, as lines."""
        groups = {}
        for e in self.live(type_):
            if frm and e["date"] < frm:
                continue
            if to and e["date"] > to:
                continue
            if any(self.dim(e, k) not in vs for k, vs in (filters or {}).items()):
                continue
            key = tuple(self.dim(e, b) for b in by)
            groups.setdefault(key, []).append(e)
        if not by:
            evs = groups.get((), [])
            n = len({e["person"] for e in evs}) if distinct else len(evs)
            return ["ROW count=%d" % n, "END 1"]
        rows = []
        for key in sorted(groups, key=lambda k: tuple(v.encode() for v in k)):
            evs = groups[key]
            n = len({e["person"] for e in evs}) if distinct else len(evs)
            rows.append("ROW " + " ".join("%s=%s" % (b, wmtest.escape(v)) for b, v in zip(by, key))
                        + " count=%d" % n)
        return rows + ["END %d" % len(rows)]

    def actuals(self, name, asof):
        cat, scope, start, end, targets = self.projects[name]

        def inwin(e):
            return e.get("project") == name and (not start or e["date"] >= start) and e["date"] <= asof

        started = [e for e in self.live("started") if inwin(e)]
        completed = [e for e in self.live("completed") if inwin(e) and e["result"] in SUCCESS]
        placed = {e["person"] for e in self.live("placed") if inwin(e)}
        return len(started), len(completed), placed

    @staticmethod
    def expected(target, start, end, asof):
        """(expected, status-function) per PROTOCOL.md; elapsed counts the days of
        start..asof over the days of start..end, both inclusive."""
        if target is None:
            return None
        if start and end:
            total = (d(end) - d(start)).days + 1
            passed = (d(asof) - d(start)).days + 1
            elapsed = min(1.0, max(0.0, passed / total))
        else:
            elapsed = 1.0
        x = target * elapsed
        return int(math.floor(x + 0.5))

    @staticmethod
    def status(actual, expected):
        if expected is None:
            return "none"
        if actual >= expected:
            return "green"
        if actual >= 0.8 * expected:
            return "orange"
        return "red"

    def progress_rows(self, asof, names=None):
        rows = []
        names = names if names is not None else list(self.projects)
        for name in sorted(names, key=lambda n: (self.projects[n][0].encode(), n.encode())):
            cat, scope, start, end, targets = self.projects[name]
            s, c, placed = self.actuals(name, asof)
            for ind, actual, t in zip(("started", "completed", "placed"), (s, c, len(placed)), targets):
                exp = self.expected(t, start, end, asof)
                rows.append("ROW project=%s category=%s indicator=%s actual=%d target=%s expected=%s status=%s"
                            % (name, cat, ind, actual, "-" if t is None else t, "-" if exp is None else exp,
                               self.status(actual, exp)))
        return rows


class AggregatesTest(wmtest.TestCase):
    own_daemon_reason = "needs a daemon of its own: exact totals"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.model = Model(PROJECTS)
        rnd = random.Random(20240229)
        with cls.server.connect() as c:
            assert c.pipeline([project_line(n) for n in PROJECTS]) == ["OK"] * len(PROJECTS)
            assert c.cmd("PROGRAM start=2020-01-01 end=2023-12-31 target.started=200 target.completed=60 "
                         "target.placed=40") == "OK"
            lines, evs = [], []
            counts = {"started": 160, "completed": 90, "placed": 90, "outflow": 60}
            n = 0
            for type_, k in counts.items():
                for _ in range(k):
                    n += 1
                    e = cls.random_event(rnd, type_, "ev-%04d" % n)
                    evs.append(e)
                    lines.append(cls.wire(rnd, e))
            replies = c.pipeline(lines)
            for e, r in zip(evs, replies):
                assert r.startswith("OK "), (r, e)
                e["seq"] = int(r.split()[1])
                cls.model.add(e)
            # Resends: the same lines again change nothing.
            idx = rnd.sample(range(len(lines)), 40)
            for i, r in zip(idx, c.pipeline([lines[i] for i in idx])):
                assert r == "DUP %d" % evs[i]["seq"], (r, lines[i])
            # Retractions, by ref and (as admin) by seq.
            victims = rnd.sample(evs, 33)
            rlines = []
            for k, e in enumerate(victims):
                if k < 30:
                    rlines.append("RETRACT id=rt-%04d ref=%s reason=test%%20%d" % (k, e["id"], k))
                else:
                    rlines.append("RETRACT id=rt-%04d seq=%d" % (k, e["seq"]))
            for e, r in zip(victims, c.pipeline(rlines)):
                assert r.startswith("OK "), (r, e)
                e["retracted"] = True

    @staticmethod
    def random_event(rnd, type_, id_):
        e = {"type": type_, "id": id_, "person": "pseudo-agg-%03d" % rnd.randrange(25),
             "gemeente": rnd.choice(GEMEENTEN), "retracted": False,
             "date": rnd.choice(EDGE_DATES) if rnd.random() < 0.6 else
             (d("2020-06-01") + datetime.timedelta(days=rnd.randrange(760))).isoformat()}
        if type_ == "outflow":
            e["project"] = rnd.choice(list(PROJECTS) + [None, None])
        else:
            e["project"] = rnd.choice(list(PROJECTS))
        for field, values in ENUMS[type_]:
            e[field] = rnd.choice(values)
            # Optional fields are sometimes left out: the default applies.
            e["_omit_" + field] = (field in ("kind", "doelgroep", "contract") or
                                   (type_ == "started" and field == "benefit")) and \
                e[field] == values[0] and rnd.random() < 0.5
        if type_ == "placed":
            e["months"] = rnd.choice([None, 0, 3, 5, 6, 7, 12, 24])
        return e

    @staticmethod
    def wire(rnd, e):
        f = {"id": e["id"], "person": e["person"], "gemeente": e["gemeente"], "date": e["date"]}
        if e["project"]:
            f["project"] = e["project"]
        for field, _ in ENUMS[e["type"]]:
            if not e["_omit_" + field]:
                f[field] = e[field]
        if e["type"] == "placed" and e["months"] is not None:
            f["months"] = e["months"]
        return event(e["type"], **f)

    def check(self, query, expected):
        self.assertEqual(self.conn().cmd(query), expected, query)

    # -- COUNT ----------------------------------------------------------------------------

    def test_count_without_by(self):
        for t in ENUMS:
            self.check("COUNT %s" % t, self.model.count(t))
            self.check("COUNT %s distinct=person" % t, self.model.count(t, distinct=True))

    def test_count_by_each_dimension(self):
        common = ["project", "category", "scope", "gemeente", "year", "quarter", "month"]
        for t, fields in ENUMS.items():
            dims = common + [f for f, _ in fields] + (["durable"] if t == "placed" else [])
            for dim in dims:
                self.check("COUNT %s by=%s" % (t, dim), self.model.count(t, by=[dim]))

    def test_count_by_several_dimensions_in_the_order_given(self):
        for t, by in [("started", ["project", "gemeente"]), ("started", ["gemeente", "project"]),
                      ("started", ["kind", "doelgroep", "benefit"]), ("placed", ["sector", "contract", "durable"]),
                      ("placed", ["quarter", "category"]), ("outflow", ["category", "scope", "reason"]),
                      ("completed", ["year", "result", "scope"])]:
            self.check("COUNT %s by=%s" % (t, ",".join(by)), self.model.count(t, by=by))

    def test_count_distinct_person(self):
        for t, by in [("placed", ["project"]), ("started", ["gemeente"]), ("completed", ["category", "result"]),
                      ("outflow", ["year"])]:
            self.check("COUNT %s by=%s distinct=person" % (t, ",".join(by)),
                       self.model.count(t, by=by, distinct=True))

    def test_count_date_ranges(self):
        ranges = [("2021-01-01", "2021-12-31"), ("2021-02-01", "2021-11-30"), ("2021-03-31", "2021-03-31"),
                  ("2021-04-01", "2021-06-30"), ("2021-07-01", None), (None, "2020-12-31"),
                  ("2020-02-29", "2020-02-29"), ("2030-01-01", None)]
        for t in ENUMS:
            for frm, to in ranges:
                q = "COUNT %s by=month" % t + (" from=" + frm if frm else "") + (" to=" + to if to else "")
                self.check(q, self.model.count(t, by=["month"], frm=frm, to=to))
                q = "COUNT %s" % t + (" from=" + frm if frm else "") + (" to=" + to if to else "")
                self.check(q, self.model.count(t, frm=frm, to=to))

    def test_count_filters(self):
        cases = [
            ("started", "gemeente=hilversum,huizen", {"gemeente": {"hilversum", "huizen"}}, ["project"]),
            ("started", "kind=scholing,taal doelgroep=jongeren", {"kind": {"scholing", "taal"},
                                                                   "doelgroep": {"jongeren"}}, ["gemeente"]),
            ("started", "benefit=onbekend", {"benefit": {"onbekend"}}, []),
            ("completed", "result=diploma,certificaat,afgerond", {"result": SUCCESS}, ["project"]),
            ("placed", "durable=yes", {"durable": {"yes"}}, ["sector"]),
            ("placed", "durable=unknown,no contract=leerwerk", {"durable": {"unknown", "no"},
                                                               "contract": {"leerwerk"}}, []),
            ("placed", "project=pa,pb", {"project": {"pa", "pb"}}, ["category"]),
            ("outflow", "category=cat-a", {"category": {"cat-a"}}, ["project"]),
            ("outflow", "scope=local", {"scope": {"local"}}, []),
            ("outflow", "scope=regional", {"scope": {"regional"}}, ["project"]),
            ("started", "year=2021", {"year": {"2021"}}, ["quarter"]),
            ("started", "quarter=2021-Q1,2021-Q4", {"quarter": {"2021-Q1", "2021-Q4"}}, ["month"]),
            ("completed", "month=2021-03,2021-04", {"month": {"2021-03", "2021-04"}}, ["gemeente"]),
            ("started", "gemeente=weesp project=pz", {"gemeente": {"weesp"}, "project": {"pz"}}, []),
        ]
        for t, args, filters, by in cases:
            q = "COUNT %s %s" % (t, args) + (" by=" + ",".join(by) if by else "")
            self.check(q, self.model.count(t, by=by, filters=filters))

    def test_count_of_nothing(self):
        self.check("COUNT started from=2030-01-01", ["ROW count=0", "END 1"])
        self.check("COUNT started from=2030-01-01 by=project", ["END 0"])
        self.check("COUNT placed gemeente=blaricum project=pz sector=onderwijs contract=leerwerk durable=no "
                   "month=2020-02 distinct=person",
                   self.model.count("placed", distinct=True, filters={
                       "gemeente": {"blaricum"}, "project": {"pz"}, "sector": {"onderwijs"},
                       "contract": {"leerwerk"}, "durable": {"no"}, "month": {"2020-02"}}))

    # -- PROGRESS -------------------------------------------------------------------------

    def progress(self, query):
        resp = self.conn().cmd(query)
        self.assertIsInstance(resp, list, query)
        return resp

    def test_progress_project_rows(self):
        for asof in ["2021-01-31", "2021-02-01", "2021-03-31", "2021-08-15", "2021-11-30", "2021-12-31",
                     "2022-06-30", "2020-12-31"]:
            resp = self.progress("PROGRESS asof=" + asof)
            want = self.model.progress_rows(asof)
            self.assertEqual(resp[:len(want)], want, asof)
            self.assertEqual(len(resp), len(want) + 4, "3 program rows and END")
            self.assertEqual(resp[-1], "END %d" % (len(want) + 3))
            for line, ind in zip(resp[len(want):-1], ("started", "completed", "placed")):
                self.assertTrue(line.startswith("ROW project=* category=* indicator=%s " % ind), line)

    def test_progress_filters(self):
        asof = "2021-09-30"
        for q, names in [("category=cat-a", ["pb", "pc"]), ("project=pa", ["pa"]), ("category=cat-c", ["pl"]),
                         ("category=cat-b project=pz", ["pz"])]:
            resp = self.progress("PROGRESS asof=%s %s" % (asof, q))
            want = self.model.progress_rows(asof, names)
            self.assertEqual(resp[:len(want)], want, q)
            rest = resp[len(want):-1]
            self.assertIn(len(rest), (0, 3), "only program rows may follow: %r" % rest)
            for line in rest:
                self.assertTrue(line.startswith("ROW project=* category=* "), line)


class ProgramRowsTest(wmtest.TestCase):
    """Program rows on data where every event lies inside every period, so that the sum
    over regional projects is unambiguous; 'placed' counts each person once."""

    registry = ["PROJECT ra category=k1 start=2021-01-01 end=2021-12-31 target.started=10 target.placed=4",
                "PROJECT rb category=k2 target.started=5 target.completed=4",
                "PROJECT lo category=k3 scope=local target.started=100 target.placed=100",
                "PROGRAM start=2021-01-01 end=2022-12-31 target.started=10 target.completed=6 target.placed=4"]

    def test_program_rows(self):
        wmtest.need_own_daemon(self)
        c = self.conn()
        lines = []
        # persons x1..x3 placed in both regional projects: 3 distinct, not 6.
        for k, (t, p, person, extra) in enumerate([
                ("started", "ra", "pseudo-x1", {}), ("started", "ra", "pseudo-x2", {}),
                ("started", "rb", "pseudo-x1", {}), ("started", "rb", "pseudo-x5", {}),
                ("started", "lo", "pseudo-x9", {}),
                ("started", "lo", "pseudo-x8", {}),
                ("completed", "rb", "pseudo-x1", {"result": "diploma"}),
                ("completed", "rb", "pseudo-x2", {"result": "uitgevallen"}),
                ("completed", "ra", "pseudo-x2", {"result": "afgerond"}),
                ("placed", "ra", "pseudo-x1", {"sector": "zorg"}), ("placed", "rb", "pseudo-x1", {"sector": "zorg"}),
                ("placed", "ra", "pseudo-x2", {"sector": "bouw"}), ("placed", "rb", "pseudo-x3", {"sector": "ict"}),
                ("placed", "lo", "pseudo-x4", {"sector": "ict"}), ("placed", "ra", "pseudo-x2", {"sector": "ict"})]):
            lines.append(event(t, id="pr-%d" % k, person=person, gemeente="laren", date="2021-07-01", project=p,
                               **extra))
        for r in c.pipeline(lines):
            self.assertOkSeq(r)
        resp = c.cmd("PROGRESS asof=2021-12-31")
        # Program: 2021-01-01..2022-12-31 = 730 days, 365 passed: elapsed = 0.5.
        self.assertEqual(resp[-4:], [
            "ROW project=* category=* indicator=started actual=4 target=10 expected=5 status=orange",
            "ROW project=* category=* indicator=completed actual=2 target=6 expected=3 status=red",
            "ROW project=* category=* indicator=placed actual=3 target=4 expected=2 status=green",
            "END %d" % (len(resp) - 1)])
        self.assertEqual(resp[:-4], [
            "ROW project=ra category=k1 indicator=started actual=2 target=10 expected=10 status=red",
            "ROW project=ra category=k1 indicator=completed actual=1 target=- expected=- status=none",
            "ROW project=ra category=k1 indicator=placed actual=2 target=4 expected=4 status=red",
            "ROW project=rb category=k2 indicator=started actual=2 target=5 expected=5 status=red",
            "ROW project=rb category=k2 indicator=completed actual=1 target=4 expected=4 status=red",
            "ROW project=rb category=k2 indicator=placed actual=2 target=- expected=- status=none",
            "ROW project=lo category=k3 indicator=started actual=2 target=100 expected=100 status=red",
            "ROW project=lo category=k3 indicator=completed actual=0 target=- expected=- status=none",
            "ROW project=lo category=k3 indicator=placed actual=1 target=100 expected=100 status=red"])


if __name__ == "__main__":
    unittest.main()
