"""The audit trail (issue 15 item 5) of the real daemon, read from its audit file:
pipelined events give one line per committed batch and principal whose seq ranges name
exactly the seqs stored, DUPs counted in it; retractions, REPLACEs, PROJECT and NOTE a
line each; refusals counted; --audit-detail event keeps a line per event; every seq
the store gave is named; no person value in any line."""

import os
import re
import threading
import time

import wmtest

PROJ = "audit-p"
PRINCIPALS = [("beheer", "admin", None), ("hilversum", "writer", "hilversum"),
              ("huizen", "writer", "huizen")]
TOKENS = {p: "%s-token-%s" % (p, "0" * 24) for p, _, _ in PRINCIPALS}
PERSON = "pseudo-audit-%s"
SUMMARY = re.compile(r"^\S+ audit principal=(\S+) op=event n=(\d+) ok=(\d+) dup=(\d+) seq=(\S+)$")


def events(gemeente, n, tag):
    return [wmtest.event("placed", id="%s-%d" % (tag, i), person=PERSON % (i % 97), gemeente=gemeente,
                         date="2022-03-03", project=PROJ, sector="zorg") for i in range(n)]


def seqs_of(ranges):
    """The seqs a summary's seq= names ("3..9,12"; "-": none), each once."""
    out = []
    if ranges == "-":
        return out
    for r in ranges.split(","):
        a, _, b = r.partition("..")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def ack_seq(reply):
    m = re.fullmatch(r"(OK|DUP) (\d+)(?: .*)?", reply)
    assert m, reply
    return m.group(1), int(m.group(2))


class AuditTest(wmtest.FreshDaemonTestCase):
    own_daemon_reason = "reads the daemon's audit file"

    def start(self, *flags):
        tmp = self.tmpdir("wm-e2e-audit-")
        tokens = os.path.join(tmp, "tokens")
        wmtest.write_tokens(tokens, [(p, r, g, TOKENS[p]) for p, r, g in PRINCIPALS])
        self.audit_path = os.path.join(tmp, "audit.log")
        srv = self.own_server(["--tokens", tokens, "--audit-log", self.audit_path] + list(flags))
        admin = self.login(srv, "beheer")
        self.assertEqual(admin.cmd("PROJECT %s category=audit" % PROJ), "OK")
        return srv, admin

    def login(self, srv, principal):
        c = self.conn(srv)
        self.assertTrue(c.cmd("AUTH " + TOKENS[principal]).startswith("OK "))
        return c

    def audit(self):
        with open(self.audit_path, encoding="utf-8") as f:
            return f.read()

    def wait_for(self, pattern):
        """The audit file once it holds a line matching pattern (or after 10 s)."""
        deadline = time.time() + 10
        while time.time() < deadline and not re.search(pattern, self.audit(), re.M):
            time.sleep(0.1)
        return self.audit()

    def pipelined(self, conns_lines):
        """Send every connection's lines at once, then read all the replies: the
        connections' events land in the same batches."""
        replies = {}

        def run(c, lines):
            replies[id(c)] = c.pipeline(lines)
        threads = [threading.Thread(target=run, args=cl) for cl in conns_lines]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return [replies[id(c)] for c, _ in conns_lines]

    def test_pipelined_events_one_line_per_batch_seq_ranges_exact(self):
        srv, admin = self.start()
        a, b = self.login(srv, "hilversum"), self.login(srv, "huizen")
        la, lb = events("hilversum", 3000, "ha"), events("huizen", 2000, "hu")
        # a third of a's events again: DUPs of the first ones
        ra, rb = self.pipelined([(a, la + la[:1000]), (b, lb)])
        acks = {"hilversum": [ack_seq(r) for r in ra], "huizen": [ack_seq(r) for r in rb]}
        self.assertEqual([k for k, _ in acks["hilversum"]].count("DUP"), 1000)
        stats = {r["stat"]: r["value"] for r in admin.rows("STATS")}
        srv.stop()
        text = self.audit()
        self.assertNotIn(" op=event type=", text)  # no line per event
        self.assertNotIn("person", text)
        self.assertNotIn(PERSON % 1, text)
        lines = {"hilversum": [], "huizen": []}
        for line in text.splitlines():
            m = SUMMARY.match(line)
            if m:
                lines[m.group(1)].append(m)
        for principal, got in lines.items():
            with self.subTest(principal=principal):
                stored = sorted(s for k, s in acks[principal] if k == "OK")
                named = [s for m in got for s in seqs_of(m.group(5))]
                # the ranges name every stored seq exactly once, and nothing else
                self.assertEqual(sorted(named), stored)
                self.assertEqual(sum(int(m.group(3)) for m in got), len(stored))
                self.assertEqual(sum(int(m.group(4)) for m in got),
                                 len(acks[principal]) - len(stored))
                for m in got:
                    self.assertEqual(int(m.group(2)), int(m.group(3)) + int(m.group(4)))
                # one line per batch that held the principal's events: never more lines
                # than commits, and far fewer than events
                self.assertLessEqual(len(got), int(stats["commits"]))
                self.assertLess(len(got), len(acks[principal]) / 10)
        # every seq the store gave is in a line
        named = {s for ms in lines.values() for m in ms for s in seqs_of(m.group(5))}
        self.assertEqual(named, set(range(1, int(stats["last_seq"]) + 1)))

    def test_changes_a_line_each_refusals_counted_every_seq_named(self):
        srv, admin = self.start()
        c = self.login(srv, "hilversum")
        first = events("hilversum", 5, "ch")
        seqs = [self.assertOkSeq(r) for r in c.pipeline(first)]
        # REPLACE of a live version: a retraction, then the new version
        reply = c.cmd("REPLACE" + first[0][len("EVENT"):].replace("sector=zorg", "sector=bouw"))
        new = int(re.match(r"OK (\d+) replaced=(\d+)", reply).group(1))
        self.assertEqual(c.cmd("RETRACT id=r-1 ref=%s reason=dubbel" % "ch-1"), "OK %d" % (new + 1))
        self.assertEqual(c.cmd("RETRACT id=r-1 ref=%s reason=dubbel" % "ch-1"), "DUP %d" % (new + 1))
        bad = [l.replace(PROJ, "nope") for l in events("hilversum", 3, "bad")]
        self.assertTrue(all(r.startswith("ERR unknown-project") for r in c.pipeline(bad)))
        self.assertEqual(admin.cmd("NOTE period=2022-H1 project=%s text=Geheim%%20verhaal" % PROJ), "OK 1")
        last = int({r["stat"]: r["value"] for r in admin.rows("STATS")}["last_seq"])
        self.wait_for(r"result=unknown-project rejected=3$")
        srv.stop()
        text = self.audit()
        self.assertRegex(text, r"(?m) principal=beheer op=project project=%s result=ok$" % PROJ)
        self.assertRegex(text, r"(?m) principal=hilversum op=replace type=placed id=ch-0 gemeente=hilversum "
                               r"seq=%d replaced=%d retraction.seq=%d result=ok$" % (new, seqs[0], new - 1))
        self.assertEqual(len(re.findall(r"(?m) principal=hilversum op=retract id=r-1 ref=ch-1 seq=%d "
                                        r"result=(ok|dup)$" % (new + 1), text)), 2)
        self.assertRegex(text, r"(?m) principal=hilversum op=event result=unknown-project rejected=3$")
        self.assertNotIn("id=bad-", text)
        self.assertRegex(text, r"(?m) principal=beheer op=note period=2022-H1 project=%s version=1 result=ok$"
                         % PROJ)
        self.assertNotIn("Geheim", text)
        self.assertNotIn(PERSON % 1, text)
        # every seq in a line: the summaries' ranges, seq= and retraction.seq= of the rest
        named = set()
        for line in text.splitlines():
            m = SUMMARY.match(line)
            if m:
                named.update(seqs_of(m.group(5)))
            elif "result=ok" in line:
                named.update(int(x) for x in re.findall(r" (?:seq|retraction\.seq)=(\d+)", line))
        self.assertEqual(named, set(range(1, last + 1)))

    def test_audit_detail_event_keeps_a_line_per_event(self):
        srv, admin = self.start("--audit-detail", "event")
        c = self.login(srv, "hilversum")
        lines = events("hilversum", 50, "ev")
        seqs = [self.assertOkSeq(r) for r in c.pipeline(lines)]
        self.assertEqual(c.cmd(lines[7]), "DUP %d" % seqs[7])
        srv.stop()
        text = self.audit()
        for i, s in enumerate(seqs):
            self.assertRegex(text, r"(?m)^\S+ audit principal=hilversum op=event type=placed id=ev-%d "
                                   r"gemeente=hilversum seq=%d result=ok$" % (i, s))
        self.assertRegex(text, r"(?m) principal=hilversum op=event type=placed id=ev-7 gemeente=hilversum "
                               r"seq=%d result=dup$" % seqs[7])
        self.assertNotRegex(text, r" op=event n=")
        self.assertNotIn(PERSON % 1, text)
        self.assertNotIn("person", text)

    def test_help_and_check_config(self):
        p = wmtest.run_daemon(["--help"])
        self.assertIn("--audit-detail", p.stdout.decode())
        p = wmtest.run_daemon(["--check-config", "--audit-detail", "events"])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"audit-detail", p.stderr + p.stdout)
