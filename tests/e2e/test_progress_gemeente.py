"""PROGRESS gemeente=<g>[,<g>...]: the dashboard of some municipalities' events only (the
monitor page's municipality filter): every project's figures equal COUNT's for the same
municipalities within the project's window, the programme's placed persons are distinct
over the regional projects, targets and expected stay the region's."""

import wmtest
from wmtest import uid

GEMEENTEN = ["huizen", "laren", "hilversum"]


class ProgressGemeenteTest(wmtest.FreshDaemonTestCase):
    def setUp(self):
        super().setUp()
        self.c = self.conn(self.own_server())
        c = self.c
        self.assertEqual(c.cmd("PROGRAM start=2021-01-01 end=2022-12-31 target.started=100 target.completed=50 "
                               "target.placed=40"), "OK")
        # a and b: regional from 2021-03-01 (events before the start do not count); l:
        # local (not in the programme's figures)
        self.assertEqual(c.cmd("PROJECT a category=x start=2021-03-01 end=2022-12-31 target.started=20"), "OK")
        self.assertEqual(c.cmd("PROJECT b category=x start=2021-03-01 target.placed=10"), "OK")
        self.assertEqual(c.cmd("PROJECT l category=y scope=local"), "OK")
        ev = []
        for i, date in enumerate(["2021-02-01", "2021-04-01", "2021-09-01", "2022-02-01", "2022-08-01"]):
            for j, g in enumerate(GEMEENTEN):
                for p in ("a", "b", "l"):
                    person = "pg-person-%02d" % ((i + j) % 5)  # persons in several projects and places
                    ev.append(wmtest.event("started", id=uid("s"), person=person, gemeente=g, date=date, project=p))
                    res = "diploma" if (i + j) % 3 else "uitgevallen"
                    ev.append(wmtest.event("completed", id=uid("c"), person=person, gemeente=g, date=date,
                                           project=p, result=res))
                    if (i + j + len(p)) % 2:
                        ev.append(wmtest.event("placed", id=uid("p"), person=person, gemeente=g, date=date,
                                               project=p, sector="zorg"))
        for r in c.pipeline(ev):
            self.assertOkSeq(r)

    def count(self, q):
        return int(wmtest.parse_block(self.c.cmd(q))[0]["count"])

    def check(self, asof, gemeenten):
        g = ",".join(gemeenten)
        rows = wmtest.parse_block(self.c.cmd("PROGRESS asof=%s gemeente=%s" % (asof, g)))
        region = {(r["project"], r["indicator"]): r for r in
                  wmtest.parse_block(self.c.cmd("PROGRESS asof=%s" % asof))}
        q = {"started": "COUNT started", "completed": "COUNT completed result=diploma,certificaat,afgerond",
             "placed": "COUNT placed distinct=person"}
        # a and b count from 2021-03-01 (their start), l from the beginning; the
        # programme is a and b (l is local): one window, so its persons are COUNT's
        # distinct persons over both
        window = {"a": ("a", "2021-03-01"), "b": ("b", "2021-03-01"), "l": ("l", "2000-01-01"),
                  "*": ("a,b", "2021-03-01")}
        self.assertEqual(len(rows), 12)
        for r in rows:
            p, ind = r["project"], r["indicator"]
            projects, frm = window[p]
            if asof < frm:
                want = 0
            else:
                want = self.count("%s project=%s gemeente=%s from=%s to=%s" % (q[ind], projects, g, frm, asof))
            self.assertEqual(int(r["actual"]), want, (asof, g, p, ind))
            # targets and expected are the region's
            self.assertEqual((r["target"], r["expected"]), (region[(p, ind)]["target"], region[(p, ind)]["expected"]))

    def test_equals_count_per_project(self):
        for asof in ("2021-02-15", "2021-06-30", "2022-12-31"):
            for gs in (["huizen"], ["laren", "hilversum"], GEMEENTEN):
                self.check(asof, gs)

    def test_all_gemeenten_equal_the_region(self):
        rows = wmtest.parse_block(self.c.cmd("PROGRESS asof=2022-12-31 gemeente=%s" % ",".join(
            wmtest.DEFAULT_GEMEENTEN)))
        region = wmtest.parse_block(self.c.cmd("PROGRESS asof=2022-12-31"))
        self.assertEqual(rows, region)

    def test_filters_combine_and_refusals(self):
        rows = wmtest.parse_block(self.c.cmd("PROGRESS asof=2022-12-31 gemeente=huizen,huizen project=a"))
        self.assertEqual([(r["project"], r["indicator"]) for r in rows],
                         [("a", "started"), ("a", "completed"), ("a", "placed"),
                          ("*", "started"), ("*", "completed"), ("*", "placed")])
        self.assertErr(self.c.cmd("PROGRESS gemeente=amsterdam"), "invalid", "gemeente")
        self.assertErr(self.c.cmd("PROGRESS gemeente=huizen,"), "invalid", "gemeente")
