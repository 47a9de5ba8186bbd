"""Overload and faults (issue 13 item 7), against the real daemon: 1,000 connections at
once, clients that never read, a 4 MiB line without a newline, running out of file
descriptors (the listener must pause, not spin), a map that cannot grow and a full disk
(writes get ERR storage, nothing acknowledged is lost, reads go on, and after a full
disk writes resume by themselves once there is room). Each test logs the daemon's peak
RSS and the CPU time it used ("overload: ..." lines on stderr)."""

import os
import resource
import select
import socket
import subprocess
import time
import unittest

import wmtest
from wmtest import uid

PROJECT = "overload"


def cpu_seconds(pid):
    """User plus system CPU time of a process, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Usage:
    """The daemon's CPU time and peak RSS from now on (peak: since it started)."""

    def __init__(self, server):
        self.server = server
        self.cpu0 = cpu_seconds(server.pid)
        self.t0 = time.monotonic()

    def report(self, what):
        cpu = cpu_seconds(self.server.pid) - self.cpu0
        wall = time.monotonic() - self.t0
        peak = self.server.status_kb("VmHWM") / 1024.0
        wmtest.log("overload: %s: peak RSS %.1f MiB, CPU %.2f s in %.1f s" % (what, peak, cpu, wall))
        return peak, cpu, wall


def raise_fd_limit(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def event_line(i, tag, gemeente="hilversum"):
    return wmtest.event("started", id="%s-%d" % (tag, i), person="pseudo-%08d" % (i % 5000 + 10 ** 7),
                        gemeente=gemeente, date="2023-05-%02d" % (i % 28 + 1), project=PROJECT)


class OverloadTest(wmtest.FreshDaemonTestCase):
    own_daemon_reason = "starts daemons of its own, with limits of their own"

    def start(self, flags=(), server=None):
        s = server or self.own_server(list(flags))
        with s.connect() as c:
            self.assertEqual(c.cmd("PROJECT %s category=test" % PROJECT), "OK")
        return s

    def test_1000_concurrent_connections(self):
        n = 1000
        if raise_fd_limit(n + 100) < n + 50:
            self.skipTest("cannot raise the open file limit to %d" % (n + 100))
        s = self.start()
        use = Usage(s)
        tag = uid("c1k")
        socks = []
        try:
            for _ in range(n):
                socks.append(socket.create_connection((s.host, s.port), timeout=60))
            # every connection sends an event and a PING at once, then all answers are read
            for i, sk in enumerate(socks):
                sk.sendall((event_line(i, tag) + "\nPING\n").encode())
            seqs = set()
            for sk in socks:
                c = wmtest.Conn(None, None, timeout=60, sock=sk)
                seqs.add(self.assertOkSeq(c.readline()))
                self.assertEqual(c.readline(), "PONG")
            self.assertEqual(len(seqs), n)
            with s.connect() as c:
                stats = {r["stat"]: r["value"] for r in c.rows("STATS")}
                self.assertGreaterEqual(int(stats["connections"]), n)
                self.assertEqual(c.rows("COUNT started project=%s" % PROJECT), [{"count": str(n)}])
        finally:
            for sk in socks:
                sk.close()
        peak, cpu, _ = use.report("%d concurrent connections, one event and a PING each" % n)
        if not wmtest.sanitizer_build():
            self.assertLess(peak, 256)

    def test_clients_that_never_read(self):
        s = self.start()
        with s.connect() as c:
            base_kb = s.status_kb("VmRSS")
        use = Usage(s)
        readers = []
        request = b"PROJECTS\n" * 2000  # about 0.2 MB of answers each, never read
        for _ in range(20):
            sk = socket.create_connection((s.host, s.port), timeout=10)
            sk.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sk.setblocking(False)
            readers.append(sk)
        sent = [0] * len(readers)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            for i, sk in enumerate(readers):
                try:
                    sent[i] += sk.send(request * 20)
                except BlockingIOError:
                    pass
            time.sleep(0.05)
        # the daemon stopped reading them (their sends block), and answers others
        t0 = time.monotonic()
        try:
            with s.connect(timeout=60) as c:
                self.assertEqual(c.cmd("PING"), "PONG")
                self.assertEqual(c.rows("COUNT started"), [{"count": "0"}])
            grown_mib = (s.status_kb("VmRSS") - base_kb) / 1024.0
        finally:
            for sk in readers:
                sk.close()
        wmtest.log("overload: 20 clients that never read sent %.1f MiB of requests; the daemon's RSS "
                   "grew %.1f MiB; another client's PING and COUNT took %.2f s" % (
                       sum(sent) / 1048576.0, grown_mib, time.monotonic() - t0))
        self.assertGreater(sum(sent), 4 * 1048576)
        peak, cpu, _ = use.report("20 clients that never read")
        if not wmtest.sanitizer_build():
            # 1 MiB of unsent answers per connection at most, and the requests in the
            # socket buffers are not read
            self.assertLess(grown_mib, 20 * 1.5 + 16)
        with s.connect() as c:
            self.assertEqual(c.cmd("PING"), "PONG")

    def test_4mib_line_without_newline(self):
        s = self.start()
        with s.connect() as c:
            base_kb = s.status_kb("VmRSS")
        use = Usage(s)
        c = self.conn(s)
        chunk = b"x" * 65536
        for _ in range(64):
            c.send(chunk)
        with s.connect() as other:  # the daemon discards the line as it comes
            self.assertEqual(other.cmd("PING"), "PONG")
        grown_mib = (s.status_kb("VmRSS") - base_kb) / 1024.0
        # discarded through its LF, then answered; the connection stays usable
        c.send(b"\n")
        self.assertErr(c.readline(timeout=30), "too-long")
        self.assertEqual(c.cmd("PING"), "PONG")
        peak, cpu, _ = use.report("a 4 MiB line without a newline")
        wmtest.log("overload: the 4 MiB line grew the daemon's RSS by %.2f MiB" % grown_mib)
        if not wmtest.sanitizer_build():
            self.assertLess(grown_mib, 2.0)

    def test_out_of_file_descriptors(self):
        raise_fd_limit(400)
        s = self.own_server(["--max-connections", "1000"], start=False)
        # a hard limit of 64 descriptors: the daemon cannot raise it for max-connections
        s.argv = (lambda orig: lambda: ["prlimit", "--nofile=64:64", "--"] + orig())(s.argv)
        self.start(server=s.start())
        use = Usage(s)
        socks = []
        try:
            for _ in range(120):
                socks.append(socket.create_connection((s.host, s.port), timeout=10))
            for sk in socks:
                sk.sendall(b"PING\n")
            answered = [sk for sk in socks if select.select([sk], [], [], 0.5 if sk is socks[0] else 0.05)[0]]
            waiting = [sk for sk in socks if sk not in answered]
            self.assertGreater(len(answered), 20)
            self.assertGreater(len(waiting), 20, "the limit of 64 descriptors was not reached")
            # out of descriptors: the listener pauses, it does not spin
            cpu0 = cpu_seconds(s.pid)
            time.sleep(3)
            idle_cpu = cpu_seconds(s.pid) - cpu0
            wmtest.log("overload: out of file descriptors with %d connections waiting: the daemon "
                       "used %.2f s CPU in 3 s" % (len(waiting), idle_cpu))
            self.assertLess(idle_cpu, 0.5)
            self.assertIn("accept failed: Too many open files; pausing new connections", s.stderr())
            # room again: the waiting connections are taken and answered as descriptors
            # free up (each one closed after its answer frees one more)
            for sk in answered:
                sk.close()
            for sk in waiting:
                c = wmtest.Conn(None, None, timeout=15, sock=sk)
                self.assertEqual(c.readline(), "PONG")
                sk.close()
        finally:
            for sk in socks:
                sk.close()
        use.report("out of file descriptors (limit 64, 120 connections)")

    def fill(self, s, tag, limit=200000, batch=500):
        """Pipeline events until the daemon answers ERR storage; returns {line: seq}
        of the acknowledged ones and the first ERR line. A pipeline's events are
        committed in several batches, and a batch after a refused one may fit: every
        answer of the pipeline counts."""
        acked = {}
        c = self.conn(s)
        i = 0
        while i < limit:
            lines = [event_line(j, tag) for j in range(i, i + batch)]
            err = None
            for line, r in zip(lines, c.pipeline(lines, timeout=60)):
                if r.startswith("ERR"):
                    self.assertErr(r, "storage")
                    err = err or r
                else:
                    acked[line] = self.assertOkSeq(r)
            if err is not None:
                return acked, err
            i += batch
        self.fail("no ERR storage after %d events" % limit)

    def check_after_full(self, s, acked, more=0):
        """Nothing acknowledged is lost (more: events stored since), reads go on."""
        c = self.conn(s)
        lines = list(acked)
        for i in range(0, len(lines), 1000):
            for line, r in zip(lines[i:i + 1000], c.pipeline(lines[i:i + 1000], timeout=60)):
                self.assertEqual(r, "DUP %d" % acked[line])
        self.assertEqual(c.rows("COUNT started project=%s" % PROJECT), [{"count": str(len(acked) + more)}])
        self.assertEqual(c.cmd("PING"), "PONG")

    def test_map_that_cannot_grow(self):
        s = self.start(["--map-size", "1M", "--map-max", "1M"])
        use = Usage(s)
        tag = uid("map")
        acked, err = self.fill(s, tag)
        wmtest.log("overload: a 1 MiB map took %d events, then: %s" % (len(acked), err))
        self.assertGreater(len(acked), 100)
        self.check_after_full(s, acked)
        # still full: writes are refused again, cleanly (a failed group commit refuses
        # its whole batch, so a single event may still fit), and the daemon stays up
        again, _ = self.fill(s, tag + "a")
        acked.update(again)
        self.check_after_full(s, acked)
        use.report("a map that cannot grow (1 MiB)")
        # a bigger map-max after a restart: the store opens and takes writes again
        s.stop()
        s.flags = ["--map-size", "1M", "--map-max", "8M"]
        s.start()
        self.check_after_full(s, acked)
        self.assertOkSeq(self.conn(s).cmd(event_line(10 ** 6, tag)))
        self.check_after_full(s, acked, more=1)

    @unittest.skipUnless(os.geteuid() == 0, "mounting a small tmpfs needs root (CI runs as root)")
    def test_full_disk(self):
        mnt = self.tmpdir("wm-e2e-fulldisk-")
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt], capture_output=True)
        if p.returncode != 0:
            self.skipTest("cannot mount a tmpfs here: %s" % p.stderr.decode().strip())
        self.addCleanup(subprocess.run, ["umount", "-l", mnt], capture_output=True)
        data = os.path.join(mnt, "data")
        s = self.start(["--map-size", "64M"], server=self.own_server(["--map-size", "64M"], data_dir=data))
        use = Usage(s)
        tag = uid("disk")
        acked, err = self.fill(s, tag)
        wmtest.log("overload: a 2 MiB disk took %d events, then: %s" % (len(acked), err))
        self.assertGreater(len(acked), 100)
        self.check_after_full(s, acked)
        again, _ = self.fill(s, tag + "a")
        acked.update(again)
        self.check_after_full(s, acked)
        # room on the disk: writes resume without a restart
        subprocess.run(["mount", "-o", "remount,size=16m", mnt], check=True)
        c = self.conn(s)
        self.assertOkSeq(c.cmd(event_line(10 ** 6, tag)))
        more = [event_line(j, tag + "b") for j in range(2000)]
        for r in c.pipeline(more, timeout=60):
            self.assertOkSeq(r)
        self.check_after_full(s, acked, more=1 + len(more))
        use.report("a full disk (2 MiB tmpfs, then 16 MiB)")
        s.stop()
        s.start()
        self.check_after_full(s, acked, more=1 + len(more))


if __name__ == "__main__":
    unittest.main()
