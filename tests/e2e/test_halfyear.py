"""The COUNT dimension halfyear (YYYY-Hn), the monitor's reporting period: as a group
and as a filter, against the same counts by quarter and by from/to, for events and
distinct persons, with edge days and other filters."""

import collections

import wmtest
from wmtest import uid


class HalfyearTest(wmtest.FreshDaemonTestCase):
    DATES = ["2021-01-01", "2021-03-31", "2021-06-30", "2021-07-01", "2021-08-15", "2021-12-31",
             "2022-01-01", "2022-05-20", "2022-06-30", "2022-11-11"]

    def setUp(self):
        super().setUp()
        srv = self.own_server()
        self.c = self.conn(srv)
        self.proj = uid("p")
        self.assertEqual(self.c.cmd("PROJECT %s category=scholingsprojecten" % self.proj), "OK")
        lines = []
        for i, d in enumerate(self.DATES):
            for k in range(i % 3 + 1):
                g = ("huizen", "laren")[k % 2]
                person = "hy-person-%02d" % (i % 4)  # persons placed in several half-years
                lines.append(wmtest.event("placed", id=uid("h"), person=person, gemeente=g, date=d,
                                          project=self.proj, sector="zorg"))
        for r in self.c.pipeline(lines):
            self.assertOkSeq(r)

    def counts(self, query):
        return {tuple(v for k, v in r.items() if k != "count"): int(r["count"])
                for r in wmtest.parse_block(self.c.cmd(query))}

    def test_group_equals_quarters_and_ranges(self):
        by_half = self.counts("COUNT placed by=halfyear project=%s" % self.proj)
        self.assertEqual(list(by_half), [("2021-H1",), ("2021-H2",), ("2022-H1",), ("2022-H2",)])
        by_quarter = self.counts("COUNT placed by=quarter project=%s" % self.proj)
        summed = collections.Counter()
        for (q,), n in by_quarter.items():
            summed[(q[:4] + "-H" + ("1" if q[-1] in "12" else "2"),)] += n
        self.assertEqual(by_half, dict(summed))
        for (h,), n in by_half.items():
            a, b = ("01-01", "06-30") if h.endswith("H1") else ("07-01", "12-31")
            rng = "from=%s-%s to=%s-%s" % (h[:4], a, h[:4], b)
            self.assertEqual(self.counts("COUNT placed project=%s %s" % (self.proj, rng)), {(): n})
            self.assertEqual(self.counts("COUNT placed project=%s halfyear=%s" % (self.proj, h)), {(): n})
            # distinct persons of a half-year, as a group and as a filter
            persons = self.counts("COUNT placed distinct=person project=%s %s" % (self.proj, rng))
            self.assertEqual(self.counts("COUNT placed distinct=person project=%s halfyear=%s" % (self.proj, h)),
                             persons)
            self.assertEqual(self.counts("COUNT placed by=halfyear distinct=person project=%s halfyear=%s"
                                         % (self.proj, h)), {(h,): persons[()]})

    def test_edges_lists_and_other_dims(self):
        # from/to inside months: the edge days count in their own half-year
        got = self.counts("COUNT placed by=halfyear project=%s from=2021-06-30 to=2021-07-01" % self.proj)
        self.assertEqual(got, {("2021-H1",): 3, ("2021-H2",): 1})
        got = self.counts("COUNT placed by=gemeente,halfyear project=%s halfyear=2021-H2,2022-H2 gemeente=huizen"
                          % self.proj)
        self.assertEqual(list(got), [("huizen", "2021-H2"), ("huizen", "2022-H2")])
        self.assertEqual(self.counts("COUNT placed project=%s halfyear=2021-H1 month=2021-07" % self.proj), {(): 0})
        self.assertEqual(self.counts("COUNT placed project=%s halfyear=2023-H1" % self.proj), {(): 0})
        self.assertEqual(self.counts("COUNT placed by=halfyear project=%s year=2022 quarter=2022-Q2" % self.proj),
                         {("2022-H1",): 5})

    def test_refusals(self):
        for v in ("2021-H3", "2021-h1", "2021H1", "21-H1", "2021-Q1"):
            self.assertErr(self.c.cmd("COUNT placed halfyear=%s" % v), "invalid", "halfyear")
        self.assertErr(self.c.cmd("COUNT placed by=halfyear,halfyear"), "invalid", "halfyear")
