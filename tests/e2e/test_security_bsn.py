"""Regression tests for the security review's findings docs/SECURITY.md #5 (BSN-like
values are stored) and #9 (error messages echo values): the BSN rule of
proto/PROTOCOL.md section 4 walked over every command and every field
in every form (alone, 3-3-3 and 4-2-3 with '.', '-' and space, behind a prefix, before a
letter), against the real daemon and the real client. Nothing may be stored, and the
number may appear in no answer, no log line and no audit line; ids such as
wsp-2024-00017 stay valid."""

import os
import re
import secrets
import tempfile

import wmtest
from wmtest import escape, event, uid

PROJ = "bsn-p"
# (form, the digits it must never show): every form PROTOCOL.md names, around valid BSNs.
FORMS = [
    ("111222333", "111222333"),
    ("123.456.782", "123456782"),
    ("123-456-782", "123456782"),
    ("123 456 782", "123456782"),
    ("1234.56.782", "123456782"),
    ("1234-56-782", "123456782"),
    ("1234 56 782", "123456782"),
    ("bsn:111222333", "111222333"),
    ("111222333a", "111222333"),
    ("BSN 200035873", "200035873"),
    ("x/200011133", "200011133"),
]
# Values that look alike and are fine (not nine digits alone, or failing the test).
NOT_BSN = ["wsp-2024-00017", "123456789", "hv-0111222333", "a1234-567-89", "2024-03-01T1030"]


def valid_fields(type_):
    """Valid fields of an EVENT of type_ (project PROJ), in order."""
    f = dict(id=uid("b"), person="pseudo-bsn-0001", gemeente="huizen", date="2022-05-05")
    if type_ != "outflow":
        f["project"] = PROJ
    f.update({
        "started": dict(kind="scholing", doelgroep="ggz", benefit="pw"),
        "completed": dict(result="diploma"),
        "placed": dict(sector="zorg", contract="betaald", months="12", hours="32", employer="Zorg BV",
                       by="J. de Vries"),
        "outflow": dict(benefit="pw", reason="werk"),
    }[type_])
    return f


def line(verb, positional, fields):
    """A request line: verb, positional arguments, then key=value (escaped)."""
    parts = [verb] + [escape(p) for p in positional]
    parts += ["%s=%s" % (k, escape(v)) for k, v in fields.items()]
    return " ".join(parts)


def requests_with(form):
    """(field, request line) for every field of every command with form put in that
    field, each line otherwise valid (an admin may send it)."""
    out = []
    for t in ("started", "completed", "placed", "outflow"):
        base = valid_fields(t)
        for k in list(base) + ["bsn", "note"]:
            f = dict(base)
            f[k] = form
            out.append((k, line("EVENT", [t], f)))
        out.append(("argument", line("EVENT", [form], base)))
    retract = dict(id=uid("r"), ref="no-such-ref", reason="dubbel")
    for k in retract:
        f = dict(retract)
        f[k] = form
        out.append((k, line("RETRACT", [], f)))
    if not form.isdigit():  # a seq that is a number is the server's own (documented)
        out.append(("seq", line("RETRACT", [], dict(id=uid("r"), seq=form))))
    project = dict(category="bsn-c", scope="regional", start="2021-01-01", end="2023-12-31",
                   **{"target.started": "10", "target.completed": "5", "target.placed": "3"}, title="Titel")
    for k in project:
        f = dict(project)
        f[k] = form
        out.append((k, line("PROJECT", [PROJ], f)))
    out.append(("argument", line("PROJECT", [form], project)))
    program = dict(start="2021-01-01", end="2023-12-31", **{"target.started": "10"})
    for k in program:
        f = dict(program)
        f[k] = form
        out.append((k, line("PROGRAM", [], f)))
    count = dict(by="project", **{"from": "2021-01-01", "to": "2023-12-31"}, distinct="person", project=PROJ,
                 category="bsn-c", gemeente="huizen", year="2022", quarter="2022-Q2", month="2022-05",
                 kind="scholing", doelgroep="ggz", benefit="pw", scope="regional")
    for k in count:
        f = dict(count)
        f[k] = form
        out.append((k, line("COUNT", ["started"], f)))
    out.append(("argument", line("COUNT", [form], {})))
    progress = dict(asof="2022-06-30", category="bsn-c", project=PROJ)
    for k in progress:
        f = dict(progress)
        f[k] = form
        out.append((k, line("PROGRESS", [], f)))
    note = dict(period="2022-H1", project=PROJ, light="green", text="Op koers")
    for k in note:
        f = dict(note)
        f[k] = form
        out.append((k, line("NOTE", [], f)))
    notes = dict(period="2022-H1", category="bsn-c")
    for k in list(notes) + ["project"]:
        f = dict(notes)
        f[k] = form
        out.append((k, line("NOTES", [], f)))
    for verb in ("PING", "HELLO", "PROJECTS", "STATS", "WATCH", "QUIT", "NOTES"):
        out.append(("x", line(verb, [], dict(x=form))))
        out.append(("argument", line(verb, [form], {})))
    out.append(("command", escape(form) + " x=1"))
    out.append(("key", "COUNT started %s=1" % re.sub(r"[^0-9a-z.-]", "-", form.lower())))
    return out


class BsnEverywhereTest(wmtest.TestCase):
    own_daemon_reason = "reads the daemon's log and audit file"

    @classmethod
    def setUpClass(cls):
        cls.skip_if_external()
        cls.tmp = cls.class_tmpdir("wm-e2e-bsn-")
        cls.audit = os.path.join(cls.tmp, "audit.log")
        cls.flags = ["--audit-log", cls.audit, "--log-level", "debug"]
        cls.registry = ["PROJECT %s category=bsn-c" % PROJ]
        super().setUpClass()

    def stat(self, c, name):
        return int({r["stat"]: r["value"] for r in c.rows("STATS")}[name])

    def assertNowhere(self, digits, form):
        """digits (and form) appear in no file the daemon wrote."""
        for path in (self.audit, self.server.stderr_path):
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            self.assertNotIn(digits, text, "%s written to %s" % (form, path))
            self.assertNotIn(form, text, "%s written to %s" % (form, path))

    def test_finding5_bsn_like_values_stored_any_command_any_field(self):
        c = self.conn()
        events, last_seq = self.stat(c, "events"), self.stat(c, "last_seq")
        checked = 0
        for form, digits in FORMS:
            for field, req in requests_with(form):
                with self.subTest(form=form, field=field, line=req):
                    resp = c.cmd(req)
                    self.assertErr(resp, "invalid", field)
                    self.assertIn("BSN", resp)
                    self.assertNotIn(digits, resp)
                    self.assertNotIn(escape(form), resp)
                    for group in re.findall(r"\d{3,}", form):
                        self.assertNotIn(group, resp)
                    checked += 1
        self.assertGreater(checked, 700)
        # the connection is still usable, nothing was stored, nothing was logged
        self.assertEqual(c.cmd("PING"), "PONG")
        self.assertEqual(self.stat(c, "events"), events)
        self.assertEqual(self.stat(c, "last_seq"), last_seq)
        rows = c.rows("PROJECTS")
        for form, digits in FORMS:
            self.assertNotIn(digits, repr(rows))
            self.assertNowhere(digits, form)

    def test_finding5_bsn_like_values_stored_person_digits_and_separators(self):
        c = self.conn()
        for p in ["0123456782", "123-456-78", "12.34.56.78.90", "1234567890123", "12:34:56:78"]:
            with self.subTest(person=p):
                f = valid_fields("started")
                f["person"] = p
                resp = c.cmd(line("EVENT", ["started"], f))
                self.assertErr(resp, "invalid", "person looks like a BSN")
                self.assertNotIn(p, resp)

    def test_finding5_bsn_like_values_stored_lookalikes_stay_valid(self):
        c = self.conn()
        for v in NOT_BSN:
            with self.subTest(value=v):
                f = valid_fields("placed")
                f["id"] = "%s-%s" % (v, uid("n"))
                f["employer"] = v
                self.assertOkSeq(c.cmd(line("EVENT", ["placed"], f)))
        # the client's pseudonyms are HMAC-SHA256 in hex: one with nine digits in a row
        # that pass the eleven-test by chance is still a pseudonym
        p = "111222333" + "ab" * 27 + "a"
        self.assertEqual(len(p), 64)
        f = valid_fields("started")
        f["person"] = p
        self.assertOkSeq(c.cmd(line("EVENT", ["started"], f)))
        # AUTH's token is a secret, never stored: no BSN rule there
        self.assertEqual(c.cmd("AUTH 111222333"), "OK local role=admin")

    def test_random_hex_ids_with_eleven_test_digits_are_stored(self):
        # one random 16-hex id in about 500 holds nine digits in a row that pass the
        # eleven-test (tests/bench/vs_postgres's ids met it); a UUID can too
        c = self.conn()
        tail = secrets.token_hex(3)
        ids = ["a111222333b" + tail[:5], "0f8fad5b-d9cb-469f-a165-a111222333b" + tail[5]]
        for eid in ids:
            with self.subTest(id=eid):
                f = valid_fields("placed")
                f["id"] = eid
                seq = self.assertOkSeq(c.cmd(line("EVENT", ["placed"], f)))
                self.assertEqual(c.cmd(line("EVENT", ["placed"], f)), "DUP %s" % seq)
        # the same nine digits standing alone in a short id are still refused
        f = valid_fields("placed")
        f["id"] = "abc111222333def"
        self.assertErr(c.cmd(line("EVENT", ["placed"], f)), "invalid", "id")

    def test_finding9_error_messages_echo_values(self):
        c = self.conn()
        for field in ("person", "employer", "by", "bsn"):
            f = valid_fields("placed")
            f[field] = "Jan%zzJansen"
            resp = c.cmd(" ".join(["EVENT placed"] + ["%s=%s" % (k, v if k == field else escape(v))
                                                       for k, v in f.items()]))
            with self.subTest(field=field):
                self.assertErr(resp, "syntax", field)
                self.assertNotIn("Jansen", resp)
        # a malformed escape around a BSN in any field: not quoted either
        resp = c.cmd("COUNT placed project=111222333%zz")
        self.assertErr(resp, "syntax", "project")
        self.assertNotIn("111222333", resp)
        # a free text that is too long: named, not repeated
        f = valid_fields("placed")
        f["employer"] = "Geheim" * 30
        resp = c.cmd(line("EVENT", ["placed"], f))
        self.assertErr(resp, "invalid", "employer")
        self.assertNotIn("Geheim", resp)


class ClientBsnTest(wmtest.TestCase):
    """The client applies the same rule before sending: a refused value never leaves
    the machine (the server counts no request for it)."""

    registry = ["PROJECT %s category=bsn-c" % PROJ]

    def stats(self):
        with self.server.connect() as c:
            return {r["stat"]: int(r["value"]) for r in c.rows("STATS") if r["value"].isdigit()}

    def run_client(self, args, input=None):
        return wmtest.run_client(args, self.server.port, input=input)

    def test_finding5_bsn_like_values_stored_client_refuses_before_sending(self):
        before = self.stats()
        for form, digits in FORMS:
            f = valid_fields("placed")
            f["employer"] = form
            with self.subTest(form=form, command="send"):
                rc, out, err = self.run_client(["send", "placed"] + ["%s=%s" % kv for kv in f.items()])
                self.assertEqual(rc, 1, err)
                self.assertIn("nothing sent", err)
                self.assertNotIn(digits, err + out)
            with self.subTest(form=form, command="count"):
                rc, out, err = self.run_client(["count", "placed", "project=" + form])
                self.assertEqual(rc, 1, err)
                self.assertNotIn(digits, err + out)
            with self.subTest(form=form, command="raw"):
                rc, out, err = self.run_client(["raw"], input="PING\nCOUNT placed project=%s\nPING\n"
                                               % escape(form))
                self.assertEqual(rc, 1, err)
                self.assertEqual(out, "PONG\nPONG\n")
                self.assertNotIn(digits, err + out)
        after = self.stats()
        # only the raw connections (and these STATS) reached the server; no request
        # was refused there, so none of the values went out
        self.assertEqual(after["errors.invalid"], before["errors.invalid"])
        self.assertEqual(after["errors.syntax"], before["errors.syntax"])
        self.assertEqual(after["events"], before["events"])

    def test_finding5_bsn_like_values_stored_import_rejects_rows_unsent(self):
        before = self.stats()
        with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
            f.write("type,id,person,gemeente,date,project,sector,employer\n")
            f.write("placed,%s,pseudo-imp-0001,huizen,2022-05-05,%s,zorg,Zorg BV\n" % (uid("i"), PROJ))
            f.write("placed,%s,pseudo-imp-0002,huizen,2022-05-05,%s,zorg,BSN 123-456-782\n" % (uid("i"), PROJ))
            f.write("placed,200011133,pseudo-imp-0003,huizen,2022-05-05,%s,zorg,Zorg BV\n" % PROJ)
            f.write("placed,%s,0123456782,huizen,2022-05-05,%s,zorg,Zorg BV\n" % (uid("i"), PROJ))
            path = f.name
        self.addCleanup(os.unlink, path)
        rejects = path + ".rejects"
        self.addCleanup(lambda: os.path.exists(rejects) and os.unlink(rejects))
        rc, out, err = self.run_client(["import", "--rejects", rejects, path])
        self.assertEqual(rc, 1, err)
        with open(rejects) as r:
            text = r.read()
        # the header and the three rows as they were, to fix and import again: a copy
        # of the file's own rows, which stays on this machine
        lines = text.strip().splitlines()
        self.assertEqual(len(lines), 4, text)
        self.assertTrue(all("not sent" in l for l in lines[1:]), text)
        for digits in ("123456782", "200011133", "0123456782"):
            self.assertNotIn(digits, out + err)
            self.assertNotIn(digits, lines[0])
            for l in lines[1:]:
                self.assertNotIn(digits, l.rsplit(",", 1)[-1])  # the reason never repeats it
        after = self.stats()
        self.assertEqual(after["events"], before["events"] + 1)
        self.assertEqual(after["errors.invalid"], before["errors.invalid"])


if __name__ == "__main__":
    import unittest
    unittest.main()
