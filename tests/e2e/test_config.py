"""werkmonitord's configuration and the shipped systemd files: a config
file of "key value" lines with flags overriding it, --check-config, --help, and
systemd/werkmonitord.conf.example naming every option the daemon has."""

import os
import re
import shutil
import subprocess
import unittest

import wmtest

EXAMPLE = os.path.join(wmtest.SOURCE_DIR, "systemd", "werkmonitord.conf.example")
UNIT = os.path.join(wmtest.SOURCE_DIR, "systemd", "werkmonitord.service")
# Options that are not settings: they are flags only.
NOT_KEYS = {"config", "check-config", "help", "version"}


def daemon(*args):
    return wmtest.run_daemon(args)


def help_options():
    p = daemon("--help")
    assert p.returncode == 0, p.stderr
    return set(re.findall(r"^\s+--([a-z-]+)", p.stdout.decode(), re.M))


def example_keys():
    """Keys set or shown commented out ('#key value') in the example config."""
    keys = set()
    with open(EXAMPLE) as f:
        for line in f:
            m = re.match(r"^#?([a-z][a-z-]*) \S", line)
            if m and not line.startswith("# "):
                keys.add(m.group(1))
    return keys


class ConfigTest(wmtest.FreshDaemonTestCase):
    own_daemon_reason = "starts daemons of its own"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = cls.class_tmpdir("wm-e2e-config-")

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_help_documents_the_required_options(self):
        opts = help_options()
        for o in ("listen", "data", "config", "map-size", "max-line", "max-connections", "idle-timeout",
                  "gemeenten", "check-config", "tokens", "tls-listen", "tls-cert", "tls-key", "log-level"):
            self.assertIn(o, opts)

    def test_example_config_names_every_option(self):
        missing = help_options() - NOT_KEYS - example_keys()
        self.assertEqual(missing, set(), "options missing from %s" % EXAMPLE)

    def test_example_config_passes_check_config(self):
        # The example names the installed registry; check it with the repository's copy.
        with open(EXAMPLE) as f:
            text = f.read()
        installed = "/usr/local/share/werkmonitor/gooi-en-vechtstreek.wm"
        self.assertIn("\nregistry %s\n" % installed, text)
        path = self.write("example.conf", text.replace(
            installed, os.path.join(wmtest.SOURCE_DIR, "data", "gooi-en-vechtstreek.wm")))
        p = daemon("--check-config", "--config", path)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_example_config_audit_file_in_the_units_logs_directory(self):
        # The shipped configuration keeps the audit trail out of the journal, in the
        # directory the unit makes writable for the dynamic user.
        with open(EXAMPLE) as f:
            self.assertIn("\naudit-log /var/log/werkmonitor/audit.log\n", f.read())
        with open(UNIT) as f:
            self.assertIn("\nLogsDirectory=werkmonitor\n", f.read())

    def test_every_commented_default_is_valid(self):
        lines = []
        with open(EXAMPLE) as f:
            for line in f:
                m = re.match(r"^#([a-z][a-z-]*) (\S.*)$", line.rstrip("\n"))
                # File-valued keys need files that exist; they have their own tests.
                if m and m.group(1) not in ("tokens", "tls-listen", "tls-cert", "tls-key", "audit-log",
                                             "registry"):
                    lines.append("%s %s\n" % m.groups())
        self.assertGreater(len(lines), 5)
        path = self.write("defaults.conf", "".join(lines) + "data %s\n" % os.path.join(self.tmp, "d1"))
        p = daemon("--check-config", "--config", path)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_check_config_refuses_a_bad_file(self):
        for text, what in (("lisen 127.0.0.1:7878\n", b"lisen"), ("max-line many\n", b"max-line"),
                           ("idle-timeout -1\n", b"idle-timeout")):
            path = self.write("bad.conf", text)
            p = daemon("--check-config", "--config", path)
            self.assertNotEqual(p.returncode, 0, text)
            self.assertIn(what, p.stderr + p.stdout, text)
        p = daemon("--check-config", "--no-such-flag")
        self.assertNotEqual(p.returncode, 0)

    def test_flags_override_the_file(self):
        conf = self.write("small.conf", "# test\n\nmax-line 100\nmax-connections 2\n")
        s = self.own_server(["--config", conf, "--max-line", "200"])
        s.settle()
        c = self.conn(s)
        # max-line comes from the flag (200), max-connections from the file (2).
        self.assertErr(c.cmd("X" * 150), "unknown-command")
        self.assertErr(c.cmd("X" * 201), "too-long")
        self.assertEqual(self.conn(s).cmd("PING"), "PONG")
        self.assertErr(self.conn(s).readline(), "unavailable")

    def test_unit_file(self):
        with open(UNIT) as f:
            unit = f.read()
        for line in ("Type=notify", "StateDirectory=werkmonitor",
                     "ExecStartPre=/usr/local/bin/werkmonitord --check-config --config /etc/werkmonitor/werkmonitord.conf",
                     "ExecStart=/usr/local/bin/werkmonitord --config /etc/werkmonitor/werkmonitord.conf",
                     "ExecReload=/bin/kill -HUP $MAINPID", "NoNewPrivileges=yes", "ProtectSystem=strict",
                     "ProtectHome=yes", "PrivateTmp=yes", "PrivateDevices=yes", "ProtectKernelTunables=yes",
                     "ProtectKernelModules=yes", "ProtectControlGroups=yes",
                     "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "RestrictNamespaces=yes",
                     "LockPersonality=yes", "MemoryDenyWriteExecute=yes", "SystemCallFilter=@system-service",
                     "CapabilityBoundingSet=", "LimitNOFILE=65536"):
            self.assertIn("\n" + line + "\n", unit)
        self.assertRegex(unit, r"\n(DynamicUser=yes|User=werkmonitor)\n")
        self.assertRegex(unit, r"\nTimeoutStopSec=\S+\n")
        analyze = shutil.which("systemd-analyze")
        if analyze:
            # Verify a copy whose binary exists here, so only the unit itself is judged.
            path = self.write("werkmonitord.service", unit.replace("/usr/local/bin/werkmonitord", wmtest.DAEMON))
            p = subprocess.run([analyze, "verify", path], capture_output=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == "__main__":
    unittest.main()
