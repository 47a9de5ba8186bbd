"""Notes (PROTOCOL.md section 6, NOTE and NOTES): the words beside the figures per
half-year for the programme, a category or a project, with the programme manager's
light; versions with principal and time; who may write and read them; durable across a
restart; no BSN; and the client's `werkmonitor note` from a Markdown file."""

import os
import re

import wmtest
from wmtest import uid


class NotesTest(wmtest.TestCase):
    def setUp(self):
        super().setUp()
        # Names unique per test: the class shares one daemon.
        self.cat = uid("cat")
        self.proj = uid("p")
        c = self.conn()
        self.assertEqual(c.cmd("PROJECT %s category=%s title=Een%%20project" % (self.proj, self.cat)), "OK")
        self.period = "20%02d-H%d" % (30 + len(self.proj) % 60, 1 + len(self.cat) % 2)

    def notes(self, c, query):
        return wmtest.parse_block(c.cmd("NOTES " + query))

    def test_versions_latest_and_order(self):
        c = self.conn()
        p = self.period
        self.assertEqual(c.cmd("NOTE period=%s text=Op%%20koers.%%0A%%0A-%%20een%%0A-%%20twee light=orange" % p), "OK 1")
        self.assertEqual(c.cmd("NOTE period=%s project=%s light=green text=Goed" % (p, self.proj)), "OK 1")
        self.assertEqual(c.cmd("NOTE period=%s project=%s text=Beter" % (p, self.proj)), "OK 2")
        self.assertEqual(c.cmd("NOTE period=%s category=%s text=**Vet**" % (p, self.cat)), "OK 1")
        rows = self.notes(c, "period=%s" % p)
        # period, then category ("-" first), then project
        self.assertEqual([(r["category"], r["project"]) for r in rows],
                         [("-", "-"), ("-", self.proj), (self.cat, "-")])
        prog, proj, cat = rows
        self.assertEqual(prog["text"], "Op koers.\n\n- een\n- twee")
        self.assertEqual(prog["light"], "orange")
        self.assertEqual(prog["version"], "1")
        self.assertEqual(prog["principal"], "local")
        self.assertRegex(prog["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        # the latest version counts; without light= it keeps the last judgement
        self.assertEqual((proj["text"], proj["version"], proj["light"]), ("Beter", "2", "green"))
        self.assertEqual(cat["text"], "**Vet**")
        self.assertEqual(list(prog.keys()), ["period", "project", "category", "light", "version", "principal", "at",
                                             "text"])
        # light=none clears the judgement
        self.assertEqual(c.cmd("NOTE period=%s project=%s light=none text=Beter" % (p, self.proj)), "OK 3")
        rows = self.notes(c, "period=%s project=%s" % (p, self.proj))
        self.assertEqual([(r["version"], r["light"]) for r in rows], [("3", "none")])
        # filters
        self.assertEqual(len(self.notes(c, "period=%s category=%s" % (p, self.cat))), 1)
        self.assertEqual(self.notes(c, "period=2999-H1"), [])

    def test_refusals_change_nothing(self):
        c = self.conn()
        p = self.period
        self.assertErr(c.cmd("NOTE period=%s project=%s text=x" % (p, uid("nope"))), "unknown-project")
        self.assertErr(c.cmd("NOTE period=%s category=%s text=x" % (p, uid("nope"))), "invalid", "category")
        self.assertErr(c.cmd("NOTE period=2021-H3 text=x"), "invalid", "period")
        self.assertErr(c.cmd("NOTE period=%s text=x light=purple" % p), "invalid", "light")
        self.assertErr(c.cmd("NOTE period=%s project=%s category=%s text=x" % (p, self.proj, self.cat)),
                       "invalid", "not both")
        resp = c.cmd("NOTE period=%s project=%s text=bsn%%20123.456.782" % (p, self.proj))
        self.assertErr(resp, "invalid", "BSN")
        self.assertNotIn("782", resp)
        self.assertErr(c.cmd("NOTE period=%s project=%s%%0A text=x" % (p, self.proj)), "syntax", "control")
        self.assertEqual(self.notes(c, "period=%s" % p), [])
        self.assertErr(c.cmd("NOTES color=red"), "invalid", "color")


class NotesAccessTest(wmtest.FreshDaemonTestCase):
    def test_roles_gemeente_and_restart(self):
        d = self.tmpdir("notes-auth")
        tokens = os.path.join(d, "tokens")
        wmtest.write_tokens(tokens, [("beheer", "admin", None, "admin-token-1"),
                                     ("lezer", "reader", None, "reader-token-1"),
                                     ("schrijver", "writer", None, "writer-token-1"),
                                     ("huizen", "writer", "huizen", "huizen-token-1")])
        srv = self.own_server(flags=["--tokens", tokens])
        c = self.conn(srv)
        self.assertTrue(c.cmd("AUTH admin-token-1").startswith("OK"))
        self.assertEqual(c.cmd("PROJECT zorgstart category=scholingsprojecten"), "OK")
        self.assertEqual(c.cmd("NOTE period=2021-H2 project=zorgstart light=green text=Goed"), "OK 1")
        for tok in ("reader-token-1", "writer-token-1"):
            r = self.conn(srv)
            self.assertTrue(r.cmd("AUTH " + tok).startswith("OK"))
            self.assertErr(r.cmd("NOTE period=2021-H2 text=x"), "denied", "NOTE")
            rows = wmtest.parse_block(r.cmd("NOTES period=2021-H2"))
            self.assertEqual([(x["project"], x["principal"], x["text"]) for x in rows],
                             [("zorgstart", "beheer", "Goed")])
        # the notes speak of the region's figures: a gemeente-bound principal gets none
        g = self.conn(srv)
        self.assertTrue(g.cmd("AUTH huizen-token-1").startswith("OK"))
        self.assertEqual(g.cmd("NOTES"), ["END 0"])
        anon = self.conn(srv)
        self.assertErr(anon.cmd("NOTES"), "auth-required")
        # acknowledged notes survive a restart, versions go on
        srv.restart()
        c = self.conn(srv)
        self.assertTrue(c.cmd("AUTH admin-token-1").startswith("OK"))
        self.assertEqual(c.cmd("NOTE period=2021-H2 project=zorgstart text=Nog%20beter"), "OK 2")
        rows = wmtest.parse_block(c.cmd("NOTES"))
        self.assertEqual([(x["version"], x["light"], x["text"]) for x in rows], [("2", "green", "Nog beter")])
        # the audit trail names the principal and the note, never its text
        srv.stop()
        self.assertRegex(srv.stderr(), r"principal=beheer op=note period=2021-H2 project=zorgstart version=2")
        self.assertNotIn("Nog beter", srv.stderr())
