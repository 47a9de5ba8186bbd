"""The rules of COUNT and PROGRESS (PROTOCOL.md section 5) and of RETRACT (section 4), one
test per rule, exact replies: RETRACT's replies, retries, conflicts and refusals; COUNT's
dimensions, row order, filters (lists and their limit), date ranges, distinct=person and
refusals; PROGRESS's status colours, pro-rata expected figures, filters, program rows,
recategorising and moved periods; events with their retractions in one batch; the
aggregates after SIGKILL; read-your-writes across connections. Every expected reply is
computed here, in Python, from the events this file sends (a model of the contract),
never taken from the daemon. test_aggregates.py checks the figures again against an
independent model and data set. Findings of the audit: docs/AUDIT.md."""

import datetime
import itertools
import random
import time
import unittest
from fractions import Fraction

import wmtest
from wmtest import event



D = datetime.date

ENUMS = {
    "started": [
        ("kind", ["overig", "scholing", "begeleiding", "werkervaring", "taal"]),
        ("doelgroep", ["overig", "jongeren", "statushouders", "50plus", "arbeidsbeperking", "ggz"]),
        ("benefit", ["onbekend", "pw", "ww", "wajong", "wia", "wao", "geen"]),
    ],
    "completed": [("result", ["diploma", "certificaat", "afgerond", "uitgevallen"])],
    "placed": [
        ("sector", ["zorg", "techniek", "bouw", "ict", "media", "horeca", "vervoer", "onderwijs",
                    "handel", "overig"]),
        ("contract", ["betaald", "leerwerk"]),
    ],
    "outflow": [
        ("benefit", ["pw", "ww", "wajong", "wia", "wao"]),
        ("reason", ["werk", "scholing", "verhuizing", "overig"]),
    ],
}
TYPES = ["started", "completed", "placed", "outflow"]
COMMON_DIMS = ["project", "category", "scope", "gemeente", "year", "quarter", "month"]
SUCCESS = {"diploma", "certificaat", "afgerond"}


def type_dims(t):
    dims = COMMON_DIMS + [name for name, _ in ENUMS[t]]
    if t == "placed":
        dims.append("durable")
    return dims


def dim_domain(t, dim, registry, gemeenten):
    """Every valid filter value of a dimension (for the periods: those of the data)."""
    if dim == "project":
        return sorted(registry) + (["-"] if t == "outflow" else [])
    if dim == "category":
        return sorted({p["category"] for p in registry.values()}) + (["-"] if t == "outflow" else [])
    if dim == "scope":
        return ["regional", "local"]
    if dim == "gemeente":
        return list(gemeenten)
    if dim == "durable":
        return ["yes", "no", "unknown"]
    for name, values in ENUMS[t]:
        if name == dim:
            return values
    raise KeyError(dim)


def required(t, name):
    return (name in ("result", "sector", "reason")) or (t == "outflow" and name == "benefit")


class Model:
    """The contract's view of the store: events, retractions and the registry."""

    def __init__(self):
        self.events = []  # dicts, in seq order
        self.by_id = {}
        self.registry = {}  # name -> project dict
        self.program = {"start": None, "end": None, "target": {}}

    # -- registry -----------------------------------------------------------------------

    def project(self, name, category=None, scope=None, start=None, end=None, targets=None):
        """Apply a PROJECT request to the model; return the request line."""
        p = self.registry.get(name)
        if p is None:
            p = self.registry[name] = {"category": None, "scope": "regional", "start": None,
                                       "end": None, "target": {}}
        parts = ["PROJECT", name]
        if category is not None:
            p["category"] = category
            parts.append("category=" + category)
        if scope is not None:
            p["scope"] = scope
            parts.append("scope=" + scope)
        if start is not None:
            p["start"] = start
            parts.append("start=" + start.isoformat())
        if end is not None:
            p["end"] = end
            parts.append("end=" + end.isoformat())
        for ind, n in (targets or {}).items():
            p["target"][ind] = n
            parts.append("target.%s=%d" % (ind, n))
        return " ".join(parts)

    def set_program(self, start, end, targets):
        self.program = {"start": start, "end": end, "target": dict(targets)}
        parts = ["PROGRAM", "start=" + start.isoformat(), "end=" + end.isoformat()]
        parts += ["target.%s=%d" % kv for kv in targets.items()]
        return " ".join(parts)

    # -- events -------------------------------------------------------------------------

    def add(self, ev, seq):
        ev = dict(ev)
        ev["seq"] = seq
        ev["retracted"] = False
        self.events.append(ev)
        self.by_id[ev["id"]] = ev
        return ev

    def live(self, t):
        return [e for e in self.events if e["type"] == t and not e["retracted"]]

    def value(self, e, dim):
        d = e["date"]
        p = self.registry.get(e.get("project")) if e.get("project") else None
        if dim == "project":
            return e.get("project") or "-"
        if dim == "category":
            return p["category"] if p else "-"
        if dim == "scope":
            return p["scope"] if p else "-"
        if dim == "gemeente":
            return e["gemeente"]
        if dim == "year":
            return "%04d" % d.year
        if dim == "quarter":
            return "%04d-Q%d" % (d.year, (d.month - 1) // 3 + 1)
        if dim == "month":
            return "%04d-%02d" % (d.year, d.month)
        if dim == "durable":
            m = e["fields"].get("months")
            return "unknown" if m is None else ("yes" if m >= 6 else "no")
        for name, values in ENUMS[e["type"]]:
            if name == dim:
                return e["fields"].get(name, values[0])
        raise KeyError(dim)

    def count(self, t, by=(), frm=None, to=None, distinct=False, filters=None):
        """The exact reply lines of COUNT per the contract."""
        groups = {}
        for e in self.live(t):
            if frm is not None and e["date"] < frm:
                continue
            if to is not None and e["date"] > to:
                continue
            if any(self.value(e, dim) not in vals for dim, vals in (filters or {}).items()):
                continue
            key = tuple(self.value(e, dim) for dim in by)
            groups.setdefault(key, []).append(e["person"])
        if not by:
            items = groups.get((), [])
            n = len(set(items)) if distinct else len(items)
            return ["ROW count=%d" % n, "END 1"]
        rows = []
        for key in sorted(groups):
            items = groups[key]
            n = len(set(items)) if distinct else len(items)
            if n == 0:
                continue
            rows.append("ROW " + " ".join("%s=%s" % (d, v) for d, v in zip(by, key)) + " count=%d" % n)
        return rows + ["END %d" % len(rows)]

    # -- PROGRESS ------------------------------------------------------------------------

    def actuals(self, name, asof):
        p = self.registry[name]
        lo = p["start"] or D(1, 1, 1)
        started = completed = 0
        persons = set()
        for e in self.events:
            if e["retracted"] or e.get("project") != name or not (lo <= e["date"] <= asof):
                continue
            if e["type"] == "started":
                started += 1
            elif e["type"] == "completed" and e["fields"]["result"] in SUCCESS:
                completed += 1
            elif e["type"] == "placed":
                persons.add(e["person"])
        return [started, completed, persons]

    @staticmethod
    def row(project, category, ind, actual, target, start, end, asof):
        if target is None:
            return ("ROW project=%s category=%s indicator=%s actual=%d target=- expected=- status=none"
                    % (project, category, ind, actual))
        if start is not None and end is not None:
            total = (end - start).days + 1
            passed = (asof - start).days + 1  # the days start..asof, inclusive
            elapsed = Fraction(min(max(passed, 0), total), total)
        else:
            elapsed = Fraction(1)
        x = target * elapsed
        expected = int(x) + (1 if x - int(x) >= Fraction(1, 2) else 0)  # round half up
        if actual >= expected:
            status = "green"
        elif actual >= Fraction(8, 10) * expected:
            status = "orange"
        else:
            status = "red"
        return ("ROW project=%s category=%s indicator=%s actual=%d target=%d expected=%d status=%s"
                % (project, category, ind, actual, target, expected, status))

    def progress(self, asof, category=None, project=None):
        inds = ["started", "completed", "placed"]
        rows = []
        names = [n for n, p in self.registry.items()
                 if (project is None or n == project) and (category is None or p["category"] == category)]
        names.sort(key=lambda n: (self.registry[n]["category"], n))
        for n in names:
            p = self.registry[n]
            a = self.actuals(n, asof)
            a[2] = len(a[2])
            for i, ind in enumerate(inds):
                rows.append(self.row(n, p["category"], ind, a[i], p["target"].get(ind),
                                     p["start"], p["end"], asof))
        tot = [0, 0, set()]
        for n, p in self.registry.items():
            if p["scope"] != "regional":
                continue
            a = self.actuals(n, asof)
            tot[0] += a[0]
            tot[1] += a[1]
            tot[2] |= a[2]
        tot[2] = len(tot[2])
        prog = self.program
        for i, ind in enumerate(inds):
            rows.append(self.row("*", "*", ind, tot[i], prog["target"].get(ind), prog["start"],
                                 prog["end"], asof))
        return rows + ["END %d" % len(rows)]


def event_line(e, explicit_defaults=False):
    f = {"id": e["id"], "person": e["person"], "gemeente": e["gemeente"], "date": e["date"].isoformat()}
    if e.get("project"):
        f["project"] = e["project"]
    for name, values in ENUMS[e["type"]]:
        if name in e["fields"]:
            f[name] = e["fields"][name]
        elif explicit_defaults and not required(e["type"], name):
            f[name] = values[0]
    for k in ("months", "hours"):
        if e["fields"].get(k) is not None:
            f[k] = e["fields"][k]
    return event(e["type"], **f)


# Dates that sit on the edges of days, months, quarters, years and project periods.
EDGE_DATES = [D(2020, 1, 1), D(2020, 8, 31), D(2020, 9, 1), D(2020, 12, 31), D(2021, 1, 1),
              D(2021, 3, 31), D(2021, 4, 1), D(2021, 6, 30), D(2021, 7, 1), D(2021, 9, 30),
              D(2021, 10, 1), D(2021, 12, 31), D(2022, 1, 1), D(2022, 2, 28), D(2022, 3, 1),
              D(2022, 3, 31), D(2022, 4, 1), D(2022, 6, 30), D(2022, 7, 1), D(2023, 12, 31),
              D(2024, 1, 1), D(2024, 2, 29), D(2024, 3, 1)]

GEMEENTEN = wmtest.DEFAULT_GEMEENTEN


def setup_registry(m):
    """The registry used by the data set: categories shared by several projects, a local
    project, projects with and without periods and targets."""
    return [
        m.set_program(D(2020, 1, 1), D(2025, 12, 31), {"started": 400, "completed": 200, "placed": 150}),
        m.project("zorgstart", "scholingsprojecten", None, D(2020, 9, 1), D(2023, 12, 31),
                  {"started": 48, "completed": 40, "placed": 36}),
        m.project("techlab", "scholingsprojecten", "regional", D(2021, 1, 1), None, {"placed": 10}),
        m.project("taalhuis", "begeleiding-doelgroepen", "local", D(2021, 4, 1), D(2024, 3, 31),
                  {"started": 30, "completed": 10, "placed": 5}),
        m.project("werkfit", "begeleiding-doelgroepen"),
        m.project("bouwpad", "werkervaring", None, D(2022, 4, 1), D(2022, 6, 30),
                  {"started": 20, "completed": 15, "placed": 12}),
        m.project("lokaal-hv", "werkervaring", "local"),
    ]


def gen_events(seed, n):
    """n events with repeat persons, every type, edge dates and defaults left out."""
    rnd = random.Random(seed)
    persons = ["p:%010x" % rnd.getrandbits(40) for _ in range(25)]
    projects = ["zorgstart", "techlab", "taalhuis", "werkfit", "bouwpad", "lokaal-hv"]
    out = []
    for i in range(n):
        t = TYPES[i % 4]
        if rnd.random() < 0.45:
            d = rnd.choice(EDGE_DATES)
        else:
            d = D(2020, 1, 1) + datetime.timedelta(days=rnd.randrange(0, 5 * 366))
        e = {"type": t, "id": "a-%d" % i, "person": rnd.choice(persons),
             "gemeente": rnd.choice(GEMEENTEN[:5]), "date": d, "fields": {}}
        if t != "outflow" or rnd.random() < 0.5:
            e["project"] = rnd.choice(projects)
        for name, values in ENUMS[t]:
            if required(t, name) or rnd.random() < 0.7:
                e["fields"][name] = rnd.choice(values)
        if t == "placed":
            e["fields"]["months"] = rnd.choice([None, 0, 5, 6, 12, 120])
            if rnd.random() < 0.5:
                e["fields"]["hours"] = rnd.randint(1, 60)
        out.append(e)
    return out


class AggregatesBase(wmtest.TestCase):
    """A fresh daemon holding the data set, with resends, retractions by ref and by seq,
    and corrections (retract plus a new event) applied; cls.model mirrors it."""

    seed = 20211
    nevents = 320

    own_daemon_reason = "needs a fresh store of its own"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        m = cls.model = Model()
        with cls.server.connect() as c:
            for r in c.pipeline(setup_registry(m)):
                if r != "OK":
                    raise wmtest.ServerError("registry refused: %r" % r)
            evs = gen_events(cls.seed, cls.nevents)
            replies = c.pipeline([event_line(e) for e in evs])
            for e, r in zip(evs, replies):
                if not (isinstance(r, str) and r.startswith("OK ")):
                    raise wmtest.ServerError("event refused: %r for %r" % (r, event_line(e)))
                m.add(e, int(r[3:]))
            cls.setup_replies = {}
            # Resends, with and without the defaults spelled out: DUP, nothing changes.
            resend = evs[0:40:3]
            lines = [event_line(e, explicit_defaults=True) for e in resend]
            cls.setup_replies["resend"] = (resend, c.pipeline(lines))
            # Retractions: by ref (own events) and by seq (admin).
            rnd = random.Random(cls.seed + 1)
            victims = rnd.sample(m.events, 40)
            lines = []
            for i, e in enumerate(victims):
                if i % 2:
                    lines.append("RETRACT id=rt-%d ref=%s reason=test" % (i, e["id"]))
                else:
                    lines.append("RETRACT id=rt-%d seq=%d" % (i, e["seq"]))
            cls.setup_replies["retract"] = (victims, c.pipeline(lines))
            for e in victims:
                e["retracted"] = True
            # Corrections: a retracted event re-added under a new id counts again.
            readd = victims[:10]
            lines = []
            for i, e in enumerate(readd):
                ne = dict(e, id="fix-%d" % i, fields=dict(e["fields"]))
                ne.pop("seq")
                ne.pop("retracted")
                lines.append(event_line(ne))
                readd[i] = ne
            replies = c.pipeline(lines)
            for e, r in zip(readd, replies):
                if not (isinstance(r, str) and r.startswith("OK ")):
                    raise wmtest.ServerError("re-add refused: %r" % (r,))
                m.add(e, int(r[3:]))

    def check(self, queries):
        """queries: list of (request line, expected reply lines). Pipelines them all and
        fails listing every mismatch (at most 8 shown)."""
        c = self.conn()
        got = c.pipeline([q for q, _ in queries], timeout=30)
        bad = []
        for (q, want), g in zip(queries, got):
            if not isinstance(g, list):
                g = [g]
            if g != want:
                bad.append("%s\n   want %r\n   got  %r" % (q, want, g))
        if bad:
            self.fail("%d of %d replies differ:\n%s" % (len(bad), len(queries), "\n".join(bad[:8])))

    def q(self, t, by=(), frm=None, to=None, distinct=False, filters=None):
        parts = ["COUNT", t]
        if by:
            parts.append("by=" + ",".join(by))
        if frm is not None:
            parts.append("from=" + frm.isoformat())
        if to is not None:
            parts.append("to=" + to.isoformat())
        if distinct:
            parts.append("distinct=person")
        for dim, vals in (filters or {}).items():
            parts.append("%s=%s" % (dim, ",".join(vals)))
        return (" ".join(parts), self.model.count(t, by, frm, to, distinct, filters))


class CountTest(AggregatesBase):
    # -- rule: "Without by: exactly one row, ROW count=<n>, even when n is 0" ----------

    def test_count_without_by_is_one_row(self):
        qs = [self.q(t) for t in TYPES] + [self.q(t, distinct=True) for t in TYPES]
        qs += [self.q(t, filters={"gemeente": ["weesp"]}) for t in TYPES]  # no events there: 0
        qs += [self.q(t, frm=D(2030, 1, 1)) for t in TYPES]
        self.check(qs)
        for _, want in qs[-8:]:
            self.assertEqual(want, ["ROW count=0", "END 1"])

    # -- rule: "Dimensions: project, category, scope, gemeente, year, quarter, month, and
    #    the type's own enumerated fields (...durable...)" -----------------------------

    def test_count_by_each_dimension(self):
        self.check([self.q(t, (dim,)) for t in TYPES for dim in type_dims(t)])

    def test_count_by_durable_yes_no_unknown(self):
        qs = [self.q("placed", ("durable",)), self.q("placed", ("durable", "sector")),
              self.q("placed", ("sector", "durable"))]
        qs += [self.q("placed", filters={"durable": [v]}) for v in ("yes", "no", "unknown")]
        self.check(qs)
        self.assertEqual([r.split()[1] for r in qs[0][1][:-1]],
                         ["durable=no", "durable=unknown", "durable=yes"])

    def test_count_by_two_dimensions_in_the_order_given(self):
        qs = []
        for t in TYPES:
            for a, b in itertools.permutations(type_dims(t), 2):
                qs.append(self.q(t, (a, b)))
        self.check(qs)

    def test_count_by_three_dimensions(self):
        qs = [self.q("started", ("kind", "doelgroep", "benefit")),
              self.q("placed", ("sector", "contract", "durable")),
              self.q("outflow", ("project", "category", "scope")),
              self.q("completed", ("gemeente", "quarter", "result")),
              self.q("started", ("year", "category", "kind")),
              self.q("placed", ("month", "gemeente", "durable"))]
        self.check(qs)

    # -- rule: "An outflow event without a project groups under project=- category=-
    #    scope=-" ------------------------------------------------------------------------

    def test_count_outflow_without_project_groups_under_dash(self):
        q = self.q("outflow", ("project", "category", "scope"))
        self.assertTrue(q[1][0].startswith("ROW project=- category=- scope=- count="), q[1])
        self.check([q, self.q("outflow", ("scope",)), self.q("outflow", ("category",)),
                    self.q("outflow", ("project",), distinct=True)])

    def test_count_outflow_filter_project_dash(self):
        self.check([self.q("outflow", filters={"project": ["-"]}),
                    self.q("outflow", ("gemeente",), filters={"project": ["-", "werkfit"]}),
                    self.q("outflow", filters={"category": ["-"]})])

    # -- rule: "rows sorted ascending by those values in byte order (which is
    #    chronological for year, quarter and month)" and "one row per group with a
    #    non-zero count" -------------------------------------------------------------------

    def test_count_rows_sorted_byte_order_and_chronological(self):
        qs = [self.q(t, (d,)) for t in TYPES for d in ("year", "quarter", "month")]
        self.check(qs)
        for _, want in qs:
            vals = [r.split()[1] for r in want[:-1]]
            self.assertEqual(vals, sorted(vals))

    def test_count_zero_groups_omitted(self):
        # A filter on one gemeente with by=gemeente gives one row, not one per municipality.
        qs = [self.q(t, ("gemeente",), filters={"gemeente": ["hilversum"]}) for t in TYPES]
        qs += [self.q(t, ("gemeente",), filters={"gemeente": ["weesp"]}) for t in TYPES]
        self.check(qs)
        for _, want in qs[4:]:
            self.assertEqual(want, ["END 0"])

    # -- rule: "match every filter (a comma list is an OR)" --------------------------------

    def test_count_filter_each_dimension_each_value(self):
        qs = []
        for t in TYPES:
            for dim in type_dims(t):
                if dim in ("year", "quarter", "month"):
                    vals = sorted({self.model.value(e, dim) for e in self.model.events})
                else:
                    vals = dim_domain(t, dim, self.model.registry, GEMEENTEN)
                for v in vals:
                    qs.append(self.q(t, filters={dim: [v]}))
        self.check(qs)

    def test_count_filter_comma_list_is_or(self):
        qs = []
        for t in TYPES:
            for dim in type_dims(t):
                if dim in ("year", "quarter", "month"):
                    vals = sorted({self.model.value(e, dim) for e in self.model.events})
                else:
                    vals = dim_domain(t, dim, self.model.registry, GEMEENTEN)
                for k in (2, 3):
                    qs.append(self.q(t, (dim,), filters={dim: vals[:k]}))
                    qs.append(self.q(t, filters={dim: vals[-k:]}))
        self.check(qs)

    def test_count_filter_list_longer_than_64_values(self):
        # "a comma list is an OR": nothing but max_line limits its length
        months = ["%04d-%02d" % (y, m) for y in range(2020, 2026) for m in range(1, 13)]
        years = ["%04d" % y for y in range(1950, 2030)]
        self.check([self.q("started", filters={"month": months}),
                    self.q("placed", ("year",), filters={"year": years})])

    def test_count_filter_list_limit_is_1024_values(self):
        # docs/AUDIT.md #4: a comma list holds at most 1024 values (a documented limit of this
        # implementation, in proto/PROTOCOL.md); only a raised max_line can reach it.
        s = self.own_server(["--max-line", "20000"])
        c = self.conn(s)
        months = ["%04d-%02d" % (y, m) for y in range(2000, 2100) for m in range(1, 13)]
        self.assertEqual(c.cmd("COUNT started month=" + ",".join(months[:1024])),
                         ["ROW count=0", "END 1"])
        self.assertErr(c.cmd("COUNT started month=" + ",".join(months[:1025])), "invalid")

    def test_count_filter_value_given_twice_counts_once(self):
        self.check([self.q("placed", filters={"sector": ["zorg", "zorg"]}),
                    self.q("started", ("gemeente",), filters={"gemeente": ["laren", "huizen", "laren"]}),
                    self.q("completed", filters={"year": ["2021", "2021"]})])

    def test_count_every_filter_must_match(self):
        qs = [self.q("started", ("gemeente",), filters={"kind": ["scholing", "taal"], "year": ["2021", "2022"]}),
              self.q("placed", ("project",), filters={"durable": ["yes"], "scope": ["regional"],
                                                      "gemeente": ["laren", "blaricum"]}),
              self.q("completed", ("result",), filters={"category": ["scholingsprojecten"],
                                                        "quarter": ["2021-Q1", "2021-Q3", "2022-Q2"]}),
              self.q("outflow", ("reason",), filters={"benefit": ["pw", "ww"], "month": ["2021-12", "2022-01"]}),
              self.q("placed", ("sector",), filters={"contract": ["leerwerk"], "project": ["zorgstart", "techlab"]})]
        self.check(qs)

    def test_count_filter_scope_local_and_regional(self):
        self.check([self.q(t, ("project",), filters={"scope": [s]}) for t in TYPES
                    for s in ("regional", "local")])

    # -- rule: "whose date lies in [from, to] (inclusive; default: all time)" ---------------

    def ranges(self):
        return [
            (D(2021, 3, 31), D(2021, 3, 31)),  # one day at a month and quarter end
            (D(2021, 4, 1), D(2021, 4, 1)),
            (D(2021, 4, 1), D(2021, 6, 30)),  # exactly one quarter
            (D(2021, 3, 31), D(2021, 7, 1)),  # a quarter and a day either side
            (D(2021, 4, 2), D(2021, 6, 29)),  # a quarter less a day either side
            (D(2022, 2, 1), D(2022, 2, 28)),  # one month
            (D(2022, 2, 28), D(2022, 3, 1)),  # month edge
            (D(2021, 1, 1), D(2021, 12, 31)),  # one year
            (D(2020, 12, 31), D(2021, 1, 1)),  # year edge
            (D(2020, 12, 31), D(2022, 1, 1)),  # a year and a day either side
            (D(2021, 1, 2), D(2021, 12, 30)),
            (D(2020, 9, 1), D(2023, 12, 31)),  # zorgstart's period
            (D(2024, 2, 29), D(2024, 2, 29)),  # leap day
            (D(2021, 3, 5), D(2021, 3, 20)),  # inside one month
            (D(2021, 11, 15), D(2022, 2, 14)),  # partial months across a year end
            (D(2020, 1, 1), D(2024, 12, 31)),
            (D(1999, 1, 1), D(2020, 1, 1)),  # from before 2000 is accepted in queries
        ]

    def test_count_from_to_edges(self):
        qs = []
        for t in TYPES:
            for a, b in self.ranges():
                qs.append(self.q(t, frm=a, to=b))
                qs.append(self.q(t, ("month",), frm=a, to=b))
                qs.append(self.q(t, ("quarter", "gemeente"), frm=a, to=b))
                qs.append(self.q(t, ("year",), frm=a, to=b, distinct=True))
        self.check(qs)

    def test_count_from_only_and_to_only(self):
        qs = []
        for t in TYPES:
            for d in (D(2021, 1, 1), D(2021, 6, 30), D(2021, 7, 1), D(2022, 3, 31)):
                qs.append(self.q(t, ("year",), frm=d))
                qs.append(self.q(t, ("year",), to=d))
        self.check(qs)

    def test_count_from_to_with_enum_dims(self):
        qs = []
        for t in TYPES:
            for a, b in self.ranges()[:10]:
                for dim in type_dims(t)[7:]:
                    qs.append(self.q(t, (dim,), frm=a, to=b))
                if t == "started":
                    qs.append(self.q(t, ("kind", "benefit"), frm=a, to=b, filters={"doelgroep": ["overig", "ggz"]}))
        self.check(qs)

    def test_count_period_filters_with_from_to(self):
        qs = []
        for t in TYPES:
            qs.append(self.q(t, ("month",), frm=D(2021, 3, 15), to=D(2021, 8, 10), filters={"quarter": ["2021-Q2"]}))
            qs.append(self.q(t, frm=D(2021, 3, 15), to=D(2022, 8, 10), filters={"year": ["2021", "2023"]}))
            qs.append(self.q(t, ("gemeente",), frm=D(2021, 4, 2), filters={"month": ["2021-04", "2022-02"]}))
        self.check(qs)

    # -- rule: "distinct=person counts distinct persons per row instead of events" ----------

    def test_count_distinct_person_repeat_persons(self):
        qs = []
        for t in TYPES:
            qs.append(self.q(t, distinct=True))
            for dim in type_dims(t):
                qs.append(self.q(t, (dim,), distinct=True))
        self.check(qs)
        # The data set really has repeat persons: distinct is smaller than the event count.
        for t in TYPES:
            self.assertLess(int(self.model.count(t, distinct=True)[0].split("=")[1]),
                            int(self.model.count(t)[0].split("=")[1]))

    def test_count_distinct_with_filters_and_ranges(self):
        qs = []
        for t in TYPES:
            qs.append(self.q(t, ("category",), distinct=True, filters={"scope": ["regional"]}))
            qs.append(self.q(t, ("gemeente", "year"), distinct=True, frm=D(2020, 12, 31), to=D(2022, 1, 1)))
            qs.append(self.q(t, distinct=True, filters={"quarter": ["2021-Q2", "2022-Q1"]}))
        self.check(qs)

    # -- a seeded mix of everything ----------------------------------------------------

    def test_count_random_mix(self):
        rnd = random.Random(7)
        qs = []
        for _ in range(400):
            t = rnd.choice(TYPES)
            dims = type_dims(t)
            by = tuple(rnd.sample(dims, rnd.randint(0, 3)))
            filters = {}
            for dim in rnd.sample(dims, rnd.randint(0, 2)):
                if dim in ("year", "quarter", "month"):
                    dom = sorted({self.model.value(e, dim) for e in self.model.events})
                else:
                    dom = dim_domain(t, dim, self.model.registry, GEMEENTEN)
                filters[dim] = rnd.sample(dom, min(len(dom), rnd.randint(1, 3)))
            frm = to = None

            def some_date():
                if rnd.random() < 0.5:
                    return rnd.choice(EDGE_DATES)
                return D(2020, 1, 1) + datetime.timedelta(days=rnd.randrange(0, 5 * 366))
            if rnd.random() < 0.5:
                frm = some_date()
            if rnd.random() < 0.5:
                to = some_date()
            if frm and to and frm > to:
                frm, to = to, frm
            qs.append(self.q(t, by, frm, to, rnd.random() < 0.3, filters))
        self.check(qs)

    # -- refusals: "An unknown type or dimension, a malformed date, or from after to is
    #    ERR invalid" ---------------------------------------------------------------------

    def test_count_refusals_are_invalid(self):
        c = self.conn()
        self.assertErr(c.cmd("COUNT"), "syntax")
        for line, *mentions in [
            ("COUNT hired", "hired"),
            ("COUNT started by=sector", "sector"),
            ("COUNT completed by=durable", "durable"),
            ("COUNT started by=durable", "durable"),
            ("COUNT outflow by=kind", "kind"),
            ("COUNT placed by=person", "person"),
            ("COUNT started by=colour", "colour"),
            ("COUNT started by=project,project", "project"),
            ("COUNT placed sector=zorg,xyz", "xyz"),
            ("COUNT placed durable=maybe", "maybe", "durable"),
            ("COUNT started kind=stage", "kind"),
            ("COUNT started colour=red", "colour"),
            ("COUNT started from=2021-02-30", "from"),
            ("COUNT started to=2021-13-01", "to"),
            ("COUNT started from=2022-01-01 to=2021-12-31", "from"),
            ("COUNT started gemeente=amsterdam", "gemeente"),
            ("COUNT started quarter=2021-Q5", "quarter"),
            ("COUNT started month=2021-13", "month"),
            ("COUNT started year=21x", "year"),
            ("COUNT started distinct=id", "distinct"),
            ("COUNT started scope=global", "scope"),
            ("COUNT placed from=2021-02-29", "2021-02-29"),
            ("COUNT placed to=2021-13-01", "2021-13-01"),
            ("COUNT placed from=21-01-01", "21-01-01"),
            ("COUNT placed from=2022-01-01 to=2021-12-31", "from"),
            ("COUNT placed quarter=2021-Q5", "2021-Q5"),
            ("COUNT placed month=2021-13", "2021-13"),
            ("COUNT placed year=21", "21"),
            ("COUNT placed gemeente=amsterdam", "amsterdam"),
            ("COUNT placed scope=national", "national"),
            ("COUNT placed distinct=id", "id"),
            ("COUNT started sector=zorg", "sector"),
            ("COUNT started months=6", "months"),
            ("COUNT outflow result=diploma", "result"),
            ("COUNT placed project=Zorg_start", "Zorg_start"),
        ]:
            with self.subTest(line=line):
                self.assertErr(c.cmd(line), "invalid", *mentions)
        self.assertEqual(c.cmd("PING"), "PONG")

    def test_count_from_equal_to_is_one_day(self):
        self.check([self.q(t, frm=D(2021, 1, 1), to=D(2021, 1, 1)) for t in TYPES])

    def test_count_filter_unregistered_project_is_unknown_project(self):
        # "unknown-project: the project is not in the registry" (section 2).
        c = self.conn()
        self.assertErr(c.cmd("COUNT started project=nergens"), "unknown-project", "nergens")

    def test_count_response_never_names_a_person(self):
        c = self.conn()
        persons = {e["person"] for e in self.model.events}
        for t in TYPES:
            for dim in type_dims(t):
                for line in c.cmd("COUNT %s by=%s distinct=person" % (t, dim)):
                    for p in persons:
                        self.assertNotIn(p, line)


class RetractTest(AggregatesBase):
    """RETRACT (section 4) and its effect on the aggregates (section 5)."""

    nevents = 120

    def live_event(self, start):
        """The first live event a-<n>, n >= start, that no other test touches."""
        for n in range(start, self.nevents, 17):
            e = self.model.by_id["a-%d" % n]
            if not e["retracted"]:
                return e
        raise AssertionError("no live event left")

    def test_retract_replies_ok_with_new_seqs(self):
        victims, replies = self.setup_replies["retract"]
        seqs = []
        for r in replies:
            seqs.append(self.assertOkSeq(r))
        # the retraction is stored under a sequence number of its own, after the events
        self.assertEqual(seqs, sorted(seqs))
        self.assertEqual(len(set(seqs)), len(seqs))
        self.assertGreater(seqs[0], max(e["seq"] for e in victims))

    def test_resend_identical_event_is_dup_with_original_seq(self):
        evs, replies = self.setup_replies["resend"]
        for e, r in zip(evs, replies):
            self.assertDup(r, self.model.by_id[e["id"]]["seq"])

    def test_retract_dup_for_retry_same_id_and_ref(self):
        c = self.conn()
        e = self.live_event(7)
        r1 = self.assertOkSeq(c.cmd("RETRACT id=rt-dup-1 ref=%s" % e["id"]))
        e["retracted"] = True
        self.assertEqual(c.cmd("RETRACT id=rt-dup-1 ref=%s" % e["id"]), "DUP %d" % r1)

    def test_retract_dup_for_retry_same_id_and_seq(self):
        c = self.conn()
        e = self.live_event(11)
        r1 = self.assertOkSeq(c.cmd("RETRACT id=rt-dup-2 seq=%d" % e["seq"]))
        e["retracted"] = True
        self.assertEqual(c.cmd("RETRACT id=rt-dup-2 seq=%d" % e["seq"]), "DUP %d" % r1)

    def test_retract_not_found(self):
        c = self.conn()
        self.assertErr(c.cmd("RETRACT id=rt-nf-1 ref=no-such-event"), "not-found")
        self.assertErr(c.cmd("RETRACT id=rt-nf-2 seq=999999"), "not-found")
        # a retraction's own seq is not an event either
        _, replies = self.setup_replies["retract"]
        rseq = int(replies[0][3:])
        self.assertErr(c.cmd("RETRACT id=rt-nf-3 seq=%d" % rseq), "not-found")
        self.assertErr(c.cmd("RETRACT id=rt-nf-4 ref=rt-1"), "not-found")
        self.assertEqual(c.cmd("PING"), "PONG")

    def test_retract_already_retracted_is_conflict(self):
        victims, _ = self.setup_replies["retract"]
        c = self.conn()
        self.assertErr(c.cmd("RETRACT id=rt-cf-1 ref=%s" % victims[0]["id"]), "conflict")
        self.assertErr(c.cmd("RETRACT id=rt-cf-2 seq=%d" % victims[1]["seq"]), "conflict")

    def test_retract_id_reused_for_other_reference_is_conflict(self):
        # "(principal, id) is unique": the same retraction id naming another event.
        c = self.conn()
        e = self.live_event(3)
        self.assertErr(c.cmd("RETRACT id=rt-1 ref=%s" % e["id"]), "conflict")
        self.assertEqual(c.cmd("COUNT %s" % e["type"]), self.model.count(e["type"]))

    def test_retract_id_shared_with_events_is_conflict(self):
        # "(principal, id) is unique": a retraction may not reuse an event's id, and an
        # event may not reuse a retraction's id
        c = self.conn()
        a, b = self.live_event(5), self.live_event(9)
        self.assertErr(c.cmd("RETRACT id=%s ref=%s" % (a["id"], b["id"])), "conflict", a["id"])
        ne = dict(b, id="rt-1", fields=dict(b["fields"]))
        self.assertErr(c.cmd(event_line(ne)), "conflict", "rt-1")
        self.assertEqual(c.cmd("COUNT %s" % b["type"]), self.model.count(b["type"]))

    def test_retracted_id_stays_used(self):
        # a correction needs a new id: the retracted event's id with other fields conflicts
        victims, _ = self.setup_replies["retract"]
        e = victims[7]
        ne = dict(e, fields=dict(e["fields"]), gemeente="wijdemeren")  # the data set uses the first five
        c = self.conn()
        self.assertErr(c.cmd(event_line(ne)), "conflict", e["id"])
        self.assertEqual(c.cmd("COUNT %s by=gemeente" % e["type"]), self.model.count(e["type"], ("gemeente",)))

    def test_retract_refusals(self):
        c = self.conn()
        self.assertErr(c.cmd("RETRACT id=rt-x"), "invalid")
        self.assertErr(c.cmd("RETRACT ref=a-1"), "invalid", "id")
        self.assertErr(c.cmd("RETRACT id=rt-x ref=a-1 seq=1"), "invalid")
        self.assertErr(c.cmd("RETRACT id=rt-x seq=0"), "invalid", "seq")
        self.assertErr(c.cmd("RETRACT id=rt-x seq=x"), "invalid", "seq")
        self.assertErr(c.cmd("RETRACT id=rt-x ref=a-1 reason=%s" % ("r" * 257)), "invalid", "reason")
        self.assertErr(c.cmd("RETRACT id=rt-x ref=a-1 colour=red"), "invalid", "colour")

    def test_counts_drop_after_retraction_everywhere(self):
        c = self.conn()
        # a live placed event of a regional project with a target, its person placed once
        m = self.model
        cand = [e for e in m.events if e["type"] == "placed" and not e["retracted"]
                and e.get("project") == "zorgstart" and e["date"] >= D(2020, 9, 1)
                and e["date"] <= D(2023, 12, 31)]
        self.assertTrue(cand)
        e = cand[0]
        queries = ["COUNT placed", "COUNT placed distinct=person",
                   "COUNT placed by=project,sector,durable", "COUNT placed by=gemeente,month distinct=person"]
        before = [c.cmd(q) for q in queries]
        self.assertOkSeq(c.cmd("RETRACT id=rt-drop ref=%s" % e["id"]))
        e["retracted"] = True
        after = [c.cmd(q) for q in queries]
        self.assertEqual(after[0], m.count("placed"))
        self.assertEqual(after[1], m.count("placed", distinct=True))
        self.assertEqual(after[2], m.count("placed", ("project", "sector", "durable")))
        self.assertEqual(after[3], m.count("placed", ("gemeente", "month"), distinct=True))
        self.assertNotEqual(before[0], after[0])
        self.assertEqual(c.cmd("PROGRESS asof=2023-12-31"), m.progress(D(2023, 12, 31)))

    def test_retract_then_readd_counts_again(self):
        c = self.conn()
        m = self.model
        e = next(x for x in m.events if x["type"] == "started" and not x["retracted"]
                 and x["id"].startswith("a-") and int(x["id"][2:]) > 60)
        q = ("started", ("project", "kind"))
        self.assertOkSeq(c.cmd("RETRACT id=rt-readd ref=%s" % e["id"]))
        e["retracted"] = True
        self.assertEqual(c.cmd("COUNT started by=project,kind"), m.count(*q))
        ne = dict(e, id="readd-1", fields=dict(e["fields"]))
        seq = self.assertOkSeq(c.cmd(event_line(ne)))
        m.add(ne, seq)
        self.assertEqual(c.cmd("COUNT started by=project,kind"), m.count(*q))
        self.assertEqual(c.cmd("COUNT started"), m.count("started"))

    def test_resend_of_retracted_event_is_conflict_and_stays_retracted(self):
        # "the same id whose event was retracted answers ERR conflict ... was retracted
        # (seq <n>) ..., never a bare DUP"
        victims, _ = self.setup_replies["retract"]
        e = victims[5]
        c = self.conn()
        self.assertErr(c.cmd(event_line(e)), "conflict", "(seq %d) was retracted (seq " % e["seq"], "REPLACE")
        self.assertEqual(c.cmd("COUNT %s by=gemeente" % e["type"]), self.model.count(e["type"], ("gemeente",)))

    def test_counts_after_setup_retractions(self):
        self.check([self.q(t, (dim,)) for t in TYPES for dim in type_dims(t)] +
                   [self.q(t, ("project",), distinct=True) for t in TYPES])


class SameBatchTest(AggregatesBase):
    """Events, their resends and their retractions sent in one write, so that the daemon
    may commit them in one transaction: the answers must be the same as one by one."""

    nevents = 60

    def test_event_and_its_retraction_in_one_pipeline(self):
        m = self.model
        c = self.conn()
        evs = [{"type": "placed", "id": "sb-%d" % i, "person": "p:samebatch%d" % (i % 2), "gemeente": "blaricum",
                "date": D(2022, 1, 3 + i), "project": "zorgstart", "fields": {"sector": "media", "months": i}}
               for i in range(4)]
        lines = [event_line(evs[0]), event_line(evs[1]), "RETRACT id=sb-r0 ref=sb-0", event_line(evs[0]),
                 "RETRACT id=sb-r0 ref=sb-0", "RETRACT id=sb-r1 ref=sb-0", event_line(evs[2]),
                 "RETRACT id=sb-r2 ref=sb-2", event_line(evs[3]), "COUNT placed by=durable project=zorgstart",
                 "PROGRESS asof=2022-12-31 project=zorgstart"]
        got = c.pipeline(lines)
        s0 = self.assertOkSeq(got[0])
        m.add(evs[0], s0)
        m.add(evs[1], self.assertOkSeq(got[1]))
        r0 = self.assertOkSeq(got[2])
        m.by_id["sb-0"]["retracted"] = True
        self.assertErr(got[3], "conflict", "was retracted (seq %d)" % r0)
        self.assertEqual(got[4], "DUP %d" % r0)
        self.assertErr(got[5], "conflict")
        m.add(evs[2], self.assertOkSeq(got[6]))
        self.assertOkSeq(got[7])
        m.by_id["sb-2"]["retracted"] = True
        m.add(evs[3], self.assertOkSeq(got[8]))
        self.assertEqual(got[9], m.count("placed", ("durable",), filters={"project": ["zorgstart"]}))
        self.assertEqual(got[10], m.progress(D(2022, 12, 31), project="zorgstart"))
        self.check([self.q("placed", (d,), distinct=True) for d in type_dims("placed")])


class RestartTest(AggregatesBase):
    """After SIGKILL and a restart every acknowledged event, retraction and project is
    still there, and every aggregate agrees with the model."""

    nevents = 160

    def test_aggregates_survive_sigkill(self):
        s = self.server
        s.kill_and_restart()
        qs = [self.q(t, (dim,)) for t in TYPES for dim in type_dims(t)]
        qs += [self.q(t, (dim,), distinct=True) for t in TYPES for dim in ("project", "year", "gemeente")]
        qs += [self.q(t, ("month",), frm=D(2021, 3, 31), to=D(2022, 3, 1)) for t in TYPES]
        qs += [("PROGRESS asof=%s" % d.isoformat(), self.model.progress(d)) for d in EDGE_DATES[::3]]
        self.check(qs)
        evs, _ = self.setup_replies["resend"]
        c = self.conn()
        for e in evs:
            stored = self.model.by_id[e["id"]]
            if stored["retracted"]:  # never a bare DUP for a retracted event
                self.assertErr(c.cmd(event_line(e)), "conflict", "(seq %d) was retracted" % stored["seq"])
            else:
                self.assertDup(c.cmd(event_line(e)), stored["seq"])


class ProgressTest(AggregatesBase):
    """PROGRESS (section 5) over the data set, and small projects with known answers."""

    nevents = 240
    fixed = D(2022, 1, 5)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        m = cls.model
        # Projects with a 10-day period 2022-01-01..2022-01-10 and target.started=10: at
        # asof=2022-01-05 the expected figure is 5 (5 of 10 days have passed).
        lines = []
        for name, n in (("st-green", 5), ("st-orange", 4), ("st-red", 3), ("st-none", 2)):
            targets = {} if name == "st-none" else {"started": 10}
            lines.append(m.project(name, "stoplicht", "local", D(2022, 1, 1), D(2022, 1, 10), targets))
        with cls.server.connect() as c:
            for r in c.pipeline(lines):
                assert r == "OK", r
            evs = []
            for name, n in (("st-green", 5), ("st-orange", 4), ("st-red", 3), ("st-none", 2)):
                for i in range(n):
                    evs.append({"type": "started", "id": "%s-%d" % (name, i), "person": "p:stoplicht%02d" % i,
                                "gemeente": "eemnes", "date": D(2022, 1, 1 + i), "project": name, "fields": {}})
                # after asof: does not count at asof
                evs.append({"type": "started", "id": "%s-late" % name, "person": "p:stoplicht99",
                            "gemeente": "eemnes", "date": D(2022, 1, 6), "project": name, "fields": {}})
            for e, r in zip(evs, c.pipeline([event_line(e) for e in evs])):
                assert r.startswith("OK "), r
                m.add(e, int(r[3:]))

    def test_progress_status_green_orange_red_none(self):
        c = self.conn()
        rows = c.cmd("PROGRESS asof=2022-01-05 category=stoplicht")
        want = self.model.progress(self.fixed, category="stoplicht")
        self.assertEqual(rows, want)
        started = [r for r in rows if "indicator=started" in r and "project=*" not in r]
        self.assertEqual(started, [
            "ROW project=st-green category=stoplicht indicator=started actual=5 target=10 expected=5 status=green",
            "ROW project=st-none category=stoplicht indicator=started actual=2 target=- expected=- status=none",
            "ROW project=st-orange category=stoplicht indicator=started actual=4 target=10 expected=5 status=orange",
            "ROW project=st-red category=stoplicht indicator=started actual=3 target=10 expected=5 status=red",
        ])

    def test_progress_expected_pro_rata_over_the_period(self):
        c = self.conn()
        qs = []
        for d in (D(2021, 12, 31), D(2022, 1, 1), D(2022, 1, 2), D(2022, 1, 9), D(2022, 1, 10),
                  D(2022, 1, 11), D(2030, 1, 1)):
            qs.append(("PROGRESS asof=%s category=stoplicht" % d.isoformat(),
                       self.model.progress(d, category="stoplicht")))
        self.check(qs)
        # the figures themselves: day 1 of 10 -> round(10 * 1/10) = 1; before start 0; after end 10
        got = c.cmd("PROGRESS asof=2022-01-01 project=st-green")
        self.assertIn("actual=1 target=10 expected=1 status=green", got[0])
        got = c.cmd("PROGRESS asof=2021-12-31 project=st-green")
        self.assertIn("actual=0 target=10 expected=0 status=green", got[0])
        got = c.cmd("PROGRESS asof=2022-03-01 project=st-red")
        self.assertIn("actual=4 target=10 expected=10 status=red", got[0])

    def test_progress_rows_ordered_category_project_indicator(self):
        c = self.conn()
        rows = c.cmd("PROGRESS asof=2023-06-30")
        self.assertEqual(rows, self.model.progress(D(2023, 6, 30)))

    def test_progress_many_asof_dates(self):
        qs = []
        for d in EDGE_DATES + [D(2019, 12, 31), D(2025, 12, 31), D(2022, 5, 15)]:
            qs.append(("PROGRESS asof=%s" % d.isoformat(), self.model.progress(d)))
        self.check(qs)

    def test_progress_filters(self):
        qs = []
        for cat in ("scholingsprojecten", "begeleiding-doelgroepen", "werkervaring"):
            qs.append(("PROGRESS asof=2022-06-30 category=%s" % cat,
                       self.model.progress(D(2022, 6, 30), category=cat)))
        for p in ("zorgstart", "taalhuis", "lokaal-hv", "bouwpad"):
            qs.append(("PROGRESS asof=2022-06-30 project=%s" % p, self.model.progress(D(2022, 6, 30), project=p)))
        qs.append(("PROGRESS asof=2022-06-30 project=zorgstart category=werkervaring",
                   self.model.progress(D(2022, 6, 30), "werkervaring", "zorgstart")))
        self.check(qs)
        # a category no project has is a mistake, said so, not program rows alone
        self.assertErr(self.conn().cmd("PROGRESS asof=2022-06-30 category=geen-categorie"), "invalid",
                       "'geen-categorie'", "scholingsprojecten")

    def test_progress_default_asof_is_today(self):
        today = datetime.date.fromtimestamp(time.time())
        c = self.conn()
        self.assertEqual(c.cmd("PROGRESS"), self.model.progress(today))

    def test_progress_program_rows_regional_only_distinct_persons(self):
        # A person placed in two regional projects counts once in the program's placed
        # row; a local project's events never count there.
        m = self.model
        c = self.conn()
        lines = [m.project("prog-a", "programmatest", "regional", D(2022, 1, 1)),
                 m.project("prog-b", "programmatest", "regional"),
                 m.project("prog-c", "programmatest", "local")]
        for r in c.pipeline(lines):
            self.assertEqual(r, "OK")
        before = c.cmd("PROGRESS asof=2023-06-30")
        evs = []
        for i, (proj, person, d) in enumerate([
                ("prog-a", "p:twoprojects", D(2022, 2, 1)), ("prog-b", "p:twoprojects", D(2022, 3, 1)),
                ("prog-b", "p:twoprojects", D(2022, 4, 1)), ("prog-c", "p:onlylocal1", D(2022, 3, 1)),
                ("prog-a", "p:beforestart", D(2021, 12, 31)), ("prog-b", "p:beforestart", D(2021, 12, 31))]):
            evs.append({"type": "placed", "id": "prog-%d" % i, "person": person, "gemeente": "huizen",
                        "date": d, "project": proj, "fields": {"sector": "ict"}})
        for e, r in zip(evs, c.pipeline([event_line(e) for e in evs])):
            m.add(e, self.assertOkSeq(r))
        got = c.cmd("PROGRESS asof=2023-06-30")
        self.assertEqual(got, m.progress(D(2023, 6, 30)))
        placed_before = int(before[-2].split()[4].split("=")[1])
        placed_after = int(got[-2].split()[4].split("=")[1])
        # p:twoprojects once; p:beforestart once (through prog-b: prog-a's window starts
        # after its placement there); p:onlylocal1 not at all (a local project)
        self.assertEqual(placed_after - placed_before, 2)

    def test_progress_recategorising_changes_figures(self):
        # "Category and scope come from the registry at query time."
        m = self.model
        c = self.conn()
        self.assertEqual(c.cmd(m.project("recat", "oud-cat", "regional", D(2021, 1, 1), D(2021, 12, 31),
                                         {"started": 4})), "OK")
        evs = [{"type": "started", "id": "recat-%d" % i, "person": "p:recat%04d" % i, "gemeente": "laren",
                "date": D(2021, 6, i + 1), "project": "recat", "fields": {"kind": "taal"}} for i in range(3)]
        for e, r in zip(evs, c.pipeline([event_line(e) for e in evs])):
            m.add(e, self.assertOkSeq(r))
        asof = D(2021, 12, 31)
        self.assertEqual(c.cmd("PROGRESS asof=2021-12-31"), m.progress(asof))
        self.assertEqual(c.cmd("COUNT started by=category,scope"), m.count("started", ("category", "scope")))
        # re-categorise and make it local: COUNT groups and PROGRESS rows and program totals move
        self.assertEqual(c.cmd(m.project("recat", "nieuw-cat", "local")), "OK")
        self.assertEqual(c.cmd("PROGRESS asof=2021-12-31"), m.progress(asof))
        self.assertEqual(c.cmd("PROGRESS asof=2021-12-31 category=nieuw-cat"), m.progress(asof, "nieuw-cat"))
        # no project has oud-cat now: naming it is refused, with the known categories
        self.assertErr(c.cmd("PROGRESS asof=2021-12-31 category=oud-cat"), "invalid", "'oud-cat'", "nieuw-cat")
        self.assertEqual(c.cmd("COUNT started by=category,scope"), m.count("started", ("category", "scope")))
        self.assertEqual(c.cmd("COUNT started category=nieuw-cat"), ["ROW count=3", "END 1"])
        self.assertErr(c.cmd("COUNT started category=oud-cat"), "invalid", "'oud-cat'", "nieuw-cat")
        # the update kept the period and target
        self.assertIn("ROW project=recat category=nieuw-cat indicator=started actual=3 target=4 expected=4 status=red",
                      c.cmd("PROGRESS asof=2021-12-31 project=recat"))

    def test_progress_changing_period_moves_the_window(self):
        # start and end come from the registry at query time as well
        m = self.model
        c = self.conn()
        for start, end in ((D(2021, 7, 1), D(2022, 6, 30)), (D(2020, 1, 1), D(2024, 12, 31)),
                           (D(2021, 10, 1), D(2021, 12, 31)), (D(2020, 9, 1), D(2023, 12, 31))):
            self.assertEqual(c.cmd(m.project("zorgstart", start=start, end=end)), "OK")
            for asof in (D(2021, 9, 30), D(2021, 12, 31), D(2022, 6, 30), D(2024, 3, 1)):
                with self.subTest(start=start, asof=asof):
                    self.assertEqual(c.cmd("PROGRESS asof=%s" % asof.isoformat()), m.progress(asof))

    def test_progress_completed_counts_successful_results_only(self):
        m = self.model
        c = self.conn()
        self.assertEqual(c.cmd(m.project("resultaat", "resultaten", "local", None, None, {"completed": 3})), "OK")
        evs = [{"type": "completed", "id": "res-%s" % r, "person": "p:resultaat1", "gemeente": "laren",
                "date": D(2022, 2, 2), "project": "resultaat", "fields": {"result": r}}
               for r in ("diploma", "certificaat", "afgerond", "uitgevallen")]
        for e, r in zip(evs, c.pipeline([event_line(e) for e in evs])):
            m.add(e, self.assertOkSeq(r))
        rows = c.cmd("PROGRESS asof=2022-12-31 project=resultaat")
        self.assertEqual(rows, m.progress(D(2022, 12, 31), project="resultaat"))
        self.assertIn("indicator=completed actual=3 target=3 expected=3 status=green", rows[1])
        self.assertIn("indicator=placed actual=0 target=- expected=- status=none", rows[2])

    def test_progress_placed_counts_distinct_persons_from_start(self):
        m = self.model
        c = self.conn()
        self.assertEqual(c.cmd(m.project("plaats", "plaatsing", "local", D(2022, 3, 1), None, {"placed": 2})), "OK")
        spec = [("p:plaatsA", D(2022, 2, 28)),  # before the start: does not count...
                ("p:plaatsA", D(2022, 3, 1)),  # ...but this one does
                ("p:plaatsB", D(2022, 3, 5)), ("p:plaatsB", D(2022, 4, 5)),  # twice, counted once
                ("p:plaatsC", D(2022, 2, 1))]  # before the start only
        evs = [{"type": "placed", "id": "pl-%d" % i, "person": p, "gemeente": "laren", "date": d,
                "project": "plaats", "fields": {"sector": "zorg"}} for i, (p, d) in enumerate(spec)]
        for e, r in zip(evs, c.pipeline([event_line(e) for e in evs])):
            m.add(e, self.assertOkSeq(r))
        rows = c.cmd("PROGRESS asof=2022-12-31 project=plaats")
        self.assertEqual(rows, m.progress(D(2022, 12, 31), project="plaats"))
        self.assertIn("indicator=placed actual=2 target=2 expected=2 status=green", rows[2])
        self.assertIn("indicator=placed actual=1 ", c.cmd("PROGRESS asof=2022-03-04 project=plaats")[2])
        # retracting B's first placement keeps B (the other is live); retracting A's
        # in-window placement drops A
        self.assertOkSeq(c.cmd("RETRACT id=pl-r1 ref=pl-2"))
        m.by_id["pl-2"]["retracted"] = True
        self.assertIn("indicator=placed actual=2 ", c.cmd("PROGRESS asof=2022-12-31 project=plaats")[2])
        self.assertOkSeq(c.cmd("RETRACT id=pl-r2 ref=pl-1"))
        m.by_id["pl-1"]["retracted"] = True
        rows = c.cmd("PROGRESS asof=2022-12-31 project=plaats")
        self.assertEqual(rows, m.progress(D(2022, 12, 31), project="plaats"))
        self.assertIn("indicator=placed actual=1 ", rows[2])

    def test_progress_program_placed_after_retractions_across_projects(self):
        # A person placed in two regional projects counts once; retracting one placement
        # keeps them, retracting both removes them from the program's placed row.
        m = self.model
        c = self.conn()
        for line in (m.project("multi-a", "multitest", "regional"), m.project("multi-b", "multitest", "regional")):
            self.assertEqual(c.cmd(line), "OK")
        spec = [("multi-a", D(2022, 5, 1)), ("multi-b", D(2022, 5, 2)), ("multi-a", D(2022, 5, 3))]
        evs = [{"type": "placed", "id": "multi-%d" % i, "person": "p:multiperson", "gemeente": "weesp",
                "date": d, "project": p, "fields": {"sector": "bouw"}} for i, (p, d) in enumerate(spec)]
        for e, r in zip(evs, c.pipeline([event_line(e) for e in evs])):
            m.add(e, self.assertOkSeq(r))
        asof = D(2023, 1, 1)
        self.assertEqual(c.cmd("PROGRESS asof=2023-01-01"), m.progress(asof))
        for i, ref in enumerate(("multi-1", "multi-0", "multi-2")):
            self.assertOkSeq(c.cmd("RETRACT id=multi-r%d ref=%s" % (i, ref)))
            m.by_id[ref]["retracted"] = True
            self.assertEqual(c.cmd("PROGRESS asof=2023-01-01"), m.progress(asof))
            self.assertEqual(c.cmd("COUNT placed by=project distinct=person"),
                             m.count("placed", ("project",), distinct=True))

    def test_progress_default_asof_excludes_tomorrow(self):
        # an event dated tomorrow is accepted and counted by COUNT, but PROGRESS without
        # asof counts up to today only
        m = self.model
        c = self.conn()
        self.assertEqual(c.cmd(m.project("morgen", "morgen-cat", "local")), "OK")
        today = datetime.date.fromtimestamp(time.time())
        e = {"type": "started", "id": "morgen-1", "person": "p:morgen001", "gemeente": "laren",
             "date": today + datetime.timedelta(days=1), "project": "morgen", "fields": {}}
        m.add(e, self.assertOkSeq(c.cmd(event_line(e))))
        self.assertEqual(c.cmd("COUNT started project=morgen"), ["ROW count=1", "END 1"])
        rows = c.cmd("PROGRESS project=morgen")
        self.assertEqual(rows, m.progress(today, project="morgen"))
        self.assertIn("indicator=started actual=0 ", rows[0])

    def test_progress_refusals(self):
        c = self.conn()
        self.assertErr(c.cmd("PROGRESS asof=2021-02-30"), "invalid", "asof")
        self.assertErr(c.cmd("PROGRESS colour=red"), "invalid", "colour")
        self.assertErr(c.cmd("PROGRESS project=nergens"), "unknown-project", "nergens")

    def test_progress_asof_any_calendar_date(self):
        self.check([("PROGRESS asof=1999-06-01", self.model.progress(D(1999, 6, 1)))])


class ReadYourWritesTest(wmtest.TestCase):
    """ "a COUNT sees every event acknowledged before it was received, on any connection" """

    registry = ["PROJECT ryw category=ryw-cat"]

    def test_count_sees_writes_acknowledged_on_another_connection(self):
        w, r = self.conn(), self.conn()
        base = int(r.cmd("COUNT started project=ryw")[0].split("=")[1])
        for i in range(25):
            self.assertOkSeq(w.cmd(event("started", id=wmtest.uid("ryw"), person="p:ryw%06d" % i,
                                         gemeente="laren", date="2022-05-05", project="ryw")))
            self.assertEqual(r.cmd("COUNT started project=ryw"), ["ROW count=%d" % (base + i + 1), "END 1"])

    def test_count_sees_a_retraction_at_once(self):
        a, b = self.conn(), self.conn()

        def count():
            return int(wmtest.parse_block(b.cmd("COUNT outflow gemeente=eemnes reason=verhuizing"))[0]["count"])
        for k in range(20):
            before = count()
            i = wmtest.uid("ryw")
            self.assertOkSeq(a.cmd(event("outflow", id=i, person="pseudo-ryw-001", gemeente="eemnes",
                                         date="2022-02-02", benefit="ww", reason="verhuizing")))
            self.assertEqual(count(), before + 1)
            self.assertOkSeq(a.cmd("RETRACT id=%s-rt ref=%s" % (i, i)))
            self.assertEqual(count(), before)

    def test_count_pipelined_after_own_write(self):
        c = self.conn()
        base = int(c.cmd("COUNT placed project=ryw")[0].split("=")[1])
        lines = []
        for i in range(10):
            lines.append(event("placed", id=wmtest.uid("ryw"), person="p:rywp%05d" % i, gemeente="laren",
                               date="2022-05-05", project="ryw", sector="ict"))
            lines.append("COUNT placed project=ryw")
        got = c.pipeline(lines)
        for i in range(10):
            self.assertOkSeq(got[2 * i])
            self.assertEqual(got[2 * i + 1], ["ROW count=%d" % (base + i + 1), "END 1"])


if __name__ == "__main__":
    unittest.main()
